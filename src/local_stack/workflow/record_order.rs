//! The order of a workflow record's keys when the solution's Lambdas write it out (the Complete
//! message, the SQS message): JavaScript objects keep insertion order, and the record is built up
//! one Lambda after another.
//!
//! The order, from the v6.1.13 source:
//! - input-validate's defaults (`source/input-validate/index.js`, the `data = {…}` literal), then
//!   `srcMetadataFile` and the metadata file's keys in the file's order (a key input-validate already
//!   set keeps its place), or `srcVideo` for a video upload; then `enableMediaPackage`;
//! - mediainfo's `srcMediainfo`; profiler's `srcHeight`, `srcWidth`, `encodingProfile`,
//!   `frameCaptureHeight`/`Width`, `jobTemplate` (unless the metadata set it) and
//!   `isCustomTemplate`; encode's `encodingJob` and `encodeJobId`;
//! - output-validate's `encodingOutput`, `endTime` (`workflowStatus` is overwritten in place), one
//!   pair of keys per output group in the order of the COMPLETE event's groups, `thumbNails*`;
//!   media-package-assets' `mediaPackageResourceId` and `egressEndpoints`;
//! - `guid` **last**: the dynamo Lambda (`source/dynamo/index.js`), which runs between
//!   output-validate and the SQS and SNS Lambdas, does `delete event.guid` … `event.guid = guid`.
//!
//! Between the steps the record goes through DynamoDB, whose attribute order is arbitrary; the
//! order of creation stands in for it, as in the contract's examples. What the record alone cannot
//! tell is the metadata file's own key order (the record is a sorted map): [`metadata_key_order`]
//! reads it from the file, and without it the metadata keys follow `srcVideo` and `jobTemplate`
//! sorted. Nested objects: `encodingJob` as encode builds the CreateJob request ([`JOB`]),
//! `encodingOutput` as EventBridge delivers it, `egressEndpoints` HLS, DASH, MSS, CMAF.

use std::collections::BTreeSet;

use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::job_events::EVENT;
use super::js_json::Shape;
use super::{Record, is_truthy};
use crate::contract::record_metadata::stored_name;

/// input-validate's `data = {…}`, after `guid`.
const INPUT_VALIDATE: [&str; 16] = [
    "startTime",
    "workflowTrigger",
    "workflowStatus",
    "workflowName",
    "srcBucket",
    "destBucket",
    "cloudFront",
    "frameCapture",
    "archiveSource",
    "jobTemplate_2160p",
    "jobTemplate_1080p",
    "jobTemplate_720p",
    "inputRotate",
    "acceleratedTranscoding",
    "enableSns",
    "enableSqs",
];

/// From input-validate's last line to output-validate's `endTime`.
const LATER: [&str; 13] = [
    "enableMediaPackage",
    "srcMediainfo",
    "srcHeight",
    "srcWidth",
    "encodingProfile",
    "frameCaptureHeight",
    "frameCaptureWidth",
    "jobTemplate",
    "isCustomTemplate",
    "encodingJob",
    "encodeJobId",
    "encodingOutput",
    "endTime",
];

/// output-validate's keys per group type (`switch (output.type)`).
const GROUPS: [(&str, &[&str]); 5] = [
    ("FILE_GROUP", &["mp4Outputs", "mp4Urls"]),
    ("HLS_GROUP", &["hlsPlaylist", "hlsUrl"]),
    ("DASH_ISO_GROUP", &["dashPlaylist", "dashUrl"]),
    (
        "CMAF_GROUP",
        &[
            "cmafDashPlaylist",
            "cmafDashUrl",
            "cmafHlsPlaylist",
            "cmafHlsUrl",
        ],
    ),
    ("MS_SMOOTH_GROUP", &["mssPlaylist", "mssUrl"]),
];

/// After the groups: output-validate's thumbnails, media-package-assets, the error handler's SET.
const AFTER_GROUPS: [&str; 7] = [
    "thumbNails",
    "thumbNailsUrls",
    "mediaPackageResourceId",
    "egressEndpoints",
    "workflowErrorAt",
    "errorMessage",
    "errorDetails",
];

/// The record's keys (those present) in the order the solution's Lambdas leave them; see the
/// module documentation. `metadata_keys` is the metadata file's order ([`metadata_key_order`]),
/// empty when unknown or for a video upload.
pub(crate) fn key_order<'a>(record: &'a Record, metadata_keys: &'a [String]) -> Vec<&'a str> {
    let mut order: Vec<&'a str> = Vec::with_capacity(record.len());
    let mut push = |key: &str| {
        if let Some((key, _)) = record.get_key_value(key)
            && key != "guid"
            && !order.contains(&key.as_str())
        {
            order.push(key.as_str());
        }
    };
    INPUT_VALIDATE.iter().for_each(|k| push(k));
    push("srcMetadataFile");
    metadata_keys.iter().for_each(|k| push(k));
    push("srcVideo");
    if metadata_keys.is_empty() {
        // The metadata's keys, as far as the record tells: a jobTemplate set before the profiler is
        // what makes isCustomTemplate true; every key no step writes came from the file.
        if record.get("isCustomTemplate").is_some_and(is_truthy) {
            push("jobTemplate");
        }
        record.keys().filter(|k| !is_known(k)).for_each(|k| push(k));
    }
    LATER.iter().for_each(|k| push(k));
    for group in group_order(record) {
        group.iter().for_each(|k| push(k));
    }
    AFTER_GROUPS.iter().for_each(|k| push(k));
    record.keys().for_each(|k| push(k));
    if let Some((guid, _)) = record.get_key_value("guid") {
        order.push(guid.as_str());
    }
    order
}

fn is_known(key: &str) -> bool {
    ["guid", "srcMetadataFile", "srcVideo"].contains(&key)
        || INPUT_VALIDATE.contains(&key)
        || LATER.contains(&key)
        || AFTER_GROUPS.contains(&key)
        || GROUPS.iter().any(|(_, keys)| keys.contains(&key))
}

/// output-validate's keys in the order of the COMPLETE event's groups (a FILE_GROUP counts only
/// when its first file is an `.mp4`, as output-validate sets mp4Outputs only then). Without the
/// event (a Complete message has dropped it): File, HLS, DASH, CMAF, MSS.
fn group_order(record: &Record) -> Vec<&'static [&'static str]> {
    let fallback = || GROUPS.iter().map(|(_, keys)| *keys).collect();
    let Some(groups) = record
        .get("encodingOutput")
        .and_then(|event| event["detail"]["outputGroupDetails"].as_array())
    else {
        return fallback();
    };
    groups
        .iter()
        .filter(|group| group["type"] != "FILE_GROUP" || first_file_is_mp4(group))
        .filter_map(|group| GROUPS.iter().find(|(kind, _)| group["type"] == *kind))
        .map(|(_, keys)| *keys)
        .collect()
}

fn first_file_is_mp4(group: &Value) -> bool {
    let first = group["outputDetails"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|output| output["outputFilePaths"][0].as_str());
    first.is_some_and(|file| file.rsplit('.').next() == Some("mp4"))
}

/// How a record value's own keys are ordered.
pub(crate) fn value_shape(key: &str) -> Shape {
    match key {
        "encodingJob" => JOB,
        "encodingOutput" => EVENT,
        "egressEndpoints" => EGRESS,
        _ => Shape::Sorted,
    }
}

/// media-package-assets' `egressEndpoints`, one key per packaging configuration as the stack
/// creates them.
const EGRESS: Shape = Shape::Keys(&[
    ("HLS", Shape::Sorted),
    ("DASH", Shape::Sorted),
    ("MSS", Shape::Sorted),
    ("CMAF", Shape::Sorted),
]);

const S: Shape = Shape::Sorted;

/// encode's CreateJob request (`source/encode/index.js`): the baseline literal, the output groups,
/// then AccelerationSettings/TimecodeConfig and Tags as the Lambda adds them.
pub(crate) const JOB: Shape = Shape::Keys(&[
    ("JobTemplate", S),
    ("Role", S),
    ("UserMetadata", Shape::Keys(&[("guid", S), ("workflow", S)])),
    (
        "Settings",
        Shape::Keys(&[
            ("Inputs", INPUT),
            ("OutputGroups", Shape::Pick(output_group_shape)),
            ("TimecodeConfig", S),
        ]),
    ),
    ("AccelerationSettings", S),
    ("Tags", S),
]);

const INPUT: Shape = Shape::Keys(&[
    (
        "AudioSelectors",
        Shape::Each(&Shape::Keys(&[
            ("Offset", S),
            ("DefaultSelection", S),
            ("ProgramSelection", S),
        ])),
    ),
    (
        "VideoSelector",
        Shape::Keys(&[("ColorSpace", S), ("Rotate", S)]),
    ),
    ("FilterEnable", S),
    ("PsiControl", S),
    ("FilterStrength", S),
    ("DeblockFilter", S),
    ("DenoiseFilter", S),
    ("TimecodeSource", S),
    ("FileInput", S),
]);

/// The frame-capture group as getFrameGroup writes it, or a template's group merged over the
/// Lambda's defaults (`_.merge({}, default, template)`: the defaults' keys first, then the
/// template's others in the order the SDK hands them over).
///
/// That order is the MediaConvert model's member order, which is byte order of the member names
/// (`AdMarkers` before `AdditionalManifests`): the AWS SDK for JavaScript v3 builds every structure
/// of a GetJobTemplate response by walking the model's members (`de_H264Settings` and the like
/// list `AdaptiveQuantization`, `Bitrate`, `CodecLevel`, …), and the 2017-08-29 model lists them
/// sorted (botocore's copy of it too). So what the template alone gives (each output, and the
/// template's keys after the defaults') is [`Shape::Sorted`], which writes keys in that order.
fn output_group_shape(group: &serde_json::Map<String, Value>) -> Shape {
    if group.get("CustomName").and_then(Value::as_str) == Some("Frame Capture") {
        FRAME_GROUP
    } else {
        MERGED_GROUP
    }
}

/// Each default group's settings literal (getMp4Group … getMssGroup), in its order; a template's
/// other settings follow, sorted.
const FILE_SETTINGS: Shape = Shape::Keys(&[("Destination", S)]);
const HLS_SETTINGS: Shape = Shape::Keys(&[
    ("SegmentLength", S),
    ("MinSegmentLength", S),
    ("Destination", S),
]);
/// getDashGroup's and getCmafGroup's.
const SEGMENTED_SETTINGS: Shape = Shape::Keys(&[
    ("SegmentLength", S),
    ("FragmentLength", S),
    ("Destination", S),
]);
const MSS_SETTINGS: Shape = Shape::Keys(&[
    ("FragmentLength", S),
    ("ManifestEncoding", S),
    ("Destination", S),
]);

const OUTPUT_GROUP_SETTINGS: Shape = Shape::Keys(&[
    ("Type", S),
    ("FileGroupSettings", FILE_SETTINGS),
    ("HlsGroupSettings", HLS_SETTINGS),
    ("DashIsoGroupSettings", SEGMENTED_SETTINGS),
    ("CmafGroupSettings", SEGMENTED_SETTINGS),
    ("MsSmoothGroupSettings", MSS_SETTINGS),
]);

/// A merged group: the default's `Name`, `OutputGroupSettings` and `Outputs` (its empty array takes
/// the template's outputs whole, so each output is in the model's order), then the template's own
/// group keys (`AutomatedEncodingSettings`, `CustomName`), sorted.
const MERGED_GROUP: Shape = Shape::Keys(&[
    ("Name", S),
    ("OutputGroupSettings", OUTPUT_GROUP_SETTINGS),
    ("Outputs", S),
]);

const FRAME_GROUP: Shape = Shape::Keys(&[
    ("CustomName", S),
    ("Name", S),
    ("OutputGroupSettings", OUTPUT_GROUP_SETTINGS),
    (
        "Outputs",
        Shape::Keys(&[
            ("NameModifier", S),
            ("ContainerSettings", S),
            (
                "VideoDescription",
                Shape::Keys(&[
                    ("ColorMetadata", S),
                    ("AfdSignaling", S),
                    ("Sharpness", S),
                    ("Height", S),
                    ("RespondToAfd", S),
                    ("TimecodeInsertion", S),
                    ("Width", S),
                    ("ScalingBehavior", S),
                    ("AntiAlias", S),
                    (
                        "CodecSettings",
                        Shape::Keys(&[
                            (
                                "FrameCaptureSettings",
                                Shape::Keys(&[
                                    ("MaxCaptures", S),
                                    ("Quality", S),
                                    ("FramerateDenominator", S),
                                    ("FramerateNumerator", S),
                                ]),
                            ),
                            ("Codec", S),
                        ]),
                    ),
                    ("DropFrameTimecode", S),
                ]),
            ),
        ]),
    ),
]);

/// The metadata file's keys as input-validate copies them into the record: in the file's order,
/// first character lower-cased (as `apply_metadata` does), each once at its first place. Empty
/// when the body is not a JSON object.
pub(crate) fn metadata_key_order(body: &[u8]) -> Vec<String> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut seen = BTreeSet::new();
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                let normalized = stored_name(&key);
                if seen.insert(normalized.clone()) {
                    keys.push(normalized);
                }
            }
            Ok(keys)
        }
    }
    serde_json::Deserializer::from_slice(body)
        .deserialize_map(Keys)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn metadata_keys_keep_the_files_order_lower_cased_once() {
        let body = br#"{"srcVideo": "a.mp4", "Title": {"b": 1, "a": 2}, "frameCapture": true, "title": 3, "": 0}"#;
        assert_eq!(
            metadata_key_order(body),
            ["srcVideo", "title", "frameCapture", ""]
        );
        assert!(metadata_key_order(b"[1]").is_empty());
        assert!(metadata_key_order(b"{not json").is_empty());
    }

    #[test]
    fn metadata_keys_go_after_srcmetadatafile_and_base_keys_keep_their_place() {
        let record = record(json!({
            "guid": "g", "startTime": "t", "frameCapture": true, "srcMetadataFile": "m.json",
            "srcVideo": "v.mp4", "zeta": 1, "alpha": 2, "jobTemplate": "custom",
            "enableMediaPackage": false, "isCustomTemplate": true, "encodeJobId": "j"
        }));
        let known = [
            "zeta".to_owned(),
            "srcVideo".into(),
            "frameCapture".into(),
            "jobTemplate".into(),
            "alpha".into(),
        ];
        assert_eq!(
            key_order(&record, &known),
            [
                "startTime",
                "frameCapture",
                "srcMetadataFile",
                "zeta",
                "srcVideo",
                "jobTemplate",
                "alpha",
                "enableMediaPackage",
                "isCustomTemplate",
                "encodeJobId",
                "guid"
            ]
        );
        assert_eq!(
            key_order(&record, &[]),
            [
                "startTime",
                "frameCapture",
                "srcMetadataFile",
                "srcVideo",
                "jobTemplate",
                "alpha",
                "zeta",
                "enableMediaPackage",
                "isCustomTemplate",
                "encodeJobId",
                "guid"
            ]
        );
    }

    #[test]
    fn group_keys_follow_the_events_groups_and_a_thumbnail_file_group_sets_nothing() {
        let event = json!({"detail": {"outputGroupDetails": [
            {"type": "FILE_GROUP", "outputDetails": [{"outputFilePaths": ["s3://d/g/thumbnails/a.0000001.jpg"]}]},
            {"type": "DASH_ISO_GROUP"},
            {"type": "HLS_GROUP"},
            {"type": "FILE_GROUP", "outputDetails": [{}, {"outputFilePaths": ["s3://d/g/mp4/a.mp4"]}]},
        ]}});
        let record = record(json!({
            "guid": "g", "encodingOutput": event, "hlsUrl": "h", "hlsPlaylist": "h",
            "dashUrl": "d", "dashPlaylist": "d", "mp4Urls": [], "mp4Outputs": [], "thumbNails": []
        }));
        assert_eq!(
            key_order(&record, &[]),
            [
                "encodingOutput",
                "dashPlaylist",
                "dashUrl",
                "hlsPlaylist",
                "hlsUrl",
                "mp4Outputs",
                "mp4Urls",
                "thumbNails",
                "guid"
            ]
        );
    }

    /// The keys of a `JSON.stringify(…, null, 2)` text, in the text's order.
    fn text_keys(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|line| line.trim_start().strip_prefix('"')?.split_once("\": "))
            .map(|(key, _)| key)
            .collect()
    }

    fn job_record(frame_capture: bool) -> Record {
        let context = crate::local_stack::workflow::tests::context();
        let mut record = record(json!({
            "guid": "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8", "startTime": "t", "srcVideo": "clip.mp4",
            "frameCapture": frame_capture, "inputRotate": "DEGREE_0",
            "acceleratedTranscoding": "PREFERRED", "encodingProfile": 1080,
            "jobTemplate": "vod-local_Ott_1080p_Avc_Aac_16x9_qvbr_no_preset",
            "isCustomTemplate": false, "encodeJobId": "1760373608913-h7m2pa"
        }));
        let job = crate::local_stack::workflow::encoding_job(
            &context,
            &record,
            1080,
            crate::local_stack::workflow::OutputGroups::HlsOnly,
        );
        record.insert("encodingJob".into(), job);
        record
    }

    #[test]
    fn an_encoding_job_keeps_the_lambdas_and_the_sdks_order_in_the_records_text() {
        let record = job_record(true);
        let text = crate::local_stack::workflow::message_text(&Value::Object(record));
        let keys = text_keys(&text);
        let job = keys.iter().position(|k| *k == "encodingJob").unwrap();
        assert_eq!(
            keys[job - 2..job + 6],
            [
                "jobTemplate",
                "isCustomTemplate",
                "encodingJob",
                "JobTemplate",
                "Role",
                "UserMetadata",
                "guid",
                "workflow"
            ]
        );
        // The baseline, then what the Lambda adds after the groups.
        let job_keys: Vec<&str> = keys[job..]
            .iter()
            .copied()
            .filter(|k| {
                [
                    "Settings",
                    "Inputs",
                    "OutputGroups",
                    "TimecodeConfig",
                    "AccelerationSettings",
                    "Tags",
                    "encodeJobId",
                ]
                .contains(k)
            })
            .collect();
        assert_eq!(
            job_keys,
            [
                "Settings",
                "Inputs",
                "OutputGroups",
                "TimecodeConfig",
                "AccelerationSettings",
                "Tags",
                "encodeJobId"
            ]
        );
        // The HLS group: getHlsGroup's keys, then the template's in the model's (byte) order; its
        // first output all from the template.
        let groups = job
            + keys[job..]
                .iter()
                .position(|k| *k == "OutputGroups")
                .unwrap();
        let expected = [
            "Name",
            "OutputGroupSettings",
            "Type",
            "HlsGroupSettings",
            "SegmentLength",
            "MinSegmentLength",
            "Destination",
            "CaptionLanguageSetting",
            "ClientCache",
            "CodecSpecification",
            "DirectoryStructure",
            "ManifestCompression",
            "ManifestDurationFormat",
            "OutputSelection",
            "ProgramDateTime",
            "ProgramDateTimePeriod",
            "SegmentControl",
            "StreamInfResolution",
            "TimedMetadataId3Frame",
            "TimedMetadataId3Period",
            "Outputs",
            "AudioDescriptions",
            "AudioSourceName",
            "AudioType",
            "AudioTypeControl",
            "CodecSettings",
            "AacSettings",
            "AudioDescriptionBroadcasterMix",
            "Bitrate",
            "CodecProfile",
            "CodingMode",
            "RateControlMode",
            "RawFormat",
            "SampleRate",
            "Specification",
            "Codec",
            "LanguageCodeControl",
            "ContainerSettings",
            "Container",
            "M3u8Settings",
            "AudioFramesPerPes",
            "AudioPids",
            "PatInterval",
            "PcrControl",
            "PmtInterval",
            "PmtPid",
            "PrivateMetadataPid",
            "ProgramNumber",
            "VideoPid",
            "NameModifier",
            "VideoDescription",
            "AfdSignaling",
            "AntiAlias",
            "CodecSettings",
            "Codec",
            "H264Settings",
            "AdaptiveQuantization",
            "CodecProfile",
            "DynamicSubGop",
            "EntropyEncoding",
            "FieldEncoding",
            "FlickerAdaptiveQuantization",
            "FramerateControl",
            "FramerateConversionAlgorithm",
            "GopBReference",
            "GopClosedCadence",
            "GopSize",
            "GopSizeUnits",
            "HrdBufferInitialFillPercentage",
            "HrdBufferSize",
            "InterlaceMode",
            "MaxBitrate",
            "MinIInterval",
            "NumberBFramesBetweenReferenceFrames",
            "NumberReferenceFrames",
            "ParControl",
            "ParDenominator",
            "ParNumerator",
            "QualityTuningLevel",
            "QvbrSettings",
            "QvbrQualityLevel",
            "RateControlMode",
            "RepeatPps",
            "SceneChangeDetect",
            "Slices",
            "SlowPal",
            "SpatialAdaptiveQuantization",
            "Syntax",
            "Telecine",
            "TemporalAdaptiveQuantization",
            "UnregisteredSeiTimecode",
            "ColorMetadata",
            "DropFrameTimecode",
            "Height",
            "RespondToAfd",
            "ScalingBehavior",
            "Sharpness",
            "TimecodeInsertion",
            "Width",
        ];
        assert_eq!(keys[groups + 1..groups + 1 + expected.len()], expected);
        assert_eq!(keys[groups + 1 + expected.len()], "AudioDescriptions");
    }

    #[test]
    fn the_ms_smooth_group_is_get_mss_groups_settings_then_the_templates() {
        let context = crate::local_stack::workflow::tests::context();
        let job = crate::local_stack::workflow::encoding_job(
            &context,
            &job_record(false),
            720,
            crate::local_stack::workflow::OutputGroups::AllGroups,
        );
        let mss = &job["Settings"]["OutputGroups"][4];
        let text = super::super::js_json::stringify(mss, Shape::Pick(output_group_shape));
        let keys = text_keys(&text);
        assert_eq!(
            keys[..8],
            [
                "Name",
                "OutputGroupSettings",
                "Type",
                "MsSmoothGroupSettings",
                "FragmentLength",
                "ManifestEncoding",
                "Destination",
                "FragmentLengthControl"
            ]
        );
        assert_eq!(keys[8], "Outputs");
        // Each output in the model's order: audio, container, name, video.
        let output: Vec<&str> = keys[9..]
            .iter()
            .copied()
            .filter(|k| {
                [
                    "AudioDescriptions",
                    "ContainerSettings",
                    "NameModifier",
                    "VideoDescription",
                ]
                .contains(k)
            })
            .take(4)
            .collect();
        assert_eq!(
            output,
            [
                "AudioDescriptions",
                "ContainerSettings",
                "NameModifier",
                "VideoDescription"
            ]
        );
        assert!(text.contains("\"NameModifier\": \"_mss_270p\""), "{text}");
    }

    #[test]
    fn the_frame_group_is_written_as_get_frame_group_writes_it() {
        let record = job_record(true);
        let group = &record["encodingJob"]["Settings"]["OutputGroups"][1];
        assert_eq!(
            super::super::js_json::stringify(group, Shape::Pick(output_group_shape)),
            r#"{
  "CustomName": "Frame Capture",
  "Name": "File Group",
  "OutputGroupSettings": {
    "Type": "FILE_GROUP_SETTINGS",
    "FileGroupSettings": {
      "Destination": "s3://vod-local-destination920a3c57-def/2d616d3f-343d-4da4-bd2a-581dd5e3b1f8/thumbnails/"
    }
  },
  "Outputs": [
    {
      "NameModifier": "_thumb",
      "ContainerSettings": {
        "Container": "RAW"
      },
      "VideoDescription": {
        "ColorMetadata": "INSERT",
        "AfdSignaling": "NONE",
        "Sharpness": 100,
        "RespondToAfd": "NONE",
        "TimecodeInsertion": "DISABLED",
        "ScalingBehavior": "DEFAULT",
        "AntiAlias": "ENABLED",
        "CodecSettings": {
          "FrameCaptureSettings": {
            "MaxCaptures": 10000000,
            "Quality": 80,
            "FramerateDenominator": 5,
            "FramerateNumerator": 1
          },
          "Codec": "FRAME_CAPTURE"
        },
        "DropFrameTimecode": "ENABLED"
      }
    }
  ]
}"#
        );
    }
}
