//! The app's state as plain data, changed only by [`AppState::apply`]: testable without a window.
//! It holds the connection, the job model ([`JobBook`], shared with the CLI), the dashboard's sort,
//! filter, rows and selected job, the upload queue, how status arrives (live or polling) and the last
//! notices, and the upload options of MetadataFile stacks (`upload_options`). `apply` takes both what the engine reports ([`Event`]) and what the user does
//! ([`UiAction`]), and returns the [`Command`]s the engine should run, so every decision (whether an
//! older page is asked for, which upload a click resumes) is made, and tested, here. Older jobs are read
//! a page at a time as the user scrolls: a table drawn many times before the page arrives asks once.

use std::time::SystemTime;

mod actions;
mod operations;
mod phases;
mod playback;
mod setup;
mod upload_options;

use super::dashboard::{self, Filter, Sort};
use super::effects::Effect;
use super::upload_queue::{self, UploadQueue};
use crate::app::engine::{Command, ConnectRequest, Event};
use crate::aws::discovery::SolutionStack;
use crate::aws::monitor::{JobUpdate, Via};
use crate::contract::RecordOrigin;
use crate::contract::safe_url::{SafeUrl, UrlRefused};
use crate::jobs::{
    Job, JobBook, JobIndex, JobStatus, JobWarning, LocalUpload, StackFacts, Thresholds,
    TransferState,
};
use crate::local_stack::emulator_install::InstallProgress;
pub use actions::{DetailsAction, Input, UiAction};
pub use operations::{Confirmation, OperationAction, OperationKind, OperationPlan, OperationsBook};
pub use phases::{CatalogueState, ConnectionState, MonitorState};
pub use playback::{PlaybackBook, PlaybackCheck};
pub use setup::SetupCheck;
pub use upload_options::{
    Archive, FrameCapture, UploadOptions, UploadOptionsAction, UploadOptionsBook,
    is_stack_template, seen_templates, stack_templates,
};

/// How many notices are kept (newest last): enough to explain, never growing without bound.
const MAX_NOTICES: usize = 20;

/// Every field is private: only [`AppState::apply`] changes the state; views and tests read it
/// through the accessors below.
#[derive(Debug, Clone, Default)]
pub struct AppState {
    connection: ConnectionState,
    monitor: MonitorState,
    catalogue: CatalogueState,
    /// Every job heard of in this connection.
    jobs: JobBook,
    /// Indices into `jobs`, newest first: the dashboard's rows.
    order: Vec<JobIndex>,
    /// What explains a job's warning (from the connected deployment).
    facts: StackFacts,
    thresholds: Thresholds,
    /// Recent notices and warnings, one line each, newest last.
    notices: Vec<String>,
    /// An older page was asked for and has not arrived yet.
    loading_older: bool,
    /// Why the last older page could not be read; scrolling no longer asks again until the user
    /// retries, so a failing table is not read every frame.
    older_failed: Option<String>,
    /// A signal asked the app to quit: the window closes (and the engine cleans up).
    close_requested: bool,
    sort: Sort,
    filter: Filter,
    /// The job whose details are shown.
    selected: Option<JobIndex>,
    uploads: UploadQueue,
    /// The job template, frame capture, archive and fields sent with uploads to MetadataFile stacks.
    upload_options: UploadOptionsBook,
    /// The last connection asked for (remembered across runs by the app).
    last_request: Option<ConnectRequest>,
    /// The connection to the local demo stack this app started, once it runs.
    local_request: Option<ConnectRequest>,
    /// The deployments "Find stacks" listed (or why it could not).
    found_stacks: Option<Result<Vec<SolutionStack>, String>>,
    /// "Local demo stack" was clicked and the stack is starting.
    starting_local: bool,
    /// The last step of the emulator's install on the local stack's first start.
    local_install: Option<InstallProgress>,
    /// "Check my setup": asked, running, or its checklist.
    setup_check: SetupCheck,
    /// "Check playback" results, by guid.
    playback: PlaybackBook,
    operations: OperationsBook,
    /// Desktop notifications on Complete and Error (a setting, remembered).
    notifications_enabled: bool,
    /// The last connection was to the local demo stack (remembered: started again on the next run).
    last_was_local: bool,
    /// What the input being applied asks of the window besides commands (notifications, links,
    /// textures); handed out by `apply`, so always empty between two calls.
    effects: Vec<Effect>,
}

impl AppState {
    /// A state that starts from the remembered settings.
    pub fn remembering(sort: Sort, notifications: bool, last_was_local: bool) -> Self {
        Self {
            sort,
            notifications_enabled: notifications,
            last_was_local,
            ..Self::default()
        }
    }

    pub fn connection(&self) -> &ConnectionState {
        &self.connection
    }

    pub fn monitor(&self) -> &MonitorState {
        &self.monitor
    }

    pub fn catalogue(&self) -> &CatalogueState {
        &self.catalogue
    }

    pub fn playback(&self) -> &PlaybackBook {
        &self.playback
    }

    /// Every job heard of in this connection.
    pub fn jobs(&self) -> &JobBook {
        &self.jobs
    }

    /// The dashboard's rows: indices into [`Self::jobs`], filtered, in the chosen order.
    pub fn order(&self) -> &[JobIndex] {
        &self.order
    }

    /// Recent notices and warnings, one line each, newest last.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    pub fn older_failed(&self) -> Option<&str> {
        self.older_failed.as_deref()
    }

    pub fn loading_older(&self) -> bool {
        self.loading_older
    }

    pub fn close_requested(&self) -> bool {
        self.close_requested
    }

    pub fn sort(&self) -> Sort {
        self.sort
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn selected(&self) -> Option<JobIndex> {
        self.selected
    }

    /// The upload panel's list and the refusals of the last drop.
    pub fn uploads(&self) -> &UploadQueue {
        &self.uploads
    }

    pub fn last_request(&self) -> Option<&ConnectRequest> {
        self.last_request.as_ref()
    }

    pub fn found_stacks(&self) -> Option<&Result<Vec<SolutionStack>, String>> {
        self.found_stacks.as_ref()
    }

    pub fn starting_local(&self) -> bool {
        self.starting_local
    }

    /// Where the emulator's install stands, while the local stack's first start installs it.
    pub fn local_install(&self) -> Option<&InstallProgress> {
        self.local_install.as_ref()
    }

    pub fn notifications_enabled(&self) -> bool {
        self.notifications_enabled
    }

    pub fn facts(&self) -> &StackFacts {
        &self.facts
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// A state with other warning thresholds (tests and benchmarks shorten them).
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Whether the last connection asked for was the local demo stack.
    pub fn last_was_local(&self) -> bool {
        self.last_was_local
    }

    /// Applies an engine event or a user action; returns what the engine and the window should do
    /// (run by [`super::effects::run`]).
    pub fn apply(&mut self, input: impl Into<Input>) -> Vec<Effect> {
        let commands = match input.into() {
            Input::Engine(event) => self.apply_event(event),
            Input::User(action) => self.act(action),
        };
        let mut effects: Vec<Effect> = commands.into_iter().map(Effect::Engine).collect();
        effects.append(&mut self.effects);
        effects
    }

    fn act(&mut self, action: UiAction) -> Vec<Command> {
        match action {
            UiAction::Connect(request) => {
                if !request.connection.emulator_credentials {
                    self.last_was_local = false;
                }
                self.last_request = Some(request.clone());
                self.forget_setup_check();
                return vec![Command::Connect(request)];
            }
            UiAction::CheckSetup(request) => return self.check_setup(request),
            UiAction::FindStacks(settings) => {
                self.found_stacks = None;
                return vec![Command::FindStacks(settings)];
            }
            UiAction::SetNotifications(enabled) => self.notifications_enabled = enabled,
            UiAction::StartLocalStack => {
                self.last_was_local = true;
                if !self.starting_local {
                    self.starting_local = true;
                    return vec![Command::StartLocalStack];
                }
            }
            UiAction::SortBy(column) => {
                self.sort = self.sort.clicked(column);
                self.resort();
            }
            UiAction::FilterText(text) => {
                self.filter.text = text;
                self.resort();
            }
            UiAction::FilterStatus(status) => {
                self.filter.status = status;
                self.resort();
            }
            UiAction::Select(index) => {
                self.selected = index.filter(|&i| self.jobs.get(i).is_some());
                // Details need the whole item: a job heard only through messages has no media
                // info, and one read in a page has none of its metadata file's fields.
                if let Some(job) = self.selected_job()
                    && (!job.item_read
                        || job.record.as_ref().is_some_and(|r| {
                            r.workflow_trigger.as_deref() == Some("Metadata")
                                && r.metadata.is_empty()
                        }))
                    && let Some(guid) = &job.guid
                {
                    return vec![Command::RefreshJob(guid.clone())];
                }
            }
            UiAction::AddFiles(paths) => return self.add_files(paths),
            UiAction::UploadOptions(action) => self.change_upload_options(action),
            UiAction::PauseUpload(id) => {
                if self
                    .transfer_state(id)
                    .is_some_and(TransferState::is_active)
                {
                    return vec![Command::PauseUpload(id)];
                }
            }
            UiAction::ResumeUpload(id) => {
                if self
                    .transfer_state(id)
                    .is_some_and(TransferState::is_resumable)
                {
                    self.resuming(id);
                    return vec![Command::ResumeUpload(id)];
                }
            }
            UiAction::CancelUpload(id) => {
                if self.transfer_state(id).is_some_and(|s| !s.is_finished()) {
                    return vec![Command::CancelUpload(id)];
                }
            }
            UiAction::ResumeEarlier => {
                let ids: Vec<i64> = self
                    .uploads
                    .entries(&self.jobs)
                    .filter(|u| u.transfer.from_earlier && u.transfer.state.is_resumable())
                    .map(|u| u.upload_id)
                    .collect();
                for &id in &ids {
                    self.resuming(id);
                }
                return ids.into_iter().map(Command::ResumeUpload).collect();
            }
            UiAction::DiscardEarlier => {
                return self
                    .uploads
                    .entries(&self.jobs)
                    // One that another vodesk sends is not this window's to discard.
                    .filter(|u| {
                        u.transfer.from_earlier
                            && !matches!(u.transfer.state, TransferState::RunningElsewhere { .. })
                    })
                    .map(|u| Command::CancelUpload(u.upload_id))
                    .collect();
            }
            UiAction::ClearFinishedUploads => self.uploads.clear_finished(&self.jobs),
            UiAction::DismissRefusals => self.uploads.dismiss_refusals(),
            UiAction::ClearNotices => self.notices.clear(),
            UiAction::OpenLogFolder => match crate::logs::log_dir() {
                Some(folder) => self.effects.push(Effect::OpenFolder(folder)),
                None => self.notice("There is no log folder: no home folder was found.".into()),
            },
            UiAction::LoadOlderJobs => {
                if self.begin_loading_older() {
                    return vec![Command::LoadMoreJobs];
                }
            }
            UiAction::FetchThumbnail { url, max_edge } => {
                return vec![Command::FetchThumbnail { url, max_edge }];
            }
            UiAction::Details(action) => return self.details(action),
            UiAction::Operation(action) => return self.operation_action(action),
        }
        Vec::new()
    }

    /// A link is opened in the browser or handed to a player only once [`SafeUrl`] accepts it
    /// (records come from anyone who can write the table, the topic or a metadata file); a refusal
    /// becomes a notice in the status line.
    fn details(&mut self, action: DetailsAction) -> Vec<Command> {
        match action {
            DetailsAction::Copied(text) => {
                let what = if text.starts_with('{') {
                    "the job as JSON".to_owned()
                } else {
                    text
                };
                self.notice(format!("Copied {what}"));
            }
            DetailsAction::Open(url) => match SafeUrl::from_contract(&url) {
                Ok(safe) => self.effects.push(Effect::OpenUrl(safe)),
                Err(reason) => self.notice(refused_link(&url, &reason)),
            },
            DetailsAction::OpenInPlayer(url) => match SafeUrl::from_contract(&url) {
                Ok(safe) => self.effects.push(Effect::OpenInPlayer(safe)),
                Err(reason) => self.notice(refused_link(&url, &reason)),
            },
            DetailsAction::Close => return self.act(UiAction::Select(None)),
            DetailsAction::CheckPlayback(guid) => return self.playback.start(guid),
            DetailsAction::Operation(kind, guid) => return self.ask_operation(kind, guid),
        }
        Vec::new()
    }

    fn apply_event(&mut self, event: Event) -> Vec<Command> {
        match event {
            Event::Connecting { target } => {
                self.connection = ConnectionState::Connecting { target };
            }
            Event::Connected(resources) => {
                // A new deployment: what was known of another one no longer applies.
                self.jobs = JobBook::new();
                self.playback = PlaybackBook::default();
                self.operations = OperationsBook::default();
                self.order.clear();
                self.selected = None;
                self.facts = StackFacts::from(resources.as_ref());
                self.monitor = MonitorState::Starting;
                self.catalogue = CatalogueState::Loading;
                self.loading_older = false;
                self.older_failed = None;
                self.forget_setup_check();
                self.upload_options_connected(&resources);
                self.connection = ConnectionState::Connected(resources);
            }
            Event::ConnectFailed { message } => {
                self.connection = ConnectionState::Failed { message };
            }
            Event::Jobs(page) => {
                // Uploads first, as `vodesk list` does: each record then joins its upload by key.
                for upload in &page.uploads {
                    self.jobs.apply_upload(LocalUpload::from(upload));
                }
                for record in page.records {
                    self.jobs
                        .apply_record(record, RecordOrigin::Item, page.read_at);
                }
                for warning in page.warnings {
                    self.notice(warning);
                }
                self.catalogue = CatalogueState::Loaded { more: page.more };
                self.loading_older = false;
                self.older_failed = None;
                self.resort();
            }
            Event::JobsFailed { message } => {
                self.catalogue = CatalogueState::Failed { message };
            }
            Event::OlderJobsFailed { message } => {
                self.loading_older = false;
                self.notice(format!("Could not read older jobs: {message}"));
                self.older_failed = Some(message);
            }
            Event::JobUpdated(update) => {
                // A live message comes with its item, read once by the monitor: nothing to ask again.
                let guid = update.decoded.record.as_ref().map(|r| r.guid.clone());
                let before = guid
                    .as_deref()
                    .and_then(|g| self.jobs.by_guid(g))
                    .map(|j| j.status);
                self.apply_update(*update);
                if let Some(guid) = &guid {
                    self.notify_if_finished(guid, before);
                }
                self.resort();
            }
            Event::ItemRead(record) => {
                self.jobs
                    .apply_record(*record, RecordOrigin::Item, SystemTime::now());
                self.resort();
            }
            Event::MonitorMode(mode) => self.monitor = MonitorState::Active(mode),
            Event::Notice { message } => self.notice(message),
            Event::CloseRequested { signal } => {
                self.close_requested = true;
                self.effects.push(Effect::CloseWindow);
                self.notice(format!(
                    "Closing ({signal}): removing vodesk's queue first. Send the signal again to stop at once."
                ));
            }
            Event::MonitorStopped { clean, message } => {
                if !clean {
                    self.notice(message.clone());
                }
                self.monitor = MonitorState::Stopped { message };
            }
            Event::UnfinishedUploads(records) => {
                for (record, confirmed) in &records {
                    if self.uploads.lists(record.id) {
                        continue; // offered again (a reconnect): as it is
                    }
                    let mut local = LocalUpload::from(record);
                    local.transfer = local.transfer.left_by_earlier_run(*confirmed);
                    self.jobs.apply_upload(local);
                    self.uploads.list(record.id);
                }
                self.resort();
            }
            Event::UploadsQueued {
                queued,
                refused,
                notes,
            } => {
                for record in &queued {
                    self.jobs.apply_upload(LocalUpload::from(record));
                    self.uploads.list(record.id);
                }
                self.uploads.refused(refused, notes);
                self.resort();
            }
            Event::Upload { event, record } => {
                if let Some(record) = record {
                    self.jobs.apply_upload(LocalUpload::from(record.as_ref()));
                    self.resort();
                }
                // Only the uploads this window lists: another session's events change nothing here.
                if self.uploads.lists(event.id())
                    && let Some(transfer) = self.jobs.transfer_mut(event.id())
                {
                    upload_queue::apply_event(transfer, &event);
                }
            }
            // Textures live with the window, not in the state.
            Event::Thumbnail {
                url,
                max_edge,
                result,
            } => self.effects.push(Effect::Thumbnail {
                url,
                max_edge,
                result,
            }),
            Event::StacksFound(found) => {
                self.found_stacks = Some(found);
            }
            Event::SetupChecked(checklist) => self.setup_checked(*checklist),
            Event::PlaybackChecked { guid, report } => self.playback.finish(guid, report),
            Event::Operation(event) => self.operation_event(event),
            Event::LocalStackInstalling(step) => self.local_install = Some(step),
            Event::LocalStackReady(request) => {
                self.starting_local = false;
                self.local_install = None;
                self.notice(
                    "The local demo stack is running on this machine: drop videos on the window to upload and encode them."
                        .into(),
                );
                self.last_request = Some(request.clone());
                self.local_request = Some(request.clone());
                return vec![Command::Connect(request)];
            }
            Event::LocalStackFailed { message } => {
                self.starting_local = false;
                self.local_install = None;
                self.connection = ConnectionState::Failed {
                    message: format!("The local demo stack did not start: {message}"),
                };
            }
        }
        Vec::new()
    }

    fn apply_update(&mut self, update: JobUpdate) {
        // An Error message names only the guid: the item read after it names the file (§4).
        if let Some(item) = update.item {
            self.jobs
                .apply_record(item, RecordOrigin::Item, update.received_at);
        }
        if let Some(record) = update.decoded.record {
            let origin = match update.via {
                Via::Queue => RecordOrigin::Message,
                Via::Polling => RecordOrigin::Item,
            };
            self.jobs.apply_record(record, origin, update.received_at);
        }
    }

    /// The live state of listed upload `id`.
    fn transfer_state(&self, id: i64) -> Option<&TransferState> {
        Some(&self.uploads.get(&self.jobs, id)?.transfer.state)
    }

    fn resuming(&mut self, id: i64) {
        if let Some(transfer) = self.jobs.transfer_mut(id) {
            upload_queue::resuming(transfer);
        }
    }

    fn notice(&mut self, message: String) {
        self.notices.push(message);
        if self.notices.len() > MAX_NOTICES {
            let extra = self.notices.len() - MAX_NOTICES;
            self.notices.drain(..extra);
        }
    }

    /// A job that just became Complete or Error gets a desktop notification (once: a duplicate
    /// message or a late read of the item finds it already terminal).
    fn notify_if_finished(&mut self, guid: &str, before: Option<JobStatus>) {
        if !self.notifications_enabled || before.is_some_and(JobStatus::is_terminal) {
            return;
        }
        let Some(job) = self.jobs.by_guid(guid) else {
            return;
        };
        let file = job.file().unwrap_or(guid);
        let name = file.rsplit('/').next().unwrap_or(file).to_owned();
        let notification = match job.status {
            JobStatus::Complete => (
                format!("Ready to play: {name}"),
                "The encoding workflow is complete; its HLS link is in vodesk.".to_owned(),
            ),
            JobStatus::Error => {
                let at = job
                    .record
                    .as_ref()
                    .and_then(|r| r.workflow_error_at.clone())
                    .unwrap_or_else(|| "the workflow".into());
                (
                    format!("Failed: {name}"),
                    format!("The workflow failed at {at}; the details are in vodesk."),
                )
            }
            _ => return,
        };
        let (title, body) = notification;
        self.effects.push(Effect::Notify { title, body });
    }

    /// The dashboard's rows: filtered, in the chosen order (newest first by default).
    fn resort(&mut self) {
        self.order = dashboard::rows(&self.jobs, self.sort, &self.filter);
    }

    /// The uploads the upload panel lists, in order, each with its live transfer.
    pub fn upload_entries(&self) -> impl Iterator<Item = &LocalUpload> {
        self.uploads.entries(&self.jobs)
    }

    /// Listed upload `id`.
    pub fn upload(&self, id: i64) -> Option<&LocalUpload> {
        self.uploads.get(&self.jobs, id)
    }

    /// The selected job, when there is one.
    pub fn selected_job(&self) -> Option<&Job> {
        self.jobs.get(self.selected?)
    }

    /// Whether scrolling to the end should read the next older page: the table has more, none is
    /// being read, and the last attempt did not fail.
    pub fn wants_older(&self) -> bool {
        matches!(self.catalogue, CatalogueState::Loaded { more: true })
            && !self.loading_older
            && self.older_failed.is_none()
    }

    /// Marks an older page as asked for, when one may be: true when the caller should send
    /// [`crate::app::engine::Command::LoadMoreJobs`]. A retry after a failure is allowed.
    pub fn begin_loading_older(&mut self) -> bool {
        if !matches!(self.catalogue, CatalogueState::Loaded { more: true }) || self.loading_older {
            return false;
        }
        self.loading_older = true;
        self.older_failed = None;
        true
    }

    /// The job shown in dashboard row `row`.
    pub fn row(&self, row: usize) -> Option<(JobIndex, &Job)> {
        let index = *self.order.get(row)?;
        Some((index, self.jobs.get(index)?))
    }

    /// The warning of a job at `now` ("no workflow started", "stalled"), with its explanation.
    pub fn warning(&self, index: JobIndex, now: SystemTime) -> Option<JobWarning> {
        self.jobs.warning(index, now, &self.facts, &self.thresholds)
    }
}

/// The status line's words for a link that is not opened (logged with the URL, escaped).
fn refused_link(url: &str, reason: &UrlRefused) -> String {
    tracing::warn!(url = ?url, %reason, "refused to open a link from a job record");
    format!("vodesk refused to open this link: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    use crate::app::engine::{JobsPage, MonitorMode};
    use crate::aws::discovery::VodResources;
    use crate::contract::{Decoded, JobRecord, decode_document};
    use crate::jobs::{JobStatus, WarningKind};

    const INGEST: &str = include_str!("../../../tests/fixtures/vod-examples/sns-ingest.json");
    const COMPLETE: &str = include_str!("../../../tests/fixtures/vod-examples/sns-complete.json");
    const ERROR: &str = include_str!("../../../tests/fixtures/vod-examples/sns-error.json");

    fn decoded(text: &str) -> Decoded {
        decode_document(text.as_bytes()).unwrap()
    }

    fn update(decoded: Decoded, via: Via, at: SystemTime) -> Event {
        Event::JobUpdated(Box::new(JobUpdate {
            decoded,
            received_at: at,
            via,
            item: None,
        }))
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn connected() -> AppState {
        let mut state = AppState::default();
        state.apply(Event::Connected(Box::new(VodResources::sample("vod"))));
        state
    }

    #[test]
    fn a_failed_connection_keeps_its_message() {
        let mut state = AppState::default();
        state.apply(Event::Connecting {
            target: "vod".into(),
        });
        assert_eq!(
            state.connection,
            ConnectionState::Connecting {
                target: "vod".into()
            }
        );
        state.apply(Event::ConnectFailed {
            message: "stack \"vod\" was not found".into(),
        });
        assert_eq!(
            state.connection,
            ConnectionState::Failed {
                message: "stack \"vod\" was not found".into()
            }
        );
    }

    #[test]
    fn connecting_starts_the_monitor_and_the_catalogue() {
        let state = connected();
        assert_eq!(state.monitor, MonitorState::Starting);
        assert_eq!(state.catalogue, CatalogueState::Loading);
        assert_eq!(state.facts.source_bucket, "src");
        assert!(state.order.is_empty());
    }

    #[test]
    fn a_late_ingest_after_complete_does_not_downgrade() {
        let mut state = connected();
        let complete = decoded(COMPLETE);
        let guid = complete.guid().unwrap().to_owned();
        let mut ingest = decoded(INGEST);
        ingest.record.as_mut().unwrap().guid = guid.clone();
        state.apply(update(complete, Via::Queue, at(10)));
        state.apply(update(ingest.clone(), Via::Queue, at(11)));
        // The same Ingest read from the table (polling) is not de-duplicated; still no downgrade.
        state.apply(update(ingest, Via::Polling, at(12)));
        assert_eq!(state.order.len(), 1);
        let (_, job) = state.row(0).unwrap();
        assert_eq!(job.status, JobStatus::Complete);
        assert_eq!(job.guid.as_deref(), Some(guid.as_str()));
        // The Ingest filled in what the Complete message lacks.
        assert!(job.file().is_some());
    }

    #[test]
    fn an_error_update_takes_its_file_from_the_item() {
        let mut state = connected();
        let error = decoded(ERROR);
        let guid = error.guid().unwrap().to_owned();
        let mut item: JobRecord = decoded(INGEST).record.unwrap();
        item.guid = guid.clone();
        item.src_video = Some("uploads/failed.mp4".into());
        state.apply(Event::JobUpdated(Box::new(JobUpdate {
            decoded: error,
            received_at: at(5),
            via: Via::Queue,
            item: Some(item),
        })));
        let (_, job) = state.row(0).unwrap();
        assert_eq!(job.status, JobStatus::Error);
        assert_eq!(job.file(), Some("uploads/failed.mp4"));
    }

    #[test]
    fn polling_mode_and_stops_are_recorded() {
        let mut state = connected();
        let reason = "could not create the queue (no permission), so the table is polled instead";
        state.apply(Event::MonitorMode(MonitorMode::Polling {
            reason: reason.into(),
        }));
        assert_eq!(
            state.monitor,
            MonitorState::Active(MonitorMode::Polling {
                reason: reason.into()
            })
        );
        state.apply(Event::MonitorStopped {
            clean: false,
            message: "Queue q was not fully removed".into(),
        });
        assert!(matches!(state.monitor, MonitorState::Stopped { .. }));
        assert_eq!(
            state.notices.last().map(String::as_str),
            Some("Queue q was not fully removed")
        );
    }

    #[test]
    fn catalogue_pages_merge_with_live_updates_newest_first() {
        let mut state = connected();
        let mut old = decoded(INGEST).record.unwrap();
        old.guid = "old".into();
        old.start_time = Some("2025-01-01T00:00:00.000Z".into());
        let mut new = old.clone();
        new.guid = "new".into();
        new.start_time = Some("2025-06-01T00:00:00.000Z".into());
        // The live message about "old" arrives before the page that lists it.
        let mut complete = decoded(COMPLETE);
        let record = complete.record.as_mut().unwrap();
        record.guid = "old".into();
        record.start_time = Some("2025-01-01T00:00:00.000Z".into());
        state.apply(update(complete, Via::Queue, at(1)));
        state.apply(Event::Jobs(Box::new(JobsPage {
            records: vec![new, old],
            uploads: vec![],
            warnings: vec!["item x is not a record".into()],
            more: true,
            read_at: at(2),
        })));
        assert_eq!(state.catalogue, CatalogueState::Loaded { more: true });
        let rows: Vec<_> = (0..state.order.len())
            .map(|r| {
                let (_, job) = state.row(r).unwrap();
                (job.guid.clone().unwrap(), job.status)
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("new".to_owned(), JobStatus::Ingest),
                ("old".to_owned(), JobStatus::Complete)
            ]
        );
        assert_eq!(state.notices, vec!["item x is not a record".to_owned()]);
    }

    fn page(guids: std::ops::Range<u64>, more: bool) -> Event {
        let template = decoded(INGEST).record.unwrap();
        let records = guids
            .rev()
            .map(|n| {
                let mut record = template.clone();
                record.guid = format!("g{n:04}");
                record.start_time = Some(crate::time::format_iso8601(at(1_700_000_000 + n)));
                record
            })
            .collect();
        Event::Jobs(Box::new(JobsPage {
            records,
            uploads: vec![],
            warnings: vec![],
            more,
            read_at: at(1),
        }))
    }

    fn guids(state: &AppState) -> Vec<String> {
        (0..state.order.len())
            .map(|r| state.row(r).unwrap().1.guid.clone().unwrap())
            .collect()
    }

    #[test]
    fn older_pages_are_asked_for_once_and_appended_newest_first() {
        let mut state = connected();
        assert!(!state.begin_loading_older(), "nothing to continue yet");
        state.apply(page(200..300, true));
        assert!(state.wants_older());
        assert!(state.begin_loading_older());
        // Frames drawn before the page arrives must not ask again.
        assert!(state.loading_older);
        assert!(!state.wants_older());
        assert!(!state.begin_loading_older());
        state.apply(page(100..200, true));
        assert!(!state.loading_older);
        assert!(state.begin_loading_older());
        state.apply(page(0..100, false));
        assert_eq!(state.catalogue, CatalogueState::Loaded { more: false });
        assert!(!state.wants_older());
        assert!(!state.begin_loading_older(), "the last page was read");
        let expected: Vec<String> = (0..300).rev().map(|n| format!("g{n:04}")).collect();
        assert_eq!(guids(&state), expected);
    }

    #[test]
    fn a_failed_older_page_stops_scrolling_requests_until_a_retry() {
        let mut state = connected();
        state.apply(page(100..200, true));
        assert!(state.begin_loading_older());
        state.apply(Event::OlderJobsFailed {
            message: "throttled".into(),
        });
        assert!(!state.loading_older);
        assert_eq!(state.older_failed.as_deref(), Some("throttled"));
        assert!(
            !state.wants_older(),
            "scrolling does not hammer a failing table"
        );
        assert_eq!(state.order.len(), 100, "the jobs read so far stay");
        assert!(state.begin_loading_older(), "the user may retry");
        assert_eq!(state.older_failed, None);
        state.apply(page(0..100, false));
        assert_eq!(state.order.len(), 200);
    }

    #[test]
    fn a_new_connection_forgets_a_load_in_flight() {
        let mut state = connected();
        state.apply(page(0..100, true));
        assert!(state.begin_loading_older());
        let ConnectionState::Connected(resources) = state.connection.clone() else {
            unreachable!()
        };
        state.apply(Event::Connected(resources));
        assert!(!state.loading_older);
        assert_eq!(state.catalogue, CatalogueState::Loading);
        assert!(state.order.is_empty());
    }

    #[test]
    fn a_stuck_ingest_shows_the_stalled_warning() {
        let mut state = connected();
        let mut item = decoded(INGEST).record.unwrap();
        item.start_time = Some("1970-01-01T00:00:00.000Z".into());
        state.apply(Event::Jobs(Box::new(JobsPage {
            records: vec![item],
            uploads: vec![],
            warnings: vec![],
            more: false,
            read_at: at(0),
        })));
        let (index, _) = state.row(0).unwrap();
        assert_eq!(state.warning(index, at(30)), None);
        let warning = state.warning(index, at(600)).unwrap();
        assert_eq!(warning.kind, WarningKind::Stalled);
        assert!(
            warning.message.contains("vod-process"),
            "{}",
            warning.message
        );
    }

    #[test]
    fn a_signal_asks_to_close() {
        let mut state = connected();
        assert!(!state.close_requested);
        state.apply(Event::CloseRequested {
            signal: "terminate",
        });
        assert!(state.close_requested);
        assert!(
            state.notices[0].contains("terminate"),
            "{:?}",
            state.notices
        );
    }

    #[test]
    fn notices_are_bounded() {
        let mut state = AppState::default();
        for i in 0..(MAX_NOTICES + 5) {
            state.apply(Event::Notice {
                message: format!("n{i}"),
            });
        }
        assert_eq!(state.notices.len(), MAX_NOTICES);
        assert_eq!(state.notices.first().map(String::as_str), Some("n5"));
    }
}

#[cfg(test)]
mod action_tests {
    use super::*;
    use crate::app::dashboard::SortColumn;
    use crate::aws::discovery::VodResources;
    use crate::aws::upload::journal::{UploadRecord, UploadState};
    use crate::contract::decode_document;

    fn resources() -> VodResources {
        VodResources::sample("vod")
    }

    fn record(id: i64, state: UploadState) -> UploadRecord {
        UploadRecord::sample(id, state, 10)
    }

    #[test]
    fn files_are_sent_only_when_connected() {
        let mut state = AppState::default();
        assert!(
            state
                .apply(UiAction::AddFiles(vec!["/v/a.mp4".into()]))
                .is_empty()
        );
        assert!(state.notices.last().unwrap().contains("Connect"));
        state.connection = ConnectionState::Connected(Box::new(resources()));
        assert!(matches!(
            state
                .apply(UiAction::AddFiles(vec!["/v/a.mp4".into()]))
                .as_slice(),
            [Effect::Engine(Command::AddFiles { .. })]
        ));
    }

    #[test]
    fn upload_buttons_become_commands_only_when_they_apply() {
        let mut state = AppState::default();
        state.apply(Event::UnfinishedUploads(vec![
            (record(1, UploadState::Active), 0),
            (record(2, UploadState::Failed), 0),
        ]));
        // Nothing is running: pause does nothing; resume and cancel do.
        assert!(state.apply(UiAction::PauseUpload(1)).is_empty());
        assert!(matches!(
            state.apply(UiAction::ResumeUpload(1)).as_slice(),
            [Effect::Engine(Command::ResumeUpload(1))]
        ));
        // Now waiting: a second click does not resume twice.
        assert!(state.apply(UiAction::ResumeUpload(1)).is_empty());
        assert!(matches!(
            state.apply(UiAction::PauseUpload(1)).as_slice(),
            [Effect::Engine(Command::PauseUpload(1))]
        ));
        let resumed = state.apply(UiAction::ResumeEarlier);
        assert!(matches!(
            resumed.as_slice(),
            [Effect::Engine(Command::ResumeUpload(2))]
        ));
        assert!(state.apply(UiAction::ResumeUpload(99)).is_empty());
    }

    #[test]
    fn sorting_filtering_and_selection_change_the_rows() {
        let mut state = AppState {
            connection: ConnectionState::Connected(Box::new(resources())),
            ..AppState::default()
        };
        let template = decode_document(
            include_str!("../../../tests/fixtures/vod-examples/sns-ingest.json").as_bytes(),
        )
        .unwrap()
        .record
        .unwrap();
        let records = ["b.mp4", "a.mp4", "c.mp4"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut r = template.clone();
                r.guid = format!("g{i}");
                r.src_video = Some(format!("uploads/{name}"));
                r.start_time = Some(format!("2025-01-0{}T00:00:00.000Z", i + 1));
                r
            })
            .collect();
        state.apply(Event::Jobs(Box::new(crate::app::engine::JobsPage {
            records,
            uploads: vec![],
            warnings: vec![],
            more: false,
            read_at: SystemTime::now(),
        })));
        let names = |s: &AppState| -> Vec<String> {
            (0..s.order.len())
                .map(|r| s.row(r).unwrap().1.file().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            names(&state),
            ["uploads/c.mp4", "uploads/a.mp4", "uploads/b.mp4"]
        );
        state.apply(UiAction::SortBy(SortColumn::File));
        assert_eq!(
            names(&state),
            ["uploads/a.mp4", "uploads/b.mp4", "uploads/c.mp4"]
        );
        state.apply(UiAction::FilterText("B.MP".into()));
        assert_eq!(names(&state), ["uploads/b.mp4"]);
        state.apply(UiAction::FilterText(String::new()));
        state.apply(UiAction::FilterStatus(Some(JobStatus::Complete)));
        assert!(state.order.is_empty());
        state.apply(UiAction::FilterStatus(None));
        // Selecting a job heard of only through a page read of items asks for nothing more; a job
        // not read as an item asks for its item.
        let (index, _) = state.row(0).unwrap();
        let commands = state.apply(UiAction::Select(Some(index)));
        assert_eq!(state.selected, Some(index));
        assert!(commands.is_empty(), "{commands:?}");
        state.apply(UiAction::Select(Some(999)));
        assert_eq!(state.selected, None);
    }
}
