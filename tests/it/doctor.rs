//! `vodesk doctor` end to end (issue 14): against the local stack every check passes (exit 0) and the
//! trial upload and queue leave nothing behind; against each broken configuration (no credentials, a
//! wrong region, a wrong stack name, actions denied by a proxy in front of the emulator) the line
//! that fails names the problem and its fix, and the exit code is 1.

use crate::common;

use std::process::Output;

use serde_json::Value;
use vodesk::local_stack::emulator::find_python;
use vodesk::local_stack::{LocalStack, LocalStackOptions};

use crate::common::fault_proxy::{Fault, FaultProxy, Matcher, RequestKind, Rule};
use crate::common::{
    fresh_emulator, open_multipart_uploads, topic_subscriptions, vod_stack, vodesk_against,
    vodesk_queue_urls,
};

const STACK: &str = "vod-doctor";

/// Runs `vodesk doctor --json …args` against `endpoint` with its own data folder; returns the
/// output and the JSON document.
fn doctor(endpoint: &str, args: &[&str]) -> (Output, Value) {
    let data = tempfile::tempdir().unwrap();
    let out = vodesk_against(endpoint)
        .env("VODESK_DATA_DIR", data.path())
        .args(["doctor", "--json"])
        .args(args)
        .output()
        .expect("run vodesk doctor");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

/// The check with `id`.
fn check<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {json:#}"))
}

/// Asserts that check `id` failed, its problem containing `problem` and its fix `fix`.
fn assert_fails(json: &Value, id: &str, problem: &str, fix: &str) {
    let line = check(json, id);
    assert_eq!(line["status"], "fail", "{id}: {line:#}");
    let said = line["problem"].as_str().unwrap_or_default();
    assert!(said.contains(problem), "{id}: {said:?} lacks {problem:?}");
    let fixed = line["fix"].as_str().unwrap_or_default();
    assert!(fixed.contains(fix), "{id}: fix {fixed:?} lacks {fix:?}");
}

fn statuses(json: &Value) -> Vec<(String, String)> {
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn against_the_local_stack_every_check_passes() {
    let local = LocalStack::start(LocalStackOptions {
        python: Some(find_python().unwrap_or_else(|e| panic!("{e}"))),
        ..LocalStackOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let settings = local.settings();
    let data = tempfile::tempdir().unwrap();
    let mut cmd = common::vodesk_bin();
    for (name, value) in settings.env() {
        cmd.env(name, value);
    }
    let out = cmd
        .env("VODESK_DATA_DIR", data.path())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("0 warnings, 0 failed"), "{text}");
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.contains("passed,"))
    {
        assert!(
            line.starts_with("✔ ") || line.starts_with("– Not tried without side effects"),
            "not green: {line}\n{text}"
        );
    }
    for expected in [
        "✔ Stack vod-local: the solution v6.1.13",
        "✔ Clock:",
        "✔ Uploads: a multipart upload under uploads/ was started, listed and aborted",
        "✔ Live monitor: queue vodesk-doctor-",
        "✔ ffmpeg (local demo stack): ffmpeg ",
        "✔ Upload journal:",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }

    // Nothing of the trials is left: no queue, no subscription, no unfinished upload.
    let clients = vodesk::aws::connection::AwsClients::connect(
        &vodesk::aws::connection::ConnectionSettings::emulator(local.endpoint(), &settings.region),
    )
    .await
    .unwrap();
    assert_eq!(vodesk_queue_urls(&clients).await, Vec::<String>::new());
    let resources =
        vodesk::aws::discovery::discover(&clients, Some(local.stack_name()), &Default::default())
            .await
            .unwrap();
    assert_eq!(
        topic_subscriptions(&clients, &resources.topic_arn).await,
        vec![]
    );
    assert_eq!(
        open_multipart_uploads(&clients.s3, &resources.source_bucket).await,
        0
    );
    // The trial upload is aborted, never completed: no object, so no ObjectCreated and no paid
    // workflow.
    let stored = clients
        .s3
        .list_objects_v2()
        .bucket(&resources.source_bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.key_count(), Some(0), "{:?}", stored.contents());
}

#[test]
fn without_credentials_the_credentials_line_fails_with_the_sign_in_fix() {
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = common::vodesk_bin()
        .env("HOME", home.path())
        .env("VODESK_DATA_DIR", data.path())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Never reached: without credentials nothing is sent.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .args(["doctor", "--json", "--stack", STACK])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["passed"], false);
    assert_fails(
        &json,
        "credentials",
        "no AWS credentials were found",
        "aws configure",
    );
    // What needs credentials is skipped with the reason, not failed again.
    for id in ["clock", "stack", "source-bucket", "monitor"] {
        assert_eq!(check(&json, id)["status"], "skipped", "{id}");
        assert!(
            check(&json, id)["why"]
                .as_str()
                .unwrap()
                .contains("credentials"),
            "{id}"
        );
    }
    assert_eq!(check(&json, "journal")["status"], "pass");
    assert_eq!(json["counts"]["failed"], 1, "{json:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_region_is_named_with_how_to_change_it() {
    let emu = fresh_emulator().await;
    vod_stack(&emu.clients, STACK).await;
    let (out, json) = doctor(&emu.endpoint, &["--stack", STACK, "--region", "eu-west-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(check(&json, "region")["status"], "pass");
    assert_fails(
        &json,
        "stack",
        "no stack named \"vod-doctor\" in region eu-west-1",
        "pass --region (or set AWS_REGION)",
    );
    assert_eq!(check(&json, "source-bucket")["status"], "skipped");
    assert_eq!(json["counts"]["failed"], 1, "{json:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_stack_name_suggests_the_deployments_in_the_region() {
    let emu = fresh_emulator().await;
    vod_stack(&emu.clients, STACK).await;
    let (out, json) = doctor(&emu.endpoint, &["--stack", "vod-dcotor"]);
    assert_eq!(out.status.code(), Some(1));
    assert_fails(
        &json,
        "stack",
        "no stack named \"vod-dcotor\" in region us-east-1",
        "the deployments of the solution in us-east-1: vod-doctor (v6.1.13)",
    );
    assert_eq!(json["counts"]["failed"], 1, "{json:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_actions_are_named_with_the_policy_that_grants_them() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, STACK).await;
    let proxy = FaultProxy::for_endpoint(&emu.endpoint);
    // One operation of each protocol: S3's REST, DynamoDB's and SQS's JSON.
    proxy.add(Rule::always(
        Matcher::kind(RequestKind::CreateMultipartUpload),
        Fault::Deny,
    ));
    proxy.add(Rule::always(Matcher::operation("Query"), Fault::Deny));
    proxy.add(Rule::always(Matcher::operation("CreateQueue"), Fault::Deny));
    let (out, json) = doctor(&proxy.endpoint(), &["--stack", STACK]);
    assert_eq!(out.status.code(), Some(1), "{json:#}");
    let policy = "the policy `vodesk iam-policy --stack vod-doctor` prints";
    assert_fails(&json, "uploads", "s3:PutObject was refused", policy);
    assert_fails(&json, "table", "dynamodb:Query was refused", policy);
    assert_fails(&json, "monitor", "sqs:CreateQueue", policy);
    assert!(
        check(&json, "monitor")["fix"]
            .as_str()
            .unwrap()
            .contains("vodesk polls the table"),
        "{json:#}"
    );
    // The rest still passes: a refusal stops only what needs it.
    for id in [
        "stack",
        "source-bucket",
        "table-get-item",
        "table-scan",
        "topic",
    ] {
        assert_eq!(check(&json, id)["status"], "pass", "{id}: {json:#}");
    }
    assert_eq!(json["counts"]["failed"], 3, "{json:#}");
    assert!(
        proxy.stats().fired().len() >= 3,
        "{:?}",
        proxy.stats().fired()
    );
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
    assert_eq!(
        open_multipart_uploads(&emu.clients.s3, &stack.source_bucket).await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_subscription_fails_the_monitor_and_removes_its_queue() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, STACK).await;
    let proxy = FaultProxy::for_endpoint(&emu.endpoint);
    // SNS speaks the query protocol: the operation is in the form body.
    proxy.add(Rule::always(Matcher::operation("Subscribe"), Fault::Deny));
    let (out, json) = doctor(&proxy.endpoint(), &["--stack", STACK]);
    assert_eq!(out.status.code(), Some(1), "{json:#}");
    assert_fails(
        &json,
        "monitor",
        "sns:Subscribe was refused",
        "vodesk iam-policy --stack vod-doctor",
    );
    assert_eq!(json["counts"]["failed"], 1, "{:?}", statuses(&json));
    // The queue made before the refused subscription is gone again.
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
    assert_eq!(
        topic_subscriptions(&emu.clients, &stack.topic_arn).await,
        vec![]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_is_not_asked_for_uploads_or_a_queue() {
    let emu = fresh_emulator().await;
    vod_stack(&emu.clients, STACK).await;
    let proxy = FaultProxy::for_endpoint(&emu.endpoint);
    proxy.add(Rule::always(Matcher::operation("CreateQueue"), Fault::Deny));
    let (out, json) = doctor(&proxy.endpoint(), &["--stack", STACK, "--read-only"]);
    assert_eq!(out.status.code(), Some(0), "{json:#}");
    assert_eq!(json["passed"], true);
    for id in ["uploads", "topic", "monitor"] {
        assert_eq!(check(&json, id)["status"], "skipped", "{id}");
    }
    assert!(proxy.stats().fired().is_empty());
}
