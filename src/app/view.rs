//! Draws the main window from the app state: a header with the connection and how status arrives
//! (live or polling), the deployment's resources, and the jobs dashboard (a virtualised table). It
//! only reads the state and the clock it is given; it never blocks and never talks to AWS. What the
//! user asks for (older jobs, as the table's end scrolls into view) is returned as a [`Request`] for
//! the app to act on, so the view stays a function of the state.

use std::time::{Duration, SystemTime};

use eframe::egui::{self, Color32, RichText};
use egui_extras::{Column, TableBuilder};

use super::state::{AppState, CatalogueState, ConnectionState, MonitorState};
use crate::aws::engine::MonitorMode;
use crate::contract::JobRecord;
use crate::jobs::{Job, JobStatus, WarningKind};
use crate::time::{format_iso8601, human_duration};

const GREEN: Color32 = Color32::from_rgb(0x2e, 0xa0, 0x43);
const ROW_HEIGHT: f32 = 22.0;
/// Older jobs are asked for once a row this close to the table's end is drawn, so they usually
/// arrive before the user reaches the end.
const PREFETCH_ROWS: usize = 20;

/// What the user asked for while the window was drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Read the next older page of jobs.
    LoadOlderJobs,
}

/// Whether drawing dashboard row `row` of `rows` should ask for older jobs.
fn wants_older_at(state: &AppState, row: usize, rows: usize) -> bool {
    row + PREFETCH_ROWS >= rows && state.wants_older()
}

pub fn main_window(ui: &mut egui::Ui, state: &AppState, now: SystemTime) -> Option<Request> {
    let mut request = None;
    egui::Panel::top("header").show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.heading("vodesk");
            ui.label(RichText::new("Video on Demand on AWS").weak());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                connection_chip(ui, &state.connection);
                if matches!(state.connection, ConnectionState::Connected(_)) {
                    ui.add_space(12.0);
                    monitor_indicator(ui, &state.monitor);
                }
            });
        });
    });
    if let Some(last) = state.notices.last() {
        egui::Panel::bottom("notices").show(ui, |ui| {
            let response = ui.add(egui::Label::new(RichText::new(last).weak()).truncate());
            if state.notices.len() > 1 {
                response.on_hover_text(state.notices.join("\n"));
            }
        });
    }
    egui::CentralPanel::default().show(ui, |ui| {
        if let ConnectionState::Connected(_) = &state.connection {
            connection_card(ui, &state.connection);
            ui.add_space(10.0);
            request = jobs_section(ui, state, now);
        } else {
            egui::ScrollArea::vertical().show(ui, |ui| {
                connection_card(ui, &state.connection);
                ui.add_space(16.0);
                ui.separator();
                ui.label(RichText::new("In this build").strong());
                ui.label(
                    "Once connected, vodesk shows the deployment's newest jobs from its table and \
                     updates them live as the solution reports Ingest, Complete and Error (through a \
                     short-lived queue of its own, removed when the window closes; or by reading the \
                     table every few seconds when that is not allowed). Uploading from the window, \
                     job details with thumbnails, media info and copyable links arrive in the next \
                     releases; the command line already offers vodesk upload, watch, list and show.",
                );
            });
        }
    });
    request
}

fn dot(ui: &mut egui::Ui, color: Color32) -> egui::Response {
    // Painted, not a "●" glyph: egui's bundled fonts have no such character.
    let (rect, response) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 4.5, color);
    response
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

fn connection_card(ui: &mut egui::Ui, connection: &ConnectionState) {
    match connection {
        ConnectionState::NotConfigured => {
            ui.heading("No deployment selected");
            ui.label(
                "Start vodesk with --stack NAME (or set VODESK_STACK) to connect to a Video on Demand \
                 on AWS deployment; add --profile and --region as needed. The command vodesk stacks lists \
                 the deployments in a region. Without an AWS account, vodesk local-stack runs a local \
                 deployment and prints the settings to start vodesk with.",
            );
        }
        ConnectionState::Connecting { target } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Connecting to {target}…"));
            });
        }
        ConnectionState::Failed { message } => {
            ui.heading("Could not connect");
            ui.label(RichText::new(message).color(ui.visuals().error_fg_color));
        }
        ConnectionState::Connected(r) => {
            let title = match (&r.stack_name, &r.solution_version) {
                (Some(name), Some(version)) => format!("{name}  ·  {version}"),
                (Some(name), None) => name.clone(),
                (None, _) => "Resources given by flags".into(),
            };
            ui.heading(title);
            ui.label(
                RichText::new(format!(
                    "Source bucket {}  ·  table {}  ·  {}",
                    r.source_bucket, r.table, r.region
                ))
                .weak(),
            );
            egui::CollapsingHeader::new("Resources")
                .default_open(false)
                .show(ui, |ui| {
                    egui::Grid::new("resources")
                        .num_columns(2)
                        .striped(true)
                        .spacing([24.0, 6.0])
                        .show(ui, |ui| {
                            let mut row = |label: &str, value: &str| {
                                ui.label(RichText::new(label).weak());
                                ui.label(RichText::new(value).monospace());
                                ui.end_row();
                            };
                            row("Region", &r.region);
                            row("Source bucket", &r.source_bucket);
                            if let Some(dest) = &r.destination_bucket {
                                row("Destination bucket", dest);
                            }
                            row("Table", &r.table);
                            row("SNS topic", &r.topic_arn);
                            row(
                                "CloudFront",
                                r.cloudfront_domain.as_deref().unwrap_or("(unknown)"),
                            );
                            if let Some(trigger) = r.workflow_trigger {
                                row("Workflow trigger", &format!("{trigger:?}"));
                            }
                        });
                });
        }
    }
}

fn jobs_section(ui: &mut egui::Ui, state: &AppState, now: SystemTime) -> Option<Request> {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Jobs").strong().size(16.0));
        let count = state.order.len();
        let summary = match &state.catalogue {
            CatalogueState::NotLoaded => String::new(),
            CatalogueState::Loading => "reading the table…".to_owned(),
            CatalogueState::Loaded { more: true } => {
                format!("{count} so far, newest first (older ones load as you scroll)")
            }
            CatalogueState::Loaded { more: false } => format!("{count}, newest first"),
            CatalogueState::Failed { .. } => format!("{count} heard live"),
        };
        ui.label(RichText::new(summary).weak());
        if matches!(state.catalogue, CatalogueState::Loading) {
            ui.spinner();
        }
    });
    if let CatalogueState::Failed { message } = &state.catalogue {
        ui.label(
            RichText::new(format!("Could not read the jobs table: {message}"))
                .color(ui.visuals().error_fg_color),
        );
    }
    if state.order.is_empty() {
        if matches!(state.catalogue, CatalogueState::Loaded { .. }) {
            ui.add_space(8.0);
            ui.label(
                "No jobs yet. Upload a video to the source bucket (vodesk upload FILE) and it \
                 appears here as soon as its workflow starts.",
            );
        }
        return None;
    }
    ui.add_space(4.0);
    jobs_table(ui, state, now)
}

fn jobs_table(ui: &mut egui::Ui, state: &AppState, now: SystemTime) -> Option<Request> {
    let jobs = state.order.len();
    // One more row after the jobs, saying whether older ones are loading, failed or all there.
    let footer = matches!(state.catalogue, CatalogueState::Loaded { .. });
    let mut request = None;
    TableBuilder::new(ui)
        .id_salt("jobs")
        .striped(true)
        .resizable(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        // The file and the warning take what is left; the warning's text is cut to fit (its
        // explanation is on hover), so the table never runs past the window.
        .column(Column::initial(280.0).at_least(140.0).clip(true))
        .column(Column::exact(96.0))
        .column(Column::auto().at_least(130.0))
        .column(Column::auto().at_least(70.0))
        .column(Column::auto().at_least(80.0))
        .column(Column::remainder().at_least(140.0).clip(true))
        .header(ROW_HEIGHT, |mut header| {
            for title in [
                "File",
                "Status",
                "Started (UTC)",
                "Duration",
                "Resolution",
                "Warning",
            ] {
                header.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, jobs + usize::from(footer), |mut row| {
                // Rows are drawn only when visible: drawing one near the end means the user
                // scrolled there.
                if wants_older_at(state, row.index(), jobs) {
                    request = Some(Request::LoadOlderJobs);
                }
                if row.index() >= jobs {
                    row.col(|ui| {
                        if footer_row(ui, state, jobs) {
                            request = Some(Request::LoadOlderJobs);
                        }
                    });
                    return;
                }
                let Some((index, job)) = state.row(row.index()) else {
                    return;
                };
                let record = job.record.as_ref();
                row.col(|ui| {
                    let file = job.file().unwrap_or("(file not known yet)");
                    let name = file.rsplit('/').next().unwrap_or(file);
                    let response = ui.add(egui::Label::new(name).truncate());
                    response.on_hover_text(format!(
                        "{file}\nguid {}",
                        job.guid.as_deref().unwrap_or("(none yet)")
                    ));
                });
                row.col(|ui| status_chip(ui, job.status));
                row.col(|ui| {
                    ui.label(started(job));
                });
                row.col(|ui| {
                    ui.label(duration(record));
                });
                row.col(|ui| {
                    ui.label(resolution(record));
                });
                row.col(|ui| {
                    if let Some(warning) = state.warning(index, now) {
                        let text = match warning.kind {
                            WarningKind::NoWorkflowStarted => "no workflow started",
                            WarningKind::Stalled => "stalled",
                        };
                        ui.label(RichText::new(text).color(ui.visuals().warn_fg_color))
                            .on_hover_text(warning.message);
                    } else if job.status == JobStatus::Error
                        && let Some(message) = record.and_then(|r| r.error_message.as_deref())
                    {
                        ui.add(
                            egui::Label::new(
                                RichText::new(error_summary(message))
                                    .color(ui.visuals().error_fg_color),
                            )
                            .truncate(),
                        )
                        .on_hover_text(message);
                    }
                });
            });
        });
    request
}

/// The row after the last job; true when the user asked to retry reading older jobs.
fn footer_row(ui: &mut egui::Ui, state: &AppState, jobs: usize) -> bool {
    if let Some(message) = &state.older_failed {
        ui.label(RichText::new("Could not load older jobs").color(ui.visuals().error_fg_color))
            .on_hover_text(message);
        return ui.small_button("Retry").clicked();
    }
    match state.catalogue {
        CatalogueState::Loaded { more: false } => {
            ui.label(RichText::new(format!("All {jobs} jobs loaded")).weak());
        }
        _ => {
            ui.spinner();
            ui.label(RichText::new("Loading older jobs…").weak());
        }
    }
    false
}

fn status_color(ui: &egui::Ui, status: JobStatus) -> Color32 {
    match status {
        JobStatus::Uploading | JobStatus::Uploaded => ui.visuals().weak_text_color(),
        JobStatus::Ingest => Color32::from_rgb(0xc9, 0x8a, 0x12),
        JobStatus::Encoding => Color32::from_rgb(0x3b, 0x82, 0xf6),
        JobStatus::Complete => GREEN,
        JobStatus::Error => ui.visuals().error_fg_color,
    }
}

fn status_chip(ui: &mut egui::Ui, status: JobStatus) {
    let color = status_color(ui, status);
    let text = match status {
        JobStatus::Uploading => "Uploading",
        JobStatus::Uploaded => "Uploaded",
        JobStatus::Ingest => "Ingest",
        JobStatus::Encoding => "Encoding",
        JobStatus::Complete => "Complete",
        JobStatus::Error => "Error",
    };
    egui::Frame::new()
        .fill(color.gamma_multiply(0.18))
        .stroke(egui::Stroke::new(1.0, color.gamma_multiply(0.6)))
        .corner_radius(8.0)
        .inner_margin(egui::Margin::symmetric(8, 1))
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(color).strong());
        });
}

/// One line for an Error's message. The solution often stores the whole MediaConvert event as the
/// message (contract §4): its `detail.errorMessage` is what a user can act on.
fn error_summary(message: &str) -> String {
    let parsed = serde_json::from_str::<serde_json::Value>(message).ok();
    let inner = parsed.as_ref().and_then(|v| {
        v.pointer("/detail/errorMessage")
            .or_else(|| v.get("errorMessage"))
            .and_then(serde_json::Value::as_str)
    });
    inner
        .unwrap_or(message)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn started(job: &Job) -> String {
    // Before its workflow reports, an upload shows when it finished.
    let uploaded = || {
        let seconds = u64::try_from(job.upload.as_ref()?.completed_at?).ok()?;
        Some(std::time::UNIX_EPOCH + Duration::from_secs(seconds))
    };
    job.started()
        .or_else(uploaded)
        .map(|t| format_iso8601(t).replace('T', " "))
        .and_then(|t| t.get(..16).map(str::to_owned))
        .unwrap_or_else(|| "-".into())
}

fn duration(record: Option<&JobRecord>) -> String {
    record
        .and_then(JobRecord::duration_seconds)
        .filter(|d| d.is_finite() && *d >= 0.0)
        .map(|d| human_duration(Duration::from_secs_f64(d.min(1e9))))
        .unwrap_or_else(|| "-".into())
}

fn resolution(record: Option<&JobRecord>) -> String {
    let width = record.and_then(|r| r.width().or(r.src_width));
    let height = record.and_then(|r| r.height().or(r.src_height));
    match (width, height) {
        (Some(w), Some(h)) => format!("{w}×{h}"),
        _ => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::aws::discovery::{Origin, VodResources};
    use crate::aws::engine::{Event, JobsPage};
    use crate::contract::decode_document;

    fn page_of(count: u64, more: bool) -> Event {
        let template = decode_document(
            include_str!("../../tests/fixtures/vod-examples/sns-ingest.json").as_bytes(),
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

    #[test]
    fn only_rows_near_the_end_ask_for_older_jobs_and_only_when_allowed() {
        let mut state = AppState {
            catalogue: CatalogueState::Loading,
            ..AppState::default()
        };
        state.apply(page_of(100, true));
        assert!(!wants_older_at(&state, 0, 100));
        assert!(!wants_older_at(&state, 100 - PREFETCH_ROWS - 1, 100));
        assert!(wants_older_at(&state, 100 - PREFETCH_ROWS, 100));
        assert!(wants_older_at(&state, 100, 100), "the footer row too");
        assert!(state.begin_loading_older());
        assert!(!wants_older_at(&state, 99, 100), "a page is in flight");
        state.apply(page_of(0, false));
        assert!(!wants_older_at(&state, 99, 100), "every job is loaded");
    }

    #[test]
    fn the_window_asks_for_older_jobs_when_the_end_of_a_short_table_is_visible() {
        let mut state = AppState::default();
        state.apply(Event::Connected(Box::new(VodResources {
            stack_name: Some("vod".into()),
            stack_id: None,
            stack_status: None,
            solution_version: None,
            generation: None,
            region: "us-east-1".into(),
            source_bucket: "src".into(),
            destination_bucket: None,
            table: "vod".into(),
            topic_arn: "arn:aws:sns:us-east-1:123456789012:vod".into(),
            topic_arn_from: Origin::StackOutput,
            cloudfront_domain: None,
            workflow_trigger: None,
            enable_sns: None,
            frame_capture: None,
            enable_media_package: None,
            stack_queue_url: None,
            overridden: Vec::new(),
        })));
        state.apply(page_of(5, true));
        let ctx = egui::Context::default();
        let mut requests = Vec::new();
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            requests.push(main_window(ui, &state, SystemTime::now()));
        });
        // No renderer here: the font atlas is dropped unapplied on purpose.
        output.textures_delta.clear();
        assert_eq!(requests, vec![Some(Request::LoadOlderJobs)]);
        state.apply(page_of(0, false));
        requests.clear();
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            requests.push(main_window(ui, &state, SystemTime::now()));
        });
        // No renderer here: the font atlas is dropped unapplied on purpose.
        output.textures_delta.clear();
        assert_eq!(requests, vec![None]);
    }

    #[test]
    fn error_summaries_are_one_readable_line() {
        let event = r#"{"detail": {"status": "ERROR", "errorMessage": "Unable to open input file [s3://b/k.mp4]"}}"#;
        assert_eq!(
            error_summary(event),
            "Unable to open input file [s3://b/k.mp4]"
        );
        assert_eq!(
            error_summary("{\"errorMessage\": \"Task timed out\"}"),
            "Task timed out"
        );
        assert_eq!(
            error_summary("Lambda failed:\n  no parser\n"),
            "Lambda failed: no parser"
        );
    }
}
