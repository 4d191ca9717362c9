//! Shared harness for integration tests against the local emulator: one moto server per test binary on a
//! free loopback port, started on first use; tests that use it are serialised and each starts from an
//! empty emulator (reset).

#![allow(dead_code)] // each test binary uses a different part of the harness

pub(crate) mod fault_proxy;
pub(crate) mod object_created;
pub(crate) mod strict_s3;

use std::sync::OnceLock;

use tokio::sync::{Mutex, MutexGuard};

use vodesk::aws::connection::{AwsClients, ConnectionSettings};
use vodesk::local_stack::emulator::{Emulator, find_python};

pub(crate) const REGION: &str = "us-east-1";

/// The keys of `vodesk decode`'s output, in order, as contract §8 lists them. Written out here rather
/// than taken from the library, so that the tests check the library against the contract.
pub(crate) const NORMALIZED_KEYS: [&str; 16] = [
    "source",
    "kind",
    "guid",
    "src_video",
    "hls_url",
    "dash_url",
    "cmaf_hls_url",
    "cmaf_dash_url",
    "mss_url",
    "mp4_urls",
    "thumbnail_urls",
    "error_message",
    "duration_seconds",
    "width",
    "height",
    "video_codec",
];

static EMULATOR: OnceLock<Emulator> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::const_new(());

/// The emulator of this test binary, started on first use. Panics (tests only) with the install hint.
pub(crate) fn emulator() -> &'static Emulator {
    EMULATOR.get_or_init(|| {
        let python = find_python().unwrap_or_else(|e| panic!("{e}"));
        Emulator::start(&python, 0).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// An emulator with nothing in it, held for this test alone until the guard drops.
pub(crate) struct FreshEmulator {
    _guard: MutexGuard<'static, ()>,
    pub endpoint: String,
    pub clients: AwsClients,
}

pub(crate) async fn fresh_emulator() -> FreshEmulator {
    // tokio's lock: held across awaits, and a test that panicked holding it does not poison it.
    let guard = SERIAL.lock().await;
    let emulator = emulator();
    emulator.reset().await.expect("reset the emulator");
    let clients = AwsClients::connect(&ConnectionSettings::emulator(emulator.endpoint(), REGION))
        .await
        .expect("emulator settings are valid");
    FreshEmulator {
        _guard: guard,
        endpoint: emulator.endpoint().to_owned(),
        clients,
    }
}

/// The `vodesk` binary built for these tests.
/// Its named connections come from a folder that does not exist (none), never from the host's.
pub(crate) fn vodesk_bin() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vodesk"));
    cmd.env(
        vodesk::connections::CONFIG_DIR_ENV,
        std::env::temp_dir().join("vodesk-tests-no-connections"),
    )
    .env_remove("VODESK_CONNECTION");
    cmd
}

/// `vodesk local-stack --json …extra` with nothing of the host's connection settings, its output
/// piped, and the emulator's Python passed on when this process knows it.
pub(crate) fn local_stack_command(extra: &[&str]) -> std::process::Command {
    use std::process::Stdio;
    let mut cmd = vodesk_bin();
    cmd.args(["local-stack", "--json"])
        .args(extra)
        .env_remove("VODESK_STACK")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if std::env::var_os(vodesk::local_stack::emulator::PYTHON_ENV).is_none()
        && let Ok(python) = find_python()
    {
        cmd.env(vodesk::local_stack::emulator::PYTHON_ENV, python);
    }
    cmd
}

/// `vodesk` against the emulator with its own upload journal in `data`.
pub(crate) fn vodesk_with_journal(endpoint: &str, data: &std::path::Path) -> std::process::Command {
    let mut cmd = vodesk_against(endpoint);
    cmd.env("VODESK_DATA_DIR", data);
    cmd
}

/// The JSON events a `vodesk … --json` run printed, one per line.
pub(crate) fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The key of the first `completed` event.
pub(crate) fn completed_key(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .find(|e| e["event"] == "completed")
        .and_then(|e| e["key"].as_str())
        .unwrap_or_else(|| panic!("no completed event in {events:?}"))
        .to_owned()
}

/// `vodesk` with the emulator's connection settings in its environment, and nothing from the host's.
pub(crate) fn vodesk_against(endpoint: &str) -> std::process::Command {
    let mut cmd = vodesk_bin();
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("VODESK_STACK");
    cmd
}

/// Starts `cmd` (a `vodesk … upload … --json`) with its events piped, and reads them until the upload
/// has `bytes` confirmed. Returns the running child (its stdout taken), the bytes confirmed so far and
/// the reader, to read the rest of the events later.
pub(crate) fn spawn_until_confirmed(
    mut cmd: std::process::Command,
    bytes: u64,
) -> (
    std::process::Child,
    u64,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start vodesk");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut confirmed = 0;
    for line in lines.by_ref() {
        let event: serde_json::Value =
            serde_json::from_str(&line.expect("read an event")).expect("a JSON event");
        if event["event"] == "progress" {
            confirmed = event["confirmed"].as_u64().expect("confirmed bytes");
            if confirmed >= bytes {
                break;
            }
        }
    }
    (child, confirmed, lines)
}

/// `upload --source-bucket BUCKET --part-size 5MiB --concurrency N --limit-rate RATE --json FILE`.
pub(crate) fn slow_upload_args(
    bucket: &str,
    concurrency: u32,
    rate: &str,
    file: &std::path::Path,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = [
        "upload",
        "--source-bucket",
        bucket,
        "--part-size",
        "5MiB",
        "--json",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.extend([
        "--concurrency".into(),
        concurrency.to_string().into(),
        "--limit-rate".into(),
        rate.into(),
    ]);
    args.push(file.into());
    args
}

/// Creates a v6 VOD-shaped stack `name` in the emulator and discovers it, as `vodesk --stack` would.
pub(crate) async fn vod_stack(
    clients: &AwsClients,
    name: &str,
) -> vodesk::aws::discovery::VodResources {
    let spec =
        vodesk::local_stack::vod_template::VodStackSpec::v6(name, "d1q2w3e4r5t6y7.cloudfront.net");
    vodesk::local_stack::vod_template::create_vod_stack(&clients.cloudformation, &spec)
        .await
        .expect("create the VOD stack");
    vodesk::aws::discovery::discover(
        clients,
        Some(name),
        &vodesk::aws::discovery::StackOverrides::default(),
    )
    .await
    .expect("discover the VOD stack")
}

/// The URLs of every queue whose name starts with `vodesk-`.
pub(crate) async fn vodesk_queue_urls(clients: &AwsClients) -> Vec<String> {
    clients
        .sqs
        .list_queues()
        .queue_name_prefix("vodesk-")
        .send()
        .await
        .expect("ListQueues")
        .queue_urls()
        .to_vec()
}

/// `(subscription ARN, endpoint)` of every subscription on the topic.
pub(crate) async fn topic_subscriptions(
    clients: &AwsClients,
    topic_arn: &str,
) -> Vec<(String, String)> {
    clients
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .send()
        .await
        .expect("ListSubscriptionsByTopic")
        .subscriptions()
        .iter()
        .map(|s| {
            (
                s.subscription_arn().unwrap_or_default().to_owned(),
                s.endpoint().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A fixture of the solution's examples, as text.
pub(crate) fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vod-examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Writes one item into the solution's table as the solution would (tests stand in for it), from
/// the DynamoDB JSON of `item` (`{"attr": {"S": …}, …}`).
pub(crate) async fn put_item_json(clients: &AwsClients, table: &str, item: &serde_json::Value) {
    let attributes = item
        .as_object()
        .expect("an item object")
        .iter()
        .map(|(k, v)| (k.clone(), attribute_value(v)))
        .collect();
    clients
        .dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(attributes))
        .send()
        .await
        .expect("PutItem");
}

/// One DynamoDB JSON descriptor as an SDK AttributeValue.
pub(crate) fn attribute_value(v: &serde_json::Value) -> aws_sdk_dynamodb::types::AttributeValue {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let (tag, inner) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("a descriptor");
    match tag.as_str() {
        "S" => A::S(inner.as_str().expect("S").to_owned()),
        "N" => A::N(inner.as_str().expect("N").to_owned()),
        "BOOL" => A::Bool(inner.as_bool().expect("BOOL")),
        "NULL" => A::Null(true),
        "L" => A::L(
            inner
                .as_array()
                .expect("L")
                .iter()
                .map(attribute_value)
                .collect(),
        ),
        "M" => A::M(
            inner
                .as_object()
                .expect("M")
                .iter()
                .map(|(k, v)| (k.clone(), attribute_value(v)))
                .collect(),
        ),
        "SS" => A::Ss(
            inner
                .as_array()
                .expect("SS")
                .iter()
                .map(|s| s.as_str().expect("string").to_owned())
                .collect(),
        ),
        other => panic!("descriptor {other} not supported by the test helper"),
    }
}

/// A file of `size` bytes whose content depends on `seed`, so that a rewrite with another seed is detectable.
pub(crate) fn write_file(
    dir: &std::path::Path,
    name: &str,
    size: u64,
    seed: u8,
) -> std::path::PathBuf {
    let path = dir.join(name);
    let data: Vec<u8> = (0..size)
        .map(|i| ((i * 7 + u64::from(seed) * 13) % 251) as u8)
        .collect();
    std::fs::write(&path, data).expect("write a test file");
    path
}

/// Hex SHA-256, to compare what was uploaded with what the server stores.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Hex SHA-256 of an object as the server returns it.
pub(crate) async fn object_sha256(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get the object");
    sha256(
        &out.body
            .collect()
            .await
            .expect("read the object")
            .into_bytes(),
    )
}

/// How many multipart uploads are open (started, neither completed nor aborted) in `bucket`.
pub(crate) async fn open_multipart_uploads(s3: &aws_sdk_s3::Client, bucket: &str) -> usize {
    let out = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("list multipart uploads");
    out.uploads().len()
}

/// The engine's commands among what `AppState::apply` returned, as the app's frame loop sends them.
pub(crate) fn commands(
    effects: Vec<vodesk::app::effects::Effect>,
) -> Vec<vodesk::app::engine::Command> {
    effects
        .into_iter()
        .filter_map(vodesk::app::effects::Effect::into_command)
        .collect()
}
