//! Operations on one job that change the deployment, each a typed command: run a workflow again
//! (`retry`: the solution's own trigger, fired once more for the same source), delete a job's outputs,
//! item and optionally its source (`delete`: planned, shown, then executed), and the jobs written out
//! as CSV or JSON lines (`export`, pure). This module owns what they share: the error type, the guid
//! check and the check that a record belongs to the stack at hand.

use uuid::Uuid;

use crate::aws::catalogue::{Catalogue, CatalogueError};
use crate::aws::discovery::VodResources;
use crate::aws::sdk_error::Failure;
use crate::aws::upload::naming::NamingError;
use crate::contract::JobRecord;

pub mod delete;
pub mod export;
pub mod retry;

/// Why an operation was refused or failed. Nothing was changed unless the variant says so.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    #[error(
        "{0:?} is not a workflow guid: vodesk acts only on a whole guid such as 2d616d3f-343d-4da4-bd2a-581dd5e3b1f8 (a part of one could name other jobs' folders); copy it from `vodesk list`"
    )]
    NotAGuid(String),
    #[error(
        "no job with guid {guid} in table {table}: check the guid with `vodesk list`, and the stack (--stack)"
    )]
    NoSuchJob { guid: String, table: String },
    #[error("job {guid} is not from this stack: {reason}; connect to its own stack (--stack)")]
    OtherStack { guid: String, reason: String },
    #[error("job {guid} cannot be run again: {reason}")]
    CannotRetry { guid: String, reason: String },
    #[error(
        "the source of job {guid}, s3://{bucket}/{key}, no longer exists, so the workflow cannot run again; upload the video again instead"
    )]
    SourceGone {
        guid: String,
        bucket: String,
        key: String,
    },
    #[error("{0}")]
    Catalogue(#[from] CatalogueError),
    #[error("{0}")]
    Metadata(#[from] NamingError),
    #[error("could not {action} s3://{bucket}/{key}: {message}")]
    S3 {
        action: &'static str,
        bucket: String,
        key: String,
        message: String,
        failure: Failure,
    },
    #[error("could not {action} item {guid} of table {table}: {message}")]
    Table {
        action: &'static str,
        guid: String,
        table: String,
        message: String,
        failure: Failure,
    },
    #[error(
        "s3://{bucket}/{key} was written, or not, and vodesk cannot tell ({message}); it does not send it again, since a second write would start a second paid workflow: check `vodesk list` for a new job of this source before running again"
    )]
    Unsettled {
        bucket: String,
        key: String,
        message: String,
    },
    #[error(
        "nothing to delete for job {guid}: no item in table {table} and no outputs under {guid}/"
    )]
    NothingToDelete { guid: String, table: String },
}

impl OperationError {
    /// What kind of failure this is: a request's own, else permanent (a refusal).
    pub fn failure(&self) -> Failure {
        match self {
            OperationError::S3 { failure, .. } | OperationError::Table { failure, .. } => *failure,
            OperationError::Catalogue(err) => err.failure(),
            _ => Failure::Permanent,
        }
    }
}

/// `text` as a workflow guid: exactly the canonical lower-case hyphenated UUID the solution writes.
/// Anything else is refused, because the guid becomes a key prefix (`<guid>/`) in the destination
/// bucket: `a` or a guid cut short would match other jobs' folders.
pub fn parse_guid(text: &str) -> Result<String, OperationError> {
    let trimmed = text.trim();
    match Uuid::try_parse(trimmed) {
        Ok(uuid) if uuid.hyphenated().to_string() == trimmed => Ok(trimmed.to_owned()),
        _ => Err(OperationError::NotAGuid(trimmed.to_owned())),
    }
}

/// The whole record of `guid` (a metadata file's own fields included), or why there is none.
pub(crate) async fn whole_record(
    catalogue: &Catalogue,
    guid: &str,
) -> Result<JobRecord, OperationError> {
    let no_such_job = || OperationError::NoSuchJob {
        guid: guid.to_owned(),
        table: catalogue.table().to_owned(),
    };
    let decoded = catalogue.get_whole(guid).await?.ok_or_else(no_such_job)?;
    decoded.record.ok_or_else(no_such_job)
}

/// Refuses a record another deployment wrote (its source bucket or its workflow name differ): the
/// operation would act on that stack's objects. A sparse error item names neither and passes.
pub(crate) fn check_same_stack(
    record: &JobRecord,
    resources: &VodResources,
) -> Result<(), OperationError> {
    let other = |reason: String| OperationError::OtherStack {
        guid: record.guid.clone(),
        reason,
    };
    if let Some(bucket) = &record.src_bucket
        && *bucket != resources.source_bucket
    {
        return Err(other(format!(
            "its source bucket is {bucket}, this stack's is {}",
            resources.source_bucket
        )));
    }
    if let (Some(name), Some(stack)) = (&record.workflow_name, &resources.stack_name)
        && name != stack
    {
        return Err(other(format!(
            "it was run by stack {name}, this is {stack}"
        )));
    }
    Ok(())
}

/// `bucket/key` as CopyObject's `x-amz-copy-source` wants it: the key percent-encoded as UTF-8,
/// its slashes kept (a key may hold spaces, `+`, `?`, non-ASCII: contract §3).
pub(crate) fn copy_source(bucket: &str, key: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    format!("{bucket}/{}", utf8_percent_encode(key, KEEP))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record(value: serde_json::Value) -> JobRecord {
        let map = value.as_object().cloned().unwrap_or_default();
        JobRecord::read(&map, crate::contract::RecordOrigin::Item, "")
            .unwrap()
            .0
    }

    #[test]
    fn only_a_whole_canonical_guid_is_accepted() {
        let guid = "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8";
        assert_eq!(parse_guid(guid).unwrap(), guid);
        assert_eq!(parse_guid(&format!(" {guid}\n")).unwrap(), guid);
        for bad in [
            "",
            "a",
            "2d616d3f",
            "2d616d3f-343d-4da4-bd2a-581dd5e3b1f",
            "2D616D3F-343D-4DA4-BD2A-581DD5E3B1F8",
            "2d616d3f343d4da4bd2a581dd5e3b1f8",
            "{2d616d3f-343d-4da4-bd2a-581dd5e3b1f8}",
            "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8/",
            "../2d616d3f-343d-4da4-bd2a-581dd5e3b1f8",
        ] {
            assert!(
                matches!(parse_guid(bad), Err(OperationError::NotAGuid(_))),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn a_record_of_another_stack_is_refused() {
        let resources = VodResources::sample("vod");
        let mut record = record(serde_json::json!({
            "guid": "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8", "workflowStatus": "Complete"
        }));
        record.src_bucket = Some(resources.source_bucket.clone());
        assert!(check_same_stack(&record, &resources).is_ok());
        record.src_bucket = Some("someone-elses-bucket".into());
        assert!(matches!(
            check_same_stack(&record, &resources),
            Err(OperationError::OtherStack { .. })
        ));
    }

    #[test]
    fn the_copy_source_encodes_the_key_but_not_its_slashes() {
        assert_eq!(
            copy_source("src", "uploads/Café Opening+Night.mp4"),
            "src/uploads/Caf%C3%A9%20Opening%2BNight.mp4"
        );
    }
}
