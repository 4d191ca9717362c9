//! `srcMediainfo` (§6): the probe summary the mediainfo Lambda stores on the item as JSON text.
//!
//! Reading is deliberately tolerant. The record is still useful without it, so only text that
//! is not JSON at all (or JSON that is not an object) is an error, which the record reader
//! turns into a warning. Fields of the wrong type read as unknown, numeric strings are
//! converted, unknown fields are ignored. Units are kept as written: v4.0–4.2 stored
//! milliseconds and `mimeType`, and converting would need a version the record doesn't carry.

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::type_name;
use super::value::{as_f64, as_text, as_u64};

/// Why a `srcMediainfo` value could not be read at all. `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaInfoError {
    /// The stored text is not JSON; carries serde_json's description (line, column).
    #[error("not valid JSON ({0})")]
    NotJson(String),
    /// The JSON (or the attribute itself) is not an object; carries the kind found.
    #[error("expected a JSON object, found {0}")]
    NotAnObject(&'static str),
}

/// The parsed srcMediainfo. Every field is optional; track lists keep track order, and a track
/// entry that is not an object stays in place as an all-unknown track so `video[0]` keeps
/// meaning "the first video track".
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaInfo {
    pub filename: Option<String>,
    pub container: Option<Container>,
    pub video: Vec<VideoTrack>,
    pub audio: Vec<AudioTrack>,
    pub text: Vec<TextTrack>,
}

/// The General track.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// `MPEG-4`, `Matroska`, `WebM`, `MPEG-TS`, ...
    pub format: Option<String>,
    /// Bytes.
    pub file_size: Option<u64>,
    /// Seconds since v4.3.0; milliseconds in v4.0–4.2.
    pub duration: Option<f64>,
    /// bit/s.
    pub total_bitrate: Option<f64>,
    /// Only v4.0–4.2 wrote it.
    pub mime_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoTrack {
    /// `AVC`, `HEVC`, `VP9`, `AV1`, `ProRes`, ...
    pub codec: Option<String>,
    /// e.g. `High@L4`, `Main@L5.1@Main`.
    pub profile: Option<String>,
    pub bitrate: Option<f64>,
    pub duration: Option<f64>,
    pub frame_count: Option<u64>,
    /// Stored dimensions in pixels (rotation not applied).
    pub width: Option<u64>,
    pub height: Option<u64>,
    pub framerate: Option<f64>,
    pub scan_type: Option<String>,
    /// A string such as `"1.778"` (v4.0–4.2: `"16:9"`).
    pub aspect_ratio: Option<String>,
    pub bit_depth: Option<u64>,
    /// `"<ColorSpace> <ChromaSubsampling>"`; can read `"None None"`.
    pub color_space: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioTrack {
    /// `AAC`, `AC-3`, `E-AC-3`, `Opus`, `MPEG Audio`, `PCM`, ...
    pub codec: Option<String>,
    pub profile: Option<String>,
    pub bitrate: Option<f64>,
    pub duration: Option<f64>,
    pub frame_count: Option<u64>,
    /// `CBR` / `VBR`.
    pub bitrate_mode: Option<String>,
    pub language: Option<String>,
    pub channels: Option<u64>,
    /// Hz.
    pub sampling_rate: Option<u64>,
    pub sample_per_frame: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextTrack {
    /// MediaInfo's track `ID`, a string such as `"3"`.
    pub id: Option<String>,
    pub format: Option<String>,
    pub duration: Option<f64>,
    pub frame_count: Option<u64>,
    pub caption_service_name: Option<String>,
}

impl MediaInfo {
    /// Reads srcMediainfo as it sits in a record: JSON text (the normal form) or an object
    /// (accepted too). `null` is "absent" and is left to the caller.
    pub fn from_value(value: &Value) -> Result<MediaInfo, MediaInfoError> {
        match value {
            Value::String(text) => MediaInfo::from_json_text(text),
            Value::Object(obj) => Ok(MediaInfo::from_object(obj)),
            other => Err(MediaInfoError::NotAnObject(type_name(other))),
        }
    }

    /// Parses the stored JSON text. serde_json's recursion limit stays on, so hostile nesting is
    /// an error, not a stack overflow.
    pub fn from_json_text(text: &str) -> Result<MediaInfo, MediaInfoError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| MediaInfoError::NotJson(e.to_string().replace(['\n', '\r'], " ")))?;
        match value {
            Value::Object(obj) => Ok(MediaInfo::from_object(&obj)),
            other => Err(MediaInfoError::NotAnObject(type_name(&other))),
        }
    }

    /// Reads an already-parsed object; never fails.
    pub fn from_object(obj: &Map<String, Value>) -> MediaInfo {
        let f = Fields(obj);
        MediaInfo {
            filename: f.text("filename"),
            container: match obj.get("container") {
                Some(Value::Object(c)) => Some(Container::read(&Fields(c))),
                _ => None,
            },
            video: tracks(obj.get("video"), VideoTrack::read),
            audio: tracks(obj.get("audio"), AudioTrack::read),
            text: tracks(obj.get("text"), TextTrack::read),
        }
    }

    /// `container.duration`, as written (seconds from v4.3.0 on). Negative values are unknown.
    pub fn duration_seconds(&self) -> Option<f64> {
        self.container
            .as_ref()
            .and_then(|c| c.duration)
            .filter(|d| *d >= 0.0)
    }

    /// The first video track, which the profiler (and §8) treat as "the" video.
    pub fn first_video(&self) -> Option<&VideoTrack> {
        self.video.first()
    }

    /// `video[0].width`.
    pub fn width(&self) -> Option<u64> {
        self.first_video().and_then(|v| v.width)
    }

    /// `video[0].height`.
    pub fn height(&self) -> Option<u64> {
        self.first_video().and_then(|v| v.height)
    }

    /// `video[0].codec`.
    pub fn video_codec(&self) -> Option<&str> {
        self.first_video().and_then(|v| v.codec.as_deref())
    }
}

/// A track list: normally an array; a lone object is taken as a one-track list.
fn tracks<T: Default>(value: Option<&Value>, read: fn(&Fields<'_>) -> T) -> Vec<T> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Object(obj) => read(&Fields(obj)),
                _ => T::default(),
            })
            .collect(),
        Some(Value::Object(obj)) => vec![read(&Fields(obj))],
        _ => Vec::new(),
    }
}

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn text(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(as_text)
    }
    fn float(&self, key: &str) -> Option<f64> {
        self.0.get(key).and_then(as_f64)
    }
    fn count(&self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(as_u64)
    }
}

impl Container {
    fn read(f: &Fields<'_>) -> Container {
        Container {
            format: f.text("format"),
            file_size: f.count("fileSize"),
            duration: f.float("duration"),
            total_bitrate: f.float("totalBitrate"),
            mime_type: f.text("mimeType"),
        }
    }
}

impl VideoTrack {
    fn read(f: &Fields<'_>) -> VideoTrack {
        VideoTrack {
            codec: f.text("codec"),
            profile: f.text("profile"),
            bitrate: f.float("bitrate"),
            duration: f.float("duration"),
            frame_count: f.count("frameCount"),
            width: f.count("width"),
            height: f.count("height"),
            framerate: f.float("framerate"),
            scan_type: f.text("scanType"),
            aspect_ratio: f.text("aspectRatio"),
            bit_depth: f.count("bitDepth"),
            color_space: f.text("colorSpace"),
        }
    }
}

impl AudioTrack {
    fn read(f: &Fields<'_>) -> AudioTrack {
        AudioTrack {
            codec: f.text("codec"),
            profile: f.text("profile"),
            bitrate: f.float("bitrate"),
            duration: f.float("duration"),
            frame_count: f.count("frameCount"),
            bitrate_mode: f.text("bitrateMode"),
            language: f.text("language"),
            channels: f.count("channels"),
            sampling_rate: f.count("samplingRate"),
            sample_per_frame: f.count("samplePerFrame"),
        }
    }
}

impl TextTrack {
    fn read(f: &Fields<'_>) -> TextTrack {
        TextTrack {
            id: f.text("id"),
            format: f.text("format"),
            duration: f.float("duration"),
            frame_count: f.count("frameCount"),
            caption_service_name: f.text("captionServiceName"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_strings_and_wrong_types() {
        let info = MediaInfo::from_value(&json!({
            "container": {"duration": "12.5", "fileSize": "100", "format": 7},
            "video": [{"width": "1920", "height": 1e30, "codec": ["x"], "aspectRatio": 1.778}],
            "text": [{"id": 3}],
            "unknown": true
        }))
        .unwrap();
        assert_eq!(info.duration_seconds(), Some(12.5));
        let c = info.container.as_ref().unwrap();
        assert_eq!(c.file_size, Some(100));
        assert_eq!(c.format.as_deref(), Some("7"));
        assert_eq!(info.width(), Some(1920));
        assert_eq!(info.height(), None);
        assert_eq!(info.video_codec(), None);
        assert_eq!(info.video[0].aspect_ratio.as_deref(), Some("1.778"));
        assert_eq!(info.text[0].id.as_deref(), Some("3"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(matches!(
            MediaInfo::from_value(&json!("{not json")),
            Err(MediaInfoError::NotJson(_))
        ));
        assert_eq!(
            MediaInfo::from_value(&json!("[1]")),
            Err(MediaInfoError::NotAnObject("a list"))
        );
        assert_eq!(
            MediaInfo::from_value(&json!(5)),
            Err(MediaInfoError::NotAnObject("a number"))
        );
    }

    #[test]
    fn non_object_track_keeps_its_index() {
        let info = MediaInfo::from_value(&json!({"video": [5, {"width": 640}]})).unwrap();
        assert_eq!(info.video.len(), 2);
        assert_eq!(info.width(), None);
    }
}
