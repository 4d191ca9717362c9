//! The upload engine: sends one journaled upload to S3 and reports typed events. Multipart with a
//! CRC64NVME checksum per part (the server verifies each) and a full-object checksum checked after
//! completion; parts read from disk at their offsets (memory is bounded by concurrency × part size, not
//! by file size); one concurrency budget shared by every upload in flight; transient failures retried
//! with backoff and jitter; pause and cancel; resume reconciled with the server's ListParts.
//!
//! Every object completed in the source bucket starts a paid workflow, so the requests that make the
//! object (CompleteMultipartUpload, or the single PutObject) are written once: they carry
//! `If-None-Match: *`, so a retry whose first attempt landed cannot write the object again; they are
//! journaled before they are sent, so a resume after a crash asks the bucket first; a run holds its
//! upload's lease, so two processes never send one upload; parts are read from the one file the run
//! opened, and an object is not completed from a file that changed while it was read.

//!
//! This module holds the engine's shared state and the small helpers every step uses; the steps live in
//! the submodules: a run from lease to outcome (`run`), the single PutObject (`single`), a multipart
//! upload (`multipart`), the requests that make the object and settling them (`commit`), cancelling
//! (`cancel`), retries (`retry`), the tunables (`config`) and the caller's pause/cancel handle
//! (`control`).

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Semaphore, SemaphorePermit, mpsc};

use crate::aws::sdk_error::Disposition;
use crate::aws::upload::buffers::BufferPool;
use crate::aws::upload::events::UploadEvent;
use crate::aws::upload::journal::{Journal, JournalError, PartRecord, UploadRecord};
use crate::aws::upload::throttle::Throttle;

mod cancel;
mod commit;
mod config;
mod control;
mod multipart;
mod rate;
mod retry;
mod run;
mod single;
mod wire;

pub use config::{MEMORY_BUDGET_MIB, UploaderConfig, sign_payload_for};
pub use control::UploadControl;
pub use wire::{content_type, crc64_base64, metadata_value};

use config::memory_permits;

/// Metadata key under which the original file name travels with the object.
pub const ORIGINAL_NAME_METADATA: &str = "original-filename";

/// How an upload run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed {
        verified: bool,
    },
    Paused {
        reason: String,
    },
    Cancelled,
    Failed {
        error: String,
    },
    /// Another vodesk process (or session) is sending this upload: this run left it alone.
    RunningElsewhere {
        holder: String,
    },
}

/// Shared by all uploads of one process.
#[derive(Clone)]
pub struct Uploader {
    inner: Arc<Inner>,
}

struct Inner {
    s3: aws_sdk_s3::Client,
    journal: Journal,
    budget: Semaphore,
    /// Part bytes in memory (see [`MEMORY_BUDGET_MIB`]).
    memory: Semaphore,
    throttle: Option<Throttle>,
    buffers: BufferPool,
    events: mpsc::UnboundedSender<UploadEvent>,
    config: UploaderConfig,
    profile: Option<String>,
}

/// A failure inside a run, before it becomes an [`Outcome`].
#[derive(Debug)]
enum RunError {
    Stopped,
    CredentialsExpired(String),
    Failed(String),
    /// A request the server refused for good (or that kept failing), with how it failed, so that the
    /// caller can tell "no such upload" or "an object is already there" from the rest.
    Request {
        disposition: Disposition,
        message: String,
    },
}

impl RunError {
    /// The message of a failure, for an outcome that is a plain failure whatever its kind.
    fn into_message(self) -> String {
        match self {
            Self::Stopped => "stopped".to_owned(),
            Self::CredentialsExpired(message) | Self::Failed(message) => message,
            Self::Request { message, .. } => message,
        }
    }

    fn disposition(&self) -> Option<Disposition> {
        match self {
            Self::Request { disposition, .. } => Some(*disposition),
            _ => None,
        }
    }
}

/// Where a multipart upload stands before its parts are sent.
enum Prepared {
    /// Send the parts missing from this multipart upload.
    Send(String, BTreeMap<u32, PartRecord>),
    /// The object is already in the bucket: nothing to send.
    AlreadyComplete { verified: bool },
}

/// What the bucket says about an object this upload may already have made.
enum Settled {
    /// This upload's object is in the bucket (`verified`: its checksum was compared).
    Done { verified: bool },
    /// No object at the key: the request that would make it never took effect.
    Absent,
}

impl From<JournalError> for RunError {
    fn from(err: JournalError) -> Self {
        Self::Failed(err.to_string())
    }
}

impl Uploader {
    pub fn new(
        s3: aws_sdk_s3::Client,
        journal: Journal,
        config: UploaderConfig,
        profile: Option<String>,
        events: mpsc::UnboundedSender<UploadEvent>,
    ) -> Self {
        let concurrency = config.concurrency.clamp(1, 256);
        Self {
            inner: Arc::new(Inner {
                s3,
                journal,
                budget: Semaphore::new(concurrency),
                memory: Semaphore::new(MEMORY_BUDGET_MIB as usize),
                throttle: config.limit_rate.map(Throttle::new),
                buffers: BufferPool::new(concurrency),
                events,
                config,
                profile,
            }),
        }
    }

    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// Sends an event to whoever listens. Nobody listening (the receiver dropped at shutdown) is fine:
    /// the journal, not the event, is the record.
    fn emit(&self, event: UploadEvent) {
        if self.inner.events.send(event).is_err() {
            tracing::debug!("upload event dropped: nobody listens any more");
        }
    }

    /// A slot among the parts in flight and the memory for `len` bytes, held while a part is sent.
    async fn permits(
        &self,
        len: u64,
    ) -> Result<(SemaphorePermit<'_>, SemaphorePermit<'_>), RunError> {
        let slot = self
            .inner
            .budget
            .acquire()
            .await
            .map_err(|e| RunError::Failed(e.to_string()))?;
        let memory = self
            .inner
            .memory
            .acquire_many(memory_permits(len))
            .await
            .map_err(|e| RunError::Failed(e.to_string()))?;
        Ok((slot, memory))
    }

    fn note(&self, id: i64, message: String) {
        self.emit(UploadEvent::Note { id, message });
    }

    /// A range of the open file (in a pooled buffer) with its CRC64NVME, raw and as the base64 that the
    /// `x-amz-checksum-crc64nvme` header carries.
    async fn read_checksummed(
        &self,
        record: &UploadRecord,
        file: &Arc<File>,
        offset: u64,
        len: u64,
    ) -> Result<(Bytes, u64, String), RunError> {
        let bytes = self
            .inner
            .buffers
            .read(file, offset, len)
            .await
            .map_err(|e| {
                RunError::Failed(format!(
                    "cannot read {} at offset {offset}: {e}",
                    record.file_path.display()
                ))
            })?;
        let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, &bytes);
        Ok((bytes, crc, crc64_base64(crc)))
    }

    fn started_event(&self, record: &UploadRecord, parts: u32, already_confirmed: u64) {
        self.emit(UploadEvent::Started {
            id: record.id,
            name: record.original_name.clone(),
            bucket: record.target.bucket.clone(),
            key: record.target.key.clone(),
            size: record.file.size,
            parts,
            already_confirmed,
        });
    }

    fn progress(&self, id: i64, confirmed: u64, size: u64, rate: f64) {
        let eta = (rate > 0.0)
            .then(|| Duration::from_secs_f64(size.saturating_sub(confirmed) as f64 / rate));
        self.emit(UploadEvent::Progress {
            id,
            confirmed,
            size,
            bytes_per_second: rate,
            eta,
        });
    }
}

/// The text of a journal failure inside a run.
fn run_error_text(err: RunError) -> String {
    match err {
        RunError::Failed(text)
        | RunError::CredentialsExpired(text)
        | RunError::Request { message: text, .. } => text,
        RunError::Stopped => "stopped".into(),
    }
}

/// Runs a journal operation off the async workers (SQLite writes wait for the disk).
async fn blocking<T: Send + 'static>(
    journal: Journal,
    f: impl FnOnce(&Journal) -> Result<T, JournalError> + Send + 'static,
) -> Result<T, RunError> {
    tokio::task::spawn_blocking(move || f(&journal))
        .await
        .map_err(|e| RunError::Failed(format!("journal task failed: {e}")))?
        .map_err(RunError::from)
}

#[cfg(test)]
mod tests {
    use super::retry::backoff;
    use super::wire::{combine_crc64, crc64_from_base64};
    use super::*;

    #[test]
    fn combined_part_crcs_equal_the_crc_of_the_whole() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let sizes = [1_000_000usize, 1_000_000, 1_000_000];
        let mut offset = 0;
        let parts: Vec<PartRecord> = sizes
            .iter()
            .enumerate()
            .map(|(i, &len)| {
                let crc = crc_fast::checksum(
                    crc_fast::CrcAlgorithm::Crc64Nvme,
                    &data[offset..offset + len],
                );
                offset += len;
                PartRecord {
                    part_number: i as u32 + 1,
                    etag: String::new(),
                    crc64: crc,
                    size: len as u64,
                }
            })
            .collect();
        let refs: Vec<&PartRecord> = parts.iter().collect();
        assert_eq!(
            combine_crc64(&refs),
            crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, &data)
        );
        assert_eq!(
            crc64_from_base64(&crc64_base64(0x0123_4567_89ab_cdef)),
            Some(0x0123_4567_89ab_cdef)
        );
    }

    #[test]
    fn metadata_values_are_header_safe() {
        assert_eq!(metadata_value("Café 100%.MOV"), "Caf%C3%A9 100%25.MOV");
        assert_eq!(metadata_value("a\nb"), "a%0Ab");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let config = UploaderConfig::default();
        assert!(backoff(&config, 1) <= Duration::from_millis(625));
        assert!(backoff(&config, 20) <= Duration::from_millis(37_500));
        assert!(backoff(&config, 20) >= Duration::from_millis(22_500));
    }
}
