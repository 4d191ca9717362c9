//! The solution's workflow Lambdas as pure functions over the workflow record (contract §1, §4–§7, §10):
//! step-functions (key decoding, trigger kind), input-validate (the record and the metadata merge),
//! profiler (profile and template), encode (the `encodingJob` request and its job id), output-validate
//! (playlists, URLs and thumbnails from a COMPLETE event), sns-notification and error-handler (the exact
//! message bodies and subjects). The pipeline worker does the I/O around them; keeping them pure is what
//! lets the tests check every field against the contract without ffmpeg or an emulator.
//!
//! This file holds what every step shares: the [`Record`], the [`StackContext`], [`LambdaFailure`]
//! and JavaScript truthiness ([`is_truthy`]). The steps: `ingest` (step-functions, input-validate,
//! profiler), `choices` (the state machines' Choice states), `encode` (the templates' ladder, the
//! local job templates and the encode request), `job_events` (MediaConvert's
//! COMPLETE and ERROR events, and output-validate reading them) and `notify` (sns-notification and
//! the error handler's messages), whose text `js_json` writes as Node's `JSON.stringify` does, keys
//! in the order `record_order` gives a record.

mod choices;
mod encode;
mod ingest;
mod job_events;
mod job_settings;
mod js_json;
mod notify;
mod record_order;

use serde_json::{Map, Value};

pub(crate) use choices::{boolean_is_true, process_choices};
pub use encode::{LocalJobTemplate, OutputGroups, local_job_templates};
pub(crate) use encode::{
    Rendition, encoding_job, hls_ladder, mp4_name_modifier, new_job_id, output_base_name,
    template_not_found,
};
pub(crate) use ingest::{
    apply_metadata, apply_video_key, decode_event_key, input_validate, profile,
    workflow_trigger_for_key,
};
pub(crate) use job_events::{
    OutputDetail, OutputGroupDetail, complete_event, error_event, output_validate,
};
pub(crate) use notify::{
    ErrorReport, complete_message, error_subject, ingest_message, message_text, message_text_for,
    status_subject,
};
pub(crate) use record_order::{key_order, metadata_key_order};

/// A workflow record: the DynamoDB item as the solution's Lambdas pass it along.
pub(crate) type Record = Map<String, Value>;

/// What a workflow needs to know about the stack it runs in: the Lambdas' environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackContext {
    pub stack_name: String,
    pub region: String,
    /// The account in ARNs (the emulator's).
    pub account_id: String,
    pub source_bucket: String,
    pub destination_bucket: String,
    /// `host:port` of the local "CloudFront".
    pub cloudfront_domain: String,
    /// `http` locally (the one documented difference, contract §10); `https` on AWS.
    pub url_scheme: String,
    pub frame_capture: bool,
    pub enable_sns: bool,
    pub enable_sqs: bool,
    pub enable_media_package: bool,
    /// The Glacier parameter (`DISABLED`, `GLACIER`, `DEEP_ARCHIVE`): input-validate's
    /// `archiveSource` default.
    pub archive_source: String,
}

impl StackContext {
    /// `<stack>-<function>`, the Lambda names the error handler reports.
    pub fn function_name(&self, function: &str) -> String {
        format!("{}-{function}", self.stack_name)
    }

    /// The default template for a profile: `<stack>_Ott_<res>_Avc_Aac_16x9_qvbr_no_preset`, or
    /// `…_mvod_no_preset` on a stack with MediaPackage on (the solution creates both sets and points
    /// input-validate at the one its MediaPackage parameter needs).
    pub fn template_name(&self, profile: u32) -> String {
        let rate_control = if self.enable_media_package {
            "mvod"
        } else {
            "qvbr"
        };
        format!(
            "{}_Ott_{profile}p_Avc_Aac_16x9_{rate_control}_no_preset",
            self.stack_name
        )
    }

    /// output-validate's URL for an output: on the record's `cloudFront` (the stack's domain,
    /// unless a metadata file overrode it, as the solution reads it from the item).
    fn url_for_s3_uri(&self, uri: &str, cloudfront: &str) -> String {
        // buildUrl: drop `s3://<bucket>/`, then plain concatenation, not percent-encoded (contract §7).
        let path = uri
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .map(|(_, key)| key)
            .unwrap_or(uri);
        format!("{}://{cloudfront}/{path}", self.url_scheme)
    }
}

/// A Lambda's failure as the error handler receives it: the function and `err.toString()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function}: {message}")]
pub(crate) struct LambdaFailure {
    /// The bare function name (`input-validate`, `mediainfo`, `profiler`, `output-validate`, …).
    pub function: &'static str,
    /// What the Lambda's `err.toString()` (Node) or `str(err)` (Python) would read.
    pub message: String,
}

impl LambdaFailure {
    pub(crate) fn new(function: &'static str, message: impl Into<String>) -> Self {
        Self {
            function,
            message: message.into(),
        }
    }
}

/// JavaScript truthiness, for the flags a metadata file may have set to other types.
pub(crate) fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stack every step's tests run in.
    pub(super) fn context() -> StackContext {
        StackContext {
            stack_name: "vod-local".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            source_bucket: "vod-local-source71e471f1-abc".into(),
            destination_bucket: "vod-local-destination920a3c57-def".into(),
            cloudfront_domain: "127.0.0.1:8123".into(),
            url_scheme: "http".into(),
            frame_capture: true,
            enable_sns: true,
            enable_sqs: true,
            enable_media_package: false,
            archive_source: "DISABLED".into(),
        }
    }
}
