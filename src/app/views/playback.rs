//! The details panel's "Check playback" part, for Complete jobs: the button (a spinner while the
//! check runs), then the verdict line and a table per format (the ladder, the CORS answer and the
//! findings), as `vodesk check` prints them; a check that could not run says why in one line.

use eframe::egui::{self, Color32, RichText};

use super::widgets::GREEN;
use crate::app::state::{DetailsAction, PlaybackCheck};
use crate::playback::{FormatSection, PlaybackReport, Severity, text};

const AMBER: Color32 = Color32::from_rgb(0xc9, 0x8a, 0x12);

pub(crate) fn show(
    ui: &mut egui::Ui,
    guid: &str,
    check: Option<&PlaybackCheck>,
    actions: &mut Vec<DetailsAction>,
) {
    ui.add_space(8.0);
    let running = matches!(check, Some(PlaybackCheck::Running { .. }));
    ui.horizontal(|ui| {
        ui.label(RichText::new("Playback").strong());
        let label = if matches!(check, Some(PlaybackCheck::Done(_))) {
            "Check playback again"
        } else {
            "Check playback"
        };
        let button = ui
            .add_enabled(!running, egui::Button::new(label))
            .on_hover_text(
                "Reads the HLS, DASH and CMAF manifests and the MP4 files as a player would: \
                 every variant, the first and last segments, durations, content types and CORS",
            );
        if button.clicked() {
            actions.push(DetailsAction::CheckPlayback(guid.to_owned()));
        }
        if running {
            ui.spinner();
            ui.label("Checking playback…");
        }
    });
    match check {
        None => {}
        Some(PlaybackCheck::Failed(message)) => {
            ui.label(
                RichText::new(format!("Could not check playback: {message}"))
                    .color(ui.visuals().error_fg_color),
            );
        }
        Some(PlaybackCheck::Running { last: Some(report) }) => {
            ui.add_enabled_ui(false, |ui| show_report(ui, report));
        }
        Some(PlaybackCheck::Running { last: None }) => {}
        Some(PlaybackCheck::Done(report)) => show_report(ui, report),
    }
}

fn show_report(ui: &mut egui::Ui, report: &PlaybackReport) {
    let (icon, color) = if report.verdict.plays {
        ("✔", GREEN)
    } else {
        ("✖", ui.visuals().error_fg_color)
    };
    ui.label(
        RichText::new(format!("{icon} {}", report.verdict.line))
            .strong()
            .color(color),
    );
    ui.label(
        RichText::new(format!(
            "{} requests in {:.1} s",
            report.requests,
            report.elapsed_ms as f64 / 1000.0
        ))
        .weak()
        .small(),
    );
    for (i, section) in report.sections.iter().enumerate() {
        show_section(ui, i, section);
    }
}

fn show_section(ui: &mut egui::Ui, index: usize, section: &FormatSection) {
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        ui.label(RichText::new(section.format.label()).strong());
        if let Some(cors) = &section.cors {
            let (text, color) = if cors.pass {
                ("CORS ok", GREEN)
            } else {
                ("no CORS", ui.visuals().error_fg_color)
            };
            ui.label(RichText::new(text).small().color(color))
                .on_hover_text(cors.allow_origin.as_deref().map_or_else(
                    || "No Access-Control-Allow-Origin in the answer".to_owned(),
                    |v| format!("Access-Control-Allow-Origin: {v}"),
                ));
        }
    });
    if !section.ladder.is_empty() {
        egui::ScrollArea::horizontal()
            .id_salt(("playback-ladder-scroll", index))
            .show(ui, |ui| {
                egui::Grid::new(("playback-ladder", index))
                    .striped(true)
                    .spacing([10.0, 2.0])
                    .show(ui, |ui| {
                        ui.label("");
                        for title in text::headers(section) {
                            ui.label(RichText::new(title).small().weak());
                        }
                        ui.end_row();
                        for row in &section.ladder {
                            if row.ok {
                                ui.label(RichText::new("✔").color(GREEN));
                            } else {
                                ui.label(RichText::new("✖").color(ui.visuals().error_fg_color));
                            }
                            for cell in text::cells(row) {
                                ui.label(RichText::new(cell).small().monospace());
                            }
                            ui.end_row();
                        }
                    });
            });
    }
    for finding in &section.findings {
        let color = match finding.severity {
            Severity::Fail => ui.visuals().error_fg_color,
            Severity::Warn => AMBER,
            Severity::Info => ui.visuals().weak_text_color(),
        };
        let hover = match &finding.url {
            Some(url) => format!("{url}\n\n{}", finding.fix),
            None => finding.fix.clone(),
        };
        ui.add(
            egui::Label::new(
                RichText::new(format!("{}: {}", finding.severity.label(), finding.what))
                    .small()
                    .color(color),
            )
            .wrap(),
        )
        .on_hover_text(hover);
    }
}
