//! The local AWS emulator: the pinned moto server from the repository's virtualenv, started on a free
//! loopback port. Tests and `vodesk local-stack` run against it. The launcher script is embedded in the
//! binary; the emulator stops when this handle is dropped or when its parent process dies. The Python
//! that runs it is looked for only where the user said or where vodesk installs it ([`find_python`]).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The launcher run by the virtualenv's Python (`emulator.py` beside this file).
const LAUNCHER: &str = include_str!("emulator.py");
/// Environment variable naming the Python interpreter that has moto installed.
pub const PYTHON_ENV: &str = "VODESK_EMULATOR_PYTHON";
/// How long moto may take to import and bind (it is slow on a cold disk).
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(
        "the local AWS emulator (moto) is not installed: looked for {}; run `scripts/install-emulator` in the vodesk checkout, or set {PYTHON_ENV} to a Python that has moto[server,cloudformation] installed",
        list_paths(.looked)
    )]
    NotInstalled { looked: Vec<PathBuf> },
    #[error(
        "{PYTHON_ENV} names {}, which is not a file: point it at a Python that has moto[server,cloudformation] installed, or unset it to use the one `scripts/install-emulator` installs",
        .0.display()
    )]
    ChosenPythonMissing(PathBuf),
    #[error(
        "{} cannot run the local AWS emulator (moto is not installed in it): run `scripts/install-emulator` in the vodesk checkout, or set {PYTHON_ENV} to a Python that has moto[server,cloudformation] installed",
        .0.display()
    )]
    MotoMissing(PathBuf),
    #[error("could not start the emulator with {python}: {source}")]
    Spawn {
        python: PathBuf,
        source: std::io::Error,
    },
    #[error("the emulator did not start: {0}")]
    Startup(String),
    #[error("could not reset the emulator: {0}")]
    Reset(String),
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    // Held open: the launcher exits when this pipe closes, even if this process is killed.
    stdin_pipe: Option<ChildStdin>,
    endpoint: String,
}

/// Finds the Python that runs the emulator, only where the user said or where vodesk installs it:
/// `$VODESK_EMULATOR_PYTHON`, else [`install_locations`] in order. Never the current directory or a
/// folder near the executable: a `.venv/bin/python` planted there would run as the user.
pub fn find_python() -> Result<PathBuf, EmulatorError> {
    if let Some(path) = std::env::var_os(PYTHON_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(EmulatorError::ChosenPythonMissing(path))
        };
    }
    let looked = install_locations();
    looked
        .iter()
        .find(|candidate| candidate.is_file())
        .cloned()
        .ok_or(EmulatorError::NotInstalled { looked })
}

/// Where vodesk installs the emulator, in the order they are tried: the virtualenv of the checkout
/// this binary was built from (where `scripts/install-emulator` puts it; fixed at build time), then
/// `<data dir>/emulator/venv/bin/python` for a per-user install.
pub fn install_locations() -> Vec<PathBuf> {
    let mut locations = vec![PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.venv/bin/python"
    ))];
    if let Ok(data) = crate::aws::upload::journal::data_dir() {
        locations.push(
            data.join("emulator")
                .join("venv")
                .join("bin")
                .join("python"),
        );
    }
    locations
}

impl Emulator {
    /// Starts moto on 127.0.0.1 (`port` 0 picks a free one) and waits until it answers.
    pub fn start(python: &Path, port: u16) -> Result<Self, EmulatorError> {
        let mut child = Command::new(python)
            .arg("-c")
            .arg(LAUNCHER)
            .args(["--port", &port.to_string(), "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| EmulatorError::Spawn {
                python: python.to_owned(),
                source,
            })?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(out) = stdout
                && let Err(err) = BufReader::new(out).read_line(&mut line)
            {
                // `line` then holds no endpoint, which start reports as "exited before it was ready".
                tracing::debug!("emulator: reading its ready line failed: {err}");
            }
            if tx.send(line).is_err() {
                // start stopped waiting (timed out) and has already reported the failure.
            }
        });
        let fail = |child: &mut Child, why: String| {
            stop_child(child);
            let mut detail = String::new();
            if let Some(mut err) = stderr
                && let Err(read_err) = std::io::Read::read_to_string(&mut err, &mut detail)
            {
                // Its stderr only adds detail to the message; `why` alone still says what failed.
                tracing::debug!("emulator: reading its stderr failed: {read_err}");
            }
            let last = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            if last.contains("No module named") {
                return EmulatorError::MotoMissing(python.to_owned());
            }
            EmulatorError::Startup(if last.is_empty() {
                why
            } else {
                format!("{why}: {last}")
            })
        };
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => return Err(fail(&mut child, "no answer within 60 s".into())),
        };
        let endpoint = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("endpoint")?.as_str().map(str::to_owned));
        let Some(endpoint) = endpoint else {
            return Err(fail(&mut child, "it exited before it was ready".into()));
        };
        let stdin = child.stdin.take();
        Ok(Self {
            child,
            stdin_pipe: stdin,
            endpoint,
        })
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Forgets every resource the emulator holds (moto's reset API), so each test starts empty.
    pub async fn reset(&self) -> Result<(), EmulatorError> {
        let url = format!("{}/moto-api/reset", self.endpoint);
        let response = reqwest::Client::new()
            .post(url)
            .send()
            .await
            .map_err(|e| EmulatorError::Reset(e.to_string()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(EmulatorError::Reset(format!("HTTP {}", response.status())))
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stdin) = self.stdin_pipe.as_mut()
            && let Err(err) = stdin.flush()
        {
            // The launcher has already gone (the pipe is broken); the kill below covers it either way.
            tracing::debug!("emulator: flushing its stdin failed: {err}");
        }
        self.stdin_pipe = None;
        stop_child(&mut self.child);
    }
}

/// Kills and reaps the emulator's process. Either step fails only when the process has already exited
/// (and been reaped), which is the outcome wanted, so the errors are logged and otherwise dropped.
fn stop_child(child: &mut Child) {
    if let Err(err) = child.kill() {
        tracing::debug!("emulator: kill failed (already exited?): {err}");
    }
    if let Err(err) = child.wait() {
        tracing::debug!("emulator: wait failed (already reaped?): {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_only_in_the_checkout_and_the_data_dir() {
        let locations = install_locations();
        assert_eq!(
            locations[0],
            Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
        );
        assert!(locations.len() <= 2, "{locations:?}");
        for location in &locations {
            assert!(location.is_absolute(), "{}", location.display());
        }
        if let Some(per_user) = locations.get(1) {
            assert!(
                per_user.ends_with("emulator/venv/bin/python"),
                "{per_user:?}"
            );
        }
    }

    #[test]
    fn not_installed_says_where_it_looked() {
        let error = EmulatorError::NotInstalled {
            looked: vec![
                PathBuf::from("/src/vodesk/.venv/bin/python"),
                PathBuf::from("/home/u/.local/share/vodesk/emulator/venv/bin/python"),
            ],
        };
        let text = error.to_string();
        assert!(
            text.contains("looked for /src/vodesk/.venv/bin/python and /home/u/.local/share/vodesk/emulator/venv/bin/python;"),
            "{text}"
        );
        assert!(text.contains(PYTHON_ENV), "{text}");
    }
}
