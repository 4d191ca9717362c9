//! One test per example file in tests/fixtures/vod-examples/: the decode result must match the
//! README table and its "remaining output fields" section exactly (every normalized field is
//! compared), plus typed `JobRecord` fields and SDK-vs-JSON equivalence for items.

use crate::common;

use std::collections::HashMap;
use std::path::PathBuf;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use vodesk::contract::{
    DecodeError, Decoded, JobRecord, Kind, Source, WorkflowStatus, decode_document,
    decode_message_body, decode_sdk_item,
};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vod-examples")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

fn decode(name: &str) -> Result<Decoded, DecodeError> {
    decode_document(&fixture_bytes(name))
}

fn decoded(name: &str) -> Decoded {
    decode(name).unwrap_or_else(|e| panic!("{name} should decode: {e}"))
}

fn normalized(name: &str) -> Value {
    serde_json::to_value(decoded(name).normalized()).expect("normalized output serializes")
}

fn record(name: &str) -> JobRecord {
    decoded(name).record.expect("record present")
}

fn assert_invalid_status(name: &str) {
    let err = decode(name).expect_err("must be INVALID");
    let text = err.to_string();
    assert_eq!(
        text,
        "invalid input: workflowStatus: missing (neither \"workflowStatus\" nor \"status\" is present)"
    );
    assert!(!text.contains('\n'));
}

const GUID_A: &str = "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8";
const GUID_B: &str = "8cec4149-e508-43b8-aa4e-f972dc9a5675";
const GUID_C: &str = "a30ce37f-2cdc-4bcb-ac1b-07cbdf92ca8e";
const GUID_D: &str = "5af3245b-0a67-446c-aea5-63ff45705481";
const GUID_E: &str = "e2069f55-d2a4-47e4-9e20-7f5b6d9baa04";
const GUID_F: &str = "7b584974-531c-42f7-bf0e-a53d3a595f8e";

const B_CF: &str = "https://d3k5m7n9p1r3t5.cloudfront.net/8cec4149-e508-43b8-aa4e-f972dc9a5675";
const C_HLS: &str = "https://d1q2w3e4r5t6y7.cloudfront.net/a30ce37f-2cdc-4bcb-ac1b-07cbdf92ca8e/hls/Año Nuevo 2025.m3u8";
const D_EGRESS: &str =
    "https://d2z4x6c8v0b2n4.cloudfront.net/out/v1/cc95aed8073e25ef48384896ece0aecc";
const D_THUMB: &str = "https://d2z4x6c8v0b2n4.cloudfront.net/5af3245b-0a67-446c-aea5-63ff45705481/thumbnails/trailer_final_thumb.0000029.jpg";

fn b_expected(source: &str, duration: Value, width: Value, height: Value, codec: Value) -> Value {
    json!({
        "source": source,
        "kind": "complete",
        "guid": GUID_B,
        "src_video": "studio/launch-keynote-2025.mp4",
        "hls_url": format!("{B_CF}/hls/launch-keynote-2025.m3u8"),
        "dash_url": format!("{B_CF}/dash/launch-keynote-2025.mpd"),
        "cmaf_hls_url": format!("{B_CF}/cmaf/launch-keynote-2025.m3u8"),
        "cmaf_dash_url": format!("{B_CF}/cmaf/launch-keynote-2025.mpd"),
        "mss_url": format!("{B_CF}/mss/launch-keynote-2025.ism"),
        "mp4_urls": [
            format!("{B_CF}/mp4/launch-keynote-2025_1080p.mp4"),
            format!("{B_CF}/mp4/launch-keynote-2025_720p.mp4"),
        ],
        "thumbnail_urls": [format!("{B_CF}/thumbnails/launch-keynote-2025_thumb.0000360.jpg")],
        "error_message": null,
        "duration_seconds": duration,
        "width": width,
        "height": height,
        "video_codec": codec,
    })
}

fn ingest_a(source: &str) -> Value {
    json!({
        "source": source,
        "kind": "ingest",
        "guid": GUID_A,
        "src_video": "uploads/Café Opening Night.MOV",
        "hls_url": null, "dash_url": null, "cmaf_hls_url": null, "cmaf_dash_url": null, "mss_url": null,
        "mp4_urls": [], "thumbnail_urls": [],
        "error_message": null,
        "duration_seconds": null, "width": null, "height": null, "video_codec": null,
    })
}

// ---- INVALID files -------------------------------------------------------------------------

#[test]
fn stack_outputs_v6_is_invalid() {
    assert_invalid_status("stack-outputs-v6.json");
}

#[test]
fn stack_outputs_v5_is_invalid() {
    assert_invalid_status("stack-outputs-v5.json");
}

#[test]
fn metadata_upload_is_invalid() {
    assert_invalid_status("metadata-upload.json");
}

// ---- SNS messages --------------------------------------------------------------------------

#[test]
fn sns_ingest() {
    assert_eq!(normalized("sns-ingest.json"), ingest_a("sns"));
    let d = decoded("sns-ingest.json");
    assert_eq!(d.source, Source::Sns);
    assert_eq!(d.kind, Kind::Ingest);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert!(d.envelope.is_none());
    let r = d.record.expect("record");
    assert_eq!(r.status, WorkflowStatus::Ingest);
    assert_eq!(r.encode_job_id, None);
    assert_eq!(r.media_info, None);

    // The live monitor's entry point goes through the same path.
    let body = String::from_utf8(fixture_bytes("sns-ingest.json")).expect("utf-8");
    let via_body = decode_message_body(&body).expect("decodes");
    assert_eq!(
        serde_json::to_value(via_body.normalized()).unwrap(),
        ingest_a("sns")
    );
}

#[test]
fn sns_envelope_ingest() {
    assert_eq!(
        normalized("sns-envelope-ingest.json"),
        ingest_a("sns-envelope")
    );
    let d = decoded("sns-envelope-ingest.json");
    let env = d.envelope.expect("envelope kept");
    assert_eq!(env.message_type, "Notification");
    assert_eq!(
        env.message_id.as_deref(),
        Some("0c8f8a3e-6b7d-4e21-9f4a-2d3c4b5a6e7f")
    );
    assert_eq!(
        env.subject.as_deref(),
        Some("Workflow Status:: Ingest:: 2d616d3f-343d-4da4-bd2a-581dd5e3b1f8")
    );
    assert_eq!(
        env.topic_arn.as_deref(),
        Some("arn:aws:sns:us-east-1:111122223333:vod-stack-SnsTopic2C1570A4-K9X2M4Q7R1TZ")
    );
}

#[test]
fn sns_complete() {
    assert_eq!(
        normalized("sns-complete.json"),
        b_expected("sns", Value::Null, Value::Null, Value::Null, Value::Null)
    );
    let r = record("sns-complete.json");
    assert_eq!(r.status, WorkflowStatus::Complete);
    assert_eq!(r.encode_job_id.as_deref(), Some("1760094326771-w4z8rt"));
    assert_eq!(r.workflow_trigger.as_deref(), Some("Metadata"));
    assert_eq!(
        r.src_metadata_file.as_deref(),
        Some("studio/launch-keynote-2025.json")
    );
    assert_eq!(r.job_template.as_deref(), Some("vodesk-all-groups-1080p"));
    assert_eq!(r.is_custom_template, Some(true));
    assert_eq!(r.frame_capture, Some(true));
    assert_eq!(
        (r.src_width, r.src_height, r.encoding_profile),
        (Some(1920), Some(1080), Some(1080))
    );
    assert_eq!(r.end_time.as_deref(), Some("2025-10-10T11:31:47.220Z"));
    assert_eq!(
        r.outputs.mp4_outputs.first().map(String::as_str),
        Some(
            "s3://vod-meta-destination920a3c57-m1n2b3v4c5x6/8cec4149-e508-43b8-aa4e-f972dc9a5675/mp4/launch-keynote-2025_1080p.mp4"
        )
    );
    assert_eq!(r.outputs.thumbnails.len(), 1);
    assert_eq!(r.media_info, None);
}

#[test]
fn sns_complete_hls_only() {
    let expected = json!({
        "source": "sns", "kind": "complete", "guid": GUID_C,
        "src_video": "uploads/Año Nuevo 2025.mp4",
        "hls_url": C_HLS,
        "dash_url": null, "cmaf_hls_url": null, "cmaf_dash_url": null, "mss_url": null,
        "mp4_urls": [], "thumbnail_urls": [],
        "error_message": null,
        "duration_seconds": null, "width": null, "height": null, "video_codec": null,
    });
    assert_eq!(normalized("sns-complete-hls-only.json"), expected);
    let r = record("sns-complete-hls-only.json");
    assert_eq!(r.encoding_profile, Some(720));
    assert_eq!(r.frame_capture, Some(false));
}

#[test]
fn sns_complete_mediapackage() {
    let expected = json!({
        "source": "sns", "kind": "complete", "guid": GUID_D,
        "src_video": "incoming/trailer_final.mp4",
        "hls_url": format!("{D_EGRESS}/d228d9949a5ea7087c64aba582685dcd/7a1b62dc4443a94811c3285abe92650c/index.m3u8"),
        "dash_url": format!("{D_EGRESS}/bd7bfb44e072199a046a1a1ee53348da/655759ff82a5911b36f0cf011a7a02d1/index.mpd"),
        "cmaf_hls_url": format!("{D_EGRESS}/655759ff82a5911b36f0cf011a7a02d1/7a1b62dc4443a94811c3285abe92650c/index.m3u8"),
        "cmaf_dash_url": null,
        "mss_url": format!("{D_EGRESS}/d8efddf5addcf469cb948719917e6288/d228d9949a5ea7087c64aba582685dcd/index.ism/Manifest"),
        "mp4_urls": [],
        "thumbnail_urls": [D_THUMB],
        "error_message": null,
        "duration_seconds": null, "width": null, "height": null, "video_codec": null,
    });
    assert_eq!(normalized("sns-complete-mediapackage.json"), expected);
    let r = record("sns-complete-mediapackage.json");
    // The message drops per-group URLs: the resolved values come from egressEndpoints.
    assert_eq!(r.outputs.hls_url, None);
    assert_eq!(r.enable_media_package, Some(true));
    assert_eq!(
        r.media_package_resource_id.as_deref(),
        Some("3e9a41c07b5d2f86e4a1c9b07d3f5e28")
    );
    assert_eq!(
        r.egress_endpoints.mss.as_deref(),
        Some(
            "https://d2z4x6c8v0b2n4.cloudfront.net/out/v1/cc95aed8073e25ef48384896ece0aecc/d8efddf5addcf469cb948719917e6288/d228d9949a5ea7087c64aba582685dcd/index.ism/Manifest"
        )
    );
}

#[test]
fn sns_error() {
    let msg = "Unable to open input file [s3://vod-stack-source71e471f1-abc123def456/uploads/drone-footage-0423.mp4]: [Failed probe/open: [No parser found for container]]";
    let expected = json!({
        "source": "sns", "kind": "error", "guid": GUID_E,
        "src_video": null,
        "hls_url": null, "dash_url": null, "cmaf_hls_url": null, "cmaf_dash_url": null, "mss_url": null,
        "mp4_urls": [], "thumbnail_urls": [],
        "error_message": msg,
        "duration_seconds": null, "width": null, "height": null, "video_codec": null,
    });
    assert_eq!(normalized("sns-error.json"), expected);
    let r = record("sns-error.json");
    assert_eq!(r.status, WorkflowStatus::Error);
    assert!(r.status.is_terminal());
    assert_eq!(r.workflow_error_at.as_deref(), Some("Encoding"));
    assert_eq!(
        r.error_details.as_deref(),
        Some(
            "https://console.aws.amazon.com/mediaconvert/home?region=us-east-1#/jobs/summary/1760254219257-t2q6ld"
        )
    );
}

#[test]
fn sns_error_lambda() {
    let expected = json!({
        "source": "sns", "kind": "error", "guid": GUID_F,
        "src_video": null,
        "hls_url": null, "dash_url": null, "cmaf_hls_url": null, "cmaf_dash_url": null, "mss_url": null,
        "mp4_urls": [], "thumbnail_urls": [],
        "error_message": "Expecting value: line 1 column 1 (char 0)",
        "duration_seconds": null, "width": null, "height": null, "video_codec": null,
    });
    assert_eq!(normalized("sns-error-lambda.json"), expected);
    assert_eq!(
        record("sns-error-lambda.json").workflow_error_at.as_deref(),
        Some("vod-stack-mediainfo")
    );
}

#[test]
fn sns_envelope_subscription_confirmation() {
    let expected = json!({
        "source": "sns-envelope", "kind": "ignored", "guid": null,
        "src_video": null,
        "hls_url": null, "dash_url": null, "cmaf_hls_url": null, "cmaf_dash_url": null, "mss_url": null,
        "mp4_urls": [], "thumbnail_urls": [],
        "error_message": null,
        "duration_seconds": null, "width": null, "height": null, "video_codec": null,
    });
    assert_eq!(
        normalized("sns-envelope-subscription-confirmation.json"),
        expected
    );
    let d = decoded("sns-envelope-subscription-confirmation.json");
    assert!(d.record.is_none());
    assert_eq!(d.guid(), None);
    let env = d.envelope.expect("envelope kept");
    assert_eq!(env.message_type, "SubscriptionConfirmation");
    assert!(
        env.token
            .as_deref()
            .is_some_and(|t| t.starts_with("b540d89a2850"))
    );
    assert!(
        env.subscribe_url
            .as_deref()
            .is_some_and(|u| u.contains("Action=ConfirmSubscription"))
    );
}

// ---- DynamoDB items ------------------------------------------------------------------------

#[test]
fn dynamodb_item_ingest() {
    let mut expected = ingest_a("dynamodb-item");
    expected["duration_seconds"] = json!(95.428);
    expected["width"] = json!(1920);
    expected["height"] = json!(1080);
    expected["video_codec"] = json!("HEVC");
    assert_eq!(normalized("dynamodb-item-ingest.json"), expected);

    let d = decoded("dynamodb-item-ingest.json");
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let r = d.record.expect("record");
    assert_eq!(r.status, WorkflowStatus::Ingest);
    assert_eq!(r.encode_job_id.as_deref(), Some("1760433132004-k3x9qe"));
    assert_eq!(r.start_time.as_deref(), Some("2025-10-14T09:12:06.118Z"));
    assert_eq!(r.end_time, None);
    assert_eq!(r.workflow_name.as_deref(), Some("vod-stack"));
    assert_eq!(
        r.src_bucket.as_deref(),
        Some("vod-stack-source71e471f1-abc123def456")
    );
    assert_eq!(
        r.cloud_front.as_deref(),
        Some("d1q2w3e4r5t6y7.cloudfront.net")
    );
    assert_eq!(r.frame_capture, Some(false));
    assert_eq!(r.enable_media_package, Some(false));
    assert_eq!(r.is_custom_template, Some(false));
    assert_eq!((r.src_width, r.src_height), (Some(1920), Some(1080)));

    let info = r.media_info.expect("srcMediainfo parsed");
    // The stored text escapes non-ASCII (`Caf\u00e9`); parsing restores it.
    assert_eq!(
        info.filename.as_deref(),
        Some("uploads/Café Opening Night.MOV")
    );
    let container = info.container.as_ref().expect("container");
    assert_eq!(container.format.as_deref(), Some("MPEG-4"));
    assert_eq!(container.file_size, Some(187_654_321));
    assert_eq!(container.total_bitrate, Some(15_731_594.0));
    let video = info.video.first().expect("video track");
    assert_eq!(video.profile.as_deref(), Some("Main@L4@Main"));
    assert_eq!(video.framerate, Some(29.97));
    assert_eq!(video.aspect_ratio.as_deref(), Some("1.778"));
    assert_eq!(video.color_space.as_deref(), Some("YUV 4:2:0"));
    assert_eq!(video.frame_count, Some(2860));
    assert_eq!(info.audio.len(), 1);
    let audio = info.audio.first().expect("audio track");
    assert_eq!(audio.codec.as_deref(), Some("AAC"));
    assert_eq!(audio.sampling_rate, Some(44100));
    assert_eq!(audio.channels, Some(2));
    assert_eq!(audio.bitrate_mode.as_deref(), Some("VBR"));
    assert_eq!(audio.sample_per_frame, Some(1024));
    assert_eq!(audio.duration, Some(95.412));
    assert!(info.text.is_empty());
}

#[test]
fn dynamodb_item_complete() {
    assert_eq!(
        normalized("dynamodb-item-complete.json"),
        b_expected(
            "dynamodb-item",
            json!(1802.48),
            json!(1920),
            json!(1080),
            json!("AVC")
        )
    );
    let r = record("dynamodb-item-complete.json");
    assert_eq!(r.encode_job_id.as_deref(), Some("1760094326771-w4z8rt"));
    assert_eq!(r.end_time.as_deref(), Some("2025-10-10T11:31:47.220Z"));
    assert_eq!(r.outputs.mp4_outputs.len(), 2);
}

#[test]
fn dynamodb_item_complete_scan() {
    let expected = json!({
        "source": "dynamodb-item", "kind": "complete", "guid": GUID_C,
        "src_video": "uploads/Año Nuevo 2025.mp4",
        "hls_url": C_HLS,
        "dash_url": null, "cmaf_hls_url": null, "cmaf_dash_url": null, "mss_url": null,
        "mp4_urls": [], "thumbnail_urls": [],
        "error_message": null,
        "duration_seconds": 187.52, "width": 1280, "height": 720, "video_codec": "AVC",
    });
    assert_eq!(normalized("dynamodb-item-complete-scan.json"), expected);
    assert_eq!(
        record("dynamodb-item-complete-scan.json")
            .encode_job_id
            .as_deref(),
        Some("1760373608913-h7m2pa")
    );
}

#[test]
fn dynamodb_item_complete_mediapackage() {
    let expected = json!({
        "source": "dynamodb-item", "kind": "complete", "guid": GUID_D,
        "src_video": "incoming/trailer_final.mp4",
        // The item keeps its own (S3-origin) hlsUrl; the other URLs come from egressEndpoints.
        "hls_url": "https://d2z4x6c8v0b2n4.cloudfront.net/5af3245b-0a67-446c-aea5-63ff45705481/hls/trailer_final.m3u8",
        "dash_url": format!("{D_EGRESS}/bd7bfb44e072199a046a1a1ee53348da/655759ff82a5911b36f0cf011a7a02d1/index.mpd"),
        "cmaf_hls_url": format!("{D_EGRESS}/655759ff82a5911b36f0cf011a7a02d1/7a1b62dc4443a94811c3285abe92650c/index.m3u8"),
        "cmaf_dash_url": null,
        "mss_url": format!("{D_EGRESS}/d8efddf5addcf469cb948719917e6288/d228d9949a5ea7087c64aba582685dcd/index.ism/Manifest"),
        "mp4_urls": [],
        "thumbnail_urls": [D_THUMB],
        "error_message": null,
        "duration_seconds": 148.148, "width": 1920, "height": 1080, "video_codec": "AVC",
    });
    assert_eq!(
        normalized("dynamodb-item-complete-mediapackage.json"),
        expected
    );
    let r = record("dynamodb-item-complete-mediapackage.json");
    assert_eq!(
        r.egress_endpoints.mss.as_deref(),
        Some(
            "https://d2z4x6c8v0b2n4.cloudfront.net/out/v1/cc95aed8073e25ef48384896ece0aecc/d8efddf5addcf469cb948719917e6288/d228d9949a5ea7087c64aba582685dcd/index.ism/Manifest"
        )
    );
    assert_eq!(
        r.egress_endpoints.hls.as_deref(),
        Some(
            "https://d2z4x6c8v0b2n4.cloudfront.net/out/v1/cc95aed8073e25ef48384896ece0aecc/d228d9949a5ea7087c64aba582685dcd/7a1b62dc4443a94811c3285abe92650c/index.m3u8"
        )
    );
    assert_eq!(
        r.media_package_resource_id.as_deref(),
        Some("3e9a41c07b5d2f86e4a1c9b07d3f5e28")
    );
    assert_eq!(r.encode_job_id.as_deref(), Some("1760213750380-b5n1cv"));
}

#[test]
fn dynamodb_item_error() {
    let n = normalized("dynamodb-item-error.json");
    let message = n["error_message"]
        .as_str()
        .expect("error_message is a string")
        .to_owned();
    // The item holds the whole EventBridge event as indented JSON text, unlike the SNS message.
    assert!(
        message.starts_with("{\n  \"version\": \"0\","),
        "{message:?}"
    );
    assert_eq!(message.chars().count(), 869);
    assert_eq!(message.lines().count(), 25);
    let expected = json!({
        "source": "dynamodb-item", "kind": "error", "guid": GUID_E,
        "src_video": "uploads/drone-footage-0423.mp4",
        "hls_url": null, "dash_url": null, "cmaf_hls_url": null, "cmaf_dash_url": null, "mss_url": null,
        "mp4_urls": [], "thumbnail_urls": [],
        "error_message": message,
        "duration_seconds": 312.979, "width": 3840, "height": 2160, "video_codec": "HEVC",
    });
    assert_eq!(n, expected);
    let r = record("dynamodb-item-error.json");
    assert_eq!(r.workflow_error_at.as_deref(), Some("Encoding"));
    assert_eq!(r.encode_job_id.as_deref(), Some("1760254219257-t2q6ld"));
    // No audio track in this source (the error's cause).
    assert!(r.media_info.expect("srcMediainfo").audio.is_empty());
}

// ---- cross-cutting -------------------------------------------------------------------------

#[test]
fn normalized_keys_are_exactly_the_contract_keys_in_order() {
    const KEYS: [&str; 16] = common::NORMALIZED_KEYS;
    for name in [
        "sns-complete.json",
        "sns-envelope-subscription-confirmation.json",
    ] {
        let n = decoded(name).normalized();
        let as_value = serde_json::to_value(&n).unwrap();
        assert_eq!(as_value.as_object().unwrap().len(), KEYS.len(), "{name}");
        // serde_json::Map may sort keys, so the order is checked on the serialized text; none
        // of these values contains a `"key":` sequence.
        let text = serde_json::to_string(&n).unwrap();
        let positions: Vec<usize> = KEYS
            .iter()
            .map(|k| {
                text.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("{k} in {text}"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "order: {text}");
    }
}

/// Builds the SDK's AttributeValue map from DynamoDB JSON, the way GetItem would return it.
fn to_attribute_value(descriptor: &Value) -> AttributeValue {
    let Value::Object(map) = descriptor else {
        panic!("descriptor object")
    };
    let (tag, inner) = map.iter().next().expect("one key");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    match tag.as_str() {
        "S" => AttributeValue::S(inner.as_str().unwrap().to_owned()),
        "N" => AttributeValue::N(inner.as_str().unwrap().to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap()),
        "NULL" => AttributeValue::Null(inner.as_bool().unwrap()),
        "SS" => AttributeValue::Ss(strings(inner)),
        "NS" => AttributeValue::Ns(strings(inner)),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .unwrap()
                .iter()
                .map(to_attribute_value)
                .collect(),
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), to_attribute_value(v)))
                .collect(),
        ),
        other => panic!("fixture uses unexpected descriptor {other}"),
    }
}

fn sdk_item(name: &str) -> HashMap<String, AttributeValue> {
    let doc: Value = serde_json::from_slice(&fixture_bytes(name)).unwrap();
    let item = doc.get("Item").unwrap_or(&doc);
    item.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), to_attribute_value(v)))
        .collect()
}

#[test]
fn sdk_items_decode_like_dynamodb_json() {
    for name in [
        "dynamodb-item-ingest.json",
        "dynamodb-item-complete.json",
        "dynamodb-item-complete-scan.json",
        "dynamodb-item-complete-mediapackage.json",
        "dynamodb-item-error.json",
    ] {
        let via_sdk = decode_sdk_item(&sdk_item(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let via_json = decoded(name);
        assert_eq!(via_sdk.source, Source::DynamodbItem);
        assert_eq!(via_sdk.normalized(), via_json.normalized(), "{name}");
        assert_eq!(via_sdk.record, via_json.record, "{name}");
    }
    // Spot-check that the comparison is not vacuous.
    let n = serde_json::to_value(
        decode_sdk_item(&sdk_item("dynamodb-item-ingest.json"))
            .unwrap()
            .normalized(),
    )
    .unwrap();
    assert_eq!(n["width"], json!(1920));
    assert_eq!(n["video_codec"], json!("HEVC"));
}

#[test]
fn sdk_binary_and_sets_unwrap_like_json() {
    let mut item = sdk_item("dynamodb-item-ingest.json");
    item.insert(
        "blob".into(),
        AttributeValue::B(Blob::new(b"foobar".to_vec())),
    );
    item.insert(
        "nums".into(),
        AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
    );
    let plain = vodesk::contract::dynamodb::from_sdk_item(&item).unwrap();
    assert_eq!(plain["blob"], json!("Zm9vYmFy"));
    assert_eq!(plain["nums"], json!([1, 2.5]));
    assert_eq!(plain["srcWidth"], json!(1920));
    assert_eq!(plain["frameCapture"], json!(false));
}
