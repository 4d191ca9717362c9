//! Running ffmpeg: which ffmpeg ([`ffmpeg_program`]), the start-up check that it can encode
//! ([`check_ffmpeg`]), and each pass run to its end or killed and reaped at the job's deadline, its
//! failure told in ffmpeg's own last words.

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
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| TranscodeError::Missing(e.to_string()))?;
    let mut stderr = child.stderr.take();
    let run = async {
        let mut text = Vec::new();
        // ffmpeg at `-v error` writes little; read it all so the pipe never fills.
        if let Some(stderr) = stderr.as_mut()
            && let Err(err) = stderr.read_to_end(&mut text).await
        {
            // The text only details a failure; the exit status below still decides the outcome.
            tracing::debug!("{}: reading its stderr failed: {err}", program.display());
        }
        let status = child.wait().await;
        (status, text)
    };
    let finished = tokio::time::timeout_at(deadline, run).await;
    let Ok((status, text)) = finished else {
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
        return Err(TranscodeError::TimedOut(limit));
    };
    let status = status?;
    if status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..].join("; ");
    let message = if tail.is_empty() {
        format!("ffmpeg exited with {status}")
    } else {
        tail
    };
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
