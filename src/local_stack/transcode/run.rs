//! Running ffmpeg: which ffmpeg ([`ffmpeg_program`]), the start-up check that it can encode
//! ([`check_ffmpeg`]), and each pass run to its end or killed and reaped at the job's deadline
//! ([`run_to_end`], also the local MediaPackage's runner), its failure told in ffmpeg's own last
//! words.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::TranscodeError;

/// The ffmpeg to run: `$VODESK_FFMPEG`, else `ffmpeg` on PATH.
pub(crate) fn ffmpeg_program() -> PathBuf {
    std::env::var_os("VODESK_FFMPEG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("ffmpeg"))
}

/// Checks that ffmpeg runs and has libx264, so the local stack refuses to start rather than failing
/// every job.
pub(crate) async fn check_ffmpeg() -> Result<(), TranscodeError> {
    let output = tokio::process::Command::new(ffmpeg_program())
        .args(["-hide_banner", "-encoders"])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| TranscodeError::Missing(e.to_string()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !text.contains("libx264") {
        return Err(TranscodeError::Missing(
            "this ffmpeg has no libx264 encoder".into(),
        ));
    }
    Ok(())
}

/// Runs ffmpeg to the end, or kills it at `deadline` (the job's, whose length is `limit`) and when
/// the job is dropped.
pub(super) async fn run_ffmpeg(
    args: &[String],
    deadline: tokio::time::Instant,
    limit: Duration,
    reads_source: bool,
) -> Result<(), TranscodeError> {
    run_tool(&ffmpeg_program(), args, deadline, limit, reads_source).await
}

async fn run_tool(
    program: &Path,
    args: &[String],
    deadline: tokio::time::Instant,
    limit: Duration,
    reads_source: bool,
) -> Result<(), TranscodeError> {
    let lines = match run_to_end(program, args, None, deadline).await {
        Ok(()) => return Ok(()),
        Err(ToolFailure::Spawn(e)) => return Err(TranscodeError::Missing(e.to_string())),
        Err(ToolFailure::TimedOut) => return Err(TranscodeError::TimedOut(limit)),
        Err(ToolFailure::Wait(e)) => return Err(TranscodeError::Io(e)),
        Err(ToolFailure::Exited { lines, .. }) => lines,
    };
    let message = last_words(&lines, 3);
    // The first pass opens the source; a failure there reads as MediaConvert's "unable to open input".
    let input_unreadable = reads_source
        && lines.iter().any(|l| {
            l.contains("Invalid data found")
                || l.contains("moov atom not found")
                || l.contains("could not find codec parameters")
                || l.contains("Error opening input")
                || l.contains("does not contain any stream")
                || l.contains("matches no streams")
        });
    Err(TranscodeError::Failed {
        message,
        input_unreadable,
    })
}

/// How a tool run ended, when it did not succeed.
#[derive(Debug)]
pub(crate) enum ToolFailure {
    Spawn(std::io::Error),
    /// Killed and reaped at the deadline.
    TimedOut,
    Wait(std::io::Error),
    /// It exited unsuccessfully: its status and its stderr's non-empty lines, trimmed.
    Exited {
        status: std::process::ExitStatus,
        lines: Vec<String>,
    },
}

impl ToolFailure {
    /// What an unsuccessful run said: its last lines, or its exit status when it said nothing.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Spawn(e) => format!("could not start ffmpeg: {e}"),
            Self::TimedOut => "ffmpeg did not finish in time and was stopped".to_owned(),
            Self::Wait(e) => format!("waiting for ffmpeg failed: {e}"),
            Self::Exited { status, lines } if lines.is_empty() => {
                format!("ffmpeg exited with {status}")
            }
            Self::Exited { lines, .. } => last_words(lines, 3),
        }
    }
}

/// The last `n` lines joined with `; `.
fn last_words(lines: &[String], n: usize) -> String {
    lines[lines.len().saturating_sub(n)..].join("; ")
}

/// Runs `program` (in `current_dir`, if given) to its end, or kills and reaps it at `deadline`; it
/// is also killed when the future is dropped. Its stderr is read whole (at `-v error` ffmpeg writes
/// little), so the pipe never fills.
pub(crate) async fn run_to_end(
    program: &Path,
    args: &[String],
    current_dir: Option<&Path>,
    deadline: tokio::time::Instant,
) -> Result<(), ToolFailure> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = current_dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().map_err(ToolFailure::Spawn)?;
    let mut stderr = child.stderr.take();
    let run = async {
        let mut text = Vec::new();
        if let Some(stderr) = stderr.as_mut()
            && let Err(err) = stderr.read_to_end(&mut text).await
        {
            // The text only details a failure; the exit status below still decides the outcome.
            tracing::debug!("{}: reading its stderr failed: {err}", program.display());
        }
        let status = child.wait().await;
        (status, text)
    };
    let Ok((status, text)) = tokio::time::timeout_at(deadline, run).await else {
        // Killed and reaped here, not left to run (or linger) after the job has given up on it.
        // Either fails only when the process has already exited (and been reaped): the outcome wanted.
        if let Err(err) = child.start_kill() {
            tracing::debug!(
                "{}: kill after timeout failed (already exited?): {err}",
                program.display()
            );
        }
        if let Err(err) = child.wait().await {
            tracing::debug!("{}: wait after timeout failed: {err}", program.display());
        }
        return Err(ToolFailure::TimedOut);
    };
    let status = status.map_err(ToolFailure::Wait)?;
    if status.success() {
        return Ok(());
    }
    let lines = String::from_utf8_lossy(&text)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    Err(ToolFailure::Exited { status, lines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_stack::transcode::MAX_ENCODE_TIME;

    #[tokio::test]
    async fn a_run_past_the_deadline_is_killed_with_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        let args = vec![
            "-c".to_owned(),
            format!("echo $$ > '{}'; exec sleep 60", pid_file.display()),
        ];
        let limit = Duration::from_millis(500);
        let started = std::time::Instant::now();
        let deadline = tokio::time::Instant::now() + limit;
        let result = run_tool(Path::new("/bin/sh"), &args, deadline, limit, true).await;
        assert!(
            matches!(result, Err(TranscodeError::TimedOut(l)) if l == limit),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        let message = TranscodeError::TimedOut(MAX_ENCODE_TIME).to_string();
        assert!(message.contains("longer than 480 min"), "{message}");
        // Killed and reaped: its process is gone.
        let pid = std::fs::read_to_string(&pid_file).expect("pid");
        assert!(
            !Path::new(&format!("/proc/{}", pid.trim())).exists(),
            "ffmpeg {pid} still runs"
        );
    }
}
