//! `vodesk doctor` and the window's "Check my setup": one checklist of everything a working setup
//! needs, each line with the fix when it fails. The AWS side: the region, the credentials (their
//! source and expiry) and the clock against the service's ([`aws`]); the stack and its version
//! ([`stack`]); each resource reached and each permission vodesk needs tried with a harmless call:
//! a multipart upload started and aborted ([`access`]), one-item reads of the table ([`table`]),
//! the live monitor's queue made, subscribed and removed again ([`monitor`]), with what they share
//! in [`context`]. The local side ([`local`]): ffmpeg and mediainfo/ffprobe for the local demo
//! stack, the upload journal and the thumbnail cache writable.
//!
//! Checks run in a fixed order and the list always has the same lines: a check that needs an
//! earlier one that failed (no credentials, no stack) is [`Outcome::Skipped`] with the reason. Every
//! call is bounded by a timeout. Text the service sent (error messages, stack status) is kept to one
//! short line here; printers make it safe for a terminal.

mod access;
mod aws;
mod context;
mod local;
mod monitor;
mod stack;
mod table;

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use crate::aws::connection::ConnectionSettings;
use crate::aws::discovery::StackOverrides;
use crate::aws::upload::naming::DEFAULT_KEY_TEMPLATE;

/// The checks' ids, in the order the checklist lists them (stable: scripts and tests use them).
pub mod ids {
    pub const REGION: &str = "region";
    pub const CREDENTIALS: &str = "credentials";
    pub const CLOCK: &str = "clock";
    pub const STACK: &str = "stack";
    pub const STACK_RESOURCES: &str = "stack-resources";
    pub const SOURCE_BUCKET: &str = "source-bucket";
    pub const UPLOADS: &str = "uploads";
    pub const DESTINATION_BUCKET: &str = "destination-bucket";
    pub const TABLE: &str = "table";
    pub const TABLE_GET_ITEM: &str = "table-get-item";
    pub const TABLE_SCAN: &str = "table-scan";
    pub const TOPIC: &str = "topic";
    pub const MONITOR: &str = "monitor";
    pub const NOT_TRIED: &str = "not-tried";
    pub const FFMPEG: &str = "ffmpeg";
    pub const MEDIA_PROBE: &str = "media-probe";
    pub const JOURNAL: &str = "journal";
    pub const THUMBNAIL_CACHE: &str = "thumbnail-cache";
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    Pass {
        detail: String,
    },
    /// Works, but something deserves attention (vodesk copes, with less).
    Warn {
        detail: String,
        fix: String,
    },
    Fail {
        problem: String,
        fix: String,
    },
    /// Not run: an earlier check it needs failed, or it does not apply.
    Skipped {
        why: String,
    },
}

impl Outcome {
    pub fn pass(detail: impl Into<String>) -> Self {
        Self::Pass {
            detail: detail.into(),
        }
    }

    pub fn warn(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Warn {
            detail: detail.into(),
            fix: fix.into(),
        }
    }

    pub fn fail(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Fail {
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub fn skipped(why: impl Into<String>) -> Self {
        Self::Skipped { why: why.into() }
    }

    pub fn is_fail(&self) -> bool {
        matches!(self, Self::Fail { .. })
    }

    /// The fix, for a warning or a failure.
    pub fn fix(&self) -> Option<&str> {
        match self {
            Self::Warn { fix, .. } | Self::Fail { fix, .. } => Some(fix),
            Self::Pass { .. } | Self::Skipped { .. } => None,
        }
    }

    /// What the line says after its name: the detail, the problem or why it was skipped.
    pub fn text(&self) -> &str {
        match self {
            Self::Pass { detail } | Self::Warn { detail, .. } => detail,
            Self::Fail { problem, .. } => problem,
            Self::Skipped { why } => why,
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// One of [`ids`].
    pub id: &'static str,
    /// What was checked, for people ("Source bucket vod-source-1a2b").
    pub name: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Every check, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Checklist {
    pub checks: Vec<Check>,
}

impl Checklist {
    pub fn push(&mut self, id: &'static str, name: impl Into<String>, outcome: Outcome) {
        self.checks.push(Check {
            id,
            name: name.into(),
            outcome,
        });
    }

    /// Nothing failed (warnings and skipped checks allowed): the doctor's exit code 0.
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(|c| c.outcome.is_fail())
    }

    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome.is_fail())
    }

    /// How many lines passed, warned, failed and were skipped.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for check in &self.checks {
            match check.outcome {
                Outcome::Pass { .. } => counts.passed += 1,
                Outcome::Warn { .. } => counts.warnings += 1,
                Outcome::Fail { .. } => counts.failed += 1,
                Outcome::Skipped { .. } => counts.skipped += 1,
            }
        }
        counts
    }
}

/// The tally of a checklist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub warnings: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// The setup to check, as a connection is asked for (the CLI's flags, the connect screen's form).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Setup {
    pub connection: ConnectionSettings,
    pub stack: Option<String>,
    pub overrides: StackOverrides,
}

/// What the setup is for, as `vodesk iam-policy` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// A viewer: no uploads and no queue, so neither is tried.
    pub read_only: bool,
    /// The live monitor's queue (else the table is polled, and no queue is tried).
    pub monitor: bool,
    /// Uploads go under this prefix of the source bucket: the trial upload too.
    pub key_prefix: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            read_only: false,
            monitor: true,
            key_prefix: default_key_prefix(),
        }
    }
}

/// The fixed start of the default key template (`uploads/`), as `vodesk iam-policy` uses it.
pub fn default_key_prefix() -> String {
    DEFAULT_KEY_TEMPLATE
        .split('{')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Runs every check.
pub async fn check(setup: &Setup, options: &Options) -> Checklist {
    let mut list = Checklist::default();
    let endpoint = aws::run(&mut list, setup, options).await;
    let local_stack = endpoint.as_deref().is_some_and(is_loopback_url);
    local::run(&mut list, local_stack).await;
    list
}

/// How long one check (one call, or a short sequence of them) may take.
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// `work` bounded by [`CHECK_TIMEOUT`]; `None` when it did not finish in time.
pub(crate) async fn bounded<T>(work: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(CHECK_TIMEOUT, work).await.ok()
}

/// The failure of a check that got no answer in time.
pub(crate) fn timed_out(what: &str) -> Outcome {
    Outcome::fail(
        format!("{what}: no answer within {} s", CHECK_TIMEOUT.as_secs()),
        "check the network: a proxy (HTTPS_PROXY), a VPN or a firewall may hold the request; with --endpoint-url, check that the endpoint runs",
    )
}

/// Text a service (or anyone who could write to it) chose: one line, at most 300 characters.
/// Printers still escape what a terminal would act on.
pub(crate) fn untrusted(text: &str) -> String {
    const MAX: usize = 300;
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// `http(s)://` on 127.0.0.0/8, ::1 or localhost: the local demo stack (or another emulator).
fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_failure_fails_the_list() {
        let mut list = Checklist::default();
        list.push(ids::REGION, "Region", Outcome::pass("us-east-1"));
        list.push(ids::CLOCK, "Clock", Outcome::warn("90 s ahead", "set it"));
        list.push(ids::TOPIC, "Topic", Outcome::skipped("monitor off"));
        assert!(list.passed());
        list.push(ids::STACK, "Stack", Outcome::fail("no stack", "--stack"));
        assert!(!list.passed());
        assert_eq!(
            list.counts(),
            Counts {
                passed: 1,
                warnings: 1,
                failed: 1,
                skipped: 1
            }
        );
        assert_eq!(list.failures().count(), 1);
        assert_eq!(
            list.get(ids::STACK).and_then(|c| c.outcome.fix()),
            Some("--stack")
        );
    }

    #[test]
    fn the_json_names_the_status_and_the_fix() {
        let check = Check {
            id: ids::MONITOR,
            name: "Live monitor".into(),
            outcome: Outcome::fail("sqs:CreateQueue was refused", "ask for the policy"),
        };
        let json = serde_json::to_value(&check).unwrap();
        assert_eq!(json["id"], "monitor");
        assert_eq!(json["status"], "fail");
        assert_eq!(json["problem"], "sqs:CreateQueue was refused");
        assert_eq!(json["fix"], "ask for the policy");
    }

    #[test]
    fn untrusted_text_is_one_bounded_line() {
        assert_eq!(untrusted("Access\n  Denied\r\n"), "Access Denied");
        let long = "é".repeat(400);
        let cut = untrusted(&long);
        assert_eq!(cut.chars().count(), 301);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn loopback_endpoints_are_the_local_stack() {
        assert!(is_loopback_url("http://127.0.0.1:4566"));
        assert!(is_loopback_url("http://localhost:5000/"));
        assert!(is_loopback_url("http://[::1]:9000"));
        assert!(!is_loopback_url("https://s3.eu-west-1.amazonaws.com"));
        assert!(!is_loopback_url("not a url"));
    }

    #[test]
    fn the_trial_upload_goes_where_uploads_go() {
        assert_eq!(default_key_prefix(), "uploads/");
        assert!(Options::default().monitor);
    }
}
