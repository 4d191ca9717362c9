//! One workflow, in the solution's order (see the module above): step-functions, input-validate,
//! mediainfo, the Ingest item and message, profiler, encode, the local "MediaConvert", its COMPLETE
//! event, output-validate, the Complete item, queue message and notification. Where it stops is a
//! `Failure`, which [`run_workflow`] hands to the error handler.

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::services::{
    download, error_handler, get_object_bytes, list_keys, publish, put_record, upload_outputs,
};
use super::{PipelineEvent, Shared};
use crate::aws::sdk_error;
use crate::local_stack::inputs;
use crate::local_stack::transcode::{self, Rotation, TranscodeError, TranscodePlan};
use crate::local_stack::workflow::{
    self, ErrorReport, LambdaFailure, OutputDetail, OutputGroupDetail, Record,
};
use crate::time::format_iso8601;

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn now_iso() -> String {
    format_iso8601(SystemTime::now())
}

/// Where a workflow stopped, and whether its item exists yet (the error handler's UpdateItem creates
/// the sparse item when it does not).
enum Failure {
    Lambda(LambdaFailure),
    Encoding { job_id: String, event: Value },
}

pub(super) async fn run_workflow(
    shared: Arc<Shared>,
    guid: String,
    bucket: String,
    raw_key: String,
) {
    let started = Instant::now();
    // One encode slot per running workflow; waiting here is the queue.
    let Ok(_slot) = shared.slots.acquire().await else {
        return;
    };
    let outcome = workflow_steps(&shared, &guid, &bucket, &raw_key).await;
    match outcome {
        Ok(hls_url) => shared.report(PipelineEvent::Complete {
            guid,
            hls_url,
            seconds: started.elapsed().as_secs_f64(),
        }),
        Err(failure) => {
            let context = &shared.targets.context;
            let report = match &failure {
                Failure::Lambda(lambda) => ErrorReport::lambda(context, &guid, lambda),
                Failure::Encoding { job_id, event } => {
                    ErrorReport::encoding(context, &guid, job_id, event)
                }
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

async fn workflow_steps(
    shared: &Shared,
    guid: &str,
    bucket: &str,
    raw_key: &str,
) -> Result<Option<String>, Failure> {
    let context = &shared.targets.context;
    let clients = &shared.clients;
    // step-functions
    let key = workflow::decode_event_key(raw_key).map_err(Failure::Lambda)?;
    let trigger = workflow::workflow_trigger_for_key(&key);
    // input-validate
    let mut record = workflow::input_validate(context, guid, &now_iso(), trigger);
    if trigger == "Metadata" {
        let body = get_object_bytes(clients, bucket, &key)
            .await
            .map_err(|m| Failure::Lambda(LambdaFailure::new("input-validate", m)))?;
        workflow::apply_metadata(context, &mut record, &key, &body).map_err(Failure::Lambda)?;
    } else {
        workflow::apply_video_key(context, &mut record, &key);
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
    // DynamoDB Update (Ingest), then the Ingest message
    put_record(shared, &record)
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("dynamo", m)))?;
    if flag(&record, "enableSns") {
        publish(
            shared,
            &workflow::status_subject("Ingest", guid),
            &workflow::ingest_message(&record),
        )
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("sns-notification", m)))?;
    }
    // profiler, encode, DynamoDB Update (Process)
    let profile = workflow::profile(&mut record).map_err(Failure::Lambda)?;
    let job_id = workflow::new_job_id(epoch_ms());
    let groups = shared.options.groups;
    record.insert(
        "encodingJob".into(),
        workflow::encoding_job(context, &record, profile, groups),
    );
    record.insert("encodeJobId".into(), Value::String(job_id.clone()));
    put_record(shared, &record)
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("dynamo", m)))?;
    shared.report(PipelineEvent::Encoding {
        guid: guid.to_owned(),
        profile,
        job_id: job_id.clone(),
    });
    // MediaConvert
    let encoding_failure = |message: String, code: u32| {
        let event = workflow::error_event(
            context,
            guid,
            &job_id,
            &event_time(),
            epoch_ms(),
            code,
            &message,
        );
        Failure::Encoding {
            job_id: job_id.clone(),
            event,
        }
    };
    let plan = TranscodePlan {
        source: source_path.clone(),
        base_name: workflow::output_base_name(&src_video),
        ladder: workflow::hls_ladder(profile).to_vec(),
        groups,
        frame_capture: flag(&record, "frameCapture"),
        rotation: Rotation::from_input_rotate(text(&record, "inputRotate").unwrap_or("")),
        has_audio: info.has_audio(),
        duration_seconds: info.duration_seconds(),
    };
    let work_dir = scratch.path().join("out");
    let written = transcode::transcode(&plan, &work_dir)
        .await
        .map_err(|e| match e {
            TranscodeError::Failed {
                message,
                input_unreadable: true,
            } => encoding_failure(
                format!(
                    "Unable to open input file [s3://{source_bucket}/{src_video}]: [Failed probe/open: [{message}]]"
                ),
                1010,
            ),
            other => encoding_failure(other.to_string(), 1999),
        })?;
    let destination = text(&record, "destBucket")
        .unwrap_or(&context.destination_bucket)
        .to_owned();
    upload_outputs(clients, &destination, guid, &written.files)
        .await
        .map_err(|m| encoding_failure(m, 1999))?;
    // The COMPLETE event MediaConvert would send.
    let s3_uri = |relative: &str| format!("s3://{destination}/{guid}/{relative}");
    let mut details = Vec::new();
    if let Some(mp4) = &written.mp4 {
        details.push(OutputGroupDetail {
            kind: "FILE_GROUP",
            playlists: vec![],
            outputs: vec![OutputDetail {
                file: Some(s3_uri(&mp4.relative_key)),
                duration_ms: written.duration_ms,
                width: Some(mp4.width),
                height: Some(mp4.height),
            }],
        });
    }
    details.push(OutputGroupDetail {
        kind: "HLS_GROUP",
        playlists: vec![s3_uri(&written.hls_master)],
        outputs: written
            .hls_variants
            .iter()
            .map(|v| OutputDetail {
                file: Some(s3_uri(&v.relative_key)),
                duration_ms: written.duration_ms,
                width: Some(v.width),
                height: Some(v.height),
            })
            .collect(),
    });
    if let Some(manifest) = &written.dash_manifest {
        details.push(OutputGroupDetail {
            kind: "DASH_ISO_GROUP",
            playlists: vec![s3_uri(manifest)],
            outputs: written
                .dash_representations
                .iter()
                .map(|v| OutputDetail {
                    file: None,
                    duration_ms: written.duration_ms,
                    width: Some(v.width),
                    height: Some(v.height),
                })
                .collect(),
        });
    }
    if plan.frame_capture {
        // The frame-capture group lists no files (thumbnails are found by listing, as output-validate does).
        details.push(OutputGroupDetail {
            kind: "FILE_GROUP",
            playlists: vec![],
            outputs: vec![OutputDetail {
                file: None,
                duration_ms: written.duration_ms,
                width: None,
                height: None,
            }],
        });
    }
    let event =
        workflow::complete_event(context, guid, &job_id, &event_time(), epoch_ms(), &details);
    // output-validate
    let thumbnails = if plan.frame_capture {
        list_keys(clients, &destination, &format!("{guid}/thumbnails/"))
            .await
            .map_err(|m| Failure::Lambda(LambdaFailure::new("output-validate", m)))?
    } else {
        Vec::new()
    };
    workflow::output_validate(context, &mut record, event, &now_iso(), &thumbnails)
        .map_err(Failure::Lambda)?;
    // DynamoDB Update (Publish), SQS, SNS
    put_record(shared, &record)
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("dynamo", m)))?;
    if flag(&record, "enableSqs")
        && let Some(queue) = &shared.targets.stack_queue_url
    {
        clients
            .sqs
            .send_message()
            .queue_url(queue)
            .message_body(workflow::message_text(&Value::Object(record.clone())))
            .send()
            .await
            .map_err(|e| {
                Failure::Lambda(LambdaFailure::new("sqs-publish", sdk_error::describe(&e)))
            })?;
    }
    if flag(&record, "enableSns") {
        publish(
            shared,
            &workflow::status_subject("Complete", guid),
            &workflow::complete_message(&record),
        )
        .await
        .map_err(|m| Failure::Lambda(LambdaFailure::new("sns-notification", m)))?;
    }
    Ok(text(&record, "hlsUrl").map(str::to_owned))
}

/// EventBridge times have whole seconds.
fn event_time() -> String {
    let iso = now_iso();
    match iso.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => iso,
    }
}

fn text<'a>(record: &'a Record, key: &str) -> Option<&'a str> {
    record.get(key).and_then(Value::as_str)
}

fn flag(record: &Record, key: &str) -> bool {
    record.get(key).is_some_and(workflow::is_truthy)
}
