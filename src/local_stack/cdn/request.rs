//! What a request asks for, read without I/O: the object key of its path, the single byte range of
//! its Range header, and the Content-Type to answer with, by the key's extension.

#[derive(Debug, PartialEq, Eq)]
pub(super) struct KeyError;

/// The object key of a request path: the leading `/` removed, then percent-decoded as UTF-8. A `+`
/// stays a plus (S3 REST paths are not form-encoded); `%2B` also becomes `+`.
pub(super) fn decode_key(path: &str) -> Result<String, KeyError> {
    let raw = path.strip_prefix('/').unwrap_or(path);
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| KeyError)
}

/// One byte range of a `Range: bytes=…` header (RFC 9110 §14.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ByteRange {
    /// `a-b`, both inclusive, `a <= b`.
    FromTo(u64, u64),
    /// `a-`: from `a` to the end.
    From(u64),
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    pub(super) fn to_header(self) -> String {
        match self {
            ByteRange::FromTo(a, b) => format!("bytes={a}-{b}"),
            ByteRange::From(a) => format!("bytes={a}-"),
            ByteRange::Suffix(n) => format!("bytes=-{n}"),
        }
    }
}

/// The single range of a Range header, or `None` when the header is to be ignored (answered 200 with
/// the whole object): another unit, a malformed spec, or several ranges. Whether the range is
/// satisfiable is S3's decision (it knows the size).
pub(super) fn parse_range(value: &str) -> Option<ByteRange> {
    let (unit, spec) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return None;
    }
    let (first, last) = spec.trim().split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (first.is_empty(), last.is_empty()) {
        (true, true) => None,
        (true, false) => number(last).map(ByteRange::Suffix),
        (false, true) => number(first).map(ByteRange::From),
        (false, false) => {
            let (a, b) = (number(first)?, number(last)?);
            (a <= b).then_some(ByteRange::FromTo(a, b))
        }
    }
}

/// The Content-Type for a key, by its extension (case-insensitive).
pub(super) fn content_type(key: &str) -> &'static str {
    let name = key.rsplit('/').next().unwrap_or(key);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return "application/octet-stream";
    };
    match ext.to_ascii_lowercase().as_str() {
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        "mpd" => "application/dash+xml",
        "mp4" | "m4v" | "ismv" => "video/mp4",
        "m4s" => "video/iso.segment",
        "m4a" => "audio/mp4",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "vtt" => "text/vtt",
        "json" => "application/json",
        "ism" | "ismc" => "application/vnd.ms-sstr+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=2-5"), Some(ByteRange::FromTo(2, 5)));
        assert_eq!(parse_range("bytes=0-0"), Some(ByteRange::FromTo(0, 0)));
        assert_eq!(parse_range("bytes=7-"), Some(ByteRange::From(7)));
        assert_eq!(parse_range("bytes=-3"), Some(ByteRange::Suffix(3)));
        assert_eq!(parse_range("bytes=-0"), Some(ByteRange::Suffix(0)));
        assert_eq!(parse_range(" Bytes = 2-5 "), Some(ByteRange::FromTo(2, 5)));
        for ignored in [
            "bytes=5-2",
            "bytes=0-1,4-5",
            "bytes=-",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1-2-3",
            "items=0-1",
            "bytes 0-1",
            "bytes=99999999999999999999-",
            "",
        ] {
            assert_eq!(parse_range(ignored), None, "{ignored}");
        }
        assert_eq!(ByteRange::FromTo(2, 5).to_header(), "bytes=2-5");
        assert_eq!(ByteRange::From(7).to_header(), "bytes=7-");
        assert_eq!(ByteRange::Suffix(3).to_header(), "bytes=-3");
    }

    #[test]
    fn keys() {
        assert_eq!(
            decode_key("/g/hls/A%C3%B1o%20Nuevo%202025.m3u8").as_deref(),
            Ok("g/hls/Año Nuevo 2025.m3u8")
        );
        assert_eq!(decode_key("/a+b%2Bc.ts").as_deref(), Ok("a+b+c.ts"));
        assert_eq!(decode_key("/").as_deref(), Ok(""));
        assert_eq!(decode_key("/%2Fx").as_deref(), Ok("/x"));
        assert_eq!(decode_key("/bad%FF"), Err(KeyError));
        // A malformed escape is kept as written, as S3 does.
        assert_eq!(decode_key("/50%").as_deref(), Ok("50%"));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type("g/hls/Año Nuevo 2025.m3u8"),
            "application/vnd.apple.mpegurl"
        );
        assert_eq!(content_type("g/hls/x_00001.TS"), "video/mp2t");
        assert_eq!(content_type("g/dash/x.mpd"), "application/dash+xml");
        assert_eq!(content_type("g/mp4/x.mp4"), "video/mp4");
        assert_eq!(content_type("g/cmaf/x.m4s"), "video/iso.segment");
        assert_eq!(content_type("x.m4a"), "audio/mp4");
        assert_eq!(content_type("x.m4v"), "video/mp4");
        assert_eq!(content_type("t/x_thumb.0000000.JPG"), "image/jpeg");
        assert_eq!(content_type("x.jpeg"), "image/jpeg");
        assert_eq!(content_type("x.png"), "image/png");
        assert_eq!(content_type("x.vtt"), "text/vtt");
        assert_eq!(content_type("x.json"), "application/json");
        assert_eq!(content_type("x.ism"), "application/vnd.ms-sstr+xml");
        assert_eq!(content_type("x.ismc"), "application/vnd.ms-sstr+xml");
        assert_eq!(content_type("x.ismv"), "video/mp4");
        assert_eq!(content_type("x.bin"), "application/octet-stream");
        assert_eq!(content_type("dir.m3u8/noext"), "application/octet-stream");
        assert_eq!(content_type("m3u8"), "application/octet-stream");
    }
}
