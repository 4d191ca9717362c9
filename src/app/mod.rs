//! The desktop app (eframe/egui). Views draw from a plain [`state::AppState`] that only
//! [`state::AppState::apply`] changes; all AWS work happens on the engine's thread, which connects,
//! runs the live monitor and reads the newest jobs (older ones as the user scrolls), and cleans up its queue when the window closes
//! (the engine's drop).

pub mod state;
mod view;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::aws::connection::ConnectionSettings;
use crate::aws::discovery::StackOverrides;
use crate::aws::engine::{Command, ConnectRequest, Engine, EngineOptions};

/// How often the window looks again at unfinished jobs, for warnings that come with time alone.
const WARNING_RECHECK: Duration = Duration::from_secs(15);

/// What the app was started with (the CLI's connection flags).
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub connection: ConnectionSettings,
    pub stack: Option<String>,
    pub overrides: StackOverrides,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("could not open the window: {0}")]
    Window(String),
}

/// Opens the main window and runs until it is closed.
pub fn run(launch: Launch) -> Result<(), AppError> {
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("vodesk")
            .with_app_id("vodesk")
            .with_inner_size([1100.0, 720.0])
            .with_min_inner_size([640.0, 400.0]),
        ..Default::default()
    };
    eframe::run_native(
        "vodesk",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let engine = Engine::start_with(
                Arc::new(move || ctx.request_repaint()),
                EngineOptions {
                    close_on_signals: true,
                    ..EngineOptions::default()
                },
            )?;
            Ok(Box::new(VodeskApp::new(engine, launch)))
        }),
    )
    .map_err(|e| AppError::Window(e.to_string()))
}

struct VodeskApp {
    engine: Engine,
    state: state::AppState,
}

impl VodeskApp {
    fn new(engine: Engine, launch: Launch) -> Self {
        let mut state = state::AppState::default();
        if launch.stack.is_some() || launch.overrides.source_bucket.is_some() {
            engine.send(Command::Connect(ConnectRequest {
                connection: launch.connection,
                stack: launch.stack,
                overrides: launch.overrides,
            }));
        } else {
            state.connection = state::ConnectionState::NotConfigured;
        }
        Self { engine, state }
    }
}

impl eframe::App for VodeskApp {
    fn logic(&mut self, ctx: &eframe::egui::Context, _frame: &mut eframe::Frame) {
        for event in self.engine.drain() {
            self.state.apply(event);
        }
        if self.state.close_requested {
            // Closing the window drops the engine, which removes the monitor's queue.
            ctx.send_viewport_cmd(eframe::egui::ViewportCommand::Close);
        }
        // The "no workflow started" and "stalled" warnings appear with time alone, without an
        // event to wake the window: look again now and then while a job is unfinished.
        if self
            .state
            .jobs
            .jobs()
            .iter()
            .any(|j| !j.status.is_terminal())
        {
            ctx.request_repaint_after(WARNING_RECHECK);
        }
    }

    fn ui(&mut self, ui: &mut eframe::egui::Ui, _frame: &mut eframe::Frame) {
        match view::main_window(ui, &self.state, SystemTime::now()) {
            // The state decides, so a table drawn again before the page arrives asks only once.
            Some(view::Request::LoadOlderJobs) if self.state.begin_loading_older() => {
                self.engine.send(Command::LoadMoreJobs);
            }
            _ => {}
        }
    }
}
