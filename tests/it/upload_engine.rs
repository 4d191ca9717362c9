//! The upload engine against the emulator: single and multipart uploads that read back byte-identical,
//! pause and resume, cancel leaving nothing behind, a changed file refused, a vanished multipart upload
//! started over, and a part confirmed by the server but missing from the journal (crash) not sent again.

use crate::common;

use std::path::Path;
use std::time::Duration;

use crate::common::{FreshEmulator, fresh_emulator};
use aws_sdk_s3::types::ChecksumAlgorithm;
use tokio::sync::mpsc;
use vodesk::aws::upload::events::UploadEvent;
use vodesk::aws::upload::fingerprint;
use vodesk::aws::upload::journal::{Journal, UploadState, UploadTarget};
use vodesk::aws::upload::plan;
use vodesk::aws::upload::uploader::{
    ORIGINAL_NAME_METADATA, Outcome, UploadControl, Uploader, UploaderConfig,
};

const BUCKET: &str = "vod-source";
const MIB: u64 = 1 << 20;

struct Setup {
    emu: FreshEmulator,
    dir: tempfile::TempDir,
    journal: Journal,
}

async fn setup() -> Setup {
    let emu = fresh_emulator().await;
    emu.clients
        .s3
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.sqlite3")).unwrap();
    Setup { emu, dir, journal }
}

fn config() -> UploaderConfig {
    UploaderConfig {
        concurrency: 4,
        limit_rate: None,
        max_attempts: 3,
        base_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        sign_payload: true, // the emulator speaks plain HTTP
    }
}

impl Setup {
    fn enqueue(&self, path: &Path, key: &str, part_size: Option<u64>) -> i64 {
        let identity = fingerprint::identify(path).unwrap();
        let plan = plan::plan(identity.size, part_size).unwrap();
        let target = UploadTarget {
            endpoint_url: Some(self.emu.endpoint.clone()),
            region: common::REGION.into(),
            profile: None,
            bucket: BUCKET.into(),
            key: key.into(),
            part_size: plan.part_size,
            part_count: plan.part_count,
            multipart: plan.multipart,
            metadata_document: None,
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        self.journal
            .create(path, &name, &identity, &target)
            .unwrap()
    }

    fn uploader(&self, config: UploaderConfig) -> (Uploader, mpsc::UnboundedReceiver<UploadEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Uploader::new(
                self.emu.clients.s3.clone(),
                self.journal.clone(),
                config,
                None,
                tx,
            ),
            rx,
        )
    }

    async fn download(&self, key: &str) -> Vec<u8> {
        let out = self
            .emu
            .clients
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        out.body.collect().await.unwrap().into_bytes().to_vec()
    }

    /// Runs upload `id` slowly (one part at a time, 5 MiB/s) and pauses it once `bytes` are confirmed.
    async fn run_until_paused(&self, id: i64, bytes: u64) -> Outcome {
        let slow = UploaderConfig {
            concurrency: 1,
            limit_rate: Some(5 * MIB),
            ..config()
        };
        let (uploader, mut rx) = self.uploader(slow);
        let control = UploadControl::default();
        let run = {
            let control = control.clone();
            tokio::spawn(async move { uploader.run(id, &control, false).await })
        };
        while let Some(event) = rx.recv().await {
            if let UploadEvent::Progress { confirmed, .. } = event
                && confirmed >= bytes
            {
                control.pause();
                break;
            }
        }
        run.await.unwrap()
    }

    async fn open_multipart_uploads(&self) -> usize {
        common::open_multipart_uploads(&self.emu.clients.s3, BUCKET).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn small_file_is_one_put_and_reads_back_identical() {
    let s = setup().await;
    let path = common::write_file(s.dir.path(), "Café clip.mp4", 300_000, 1);
    let id = s.enqueue(&path, "uploads/x/Cafe-clip.mp4", None);
    let (uploader, mut rx) = s.uploader(config());
    let outcome = uploader.run(id, &UploadControl::default(), false).await;
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome:?}");

    let stored = s.download("uploads/x/Cafe-clip.mp4").await;
    assert_eq!(
        common::sha256(&stored),
        common::sha256(&std::fs::read(&path).unwrap())
    );
    let head = s
        .emu
        .clients
        .s3
        .head_object()
        .bucket(BUCKET)
        .key("uploads/x/Cafe-clip.mp4")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.metadata()
            .unwrap()
            .get(ORIGINAL_NAME_METADATA)
            .map(String::as_str),
        Some("Caf%C3%A9 clip.mp4")
    );
    assert_eq!(head.content_type(), Some("video/mp4"));
    assert_eq!(s.journal.get(id).unwrap().state, UploadState::Completed);

    let mut saw_completed = false;
    while let Ok(event) = rx.try_recv() {
        if let UploadEvent::Completed { size, .. } = event {
            assert_eq!(size, 300_000);
            saw_completed = true;
        }
    }
    assert!(saw_completed);
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_file_reads_back_identical_and_leaves_no_open_upload() {
    let s = setup().await;
    let path = common::write_file(s.dir.path(), "long.mov", 17 * MIB + 12_345, 2);
    let id = s.enqueue(&path, "uploads/y/long.mov", Some(5 * MIB));
    assert_eq!(s.journal.get(id).unwrap().target.part_count, 4);
    let (uploader, mut rx) = s.uploader(config());
    let outcome = uploader.run(id, &UploadControl::default(), false).await;
    // verified: the server's full-object CRC64NVME equals the one combined from the parts' CRCs.
    assert_eq!(outcome, Outcome::Completed { verified: true });
    assert_eq!(
        common::sha256(&s.download("uploads/y/long.mov").await),
        common::sha256(&std::fs::read(&path).unwrap())
    );
    assert_eq!(s.open_multipart_uploads().await, 0);

    // Progress is monotonic and ends at the file size.
    let mut last = 0;
    while let Ok(event) = rx.try_recv() {
        if let UploadEvent::Progress {
            confirmed, size, ..
        } = event
        {
            assert!(confirmed >= last && confirmed <= size);
            last = confirmed;
        }
    }
    assert_eq!(last, 17 * MIB + 12_345);
}

#[tokio::test(flavor = "multi_thread")]
async fn pause_keeps_confirmed_parts_and_resume_sends_only_the_rest() {
    let s = setup().await;
    let size = 30 * MIB;
    let path = common::write_file(s.dir.path(), "pause.mp4", size, 3);
    let id = s.enqueue(&path, "uploads/p/pause.mp4", Some(5 * MIB));
    let outcome = s.run_until_paused(id, 10 * MIB).await;
    assert!(matches!(outcome, Outcome::Paused { .. }), "{outcome:?}");
    assert_eq!(s.journal.get(id).unwrap().state, UploadState::Paused);
    let kept = s.journal.parts(id).unwrap();
    assert!(
        kept.len() >= 2 && kept.len() < 6,
        "{} parts kept",
        kept.len()
    );
    assert_eq!(
        s.open_multipart_uploads().await,
        1,
        "the multipart upload stays open while paused"
    );

    let (uploader, mut rx) = s.uploader(config());
    let outcome = uploader.run(id, &UploadControl::default(), false).await;
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome:?}");
    let mut resumed_from = None;
    while let Ok(event) = rx.try_recv() {
        if let UploadEvent::Started {
            already_confirmed, ..
        } = event
        {
            resumed_from = Some(already_confirmed);
        }
    }
    assert_eq!(resumed_from, Some(kept.iter().map(|p| p.size).sum::<u64>()));
    assert_eq!(
        common::sha256(&s.download("uploads/p/pause.mp4").await),
        common::sha256(&std::fs::read(&path).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_aborts_the_multipart_upload_and_forgets_it() {
    let s = setup().await;
    let path = common::write_file(s.dir.path(), "cancel.mp4", 20 * MIB, 4);
    let id = s.enqueue(&path, "uploads/c/cancel.mp4", Some(5 * MIB));
    let slow = UploaderConfig {
        concurrency: 1,
        limit_rate: Some(5 * MIB),
        ..config()
    };
    let (uploader, mut rx) = s.uploader(slow);
    let control = UploadControl::default();
    let run = {
        let uploader = uploader.clone();
        let control = control.clone();
        tokio::spawn(async move { uploader.run(id, &control, false).await })
    };
    while let Some(event) = rx.recv().await {
        if matches!(event, UploadEvent::Progress { .. }) {
            control.cancel();
            break;
        }
    }
    assert_eq!(run.await.unwrap(), Outcome::Cancelled);
    assert_eq!(s.open_multipart_uploads().await, 0);
    assert!(
        s.journal.get(id).is_err(),
        "cancelled uploads are forgotten"
    );
    let listed = s
        .emu
        .clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_changed_since_the_start_is_refused_unless_restarted() {
    let s = setup().await;
    let path = common::write_file(s.dir.path(), "changed.mp4", 12 * MIB, 5);
    let id = s.enqueue(&path, "uploads/ch/changed.mp4", Some(5 * MIB));
    let outcome = s.run_until_paused(id, 5 * MIB).await;
    assert!(matches!(outcome, Outcome::Paused { .. }), "{outcome:?}");
    assert_eq!(s.open_multipart_uploads().await, 1);
    let (uploader, _rx) = s.uploader(config());

    common::write_file(s.dir.path(), "changed.mp4", 13 * MIB, 6);
    let outcome = uploader.run(id, &UploadControl::default(), false).await;
    let Outcome::Failed { error } = outcome else {
        panic!("expected a refusal, got {outcome:?}")
    };
    assert!(
        error.contains("changed since its upload started"),
        "{error}"
    );
    assert!(
        error.contains(&format!("vodesk resume {id} --restart")),
        "{error}"
    );

    let outcome = uploader.run(id, &UploadControl::default(), true).await;
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome:?}");
    assert_eq!(
        common::sha256(&s.download("uploads/ch/changed.mp4").await),
        common::sha256(&std::fs::read(&path).unwrap())
    );
    assert_eq!(
        s.open_multipart_uploads().await,
        0,
        "the old multipart upload was aborted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vanished_multipart_upload_is_started_over_and_said_so() {
    let s = setup().await;
    let path = common::write_file(s.dir.path(), "gone.mp4", 11 * MIB, 7);
    let id = s.enqueue(&path, "uploads/g/gone.mp4", Some(5 * MIB));
    // Create the multipart upload as an earlier run would have, then let "a lifecycle rule" abort it.
    let created = s
        .emu
        .clients
        .s3
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("uploads/g/gone.mp4")
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .send()
        .await
        .unwrap();
    let upload_id = created.upload_id().unwrap();
    s.journal.set_upload_id(id, Some(upload_id)).unwrap();
    s.emu
        .clients
        .s3
        .abort_multipart_upload()
        .bucket(BUCKET)
        .key("uploads/g/gone.mp4")
        .upload_id(upload_id)
        .send()
        .await
        .unwrap();

    let (uploader, mut rx) = s.uploader(config());
    let outcome = uploader.run(id, &UploadControl::default(), false).await;
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome:?}");
    let mut notes = Vec::new();
    while let Ok(event) = rx.try_recv() {
        if let UploadEvent::Note { message, .. } = event {
            notes.push(message);
        }
    }
    assert!(
        notes
            .iter()
            .any(|n| n.contains("no longer has this multipart upload")),
        "{notes:?}"
    );
    assert_ne!(
        s.journal.get(id).unwrap().upload_id.as_deref(),
        Some(upload_id)
    );
    assert_eq!(
        common::sha256(&s.download("uploads/g/gone.mp4").await),
        common::sha256(&std::fs::read(&path).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_is_retried_until_it_comes_back() {
    use vodesk::aws::connection::{AwsClients, ConnectionSettings};
    // The server (with its bucket) is up, but the port the upload talks to has nothing behind it yet:
    // the network is "down" when the upload starts. A forwarder started later brings it "back".
    let s = setup().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let endpoint = format!("http://127.0.0.1:{port}");
    let path = common::write_file(s.dir.path(), "outage.mp4", 11 * MIB, 9);
    let identity = fingerprint::identify(&path).unwrap();
    let plan = plan::plan(identity.size, Some(5 * MIB)).unwrap();
    let target = UploadTarget {
        endpoint_url: Some(endpoint.clone()),
        region: common::REGION.into(),
        profile: None,
        bucket: BUCKET.into(),
        key: "uploads/o/outage.mp4".into(),
        part_size: plan.part_size,
        part_count: plan.part_count,
        multipart: plan.multipart,
        metadata_document: None,
    };
    let id = s
        .journal
        .create(&path, "outage.mp4", &identity, &target)
        .unwrap();
    let clients = AwsClients::connect(&ConnectionSettings::emulator(&endpoint, common::REGION))
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let patient = UploaderConfig {
        max_attempts: 12,
        base_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_millis(1500),
        ..config()
    };
    let uploader = Uploader::new(clients.s3.clone(), s.journal.clone(), patient, None, tx);
    let run = tokio::spawn(async move { uploader.run(id, &UploadControl::default(), false).await });

    // While the network is down the upload keeps trying, and says so, instead of failing.
    let told = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(event) = rx.recv().await {
            if let UploadEvent::Note { message, .. } = event
                && message.contains("retrying in")
            {
                return Some(message);
            }
        }
        None
    })
    .await
    .expect("a retry note within a minute");
    assert!(told.is_some(), "the user is told the upload is retrying");
    assert!(
        !run.is_finished(),
        "the upload waits for the network instead of failing"
    );

    let upstream = s.emu.endpoint.trim_start_matches("http://").to_owned();
    let forwarder = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let forwarding = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = forwarder.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await
                    && tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                        .await
                        .is_err()
                {
                    // A side hung up mid-copy: that connection is over, as a real network would do.
                }
            });
        }
    });

    let outcome = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome:?}");
    assert_eq!(
        common::sha256(&s.download("uploads/o/outage.mp4").await),
        common::sha256(&std::fs::read(&path).unwrap())
    );
    forwarding.abort();
}
