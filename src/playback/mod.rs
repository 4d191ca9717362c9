//! "Check playback" (`vodesk check`, the details panel's button): reads a finished job's HLS, DASH
//! and CMAF manifests and its MP4 files over HTTP the way a player would, and says whether they play.
//! Owns the report's shape (per-format sections with the ladder and the findings, one verdict line),
//! the limits every check runs under, and the order of the checks; the formats' own logic lives in
//! [`hls`], [`dash`] and [`mp4`], the HTTP side in [`fetch`], the pure rules in [`rules`], the terminal's table in [`text`].
//!
//! Every URL comes from the job's record or from a manifest, so every one goes through
//! [`crate::contract::safe_url::SafeUrl`] before it is requested, and everything read is bounded.

mod dash;
mod fetch;
mod hls;
mod mp4;
mod rules;
mod steps;
pub mod text;
mod verdict;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::contract::JobRecord;

pub use fetch::{ClientError, http_client};

/// The origin the CORS check sends: any site that is not the distribution's own.
pub const CHECK_ORIGIN: &str = "https://example.com";

/// What one check may read and how long it may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// The most read of a playlist or manifest.
    pub max_manifest_bytes: u64,
    /// Variants (HLS) or representations (DASH) checked per format; the rest are named, not read.
    pub max_variants: usize,
    /// MP4 files checked.
    pub max_mp4_files: usize,
    /// Bytes asked for from each segment (`Range: bytes=0-N`).
    pub probe_bytes: u64,
    /// Each request, connect to last byte.
    pub request_timeout: Duration,
    /// The whole check: what has not been requested by then is reported as not checked.
    pub overall_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_manifest_bytes: 4 * 1024 * 1024,
            max_variants: 32,
            max_mp4_files: 16,
            probe_bytes: 1024,
            request_timeout: Duration::from_secs(10),
            overall_timeout: Duration::from_secs(120),
        }
    }
}

/// The output groups a job can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Hls,
    Dash,
    CmafHls,
    CmafDash,
    Mp4,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Hls => "HLS",
            Format::Dash => "DASH",
            Format::CmafHls => "CMAF HLS",
            Format::CmafDash => "CMAF DASH",
            Format::Mp4 => "MP4",
        }
    }
}

/// How bad a finding is: `Fail` stops playback (or browser playback), `Warn` may trouble some
/// players, `Info` is worth knowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Fail,
    Warn,
    Info,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Fail => "FAIL",
            Severity::Warn => "warn",
            Severity::Info => "info",
        }
    }
}

/// What a finding is about, so the verdict can tell "does not play" from "not in browsers".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topic {
    /// The URL was refused before any request (scheme, host, credentials).
    Refused,
    /// No answer, an error status, a timeout, a body over the limit.
    Unreachable,
    /// The playlist or manifest could not be read.
    Parse,
    ContentType,
    Duration,
    Cors,
    /// The limits left part of the output unchecked.
    Limit,
    /// Anything else about the structure (no variants, a live playlist, an unknown template).
    Structure,
}

/// One thing missing or wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub topic: Topic,
    /// What is wrong, one line.
    pub what: String,
    /// The URL involved, when there is one.
    pub url: Option<String>,
    /// What to do about it.
    pub fix: String,
}

/// One rung of a ladder (a variant, a representation, an audio rendition) or one MP4 file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LadderRow {
    /// `video`, `audio`, `subtitles`, `i-frames` or `file`.
    pub kind: String,
    /// The playlist's URI, the representation's id, or the file's name.
    pub name: String,
    pub width: Option<u64>,
    pub height: Option<u64>,
    pub bandwidth: Option<u64>,
    pub average_bandwidth: Option<u64>,
    pub codecs: Option<String>,
    pub frame_rate: Option<f64>,
    /// Media segments listed.
    pub segments: Option<u64>,
    /// The sum of the segments' durations.
    pub duration_seconds: Option<f64>,
    /// MP4 files: Content-Length.
    pub size_bytes: Option<u64>,
    /// MP4 files: Content-Type as answered.
    pub content_type: Option<String>,
    /// Whether everything read for this row answered as it should.
    pub ok: bool,
}

impl LadderRow {
    /// `1280x720`, or empty.
    pub fn resolution(&self) -> String {
        match (self.width, self.height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            _ => String::new(),
        }
    }
}

/// The CORS answer to the request for the master playlist or manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorsCheck {
    /// `Access-Control-Allow-Origin` as answered, None when absent.
    pub allow_origin: Option<String>,
    pub pass: bool,
}

/// One output group's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormatSection {
    pub format: Format,
    /// The master playlist or manifest (MP4: None).
    pub url: Option<String>,
    pub ladder: Vec<LadderRow>,
    pub cors: Option<CorsCheck>,
    pub findings: Vec<Finding>,
    /// HTTP requests made for this section.
    pub requests: u32,
}

impl FormatSection {
    fn new(format: Format, url: Option<&str>) -> Self {
        Self {
            format,
            url: url.map(str::to_owned),
            ladder: Vec::new(),
            cors: None,
            findings: Vec::new(),
            requests: 0,
        }
    }

    pub fn fails(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Fail)
    }

    pub(crate) fn finding(
        &mut self,
        severity: Severity,
        topic: Topic,
        what: impl Into<String>,
        url: Option<&str>,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            topic,
            what: what.into(),
            url: url.map(str::to_owned),
            fix: fix.into(),
        });
    }
}

/// The verdict: whether the job plays, in one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// True when nothing failed (warnings allowed).
    pub plays: bool,
    pub line: String,
}

/// Everything one check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaybackReport {
    pub guid: String,
    /// The source's duration from its media info, when the record has it.
    pub source_duration_seconds: Option<f64>,
    pub sections: Vec<FormatSection>,
    pub verdict: Verdict,
    /// How long the check took.
    pub elapsed_ms: u64,
    pub requests: u32,
}

/// Checks every output group the record names, under `limits`. Never fails as a whole: what could
/// not be read is a finding. `client` should come from [`http_client`] (its redirect policy keeps
/// every hop inside the URL rules).
pub async fn check_playback(
    client: &reqwest::Client,
    record: &JobRecord,
    limits: &Limits,
) -> PlaybackReport {
    let started = Instant::now();
    let mut fetcher = fetch::Fetcher::new(client, limits, started + limits.overall_timeout);
    let source = record.duration_seconds();
    let mut sections = Vec::new();
    let groups = [
        (Format::Hls, record.hls_url()),
        (Format::Dash, record.dash_url()),
        (Format::CmafHls, record.cmaf_hls_url()),
        (Format::CmafDash, record.cmaf_dash_url()),
    ];
    for (format, url) in groups {
        let Some(url) = url else { continue };
        let mut section = FormatSection::new(format, Some(url));
        let before = fetcher.requests();
        match format {
            Format::Hls | Format::CmafHls => {
                hls::check(&mut fetcher, &mut section, url, source).await;
            }
            _ => dash::check(&mut fetcher, &mut section, url, source).await,
        }
        section.requests = fetcher.requests() - before;
        sections.push(section);
    }
    if !record.mp4_urls().is_empty() {
        let mut section = FormatSection::new(Format::Mp4, None);
        let before = fetcher.requests();
        mp4::check(&mut fetcher, &mut section, record.mp4_urls()).await;
        section.requests = fetcher.requests() - before;
        sections.push(section);
    }
    let verdict = verdict::verdict(&sections);
    PlaybackReport {
        guid: record.guid.clone(),
        source_duration_seconds: source,
        requests: fetcher.requests(),
        sections,
        verdict,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}
