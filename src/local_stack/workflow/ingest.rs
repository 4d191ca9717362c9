//! The workflow's first Lambdas: step-functions (decoding the event's key, choosing the trigger
//! kind), input-validate (the record's defaults, the source key or the metadata file merged in) and
//! the profiler (the profile, frame-capture size and job template from `srcMediainfo`).

use serde_json::{Value, json};

use super::{LambdaFailure, Record, StackContext, is_truthy};
use crate::contract::record_metadata::stored_name;

/// step-functions: `+` becomes a space, then `decodeURIComponent` (which throws `URIError` on a
/// malformed escape or bytes that are not UTF-8).
pub(crate) fn decode_event_key(raw: &str) -> Result<String, LambdaFailure> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| LambdaFailure::new("step-functions", "URIError: URI malformed"))
        .and_then(|key| {
            // decodeURIComponent also rejects a `%` not followed by two hex digits.
            if has_malformed_escape(&spaced) {
                Err(LambdaFailure::new(
                    "step-functions",
                    "URIError: URI malformed",
                ))
            } else {
                Ok(key)
            }
        })
}

fn has_malformed_escape(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// step-functions: `Metadata` when the text after the last `.` is exactly `json`, else `Video`.
pub(crate) fn workflow_trigger_for_key(key: &str) -> &'static str {
    match key.rsplit_once('.') {
        Some((_, "json")) => "Metadata",
        _ => "Video",
    }
}

/// input-validate's defaults, before the source key (Video) or the metadata merge (Metadata).
pub(crate) fn input_validate(
    context: &StackContext,
    guid: &str,
    start_time: &str,
    workflow_trigger: &str,
) -> Record {
    let mut record = Record::new();
    let mut set = |key: &str, value: Value| {
        record.insert(key.to_owned(), value);
    };
    set("guid", json!(guid));
    set("startTime", json!(start_time));
    set("workflowTrigger", json!(workflow_trigger));
    set("workflowStatus", json!("Ingest"));
    set("workflowName", json!(context.stack_name));
    set("srcBucket", json!(context.source_bucket));
    set("destBucket", json!(context.destination_bucket));
    set("cloudFront", json!(context.cloudfront_domain));
    set("frameCapture", json!(context.frame_capture));
    set("archiveSource", json!(context.archive_source));
    set("jobTemplate_2160p", json!(context.template_name(2160)));
    set("jobTemplate_1080p", json!(context.template_name(1080)));
    set("jobTemplate_720p", json!(context.template_name(720)));
    set("inputRotate", json!("DEGREE_0"));
    set("acceleratedTranscoding", json!("PREFERRED"));
    set("enableSns", json!(context.enable_sns));
    set("enableSqs", json!(context.enable_sqs));
    record
}

/// input-validate, Video mode: the decoded key is the source, then the stack's MediaPackage flag.
pub(crate) fn apply_video_key(context: &StackContext, record: &mut Record, key: &str) {
    record.insert("srcVideo".into(), json!(key));
    record.insert(
        "enableMediaPackage".into(),
        json!(context.enable_media_package),
    );
}

/// input-validate, Metadata mode: parse the file, require a truthy `srcVideo` (exact spelling, tested
/// before normalisation), copy every key with its first character lower-cased, then re-apply the
/// stack's MediaPackage flag. The caller must then check that `srcVideo` exists (HeadObject).
pub(crate) fn apply_metadata(
    context: &StackContext,
    record: &mut Record,
    metadata_key: &str,
    body: &[u8],
) -> Result<(), LambdaFailure> {
    record.insert("srcMetadataFile".into(), json!(metadata_key));
    let parsed: Value = serde_json::from_slice(body).map_err(|e| {
        LambdaFailure::new(
            "input-validate",
            format!("SyntaxError: {} in JSON at line {}", e, e.line()),
        )
    })?;
    let truthy = |v: Option<&Value>| match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(_) => true,
    };
    if !truthy(parsed.get("srcVideo")) {
        return Err(LambdaFailure::new(
            "input-validate",
            "Error: srcVideo is not defined in metadata::",
        ));
    }
    if let Value::Object(fields) = parsed {
        for (key, value) in fields {
            record.insert(stored_name(&key), value);
        }
    }
    record.insert(
        "enableMediaPackage".into(),
        json!(context.enable_media_package),
    );
    Ok(())
}

/// The profile for a source height: the nearest of 2160/1080/720, the lower one on a tie (profiler).
pub(super) fn encoding_profile(height: f64) -> u32 {
    let mut chosen = 2160;
    let mut last: Option<f64> = None;
    for profile in [2160u32, 1080, 720] {
        let distance = (height - f64::from(profile)).abs();
        if last.is_some_and(|l| distance > l) {
            break;
        }
        chosen = profile;
        last = Some(distance);
    }
    chosen
}

/// profiler: `srcHeight`/`srcWidth` from `video[0]`, the profile, frame-capture size and the template.
/// A source without a video track fails as the Node Lambda does, with a `TypeError`.
pub(crate) fn profile(record: &mut Record) -> Result<u32, LambdaFailure> {
    let info: Value = record
        .get("srcMediainfo")
        .and_then(Value::as_str)
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| LambdaFailure::new("profiler", format!("SyntaxError: {e}")))?
        .unwrap_or(Value::Null);
    let Some(video) = info.get("video").and_then(|v| v.get(0)) else {
        return Err(LambdaFailure::new(
            "profiler",
            "TypeError: Cannot read properties of undefined (reading '0')",
        ));
    };
    let height = video.get("height").cloned().unwrap_or(Value::Null);
    let width = video.get("width").cloned().unwrap_or(Value::Null);
    let profile = encoding_profile(height.as_f64().unwrap_or(f64::NAN));
    record.insert("srcHeight".into(), height);
    record.insert("srcWidth".into(), width);
    record.insert("encodingProfile".into(), json!(profile));
    if record.get("frameCapture").is_some_and(is_truthy) {
        let width = match profile {
            2160 => 3840,
            1080 => 1920,
            _ => 1280,
        };
        record.insert("frameCaptureHeight".into(), json!(profile));
        record.insert("frameCaptureWidth".into(), json!(width));
    }
    let custom = record.get("jobTemplate").is_some_and(is_truthy);
    if !custom {
        let template = record
            .get(&format!("jobTemplate_{profile}p"))
            .cloned()
            .unwrap_or(Value::Null);
        record.insert("jobTemplate".into(), template);
    }
    record.insert("isCustomTemplate".into(), json!(custom));
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_stack::workflow::tests::context;

    #[test]
    fn event_keys_are_decoded_as_step_functions_does() {
        assert_eq!(
            decode_event_key("uploads/Caf%C3%A9+Opening+Night.MOV").unwrap(),
            "uploads/Café Opening Night.MOV"
        );
        assert_eq!(decode_event_key("a%2Fb%2B1.mp4").unwrap(), "a/b+1.mp4");
        assert_eq!(
            decode_event_key("bad%zz.mp4").unwrap_err().message,
            "URIError: URI malformed"
        );
        assert!(decode_event_key("bad%ff.mp4").is_err());
    }

    #[test]
    fn trigger_kind_follows_the_last_extension() {
        assert_eq!(workflow_trigger_for_key("a/b.json"), "Metadata");
        assert_eq!(workflow_trigger_for_key("a/b.JSON"), "Video");
        assert_eq!(workflow_trigger_for_key("a/foojson"), "Video");
        assert_eq!(workflow_trigger_for_key("a/b.mp4"), "Video");
    }

    #[test]
    fn record_has_the_input_validate_fields() {
        let ctx = context();
        let mut record = input_validate(&ctx, "g-1", "2026-11-25T10:00:00.000Z", "Video");
        apply_video_key(&ctx, &mut record, "uploads/x.mp4");
        assert_eq!(record["workflowName"], "vod-local");
        assert_eq!(
            record["jobTemplate_720p"],
            "vod-local_Ott_720p_Avc_Aac_16x9_qvbr_no_preset"
        );
        assert_eq!(record["frameCapture"], true);
        assert_eq!(record["enableMediaPackage"], false);
        assert_eq!(record["inputRotate"], "DEGREE_0");
        assert_eq!(record["archiveSource"], "DISABLED");
        assert_eq!(record["acceleratedTranscoding"], "PREFERRED");
        assert_eq!(record.len(), 19);
    }

    #[test]
    fn metadata_merge_lower_cases_the_first_letter_and_needs_exact_src_video() {
        let ctx = context();
        let mut record = input_validate(&ctx, "g", "t", "Metadata");
        let body =
            br#"{"srcVideo":"v.mp4","FrameCapture":false,"Title":"T","enableMediaPackage":true}"#;
        apply_metadata(&ctx, &mut record, "v.json", body).unwrap();
        assert_eq!(record["srcVideo"], "v.mp4");
        assert_eq!(record["frameCapture"], false);
        assert_eq!(record["title"], "T");
        assert_eq!(record["enableMediaPackage"], false);
        assert_eq!(record["srcMetadataFile"], "v.json");
        let mut other = input_validate(&ctx, "g", "t", "Metadata");
        let failure =
            apply_metadata(&ctx, &mut other, "v.json", br#"{"SrcVideo":"v.mp4"}"#).unwrap_err();
        assert_eq!(
            failure.message,
            "Error: srcVideo is not defined in metadata::"
        );
        assert!(
            apply_metadata(&ctx, &mut other, "v.json", b"not json")
                .unwrap_err()
                .message
                .starts_with("SyntaxError")
        );
    }

    #[test]
    fn profile_is_the_nearest_with_ties_going_down() {
        assert_eq!(encoding_profile(1080.0), 1080);
        assert_eq!(encoding_profile(1620.0), 1080);
        assert_eq!(encoding_profile(900.0), 720);
        assert_eq!(encoding_profile(1920.0), 2160);
        assert_eq!(encoding_profile(480.0), 720);
        assert_eq!(encoding_profile(4320.0), 2160);
    }

    #[test]
    fn profiler_sets_sizes_template_and_frame_capture() {
        let ctx = context();
        let mut record = input_validate(&ctx, "g", "t", "Video");
        record.insert(
            "srcMediainfo".into(),
            json!(r#"{"video":[{"width":1280,"height":720}]}"#),
        );
        assert_eq!(profile(&mut record).unwrap(), 720);
        assert_eq!(record["srcWidth"], 1280);
        assert_eq!(record["encodingProfile"], 720);
        assert_eq!(record["frameCaptureWidth"], 1280);
        assert_eq!(record["jobTemplate"], ctx.template_name(720));
        assert_eq!(record["isCustomTemplate"], false);
        let mut audio_only = input_validate(&ctx, "g", "t", "Video");
        audio_only.insert("srcMediainfo".into(), json!(r#"{"audio":[{}]}"#));
        assert_eq!(
            profile(&mut audio_only).unwrap_err().message,
            "TypeError: Cannot read properties of undefined (reading '0')"
        );
    }
}
