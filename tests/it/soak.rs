//! The soak proof of issue 12: 200 files of 1–50 MiB go up in one `vodesk upload` while a `vodesk watch`
//! receives 1,000 messages published to the stack's topic, against the emulator. Every object must be
//! byte-identical to its file, start exactly one workflow (one ObjectCreated), leave no multipart upload
//! open; watch must print every message exactly once; and both processes' memory must stay flat (their
//! RSS is sampled every 250 ms and the curves are reported).
//!
//! Long (minutes): ignored by default, run by `scripts/reliability` as
//! `cargo test --test it soak:: -- --ignored --nocapture`. Scale it with `VODESK_SOAK_FILES` (default 200),
//! `VODESK_SOAK_MESSAGES` (default 1000), `VODESK_SOAK_MIN_MIB`/`VODESK_SOAK_MAX_MIB` (default 1 and 50),
//! `VODESK_SOAK_SEED` and `VODESK_SOAK_DEADLINE_SECONDS` (default 1200). The summary is printed on lines
//! starting `soak:` and written as JSON to `VODESK_SOAK_REPORT` when set.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::object_created::ObjectCreatedCounter;
use crate::common::{fresh_emulator, open_multipart_uploads, vod_stack, vodesk_against};
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

const MIB: u64 = 1 << 20;
const STACK: &str = "soak-stack";
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// Peak RSS either process may reach. The uploader holds at most concurrency (8) part buffers, and a
/// file under the single-PUT threshold (16 MiB) is one buffer of its size: 128 MiB of buffers over a
/// debug build's ~90 MiB baseline. Measured: 218 MiB, flat from the first seconds to the last.
const RSS_CAP: u64 = 256 * MIB;
/// Points of the curve in the summary: enough to see a trend, few enough to paste into a table.
const CURVE_POINTS: usize = 20;

/// The size of the run, from the environment (scaled down for a quick check).
struct Settings {
    files: usize,
    /// File sizes are drawn from min_mib..=max_mib MiB.
    min_mib: u64,
    max_mib: u64,
    messages: usize,
    seed: u64,
    deadline: Duration,
}

impl Settings {
    fn from_env() -> Settings {
        fn number(name: &str, default: u64) -> u64 {
            match std::env::var(name) {
                Ok(text) => text
                    .trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("{name}={text:?}: {e}")),
                Err(_) => default,
            }
        }
        Settings {
            files: number("VODESK_SOAK_FILES", 200) as usize,
            min_mib: number("VODESK_SOAK_MIN_MIB", 1).max(1),
            max_mib: number("VODESK_SOAK_MAX_MIB", 50),
            messages: number("VODESK_SOAK_MESSAGES", 1000) as usize,
            seed: number("VODESK_SOAK_SEED", 0x50a4),
            deadline: Duration::from_secs(number("VODESK_SOAK_DEADLINE_SECONDS", 1200)),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "long: scripts/reliability runs it"]
async fn soak_200_files_upload_while_watch_receives_1000_messages() {
    let settings = Settings::from_env();
    let deadline = settings.deadline;
    // A hang fails the test instead of running forever: dropping the future kills both children (Running).
    if tokio::time::timeout(deadline, soak(settings))
        .await
        .is_err()
    {
        panic!("soak: did not finish within {deadline:?} (VODESK_SOAK_DEADLINE_SECONDS)");
    }
}

async fn soak(settings: Settings) {
    let started = Instant::now();
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, STACK).await;
    let mut created = ObjectCreatedCounter::attach(&emu.clients, &stack.source_bucket).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let data_dir = dir.path().join("data");
    let files_dir = dir.path().join("files");
    std::fs::create_dir_all(&files_dir).expect("create the files folder");

    let (count, seed, folder) = (settings.files, settings.seed, files_dir.clone());
    let sizes = settings.min_mib * MIB..=settings.max_mib.max(settings.min_mib) * MIB;
    let files = tokio::task::spawn_blocking(move || write_files(&folder, count, sizes, seed))
        .await
        .expect("write the files");
    let total_bytes: u64 = files.iter().map(|f| f.size).sum();
    eprintln!(
        "soak: wrote {} files, {:.0} MiB, in {:.1} s",
        files.len(),
        total_bytes as f64 / MIB as f64,
        started.elapsed().as_secs_f64()
    );

    // The monitor first, so that it listens before anything is published.
    let vodesk = |args: &[&str], log: &str| {
        let mut cmd = vodesk_against(&emu.endpoint);
        let stderr = std::fs::File::create(dir.path().join(log)).expect("create a log file");
        cmd.env("VODESK_DATA_DIR", &data_dir)
            .args(["--stack", STACK])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        cmd
    };
    let (mut watch, mut watch_rx) =
        Running::spawn("watch", vodesk(&["watch", "--json"], "watch.log"));
    let ready = next_where(&mut watch_rx, Duration::from_secs(60), |v| {
        v["event"] == "ready"
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "watch is not ready within 60 s: {}",
            log_tail(dir.path(), "watch.log")
        )
    });
    assert_eq!(
        ready["mode"], "queue",
        "watch listens through its queue: {ready}"
    );

    let mut upload_cmd = vodesk(&["upload", "--json"], "upload.log");
    upload_cmd.args(files.iter().map(|f| &f.path));
    let (mut upload, mut upload_rx) = Running::spawn("upload", upload_cmd);
    let upload_started = upload.started;

    // Messages are published in step with the upload's progress, so they spread over its whole duration.
    let (target_tx, target_rx) = tokio::sync::watch::channel(0usize);
    let publisher = tokio::spawn(publish_messages(
        emu.clients.sns.clone(),
        stack.topic_arn.clone(),
        settings.messages,
        target_rx,
    ));

    let mut uploads = UploadEvents::default();
    let mut watched = WatchEvents::default();
    let mut upload_open = true;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while upload_open {
        tokio::select! {
            event = upload_rx.recv() => match event {
                Some(event) => uploads.record(event),
                None => upload_open = false,
            },
            Some(event) = watch_rx.recv() => watched.record(event),
            _ = tick.tick() => {
                let done = uploads.confirmed_total() as u128;
                let target = (settings.messages as u128 * done / u128::from(total_bytes.max(1))) as usize;
                target_tx.send_replace(target.min(settings.messages));
            }
        }
    }
    let upload_status = upload.wait(Duration::from_secs(30)).await;
    let upload_seconds = upload_started.elapsed().as_secs_f64();
    let upload_ended = Instant::now();
    target_tx.send_replace(settings.messages);
    let publish_times = publisher.await.expect("the publisher ran");
    let published_during_upload = publish_times.iter().filter(|t| **t <= upload_ended).count();
    let last_publish = publish_times.last().copied().unwrap_or_else(Instant::now);

    // Every message within a bounded wait after the last publish, then a little more to catch repeats.
    let all_seen_by = last_publish + Duration::from_secs(120);
    while watched.distinct() < settings.messages && Instant::now() < all_seen_by {
        let left = all_seen_by.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, watch_rx.recv()).await {
            Ok(Some(event)) => watched.record(event),
            Ok(None) | Err(_) => break,
        }
    }
    let all_seen_after = last_publish.elapsed().as_secs_f64();
    let linger = Instant::now() + Duration::from_secs(3);
    while let Ok(Some(event)) = tokio::time::timeout(
        linger.saturating_duration_since(Instant::now()),
        watch_rx.recv(),
    )
    .await
    {
        watched.record(event);
    }
    watch.terminate();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(30), watch_rx.recv()).await
    {
        watched.record(event);
    }
    let watch_status = watch.wait(Duration::from_secs(30)).await;
    let upload_rss = upload.rss();
    let watch_rss = watch.rss();

    // What the server has: every object intact, one workflow each, nothing left open.
    let mut failures = Vec::new();
    if !upload_status.is_some_and(|s| s.success()) {
        failures.push(format!(
            "upload exited with {upload_status:?}: {}",
            log_tail(dir.path(), "upload.log")
        ));
    }
    if !watch_status.is_some_and(|s| s.success()) {
        failures.push(format!(
            "watch exited with {watch_status:?}: {}",
            log_tail(dir.path(), "watch.log")
        ));
    }
    failures.extend(uploads.problems.iter().cloned());
    let keys = uploads.keys_by_name();
    let verify_started = Instant::now();
    let mut identical = 0;
    for file in &files {
        let Some((key, _)) = keys.get(&file.name) else {
            failures.push(format!("{}: no completed event", file.name));
            continue;
        };
        match object_matches(&emu.clients.s3, &stack.source_bucket, key, file).await {
            Ok(()) => identical += 1,
            Err(difference) => failures.push(format!("{}: s3://…/{key} {difference}", file.name)),
        }
    }
    let verify_seconds = verify_started.elapsed().as_secs_f64();
    // moto keeps no CRC64NVME for a single PutObject, so vodesk's own read-back check cannot confirm
    // those (it says so in a note); the byte comparison above is the proof. A failed check is a failure.
    let unverified = keys.values().filter(|(_, verified)| !verified).count();
    failures.extend(
        uploads
            .notes
            .iter()
            .filter(|(_, text)| text.contains("integrity check failed"))
            .map(|(name, text)| format!("{name}: {text}")),
    );
    let events = created
        .keys(&emu.clients, Duration::from_secs(3))
        .await
        .to_vec();
    let mut per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for key in &events {
        *per_key.entry(key).or_default() += 1;
    }
    for (name, (key, _)) in &keys {
        match per_key.get(key.as_str()) {
            Some(1) => {}
            other => failures.push(format!(
                "{name}: {} ObjectCreated for {key}",
                other.copied().unwrap_or(0)
            )),
        }
    }
    let strays: Vec<&&str> = per_key
        .keys()
        .filter(|k| !keys.values().any(|(key, _)| key == **k))
        .collect();
    if !strays.is_empty() {
        failures.push(format!(
            "ObjectCreated for keys no file was sent to: {strays:?}"
        ));
    }
    let open = open_multipart_uploads(&emu.clients.s3, &stack.source_bucket).await;
    if open != 0 {
        failures.push(format!("{open} multipart upload(s) left open"));
    }
    failures.extend(watched.problems(settings.messages));

    // Memory: a cap, and flat.
    let upload_memory = Memory::of(&upload_rss);
    let watch_memory = Memory::of(&watch_rss);
    for (name, memory) in [("upload", &upload_memory), ("watch", &watch_memory)] {
        failures.extend(memory.problems(name));
    }

    let mib = total_bytes as f64 / MIB as f64;
    let report = json!({
        "files": files.len(),
        "total_bytes": total_bytes,
        "total_mib": round1(mib),
        "upload_seconds": round1(upload_seconds),
        "unverified_by_vodesk": unverified,
        "byte_identical": identical,
        "byte_comparison_seconds": round1(verify_seconds),
        "mib_per_second": round1(mib / upload_seconds.max(0.001)),
        "object_created_events": events.len(),
        "messages": settings.messages,
        "messages_published_during_upload": published_during_upload,
        "messages_received": watched.distinct(),
        "messages_all_received_seconds_after_last_publish": round1(all_seen_after),
        "watch_warnings": watched.warnings,
        "upload_notes": uploads.notes_by_text(),
        "file_sizes_mib": [settings.min_mib, settings.max_mib],
        "upload": upload_memory.to_json(),
        "watch": watch_memory.to_json(),
        "seed": settings.seed,
        "wall_seconds": round1(started.elapsed().as_secs_f64()),
        "failures": failures,
        "passed": failures.is_empty(),
    });
    eprintln!(
        "soak: {} files, {:.0} MiB in {:.1} s ({:.1} MiB/s); {} ObjectCreated; {} byte-identical (compared in {:.1} s; {} not confirmed by vodesk's own read-back, see notes); {}/{} messages published during the upload, {} received, the last {:.1} s after the last publish",
        files.len(),
        mib,
        upload_seconds,
        mib / upload_seconds.max(0.001),
        events.len(),
        identical,
        verify_seconds,
        unverified,
        published_during_upload,
        settings.messages,
        watched.distinct(),
        all_seen_after
    );
    for (name, memory) in [("upload", &upload_memory), ("watch", &watch_memory)] {
        eprintln!("soak: {name} {}", memory.summary());
        eprintln!("soak: {name} RSS curve (s → MiB): {}", memory.curve_text());
    }
    for (note, names) in uploads.notes_by_text() {
        eprintln!(
            "soak: upload note ({} file(s), e.g. {}): {note}",
            names.len(),
            names[..names.len().min(3)].join(", ")
        );
    }
    for warning in &watched.warnings {
        eprintln!("soak: watch warning: {warning}");
    }
    for failure in &failures {
        eprintln!("soak: FAILED: {failure}");
    }
    if let Some(path) = std::env::var_os("VODESK_SOAK_REPORT") {
        let text = serde_json::to_string_pretty(&report).expect("the report is JSON");
        std::fs::write(&path, text + "\n")
            .unwrap_or_else(|e| panic!("write {}: {e}", PathBuf::from(&path).display()));
    }
    assert!(failures.is_empty(), "soak failed: {failures:#?}");
}

// ---------------------------------------------------------------------------------------------------
// Files

/// One file of the run.
struct SoakFile {
    path: PathBuf,
    name: String,
    size: u64,
}

/// SplitMix64: a small seeded generator, so the sizes and bytes of a run are reproducible from its seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `count` files with sizes drawn from `sizes` (any byte count, so last parts are ragged), each of real,
/// distinct pseudo-random bytes (never sparse: the uploader must read and send every byte).
fn write_files(
    dir: &Path,
    count: usize,
    sizes: std::ops::RangeInclusive<u64>,
    seed: u64,
) -> Vec<SoakFile> {
    let (min, span) = (*sizes.start(), sizes.end() - sizes.start() + 1);
    let mut draw = SplitMix(seed);
    let mut buffer = vec![0u8; MIB as usize];
    (0..count)
        .map(|index| {
            let size = min + draw.next() % span;
            let name = format!("soak-{index:03}.mp4");
            let path = dir.join(&name);
            let mut bytes = SplitMix(seed ^ (index as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
            let mut out = std::fs::File::create(&path).expect("create a soak file");
            let mut left = size;
            while left > 0 {
                let n = left.min(MIB) as usize;
                for chunk in buffer[..n].chunks_mut(8) {
                    let word = bytes.next().to_le_bytes();
                    chunk.copy_from_slice(&word[..chunk.len()]);
                }
                out.write_all(&buffer[..n]).expect("write a soak file");
                left -= n as u64;
            }
            SoakFile { path, name, size }
        })
        .collect()
}

/// Whether the stored object is byte-identical to `file`, streamed and compared chunk by chunk.
/// (A byte comparison is what a SHA-256 comparison stands for; sha2 in the unoptimised test build runs
/// at ~20 MiB/s, which would add minutes per run over 5 GiB, while a slice comparison is a memcmp.)
async fn object_matches(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    file: &SoakFile,
) -> Result<(), String> {
    use tokio::io::AsyncReadExt;
    let mut body = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("cannot be read: {e:?}"))?
        .body;
    let mut local = tokio::fs::File::open(&file.path)
        .await
        .map_err(|e| format!("(local file unreadable: {e})"))?;
    let mut expected = Vec::new();
    let mut offset = 0u64;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| format!("stopped after {offset} bytes: {e}"))?
    {
        expected.resize(chunk.len(), 0);
        let end = offset + chunk.len() as u64;
        if end > file.size {
            return Err(format!("is longer than the file's {} bytes", file.size));
        }
        local
            .read_exact(&mut expected)
            .await
            .map_err(|e| format!("(local file unreadable: {e})"))?;
        if expected[..] != chunk[..] {
            return Err(format!(
                "differs from the file within bytes {offset}..{end}"
            ));
        }
        offset = end;
    }
    if offset != file.size {
        return Err(format!("has {offset} bytes, the file {}", file.size));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Processes

/// A running `vodesk` whose JSON lines arrive on a channel and whose RSS is sampled; killed if dropped
/// while still running (a failed or timed-out test leaves nothing behind).
struct Running {
    name: &'static str,
    child: Child,
    started: Instant,
    stop_sampling: Arc<AtomicBool>,
    sampler: Option<std::thread::JoinHandle<Vec<Sample>>>,
}

/// One RSS reading: seconds since the process started, resident bytes, CPU seconds used so far.
#[derive(Clone, Copy)]
struct Sample {
    at: f64,
    rss: u64,
    cpu: f64,
}

impl Running {
    fn spawn(
        name: &'static str,
        mut cmd: std::process::Command,
    ) -> (Running, UnboundedReceiver<Value>) {
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start vodesk {name}: {e}"));
        let started = Instant::now();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = unbounded_channel();
        std::thread::spawn(move || forward_json_lines(stdout, &tx));
        let stop_sampling = Arc::new(AtomicBool::new(false));
        let pid = child.id();
        let stop = stop_sampling.clone();
        let sampler = std::thread::spawn(move || sample_rss(pid, started, &stop));
        (
            Running {
                name,
                child,
                started,
                stop_sampling,
                sampler: Some(sampler),
            },
            rx,
        )
    }

    /// SIGTERM (best effort: a process that already exited is reported by its exit status instead).
    fn terminate(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if !sent.as_ref().is_ok_and(|s| s.success()) {
            eprintln!("soak: kill -TERM {}: {sent:?}", self.name);
        }
    }

    /// The exit status, or None if the process is still running after `limit`.
    async fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let until = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("check the child") {
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The RSS curve, once the process has exited (or is given up on).
    fn rss(&mut self) -> Vec<Sample> {
        self.stop_sampling.store(true, Ordering::SeqCst);
        self.sampler
            .take()
            .map(|s| s.join().expect("the sampler ran"))
            .unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Best effort: a child that is already gone needs nothing more.
            self.child.kill().ok();
            self.child.wait().ok();
        }
        self.stop_sampling.store(true, Ordering::SeqCst);
    }
}

/// Sends each stdout line as JSON (a line that is not JSON arrives as a string, to be reported).
fn forward_json_lines(stdout: ChildStdout, tx: &UnboundedSender<Value>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
        if tx.send(value).is_err() {
            break;
        }
    }
}

/// Reads VmRSS and CPU time every 250 ms until the process is gone (a zombie has no VmRSS) or told to stop.
fn sample_rss(pid: u32, started: Instant, stop: &AtomicBool) -> Vec<Sample> {
    let mut samples = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let Some(rss) = vm_rss(pid) else { break };
        samples.push(Sample {
            at: started.elapsed().as_secs_f64(),
            rss,
            cpu: cpu_seconds(pid).unwrap_or(f64::NAN),
        });
        std::thread::sleep(SAMPLE_EVERY);
    }
    samples
}

fn vm_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// utime + stime from /proc/PID/stat, in seconds (Linux's USER_HZ is 100 on every platform Rust supports).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after its closing ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The first value on `rx` within `limit` that `wanted` accepts.
async fn next_where(
    rx: &mut UnboundedReceiver<Value>,
    limit: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let until = Instant::now() + limit;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(value)) if wanted(&value) => return Some(value),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

/// The last lines of a process's stderr, for a failure message.
fn log_tail(dir: &Path, log: &str) -> String {
    let text = std::fs::read_to_string(dir.join(log)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!(
        "stderr: {}",
        lines[lines.len().saturating_sub(20)..].join("\n")
    )
}

// ---------------------------------------------------------------------------------------------------
// Events

/// What `vodesk upload --json` said, per upload id.
#[derive(Default)]
struct UploadEvents {
    names: HashMap<i64, String>,
    keys: HashMap<i64, String>,
    confirmed: HashMap<i64, u64>,
    completed: HashMap<i64, (String, bool)>,
    /// Notes the uploader printed (retries, checks): (file name, text), for the report.
    notes: Vec<(String, String)>,
    problems: Vec<String>,
}

impl UploadEvents {
    fn record(&mut self, event: Value) {
        let id = event["id"].as_i64().unwrap_or(-1);
        match event["event"].as_str() {
            Some("started") => {
                self.names
                    .insert(id, event["name"].as_str().unwrap_or("").to_owned());
                self.keys
                    .insert(id, event["key"].as_str().unwrap_or("").to_owned());
            }
            Some("progress") => {
                self.confirmed
                    .insert(id, event["confirmed"].as_u64().unwrap_or(0));
            }
            Some("completed") => {
                let key = event["key"].as_str().unwrap_or("").to_owned();
                if self.keys.get(&id).is_some_and(|k| *k != key) {
                    self.problems.push(format!(
                        "upload {id} started as one key, completed as {key}"
                    ));
                }
                let size = event["size"].as_u64().unwrap_or(0);
                self.confirmed.insert(id, size);
                if self
                    .completed
                    .insert(id, (key, event["verified"] == true))
                    .is_some()
                {
                    self.problems.push(format!("upload {id} completed twice"));
                }
            }
            Some("note") => {
                let name = self.names.get(&id).cloned().unwrap_or_default();
                let text = event["message"].as_str().unwrap_or("").to_owned();
                self.notes.push((name, text));
            }
            Some("message") => {}
            _ => self.problems.push(format!("upload event: {event}")),
        }
    }

    /// Each distinct note with the files it was said of (sorted).
    fn notes_by_text(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, text) in &self.notes {
            grouped.entry(text).or_default().push(name);
        }
        for names in grouped.values_mut() {
            names.sort_unstable();
        }
        grouped
    }

    fn confirmed_total(&self) -> u64 {
        self.confirmed.values().sum()
    }

    /// File name → (key, verified) of every completed upload.
    fn keys_by_name(&self) -> BTreeMap<String, (String, bool)> {
        self.completed
            .iter()
            .map(|(id, (key, verified))| {
                let name = self
                    .names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("id {id}"));
                (name, (key.clone(), *verified))
            })
            .collect()
    }
}

/// What `vodesk watch --json` printed: how many times each guid.
#[derive(Default)]
struct WatchEvents {
    guids: HashMap<String, usize>,
    /// Warnings are reported, not failed: a retried receive is not a lost message.
    warnings: Vec<String>,
    other: Vec<String>,
}

impl WatchEvents {
    fn record(&mut self, event: Value) {
        match event["event"].as_str() {
            Some("job") if event["kind"] == "ingest" => {
                let guid = event["guid"].as_str().unwrap_or("").to_owned();
                *self.guids.entry(guid).or_default() += 1;
            }
            Some("ready") | Some("stopped") => {}
            Some("warning") => self.warnings.push(event["message"].to_string()),
            _ => self.other.push(event.to_string()),
        }
    }

    fn distinct(&self) -> usize {
        self.guids.len()
    }

    fn problems(&self, messages: usize) -> Vec<String> {
        let mut problems = Vec::new();
        let missing: Vec<String> = (0..messages)
            .map(message_guid)
            .filter(|g| !self.guids.contains_key(g))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "watch never printed {} message(s), e.g. {:?}",
                missing.len(),
                &missing[..missing.len().min(5)]
            ));
        }
        let repeated: Vec<(&String, &usize)> = self.guids.iter().filter(|(_, n)| **n > 1).collect();
        if !repeated.is_empty() {
            problems.push(format!(
                "watch printed messages more than once: {repeated:?}"
            ));
        }
        let expected: std::collections::HashSet<String> = (0..messages).map(message_guid).collect();
        let unknown: Vec<&String> = self
            .guids
            .keys()
            .filter(|g| !expected.contains(*g))
            .collect();
        if !unknown.is_empty() {
            problems.push(format!("watch printed guids never published: {unknown:?}"));
        }
        if !self.other.is_empty() {
            problems.push(format!(
                "watch printed {} other line(s), e.g. {:?}",
                self.other.len(),
                &self.other[..self.other.len().min(3)]
            ));
        }
        problems
    }
}

/// The guid of message `index`: distinct, and shaped like the solution's (a v4 UUID).
fn message_guid(index: usize) -> String {
    format!("50a50a50-0000-4000-8000-{index:012}")
}

/// Publishes Ingest messages (contract shape, see tests/fixtures/vod-examples/sns-ingest.json) one by
/// one until `target` says to stop, up to `messages`; returns when each was published.
async fn publish_messages(
    sns: aws_sdk_sns::Client,
    topic_arn: String,
    messages: usize,
    mut target: tokio::sync::watch::Receiver<usize>,
) -> Vec<Instant> {
    let mut published = Vec::with_capacity(messages);
    while published.len() < messages {
        let wanted = (*target.borrow_and_update()).min(messages);
        while published.len() < wanted {
            let index = published.len();
            let body = json!({
                "status": "Ingest",
                "guid": message_guid(index),
                "srcVideo": format!("uploads/soak/message-{index:04}.mp4"),
            });
            sns.publish()
                .topic_arn(&topic_arn)
                .message(body.to_string())
                .send()
                .await
                .unwrap_or_else(|e| panic!("publish message {index}: {e:?}"));
            published.push(Instant::now());
        }
        if published.len() < messages && target.changed().await.is_err() {
            break;
        }
    }
    published
}

// ---------------------------------------------------------------------------------------------------
// Memory

/// Peak RSS over a process's life, by thirds, and its curve.
struct Memory {
    samples: Vec<Sample>,
    peak: u64,
    first_third_peak: u64,
    last_third_peak: u64,
}

impl Memory {
    fn of(samples: &[Sample]) -> Memory {
        let span = samples.last().map_or(0.0, |s| s.at);
        let peak_where = |keep: &dyn Fn(f64) -> bool| {
            samples
                .iter()
                .filter(|s| keep(s.at))
                .map(|s| s.rss)
                .max()
                .unwrap_or(0)
        };
        Memory {
            samples: samples.to_vec(),
            peak: peak_where(&|_| true),
            first_third_peak: peak_where(&|at| at <= span / 3.0),
            last_third_peak: peak_where(&|at| at >= span * 2.0 / 3.0),
        }
    }

    /// Flat means: the peak over the last third of the run is at most 1.25 × the peak over the first third
    /// plus 16 MiB. The first third already holds the steady working set (the part buffers of concurrency ×
    /// part size, the HTTP pool, the monitor's queue poller), and the last third has done twice the work: a
    /// leak per file or per message grows the last third (16 MiB over ~130 files is ~120 KiB a file), while
    /// allocator fragmentation and connection churn stay inside the margin.
    fn problems(&self, name: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let thirds = self.samples.len() / 3;
        if thirds == 0 {
            problems.push(format!(
                "{name}: too few RSS samples ({}) to judge",
                self.samples.len()
            ));
            return problems;
        }
        if self.peak > RSS_CAP {
            problems.push(format!(
                "{name}: peak RSS {:.1} MiB, above {} MiB",
                mib(self.peak),
                RSS_CAP / MIB
            ));
        }
        let allowed = self.first_third_peak as f64 * 1.25 + 16.0 * MIB as f64;
        if self.last_third_peak as f64 > allowed {
            problems.push(format!(
                "{name}: memory grew: peak {:.1} MiB in the last third, {:.1} MiB in the first (allowed {:.1})",
                mib(self.last_third_peak),
                mib(self.first_third_peak),
                allowed / MIB as f64
            ));
        }
        problems
    }

    /// About CURVE_POINTS points: the peak of each equal slice of time, at the slice's end (peaks survive).
    fn curve(&self) -> Vec<(f64, f64)> {
        let span = self.samples.last().map_or(0.0, |s| s.at);
        let mut points: Vec<(f64, u64)> = Vec::new();
        for s in &self.samples {
            let slice =
                ((s.at / span.max(f64::MIN_POSITIVE)) * CURVE_POINTS as f64).ceil() as usize;
            let end = span * slice.min(CURVE_POINTS) as f64 / CURVE_POINTS as f64;
            match points.last_mut() {
                Some(last) if (last.0 - end).abs() < 1e-9 => last.1 = last.1.max(s.rss),
                _ => points.push((end, s.rss)),
            }
        }
        points
            .into_iter()
            .map(|(t, rss)| (round1(t), round1(mib(rss))))
            .collect()
    }

    fn curve_text(&self) -> String {
        self.curve()
            .iter()
            .map(|(t, m)| format!("{t:.1}→{m:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn cpu(&self) -> f64 {
        self.samples.last().map_or(0.0, |s| s.cpu)
    }

    fn summary(&self) -> String {
        format!(
            "peak RSS {:.1} MiB (first third {:.1}, last third {:.1}), {} samples over {:.1} s, {:.1} CPU s",
            mib(self.peak),
            mib(self.first_third_peak),
            mib(self.last_third_peak),
            self.samples.len(),
            self.samples.last().map_or(0.0, |s| s.at),
            self.cpu()
        )
    }

    fn to_json(&self) -> Value {
        json!({
            "peak_rss_mib": round1(mib(self.peak)),
            "first_third_peak_rss_mib": round1(mib(self.first_third_peak)),
            "last_third_peak_rss_mib": round1(mib(self.last_third_peak)),
            "samples": self.samples.len(),
            "seconds": round1(self.samples.last().map_or(0.0, |s| s.at)),
            "cpu_seconds": round1(self.cpu()),
            "rss_curve_seconds_mib": self.curve().iter().map(|(t, m)| json!([t, m])).collect::<Vec<_>>(),
        })
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
