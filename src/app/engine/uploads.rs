//! The uploads of one connected session, for the app: the [`Uploader`] on the session's source bucket,
//! the controls of the uploads that are running, and the journal's unfinished uploads offered at
//! connection. Dropped files are validated, named and journaled off the runtime's workers (file
//! system and SQLite work), then sent. Every upload event goes to the UI as one event, in order, from
//! a blocking thread of its own: a change of state carries the journal's record after it (read there,
//! off the async workers), which joins the upload to its workflow.

use std::collections::HashMap;
use std::path::PathBuf;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{ConnectRequest, Emitter, Event, JournalSource};
use crate::aws::connection::AwsClients;
use crate::aws::discovery::VodResources;
use crate::aws::upload::events::UploadEvent;
use crate::aws::upload::journal::Journal;
use crate::aws::upload::prepare::{self, PrepareOptions, prepare_uploads};
use crate::aws::upload::select::{Refusal, is_video_extension, select_files};
use crate::aws::upload::uploader::{
    Outcome, UploadControl, Uploader, UploaderConfig, sign_payload_for,
};

/// How many of the journal's uploads to this bucket are looked at for unfinished ones.
const UNFINISHED_SCAN: usize = 500;

pub(super) struct Uploads {
    /// `None` when the journal cannot be opened: uploads are then refused with the reason.
    uploader: Option<Uploader>,
    unavailable: Option<String>,
    destination: prepare::Destination,
    running: HashMap<i64, UploadControl>,
    tasks: JoinSet<i64>,
    /// Which upload each task runs, so that a task that panicked still frees its upload for a resume.
    task_uploads: HashMap<tokio::task::Id, i64>,
    /// For events the uploader does not send itself (a cancel of an upload that is not running, a
    /// task that panicked); they reach the UI through the same forwarder, in order.
    own_events: mpsc::UnboundedSender<UploadEvent>,
}

impl Uploads {
    pub(super) async fn open(
        journal: &JournalSource,
        clients: &AwsClients,
        resources: &VodResources,
        request: &ConnectRequest,
        emit: &Emitter,
    ) -> Self {
        let (tx, events) = mpsc::unbounded_channel();
        let source = journal.clone();
        let opened = tokio::task::spawn_blocking(move || match source {
            JournalSource::Default => Some(Journal::open_default()),
            JournalSource::At(path) => Some(Journal::open(&path)),
            // No journal, no uploads (tests of other things must not write the user's journal).
            JournalSource::None => None,
        })
        .await;
        let journal = match opened {
            Ok(None) => Err("uploading is off in this session (no upload journal)".to_owned()),
            Ok(Some(Ok(journal))) => Ok(journal),
            Ok(Some(Err(err))) => Err(format!(
                "uploading is off: the upload journal could not be opened ({err}); check that vodesk's data directory (VODESK_DATA_DIR) is writable"
            )),
            Err(_) => {
                Err("uploading is off: opening the upload journal stopped unexpectedly".into())
            }
        };
        let destination = prepare::Destination {
            bucket: resources.source_bucket.clone(),
            trigger: resources.workflow_trigger,
            solution_version: resources.solution_version.clone(),
            endpoint_url: clients.endpoint_url.clone(),
            region: clients.region.clone(),
            profile: request.connection.profile.clone(),
        };
        let (uploader, unavailable) = match journal {
            Ok(journal) => {
                let config = UploaderConfig {
                    sign_payload: sign_payload_for(clients.endpoint_url.as_deref()),
                    ..UploaderConfig::default()
                };
                let uploader = Uploader::new(
                    clients.s3.clone(),
                    journal,
                    config,
                    request.connection.profile.clone(),
                    tx.clone(),
                );
                (Some(uploader), None)
            }
            Err(message) => {
                emit.emit(Event::Notice {
                    message: message.clone(),
                });
                (None, Some(message))
            }
        };
        let forwarded = uploader.as_ref().map(|u| u.journal().clone());
        let forward_emit = emit.clone();
        // Ends when every sender is gone (the session's uploads dropped, their tasks ended).
        drop(tokio::task::spawn_blocking(move || {
            forward_events(events, forwarded.as_ref(), &forward_emit);
        }));
        let uploads = Self {
            uploader,
            unavailable,
            destination,
            running: HashMap::new(),
            tasks: JoinSet::new(),
            task_uploads: HashMap::new(),
            own_events: tx,
        };
        uploads.offer_unfinished(emit).await;
        uploads
    }

    async fn offer_unfinished(&self, emit: &Emitter) {
        let Some(uploader) = self.uploader.clone() else {
            return;
        };
        let bucket = self.destination.bucket.clone();
        let listed = tokio::task::spawn_blocking(move || {
            let journal = uploader.journal();
            journal
                .list_for_bucket(&bucket, UNFINISHED_SCAN)
                .map(|records| {
                    records
                        .into_iter()
                        .filter(|r| r.state.is_unfinished())
                        .map(|r| {
                            // What the server confirmed: the resume sends only the rest.
                            let confirmed = journal
                                .parts(r.id)
                                .map(|parts| parts.iter().map(|p| p.size).sum())
                                .unwrap_or(0);
                            let holder = journal.lease_holder(r.id).ok().flatten();
                            (r, confirmed, holder)
                        })
                        .collect::<Vec<_>>()
                })
        })
        .await;
        if let Ok(Ok(unfinished)) = listed
            && !unfinished.is_empty()
        {
            // Uploads another process sends are shown as such, never offered for resume.
            let elsewhere: Vec<UploadEvent> = unfinished
                .iter()
                .filter_map(|(r, _, holder)| {
                    holder.as_ref().map(|h| UploadEvent::RunningElsewhere {
                        id: r.id,
                        holder: h.to_string(),
                    })
                })
                .collect();
            let offered = unfinished.into_iter().map(|(r, c, _)| (r, c)).collect();
            emit.emit(Event::UnfinishedUploads(offered));
            for event in elsewhere {
                emit.emit(Event::Upload {
                    event,
                    record: None,
                });
            }
        }
    }

    /// Waits for the end of an upload's run and handles it. Never resolves while none is running.
    pub(super) async fn step(&mut self) {
        match self.tasks.join_next_with_id().await {
            Some(finished) => self.finished(finished),
            None => std::future::pending::<()>().await,
        }
    }

    /// A task ended. One that panicked (a bug) leaves its upload as the journal has it, resumable: the
    /// user hears so, and Resume works in this session.
    fn finished(&mut self, finished: Result<(tokio::task::Id, i64), tokio::task::JoinError>) {
        match finished {
            Ok((task, id)) => {
                self.task_uploads.remove(&task);
                self.running.remove(&id);
            }
            Err(err) => {
                let Some(id) = self.task_uploads.remove(&err.id()) else {
                    return;
                };
                self.running.remove(&id);
                if err.is_panic() {
                    tracing::error!("upload {id} stopped by an internal error: {err}");
                    let failed = UploadEvent::Failed {
                        id,
                        error: "the upload stopped because of an internal error in vodesk (please report it); nothing sent is lost: Retry resumes it".into(),
                    };
                    if self.own_events.send(failed).is_err() {
                        tracing::debug!("upload {id}: failure event dropped (session closing)");
                    }
                }
            }
        }
    }

    /// Validates, names and journals `paths`, then starts sending the accepted ones; on a
    /// MetadataFile stack each metadata file holds the `metadata` fields besides `srcVideo`.
    pub(super) async fn add(
        &mut self,
        paths: Vec<PathBuf>,
        metadata: Vec<(String, String)>,
        emit: &Emitter,
    ) {
        let Some(uploader) = self.uploader.clone() else {
            let reason = self
                .unavailable
                .clone()
                .unwrap_or_else(|| "uploading is off".into());
            emit.emit(Event::UploadsQueued {
                queued: Vec::new(),
                refused: paths
                    .into_iter()
                    .map(|path| Refusal {
                        path,
                        reason: reason.clone(),
                    })
                    .collect(),
                notes: Vec::new(),
            });
            return;
        };
        let destination = self.destination.clone();
        let options = PrepareOptions {
            metadata_pairs: metadata,
            ..PrepareOptions::default()
        };
        let prepared = tokio::task::spawn_blocking(move || {
            // Folders bring their videos; other files inside them are skipped with a note.
            let selection = select_files(&paths, &|path| is_video_extension(path));
            let prepared = prepare_uploads(
                uploader.journal(),
                &selection.accepted,
                &destination,
                &options,
            )
            .map(|prepared| {
                let records: Vec<_> = prepared
                    .ids
                    .iter()
                    .filter_map(|&id| uploader.journal().get(id).ok())
                    .collect();
                (prepared, records)
            });
            (selection, prepared)
        })
        .await;
        let Ok((selection, prepared)) = prepared else {
            emit.emit(Event::Notice {
                message: "adding the files stopped unexpectedly; try again".into(),
            });
            return;
        };
        let mut refused = selection.refused;
        let mut notes = selection.notes;
        let mut queued = Vec::new();
        let mut ids = Vec::new();
        match prepared {
            Ok((prepared, records)) => {
                refused.extend(prepared.refused);
                refused.extend(prepared.not_triggering);
                notes.extend(prepared.notes);
                ids = prepared.ids;
                queued = records;
            }
            Err(err) => notes.push(format!("nothing was queued: {err}")),
        }
        // Said before any of them starts, so that their first events find them queued.
        emit.emit(Event::UploadsQueued {
            queued,
            refused,
            notes,
        });
        for id in ids {
            self.start(id, false);
        }
    }

    fn start(&mut self, id: i64, restart: bool) {
        let Some(uploader) = self.uploader.clone() else {
            return;
        };
        if self.running.contains_key(&id) {
            return;
        }
        let control = UploadControl::default();
        self.running.insert(id, control.clone());
        let task = self.tasks.spawn(async move {
            uploader.run(id, &control, restart).await;
            id
        });
        self.task_uploads.insert(task.id(), id);
    }

    pub(super) fn pause(&self, id: i64) {
        if let Some(control) = self.running.get(&id) {
            control.pause();
        }
    }

    pub(super) fn resume(&mut self, id: i64) {
        self.start(id, false);
    }

    pub(super) fn cancel(&mut self, id: i64) {
        if let Some(control) = self.running.get(&id) {
            control.cancel();
            return;
        }
        // Not running (paused, failed, from an earlier run): abort and forget it now.
        if let Some(uploader) = self.uploader.clone() {
            let events = self.own_events.clone();
            self.tasks.spawn(async move {
                let event = match uploader.cancel_now(id).await {
                    Outcome::Failed { error } => Some(UploadEvent::Failed { id, error }),
                    // The uploader has said so itself (RunningElsewhere), or nothing happened.
                    Outcome::RunningElsewhere { .. } | Outcome::Completed { .. } => None,
                    Outcome::Cancelled | Outcome::Paused { .. } => {
                        Some(UploadEvent::Cancelled { id })
                    }
                };
                if let Some(event) = event
                    && events.send(event).is_err()
                {
                    tracing::debug!("upload {id}: cancel event dropped (session closing)");
                }
                id
            });
        }
    }

    /// Pauses every running upload and waits for them to stop (a new connection, or closing).
    pub(super) async fn pause_all(&mut self) {
        for control in self.running.values() {
            control.pause();
        }
        let budget = std::time::Duration::from_secs(5);
        let stopped = tokio::time::timeout(budget, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if stopped.is_err() {
            // Not waited for any longer: the uploads still running are aborted when the set is dropped,
            // and their journal records let them resume.
            tracing::debug!("pause: some uploads had not stopped within {budget:?}");
        }
    }
}

/// Hands each upload event to the UI, in order; a change of state with the journal's record after it
/// (a blocking read, which is why this runs on a thread of its own).
fn forward_events(
    mut events: mpsc::UnboundedReceiver<UploadEvent>,
    journal: Option<&Journal>,
    emit: &Emitter,
) {
    while let Some(event) = events.blocking_recv() {
        let changes_record = matches!(
            event,
            UploadEvent::Started { .. }
                | UploadEvent::Completed { .. }
                | UploadEvent::Paused { .. }
                | UploadEvent::Failed { .. }
        );
        let record = match journal {
            Some(journal) if changes_record => match journal.get(event.id()) {
                Ok(record) => Some(Box::new(record)),
                Err(err) => {
                    tracing::debug!("upload {}: its record was not read: {err}", event.id());
                    None
                }
            },
            _ => None,
        };
        emit.emit(Event::Upload { event, record });
    }
}
