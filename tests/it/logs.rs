//! The log file: `vodesk` writes vodesk's debug lines to a file in `VODESK_LOG_DIR` (the platform's
//! state folder otherwise), and no log, file or terminal, holds the secret key, the session token or a
//! presigned URL's signature, not even at `-vv`; no `--json` output holds the secret key. (A presigned
//! URL made with temporary credentials carries the session token by design: it is what the person
//! uploading needs.)

use std::path::Path;

use crate::common::{fresh_emulator, vod_stack, vodesk_with_journal, write_file};

const SECRET: &str = "vodeskTestSecretKey0123456789ABCDEFGHIJ";
const TOKEN: &str = "vodeskTestSessionToken0123456789abcdefgh";

fn run(endpoint: &str, dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = vodesk_with_journal(endpoint, &dir.join("data"));
    cmd.env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env(vodesk::logs::LOG_DIR_ENV, dir.join("logs"))
        .env("RUST_LOG", "trace")
        .args(["-vv", "--stack", "vod-logs"])
        .args(args);
    let out = cmd.output().expect("run vodesk");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_log_file_the_terminal_or_json_output() {
    let emu = fresh_emulator().await;
    vod_stack(&emu.clients, "vod-logs").await;
    let dir = tempfile::tempdir().unwrap();
    let video = write_file(dir.path(), "clip.mp4", 200_000, 9);
    let video = video.to_str().unwrap();
    let outputs = [
        run(&emu.endpoint, dir.path(), &["upload", "--json", video]),
        run(&emu.endpoint, dir.path(), &["list", "--json"]),
        run(
            &emu.endpoint,
            dir.path(),
            &["presign", "later.mp4", "--json"],
        ),
    ];
    let presigned: serde_json::Value =
        serde_json::from_slice(&outputs[2].stdout).expect("presign --json");
    let url = presigned["url"].as_str().expect("a URL").to_owned();
    let signature = url
        .split("X-Amz-Signature=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("a signature in the URL")
        .to_owned();
    assert!(signature.len() >= 32, "{url}");

    let mut logged = String::new();
    for entry in std::fs::read_dir(dir.path().join("logs")).expect("the log folder") {
        logged.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(
        logged.contains("DEBUG") && logged.contains("vodesk"),
        "the file has vodesk's debug lines: {logged}"
    );
    for (name, out) in ["upload", "list", "presign"].iter().zip(&outputs) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stderr.contains("DEBUG"), "{name}: -vv logs on stderr");
        for secret in [SECRET, TOKEN, signature.as_str()] {
            assert!(!stderr.contains(secret), "{name}: {secret} on stderr");
        }
        assert!(
            !stdout.contains(SECRET),
            "{name}: the secret key in its output"
        );
        if *name != "presign" {
            assert!(!stdout.contains(TOKEN), "{name}: the token in its output");
        }
    }
    for secret in [SECRET, TOKEN, signature.as_str()] {
        assert!(!logged.contains(secret), "{secret} in the log file");
    }
}
