//! The workflow record (`JobRecord`): one typed view of a workflow that SNS message bodies and
//! (unwrapped) DynamoDB items both map into, with the §8 resolution rules (status precedence,
//! URL fallbacks to MediaPackage egress endpoints, thumbnail field names across releases).
//!
//! Strictness follows §8 rule 5: status, guid and the URL list fields make a document INVALID;
//! any other field of the wrong type is dropped with a warning, because the rest of the record
//! is still worth showing (metadata overrides can store arbitrary types, §5).

use serde::Serialize;

use super::record_metadata::{MetadataField, metadata_fields};
use serde_json::{Map, Value};

use super::error::{DecodeError, join, quoted, type_name};
use super::mediainfo::MediaInfo;
use super::value::as_u64;

/// `workflowStatus` / `status`, case-insensitively (v4 wrote `error` in lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkflowStatus {
    Ingest,
    Complete,
    Error,
}

impl WorkflowStatus {
    /// Case-insensitive match of the three known values; anything else is `None`.
    pub fn parse(text: &str) -> Option<WorkflowStatus> {
        if text.eq_ignore_ascii_case("ingest") {
            Some(WorkflowStatus::Ingest)
        } else if text.eq_ignore_ascii_case("complete") {
            Some(WorkflowStatus::Complete)
        } else if text.eq_ignore_ascii_case("error") {
            Some(WorkflowStatus::Error)
        } else {
            None
        }
    }

    /// The lower-case name used in normalized output.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::Ingest => "ingest",
            WorkflowStatus::Complete => "complete",
            WorkflowStatus::Error => "error",
        }
    }

    /// Complete and Error end a workflow; a late Ingest must never downgrade them (§4 Delivery).
    pub fn is_terminal(self) -> bool {
        !matches!(self, WorkflowStatus::Ingest)
    }
}

/// What kind of document the record was read from. It changes the status rule: messages fall
/// back from `workflowStatus` to `status` (Ingest messages use `status`), items never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOrigin {
    /// An SNS message body (raw, or the `Message` of an envelope).
    Message,
    /// A DynamoDB item, already unwrapped to plain JSON.
    Item,
}

/// MediaPackage egress URLs (`egressEndpoints`), present when EnableMediaPackage is on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EgressEndpoints {
    pub hls: Option<String>,
    pub dash: Option<String>,
    pub mss: Option<String>,
    pub cmaf: Option<String>,
}

/// Per-output-group fields exactly as written in the record. Use the `JobRecord` accessors
/// (`hls_url()`, ...) for the §8 resolved values, which fall back to the egress endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outputs {
    /// `hlsPlaylist` (`s3://` URI).
    pub hls_playlist: Option<String>,
    /// `hlsUrl`.
    pub hls_url: Option<String>,
    pub dash_playlist: Option<String>,
    pub dash_url: Option<String>,
    pub cmaf_hls_playlist: Option<String>,
    pub cmaf_hls_url: Option<String>,
    pub cmaf_dash_playlist: Option<String>,
    pub cmaf_dash_url: Option<String>,
    pub mss_playlist: Option<String>,
    pub mss_url: Option<String>,
    /// `mp4Outputs` (`s3://` URIs), in event order.
    pub mp4_outputs: Vec<String>,
    /// `mp4Urls`, in event order.
    pub mp4_urls: Vec<String>,
    /// `thumbNails` (v5.1+) else `thumbNail` (older): `s3://` URIs.
    pub thumbnails: Vec<String>,
    /// `thumbNailsUrls` else `thumbNailsUrl` else `thumbNailUrl`; a lone string is one element.
    pub thumbnail_urls: Vec<String>,
}

/// One workflow as the solution describes it, from an SNS message or a DynamoDB item. Fields the
/// document does not carry are `None`/empty: Ingest messages have only guid, status and srcVideo;
/// Error messages have no srcVideo; Complete messages have no srcMediainfo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// Non-empty by construction.
    pub guid: String,
    pub status: WorkflowStatus,
    /// `startTime` as written: ISO-8601 from v5.0, `YYYY-MM-DD HH:mm.S` in v4.
    pub start_time: Option<String>,
    /// `endTime`, or v4's `EndTime`, as written.
    pub end_time: Option<String>,
    /// `Video` or `Metadata`.
    pub workflow_trigger: Option<String>,
    /// The stack name.
    pub workflow_name: Option<String>,
    pub src_bucket: Option<String>,
    pub dest_bucket: Option<String>,
    /// CloudFront domain, no scheme.
    pub cloud_front: Option<String>,
    /// Source key, unencoded.
    pub src_video: Option<String>,
    /// Metadata mode only: the key of the JSON file.
    pub src_metadata_file: Option<String>,
    pub frame_capture: Option<bool>,
    pub enable_media_package: Option<bool>,
    pub src_width: Option<u64>,
    pub src_height: Option<u64>,
    /// 2160, 1080 or 720.
    pub encoding_profile: Option<u64>,
    pub job_template: Option<String>,
    pub is_custom_template: Option<bool>,
    /// `encodeJobId`, or v4's misspelled `ecodeJobId`.
    pub encode_job_id: Option<String>,
    pub outputs: Outputs,
    /// `mediaPackageResourceId`.
    pub media_package_resource_id: Option<String>,
    pub egress_endpoints: EgressEndpoints,
    /// Failing function name, or `Encoding`.
    pub workflow_error_at: Option<String>,
    /// As written; may be long and multi-line (items hold the whole EventBridge event).
    pub error_message: Option<String>,
    /// A console URL.
    pub error_details: Option<String>,
    /// Parsed srcMediainfo (items, and the stack queue's full records).
    pub media_info: Option<MediaInfo>,
    /// `archiveSource`: `GLACIER` or `DEEP_ARCHIVE` when the source is archived after the workflow.
    pub archive_source: Option<String>,
    /// Metadata mode: the fields the metadata file added (title, …), bounded for display.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<MetadataField>,
    /// How many metadata fields there were beyond those kept.
    #[serde(skip_serializing_if = "is_zero")]
    pub metadata_left_out: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl JobRecord {
    /// Reads a plain record. `prefix` starts every error path and warning (e.g. `Message` for an
    /// envelope's body, `Item` for get-item output, `""` for none). Returns the record and the
    /// warnings about fields that were present but unusable.
    pub fn read(
        obj: &Map<String, Value>,
        origin: RecordOrigin,
        prefix: &str,
    ) -> Result<(JobRecord, Vec<String>), DecodeError> {
        let mut r = Reader {
            obj,
            prefix,
            warnings: Vec::new(),
        };
        let status = r.status(origin)?;
        let (metadata, metadata_left_out) = metadata_fields(obj);
        let guid = r.guid()?;
        let outputs = Outputs {
            hls_playlist: r.string("hlsPlaylist"),
            hls_url: r.string("hlsUrl"),
            dash_playlist: r.string("dashPlaylist"),
            dash_url: r.string("dashUrl"),
            cmaf_hls_playlist: r.string("cmafHlsPlaylist"),
            cmaf_hls_url: r.string("cmafHlsUrl"),
            cmaf_dash_playlist: r.string("cmafDashPlaylist"),
            cmaf_dash_url: r.string("cmafDashUrl"),
            mss_playlist: r.string("mssPlaylist"),
            mss_url: r.string("mssUrl"),
            mp4_outputs: r.list(&["mp4Outputs"])?,
            mp4_urls: r.list(&["mp4Urls"])?,
            thumbnails: r.list(&["thumbNails", "thumbNail"])?,
            thumbnail_urls: r.list(&["thumbNailsUrls", "thumbNailsUrl", "thumbNailUrl"])?,
        };
        let record = JobRecord {
            guid,
            status,
            start_time: r.string("startTime"),
            end_time: r.first_string(&["endTime", "EndTime"]),
            workflow_trigger: r.string("workflowTrigger"),
            workflow_name: r.string("workflowName"),
            src_bucket: r.string("srcBucket"),
            dest_bucket: r.string("destBucket"),
            cloud_front: r.string("cloudFront"),
            src_video: r.string("srcVideo"),
            src_metadata_file: r.string("srcMetadataFile"),
            frame_capture: r.boolean("frameCapture"),
            enable_media_package: r.boolean("enableMediaPackage"),
            src_width: r.count("srcWidth"),
            src_height: r.count("srcHeight"),
            encoding_profile: r.count("encodingProfile"),
            job_template: r.string("jobTemplate"),
            is_custom_template: r.boolean("isCustomTemplate"),
            encode_job_id: r.first_string(&["encodeJobId", "ecodeJobId"]),
            outputs,
            media_package_resource_id: r.string("mediaPackageResourceId"),
            egress_endpoints: r.egress(),
            workflow_error_at: r.string("workflowErrorAt"),
            error_message: r.string("errorMessage"),
            error_details: r.string("errorDetails"),
            media_info: r.media_info(),
            archive_source: r.string("archiveSource"),
            metadata,
            metadata_left_out,
        };
        Ok((record, r.warnings))
    }

    /// `hlsUrl`, else `egressEndpoints.HLS`.
    pub fn hls_url(&self) -> Option<&str> {
        (self.outputs.hls_url.as_deref()).or(self.egress_endpoints.hls.as_deref())
    }

    /// `dashUrl`, else `egressEndpoints.DASH`.
    pub fn dash_url(&self) -> Option<&str> {
        (self.outputs.dash_url.as_deref()).or(self.egress_endpoints.dash.as_deref())
    }

    /// `cmafHlsUrl`, else `egressEndpoints.CMAF` (MediaPackage's CMAF has HLS manifests).
    pub fn cmaf_hls_url(&self) -> Option<&str> {
        (self.outputs.cmaf_hls_url.as_deref()).or(self.egress_endpoints.cmaf.as_deref())
    }

    /// `cmafDashUrl`; MediaPackage has no CMAF-DASH endpoint to fall back to.
    pub fn cmaf_dash_url(&self) -> Option<&str> {
        self.outputs.cmaf_dash_url.as_deref()
    }

    /// `mssUrl`, else `egressEndpoints.MSS`.
    pub fn mss_url(&self) -> Option<&str> {
        (self.outputs.mss_url.as_deref()).or(self.egress_endpoints.mss.as_deref())
    }

    /// `mp4Urls`, order kept.
    pub fn mp4_urls(&self) -> &[String] {
        &self.outputs.mp4_urls
    }

    /// Thumbnail URLs, order kept (normally one: the last capture, §7).
    pub fn thumbnail_urls(&self) -> &[String] {
        &self.outputs.thumbnail_urls
    }

    /// `container.duration` of srcMediainfo.
    pub fn duration_seconds(&self) -> Option<f64> {
        self.media_info
            .as_ref()
            .and_then(MediaInfo::duration_seconds)
    }

    /// `video[0].width` of srcMediainfo.
    pub fn width(&self) -> Option<u64> {
        self.media_info.as_ref().and_then(MediaInfo::width)
    }

    /// `video[0].height` of srcMediainfo.
    pub fn height(&self) -> Option<u64> {
        self.media_info.as_ref().and_then(MediaInfo::height)
    }

    /// `video[0].codec` of srcMediainfo.
    pub fn video_codec(&self) -> Option<&str> {
        self.media_info.as_ref().and_then(MediaInfo::video_codec)
    }
}

struct Reader<'a> {
    obj: &'a Map<String, Value>,
    prefix: &'a str,
    warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    fn path(&self, key: &str) -> String {
        join(self.prefix, key)
    }

    /// A present, non-null member; `null` means "unknown" and reads like an absent key.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn warn_type(&mut self, key: &str, expected: &str, found: &Value) {
        let warning = format!(
            "{}: expected {expected}, found {}; ignored",
            self.path(key),
            type_name(found)
        );
        self.warnings.push(warning);
    }

    fn status(&self, origin: RecordOrigin) -> Result<WorkflowStatus, DecodeError> {
        let keys: &[&str] = match origin {
            RecordOrigin::Message => &["workflowStatus", "status"],
            RecordOrigin::Item => &["workflowStatus"],
        };
        for key in keys {
            match self.get(key) {
                None => continue,
                Some(Value::String(text)) => {
                    return WorkflowStatus::parse(text).ok_or_else(|| {
                        DecodeError::invalid(
                            self.path(key),
                            format!(
                                "unknown status {} (expected Ingest, Complete or Error)",
                                quoted(text)
                            ),
                        )
                    });
                }
                Some(other) => {
                    return Err(DecodeError::invalid(
                        self.path(key),
                        format!("expected a status string, found {}", type_name(other)),
                    ));
                }
            }
        }
        Err(match origin {
            RecordOrigin::Message => DecodeError::invalid(
                self.path("workflowStatus"),
                "missing (neither \"workflowStatus\" nor \"status\" is present)",
            ),
            RecordOrigin::Item => DecodeError::invalid(self.path("workflowStatus"), "missing"),
        })
    }

    fn guid(&self) -> Result<String, DecodeError> {
        match self.obj.get("guid") {
            Some(Value::String(guid)) if !guid.is_empty() => Ok(guid.clone()),
            Some(Value::String(_)) => Err(DecodeError::invalid(self.path("guid"), "empty string")),
            None => Err(DecodeError::invalid(self.path("guid"), "missing")),
            Some(other) => Err(DecodeError::invalid(
                self.path("guid"),
                format!("expected a string, found {}", type_name(other)),
            )),
        }
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.warn_type(key, "a string", other);
                None
            }
        }
    }

    /// The first of `keys` that is present (older releases spell some fields differently).
    fn first_string(&mut self, keys: &[&str]) -> Option<String> {
        let key = keys.iter().find(|k| self.get(k).is_some())?;
        self.string(key)
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.warn_type(key, "a boolean", other);
                None
            }
        }
    }

    fn count(&mut self, key: &str) -> Option<u64> {
        let value = self.get(key)?;
        let count = as_u64(value);
        if count.is_none() {
            let warning = format!(
                "{}: expected a non-negative integer, found {}; ignored",
                self.path(key),
                describe_number(value)
            );
            self.warnings.push(warning);
        }
        count
    }

    /// A URL/URI list: the first present key of `keys` (release spellings in order of
    /// preference). A lone string is a one-element list; anything else is INVALID (§8 rule 5).
    fn list(&self, keys: &[&str]) -> Result<Vec<String>, DecodeError> {
        let Some((key, value)) = keys.iter().find_map(|k| self.get(k).map(|v| (*k, v))) else {
            return Ok(Vec::new());
        };
        match value {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(DecodeError::invalid(
                        format!("{}[{i}]", self.path(key)),
                        format!("expected a string, found {}", type_name(other)),
                    )),
                })
                .collect(),
            other => Err(DecodeError::invalid(
                self.path(key),
                format!(
                    "expected a list of strings or a string, found {}",
                    type_name(other)
                ),
            )),
        }
    }

    fn egress(&mut self) -> EgressEndpoints {
        let Some(value) = self.get("egressEndpoints") else {
            return EgressEndpoints::default();
        };
        let Value::Object(endpoints) = value else {
            self.warn_type("egressEndpoints", "an object", value);
            return EgressEndpoints::default();
        };
        let mut member = |name: &str| match endpoints.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(url)) => Some(url.clone()),
            Some(other) => {
                let warning = format!(
                    "{}: expected a string, found {}; ignored",
                    self.path(&format!("egressEndpoints.{name}")),
                    type_name(other)
                );
                self.warnings.push(warning);
                None
            }
        };
        EgressEndpoints {
            hls: member("HLS"),
            dash: member("DASH"),
            mss: member("MSS"),
            cmaf: member("CMAF"),
        }
    }

    fn media_info(&mut self) -> Option<MediaInfo> {
        let value = self.get("srcMediainfo")?;
        match MediaInfo::from_value(value) {
            Ok(info) => Some(info),
            Err(err) => {
                let warning = format!(
                    "{}: {err}; duration, width, height and codec are unknown",
                    self.path("srcMediainfo")
                );
                self.warnings.push(warning);
                None
            }
        }
    }
}

/// For count warnings: a number that fails the rule is worth showing (`-5`, `1e30`).
fn describe_number(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("{n}"),
        Value::String(s) => format!("the string {}", quoted(s)),
        other => type_name(other).to_owned(),
    }
}
