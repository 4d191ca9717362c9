//! Which process sends an upload: an exclusive advisory lock (`flock`) on a small file per upload beside
//! the journal (`<journal>.locks/<id>.lock`). The kernel releases the lock when its holder exits or is
//! killed, so a crash never leaves an upload owned by nobody, and nothing has to expire. A second vodesk
//! process (or a second session of the same one) that asks for an upload being sent learns who sends it
//! and leaves it alone: two senders of one upload could complete it twice and start two workflows.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::aws::upload::journal::{Journal, JournalError};

/// Held while this process sends (or cancels) one upload; dropping it lets another process take over.
#[derive(Debug)]
pub struct UploadLease {
    // The lock lives as long as this open file description.
    _file: File,
}

/// Who holds an upload's lease, as its holder wrote it: "process 4242 on host build-01".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder(pub String);

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Journal {
    fn lock_path(&self, id: i64) -> PathBuf {
        lock_dir(self.path()).join(format!("{id}.lock"))
    }

    fn open_lock_file(&self, id: i64) -> Result<(File, PathBuf), JournalError> {
        let path = self.lock_path(id);
        let lock_err = |source| JournalError::Lock {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            crate::aws::upload::journal::create_private_dir(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(lock_err)?;
        Ok((file, path))
    }

    /// Takes the upload `id` for this process, or says who has it.
    pub fn try_lease(&self, id: i64) -> Result<Result<UploadLease, Holder>, JournalError> {
        let (mut file, path) = self.open_lock_file(id)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(Err(read_holder(&mut file))),
            Err(TryLockError::Error(source)) => return Err(JournalError::Lock { path, source }),
        }
        // Who holds it, for the others' messages. A failure here costs only that message.
        let me = describe_this_process();
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.as_bytes()));
        if let Err(err) = written {
            tracing::debug!("could not note the holder in {}: {err}", path.display());
        }
        Ok(Ok(UploadLease { _file: file }))
    }

    /// Who sends the upload `id` right now, if anyone does (this process included).
    pub fn lease_holder(&self, id: i64) -> Result<Option<Holder>, JournalError> {
        let path = self.lock_path(id);
        if !path.exists() {
            return Ok(None);
        }
        let (mut file, path) = self.open_lock_file(id)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(None), // released when `file` drops
            Err(TryLockError::WouldBlock) => Ok(Some(read_holder(&mut file))),
            Err(TryLockError::Error(source)) => Err(JournalError::Lock { path, source }),
        }
    }

    /// Removes the lock file of an upload that is finished or forgotten (its lease is no longer needed:
    /// a finished upload is never sent again whoever asks).
    pub(crate) fn remove_lock_file(&self, id: i64) {
        let path = self.lock_path(id);
        if let Err(err) = std::fs::remove_file(&path)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::debug!("could not remove {}: {err}", path.display());
        }
    }
}

fn read_holder(file: &mut File) -> Holder {
    let mut text = String::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.take(200).read_to_string(&mut text));
    let text = text.trim();
    if read.is_err() || text.is_empty() {
        Holder("another vodesk process".into())
    } else {
        // Written by a vodesk process of the same user, but shown in a terminal: keep it printable.
        Holder(text.chars().filter(|c| !c.is_control()).collect())
    }
}

fn describe_this_process() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    match host {
        Some(host) => format!("vodesk process {} on {host}", std::process::id()),
        None => format!("vodesk process {}", std::process::id()),
    }
}

/// The lock file's folder for a journal at `journal` (for tests that look at it).
pub(crate) fn lock_dir(journal: &Path) -> PathBuf {
    let mut dir = journal.as_os_str().to_owned();
    dir.push(".locks");
    PathBuf::from(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite3");
        let first = Journal::open(&path).unwrap();
        // A second handle opens its own lock file description, as a second process would.
        let second = Journal::open(&path).unwrap();
        assert_eq!(first.lease_holder(7).unwrap(), None);
        let lease = first.try_lease(7).unwrap().unwrap();
        let holder = second.try_lease(7).unwrap().unwrap_err();
        assert!(
            holder.0.contains(&std::process::id().to_string()),
            "{holder}"
        );
        assert_eq!(second.lease_holder(7).unwrap(), Some(holder));
        // Another upload is free.
        assert!(second.try_lease(8).unwrap().is_ok());
        drop(lease);
        assert_eq!(second.lease_holder(7).unwrap(), None);
        assert!(second.try_lease(7).unwrap().is_ok());
        assert!(lock_dir(&path).is_dir());
    }
}
