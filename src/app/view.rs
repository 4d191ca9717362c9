//! Draws the main window from the app state: a header with the connection, the deployment's resources,
//! and what this build can and cannot do yet.

use eframe::egui::{self, Color32, RichText};

use super::state::{AppState, ConnectionState};

pub fn main_window(ui: &mut egui::Ui, state: &AppState) {
    egui::Panel::top("header").show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.heading("vodesk");
            ui.label(RichText::new("Video on Demand on AWS").weak());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                connection_chip(ui, &state.connection);
            });
        });
    });
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            connection_card(ui, &state.connection);
            ui.add_space(16.0);
            ui.separator();
            ui.label(RichText::new("In this build").strong());
            ui.label(
                "vodesk connects to a deployment and shows its resources. Drag-and-drop resumable \
                 uploads, the live job dashboard, thumbnails, media info and one-click playback links \
                 arrive in the next releases. The command line already offers vodesk decode, \
                 vodesk stack and vodesk stacks.",
            );
        });
    });
}

fn connection_chip(ui: &mut egui::Ui, connection: &ConnectionState) {
    let (text, color) = match connection {
        ConnectionState::NotConfigured => ("not connected", ui.visuals().weak_text_color()),
        ConnectionState::Connecting { .. } => ("connecting…", ui.visuals().warn_fg_color),
        ConnectionState::Connected(_) => ("connected", Color32::from_rgb(0x2e, 0xa0, 0x43)),
        ConnectionState::Failed { .. } => ("connection failed", ui.visuals().error_fg_color),
    };
    // Painted, not a "●" glyph: egui's bundled fonts have no such character.
    ui.label(RichText::new(text).color(color));
    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 4.5, color);
}

fn connection_card(ui: &mut egui::Ui, connection: &ConnectionState) {
    match connection {
        ConnectionState::NotConfigured => {
            ui.heading("No deployment selected");
            ui.label(
                "Start vodesk with --stack NAME (or set VODESK_STACK) to connect to a Video on Demand \
                 on AWS deployment; add --profile and --region as needed. The command vodesk stacks lists \
                 the deployments in a region.",
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
            ui.add_space(6.0);
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
        }
    }
}
