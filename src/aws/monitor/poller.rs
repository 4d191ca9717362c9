//! Reading the table instead of (or besides) the queue: polling mode, the EnableSns=No stacks whose
//! Ingest and Complete are never published, and the quiet poll that catches a message SNS failed to
//! deliver. Each round reports what neither path reported before.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::{JobUpdate, Mode, Monitor, MonitorEvent, Via};
use crate::contract::{Decoded, Kind};
use crate::time::format_iso8601;

impl Monitor {
    /// Reads the table every `interval` and reports every (guid, status) not reported before, by either
    /// path, and an Ingest item that gained its encode job id (Encoding, which no message announces). The first round
    /// reports only workflows that started after the monitor did and merely learns the state of
    /// the others, so starting does not replay history; `ready` is announced after that round,
    /// because only from then on is every change reported.
    pub(super) async fn poll_until_cancelled(
        &self,
        started: SystemTime,
        mut ready: Option<Mode>,
        interval: Duration,
    ) {
        // What this poller has read, apart from what was reported: learning a state in the first
        // round must not stop the queue from reporting its message.
        // Per guid: its kind, and whether an Ingest already has its encode job id.
        let mut known: HashMap<String, (Kind, bool)> = HashMap::new();
        let started_iso = format_iso8601(started);
        let since = format_iso8601(
            started
                .checked_sub(self.config.poll_lookback)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        );
        let mut first = true;
        let mut failing = false;
        loop {
            match self.catalogue.started_since(&since).await {
                Ok(page) => {
                    failing = false;
                    // Oldest first, so a reader sees workflows in the order they started.
                    for record in page.records.into_iter().rev() {
                        let kind = Kind::from(record.status);
                        let encoding = kind == Kind::Ingest && record.encode_job_id.is_some();
                        let before = known.insert(record.guid.clone(), (kind, encoding));
                        if before == Some((kind, encoding)) {
                            continue;
                        }
                        // The solution publishes no message when encoding starts, so the queue
                        // cannot have reported it: no need to ask `first_time`.
                        let started_encoding = encoding && before == Some((kind, false));
                        let history = first
                            && record
                                .start_time
                                .as_deref()
                                .is_none_or(|t| t < started_iso.as_str());
                        if history || (!started_encoding && !self.first_time(&record.guid, kind)) {
                            continue;
                        }
                        let update = JobUpdate {
                            decoded: Decoded {
                                source: crate::contract::Source::DynamodbItem,
                                kind,
                                record: Some(record),
                                warnings: Vec::new(),
                                envelope: None,
                            },
                            received_at: SystemTime::now(),
                            via: Via::Polling,
                            item: None,
                        };
                        if !self.emit(MonitorEvent::Update(Box::new(update))) {
                            return;
                        }
                    }
                    first = false;
                }
                Err(err) => {
                    // Said once per outage, not every few seconds.
                    if !failing {
                        self.emit(MonitorEvent::Warning {
                            message: format!("polling the table failed: {err}"),
                        });
                    }
                    failing = true;
                }
            }
            if let Some(mode) = ready.take() {
                self.emit(MonitorEvent::Ready(mode));
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = self.read_table_now.notified() => {}
                () = self.cancel.cancelled() => return,
            }
        }
    }
}
