//! The two warnings users of the solution need, because the solution itself sends nothing then
//! (contract §1): "no workflow started" after an upload that no Ingest followed, and "stalled" for a
//! workflow far past the time its video should take. Each says why and where to look.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{Job, JobStatus, StackFacts};
use crate::contract::triggers::{TriggerVerdict, video_trigger};
use crate::time::human_duration;

/// A warning about one job, with its explanation (complete sentences).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobWarning {
    pub kind: WarningKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    NoWorkflowStarted,
    Stalled,
}

/// How long silence is normal before a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// After an upload completed, before "no workflow started".
    pub no_workflow_after: Duration,
    /// An item in Ingest without an encode job this long after its start is stuck (§1: a minute).
    pub ingest_stuck_after: Duration,
    /// Encoding takes at most this many times the video's duration…
    pub encoding_factor: u32,
    /// …but never less than this before "stalled".
    pub encoding_floor: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            no_workflow_after: Duration::from_secs(180),
            ingest_stuck_after: Duration::from_secs(120),
            encoding_factor: 4,
            encoding_floor: Duration::from_secs(20 * 60),
        }
    }
}

fn elapsed(since: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(since).unwrap_or(Duration::ZERO)
}

pub(super) fn no_workflow_warning(
    job: &Job,
    now: SystemTime,
    facts: &StackFacts,
    thresholds: &Thresholds,
) -> Option<JobWarning> {
    let upload = job.upload.as_ref()?;
    let completed = UNIX_EPOCH + Duration::from_secs(u64::try_from(upload.completed_at?).ok()?);
    let waited = elapsed(completed, now);
    if waited < thresholds.no_workflow_after {
        return None;
    }
    let waited = human_duration(waited);
    let reason = if !facts.source_bucket.is_empty() && upload.bucket != facts.source_bucket {
        format!(
            "It went to bucket \"{}\", but this stack's source bucket is \"{}\": only uploads there start workflows.",
            upload.bucket, facts.source_bucket
        )
    } else if upload.with_metadata_file {
        "Its metadata file was uploaded too; check that the stack's WorkflowTrigger is MetadataFile and that the file's \"srcVideo\" names this key.".to_owned()
    } else {
        match video_trigger(
            &upload.key,
            facts.workflow_trigger,
            facts.solution_version.as_deref(),
        ) {
            TriggerVerdict::WillNotStart { reason } => reason,
            TriggerVerdict::Starts => {
                let lambda = facts
                    .stack_name
                    .as_deref()
                    .map_or("the stack's step-functions Lambda".to_owned(), |s| {
                        format!("the Lambda {s}-step-functions")
                    });
                if facts.enable_sns == Some(false) {
                    format!(
                        "This stack publishes only errors (EnableSns=No), so Ingest is seen only by reading the table; if the table has no item for it either, check the CloudWatch logs of {lambda}."
                    )
                } else {
                    format!(
                        "The key should start a workflow; check the CloudWatch logs of {lambda} and the bucket's event notifications."
                    )
                }
            }
        }
    };
    Some(JobWarning {
        kind: WarningKind::NoWorkflowStarted,
        message: format!(
            "No workflow started: \"{}\" finished uploading {waited} ago and no Ingest has been reported. {reason}",
            upload.key
        ),
    })
}

pub(super) fn stalled_warning(
    job: &Job,
    now: SystemTime,
    facts: &StackFacts,
    thresholds: &Thresholds,
) -> Option<JobWarning> {
    let record = job.record.as_ref()?;
    let running = elapsed(job.started()?, now);
    let stack = facts.stack_name.as_deref().unwrap_or("<stack>");
    // §1: an item in Ingest without an encode job a minute after its Ingest is stuck.
    if job.status == JobStatus::Ingest && job.item_read && running >= thresholds.ingest_stuck_after
    {
        return Some(JobWarning {
            kind: WarningKind::Stalled,
            message: format!(
                "Stalled: in Ingest for {} and no encoding job was submitted. The solution sends no message when a Lambda times out or a Step Functions state fails (e.g. a metadata override with a non-boolean frameCapture); check the executions of the state machine {stack}-process.",
                human_duration(running)
            ),
        });
    }
    let expected = record
        .duration_seconds()
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(|d| Duration::from_secs_f64(d.min(1e7)) * thresholds.encoding_factor)
        .unwrap_or(Duration::ZERO)
        .max(thresholds.encoding_floor);
    if running < expected {
        return None;
    }
    let job_hint = record.encode_job_id.as_deref().map_or_else(
        || "the MediaConvert console".to_owned(),
        |id| format!("MediaConvert job {id}"),
    );
    Some(JobWarning {
        kind: WarningKind::Stalled,
        message: format!(
            "Stalled: {} for {}, far longer than {} normally takes. A CANCELED MediaConvert job, a Lambda timeout or a Step Functions failure sends no message; check {job_hint} and the executions of {stack}-process and {stack}-publish.",
            job.status,
            human_duration(running),
            match record.duration_seconds() {
                Some(d) if d > 0.0 => format!(
                    "a {} video",
                    human_duration(Duration::from_secs_f64(d.min(1e7)))
                ),
                _ => "a workflow".to_owned(),
            }
        ),
    })
}
