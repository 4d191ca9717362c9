//! Which URLs vodesk hands to a browser, a media player or its own HTTP client: [`SafeUrl`] is the
//! one gate. The URLs come from the solution's records, and anyone who can write the table, the topic
//! or a metadata file controls them, so only `https` (and `http` to this machine, the local stack's
//! "CloudFront") passes, with a host, no credentials, nothing a program could read as an option (a
//! leading `-`) and no control characters or whitespace. Also owns turning a contract URL (§7: a raw
//! concatenation of S3 keys, never percent-encoded) into the URL to request, [`fetchable_url`].

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::{Host, Url};

/// Path bytes kept as they are: RFC 3986 unreserved characters. Everything else, including `%`, `+`,
/// `#` and the sub-delimiters, is encoded — contract URLs are raw concatenations of S3 keys, so
/// every byte of a segment is literal.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a URL is not opened or fetched. Display completes "vodesk refused to open this link: …";
/// it never repeats the URL itself (it may be hostile, or carry a signature).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("the link is empty")]
    Empty,
    #[error("it starts with \"-\", which a program would read as an option")]
    LeadingDash,
    #[error("it contains control characters")]
    ControlCharacter,
    #[error("it contains whitespace outside its path")]
    Whitespace,
    #[error("it is not a URL ({0})")]
    Unparsable(String),
    #[error("its scheme is \"{0}\": only https links are opened")]
    Scheme(String),
    #[error("it is plain http to {0}: http is only allowed to this machine (the local stack)")]
    PlainHttp(String),
    #[error("it names no host")]
    NoHost,
    #[error("it carries a user name or password")]
    Credentials,
}

/// A URL that passed the checks, in the form to hand on: parsed and serialized again, so the host
/// that was checked is the host every consumer (player, browser, HTTP client) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeUrl(Url);

impl SafeUrl {
    /// A URL as a record carries it (contract §7, not encoded): each path segment is
    /// percent-encoded ([`fetchable_url`]), then the result is checked with [`SafeUrl::parse`].
    pub fn from_contract(raw: &str) -> Result<Self, UrlRefused> {
        screen(raw)?;
        Self::parse(&fetchable_url(raw))
    }

    /// A URL as it goes on the wire (already encoded): `https`, or `http` to a loopback host
    /// (127.0.0.0/8, `::1`, `localhost`), with a host and without credentials, whitespace, control
    /// characters or a leading `-`.
    pub fn parse(url: &str) -> Result<Self, UrlRefused> {
        screen(url)?;
        // The URL parser would strip leading/trailing spaces and drop tabs and newlines: refuse them
        // instead, so what is checked is what was given.
        if url.chars().any(char::is_whitespace) {
            return Err(UrlRefused::Whitespace);
        }
        let parsed = Url::parse(url).map_err(|e| UrlRefused::Unparsable(e.to_string()))?;
        let scheme = parsed.scheme();
        if scheme != "https" && scheme != "http" {
            return Err(UrlRefused::Scheme(scheme.to_owned()));
        }
        let host = parsed.host().ok_or(UrlRefused::NoHost)?;
        if scheme == "http" && !is_loopback(&host) {
            return Err(UrlRefused::PlainHttp(host.to_string()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(UrlRefused::Credentials);
        }
        Ok(Self(parsed))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    /// `host` or `host:port` (a non-default port): how the URL's server is named to the user.
    pub fn host_label(&self) -> String {
        host_label(&self.0)
    }
}

impl std::fmt::Display for SafeUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `host` or `host:port` of any parsed URL (for messages: never the path or query).
pub(crate) fn host_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The checks that hold for the raw text whatever its form.
fn screen(text: &str) -> Result<(), UrlRefused> {
    if text.is_empty() {
        return Err(UrlRefused::Empty);
    }
    if text.starts_with('-') {
        return Err(UrlRefused::LeadingDash);
    }
    if text.chars().any(char::is_control) {
        return Err(UrlRefused::ControlCharacter);
    }
    Ok(())
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Splits `scheme://host` from the rest. None when there is no scheme.
fn split_origin(url: &str) -> Option<(&str, &str)> {
    let after_scheme = url.find("://")? + 3;
    let path_start = url[after_scheme..]
        .find(['/', '?'])
        .map_or(url.len(), |i| after_scheme + i);
    Some(url.split_at(path_start))
}

/// Splits the path from a query. A `?` always starts the query: contract URLs never have one, but
/// other URLs may, and a `?` in a file name cannot be told apart from it. A `#` is part of the path
/// (file names may contain it; these URLs never carry fragments).
fn split_query(rest: &str) -> (&str, &str) {
    rest.find('?').map_or((rest, ""), |i| rest.split_at(i))
}

/// The URL to request for a contract URL: each path segment percent-encoded as UTF-8 (space → `%20`,
/// `+` → `%2B`, `%` → `%25`, `#` → `%23`), scheme, host and query left alone. Contract URLs are never
/// encoded (§7), so a `%` is literal and gets encoded too; CloudFront/S3 decode back to the key.
pub(crate) fn fetchable_url(url: &str) -> String {
    let Some((origin, rest)) = split_origin(url) else {
        return url.to_owned();
    };
    let (path, query) = split_query(rest);
    let mut out = String::with_capacity(url.len() + 16);
    out.push_str(origin);
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.extend(utf8_percent_encode(segment, SEGMENT));
    }
    out.push_str(query);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> UrlRefused {
        match SafeUrl::from_contract(url) {
            Ok(safe) => panic!("{url:?} was accepted as {safe}"),
            Err(reason) => reason,
        }
    }

    #[test]
    fn https_is_opened_with_its_path_encoded() {
        let safe =
            SafeUrl::from_contract("https://d1q2w3e4r5t6y7.cloudfront.net/g/hls/Año Nuevo.m3u8")
                .unwrap();
        assert_eq!(
            safe.as_str(),
            "https://d1q2w3e4r5t6y7.cloudfront.net/g/hls/A%C3%B1o%20Nuevo.m3u8"
        );
        assert_eq!(safe.host_label(), "d1q2w3e4r5t6y7.cloudfront.net");
        // The error handler's console links carry a query and a fragment.
        let console = "https://console.aws.amazon.com/mediaconvert/home?region=eu-west-1#/jobs/summary/1760433132004-k3x9qe";
        assert_eq!(SafeUrl::from_contract(console).unwrap().as_str(), console);
        // Scheme and host case do not matter; the serialized form is normalized.
        assert_eq!(
            SafeUrl::parse("HTTPS://D1.CloudFront.NET/a.m3u8")
                .unwrap()
                .as_str(),
            "https://d1.cloudfront.net/a.m3u8"
        );
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        for local in [
            "http://127.0.0.1:8123/g/hls/x.m3u8",
            "http://127.3.2.1/x",
            "http://localhost:8123/x",
            "http://[::1]:8123/g/hls/x.m3u8",
            "https://[::1]/x",
        ] {
            let safe = SafeUrl::from_contract(local).unwrap_or_else(|e| panic!("{local}: {e}"));
            assert!(safe.as_str().starts_with("http"), "{safe}");
        }
        assert_eq!(
            SafeUrl::from_contract("http://[::1]:8123/x")
                .unwrap()
                .host_label(),
            "[::1]:8123"
        );
        assert_eq!(
            refused("http://example.com/a.m3u8"),
            UrlRefused::PlainHttp("example.com".into())
        );
        // The metadata service, a LAN address, and loopback in disguise are all remote for this rule.
        assert_eq!(
            refused("http://169.254.169.254/latest/meta-data/"),
            UrlRefused::PlainHttp("169.254.169.254".into())
        );
        assert!(matches!(
            refused("http://[::ffff:7f00:1]/x"),
            UrlRefused::PlainHttp(_)
        ));
        assert!(matches!(
            refused("http://localhost.evil.example/x"),
            UrlRefused::PlainHttp(_)
        ));
    }

    #[test]
    fn other_schemes_are_refused() {
        for (url, scheme) in [
            ("file:///etc/passwd", "file"),
            ("steam://run/1", "steam"),
            ("javascript:alert(1)", "javascript"),
            ("s3://bucket/key.m3u8", "s3"),
            ("ftp://host/x", "ftp"),
            ("data:text/html,<b>x</b>", "data"),
        ] {
            assert_eq!(refused(url), UrlRefused::Scheme(scheme.into()), "{url}");
        }
        assert_eq!(
            UrlRefused::Scheme("file".into()).to_string(),
            "its scheme is \"file\": only https links are opened"
        );
    }

    #[test]
    fn options_whitespace_and_control_characters_are_refused() {
        assert_eq!(
            refused("--input-ipc-server=/tmp/x"),
            UrlRefused::LeadingDash
        );
        assert_eq!(refused("-https://x/y"), UrlRefused::LeadingDash);
        assert_eq!(
            refused(" https://d1.cloudfront.net/a"),
            UrlRefused::Whitespace
        );
        assert_eq!(
            refused("\u{0}https://d1.cloudfront.net/a"),
            UrlRefused::ControlCharacter
        );
        assert_eq!(
            refused("\thttps://d1.cloudfront.net/a"),
            UrlRefused::ControlCharacter
        );
        assert_eq!(
            refused("https://d1.cloudfront.net/a\nb"),
            UrlRefused::ControlCharacter
        );
        assert_eq!(
            refused("https://d1.cloudfront.net/a\u{9b}b"),
            UrlRefused::ControlCharacter
        );
        assert_eq!(
            refused("https://d1.cloud front.net/a"),
            UrlRefused::Whitespace
        );
        assert_eq!(
            refused("https://d1.cloudfront.net/a?x=1 2"),
            UrlRefused::Whitespace
        );
        // Already-encoded URLs get no second chance at a space in the path.
        assert_eq!(
            SafeUrl::parse("https://d1.cloudfront.net/a b"),
            Err(UrlRefused::Whitespace)
        );
        assert_eq!(refused(""), UrlRefused::Empty);
    }

    #[test]
    fn missing_hosts_credentials_and_non_urls_are_refused() {
        assert!(matches!(
            refused("d1.cloudfront.net/a.m3u8"),
            UrlRefused::Unparsable(_)
        ));
        assert!(matches!(refused("https://"), UrlRefused::Unparsable(_)));
        assert_eq!(
            refused("https://user:pw@d1.cloudfront.net/a"),
            UrlRefused::Credentials
        );
        assert_eq!(
            refused("https://d1.cloudfront.net@evil.example/a"),
            UrlRefused::Credentials
        );
    }

    #[test]
    fn fetchable_url_encodes_each_segment() {
        let base = "https://d1q2w3e4r5t6y7.cloudfront.net";
        assert_eq!(
            fetchable_url(&format!(
                "{base}/g/thumbnails/Año Nuevo 2025_thumb.0000001.jpg"
            )),
            format!("{base}/g/thumbnails/A%C3%B1o%20Nuevo%202025_thumb.0000001.jpg")
        );
        assert_eq!(
            fetchable_url(&format!("{base}/g/a+b 100%.jpg")),
            format!("{base}/g/a%2Bb%20100%25.jpg")
        );
        // An already-encoded-looking sequence is literal in a contract URL.
        assert_eq!(
            fetchable_url(&format!("{base}/g/x%20y.jpg")),
            format!("{base}/g/x%2520y.jpg")
        );
        assert_eq!(
            fetchable_url(&format!("{base}/g/Take #3.jpg")),
            format!("{base}/g/Take%20%233.jpg")
        );
        assert_eq!(
            fetchable_url("http://127.0.0.1:8080/g/a-b_c.d~e.jpg"),
            "http://127.0.0.1:8080/g/a-b_c.d~e.jpg"
        );
        // The query is left as it is.
        assert_eq!(
            fetchable_url(&format!("{base}/a b.jpg?X-Sig=a+b%2F")),
            format!("{base}/a%20b.jpg?X-Sig=a+b%2F")
        );
        assert_eq!(fetchable_url(base), base);
        assert_eq!(fetchable_url("not a url"), "not a url");
    }
}
