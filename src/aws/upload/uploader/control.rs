//! Pausing and cancelling a run from outside: the [`UploadControl`] a caller keeps, and which stop it
//! asked for (cancel wins over pause).

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// Why a run was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    Pause,
    Cancel,
}

/// Lets the caller pause or cancel a running upload.
#[derive(Debug, Clone, Default)]
pub struct UploadControl {
    pub(super) token: CancellationToken,
    stop: Arc<Mutex<Option<Stop>>>,
}

impl UploadControl {
    /// Stops sending; the journal keeps what was confirmed, so the upload resumes later.
    pub fn pause(&self) {
        self.request(Stop::Pause);
    }

    /// Stops sending, aborts the multipart upload on the server and forgets the upload.
    pub fn cancel(&self) {
        self.request(Stop::Cancel);
    }

    fn request(&self, stop: Stop) {
        let mut current = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        // Cancel wins over pause: a paused upload can still be cancelled, not the reverse.
        if *current != Some(Stop::Cancel) {
            *current = Some(stop);
        }
        self.token.cancel();
    }

    pub(super) fn requested(&self) -> Option<Stop> {
        *self.stop.lock().unwrap_or_else(|p| p.into_inner())
    }
}
