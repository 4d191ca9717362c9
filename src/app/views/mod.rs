//! The main window, drawn from the app state: a header (deployment, Add videos…, how status arrives),
//! the upload options of a MetadataFile stack under it, the connect screen until connected, then the dashboard with the details panel of the selected job
//! on the right and the upload queue below, a status bar (total upload rate, the last notice), and the
//! overlay that names the target bucket while files are dragged over the window. Views only read the
//! state; what the user does comes back as [`UiAction`]s (and details-panel actions) for the app.

pub(crate) mod connect;
pub(crate) mod dashboard;
pub mod details;
pub(crate) mod operations;
pub(crate) mod playback;
pub mod saved_connections;
pub(crate) mod upload_options;
pub(crate) mod uploads;
pub(crate) mod widgets;

use std::time::SystemTime;

use eframe::egui::{self, RichText};

use super::state::{AppState, ConnectionState, MonitorState, UiAction};
use super::thumbnails::ThumbnailBook;
use crate::app::engine::MonitorMode;
use crate::aws::profiles::Profile;
use crate::units::human_rate;
use connect::ConnectForm;
use details::DetailsAction;
use widgets::{GREEN, dot};

/// Everything a frame's drawing asked for.
#[derive(Debug, Default)]
pub struct FrameOutput {
    pub actions: Vec<UiAction>,
    pub details: Vec<DetailsAction>,
    /// "Add videos…" was clicked.
    pub pick_files: bool,
    /// "Save connection" was clicked on the connect screen.
    pub save_connection: Option<saved_connections::SaveConnection>,
}

/// What the views draw with besides the state.
pub struct ViewContext<'a> {
    pub thumbs: &'a mut ThumbnailBook,
    pub form: &'a mut ConnectForm,
    pub profiles: &'a [Profile],
    pub saved: &'a saved_connections::SavedConnections,
    /// Files given on the command line, waiting for a connection.
    pub waiting_files: usize,
    pub now: SystemTime,
}

pub fn main_window(ui: &mut egui::Ui, state: &AppState, view: ViewContext<'_>) -> FrameOutput {
    let mut out = FrameOutput::default();
    let connected = matches!(state.connection(), ConnectionState::Connected(_));
    egui::Panel::top("header").show(ui, |ui| header(ui, state, &mut out));
    if upload_options::applies(state) {
        egui::Panel::top("upload-options")
            .show(ui, |ui| upload_options::show(ui, state, &mut out.actions));
    }
    egui::Panel::bottom("status").show(ui, |ui| status_bar(ui, state));
    if connected && uploads::has_content(state) {
        egui::Panel::bottom("uploads")
            .resizable(true)
            .default_size(170.0)
            .min_size(80.0)
            .show(ui, |ui| uploads::show(ui, state, &mut out.actions));
    }
    if connected && let Some(job) = state.selected_job() {
        egui::Panel::right("details")
            .resizable(true)
            .default_size(420.0)
            .min_size(300.0)
            .show(ui, |ui| {
                out.details = details::show(ui, job, state, view.thumbs);
            });
    }
    egui::CentralPanel::default().show(ui, |ui| {
        if connected {
            dashboard::show(ui, state, view.thumbs, view.now, &mut out.actions);
        } else {
            let screen = connect::ConnectView {
                form: view.form,
                profiles: view.profiles,
                saved: view.saved,
                waiting_files: view.waiting_files,
            };
            connect::show(ui, state, screen, &mut out);
        }
    });
    if connected {
        operations::confirmation(ui.ctx(), state.operations(), &mut out.actions);
        drop_overlay(ui, state);
    }
    // Files and folders dropped anywhere on the window.
    let dropped: Vec<std::path::PathBuf> = ui.ctx().input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    });
    if !dropped.is_empty() {
        out.actions.push(UiAction::AddFiles(dropped));
    }
    out
}

fn header(ui: &mut egui::Ui, state: &AppState, out: &mut FrameOutput) {
    ui.horizontal(|ui| {
        ui.heading("vodesk");
        match &state.connection() {
            ConnectionState::Connected(r) => {
                let title = match (&r.stack_name, &r.solution_version) {
                    (Some(name), Some(version)) => format!("{name}  ·  {version}"),
                    (Some(name), None) => name.clone(),
                    (None, _) => "resources given by flags".into(),
                };
                let resources = format!(
                    "Region {}\nSource bucket {}\nDestination bucket {}\nTable {}\nSNS topic {}\nCloudFront {}\nWorkflow trigger {}",
                    r.region,
                    r.source_bucket,
                    r.destination_bucket.as_deref().unwrap_or("(unknown)"),
                    r.table,
                    r.topic_arn,
                    r.cloudfront_domain.as_deref().unwrap_or("(unknown)"),
                    r.workflow_trigger
                        .map(|t| format!("{t:?}"))
                        .unwrap_or_else(|| "(unknown)".into()),
                );
                ui.label(RichText::new(title).strong()).on_hover_text(resources);
                // A refused upload option (MetadataFile stacks) holds uploads back until it is fixed.
                let blocked = state.upload_options().for_upload().err();
                if ui
                    .add_enabled(blocked.is_none(), egui::Button::new("➕ Add videos…"))
                    .on_hover_text("Choose video files to upload (Ctrl+O); or drop them anywhere on the window")
                    .on_disabled_hover_text(blocked.unwrap_or_default())
                    .clicked()
                {
                    out.pick_files = true;
                }
            }
            _ => {
                ui.label(RichText::new("Video on Demand on AWS").weak());
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.menu_button("⚙", |ui| {
                let mut enabled = state.notifications_enabled();
                if ui
                    .checkbox(&mut enabled, "Desktop notifications on Complete and Error")
                    .changed()
                {
                    out.actions.push(UiAction::SetNotifications(enabled));
                }
                if ui.button("Open log folder").clicked() {
                    out.actions.push(UiAction::OpenLogFolder);
                    ui.close();
                }
            })
            .response
            .on_hover_text("Settings");
            connection_chip(ui, state.connection());
            if matches!(state.connection(), ConnectionState::Connected(_)) {
                ui.add_space(12.0);
                monitor_indicator(ui, state.monitor());
            }
        });
    });
}

fn status_bar(ui: &mut egui::Ui, state: &AppState) {
    ui.horizontal(|ui| {
        let active = state.uploads().active(state.jobs());
        if active > 0 {
            ui.label(format!(
                "⬆ {active} uploading · {}",
                human_rate(state.uploads().total_rate(state.jobs()))
            ));
            ui.separator();
        }
        if let Some(last) = state.notices().last() {
            let response = ui.add(egui::Label::new(RichText::new(last).weak()).truncate());
            if state.notices().len() > 1 {
                response.on_hover_text(state.notices().join("\n"));
            }
        }
    });
}

fn drop_overlay(ui: &mut egui::Ui, state: &AppState) {
    let hovering = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());
    if !hovering {
        return;
    }
    let ConnectionState::Connected(resources) = &state.connection() else {
        return;
    };
    let screen = ui.ctx().content_rect();
    let painter = ui.ctx().layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop-overlay"),
    ));
    painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(180));
    painter.rect_stroke(
        screen.shrink(16.0),
        12.0,
        egui::Stroke::new(3.0, GREEN),
        egui::StrokeKind::Inside,
    );
    painter.text(
        screen.center() - egui::vec2(0.0, 16.0),
        egui::Align2::CENTER_CENTER,
        "Drop to upload",
        egui::FontId::proportional(32.0),
        egui::Color32::WHITE,
    );
    painter.text(
        screen.center() + egui::vec2(0.0, 22.0),
        egui::Align2::CENTER_CENTER,
        format!("into s3://{}", resources.source_bucket),
        egui::FontId::proportional(18.0),
        egui::Color32::LIGHT_GRAY,
    );
}

fn connection_chip(ui: &mut egui::Ui, connection: &ConnectionState) {
    let (text, color) = match connection {
        ConnectionState::NotConfigured => ("not connected", ui.visuals().weak_text_color()),
        ConnectionState::Connecting { .. } => ("connecting…", ui.visuals().warn_fg_color),
        ConnectionState::Connected(_) => ("connected", GREEN),
        ConnectionState::Failed { .. } => ("connection failed", ui.visuals().error_fg_color),
    };
    // Right to left: the dot ends up after the text.
    ui.label(RichText::new(text).color(color));
    dot(ui, color);
}

fn monitor_indicator(ui: &mut egui::Ui, monitor: &MonitorState) {
    let warn = ui.visuals().warn_fg_color;
    let weak = ui.visuals().weak_text_color();
    let (text, color, explanation) = match monitor {
        MonitorState::Off => return,
        MonitorState::Starting => (
            "Starting monitor…".to_owned(),
            weak,
            "Creating vodesk's own queue on the stack's topic.".to_owned(),
        ),
        MonitorState::Active(MonitorMode::Live {
            queue_name,
            also_polling,
        }) => (
            "Live".to_owned(),
            GREEN,
            format!(
                "Every Ingest, Complete and Error arrives within a second, through vodesk's own queue {queue_name}{}. The queue is removed when the window closes.",
                if *also_polling {
                    "; this stack publishes only errors (EnableSns=No), so the table is read every few seconds too"
                } else {
                    ""
                }
            ),
        ),
        MonitorState::Active(MonitorMode::Polling { reason }) => (
            "Polling mode".to_owned(),
            warn,
            format!("Status is read from the table every few seconds: {reason}."),
        ),
        MonitorState::Stopped { message } => ("Monitor stopped".to_owned(), weak, message.clone()),
    };
    // Right to left: the text first, then its dot to its left.
    let label = ui.label(RichText::new(text).color(color));
    let dot = dot(ui, color);
    label.union(dot).on_hover_text(explanation);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::engine::{Event, JobsPage};
    use crate::aws::discovery::VodResources;
    use crate::contract::decode_document;

    fn page_of(count: u64, more: bool) -> Event {
        let template = decode_document(
            include_str!("../../../tests/fixtures/vod-examples/sns-ingest.json").as_bytes(),
        )
        .unwrap()
        .record
        .unwrap();
        let records = (0..count)
            .map(|n| {
                let mut record = template.clone();
                record.guid = format!("g{n}");
                record
            })
            .collect();
        Event::Jobs(Box::new(JobsPage {
            records,
            uploads: vec![],
            warnings: vec![],
            more,
            read_at: SystemTime::now(),
        }))
    }

    fn connected() -> AppState {
        let mut state = AppState::default();
        state.apply(Event::Connected(Box::new(VodResources::sample("vod"))));
        state
    }

    fn frame(ctx: &egui::Context, state: &AppState) -> FrameOutput {
        let mut thumbs = ThumbnailBook::new(16);
        let mut form = ConnectForm::default();
        let mut out = None;
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            out = Some(main_window(
                ui,
                state,
                ViewContext {
                    thumbs: &mut thumbs,
                    form: &mut form,
                    profiles: &[],
                    saved: &saved_connections::SavedConnections::default(),
                    waiting_files: 0,
                    now: SystemTime::now(),
                },
            ));
        });
        // No renderer here: the font atlas is dropped unapplied on purpose.
        output.textures_delta.clear();
        out.unwrap()
    }

    #[test]
    fn only_rows_near_the_end_ask_for_older_jobs_and_only_when_allowed() {
        let mut state = connected();
        state.apply(page_of(100, true));
        let rows = 100;
        assert!(!dashboard::wants_older_at(&state, 0, rows));
        assert!(!dashboard::wants_older_at(
            &state,
            rows - dashboard::PREFETCH_ROWS - 1,
            rows
        ));
        assert!(dashboard::wants_older_at(
            &state,
            rows - dashboard::PREFETCH_ROWS,
            rows
        ));
        assert!(state.begin_loading_older());
        assert!(
            !dashboard::wants_older_at(&state, 99, rows),
            "a page is in flight"
        );
    }

    #[test]
    fn the_window_asks_for_older_jobs_when_the_end_of_a_short_table_is_visible() {
        let mut state = connected();
        state.apply(page_of(5, true));
        let ctx = egui::Context::default();
        let out = frame(&ctx, &state);
        assert!(out.actions.contains(&UiAction::LoadOlderJobs));
        // The state asks the engine once, however many frames ask.
        let commands: Vec<_> = out
            .actions
            .into_iter()
            .flat_map(|a| state.apply(a))
            .collect();
        assert_eq!(commands.len(), 1);
        state.apply(page_of(0, false));
        let out = frame(&ctx, &state);
        assert!(!out.actions.contains(&UiAction::LoadOlderJobs));
    }
}
