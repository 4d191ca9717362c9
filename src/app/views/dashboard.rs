//! The jobs dashboard: a toolbar (text filter, status filter, counts) and a virtualised table
//! (egui_extras) whose headers sort on click: thumbnail, file, status chip, elapsed, duration,
//! resolution, size, started, and the "no workflow started" / "stalled" warnings with their
//! explanation on hover. Clicking a row selects the job for the details panel. Older jobs are asked
//! for as the table's end comes into view.

use std::time::SystemTime;

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};

use super::widgets::{self, status_chip};
use crate::app::dashboard::{SortColumn, size_bytes};
use crate::app::state::{AppState, CatalogueState, UiAction};
use crate::app::thumbnails::{self, ThumbSize, ThumbnailBook};
use crate::jobs::{JobStatus, TransferState, WarningKind};

pub(crate) const ROW_HEIGHT: f32 = 40.0;
const THUMB_BOX: egui::Vec2 = egui::vec2(64.0, 36.0);
/// Older jobs are asked for once a row this close to the table's end is drawn, so they usually
/// arrive before the user reaches the end.
pub(crate) const PREFETCH_ROWS: usize = 20;

/// Whether drawing dashboard row `row` of `rows` should ask for older jobs.
pub(crate) fn wants_older_at(state: &AppState, row: usize, rows: usize) -> bool {
    row + PREFETCH_ROWS >= rows && state.wants_older()
}

pub(crate) fn show(
    ui: &mut egui::Ui,
    state: &AppState,
    thumbs: &mut ThumbnailBook,
    now: SystemTime,
    actions: &mut Vec<UiAction>,
) {
    toolbar(ui, state, actions);
    if let CatalogueState::Failed { message } = &state.catalogue() {
        ui.label(
            RichText::new(format!("Could not read the jobs table: {message}"))
                .color(ui.visuals().error_fg_color),
        );
    }
    if state.order().is_empty() {
        ui.add_space(12.0);
        if state.filter().is_active() && !state.jobs().jobs().is_empty() {
            ui.label("No job matches the filter.");
        } else if matches!(state.catalogue(), CatalogueState::Loaded { .. }) {
            ui.label(
                "No jobs yet. Drop video files anywhere on this window (or click Add videos…) to \
                 upload them; each appears here as soon as it is sent, and follows its workflow live.",
            );
        }
        return;
    }
    ui.add_space(4.0);
    table(ui, state, thumbs, now, actions);
}

fn toolbar(ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<UiAction>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Jobs").strong().size(16.0));
        let shown = state.order().len();
        let total = state.jobs().jobs().len();
        let summary = match &state.catalogue() {
            CatalogueState::NotLoaded => String::new(),
            CatalogueState::Loading => "reading the table…".to_owned(),
            _ if shown != total => format!("{shown} of {total}"),
            CatalogueState::Loaded { more: true } => {
                format!("{total} so far (older ones load as you scroll)")
            }
            CatalogueState::Loaded { more: false } => format!("{total}"),
            CatalogueState::Failed { .. } => format!("{total} heard live"),
        };
        ui.label(RichText::new(summary).weak());
        if matches!(state.catalogue(), CatalogueState::Loading) {
            ui.spinner();
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let current = state
                .filter()
                .status
                .map(widgets::status_label)
                .unwrap_or("All statuses");
            let combo = egui::ComboBox::from_id_salt("status-filter")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    if ui
                        .selectable_label(state.filter().status.is_none(), "All statuses")
                        .clicked()
                    {
                        actions.push(UiAction::FilterStatus(None));
                    }
                    for status in JobStatus::ALL {
                        if ui
                            .selectable_label(
                                state.filter().status == Some(status),
                                widgets::status_label(status),
                            )
                            .clicked()
                        {
                            actions.push(UiAction::FilterStatus(Some(status)));
                        }
                    }
                });
            let status_label = ui.label("Status");
            combo.response.labelled_by(status_label.id);
            let mut text = state.filter().text.clone();
            let edit = ui.add(
                egui::TextEdit::singleline(&mut text)
                    .id(egui::Id::unique("job-filter"))
                    .hint_text("Filter by name or guid (Ctrl+F)")
                    .desired_width(240.0),
            );
            if edit.changed() {
                actions.push(UiAction::FilterText(text));
            }
            let filter_label = ui.label("Filter");
            edit.labelled_by(filter_label.id);
        });
    });
}

fn header_cell(
    ui: &mut egui::Ui,
    state: &AppState,
    title: &str,
    column: Option<SortColumn>,
    actions: &mut Vec<UiAction>,
) {
    let Some(column) = column else {
        ui.strong(title);
        return;
    };
    let arrow = if state.sort().column == column {
        if state.sort().descending {
            " ⬇"
        } else {
            " ⬆"
        }
    } else {
        ""
    };
    let response = ui
        .add(egui::Button::new(RichText::new(format!("{title}{arrow}")).strong()).frame(false))
        .on_hover_text("Click to sort; click again to reverse");
    if response.clicked() {
        actions.push(UiAction::SortBy(column));
    }
}

fn table(
    ui: &mut egui::Ui,
    state: &AppState,
    thumbs: &mut ThumbnailBook,
    now: SystemTime,
    actions: &mut Vec<UiAction>,
) {
    let jobs = state.order().len();
    // One more row after the jobs, saying whether older ones are loading, failed or all there.
    let footer = matches!(state.catalogue(), CatalogueState::Loaded { .. });
    let mut header_actions = Vec::new();
    TableBuilder::new(ui)
        .id_salt("jobs")
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(THUMB_BOX.x + 8.0))
        .column(Column::initial(240.0).at_least(120.0).clip(true))
        .column(Column::exact(118.0))
        .column(Column::auto().at_least(64.0))
        .column(Column::auto().at_least(64.0))
        .column(Column::auto().at_least(80.0))
        .column(Column::auto().at_least(70.0))
        .column(Column::auto().at_least(120.0))
        .column(Column::remainder().at_least(120.0).clip(true))
        .header(24.0, |mut header| {
            let titles: [(&str, Option<SortColumn>); 9] = [
                ("", None),
                ("File", Some(SortColumn::File)),
                ("Status", Some(SortColumn::Status)),
                ("Elapsed", None),
                ("Duration", Some(SortColumn::Duration)),
                ("Resolution", Some(SortColumn::Resolution)),
                ("Size", Some(SortColumn::Size)),
                ("Started (UTC)", Some(SortColumn::Started)),
                ("Warning", None),
            ];
            for (title, column) in titles {
                header.col(|ui| header_cell(ui, state, title, column, &mut header_actions));
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, jobs + usize::from(footer), |mut row| {
                // Rows are drawn only when visible: drawing one near the end means the user
                // scrolled there.
                if wants_older_at(state, row.index(), jobs) {
                    actions.push(UiAction::LoadOlderJobs);
                }
                if row.index() >= jobs {
                    row.col(|_| {});
                    row.col(|ui| {
                        if footer_row(ui, state, jobs) {
                            actions.push(UiAction::LoadOlderJobs);
                        }
                    });
                    return;
                }
                let Some((index, job)) = state.row(row.index()) else {
                    return;
                };
                row.set_selected(state.selected() == Some(index));
                let record = job.record.as_ref();
                row.col(|ui| {
                    let url = record.and_then(|r| r.thumbnail_urls().first().map(String::as_str));
                    thumbnails::show(ui, thumbs, url, ThumbSize::Row, THUMB_BOX);
                });
                row.col(|ui| {
                    let file = job.file().unwrap_or("(file not known yet)");
                    let name = file.rsplit('/').next().unwrap_or(file);
                    ui.add(egui::Label::new(name).truncate().selectable(false))
                        .on_hover_text(format!(
                            "{file}\nguid {}",
                            job.guid.as_deref().unwrap_or("(none yet)")
                        ));
                });
                row.col(|ui| {
                    // An upload that is not moving (paused, failed, cut off by a crash) says so;
                    // the journal alone would still call it uploading.
                    let stalled_upload = job
                        .upload
                        .as_ref()
                        .filter(|_| job.status == JobStatus::Uploading)
                        .map(|u| &u.transfer.state)
                        .filter(|s| !s.is_active());
                    match stalled_upload {
                        Some(TransferState::Failed { error }) => {
                            widgets::chip(ui, "✖ Upload failed", ui.visuals().error_fg_color)
                                .on_hover_text(error);
                        }
                        Some(TransferState::Paused { reason }) => {
                            widgets::chip(ui, "⏸ Paused", ui.visuals().warn_fg_color)
                                .on_hover_text(reason);
                        }
                        _ => {
                            status_chip(ui, job.status);
                        }
                    }
                });
                row.col(|ui| {
                    ui.label(widgets::elapsed(job, now).unwrap_or_else(|| "-".into()));
                });
                row.col(|ui| {
                    ui.label(widgets::duration(record));
                });
                row.col(|ui| {
                    ui.label(widgets::resolution(record));
                });
                row.col(|ui| {
                    ui.label(widgets::bytes(size_bytes(job)));
                });
                row.col(|ui| {
                    ui.label(widgets::started(job));
                });
                row.col(|ui| {
                    if let Some(warning) = state.warning(index, now) {
                        let text = match warning.kind {
                            WarningKind::NoWorkflowStarted => "⚠ no workflow started",
                            WarningKind::Stalled => "⚠ stalled",
                        };
                        ui.label(RichText::new(text).color(ui.visuals().warn_fg_color))
                            .on_hover_text(warning.message);
                    } else if job.status == JobStatus::Error
                        && let Some(message) = record.and_then(|r| r.error_message.as_deref())
                    {
                        ui.add(
                            egui::Label::new(
                                RichText::new(widgets::error_summary(message))
                                    .color(ui.visuals().error_fg_color),
                            )
                            .truncate(),
                        )
                        .on_hover_text(message);
                    }
                });
                if row.response().clicked() {
                    let again = state.selected() == Some(index);
                    actions.push(UiAction::Select(if again { None } else { Some(index) }));
                }
            });
        });
    actions.extend(header_actions);
}

/// The row after the last job; true when the user asked to retry reading older jobs.
fn footer_row(ui: &mut egui::Ui, state: &AppState, jobs: usize) -> bool {
    if let Some(message) = state.older_failed() {
        ui.label(RichText::new("Could not load older jobs").color(ui.visuals().error_fg_color))
            .on_hover_text(message);
        return ui.small_button("Retry").clicked();
    }
    match state.catalogue() {
        CatalogueState::Loaded { more: false } => {
            let text = if jobs == 1 {
                "1 job loaded".to_owned()
            } else {
                format!("All {jobs} jobs loaded")
            };
            ui.label(RichText::new(text).weak());
        }
        _ => {
            ui.spinner();
            ui.label(RichText::new("Loading older jobs…").weak());
        }
    }
    false
}
