//! The app's engine against the emulator: Connect discovers a VOD-shaped stack, reads the newest jobs
//! from its table and starts the live monitor; messages published to the stack's topic reach an
//! `AppState` as events (Ingest then Complete: the job shows Complete); the UI is woken for events;
//! this machine's uploads join their workflows or warn that none started; a second Connect replaces
//! the monitor and its queue; older jobs load a page at a time on request, each exactly once,
//! newest first; dropping the engine (the window closing) leaves no vodesk queue or
//! subscription behind.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::common::{
    REGION, fixture, fresh_emulator, put_item_json, topic_subscriptions, vod_stack,
    vodesk_queue_urls,
};
use serde_json::Value;
use vodesk::app::engine::{
    Command, ConnectRequest, Engine, EngineOptions, Event, JournalSource, MonitorMode,
};
use vodesk::app::state::{AppState, CatalogueState, ConnectionState, MonitorState, UiAction};
use vodesk::aws::connection::ConnectionSettings;
use vodesk::aws::upload::journal::{FileIdentity, Journal, UploadState, UploadTarget};
use vodesk::jobs::TransferState;
use vodesk::jobs::{JobStatus, Thresholds, WarningKind};

const WAIT: Duration = Duration::from_secs(30);

/// Applies the engine's events to `state` until `done` holds, or fails after [`WAIT`].
async fn apply_until(
    engine: &Engine,
    state: &mut AppState,
    what: &str,
    done: impl Fn(&AppState) -> bool,
) {
    apply_within(engine, state, what, WAIT, done).await;
}

/// [`apply_until`] with its own limit (a local stack's encode takes longer).
async fn apply_within(
    engine: &Engine,
    state: &mut AppState,
    what: &str,
    limit: Duration,
    done: impl Fn(&AppState) -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        let events: Vec<_> = engine.drain().collect();
        for event in events {
            // As the app does: what the state decides goes back to the engine.
            for command in common::commands(state.apply(event)) {
                engine.send(command);
            }
        }
        if done(state) {
            return;
        }
        if let ConnectionState::Failed { message } = &state.connection() {
            panic!("connecting failed while waiting for {what}: {message}");
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {limit:?}; state: connection {:?}, monitor {:?}, catalogue {:?}, notices {:?}",
            state.connection(),
            state.monitor(),
            state.catalogue(),
            state.notices()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn status_of(state: &AppState, guid: &str) -> Option<JobStatus> {
    state.jobs().by_guid(guid).map(|job| job.status)
}

/// Records a finished upload of `key` to `bucket` in `journal`, as `vodesk upload` would.
fn completed_upload(journal: &Journal, bucket: &str, key: &str) {
    let id = journal
        .create(
            std::path::Path::new("/videos/clip.mp4"),
            "clip.mp4",
            &FileIdentity {
                size: 1,
                modified_ns: 0,
                fingerprint: "00".into(),
                device: 0,
                inode: 0,
            },
            &UploadTarget {
                endpoint_url: None,
                region: REGION.into(),
                profile: None,
                bucket: bucket.into(),
                key: key.into(),
                part_size: 1,
                part_count: 1,
                multipart: false,
                metadata_document: None,
            },
        )
        .unwrap();
    journal.set_state(id, UploadState::Completed, None).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_engine_shows_live_jobs_and_cleans_up_on_drop() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-app").await;
    // A job the solution recorded before the app started: it comes from the catalogue.
    let mut item: Value = serde_json::from_str(&fixture("dynamodb-item-error.json")).unwrap();
    // The index is read by source bucket: the item must be this stack's.
    item["Item"]["srcBucket"] = serde_json::json!({ "S": stack.source_bucket });
    put_item_json(&emu.clients, &stack.table, &item["Item"]).await;
    let old_guid = item["Item"]["guid"]["S"].as_str().unwrap().to_owned();

    // This machine's uploads: one whose workflow will report, one that never starts a workflow.
    let ingest = fixture("sns-ingest.json");
    let ingest_key = serde_json::from_str::<Value>(&ingest).unwrap()["srcVideo"]
        .as_str()
        .unwrap()
        .to_owned();
    let data = tempfile::tempdir().unwrap();
    let journal_path = data.path().join("journal.sqlite3");
    let journal = Journal::open(&journal_path).unwrap();
    for key in [ingest_key.as_str(), "uploads/never-started.mp4"] {
        completed_upload(&journal, &stack.source_bucket, key);
    }
    completed_upload(&journal, "another-bucket", "uploads/elsewhere.mp4");

    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&wakes);
    let engine = Engine::start_with(
        Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }),
        EngineOptions {
            journal: JournalSource::At(journal_path),
            ..EngineOptions::default()
        },
    )
    .unwrap();
    engine.send(Command::Connect(ConnectRequest {
        connection: ConnectionSettings::emulator(&emu.endpoint, REGION),
        stack: Some("vod-app".into()),
        overrides: Default::default(),
    }));

    let mut state = AppState::default();
    apply_until(&engine, &mut state, "live mode and the first page", |s| {
        matches!(s.monitor(), MonitorState::Active(_))
            && matches!(s.catalogue(), CatalogueState::Loaded { .. })
    })
    .await;
    let MonitorState::Active(MonitorMode::Live { queue_name, .. }) = &state.monitor() else {
        panic!("expected live mode, got {:?}", state.monitor());
    };
    assert!(queue_name.starts_with("vodesk-vod-app-"), "{queue_name}");
    assert_eq!(vodesk_queue_urls(&emu.clients).await.len(), 1);
    let ConnectionState::Connected(resources) = &state.connection() else {
        panic!("expected connected, got {:?}", state.connection());
    };
    assert_eq!(resources.topic_arn, stack.topic_arn);
    assert_eq!(status_of(&state, &old_guid), Some(JobStatus::Error));
    // The catalogue's job and this stack's two uploads (not the other bucket's).
    assert_eq!(state.order().len(), 3);
    let waiting: Vec<_> = (0..state.order().len())
        .filter_map(|row| state.row(row))
        .filter(|(_, job)| job.status == JobStatus::Uploaded)
        .collect();
    assert_eq!(waiting.len(), 2, "both uploads wait for their workflow");
    let (never, _) = waiting
        .iter()
        .copied()
        .find(|(_, job)| job.file() == Some("uploads/never-started.mp4"))
        .unwrap();
    let mut state = state.with_thresholds(Thresholds {
        no_workflow_after: Duration::ZERO,
        ..Thresholds::default()
    });
    let warning = state.warning(never, SystemTime::now()).unwrap();
    assert_eq!(warning.kind, WarningKind::NoWorkflowStarted);

    // Ingest, then Complete of the same workflow, as the solution publishes them.
    let guid = serde_json::from_str::<Value>(&ingest).unwrap()["guid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut complete: Value = serde_json::from_str(&fixture("sns-complete.json")).unwrap();
    complete["guid"] = Value::String(guid.clone());
    // Started now: newer than the catalogue's job, so it must sort above it.
    complete["startTime"] = Value::String(vodesk::time::format_iso8601(SystemTime::now()));
    for (body, subject) in [
        (ingest, "Workflow Status:: Ingest"),
        (complete.to_string(), "Workflow Status:: Complete"),
    ] {
        emu.clients
            .sns
            .publish()
            .topic_arn(&stack.topic_arn)
            .message(body)
            .subject(subject)
            .send()
            .await
            .expect("Publish");
    }
    apply_until(&engine, &mut state, "the published job as Complete", |s| {
        status_of(s, &guid) == Some(JobStatus::Complete)
    })
    .await;
    let job = state.jobs().by_guid(&guid).unwrap();
    let record = job.record.as_ref().unwrap();
    assert_eq!(record.hls_url(), complete["hlsUrl"].as_str());
    assert_eq!(
        state.order().len(),
        3,
        "one row per workflow: the upload joined its workflow"
    );
    assert!(
        job.upload.is_some(),
        "the Ingest was matched to the upload by its key"
    );
    assert_eq!(
        state.warning(never, SystemTime::now()).map(|w| w.kind),
        Some(WarningKind::NoWorkflowStarted)
    );
    // Newest first: the live job started after the catalogue's.
    assert_eq!(state.row(0).unwrap().1.guid.as_deref(), Some(guid.as_str()));
    assert!(
        wakes.load(Ordering::SeqCst) > 0,
        "the UI must be woken for events"
    );

    // Closing the window drops the engine: the monitor unsubscribes and deletes its queue first.
    let started = Instant::now();
    tokio::task::spawn_blocking(move || drop(engine))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "dropping the engine took {:?}",
        started.elapsed()
    );
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
    assert_eq!(
        topic_subscriptions(&emu.clients, &stack.topic_arn).await,
        vec![]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_stack_fails_in_plain_words_and_leaves_nothing() {
    let emu = fresh_emulator().await;
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&wakes);
    let engine = Engine::start_with(
        Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }),
        EngineOptions {
            journal: JournalSource::None,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    engine.send(Command::Connect(ConnectRequest {
        connection: ConnectionSettings::emulator(&emu.endpoint, REGION),
        stack: Some("no-such-stack".into()),
        overrides: Default::default(),
    }));
    let mut state = AppState::default();
    let deadline = Instant::now() + WAIT;
    let message = loop {
        for event in engine.drain() {
            state.apply(event);
        }
        if let ConnectionState::Failed { message } = &state.connection() {
            break message.clone();
        }
        assert!(Instant::now() < deadline, "no failure within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(message.contains("no-such-stack"), "{message}");
    assert_eq!(state.monitor(), &MonitorState::Off);
    assert!(
        wakes.load(Ordering::SeqCst) >= 2,
        "Connecting and ConnectFailed"
    );
    tokio::task::spawn_blocking(move || drop(engine))
        .await
        .unwrap();
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
}

/// Not a check: a stack with jobs in every state, for looking at the real window (issue 8's
/// screenshots). Run `cargo test --test it -- --ignored --nocapture app_engine::demo_stack`; it writes
/// the emulator's endpoint to `$TMPDIR/vodesk-demo-endpoint`, publishes an Ingest and a Complete once
/// an app has connected (its queue exists), and keeps the emulator up until
/// `$TMPDIR/vodesk-demo-stop` exists (at most ten minutes).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a fixture for screenshots, run by hand"]
async fn demo_stack() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-demo").await;
    let now = SystemTime::now();
    let ago = |minutes: u64| vodesk::time::format_iso8601(now - Duration::from_secs(minutes * 60));
    let bucket = serde_json::json!({ "S": stack.source_bucket });
    let names = [
        "Cafe-Opening-Night.mov",
        "launch-keynote-2025.mp4",
        "interview-raw-take3.mxf",
        "drone-harbour-4k.mp4",
        "product-teaser-v2.mov",
        "webinar-recording.mp4",
    ];
    for i in 0..36u64 {
        let (file, status) = match i % 6 {
            0 | 3 | 4 => ("dynamodb-item-complete.json", "complete"),
            1 => ("dynamodb-item-error.json", "error"),
            _ => ("dynamodb-item-ingest.json", "ingest"),
        };
        let mut item: Value = serde_json::from_str(&fixture(file)).unwrap();
        let item = &mut item["Item"];
        item["guid"] = serde_json::json!({ "S": format!("00000000-0000-4000-8000-{i:012}") });
        item["srcBucket"] = bucket.clone();
        let name = names[(i as usize) % names.len()];
        item["srcVideo"] = serde_json::json!({ "S": format!("uploads/{i:02}/{name}") });
        // One Ingest started long ago: stalled.
        let minutes = if status == "ingest" && i > 6 {
            600
        } else {
            30 + i * 47
        };
        item["startTime"] = serde_json::json!({ "S": ago(minutes) });
        put_item_json(&emu.clients, &stack.table, item).await;
    }
    let dir = std::env::temp_dir();
    // This machine's uploads, for an app started with VODESK_DATA_DIR=$TMPDIR/vodesk-demo-data: one
    // the live Ingest below joins, one whose workflow never reports ("no workflow started" after
    // three minutes).
    let data = dir.join("vodesk-demo-data");
    std::fs::create_dir_all(&data).unwrap();
    if std::fs::remove_file(data.join("uploads.sqlite3")).is_err() {
        // No journal left from an earlier run: already the fresh start wanted.
    }
    let journal = Journal::open(&data.join("uploads.sqlite3")).unwrap();
    let ingest_key =
        serde_json::from_str::<Value>(&fixture("sns-ingest.json")).unwrap()["srcVideo"]
            .as_str()
            .unwrap()
            .to_owned();
    for key in [ingest_key.as_str(), "uploads/Holiday-Clip.MP4"] {
        completed_upload(&journal, &stack.source_bucket, key);
    }
    std::fs::write(dir.join("vodesk-demo-endpoint"), &emu.endpoint).unwrap();
    eprintln!("emulator at {}, stack vod-demo", emu.endpoint);
    let deadline = Instant::now() + Duration::from_secs(600);
    // Subscribed, not merely created: a message published before the subscription is lost.
    while topic_subscriptions(&emu.clients, &stack.topic_arn)
        .await
        .is_empty()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut ingest: Value = serde_json::from_str(&fixture("sns-ingest.json")).unwrap();
    ingest["startTime"] = Value::String(vodesk::time::format_iso8601(SystemTime::now()));
    let mut complete: Value = serde_json::from_str(&fixture("sns-complete.json")).unwrap();
    complete["startTime"] = Value::String(ago(5));
    for body in [ingest, complete] {
        emu.clients
            .sns
            .publish()
            .topic_arn(&stack.topic_arn)
            .message(body.to_string())
            .send()
            .await
            .expect("Publish");
    }
    while !dir.join("vodesk-demo-stop").exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn connecting_again_replaces_the_monitor_and_its_queue() {
    let emu = fresh_emulator().await;
    vod_stack(&emu.clients, "vod-again").await;
    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::None,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    let connect = || {
        Command::Connect(ConnectRequest {
            connection: ConnectionSettings::emulator(&emu.endpoint, REGION),
            stack: Some("vod-again".into()),
            overrides: Default::default(),
        })
    };
    let mut state = AppState::default();
    let live_queue = |s: &AppState| match &s.monitor() {
        MonitorState::Active(MonitorMode::Live { queue_name, .. }) => Some(queue_name.clone()),
        _ => None,
    };
    engine.send(connect());
    apply_until(&engine, &mut state, "the first live mode", |s| {
        live_queue(s).is_some()
    })
    .await;
    let first = live_queue(&state).unwrap();
    engine.send(connect());
    apply_until(&engine, &mut state, "a second live mode", |s| {
        live_queue(s).is_some_and(|q| q != first)
    })
    .await;
    let queues = vodesk_queue_urls(&emu.clients).await;
    assert_eq!(queues.len(), 1, "the first queue was removed: {queues:?}");
    assert!(!queues[0].ends_with(&first), "{queues:?}");
    tokio::task::spawn_blocking(move || drop(engine))
        .await
        .unwrap();
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
}

/// `count` Ingest items of `bucket`, started one second apart from 2025-01-01T00:00:00Z, written
/// with the SDK as the solution would; guid `…-{n:012}` for the n-th (the newest has the largest n).
async fn write_jobs(
    clients: &vodesk::aws::connection::AwsClients,
    table: &str,
    bucket: &str,
    count: u64,
) {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    use std::collections::HashMap;
    let requests: Vec<WriteRequest> = (0..count)
        .map(|n| {
            let start = vodesk::time::format_iso8601(
                std::time::UNIX_EPOCH + Duration::from_secs(1_735_689_600 + n),
            );
            let item = HashMap::from([
                ("guid".to_owned(), AttributeValue::S(job_guid(n))),
                ("srcBucket".to_owned(), AttributeValue::S(bucket.to_owned())),
                ("startTime".to_owned(), AttributeValue::S(start)),
                (
                    "srcVideo".to_owned(),
                    AttributeValue::S(format!("uploads/clip-{n}.mp4")),
                ),
                (
                    "workflowStatus".to_owned(),
                    AttributeValue::S("Ingest".to_owned()),
                ),
            ]);
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect();
    for chunk in requests.chunks(25) {
        clients
            .dynamodb
            .batch_write_item()
            .request_items(table, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
}

fn job_guid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn table_guids(state: &AppState) -> Vec<String> {
    (0..state.order().len())
        .map(|row| state.row(row).unwrap().1.guid.clone().unwrap())
        .collect()
}

/// As [`apply_until`], also noting the guid of every record each jobs page brought, so a page read
/// twice shows (the job model itself would merge the repeats).
async fn apply_pages_until(
    engine: &Engine,
    state: &mut AppState,
    received: &mut Vec<String>,
    what: &str,
    done: impl Fn(&AppState) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        for event in engine.drain() {
            if let Event::Jobs(page) = &event {
                received.extend(page.records.iter().map(|r| r.guid.clone()));
            }
            state.apply(event);
        }
        if done(state) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {WAIT:?}; catalogue {:?}, notices {:?}",
            state.catalogue(),
            state.notices()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn older_jobs_load_page_by_page_each_exactly_once() {
    const JOBS: u64 = 250;
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-older").await;
    write_jobs(&emu.clients, &stack.table, &stack.source_bucket, JOBS).await;
    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::None,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    // Asking before connecting has nothing to continue: it must not disturb the session after it.
    engine.send(Command::LoadMoreJobs);
    engine.send(Command::Connect(ConnectRequest {
        connection: ConnectionSettings::emulator(&emu.endpoint, REGION),
        stack: Some("vod-older".into()),
        overrides: Default::default(),
    }));
    let mut state = AppState::default();
    let mut received = Vec::new();
    apply_pages_until(&engine, &mut state, &mut received, "the first page", |s| {
        matches!(s.catalogue(), CatalogueState::Loaded { .. })
    })
    .await;
    assert_eq!(state.catalogue(), &CatalogueState::Loaded { more: true });
    assert_eq!(state.order().len(), 100);
    assert_eq!(state.row(0).unwrap().1.guid, Some(job_guid(JOBS - 1)));

    // Twice, as two frames might without the state's guard: the engine reads the next page once
    // while it is in flight, never the same page twice.
    assert!(state.begin_loading_older());
    engine.send(Command::LoadMoreJobs);
    engine.send(Command::LoadMoreJobs);
    let mut pages = 1;
    loop {
        let before = state.order().len();
        apply_pages_until(&engine, &mut state, &mut received, "an older page", |s| {
            !s.loading_older()
        })
        .await;
        assert_eq!(state.older_failed(), None);
        assert!(
            state.order().len() > before,
            "page {} added jobs",
            pages + 1
        );
        pages += 1;
        if state.catalogue() == &(CatalogueState::Loaded { more: false }) {
            break;
        }
        assert!(pages < 10, "{pages} pages for {JOBS} jobs");
        assert!(state.begin_loading_older());
        engine.send(Command::LoadMoreJobs);
    }
    assert!(!state.begin_loading_older(), "every job was read");
    // Asking after the last page reads nothing more.
    engine.send(Command::LoadMoreJobs);
    tokio::time::sleep(Duration::from_millis(500)).await;
    apply_pages_until(&engine, &mut state, &mut received, "nothing", |_| true).await;

    let expected: Vec<String> = (0..JOBS).rev().map(job_guid).collect();
    assert_eq!(received, expected, "every job exactly once, newest first");
    assert_eq!(table_guids(&state), expected);
    assert_eq!(pages, 3, "100 + 100 + 50");
    tokio::task::spawn_blocking(move || drop(engine))
        .await
        .unwrap();
}

/// Files dropped on the window: the video is uploaded (progress, then completed, joined to its job as
/// Uploaded), a text file and an empty file are refused with their reasons; an upload an earlier run
/// left unfinished is offered and can be discarded.
#[tokio::test(flavor = "multi_thread")]
async fn dropped_files_upload_and_refusals_come_back_with_their_reasons() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-drop").await;
    let data = tempfile::tempdir().unwrap();
    let journal_path = data.path().join("journal.sqlite3");
    // An upload an earlier run left unfinished (its file still exists).
    let earlier_file = common::write_file(data.path(), "earlier.mp4", 1024, 3);
    {
        let journal = Journal::open(&journal_path).unwrap();
        let identity = vodesk::aws::upload::fingerprint::identify(&earlier_file).unwrap();
        journal
            .create(
                &earlier_file,
                "earlier.mp4",
                &identity,
                &UploadTarget {
                    endpoint_url: Some(emu.endpoint.clone()),
                    region: REGION.into(),
                    profile: None,
                    bucket: stack.source_bucket.clone(),
                    key: "uploads/earlier.mp4".into(),
                    part_size: 1024,
                    part_count: 1,
                    multipart: false,
                    metadata_document: None,
                },
            )
            .unwrap();
    }
    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::At(journal_path),
            ..EngineOptions::default()
        },
    )
    .unwrap();
    let mut state = AppState::default();
    for command in common::commands(state.apply(UiAction::Connect(ConnectRequest {
        connection: ConnectionSettings::emulator(&emu.endpoint, REGION),
        stack: Some("vod-drop".into()),
        overrides: Default::default(),
    }))) {
        engine.send(command);
    }
    apply_until(&engine, &mut state, "the earlier upload offered", |s| {
        s.upload_entries().any(|u| u.transfer.from_earlier)
    })
    .await;

    let video = common::write_file(data.path(), "Clip One.MOV", 300_000, 7);
    let notes = data.path().join("notes.txt");
    std::fs::write(&notes, b"not a video").unwrap();
    let empty = data.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let commands = common::commands(state.apply(UiAction::AddFiles(vec![
        video.clone(),
        notes.clone(),
        empty.clone(),
    ])));
    assert_eq!(commands.len(), 1, "{commands:?}");
    for command in commands {
        engine.send(command);
    }
    apply_until(&engine, &mut state, "the dropped video uploaded", |s| {
        s.upload_entries().any(|u| {
            u.original_name == "Clip One.MOV"
                && matches!(u.transfer.state, TransferState::Completed { .. })
        })
    })
    .await;
    let refused: Vec<String> = state
        .uploads()
        .refused
        .iter()
        .map(|r| r.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        refused.contains(&"notes.txt".to_owned()),
        "{:?}",
        state.uploads().refused
    );
    assert!(
        refused.contains(&"empty.mp4".to_owned()),
        "{:?}",
        state.uploads().refused
    );
    assert!(state.uploads().refused.iter().all(|r| !r.reason.is_empty()));
    let entry = state
        .upload_entries()
        .find(|u| u.original_name == "Clip One.MOV")
        .unwrap();
    assert_eq!(entry.transfer.confirmed, 300_000);
    assert!(entry.key.ends_with("/Clip-One.mov"), "{}", entry.key);
    let in_bucket = common::object_sha256(&emu.clients.s3, &stack.source_bucket, &entry.key).await;
    assert_eq!(in_bucket, common::sha256(&std::fs::read(&video).unwrap()));
    // The dashboard shows the upload as a job waiting for its workflow.
    let job = state
        .jobs()
        .jobs()
        .iter()
        .find(|j| j.upload.as_ref().is_some_and(|u| u.key == entry.key))
        .expect("the upload is a job");
    assert_eq!(job.status, JobStatus::Uploaded);

    // Discarding the earlier upload aborts and forgets it.
    let commands = common::commands(state.apply(UiAction::DiscardEarlier));
    assert_eq!(commands.len(), 1);
    for command in commands {
        engine.send(command);
    }
    apply_until(&engine, &mut state, "the earlier upload discarded", |s| {
        s.upload_entries().any(|u| {
            u.original_name == "earlier.mp4" && u.transfer.state == TransferState::Cancelled
        })
    })
    .await;
    drop(engine);
}

/// An upload another vodesk process is sending (it holds the upload's lease) is shown as running
/// elsewhere: Resume all and Discard all leave it alone.
#[tokio::test(flavor = "multi_thread")]
async fn an_upload_sent_by_another_process_is_left_alone() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-busy").await;
    let data = tempfile::tempdir().unwrap();
    let journal_path = data.path().join("journal.sqlite3");
    let file = common::write_file(data.path(), "busy.mp4", 1024, 4);
    // The "other process": its own journal handle, holding the upload's lease.
    let other = Journal::open(&journal_path).unwrap();
    let identity = vodesk::aws::upload::fingerprint::identify(&file).unwrap();
    let id = other
        .create(
            &file,
            "busy.mp4",
            &identity,
            &UploadTarget {
                endpoint_url: Some(emu.endpoint.clone()),
                region: REGION.into(),
                profile: None,
                bucket: stack.source_bucket.clone(),
                key: "uploads/busy.mp4".into(),
                part_size: 1024,
                part_count: 1,
                multipart: false,
                metadata_document: None,
            },
        )
        .unwrap();
    let lease = other.try_lease(id).unwrap().unwrap();

    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::At(journal_path),
            ..EngineOptions::default()
        },
    )
    .unwrap();
    let mut state = AppState::default();
    for command in common::commands(state.apply(UiAction::Connect(ConnectRequest {
        connection: ConnectionSettings::emulator(&emu.endpoint, REGION),
        stack: Some("vod-busy".into()),
        overrides: Default::default(),
    }))) {
        engine.send(command);
    }
    apply_until(
        &engine,
        &mut state,
        "the upload shown as running elsewhere",
        |s| {
            s.upload(id)
                .is_some_and(|u| matches!(u.transfer.state, TransferState::RunningElsewhere { .. }))
        },
    )
    .await;
    let TransferState::RunningElsewhere { holder } = &state.upload(id).unwrap().transfer.state
    else {
        unreachable!()
    };
    assert!(holder.contains(&std::process::id().to_string()), "{holder}");
    assert!(state.apply(UiAction::ResumeEarlier).is_empty());
    assert!(state.apply(UiAction::DiscardEarlier).is_empty());
    // Even asked directly, the engine leaves it alone: nothing reaches the bucket.
    engine.send(Command::ResumeUpload(id));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let listed = emu
        .clients
        .s3
        .list_objects_v2()
        .bucket(&stack.source_bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0));
    assert_eq!(other.get(id).unwrap().state, UploadState::Active);
    drop(lease);
    drop(engine);
}

/// On a MetadataFile stack, the upload options chosen in the app travel with the dropped files: the
/// video is uploaded, then its metadata file, whose JSON holds them besides `srcVideo`.
#[tokio::test(flavor = "multi_thread")]
async fn upload_options_end_up_in_the_metadata_file() {
    use vodesk::app::state::{Archive, FrameCapture, UploadOptionsAction};
    use vodesk::contract::stack::WorkflowTrigger;
    use vodesk::local_stack::vod_template::{VodStackSpec, create_vod_stack};
    let emu = fresh_emulator().await;
    let mut spec = VodStackSpec::v6("vod-meta-app", "d1q2w3e4r5t6y7.cloudfront.net");
    spec.parameters.workflow_trigger = WorkflowTrigger::MetadataFile;
    create_vod_stack(&emu.clients.cloudformation, &spec)
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::At(data.path().join("journal.sqlite3")),
            ..EngineOptions::default()
        },
    )
    .unwrap();
    let mut state = AppState::default();
    for command in common::commands(state.apply(UiAction::Connect(ConnectRequest {
        connection: ConnectionSettings::emulator(&emu.endpoint, REGION),
        stack: Some("vod-meta-app".into()),
        overrides: Default::default(),
    }))) {
        engine.send(command);
    }
    apply_until(&engine, &mut state, "the connection", |s| {
        matches!(s.connection(), ConnectionState::Connected(_))
    })
    .await;
    assert!(state.upload_options().current().is_some());
    for action in [
        UploadOptionsAction::JobTemplate("vodesk-all-groups-1080p".into()),
        UploadOptionsAction::FrameCapture(FrameCapture::On),
        UploadOptionsAction::Archive(Archive::Glacier),
        UploadOptionsAction::AddField,
        UploadOptionsAction::FieldKey(0, "title".into()),
        UploadOptionsAction::FieldValue(0, "Launch Keynote 2025".into()),
        UploadOptionsAction::AddField,
        UploadOptionsAction::FieldKey(1, "Presenter".into()),
        UploadOptionsAction::FieldValue(1, "Dana Ruiz".into()),
    ] {
        assert!(state.apply(UiAction::UploadOptions(action)).is_empty());
    }
    let video = common::write_file(data.path(), "Launch Keynote.mp4", 200_000, 5);
    let commands = common::commands(state.apply(UiAction::AddFiles(vec![video.clone()])));
    assert_eq!(commands.len(), 1, "{commands:?}");
    for command in commands {
        engine.send(command);
    }
    apply_until(&engine, &mut state, "the video uploaded", |s| {
        s.upload_entries()
            .any(|u| matches!(u.transfer.state, TransferState::Completed { .. }))
    })
    .await;
    let entry = state.upload_entries().next().unwrap();
    let key = entry.key.clone();
    assert!(key.ends_with(".mp4"), "{key}");
    let ConnectionState::Connected(resources) = state.connection() else {
        unreachable!()
    };
    let bucket = resources.source_bucket.clone();
    let json_key = format!("{}.json", key.strip_suffix(".mp4").unwrap());
    let object = emu
        .clients
        .s3
        .get_object()
        .bucket(&bucket)
        .key(&json_key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the metadata file {json_key}: {e:?}"));
    let doc: Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({
            "srcVideo": key,
            "jobTemplate": "vodesk-all-groups-1080p",
            "frameCapture": true,
            "archiveSource": "GLACIER",
            "title": "Launch Keynote 2025",
            "Presenter": "Dana Ruiz",
        })
    );
    tokio::task::spawn_blocking(move || drop(engine))
        .await
        .unwrap();
}

/// A Complete job of stack `stack` as the solution writes its item (the fields the operations read).
fn complete_item(guid: &str, stack: &str, source: &str, src_video: &str, start: &str) -> Value {
    serde_json::json!({
        "guid": {"S": guid}, "workflowStatus": {"S": "Complete"},
        "startTime": {"S": start}, "endTime": {"S": start},
        "workflowTrigger": {"S": "Video"}, "workflowName": {"S": stack},
        "srcBucket": {"S": source}, "srcVideo": {"S": src_video},
    })
}

async fn put_object(clients: &vodesk::aws::connection::AwsClients, bucket: &str, key: &str) {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(vec![7u8; 100]))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e}"));
}

/// Applies what the user did and sends the engine what it asks.
fn act(engine: &Engine, state: &mut AppState, action: UiAction) {
    for command in common::commands(state.apply(action)) {
        engine.send(command);
    }
}

/// "Delete…" through the engine removes the job's outputs and item (and nothing of the other job)
/// and the job leaves the dashboard; "Run again…" copies the source onto itself and links the
/// workflow that then appears for that source (its Ingest item is written here: the emulator's
/// stack runs no workflow) as a retry of the job.
#[tokio::test(flavor = "multi_thread")]
async fn run_again_and_delete_through_the_engine() {
    use vodesk::app::state::{DetailsAction, OperationAction, OperationKind};
    const A: &str = "0a1b2c3d-0000-4000-8000-0000000000a1";
    const B: &str = "0a1b2c3d-0000-4000-8000-0000000000b2";
    const NEW: &str = "0a1b2c3d-0000-4000-8000-0000000000c3";
    let emu = fresh_emulator().await;
    let clients = &emu.clients;
    let stack = vod_stack(clients, "vod-ops-app").await;
    let destination = stack.destination_bucket.clone().expect("a destination");
    let old_start = "2025-06-01T10:00:00.000Z";
    for (guid, video) in [(A, "a.mp4"), (B, "b.mp4")] {
        put_item_json(
            clients,
            &stack.table,
            &complete_item(guid, "vod-ops-app", &stack.source_bucket, video, old_start),
        )
        .await;
        put_object(clients, &stack.source_bucket, video).await;
    }
    for key in [
        format!("{A}/hls/a.m3u8"),
        format!("{A}/hls/a_1.ts"),
        format!("{A}/thumbnails/a.0000000.jpg"),
        format!("{B}/hls/b.m3u8"),
    ] {
        put_object(clients, &destination, &key).await;
    }
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::At(data.path().join("journal.sqlite3")),
            ..EngineOptions::default()
        },
    )
    .unwrap();
    let mut state = AppState::default();
    act(
        &engine,
        &mut state,
        UiAction::Connect(ConnectRequest {
            connection: ConnectionSettings::emulator(&emu.endpoint, REGION),
            stack: Some("vod-ops-app".into()),
            overrides: Default::default(),
        }),
    );
    apply_until(&engine, &mut state, "both jobs", |s| {
        status_of(s, A).is_some() && status_of(s, B).is_some()
    })
    .await;

    // Delete A: planned, shown, confirmed.
    act(
        &engine,
        &mut state,
        UiAction::Details(DetailsAction::Operation(OperationKind::Delete, A.into())),
    );
    apply_until(&engine, &mut state, "the delete plan", |s| {
        s.operations().confirmation().is_some_and(|c| !c.busy)
    })
    .await;
    let open = state.operations().confirmation().unwrap();
    assert_eq!(open.error, None);
    let Some(vodesk::app::state::OperationPlan::Delete(plan)) = &open.plan else {
        panic!("no delete plan: {open:?}");
    };
    assert_eq!(plan.outputs.len(), 3);
    assert!(plan.item);
    act(
        &engine,
        &mut state,
        UiAction::Operation(OperationAction::Confirm),
    );
    apply_until(&engine, &mut state, "the delete done", |s| {
        status_of(s, A).is_none()
    })
    .await;
    assert!(state.operations().confirmation().is_none());
    assert!(
        state
            .notices()
            .iter()
            .any(|n| n.starts_with(&format!("Deleted {A}: 3 objects"))),
        "{:?}",
        state.notices()
    );
    let left: Vec<String> = clients
        .s3
        .list_objects_v2()
        .bucket(&destination)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert_eq!(left, vec![format!("{B}/hls/b.m3u8")]);
    let item = clients
        .dynamodb
        .get_item()
        .table_name(&stack.table)
        .key("guid", aws_sdk_dynamodb::types::AttributeValue::S(A.into()))
        .send()
        .await
        .unwrap();
    assert!(item.item().is_none(), "A's item is gone");
    assert!(status_of(&state, B).is_some());

    // Run again B: planned (a copy of its source), confirmed, then linked to the new workflow.
    act(
        &engine,
        &mut state,
        UiAction::Details(DetailsAction::Operation(OperationKind::RunAgain, B.into())),
    );
    apply_until(&engine, &mut state, "the retry plan", |s| {
        s.operations().confirmation().is_some_and(|c| !c.busy)
    })
    .await;
    let open = state.operations().confirmation().unwrap();
    assert_eq!(open.error, None);
    assert!(matches!(
        &open.plan,
        Some(vodesk::app::state::OperationPlan::Retry(plan)) if plan.src_video == "b.mp4"
    ));
    act(
        &engine,
        &mut state,
        UiAction::Operation(OperationAction::Confirm),
    );
    apply_until(&engine, &mut state, "the retry started", |s| {
        s.operations().confirmation().is_none()
    })
    .await;
    assert!(
        state
            .notices()
            .iter()
            .any(|n| n.starts_with("Started again: ")),
        "{:?}",
        state.notices()
    );
    let head = clients
        .s3
        .head_object()
        .bucket(&stack.source_bucket)
        .key("b.mp4")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("vodesk-retry-of"))
            .map(String::as_str),
        Some(B)
    );
    // The workflow the copy starts, as its Ingest writes it.
    let now = vodesk::time::format_iso8601(SystemTime::now());
    let mut ingest = complete_item(NEW, "vod-ops-app", &stack.source_bucket, "b.mp4", &now);
    ingest["workflowStatus"] = serde_json::json!({"S": "Ingest"});
    put_item_json(clients, &stack.table, &ingest).await;
    apply_until(&engine, &mut state, "the retry linked", |s| {
        s.operations().retry_of(NEW) == Some(B)
    })
    .await;
    tokio::task::spawn_blocking(move || drop(engine))
        .await
        .unwrap();
}

/// "Run again…" of a Complete job of the local demo stack (VideoFile): the copy starts a new
/// workflow of the same source, whose Ingest shows as a new job linked as the retry of the first.
#[tokio::test(flavor = "multi_thread")]
async fn run_again_on_the_local_stack_starts_a_new_workflow() {
    use crate::local_pipeline::{generate_clip, start_local_stack_with, upload_with};
    use vodesk::app::state::{DetailsAction, OperationAction, OperationKind};
    use vodesk::local_stack::LocalStackOptions;
    let (local, _clients) = start_local_stack_with(LocalStackOptions::default()).await;
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::None,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    let mut state = AppState::default();
    act(
        &engine,
        &mut state,
        UiAction::Connect(ConnectRequest {
            connection: ConnectionSettings::emulator(local.endpoint(), vodesk::local_stack::REGION),
            stack: Some(local.stack_name().to_owned()),
            overrides: Default::default(),
        }),
    );
    apply_until(&engine, &mut state, "the connection", |s| {
        matches!(s.monitor(), MonitorState::Active(_))
    })
    .await;
    let clip = generate_clip(data.path(), "clip.mp4", "320x240", 2, false);
    let key = "uploads/again.mp4";
    upload_with(&local, &clip, key, &[]);
    let of_key = |s: &AppState| -> Vec<(String, JobStatus)> {
        s.jobs()
            .jobs()
            .iter()
            .filter(|j| j.record.as_ref().and_then(|r| r.src_video.as_deref()) == Some(key))
            .filter_map(|j| Some((j.guid.clone()?, j.status)))
            .collect()
    };
    apply_within(
        &engine,
        &mut state,
        "the first encode",
        Duration::from_secs(180),
        |s| {
            of_key(s)
                .iter()
                .any(|(_, status)| *status == JobStatus::Complete)
        },
    )
    .await;
    let old = of_key(&state)[0].0.clone();
    act(
        &engine,
        &mut state,
        UiAction::Details(DetailsAction::Operation(
            OperationKind::RunAgain,
            old.clone(),
        )),
    );
    apply_until(&engine, &mut state, "the retry plan", |s| {
        s.operations().confirmation().is_some_and(|c| !c.busy)
    })
    .await;
    assert_eq!(state.operations().confirmation().unwrap().error, None);
    act(
        &engine,
        &mut state,
        UiAction::Operation(OperationAction::Confirm),
    );
    apply_within(
        &engine,
        &mut state,
        "the new workflow linked",
        Duration::from_secs(120),
        |s| {
            of_key(s).len() == 2
                && of_key(s)
                    .iter()
                    .any(|(guid, _)| s.operations().retry_of(guid) == Some(old.as_str()))
        },
    )
    .await;
    tokio::task::spawn_blocking(move || drop(engine))
        .await
        .unwrap();
}
