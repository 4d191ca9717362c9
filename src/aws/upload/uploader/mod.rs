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

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use tokio::sync::{Semaphore, SemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;

use crate::aws::sdk_error::{self, Disposition};
use crate::aws::upload::buffers::BufferPool;
use crate::aws::upload::events::UploadEvent;
use crate::aws::upload::fingerprint;
use crate::aws::upload::journal::{Journal, JournalError, PartRecord, UploadRecord, UploadState};
use crate::aws::upload::lease::UploadLease;
use crate::aws::upload::plan;
use crate::aws::upload::throttle::Throttle;

mod commit;
mod multipart;
mod rate;
mod retry;
mod wire;

pub use wire::{content_type, crc64_base64, metadata_value};

/// Part bytes held in memory at once, across all uploads of a process, in MiB. Parts in flight are
/// bounded by the concurrency too, but 256 parts of 5 GiB would be 1.25 TiB: this bounds the product,
/// whatever the flags and part sizes say (a single larger part still goes, alone).
pub const MEMORY_BUDGET_MIB: u32 = 1024;

/// The memory permits (MiB, rounded up) a part of `len` bytes takes from [`MEMORY_BUDGET_MIB`]; never
/// more than the whole budget, so that every part can go.
fn memory_permits(len: u64) -> u32 {
    u32::try_from(len.div_ceil(1 << 20))
        .unwrap_or(u32::MAX)
        .clamp(1, MEMORY_BUDGET_MIB)
}

/// Metadata key under which the original file name travels with the object.
pub const ORIGINAL_NAME_METADATA: &str = "original-filename";

/// Tunables of the engine.
#[derive(Debug, Clone)]
pub struct UploaderConfig {
    /// Parts in flight at once, across all uploads.
    pub concurrency: usize,
    /// Optional bandwidth limit in bytes per second, across all uploads.
    pub limit_rate: Option<u64>,
    /// Attempts per request for transient failures before the upload stops (resumable).
    pub max_attempts: u32,
    /// The first pause between attempts; doubled each time up to `max_backoff`, with jitter.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Whether the SigV4 signature covers the body's SHA-256 (see [`sign_payload_for`]).
    pub sign_payload: bool,
}

/// Whether part bodies should be covered by the request signature. Over HTTPS (all of AWS, whose source
/// bucket denies plain HTTP) TLS protects the bytes in transit and the CRC64NVME checksum, itself
/// signed, lets S3 verify them: hashing every byte again with SHA-256 only costs CPU, which is why the
/// AWS CLI does not do it either. Over plain HTTP (an emulator, a private S3) the signed hash is what
/// stops a body from being altered on the way, so it stays.
pub fn sign_payload_for(endpoint_url: Option<&str>) -> bool {
    endpoint_url.is_some_and(|url| !url.to_ascii_lowercase().starts_with("https://"))
}

impl Default for UploaderConfig {
    fn default() -> Self {
        Self {
            concurrency: plan::DEFAULT_CONCURRENCY,
            limit_rate: None,
            // About five minutes of trying: long enough to ride out a Wi-Fi drop or a router restart.
            max_attempts: 14,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            sign_payload: true,
        }
    }
}

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

/// Why a run was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Pause,
    Cancel,
}

/// Lets the caller pause or cancel a running upload.
#[derive(Debug, Clone, Default)]
pub struct UploadControl {
    token: CancellationToken,
    stop: Arc<Mutex<Option<Stop>>>,
}

impl UploadControl {
    /// Stops sending; the journal keeps what was confirmed, so the upload resumes later.
    pub fn pause(&self) {
        self.request(Stop::Pause);
    }

    /// Stops sending, aborts the multipart upload on the server and forgets the upload.
    pub fn cancel(&self) {
        self.request(Stop::Cancel);
    }

    fn request(&self, stop: Stop) {
        let mut current = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        // Cancel wins over pause: a paused upload can still be cancelled, not the reverse.
        if *current != Some(Stop::Cancel) {
            *current = Some(stop);
        }
        self.token.cancel();
    }

    fn requested(&self) -> Option<Stop> {
        *self.stop.lock().unwrap_or_else(|p| p.into_inner())
    }
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

    /// Sends (or resumes) the journaled upload `id` until it completes, is stopped or fails.
    /// With `restart`, a file that changed since is uploaded again from the start instead of refused.
    pub async fn run(&self, id: i64, control: &UploadControl, restart: bool) -> Outcome {
        let inner = &self.inner;
        let lease = match self.lease(id).await {
            Ok(lease) => lease,
            Err(outcome) => return outcome,
        };
        let outcome = match self.run_inner(id, control, restart).await {
            Ok(verified) => Outcome::Completed { verified },
            Err(RunError::Stopped) => match control.requested() {
                Some(Stop::Cancel) => self.cancel_leased(id).await,
                _ => Outcome::Paused {
                    reason: "paused".into(),
                },
            },
            Err(RunError::CredentialsExpired(detail)) => {
                let login = match &inner.profile {
                    Some(p) => format!("aws sso login --profile {p}"),
                    None => "aws sso login".into(),
                };
                Outcome::Paused {
                    reason: format!(
                        "your AWS session has expired ({detail}): sign in again ({login}), then run `vodesk resume {id}`"
                    ),
                }
            }
            Err(RunError::Failed(error) | RunError::Request { message: error, .. }) => {
                Outcome::Failed { error }
            }
        };
        let event = match &outcome {
            Outcome::Completed { .. } => None, // sent by run_inner, which knows the size and time
            Outcome::Paused { reason } => {
                self.record_stop(id, UploadState::Paused, reason).await;
                Some(UploadEvent::Paused {
                    id,
                    reason: reason.clone(),
                })
            }
            Outcome::Cancelled => Some(UploadEvent::Cancelled { id }),
            Outcome::Failed { error } => {
                self.record_stop(id, UploadState::Failed, error).await;
                Some(UploadEvent::Failed {
                    id,
                    error: error.clone(),
                })
            }
            Outcome::RunningElsewhere { .. } => None,
        };
        if let Some(event) = event {
            self.emit(event);
        }
        drop(lease);
        outcome
    }

    /// Takes the upload's lease for this run, or tells (as an event and an outcome) who has it.
    async fn lease(&self, id: i64) -> Result<UploadLease, Outcome> {
        let taken = blocking(self.inner.journal.clone(), move |j| j.try_lease(id)).await;
        match taken {
            Ok(Ok(lease)) => Ok(lease),
            Ok(Err(holder)) => {
                let holder = holder.to_string();
                self.emit(UploadEvent::RunningElsewhere {
                    id,
                    holder: holder.clone(),
                });
                Err(Outcome::RunningElsewhere { holder })
            }
            Err(err) => Err(Outcome::Failed {
                error: run_error_text(err),
            }),
        }
    }

    /// Journals how a run stopped. A completed upload stays completed (the journal refuses to turn it
    /// back); a journal that cannot be written is said, since the next resume would not know.
    async fn record_stop(&self, id: i64, state: UploadState, reason: &str) {
        let reason_owned = reason.to_owned();
        let written = blocking(self.inner.journal.clone(), move |j| {
            j.set_state(id, state, Some(&reason_owned))
        })
        .await;
        if let Err(err) = written {
            self.note(
                id,
                format!(
                    "the upload journal could not record this ({}); run `vodesk uploads` to see where it stands",
                    run_error_text(err)
                ),
            );
        }
    }

    /// Sends an event to whoever listens. Nobody listening (the receiver dropped at shutdown) is fine:
    /// the journal, not the event, is the record.
    fn emit(&self, event: UploadEvent) {
        if self.inner.events.send(event).is_err() {
            tracing::debug!("upload event dropped: nobody listens any more");
        }
    }

    /// Aborts the multipart upload (if any) and forgets the upload. For an upload that is not running
    /// here; one being sent by another process is left alone.
    pub async fn cancel_now(&self, id: i64) -> Outcome {
        let lease = match self.lease(id).await {
            Ok(lease) => lease,
            Err(outcome) => return outcome,
        };
        let outcome = self.cancel_leased(id).await;
        drop(lease);
        outcome
    }

    async fn cancel_leased(&self, id: i64) -> Outcome {
        let record = match self.inner.journal.get(id) {
            Ok(record) => record,
            Err(err) => {
                return Outcome::Failed {
                    error: err.to_string(),
                };
            }
        };
        if let Some(upload_id) = &record.upload_id {
            let result = self
                .inner
                .s3
                .abort_multipart_upload()
                .bucket(&record.target.bucket)
                .key(&record.target.key)
                .upload_id(upload_id)
                .send()
                .await;
            if let Err(err) = result
                && sdk_error::disposition(&err) != Disposition::NoSuchUpload
            {
                return Outcome::Failed {
                    error: format!(
                        "could not abort the multipart upload of s3://{}/{}: {}; the upload is kept, try `vodesk cancel {id}` again",
                        record.target.bucket,
                        record.target.key,
                        sdk_error::describe(&err)
                    ),
                };
            }
        }
        match self.inner.journal.remove(id) {
            Ok(()) => {
                self.inner.journal.remove_lock_file(id);
                Outcome::Cancelled
            }
            Err(err) => Outcome::Failed {
                error: err.to_string(),
            },
        }
    }

    async fn run_inner(
        &self,
        id: i64,
        control: &UploadControl,
        restart: bool,
    ) -> Result<bool, RunError> {
        let inner = &self.inner;
        let mut record = blocking(inner.journal.clone(), move |j| j.get(id)).await?;
        if record.state == UploadState::Completed {
            return Ok(true);
        }
        // A request that makes the object went out before this run (the process died before it heard
        // back, or the answer was lost): the bucket says whether it took effect, before anything is sent.
        if let Some(verified) = self.settle_earlier_commit(&record).await? {
            return self.finish(&record, verified, Instant::now()).await;
        }
        let path = record.file_path.clone();
        let (file, now) = tokio::task::spawn_blocking(move || {
            let file = File::open(&path)?;
            let identity = fingerprint::identify_open(&file)?;
            Ok::<_, std::io::Error>((Arc::new(file), identity))
        })
        .await
        .map_err(|e| RunError::Failed(e.to_string()))?
        .map_err(|e| {
            RunError::Failed(format!(
                "cannot read {}: {e}; put the file back (or reconnect its drive) and resume, or `vodesk cancel {id}`",
                record.file_path.display()
            ))
        })?;
        if let Some(why) = fingerprint::changed_since(&record.file, &now) {
            if !restart {
                return Err(RunError::Failed(format!(
                    "{} changed since its upload started ({why}), so the parts already sent no longer match it. \
                     Run `vodesk resume {id} --restart` to upload it again from the start, or `vodesk cancel {id}`",
                    record.file_path.display()
                )));
            }
            self.note(
                id,
                format!(
                    "{} changed since its upload started ({why}): starting over",
                    record.original_name
                ),
            );
            if record.upload_id.is_some() {
                // The old parts describe the old content: throw them away on the server too. Failing
                // to costs only storage until the bucket's lifecycle rule removes them.
                if let Err(err) = self.cancel_remote(&record).await {
                    tracing::debug!("could not abort the old multipart upload of {id}: {err:?}");
                }
            }
            let new_plan = plan::plan(now.size, Some(record.target.part_size))
                .or_else(|_| plan::plan(now.size, None))
                .map_err(|e| RunError::Failed(e.to_string()))?;
            let journal = inner.journal.clone();
            let identity = now.clone();
            blocking(journal, move |j| {
                j.reset_file(
                    id,
                    &identity,
                    new_plan.part_size,
                    new_plan.part_count,
                    new_plan.multipart,
                )
            })
            .await?;
            record = blocking(inner.journal.clone(), move |j| j.get(id)).await?;
        }
        blocking(inner.journal.clone(), move |j| {
            j.set_state(id, UploadState::Active, None)
        })
        .await?;

        let started = Instant::now();
        let verified = if record.target.multipart {
            self.send_multipart(&record, &file, control).await?
        } else {
            self.send_single(&record, &file, control).await?
        };
        self.finish(&record, verified, started).await
    }

    /// The object is in the bucket: the metadata file (MetadataFile stacks), then the journal, then the
    /// event.
    async fn finish(
        &self,
        record: &UploadRecord,
        verified: bool,
        started: Instant,
    ) -> Result<bool, RunError> {
        let id = record.id;
        if let Some(document) = &record.target.metadata_document {
            self.put_metadata_document(record, document).await?;
        }
        blocking(self.inner.journal.clone(), move |j| {
            j.set_state(id, UploadState::Completed, None)
        })
        .await?;
        self.inner.journal.remove_lock_file(id);
        self.emit(UploadEvent::Completed {
            id,
            bucket: record.target.bucket.clone(),
            key: record.target.key.clone(),
            size: record.file.size,
            verified,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(verified)
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

    async fn cancel_remote(&self, record: &UploadRecord) -> Result<(), RunError> {
        let Some(upload_id) = &record.upload_id else {
            return Ok(());
        };
        self.inner
            .s3
            .abort_multipart_upload()
            .bucket(&record.target.bucket)
            .key(&record.target.key)
            .upload_id(upload_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| RunError::Failed(sdk_error::describe(&e)))
    }

    async fn send_single(
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
                return self.settle_conflict(record, crc).await;
            }
            Err(err) => return Err(err),
        }
        inner.buffers.give_back(body);
        self.progress(id, size, size, 0.0);
        Ok(self.verify(record, crc).await)
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
    fn payloads_are_signed_only_without_tls() {
        assert!(!sign_payload_for(None), "AWS itself: https");
        assert!(!sign_payload_for(Some(
            "HTTPS://s3.eu-west-1.amazonaws.com"
        )));
        assert!(sign_payload_for(Some("http://127.0.0.1:4566")));
    }

    #[test]
    fn metadata_values_are_header_safe() {
        assert_eq!(metadata_value("Café 100%.MOV"), "Caf%C3%A9 100%25.MOV");
        assert_eq!(metadata_value("a\nb"), "a%0Ab");
    }

    #[test]
    fn part_memory_is_bounded_whatever_the_part_size() {
        assert_eq!(memory_permits(1), 1);
        assert_eq!(memory_permits(8 << 20), 8);
        assert_eq!(memory_permits((8 << 20) + 1), 9);
        // A 5 GiB part takes the whole budget: it goes alone, and 256 of them never sit in memory at once.
        assert_eq!(memory_permits(5 << 30), MEMORY_BUDGET_MIB);
        assert_eq!(memory_permits(0), 1);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let config = UploaderConfig::default();
        assert!(backoff(&config, 1) <= Duration::from_millis(625));
        assert!(backoff(&config, 20) <= Duration::from_millis(37_500));
        assert!(backoff(&config, 20) >= Duration::from_millis(22_500));
    }
}
