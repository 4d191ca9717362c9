//! One connection to a deployment: discovery, then the live monitor on the discovered resources (its
//! messages completed with their items, once, by the monitor) and the newest page of the catalogue
//! (with this machine's uploads from the journal), all forwarded as events. Older pages are read one at
//! a time on [`Command::LoadMoreJobs`]: the session keeps the catalogue's page token, so each page
//! continues where the last one ended and a request while a page is in flight is ignored rather than
//! reading a page twice. The session owns the monitor, so a new Connect and the engine's drop both
//! stop it through [`MonitorHandle::shutdown`] (unsubscribe and delete vodesk's queue) within a
//! bounded time.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc as tokio_mpsc;
use tokio_util::sync::CancellationToken;

use super::operations::{self, OperationContext};
use super::uploads::Uploads;
use super::{
    Command, ConnectRequest, Emitter, Event, FIRST_PAGE_SIZE, JobsPage, JournalSource, MonitorMode,
    OLDER_PAGE_SIZE, connect,
};
use crate::aws::catalogue::{Catalogue, CatalogueError, Page, PageToken};
use crate::aws::connection::AwsClients;
use crate::aws::discovery::VodResources;
use crate::aws::monitor::{self, ItemReads, MonitorConfig, MonitorEvent, MonitorHandle};
use crate::aws::thumbnails::ThumbnailFetcher;
use crate::aws::upload::journal::{Journal, UploadRecord};

/// The disk cache of thumbnails (in vodesk's data directory) is kept under this size.
const THUMBNAIL_CACHE_BYTES: u64 = 128 * 1024 * 1024;

/// How long stopping a session may take (the monitor's unsubscribe and queue deletion). A hung
/// network gets no more: the queue then left behind is removed by the next start's clean-up, once
/// its heartbeat is older than the expiry.
const STOP_BUDGET: Duration = Duration::from_secs(8);

/// How many of this machine's newest uploads are matched against the workflows.
const RECENT_UPLOADS: usize = 200;

/// One connection: its task, the token that stops it and where the UI's requests go.
pub(super) struct Session {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    commands: tokio_mpsc::UnboundedSender<Command>,
}

impl Session {
    pub(super) fn spawn(
        request: ConnectRequest,
        emit: Emitter,
        config: MonitorConfig,
        journal: JournalSource,
    ) -> Self {
        // The app shows each job whole (file, media info, outputs): every message comes with its item.
        let config = MonitorConfig {
            read_items: ItemReads::Every,
            ..config
        };
        let stop = CancellationToken::new();
        let (commands, commands_rx) = tokio_mpsc::unbounded_channel();
        let task = tokio::spawn(run_session(
            request,
            emit,
            config,
            journal,
            stop.clone(),
            commands_rx,
        ));
        Self {
            stop,
            task,
            commands,
        }
    }

    /// Hands the session one of the UI's commands about the connected deployment.
    pub(super) fn send(&self, command: Command) {
        if self.commands.send(command).is_err() {
            // The session has ended: there is nothing left to act on the command.
        }
    }

    /// Stops the session and waits (at most [`STOP_BUDGET`]) for its monitor to clean up.
    pub(super) async fn stop(self) {
        self.stop.cancel();
        let abort = self.task.abort_handle();
        if tokio::time::timeout(STOP_BUDGET, self.task).await.is_err() {
            abort.abort();
        }
    }
}

async fn run_session(
    request: ConnectRequest,
    emit: Emitter,
    config: MonitorConfig,
    journal: JournalSource,
    stop: CancellationToken,
    mut commands: tokio_mpsc::UnboundedReceiver<Command>,
) {
    let target = request
        .stack
        .clone()
        .unwrap_or_else(|| "the resources given by flags".into());
    emit.emit(Event::Connecting { target });
    let connected = tokio::select! {
        result = connect::connect(&request) => result,
        () = stop.cancelled() => return,
    };
    let (clients, resources) = match connected {
        Ok(found) => found,
        Err(message) => {
            emit.emit(Event::ConnectFailed { message });
            return;
        }
    };
    emit.emit(Event::Connected(Box::new(resources.clone())));

    let mut handle = monitor::start(clients.clone(), &resources, config);
    let catalogue = Catalogue::new(&clients, &resources);
    let mut uploads = Uploads::open(&journal, &clients, &resources, &request, &emit).await;
    let thumbnails = Arc::new(thumbnail_fetcher(&clients, &resources));
    let page_emit = emit.clone();
    // Read alongside the monitor: the job model merges both in any order, never moving a job back.
    let source_bucket = resources.source_bucket.clone();
    let first_catalogue = catalogue.clone();
    let first_page = tokio::spawn(async move {
        let (page, uploads) = tokio::join!(
            first_catalogue.page(None, FIRST_PAGE_SIZE),
            local_uploads(journal, source_bucket)
        );
        let uploads = uploads.unwrap_or_else(|message| {
            page_emit.emit(Event::Notice { message });
            Vec::new()
        });
        PageRead::First { page, uploads }
    });

    // The page being read (the first, then each older one asked for). Only this loop emits pages,
    // after it has kept their token: a request the UI sends on seeing a page then always finds the
    // token of the page after it.
    let mut reading: Option<tokio::task::JoinHandle<PageRead>> = Some(first_page);
    let mut next: Option<PageToken> = None;
    // Also stops the read if this session is aborted (a stop over budget), so a late page of this
    // deployment cannot reach the state after the next connection's.
    let mut guard = reading
        .as_ref()
        .map(|task| AbortOnDrop(task.abort_handle()));
    loop {
        tokio::select! {
            event = handle.events.recv() => match event {
                Some(event) => forward(event, &emit),
                None => break,
            },
            read = wait_for(&mut reading) => {
                reading = None;
                guard = None;
                next = match read {
                    Ok(read) => emit_page(read, &emit),
                    // Cancelled or panicked: nothing more can be read in this session.
                    Err(_) => None,
                };
            }
            () = uploads.step() => {}
            Some(command) = commands.recv() => match command {
                Command::LoadMoreJobs => {
                    if reading.is_none()
                        && let Some(token) = next.take()
                    {
                        let catalogue = catalogue.clone();
                        let task = tokio::spawn(async move {
                            // The token is handed back on failure, so asking again retries the page.
                            match catalogue.page(Some(token.clone()), OLDER_PAGE_SIZE).await {
                                Ok(page) => PageRead::Older(Ok(page)),
                                Err(err) => PageRead::Older(Err((token, err))),
                            }
                        });
                        guard = Some(AbortOnDrop(task.abort_handle()));
                        reading = Some(task);
                    }
                }
                Command::AddFiles { paths, metadata } => uploads.add(paths, metadata, &emit).await,
                Command::PauseUpload(id) => uploads.pause(id),
                Command::ResumeUpload(id) => uploads.resume(id),
                Command::CancelUpload(id) => uploads.cancel(id),
                Command::RefreshJob(guid) => {
                    let catalogue = catalogue.clone();
                    let emit = emit.clone();
                    tokio::spawn(async move {
                        // A job not in the table yet (or a read that fails) just stays as it is.
                        if let Ok(Some(decoded)) = catalogue.get_whole(&guid).await
                            && let Some(record) = decoded.record
                        {
                            emit.emit(Event::ItemRead(Box::new(record)));
                        }
                    });
                }
                Command::FetchThumbnail { url, max_edge } => {
                    let fetcher = thumbnails.clone();
                    let emit = emit.clone();
                    tokio::spawn(async move {
                        let result = fetcher
                            .load(&url, max_edge)
                            .await
                            .map(Arc::new)
                            .map_err(|e| e.to_string());
                        emit.emit(Event::Thumbnail { url, max_edge, result });
                    });
                }
                Command::CheckPlayback(guid) => {
                    tokio::spawn(check_playback(catalogue.clone(), guid, emit.clone()));
                }
                Command::Operation(command) => operations::spawn(command, OperationContext {
                    clients: clients.clone(),
                    catalogue: catalogue.clone(),
                    resources: resources.clone(),
                    emit: emit.clone(),
                    stop: stop.clone(),
                }),
                // The engine runs these itself; they never reach a session.
                Command::Connect(_)
                | Command::FindStacks(_)
                | Command::StartLocalStack
                | Command::CheckSetup(_) => {}
            },
            () = stop.cancelled() => break,
        }
    }
    // Running uploads pause (resumable) rather than being cut mid-part without a word.
    uploads.pause_all().await;
    drop(guard);
    stop_monitor(&mut handle, &emit).await;
}

/// "Check playback": the item read again (the outputs as the table has them now), then checked.
async fn check_playback(catalogue: Catalogue, guid: String, emit: Emitter) {
    let report = match catalogue.get_whole(&guid).await {
        Ok(Some(decoded)) => match decoded.record {
            Some(record) => match crate::playback::http_client() {
                Ok(client) => Ok(Box::new(
                    crate::playback::check_playback(&client, &record, &Default::default()).await,
                )),
                Err(e) => Err(e.to_string()),
            },
            None => Err("the job's item holds no workflow record".to_owned()),
        },
        Ok(None) => Err("the job is no longer in the table".to_owned()),
        Err(e) => Err(format!("the job's item could not be read: {e}")),
    };
    emit.emit(Event::PlaybackChecked { guid, report });
}

/// What a page read in a session's task brings back to it.
enum PageRead {
    First {
        page: Result<Page, CatalogueError>,
        uploads: Vec<UploadRecord>,
    },
    Older(Result<Page, (PageToken, CatalogueError)>),
}

/// The result of the read in flight; never resolves when there is none.
async fn wait_for(
    reading: &mut Option<tokio::task::JoinHandle<PageRead>>,
) -> Result<PageRead, tokio::task::JoinError> {
    match reading {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

/// Emits a page read (or why it failed) and returns where the next page starts.
fn emit_page(read: PageRead, emit: &Emitter) -> Option<PageToken> {
    let (page, uploads) = match read {
        PageRead::First { page: Err(err), .. } => {
            emit.emit(Event::JobsFailed {
                message: err.to_string(),
            });
            return None;
        }
        PageRead::Older(Err((token, err))) => {
            emit.emit(Event::OlderJobsFailed {
                message: err.to_string(),
            });
            return Some(token);
        }
        PageRead::First {
            page: Ok(page),
            uploads,
        } => (page, uploads),
        PageRead::Older(Ok(page)) => (page, Vec::new()),
    };
    emit.emit(Event::Jobs(Box::new(JobsPage {
        more: page.next.is_some(),
        records: page.records,
        uploads,
        warnings: page.warnings,
        read_at: SystemTime::now(),
    })));
    page.next
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The journal's recent uploads to `bucket`. Blocking SQLite work, so off the runtime's workers.
async fn local_uploads(
    journal: JournalSource,
    bucket: String,
) -> Result<Vec<UploadRecord>, String> {
    let read = tokio::task::spawn_blocking(move || {
        let journal = match journal {
            JournalSource::None => return Ok(Vec::new()),
            JournalSource::Default => Journal::open_default()?,
            JournalSource::At(path) => Journal::open(&path)?,
        };
        journal.list_for_bucket(&bucket, RECENT_UPLOADS)
    });
    match read.await {
        Ok(Ok(uploads)) => Ok(uploads),
        Ok(Err(err)) => Err(format!(
            "this machine's uploads are not shown: the upload journal could not be read ({err}); check that vodesk's data directory (VODESK_DATA_DIR) is readable"
        )),
        Err(_) => Err(
            "this machine's uploads are not shown: reading the upload journal stopped unexpectedly"
                .into(),
        ),
    }
}

async fn stop_monitor(handle: &mut MonitorHandle, emit: &Emitter) {
    let report = handle.shutdown().await;
    while let Ok(event) = handle.events.try_recv() {
        forward(event, emit);
    }
    let teardown = report.teardown.as_ref();
    let message = match (&report.queue_name, report.is_clean()) {
        (Some(name), true) => format!("Stopped: unsubscribed and deleted queue {name}."),
        (Some(name), false) => format!(
            "Queue {name} was not fully removed ({}); the next start of vodesk removes it once its heartbeat is older than an hour, or delete it in the SQS console.",
            teardown.map(|t| t.problems.join("; ")).unwrap_or_default()
        ),
        (None, _) => "Stopped (no queue to remove).".to_owned(),
    };
    emit.emit(Event::MonitorStopped {
        clean: report.is_clean(),
        message,
    });
}

fn forward(event: MonitorEvent, emit: &Emitter) {
    let event = match event {
        MonitorEvent::Ready(monitor::Mode::Queue {
            queue_name,
            also_polling,
            ..
        }) => Event::MonitorMode(MonitorMode::Live {
            queue_name,
            also_polling,
        }),
        MonitorEvent::Ready(monitor::Mode::Polling { reason })
        | MonitorEvent::SwitchedToPolling { reason } => {
            Event::MonitorMode(MonitorMode::Polling { reason })
        }
        MonitorEvent::Update(update) => Event::JobUpdated(update),
        MonitorEvent::Warning { message } => Event::Notice { message },
        MonitorEvent::StaleQueueRemoved(stale) => Event::Notice {
            message: format!(
                "Removed an abandoned vodesk queue ({}) and {} subscription(s).",
                stale.url, stale.subscriptions_removed
            ),
        },
    };
    emit.emit(event);
}

/// The session's thumbnail fetcher: URLs on the stack's CloudFront domain only, the destination bucket
/// when the distribution refuses (a private one), and a bounded disk cache in vodesk's data directory.
fn thumbnail_fetcher(clients: &AwsClients, resources: &VodResources) -> ThumbnailFetcher {
    let cache_dir = crate::aws::upload::journal::data_dir()
        .ok()
        .map(|dir| dir.join(crate::aws::thumbnails::CACHE_DIR_NAME));
    let fetcher = ThumbnailFetcher::new(
        resources.cloudfront_domain.as_deref(),
        cache_dir,
        THUMBNAIL_CACHE_BYTES,
    );
    match &resources.destination_bucket {
        Some(bucket) => fetcher.with_s3_fallback(clients.s3.clone(), bucket.clone()),
        None => fetcher,
    }
}
