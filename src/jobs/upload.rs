//! This machine's upload of a job: what the journal keeps about it ([`LocalUpload`], with its
//! [`UploadState`]) and what it is doing right now ([`Transfer`]: bytes confirmed, rate, time left,
//! and the state a person reads). Both belong to the job they upload, so the app's upload panel and its
//! dashboard read one model.

use std::time::Duration;

use serde::Serialize;

/// Where an upload stands in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadState {
    /// Being sent, or was being sent when the process died.
    Active,
    /// Stopped on purpose (pause, Ctrl-C, expired session); resumable.
    Paused,
    /// Stopped by an error that retrying did not cure; resumable once the cause is fixed.
    Failed,
    Completed,
}

impl UploadState {
    pub fn is_unfinished(self) -> bool {
        !matches!(self, Self::Completed)
    }
}

/// What the journal says about a file this machine uploaded, and (in the app) what its transfer is
/// doing now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalUpload {
    pub upload_id: i64,
    pub bucket: String,
    pub key: String,
    pub original_name: String,
    pub state: UploadState,
    /// Seconds since the epoch.
    pub completed_at: Option<i64>,
    /// Metadata-file stacks: the upload also put the `.json` that starts the workflow.
    pub with_metadata_file: bool,
    /// Live progress (the app's; the journal keeps only what the server confirmed).
    #[serde(skip)]
    pub transfer: Transfer,
}

/// Where one transfer stands, as the upload panel shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum TransferState {
    /// Journaled; sending has not begun (waiting for a slot, or reconciling a resume).
    #[default]
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

impl TransferState {
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

/// What one upload is doing now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transfer {
    pub state: TransferState,
    pub size: u64,
    /// Bytes the server has confirmed.
    pub confirmed: u64,
    pub bytes_per_second: f64,
    pub eta: Option<Duration>,
    /// The last note (a retry, a restart), shown under the row.
    pub note: Option<String>,
    /// Left unfinished by an earlier run of vodesk: offered for resume or discard.
    pub from_earlier: bool,
}

impl Transfer {
    /// The transfer as the journal leaves it: `error` is the reason it stopped, if it did.
    pub fn from_journal(state: UploadState, size: u64, error: Option<&str>) -> Self {
        let state = match state {
            UploadState::Active => TransferState::Waiting,
            UploadState::Paused => TransferState::Paused {
                reason: error.unwrap_or("paused").to_owned(),
            },
            UploadState::Failed => TransferState::Failed {
                error: error.unwrap_or("failed").to_owned(),
            },
            UploadState::Completed => TransferState::Completed { verified: true },
        };
        let confirmed = if state.is_finished() { size } else { 0 };
        Self {
            state,
            size,
            confirmed,
            ..Self::default()
        }
    }

    /// Left unfinished by an earlier run, with the bytes the server already has: offered as paused.
    pub fn left_by_earlier_run(mut self, confirmed: u64) -> Self {
        if self.state == TransferState::Waiting {
            self.state = TransferState::Paused {
                reason: "interrupted (vodesk was closed or the machine stopped)".into(),
            };
        }
        self.confirmed = confirmed.min(self.size);
        self.from_earlier = true;
        self
    }

    /// 0.0 ..= 1.0
    pub fn fraction(&self) -> f32 {
        if self.size == 0 {
            return 1.0;
        }
        (self.confirmed as f64 / self.size as f64).clamp(0.0, 1.0) as f32
    }

    /// Not moving any more: no rate, no time left.
    pub fn stopped(&mut self, state: TransferState) {
        self.state = state;
        self.bytes_per_second = 0.0;
        self.eta = None;
    }
}
