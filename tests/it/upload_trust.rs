//! One file gives exactly one object, and so one workflow, whatever happens around the upload: a second
//! vodesk process, a crash between CompleteMultipartUpload and the journal, a file rewritten or replaced
//! while it is sent or between two runs, a file name that is not UTF-8. Each test counts the
//! ObjectCreated events the bucket sends (each one starts a paid workflow on AWS), not only bytes.

use crate::common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::common::fresh_emulator;
use crate::common::object_created::ObjectCreatedCounter;
use serde_json::Value;

const BUCKET: &str = "vod-source";
const MIB: u64 = 1 << 20;

/// A fresh emulator with the source bucket (its ObjectCreated events counted), and a folder for
/// files and the journal.
async fn emulator_with_counted_bucket() -> (
    common::FreshEmulator,
    ObjectCreatedCounter,
    tempfile::TempDir,
) {
    let emu = fresh_emulator().await;
    emu.clients
        .s3
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let counter = ObjectCreatedCounter::attach(&emu.clients, BUCKET).await;
    (emu, counter, tempfile::tempdir().unwrap())
}

use crate::common::{completed_key, json_lines, vodesk_with_journal as vodesk};

fn upload(endpoint: &str, data: &Path, file: &Path) -> Output {
    vodesk(endpoint, data)
        .args([
            "upload",
            "--source-bucket",
            BUCKET,
            "--part-size",
            "5MiB",
            "--json",
        ])
        .arg(file)
        .output()
        .unwrap()
}

fn journal_path(data: &Path) -> PathBuf {
    data.join("uploads.sqlite3")
}

/// What a process killed between the object-making request and the journal's "completed" leaves: the
/// upload active again (the request itself was journaled as sent, or not, by `commit_journaled`).
fn rewind_to_before_completion(data: &Path, commit_journaled: bool) {
    let conn = rusqlite::Connection::open(journal_path(data)).unwrap();
    conn.execute(
        "UPDATE uploads SET state = 'active', completed_at = NULL",
        [],
    )
    .unwrap();
    if !commit_journaled {
        // A journal written by a vodesk that did not record the request.
        conn.execute(
            "UPDATE uploads SET commit_sent_at = NULL, object_crc64 = NULL",
            [],
        )
        .unwrap();
    }
}

fn resume_all(endpoint: &str, data: &Path) -> Output {
    vodesk(endpoint, data)
        .args(["resume", "--all", "--json"])
        .output()
        .unwrap()
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn object_count(emu: &common::FreshEmulator) -> i32 {
    emu.clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap()
        .key_count()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_completing_a_multipart_upload_is_settled_from_the_bucket() {
    for commit_journaled in [true, false] {
        let (emu, mut counter, dir) = emulator_with_counted_bucket().await;
        let path = common::write_file(dir.path(), "keynote.mp4", 12 * MIB, 3);
        let first = upload(&emu.endpoint, dir.path(), &path);
        assert_success(&first);
        let key = completed_key(&json_lines(&first));
        rewind_to_before_completion(dir.path(), commit_journaled);

        let out = resume_all(&emu.endpoint, dir.path());
        assert_success(&out);
        let events = json_lines(&out);
        assert!(
            events.iter().any(|e| e["event"] == "completed"),
            "the resume ends completed: {events:?}"
        );
        assert_eq!(
            counter.count(&emu.clients, &key).await,
            1,
            "one file, one workflow (commit journaled: {commit_journaled}): {events:?}"
        );
        assert_eq!(
            common::object_sha256(&emu.clients.s3, BUCKET, &key).await,
            common::sha256(&std::fs::read(&path).unwrap())
        );
        assert_eq!(
            common::open_multipart_uploads(&emu.clients.s3, BUCKET).await,
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_a_single_part_put_is_settled_from_the_bucket() {
    let (emu, mut counter, dir) = emulator_with_counted_bucket().await;
    let path = common::write_file(dir.path(), "teaser.mp4", MIB, 4);
    let first = upload(&emu.endpoint, dir.path(), &path);
    assert_success(&first);
    let key = completed_key(&json_lines(&first));
    rewind_to_before_completion(dir.path(), true);

    let out = resume_all(&emu.endpoint, dir.path());
    assert_success(&out);
    assert_eq!(counter.count(&emu.clients, &key).await, 1);

    // And without the journaled request (an older journal): the conditional PUT finds the object.
    rewind_to_before_completion(dir.path(), false);
    let out = resume_all(&emu.endpoint, dir.path());
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("not written again"), "{stdout}");
    assert_eq!(counter.count(&emu.clients, &key).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_process_leaves_a_running_upload_alone() {
    let (emu, mut counter, dir) = emulator_with_counted_bucket().await;
    let path = common::write_file(dir.path(), "rushes.mp4", 30 * MIB, 5);
    let mut cmd = vodesk(&emu.endpoint, dir.path());
    cmd.args(common::slow_upload_args(BUCKET, 2, "10MiB", &path))
        .stderr(Stdio::null());
    let (mut child, _, lines) = common::spawn_until_confirmed(cmd, 5 * MIB);

    // `vodesk resume --all` in another process while the first one sends.
    let out = resume_all(&emu.endpoint, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("left alone"), "{stderr}");
    assert!(
        !json_lines(&out).iter().any(|e| e["event"] == "started"),
        "the second process sent nothing"
    );
    // The journal listing says who sends it.
    let listed = vodesk(&emu.endpoint, dir.path())
        .args(["uploads", "--json"])
        .output()
        .unwrap();
    let uploads: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(
        uploads[0]["running_elsewhere"]
            .as_str()
            .is_some_and(|h| h.contains(&child.id().to_string())),
        "{uploads}"
    );

    let rest: Vec<Value> = lines
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    assert!(child.wait().unwrap().success());
    let key = completed_key(&rest);
    assert_eq!(counter.count(&emu.clients, &key).await, 1);
    let listed = vodesk(&emu.endpoint, dir.path())
        .args(["uploads", "--json"])
        .output()
        .unwrap();
    let uploads: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(uploads[0]["state"], "completed", "{uploads}");
}

/// How a test changes a file while it is being sent.
#[derive(Debug, Clone, Copy)]
enum Mutation {
    /// Same size, other bytes, in a part not sent yet.
    Rewrite,
    /// Bytes appended (a recording still being written).
    Grow,
    /// Cut short.
    Shrink,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_changed_while_it_is_sent_is_not_completed() {
    for mutation in [Mutation::Rewrite, Mutation::Grow, Mutation::Shrink] {
        let (emu, mut counter, dir) = emulator_with_counted_bucket().await;
        let path = common::write_file(dir.path(), "live.mp4", 25 * MIB, 6);
        let mut cmd = vodesk(&emu.endpoint, dir.path());
        cmd.args(common::slow_upload_args(BUCKET, 1, "10MiB", &path))
            .stderr(Stdio::piped());
        let (mut child, _, lines) = common::spawn_until_confirmed(cmd, 5 * MIB);
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        match mutation {
            Mutation::Rewrite => file
                .write_all_at(&vec![0xAB; MIB as usize], 20 * MIB)
                .unwrap(),
            Mutation::Grow => file
                .write_all_at(&vec![0xCD; MIB as usize], 25 * MIB)
                .unwrap(),
            Mutation::Shrink => file.set_len(18 * MIB).unwrap(),
        }
        drop(file);

        let events: Vec<Value> = lines
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect();
        let status = child.wait().unwrap();
        assert!(!status.success(), "{mutation:?}");
        let failed = events
            .iter()
            .find(|e| e["event"] == "failed")
            .unwrap_or_else(|| panic!("{mutation:?}: a failed event: {events:?}"));
        let error = failed["error"].as_str().unwrap_or_default();
        match mutation {
            // A part past the new end cannot be read at all.
            Mutation::Shrink => assert!(
                error.contains("changed while it was being sent") || error.contains("ended"),
                "{mutation:?}: {failed}"
            ),
            _ => assert!(
                error.contains("changed while it was being sent"),
                "{mutation:?}: {failed}"
            ),
        }
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
        }
        assert!(!stderr.is_empty(), "{mutation:?}: the error is said");
        assert_eq!(
            object_count(&emu).await,
            0,
            "{mutation:?}: no object, so no workflow"
        );
        assert!(
            counter
                .keys(&emu.clients, std::time::Duration::from_secs(2))
                .await
                .is_empty(),
            "{mutation:?}"
        );

        // When the file is final, --restart sends it whole: one object, the new content.
        let out = vodesk(&emu.endpoint, dir.path())
            .args(["resume", "--all", "--restart", "--json"])
            .output()
            .unwrap();
        assert_success(&out);
        let key = completed_key(&json_lines(&out));
        assert_eq!(
            common::object_sha256(&emu.clients.s3, BUCKET, &key).await,
            common::sha256(&std::fs::read(&path).unwrap()),
            "{mutation:?}"
        );
        assert_eq!(counter.count(&emu.clients, &key).await, 1, "{mutation:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_deleted_while_it_is_sent_still_uploads_whole() {
    let (emu, mut counter, dir) = emulator_with_counted_bucket().await;
    let path = common::write_file(dir.path(), "card.mp4", 20 * MIB, 12);
    let original = common::sha256(&std::fs::read(&path).unwrap());
    let mut cmd = vodesk(&emu.endpoint, dir.path());
    cmd.args(common::slow_upload_args(BUCKET, 1, "10MiB", &path))
        .stderr(Stdio::null());
    let (mut child, _, lines) = common::spawn_until_confirmed(cmd, 5 * MIB);
    // The card is "cleaned" while the upload runs: the open file keeps its bytes until it is done.
    std::fs::remove_file(&path).unwrap();
    let events: Vec<Value> = lines
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    assert!(child.wait().unwrap().success(), "{events:?}");
    let key = completed_key(&events);
    assert_eq!(
        common::object_sha256(&emu.clients.s3, BUCKET, &key).await,
        original,
        "nothing lost"
    );
    assert_eq!(counter.count(&emu.clients, &key).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_replaced_under_its_name_while_sent_uploads_the_original() {
    let (emu, mut counter, dir) = emulator_with_counted_bucket().await;
    let path = common::write_file(dir.path(), "master.mov", 20 * MIB, 7);
    let original = common::sha256(&std::fs::read(&path).unwrap());
    let mut cmd = vodesk(&emu.endpoint, dir.path());
    cmd.args(common::slow_upload_args(BUCKET, 1, "10MiB", &path))
        .stderr(Stdio::null());
    let (mut child, _, lines) = common::spawn_until_confirmed(cmd, 5 * MIB);
    // An editor's "save": a new file renamed over the old name.
    let replacement = common::write_file(dir.path(), "master.mov.tmp", 20 * MIB, 8);
    std::fs::rename(&replacement, &path).unwrap();

    let events: Vec<Value> = lines
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    assert!(child.wait().unwrap().success(), "{events:?}");
    let key = completed_key(&events);
    assert_eq!(
        common::object_sha256(&emu.clients.s3, BUCKET, &key).await,
        original,
        "every part comes from the file the upload opened"
    );
    assert_eq!(counter.count(&emu.clients, &key).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rewrite_in_place_between_runs_sends_the_changed_parts_again() {
    let (emu, mut counter, dir) = emulator_with_counted_bucket().await;
    let path = common::write_file(dir.path(), "edit.mp4", 20 * MIB, 9);
    let mut cmd = vodesk(&emu.endpoint, dir.path());
    cmd.args(common::slow_upload_args(BUCKET, 1, "10MiB", &path))
        .stderr(Stdio::null());
    let (mut child, confirmed, _) = common::spawn_until_confirmed(cmd, 5 * MIB);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(confirmed >= 5 * MIB);

    // Rewritten where the identity's samples do not look, with the modification time kept (as a copy
    // tool that preserves times would leave it).
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    // One MiB inside each 5 MiB part, whichever of them were confirmed before the kill.
    for offset in [2, 7, 12, 17] {
        file.write_all_at(&vec![0x5A; MIB as usize], offset * MIB)
            .unwrap();
    }
    file.set_modified(modified).unwrap();
    drop(file);

    let out = resume_all(&emu.endpoint, dir.path());
    assert_success(&out);
    let events = json_lines(&out);
    assert!(
        events.iter().any(|e| e["event"] == "note"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("no longer match"))),
        "{events:?}"
    );
    let key = completed_key(&events);
    assert_eq!(
        common::object_sha256(&emu.clients.s3, BUCKET, &key).await,
        common::sha256(&std::fs::read(&path).unwrap()),
        "the object is the file as it is now, never a mix"
    );
    assert_eq!(counter.count(&emu.clients, &key).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_name_that_is_not_utf8_uploads_and_resumes() {
    let (emu, mut counter, dir) = emulator_with_counted_bucket().await;
    // "café clip.mp4" in Latin-1, as an old camera card or a Windows share may name it.
    let name = OsStr::from_bytes(b"caf\xe9 clip.mp4");
    let path = dir.path().join(name);
    let seed_path = common::write_file(dir.path(), "seed.mp4", 12 * MIB, 10);
    std::fs::rename(&seed_path, &path).unwrap();

    let mut cmd = vodesk(&emu.endpoint, dir.path());
    cmd.args(common::slow_upload_args(BUCKET, 1, "10MiB", &path))
        .stderr(Stdio::null());
    let (mut child, _, _) = common::spawn_until_confirmed(cmd, 5 * MIB);
    child.kill().unwrap();
    child.wait().unwrap();

    let out = resume_all(&emu.endpoint, dir.path());
    assert_success(&out);
    let events = json_lines(&out);
    let key = completed_key(&events);
    assert_eq!(
        common::object_sha256(&emu.clients.s3, BUCKET, &key).await,
        common::sha256(&std::fs::read(&path).unwrap())
    );
    assert_eq!(counter.count(&emu.clients, &key).await, 1);
    // The listing shows the name readably.
    let listed = vodesk(&emu.endpoint, dir.path())
        .args(["uploads"])
        .output()
        .unwrap();
    assert_success(&listed);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.lines().any(|l| l.contains("completed")), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_read_back_check_completes_the_upload_without_sending_it_again() {
    use common::fault_proxy::{ErrorReply, Fault, FaultProxy, Matcher, RequestKind, Rule};
    for (name, size) in [("board.mp4", 12 * MIB), ("sting.mp4", MIB)] {
        let (emu, mut counter, dir) = emulator_with_counted_bucket().await;
        // The solution's policy makes s3:GetObject optional (contract §9): HeadObject is refused.
        let proxy = FaultProxy::for_endpoint(&emu.endpoint);
        proxy.add(Rule::always(
            Matcher::kind(RequestKind::HeadObject),
            Fault::Respond(ErrorReply {
                status: 403,
                reason: "Forbidden",
                code: "AccessDenied",
                message: "Access Denied",
            }),
        ));
        let path = common::write_file(dir.path(), name, size, 11);
        let out = upload(&proxy.endpoint(), dir.path(), &path);
        assert_success(&out);
        let events = json_lines(&out);
        let completed = events
            .iter()
            .find(|e| e["event"] == "completed")
            .unwrap_or_else(|| panic!("{events:?}"));
        assert_eq!(completed["verified"], false, "{completed}");
        assert!(
            events.iter().any(|e| e["event"] == "note"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("not verified"))),
            "said plainly: {events:?}"
        );
        let key = completed_key(&events);

        let again = resume_all(&proxy.endpoint(), dir.path());
        assert_success(&again);
        assert!(
            json_lines(&again).is_empty(),
            "nothing left to resume: {}",
            String::from_utf8_lossy(&again.stdout)
        );
        assert_eq!(counter.count(&emu.clients, &key).await, 1, "{name}");
        assert_eq!(
            common::object_sha256(&emu.clients.s3, BUCKET, &key).await,
            common::sha256(&std::fs::read(&path).unwrap())
        );
    }
}

/// Where a crash trial kills the first run.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// After a random delay into the upload.
    Random,
    /// While CompleteMultipartUpload is on its way, before the server has it.
    DuringComplete,
    /// After the server completed the object, before vodesk heard back.
    AfterComplete,
}

/// The bytes of part `n` of a file of `size` bytes cut in `part`-byte parts.
fn part_len(n: u64, size: u64, part: u64) -> u64 {
    part.min(size.saturating_sub((n - 1) * part))
}

/// kill -9 at random moments of a multipart upload, and during and right after its
/// CompleteMultipartUpload, each followed by `vodesk resume`: the object is byte-identical, the file
/// started exactly one workflow, and at most concurrency × part size was sent twice. Long: run by
/// `scripts/reliability` (`VODESK_CRASH_TRIALS`, default 20).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "long: scripts/reliability runs it"]
async fn crash_trials_never_lose_or_duplicate_an_upload() {
    use common::fault_proxy::{Direction, Fault, FaultProxy, Matcher, RequestKind, Rule};
    use rand::Rng;
    use std::time::Duration;
    const SIZE: u64 = 24 * MIB;
    const PART: u64 = 5 * MIB;
    const CONCURRENCY: u64 = 2;
    let trials: usize = std::env::var("VODESK_CRASH_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let mut resent = Vec::new();
    let mut rng = rand::rng();
    for trial in 0..trials {
        let kill_at = match trial % 4 {
            1 => KillAt::DuringComplete,
            3 => KillAt::AfterComplete,
            _ => KillAt::Random,
        };
        let (emu, mut counter, dir) = emulator_with_counted_bucket().await;
        let proxy = FaultProxy::for_endpoint(&emu.endpoint);
        let complete = Matcher::kind(RequestKind::CompleteMultipartUpload);
        match kill_at {
            KillAt::DuringComplete => proxy.add(Rule::once(
                complete,
                Fault::Stall {
                    direction: Direction::Request,
                    after_request_bytes: 0,
                    duration: Duration::from_secs(30),
                },
            )),
            KillAt::AfterComplete => proxy.add(Rule::once(
                complete,
                Fault::Stall {
                    direction: Direction::Response,
                    after_request_bytes: 0,
                    duration: Duration::from_secs(30),
                },
            )),
            KillAt::Random => {}
        }
        let path = common::write_file(dir.path(), "trial.mp4", SIZE, trial as u8);
        let mut child = vodesk(&proxy.endpoint(), dir.path())
            .args(common::slow_upload_args(
                BUCKET,
                CONCURRENCY as u32,
                "16MiB",
                &path,
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        match kill_at {
            KillAt::Random => {
                let delay = rng.random_range(50..1900);
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            _ => {
                // Until the Complete is in the proxy's hands (and, after, in the server's).
                let deadline = std::time::Instant::now() + Duration::from_secs(20);
                while proxy.stats().count(RequestKind::CompleteMultipartUpload) == 0 {
                    assert!(std::time::Instant::now() < deadline, "no Complete was sent");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        proxy.clear_rules();

        let out = resume_all(&proxy.endpoint(), dir.path());
        assert_success(&out);
        let listed = vodesk(&emu.endpoint, dir.path())
            .args(["uploads", "--json"])
            .output()
            .unwrap();
        let uploads: Value = serde_json::from_slice(&listed.stdout).unwrap();
        let Some(key) = uploads[0]["key"].as_str().map(str::to_owned) else {
            // Killed before the upload was even journaled: nothing was sent, nothing started.
            assert_eq!(object_count(&emu).await, 0, "trial {trial}");
            assert!(
                counter
                    .keys(&emu.clients, Duration::from_secs(1))
                    .await
                    .is_empty()
            );
            resent.push(0);
            eprintln!("crash trial {trial} ({kill_at:?}): killed before journaling, nothing sent");
            continue;
        };
        assert_eq!(
            uploads[0]["state"], "completed",
            "trial {trial} ({kill_at:?}): {uploads}"
        );
        assert_eq!(
            common::object_sha256(&emu.clients.s3, BUCKET, &key).await,
            common::sha256(&std::fs::read(&path).unwrap()),
            "trial {trial} ({kill_at:?})"
        );
        assert_eq!(
            counter.count(&emu.clients, &key).await,
            1,
            "trial {trial} ({kill_at:?}): one file, one workflow"
        );
        assert_eq!(
            common::open_multipart_uploads(&emu.clients.s3, BUCKET).await,
            0
        );
        let sent: u64 = proxy
            .stats()
            .requests
            .iter()
            .filter(|r| r.kind == RequestKind::UploadPart)
            .filter_map(|r| {
                let number = r.target.split("partNumber=").nth(1)?;
                let number: u64 = number.split('&').next()?.parse().ok()?;
                Some(part_len(number, SIZE, PART))
            })
            .sum();
        let again = sent.saturating_sub(SIZE);
        assert!(
            again <= CONCURRENCY * PART,
            "trial {trial} ({kill_at:?}): {again} bytes sent twice"
        );
        resent.push(again);
        eprintln!("crash trial {trial} ({kill_at:?}): re-sent {again} bytes, one workflow");
    }
    resent.sort_unstable();
    eprintln!(
        "crash trials: {trials} passed; bytes re-sent per trial: max {} MiB, median {} MiB (bound {} MiB)",
        resent.last().copied().unwrap_or(0) as f64 / MIB as f64,
        resent.get(resent.len() / 2).copied().unwrap_or(0) as f64 / MIB as f64,
        CONCURRENCY * PART / MIB
    );
}
