//! The upload panel's list, as a view over the one job model: which of this machine's uploads the
//! panel lists (those of this session, and the unfinished ones an earlier run left, offered for
//! resume or discard), in the order they came, and the refusals of the last drop, each with its
//! reason. Each upload's progress lives with its job ([`crate::jobs::Transfer`]); this module applies
//! the uploader's events to it.

use crate::aws::upload::events::UploadEvent;
use crate::aws::upload::select::Refusal;
use crate::jobs::{JobBook, LocalUpload, Transfer, TransferState};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadQueue {
    /// Upload ids in the order they were added; unfinished ones from earlier first.
    listed: Vec<i64>,
    /// What the last drop or pick refused, each with its reason (until dismissed).
    pub refused: Vec<Refusal>,
    /// Notes of the last drop (skipped duplicates, hidden files…).
    pub notes: Vec<String>,
}

impl UploadQueue {
    /// Lists `upload_id` (once).
    pub fn list(&mut self, upload_id: i64) {
        if !self.listed.contains(&upload_id) {
            self.listed.push(upload_id);
        }
    }

    /// The refusals and notes of the last drop.
    pub fn refused(&mut self, refused: Vec<Refusal>, notes: Vec<String>) {
        self.refused = refused;
        self.notes = notes;
    }

    /// Whether the panel lists `upload_id`.
    pub fn lists(&self, upload_id: i64) -> bool {
        self.listed.contains(&upload_id)
    }

    /// The listed uploads, in order.
    pub fn entries<'a>(&'a self, jobs: &'a JobBook) -> impl Iterator<Item = &'a LocalUpload> + 'a {
        self.listed
            .iter()
            .filter_map(|&id| jobs.by_upload(id)?.upload.as_ref())
    }

    /// The listed upload `upload_id`.
    pub fn get<'a>(&self, jobs: &'a JobBook, upload_id: i64) -> Option<&'a LocalUpload> {
        if !self.lists(upload_id) {
            return None;
        }
        jobs.by_upload(upload_id)?.upload.as_ref()
    }

    /// Sum of the rates of the uploads sending now.
    pub fn total_rate(&self, jobs: &JobBook) -> f64 {
        self.entries(jobs)
            .filter(|u| u.transfer.state == TransferState::Sending)
            .map(|u| u.transfer.bytes_per_second)
            .sum()
    }

    pub fn active(&self, jobs: &JobBook) -> usize {
        self.entries(jobs)
            .filter(|u| u.transfer.state.is_active())
            .count()
    }

    /// Stops listing completed and cancelled uploads (their jobs stay on the dashboard).
    pub fn clear_finished(&mut self, jobs: &JobBook) {
        self.listed.retain(|&id| {
            jobs.by_upload(id)
                .and_then(|j| j.upload.as_ref())
                .is_some_and(|u| !u.transfer.state.is_finished())
        });
    }

    pub fn dismiss_refusals(&mut self) {
        self.refused.clear();
        self.notes.clear();
    }
}

/// Applies one of the uploader's events to the transfer it is about.
pub(crate) fn apply_event(transfer: &mut Transfer, event: &UploadEvent) {
    match event {
        UploadEvent::Started {
            size,
            already_confirmed,
            ..
        } => {
            transfer.size = *size;
            transfer.confirmed = *already_confirmed;
            transfer.state = TransferState::Sending;
            transfer.from_earlier = false;
        }
        UploadEvent::Progress {
            confirmed,
            size,
            bytes_per_second,
            eta,
            ..
        } => {
            transfer.confirmed = *confirmed;
            transfer.size = *size;
            transfer.bytes_per_second = *bytes_per_second;
            transfer.eta = *eta;
            if transfer.state == TransferState::Waiting {
                transfer.state = TransferState::Sending;
            }
        }
        UploadEvent::Note { message, .. } => transfer.note = Some(message.clone()),
        UploadEvent::Paused { reason, .. } => transfer.stopped(TransferState::Paused {
            reason: reason.clone(),
        }),
        UploadEvent::Completed { size, verified, .. } => {
            transfer.confirmed = *size;
            transfer.stopped(TransferState::Completed {
                verified: *verified,
            });
        }
        UploadEvent::Failed { error, .. } => transfer.stopped(TransferState::Failed {
            error: error.clone(),
        }),
        UploadEvent::Cancelled { .. } => transfer.stopped(TransferState::Cancelled),
        UploadEvent::RunningElsewhere { holder, .. } => {
            transfer.stopped(TransferState::RunningElsewhere {
                holder: holder.clone(),
            });
        }
    }
}

/// Marks a transfer as asked to resume (it waits until the engine's Started).
pub(crate) fn resuming(transfer: &mut Transfer) {
    if transfer.state.is_resumable() {
        transfer.state = TransferState::Waiting;
        transfer.from_earlier = false;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::aws::upload::journal::{UploadRecord, UploadState};

    fn book_with(records: &[(i64, UploadState)]) -> (JobBook, UploadQueue) {
        let mut jobs = JobBook::new();
        let mut queue = UploadQueue::default();
        for &(id, state) in records {
            let mut record = UploadRecord::sample(id, state, 100);
            record.target.key = format!("k{id}.mp4");
            jobs.apply_upload(LocalUpload::from(&record));
            queue.list(id);
        }
        (jobs, queue)
    }

    fn apply(jobs: &mut JobBook, event: &UploadEvent) {
        apply_event(jobs.transfer_mut(event.id()).unwrap(), event);
    }

    #[test]
    fn an_upload_goes_from_waiting_to_completed_with_progress() {
        let (mut jobs, mut queue) = book_with(&[(1, UploadState::Active)]);
        let state = |jobs: &JobBook| queue_state(jobs, 1);
        assert_eq!(state(&jobs), TransferState::Waiting);
        apply(
            &mut jobs,
            &UploadEvent::Progress {
                id: 1,
                confirmed: 40,
                size: 100,
                bytes_per_second: 10.0,
                eta: Some(Duration::from_secs(6)),
            },
        );
        assert_eq!(state(&jobs), TransferState::Sending);
        let upload = queue.get(&jobs, 1).unwrap();
        assert!((upload.transfer.fraction() - 0.4).abs() < 1e-6);
        assert_eq!(queue.total_rate(&jobs), 10.0);
        apply(
            &mut jobs,
            &UploadEvent::Completed {
                id: 1,
                bucket: "src".into(),
                key: "k".into(),
                size: 100,
                verified: true,
                seconds: 1.0,
            },
        );
        assert_eq!(state(&jobs), TransferState::Completed { verified: true });
        assert_eq!(queue.total_rate(&jobs), 0.0);
        queue.clear_finished(&jobs);
        assert_eq!(queue.entries(&jobs).count(), 0);
        // The job itself stays on the dashboard.
        assert!(jobs.by_upload(1).is_some());
    }

    fn queue_state(jobs: &JobBook, id: i64) -> TransferState {
        jobs.by_upload(id)
            .unwrap()
            .upload
            .as_ref()
            .unwrap()
            .transfer
            .state
            .clone()
    }

    #[test]
    fn unfinished_uploads_from_earlier_are_offered_as_paused() {
        let mut jobs = JobBook::new();
        for (id, state, confirmed) in [(7, UploadState::Active, 40), (8, UploadState::Failed, 0)] {
            let mut record = UploadRecord::sample(id, state, 100);
            record.target.key = format!("k{id}.mp4");
            let mut local = LocalUpload::from(&record);
            local.transfer = local.transfer.left_by_earlier_run(confirmed);
            jobs.apply_upload(local);
        }
        let transfer = &jobs.by_upload(7).unwrap().upload.as_ref().unwrap().transfer;
        assert!((transfer.fraction() - 0.4).abs() < 1e-6);
        assert!(transfer.from_earlier && transfer.state.is_resumable());
        assert!(queue_state(&jobs, 8).is_resumable());
        resuming(jobs.transfer_mut(7).unwrap());
        assert_eq!(queue_state(&jobs, 7), TransferState::Waiting);
        // The journal's record again (a start, a reconnect): the live transfer is kept.
        let mut record = UploadRecord::sample(7, UploadState::Active, 100);
        record.target.key = "k7.mp4".into();
        jobs.apply_upload(LocalUpload::from(&record));
        let transfer = &jobs.by_upload(7).unwrap().upload.as_ref().unwrap().transfer;
        assert_eq!(transfer.confirmed, 40);
        assert_eq!(jobs.jobs().len(), 2);
    }

    #[test]
    fn refusals_are_kept_until_dismissed() {
        let mut queue = UploadQueue::default();
        queue.refused(
            vec![Refusal {
                path: std::path::PathBuf::from("/x/notes.txt"),
                reason: "is not a video".into(),
            }],
            vec![],
        );
        assert_eq!(queue.refused.len(), 1);
        queue.dismiss_refusals();
        assert!(queue.refused.is_empty());
    }
}
