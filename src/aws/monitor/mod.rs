//! The live monitor: from the moment it is started until `shutdown`, every Ingest, Complete and Error
//! the solution announces becomes a typed [`MonitorEvent`] on a channel (the same pattern as uploads).
//!
//! It listens on its own queue (contract §9; never the stack's), removes abandoned vodesk queues of
//! the same stack first, refreshes its heartbeat tag while it runs, and unsubscribes and deletes its
//! queue on shutdown. Heartbeats are in the service's time ([`clock`]). When its queue disappears
//! (another vodesk took it for abandoned while this computer slept, or someone deleted it), it makes
//! a new one, says so once, and reads what it missed from the table. When SQS or SNS refuse (no
//! permission to create queues or to subscribe) or the queue stops working, it falls back to polling
//! the table ("polling mode") and says so. With
//! `EnableSns=No` (only Errors are published) it polls the table besides listening; otherwise it
//! still reads the table every few minutes, for messages SNS failed to deliver.

pub(crate) mod clock;
mod poller;
pub mod queue;
mod receive;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::aws::catalogue::Catalogue;
use crate::aws::connection::AwsClients;
use crate::aws::discovery::VodResources;
use crate::aws::sdk_error;
use crate::contract::{Decoded, JobRecord, Kind};

pub use clock::ServiceClock;
pub use queue::{OwnQueue, QueueCallError, SetupError, StaleQueue, Teardown};

/// Seconds after which another client's queue, silent that long, counts as abandoned (default one
/// hour, contract §9 step 6). Tests set it tiny to clean up after a `kill -9` at once.
pub const EXPIRY_ENV: &str = "VODESK_QUEUE_EXPIRY_SECONDS";
/// Seconds between two reads of the table in polling mode (default 5).
pub const POLL_INTERVAL_ENV: &str = "VODESK_POLL_INTERVAL_SECONDS";

/// How long a set-up interrupted by shutdown may still take, so its queue can be removed.
const SETUP_GRACE: Duration = Duration::from_secs(10);
/// A queue removed under the monitor is made again, but not more than this many times in a row (each
/// within [`RECREATION_WINDOW`] of the one before): something keeps removing it, so the table is
/// polled instead.
const MAX_RECREATIONS: u32 = 5;
const RECREATION_WINDOW: Duration = Duration::from_secs(600);

/// How the monitor behaves; [`MonitorConfig::default`] is what users get.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    pub expiry: Duration,
    pub heartbeat_every: Duration,
    pub poll_interval: Duration,
    /// In queue mode, the table is also read this often (`None`: never), so that a message SNS
    /// failed to deliver is still noticed (contract §9 step 7: poll after a long silence).
    pub quiet_poll_interval: Option<Duration>,
    /// Polling mode looks this far back for workflows still running when it starts.
    pub poll_lookback: Duration,
    /// Which queue messages get their item read (one GetItem each, before the update is emitted).
    pub read_items: ItemReads,
    /// The machine's name, part of the queue name.
    pub host: String,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self::with_expiry(Duration::from_secs(3600))
    }
}

impl MonitorConfig {
    /// Defaults with another expiry; the heartbeat is refreshed six times per expiry (every 10
    /// minutes for the default hour), never more often than once a second.
    pub fn with_expiry(expiry: Duration) -> Self {
        Self {
            expiry,
            heartbeat_every: (expiry / 6).clamp(Duration::from_secs(1), Duration::from_secs(600)),
            poll_interval: Duration::from_secs(5),
            quiet_poll_interval: Some(Duration::from_secs(300)),
            poll_lookback: Duration::from_secs(6 * 3600),
            read_items: ItemReads::ErrorsWithoutFile,
            host: queue::host_name(),
        }
    }
}

/// Which live messages are completed with their item. A message carries few fields (an Error only the
/// guid, §4); the item has the file, the media info and every output. Reading it here, once, keeps
/// one fact in one update: the owner never asks again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemReads {
    /// Messages are reported as they are.
    Never,
    /// Only an Error that does not name its file (the CLI's `watch`: it prints the file).
    ErrorsWithoutFile,
    /// Every Ingest, Complete and Error (the app: its dashboard and details show the whole item).
    Every,
}

/// How the monitor learns about workflows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Mode {
    /// Its own queue, subscribed to the topic. `also_polling` when the stack publishes only Errors.
    Queue {
        queue_name: String,
        queue_url: String,
        subscription_arn: String,
        also_polling: bool,
    },
    /// Reading the table every few seconds, because of `reason`.
    Polling { reason: String },
}

/// Where an update came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    Queue,
    Polling,
}

/// One new fact about a workflow.
#[derive(Debug, Clone)]
pub struct JobUpdate {
    pub decoded: Decoded,
    pub received_at: SystemTime,
    pub via: Via,
    /// The item, read after the message when [`MonitorConfig::read_items`] asks for it (an Error
    /// that lacked `srcVideo`, so the failed file is known; or every message).
    pub item: Option<JobRecord>,
}

impl JobUpdate {
    /// The record (always present: ignored documents are not updates).
    pub fn record(&self) -> Option<&JobRecord> {
        self.decoded.record.as_ref()
    }

    /// The source key, from the message or else from the item.
    pub fn src_video(&self) -> Option<&str> {
        self.record()
            .and_then(|r| r.src_video.as_deref())
            .or_else(|| self.item.as_ref().and_then(|i| i.src_video.as_deref()))
    }
}

/// What the monitor tells its owner.
#[derive(Debug, Clone)]
pub enum MonitorEvent {
    /// An abandoned vodesk queue (and its subscriptions) was removed at start-up.
    StaleQueueRemoved(StaleQueue),
    /// Listening: from now on every announcement is seen.
    Ready(Mode),
    /// The queue stopped working or could not be used; the table is polled from now on.
    SwitchedToPolling {
        reason: String,
    },
    Update(Box<JobUpdate>),
    /// Something worth telling that does not stop the monitor (an undecodable message, a failed
    /// heartbeat or poll); one line.
    Warning {
        message: String,
    },
}

/// What shutdown did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopReport {
    /// The queue that was used, if one was created.
    pub queue_name: Option<String>,
    /// The teardown of that queue.
    pub teardown: Option<Teardown>,
}

impl StopReport {
    /// Nothing of this process is left on the account.
    pub fn is_clean(&self) -> bool {
        self.teardown
            .as_ref()
            .is_none_or(|t| t.unsubscribed && t.deleted)
    }
}

/// The running monitor. Drain `events`; call [`MonitorHandle::shutdown`] to stop and clean up.
/// Dropping the handle stops it too, cleaning up in the background while the runtime lives.
pub struct MonitorHandle {
    pub events: mpsc::UnboundedReceiver<MonitorEvent>,
    cancel: CancellationToken,
    task: Option<JoinHandle<StopReport>>,
}

impl MonitorHandle {
    /// Stops listening, unsubscribes and deletes the queue, and says how that went.
    pub async fn shutdown(&mut self) -> StopReport {
        self.cancel.cancel();
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|_| StopReport {
                queue_name: None,
                teardown: Some(Teardown {
                    problems: vec![
                        "the monitor stopped unexpectedly, so its queue may remain; the next start removes it once its heartbeat is older than the expiry".into(),
                    ],
                    ..Teardown::default()
                }),
            }),
            None => StopReport::default(),
        }
    }
}

impl Drop for MonitorHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Starts the monitor on the current tokio runtime.
pub fn start(
    clients: AwsClients,
    resources: &VodResources,
    config: MonitorConfig,
) -> MonitorHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let monitor = Monitor {
        catalogue: Catalogue::new(&clients, resources),
        clients,
        topic_arn: resources.topic_arn.clone(),
        stack_tag: resources
            .stack_name
            .clone()
            .unwrap_or_else(|| resources.table.clone()),
        errors_only: resources.enable_sns == Some(false),
        config,
        seen: Arc::new(Mutex::new(HashSet::new())),
        clock: ServiceClock::default(),
        read_table_now: Arc::new(Notify::new()),
        tx,
        cancel: cancel.clone(),
    };
    let task = tokio::spawn(monitor.run());
    MonitorHandle {
        events: rx,
        cancel,
        task: Some(task),
    }
}

#[derive(Clone)]
struct Monitor {
    clients: AwsClients,
    catalogue: Catalogue,
    topic_arn: String,
    stack_tag: String,
    errors_only: bool,
    config: MonitorConfig,
    /// (guid, kind) already delivered: SNS→SQS is at-least-once (§4 Delivery).
    seen: Arc<Mutex<HashSet<(String, Kind)>>>,
    /// The service's time, learnt from SQS's answers: heartbeats are written in it.
    clock: ServiceClock,
    /// Wakes the table poller at once (after the queue was gone for a while).
    read_table_now: Arc<Notify>,
    tx: mpsc::UnboundedSender<MonitorEvent>,
    cancel: CancellationToken,
}

/// Why the receive loop ended.
enum LoopEnd {
    Cancelled,
    /// The owner dropped the event receiver.
    Closed,
    QueueBroken(String),
    /// The queue no longer exists; it can be made again.
    QueueGone(String),
}

impl Monitor {
    fn emit(&self, event: MonitorEvent) -> bool {
        self.tx.send(event).is_ok()
    }

    /// True the first time (guid, kind) is seen.
    fn first_time(&self, guid: &str, kind: Kind) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert((guid.to_owned(), kind))
    }

    async fn run(self) -> StopReport {
        let sqs = &self.clients.sqs;
        let sns = &self.clients.sns;
        let started = SystemTime::now();
        let cleanup = queue::remove_stale(
            sqs,
            sns,
            &self.stack_tag,
            &self.topic_arn,
            &self.clock,
            started,
            self.config.expiry,
            None,
        );
        let cleanup = tokio::select! {
            result = cleanup => result,
            () = self.cancel.cancelled() => return StopReport::default(),
        };
        match cleanup {
            Ok(removed) => {
                for stale in removed {
                    self.emit(MonitorEvent::StaleQueueRemoved(stale));
                }
            }
            // Listing needs sqs:ListQueues on *, which a restricted user may lack: not fatal.
            Err(message) => {
                self.emit(MonitorEvent::Warning {
                    message: format!("could not look for abandoned vodesk queues: {message}"),
                });
            }
        }

        let setup = match self.create_queue().await {
            Some(Ok(own)) if self.cancel.is_cancelled() => {
                return StopReport {
                    queue_name: Some(own.name.clone()),
                    teardown: Some(queue::teardown(sqs, sns, &own).await),
                };
            }
            Some(setup) => setup,
            None => return StopReport::default(),
        };
        let mut own = match setup {
            Ok(own) => own,
            Err(err) => {
                let ready = Mode::Polling {
                    reason: polling_reason(&err),
                };
                self.poll_until_cancelled(started, Some(ready), self.config.poll_interval)
                    .await;
                return StopReport::default();
            }
        };
        self.emit(self.ready_on(&own));
        // With EnableSns=No only Errors are published: the table is read at the polling pace.
        // Otherwise it is read now and then, for messages SNS failed to deliver.
        let pace = if self.errors_only {
            Some(self.config.poll_interval)
        } else {
            self.config.quiet_poll_interval
        };
        let poller = pace.map(|pace| {
            let me = self.clone();
            tokio::spawn(async move { me.poll_until_cancelled(started, None, pace).await })
        });
        // Recreations in a row: a queue that stays a while resets the count.
        let (mut recreated, mut last_recreated) = (0, None::<Instant>);
        let broken = loop {
            match self.receive_loop(&own).await {
                LoopEnd::Cancelled | LoopEnd::Closed => break None,
                LoopEnd::QueueBroken(reason) => break Some(reason),
                LoopEnd::QueueGone(reason) => {
                    if last_recreated.is_some_and(|at| at.elapsed() > RECREATION_WINDOW) {
                        recreated = 0;
                    }
                    if recreated >= MAX_RECREATIONS {
                        break Some(format!(
                            "{reason}, and it was removed {MAX_RECREATIONS} times in a row"
                        ));
                    }
                    recreated += 1;
                    last_recreated = Some(Instant::now());
                    match self.recreate(&own, poller.is_some()).await {
                        Recreated::Listening(new) => own = new,
                        Recreated::Cancelled(new) => {
                            own = new;
                            break None;
                        }
                        Recreated::Failed(problem) => {
                            break Some(format!(
                                "{reason}, and making it again failed ({problem})"
                            ));
                        }
                        Recreated::Interrupted => break None,
                    }
                }
            }
        };
        match broken {
            None => {}
            Some(reason) => {
                self.emit(MonitorEvent::SwitchedToPolling { reason });
                match &poller {
                    // Already at the polling pace.
                    Some(_) if self.errors_only => self.cancel.cancelled().await,
                    // A slow poller sleeps for minutes: replace it with one at the polling pace.
                    slow => {
                        if let Some(slow) = slow {
                            slow.abort();
                        }
                        self.poll_until_cancelled(started, None, self.config.poll_interval)
                            .await;
                    }
                }
            }
        }
        self.cancel.cancel();
        if let Some(poller) = poller {
            // Err only if the poller panicked or was aborted; either way it has stopped, as wanted here.
            if let Err(err) = poller.await {
                tracing::debug!("monitor: the poller ended abnormally: {err}");
            }
        }
        let teardown = queue::teardown(sqs, sns, &own).await;
        StopReport {
            queue_name: Some(own.name.clone()),
            teardown: Some(teardown),
        }
    }

    /// The `Ready` event for listening on `own`.
    fn ready_on(&self, own: &OwnQueue) -> MonitorEvent {
        MonitorEvent::Ready(Mode::Queue {
            queue_name: own.name.clone(),
            queue_url: own.url.clone(),
            subscription_arn: own.subscription_arn.clone(),
            also_polling: self.errors_only,
        })
    }

    /// Creates a queue under a fresh name (SQS refuses a deleted queue's name for 60 s). `None` when
    /// stopped and the set-up did not finish within [`SETUP_GRACE`]: stopped while setting up, the
    /// set-up may finish briefly so that its queue can be removed rather than abandoned half-made; a
    /// hung network gets no more, and the next start's clean-up removes what that leaves.
    async fn create_queue(&self) -> Option<Result<OwnQueue, SetupError>> {
        let name = queue::queue_name(
            &self.stack_tag,
            &self.config.host,
            &uuid::Uuid::new_v4().simple().to_string()[..8],
        );
        let (sqs, sns) = (&self.clients.sqs, &self.clients.sns);
        let setup = queue::create(
            sqs,
            sns,
            &name,
            &self.stack_tag,
            &self.topic_arn,
            &self.clock,
        );
        tokio::pin!(setup);
        tokio::select! {
            result = &mut setup => Some(result),
            () = self.cancel.cancelled() => tokio::time::timeout(SETUP_GRACE, &mut setup).await.ok(),
        }
    }

    /// Makes a new queue after `gone` disappeared, says so, and has the table read at once for what
    /// was published meanwhile (when there is a poller: `backfilled`).
    async fn recreate(&self, gone: &OwnQueue, backfilled: bool) -> Recreated {
        // Its subscription went with it (another vodesk's clean-up) or dangles (deleted by hand):
        // either way it delivers nothing any more.
        if let Err(err) = self
            .clients
            .sns
            .unsubscribe()
            .subscription_arn(&gone.subscription_arn)
            .send()
            .await
        {
            tracing::debug!(
                "unsubscribing the removed queue's subscription: {}",
                sdk_error::describe(&err)
            );
        }
        let new = match self.create_queue().await {
            None => return Recreated::Interrupted,
            Some(Err(err)) => return Recreated::Failed(err.to_string()),
            Some(Ok(new)) if self.cancel.is_cancelled() => return Recreated::Cancelled(new),
            Some(Ok(new)) => new,
        };
        let meanwhile = if backfilled {
            "what was published meanwhile is read from the table"
        } else {
            "what was published meanwhile is not shown"
        };
        self.emit(MonitorEvent::Warning {
            message: format!(
                "the live feed's queue {} was removed (by another vodesk that took it for abandoned while this computer slept, or by hand): recreated it as {}; {meanwhile}",
                gone.name, new.name
            ),
        });
        self.emit(self.ready_on(&new));
        self.read_table_now.notify_one();
        Recreated::Listening(new)
    }
}

/// How making a queue again went.
enum Recreated {
    Listening(OwnQueue),
    /// Made, but the monitor was stopped meanwhile: to be removed.
    Cancelled(OwnQueue),
    Failed(String),
    /// Stopped before the set-up finished.
    Interrupted,
}

fn gone(err: &QueueCallError) -> String {
    format!("vodesk's queue no longer exists ({err})")
}

fn polling_reason(err: &SetupError) -> String {
    if err.refused {
        format!("{err} (no permission), so the table is polled instead")
    } else {
        format!("{err}, so the table is polled instead")
    }
}
