//! The local emulator installed on first use. An installed vodesk has no checkout and no `.venv/`, so
//! `vodesk local-stack` and the app's Local demo stack install the pinned moto server themselves: a
//! virtualenv in the user's data folder (`<data dir>/emulator/venv`, the per-user entry of
//! [`install_locations`](super::emulator::install_locations)) with exactly the pins of
//! `scripts/requirements-emulator.txt`, which is embedded in the binary.
//!
//! The environment is built in a sibling folder and renamed into place only once pip succeeded and moto
//! imports, with a stamp of the requirements it was built from: a killed install never looks installed,
//! and a vodesk whose pins changed reinstalls. A lock file makes a second vodesk (the app and a CLI at
//! once) wait for the first and then find it installed. What is missing on the machine (python3, its venv
//! module, the network) comes back as an [`InstallError`] naming the one command that fixes it.

mod process;
mod progress;

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::emulator::{EmulatorError, PYTHON_ENV, find_python};
use super::probe::find_on_path;
use process::{detail_suffix, last_line, retarget, run_merged};
use progress::PipLines;
pub use progress::{InstallProgress, ProgressSink};

/// The pinned requirements, as the checkout's `scripts/install-emulator` installs them.
pub const REQUIREMENTS: &str = include_str!("../../scripts/requirements-emulator.txt");
/// The command that (re)installs the emulator, for the messages that need one.
pub const INSTALL_COMMAND: &str = "vodesk local-stack --install-emulator";
/// The oldest Python the pins install on: several of them (regex, rpds-py, pydantic-settings…)
/// declare `Requires-Python >=3.11`.
pub const MIN_PYTHON: (u32, u32) = (3, 11);
/// Inside the venv: which requirements it was built from (see [`stamp_text`]).
const STAMP_FILE: &str = ".vodesk-requirements-stamp";
/// Inside the venv: the requirements pip read, kept to show what is installed.
const REQUIREMENTS_FILE: &str = "vodesk-requirements.txt";
const LOCK_FILE: &str = "install.lock";
const VENV_DIR: &str = "venv";
/// Sibling folders of `venv`: one being built, and the one being replaced.
const PARTIAL_PREFIX: &str = "venv.partial-";
const OLD_PREFIX: &str = "venv.old-";

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(
        "the local demo stack runs an AWS emulator (moto) that vodesk installs with python3, and there is no python3 on PATH: install it with `sudo apt install python3 python3-venv`, then run `vodesk local-stack` again"
    )]
    NoPython,
    #[error(
        "{python} cannot create Python environments (its venv/ensurepip modules are missing{detail}): install them with `sudo apt install python3-venv`, then run `vodesk local-stack` again"
    )]
    NoVenv { python: PathBuf, detail: String },
    #[error(
        "{python} is Python {found}, but the emulator's pinned packages need Python {}.{} or newer: install a newer python3 first on PATH, or set {PYTHON_ENV} to a Python that has moto[server,cloudformation] installed",
        MIN_PYTHON.0, MIN_PYTHON.1
    )]
    PythonTooOld { python: PathBuf, found: String },
    #[error(
        "{python} does not run ({detail}): reinstall it with `sudo apt install --reinstall python3 python3-venv`"
    )]
    PythonBroken { python: PathBuf, detail: String },
    #[error(
        "`{python} -m venv` could not create the emulator's environment in {}:\n{tail}\nthen run `{INSTALL_COMMAND}`",
        .target.display()
    )]
    Venv {
        python: PathBuf,
        target: PathBuf,
        tail: String,
    },
    #[error(
        "pip could not install the emulator's pinned packages (Python {version}); its last lines:\n{tail}\nCheck the network connection; behind a proxy set HTTPS_PROXY, or point pip at a package mirror with PIP_INDEX_URL=https://…/simple; then run `{INSTALL_COMMAND}`"
    )]
    Pip { version: String, tail: String },
    #[error(
        "the emulator's packages installed, but moto does not import with {}:\n{tail}\nrun `{INSTALL_COMMAND}` to install it again",
        .python.display()
    )]
    Check { python: PathBuf, tail: String },
    #[error(
        "no data folder for vodesk could be determined (HOME is not set?): set VODESK_DATA_DIR to a writable folder, or set {PYTHON_ENV} to a Python that has moto[server,cloudformation] installed"
    )]
    NoDataDir,
    #[error(
        "cannot write the emulator's folder {}: {source}; make it writable, or set VODESK_DATA_DIR to a writable folder",
        .path.display()
    )]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `<data dir>/emulator`: the venv, its lock and the folders of an install under way.
pub fn emulator_dir() -> Result<PathBuf, InstallError> {
    crate::aws::upload::journal::data_dir()
        .map(|data| data.join("emulator"))
        .map_err(|_| InstallError::NoDataDir)
}

/// `<data dir>/emulator/venv`, where vodesk installs the emulator for this user.
pub fn per_user_venv() -> Result<PathBuf, InstallError> {
    emulator_dir().map(|dir| dir.join(VENV_DIR))
}

/// The interpreter of a venv.
pub fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Whether `venv` is a complete install of this vodesk's pins: its Python is there and its stamp
/// names the embedded requirements. A half-built folder has no stamp (it is written last).
pub fn is_current(venv: &Path) -> bool {
    venv_python(venv).is_file()
        && std::fs::read_to_string(venv.join(STAMP_FILE)).is_ok_and(|stamp| stamp == stamp_text())
}

/// The stamp's content: a checksum of the embedded requirements (a change detector, not a signature).
fn stamp_text() -> String {
    let sum = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, REQUIREMENTS.as_bytes());
    format!("requirements-crc64nvme {sum:016x}\n")
}

/// How many packages the requirements pin (the `N` of "package n of N").
pub fn requirement_count() -> usize {
    REQUIREMENTS
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('-'))
        .count()
}

/// The emulator's Python: found as [`find_python`] finds it, else installed for this user now
/// (`progress` sees each step). Blocks for as long as pip takes (a minute or two): call it from a
/// blocking thread.
pub fn find_or_install(
    progress: &mut dyn FnMut(InstallProgress),
) -> Result<PathBuf, EmulatorError> {
    match find_python() {
        Err(EmulatorError::NotInstalled { .. } | EmulatorError::Outdated(_)) => {
            Ok(install(progress)?)
        }
        found => found,
    }
}

/// Installs the emulator into [`per_user_venv`] unless it is installed there already (waiting for
/// another vodesk that is installing it), and returns its Python. Blocks: see [`find_or_install`].
pub fn install(progress: &mut dyn FnMut(InstallProgress)) -> Result<PathBuf, InstallError> {
    install_at(&emulator_dir()?, None, false, progress)
}

/// Installs the emulator into [`per_user_venv`] again even if it is there (a broken install).
pub fn reinstall(progress: &mut dyn FnMut(InstallProgress)) -> Result<PathBuf, InstallError> {
    install_at(&emulator_dir()?, None, true, progress)
}

/// The install into `dir/venv` with `python3` (else the first on PATH); `force` rebuilds a current one.
fn install_at(
    dir: &Path,
    python3: Option<&Path>,
    force: bool,
    progress: &mut dyn FnMut(InstallProgress),
) -> Result<PathBuf, InstallError> {
    let not_writable = |path: &Path| {
        let path = path.to_owned();
        move |source| InstallError::NotWritable { path, source }
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(not_writable(dir))?;
    let lock_path = dir.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(not_writable(&lock_path))?;
    wait_for_lock(&lock, &lock_path, progress)?;
    let venv = dir.join(VENV_DIR);
    if !force && is_current(&venv) {
        // The other vodesk that held the lock installed it (or it was there all along).
        let python = venv_python(&venv);
        progress(InstallProgress::Done {
            python: python.clone(),
        });
        return Ok(python);
    }
    remove_leftovers(dir);
    let python3 = match python3 {
        Some(path) => path.to_owned(),
        None => find_on_path("python3").ok_or(InstallError::NoPython)?,
    };
    let version = check_python(&python3)?;
    let partial = dir.join(format!("{PARTIAL_PREFIX}{}", std::process::id()));
    let mut cleanup = RemoveOnDrop(Some(partial.clone()));
    progress(InstallProgress::CreatingEnvironment {
        target: venv.clone(),
    });
    create_venv(&python3, &partial, &venv)?;
    pip_install(&partial, &version, progress)?;
    progress(InstallProgress::Checking);
    check_moto(&partial, &venv)?;
    retarget(&partial, &venv).map_err(|source| InstallError::Io {
        action: "point the new environment's scripts at",
        path: venv.clone(),
        source,
    })?;
    std::fs::write(partial.join(STAMP_FILE), stamp_text()).map_err(not_writable(&partial))?;
    replace_venv(dir, &partial, &venv)?;
    cleanup.0 = None;
    drop(lock);
    let python = venv_python(&venv);
    progress(InstallProgress::Done {
        python: python.clone(),
    });
    Ok(python)
}

/// Takes the install lock, telling `progress` first when another process holds it. The lock goes
/// with the file handle, so a killed installer never leaves it taken.
fn wait_for_lock(
    lock: &File,
    path: &Path,
    progress: &mut dyn FnMut(InstallProgress),
) -> Result<(), InstallError> {
    let failed = |source| InstallError::Io {
        action: "lock",
        path: path.to_owned(),
        source,
    };
    match lock.try_lock() {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => {
            progress(InstallProgress::WaitingForOtherInstall {
                lock: path.to_owned(),
            });
            lock.lock().map_err(failed)
        }
        Err(TryLockError::Error(source)) => Err(failed(source)),
    }
}

/// Removes what a killed install left beside `venv`. Never taken for an install (only `venv` with its
/// stamp is), they only take space. Runs under the lock, so no live install owns them.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if (name.starts_with(PARTIAL_PREFIX) || name.starts_with(OLD_PREFIX))
            && let Err(err) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(
                "could not remove {} (left by an interrupted emulator install): {err}",
                entry.path().display()
            );
        }
    }
}

/// Checks that `python3` runs, is new enough and can create venvs with pip; returns its version.
fn check_python(python3: &Path) -> Result<String, InstallError> {
    let broken = |detail: String| InstallError::PythonBroken {
        python: python3.to_owned(),
        detail,
    };
    let output = Command::new(python3)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| broken(e.to_string()))?;
    if !output.status.success() {
        return Err(broken(last_line(&output.stderr)));
    }
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match parse_version(&version) {
        Some(found) if found >= MIN_PYTHON => {}
        Some(_) => {
            return Err(InstallError::PythonTooOld {
                python: python3.to_owned(),
                found: version,
            });
        }
        None => return Err(broken(format!("it printed {version:?} as its version"))),
    }
    // Debian ships venv and ensurepip apart from python3 (the python3-venv package).
    let output = Command::new(python3)
        .args(["-c", "import venv, ensurepip"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| broken(e.to_string()))?;
    if !output.status.success() {
        return Err(InstallError::NoVenv {
            python: python3.to_owned(),
            detail: detail_suffix(&last_line(&output.stderr)),
        });
    }
    Ok(version)
}

/// `3.11.7` → `(3, 11)`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// `python3 -m venv partial`. Debian's python3 without python3-venv gets this far (its `ensurepip`
/// imports but refuses to run), so its message is recognised here too.
fn create_venv(python3: &Path, partial: &Path, venv: &Path) -> Result<(), InstallError> {
    let mut command = Command::new(python3);
    command.arg("-m").arg("venv").arg(partial);
    let (status, tail) =
        run_merged(command, &mut |_| {}).map_err(|e| InstallError::PythonBroken {
            python: python3.to_owned(),
            detail: e.to_string(),
        })?;
    if status.success() && venv_python(partial).is_file() {
        return Ok(());
    }
    let text = tail.text();
    if text.contains("ensurepip") || text.contains("-venv") {
        return Err(InstallError::NoVenv {
            python: python3.to_owned(),
            detail: detail_suffix(&tail.last()),
        });
    }
    Err(InstallError::Venv {
        python: python3.to_owned(),
        target: venv.to_owned(),
        tail: text,
    })
}

/// pip installs the embedded requirements into `partial`, reporting each package it fetches.
fn pip_install(
    partial: &Path,
    version: &str,
    progress: &mut dyn FnMut(InstallProgress),
) -> Result<(), InstallError> {
    let requirements = partial.join(REQUIREMENTS_FILE);
    std::fs::write(&requirements, REQUIREMENTS).map_err(|source| InstallError::Io {
        action: "write",
        path: requirements.clone(),
        source,
    })?;
    let mut command = Command::new(venv_python(partial));
    command
        .args(["-m", "pip", "install", "--require-virtualenv", "--no-input"])
        .args(["--disable-pip-version-check", "--progress-bar", "off"])
        // Compiling every module of the 61 packages (sympy, networkx, cfn-lint…) took half of a 66 s
        // install here; Python compiles what the emulator imports on its first start instead (≈1 s).
        .arg("--no-compile")
        .arg("-r")
        .arg(&requirements)
        // Without it Python buffers its output to the pipe, and every step arrives at the end.
        .env("PYTHONUNBUFFERED", "1");
    let mut lines = PipLines::new(requirement_count());
    let result = run_merged(command, &mut |line| {
        if let Some(step) = lines.read(line) {
            progress(step);
        }
    });
    let failed = |tail: String| InstallError::Pip {
        version: version.to_owned(),
        tail,
    };
    match result {
        Ok((status, _)) if status.success() => Ok(()),
        Ok((_, tail)) => Err(failed(tail.text())),
        Err(e) => Err(failed(format!("pip did not run: {e}"))),
    }
}

/// Imports what the launcher imports, with the environment still at its temporary path.
fn check_moto(partial: &Path, venv: &Path) -> Result<(), InstallError> {
    let mut command = Command::new(venv_python(partial));
    command.args(["-c", "import moto, moto.server"]);
    let failed = |tail: String| InstallError::Check {
        python: venv_python(venv),
        tail,
    };
    match run_merged(command, &mut |_| {}) {
        Ok((status, _)) if status.success() => Ok(()),
        Ok((_, tail)) => Err(failed(tail.text())),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// Puts the finished `partial` at `venv`, moving an older install aside first and removing it after.
fn replace_venv(dir: &Path, partial: &Path, venv: &Path) -> Result<(), InstallError> {
    let moved = |path: &Path| {
        let path = path.to_owned();
        move |source| InstallError::Io {
            action: "move into place",
            path,
            source,
        }
    };
    let old = dir.join(format!("{OLD_PREFIX}{}", std::process::id()));
    let had_old = venv.exists();
    if had_old {
        std::fs::rename(venv, &old).map_err(moved(venv))?;
    }
    std::fs::rename(partial, venv).map_err(moved(venv))?;
    if had_old && let Err(err) = std::fs::remove_dir_all(&old) {
        tracing::warn!(
            "could not remove the previous emulator install {}: {err}",
            old.display()
        );
    }
    Ok(())
}

/// Removes the folder it names when dropped: a failed install leaves nothing behind.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take()
            && path.exists()
            && let Err(err) = std::fs::remove_dir_all(&path)
        {
            // The next install removes it (remove_leftovers); it is never taken for installed.
            tracing::warn!("could not remove {}: {err}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    /// A stand-in for python3, with a stand-in venv whose "pip" prints pip's kind of lines. `pip_end`
    /// ends pip's output (and its exit code); `venv_body` replaces the venv's creation when given.
    struct FakePython {
        python3: PathBuf,
        created: PathBuf,
    }

    const GOOD_PIP_END: &str = "echo 'Installing collected packages: moto, awscrt, boto3'; echo 'Successfully installed moto-5.2.5 awscrt-0.38.0 boto3-1.44.8'";

    fn fake_python(
        root: &Path,
        version: &str,
        venv_body: Option<&str>,
        pip_end: &str,
    ) -> FakePython {
        let created = root.join("venvs-created");
        let default_body = r#"mkdir -p "$dir/bin"
printf 'home = /usr/bin\ncommand = python3 -m venv %s\n' "$dir" > "$dir/pyvenv.cfg"
printf '#!%s/bin/python\nprint("tool")\n' "$dir" > "$dir/bin/tool"
cat > "$dir/bin/python" <<'PY'
#!/bin/sh
case "$1" in
-m) echo 'Collecting moto[server,cloudformation]==5.2.5 (from -r req.txt (line 3))'
    echo '  Downloading moto-5.2.5-py3-none-any.whl (5.1 MB)'
    echo 'Collecting awscrt==0.38.0 (from -r req.txt (line 5))'
    sleep 0.3
    echo 'Collecting boto3==1.44.8'
    PIP_END ;;
-c) exit 0 ;;
esac
PY
chmod +x "$dir/bin/python""#
            .replace("PIP_END", pip_end);
        let script = r#"#!/bin/sh
case "$1" in
-c) case "$2" in
    *version_info*) echo VERSION ;;
    esac
    exit 0 ;;
-m) dir="$3"
    echo created >> "CREATED"
    BODY ;;
esac
"#
        .replace("VERSION", version)
        .replace("CREATED", &created.display().to_string())
        .replace("BODY", venv_body.unwrap_or(&default_body));
        let python3 = root.join("python3");
        std::fs::write(&python3, script).unwrap();
        std::fs::set_permissions(&python3, std::fs::Permissions::from_mode(0o755)).unwrap();
        FakePython { python3, created }
    }

    fn venvs_created(fake: &FakePython) -> usize {
        std::fs::read_to_string(&fake.created)
            .map(|text| text.lines().count())
            .unwrap_or(0)
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(PARTIAL_PREFIX) || name.starts_with(OLD_PREFIX))
            .collect()
    }

    fn run(
        dir: &Path,
        fake: &FakePython,
        force: bool,
    ) -> (Result<PathBuf, InstallError>, Vec<InstallProgress>) {
        let mut steps = Vec::new();
        let result = install_at(dir, Some(&fake.python3), force, &mut |step| {
            steps.push(step)
        });
        (result, steps)
    }

    #[test]
    fn counts_every_pinned_requirement() {
        let pins = REQUIREMENTS.lines().filter(|l| l.contains("==")).count();
        assert_eq!(requirement_count(), pins);
        assert!(pins > 50, "{pins}");
    }

    #[test]
    fn the_stamp_marks_only_a_complete_install_of_these_pins() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("venv");
        assert!(!is_current(&venv));
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(venv.join(STAMP_FILE), stamp_text()).unwrap();
        assert!(
            !is_current(&venv),
            "a stamp without a Python is not an install"
        );
        std::fs::write(venv_python(&venv), "").unwrap();
        assert!(is_current(&venv));
        std::fs::write(
            venv.join(STAMP_FILE),
            "requirements-crc64nvme 0000000000000000\n",
        )
        .unwrap();
        assert!(!is_current(&venv), "other pins");
        std::fs::remove_file(venv.join(STAMP_FILE)).unwrap();
        assert!(!is_current(&venv), "no stamp: half built or not ours");
    }

    #[test]
    fn reads_python_versions() {
        assert_eq!(parse_version("3.11.7"), Some((3, 11)));
        assert_eq!(parse_version("3.9"), Some((3, 9)));
        assert!(parse_version("3.9.1").is_some_and(|v| v < MIN_PYTHON));
        assert_eq!(parse_version("Python"), None);
    }

    #[test]
    fn installs_into_a_sibling_then_renames_with_a_stamp_and_only_once() {
        let root = tempfile::tempdir().unwrap();
        let fake = fake_python(root.path(), "3.11.7", None, GOOD_PIP_END);
        let dir = root.path().join("data/emulator");
        let (result, steps) = run(&dir, &fake, false);
        let venv = dir.join("venv");
        assert_eq!(result.unwrap(), venv_python(&venv));
        assert!(is_current(&venv));
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        assert_eq!(
            std::fs::read_to_string(venv.join(REQUIREMENTS_FILE)).unwrap(),
            REQUIREMENTS
        );
        // The scripts name the final folder, not the temporary one.
        let tool = std::fs::read_to_string(venv.join("bin/tool")).unwrap();
        assert_eq!(
            tool.lines().next(),
            Some(format!("#!{}/bin/python", venv.display()).as_str())
        );
        let cfg = std::fs::read_to_string(venv.join("pyvenv.cfg")).unwrap();
        assert!(
            cfg.contains(&format!("-m venv {}\n", venv.display())),
            "{cfg}"
        );
        let total = requirement_count();
        assert_eq!(
            steps,
            [
                InstallProgress::CreatingEnvironment {
                    target: venv.clone()
                },
                InstallProgress::Downloading {
                    n: 1,
                    total,
                    package: "moto".into()
                },
                InstallProgress::Downloading {
                    n: 2,
                    total,
                    package: "awscrt".into()
                },
                InstallProgress::Downloading {
                    n: 3,
                    total,
                    package: "boto3".into()
                },
                InstallProgress::Installing { total },
                InstallProgress::Installed { count: 3 },
                InstallProgress::Checking,
                InstallProgress::Done {
                    python: venv_python(&venv)
                },
            ]
        );
        // Installed: the next call only finds it; `force` builds it again.
        let (again, steps) = run(&dir, &fake, false);
        assert_eq!(again.unwrap(), venv_python(&venv));
        assert_eq!(
            steps,
            [InstallProgress::Done {
                python: venv_python(&venv)
            }]
        );
        assert_eq!(venvs_created(&fake), 1);
        let (forced, _) = run(&dir, &fake, true);
        assert_eq!(forced.unwrap(), venv_python(&venv));
        assert_eq!(venvs_created(&fake), 2);
        assert!(is_current(&venv) && leftovers(&dir).is_empty());
    }

    #[test]
    fn a_failed_pip_leaves_nothing_that_looks_installed() {
        let root = tempfile::tempdir().unwrap();
        let pip_fails = "echo 'ERROR: Could not find a version that satisfies the requirement boto3==1.44.8' >&2; exit 1";
        let fake = fake_python(root.path(), "3.11.7", None, pip_fails);
        let dir = root.path().join("emulator");
        let (result, steps) = run(&dir, &fake, false);
        let text = result.unwrap_err().to_string();
        assert!(
            text.contains("Could not find a version that satisfies"),
            "{text}"
        );
        assert!(
            text.contains("PIP_INDEX_URL") && text.contains(INSTALL_COMMAND),
            "{text}"
        );
        assert!(text.contains("Python 3.11.7"), "{text}");
        assert!(steps.contains(&InstallProgress::Downloading {
            n: 3,
            total: requirement_count(),
            package: "boto3".into()
        }));
        assert!(!dir.join("venv").exists());
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    }

    #[test]
    fn a_killed_install_is_not_taken_for_installed_and_is_cleaned_up() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("emulator");
        // What a killed install leaves: a partial folder with a Python and most packages, no stamp.
        let partial = dir.join(format!("{PARTIAL_PREFIX}4242"));
        std::fs::create_dir_all(partial.join("bin")).unwrap();
        std::fs::write(venv_python(&partial), "").unwrap();
        assert!(!is_current(&dir.join("venv")));
        let fake = fake_python(root.path(), "3.11.7", None, GOOD_PIP_END);
        let (result, _) = run(&dir, &fake, false);
        assert!(result.is_ok(), "{result:?}");
        assert!(!partial.exists());
        assert!(is_current(&dir.join("venv")));
    }

    #[test]
    fn an_install_of_older_pins_is_replaced() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("emulator");
        let venv = dir.join("venv");
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(venv_python(&venv), "").unwrap();
        std::fs::write(
            venv.join(STAMP_FILE),
            "requirements-crc64nvme 0123456789abcdef\n",
        )
        .unwrap();
        std::fs::write(venv.join("old-marker"), "").unwrap();
        let fake = fake_python(root.path(), "3.11.7", None, GOOD_PIP_END);
        let (result, _) = run(&dir, &fake, false);
        assert_eq!(result.unwrap(), venv_python(&venv));
        assert!(is_current(&venv));
        assert!(!venv.join("old-marker").exists());
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    }

    #[test]
    fn a_second_installer_waits_then_finds_it_installed() {
        let root = tempfile::tempdir().unwrap();
        let fake = Arc::new(fake_python(root.path(), "3.11.7", None, GOOD_PIP_END));
        let dir = Arc::new(root.path().join("emulator"));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (fake, dir) = (fake.clone(), dir.clone());
                std::thread::spawn(move || run(&dir, &fake, false))
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for (result, _) in &results {
            assert_eq!(result.as_ref().unwrap(), &venv_python(&dir.join("venv")));
        }
        assert_eq!(venvs_created(&fake), 1);
        // The one that waited did nothing but wait and find it.
        let waited: Vec<_> = results
            .iter()
            .filter(|(_, steps)| {
                !steps
                    .iter()
                    .any(|s| matches!(s, InstallProgress::CreatingEnvironment { .. }))
            })
            .collect();
        assert_eq!(waited.len(), 1);
        assert!(matches!(
            waited[0].1.last(),
            Some(InstallProgress::Done { .. })
        ));
    }

    #[test]
    fn names_the_package_that_is_missing() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("emulator");
        // Debian's python3 without python3-venv: `-m venv` refuses, naming ensurepip.
        let debian = "echo 'The virtual environment was not created successfully because ensurepip is not'; echo 'available.  On Debian/Ubuntu systems, you need to install the python3-venv'; echo '    apt install python3.11-venv'; exit 1";
        let fake = fake_python(root.path(), "3.11.2", Some(debian), GOOD_PIP_END);
        let (result, _) = run(&dir, &fake, false);
        let text = result.unwrap_err().to_string();
        assert!(text.contains("sudo apt install python3-venv"), "{text}");
        assert!(!dir.join("venv").exists() && leftovers(&dir).is_empty());

        let old = fake_python(root.path(), "3.9.2", None, GOOD_PIP_END);
        let text = run(&dir, &old, false).0.unwrap_err().to_string();
        assert!(
            text.contains("Python 3.9.2") && text.contains("3.11 or newer"),
            "{text}"
        );
    }

    #[test]
    fn an_unwritable_data_folder_is_named() {
        let root = tempfile::tempdir().unwrap();
        let blocker = root.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let fake = fake_python(root.path(), "3.11.7", None, GOOD_PIP_END);
        let dir = blocker.join("emulator");
        let text = run(&dir, &fake, false).0.unwrap_err().to_string();
        assert!(
            text.contains(&format!(
                "cannot write the emulator's folder {}",
                dir.display()
            )),
            "{text}"
        );
        assert!(text.contains("VODESK_DATA_DIR"), "{text}");
    }
}
