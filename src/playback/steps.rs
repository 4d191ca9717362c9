//! The steps every format shares, each turning one request into findings on its section: read a
//! manifest (status, size, content type, CORS of the master), probe a segment (status, content type,
//! first bytes), and the CORS tally over everything else requested, said once per section.

use super::fetch::{Answer, FetchError, Fetcher};
use super::rules::{self, Resource};
use super::{CorsCheck, FormatSection, Severity, Topic};
use crate::contract::safe_url::{SafeUrl, UrlRefused};

/// A section being checked, with what is only said at the end.
pub(crate) struct Checker<'s> {
    pub(crate) section: &'s mut FormatSection,
    /// Requests after the master whose answer a browser could not read, and one of their URLs.
    cors_missing: u32,
    cors_example: Option<String>,
}

impl<'s> Checker<'s> {
    pub(crate) fn new(section: &'s mut FormatSection) -> Self {
        Self {
            section,
            cors_missing: 0,
            cors_example: None,
        }
    }

    pub(crate) fn fail(
        &mut self,
        topic: Topic,
        what: impl Into<String>,
        url: Option<&str>,
        fix: &str,
    ) {
        self.section
            .finding(Severity::Fail, topic, what, url, fix.to_owned());
    }

    pub(crate) fn warn(
        &mut self,
        topic: Topic,
        what: impl Into<String>,
        url: Option<&str>,
        fix: &str,
    ) {
        self.section
            .finding(Severity::Warn, topic, what, url, fix.to_owned());
    }

    /// A URL from the record or a manifest that the URL rules refused.
    pub(crate) fn refused(&mut self, what: &str, raw: &str, why: &UrlRefused) {
        self.fail(
            Topic::Refused,
            format!("{what}: vodesk refused its URL: {why}"),
            Some(raw),
            "Only https URLs (or http to this machine) are requested; check the record or manifest.",
        );
    }

    /// The master playlist or manifest (`master`: its CORS answer is the section's CORS check), or
    /// a variant playlist. The body when it was read whole and answered 2xx.
    pub(crate) async fn manifest(
        &mut self,
        f: &mut Fetcher<'_>,
        url: &SafeUrl,
        resource: Resource,
        what: &str,
        master: bool,
    ) -> Option<Vec<u8>> {
        let answer = match f.manifest(url).await {
            Ok(answer) => answer,
            Err(e) => {
                self.unreachable(what, url, &e);
                return None;
            }
        };
        if master {
            let pass = rules::cors_allows(answer.allow_origin.as_deref());
            self.section.cors = Some(CorsCheck {
                allow_origin: answer.allow_origin.clone(),
                pass,
            });
            if !pass {
                let said = answer.allow_origin.as_deref().map_or_else(
                    || "no Access-Control-Allow-Origin header".to_owned(),
                    |v| format!("Access-Control-Allow-Origin \"{v}\""),
                );
                self.fail(
                    Topic::Cors,
                    format!("{what}: {said}, so browser players cannot load it"),
                    Some(url.as_str()),
                    "Add a CORS response headers policy to the CloudFront distribution (the solution's default allows *).",
                );
            }
        } else {
            self.tally_cors(&answer, url);
        }
        if !self.status_ok(what, url, &answer) {
            return None;
        }
        self.content_type(what, url, resource, &answer);
        Some(answer.body)
    }

    /// A segment's first bytes (`range`: offset and length within the object, for byte-range
    /// segments). True when it answered as media.
    pub(crate) async fn probe(
        &mut self,
        f: &mut Fetcher<'_>,
        url: &SafeUrl,
        range: Option<(u64, u64)>,
        what: &str,
    ) -> bool {
        let answer = match f.probe(url, range).await {
            Ok(answer) => answer,
            Err(e) => {
                self.unreachable(what, url, &e);
                return false;
            }
        };
        self.tally_cors(&answer, url);
        if !self.status_ok(what, url, &answer) {
            return false;
        }
        self.content_type(what, url, Resource::Segment, &answer);
        if let Some(problem) = rules::body_problem(url.url(), &answer.body) {
            self.fail(
                Topic::ContentType,
                format!("{what}: {problem}"),
                Some(url.as_str()),
                "The object is not the encoder's output: run the job again.",
            );
            return false;
        }
        true
    }

    /// A file's HEAD (MP4 outputs): the answer when it was 2xx.
    pub(crate) async fn head(
        &mut self,
        f: &mut Fetcher<'_>,
        url: &SafeUrl,
        what: &str,
    ) -> Option<Answer> {
        let answer = match f.head(url).await {
            Ok(answer) => answer,
            Err(e) => {
                self.unreachable(what, url, &e);
                return None;
            }
        };
        if !self.status_ok(what, url, &answer) {
            return None;
        }
        self.content_type(what, url, Resource::Mp4File, &answer);
        Some(answer)
    }

    fn unreachable(&mut self, what: &str, url: &SafeUrl, e: &FetchError) {
        // Once the check is out of time every later request is too: said once per section.
        if matches!(e, FetchError::OutOfTime)
            && self
                .section
                .findings
                .iter()
                .any(|f| f.topic == Topic::Limit)
        {
            return;
        }
        let fix = match e {
            FetchError::OutOfTime => "Run the check again, or check fewer outputs at a time.",
            FetchError::TooLarge(_) => "This is not a manifest vodesk can check.",
            _ => "Check that the distribution (CloudFront or the local stack) is up and reachable.",
        };
        let topic = if matches!(e, FetchError::OutOfTime) {
            Topic::Limit
        } else {
            Topic::Unreachable
        };
        self.fail(
            topic,
            format!("{what} could not be read: {e}"),
            Some(url.as_str()),
            fix,
        );
    }

    fn status_ok(&mut self, what: &str, url: &SafeUrl, answer: &Answer) -> bool {
        if answer.success() {
            return true;
        }
        let fix = match answer.status {
            404 => {
                "The object is missing from the destination bucket: run the job again, or restore the object."
            }
            403 => {
                "The distribution refuses it: the object may be missing (S3 answers 403 without ListBucket), or the distribution is private."
            }
            _ => "Check the distribution and the destination bucket.",
        };
        self.fail(
            Topic::Unreachable,
            format!("{what} answered {}", answer.status),
            Some(url.as_str()),
            fix,
        );
        false
    }

    fn content_type(&mut self, what: &str, url: &SafeUrl, resource: Resource, answer: &Answer) {
        if let Some(expected) =
            rules::content_type_problem(resource, url.url(), answer.content_type.as_deref())
        {
            let answered = answer.content_type.as_deref().unwrap_or("no Content-Type");
            self.warn(
                Topic::ContentType,
                format!("{what}: content type \"{answered}\", expected {expected}"),
                Some(url.as_str()),
                "Set the object's Content-Type in the destination bucket; some players refuse a wrong one.",
            );
        }
    }

    fn tally_cors(&mut self, answer: &Answer, url: &SafeUrl) {
        if !rules::cors_allows(answer.allow_origin.as_deref()) {
            self.cors_missing += 1;
            self.cors_example.get_or_insert_with(|| url.to_string());
        }
    }

    /// Says what is only said once: the requests after the master that lacked CORS.
    pub(crate) fn finish(self) {
        if self.cors_missing > 0 {
            let n = self.cors_missing;
            self.section.finding(
                Severity::Fail,
                Topic::Cors,
                format!(
                    "{n} playlist or segment answer{} without a CORS header, so browser players stop there",
                    if n == 1 { "" } else { "s" }
                ),
                self.cors_example.as_deref(),
                "Add a CORS response headers policy to the CloudFront distribution for every path.".to_owned(),
            );
        }
    }
}
