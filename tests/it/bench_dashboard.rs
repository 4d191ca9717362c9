//! `scripts/bench-dashboard`: the dashboard with many jobs (10,000 by default), scrolled, sorted and
//! filtered headless, against a peer: a minimal `egui_extras` table of as many rows of plain text
//! (same row height, same column count), the floor any egui table costs. The only test here is
//! ignored: it is a benchmark, run in release mode by the script.
//!
//! The emulator's table is filled with items in the solution's shape (the complete item of
//! tests/fixtures/vod-examples as a template, ~17 kB each: guid, file, start time, status, media
//! info varied), written with concurrent BatchWriteItem calls. An `Engine` connects to the stack and
//! the state asks for older pages until the whole catalogue is loaded, as the app does when the
//! table is scrolled to its end.
//!
//! A frame is what the app's CPU pays for one: `egui::Context::run_ui` drawing the window
//! (`vodesk::app::draw_for_test`, layout and widgets) plus `Context::tessellate` of its shapes, with
//! the actions it yields applied to the state (sorting and filtering happen there, so a frame that
//! sorts includes the sort). egui_kittest's harness is not used for the timing: it rebuilds the
//! AccessKit tree every frame (the app does that only while a screen reader is active) and does
//! not tessellate. Time is the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so other processes on
//! the machine disturb it less than wall time; the two sides run in alternating blocks of frames.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::common::{REGION, attribute_value, fixture, fresh_emulator, vod_stack};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use eframe::egui;
use futures_util::StreamExt;
use serde_json::Value;
use vodesk::app::dashboard::SortColumn;
use vodesk::app::engine::{Command, ConnectRequest, Engine, EngineOptions, JournalSource};
use vodesk::app::state::{AppState, CatalogueState, ConnectionState, UiAction};
use vodesk::aws::connection::ConnectionSettings;

/// The app's window size (`app::run`'s inner size).
const WINDOW: egui::Vec2 = egui::vec2(1100.0, 720.0);
/// The dashboard's row height (`views::dashboard::ROW_HEIGHT`).
const ROW_HEIGHT: f32 = 40.0;
const COLUMNS: usize = 9;
const WARMUP: usize = 200;
/// Frames measured per side.
const FRAMES: usize = 2000;
/// The two sides alternate in blocks of this many frames.
const BLOCK: usize = 100;
/// A sort every this many frames (cycling through the sortable columns).
const SORT_EVERY: usize = 100;
/// Points scrolled per frame (ten rows), down until the end, then up again.
const SCROLL: f32 = 400.0;
/// Typed into the filter, a character per frame, from frame [`FILTER_AT`]; cleared 100 frames later.
const FILTER_TEXT: &str = "drone-0";
const FILTER_AT: usize = 1000;

/// This thread's CPU time: what one frame costs the UI thread, whatever else runs on the machine.
fn thread_cpu() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec (64-bit Linux layout); the C library is linked by std.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// `(VmRSS, VmHWM)` of this process, in MiB.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map(|kib| kib / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn item_object(name: &str) -> serde_json::Map<String, Value> {
    let doc: Value = serde_json::from_str(&fixture(name)).unwrap();
    doc["Item"].as_object().unwrap().clone()
}

/// Template items: the complete one, and the error one's error attributes.
struct Templates {
    complete: String,
    guid: String,
    error: serde_json::Map<String, Value>,
}

impl Templates {
    fn load() -> Self {
        let complete = item_object("dynamodb-item-complete.json");
        let guid = complete["guid"]["S"].as_str().unwrap().to_owned();
        let error = item_object("dynamodb-item-error.json")
            .into_iter()
            .filter(|(k, _)| {
                ["workflowErrorAt", "errorMessage", "errorDetails"].contains(&k.as_str())
            })
            .collect();
        Self {
            complete: serde_json::to_string(&complete).unwrap(),
            guid,
            error,
        }
    }

    /// The n-th job: 80% Complete, 10% Error, 10% Ingest; started a minute apart from
    /// 2025-01-01T00:00:00Z; various names, durations, sizes and resolutions.
    fn item(&self, n: u64, bucket: &str) -> std::collections::HashMap<String, AttributeValue> {
        let guid = format!("00000000-0000-4000-8000-{n:012}");
        let mut item: serde_json::Map<String, Value> =
            serde_json::from_str(&self.complete.replace(&self.guid, &guid)).unwrap();
        let stems = [
            "launch-keynote",
            "drone",
            "Café Opening Night",
            "interview",
            "clip",
        ];
        let ext = ["mp4", "MOV", "mxf"][(n % 3) as usize];
        let file = format!("uploads/{}-{n:05}.{ext}", stems[(n % 5) as usize]);
        let start = std::time::UNIX_EPOCH + Duration::from_secs(1_735_689_600 + 60 * n);
        let duration = 30 + (n * 37) % 7200;
        let size = 50_000_000 + (n * 7_919_113) % 4_000_000_000;
        let (width, height) = [(1920, 1080), (3840, 2160), (1280, 720)][(n % 3) as usize];
        let s = |v: String| serde_json::json!({ "S": v });
        let num = |v: u64| serde_json::json!({ "N": v.to_string() });
        item.insert("guid".into(), s(guid));
        item.insert("srcBucket".into(), s(bucket.to_owned()));
        item.insert("srcVideo".into(), s(file.clone()));
        item.insert("startTime".into(), s(vodesk::time::format_iso8601(start)));
        item.insert(
            "endTime".into(),
            s(vodesk::time::format_iso8601(
                start + Duration::from_secs(300 + n % 900),
            )),
        );
        item.insert("srcWidth".into(), num(width));
        item.insert("srcHeight".into(), num(height));
        let mut info: Value =
            serde_json::from_str(item["srcMediainfo"]["S"].as_str().unwrap()).unwrap();
        info["filename"] = file.into();
        info["container"]["fileSize"] = size.into();
        info["container"]["duration"] = (duration as f64 + 0.48).into();
        info["video"][0]["width"] = width.into();
        info["video"][0]["height"] = height.into();
        item.insert("srcMediainfo".into(), s(info.to_string()));
        let status = match n % 10 {
            0 => "Error",
            1 => "Ingest",
            _ => "Complete",
        };
        if status != "Complete" {
            // Not finished: no outputs, no end.
            item.retain(|k, _| {
                !(k == "endTime"
                    || k == "encodingOutput"
                    || k == "thumbNails"
                    || k.ends_with("Url")
                    || k.ends_with("Urls")
                    || k.ends_with("Playlist")
                    || k.ends_with("Outputs"))
            });
        }
        if status == "Error" {
            item.extend(self.error.clone());
        }
        item.insert("workflowStatus".into(), s(status.to_owned()));
        // The two large maps (about 14 of the item's 17 kB) are never read by the dashboard: the
        // catalogue's projection leaves them out. moto evaluates whole items for every Query page
        // (and cuts pages at 1 MB of them), which makes loading 10,000 full items take hours
        // there; on DynamoDB a page costs the same either way.
        item.remove("encodingJob");
        item.remove("encodingOutput");
        item.iter()
            .map(|(k, v)| (k.clone(), attribute_value(v)))
            .collect()
    }
}

/// Writes `count` items with BatchWriteItem (25 a call), `concurrency` calls at a time.
async fn fill_table(
    clients: &vodesk::aws::connection::AwsClients,
    table: &str,
    bucket: &str,
    count: u64,
) {
    let templates = Arc::new(Templates::load());
    let chunks: Vec<(u64, u64)> = (0..count)
        .step_by(25)
        .map(|first| (first, (first + 25).min(count)))
        .collect();
    let results: Vec<()> = futures_util::stream::iter(chunks)
        .map(|(first, end)| {
            let templates = templates.clone();
            let dynamodb = clients.dynamodb.clone();
            let (table, bucket) = (table.to_owned(), bucket.to_owned());
            async move {
                let requests: Vec<WriteRequest> = (first..end)
                    .map(|n| {
                        let put = PutRequest::builder()
                            .set_item(Some(templates.item(n, &bucket)))
                            .build()
                            .unwrap();
                        WriteRequest::builder().put_request(put).build()
                    })
                    .collect();
                let out = dynamodb
                    .batch_write_item()
                    .request_items(&table, requests)
                    .send()
                    .await
                    .expect("BatchWriteItem");
                assert!(
                    out.unprocessed_items().is_none_or(|u| u.is_empty()),
                    "unprocessed items"
                );
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    assert_eq!(results.len(), count.div_ceil(25) as usize);
}

/// Connects an engine to the stack and applies its events (sending back what the state decides, as
/// the app does), asking for older pages until every job is loaded. Returns the state and the pages.
async fn load_all(endpoint: &str, stack: &str, count: usize) -> (AppState, usize) {
    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::None,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    engine.send(Command::Connect(ConnectRequest {
        connection: ConnectionSettings::emulator(endpoint, REGION),
        stack: Some(stack.into()),
        overrides: Default::default(),
    }));
    let mut state = AppState::default();
    let mut pages = 0;
    let deadline = Instant::now() + Duration::from_secs(120 + count as u64 / 10);
    loop {
        let events: Vec<_> = engine.drain().collect();
        for event in events {
            if matches!(event, vodesk::app::engine::Event::Jobs(_)) {
                pages += 1;
            }
            for command in crate::common::commands(state.apply(event)) {
                engine.send(command);
            }
        }
        if state.catalogue() == &(CatalogueState::Loaded { more: false }) {
            break;
        }
        if let ConnectionState::Failed { message } = &state.connection() {
            panic!("connecting failed: {message}");
        }
        // What the table does when its end is in view.
        if state.wants_older() {
            for command in crate::common::commands(state.apply(UiAction::LoadOlderJobs)) {
                engine.send(command);
            }
        }
        assert!(
            Instant::now() < deadline,
            "catalogue not loaded in time: {:?}, {} jobs, notices {:?}",
            state.catalogue(),
            state.order().len(),
            state.notices()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(state.older_failed(), None);
    tokio::task::spawn_blocking(move || drop(engine))
        .await
        .unwrap();
    (state, pages)
}

/// One headless window: an egui context fed with the input a user scrolling over the table makes.
struct Window {
    ctx: egui::Context,
    frame: usize,
    /// Frames scrolling one way before turning: as many as scroll from the top to the end of
    /// all the rows (past an end, the table stays there).
    turn_every: usize,
}

impl Window {
    fn new(rows: usize) -> Self {
        let ctx = egui::Context::default();
        ctx.set_theme(egui::Theme::Dark);
        Self {
            ctx,
            frame: 0,
            turn_every: ((rows as f32 * ROW_HEIGHT / SCROLL) as usize).max(50),
        }
    }

    /// Runs one frame of `ui` with a wheel step over the table, and tessellates it.
    fn frame(&mut self, mut ui: impl FnMut(&mut egui::Ui)) {
        let pointer = egui::pos2(700.0, 420.0);
        let down = (self.frame / self.turn_every).is_multiple_of(2);
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, WINDOW)),
            time: Some(self.frame as f64 / 60.0),
            predicted_dt: 1.0 / 60.0,
            focused: true,
            events: vec![
                egui::Event::PointerMoved(pointer),
                egui::Event::MouseWheel {
                    unit: egui::MouseWheelUnit::Point,
                    delta: egui::vec2(0.0, if down { -SCROLL } else { SCROLL }),
                    phase: egui::TouchPhase::Move,
                    source: egui::MouseWheelSource::Wheel,
                    modifiers: egui::Modifiers::NONE,
                },
            ],
            ..Default::default()
        };
        let mut output = self.ctx.run_ui(input, &mut ui);
        let shapes = std::mem::take(&mut output.shapes);
        let primitives = self.ctx.tessellate(shapes, output.pixels_per_point);
        std::hint::black_box(primitives);
        output.drop_without_applying_deltas();
        self.frame += 1;
    }
}

/// The dashboard: `draw_for_test` on the root `Ui`, its actions applied to the state, plus the
/// scripted sorts and typing. Returns the frame's CPU time.
struct Vodesk {
    window: Window,
    state: AppState,
    now: SystemTime,
    sorts: usize,
}

impl Vodesk {
    fn frame(&mut self) -> Duration {
        let started = thread_cpu();
        let i = self.window.frame;
        if i > 0 && i.is_multiple_of(SORT_EVERY) {
            let columns = [
                SortColumn::File,
                SortColumn::Status,
                SortColumn::Duration,
                SortColumn::Resolution,
                SortColumn::Size,
                SortColumn::Started,
            ];
            self.state
                .apply(UiAction::SortBy(columns[self.sorts % columns.len()]));
            self.sorts += 1;
        }
        let typed = i.wrapping_sub(WARMUP + FILTER_AT);
        if (1..=FILTER_TEXT.len()).contains(&typed) {
            self.state
                .apply(UiAction::FilterText(FILTER_TEXT[..typed].to_owned()));
        } else if typed == 100 {
            self.state.apply(UiAction::FilterText(String::new()));
        }
        let (state, now) = (&mut self.state, self.now);
        let mut actions = Vec::new();
        self.window.frame(|ui| {
            let out = vodesk::app::draw_for_test(ui, state, now);
            actions = out.actions;
        });
        for action in actions {
            // Sorting by a header click or loading more would be part of this frame too.
            let commands = self.state.apply(action);
            assert!(commands.is_empty(), "nothing for the engine: {commands:?}");
        }
        thread_cpu() - started
    }
}

/// The floor: a `TableBuilder` of plain-text rows, as many as jobs, with the same row height and
/// column count, and the same scrolling.
struct Peer {
    window: Window,
    rows: Vec<[String; COLUMNS]>,
}

impl Peer {
    fn new(rows: usize) -> Self {
        Self {
            window: Window::new(rows),
            rows: (0..rows)
                .map(|n| std::array::from_fn(|c| format!("row {n} column {c}")))
                .collect(),
        }
    }

    fn frame(&mut self) -> Duration {
        let started = thread_cpu();
        let rows = &self.rows;
        self.window.frame(|ui| {
            egui_extras::TableBuilder::new(ui)
                .striped(true)
                .columns(egui_extras::Column::auto().at_least(64.0), COLUMNS - 1)
                .column(egui_extras::Column::remainder())
                .header(24.0, |mut header| {
                    for c in 0..COLUMNS {
                        header.col(|ui| {
                            ui.strong(format!("Column {c}"));
                        });
                    }
                })
                .body(|body| {
                    body.rows(ROW_HEIGHT, rows.len(), |mut row| {
                        let texts = &rows[row.index()];
                        for text in texts {
                            row.col(|ui| {
                                ui.label(text.as_str());
                            });
                        }
                    });
                });
        });
        thread_cpu() - started
    }
}

struct Stats {
    median: Duration,
    p99: Duration,
    max: Duration,
    mean: Duration,
}

fn stats(mut times: Vec<Duration>) -> Stats {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        median: at(0.5),
        p99: at(0.99),
        max: *times.last().unwrap(),
        mean: times.iter().sum::<Duration>() / times.len() as u32,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run by scripts/bench-dashboard"]
async fn bench_dashboard_frames() {
    let count: u64 = std::env::var("VODESK_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-bench").await;

    let started = Instant::now();
    fill_table(&emu.clients, &stack.table, &stack.source_bucket, count).await;
    let fill_time = started.elapsed();
    println!("wrote {count} items in {:.1} s", fill_time.as_secs_f64());

    let before = memory_mib();
    let started = Instant::now();
    let (mut state, pages) = load_all(&emu.endpoint, "vod-bench", count as usize).await;
    let load_time = started.elapsed();
    let loaded = memory_mib();
    assert_eq!(
        state.order().len(),
        count as usize,
        "every job in the table"
    );
    println!(
        "loaded {count} jobs in {pages} pages in {:.1} s",
        load_time.as_secs_f64()
    );
    // The app's notices (the connection's, the monitor's) are not what is measured.
    state.apply(UiAction::ClearNotices);

    let (vodesk, peer) = tokio::task::spawn_blocking(move || {
        let mut vodesk = Vodesk {
            window: Window::new(count as usize),
            state,
            now: SystemTime::now(),
            sorts: 0,
        };
        let mut peer = Peer::new(count as usize);
        for _ in 0..WARMUP {
            vodesk.frame();
            peer.frame();
        }
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let mut sort_frames = Vec::new();
        while ours.len() < FRAMES {
            for _ in 0..BLOCK {
                let sorts = vodesk.sorts;
                let spent = vodesk.frame();
                if vodesk.sorts != sorts {
                    sort_frames.push(spent);
                }
                ours.push(spent);
            }
            for _ in 0..BLOCK {
                theirs.push(peer.frame());
            }
        }
        (
            (stats(ours), stats(sort_frames), vodesk.sorts),
            stats(theirs),
        )
    })
    .await
    .unwrap();
    let after = memory_mib();
    let ((ours, sorts, sort_count), theirs) = (vodesk, peer);

    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let target = Duration::from_millis(8);
    let verdict = if ours.p99 < target { "PASS" } else { "FAIL" };
    let report = format!(
        "{count} jobs written in {:.1} s (BatchWriteItem, 25 a call, 4 at a time); loaded by the engine in {pages} pages in {:.1} s.\n\n\
         | side | frames | median CPU | p99 CPU | max CPU | mean CPU |\n\
         |---|---:|---:|---:|---:|---:|\n\
         | vodesk dashboard | {FRAMES} | {} | {} | {} | {} |\n\
         | peer: plain `TableBuilder` | {FRAMES} | {} | {} | {} | {} |\n\
         | ratio vodesk / peer | | {:.2}x | {:.2}x | {:.2}x | {:.2}x |\n\n\
         Frames that sorted ({sort_count}, included above): median {}, max {}.\n\n\
         Memory (this process, MiB): RSS {:.1} before loading, {:.1} after loading, {:.1} after the frames; peak (VmHWM) {:.1} before loading, {:.1} after loading, {:.1} at the end.\n\n\
         Target: p99 under 8 ms of CPU per frame: **{verdict}** ({}).\n",
        fill_time.as_secs_f64(),
        load_time.as_secs_f64(),
        ms(ours.median),
        ms(ours.p99),
        ms(ours.max),
        ms(ours.mean),
        ms(theirs.median),
        ms(theirs.p99),
        ms(theirs.max),
        ms(theirs.mean),
        ratio(ours.median, theirs.median),
        ratio(ours.p99, theirs.p99),
        ratio(ours.max, theirs.max),
        ratio(ours.mean, theirs.mean),
        ms(sorts.median),
        ms(sorts.max),
        before.0,
        loaded.0,
        after.0,
        before.1,
        loaded.1,
        after.1,
        ms(ours.p99),
    );
    println!("\n{report}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dashboard.md"), report).unwrap();
}
