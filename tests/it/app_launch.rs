//! `vodesk [flags] FILE…` (what the desktop entry's `%F` runs when videos are opened with vodesk or
//! dropped on its launcher): the real app, headless, connects with the flags and uploads the files
//! once connected; the object arrives in the stack's source bucket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use vodesk::app::engine::{Engine, EngineOptions, JournalSource};
use vodesk::app::{Launch, VodeskApp};
use vodesk::aws::connection::ConnectionSettings;

use crate::common::{REGION, fresh_emulator, vod_stack};

/// The desktop stood in for: no dialog, no player, no notification in a test.
struct NoDesktop;

impl vodesk::app::desktop::Desktop for NoDesktop {
    fn pick_videos(&mut self) {}

    fn picked(&mut self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    fn open_in_player(&mut self, _url: &str) -> Result<String, String> {
        Err("no player in tests".into())
    }

    fn open_folder(&mut self, _folder: &std::path::Path) -> Result<(), String> {
        Err("no file manager in tests".into())
    }

    fn notify(&mut self, _title: &str, _body: &str) {}
}

#[tokio::test(flavor = "multi_thread")]
async fn files_given_at_launch_are_uploaded_once_connected() {
    let emulator = fresh_emulator().await;
    let resources = vod_stack(&emulator.clients, "vod-launch").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = dir.path().join("opened-from-the-file-manager.mp4");
    std::fs::write(&clip, vec![7u8; 300_000]).expect("write the clip");

    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::At(dir.path().join("journal.sqlite3")),
            ..EngineOptions::default()
        },
    )
    .expect("start the engine");
    let launch = Launch {
        connection: ConnectionSettings::emulator(&emulator.endpoint, REGION),
        stack: Some("vod-launch".into()),
        files: vec![clip],
        ..Launch::default()
    };
    let app = VodeskApp::for_test_launched(engine, Box::new(NoDesktop), launch);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1100.0, 720.0))
        .build_eframe(|_cc| app);

    let deadline = Instant::now() + Duration::from_secs(90);
    let key = loop {
        harness.step();
        let listed = emulator
            .clients
            .s3
            .list_objects_v2()
            .bucket(&resources.source_bucket)
            .send()
            .await
            .expect("list the source bucket");
        if let Some(key) = listed.contents().iter().find_map(|o| o.key()) {
            break key.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the launch file was not uploaded; connection {:?}, notices {:?}",
            harness.state().state().connection(),
            harness.state().state().notices()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(key.ends_with("opened-from-the-file-manager.mp4"), "{key}");
}
