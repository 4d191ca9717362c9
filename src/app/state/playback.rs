//! The "Check playback" results of the connected deployment: per job (by guid), whether a check
//! runs, its last report, or why it could not run. Asking while a check of that job runs asks
//! nothing more; a new check replaces the last report when it arrives.

use std::collections::HashMap;

use crate::app::engine::Command;
use crate::playback::PlaybackReport;

/// One job's check.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaybackCheck {
    /// Asked; `last` is the report before it, still shown greyed while the new one runs.
    Running {
        last: Option<Box<PlaybackReport>>,
    },
    Done(Box<PlaybackReport>),
    /// The check could not run (the item could not be read, no HTTP client).
    Failed(String),
}

/// Every job's check, by guid.
#[derive(Debug, Clone, Default)]
pub struct PlaybackBook {
    checks: HashMap<String, PlaybackCheck>,
}

impl PlaybackBook {
    pub fn get(&self, guid: &str) -> Option<&PlaybackCheck> {
        self.checks.get(guid)
    }

    /// Asks for a check of `guid`, unless one runs.
    pub(crate) fn start(&mut self, guid: String) -> Vec<Command> {
        let last = match self.checks.remove(&guid) {
            Some(PlaybackCheck::Running { last }) => {
                self.checks.insert(guid, PlaybackCheck::Running { last });
                return Vec::new();
            }
            Some(PlaybackCheck::Done(report)) => Some(report),
            Some(PlaybackCheck::Failed(_)) | None => None,
        };
        self.checks
            .insert(guid.clone(), PlaybackCheck::Running { last });
        vec![Command::CheckPlayback(guid)]
    }

    pub(crate) fn finish(&mut self, guid: String, report: Result<Box<PlaybackReport>, String>) {
        let check = match report {
            Ok(report) => PlaybackCheck::Done(report),
            Err(message) => PlaybackCheck::Failed(message),
        };
        self.checks.insert(guid, check);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::Verdict;

    fn report() -> Box<PlaybackReport> {
        Box::new(PlaybackReport {
            guid: "g".into(),
            source_duration_seconds: None,
            sections: Vec::new(),
            verdict: Verdict {
                plays: true,
                line: "plays".into(),
            },
            elapsed_ms: 1,
            requests: 1,
        })
    }

    #[test]
    fn one_check_at_a_time_and_the_last_report_stays_while_rechecking() {
        let mut book = PlaybackBook::default();
        assert!(matches!(
            book.start("g".into()).as_slice(),
            [Command::CheckPlayback(g)] if g == "g"
        ));
        assert!(book.start("g".into()).is_empty());
        book.finish("g".into(), Ok(report()));
        assert_eq!(book.get("g"), Some(&PlaybackCheck::Done(report())));
        assert_eq!(book.start("g".into()).len(), 1);
        assert_eq!(
            book.get("g"),
            Some(&PlaybackCheck::Running {
                last: Some(report())
            })
        );
        book.finish("g".into(), Err("no table".into()));
        assert_eq!(
            book.get("g"),
            Some(&PlaybackCheck::Failed("no table".into()))
        );
        assert_eq!(book.get("other"), None);
    }
}
