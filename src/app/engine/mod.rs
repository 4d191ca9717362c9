//! The engine: one tokio runtime on its own thread doing all AWS work for the UI. The UI sends one
//! typed [`Command`] enum and drains typed [`Event`]s each frame; the engine wakes the UI
//! (`request_repaint`) after every event, so the UI thread never blocks and never polls in a busy loop.
//!
//! The engine itself runs what needs no connection (listing deployments, starting the local demo
//! stack, checking a setup with the doctor) and the Connect that starts a [`session`]; every other command goes, as it is, to the
//! connected session, which owns the monitor, the catalogue, the uploads and the thumbnails.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc as tokio_mpsc;

use crate::aws::connection::ConnectionSettings;
use crate::aws::discovery::{SolutionStack, StackOverrides, VodResources};
use crate::aws::monitor::{JobUpdate, MonitorConfig};
use crate::aws::thumbnails::Thumbnail;
use crate::aws::upload::events::UploadEvent;
use crate::aws::upload::journal::UploadRecord;
use crate::aws::upload::select::Refusal;
use crate::contract::JobRecord;
use crate::doctor::Checklist;
use crate::local_stack::emulator_install::{InstallProgress, ProgressSink};
use crate::local_stack::pipeline::SimulationRule;
use crate::local_stack::vod_template::StackParameters;
use crate::local_stack::{LocalStack, LocalStackOptions};
use crate::playback::PlaybackReport;
pub use operations::{OperationCommand, OperationEvent};
use session::Session;

mod connect;
mod operations;
mod session;
mod uploads;

/// How many of the newest jobs are read from the table when connecting.
pub const FIRST_PAGE_SIZE: usize = 100;

/// How many older jobs each [`Command::LoadMoreJobs`] reads.
pub const OLDER_PAGE_SIZE: usize = 100;

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
    /// sent, with [`Event::Upload`] progress. Ignored when not connected. `metadata` holds the
    /// fields of each metadata file on a MetadataFile stack (empty on a VideoFile stack).
    AddFiles {
        paths: Vec<PathBuf>,
        metadata: Vec<(String, String)>,
    },
    /// Pauses a running upload (the journal keeps what was confirmed).
    PauseUpload(i64),
    /// Resumes (or retries) a paused, failed or interrupted upload.
    ResumeUpload(i64),
    /// Cancels an upload: stops it, aborts the multipart upload and forgets it.
    CancelUpload(i64),
    /// Fetches and decodes a thumbnail, answered with [`Event::Thumbnail`].
    FetchThumbnail { url: String, max_edge: u32 },
    /// Reads one job's item (consistently) when none was read yet (its read after the message failed),
    /// answered with [`Event::ItemRead`].
    RefreshJob(String),
    /// Lists the solution's deployments reachable with these settings ([`Event::StacksFound`]).
    FindStacks(ConnectionSettings),
    /// Starts the local demo stack inside the app (once), answered with [`Event::LocalStackReady`]
    /// (whose request the UI connects with) or [`Event::LocalStackFailed`]. It stops with the app.
    StartLocalStack,
    /// Runs the doctor's checklist on a setup ("Check my setup" after a failed connection),
    /// answered with one [`Event::SetupChecked`]. Needs no connection; touches no session.
    CheckSetup(ConnectRequest),
    /// "Check playback": reads the job's item again and checks its outputs play
    /// ([`crate::playback`]), answered with [`Event::PlaybackChecked`].
    CheckPlayback(String),
    /// "Run again…" and "Delete…" of one job: planned, then executed on confirmation.
    Operation(OperationCommand),
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
    /// One Ingest, Complete or Error, from the queue (with its item) or from polling the table.
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
    /// Progress or a change of state of one upload. A change of state (started, paused, failed,
    /// completed) carries the journal's record as it stands after it, which joins the upload to its job.
    Upload {
        event: UploadEvent,
        record: Option<Box<UploadRecord>>,
    },
    /// A job's whole item, read on [`Command::RefreshJob`].
    ItemRead(Box<JobRecord>),
    /// The deployments found by [`Command::FindStacks`], or why none could be listed.
    StacksFound(Result<Vec<SolutionStack>, String>),
    /// The local demo stack runs; connect with this request.
    LocalStackReady(ConnectRequest),
    /// The doctor's checklist of a setup, on [`Command::CheckSetup`].
    SetupChecked(Box<Checklist>),
    LocalStackFailed {
        message: String,
    },
    /// The local demo stack's first start installs its emulator: one step of that install.
    LocalStackInstalling(InstallProgress),
    /// A thumbnail fetched and decoded (or why not).
    Thumbnail {
        url: String,
        max_edge: u32,
        result: Result<Arc<Thumbnail>, String>,
    },
    /// The report of [`Command::CheckPlayback`], or why the check could not run.
    PlaybackChecked {
        guid: String,
        report: Result<Box<PlaybackReport>, String>,
    },
    /// What came of a [`Command::Operation`].
    Operation(OperationEvent),
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
    /// The solution's parameters the "Local demo stack" is deployed with (by default the local
    /// stack's: VideoFile, FrameCapture on); a MetadataFile demo stack rehearses metadata uploads.
    pub local_stack_parameters: StackParameters,
    /// Failures the local demo stack plays on purpose (`vodesk local-stack --simulate`).
    pub local_stack_simulate: Vec<SimulationRule>,
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
            local_stack_parameters,
            local_stack_simulate,
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
                                    emit.emit(Event::StacksFound(connect::find_stacks(&settings).await));
                                });
                            }
                            Command::CheckSetup(request) => {
                                let emit = emit.clone();
                                tokio::spawn(async move {
                                    let checklist = connect::check_setup(&request).await;
                                    emit.emit(Event::SetupChecked(Box::new(checklist)));
                                });
                            }
                            Command::StartLocalStack => {
                                let emit = emit.clone();
                                let slot = local_stack.clone();
                                let simulate = local_stack_simulate.clone();
                                tokio::spawn(async move {
                                    let mut slot = slot.lock().await;
                                    if slot.is_none() {
                                        emit.emit(Event::Notice {
                                            message: "Starting the local demo stack (emulator, ffmpeg pipeline, local CloudFront)…".into(),
                                        });
                                        let progress = emit.clone();
                                        let options = LocalStackOptions {
                                            install_progress: Some(ProgressSink::new(move |step| {
                                                progress.emit(Event::LocalStackInstalling(step));
                                            })),
                                            parameters: local_stack_parameters,
                                            simulate,
                                            ..LocalStackOptions::default()
                                        };
                                        match LocalStack::start(options).await {
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
                            // Everything else is about the connected deployment: its session
                            // runs it (nothing is connected: nothing to do).
                            command => {
                                if let Some(session) = &session {
                                    session.send(command);
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

/// Sends events to the UI and wakes it.
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
