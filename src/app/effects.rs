//! What applying an input asks the window to do besides changing the state, and the one place that
//! does it. [`AppState::apply`] returns [`Effect`]s; the frame loop (and the window's tests, with a
//! stand-in desktop) hands them to [`run`]: commands go back to the caller for the engine, links
//! that passed [`SafeUrl`] open in the browser or a player, thumbnails become textures, desktop
//! notifications are shown and the window closes when a signal asked.

use std::collections::VecDeque;
use std::sync::Arc;

use eframe::egui;

use super::desktop::Desktop;
use super::engine::{Command, Event};
use super::state::AppState;
use super::thumbnails::{ThumbSize, ThumbnailBook};
use crate::aws::thumbnails::Thumbnail;
use crate::contract::safe_url::SafeUrl;

/// One thing for the window to do.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Work for the engine.
    Engine(Command),
    /// A desktop notification (a job became Complete or Error).
    Notify { title: String, body: String },
    /// A thumbnail arrived (or why not): its texture is made with the window.
    Thumbnail {
        url: String,
        max_edge: u32,
        result: Result<Arc<Thumbnail>, String>,
    },
    /// Open a checked link in the browser.
    OpenUrl(SafeUrl),
    /// Hand a checked link to a media player (after `--`).
    OpenInPlayer(SafeUrl),
    /// Show one of vodesk's own folders (the logs) in the file manager.
    OpenFolder(std::path::PathBuf),
    /// A signal asked to quit: the window closes, which drops the engine, which removes the queue.
    CloseWindow,
}

impl Effect {
    /// The engine's command, when this is one.
    pub fn into_command(self) -> Option<Command> {
        match self {
            Self::Engine(command) => Some(command),
            _ => None,
        }
    }
}

/// What the effects act on: the window's context, the desktop and the thumbnails' textures.
pub struct Window<'a> {
    pub ctx: &'a egui::Context,
    pub desktop: &'a mut dyn Desktop,
    pub thumbs: &'a mut ThumbnailBook,
}

/// Runs `effects` (and those their outcomes lead to, such as the notice that a player opened) and
/// returns the commands for the engine, in order.
pub fn run(state: &mut AppState, window: &mut Window<'_>, effects: Vec<Effect>) -> Vec<Command> {
    let mut queue = VecDeque::from(effects);
    let mut commands = Vec::new();
    while let Some(effect) = queue.pop_front() {
        match effect {
            Effect::Engine(command) => commands.push(command),
            Effect::Notify { title, body } => window.desktop.notify(&title, &body),
            Effect::Thumbnail {
                url,
                max_edge,
                result,
            } => {
                let size = if max_edge == ThumbSize::Row.max_edge() {
                    ThumbSize::Row
                } else {
                    ThumbSize::Large
                };
                let result = result.map(Arc::unwrap_or_clone);
                window.thumbs.finish(window.ctx, &url, size, result);
            }
            Effect::OpenUrl(url) => {
                window.ctx.open_url(egui::OpenUrl::new_tab(url.as_str()));
            }
            Effect::OpenInPlayer(url) => {
                let message = match window.desktop.open_in_player(url.as_str()) {
                    Ok(player) => format!("Opened the HLS stream with {player}."),
                    Err(reason) => format!("Could not open a player: {reason}"),
                };
                queue.extend(state.apply(Event::Notice { message }));
            }
            Effect::OpenFolder(folder) => {
                if let Err(reason) = window.desktop.open_folder(&folder) {
                    let message = format!("Could not open the folder: {reason}");
                    queue.extend(state.apply(Event::Notice { message }));
                }
            }
            Effect::CloseWindow => window.ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
    }
    commands
}
