//! The local pipeline worker: plays Step Functions + MediaConvert for the local stack (contract §1, §10).
//! It consumes the source bucket's object-created events from `<stack>-ingest-events` and runs one
//! workflow per event, in the solution's order: record, probe, item (Ingest), Ingest message, profile,
//! encode request (item still Ingest, with `encodeJobId`), ffmpeg, outputs into the destination bucket,
//! item (Complete), the stack queue's full record, Complete message; every item write is UpdateItem SET;
//! any failure goes through the error handler (item Error, Error message, always). Everything up to the
//! encode request runs at once, as the Lambdas do; only the encode waits, as a job in MediaConvert's
//! queue does: at most [`PipelineOptions::parallel_jobs`] encode at once, the others wait in order.
//! Events are acknowledged as soon as their workflow is started, as the S3 →
//! step-functions invocation is, so a long encode never makes a message come back. Playlists and
//! manifests are refused at the mediainfo step, before any tool reads them ([`super::inputs`]).
//!
//! This file holds the worker ([`Pipeline`], its options, targets and reports) and its intake: the
//! queue loop and the reading of S3 events. The parts: `steps` (one workflow, step by step, and where
//! it failed), `job` (the local MediaConvert job, run once it has an encode slot) and `services` (its
//! calls to S3, DynamoDB and SNS, the error handler's among them).

mod job;
mod services;
mod simulate;
mod steps;

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::media_package::PackagingGroup;
use super::probe::Prober;
use super::workflow::{OutputGroups, StackContext};
use crate::aws::connection::AwsClients;
use crate::aws::sdk_error;
use steps::run_workflow;

pub use super::object_upload::content_type;
pub use services::attribute_value;
pub use simulate::{SimulatedFault, SimulationRule, UnknownFault};

/// How the worker runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineOptions {
    /// HLS only (the default templates), or every upload selecting the local custom template that
    /// writes DASH and an MP4 as well.
    pub groups: OutputGroups,
    /// Jobs encoding at once (1 or 2 on a small machine); later jobs wait in the queue, their Ingest
    /// and encode request already done.
    pub parallel_jobs: usize,
    /// Failures played on purpose (`--simulate`), first matching rule wins.
    pub simulate: Vec<SimulationRule>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            groups: OutputGroups::HlsOnly,
            parallel_jobs: 2,
            simulate: Vec::new(),
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
    /// The local MediaPackage VOD packaging group, on stacks with EnableMediaPackage=Yes.
    pub media_package: Option<PackagingGroup>,
}

/// What the worker reports, for the `local-stack` command's log.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineEvent {
    /// A source key arrived; its workflow has started.
    Queued { guid: String, key: String },
    /// The item and the Ingest message are written and the job is submitted at `profile` (the item
    /// holds `encodeJobId`); it encodes as soon as an encode slot is free.
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
    /// The workflow stopped without a word, as on AWS: an execution that failed at a Choice state
    /// no branch matched, or a job that never ends or was canceled (`--simulate`). No Error, no
    /// message; the item stays at Ingest.
    Stalled { guid: String, message: String },
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
}
