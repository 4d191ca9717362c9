//! The identity of a local file at the start of an upload (size, modification time, device and inode, a
//! checksum of its first and last MiB), so that a resume can refuse a file that changed in between, and
//! an upload can refuse to complete an object from a file that changed while it was being sent.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::aws::upload::journal::FileIdentity;

const SAMPLE: u64 = 1 << 20;

/// Reads the identity of the file at `path` (two 1 MiB reads at most).
pub fn identify(path: &Path) -> std::io::Result<FileIdentity> {
    identify_open(&File::open(path)?)
}

/// The identity of an open file (the one an upload reads its parts from).
pub fn identify_open(file: &File) -> std::io::Result<FileIdentity> {
    let meta = file.metadata()?;
    let size = meta.len();
    let modified_ns = modified_ns(&meta);
    let mut digest = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme);
    digest.update(&size.to_le_bytes());
    let head = read_at(file, 0, SAMPLE.min(size))?;
    digest.update(&head);
    if size > SAMPLE {
        let tail_start = size.saturating_sub(SAMPLE).max(SAMPLE.min(size));
        digest.update(&read_at(file, tail_start, size - tail_start)?);
    }
    Ok(FileIdentity {
        size,
        modified_ns,
        fingerprint: format!("{:016x}", digest.finalize()),
        device: meta.dev(),
        inode: meta.ino(),
    })
}

fn modified_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Why the open `file` no longer has the size and modification time recorded in `recorded`, if it does
/// not: a cheap check (one fstat) made before an object is completed from its parts.
pub fn changed_while_open(recorded: &FileIdentity, file: &File) -> std::io::Result<Option<String>> {
    let meta = file.metadata()?;
    Ok(if meta.len() != recorded.size {
        Some(format!(
            "its size changed from {} to {} bytes",
            recorded.size,
            meta.len()
        ))
    } else if modified_ns(&meta) != recorded.modified_ns {
        Some("it was modified".into())
    } else {
        None
    })
}

/// Why a file no longer matches the identity recorded for its upload, if it does not.
pub fn changed_since(recorded: &FileIdentity, now: &FileIdentity) -> Option<String> {
    if recorded.size != now.size {
        Some(format!(
            "its size changed from {} to {} bytes",
            recorded.size, now.size
        ))
    } else if recorded.inode != 0
        && now.inode != 0
        && (recorded.device, recorded.inode) != (now.device, now.inode)
    {
        Some("another file was put in its place".into())
    } else if recorded.modified_ns != now.modified_ns {
        Some("it was modified".into())
    } else if recorded.fingerprint != now.fingerprint {
        Some("its content changed".into())
    } else {
        None
    }
}

/// Reads exactly `len` bytes at `offset` (positioned read: no shared file cursor between parts).
pub fn read_at(file: &File, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    let len = usize::try_from(len)
        .map_err(|_| std::io::Error::other("part too large for this machine"))?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_rewrite_in_place_is_noticed_even_with_the_same_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.mp4");
        std::fs::write(&path, vec![1u8; 3 << 20]).unwrap();
        let before = identify(&path).unwrap();
        assert_eq!(identify(&path).unwrap(), before);
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all(&[2u8; 10]).unwrap();
        drop(f);
        let mut after = identify(&path).unwrap();
        after.modified_ns = before.modified_ns; // a copy tool may preserve mtimes
        assert_eq!(
            changed_since(&before, &after).as_deref(),
            Some("its content changed")
        );
    }
}
