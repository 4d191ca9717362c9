//! `vodesk watch`, `list` and `show` as a user runs them, against the emulator: watch prints what is
//! published to the topic and removes its queue on SIGTERM; after a `kill -9` the next watch removes
//! the abandoned queue and its subscription; list merges the table with this machine's uploads (an
//! upload joins its Ingest by key); show prints one job with its URLs.

use crate::common;

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Stdio};
use std::time::Duration;

use crate::common::{
    NORMALIZED_KEYS, fixture, fresh_emulator, put_item_json, topic_subscriptions, vod_stack,
    vodesk_against, vodesk_queue_urls,
};
use serde_json::Value;

struct Watch {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Watch {
    fn start(endpoint: &str, expiry: Option<&str>) -> Watch {
        let mut cmd = vodesk_against(endpoint);
        cmd.args(["--stack", "vod-stack", "watch", "--json"])
            .stdout(Stdio::piped());
        if let Some(seconds) = expiry {
            cmd.env("VODESK_QUEUE_EXPIRY_SECONDS", seconds);
        }
        let mut child = cmd.spawn().expect("start vodesk watch");
        let stdout = child.stdout.take().expect("piped stdout");
        Watch {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The next JSON line (blocking; the test fails if watch exits first).
    fn next(&mut self) -> Value {
        let line = self
            .lines
            .next()
            .expect("watch printed another line")
            .expect("read a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Lines up to and including the first whose "event" is `event`.
    fn until(&mut self, event: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let value = self.next();
            let done = value["event"] == event;
            seen.push(value);
            if done {
                return seen;
            }
        }
    }

    fn terminate(&mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

async fn publish(emu: &common::FreshEmulator, topic: &str, body: &str) {
    emu.clients
        .sns
        .publish()
        .topic_arn(topic)
        .message(body)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_prints_published_messages_and_removes_its_queue_on_sigterm() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let mut watch = Watch::start(&emu.endpoint, None);
    let ready = watch.until("ready").pop().unwrap();
    assert_eq!(ready["mode"], "queue");
    assert_eq!(ready["stack"], "vod-stack");
    let queue_url = ready["queue_url"].as_str().unwrap().to_owned();
    assert_eq!(
        vodesk_queue_urls(&emu.clients).await,
        vec![queue_url.clone()]
    );

    publish(&emu, &stack.topic_arn, &fixture("sns-ingest.json")).await;
    publish(&emu, &stack.topic_arn, &fixture("sns-complete.json")).await;
    let mut jobs = vec![watch.until("job").pop().unwrap()];
    jobs.push(watch.until("job").pop().unwrap());
    // SNS→SQS is unordered: compare as a set of kinds.
    jobs.sort_by_key(|j| j["kind"].as_str().unwrap().to_owned());
    let (complete, ingest) = (&jobs[0], &jobs[1]);
    for key in NORMALIZED_KEYS
        .iter()
        .chain(&["timestamp", "event", "via", "file"])
    {
        assert!(ingest.get(*key).is_some(), "{key} missing from {ingest}");
    }
    assert_eq!(ingest["kind"], "ingest");
    assert_eq!(ingest["source"], "sns");
    assert_eq!(ingest["guid"], "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8");
    assert_eq!(ingest["src_video"], "uploads/Café Opening Night.MOV");
    assert_eq!(ingest["via"], "queue");
    assert!(vodesk::time::parse_iso8601(ingest["timestamp"].as_str().unwrap()).is_some());
    let expected: Value = serde_json::from_str(&fixture("sns-complete.json")).unwrap();
    assert_eq!(complete["kind"], "complete");
    assert_eq!(complete["hls_url"], expected["hlsUrl"]);
    assert_eq!(complete["mp4_urls"], expected["mp4Urls"]);

    watch.terminate();
    let stopped = watch.until("stopped").pop().unwrap();
    assert_eq!(stopped["clean"], true, "{stopped}");
    assert_eq!(stopped["unsubscribed"], true);
    assert_eq!(stopped["deleted"], true);
    let status = watch.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
    assert_eq!(
        topic_subscriptions(&emu.clients, &stack.topic_arn).await,
        vec![]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_kill_9_the_next_watch_removes_the_abandoned_queue() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let mut first = Watch::start(&emu.endpoint, None);
    let ready = first.until("ready").pop().unwrap();
    let abandoned = ready["queue_url"].as_str().unwrap().to_owned();
    let abandoned_subscription = ready["subscription_arn"].as_str().unwrap().to_owned();
    first.child.kill().unwrap(); // SIGKILL: no clean-up
    first.child.wait().unwrap();
    assert_eq!(
        vodesk_queue_urls(&emu.clients).await,
        vec![abandoned.clone()],
        "left behind"
    );

    // Heartbeats have one-second resolution: let the first one age past a one-second expiry.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut second = Watch::start(&emu.endpoint, Some("1"));
    let lines = second.until("ready");
    let removed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "stale-queue-removed")
        .collect();
    assert_eq!(removed.len(), 1, "{lines:?}");
    assert_eq!(removed[0]["queue_url"], abandoned.as_str());
    assert_eq!(removed[0]["subscriptions_removed"], 1);
    let current = lines.last().unwrap()["queue_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(current, abandoned);
    assert_eq!(vodesk_queue_urls(&emu.clients).await, vec![current]);
    let subscriptions = topic_subscriptions(&emu.clients, &stack.topic_arn).await;
    assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
    assert_ne!(subscriptions[0].0, abandoned_subscription);

    second.terminate();
    assert_eq!(second.until("stopped").pop().unwrap()["clean"], true);
    assert!(second.child.wait().unwrap().success());
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
}

fn run_json(cmd: &mut std::process::Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn list_merges_uploads_with_the_table_and_show_prints_one_job() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let data = tempfile::tempdir().unwrap();
    let video = data.path().join("clip.mp4");
    std::fs::write(&video, vec![7u8; 4096]).unwrap();
    let vodesk = |args: &[&str]| {
        let mut cmd = vodesk_against(&emu.endpoint);
        cmd.env("VODESK_DATA_DIR", data.path())
            .args(["--stack", "vod-stack"])
            .args(args);
        cmd
    };

    // The solution's own items, in this stack's bucket.
    for name in ["ingest", "complete", "error"] {
        let mut item: Value =
            serde_json::from_str(&fixture(&format!("dynamodb-item-{name}.json"))).unwrap();
        item["Item"]["srcBucket"]["S"] = Value::from(stack.source_bucket.clone());
        put_item_json(&emu.clients, &stack.table, &item["Item"]).await;
    }
    // An upload from this machine, with no workflow yet.
    let out = vodesk(&["upload", "--json"]).arg(&video).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uploads = run_json(&mut vodesk(&["uploads", "--json"]));
    let key = uploads[0]["key"].as_str().unwrap().to_owned();

    let list = run_json(&mut vodesk(&["list", "--json"]));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4, "{list:?}");
    let waiting: Vec<&Value> = list.iter().filter(|j| j["guid"].is_null()).collect();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0]["status"], "uploaded");
    assert_eq!(waiting[0]["file"], key.as_str());
    let statuses: Vec<(&str, &str)> = list
        .iter()
        .filter(|j| !j["guid"].is_null())
        .map(|j| (j["guid"].as_str().unwrap(), j["status"].as_str().unwrap()))
        .collect();
    // Newest first; the Ingest item has an encode job id, so it is encoding.
    assert_eq!(
        statuses,
        [
            ("2d616d3f-343d-4da4-bd2a-581dd5e3b1f8", "encoding"),
            ("e2069f55-d2a4-47e4-9e20-7f5b6d9baa04", "error"),
            ("8cec4149-e508-43b8-aa4e-f972dc9a5675", "complete"),
        ]
    );
    let complete = list.iter().find(|j| j["status"] == "complete").unwrap();
    assert!(complete["width"].as_u64().is_some(), "{complete}");
    assert!(
        complete["duration_seconds"].as_f64().is_some(),
        "{complete}"
    );

    let uploaded = run_json(&mut vodesk(&["list", "--json", "--status", "uploaded"]));
    assert_eq!(uploaded.as_array().unwrap().len(), 1, "{uploaded}");
    assert_eq!(uploaded[0]["file"], key.as_str());

    // The workflow of the upload starts: the two become one job.
    let guid = "11111111-2222-4333-8444-555555555555";
    let ingest = serde_json::json!({
        "guid": {"S": guid},
        "startTime": {"S": vodesk::time::format_iso8601(std::time::SystemTime::now())},
        "workflowStatus": {"S": "Ingest"},
        "srcBucket": {"S": stack.source_bucket},
        "srcVideo": {"S": key},
    });
    put_item_json(&emu.clients, &stack.table, &ingest).await;
    let list = run_json(&mut vodesk(&["list", "--json"]));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4, "{list:?}");
    assert_eq!(list[0]["guid"], guid);
    assert_eq!(list[0]["status"], "ingest");
    assert_eq!(list[0]["file"], key.as_str());
    assert_eq!(list[0]["upload_id"], uploads[0]["id"]);

    let uploaded = run_json(&mut vodesk(&["list", "--json", "--status", "uploaded"]));
    assert_eq!(
        uploaded,
        serde_json::json!([]),
        "the upload has its workflow now"
    );

    let errors = run_json(&mut vodesk(&["list", "--json", "--status", "error"]));
    assert_eq!(errors.as_array().unwrap().len(), 1);
    assert_eq!(errors[0]["guid"], "e2069f55-d2a4-47e4-9e20-7f5b6d9baa04");

    let table = vodesk(&["list", "--limit", "2"]).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    let rows = table.split("\n\n").next().unwrap();
    assert_eq!(rows.lines().count(), 3, "header and two jobs: {table}");
    assert!(rows.contains(guid), "{table}");
    // The 2025 Ingest item with an encode job is long past any plausible encoding time.
    assert!(
        table.contains("! 2d616d3f-343d-4da4-bd2a-581dd5e3b1f8: Stalled: encoding for"),
        "{table}"
    );

    let item: Value = serde_json::from_str(&fixture("dynamodb-item-complete.json")).unwrap();
    let shown = run_json(&mut vodesk(&[
        "show",
        "8cec4149-e508-43b8-aa4e-f972dc9a5675",
        "--json",
    ]));
    assert_eq!(shown["status"], "complete");
    assert_eq!(shown["hls_url"], item["Item"]["hlsUrl"]["S"]);
    assert_eq!(shown["src_video"], item["Item"]["srcVideo"]["S"]);
    assert!(
        shown["record"]["media_info"]["video"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    );
    let text = vodesk(&["show", "8cec4149-e508-43b8-aa4e-f972dc9a5675"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(item["Item"]["hlsUrl"]["S"].as_str().unwrap()),
        "{text}"
    );
    assert!(text.contains("Video 1"), "{text}");
    // The metadata file's own fields (contract §3), under their stored names.
    assert!(text.contains("Metadata title"), "{text}");
    assert!(text.contains("Launch Keynote 2025"), "{text}");
    assert!(text.contains("Metadata presenter"), "{text}");

    let missing = vodesk(&["show", "no-such-guid"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("no job with guid no-such-guid"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_in_text_mode_prints_lines_and_cleans_up_on_ctrl_c() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let mut child = vodesk_against(&emu.endpoint)
        .args(["--stack", "vod-stack", "watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    assert!(
        ready.starts_with("Watching vod-stack through queue vodesk-vod-stack-"),
        "{ready}"
    );

    publish(&emu, &stack.topic_arn, &fixture("sns-error.json")).await;
    let line = lines.next().unwrap().unwrap();
    assert!(
        line.contains("ERROR     e2069f55-d2a4-47e4-9e20-7f5b6d9baa04  (file unknown)  Unable to open input file"),
        "{line}"
    );

    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let last = lines.next().unwrap().unwrap();
    assert!(
        last.starts_with("Stopped: unsubscribed and deleted queue vodesk-vod-stack-"),
        "{last}"
    );
    assert!(child.wait().unwrap().success());
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
}

/// Issue 12: values from the table and the topic reach the terminal with their escape sequences made
/// visible (`\u{1b}`), in `list`, `show` and `watch`; none of their ESC bytes does.
#[tokio::test(flavor = "multi_thread")]
async fn escape_sequences_from_the_table_and_topic_never_reach_the_terminal() {
    const HOSTILE: &str = "uploads/\x1b]0;pwned\x07clip\x1b[2J\u{9b}31m\u{202e}4pm.mp4";
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let data = tempfile::tempdir().unwrap();
    let guid = "77777777-2222-4333-8444-555555555555";
    let item = serde_json::json!({
        "guid": {"S": guid},
        "startTime": {"S": vodesk::time::format_iso8601(std::time::SystemTime::now())},
        "workflowStatus": {"S": "Error"},
        "workflowErrorAt": {"S": "Encoding\x1b[1A"},
        "errorMessage": {"S": format!("Unable to open input file [{HOSTILE}]")},
        "srcBucket": {"S": stack.source_bucket},
        "srcVideo": {"S": HOSTILE},
        "workflowTrigger": {"S": "Metadata"},
        "title\x1b[2J": {"S": HOSTILE},
    });
    put_item_json(&emu.clients, &stack.table, &item).await;
    let vodesk = |args: &[&str]| {
        let mut cmd = vodesk_against(&emu.endpoint);
        cmd.env("VODESK_DATA_DIR", data.path())
            .args(["--stack", "vod-stack"])
            .args(args);
        cmd.output().unwrap()
    };
    for args in [&["list"][..], &["show", guid]] {
        let out = vodesk(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        for output in [&text, &String::from_utf8_lossy(&out.stderr).into_owned()] {
            assert!(
                !output.contains('\x1b'),
                "{args:?} printed an ESC: {output:?}"
            );
            assert!(
                !output.contains('\u{9b}'),
                "{args:?} printed a CSI: {output:?}"
            );
            assert!(!output.contains('\u{202e}'), "{args:?}: {output:?}");
        }
        // The value still reads, with the escapes visible.
        assert!(
            text.contains("uploads/\\u{1b}]0;pwned\\u{7}clip\\u{1b}[2J"),
            "{args:?}: {text}"
        );
    }
    // --json is escaped by serde and keeps the exact value.
    let json = vodesk(&["show", guid, "--json"]);
    let shown: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(shown["src_video"], HOSTILE);

    // watch, in text mode, on an Error published to the topic.
    let mut child = vodesk_against(&emu.endpoint)
        .args(["--stack", "vod-stack", "watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    assert!(ready.starts_with("Watching vod-stack"), "{ready}");
    let message = serde_json::json!({
        "guid": "88888888-2222-4333-8444-555555555555",
        "workflowStatus": "Error",
        "workflowErrorAt": "Encoding",
        "errorMessage": format!("Unable to open input file [{HOSTILE}]"),
        "errorDetails": "https://console.aws.amazon.com/mediaconvert/home",
    });
    publish(&emu, &stack.topic_arn, &message.to_string()).await;
    let line = lines.next().unwrap().unwrap();
    assert!(line.contains("ERROR"), "{line}");
    assert!(!line.contains('\x1b'), "watch printed an ESC: {line:?}");
    assert!(!line.contains('\u{9b}'), "watch printed a CSI: {line:?}");
    assert!(line.contains("\\u{1b}]0;pwned"), "{line}");
    // Cleanup only: the assertions above are the test. Without the signal the wait would never end.
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    if child.wait().is_err() {
        // Already reaped: nothing is left behind.
    }
}
