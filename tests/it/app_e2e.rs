//! The real app end to end, headless: `VodeskApp` (the window's own frame loop, engine and views)
//! under egui_kittest, connected to the local stack through its "Local demo stack" button. A generated
//! clip is dropped on the window; it is uploaded, encoded by the local pipeline, and the dashboard
//! shows it Complete with its thumbnail loaded; selecting it shows its HLS URL, which Copy puts on the
//! clipboard. Only the file dialog, players and notifications are stood in for.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use vodesk::app::VodeskApp;
use vodesk::app::desktop::Desktop;
use vodesk::app::engine::{Engine, EngineOptions, JournalSource};
use vodesk::app::state::ConnectionState;
use vodesk::jobs::JobStatus;

/// Records what the app asked of the desktop.
#[derive(Default, Clone)]
struct FakeDesktop {
    notifications: Arc<Mutex<Vec<String>>>,
}

impl Desktop for FakeDesktop {
    fn pick_videos(&mut self) {}

    fn picked(&mut self) -> Vec<PathBuf> {
        Vec::new()
    }

    fn open_in_player(&mut self, _url: &str) -> Result<String, String> {
        Ok("a test player".into())
    }

    fn open_folder(&mut self, _folder: &std::path::Path) -> Result<(), String> {
        Ok(())
    }

    fn notify(&mut self, title: &str, _body: &str) {
        if let Ok(mut list) = self.notifications.lock() {
            list.push(title.to_owned());
        }
    }
}

#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Steps the app (its events arrive from the engine's thread) until `done`, or fails after `limit`.
fn step_until(
    harness: &mut Harness<'static, VodeskApp>,
    what: &str,
    limit: Duration,
    done: impl Fn(&VodeskApp) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(harness.state()) {
        assert!(
            Instant::now() < deadline,
            "no {what} within {limit:?}; connection {:?}, notices {:?}",
            harness.state().state().connection(),
            harness.state().state().notices()
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    harness.step();
}

#[test]
fn a_dropped_clip_becomes_complete_with_its_thumbnail_and_hls_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = dir.path().join("Launch Teaser.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "4",
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ])
        .arg(&clip)
        .status()
        .expect("run ffmpeg (apt-get install ffmpeg)");
    assert!(status.success());
    if std::env::var_os(vodesk::local_stack::emulator::PYTHON_ENV).is_none()
        && vodesk::local_stack::emulator::find_python().is_err()
    {
        panic!("the emulator is not installed: run scripts/install-emulator");
    }

    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::At(dir.path().join("journal.sqlite3")),
            ..EngineOptions::default()
        },
    )
    .expect("start the engine");
    let desktop = FakeDesktop::default();
    let notifications = desktop.notifications.clone();
    let app = VodeskApp::for_test(engine, Box::new(desktop));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1100.0, 720.0))
        .build_eframe(|_cc| app);
    harness.step();

    harness.get_by_label("Local demo stack").click();
    step_until(
        &mut harness,
        "connection to the local stack",
        Duration::from_secs(120),
        |app| matches!(app.state().connection(), ConnectionState::Connected(_)),
    );

    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(clip.clone())));
    step_until(
        &mut harness,
        "a Complete job",
        Duration::from_secs(180),
        |app| {
            app.state()
                .jobs()
                .jobs()
                .iter()
                .any(|j| j.status == JobStatus::Complete)
        },
    );
    let (index, hls, thumbnail) = {
        let state = harness.state().state();
        let job = state
            .jobs()
            .jobs()
            .iter()
            .position(|j| j.status == JobStatus::Complete)
            .expect("complete");
        let record = state.jobs().jobs()[job].record.clone().expect("a record");
        assert!(
            state.jobs().jobs()[job]
                .file()
                .is_some_and(|f| f.ends_with("/Launch-Teaser.mp4")),
            "{:?}",
            state.jobs().jobs()[job].file()
        );
        (
            job,
            record.hls_url().expect("an HLS URL").to_owned(),
            record.thumbnail_urls()[0].clone(),
        )
    };
    assert!(hls.ends_with("/hls/Launch-Teaser.m3u8"), "{hls}");
    step_until(
        &mut harness,
        "the thumbnail",
        Duration::from_secs(30),
        |app| app.thumbnail_ready(&thumbnail),
    );
    harness.get_by_label("✔ Complete");
    assert!(
        notifications
            .lock()
            .expect("lock")
            .iter()
            .any(|t| t == "Ready to play: Launch-Teaser.mp4"),
        "{:?}",
        notifications.lock().expect("lock")
    );

    // Select the job: the details show the HLS URL; Copy puts it on the clipboard.
    harness.get_by_label("Launch-Teaser.mp4").click();
    step_until(
        &mut harness,
        "the details panel",
        Duration::from_secs(10),
        |app| app.state().selected() == Some(index),
    );
    // A few frames for the new panel's layout to settle before clicking in it.
    for _ in 0..6 {
        harness.step();
    }
    harness.get_by_label(&hls);
    harness
        .get_all_by_label("Copy")
        .next()
        .expect("a Copy button")
        .click();
    harness.step();
    let copied = harness
        .output()
        .platform_output
        .commands
        .iter()
        .any(|c| matches!(c, egui::OutputCommand::CopyText(text) if *text == hls));
    assert!(copied, "{:?}", harness.output().platform_output.commands);
}
