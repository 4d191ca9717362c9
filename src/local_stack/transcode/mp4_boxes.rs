//! Reading a fragmented MP4 (an `.ismv` as ffmpeg's `ismv` muxer writes it) for the Smooth
//! Streaming manifests: each track's id, kind, timescale and codec data from `moov`, and every
//! fragment's start and duration from the `moof` boxes (the `tfxd` box Smooth Streaming adds, else
//! `tfdt` and the `trun` sample durations). Only what the manifests need is read; anything
//! malformed is an error, never a panic, since the file is ffmpeg's output, not ours.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

/// Smooth Streaming's `tfxd` box: `uuid` 6D1D9B05-42D5-44E6-80E2-141DAFF757B2.
const TFXD: [u8; 16] = [
    0x6d, 0x1d, 0x9b, 0x05, 0x42, 0xd5, 0x44, 0xe6, 0x80, 0xe2, 0x14, 0x1d, 0xaf, 0xf7, 0x57, 0xb2,
];

/// What went wrong reading a file's boxes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub(crate) struct BoxError(String);

fn fail<T>(what: impl Into<String>) -> Result<T, BoxError> {
    Err(BoxError(what.into()))
}

/// A track's codec as the client manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Codec {
    /// H.264: the SPS and PPS NAL units of its `avcC`.
    Avc {
        width: u32,
        height: u32,
        sps: Vec<Vec<u8>>,
        pps: Vec<Vec<u8>>,
    },
    /// AAC: the AudioSpecificConfig of its `esds`.
    Aac {
        sample_rate: u32,
        channels: u16,
        config: Vec<u8>,
    },
}

/// One fragment of a track: its start and duration in the track's timescale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fragment {
    pub start: i64,
    pub duration: u64,
}

/// One track of the file with its fragments in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Track {
    pub id: u32,
    pub timescale: u32,
    pub codec: Codec,
    pub fragments: Vec<Fragment>,
}

/// A bounds-checked reader over a box's payload.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, at: 0 }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], BoxError> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.data.len());
        let Some(end) = end else {
            return fail("a box ends early");
        };
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn skip(&mut self, n: usize) -> Result<(), BoxError> {
        self.bytes(n).map(|_| ())
    }

    fn u8(&mut self) -> Result<u8, BoxError> {
        Ok(self.bytes(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, BoxError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, BoxError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, BoxError> {
        let hi = u64::from(self.u32()?);
        Ok(hi << 32 | u64::from(self.u32()?))
    }

    /// A full box's version and flags.
    fn version_flags(&mut self) -> Result<(u8, u32), BoxError> {
        let word = self.u32()?;
        Ok(((word >> 24) as u8, word & 0x00ff_ffff))
    }

    fn rest(&mut self) -> &'a [u8] {
        let out = &self.data[self.at..];
        self.at = self.data.len();
        out
    }
}

/// The boxes directly inside `data`: (type, payload).
/// A box list: each box's type and payload.
type Boxes<'a> = Vec<([u8; 4], &'a [u8])>;

fn children(data: &[u8]) -> Result<Boxes<'_>, BoxError> {
    let mut out = Vec::new();
    let mut cursor = Reader::new(data);
    while cursor.at < data.len() {
        let start = cursor.at;
        let size = u64::from(cursor.u32()?);
        let kind: [u8; 4] = cursor
            .bytes(4)?
            .try_into()
            .map_err(|_| BoxError("a box type".into()))?;
        let size = match size {
            0 => (data.len() - start) as u64,
            1 => cursor.u64()?,
            n => n,
        };
        let header = cursor.at - start;
        let payload = usize::try_from(size)
            .ok()
            .and_then(|s| s.checked_sub(header))
            .ok_or_else(|| BoxError(format!("box {} has a bad size", show(kind))))?;
        out.push((kind, cursor.bytes(payload)?));
    }
    Ok(out)
}

fn show(kind: [u8; 4]) -> String {
    String::from_utf8_lossy(&kind).into_owned()
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, BoxError> {
    Ok(children(data)?
        .into_iter()
        .find(|(k, _)| k == kind)
        .map(|(_, payload)| payload))
}

fn required<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<&'a [u8], BoxError> {
    child(data, kind)?.ok_or_else(|| BoxError(format!("no {} box", show(*kind))))
}

/// The largest `moov` or `moof` believed: ffmpeg's are kilobytes; a bad size must not allocate.
const MAX_HEADER_BOX: u64 = 64 << 20;

/// Every track of a fragmented MP4 of `len` bytes with its fragments, in track-id order. Only the
/// `moov` and `moof` boxes are read; the media data is skipped, so an hour of video costs no memory.
pub(crate) fn read_tracks<R: Read + Seek>(file: &mut R, len: u64) -> Result<Vec<Track>, BoxError> {
    let mut moov = None;
    let mut moofs = Vec::new();
    let mut at = 0u64;
    while at < len {
        file.seek(SeekFrom::Start(at)).map_err(io)?;
        let mut header = [0u8; 16];
        file.read_exact(&mut header[..8]).map_err(io)?;
        let mut reader = Reader::new(&header[..8]);
        let size = u64::from(reader.u32()?);
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        let (size, header_len) = match size {
            0 => (len - at, 8),
            1 => {
                file.read_exact(&mut header[8..]).map_err(io)?;
                (Reader::new(&header[8..]).u64()?, 16)
            }
            n => (n, 8),
        };
        if size < header_len || size > len - at {
            return fail(format!("box {} has a bad size", show(kind)));
        }
        if &kind == b"moov" || &kind == b"moof" {
            if size > MAX_HEADER_BOX {
                return fail(format!("box {} is too large", show(kind)));
            }
            let mut payload = vec![0u8; (size - header_len) as usize];
            file.read_exact(&mut payload).map_err(io)?;
            if &kind == b"moov" {
                moov = Some(payload);
            } else {
                moofs.push(payload);
            }
        }
        at += size;
    }
    let Some(moov) = moov else {
        return fail("no moov box");
    };
    let mut tracks = BTreeMap::new();
    let mut trex_durations = BTreeMap::new();
    for (kind, payload) in children(&moov)? {
        match &kind {
            b"trak" => {
                let track = read_trak(payload)?;
                tracks.insert(track.id, track);
            }
            b"mvex" => {
                for (kind, trex) in children(payload)? {
                    if &kind == b"trex" {
                        let mut c = Reader::new(trex);
                        c.version_flags()?;
                        let id = c.u32()?;
                        c.skip(4)?;
                        trex_durations.insert(id, c.u32()?);
                    }
                }
            }
            _ => {}
        }
    }
    for moof in &moofs {
        for (kind, traf) in children(moof)? {
            if &kind != b"traf" {
                continue;
            }
            let (id, fragment) = read_traf(traf, &trex_durations)?;
            let Some(track) = tracks.get_mut(&id) else {
                return fail(format!("a fragment of track {id}, which moov lacks"));
            };
            track.fragments.push(fragment);
        }
    }
    Ok(tracks.into_values().collect())
}

fn io(err: std::io::Error) -> BoxError {
    BoxError(format!("reading it failed: {err}"))
}

fn read_trak(trak: &[u8]) -> Result<Track, BoxError> {
    let mut tkhd = Reader::new(required(trak, b"tkhd")?);
    let (version, _) = tkhd.version_flags()?;
    tkhd.skip(if version == 1 { 16 } else { 8 })?;
    let id = tkhd.u32()?;
    let mdia = required(trak, b"mdia")?;
    let mut mdhd = Reader::new(required(mdia, b"mdhd")?);
    let (version, _) = mdhd.version_flags()?;
    mdhd.skip(if version == 1 { 16 } else { 8 })?;
    let timescale = mdhd.u32()?;
    if timescale == 0 {
        return fail(format!("track {id} has no timescale"));
    }
    let stbl = required(required(mdia, b"minf")?, b"stbl")?;
    let mut stsd = Reader::new(required(stbl, b"stsd")?);
    stsd.skip(8)?;
    let entries = children(stsd.rest())?;
    let Some((kind, entry)) = entries.first() else {
        return fail(format!("track {id} has no sample description"));
    };
    let codec = match kind {
        b"avc1" | b"avc3" => read_avc(entry)?,
        b"mp4a" => read_aac(entry)?,
        other => return fail(format!("track {id} has codec {}", show(*other))),
    };
    Ok(Track {
        id,
        timescale,
        codec,
        fragments: Vec::new(),
    })
}

/// A visual sample entry's size and its `avcC` parameter sets.
fn read_avc(entry: &[u8]) -> Result<Codec, BoxError> {
    let mut c = Reader::new(entry);
    c.skip(24)?;
    let width = u32::from(c.u16()?);
    let height = u32::from(c.u16()?);
    c.skip(50)?;
    let mut avcc = Reader::new(required(c.rest(), b"avcC")?);
    avcc.skip(5)?;
    let sets = |count: usize, cursor: &mut Reader| -> Result<Vec<Vec<u8>>, BoxError> {
        (0..count)
            .map(|_| {
                let len = usize::from(cursor.u16()?);
                Ok(cursor.bytes(len)?.to_vec())
            })
            .collect()
    };
    let sps_count = usize::from(avcc.u8()? & 0x1f);
    let sps = sets(sps_count, &mut avcc)?;
    let pps_count = usize::from(avcc.u8()?);
    let pps = sets(pps_count, &mut avcc)?;
    if sps.is_empty() || pps.is_empty() {
        return fail("the H.264 track has no SPS or PPS");
    }
    Ok(Codec::Avc {
        width,
        height,
        sps,
        pps,
    })
}

/// An audio sample entry's channels and rate, and the AudioSpecificConfig in its `esds`.
fn read_aac(entry: &[u8]) -> Result<Codec, BoxError> {
    let mut c = Reader::new(entry);
    c.skip(16)?;
    let channels = c.u16()?;
    c.skip(6)?;
    let sample_rate = c.u32()? >> 16;
    let mut esds = Reader::new(required(c.rest(), b"esds")?);
    esds.version_flags()?;
    // ES_Descriptor (tag 3) holds DecoderConfigDescriptor (4), which holds DecSpecificInfo (5).
    let mut config = None;
    while esds.at < esds.data.len() {
        let tag = esds.u8()?;
        let mut len = 0usize;
        for _ in 0..4 {
            let byte = esds.u8()?;
            len = len << 7 | usize::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                break;
            }
        }
        match tag {
            3 => {
                esds.skip(2)?;
                let flags = esds.u8()?;
                if flags & 0x80 != 0 {
                    esds.skip(2)?;
                }
                if flags & 0x40 != 0 {
                    let url = usize::from(esds.u8()?);
                    esds.skip(url)?;
                }
                if flags & 0x20 != 0 {
                    esds.skip(2)?;
                }
            }
            4 => esds.skip(13)?,
            5 => {
                config = Some(esds.bytes(len)?.to_vec());
                break;
            }
            _ => esds.skip(len)?,
        }
    }
    let Some(config) = config else {
        return fail("the AAC track has no AudioSpecificConfig");
    };
    Ok(Codec::Aac {
        sample_rate,
        channels,
        config,
    })
}

/// One `traf`: its track and the fragment's start and duration (from `tfxd`, else `tfdt` and the
/// sample durations of its `trun` boxes).
fn read_traf(traf: &[u8], trex: &BTreeMap<u32, u32>) -> Result<(u32, Fragment), BoxError> {
    let boxes = children(traf)?;
    let Some((_, tfhd)) = boxes.iter().find(|(k, _)| k == b"tfhd") else {
        return fail("a fragment without tfhd");
    };
    let mut c = Reader::new(tfhd);
    let (_, flags) = c.version_flags()?;
    let id = c.u32()?;
    if flags & 0x01 != 0 {
        c.skip(8)?;
    }
    if flags & 0x02 != 0 {
        c.skip(4)?;
    }
    let default_duration = if flags & 0x08 != 0 {
        c.u32()?
    } else {
        trex.get(&id).copied().unwrap_or(0)
    };
    for (kind, payload) in &boxes {
        if kind == b"uuid" && payload.get(..16) == Some(&TFXD[..]) {
            let mut c = Reader::new(&payload[16..]);
            let (version, _) = c.version_flags()?;
            let (start, duration) = if version == 1 {
                (c.u64()? as i64, c.u64()?)
            } else {
                (i64::from(c.u32()?), u64::from(c.u32()?))
            };
            return Ok((id, Fragment { start, duration }));
        }
    }
    let mut start = 0i64;
    let mut duration = 0u64;
    for (kind, payload) in &boxes {
        let mut c = Reader::new(payload);
        match kind {
            b"tfdt" => {
                let (version, _) = c.version_flags()?;
                start = if version == 1 {
                    c.u64()? as i64
                } else {
                    i64::from(c.u32()?)
                };
            }
            b"trun" => {
                let (_, flags) = c.version_flags()?;
                let count = c.u32()?;
                c.skip(4 * usize::from(flags & 0x01 != 0) + 4 * usize::from(flags & 0x04 != 0))?;
                let per_sample = 4 * [0x200, 0x400, 0x800]
                    .iter()
                    .filter(|bit| flags & **bit != 0)
                    .count();
                for _ in 0..count {
                    let sample = if flags & 0x100 != 0 {
                        c.u32()?
                    } else {
                        default_duration
                    };
                    duration += u64::from(sample);
                    c.skip(per_sample)?;
                }
            }
            _ => {}
        }
    }
    Ok((id, Fragment { start, duration }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn truncated_or_oversized_boxes_are_errors() {
        let read = |bytes: &[u8]| read_tracks(&mut std::io::Cursor::new(bytes), bytes.len() as u64);
        assert!(read(&[0, 0, 0, 40, b'm', b'o', b'o', b'v']).is_err());
        assert!(read(&[0, 0, 0, 3, b'f', b't', b'y', b'p']).is_err());
        assert!(read(&[0, 0, 0, 9, b'f', b't']).is_err());
        assert_eq!(read(&bx(b"ftyp", b"isml")), fail("no moov box"));
        // A moov with a track lacking its boxes.
        let file = bx(b"moov", &bx(b"trak", &bx(b"tkhd", &[0; 20])));
        assert_eq!(read(&file), fail("no mdia box"));
    }

    #[test]
    fn a_fragment_without_tfxd_is_timed_by_tfdt_and_trun() {
        let mut tfhd = vec![0, 0, 0, 0x08];
        tfhd.extend(7u32.to_be_bytes());
        tfhd.extend(100u32.to_be_bytes());
        let mut tfdt = vec![1, 0, 0, 0];
        tfdt.extend(5000u64.to_be_bytes());
        // Three samples, durations given for each (flag 0x100), sizes too (0x200).
        let mut trun = vec![0, 0, 0x03, 0x01];
        trun.extend(3u32.to_be_bytes());
        trun.extend(0u32.to_be_bytes());
        for duration in [10u32, 20, 30] {
            trun.extend(duration.to_be_bytes());
            trun.extend(1u32.to_be_bytes());
        }
        let traf = [bx(b"tfhd", &tfhd), bx(b"tfdt", &tfdt), bx(b"trun", &trun)].concat();
        let (id, fragment) = read_traf(&traf, &BTreeMap::new()).unwrap();
        assert_eq!(id, 7);
        assert_eq!(
            fragment,
            Fragment {
                start: 5000,
                duration: 60
            }
        );
    }
}
