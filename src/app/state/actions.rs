//! What [`super::AppState::apply`] takes: what the user did ([`UiAction`], with the details panel's
//! [`DetailsAction`]) or what the engine reported, as one [`Input`].

use std::path::PathBuf;

use crate::app::dashboard::SortColumn;
use crate::app::engine::{ConnectRequest, Event};
use crate::aws::connection::ConnectionSettings;
use crate::jobs::{JobIndex, JobStatus};

use super::{OperationAction, OperationKind, UploadOptionsAction};

/// What the user asked of the details panel (the view only draws).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetailsAction {
    /// Copied to the clipboard (done by the view; reported for the status line).
    Copied(String),
    Open(String),
    OpenInPlayer(String),
    /// "Check playback" for the job with this guid.
    CheckPlayback(String),
    /// "Run again…" or "Delete…" of the job with this guid.
    Operation(OperationKind, String),
    Close,
}

/// What the user did, for [`AppState::apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum UiAction {
    Connect(ConnectRequest),
    /// "Check my setup" (after a failed connection): the doctor's checklist for this request.
    CheckSetup(ConnectRequest),
    FindStacks(ConnectionSettings),
    StartLocalStack,
    SetNotifications(bool),
    SortBy(SortColumn),
    FilterText(String),
    FilterStatus(Option<JobStatus>),
    Select(Option<JobIndex>),
    /// Files and folders dropped on the window or picked in the file dialog.
    AddFiles(Vec<PathBuf>),
    /// A change of the connected MetadataFile stack's upload options.
    UploadOptions(UploadOptionsAction),
    PauseUpload(i64),
    ResumeUpload(i64),
    CancelUpload(i64),
    /// Resume every upload an earlier run left unfinished.
    ResumeEarlier,
    /// Discard (cancel) every upload an earlier run left unfinished.
    DiscardEarlier,
    ClearFinishedUploads,
    DismissRefusals,
    /// Forgets the notices shown so far.
    ClearNotices,
    /// ⚙ → Open log folder.
    OpenLogFolder,
    /// The table's end is in view (or Retry was clicked): read older jobs if allowed.
    LoadOlderJobs,
    /// A thumbnail the window wants drawn (fetched once; the window keeps the texture).
    FetchThumbnail {
        url: String,
        max_edge: u32,
    },
    /// A button of the details panel.
    Details(DetailsAction),
    /// A button of the run-again or delete confirmation.
    Operation(OperationAction),
}

/// Anything [`AppState::apply`] takes.
#[derive(Debug, Clone)]
pub enum Input {
    Engine(Event),
    User(UiAction),
}

impl From<Event> for Input {
    fn from(event: Event) -> Self {
        Self::Engine(event)
    }
}

impl From<UiAction> for Input {
    fn from(action: UiAction) -> Self {
        Self::User(action)
    }
}
