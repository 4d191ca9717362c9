//! The encode step: the v6 templates' HLS ladder ([`Rendition`]), which output groups the local
//! "MediaConvert" writes ([`OutputGroups`]), the names MediaConvert gives outputs, job ids, and the
//! CreateJob request the record keeps as `encodingJob` (its output groups, the templates' merged
//! over the Lambda's defaults, come from `job_settings`).

use serde_json::{Value, json};

use super::{Record, StackContext, job_settings};

/// One rendition of the v6 templates' "Apple HLS" group (contract §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rendition {
    pub width: u32,
    pub height: u32,
    /// The rate in the NameModifier, as the template writes it (`0.4`, `6.0`).
    pub mbps: &'static str,
    /// The target video bit rate, bit/s.
    pub bitrate: u32,
}

impl Rendition {
    pub(crate) fn hls_name_modifier(&self) -> String {
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
pub(crate) fn hls_ladder(profile: u32) -> &'static [Rendition] {
    if profile <= 720 {
        &LADDER[..4]
    } else {
        &LADDER
    }
}

/// Which groups the local "MediaConvert" writes, which is what the job's template says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputGroups {
    /// The v6 default templates exactly: one Apple HLS group.
    #[default]
    HlsOnly,
    /// The local custom template `<stack>_Custom_Hls_Dash_Mp4`: HLS, DASH and one MP4 of the top
    /// rendition. On AWS only a custom template writes DASH, CMAF or MP4 (contract §7), so a record
    /// of such a job names it in `jobTemplate`, with `isCustomTemplate: true`.
    HlsDashMp4,
    /// The local custom template `<stack>_Custom_Hls_Dash_Cmaf_Mp4`: the groups above and a CMAF
    /// group (one set of fragmented-MP4 segments under a DASH manifest and an HLS playlist).
    HlsDashCmafMp4,
    /// The local custom template `<stack>_Custom_All_Groups`: every group the solution's encode
    /// Lambda knows: the groups above and an MS Smooth group (one `.ismv` per rung, its video with its
    /// own AAC, under the `.ism` server and `.ismc` client manifests).
    AllGroups,
}

impl OutputGroups {
    /// The local custom templates, as `vodesk local-stack --list-templates` lists them.
    pub const CUSTOM: [Self; 3] = [Self::HlsDashMp4, Self::HlsDashCmafMp4, Self::AllGroups];

    /// The name of the custom template that writes these groups, `None` for the default templates.
    pub fn custom_template_name(self, stack_name: &str) -> Option<String> {
        let suffix = match self {
            Self::HlsOnly => return None,
            Self::HlsDashMp4 => "Custom_Hls_Dash_Mp4",
            Self::HlsDashCmafMp4 => "Custom_Hls_Dash_Cmaf_Mp4",
            Self::AllGroups => "Custom_All_Groups",
        };
        Some(format!("{stack_name}_{suffix}"))
    }

    /// The groups in words, for listings.
    pub fn describe(self) -> &'static str {
        match self {
            Self::HlsOnly => "HLS",
            Self::HlsDashMp4 => "HLS, DASH and an MP4 of the top rendition",
            Self::HlsDashCmafMp4 => "HLS, DASH, CMAF and an MP4 of the top rendition",
            Self::AllGroups => "HLS, DASH, CMAF, MS Smooth and an MP4 of the top rendition",
        }
    }

    pub fn writes_dash(self) -> bool {
        self != Self::HlsOnly
    }

    pub fn writes_mp4(self) -> bool {
        self != Self::HlsOnly
    }

    pub fn writes_cmaf(self) -> bool {
        matches!(self, Self::HlsDashCmafMp4 | Self::AllGroups)
    }

    pub fn writes_mss(self) -> bool {
        self == Self::AllGroups
    }

    /// The groups of the template named `name` on the local "MediaConvert": a default template of
    /// the stack (HLS only) or one of [`Self::CUSTOM`]; `None` for a template it does not have,
    /// which fails the encode step as MediaConvert's GetJobTemplate does.
    pub(crate) fn of_template(context: &StackContext, name: &str) -> Option<Self> {
        if local_job_templates(&context.stack_name)
            .iter()
            .any(|t| t.default_for_profile.is_some() && t.name == name)
        {
            return Some(Self::HlsOnly);
        }
        Self::CUSTOM.into_iter().find(|groups| {
            groups.custom_template_name(&context.stack_name).as_deref() == Some(name)
        })
    }
}

/// One job template of the local "MediaConvert": its name, what it writes, and when the solution
/// uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalJobTemplate {
    pub name: String,
    pub groups: OutputGroups,
    /// `Some(profile)` for the solution's default template of that profile.
    pub default_for_profile: Option<u32>,
    /// For a default template: whether input-validate names it on stacks with MediaPackage on
    /// (`…_mvod_no_preset`) or off (`…_qvbr_no_preset`).
    pub for_media_package: bool,
}

/// Every job template the local stack named `stack_name` has: the six default templates the
/// solution creates whatever its parameters (`qvbr` for MediaPackage off, `mvod` for on; each one
/// Apple HLS group), then the local custom ones a metadata file's `jobTemplate` can select.
pub fn local_job_templates(stack_name: &str) -> Vec<LocalJobTemplate> {
    let defaults = [false, true].into_iter().flat_map(|media_package| {
        let rate_control = if media_package { "mvod" } else { "qvbr" };
        [2160, 1080, 720].map(|profile| LocalJobTemplate {
            name: format!("{stack_name}_Ott_{profile}p_Avc_Aac_16x9_{rate_control}_no_preset"),
            groups: OutputGroups::HlsOnly,
            default_for_profile: Some(profile),
            for_media_package: media_package,
        })
    });
    let custom = OutputGroups::CUSTOM.into_iter().filter_map(|groups| {
        Some(LocalJobTemplate {
            name: groups.custom_template_name(stack_name)?,
            groups,
            default_for_profile: None,
            for_media_package: false,
        })
    });
    defaults.chain(custom).collect()
}

/// encode's GetJobTemplate failing for a template the account does not have, as the Lambda's
/// `err.toString()` reads.
pub(crate) fn template_not_found(context: &StackContext, name: &str) -> String {
    format!(
        "NotFoundException: The specified job template was not found: jobTemplateArn=arn:aws:mediaconvert:{}:{}:jobTemplates/{name}.",
        context.region, context.account_id
    )
}

/// The MP4 output's NameModifier: the top rendition's height, as in the contract's custom template.
pub(crate) fn mp4_name_modifier(top: &Rendition) -> String {
    format!("_{}p", top.height)
}

/// A MediaConvert job id: `<13-digit epoch ms>-<6 [a-z0-9]>`.
pub(crate) fn new_job_id(epoch_ms: u64) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..6)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{epoch_ms}-{tail}")
}

/// The base name MediaConvert gives outputs: folders dropped, then the last extension.
pub(crate) fn output_base_name(src_video: &str) -> String {
    let file = src_video.rsplit('/').next().unwrap_or(src_video);
    match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => file.to_owned(),
    }
}

/// encode: the CreateJob request the record keeps as `encodingJob` (template outputs merged in).
pub(crate) fn encoding_job(
    context: &StackContext,
    record: &Record,
    profile: u32,
    groups: OutputGroups,
) -> Value {
    let guid = record.get("guid").cloned().unwrap_or(Value::Null);
    let src_video = record.get("srcVideo").and_then(Value::as_str).unwrap_or("");
    let output_path = format!("s3://{}/{}", context.destination_bucket, guid_str(record));
    let output_groups =
        job_settings::output_groups(groups, hls_ladder(profile), &output_path, record);
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn only_the_custom_template_writes_dash_and_mp4() {
        let context = crate::local_stack::workflow::tests::context();
        let custom = OutputGroups::HlsDashMp4
            .custom_template_name("vod-local")
            .unwrap();
        assert_eq!(custom, "vod-local_Custom_Hls_Dash_Mp4");
        assert_eq!(
            OutputGroups::HlsOnly.custom_template_name("vod-local"),
            None
        );
        let mut record = Record::new();
        assert_eq!(
            OutputGroups::of_template(&context, &context.template_name(1080)),
            Some(OutputGroups::HlsOnly)
        );
        assert_eq!(
            OutputGroups::of_template(&context, &custom),
            Some(OutputGroups::HlsDashMp4)
        );
        assert_eq!(
            OutputGroups::of_template(&context, "vod-local_Custom_Hls_Dash_Cmaf_Mp4"),
            Some(OutputGroups::HlsDashCmafMp4)
        );
        // Another stack's template, or one nobody made: GetJobTemplate fails.
        assert_eq!(
            OutputGroups::of_template(&context, "other_Ott_1080p_Avc_Aac_16x9_qvbr_no_preset"),
            None
        );
        assert_eq!(
            template_not_found(&context, "nope"),
            "NotFoundException: The specified job template was not found: \
             jobTemplateArn=arn:aws:mediaconvert:us-east-1:123456789012:jobTemplates/nope."
        );
        record.insert("jobTemplate".into(), json!(custom));
        let job = encoding_job(&context, &record, 1080, OutputGroups::HlsDashMp4);
        assert_eq!(job["JobTemplate"], "vod-local_Custom_Hls_Dash_Mp4");
        let names: Vec<&str> = job["Settings"]["OutputGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["File Group", "Apple HLS", "DASH ISO"]);
        let all = encoding_job(&context, &record, 720, OutputGroups::HlsDashCmafMp4);
        let cmaf = &all["Settings"]["OutputGroups"][3];
        assert_eq!(cmaf["OutputGroupSettings"]["Type"], "CMAF_GROUP_SETTINGS");
        // Four rungs of video and the top rung's audio.
        assert_eq!(cmaf["Outputs"].as_array().unwrap().len(), 5);
        assert_eq!(
            OutputGroups::of_template(&context, "vod-local_Custom_All_Groups"),
            Some(OutputGroups::AllGroups)
        );
        let every = encoding_job(&context, &record, 1080, OutputGroups::AllGroups);
        let kinds: Vec<&str> = every["Settings"]["OutputGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["OutputGroupSettings"]["Type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "FILE_GROUP_SETTINGS",
                "HLS_GROUP_SETTINGS",
                "DASH_ISO_GROUP_SETTINGS",
                "CMAF_GROUP_SETTINGS",
                "MS_SMOOTH_GROUP_SETTINGS"
            ]
        );
        assert!(OutputGroups::AllGroups.writes_cmaf() && OutputGroups::AllGroups.writes_mss());
        assert!(!OutputGroups::HlsDashCmafMp4.writes_mss());
        let listed: Vec<String> = local_job_templates("vod-local")
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(listed.len(), 9);
        assert_eq!(listed[8], "vod-local_Custom_All_Groups");
        assert!(listed.contains(&"vod-local_Ott_720p_Avc_Aac_16x9_mvod_no_preset".to_owned()));
        assert!(
            listed
                .iter()
                .all(|name| OutputGroups::of_template(&context, name).is_some())
        );
        let default_job = encoding_job(&context, &Record::new(), 1080, OutputGroups::HlsOnly);
        assert_eq!(
            default_job["Settings"]["OutputGroups"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
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
}
