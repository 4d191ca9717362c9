//! The upload options of a MetadataFile stack (contract §3 "Metadata mode"): the job template, frame
//! capture, archive and free metadata fields that go into the metadata file starting each upload's
//! workflow, remembered per stack ([`UploadOptionsBook`]). Every field is checked as it is typed with the
//! same rules as the file itself ([`metadata_document`]), and files are not sent while one is refused.
//! On a VideoFile stack (or one whose trigger is unknown) there are no options and nothing is sent.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{AppState, ConnectionState};
use crate::app::engine::Command;
use crate::aws::discovery::VodResources;
use crate::aws::upload::naming::metadata_document;
use crate::contract::stack::WorkflowTrigger;
use crate::jobs::JobBook;

/// A video key to check metadata fields against (only the fields are judged).
const PROBE_VIDEO: &str = "video.mp4";

/// Frame capture for the uploads' workflows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FrameCapture {
    /// The stack's FrameCapture parameter decides (no field is written).
    #[default]
    StackDefault,
    On,
    Off,
}

/// Whether the source video is archived after the workflow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Archive {
    /// The stack's Glacier parameter decides (no field is written).
    #[default]
    StackDefault,
    /// No archiving, whatever the stack says (`DISABLED`).
    None,
    Glacier,
    DeepArchive,
}

impl Archive {
    /// The `archiveSource` value written, if any.
    pub fn value(self) -> Option<&'static str> {
        match self {
            Self::StackDefault => None,
            Self::None => Some("DISABLED"),
            Self::Glacier => Some("GLACIER"),
            Self::DeepArchive => Some("DEEP_ARCHIVE"),
        }
    }
}

/// What the metadata file of each upload to one stack holds besides `srcVideo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct UploadOptions {
    /// A MediaConvert job template name; empty: the stack's templates, chosen by resolution.
    pub job_template: String,
    pub frame_capture: FrameCapture,
    pub archive: Archive,
    /// Free `key = value` rows (title, …), in the order shown; a row left blank is ignored.
    pub fields: Vec<(String, String)>,
}

impl UploadOptions {
    /// The fields set by the job template, frame capture and archive choices.
    fn chosen_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let template = self.job_template.trim();
        if !template.is_empty() {
            pairs.push(("jobTemplate".to_owned(), template.to_owned()));
        }
        match self.frame_capture {
            FrameCapture::StackDefault => {}
            FrameCapture::On => pairs.push(("frameCapture".to_owned(), "true".to_owned())),
            FrameCapture::Off => pairs.push(("frameCapture".to_owned(), "false".to_owned())),
        }
        if let Some(value) = self.archive.value() {
            pairs.push(("archiveSource".to_owned(), value.to_owned()));
        }
        pairs
    }

    /// Why each row of [`Self::fields`] cannot go into the metadata file (`None`: it can, or it is
    /// blank): the rules of [`metadata_document`], and a field already set above it.
    pub fn row_problems(&self) -> Vec<Option<String>> {
        let mut earlier = self.chosen_pairs();
        self.fields
            .iter()
            .map(|(key, value)| {
                let key = key.trim();
                if key.is_empty() {
                    return (!value.is_empty()).then(|| "give this value a key".to_owned());
                }
                let pair = (key.to_owned(), value.clone());
                let problem = metadata_document(PROBE_VIDEO, std::slice::from_ref(&pair))
                    .err()
                    .or_else(|| {
                        earlier.iter().find_map(|before| {
                            metadata_document(PROBE_VIDEO, &[before.clone(), pair.clone()]).err()
                        })
                    })
                    .map(|err| err.to_string());
                if problem.is_none() {
                    earlier.push(pair);
                }
                problem
            })
            .collect()
    }

    /// The first refused row, as a sentence for the status line or a tooltip.
    pub fn problem(&self) -> Option<String> {
        self.row_problems().into_iter().flatten().next()
    }

    /// The pairs for the metadata file: the choices, then the rows that are not blank.
    pub fn metadata_pairs(&self) -> Vec<(String, String)> {
        let rows = self
            .fields
            .iter()
            .filter(|(key, _)| !key.trim().is_empty())
            .map(|(key, value)| (key.trim().to_owned(), value.clone()));
        self.chosen_pairs().into_iter().chain(rows).collect()
    }

    fn apply(&mut self, action: UploadOptionsAction) {
        match action {
            UploadOptionsAction::JobTemplate(name) => self.job_template = name,
            UploadOptionsAction::FrameCapture(choice) => self.frame_capture = choice,
            UploadOptionsAction::Archive(choice) => self.archive = choice,
            UploadOptionsAction::AddField => self.fields.push(Default::default()),
            UploadOptionsAction::FieldKey(row, key) => {
                if let Some(field) = self.fields.get_mut(row) {
                    field.0 = key;
                }
            }
            UploadOptionsAction::FieldValue(row, value) => {
                if let Some(field) = self.fields.get_mut(row) {
                    field.1 = value;
                }
            }
            UploadOptionsAction::RemoveField(row) => {
                if row < self.fields.len() {
                    self.fields.remove(row);
                }
            }
        }
    }
}

/// What the user changed in the upload options (of the connected stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOptionsAction {
    JobTemplate(String),
    FrameCapture(FrameCapture),
    Archive(Archive),
    AddField,
    FieldKey(usize, String),
    FieldValue(usize, String),
    RemoveField(usize),
}

/// The upload options of every MetadataFile stack used (remembered across runs), and which one is
/// connected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadOptionsBook {
    remembered: BTreeMap<String, UploadOptions>,
    /// The connected stack's entry in `remembered`, when it is a MetadataFile stack.
    current: Option<String>,
}

impl UploadOptionsBook {
    pub fn new(remembered: BTreeMap<String, UploadOptions>) -> Self {
        Self {
            remembered,
            current: None,
        }
    }

    /// Every stack's options, for the app to remember.
    pub fn remembered(&self) -> &BTreeMap<String, UploadOptions> {
        &self.remembered
    }

    /// The connected stack's options; `None` when it is not a MetadataFile stack.
    pub fn current(&self) -> Option<&UploadOptions> {
        self.remembered.get(self.current.as_ref()?)
    }

    /// What to send with files: the connected stack's pairs (none on a VideoFile stack), or why not.
    pub fn for_upload(&self) -> Result<Vec<(String, String)>, String> {
        let Some(options) = self.current() else {
            return Ok(Vec::new());
        };
        match options.problem() {
            Some(problem) => Err(format!(
                "Not uploaded: fix the upload options first ({problem})."
            )),
            None => Ok(options.metadata_pairs()),
        }
    }

    fn connected(&mut self, resources: &VodResources) {
        self.current = None;
        if resources.workflow_trigger == Some(WorkflowTrigger::MetadataFile) {
            let key = stack_key(resources);
            self.remembered.entry(key.clone()).or_default();
            self.current = Some(key);
        }
    }

    fn apply(&mut self, action: UploadOptionsAction) {
        if let Some(options) = self
            .current
            .as_ref()
            .and_then(|key| self.remembered.get_mut(key))
        {
            options.apply(action);
        }
    }
}

/// Which stack options belong to: the region and the stack's name (or its source bucket when the
/// resources were named by hand).
fn stack_key(resources: &VodResources) -> String {
    let name = resources
        .stack_name
        .as_deref()
        .unwrap_or(&resources.source_bucket);
    format!("{}/{name}", resources.region)
}

/// Whether `template` is one of the stack's own templates, among which the solution chooses by the
/// source's resolution (`<stack>_Ott_{2160p|1080p|720p}_Avc_Aac_16x9_{qvbr|mvod}_no_preset`).
pub fn is_stack_template(stack: &str, template: &str) -> bool {
    template
        .strip_prefix(stack)
        .and_then(|rest| rest.strip_prefix("_Ott_"))
        .is_some_and(|rest| rest.contains("_Avc_Aac_16x9_"))
}

/// The stack's own templates, for the "Default (by resolution)" choice: the `mvod` ones when
/// MediaPackage is on, else the `qvbr` ones.
pub fn stack_templates(stack: &str, media_package: bool) -> [String; 3] {
    let kind = if media_package { "mvod" } else { "qvbr" };
    ["2160p", "1080p", "720p"].map(|res| format!("{stack}_Ott_{res}_Avc_Aac_16x9_{kind}_no_preset"))
}

/// The other templates this stack's jobs used, sorted, each once: the job template choices.
pub fn seen_templates(stack: Option<&str>, jobs: &JobBook) -> Vec<String> {
    let mut seen: Vec<String> = jobs
        .jobs()
        .iter()
        .filter_map(|job| job.record.as_ref()?.job_template.clone())
        .filter(|t| !t.trim().is_empty() && !stack.is_some_and(|s| is_stack_template(s, t)))
        .collect();
    seen.sort();
    seen.dedup();
    seen
}

impl AppState {
    /// The local demo stack's custom job templates, when the connection is to the one this app
    /// started (a real deployment's templates cannot be listed without MediaConvert's API).
    pub fn local_custom_templates(&self) -> Vec<String> {
        match (&self.last_request, &self.local_request) {
            (Some(current), Some(local)) if current == local => {
                let stack = local
                    .stack
                    .as_deref()
                    .unwrap_or(crate::local_stack::DEFAULT_STACK_NAME);
                crate::local_stack::local_job_templates(stack)
                    .into_iter()
                    .filter(|t| t.default_for_profile.is_none())
                    .map(|t| t.name)
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The upload options of every MetadataFile stack, and the connected one's.
    pub fn upload_options(&self) -> &UploadOptionsBook {
        &self.upload_options
    }

    /// A state that starts with the remembered upload options.
    pub fn with_upload_options(mut self, remembered: BTreeMap<String, UploadOptions>) -> Self {
        self.upload_options = UploadOptionsBook::new(remembered);
        self
    }

    pub(super) fn upload_options_connected(&mut self, resources: &VodResources) {
        self.upload_options.connected(resources);
    }

    pub(super) fn change_upload_options(&mut self, action: UploadOptionsAction) {
        self.upload_options.apply(action);
    }

    /// Files dropped or picked: sent with the connected stack's metadata fields, unless a field is
    /// refused (the user hears why) or nothing is connected.
    pub(super) fn add_files(&mut self, paths: Vec<PathBuf>) -> Vec<Command> {
        if matches!(self.connection, ConnectionState::Connected(_)) && !paths.is_empty() {
            match self.upload_options.for_upload() {
                Ok(metadata) => return vec![Command::AddFiles { paths, metadata }],
                Err(problem) => self.notice(problem),
            }
        } else {
            self.notice(
                "Connect to a deployment first: files are uploaded into its source bucket.".into(),
            );
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::effects::Effect;
    use crate::app::engine::Event;
    use crate::app::state::UiAction;

    fn resources(trigger: Option<WorkflowTrigger>) -> VodResources {
        VodResources {
            workflow_trigger: trigger,
            ..VodResources::sample("vod")
        }
    }

    fn connected(trigger: Option<WorkflowTrigger>) -> AppState {
        let mut state = AppState::default();
        state.apply(Event::Connected(Box::new(resources(trigger))));
        state
    }

    fn change(state: &mut AppState, action: UploadOptionsAction) {
        assert!(state.apply(UiAction::UploadOptions(action)).is_empty());
    }

    fn sent(state: &mut AppState) -> Option<Vec<(String, String)>> {
        match state
            .apply(UiAction::AddFiles(vec!["/v/a.mp4".into()]))
            .as_slice()
        {
            [Effect::Engine(Command::AddFiles { metadata, .. })] => Some(metadata.clone()),
            [] => None,
            other => panic!("{other:?}"),
        }
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn video_file_stacks_have_no_options_and_send_none() {
        for trigger in [Some(WorkflowTrigger::VideoFile), None] {
            let mut state = connected(trigger);
            assert_eq!(state.upload_options().current(), None);
            change(&mut state, UploadOptionsAction::AddField);
            change(&mut state, UploadOptionsAction::FieldKey(0, "name".into()));
            assert_eq!(sent(&mut state), Some(Vec::new()));
            assert!(state.upload_options().remembered().is_empty());
        }
    }

    #[test]
    fn the_choices_and_fields_travel_with_the_files() {
        let mut state = connected(Some(WorkflowTrigger::MetadataFile));
        assert_eq!(
            state.upload_options().current(),
            Some(&UploadOptions::default())
        );
        assert_eq!(sent(&mut state), Some(Vec::new()), "defaults write nothing");
        change(
            &mut state,
            UploadOptionsAction::JobTemplate(" custom-1080p ".into()),
        );
        change(
            &mut state,
            UploadOptionsAction::FrameCapture(FrameCapture::Off),
        );
        change(&mut state, UploadOptionsAction::Archive(Archive::Glacier));
        for _ in 0..3 {
            change(&mut state, UploadOptionsAction::AddField);
        }
        change(
            &mut state,
            UploadOptionsAction::FieldKey(0, " title ".into()),
        );
        change(
            &mut state,
            UploadOptionsAction::FieldValue(0, "Town Hall".into()),
        );
        // Row 1 stays blank (ignored); row 2 is removed.
        change(&mut state, UploadOptionsAction::FieldKey(2, "note".into()));
        change(&mut state, UploadOptionsAction::RemoveField(2));
        change(&mut state, UploadOptionsAction::RemoveField(7));
        assert_eq!(
            sent(&mut state),
            Some(vec![
                pair("jobTemplate", "custom-1080p"),
                pair("frameCapture", "false"),
                pair("archiveSource", "GLACIER"),
                pair("title", "Town Hall"),
            ])
        );
        change(&mut state, UploadOptionsAction::Archive(Archive::None));
        change(
            &mut state,
            UploadOptionsAction::FrameCapture(FrameCapture::StackDefault),
        );
        change(&mut state, UploadOptionsAction::JobTemplate("  ".into()));
        assert_eq!(
            sent(&mut state),
            Some(vec![
                pair("archiveSource", "DISABLED"),
                pair("title", "Town Hall")
            ])
        );
    }

    #[test]
    fn the_local_demo_stacks_custom_templates_are_offered_only_while_connected_to_it() {
        use crate::app::engine::ConnectRequest;
        let mut state = connected(Some(WorkflowTrigger::MetadataFile));
        assert!(state.local_custom_templates().is_empty());
        let local = ConnectRequest {
            stack: Some("vod-local".into()),
            ..ConnectRequest::default()
        };
        state.apply(Event::LocalStackReady(local));
        let offered = state.local_custom_templates();
        assert!(
            offered.contains(&"vod-local_Custom_Hls_Dash_Cmaf_Mp4".to_owned()),
            "{offered:?}"
        );
        assert!(
            offered.iter().all(|t| t.contains("_Custom_")),
            "{offered:?}"
        );
        state.apply(UiAction::Connect(ConnectRequest {
            stack: Some("vod-prod".into()),
            ..ConnectRequest::default()
        }));
        assert!(state.local_custom_templates().is_empty());
    }

    #[test]
    fn a_refused_field_stops_uploads_with_its_reason() {
        let mut state = connected(Some(WorkflowTrigger::MetadataFile));
        change(&mut state, UploadOptionsAction::AddField);
        change(&mut state, UploadOptionsAction::FieldKey(0, "Name".into()));
        let problems = state.upload_options().current().unwrap().row_problems();
        let problem = problems[0].as_deref().unwrap();
        assert!(problem.contains("DynamoDB reserves `name`"), "{problem}");
        assert!(problem.contains("`title` or `videoName`"), "{problem}");
        assert_eq!(sent(&mut state), None);
        assert!(
            state.notices().last().unwrap().contains("reserves `name`"),
            "{:?}",
            state.notices()
        );
        change(&mut state, UploadOptionsAction::FieldKey(0, "title".into()));
        assert_eq!(sent(&mut state), Some(vec![pair("title", "")]));
    }

    #[test]
    fn rows_are_judged_like_the_metadata_file() {
        let options = UploadOptions {
            frame_capture: FrameCapture::On,
            fields: vec![
                pair("title", "a"),
                pair("my-key", "b"),
                pair("two words", "c"),
                pair("presenter", "Dana"),
                pair("Title", "again"),
                pair("FrameCapture", "false"),
                pair("frameRate", "maybe"),
                pair("", "orphan"),
                pair("  ", ""),
                pair("status", "x"),
                pair("acceleratedTranscoding", "on"),
            ],
            ..UploadOptions::default()
        };
        let problems = options.row_problems();
        let refused: Vec<bool> = problems.iter().map(Option::is_some).collect();
        assert_eq!(
            refused,
            [
                false, true, true, false, true, true, false, true, false, true, true
            ]
        );
        assert!(problems[1].as_deref().unwrap().contains("hyphen"));
        assert!(problems[2].as_deref().unwrap().contains("space"));
        assert!(problems[4].as_deref().unwrap().contains("give it once"));
        assert!(problems[5].as_deref().unwrap().contains("give it once"));
        assert_eq!(problems[7].as_deref(), Some("give this value a key"));
        assert!(options.problem().unwrap().contains("my-key"));
    }

    #[test]
    fn options_are_remembered_per_stack() {
        let mut state = connected(Some(WorkflowTrigger::MetadataFile));
        change(
            &mut state,
            UploadOptionsAction::Archive(Archive::DeepArchive),
        );
        let remembered = state.upload_options().remembered().clone();
        assert_eq!(remembered.keys().collect::<Vec<_>>(), ["us-east-1/vod"]);
        // Another stack starts from the defaults; coming back finds the choices again.
        let mut other = resources(Some(WorkflowTrigger::MetadataFile));
        other.stack_name = Some("vod-2".into());
        state.apply(Event::Connected(Box::new(other)));
        assert_eq!(
            state.upload_options().current(),
            Some(&UploadOptions::default())
        );
        let mut next_run = AppState::default().with_upload_options(remembered);
        next_run.apply(Event::Connected(Box::new(resources(Some(
            WorkflowTrigger::MetadataFile,
        )))));
        assert_eq!(
            next_run.upload_options().current().map(|o| o.archive),
            Some(Archive::DeepArchive)
        );
        // What is remembered survives a round trip through the settings' JSON.
        let json = serde_json::to_string(next_run.upload_options().remembered()).unwrap();
        let back: BTreeMap<String, UploadOptions> = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, next_run.upload_options().remembered());
    }

    #[test]
    fn the_stack_own_templates_are_not_listed() {
        assert!(is_stack_template(
            "vod",
            "vod_Ott_1080p_Avc_Aac_16x9_qvbr_no_preset"
        ));
        assert!(is_stack_template(
            "vod",
            "vod_Ott_720p_Avc_Aac_16x9_mvod_no_preset"
        ));
        assert!(!is_stack_template(
            "vod",
            "vod-2_Ott_720p_Avc_Aac_16x9_qvbr_no_preset"
        ));
        assert!(!is_stack_template("vod", "vodesk-all-groups-1080p"));
        for media_package in [false, true] {
            for template in stack_templates("vod", media_package) {
                assert!(is_stack_template("vod", &template), "{template}");
            }
        }
        assert_eq!(
            stack_templates("vod", false)[1],
            "vod_Ott_1080p_Avc_Aac_16x9_qvbr_no_preset"
        );
        assert_eq!(
            stack_templates("vod", true)[2],
            "vod_Ott_720p_Avc_Aac_16x9_mvod_no_preset"
        );
        let mut jobs = JobBook::new();
        assert!(seen_templates(Some("vod"), &jobs).is_empty());
        let record = |guid: &str, template: &str| {
            let mut record = crate::contract::decode_document(
                include_str!("../../../tests/fixtures/vod-examples/sns-ingest.json").as_bytes(),
            )
            .unwrap()
            .record
            .unwrap();
            record.guid = guid.into();
            record.job_template = Some(template.into());
            record
        };
        for (guid, template) in [
            ("a", "vod_Ott_1080p_Avc_Aac_16x9_qvbr_no_preset"),
            ("b", "zeta-custom"),
            ("c", "alpha-custom"),
            ("d", "zeta-custom"),
        ] {
            jobs.apply_record(
                record(guid, template),
                crate::contract::RecordOrigin::Item,
                std::time::SystemTime::UNIX_EPOCH,
            );
        }
        assert_eq!(
            seen_templates(Some("vod"), &jobs),
            ["alpha-custom", "zeta-custom"]
        );
    }
}
