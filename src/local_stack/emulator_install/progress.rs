//! What an emulator install reports while it runs: its steps ([`InstallProgress`], with a fraction for a
//! progress bar and a line of text), the handle that carries them to whoever shows them
//! ([`ProgressSink`]), and the reading of pip's output into numbered package steps ([`PipLines`]).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// One step of an install, in order. `Downloading` comes once per package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallProgress {
    /// Another vodesk (the app or a CLI) holds the install lock: this one waits, then uses its result.
    WaitingForOtherInstall { lock: PathBuf },
    /// `python3 -m venv` in a folder beside `target`, which becomes `target` once everything worked.
    CreatingEnvironment { target: PathBuf },
    /// pip fetches the `n`-th of the `total` pinned packages.
    Downloading {
        n: usize,
        total: usize,
        package: String,
    },
    /// pip unpacks the packages it fetched.
    Installing { total: usize },
    /// pip reported `count` packages installed.
    Installed { count: usize },
    /// Checking that moto imports with the new environment.
    Checking,
    /// Ready: the Python that runs the emulator.
    Done { python: PathBuf },
}

impl InstallProgress {
    /// How far the install is, from 0 to 1, for a progress bar: the steps weighed by how long they took
    /// on a first install here (venv ≈ 6 s, downloads ≈ 17 s, unpacking ≈ 6 s, pip's end and the check ≈ 5 s).
    pub fn fraction(&self) -> f32 {
        match self {
            Self::WaitingForOtherInstall { .. } => 0.0,
            Self::CreatingEnvironment { .. } => 0.02,
            Self::Downloading { n, total, .. } => {
                0.2 + 0.6 * (*n as f32 / (*total).max(1) as f32).min(1.0)
            }
            Self::Installing { .. } => 0.8,
            Self::Installed { .. } | Self::Checking => 0.95,
            Self::Done { .. } => 1.0,
        }
    }
}

impl fmt::Display for InstallProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WaitingForOtherInstall { lock } => write!(
                f,
                "waiting for another vodesk that is installing the emulator (lock {})",
                lock.display()
            ),
            Self::CreatingEnvironment { target } => write!(
                f,
                "creating the emulator's Python environment for {}",
                target.display()
            ),
            Self::Downloading { n, total, package } => {
                write!(f, "downloading package {n} of {total}: {package}")
            }
            Self::Installing { total } => write!(f, "installing {total} packages"),
            Self::Installed { count } => write!(f, "installed {count} packages"),
            Self::Checking => write!(f, "checking that the emulator (moto) imports"),
            Self::Done { python } => {
                write!(f, "the emulator is installed ({})", python.display())
            }
        }
    }
}

/// A receiver of [`InstallProgress`] that can cross to the thread that installs (the local stack
/// installs on a blocking thread). Compared by identity, so options holding one stay comparable.
#[derive(Clone)]
pub struct ProgressSink(Arc<dyn Fn(InstallProgress) + Send + Sync>);

impl ProgressSink {
    pub fn new(report: impl Fn(InstallProgress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(report))
    }

    pub fn report(&self, step: InstallProgress) {
        (self.0)(step)
    }
}

impl fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressSink(..)")
    }
}

impl PartialEq for ProgressSink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ProgressSink {}

/// Turns pip's lines into steps: "Collecting X" once per package it fetches, then "Installing
/// collected packages: …" and "Successfully installed …".
#[derive(Debug)]
pub(super) struct PipLines {
    total: usize,
    collected: usize,
}

impl PipLines {
    pub(super) fn new(total: usize) -> Self {
        Self {
            total,
            collected: 0,
        }
    }

    pub(super) fn read(&mut self, line: &str) -> Option<InstallProgress> {
        let line = line.trim();
        if let Some(spec) = line.strip_prefix("Collecting ") {
            self.collected += 1;
            // A package the pins forgot is fetched too: N grows rather than n passing it.
            self.total = self.total.max(self.collected);
            return Some(InstallProgress::Downloading {
                n: self.collected,
                total: self.total,
                package: package_name(spec),
            });
        }
        if line.starts_with("Installing collected packages") {
            return Some(InstallProgress::Installing { total: self.total });
        }
        line.strip_prefix("Successfully installed ")
            .map(|names| InstallProgress::Installed {
                count: names.split_whitespace().count(),
            })
    }
}

/// `moto[server]==5.2.5 (from -r …)` → `moto`.
fn package_name(spec: &str) -> String {
    spec.split(|c: char| c.is_whitespace() || "[=<>!~;(".contains(c))
        .next()
        .unwrap_or(spec)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_lines_become_numbered_steps() {
        let mut lines = PipLines::new(3);
        let mut steps = Vec::new();
        for line in [
            "Looking in links: /opt/wheels",
            "Collecting moto[server,cloudformation]==5.2.5 (from -r /x/req.txt (line 3))",
            "  Downloading moto-5.2.5-py3-none-any.whl (5.1 MB)",
            "Collecting awscrt==0.38.0",
            "  Using cached awscrt-0.38.0.whl",
            "Collecting boto3==1.44.8",
            "Collecting extra-thing>=1 (from boto3==1.44.8)",
            "Installing collected packages: moto, awscrt, boto3, extra-thing",
            "Successfully installed awscrt-0.38.0 boto3-1.44.8 extra-thing-1.0 moto-5.2.5",
        ] {
            steps.extend(lines.read(line));
        }
        let downloading = |n, total, package: &str| InstallProgress::Downloading {
            n,
            total,
            package: package.into(),
        };
        assert_eq!(
            steps,
            [
                downloading(1, 3, "moto"),
                downloading(2, 3, "awscrt"),
                downloading(3, 3, "boto3"),
                downloading(4, 4, "extra-thing"),
                InstallProgress::Installing { total: 4 },
                InstallProgress::Installed { count: 4 },
            ]
        );
        let fractions: Vec<f32> = steps.iter().map(InstallProgress::fraction).collect();
        assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
        assert_eq!(steps[1].to_string(), "downloading package 2 of 3: awscrt");
    }

    #[test]
    fn package_names_without_versions_or_extras() {
        assert_eq!(package_name("PyYAML==6.0.4"), "PyYAML");
        assert_eq!(package_name("moto[server]==5.2.5 (from -r x)"), "moto");
        assert_eq!(package_name("rpds-py>=0.7 (from jsonschema)"), "rpds-py");
    }

    #[test]
    fn sinks_compare_by_identity() {
        let sink = ProgressSink::new(|_| {});
        assert_eq!(sink, sink.clone());
        assert_ne!(sink, ProgressSink::new(|_| {}));
    }
}
