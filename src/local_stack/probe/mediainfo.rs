//! The MediaInfo mapping: `mediainfo --Output=JSON` output turned into `srcMediainfo` exactly as
//! `source/mediainfo/lambda_function.py@v6.1.13` does it (its track loop and attribute functions,
//! verbatim, with Python's error messages).

use std::path::Path;

use serde_json::Value;

use super::python::{
    PyResult, compact, json_loads, parse_number, py_getitem, py_str, py_type_name,
};
use super::{ProbeError, SrcMediainfo, Tool};
use crate::local_stack::python_json::PyValue;

/// Maps `mediainfo --Output=JSON` output as the Lambda does. `file` is only for error messages.
pub(crate) fn map_mediainfo_output(
    stdout: &[u8],
    file: &Path,
    src_video: &str,
) -> Result<SrcMediainfo, ProbeError> {
    mediainfo_metadata(stdout, src_video)
        .map(|metadata| SrcMediainfo::from_py(&metadata))
        .map_err(|message| ProbeError::Mapping {
            tool: Tool::Mediainfo,
            file: file.to_path_buf(),
            message,
        })
}

fn mediainfo_metadata(stdout: &[u8], src_video: &str) -> PyResult<PyValue> {
    let mut metadata = PyValue::dict();
    metadata.set("filename", PyValue::Str(src_video.to_owned()));
    let json_content = json_loads(stdout)?;
    let tracks = py_getitem(py_getitem(&json_content, "media")?, "track")?;
    let mut video = Vec::new();
    let mut audio = Vec::new();
    let mut text = Vec::new();
    // `setdefault` puts each array key where its first track is met; `set` keeps that position.
    let items: Vec<Value> = match tracks {
        Value::Array(items) => items.clone(),
        // Iterating a dict gives its keys, a str its characters: both then fail on `track['@type']`.
        Value::Object(map) => map.keys().cloned().map(Value::String).collect(),
        Value::String(s) => s.chars().map(|c| Value::String(c.to_string())).collect(),
        other => {
            return Err(format!("'{}' object is not iterable", py_type_name(other)));
        }
    };
    for track in &items {
        let track_type = py_getitem(track, "@type")?;
        match track_type.as_str() {
            Some("General") => {
                metadata.set("container", general_attributes(track)?);
            }
            Some("Video") => {
                video.push(video_attributes(track)?);
                metadata.set("video", PyValue::List(video.clone()));
            }
            Some("Audio") => {
                audio.push(audio_attributes(track)?);
                metadata.set("audio", PyValue::List(audio.clone()));
            }
            Some("Text") => {
                text.push(text_attributes(track)?);
                metadata.set("text", PyValue::List(text.clone()));
            }
            _ => {} // "Unsupported: …" is only printed.
        }
    }
    Ok(metadata)
}

/// `track.get(key)` stored as is.
fn copy(track: &Value, key: &str) -> PyValue {
    track
        .get(key)
        .map(PyValue::from_json)
        .unwrap_or(PyValue::None)
}

fn common_attributes(track: &Value) -> PyResult<PyValue> {
    let mut attributes = PyValue::dict();
    attributes.set("codec", copy(track, "Format"));
    let level = match track.get("Format_Level") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Value::String(format!("L{s}"))),
        Some(other) => {
            return Err(format!(
                "can only concatenate str (not \"{}\") to str",
                py_type_name(other)
            ));
        }
    };
    let values: Vec<&Value> = [
        track.get("Format_Profile"),
        level.as_ref(),
        track.get("Format_Tier"),
    ]
    .into_iter()
    .flatten()
    .filter(|v| !v.is_null())
    .collect();
    let mut parts = Vec::new();
    for (n, v) in values.iter().enumerate() {
        match v {
            Value::String(s) => parts.push(s.as_str()),
            other => {
                return Err(format!(
                    "sequence item {n}: expected str instance, {} found",
                    py_type_name(other)
                ));
            }
        }
    }
    let profile = parts.join("@");
    if !profile.is_empty() {
        attributes.set("profile", PyValue::Str(profile));
    }
    attributes.set("bitrate", parse_number(track.get("BitRate"))?);
    attributes.set("duration", parse_number(track.get("Duration"))?);
    attributes.set("frameCount", parse_number(track.get("FrameCount"))?);
    Ok(attributes)
}

fn general_attributes(track: &Value) -> PyResult<PyValue> {
    let mut attributes = PyValue::dict();
    attributes.set("format", copy(track, "Format"));
    attributes.set("fileSize", parse_number(track.get("FileSize"))?);
    attributes.set("duration", parse_number(track.get("Duration"))?);
    attributes.set("totalBitrate", parse_number(track.get("OverallBitRate"))?);
    Ok(compact(attributes))
}

fn video_attributes(track: &Value) -> PyResult<PyValue> {
    let mut attributes = common_attributes(track)?;
    attributes.set("width", parse_number(track.get("Width"))?);
    attributes.set("height", parse_number(track.get("Height"))?);
    attributes.set("framerate", parse_number(track.get("FrameRate"))?);
    attributes.set("scanType", copy(track, "ScanType"));
    attributes.set("aspectRatio", copy(track, "DisplayAspectRatio"));
    attributes.set("bitDepth", parse_number(track.get("BitDepth"))?);
    attributes.set(
        "colorSpace",
        PyValue::Str(format!(
            "{} {}",
            py_str(track.get("ColorSpace")),
            py_str(track.get("ChromaSubsampling"))
        )),
    );
    Ok(compact(attributes))
}

fn audio_attributes(track: &Value) -> PyResult<PyValue> {
    let mut attributes = common_attributes(track)?;
    attributes.set("bitrateMode", copy(track, "BitRate_Mode"));
    attributes.set("language", copy(track, "Language"));
    attributes.set("channels", parse_number(track.get("Channels"))?);
    attributes.set("samplingRate", parse_number(track.get("SamplingRate"))?);
    attributes.set(
        "samplePerFrame",
        parse_number(track.get("SamplesPerFrame"))?,
    );
    Ok(compact(attributes))
}

fn text_attributes(track: &Value) -> PyResult<PyValue> {
    let mut attributes = PyValue::dict();
    attributes.set("id", copy(track, "ID"));
    attributes.set("format", copy(track, "Format"));
    attributes.set("duration", parse_number(track.get("Duration"))?);
    attributes.set("frameCount", parse_number(track.get("Count"))?);
    // Upstream runs parse_number on this too, so a name such as "CC1" fails the Lambda.
    attributes.set(
        "captionServiceName",
        parse_number(track.get("CaptionServiceName"))?,
    );
    Ok(compact(attributes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(json_text: &str) -> Result<SrcMediainfo, ProbeError> {
        map_mediainfo_output(json_text.as_bytes(), Path::new("f.mp4"), "k/f.mp4")
    }

    #[test]
    fn python_errors_for_bad_mediainfo_output() {
        let message = |t: &str| map(t).expect_err(t).lambda_message();
        assert_eq!(message(""), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(
            message("\n \n"),
            "Expecting value: line 3 column 1 (char 3)"
        );
        assert_eq!(
            message("Usage: mediainfo"),
            "Expecting value: line 1 column 1 (char 0)"
        );
        assert_eq!(
            message(r#"{"media": null}"#),
            "'NoneType' object is not subscriptable"
        );
        assert_eq!(message(r#"{"x": 1}"#), "'media'");
        assert_eq!(message(r#"{"media": {}}"#), "'track'");
        assert_eq!(message(r#"{"media": {"track": [{}]}}"#), "'@type'");
        assert_eq!(
            message(r#"{"media": {"track": [{"@type": "Video", "Width": "abc"}]}}"#),
            "could not convert string to float: 'abc'"
        );
        assert_eq!(
            message(r#"{"media": {"track": [{"@type": "Text", "CaptionServiceName": "CC1"}]}}"#),
            "could not convert string to float: 'CC1'"
        );
        assert_eq!(
            message(r#"{"media": {"track": 3}}"#),
            "'int' object is not iterable"
        );
    }

    #[test]
    fn mediainfo_mapping_is_verbatim() {
        // A hand-made MediaInfo document exercising every rule; expected text from the Lambda's code
        // run under CPython 3.11.
        let doc = r#"{"media": {"track": [
            {"@type": "General", "Format": "MPEG-4", "FileSize": "187654321", "Duration": "95.428",
             "OverallBitRate": "15731594"},
            {"@type": "Menu"},
            {"@type": "Video", "Format": "HEVC", "Format_Profile": "Main", "Format_Level": "4",
             "Format_Tier": "Main", "BitRate": "15533062", "Duration": "95.428", "FrameCount": "2860",
             "Width": "1920", "Height": "1080", "FrameRate": "29.970", "ScanType": "Progressive",
             "DisplayAspectRatio": "1.778", "BitDepth": "8", "ColorSpace": "YUV",
             "ChromaSubsampling": "4:2:0"},
            {"@type": "Video", "Format": "VP9", "Width": " 1_0 ", "FrameRate": "1e3", "Format_Level": "2"},
            {"@type": "Audio", "Format": "AAC", "BitRate": "173625", "Duration": "95.412",
             "FrameCount": "4109", "BitRate_Mode": "VBR", "Channels": "2", "SamplingRate": "44100",
             "SamplesPerFrame": "1024", "Language": "en"},
            {"@type": "Text", "ID": "3", "Format": "Timed Text", "Duration": "1.000", "Count": "2",
             "CaptionServiceName": "7"}
        ]}}"#;
        let info = map(doc).expect("maps");
        let expected = r#"{
  "filename": "k/f.mp4",
  "container": {
    "format": "MPEG-4",
    "fileSize": 187654321,
    "duration": 95.428,
    "totalBitrate": 15731594
  },
  "video": [
    {
      "codec": "HEVC",
      "profile": "Main@L4@Main",
      "bitrate": 15533062,
      "duration": 95.428,
      "frameCount": 2860,
      "width": 1920,
      "height": 1080,
      "framerate": 29.97,
      "scanType": "Progressive",
      "aspectRatio": "1.778",
      "bitDepth": 8,
      "colorSpace": "YUV 4:2:0"
    },
    {
      "codec": "VP9",
      "profile": "L2",
      "width": 10,
      "framerate": 1000.0,
      "colorSpace": "None None"
    }
  ],
  "audio": [
    {
      "codec": "AAC",
      "bitrate": 173625,
      "duration": 95.412,
      "frameCount": 4109,
      "bitrateMode": "VBR",
      "language": "en",
      "channels": 2,
      "samplingRate": 44100,
      "samplePerFrame": 1024
    }
  ],
  "text": [
    {
      "id": "3",
      "format": "Timed Text",
      "duration": 1.0,
      "frameCount": 2,
      "captionServiceName": 7
    }
  ]
}"#;
        assert_eq!(info.text, expected);
        assert_eq!(info.video_height(), Some(1080));
    }
}
