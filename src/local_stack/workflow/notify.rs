//! What the workflow tells the world: sns-notification's Ingest and Complete messages and subjects,
//! and the error handler's item attributes and Error message ([`ErrorReport`]), all as the solution's
//! Lambdas write them.

use serde_json::{Value, json};

use super::{LambdaFailure, Record, StackContext, is_truthy};

/// sns-notification, Ingest: exactly three keys.
pub(crate) fn ingest_message(record: &Record) -> Value {
    json!({
        "status": "Ingest",
        "guid": record.get("guid").cloned().unwrap_or(Value::Null),
        "srcVideo": record.get("srcVideo").cloned().unwrap_or(Value::Null),
    })
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
            item_error_message: serde_json::to_string_pretty(event).unwrap_or_default(),
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
        json!({
            "guid": self.guid,
            "workflowStatus": "Error",
            "workflowErrorAt": self.workflow_error_at,
            "errorMessage": self.message_error_message,
            "errorDetails": self.error_details,
        })
    }
}

/// `JSON.stringify(msg, null, 2)`: two-space indentation, non-ASCII left as is.
pub(crate) fn message_text(message: &Value) -> String {
    serde_json::to_string_pretty(message).unwrap_or_else(|_| message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_stack::workflow::error_event;
    use crate::local_stack::workflow::tests::context;

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
