//! The local pipeline worker: plays Step Functions + MediaConvert for the local stack (contract §1, §10).
//! It consumes the source bucket's object-created events from `<stack>-ingest-events` and runs one
//! workflow per event, in the solution's order: record, probe, item (Ingest), Ingest message, profile,
//! encode request (item still Ingest), ffmpeg, outputs into the destination bucket, item (Complete), the
//! stack queue's full record, Complete message; any failure goes through the error handler (item Error,
//! Error message, always). At most [`PipelineOptions::parallel_jobs`] workflows encode at once; the
//! others wait in order. Events are acknowledged as soon as their workflow is queued, as the S3 →
//! step-functions invocation is, so a long encode never makes a message come back. Playlists and
//! manifests are refused at the mediainfo step, before any tool reads them ([`super::inputs`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::inputs;
use super::probe::Prober;
use super::transcode::{self, OutputFile, Rotation, TranscodeError, TranscodePlan};
use super::workflow::{
    self, ErrorReport, LambdaFailure, OutputDetail, OutputGroupDetail, OutputGroups, Record,
    StackContext,
};
use crate::aws::connection::AwsClients;
use crate::aws::sdk_error;
use crate::time::format_iso8601;

/// Uploads of one job's outputs in flight at once.
const OUTPUT_UPLOADS_IN_FLIGHT: usize = 8;

/// How the worker runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineOptions {
    pub groups: OutputGroups,
    /// Workflows encoding at once (1 or 2 on a small machine); later ones queue.
    pub parallel_jobs: usize,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            groups: OutputGroups::HlsDashMp4,
            parallel_jobs: 2,
        }
    }
}

/// Where the worker reads and writes.
#[derive(Debug, Clone)]
pub struct PipelineTargets {
    pub context: StackContext,
    pub table: String,
    pub topic_arn: String,
    /// The stack's own queue (SqsUrl), which receives the full record of every Complete when EnableSqs.
    pub stack_queue_url: Option<String>,
    pub ingest_queue_url: String,
}

/// What the worker reports, for the `local-stack` command's log.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineEvent {
    /// A source key arrived; its workflow is queued.
    Queued { guid: String, key: String },
    /// The item and the Ingest message are written; encoding starts at `profile`.
    Encoding {
        guid: String,
        profile: u32,
        job_id: String,
    },
    Complete {
        guid: String,
        hls_url: Option<String>,
        seconds: f64,
    },
    Error {
        guid: String,
        at: String,
        message: String,
    },
    /// The worker could not read its queue (it keeps trying).
    QueueTrouble { message: String },
}

/// The running worker. Dropping it stops it, with every workflow in flight (their ffmpeg included).
#[derive(Debug)]
pub struct Pipeline {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    clients: AwsClients,
    targets: PipelineTargets,
    prober: Prober,
    options: PipelineOptions,
    slots: Semaphore,
    events: mpsc::UnboundedSender<PipelineEvent>,
}

impl Shared {
    fn report(&self, event: PipelineEvent) {
        if self.events.send(event).is_err() {
            // Nobody listening is fine: the log is optional.
        }
    }
}

impl Pipeline {
    /// Starts the worker on the current tokio runtime.
    pub fn start(
        clients: AwsClients,
        targets: PipelineTargets,
        prober: Prober,
        options: PipelineOptions,
        events: mpsc::UnboundedSender<PipelineEvent>,
    ) -> Self {
        let shared = Arc::new(Shared {
            clients,
            targets,
            prober,
            slots: Semaphore::new(options.parallel_jobs.max(1)),
            options,
            events,
        });
        Self {
            task: tokio::spawn(consume_events(shared)),
        }
    }
}

async fn consume_events(shared: Arc<Shared>) {
    let mut jobs = JoinSet::new();
    loop {
        while jobs.try_join_next().is_some() {}
        let received = shared
            .clients
            .sqs
            .receive_message()
            .queue_url(&shared.targets.ingest_queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await;
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(e) => {
                shared.report(PipelineEvent::QueueTrouble {
                    message: sdk_error::describe(&e),
                });
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        for message in messages {
            if let Some((bucket, raw_key)) = message.body().and_then(first_created_object) {
                let guid = uuid::Uuid::new_v4().to_string();
                shared.report(PipelineEvent::Queued {
                    guid: guid.clone(),
                    key: raw_key.clone(),
                });
                jobs.spawn(run_workflow(shared.clone(), guid, bucket, raw_key));
            }
            if let Some(handle) = message.receipt_handle()
                && let Err(e) = shared
                    .clients
                    .sqs
                    .delete_message()
                    .queue_url(&shared.targets.ingest_queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
            {
                shared.report(PipelineEvent::QueueTrouble {
                    message: sdk_error::describe(&e),
                });
            }
        }
    }
}

/// `(bucket, raw key)` of `Records[0]` of an S3 ObjectCreated event; `None` for `s3:TestEvent` and
/// anything else. step-functions reads only the first record.
pub fn first_created_object(body: &str) -> Option<(String, String)> {
    let event: Value = serde_json::from_str(body).ok()?;
    let record = event.get("Records")?.get(0)?;
    if !record
        .get("eventName")?
        .as_str()?
        .starts_with("ObjectCreated:")
    {
        return None;
    }
    let s3 = record.get("s3")?;
    Some((
        s3.get("bucket")?.get("name")?.as_str()?.to_owned(),
        s3.get("object")?.get("key")?.as_str()?.to_owned(),
    ))
}

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

async fn run_workflow(shared: Arc<Shared>, guid: String, bucket: String, raw_key: String) {
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

/// The error handler: UpdateItem SET the four error attributes (creating the sparse item when the
/// workflow failed before its Ingest write), then the Error message, whatever EnableSns says.
async fn error_handler(shared: &Shared, report: &ErrorReport) -> Result<(), String> {
    shared
        .clients
        .dynamodb
        .update_item()
        .table_name(&shared.targets.table)
        .key("guid", AttributeValue::S(report.guid.clone()))
        .update_expression(
            "SET workflowStatus = :st,workflowErrorAt = :ea,errorMessage = :em,errorDetails = :ed",
        )
        .expression_attribute_values(":st", AttributeValue::S("Error".into()))
        .expression_attribute_values(":ea", AttributeValue::S(report.workflow_error_at.clone()))
        .expression_attribute_values(":em", AttributeValue::S(report.item_error_message.clone()))
        .expression_attribute_values(":ed", AttributeValue::S(report.error_details.clone()))
        .send()
        .await
        .map_err(|e| sdk_error::describe(&e))?;
    publish(
        shared,
        &workflow::error_subject(&report.guid),
        &report.message(),
    )
    .await
}

async fn publish(shared: &Shared, subject: &str, message: &Value) -> Result<(), String> {
    shared
        .clients
        .sns
        .publish()
        .topic_arn(&shared.targets.topic_arn)
        .subject(subject)
        .message(workflow::message_text(message))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error::describe(&e))
}

/// DocumentClient types: strings S, numbers N, booleans BOOL, arrays L, objects M.
pub fn attribute_value(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(attribute_value).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| (k.clone(), attribute_value(v)))
                .collect(),
        ),
    }
}

async fn put_record(shared: &Shared, record: &Record) -> Result<(), String> {
    let item: HashMap<String, AttributeValue> = record
        .iter()
        .map(|(k, v)| (k.clone(), attribute_value(v)))
        .collect();
    shared
        .clients
        .dynamodb
        .put_item()
        .table_name(&shared.targets.table)
        .set_item(Some(item))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error::describe(&e))
}

/// GetObject's body, for both readers below.
async fn get_object(clients: &AwsClients, bucket: &str, key: &str) -> Result<ByteStream, String> {
    clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map(|object| object.body)
        .map_err(|e| sdk_error::describe(&e))
}

async fn get_object_bytes(
    clients: &AwsClients,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, String> {
    get_object(clients, bucket, key)
        .await?
        .collect()
        .await
        .map(|data| data.to_vec())
        .map_err(|e| e.to_string())
}

/// Streams the object to `path` (the source may be larger than memory).
async fn download(
    clients: &AwsClients,
    bucket: &str,
    key: &str,
    path: &PathBuf,
) -> Result<(), String> {
    let mut reader = get_object(clients, bucket, key).await?.into_async_read();
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| format!("[Errno 5] {e}"))?;
    tokio::io::copy(&mut reader, &mut file)
        .await
        .map_err(|e| format!("[Errno 5] {e}"))?;
    Ok(())
}

async fn list_keys(
    clients: &AwsClients,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, String> {
    // ListObjects v1, first page only (at most 1000 keys), as output-validate does.
    let listed = clients
        .s3
        .list_objects()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .map_err(|e| sdk_error::describe(&e))?;
    Ok(listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect())
}

/// The Content-Type S3 stores with each output.
pub fn content_type(key: &str) -> &'static str {
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("ts") => "video/mp2t",
        Some("mpd") => "application/dash+xml",
        Some("mp4") => "video/mp4",
        Some("m4s") => "video/iso.segment",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    }
}

async fn upload_outputs(
    clients: &AwsClients,
    bucket: &str,
    guid: &str,
    files: &[OutputFile],
) -> Result<(), String> {
    let gate = Arc::new(Semaphore::new(OUTPUT_UPLOADS_IN_FLIGHT));
    let mut uploads = JoinSet::new();
    for file in files {
        let s3 = clients.s3.clone();
        let bucket = bucket.to_owned();
        let key = format!("{guid}/{}", file.relative_key);
        let path = file.path.clone();
        let gate = gate.clone();
        uploads.spawn(async move {
            let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
            let body = ByteStream::from_path(&path)
                .await
                .map_err(|e| format!("could not read {}: {e}", path.display()))?;
            s3.put_object()
                .bucket(&bucket)
                .key(&key)
                .content_type(content_type(&key))
                .body(body)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    format!(
                        "could not write s3://{bucket}/{key}: {}",
                        sdk_error::describe(&e)
                    )
                })
        });
    }
    while let Some(result) = uploads.join_next().await {
        result.map_err(|e| e.to_string())??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_object_created_records_start_a_workflow() {
        let created = r#"{"Records":[{"eventName":"ObjectCreated:CompleteMultipartUpload",
            "s3":{"bucket":{"name":"src"},"object":{"key":"uploads%2FCaf%C3%A9+1.mp4"}}}]}"#;
        assert_eq!(
            first_created_object(created),
            Some(("src".into(), "uploads%2FCaf%C3%A9+1.mp4".into()))
        );
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"src"}"#;
        assert_eq!(first_created_object(test_event), None);
        let removed = r#"{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#;
        assert_eq!(first_created_object(removed), None);
        assert_eq!(first_created_object("not json"), None);
    }

    #[test]
    fn attribute_values_follow_the_document_client() {
        let value =
            serde_json::json!({"n": 1080, "f": 29.97, "b": true, "l": ["a"], "m": {"x": null}});
        let AttributeValue::M(map) = attribute_value(&value) else {
            panic!("not a map");
        };
        assert_eq!(map["n"], AttributeValue::N("1080".into()));
        assert_eq!(map["f"], AttributeValue::N("29.97".into()));
        assert_eq!(map["b"], AttributeValue::Bool(true));
        assert_eq!(
            map["l"],
            AttributeValue::L(vec![AttributeValue::S("a".into())])
        );
    }

    #[test]
    fn content_types_for_outputs() {
        assert_eq!(
            content_type("g/hls/a.m3u8"),
            "application/vnd.apple.mpegurl"
        );
        assert_eq!(content_type("g/hls/a_00001.ts"), "video/mp2t");
        assert_eq!(
            content_type("g/thumbnails/a_thumb.0000000.jpg"),
            "image/jpeg"
        );
        assert_eq!(content_type("g/dash/a.mpd"), "application/dash+xml");
    }
}
