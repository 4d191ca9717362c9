//! The main window, headless: egui_kittest drives `vodesk::app::draw_for_test` with an `AppState`
//! built from engine events (as the app builds it), finds widgets through AccessKit by their text,
//! and compares rendered images with the snapshots in `tests/snapshots/`.
//!
//! Snapshots are rendered with wgpu, on CI with Mesa's Vulkan software renderer (lavapipe, on
//! llvmpipe): `ensure_ui_test_deps` in `scripts/lib.sh` installs it (`mesa-vulkan-drivers` and
//! `libvulkan1`). The checked-in images were made that way, so make new ones with the same renderer
//! (another renderer may antialias a little differently and fail the comparison). The harness
//! picks a CPU adapter (lavapipe) over a GPU by itself, so nothing needs to be set; without any
//! adapter the snapshot tests fail ("Failed to create render state"). `WGPU_BACKEND=gl` renders with
//! Mesa's OpenGL llvmpipe through EGL instead (`libegl1 libgl1-mesa-dri`), which matches these
//! images too. The Vulkan loader may print "XDG_RUNTIME_DIR is invalid" when no display session
//! exists: harmless.
//!
//! Updating snapshots (after a deliberate change of the window):
//!
//! ```text
//! UPDATE_SNAPSHOTS=1 cargo test --test it app_ui::     # rewrites only the images that now differ
//! UPDATE_SNAPSHOTS=force cargo test --test it app_ui:: # rewrites every image
//! ```
//!
//! With `UPDATE_SNAPSHOTS` set the tests pass and write `tests/snapshots/NAME.png` (the previous
//! image is kept as `NAME.old.png` for comparing). Without it, a snapshot fails when more than
//! `max_failed_pixels` (default 0) pixels differ by more than `threshold` (default 0.6, a
//! weighted YIQ colour distance) from the checked-in image; the failing run writes `NAME.new.png`
//! (what was rendered) and `NAME.diff.png` (the differing pixels) next to it. Look at the new
//! image before committing it; never commit the `.new.png`, `.diff.png` and `.old.png` files. The
//! defaults can be changed in a `kittest.toml` at the crate root (see egui_kittest's README).
//!
//! The images are deterministic: a fixed window size (the app's 1100×720 points, at 1 pixel per
//! point), a fixed `now` for the durations and warnings, the harness's fixed dark theme, no
//! animations (egui_kittest turns them off) and no mouse pointer, and the harness runs the frames
//! until the ui has settled (auto-sized table columns take a few).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::path::PathBuf;

use vodesk::app::desktop::Desktop;
use vodesk::app::engine::Command;
use vodesk::app::engine::{Event, JobsPage, MonitorMode};
use vodesk::app::state::{AppState, CatalogueState, ConnectionState, UiAction};
use vodesk::app::views::details::DetailsAction;
use vodesk::aws::discovery::{Origin, SolutionStack, VodResources};
use vodesk::aws::upload::events::UploadEvent;
use vodesk::aws::upload::journal::{FileIdentity, UploadRecord, UploadState, UploadTarget};
use vodesk::aws::upload::select::Refusal;
use vodesk::contract::JobRecord;
use vodesk::contract::decode::decode_document;

/// The window's size in the app (`app::run`'s inner size).
const WINDOW: egui::Vec2 = egui::vec2(1100.0, 720.0);

/// 2025-10-14T09:20:00Z: eight minutes after the Ingest fixture's job started (so it shows as
/// stalled), days after the others finished.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_760_433_600)
}

/// The window as eframe runs it: `draw_for_test` on the root `Ui` of the whole viewport, the way
/// the app's `eframe::App::ui` draws (egui_kittest's plain-`Ui` harness would add a margin). What the
/// user does is applied to the state, and what that asks for is run by the app's own
/// `effects::run` with a stand-in desktop, as the app does; the commands it yields
/// (for the engine), the details panel's actions and what reached the desktop are recorded for the
/// tests to check.
struct Window {
    state: AppState,
    commands: Vec<Command>,
    details: Vec<DetailsAction>,
    desktop: FakeDesktop,
    thumbs: vodesk::app::thumbnails::ThumbnailBook,
}

impl eframe::App for Window {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let out = vodesk::app::draw_for_test(ui, &mut self.state, now());
        self.details.extend(out.details.iter().cloned());
        let details = out.details.into_iter().map(UiAction::Details);
        for action in out.actions.into_iter().chain(details) {
            // As the app's frame loop does: every effect run in one place.
            let effects = self.state.apply(action);
            let mut window = vodesk::app::effects::Window {
                ctx: &ctx,
                desktop: &mut self.desktop,
                thumbs: &mut self.thumbs,
            };
            let commands = vodesk::app::effects::run(&mut self.state, &mut window, effects);
            self.commands.extend(commands);
        }
    }
}

/// Stands in for the desktop: records the URLs handed to a media player.
#[derive(Default)]
struct FakeDesktop {
    played: Vec<String>,
    folders: Vec<PathBuf>,
}

impl Desktop for FakeDesktop {
    fn pick_videos(&mut self) {}

    fn picked(&mut self) -> Vec<PathBuf> {
        Vec::new()
    }

    fn open_in_player(&mut self, url: &str) -> Result<String, String> {
        self.played.push(url.to_owned());
        Ok("a test player".into())
    }

    fn notify(&mut self, _title: &str, _body: &str) {}

    fn open_folder(&mut self, folder: &std::path::Path) -> Result<(), String> {
        self.folders.push(folder.to_owned());
        Ok(())
    }
}

/// ⚙ → Open log folder shows the folder the log file is written to.
#[test]
fn the_settings_menu_opens_the_log_folder() {
    let mut harness = harness(AppState::default());
    harness.run_steps(2);
    harness.get_by_label("⚙").click();
    harness.run_steps(2);
    harness.get_by_label("Open log folder").click();
    harness.run_steps(2);
    let expected = vodesk::logs::log_dir().expect("a home folder");
    assert_eq!(harness.state().desktop.folders, vec![expected]);
}

/// Frames enough for the table's auto-sized columns to settle. A fixed count, not `run()`: the
/// thumbnails' loading spinners (nothing fetches them here) repaint forever. Deterministic: kittest
/// advances time by a fixed step per frame.
const SETTLE: usize = 8;

fn harness(state: AppState) -> Harness<'static, Window> {
    harness_with_theme(state, egui::Theme::Dark)
}

fn harness_with_theme(state: AppState, theme: egui::Theme) -> Harness<'static, Window> {
    Harness::builder()
        .with_size(WINDOW)
        .with_pixels_per_point(1.0)
        .with_theme(theme)
        .build_eframe(|_cc| Window {
            state,
            commands: Vec::new(),
            details: Vec::new(),
            desktop: FakeDesktop::default(),
            thumbs: vodesk::app::thumbnails::ThumbnailBook::new(64),
        })
}

/// The job record in one of the contract's example documents (tests/fixtures/vod-examples).
fn record(fixture: &str) -> JobRecord {
    let path = format!(
        "{}/tests/fixtures/vod-examples/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    decode_document(&bytes)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .record
        .unwrap_or_else(|| panic!("{path} holds no job record"))
}

fn resources() -> VodResources {
    VodResources {
        stack_name: Some("vod-demo".into()),
        stack_id: None,
        stack_status: Some("UPDATE_COMPLETE".into()),
        solution_version: Some("v6.1.5".into()),
        generation: None,
        region: "eu-west-1".into(),
        source_bucket: "vod-demo-source-71c2".into(),
        destination_bucket: Some("vod-demo-destination-71c2".into()),
        table: "vod-demo".into(),
        topic_arn: "arn:aws:sns:eu-west-1:123456789012:vod-demo-Notifications".into(),
        topic_arn_from: Origin::StackOutput,
        cloudfront_domain: Some("d1a2b3c4d5e6f7.cloudfront.net".into()),
        workflow_trigger: None,
        enable_sns: Some(true),
        frame_capture: Some(false),
        enable_media_package: Some(false),
        enable_sqs: Some(true),
        glacier: Some("DISABLED".into()),
        stack_queue_url: None,
        overridden: Vec::new(),
    }
}

/// The Ingest item from the table as it is before the workflow submits the encode job (the
/// fixture's item already has one, which the dashboard shows as Encoding).
fn ingest_record() -> JobRecord {
    let mut record = record("dynamodb-item-ingest.json");
    record.encode_job_id = None;
    record
}

/// Connected to a deployment, live, with one Complete, one Ingest and one Error job from the table.
fn dashboard_state() -> AppState {
    let mut state = AppState::default();
    state.apply(Event::Connected(Box::new(resources())));
    state.apply(Event::MonitorMode(MonitorMode::Live {
        queue_name: "vodesk-3f9a1c".into(),
        also_polling: false,
    }));
    state.apply(Event::Jobs(Box::new(JobsPage {
        records: vec![
            record("dynamodb-item-complete.json"),
            ingest_record(),
            record("dynamodb-item-error.json"),
        ],
        uploads: vec![],
        warnings: vec![],
        more: false,
        read_at: now(),
    })));
    state
}

#[test]
fn not_configured_window_shows_the_connect_form() {
    let state = AppState::default();
    assert_eq!(state.connection(), &ConnectionState::NotConfigured);
    let mut harness = harness(state);
    harness.run_steps(SETTLE);

    harness.get_by_label("Connect to a Video on Demand on AWS deployment");
    harness.get_by_label("AWS profile");
    harness.get_by_label("Find stacks");
    harness.get_by_label("Local demo stack");
    harness.get_by_label("not connected");
    harness.snapshot("not_configured");

    // "Local demo stack" asks the engine to start it, once.
    harness.get_by_label("Local demo stack").click();
    harness.run_steps(2);
    assert!(matches!(
        harness.state().commands.as_slice(),
        [Command::StartLocalStack]
    ));
}

#[test]
fn the_connect_form_finds_stacks_and_connects_to_the_chosen_one() {
    let mut harness = harness(AppState::default());
    harness.run_steps(SETTLE);
    // Nothing named yet: Connect is disabled.
    harness.get_by_label("Connect").click();
    harness.run_steps(1);
    assert!(harness.state().commands.is_empty());

    harness.get_by_label("Region").click();
    harness.run_steps(1);
    harness.get_by_label("Region").type_text("eu-west-1");
    harness.run_steps(1);
    harness.get_by_label("Find stacks").click();
    harness.run_steps(2);
    match harness.state().commands.as_slice() {
        [Command::FindStacks(settings)] => {
            assert_eq!(settings.region.as_deref(), Some("eu-west-1"))
        }
        other => panic!("expected FindStacks, got {other:?}"),
    }
    harness.state_mut().commands.clear();
    harness
        .state_mut()
        .state
        .apply(Event::StacksFound(Ok(vec![SolutionStack {
            name: "vod-prod".into(),
            status: Some("UPDATE_COMPLETE".into()),
            solution_version: Some("v6.1.13".into()),
            generation: None,
            source_bucket: None,
        }])));
    harness.run_steps(2);
    harness
        .get_by_label("vod-prod  ·  v6.1.13  ·  UPDATE_COMPLETE")
        .click();
    harness.run_steps(2);
    harness.get_by_label("Connect").click();
    harness.run_steps(2);
    match harness.state().commands.as_slice() {
        [Command::Connect(request)] => {
            assert_eq!(request.stack.as_deref(), Some("vod-prod"));
            assert_eq!(request.connection.region.as_deref(), Some("eu-west-1"));
        }
        other => panic!("expected Connect, got {other:?}"),
    }
    // A failure reads in plain words, with the fix.
    harness.state_mut().state.apply(Event::ConnectFailed {
        message: "your AWS session has expired: sign in again with `aws sso login --profile work`"
            .into(),
    });
    harness.run_steps(2);
    harness.get_by_label("Could not connect");
    harness.get_by_label_contains("aws sso login --profile work");
}

#[test]
fn dashboard_shows_each_job_with_its_status() {
    let state = dashboard_state();
    assert_eq!(state.catalogue(), &CatalogueState::Loaded { more: false });
    assert_eq!(state.order().len(), 3);
    let mut harness = harness(state);
    harness.run_steps(SETTLE);

    harness.get_by_label("vod-demo  ·  v6.1.5");
    harness.get_by_label("connected");
    harness.get_by_label("Live");
    for file in [
        "launch-keynote-2025.mp4",
        "Café Opening Night.MOV",
        "drone-footage-0423.mp4",
    ] {
        harness.get_by_label(file);
    }
    for status in ["✔ Complete", "⏳ Ingest", "✖ Error"] {
        harness.get_by_label(status);
    }
    // Eight minutes in Ingest without an encode job: the warning column says so.
    harness.get_by_label("⚠ stalled");
    harness.get_by_label("Unable to open input file [s3://vod-stack-source71e471f1-abc123def456/uploads/drone-footage-0423.mp4]: [Failed probe/open: [No parser found for container]]");
    harness.get_by_label("All 3 jobs loaded");

    harness.snapshot("dashboard");
}

/// Files dragged over the window: an overlay says where they will go.
#[test]
fn dragging_files_over_the_window_names_the_target_bucket() {
    let mut harness = harness(dashboard_state());
    harness.run_steps(SETTLE);
    harness.input_mut().hovered_files.push(egui::HoveredFile {
        path: Some("/videos/Clip One.MOV".into()),
        ..Default::default()
    });
    harness.run_steps(2);
    harness.snapshot("drop_overlay");
}

/// The app follows the system's theme: the light one must read as well.
#[test]
fn the_dashboard_reads_in_the_light_theme_too() {
    let mut state = dashboard_state();
    let first = state.row(0).map(|(index, _)| index);
    state.apply(vodesk::app::state::UiAction::Select(first));
    let mut harness = harness_with_theme(state, egui::Theme::Light);
    harness.run_steps(SETTLE);
    harness.get_by_label("⚠ stalled");
    harness.snapshot("dashboard_light");
}

fn file_order(state: &AppState) -> Vec<String> {
    (0..state.order().len())
        .map(|r| {
            let file = state.row(r).unwrap().1.file().unwrap();
            file.rsplit('/').next().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn header_clicks_sort_and_the_filters_narrow_the_rows() {
    let mut harness = harness(dashboard_state());
    harness.run_steps(SETTLE);
    harness.get_by_label("File").click();
    harness.run_steps(2);
    assert_eq!(
        file_order(&harness.state().state),
        [
            "Café Opening Night.MOV",
            "drone-footage-0423.mp4",
            "launch-keynote-2025.mp4"
        ]
    );
    harness.get_by_label("File ⬆").click();
    harness.run_steps(2);
    assert_eq!(
        file_order(&harness.state().state),
        [
            "launch-keynote-2025.mp4",
            "drone-footage-0423.mp4",
            "Café Opening Night.MOV"
        ]
    );
    harness.get_by_label("Filter").click();
    harness.run_steps(1);
    harness.get_by_label("Filter").type_text("DRONE");
    harness.run_steps(2);
    assert_eq!(
        file_order(&harness.state().state),
        ["drone-footage-0423.mp4"]
    );
    harness.get_by_label("1 of 3");
}

#[test]
fn dropped_files_are_sent_and_refusals_shown_with_their_reasons() {
    let mut harness = harness(dashboard_state());
    harness.run_steps(SETTLE);
    for path in ["/videos/Clip One.MOV", "/videos/notes.txt"] {
        harness
            .input_mut()
            .dropped_files
            .push(std::sync::Arc::new(Dropped(PathBuf::from(path))));
    }
    harness.run_steps(1);
    match harness.state().commands.as_slice() {
        [Command::AddFiles { paths, metadata }] => {
            assert_eq!(
                paths,
                &[
                    PathBuf::from("/videos/Clip One.MOV"),
                    PathBuf::from("/videos/notes.txt")
                ]
            );
            // A VideoFile stack: no metadata file, so nothing else travels with the files.
            assert!(metadata.is_empty(), "{metadata:?}");
        }
        other => panic!("expected one AddFiles, got {other:?}"),
    }
    // The engine answers: one queued, one refused with its reason; then progress and completion.
    let record = upload_record(7, "Clip One.MOV", 4_000_000);
    harness.state_mut().state.apply(Event::UploadsQueued {
        queued: vec![record],
        refused: vec![Refusal {
            path: "/videos/notes.txt".into(),
            reason: "is not a video (.txt): only video files start a workflow".into(),
        }],
        notes: vec![],
    });
    harness.state_mut().state.apply(Event::Upload {
        event: UploadEvent::Progress {
            id: 7,
            confirmed: 1_000_000,
            size: 4_000_000,
            bytes_per_second: 2_000_000.0,
            eta: Some(Duration::from_secs(2)),
        },
        record: None,
    });
    harness.run_steps(SETTLE);
    harness.get_by_label("1 file(s) not uploaded");
    harness.get_by_label("notes.txt: is not a video (.txt): only video files start a workflow");
    harness.get_by_label("Clip One.MOV");
    harness.get_by_label_contains("left");
    harness.snapshot("uploading");
    harness.state_mut().state.apply(Event::Upload {
        event: UploadEvent::Completed {
            id: 7,
            bucket: "vod-demo-source-71c2".into(),
            key: "uploads/x/Clip-One.mov".into(),
            size: 4_000_000,
            verified: true,
            seconds: 2.0,
        },
        record: None,
    });
    harness.run_steps(2);
    harness.get_by_label("done, checksum verified");
    let first = harness.state().state.upload_entries().next().unwrap();
    assert_eq!(first.transfer.fraction(), 1.0);
}

#[test]
fn selecting_a_job_shows_its_media_info_and_links_and_copy_fills_the_clipboard() {
    let mut harness = harness(dashboard_state());
    harness.run_steps(SETTLE);
    harness.get_by_label("launch-keynote-2025.mp4").click();
    harness.run_steps(SETTLE);
    assert!(harness.state().state.selected().is_some());
    harness.get_by_label("Media info");
    harness.get_by_label("Video track 1");
    harness.get_by_label("Audio track 1");
    harness.get_by_label("Frame rate");
    harness.get_by_label("Sampling rate");
    harness.get_by_label("▶ Open in player");
    for label in [
        "HLS",
        "DASH",
        "CMAF HLS",
        "CMAF DASH",
        "MSS",
        "MP4 1",
        "MP4 2",
        "Thumbnail",
    ] {
        harness.get_by_label(label);
    }
    harness.snapshot("details");
    let hls = "https://d3k5m7n9p1r3t5.cloudfront.net/8cec4149-e508-43b8-aa4e-f972dc9a5675/hls/launch-keynote-2025.m3u8";
    // The first Copy is the HLS row's.
    harness.get_all_by_label("Copy").next().unwrap().click();
    harness.run_steps(1);
    let copied = harness
        .output()
        .platform_output
        .commands
        .iter()
        .any(|c| matches!(c, egui::OutputCommand::CopyText(text) if text == hls));
    assert!(copied, "{:?}", harness.output().platform_output.commands);
    assert!(
        harness
            .state()
            .details
            .contains(&DetailsAction::Copied(hls.to_owned()))
    );
    harness.get_by_label("▶ Open in player").click();
    harness.run_steps(1);
    assert!(
        harness
            .state()
            .details
            .contains(&DetailsAction::OpenInPlayer(hls.to_owned()))
    );
    assert_eq!(harness.state().desktop.played, [hls]);
    harness.run_steps(1);
    harness.get_by_label("Opened the HLS stream with a test player.");
}

/// The URLs a browser was asked to open in the last frame.
fn opened_urls(harness: &Harness<'static, Window>) -> Vec<String> {
    harness
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|c| match c {
            egui::OutputCommand::OpenUrl(open) => Some(open.url.clone()),
            _ => None,
        })
        .collect()
}

/// Anyone who can write the table, the topic or a metadata file controls a job's URLs: a value a
/// player would read as an option, or a scheme other than https, reaches neither the player nor the
/// browser, and the window says why.
#[test]
fn hostile_links_reach_neither_a_player_nor_the_browser() {
    let mut hostile = record("dynamodb-item-complete.json");
    hostile.outputs.hls_url = Some("--input-ipc-server=/tmp/x".into());
    hostile.outputs.mp4_urls = vec!["file:///etc/passwd".into(), "steam://run/1".into()];
    let dash = hostile
        .outputs
        .dash_url
        .clone()
        .expect("the fixture has a DASH URL");
    let mut state = AppState::default();
    state.apply(Event::Connected(Box::new(resources())));
    state.apply(Event::Jobs(Box::new(JobsPage {
        records: vec![hostile],
        uploads: vec![],
        warnings: vec![],
        more: false,
        read_at: now(),
    })));
    let first = state.row(0).map(|(index, _)| index);
    state.apply(UiAction::Select(first));
    let mut harness = harness(state);
    harness.run_steps(SETTLE);

    harness.get_by_label("▶ Open in player").click();
    harness.run_steps(1);
    assert!(
        harness.state().desktop.played.is_empty(),
        "handed to the player: {:?}",
        harness.state().desktop.played
    );
    let refused_option = "vodesk refused to open this link: it starts with \"-\", which a program would read as an option";
    assert_eq!(
        harness.state().state.notices().last().map(String::as_str),
        Some(refused_option)
    );
    harness.run_steps(1);
    harness.get_by_label(refused_option);

    // The Open buttons, in the order of the rows: HLS, DASH, CMAF HLS, CMAF DASH, MSS, MP4 1, MP4 2.
    let open = |harness: &mut Harness<'static, Window>, row: usize| {
        harness.get_all_by_label("Open").nth(row).unwrap().click();
        harness.run_steps(1);
        opened_urls(harness)
    };
    assert_eq!(open(&mut harness, 0), Vec::<String>::new());
    assert_eq!(
        harness.state().state.notices().last().map(String::as_str),
        Some(refused_option)
    );
    for (row, scheme) in [(5, "file"), (6, "steam")] {
        assert_eq!(open(&mut harness, row), Vec::<String>::new(), "{scheme}");
        assert_eq!(
            harness.state().state.notices().last().cloned(),
            Some(format!(
                "vodesk refused to open this link: its scheme is \"{scheme}\": only https links are opened"
            ))
        );
    }
    // A sound link of the same job still opens (so the checks above could have seen one).
    assert_eq!(open(&mut harness, 1), [dash]);
    assert!(harness.state().desktop.played.is_empty());
}

/// A file dropped on the window, as the windowing integration hands it to egui.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn upload_record(id: i64, name: &str, size: u64) -> UploadRecord {
    UploadRecord {
        id,
        file_path: PathBuf::from(format!("/videos/{name}")),
        original_name: name.into(),
        file: FileIdentity {
            size,
            modified_ns: 0,
            fingerprint: String::new(),
            device: 0,
            inode: 0,
        },
        target: UploadTarget {
            endpoint_url: None,
            region: "eu-west-1".into(),
            profile: None,
            bucket: "vod-demo-source-71c2".into(),
            key: "uploads/x/Clip-One.mov".into(),
            part_size: 8 << 20,
            part_count: 1,
            multipart: false,
            metadata_document: None,
        },
        upload_id: None,
        state: UploadState::Active,
        error: None,
        created_at: 0,
        updated_at: 0,
        completed_at: None,
        commit: None,
    }
}

/// A failed connection offers "Check my setup"; clicking it asks the engine for the doctor's
/// checklist of that connection, and the checklist shows each problem with its fix.
#[test]
fn a_failed_connection_offers_the_setup_check_and_shows_its_fixes() {
    use vodesk::app::state::SetupCheck;
    use vodesk::doctor::{Checklist, Outcome, ids};

    let mut harness = harness(AppState::default());
    harness.run_steps(SETTLE);
    // No failure yet: nothing to check.
    assert!(harness.query_by_label("Check my setup").is_none());
    harness.get_by_label("Stack name").click();
    harness.run_steps(1);
    harness.get_by_label("Stack name").type_text("vod-prod");
    harness.run_steps(1);
    harness.get_by_label("Connect").click();
    harness.run_steps(2);
    harness.state_mut().commands.clear();
    harness.state_mut().state.apply(Event::ConnectFailed {
        message: "stack \"vod-prod\" was not found in region us-east-1".into(),
    });
    harness.run_steps(2);

    harness.get_by_label("Check my setup").click();
    harness.run_steps(2);
    match harness.state().commands.as_slice() {
        [Command::CheckSetup(request)] => assert_eq!(request.stack.as_deref(), Some("vod-prod")),
        other => panic!("expected CheckSetup, got {other:?}"),
    }
    assert_eq!(harness.state().state.setup_check(), &SetupCheck::Running);
    harness.get_by_label("checking your setup…");

    let mut checklist = Checklist::default();
    checklist.push(
        ids::CREDENTIALS,
        "Credentials",
        Outcome::pass("environment variables (AWS_ACCESS_KEY_ID); they do not expire"),
    );
    checklist.push(
        ids::STACK,
        "Stack vod-prod",
        Outcome::fail(
            "no stack named \"vod-prod\" in region us-east-1",
            "check the name, and the region: pass --region eu-west-1",
        ),
    );
    checklist.push(
        ids::SOURCE_BUCKET,
        "Source bucket",
        Outcome::skipped("not checked: the deployment's resources are not known"),
    );
    harness
        .state_mut()
        .state
        .apply(Event::SetupChecked(Box::new(checklist)));
    harness.run_steps(SETTLE);
    harness.get_by_label_contains("Setup check: 1 passed, 0 warning(s), 1 failed, 1 not checked");
    harness
        .get_by_label_contains("Stack vod-prod: no stack named \"vod-prod\" in region us-east-1");
    harness.get_by_label("Fix: check the name, and the region: pass --region eu-west-1");
    harness.get_by_label_contains("Credentials: environment variables");
    harness.get_by_label_contains("Source bucket: not checked");
    // The button is offered again, to check after a fix.
    assert!(harness.query_by_label("checking your setup…").is_none());
    harness.get_by_label("Check my setup");
}

/// The local demo stack's first start installs the emulator: the connect screen shows each step
/// with a progress bar, and the bar goes once the stack is ready.
#[test]
fn the_first_local_start_shows_the_emulator_install() {
    use vodesk::local_stack::emulator_install::InstallProgress;
    let mut harness = harness(AppState::default());
    harness.run_steps(2);
    harness.get_by_label("Local demo stack").click();
    harness.run_steps(2);
    assert!(matches!(
        harness.state().commands.as_slice(),
        [Command::StartLocalStack]
    ));
    let step = InstallProgress::Downloading {
        n: 12,
        total: 61,
        package: "boto3".into(),
    };
    harness
        .state_mut()
        .state
        .apply(Event::LocalStackInstalling(step.clone()));
    harness.run_steps(2);
    harness.get_by_label_contains(&step.to_string());
    let request = vodesk::app::engine::ConnectRequest {
        connection: vodesk::aws::connection::ConnectionSettings::emulator(
            "http://127.0.0.1:1",
            "us-east-1",
        ),
        stack: Some("vod-local".into()),
        overrides: Default::default(),
    };
    harness
        .state_mut()
        .state
        .apply(Event::LocalStackReady(request));
    harness.run_steps(2);
    assert!(harness.query_by_label_contains(&step.to_string()).is_none());
    assert!(harness.state().state.local_install().is_none());
}

/// Connected to a MetadataFile stack, with jobs that used a custom template and the stack's own.
fn metadata_stack_state() -> AppState {
    let mut state = AppState::default();
    state.apply(Event::Connected(Box::new(VodResources {
        workflow_trigger: Some(vodesk::contract::stack::WorkflowTrigger::MetadataFile),
        ..resources()
    })));
    let mut custom = record("dynamodb-item-complete.json");
    custom.job_template = Some("vodesk-all-groups-1080p".into());
    let mut ladder = record("dynamodb-item-error.json");
    ladder.job_template = Some("vod-demo_Ott_720p_Avc_Aac_16x9_qvbr_no_preset".into());
    state.apply(Event::Jobs(Box::new(JobsPage {
        records: vec![custom, ladder],
        uploads: vec![],
        warnings: vec![],
        more: false,
        read_at: now(),
    })));
    state
}

fn drop_file(harness: &mut Harness<'static, Window>, path: &str) {
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(PathBuf::from(path))));
    harness.run_steps(1);
}

/// On a MetadataFile stack the upload options are shown with their controls; a field the solution
/// would fail on says why and holds uploads back; once fixed, the choices travel with the files.
#[test]
fn upload_options_on_a_metadata_file_stack() {
    use egui_kittest::kittest::NodeT;
    use vodesk::app::state::{FrameCapture, UploadOptionsAction};
    let mut harness = harness(metadata_stack_state());
    harness.run_steps(SETTLE);
    for label in [
        "Upload options",
        "Job template",
        "Job template name",
        "Frame capture",
        "Stack default (off)",
        "On",
        "Off",
        "Archive source",
        "Stack default (none)",
        "GLACIER",
        "DEEP_ARCHIVE",
        "Metadata fields",
        "➕ Add field",
    ] {
        harness.get_by_label(label);
    }
    let add_videos_disabled = |harness: &Harness<'static, Window>| {
        harness
            .get_by_label("➕ Add videos…")
            .accesskit_node()
            .is_disabled()
    };
    assert!(!add_videos_disabled(&harness));

    // The template list: the stack's own as one default entry, then the templates its jobs used.
    harness.get_by_label("Job template").click();
    harness.run_steps(2);
    harness.get_by_label("Default (by resolution)");
    assert!(
        harness
            .query_by_label("vod-demo_Ott_720p_Avc_Aac_16x9_qvbr_no_preset")
            .is_none()
    );
    harness.get_by_label("vodesk-all-groups-1080p").click();
    harness.run_steps(2);
    harness.get_by_label("On").click();
    harness.run_steps(2);

    // A field named `name`: refused with the reason under it, and uploading waits.
    harness.get_by_label("➕ Add field").click();
    harness.run_steps(2);
    harness.get_by_label("Metadata key 1").click();
    harness.run_steps(1);
    harness.get_by_label("Metadata key 1").type_text("Name");
    harness.run_steps(2);
    harness.get_by_label("Metadata value 1").click();
    harness.run_steps(1);
    harness
        .get_by_label("Metadata value 1")
        .type_text("Town Hall");
    harness.run_steps(2);
    // Under the row (the status line says it too once a drop is refused).
    harness
        .get_by_label_contains("⚠ metadata key \"Name\" is not allowed: DynamoDB reserves `name`");
    harness.get_by_label_contains("use e.g. `title` or `videoName`");
    assert!(add_videos_disabled(&harness));
    harness.state_mut().commands.clear();
    drop_file(&mut harness, "/videos/Town Hall.mp4");
    assert!(
        harness.state().commands.is_empty(),
        "{:?}",
        harness.state().commands
    );
    assert!(
        harness
            .state()
            .state
            .notices()
            .last()
            .is_some_and(|n| n.contains("fix the upload options")),
        "{:?}",
        harness.state().state.notices()
    );

    // Renamed: accepted, and the choices go with the dropped file.
    harness
        .state_mut()
        .state
        .apply(UiAction::UploadOptions(UploadOptionsAction::FieldKey(
            0,
            "title".into(),
        )));
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("⚠ metadata key").is_none());
    assert!(!add_videos_disabled(&harness));
    drop_file(&mut harness, "/videos/Town Hall.mp4");
    match harness.state().commands.as_slice() {
        [Command::AddFiles { paths, metadata }] => {
            assert_eq!(paths, &[PathBuf::from("/videos/Town Hall.mp4")]);
            let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
            assert_eq!(
                metadata,
                &[
                    pair("jobTemplate", "vodesk-all-groups-1080p"),
                    pair("frameCapture", "true"),
                    pair("title", "Town Hall"),
                ]
            );
        }
        other => panic!("expected one AddFiles, got {other:?}"),
    }
    let options = harness.state().state.upload_options().current().cloned();
    assert_eq!(options.map(|o| o.frame_capture), Some(FrameCapture::On));
}

/// On a VideoFile stack there are no upload options.
#[test]
fn no_upload_options_on_a_video_file_stack() {
    let mut harness = harness(dashboard_state());
    harness.run_steps(SETTLE);
    assert!(harness.query_by_label("Upload options").is_none());
    assert!(harness.query_by_label("Job template").is_none());
}

/// A report as `vodesk check` would make it for the Complete fixture: HLS plays, one warning.
fn playback_report(guid: &str) -> vodesk::playback::PlaybackReport {
    use vodesk::playback::{
        CorsCheck, Finding, Format, FormatSection, LadderRow, PlaybackReport, Severity, Topic,
        Verdict,
    };
    PlaybackReport {
        guid: guid.into(),
        source_duration_seconds: Some(14.5),
        sections: vec![FormatSection {
            format: Format::Hls,
            url: Some("https://d3k5m7n9p1r3t5.cloudfront.net/g/hls/master.m3u8".into()),
            ladder: vec![LadderRow {
                kind: "video".into(),
                name: "launch-keynote-2025_720.m3u8".into(),
                width: Some(1280),
                height: Some(720),
                bandwidth: Some(3_200_000),
                average_bandwidth: Some(2_900_000),
                codecs: Some("avc1.64001f,mp4a.40.2".into()),
                frame_rate: Some(29.97),
                segments: Some(3),
                duration_seconds: Some(14.5),
                ok: true,
                ..LadderRow::default()
            }],
            cors: Some(CorsCheck {
                allow_origin: Some("*".into()),
                pass: true,
            }),
            findings: vec![Finding {
                severity: Severity::Warn,
                topic: Topic::ContentType,
                what:
                    "first segment a.ts: content type \"binary/octet-stream\", expected video/mp2t"
                        .into(),
                url: Some("https://d3k5m7n9p1r3t5.cloudfront.net/g/hls/a.ts".into()),
                fix: "Set the object's Content-Type.".into(),
            }],
            requests: 4,
        }],
        verdict: Verdict {
            plays: true,
            line: "plays in browsers and native players (1 warning)".into(),
        },
        elapsed_ms: 850,
        requests: 4,
    }
}

/// "Check playback" on a Complete job: the click asks the engine once, a spinner shows while it runs,
/// then the verdict and the ladder; a check that could not run says why. Other jobs have no button.
#[test]
fn check_playback_shows_the_verdict_and_the_ladder_of_a_complete_job() {
    let guid = "8cec4149-e508-43b8-aa4e-f972dc9a5675";
    let mut harness = harness(dashboard_state());
    harness.run_steps(SETTLE);
    harness.get_by_label("launch-keynote-2025.mp4").click();
    harness.run_steps(SETTLE);
    harness.get_by_label("Check playback").click();
    harness.run_steps(2);
    let asked = |h: &Harness<'static, Window>| {
        h.state()
            .commands
            .iter()
            .filter(|c| matches!(c, Command::CheckPlayback(g) if g == guid))
            .count()
    };
    assert_eq!(asked(&harness), 1);
    harness.get_by_label("Checking playback…");
    harness.state_mut().state.apply(Event::PlaybackChecked {
        guid: guid.into(),
        report: Ok(Box::new(playback_report(guid))),
    });
    harness.run_steps(SETTLE);
    harness.get_by_label("✔ plays in browsers and native players (1 warning)");
    harness.get_by_label("CORS ok");
    for cell in [
        "launch-keynote-2025_720.m3u8",
        "1280x720",
        "3.2 Mb/s",
        "2.9 Mb/s",
        "29.97",
        "14.5 s",
    ] {
        harness.get_by_label(cell);
    }
    harness.get_by_label(
        "warn: first segment a.ts: content type \"binary/octet-stream\", expected video/mp2t",
    );
    assert!(harness.query_by_label("Checking playback…").is_none());
    // Again: a failure says why in one line.
    harness.get_by_label("Check playback again").click();
    harness.run_steps(2);
    assert_eq!(asked(&harness), 2);
    harness.state_mut().state.apply(Event::PlaybackChecked {
        guid: guid.into(),
        report: Err("the job's item could not be read: throttled".into()),
    });
    harness.run_steps(SETTLE);
    harness.get_by_label("Could not check playback: the job's item could not be read: throttled");
    // The Error job offers no check.
    harness.get_by_label("drone-footage-0423.mp4").click();
    harness.run_steps(SETTLE);
    assert!(harness.query_by_label("Check playback").is_none());
}

/// "Run again…" and "Delete…" on a Complete job: the plan's numbers in the confirmation, Confirm
/// asks the engine to delete, and Cancel closes it without a command.
#[test]
fn run_again_and_delete_confirmations_of_a_complete_job() {
    use vodesk::app::engine::{OperationCommand, OperationEvent};
    use vodesk::aws::operations::delete::{DeletePlan, PlannedObject};

    let guid = "8cec4149-e508-43b8-aa4e-f972dc9a5675";
    let mut harness = harness(dashboard_state());
    harness.run_steps(SETTLE);
    harness.get_by_label("launch-keynote-2025.mp4").click();
    harness.run_steps(SETTLE);
    harness.get_by_label("Run again…");
    harness.get_by_label("Delete…").click();
    harness.run_steps(2);
    let planned = |h: &Harness<'static, Window>| {
        h.state()
            .commands
            .iter()
            .filter(|c| {
                matches!(c, Command::Operation(OperationCommand::PlanDelete { guid: g, with_source: false }) if g == guid)
            })
            .count()
    };
    assert_eq!(planned(&harness), 1);
    let object = |key: &str, size| PlannedObject {
        bucket: "vod-demo-destination-71c2".into(),
        key: format!("{guid}/{key}"),
        size,
    };
    harness
        .state_mut()
        .state
        .apply(Event::Operation(OperationEvent::DeletePlanned {
            guid: guid.into(),
            with_source: false,
            result: Ok(Box::new(DeletePlan {
                guid: guid.into(),
                table: "vod-demo".into(),
                destination_bucket: Some("vod-demo-destination-71c2".into()),
                outputs: vec![
                    object("hls/a.m3u8", 2_048),
                    object("mp4/a.mp4", 3_666_944),
                    object("thumbnails/a.jpg", 1_024),
                ],
                item: true,
                source: vec![],
                notes: vec!["The source is kept: another job uses it.".into()],
            })),
        }));
    harness.run_steps(SETTLE);
    harness.get_by_label("3 objects (3.5 MiB) will be deleted.");
    harness.get_by_label("The job's item in table vod-demo.");
    harness.get_by_label("The source is kept: another job uses it.");
    harness.get_by_label("also delete the source file");
    harness.snapshot("delete_confirmation");
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("Cancel").is_none());
    assert!(harness.state().state.operations().confirmation().is_none());
    assert!(
        !harness
            .state()
            .commands
            .iter()
            .any(|c| matches!(c, Command::Operation(OperationCommand::Delete(_))))
    );
    // Run again: planning shows its window; a refusal is shown in it, plainly.
    harness.get_by_label("Run again…").click();
    harness.run_steps(2);
    assert!(harness.state().commands.iter().any(|c| matches!(
        c,
        Command::Operation(OperationCommand::PlanRetry { guid: g, .. }) if g == guid
    )));
    harness
        .state_mut()
        .state
        .apply(Event::Operation(OperationEvent::RetryPlanned {
            guid: guid.into(),
            result: Err("the source no longer exists".into()),
        }));
    harness.run_steps(SETTLE);
    harness.get_by_label("the source no longer exists");
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("the source no longer exists")
            .is_none()
    );
    // Delete again, confirmed: the job leaves the dashboard.
    harness.get_by_label("Delete…").click();
    harness.run_steps(2);
    harness
        .state_mut()
        .state
        .apply(Event::Operation(OperationEvent::DeletePlanned {
            guid: guid.into(),
            with_source: false,
            result: Ok(Box::new(DeletePlan {
                guid: guid.into(),
                table: "vod-demo".into(),
                destination_bucket: Some("vod-demo-destination-71c2".into()),
                outputs: vec![object("hls/a.m3u8", 2_048)],
                item: true,
                source: vec![],
                notes: vec![],
            })),
        }));
    harness.run_steps(SETTLE);
    harness.get_by_label("Delete").click();
    harness.run_steps(2);
    let sent = harness
        .state()
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Operation(OperationCommand::Delete(plan)) => Some(plan.clone()),
            _ => None,
        })
        .expect("the delete was sent");
    harness
        .state_mut()
        .state
        .apply(Event::Operation(OperationEvent::Deleted {
            guid: guid.into(),
            result: Ok(Box::new(vodesk::aws::operations::delete::Deleted {
                guid: guid.into(),
                objects: sent.outputs.clone(),
                item: true,
                failed: vec![],
                notes: vec![],
            })),
        }));
    harness.run_steps(SETTLE);
    assert!(harness.query_by_label("launch-keynote-2025.mp4").is_none());
    assert!(harness.query_by_label("Delete…").is_none());
}

/// Jobs still running offer neither; a job started by a retry says which job it runs again.
#[test]
fn a_running_job_offers_no_operations_and_a_retry_names_its_job() {
    use vodesk::app::engine::OperationEvent;

    let mut state = dashboard_state();
    let ingest = ingest_record();
    state.apply(Event::Operation(OperationEvent::RetryLinked {
        new_guid: ingest.guid.clone(),
        old_guid: "8cec4149-e508-43b8-aa4e-f972dc9a5675".into(),
    }));
    let path = ingest.src_video.clone().unwrap_or_default();
    let file = path.rsplit('/').next().unwrap_or_default().to_owned();
    let mut harness = harness(state);
    harness.run_steps(SETTLE);
    harness.get_by_label(&file).click();
    harness.run_steps(SETTLE);
    harness.get_by_label("retry of 8cec4149-e508-43b8-aa4e-f972dc9a5675");
    assert!(harness.query_by_label("Run again…").is_none());
    assert!(harness.query_by_label("Delete…").is_none());
}
