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
//! Failure choices, matching what the Lambda would report where it has a counterpart:
//! - mediainfo exits non-zero → `CalledProcessError` text ("Command '[…]' returned non-zero exit status
//!   1."); its output is not JSON → the `json.loads` message ("Expecting value: line 1 column 1 (char 0)"
//!   for empty output); `"media": null` (an unreadable file) → "'NoneType' object is not subscriptable";
//!   a non-numeric number field → "could not convert string to float: 'abc'".
//! - A file that is not media: mediainfo prints a General track only, so this is **not** an error (the
//!   solution's profiler fails later). ffprobe exits non-zero on it instead; that is a probe error whose
//!   Lambda message is the one for "the tool printed no JSON", "Expecting value: line 1 column 1 (char 0)".
//! - Timeout (120 s) → the Lambda runtime's "Task timed out after 120.00 seconds".
//! - No tool / the tool cannot be started → no Lambda counterpart; the message names the Debian package.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::python_json::{PyValue, float_repr};

/// The environment variable forcing one tool: `mediainfo` or `ffprobe`.
pub const PROBE_ENV: &str = "VODESK_PROBE";
/// The Lambda's timeout.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(120);

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

/// Finds and runs the probing tool.
#[derive(Debug, Clone)]
pub struct Prober {
    tool: Tool,
    path: PathBuf,
    timeout: Duration,
}

impl Prober {
    /// Finds mediainfo (preferred) or ffprobe on PATH; `VODESK_PROBE=mediainfo|ffprobe` forces one.
    /// The error says which Debian package to install.
    pub fn detect() -> Result<Prober, ProbeError> {
        match std::env::var(PROBE_ENV) {
            Ok(choice) if !choice.trim().is_empty() => {
                match choice.trim().to_ascii_lowercase().as_str() {
                    "mediainfo" => Self::with_tool(Tool::Mediainfo),
                    "ffprobe" => Self::with_tool(Tool::Ffprobe),
                    _ => Err(ProbeError::BadToolChoice(choice)),
                }
            }
            Err(std::env::VarError::NotUnicode(raw)) => Err(ProbeError::BadToolChoice(
                raw.to_string_lossy().into_owned(),
            )),
            _ => Self::with_tool(Tool::Mediainfo)
                .or_else(|_| Self::with_tool(Tool::Ffprobe))
                .map_err(|_| ProbeError::NoTool),
        }
    }

    /// This tool, found on PATH (ignores `VODESK_PROBE`).
    pub fn with_tool(tool: Tool) -> Result<Prober, ProbeError> {
        let path = find_on_path(tool.name()).ok_or(ProbeError::ToolNotFound(tool))?;
        Ok(Self::with_tool_path(tool, path))
    }

    /// This tool at this path (not checked until [`Prober::probe`] runs it).
    pub fn with_tool_path(tool: Tool, path: PathBuf) -> Prober {
        Prober {
            tool,
            path,
            timeout: PROBE_TIMEOUT,
        }
    }

    /// Another timeout than the Lambda's 120 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Prober {
        self.timeout = timeout;
        self
    }

    pub fn tool(&self) -> Tool {
        self.tool
    }

    /// "mediainfo" or "ffprobe".
    pub fn tool_name(&self) -> &'static str {
        self.tool.name()
    }

    pub fn tool_path(&self) -> &Path {
        &self.path
    }

    /// Runs the tool on `path` (killed after the timeout) and maps its output; `src_video` is the S3
    /// key, written as `filename`.
    pub async fn probe(&self, path: &Path, src_video: &str) -> Result<SrcMediainfo, ProbeError> {
        let target = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        match self.tool {
            Tool::Mediainfo => {
                args.push("--Output=JSON".into());
                args.push(target.clone().into_os_string());
            }
            Tool::Ffprobe => {
                // `-protocol_whitelist file`: the source is read from this machine's file system
                // only, never fetched from a network address it names.
                for a in [
                    "-v",
                    "error",
                    "-protocol_whitelist",
                    "file",
                    "-print_format",
                    "json",
                    "-show_format",
                    "-show_streams",
                ] {
                    args.push(a.into());
                }
                // `file:` so that a colon in the name is not read as a protocol.
                let mut input = std::ffi::OsString::from("file:");
                input.push(target.as_os_str());
                args.push(input);
            }
        }
        let child = tokio::process::Command::new(&self.path)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ProbeError::Spawn {
                tool: self.tool,
                path: self.path.clone(),
                source,
            })?;
        // On timeout the future, and with it the child, is dropped: kill_on_drop kills it.
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| ProbeError::Timeout {
                tool: self.tool,
                file: path.to_path_buf(),
                timeout: self.timeout,
            })?
            .map_err(|source| ProbeError::Spawn {
                tool: self.tool,
                path: self.path.clone(),
                source,
            })?;
        if !output.status.success() {
            let mut command = vec![self.path.to_string_lossy().into_owned()];
            command.extend(args.iter().map(|a| a.to_string_lossy().into_owned()));
            let exit_code = output.status.code();
            #[cfg(unix)]
            let signal = std::os::unix::process::ExitStatusExt::signal(&output.status);
            #[cfg(not(unix))]
            let signal = None;
            return Err(ProbeError::Failed {
                tool: self.tool,
                file: path.to_path_buf(),
                command,
                status: output.status.to_string(),
                exit_code,
                signal,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        match self.tool {
            Tool::Mediainfo => map_mediainfo_output(&output.stdout, path, src_video),
            Tool::Ffprobe => map_ffprobe_output(&output.stdout, path, src_video),
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    match std::fs::metadata(path) {
        #[cfg(unix)]
        Ok(meta) => {
            use std::os::unix::fs::PermissionsExt;
            meta.is_file() && meta.permissions().mode() & 0o111 != 0
        }
        #[cfg(not(unix))]
        Ok(meta) => meta.is_file(),
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------------------------------
// Python semantics. `Err(String)` is Python's `str(err)` for the exception the Lambda would raise.
// ---------------------------------------------------------------------------------------------------

type PyResult<T> = Result<T, String>;

fn py_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `repr(s)` for a Python str.
fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control()
                || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{feff}') =>
            {
                let code = u32::from(c);
                if code < 0x100 {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code < 0x10000 {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `repr(x)` of a JSON-loaded value (used only inside `str.format` of a list or dict).
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => float_repr(f),
            _ => n.to_string(),
        },
        Value::String(s) => py_repr_str(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", py_repr_str(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `str(x)`, as `'{0}'.format(x)` writes it.
fn py_str(v: Option<&Value>) -> String {
    match v {
        None => "None".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => py_repr(other),
    }
}

/// `obj[key]` with a str key.
fn py_getitem<'a>(obj: &'a Value, key: &str) -> PyResult<&'a Value> {
    match obj {
        Value::Object(map) => map.get(key).ok_or_else(|| py_repr_str(key)),
        Value::Array(_) => Err("list indices must be integers or slices, not str".to_owned()),
        Value::String(_) => Err("string indices must be integers, not 'str'".to_owned()),
        other => Err(format!(
            "'{}' object is not subscriptable",
            py_type_name(other)
        )),
    }
}

/// Python `int(s)` for a str: surrounding whitespace, a sign, ASCII digits with single underscores
/// between them. Ints beyond 128 bits are not representable here and fall through to `float`.
fn py_int(s: &str) -> Option<i128> {
    let t = s.trim();
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if !valid_underscores(body)
        || body.is_empty()
        || !body.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    let magnitude: i128 = digits.parse().ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Each `_` must sit between two ASCII digits.
fn valid_underscores(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        *b != b'_'
            || (i > 0
                && bytes[i - 1].is_ascii_digit()
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
    })
}

/// Python `float(s)` for a str.
fn py_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || !valid_underscores(t) {
        return None;
    }
    let cleaned: String = t.chars().filter(|c| *c != '_').collect();
    cleaned.parse::<f64>().ok()
}

/// The Lambda's `parse_number`: `None` stays `None`; else `int(x)`, and on `ValueError` `float(x)`.
fn parse_number(v: Option<&Value>) -> PyResult<PyValue> {
    match v {
        None | Some(Value::Null) => Ok(PyValue::None),
        Some(Value::String(s)) => py_int(s)
            .map(PyValue::Int)
            .or_else(|| py_float(s).map(PyValue::Float))
            .ok_or_else(|| format!("could not convert string to float: {}", py_repr_str(s))),
        Some(Value::Bool(b)) => Ok(PyValue::Int(i128::from(*b))),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Ok(PyValue::Int(i128::from(i))),
            (None, Some(u), _) => Ok(PyValue::Int(i128::from(u))),
            // int(2.5) == 2: a JSON float is truncated, not a ValueError.
            (None, None, Some(f)) => Ok(PyValue::Int(f.trunc() as i128)),
            _ => Ok(PyValue::None),
        },
        Some(other) => Err(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            py_type_name(other)
        )),
    }
}

/// `track.get(key)` stored as is.
fn copy(track: &Value, key: &str) -> PyValue {
    track
        .get(key)
        .map(PyValue::from_json)
        .unwrap_or(PyValue::None)
}

/// The Lambda's `compact`: drops `None` values.
fn compact(attributes: PyValue) -> PyValue {
    match attributes {
        PyValue::Dict(entries) => PyValue::Dict(
            entries
                .into_iter()
                .filter(|(_, v)| *v != PyValue::None)
                .collect(),
        ),
        other => other,
    }
}

/// `json.loads(output)`, with Python's messages (exact for empty output and for output that does not
/// start like JSON; positions of other syntax errors come from serde_json and may differ slightly).
fn json_loads(output: &[u8]) -> PyResult<Value> {
    let text = std::str::from_utf8(output).map_err(|e| {
        let at = e.valid_up_to();
        let byte = output.get(at).copied().unwrap_or(0);
        format!("'utf-8' codec can't decode byte 0x{byte:02x} in position {at}: invalid start byte")
    })?;
    serde_json::from_str(text).map_err(|e| {
        // Python skips JSON whitespace before the value; an error right there is "Expecting value".
        let start = text
            .char_indices()
            .find(|(_, c)| !matches!(c, ' ' | '\t' | '\n' | '\r'))
            .map(|(i, _)| i)
            .unwrap_or(text.len());
        let first = text[start..].chars().next();
        let starts_value = matches!(
            first,
            Some('{' | '[' | '"' | '-' | '0'..='9' | 't' | 'f' | 'n' | 'N' | 'I')
        );
        let (kind, at) = if !starts_value {
            ("Expecting value", start)
        } else if e.to_string().starts_with("trailing characters") {
            (
                "Extra data",
                byte_offset(text, e.line(), e.column().saturating_sub(1)),
            )
        } else {
            (
                "Expecting value",
                byte_offset(text, e.line(), e.column().saturating_sub(1)),
            )
        };
        python_position(kind, text, at)
    })
}

/// Byte offset of 1-based `line` and 0-based `column` (serde_json counts columns in bytes).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (n, l) in text.split_inclusive('\n').enumerate() {
        if n + 1 == line {
            return (offset + column).min(text.len());
        }
        offset += l.len();
    }
    text.len()
}

/// `"{kind}: line {l} column {c} (char {n})"` as Python's JSONDecodeError, in characters.
fn python_position(kind: &str, text: &str, byte_at: usize) -> String {
    let mut at = byte_at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let pos = before.chars().count();
    let line = before.matches('\n').count() + 1;
    let column = match before.rfind('\n') {
        Some(nl) => before[nl + 1..].chars().count() + 1,
        None => pos + 1,
    };
    format!("{kind}: line {line} column {column} (char {pos})")
}

// ---------------------------------------------------------------------------------------------------
// MediaInfo: the Lambda's mapping, verbatim.
// ---------------------------------------------------------------------------------------------------

/// Maps `mediainfo --Output=JSON` output as the Lambda does. `file` is only for error messages.
pub fn map_mediainfo_output(
    stdout: &[u8],
    file: &Path,
    src_video: &str,
) -> Result<SrcMediainfo, ProbeError> {
    mediainfo_metadata(stdout, src_video)
        .map(|metadata| SrcMediainfo::from_py(&metadata))
        .map_err(|message| ProbeError::Mapping {
            tool: Tool::Mediainfo,
            file: file.to_path_buf(),
            message,
        })
}

fn mediainfo_metadata(stdout: &[u8], src_video: &str) -> PyResult<PyValue> {
    let mut metadata = PyValue::dict();
    metadata.set("filename", PyValue::Str(src_video.to_owned()));
    let json_content = json_loads(stdout)?;
    let tracks = py_getitem(py_getitem(&json_content, "media")?, "track")?;
    let mut video = Vec::new();
    let mut audio = Vec::new();
    let mut text = Vec::new();
    // `setdefault` puts each array key where its first track is met; `set` keeps that position.
    let items: Vec<Value> = match tracks {
        Value::Array(items) => items.clone(),
        // Iterating a dict gives its keys, a str its characters: both then fail on `track['@type']`.
        Value::Object(map) => map.keys().cloned().map(Value::String).collect(),
        Value::String(s) => s.chars().map(|c| Value::String(c.to_string())).collect(),
        other => {
            return Err(format!("'{}' object is not iterable", py_type_name(other)));
        }
    };
    for track in &items {
        let track_type = py_getitem(track, "@type")?;
        match track_type.as_str() {
            Some("General") => {
                metadata.set("container", general_attributes(track)?);
            }
            Some("Video") => {
                video.push(video_attributes(track)?);
                metadata.set("video", PyValue::List(video.clone()));
            }
            Some("Audio") => {
                audio.push(audio_attributes(track)?);
                metadata.set("audio", PyValue::List(audio.clone()));
            }
            Some("Text") => {
                text.push(text_attributes(track)?);
                metadata.set("text", PyValue::List(text.clone()));
            }
            _ => {} // "Unsupported: …" is only printed.
        }
    }
    Ok(metadata)
}

fn common_attributes(track: &Value) -> PyResult<PyValue> {
    let mut attributes = PyValue::dict();
    attributes.set("codec", copy(track, "Format"));
    let level = match track.get("Format_Level") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Value::String(format!("L{s}"))),
        Some(other) => {
            return Err(format!(
                "can only concatenate str (not \"{}\") to str",
                py_type_name(other)
            ));
        }
    };
    let values: Vec<&Value> = [
        track.get("Format_Profile"),
        level.as_ref(),
        track.get("Format_Tier"),
    ]
    .into_iter()
    .flatten()
    .filter(|v| !v.is_null())
    .collect();
    let mut parts = Vec::new();
    for (n, v) in values.iter().enumerate() {
        match v {
            Value::String(s) => parts.push(s.as_str()),
            other => {
                return Err(format!(
                    "sequence item {n}: expected str instance, {} found",
                    py_type_name(other)
                ));
            }
        }
    }
    let profile = parts.join("@");
    if !profile.is_empty() {
        attributes.set("profile", PyValue::Str(profile));
    }
    attributes.set("bitrate", parse_number(track.get("BitRate"))?);
    attributes.set("duration", parse_number(track.get("Duration"))?);
    attributes.set("frameCount", parse_number(track.get("FrameCount"))?);
    Ok(attributes)
}

fn general_attributes(track: &Value) -> PyResult<PyValue> {
    let mut attributes = PyValue::dict();
    attributes.set("format", copy(track, "Format"));
    attributes.set("fileSize", parse_number(track.get("FileSize"))?);
    attributes.set("duration", parse_number(track.get("Duration"))?);
    attributes.set("totalBitrate", parse_number(track.get("OverallBitRate"))?);
    Ok(compact(attributes))
}

fn video_attributes(track: &Value) -> PyResult<PyValue> {
    let mut attributes = common_attributes(track)?;
    attributes.set("width", parse_number(track.get("Width"))?);
    attributes.set("height", parse_number(track.get("Height"))?);
    attributes.set("framerate", parse_number(track.get("FrameRate"))?);
    attributes.set("scanType", copy(track, "ScanType"));
    attributes.set("aspectRatio", copy(track, "DisplayAspectRatio"));
    attributes.set("bitDepth", parse_number(track.get("BitDepth"))?);
    attributes.set(
        "colorSpace",
        PyValue::Str(format!(
            "{} {}",
            py_str(track.get("ColorSpace")),
            py_str(track.get("ChromaSubsampling"))
        )),
    );
    Ok(compact(attributes))
}

fn audio_attributes(track: &Value) -> PyResult<PyValue> {
    let mut attributes = common_attributes(track)?;
    attributes.set("bitrateMode", copy(track, "BitRate_Mode"));
    attributes.set("language", copy(track, "Language"));
    attributes.set("channels", parse_number(track.get("Channels"))?);
    attributes.set("samplingRate", parse_number(track.get("SamplingRate"))?);
    attributes.set(
        "samplePerFrame",
        parse_number(track.get("SamplesPerFrame"))?,
    );
    Ok(compact(attributes))
}

fn text_attributes(track: &Value) -> PyResult<PyValue> {
    let mut attributes = PyValue::dict();
    attributes.set("id", copy(track, "ID"));
    attributes.set("format", copy(track, "Format"));
    attributes.set("duration", parse_number(track.get("Duration"))?);
    attributes.set("frameCount", parse_number(track.get("Count"))?);
    // Upstream runs parse_number on this too, so a name such as "CC1" fails the Lambda.
    attributes.set(
        "captionServiceName",
        parse_number(track.get("CaptionServiceName"))?,
    );
    Ok(compact(attributes))
}

// ---------------------------------------------------------------------------------------------------
// ffprobe: the §10 mapping onto the same fields, shaped as MediaInfo would report them.
// ---------------------------------------------------------------------------------------------------

/// Maps `ffprobe -print_format json -show_format -show_streams` output onto the §6 structure. `file` gives
/// the extension (`.webm` → `WebM`) and error messages.
pub fn map_ffprobe_output(
    stdout: &[u8],
    file: &Path,
    src_video: &str,
) -> Result<SrcMediainfo, ProbeError> {
    ffprobe_metadata(stdout, file, src_video)
        .map(|metadata| SrcMediainfo::from_py(&metadata))
        .map_err(|message| ProbeError::Mapping {
            tool: Tool::Ffprobe,
            file: file.to_path_buf(),
            message,
        })
}

/// A numeric string rounded to 3 decimals ("2.000000" → "2.000"), as MediaInfo prints durations.
fn ms3(s: &str) -> Option<String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| format!("{f:.3}"))
}

/// "30000/1001" → 29.97002997…
fn ratio(s: &str, sep: char) -> Option<f64> {
    let (n, d) = s.split_once(sep)?;
    let n: f64 = n.trim().parse().ok()?;
    let d: f64 = d.trim().parse().ok()?;
    (n > 0.0 && d > 0.0).then_some(n / d)
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A field as text, whether ffprobe wrote it as a string or a number.
fn text_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A tag, in any letter case and with or without a `-eng` style suffix (Matroska writes `DURATION`).
fn tag(stream: &Value, name: &str) -> Option<String> {
    let tags = stream.get("tags")?.as_object()?;
    tags.iter()
        .find(|(k, _)| {
            k.eq_ignore_ascii_case(name)
                || k.split_once('-')
                    .is_some_and(|(base, _)| base.eq_ignore_ascii_case(name))
        })
        .and_then(|(_, v)| v.as_str().map(str::to_owned))
}

/// "00:00:01.000000000" → "1.000".
fn hms_seconds(s: &str) -> Option<String> {
    let mut total = 0.0;
    for part in s.trim().split(':') {
        total = total * 60.0 + part.parse::<f64>().ok()?;
    }
    ms3(&total.to_string())
}

fn number_from(text: Option<String>) -> PyResult<PyValue> {
    match text {
        Some(s) => parse_number(Some(&Value::String(s))),
        None => Ok(PyValue::None),
    }
}

fn container_format(format_name: &str, file: &Path) -> String {
    let first = format_name.split(',').next().unwrap_or(format_name);
    let is_webm = file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("webm"));
    match first {
        "mov" | "mp4" | "m4a" | "3gp" | "3g2" | "mj2" => "MPEG-4",
        "matroska" | "webm" if is_webm => "WebM",
        "matroska" | "webm" => "Matroska",
        "mpegts" => "MPEG-TS",
        "mpeg" | "vob" => "MPEG-PS",
        "mxf" | "mxf_d10" | "mxf_opatom" => "MXF",
        "asf" => "Windows Media",
        "h264" => "AVC",
        "hevc" => "HEVC",
        "mpegvideo" => "MPEG Video",
        "avi" => "AVI",
        "flv" => "Flash Video",
        "hls" => "HLS",
        "wav" => "Wave",
        "mp3" => "MPEG Audio",
        "aac" => "ADTS",
        "ogg" => "Ogg",
        _ => return format_name.to_owned(),
    }
    .to_owned()
}

fn codec_format(codec: &str) -> String {
    if codec.starts_with("pcm_") {
        return "PCM".to_owned();
    }
    match codec {
        "h264" => "AVC",
        "hevc" => "HEVC",
        "vp9" => "VP9",
        "vp8" => "VP8",
        "av1" => "AV1",
        "mpeg2video" | "mpeg1video" => "MPEG Video",
        "mpeg4" => "MPEG-4 Visual",
        "prores" => "ProRes",
        "vc1" | "wmv3" => "VC-1",
        "dnxhd" => "VC-3",
        "mjpeg" => "JPEG",
        "aac" => "AAC",
        "ac3" => "AC-3",
        "eac3" => "E-AC-3",
        "opus" => "Opus",
        "mp2" | "mp3" | "mp1" => "MPEG Audio",
        "flac" => "FLAC",
        "vorbis" => "Vorbis",
        "alac" => "ALAC",
        "dts" => "DTS",
        "mov_text" => "Timed Text",
        "subrip" => "UTF-8",
        "webvtt" => "WebVTT",
        "ass" => "ASS",
        "ssa" => "SSA",
        "eia_608" => "EIA-608",
        "dvd_subtitle" => "VobSub",
        "hdmv_pgs_subtitle" => "PGS",
        "dvb_subtitle" => "DVB Subtitle",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// MediaInfo's `Format_Profile@L<Format_Level>@Format_Tier` from ffprobe's `profile` and `level`.
fn ffprobe_profile(codec: &str, stream: &Value) -> Option<String> {
    let profile = str_field(stream, "profile").filter(|p| *p != "unknown");
    let level = stream
        .get("level")
        .and_then(Value::as_i64)
        .filter(|l| *l >= 0);
    let (profile, level, tier) = match codec {
        "h264" => (
            profile.map(str::to_owned),
            level.map(|l| match l {
                9 => "1b".to_owned(),
                l if l % 10 == 0 => (l / 10).to_string(),
                l => format!("{}.{}", l / 10, l % 10),
            }),
            None,
        ),
        // ffprobe does not report the tier; almost all streams are Main tier.
        "hevc" => (
            profile.map(str::to_owned),
            level.map(|l| match (l / 30, (l % 30) / 3) {
                (major, 0) => major.to_string(),
                (major, minor) => format!("{major}.{minor}"),
            }),
            Some("Main".to_owned()),
        ),
        "vp9" => (
            profile.map(|p| p.trim_start_matches("Profile ").to_owned()),
            None,
            None,
        ),
        "av1" => (
            profile.map(str::to_owned),
            level.map(|l| format!("{}.{}", 2 + l / 4, l % 4)),
            None,
        ),
        "mpeg2video" => (
            profile.map(str::to_owned),
            level.and_then(|l| match l {
                4 => Some("High".to_owned()),
                6 => Some("High 1440".to_owned()),
                8 => Some("Main".to_owned()),
                10 => Some("Low".to_owned()),
                _ => None,
            }),
            None,
        ),
        "mp3" => (Some("Layer 3".to_owned()), None, None),
        "mp2" => (Some("Layer 2".to_owned()), None, None),
        "mp1" => (Some("Layer 1".to_owned()), None, None),
        "prores" => (profile.map(str::to_owned), None, None),
        // MediaInfo reports no profile for AAC (LC is a "feature"), AC-3, Opus, PCM…
        _ => (None, None, None),
    };
    let parts: Vec<String> = [profile, level.map(|l| format!("L{l}")), tier]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join("@"))
}

fn stream_duration(stream: &Value) -> Option<String> {
    text_field(stream, "duration")
        .and_then(|d| ms3(&d))
        .or_else(|| tag(stream, "DURATION").and_then(|d| hms_seconds(&d)))
}

/// `pix_fmt` → (ColorSpace, ChromaSubsampling, BitDepth), as MediaInfo names them.
fn pixel_format(pix_fmt: &str) -> (Option<&'static str>, Option<&'static str>, Option<u32>) {
    let depth = if pix_fmt.contains("16") {
        Some(16)
    } else if pix_fmt.contains("12") {
        Some(12)
    } else if pix_fmt.contains("10") || pix_fmt.starts_with("p010") {
        Some(10)
    } else {
        Some(8)
    };
    if pix_fmt.starts_with("yuv") || pix_fmt.starts_with("yuvj") {
        let chroma = if pix_fmt.contains("420") {
            Some("4:2:0")
        } else if pix_fmt.contains("422") {
            Some("4:2:2")
        } else if pix_fmt.contains("444") {
            Some("4:4:4")
        } else if pix_fmt.contains("411") {
            Some("4:1:1")
        } else {
            None
        };
        (Some("YUV"), chroma, depth)
    } else if pix_fmt.starts_with("nv12")
        || pix_fmt.starts_with("p010")
        || pix_fmt.starts_with("nv21")
    {
        (Some("YUV"), Some("4:2:0"), depth)
    } else if pix_fmt.starts_with("nv16")
        || pix_fmt.starts_with("uyvy")
        || pix_fmt.starts_with("yuyv")
    {
        (Some("YUV"), Some("4:2:2"), depth)
    } else if pix_fmt.starts_with("gbr") || pix_fmt.starts_with("rgb") || pix_fmt.starts_with("bgr")
    {
        (Some("RGB"), None, depth)
    } else if pix_fmt.starts_with("gray") {
        (Some("Y"), None, depth)
    } else {
        (None, None, None)
    }
}

/// ISO 639-2 → the ISO 639-1 code MediaInfo prints; "und" means no language.
fn language(code: &str) -> Option<String> {
    let short = match code {
        "und" | "" => return None,
        "eng" => "en",
        "fra" | "fre" => "fr",
        "deu" | "ger" => "de",
        "spa" => "es",
        "ita" => "it",
        "por" => "pt",
        "jpn" => "ja",
        "zho" | "chi" => "zh",
        "kor" => "ko",
        "rus" => "ru",
        "ara" => "ar",
        "hin" => "hi",
        "nld" | "dut" => "nl",
        "swe" => "sv",
        "nor" => "no",
        "dan" => "da",
        "fin" => "fi",
        "pol" => "pl",
        "tur" => "tr",
        "ell" | "gre" => "el",
        "heb" => "he",
        "cat" => "ca",
        other => other,
    };
    Some(short.to_owned())
}

fn ffprobe_metadata(stdout: &[u8], file: &Path, src_video: &str) -> PyResult<PyValue> {
    let mut metadata = PyValue::dict();
    metadata.set("filename", PyValue::Str(src_video.to_owned()));
    let root = json_loads(stdout)?;
    let format = root.get("format").cloned().unwrap_or(Value::Null);
    let mut container = PyValue::dict();
    container.set(
        "format",
        str_field(&format, "format_name")
            .map(|f| PyValue::Str(container_format(f, file)))
            .unwrap_or(PyValue::None),
    );
    container.set("fileSize", number_from(text_field(&format, "size"))?);
    container.set(
        "duration",
        number_from(text_field(&format, "duration").and_then(|d| ms3(&d)))?,
    );
    container.set(
        "totalBitrate",
        number_from(text_field(&format, "bit_rate"))?,
    );
    metadata.set("container", compact(container));

    let streams = root
        .get("streams")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (mut video, mut audio, mut text) = (Vec::new(), Vec::new(), Vec::new());
    for stream in &streams {
        let codec_name = str_field(stream, "codec_name").unwrap_or("");
        match str_field(stream, "codec_type") {
            Some("video") => {
                let attached_pic = stream
                    .get("disposition")
                    .and_then(|d| d.get("attached_pic"))
                    .and_then(Value::as_i64)
                    == Some(1);
                if !attached_pic {
                    video.push(ffprobe_video(stream, codec_name)?);
                }
            }
            Some("audio") => audio.push(ffprobe_audio(stream, codec_name)?),
            Some("subtitle") => text.push(ffprobe_text(stream, codec_name)?),
            _ => {}
        }
    }
    // MediaInfo lists Video, then Audio, then Text tracks.
    for (key, list) in [("video", video), ("audio", audio), ("text", text)] {
        if !list.is_empty() {
            metadata.set(key, PyValue::List(list));
        }
    }
    Ok(metadata)
}

fn ffprobe_common(stream: &Value, codec_name: &str) -> PyResult<PyValue> {
    let mut attributes = PyValue::dict();
    attributes.set(
        "codec",
        if codec_name.is_empty() {
            PyValue::None
        } else {
            PyValue::Str(codec_format(codec_name))
        },
    );
    if let Some(profile) = ffprobe_profile(codec_name, stream) {
        attributes.set("profile", PyValue::Str(profile));
    }
    attributes.set(
        "bitrate",
        number_from(text_field(stream, "bit_rate").or_else(|| tag(stream, "BPS")))?,
    );
    attributes.set("duration", number_from(stream_duration(stream))?);
    attributes.set(
        "frameCount",
        number_from(text_field(stream, "nb_frames").or_else(|| tag(stream, "NUMBER_OF_FRAMES")))?,
    );
    Ok(attributes)
}

fn ffprobe_video(stream: &Value, codec_name: &str) -> PyResult<PyValue> {
    let mut attributes = ffprobe_common(stream, codec_name)?;
    let fps = str_field(stream, "r_frame_rate").and_then(|r| ratio(r, '/'));
    if attributes
        .get("frameCount")
        .is_none_or(|v| *v == PyValue::None)
    {
        // MediaInfo derives it from duration × frame rate when the container does not store it.
        let derived = match (stream_duration(stream), fps) {
            (Some(d), Some(fps)) => d
                .parse::<f64>()
                .ok()
                .map(|d| format!("{}", (d * fps).round() as i64)),
            _ => None,
        };
        attributes.set("frameCount", number_from(derived)?);
    }
    let width = stream.get("width").and_then(Value::as_u64);
    let height = stream.get("height").and_then(Value::as_u64);
    attributes.set("width", number_from(width.map(|w| w.to_string()))?);
    attributes.set("height", number_from(height.map(|h| h.to_string()))?);
    attributes.set("framerate", number_from(fps.map(|f| format!("{f:.3}")))?);
    let scan = match str_field(stream, "field_order") {
        Some("progressive") => Some("Progressive"),
        Some("tt" | "bb" | "tb" | "bt") => Some("Interlaced"),
        _ => None,
    };
    attributes.set(
        "scanType",
        scan.map(|s| PyValue::Str(s.to_owned()))
            .unwrap_or(PyValue::None),
    );
    let dar = str_field(stream, "display_aspect_ratio")
        .and_then(|r| ratio(r, ':'))
        .or_else(|| {
            let sar = str_field(stream, "sample_aspect_ratio")
                .and_then(|r| ratio(r, ':'))
                .unwrap_or(1.0);
            match (width, height) {
                (Some(w), Some(h)) if h > 0 => Some(w as f64 / h as f64 * sar),
                _ => None,
            }
        });
    attributes.set(
        "aspectRatio",
        dar.map(|d| PyValue::Str(format!("{d:.3}")))
            .unwrap_or(PyValue::None),
    );
    let (color_space, chroma, pix_depth) = pixel_format(str_field(stream, "pix_fmt").unwrap_or(""));
    let depth = text_field(stream, "bits_per_raw_sample")
        .filter(|d| d != "0")
        .or_else(|| pix_depth.map(|d| d.to_string()));
    attributes.set("bitDepth", number_from(depth)?);
    attributes.set(
        "colorSpace",
        PyValue::Str(format!(
            "{} {}",
            color_space.unwrap_or("None"),
            chroma.unwrap_or("None")
        )),
    );
    Ok(compact(attributes))
}

fn ffprobe_audio(stream: &Value, codec_name: &str) -> PyResult<PyValue> {
    let mut attributes = ffprobe_common(stream, codec_name)?;
    // ffprobe does not tell CBR from VBR: bitrateMode is left out.
    attributes.set(
        "language",
        tag(stream, "language")
            .and_then(|l| language(&l))
            .map(PyValue::Str)
            .unwrap_or(PyValue::None),
    );
    attributes.set("channels", number_from(text_field(stream, "channels"))?);
    let rate = text_field(stream, "sample_rate");
    let rate_hz = rate.as_deref().and_then(|r| r.parse::<u32>().ok());
    attributes.set("samplingRate", number_from(rate.clone())?);
    let profile = str_field(stream, "profile").unwrap_or("");
    let per_frame = text_field(stream, "frame_size")
        .filter(|f| f != "0")
        .or_else(|| {
            match codec_name {
                "aac" if profile.starts_with("HE") => Some(2048),
                "aac" => Some(1024),
                "ac3" | "eac3" => Some(1536),
                "mp3" if rate_hz.is_some_and(|r| r < 32000) => Some(576),
                "mp2" | "mp3" => Some(1152),
                "mp1" => Some(384),
                _ => None,
            }
            .map(|n: u32| n.to_string())
        });
    attributes.set("samplePerFrame", number_from(per_frame)?);
    Ok(compact(attributes))
}

fn ffprobe_text(stream: &Value, codec_name: &str) -> PyResult<PyValue> {
    let mut attributes = PyValue::dict();
    // MediaInfo's ID is the container's track ID (ffprobe "0x3"), else the 1-based track number.
    let id = str_field(stream, "id")
        .and_then(|id| u64::from_str_radix(id.trim_start_matches("0x"), 16).ok())
        .or_else(|| stream.get("index").and_then(Value::as_u64).map(|i| i + 1));
    attributes.set(
        "id",
        id.map(|i| PyValue::Str(i.to_string()))
            .unwrap_or(PyValue::None),
    );
    attributes.set(
        "format",
        if codec_name.is_empty() {
            PyValue::None
        } else {
            PyValue::Str(codec_format(codec_name))
        },
    );
    attributes.set("duration", number_from(stream_duration(stream))?);
    Ok(compact(attributes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn split(args: &str) -> Vec<&str> {
        args.split_whitespace().collect()
    }

    fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
        let out = dir.join(name);
        let status = std::process::Command::new("ffmpeg")
            .args(["-y", "-v", "error"])
            .args(args)
            .arg(&out)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success(), "ffmpeg failed for {name}");
        out
    }

    struct Clips {
        _dir: tempfile::TempDir,
        mp4: PathBuf,
        mkv: PathBuf,
        webm: PathBuf,
        m4a: PathBuf,
        garbage: PathBuf,
    }

    fn clips() -> Clips {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let mp4 = ffmpeg(
            d,
            "out.mp4",
            &split(
                "-f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac",
            ),
        );
        let mkv = ffmpeg(
            d,
            "silent.mkv",
            &split(
                "-f lavfi -i testsrc2=size=640x480:rate=25 -t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p",
            ),
        );
        let webm = ffmpeg(
            d,
            "silent.webm",
            &split(
                "-f lavfi -i testsrc2=size=640x480:rate=25 -t 1 -c:v libvpx-vp9 -deadline realtime -cpu-used 8",
            ),
        );
        let m4a = ffmpeg(
            d,
            "audio.m4a",
            &split("-f lavfi -i sine=frequency=440 -t 1 -c:a aac"),
        );
        let garbage = d.join("garbage.mp4");
        let bytes: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        std::fs::write(&garbage, bytes).expect("write garbage");
        Clips {
            _dir: dir,
            mp4,
            mkv,
            webm,
            m4a,
            garbage,
        }
    }

    fn probers() -> Vec<Prober> {
        vec![
            Prober::with_tool(Tool::Mediainfo).expect("mediainfo installed"),
            Prober::with_tool(Tool::Ffprobe).expect("ffprobe installed"),
        ]
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The top-level keys as they appear in the stored text.
    fn text_key_order(text: &str) -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("  \"") && !l.starts_with("   "))
            .filter_map(|l| l.trim().split('"').nth(1).map(str::to_owned))
            .collect()
    }

    #[tokio::test]
    async fn mp4_with_audio_both_tools() {
        let clips = clips();
        let src = "uploads/Café Año.mp4";
        for prober in probers() {
            let tool = prober.tool_name();
            let info = prober.probe(&clips.mp4, src).await.expect(tool);
            let v = &info.value;
            assert_eq!(v["filename"], src, "{tool}");
            assert_eq!(
                text_key_order(&info.text),
                ["filename", "container", "video", "audio"],
                "{tool}"
            );
            // The text is what Python writes: ASCII only, é escaped, and it parses back to the value.
            assert!(info.text.is_ascii(), "{tool}");
            assert!(
                info.text
                    .contains(r#""filename": "uploads/Caf\u00e9 A\u00f1o.mp4""#)
            );
            assert!(info.text.starts_with("{\n  \"filename\""));
            assert_eq!(
                serde_json::from_str::<Value>(&info.text).expect("parses"),
                *v,
                "{tool}"
            );
            let container = &v["container"];
            assert_eq!(container["format"], "MPEG-4", "{tool}");
            assert!(container["fileSize"].is_u64(), "{tool}");
            assert!(container["totalBitrate"].is_u64(), "{tool}");
            assert!(container["duration"].is_f64(), "{tool}");
            assert!(
                (info.duration_seconds().unwrap() - 2.0).abs() < 0.05,
                "{tool}"
            );
            let video = &v["video"][0];
            assert_eq!(
                keys(video),
                {
                    let mut k = vec![
                        "aspectRatio",
                        "bitDepth",
                        "bitrate",
                        "codec",
                        "colorSpace",
                        "duration",
                        "frameCount",
                        "framerate",
                        "height",
                        "profile",
                        "scanType",
                        "width",
                    ];
                    k.sort();
                    k
                },
                "{tool}"
            );
            assert_eq!(video["codec"], "AVC", "{tool}");
            assert_eq!(video["profile"], "Constrained Baseline@L3.1", "{tool}");
            assert_eq!(video["width"], json!(1280), "{tool}");
            assert!(
                video["width"].is_u64() && video["height"].is_u64(),
                "{tool}"
            );
            assert_eq!(info.video_width(), Some(1280));
            assert_eq!(info.video_height(), Some(720));
            // "30.000" → 30.0, a float.
            assert!(video["framerate"].is_f64(), "{tool}");
            assert_eq!(video["framerate"], json!(30.0), "{tool}");
            assert!(info.text.contains("\"framerate\": 30.0,"), "{tool}");
            assert_eq!(video["frameCount"], json!(60), "{tool}");
            assert_eq!(video["scanType"], "Progressive", "{tool}");
            assert_eq!(video["aspectRatio"], "1.778", "{tool}");
            assert_eq!(video["bitDepth"], json!(8), "{tool}");
            assert_eq!(video["colorSpace"], "YUV 4:2:0", "{tool}");
            assert!(video["bitrate"].is_u64(), "{tool}");
            assert!(info.has_audio(), "{tool}");
            let audio = &v["audio"][0];
            assert_eq!(audio["codec"], "AAC", "{tool}");
            assert!(audio.get("profile").is_none(), "{tool}");
            assert_eq!(audio["channels"], json!(1), "{tool}");
            assert_eq!(audio["samplingRate"], json!(44100), "{tool}");
            assert_eq!(audio["samplePerFrame"], json!(1024), "{tool}");
            assert!(audio["duration"].is_f64(), "{tool}");
            assert!(v.get("text").is_none(), "{tool}");
        }
    }

    #[tokio::test]
    async fn silent_matroska_and_webm_both_tools() {
        let clips = clips();
        for prober in probers() {
            let tool = prober.tool_name();
            let mkv = prober.probe(&clips.mkv, "in/silent.mkv").await.expect(tool);
            assert_eq!(mkv.value["container"]["format"], "Matroska", "{tool}");
            assert_eq!(
                text_key_order(&mkv.text),
                ["filename", "container", "video"],
                "{tool}"
            );
            assert!(!mkv.has_audio(), "{tool}");
            assert_eq!(mkv.video_width(), Some(640));
            assert_eq!(mkv.video_height(), Some(480));
            let video = &mkv.value["video"][0];
            assert_eq!(video["aspectRatio"], "1.333", "{tool}");
            assert_eq!(video["framerate"], json!(25.0), "{tool}");
            assert_eq!(video["profile"], "Constrained Baseline@L3", "{tool}");
            assert_eq!(video["duration"], json!(1.0), "{tool}");
            assert_eq!(video["frameCount"], json!(25), "{tool}");

            let webm = prober
                .probe(&clips.webm, "in/silent.webm")
                .await
                .expect(tool);
            assert_eq!(webm.value["container"]["format"], "WebM", "{tool}");
            assert_eq!(webm.value["video"][0]["codec"], "VP9", "{tool}");
            assert_eq!(webm.value["video"][0]["profile"], "0", "{tool}");
            assert!(!webm.has_audio(), "{tool}");
            assert!(
                (webm.duration_seconds().unwrap() - 1.0).abs() < 0.05,
                "{tool}"
            );
        }
    }

    #[tokio::test]
    async fn audio_only_has_no_video_array() {
        let clips = clips();
        for prober in probers() {
            let tool = prober.tool_name();
            let info = prober.probe(&clips.m4a, "a.m4a").await.expect(tool);
            assert_eq!(info.value["container"]["format"], "MPEG-4", "{tool}");
            assert!(info.value.get("video").is_none(), "{tool}");
            assert_eq!(info.video_height(), None);
            assert!(info.has_audio(), "{tool}");
            assert_eq!(
                text_key_order(&info.text),
                ["filename", "container", "audio"],
                "{tool}"
            );
        }
    }

    #[tokio::test]
    async fn garbage_passes_mediainfo_but_fails_ffprobe() {
        let clips = clips();
        let mediainfo = Prober::with_tool(Tool::Mediainfo).expect("mediainfo");
        let info = mediainfo
            .probe(&clips.garbage, "x/garbage.mp4")
            .await
            .expect("mediainfo prints a General track for anything");
        assert_eq!(
            info.text,
            "{\n  \"filename\": \"x/garbage.mp4\",\n  \"container\": {\n    \"fileSize\": 5000\n  }\n}"
        );
        assert_eq!(info.video_height(), None);

        let ffprobe = Prober::with_tool(Tool::Ffprobe).expect("ffprobe");
        let err = ffprobe
            .probe(&clips.garbage, "x/garbage.mp4")
            .await
            .expect_err("ffprobe rejects it");
        assert!(matches!(err, ProbeError::Failed { .. }), "{err:?}");
        assert_eq!(
            err.lambda_message(),
            "Expecting value: line 1 column 1 (char 0)"
        );
        assert!(err.to_string().contains("Invalid data"), "{err}");
    }

    #[tokio::test]
    async fn missing_file_with_mediainfo_is_a_none_subscript() {
        let mediainfo = Prober::with_tool(Tool::Mediainfo).expect("mediainfo");
        let err = mediainfo
            .probe(Path::new("/nonexistent/vodesk/x.mp4"), "x.mp4")
            .await
            .expect_err("no such file");
        assert_eq!(
            err.lambda_message(),
            "'NoneType' object is not subscriptable"
        );
    }

    #[tokio::test]
    async fn missing_binary_and_timeout() {
        let prober =
            Prober::with_tool_path(Tool::Mediainfo, PathBuf::from("/nonexistent/bin/mediainfo"));
        let err = prober
            .probe(Path::new("a.mp4"), "a.mp4")
            .await
            .expect_err("no binary");
        assert!(matches!(err, ProbeError::Spawn { .. }));
        assert!(
            err.to_string().contains("apt-get install mediainfo"),
            "{err}"
        );
        assert_eq!(
            err.lambda_message(),
            "[Errno 2] No such file or directory: '/nonexistent/bin/mediainfo'"
        );

        // A "tool" that never answers in time.
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("slow-tool");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").expect("write script");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        let slow = Prober::with_tool_path(Tool::Mediainfo, script)
            .with_timeout(Duration::from_millis(200));
        let started = std::time::Instant::now();
        let err = slow
            .probe(Path::new("5"), "x")
            .await
            .expect_err("times out");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(matches!(err, ProbeError::Timeout { .. }), "{err:?}");
        assert_eq!(err.lambda_message(), "Task timed out after 0.20 seconds");
        assert_eq!(
            ProbeError::Timeout {
                tool: Tool::Mediainfo,
                file: PathBuf::from("a"),
                timeout: PROBE_TIMEOUT
            }
            .lambda_message(),
            "Task timed out after 120.00 seconds"
        );
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

    fn map(json_text: &str) -> Result<SrcMediainfo, ProbeError> {
        map_mediainfo_output(json_text.as_bytes(), Path::new("f.mp4"), "k/f.mp4")
    }

    #[test]
    fn python_errors_for_bad_mediainfo_output() {
        let message = |t: &str| map(t).expect_err(t).lambda_message();
        assert_eq!(message(""), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(
            message("\n \n"),
            "Expecting value: line 3 column 1 (char 3)"
        );
        assert_eq!(
            message("Usage: mediainfo"),
            "Expecting value: line 1 column 1 (char 0)"
        );
        assert_eq!(
            message(r#"{"media": null}"#),
            "'NoneType' object is not subscriptable"
        );
        assert_eq!(message(r#"{"x": 1}"#), "'media'");
        assert_eq!(message(r#"{"media": {}}"#), "'track'");
        assert_eq!(message(r#"{"media": {"track": [{}]}}"#), "'@type'");
        assert_eq!(
            message(r#"{"media": {"track": [{"@type": "Video", "Width": "abc"}]}}"#),
            "could not convert string to float: 'abc'"
        );
        assert_eq!(
            message(r#"{"media": {"track": [{"@type": "Text", "CaptionServiceName": "CC1"}]}}"#),
            "could not convert string to float: 'CC1'"
        );
        assert_eq!(
            message(r#"{"media": {"track": 3}}"#),
            "'int' object is not iterable"
        );
    }

    #[test]
    fn mediainfo_mapping_is_verbatim() {
        // A hand-made MediaInfo document exercising every rule; expected text from the Lambda's code
        // run under CPython 3.11.
        let doc = r#"{"media": {"track": [
            {"@type": "General", "Format": "MPEG-4", "FileSize": "187654321", "Duration": "95.428",
             "OverallBitRate": "15731594"},
            {"@type": "Menu"},
            {"@type": "Video", "Format": "HEVC", "Format_Profile": "Main", "Format_Level": "4",
             "Format_Tier": "Main", "BitRate": "15533062", "Duration": "95.428", "FrameCount": "2860",
             "Width": "1920", "Height": "1080", "FrameRate": "29.970", "ScanType": "Progressive",
             "DisplayAspectRatio": "1.778", "BitDepth": "8", "ColorSpace": "YUV",
             "ChromaSubsampling": "4:2:0"},
            {"@type": "Video", "Format": "VP9", "Width": " 1_0 ", "FrameRate": "1e3", "Format_Level": "2"},
            {"@type": "Audio", "Format": "AAC", "BitRate": "173625", "Duration": "95.412",
             "FrameCount": "4109", "BitRate_Mode": "VBR", "Channels": "2", "SamplingRate": "44100",
             "SamplesPerFrame": "1024", "Language": "en"},
            {"@type": "Text", "ID": "3", "Format": "Timed Text", "Duration": "1.000", "Count": "2",
             "CaptionServiceName": "7"}
        ]}}"#;
        let info = map(doc).expect("maps");
        let expected = r#"{
  "filename": "k/f.mp4",
  "container": {
    "format": "MPEG-4",
    "fileSize": 187654321,
    "duration": 95.428,
    "totalBitrate": 15731594
  },
  "video": [
    {
      "codec": "HEVC",
      "profile": "Main@L4@Main",
      "bitrate": 15533062,
      "duration": 95.428,
      "frameCount": 2860,
      "width": 1920,
      "height": 1080,
      "framerate": 29.97,
      "scanType": "Progressive",
      "aspectRatio": "1.778",
      "bitDepth": 8,
      "colorSpace": "YUV 4:2:0"
    },
    {
      "codec": "VP9",
      "profile": "L2",
      "width": 10,
      "framerate": 1000.0,
      "colorSpace": "None None"
    }
  ],
  "audio": [
    {
      "codec": "AAC",
      "bitrate": 173625,
      "duration": 95.412,
      "frameCount": 4109,
      "bitrateMode": "VBR",
      "language": "en",
      "channels": 2,
      "samplingRate": 44100,
      "samplePerFrame": 1024
    }
  ],
  "text": [
    {
      "id": "3",
      "format": "Timed Text",
      "duration": 1.0,
      "frameCount": 2,
      "captionServiceName": 7
    }
  ]
}"#;
        assert_eq!(info.text, expected);
        assert_eq!(info.video_height(), Some(1080));
    }

    #[test]
    fn python_number_parsing() {
        let p = |s: &str| parse_number(Some(&Value::String(s.into())));
        assert_eq!(p("1080"), Ok(PyValue::Int(1080)));
        assert_eq!(p(" -7 "), Ok(PyValue::Int(-7)));
        assert_eq!(p("1_000"), Ok(PyValue::Int(1000)));
        assert_eq!(p("007"), Ok(PyValue::Int(7)));
        assert_eq!(p("25.000"), Ok(PyValue::Float(25.0)));
        assert_eq!(p("1e3"), Ok(PyValue::Float(1000.0)));
        assert_eq!(p("inf"), Ok(PyValue::Float(f64::INFINITY)));
        assert!(p("1__0").is_err());
        assert!(p("_1").is_err());
        assert_eq!(
            p(""),
            Err("could not convert string to float: ''".to_owned())
        );
        assert_eq!(
            p("it's"),
            Err(r#"could not convert string to float: "it's""#.to_owned())
        );
        assert_eq!(parse_number(Some(&json!(2.7))), Ok(PyValue::Int(2)));
        assert_eq!(parse_number(None), Ok(PyValue::None));
    }

    #[test]
    fn ffprobe_mapping_of_hevc_and_subtitles() {
        let doc = json!({
            "streams": [
                {"index": 0, "codec_name": "hevc", "codec_type": "video", "profile": "Main 10",
                 "level": 123, "width": 3840, "height": 2160, "display_aspect_ratio": "16:9",
                 "pix_fmt": "yuv420p10le", "field_order": "progressive", "r_frame_rate": "30000/1001",
                 "duration": "10.010000", "bit_rate": "20000000", "nb_frames": "300"},
                {"index": 1, "codec_name": "eac3", "codec_type": "audio", "sample_rate": "48000",
                 "channels": 6, "bit_rate": "640000", "duration": "10.000000",
                 "tags": {"language": "eng"}},
                {"index": 2, "codec_name": "mov_text", "codec_type": "subtitle", "id": "0x3",
                 "duration": "9.5"},
                {"index": 3, "codec_name": "mjpeg", "codec_type": "video",
                 "disposition": {"attached_pic": 1}}
            ],
            "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "size": "25000000",
                       "duration": "10.010000", "bit_rate": "19980019"}
        });
        let info = map_ffprobe_output(doc.to_string().as_bytes(), Path::new("a.mov"), "a.mov")
            .expect("maps");
        let v = &info.value;
        assert_eq!(
            v["container"],
            json!({"format": "MPEG-4", "fileSize": 25000000,
            "duration": 10.01, "totalBitrate": 19980019})
        );
        assert_eq!(v["video"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["video"][0]["profile"], "Main 10@L4.1@Main");
        assert_eq!(v["video"][0]["framerate"], json!(29.97));
        assert_eq!(v["video"][0]["bitDepth"], json!(10));
        assert_eq!(
            v["audio"][0],
            json!({"codec": "E-AC-3", "bitrate": 640000, "duration": 10.0,
            "language": "en", "channels": 6, "samplingRate": 48000, "samplePerFrame": 1536})
        );
        assert_eq!(
            v["text"][0],
            json!({"id": "3", "format": "Timed Text", "duration": 9.5})
        );
        assert_eq!(
            text_key_order(&info.text),
            ["filename", "container", "video", "audio", "text"]
        );
    }

    #[test]
    fn detect_finds_a_tool() {
        // Reads VODESK_PROBE without changing it (tests run in parallel).
        match std::env::var(PROBE_ENV).ok().as_deref() {
            Some("ffprobe") => assert_eq!(Prober::detect().unwrap().tool_name(), "ffprobe"),
            None | Some("") | Some("mediainfo") => {
                assert_eq!(Prober::detect().unwrap().tool_name(), "mediainfo")
            }
            Some(_) => assert!(Prober::detect().is_err()),
        }
    }
}
