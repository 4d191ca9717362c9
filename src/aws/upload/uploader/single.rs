//! A file small enough for one request: the single conditional PutObject that makes the object.

use std::fs::File;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;

use super::wire::{content_type, metadata_value};
use super::{ORIGINAL_NAME_METADATA, RunError, UploadControl, Uploader};
use crate::aws::sdk_error::Disposition;
use crate::aws::upload::journal::UploadRecord;

impl Uploader {
    pub(super) async fn send_single(
        &self,
        record: &UploadRecord,
        file: &Arc<File>,
        control: &UploadControl,
    ) -> Result<bool, RunError> {
        let inner = &self.inner;
        let id = record.id;
        let size = record.file.size;
        self.started_event(record, 1, 0);
        let _permits = self.permits(size).await?;
        let (body, crc, checksum) = self.read_checksummed(record, file, 0, size).await?;
        self.refuse_if_changed(record, file).await?;
        let target = &record.target;
        let original_name = metadata_value(&record.original_name);
        let send = || async {
            if let Some(throttle) = &inner.throttle {
                throttle.acquire(size).await;
            }
            let request = inner
                .s3
                .put_object()
                .bucket(&target.bucket)
                .key(&target.key)
                // A retry whose first attempt landed finds the object and writes nothing: one workflow.
                .if_none_match("*")
                .content_type(content_type(&target.key))
                .metadata(ORIGINAL_NAME_METADATA, &original_name)
                .checksum_crc64_nvme(&checksum)
                .content_length(size as i64)
                .body(ByteStream::from(body.clone()));
            if inner.config.sign_payload {
                request.send().await
            } else {
                request.customize().disable_payload_signing().send().await
            }
        };
        self.journal_commit(id, crc).await?;
        match self.with_retries(id, "upload", control, send).await {
            Ok(_) => {}
            Err(err) if err.disposition() == Some(Disposition::PreconditionFailed) => {
                inner.buffers.give_back(body);
                return self.settle_conflict_with(record, crc, control).await;
            }
            Err(err) => return Err(err),
        }
        inner.buffers.give_back(body);
        self.progress(id, size, size, 0.0);
        Ok(self.verify(record, crc).await)
    }
}
