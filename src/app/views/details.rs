//! The details panel of the selected job: its thumbnail(s) large, the status with its timestamps, every
//! output URL (HLS, DASH, CMAF HLS/DASH, MSS, MP4s, thumbnails, MediaPackage egress endpoints) each
//! with Copy and Open, "Open in player" for the HLS URL, "Copy all as JSON", the error with its details
//! for failed jobs, "Check playback" with its report for Complete jobs ([`super::playback`]), "Run
//! again…" and "Delete…" for finished jobs ([`super::operations`]), and the media info (container,
//! each video, audio and text track) in grids.

use eframe::egui::{self, RichText};

use super::widgets::{self, status_chip};
use crate::app::state::AppState;
use crate::app::thumbnails::{self, ThumbSize, ThumbnailBook};
use crate::contract::JobRecord;
use crate::contract::mediainfo::MediaInfo;
use crate::jobs::{Job, JobStatus};

pub use crate::app::state::DetailsAction;

/// `(label, url)` of every output of a record, in the order the panel lists them.
pub fn output_links(record: &JobRecord) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut push = |label: &str, url: Option<&str>| {
        if let Some(url) = url {
            links.push((label.to_owned(), url.to_owned()));
        }
    };
    // The per-group outputs as written (S3 origin through CloudFront); MediaPackage's egress
    // endpoints follow under their own names.
    let outputs = &record.outputs;
    push("HLS", outputs.hls_url.as_deref());
    push("DASH", outputs.dash_url.as_deref());
    push("CMAF HLS", outputs.cmaf_hls_url.as_deref());
    push("CMAF DASH", outputs.cmaf_dash_url.as_deref());
    push("MSS", outputs.mss_url.as_deref());
    for (i, url) in record.mp4_urls().iter().enumerate() {
        let label = if record.mp4_urls().len() == 1 {
            "MP4".to_owned()
        } else {
            format!("MP4 {}", i + 1)
        };
        links.push((label, url.clone()));
    }
    for url in record.thumbnail_urls() {
        links.push(("Thumbnail".to_owned(), url.clone()));
    }
    // MediaPackage (EnableMediaPackage=Yes): the egress endpoints, listed apart from the S3-origin
    // outputs the item also holds (contract §4).
    let egress = &record.egress_endpoints;
    for (label, url) in [
        ("MediaPackage HLS", &egress.hls),
        ("MediaPackage DASH", &egress.dash),
        ("MediaPackage CMAF", &egress.cmaf),
        ("MediaPackage MSS", &egress.mss),
    ] {
        if let Some(url) = url {
            links.push((label.to_owned(), url.clone()));
        }
    }
    links
}

/// Puts `text` on the clipboard and reports it.
fn copy(ui: &egui::Ui, actions: &mut Vec<DetailsAction>, text: String) {
    ui.ctx().copy_text(text.clone());
    actions.push(DetailsAction::Copied(text));
}

/// The first capture's URL: `…_thumb.NNNNNNN.jpg` with the counter at `0000000`.
pub fn first_frame_url(url: &str) -> Option<String> {
    let (head, tail) = url.rsplit_once("_thumb.")?;
    let (counter, extension) = tail.split_once('.')?;
    (counter.len() == 7 && counter.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{head}_thumb.0000000.{extension}"))
}

/// Everything the panel shows about the job, as one JSON object (for "Copy all as JSON").
pub fn job_json(job: &Job) -> String {
    serde_json::to_string_pretty(job).unwrap_or_default()
}

pub fn show(
    ui: &mut egui::Ui,
    job: &Job,
    state: &AppState,
    thumbs: &mut ThumbnailBook,
) -> Vec<DetailsAction> {
    let mut actions = Vec::new();
    let playback = state.playback();
    let record = job.record.as_ref();
    ui.horizontal(|ui| {
        let file = job.file().unwrap_or("(file not known yet)");
        let name = file.rsplit('/').next().unwrap_or(file);
        ui.add(egui::Label::new(RichText::new(name).heading()).truncate());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.small_button("✖").on_hover_text("Close (Esc)").clicked() {
                actions.push(DetailsAction::Close);
            }
        });
    });
    ui.horizontal(|ui| {
        status_chip(ui, job.status);
        if let Some(guid) = &job.guid {
            ui.label(RichText::new(guid).monospace().weak());
        }
    });
    ui.add_space(6.0);
    egui::ScrollArea::vertical()
        .id_salt("details-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let thumbnail_urls: Vec<String> = record
                .map(|r| r.thumbnail_urls().to_vec())
                .unwrap_or_default();
            let width = ui.available_width().min(480.0);
            let size = egui::vec2(width, width * 9.0 / 16.0);
            match thumbnail_urls.first() {
                Some(url) => {
                    // The solution reports the last capture; its first frame is the same name
                    // with the counter at zero (contract §7). Both, side by side, when they differ.
                    match first_frame_url(url).filter(|first| first != url) {
                        Some(first) => {
                            let half =
                                egui::vec2(size.x / 2.0 - 4.0, (size.x / 2.0 - 4.0) * 9.0 / 16.0);
                            ui.horizontal(|ui| {
                                thumbnails::show(ui, thumbs, Some(&first), ThumbSize::Large, half)
                                    .on_hover_text("First frame");
                                thumbnails::show(ui, thumbs, Some(url), ThumbSize::Large, half)
                                    .on_hover_text("Last capture (the one the solution reports)");
                            });
                        }
                        None => {
                            thumbnails::show(ui, thumbs, Some(url), ThumbSize::Large, size);
                        }
                    }
                }
                None if job.status.is_terminal() => {
                    ui.label(
                        RichText::new("No thumbnails (FrameCapture is off for this job).").weak(),
                    );
                }
                None => {
                    thumbnails::show(ui, thumbs, None, ThumbSize::Large, size);
                }
            }
            ui.add_space(8.0);
            super::operations::buttons(ui, job, state.operations(), &mut actions);
            times(ui, job);
            if let Some(record) = record {
                error(ui, record, &mut actions);
                links(ui, record, &mut actions);
                if job.status == JobStatus::Complete
                    && let Some(guid) = &job.guid
                {
                    super::playback::show(ui, guid, playback.get(guid), &mut actions);
                }
                if let Some(info) = &record.media_info {
                    media_info(ui, info);
                }
            }
            ui.add_space(8.0);
            if ui.button("Copy all as JSON").clicked() {
                copy(ui, &mut actions, job_json(job));
            }
        });
    actions
}

fn times(ui: &mut egui::Ui, job: &Job) {
    let record = job.record.as_ref();
    egui::Grid::new("details-times")
        .num_columns(2)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            let mut row = |label: &str, value: String| {
                ui.label(RichText::new(label).weak());
                ui.label(value);
                ui.end_row();
            };
            row("Source", job.file().unwrap_or("-").to_owned());
            if let Some(start) = record.and_then(|r| r.start_time.clone()) {
                row("Started", start);
            }
            if let Some(end) = record.and_then(|r| r.end_time.clone()) {
                row("Ended", end);
            }
            if let Some(r) = record {
                if let Some(template) = &r.job_template {
                    row("Job template", template.clone());
                }
                if let Some(id) = &r.encode_job_id {
                    row("Encode job", id.clone());
                }
                if let Some(class) = r
                    .archive_source
                    .as_deref()
                    .filter(|c| ["GLACIER", "DEEP_ARCHIVE"].contains(c))
                {
                    row(
                        "Archive",
                        format!(
                            "{class}: the source is tagged to move there a day after its workflow"
                        ),
                    );
                }
                if let Some(file) = &r.src_metadata_file {
                    row("Metadata file", file.clone());
                }
                for field in &r.metadata {
                    row(&field.name, field.value.clone());
                }
                if r.metadata_left_out > 0 {
                    row(
                        "",
                        format!("and {} more metadata fields", r.metadata_left_out),
                    );
                }
            }
            if let Some(upload) = &job.upload {
                row("Uploaded as", upload.original_name.clone());
            }
        });
}

fn error(ui: &mut egui::Ui, record: &JobRecord, actions: &mut Vec<DetailsAction>) {
    let Some(message) = &record.error_message else {
        return;
    };
    ui.add_space(8.0);
    ui.label(
        RichText::new("Error")
            .strong()
            .color(ui.visuals().error_fg_color),
    );
    if let Some(at) = &record.workflow_error_at {
        ui.label(format!("at {at}"));
    }
    ui.label(RichText::new(widgets::error_summary(message)).color(ui.visuals().error_fg_color));
    egui::CollapsingHeader::new("Full error message")
        .id_salt("details-error")
        .show(ui, |ui| {
            ui.add(egui::Label::new(RichText::new(message).monospace().small()).wrap());
        });
    if let Some(details) = &record.error_details {
        ui.horizontal(|ui| {
            if ui
                .button("Open error details")
                .on_hover_text(details)
                .clicked()
            {
                actions.push(DetailsAction::Open(details.clone()));
            }
            if ui.button("Copy link").clicked() {
                copy(ui, actions, details.clone());
            }
        });
    }
}

fn links(ui: &mut egui::Ui, record: &JobRecord, actions: &mut Vec<DetailsAction>) {
    let links = output_links(record);
    if links.is_empty() {
        return;
    }
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        ui.label(RichText::new("Outputs").strong());
        if let Some(hls) = record.hls_url()
            && ui
                .button("▶ Open in player")
                .on_hover_text("Plays the HLS stream in mpv, VLC or the system's player")
                .clicked()
        {
            actions.push(DetailsAction::OpenInPlayer(hls.to_owned()));
        }
    });
    egui::Grid::new("details-links")
        .num_columns(3)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            for (label, url) in links {
                ui.label(RichText::new(&label).weak());
                ui.horizontal(|ui| {
                    if ui.small_button("Copy").on_hover_text(&url).clicked() {
                        copy(ui, actions, url.clone());
                    }
                    if ui.small_button("Open").clicked() {
                        actions.push(DetailsAction::Open(url.clone()));
                    }
                });
                ui.add(
                    egui::Label::new(RichText::new(&url).monospace().small())
                        .truncate()
                        .selectable(true),
                )
                .on_hover_text(&url);
                ui.end_row();
            }
        });
}

fn media_info(ui: &mut egui::Ui, info: &MediaInfo) {
    ui.add_space(8.0);
    ui.label(RichText::new("Media info").strong());
    let grid = |ui: &mut egui::Ui, id: &str, rows: Vec<(&str, String)>| {
        egui::Grid::new(id)
            .num_columns(2)
            .striped(true)
            .spacing([16.0, 2.0])
            .show(ui, |ui| {
                for (label, value) in rows {
                    ui.label(RichText::new(label).weak());
                    ui.label(value);
                    ui.end_row();
                }
            });
    };
    let text = |v: &Option<String>| v.clone();
    let num = |v: Option<u64>| v.map(|n| n.to_string());
    let float = |v: Option<f64>, unit: &str| v.map(|f| format!("{} {unit}", trim(f)));
    let rate = |v: Option<f64>| v.map(|b| format!("{:.0} kb/s", b / 1000.0));
    let keep = |rows: Vec<(&'static str, Option<String>)>| -> Vec<(&'static str, String)> {
        rows.into_iter()
            .filter_map(|(l, v)| v.map(|v| (l, v)))
            .collect()
    };
    if let Some(c) = &info.container {
        ui.label(RichText::new("Container").italics());
        grid(
            ui,
            "mi-container",
            keep(vec![
                ("Format", text(&c.format)),
                ("File size", c.file_size.map(|b| widgets::bytes(Some(b)))),
                ("Duration", float(c.duration, "s")),
                ("Total bitrate", rate(c.total_bitrate)),
            ]),
        );
    }
    for (i, v) in info.video.iter().enumerate() {
        ui.label(RichText::new(format!("Video track {}", i + 1)).italics());
        grid(
            ui,
            &format!("mi-video-{i}"),
            keep(vec![
                ("Codec", text(&v.codec)),
                ("Profile", text(&v.profile)),
                (
                    "Size",
                    v.width.zip(v.height).map(|(w, h)| format!("{w}×{h}")),
                ),
                ("Frame rate", float(v.framerate, "fps")),
                ("Bitrate", rate(v.bitrate)),
                ("Duration", float(v.duration, "s")),
                ("Frames", num(v.frame_count)),
                ("Scan", text(&v.scan_type)),
                ("Aspect ratio", text(&v.aspect_ratio)),
                ("Bit depth", num(v.bit_depth)),
                ("Colour", text(&v.color_space)),
            ]),
        );
    }
    for (i, a) in info.audio.iter().enumerate() {
        ui.label(RichText::new(format!("Audio track {}", i + 1)).italics());
        grid(
            ui,
            &format!("mi-audio-{i}"),
            keep(vec![
                ("Codec", text(&a.codec)),
                ("Profile", text(&a.profile)),
                ("Channels", num(a.channels)),
                ("Sampling rate", a.sampling_rate.map(|r| format!("{r} Hz"))),
                ("Bitrate", rate(a.bitrate)),
                ("Bitrate mode", text(&a.bitrate_mode)),
                ("Language", text(&a.language)),
                ("Duration", float(a.duration, "s")),
            ]),
        );
    }
    for (i, t) in info.text.iter().enumerate() {
        ui.label(RichText::new(format!("Text track {}", i + 1)).italics());
        grid(
            ui,
            &format!("mi-text-{i}"),
            keep(vec![
                ("Id", text(&t.id)),
                ("Format", text(&t.format)),
                ("Duration", float(t.duration, "s")),
                ("Captions", text(&t.caption_service_name)),
            ]),
        );
    }
}

/// `29.97`, `25`, `95.428`: at most three decimals, no trailing zeros.
fn trim(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::decode_document;

    #[test]
    fn every_output_of_a_complete_record_is_listed_in_order() {
        let record = decode_document(
            include_str!("../../../tests/fixtures/vod-examples/sns-complete.json").as_bytes(),
        )
        .unwrap()
        .record
        .unwrap();
        let labels: Vec<String> = output_links(&record).into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            labels,
            [
                "HLS",
                "DASH",
                "CMAF HLS",
                "CMAF DASH",
                "MSS",
                "MP4 1",
                "MP4 2",
                "Thumbnail"
            ]
        );
        let (_, hls) = &output_links(&record)[0];
        assert!(hls.ends_with("/hls/launch-keynote-2025.m3u8"));
    }

    #[test]
    fn mediapackage_items_list_their_egress_endpoints_too() {
        let record = decode_document(
            include_str!(
                "../../../tests/fixtures/vod-examples/dynamodb-item-complete-mediapackage.json"
            )
            .as_bytes(),
        )
        .unwrap()
        .record
        .unwrap();
        let labels: Vec<String> = output_links(&record).into_iter().map(|(l, _)| l).collect();
        assert!(labels.contains(&"HLS".to_owned()), "{labels:?}");
        for egress in [
            "MediaPackage HLS",
            "MediaPackage DASH",
            "MediaPackage CMAF",
            "MediaPackage MSS",
        ] {
            assert!(labels.contains(&egress.to_owned()), "{labels:?}");
        }
    }

    #[test]
    fn the_first_frame_is_the_reported_capture_with_the_counter_at_zero() {
        assert_eq!(
            first_frame_url("https://d/g/thumbnails/Año Nuevo_thumb.0000360.jpg").as_deref(),
            Some("https://d/g/thumbnails/Año Nuevo_thumb.0000000.jpg")
        );
        assert_eq!(first_frame_url("https://d/g/thumbnails/x.jpg"), None);
        assert_eq!(
            first_frame_url("https://d/g/thumbnails/a_thumb.12.jpg"),
            None
        );
    }

    #[test]
    fn numbers_are_trimmed() {
        assert_eq!(trim(29.97), "29.97");
        assert_eq!(trim(25.0), "25");
        assert_eq!(trim(95.4281), "95.428");
    }
}
