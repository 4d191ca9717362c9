//! How uploads in progress are shown: one progress bar per file (and a total) on a terminal, or one
//! JSON object per event on stdout.

use std::collections::HashMap;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use vodesk::aws::upload::events::UploadEvent;
use vodesk::units::{human_bytes, human_rate};

/// Progress bars on a terminal, or JSON lines.
pub(super) struct Display {
    json: bool,
    multi: MultiProgress,
    bars: HashMap<i64, ProgressBar>,
    total: Option<ProgressBar>,
    sizes: HashMap<i64, (u64, u64)>,
}

impl Display {
    pub(super) fn new(json: bool, files: usize) -> Self {
        let multi = MultiProgress::with_draw_target(if json {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        });
        let total = (!json && files > 1).then(|| {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(style("{prefix:>12.bold} [{bar:30.green/white}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"));
            bar.set_prefix("total");
            bar
        });
        Self {
            json,
            multi,
            bars: HashMap::new(),
            total,
            sizes: HashMap::new(),
        }
    }

    pub(super) fn message(&self, text: &str) {
        if self.json {
            println!(
                "{}",
                serde_json::json!({"event": "message", "message": text})
            );
        } else {
            print_above(&self.multi, text);
        }
    }

    pub(super) fn show(&mut self, event: &UploadEvent) {
        if self.json {
            if let Ok(line) = serde_json::to_string(event) {
                println!("{line}");
            }
            return;
        }
        let id = event.id();
        match event {
            UploadEvent::Started {
                name,
                size,
                already_confirmed,
                bucket,
                key,
                ..
            } => {
                let bar = self.bars.entry(id).or_insert_with(|| {
                    let bar = self.multi.insert_from_back(usize::from(self.total.is_some()), ProgressBar::new(*size));
                    bar.set_style(style("{prefix:>12} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}"));
                    bar
                });
                bar.set_prefix(truncate(name, 12));
                bar.set_length(*size);
                bar.set_position(*already_confirmed);
                bar.reset_eta();
                if *already_confirmed > 0 {
                    print_above(
                        &self.multi,
                        format!(
                            "{name}: resuming, {} of {} already on the server",
                            human_bytes(*already_confirmed),
                            human_bytes(*size)
                        ),
                    );
                }
                bar.set_message(format!("→ s3://{bucket}/{key}"));
                self.sizes.insert(id, (*size, *already_confirmed));
                self.update_total();
            }
            UploadEvent::Progress { confirmed, .. } => {
                if let Some(bar) = self.bars.get(&id) {
                    bar.set_position(*confirmed);
                }
                if let Some(entry) = self.sizes.get_mut(&id) {
                    entry.1 = *confirmed;
                }
                self.update_total();
            }
            UploadEvent::Note { message, .. } => {
                print_above(&self.multi, format!("{}: {message}", self.name(id)));
            }
            UploadEvent::Paused { reason, .. } => {
                if let Some(bar) = self.bars.get(&id) {
                    bar.abandon_with_message(format!("paused: {reason}"));
                }
            }
            UploadEvent::Completed {
                bucket,
                key,
                size,
                verified,
                seconds,
                ..
            } => {
                if let Some(bar) = self.bars.get(&id) {
                    bar.set_position(*size);
                    let check = if *verified {
                        "checksum verified"
                    } else {
                        "not verified, see above"
                    };
                    bar.finish_with_message(format!(
                        "done in {:.1} s ({}, {check}) → s3://{bucket}/{key}",
                        seconds,
                        human_rate(*size as f64 / seconds.max(0.001))
                    ));
                } else {
                    print_above(&self.multi, format!("uploaded s3://{bucket}/{key}"));
                }
            }
            UploadEvent::Failed { error, .. } => {
                if let Some(bar) = self.bars.get(&id) {
                    bar.abandon_with_message("failed");
                }
                print_above(&self.multi, format!("{}: failed: {error}", self.name(id)));
            }
            UploadEvent::Cancelled { .. } => {
                if let Some(bar) = self.bars.get(&id) {
                    bar.abandon_with_message("cancelled");
                }
            }
            UploadEvent::RunningElsewhere { holder, .. } => {
                print_above(
                    &self.multi,
                    format!("{}: left alone: {holder} is sending it", self.name(id)),
                );
            }
        }
    }

    fn name(&self, id: i64) -> String {
        self.bars
            .get(&id)
            .map_or_else(|| format!("upload {id}"), |b| b.prefix().trim().to_owned())
    }

    fn update_total(&self) {
        if let Some(total) = &self.total {
            let (size, done) = self
                .sizes
                .values()
                .fold((0, 0), |(s, d), (size, done)| (s + size, d + done));
            total.set_length(size);
            total.set_position(done);
        }
    }

    pub(super) fn finish(&self) {
        if let Some(total) = &self.total {
            total.finish();
        }
    }
}

/// Prints a line above the bars. It fails only when stderr is closed (the terminal went away): then there
/// is nowhere left to say it, and the upload goes on regardless.
fn print_above(multi: &MultiProgress, text: impl AsRef<str>) {
    if let Err(err) = multi.println(text) {
        tracing::debug!("progress line not printed: {err}");
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let head: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{head}…")
    }
}
