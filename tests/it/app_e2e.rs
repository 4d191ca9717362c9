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
use vodesk::jobs::{JobStatus, Thresholds, WarningKind};
use vodesk::local_stack::pipeline::SimulationRule;
use vodesk::local_stack::vod_template::StackParameters;

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

/// Drops `clip` on the window and steps until its job ends; the job must be Complete. Returns its
/// index and record.
fn drop_until_complete(
    harness: &mut Harness<'static, VodeskApp>,
    clip: &Path,
) -> (usize, vodesk::contract::JobRecord) {
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(clip.to_path_buf())));
    step_until(harness, "an ended job", Duration::from_secs(180), |app| {
        app.state()
            .jobs()
            .jobs()
            .iter()
            .any(|j| j.status == JobStatus::Complete || j.status == JobStatus::Error)
    });
    let state = harness.state().state();
    let index = state
        .jobs()
        .jobs()
        .iter()
        .position(|j| j.record.is_some())
        .expect("a job with a record");
    let job = &state.jobs().jobs()[index];
    let record = job.record.clone().expect("a record");
    assert_eq!(job.status, JobStatus::Complete, "{record:#?}");
    (index, record)
}

/// A 4 s 720p clip with audio, as a user's file.
fn make_clip(dir: &Path, name: &str) -> PathBuf {
    let clip = dir.join(name);
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
    clip
}

/// The real app, headless, whose "Local demo stack" is deployed with `parameters`; connected to it.
fn connected_app(
    dir: &Path,
    parameters: StackParameters,
) -> (Harness<'static, VodeskApp>, Arc<Mutex<Vec<String>>>) {
    connected_app_with(dir, parameters, Vec::new(), None)
}

/// [`connected_app`] whose local stack plays `simulate`, and whose warnings come after `thresholds`.
fn connected_app_with(
    dir: &Path,
    parameters: StackParameters,
    simulate: Vec<SimulationRule>,
    thresholds: Option<Thresholds>,
) -> (Harness<'static, VodeskApp>, Arc<Mutex<Vec<String>>>) {
    if std::env::var_os(vodesk::local_stack::emulator::PYTHON_ENV).is_none()
        && vodesk::local_stack::emulator::find_python().is_err()
    {
        panic!("the emulator is not installed: run scripts/install-emulator");
    }
    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::At(dir.join("journal.sqlite3")),
            local_stack_parameters: parameters,
            local_stack_simulate: simulate,
            ..EngineOptions::default()
        },
    )
    .expect("start the engine");
    let desktop = FakeDesktop::default();
    let notifications = desktop.notifications.clone();
    let app = match thresholds {
        Some(thresholds) => {
            VodeskApp::for_test_with_thresholds(engine, Box::new(desktop), thresholds)
        }
        None => VodeskApp::for_test(engine, Box::new(desktop)),
    };
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
    (harness, notifications)
}

#[test]
fn a_dropped_clip_becomes_complete_with_its_thumbnail_and_hls_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = make_clip(dir.path(), "Launch Teaser.mp4");
    let (mut harness, notifications) = connected_app(dir.path(), StackParameters::local_defaults());

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

/// The same on a MetadataFile local stack (issue 15): the Upload options section sets a custom job
/// template and a title; the dropped clip is uploaded with its metadata file, whose workflow
/// completes with the template's DASH and CMAF outputs and the title, and the details show them.
#[test]
fn on_a_metadata_file_stack_the_upload_options_travel_with_the_dropped_clip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = make_clip(dir.path(), "Town Hall.mp4");
    let (mut harness, _) = connected_app(
        dir.path(),
        StackParameters {
            workflow_trigger: vodesk::contract::stack::WorkflowTrigger::MetadataFile,
            ..StackParameters::local_defaults()
        },
    );
    for _ in 0..4 {
        harness.step();
    }
    harness.get_by_label("Job template name").click();
    harness
        .get_by_label("Job template name")
        .type_text("vod-local_Custom_Hls_Dash_Cmaf_Mp4");
    harness.step();
    harness.get_by_label("➕ Add field").click();
    for _ in 0..3 {
        harness.step();
    }
    harness.get_by_label("Metadata key 1").click();
    harness.get_by_label("Metadata key 1").type_text("title");
    harness.step();
    harness.get_by_label("Metadata value 1").click();
    harness
        .get_by_label("Metadata value 1")
        .type_text("Town Hall, March");
    for _ in 0..3 {
        harness.step();
    }
    let (index, record) = drop_until_complete(&mut harness, &clip);
    assert_eq!(
        record.job_template.as_deref(),
        Some("vod-local_Custom_Hls_Dash_Cmaf_Mp4")
    );
    let dash = record.outputs.dash_url.clone().expect("a DASH URL");
    let cmaf = record.outputs.cmaf_hls_url.clone().expect("a CMAF HLS URL");
    assert!(dash.ends_with("/dash/Town-Hall.mpd"), "{dash}");
    assert!(cmaf.ends_with("/cmaf/Town-Hall.m3u8"), "{cmaf}");
    assert_eq!(
        record
            .metadata
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect::<Vec<_>>(),
        [("title", "Town Hall, March")]
    );

    // The details show the template's groups.
    harness.get_by_label("Town-Hall.mp4").click();
    step_until(
        &mut harness,
        "the details panel",
        Duration::from_secs(10),
        |app| app.state().selected() == Some(index),
    );
    for _ in 0..6 {
        harness.step();
    }
    harness.get_by_label(&dash);
    harness.get_by_label(&cmaf);
    harness.get_by_label("Town Hall, March");
}

/// On a stack with EnableMediaPackage=Yes and Glacier=GLACIER (issue 15): the dropped clip's job
/// completes with MediaPackage egress endpoints that the details list and that play through the local
/// CloudFront, and the details say the source is tagged for archiving.
#[test]
fn on_a_media_package_stack_with_glacier_the_details_show_egress_and_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = make_clip(dir.path(), "Trailer Cut.mp4");
    let (mut harness, _) = connected_app(
        dir.path(),
        StackParameters {
            enable_media_package: true,
            glacier: vodesk::local_stack::vod_template::Glacier::Glacier,
            ..StackParameters::local_defaults()
        },
    );
    let (index, record) = drop_until_complete(&mut harness, &clip);
    let egress_hls = record
        .egress_endpoints
        .hls
        .clone()
        .expect("an HLS egress endpoint");
    assert!(egress_hls.contains("/out/v1/"), "{egress_hls}");
    assert!(
        record
            .job_template
            .as_deref()
            .is_some_and(|t| t.contains("_mvod_"))
    );
    // The egress endpoint plays (as a player would fetch it).
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(&egress_hls)
        .output()
        .expect("run ffprobe");
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );

    harness.get_by_label("Trailer-Cut.mp4").click();
    step_until(
        &mut harness,
        "the details panel with the whole item",
        Duration::from_secs(10),
        |app| {
            app.state().selected() == Some(index)
                && app.state().jobs().jobs()[index]
                    .record
                    .as_ref()
                    .is_some_and(|r| r.archive_source.is_some())
        },
    );
    for _ in 0..6 {
        harness.step();
    }
    harness.get_by_label(&egress_hls);
    harness.get_by_label_contains("GLACIER: the source is tagged");
}

/// `--simulate` (issue 15): the app's displays of the solution's silent and loud failures meet a real
/// run. A job whose encode never ends is marked Stalled once the (shortened) threshold passes, with
/// its hint; a job whose encode fails shows its Error, MediaConvert's code text, in the details.
#[test]
fn simulated_stall_and_encode_error_show_as_stalled_and_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let late = make_clip(dir.path(), "Late Show.mp4");
    let broken = make_clip(dir.path(), "Broken Cut.mp4");
    let simulate = ["stall=*Late*", "encode-error=*Broken*"]
        .iter()
        .map(|rule| rule.parse().expect("a rule"))
        .collect();
    let thresholds = Thresholds {
        no_workflow_after: Duration::from_secs(60),
        ingest_stuck_after: Duration::from_secs(2),
        encoding_factor: 1,
        encoding_floor: Duration::from_secs(3),
    };
    let (mut harness, _) = connected_app_with(
        dir.path(),
        StackParameters::local_defaults(),
        simulate,
        Some(thresholds),
    );
    for clip in [&late, &broken] {
        harness
            .input_mut()
            .dropped_files
            .push(Arc::new(Dropped(clip.clone())));
    }
    step_until(
        &mut harness,
        "an Error and a Stalled job",
        Duration::from_secs(120),
        |app| {
            let state = app.state();
            let jobs = state.jobs().jobs();
            let errored = jobs.iter().any(|j| j.status == JobStatus::Error);
            let now = std::time::SystemTime::now();
            let stalled = (0..jobs.len()).any(|i| {
                state
                    .warning(i, now)
                    .is_some_and(|w| w.kind == WarningKind::Stalled)
            });
            errored && stalled
        },
    );
    for _ in 0..4 {
        harness.step();
    }
    harness.get_by_label("⚠ stalled");
    harness.get_by_label("Broken-Cut.mp4").click();
    for _ in 0..6 {
        harness.step();
    }
    // The row's summary and the details' error both say what MediaConvert said.
    assert!(
        harness
            .get_all_by_label_contains("Unable to write to output file")
            .count()
            >= 2
    );
}
