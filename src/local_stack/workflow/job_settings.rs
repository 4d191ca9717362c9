//! The output groups of encode's CreateJob request (`encodingJob`), as the solution's encode Lambda
//! builds them (v6.1.13 `source/encode/index.js`): for every group of the job template, the
//! Lambda's default group for its type (getMp4Group, getHlsGroup, getDashGroup, getCmafGroup,
//! getMssGroup) with the template's group merged over it as lodash `_.merge` does ([`merge`]); then,
//! when frameCapture is on, getFrameGroup's group as the Lambda writes it.
//!
//! The job templates themselves are built here rather than read from the solution's files:
//! - the default templates (`source/custom-resource/lib/mediaconvert/templates/
//!   {2160p,1080p,720p}_avc_aac_16x9_{qvbr,mvod}_no_preset.json`): one "Apple HLS" group, the same
//!   in all six, one output per rung of the ladder ([`Rendition`]) with the settings every rung
//!   shares and those of [`RUNGS`];
//! - the local custom templates ([`OutputGroups::HlsDashMp4`], [`OutputGroups::HlsDashCmafMp4`],
//!   [`OutputGroups::AllGroups`]): our own File (MP4), DASH ISO, CMAF and MS Smooth groups in the
//!   same style, saying what the local transcoder writes (3 s segments; every rung's video; the top
//!   rung's audio; the top rung as one MP4; one `.ismv` per rung with its own audio).
//!
//! A `Value` keeps its keys sorted; the text is written in the Lambda's order by `record_order::JOB`.

use serde_json::{Map, Value, json};

use super::encode::{OutputGroups, Rendition, mp4_name_modifier};
use super::{Record, is_truthy};
use crate::local_stack::transcode::mss_name_modifier;

/// What the default templates give one rung besides its frame size and MaxBitrate (the same in the
/// 720p, 1080p and 2160p templates, `qvbr` and `mvod` alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RungTemplate {
    height: u32,
    hrd_buffer_size: u32,
    qvbr_quality_level: u32,
    adaptive_quantization: &'static str,
    /// The AAC rate, bit/s, and profile (HE-AAC v1 below 1080p).
    audio_bitrate: u32,
    audio_profile: &'static str,
}

const fn rung_template(
    height: u32,
    hrd_buffer_size: u32,
    qvbr_quality_level: u32,
    adaptive_quantization: &'static str,
    audio: (u32, &'static str),
) -> RungTemplate {
    RungTemplate {
        height,
        hrd_buffer_size,
        qvbr_quality_level,
        adaptive_quantization,
        audio_bitrate: audio.0,
        audio_profile: audio.1,
    }
}

/// The templates' per-rung settings, by rung height.
const RUNGS: [RungTemplate; 5] = [
    rung_template(270, 1_000_000, 7, "MEDIUM", (64_000, "HEV1")),
    rung_template(360, 3_750_000, 7, "MEDIUM", (64_000, "HEV1")),
    rung_template(540, 8_750_000, 8, "HIGH", (96_000, "HEV1")),
    rung_template(720, 15_000_000, 8, "HIGH", (96_000, "HEV1")),
    rung_template(1080, 21_250_000, 9, "HIGH", (128_000, "LC")),
];

/// A rung's template settings: the ladder's rungs exactly; a height between rungs (the ladder has
/// none) would get the next rung up's.
fn rung(rendition: &Rendition) -> RungTemplate {
    const TOP: RungTemplate = RUNGS[RUNGS.len() - 1];
    RUNGS
        .into_iter()
        .find(|t| t.height >= rendition.height)
        .unwrap_or(TOP)
}

/// The encode step's output groups: each template group over the Lambda's default for its type
/// (groups of another type are left out, as the Lambda's `switch` finds nothing for them), then the
/// frame-capture group when the record's frameCapture is truthy.
pub(crate) fn output_groups(
    groups: OutputGroups,
    ladder: &[Rendition],
    output_path: &str,
    record: &Record,
) -> Vec<Value> {
    let mut merged: Vec<Value> = template_groups(groups, ladder)
        .iter()
        .filter_map(|template| {
            let kind = template["OutputGroupSettings"]["Type"].as_str()?;
            // `_.merge({}, defaultGroup, group)`: a copy of the default, the template over it.
            let mut group = default_group(kind, output_path)?;
            merge(&mut group, template);
            Some(group)
        })
        .collect();
    if record.get("frameCapture").is_some_and(is_truthy) {
        merged.push(frame_group(record, output_path));
    }
    merged
}

/// The template's groups as GetJobTemplate returns them, in the template's order.
fn template_groups(groups: OutputGroups, ladder: &[Rendition]) -> Vec<Value> {
    let mut out = Vec::new();
    let top = ladder.last();
    if groups.writes_mp4()
        && let Some(top) = top
    {
        out.push(mp4_template_group(top));
    }
    out.push(hls_template_group(ladder));
    if groups.writes_dash() {
        out.push(packaged_template_group(&DASH, ladder));
    }
    if groups.writes_cmaf() {
        out.push(packaged_template_group(&CMAF, ladder));
    }
    if groups.writes_mss() {
        out.push(mss_template_group(ladder));
    }
    out
}

/// The Lambda's default group for a group type (getMp4Group … getMssGroup); `None` for a type its
/// `switch` does not know.
fn default_group(kind: &str, output_path: &str) -> Option<Value> {
    let (name, settings_key, settings) = match kind {
        "FILE_GROUP_SETTINGS" => (
            "File Group",
            "FileGroupSettings",
            json!({"Destination": format!("{output_path}/mp4/")}),
        ),
        "HLS_GROUP_SETTINGS" => (
            "HLS Group",
            "HlsGroupSettings",
            json!({"SegmentLength": 5, "MinSegmentLength": 0,
                   "Destination": format!("{output_path}/hls/")}),
        ),
        "DASH_ISO_GROUP_SETTINGS" => (
            "DASH ISO",
            "DashIsoGroupSettings",
            json!({"SegmentLength": 30, "FragmentLength": 3,
                   "Destination": format!("{output_path}/dash/")}),
        ),
        "CMAF_GROUP_SETTINGS" => (
            "CMAF",
            "CmafGroupSettings",
            json!({"SegmentLength": 30, "FragmentLength": 3,
                   "Destination": format!("{output_path}/cmaf/")}),
        ),
        "MS_SMOOTH_GROUP_SETTINGS" => (
            "MS Smooth",
            "MsSmoothGroupSettings",
            json!({"FragmentLength": 2, "ManifestEncoding": "UTF8",
                   "Destination": format!("{output_path}/mss/")}),
        ),
        _ => return None,
    };
    Some(json!({
        "Name": name,
        "OutputGroupSettings": {"Type": kind, settings_key: settings},
        "Outputs": [],
    }))
}

/// lodash `_.merge(target, source)` over JSON values: objects merged key by key, arrays index by
/// index (the default groups' empty `Outputs` take the template's outputs whole), anything else
/// (`null` included) replaces what was there. (lodash would also set an object's keys on an array;
/// no template has that mismatch.)
fn merge(target: &mut Value, source: &Value) {
    match source {
        Value::Object(from) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(into) = target {
                for (key, value) in from {
                    merge(into.entry(key.as_str()).or_insert(Value::Null), value);
                }
            }
        }
        Value::Array(from) => {
            if !target.is_array() {
                *target = Value::Array(Vec::new());
            }
            if let Value::Array(into) = target {
                if into.len() < from.len() {
                    into.resize(from.len(), Value::Null);
                }
                for (slot, value) in into.iter_mut().zip(from) {
                    merge(slot, value);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// getFrameGroup. Its Height and Width are `event.frameHeight`/`frameWidth`, which no step sets (the
/// profiler writes `frameCapture*`), so `JSON.stringify` drops them; only a metadata file that names
/// those keys puts them in the job.
fn frame_group(record: &Record, output_path: &str) -> Value {
    let mut description = json!({
        "ColorMetadata": "INSERT",
        "AfdSignaling": "NONE",
        "Sharpness": 100,
        "RespondToAfd": "NONE",
        "TimecodeInsertion": "DISABLED",
        "ScalingBehavior": "DEFAULT",
        "AntiAlias": "ENABLED",
        "CodecSettings": {
            "FrameCaptureSettings": {
                "MaxCaptures": 10_000_000, "Quality": 80,
                "FramerateDenominator": 5, "FramerateNumerator": 1,
            },
            "Codec": "FRAME_CAPTURE",
        },
        "DropFrameTimecode": "ENABLED",
    });
    for (field, key) in [("Height", "frameHeight"), ("Width", "frameWidth")] {
        if let Some(value) = record.get(key) {
            description[field] = value.clone();
        }
    }
    json!({
        "CustomName": "Frame Capture",
        "Name": "File Group",
        "OutputGroupSettings": {
            "Type": "FILE_GROUP_SETTINGS",
            "FileGroupSettings": {"Destination": format!("{output_path}/thumbnails/")},
        },
        "Outputs": [{
            "NameModifier": "_thumb",
            "ContainerSettings": {"Container": "RAW"},
            "VideoDescription": description,
        }],
    })
}

/// The default templates' "Apple HLS" group: TS segments of 3 s, one output per rung.
fn hls_template_group(ladder: &[Rendition]) -> Value {
    let outputs: Vec<Value> = ladder
        .iter()
        .map(|r| {
            json!({
                "ContainerSettings": {
                    "Container": "M3U8",
                    "M3u8Settings": {
                        "AudioFramesPerPes": 4,
                        "PcrControl": "PCR_EVERY_PES_PACKET",
                        "PmtPid": 480,
                        "PrivateMetadataPid": 503,
                        "ProgramNumber": 1,
                        "PatInterval": 0,
                        "PmtInterval": 0,
                        "VideoPid": 481,
                        "AudioPids": (482..=498).collect::<Vec<u32>>(),
                    },
                },
                "VideoDescription": video_description(r),
                "AudioDescriptions": [audio_description(r)],
                "NameModifier": r.hls_name_modifier(),
            })
        })
        .collect();
    json!({
        "Name": "Apple HLS",
        "Outputs": outputs,
        "OutputGroupSettings": {
            "Type": "HLS_GROUP_SETTINGS",
            "HlsGroupSettings": {
                "ManifestDurationFormat": "INTEGER",
                "SegmentLength": 3,
                "TimedMetadataId3Period": 10,
                "CaptionLanguageSetting": "OMIT",
                "TimedMetadataId3Frame": "PRIV",
                "CodecSpecification": "RFC_4281",
                "OutputSelection": "MANIFESTS_AND_SEGMENTS",
                "ProgramDateTimePeriod": 600,
                "MinSegmentLength": 0,
                "DirectoryStructure": "SINGLE_DIRECTORY",
                "ProgramDateTime": "EXCLUDE",
                "SegmentControl": "SEGMENTED_FILES",
                "ManifestCompression": "NONE",
                "ClientCache": "ENABLED",
                "StreamInfResolution": "INCLUDE",
            },
        },
    })
}

/// The templates' VideoDescription of a rung: its frame size and [`h264_settings`].
fn video_description(r: &Rendition) -> Value {
    json!({
        "Width": r.width,
        "ScalingBehavior": "DEFAULT",
        "Height": r.height,
        "TimecodeInsertion": "DISABLED",
        "AntiAlias": "ENABLED",
        "Sharpness": 100,
        "CodecSettings": {
            "Codec": "H_264",
            "H264Settings": h264_settings(r),
        },
        "AfdSignaling": "NONE",
        "DropFrameTimecode": "ENABLED",
        "RespondToAfd": "NONE",
        "ColorMetadata": "INSERT",
    })
}

/// The templates' H264Settings of a rung: High profile, QVBR at the rung's quality level capped at
/// its MaxBitrate, 3 s closed GOPs with 5 B-frames.
fn h264_settings(r: &Rendition) -> Value {
    let t = rung(r);
    json!({
        "InterlaceMode": "PROGRESSIVE",
        "ParNumerator": 1,
        "NumberReferenceFrames": 3,
        "Syntax": "DEFAULT",
        "GopClosedCadence": 1,
        "HrdBufferInitialFillPercentage": 90,
        "GopSize": 3,
        "Slices": 1,
        "GopBReference": "ENABLED",
        "HrdBufferSize": t.hrd_buffer_size,
        "MaxBitrate": r.bitrate,
        "SlowPal": "DISABLED",
        "ParDenominator": 1,
        "SpatialAdaptiveQuantization": "ENABLED",
        "TemporalAdaptiveQuantization": "ENABLED",
        "FlickerAdaptiveQuantization": "ENABLED",
        "EntropyEncoding": "CABAC",
        "FramerateControl": "INITIALIZE_FROM_SOURCE",
        "RateControlMode": "QVBR",
        "QvbrSettings": {"QvbrQualityLevel": t.qvbr_quality_level},
        "CodecProfile": "HIGH",
        "Telecine": "NONE",
        "MinIInterval": 0,
        "AdaptiveQuantization": t.adaptive_quantization,
        "FieldEncoding": "PAFF",
        "SceneChangeDetect": "ENABLED",
        "QualityTuningLevel": "SINGLE_PASS_HQ",
        "FramerateConversionAlgorithm": "DUPLICATE_DROP",
        "UnregisteredSeiTimecode": "DISABLED",
        "GopSizeUnits": "SECONDS",
        "ParControl": "SPECIFIED",
        "NumberBFramesBetweenReferenceFrames": 5,
        "RepeatPps": "DISABLED",
        "DynamicSubGop": "ADAPTIVE",
    })
}

/// The templates' AudioDescription of a rung: stereo AAC at 48 kHz from the job's one audio selector.
fn audio_description(r: &Rendition) -> Value {
    let t = rung(r);
    json!({
        "AudioTypeControl": "FOLLOW_INPUT",
        "AudioSourceName": "Audio Selector 1",
        "CodecSettings": {
            "Codec": "AAC",
            "AacSettings": {
                "AudioDescriptionBroadcasterMix": "NORMAL",
                "Bitrate": t.audio_bitrate,
                "RateControlMode": "CBR",
                "CodecProfile": t.audio_profile,
                "CodingMode": "CODING_MODE_2_0",
                "RawFormat": "NONE",
                "SampleRate": 48_000,
                "Specification": "MPEG4",
            },
        },
        "LanguageCodeControl": "FOLLOW_INPUT",
        "AudioType": 0,
    })
}

/// The local custom templates' File group: the top rung as one progressive-download MP4 (the local
/// transcoder's `+faststart` copy of that rung's encode, its own audio included).
fn mp4_template_group(top: &Rendition) -> Value {
    json!({
        "Name": "File Group",
        "Outputs": [{
            "ContainerSettings": {
                "Container": "MP4",
                "Mp4Settings": {"CslgAtom": "INCLUDE", "FreeSpaceBox": "EXCLUDE",
                                "MoovPlacement": "PROGRESSIVE_DOWNLOAD"},
            },
            "VideoDescription": video_description(top),
            "AudioDescriptions": [audio_description(top)],
            "NameModifier": mp4_name_modifier(top),
        }],
        "OutputGroupSettings": {"Type": "FILE_GROUP_SETTINGS", "FileGroupSettings": {}},
    })
}

/// A segmented group of the local custom templates (DASH ISO, CMAF): how it is named and set.
struct Packaged {
    name: &'static str,
    kind: &'static str,
    settings_key: &'static str,
    container: &'static str,
    /// NameModifier prefix: `<prefix>_Avc_16x9_<W>x<H>p_<rate>Mbps_qvbr`, `<prefix>_Aac_<kbps>Kbps`.
    prefix: &'static str,
    /// The group's settings besides SegmentLength and FragmentLength (3 s each: the local
    /// transcoder's `-seg_duration 3` over 3 s GOPs).
    settings: fn() -> Value,
}

const DASH: Packaged = Packaged {
    name: "DASH ISO",
    kind: "DASH_ISO_GROUP_SETTINGS",
    settings_key: "DashIsoGroupSettings",
    container: "MPD",
    prefix: "_Ott_Dash_Mp4",
    settings: || {
        json!({"SegmentControl": "SEGMENTED_FILES", "HbbtvCompliance": "NONE",
               "MpdProfile": "MAIN_PROFILE", "WriteSegmentTimelineInRepresentation": "ENABLED"})
    },
};

const CMAF: Packaged = Packaged {
    name: "CMAF",
    kind: "CMAF_GROUP_SETTINGS",
    settings_key: "CmafGroupSettings",
    container: "CMFC",
    prefix: "_Ott_Cmaf_Cmfc",
    settings: || {
        json!({"SegmentControl": "SEGMENTED_FILES", "WriteDashManifest": "ENABLED",
               "WriteHlsManifest": "ENABLED", "ManifestDurationFormat": "INTEGER",
               "CodecSpecification": "RFC_4281", "StreamInfResolution": "INCLUDE",
               "ClientCache": "ENABLED", "ManifestCompression": "NONE",
               "MpdProfile": "MAIN_PROFILE", "WriteSegmentTimelineInRepresentation": "ENABLED"})
    },
};

/// A DASH ISO or CMAF group as the local transcoder packages it: a video-only output per rung and
/// one audio-only output, the top rung's AAC track (its one audio adaptation set).
fn packaged_template_group(group: &Packaged, ladder: &[Rendition]) -> Value {
    let mut outputs: Vec<Value> = ladder
        .iter()
        .map(|r| {
            json!({
                "ContainerSettings": {"Container": group.container},
                "VideoDescription": video_description(r),
                "NameModifier": format!("{}_Avc_16x9_{}x{}p_{}Mbps_qvbr",
                                        group.prefix, r.width, r.height, r.mbps),
            })
        })
        .collect();
    if let Some(top) = ladder.last() {
        let audio = rung(top);
        let he = if audio.audio_profile == "LC" {
            ""
        } else {
            "_He"
        };
        outputs.push(json!({
            "ContainerSettings": {"Container": group.container},
            "AudioDescriptions": [audio_description(top)],
            "NameModifier": format!("{}_Aac{he}_{}Kbps", group.prefix, audio.audio_bitrate / 1000),
        }));
    }
    let mut settings = (group.settings)();
    settings["SegmentLength"] = json!(3);
    settings["FragmentLength"] = json!(3);
    json!({
        "Name": group.name,
        "Outputs": outputs,
        "OutputGroupSettings": {"Type": group.kind, group.settings_key: settings},
    })
}

/// The all-groups template's MS Smooth group: one ISMV output per rung, its video with its own
/// audio (the local transcoder's `ismv` copy of that rung's encode). getMssGroup's 2 s fragments,
/// rounded up to whole GOPs (`GOP_MULTIPLE`): 3 s, the fragments the copy of 3 s GOPs really has.
fn mss_template_group(ladder: &[Rendition]) -> Value {
    let outputs: Vec<Value> = ladder
        .iter()
        .map(|r| {
            json!({
                "ContainerSettings": {"Container": "ISMV"},
                "VideoDescription": video_description(r),
                "AudioDescriptions": [audio_description(r)],
                "NameModifier": mss_name_modifier(r.height),
            })
        })
        .collect();
    json!({
        "Name": "MS Smooth",
        "Outputs": outputs,
        "OutputGroupSettings": {
            "Type": "MS_SMOOTH_GROUP_SETTINGS",
            "MsSmoothGroupSettings": {"FragmentLength": 2, "FragmentLengthControl": "GOP_MULTIPLE",
                                      "ManifestEncoding": "UTF8"},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_stack::workflow::encode::{encoding_job, hls_ladder};
    use crate::local_stack::workflow::tests::context;

    const GUID: &str = "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8";

    fn record(frame_capture: bool) -> Record {
        serde_json::from_value(json!({
            "guid": GUID, "srcVideo": "uploads/clip.mp4", "frameCapture": frame_capture,
            "jobTemplate": "vod-local_Ott_1080p_Avc_Aac_16x9_qvbr_no_preset",
        }))
        .unwrap()
    }

    fn groups_of(job: &Value) -> &Vec<Value> {
        job["Settings"]["OutputGroups"].as_array().unwrap()
    }

    fn outputs(group: &Value) -> &Vec<Value> {
        group["Outputs"].as_array().unwrap()
    }

    /// One field of every output of a group.
    fn column<'a>(group: &'a Value, path: &[&str]) -> Vec<&'a Value> {
        outputs(group)
            .iter()
            .map(|o| path.iter().fold(o, |v, key| &v[*key]))
            .collect()
    }

    const H264: [&str; 3] = ["VideoDescription", "CodecSettings", "H264Settings"];
    /// One AacSettings field of every output of a group.
    fn aac(group: &Value, field: &str) -> Vec<Value> {
        outputs(group)
            .iter()
            .map(|o| o["AudioDescriptions"][0]["CodecSettings"]["AacSettings"][field].clone())
            .collect()
    }

    #[test]
    fn the_1080p_default_job_has_the_templates_five_hls_outputs() {
        let job = encoding_job(&context(), &record(false), 1080, OutputGroups::HlsOnly);
        let groups = groups_of(&job);
        assert_eq!(groups.len(), 1);
        let hls = &groups[0];
        // The template's Name and SegmentLength over getHlsGroup's; the Lambda's Destination.
        assert_eq!(hls["Name"], "Apple HLS");
        let settings = &hls["OutputGroupSettings"]["HlsGroupSettings"];
        assert_eq!(settings["SegmentLength"], 3);
        assert_eq!(settings["MinSegmentLength"], 0);
        assert_eq!(
            settings["Destination"],
            format!("s3://vod-local-destination920a3c57-def/{GUID}/hls/")
        );
        assert_eq!(settings["ManifestDurationFormat"], "INTEGER");
        assert_eq!(settings["StreamInfResolution"], "INCLUDE");
        assert_eq!(settings.as_object().unwrap().len(), 16);
        assert_eq!(
            column(hls, &["NameModifier"]),
            [
                "_Ott_Hls_Ts_Avc_Aac_16x9_480x270p_0.4Mbps_qvbr",
                "_Ott_Hls_Ts_Avc_Aac_16x9_640x360p_1.5Mbps_qvbr",
                "_Ott_Hls_Ts_Avc_Aac_16x9_960x540p_3.5Mbps_qvbr",
                "_Ott_Hls_Ts_Avc_Aac_16x9_1280x720p_6.0Mbps_qvbr",
                "_Ott_Hls_Ts_Avc_Aac_16x9_1920x1080p_8.5Mbps_qvbr",
            ]
        );
        let h264 = |field: &str| -> Vec<Value> {
            column(hls, &H264)
                .iter()
                .map(|s| s[field].clone())
                .collect()
        };
        assert_eq!(
            h264("MaxBitrate"),
            [400_000, 1_500_000, 3_500_000, 6_000_000, 8_500_000].map(|n| json!(n))
        );
        assert_eq!(
            h264("HrdBufferSize"),
            [1_000_000, 3_750_000, 8_750_000, 15_000_000, 21_250_000].map(|n| json!(n))
        );
        assert_eq!(
            h264("QvbrSettings"),
            [7, 7, 8, 8, 9].map(|level| json!({"QvbrQualityLevel": level}))
        );
        assert_eq!(
            h264("AdaptiveQuantization"),
            ["MEDIUM", "MEDIUM", "HIGH", "HIGH", "HIGH"].map(|aq| json!(aq))
        );
        for field in ["RateControlMode", "GopSize", "GopSizeUnits", "CodecProfile"] {
            let first = h264(field)[0].clone();
            assert!(h264(field).iter().all(|v| *v == first), "{field}");
        }
        assert_eq!(h264("RateControlMode")[0], "QVBR");
        assert_eq!(h264("GopSize")[0], 3);
        assert_eq!(h264("NumberBFramesBetweenReferenceFrames")[4], 5);
        assert_eq!(column(hls, &H264)[0].as_object().unwrap().len(), 34);
        assert_eq!(
            aac(hls, "Bitrate"),
            [64_000, 64_000, 96_000, 96_000, 128_000].map(|n| json!(n))
        );
        assert_eq!(
            aac(hls, "CodecProfile"),
            ["HEV1", "HEV1", "HEV1", "HEV1", "LC"].map(|p| json!(p))
        );
        assert!(aac(hls, "SampleRate").iter().all(|r| *r == 48_000));
        assert!(
            aac(hls, "CodingMode")
                .iter()
                .all(|m| *m == "CODING_MODE_2_0")
        );
        let first = &outputs(hls)[0];
        assert_eq!(first["VideoDescription"]["Width"], 480);
        assert_eq!(first["VideoDescription"]["Height"], 270);
        assert_eq!(first["ContainerSettings"]["Container"], "M3U8");
        assert_eq!(
            first["ContainerSettings"]["M3u8Settings"]["AudioPids"]
                .as_array()
                .unwrap()
                .len(),
            17
        );
        assert_eq!(
            first["AudioDescriptions"][0]["AudioSourceName"],
            "Audio Selector 1"
        );
        // The 2160p template stops at 1080p too; its group is the 1080p one.
        let uhd = encoding_job(&context(), &record(false), 2160, OutputGroups::HlsOnly);
        assert_eq!(groups_of(&uhd), groups);
    }

    #[test]
    fn the_720p_default_job_has_four() {
        let job = encoding_job(&context(), &record(false), 720, OutputGroups::HlsOnly);
        let hls = &groups_of(&job)[0];
        assert_eq!(outputs(hls).len(), 4);
        assert_eq!(
            column(hls, &["NameModifier"])[3],
            "_Ott_Hls_Ts_Avc_Aac_16x9_1280x720p_6.0Mbps_qvbr"
        );
        assert_eq!(column(hls, &H264)[3]["MaxBitrate"], 6_000_000);
        assert_eq!(column(hls, &H264)[3]["QvbrSettings"]["QvbrQualityLevel"], 8);
        assert_eq!(aac(hls, "Bitrate")[3], 96_000);
        assert_eq!(aac(hls, "CodecProfile")[3], "HEV1");
        // Every output is the 1080p template's output of the same rung.
        let full = encoding_job(&context(), &record(false), 1080, OutputGroups::HlsOnly);
        assert_eq!(outputs(hls)[..], outputs(&groups_of(&full)[0])[..4]);
    }

    #[test]
    fn the_custom_templates_write_their_groups_in_full() {
        let job = encoding_job(&context(), &record(false), 1080, OutputGroups::HlsDashMp4);
        let groups = groups_of(&job);
        let names: Vec<&Value> = groups.iter().map(|g| &g["Name"]).collect();
        assert_eq!(names, ["File Group", "Apple HLS", "DASH ISO"]);
        let mp4 = &groups[0];
        assert_eq!(
            mp4["OutputGroupSettings"],
            json!({"Type": "FILE_GROUP_SETTINGS",
                   "FileGroupSettings": {"Destination": format!("s3://vod-local-destination920a3c57-def/{GUID}/mp4/")}})
        );
        let [file] = &outputs(mp4)[..] else {
            panic!("one MP4")
        };
        assert_eq!(file["NameModifier"], "_1080p");
        assert_eq!(file["ContainerSettings"]["Container"], "MP4");
        assert_eq!(
            file["ContainerSettings"]["Mp4Settings"]["MoovPlacement"],
            "PROGRESSIVE_DOWNLOAD"
        );
        // The top rung as the HLS group encodes it, its audio included.
        let top_hls = &outputs(&groups[1])[4];
        assert_eq!(file["VideoDescription"], top_hls["VideoDescription"]);
        assert_eq!(file["AudioDescriptions"], top_hls["AudioDescriptions"]);

        let dash = &groups[2];
        let settings = &dash["OutputGroupSettings"]["DashIsoGroupSettings"];
        assert_eq!(settings["SegmentLength"], 3);
        assert_eq!(settings["FragmentLength"], 3);
        assert_eq!(
            settings["Destination"],
            format!("s3://vod-local-destination920a3c57-def/{GUID}/dash/")
        );
        assert_eq!(outputs(dash).len(), 6);
        assert_eq!(
            column(dash, &["NameModifier"])[0],
            "_Ott_Dash_Mp4_Avc_16x9_480x270p_0.4Mbps_qvbr"
        );
        let audio = &outputs(dash)[5];
        assert_eq!(audio["NameModifier"], "_Ott_Dash_Mp4_Aac_128Kbps");
        assert!(audio.get("VideoDescription").is_none());
        assert_eq!(audio["AudioDescriptions"], top_hls["AudioDescriptions"]);
        assert!(
            outputs(dash)[..5]
                .iter()
                .all(|o| o.get("AudioDescriptions").is_none()
                    && o["ContainerSettings"] == json!({"Container": "MPD"}))
        );

        let all = encoding_job(&context(), &record(true), 720, OutputGroups::HlsDashCmafMp4);
        let groups = groups_of(&all);
        let kinds: Vec<&Value> = groups
            .iter()
            .map(|g| &g["OutputGroupSettings"]["Type"])
            .collect();
        assert_eq!(
            kinds,
            [
                "FILE_GROUP_SETTINGS",
                "HLS_GROUP_SETTINGS",
                "DASH_ISO_GROUP_SETTINGS",
                "CMAF_GROUP_SETTINGS",
                "FILE_GROUP_SETTINGS"
            ]
        );
        assert_eq!(outputs(&groups[0])[0]["NameModifier"], "_720p");
        let cmaf = &groups[3];
        let settings = &cmaf["OutputGroupSettings"]["CmafGroupSettings"];
        assert_eq!(settings["SegmentLength"], 3);
        assert_eq!(settings["WriteDashManifest"], "ENABLED");
        assert_eq!(settings["WriteHlsManifest"], "ENABLED");
        assert_eq!(outputs(cmaf).len(), 5);
        assert_eq!(
            column(cmaf, &["NameModifier"])[3],
            "_Ott_Cmaf_Cmfc_Avc_16x9_1280x720p_6.0Mbps_qvbr"
        );
        assert_eq!(
            outputs(cmaf)[4]["NameModifier"],
            "_Ott_Cmaf_Cmfc_Aac_He_96Kbps"
        );
        assert_eq!(column(cmaf, &["ContainerSettings", "Container"])[4], "CMFC");
        assert_eq!(aac(cmaf, "CodecProfile")[4], "HEV1");
        assert_eq!(aac(cmaf, "Bitrate")[4], 96_000);
    }

    #[test]
    fn the_all_groups_template_adds_an_ms_smooth_group_of_every_rung() {
        let job = encoding_job(&context(), &record(true), 720, OutputGroups::AllGroups);
        let groups = groups_of(&job);
        let names: Vec<&Value> = groups.iter().map(|g| &g["Name"]).collect();
        assert_eq!(
            names,
            [
                "File Group",
                "Apple HLS",
                "DASH ISO",
                "CMAF",
                "MS Smooth",
                "File Group"
            ]
        );
        let mss = &groups[4];
        assert_eq!(
            mss["OutputGroupSettings"],
            json!({"Type": "MS_SMOOTH_GROUP_SETTINGS", "MsSmoothGroupSettings": {
                "FragmentLength": 2, "FragmentLengthControl": "GOP_MULTIPLE", "ManifestEncoding": "UTF8",
                "Destination": format!("s3://vod-local-destination920a3c57-def/{GUID}/mss/")}})
        );
        assert_eq!(
            column(mss, &["NameModifier"]),
            ["_mss_270p", "_mss_360p", "_mss_540p", "_mss_720p"]
        );
        assert!(
            column(mss, &["ContainerSettings"])
                .iter()
                .all(|c| **c == json!({"Container": "ISMV"}))
        );
        // Each rung as the HLS group encodes it, its own audio included.
        let hls = &groups[1];
        assert_eq!(
            column(mss, &["VideoDescription"]),
            column(hls, &["VideoDescription"])
        );
        assert_eq!(aac(mss, "Bitrate"), aac(hls, "Bitrate"));
    }

    #[test]
    fn the_frame_group_is_get_frame_groups() {
        let job = encoding_job(&context(), &record(true), 1080, OutputGroups::HlsOnly);
        let frame = &groups_of(&job)[1];
        assert_eq!(
            *frame,
            json!({
                "CustomName": "Frame Capture",
                "Name": "File Group",
                "OutputGroupSettings": {"Type": "FILE_GROUP_SETTINGS", "FileGroupSettings": {
                    "Destination": format!("s3://vod-local-destination920a3c57-def/{GUID}/thumbnails/")}},
                "Outputs": [{
                    "NameModifier": "_thumb",
                    "ContainerSettings": {"Container": "RAW"},
                    "VideoDescription": {
                        "ColorMetadata": "INSERT", "AfdSignaling": "NONE", "Sharpness": 100,
                        "RespondToAfd": "NONE", "TimecodeInsertion": "DISABLED",
                        "ScalingBehavior": "DEFAULT", "AntiAlias": "ENABLED",
                        "CodecSettings": {"FrameCaptureSettings": {"MaxCaptures": 10_000_000,
                            "Quality": 80, "FramerateDenominator": 5, "FramerateNumerator": 1},
                            "Codec": "FRAME_CAPTURE"},
                        "DropFrameTimecode": "ENABLED",
                    },
                }],
            })
        );
        // Only keys named frameHeight/frameWidth (a metadata file's) give it a size.
        let mut sized = record(true);
        sized.insert("frameHeight".into(), json!(360));
        sized.insert("frameCaptureWidth".into(), json!(640));
        let job = encoding_job(&context(), &sized, 1080, OutputGroups::HlsOnly);
        let description = &groups_of(&job)[1]["Outputs"][0]["VideoDescription"];
        assert_eq!(description["Height"], 360);
        assert!(description.get("Width").is_none());
        // Off (or falsy): no frame group.
        let mut off = record(false);
        off.insert("frameCapture".into(), json!(""));
        assert_eq!(
            groups_of(&encoding_job(&context(), &off, 720, OutputGroups::HlsOnly)).len(),
            1
        );
    }

    #[test]
    fn merge_is_lodash_merge() {
        let mut target = json!({"a": {"x": 1, "y": [1, 2]}, "b": [], "c": "keep", "d": {"z": 0}});
        merge(
            &mut target,
            &json!({"a": {"y": [9], "w": null}, "b": [{"n": 1}], "d": 5, "e": {"f": [true]}}),
        );
        assert_eq!(
            target,
            json!({"a": {"x": 1, "y": [9, 2], "w": null}, "b": [{"n": 1}], "c": "keep", "d": 5,
                   "e": {"f": [true]}})
        );
        // An object over a scalar, an array over an object: replaced, as lodash does.
        let mut target = json!({"a": 1, "b": {"k": 1}});
        merge(&mut target, &json!({"a": {"k": 2}, "b": [3]}));
        assert_eq!(target, json!({"a": {"k": 2}, "b": [3]}));
    }

    #[test]
    fn unknown_group_types_are_left_out_and_every_rung_has_its_settings() {
        assert_eq!(default_group("SOMETHING_ELSE", "s3://b/g"), None);
        let mss = default_group("MS_SMOOTH_GROUP_SETTINGS", "s3://b/g").unwrap();
        assert_eq!(mss["Name"], "MS Smooth");
        assert_eq!(
            mss["OutputGroupSettings"]["MsSmoothGroupSettings"]["Destination"],
            "s3://b/g/mss/"
        );
        for r in hls_ladder(1080) {
            assert_eq!(rung(r).height, r.height);
            assert_eq!(rung(r).hrd_buffer_size, r.bitrate / 2 * 5);
        }
    }

    #[test]
    fn a_job_stays_far_below_dynamodbs_item_limit() {
        // The largest job there is: every group, the 1080p ladder, frame capture.
        let job = encoding_job(&context(), &record(true), 2160, OutputGroups::AllGroups);
        let compact = serde_json::to_string(&job).unwrap().len();
        assert!(compact < 40_000, "{compact} bytes");
    }
}
