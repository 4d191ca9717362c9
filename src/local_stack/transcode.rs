//! The local "MediaConvert": ffmpeg turns a source file into the solution's outputs (contract §7, §10).
//! One encode pass decodes the source once and writes every rendition of the HLS ladder (H.264, keyframes
//! every 3 s so segments align), one AAC track and the frame captures; fast stream copies then package
//! the same encodes as HLS (TS segments, master playlist), DASH and an MP4. ffmpeg writes under safe
//! scratch names, because a source's base name may hold `%` or other characters ffmpeg's muxers treat
//! as patterns; the files are then named as MediaConvert names them, and the playlists' URIs rewritten
//! to the percent-encoded real names so players can fetch them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tokio::io::AsyncReadExt;

use super::workflow::{OutputGroups, Rendition, mp4_name_modifier};

/// The x264 preset: the fastest that keeps the ladder watchable; a 30 s 720p clip encodes in about 15 s
/// on two cores (docs/BENCHMARKS.md).
const X264_PRESET: &str = "veryfast";
/// Segment length of the v6 templates' HLS group, and the keyframe interval that makes it exact.
const SEGMENT_SECONDS: u32 = 3;
/// A frame capture every 5 s (FramerateNumerator 1 / Denominator 5).
const CAPTURE_INTERVAL_SECONDS: u32 = 5;
/// The longest a whole job's ffmpeg runs may take, whatever the source claims: a stuck or endless
/// encode ends in Error within this. Long enough for an hour-long 1080p source on a two-core laptop.
pub const MAX_ENCODE_TIME: Duration = Duration::from_secs(8 * 3600);
/// The longest source duration believed (it is read from the file, which anyone can write).
const MAX_SOURCE_SECONDS: f64 = 6.0 * 3600.0;
/// Inputs read from the local file system only: never a network fetch, whatever the source names.
const SOURCE_PROTOCOLS: [&str; 2] = ["-protocol_whitelist", "file"];

/// Characters percent-encoded in playlist URIs: controls, space, the URI delimiters and `%`, `+`
/// (non-ASCII is always encoded).
const URI_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// How the source is rotated before encoding (`inputRotate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// `DEGREE_0`: the stored frame, rotation metadata ignored (the solution's default).
    None,
    Degrees90,
    Degrees180,
    Degrees270,
    /// `AUTO`: follow the rotation metadata.
    Auto,
}

impl Rotation {
    pub fn from_input_rotate(value: &str) -> Self {
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
pub struct TranscodePlan {
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
pub struct OutputFile {
    /// `hls/<name>`, `dash/<name>`, `mp4/<name>` or `thumbnails/<name>`.
    pub relative_key: String,
    pub path: PathBuf,
}

/// One rendition as written: its playlist or file (relative key) and frame size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenOutput {
    pub relative_key: String,
    pub width: u32,
    pub height: u32,
}

/// Everything a finished encode wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscodeOutput {
    pub files: Vec<OutputFile>,
    pub hls_master: String,
    pub hls_variants: Vec<WrittenOutput>,
    pub dash_manifest: Option<String>,
    pub dash_representations: Vec<WrittenOutput>,
    pub mp4: Option<WrittenOutput>,
    pub thumbnails: Vec<String>,
    /// The packaged duration: the sum of the first variant playlist's segment durations.
    pub duration_ms: u64,
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

/// The ffmpeg to run: `$VODESK_FFMPEG`, else `ffmpeg` on PATH.
pub fn ffmpeg_program() -> PathBuf {
    std::env::var_os("VODESK_FFMPEG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("ffmpeg"))
}

/// Checks that ffmpeg runs and has libx264, so the local stack refuses to start rather than failing
/// every job.
pub async fn check_ffmpeg() -> Result<(), TranscodeError> {
    let output = tokio::process::Command::new(ffmpeg_program())
        .args(["-hide_banner", "-encoders"])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| TranscodeError::Missing(e.to_string()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !text.contains("libx264") {
        return Err(TranscodeError::Missing(
            "this ffmpeg has no libx264 encoder".into(),
        ));
    }
    Ok(())
}

/// Encodes and packages `plan` inside `work_dir` (an empty scratch directory).
pub async fn transcode(
    plan: &TranscodePlan,
    work_dir: &Path,
) -> Result<TranscodeOutput, TranscodeError> {
    // One deadline for every pass of the job, so the passes together stay within the limit.
    let limit = time_limit(plan.duration_seconds);
    let deadline = tokio::time::Instant::now() + limit;
    for dir in ["enc", "hls", "dash", "mp4", "thumbnails"] {
        tokio::fs::create_dir_all(work_dir.join(dir)).await?;
    }
    run_ffmpeg(&encode_args(plan, work_dir), deadline, limit, true).await?;
    let renditions: Vec<PathBuf> = (0..plan.ladder.len())
        .map(|i| work_dir.join("enc").join(format!("r{i}.mp4")))
        .collect();
    let audio = work_dir.join("enc").join("audio.m4a");
    run_ffmpeg(
        &hls_args(&renditions, &audio, work_dir),
        deadline,
        limit,
        false,
    )
    .await?;
    let mut output = TranscodeOutput {
        files: Vec::new(),
        hls_master: String::new(),
        hls_variants: Vec::new(),
        dash_manifest: None,
        dash_representations: Vec::new(),
        mp4: None,
        thumbnails: Vec::new(),
        duration_ms: 0,
    };
    name_hls_outputs(plan, work_dir, &mut output).await?;
    if plan.groups == OutputGroups::HlsDashMp4 {
        run_ffmpeg(
            &dash_args(&renditions, &audio, work_dir),
            deadline,
            limit,
            false,
        )
        .await?;
        name_dash_outputs(plan, work_dir, &mut output).await?;
        let top_index = plan.ladder.len() - 1;
        let top = plan.ladder[top_index];
        let name = format!("{}{}.mp4", plan.base_name, mp4_name_modifier(&top));
        let path = work_dir.join("mp4").join("out.mp4");
        run_ffmpeg(
            &mp4_args(&renditions[top_index], &audio, &path),
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
pub fn time_limit(duration: Option<f64>) -> Duration {
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

fn os(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn encode_args(plan: &TranscodePlan, work: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec!["-hide_banner".into(), "-nostdin".into(), "-y".into()];
    args.extend(["-v", "error"].map(String::from));
    if plan.rotation != Rotation::Auto {
        args.push("-noautorotate".into());
    }
    args.extend(SOURCE_PROTOCOLS.map(String::from));
    // `file:` so that a colon in the name is not read as a protocol.
    args.extend(["-i".into(), format!("file:{}", os(&plan.source))]);
    if !plan.has_audio {
        let seconds = believed_duration(plan.duration_seconds).unwrap_or(3600.0);
        args.extend(
            [
                "-f",
                "lavfi",
                "-t",
                &format!("{seconds:.3}"),
                "-i",
                "anullsrc=channel_layout=stereo:sample_rate=48000",
            ]
            .map(String::from),
        );
    }
    let branches = plan.ladder.len() + usize::from(plan.frame_capture);
    let mut graph = String::from("[0:v:0]");
    if let Some(rotate) = plan.rotation.filter() {
        graph.push_str(rotate);
        graph.push(',');
    }
    graph.push_str(&format!("split={branches}"));
    for i in 0..plan.ladder.len() {
        graph.push_str(&format!("[s{i}]"));
    }
    if plan.frame_capture {
        graph.push_str("[t]");
    }
    for (i, r) in plan.ladder.iter().enumerate() {
        graph.push_str(&format!(
            ";[s{i}]scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,\
             pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p[v{i}]",
            w = r.width,
            h = r.height
        ));
    }
    if plan.frame_capture {
        graph.push_str(&format!(
            ";[t]select='eq(n\\,0)+gte(t-prev_selected_t\\,{CAPTURE_INTERVAL_SECONDS})'[th]"
        ));
    }
    args.extend(["-filter_complex".into(), graph]);
    let keyframes = format!("expr:gte(t,n_forced*{SEGMENT_SECONDS})");
    for (i, r) in plan.ladder.iter().enumerate() {
        args.extend([
            "-map".into(),
            format!("[v{i}]"),
            "-c:v".into(),
            "libx264".into(),
            "-preset".into(),
            X264_PRESET.into(),
            "-profile:v".into(),
            "high".into(),
            "-b:v".into(),
            r.bitrate.to_string(),
            "-maxrate".into(),
            (r.bitrate / 5 * 6).to_string(),
            "-bufsize".into(),
            (r.bitrate * 2).to_string(),
            "-force_key_frames".into(),
            keyframes.clone(),
            "-sc_threshold".into(),
            "0".into(),
            "-an".into(),
            os(&work.join("enc").join(format!("r{i}.mp4"))),
        ]);
    }
    let audio_input = if plan.has_audio { "0:a:0" } else { "1:a:0" };
    args.extend(
        [
            "-map",
            audio_input,
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-ac",
            "2",
            "-ar",
            "48000",
            "-vn",
        ]
        .map(String::from),
    );
    args.push(os(&work.join("enc").join("audio.m4a")));
    if plan.frame_capture {
        args.extend(
            [
                "-map",
                "[th]",
                "-fps_mode",
                "vfr",
                "-q:v",
                "4",
                "-start_number",
                "0",
                "-f",
                "image2",
            ]
            .map(String::from),
        );
        args.push(os(&work.join("thumbnails").join("thumb_%07d.jpg")));
    }
    args
}

/// Inputs 0..n are the renditions, input n the audio; each variant pairs one video with the audio.
fn copy_inputs(renditions: &[PathBuf], audio: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["-hide_banner", "-nostdin", "-y", "-v", "error"]
        .map(String::from)
        .to_vec();
    for rendition in renditions {
        args.extend(["-i".into(), os(rendition)]);
    }
    args.extend(["-i".into(), os(audio)]);
    args
}

fn hls_args(renditions: &[PathBuf], audio: &Path, work: &Path) -> Vec<String> {
    let mut args = copy_inputs(renditions, audio);
    let audio_index = renditions.len();
    let mut stream_map = Vec::new();
    for i in 0..renditions.len() {
        args.extend([
            "-map".into(),
            format!("{i}:v:0"),
            "-map".into(),
            format!("{audio_index}:a:0"),
        ]);
        stream_map.push(format!("v:{i},a:{i}"));
    }
    args.extend(
        [
            "-c",
            "copy",
            "-f",
            "hls",
            "-hls_time",
            &SEGMENT_SECONDS.to_string(),
            "-hls_playlist_type",
            "vod",
            "-hls_flags",
            "independent_segments",
            "-start_number",
            "1",
            "-master_pl_name",
            "master.m3u8",
            "-var_stream_map",
            &stream_map.join(" "),
            "-hls_segment_filename",
        ]
        .map(String::from),
    );
    args.push(os(&work.join("hls").join("v%v_%05d.ts")));
    args.push(os(&work.join("hls").join("v%v.m3u8")));
    args
}

fn dash_args(renditions: &[PathBuf], audio: &Path, work: &Path) -> Vec<String> {
    let mut args = copy_inputs(renditions, audio);
    for i in 0..renditions.len() {
        args.extend(["-map".into(), format!("{i}:v:0")]);
    }
    args.extend(["-map".into(), format!("{}:a:0", renditions.len())]);
    args.extend(
        [
            "-c",
            "copy",
            "-f",
            "dash",
            "-seg_duration",
            &SEGMENT_SECONDS.to_string(),
            "-use_template",
            "1",
            "-use_timeline",
            "1",
            "-init_seg_name",
            "init-$RepresentationID$.m4s",
            "-media_seg_name",
            "chunk-$RepresentationID$-$Number%05d$.m4s",
            "-adaptation_sets",
            "id=0,streams=v id=1,streams=a",
        ]
        .map(String::from),
    );
    args.push(os(&work.join("dash").join("stream.mpd")));
    args
}

fn mp4_args(video: &Path, audio: &Path, out: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["-hide_banner", "-nostdin", "-y", "-v", "error", "-i"]
        .map(String::from)
        .to_vec();
    args.push(os(video));
    args.push("-i".into());
    args.push(os(audio));
    args.extend(
        [
            "-map",
            "0:v:0",
            "-map",
            "1:a:0",
            "-c",
            "copy",
            "-shortest",
            "-movflags",
            "+faststart",
        ]
        .map(String::from),
    );
    args.push(os(out));
    args
}

/// Runs ffmpeg to the end, or kills it at `deadline` (the job's, whose length is `limit`) and when
/// the job is dropped.
async fn run_ffmpeg(
    args: &[String],
    deadline: tokio::time::Instant,
    limit: Duration,
    reads_source: bool,
) -> Result<(), TranscodeError> {
    run_tool(&ffmpeg_program(), args, deadline, limit, reads_source).await
}

async fn run_tool(
    program: &Path,
    args: &[String],
    deadline: tokio::time::Instant,
    limit: Duration,
    reads_source: bool,
) -> Result<(), TranscodeError> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| TranscodeError::Missing(e.to_string()))?;
    let mut stderr = child.stderr.take();
    let run = async {
        let mut text = Vec::new();
        // ffmpeg at `-v error` writes little; read it all so the pipe never fills.
        if let Some(stderr) = stderr.as_mut()
            && let Err(err) = stderr.read_to_end(&mut text).await
        {
            // The text only details a failure; the exit status below still decides the outcome.
            tracing::debug!("{}: reading its stderr failed: {err}", program.display());
        }
        let status = child.wait().await;
        (status, text)
    };
    let finished = tokio::time::timeout_at(deadline, run).await;
    let Ok((status, text)) = finished else {
        // Killed and reaped here, not left to run (or linger) after the job has given up on it.
        // Either fails only when the process has already exited (and been reaped): the outcome wanted.
        if let Err(err) = child.start_kill() {
            tracing::debug!(
                "{}: kill after timeout failed (already exited?): {err}",
                program.display()
            );
        }
        if let Err(err) = child.wait().await {
            tracing::debug!("{}: wait after timeout failed: {err}", program.display());
        }
        return Err(TranscodeError::TimedOut(limit));
    };
    let status = status?;
    if status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..].join("; ");
    let message = if tail.is_empty() {
        format!("ffmpeg exited with {status}")
    } else {
        tail
    };
    // The first pass opens the source; a failure there reads as MediaConvert's "unable to open input".
    let input_unreadable = reads_source
        && lines.iter().any(|l| {
            l.contains("Invalid data found")
                || l.contains("moov atom not found")
                || l.contains("could not find codec parameters")
                || l.contains("Error opening input")
                || l.contains("does not contain any stream")
                || l.contains("matches no streams")
        });
    Err(TranscodeError::Failed {
        message,
        input_unreadable,
    })
}

/// Percent-encodes one path segment for a playlist URI.
pub fn encode_uri_segment(name: &str) -> String {
    utf8_percent_encode(name, URI_SEGMENT).to_string()
}

/// Replaces every URI line (not a tag, not blank) found in `names` by its encoded real name.
fn rewrite_playlist(text: &str, names: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.lines() {
        let trimmed = line.trim();
        match names.get(trimmed) {
            Some(real) if !trimmed.starts_with('#') => out.push_str(&encode_uri_segment(real)),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

async fn file_names(dir: &Path) -> Result<Vec<String>, std::io::Error> {
    let mut names = Vec::new();
    let mut entries = tokio::fs::read_dir(dir).await?;
    while let Some(entry) = entries.next_entry().await? {
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// `v<i>.m3u8` → `<base><mod>.m3u8`, `v<i>_<n>.ts` → `<base><mod>_<n>.ts`, `master.m3u8` → `<base>.m3u8`.
async fn name_hls_outputs(
    plan: &TranscodePlan,
    work: &Path,
    output: &mut TranscodeOutput,
) -> Result<(), TranscodeError> {
    let dir = work.join("hls");
    let mut names: HashMap<String, String> = HashMap::new();
    for scratch in file_names(&dir).await? {
        let real = if scratch == "master.m3u8" {
            format!("{}.m3u8", plan.base_name)
        } else {
            let Some(rest) = scratch.strip_prefix('v') else {
                continue;
            };
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let Some(rendition) = digits
                .parse::<usize>()
                .ok()
                .and_then(|i| plan.ladder.get(i))
            else {
                continue;
            };
            format!(
                "{}{}{}",
                plan.base_name,
                rendition.hls_name_modifier(),
                &rest[digits.len()..]
            )
        };
        names.insert(scratch, real);
    }
    for (scratch, real) in &names {
        let path = dir.join(scratch);
        if scratch.ends_with(".m3u8") {
            let text = tokio::fs::read_to_string(&path).await?;
            tokio::fs::write(&path, rewrite_playlist(&text, &names)).await?;
        }
        output.files.push(OutputFile {
            relative_key: format!("hls/{real}"),
            path,
        });
    }
    output.hls_master = format!("hls/{}.m3u8", plan.base_name);
    if !names.contains_key("master.m3u8") {
        return Err(TranscodeError::Failed {
            message: "ffmpeg wrote no HLS master playlist".into(),
            input_unreadable: false,
        });
    }
    for (i, rendition) in plan.ladder.iter().enumerate() {
        output.hls_variants.push(WrittenOutput {
            relative_key: format!(
                "hls/{}{}.m3u8",
                plan.base_name,
                rendition.hls_name_modifier()
            ),
            width: rendition.width,
            height: rendition.height,
        });
        if i == 0 {
            let text = tokio::fs::read_to_string(dir.join("v0.m3u8")).await?;
            output.duration_ms = playlist_duration_ms(&text);
        }
    }
    output
        .files
        .sort_by(|a, b| a.relative_key.cmp(&b.relative_key));
    Ok(())
}

/// The sum of a media playlist's `#EXTINF` durations, in milliseconds.
pub fn playlist_duration_ms(text: &str) -> u64 {
    let seconds: f64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .filter_map(|rest| rest.split(',').next())
        .filter_map(|d| d.trim().parse::<f64>().ok())
        .sum();
    (seconds * 1000.0).round() as u64
}

async fn name_dash_outputs(
    plan: &TranscodePlan,
    work: &Path,
    output: &mut TranscodeOutput,
) -> Result<(), TranscodeError> {
    let dir = work.join("dash");
    let mut found_manifest = false;
    for scratch in file_names(&dir).await? {
        let real = if scratch == "stream.mpd" {
            found_manifest = true;
            format!("{}.mpd", plan.base_name)
        } else {
            // Segment names carry no base name, so the manifest's templates need no rewriting.
            scratch.clone()
        };
        output.files.push(OutputFile {
            relative_key: format!("dash/{real}"),
            path: dir.join(&scratch),
        });
    }
    if !found_manifest {
        return Err(TranscodeError::Failed {
            message: "ffmpeg wrote no DASH manifest".into(),
            input_unreadable: false,
        });
    }
    output.dash_manifest = Some(format!("dash/{}.mpd", plan.base_name));
    output.dash_representations = plan
        .ladder
        .iter()
        .map(|r| WrittenOutput {
            relative_key: format!("dash/{}.mpd", plan.base_name),
            width: r.width,
            height: r.height,
        })
        .collect();
    Ok(())
}

/// `thumb_<n>.jpg` → `<base>_thumb.<n>.jpg` (7-digit, 0-based counter).
async fn name_thumbnails(
    plan: &TranscodePlan,
    work: &Path,
    output: &mut TranscodeOutput,
) -> Result<(), TranscodeError> {
    let dir = work.join("thumbnails");
    for scratch in file_names(&dir).await? {
        let Some(counter) = scratch
            .strip_prefix("thumb_")
            .and_then(|s| s.strip_suffix(".jpg"))
        else {
            continue;
        };
        let key = format!("thumbnails/{}_thumb.{counter}.jpg", plan.base_name);
        output.thumbnails.push(key.clone());
        output.files.push(OutputFile {
            relative_key: key,
            path: dir.join(&scratch),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_uris_are_rewritten_and_encoded() {
        let names = HashMap::from([
            ("v0.m3u8".to_owned(), "Año Nuevo_Ott_x.m3u8".to_owned()),
            ("v0_00001.ts".to_owned(), "A+B 100%_00001.ts".to_owned()),
        ]);
        let text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0.m3u8\n#EXTINF:3.0,\nv0_00001.ts\n";
        let rewritten = rewrite_playlist(text, &names);
        assert_eq!(
            rewritten,
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nA%C3%B1o%20Nuevo_Ott_x.m3u8\n#EXTINF:3.0,\nA%2BB%20100%25_00001.ts\n"
        );
    }

    #[test]
    fn duration_is_the_sum_of_segments() {
        let text = "#EXTM3U\n#EXTINF:3.000000,\na.ts\n#EXTINF:2.002,\nb.ts\n#EXT-X-ENDLIST\n";
        assert_eq!(playlist_duration_ms(text), 5002);
    }

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

    #[test]
    fn silence_for_a_source_without_audio_is_bounded() {
        let plan = TranscodePlan {
            source: PathBuf::from("/scratch/source.mp4"),
            base_name: "clip".into(),
            ladder: vec![],
            groups: OutputGroups::HlsOnly,
            frame_capture: false,
            rotation: Rotation::None,
            has_audio: false,
            duration_seconds: Some(1e12),
        };
        let args = encode_args(&plan, Path::new("/scratch/out"));
        let t = args.iter().position(|a| a == "-t").expect("-t");
        assert_eq!(args[t + 1], "21600.000");
    }

    #[test]
    fn the_source_is_read_from_files_only() {
        let plan = TranscodePlan {
            source: PathBuf::from("/scratch/source:x.mp4"),
            base_name: "clip".into(),
            ladder: vec![],
            groups: OutputGroups::HlsOnly,
            frame_capture: false,
            rotation: Rotation::None,
            has_audio: true,
            duration_seconds: Some(1.0),
        };
        let args = encode_args(&plan, Path::new("/scratch/out"));
        let input = args.iter().position(|a| a == "-i").expect("-i");
        assert_eq!(args[input + 1], "file:/scratch/source:x.mp4");
        assert_eq!(
            &args[input - 2..input],
            ["-protocol_whitelist", "file"],
            "{args:?}"
        );
    }

    #[tokio::test]
    async fn a_run_past_the_deadline_is_killed_with_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        let args = vec![
            "-c".to_owned(),
            format!("echo $$ > '{}'; exec sleep 60", pid_file.display()),
        ];
        let limit = Duration::from_millis(500);
        let started = std::time::Instant::now();
        let deadline = tokio::time::Instant::now() + limit;
        let result = run_tool(Path::new("/bin/sh"), &args, deadline, limit, true).await;
        assert!(
            matches!(result, Err(TranscodeError::TimedOut(l)) if l == limit),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        let message = TranscodeError::TimedOut(MAX_ENCODE_TIME).to_string();
        assert!(message.contains("longer than 480 min"), "{message}");
        // Killed and reaped: its process is gone.
        let pid = std::fs::read_to_string(&pid_file).expect("pid");
        assert!(
            !Path::new(&format!("/proc/{}", pid.trim())).exists(),
            "ffmpeg {pid} still runs"
        );
    }
}
