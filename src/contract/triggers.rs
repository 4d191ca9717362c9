//! Which uploaded keys start a workflow (contract §3): the extension lists of each release family, their
//! case rules, the verdict (with the reason a user can act on) for a key on a stack, and the suffix
//! filters the solution's bucket notification is made of. The uploader checks keys with it and the
//! local stack builds its bucket notification from it, so the two cannot disagree.

use crate::contract::stack::WorkflowTrigger;

/// Extensions whose keys start a workflow on v5.3.0 and later (VideoFile stacks). Each triggers in
/// all lower case or ALL UPPER case; mixed case (`.Mp4`) never does.
pub const VIDEO_SUFFIXES_V53: [&str; 12] = [
    "mpg", "mp4", "m4v", "mov", "m2ts", "wmv", "mxf", "mkv", "m3u8", "mpeg", "webm", "h264",
];
/// Extensions that start a workflow on v5.0.0–v5.2.x, lower case only.
pub const VIDEO_SUFFIXES_V50: [&str; 5] = ["mpg", "mp4", "m4v", "mov", "m2ts"];
/// Extensions that start a workflow on v4.x, lower case only. `mv4` is the solution's own typo for
/// `m4v`: on v4 an `.m4v` upload does not start a workflow, and `.mv4` does.
pub const VIDEO_SUFFIXES_V4: [&str; 5] = ["mpg", "mp4", "mv4", "mov", "m2ts"];

/// Whether uploading a key will start a workflow by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerVerdict {
    Starts,
    /// No workflow will start; `reason` is a complete sentence for the user, ending in a full stop.
    WillNotStart {
        reason: String,
    },
}

/// Which release family's suffix filters a stack has (contract §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SuffixRules {
    V4,
    V50,
    V53,
}

impl SuffixRules {
    /// Rules for a release string such as `v6.1.13`. An unknown or unreadable version gets the
    /// current (v5.3+) rules: new deployments are v6, and a lower-case extension, which vodesk
    /// always writes for `{name}`, triggers on every release that has it in its list. Releases
    /// before v4 (outside the contract) get the v4 rules, the oldest known.
    fn for_version(version: Option<&str>) -> Self {
        match version.and_then(parse_version) {
            Some((major, _)) if major <= 4 => Self::V4,
            Some((5, minor)) if minor < 3 => Self::V50,
            _ => Self::V53,
        }
    }

    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Self::V4 => &VIDEO_SUFFIXES_V4,
            Self::V50 => &VIDEO_SUFFIXES_V50,
            Self::V53 => &VIDEO_SUFFIXES_V53,
        }
    }

    fn upper_case_triggers(self) -> bool {
        self == Self::V53
    }
}

/// `(major, minor)` of `v6.1.13`, `6.1`, `V5.2.0-rc1`; `None` when it does not start that way.
fn parse_version(version: &str) -> Option<(u32, u32)> {
    let trimmed = version.trim();
    let numbers = trimmed
        .strip_prefix(['v', 'V'])
        .unwrap_or(trimmed)
        .split('.');
    let mut leading = numbers.map(|part| {
        let digits_end = part
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(part.len());
        part.get(..digits_end)
            .and_then(|digits| digits.parse::<u32>().ok())
    });
    let major = leading.next().flatten()?;
    let minor = leading.next().flatten().unwrap_or(0);
    Some((major, minor))
}

/// The extensions that start a workflow on a release (`None`: unknown, v5.3+ rules), lower case.
pub fn trigger_suffixes(solution_version: Option<&str>) -> &'static [&'static str] {
    SuffixRules::for_version(solution_version).suffixes()
}

/// Whether uploading `key` starts a workflow by itself, by contract §3.
///
/// `trigger` is the stack's WorkflowTrigger (`None`: unknown, treated as VideoFile, the default) and
/// `solution_version` its release (`None`: unknown, v5.3+ rules). S3's suffix filters compare the
/// raw key case-sensitively, so the extension must be in the release's list in lower case, or (v5.3+
/// only) ALL UPPER case.
pub fn video_trigger(
    key: &str,
    trigger: Option<WorkflowTrigger>,
    solution_version: Option<&str>,
) -> TriggerVerdict {
    let will_not = |reason: String| TriggerVerdict::WillNotStart { reason };
    if trigger == Some(WorkflowTrigger::MetadataFile) {
        return will_not(
            "This stack's WorkflowTrigger is MetadataFile, so a video never starts a workflow by itself: \
             a metadata file (<stem>.json whose \"srcVideo\" is the video's key) must be uploaded after it. \
             vodesk's metadata mode uploads that file for you."
                .to_owned(),
        );
    }
    let rules = SuffixRules::for_version(solution_version);
    let known_version = solution_version.filter(|v| parse_version(v).is_some());
    let stack = match known_version {
        Some(version) => format!("this stack ({})", version.trim()),
        None => "this stack (version unknown, so v5.3.0+ rules are assumed)".to_owned(),
    };
    let allowed = rules
        .suffixes()
        .iter()
        .map(|s| format!(".{s}"))
        .collect::<Vec<_>>()
        .join(" ");

    let Some(extension) = base_name(key)
        .rsplit_once('.')
        .map(|(_, extension)| extension)
        .filter(|extension| !extension.is_empty())
    else {
        return will_not(format!(
            "The key {key:?} has no file extension, so uploading it will not start a workflow; \
             on {stack} only keys ending in {allowed} do."
        ));
    };
    let lower = extension.to_ascii_lowercase();
    let upper = extension.to_ascii_uppercase();
    if rules.suffixes().contains(&lower.as_str()) {
        if extension == lower {
            return TriggerVerdict::Starts;
        }
        if extension == upper {
            if rules.upper_case_triggers() {
                return TriggerVerdict::Starts;
            }
            return will_not(format!(
                "The extension \".{extension}\" is upper case, which starts a workflow only on v5.3.0 and later, \
                 and {stack} is older. Use lower case: \".{lower}\"."
            ));
        }
        return will_not(format!(
            "The extension \".{extension}\" mixes upper and lower case, and mixed case never starts a workflow \
             (the bucket's suffix filters are case-sensitive). Use lower case: \".{lower}\"."
        ));
    }
    if lower == "json" {
        return will_not(format!(
            "A \".{extension}\" key does not start a workflow on {stack}: metadata files start workflows \
             only on stacks whose WorkflowTrigger is MetadataFile, and videos need one of {allowed}."
        ));
    }
    if rules == SuffixRules::V4 && lower == "m4v" {
        return will_not(format!(
            "The extension \".{extension}\" does not start a workflow on {stack}: v4.x filters for \".mv4\" \
             (a typo in the solution) instead of \".m4v\". Rename the file to \".mp4\" (an .m4v file is an MP4 file), \
             or upgrade the stack."
        ));
    }
    will_not(format!(
        "The extension \".{extension}\" does not start a workflow on {stack}; only {allowed} do \
         (lower case{}). Convert the video to one of those formats; MP4 is the safest choice.",
        if rules.upper_case_triggers() {
            " or ALL UPPER case"
        } else {
            ""
        }
    ))
}

/// The bucket's suffix filters on a v5.3+ stack, one per rule as S3 allows. VideoFile: each extension
/// in lower case, then in upper case (`.mp4`, …, `.MP4`, …): 24 in all. MetadataFile: the one filter
/// `json`, without a dot, as the solution's custom resource writes it (so `foojson` fires too, and
/// step-functions then takes it for a video).
pub fn bucket_filter_suffixes(trigger: WorkflowTrigger) -> Vec<String> {
    if trigger == WorkflowTrigger::MetadataFile {
        return vec!["json".to_owned()];
    }
    let lower = VIDEO_SUFFIXES_V53.iter().map(|s| format!(".{s}"));
    let upper = VIDEO_SUFFIXES_V53
        .iter()
        .map(|s| format!(".{}", s.to_ascii_uppercase()));
    lower.chain(upper).collect()
}

/// The last path segment of a key (`a/b/c.mp4` → `c.mp4`).
fn base_name(key: &str) -> &str {
    key.rsplit(['/', '\\']).next().unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(verdict: TriggerVerdict) -> String {
        match verdict {
            TriggerVerdict::WillNotStart { reason } => reason,
            TriggerVerdict::Starts => panic!("expected WillNotStart"),
        }
    }

    #[test]
    fn trigger_suffix_lists() {
        assert_eq!(trigger_suffixes(None), &VIDEO_SUFFIXES_V53);
        assert_eq!(trigger_suffixes(Some("v6.1.13")), &VIDEO_SUFFIXES_V53);
        assert_eq!(trigger_suffixes(Some("v5.3.0")), &VIDEO_SUFFIXES_V53);
        assert_eq!(trigger_suffixes(Some("v5.2.0")), &VIDEO_SUFFIXES_V50);
        assert_eq!(trigger_suffixes(Some("5.0.0")), &VIDEO_SUFFIXES_V50);
        assert_eq!(trigger_suffixes(Some("v4.3.0")), &VIDEO_SUFFIXES_V4);
        assert_eq!(trigger_suffixes(Some("V4.0")), &VIDEO_SUFFIXES_V4);
        assert_eq!(trigger_suffixes(Some("v5")), &VIDEO_SUFFIXES_V50);
        assert_eq!(trigger_suffixes(Some("garbage")), &VIDEO_SUFFIXES_V53);
        assert_eq!(trigger_suffixes(Some("")), &VIDEO_SUFFIXES_V53);
        assert_eq!(trigger_suffixes(Some(" v5.2.1-rc1 ")), &VIDEO_SUFFIXES_V50);
    }

    #[test]
    fn v53_lower_and_upper_trigger() {
        for version in [None, Some("v6.1.13"), Some("v5.3.0"), Some("v5.3.1")] {
            for trigger in [None, Some(WorkflowTrigger::VideoFile)] {
                for ext in VIDEO_SUFFIXES_V53 {
                    let lower = format!("up/clip.{ext}");
                    let upper = format!("up/clip.{}", ext.to_uppercase());
                    assert_eq!(
                        video_trigger(&lower, trigger, version),
                        TriggerVerdict::Starts,
                        "{lower} {version:?}"
                    );
                    assert_eq!(
                        video_trigger(&upper, trigger, version),
                        TriggerVerdict::Starts,
                        "{upper} {version:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn mixed_case_never_triggers() {
        for version in [None, Some("v6.1.13"), Some("v5.2.0"), Some("v4.3.0")] {
            for key in ["clip.Mp4", "clip.mOV", "clip.M2ts"] {
                let text = reason(video_trigger(key, None, version));
                assert!(text.contains("mixes upper and lower case"), "{text}");
                assert!(text.contains("Use lower case"), "{text}");
                assert!(text.ends_with('.'), "{text}");
            }
        }
        let text = reason(video_trigger("clip.Mp4", None, None));
        assert!(text.contains("\".mp4\""), "{text}");
    }

    #[test]
    fn v50_rules() {
        let v = Some("v5.2.0");
        for ext in VIDEO_SUFFIXES_V50 {
            assert_eq!(
                video_trigger(&format!("a.{ext}"), None, v),
                TriggerVerdict::Starts
            );
            let upper = format!("a.{}", ext.to_uppercase());
            let text = reason(video_trigger(&upper, None, v));
            assert!(
                text.contains("upper case") && text.contains("v5.3.0"),
                "{text}"
            );
            assert!(text.contains("v5.2.0"), "{text}");
        }
        for ext in ["wmv", "mxf", "mkv", "m3u8", "mpeg", "webm", "h264"] {
            let text = reason(video_trigger(&format!("a.{ext}"), None, v));
            assert!(text.contains(&format!("\".{ext}\"")), "{text}");
            assert!(text.contains(".mpg .mp4 .m4v .mov .m2ts"), "{text}");
            assert!(!text.contains("UPPER"), "{text}");
        }
    }

    #[test]
    fn v4_rules_and_the_m4v_typo() {
        let v = Some("v4.3.0");
        for ext in VIDEO_SUFFIXES_V4 {
            assert_eq!(
                video_trigger(&format!("a.{ext}"), None, v),
                TriggerVerdict::Starts,
                "{ext}"
            );
        }
        let text = reason(video_trigger("a.m4v", None, v));
        assert!(text.contains(".mv4") && text.contains(".mp4"), "{text}");
        assert!(reason(video_trigger("a.MP4", None, v)).contains("upper case"));
        // .mv4 is only a v4 quirk.
        assert!(matches!(
            video_trigger("a.mv4", None, Some("v6.1.13")),
            TriggerVerdict::WillNotStart { .. }
        ));
    }

    #[test]
    fn other_extensions_name_themselves_and_list_the_triggers() {
        for key in ["a.avi", "a.mts", "a.ts", "a.3gp", "a.flv", "a.AVI"] {
            let text = reason(video_trigger(
                key,
                Some(WorkflowTrigger::VideoFile),
                Some("v6.1.13"),
            ));
            let extension = key.trim_start_matches("a");
            assert!(text.contains(&format!("\"{extension}\"")), "{text}");
            assert!(
                text.contains(".mpg .mp4 .m4v .mov .m2ts .wmv .mxf .mkv .m3u8 .mpeg .webm .h264"),
                "{text}"
            );
            assert!(text.contains("v6.1.13"), "{text}");
            assert!(text.ends_with('.'), "{text}");
        }
        let text = reason(video_trigger("a.avi", None, None));
        assert!(text.contains("version unknown"), "{text}");
    }

    #[test]
    fn keys_without_extension_do_not_trigger() {
        for key in ["noext", "dir.mp4/file", "clip.", "a/b"] {
            let text = reason(video_trigger(key, None, None));
            assert!(text.contains("no file extension"), "{key}: {text}");
        }
    }

    #[test]
    fn json_on_a_video_stack_does_not_trigger() {
        let text = reason(video_trigger(
            "a.json",
            Some(WorkflowTrigger::VideoFile),
            None,
        ));
        assert!(text.contains("MetadataFile"), "{text}");
    }

    #[test]
    fn metadata_stacks_never_start_from_a_video() {
        for key in ["a.mp4", "a.MP4", "a.json", "a.avi"] {
            let text = reason(video_trigger(
                key,
                Some(WorkflowTrigger::MetadataFile),
                Some("v6.1.13"),
            ));
            assert!(text.contains("MetadataFile"), "{text}");
            assert!(text.contains("metadata mode"), "{text}");
        }
    }

    // ---- metadata mode ----
}
