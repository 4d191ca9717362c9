//! The requests that make the object, and what the bucket says about it: the commit journaled before
//! it is sent, settling an earlier commit or a conditional write's conflict from the bucket, refusing a
//! file that changed while it was read, the read-back check, and the metadata file.

use std::fs::File;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumMode;
use bytes::Bytes;

use super::wire::{crc64_base64, crc64_from_base64};
use super::{RunError, Settled, UploadControl, Uploader, blocking};
use crate::aws::sdk_error::{self, Disposition};
use crate::aws::upload::fingerprint;
use crate::aws::upload::journal::UploadRecord;

impl Uploader {
    /// For an upload whose object-making request was journaled as sent: `Some(verified)` when the object
    /// is in the bucket (or cannot be looked at: then it is taken as done, never sent again without the
    /// user asking), `None` when it is certainly not there and the upload goes on.
    pub(super) async fn settle_earlier_commit(
        &self,
        record: &UploadRecord,
        control: &UploadControl,
    ) -> Result<Option<bool>, RunError> {
        let Some(commit) = record.commit else {
            return Ok(None);
        };
        let id = record.id;
        self.note(
            id,
            "the last run sent the request that completes the object but did not hear back: checking the bucket".into(),
        );
        match self
            .settle_with(record, Some(commit.crc64), control)
            .await?
        {
            Settled::Done { verified } => Ok(Some(verified)),
            Settled::Absent => {
                blocking(self.inner.journal.clone(), move |j| j.clear_commit_sent(id)).await?;
                Ok(None)
            }
        }
    }

    /// Looks at the object at the upload's key. Ours (same size, and the same CRC64NVME when the server
    /// reports one): done. Absent: the request that would make it never took effect. Another object:
    /// refused, never overwritten. Unreadable (HeadObject denied, contract §9 makes it optional): done but
    /// not verified, said plainly, since sending again would start a second workflow. The run's
    /// `control` stops the check (and its retries) like any other request: the commit stays journaled,
    /// so the next run settles it again.
    pub(super) async fn settle_with(
        &self,
        record: &UploadRecord,
        crc: Option<u64>,
        control: &UploadControl,
    ) -> Result<Settled, RunError> {
        let target = &record.target;
        let head = || async {
            self.inner
                .s3
                .head_object()
                .bucket(&target.bucket)
                .key(&target.key)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
        };
        let head = match self.with_retries(record.id, "check", control, head).await {
            Ok(head) => head,
            Err(err) if err.disposition() == Some(Disposition::NotFound) => {
                return Ok(Settled::Absent);
            }
            Err(RunError::Request { message, .. }) => {
                self.note(
                    record.id,
                    format!(
                        "completed, not verified: s3://{}/{} cannot be read back ({message}), so vodesk takes the upload as done and does not send it again (that would start a second workflow). If the object is really missing, upload the file again",
                        target.bucket, target.key
                    ),
                );
                return Ok(Settled::Done { verified: false });
            }
            Err(err) => return Err(err),
        };
        let stored_size = head.content_length().and_then(|n| u64::try_from(n).ok());
        let stored_crc = head.checksum_crc64_nvme().and_then(crc64_from_base64);
        let size_matches = stored_size == Some(record.file.size);
        match (size_matches, stored_crc, crc) {
            (true, Some(stored), Some(expected)) if stored == expected => {
                Ok(Settled::Done { verified: true })
            }
            (true, None, _) | (true, Some(_), None) => {
                self.note(
                    record.id,
                    "the object is in the bucket with the file's size; its checksum could not be compared".into(),
                );
                Ok(Settled::Done { verified: false })
            }
            _ => Err(RunError::Failed(format!(
                "s3://{}/{} already holds another object ({} bytes), not this file's {} bytes; vodesk never replaces an object in the source bucket (that would start another workflow). Upload the file under another key (the default key template puts a fresh id in each key), or remove that object first",
                target.bucket,
                target.key,
                stored_size.map_or("an unknown number of".into(), |n| n.to_string()),
                record.file.size
            ))),
        }
    }

    /// Refuses to make an object from a file that changed while its bytes were being read: the parts (or
    /// the single body) could mix old and new content.
    pub(super) async fn refuse_if_changed(
        &self,
        record: &UploadRecord,
        file: &Arc<File>,
    ) -> Result<(), RunError> {
        let recorded = record.file.clone();
        let file = Arc::clone(file);
        let changed =
            tokio::task::spawn_blocking(move || fingerprint::changed_while_open(&recorded, &file))
                .await
                .map_err(|e| RunError::Failed(e.to_string()))?
                .map_err(|e| {
                    RunError::Failed(format!("cannot read {}: {e}", record.file_path.display()))
                })?;
        match changed {
            None => Ok(()),
            Some(why) => Err(RunError::Failed(format!(
                "{} changed while it was being sent ({why}): what was sent may mix old and new content, so the object was not completed and no workflow started. \
                 When the file is final, run `vodesk resume {} --restart` to send it again from the start, or `vodesk cancel {}`",
                record.file_path.display(),
                record.id,
                record.id
            ))),
        }
    }

    /// Journals, durably, that the object-making request goes out now (see [`Self::settle_with`]).
    pub(super) async fn journal_commit(&self, id: i64, crc: u64) -> Result<(), RunError> {
        blocking(self.inner.journal.clone(), move |j| {
            j.set_commit_sent(id, crc)
        })
        .await
    }

    /// A conditional write found an object at the key: this upload's own (an earlier attempt landed
    /// and its answer was lost) counts as done; any other object is refused.
    pub(super) async fn settle_conflict_with(
        &self,
        record: &UploadRecord,
        crc: u64,
        control: &UploadControl,
    ) -> Result<bool, RunError> {
        match self.settle_with(record, Some(crc), control).await? {
            Settled::Done { verified } => {
                self.note(
                    record.id,
                    "an earlier attempt had already stored the object: it was not written again"
                        .into(),
                );
                Ok(verified)
            }
            Settled::Absent => Err(RunError::Failed(format!(
                "s3://{}/{} was reported as existing, then as missing; run `vodesk resume {}` to try again",
                record.target.bucket, record.target.key, record.id
            ))),
        }
    }

    /// Compares the stored object's size and full-object checksum with what was computed locally, once
    /// the object is complete. Returns whether it matched. Whatever this finds, the upload is complete
    /// and is never sent again (that would start a second workflow): a failed or impossible check is
    /// said plainly (HeadObject is optional in the solution's policy, contract §9), not turned into a
    /// failure.
    pub(super) async fn verify(&self, record: &UploadRecord, crc: u64) -> bool {
        let target = &record.target;
        let head = self
            .inner
            .s3
            .head_object()
            .bucket(&target.bucket)
            .key(&target.key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        let head = match head {
            Ok(head) => head,
            Err(err) => {
                self.note(
                    record.id,
                    format!(
                        "completed, not verified: s3://{}/{} could not be read back to compare it with the file ({})",
                        target.bucket,
                        target.key,
                        sdk_error::describe(&err)
                    ),
                );
                return false;
            }
        };
        let stored_size = head.content_length().and_then(|n| u64::try_from(n).ok());
        if stored_size != Some(record.file.size) {
            self.note(
                record.id,
                format!(
                    "integrity check failed: s3://{}/{} has {} bytes but the file has {}; its workflow has started: check the object before its outputs are used",
                    target.bucket,
                    target.key,
                    stored_size.map_or("an unknown number of".into(), |n| n.to_string()),
                    record.file.size
                ),
            );
            return false;
        }
        match head.checksum_crc64_nvme() {
            Some(stored) if stored == crc64_base64(crc) => true,
            Some(stored) => {
                self.note(
                    record.id,
                    format!(
                        "integrity check failed: s3://{}/{} has CRC64NVME {stored} but the file's bytes have {}; its workflow has started: check the object before its outputs are used",
                        target.bucket,
                        target.key,
                        crc64_base64(crc)
                    ),
                );
                false
            }
            None => {
                self.note(
                    record.id,
                    "the server reports no checksum for the object: only its size was verified"
                        .into(),
                );
                false
            }
        }
    }

    /// Writes the metadata file that starts the workflow on MetadataFile stacks. A pause or cancel stops
    /// it: the object's commit stays journaled, so the next run settles the object and writes the file.
    pub(super) async fn put_metadata_document(
        &self,
        record: &UploadRecord,
        document: &str,
        control: &UploadControl,
    ) -> Result<(), RunError> {
        let key = crate::aws::upload::naming::metadata_key(&record.target.key);
        let body = Bytes::from(document.to_owned());
        let crc = crc64_base64(crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, &body));
        let put = || async {
            self.inner
                .s3
                .put_object()
                .bucket(&record.target.bucket)
                .key(&key)
                // The metadata file starts the workflow on MetadataFile stacks: written once, like videos.
                .if_none_match("*")
                .content_type("application/json")
                .checksum_crc64_nvme(&crc)
                .body(ByteStream::from(body.clone()))
                .send()
                .await
        };
        match self
            .with_retries(record.id, "metadata file", control, put)
            .await
        {
            Ok(_) => {}
            Err(err) if err.disposition() == Some(Disposition::PreconditionFailed) => {
                return self
                    .settle_metadata_conflict(record, &key, &body, control)
                    .await;
            }
            Err(err) => return Err(err),
        }
        self.note(
            record.id,
            format!(
                "metadata file s3://{}/{key} written: the workflow starts now",
                record.target.bucket
            ),
        );
        Ok(())
    }

    /// The metadata file is already at its key: this upload's own (an attempt whose answer was lost, or
    /// a run that died after writing it) is done; another document is refused, never replaced.
    pub(super) async fn settle_metadata_conflict(
        &self,
        record: &UploadRecord,
        key: &str,
        body: &Bytes,
        control: &UploadControl,
    ) -> Result<(), RunError> {
        let get = || async {
            self.inner
                .s3
                .get_object()
                .bucket(&record.target.bucket)
                .key(key)
                .send()
                .await
        };
        let stored = match self
            .with_retries(record.id, "metadata check", control, get)
            .await
        {
            Ok(out) => out.body.collect().await.ok().map(|b| b.into_bytes()),
            // Stopped is not "cannot be read back": the file must not be taken as written on a pause.
            Err(RunError::Stopped) => return Err(RunError::Stopped),
            Err(_) => None,
        };
        match stored {
            Some(stored) if stored == *body => {
                self.note(
                    record.id,
                    "the metadata file was already written by an earlier attempt: not written again".into(),
                );
                Ok(())
            }
            Some(_) => Err(RunError::Failed(format!(
                "s3://{}/{key} already holds another metadata file; vodesk never replaces one (that would start another workflow): remove it, then run `vodesk resume {}`",
                record.target.bucket, record.id
            ))),
            None => {
                self.note(
                    record.id,
                    format!(
                        "the metadata file s3://{}/{key} is already there and cannot be read back: taken as written",
                        record.target.bucket
                    ),
                );
                Ok(())
            }
        }
    }
}
