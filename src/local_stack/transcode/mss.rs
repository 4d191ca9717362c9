//! The MS Smooth (MSS) group of the all-groups template: ffmpeg's `ismv` muxer stream-copies each
//! rung's encode (its video with its own AAC) into `mss/<base>_mss_<h>p.ismv`, and the two manifests
//! IIS Media Services reads are built from what those fragments really hold (read back with
//! `mp4_boxes`): the server manifest `mss/<base>.ism` (SMIL: which file and track serves each
//! bit rate) and the client manifest `mss/<base>.ismc` (SmoothStreamingMedia: the quality levels,
//! codec data and every fragment's duration). As on AWS, the files are only served as files:
//! playing them needs an IIS-style origin.

use std::path::{Path, PathBuf};

use super::args::{audio_bitrate, copy_inputs, os};
use super::mp4_boxes::{Codec, Track, read_tracks};
use super::{OutputFile, TranscodeError, TranscodeOutput, TranscodePlan, WrittenOutput};

/// The client manifest's TimeScale (Smooth Streaming's default, 100 ns units).
const TIMESCALE: i128 = 10_000_000;

/// The MSS group as written: the server manifest and one `.ismv` per rung, relative to `<guid>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MssOutput {
    pub manifest: String,
    pub outputs: Vec<WrittenOutput>,
}

/// The rung's NameModifier in the all-groups template: `_mss_<height>p`.
pub(crate) fn mss_name_modifier(height: u32) -> String {
    format!("_mss_{height}p")
}

/// One ffmpeg run, one `mss/r<i>.ismv` per rendition: its video and its AAC, copied. Timestamps
/// made non-negative so that every fragment time (the AAC priming starts before zero) can be
/// written in the client manifest.
pub(super) fn mss_args(renditions: &[PathBuf], work: &Path) -> Vec<String> {
    let mut args = copy_inputs(renditions);
    for i in 0..renditions.len() {
        args.extend([
            "-map".into(),
            format!("{i}:v:0"),
            "-map".into(),
            format!("{i}:a:0"),
        ]);
        args.extend(
            [
                "-c",
                "copy",
                "-avoid_negative_ts",
                "make_non_negative",
                "-f",
                "ismv",
            ]
            .map(String::from),
        );
        args.push(format!(
            "file:{}",
            os(&work.join("mss").join(format!("r{i}.ismv")))
        ));
    }
    args
}

/// One `.ismv` as read back: its real name, the bit rate the manifests give it, and its tracks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Level {
    pub src: String,
    pub bitrate: u32,
    pub track: Track,
}

/// Names the MSS pass's files, writes the manifests beside them and lists them for upload.
pub(super) async fn name_mss_outputs(
    plan: &TranscodePlan,
    work: &Path,
    output: &mut TranscodeOutput,
) -> Result<(), TranscodeError> {
    let dir = work.join("mss");
    let mut video = Vec::new();
    let mut audio = None;
    let mut written = Vec::new();
    for (i, rung) in plan.ladder.iter().enumerate() {
        let path = dir.join(format!("r{i}.ismv"));
        let src = format!("{}{}.ismv", plan.base_name, mss_name_modifier(rung.height));
        let tracks = read_ismv(path.clone()).await?;
        let mut video_track = None;
        for track in tracks {
            match track.codec {
                Codec::Avc { .. } if video_track.is_none() => video_track = Some(track),
                // The top rung's audio is the group's one audio (the best of the rungs' tracks).
                Codec::Aac { .. } if i + 1 == plan.ladder.len() => {
                    audio = Some(Level {
                        src: src.clone(),
                        bitrate: audio_bitrate(rung),
                        track,
                    });
                }
                _ => {}
            }
        }
        let Some(track) = video_track else {
            return Err(failed(format!("{src} has no H.264 track")));
        };
        video.push(Level {
            src: src.clone(),
            bitrate: rung.bitrate,
            track,
        });
        let relative_key = format!("mss/{src}");
        output.files.push(OutputFile {
            relative_key: relative_key.clone(),
            path,
        });
        written.push(WrittenOutput {
            relative_key,
            width: rung.width,
            height: rung.height,
        });
    }
    let Some(audio) = audio else {
        return Err(failed("the top MSS rendition has no AAC track".into()));
    };
    let client_name = format!("{}.ismc", plan.base_name);
    let server = server_manifest(&client_name, &video, &audio);
    let client = client_manifest(&video, &audio)?;
    for (scratch, text, real) in [
        ("manifest.ism", server, format!("{}.ism", plan.base_name)),
        ("manifest.ismc", client, client_name),
    ] {
        let path = dir.join(scratch);
        tokio::fs::write(&path, text).await?;
        output.files.push(OutputFile {
            relative_key: format!("mss/{real}"),
            path,
        });
    }
    output.mss = Some(MssOutput {
        manifest: format!("mss/{}.ism", plan.base_name),
        outputs: written,
    });
    Ok(())
}

fn failed(message: String) -> TranscodeError {
    TranscodeError::Failed {
        message,
        input_unreadable: false,
    }
}

/// The tracks of one `.ismv` (read off the async runtime: it seeks through a large file).
async fn read_ismv(path: PathBuf) -> Result<Vec<Track>, TranscodeError> {
    let read = tokio::task::spawn_blocking(move || -> Result<_, TranscodeError> {
        let mut file = std::fs::File::open(&path)?;
        let len = file.metadata()?.len();
        read_tracks(&mut std::io::BufReader::new(&mut file), len)
            .map_err(|e| failed(format!("ffmpeg's {} is unreadable: {e}", path.display())))
    });
    read.await
        .map_err(|e| failed(format!("reading the MSS files failed: {e}")))?
}

/// `&`, `<`, `>`, `"` and `'` escaped for an XML attribute.
fn xml_attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The server manifest: a SMIL `switch` with one `video` per rung and the one `audio`, each naming
/// its file, its bit rate and its track.
pub(super) fn server_manifest(client_name: &str, video: &[Level], audio: &Level) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <smil xmlns=\"http://www.w3.org/2001/SMIL20/Language\">\n  <head>\n",
    );
    line(
        &mut out,
        &format!(
            "    <meta name=\"clientManifestRelativePath\" content=\"{}\"/>\n  </head>\n  <body>\n    <switch>",
            xml_attr(client_name)
        ),
    );
    let levels = video.iter().map(|l| ("video", l));
    for (kind, level) in levels.chain([("audio", audio)]) {
        line(
            &mut out,
            &format!(
                "      <{kind} src=\"{}\" systemBitrate=\"{}\">\n        \
             <param name=\"trackID\" value=\"{}\" valueType=\"data\"/>\n      </{kind}>",
                xml_attr(&level.src),
                level.bitrate,
                level.track.id
            ),
        );
    }
    out.push_str("    </switch>\n  </body>\n</smil>\n");
    out
}

/// A track's fragments as (start, duration) in the manifest's TimeScale.
fn chunks(track: &Track) -> Vec<(i128, i128)> {
    let scale = i128::from(track.timescale);
    track
        .fragments
        .iter()
        .map(|f| {
            (
                i128::from(f.start) * TIMESCALE / scale,
                i128::from(f.duration) * TIMESCALE / scale,
            )
        })
        .collect()
}

/// `c` elements: `t` where a fragment does not start where the one before ended (the first, unless
/// it starts at zero), `d` always.
fn write_chunks(out: &mut String, chunks: &[(i128, i128)]) {
    let mut next = 0i128;
    for (n, (start, duration)) in chunks.iter().enumerate() {
        let t = if *start != next && *start >= 0 {
            format!(" t=\"{start}\"")
        } else {
            String::new()
        };
        line(out, &format!("    <c n=\"{n}\"{t} d=\"{duration}\"/>"));
        next = start.max(&0) + duration;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Appends `text` and a line break.
fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

/// The client manifest: one video StreamIndex with a QualityLevel per rung (its codec data the
/// Annex B SPS and PPS) and the fragments' durations, one audio StreamIndex likewise. Every rung's
/// fragments must line up, as a player switches between them at fragment boundaries.
pub(super) fn client_manifest(video: &[Level], audio: &Level) -> Result<String, TranscodeError> {
    let Some(first) = video.first() else {
        return Err(failed("the MSS group has no video".into()));
    };
    let video_chunks = chunks(&first.track);
    if video_chunks.is_empty() {
        return Err(failed(format!("{} holds no fragments", first.src)));
    }
    if let Some(level) = video
        .iter()
        .find(|l| l.track.fragments.len() != video_chunks.len())
    {
        return Err(failed(format!(
            "the MSS renditions' fragments do not line up ({} has {}, {} has {})",
            first.src,
            video_chunks.len(),
            level.src,
            level.track.fragments.len()
        )));
    }
    let audio_chunks = chunks(&audio.track);
    let end = |c: &[(i128, i128)]| {
        c.first().map_or(0, |(start, _)| *start.max(&0)) + c.iter().map(|(_, d)| d).sum::<i128>()
    };
    let duration = end(&video_chunks).max(end(&audio_chunks));
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <SmoothStreamingMedia MajorVersion=\"2\" MinorVersion=\"0\" TimeScale=\"{TIMESCALE}\" Duration=\"{duration}\">\n"
    );
    let (mut max_width, mut max_height) = (0, 0);
    let mut levels = String::new();
    for (index, level) in video.iter().enumerate() {
        let Codec::Avc {
            width,
            height,
            sps,
            pps,
        } = &level.track.codec
        else {
            return Err(failed(format!("{} has no H.264 track", level.src)));
        };
        max_width = max_width.max(*width);
        max_height = max_height.max(*height);
        let private: String = sps
            .iter()
            .chain(pps)
            .map(|nal| format!("00000001{}", hex(nal)))
            .collect();
        line(
            &mut levels,
            &format!(
                "    <QualityLevel Index=\"{index}\" Bitrate=\"{}\" FourCC=\"H264\" MaxWidth=\"{width}\" MaxHeight=\"{height}\" CodecPrivateData=\"{private}\"/>",
                level.bitrate
            ),
        );
    }
    line(
        &mut out,
        &format!(
            "  <StreamIndex Type=\"video\" Name=\"video\" Chunks=\"{}\" QualityLevels=\"{}\" Url=\"QualityLevels({{bitrate}})/Fragments(video={{start time}})\" MaxWidth=\"{max_width}\" MaxHeight=\"{max_height}\" DisplayWidth=\"{max_width}\" DisplayHeight=\"{max_height}\">",
            video_chunks.len(),
            video.len()
        ),
    );
    out.push_str(&levels);
    write_chunks(&mut out, &video_chunks);
    out.push_str("  </StreamIndex>\n");
    let Codec::Aac {
        sample_rate,
        channels,
        config,
    } = &audio.track.codec
    else {
        return Err(failed(format!("{} has no AAC track", audio.src)));
    };
    line(
        &mut out,
        &format!(
            "  <StreamIndex Type=\"audio\" Name=\"audio\" Chunks=\"{}\" QualityLevels=\"1\" Url=\"QualityLevels({{bitrate}})/Fragments(audio={{start time}})\">\n    \
         <QualityLevel Index=\"0\" Bitrate=\"{}\" FourCC=\"AACL\" SamplingRate=\"{sample_rate}\" Channels=\"{channels}\" BitsPerSample=\"16\" PacketSize=\"4\" AudioTag=\"255\" CodecPrivateData=\"{}\"/>",
            audio_chunks.len(),
            audio.bitrate,
            hex(config)
        ),
    );
    write_chunks(&mut out, &audio_chunks);
    out.push_str("  </StreamIndex>\n</SmoothStreamingMedia>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_stack::transcode::mp4_boxes::Fragment;
    use crate::local_stack::transcode::{Rotation, run::run_ffmpeg};
    use crate::local_stack::workflow::{OutputGroups, hls_ladder};

    /// An XML element as parsed back: name, attributes, child elements.
    #[derive(Debug)]
    struct Element {
        name: String,
        attrs: Vec<(String, String)>,
        children: Vec<Element>,
    }

    impl Element {
        fn attr(&self, name: &str) -> &str {
            self.attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("{} has no {name}", self.name))
        }

        fn all(&self, name: &str) -> Vec<&Element> {
            self.children.iter().filter(|c| c.name == name).collect()
        }
    }

    /// A strict parser for the manifests' XML subset: the declaration, then one element tree of
    /// quoted attributes and whitespace between tags; anything else panics.
    fn parse_xml(text: &str) -> Element {
        let rest = text
            .strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
            .expect("declaration");
        let (root, rest) = element(rest.trim_start());
        assert!(rest.trim().is_empty(), "trailing {rest:?}");
        root
    }

    fn unescape(value: &str) -> String {
        assert!(!value.contains('<'), "{value}");
        value
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    }

    fn element(text: &str) -> (Element, &str) {
        let text = text.strip_prefix('<').expect("a tag");
        let end = text.find(|c: char| c.is_whitespace() || c == '>' || c == '/');
        let (name, mut rest) = text.split_at(end.expect("tag end"));
        let mut attrs = Vec::new();
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix("/>") {
                let element = Element {
                    name: name.into(),
                    attrs,
                    children: vec![],
                };
                return (element, after);
            }
            if let Some(after) = rest.strip_prefix('>') {
                rest = after;
                break;
            }
            let (key, after) = rest.split_once("=\"").expect("an attribute");
            let (value, after) = after.split_once('"').expect("a closing quote");
            assert!(!key.contains(char::is_whitespace), "{key}");
            attrs.push((key.to_owned(), unescape(value)));
            rest = after;
        }
        let mut children = Vec::new();
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix(&format!("</{name}>")) {
                let element = Element {
                    name: name.into(),
                    attrs,
                    children,
                };
                return (element, after);
            }
            let (child, after) = element(rest);
            children.push(child);
            rest = after;
        }
    }

    fn fragments(starts_and_durations: &[(i64, u64)]) -> Vec<Fragment> {
        starts_and_durations
            .iter()
            .map(|&(start, duration)| Fragment { start, duration })
            .collect()
    }

    fn video(src: &str, bitrate: u32, width: u32, height: u32) -> Level {
        Level {
            src: src.into(),
            bitrate,
            track: Track {
                id: 1,
                timescale: 10_000_000,
                codec: Codec::Avc {
                    width,
                    height,
                    sps: vec![vec![0x67, 0x64, 0x00, 0x1f]],
                    pps: vec![vec![0x68, 0xeb]],
                },
                fragments: fragments(&[(800_000, 30_000_000), (30_800_000, 13_200_000)]),
            },
        }
    }

    fn audio() -> Level {
        Level {
            src: "A&B <\"x\">_mss_360p.ismv".into(),
            bitrate: 64_000,
            track: Track {
                id: 2,
                // 48 kHz: converted to the manifest's 100 ns units.
                timescale: 48_000,
                codec: Codec::Aac {
                    sample_rate: 48_000,
                    channels: 2,
                    config: vec![0x11, 0x90],
                },
                fragments: fragments(&[(0, 144_000), (144_000, 64_000)]),
            },
        }
    }

    #[test]
    fn the_manifests_parse_back_with_a_level_per_rung_and_every_fragment() {
        let levels = [
            video("A&B <\"x\">_mss_270p.ismv", 400_000, 480, 270),
            video("A&B <\"x\">_mss_360p.ismv", 1_500_000, 640, 360),
        ];
        let server = parse_xml(&server_manifest("A&B <\"x\">.ismc", &levels, &audio()));
        assert_eq!(server.name, "smil");
        let meta = &server.all("head")[0].all("meta")[0];
        assert_eq!(meta.attr("name"), "clientManifestRelativePath");
        assert_eq!(meta.attr("content"), "A&B <\"x\">.ismc");
        let switch = &server.all("body")[0].all("switch")[0];
        let videos = switch.all("video");
        assert_eq!(videos.len(), 2);
        assert_eq!(videos[1].attr("src"), "A&B <\"x\">_mss_360p.ismv");
        assert_eq!(videos[1].attr("systemBitrate"), "1500000");
        assert_eq!(videos[1].all("param")[0].attr("name"), "trackID");
        assert_eq!(videos[1].all("param")[0].attr("value"), "1");
        let audios = switch.all("audio");
        assert_eq!(audios.len(), 1);
        assert_eq!(audios[0].attr("systemBitrate"), "64000");
        assert_eq!(audios[0].all("param")[0].attr("value"), "2");

        let client = parse_xml(&client_manifest(&levels, &audio()).unwrap());
        assert_eq!(client.name, "SmoothStreamingMedia");
        assert_eq!(client.attr("TimeScale"), "10000000");
        assert_eq!(client.attr("Duration"), "44000000");
        let streams = client.all("StreamIndex");
        assert_eq!(streams.len(), 2);
        let video = streams[0];
        assert_eq!(video.attr("Type"), "video");
        assert_eq!(video.attr("Chunks"), "2");
        assert_eq!(video.attr("MaxWidth"), "640");
        let qualities = video.all("QualityLevel");
        assert_eq!(qualities.len(), 2);
        assert_eq!(qualities[0].attr("Bitrate"), "400000");
        assert_eq!(qualities[0].attr("FourCC"), "H264");
        assert_eq!(qualities[0].attr("MaxHeight"), "270");
        assert_eq!(
            qualities[0].attr("CodecPrivateData"),
            "000000016764001F0000000168EB"
        );
        let chunks = video.all("c");
        // The first fragment starts after zero, so it says when; the next follows on.
        assert_eq!(chunks[0].attr("t"), "800000");
        assert_eq!(chunks[0].attr("d"), "30000000");
        assert!(chunks[1].attrs.iter().all(|(k, _)| k != "t"));
        let audio = streams[1];
        let quality = &audio.all("QualityLevel")[0];
        assert_eq!(quality.attr("FourCC"), "AACL");
        assert_eq!(quality.attr("SamplingRate"), "48000");
        assert_eq!(quality.attr("CodecPrivateData"), "1190");
        let durations: Vec<&str> = audio.all("c").iter().map(|c| c.attr("d")).collect();
        assert_eq!(durations, ["30000000", "13333333"]);
    }

    #[test]
    fn renditions_whose_fragments_differ_are_an_error() {
        let mut short = video("b.ismv", 1, 2, 2);
        short.track.fragments.pop();
        let levels = [video("a.ismv", 1, 2, 2), short];
        let err = client_manifest(&levels, &audio()).unwrap_err().to_string();
        assert!(err.contains("do not line up"), "{err}");
        assert!(client_manifest(&[], &audio()).is_err());
    }

    /// ffmpeg's `ismv` files of two rungs, read back: each holds the rung's H.264 and AAC, and the
    /// manifests' fragment durations sum to the source's within one fragment.
    #[tokio::test]
    async fn the_ismv_files_ffmpeg_writes_make_manifests_of_the_sources_duration() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path();
        std::fs::create_dir_all(work.join("enc")).unwrap();
        std::fs::create_dir_all(work.join("mss")).unwrap();
        let ladder = hls_ladder(720)[..2].to_vec();
        let seconds = 7.3;
        let mut renditions = Vec::new();
        for (i, r) in ladder.iter().enumerate() {
            let path = work.join("enc").join(format!("r{i}.mp4"));
            let args: Vec<String> = format!(
                "-hide_banner -nostdin -y -v error -f lavfi -i testsrc2=size={}x{}:rate=25 \
                 -f lavfi -i sine=frequency=440:sample_rate=48000 -t {seconds} -map 0:v -c:v libx264 \
                 -preset ultrafast -force_key_frames expr:gte(t,n_forced*3) -map 1:a -c:a aac -ac 2",
                r.width, r.height
            )
            .split_whitespace()
            .map(String::from)
            .chain([os(&path)])
            .collect();
            let limit = std::time::Duration::from_secs(120);
            let deadline = tokio::time::Instant::now() + limit;
            run_ffmpeg(&args, deadline, limit, true).await.unwrap();
            renditions.push(path);
        }
        let limit = std::time::Duration::from_secs(120);
        let deadline = tokio::time::Instant::now() + limit;
        run_ffmpeg(&mss_args(&renditions, work), deadline, limit, false)
            .await
            .unwrap();
        let plan = TranscodePlan {
            source: work.join("source.mp4"),
            base_name: "clip 100%".into(),
            ladder: ladder.clone(),
            groups: OutputGroups::AllGroups,
            frame_capture: false,
            rotation: Rotation::None,
            has_audio: true,
            duration_seconds: Some(seconds),
        };
        let mut output = TranscodeOutput {
            files: vec![],
            hls_master: String::new(),
            hls_variants: vec![],
            dash_manifest: None,
            dash_representations: vec![],
            cmaf: None,
            mss: None,
            mp4: None,
            thumbnails: vec![],
            duration_ms: 0,
        };
        name_mss_outputs(&plan, work, &mut output).await.unwrap();
        let keys: Vec<&str> = output
            .files
            .iter()
            .map(|f| f.relative_key.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "mss/clip 100%_mss_270p.ismv",
                "mss/clip 100%_mss_360p.ismv",
                "mss/clip 100%.ism",
                "mss/clip 100%.ismc"
            ]
        );
        let mss = output.mss.unwrap();
        assert_eq!(mss.manifest, "mss/clip 100%.ism");
        assert_eq!(mss.outputs[1].relative_key, "mss/clip 100%_mss_360p.ismv");
        assert_eq!((mss.outputs[1].width, mss.outputs[1].height), (640, 360));
        let server = parse_xml(&std::fs::read_to_string(&output.files[2].path).unwrap());
        let switch = &server.all("body")[0].all("switch")[0];
        assert_eq!(switch.all("video").len(), 2);
        assert_eq!(
            switch.all("audio")[0].attr("src"),
            "clip 100%_mss_360p.ismv"
        );
        let client = parse_xml(&std::fs::read_to_string(&output.files[3].path).unwrap());
        let streams = client.all("StreamIndex");
        let fragment = 3.0;
        for stream in &streams {
            let total: f64 = stream
                .all("c")
                .iter()
                .map(|c| c.attr("d").parse::<f64>().unwrap() / 1e7)
                .sum();
            assert!(
                (total - seconds).abs() < fragment,
                "{}: {total} s",
                stream.attr("Type")
            );
            assert_eq!(
                stream.attr("Chunks").parse::<usize>().unwrap(),
                stream.all("c").len()
            );
        }
        let qualities = streams[0].all("QualityLevel");
        assert_eq!(qualities.len(), 2);
        assert_eq!(qualities[1].attr("MaxWidth"), "640");
        assert!(
            qualities[1]
                .attr("CodecPrivateData")
                .starts_with("0000000167")
        );
        // 7.3 s of 3 s GOPs: three fragments.
        assert_eq!(streams[0].attr("Chunks"), "3");
        assert_eq!(streams[1].all("QualityLevel")[0].attr("Channels"), "2");
    }
}
