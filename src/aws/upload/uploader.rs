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

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use tokio::sync::{Semaphore, SemaphorePermit, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::aws::sdk_error::{self, Disposition};
use crate::aws::upload::buffers::BufferPool;
use crate::aws::upload::events::UploadEvent;
use crate::aws::upload::fingerprint;
use crate::aws::upload::journal::{Journal, JournalError, PartRecord, UploadRecord, UploadState};
use crate::aws::upload::lease::UploadLease;
use crate::aws::upload::plan;
use crate::aws::upload::throttle::Throttle;

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

    /// For an upload whose object-making request was journaled as sent: `Some(verified)` when the object
    /// is in the bucket (or cannot be looked at: then it is taken as done, never sent again without the
    /// user asking), `None` when it is certainly not there and the upload goes on.
    async fn settle_earlier_commit(&self, record: &UploadRecord) -> Result<Option<bool>, RunError> {
        let Some(commit) = record.commit else {
            return Ok(None);
        };
        let id = record.id;
        self.note(
            id,
            "the last run sent the request that completes the object but did not hear back: checking the bucket".into(),
        );
        match self.settle(record, Some(commit.crc64)).await? {
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
    /// not verified, said plainly, since sending again would start a second workflow.
    async fn settle(&self, record: &UploadRecord, crc: Option<u64>) -> Result<Settled, RunError> {
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
        let stopper = UploadControl::default();
        let head = match self.with_retries(record.id, "check", &stopper, head).await {
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

    /// Refuses to make an object from a file that changed while its bytes were being read: the parts (or
    /// the single body) could mix old and new content.
    async fn refuse_if_changed(
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

    /// Journals, durably, that the object-making request goes out now (see [`Self::settle`]).
    async fn journal_commit(&self, id: i64, crc: u64) -> Result<(), RunError> {
        blocking(self.inner.journal.clone(), move |j| {
            j.set_commit_sent(id, crc)
        })
        .await
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

    /// A conditional write found an object at the key: this upload's own (an earlier attempt landed
    /// and its answer was lost) counts as done; any other object is refused.
    async fn settle_conflict(&self, record: &UploadRecord, crc: u64) -> Result<bool, RunError> {
        match self.settle(record, Some(crc)).await? {
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

    async fn send_multipart(
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
                return match self.settle(record, Some(full_crc)).await? {
                    Settled::Done { verified } => Ok(verified),
                    Settled::Absent => Err(RunError::Failed(format!(
                        "the multipart upload of s3://{}/{} was removed from the server before it completed (for example by a lifecycle rule); run `vodesk resume {id}` to send the file again",
                        target.bucket, target.key
                    ))),
                };
            }
            Err(err) if err.disposition() == Some(Disposition::PreconditionFailed) => {
                let settled = self.settle_conflict(record, full_crc).await;
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
    async fn prepare_multipart(
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
                    if let Settled::Done { verified } = self.settle(record, crc).await? {
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
    async fn abort_orphans(&self, record: &UploadRecord, ours: &str) {
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

    async fn list_server_parts(
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
    async fn reconcile(
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
    async fn send_part(
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

    /// Runs `request` until it succeeds, retrying transient failures with exponential backoff and jitter.
    async fn with_retries<T, E, F, Fut>(
        &self,
        id: i64,
        what: &str,
        control: &UploadControl,
        mut request: F,
    ) -> Result<T, RunError>
    where
        F: FnMut() -> Fut,
        Fut: Future<
            Output = Result<
                T,
                aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
            >,
        >,
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let config = &self.inner.config;
        let mut attempt = 1;
        loop {
            let result = tokio::select! {
                () = control.token.cancelled() => return Err(RunError::Stopped),
                result = request() => result,
            };
            let err = match result {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let message = sdk_error::describe(&err);
            match sdk_error::disposition(&err) {
                Disposition::Transient if attempt < config.max_attempts => {
                    let backoff = backoff(config, attempt);
                    tracing::debug!("{what} of upload {id} failed (attempt {attempt}): {message}");
                    // One silent retry covers a blip (the SDK already retried inside it); after that, say so.
                    if attempt >= 2 {
                        self.note(
                            id,
                            format!(
                                "{what}: {message}; retrying in {:.0} s",
                                backoff.as_secs_f64().ceil()
                            ),
                        );
                    }
                    tokio::select! {
                        () = control.token.cancelled() => return Err(RunError::Stopped),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    attempt += 1;
                }
                Disposition::Transient => {
                    return Err(RunError::Request {
                        disposition: Disposition::Transient,
                        message: format!(
                            "{what} still failing after {attempt} attempts ({message}); check the network and run `vodesk resume {id}`"
                        ),
                    });
                }
                Disposition::CredentialsExpired => {
                    return Err(RunError::CredentialsExpired(message));
                }
                Disposition::ClockSkew => {
                    return Err(RunError::Request {
                        disposition: Disposition::ClockSkew,
                        message: format!(
                            "{what} refused because this computer's clock is wrong ({message}): set the correct time (for example `timedatectl set-ntp true`), then run `vodesk resume {id}`"
                        ),
                    });
                }
                disposition => {
                    return Err(RunError::Request {
                        disposition,
                        message: format!("{what} refused: {message}"),
                    });
                }
            }
        }
    }

    /// Compares the stored object's size and full-object checksum with what was computed locally, once
    /// the object is complete. Returns whether it matched. Whatever this finds, the upload is complete
    /// and is never sent again (that would start a second workflow): a failed or impossible check is
    /// said plainly (HeadObject is optional in the solution's policy, contract §9), not turned into a
    /// failure.
    async fn verify(&self, record: &UploadRecord, crc: u64) -> bool {
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

    async fn put_metadata_document(
        &self,
        record: &UploadRecord,
        document: &str,
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
            .with_retries(record.id, "metadata file", &UploadControl::default(), put)
            .await
        {
            Ok(_) => {}
            Err(err) if err.disposition() == Some(Disposition::PreconditionFailed) => {
                return self.settle_metadata_conflict(record, &key, &body).await;
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
    async fn settle_metadata_conflict(
        &self,
        record: &UploadRecord,
        key: &str,
        body: &Bytes,
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
            .with_retries(record.id, "metadata check", &UploadControl::default(), get)
            .await
        {
            Ok(out) => out.body.collect().await.ok().map(|b| b.into_bytes()),
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

/// Pause before attempt `attempt + 1`: exponential, capped, with ±25 % jitter so that many parts failing
/// together do not retry in lockstep.
fn backoff(config: &UploaderConfig, attempt: u32) -> Duration {
    let exp = config
        .base_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(config.max_backoff);
    let jitter: f64 = rand::random_range(0.75..1.25);
    capped.mul_f64(jitter)
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

/// The full-object CRC64NVME from the parts' CRCs, in part order, without reading the file again.
fn combine_crc64(parts: &[&PartRecord]) -> u64 {
    let mut iter = parts.iter();
    let Some(first) = iter.next() else {
        return crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, &[]);
    };
    iter.fold(first.crc64, |acc, part| {
        crc_fast::checksum_combine(
            crc_fast::CrcAlgorithm::Crc64Nvme,
            acc,
            part.crc64,
            part.size,
        )
    })
}

pub fn crc64_base64(crc: u64) -> String {
    BASE64.encode(crc.to_be_bytes())
}

fn crc64_from_base64(text: &str) -> Option<u64> {
    let bytes = BASE64.decode(text).ok()?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// S3 metadata travels in HTTP headers: non-ASCII and control characters are percent-encoded (UTF-8).
pub fn metadata_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The Content-Type for a key, from its extension (players and browsers use it when the URL is opened).
pub fn content_type(key: &str) -> &'static str {
    let ext = key
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "webm" => "video/webm",
        "mpg" | "mpeg" => "video/mpeg",
        "m2ts" | "ts" | "mts" => "video/mp2t",
        "wmv" => "video/x-ms-wmv",
        "mxf" => "application/mxf",
        "m3u8" => "application/vnd.apple.mpegurl",
        "h264" => "video/h264",
        "avi" => "video/x-msvideo",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// A smoothed transfer rate: bytes confirmed over the last ten seconds.
struct RateMeter {
    samples: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    const WINDOW: Duration = Duration::from_secs(10);

    fn new(start: u64) -> Self {
        Self {
            samples: VecDeque::from([(Instant::now(), start)]),
        }
    }

    fn update(&mut self, confirmed: u64) -> f64 {
        let now = Instant::now();
        self.samples.push_back((now, confirmed));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > Self::WINDOW)
        {
            self.samples.pop_front();
        }
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => {
                (b1 - b0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
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
