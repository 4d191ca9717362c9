//! Named connections end to end: `vodesk connections save|list|default|remove` write and read
//! connections.toml in `VODESK_CONFIG_DIR`, `--connection NAME` (or the file's default) reaches the
//! saved stack in the emulator, and flags, then the environment, win over what the file says.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{REGION, fresh_emulator, vod_stack, vodesk_bin};

/// `vodesk` with emulator credentials and its connections in `config`, nothing else of the host's.
fn vodesk(config: &Path) -> Command {
    let mut cmd = vodesk_bin();
    cmd.env(vodesk::connections::CONFIG_DIR_ENV, config)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env_remove("VODESK_STACK");
    cmd
}

fn run(mut cmd: Command) -> Output {
    cmd.output().expect("run vodesk")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stack_json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "vodesk stack failed: {}", text(out));
    serde_json::from_slice(&out.stdout).expect("stack --json prints JSON")
}

#[tokio::test]
async fn a_saved_connection_reaches_its_stack_and_flags_then_env_win_over_it() {
    let emulator = fresh_emulator().await;
    let resources = vod_stack(&emulator.clients, "vod-named").await;
    let config = tempfile::tempdir().expect("temp dir");

    // Nothing saved yet: the list says how to save one.
    let empty = run({
        let mut cmd = vodesk(config.path());
        cmd.arg("connections");
        cmd
    });
    assert!(empty.status.success(), "{}", text(&empty));
    assert!(
        text(&empty).contains("No saved connections"),
        "{}",
        text(&empty)
    );

    let save = run({
        let mut cmd = vodesk(config.path());
        cmd.args(["--endpoint-url", &emulator.endpoint, "--region", REGION])
            .args(["--stack", "vod-named", "connections", "save", "rehearsal"]);
        cmd
    });
    assert!(save.status.success(), "{}", text(&save));
    let listed = run({
        let mut cmd = vodesk(config.path());
        cmd.args(["connections", "list", "--json"]);
        cmd
    });
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON list");
    assert_eq!(listed["connections"]["rehearsal"]["stack"], "vod-named");
    assert_eq!(listed["connections"]["rehearsal"]["region"], REGION);
    assert_eq!(listed["default"], serde_json::Value::Null);

    // --connection reaches the saved stack with no other setting anywhere.
    let named = run({
        let mut cmd = vodesk(config.path());
        cmd.args(["--connection", "rehearsal", "stack", "--json"]);
        cmd
    });
    assert_eq!(
        stack_json(&named)["source_bucket"].as_str(),
        Some(resources.source_bucket.as_str())
    );

    // Without a name and without a default, the file is not used: no stack is named.
    let unnamed = run({
        let mut cmd = vodesk(config.path());
        cmd.args(["stack", "--json"]);
        cmd
    });
    assert!(!unnamed.status.success(), "{}", text(&unnamed));

    // Once it is the default, it is used without --connection.
    let made_default = run({
        let mut cmd = vodesk(config.path());
        cmd.args(["connections", "default", "rehearsal"]);
        cmd
    });
    assert!(made_default.status.success(), "{}", text(&made_default));
    let by_default = run({
        let mut cmd = vodesk(config.path());
        cmd.args(["stack", "--json"]);
        cmd
    });
    assert_eq!(stack_json(&by_default)["stack_name"], "vod-named");

    // A flag wins over the file.
    let flag = run({
        let mut cmd = vodesk(config.path());
        cmd.args(["--stack", "vod-flagged", "stack"]);
        cmd
    });
    assert!(!flag.status.success());
    assert!(text(&flag).contains("vod-flagged"), "{}", text(&flag));
    // The environment wins over the file, for vodesk's own variable and for the SDK's.
    let env_stack = run({
        let mut cmd = vodesk(config.path());
        cmd.env("VODESK_STACK", "vod-from-env").arg("stack");
        cmd
    });
    assert!(!env_stack.status.success());
    assert!(
        text(&env_stack).contains("vod-from-env"),
        "{}",
        text(&env_stack)
    );
    let env_region = run({
        let mut cmd = vodesk(config.path());
        cmd.env("AWS_REGION", "eu-west-3").args(["stack", "--json"]);
        cmd
    });
    assert!(
        !env_region.status.success(),
        "the file's region hid AWS_REGION: {}",
        text(&env_region)
    );
    // …and a flag wins over the environment again.
    let flag_over_env = run({
        let mut cmd = vodesk(config.path());
        cmd.env("AWS_REGION", "eu-west-3")
            .args(["--region", REGION, "stack", "--json"]);
        cmd
    });
    assert_eq!(stack_json(&flag_over_env)["stack_name"], "vod-named");

    // An unknown name is a usage error that lists the saved ones.
    let unknown = run({
        let mut cmd = vodesk(config.path());
        cmd.args(["--connection", "prod", "stack"]);
        cmd
    });
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("saved: rehearsal"),
        "{}",
        text(&unknown)
    );

    let removed = run({
        let mut cmd = vodesk(config.path());
        cmd.args(["connections", "remove", "rehearsal"]);
        cmd
    });
    assert!(removed.status.success(), "{}", text(&removed));
    let file = std::fs::read_to_string(config.path().join("connections.toml")).expect("file");
    assert!(!file.contains("rehearsal"), "{file}");
}

#[test]
fn a_broken_file_is_named_with_its_problem() {
    let config = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        config.path().join("connections.toml"),
        "[connections.prod]\nregoin = \"eu-west-1\"\n",
    )
    .expect("write");
    let out = run({
        let mut cmd = vodesk(config.path());
        cmd.args(["--connection", "prod", "stack"]);
        cmd
    });
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("connections.toml") && said.contains("regoin"),
        "{said}"
    );
}
