//! An optional bandwidth limit shared by every part of every upload: a token bucket refilled at the
//! configured rate, with a burst of one second's worth.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

#[derive(Debug)]
pub(crate) struct Throttle {
    bytes_per_second: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl Throttle {
    pub(crate) fn new(bytes_per_second: u64) -> Self {
        let rate = bytes_per_second.max(1) as f64;
        Self {
            bytes_per_second: rate,
            state: Mutex::new(Bucket {
                tokens: rate,
                refilled: Instant::now(),
            }),
        }
    }

    /// Waits until `bytes` may be sent. Callers are served in turn (the lock is fair), and a request larger
    /// than the burst simply waits proportionally longer.
    pub(crate) async fn acquire(&self, bytes: u64) {
        let mut bucket = self.state.lock().await;
        let now = Instant::now();
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens =
            (bucket.tokens + elapsed * self.bytes_per_second).min(self.bytes_per_second);
        bucket.refilled = now;
        bucket.tokens -= bytes as f64;
        if bucket.tokens < 0.0 {
            let wait = Duration::from_secs_f64(-bucket.tokens / self.bytes_per_second);
            // Holding the lock while waiting is the point: the next caller queues behind this debt.
            tokio::time::sleep(wait).await;
            bucket.tokens = 0.0;
            bucket.refilled = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sends_at_the_configured_rate_after_the_burst() {
        let throttle = Throttle::new(1000);
        let start = tokio::time::Instant::now();
        throttle.acquire(1000).await; // the one-second burst
        throttle.acquire(3000).await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(2900) && waited <= Duration::from_millis(3100),
            "{waited:?}"
        );
    }
}
