//! The connect screen's saved connections, headless (egui_kittest): the connections of a
//! connections.toml (the file `vodesk --connection` reads) fill the form with one click and connect;
//! "Save connection" writes the form into the file under the typed name.

use std::path::Path;

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use vodesk::app::engine::Command;
use vodesk::app::state::AppState;
use vodesk::app::views::saved_connections::SavedConnections;
use vodesk::connections::ConnectionsFile;

struct Window {
    state: AppState,
    saved: SavedConnections,
    commands: Vec<Command>,
}

impl eframe::App for Window {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let out = vodesk::app::draw_for_test_with_saved(
            ui,
            &mut self.state,
            std::time::SystemTime::now(),
            &mut self.saved,
        );
        for action in out.actions {
            let effects = self.state.apply(action);
            self.commands
                .extend(effects.into_iter().filter_map(|e| e.into_command()));
        }
    }
}

fn harness(file: &Path) -> Harness<'static, Window> {
    let saved = SavedConnections::load_from(file.to_owned());
    Harness::builder()
        .with_size(egui::vec2(1100.0, 760.0))
        .with_pixels_per_point(1.0)
        .build_eframe(|_cc| Window {
            state: AppState::default(),
            saved,
            commands: Vec::new(),
        })
}

#[test]
fn a_saved_connection_fills_the_form_and_the_form_can_be_saved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("connections.toml");
    std::fs::write(
        &file,
        "default = \"prod\"\n[connections.prod]\nregion = \"eu-west-1\"\nstack = \"vod-prod\"\n",
    )
    .expect("write the connections file");
    let mut harness = harness(&file);
    harness.run_steps(4);

    harness.get_by_label("Saved connection").click();
    harness.run_steps(2);
    harness
        .get_by_label("prod  ·  vod-prod  ·  eu-west-1  ·  default")
        .click();
    harness.run_steps(2);
    harness.get_by_label("Connect").click();
    harness.run_steps(2);
    match harness.state().commands.as_slice() {
        [Command::Connect(request)] => {
            assert_eq!(request.stack.as_deref(), Some("vod-prod"));
            assert_eq!(request.connection.region.as_deref(), Some("eu-west-1"));
        }
        other => panic!("expected Connect with the saved connection, got {other:?}"),
    }

    // Change the region and keep the form under another name.
    harness.get_by_label("Region").click();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_steps(1);
    harness.get_by_label("Region").type_text("us-west-2");
    harness.run_steps(1);
    harness.get_by_label("Save as").click();
    harness.run_steps(1);
    harness.get_by_label("Save as").type_text("prod-west");
    harness.run_steps(1);
    harness.get_by_label("Save connection").click();
    harness.run_steps(2);
    let written = ConnectionsFile::load(&file).expect("the file reads back");
    let west = written.connections.get("prod-west").expect("saved");
    assert_eq!(west.region.as_deref(), Some("us-west-2"));
    assert_eq!(west.stack.as_deref(), Some("vod-prod"));
    assert_eq!(
        written.default.as_deref(),
        Some("prod"),
        "the default is kept"
    );
    assert!(
        harness
            .state()
            .state
            .notices()
            .iter()
            .any(|n| n.contains("Saved the connection prod-west")),
        "{:?}",
        harness.state().state.notices()
    );
}
