//! Finding and running the probing tool: [`Prober`] looks for mediainfo (preferred) or ffprobe on
//! PATH (`VODESK_PROBE` forcing one), runs it on a local file under the Lambda's timeout, killing it
//! when the time is up, and hands its output to the matching mapping.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::{
    PROBE_ENV, PROBE_TIMEOUT, ProbeError, SrcMediainfo, Tool, map_ffprobe_output,
    map_mediainfo_output,
};

/// Finds and runs the probing tool.
#[derive(Debug, Clone)]
pub struct Prober {
    tool: Tool,
    path: PathBuf,
    timeout: Duration,
}

impl Prober {
    /// Finds mediainfo (preferred) or ffprobe on PATH; `VODESK_PROBE=mediainfo|ffprobe` forces one.
    /// The error says which Debian package to install.
    pub fn detect() -> Result<Prober, ProbeError> {
        match std::env::var(PROBE_ENV) {
            Ok(choice) if !choice.trim().is_empty() => {
                match choice.trim().to_ascii_lowercase().as_str() {
                    "mediainfo" => Self::with_tool(Tool::Mediainfo),
                    "ffprobe" => Self::with_tool(Tool::Ffprobe),
                    _ => Err(ProbeError::BadToolChoice(choice)),
                }
            }
            Err(std::env::VarError::NotUnicode(raw)) => Err(ProbeError::BadToolChoice(
                raw.to_string_lossy().into_owned(),
            )),
            _ => Self::with_tool(Tool::Mediainfo)
                .or_else(|_| Self::with_tool(Tool::Ffprobe))
                .map_err(|_| ProbeError::NoTool),
        }
    }

    /// This tool, found on PATH (ignores `VODESK_PROBE`).
    pub fn with_tool(tool: Tool) -> Result<Prober, ProbeError> {
        let path = find_on_path(tool.name()).ok_or(ProbeError::ToolNotFound(tool))?;
        Ok(Self::with_tool_path(tool, path))
    }

    /// This tool at this path (not checked until [`Prober::probe`] runs it).
    pub fn with_tool_path(tool: Tool, path: PathBuf) -> Prober {
        Prober {
            tool,
            path,
            timeout: PROBE_TIMEOUT,
        }
    }

    /// Another timeout than the Lambda's 120 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Prober {
        self.timeout = timeout;
        self
    }

    pub fn tool(&self) -> Tool {
        self.tool
    }

    /// "mediainfo" or "ffprobe".
    pub fn tool_name(&self) -> &'static str {
        self.tool.name()
    }

    pub fn tool_path(&self) -> &Path {
        &self.path
    }

    /// Runs the tool on `path` (killed after the timeout) and maps its output; `src_video` is the S3
    /// key, written as `filename`.
    pub async fn probe(&self, path: &Path, src_video: &str) -> Result<SrcMediainfo, ProbeError> {
        let target = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        match self.tool {
            Tool::Mediainfo => {
                args.push("--Output=JSON".into());
                args.push(target.clone().into_os_string());
            }
            Tool::Ffprobe => {
                // `-protocol_whitelist file`: the source is read from this machine's file system
                // only, never fetched from a network address it names.
                for a in [
                    "-v",
                    "error",
                    "-protocol_whitelist",
                    "file",
                    "-print_format",
                    "json",
                    "-show_format",
                    "-show_streams",
                ] {
                    args.push(a.into());
                }
                // `file:` so that a colon in the name is not read as a protocol.
                let mut input = std::ffi::OsString::from("file:");
                input.push(target.as_os_str());
                args.push(input);
            }
        }
        let child = tokio::process::Command::new(&self.path)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ProbeError::Spawn {
                tool: self.tool,
                path: self.path.clone(),
                source,
            })?;
        // On timeout the future, and with it the child, is dropped: kill_on_drop kills it.
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| ProbeError::Timeout {
                tool: self.tool,
                file: path.to_path_buf(),
                timeout: self.timeout,
            })?
            .map_err(|source| ProbeError::Spawn {
                tool: self.tool,
                path: self.path.clone(),
                source,
            })?;
        if self.tool == Tool::Ffprobe
            && !output.status.success()
            && String::from_utf8_lossy(&output.stderr).contains(NOT_MEDIA)
        {
            return general_track_only(path, src_video).await;
        }
        if !output.status.success() {
            let mut command = vec![self.path.to_string_lossy().into_owned()];
            command.extend(args.iter().map(|a| a.to_string_lossy().into_owned()));
            let exit_code = output.status.code();
            #[cfg(unix)]
            let signal = std::os::unix::process::ExitStatusExt::signal(&output.status);
            #[cfg(not(unix))]
            let signal = None;
            return Err(ProbeError::Failed {
                tool: self.tool,
                file: path.to_path_buf(),
                command,
                status: output.status.to_string(),
                exit_code,
                signal,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        match self.tool {
            Tool::Mediainfo => map_mediainfo_output(&output.stdout, path, src_video),
            Tool::Ffprobe => map_ffprobe_output(&output.stdout, path, src_video),
        }
    }
}

/// How ffprobe says a file is not media it can read (FFmpeg's `AVERROR_INVALIDDATA`).
const NOT_MEDIA: &str = "Invalid data found when processing input";

/// What the mediainfo Lambda stores for a file that is not media: MediaInfo answers such a file with
/// a General track holding its size only, and the Lambda's mapping runs on that, so the workflow goes
/// on to its Ingest and fails later, at the profiler. With ffprobe only, the same track is made here
/// and mapped by the same code.
async fn general_track_only(path: &Path, src_video: &str) -> Result<SrcMediainfo, ProbeError> {
    let size = tokio::fs::metadata(path)
        .await
        .map(|meta| meta.len())
        .map_err(|source| ProbeError::Spawn {
            tool: Tool::Ffprobe,
            path: path.to_path_buf(),
            source,
        })?;
    let mut general = serde_json::Map::new();
    general.insert("@type".into(), "General".into());
    if let Some(extension) = Path::new(src_video).extension() {
        general.insert(
            "FileExtension".into(),
            extension.to_string_lossy().into_owned().into(),
        );
    }
    general.insert("FileSize".into(), size.to_string().into());
    let output = serde_json::json!({"media": {"@ref": src_video, "track": [general]}});
    map_mediainfo_output(output.to_string().as_bytes(), path, src_video)
}

/// The first executable `name` in PATH, as a shell finds it (the probe's tools, the emulator's python3).
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    match std::fs::metadata(path) {
        #[cfg(unix)]
        Ok(meta) => {
            use std::os::unix::fs::PermissionsExt;
            meta.is_file() && meta.permissions().mode() & 0o111 != 0
        }
        #[cfg(not(unix))]
        Ok(meta) => meta.is_file(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_stack::probe::tests::text_key_order;
    use serde_json::{Value, json};

    fn split(args: &str) -> Vec<&str> {
        args.split_whitespace().collect()
    }

    fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
        let out = dir.join(name);
        let status = std::process::Command::new("ffmpeg")
            .args(["-y", "-v", "error"])
            .args(args)
            .arg(&out)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success(), "ffmpeg failed for {name}");
        out
    }

    struct Clips {
        _dir: tempfile::TempDir,
        mp4: PathBuf,
        mkv: PathBuf,
        webm: PathBuf,
        m4a: PathBuf,
        garbage: PathBuf,
    }

    fn clips() -> Clips {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let mp4 = ffmpeg(
            d,
            "out.mp4",
            &split(
                "-f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac",
            ),
        );
        let mkv = ffmpeg(
            d,
            "silent.mkv",
            &split(
                "-f lavfi -i testsrc2=size=640x480:rate=25 -t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p",
            ),
        );
        let webm = ffmpeg(
            d,
            "silent.webm",
            &split(
                "-f lavfi -i testsrc2=size=640x480:rate=25 -t 1 -c:v libvpx-vp9 -deadline realtime -cpu-used 8",
            ),
        );
        let m4a = ffmpeg(
            d,
            "audio.m4a",
            &split("-f lavfi -i sine=frequency=440 -t 1 -c:a aac"),
        );
        let garbage = d.join("garbage.mp4");
        let bytes: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        std::fs::write(&garbage, bytes).expect("write garbage");
        Clips {
            _dir: dir,
            mp4,
            mkv,
            webm,
            m4a,
            garbage,
        }
    }

    fn probers() -> Vec<Prober> {
        vec![
            Prober::with_tool(Tool::Mediainfo).expect("mediainfo installed"),
            Prober::with_tool(Tool::Ffprobe).expect("ffprobe installed"),
        ]
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn mp4_with_audio_both_tools() {
        let clips = clips();
        let src = "uploads/Café Año.mp4";
        for prober in probers() {
            let tool = prober.tool_name();
            let info = prober.probe(&clips.mp4, src).await.expect(tool);
            let v = &info.value;
            assert_eq!(v["filename"], src, "{tool}");
            assert_eq!(
                text_key_order(&info.text),
                ["filename", "container", "video", "audio"],
                "{tool}"
            );
            // The text is what Python writes: ASCII only, é escaped, and it parses back to the value.
            assert!(info.text.is_ascii(), "{tool}");
            assert!(
                info.text
                    .contains(r#""filename": "uploads/Caf\u00e9 A\u00f1o.mp4""#)
            );
            assert!(info.text.starts_with("{\n  \"filename\""));
            assert_eq!(
                serde_json::from_str::<Value>(&info.text).expect("parses"),
                *v,
                "{tool}"
            );
            let container = &v["container"];
            assert_eq!(container["format"], "MPEG-4", "{tool}");
            assert!(container["fileSize"].is_u64(), "{tool}");
            assert!(container["totalBitrate"].is_u64(), "{tool}");
            assert!(container["duration"].is_f64(), "{tool}");
            assert!(
                (info.duration_seconds().unwrap() - 2.0).abs() < 0.05,
                "{tool}"
            );
            let video = &v["video"][0];
            assert_eq!(
                keys(video),
                {
                    let mut k = vec![
                        "aspectRatio",
                        "bitDepth",
                        "bitrate",
                        "codec",
                        "colorSpace",
                        "duration",
                        "frameCount",
                        "framerate",
                        "height",
                        "profile",
                        "scanType",
                        "width",
                    ];
                    k.sort();
                    k
                },
                "{tool}"
            );
            assert_eq!(video["codec"], "AVC", "{tool}");
            assert_eq!(video["profile"], "Constrained Baseline@L3.1", "{tool}");
            assert_eq!(video["width"], json!(1280), "{tool}");
            assert!(
                video["width"].is_u64() && video["height"].is_u64(),
                "{tool}"
            );
            assert_eq!(info.video_width(), Some(1280));
            assert_eq!(info.video_height(), Some(720));
            // "30.000" → 30.0, a float.
            assert!(video["framerate"].is_f64(), "{tool}");
            assert_eq!(video["framerate"], json!(30.0), "{tool}");
            assert!(info.text.contains("\"framerate\": 30.0,"), "{tool}");
            assert_eq!(video["frameCount"], json!(60), "{tool}");
            assert_eq!(video["scanType"], "Progressive", "{tool}");
            assert_eq!(video["aspectRatio"], "1.778", "{tool}");
            assert_eq!(video["bitDepth"], json!(8), "{tool}");
            assert_eq!(video["colorSpace"], "YUV 4:2:0", "{tool}");
            assert!(video["bitrate"].is_u64(), "{tool}");
            assert!(info.has_audio(), "{tool}");
            let audio = &v["audio"][0];
            assert_eq!(audio["codec"], "AAC", "{tool}");
            assert!(audio.get("profile").is_none(), "{tool}");
            assert_eq!(audio["channels"], json!(1), "{tool}");
            assert_eq!(audio["samplingRate"], json!(44100), "{tool}");
            assert_eq!(audio["samplePerFrame"], json!(1024), "{tool}");
            assert!(audio["duration"].is_f64(), "{tool}");
            assert!(v.get("text").is_none(), "{tool}");
        }
    }

    #[tokio::test]
    async fn silent_matroska_and_webm_both_tools() {
        let clips = clips();
        for prober in probers() {
            let tool = prober.tool_name();
            let mkv = prober.probe(&clips.mkv, "in/silent.mkv").await.expect(tool);
            assert_eq!(mkv.value["container"]["format"], "Matroska", "{tool}");
            assert_eq!(
                text_key_order(&mkv.text),
                ["filename", "container", "video"],
                "{tool}"
            );
            assert!(!mkv.has_audio(), "{tool}");
            assert_eq!(mkv.video_width(), Some(640));
            assert_eq!(mkv.video_height(), Some(480));
            let video = &mkv.value["video"][0];
            assert_eq!(video["aspectRatio"], "1.333", "{tool}");
            assert_eq!(video["framerate"], json!(25.0), "{tool}");
            assert_eq!(video["profile"], "Constrained Baseline@L3", "{tool}");
            assert_eq!(video["duration"], json!(1.0), "{tool}");
            assert_eq!(video["frameCount"], json!(25), "{tool}");

            let webm = prober
                .probe(&clips.webm, "in/silent.webm")
                .await
                .expect(tool);
            assert_eq!(webm.value["container"]["format"], "WebM", "{tool}");
            assert_eq!(webm.value["video"][0]["codec"], "VP9", "{tool}");
            assert_eq!(webm.value["video"][0]["profile"], "0", "{tool}");
            assert!(!webm.has_audio(), "{tool}");
            assert!(
                (webm.duration_seconds().unwrap() - 1.0).abs() < 0.05,
                "{tool}"
            );
        }
    }

    #[tokio::test]
    async fn audio_only_has_no_video_array() {
        let clips = clips();
        for prober in probers() {
            let tool = prober.tool_name();
            let info = prober.probe(&clips.m4a, "a.m4a").await.expect(tool);
            assert_eq!(info.value["container"]["format"], "MPEG-4", "{tool}");
            assert!(info.value.get("video").is_none(), "{tool}");
            assert_eq!(info.video_height(), None);
            assert!(info.has_audio(), "{tool}");
            assert_eq!(
                text_key_order(&info.text),
                ["filename", "container", "audio"],
                "{tool}"
            );
        }
    }

    /// A file that is not media: MediaInfo answers with a General track only, and the Lambda maps
    /// it (so the workflow reaches Ingest and fails at the profiler); ffprobe refuses the file, and
    /// the same General track is made for it, so both tools give the same srcMediainfo.
    #[tokio::test]
    async fn garbage_is_a_general_track_only_with_either_tool() {
        let clips = clips();
        for prober in probers() {
            let tool = prober.tool_name();
            let info = prober
                .probe(&clips.garbage, "x/garbage.mp4")
                .await
                .unwrap_or_else(|e| panic!("{tool}: {e}"));
            assert_eq!(
                info.text,
                "{\n  \"filename\": \"x/garbage.mp4\",\n  \"container\": {\n    \"fileSize\": 5000\n  }\n}",
                "{tool}"
            );
            assert_eq!(info.video_height(), None, "{tool}");
        }
    }

    #[tokio::test]
    async fn missing_file_with_mediainfo_is_a_none_subscript() {
        let mediainfo = Prober::with_tool(Tool::Mediainfo).expect("mediainfo");
        let err = mediainfo
            .probe(Path::new("/nonexistent/vodesk/x.mp4"), "x.mp4")
            .await
            .expect_err("no such file");
        assert_eq!(
            err.lambda_message(),
            "'NoneType' object is not subscriptable"
        );
    }

    #[tokio::test]
    async fn missing_binary_and_timeout() {
        let prober =
            Prober::with_tool_path(Tool::Mediainfo, PathBuf::from("/nonexistent/bin/mediainfo"));
        let err = prober
            .probe(Path::new("a.mp4"), "a.mp4")
            .await
            .expect_err("no binary");
        assert!(matches!(err, ProbeError::Spawn { .. }));
        assert!(
            err.to_string().contains("apt-get install mediainfo"),
            "{err}"
        );
        assert_eq!(
            err.lambda_message(),
            "[Errno 2] No such file or directory: '/nonexistent/bin/mediainfo'"
        );

        // A "tool" that never answers in time.
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("slow-tool");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").expect("write script");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        let slow = Prober::with_tool_path(Tool::Mediainfo, script)
            .with_timeout(Duration::from_millis(200));
        let started = std::time::Instant::now();
        let err = slow
            .probe(Path::new("5"), "x")
            .await
            .expect_err("times out");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(matches!(err, ProbeError::Timeout { .. }), "{err:?}");
        assert_eq!(err.lambda_message(), "Task timed out after 0.20 seconds");
        assert_eq!(
            ProbeError::Timeout {
                tool: Tool::Mediainfo,
                file: PathBuf::from("a"),
                timeout: PROBE_TIMEOUT
            }
            .lambda_message(),
            "Task timed out after 120.00 seconds"
        );
    }

    #[test]
    fn detect_finds_a_tool() {
        // Reads VODESK_PROBE without changing it (tests run in parallel).
        match std::env::var(PROBE_ENV).ok().as_deref() {
            Some("ffprobe") => assert_eq!(Prober::detect().unwrap().tool_name(), "ffprobe"),
            None | Some("") | Some("mediainfo") => {
                assert_eq!(Prober::detect().unwrap().tool_name(), "mediainfo")
            }
            Some(_) => assert!(Prober::detect().is_err()),
        }
    }
}
