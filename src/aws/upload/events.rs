//! Typed progress and state events of uploads, sent on a channel to the CLI's bars or the GUI.

use std::time::Duration;

use serde::Serialize;

/// One thing that happened to one upload (`id` is the journal id).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum UploadEvent {
    /// Sending begins (or resumes, with `already_confirmed` bytes the server already has).
    Started {
        id: i64,
        name: String,
        bucket: String,
        key: String,
        size: u64,
        parts: u32,
        already_confirmed: u64,
    },
    /// Bytes the server has confirmed so far, with a smoothed rate and the time left at that rate.
    Progress {
        id: i64,
        confirmed: u64,
        size: u64,
        bytes_per_second: f64,
        #[serde(serialize_with = "seconds")]
        eta: Option<Duration>,
    },
    /// Something the user should know that does not stop the upload (a retry, a restart).
    Note {
        id: i64,
        message: String,
    },
    /// Stopped on purpose or for a reason the user can fix; resumable.
    Paused {
        id: i64,
        reason: String,
    },
    Completed {
        id: i64,
        bucket: String,
        key: String,
        size: u64,
        verified: bool,
        seconds: f64,
    },
    Failed {
        id: i64,
        error: String,
    },
    Cancelled {
        id: i64,
    },
    /// Another vodesk process (or session) is sending this upload; this one left it alone.
    RunningElsewhere {
        id: i64,
        holder: String,
    },
}

impl UploadEvent {
    pub fn id(&self) -> i64 {
        match self {
            Self::Started { id, .. }
            | Self::Progress { id, .. }
            | Self::Note { id, .. }
            | Self::Paused { id, .. }
            | Self::Completed { id, .. }
            | Self::Failed { id, .. }
            | Self::RunningElsewhere { id, .. }
            | Self::Cancelled { id } => *id,
        }
    }
}

fn seconds<S: serde::Serializer>(eta: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match eta {
        Some(d) => s.serialize_some(&d.as_secs_f64().round()),
        None => s.serialize_none(),
    }
}
