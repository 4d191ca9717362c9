//! What the app asks of the desktop and cannot do in a test: the native file dialog, and opening a URL
//! in a media player. Behind the [`Desktop`] trait so tests stand in for it; [`NativeDesktop`] is the
//! real one. Neither blocks the UI thread: the dialog runs on its own thread and hands the chosen
//! files back through a channel (with a repaint), and a player is started, not waited for.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

use crate::aws::upload::naming::VIDEO_SUFFIXES_V53;

/// Wakes the UI after a background answer.
pub type Repaint = Arc<dyn Fn() + Send + Sync>;

pub trait Desktop {
    /// Opens the "Add videos" dialog; the picked files arrive later through [`Desktop::picked`].
    fn pick_videos(&mut self);
    /// Files picked since the last call (empty when the dialog was cancelled or is still open).
    fn picked(&mut self) -> Vec<PathBuf>;
    /// Opens `url` in a media player (mpv, VLC, ffplay… whichever is installed), else the system's
    /// handler. Returns what was used, or why nothing could be.
    fn open_in_player(&mut self, url: &str) -> Result<String, String>;
    /// Shows a desktop notification; failures (no notification service) are silent.
    fn notify(&mut self, title: &str, body: &str);
}

/// The real desktop: rfd's dialog on a thread, players started as child processes.
pub struct NativeDesktop {
    repaint: Repaint,
    sender: mpsc::Sender<Vec<PathBuf>>,
    receiver: mpsc::Receiver<Vec<PathBuf>>,
    dialog_open: bool,
}

impl NativeDesktop {
    pub fn new(repaint: Repaint) -> Self {
        let (sender, receiver) = mpsc::channel();
        Self {
            repaint,
            sender,
            receiver,
            dialog_open: false,
        }
    }
}

/// The players tried in order: each takes a URL as its only argument.
const PLAYERS: [&str; 5] = ["mpv", "vlc", "celluloid", "totem", "ffplay"];

impl Desktop for NativeDesktop {
    fn pick_videos(&mut self) {
        if self.dialog_open {
            return;
        }
        self.dialog_open = true;
        let sender = self.sender.clone();
        let repaint = self.repaint.clone();
        let spawned = std::thread::Builder::new()
            .name("vodesk-file-dialog".into())
            .spawn(move || {
                let extensions: Vec<String> = VIDEO_SUFFIXES_V53
                    .iter()
                    .flat_map(|e| [e.to_string(), e.to_uppercase()])
                    .collect();
                let picked = rfd::FileDialog::new()
                    .set_title("Add videos to upload")
                    .add_filter("Videos", &extensions)
                    .add_filter("All files", &["*"])
                    .pick_files()
                    .unwrap_or_default();
                let _ = sender.send(picked);
                repaint();
            });
        if spawned.is_err() {
            self.dialog_open = false;
        }
    }

    fn picked(&mut self) -> Vec<PathBuf> {
        let mut all = Vec::new();
        while let Ok(paths) = self.receiver.try_recv() {
            self.dialog_open = false;
            all.extend(paths);
        }
        all
    }

    fn notify(&mut self, title: &str, body: &str) {
        let (title, body) = (title.to_owned(), body.to_owned());
        // D-Bus round trips: off the UI thread.
        let _ = std::thread::Builder::new()
            .name("vodesk-notify".into())
            .spawn(move || {
                let _ = notify_rust::Notification::new()
                    .appname("vodesk")
                    .summary(&title)
                    .body(&body)
                    .icon("vodesk")
                    .show();
            });
    }

    fn open_in_player(&mut self, url: &str) -> Result<String, String> {
        for player in PLAYERS {
            let started = std::process::Command::new(player)
                .arg(url)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            if started.is_ok() {
                return Ok(player.to_owned());
            }
        }
        std::process::Command::new("xdg-open")
            .arg(url)
            .spawn()
            .map(|_| "the system's handler (xdg-open)".to_owned())
            .map_err(|e| {
                format!(
                    "no media player found (tried {}) and xdg-open failed: {e}; install mpv or VLC",
                    PLAYERS.join(", ")
                )
            })
    }
}
