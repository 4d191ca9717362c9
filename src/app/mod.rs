//! The desktop app (eframe/egui). Views draw from a plain [`state::AppState`] that only
//! [`state::AppState::apply`] changes, with both the engine's events and the user's actions; all AWS
//! work happens on the engine's thread (connecting, the live monitor, the catalogue, uploads,
//! thumbnails, the local demo stack), which cleans up its queue when the window closes (the engine's
//! drop). This module owns the window's frame loop: draining events, turning clicks, drops and
//! shortcuts into actions, running what `apply` returns in one place ([`effects::run`]: commands
//! to the engine, links, thumbnails, notifications), and remembering the connection and settings
//! (with each MetadataFile stack's upload options) across runs.

pub mod dashboard;
pub mod desktop;
pub mod effects;
pub mod engine;
pub mod state;
pub mod thumbnails;
pub(crate) mod upload_queue;
pub mod views;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use eframe::egui;

use crate::app::engine::{ConnectRequest, Engine, EngineOptions, Event};
use crate::aws::connection::ConnectionSettings;
use crate::aws::discovery::StackOverrides;
use crate::aws::profiles::{Profile, list_profiles};
use desktop::{Desktop, NativeDesktop};
use state::{AppState, ConnectionState, DetailsAction, UiAction};
use thumbnails::{ThumbSize, ThumbnailBook};
use views::connect::ConnectForm;
use views::saved_connections::SavedConnections;
use views::{FrameOutput, ViewContext};

/// How often the window looks again at unfinished jobs, for warnings that come with time alone.
const WARNING_RECHECK: Duration = Duration::from_secs(15);
/// Thumbnail textures kept in memory (rows and large ones together).
const MAX_TEXTURES: usize = 600;
/// Where the remembered settings are stored in eframe's storage.
const SETTINGS_KEY: &str = "vodesk-settings";

/// What the app was started with (the CLI's connection flags, and files to upload).
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub connection: ConnectionSettings,
    pub stack: Option<String>,
    pub overrides: StackOverrides,
    /// Files and folders given on the command line (the desktop entry's `%F`: videos opened with
    /// vodesk or dropped on its launcher), uploaded once a deployment is connected.
    pub files: Vec<PathBuf>,
}

/// Remembered across runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Settings {
    form: ConnectForm,
    /// The last connection was to the local demo stack (started again on the next run).
    last_was_local: bool,
    /// Connect at start to the last deployment.
    reconnect: bool,
    sort: dashboard::Sort,
    notifications: bool,
    /// The upload options of each MetadataFile stack used, by region and stack.
    upload_options: BTreeMap<String, state::UploadOptions>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            form: ConnectForm::default(),
            last_was_local: false,
            reconnect: false,
            sort: dashboard::Sort::default(),
            notifications: true,
            upload_options: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("could not open the window: {0}")]
    Window(String),
}

fn icon() -> Option<egui::IconData> {
    let image = image::load_from_memory(include_bytes!("../../assets/vodesk.png")).ok()?;
    let rgba = image.to_rgba8();
    Some(egui::IconData {
        width: rgba.width(),
        height: rgba.height(),
        rgba: rgba.into_raw(),
    })
}

/// Opens the main window and runs until it is closed.
pub fn run(launch: Launch) -> Result<(), AppError> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("vodesk")
        .with_app_id("vodesk")
        .with_inner_size([1200.0, 760.0])
        .with_min_inner_size([720.0, 420.0])
        .with_drag_and_drop(true);
    if let Some(icon) = icon() {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    // eframe keeps the settings (connection, profile, stack) in its storage folder: make it the user's
    // alone before eframe writes there. Failing to costs only that protection.
    if let Some(dir) = eframe::storage_dir("vodesk")
        && let Err(err) = crate::aws::upload::journal::create_private_dir(&dir)
    {
        tracing::warn!("could not make {} private: {err}", dir.display());
    }
    let options = eframe::NativeOptions {
        viewport,
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "vodesk",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || ctx.request_repaint());
            let engine = Engine::start_with(
                wake.clone(),
                EngineOptions {
                    close_on_signals: true,
                    ..EngineOptions::default()
                },
            )?;
            let settings: Settings = cc
                .storage
                .and_then(|s| eframe::get_value(s, SETTINGS_KEY))
                .unwrap_or_default();
            Ok(Box::new(VodeskApp::new(
                engine,
                launch,
                settings,
                Box::new(NativeDesktop::new(wake)),
            )))
        }),
    )
    .map_err(|e| AppError::Window(e.to_string()))
}

/// The app as eframe runs it (public so the end-to-end test can run the real thing headless).
pub struct VodeskApp {
    engine: Engine,
    state: AppState,
    desktop: Box<dyn Desktop>,
    thumbs: ThumbnailBook,
    form: ConnectForm,
    profiles: Vec<Profile>,
    /// Started with connection flags: those are for this run only, the remembered form stays.
    saved: Option<Settings>,
    /// What the remembered settings ask for at start (a connection), applied in the first frame.
    startup: Option<UiAction>,
    /// Files from the command line, waiting for the first connection.
    launch_files: Vec<PathBuf>,
    /// The named connections of connections.toml (shared with the CLI's `--connection`).
    saved_connections: SavedConnections,
}

impl VodeskApp {
    /// The app with default settings, no flags and the given desktop (tests stand in for dialogs,
    /// players and notifications).
    #[cfg(feature = "test-hooks")]
    pub fn for_test(engine: Engine, desktop: Box<dyn Desktop>) -> Self {
        Self::new(engine, Launch::default(), Settings::default(), desktop)
    }

    /// The app with default settings started as `vodesk [flags] [files]` would be.
    #[cfg(feature = "test-hooks")]
    pub fn for_test_launched(engine: Engine, desktop: Box<dyn Desktop>, launch: Launch) -> Self {
        Self::new(engine, launch, Settings::default(), desktop)
    }

    /// The app with default settings whose warnings come after `thresholds` (tests shorten them to
    /// see a stalled job within seconds).
    #[cfg(feature = "test-hooks")]
    pub fn for_test_with_thresholds(
        engine: Engine,
        desktop: Box<dyn Desktop>,
        thresholds: crate::jobs::Thresholds,
    ) -> Self {
        let mut app = Self::new(engine, Launch::default(), Settings::default(), desktop);
        app.state = std::mem::take(&mut app.state).with_thresholds(thresholds);
        app
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Whether the dashboard row's thumbnail of `url` is loaded.
    pub fn thumbnail_ready(&self, url: &str) -> bool {
        self.thumbs.is_ready(url, ThumbSize::Row)
    }

    fn new(engine: Engine, launch: Launch, settings: Settings, desktop: Box<dyn Desktop>) -> Self {
        let mut app = Self {
            engine,
            state: AppState::remembering(
                settings.sort,
                settings.notifications,
                settings.last_was_local,
            )
            .with_upload_options(settings.upload_options.clone()),
            desktop,
            thumbs: ThumbnailBook::new(MAX_TEXTURES),
            form: settings.form.clone(),
            profiles: list_profiles(),
            saved: None,
            startup: None,
            launch_files: launch.files,
            saved_connections: SavedConnections::load(),
        };
        if launch.stack.is_some() || launch.overrides.source_bucket.is_some() {
            // Flags on the command line win over the remembered connection.
            let request = ConnectRequest {
                connection: launch.connection,
                stack: launch.stack,
                overrides: launch.overrides,
            };
            app.form = ConnectForm::from_request(&request);
            app.saved = Some(settings.clone());
            app.startup = Some(UiAction::Connect(request));
        } else if settings.reconnect && settings.last_was_local {
            app.startup = Some(UiAction::StartLocalStack);
        } else if settings.reconnect && app.form.can_connect() {
            app.startup = Some(UiAction::Connect(app.form.request()));
        }
        app
    }

    /// Applies an input and runs what it asks for: the one place inputs enter the state.
    fn apply(&mut self, ctx: &egui::Context, input: impl Into<state::Input>) {
        let effects = self.state.apply(input);
        let mut window = effects::Window {
            ctx,
            desktop: self.desktop.as_mut(),
            thumbs: &mut self.thumbs,
        };
        for command in effects::run(&mut self.state, &mut window, effects) {
            self.engine.send(command);
        }
    }

    /// Keyboard shortcuts: Ctrl+O adds videos, Ctrl+F finds, Ctrl+C copies the selected job's HLS
    /// URL, Delete cancels the selected job's upload, Escape closes the details.
    fn shortcuts(&mut self, ctx: &egui::Context, out: &mut FrameOutput) {
        let typing = ctx.memory(|m| m.focused().is_some());
        let (open, find, copy, delete, escape) = ctx.input_mut(|i| {
            (
                i.consume_key(egui::Modifiers::COMMAND, egui::Key::O),
                i.consume_key(egui::Modifiers::COMMAND, egui::Key::F),
                !typing && i.events.iter().any(|e| matches!(e, egui::Event::Copy)),
                !typing && i.consume_key(egui::Modifiers::NONE, egui::Key::Delete),
                i.consume_key(egui::Modifiers::NONE, egui::Key::Escape),
            )
        });
        let connected = matches!(self.state.connection(), ConnectionState::Connected(_));
        // Refused upload options stop Ctrl+O as they disable "Add videos…".
        if open && connected && self.state.upload_options().for_upload().is_ok() {
            out.pick_files = true;
        }
        if find {
            ctx.memory_mut(|m| m.request_focus(egui::Id::unique("job-filter")));
        }
        if copy
            && let Some(url) = self
                .state
                .selected_job()
                .and_then(|j| j.record.as_ref())
                .and_then(|r| r.hls_url())
                .map(str::to_owned)
        {
            ctx.copy_text(url.clone());
            out.actions
                .push(UiAction::Details(DetailsAction::Copied(url)));
        }
        if delete
            && let Some(id) = self
                .state
                .selected_job()
                .and_then(|j| j.upload.as_ref())
                .map(|u| u.upload_id)
        {
            out.actions.push(UiAction::CancelUpload(id));
        }
        if escape {
            out.actions.push(UiAction::Select(None));
        }
    }
}

/// Draws one frame of the main window from `state`, as the app does (for tests and screenshots):
/// no thumbnails are fetched and the connect form starts empty.
#[cfg(feature = "test-hooks")]
pub fn draw_for_test(ui: &mut egui::Ui, state: &mut AppState, now: SystemTime) -> FrameOutput {
    draw_for_test_with_saved(ui, state, now, &mut SavedConnections::default())
}

/// [`draw_for_test`] with the saved connections of a test's own file; "Save connection" writes it
/// and says so in a notice, as the app does.
#[cfg(feature = "test-hooks")]
pub fn draw_for_test_with_saved(
    ui: &mut egui::Ui,
    state: &mut AppState,
    now: SystemTime,
    saved: &mut SavedConnections,
) -> FrameOutput {
    let mut thumbs = ThumbnailBook::new(MAX_TEXTURES);
    // The connect form lives between frames (in egui's memory here, in the app itself otherwise).
    let form_id = egui::Id::unique("vodesk-test-connect-form");
    let mut form: ConnectForm = ui
        .ctx()
        .data_mut(|d| d.get_temp(form_id))
        .unwrap_or_default();
    let mut out = views::main_window(
        ui,
        state,
        ViewContext {
            thumbs: &mut thumbs,
            form: &mut form,
            profiles: &[],
            saved,
            waiting_files: 0,
            now,
        },
    );
    ui.ctx().data_mut(|d| d.insert_temp(form_id, form));
    if let Some(request) = out.save_connection.take() {
        let message = saved.save(&request);
        let effects = state.apply(Event::Notice { message });
        debug_assert!(effects.is_empty(), "a notice asks for nothing");
    }
    out
}

impl eframe::App for VodeskApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if let Some(action) = self.startup.take() {
            self.apply(ctx, action);
        }
        let events: Vec<Event> = self.engine.drain().collect();
        for event in events {
            self.apply(ctx, event);
        }
        let picked = self.desktop.picked();
        if !picked.is_empty() {
            self.apply(ctx, UiAction::AddFiles(picked));
        }
        if !self.launch_files.is_empty()
            && matches!(self.state.connection(), ConnectionState::Connected(_))
        {
            let files = std::mem::take(&mut self.launch_files);
            self.apply(ctx, UiAction::AddFiles(files));
        }
        // The "no workflow started" and "stalled" warnings appear with time alone, without an
        // event to wake the window: look again now and then while a job is unfinished.
        if self
            .state
            .jobs()
            .jobs()
            .iter()
            .any(|j| !j.status.is_terminal())
        {
            ctx.request_repaint_after(WARNING_RECHECK);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let mut out = views::main_window(
            ui,
            &self.state,
            ViewContext {
                thumbs: &mut self.thumbs,
                form: &mut self.form,
                profiles: &self.profiles,
                saved: &self.saved_connections,
                waiting_files: self.launch_files.len(),
                now: SystemTime::now(),
            },
        );
        if let Some(request) = out.save_connection.take() {
            let message = self.saved_connections.save(&request);
            self.apply(&ctx, Event::Notice { message });
        }
        self.shortcuts(&ctx, &mut out);
        for (url, size) in self.thumbs.take_requests() {
            out.actions.push(UiAction::FetchThumbnail {
                url,
                max_edge: size.max_edge(),
            });
        }
        let details = out.details.into_iter().map(UiAction::Details);
        for action in out.actions.into_iter().chain(details) {
            self.apply(&ctx, action);
        }
        if out.pick_files {
            self.desktop.pick_videos();
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let connected = matches!(self.state.connection(), ConnectionState::Connected(_));
        let settings = match &self.saved {
            Some(saved) => Settings {
                sort: self.state.sort(),
                notifications: self.state.notifications_enabled(),
                upload_options: self.state.upload_options().remembered().clone(),
                ..saved.clone()
            },
            None => Settings {
                form: self.form.clone(),
                last_was_local: self.state.last_was_local(),
                reconnect: connected,
                sort: self.state.sort(),
                notifications: self.state.notifications_enabled(),
                upload_options: self.state.upload_options().remembered().clone(),
            },
        };
        eframe::set_value(storage, SETTINGS_KEY, &settings);
    }
}
