//! The ffprobe mapping (contract §10): `ffprobe -print_format json -show_format -show_streams` output
//! mapped onto the §6 structure, with the values shaped as MediaInfo would report them (its format
//! and codec names, `Profile@Level@Tier`, colour space, language codes).

use std::path::Path;

use serde_json::Value;

use super::python::{PyResult, compact, json_loads, parse_number};
use super::{ProbeError, SrcMediainfo, Tool};
use crate::local_stack::python_json::PyValue;

/// Maps `ffprobe -print_format json -show_format -show_streams` output onto the §6 structure. `file` gives
/// the extension (`.webm` → `WebM`) and error messages.
pub(crate) fn map_ffprobe_output(
    stdout: &[u8],
    file: &Path,
    src_video: &str,
) -> Result<SrcMediainfo, ProbeError> {
    ffprobe_metadata(stdout, file, src_video)
        .map(|metadata| SrcMediainfo::from_py(&metadata))
        .map_err(|message| ProbeError::Mapping {
            tool: Tool::Ffprobe,
            file: file.to_path_buf(),
            message,
        })
}

/// A numeric string rounded to 3 decimals ("2.000000" → "2.000"), as MediaInfo prints durations.
fn ms3(s: &str) -> Option<String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| format!("{f:.3}"))
}

/// "30000/1001" → 29.97002997…
fn ratio(s: &str, sep: char) -> Option<f64> {
    let (n, d) = s.split_once(sep)?;
    let n: f64 = n.trim().parse().ok()?;
    let d: f64 = d.trim().parse().ok()?;
    (n > 0.0 && d > 0.0).then_some(n / d)
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A field as text, whether ffprobe wrote it as a string or a number.
fn text_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A tag, in any letter case and with or without a `-eng` style suffix (Matroska writes `DURATION`).
fn tag(stream: &Value, name: &str) -> Option<String> {
    let tags = stream.get("tags")?.as_object()?;
    tags.iter()
        .find(|(k, _)| {
            k.eq_ignore_ascii_case(name)
                || k.split_once('-')
                    .is_some_and(|(base, _)| base.eq_ignore_ascii_case(name))
        })
        .and_then(|(_, v)| v.as_str().map(str::to_owned))
}

/// "00:00:01.000000000" → "1.000".
fn hms_seconds(s: &str) -> Option<String> {
    let mut total = 0.0;
    for part in s.trim().split(':') {
        total = total * 60.0 + part.parse::<f64>().ok()?;
    }
    ms3(&total.to_string())
}

fn number_from(text: Option<String>) -> PyResult<PyValue> {
    match text {
        Some(s) => parse_number(Some(&Value::String(s))),
        None => Ok(PyValue::None),
    }
}

fn container_format(format_name: &str, file: &Path) -> String {
    let first = format_name.split(',').next().unwrap_or(format_name);
    let is_webm = file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("webm"));
    match first {
        "mov" | "mp4" | "m4a" | "3gp" | "3g2" | "mj2" => "MPEG-4",
        "matroska" | "webm" if is_webm => "WebM",
        "matroska" | "webm" => "Matroska",
        "mpegts" => "MPEG-TS",
        "mpeg" | "vob" => "MPEG-PS",
        "mxf" | "mxf_d10" | "mxf_opatom" => "MXF",
        "asf" => "Windows Media",
        "h264" => "AVC",
        "hevc" => "HEVC",
        "mpegvideo" => "MPEG Video",
        "avi" => "AVI",
        "flv" => "Flash Video",
        "hls" => "HLS",
        "wav" => "Wave",
        "mp3" => "MPEG Audio",
        "aac" => "ADTS",
        "ogg" => "Ogg",
        _ => return format_name.to_owned(),
    }
    .to_owned()
}

fn codec_format(codec: &str) -> String {
    if codec.starts_with("pcm_") {
        return "PCM".to_owned();
    }
    match codec {
        "h264" => "AVC",
        "hevc" => "HEVC",
        "vp9" => "VP9",
        "vp8" => "VP8",
        "av1" => "AV1",
        "mpeg2video" | "mpeg1video" => "MPEG Video",
        "mpeg4" => "MPEG-4 Visual",
        "prores" => "ProRes",
        "vc1" | "wmv3" => "VC-1",
        "dnxhd" => "VC-3",
        "mjpeg" => "JPEG",
        "aac" => "AAC",
        "ac3" => "AC-3",
        "eac3" => "E-AC-3",
        "opus" => "Opus",
        "mp2" | "mp3" | "mp1" => "MPEG Audio",
        "flac" => "FLAC",
        "vorbis" => "Vorbis",
        "alac" => "ALAC",
        "dts" => "DTS",
        "mov_text" => "Timed Text",
        "subrip" => "UTF-8",
        "webvtt" => "WebVTT",
        "ass" => "ASS",
        "ssa" => "SSA",
        "eia_608" => "EIA-608",
        "dvd_subtitle" => "VobSub",
        "hdmv_pgs_subtitle" => "PGS",
        "dvb_subtitle" => "DVB Subtitle",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// MediaInfo's `Format_Profile@L<Format_Level>@Format_Tier` from ffprobe's `profile` and `level`.
fn ffprobe_profile(codec: &str, stream: &Value) -> Option<String> {
    let profile = str_field(stream, "profile").filter(|p| *p != "unknown");
    let level = stream
        .get("level")
        .and_then(Value::as_i64)
        .filter(|l| *l >= 0);
    let (profile, level, tier) = match codec {
        "h264" => (
            profile.map(str::to_owned),
            level.map(|l| match l {
                9 => "1b".to_owned(),
                l if l % 10 == 0 => (l / 10).to_string(),
                l => format!("{}.{}", l / 10, l % 10),
            }),
            None,
        ),
        // ffprobe does not report the tier; almost all streams are Main tier.
        "hevc" => (
            profile.map(str::to_owned),
            level.map(|l| match (l / 30, (l % 30) / 3) {
                (major, 0) => major.to_string(),
                (major, minor) => format!("{major}.{minor}"),
            }),
            Some("Main".to_owned()),
        ),
        "vp9" => (
            profile.map(|p| p.trim_start_matches("Profile ").to_owned()),
            None,
            None,
        ),
        "av1" => (
            profile.map(str::to_owned),
            level.map(|l| format!("{}.{}", 2 + l / 4, l % 4)),
            None,
        ),
        "mpeg2video" => (
            profile.map(str::to_owned),
            level.and_then(|l| match l {
                4 => Some("High".to_owned()),
                6 => Some("High 1440".to_owned()),
                8 => Some("Main".to_owned()),
                10 => Some("Low".to_owned()),
                _ => None,
            }),
            None,
        ),
        "mp3" => (Some("Layer 3".to_owned()), None, None),
        "mp2" => (Some("Layer 2".to_owned()), None, None),
        "mp1" => (Some("Layer 1".to_owned()), None, None),
        "prores" => (profile.map(str::to_owned), None, None),
        // MediaInfo reports no profile for AAC (LC is a "feature"), AC-3, Opus, PCM…
        _ => (None, None, None),
    };
    let parts: Vec<String> = [profile, level.map(|l| format!("L{l}")), tier]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join("@"))
}

fn stream_duration(stream: &Value) -> Option<String> {
    text_field(stream, "duration")
        .and_then(|d| ms3(&d))
        .or_else(|| tag(stream, "DURATION").and_then(|d| hms_seconds(&d)))
}

/// `pix_fmt` → (ColorSpace, ChromaSubsampling, BitDepth), as MediaInfo names them.
fn pixel_format(pix_fmt: &str) -> (Option<&'static str>, Option<&'static str>, Option<u32>) {
    let depth = if pix_fmt.contains("16") {
        Some(16)
    } else if pix_fmt.contains("12") {
        Some(12)
    } else if pix_fmt.contains("10") || pix_fmt.starts_with("p010") {
        Some(10)
    } else {
        Some(8)
    };
    if pix_fmt.starts_with("yuv") || pix_fmt.starts_with("yuvj") {
        let chroma = if pix_fmt.contains("420") {
            Some("4:2:0")
        } else if pix_fmt.contains("422") {
            Some("4:2:2")
        } else if pix_fmt.contains("444") {
            Some("4:4:4")
        } else if pix_fmt.contains("411") {
            Some("4:1:1")
        } else {
            None
        };
        (Some("YUV"), chroma, depth)
    } else if pix_fmt.starts_with("nv12")
        || pix_fmt.starts_with("p010")
        || pix_fmt.starts_with("nv21")
    {
        (Some("YUV"), Some("4:2:0"), depth)
    } else if pix_fmt.starts_with("nv16")
        || pix_fmt.starts_with("uyvy")
        || pix_fmt.starts_with("yuyv")
    {
        (Some("YUV"), Some("4:2:2"), depth)
    } else if pix_fmt.starts_with("gbr") || pix_fmt.starts_with("rgb") || pix_fmt.starts_with("bgr")
    {
        (Some("RGB"), None, depth)
    } else if pix_fmt.starts_with("gray") {
        (Some("Y"), None, depth)
    } else {
        (None, None, None)
    }
}

/// ISO 639-2 → the ISO 639-1 code MediaInfo prints; "und" means no language.
fn language(code: &str) -> Option<String> {
    let short = match code {
        "und" | "" => return None,
        "eng" => "en",
        "fra" | "fre" => "fr",
        "deu" | "ger" => "de",
        "spa" => "es",
        "ita" => "it",
        "por" => "pt",
        "jpn" => "ja",
        "zho" | "chi" => "zh",
        "kor" => "ko",
        "rus" => "ru",
        "ara" => "ar",
        "hin" => "hi",
        "nld" | "dut" => "nl",
        "swe" => "sv",
        "nor" => "no",
        "dan" => "da",
        "fin" => "fi",
        "pol" => "pl",
        "tur" => "tr",
        "ell" | "gre" => "el",
        "heb" => "he",
        "cat" => "ca",
        other => other,
    };
    Some(short.to_owned())
}

fn ffprobe_metadata(stdout: &[u8], file: &Path, src_video: &str) -> PyResult<PyValue> {
    let mut metadata = PyValue::dict();
    metadata.set("filename", PyValue::Str(src_video.to_owned()));
    let root = json_loads(stdout)?;
    let format = root.get("format").cloned().unwrap_or(Value::Null);
    let mut container = PyValue::dict();
    container.set(
        "format",
        str_field(&format, "format_name")
            .map(|f| PyValue::Str(container_format(f, file)))
            .unwrap_or(PyValue::None),
    );
    container.set("fileSize", number_from(text_field(&format, "size"))?);
    container.set(
        "duration",
        number_from(text_field(&format, "duration").and_then(|d| ms3(&d)))?,
    );
    container.set(
        "totalBitrate",
        number_from(text_field(&format, "bit_rate"))?,
    );
    metadata.set("container", compact(container));

    let streams = root
        .get("streams")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (mut video, mut audio, mut text) = (Vec::new(), Vec::new(), Vec::new());
    for stream in &streams {
        let codec_name = str_field(stream, "codec_name").unwrap_or("");
        match str_field(stream, "codec_type") {
            Some("video") => {
                let attached_pic = stream
                    .get("disposition")
                    .and_then(|d| d.get("attached_pic"))
                    .and_then(Value::as_i64)
                    == Some(1);
                if !attached_pic {
                    video.push(ffprobe_video(stream, codec_name)?);
                }
            }
            Some("audio") => audio.push(ffprobe_audio(stream, codec_name)?),
            Some("subtitle") => text.push(ffprobe_text(stream, codec_name)?),
            _ => {}
        }
    }
    // MediaInfo lists Video, then Audio, then Text tracks.
    for (key, list) in [("video", video), ("audio", audio), ("text", text)] {
        if !list.is_empty() {
            metadata.set(key, PyValue::List(list));
        }
    }
    Ok(metadata)
}

fn ffprobe_common(stream: &Value, codec_name: &str) -> PyResult<PyValue> {
    let mut attributes = PyValue::dict();
    attributes.set(
        "codec",
        if codec_name.is_empty() {
            PyValue::None
        } else {
            PyValue::Str(codec_format(codec_name))
        },
    );
    if let Some(profile) = ffprobe_profile(codec_name, stream) {
        attributes.set("profile", PyValue::Str(profile));
    }
    attributes.set(
        "bitrate",
        number_from(text_field(stream, "bit_rate").or_else(|| tag(stream, "BPS")))?,
    );
    attributes.set("duration", number_from(stream_duration(stream))?);
    attributes.set(
        "frameCount",
        number_from(text_field(stream, "nb_frames").or_else(|| tag(stream, "NUMBER_OF_FRAMES")))?,
    );
    Ok(attributes)
}

fn ffprobe_video(stream: &Value, codec_name: &str) -> PyResult<PyValue> {
    let mut attributes = ffprobe_common(stream, codec_name)?;
    let fps = str_field(stream, "r_frame_rate").and_then(|r| ratio(r, '/'));
    if attributes
        .get("frameCount")
        .is_none_or(|v| *v == PyValue::None)
    {
        // MediaInfo derives it from duration × frame rate when the container does not store it.
        let derived = match (stream_duration(stream), fps) {
            (Some(d), Some(fps)) => d
                .parse::<f64>()
                .ok()
                .map(|d| format!("{}", (d * fps).round() as i64)),
            _ => None,
        };
        attributes.set("frameCount", number_from(derived)?);
    }
    let width = stream.get("width").and_then(Value::as_u64);
    let height = stream.get("height").and_then(Value::as_u64);
    attributes.set("width", number_from(width.map(|w| w.to_string()))?);
    attributes.set("height", number_from(height.map(|h| h.to_string()))?);
    attributes.set("framerate", number_from(fps.map(|f| format!("{f:.3}")))?);
    let scan = match str_field(stream, "field_order") {
        Some("progressive") => Some("Progressive"),
        Some("tt" | "bb" | "tb" | "bt") => Some("Interlaced"),
        _ => None,
    };
    attributes.set(
        "scanType",
        scan.map(|s| PyValue::Str(s.to_owned()))
            .unwrap_or(PyValue::None),
    );
    let dar = str_field(stream, "display_aspect_ratio")
        .and_then(|r| ratio(r, ':'))
        .or_else(|| {
            let sar = str_field(stream, "sample_aspect_ratio")
                .and_then(|r| ratio(r, ':'))
                .unwrap_or(1.0);
            match (width, height) {
                (Some(w), Some(h)) if h > 0 => Some(w as f64 / h as f64 * sar),
                _ => None,
            }
        });
    attributes.set(
        "aspectRatio",
        dar.map(|d| PyValue::Str(format!("{d:.3}")))
            .unwrap_or(PyValue::None),
    );
    let (color_space, chroma, pix_depth) = pixel_format(str_field(stream, "pix_fmt").unwrap_or(""));
    let depth = text_field(stream, "bits_per_raw_sample")
        .filter(|d| d != "0")
        .or_else(|| pix_depth.map(|d| d.to_string()));
    attributes.set("bitDepth", number_from(depth)?);
    attributes.set(
        "colorSpace",
        PyValue::Str(format!(
            "{} {}",
            color_space.unwrap_or("None"),
            chroma.unwrap_or("None")
        )),
    );
    Ok(compact(attributes))
}

fn ffprobe_audio(stream: &Value, codec_name: &str) -> PyResult<PyValue> {
    let mut attributes = ffprobe_common(stream, codec_name)?;
    // ffprobe does not tell CBR from VBR: bitrateMode is left out.
    attributes.set(
        "language",
        tag(stream, "language")
            .and_then(|l| language(&l))
            .map(PyValue::Str)
            .unwrap_or(PyValue::None),
    );
    attributes.set("channels", number_from(text_field(stream, "channels"))?);
    let rate = text_field(stream, "sample_rate");
    let rate_hz = rate.as_deref().and_then(|r| r.parse::<u32>().ok());
    attributes.set("samplingRate", number_from(rate.clone())?);
    let profile = str_field(stream, "profile").unwrap_or("");
    let per_frame = text_field(stream, "frame_size")
        .filter(|f| f != "0")
        .or_else(|| {
            match codec_name {
                "aac" if profile.starts_with("HE") => Some(2048),
                "aac" => Some(1024),
                "ac3" | "eac3" => Some(1536),
                "mp3" if rate_hz.is_some_and(|r| r < 32000) => Some(576),
                "mp2" | "mp3" => Some(1152),
                "mp1" => Some(384),
                _ => None,
            }
            .map(|n: u32| n.to_string())
        });
    attributes.set("samplePerFrame", number_from(per_frame)?);
    Ok(compact(attributes))
}

fn ffprobe_text(stream: &Value, codec_name: &str) -> PyResult<PyValue> {
    let mut attributes = PyValue::dict();
    // MediaInfo's ID is the container's track ID (ffprobe "0x3"), else the 1-based track number.
    let id = str_field(stream, "id")
        .and_then(|id| u64::from_str_radix(id.trim_start_matches("0x"), 16).ok())
        .or_else(|| stream.get("index").and_then(Value::as_u64).map(|i| i + 1));
    attributes.set(
        "id",
        id.map(|i| PyValue::Str(i.to_string()))
            .unwrap_or(PyValue::None),
    );
    attributes.set(
        "format",
        if codec_name.is_empty() {
            PyValue::None
        } else {
            PyValue::Str(codec_format(codec_name))
        },
    );
    attributes.set("duration", number_from(stream_duration(stream))?);
    Ok(compact(attributes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_stack::probe::tests::text_key_order;
    use serde_json::json;

    #[test]
    fn ffprobe_mapping_of_hevc_and_subtitles() {
        let doc = json!({
            "streams": [
                {"index": 0, "codec_name": "hevc", "codec_type": "video", "profile": "Main 10",
                 "level": 123, "width": 3840, "height": 2160, "display_aspect_ratio": "16:9",
                 "pix_fmt": "yuv420p10le", "field_order": "progressive", "r_frame_rate": "30000/1001",
                 "duration": "10.010000", "bit_rate": "20000000", "nb_frames": "300"},
                {"index": 1, "codec_name": "eac3", "codec_type": "audio", "sample_rate": "48000",
                 "channels": 6, "bit_rate": "640000", "duration": "10.000000",
                 "tags": {"language": "eng"}},
                {"index": 2, "codec_name": "mov_text", "codec_type": "subtitle", "id": "0x3",
                 "duration": "9.5"},
                {"index": 3, "codec_name": "mjpeg", "codec_type": "video",
                 "disposition": {"attached_pic": 1}}
            ],
            "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "size": "25000000",
                       "duration": "10.010000", "bit_rate": "19980019"}
        });
        let info = map_ffprobe_output(doc.to_string().as_bytes(), Path::new("a.mov"), "a.mov")
            .expect("maps");
        let v = &info.value;
        assert_eq!(
            v["container"],
            json!({"format": "MPEG-4", "fileSize": 25000000,
            "duration": 10.01, "totalBitrate": 19980019})
        );
        assert_eq!(v["video"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["video"][0]["profile"], "Main 10@L4.1@Main");
        assert_eq!(v["video"][0]["framerate"], json!(29.97));
        assert_eq!(v["video"][0]["bitDepth"], json!(10));
        assert_eq!(
            v["audio"][0],
            json!({"codec": "E-AC-3", "bitrate": 640000, "duration": 10.0,
            "language": "en", "channels": 6, "samplingRate": 48000, "samplePerFrame": 1536})
        );
        assert_eq!(
            v["text"][0],
            json!({"id": "3", "format": "Timed Text", "duration": 9.5})
        );
        assert_eq!(
            text_key_order(&info.text),
            ["filename", "container", "video", "audio", "text"]
        );
    }
}
