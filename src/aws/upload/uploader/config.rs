//! The engine's tunables: [`UploaderConfig`], whether part bodies are signed ([`sign_payload_for`]), and
//! the process-wide memory budget for part bytes ([`MEMORY_BUDGET_MIB`]).

use std::time::Duration;

use crate::aws::upload::plan;

/// Part bytes held in memory at once, across all uploads of a process, in MiB. Parts in flight are
/// bounded by the concurrency too, but 256 parts of 5 GiB would be 1.25 TiB: this bounds the product,
/// whatever the flags and part sizes say (a single larger part still goes, alone).
pub const MEMORY_BUDGET_MIB: u32 = 1024;

/// The memory permits (MiB, rounded up) a part of `len` bytes takes from [`MEMORY_BUDGET_MIB`]; never
/// more than the whole budget, so that every part can go.
pub(super) fn memory_permits(len: u64) -> u32 {
    u32::try_from(len.div_ceil(1 << 20))
        .unwrap_or(u32::MAX)
        .clamp(1, MEMORY_BUDGET_MIB)
}

/// Tunables of the engine.
#[derive(Debug, Clone)]
pub struct UploaderConfig {
    /// Parts in flight at once, across all uploads.
    pub concurrency: usize,
    /// Optional bandwidth limit in bytes per second, across all uploads.
    pub limit_rate: Option<u64>,
    /// Attempts per request for transient failures before the upload stops (resumable).
    pub max_attempts: u32,
    /// The first pause between attempts; doubled each time up to `max_backoff`, with jitter.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Whether the SigV4 signature covers the body's SHA-256 (see [`sign_payload_for`]).
    pub sign_payload: bool,
}

/// Whether part bodies should be covered by the request signature. Over HTTPS (all of AWS, whose source
/// bucket denies plain HTTP) TLS protects the bytes in transit and the CRC64NVME checksum, itself
/// signed, lets S3 verify them: hashing every byte again with SHA-256 only costs CPU, which is why the
/// AWS CLI does not do it either. Over plain HTTP (an emulator, a private S3) the signed hash is what
/// stops a body from being altered on the way, so it stays.
pub fn sign_payload_for(endpoint_url: Option<&str>) -> bool {
    endpoint_url.is_some_and(|url| !url.to_ascii_lowercase().starts_with("https://"))
}

impl Default for UploaderConfig {
    fn default() -> Self {
        Self {
            concurrency: plan::DEFAULT_CONCURRENCY,
            limit_rate: None,
            // About five minutes of trying: long enough to ride out a Wi-Fi drop or a router restart.
            max_attempts: 14,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            sign_payload: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_signed_only_without_tls() {
        assert!(!sign_payload_for(None), "AWS itself: https");
        assert!(!sign_payload_for(Some(
            "HTTPS://s3.eu-west-1.amazonaws.com"
        )));
        assert!(sign_payload_for(Some("http://127.0.0.1:4566")));
    }

    #[test]
    fn part_memory_is_bounded_whatever_the_part_size() {
        assert_eq!(memory_permits(1), 1);
        assert_eq!(memory_permits(8 << 20), 8);
        assert_eq!(memory_permits((8 << 20) + 1), 9);
        // A 5 GiB part takes the whole budget: it goes alone, and 256 of them never sit in memory at once.
        assert_eq!(memory_permits(5 << 30), MEMORY_BUDGET_MIB);
        assert_eq!(memory_permits(0), 1);
    }
}
