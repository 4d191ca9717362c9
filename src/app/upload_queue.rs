//! The upload queue as the window shows it: one entry per upload of this session (and the unfinished
//! ones an earlier run left, offered for resume or discard), each with its size, confirmed bytes, rate,
//! time left and state; the refusals of the last drop, each with its reason; and the total rate for the
//! status bar. Plain data, changed by the engine's upload events.

use std::time::Duration;

use crate::aws::upload::events::UploadEvent;
use crate::aws::upload::journal::{UploadRecord, UploadState};
use crate::aws::upload::select::Refusal;

/// Where one upload stands.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryState {
    /// Journaled; sending has not begun (waiting for a slot, or reconciling a resume).
    Waiting,
    Sending,
    /// Stopped on purpose or for a fixable reason (expired session); resumable.
    Paused {
        reason: String,
    },
    Completed {
        verified: bool,
    },
    /// Retries did not cure it; resumable once the cause is fixed.
    Failed {
        error: String,
    },
    Cancelled,
    /// Another vodesk process (or window) is sending it: not resumable from here while it does.
    RunningElsewhere {
        holder: String,
    },
}

impl EntryState {
    /// Resume (or retry) applies.
    pub fn is_resumable(&self) -> bool {
        matches!(self, Self::Paused { .. } | Self::Failed { .. })
    }

    pub fn is_active(&self) -> bool {
        matches!(self, Self::Waiting | Self::Sending)
    }

    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Completed { .. } | Self::Cancelled)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UploadEntry {
    /// The journal id.
    pub id: i64,
    pub name: String,
    pub key: String,
    pub size: u64,
    pub confirmed: u64,
    pub bytes_per_second: f64,
    pub eta: Option<Duration>,
    pub state: EntryState,
    /// The last note (a retry, a restart), shown under the row.
    pub note: Option<String>,
    /// Left unfinished by an earlier run of vodesk: offered for resume or discard.
    pub from_earlier: bool,
}

impl UploadEntry {
    fn from_record(record: &UploadRecord, from_earlier: bool) -> Self {
        let state = match record.state {
            UploadState::Active if from_earlier => EntryState::Paused {
                reason: "interrupted (vodesk was closed or the machine stopped)".into(),
            },
            UploadState::Active => EntryState::Waiting,
            UploadState::Paused => EntryState::Paused {
                reason: record.error.clone().unwrap_or_else(|| "paused".into()),
            },
            UploadState::Failed => EntryState::Failed {
                error: record.error.clone().unwrap_or_else(|| "failed".into()),
            },
            UploadState::Completed => EntryState::Completed { verified: true },
        };
        Self {
            id: record.id,
            name: record.original_name.clone(),
            key: record.target.key.clone(),
            size: record.file.size,
            confirmed: if record.state == UploadState::Completed {
                record.file.size
            } else {
                0
            },
            bytes_per_second: 0.0,
            eta: None,
            state,
            note: None,
            from_earlier,
        }
    }

    /// 0.0 ..= 1.0
    pub fn fraction(&self) -> f32 {
        if self.size == 0 {
            return 1.0;
        }
        (self.confirmed as f64 / self.size as f64).clamp(0.0, 1.0) as f32
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadQueue {
    /// In the order they were added; unfinished ones from earlier first.
    pub entries: Vec<UploadEntry>,
    /// What the last drop or pick refused, each with its reason (until dismissed).
    pub refused: Vec<Refusal>,
    /// Notes of the last drop (skipped duplicates, hidden files…).
    pub notes: Vec<String>,
}

impl UploadQueue {
    /// Uploads an earlier run left unfinished, each with the bytes the server already has.
    pub fn offer_unfinished(&mut self, records: &[(UploadRecord, u64)]) {
        for (record, confirmed) in records {
            if self.position(record.id).is_none() {
                let mut entry = UploadEntry::from_record(record, true);
                entry.confirmed = (*confirmed).min(entry.size);
                self.entries.push(entry);
            }
        }
    }

    pub fn queued(&mut self, records: &[UploadRecord], refused: Vec<Refusal>, notes: Vec<String>) {
        for record in records {
            if self.position(record.id).is_none() {
                self.entries.push(UploadEntry::from_record(record, false));
            }
        }
        self.refused = refused;
        self.notes = notes;
    }

    fn position(&self, id: i64) -> Option<usize> {
        self.entries.iter().position(|e| e.id == id)
    }

    pub fn get(&self, id: i64) -> Option<&UploadEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    pub fn apply(&mut self, event: &UploadEvent) {
        let Some(index) = self.position(event.id()) else {
            return;
        };
        let entry = &mut self.entries[index];
        match event {
            UploadEvent::Started {
                size,
                already_confirmed,
                key,
                name,
                ..
            } => {
                entry.size = *size;
                entry.confirmed = *already_confirmed;
                entry.key = key.clone();
                entry.name = name.clone();
                entry.state = EntryState::Sending;
                entry.from_earlier = false;
            }
            UploadEvent::Progress {
                confirmed,
                size,
                bytes_per_second,
                eta,
                ..
            } => {
                entry.confirmed = *confirmed;
                entry.size = *size;
                entry.bytes_per_second = *bytes_per_second;
                entry.eta = *eta;
                if entry.state == EntryState::Waiting {
                    entry.state = EntryState::Sending;
                }
            }
            UploadEvent::Note { message, .. } => entry.note = Some(message.clone()),
            UploadEvent::Paused { reason, .. } => {
                entry.state = EntryState::Paused {
                    reason: reason.clone(),
                };
                entry.bytes_per_second = 0.0;
                entry.eta = None;
            }
            UploadEvent::Completed { size, verified, .. } => {
                entry.confirmed = *size;
                entry.state = EntryState::Completed {
                    verified: *verified,
                };
                entry.bytes_per_second = 0.0;
                entry.eta = None;
            }
            UploadEvent::Failed { error, .. } => {
                entry.state = EntryState::Failed {
                    error: error.clone(),
                };
                entry.bytes_per_second = 0.0;
                entry.eta = None;
            }
            UploadEvent::Cancelled { .. } => {
                entry.state = EntryState::Cancelled;
                entry.bytes_per_second = 0.0;
                entry.eta = None;
            }
            UploadEvent::RunningElsewhere { holder, .. } => {
                entry.state = EntryState::RunningElsewhere {
                    holder: holder.clone(),
                };
                entry.bytes_per_second = 0.0;
                entry.eta = None;
            }
        }
    }

    /// Marks an entry as asked to resume (it waits until the engine's Started).
    pub fn resuming(&mut self, id: i64) {
        if let Some(index) = self.position(id) {
            let entry = &mut self.entries[index];
            if entry.state.is_resumable() {
                entry.state = EntryState::Waiting;
                entry.from_earlier = false;
            }
        }
    }

    /// Sum of the rates of the uploads sending now.
    pub fn total_rate(&self) -> f64 {
        self.entries
            .iter()
            .filter(|e| e.state == EntryState::Sending)
            .map(|e| e.bytes_per_second)
            .sum()
    }

    pub fn active(&self) -> usize {
        self.entries.iter().filter(|e| e.state.is_active()).count()
    }

    /// Forgets completed and cancelled entries.
    pub fn clear_finished(&mut self) {
        self.entries.retain(|e| !e.state.is_finished());
    }

    pub fn dismiss_refusals(&mut self) {
        self.refused.clear();
        self.notes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: i64, state: UploadState) -> UploadRecord {
        UploadRecord::sample(id, state, 100)
    }

    #[test]
    fn an_upload_goes_from_waiting_to_completed_with_progress() {
        let mut queue = UploadQueue::default();
        queue.queued(&[record(1, UploadState::Active)], vec![], vec![]);
        assert_eq!(queue.entries[0].state, EntryState::Waiting);
        queue.apply(&UploadEvent::Progress {
            id: 1,
            confirmed: 40,
            size: 100,
            bytes_per_second: 10.0,
            eta: Some(Duration::from_secs(6)),
        });
        assert_eq!(queue.entries[0].state, EntryState::Sending);
        assert!((queue.entries[0].fraction() - 0.4).abs() < 1e-6);
        assert_eq!(queue.total_rate(), 10.0);
        queue.apply(&UploadEvent::Completed {
            id: 1,
            bucket: "src".into(),
            key: "k".into(),
            size: 100,
            verified: true,
            seconds: 1.0,
        });
        assert_eq!(
            queue.entries[0].state,
            EntryState::Completed { verified: true }
        );
        assert_eq!(queue.total_rate(), 0.0);
        queue.clear_finished();
        assert!(queue.entries.is_empty());
    }

    #[test]
    fn unfinished_uploads_from_earlier_are_offered_as_paused() {
        let mut queue = UploadQueue::default();
        queue.offer_unfinished(&[
            (record(7, UploadState::Active), 40),
            (record(8, UploadState::Failed), 0),
        ]);
        assert!((queue.entries[0].fraction() - 0.4).abs() < 1e-6);
        assert!(queue.entries.iter().all(|e| e.from_earlier));
        assert!(queue.entries.iter().all(|e| e.state.is_resumable()));
        queue.resuming(7);
        assert_eq!(queue.entries[0].state, EntryState::Waiting);
        // Offered twice (a reconnect): not duplicated.
        queue.offer_unfinished(&[(record(8, UploadState::Failed), 0)]);
        assert_eq!(queue.entries.len(), 2);
    }

    #[test]
    fn refusals_are_kept_until_dismissed() {
        let mut queue = UploadQueue::default();
        queue.queued(
            &[],
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
