//! The smoothed transfer rate shown while an upload runs.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A smoothed transfer rate: bytes confirmed over the last ten seconds.
pub(super) struct RateMeter {
    samples: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    const WINDOW: Duration = Duration::from_secs(10);

    pub(super) fn new(start: u64) -> Self {
        Self {
            samples: VecDeque::from([(Instant::now(), start)]),
        }
    }

    pub(super) fn update(&mut self, confirmed: u64) -> f64 {
        let now = Instant::now();
        self.samples.push_back((now, confirmed));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > Self::WINDOW)
        {
            self.samples.pop_front();
        }
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => {
                (b1 - b0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}
