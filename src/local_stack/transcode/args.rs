//! The ffmpeg command lines of a job's passes: the one encode pass (every rendition of the ladder, each
//! with its own AAC track, and the frame captures, from one decode of the source), then the stream
//! copies that package those encodes as HLS, DASH, CMAF and an MP4 (the MS Smooth copy is `mss`'s).
//! ffmpeg writes under scratch names here;
//! `naming` gives the files their real names afterwards.
//!
//! The rate control and audio follow the solution's default job templates (v6.1.13,
//! `source/custom-resource/lib/mediaconvert/templates/*_qvbr_no_preset.json`): see [`RungSettings`].

use std::path::{Path, PathBuf};

use super::{Rendition, Rotation, TranscodePlan, believed_duration};

/// The x264 preset: the fastest that keeps the ladder watchable; a 30 s 720p clip encodes in about 15 s
/// on two cores (docs/BENCHMARKS.md).
const X264_PRESET: &str = "veryfast";
/// Segment length of the v6 templates' HLS group, and the keyframe interval that makes it exact.
const SEGMENT_SECONDS: u32 = 3;
/// A frame capture every 5 s (FramerateNumerator 1 / Denominator 5).
const CAPTURE_INTERVAL_SECONDS: u32 = 5;
/// Inputs read from the local file system only: never a network fetch, whatever the source names.
const SOURCE_PROTOCOLS: [&str; 2] = ["-protocol_whitelist", "file"];

/// What the default templates set for one HLS output besides its frame size and `MaxBitrate`
/// (the same in the 720p, 1080p and 2160p templates, by rung):
///
/// | rung  | MaxBitrate | QvbrQualityLevel | HrdBufferSize | audio                  |
/// |-------|------------|------------------|---------------|------------------------|
/// | 270p  | 400000     | 7                | 1000000       | AAC HEV1 64000, 48 kHz |
/// | 360p  | 1500000    | 7                | 3750000       | AAC HEV1 64000         |
/// | 540p  | 3500000    | 8                | 8750000       | AAC HEV1 96000         |
/// | 720p  | 6000000    | 8                | 15000000      | AAC HEV1 96000         |
/// | 1080p | 8500000    | 9                | 21250000      | AAC LC 128000          |
///
/// (HrdBufferInitialFillPercentage 90 everywhere.) The solution's guide prints other quality levels
/// (8 for 1080p, 7 for 540p); the template files are what a deployment runs, so they win.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RungSettings {
    qvbr_quality_level: u32,
    /// The rung's audio rate, bit/s. The templates ask for HE-AAC v1 below 1080p; ffmpeg's own `aac`
    /// encoder has no HE profile and Debian's ffmpeg has no libfdk_aac, so every rung gets AAC-LC at
    /// the template's rate (players handle both; HE-AAC sounds better at 64k, LC costs no more bytes).
    audio_bitrate: u32,
}

/// The template's settings for a rung, by its height: the ladder's rungs exactly; a height between
/// rungs gets the next rung up's.
fn rung_settings(rendition: &Rendition) -> RungSettings {
    let (qvbr_quality_level, audio_bitrate) = match rendition.height {
        0..=360 => (7, 64_000),
        361..=720 => (8, 96_000),
        _ => (9, 128_000),
    };
    RungSettings {
        qvbr_quality_level,
        audio_bitrate,
    }
}

/// The AAC rate of a rung's audio track, bit/s.
pub(super) fn audio_bitrate(rendition: &Rendition) -> u32 {
    rung_settings(rendition).audio_bitrate
}

/// x264's CRF for a QVBR quality level (1 worst to 10 best). There is no published mapping; this one
/// puts level 7, which AWS recommends for phone screens, at x264's default CRF 23, and gives each level
/// 2 CRF steps (about 20 % fewer bits per level down): 8 is 21 and 9 is 19, the range usually called
/// good to visually transparent. `-maxrate` caps it as MaxBitrate caps QVBR, so a hard scene gets the
/// cap's quality, as on AWS.
fn crf_for_quality_level(level: u32) -> u32 {
    37 - 2 * level.clamp(1, 10)
}

/// The VBV buffer: the template's HrdBufferSize, 2.5 × MaxBitrate (MediaConvert's own default, used
/// when a template leaves it out, would be 2 × the bit rate; these templates all set it).
fn buffer_size(max_bitrate: u32) -> u32 {
    max_bitrate / 2 * 5
}

/// The buffer's initial fill: the template's HrdBufferInitialFillPercentage, 90 %.
fn initial_buffer_fill(max_bitrate: u32) -> u32 {
    buffer_size(max_bitrate) / 10 * 9
}

pub(super) fn os(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

pub(super) fn encode_args(plan: &TranscodePlan, work: &Path) -> Vec<String> {
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
    let audio_input = if plan.has_audio { "0:a:0" } else { "1:a:0" };
    // Each rendition file holds its video and its own audio track, as each of the templates' HLS
    // outputs muxes its own AAC into its TS segments; the one decoded audio feeds every encoder.
    for (i, r) in plan.ladder.iter().enumerate() {
        let settings = rung_settings(r);
        args.extend([
            "-map".into(),
            format!("[v{i}]"),
            "-c:v".into(),
            "libx264".into(),
            "-preset".into(),
            X264_PRESET.into(),
            "-profile:v".into(),
            "high".into(),
            "-crf".into(),
            crf_for_quality_level(settings.qvbr_quality_level).to_string(),
            "-maxrate".into(),
            r.bitrate.to_string(),
            "-bufsize".into(),
            buffer_size(r.bitrate).to_string(),
            "-rc_init_occupancy".into(),
            initial_buffer_fill(r.bitrate).to_string(),
            "-force_key_frames".into(),
            keyframes.clone(),
            "-sc_threshold".into(),
            "0".into(),
            "-map".into(),
            audio_input.into(),
            "-c:a".into(),
            "aac".into(),
            "-b:a".into(),
            settings.audio_bitrate.to_string(),
            "-ac".into(),
            "2".into(),
            "-ar".into(),
            "48000".into(),
            os(&work.join("enc").join(format!("r{i}.mp4"))),
        ]);
    }
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

/// Inputs 0..n are the renditions, each with its video and its rung's audio.
pub(super) fn copy_inputs(renditions: &[PathBuf]) -> Vec<String> {
    let mut args: Vec<String> = ["-hide_banner", "-nostdin", "-y", "-v", "error"]
        .map(String::from)
        .to_vec();
    for rendition in renditions {
        args.extend(["-i".into(), os(rendition)]);
    }
    args
}

/// Each variant is one rendition with its own audio, as in the templates' HLS group.
pub(super) fn hls_args(renditions: &[PathBuf], work: &Path) -> Vec<String> {
    let mut args = copy_inputs(renditions);
    let mut stream_map = Vec::new();
    for i in 0..renditions.len() {
        args.extend([
            "-map".into(),
            format!("{i}:v:0"),
            "-map".into(),
            format!("{i}:a:0"),
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

/// Every rendition's video, and one audio adaptation set: the top rung's track (the best of them).
pub(super) fn dash_args(renditions: &[PathBuf], work: &Path) -> Vec<String> {
    let mut args = copy_inputs(renditions);
    for i in 0..renditions.len() {
        args.extend(["-map".into(), format!("{i}:v:0")]);
    }
    if let Some(top) = renditions.len().checked_sub(1) {
        args.extend(["-map".into(), format!("{top}:a:0")]);
    }
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

/// The CMAF group: one set of fragmented-MP4 segments that a DASH manifest (`stream.mpd`) and an
/// HLS master (`stream.m3u8`, with `media_<n>.m3u8` per stream) both describe, as MediaConvert's
/// CMAF group writes one set of segments for both.
pub(super) fn cmaf_args(renditions: &[PathBuf], work: &Path) -> Vec<String> {
    let mut args = dash_args(renditions, work);
    // dash_args ends with its output path; the CMAF pass writes elsewhere, with HLS playlists.
    args.pop();
    args.extend(["-hls_playlist", "1", "-hls_master_name", "stream.m3u8"].map(String::from));
    args.push(os(&work.join("cmaf").join("stream.mpd")));
    args
}

/// The MP4: the top rendition as encoded, its own audio included.
pub(super) fn mp4_args(video: &Path, out: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["-hide_banner", "-nostdin", "-y", "-v", "error", "-i"]
        .map(String::from)
        .to_vec();
    args.push(os(video));
    args.extend(
        [
            "-map",
            "0:v:0",
            "-map",
            "0:a:0",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_stack::workflow::{OutputGroups, hls_ladder};

    fn plan_for(profile: u32, has_audio: bool) -> TranscodePlan {
        TranscodePlan {
            source: PathBuf::from("/scratch/source.mp4"),
            base_name: "clip".into(),
            ladder: hls_ladder(profile).to_vec(),
            groups: OutputGroups::HlsOnly,
            frame_capture: true,
            rotation: Rotation::None,
            has_audio,
            duration_seconds: Some(30.0),
        }
    }

    /// Each rendition output's options: the arguments after the filter graph (or the previous output)
    /// up to and including its `enc/r<i>.mp4`.
    fn rendition_outputs(args: &[String]) -> Vec<&[String]> {
        let graph = args
            .iter()
            .position(|a| a == "-filter_complex")
            .expect("graph");
        let mut outputs = Vec::new();
        let mut start = graph + 2;
        for (i, arg) in args.iter().enumerate().skip(start) {
            if arg.starts_with("/scratch/out/enc/r") {
                outputs.push(&args[start..=i]);
                start = i + 1;
            }
        }
        outputs
    }

    fn value<'a>(output: &'a [String], option: &str) -> Option<&'a str> {
        let at = output.iter().position(|a| a == option)?;
        output.get(at + 1).map(String::as_str)
    }

    /// Per rung: (height, -crf, -maxrate, -bufsize, -rc_init_occupancy, -b:a), from the templates'
    /// QvbrQualityLevel, MaxBitrate, HrdBufferSize (90 % initial fill) and audio Bitrate.
    const TEMPLATE_RUNGS: [(u32, &str, &str, &str, &str, &str); 5] = [
        (270, "23", "400000", "1000000", "900000", "64000"),
        (360, "23", "1500000", "3750000", "3375000", "64000"),
        (540, "21", "3500000", "8750000", "7875000", "96000"),
        (720, "21", "6000000", "15000000", "13500000", "96000"),
        (1080, "19", "8500000", "21250000", "19125000", "128000"),
    ];

    #[test]
    fn each_rung_is_capped_crf_with_its_templates_audio() {
        // The profiler's profiles are 2160, 1080 and 720; a 540-line source is nearest 720 and gets
        // the 720p template, which the 540 case checks.
        for (profile, rungs) in [(2160, 5), (1080, 5), (720, 4), (540, 4)] {
            let args = encode_args(&plan_for(profile, true), Path::new("/scratch/out"));
            let outputs = rendition_outputs(&args);
            assert_eq!(outputs.len(), rungs, "{profile}: {args:?}");
            for (i, (output, expected)) in outputs.iter().zip(TEMPLATE_RUNGS).enumerate() {
                let (height, crf, maxrate, bufsize, fill, audio) = expected;
                let context = format!("profile {profile}, rung {height}p: {output:?}");
                assert_eq!(value(output, "-map"), Some(format!("[v{i}]").as_str()));
                assert_eq!(value(output, "-c:v"), Some("libx264"), "{context}");
                assert_eq!(value(output, "-crf"), Some(crf), "{context}");
                assert_eq!(value(output, "-maxrate"), Some(maxrate), "{context}");
                assert_eq!(value(output, "-bufsize"), Some(bufsize), "{context}");
                assert_eq!(value(output, "-rc_init_occupancy"), Some(fill), "{context}");
                // Quality-driven, so no average target.
                assert_eq!(value(output, "-b:v"), None, "{context}");
                assert_eq!(
                    value(output, "-force_key_frames"),
                    Some("expr:gte(t,n_forced*3)"),
                    "{context}"
                );
                assert_eq!(value(output, "-c:a"), Some("aac"), "{context}");
                assert_eq!(value(output, "-b:a"), Some(audio), "{context}");
                assert_eq!(value(output, "-ar"), Some("48000"), "{context}");
                assert_eq!(value(output, "-ac"), Some("2"), "{context}");
                let audio_map = output.iter().filter(|a| *a == "0:a:0").count();
                assert_eq!(audio_map, 1, "{context}");
                assert!(!output.contains(&"-an".to_owned()), "{context}");
            }
            // No shared audio file any more: every audio encoder belongs to a rendition.
            assert!(
                !args.iter().any(|a| a.ends_with("audio.m4a")),
                "{profile}: {args:?}"
            );
            assert_eq!(args.iter().filter(|a| *a == "-c:a").count(), rungs);
        }
    }

    #[test]
    fn a_silent_source_gets_the_generated_silence_in_every_rendition() {
        let args = encode_args(&plan_for(720, false), Path::new("/scratch/out"));
        for output in rendition_outputs(&args) {
            assert_eq!(
                output.iter().filter(|a| *a == "1:a:0").count(),
                1,
                "{output:?}"
            );
        }
    }

    #[test]
    fn quality_levels_map_to_crf_within_x264s_range() {
        assert_eq!(crf_for_quality_level(7), 23);
        assert_eq!(crf_for_quality_level(10), 17);
        assert_eq!(crf_for_quality_level(1), 35);
        assert_eq!(crf_for_quality_level(0), 35);
        assert_eq!(crf_for_quality_level(u32::MAX), 17);
    }

    #[test]
    fn packaging_takes_each_variants_audio_from_its_rendition() {
        let renditions: Vec<PathBuf> = (0..3)
            .map(|i| PathBuf::from(format!("/w/enc/r{i}.mp4")))
            .collect();
        let hls = hls_args(&renditions, Path::new("/w"));
        assert!(!hls.contains(&"/w/enc/audio.m4a".to_owned()), "{hls:?}");
        let maps: Vec<&str> = hls
            .windows(2)
            .filter(|w| w[0] == "-map")
            .map(|w| w[1].as_str())
            .collect();
        assert_eq!(maps, ["0:v:0", "0:a:0", "1:v:0", "1:a:0", "2:v:0", "2:a:0"]);
        let at = hls
            .iter()
            .position(|a| a == "-var_stream_map")
            .expect("map");
        assert_eq!(hls[at + 1], "v:0,a:0 v:1,a:1 v:2,a:2");

        let dash = dash_args(&renditions, Path::new("/w"));
        let maps: Vec<&str> = dash
            .windows(2)
            .filter(|w| w[0] == "-map")
            .map(|w| w[1].as_str())
            .collect();
        assert_eq!(maps, ["0:v:0", "1:v:0", "2:v:0", "2:a:0"]);

        let mp4 = mp4_args(&renditions[2], Path::new("/w/mp4/out.mp4"));
        assert_eq!(mp4.iter().filter(|a| *a == "-i").count(), 1, "{mp4:?}");
        let maps: Vec<&str> = mp4
            .windows(2)
            .filter(|w| w[0] == "-map")
            .map(|w| w[1].as_str())
            .collect();
        assert_eq!(maps, ["0:v:0", "0:a:0"]);
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
}
