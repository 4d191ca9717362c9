//! Packaging one configuration of an asset: the ffmpeg stream copy (never a re-encode) that turns the
//! encoded renditions into HLS (TS segments), DASH or CMAF (fragmented MP4 under an HLS master), and
//! running it to its end or killing it at the time limit.
//!
//! Every pass reads the renditions' video in ladder order and one audio track, the top rendition's,
//! as an audio rendition group (`UseAudioRenditionGroup: true` in the solution's HLS configuration);
//! segments are 6 s (`SegmentDurationSeconds`), cut at the renditions' keyframes. ffmpeg runs inside
//! the configuration's own empty scratch folder and writes fixed relative names there, so no part of
//! a path reaches its muxers' `%` patterns; the inputs are absolute `file:` paths, read from the file
//! system only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::MediaPackageError;
use super::ids::PackagingKind;
use crate::local_stack::transcode::{ToolFailure, ffmpeg_program, run_to_end};

/// `SegmentDurationSeconds` of every configuration the solution creates.
const SEGMENT_SECONDS: &str = "6";
/// The longest one stream-copy pass may take: it only rewraps what is on disk, so an hour is far more
/// than a six-hour source needs; a stuck ffmpeg ends in an error, never a hang.
pub(super) const PASS_TIME_LIMIT: Duration = Duration::from_secs(3600);

/// The packager's command line for `kind`, run inside the output folder. `renditions` are absolute
/// paths in ladder order (lowest first); the last one's audio is the asset's audio. `None` for MSS,
/// which is not packaged.
pub(super) fn package_args(kind: PackagingKind, renditions: &[PathBuf]) -> Option<Vec<String>> {
    let mut args: Vec<String> = ["-hide_banner", "-nostdin", "-y", "-v", "error"]
        .map(String::from)
        .to_vec();
    for rendition in renditions {
        args.extend(["-protocol_whitelist".into(), "file".into(), "-i".into()]);
        // `file:` so that a colon in the path is not read as a protocol.
        args.push(format!("file:{}", rendition.to_string_lossy()));
    }
    let mut variants = Vec::new();
    for i in 0..renditions.len() {
        args.extend(["-map".into(), format!("{i}:v:0")]);
        variants.push(format!("v:{i},agroup:audio"));
    }
    let top = renditions.len().checked_sub(1)?;
    args.extend([
        "-map".into(),
        format!("{top}:a:0"),
        "-c".into(),
        "copy".into(),
    ]);
    variants.push("a:0,agroup:audio,default:yes".into());
    let hls = |segment_type: &str, segment_name: &str| -> Vec<String> {
        let mut hls: Vec<String> = [
            "-f",
            "hls",
            "-hls_time",
            SEGMENT_SECONDS,
            "-hls_playlist_type",
            "vod",
            "-hls_flags",
            "independent_segments",
            "-hls_segment_type",
            segment_type,
            "-start_number",
            "1",
            "-master_pl_name",
            "index.m3u8",
            "-var_stream_map",
        ]
        .map(String::from)
        .to_vec();
        hls.push(variants.join(" "));
        hls.extend(["-hls_segment_filename".into(), segment_name.into()]);
        hls
    };
    match kind {
        PackagingKind::Hls => {
            args.extend(hls("mpegts", "index_%v_%d.ts"));
            args.push("index_%v.m3u8".into());
        }
        PackagingKind::Cmaf => {
            args.extend(hls("fmp4", "index_%v_%d.m4s"));
            args.extend(["-hls_fmp4_init_filename".into(), "index_%v_init.mp4".into()]);
            args.push("index_%v.m3u8".into());
        }
        PackagingKind::Dash => {
            args.extend(
                [
                    "-f",
                    "dash",
                    "-seg_duration",
                    SEGMENT_SECONDS,
                    "-use_template",
                    "1",
                    "-use_timeline",
                    "1",
                    "-init_seg_name",
                    "index_$RepresentationID$_init.mp4",
                    "-media_seg_name",
                    "index_$RepresentationID$_$Number$.m4s",
                    "-adaptation_sets",
                    "id=0,streams=v id=1,streams=a",
                    "index.mpd",
                ]
                .map(String::from),
            );
        }
        PackagingKind::Mss => return None,
    }
    Some(args)
}

/// Runs the packager for `kind` in `out_dir` to its end, or kills it after `limit`.
pub(super) async fn run_packager(
    kind: PackagingKind,
    args: &[String],
    out_dir: &Path,
    limit: Duration,
) -> Result<(), MediaPackageError> {
    let program = ffmpeg_program();
    let format = kind.suffix();
    let deadline = tokio::time::Instant::now() + limit;
    run_to_end(&program, args, Some(out_dir), deadline)
        .await
        .map_err(|failure| match failure {
            ToolFailure::Spawn(e) => {
                MediaPackageError::FfmpegMissing(format!("{}: {e}", program.display()))
            }
            ToolFailure::TimedOut => MediaPackageError::TimedOut { format, limit },
            other => MediaPackageError::Packaging {
                format,
                message: other.message(),
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renditions() -> Vec<PathBuf> {
        vec![
            PathBuf::from("/scratch/w:1/enc/r0.mp4"),
            PathBuf::from("/scratch/w:1/enc/r1.mp4"),
        ]
    }

    fn after<'a>(args: &'a [String], option: &str) -> Option<&'a str> {
        let at = args.iter().position(|a| a == option)?;
        args.get(at + 1).map(String::as_str)
    }

    #[test]
    fn every_pass_copies_each_renditions_video_and_the_top_audio() {
        for kind in [PackagingKind::Hls, PackagingKind::Dash, PackagingKind::Cmaf] {
            let args = package_args(kind, &renditions()).expect("packaged");
            assert_eq!(&args[..2], ["-hide_banner", "-nostdin"]);
            let inputs: Vec<&str> = args
                .iter()
                .enumerate()
                .filter(|(_, a)| *a == "-i")
                .map(|(i, _)| args[i + 1].as_str())
                .collect();
            assert_eq!(
                inputs,
                [
                    "file:/scratch/w:1/enc/r0.mp4",
                    "file:/scratch/w:1/enc/r1.mp4"
                ]
            );
            assert_eq!(
                args.iter().filter(|a| *a == "-protocol_whitelist").count(),
                2
            );
            let maps: Vec<&str> = args
                .iter()
                .enumerate()
                .filter(|(_, a)| *a == "-map")
                .map(|(i, _)| args[i + 1].as_str())
                .collect();
            assert_eq!(maps, ["0:v:0", "1:v:0", "1:a:0"]);
            assert_eq!(after(&args, "-c"), Some("copy"));
            assert!(!args.iter().any(|a| a.starts_with("-c:v") || a == "libx264"));
            // Outputs are relative names: the pass runs inside its own folder.
            let last = args.last().expect("an output");
            assert!(!last.contains('/'), "{last}");
        }
    }

    #[test]
    fn hls_is_ts_cmaf_is_fmp4_and_dash_an_mpd_all_in_6_s_segments() {
        let hls = package_args(PackagingKind::Hls, &renditions()).expect("hls");
        assert_eq!(after(&hls, "-hls_segment_type"), Some("mpegts"));
        assert_eq!(after(&hls, "-hls_time"), Some("6"));
        assert_eq!(after(&hls, "-master_pl_name"), Some("index.m3u8"));
        assert_eq!(
            after(&hls, "-var_stream_map"),
            Some("v:0,agroup:audio v:1,agroup:audio a:0,agroup:audio,default:yes")
        );
        let cmaf = package_args(PackagingKind::Cmaf, &renditions()).expect("cmaf");
        assert_eq!(after(&cmaf, "-hls_segment_type"), Some("fmp4"));
        assert_eq!(
            after(&cmaf, "-hls_segment_filename"),
            Some("index_%v_%d.m4s")
        );
        let dash = package_args(PackagingKind::Dash, &renditions()).expect("dash");
        assert_eq!(after(&dash, "-seg_duration"), Some("6"));
        assert_eq!(dash.last().map(String::as_str), Some("index.mpd"));
        assert_eq!(package_args(PackagingKind::Mss, &renditions()), None);
        assert_eq!(package_args(PackagingKind::Hls, &[]), None);
    }
}
