//! `vodesk upload|uploads|resume|cancel|presign` as a user runs them, against the emulator: kill -9 in the
//! middle of an upload and resume, refusals, awkward names, the journal listing, presigned URLs.

use crate::common;

use std::process::{Command, Stdio};

use crate::common::fresh_emulator;
use serde_json::Value;

const BUCKET: &str = "vod-source";
const MIB: u64 = 1 << 20;

/// A fresh emulator with the source bucket, and a folder for files and the journal.
async fn emulator_with_bucket() -> (common::FreshEmulator, tempfile::TempDir) {
    let emu = fresh_emulator().await;
    emu.clients
        .s3
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    (emu, tempfile::tempdir().unwrap())
}

use crate::common::{completed_key, json_lines, vodesk_with_journal as vodesk};

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_killed_with_sigkill_resumes_where_it_stopped() {
    let (emu, dir) = emulator_with_bucket().await;
    let path = common::write_file(dir.path(), "interview.mp4", 40 * MIB, 1);

    let mut cmd = vodesk(&emu.endpoint, dir.path());
    cmd.args(common::slow_upload_args(BUCKET, 2, "8MiB", &path))
        .stderr(Stdio::null());
    let (mut child, confirmed_before_kill, _) = common::spawn_until_confirmed(cmd, 15 * MIB);
    child.kill().unwrap(); // SIGKILL: no chance to clean up or to write anything more
    child.wait().unwrap();
    assert!(confirmed_before_kill >= 15 * MIB);

    let listed = vodesk(&emu.endpoint, dir.path())
        .args(["uploads", "--json"])
        .output()
        .unwrap();
    let uploads: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        uploads[0]["state"], "active",
        "a killed upload is still active in the journal: {uploads}"
    );

    let out = vodesk(&emu.endpoint, dir.path())
        .args(["resume", "--all", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&out);
    let started = events
        .iter()
        .find(|e| e["event"] == "started")
        .expect("a started event");
    let already = started["already_confirmed"].as_u64().unwrap();
    // Everything confirmed before the kill is kept; at most the parts in flight are sent again.
    assert!(
        already >= confirmed_before_kill,
        "resumed from {already}, had {confirmed_before_kill}"
    );
    let key = completed_key(&events);
    let completed = events.iter().find(|e| e["event"] == "completed").unwrap();
    assert_eq!(completed["verified"], true, "{completed}");
    assert_eq!(
        common::object_sha256(&emu.clients.s3, BUCKET, &key).await,
        common::sha256(&std::fs::read(&path).unwrap())
    );
    assert_eq!(
        common::open_multipart_uploads(&emu.clients.s3, BUCKET).await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_trigger_extension_needs_force() {
    let (emu, dir) = emulator_with_bucket().await;
    let path = common::write_file(dir.path(), "old-camera.avi", 1000, 1);

    let out = vodesk(&emu.endpoint, dir.path())
        .args(["upload", "--source-bucket", BUCKET])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("old-camera.avi") && err.contains("--force"),
        "{err}"
    );
    let listed = emu
        .clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0));

    let out = vodesk(&emu.endpoint, dir.path())
        .args(["upload", "--source-bucket", BUCKET, "--force", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(completed_key(&json_lines(&out)).ends_with("/old-camera.avi"));
}

#[tokio::test(flavor = "multi_thread")]
async fn awkward_names_become_safe_keys_and_keep_their_original_name() {
    let (emu, dir) = emulator_with_bucket().await;
    let path = common::write_file(dir.path(), "Café +100% #1 Año.MOV", 2000, 1);

    let out = vodesk(&emu.endpoint, dir.path())
        .args(["upload", "--source-bucket", BUCKET, "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = completed_key(&json_lines(&out));
    let (prefix, name) = key.rsplit_once('/').unwrap();
    assert!(
        prefix.starts_with("uploads/") && prefix.len() == "uploads/".len() + 36,
        "{key}"
    );
    assert!(
        name.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
        "{name}"
    );
    assert!(
        name.ends_with(".mov"),
        "the extension is lower-cased so the workflow starts: {name}"
    );
    assert!(name.starts_with("Cafe"), "{name}");
    let head = emu
        .clients
        .s3
        .head_object()
        .bucket(BUCKET)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.metadata()
            .unwrap()
            .get("original-filename")
            .map(String::as_str),
        Some("Caf%C3%A9 +100%25 #1 A%C3%B1o.MOV")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn folders_expand_to_their_videos_and_refusals_are_explained() {
    let (emu, dir) = emulator_with_bucket().await;
    let shoot = dir.path().join("shoot");
    std::fs::create_dir_all(shoot.join("day2")).unwrap();
    common::write_file(&shoot, "a.mp4", 1000, 1);
    common::write_file(&shoot.join("day2"), "b.MOV", 1000, 1);
    common::write_file(&shoot, "notes.txt", 10, 1);
    std::fs::write(dir.path().join("empty.mp4"), b"").unwrap();

    let out = vodesk(&emu.endpoint, dir.path())
        .args(["upload", "--source-bucket", BUCKET, "--json"])
        .arg(&shoot)
        .arg(dir.path().join("empty.mp4"))
        .arg(shoot.join("a.mp4"))
        .output()
        .unwrap();
    // The empty file is refused (exit 2), the two videos are uploaded, the duplicate a.mp4 is dropped.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty.mp4") && err.contains("empty"), "{err}");
    let events = json_lines(&out);
    let completed = events.iter().filter(|e| e["event"] == "completed").count();
    assert_eq!(completed, 2, "{events:?}");
    let listed = emu
        .clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_from_the_cli_aborts_a_paused_upload() {
    let (emu, dir) = emulator_with_bucket().await;
    let path = common::write_file(dir.path(), "drop.mp4", 20 * MIB, 1);
    let mut cmd = vodesk(&emu.endpoint, dir.path());
    cmd.args(common::slow_upload_args(BUCKET, 1, "5MiB", &path))
        .stderr(Stdio::null());
    let (mut child, _, _) = common::spawn_until_confirmed(cmd, 1);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        common::open_multipart_uploads(&emu.clients.s3, BUCKET).await,
        1
    );

    let listed = vodesk(&emu.endpoint, dir.path())
        .args(["uploads"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(
        table.contains("drop.mp4") && table.contains("vodesk resume"),
        "{table}"
    );

    let out = vodesk(&emu.endpoint, dir.path())
        .args(["cancel", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        common::open_multipart_uploads(&emu.clients.s3, BUCKET).await,
        0
    );
    let out = vodesk(&emu.endpoint, dir.path())
        .args(["cancel", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no upload with id 1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_presigned_url_uploads_without_credentials() {
    let (emu, dir) = emulator_with_bucket().await;
    let out = vodesk(&emu.endpoint, dir.path())
        .args([
            "presign",
            "My Trailer.MP4",
            "--expires",
            "15m",
            "--source-bucket",
            BUCKET,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let url = json["url"].as_str().unwrap();
    let key = json["key"].as_str().unwrap();
    assert!(key.ends_with("/My-Trailer.mp4"), "{key}");
    assert!(url.contains("X-Amz-Expires=900"), "{url}");
    assert!(
        json["curl"]
            .as_str()
            .unwrap()
            .starts_with("curl --fail --upload-file 'My Trailer.MP4' ")
    );

    let response = reqwest::Client::new()
        .put(url)
        .body(vec![7u8; 4096])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let head = emu
        .clients
        .s3
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(4096));

    let out = vodesk(&emu.endpoint, dir.path())
        .args(["presign", "clip.avi", "--source-bucket", BUCKET])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a non-trigger name needs --force"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_pauses_cleanly_and_says_how_to_resume() {
    let (emu, dir) = emulator_with_bucket().await;
    let path = common::write_file(dir.path(), "long-take.mp4", 30 * MIB, 1);
    let mut cmd = vodesk(&emu.endpoint, dir.path());
    cmd.args(common::slow_upload_args(BUCKET, 1, "5MiB", &path))
        .stderr(Stdio::piped());
    let (child, _, lines) = common::spawn_until_confirmed(cmd, 1);
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{rest:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("vodesk resume --all"), "{err}");
    assert!(
        rest.iter().any(|l| l.contains("\"event\":\"paused\"")),
        "{rest:?}"
    );

    let listed = vodesk(&emu.endpoint, dir.path())
        .args(["uploads", "--json"])
        .output()
        .unwrap();
    let uploads: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(uploads[0]["state"], "paused");
    assert!(uploads[0]["confirmed"].as_u64().unwrap() >= 5 * MIB);
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_file_stacks_get_the_video_then_the_json_that_names_it() {
    use vodesk::contract::stack::WorkflowTrigger;
    use vodesk::local_stack::vod_template::{VodStackSpec, create_vod_stack};
    let emu = fresh_emulator().await;
    let mut spec = VodStackSpec::v6("vod-meta", "d3k5m7n9p1r3t5.cloudfront.net");
    spec.parameters.workflow_trigger = WorkflowTrigger::MetadataFile;
    create_vod_stack(&emu.clients.cloudformation, &spec)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "Launch Keynote.mp4", 4000, 1);

    let out = vodesk(&emu.endpoint, dir.path())
        .args([
            "upload",
            "--stack",
            "vod-meta",
            "--json",
            "--metadata",
            "frameCapture=true",
        ])
        .args(["--metadata", "title=Launch Keynote 2025"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&out);
    let done = events.iter().find(|e| e["event"] == "completed").unwrap();
    let (bucket, key) = (
        done["bucket"].as_str().unwrap(),
        done["key"].as_str().unwrap(),
    );
    assert!(bucket.starts_with("vod-meta-source71e471f1-"));
    let json_key = format!("{}.json", key.strip_suffix(".mp4").unwrap());
    let doc = emu
        .clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(&json_key)
        .send()
        .await
        .unwrap();
    let doc: Value =
        serde_json::from_slice(&doc.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(
        doc["srcVideo"], key,
        "the metadata file names the video's exact key"
    );
    assert_eq!(doc["frameCapture"], true);
    assert_eq!(doc["title"], "Launch Keynote 2025");

    // On a VideoFile stack, --metadata is a mistake that would start no workflow: refused up front.
    create_vod_stack(
        &emu.clients.cloudformation,
        &VodStackSpec::v6("vod-video", "x.cloudfront.net"),
    )
    .await
    .unwrap();
    let out = vodesk(&emu.endpoint, dir.path())
        .args(["upload", "--stack", "vod-video", "--metadata", "title=x"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("WorkflowTrigger=MetadataFile"));
}

/// `--job-template`, `--frame-capture` and `--archive` are `--metadata` pairs by another name: on a
/// MetadataFile stack they end up in the metadata file; given twice, or on a VideoFile stack, they are
/// usage errors, as is a metadata key the solution's dynamo step cannot write.
#[tokio::test(flavor = "multi_thread")]
async fn workflow_override_flags_become_metadata_pairs() {
    use vodesk::contract::stack::WorkflowTrigger;
    use vodesk::local_stack::vod_template::{VodStackSpec, create_vod_stack};
    let emu = fresh_emulator().await;
    let mut spec = VodStackSpec::v6("vod-opts", "d3k5m7n9p1r3t5.cloudfront.net");
    spec.parameters.workflow_trigger = WorkflowTrigger::MetadataFile;
    create_vod_stack(&emu.clients.cloudformation, &spec)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "Town Hall.mp4", 3000, 2);

    let out = vodesk(&emu.endpoint, dir.path())
        .args(["upload", "--stack", "vod-opts", "--json"])
        .args(["--job-template", "vodesk-all-groups-1080p"])
        .args(["--frame-capture", "no", "--archive", "DEEP_ARCHIVE"])
        .args(["--metadata", "title=Town Hall"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = json_lines(&out)
        .into_iter()
        .find(|e| e["event"] == "completed")
        .unwrap();
    let (bucket, key) = (
        done["bucket"].as_str().unwrap().to_owned(),
        done["key"].as_str().unwrap().to_owned(),
    );
    let json_key = format!("{}.json", key.strip_suffix(".mp4").unwrap());
    let doc = emu
        .clients
        .s3
        .get_object()
        .bucket(&bucket)
        .key(&json_key)
        .send()
        .await
        .unwrap();
    let doc: Value =
        serde_json::from_slice(&doc.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({
            "srcVideo": key,
            "title": "Town Hall",
            "jobTemplate": "vodesk-all-groups-1080p",
            "frameCapture": false,
            "archiveSource": "DEEP_ARCHIVE",
        })
    );

    let refused = |args: &[&str]| {
        let out = vodesk(&emu.endpoint, dir.path())
            .args(["upload"])
            .args(args)
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // The same key given both ways.
    let err = refused(&[
        "--stack",
        "vod-opts",
        "--frame-capture",
        "yes",
        "--metadata",
        "FrameCapture=false",
    ]);
    assert!(
        err.contains("--frame-capture") && err.contains("give it once"),
        "{err}"
    );
    // A key the dynamo step would choke on.
    let err = refused(&["--stack", "vod-opts", "--metadata", "name=Town Hall"]);
    assert!(
        err.contains("DynamoDB reserves `name`") && err.contains("videoName"),
        "{err}"
    );
    // Not a choice.
    let err = refused(&["--stack", "vod-opts", "--archive", "DISABLED"]);
    assert!(err.contains("DEEP_ARCHIVE"), "{err}");

    // On a VideoFile stack they would start no workflow: refused as --metadata is.
    create_vod_stack(
        &emu.clients.cloudformation,
        &VodStackSpec::v6("vod-plain", "x.cloudfront.net"),
    )
    .await
    .unwrap();
    for flags in [
        ["--job-template", "custom"],
        ["--frame-capture", "yes"],
        ["--archive", "GLACIER"],
    ] {
        let err = refused(&["--stack", "vod-plain", flags[0], flags[1]]);
        assert!(err.contains("WorkflowTrigger=MetadataFile"), "{err}");
    }
    // Only the first upload reached the bucket: its video and its metadata file.
    let listed = emu
        .clients
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_pauses_the_upload_and_says_how_to_sign_in() {
    let (emu, dir) = emulator_with_bucket().await;
    let path = common::write_file(dir.path(), "clip.mp4", 1000, 1);
    // A profile whose credentials cannot be had, the way an expired SSO session fails.
    let config = dir.path().join("aws-config");
    std::fs::write(
        &config,
        "[profile work]\nregion = us-east-1\ncredential_process = sh -c 'echo \"Error loading SSO Token: Token for work does not exist or has expired\" >&2; exit 1'\n",
    )
    .unwrap();
    let out = vodesk(&emu.endpoint, dir.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .args([
            "--profile",
            "work",
            "upload",
            "--source-bucket",
            BUCKET,
            "--json",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&out);
    let paused = events
        .iter()
        .find(|e| e["event"] == "paused")
        .unwrap_or_else(|| panic!("{events:?}"));
    let reason = paused["reason"].as_str().unwrap();
    assert!(reason.contains("aws sso login --profile work"), "{reason}");
    assert!(reason.contains("vodesk resume 1"), "{reason}");
    let listed = vodesk(&emu.endpoint, dir.path())
        .args(["uploads", "--json"])
        .output()
        .unwrap();
    let uploads: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        uploads[0]["state"], "paused",
        "kept for a resume after signing in"
    );
}
