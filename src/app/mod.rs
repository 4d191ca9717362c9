//! The desktop app (eframe/egui). Views draw from a plain [`state::AppState`] that only
//! [`state::AppState::apply`] changes; all AWS work happens on the engine's thread.

pub mod state;
mod view;

use std::sync::Arc;

use crate::aws::connection::ConnectionSettings;
use crate::aws::discovery::StackOverrides;
use crate::aws::engine::{Command, ConnectRequest, Engine};

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
            let engine = Engine::start(Arc::new(move || ctx.request_repaint()))?;
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
    fn logic(&mut self, _ctx: &eframe::egui::Context, _frame: &mut eframe::Frame) {
        for event in self.engine.drain() {
            self.state.apply(event);
        }
    }

    fn ui(&mut self, ui: &mut eframe::egui::Ui, _frame: &mut eframe::Frame) {
        view::main_window(ui, &self.state);
    }
}
