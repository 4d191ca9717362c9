//! The ffmpeg command lines of a job's passes: the one encode pass (every rendition of the ladder,
//! the AAC track and the frame captures from one decode of the source), then the stream copies that
//! package those encodes as HLS, DASH and an MP4. ffmpeg writes under scratch names here; `naming`
//! gives the files their real names afterwards.

use std::path::{Path, PathBuf};

use super::{Rotation, TranscodePlan, believed_duration};

/// The x264 preset: the fastest that keeps the ladder watchable; a 30 s 720p clip encodes in about 15 s
/// on two cores (docs/BENCHMARKS.md).
const X264_PRESET: &str = "veryfast";
/// Segment length of the v6 templates' HLS group, and the keyframe interval that makes it exact.
const SEGMENT_SECONDS: u32 = 3;
/// A frame capture every 5 s (FramerateNumerator 1 / Denominator 5).
const CAPTURE_INTERVAL_SECONDS: u32 = 5;
/// Inputs read from the local file system only: never a network fetch, whatever the source names.
const SOURCE_PROTOCOLS: [&str; 2] = ["-protocol_whitelist", "file"];

fn os(path: &Path) -> String {
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

pub(super) fn hls_args(renditions: &[PathBuf], audio: &Path, work: &Path) -> Vec<String> {
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

pub(super) fn dash_args(renditions: &[PathBuf], audio: &Path, work: &Path) -> Vec<String> {
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

pub(super) fn mp4_args(video: &Path, audio: &Path, out: &Path) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_stack::workflow::OutputGroups;

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
