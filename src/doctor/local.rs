//! The doctor's checks of this machine: the tools of the local demo stack (ffmpeg with libx264 for
//! the encodes; mediainfo, or ffprobe, for the probe) found and their versions, as the local stack
//! finds them; and vodesk's own folders: the upload journal opens and its folder is writable, and so
//! is the thumbnail cache. A missing tool fails only when the setup is the local stack (a loopback
//! endpoint); against AWS it is a warning, since only the local stack needs it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::{Checklist, Outcome, ids, untrusted};
use crate::aws::upload::journal::{DATA_DIR_ENV, Journal, create_private_dir, data_dir};
use crate::local_stack::probe::{Prober, Tool};
use crate::local_stack::transcode::{check_ffmpeg, ffmpeg_program};

/// How long `ffmpeg -version` and the like may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn run(list: &mut Checklist, local_stack: bool) {
    list.push(
        ids::FFMPEG,
        "ffmpeg (local demo stack)",
        ffmpeg(local_stack).await,
    );
    list.push(
        ids::MEDIA_PROBE,
        "mediainfo or ffprobe (local demo stack)",
        media_probe(local_stack).await,
    );
    let (journal, cache) = match tokio::task::spawn_blocking(|| (journal(), cache())).await {
        Ok(outcomes) => outcomes,
        Err(err) => {
            let failed = || Outcome::fail(format!("the check stopped: {err}"), "run it again");
            (failed(), failed())
        }
    };
    list.push(ids::JOURNAL, "Upload journal", journal);
    list.push(ids::THUMBNAIL_CACHE, "Thumbnail cache", cache);
}

/// A tool the local stack lacks: a failure for the local stack, else a warning.
fn missing(local_stack: bool, problem: String, fix: String) -> Outcome {
    if local_stack {
        Outcome::fail(problem, fix)
    } else {
        Outcome::warn(
            format!("{problem} (only the local demo stack needs it)"),
            fix,
        )
    }
}

async fn ffmpeg(local_stack: bool) -> Outcome {
    let program = ffmpeg_program();
    let Some(version) = version_of(&program, "-version").await else {
        return missing(
            local_stack,
            format!("{} is not installed or does not run", program.display()),
            "install it with `apt-get install ffmpeg` (or set VODESK_FFMPEG to an ffmpeg)".into(),
        );
    };
    match tokio::time::timeout(TOOL_TIMEOUT, check_ffmpeg()).await {
        Ok(Ok(())) => Outcome::pass(format!("{version}, with the libx264 encoder")),
        Ok(Err(err)) => missing(
            local_stack,
            format!("{version}: {err}"),
            "install an ffmpeg built with libx264 (Debian's and Ubuntu's `ffmpeg` package is)"
                .into(),
        ),
        Err(_) => missing(
            local_stack,
            format!(
                "{version} did not list its encoders within {} s",
                TOOL_TIMEOUT.as_secs()
            ),
            "check that ffmpeg runs: `ffmpeg -encoders`".into(),
        ),
    }
}

async fn media_probe(local_stack: bool) -> Outcome {
    let prober = match Prober::detect() {
        Ok(prober) => prober,
        Err(err) => {
            return missing(
                local_stack,
                err.to_string(),
                "install MediaInfo with `apt-get install mediainfo` (what the solution runs), or ffprobe with `apt-get install ffmpeg`".into(),
            );
        }
    };
    let flag = match prober.tool() {
        Tool::Mediainfo => "--Version",
        Tool::Ffprobe => "-version",
    };
    let path = prober.tool_path().display().to_string();
    let Some(version) = version_of(prober.tool_path(), flag).await else {
        return missing(
            local_stack,
            format!("{path} does not run"),
            format!(
                "reinstall it with `apt-get install {}`",
                prober.tool().debian_package()
            ),
        );
    };
    match prober.tool() {
        Tool::Mediainfo => Outcome::pass(format!("{version} ({path})")),
        Tool::Ffprobe => Outcome::pass(format!(
            "{version} ({path}); MediaInfo, which the solution itself runs, is preferred: `apt-get install mediainfo`"
        )),
    }
}

/// The tool's name and version from its `flag` output (`ffmpeg version 6.1.1-3ubuntu5 …`,
/// `MediaInfoLib - v24.01`), or None when it does not run.
async fn version_of(program: &Path, flag: &str) -> Option<String> {
    let output = tokio::process::Command::new(program)
        .arg(flag)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(TOOL_TIMEOUT, output)
        .await
        .ok()?
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Some(parse_version(
        &name,
        &String::from_utf8_lossy(&output.stdout),
    ))
}

fn parse_version(name: &str, text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    // ffmpeg and ffprobe: "<name> version <version> Copyright …".
    let after_version = words.windows(2).find(|w| w[0] == "version").map(|w| w[1]);
    // MediaInfo: "MediaInfoLib - v24.01".
    let v_number = words
        .iter()
        .find(|w| w.starts_with('v') && w[1..].starts_with(|c: char| c.is_ascii_digit()))
        .copied();
    match after_version.or(v_number) {
        Some(version) => untrusted(&format!("{name} {version}")),
        None => untrusted(&format!("{name} (version unknown)")),
    }
}

/// The folder vodesk keeps its data in, created if missing.
fn data_folder() -> Result<PathBuf, Outcome> {
    let dir = data_dir().map_err(|err| {
        Outcome::fail(
            err.to_string(),
            format!("set {DATA_DIR_ENV} to a folder you can write to"),
        )
    })?;
    create_private_dir(&dir).map_err(|err| {
        Outcome::fail(
            err.to_string(),
            format!(
                "make {} writable for your user, or set {DATA_DIR_ENV} to a folder you can write to",
                dir.display()
            ),
        )
    })?;
    Ok(dir)
}

/// A scratch file written and removed in `dir`.
fn writable(dir: &Path) -> Result<(), Outcome> {
    tempfile::Builder::new()
        .prefix(".vodesk-doctor-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|err| {
            Outcome::fail(
                format!("cannot write in {}: {err}", dir.display()),
                format!(
                    "make it writable for your user (is the disk full?), or set {DATA_DIR_ENV} to another folder"
                ),
            )
        })
}

fn journal() -> Outcome {
    let dir = match data_folder() {
        Ok(dir) => dir,
        Err(outcome) => return outcome,
    };
    let journal = match Journal::open_default() {
        Ok(journal) => journal,
        Err(err) => {
            return Outcome::fail(
                err.to_string(),
                format!(
                    "check the file's owner and permissions; if it is damaged, move it away (its uploads are then forgotten), or set {DATA_DIR_ENV} to another folder"
                ),
            );
        }
    };
    if let Err(err) = journal.list(1) {
        return Outcome::fail(
            err.to_string(),
            "move the damaged journal away (its uploads are then forgotten) and run vodesk again",
        );
    }
    if let Err(outcome) = writable(&dir) {
        return outcome;
    }
    Outcome::pass(format!(
        "{} opens; its folder is writable",
        journal.path().display()
    ))
}

fn cache() -> Outcome {
    let dir = match data_folder() {
        Ok(dir) => dir.join(crate::aws::thumbnails::CACHE_DIR_NAME),
        Err(outcome) => return outcome,
    };
    if let Err(err) = create_private_dir(&dir) {
        return Outcome::fail(
            err.to_string(),
            format!("make it writable for your user, or set {DATA_DIR_ENV} to another folder"),
        );
    }
    match writable(&dir) {
        Ok(()) => Outcome::pass(format!("{} is writable", dir.display())),
        Err(outcome) => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_each_tools_banner() {
        assert_eq!(
            parse_version(
                "ffmpeg",
                "ffmpeg version 6.1.1-3ubuntu5 Copyright (c) 2000-2023 the FFmpeg developers\nbuilt with gcc"
            ),
            "ffmpeg 6.1.1-3ubuntu5"
        );
        assert_eq!(
            parse_version(
                "mediainfo",
                "MediaInfo Command line, \nMediaInfoLib - v24.01\n"
            ),
            "mediainfo v24.01"
        );
        assert_eq!(parse_version("x", "nothing here"), "x (version unknown)");
        assert_eq!(
            parse_version("ffmpeg", "ffmpeg version \u{1b}[31mred"),
            "ffmpeg \u{1b}[31mred"
        );
    }

    #[test]
    fn a_missing_tool_fails_only_for_the_local_stack() {
        assert!(missing(true, "no ffmpeg".into(), "install".into()).is_fail());
        let warning = missing(false, "no ffmpeg".into(), "install".into());
        assert!(matches!(warning, Outcome::Warn { .. }));
        assert!(warning.text().contains("only the local demo stack"));
    }

    #[test]
    fn an_unwritable_folder_is_named_with_its_fix() {
        let outcome = writable(Path::new("/nonexistent/vodesk-doctor")).unwrap_err();
        assert!(
            outcome.text().contains("/nonexistent/vodesk-doctor"),
            "{outcome:?}"
        );
        assert!(outcome.fix().unwrap().contains(DATA_DIR_ENV), "{outcome:?}");
    }
}
