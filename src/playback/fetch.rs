//! The check's HTTP side: the client (redirects only to URLs the URL rules accept, as few as the
//! thumbnail fetcher follows), and the three kinds of request a check makes — a whole manifest
//! (capped), a probe of a segment's first bytes (ranged, HEAD where a range is refused) and a HEAD
//! of a file — each under the per-request timeout and the check's overall deadline, each sent with
//! an `Origin` header so every answer says what a browser would be told.

use std::time::{Duration, Instant};

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, ORIGIN,
    RANGE,
};

use super::{CHECK_ORIGIN, Limits};
use crate::contract::safe_url::{self, SafeUrl};

/// Redirects followed per request (the thumbnail fetcher's number).
const MAX_REDIRECTS: usize = 3;

/// Why no HTTP client could be made (TLS roots missing, for instance).
#[derive(Debug, thiserror::Error)]
#[error("no HTTP client could be set up: {0}")]
pub struct ClientError(String);

/// The client a check uses: every redirect must lead to a URL [`SafeUrl`] accepts (https, or http
/// to this machine), and at most [`MAX_REDIRECTS`] of them.
pub fn http_client() -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(RedirectRefused(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )));
            }
            match SafeUrl::parse(attempt.url().as_str()) {
                Ok(_) => attempt.follow(),
                Err(why) => {
                    let to = safe_url::host_label(attempt.url());
                    attempt.error(RedirectRefused(format!("it leads to {to} and {why}")))
                }
            }
        }))
        .build()
        .map_err(|e| ClientError(root_cause(&e)))
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedirectRefused(String);

/// One answer, the body as far as it was read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    /// The whole object's size: Content-Range's total, else Content-Length.
    pub(crate) size: Option<u64>,
    pub(crate) allow_origin: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request got no answer. Display completes "… could not be read: …" and never names the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("no answer within {0} s")]
    Timeout(u64),
    #[error("the check ran out of time before this request")]
    OutOfTime,
    #[error("no connection: {0}")]
    Unreachable(String),
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    #[error("redirect not followed: {0}")]
    Redirect(String),
}

/// Makes the requests, counts them, and keeps to the limits.
pub(crate) struct Fetcher<'a> {
    client: &'a reqwest::Client,
    pub(crate) limits: &'a Limits,
    deadline: Instant,
    requests: u32,
}

impl<'a> Fetcher<'a> {
    pub(crate) fn new(client: &'a reqwest::Client, limits: &'a Limits, deadline: Instant) -> Self {
        Self {
            client,
            limits,
            deadline,
            requests: 0,
        }
    }

    pub(crate) fn requests(&self) -> u32 {
        self.requests
    }

    /// The time this request may take: the per-request timeout, or what is left of the check.
    fn budget(&self) -> Result<Duration, FetchError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(FetchError::OutOfTime);
        }
        Ok(left.min(self.limits.request_timeout))
    }

    /// A playlist or manifest, whole: more than the limit is an error, not a truncated text.
    pub(crate) async fn manifest(&mut self, url: &SafeUrl) -> Result<Answer, FetchError> {
        let cap = self.limits.max_manifest_bytes;
        let answer = self.get(url, None, cap, true).await?;
        Ok(answer)
    }

    /// The first bytes of a segment (`range`: the first byte and the length, 0 and None for a whole
    /// file), at most `probe_bytes` of them; a server that refuses ranges (416, 501) gets a HEAD.
    pub(crate) async fn probe(
        &mut self,
        url: &SafeUrl,
        range: Option<(u64, u64)>,
    ) -> Result<Answer, FetchError> {
        let probe = self.limits.probe_bytes.max(1);
        let (start, length) = range.unwrap_or((0, probe));
        let end = start.saturating_add(length.clamp(1, probe) - 1);
        let answer = self.get(url, Some((start, end)), probe, false).await?;
        if matches!(answer.status, 416 | 501) {
            return self.head(url).await;
        }
        Ok(answer)
    }

    /// Status and headers only; a server that refuses HEAD (405, 501) gets a one-byte ranged GET.
    pub(crate) async fn head(&mut self, url: &SafeUrl) -> Result<Answer, FetchError> {
        let budget = self.budget()?;
        self.requests += 1;
        let response = self
            .client
            .head(url.url().clone())
            .header(ORIGIN, CHECK_ORIGIN)
            .timeout(budget)
            .send()
            .await
            .map_err(|e| fetch_error(&e, budget))?;
        let answer = answer_from(response.status().as_u16(), response.headers());
        if matches!(answer.status, 405 | 501) {
            return self.get(url, Some((0, 0)), 1, false).await;
        }
        Ok(answer)
    }

    /// A GET, reading at most `cap` bytes: past it, `strict` makes it an error, else the rest is
    /// left unread (the connection is dropped).
    async fn get(
        &mut self,
        url: &SafeUrl,
        range: Option<(u64, u64)>,
        cap: u64,
        strict: bool,
    ) -> Result<Answer, FetchError> {
        let budget = self.budget()?;
        self.requests += 1;
        let mut request = self
            .client
            .get(url.url().clone())
            .header(ORIGIN, CHECK_ORIGIN)
            .timeout(budget);
        if let Some((start, end)) = range {
            request = request.header(RANGE, format!("bytes={start}-{end}"));
        }
        let mut response = request.send().await.map_err(|e| fetch_error(&e, budget))?;
        let mut answer = answer_from(response.status().as_u16(), response.headers());
        if !answer.success() {
            return Ok(answer);
        }
        // Content-Length is only a hint: the cap is on what arrives.
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fetch_error(&e, budget))?
        {
            let room = usize::try_from(cap)
                .unwrap_or(usize::MAX)
                .saturating_sub(answer.body.len());
            if chunk.len() > room {
                if strict {
                    return Err(FetchError::TooLarge(cap));
                }
                answer.body.extend_from_slice(&chunk[..room]);
                break;
            }
            answer.body.extend_from_slice(&chunk);
        }
        Ok(answer)
    }
}

fn answer_from(status: u16, headers: &HeaderMap) -> Answer {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    // `bytes 0-1023/52311`: the total after the slash is the object's size.
    let total = text(CONTENT_RANGE)
        .and_then(|r| r.rsplit_once('/').and_then(|(_, t)| t.trim().parse().ok()));
    Answer {
        status,
        content_type: text(CONTENT_TYPE),
        size: total.or_else(|| text(CONTENT_LENGTH).and_then(|l| l.trim().parse().ok())),
        allow_origin: text(ACCESS_CONTROL_ALLOW_ORIGIN),
        body: Vec::new(),
    }
}

fn fetch_error(e: &reqwest::Error, budget: Duration) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(inner) = source {
        if let Some(refused) = inner.downcast_ref::<RedirectRefused>() {
            return FetchError::Redirect(refused.0.clone());
        }
        source = inner.source();
    }
    if e.is_timeout() {
        FetchError::Timeout(budget.as_secs().max(1))
    } else {
        // reqwest's Display can include the URL; the root cause alone never does.
        FetchError::Unreachable(root_cause(e))
    }
}

/// The innermost error message (e.g. "Connection refused (os error 111)"), free of URLs.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}
