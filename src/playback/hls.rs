//! The HLS check (the HLS group and the CMAF group's HLS side): the master playlist's ladder (with
//! the EXT-X-MEDIA renditions that have their own playlist), each media playlist read and summed,
//! and each one's init segment (`EXT-X-MAP`) and first and last segments probed, byte ranges
//! (`EXT-X-BYTERANGE`) included.

use m3u8_rs::{MasterPlaylist, MediaPlaylist, Playlist};

use super::fetch::Fetcher;
use super::rules::{self, Resource};
use super::steps::Checker;
use super::{FormatSection, LadderRow, Topic};
use crate::contract::safe_url::SafeUrl;

/// A playlist to read: its URI as the master wrote it, and the row it fills.
struct Entry {
    uri: String,
    row: LadderRow,
}

/// Checks the HLS master at `raw_url` (a record's URL: contract form) into `section`.
pub(crate) async fn check(
    f: &mut Fetcher<'_>,
    section: &mut FormatSection,
    raw_url: &str,
    source_seconds: Option<f64>,
) {
    let mut c = Checker::new(section);
    let master_url = match SafeUrl::from_contract(raw_url) {
        Ok(url) => url,
        Err(why) => return c.refused("the master playlist", raw_url, &why),
    };
    let Some(body) = c
        .manifest(
            f,
            &master_url,
            Resource::HlsPlaylist,
            "the master playlist",
            true,
        )
        .await
    else {
        return c.finish();
    };
    let entries = match m3u8_rs::parse_playlist_res(&body) {
        Ok(Playlist::MasterPlaylist(master)) => ladder(&master),
        // A record may name a media playlist directly: one rung, already read.
        Ok(Playlist::MediaPlaylist(media)) => {
            let mut row = LadderRow {
                kind: "video".into(),
                name: rules::short_name(master_url.url()),
                ..LadderRow::default()
            };
            check_media(f, &mut c, &master_url, &media, &mut row, source_seconds).await;
            c.section.ladder.push(row);
            return c.finish();
        }
        Err(e) => {
            c.fail(
                Topic::Parse,
                format!(
                    "the master playlist is not a playlist HLS players read: {}",
                    parse_error(&e)
                ),
                Some(master_url.as_str()),
                "Run the job again; if it repeats, the job template's HLS group is broken.",
            );
            return c.finish();
        }
    };
    if entries.is_empty() {
        c.fail(
            Topic::Structure,
            "the master playlist lists no variants",
            Some(master_url.as_str()),
            "Run the job again; if it repeats, check the job template's HLS group.",
        );
        return c.finish();
    }
    let max = f.limits.max_variants;
    if entries.len() > max {
        c.warn(
            Topic::Limit,
            format!(
                "{} playlists listed; the first {max} were checked",
                entries.len()
            ),
            Some(master_url.as_str()),
            "Nothing to do: the limit keeps a check short.",
        );
    }
    for Entry { uri, mut row } in entries.into_iter().take(max) {
        match rules::resolve(&master_url, &uri) {
            Err(why) => {
                c.refused(&format!("variant {}", row.name), &uri, &why);
            }
            Ok(url) => {
                let what = format!("variant playlist {}", row.name);
                if let Some(body) = c
                    .manifest(f, &url, Resource::HlsPlaylist, &what, false)
                    .await
                {
                    match m3u8_rs::parse_media_playlist_res(&body) {
                        Ok(media) => {
                            row.ok = true;
                            check_media(f, &mut c, &url, &media, &mut row, source_seconds).await;
                        }
                        Err(e) => c.fail(
                            Topic::Parse,
                            format!("{what} is not a media playlist: {}", parse_error(&e)),
                            Some(url.as_str()),
                            "Run the job again.",
                        ),
                    }
                }
            }
        }
        c.section.ladder.push(row);
    }
    c.finish();
}

/// The rows of the master: its variants (I-frame playlists included), then the renditions with a
/// playlist of their own (audio, subtitles).
fn ladder(master: &MasterPlaylist) -> Vec<Entry> {
    let mut entries: Vec<Entry> = master
        .variants
        .iter()
        .map(|v| Entry {
            uri: v.uri.clone(),
            row: LadderRow {
                kind: if v.is_i_frame { "i-frames" } else { "video" }.into(),
                name: v.uri.clone(),
                width: v.resolution.map(|r| r.width),
                height: v.resolution.map(|r| r.height),
                bandwidth: Some(v.bandwidth),
                average_bandwidth: v.average_bandwidth,
                codecs: v.codecs.clone(),
                frame_rate: v.frame_rate,
                ..LadderRow::default()
            },
        })
        .collect();
    entries.extend(master.alternatives.iter().filter_map(|m| {
        let uri = m.uri.clone()?;
        Some(Entry {
            row: LadderRow {
                kind: m.media_type.to_string().to_ascii_lowercase(),
                name: uri.clone(),
                ..LadderRow::default()
            },
            uri,
        })
    }));
    entries
}

/// The first and last media segments and the init segment of a media playlist, where they are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) segments: u64,
    pub(crate) seconds: f64,
    /// URI and (offset, length) when byte-ranged.
    pub(crate) init: Option<(String, Option<(u64, u64)>)>,
    pub(crate) first: Option<(String, Option<(u64, u64)>)>,
    pub(crate) last: Option<(String, Option<(u64, u64)>)>,
}

/// Where each segment is: a byte range without an offset starts where the previous range of the
/// same URI ended; an `EXT-X-MAP` holds for the segments after it.
pub(crate) fn plan(media: &MediaPlaylist) -> Plan {
    let mut seconds = 0.0;
    let mut init = None;
    let mut first = None;
    let mut last = None;
    let mut previous_end: Option<(String, u64)> = None;
    for segment in &media.segments {
        seconds += f64::from(segment.duration);
        if init.is_none()
            && let Some(map) = &segment.map
        {
            let range = map
                .byte_range
                .as_ref()
                .map(|r| (r.offset.unwrap_or(0), r.length));
            init = Some((map.uri.clone(), range));
        }
        let range = segment.byte_range.as_ref().map(|r| {
            let offset = r.offset.unwrap_or_else(|| match &previous_end {
                Some((uri, end)) if *uri == segment.uri => *end,
                _ => 0,
            });
            previous_end = Some((segment.uri.clone(), offset.saturating_add(r.length)));
            (offset, r.length)
        });
        let here = (segment.uri.clone(), range);
        if first.is_none() {
            first = Some(here.clone());
        }
        last = Some(here);
    }
    Plan {
        segments: media.segments.len() as u64,
        seconds,
        init,
        first,
        last,
    }
}

async fn check_media(
    f: &mut Fetcher<'_>,
    c: &mut Checker<'_>,
    playlist_url: &SafeUrl,
    media: &MediaPlaylist,
    row: &mut LadderRow,
    source_seconds: Option<f64>,
) {
    let plan = plan(media);
    row.segments = Some(plan.segments);
    row.duration_seconds = Some(plan.seconds);
    row.ok = true;
    let name = row.name.clone();
    if !media.end_list {
        c.warn(
            Topic::Structure,
            format!("{name} has no EXT-X-ENDLIST: players treat it as a live stream"),
            Some(playlist_url.as_str()),
            "A finished encode's playlist ends with EXT-X-ENDLIST; run the job again.",
        );
    }
    if plan.segments == 0 {
        c.fail(
            Topic::Structure,
            format!("{name} lists no segments"),
            Some(playlist_url.as_str()),
            "Run the job again.",
        );
        row.ok = false;
        return;
    }
    if row.kind != "subtitles"
        && let Some(source) = source_seconds
        && let Some(diff) = rules::duration_mismatch(plan.seconds, source)
    {
        c.warn(
            Topic::Duration,
            format!(
                "{name} lasts {:.1} s, the source {source:.1} s ({diff:+.1} s)",
                plan.seconds
            ),
            Some(playlist_url.as_str()),
            "Part of the video may be missing: check the encode job's output.",
        );
    }
    let mut probes = Vec::new();
    if let Some(init) = &plan.init {
        probes.push(("init segment", init.clone()));
    }
    if let Some(first) = &plan.first {
        probes.push(("first segment", first.clone()));
    }
    if let Some(last) = plan.last.as_ref().filter(|_| plan.segments > 1) {
        probes.push(("last segment", last.clone()));
    }
    for (label, (uri, range)) in probes {
        match rules::resolve(playlist_url, &uri) {
            Ok(url) => {
                let what = format!("{label} {} of {name}", rules::short_name(url.url()));
                if !c.probe(f, &url, range, &what).await {
                    row.ok = false;
                }
            }
            Err(why) => {
                c.refused(&format!("{label} of {name}"), &uri, &why);
                row.ok = false;
            }
        }
    }
}

fn parse_error<E: std::fmt::Debug>(e: &E) -> String {
    // nom's errors carry the remaining input: keep the kind, not kilobytes of playlist.
    let text = format!("{e:?}");
    let kind = text
        .split("code: ")
        .nth(1)
        .and_then(|rest| rest.split([' ', '}', ')']).next())
        .unwrap_or("unreadable");
    format!("parse error ({kind})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(text: &str) -> MediaPlaylist {
        m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap()
    }

    #[test]
    fn plans_ts_segments() {
        let p = plan(&media(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n\
             #EXTINF:6.0,\nv0_00001.ts\n#EXTINF:6.0,\nv0_00002.ts\n#EXTINF:2.5,\nv0_00003.ts\n#EXT-X-ENDLIST\n",
        ));
        assert_eq!(p.segments, 3);
        assert!((p.seconds - 14.5).abs() < 1e-6);
        assert_eq!(p.init, None);
        assert_eq!(p.first, Some(("v0_00001.ts".into(), None)));
        assert_eq!(p.last, Some(("v0_00003.ts".into(), None)));
    }

    #[test]
    fn plans_byte_ranges_and_the_init_map() {
        let p = plan(&media(
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n\
             #EXT-X-MAP:URI=\"video.mp4\",BYTERANGE=\"800@0\"\n\
             #EXTINF:6.0,\n#EXT-X-BYTERANGE:1000@800\nvideo.mp4\n\
             #EXTINF:6.0,\n#EXT-X-BYTERANGE:2000\nvideo.mp4\n\
             #EXTINF:3.0,\n#EXT-X-BYTERANGE:500\nvideo.mp4\n#EXT-X-ENDLIST\n",
        ));
        assert_eq!(p.segments, 3);
        assert_eq!(p.init, Some(("video.mp4".into(), Some((0, 800)))));
        assert_eq!(p.first, Some(("video.mp4".into(), Some((800, 1000)))));
        assert_eq!(p.last, Some(("video.mp4".into(), Some((3800, 500)))));
    }

    #[test]
    fn the_ladder_has_variants_and_renditions_with_playlists() {
        let text = "#EXTM3U\n\
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",URI=\"audio.m3u8\"\n\
            #EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"cc1\",INSTREAM-ID=\"CC1\"\n\
            #EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1800000,CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO=\"a\"\n\
            v1.m3u8\n\
            #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n\
            v0.m3u8\n";
        let Ok(Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(text.as_bytes())
        else {
            panic!("not a master");
        };
        let entries = ladder(&master);
        let names: Vec<_> = entries.iter().map(|e| e.uri.as_str()).collect();
        assert_eq!(names, ["v1.m3u8", "v0.m3u8", "audio.m3u8"]);
        let top = &entries[0].row;
        assert_eq!(top.resolution(), "1280x720");
        assert_eq!(top.bandwidth, Some(2_000_000));
        assert_eq!(top.average_bandwidth, Some(1_800_000));
        assert_eq!(top.codecs.as_deref(), Some("avc1.64001f,mp4a.40.2"));
        assert_eq!(top.frame_rate, Some(30.0));
        assert_eq!(entries[2].row.kind, "audio");
    }

    #[test]
    fn parse_errors_stay_short() {
        let e = m3u8_rs::parse_media_playlist_res(b"not a playlist at all").unwrap_err();
        let text = parse_error(&e);
        assert!(text.len() < 60, "{text}");
    }
}
