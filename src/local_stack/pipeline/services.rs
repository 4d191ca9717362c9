//! The worker's calls to the stack's services: the record written to its DynamoDB item with
//! UpdateItem SET (DocumentClient types), the error handler's UpdateItem, SNS messages, and S3: the source read (streamed to disk), the
//! outputs written with their Content-Type, the thumbnails listed. Failures are the SDK's message.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;

use super::Shared;
use crate::aws::connection::AwsClients;
use crate::aws::sdk_error;
use crate::local_stack::object_upload::put_files;
use crate::local_stack::transcode::OutputFile;
use crate::local_stack::workflow::{self, ErrorReport, Record};

/// The error handler: UpdateItem SET the four error attributes (creating the sparse item when the
/// workflow failed before its Ingest write), then the Error message, whatever EnableSns says.
pub(super) async fn error_handler(shared: &Shared, report: &ErrorReport) -> Result<(), String> {
    shared
        .clients
        .dynamodb
        .update_item()
        .table_name(&shared.targets.table)
        .key("guid", AttributeValue::S(report.guid.clone()))
        .update_expression(
            "SET workflowStatus = :st,workflowErrorAt = :ea,errorMessage = :em,errorDetails = :ed",
        )
        .expression_attribute_values(":st", AttributeValue::S("Error".into()))
        .expression_attribute_values(":ea", AttributeValue::S(report.workflow_error_at.clone()))
        .expression_attribute_values(":em", AttributeValue::S(report.item_error_message.clone()))
        .expression_attribute_values(":ed", AttributeValue::S(report.error_details.clone()))
        .send()
        .await
        .map_err(|e| sdk_error::describe(&e))?;
    publish(
        shared,
        &workflow::error_subject(&report.guid),
        workflow::message_text(&report.message()),
    )
    .await
}

/// archive-source: tags the source object `guid=<guid>` and `<stack>=<class>` (the Lambda's name
/// less `-archive-source`), the tag the source bucket's lifecycle rules select on AWS.
pub(super) async fn tag_for_archive(
    clients: &AwsClients,
    bucket: &str,
    key: &str,
    guid: &str,
    stack_name: &str,
    class: &str,
) -> Result<(), String> {
    let tag = |key: &str, value: &str| {
        aws_sdk_s3::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(|e| e.to_string())
    };
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .tag_set(tag("guid", guid)?)
        .tag_set(tag(stack_name, class)?)
        .build()
        .map_err(|e| e.to_string())?;
    clients
        .s3
        .put_object_tagging()
        .bucket(bucket)
        .key(key)
        .tagging(tagging)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error::describe(&e))
}

/// Publishes a message body (its text as the Lambda writes it) to the stack's topic.
pub(super) async fn publish(shared: &Shared, subject: &str, text: String) -> Result<(), String> {
    shared
        .clients
        .sns
        .publish()
        .topic_arn(&shared.targets.topic_arn)
        .subject(subject)
        .message(text)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error::describe(&e))
}

/// DocumentClient types: strings S, numbers N, booleans BOOL, arrays L, objects M.
pub fn attribute_value(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(attribute_value).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| (k.clone(), attribute_value(v)))
                .collect(),
        ),
    }
}

/// The dynamo Lambda: UpdateItem SET of every attribute of the record but its key, so attributes
/// another writer added stay (the solution never uses PutItem). The key is the record's own `guid`,
/// as the Lambda's `Key: {guid: event.guid}`. Names are written into the expression as they are, as
/// the Lambda does, so a metadata key that is a DynamoDB reserved word, or holds a space or a
/// hyphen, fails here exactly as on AWS. The failure reads as the Lambda's `err.toString()`.
pub(super) async fn update_record(
    shared: &Shared,
    record: &Record,
    metadata_keys: &[String],
) -> Result<(), String> {
    let key = attribute_value(record.get("guid").unwrap_or(&Value::Null));
    let update = SetUpdate::of(record, metadata_keys);
    shared
        .clients
        .dynamodb
        .update_item()
        .table_name(&shared.targets.table)
        .key("guid", key)
        .update_expression(update.expression)
        .set_expression_attribute_values(Some(update.values))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| js_error_text(&e))
}

/// An SDK error as the Node SDK's `err.toString()` reads: `<code>: <message>`; the whole
/// description when the service gave no code.
pub(super) fn js_error_text<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error
        .as_service_error()
        .and_then(|service| service.code().map(|code| (code, service.message())))
    {
        Some((code, Some(message))) => format!("{code}: {message}"),
        Some((code, None)) => code.to_owned(),
        None => sdk_error::describe(error),
    }
}

/// `set k1 = :1, k2 = :2, …` over a record's attributes but `guid`, in the order the Lambda's event
/// holds them ([`workflow::key_order`]), names inlined as the dynamo Lambda writes them.
#[derive(Debug, PartialEq)]
struct SetUpdate {
    expression: String,
    values: HashMap<String, AttributeValue>,
}

impl SetUpdate {
    fn of(record: &Record, metadata_keys: &[String]) -> Self {
        let mut clauses = Vec::new();
        let mut values = HashMap::new();
        let order = workflow::key_order(record, metadata_keys);
        let attributes = order
            .iter()
            .filter(|key| **key != "guid")
            .filter_map(|key| record.get_key_value(*key));
        for (i, (name, value)) in attributes.enumerate() {
            let placeholder = format!(":{}", i + 1);
            clauses.push(format!("{name} = {placeholder}"));
            values.insert(placeholder, attribute_value(value));
        }
        Self {
            expression: format!("set {}", clauses.join(", ")),
            values,
        }
    }
}

/// GetObject's body, for both readers below.
async fn get_object(clients: &AwsClients, bucket: &str, key: &str) -> Result<ByteStream, String> {
    clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map(|object| object.body)
        .map_err(|e| sdk_error::describe(&e))
}

pub(super) async fn get_object_bytes(
    clients: &AwsClients,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, String> {
    get_object(clients, bucket, key)
        .await?
        .collect()
        .await
        .map(|data| data.to_vec())
        .map_err(|e| e.to_string())
}

/// Streams the object to `path` (the source may be larger than memory).
pub(super) async fn download(
    clients: &AwsClients,
    bucket: &str,
    key: &str,
    path: &PathBuf,
) -> Result<(), String> {
    let mut reader = get_object(clients, bucket, key).await?.into_async_read();
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| format!("[Errno 5] {e}"))?;
    tokio::io::copy(&mut reader, &mut file)
        .await
        .map_err(|e| format!("[Errno 5] {e}"))?;
    Ok(())
}

pub(super) async fn list_keys(
    clients: &AwsClients,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, String> {
    // ListObjects v1, first page only (at most 1000 keys), as output-validate does.
    let listed = clients
        .s3
        .list_objects()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .map_err(|e| sdk_error::describe(&e))?;
    Ok(listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect())
}

/// MediaConvert writing the job's outputs into the destination bucket under `<guid>/`.
pub(super) async fn upload_outputs(
    clients: &AwsClients,
    bucket: &str,
    guid: &str,
    files: &[OutputFile],
) -> Result<(), String> {
    let files = files
        .iter()
        .map(|file| (format!("{guid}/{}", file.relative_key), file.path.clone()))
        .collect();
    put_files(&clients.s3, bucket, files)
        .await
        .map_err(|failure| failure.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_follow_the_document_client() {
        let value =
            serde_json::json!({"n": 1080, "f": 29.97, "b": true, "l": ["a"], "m": {"x": null}});
        let AttributeValue::M(map) = attribute_value(&value) else {
            panic!("not a map");
        };
        assert_eq!(map["n"], AttributeValue::N("1080".into()));
        assert_eq!(map["f"], AttributeValue::N("29.97".into()));
        assert_eq!(map["b"], AttributeValue::Bool(true));
        assert_eq!(
            map["l"],
            AttributeValue::L(vec![AttributeValue::S("a".into())])
        );
    }

    #[test]
    fn every_attribute_but_the_key_is_set_with_its_name_inlined() {
        let record: Record = serde_json::from_value(serde_json::json!({
            "guid": "g-1", "workflowStatus": "Ingest", "encodingProfile": 720, "title": "Keynote"
        }))
        .unwrap();
        let update = SetUpdate::of(&record, &["title".to_owned()]);
        // The dynamo Lambda's own text: `'set ' + ' k = :1,' …` less the trailing comma.
        assert_eq!(
            update.expression,
            "set workflowStatus = :1, title = :2, encodingProfile = :3"
        );
        assert_eq!(update.values[":1"], AttributeValue::S("Ingest".into()));
        assert_eq!(update.values[":2"], AttributeValue::S("Keynote".into()));
        assert_eq!(update.values[":3"], AttributeValue::N("720".into()));
        assert_eq!(update.values.len(), 3);
    }
}
