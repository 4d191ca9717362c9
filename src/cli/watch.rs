//! `vodesk watch`: the live monitor on the command line. Prints a ready line once subscribed, then
//! one line (or one JSON object with the `decode` keys plus a timestamp) per Ingest, Complete and
//! Error until Ctrl-C or SIGTERM, then unsubscribes and deletes its queue and says so.

use std::time::{Duration, SystemTime};

use clap::Args;
use serde_json::{Value, json};
use tokio::signal::unix::{SignalKind, signal};
use vodesk::aws::monitor::{
    self, EXPIRY_ENV, JobUpdate, Mode, MonitorConfig, MonitorEvent, POLL_INTERVAL_ENV, StopReport,
};
use vodesk::contract::Kind;
use vodesk::contract::terminal::for_terminal;
use vodesk::time::format_iso8601;

use super::ConnectionArgs;

#[derive(Debug, Args)]
pub(super) struct WatchArgs {
    /// One JSON object per line (the `decode` keys plus "event" and "timestamp")
    #[arg(long)]
    json: bool,
    /// Seconds of silence after which another vodesk's queue counts as abandoned and is removed
    /// (default 3600). Hidden: for tests and for cleaning up right after a crash.
    #[arg(long, hide = true, env = EXPIRY_ENV, value_name = "SECONDS")]
    queue_expiry_seconds: Option<u64>,
    /// Seconds between reads of the table in polling mode (default 5). Hidden: for tests.
    #[arg(long, hide = true, env = POLL_INTERVAL_ENV, value_name = "SECONDS")]
    poll_interval_seconds: Option<u64>,
}

pub(super) async fn run_watch(connection: &ConnectionArgs, args: &WatchArgs) -> anyhow::Result<()> {
    let (clients, resources) = connection.discover().await?;
    let mut config = match args.queue_expiry_seconds {
        Some(seconds) => MonitorConfig::with_expiry(Duration::from_secs(seconds)),
        None => MonitorConfig::default(),
    };
    if let Some(seconds) = args.poll_interval_seconds {
        config.poll_interval = Duration::from_secs(seconds.max(1));
    }
    // Both handlers are installed before the queue exists, so no signal can end the process
    // between its creation and the clean-up below.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut handle = monitor::start(clients, &resources, config);
    let out = Printer { json: args.json };
    let stack = resources.stack_name.as_deref().unwrap_or(&resources.table);
    loop {
        tokio::select! {
            event = handle.events.recv() => match event {
                Some(event) => out.event(&event, stack, &resources.topic_arn),
                None => break,
            },
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
        }
    }
    if !args.json {
        eprintln!("Stopping…");
    }
    let report = handle.shutdown().await;
    while let Ok(event) = handle.events.try_recv() {
        out.event(&event, stack, &resources.topic_arn);
    }
    out.stopped(&report);
    if report.is_clean() {
        Ok(())
    } else {
        let problems = report
            .teardown
            .map(|t| t.problems.join("; "))
            .unwrap_or_default();
        Err(anyhow::anyhow!(
            "vodesk's queue was not fully removed: {}",
            for_terminal(&problems)
        ))
    }
}

struct Printer {
    json: bool,
}

fn now() -> String {
    format_iso8601(SystemTime::now())
}

impl Printer {
    fn line(&self, value: Value) {
        println!("{value}");
    }

    fn event(&self, event: &MonitorEvent, stack: &str, topic_arn: &str) {
        match event {
            MonitorEvent::StaleQueueRemoved(stale) => {
                if self.json {
                    self.line(json!({
                        "event": "stale-queue-removed",
                        "timestamp": now(),
                        "queue_url": stale.url,
                        "silent_seconds": stale.silent_for,
                        "subscriptions_removed": stale.subscriptions_removed,
                    }));
                } else {
                    println!(
                        "Removed an abandoned vodesk queue ({}, silent for {}) and {} subscription(s).",
                        for_terminal(&stale.url),
                        vodesk::time::human_duration(Duration::from_secs(stale.silent_for)),
                        stale.subscriptions_removed
                    );
                }
            }
            MonitorEvent::Ready(mode) => self.ready(mode, stack, topic_arn),
            MonitorEvent::SwitchedToPolling { reason } => {
                if self.json {
                    self.line(json!({"event": "polling", "timestamp": now(), "reason": reason}));
                } else {
                    println!(
                        "Polling mode: {}; reading the table every few seconds.",
                        for_terminal(reason)
                    );
                }
            }
            MonitorEvent::Warning { message } => {
                if self.json {
                    self.line(json!({"event": "warning", "timestamp": now(), "message": message}));
                } else {
                    eprintln!("vodesk: warning: {}", for_terminal(message));
                }
            }
            MonitorEvent::Update(update) => self.update(update),
        }
    }

    fn ready(&self, mode: &Mode, stack: &str, topic_arn: &str) {
        if self.json {
            let mut value = json!({"event": "ready", "timestamp": now(), "stack": stack, "topic_arn": topic_arn});
            if let (Some(obj), Ok(Value::Object(mode))) =
                (value.as_object_mut(), serde_json::to_value(mode))
            {
                obj.extend(mode);
            }
            self.line(value);
            return;
        }
        // The stack name, queue name and reason are printed as text: escape what a terminal would obey.
        let stack = for_terminal(stack);
        match mode {
            Mode::Queue {
                queue_name,
                also_polling,
                ..
            } => {
                println!(
                    "Watching {stack} through queue {}{}. Press Ctrl-C to stop.",
                    for_terminal(queue_name),
                    if *also_polling {
                        " and by reading the table (EnableSns=No: only errors are published)"
                    } else {
                        ""
                    }
                );
            }
            Mode::Polling { reason } => {
                println!(
                    "Watching {stack} in polling mode: {}; reading the table every few seconds. Press Ctrl-C to stop.",
                    for_terminal(reason)
                );
            }
        }
    }

    fn update(&self, update: &JobUpdate) {
        let timestamp = format_iso8601(update.received_at);
        let normalized = update.decoded.normalized();
        if self.json {
            let mut value = serde_json::to_value(&normalized).unwrap_or(Value::Null);
            if let Some(obj) = value.as_object_mut() {
                obj.insert("event".into(), json!("job"));
                obj.insert("timestamp".into(), json!(timestamp));
                obj.insert("via".into(), json!(update.via));
                obj.insert("file".into(), json!(update.src_video()));
            }
            self.line(value);
            return;
        }
        let guid = normalized.guid.as_deref().unwrap_or("?");
        let file = update.src_video().unwrap_or("(file unknown)");
        let detail = match update.decoded.kind {
            Kind::Complete => {
                let links = [
                    normalized.hls_url.as_deref(),
                    normalized.dash_url.as_deref(),
                    normalized.cmaf_hls_url.as_deref(),
                    normalized.cmaf_dash_url.as_deref(),
                    normalized.mss_url.as_deref(),
                ]
                .into_iter()
                .flatten()
                .chain(normalized.mp4_urls.iter().map(String::as_str))
                .collect::<Vec<_>>();
                match links.split_first() {
                    Some((first, [])) => format!("  {first}"),
                    Some((first, rest)) => {
                        format!("  {first} (+{} more; vodesk show {guid})", rest.len())
                    }
                    None => String::new(),
                }
            }
            Kind::Error => normalized
                .error_message
                .as_deref()
                .and_then(|m| m.lines().find(|l| !l.trim().is_empty()))
                .map(|m| format!("  {}", m.trim()))
                .unwrap_or_default(),
            _ => String::new(),
        };
        // Every value here came from the topic or the table: escape what a terminal would obey.
        println!(
            "{}  {:<8}  {}  {}{}",
            timestamp.get(11..19).unwrap_or(&timestamp),
            normalized.kind.as_str().to_uppercase(),
            for_terminal(guid),
            for_terminal(file),
            for_terminal(&detail)
        );
    }

    fn stopped(&self, report: &StopReport) {
        let teardown = report.teardown.clone().unwrap_or_default();
        if self.json {
            self.line(json!({
                "event": "stopped",
                "timestamp": now(),
                "queue_name": report.queue_name,
                "unsubscribed": teardown.unsubscribed,
                "deleted": teardown.deleted,
                "clean": report.is_clean(),
                "problems": teardown.problems,
            }));
            return;
        }
        match &report.queue_name {
            Some(name) if report.is_clean() => {
                println!(
                    "Stopped: unsubscribed and deleted queue {}.",
                    for_terminal(name)
                );
            }
            Some(name) => println!(
                "Stopped, but queue {} was not fully removed.",
                for_terminal(name)
            ),
            None => println!("Stopped (polling mode: no queue to remove)."),
        }
    }
}
