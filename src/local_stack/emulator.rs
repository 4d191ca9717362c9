//! The local AWS emulator: the pinned moto server, started on a free loopback port. Tests and
//! `vodesk local-stack` run against it. The launcher script is embedded in the binary; the emulator stops
//! when this handle is dropped or when its parent process dies. The Python that runs it is looked for
//! only where the user said or where vodesk installs it ([`find_python`]); an installed vodesk installs
//! it on first use ([`emulator_install`](super::emulator_install)).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::emulator_install::{
    INSTALL_COMMAND, InstallError, is_current, per_user_venv, venv_python,
};

/// The launcher run by the virtualenv's Python (`emulator.py` beside this file).
const LAUNCHER: &str = include_str!("emulator.py");
/// Environment variable naming the Python interpreter that has moto installed.
pub const PYTHON_ENV: &str = "VODESK_EMULATOR_PYTHON";
/// How long moto may take to import and bind (it is slow on a cold disk).
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(
        "the local AWS emulator (moto) is not installed: looked for {}; vodesk installs it into your data folder on first use of `vodesk local-stack` or the app's Local demo stack (or now: `{INSTALL_COMMAND}`), or set {PYTHON_ENV} to a Python that has moto[server,cloudformation] installed",
        list_paths(.looked)
    )]
    NotInstalled { looked: Vec<PathBuf> },
    #[error(
        "the local AWS emulator in {} was installed by another version of vodesk (its pinned packages changed): vodesk reinstalls it on the next use of `vodesk local-stack` or the app's Local demo stack (or now: `{INSTALL_COMMAND}`)",
        .0.display()
    )]
    Outdated(PathBuf),
    #[error(
        "{PYTHON_ENV} names {}, which is not a file: point it at a Python that has moto[server,cloudformation] installed, or unset it to use the emulator vodesk installs on first use",
        .0.display()
    )]
    ChosenPythonMissing(PathBuf),
    #[error(
        "{} cannot run the local AWS emulator (moto is not installed in it): {}",
        .0.display(),
        moto_missing_fix(.0)
    )]
    MotoMissing(PathBuf),
    #[error(transparent)]
    Install(#[from] InstallError),
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

/// The fix for a Python without moto, by who put it there.
fn moto_missing_fix(python: &Path) -> String {
    let per_user = per_user_venv().map(|venv| venv_python(&venv));
    if per_user.is_ok_and(|p| p == python) {
        format!("install it again with `{INSTALL_COMMAND}`")
    } else if checkout_python().is_some_and(|p| p == python) {
        "run `scripts/install-emulator` in the vodesk checkout".to_owned()
    } else {
        format!(
            "point {PYTHON_ENV} at a Python that has moto[server,cloudformation] installed, or unset it to use the emulator vodesk installs on first use"
        )
    }
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
/// folder near the executable: a `.venv/bin/python` planted there would run as the user. The per-user
/// install counts only when complete and made for this vodesk's pins ([`is_current`]); one made for
/// other pins is [`EmulatorError::Outdated`].
pub fn find_python() -> Result<PathBuf, EmulatorError> {
    if let Some(path) = std::env::var_os(PYTHON_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(EmulatorError::ChosenPythonMissing(path))
        };
    }
    if let Some(checkout) = checkout_python().filter(|p| p.is_file()) {
        return Ok(checkout);
    }
    if let Ok(venv) = per_user_venv() {
        if is_current(&venv) {
            return Ok(venv_python(&venv));
        }
        if venv_python(&venv).is_file() {
            return Err(EmulatorError::Outdated(venv));
        }
    }
    Err(EmulatorError::NotInstalled {
        looked: install_locations(),
    })
}

/// Where vodesk installs the emulator, in the order they are tried: the virtualenv of the checkout
/// this binary was built from (where `scripts/install-emulator` puts it), only for a binary that runs
/// from that checkout, then `<data dir>/emulator/venv/bin/python` for a per-user install.
pub fn install_locations() -> Vec<PathBuf> {
    let mut locations: Vec<PathBuf> = checkout_python().into_iter().collect();
    if let Ok(venv) = per_user_venv() {
        locations.push(venv_python(&venv));
    }
    locations
}

/// The checkout's `.venv/bin/python` (its path fixed at build time), for a binary inside that checkout
/// (its `target/`). An installed binary never looks there: the build machine's path means nothing on
/// the user's machine, and whoever can create it there would choose the Python vodesk runs.
fn checkout_python() -> Option<PathBuf> {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = std::env::current_exe().ok()?;
    let canonical = checkout.canonicalize().ok()?;
    (exe.starts_with(&canonical) || exe.starts_with(checkout))
        .then(|| checkout.join(".venv").join("bin").join("python"))
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
        // This test binary runs from the checkout's target/, so the checkout's venv is listed first.
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
    fn moto_missing_names_the_fix_for_where_the_python_is() {
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
        let text = EmulatorError::MotoMissing(checkout).to_string();
        assert!(text.contains("scripts/install-emulator"), "{text}");
        if let Ok(venv) = per_user_venv() {
            let text = EmulatorError::MotoMissing(venv_python(&venv)).to_string();
            assert!(text.contains(INSTALL_COMMAND), "{text}");
        }
        let text = EmulatorError::MotoMissing(PathBuf::from("/opt/py/bin/python")).to_string();
        assert!(text.contains(PYTHON_ENV), "{text}");
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
        assert!(text.contains("on first use"), "{text}");
        assert!(text.contains(INSTALL_COMMAND), "{text}");
    }
}
