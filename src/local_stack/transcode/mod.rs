//! The local "MediaConvert": ffmpeg turns a source file into the solution's outputs (contract §7, §10).
//! One encode pass decodes the source once and writes every rendition of the HLS ladder (H.264, keyframes
//! every 3 s so segments align, x264 CRF capped at the rung's MaxBitrate as the templates' QVBR is), each
//! rendition with its own AAC track at its rung's rate, and the frame captures; fast stream copies then package
//! the same encodes as HLS (TS segments, master playlist), and, for the custom templates only
//! ([`OutputGroups`]), DASH, CMAF (fragmented MP4 under a DASH manifest and an HLS playlist), MS
//! Smooth (`.ismv` files and the manifests IIS reads) and an MP4. ffmpeg writes under safe
//! scratch names, because a source's base name may hold `%` or other characters ffmpeg's muxers treat
//! as patterns; the files are then named as MediaConvert names them, and the playlists' URIs rewritten
//! to the percent-encoded real names so players can fetch them.
//!
//! This file holds the plan and the results ([`TranscodePlan`], [`TranscodeOutput`]), the job's time
//! limit and [`transcode`], which runs the passes in order. The parts: `args` (each pass's ffmpeg
//! command line), `run` (running ffmpeg under the job's deadline), `naming` (the outputs named
//! as MediaConvert names them, playlists rewritten), `mss` (the MS Smooth group and its manifests)
//! and `mp4_boxes` (the `.ismv` fragments read back for those manifests).

mod args;
mod mp4_boxes;
mod mss;
mod naming;
mod run;

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::workflow::{OutputGroups, Rendition, mp4_name_modifier};
use args::{cmaf_args, dash_args, encode_args, hls_args, mp4_args};
use mss::{mss_args, name_mss_outputs};
use naming::{name_cmaf_outputs, name_dash_outputs, name_hls_outputs, name_thumbnails};
use run::run_ffmpeg;

pub(crate) use mss::{MssOutput, mss_name_modifier};
pub(crate) use run::{ToolFailure, check_ffmpeg, ffmpeg_program, run_to_end};

/// The longest a whole job's ffmpeg runs may take, whatever the source claims: a stuck or endless
/// encode ends in Error within this. Long enough for an hour-long 1080p source on a two-core laptop.
pub(crate) const MAX_ENCODE_TIME: Duration = Duration::from_secs(8 * 3600);
/// The longest source duration believed (it is read from the file, which anyone can write).
const MAX_SOURCE_SECONDS: f64 = 6.0 * 3600.0;

/// How the source is rotated before encoding (`inputRotate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rotation {
    /// `DEGREE_0`: the stored frame, rotation metadata ignored (the solution's default).
    None,
    Degrees90,
    Degrees180,
    Degrees270,
    /// `AUTO`: follow the rotation metadata.
    Auto,
}

impl Rotation {
    pub(crate) fn from_input_rotate(value: &str) -> Self {
        match value {
            "DEGREES_90" => Self::Degrees90,
            "DEGREES_180" => Self::Degrees180,
            "DEGREES_270" => Self::Degrees270,
            "AUTO" => Self::Auto,
            _ => Self::None,
        }
    }

    fn filter(self) -> Option<&'static str> {
        match self {
            Self::Degrees90 => Some("transpose=clock"),
            Self::Degrees180 => Some("hflip,vflip"),
            Self::Degrees270 => Some("transpose=cclock"),
            Self::None | Self::Auto => None,
        }
    }
}

/// What to encode.
#[derive(Debug, Clone)]
pub(crate) struct TranscodePlan {
    pub source: PathBuf,
    /// MediaConvert's base name for outputs (folders and last extension dropped).
    pub base_name: String,
    pub ladder: Vec<Rendition>,
    pub groups: OutputGroups,
    pub frame_capture: bool,
    pub rotation: Rotation,
    /// Without an audio track, silence is encoded so every rendition has the template's AAC track.
    pub has_audio: bool,
    /// The source's duration, for the silent track and the time limit.
    pub duration_seconds: Option<f64>,
}

/// One file to upload, relative to `<guid>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutputFile {
    /// `hls/<name>`, `dash/<name>`, `cmaf/<name>`, `mss/<name>`, `mp4/<name>` or `thumbnails/<name>`.
    pub relative_key: String,
    pub path: PathBuf,
}

/// One rendition as written: its playlist or file (relative key) and frame size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WrittenOutput {
    pub relative_key: String,
    pub width: u32,
    pub height: u32,
}

/// Everything a finished encode wrote.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TranscodeOutput {
    pub files: Vec<OutputFile>,
    pub hls_master: String,
    pub hls_variants: Vec<WrittenOutput>,
    pub dash_manifest: Option<String>,
    pub dash_representations: Vec<WrittenOutput>,
    pub cmaf: Option<CmafOutput>,
    pub mss: Option<MssOutput>,
    pub mp4: Option<WrittenOutput>,
    pub thumbnails: Vec<String>,
    /// The packaged duration: the sum of the first variant playlist's segment durations.
    pub duration_ms: u64,
}

/// The CMAF group as written: its DASH manifest and HLS master, relative to `<guid>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CmafOutput {
    pub dash_manifest: String,
    pub hls_master: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    #[error(
        "ffmpeg is not installed or cannot start ({0}); install it with `apt-get install ffmpeg`"
    )]
    Missing(String),
    /// ffmpeg ran and failed: its own words, for the Error message.
    #[error("{message}")]
    Failed {
        message: String,
        input_unreadable: bool,
    },
    #[error(
        "the encode took longer than {} min (the local stack's limit for this source) and was stopped",
        .0.as_secs() / 60
    )]
    TimedOut(Duration),
    #[error("could not prepare the encoder's files: {0}")]
    Io(#[from] std::io::Error),
}

/// Encodes and packages `plan` inside `work_dir` (an empty scratch directory).
pub(crate) async fn transcode(
    plan: &TranscodePlan,
    work_dir: &Path,
) -> Result<TranscodeOutput, TranscodeError> {
    // One deadline for every pass of the job, so the passes together stay within the limit.
    let limit = time_limit(plan.duration_seconds);
    let deadline = tokio::time::Instant::now() + limit;
    for dir in ["enc", "hls", "dash", "cmaf", "mss", "mp4", "thumbnails"] {
        tokio::fs::create_dir_all(work_dir.join(dir)).await?;
    }
    run_ffmpeg(&encode_args(plan, work_dir), deadline, limit, true).await?;
    let renditions: Vec<PathBuf> = (0..plan.ladder.len())
        .map(|i| work_dir.join("enc").join(format!("r{i}.mp4")))
        .collect();
    run_ffmpeg(&hls_args(&renditions, work_dir), deadline, limit, false).await?;
    let mut output = TranscodeOutput {
        files: Vec::new(),
        hls_master: String::new(),
        hls_variants: Vec::new(),
        dash_manifest: None,
        dash_representations: Vec::new(),
        cmaf: None,
        mss: None,
        mp4: None,
        thumbnails: Vec::new(),
        duration_ms: 0,
    };
    name_hls_outputs(plan, work_dir, &mut output).await?;
    if plan.groups.writes_dash() {
        run_ffmpeg(&dash_args(&renditions, work_dir), deadline, limit, false).await?;
        name_dash_outputs(plan, work_dir, &mut output).await?;
    }
    if plan.groups.writes_cmaf() {
        run_ffmpeg(&cmaf_args(&renditions, work_dir), deadline, limit, false).await?;
        name_cmaf_outputs(plan, work_dir, &mut output).await?;
    }
    if plan.groups.writes_mss() {
        run_ffmpeg(&mss_args(&renditions, work_dir), deadline, limit, false).await?;
        name_mss_outputs(plan, work_dir, &mut output).await?;
    }
    if plan.groups.writes_mp4() {
        let top_index = plan.ladder.len() - 1;
        let top = plan.ladder[top_index];
        let name = format!("{}{}.mp4", plan.base_name, mp4_name_modifier(&top));
        let path = work_dir.join("mp4").join("out.mp4");
        run_ffmpeg(
            &mp4_args(&renditions[top_index], &path),
            deadline,
            limit,
            false,
        )
        .await?;
        let relative_key = format!("mp4/{name}");
        output.files.push(OutputFile {
            relative_key: relative_key.clone(),
            path,
        });
        output.mp4 = Some(WrittenOutput {
            relative_key,
            width: top.width,
            height: top.height,
        });
    }
    if plan.frame_capture {
        name_thumbnails(plan, work_dir, &mut output).await?;
    }
    Ok(output)
}

/// How long a job's encode may run, so a stuck ffmpeg ends in Error, never a hang: 10 min plus 20 s per
/// source second (the duration the probe read, believed up to 6 h), and never more than
/// [`MAX_ENCODE_TIME`]; an unknown duration gets the ceiling.
pub(crate) fn time_limit(duration: Option<f64>) -> Duration {
    match believed_duration(duration) {
        Some(seconds) => (Duration::from_secs(600) + Duration::from_secs_f64(seconds * 20.0))
            .min(MAX_ENCODE_TIME),
        None => MAX_ENCODE_TIME,
    }
}

/// The probed duration if it is a plausible number of seconds, at most [`MAX_SOURCE_SECONDS`].
fn believed_duration(duration: Option<f64>) -> Option<f64> {
    duration
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(|d| d.min(MAX_SOURCE_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_follows_input_rotate() {
        assert_eq!(Rotation::from_input_rotate("DEGREE_0"), Rotation::None);
        assert_eq!(Rotation::from_input_rotate("AUTO"), Rotation::Auto);
        assert_eq!(
            Rotation::from_input_rotate("DEGREES_90").filter(),
            Some("transpose=clock")
        );
    }

    #[test]
    fn time_limit_grows_with_the_source_up_to_a_ceiling() {
        assert_eq!(time_limit(Some(30.0)), Duration::from_secs(1200));
        assert_eq!(time_limit(Some(300.0)), Duration::from_secs(6600));
        // A claimed day, year or infinity, and an unknown or absurd duration: the ceiling.
        for claimed in [
            Some(86_400.0),
            Some(3.2e7),
            Some(f64::INFINITY),
            Some(f64::MAX),
            Some(f64::NAN),
            Some(-1.0),
            Some(0.0),
            None,
        ] {
            assert_eq!(time_limit(claimed), MAX_ENCODE_TIME, "{claimed:?}");
        }
        assert_eq!(MAX_ENCODE_TIME, Duration::from_secs(8 * 3600));
    }
}
