//! A multipart upload: where it stands (resume, reconcile with the server and the file), its parts in
//! flight, and the CompleteMultipartUpload that makes the object.

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart};
use tokio::task::JoinSet;

use super::rate::RateMeter;
use super::wire::{combine_crc64, content_type, crc64_base64, crc64_from_base64, metadata_value};
use super::{
    ORIGINAL_NAME_METADATA, Prepared, RunError, Settled, UploadControl, Uploader, blocking,
};
use crate::aws::sdk_error::{self, Disposition};
use crate::aws::upload::journal::{PartRecord, UploadRecord};
use crate::aws::upload::plan;

impl Uploader {
    pub(super) async fn send_multipart(
        &self,
        record: &UploadRecord,
        file: &Arc<File>,
        control: &UploadControl,
    ) -> Result<bool, RunError> {
        let inner = &self.inner;
        let id = record.id;
        let target = &record.target;
        // The layout recorded when the upload began: a resume must cut the file exactly as before.
        let plan = plan::PartPlan {
            size: record.file.size,
            part_size: target.part_size,
            part_count: target.part_count,
            multipart: true,
            adjusted: None,
        };

        let (upload_id, mut confirmed) =
            match self.prepare_multipart(record, file, &plan, control).await? {
                Prepared::Send(upload_id, confirmed) => (upload_id, confirmed),
                Prepared::AlreadyComplete { verified } => return Ok(verified),
            };
        let already: u64 = confirmed.values().map(|p| p.size).sum();
        self.started_event(record, plan.part_count, already);

        let missing: Vec<u32> = plan
            .part_numbers()
            .filter(|n| !confirmed.contains_key(n))
            .collect();
        let mut tasks = JoinSet::new();
        for number in missing {
            let this = self.clone();
            let upload_id = upload_id.clone();
            let record = record.clone();
            let control = control.clone();
            let file = Arc::clone(file);
            let Some((offset, len)) = plan.part_range(number) else {
                continue;
            };
            tasks.spawn(async move {
                // The permits bound parts in flight, and their memory, across every upload of the process.
                let _permits = this.permits(len).await?;
                if control.token.is_cancelled() {
                    return Err(RunError::Stopped);
                }
                this.send_part(&record, &file, &upload_id, number, offset, len, &control)
                    .await
            });
        }
        let mut meter = RateMeter::new(already);
        let mut done = already;
        loop {
            let next = tokio::select! {
                () = control.token.cancelled() => {
                    tasks.abort_all();
                    return Err(RunError::Stopped);
                }
                next = tasks.join_next() => next,
            };
            match next {
                None => break,
                Some(Ok(Ok(part))) => {
                    done += part.size;
                    let rate = meter.update(done);
                    self.progress(id, done, record.file.size, rate);
                    confirmed.insert(part.part_number, part);
                }
                Some(Ok(Err(err))) => {
                    tasks.abort_all();
                    return Err(err);
                }
                Some(Err(join)) => {
                    tasks.abort_all();
                    return Err(RunError::Failed(format!("an upload task failed: {join}")));
                }
            }
        }

        self.refuse_if_changed(record, file).await?;
        let parts: Vec<&PartRecord> = confirmed.values().collect();
        let full_crc = combine_crc64(&parts);
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        CompletedPart::builder()
                            .part_number(p.part_number as i32)
                            .e_tag(&p.etag)
                            .checksum_crc64_nvme(crc64_base64(p.crc64))
                            .build()
                    })
                    .collect(),
            ))
            .build();
        let full = crc64_base64(full_crc);
        let complete = || async {
            inner
                .s3
                .complete_multipart_upload()
                .bucket(&target.bucket)
                .key(&target.key)
                .upload_id(&upload_id)
                // Never over an existing object: that would be a second workflow (see settle_conflict).
                .if_none_match("*")
                .multipart_upload(completed.clone())
                .checksum_type(ChecksumType::FullObject)
                .checksum_crc64_nvme(&full)
                .send()
                .await
        };
        self.journal_commit(id, full_crc).await?;
        match self.with_retries(id, "complete", control, complete).await {
            Ok(_) => {}
            Err(err) if err.disposition() == Some(Disposition::NoSuchUpload) => {
                // A retried Complete whose first attempt succeeded finds the upload gone: the object
                // says whether it was completed (by us) or aborted.
                self.note(
                    id,
                    "the server no longer has the multipart upload; checking whether it was completed".into(),
                );
                return match self.settle_with(record, Some(full_crc), control).await? {
                    Settled::Done { verified } => Ok(verified),
                    Settled::Absent => Err(RunError::Failed(format!(
                        "the multipart upload of s3://{}/{} was removed from the server before it completed (for example by a lifecycle rule); run `vodesk resume {id}` to send the file again",
                        target.bucket, target.key
                    ))),
                };
            }
            Err(err) if err.disposition() == Some(Disposition::PreconditionFailed) => {
                let settled = self.settle_conflict_with(record, full_crc, control).await;
                // The parts just sent are not needed: the object is there (or is another's).
                let unused = UploadRecord {
                    upload_id: Some(upload_id.clone()),
                    ..record.clone()
                };
                if let Err(err) = self.cancel_remote(&unused).await {
                    tracing::debug!("could not abort the unused multipart upload of {id}: {err:?}");
                }
                return settled;
            }
            Err(err) => return Err(err),
        }
        Ok(self.verify(record, full_crc).await)
    }

    /// The multipart upload to continue and the parts the server already holds (reconciled with the
    /// journal and the file: the server is the truth for what it has, the file for what it should
    /// hold), creating a new multipart upload when there is none.
    pub(super) async fn prepare_multipart(
        &self,
        record: &UploadRecord,
        file: &Arc<File>,
        plan: &plan::PartPlan,
        control: &UploadControl,
    ) -> Result<Prepared, RunError> {
        let inner = &self.inner;
        let id = record.id;
        if let Some(upload_id) = &record.upload_id {
            match self.list_server_parts(record, upload_id).await {
                Ok(server) => {
                    let journal_parts =
                        blocking(inner.journal.clone(), move |j| j.parts(id)).await?;
                    let reconciled = self
                        .reconcile(record, file, plan, &journal_parts, server)
                        .await?;
                    let keep: Vec<PartRecord> = reconciled.values().cloned().collect();
                    blocking(inner.journal.clone(), move |j| j.replace_parts(id, &keep)).await?;
                    return Ok(Prepared::Send(upload_id.clone(), reconciled));
                }
                Err((Disposition::NoSuchUpload, _)) => {
                    // Aborted (a lifecycle rule), or completed by a vodesk that did not journal its
                    // Complete (settle_earlier_commit handles those that did): the bucket says which.
                    let journal_parts =
                        blocking(inner.journal.clone(), move |j| j.parts(id)).await?;
                    let crc = (journal_parts.len() == plan.part_count as usize)
                        .then(|| combine_crc64(&journal_parts.iter().collect::<Vec<_>>()));
                    if let Settled::Done { verified } =
                        self.settle_with(record, crc, control).await?
                    {
                        return Ok(Prepared::AlreadyComplete { verified });
                    }
                    self.note(
                        id,
                        "the server no longer has this multipart upload (it was aborted, for example by a lifecycle rule): starting over".into(),
                    );
                }
                Err((Disposition::CredentialsExpired, message)) => {
                    return Err(RunError::CredentialsExpired(message));
                }
                Err((_, message)) => {
                    return Err(RunError::Failed(format!(
                        "could not list the parts already sent to s3://{}/{} ({message}); check the connection and resume",
                        record.target.bucket, record.target.key
                    )));
                }
            }
        }
        let target = &record.target;
        let original_name = metadata_value(&record.original_name);
        // The SDK's own retries are off for this request: a retry whose first attempt was carried out
        // leaves an upload nobody uses, and only a retry we count can be cleaned up after.
        let attempts = AtomicU32::new(0);
        let create = || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            inner
                .s3
                .create_multipart_upload()
                .bucket(&target.bucket)
                .key(&target.key)
                .content_type(content_type(&target.key))
                .metadata(ORIGINAL_NAME_METADATA, &original_name)
                .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
                .checksum_type(ChecksumType::FullObject)
                .customize()
                .config_override(
                    aws_sdk_s3::config::Builder::default()
                        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled()),
                )
                .send()
                .await
        };
        let created = self.with_retries(id, "start", control, create).await?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| {
                RunError::Failed(
                    "the server started a multipart upload but gave no upload id".into(),
                )
            })?
            .to_owned();
        let stored = upload_id.clone();
        blocking(inner.journal.clone(), move |j| {
            j.set_upload_id(id, Some(&stored))
        })
        .await?;
        if attempts.load(Ordering::Relaxed) > 1 {
            self.abort_orphans(record, &upload_id).await;
        }
        Ok(Prepared::Send(upload_id, BTreeMap::new()))
    }

    /// After a retried CreateMultipartUpload: aborts the multipart uploads of this key that an attempt
    /// whose answer was lost left behind (any upload of the key that neither this run nor the journal
    /// knows). Best effort: what stays is removed by the bucket's lifecycle rule.
    pub(super) async fn abort_orphans(&self, record: &UploadRecord, ours: &str) {
        let target = &record.target;
        let listed = self
            .inner
            .s3
            .list_multipart_uploads()
            .bucket(&target.bucket)
            .prefix(&target.key)
            .send()
            .await;
        let uploads = match listed {
            Ok(listed) => listed.uploads().to_vec(),
            Err(err) => {
                tracing::debug!(
                    "could not look for orphaned multipart uploads: {}",
                    sdk_error::describe(&err)
                );
                return;
            }
        };
        for upload in uploads {
            let (Some(key), Some(upload_id)) = (upload.key(), upload.upload_id()) else {
                continue;
            };
            if key != target.key || upload_id == ours {
                continue;
            }
            let candidate = upload_id.to_owned();
            let known = blocking(self.inner.journal.clone(), move |j| {
                j.knows_upload_id(&candidate)
            })
            .await;
            if !matches!(known, Ok(false)) {
                continue;
            }
            let aborted = self
                .inner
                .s3
                .abort_multipart_upload()
                .bucket(&target.bucket)
                .key(key)
                .upload_id(upload_id)
                .send()
                .await;
            match aborted {
                Ok(_) => self.note(
                    record.id,
                    "a retried start had left an unused multipart upload on the server: aborted it"
                        .into(),
                ),
                Err(err) => tracing::debug!(
                    "could not abort an orphaned multipart upload: {}",
                    sdk_error::describe(&err)
                ),
            }
        }
    }

    pub(super) async fn list_server_parts(
        &self,
        record: &UploadRecord,
        upload_id: &str,
    ) -> Result<Vec<aws_sdk_s3::types::Part>, (Disposition, String)> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .inner
                .s3
                .list_parts()
                .bucket(&record.target.bucket)
                .key(&record.target.key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await
                .map_err(|e| (sdk_error::disposition(&e), sdk_error::describe(&e)))?;
            parts.extend(page.parts().iter().cloned());
            match (page.is_truncated(), page.next_part_number_marker()) {
                (Some(true), Some(next)) if Some(next) != marker.as_deref() => {
                    marker = Some(next.to_owned())
                }
                _ => break,
            }
        }
        Ok(parts)
    }

    /// Keeps a server part only when its size is the planned one and it holds this file's bytes as they
    /// are now: the journal recorded it with the same ETag (or the server lists no ETags, as some
    /// S3-compatible servers do, and the journal has it), or the server's checksum equals the local
    /// bytes' checksum (a part confirmed just before a crash, before the journal write). Either way the
    /// part's bytes are read again and compared with the checksum it was sent with, so a file rewritten in
    /// place since (same size and time) gets those parts sent again instead of mixed into the object.
    pub(super) async fn reconcile(
        &self,
        record: &UploadRecord,
        file: &Arc<File>,
        plan: &plan::PartPlan,
        journal_parts: &[PartRecord],
        server: Vec<aws_sdk_s3::types::Part>,
    ) -> Result<BTreeMap<u32, PartRecord>, RunError> {
        let mut keep = BTreeMap::new();
        let mut changed = 0u32;
        for part in server {
            let (Some(number), Some(size)) = (part.part_number(), part.size()) else {
                continue;
            };
            let Ok(number) = u32::try_from(number) else {
                continue;
            };
            let Some((offset, len)) = plan.part_range(number) else {
                continue;
            };
            if u64::try_from(size).ok() != Some(len) {
                continue;
            }
            let known = journal_parts.iter().find(|p| {
                p.part_number == number
                    && p.size == len
                    && part.e_tag().is_none_or(|etag| p.etag == etag)
            });
            let sent_crc = match known {
                Some(known) => Some(known.crc64),
                None => part.checksum_crc64_nvme().and_then(crc64_from_base64),
            };
            let (Some(sent_crc), Some(etag)) =
                (sent_crc, known.map(|k| k.etag.as_str()).or(part.e_tag()))
            else {
                continue;
            };
            let (bytes, local, _) = self.read_checksummed(record, file, offset, len).await?;
            self.inner.buffers.give_back(bytes);
            if local != sent_crc {
                if known.is_some() {
                    changed += 1;
                }
                continue;
            }
            keep.insert(
                number,
                PartRecord {
                    part_number: number,
                    etag: etag.to_owned(),
                    crc64: local,
                    size: len,
                },
            );
        }
        if changed > 0 {
            self.note(
                record.id,
                format!(
                    "{changed} part(s) sent earlier no longer match the file's bytes (it was rewritten in place): sending them again"
                ),
            );
        }
        Ok(keep)
    }

    #[allow(clippy::too_many_arguments)] // one part: where it goes, what it is, and the run's control
    pub(super) async fn send_part(
        &self,
        record: &UploadRecord,
        file: &Arc<File>,
        upload_id: &str,
        number: u32,
        offset: u64,
        len: u64,
        control: &UploadControl,
    ) -> Result<PartRecord, RunError> {
        let inner = &self.inner;
        let (body, crc, checksum) = self.read_checksummed(record, file, offset, len).await?;
        let target = &record.target;
        let send = || async {
            if let Some(throttle) = &inner.throttle {
                throttle.acquire(len).await;
            }
            let request = inner
                .s3
                .upload_part()
                .bucket(&target.bucket)
                .key(&target.key)
                .upload_id(upload_id)
                .part_number(number as i32)
                .checksum_crc64_nvme(&checksum)
                .content_length(len as i64)
                .body(ByteStream::from(body.clone()));
            if inner.config.sign_payload {
                request.send().await
            } else {
                request.customize().disable_payload_signing().send().await
            }
        };
        let out = self
            .with_retries(record.id, &format!("part {number}"), control, send)
            .await?;
        inner.buffers.give_back(body);
        if let Some(echoed) = out.checksum_crc64_nvme()
            && echoed != checksum
        {
            return Err(RunError::Failed(format!(
                "the server stored part {number} with checksum {echoed}, but its bytes have {checksum}: the data was altered on the way"
            )));
        }
        let etag = out.e_tag().ok_or_else(|| {
            RunError::Failed(format!(
                "the server accepted part {number} but returned no ETag"
            ))
        })?;
        let part = PartRecord {
            part_number: number,
            etag: etag.to_owned(),
            crc64: crc,
            size: len,
        };
        let to_record = part.clone();
        let id = record.id;
        // Durable before it counts: a crash after this line never sends the part again.
        blocking(inner.journal.clone(), move |j| {
            j.record_part(id, &to_record)
        })
        .await?;
        Ok(part)
    }
}
