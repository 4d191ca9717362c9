//! One workflow, in the solution's order (see the module above). [`run_workflow`] runs the ingest
//! and process state machines at once: step-functions, input-validate, mediainfo, the Ingest item and
//! message, profiler, the encode request and the item update that records `encodeJobId`; then the job
//! waits in the local MediaConvert's queue for an encode slot ([`super::job`]), and the publish state
//! machine follows it: output-validate, the Complete item, queue message and notification. Where it
//! stops is a [`Failure`], which [`run_workflow`] hands to the error handler.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::job::{self, Encoded};
use super::services::{
    download, error_handler, get_object_bytes, list_keys, publish, tag_for_archive, update_record,
};
use super::simulate::{self, SimulatedFault};
use super::{PipelineEvent, Shared};
use crate::aws::sdk_error;
use crate::local_stack::inputs;
use crate::local_stack::media_package::{AssetInput, RenditionFile};
use crate::local_stack::workflow::{self, ErrorReport, LambdaFailure, OutputGroups, Record};
use crate::time::format_iso8601;

pub(super) fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn now_iso() -> String {
    format_iso8601(SystemTime::now())
}

/// Where a workflow stopped: a Lambda or the encode (the error handler runs; its UpdateItem creates
/// the sparse item when the workflow failed before its Ingest write), or silently (a Choice state no
/// branch matched, a job that never ends or is canceled: nothing else happens, as on AWS; the text
/// is for the local stack's log).
pub(super) enum Failure {
    Lambda(LambdaFailure),
    Encoding { job_id: String, event: Value },
    Silent(String),
}

/// A job MediaConvert has accepted: what its encode and the publish steps need.
pub(super) struct Submitted {
    pub record: Record,
    /// Holds the source's local copy and the job's outputs; removed when the workflow ends.
    pub scratch: tempfile::TempDir,
    pub source_path: PathBuf,
    pub source_bucket: String,
    pub src_video: String,
    /// The metadata file's keys in its order (empty for a video upload): the record's key order.
    pub metadata_keys: Vec<String>,
    /// What the job's template writes.
    pub groups: OutputGroups,
    pub profile: u32,
    pub job_id: String,
    pub has_audio: bool,
    pub duration_seconds: Option<f64>,
}

pub(super) async fn run_workflow(
    shared: Arc<Shared>,
    guid: String,
    bucket: String,
    raw_key: String,
) {
    let started = Instant::now();
    let outcome = match ingest_and_submit(&shared, &guid, &bucket, &raw_key).await {
        Ok(submitted) => {
            let fault = simulate::fault_for(&shared.options.simulate, &submitted.src_video);
            if fault == Some(SimulatedFault::Stall) {
                Err(Failure::Silent(format!(
                    "job {} was submitted and never ends (--simulate stall): no Complete, no Error",
                    submitted.job_id
                )))
            } else {
                // MediaConvert's queue: only the encode waits for a slot; the item already holds
                // `encodeJobId`, as it does on AWS while a job waits.
                let Ok(slot) = shared.slots.acquire().await else {
                    return;
                };
                let context = &shared.targets.context;
                let encoded = match fault {
                    Some(SimulatedFault::Canceled) => Err(Failure::Silent(format!(
                        "job {} was CANCELED (--simulate canceled); the solution's rules match only COMPLETE and ERROR, so no message follows",
                        submitted.job_id
                    ))),
                    Some(SimulatedFault::EncodeError) => Err(job::simulated_encode_error(
                        context,
                        &guid,
                        &submitted.job_id,
                    )),
                    _ => job::encode(&shared, &guid, &submitted).await,
                };
                drop(slot);
                match encoded {
                    Ok(encoded) => publish_steps(&shared, &guid, submitted, encoded).await,
                    Err(failure) => Err(failure),
                }
            }
        }
        Err(failure) => Err(failure),
    };
    match outcome {
        Ok(hls_url) => shared.report(PipelineEvent::Complete {
            guid,
            hls_url,
            seconds: started.elapsed().as_secs_f64(),
        }),
        Err(Failure::Silent(message)) => shared.report(PipelineEvent::Stalled { guid, message }),
        Err(failure) => {
            let context = &shared.targets.context;
            let report = match &failure {
                Failure::Lambda(lambda) => ErrorReport::lambda(context, &guid, lambda),
                Failure::Encoding { job_id, event } => {
                    ErrorReport::encoding(context, &guid, job_id, event)
                }
                Failure::Silent(_) => return,
            };
            let message = match error_handler(&shared, &report).await {
                Ok(()) => report.message_error_message.clone(),
                Err(e) => format!(
                    "{} (and the error handler failed: {e})",
                    report.message_error_message
                ),
            };
            shared.report(PipelineEvent::Error {
                guid,
                at: report.workflow_error_at,
                message,
            });
        }
    }
}

/// The ingest state machine, then the process one up to `DynamoDB Update (Process)`: none of it waits
/// for an encode slot.
async fn ingest_and_submit(
    shared: &Shared,
    guid: &str,
    bucket: &str,
    raw_key: &str,
) -> Result<Submitted, Failure> {
    let context = &shared.targets.context;
    let clients = &shared.clients;
    // step-functions
    let key = workflow::decode_event_key(raw_key).map_err(Failure::Lambda)?;
    let trigger = workflow::workflow_trigger_for_key(&key);
    // input-validate
    let mut record = workflow::input_validate(context, guid, &now_iso(), trigger);
    let mut metadata_keys = Vec::new();
    if trigger == "Metadata" {
        let body = get_object_bytes(clients, bucket, &key)
            .await
            .map_err(|m| Failure::Lambda(LambdaFailure::new("input-validate", m)))?;
        workflow::apply_metadata(context, &mut record, &key, &body).map_err(Failure::Lambda)?;
        metadata_keys = workflow::metadata_key_order(&body);
    } else {
        workflow::apply_video_key(context, &mut record, &key);
    }
    // `--custom-template`: every upload selects the custom template, as a metadata file's
    // `jobTemplate` does on AWS (the only way a job writes DASH or MP4 there); one a metadata file
    // names itself wins. The profiler then keeps it and sets `isCustomTemplate`.
    if !record.contains_key("jobTemplate")
        && let Some(template) = shared
            .options
            .groups
            .custom_template_name(&context.stack_name)
    {
        record.insert("jobTemplate".into(), Value::String(template));
    }
    let source_bucket = text(&record, "srcBucket").unwrap_or(bucket).to_owned();
    let src_video = text(&record, "srcVideo").unwrap_or_default().to_owned();
    if trigger == "Metadata" {
        clients
            .s3
            .head_object()
            .bucket(&source_bucket)
            .key(&src_video)
            .send()
            .await
            .map_err(|e| {
                let message = if e.as_service_error().is_some_and(|s| s.is_not_found()) {
                    "NotFound: UnknownError".to_owned()
                } else {
                    sdk_error::describe(&e)
                };
                Failure::Lambda(LambdaFailure::new("input-validate", message))
            })?;
    }
    // mediainfo: a local copy of the source, probed
    let scratch = tempfile::Builder::new()
        .prefix("vodesk-job-")
        .tempdir()
        .map_err(|e| Failure::Lambda(LambdaFailure::new("mediainfo", format!("[Errno 28] {e}"))))?;
    let extension = Path::new(&src_video)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let source_path = scratch.path().join(format!("source{extension}"));
    download(clients, &source_bucket, &src_video, &source_path)
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("mediainfo", m)))?;
    // A playlist or manifest is refused before any tool reads it: its entries could name any host or
    // any file on this machine (see `inputs`).
    let head = inputs::read_head(&source_path)
        .await
        .map_err(|e| Failure::Lambda(LambdaFailure::new("mediainfo", format!("[Errno 5] {e}"))))?;
    if let Some(reason) = inputs::refusal(&src_video, &head) {
        return Err(Failure::Lambda(LambdaFailure::new("mediainfo", reason)));
    }
    let info = shared
        .prober
        .probe(&source_path, &src_video)
        .await
        .map_err(|e| Failure::Lambda(LambdaFailure::new("mediainfo", e.lambda_message())))?;
    record.insert("srcMediainfo".into(), Value::String(info.text.clone()));
    // DynamoDB Update (Ingest), then the Ingest message (SNS Choice: BooleanEquals true)
    update_record(shared, &record, &metadata_keys)
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("dynamo", m)))?;
    if workflow::boolean_is_true(&record, "enableSns") {
        publish(
            shared,
            &workflow::status_subject("Ingest", guid),
            workflow::message_text(&workflow::ingest_message(&record)),
        )
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("sns-notification", m)))?;
    }
    // profiler, the process state machine's Choices, encode, DynamoDB Update (Process)
    let profile = workflow::profile(&mut record).map_err(Failure::Lambda)?;
    workflow::process_choices(&record).map_err(|stall| Failure::Silent(stall.to_string()))?;
    let template = text(&record, "jobTemplate").unwrap_or_default();
    let groups = OutputGroups::of_template(context, template).ok_or_else(|| {
        Failure::Lambda(LambdaFailure::new(
            "encode",
            workflow::template_not_found(context, template),
        ))
    })?;
    let job_id = workflow::new_job_id(epoch_ms());
    record.insert(
        "encodingJob".into(),
        workflow::encoding_job(context, &record, profile, groups),
    );
    record.insert("encodeJobId".into(), Value::String(job_id.clone()));
    update_record(shared, &record, &metadata_keys)
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("dynamo", m)))?;
    shared.report(PipelineEvent::Encoding {
        guid: guid.to_owned(),
        profile,
        job_id: job_id.clone(),
    });
    Ok(Submitted {
        record,
        scratch,
        source_path,
        source_bucket,
        src_video,
        metadata_keys,
        groups,
        profile,
        job_id,
        has_audio: info.has_audio(),
        duration_seconds: info.duration_seconds(),
    })
}

/// The publish state machine, started by the job's COMPLETE event: output-validate, then the
/// Complete item, the stack queue's record and the Complete message.
async fn publish_steps(
    shared: &Shared,
    guid: &str,
    submitted: Submitted,
    encoded: Encoded,
) -> Result<Option<String>, Failure> {
    let context = &shared.targets.context;
    let clients = &shared.clients;
    let Submitted {
        mut record,
        metadata_keys,
        scratch,
        profile,
        ..
    } = submitted;
    // output-validate
    let thumbnails = if encoded.frame_capture {
        list_keys(
            clients,
            &encoded.destination,
            &format!("{guid}/thumbnails/"),
        )
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("output-validate", m)))?
    } else {
        Vec::new()
    };
    workflow::output_validate(context, &mut record, encoded.event, &now_iso(), &thumbnails)
        .map_err(Failure::Lambda)?;
    // Archive Source Choice (StringEquals GLACIER or DEEP_ARCHIVE, else on): archive-source tags
    // the source object, and the bucket's lifecycle rules move it on AWS.
    if let Some(class) =
        text(&record, "archiveSource").filter(|c| ["GLACIER", "DEEP_ARCHIVE"].contains(c))
    {
        let bucket = text(&record, "srcBucket").unwrap_or(&context.source_bucket);
        let key = text(&record, "srcVideo").unwrap_or_default();
        tag_for_archive(clients, bucket, key, guid, &context.stack_name, class)
            .await
            .map_err(|m| Failure::Lambda(LambdaFailure::new("archive-source", m)))?;
    }
    // MediaPackage Choice (BooleanEquals true): media-package-assets makes an asset of the job's
    // HLS outputs; its egress endpoints are on the CloudFront domain.
    if workflow::boolean_is_true(&record, "enableMediaPackage")
        && let Some(group) = &shared.targets.media_package
    {
        let renditions =
            RenditionFile::from_ladder(&job::work_dir(&scratch), workflow::hls_ladder(profile));
        // media-package-assets puts the egress URLs on the record's cloudFront.
        let cloudfront = text(&record, "cloudFront").unwrap_or(&context.cloudfront_domain);
        let input = AssetInput::local(guid, renditions, cloudfront);
        let asset = group.create_asset(clients, input).await.map_err(|e| {
            Failure::Lambda(LambdaFailure::new(
                "media-package-assets",
                format!("Error: {e}"),
            ))
        })?;
        record.insert(
            "mediaPackageResourceId".into(),
            Value::String(asset.resource_id),
        );
        let endpoints: serde_json::Map<String, Value> = asset
            .egress_endpoints
            .into_iter()
            .map(|(kind, url)| (kind, Value::String(url)))
            .collect();
        record.insert("egressEndpoints".into(), Value::Object(endpoints));
    }
    // DynamoDB Update (Publish), SQS, SNS (their Choices: BooleanEquals true)
    update_record(shared, &record, &metadata_keys)
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("dynamo", m)))?;
    if workflow::boolean_is_true(&record, "enableSqs")
        && let Some(queue) = &shared.targets.stack_queue_url
    {
        let body = Value::Object(record.clone());
        clients
            .sqs
            .send_message()
            .queue_url(queue)
            .message_body(workflow::message_text_for(&body, &record, &metadata_keys))
            .send()
            .await
            .map_err(|e| {
                Failure::Lambda(LambdaFailure::new("sqs-publish", sdk_error::describe(&e)))
            })?;
    }
    if workflow::boolean_is_true(&record, "enableSns") {
        let message = workflow::complete_message(&record);
        publish(
            shared,
            &workflow::status_subject("Complete", guid),
            workflow::message_text_for(&message, &record, &metadata_keys),
        )
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("sns-notification", m)))?;
    }
    Ok(text(&record, "hlsUrl").map(str::to_owned))
}

/// EventBridge times have whole seconds.
pub(super) fn event_time() -> String {
    let iso = now_iso();
    match iso.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => iso,
    }
}

pub(super) fn text<'a>(record: &'a Record, key: &str) -> Option<&'a str> {
    record.get(key).and_then(Value::as_str)
}

pub(super) fn flag(record: &Record, key: &str) -> bool {
    record.get(key).is_some_and(workflow::is_truthy)
}
