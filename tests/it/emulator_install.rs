//! The emulator installed on first use (issue 14), seen as a user of the installed binary sees it: the
//! built `vodesk`, linked outside the checkout (so it does not use the checkout's `.venv`, as an
//! installed one would not), run from an empty folder with a fresh HOME and a PATH holding only the
//! media tools. Without python3, or with one that cannot make venvs, `vodesk local-stack` stops at once
//! naming what is missing and the apt command that installs it. The real install needs the network and
//! a minute: `scripts/check-first-run` runs it; the install's own logic has unit tests in the module.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A fresh user: HOME, an empty working folder, a PATH folder, and vodesk outside the checkout.
struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        for dir in ["home", "work", "bin"] {
            std::fs::create_dir(root.path().join(dir)).expect("mkdir");
        }
        let exe = root.path().join("vodesk");
        // A hard link is instant on the same file system; a copy otherwise (the binary is large).
        if std::fs::hard_link(env!("CARGO_BIN_EXE_vodesk"), &exe).is_err() {
            std::fs::copy(env!("CARGO_BIN_EXE_vodesk"), &exe).expect("copy vodesk");
        }
        // The local stack checks its encoder and probe before the emulator: give it those only.
        for tool in ["ffmpeg", "ffprobe", "mediainfo"] {
            let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join(tool))
                .find(|path| path.is_file())
                .unwrap_or_else(|| {
                    panic!("{tool} is not installed (apt-get install ffmpeg mediainfo)")
                });
            std::os::unix::fs::symlink(found, root.path().join("bin").join(tool)).expect("symlink");
        }
        Self { root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Puts an executable script on the sandbox's PATH.
    fn script(&self, name: &str, text: &str) {
        let path = self.path("bin").join(name);
        std::fs::write(&path, text).expect("write script");
        let mut permissions = std::fs::metadata(&path).expect("metadata").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&path, permissions).expect("chmod");
    }

    /// `vodesk ARGS` with nothing of this environment (no VODESK_EMULATOR_PYTHON, no VODESK_DATA_DIR).
    fn run(&self, args: &[&str]) -> (Output, Duration) {
        let home = self.path("home");
        let started = Instant::now();
        let mut child = Command::new(self.path("vodesk"))
            .args(args)
            .env_clear()
            .env("PATH", self.path("bin"))
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .current_dir(self.path("work"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vodesk");
        // Failing fast is the point: a vodesk that found some emulator would run until killed.
        while child.try_wait().expect("poll vodesk").is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                child.kill().expect("kill vodesk");
                let output = child.wait_with_output().expect("collect output");
                panic!(
                    "vodesk {args:?} still ran after 60 s: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().expect("collect output");
        (output, started.elapsed())
    }

    fn emulator_dir(&self) -> PathBuf {
        self.path("home").join(".local/share/vodesk/emulator")
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_no_venv(dir: &Path) {
    let entries: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("venv"))
                .collect()
        })
        .unwrap_or_default();
    assert!(entries.is_empty(), "left in {}: {entries:?}", dir.display());
}

#[test]
fn without_python3_local_stack_names_it_and_the_apt_command() {
    let sandbox = Sandbox::new();
    for args in [&["local-stack"][..], &["local-stack", "--install-emulator"]] {
        let (output, took) = sandbox.run(args);
        let text = stderr(&output);
        assert!(!output.status.success(), "{args:?}: {text}");
        assert!(
            text.contains("there is no python3 on PATH"),
            "{args:?}: {text}"
        );
        assert!(
            text.contains("`sudo apt install python3 python3-venv`"),
            "{args:?}: {text}"
        );
        assert!(took < Duration::from_secs(20), "{args:?} took {took:?}");
        assert_no_venv(&sandbox.emulator_dir());
    }
    // Nothing was written where it ran.
    assert_eq!(
        std::fs::read_dir(sandbox.path("work"))
            .expect("read work")
            .count(),
        0
    );
}

#[test]
fn with_a_python3_that_cannot_make_venvs_local_stack_asks_for_python3_venv() {
    let sandbox = Sandbox::new();
    // What Debian's python3 without python3-venv answers to vodesk's two questions.
    sandbox.script(
        "python3",
        "#!/bin/sh\ncase \"$*\" in\n*version_info*) echo 3.11.2 ;;\n*ensurepip*) echo \"ModuleNotFoundError: No module named 'ensurepip'\" >&2; exit 1 ;;\n*) exit 1 ;;\nesac\n",
    );
    let (output, took) = sandbox.run(&["local-stack", "--json"]);
    let text = stderr(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("cannot create Python environments"), "{text}");
    assert!(text.contains("No module named 'ensurepip'"), "{text}");
    assert!(text.contains("`sudo apt install python3-venv`"), "{text}");
    assert!(!text.contains("python3 python3-venv"), "{text}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    // --json keeps stdout for the settings line, which never came.
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_no_venv(&sandbox.emulator_dir());
}
