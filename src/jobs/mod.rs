//! The job model: one entry per workflow, keyed by guid, merging what the catalogue read, what the
//! live monitor heard and what this machine uploaded (upload key ↔ `srcVideo` ↔ guid). It owns the
//! status a user sees (Uploading → Uploaded → Ingest → Encoding → Complete | Error), the merge in
//! which a repeated delivery changes nothing and a terminal state is never downgraded (contract §4
//! Delivery), this machine's uploads with their live transfer ([`upload`]), and the two warnings users
//! of the solution need ([`warnings`]: "no workflow started" and "stalled", contract §1).

mod upload;
mod warnings;

use std::collections::HashMap;
use std::time::SystemTime;

use serde::Serialize;

use crate::contract::stack::WorkflowTrigger;
use crate::contract::{JobRecord, RecordOrigin, WorkflowStatus};
use crate::time::parse_iso8601;
pub use upload::{LocalUpload, Transfer, TransferState, UploadState};
pub use warnings::{JobWarning, Thresholds, WarningKind};

/// Where a job stands, as a user reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// This machine is sending the file.
    Uploading,
    /// The file is in the bucket; the workflow has not reported yet.
    Uploaded,
    /// The solution probed the file (Ingest), no encoding job yet.
    Ingest,
    /// An encoding job runs (`encodeJobId` present, the item still says Ingest).
    Encoding,
    Complete,
    Error,
}

impl JobStatus {
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Uploading,
        JobStatus::Uploaded,
        JobStatus::Ingest,
        JobStatus::Encoding,
        JobStatus::Complete,
        JobStatus::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Uploading => "uploading",
            JobStatus::Uploaded => "uploaded",
            JobStatus::Ingest => "ingest",
            JobStatus::Encoding => "encoding",
            JobStatus::Complete => "complete",
            JobStatus::Error => "error",
        }
    }

    /// Case-insensitive name, for `--status`.
    pub fn parse(text: &str) -> Option<JobStatus> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// Complete and Error end a workflow.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Complete | JobStatus::Error)
    }

    /// The status a record shows: an item in Ingest with an encode job id is Encoding.
    pub fn of_record(record: &JobRecord) -> JobStatus {
        match record.status {
            WorkflowStatus::Ingest if record.encode_job_id.is_some() => JobStatus::Encoding,
            WorkflowStatus::Ingest => JobStatus::Ingest,
            WorkflowStatus::Complete => JobStatus::Complete,
            WorkflowStatus::Error => JobStatus::Error,
        }
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One job: a workflow, a local upload, or both once correlated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// `None` until the workflow has reported (an upload waiting for its Ingest).
    pub guid: Option<String>,
    pub status: JobStatus,
    pub upload: Option<LocalUpload>,
    /// Everything known about the workflow, merged from messages and items.
    pub record: Option<JobRecord>,
    /// When this model first heard of the workflow (the fallback when `startTime` is unknown).
    pub first_heard: Option<SystemTime>,
    /// An item was read (not only messages): its absent fields really are absent.
    pub item_read: bool,
}

impl Job {
    /// The source key: the workflow's `srcVideo`, else the upload's key.
    pub fn file(&self) -> Option<&str> {
        self.record
            .as_ref()
            .and_then(|r| r.src_video.as_deref())
            .or(self.upload.as_ref().map(|u| u.key.as_str()))
    }

    /// When the workflow started: `startTime`, else when it was first heard of.
    pub fn started(&self) -> Option<SystemTime> {
        self.record
            .as_ref()
            .and_then(|r| r.start_time.as_deref())
            .and_then(parse_iso8601)
            .or(self.first_heard)
    }
}

/// What applying a document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A job the model did not know.
    New,
    /// A known job changed (status or fields).
    Updated,
    /// The same (guid, kind) message again: ignored.
    Duplicate,
    /// Older news (a late Ingest after Complete): fields filled in, status kept.
    Stale,
}

/// Which part of the model a job is (index into the book, stable: jobs are never removed).
pub type JobIndex = usize;

/// The facts about the deployment that explain a missing workflow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackFacts {
    pub source_bucket: String,
    pub workflow_trigger: Option<WorkflowTrigger>,
    pub solution_version: Option<String>,
    pub enable_sns: Option<bool>,
    pub stack_name: Option<String>,
}

/// All jobs, newest knowledge merged.
#[derive(Debug, Clone, Default)]
pub struct JobBook {
    jobs: Vec<Job>,
    by_guid: HashMap<String, JobIndex>,
    /// Source key → the job it belongs to (newest upload of that key wins).
    by_key: HashMap<String, JobIndex>,
    by_upload: HashMap<i64, JobIndex>,
}

impl JobBook {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    pub fn get(&self, index: JobIndex) -> Option<&Job> {
        self.jobs.get(index)
    }

    pub fn by_guid(&self, guid: &str) -> Option<&Job> {
        self.by_guid.get(guid).and_then(|&i| self.jobs.get(i))
    }

    /// Forgets job `guid` (deleted from the deployment) and returns where it was and what it held.
    /// Every index after it moves down by one, so a caller holding indices adjusts them.
    pub fn remove(&mut self, guid: &str) -> Option<(JobIndex, Job)> {
        let index = *self.by_guid.get(guid)?;
        let job = self.jobs.remove(index);
        fn shift(removed: JobIndex, at: &mut JobIndex) {
            if *at > removed {
                *at -= 1;
            }
        }
        self.by_guid.retain(|_, at| *at != index);
        self.by_guid.values_mut().for_each(|at| shift(index, at));
        self.by_key.retain(|_, at| *at != index);
        self.by_key.values_mut().for_each(|at| shift(index, at));
        self.by_upload.retain(|_, at| *at != index);
        self.by_upload.values_mut().for_each(|at| shift(index, at));
        Some((index, job))
    }

    /// The job of this machine's upload `upload_id`.
    pub fn by_upload(&self, upload_id: i64) -> Option<&Job> {
        self.by_upload
            .get(&upload_id)
            .and_then(|&i| self.jobs.get(i))
    }

    /// The live transfer of upload `upload_id`, to apply what the uploader reports.
    pub fn transfer_mut(&mut self, upload_id: i64) -> Option<&mut Transfer> {
        let index = *self.by_upload.get(&upload_id)?;
        Some(&mut self.jobs.get_mut(index)?.upload.as_mut()?.transfer)
    }

    /// Adds or refreshes a local upload, joining it to the workflow of its key if one is known. An
    /// upload already known keeps its live transfer: only the journal's facts change.
    pub fn apply_upload(&mut self, mut local: LocalUpload) -> JobIndex {
        let index = match self.by_upload.get(&local.upload_id) {
            Some(&i) => i,
            None => {
                let joinable = self.by_key.get(&local.key).copied().filter(|&i| {
                    self.jobs[i].upload.is_none() && self.bucket_fits(i, &local.bucket)
                });
                match joinable {
                    Some(i) => i,
                    None => self.push(Job {
                        guid: None,
                        status: JobStatus::Uploading,
                        upload: None,
                        record: None,
                        first_heard: None,
                        item_read: false,
                    }),
                }
            }
        };
        self.by_upload.insert(local.upload_id, index);
        self.by_key.insert(local.key.clone(), index);
        let job = &mut self.jobs[index];
        if job.record.is_none() {
            job.status = if local.state == UploadState::Completed {
                JobStatus::Uploaded
            } else {
                JobStatus::Uploading
            };
        }
        if let Some(known) = job.upload.take() {
            local.transfer = known.transfer;
        }
        job.upload = Some(local);
        index
    }

    fn bucket_fits(&self, index: JobIndex, bucket: &str) -> bool {
        self.jobs[index]
            .record
            .as_ref()
            .and_then(|r| r.src_bucket.as_deref())
            .is_none_or(|b| b == bucket)
    }

    fn push(&mut self, job: Job) -> JobIndex {
        self.jobs.push(job);
        self.jobs.len() - 1
    }

    /// Applies a record read from a message or an item, heard at `at`.
    pub fn apply_record(
        &mut self,
        record: JobRecord,
        origin: RecordOrigin,
        at: SystemTime,
    ) -> (Applied, JobIndex) {
        // Deliveries are at least once (§4): the monitor drops a repeated (guid, kind); here a repeat
        // merges into no change (Duplicate), and an earlier state never overwrites a later one.
        let existing = self.by_guid.get(&record.guid).copied().or_else(|| {
            // A workflow of a key this machine uploaded, not yet joined (§1: srcVideo is the key).
            let key = record.src_video.as_deref()?;
            let i = *self.by_key.get(key)?;
            let job = &self.jobs[i];
            let bucket_ok = match (&record.src_bucket, &job.upload) {
                (Some(bucket), Some(upload)) => bucket == &upload.bucket,
                _ => true,
            };
            (job.guid.is_none() && bucket_ok).then_some(i)
        });
        let new_status = JobStatus::of_record(&record);
        let index = match existing {
            Some(i) => i,
            None => {
                let index = self.push(Job {
                    guid: Some(record.guid.clone()),
                    status: new_status,
                    upload: None,
                    record: None,
                    first_heard: Some(at),
                    item_read: false,
                });
                self.by_guid.insert(record.guid.clone(), index);
                if let Some(key) = &record.src_video {
                    self.by_key.entry(key.clone()).or_insert(index);
                }
                let job = &mut self.jobs[index];
                job.item_read = origin == RecordOrigin::Item;
                job.record = Some(record);
                return (Applied::New, index);
            }
        };
        self.by_guid.insert(record.guid.clone(), index);
        if let Some(key) = &record.src_video {
            self.by_key.entry(key.clone()).or_insert(index);
        }
        let job = &mut self.jobs[index];
        job.guid = Some(record.guid.clone());
        job.first_heard.get_or_insert(at);
        job.item_read |= origin == RecordOrigin::Item;
        let before = job.clone();
        // Status only moves forward: Ingest < Encoding < Complete < Error (an item can go Complete
        // → Error, never back, §5), so a late or duplicated earlier state never wins.
        let upgrade = new_status >= job.status || job.record.is_none();
        match job.record.as_mut() {
            Some(current) if !upgrade => fill_missing(current, &record),
            Some(current) => {
                let mut merged = record;
                fill_missing(&mut merged, current);
                *current = merged;
            }
            None => job.record = Some(record),
        }
        if upgrade {
            job.status = new_status.max(job.status);
        }
        let outcome = if !upgrade {
            Applied::Stale
        } else if *job != before {
            Applied::Updated
        } else {
            Applied::Duplicate
        };
        (outcome, index)
    }

    /// The warning for a job at `now`, if it needs one.
    pub fn warning(
        &self,
        index: JobIndex,
        now: SystemTime,
        facts: &StackFacts,
        thresholds: &Thresholds,
    ) -> Option<JobWarning> {
        let job = self.jobs.get(index)?;
        match job.status {
            JobStatus::Uploaded => warnings::no_workflow_warning(job, now, facts, thresholds),
            JobStatus::Ingest | JobStatus::Encoding => {
                warnings::stalled_warning(job, now, facts, thresholds)
            }
            _ => None,
        }
    }
}

/// Copies into `target` the fields it lacks and `source` has (an Ingest message knows srcVideo, a
/// Complete message has no srcMediainfo, an Error message has neither).
fn fill_missing(target: &mut JobRecord, source: &JobRecord) {
    macro_rules! fill {
        ($($field:ident),*) => {$(
            if target.$field.is_none() {
                target.$field = source.$field.clone();
            }
        )*};
    }
    fill!(
        start_time,
        end_time,
        workflow_trigger,
        workflow_name,
        src_bucket,
        dest_bucket,
        cloud_front,
        src_video,
        src_metadata_file,
        frame_capture,
        enable_media_package,
        src_width,
        src_height,
        encoding_profile,
        job_template,
        is_custom_template,
        encode_job_id,
        media_info,
        archive_source
    );
    // A projected read has none of the metadata file's fields; keep those a whole read gave.
    if target.metadata.is_empty() {
        target.metadata = source.metadata.clone();
        target.metadata_left_out = source.metadata_left_out;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::aws::upload::journal::{FileIdentity, UploadRecord, UploadTarget};
    use crate::contract::decode_document;

    const INGEST: &str = include_str!("../../tests/fixtures/vod-examples/sns-ingest.json");
    const ERROR: &str = include_str!("../../tests/fixtures/vod-examples/sns-error.json");
    const COMPLETE: &str = include_str!("../../tests/fixtures/vod-examples/sns-complete.json");

    fn record(text: &str) -> JobRecord {
        decode_document(text.as_bytes()).unwrap().record.unwrap()
    }

    fn upload(id: i64, bucket: &str, key: &str, completed_at: Option<i64>) -> UploadRecord {
        UploadRecord {
            id,
            file_path: PathBuf::from("/videos/clip.mp4"),
            original_name: "clip.mp4".into(),
            file: FileIdentity {
                size: 1,
                modified_ns: 0,
                fingerprint: "00".into(),
                device: 0,
                inode: 0,
            },
            target: UploadTarget {
                endpoint_url: None,
                region: "us-east-1".into(),
                profile: None,
                bucket: bucket.into(),
                key: key.into(),
                part_size: 1,
                part_count: 1,
                multipart: false,
                metadata_document: None,
            },
            upload_id: None,
            state: if completed_at.is_some() {
                UploadState::Completed
            } else {
                UploadState::Active
            },
            error: None,
            created_at: 0,
            updated_at: 0,
            completed_at,
            commit: None,
        }
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn an_upload_joins_its_ingest_then_its_error() {
        let ingest = record(INGEST);
        let key = ingest.src_video.clone().unwrap();
        let mut book = JobBook::new();
        let i = book.apply_upload(LocalUpload::from(&upload(7, "src", &key, None)));
        assert_eq!(book.jobs()[i].status, JobStatus::Uploading);
        assert_eq!(
            book.apply_upload(LocalUpload::from(&upload(7, "src", &key, Some(100)))),
            i
        );
        assert_eq!(book.jobs()[i].status, JobStatus::Uploaded);

        let (applied, j) = book.apply_record(ingest.clone(), RecordOrigin::Message, at(110));
        assert_eq!((applied, j), (Applied::Updated, i));
        let job = &book.jobs()[i];
        assert_eq!(job.status, JobStatus::Ingest);
        assert_eq!(job.guid.as_deref(), Some(ingest.guid.as_str()));
        assert_eq!(job.upload.as_ref().unwrap().upload_id, 7);

        // An Error carries only the guid; the job still knows its file.
        let mut error = record(ERROR);
        error.guid = ingest.guid.clone();
        assert_eq!(error.src_video, None);
        let (applied, j) = book.apply_record(error, RecordOrigin::Message, at(120));
        assert_eq!((applied, j), (Applied::Updated, i));
        assert_eq!(book.jobs()[i].status, JobStatus::Error);
        assert_eq!(book.jobs()[i].file(), Some(key.as_str()));
        assert_eq!(book.jobs().len(), 1);
    }

    #[test]
    fn duplicates_and_late_ingests_change_nothing() {
        let complete = record(COMPLETE);
        let mut ingest = record(INGEST);
        ingest.guid = complete.guid.clone();
        let mut book = JobBook::new();
        let (applied, i) = book.apply_record(ingest.clone(), RecordOrigin::Message, at(1));
        assert_eq!(applied, Applied::New);
        assert_eq!(
            book.apply_record(ingest.clone(), RecordOrigin::Message, at(2))
                .0,
            Applied::Duplicate
        );
        assert_eq!(
            book.apply_record(complete.clone(), RecordOrigin::Message, at(3))
                .0,
            Applied::Updated
        );
        assert_eq!(book.jobs()[i].status, JobStatus::Complete);
        // A late Ingest read from an item (not de-duplicated) must not downgrade Complete.
        assert_eq!(
            book.apply_record(ingest, RecordOrigin::Item, at(4)).0,
            Applied::Stale
        );
        assert_eq!(book.jobs()[i].status, JobStatus::Complete);
        assert_eq!(
            book.jobs()[i].record.as_ref().unwrap().hls_url(),
            complete.hls_url()
        );
        assert_eq!(book.jobs().len(), 1);
    }

    #[test]
    fn an_encode_job_id_means_encoding() {
        let mut ingest = record(INGEST);
        ingest.encode_job_id = Some("1760433132004-k3x9qe".into());
        assert_eq!(JobStatus::of_record(&ingest), JobStatus::Encoding);
        assert_eq!(JobStatus::parse(" Encoding "), Some(JobStatus::Encoding));
        assert_eq!(JobStatus::parse("done"), None);
    }

    #[test]
    fn no_workflow_warning_names_the_cause() {
        let facts = StackFacts {
            source_bucket: "src".into(),
            solution_version: Some("v6.1.13".into()),
            stack_name: Some("vod".into()),
            ..StackFacts::default()
        };
        let t = Thresholds::default();
        let mut book = JobBook::new();
        let wrong_bucket = book.apply_upload(LocalUpload::from(&upload(
            1,
            "other",
            "a/clip.mp4",
            Some(1000),
        )));
        let mixed_case = book.apply_upload(LocalUpload::from(&upload(
            2,
            "src",
            "a/clip.Mp4",
            Some(1000),
        )));
        let fine = book.apply_upload(LocalUpload::from(&upload(
            3,
            "src",
            "a/clip2.mp4",
            Some(1000),
        )));
        assert_eq!(book.warning(fine, at(1100), &facts, &t), None, "too early");
        let w = book.warning(wrong_bucket, at(1200), &facts, &t).unwrap();
        assert_eq!(w.kind, WarningKind::NoWorkflowStarted);
        assert!(w.message.contains("bucket \"other\""), "{}", w.message);
        let w = book.warning(mixed_case, at(1200), &facts, &t).unwrap();
        assert!(
            w.message.contains("mixes upper and lower case"),
            "{}",
            w.message
        );
        let w = book.warning(fine, at(1200), &facts, &t).unwrap();
        assert!(w.message.contains("vod-step-functions"), "{}", w.message);
    }

    #[test]
    fn long_encodings_and_stuck_ingests_are_stalled() {
        let facts = StackFacts::default();
        let t = Thresholds::default();
        let mut item = record(INGEST);
        item.start_time = Some("1970-01-01T00:00:00.000Z".into());
        let mut book = JobBook::new();
        let (_, i) = book.apply_record(item.clone(), RecordOrigin::Item, at(0));
        assert_eq!(book.warning(i, at(60), &facts, &t), None);
        let w = book.warning(i, at(200), &facts, &t).unwrap();
        assert_eq!(w.kind, WarningKind::Stalled);
        assert!(w.message.contains("no encoding job"), "{}", w.message);

        item.encode_job_id = Some("1760433132004-k3x9qe".into());
        book.apply_record(item, RecordOrigin::Item, at(300));
        assert_eq!(book.jobs()[i].status, JobStatus::Encoding);
        assert_eq!(book.warning(i, at(600), &facts, &t), None);
        let w = book.warning(i, at(3600), &facts, &t).unwrap();
        assert!(
            w.message.contains("MediaConvert job 1760433132004-k3x9qe"),
            "{}",
            w.message
        );
    }
}
