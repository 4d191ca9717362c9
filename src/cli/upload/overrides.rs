//! `vodesk upload --job-template`, `--frame-capture` and `--archive`: shortcuts for the workflow
//! overrides most often put in a metadata file (contract §3 "Metadata mode"), each the same as one
//! `--metadata` pair. Like `--metadata`, they need a MetadataFile stack (the upload refuses them on a
//! VideoFile stack with the same error), and a key given both ways is a usage error.

use clap::{Args, ValueEnum};
use vodesk::contract::record_metadata::stored_name;

/// Frame capture for this upload's workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum FrameCapture {
    Yes,
    No,
}

/// Where the solution archives the source video after the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Archive {
    #[value(name = "GLACIER")]
    Glacier,
    #[value(name = "DEEP_ARCHIVE")]
    DeepArchive,
}

/// Where `vodesk upload --help` lists `--metadata` and these shortcuts.
pub(super) const METADATA_HEADING: &str = "Metadata file (MetadataFile stacks)";

#[derive(Debug, Clone, Default, Args)]
pub(super) struct WorkflowOverrides {
    /// Encode with this MediaConvert job template instead of the stack's
    /// resolution ladder (same as --metadata jobTemplate=NAME)
    #[arg(long, value_name = "NAME", help_heading = METADATA_HEADING)]
    job_template: Option<String>,
    /// Capture thumbnails or not, whatever the stack's default (same as
    /// --metadata frameCapture=true|false)
    #[arg(long, value_name = "yes|no", ignore_case = true, help_heading = METADATA_HEADING)]
    frame_capture: Option<FrameCapture>,
    /// Archive the source video after the workflow (same as --metadata
    /// archiveSource=GLACIER|DEEP_ARCHIVE)
    #[arg(long, value_name = "GLACIER|DEEP_ARCHIVE", ignore_case = true, help_heading = METADATA_HEADING)]
    archive: Option<Archive>,
}

impl WorkflowOverrides {
    /// `(flag, metadata key, value)` for each option given.
    fn pairs(&self) -> Vec<(&'static str, &'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(template) = &self.job_template {
            pairs.push(("--job-template", "jobTemplate", template.clone()));
        }
        if let Some(capture) = self.frame_capture {
            let value = (capture == FrameCapture::Yes).to_string();
            pairs.push(("--frame-capture", "frameCapture", value));
        }
        if let Some(archive) = self.archive {
            let value = match archive {
                Archive::Glacier => "GLACIER",
                Archive::DeepArchive => "DEEP_ARCHIVE",
            };
            pairs.push(("--archive", "archiveSource", value.to_owned()));
        }
        pairs
    }

    /// Adds the options given to the `--metadata` pairs; a key already among them (as the solution
    /// stores it: `JobTemplate` is `jobTemplate`) is refused with a usage message.
    pub(super) fn add_to(&self, metadata: &mut Vec<(String, String)>) -> Result<(), String> {
        for (flag, key, value) in self.pairs() {
            if let Some((given, _)) = metadata.iter().find(|(given, _)| stored_name(given) == key) {
                return Err(format!(
                    "{flag} sets {key}, which --metadata {given}=… sets too; give it once"
                ));
            }
            if key == "jobTemplate" && value.trim().is_empty() {
                return Err(
                    "--job-template needs a job template name; leave it out to use the stack's templates"
                        .to_owned(),
                );
            }
            metadata.push((key.to_owned(), value));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn each_option_is_one_metadata_pair() {
        let overrides = WorkflowOverrides {
            job_template: Some("vodesk-all-groups-1080p".into()),
            frame_capture: Some(FrameCapture::No),
            archive: Some(Archive::DeepArchive),
        };
        let mut metadata = vec![pair("title", "Keynote")];
        overrides.add_to(&mut metadata).unwrap();
        assert_eq!(
            metadata,
            [
                pair("title", "Keynote"),
                pair("jobTemplate", "vodesk-all-groups-1080p"),
                pair("frameCapture", "false"),
                pair("archiveSource", "DEEP_ARCHIVE"),
            ]
        );
        let mut none = Vec::new();
        WorkflowOverrides::default().add_to(&mut none).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        let overrides = WorkflowOverrides {
            frame_capture: Some(FrameCapture::Yes),
            ..WorkflowOverrides::default()
        };
        let err = overrides
            .add_to(&mut vec![pair("FrameCapture", "false")])
            .unwrap_err();
        assert_eq!(
            err,
            "--frame-capture sets frameCapture, which --metadata FrameCapture=… sets too; give it once"
        );
        let blank = WorkflowOverrides {
            job_template: Some("  ".into()),
            ..WorkflowOverrides::default()
        };
        assert!(blank.add_to(&mut Vec::new()).is_err());
    }
}
