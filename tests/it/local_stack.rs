//! The local stack (issue 7): the library starts a v6 stack that discovery reads like a real deployment
//! and whose source bucket starts a workflow for exactly the §3 suffixes; the
//! `vodesk local-stack` command prints settings that other vodesk commands can use and stops cleanly on
//! SIGTERM. Each test starts its own emulator (the local stack owns it), not the shared one.

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use vodesk::aws::connection::{AwsClients, ConnectionSettings};
use vodesk::aws::discovery::{StackOverrides, discover};
use vodesk::contract::stack::{Generation, WorkflowTrigger};
use vodesk::local_stack::emulator::find_python;
use vodesk::local_stack::{LocalStack, LocalStackOptions, REGION};

/// The `srcVideo` of every workflow item, once `count` workflows have ended and the table has stayed
/// the same for a few seconds (so a late extra workflow would be seen).
async fn settled_workflow_sources(clients: &AwsClients, table: &str, count: usize) -> Vec<String> {
    let started = Instant::now();
    let mut last: Option<(Vec<String>, Instant)> = None;
    while started.elapsed() < Duration::from_secs(120) {
        let items = clients
            .dynamodb
            .scan()
            .table_name(table)
            .consistent_read(true)
            .send()
            .await
            .expect("scan the table");
        let ended = items
            .items()
            .iter()
            .filter(|item| {
                item.get("workflowStatus")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|s| s == "Error" || s == "Complete")
            })
            .count();
        let mut sources: Vec<String> = items
            .items()
            .iter()
            .filter_map(|item| item.get("srcVideo").and_then(|v| v.as_s().ok()).cloned())
            .collect();
        sources.sort();
        if ended >= count {
            match &last {
                Some((previous, since))
                    if *previous == sources && since.elapsed() > Duration::from_secs(3) =>
                {
                    return sources;
                }
                Some((previous, _)) if *previous == sources => {}
                _ => last = Some((sources, Instant::now())),
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("fewer than {count} workflows ended within 120 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn local_stack_is_discovered_as_v6_and_notifies_only_on_trigger_suffixes() {
    let local = LocalStack::start(LocalStackOptions {
        python: Some(find_python().unwrap_or_else(|e| panic!("{e}"))),
        ..LocalStackOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(local.stack_name(), "vod-local");
    assert_eq!(local.settings().endpoint_url, local.endpoint());

    let clients = AwsClients::connect(&ConnectionSettings::emulator(local.endpoint(), REGION))
        .await
        .expect("emulator settings are valid");
    let found = discover(&clients, Some("vod-local"), &StackOverrides::default())
        .await
        .expect("discover the local stack");
    assert_eq!(found.stack_name.as_deref(), Some("vod-local"));
    assert_eq!(found.generation, Some(Generation::V6));
    assert_eq!(found.solution_version.as_deref(), Some("v6.1.13"));
    assert_eq!(found.workflow_trigger, Some(WorkflowTrigger::VideoFile));
    assert!(found.destination_bucket.is_some());
    assert!(found.topic_arn.starts_with("arn:aws:sns:us-east-1:"));

    // The 24 rules the solution writes: one suffix each, lower and upper case.
    let notifications = clients
        .s3
        .get_bucket_notification_configuration()
        .bucket(&found.source_bucket)
        .send()
        .await
        .expect("read the source bucket's notifications");
    let suffixes: BTreeSet<String> = notifications
        .queue_configurations()
        .iter()
        .flat_map(|q| q.filter().and_then(|f| f.key()).map(|k| k.filter_rules()))
        .flatten()
        .filter_map(|rule| rule.value().map(str::to_owned))
        .collect();
    assert_eq!(notifications.queue_configurations().len(), 24);
    assert_eq!(suffixes.len(), 24);
    assert!(suffixes.contains(".m2ts") && suffixes.contains(".M2TS"));

    // Keys without a prefix: the event's key is URL-encoded, and moto 5.2.5 encodes `/` as `%2F` where
    // real S3 leaves it, which is not what this test is about.
    for key in ["clip.mp4", "mixed.Mp4", "LOUD.MOV", "notes.txt"] {
        clients
            .s3
            .put_object()
            .bucket(&found.source_bucket)
            .key(key)
            .body(ByteStream::from_static(b"not really a video"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("upload {key}: {e}"));
    }
    // Each triggering key starts one workflow (which fails: the bodies are not media). Mixed case and
    // other extensions never trigger (contract §3); all lower or ALL UPPER case does.
    let sources = settled_workflow_sources(&clients, &found.table, 2).await;
    assert_eq!(sources, ["LOUD.MOV", "clip.mp4"]);
}

/// Waits for `child` to exit, for at most `limit`.
fn wait_with_timeout(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("poll vodesk local-stack") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn local_stack_command_prints_usable_settings_and_stops_on_sigterm() {
    let mut cmd = common::local_stack_command(&["--port", "0"]);
    let mut child = cmd.spawn().expect("start vodesk local-stack");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    let read = BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the settings line");
    if read == 0 {
        if child.kill().is_err() {
            // It has already exited; its stderr, collected below, says why.
        }
        let output = child.wait_with_output().expect("collect stderr");
        panic!(
            "vodesk local-stack printed no settings: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let settings: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
    let settings = settings.as_object().expect("a JSON object");
    let keys: Vec<&str> = settings.keys().map(String::as_str).collect();
    assert_eq!(
        keys.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "VODESK_STACK",
        ])
    );
    assert_eq!(settings["VODESK_STACK"], "vod-local");
    assert_eq!(settings["AWS_REGION"], "us-east-1");
    let endpoint = settings["AWS_ENDPOINT_URL"]
        .as_str()
        .expect("endpoint")
        .to_owned();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");

    // Another vodesk command, configured only by the printed environment.
    let mut stack = common::vodesk_bin();
    stack
        .args(["stack", "--json"])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE");
    for (name, value) in settings {
        stack.env(name, value.as_str().expect("a string value"));
    }
    let output = stack.output().expect("run vodesk stack");
    assert!(
        output.status.success(),
        "vodesk stack failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stack JSON");
    assert_eq!(found["stack_name"], "vod-local");
    assert_eq!(found["solution_version"], "v6.1.13");
    // The solution's defaults, read back as discovery reads a real deployment; FrameCapture is on
    // for the demo (issue 15).
    assert_eq!(found["workflow_trigger"], "VideoFile");
    assert_eq!(found["frame_capture"], true);
    assert_eq!(found["enable_sns"], true);
    assert_eq!(found["enable_media_package"], false);
    assert_eq!(found["enable_sqs"], true);
    assert_eq!(found["glacier"], "DISABLED");

    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = match wait_with_timeout(&mut child, Duration::from_secs(30)) {
        Some(status) => status,
        None => {
            if child.kill().is_err() {
                // It exited just now; the panic below still reports that it was late.
            }
            panic!("vodesk local-stack did not stop within 30 s of SIGTERM");
        }
    };
    assert!(status.success(), "exit status {status}");
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        std::io::Read::read_to_string(&mut err, &mut stderr).expect("read stderr");
    }
    assert!(stderr.contains("Stopped the local stack"), "{stderr}");

    let answer = reqwest::Client::new()
        .get(&endpoint)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(answer.is_err(), "the emulator still answers at {endpoint}");
}

/// Issue 12, defect 9: a `.venv/bin/python` in the directory `vodesk local-stack` is run from is never
/// run; only `$VODESK_EMULATOR_PYTHON` or vodesk's own install locations are.
#[tokio::test(flavor = "multi_thread")]
async fn a_python_planted_in_the_current_directory_is_never_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("planted-python-ran");
    let planted = dir.path().join(".venv/bin/python");
    std::fs::create_dir_all(planted.parent().expect("a parent")).expect("mkdir .venv/bin");
    std::fs::write(
        &planted,
        format!("#!/bin/sh\necho ran > '{}'\nexit 1\n", marker.display()),
    )
    .expect("plant a python");
    let mut permissions = std::fs::metadata(&planted).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&planted, permissions).expect("chmod");

    let mut cmd = common::local_stack_command(&[]);
    cmd.env_remove(vodesk::local_stack::emulator::PYTHON_ENV)
        .env("VODESK_DATA_DIR", dir.path().join("data"))
        .current_dir(dir.path());
    let mut child = cmd.spawn().expect("start vodesk local-stack");
    // Either it starts with the installed emulator (a settings line) or it says none is installed;
    // both come after the moment the planted one would have run.
    // The line's content and the outcomes of stopping it do not matter here: only the marker does,
    // and the stderr read below is only there to explain a failure.
    let mut line = String::new();
    if BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .is_err()
    {
        // It exited without a line, which also comes after the planted one would have run.
    }
    if std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_err()
    {
        // No `kill` program: the timeout below kills it instead.
    }
    if wait_with_timeout(&mut child, Duration::from_secs(30)).is_none() {
        if child.kill().is_err() {
            // It exited just now.
        }
        if child.wait().is_err() {
            // Already reaped.
        }
    }
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take()
        && std::io::Read::read_to_string(&mut err, &mut stderr).is_err()
    {
        // Only part of its stderr: the assertion message shows less, the assertion is the same.
    }
    assert!(
        !marker.exists(),
        "vodesk ran the .venv/bin/python of the current directory: {stderr}"
    );
    if line.is_empty() {
        // Nothing installed on this machine: the message names where vodesk looked.
        assert!(stderr.contains("looked for"), "{stderr}");
    }
}

/// Issue 15: every parameter of the solution is a flag under its own name; `--hls-only` (now the
/// default) is still accepted but not with `--custom-template`.
#[test]
fn the_solutions_parameters_are_flags_and_hls_only_conflicts_with_a_custom_template() {
    let output = common::local_stack_command(&["--hls-only", "--custom-template", "all-groups"])
        .output()
        .expect("run vodesk local-stack");
    assert_eq!(output.status.code(), Some(2));
    let help = common::vodesk_bin()
        .args(["local-stack", "--help"])
        .output()
        .expect("run vodesk local-stack --help");
    // Lines are wrapped to the terminal: compare the words only.
    let help = String::from_utf8_lossy(&help.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for flag in [
        "--workflow-trigger",
        "--frame-capture",
        "--enable-media-package",
        "--enable-sns",
        "--enable-sqs",
        "--glacier",
        "--custom-template",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    assert!(help.contains("solution's own default is No"), "{help}");
    assert!(!help.contains("--hls-only"), "{help}");
}

/// `--list-templates`: the local MediaConvert's job templates (the solution's three defaults for the
/// stack's name, then the local custom ones), without starting anything; as JSON with `--json`.
#[test]
fn the_job_templates_are_listed_without_starting_a_stack() {
    let output = common::vodesk_bin()
        .args(["--stack", "rehearsal", "local-stack", "--list-templates"])
        .output()
        .expect("run vodesk local-stack --list-templates");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let names: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        [
            "rehearsal_Ott_2160p_Avc_Aac_16x9_qvbr_no_preset",
            "rehearsal_Ott_1080p_Avc_Aac_16x9_qvbr_no_preset",
            "rehearsal_Ott_720p_Avc_Aac_16x9_qvbr_no_preset",
            "rehearsal_Ott_2160p_Avc_Aac_16x9_mvod_no_preset",
            "rehearsal_Ott_1080p_Avc_Aac_16x9_mvod_no_preset",
            "rehearsal_Ott_720p_Avc_Aac_16x9_mvod_no_preset",
            "rehearsal_Custom_Hls_Dash_Mp4",
            "rehearsal_Custom_Hls_Dash_Cmaf_Mp4",
            "rehearsal_Custom_All_Groups",
        ]
    );
    assert!(
        stdout.contains("default for sources nearest 1080p with MediaPackage off"),
        "{stdout}"
    );
    assert!(stdout.contains("HLS, DASH, CMAF and an MP4"), "{stdout}");
    assert!(
        stdout.contains("HLS, DASH, CMAF, MS Smooth and an MP4"),
        "{stdout}"
    );
    let json = common::vodesk_bin()
        .args(["local-stack", "--list-templates", "--json"])
        .output()
        .expect("run vodesk local-stack --list-templates --json");
    let listed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("a JSON array");
    assert_eq!(listed.as_array().map(Vec::len), Some(9));
    assert_eq!(
        listed[0]["name"],
        "vod-local_Ott_2160p_Avc_Aac_16x9_qvbr_no_preset"
    );
    assert_eq!(listed[0]["defaultForProfile"], 2160);
    assert_eq!(listed[0]["forMediaPackage"], false);
    assert_eq!(listed[7]["defaultForProfile"], serde_json::Value::Null);
}
