//! The solution's workflow Lambdas as pure functions over the workflow record (contract §1, §4–§7, §10):
//! step-functions (key decoding, trigger kind), input-validate (the record and the metadata merge),
//! profiler (profile and template), encode (the `encodingJob` request and its job id), output-validate
//! (playlists, URLs and thumbnails from a COMPLETE event), sns-notification and error-handler (the exact
//! message bodies and subjects). The pipeline worker does the I/O around them; keeping them pure is what
//! lets the tests check every field against the contract without ffmpeg or an emulator.

use serde_json::{Map, Value, json};

/// A workflow record: the DynamoDB item as the solution's Lambdas pass it along.
pub type Record = Map<String, Value>;

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
}

impl StackContext {
    /// `<stack>-<function>`, the Lambda names the error handler reports.
    pub fn function_name(&self, function: &str) -> String {
        format!("{}-{function}", self.stack_name)
    }

    /// The default template for a profile: `<stack>_Ott_<res>_Avc_Aac_16x9_qvbr_no_preset`.
    pub fn template_name(&self, profile: u32) -> String {
        format!(
            "{}_Ott_{profile}p_Avc_Aac_16x9_qvbr_no_preset",
            self.stack_name
        )
    }

    fn url_for_s3_uri(&self, uri: &str) -> String {
        // buildUrl: drop `s3://<bucket>/`, then plain concatenation, not percent-encoded (contract §7).
        let path = uri
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .map(|(_, key)| key)
            .unwrap_or(uri);
        format!("{}://{}/{path}", self.url_scheme, self.cloudfront_domain)
    }
}

/// A Lambda's failure as the error handler receives it: the function and `err.toString()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function}: {message}")]
pub struct LambdaFailure {
    /// The bare function name (`input-validate`, `mediainfo`, `profiler`, `output-validate`, …).
    pub function: &'static str,
    /// What the Lambda's `err.toString()` (Node) or `str(err)` (Python) would read.
    pub message: String,
}

impl LambdaFailure {
    pub fn new(function: &'static str, message: impl Into<String>) -> Self {
        Self {
            function,
            message: message.into(),
        }
    }
}

/// step-functions: `+` becomes a space, then `decodeURIComponent` (which throws `URIError` on a
/// malformed escape or bytes that are not UTF-8).
pub fn decode_event_key(raw: &str) -> Result<String, LambdaFailure> {
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
pub fn workflow_trigger_for_key(key: &str) -> &'static str {
    match key.rsplit_once('.') {
        Some((_, "json")) => "Metadata",
        _ => "Video",
    }
}

/// input-validate's defaults, before the source key (Video) or the metadata merge (Metadata).
pub fn input_validate(
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
    set("archiveSource", json!("DISABLED"));
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
pub fn apply_video_key(context: &StackContext, record: &mut Record, key: &str) {
    record.insert("srcVideo".into(), json!(key));
    record.insert(
        "enableMediaPackage".into(),
        json!(context.enable_media_package),
    );
}

/// input-validate, Metadata mode: parse the file, require a truthy `srcVideo` (exact spelling, tested
/// before normalisation), copy every key with its first character lower-cased, then re-apply the
/// stack's MediaPackage flag. The caller must then check that `srcVideo` exists (HeadObject).
pub fn apply_metadata(
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
            let mut chars = key.chars();
            let normalized: String = match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => key,
            };
            record.insert(normalized, value);
        }
    }
    record.insert(
        "enableMediaPackage".into(),
        json!(context.enable_media_package),
    );
    Ok(())
}

/// The profile for a source height: the nearest of 2160/1080/720, the lower one on a tie (profiler).
pub fn encoding_profile(height: f64) -> u32 {
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
pub fn profile(record: &mut Record) -> Result<u32, LambdaFailure> {
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

/// JavaScript truthiness, for the flags a metadata file may have set to other types.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// One rendition of the v6 templates' "Apple HLS" group (contract §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    /// The rate in the NameModifier, as the template writes it (`0.4`, `6.0`).
    pub mbps: &'static str,
    /// The target video bit rate, bit/s.
    pub bitrate: u32,
}

impl Rendition {
    pub fn hls_name_modifier(&self) -> String {
        format!(
            "_Ott_Hls_Ts_Avc_Aac_16x9_{}x{}p_{}Mbps_qvbr",
            self.width, self.height, self.mbps
        )
    }
}

const LADDER: [Rendition; 5] = [
    Rendition {
        width: 480,
        height: 270,
        mbps: "0.4",
        bitrate: 400_000,
    },
    Rendition {
        width: 640,
        height: 360,
        mbps: "1.5",
        bitrate: 1_500_000,
    },
    Rendition {
        width: 960,
        height: 540,
        mbps: "3.5",
        bitrate: 3_500_000,
    },
    Rendition {
        width: 1280,
        height: 720,
        mbps: "6.0",
        bitrate: 6_000_000,
    },
    Rendition {
        width: 1920,
        height: 1080,
        mbps: "8.5",
        bitrate: 8_500_000,
    },
];

/// The HLS ladder of a profile's template: 4 renditions for 720, 5 (up to 1080p) for 1080 and 2160.
pub fn hls_ladder(profile: u32) -> &'static [Rendition] {
    if profile <= 720 {
        &LADDER[..4]
    } else {
        &LADDER
    }
}

/// Which groups the local "MediaConvert" writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputGroups {
    /// The v6 default templates exactly: one Apple HLS group.
    HlsOnly,
    /// Like a deployment whose templates were customised: HLS, DASH and one MP4 of the top rendition.
    HlsDashMp4,
}

/// The MP4 output's NameModifier: the top rendition's height, as in the contract's custom template.
pub fn mp4_name_modifier(top: &Rendition) -> String {
    format!("_{}p", top.height)
}

/// A MediaConvert job id: `<13-digit epoch ms>-<6 [a-z0-9]>`.
pub fn new_job_id(epoch_ms: u64) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..6)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{epoch_ms}-{tail}")
}

/// The base name MediaConvert gives outputs: folders dropped, then the last extension.
pub fn output_base_name(src_video: &str) -> String {
    let file = src_video.rsplit('/').next().unwrap_or(src_video);
    match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => file.to_owned(),
    }
}

/// encode: the CreateJob request the record keeps as `encodingJob` (template outputs merged in).
pub fn encoding_job(
    context: &StackContext,
    record: &Record,
    profile: u32,
    groups: OutputGroups,
) -> Value {
    let guid = record.get("guid").cloned().unwrap_or(Value::Null);
    let src_video = record.get("srcVideo").and_then(Value::as_str).unwrap_or("");
    let output_path = format!("s3://{}/{}", context.destination_bucket, guid_str(record));
    let ladder = hls_ladder(profile);
    let video_description = |r: &Rendition| {
        json!({"Width": r.width, "Height": r.height,
               "CodecSettings": {"Codec": "H_264", "H264Settings": {"RateControlMode": "QVBR", "MaxBitrate": r.bitrate}}})
    };
    let mut output_groups = Vec::new();
    if groups == OutputGroups::HlsDashMp4 {
        let top = ladder[ladder.len() - 1];
        output_groups.push(json!({
            "Name": "File Group",
            "OutputGroupSettings": {"Type": "FILE_GROUP_SETTINGS",
                "FileGroupSettings": {"Destination": format!("{output_path}/mp4/")}},
            "Outputs": [{"NameModifier": mp4_name_modifier(&top), "ContainerSettings": {"Container": "MP4"},
                         "VideoDescription": video_description(&top)}],
        }));
    }
    output_groups.push(json!({
        "Name": "Apple HLS",
        "OutputGroupSettings": {"Type": "HLS_GROUP_SETTINGS",
            "HlsGroupSettings": {"SegmentLength": 3, "MinSegmentLength": 0, "Destination": format!("{output_path}/hls/")}},
        "Outputs": ladder.iter().map(|r| json!({"NameModifier": r.hls_name_modifier(),
            "ContainerSettings": {"Container": "M3U8"}, "VideoDescription": video_description(r)})).collect::<Vec<_>>(),
    }));
    if groups == OutputGroups::HlsDashMp4 {
        output_groups.push(json!({
            "Name": "DASH ISO",
            "OutputGroupSettings": {"Type": "DASH_ISO_GROUP_SETTINGS",
                "DashIsoGroupSettings": {"SegmentLength": 30, "FragmentLength": 3, "Destination": format!("{output_path}/dash/")}},
            "Outputs": ladder.iter().map(|r| json!({"NameModifier": format!("_dash_{}p", r.height),
                "ContainerSettings": {"Container": "MPD"}, "VideoDescription": video_description(r)})).collect::<Vec<_>>(),
        }));
    }
    if record.get("frameCapture").is_some_and(is_truthy) {
        output_groups.push(json!({
            "CustomName": "Frame Capture",
            "Name": "File Group",
            "OutputGroupSettings": {"Type": "FILE_GROUP_SETTINGS",
                "FileGroupSettings": {"Destination": format!("{output_path}/thumbnails/")}},
            "Outputs": [{"NameModifier": "_thumb", "ContainerSettings": {"Container": "RAW"},
                "VideoDescription": {"ScalingBehavior": "DEFAULT", "CodecSettings": {"Codec": "FRAME_CAPTURE",
                    "FrameCaptureSettings": {"MaxCaptures": 10_000_000, "Quality": 80,
                                             "FramerateDenominator": 5, "FramerateNumerator": 1}}}}],
        }));
    }
    let mut job = json!({
        "JobTemplate": record.get("jobTemplate").cloned().unwrap_or(Value::Null),
        "Role": format!("arn:aws:iam::{}:role/{}-MediaConvertRole", context.account_id, context.stack_name),
        "UserMetadata": {"guid": guid, "workflow": context.stack_name},
        "Settings": {
            "Inputs": [{
                "AudioSelectors": {"Audio Selector 1": {"Offset": 0, "DefaultSelection": "NOT_DEFAULT", "ProgramSelection": 1}},
                "VideoSelector": {"ColorSpace": "FOLLOW",
                                  "Rotate": record.get("inputRotate").cloned().unwrap_or(json!("DEGREE_0"))},
                "FilterEnable": "AUTO", "PsiControl": "USE_PSI", "FilterStrength": 0,
                "DeblockFilter": "DISABLED", "DenoiseFilter": "DISABLED", "TimecodeSource": "EMBEDDED",
                "FileInput": format!("s3://{}/{src_video}", context.source_bucket),
            }],
            "OutputGroups": output_groups,
        },
        "Tags": {"SolutionId": "SO0021"},
    });
    let accelerated = record
        .get("acceleratedTranscoding")
        .and_then(Value::as_str)
        .unwrap_or("");
    if matches!(accelerated, "PREFERRED" | "ENABLED") {
        job["AccelerationSettings"] = json!({"Mode": accelerated});
        job["Settings"]["TimecodeConfig"] = json!({"Source": "ZEROBASED"});
        job["Settings"]["Inputs"][0]["TimecodeSource"] = json!("ZEROBASED");
    }
    job
}

fn guid_str(record: &Record) -> &str {
    record.get("guid").and_then(Value::as_str).unwrap_or("")
}

/// One output group of a COMPLETE event (`detail.outputGroupDetails[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputGroupDetail {
    /// `HLS_GROUP`, `DASH_ISO_GROUP` or `FILE_GROUP`.
    pub kind: &'static str,
    /// `s3://` URIs of the group's playlists (none for FILE_GROUP).
    pub playlists: Vec<String>,
    pub outputs: Vec<OutputDetail>,
}

/// One output of a group: its file (FILE_GROUP, HLS variant playlist), duration and frame size.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputDetail {
    pub file: Option<String>,
    pub duration_ms: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A MediaConvert "Job State Change" event: the EventBridge envelope and the detail fields every
/// status has, with the status's own fields (`extra`, an object) added to the detail.
fn job_event(
    context: &StackContext,
    guid: &str,
    job_id: &str,
    time: &str,
    epoch_ms: u64,
    status: &str,
    extra: Value,
) -> Value {
    let mut detail = json!({
        "timestamp": epoch_ms,
        "accountId": context.account_id,
        "queue": format!("arn:aws:mediaconvert:{}:{}:queues/Default", context.region, context.account_id),
        "jobId": job_id,
        "status": status,
        "userMetadata": {"guid": guid, "workflow": context.stack_name},
    });
    if let (Some(detail), Value::Object(extra)) = (detail.as_object_mut(), extra) {
        detail.extend(extra);
    }
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "MediaConvert Job State Change",
        "source": "aws.mediaconvert",
        "account": context.account_id,
        "time": time,
        "region": context.region,
        "resources": [format!("arn:aws:mediaconvert:{}:{}:jobs/{job_id}", context.region, context.account_id)],
        "detail": detail,
    })
}

/// The EventBridge COMPLETE event that output-validate reads and the record keeps as `encodingOutput`.
pub fn complete_event(
    context: &StackContext,
    guid: &str,
    job_id: &str,
    time: &str,
    epoch_ms: u64,
    groups: &[OutputGroupDetail],
) -> Value {
    let groups: Vec<Value> = groups
        .iter()
        .map(|group| {
            let outputs: Vec<Value> = group
                .outputs
                .iter()
                .map(|output| {
                    let mut detail = json!({"durationInMs": output.duration_ms});
                    if let Some(file) = &output.file {
                        detail["outputFilePaths"] = json!([file]);
                    }
                    if let (Some(w), Some(h)) = (output.width, output.height) {
                        detail["videoDetails"] = json!({"widthInPx": w, "heightInPx": h});
                    }
                    detail
                })
                .collect();
            let mut value = json!({"outputDetails": outputs, "type": group.kind});
            if !group.playlists.is_empty() {
                value["playlistFilePaths"] = json!(group.playlists);
            }
            value
        })
        .collect();
    job_event(
        context,
        guid,
        job_id,
        time,
        epoch_ms,
        "COMPLETE",
        json!({"outputGroupDetails": groups}),
    )
}

/// The EventBridge ERROR event the error handler receives for a failed encode.
pub fn error_event(
    context: &StackContext,
    guid: &str,
    job_id: &str,
    time: &str,
    epoch_ms: u64,
    error_code: u32,
    error_message: &str,
) -> Value {
    job_event(
        context,
        guid,
        job_id,
        time,
        epoch_ms,
        "ERROR",
        json!({"errorCode": error_code, "errorMessage": error_message}),
    )
}

/// output-validate: `encodingOutput`, Complete, `endTime`, playlists and URLs per group, and the
/// last of the first 1000 thumbnail keys (UTF-8 order) when frameCapture is on.
pub fn output_validate(
    context: &StackContext,
    record: &mut Record,
    event: Value,
    end_time: &str,
    thumbnail_keys: &[String],
) -> Result<(), LambdaFailure> {
    let groups = event["detail"]["outputGroupDetails"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    record.insert("encodingOutput".into(), event);
    record.insert("workflowStatus".into(), json!("Complete"));
    record.insert("endTime".into(), json!(end_time));
    for group in groups {
        let playlist = |i: usize| group["playlistFilePaths"][i].as_str().map(str::to_owned);
        let mut put = |field: &str, url_field: &str, uri: Option<String>| {
            if let Some(uri) = uri {
                record.insert(url_field.into(), json!(context.url_for_s3_uri(&uri)));
                record.insert(field.into(), json!(uri));
            }
        };
        match group["type"].as_str() {
            Some("HLS_GROUP") => put("hlsPlaylist", "hlsUrl", playlist(0)),
            Some("DASH_ISO_GROUP") => put("dashPlaylist", "dashUrl", playlist(0)),
            Some("MS_SMOOTH_GROUP") => put("mssPlaylist", "mssUrl", playlist(0)),
            Some("CMAF_GROUP") => {
                put("cmafDashPlaylist", "cmafDashUrl", playlist(0));
                put("cmafHlsPlaylist", "cmafHlsUrl", playlist(1));
            }
            Some("FILE_GROUP") => {
                let files: Vec<String> = group["outputDetails"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| o["outputFilePaths"][0].as_str().map(str::to_owned))
                    .collect();
                if files
                    .first()
                    .is_some_and(|f| f.rsplit('.').next() == Some("mp4"))
                {
                    let urls: Vec<String> =
                        files.iter().map(|f| context.url_for_s3_uri(f)).collect();
                    record.insert("mp4Outputs".into(), json!(files));
                    record.insert("mp4Urls".into(), json!(urls));
                }
            }
            _ => {
                return Err(LambdaFailure::new(
                    "output-validate",
                    "Error: Could not parse MediaConvert output",
                ));
            }
        }
    }
    if record.get("frameCapture").is_some_and(is_truthy) {
        let mut keys: Vec<&String> = thumbnail_keys.iter().collect();
        // ListObjects (v1): ascending UTF-8 byte order, at most 1000 keys; the Lambda pops the last.
        keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        keys.truncate(1000);
        let Some(last) = keys.last() else {
            return Err(LambdaFailure::new(
                "output-validate",
                "Error: MediaConvert Thumbnails not found in S3",
            ));
        };
        let destination = record
            .get("destBucket")
            .and_then(Value::as_str)
            .unwrap_or(&context.destination_bucket)
            .to_owned();
        record.insert(
            "thumbNails".into(),
            json!([format!("s3://{destination}/{last}")]),
        );
        record.insert(
            "thumbNailsUrls".into(),
            json!([format!(
                "{}://{}/{last}",
                context.url_scheme, context.cloudfront_domain
            )]),
        );
    }
    Ok(())
}

/// sns-notification, Ingest: exactly three keys.
pub fn ingest_message(record: &Record) -> Value {
    json!({
        "status": "Ingest",
        "guid": record.get("guid").cloned().unwrap_or(Value::Null),
        "srcVideo": record.get("srcVideo").cloned().unwrap_or(Value::Null),
    })
}

/// sns-notification, Complete: the record minus srcMediainfo, the default template names, encodingJob
/// and encodingOutput; with MediaPackage on, minus the per-group outputs too.
pub fn complete_message(record: &Record) -> Value {
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
pub fn status_subject(status: &str, guid: &str) -> String {
    format!("Workflow Status:: {status}:: {guid}")
}

/// The error handler's subject: leading space, one colon after Error.
pub fn error_subject(guid: &str) -> String {
    format!(" workflow Status:: Error: {guid}")
}

/// What the error handler writes (item) and publishes (message) for one failure.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReport {
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
    pub fn lambda(context: &StackContext, guid: &str, failure: &LambdaFailure) -> Self {
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
    pub fn encoding(context: &StackContext, guid: &str, job_id: &str, event: &Value) -> Self {
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
    pub fn message(&self) -> Value {
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
pub fn message_text(message: &Value) -> String {
    serde_json::to_string_pretty(message).unwrap_or_else(|_| message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> StackContext {
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
        }
    }

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

    #[test]
    fn ladder_names_match_the_templates() {
        assert_eq!(hls_ladder(720).len(), 4);
        assert_eq!(hls_ladder(2160).len(), 5);
        assert_eq!(
            hls_ladder(1080)[0].hls_name_modifier(),
            "_Ott_Hls_Ts_Avc_Aac_16x9_480x270p_0.4Mbps_qvbr"
        );
        assert_eq!(
            hls_ladder(1080)[3].hls_name_modifier(),
            "_Ott_Hls_Ts_Avc_Aac_16x9_1280x720p_6.0Mbps_qvbr"
        );
        assert_eq!(
            output_base_name("uploads/Año Nuevo 2025.mp4"),
            "Año Nuevo 2025"
        );
        assert_eq!(output_base_name("a.b.c.mov"), "a.b.c");
        assert_eq!(output_base_name("noext"), "noext");
    }

    #[test]
    fn job_ids_have_the_mediaconvert_form() {
        let id = new_job_id(1_760_433_132_004);
        let (ms, tail) = id.split_once('-').unwrap();
        assert_eq!(ms, "1760433132004");
        assert_eq!(tail.len(), 6);
        assert!(
            tail.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
    }

    #[test]
    fn output_validate_builds_unencoded_urls_and_the_last_thumbnail() {
        let ctx = context();
        let mut record = input_validate(&ctx, "g", "t", "Video");
        apply_video_key(&ctx, &mut record, "uploads/Año Nuevo.mp4");
        let hls = format!("s3://{}/g/hls/Año Nuevo.m3u8", ctx.destination_bucket);
        let mp4 = format!("s3://{}/g/mp4/Año Nuevo_720p.mp4", ctx.destination_bucket);
        let event = complete_event(
            &ctx,
            "g",
            "1-abcdef",
            "2026-01-01T00:00:00Z",
            1,
            &[
                OutputGroupDetail {
                    kind: "FILE_GROUP",
                    playlists: vec![],
                    outputs: vec![OutputDetail {
                        file: Some(mp4.clone()),
                        duration_ms: 5000,
                        width: Some(1280),
                        height: Some(720),
                    }],
                },
                OutputGroupDetail {
                    kind: "HLS_GROUP",
                    playlists: vec![hls.clone()],
                    outputs: vec![],
                },
            ],
        );
        let thumbs: Vec<String> = (0..3)
            .map(|i| format!("g/thumbnails/Año Nuevo_thumb.{i:07}.jpg"))
            .collect();
        output_validate(
            &ctx,
            &mut record,
            event,
            "2026-01-01T00:00:01.000Z",
            &thumbs,
        )
        .unwrap();
        assert_eq!(record["workflowStatus"], "Complete");
        assert_eq!(record["hlsPlaylist"], hls.as_str());
        assert_eq!(
            record["hlsUrl"],
            "http://127.0.0.1:8123/g/hls/Año Nuevo.m3u8"
        );
        assert_eq!(
            record["mp4Urls"],
            json!(["http://127.0.0.1:8123/g/mp4/Año Nuevo_720p.mp4"])
        );
        assert_eq!(
            record["thumbNailsUrls"],
            json!(["http://127.0.0.1:8123/g/thumbnails/Año Nuevo_thumb.0000002.jpg"])
        );
        let message = complete_message(&record);
        for gone in [
            "srcMediainfo",
            "jobTemplate_720p",
            "encodingOutput",
            "encodingJob",
        ] {
            assert!(message.get(gone).is_none(), "{gone}");
        }
        assert_eq!(message["hlsUrl"], record["hlsUrl"]);
        let no_thumbs =
            output_validate(&ctx, &mut record.clone(), json!({}), "t", &[]).unwrap_err();
        assert_eq!(
            no_thumbs.message,
            "Error: MediaConvert Thumbnails not found in S3"
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
