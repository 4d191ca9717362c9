//! The upload queue panel: one row per upload (name, size, progress bar, rate, time left, state) with
//! Pause, Resume/Retry and Cancel; the uploads an earlier run left unfinished, offered for resume or
//! discard; and the refusals of the last drop, each with its reason.

use eframe::egui::{self, RichText};

use crate::app::state::{AppState, UiAction};
use crate::jobs::{LocalUpload, TransferState};
use crate::time::human_duration;
use crate::units::{human_bytes, human_rate};

/// Whether the panel has anything to show.
pub(crate) fn has_content(state: &AppState) -> bool {
    state.uploads().entries(state.jobs()).next().is_some() || !state.uploads().refused.is_empty()
}

pub(crate) fn show(ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<UiAction>) {
    let queue = &state.uploads();
    let jobs = &state.jobs();
    ui.horizontal(|ui| {
        ui.label(RichText::new("Uploads").strong());
        let active = queue.active(jobs);
        if active > 0 {
            ui.label(RichText::new(format!("{active} sending")).weak());
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if queue.entries(jobs).any(|u| u.transfer.state.is_finished())
                && ui.small_button("Clear finished").clicked()
            {
                actions.push(UiAction::ClearFinishedUploads);
            }
        });
    });
    let earlier = queue
        .entries(jobs)
        .filter(|u| u.transfer.from_earlier)
        .count();
    if earlier > 0 {
        egui::Frame::new()
            .fill(ui.visuals().warn_fg_color.gamma_multiply(0.12))
            .inner_margin(6.0)
            .corner_radius(4.0)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!(
                        "{earlier} upload(s) from an earlier session did not finish. They continue \
                         where they stopped; nothing confirmed is sent again."
                    ));
                    if ui.button("Resume all").clicked() {
                        actions.push(UiAction::ResumeEarlier);
                    }
                    if ui
                        .button("Discard all")
                        .on_hover_text("Aborts them on the server and forgets them")
                        .clicked()
                    {
                        actions.push(UiAction::DiscardEarlier);
                    }
                });
            });
    }
    if !queue.refused.is_empty() {
        egui::Frame::new()
            .fill(ui.visuals().error_fg_color.gamma_multiply(0.10))
            .inner_margin(6.0)
            .corner_radius(4.0)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(format!("{} file(s) not uploaded", queue.refused.len()))
                            .strong()
                            .color(ui.visuals().error_fg_color),
                    );
                    if ui.small_button("Dismiss").clicked() {
                        actions.push(UiAction::DismissRefusals);
                    }
                });
                for refusal in &queue.refused {
                    let name = refusal
                        .path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| refusal.path.display().to_string());
                    ui.label(format!("{name}: {}", refusal.reason))
                        .on_hover_text(refusal.path.display().to_string());
                }
                for note in &queue.notes {
                    ui.label(RichText::new(note).weak());
                }
            });
    }
    egui::ScrollArea::vertical()
        .id_salt("uploads-scroll")
        .auto_shrink([false, true])
        .show(ui, |ui| {
            egui::Grid::new("uploads")
                .num_columns(5)
                .spacing([12.0, 4.0])
                .striped(true)
                .show(ui, |ui| {
                    for upload in queue.entries(jobs) {
                        row(ui, upload, actions);
                        ui.end_row();
                    }
                });
        });
}

fn state_text(upload: &LocalUpload) -> (String, Option<String>) {
    let transfer = &upload.transfer;
    match &transfer.state {
        TransferState::Waiting => ("waiting".into(), None),
        TransferState::Sending => {
            let rate = human_rate(transfer.bytes_per_second);
            let eta = transfer
                .eta
                .map(|d| format!(", {} left", human_duration(d)))
                .unwrap_or_default();
            (format!("{rate}{eta}"), None)
        }
        TransferState::Paused { reason } => ("paused".into(), Some(reason.clone())),
        TransferState::Completed { verified: true } => ("done, checksum verified".into(), None),
        // The note says what could and could not be checked (HeadObject may be denied).
        TransferState::Completed { verified: false } => ("done, not verified".into(), None),
        TransferState::Failed { error } => ("failed".into(), Some(error.clone())),
        TransferState::Cancelled => ("cancelled".into(), None),
        TransferState::RunningElsewhere { holder } => (
            "running elsewhere".into(),
            Some(format!(
                "{holder} is sending this upload; it can be paused or cancelled there"
            )),
        ),
    }
}

fn row(ui: &mut egui::Ui, upload: &LocalUpload, actions: &mut Vec<UiAction>) {
    let transfer = &upload.transfer;
    let id = upload.upload_id;
    // A fixed-width name column; the text starts at its left edge and is cut with "…".
    let rect = egui::Rect::from_min_size(ui.cursor().min, egui::vec2(260.0, 18.0));
    let layout = egui::Layout::left_to_right(egui::Align::Center);
    ui.scope_builder(egui::UiBuilder::new().max_rect(rect).layout(layout), |ui| {
        ui.set_min_width(260.0);
        ui.add(egui::Label::new(&upload.original_name).truncate())
            .on_hover_text(format!("s3 key: {}", upload.key));
    });
    ui.label(human_bytes(transfer.size));
    ui.add(
        egui::ProgressBar::new(transfer.fraction())
            .desired_width(180.0)
            .show_percentage(),
    );
    let (text, detail) = state_text(upload);
    let color = match transfer.state {
        TransferState::Failed { .. } => ui.visuals().error_fg_color,
        TransferState::Paused { .. } => ui.visuals().warn_fg_color,
        _ => ui.visuals().text_color(),
    };
    let label = ui.label(RichText::new(text).color(color));
    if let Some(detail) = detail {
        label.on_hover_text(detail);
    } else if let Some(note) = &transfer.note {
        label.on_hover_text(note);
    }
    ui.horizontal(|ui| {
        if transfer.state.is_active() && ui.small_button("Pause").clicked() {
            actions.push(UiAction::PauseUpload(id));
        }
        if transfer.state.is_resumable() {
            let title = if matches!(transfer.state, TransferState::Failed { .. }) {
                "Retry"
            } else {
                "Resume"
            };
            if ui.small_button(title).clicked() {
                actions.push(UiAction::ResumeUpload(id));
            }
        }
        if !transfer.state.is_finished()
            && !matches!(transfer.state, TransferState::RunningElsewhere { .. })
            && ui
                .small_button("Cancel")
                .on_hover_text("Stops, aborts the upload on the server and forgets it (Delete)")
                .clicked()
        {
            actions.push(UiAction::CancelUpload(id));
        }
    });
}
