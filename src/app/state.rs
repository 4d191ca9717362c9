//! The app's state as plain data, changed only by [`AppState::apply`]: testable without a window.
//! It holds the connection, the job model ([`JobBook`], shared with the CLI), the order the dashboard
//! shows the jobs in, how status arrives (live or polling) and the last notices. Older jobs are read
//! a page at a time as the user scrolls: [`AppState::begin_loading_older`] decides whether a request
//! goes to the engine, so a table drawn many times before the page arrives asks only once.

use std::cmp::Reverse;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aws::discovery::VodResources;
use crate::aws::engine::{Event, MonitorMode};
use crate::aws::monitor::{JobUpdate, Via};
use crate::contract::RecordOrigin;
use crate::jobs::{Job, JobBook, JobIndex, JobWarning, StackFacts, Thresholds};

/// How many notices are kept (newest last): enough to explain, never growing without bound.
const MAX_NOTICES: usize = 20;

/// Where the app stands with its deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ConnectionState {
    /// Started without a stack or resource flags.
    #[default]
    NotConfigured,
    Connecting {
        target: String,
    },
    Connected(Box<VodResources>),
    Failed {
        message: String,
    },
}

/// How status reaches the app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MonitorState {
    /// Not connected yet.
    #[default]
    Off,
    /// Connected, the monitor is setting up its queue.
    Starting,
    Active(MonitorMode),
    Stopped {
        message: String,
    },
}

/// Reading the newest jobs from the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CatalogueState {
    #[default]
    NotLoaded,
    Loading,
    Loaded {
        /// More jobs are in the table than were read.
        more: bool,
    },
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct AppState {
    pub connection: ConnectionState,
    pub monitor: MonitorState,
    pub catalogue: CatalogueState,
    /// Every job heard of in this connection.
    pub jobs: JobBook,
    /// Indices into `jobs`, newest first: the dashboard's rows.
    pub order: Vec<JobIndex>,
    /// What explains a job's warning (from the connected deployment).
    pub facts: StackFacts,
    pub thresholds: Thresholds,
    /// Recent notices and warnings, one line each, newest last.
    pub notices: Vec<String>,
    /// An older page was asked for and has not arrived yet.
    pub loading_older: bool,
    /// Why the last older page could not be read; scrolling no longer asks again until the user
    /// retries, so a failing table is not read every frame.
    pub older_failed: Option<String>,
    /// A signal asked the app to quit: the window closes (and the engine cleans up).
    pub close_requested: bool,
}

impl AppState {
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Connecting { target } => {
                self.connection = ConnectionState::Connecting { target };
            }
            Event::Connected(resources) => {
                // A new deployment: what was known of another one no longer applies.
                self.jobs = JobBook::new();
                self.order.clear();
                self.facts = StackFacts::from(resources.as_ref());
                self.monitor = MonitorState::Starting;
                self.catalogue = CatalogueState::Loading;
                self.loading_older = false;
                self.older_failed = None;
                self.connection = ConnectionState::Connected(resources);
            }
            Event::ConnectFailed { message } => {
                self.connection = ConnectionState::Failed { message };
            }
            Event::Jobs(page) => {
                // Uploads first, as `vodesk list` does: each record then joins its upload by key.
                for upload in &page.uploads {
                    self.jobs.apply_upload(upload);
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
                self.sort();
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
                self.apply_update(*update);
                self.sort();
            }
            Event::MonitorMode(mode) => self.monitor = MonitorState::Active(mode),
            Event::Notice { message } => self.notice(message),
            Event::CloseRequested { signal } => {
                self.close_requested = true;
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
        }
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

    fn notice(&mut self, message: String) {
        self.notices.push(message);
        if self.notices.len() > MAX_NOTICES {
            let extra = self.notices.len() - MAX_NOTICES;
            self.notices.drain(..extra);
        }
    }

    /// Newest first, by when the workflow started (else when it was first heard of).
    fn sort(&mut self) {
        let jobs = self.jobs.jobs();
        let mut order: Vec<JobIndex> = (0..jobs.len()).collect();
        // Stable, so jobs of the same start keep the order they arrived in.
        order.sort_by_key(|&i| Reverse(sort_time(&jobs[i])));
        self.order = order;
    }

    /// Whether scrolling to the end should read the next older page: the table has more, none is
    /// being read, and the last attempt did not fail.
    pub fn wants_older(&self) -> bool {
        matches!(self.catalogue, CatalogueState::Loaded { more: true })
            && !self.loading_older
            && self.older_failed.is_none()
    }

    /// Marks an older page as asked for, when one may be: true when the caller should send
    /// [`crate::aws::engine::Command::LoadMoreJobs`]. A retry after a failure is allowed.
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

fn sort_time(job: &Job) -> SystemTime {
    job.started()
        .or_else(|| {
            let upload = job.upload.as_ref()?;
            let seconds = u64::try_from(upload.completed_at?).ok()?;
            Some(UNIX_EPOCH + Duration::from_secs(seconds))
        })
        .unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::discovery::Origin;
    use crate::aws::engine::JobsPage;
    use crate::contract::{Decoded, JobRecord, decode_document};
    use crate::jobs::{JobStatus, WarningKind};

    const INGEST: &str = include_str!("../../tests/fixtures/vod-examples/sns-ingest.json");
    const COMPLETE: &str = include_str!("../../tests/fixtures/vod-examples/sns-complete.json");
    const ERROR: &str = include_str!("../../tests/fixtures/vod-examples/sns-error.json");

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
        state.apply(Event::Connected(Box::new(VodResources {
            stack_name: Some("vod".into()),
            stack_id: None,
            stack_status: None,
            solution_version: Some("v6.1.13".into()),
            generation: None,
            region: "us-east-1".into(),
            source_bucket: "src".into(),
            destination_bucket: None,
            table: "vod".into(),
            topic_arn: "arn:aws:sns:us-east-1:123456789012:vod".into(),
            topic_arn_from: Origin::StackOutput,
            cloudfront_domain: None,
            workflow_trigger: None,
            enable_sns: Some(true),
            frame_capture: None,
            enable_media_package: None,
            stack_queue_url: None,
            overridden: Vec::new(),
        })));
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
