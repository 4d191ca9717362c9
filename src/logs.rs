//! vodesk's logs: what the terminal shows (warnings, or more with `-v`, nothing but errors with `-q`)
//! and a daily-rotated file in the platform's state folder (`~/.local/state/vodesk/logs` on Linux; the
//! last seven days kept) with vodesk's debug lines, for a bug report. Both pass through [`redact`]:
//! secret keys, session tokens and the signatures and credentials of presigned URLs never reach a log,
//! and the SDK's request signer, which traces canonical requests, is switched off whatever `RUST_LOG`
//! says.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Names the log folder instead of the platform's (tests, or a user who wants them elsewhere).
pub const LOG_DIR_ENV: &str = "VODESK_LOG_DIR";

/// Rotated files kept: a week of days.
const KEPT_FILES: usize = 7;

/// What the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// Warnings (the default).
    Normal,
    /// vodesk's debug lines (`-v`).
    Verbose,
    /// Everything, the SDK's included (`-vv`).
    Trace,
}

/// The folder of the log files.
pub fn log_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(LOG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "vodesk")?;
    let base = dirs
        .state_dir()
        .map_or_else(|| dirs.data_local_dir().to_path_buf(), PathBuf::from);
    Some(base.join("logs"))
}

/// Keeps the file writer's thread running: dropped last, it writes what is still queued.
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Installs the terminal and file logs once per process. A log folder that cannot be made costs only
/// the file (said on the terminal).
pub fn init(verbosity: Verbosity) -> LogGuard {
    let terminal_level = match verbosity {
        Verbosity::Quiet => "error",
        // winit warns about harmless X11 details (XSETTINGS, screen size) on every start.
        Verbosity::Normal => "warn,winit=error",
        Verbosity::Verbose => "vodesk=debug,info",
        Verbosity::Trace => "vodesk=trace,debug",
    };
    let secrets = Secrets::from_env();
    let terminal = tracing_subscriber::fmt::layer()
        .with_writer(Redacting {
            inner: std::io::stderr,
            secrets: secrets.clone(),
        })
        .with_filter(filter(terminal_level, true));
    let (file, guard, problem) = match file_writer() {
        Ok((writer, guard)) => {
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(Redacting {
                    inner: writer,
                    secrets,
                })
                .with_filter(filter("vodesk=debug,info,winit=error", false));
            (Some(layer), Some(guard), None)
        }
        Err(problem) => (None, None, Some(problem)),
    };
    let installed = tracing_subscriber::registry()
        .with(terminal)
        .with(file)
        .try_init();
    if installed.is_err() {
        // A global subscriber is already installed (set once per process): logs go to that one.
    }
    if let Some(problem) = problem {
        tracing::warn!("no log file: {problem}");
    }
    // The first line of each run in the file: which vodesk wrote what follows.
    tracing::debug!("vodesk {} started", env!("CARGO_PKG_VERSION"));
    LogGuard { _file: guard }
}

/// `default` unless `RUST_LOG` says otherwise (for the terminal only), always without the signer.
fn filter(default: &str, from_env: bool) -> EnvFilter {
    let mut filter = if from_env {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
    } else {
        EnvFilter::new(default)
    };
    // The SDK's signer traces each canonical request, and a presigned one carries the session token in
    // its query string: never logged (it logs nothing else).
    if let Ok(signer) = "aws_sigv4=off".parse() {
        filter = filter.add_directive(signer);
    }
    filter
}

fn file_writer() -> Result<
    (
        tracing_appender::non_blocking::NonBlocking,
        tracing_appender::non_blocking::WorkerGuard,
    ),
    String,
> {
    let dir = log_dir().ok_or("no home folder to keep logs in")?;
    crate::aws::upload::journal::create_private_dir(&dir)
        .map_err(|err| format!("{} could not be made: {err}", dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("vodesk")
        .filename_suffix("log")
        .max_log_files(KEPT_FILES)
        .build(&dir)
        .map_err(|err| format!("{} cannot hold logs: {err}", dir.display()))?;
    Ok(tracing_appender::non_blocking(appender))
}

/// The secret values this process knows of, replaced wherever they appear.
#[derive(Debug, Clone, Default)]
struct Secrets(Arc<Vec<String>>);

impl Secrets {
    fn from_env() -> Self {
        let values = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            // A value this short would blank out ordinary words; the patterns still catch it in URLs.
            .filter(|value| value.len() >= 16)
            .collect();
        Self(Arc::new(values))
    }
}

/// Query parameters and fields whose values are secret (presigned URLs, credential dumps).
const SECRET_NAMES: [&str; 7] = [
    "X-Amz-Signature=",
    "X-Amz-Security-Token=",
    "X-Amz-Credential=",
    "Signature=",
    "aws_secret_access_key",
    "aws_session_token",
    "session_token",
];

/// `text` with every secret value replaced by `[redacted]`: the values after [`SECRET_NAMES`] (up to
/// the next `&`, space, quote or comma) and the secrets known from the environment.
pub fn redact(text: &str, known: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in known {
        if !secret.is_empty() {
            out = out.replace(secret.as_str(), "[redacted]");
        }
    }
    for name in SECRET_NAMES {
        let mut searched = 0;
        while let Some(found) = find_ignoring_case(&out[searched..], name) {
            let mut start = searched + found + name.len();
            // `aws_session_token = "…"`, `session_token: …`: skip the separator to the value.
            start += out[start..]
                .find(|c: char| !matches!(c, ' ' | '=' | ':' | '"' | '\''))
                .unwrap_or(out.len() - start);
            let end = out[start..]
                .find(['&', ' ', '"', '\'', ',', '\n', ')', '}'])
                .map_or(out.len(), |n| start + n);
            if end > start && &out[start..end] != "[redacted]" {
                out.replace_range(start..end, "[redacted]");
            }
            searched = start + "[redacted]".len().min(out.len() - start);
        }
    }
    out
}

fn find_ignoring_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// A writer that redacts each formatted event before it reaches `inner`.
struct Redacting<M> {
    inner: M,
    secrets: Secrets,
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.inner.make_writer(),
            secrets: self.secrets.clone(),
        }
    }
}

/// The fmt layer writes one event per `write` call (formatted into one buffer first).
struct RedactingWriter<W> {
    inner: W,
    secrets: Secrets,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner
            .write_all(redact(&text, &self.secrets.0).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_urls_and_credentials_lose_their_secrets() {
        let url = "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE&X-Amz-Signature=0123abcd&X-Amz-Expires=3600";
        let out = redact(url, &[]);
        for secret in ["AKIAEXAMPLE", "IQoJb3JpZ2luX2VjEXAMPLE", "0123abcd"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("X-Amz-Expires=3600"), "{out}");
        let dump =
            r#"Credentials { aws_secret_access_key: "wJalrXUtnFEMI", session_token: "FwoG" }"#;
        let out = redact(dump, &[]);
        assert!(
            !out.contains("wJalrXUtnFEMI") && !out.contains("FwoG"),
            "{out}"
        );
    }

    #[test]
    fn known_secrets_are_replaced_anywhere() {
        let known = vec!["s3cr3t-value-0123456789".to_owned()];
        let out = redact("oops: s3cr3t-value-0123456789 leaked", &known);
        assert_eq!(out, "oops: [redacted] leaked");
    }
}
