//! A strict S3 server for integration tests: `s3s-fs` 0.14.1 (crate `s3s-fs`, feature `binary`), which
//! `scripts/test` installs into `.tools/bin` (`ensure_s3s_fs` in scripts/lib.sh). Unlike moto it checks
//! request signatures, and it checks PutObject checksums. Each [`StrictS3`] is its own server on a free
//! loopback port over its own temporary directory, stopped when dropped.
//!
//! What s3s-fs 0.14.1 does (read from its source, and pinned down by tests/strict_s3_harness.rs):
//!
//! - CLI: `s3s-fs [--host H] [--port P] [--access-key AK --secret-key SK] [--domain D]... ROOT`. Defaults
//!   `localhost:8014`; `--port 0` binds a free port and the only place the real port appears is the log
//!   line `server is running at http://ADDR` on stdout, printed when `RUST_LOG` enables INFO (tracing's
//!   multi-line "pretty" format). ROOT must exist; each bucket is a directory in it. Without `--domain`
//!   only path-style requests work (vodesk uses path style for custom endpoints). It stops on SIGINT and
//!   has no "exit when stdin closes" switch, so [`StrictS3`] runs it under a tiny `sh` guard that does.
//! - Auth: with both keys given, every request must be signed (SigV4 header or presigned URL, or SigV2)
//!   with exactly that key pair: a wrong secret gets 403 `SignatureDoesNotMatch`, an unknown access key
//!   403 `NotSignedUp`, an unsigned request 403 `AccessDenied`. A signed payload hash
//!   (`x-amz-content-sha256: <hex>`) is checked against the body. aws-chunked bodies are decoded,
//!   signed (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, chunk signatures checked) or unsigned
//!   (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`); trailing checksum headers are handed to the operation.
//! - PutObject verifies every checksum the client names, in a header or an aws-chunked trailer: CRC32,
//!   CRC32C, CRC64NVME, SHA1 and SHA256 (a mismatch is 400 `BadDigest`), and Content-MD5. It stores them
//!   and returns them from HeadObject and GetObject (whatever the checksum mode).
//! - UploadPart does NOT verify `x-amz-checksum-*` (headers or trailers) and does not return them: only
//!   the SigV4 payload hash and Content-Length guard a part's bytes. The part ETag is the MD5 of the part.
//! - CompleteMultipartUpload neither checks the listed ETags nor checksums, and stores no checksum for
//!   the object (HeadObject/GetObject of a multipart object carry none). It demands part numbers 1..n
//!   with no gap (else 400 `InvalidRequest`, where S3 allows gaps) and every part but the last ≥ 5 MiB
//!   (400 `EntityTooSmall`). The object's ETag is S3's `md5-of-part-md5s-N`.
//! - ListParts lists the parts' numbers, sizes and dates only (no ETags, no checksums), in directory
//!   order (not sorted), without paging, and answers an empty list for an unknown upload id.
//! - ListMultipartUploads is not implemented (501 `NotImplemented`).
//! - AbortMultipartUpload works. An unknown or aborted upload id (or one created with other credentials)
//!   gets 403 `AccessDenied` from UploadPart, CompleteMultipartUpload and AbortMultipartUpload, where S3
//!   answers 404 `NoSuchUpload`.
//! - GetObject (with ranges) and HeadObject work; CopyObject, UploadPartCopy, ListObjects(V2), DeleteObject(s)
//!   too.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;

use vodesk::aws::connection::AwsClients;

/// The fixed test key pair every [`StrictS3`] accepts (and no other).
pub(crate) const ACCESS_KEY: &str = "vodesk-strict";
pub(crate) const SECRET_KEY: &str = "vodesk-strict-secret";
/// Environment variable `scripts/lib.sh` (`ensure_s3s_fs`) exports with the binary's path.
pub(crate) const S3S_FS_ENV: &str = "VODESK_S3S_FS";
/// A `RUST_LOG` filter for the server; when set, its log is echoed to the test's stderr.
pub(crate) const LOG_ENV: &str = "VODESK_S3S_FS_LOG";
const INSTALL_HINT: &str = "run scripts/test (or scripts/lib.sh's ensure_s3s_fs) to install s3s-fs";
const START_TIMEOUT: Duration = Duration::from_secs(20);
const START_ATTEMPTS: usize = 3;

/// Runs the server and, when standard input closes (the test binary exited or was killed), stops it:
/// s3s-fs has no such switch, and a killed test must not leave servers behind.
const GUARD: &str = r#""$0" "$@" & server=$!
trap 'kill "$server" 2>/dev/null; exit 0' TERM INT
cat >/dev/null
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
exit 0"#;

/// A running s3s-fs over a temporary directory, with authentication on. Dropping it stops the server and
/// deletes the directory.
pub(crate) struct StrictS3 {
    // Its stdin is held open: the guard stops the server when that pipe closes.
    child: Child,
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    /// The server's storage: one directory per bucket, object files at `<bucket>/<key>`.
    pub root: tempfile::TempDir,
    pub access_key: String,
    pub secret_key: String,
}

/// The s3s-fs binary: `$VODESK_S3S_FS`, else this checkout's `.tools/bin/s3s-fs`.
pub(crate) fn s3s_fs_binary() -> PathBuf {
    let path = std::env::var_os(S3S_FS_ENV).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/s3s-fs"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "s3s-fs not found at {}: {INSTALL_HINT}",
        path.display()
    );
    path
}

impl StrictS3 {
    /// Starts s3s-fs on a free loopback port with the fixed test keys and waits until it accepts
    /// connections. Panics (tests only) if it cannot.
    pub(crate) fn start() -> Self {
        let binary = s3s_fs_binary();
        let mut last_error = String::new();
        // Port 0 cannot collide, but a server that dies at startup (a full /tmp) is worth a retry.
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(&binary) {
                Ok(server) => return server,
                Err(why) => last_error = why,
            }
        }
        panic!("s3s-fs ({}) did not start: {last_error}", binary.display());
    }

    fn try_start(binary: &std::path::Path) -> Result<Self, String> {
        // To see what the server got: VODESK_S3S_FS_LOG=s3s=debug,s3s_fs=debug cargo test ... -- --nocapture
        // The address line needs s3s_fs at INFO, whatever else the filter asks for.
        let log_filter = std::env::var(LOG_ENV)
            .ok()
            .filter(|f| !f.is_empty())
            .map(|f| {
                if f.contains("s3s_fs") {
                    f
                } else {
                    format!("{f},s3s_fs=info")
                }
            });
        let root = tempfile::Builder::new()
            .prefix("vodesk-s3s-fs-")
            .tempdir()
            .map_err(|e| format!("no temporary directory: {e}"))?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(GUARD)
            .arg(binary)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            // The port appears only in an INFO log line; nothing else is logged at this level per request.
            .env("RUST_LOG", log_filter.as_deref().unwrap_or("s3s_fs=info"))
            .env_remove("RUST_LOG_STYLE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not run sh: {e}"))?;
        let stdout = child.stdout.take();
        let (tx, rx) = mpsc::channel();
        let echo = log_filter.is_some();
        std::thread::spawn(move || {
            let Some(out) = stdout else { return };
            let mut sent = false;
            // Read to the end even after the endpoint: a full pipe would block the server's logging.
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if echo {
                    eprintln!("[s3s-fs] {line}");
                }
                if !sent && let Some(at) = line.find("server is running at ") {
                    let url = line[at + "server is running at ".len()..].trim().to_owned();
                    sent = tx.send(url).is_ok();
                }
            }
        });
        let stop = |child: &mut Child, why: String| {
            stop_guard(child);
            let mut detail = String::new();
            if let Some(mut err) = child.stderr.take()
                && err.read_to_string(&mut detail).is_err()
            {
                // Its stderr only details the failure; `why` alone still says what went wrong.
            }
            let detail = detail.trim();
            if detail.is_empty() {
                why
            } else {
                format!("{why}: {detail}")
            }
        };
        let endpoint = match rx.recv_timeout(START_TIMEOUT) {
            Ok(url) if url.starts_with("http://127.0.0.1:") => url,
            Ok(url) => return Err(stop(&mut child, format!("unexpected address {url}"))),
            Err(_) => {
                return Err(stop(
                    &mut child,
                    "it exited or did not print its address within 20 s".into(),
                ));
            }
        };
        // The log line comes after bind(); a connect proves the accept loop is live.
        let addr = endpoint.trim_start_matches("http://").to_owned();
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(&addr).is_err() {
            if Instant::now() > deadline {
                return Err(stop(
                    &mut child,
                    format!("{addr} does not accept connections"),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            child,
            endpoint,
            root,
            access_key: ACCESS_KEY.to_owned(),
            secret_key: SECRET_KEY.to_owned(),
        })
    }

    /// SDK clients for this server, signed with its keys (region us-east-1, path-style addressing).
    pub(crate) async fn clients(&self) -> AwsClients {
        self.clients_with(&self.access_key, &self.secret_key).await
    }

    /// SDK clients signed with other keys, to see the server refuse them.
    pub(crate) async fn clients_with(&self, access_key: &str, secret_key: &str) -> AwsClients {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                access_key,
                secret_key,
                None,
                None,
                "vodesk-strict-s3",
            ))
            .load()
            .await;
        AwsClients::new(&config)
    }

    /// Creates a bucket (a directory under [`Self::root`]). Panics (tests only) if the server refuses.
    pub(crate) async fn create_bucket(&self, name: &str) {
        self.clients()
            .await
            .s3
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {name} on s3s-fs: {e:?}"));
    }
}

/// Stops the guard and its server: EOF on the guard's stdin first (it then stops the server and exits),
/// SIGKILL only if that takes too long (which would leave the server to die with its stdout pipe).
fn stop_guard(child: &mut Child) {
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if child.kill().is_err() {
        // It has already exited, which is the outcome wanted; the wait below reaps it.
    }
    if child.wait().is_err() {
        // Already reaped: nothing is left behind.
    }
}

impl Drop for StrictS3 {
    fn drop(&mut self) {
        stop_guard(&mut self.child);
    }
}
