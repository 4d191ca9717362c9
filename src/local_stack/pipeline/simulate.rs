//! Failures the local stack plays on purpose (`vodesk local-stack --simulate KIND[=PATTERN]`), so that
//! what clients show for them is exercised by real runs, not only by fixtures. Each is a failure the
//! solution really has, played where it happens on AWS:
//! - `stall`: the job is submitted (`encodeJobId` set, item at Ingest) and never ends, as a job that
//!   sits in a paused or overloaded MediaConvert queue: no Complete, no Error, ever.
//! - `canceled`: the job starts and is canceled (someone cancels it in the console); the solution's
//!   EventBridge rules match only COMPLETE and ERROR, so the workflow never hears of it: the item
//!   stays at Ingest with its `encodeJobId`, and no message follows.
//! - `encode-error`: the job ends in ERROR with MediaConvert's code 1401 (it could not write its
//!   outputs), so the error handler records `workflowErrorAt: Encoding` and sends the Error message.
//!
//! A rule applies to every upload, or, with `=PATTERN`, to those whose `srcVideo` matches the
//! wildcard pattern (`*` any run of characters, `?` one); the first matching rule wins.

use std::fmt;
use std::str::FromStr;

use wildmatch::WildMatch;

/// What a simulated workflow does instead of encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulatedFault {
    Stall,
    Canceled,
    EncodeError,
}

impl SimulatedFault {
    const ALL: [(Self, &'static str); 3] = [
        (Self::Stall, "stall"),
        (Self::Canceled, "canceled"),
        (Self::EncodeError, "encode-error"),
    ];

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(fault, _)| *fault == self)
            .map_or("", |(_, name)| name)
    }
}

/// One `--simulate` rule: the fault and the source keys it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulationRule {
    pub fault: SimulatedFault,
    /// `None`: every upload.
    pub pattern: Option<String>,
}

impl SimulationRule {
    fn applies_to(&self, src_video: &str) -> bool {
        self.pattern
            .as_deref()
            .is_none_or(|pattern| WildMatch::new(pattern).matches(src_video))
    }
}

impl fmt::Display for SimulationRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pattern {
            Some(pattern) => write!(f, "{} for keys matching {pattern}", self.fault.name()),
            None => write!(f, "{} for every upload", self.fault.name()),
        }
    }
}

/// Why a `--simulate` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown failure \"{0}\" to simulate: use stall, canceled or encode-error, optionally with =PATTERN (e.g. stall=*late*)"
)]
pub struct UnknownFault(String);

impl FromStr for SimulationRule {
    type Err = UnknownFault;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (kind, pattern) = match spec.split_once('=') {
            Some((kind, pattern)) => (kind, Some(pattern.to_owned())),
            None => (spec, None),
        };
        let fault = SimulatedFault::ALL
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(kind.trim()))
            .map(|(fault, _)| *fault)
            .ok_or_else(|| UnknownFault(kind.to_owned()))?;
        Ok(Self { fault, pattern })
    }
}

/// The fault the first rule matching `src_video` plays, if any.
pub(super) fn fault_for(rules: &[SimulationRule], src_video: &str) -> Option<SimulatedFault> {
    rules
        .iter()
        .find(|rule| rule.applies_to(src_video))
        .map(|rule| rule.fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_match_the_source_key() {
        let rules: Vec<SimulationRule> = ["stall=*late*", "encode-error=uploads/bad?.mp4"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(
            fault_for(&rules, "uploads/late show.mp4"),
            Some(SimulatedFault::Stall)
        );
        assert_eq!(
            fault_for(&rules, "uploads/bad1.mp4"),
            Some(SimulatedFault::EncodeError)
        );
        assert_eq!(fault_for(&rules, "uploads/bad12.mp4"), None);
        assert_eq!(fault_for(&rules, "uploads/fine.mp4"), None);
        let every: SimulationRule = "CANCELED".parse().unwrap();
        assert_eq!(
            fault_for(std::slice::from_ref(&every), "x.mov"),
            Some(SimulatedFault::Canceled)
        );
        assert_eq!(every.to_string(), "canceled for every upload");
        assert_eq!(rules[0].to_string(), "stall for keys matching *late*");
        let refused = "explode".parse::<SimulationRule>().unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("stall, canceled or encode-error")
        );
    }
}
