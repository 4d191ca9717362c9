//! Malformed and hostile inputs for the §8 decoder: every INVALID class gives a one-line error
//! naming the field, tolerated problems give warnings, and nothing panics or overflows the
//! stack (property tests over arbitrary bytes, arbitrary JSON, and mutated example files).

use std::collections::HashMap;
use std::sync::OnceLock;

use aws_sdk_dynamodb::types::AttributeValue;
use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};
use vodesk::contract::dynamodb;
use vodesk::contract::{
    DecodeError, Decoded, Kind, Source, decode_document, decode_message_body, decode_sdk_item,
    decode_value,
};

fn decode_str(text: &str) -> Result<Decoded, DecodeError> {
    decode_document(text.as_bytes())
}

fn decode_json(value: &Value) -> Result<Decoded, DecodeError> {
    decode_document(value.to_string().as_bytes())
}

fn err_text(result: Result<Decoded, DecodeError>) -> String {
    match result {
        Ok(d) => panic!("expected INVALID, got {:?}", d.normalized()),
        Err(e) => {
            let text = e.to_string();
            assert!(
                !text.contains('\n') && !text.contains('\r'),
                "multi-line: {text:?}"
            );
            assert!(text.starts_with("invalid input: "), "{text}");
            text
        }
    }
}

fn ok(result: Result<Decoded, DecodeError>) -> Decoded {
    result.unwrap_or_else(|e| panic!("expected Ok, got {e}"))
}

fn envelope(message: Value) -> Value {
    json!({
        "Type": "Notification",
        "MessageId": "0c8f8a3e-6b7d-4e21-9f4a-2d3c4b5a6e7f",
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:vod-stack-SnsTopic",
        "Message": message,
    })
}

const GUID: &str = "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8";

// ---- not a document ------------------------------------------------------------------------

#[test]
fn empty_input() {
    assert_eq!(decode_str(""), Err(DecodeError::Empty));
    assert_eq!(err_text(decode_str("")), "invalid input: empty input");
}

#[test]
fn whitespace_only_input() {
    assert_eq!(decode_str(" \n\t\r\n "), Err(DecodeError::Empty));
    assert_eq!(decode_message_body("\n"), Err(DecodeError::Empty));
}

#[test]
fn not_json() {
    let text = err_text(decode_str(
        "Please see the AWS console for detail :https://x\n{}",
    ));
    assert!(
        text.starts_with("invalid input: not JSON: expected value at line 1 column 1"),
        "{text}"
    );
    assert!(matches!(
        decode_str("{\"guid\": "),
        Err(DecodeError::NotJson(_))
    ));
    assert!(matches!(
        decode_document(&[0xff, 0xfe, 0x00]),
        Err(DecodeError::NotJson(_))
    ));
    // Two documents are not ONE document.
    assert!(matches!(decode_str("{} {}"), Err(DecodeError::NotJson(_))));
}

#[test]
fn json_that_is_not_an_object() {
    assert_eq!(decode_str("[]"), Err(DecodeError::NotAnObject("a list")));
    assert_eq!(
        decode_str("[{\"guid\":\"x\"}]"),
        Err(DecodeError::NotAnObject("a list"))
    );
    assert_eq!(decode_str("42"), Err(DecodeError::NotAnObject("a number")));
    assert_eq!(
        decode_str("\"Ingest\""),
        Err(DecodeError::NotAnObject("a string"))
    );
    assert_eq!(decode_str("null"), Err(DecodeError::NotAnObject("null")));
    assert_eq!(
        decode_str("true"),
        Err(DecodeError::NotAnObject("a boolean"))
    );
    assert_eq!(
        err_text(decode_str("[]")),
        "invalid input: expected a JSON object, found a list"
    );
}

#[test]
fn byte_order_mark_is_skipped() {
    let body = format!("\u{feff}{{\"status\":\"Ingest\",\"guid\":\"{GUID}\"}}");
    assert_eq!(ok(decode_str(&body)).kind, Kind::Ingest);
}

#[test]
fn deeply_nested_json_is_an_error_not_a_crash() {
    let arrays = "[".repeat(100_000);
    let text = err_text(decode_str(&arrays));
    assert!(text.contains("recursion limit exceeded"), "{text}");

    let objects = "{\"a\":".repeat(100_000);
    assert!(matches!(decode_str(&objects), Err(DecodeError::NotJson(_))));

    // Inside an envelope's Message, the same limit applies to the embedded text.
    let inner = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let text = err_text(decode_json(&envelope(json!(inner))));
    assert!(
        text.starts_with("invalid input: Message: not JSON (recursion limit exceeded"),
        "{text}"
    );

    // Inside srcMediainfo it is just an unusable srcMediainfo.
    let deep_info = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let d = ok(decode_json(&json!({
        "workflowStatus": "Ingest", "guid": GUID, "srcMediainfo": deep_info
    })));
    assert!(d.record.as_ref().unwrap().media_info.is_none());
    assert_eq!(d.warnings.len(), 1);
}

#[test]
fn nesting_just_inside_the_limit_decodes() {
    let mut descriptor = json!({"S": "leaf"});
    for _ in 0..55 {
        descriptor = json!({"M": {"a": descriptor}});
    }
    let item = json!({"Item": {
        "guid": {"S": GUID}, "workflowStatus": {"S": "Complete"}, "deep": descriptor
    }});
    assert_eq!(ok(decode_json(&item)).kind, Kind::Complete);
}

#[test]
fn deep_sdk_values_are_bounded() {
    let mut value = AttributeValue::S("leaf".into());
    for _ in 0..10_000 {
        value = AttributeValue::M(HashMap::from([("a".to_owned(), value)]));
    }
    let item = HashMap::from([
        ("guid".to_owned(), AttributeValue::S(GUID.into())),
        (
            "workflowStatus".to_owned(),
            AttributeValue::S("Ingest".into()),
        ),
        ("deep".to_owned(), value),
    ]);
    let text = decode_sdk_item(&item).expect_err("too deep").to_string();
    assert!(text.starts_with("invalid input: deep.a.a."), "{text}");
    assert!(text.ends_with("nested deeper than 64 levels"), "{text}");
    // Dropping a 10 000-level value recurses in the SDK's own Drop; keep that off this test's
    // stack budget by leaking it.
    std::mem::forget(item);
}

// ---- envelopes -----------------------------------------------------------------------------

#[test]
fn envelope_message_not_json() {
    let plain_text_v4 =
        "Please see the AWS console for detail :https://console.aws.amazon.com/x\n{\"a\":1}";
    let text = err_text(decode_json(&envelope(json!(plain_text_v4))));
    assert!(
        text.starts_with("invalid input: Message: not JSON (expected value at line 1 column 1"),
        "{text}"
    );
    let text = err_text(decode_json(&envelope(json!(""))));
    assert!(
        text.starts_with("invalid input: Message: not JSON (EOF while parsing"),
        "{text}"
    );
}

#[test]
fn envelope_message_not_an_object() {
    for (message, found) in [
        ("[1,2]", "a list"),
        ("\"Ingest\"", "a string"),
        ("7", "a number"),
        ("null", "null"),
    ] {
        assert_eq!(
            err_text(decode_json(&envelope(json!(message)))),
            format!("invalid input: Message: expected a JSON object, found {found}")
        );
    }
    // A Message that is itself an object (not a JSON string) is not what SNS sends.
    assert_eq!(
        err_text(decode_json(&envelope(
            json!({"status": "Ingest", "guid": GUID})
        ))),
        "invalid input: Message: expected a string holding the JSON message, found an object"
    );
}

#[test]
fn envelope_message_missing() {
    let doc = json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t"});
    assert_eq!(
        err_text(decode_json(&doc)),
        "invalid input: Message: missing in a Notification envelope"
    );
}

#[test]
fn envelope_unknown_type() {
    let doc = json!({"Type": "Notice", "Message": "{}", "TopicArn": "arn"});
    let text = err_text(decode_json(&doc));
    assert!(
        text.starts_with("invalid input: Type: unknown SNS envelope type \"Notice\""),
        "{text}"
    );
}

#[test]
fn envelope_confirmations_are_ignored() {
    for t in ["SubscriptionConfirmation", "UnsubscribeConfirmation"] {
        let d = ok(decode_json(
            &json!({"Type": t, "TopicArn": "arn", "Token": "tok"}),
        ));
        assert_eq!((d.source, d.kind), (Source::SnsEnvelope, Kind::Ignored));
        assert!(d.record.is_none());
        let n = serde_json::to_value(d.normalized()).unwrap();
        assert_eq!(n["guid"], Value::Null);
        assert_eq!(n["mp4_urls"], json!([]));
        assert_eq!(n["thumbnail_urls"], json!([]));
        assert_eq!(d.envelope.unwrap().token.as_deref(), Some("tok"));
    }
}

#[test]
fn envelope_inner_errors_name_the_message_path() {
    let inner = json!({"status": "Ingest"}).to_string();
    assert_eq!(
        err_text(decode_json(&envelope(json!(inner)))),
        "invalid input: Message.guid: missing"
    );
}

#[test]
fn object_with_non_string_type_is_a_raw_message() {
    // `Type` must be a string for envelope detection; otherwise it is just an unknown field.
    let d = ok(decode_json(&json!({
        "Type": 5, "Message": "x", "status": "Ingest", "guid": GUID
    })));
    assert_eq!((d.source, d.kind), (Source::Sns, Kind::Ingest));
}

// ---- status and guid -----------------------------------------------------------------------

#[test]
fn unknown_status() {
    assert_eq!(
        err_text(decode_json(
            &json!({"workflowStatus": "Running", "guid": GUID})
        )),
        "invalid input: workflowStatus: unknown status \"Running\" (expected Ingest, Complete or Error)"
    );
    assert_eq!(
        err_text(decode_json(&json!({"status": "Done", "guid": GUID}))),
        "invalid input: status: unknown status \"Done\" (expected Ingest, Complete or Error)"
    );
    assert_eq!(
        err_text(decode_json(&json!({"workflowStatus": 3, "guid": GUID}))),
        "invalid input: workflowStatus: expected a status string, found a number"
    );
    // Hostile status text stays on one line.
    let text = err_text(decode_json(&json!({"status": "In\ngest", "guid": GUID})));
    assert!(text.contains("\"In\\ngest\""), "{text}");
}

#[test]
fn missing_status() {
    assert_eq!(
        err_text(decode_json(&json!({"guid": GUID}))),
        "invalid input: workflowStatus: missing (neither \"workflowStatus\" nor \"status\" is present)"
    );
    assert!(decode_str("{}").is_err());
    // Items have no `status` fallback (§8 rule 2).
    let item = json!({"guid": {"S": GUID}, "status": {"S": "Ingest"}});
    assert_eq!(
        err_text(decode_json(&item)),
        "invalid input: workflowStatus: missing"
    );
}

#[test]
fn status_precedence_and_case() {
    let d = ok(decode_json(
        &json!({"status": "Ingest", "workflowStatus": "Complete", "guid": GUID}),
    ));
    assert_eq!(d.kind, Kind::Complete);
    assert_eq!(
        ok(decode_json(
            &json!({"workflowStatus": "ERROR", "guid": GUID})
        ))
        .kind,
        Kind::Error
    );
    assert_eq!(
        ok(decode_json(
            &json!({"workflowStatus": "error", "guid": GUID})
        ))
        .kind,
        Kind::Error
    );
    // A null workflowStatus is unknown, so a message falls back to `status`.
    let d = ok(decode_json(
        &json!({"workflowStatus": null, "status": "ingest", "guid": GUID}),
    ));
    assert_eq!(d.kind, Kind::Ingest);
    // workflowStatus wins even when it is the bad one.
    assert!(
        decode_json(&json!({"status": "Ingest", "workflowStatus": "Done", "guid": GUID})).is_err()
    );
}

#[test]
fn guid_missing_or_wrong_type() {
    assert_eq!(
        err_text(decode_json(&json!({"status": "Ingest"}))),
        "invalid input: guid: missing"
    );
    assert_eq!(
        err_text(decode_json(&json!({"status": "Ingest", "guid": 12345}))),
        "invalid input: guid: expected a string, found a number"
    );
    assert_eq!(
        err_text(decode_json(&json!({"status": "Ingest", "guid": null}))),
        "invalid input: guid: expected a string, found null"
    );
    assert_eq!(
        err_text(decode_json(&json!({"status": "Ingest", "guid": ""}))),
        "invalid input: guid: empty string"
    );
    let item = json!({"Item": {"guid": {"N": "5"}, "workflowStatus": {"S": "Ingest"}}});
    assert_eq!(
        err_text(decode_json(&item)),
        "invalid input: Item.guid: expected a string, found a number"
    );
}

// ---- list fields ---------------------------------------------------------------------------

fn complete_with(extra: Value) -> Value {
    let mut doc = json!({"workflowStatus": "Complete", "guid": GUID});
    if let (Value::Object(d), Value::Object(e)) = (&mut doc, extra) {
        d.extend(e);
    }
    doc
}

#[test]
fn mp4_urls_as_a_number() {
    assert_eq!(
        err_text(decode_json(&complete_with(json!({"mp4Urls": 5})))),
        "invalid input: mp4Urls: expected a list of strings or a string, found a number"
    );
    assert_eq!(
        err_text(decode_json(&complete_with(json!({"mp4Urls": {"a": "b"}})))),
        "invalid input: mp4Urls: expected a list of strings or a string, found an object"
    );
    assert_eq!(
        err_text(decode_json(&complete_with(
            json!({"mp4Urls": ["https://a/1.mp4", 2]})
        ))),
        "invalid input: mp4Urls[1]: expected a string, found a number"
    );
    assert_eq!(
        err_text(decode_json(&complete_with(json!({"thumbNailsUrls": true})))),
        "invalid input: thumbNailsUrls: expected a list of strings or a string, found a boolean"
    );
    let item = json!({"Item": {
        "guid": {"S": GUID}, "workflowStatus": {"S": "Complete"}, "mp4Urls": {"N": "5"}
    }});
    assert_eq!(
        err_text(decode_json(&item)),
        "invalid input: Item.mp4Urls: expected a list of strings or a string, found a number"
    );
}

#[test]
fn list_fields_accept_a_single_string_and_keep_order() {
    let d = ok(decode_json(&complete_with(json!({
        "mp4Urls": "https://cf/only.mp4",
        "thumbNailUrl": "https://cf/t.jpg",
    }))));
    let n = d.normalized();
    assert_eq!(n.mp4_urls, ["https://cf/only.mp4"]);
    assert_eq!(n.thumbnail_urls, ["https://cf/t.jpg"]);

    let d = ok(decode_json(&complete_with(json!({
        "thumbNailsUrls": ["https://cf/b.jpg", "https://cf/a.jpg"],
        "thumbNailsUrl": "https://cf/ignored.jpg",
        "thumbNailUrl": ["https://cf/ignored2.jpg"],
    }))));
    assert_eq!(
        d.normalized().thumbnail_urls,
        ["https://cf/b.jpg", "https://cf/a.jpg"]
    );

    let d = ok(decode_json(&complete_with(
        json!({"thumbNailsUrl": ["https://cf/x.jpg"]}),
    )));
    assert_eq!(d.normalized().thumbnail_urls, ["https://cf/x.jpg"]);
    // Items store lists as SS too in other tools' writes; accepted.
    let item = json!({"guid": {"S": GUID}, "workflowStatus": {"S": "Complete"},
                      "mp4Urls": {"SS": ["https://cf/1.mp4", "https://cf/2.mp4"]}});
    assert_eq!(
        ok(decode_json(&item)).normalized().mp4_urls,
        ["https://cf/1.mp4", "https://cf/2.mp4"]
    );
}

#[test]
fn legacy_field_spellings() {
    let d = ok(decode_json(&complete_with(json!({
        "EndTime": "2019-11-20 14:05.3",
        "ecodeJobId": "1574258700000-abc123",
        "thumbNail": ["s3://b/t.jpg"],
    }))));
    let r = d.record.unwrap();
    assert_eq!(r.end_time.as_deref(), Some("2019-11-20 14:05.3"));
    assert_eq!(r.encode_job_id.as_deref(), Some("1574258700000-abc123"));
    assert_eq!(r.outputs.thumbnails, ["s3://b/t.jpg"]);
}

#[test]
fn wrong_typed_scalars_are_warnings() {
    let d = ok(decode_json(&complete_with(json!({
        "hlsUrl": 5,
        "srcVideo": ["a"],
        "frameCapture": "true",
        "srcWidth": -1920,
        "srcHeight": 1e30,
        "egressEndpoints": {"HLS": 1, "DASH": "https://cf/out/index.mpd"},
        "errorMessage": {"a": 1},
    }))));
    let n = d.normalized();
    assert_eq!(n.hls_url, None);
    assert_eq!(n.src_video, None);
    assert_eq!(n.dash_url.as_deref(), Some("https://cf/out/index.mpd"));
    assert_eq!(n.error_message, None);
    let r = d.record.as_ref().unwrap();
    assert_eq!(
        (r.frame_capture, r.src_width, r.src_height),
        (None, None, None)
    );
    assert_eq!(d.warnings.len(), 7, "{:#?}", d.warnings);
    assert!(
        d.warnings
            .contains(&"hlsUrl: expected a string, found a number; ignored".to_owned())
    );
    assert!(
        d.warnings.contains(
            &"egressEndpoints.HLS: expected a string, found a number; ignored".to_owned()
        )
    );
    assert!(d.warnings.iter().all(|w| !w.contains('\n')));
}

#[test]
fn egress_fallback_only_when_own_url_missing() {
    let d = ok(decode_json(&complete_with(json!({
        "hlsUrl": "https://cf/own.m3u8",
        "egressEndpoints": {"HLS": "https://cf/out/hls.m3u8", "CMAF": "https://cf/out/cmaf.m3u8",
                            "MSS": "https://cf/out/index.ism/Manifest"},
    }))));
    let n = d.normalized();
    assert_eq!(n.hls_url.as_deref(), Some("https://cf/own.m3u8"));
    assert_eq!(n.cmaf_hls_url.as_deref(), Some("https://cf/out/cmaf.m3u8"));
    assert_eq!(n.cmaf_dash_url, None);
    assert_eq!(
        n.mss_url.as_deref(),
        Some("https://cf/out/index.ism/Manifest")
    );
    assert_eq!(n.dash_url, None);
}

// ---- DynamoDB descriptors ------------------------------------------------------------------

fn item(attributes: Value) -> Value {
    let mut attrs = json!({"guid": {"S": GUID}, "workflowStatus": {"S": "Ingest"}});
    if let (Value::Object(a), Value::Object(extra)) = (&mut attrs, attributes) {
        a.extend(extra);
    }
    json!({"Item": attrs})
}

#[test]
fn descriptor_s_with_a_number() {
    let doc = json!({"Item": {"guid": {"S": 5}, "workflowStatus": {"S": "Ingest"}}});
    assert_eq!(
        err_text(decode_json(&doc)),
        "invalid input: Item.guid: \"S\" descriptor needs a string, found a number"
    );
    // Bare items are detected by shape and validated the same way.
    let bare = json!({"guid": {"S": 5}, "workflowStatus": {"S": "Ingest"}});
    assert_eq!(
        err_text(decode_json(&bare)),
        "invalid input: guid: \"S\" descriptor needs a string, found a number"
    );
}

#[test]
fn descriptor_n_not_decimal() {
    assert_eq!(
        err_text(decode_json(&item(json!({"srcWidth": {"N": "abc"}})))),
        "invalid input: Item.srcWidth: \"N\" value \"abc\" is not a decimal number"
    );
    for bad in ["", "NaN", "Infinity", "1e999", "0x10", " 12"] {
        assert!(
            decode_json(&item(json!({"srcWidth": {"N": bad}}))).is_err(),
            "{bad:?}"
        );
    }
    assert_eq!(
        err_text(decode_json(&item(json!({"srcWidth": {"N": 1920}})))),
        "invalid input: Item.srcWidth: \"N\" descriptor needs a decimal string, found a number"
    );
    assert_eq!(
        err_text(decode_json(&item(json!({"sizes": {"NS": ["1", "x"]}})))),
        "invalid input: Item.sizes[1]: \"N\" value \"x\" is not a decimal number"
    );
}

#[test]
fn descriptor_with_two_keys() {
    let doc = item(json!({"encodingJob": {"M": {"Settings": {"M": {}, "S": "x"}}}}));
    assert_eq!(
        err_text(decode_json(&doc)),
        "invalid input: Item.encodingJob.Settings: descriptor has 2 keys"
    );
    let bare = json!({"guid": {"S": GUID, "N": "1"}, "workflowStatus": {"S": "Ingest"}});
    assert_eq!(
        err_text(decode_json(&bare)),
        "invalid input: guid: descriptor has 2 keys"
    );
    assert_eq!(
        err_text(decode_json(&item(json!({"x": {}})))),
        "invalid input: Item.x: descriptor has 0 keys"
    );
}

#[test]
fn descriptor_other_malformations() {
    assert_eq!(
        err_text(decode_json(&item(json!({"x": {"Q": 1}})))),
        "invalid input: Item.x: unknown descriptor \"Q\""
    );
    assert_eq!(
        err_text(decode_json(&item(json!({"x": "plain"})))),
        "invalid input: Item.x: expected a type descriptor such as {\"S\": ...}, found a string"
    );
    assert_eq!(
        err_text(decode_json(&item(
            json!({"x": {"L": [{"S": "a"}, {"BOOL": "yes"}]}})
        ))),
        "invalid input: Item.x[1]: \"BOOL\" descriptor needs a boolean, found a string"
    );
    assert_eq!(
        err_text(decode_json(&item(json!({"x": {"M": []}})))),
        "invalid input: Item.x: \"M\" descriptor needs an object, found a list"
    );
    assert_eq!(
        err_text(decode_json(&item(json!({"x": {"NULL": "yes"}})))),
        "invalid input: Item.x: \"NULL\" descriptor needs a boolean, found a string"
    );
    assert_eq!(
        err_text(decode_json(&item(json!({"x": {"SS": ["a", 1]}})))),
        "invalid input: Item.x[1]: \"SS\" element must be a string, found a number"
    );
    // Attribute names are echoed, but never across lines.
    let text = err_text(decode_json(&item(json!({"a\nb": {"Q": 1}}))));
    assert!(text.starts_with("invalid input: Item.a\\nb: "), "{text}");
}

#[test]
fn descriptor_values_unwrap_to_plain_types() {
    let doc = item(json!({
        "srcVideo": {"NULL": true},
        "srcWidth": {"N": "1920"},
        "frameCapture": {"BOOL": true},
        "blob": {"B": "Zm9v"},
        "srcMediainfo": {"M": {"container": {"M": {"duration": {"N": "12.5"}}},
                                "video": {"L": [{"M": {"width": {"N": "640"}, "codec": {"S": "VP9"}}}]}}},
    }));
    let d = ok(decode_json(&doc));
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let n = d.normalized();
    assert_eq!(n.src_video, None);
    assert_eq!(n.duration_seconds, Some(12.5));
    assert_eq!(n.width, Some(640));
    assert_eq!(n.video_codec.as_deref(), Some("VP9"));
    let r = d.record.unwrap();
    assert_eq!((r.src_width, r.frame_capture), (Some(1920), Some(true)));

    let Value::Object(obj) = doc else {
        unreachable!()
    };
    let plain = dynamodb::unwrap_document(&obj).unwrap();
    assert_eq!(plain["blob"], json!("Zm9v"));
    assert_eq!(plain["srcWidth"], json!(1920));
}

#[test]
fn detection_rules() {
    let as_map = |v: Value| match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    assert!(dynamodb::is_dynamodb_json(&as_map(json!({"Item": {}}))));
    assert!(dynamodb::is_dynamodb_json(&as_map(
        json!({"a": {"S": "x"}, "b": {"N": "1", "S": "y"}})
    )));
    assert!(!dynamodb::is_dynamodb_json(&as_map(json!({}))));
    assert!(!dynamodb::is_dynamodb_json(&as_map(
        json!({"a": {"S": "x"}, "b": "plain"})
    )));
    assert!(!dynamodb::is_dynamodb_json(&as_map(
        json!({"egressEndpoints": {"HLS": "u"}})
    )));
    assert!(!dynamodb::is_dynamodb_json(&as_map(
        json!({"Item": "x", "a": {"S": "x"}})
    )));
}

// ---- srcMediainfo --------------------------------------------------------------------------

#[test]
fn src_mediainfo_garbage_is_a_warning() {
    for garbage in [
        json!("{not json"),
        json!("[1, 2]"),
        json!(""),
        json!(42),
        json!(["x"]),
    ] {
        let doc = json!({"workflowStatus": "Ingest", "guid": GUID, "srcVideo": "a.mp4",
                         "srcMediainfo": garbage});
        let d = ok(decode_json(&doc));
        let n = d.normalized();
        assert_eq!(
            (
                n.duration_seconds,
                n.width,
                n.height,
                n.video_codec.as_deref()
            ),
            (None, None, None, None),
            "{garbage}"
        );
        assert_eq!(n.src_video.as_deref(), Some("a.mp4"));
        assert_eq!(d.warnings.len(), 1, "{garbage}: {:?}", d.warnings);
        assert!(
            d.warnings[0].starts_with("srcMediainfo: "),
            "{}",
            d.warnings[0]
        );
        assert!(!d.warnings[0].contains('\n'));
    }
    let d = ok(decode_json(&item(
        json!({"srcMediainfo": {"S": "Expecting value: line 1"}}),
    )));
    assert_eq!(d.warnings.len(), 1);
    assert!(
        d.warnings[0].starts_with("Item.srcMediainfo: not valid JSON ("),
        "{}",
        d.warnings[0]
    );
    assert_eq!(d.normalized().width, None);
}

#[test]
fn src_mediainfo_tolerant_fields() {
    let info = json!({
        "container": {"duration": "95.428", "format": "MPEG-4", "mimeType": "video/mp4"},
        "video": [{"width": 1e30, "height": -1080, "codec": "AVC"}],
        "unknownField": {"deep": [1, 2, 3]}
    });
    let doc = json!({"workflowStatus": "Ingest", "guid": GUID, "srcMediainfo": info.to_string()});
    let d = ok(decode_json(&doc));
    assert!(d.warnings.is_empty());
    let n = d.normalized();
    assert_eq!(n.duration_seconds, Some(95.428));
    assert_eq!((n.width, n.height), (None, None));
    assert_eq!(n.video_codec.as_deref(), Some("AVC"));
    let media = d.record.unwrap().media_info.unwrap();
    assert_eq!(
        media.container.unwrap().mime_type.as_deref(),
        Some("video/mp4")
    );

    // Already-parsed object is accepted; width as a numeric string is converted.
    let doc = json!({"workflowStatus": "Ingest", "guid": GUID,
                     "srcMediainfo": {"video": [{"width": "1280", "height": 720.0}]}});
    let n = ok(decode_json(&doc)).normalized();
    assert_eq!((n.width, n.height), (Some(1280), Some(720)));

    // No video track: the four fields are unknown, without a warning.
    let doc = json!({"workflowStatus": "Ingest", "guid": GUID,
                     "srcMediainfo": "{\"audio\": [{\"codec\": \"AAC\"}]}"});
    let d = ok(decode_json(&doc));
    assert!(d.warnings.is_empty());
    assert_eq!(d.normalized().video_codec, None);
}

#[test]
fn huge_and_negative_numbers_do_not_panic() {
    for v in [
        json!(1e308),
        json!(-1e308),
        json!(u64::MAX),
        json!(i64::MIN),
        json!("1e400"),
        json!("-0"),
    ] {
        let info = json!({"container": {"duration": v}, "video": [{"width": v, "height": v}]});
        let doc = json!({"workflowStatus": "Complete", "guid": GUID, "srcWidth": v,
                         "srcMediainfo": info.to_string()});
        let n = ok(decode_json(&doc)).normalized();
        if let Some(d) = n.duration_seconds {
            assert!(d.is_finite() && d >= 0.0, "{v}: {d}");
        }
    }
}

// ---- properties ----------------------------------------------------------------------------

/// Checks the invariants of any decode outcome.
fn check_outcome(result: &Result<Decoded, DecodeError>) {
    match result {
        Ok(d) => {
            let n = serde_json::to_value(d.normalized()).expect("serializable");
            let obj = n.as_object().expect("object");
            assert_eq!(obj.len(), 16);
            assert!(obj["mp4_urls"].is_array() && obj["thumbnail_urls"].is_array());
            assert_eq!(d.record.is_none(), d.kind == Kind::Ignored);
            if let Some(r) = &d.record {
                assert!(!r.guid.is_empty());
            }
            assert!(d.warnings.iter().all(|w| !w.contains('\n')));
        }
        Err(e) => {
            let text = e.to_string();
            assert!(text.starts_with("invalid input: "), "{text}");
            assert!(!text.contains('\n') && !text.contains('\r'), "{text:?}");
        }
    }
}

/// Keys that steer the decoder into its interesting branches, mixed with random ones.
fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "guid", "status", "workflowStatus", "srcVideo", "hlsUrl", "dashUrl", "cmafHlsUrl",
            "cmafDashUrl", "mssUrl", "mp4Urls", "thumbNailsUrls", "thumbNailsUrl", "thumbNailUrl",
            "thumbNails", "errorMessage", "srcMediainfo", "egressEndpoints", "HLS", "DASH", "MSS",
            "CMAF", "container", "duration", "video", "audio", "text", "width", "height", "codec",
            "Item", "Type", "Message", "TopicArn", "S", "N", "M", "L", "SS", "NS", "BOOL", "NULL",
            "B", "BS", "srcWidth", "EndTime", "ecodeJobId", "frameCapture",
        ])
        .prop_map(str::to_owned),
        1 => "[a-zA-Z\\n]{0,6}",
    ]
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Integral floats are left out: DynamoDB's N cannot tell 3.0 from 3, which would make
        // the item/message equivalence property compare different documents.
        any::<f64>()
            .prop_filter("not a small integral float", |f| f.fract() != 0.0
                || f.abs() > 9.1e15)
            .prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        prop::sample::select(vec![
            "Ingest",
            "complete",
            "ERROR",
            "Notification",
            "SubscriptionConfirmation",
            "12",
            "1e999",
            "-3.5",
            "abc",
            "",
            "{\"video\":[{\"width\":1920}]}",
            "{",
            "[1]",
            GUID,
        ])
        .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A random object that usually passes the status and guid checks, so the field readers run.
fn arb_record() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::collection::btree_map(arb_key(), arb_json(), 0..10),
        prop_oneof![
            3 => prop::sample::select(vec!["Ingest", "Complete", "Error", "error"]).prop_map(Value::from),
            1 => arb_json().prop_filter("non-null", |v| !v.is_null()),
        ],
        prop_oneof![3 => Just(Value::from(GUID)), 1 => arb_json()],
    )
        .prop_map(|(fields, status, guid)| {
            let mut obj: Map<String, Value> = fields.into_iter().collect();
            obj.insert("workflowStatus".into(), status);
            obj.insert("guid".into(), guid);
            obj
        })
}

/// DynamoDB JSON for a plain value, the way the AWS CLI would print it.
fn to_descriptor(value: &Value) -> Value {
    match value {
        Value::Null => json!({"NULL": true}),
        Value::Bool(b) => json!({"BOOL": b}),
        Value::Number(n) => json!({"N": n.to_string()}),
        Value::String(s) => json!({"S": s}),
        Value::Array(items) => json!({"L": items.iter().map(to_descriptor).collect::<Vec<_>>()}),
        Value::Object(members) => json!({"M": members
            .iter()
            .map(|(k, v)| (k.clone(), to_descriptor(v)))
            .collect::<Map<_, _>>()}),
    }
}

fn fixtures() -> &'static Vec<(String, Value)> {
    static FIXTURES: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vod-examples");
        let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
            .expect("fixture dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| {
                let text = std::fs::read(&p).expect("read fixture");
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (
                    name,
                    serde_json::from_slice(&text).expect("fixture is JSON"),
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(out.len(), 16, "expected the 16 example files");
        out
    })
}

/// Whether source detection reads this object as a raw message (not an envelope or an item).
fn reads_as_message(obj: &Map<String, Value>) -> bool {
    let envelope = obj.get("Type").is_some_and(Value::is_string)
        && (obj.contains_key("Message") || obj.contains_key("TopicArn"));
    !envelope && !dynamodb::is_dynamodb_json(obj)
}

/// Walks `steps` (each taken modulo the child count) from the root and then drops the node or
/// replaces it with `replacement`.
fn mutate(node: &mut Value, steps: &[usize], drop: bool, replacement: Value) {
    let Some((step, rest)) = steps.split_first() else {
        *node = replacement;
        return;
    };
    match node {
        Value::Object(map) if !map.is_empty() => {
            let Some(key) = map.keys().nth(step % map.len()).cloned() else {
                return;
            };
            if !rest.is_empty() {
                if let Some(child) = map.get_mut(&key) {
                    mutate(child, rest, drop, replacement);
                }
            } else if drop {
                map.remove(&key);
            } else {
                map.insert(key, replacement);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let index = step % items.len();
            if !rest.is_empty() {
                if let Some(child) = items.get_mut(index) {
                    mutate(child, rest, drop, replacement);
                }
            } else if drop {
                items.remove(index);
            } else if let Some(slot) = items.get_mut(index) {
                *slot = replacement;
            }
        }
        _ => *node = replacement,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_outcome(&decode_document(&bytes));
    }

    #[test]
    fn json_looking_bytes_never_panic(text in "[\\[\\]{}\":, 0-9a-zA-Z.eE+\\-\\\\]{0,200}") {
        check_outcome(&decode_str(&text));
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        check_outcome(&decode_json(&value));
        check_outcome(&decode_value(&value));
    }

    #[test]
    fn arbitrary_records_never_panic(record in arb_record()) {
        check_outcome(&decode_value(&Value::Object(record)));
    }

    #[test]
    fn arbitrary_json_inside_an_envelope_never_panics(
        value in arb_json(),
        message_type in prop::sample::select(vec!["Notification", "SubscriptionConfirmation", "Other"]),
        stringify in any::<bool>(),
    ) {
        let message = if stringify { Value::String(value.to_string()) } else { value };
        let doc = json!({"Type": message_type, "TopicArn": "arn", "Message": message});
        check_outcome(&decode_json(&doc));
    }

    #[test]
    fn arbitrary_json_inside_an_item_wrapper_never_panics(value in arb_json(), record in arb_record()) {
        check_outcome(&decode_json(&json!({"Item": value})));
        let descriptors: Map<String, Value> =
            record.iter().map(|(k, v)| (k.clone(), to_descriptor(v))).collect();
        check_outcome(&decode_json(&json!({"Item": descriptors})));
        check_outcome(&decode_json(&Value::Object(descriptors)));
    }

    /// An envelope around a message decodes exactly like the raw message (apart from `source`).
    #[test]
    fn envelope_is_transparent(record in arb_record()) {
        prop_assume!(reads_as_message(&record));
        let raw = decode_value(&Value::Object(record.clone()));
        let wrapped = decode_json(&envelope(Value::String(Value::Object(record).to_string())));
        check_outcome(&wrapped);
        match (raw, wrapped) {
            (Ok(r), Ok(w)) => {
                prop_assert_eq!(w.source, Source::SnsEnvelope);
                let (mut rn, wn) = (r.normalized(), w.normalized());
                rn.source = Source::SnsEnvelope;
                prop_assert_eq!(rn, wn);
                prop_assert_eq!(r.record, w.record);
            }
            (Err(_), Err(_)) => {}
            (r, w) => prop_assert!(false, "raw {:?} vs wrapped {:?}", r.is_ok(), w.is_ok()),
        }
    }

    /// A record stored as a DynamoDB item decodes like the same record sent as a message
    /// (records always carry a non-null workflowStatus here, so the status rules agree).
    #[test]
    fn item_is_equivalent_to_message(record in arb_record()) {
        let as_object = Value::Object(record.clone());
        let raw_is_message = reads_as_message(&record);
        let descriptors: Map<String, Value> =
            record.iter().map(|(k, v)| (k.clone(), to_descriptor(v))).collect();
        let item = decode_json(&json!({"Item": descriptors}));
        check_outcome(&item);
        if raw_is_message {
            match (decode_value(&as_object), item) {
                (Ok(m), Ok(i)) => {
                    prop_assert_eq!(i.source, Source::DynamodbItem);
                    let (mut mn, inn) = (m.normalized(), i.normalized());
                    mn.source = Source::DynamodbItem;
                    prop_assert_eq!(mn, inn);
                }
                (Err(_), Err(_)) => {}
                (m, i) => prop_assert!(false, "message {:?} vs item {:?}", m.map(|d| d.normalized()), i.map(|d| d.normalized())),
            }
        }
    }

    #[test]
    fn mutated_fixtures_never_panic(
        index in 0usize..16,
        steps in prop::collection::vec(any::<usize>(), 1..8),
        drop in any::<bool>(),
        replacement in arb_json(),
    ) {
        let Some((_, original)) = fixtures().get(index) else { panic!("fixture index") };
        let mut doc = original.clone();
        mutate(&mut doc, &steps, drop, replacement);
        check_outcome(&decode_json(&doc));
    }

    #[test]
    fn mutated_messages_inside_envelopes_never_panic(
        index in 0usize..16,
        steps in prop::collection::vec(any::<usize>(), 1..5),
        drop in any::<bool>(),
        replacement in arb_json(),
    ) {
        let Some((_, original)) = fixtures().get(index) else { panic!("fixture index") };
        let mut doc = original.clone();
        mutate(&mut doc, &steps, drop, replacement);
        check_outcome(&decode_json(&envelope(Value::String(doc.to_string()))));
    }
}
