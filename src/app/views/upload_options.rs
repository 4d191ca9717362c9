//! The "Upload options" section, shown under the header on a MetadataFile stack only: what the metadata
//! file of each upload holds besides `srcVideo` (job template, frame capture, archive, free fields such
//! as a title). Each field is judged as it is typed; a refused one says why under it, and uploading
//! waits until it is fixed ("Add videos…" is disabled meanwhile). The section collapses to one line.

use eframe::egui::{self, RichText};

use crate::app::state::{
    AppState, Archive, ConnectionState, FrameCapture, UiAction, UploadOptions, UploadOptionsAction,
    seen_templates, stack_templates,
};
use crate::aws::discovery::VodResources;

/// The job template choice that writes no `jobTemplate`: the solution picks one of the stack's three.
const DEFAULT_TEMPLATE: &str = "Default (by resolution)";
const FIELD_WIDTH: f32 = 260.0;

/// Whether the section is shown: connected to a MetadataFile stack.
pub(crate) fn applies(state: &AppState) -> bool {
    matches!(state.connection(), ConnectionState::Connected(_))
        && state.upload_options().current().is_some()
}

pub(crate) fn show(ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<UiAction>) {
    let (ConnectionState::Connected(resources), Some(options)) =
        (state.connection(), state.upload_options().current())
    else {
        return;
    };
    let mut push = |action| actions.push(UiAction::UploadOptions(action));
    let id = ui.make_persistent_id("upload-options");
    egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, true)
        .show_header(ui, |ui| {
            ui.label(RichText::new("Upload options").strong());
            if options.problem().is_some() {
                let warn = ui.visuals().error_fg_color;
                ui.label(RichText::new("⚠ a field is refused: uploads wait until it is fixed").color(warn));
            } else {
                ui.label(RichText::new(summary(options)).weak());
            }
        })
        .body(|ui| {
            ui.label(
                RichText::new(
                    "This stack starts a workflow from a metadata file: vodesk uploads each video, then \
                     <name>.json with these fields. Remembered for this stack.",
                )
                .weak(),
            );
            egui::Grid::new("upload-options-grid")
                .num_columns(2)
                .spacing([16.0, 8.0])
                .show(ui, |ui| {
                    template_row(ui, state, resources, options, &mut push);
                    ui.end_row();
                    frame_capture_row(ui, resources, options, &mut push);
                    ui.end_row();
                    archive_row(ui, resources, options, &mut push);
                    ui.end_row();
                    fields_rows(ui, options, &mut push);
                });
        });
}

/// One line for the collapsed header: what the metadata file will hold besides `srcVideo`.
fn summary(options: &UploadOptions) -> String {
    let pairs = options.metadata_pairs();
    if pairs.is_empty() {
        return "stack defaults; no extra fields".to_owned();
    }
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn template_row(
    ui: &mut egui::Ui,
    state: &AppState,
    resources: &VodResources,
    options: &UploadOptions,
    push: &mut impl FnMut(UploadOptionsAction),
) {
    let label = ui.label("Job template");
    ui.horizontal(|ui| {
        let stack = resources.stack_name.as_deref();
        let chosen = options.job_template.trim();
        let defaults = stack
            .map(|s| stack_templates(s, resources.enable_media_package == Some(true)).join("\n"))
            .map_or_else(
                || "The stack's own templates, chosen by the source's resolution".to_owned(),
                |names| {
                    format!(
                        "The stack's own templates, chosen by the source's resolution:\n{names}"
                    )
                },
            );
        let combo = egui::ComboBox::from_id_salt("upload-job-template")
            .selected_text(if chosen.is_empty() {
                DEFAULT_TEMPLATE
            } else {
                chosen
            })
            .width(FIELD_WIDTH)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(chosen.is_empty(), DEFAULT_TEMPLATE)
                    .on_hover_text(&defaults)
                    .clicked()
                {
                    push(UploadOptionsAction::JobTemplate(String::new()));
                }
                let seen = seen_templates(stack, state.jobs());
                for template in &seen {
                    if ui
                        .selectable_label(chosen == template, template)
                        .on_hover_text("Used by a job of this stack")
                        .clicked()
                    {
                        push(UploadOptionsAction::JobTemplate(template.clone()));
                    }
                }
                for template in state.local_custom_templates() {
                    if !seen.contains(&template)
                        && ui
                            .selectable_label(chosen == template, &template)
                            .on_hover_text("A custom template of the local demo stack")
                            .clicked()
                    {
                        push(UploadOptionsAction::JobTemplate(template));
                    }
                }
            });
        combo.response.labelled_by(label.id);
        ui.label(RichText::new("or name one").weak());
        let mut text = options.job_template.clone();
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .id_salt("upload-job-template-name")
                    .hint_text("any MediaConvert job template")
                    .desired_width(FIELD_WIDTH),
            )
            .accessible_name("Job template name")
            .on_hover_text(
                "Sets jobTemplate: the solution encodes with it instead of choosing by resolution",
            );
        if edit.changed() {
            push(UploadOptionsAction::JobTemplate(text));
        }
    });
}

fn frame_capture_row(
    ui: &mut egui::Ui,
    resources: &VodResources,
    options: &UploadOptions,
    push: &mut impl FnMut(UploadOptionsAction),
) {
    ui.label("Frame capture");
    ui.horizontal(|ui| {
        let default = match resources.frame_capture {
            Some(true) => "Stack default (on)",
            Some(false) => "Stack default (off)",
            None => "Stack default",
        };
        for (choice, text) in [
            (FrameCapture::StackDefault, default),
            (FrameCapture::On, "On"),
            (FrameCapture::Off, "Off"),
        ] {
            if ui.radio(options.frame_capture == choice, text).clicked() {
                push(UploadOptionsAction::FrameCapture(choice));
            }
        }
    });
}

fn archive_row(
    ui: &mut egui::Ui,
    resources: &VodResources,
    options: &UploadOptions,
    push: &mut impl FnMut(UploadOptionsAction),
) {
    ui.label("Archive source");
    ui.horizontal(|ui| {
        let stack_archives = resources.glacier.as_deref().filter(|g| *g != "DISABLED");
        let default = match (resources.glacier.as_deref(), stack_archives) {
            (_, Some(glacier)) => format!("Stack default ({glacier})"),
            (Some(_), None) => "Stack default (none)".to_owned(),
            (None, None) => "Stack default".to_owned(),
        };
        let mut choices = vec![(Archive::StackDefault, default.as_str())];
        // "None" differs from the default only where the stack archives (or may).
        if stack_archives.is_some()
            || resources.glacier.is_none()
            || options.archive == Archive::None
        {
            choices.push((Archive::None, "None"));
        }
        choices.push((Archive::Glacier, "GLACIER"));
        choices.push((Archive::DeepArchive, "DEEP_ARCHIVE"));
        for (choice, text) in choices {
            if ui.radio(options.archive == choice, text).clicked() {
                push(UploadOptionsAction::Archive(choice));
            }
        }
    });
}

/// The free fields, one grid row each (the section's label on the first), each refusal in a row of
/// its own under its field, then "Add field".
fn fields_rows(
    ui: &mut egui::Ui,
    options: &UploadOptions,
    push: &mut impl FnMut(UploadOptionsAction),
) {
    let problems = options.row_problems();
    for (row, (key, value)) in options.fields.iter().enumerate() {
        let number = row + 1;
        if row == 0 {
            ui.label("Metadata fields");
        } else {
            ui.label("");
        }
        ui.horizontal(|ui| {
            let mut key_text = key.clone();
            let key_edit = ui
                .add(
                    egui::TextEdit::singleline(&mut key_text)
                        .id_salt(("upload-field-key", row))
                        .hint_text("key, e.g. title")
                        .desired_width(160.0),
                )
                .accessible_name(format!("Metadata key {number}"));
            if key_edit.changed() {
                push(UploadOptionsAction::FieldKey(row, key_text));
            }
            ui.label("=");
            let mut value_text = value.clone();
            let value_edit = ui
                .add(
                    egui::TextEdit::singleline(&mut value_text)
                        .id_salt(("upload-field-value", row))
                        .hint_text("value")
                        .desired_width(FIELD_WIDTH),
                )
                .accessible_name(format!("Metadata value {number}"));
            if value_edit.changed() {
                push(UploadOptionsAction::FieldValue(row, value_text));
            }
            if ui
                .small_button("✖")
                .accessible_name(format!("Remove field {number}"))
                .on_hover_text("Remove this field")
                .clicked()
            {
                push(UploadOptionsAction::RemoveField(row));
            }
        });
        ui.end_row();
        if let Some(Some(problem)) = problems.get(row) {
            ui.label("");
            ui.add(
                egui::Label::new(
                    RichText::new(format!("⚠ {problem}")).color(ui.visuals().error_fg_color),
                )
                .wrap(),
            );
            ui.end_row();
        }
    }
    ui.label(if options.fields.is_empty() {
        "Metadata fields"
    } else {
        ""
    });
    if ui
        .button("➕ Add field")
        .on_hover_text(
            "A key=value for the metadata file (title, …): the solution stores it with the job",
        )
        .clicked()
    {
        push(UploadOptionsAction::AddField);
    }
    ui.end_row();
}
