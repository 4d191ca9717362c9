//! Probing a source file into the solution's `srcMediainfo` (contract §6, §10), as
//! `source/mediainfo/lambda_function.py@v6.1.13` does: the MediaInfo CLI (`mediainfo --Output=JSON`)
//! with the Lambda's track mapping applied verbatim (`parse_number`, dropping `None` keys, `colorSpace`
//! as `"<ColorSpace> <ChromaSubsampling>"`, the `profile` join, arrays only when there are such tracks),
//! or, when only ffprobe is installed, ffprobe with the §10 mapping onto the same fields.
//!
//! This module owns [`Prober`] (finding and running the tool, `VODESK_PROBE=mediainfo|ffprobe` forcing
//! one), [`SrcMediainfo`] (the parsed value plus the Python `json.dumps(indent=2)` text in §6 key
//! order), [`ProbeError`] with [`ProbeError::lambda_message`] (the Lambda's `str(err)`), and the pure
//! mappings [`map_mediainfo_output`] / [`map_ffprobe_output`].
//!
//! This file holds what the parts share: [`Tool`], [`ProbeError`] and [`SrcMediainfo`]. The parts:
//! `runner` ([`Prober`]: finding the tool, running it under the timeout), `python` (the Python
//! semantics the Lambda's error messages come from, and its `parse_number` / `compact`), `mediainfo`
//! (the Lambda's mapping, verbatim) and `ffprobe` (the §10 mapping onto the same fields).
//!
//! Failure choices, matching what the Lambda would report where it has a counterpart:
//! - mediainfo exits non-zero → `CalledProcessError` text ("Command '[…]' returned non-zero exit status
//!   1."); its output is not JSON → the `json.loads` message ("Expecting value: line 1 column 1 (char 0)"
//!   for empty output); `"media": null` (an unreadable file) → "'NoneType' object is not subscriptable";
//!   a non-numeric number field → "could not convert string to float: 'abc'".
//! - A file that is not media: mediainfo prints a General track only, so this is **not** an error (the
//!   solution's profiler fails later). ffprobe refuses it ("Invalid data found when processing
//!   input"); the runner then makes the same General track (the file's size) and maps it as the
//!   Lambda maps MediaInfo's, so both tools give the same srcMediainfo. Any other ffprobe failure is a
//!   probe error whose Lambda message is the one for "the tool printed no JSON", "Expecting value:
//!   line 1 column 1 (char 0)".
//! - Timeout (120 s) → the Lambda runtime's "Task timed out after 120.00 seconds".
//! - No tool / the tool cannot be started → no Lambda counterpart; the message names the Debian package.

mod ffprobe;
mod mediainfo;
mod python;
mod runner;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::python_json::PyValue;
use python::py_repr_str;

pub(crate) use ffprobe::map_ffprobe_output;
pub(crate) use mediainfo::map_mediainfo_output;
pub(crate) use runner::{Prober, find_on_path};

/// The environment variable forcing one tool: `mediainfo` or `ffprobe`.
pub(crate) const PROBE_ENV: &str = "VODESK_PROBE";
/// The Lambda's timeout.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(120);

/// The probing tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Mediainfo,
    Ffprobe,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Mediainfo => "mediainfo",
            Tool::Ffprobe => "ffprobe",
        }
    }

    /// The Debian package that installs it.
    pub fn debian_package(self) -> &'static str {
        match self {
            Tool::Mediainfo => "mediainfo",
            Tool::Ffprobe => "ffmpeg",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "neither mediainfo nor ffprobe is on PATH; install MediaInfo with `apt-get install mediainfo` (preferred) or ffprobe with `apt-get install ffmpeg`"
    )]
    NoTool,
    #[error(
        "{var}={name} but {name} is not on PATH; install it with `apt-get install {package}`",
        var = PROBE_ENV,
        name = .0.name(),
        package = .0.debian_package()
    )]
    ToolNotFound(Tool),
    #[error("{var} must be `mediainfo` or `ffprobe`, not {0:?}", var = PROBE_ENV)]
    BadToolChoice(String),
    #[error(
        "could not start {}: {source}; reinstall it with `apt-get install {}`",
        .path.display(),
        .tool.debian_package()
    )]
    Spawn {
        tool: Tool,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} did not finish within {} s on {}", .tool.name(), .timeout.as_secs(), .file.display())]
    Timeout {
        tool: Tool,
        file: PathBuf,
        timeout: Duration,
    },
    #[error("{} failed on {} ({status}): {stderr}", .tool.name(), .file.display())]
    Failed {
        tool: Tool,
        file: PathBuf,
        /// The command line as run, for the `CalledProcessError` text.
        command: Vec<String>,
        /// "exit status 1" or "signal 9".
        status: String,
        exit_code: Option<i32>,
        signal: Option<i32>,
        stderr: String,
    },
    #[error("the {} output of {} does not map as the Lambda's does: {message}", .tool.name(), .file.display())]
    Mapping {
        tool: Tool,
        file: PathBuf,
        /// Python's `str(err)` for the same input.
        message: String,
    },
}

impl ProbeError {
    /// The text the solution's error handler would report as `errorMessage`: Python's `str(err)` in the
    /// mediainfo Lambda (see the module comment for each case). Errors with no Lambda counterpart (no
    /// tool installed) give their own message.
    pub fn lambda_message(&self) -> String {
        match self {
            ProbeError::Mapping { message, .. } => message.clone(),
            ProbeError::Timeout { timeout, .. } => {
                format!("Task timed out after {:.2} seconds", timeout.as_secs_f64())
            }
            ProbeError::Failed {
                tool: Tool::Ffprobe,
                ..
            } => "Expecting value: line 1 column 1 (char 0)".to_owned(),
            ProbeError::Failed {
                tool: Tool::Mediainfo,
                command,
                exit_code,
                signal,
                ..
            } => {
                let list = command
                    .iter()
                    .map(|a| py_repr_str(a))
                    .collect::<Vec<_>>()
                    .join(", ");
                match (exit_code, signal) {
                    (Some(code), _) => {
                        format!("Command '[{list}]' returned non-zero exit status {code}.")
                    }
                    (None, Some(sig)) => format!("Command '[{list}]' died with signal {sig}."),
                    (None, None) => format!("Command '[{list}]' returned non-zero exit status -1."),
                }
            }
            ProbeError::Spawn { path, source, .. } => match source.raw_os_error() {
                Some(errno) => format!(
                    "[Errno {errno}] {}: {}",
                    strip_os_error(source),
                    py_repr_str(&path.to_string_lossy())
                ),
                None => self.to_string(),
            },
            other => other.to_string(),
        }
    }
}

/// "No such file or directory (os error 2)" → "No such file or directory".
fn strip_os_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// A probe result: `srcMediainfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct SrcMediainfo {
    /// The parsed structure, for reading (`container.duration`, `video[0].height`, …).
    pub value: Value,
    /// `json.dumps(metadata, indent=2)` in the Lambda's key order: what is stored in DynamoDB.
    pub text: String,
}

impl SrcMediainfo {
    /// From the Lambda-shaped `metadata` dict.
    pub fn from_py(metadata: &PyValue) -> Self {
        Self {
            value: metadata.to_json(),
            text: metadata.dumps(Some(2)),
        }
    }

    fn first_video(&self, field: &str) -> Option<u64> {
        as_whole(self.value.get("video")?.get(0)?.get(field)?)
    }

    /// `video[0].height`, what the profiler reads.
    pub fn video_height(&self) -> Option<u64> {
        self.first_video("height")
    }

    pub fn video_width(&self) -> Option<u64> {
        self.first_video("width")
    }

    /// `container.duration` in seconds.
    pub fn duration_seconds(&self) -> Option<f64> {
        self.value.get("container")?.get("duration")?.as_f64()
    }

    /// Whether there is at least one audio track.
    pub fn has_audio(&self) -> bool {
        self.value
            .get("audio")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    }
}

/// A non-negative whole number, whether stored as an int or as an integral float.
fn as_whole(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19)
            .map(|f| f as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The top-level keys as they appear in the stored text.
    pub(super) fn text_key_order(text: &str) -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("  \"") && !l.starts_with("   "))
            .filter_map(|l| l.trim().split('"').nth(1).map(str::to_owned))
            .collect()
    }

    #[test]
    fn nonzero_mediainfo_exit_reads_like_called_process_error() {
        let err = ProbeError::Failed {
            tool: Tool::Mediainfo,
            file: PathBuf::from("a.mp4"),
            command: vec![
                "/usr/bin/mediainfo".into(),
                "--Output=JSON".into(),
                "/tmp/a.mp4".into(),
            ],
            status: "exit status: 1".into(),
            exit_code: Some(1),
            signal: None,
            stderr: String::new(),
        };
        assert_eq!(
            err.lambda_message(),
            "Command '['/usr/bin/mediainfo', '--Output=JSON', '/tmp/a.mp4']' returned non-zero exit status 1."
        );
    }
}
