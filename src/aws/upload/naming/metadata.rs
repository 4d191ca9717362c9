//! The metadata file that starts a workflow on MetadataFile stacks: its key ([`metadata_key`]), its
//! JSON document ([`metadata_document`]) with the fields and values the solution would misread refused,
//! and `key=value` pairs from the command line ([`parse_metadata_pair`]).

use serde_json::{Map, Value};

use crate::contract::record_metadata::stored_name;

use super::NamingError;
use crate::contract::dynamo_names::unquoted_name_problem;

/// The key of the metadata file for `video_key`: the key without its last extension, plus `.json`
/// in lower case (only lower-case `.json` starts a metadata workflow). `clips/a.mp4` →
/// `clips/a.json`; a key without an extension gets `.json` appended.
pub fn metadata_key(video_key: &str) -> String {
    let segment_start = video_key.rfind('/').map_or(0, |slash| slash + 1);
    let segment = video_key.get(segment_start..).unwrap_or_default();
    match segment.rfind('.') {
        // A dot at the start of the last segment (`.mp4`) leaves no stem; keep it, as for a key
        // without an extension.
        Some(dot) if dot > 0 => {
            let stem = video_key.get(..segment_start + dot).unwrap_or(video_key);
            format!("{stem}.json")
        }
        _ => format!("{video_key}.json"),
    }
}

/// Metadata fields that must not appear in a metadata file (contract §3, §8): the solution copies
/// every key into the workflow record, so these would overwrite what it records itself, or make
/// readers see a status, error or URL the workflow never produced.
const RESERVED_METADATA_KEYS: [&str; 8] = [
    "srcVideo",
    "guid",
    "workflowStatus",
    "status",
    "startTime",
    "errorMessage",
    "srcMediainfo",
    "egressEndpoints",
];
/// Suffixes of the record's URL and playlist fields (`hlsUrl`, `mp4Urls`, `hlsPlaylist`, ...).
const RESERVED_METADATA_SUFFIXES: [&str; 3] = ["Url", "Urls", "Playlist"];
/// The exact values acceleratedTranscoding accepts; anything else makes a Choice state without a
/// default branch fail, and the workflow stalls without any notification (contract §1).
const ACCELERATED_TRANSCODING_VALUES: [&str; 3] = ["ENABLED", "PREFERRED", "DISABLED"];

/// The metadata file for `video_key`: `{"srcVideo": video_key, ...extra}`.
///
/// `srcVideo` is the raw key, exactly as uploaded. Extra values become JSON booleans or numbers when
/// they are exactly one (`frameCapture=true` → `true`, `2` → `2`), otherwise strings. Refused: keys
/// that would overwrite what the solution records or confuse readers ([`RESERVED_METADATA_KEYS`],
/// any key ending in `Url`, `Urls` or `Playlist`), including `srcVideo` itself; two keys the solution
/// would store under the same name; keys whose stored name the solution's dynamo step cannot write
/// inline (a DynamoDB reserved word such as `name`, or not a plain identifier, such as `my-key`:
/// [`unquoted_name_problem`]); and the two values that silently stall a workflow:
/// a non-boolean `frameCapture` and an `acceleratedTranscoding` other than
/// ENABLED/PREFERRED/DISABLED. Keys are judged as the solution stores them, with the first letter
/// lower-cased (`FrameCapture` is `frameCapture`, `SrcVideo` would overwrite `srcVideo`).
pub fn metadata_document(
    video_key: &str,
    extra: &[(String, String)],
) -> Result<Value, NamingError> {
    let unsuitable = |reason: &str| NamingError::UnsuitableVideoKey {
        key: video_key.to_owned(),
        reason: reason.to_owned(),
    };
    if video_key.is_empty() {
        return Err(unsuitable(
            "it is empty, and the solution needs a non-empty srcVideo; give the video's key",
        ));
    }
    // A MetadataFile bucket fires on every key ending in `json`: the video upload itself would start
    // a broken metadata workflow, and its metadata file could even be the same key.
    if video_key.ends_with("json") {
        return Err(unsuitable(
            "it ends in \"json\", so on a MetadataFile stack uploading the video would itself be taken for a \
             metadata file; give the video key its real extension, e.g. .mp4",
        ));
    }

    let mut document = Map::new();
    document.insert("srcVideo".to_owned(), Value::String(video_key.to_owned()));
    // Record field name → the key as the user wrote it, to report collisions in their words.
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (key, value) in extra {
        let field = stored_name(key);
        if key.is_empty() {
            return Err(NamingError::MetadataKeyNotAllowed {
                key: key.clone(),
                reason: "it is empty; write key=value".to_owned(),
            });
        }
        if let Some(reason) = reserved_reason(key, &field) {
            return Err(NamingError::MetadataKeyNotAllowed {
                key: key.clone(),
                reason,
            });
        }
        if let Some(problem) = unquoted_name_problem(&field) {
            return Err(NamingError::MetadataKeyNotAllowed {
                key: key.clone(),
                reason: format!(
                    "{problem}; the solution writes metadata keys unquoted, so the workflow would fail at \
                     its dynamo step: use e.g. {}",
                    name_suggestion(&field)
                ),
            });
        }
        if let Some((_, first)) = seen.iter().find(|(existing, _)| *existing == field) {
            return Err(NamingError::MetadataDuplicate {
                first: (*first).to_owned(),
                second: key.clone(),
            });
        }
        let parsed = metadata_value(value);
        check_metadata_value(key, &field, value, &parsed)?;
        seen.push((field, key));
        document.insert(key.clone(), parsed);
    }
    Ok(Value::Object(document))
}

fn reserved_reason(key: &str, field: &str) -> Option<String> {
    if field == "srcVideo" {
        return Some(if key == "srcVideo" {
            "vodesk sets srcVideo to the uploaded video's key itself; remove this pair".to_owned()
        } else {
            format!(
                "the solution stores it as srcVideo, which vodesk sets to the uploaded video's key; remove {key}"
            )
        });
    }
    if RESERVED_METADATA_KEYS.contains(&field) {
        return Some(format!(
            "the solution copies it verbatim into the workflow record as {field}, where it would overwrite or \
             contradict what the workflow records itself; use another name, e.g. a title or note field"
        ));
    }
    if RESERVED_METADATA_SUFFIXES
        .iter()
        .any(|suffix| field.ends_with(suffix))
    {
        return Some(format!(
            "names ending in Url, Urls or Playlist are the workflow's output fields, and {field} would be \
             taken for an output the workflow never produced; use another name"
        ));
    }
    None
}

/// Names to use instead of `field`, which DynamoDB cannot take inline: its words in camelCase when
/// that is a usable name, else a name prefixed with `video` (`year` → `videoYear`).
fn name_suggestion(field: &str) -> String {
    if field.eq_ignore_ascii_case("name") {
        return "`title` or `videoName`".to_owned();
    }
    let words: Vec<String> = field
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(i, word)| {
            if i == 0 {
                word.to_owned()
            } else {
                capitalized(word)
            }
        })
        .collect();
    let camel = words.concat();
    if !camel.is_empty() && unquoted_name_problem(&camel).is_none() {
        return format!("`{camel}`");
    }
    let prefixed = format!("video{}", capitalized(&camel));
    if unquoted_name_problem(&prefixed).is_none() {
        format!("`{prefixed}`")
    } else {
        "`title` or `videoNote`".to_owned()
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A JSON boolean or number when `value` is exactly one, otherwise the string.
fn metadata_value(value: &str) -> Value {
    if value.trim() == value
        && let Ok(parsed) = serde_json::from_str::<Value>(value)
        && (parsed.is_boolean() || parsed.is_number())
    {
        return parsed;
    }
    Value::String(value.to_owned())
}

fn check_metadata_value(
    key: &str,
    field: &str,
    raw: &str,
    parsed: &Value,
) -> Result<(), NamingError> {
    let refuse = |reason: &str| NamingError::MetadataValueNotAllowed {
        key: key.to_owned(),
        value: raw.to_owned(),
        reason: reason.to_owned(),
    };
    match field {
        "frameCapture" if !parsed.is_boolean() => Err(refuse(
            "frameCapture must be true or false; any other value makes the workflow stall without a notification",
        )),
        "acceleratedTranscoding" if !ACCELERATED_TRANSCODING_VALUES.contains(&raw) => Err(refuse(
            "acceleratedTranscoding must be exactly ENABLED, PREFERRED or DISABLED; any other value makes the \
             workflow stall without a notification",
        )),
        _ => Ok(()),
    }
}

/// Splits a `key=value` command-line argument at the first `=`. The key is trimmed and must not be
/// empty; the value is kept as written (it may be empty or contain `=`).
pub fn parse_metadata_pair(input: &str) -> Result<(String, String), NamingError> {
    let (key, value) = input
        .split_once('=')
        .ok_or_else(|| NamingError::MetadataPair {
            input: input.to_owned(),
        })?;
    let key = key.trim();
    if key.is_empty() {
        return Err(NamingError::MetadataPair {
            input: input.to_owned(),
        });
    }
    Ok((key.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_key_replaces_the_last_extension() {
        let cases = [
            (
                "studio/launch-keynote-2025.mp4",
                "studio/launch-keynote-2025.json",
            ),
            ("a.b.MOV", "a.b.json"),
            ("noext", "noext.json"),
            ("dir.v2/noext", "dir.v2/noext.json"),
            ("dir/.mp4", "dir/.mp4.json"),
            ("uploads/Café Night.mov", "uploads/Café Night.json"),
        ];
        for (video, expected) in cases {
            assert_eq!(metadata_key(video), expected, "{video}");
        }
    }

    #[test]
    fn metadata_document_matches_the_contract_example() {
        let extra = vec![
            ("frameCapture".to_owned(), "true".to_owned()),
            (
                "jobTemplate".to_owned(),
                "vodesk-all-groups-1080p".to_owned(),
            ),
            ("title".to_owned(), "Launch Keynote 2025".to_owned()),
            ("Presenter".to_owned(), "Dana Ruiz".to_owned()),
        ];
        let doc = metadata_document("studio/launch-keynote-2025.mp4", &extra).unwrap();
        assert_eq!(
            doc,
            json!({"srcVideo": "studio/launch-keynote-2025.mp4", "frameCapture": true,
                   "jobTemplate": "vodesk-all-groups-1080p", "title": "Launch Keynote 2025",
                   "Presenter": "Dana Ruiz"})
        );
        assert_eq!(
            metadata_document("a b/Año.mov", &[]).unwrap(),
            json!({"srcVideo": "a b/Año.mov"})
        );
    }

    #[test]
    fn metadata_values_are_typed_only_when_exactly_json_scalars() {
        let pairs = [
            ("true", json!(true)),
            ("false", json!(false)),
            ("42", json!(42)),
            ("-1.5", json!(-1.5)),
            ("null", json!("null")),
            ("True", json!("True")),
            (" true", json!(" true")),
            ("007", json!("007")),
            ("\"quoted\"", json!("\"quoted\"")),
            ("[1]", json!("[1]")),
            ("", json!("")),
            ("GLACIER", json!("GLACIER")),
        ];
        for (raw, expected) in pairs {
            let doc = metadata_document("a.mp4", &[("note".to_owned(), raw.to_owned())]).unwrap();
            assert_eq!(doc["note"], expected, "{raw:?}");
        }
    }

    #[test]
    fn metadata_refuses_reserved_keys() {
        let refused = [
            "srcVideo",
            "SrcVideo",
            "guid",
            "Guid",
            "workflowStatus",
            "WorkflowStatus",
            "status",
            "startTime",
            "errorMessage",
            "srcMediainfo",
            "egressEndpoints",
            "hlsUrl",
            "HlsUrl",
            "mp4Urls",
            "thumbNailsUrls",
            "thumbNailUrl",
            "hlsPlaylist",
            "cmafDashPlaylist",
        ];
        for key in refused {
            let err = metadata_document("a.mp4", &[(key.to_owned(), "x".to_owned())]).unwrap_err();
            assert!(
                matches!(err, NamingError::MetadataKeyNotAllowed { .. }),
                "{key}: {err:?}"
            );
            assert!(err.to_string().contains(key), "{err}");
        }
        // Similar but harmless names pass.
        for key in [
            "title",
            "urlNote",
            "playlistName",
            "statusNote",
            "SRCVIDEO",
            "GUID",
        ] {
            assert!(
                metadata_document("a.mp4", &[(key.to_owned(), "x".to_owned())]).is_ok(),
                "{key}"
            );
        }
        let err = metadata_document("a.mp4", &[(String::new(), "x".to_owned())]).unwrap_err();
        assert!(matches!(err, NamingError::MetadataKeyNotAllowed { .. }));
    }

    #[test]
    fn metadata_refuses_keys_the_dynamo_step_cannot_write() {
        let err = metadata_document("a.mp4", &[("Name".to_owned(), "x".to_owned())]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "metadata key \"Name\" is not allowed: DynamoDB reserves `name`; the solution writes metadata \
             keys unquoted, so the workflow would fail at its dynamo step: use e.g. `title` or `videoName`"
        );
        for (key, suggestion) in [
            ("my-key", "`myKey`"),
            ("two words", "`twoWords`"),
            ("Year", "`videoYear`"),
            ("language", "`videoLanguage`"),
            ("comment", "`videoComment`"),
            ("a.b", "`aB`"),
            ("1st", "`video1st`"),
        ] {
            let err = metadata_document("a.mp4", &[(key.to_owned(), "x".to_owned())]).unwrap_err();
            assert!(
                matches!(err, NamingError::MetadataKeyNotAllowed { .. }),
                "{key}: {err:?}"
            );
            let text = err.to_string();
            assert!(text.contains("dynamo step"), "{text}");
            assert!(text.ends_with(suggestion), "{key}: {text}");
        }
        // The contract's example keys, and the overrides vodesk writes, pass.
        for key in [
            "title",
            "presenter",
            "Presenter",
            "jobTemplate",
            "jobTemplate_1080p",
            "frameCapture",
            "archiveSource",
            "videoName",
        ] {
            assert!(
                metadata_document("a.mp4", &[(key.to_owned(), "true".to_owned())]).is_ok(),
                "{key}"
            );
        }
    }

    #[test]
    fn metadata_refuses_keys_the_solution_would_merge() {
        let extra = vec![
            ("title".to_owned(), "a".to_owned()),
            ("Title".to_owned(), "b".to_owned()),
        ];
        let err = metadata_document("a.mp4", &extra).unwrap_err();
        assert_eq!(
            err,
            NamingError::MetadataDuplicate {
                first: "title".to_owned(),
                second: "Title".to_owned()
            }
        );
        let extra = vec![
            ("note".to_owned(), "a".to_owned()),
            ("note".to_owned(), "b".to_owned()),
        ];
        assert!(metadata_document("a.mp4", &extra).is_err());
    }

    #[test]
    fn metadata_refuses_values_that_stall_the_workflow() {
        for (key, value) in [
            ("frameCapture", "yes"),
            ("FrameCapture", "1"),
            ("frameCapture", "\"true\""),
            ("acceleratedTranscoding", "enabled"),
            ("AcceleratedTranscoding", "ON"),
        ] {
            let err =
                metadata_document("a.mp4", &[(key.to_owned(), value.to_owned())]).unwrap_err();
            assert!(
                matches!(err, NamingError::MetadataValueNotAllowed { .. }),
                "{key}={value}"
            );
            assert!(err.to_string().contains("stall"), "{err}");
        }
        for (key, value) in [
            ("frameCapture", "false"),
            ("acceleratedTranscoding", "PREFERRED"),
            ("AcceleratedTranscoding", "DISABLED"),
        ] {
            assert!(metadata_document("a.mp4", &[(key.to_owned(), value.to_owned())]).is_ok());
        }
    }

    #[test]
    fn metadata_refuses_unsuitable_video_keys() {
        for key in ["", "a.json", "clipjson", "x/y.json"] {
            let err = metadata_document(key, &[]).unwrap_err();
            assert!(
                matches!(err, NamingError::UnsuitableVideoKey { .. }),
                "{key:?}"
            );
        }
        // Only the exact, case-sensitive ending fires the bucket's filter.
        assert!(metadata_document("a.JSON.mp4", &[]).is_ok());
        assert!(metadata_document("a.JSON", &[]).is_ok());
    }

    #[test]
    fn metadata_pairs_parse() {
        assert_eq!(
            parse_metadata_pair("frameCapture=true"),
            Ok(("frameCapture".to_owned(), "true".to_owned()))
        );
        assert_eq!(
            parse_metadata_pair("title=My Film = Part 2"),
            Ok(("title".to_owned(), "My Film = Part 2".to_owned()))
        );
        assert_eq!(
            parse_metadata_pair(" note =x"),
            Ok(("note".to_owned(), "x".to_owned()))
        );
        assert_eq!(
            parse_metadata_pair("empty="),
            Ok(("empty".to_owned(), String::new()))
        );
        for bad in ["", "novalue", "=x", "  =x"] {
            let err = parse_metadata_pair(bad).unwrap_err();
            assert!(matches!(err, NamingError::MetadataPair { .. }), "{bad:?}");
            assert!(err.to_string().contains("key=value"), "{err}");
        }
    }
}
