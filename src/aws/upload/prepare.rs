//! Turning selected files into journaled uploads, shared by `vodesk upload` and the desktop app: each file
//! gets its key (template or explicit), the trigger check for the stack's mode and release (a video
//! that would start no workflow is refused with the reason, unless forced), the metadata file on
//! MetadataFile stacks, its part plan and its identity, and is then written to the journal. One bad file
//! never stops the others: it becomes a refusal with its reason.

use std::path::PathBuf;

use crate::aws::upload::fingerprint;
use crate::aws::upload::journal::{Journal, JournalError, UploadTarget};
use crate::aws::upload::naming::{self, KeyTemplate};
use crate::aws::upload::plan;
use crate::aws::upload::select::{Refusal, SelectedFile};
use crate::contract::stack::WorkflowTrigger;
use crate::contract::triggers::{self, TriggerVerdict};

/// Where uploads go, and what the stack says about what starts a workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub bucket: String,
    pub trigger: Option<WorkflowTrigger>,
    pub solution_version: Option<String>,
    pub endpoint_url: Option<String>,
    pub region: String,
    pub profile: Option<String>,
}

/// How files are named and cut.
#[derive(Debug, Clone, Default)]
pub struct PrepareOptions {
    pub template: KeyTemplate,
    /// One explicit key (a single file only).
    pub key: Option<String>,
    /// `KEY=VALUE` pairs for the metadata file (MetadataFile stacks).
    pub metadata_pairs: Vec<(String, String)>,
    /// Upload even a video that will start no workflow.
    pub force: bool,
    pub part_size: Option<u64>,
}

/// What [`prepare_uploads`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    /// Journal ids of the uploads created, in the order of the files.
    pub ids: Vec<i64>,
    pub refused: Vec<Refusal>,
    /// Videos refused only because they would start no workflow (what `force` overrides).
    pub not_triggering: Vec<Refusal>,
    /// Adjustments worth telling (a part size raised to fit 10,000 parts), one line each.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("--key names one object but {0} files were given; use --key-template for several")]
    KeyForSeveral(usize),
    #[error(
        "--metadata, --job-template, --frame-capture and --archive need a stack deployed with WorkflowTrigger=MetadataFile; this stack starts a workflow from each video itself"
    )]
    MetadataOnVideoStack,
    #[error("{0}")]
    Metadata(String),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Names, checks and plans `files`, and journals the ones that can go.
pub fn prepare_uploads(
    journal: &Journal,
    files: &[SelectedFile],
    destination: &Destination,
    options: &PrepareOptions,
) -> Result<Prepared, PrepareError> {
    if options.key.is_some() && files.len() > 1 {
        return Err(PrepareError::KeyForSeveral(files.len()));
    }
    let metadata_mode = destination.trigger == Some(WorkflowTrigger::MetadataFile)
        || !options.metadata_pairs.is_empty();
    if !options.metadata_pairs.is_empty() && destination.trigger == Some(WorkflowTrigger::VideoFile)
    {
        return Err(PrepareError::MetadataOnVideoStack);
    }
    let mut prepared = Prepared::default();
    let date = crate::time::today_utc();
    let refuse = |path: &PathBuf, reason: String| Refusal {
        path: path.clone(),
        reason,
    };
    for file in files {
        let key = match &options.key {
            // A key given by hand gets the same checks as a rendered one (control characters, `..`
            // segments, length…).
            Some(key) => match naming::validate_key(key) {
                Ok(()) => key.clone(),
                Err(err) => {
                    prepared.refused.push(refuse(&file.path, err.to_string()));
                    continue;
                }
            },
            None => match options
                .template
                .render(&file.display_name, &uuid::Uuid::new_v4(), date)
            {
                Ok(key) => key,
                Err(err) => {
                    prepared.refused.push(refuse(&file.path, err.to_string()));
                    continue;
                }
            },
        };
        let metadata_document = if metadata_mode {
            let document = naming::metadata_document(&key, &options.metadata_pairs)
                .map_err(|e| PrepareError::Metadata(e.to_string()))?;
            Some(document.to_string())
        } else {
            if let TriggerVerdict::WillNotStart { reason } = triggers::video_trigger(
                &key,
                destination.trigger,
                destination.solution_version.as_deref(),
            ) && !options.force
            {
                prepared.not_triggering.push(refuse(&file.path, reason));
                continue;
            }
            None
        };
        let plan = match plan::plan(file.size, options.part_size) {
            Ok(plan) => plan,
            Err(err) => {
                prepared.refused.push(refuse(&file.path, err.to_string()));
                continue;
            }
        };
        if let Some(note) = &plan.adjusted {
            prepared
                .notes
                .push(format!("{}: {note}", file.display_name));
        }
        let identity = match fingerprint::identify(&file.path) {
            Ok(identity) => identity,
            Err(err) => {
                prepared
                    .refused
                    .push(refuse(&file.path, format!("cannot be read: {err}")));
                continue;
            }
        };
        let target = UploadTarget {
            endpoint_url: destination.endpoint_url.clone(),
            region: destination.region.clone(),
            profile: destination.profile.clone(),
            bucket: destination.bucket.clone(),
            key,
            part_size: plan.part_size,
            part_count: plan.part_count,
            multipart: plan.multipart,
            metadata_document,
        };
        prepared
            .ids
            .push(journal.create(&file.path, &file.display_name, &identity, &target)?);
    }
    Ok(prepared)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::upload::select::select_files;

    fn destination(trigger: Option<WorkflowTrigger>) -> Destination {
        Destination {
            bucket: "src".into(),
            trigger,
            solution_version: Some("v6.1.13".into()),
            endpoint_url: None,
            region: "us-east-1".into(),
            profile: None,
        }
    }

    #[test]
    fn videos_are_journaled_and_non_triggering_files_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
        std::fs::write(dir.path().join("clip.MOV"), b"video bytes").unwrap();
        std::fs::write(dir.path().join("old.avi"), b"video bytes").unwrap();
        let selection = select_files(
            &[dir.path().join("clip.MOV"), dir.path().join("old.avi")],
            &|_| true,
        );
        let prepared = prepare_uploads(
            &journal,
            &selection.accepted,
            &destination(Some(WorkflowTrigger::VideoFile)),
            &PrepareOptions::default(),
        )
        .unwrap();
        assert_eq!(prepared.ids.len(), 1);
        let record = journal.get(prepared.ids[0]).unwrap();
        assert!(
            record.target.key.ends_with("/clip.mov"),
            "{}",
            record.target.key
        );
        assert!(prepared.refused.is_empty());
        assert_eq!(prepared.not_triggering.len(), 1);
        assert!(prepared.not_triggering[0].path.ends_with("old.avi"));
        assert!(!prepared.not_triggering[0].reason.is_empty());
    }

    #[test]
    fn a_key_given_by_hand_is_checked_like_a_rendered_one() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
        std::fs::write(dir.path().join("clip.mp4"), b"video bytes").unwrap();
        let selection = select_files(&[dir.path().join("clip.mp4")], &|_| true);
        for bad in [
            "uploads/../clip.mp4",
            "uploads/\u{1b}[2Jclip.mp4",
            "/clip.mp4",
        ] {
            let options = PrepareOptions {
                key: Some(bad.into()),
                ..PrepareOptions::default()
            };
            let prepared = prepare_uploads(
                &journal,
                &selection.accepted,
                &destination(Some(WorkflowTrigger::VideoFile)),
                &options,
            )
            .unwrap();
            assert!(prepared.ids.is_empty(), "{bad:?} was journaled");
            assert_eq!(prepared.refused.len(), 1, "{bad:?}");
        }
    }

    #[test]
    fn metadata_on_a_video_stack_and_one_key_for_several_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
        let options = PrepareOptions {
            metadata_pairs: vec![("title".into(), "x".into())],
            ..PrepareOptions::default()
        };
        assert!(matches!(
            prepare_uploads(
                &journal,
                &[],
                &destination(Some(WorkflowTrigger::VideoFile)),
                &options
            ),
            Err(PrepareError::MetadataOnVideoStack)
        ));
        std::fs::write(dir.path().join("a.mp4"), b"a").unwrap();
        std::fs::write(dir.path().join("b.mp4"), b"b").unwrap();
        let selection = select_files(
            &[dir.path().join("a.mp4"), dir.path().join("b.mp4")],
            &|_| true,
        );
        let options = PrepareOptions {
            key: Some("k.mp4".into()),
            ..PrepareOptions::default()
        };
        assert!(matches!(
            prepare_uploads(&journal, &selection.accepted, &destination(None), &options),
            Err(PrepareError::KeyForSeveral(2))
        ));
    }
}
