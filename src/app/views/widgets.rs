//! Small drawing helpers shared by the views: status colours and chips, the painted dot, and the
//! formatting of times, durations, sizes and resolutions the way every view shows them.

use std::time::{Duration, SystemTime};

use eframe::egui::{self, Color32, RichText};

use crate::contract::JobRecord;
use crate::jobs::{Job, JobStatus};
use crate::time::{format_iso8601, human_duration};

pub(crate) const GREEN: Color32 = Color32::from_rgb(0x2e, 0xa0, 0x43);
const AMBER: Color32 = Color32::from_rgb(0xc9, 0x8a, 0x12);
const BLUE: Color32 = Color32::from_rgb(0x3b, 0x82, 0xf6);

pub(crate) fn dot(ui: &mut egui::Ui, color: Color32) -> egui::Response {
    // Painted, not a "●" glyph: egui's bundled fonts have no such character.
    let (rect, response) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 4.5, color);
    response
}

pub(crate) fn status_color(ui: &egui::Ui, status: JobStatus) -> Color32 {
    match status {
        JobStatus::Uploading | JobStatus::Uploaded => ui.visuals().weak_text_color(),
        JobStatus::Ingest => AMBER,
        JobStatus::Encoding => BLUE,
        JobStatus::Complete => GREEN,
        JobStatus::Error => ui.visuals().error_fg_color,
    }
}

pub(crate) fn status_label(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Uploading => "Uploading",
        JobStatus::Uploaded => "Uploaded",
        JobStatus::Ingest => "Ingest",
        JobStatus::Encoding => "Encoding",
        JobStatus::Complete => "Complete",
        JobStatus::Error => "Error",
    }
}

/// An icon for each status, from the glyphs egui's bundled fonts have.
fn status_icon(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Uploading => "⬆",
        JobStatus::Uploaded => "☁",
        JobStatus::Ingest => "⏳",
        JobStatus::Encoding => "⚙",
        JobStatus::Complete => "✔",
        JobStatus::Error => "✖",
    }
}

pub(crate) fn status_chip(ui: &mut egui::Ui, status: JobStatus) -> egui::Response {
    let color = status_color(ui, status);
    chip(
        ui,
        &format!("{} {}", status_icon(status), status_label(status)),
        color,
    )
}

/// A rounded label in `color`, as the status column shows states.
pub(crate) fn chip(ui: &mut egui::Ui, text: &str, color: Color32) -> egui::Response {
    egui::Frame::new()
        .fill(color.gamma_multiply(0.18))
        .stroke(egui::Stroke::new(1.0, color.gamma_multiply(0.6)))
        .corner_radius(8.0)
        .inner_margin(egui::Margin::symmetric(8, 1))
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(color).strong());
        })
        .response
}

/// One line for an Error's message. The solution often stores the whole MediaConvert event as the
/// message (contract §4): its `detail.errorMessage` is what a user can act on.
pub(crate) fn error_summary(message: &str) -> String {
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

/// `2025-10-14 09:12` (UTC), or `-`.
pub(crate) fn started(job: &Job) -> String {
    // Before its workflow reports, an upload shows when it finished.
    let uploaded = || {
        let seconds = u64::try_from(job.upload.as_ref()?.completed_at?).ok()?;
        Some(std::time::UNIX_EPOCH + Duration::from_secs(seconds))
    };
    job.started()
        .or_else(uploaded)
        .map(minute)
        .unwrap_or_else(|| "-".into())
}

pub(crate) fn minute(time: SystemTime) -> String {
    let text = format_iso8601(time).replace('T', " ");
    text.get(..16).map(str::to_owned).unwrap_or(text)
}

/// How long ago (or for how long), short: `42 s`, `3 min`, `2 h 5 min`.
pub(crate) fn elapsed(job: &Job, now: SystemTime) -> Option<String> {
    let start = job.started()?;
    let end = job
        .record
        .as_ref()
        .and_then(|r| r.end_time.as_deref())
        .and_then(crate::time::parse_iso8601)
        .filter(|_| job.status.is_terminal())
        .unwrap_or(now);
    let span = end.duration_since(start).ok()?;
    Some(human_duration(span))
}

pub(crate) fn duration(record: Option<&JobRecord>) -> String {
    record
        .and_then(JobRecord::duration_seconds)
        .filter(|d| d.is_finite() && *d >= 0.0)
        .map(|d| human_duration(Duration::from_secs_f64(d.min(1e9))))
        .unwrap_or_else(|| "-".into())
}

pub(crate) fn resolution(record: Option<&JobRecord>) -> String {
    let width = record.and_then(|r| r.width().or(r.src_width));
    let height = record.and_then(|r| r.height().or(r.src_height));
    match (width, height) {
        (Some(w), Some(h)) => format!("{w}×{h}"),
        _ => "-".into(),
    }
}

pub(crate) fn bytes(size: Option<u64>) -> String {
    size.map(crate::units::human_bytes)
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

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
