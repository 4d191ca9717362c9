//! The outputs named as MediaConvert names them: ffmpeg's scratch files (`v0.m3u8`, `thumb_0.jpg`, …)
//! become `<base><NameModifier>…` keys, and the HLS playlists' URIs are rewritten to the
//! percent-encoded real names so players can fetch them. Also the packaged duration, read from the
//! first variant playlist.

use std::collections::HashMap;
use std::path::Path;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::{
    CmafOutput, OutputFile, TranscodeError, TranscodeOutput, TranscodePlan, WrittenOutput,
};

/// Characters percent-encoded in playlist URIs: controls, space, the URI delimiters and `%`, `+`
/// (non-ASCII is always encoded).
const URI_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Percent-encodes one path segment for a playlist URI.
pub(super) fn encode_uri_segment(name: &str) -> String {
    utf8_percent_encode(name, URI_SEGMENT).to_string()
}

/// Replaces every URI line (not a tag, not blank) found in `names` by its encoded real name.
fn rewrite_playlist(text: &str, names: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.lines() {
        let trimmed = line.trim();
        match names.get(trimmed) {
            Some(real) if !trimmed.starts_with('#') => out.push_str(&encode_uri_segment(real)),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

async fn file_names(dir: &Path) -> Result<Vec<String>, std::io::Error> {
    let mut names = Vec::new();
    let mut entries = tokio::fs::read_dir(dir).await?;
    while let Some(entry) = entries.next_entry().await? {
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// `v<i>.m3u8` → `<base><mod>.m3u8`, `v<i>_<n>.ts` → `<base><mod>_<n>.ts`, `master.m3u8` → `<base>.m3u8`.
pub(super) async fn name_hls_outputs(
    plan: &TranscodePlan,
    work: &Path,
    output: &mut TranscodeOutput,
) -> Result<(), TranscodeError> {
    let dir = work.join("hls");
    let mut names: HashMap<String, String> = HashMap::new();
    for scratch in file_names(&dir).await? {
        let real = if scratch == "master.m3u8" {
            format!("{}.m3u8", plan.base_name)
        } else {
            let Some(rest) = scratch.strip_prefix('v') else {
                continue;
            };
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let Some(rendition) = digits
                .parse::<usize>()
                .ok()
                .and_then(|i| plan.ladder.get(i))
            else {
                continue;
            };
            format!(
                "{}{}{}",
                plan.base_name,
                rendition.hls_name_modifier(),
                &rest[digits.len()..]
            )
        };
        names.insert(scratch, real);
    }
    for (scratch, real) in &names {
        let path = dir.join(scratch);
        if scratch.ends_with(".m3u8") {
            let text = tokio::fs::read_to_string(&path).await?;
            tokio::fs::write(&path, rewrite_playlist(&text, &names)).await?;
        }
        output.files.push(OutputFile {
            relative_key: format!("hls/{real}"),
            path,
        });
    }
    output.hls_master = format!("hls/{}.m3u8", plan.base_name);
    if !names.contains_key("master.m3u8") {
        return Err(TranscodeError::Failed {
            message: "ffmpeg wrote no HLS master playlist".into(),
            input_unreadable: false,
        });
    }
    for (i, rendition) in plan.ladder.iter().enumerate() {
        output.hls_variants.push(WrittenOutput {
            relative_key: format!(
                "hls/{}{}.m3u8",
                plan.base_name,
                rendition.hls_name_modifier()
            ),
            width: rendition.width,
            height: rendition.height,
        });
        if i == 0 {
            let text = tokio::fs::read_to_string(dir.join("v0.m3u8")).await?;
            output.duration_ms = playlist_duration_ms(&text);
        }
    }
    output
        .files
        .sort_by(|a, b| a.relative_key.cmp(&b.relative_key));
    Ok(())
}

/// The sum of a media playlist's `#EXTINF` durations, in milliseconds.
pub(super) fn playlist_duration_ms(text: &str) -> u64 {
    let seconds: f64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .filter_map(|rest| rest.split(',').next())
        .filter_map(|d| d.trim().parse::<f64>().ok())
        .sum();
    (seconds * 1000.0).round() as u64
}

pub(super) async fn name_dash_outputs(
    plan: &TranscodePlan,
    work: &Path,
    output: &mut TranscodeOutput,
) -> Result<(), TranscodeError> {
    let dir = work.join("dash");
    let mut found_manifest = false;
    for scratch in file_names(&dir).await? {
        let real = if scratch == "stream.mpd" {
            found_manifest = true;
            format!("{}.mpd", plan.base_name)
        } else {
            // Segment names carry no base name, so the manifest's templates need no rewriting.
            scratch.clone()
        };
        output.files.push(OutputFile {
            relative_key: format!("dash/{real}"),
            path: dir.join(&scratch),
        });
    }
    if !found_manifest {
        return Err(TranscodeError::Failed {
            message: "ffmpeg wrote no DASH manifest".into(),
            input_unreadable: false,
        });
    }
    output.dash_manifest = Some(format!("dash/{}.mpd", plan.base_name));
    output.dash_representations = plan
        .ladder
        .iter()
        .map(|r| WrittenOutput {
            relative_key: format!("dash/{}.mpd", plan.base_name),
            width: r.width,
            height: r.height,
        })
        .collect();
    Ok(())
}

/// The CMAF pass's files under `cmaf/`: `stream.mpd` → `<base>.mpd`, `stream.m3u8` → `<base>.m3u8`;
/// the media playlists and segments keep their names (they carry no base name, so neither the
/// manifest nor the master needs rewriting).
pub(super) async fn name_cmaf_outputs(
    plan: &TranscodePlan,
    work: &Path,
    output: &mut TranscodeOutput,
) -> Result<(), TranscodeError> {
    let dir = work.join("cmaf");
    let dash_manifest = format!("cmaf/{}.mpd", plan.base_name);
    let hls_master = format!("cmaf/{}.m3u8", plan.base_name);
    let (mut found_manifest, mut found_master) = (false, false);
    for scratch in file_names(&dir).await? {
        let relative_key = match scratch.as_str() {
            "stream.mpd" => {
                found_manifest = true;
                dash_manifest.clone()
            }
            "stream.m3u8" => {
                found_master = true;
                hls_master.clone()
            }
            _ => format!("cmaf/{scratch}"),
        };
        output.files.push(OutputFile {
            relative_key,
            path: dir.join(&scratch),
        });
    }
    if !(found_manifest && found_master) {
        return Err(TranscodeError::Failed {
            message: "ffmpeg wrote no CMAF manifest or playlist".into(),
            input_unreadable: false,
        });
    }
    output.cmaf = Some(CmafOutput {
        dash_manifest,
        hls_master,
    });
    Ok(())
}

/// `thumb_<n>.jpg` → `<base>_thumb.<n>.jpg` (7-digit, 0-based counter).
pub(super) async fn name_thumbnails(
    plan: &TranscodePlan,
    work: &Path,
    output: &mut TranscodeOutput,
) -> Result<(), TranscodeError> {
    let dir = work.join("thumbnails");
    for scratch in file_names(&dir).await? {
        let Some(counter) = scratch
            .strip_prefix("thumb_")
            .and_then(|s| s.strip_suffix(".jpg"))
        else {
            continue;
        };
        let key = format!("thumbnails/{}_thumb.{counter}.jpg", plan.base_name);
        output.thumbnails.push(key.clone());
        output.files.push(OutputFile {
            relative_key: key,
            path: dir.join(&scratch),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_uris_are_rewritten_and_encoded() {
        let names = HashMap::from([
            ("v0.m3u8".to_owned(), "Año Nuevo_Ott_x.m3u8".to_owned()),
            ("v0_00001.ts".to_owned(), "A+B 100%_00001.ts".to_owned()),
        ]);
        let text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0.m3u8\n#EXTINF:3.0,\nv0_00001.ts\n";
        let rewritten = rewrite_playlist(text, &names);
        assert_eq!(
            rewritten,
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nA%C3%B1o%20Nuevo_Ott_x.m3u8\n#EXTINF:3.0,\nA%2BB%20100%25_00001.ts\n"
        );
    }

    #[test]
    fn duration_is_the_sum_of_segments() {
        let text = "#EXTM3U\n#EXTINF:3.000000,\na.ts\n#EXTINF:2.002,\nb.ts\n#EXT-X-ENDLIST\n";
        assert_eq!(playlist_duration_ms(text), 5002);
    }
}
