//! The live feed: receiving from vodesk's own queue, decoding each message, completing it with its
//! item when the configuration asks ([`ItemReads`]), handing it on once per (guid, kind), confirming
//! a cross-account subscription, and deleting what was applied. A queue that disappears or stops
//! working ends the loop with the reason, for [`Monitor::run`] to recreate it or fall back to polling.

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;

use super::{
    ItemReads, JobUpdate, LoopEnd, Monitor, MonitorEvent, OwnQueue, QueueCallError, Via, gone,
    queue,
};
use crate::aws::sdk_error::{self, Disposition};
use crate::contract::{Decoded, Kind, decode_message_body};

impl Monitor {
    pub(super) async fn receive_loop(&self, own: &OwnQueue) -> LoopEnd {
        let sqs = &self.clients.sqs;
        let mut last_heartbeat = Instant::now();
        let mut failures: u32 = 0;
        loop {
            if last_heartbeat.elapsed() >= self.config.heartbeat_every {
                last_heartbeat = Instant::now();
                match queue::refresh_heartbeat(sqs, &own.url, &self.clock).await {
                    Ok(()) => {}
                    Err(err) if err.gone => return LoopEnd::QueueGone(gone(&err)),
                    Err(err) => {
                        self.emit(MonitorEvent::Warning {
                            message: format!("could not refresh the queue's heartbeat tag: {err}"),
                        });
                    }
                }
            }
            // The wait is bounded so the heartbeat keeps its rhythm even with a tiny expiry.
            let wait = self.config.heartbeat_every.as_secs().clamp(1, 20) as i32;
            let receive = sqs
                .receive_message()
                .queue_url(&own.url)
                .wait_time_seconds(wait)
                .max_number_of_messages(10)
                .customize()
                .interceptor(self.clock.reader())
                .send();
            let received = tokio::select! {
                result = receive => result,
                () = self.cancel.cancelled() => return LoopEnd::Cancelled,
            };
            let out = match received {
                Ok(out) => {
                    failures = 0;
                    out
                }
                Err(err) => {
                    let call = QueueCallError::from_sdk(&err);
                    if call.gone {
                        return LoopEnd::QueueGone(gone(&call));
                    }
                    let message = call.message;
                    failures += 1;
                    if sdk_error::disposition(&err) != Disposition::Transient || failures > 5 {
                        return LoopEnd::QueueBroken(format!(
                            "receiving from vodesk's queue failed ({message})"
                        ));
                    }
                    let pause = Duration::from_secs(1 << failures.min(5));
                    tokio::select! {
                        () = tokio::time::sleep(pause) => continue,
                        () = self.cancel.cancelled() => return LoopEnd::Cancelled,
                    }
                }
            };
            let mut done = Vec::new();
            for message in out.messages() {
                let body = message.body().unwrap_or_default();
                if !self.apply_body(body).await {
                    // Not applied (the owner is gone): leave it on the queue.
                    return LoopEnd::Closed;
                }
                if let Some(handle) = message.receipt_handle() {
                    done.push(handle.to_owned());
                }
            }
            if !done.is_empty() {
                self.delete_applied(&own.url, done).await;
            }
        }
    }

    /// Decodes one body and hands it on. False when the owner is gone.
    async fn apply_body(&self, body: &str) -> bool {
        let decoded = match decode_message_body(body) {
            Ok(decoded) => decoded,
            Err(err) => {
                // Deleted anyway: it will never decode, and redelivery would repeat this forever.
                return self.emit(MonitorEvent::Warning {
                    message: format!(
                        "ignored a message that is not a workflow notification: {err}"
                    ),
                });
            }
        };
        if decoded.kind == Kind::Ignored {
            self.confirm_if_needed(&decoded).await;
            return true;
        }
        let Some(guid) = decoded.guid().map(str::to_owned) else {
            return true;
        };
        if !self.first_time(&guid, decoded.kind) {
            return true;
        }
        let mut item = None;
        let lacks_file = decoded
            .record
            .as_ref()
            .is_some_and(|r| r.src_video.is_none());
        let read = match self.config.read_items {
            ItemReads::Never => false,
            ItemReads::ErrorsWithoutFile => decoded.kind == Kind::Error && lacks_file,
            ItemReads::Every => true,
        };
        if read {
            match self.catalogue.get(&guid).await {
                Ok(found) => item = found.and_then(|d| d.record),
                Err(err) => {
                    self.emit(MonitorEvent::Warning {
                        message: format!("could not read the item of job {guid}: {err}"),
                    });
                }
            }
        }
        self.emit(MonitorEvent::Update(Box::new(JobUpdate {
            decoded,
            received_at: SystemTime::now(),
            via: Via::Queue,
            item,
        })))
    }

    /// A cross-account subscription needs confirming (§4); same-account ones never get here.
    async fn confirm_if_needed(&self, decoded: &Decoded) {
        let Some(envelope) = &decoded.envelope else {
            return;
        };
        if envelope.message_type != "SubscriptionConfirmation"
            || envelope.topic_arn.as_deref() != Some(self.topic_arn.as_str())
        {
            return;
        }
        let Some(token) = &envelope.token else {
            return;
        };
        if let Err(e) = self
            .clients
            .sns
            .confirm_subscription()
            .topic_arn(&self.topic_arn)
            .token(token)
            .send()
            .await
        {
            self.emit(MonitorEvent::Warning {
                message: format!(
                    "could not confirm the subscription: {}",
                    sdk_error::describe(&e)
                ),
            });
        }
    }

    async fn delete_applied(&self, url: &str, handles: Vec<String>) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = handles
            .into_iter()
            .enumerate()
            .filter_map(|(i, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .ok()
            })
            .collect();
        let result = self
            .clients
            .sqs
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await;
        let problem = match result {
            Ok(out) if out.failed().is_empty() => None,
            Ok(out) => Some(format!("{} could not be deleted", out.failed().len())),
            Err(e) => Some(sdk_error::describe(&e)),
        };
        if let Some(problem) = problem {
            // A message left on the queue comes back after the visibility timeout; (guid, kind)
            // de-duplication drops it then.
            self.emit(MonitorEvent::Warning {
                message: format!("applied messages stay on the queue: {problem}"),
            });
        }
    }
}
