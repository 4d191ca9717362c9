//! Uploads against a strict S3 server (s3s-fs: real SigV4 and payload-hash checks, PutObject checksums
//! verified): what passes moto must also pass a server that checks what it is sent.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::strict_s3::StrictS3;
use serde_json::Value;
use tokio::sync::mpsc;
use vodesk::aws::upload::fingerprint;
use vodesk::aws::upload::journal::{Journal, UploadTarget};
use vodesk::aws::upload::plan;
use vodesk::aws::upload::uploader::{Outcome, UploadControl, Uploader, UploaderConfig};

const BUCKET: &str = "strict-source";
const MIB: u64 = 1 << 20;

async fn upload(
    server: &StrictS3,
    journal: &Journal,
    path: &Path,
    key: &str,
    part_size: Option<u64>,
) -> Outcome {
    upload_signed(server, journal, path, key, part_size, true).await
}

async fn upload_signed(
    server: &StrictS3,
    journal: &Journal,
    path: &Path,
    key: &str,
    part_size: Option<u64>,
    sign_payload: bool,
) -> Outcome {
    let clients = server.clients().await;
    let identity = fingerprint::identify(path).unwrap();
    let plan = plan::plan(identity.size, part_size).unwrap();
    let target = UploadTarget {
        endpoint_url: Some(server.endpoint.clone()),
        region: "us-east-1".into(),
        profile: None,
        bucket: BUCKET.into(),
        key: key.into(),
        part_size: plan.part_size,
        part_count: plan.part_count,
        multipart: plan.multipart,
        metadata_document: None,
    };
    let id = journal
        .create(path, "clip.mp4", &identity, &target)
        .unwrap();
    let (tx, _rx) = mpsc::unbounded_channel();
    let config = UploaderConfig {
        concurrency: 4,
        max_attempts: 2,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
        sign_payload,
        ..Default::default()
    };
    Uploader::new(clients.s3, journal.clone(), config, None, tx)
        .run(id, &UploadControl::default(), false)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn single_put_checksum_is_verified_by_the_server_and_read_back() {
    let server = StrictS3::start();
    server.create_bucket(BUCKET).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
    let path = common::write_file(dir.path(), "clip.mp4", 3 * MIB + 7, 2);
    let outcome = upload(&server, &journal, &path, "uploads/a/clip.mp4", None).await;
    // s3s-fs checked the CRC64NVME header against the body, stored it, and reports it back.
    assert_eq!(outcome, Outcome::Completed { verified: true });
    assert_eq!(
        common::object_sha256(&server.clients().await.s3, BUCKET, "uploads/a/clip.mp4").await,
        common::sha256(&std::fs::read(&path).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_upload_passes_signature_and_payload_checks_and_reads_back_identical() {
    let server = StrictS3::start();
    server.create_bucket(BUCKET).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
    let path = common::write_file(dir.path(), "long.mp4", 23 * MIB + 999, 2);
    let outcome = upload(
        &server,
        &journal,
        &path,
        "uploads/b/long.mp4",
        Some(5 * MIB),
    )
    .await;
    // s3s-fs keeps no checksum for multipart objects, so the size is what could be compared.
    assert_eq!(outcome, Outcome::Completed { verified: false });
    assert_eq!(
        common::object_sha256(&server.clients().await.s3, BUCKET, "uploads/b/long.mp4").await,
        common::sha256(&std::fs::read(&path).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_fail_with_the_servers_reason() {
    let server = StrictS3::start();
    server.create_bucket(BUCKET).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
    let path = common::write_file(dir.path(), "clip.mp4", 1000, 2);
    let clients = server
        .clients_with(&server.access_key, "not-the-secret")
        .await;
    let identity = fingerprint::identify(&path).unwrap();
    let target = UploadTarget {
        endpoint_url: Some(server.endpoint.clone()),
        region: "us-east-1".into(),
        profile: None,
        bucket: BUCKET.into(),
        key: "k.mp4".into(),
        part_size: 1000,
        part_count: 1,
        multipart: false,
        metadata_document: None,
    };
    let id = journal
        .create(&path, "clip.mp4", &identity, &target)
        .unwrap();
    let (tx, _rx) = mpsc::unbounded_channel();
    let outcome = Uploader::new(clients.s3, journal, UploaderConfig::default(), None, tx)
        .run(id, &UploadControl::default(), false)
        .await;
    let Outcome::Failed { error } = outcome else {
        panic!("expected a failure, got {outcome:?}")
    };
    assert!(error.contains("SignatureDoesNotMatch"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_cli_upload_resumes_against_the_strict_server() {
    let server = StrictS3::start();
    server.create_bucket(BUCKET).await;
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "keynote.mp4", 30 * MIB, 2);
    let vodesk = || {
        let mut cmd = common::vodesk_against(&server.endpoint);
        cmd.env("AWS_ACCESS_KEY_ID", &server.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &server.secret_key)
            .env("VODESK_DATA_DIR", dir.path());
        cmd
    };
    let mut cmd = vodesk();
    cmd.args(common::slow_upload_args(BUCKET, 2, "8MiB", &path))
        .stderr(Stdio::null());
    let (mut child, confirmed, _) = common::spawn_until_confirmed(cmd, 10 * MIB);
    child.kill().unwrap();
    child.wait().unwrap();

    let out = vodesk()
        .args(["resume", "--all", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let started = events.iter().find(|e| e["event"] == "started").unwrap();
    assert!(
        started["already_confirmed"].as_u64().unwrap() >= confirmed,
        "{started}"
    );
    let done = events.iter().find(|e| e["event"] == "completed").unwrap();
    let key = done["key"].as_str().unwrap();
    assert_eq!(
        common::object_sha256(&server.clients().await.s3, BUCKET, key).await,
        common::sha256(&std::fs::read(&path).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_payloads_as_sent_over_https_are_accepted_and_checksummed() {
    let server = StrictS3::start();
    server.create_bucket(BUCKET).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
    let small = common::write_file(dir.path(), "small.mp4", 2 * MIB, 2);
    let outcome = upload_signed(&server, &journal, &small, "u/small.mp4", None, false).await;
    assert_eq!(
        outcome,
        Outcome::Completed { verified: true },
        "the CRC64NVME header alone carries integrity"
    );
    let large = common::write_file(dir.path(), "large.mp4", 12 * MIB, 2);
    let outcome = upload_signed(
        &server,
        &journal,
        &large,
        "u/large.mp4",
        Some(5 * MIB),
        false,
    )
    .await;
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome:?}");
    assert_eq!(
        common::object_sha256(&server.clients().await.s3, BUCKET, "u/large.mp4").await,
        common::sha256(&std::fs::read(&large).unwrap())
    );
}
