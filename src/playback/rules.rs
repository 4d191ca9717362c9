//! The pure rules a check applies to what it read: which content types a player accepts for each
//! kind of resource, when an `Access-Control-Allow-Origin` answer lets a browser in, when a total
//! duration is too far from the source's, how a manifest's URI resolves against the manifest's URL
//! (through the URL rules), and what a segment's first bytes must look like.

use url::Url;

use super::CHECK_ORIGIN;
use crate::contract::safe_url::{SafeUrl, UrlRefused};

/// What a resource is, for its expected content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    HlsPlaylist,
    DashManifest,
    /// A media segment or init segment: its expectation comes from its extension.
    Segment,
    Mp4File,
}

/// Whether `content_type` (as answered, parameters allowed) suits `resource` at `url`. None when it
/// does, else what was expected, for the finding.
pub(crate) fn content_type_problem(
    resource: Resource,
    url: &Url,
    content_type: Option<&str>,
) -> Option<&'static str> {
    let answered = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (accepted, expected): (&[&str], &'static str) = match resource {
        Resource::HlsPlaylist => (
            &[
                "application/vnd.apple.mpegurl",
                "application/x-mpegurl",
                "audio/mpegurl",
                "audio/x-mpegurl",
            ],
            "application/vnd.apple.mpegurl",
        ),
        Resource::DashManifest => (&["application/dash+xml"], "application/dash+xml"),
        Resource::Mp4File => (&["video/mp4", "audio/mp4", "application/mp4"], "video/mp4"),
        Resource::Segment => match extension(url).as_str() {
            "ts" => (&["video/mp2t", "video/mpeg"], "video/mp2t"),
            "aac" => (&["audio/aac", "audio/aacp", "audio/x-aac"], "audio/aac"),
            "vtt" | "webvtt" => (&["text/vtt", "text/plain"], "text/vtt"),
            "m4s" | "mp4" | "m4v" | "m4a" | "cmfv" | "cmfa" | "cmft" | "cmfi" | "fmp4" => (
                &[
                    "video/mp4",
                    "audio/mp4",
                    "application/mp4",
                    "video/iso.segment",
                    "audio/iso.segment",
                ],
                "video/mp4 (or video/iso.segment)",
            ),
            // Unknown kinds of segment: no expectation but "not a web page".
            _ => return answered.starts_with("text/html").then_some("a media type"),
        },
    };
    (!accepted.contains(&answered.as_str())).then_some(expected)
}

/// The last path segment's extension, lower-cased ("" for none).
fn extension(url: &Url) -> String {
    let name = url.path().rsplit('/').next().unwrap_or("");
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

/// A browser on [`CHECK_ORIGIN`] may read the answer: `*`, or that origin echoed.
pub(crate) fn cors_allows(allow_origin: Option<&str>) -> bool {
    allow_origin.is_some_and(|v| {
        let v = v.trim();
        v == "*" || v.eq_ignore_ascii_case(CHECK_ORIGIN)
    })
}

/// Seconds of difference allowed at least, and as a share of the source's duration: the larger of
/// the two wins, so short clips are not held to a fraction of a second and long ones to seconds.
const DURATION_SLACK_SECONDS: f64 = 2.0;
const DURATION_SLACK_SHARE: f64 = 0.02;

/// When `total` is too far from `source` (both seconds): the difference, signed.
pub(crate) fn duration_mismatch(total: f64, source: f64) -> Option<f64> {
    if !(total.is_finite() && source.is_finite()) || source <= 0.0 {
        return None;
    }
    let slack = DURATION_SLACK_SECONDS.max(source * DURATION_SLACK_SHARE);
    let diff = total - source;
    (diff.abs() > slack).then_some(diff)
}

/// A URI from a playlist or manifest, resolved against the URL it was read from, then held to the
/// URL rules (a manifest is as untrusted as the record that named it).
pub(crate) fn resolve(base: &SafeUrl, uri: &str) -> Result<SafeUrl, UrlRefused> {
    let uri = uri.trim();
    let joined = base
        .url()
        .join(uri)
        .map_err(|e| UrlRefused::Unparsable(e.to_string()))?;
    SafeUrl::parse(joined.as_str())
}

/// When a segment's first bytes are not media: an HTML or XML page (an error page served with 200)
/// or, for MPEG-TS, a first byte that is not the sync byte.
pub(crate) fn body_problem(url: &Url, body: &[u8]) -> Option<&'static str> {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&body[..0], |i| &body[i..]);
    if start.first() == Some(&b'<') {
        return Some("its content is a web page or XML, not media");
    }
    if extension(url) == "ts" && body.first().is_some_and(|b| *b != 0x47) {
        return Some("it does not start with the MPEG-TS sync byte");
    }
    None
}

/// A frame rate as DASH writes it: `30`, `29.97` or `30000/1001`.
pub(crate) fn frame_rate(text: &str) -> Option<f64> {
    let rate = match text.split_once('/') {
        Some((n, d)) => {
            let d: f64 = d.trim().parse().ok()?;
            if d == 0.0 {
                return None;
            }
            n.trim().parse::<f64>().ok()? / d
        }
        None => text.trim().parse().ok()?,
    };
    rate.is_finite().then_some(rate)
}

/// The file name part of a URL, for rows and findings that should stay short.
pub(crate) fn short_name(url: &Url) -> String {
    let name = url.path().rsplit('/').next().unwrap_or("");
    percent_encoding::percent_decode_str(name)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn content_types_by_resource() {
        let m = url("https://d.example/a/master.m3u8");
        assert_eq!(
            content_type_problem(
                Resource::HlsPlaylist,
                &m,
                Some("application/vnd.apple.mpegurl")
            ),
            None
        );
        assert_eq!(
            content_type_problem(
                Resource::HlsPlaylist,
                &m,
                Some("Application/X-MpegURL; charset=utf-8")
            ),
            None
        );
        assert!(content_type_problem(Resource::HlsPlaylist, &m, Some("text/html")).is_some());
        assert!(content_type_problem(Resource::HlsPlaylist, &m, None).is_some());
        let ts = url("https://d.example/a/v_00001.ts");
        assert_eq!(
            content_type_problem(Resource::Segment, &ts, Some("video/MP2T")),
            None
        );
        assert!(
            content_type_problem(Resource::Segment, &ts, Some("application/octet-stream"))
                .is_some()
        );
        let m4s = url("https://d.example/a/chunk-0-00001.m4s");
        assert_eq!(
            content_type_problem(Resource::Segment, &m4s, Some("video/iso.segment")),
            None
        );
        let other = url("https://d.example/a/seg.bin");
        assert_eq!(
            content_type_problem(Resource::Segment, &other, Some("application/octet-stream")),
            None
        );
        assert!(content_type_problem(Resource::Segment, &other, Some("text/html")).is_some());
        let mpd = url("https://d.example/a/x.mpd");
        assert_eq!(
            content_type_problem(Resource::DashManifest, &mpd, Some("application/dash+xml")),
            None
        );
    }

    #[test]
    fn cors_passes_on_star_or_the_origin() {
        assert!(cors_allows(Some("*")));
        assert!(cors_allows(Some("https://example.com")));
        assert!(!cors_allows(Some("https://other.example")));
        assert!(!cors_allows(None));
        assert!(!cors_allows(Some("")));
    }

    #[test]
    fn duration_slack_is_two_seconds_or_two_percent() {
        assert_eq!(duration_mismatch(10.5, 10.0), None);
        assert_eq!(duration_mismatch(13.0, 10.0), Some(3.0));
        assert_eq!(duration_mismatch(7.0, 10.0), Some(-3.0));
        // 2 % of an hour is 72 s.
        assert_eq!(duration_mismatch(3660.0, 3600.0), None);
        assert!(duration_mismatch(3700.0, 3600.0).is_some());
        assert_eq!(duration_mismatch(f64::NAN, 10.0), None);
        assert_eq!(duration_mismatch(10.0, 0.0), None);
    }

    #[test]
    fn uris_resolve_against_the_manifest_and_keep_to_the_rules() {
        let base = SafeUrl::parse("https://d.example/guid/hls/master.m3u8").unwrap();
        assert_eq!(
            resolve(&base, "v1.m3u8").unwrap().as_str(),
            "https://d.example/guid/hls/v1.m3u8"
        );
        assert_eq!(
            resolve(&base, "../dash/x.mpd").unwrap().as_str(),
            "https://d.example/guid/dash/x.mpd"
        );
        assert_eq!(
            resolve(&base, "/abs/seg.ts").unwrap().as_str(),
            "https://d.example/abs/seg.ts"
        );
        assert!(matches!(
            resolve(&base, "http://evil.example/x.ts"),
            Err(UrlRefused::PlainHttp(_))
        ));
        assert!(matches!(
            resolve(&base, "file:///etc/passwd"),
            Err(UrlRefused::Scheme(_))
        ));
        let local = SafeUrl::parse("http://127.0.0.1:8080/g/hls/master.m3u8").unwrap();
        assert_eq!(
            resolve(&local, "v0.m3u8").unwrap().as_str(),
            "http://127.0.0.1:8080/g/hls/v0.m3u8"
        );
    }

    #[test]
    fn bodies_that_are_not_media() {
        let ts = url("https://d.example/a.ts");
        assert_eq!(body_problem(&ts, &[0x47, 0x40, 0x00]), None);
        assert!(body_problem(&ts, &[0x00, 0x00]).is_some());
        assert!(body_problem(&url("https://d.example/a.m4s"), b"  <html>").is_some());
        assert_eq!(
            body_problem(&url("https://d.example/a.m4s"), b"\0\0\0\x18styp"),
            None
        );
        assert_eq!(body_problem(&ts, b""), None);
    }

    #[test]
    fn frame_rates() {
        assert_eq!(frame_rate("30"), Some(30.0));
        assert_eq!(frame_rate("25.0"), Some(25.0));
        assert!((frame_rate("30000/1001").unwrap() - 29.97).abs() < 0.01);
        assert_eq!(frame_rate("1/0"), None);
        assert_eq!(frame_rate("x"), None);
    }
}
