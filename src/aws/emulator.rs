//! The local AWS emulator: the pinned moto server from the repository's virtualenv, started on a free
//! loopback port. Tests run against it, and so will `vodesk local-stack`. The launcher script is embedded
//! in the binary; the emulator stops when this handle is dropped or when its parent process dies.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The launcher run by the virtualenv's Python (`scripts/emulator.py`).
const LAUNCHER: &str = include_str!("../../scripts/emulator.py");
/// Environment variable naming the Python interpreter that has moto installed.
pub const PYTHON_ENV: &str = "VODESK_EMULATOR_PYTHON";
/// How long moto may take to import and bind (it is slow on a cold disk).
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(
        "the local AWS emulator (moto) is not installed: run `scripts/install-emulator` from the vodesk repository, or set {PYTHON_ENV} to a Python that has moto[server,cloudformation] installed"
    )]
    NotInstalled,
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

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    // Held open: the launcher exits when this pipe closes, even if this process is killed.
    stdin_pipe: Option<ChildStdin>,
    endpoint: String,
}

/// Finds the Python that runs the emulator: `$VODESK_EMULATOR_PYTHON`, else `.venv/bin/python` in the
/// current directory or next to the executable's ancestors (a checkout's `target/` binaries).
pub fn find_python() -> Result<PathBuf, EmulatorError> {
    if let Some(path) = std::env::var_os(PYTHON_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(EmulatorError::NotInstalled)
        };
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    roots
        .iter()
        .map(|root| root.join(".venv/bin/python"))
        .find(|candidate| candidate.is_file())
        .ok_or(EmulatorError::NotInstalled)
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
            if let Some(out) = stdout {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            let _ = tx.send(line);
        });
        let fail = |child: &mut Child, why: String| {
            let _ = child.kill();
            let _ = child.wait();
            let mut detail = String::new();
            if let Some(mut err) = stderr {
                let _ = std::io::Read::read_to_string(&mut err, &mut detail);
            }
            let last = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            if last.contains("No module named") {
                return EmulatorError::NotInstalled;
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
        if let Some(stdin) = self.stdin_pipe.as_mut() {
            let _ = stdin.flush();
        }
        self.stdin_pipe = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
