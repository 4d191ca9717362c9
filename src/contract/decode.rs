//! §8 end to end: source detection (SNS envelope, DynamoDB JSON, raw SNS message), the envelope
//! rules, and the normalized output of `vodesk decode`. The live monitor decodes queue bodies
//! and the engine decodes SDK items through the same functions, so every path gives the same
//! answer for the same workflow.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde_json::{Map, Value};

use super::dynamodb;
use super::error::{DecodeError, quoted, type_name};
use super::record::{JobRecord, RecordOrigin, WorkflowStatus};

/// Where a decoded document came from (§8 rule 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Source {
    /// A raw notification body (raw message delivery on).
    #[serde(rename = "sns")]
    Sns,
    /// An SNS envelope (raw delivery off, or an HTTP subscription).
    #[serde(rename = "sns-envelope")]
    SnsEnvelope,
    /// A DynamoDB item: DynamoDB JSON, or an SDK item.
    #[serde(rename = "dynamodb-item")]
    DynamodbItem,
}

impl Source {
    /// The name used in normalized output.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Sns => "sns",
            Source::SnsEnvelope => "sns-envelope",
            Source::DynamodbItem => "dynamodb-item",
        }
    }
}

/// The document's kind (§8 rule 2), plus `Ignored` for subscription confirmations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Ingest,
    Complete,
    Error,
    Ignored,
}

impl Kind {
    /// The name used in normalized output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ingest => "ingest",
            Kind::Complete => "complete",
            Kind::Error => "error",
            Kind::Ignored => "ignored",
        }
    }
}

impl From<WorkflowStatus> for Kind {
    fn from(status: WorkflowStatus) -> Kind {
        match status {
            WorkflowStatus::Ingest => Kind::Ingest,
            WorkflowStatus::Complete => Kind::Complete,
            WorkflowStatus::Error => Kind::Error,
        }
    }
}

/// The SNS envelope's own fields, kept so the monitor can log message ids and, for a
/// cross-account `SubscriptionConfirmation`, confirm with `TopicArn` + `Token` (§4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
    pub message_type: String,
    pub message_id: Option<String>,
    pub topic_arn: Option<String>,
    pub subject: Option<String>,
    pub timestamp: Option<String>,
    /// Confirmations only.
    pub token: Option<String>,
    /// Confirmations only.
    pub subscribe_url: Option<String>,
    /// Notifications only.
    pub unsubscribe_url: Option<String>,
}

/// A successfully decoded document. `record` is `None` exactly when `kind` is `Ignored`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub source: Source,
    pub kind: Kind,
    pub record: Option<JobRecord>,
    /// Non-fatal problems (unparsable srcMediainfo, fields of the wrong type), one line each.
    pub warnings: Vec<String>,
    /// Present when `source` is `SnsEnvelope`.
    pub envelope: Option<Envelope>,
}

/// The `vodesk decode` output object. Field order is the §8 key order; serde writes `null` for
/// `None`, and the two URL lists are always lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NormalizedJson {
    pub source: Source,
    pub kind: Kind,
    pub guid: Option<String>,
    pub src_video: Option<String>,
    pub hls_url: Option<String>,
    pub dash_url: Option<String>,
    pub cmaf_hls_url: Option<String>,
    pub cmaf_dash_url: Option<String>,
    pub mss_url: Option<String>,
    pub mp4_urls: Vec<String>,
    pub thumbnail_urls: Vec<String>,
    pub error_message: Option<String>,
    pub duration_seconds: Option<f64>,
    pub width: Option<u64>,
    pub height: Option<u64>,
    pub video_codec: Option<String>,
}

impl Decoded {
    /// The workflow's guid (`None` only for ignored envelopes).
    pub fn guid(&self) -> Option<&str> {
        self.record.as_ref().map(|r| r.guid.as_str())
    }

    /// The §8 output object.
    pub fn normalized(&self) -> NormalizedJson {
        let owned = |s: Option<&str>| s.map(str::to_owned);
        let r = self.record.as_ref();
        NormalizedJson {
            source: self.source,
            kind: self.kind,
            guid: r.map(|r| r.guid.clone()),
            src_video: r.and_then(|r| r.src_video.clone()),
            hls_url: owned(r.and_then(JobRecord::hls_url)),
            dash_url: owned(r.and_then(JobRecord::dash_url)),
            cmaf_hls_url: owned(r.and_then(JobRecord::cmaf_hls_url)),
            cmaf_dash_url: owned(r.and_then(JobRecord::cmaf_dash_url)),
            mss_url: owned(r.and_then(JobRecord::mss_url)),
            mp4_urls: r.map(|r| r.mp4_urls().to_vec()).unwrap_or_default(),
            thumbnail_urls: r.map(|r| r.thumbnail_urls().to_vec()).unwrap_or_default(),
            error_message: r.and_then(|r| r.error_message.clone()),
            duration_seconds: r.and_then(JobRecord::duration_seconds),
            width: r.and_then(JobRecord::width),
            height: r.and_then(JobRecord::height),
            video_codec: owned(r.and_then(JobRecord::video_codec)),
        }
    }
}

/// Decodes ONE JSON document by §8: an SNS envelope, DynamoDB JSON (bare or `{"Item": ...}`),
/// or a raw SNS message body. A leading UTF-8 byte-order mark is skipped.
pub fn decode_document(input: &[u8]) -> Result<Decoded, DecodeError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    if input
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Err(DecodeError::Empty);
    }
    // serde_json's default recursion limit (128) stays on: deep nesting is an error, not a
    // stack overflow.
    let value: Value = serde_json::from_slice(input).map_err(|e| DecodeError::not_json(&e))?;
    decode_value(&value)
}

/// Decodes an SQS message body from vodesk's own queue (raw delivery, or an envelope when raw
/// delivery is off); the same rules as [`decode_document`].
pub fn decode_message_body(body: &str) -> Result<Decoded, DecodeError> {
    decode_document(body.as_bytes())
}

/// Decodes an already-parsed JSON document (source detection included).
pub fn decode_value(value: &Value) -> Result<Decoded, DecodeError> {
    match value {
        Value::Object(obj) => decode_object(obj),
        other => Err(DecodeError::NotAnObject(type_name(other))),
    }
}

/// Decodes a top-level JSON object (source detection included).
pub fn decode_object(obj: &Map<String, Value>) -> Result<Decoded, DecodeError> {
    if let Some(message_type) = envelope_type(obj) {
        return decode_envelope(obj, message_type);
    }
    if dynamodb::is_dynamodb_json(obj) {
        let (attributes, prefix) = dynamodb::item_attributes(obj);
        let plain = dynamodb::unwrap_attributes(attributes, prefix)?;
        return decode_record(&plain, RecordOrigin::Item, prefix, Source::DynamodbItem);
    }
    decode_record(obj, RecordOrigin::Message, "", Source::Sns)
}

/// Decodes an item read through the SDK (GetItem/Query/Scan); same result as the DynamoDB JSON
/// of that item.
pub fn decode_sdk_item(item: &HashMap<String, AttributeValue>) -> Result<Decoded, DecodeError> {
    let plain = dynamodb::from_sdk_item(item)?;
    decode_plain_item(&plain)
}

/// Decodes an item already unwrapped to plain JSON (the point where the DynamoDB JSON and SDK
/// paths meet).
pub fn decode_plain_item(attributes: &Map<String, Value>) -> Result<Decoded, DecodeError> {
    decode_record(attributes, RecordOrigin::Item, "", Source::DynamodbItem)
}

/// §8: a top-level string `Type` and a `Message` or `TopicArn` member make an envelope.
fn envelope_type(obj: &Map<String, Value>) -> Option<&str> {
    let message_type = obj.get("Type")?.as_str()?;
    (obj.contains_key("Message") || obj.contains_key("TopicArn")).then_some(message_type)
}

fn decode_envelope(obj: &Map<String, Value>, message_type: &str) -> Result<Decoded, DecodeError> {
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_owned);
    let envelope = Envelope {
        message_type: message_type.to_owned(),
        message_id: text("MessageId"),
        topic_arn: text("TopicArn"),
        subject: text("Subject"),
        timestamp: text("Timestamp"),
        token: text("Token"),
        subscribe_url: text("SubscribeURL"),
        unsubscribe_url: text("UnsubscribeURL"),
    };
    match message_type {
        "Notification" => {
            let message = notification_message(obj)?;
            let mut decoded = decode_record(
                &message,
                RecordOrigin::Message,
                "Message",
                Source::SnsEnvelope,
            )?;
            decoded.envelope = Some(envelope);
            Ok(decoded)
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => Ok(Decoded {
            source: Source::SnsEnvelope,
            kind: Kind::Ignored,
            record: None,
            warnings: Vec::new(),
            envelope: Some(envelope),
        }),
        other => Err(DecodeError::invalid(
            "Type",
            format!(
                "unknown SNS envelope type {} (expected Notification, SubscriptionConfirmation or UnsubscribeConfirmation)",
                quoted(other)
            ),
        )),
    }
}

/// The envelope's `Message`: a string holding a JSON object.
fn notification_message(obj: &Map<String, Value>) -> Result<Map<String, Value>, DecodeError> {
    let text = match obj.get("Message") {
        Some(Value::String(text)) => text,
        Some(other) => {
            return Err(DecodeError::invalid(
                "Message",
                format!(
                    "expected a string holding the JSON message, found {}",
                    type_name(other)
                ),
            ));
        }
        None => {
            return Err(DecodeError::invalid(
                "Message",
                "missing in a Notification envelope",
            ));
        }
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(message)) => Ok(message),
        Ok(other) => Err(DecodeError::invalid(
            "Message",
            format!("expected a JSON object, found {}", type_name(&other)),
        )),
        Err(e) => Err(DecodeError::invalid("Message", format!("not JSON ({e})"))),
    }
}

fn decode_record(
    obj: &Map<String, Value>,
    origin: RecordOrigin,
    prefix: &str,
    source: Source,
) -> Result<Decoded, DecodeError> {
    let (record, warnings) = JobRecord::read(obj, origin, prefix)?;
    Ok(Decoded {
        source,
        kind: record.status.into(),
        record: Some(record),
        warnings,
        envelope: None,
    })
}
