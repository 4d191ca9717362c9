//! `vodesk iam-policy` is exact, in both directions: a whole session of the CLI against the emulator
//! (upload, an interrupted upload resumed, one cancelled, watch with its clean-up of an abandoned
//! queue, list, show, presign), with every AWS operation recorded by `VODESK_AWS_CALL_LOG`, calls no
//! action the policy lacks, and the policy grants no action the session did not call. A viewer's
//! session (`--read-only`) stays within the viewer's policy. The emulator does not enforce IAM, so
//! this proves the actions; the ARNs are checked by the policy's unit tests.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use vodesk::aws::call_log::CALL_LOG_ENV;
use vodesk::aws::iam_policy::{granted, iam_action};

use crate::common::{
    fixture, fresh_emulator, put_item_json, slow_upload_args, spawn_until_confirmed, vod_stack,
    vodesk_with_journal, write_file,
};

const STACK: &str = "vod-iam";

/// `vodesk --stack vod-iam …` against the emulator, its journal in `data`, its calls logged to `log`.
fn vodesk(endpoint: &str, data: &Path, log: &Path) -> Command {
    let mut cmd = vodesk_with_journal(endpoint, data);
    cmd.env(CALL_LOG_ENV, log).args(["--stack", STACK]);
    cmd
}

fn run_ok(mut cmd: Command) -> std::process::Output {
    let out = cmd.output().expect("run vodesk");
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The IAM actions of the logged operations; an operation with no known action fails the test.
fn called_actions(log: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(log).expect("the call log was written");
    text.lines()
        .map(|line| {
            let (service, operation) = line.split_once(' ').expect("`SERVICE Operation`");
            iam_action(service, operation)
                .unwrap_or_else(|| panic!("{line}: an operation the policy does not know"))
                .to_owned()
        })
        .collect()
}

fn policy_actions(endpoint: &str, data: &Path, extra: &[&str]) -> BTreeSet<String> {
    let policy_log = data.join("policy-calls.log");
    let mut cmd = vodesk(endpoint, data, &policy_log);
    cmd.arg("iam-policy").args(extra);
    let out = run_ok(cmd);
    let policy: Value = serde_json::from_slice(&out.stdout).expect("the policy is JSON");
    assert_eq!(policy["Version"], "2012-10-17");
    granted(&policy)
        .into_iter()
        .map(|(action, resources)| {
            assert!(!resources.is_empty(), "{action} without a resource");
            action
        })
        .collect()
}

/// Starts `watch --json`, waits for it to listen, and returns it with its output.
// The caller waits for the child (or kills it); a failed expectation here fails the test anyway.
#[allow(clippy::zombie_processes)]
fn start_watch(
    mut cmd: Command,
) -> (
    std::process::Child,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut child = cmd
        .args(["watch", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start watch");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines
            .next()
            .expect("watch printed a line")
            .expect("read a line");
        let event: Value = serde_json::from_str(&line).expect("a JSON line");
        if event["event"] == "ready" {
            assert_eq!(event["mode"], "queue", "{event}");
            return (child, lines);
        }
    }
}

fn until_event(lines: &mut std::io::Lines<BufReader<std::process::ChildStdout>>, wanted: &str) {
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line.expect("read a line")).expect("JSON");
        if event["event"] == wanted {
            return;
        }
    }
    panic!("watch ended before {wanted}");
}

fn terminate(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_grants_what_a_session_calls_and_nothing_more() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, STACK).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("calls.log");
    let cli = || vodesk(&emu.endpoint, &data, &log);

    // Uploads: one PUT, one multipart.
    let small = write_file(dir.path(), "small.mp4", 300_000, 1);
    let large = write_file(dir.path(), "large.mp4", 12 << 20, 2);
    let mut upload = cli();
    upload
        .args(["upload", "--part-size", "5MiB", "--json"])
        .args([&small, &large]);
    run_ok(upload);

    // An upload cut off, then resumed (ListParts); another cut off, then cancelled (Abort).
    for (name, seed) in [("resumed.mp4", 3), ("cancelled.mp4", 4)] {
        let file = write_file(dir.path(), name, 20 << 20, seed);
        let mut cmd = cli();
        cmd.args(slow_upload_args(&stack.source_bucket, 1, "4MiB", &file));
        let (mut child, _, _) = spawn_until_confirmed(cmd, 5 << 20);
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let mut uploads = cli();
    uploads.args(["uploads", "--json"]);
    let listed: Value = serde_json::from_slice(&run_ok(uploads).stdout).unwrap();
    let id_of = |name: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .and_then(|u| u["id"].as_i64())
            .unwrap_or_else(|| panic!("{name} in {listed}"))
            .to_string()
    };
    let mut cancel = cli();
    cancel.args(["cancel", &id_of("cancelled.mp4")]);
    run_ok(cancel);
    let mut resume = cli();
    resume.args(["resume", &id_of("resumed.mp4"), "--json"]);
    run_ok(resume);

    // The monitor: a watch killed without clean-up, then one that removes its abandoned queue,
    // refreshes its heartbeat, looks up an Error's item and cleans up on SIGTERM.
    let item: Value = serde_json::from_str(&fixture("dynamodb-item-error.json")).unwrap();
    put_item_json(&emu.clients, &stack.table, &item["Item"]).await;
    let (mut abandoned, _) = start_watch(cli());
    abandoned.kill().unwrap();
    abandoned.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut second = cli();
    second.env("VODESK_QUEUE_EXPIRY_SECONDS", "1");
    let (watch, mut lines) = start_watch(second);
    emu.clients
        .sns
        .publish()
        .topic_arn(&stack.topic_arn)
        .message(fixture("sns-error.json"))
        .send()
        .await
        .unwrap();
    until_event(&mut lines, "job");
    tokio::time::sleep(Duration::from_millis(1500)).await; // a heartbeat (TagQueue)
    terminate(&watch);
    until_event(&mut lines, "stopped");

    // The catalogue: newest jobs, one job, a presigned URL (no call of its own).
    let mut list = cli();
    list.args(["list", "--json"]);
    run_ok(list);
    let mut show = cli();
    let guid = item["Item"]["guid"]["S"].as_str().unwrap();
    show.args(["show", guid, "--json"]);
    run_ok(show);
    let mut presign = cli();
    presign.args(["presign", "later.mp4"]);
    run_ok(presign);
    // An older deployment without the table's index: the catalogue is scanned.
    emu.clients
        .dynamodb
        .update_table()
        .table_name(&stack.table)
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .delete(
                    aws_sdk_dynamodb::types::DeleteGlobalSecondaryIndexAction::builder()
                        .index_name(vodesk::aws::catalogue::INDEX_NAME)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut scanned = cli();
    scanned.args(["list", "--json"]);
    run_ok(scanned);

    let called = called_actions(&log);
    let policy = policy_actions(&emu.endpoint, &data, &[]);
    let missing: Vec<_> = called.difference(&policy).collect();
    let unused: Vec<_> = policy.difference(&called).collect();
    assert!(missing.is_empty(), "called but not granted: {missing:?}");
    assert!(unused.is_empty(), "granted but never called: {unused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewers_session_stays_within_the_read_only_policy() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, STACK).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("calls.log");
    let item: Value = serde_json::from_str(&fixture("dynamodb-item-complete.json")).unwrap();
    put_item_json(&emu.clients, &stack.table, &item["Item"]).await;
    for args in [
        vec!["stack", "--json"],
        vec!["list", "--json"],
        vec![
            "show",
            item["Item"]["guid"]["S"].as_str().unwrap(),
            "--json",
        ],
    ] {
        let mut cmd = vodesk(&emu.endpoint, &data, &log);
        cmd.args(&args);
        run_ok(cmd);
    }
    let called = called_actions(&log);
    let viewer = policy_actions(&emu.endpoint, &data, &["--read-only"]);
    let missing: Vec<_> = called.difference(&viewer).collect();
    assert!(missing.is_empty(), "a viewer needs {missing:?}");
    assert!(
        viewer
            .iter()
            .all(|a| !a.starts_with("sqs:") && !a.starts_with("sns:") && a != "s3:PutObject"),
        "{viewer:?}"
    );
}

/// `vodesk retry` and `vodesk delete --source` call only what `--allow-retry
/// --allow-delete-source` adds to the policy, and every action added is called; without the flags
/// the policy has no delete at all.
#[tokio::test(flavor = "multi_thread")]
async fn retry_and_delete_call_what_their_flags_grant() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, STACK).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("calls.log");
    let destination = stack.destination_bucket.clone().expect("a destination");
    let guid = "0a1b2c3d-0000-4000-8000-0000000000aa";
    let key = "uploads/retried.mp4";
    for (bucket, object) in [
        (&stack.source_bucket, key.to_owned()),
        (&destination, format!("{guid}/hls/retried.m3u8")),
    ] {
        emu.clients
            .s3
            .put_object()
            .bucket(bucket)
            .key(object)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"video"))
            .send()
            .await
            .unwrap();
    }
    let item = serde_json::json!({
        "guid": {"S": guid}, "workflowStatus": {"S": "Complete"},
        "startTime": {"S": "2025-06-01T10:00:00.000Z"}, "workflowTrigger": {"S": "Video"},
        "srcBucket": {"S": stack.source_bucket}, "destBucket": {"S": destination},
        "srcVideo": {"S": key},
    });
    put_item_json(&emu.clients, &stack.table, &item).await;
    for args in [
        vec!["retry", guid, "--yes"],
        vec!["delete", guid, "--source", "--yes"],
    ] {
        let mut cmd = vodesk(&emu.endpoint, &data, &log);
        cmd.args(&args);
        run_ok(cmd);
    }
    let called = called_actions(&log);
    let plain = policy_actions(&emu.endpoint, &data, &[]);
    let granted = policy_actions(
        &emu.endpoint,
        &data,
        &["--allow-retry", "--allow-delete-source"],
    );
    let missing: Vec<_> = called.difference(&granted).collect();
    assert!(missing.is_empty(), "called but not granted: {missing:?}");
    let added: BTreeSet<&String> = granted.difference(&plain).collect();
    assert!(
        added.iter().all(|a| called.contains(*a)),
        "granted but never called: {added:?}"
    );
    for action in ["s3:DeleteObject", "dynamodb:DeleteItem", "s3:ListBucket"] {
        assert!(added.contains(&action.to_owned()), "{action} in {added:?}");
    }
}
