//! What the workflow tells the world: sns-notification's Ingest and Complete messages and subjects,
//! the error handler's item attributes and Error message ([`ErrorReport`]), all as the solution's
//! Lambdas write them, and the text of every message body ([`message_text`]): the Lambdas'
//! `JSON.stringify(msg, null, 2)`, keys in the order the Lambda's object holds them (`js_json`
//! writes, `record_order` knows a record's order).

use serde_json::{Map, Value};

use super::job_events::EVENT;
use super::js_json::{Shape, stringify, stringify_entries};
use super::record_order::{key_order, value_shape};
use super::{LambdaFailure, Record, StackContext, is_truthy};

const S: Shape = Shape::Sorted;

/// sns-notification's Ingest literal: `{status, guid, srcVideo}`.
const INGEST: Shape = Shape::Keys(&[("status", S), ("guid", S), ("srcVideo", S)]);

/// The error handler's literal: `{guid, workflowStatus, workflowErrorAt, errorMessage, errorDetails}`.
const ERROR_MESSAGE: Shape = Shape::Keys(&[
    ("guid", S),
    ("workflowStatus", S),
    ("workflowErrorAt", S),
    ("errorMessage", S),
    ("errorDetails", S),
]);

/// sns-notification, Ingest: exactly three keys (one the record lacks is left out, as
/// `JSON.stringify` leaves out `undefined`).
pub(crate) fn ingest_message(record: &Record) -> Value {
    let mut message = Map::new();
    message.insert("status".into(), Value::String("Ingest".into()));
    for key in ["guid", "srcVideo"] {
        if let Some(value) = record.get(key) {
            message.insert(key.into(), value.clone());
        }
    }
    Value::Object(message)
}

/// sns-notification, Complete: the record minus srcMediainfo, the default template names, encodingJob
/// and encodingOutput; with MediaPackage on, minus the per-group outputs too.
pub(crate) fn complete_message(record: &Record) -> Value {
    let mut message = record.clone();
    for key in [
        "srcMediainfo",
        "jobTemplate_2160p",
        "jobTemplate_1080p",
        "jobTemplate_720p",
        "encodingJob",
        "encodingOutput",
    ] {
        message.remove(key);
    }
    if record.get("enableMediaPackage").is_some_and(is_truthy) {
        for key in [
            "mp4Outputs",
            "mp4Urls",
            "hlsPlaylist",
            "hlsUrl",
            "dashPlaylist",
            "dashUrl",
            "mssPlaylist",
            "mssUrl",
            "cmafDashPlaylist",
            "cmafDashUrl",
            "cmafHlsPlaylist",
            "cmafHlsUrl",
        ] {
            message.remove(key);
        }
    }
    Value::Object(message)
}

/// `Workflow Status:: <status>:: <guid>` (Ingest, Complete).
pub(crate) fn status_subject(status: &str, guid: &str) -> String {
    format!("Workflow Status:: {status}:: {guid}")
}

/// The error handler's subject: leading space, one colon after Error.
pub(crate) fn error_subject(guid: &str) -> String {
    format!(" workflow Status:: Error: {guid}")
}

/// What the error handler writes (item) and publishes (message) for one failure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorReport {
    pub guid: String,
    pub workflow_error_at: String,
    /// The item's errorMessage (for encoding errors, the whole event as two-space JSON).
    pub item_error_message: String,
    /// The message's errorMessage (for encoding errors, MediaConvert's own text).
    pub message_error_message: String,
    pub error_details: String,
}

impl ErrorReport {
    /// A Lambda failure: the CloudWatch log group of the function.
    pub(crate) fn lambda(context: &StackContext, guid: &str, failure: &LambdaFailure) -> Self {
        let function = context.function_name(failure.function);
        Self {
            guid: guid.to_owned(),
            error_details: format!(
                "https://console.aws.amazon.com/cloudwatch/home?region={}#logStream:group=/aws/lambda/{function}",
                context.region
            ),
            workflow_error_at: function,
            item_error_message: failure.message.clone(),
            message_error_message: failure.message.clone(),
        }
    }

    /// An encoding failure: the MediaConvert console URL of the job.
    pub(crate) fn encoding(
        context: &StackContext,
        guid: &str,
        job_id: &str,
        event: &Value,
    ) -> Self {
        Self {
            guid: guid.to_owned(),
            workflow_error_at: "Encoding".into(),
            item_error_message: stringify(event, EVENT),
            message_error_message: event["detail"]["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            error_details: format!(
                "https://console.aws.amazon.com/mediaconvert/home?region={}#/jobs/summary/{job_id}",
                context.region
            ),
        }
    }

    /// The five-key Error message.
    pub(crate) fn message(&self) -> Value {
        let mut message = Map::new();
        let mut set = |key: &str, value: &str| {
            message.insert(key.into(), Value::String(value.to_owned()));
        };
        set("guid", &self.guid);
        set("workflowStatus", "Error");
        set("workflowErrorAt", &self.workflow_error_at);
        set("errorMessage", &self.message_error_message);
        set("errorDetails", &self.error_details);
        Value::Object(message)
    }
}

/// A message body as the solution's Lambda publishes it: `JSON.stringify(msg, null, 2)` (two-space
/// indentation, non-ASCII as is) with the keys in the Lambda's order. The message says what it is:
/// `status` (and no `workflowStatus`) is an Ingest message, `workflowStatus: "Error"` an Error
/// message, anything else a workflow record or a Complete message cut from one. For a Complete
/// message, which has dropped `encodingOutput`, [`message_text_for`] with the record is exact
/// where this falls back to a fixed order of the output groups' keys.
pub(crate) fn message_text(message: &Value) -> String {
    match message {
        Value::Object(record) => message_text_for(message, record, &[]),
        other => stringify(other, S),
    }
}

/// [`message_text`], with the order of a record's keys taken from `record` (the message itself, or
/// the record a Complete message was cut from) and the metadata file's key order
/// (`record_order::metadata_key_order`; empty when unknown or for a video upload).
pub(crate) fn message_text_for(
    message: &Value,
    record: &Record,
    metadata_keys: &[String],
) -> String {
    let Value::Object(fields) = message else {
        return stringify(message, S);
    };
    if fields.contains_key("status") && !fields.contains_key("workflowStatus") {
        return stringify(message, INGEST);
    }
    if fields.get("workflowStatus").and_then(Value::as_str) == Some("Error") {
        return stringify(message, ERROR_MESSAGE);
    }
    let order = key_order(record, metadata_keys);
    let mut entries: Vec<(&str, &Value, Shape)> = order
        .iter()
        .filter_map(|key| fields.get_key_value(*key))
        .map(|(key, value)| (key.as_str(), value, value_shape(key)))
        .collect();
    // Keys the record lacks (none when the message was cut from it), sorted.
    entries.extend(
        fields
            .iter()
            .filter(|(key, _)| !order.contains(&key.as_str()))
            .map(|(key, value)| (key.as_str(), value, value_shape(key))),
    );
    stringify_entries(&entries)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::json;

    use super::*;
    use crate::contract::dynamodb::{is_descriptor_name, unwrap_document};
    use crate::local_stack::workflow::record_order::metadata_key_order;
    use crate::local_stack::workflow::tests::context;
    use crate::local_stack::workflow::{
        OutputGroupDetail, apply_video_key, complete_event, error_event, input_validate,
        output_validate, profile,
    };

    /// A JSON text's objects with their keys in the text's order (a `Value` sorts them).
    #[derive(Debug)]
    enum Doc {
        Leaf,
        List(Vec<Doc>),
        Object(Vec<(String, Doc)>),
    }

    impl<'de> Deserialize<'de> for Doc {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(DocVisitor)
        }
    }

    struct DocVisitor;

    impl<'de> Visitor<'de> for DocVisitor {
        type Value = Doc;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Doc, E> {
            Ok(Doc::Leaf)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Doc, E> {
            Ok(Doc::Leaf)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Doc, E> {
            Ok(Doc::Leaf)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Doc, E> {
            Ok(Doc::Leaf)
        }
        fn visit_str<E>(self, _: &str) -> Result<Doc, E> {
            Ok(Doc::Leaf)
        }
        fn visit_unit<E>(self) -> Result<Doc, E> {
            Ok(Doc::Leaf)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(Doc::List(items))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
            let mut entries = Vec::new();
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            Ok(Doc::Object(entries))
        }
    }

    impl Doc {
        fn parse(text: &str) -> Doc {
            serde_json::from_str(text).unwrap()
        }

        fn get(&self, key: &str) -> &Doc {
            match self {
                Doc::Object(entries) => &entries.iter().find(|(k, _)| k == key).unwrap().1,
                _ => panic!("no {key}"),
            }
        }

        /// The object's own keys.
        fn keys(&self) -> Vec<&str> {
            match self {
                Doc::Object(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
                _ => Vec::new(),
            }
        }

        /// Every key, depth first, as the text has them (DynamoDB's type descriptors left out).
        fn all_keys(&self) -> Vec<&str> {
            let mut out = Vec::new();
            self.collect(&mut out);
            out
        }

        fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
            match self {
                Doc::Leaf => {}
                Doc::List(items) => items.iter().for_each(|item| item.collect(out)),
                Doc::Object(entries) => {
                    for (key, value) in entries {
                        if !is_descriptor_name(key) {
                            out.push(key);
                        }
                        value.collect(out);
                    }
                }
            }
        }
    }

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/vod-examples/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).unwrap()
    }

    /// A raw message example: `JSON.stringify(msg, null, 2)` plus a final newline.
    fn message_fixture(name: &str) -> String {
        fixture(name).trim_end_matches('\n').to_owned()
    }

    /// A Complete example with `guid` last, where the dynamo Lambda (`delete event.guid` …
    /// `event.guid = guid`, between output-validate and sns-notification) leaves it. The examples
    /// keep the order of creation, guid first.
    fn guid_last(text: &str) -> String {
        let start = text.find("\n  \"guid\": ").unwrap();
        let end = start + 1 + text[start + 1..].find('\n').unwrap();
        let line = text[start + 1..end].trim_end_matches(',');
        let rest = format!("{}{}", &text[..start], &text[end..]);
        format!("{},\n{line}\n}}", rest.strip_suffix("\n}").unwrap())
    }

    /// The examples' stack (tests/fixtures/vod-examples/README.md).
    fn example_stack() -> StackContext {
        StackContext {
            stack_name: "vod-stack".into(),
            account_id: "111122223333".into(),
            ..context()
        }
    }

    /// The record a Complete example was cut from: its fields plus what sns-notification dropped.
    fn record_of(message: &str, dropped: Value) -> Record {
        let mut record: Record = serde_json::from_str(message).unwrap();
        if let Value::Object(dropped) = dropped {
            record.extend(dropped);
        }
        record
    }

    fn completed(groups: Value) -> Value {
        json!({"detail": {"outputGroupDetails": groups}})
    }

    fn file_group(path: &str) -> Value {
        json!({"type": "FILE_GROUP", "outputDetails": [{"outputFilePaths": [path]}]})
    }

    #[test]
    fn the_ingest_message_is_the_solutions_text() {
        let ctx = example_stack();
        let mut record = input_validate(
            &ctx,
            "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8",
            "2025-10-14T09:12:04.118Z",
            "Video",
        );
        apply_video_key(&ctx, &mut record, "uploads/Café Opening Night.MOV");
        assert_eq!(
            message_text(&ingest_message(&record)),
            message_fixture("sns-ingest.json")
        );
        record.remove("srcVideo");
        assert_eq!(
            message_text(&ingest_message(&record)),
            "{\n  \"status\": \"Ingest\",\n  \"guid\": \"2d616d3f-343d-4da4-bd2a-581dd5e3b1f8\"\n}"
        );
    }

    #[test]
    fn error_messages_and_the_stored_event_are_the_solutions_text() {
        let ctx = example_stack();
        let lambda = ErrorReport::lambda(
            &ctx,
            "7b584974-531c-42f7-bf0e-a53d3a595f8e",
            &LambdaFailure::new("mediainfo", "Expecting value: line 1 column 1 (char 0)"),
        );
        assert_eq!(
            message_text(&lambda.message()),
            message_fixture("sns-error-lambda.json")
        );
        let item: Value = serde_json::from_str(&fixture("dynamodb-item-error.json")).unwrap();
        let stored = item["Item"]["errorMessage"]["S"].as_str().unwrap();
        let event: Value = serde_json::from_str(stored).unwrap();
        let (guid, job) = (
            "e2069f55-d2a4-47e4-9e20-7f5b6d9baa04",
            "1760254219257-t2q6ld",
        );
        let encoding = ErrorReport::encoding(&ctx, guid, job, &event);
        assert_eq!(
            message_text(&encoding.message()),
            message_fixture("sns-error.json")
        );
        assert_eq!(encoding.item_error_message, stored);
        // The local ERROR event is written in the same order.
        let message = event["detail"]["errorMessage"].as_str().unwrap();
        let local = error_event(&ctx, guid, job, "2025-10-12T07:30:58Z", 1, 1010, message);
        let local = ErrorReport::encoding(&ctx, guid, job, &local).item_error_message;
        assert_eq!(Doc::parse(&local).all_keys(), Doc::parse(stored).all_keys());
    }

    #[test]
    fn the_complete_message_of_a_default_template_is_the_solutions_text() {
        let text = message_fixture("sns-complete-hls-only.json");
        let record = record_of(
            &text,
            json!({
                "srcMediainfo": "{}", "jobTemplate_2160p": "a", "jobTemplate_1080p": "b",
                "jobTemplate_720p": "c", "encodingJob": {"JobTemplate": "c"},
                "encodingOutput": completed(json!([{"type": "HLS_GROUP", "outputDetails": []}])),
            }),
        );
        let message = complete_message(&record);
        assert_eq!(message_text_for(&message, &record, &[]), guid_last(&text));
        assert_eq!(message_text(&message), guid_last(&text));
    }

    #[test]
    fn complete_messages_with_metadata_every_group_or_mediapackage_are_the_solutions_text() {
        let text = message_fixture("sns-complete.json");
        let groups = json!([
            file_group("s3://d/g/mp4/launch-keynote-2025_1080p.mp4"),
            {"type": "HLS_GROUP"}, {"type": "DASH_ISO_GROUP"}, {"type": "CMAF_GROUP"},
            {"type": "MS_SMOOTH_GROUP"},
            file_group("s3://d/g/thumbnails/launch-keynote-2025_thumb.0000360.jpg"),
        ]);
        let record = record_of(&text, json!({"encodingOutput": completed(groups)}));
        let metadata = metadata_key_order(fixture("metadata-upload.json").as_bytes());
        assert_eq!(
            message_text_for(&complete_message(&record), &record, &metadata),
            guid_last(&text)
        );

        let text = message_fixture("sns-complete-mediapackage.json");
        let groups =
            json!([{"type": "HLS_GROUP"}, file_group("s3://d/g/thumbnails/t.0000029.jpg")]);
        let record = record_of(
            &text,
            json!({"hlsPlaylist": "s3://d/g/hls/t.m3u8", "hlsUrl": "https://c/g/hls/t.m3u8",
                   "encodingOutput": completed(groups)}),
        );
        assert_eq!(message_text(&complete_message(&record)), guid_last(&text));
    }

    #[test]
    fn a_local_workflows_complete_and_sqs_messages_have_the_solutions_key_order() {
        let ctx = StackContext {
            frame_capture: false,
            ..example_stack()
        };
        let guid = "a30ce37f-2cdc-4bcb-ac1b-07cbdf92ca8e";
        let mut record = input_validate(&ctx, guid, "2025-10-13T16:40:02.551Z", "Video");
        apply_video_key(&ctx, &mut record, "uploads/Año Nuevo 2025.mp4");
        record.insert(
            "srcMediainfo".into(),
            json!(r#"{"video": [{"height": 720, "width": 1280}]}"#),
        );
        profile(&mut record).unwrap();
        record.insert("encodingJob".into(), json!({}));
        record.insert("encodeJobId".into(), json!("1760373608913-h7m2pa"));
        let hls = format!(
            "s3://{}/{guid}/hls/Año Nuevo 2025.m3u8",
            ctx.destination_bucket
        );
        let event = complete_event(
            &ctx,
            guid,
            "1760373608913-h7m2pa",
            "2025-10-13T16:44:30Z",
            1,
            &[OutputGroupDetail {
                kind: "HLS_GROUP",
                playlists: vec![hls],
                outputs: vec![],
            }],
        );
        output_validate(&ctx, &mut record, event, "2025-10-13T16:44:31.906Z", &[]).unwrap();

        let complete = message_text(&complete_message(&record));
        let example = guid_last(&message_fixture("sns-complete-hls-only.json"));
        assert_eq!(
            Doc::parse(&complete).all_keys(),
            Doc::parse(&example).all_keys()
        );

        // sqs-publish sends the whole record: the item's order, guid last.
        let sqs = message_text(&Value::Object(record.clone()));
        let item = Doc::parse(&fixture("dynamodb-item-complete-scan.json"));
        let mut expected = item.keys();
        expected.retain(|k| *k != "guid");
        expected.push("guid");
        assert_eq!(Doc::parse(&sqs).keys(), expected);
    }

    #[test]
    fn a_stored_complete_event_is_written_in_eventbridges_order() {
        let text = fixture("dynamodb-item-complete.json");
        let item = unwrap_document(&serde_json::from_str(&text).unwrap()).unwrap();
        let written = stringify(&item["encodingOutput"], EVENT);
        let example = Doc::parse(&text);
        assert_eq!(
            Doc::parse(&written).all_keys(),
            example.get("Item").get("encodingOutput").all_keys()
        );
    }

    #[test]
    fn error_reports_have_the_five_keys_and_the_right_details() {
        let ctx = context();
        let lambda = ErrorReport::lambda(
            &ctx,
            "g",
            &LambdaFailure::new("mediainfo", "Expecting value: line 1 column 1 (char 0)"),
        );
        let message = lambda.message();
        assert_eq!(message.as_object().unwrap().len(), 5);
        assert_eq!(message["workflowErrorAt"], "vod-local-mediainfo");
        assert_eq!(
            message["errorDetails"],
            "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logStream:group=/aws/lambda/vod-local-mediainfo"
        );
        let event = error_event(&ctx, "g", "1-abcdef", "t", 1, 1010, "ffmpeg said no");
        let encoding = ErrorReport::encoding(&ctx, "g", "1-abcdef", &event);
        assert_eq!(encoding.message()["errorMessage"], "ffmpeg said no");
        assert!(
            encoding
                .item_error_message
                .contains("\"status\": \"ERROR\"")
        );
        assert_eq!(
            encoding.error_details,
            "https://console.aws.amazon.com/mediaconvert/home?region=us-east-1#/jobs/summary/1-abcdef"
        );
        assert_eq!(error_subject("g"), " workflow Status:: Error: g");
        assert_eq!(
            status_subject("Ingest", "g"),
            "Workflow Status:: Ingest:: g"
        );
    }
}
