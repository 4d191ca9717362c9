//! The connect screen's saved connections: the named connections of `connections.toml`, the same file
//! as the CLI's `--connection` and `vodesk connections`. One click fills the form with a saved
//! connection; "Save" keeps the form under a name. This module owns the list the window holds, the
//! form's translation to and from a saved connection, and the part of the screen that shows them.

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use super::connect::ConnectForm;
use crate::connections::{Connection, ConnectionsFile, check_name, file_path};

/// The saved connections as the window last read them, or why they could not be read.
#[derive(Debug, Clone, Default)]
pub struct SavedConnections {
    path: Option<PathBuf>,
    file: ConnectionsFile,
    problem: Option<String>,
}

/// "Save" was clicked: keep the form under this name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveConnection {
    pub name: String,
    pub connection: Connection,
}

impl SavedConnections {
    /// Reads the file (a few hundred bytes, once at start, like the AWS profiles).
    pub fn load() -> Self {
        match file_path() {
            Ok(path) => Self::load_from(path),
            Err(err) => Self {
                problem: Some(err.to_string()),
                ..Self::default()
            },
        }
    }

    /// Reads the connections file at `path` (a missing file holds none).
    pub fn load_from(path: PathBuf) -> Self {
        match ConnectionsFile::load(&path) {
            Ok(file) => Self {
                path: Some(path),
                file,
                problem: None,
            },
            Err(err) => Self {
                path: Some(path),
                file: ConnectionsFile::default(),
                problem: Some(err.to_string()),
            },
        }
    }

    /// The saved connections, by name.
    pub fn file(&self) -> &ConnectionsFile {
        &self.file
    }

    /// Adds (or replaces) one and writes the file; the sentence to show either way.
    pub fn save(&mut self, request: &SaveConnection) -> String {
        let Some(path) = self.path.clone() else {
            return format!(
                "Could not save the connection: {}",
                self.problem
                    .as_deref()
                    .unwrap_or("there is no config folder")
            );
        };
        // Read again first: the CLI may have changed the file since the window read it.
        let mut file = match ConnectionsFile::load(&path) {
            Ok(file) => file,
            Err(err) => return format!("Could not save the connection: {err}"),
        };
        if let Err(err) = file.insert(&request.name, request.connection.clone()) {
            return format!("Could not save the connection: {err}");
        }
        match file.save(&path) {
            Ok(()) => {
                self.file = file;
                self.problem = None;
                format!(
                    "Saved the connection {} in {} (`vodesk --connection {}` uses it too).",
                    request.name,
                    path.display(),
                    request.name
                )
            }
            Err(err) => format!("Could not save the connection: {err}"),
        }
    }
}

/// The form as a saved connection (empty fields left out).
pub fn saved_from_form(form: &ConnectForm) -> Connection {
    let request = form.request();
    Connection {
        profile: request.connection.profile,
        region: request.connection.region,
        stack: request.stack,
        endpoint_url: request.connection.endpoint_url,
        source_bucket: request.overrides.source_bucket,
        table: request.overrides.table,
        topic_arn: request.overrides.topic_arn,
        cloudfront_domain: request.overrides.cloudfront_domain,
    }
}

/// The form a saved connection fills.
pub fn form_from_saved(saved: &Connection) -> ConnectForm {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    ConnectForm {
        profile: text(&saved.profile),
        region: text(&saved.region),
        stack: text(&saved.stack),
        endpoint_url: text(&saved.endpoint_url),
        source_bucket: text(&saved.source_bucket),
        table: text(&saved.table),
        topic_arn: text(&saved.topic_arn),
        cloudfront_domain: text(&saved.cloudfront_domain),
    }
}

/// A one-line summary of a saved connection for the menu.
fn summary(name: &str, saved: &Connection, is_default: bool) -> String {
    let mut parts = vec![name.to_owned()];
    parts.extend(
        [&saved.stack, &saved.region, &saved.profile]
            .into_iter()
            .flatten()
            .cloned(),
    );
    if is_default {
        parts.push("default".to_owned());
    }
    parts.join("  ·  ")
}

/// The "Saved connection" menu (when there are any) as a row of the connect form's grid.
pub(crate) fn menu_row(ui: &mut egui::Ui, saved: &SavedConnections, form: &mut ConnectForm) {
    if saved.file.connections.is_empty() && saved.problem.is_none() {
        return;
    }
    let label = ui.label("Saved connection");
    if let Some(problem) = &saved.problem {
        ui.add(egui::Label::new(RichText::new(problem).color(ui.visuals().error_fg_color)).wrap());
        ui.end_row();
        return;
    }
    let chosen = saved
        .file
        .connections
        .iter()
        .find(|(_, c)| form_from_saved(c) == *form)
        .map_or_else(|| "(choose one)".to_owned(), |(name, _)| name.clone());
    egui::ComboBox::from_id_salt("saved-connection")
        .selected_text(chosen)
        .width(300.0)
        .show_ui(ui, |ui| {
            for (name, connection) in &saved.file.connections {
                let is_default = saved.file.default.as_deref() == Some(name.as_str());
                let text = summary(name, connection, is_default);
                if ui
                    .selectable_label(form_from_saved(connection) == *form, text)
                    .clicked()
                {
                    *form = form_from_saved(connection);
                }
            }
        })
        .response
        .labelled_by(label.id)
        .on_hover_text(
            "The connections of connections.toml, shared with `vodesk --connection NAME`",
        );
    ui.end_row();
}

/// "Save as [name] [Save]" under the form: asks to keep the form under the typed name.
pub(crate) fn save_row(ui: &mut egui::Ui, form: &ConnectForm, out: &mut Option<SaveConnection>) {
    let name_id = egui::Id::unique("save-connection-name");
    let mut name: String = ui.data_mut(|d| d.get_temp(name_id)).unwrap_or_default();
    ui.horizontal(|ui| {
        let label = ui.label("Save as");
        ui.add(
            egui::TextEdit::singleline(&mut name)
                .hint_text("a name, e.g. prod")
                .desired_width(160.0),
        )
        .labelled_by(label.id);
        let valid = check_name(name.trim()).is_ok();
        let save = ui
            .add_enabled(
                valid && form.can_connect(),
                egui::Button::new("Save connection"),
            )
            .on_hover_text(
                "Keeps these settings under the name in connections.toml, for this screen and `vodesk --connection NAME`",
            );
        if save.clicked() {
            *out = Some(SaveConnection {
                name: name.trim().to_owned(),
                connection: saved_from_form(form),
            });
            name.clear();
        }
    });
    ui.data_mut(|d| d.insert_temp(name_id, name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_round_trips_through_a_saved_connection() {
        let form = ConnectForm {
            profile: "media".into(),
            region: "eu-west-1".into(),
            stack: "vod-prod".into(),
            table: "jobs".into(),
            ..ConnectForm::default()
        };
        let saved = saved_from_form(&form);
        assert_eq!(saved.endpoint_url, None, "empty fields are not saved");
        assert_eq!(form_from_saved(&saved), form);
    }

    #[test]
    fn saving_writes_the_file_and_keeps_what_the_cli_added_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connections.toml");
        let mut saved = SavedConnections::load_from(path.clone());
        // The CLI saves one after the window read the file.
        let mut cli = ConnectionsFile::default();
        cli.insert("from-cli", Connection::default()).unwrap();
        cli.save(&path).unwrap();
        let said = saved.save(&SaveConnection {
            name: "prod".into(),
            connection: Connection {
                stack: Some("vod".into()),
                ..Connection::default()
            },
        });
        assert!(said.starts_with("Saved the connection prod"), "{said}");
        let names: Vec<&String> = saved.file().connections.keys().collect();
        assert_eq!(names, ["from-cli", "prod"]);
        assert_eq!(ConnectionsFile::load(&path).unwrap(), *saved.file());
    }

    #[test]
    fn an_unreadable_file_is_said_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connections.toml");
        std::fs::write(&path, "[connections.a]\nregoin = 1\n").unwrap();
        let mut saved = SavedConnections::load_from(path.clone());
        assert!(saved.problem.as_deref().unwrap_or("").contains("regoin"));
        let said = saved.save(&SaveConnection {
            name: "b".into(),
            connection: Connection::default(),
        });
        assert!(said.starts_with("Could not save"), "{said}");
        assert!(std::fs::read_to_string(&path).unwrap().contains("regoin"));
    }
}
