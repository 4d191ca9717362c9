//! What MediaConvert reports about a job, as EventBridge delivers it (the COMPLETE event with its
//! output groups, the ERROR event, and the order of their keys, [`EVENT`]), and output-validate,
//! which reads the COMPLETE event into the record's playlists, URLs and thumbnail.

use serde_json::{Value, json};

use super::js_json::Shape;
use super::{LambdaFailure, Record, StackContext, is_truthy};

const S: Shape = Shape::Sorted;

/// The key order of a "MediaConvert Job State Change" event as EventBridge delivers it (contract
/// examples; MediaConvert's user guide): the envelope, then the detail fields every status has, then
/// the status's own (ERROR: errorCode, errorMessage; COMPLETE: the output groups and statistics).
pub(crate) const EVENT: Shape = Shape::Keys(&[
    ("version", S),
    ("id", S),
    ("detail-type", S),
    ("source", S),
    ("account", S),
    ("time", S),
    ("region", S),
    ("resources", S),
    (
        "detail",
        Shape::Keys(&[
            ("timestamp", S),
            ("accountId", S),
            ("queue", S),
            ("jobId", S),
            ("status", S),
            ("userMetadata", Shape::Keys(&[("guid", S), ("workflow", S)])),
            ("errorCode", S),
            ("errorMessage", S),
            ("warnings", S),
            ("outputGroupDetails", GROUP_DETAIL),
            ("paddingInserted", S),
            ("blackVideoDetected", S),
        ]),
    ),
]);

const GROUP_DETAIL: Shape = Shape::Keys(&[
    (
        "outputDetails",
        Shape::Keys(&[
            ("outputFilePaths", S),
            ("durationInMs", S),
            (
                "videoDetails",
                Shape::Keys(&[
                    ("widthInPx", S),
                    ("heightInPx", S),
                    ("qvbrAvgQuality", S),
                    ("qvbrMinQuality", S),
                    ("qvbrMaxQuality", S),
                ]),
            ),
        ]),
    ),
    ("playlistFilePaths", S),
    ("type", S),
]);

/// One output group of a COMPLETE event (`detail.outputGroupDetails[]`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutputGroupDetail {
    /// `HLS_GROUP`, `DASH_ISO_GROUP` or `FILE_GROUP`.
    pub kind: &'static str,
    /// `s3://` URIs of the group's playlists (none for FILE_GROUP).
    pub playlists: Vec<String>,
    pub outputs: Vec<OutputDetail>,
}

/// One output of a group: its file (FILE_GROUP, HLS variant playlist), duration and frame size.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutputDetail {
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
pub(crate) fn complete_event(
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
pub(crate) fn error_event(
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
pub(crate) fn output_validate(
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
    let cloudfront = record
        .get("cloudFront")
        .and_then(Value::as_str)
        .unwrap_or(&context.cloudfront_domain)
        .to_owned();
    record.insert("encodingOutput".into(), event);
    record.insert("workflowStatus".into(), json!("Complete"));
    record.insert("endTime".into(), json!(end_time));
    for group in groups {
        let playlist = |i: usize| group["playlistFilePaths"][i].as_str().map(str::to_owned);
        let mut put = |field: &str, url_field: &str, uri: Option<String>| {
            if let Some(uri) = uri {
                record.insert(
                    url_field.into(),
                    json!(context.url_for_s3_uri(&uri, &cloudfront)),
                );
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
                    let urls: Vec<String> = files
                        .iter()
                        .map(|f| context.url_for_s3_uri(f, &cloudfront))
                        .collect();
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
            json!([format!("{}://{cloudfront}/{last}", context.url_scheme)]),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_stack::workflow::tests::context;
    use crate::local_stack::workflow::{apply_video_key, complete_message, input_validate};

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
}
