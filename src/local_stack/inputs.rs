//! Which uploaded sources the local pipeline is willing to read. A playlist or manifest is a list of
//! other addresses: handed to MediaInfo or ffmpeg, its entries would be followed to other hosts (the
//! intranet, a metadata service) or to files on this machine (`/etc/passwd`, an SSH key), whose content
//! the local CloudFront would then serve. MediaConvert on AWS reads `.m3u8` inputs from S3 in its own
//! sandbox; the local stack cannot, so it refuses them, by name (`.m3u8`) and by content (a playlist or
//! manifest under any other name), before anything probes them.

use std::path::Path;

use tokio::io::AsyncReadExt;

/// How much of the source is looked at to recognise a playlist or manifest.
pub(crate) const HEAD_BYTES: usize = 1024;

/// The first [`HEAD_BYTES`] of the file (fewer if it is shorter).
pub(crate) async fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = tokio::fs::File::open(path).await?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    file.take(HEAD_BYTES as u64).read_to_end(&mut head).await?;
    Ok(head)
}

/// Why the local stack will not read this source (its key and first bytes), or `None` to go on.
pub(crate) fn refusal(src_video: &str, head: &[u8]) -> Option<String> {
    const WHY: &str = "their entries could point anywhere (other hosts, or files on this machine that \
         the local CloudFront would then serve)";
    let start = strip_leading(head);
    let hls = src_video.to_ascii_lowercase().ends_with(".m3u8")
        || start
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"#EXTM3U"));
    if hls {
        return Some(format!(
            "the local stack does not read HLS playlist inputs (.m3u8): {WHY}. MediaConvert on AWS \
             does read them; to try this locally, upload the video file itself"
        ));
    }
    let kind = if start.starts_with(b"ffconcat") {
        "an ffmpeg concat list"
    } else if start.starts_with(b"<") {
        "an XML manifest (DASH, Smooth Streaming or similar)"
    } else {
        return None;
    };
    Some(format!(
        "the local stack does not read playlists or manifests as inputs, and this file is {kind}: \
         {WHY}. Upload the video file itself"
    ))
}

/// Without a UTF-8 byte order mark and leading ASCII white space.
fn strip_leading(head: &[u8]) -> &[u8] {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let first = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    &head[first..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_are_refused_by_name_and_by_content() {
        let playlist = b"#EXTM3U\n#EXTINF:10,\n/etc/passwd\n";
        for (key, head) in [
            ("uploads/show.m3u8", &playlist[..]),
            ("uploads/SHOW.M3U8", b"anything"),
            ("uploads/empty.m3u8", b""),
            ("uploads/renamed.mp4", playlist),
            ("uploads/renamed.mov", b"\xef\xbb\xbf\r\n #extm3u\n"),
        ] {
            let reason = refusal(key, head).unwrap_or_else(|| panic!("{key} accepted"));
            assert!(
                reason.contains("does not read HLS playlist inputs"),
                "{reason}"
            );
            assert!(
                reason.contains("MediaConvert on AWS does read them"),
                "{reason}"
            );
        }
    }

    #[test]
    fn other_manifests_are_refused() {
        let mpd = b"<?xml version=\"1.0\"?><MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\">";
        let reason = refusal("uploads/a.mp4", mpd).expect("an MPD is refused");
        assert!(reason.contains("an XML manifest"), "{reason}");
        let reason = refusal("uploads/a.mkv", b"ffconcat version 1.0\nfile /etc/passwd\n")
            .expect("a concat list is refused");
        assert!(reason.contains("an ffmpeg concat list"), "{reason}");
    }

    #[test]
    fn media_is_read() {
        let mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";
        assert_eq!(refusal("uploads/clip.mp4", mp4), None);
        let mpegts = [0x47u8, 0x40, 0x00, 0x10];
        assert_eq!(refusal("uploads/clip.m2ts", &mpegts), None);
        assert_eq!(refusal("uploads/m3u8-notes.mp4", b"\x1aE\xdf\xa3"), None);
        assert_eq!(refusal("uploads/empty.mp4", b""), None);
    }

    #[tokio::test]
    async fn reads_at_most_the_head() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big");
        std::fs::write(&path, vec![7u8; HEAD_BYTES * 3]).expect("write");
        assert_eq!(read_head(&path).await.expect("read").len(), HEAD_BYTES);
        let short = dir.path().join("short");
        std::fs::write(&short, b"abc").expect("write");
        assert_eq!(read_head(&short).await.expect("read"), b"abc");
    }
}
