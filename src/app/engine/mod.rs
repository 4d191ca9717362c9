//! The engine: one tokio runtime on its own thread doing all AWS work for the UI. The UI sends typed
//! [`Command`]s and drains typed [`Event`]s each frame; the engine wakes the UI (`request_repaint`)
//! after every event, so the UI thread never blocks and never polls in a busy loop.
//!
//! A connection is a *session*: discovery, then the live monitor on the discovered resources and the
//! newest page of the catalogue (with this machine's uploads from the journal), all forwarded as events.
//! Older pages are read one at a time on [`Command::LoadMoreJobs`] (the UI asks as the user scrolls):
//! the session keeps the catalogue's page token, so each page continues where the last one ended and
//! a request while a page is in flight is ignored rather than reading a page twice. The session owns the monitor, so a new
//! Connect and the engine's drop both stop it through [`MonitorHandle::shutdown`] (unsubscribe and
//! delete vodesk's queue) before the runtime goes away, within a bounded time.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc as tokio_mpsc;
use tokio_util::sync::CancellationToken;

use crate::aws::catalogue::{Catalogue, CatalogueError, Page, PageToken};
use crate::aws::connection::{AwsClients, ConnectionSettings};
use crate::aws::discovery::{
    SolutionStack, StackOverrides, VodResources, discover, find_solution_stacks,
};
use crate::aws::monitor::{self, JobUpdate, MonitorConfig, MonitorEvent, MonitorHandle};
use crate::aws::thumbnails::{Thumbnail, ThumbnailFetcher};
use crate::aws::upload::events::UploadEvent;
use crate::aws::upload::journal::{Journal, UploadRecord};
use crate::aws::upload::select::Refusal;
use crate::local_stack::{LocalStack, LocalStackOptions};
use uploads::Uploads;

mod uploads;

/// The disk cache of thumbnails (in vodesk's data directory) is kept under this size.
const THUMBNAIL_CACHE_BYTES: u64 = 128 * 1024 * 1024;
use crate::contract::JobRecord;

/// How many of the newest jobs are read from the table when connecting.
pub const FIRST_PAGE_SIZE: usize = 100;

/// How many older jobs each [`Command::LoadMoreJobs`] reads.
pub const OLDER_PAGE_SIZE: usize = 100;

/// How long stopping a session may take (the monitor's unsubscribe and queue deletion). A hung
/// network gets no more: the queue then left behind is removed by the next start's clean-up, once
/// its heartbeat is older than the expiry.
const STOP_BUDGET: Duration = Duration::from_secs(8);

/// What the deployment to connect to is, as the user gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectRequest {
    pub connection: ConnectionSettings,
    pub stack: Option<String>,
    pub overrides: StackOverrides,
}

/// Work the UI asks for.
#[derive(Debug, Clone)]
pub enum Command {
    /// Connects (stopping the previous connection's monitor first), then watches the deployment.
    Connect(ConnectRequest),
    /// Reads the next (older) page of the catalogue into the connected session, answered with
    /// [`Event::Jobs`] (or [`Event::OlderJobsFailed`]). Ignored while a page is being read or when
    /// the last page was read.
    LoadMoreJobs,
    /// Uploads files and folders (dropped or picked) into the connected stack's source bucket:
    /// validated, named and journaled ([`Event::UploadsQueued`], refusals with their reasons), then
    /// sent, with [`Event::Upload`] progress. Ignored when not connected.
    AddFiles(Vec<PathBuf>),
    /// Pauses a running upload (the journal keeps what was confirmed).
    PauseUpload(i64),
    /// Resumes (or retries) a paused, failed or interrupted upload.
    ResumeUpload(i64),
    /// Cancels an upload: stops it, aborts the multipart upload and forgets it.
    CancelUpload(i64),
    /// Fetches and decodes a thumbnail, answered with [`Event::Thumbnail`].
    FetchThumbnail { url: String, max_edge: u32 },
    /// Reads one job's item (consistently) for the fields messages do not carry (srcMediainfo, …),
    /// answered with [`Event::ItemRead`].
    RefreshJob(String),
    /// Lists the solution's deployments reachable with these settings ([`Event::StacksFound`]).
    FindStacks(ConnectionSettings),
    /// Starts the local demo stack inside the app (once), answered with [`Event::LocalStackReady`]
    /// (whose request the UI connects with) or [`Event::LocalStackFailed`]. It stops with the app.
    StartLocalStack,
}

/// How the app learns about workflows, as the monitor reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorMode {
    /// vodesk's own queue on the stack's topic: changes arrive within a second. `also_polling` when
    /// the stack publishes only errors (EnableSns=No) and the table is read besides.
    Live {
        queue_name: String,
        also_polling: bool,
    },
    /// The table is read every few seconds, because of `reason`.
    Polling { reason: String },
}

/// A page of jobs read from the catalogue: the newest on connecting, then older ones on request.
#[derive(Debug, Clone)]
pub struct JobsPage {
    /// Newest first.
    pub records: Vec<JobRecord>,
    /// This machine's recent uploads to the source bucket, matched to their workflows by key.
    pub uploads: Vec<UploadRecord>,
    /// Items that could not be read (one line each); they are skipped.
    pub warnings: Vec<String>,
    /// More jobs are in the table than this page holds.
    pub more: bool,
    pub read_at: SystemTime,
}

/// What happened, for the UI's state to apply.
#[derive(Debug, Clone)]
pub enum Event {
    Connecting {
        target: String,
    },
    Connected(Box<VodResources>),
    ConnectFailed {
        message: String,
    },
    /// A page of the catalogue: the first, then each older one asked for.
    Jobs(Box<JobsPage>),
    /// The catalogue could not be read; the message says why and what to check.
    JobsFailed {
        message: String,
    },
    /// An older page could not be read; the jobs read so far stay, and asking again retries it.
    OlderJobsFailed {
        message: String,
    },
    /// One Ingest, Complete or Error, from the queue or from polling the table.
    JobUpdated(Box<JobUpdate>),
    MonitorMode(MonitorMode),
    /// Something the user may want to know that stops nothing (one line).
    Notice {
        message: String,
    },
    /// Ctrl-C or SIGTERM: the UI should close its window (which drops the engine and cleans up).
    CloseRequested {
        signal: &'static str,
    },
    /// The monitor stopped (a new connection, or the app is closing); `message` says what was left.
    MonitorStopped {
        clean: bool,
        message: String,
    },
    /// Uploads of this machine to the connected bucket that an earlier run left unfinished, each with
    /// the bytes the server already confirmed: offered for resume or discard.
    UnfinishedUploads(Vec<(UploadRecord, u64)>),
    /// Files accepted and journaled (sending starts), and those refused, each with its reason.
    UploadsQueued {
        queued: Vec<UploadRecord>,
        refused: Vec<Refusal>,
        notes: Vec<String>,
    },
    /// Progress or a change of state of one upload.
    Upload(UploadEvent),
    /// The journal's view of an upload after it started, finished or stopped (joins it to its job).
    UploadRecordChanged(Box<UploadRecord>),
    /// A job's item, read on [`Command::RefreshJob`].
    ItemRead(Box<JobRecord>),
    /// The deployments found by [`Command::FindStacks`], or why none could be listed.
    StacksFound(Result<Vec<SolutionStack>, String>),
    /// The local demo stack runs; connect with this request.
    LocalStackReady(ConnectRequest),
    LocalStackFailed {
        message: String,
    },
    /// A thumbnail fetched and decoded (or why not).
    Thumbnail {
        url: String,
        max_edge: u32,
        result: Result<Arc<Thumbnail>, String>,
    },
}

/// How the engine is started.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Configures every monitor the engine starts (tests shorten its pace).
    pub monitor: MonitorConfig,
    /// Turn Ctrl-C and SIGTERM into [`Event::CloseRequested`], so the window closes and the monitor
    /// cleans up instead of the process dying with its queue left behind. For the app only: the
    /// handlers stay installed for the life of the process.
    pub close_on_signals: bool,
    /// Where this machine's uploads are read from, to show them beside the workflows.
    pub journal: JournalSource,
}

/// The upload journal whose uploads the dashboard shows (those to the connected source bucket).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum JournalSource {
    /// vodesk's data directory (`$VODESK_DATA_DIR`, else e.g. `~/.local/share/vodesk`).
    #[default]
    Default,
    At(PathBuf),
    /// Show no local uploads.
    None,
}

/// How many of this machine's newest uploads are matched against the workflows.
const RECENT_UPLOADS: usize = 200;

/// Called after each event so a sleeping UI wakes up to drain it.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Handle held by the UI. Dropping it stops the monitor (cleaning up its queue), then the runtime,
/// and joins its thread.
pub struct Engine {
    commands: Option<tokio_mpsc::UnboundedSender<Command>>,
    events: std_mpsc::Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the engine with the monitor's default settings.
    pub fn start(wake: Wake) -> std::io::Result<Self> {
        Self::start_with(wake, EngineOptions::default())
    }

    /// Starts the engine with `options`.
    pub fn start_with(wake: Wake, options: EngineOptions) -> std::io::Result<Self> {
        let EngineOptions {
            monitor,
            close_on_signals,
            journal,
        } = options;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vodesk-engine")
            .enable_all()
            .build()?;
        let (command_tx, mut command_rx) = tokio_mpsc::unbounded_channel::<Command>();
        let (event_tx, event_rx) = std_mpsc::channel::<Event>();
        let thread = std::thread::Builder::new()
            .name("vodesk-engine-main".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let emit = Emitter {
                        events: event_tx,
                        wake,
                    };
                    if close_on_signals {
                        tokio::spawn(close_on_signal(emit.clone()));
                    }
                    let mut session: Option<Session> = None;
                    // The local demo stack, once started: it lives as long as the engine.
                    let local_stack: Arc<tokio::sync::Mutex<Option<LocalStack>>> = Arc::default();
                    while let Some(command) = command_rx.recv().await {
                        match command {
                            Command::FindStacks(settings) => {
                                let emit = emit.clone();
                                tokio::spawn(async move {
                                    let found = match AwsClients::connect(&settings).await {
                                        Ok(clients) => find_solution_stacks(&clients)
                                            .await
                                            .map_err(|e| with_credentials_fix(e.to_string(), &settings)),
                                        Err(e) => Err(e.to_string()),
                                    };
                                    emit.emit(Event::StacksFound(found));
                                });
                            }
                            Command::StartLocalStack => {
                                let emit = emit.clone();
                                let slot = local_stack.clone();
                                tokio::spawn(async move {
                                    let mut slot = slot.lock().await;
                                    if slot.is_none() {
                                        emit.emit(Event::Notice {
                                            message: "Starting the local demo stack (emulator, ffmpeg pipeline, local CloudFront)…".into(),
                                        });
                                        match LocalStack::start(LocalStackOptions::default()).await {
                                            Ok(local) => *slot = Some(local),
                                            Err(e) => {
                                                emit.emit(Event::LocalStackFailed {
                                                    message: e.to_string(),
                                                });
                                                return;
                                            }
                                        }
                                    }
                                    if let Some(local) = slot.as_ref() {
                                        emit.emit(Event::LocalStackReady(ConnectRequest {
                                            connection: ConnectionSettings::emulator(
                                                local.endpoint(),
                                                crate::local_stack::REGION,
                                            ),
                                            stack: Some(local.stack_name().to_owned()),
                                            overrides: StackOverrides::default(),
                                        }));
                                    }
                                });
                            }
                            Command::Connect(request) => {
                                // One monitor at a time: the old one's queue goes before a new one is made.
                                if let Some(old) = session.take() {
                                    old.stop().await;
                                }
                                session = Some(Session::spawn(
                                    request,
                                    emit.clone(),
                                    monitor.clone(),
                                    journal.clone(),
                                ));
                            }
                            Command::LoadMoreJobs => {
                                if let Some(session) = &session {
                                    session.send(SessionCommand::LoadMore);
                                }
                            }
                            Command::AddFiles(paths) => {
                                if let Some(session) = &session {
                                    session.send(SessionCommand::AddFiles(paths));
                                }
                            }
                            Command::PauseUpload(id) => {
                                if let Some(session) = &session {
                                    session.send(SessionCommand::Pause(id));
                                }
                            }
                            Command::ResumeUpload(id) => {
                                if let Some(session) = &session {
                                    session.send(SessionCommand::Resume(id));
                                }
                            }
                            Command::CancelUpload(id) => {
                                if let Some(session) = &session {
                                    session.send(SessionCommand::Cancel(id));
                                }
                            }
                            Command::RefreshJob(guid) => {
                                if let Some(session) = &session {
                                    session.send(SessionCommand::Refresh(guid));
                                }
                            }
                            Command::FetchThumbnail { url, max_edge } => {
                                if let Some(session) = &session {
                                    session.send(SessionCommand::Thumbnail { url, max_edge });
                                }
                            }
                        }
                    }
                    // The UI is closing: the monitor cleans up while the runtime still runs, then
                    // the local stack (if any) stops.
                    if let Some(session) = session.take() {
                        session.stop().await;
                    }
                    drop(local_stack.lock().await.take());
                });
                // Cancel what is still in flight, without hanging on a stuck request.
                runtime.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(Self {
            commands: Some(command_tx),
            events: event_rx,
            thread: Some(thread),
        })
    }

    pub fn send(&self, command: Command) {
        if let Some(tx) = &self.commands
            && tx.send(command).is_err()
        {
            // The engine thread is gone: nobody is left to act on the command.
        }
    }

    /// Every event that arrived since the last call, without waiting.
    pub fn drain(&self) -> impl Iterator<Item = Event> + '_ {
        self.events.try_iter()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.commands = None; // closes the channel: the engine's loop stops the session and ends
        // Err only if the engine thread panicked; its panic message has already been printed, and a
        // window that is closing has nothing more to do about it.
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::debug!("the engine thread ended with a panic");
        }
    }
}

#[derive(Clone)]
struct Emitter {
    events: std_mpsc::Sender<Event>,
    wake: Wake,
}

impl Emitter {
    fn emit(&self, event: Event) {
        if self.events.send(event).is_ok() {
            (self.wake)();
        }
    }
}

/// What the UI asks of a connected session.
#[derive(Debug)]
enum SessionCommand {
    LoadMore,
    AddFiles(Vec<PathBuf>),
    Pause(i64),
    Resume(i64),
    Cancel(i64),
    Thumbnail { url: String, max_edge: u32 },
    Refresh(String),
}

/// One connection: its task, the token that stops it and where the UI's requests go.
struct Session {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    commands: tokio_mpsc::UnboundedSender<SessionCommand>,
}

impl Session {
    fn spawn(
        request: ConnectRequest,
        emit: Emitter,
        config: MonitorConfig,
        journal: JournalSource,
    ) -> Self {
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

    fn send(&self, command: SessionCommand) {
        if self.commands.send(command).is_err() {
            // The session has ended: there is nothing left to act on the command.
        }
    }

    /// Stops the session and waits (at most [`STOP_BUDGET`]) for its monitor to clean up.
    async fn stop(self) {
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
    mut commands: tokio_mpsc::UnboundedReceiver<SessionCommand>,
) {
    let target = request
        .stack
        .clone()
        .unwrap_or_else(|| "the resources given by flags".into());
    emit.emit(Event::Connecting { target });
    let connected = tokio::select! {
        result = connect(&request) => result,
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
            () = uploads.step(&emit) => {}
            Some(command) = commands.recv() => match command {
                SessionCommand::LoadMore => {
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
                SessionCommand::AddFiles(paths) => uploads.add(paths, &emit).await,
                SessionCommand::Pause(id) => uploads.pause(id),
                SessionCommand::Resume(id) => uploads.resume(id),
                SessionCommand::Cancel(id) => uploads.cancel(id),
                SessionCommand::Refresh(guid) => {
                    let catalogue = catalogue.clone();
                    let emit = emit.clone();
                    tokio::spawn(async move {
                        // A job not in the table yet (or a read that fails) just stays as it is.
                        if let Ok(Some(decoded)) = catalogue.get(&guid).await
                            && let Some(record) = decoded.record
                        {
                            emit.emit(Event::ItemRead(Box::new(record)));
                        }
                    });
                }
                SessionCommand::Thumbnail { url, max_edge } => {
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
            },
            () = stop.cancelled() => break,
        }
    }
    // Running uploads pause (resumable) rather than being cut mid-part without a word.
    uploads.pause_all().await;
    drop(guard);
    stop_monitor(&mut handle, &emit).await;
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

async fn connect(request: &ConnectRequest) -> Result<(AwsClients, VodResources), String> {
    let clients = AwsClients::connect(&request.connection)
        .await
        .map_err(|e| e.to_string())?;
    let resources = discover(&clients, request.stack.as_deref(), &request.overrides)
        .await
        .map_err(|e| with_credentials_fix(e.to_string(), &request.connection))?;
    Ok((clients, resources))
}

/// A message about credentials gets the command that fixes it (`aws sso login --profile …`).
fn with_credentials_fix(message: String, settings: &ConnectionSettings) -> String {
    match crate::aws::sdk_error::credentials_fix(&message, settings.profile.as_deref()) {
        Some(fix) => format!("{fix}. ({message})"),
        None => message,
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

/// Waits for Ctrl-C or SIGTERM and asks the UI to close; a second signal ends the process at once
/// (the user insists; the next start removes the queue that leaves).
async fn close_on_signal(emit: Emitter) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        emit.emit(Event::Notice {
            message: "could not listen for Ctrl-C and SIGTERM: close the window to stop, so vodesk's queue is removed".into(),
        });
        return;
    };
    let mut asked = false;
    loop {
        let signal = tokio::select! {
            _ = interrupt.recv() => "interrupt",
            _ = terminate.recv() => "terminate",
        };
        if asked {
            eprintln!("vodesk: stopping at once; the next start removes vodesk's queue");
            std::process::exit(130);
        }
        asked = true;
        emit.emit(Event::CloseRequested { signal });
    }
}

/// The session's thumbnail fetcher: URLs on the stack's CloudFront domain only, the destination bucket
/// when the distribution refuses (a private one), and a bounded disk cache in vodesk's data directory.
fn thumbnail_fetcher(clients: &AwsClients, resources: &VodResources) -> ThumbnailFetcher {
    let cache_dir = crate::aws::upload::journal::data_dir()
        .ok()
        .map(|dir| dir.join("thumbnails"));
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
