//! "Run again…" and "Delete…" of the details panel: the one confirmation open at a time (planning,
//! shown with its plan, executing, or with the error that stopped it), and which workflow is the
//! retry of which job (new guid → old guid, as the engine reports once the new Ingest is in the
//! table). A delete done removes the job from the dashboard.

use std::collections::HashMap;

use super::AppState;
use crate::app::engine::{Command, OperationCommand, OperationEvent};
use crate::aws::operations::delete::{DeletePlan, NO_INVALIDATION_NOTE};
use crate::aws::operations::retry::{RetryOptions, RetryPlan, RetryWrite};
use crate::units::human_bytes;

/// Which operation a confirmation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    RunAgain,
    Delete,
}

/// A plan, read before anything changes.
#[derive(Debug, Clone)]
pub enum OperationPlan {
    Retry(Box<RetryPlan>),
    Delete(Box<DeletePlan>),
}

/// The confirmation window of one job.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub guid: String,
    pub kind: OperationKind,
    /// `None` until the first plan arrives.
    pub plan: Option<OperationPlan>,
    /// A plan or the execution runs: the buttons are disabled.
    pub busy: bool,
    /// Why the last plan or execution failed (shown in red).
    pub error: Option<String>,
    /// Delete: "also delete the source file" (off by default).
    pub with_source: bool,
    /// Run again on a MetadataFile stack: the upload options offered as the retry's changes, or
    /// why they are not used.
    pub changes: Result<Vec<(String, String)>, String>,
}

impl Confirmation {
    /// The retry's sentence: what will happen, and that AWS charges for it.
    pub fn retry_text(plan: &RetryPlan) -> String {
        let how = match &plan.write {
            RetryWrite::CopySource => format!(
                "The source s3://{}/{} is copied onto itself, which starts the workflow again.",
                plan.bucket, plan.key
            ),
            RetryWrite::RewriteMetadata { from_record, .. } => format!(
                "The metadata file s3://{}/{} is written again{}, which starts the workflow again.",
                plan.bucket,
                plan.key,
                if *from_record {
                    " (rebuilt from the record: the file was gone or overwritten)"
                } else {
                    ""
                }
            ),
        };
        format!(
            "This starts a new encode of {}, which AWS charges for.\n{how}",
            plan.src_video
        )
    }

    /// The delete's lines: object count and size, the item, the source (or why it is kept).
    pub fn delete_lines(plan: &DeletePlan) -> Vec<String> {
        let count = plan.outputs.len() + plan.source.len();
        let mut lines = vec![format!(
            "{count} object{} ({}) will be deleted.",
            if count == 1 { "" } else { "s" },
            human_bytes(plan.total_size())
        )];
        if let Some(bucket) = &plan.destination_bucket {
            lines.push(format!(
                "Outputs: {} under s3://{bucket}/{}",
                plan.outputs.len(),
                plan.prefix()
            ));
        }
        lines.push(if plan.item {
            format!("The job's item in table {}.", plan.table)
        } else {
            format!("No item in table {} (already gone).", plan.table)
        });
        for source in &plan.source {
            lines.push(format!(
                "Source: s3://{}/{} ({})",
                source.bucket,
                source.key,
                human_bytes(source.size)
            ));
        }
        lines.extend(plan.notes.iter().cloned());
        lines
    }
}

/// What the user does in a confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationAction {
    /// "Run again" / "Delete": executes the plan shown.
    Confirm,
    Cancel,
    /// The "also delete the source file" checkbox: planned again.
    WithSource(bool),
}

/// The open confirmation and the retry links.
#[derive(Debug, Clone, Default)]
pub struct OperationsBook {
    open: Option<Confirmation>,
    /// New guid → the guid of the job it runs again.
    retry_of: HashMap<String, String>,
}

impl OperationsBook {
    pub fn confirmation(&self) -> Option<&Confirmation> {
        self.open.as_ref()
    }

    /// The job `guid` is a retry of, when this app started it.
    pub fn retry_of(&self, guid: &str) -> Option<&str> {
        self.retry_of.get(guid).map(String::as_str)
    }

    /// Whether an operation's window is open (the details' buttons are then disabled).
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }
}

/// `pairs` (the upload options) as a retry's changes: the job template apart, the rest as fields.
fn retry_options(pairs: &[(String, String)]) -> RetryOptions {
    let mut options = RetryOptions::default();
    for (key, value) in pairs {
        if key == "jobTemplate" {
            options.job_template = Some(value.clone());
        } else {
            options.metadata.push((key.clone(), value.clone()));
        }
    }
    options
}

impl AppState {
    pub fn operations(&self) -> &OperationsBook {
        &self.operations
    }

    /// "Run again…" or "Delete…" of job `guid`: the engine plans, the window opens meanwhile.
    pub(super) fn ask_operation(&mut self, kind: OperationKind, guid: String) -> Vec<Command> {
        if self.operations.is_open() {
            return Vec::new();
        }
        let changes = match kind {
            OperationKind::RunAgain => self.upload_options.for_upload(),
            OperationKind::Delete => Ok(Vec::new()),
        };
        let command = match kind {
            OperationKind::RunAgain => OperationCommand::PlanRetry {
                guid: guid.clone(),
                options: retry_options(changes.as_deref().unwrap_or_default()),
            },
            OperationKind::Delete => OperationCommand::PlanDelete {
                guid: guid.clone(),
                with_source: false,
            },
        };
        self.operations.open = Some(Confirmation {
            guid,
            kind,
            plan: None,
            busy: true,
            error: None,
            with_source: false,
            changes,
        });
        vec![Command::Operation(command)]
    }

    pub(super) fn operation_action(&mut self, action: OperationAction) -> Vec<Command> {
        let Some(open) = self.operations.open.as_mut() else {
            return Vec::new();
        };
        match action {
            OperationAction::Cancel => {
                // A running execution is not stopped by closing its window: its result still
                // arrives as a notice.
                self.operations.open = None;
            }
            OperationAction::Confirm if !open.busy => {
                let command = match &open.plan {
                    Some(OperationPlan::Retry(plan)) => OperationCommand::Retry(plan.clone()),
                    Some(OperationPlan::Delete(plan)) => OperationCommand::Delete(plan.clone()),
                    None => return Vec::new(),
                };
                open.busy = true;
                open.error = None;
                return vec![Command::Operation(command)];
            }
            OperationAction::WithSource(with_source)
                if !open.busy && open.kind == OperationKind::Delete =>
            {
                open.with_source = with_source;
                open.busy = true;
                open.error = None;
                return vec![Command::Operation(OperationCommand::PlanDelete {
                    guid: open.guid.clone(),
                    with_source,
                })];
            }
            OperationAction::Confirm | OperationAction::WithSource(_) => {}
        }
        Vec::new()
    }

    pub(super) fn operation_event(&mut self, event: OperationEvent) {
        let open = self.operations.open.as_mut();
        match event {
            OperationEvent::RetryPlanned { guid, result } => {
                if let Some(open) = open.filter(|o| o.guid == guid) {
                    open.busy = false;
                    match result {
                        Ok(plan) => open.plan = Some(OperationPlan::Retry(plan)),
                        Err(message) => open.error = Some(message),
                    }
                }
            }
            OperationEvent::DeletePlanned {
                guid,
                with_source,
                result,
            } => {
                if let Some(open) = open.filter(|o| o.guid == guid && o.with_source == with_source)
                {
                    open.busy = false;
                    match result {
                        Ok(plan) => open.plan = Some(OperationPlan::Delete(plan)),
                        Err(message) => open.error = Some(message),
                    }
                }
            }
            OperationEvent::Retried { guid, result } => match result {
                Ok(retried) => {
                    self.close_operation(&guid);
                    self.notice(format!(
                        "Started again: s3://{}/{} ({}), a retry of {guid}; the new job shows once its Ingest arrives.",
                        retried.bucket, retried.key, retried.event
                    ));
                }
                Err(message) => self.operation_failed(&guid, "Run again", message),
            },
            OperationEvent::RetryLinked { new_guid, old_guid } => {
                self.operations.retry_of.insert(new_guid, old_guid);
            }
            OperationEvent::Deleted { guid, result } => match result {
                Ok(deleted) => {
                    self.close_operation(&guid);
                    let bytes: u64 = deleted.objects.iter().map(|o| o.size).sum();
                    let mut message = format!(
                        "Deleted {guid}: {} object{} ({}){}.",
                        deleted.objects.len(),
                        if deleted.objects.len() == 1 { "" } else { "s" },
                        human_bytes(bytes),
                        if deleted.item { " and its item" } else { "" }
                    );
                    if deleted.failed.is_empty() {
                        self.forget_job(&guid);
                    } else {
                        message += &format!(
                            " {} object(s) could not be deleted ({}); the item is kept: delete again for what is left.",
                            deleted.failed.len(),
                            deleted
                                .failed
                                .iter()
                                .map(|(key, reason)| format!("{key}: {reason}"))
                                .collect::<Vec<_>>()
                                .join("; ")
                        );
                    }
                    self.notice(format!("{message} {NO_INVALIDATION_NOTE}"));
                }
                Err(message) => self.operation_failed(&guid, "Delete", message),
            },
        }
    }

    fn close_operation(&mut self, guid: &str) {
        if self
            .operations
            .open
            .as_ref()
            .is_some_and(|o| o.guid == guid)
        {
            self.operations.open = None;
        }
    }

    /// An execution's error: in red in its window when it is still open, else as a notice.
    fn operation_failed(&mut self, guid: &str, what: &str, message: String) {
        match self.operations.open.as_mut().filter(|o| o.guid == guid) {
            Some(open) => {
                open.busy = false;
                open.error = Some(message);
            }
            None => self.notice(format!("{what} of {guid} failed: {message}")),
        }
    }

    /// Removes a deleted job from the book and the dashboard; indices after it move down.
    fn forget_job(&mut self, guid: &str) {
        let Some((index, _)) = self.jobs.remove(guid) else {
            return;
        };
        self.selected = match self.selected {
            Some(selected) if selected == index => None,
            Some(selected) if selected > index => Some(selected - 1),
            other => other,
        };
        self.resort();
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::app::effects::Effect;
    use crate::app::engine::{Event, JobsPage};
    use crate::app::state::{DetailsAction, UiAction, UploadOptionsAction};
    use crate::aws::discovery::VodResources;
    use crate::aws::operations::delete::{Deleted, PlannedObject};
    use crate::contract::stack::WorkflowTrigger;
    use crate::contract::{JobRecord, RecordOrigin};

    const OLD: &str = "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8";
    const OTHER: &str = "0b8a33b5-9f0a-4a8c-9a7e-0f7e1c5d2a11";
    const NEW: &str = "5e0f3c1a-7b2d-4c9e-8f11-3a6d9b2c4e70";

    fn record(guid: &str, file: &str) -> JobRecord {
        let value = serde_json::json!({
            "guid": guid, "workflowStatus": "Complete", "srcVideo": file, "srcBucket": "src",
            "startTime": "2025-10-14 09:12:00.000000"
        });
        let map = value.as_object().cloned().unwrap_or_default();
        JobRecord::read(&map, RecordOrigin::Item, "").unwrap().0
    }

    fn state_with_jobs(resources: VodResources) -> AppState {
        let mut state = AppState::default();
        state.apply(Event::Connected(Box::new(resources)));
        state.apply(Event::Jobs(Box::new(JobsPage {
            records: vec![record(OLD, "a.mp4"), record(OTHER, "b.mp4")],
            uploads: vec![],
            warnings: vec![],
            more: false,
            read_at: UNIX_EPOCH,
        })));
        state
    }

    fn commands(effects: Vec<Effect>) -> Vec<OperationCommand> {
        effects
            .into_iter()
            .filter_map(|e| match e {
                Effect::Engine(Command::Operation(c)) => Some(c),
                _ => None,
            })
            .collect()
    }

    fn delete_plan(with_source: bool) -> DeletePlan {
        let object = |key: &str, size| PlannedObject {
            bucket: "dest".into(),
            key: key.into(),
            size,
        };
        DeletePlan {
            guid: OLD.into(),
            table: "vod".into(),
            destination_bucket: Some("dest".into()),
            outputs: vec![
                object(&format!("{OLD}/hls/a.m3u8"), 1_000),
                object(&format!("{OLD}/mp4/a.mp4"), 2_000_000),
            ],
            item: true,
            source: if with_source {
                vec![PlannedObject {
                    bucket: "src".into(),
                    key: "a.mp4".into(),
                    size: 5_000_000,
                }]
            } else {
                vec![]
            },
            notes: vec![],
        }
    }

    fn ask(state: &mut AppState, kind: OperationKind) -> Vec<OperationCommand> {
        commands(state.apply(UiAction::Details(DetailsAction::Operation(
            kind,
            OLD.into(),
        ))))
    }

    #[test]
    fn a_delete_plan_opens_the_confirmation_and_its_confirm_deletes_and_removes_the_job() {
        let mut state = state_with_jobs(VodResources::sample("vod"));
        state.selected = state
            .jobs
            .jobs()
            .iter()
            .position(|j| j.guid.as_deref() == Some(OTHER));
        assert!(state.selected.is_some_and(|i| i > 0), "OTHER is after OLD");
        assert!(matches!(
            ask(&mut state, OperationKind::Delete).as_slice(),
            [OperationCommand::PlanDelete { guid, with_source: false }] if guid == OLD
        ));
        // While planning, asking again asks nothing and Confirm does nothing.
        assert!(ask(&mut state, OperationKind::RunAgain).is_empty());
        assert!(commands(state.apply(UiAction::Operation(OperationAction::Confirm))).is_empty());
        let open = state.operations().confirmation().unwrap();
        assert!(open.busy && open.plan.is_none());

        state.apply(Event::Operation(OperationEvent::DeletePlanned {
            guid: OLD.into(),
            with_source: false,
            result: Ok(Box::new(delete_plan(false))),
        }));
        let open = state.operations().confirmation().unwrap();
        assert!(!open.busy);
        let Some(OperationPlan::Delete(plan)) = &open.plan else {
            panic!("no delete plan");
        };
        let lines = Confirmation::delete_lines(plan);
        assert_eq!(lines[0], "2 objects (1.9 MiB) will be deleted.");

        // The checkbox plans again, with the source.
        assert!(matches!(
            commands(state.apply(UiAction::Operation(OperationAction::WithSource(true))))
                .as_slice(),
            [OperationCommand::PlanDelete {
                with_source: true,
                ..
            }]
        ));
        // A late plan without the source is not shown.
        state.apply(Event::Operation(OperationEvent::DeletePlanned {
            guid: OLD.into(),
            with_source: false,
            result: Ok(Box::new(delete_plan(false))),
        }));
        assert!(state.operations().confirmation().unwrap().busy);
        state.apply(Event::Operation(OperationEvent::DeletePlanned {
            guid: OLD.into(),
            with_source: true,
            result: Ok(Box::new(delete_plan(true))),
        }));

        let sent = commands(state.apply(UiAction::Operation(OperationAction::Confirm)));
        assert!(matches!(sent.as_slice(), [OperationCommand::Delete(p)] if p.source.len() == 1));
        assert!(state.operations().confirmation().unwrap().busy);

        let plan = delete_plan(true);
        state.apply(Event::Operation(OperationEvent::Deleted {
            guid: OLD.into(),
            result: Ok(Box::new(Deleted {
                guid: OLD.into(),
                objects: plan.outputs.iter().chain(&plan.source).cloned().collect(),
                item: true,
                failed: vec![],
                notes: vec![],
            })),
        }));
        assert!(state.operations().confirmation().is_none());
        assert!(state.jobs.by_guid(OLD).is_none());
        assert_eq!(state.order.len(), 1);
        // The selection follows its job to its new index.
        assert_eq!(
            state.selected_job().and_then(|j| j.guid.as_deref()),
            Some(OTHER)
        );
        let notice = state.notices().last().unwrap();
        assert!(notice.starts_with("Deleted 2d616d3f"), "{notice}");
        assert!(notice.contains(NO_INVALIDATION_NOTE), "{notice}");
    }

    #[test]
    fn a_failed_delete_keeps_the_job_and_shows_the_error_in_its_window() {
        let mut state = state_with_jobs(VodResources::sample("vod"));
        ask(&mut state, OperationKind::Delete);
        state.apply(Event::Operation(OperationEvent::DeletePlanned {
            guid: OLD.into(),
            with_source: false,
            result: Ok(Box::new(delete_plan(false))),
        }));
        state.apply(UiAction::Operation(OperationAction::Confirm));
        state.apply(Event::Operation(OperationEvent::Deleted {
            guid: OLD.into(),
            result: Err("could not delete: access denied".into()),
        }));
        let open = state.operations().confirmation().unwrap();
        assert_eq!(
            open.error.as_deref(),
            Some("could not delete: access denied")
        );
        assert!(!open.busy);
        assert!(state.jobs.by_guid(OLD).is_some());
        // Cancel closes it; nothing else changes.
        state.apply(UiAction::Operation(OperationAction::Cancel));
        assert!(state.operations().confirmation().is_none());
        assert!(state.jobs.by_guid(OLD).is_some());
    }

    #[test]
    fn run_again_plans_with_the_upload_options_of_a_metadata_stack_and_keeps_the_link() {
        let mut resources = VodResources::sample("vod");
        resources.workflow_trigger = Some(WorkflowTrigger::MetadataFile);
        let mut state = state_with_jobs(resources);
        state.apply(UiAction::UploadOptions(UploadOptionsAction::JobTemplate(
            "custom-720p".into(),
        )));
        let sent = ask(&mut state, OperationKind::RunAgain);
        let [OperationCommand::PlanRetry { guid, options }] = sent.as_slice() else {
            panic!("{sent:?}");
        };
        assert_eq!(guid, OLD);
        assert_eq!(options.job_template.as_deref(), Some("custom-720p"));
        // A plan refused: its reason in red, and nothing to confirm.
        state.apply(Event::Operation(OperationEvent::RetryPlanned {
            guid: OLD.into(),
            result: Err("the source no longer exists".into()),
        }));
        let open = state.operations().confirmation().unwrap();
        assert_eq!(open.error.as_deref(), Some("the source no longer exists"));
        assert!(commands(state.apply(UiAction::Operation(OperationAction::Confirm))).is_empty());
        state.apply(UiAction::Operation(OperationAction::Cancel));

        // A retry started (its window already closed) is a notice, and its new job is linked.
        state.apply(Event::Operation(OperationEvent::Retried {
            guid: OLD.into(),
            result: Ok(Box::new(crate::aws::operations::retry::Retried {
                guid: OLD.into(),
                bucket: "src".into(),
                key: "a.mp4.json".into(),
                src_video: "a.mp4".into(),
                event: "s3:ObjectCreated:Put",
                verified_after_error: false,
            })),
        }));
        assert!(
            state
                .notices()
                .last()
                .unwrap()
                .starts_with("Started again: s3://src/a.mp4.json")
        );
        state.apply(Event::Operation(OperationEvent::RetryLinked {
            new_guid: NEW.into(),
            old_guid: OLD.into(),
        }));
        assert_eq!(state.operations().retry_of(NEW), Some(OLD));
        assert_eq!(state.operations().retry_of(OLD), None);
    }

    #[test]
    fn the_retry_options_split_the_job_template_from_the_fields() {
        let options = retry_options(&[
            ("jobTemplate".into(), "t".into()),
            ("frameCapture".into(), "true".into()),
        ]);
        assert_eq!(options.job_template.as_deref(), Some("t"));
        assert_eq!(
            options.metadata,
            vec![("frameCapture".to_owned(), "true".to_owned())]
        );
    }
}
