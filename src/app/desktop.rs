//! What the app asks of the desktop and cannot do in a test: the native file dialog, and opening a URL
//! in a media player. Behind the [`Desktop`] trait so tests stand in for it; [`NativeDesktop`] is the
//! real one. Neither blocks the UI thread: the dialog runs on its own thread and hands the chosen
//! files back through a channel (with a repaint), and a player is started, not waited for. A player
//! gets only a URL that [`SafeUrl`] accepts, checked again here, and always after `--`, so no value
//! from a record can reach it as an option.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

use crate::contract::safe_url::SafeUrl;
use crate::contract::triggers::VIDEO_SUFFIXES_V53;

/// Wakes the UI after a background answer.
pub type Repaint = Arc<dyn Fn() + Send + Sync>;

pub trait Desktop {
    /// Opens the "Add videos" dialog; the picked files arrive later through [`Desktop::picked`].
    fn pick_videos(&mut self);
    /// Files picked since the last call (empty when the dialog was cancelled or is still open).
    fn picked(&mut self) -> Vec<PathBuf>;
    /// Opens `url` in a media player (mpv, VLC, ffplay… whichever is installed), else the system's
    /// handler. Returns what was used, or why nothing could be. The app passes only URLs that
    /// [`SafeUrl`] accepted; an implementation that starts programs checks again.
    fn open_in_player(&mut self, url: &str) -> Result<String, String>;
    /// Shows a desktop notification; failures (no notification service) are silent.
    fn notify(&mut self, title: &str, body: &str);
    /// Opens a folder of vodesk's own (the logs) in the file manager, or says why it could not.
    fn open_folder(&mut self, folder: &std::path::Path) -> Result<(), String>;
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

/// The players tried in order: each takes a URL as its only argument, and `--` before it to end its
/// options.
const PLAYERS: [&str; 5] = ["mpv", "vlc", "celluloid", "totem", "ffplay"];

/// `player -- URL`, with no input and its output discarded.
fn player_command(player: &str, url: &SafeUrl) -> std::process::Command {
    let mut command = std::process::Command::new(player);
    command
        .arg("--")
        .arg(url.as_str())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

/// `xdg-open URL`: it takes no `--`, and a [`SafeUrl`] never starts with `-`.
fn system_handler_command(url: &SafeUrl) -> std::process::Command {
    let mut command = std::process::Command::new("xdg-open");
    command.arg(url.as_str());
    command
}

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
                if sender.send(picked).is_err() {
                    // The window closed while the dialog was open: nobody is left to add the files.
                }
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
        let spawned = std::thread::Builder::new()
            .name("vodesk-notify".into())
            .spawn(move || {
                let shown = notify_rust::Notification::new()
                    .appname("vodesk")
                    .summary(&title)
                    .body(&body)
                    .icon("vodesk")
                    .show();
                // A desktop without a notification service is common; the window shows the same news.
                if let Err(err) = shown {
                    tracing::debug!("desktop notification not shown: {err}");
                }
            });
        if let Err(err) = spawned {
            tracing::debug!("desktop notification skipped: its thread did not start: {err}");
        }
    }

    fn open_folder(&mut self, folder: &std::path::Path) -> Result<(), String> {
        // A path vodesk made itself (never from a record), so no check beyond being a folder.
        if !folder.is_dir() {
            return Err(format!("{} does not exist yet", folder.display()));
        }
        std::process::Command::new("xdg-open")
            .arg(folder)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|err| {
                format!(
                    "the file manager could not be started (xdg-open: {err}); the logs are in {}",
                    folder.display()
                )
            })
    }

    fn open_in_player(&mut self, url: &str) -> Result<String, String> {
        // The app checked it already; this is where a URL becomes a program's argument, so again.
        let url = SafeUrl::parse(url)
            .map_err(|reason| format!("vodesk refused to open this link: {reason}"))?;
        for player in PLAYERS {
            if player_command(player, &url).spawn().is_ok() {
                return Ok(player.to_owned());
            }
        }
        system_handler_command(&url)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn players_get_the_url_after_the_end_of_their_options() {
        let url = SafeUrl::parse("https://d1.cloudfront.net/g/hls/a%20b.m3u8").unwrap();
        for player in PLAYERS {
            let command = player_command(player, &url);
            let args: Vec<_> = command.get_args().collect();
            assert_eq!(args, ["--", url.as_str()], "{player}");
        }
        let handler = system_handler_command(&url);
        let args: Vec<_> = handler.get_args().collect();
        assert_eq!(args, [url.as_str()]);
    }

    #[test]
    fn the_native_desktop_refuses_what_the_app_should_have() {
        let mut desktop = NativeDesktop::new(Arc::new(|| {}));
        for hostile in [
            "--input-ipc-server=/tmp/x",
            "file:///etc/passwd",
            "http://169.254.169.254/latest/meta-data/",
        ] {
            let err = desktop.open_in_player(hostile).unwrap_err();
            assert!(
                err.starts_with("vodesk refused to open this link: "),
                "{hostile}: {err}"
            );
        }
    }
}
