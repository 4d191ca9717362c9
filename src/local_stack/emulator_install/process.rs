//! The processes and files of an emulator install: running python and pip with their output read line
//! by line as it comes (and its last lines kept for the error), finding python3 on PATH, and pointing a
//! renamed venv's scripts at its new folder.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

/// How many of the last output lines of a failed step an error shows.
const TAIL_LINES: usize = 12;

/// A venv names its own folder in its scripts' `#!` lines (pip, flask…), `activate` and `pyvenv.cfg`:
/// renamed, those would point at the temporary folder. vodesk runs `bin/python` (found relative to
/// itself), but the scripts should work for whoever looks inside.
pub(super) fn retarget(partial: &Path, venv: &Path) -> std::io::Result<()> {
    let from = partial.as_os_str().as_bytes();
    let to = venv.as_os_str().as_bytes();
    let mut files = vec![partial.join("pyvenv.cfg")];
    for entry in std::fs::read_dir(partial.join("bin"))? {
        let entry = entry?;
        // Symlinks are the interpreter itself.
        if entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    for file in files {
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        // Scripts are a few kB; anything large is a binary that does not name the folder.
        if meta.len() > 1 << 20 {
            continue;
        }
        let bytes = std::fs::read(&file)?;
        if let Some(replaced) = replace_all(&bytes, from, to) {
            std::fs::write(&file, replaced)?;
        }
    }
    Ok(())
}

/// `haystack` with every `from` replaced by `to`, or `None` when it has none.
pub(super) fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    if from.is_empty() || !haystack.windows(from.len()).any(|w| w == from) {
        return None;
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// The last lines a command printed.
#[derive(Debug, Default)]
pub(super) struct Tail(VecDeque<String>);

impl Tail {
    fn push(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        if self.0.len() == TAIL_LINES {
            self.0.pop_front();
        }
        self.0.push_back(format!("  {}", line.trim_end()));
    }

    pub(super) fn text(&self) -> String {
        if self.0.is_empty() {
            return "  (it printed nothing)".to_owned();
        }
        self.0.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    pub(super) fn last(&self) -> String {
        self.0
            .back()
            .map(|l| l.trim().to_owned())
            .unwrap_or_default()
    }
}

/// Runs `command` with its stdout and stderr in one pipe (pip writes errors to stderr between its
/// progress on stdout), calling `on_line` for each line as it comes. Returns its status and last lines.
pub(super) fn run_merged(
    mut command: Command,
    on_line: &mut dyn FnMut(&str),
) -> std::io::Result<(ExitStatus, Tail)> {
    let (reader, writer) = std::io::pipe()?;
    command
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    let mut child = command.spawn()?;
    // `command` holds this process's write ends: dropped, the reader sees the end when the child exits.
    drop(command);
    let mut tail = Tail::default();
    let mut reader = BufReader::new(reader);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buffer);
                let line = line.trim_end_matches(['\n', '\r']);
                on_line(line);
                tail.push(line);
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => {
                if let Err(kill) = child.kill() {
                    tracing::debug!("emulator install: kill after a read error failed: {kill}");
                }
                if let Err(wait) = child.wait() {
                    tracing::debug!("emulator install: wait after a read error failed: {wait}");
                }
                return Err(err);
            }
        }
    }
    Ok((child.wait()?, tail))
}

pub(super) fn last_line(output: &[u8]) -> String {
    String::from_utf8_lossy(output)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned()
}

pub(super) fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_or_says_there_was_none() {
        assert_eq!(
            replace_all(
                b"#!/d/venv.partial-7/bin/python\nx /d/venv.partial-7",
                b"/d/venv.partial-7",
                b"/d/venv"
            ),
            Some(b"#!/d/venv/bin/python\nx /d/venv".to_vec())
        );
        assert_eq!(
            replace_all(b"nothing here", b"/d/venv.partial-7", b"/d/venv"),
            None
        );
    }

    #[test]
    fn keeps_the_last_lines_of_both_streams_in_order() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "for i in $(seq 1 20); do echo out $i; done; echo err >&2; exit 3",
        ]);
        let mut seen = 0;
        let (status, tail) = run_merged(command, &mut |_| seen += 1).unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(seen, 21);
        assert_eq!(tail.last(), "err");
        let text = tail.text();
        assert_eq!(text.lines().count(), TAIL_LINES, "{text}");
        assert!(text.starts_with("  out 10\n"), "{text}");
    }
}
