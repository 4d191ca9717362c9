//! Run again: start the workflow once more for a job's source, the way the solution allows (contract
//! §3). On a VideoFile stack the source object is copied onto itself (`ObjectCreated:Copy` triggers;
//! the bytes stay in S3); on a MetadataFile stack its metadata file is written again, with the
//! caller's changes (another job template, other fields). Planned first ([`plan_retry`]: every read,
//! nothing written, so a confirmation can name the file), then sent once ([`execute_retry`]).
//!
//! Exactly one ObjectCreated: the write is sent with the SDK's retries off (a retried CopyObject or
//! PutObject whose first attempt landed would be a second event, a second paid workflow) and is
//! conditional where S3 allows it (the metadata file with `If-Match` on the ETag that was read, or
//! `If-None-Match: *` when it was gone; the copy with `x-amz-copy-source-if-match`, so a source that
//! changed since the plan is not copied). When the one attempt's outcome is unknown (a timeout, a
//! dropped connection), a HeadObject looks for the attempt's own token in the object's metadata:
//! found, it landed; absent, nothing was started; unreadable, [`OperationError::Unsettled`] says so.
//! Every write carries `vodesk-retry-of=<guid>` in its user metadata, the link to the job it repeats.

use std::collections::{HashMap, HashSet};

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{MetadataDirective, StorageClass};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{OperationError, check_same_stack, copy_source, whole_record};
use crate::aws::catalogue::Catalogue;
use crate::aws::discovery::VodResources;
use crate::aws::sdk_error::{self, Disposition};
use crate::aws::upload::naming::metadata_document;
use crate::contract::JobRecord;
use crate::contract::record_metadata::stored_name;
use crate::contract::stack::WorkflowTrigger;

/// User-metadata key that names the job a write repeats (read back by [`retry_of`]).
pub const RETRY_OF_METADATA: &str = "vodesk-retry-of";
/// User-metadata key of one attempt's random token: how an attempt with an unknown outcome is
/// recognised in the bucket afterwards.
pub const RETRY_TOKEN_METADATA: &str = "vodesk-retry-token";
/// CopyObject's limit; a larger object needs a multipart copy (UploadPartCopy).
pub const MAX_COPY_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// A metadata file larger than this is not a metadata file vodesk will read back.
const MAX_METADATA_BYTES: usize = 1024 * 1024;

/// The caller's changes, for a MetadataFile stack only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryOptions {
    /// `jobTemplate` of the new workflow (a MediaConvert job template name).
    pub job_template: Option<String>,
    /// Other metadata fields, `key=value`, under the rules of [`metadata_document`].
    pub metadata: Vec<(String, String)>,
}

impl RetryOptions {
    fn is_empty(&self) -> bool {
        self.job_template.is_none() && self.metadata.is_empty()
    }
}

/// How the workflow is started again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RetryWrite {
    /// CopyObject of the source onto itself (VideoFile stacks).
    CopySource,
    /// PutObject of the metadata file (MetadataFile stacks): `document` is what is written;
    /// `from_record` when the file was gone (or overwritten) and was rebuilt from the record.
    RewriteMetadata { document: Value, from_record: bool },
}

/// Everything read before the write: what will be written, where, and for which job.
#[derive(Debug, Clone, Serialize)]
pub struct RetryPlan {
    /// The job run again.
    pub guid: String,
    pub bucket: String,
    /// The source video (`srcVideo`).
    pub src_video: String,
    /// The source's size in bytes.
    pub source_size: u64,
    /// The object written: the source itself, or its metadata file.
    pub key: String,
    pub write: RetryWrite,
    /// The event the write makes.
    pub event: &'static str,
    #[serde(skip)]
    kept: KeptAttributes,
}

/// What a same-key copy with `MetadataDirective=REPLACE` must say again to keep it.
#[derive(Debug, Clone, Default)]
struct KeptAttributes {
    /// The ETag read (the source for a copy, the metadata file for a rewrite).
    etag: Option<String>,
    content_type: Option<String>,
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    storage_class: Option<StorageClass>,
    metadata: HashMap<String, String>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retried {
    pub guid: String,
    pub bucket: String,
    pub key: String,
    pub src_video: String,
    pub event: &'static str,
    /// The write's outcome was first unknown and was then found in the bucket.
    pub verified_after_error: bool,
}

/// Reads the job and its source and says what a retry will write. Refuses a job of another stack,
/// one whose source is gone or archived, changes on a VideoFile stack, and a source over 5 GiB.
pub async fn plan_retry(
    s3: &aws_sdk_s3::Client,
    catalogue: &Catalogue,
    resources: &VodResources,
    guid: &str,
    options: &RetryOptions,
) -> Result<RetryPlan, OperationError> {
    let guid = super::parse_guid(guid)?;
    let record = whole_record(catalogue, &guid).await?;
    check_same_stack(&record, resources)?;
    let cannot = |reason: &str| OperationError::CannotRetry {
        guid: guid.clone(),
        reason: reason.to_owned(),
    };
    let Some(src_video) = record.src_video.clone() else {
        return Err(cannot(
            "its record names no source video (it failed before Ingest); upload the video again",
        ));
    };
    let bucket = resources.source_bucket.clone();
    let source =
        head(s3, &bucket, &src_video)
            .await?
            .ok_or_else(|| OperationError::SourceGone {
                guid: guid.clone(),
                bucket: bucket.clone(),
                key: src_video.clone(),
            })?;
    if matches!(
        source.kept.storage_class,
        Some(StorageClass::Glacier | StorageClass::DeepArchive)
    ) {
        return Err(cannot(
            "its source was archived to Glacier after the workflow (archiveSource); restore it first",
        ));
    }
    let source_size = source.size;
    if metadata_mode(resources, &record) {
        let Some(key) = record.src_metadata_file.clone() else {
            return Err(cannot(
                "this is a MetadataFile stack and the record names no metadata file (srcMetadataFile); upload the video with a metadata file instead",
            ));
        };
        let existing = read_metadata_file(s3, &bucket, &key).await?;
        let (mut document, kept, from_record) = match existing {
            Some((document, kept))
                if document.get("srcVideo").and_then(Value::as_str) == Some(&src_video) =>
            {
                (document, kept, false)
            }
            // Gone, or overwritten for another video: the record still has what the file said.
            other => {
                let kept = other.map(|(_, kept)| kept).unwrap_or_default();
                (document_from_record(&record, &src_video)?, kept, true)
            }
        };
        apply_overrides(&mut document, &src_video, options)?;
        return Ok(RetryPlan {
            guid,
            bucket,
            src_video,
            source_size,
            key,
            write: RetryWrite::RewriteMetadata {
                document: Value::Object(document),
                from_record,
            },
            event: "ObjectCreated:Put",
            kept,
        });
    }
    if !options.is_empty() {
        return Err(cannot(
            "a job template or metadata can only be given on a MetadataFile stack (WorkflowTrigger); a VideoFile stack picks the template itself",
        ));
    }
    if source_size > MAX_COPY_BYTES {
        return Err(cannot(&format!(
            "its source is {source_size} bytes, over the 5 GiB one CopyObject can copy, and vodesk does not do multipart copies yet; upload the video again instead"
        )));
    }
    Ok(RetryPlan {
        guid,
        bucket,
        key: src_video.clone(),
        src_video,
        source_size,
        write: RetryWrite::CopySource,
        event: "ObjectCreated:Copy",
        kept: source.kept,
    })
}

/// Sends the plan's one write (see the module's doc for why exactly once).
pub async fn execute_retry(
    s3: &aws_sdk_s3::Client,
    plan: &RetryPlan,
) -> Result<Retried, OperationError> {
    let token = uuid::Uuid::new_v4().to_string();
    let mut metadata = plan.kept.metadata.clone();
    metadata.insert(RETRY_OF_METADATA.to_owned(), plan.guid.clone());
    metadata.insert(RETRY_TOKEN_METADATA.to_owned(), token.clone());
    let once = aws_sdk_s3::config::Builder::default().retry_config(RetryConfig::disabled());
    let kept = &plan.kept;
    let sent = match &plan.write {
        RetryWrite::CopySource => s3
            .copy_object()
            .bucket(&plan.bucket)
            .key(&plan.key)
            .copy_source(copy_source(&plan.bucket, &plan.key))
            .set_copy_source_if_match(kept.etag.clone())
            // S3 refuses a copy onto itself that changes nothing; REPLACE says everything again.
            .metadata_directive(MetadataDirective::Replace)
            .set_metadata(Some(metadata))
            .set_content_type(kept.content_type.clone())
            .set_cache_control(kept.cache_control.clone())
            .set_content_disposition(kept.content_disposition.clone())
            .set_content_encoding(kept.content_encoding.clone())
            .set_content_language(kept.content_language.clone())
            .set_storage_class(kept.storage_class.clone())
            .customize()
            .config_override(once)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                (
                    sdk_error::describe(&e),
                    sdk_error::disposition(&e),
                    sdk_error::failure(&e),
                )
            }),
        RetryWrite::RewriteMetadata { document, .. } => {
            let body = serde_json::to_vec(document).unwrap_or_default();
            let request = s3
                .put_object()
                .bucket(&plan.bucket)
                .key(&plan.key)
                .content_type("application/json")
                .set_metadata(Some(metadata))
                .body(ByteStream::from(body));
            // Replaces only the file that was read; when it was gone, never one written since.
            let request = match &kept.etag {
                Some(etag) => request.if_match(etag),
                None => request.if_none_match("*"),
            };
            request
                .customize()
                .config_override(once)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    (
                        sdk_error::describe(&e),
                        sdk_error::disposition(&e),
                        sdk_error::failure(&e),
                    )
                })
        }
    };
    let retried = |verified_after_error| Retried {
        guid: plan.guid.clone(),
        bucket: plan.bucket.clone(),
        key: plan.key.clone(),
        src_video: plan.src_video.clone(),
        event: plan.event,
        verified_after_error,
    };
    match sent {
        Ok(()) => Ok(retried(false)),
        Err((message, Disposition::PreconditionFailed, _)) => Err(OperationError::CannotRetry {
            guid: plan.guid.clone(),
            reason: format!(
                "s3://{}/{} changed since it was read ({message}); nothing was started: run the command again",
                plan.bucket, plan.key
            ),
        }),
        Err((message, Disposition::Transient, _)) => {
            // The one attempt may have landed: the bucket says whether it carries this token.
            match head(s3, &plan.bucket, &plan.key).await {
                Ok(Some(found))
                    if found.kept.metadata.get(RETRY_TOKEN_METADATA) == Some(&token) =>
                {
                    Ok(retried(true))
                }
                Ok(_) => Err(OperationError::CannotRetry {
                    guid: plan.guid.clone(),
                    reason: format!(
                        "the request failed ({message}) and did not reach the bucket; nothing was started: run the command again"
                    ),
                }),
                Err(err) => Err(OperationError::Unsettled {
                    bucket: plan.bucket.clone(),
                    key: plan.key.clone(),
                    message: format!("{message}; then {err}"),
                }),
            }
        }
        Err((message, _, failure)) => Err(OperationError::S3 {
            action: match plan.write {
                RetryWrite::CopySource => "copy onto itself",
                RetryWrite::RewriteMetadata { .. } => "write the metadata file",
            },
            bucket: plan.bucket.clone(),
            key: plan.key.clone(),
            message,
            failure,
        }),
    }
}

/// The guid a retry links this object to (its `vodesk-retry-of` user metadata), if any: what a
/// dashboard shows as "retry of …" for a workflow of this source.
pub async fn retry_of(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, OperationError> {
    Ok(head(s3, bucket, key)
        .await?
        .and_then(|found| found.kept.metadata.get(RETRY_OF_METADATA).cloned()))
}

/// The workflow a retry started: a job of `src_video` that started at or after `since` (ISO-8601)
/// and is none of `known` (the jobs of that source before the retry). `None` until its Ingest.
pub async fn new_job_since(
    catalogue: &Catalogue,
    src_video: &str,
    since: &str,
    known: &HashSet<String>,
) -> Result<Option<JobRecord>, OperationError> {
    let page = catalogue.started_since(since).await?;
    Ok(page.records.into_iter().find(|record| {
        record.src_video.as_deref() == Some(src_video) && !known.contains(&record.guid)
    }))
}

/// Whether the stack starts workflows from metadata files: its WorkflowTrigger, else (a stack that
/// does not say) how this record's workflow was started.
fn metadata_mode(resources: &VodResources, record: &JobRecord) -> bool {
    match resources.workflow_trigger {
        Some(trigger) => trigger == WorkflowTrigger::MetadataFile,
        None => record.workflow_trigger.as_deref() == Some("Metadata"),
    }
}

struct Head {
    size: u64,
    kept: KeptAttributes,
}

/// HeadObject: `None` for no such object.
async fn head(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<Head>, OperationError> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => Ok(Some(Head {
            size: out
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            kept: KeptAttributes {
                etag: out.e_tag().map(str::to_owned),
                content_type: out.content_type().map(str::to_owned),
                cache_control: out.cache_control().map(str::to_owned),
                content_disposition: out.content_disposition().map(str::to_owned),
                content_encoding: out.content_encoding().map(str::to_owned),
                content_language: out.content_language().map(str::to_owned),
                storage_class: out.storage_class().cloned(),
                metadata: out.metadata().cloned().unwrap_or_default(),
            },
        })),
        Err(e) if sdk_error::disposition(&e) == Disposition::NotFound => Ok(None),
        Err(e) => Err(OperationError::S3 {
            action: "read",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            message: sdk_error::describe(&e),
            failure: sdk_error::failure(&e),
        }),
    }
}

/// The metadata file as a JSON object, with its ETag and attributes; `None` when it is gone or is
/// not a JSON object (then the record rebuilds it).
async fn read_metadata_file(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(Map<String, Value>, KeptAttributes)>, OperationError> {
    let failed = |e: String, failure| OperationError::S3 {
        action: "read the metadata file",
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        message: e,
        failure,
    };
    let out = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) if sdk_error::disposition(&e) == Disposition::NotFound => return Ok(None),
        Err(e) => return Err(failed(sdk_error::describe(&e), sdk_error::failure(&e))),
    };
    let kept = KeptAttributes {
        etag: out.e_tag().map(str::to_owned),
        metadata: out.metadata().cloned().unwrap_or_default(),
        ..KeptAttributes::default()
    };
    if out
        .content_length()
        .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > MAX_METADATA_BYTES))
    {
        return Ok(Some((Map::new(), kept)));
    }
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| failed(e.to_string(), crate::aws::sdk_error::Failure::Transient))?
        .into_bytes();
    let document = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    Ok(Some((document, kept)))
}

/// The metadata file as the record remembers it: `srcVideo`, the file's own fields (the record
/// keeps them in name order) and the job template when it came from the file. Refused when the
/// record kept them cut short (then the rebuilt file would say something else).
fn document_from_record(
    record: &JobRecord,
    src_video: &str,
) -> Result<Map<String, Value>, OperationError> {
    if record.metadata_left_out > 0 || record.metadata.iter().any(|f| f.value.ends_with('…')) {
        return Err(OperationError::CannotRetry {
            guid: record.guid.clone(),
            reason: "its metadata file is gone and the record keeps its fields only cut short; upload a metadata file for the video instead".to_owned(),
        });
    }
    let mut pairs: Vec<(String, String)> = record
        .metadata
        .iter()
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect();
    if record.is_custom_template == Some(true)
        && let Some(template) = &record.job_template
    {
        pairs.push(("jobTemplate".to_owned(), template.clone()));
    }
    let document = metadata_document(src_video, &pairs)?;
    Ok(document.as_object().cloned().unwrap_or_default())
}

/// Puts the caller's changes into `document`, each checked by [`metadata_document`]'s rules; a
/// change replaces every key the solution would store under the same name (`JobTemplate` and
/// `jobTemplate` are one field).
fn apply_overrides(
    document: &mut Map<String, Value>,
    src_video: &str,
    options: &RetryOptions,
) -> Result<(), OperationError> {
    let mut pairs = options.metadata.clone();
    if let Some(template) = &options.job_template {
        pairs.push(("jobTemplate".to_owned(), template.clone()));
    }
    let checked = metadata_document(src_video, &pairs)?;
    for (key, value) in checked.as_object().into_iter().flatten() {
        if key == "srcVideo" {
            continue;
        }
        let field = stored_name(key);
        document.retain(|existing, _| stored_name(existing) != field);
        document.insert(key.clone(), value.clone());
    }
    document.insert("srcVideo".to_owned(), Value::String(src_video.to_owned()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::operations::tests::record;
    use serde_json::json;

    #[test]
    fn a_job_template_override_replaces_every_spelling_of_the_field() {
        let mut document = json!({"srcVideo": "a.mp4", "JobTemplate": "old", "title": "T"})
            .as_object()
            .cloned()
            .unwrap();
        let options = RetryOptions {
            job_template: Some("new-template".into()),
            metadata: vec![("frameCapture".into(), "true".into())],
        };
        apply_overrides(&mut document, "a.mp4", &options).unwrap();
        assert_eq!(
            Value::Object(document),
            json!({"srcVideo": "a.mp4", "jobTemplate": "new-template", "title": "T", "frameCapture": true})
        );
    }

    #[test]
    fn overrides_follow_the_metadata_files_rules() {
        let mut document = Map::new();
        let bad = RetryOptions {
            job_template: None,
            metadata: vec![("workflowStatus".into(), "Complete".into())],
        };
        assert!(matches!(
            apply_overrides(&mut document, "a.mp4", &bad),
            Err(OperationError::Metadata(_))
        ));
    }

    #[test]
    fn a_gone_metadata_file_is_rebuilt_from_the_record() {
        let r = record(json!({
            "guid": "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8", "workflowStatus": "Complete",
            "workflowTrigger": "Metadata", "srcVideo": "a.mp4", "srcMetadataFile": "a.json",
            "jobTemplate": "custom", "isCustomTemplate": true, "title": "Launch", "frameCapture": true
        }));
        let document = document_from_record(&r, "a.mp4").unwrap();
        assert_eq!(
            Value::Object(document),
            json!({"srcVideo": "a.mp4", "title": "Launch", "jobTemplate": "custom"})
        );
    }

    #[test]
    fn the_stacks_trigger_decides_the_mode_and_else_the_records() {
        let mut resources = VodResources::sample("vod");
        let r = record(json!({
            "guid": "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8", "workflowStatus": "Complete",
            "workflowTrigger": "Metadata"
        }));
        resources.workflow_trigger = Some(WorkflowTrigger::VideoFile);
        assert!(!metadata_mode(&resources, &r));
        resources.workflow_trigger = None;
        assert!(metadata_mode(&resources, &r));
    }
}
