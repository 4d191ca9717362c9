//! The service's clock, as the `Date` header of SQS's answers tells it. Heartbeats are written and
//! judged in the service's time, so two machines whose clocks disagree (or a laptop whose clock
//! drifted while it slept) do not take each other's live queue for abandoned.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_sdk_sqs::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sqs::error::BoxError;
use aws_sdk_sqs::primitives::{DateTime, DateTimeFormat};

/// What the last answer said about the time. Cheap to clone; clones share what they learn.
#[derive(Debug, Clone, Default)]
pub struct ServiceClock {
    seen: Arc<Mutex<Option<Seen>>>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    /// The `Date` of the last answer.
    service: SystemTime,
    /// This machine's clock when that answer arrived.
    local: SystemTime,
}

impl ServiceClock {
    /// Records that the service said `service` when this machine's clock read `local`.
    pub fn learn(&self, service: SystemTime, local: SystemTime) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        *seen = Some(Seen { service, local });
    }

    /// The `Date` of the last answer, if an answer carried one.
    pub fn last_date(&self) -> Option<SystemTime> {
        self.seen().map(|s| s.service)
    }

    /// The service's time when this machine's clock reads `local`: `local` moved by the difference
    /// between the two clocks seen last (none is known: `local` itself). Wall-clock time, not a
    /// monotonic one, so that time spent asleep counts.
    pub fn at(&self, local: SystemTime) -> SystemTime {
        let Some(seen) = self.seen() else {
            return local;
        };
        match seen.service.duration_since(seen.local) {
            Ok(ahead) => local.checked_add(ahead).unwrap_or(local),
            Err(behind) => local.checked_sub(behind.duration()).unwrap_or(local),
        }
    }

    /// The service's time now, as well as it is known.
    pub fn now(&self) -> SystemTime {
        self.at(SystemTime::now())
    }

    /// An interceptor for one SQS request (`.customize().interceptor(…)`) that teaches this clock
    /// the `Date` of the answer.
    pub fn reader(&self) -> DateReader {
        DateReader {
            clock: self.clone(),
        }
    }

    /// Learns what `other` learnt, if anything.
    pub fn learn_from(&self, other: &ServiceClock) {
        if let Some(seen) = other.seen() {
            self.learn(seen.service, seen.local);
        }
    }

    fn seen(&self) -> Option<Seen> {
        *self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads the `Date` header of an answer into a [`ServiceClock`]; an answer without one (or with an
/// unreadable one) teaches nothing.
#[derive(Debug)]
pub struct DateReader {
    clock: ServiceClock,
}

impl Intercept for DateReader {
    fn name(&self) -> &'static str {
        "vodesk-service-clock"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let date = context
            .response()
            .headers()
            .get("date")
            .and_then(|text| DateTime::from_str(text, DateTimeFormat::HttpDate).ok())
            .and_then(|date| SystemTime::try_from(date).ok());
        if let Some(date) = date {
            self.clock.learn(date, SystemTime::now());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const T: SystemTime = SystemTime::UNIX_EPOCH;

    #[test]
    fn unknown_until_an_answer_tells() {
        let clock = ServiceClock::default();
        let local = T + Duration::from_secs(1_000);
        assert_eq!(clock.at(local), local);
        assert_eq!(clock.last_date(), None);
    }

    #[test]
    fn local_time_is_moved_by_the_difference_seen() {
        let clock = ServiceClock::default();
        // This machine is two hours behind the service.
        clock.learn(
            T + Duration::from_secs(10_000),
            T + Duration::from_secs(2_800),
        );
        assert_eq!(
            clock.at(T + Duration::from_secs(3_000)),
            T + Duration::from_secs(10_200)
        );
        // And now ahead: a clone learns for both.
        clock
            .clone()
            .learn(T + Duration::from_secs(100), T + Duration::from_secs(400));
        assert_eq!(
            clock.at(T + Duration::from_secs(500)),
            T + Duration::from_secs(200)
        );
        assert_eq!(clock.last_date(), Some(T + Duration::from_secs(100)));
        let other = ServiceClock::default();
        other.learn_from(&clock);
        assert_eq!(other.last_date(), Some(T + Duration::from_secs(100)));
    }
}
