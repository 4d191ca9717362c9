//! The durable upload journal (SQLite, WAL): one row per upload (file identity, destination, multipart
//! upload id, part size, state) and one row per finished part (number, ETag, checksum), written before the
//! part counts as done. It is what lets an upload survive a crash, a kill -9 or a reboot. It lives in the
//! user's data directory (`$VODESK_DATA_DIR` overrides it, for tests and portable installs), readable by
//! the user only. Paths are stored as their exact bytes, so a file name that is not UTF-8 is read back
//! as it was. A "commit" (the CompleteMultipartUpload or the single PutObject that makes the object and
//! starts its workflow) is journaled before it is sent, so a resume after a crash checks the bucket
//! before it would send anything again. Which process sends an upload is decided by [`UploadLease`].

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

/// Environment variable that moves vodesk's data directory (journal, caches).
pub const DATA_DIR_ENV: &str = "VODESK_DATA_DIR";
const FILE_NAME: &str = "uploads.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "no data directory for vodesk could be determined: set {DATA_DIR_ENV} to a writable folder"
    )]
    NoDataDir,
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the upload journal {path} cannot be used: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the upload journal could not be {action}: {source}")]
    Sql {
        action: &'static str,
        source: rusqlite::Error,
    },
    #[error("no upload with id {0} in the journal: `vodesk uploads` lists them")]
    NotFound(i64),
    #[error("the upload journal's lock file {path} cannot be used: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub use crate::jobs::UploadState;

fn state_as_str(state: UploadState) -> &'static str {
    match state {
        UploadState::Active => "active",
        UploadState::Paused => "paused",
        UploadState::Failed => "failed",
        UploadState::Completed => "completed",
    }
}

fn parse_state(text: &str) -> UploadState {
    match text {
        "paused" => UploadState::Paused,
        "failed" => UploadState::Failed,
        "completed" => UploadState::Completed,
        _ => UploadState::Active,
    }
}

/// The identity of the file when the upload started: a changed file must not be resumed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileIdentity {
    pub size: u64,
    pub modified_ns: i64,
    /// CRC64NVME of the file's first and last MiB and its size, hex: catches content rewritten in place.
    pub fingerprint: String,
    /// Device and inode: a file replaced by another under the same name (a rename over it) is another
    /// file. 0 when unknown (uploads journaled by an older vodesk).
    pub device: u64,
    pub inode: u64,
}

/// Where the upload goes and how it is cut.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UploadTarget {
    pub endpoint_url: Option<String>,
    pub region: String,
    pub profile: Option<String>,
    pub bucket: String,
    pub key: String,
    pub part_size: u64,
    pub part_count: u32,
    pub multipart: bool,
    /// The metadata file to PUT after the video (MetadataFile stacks), as JSON text.
    pub metadata_document: Option<String>,
}

/// One upload as the journal knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UploadRecord {
    pub id: i64,
    pub file_path: PathBuf,
    pub original_name: String,
    pub file: FileIdentity,
    pub target: UploadTarget,
    pub upload_id: Option<String>,
    pub state: UploadState,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
    /// Set just before the request that makes the object (CompleteMultipartUpload or the single
    /// PutObject) was sent: the object may exist even though the upload is not recorded as completed.
    pub commit: Option<CommitSent>,
}

/// The journal's record as the job model keeps it: which upload, where to, and how it stands.
impl From<&UploadRecord> for crate::jobs::LocalUpload {
    fn from(record: &UploadRecord) -> Self {
        Self {
            upload_id: record.id,
            bucket: record.target.bucket.clone(),
            key: record.target.key.clone(),
            original_name: record.original_name.clone(),
            state: record.state,
            completed_at: record.completed_at,
            with_metadata_file: record.target.metadata_document.is_some(),
            transfer: crate::jobs::Transfer::from_journal(
                record.state,
                record.file.size,
                record.error.as_deref(),
            ),
        }
    }
}

/// What was journaled just before the object-making request went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CommitSent {
    pub at: i64,
    /// The full object's CRC64NVME: an object at the key with this checksum and size is this upload's.
    pub crc64: u64,
}

#[cfg(test)]
impl UploadRecord {
    /// An upload of `/videos/a.mp4` (`size` bytes) to bucket `src`, for unit tests.
    pub(crate) fn sample(id: i64, state: UploadState, size: u64) -> Self {
        Self {
            id,
            file_path: PathBuf::from("/videos/a.mp4"),
            original_name: "a.mp4".into(),
            file: FileIdentity {
                size,
                modified_ns: 0,
                fingerprint: String::new(),
                device: 0,
                inode: 0,
            },
            target: UploadTarget {
                endpoint_url: None,
                region: "us-east-1".into(),
                profile: None,
                bucket: "src".into(),
                key: format!("uploads/{id}/a.mp4"),
                part_size: size.max(1),
                part_count: 1,
                multipart: false,
                metadata_document: None,
            },
            upload_id: None,
            state,
            error: None,
            created_at: 0,
            updated_at: 0,
            completed_at: None,
            commit: None,
        }
    }
}

/// A part the server confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRecord {
    pub part_number: u32,
    pub etag: String,
    /// CRC64NVME of the part's bytes.
    pub crc64: u64,
    pub size: u64,
}

/// Handle to the journal; cheap to clone, safe to share between tasks.
#[derive(Debug, Clone)]
pub struct Journal {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn sql(action: &'static str) -> impl FnOnce(rusqlite::Error) -> JournalError {
    move |source| JournalError::Sql { action, source }
}

/// vodesk's data directory: `$VODESK_DATA_DIR`, else the platform's (e.g. `~/.local/share/vodesk`).
pub fn data_dir() -> Result<PathBuf, JournalError> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "vodesk")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or(JournalError::NoDataDir)
}

/// Creates `dir` (and its parents) readable by the user only, and takes group and world access away
/// from it if it exists (made by an older vodesk, or by eframe): it holds file paths, bucket names,
/// profile names and the app's settings.
pub fn create_private_dir(dir: &Path) -> Result<(), JournalError> {
    let err = |source| JournalError::CreateDir {
        path: dir.to_owned(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    let mut permissions = std::fs::metadata(dir).map_err(err)?.permissions();
    if permissions.mode() & 0o077 != 0 {
        permissions.set_mode(permissions.mode() & 0o700);
        std::fs::set_permissions(dir, permissions).map_err(err)?;
    }
    Ok(())
}

/// Creates `path` if it is missing, mode 0600, and takes group and world access away from an existing
/// one (made by an older vodesk under a permissive umask). SQLite gives its -wal and -shm files the
/// database file's mode.
fn make_private_file(path: &Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    let mut permissions = file.metadata()?.permissions();
    if permissions.mode() & 0o077 != 0 {
        permissions.set_mode(permissions.mode() & 0o700);
        file.set_permissions(permissions)?;
    }
    Ok(())
}

impl Journal {
    /// Opens (creating if needed) the journal in vodesk's data directory.
    pub fn open_default() -> Result<Self, JournalError> {
        let dir = data_dir()?;
        create_private_dir(&dir)?;
        Self::open(&dir.join(FILE_NAME))
    }

    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let open_err = |source| JournalError::Open {
            path: path.to_owned(),
            source,
        };
        make_private_file(path).map_err(|source| JournalError::CreateDir {
            path: path.to_owned(),
            source,
        })?;
        let conn = Connection::open(path).map_err(open_err)?;
        // WAL lets a reader (the GUI, `vodesk uploads`) look while an upload writes; synchronous=FULL makes
        // a recorded part survive a power cut, not only a crash; the busy timeout covers two vodesk processes.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             CREATE TABLE IF NOT EXISTS uploads (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 file_path TEXT NOT NULL,
                 original_name TEXT NOT NULL,
                 file_size INTEGER NOT NULL,
                 file_mtime_ns INTEGER NOT NULL,
                 fingerprint TEXT NOT NULL,
                 endpoint_url TEXT,
                 region TEXT NOT NULL,
                 profile TEXT,
                 bucket TEXT NOT NULL,
                 object_key TEXT NOT NULL,
                 part_size INTEGER NOT NULL,
                 part_count INTEGER NOT NULL,
                 multipart INTEGER NOT NULL,
                 metadata_document TEXT,
                 upload_id TEXT,
                 state TEXT NOT NULL,
                 error TEXT,
                 created_at INTEGER NOT NULL,
                 updated_at INTEGER NOT NULL,
                 completed_at INTEGER
             );
             CREATE TABLE IF NOT EXISTS parts (
                 upload INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
                 part_number INTEGER NOT NULL,
                 etag TEXT NOT NULL,
                 crc64 TEXT NOT NULL,
                 size INTEGER NOT NULL,
                 PRIMARY KEY (upload, part_number)
             );",
        )
        .map_err(open_err)?;
        add_missing_columns(&conn).map_err(open_err)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll back).
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut conn)
    }

    /// Records a new upload (state Active, no multipart upload yet). Returns its id.
    pub fn create(
        &self,
        file_path: &Path,
        original_name: &str,
        file: &FileIdentity,
        target: &UploadTarget,
    ) -> Result<i64, JournalError> {
        self.with(|conn| {
            let t = now();
            conn.execute(
                "INSERT INTO uploads (file_path, original_name, file_size, file_mtime_ns, fingerprint,
                     endpoint_url, region, profile, bucket, object_key, part_size, part_count, multipart,
                     metadata_document, state, created_at, updated_at, file_path_bytes, file_device,
                     file_inode)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'active', ?15, ?15,
                     ?16, ?17, ?18)",
                params![
                    file_path.to_string_lossy(),
                    original_name,
                    file.size as i64,
                    file.modified_ns,
                    file.fingerprint,
                    target.endpoint_url,
                    target.region,
                    target.profile,
                    target.bucket,
                    target.key,
                    target.part_size as i64,
                    target.part_count,
                    target.multipart,
                    target.metadata_document,
                    t,
                    file_path.as_os_str().as_bytes(),
                    file.device as i64,
                    file.inode as i64,
                ],
            )
            .map_err(sql("written"))?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Records the multipart upload id the server gave (or a new one after NoSuchUpload), forgetting
    /// parts recorded under an earlier id.
    pub fn set_upload_id(&self, id: i64, upload_id: Option<&str>) -> Result<(), JournalError> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(sql("written"))?;
            tx.execute("DELETE FROM parts WHERE upload = ?1", params![id])
                .map_err(sql("written"))?;
            tx.execute(
                "UPDATE uploads SET upload_id = ?2, commit_sent_at = NULL, updated_at = ?3 WHERE id = ?1",
                params![id, upload_id, now()],
            )
            .map_err(sql("written"))?;
            tx.commit().map_err(sql("written"))
        })
    }

    /// Starts an upload over for a file that changed: new identity and part layout, no multipart upload,
    /// no parts.
    pub fn reset_file(
        &self,
        id: i64,
        file: &FileIdentity,
        part_size: u64,
        part_count: u32,
        multipart: bool,
    ) -> Result<(), JournalError> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(sql("written"))?;
            tx.execute("DELETE FROM parts WHERE upload = ?1", params![id]).map_err(sql("written"))?;
            tx.execute(
                "UPDATE uploads SET file_size = ?2, file_mtime_ns = ?3, fingerprint = ?4, part_size = ?5,
                     part_count = ?6, multipart = ?7, upload_id = NULL, commit_sent_at = NULL,
                     file_device = ?9, file_inode = ?10, updated_at = ?8 WHERE id = ?1",
                params![id, file.size as i64, file.modified_ns, file.fingerprint, part_size as i64, part_count, multipart, now(), file.device as i64, file.inode as i64],
            )
            .map_err(sql("written"))?;
            tx.commit().map_err(sql("written"))
        })
    }

    /// Records a confirmed part. Durable when this returns.
    pub fn record_part(&self, id: i64, part: &PartRecord) -> Result<(), JournalError> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO parts (upload, part_number, etag, crc64, size) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, part.part_number, part.etag, format!("{:016x}", part.crc64), part.size as i64],
            )
            .map_err(sql("written"))?;
            Ok(())
        })
    }

    /// Replaces the recorded parts with `parts` (after reconciling with the server's ListParts).
    pub fn replace_parts(&self, id: i64, parts: &[PartRecord]) -> Result<(), JournalError> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(sql("written"))?;
            tx.execute("DELETE FROM parts WHERE upload = ?1", params![id]).map_err(sql("written"))?;
            for part in parts {
                tx.execute(
                    "INSERT INTO parts (upload, part_number, etag, crc64, size) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, part.part_number, part.etag, format!("{:016x}", part.crc64), part.size as i64],
                )
                .map_err(sql("written"))?;
            }
            tx.commit().map_err(sql("written"))
        })
    }

    pub fn parts(&self, id: i64) -> Result<Vec<PartRecord>, JournalError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare("SELECT part_number, etag, crc64, size FROM parts WHERE upload = ?1 ORDER BY part_number")
                .map_err(sql("read"))?;
            let rows = stmt
                .query_map(params![id], |row| {
                    let crc: String = row.get(2)?;
                    let part = PartRecord {
                        part_number: row.get(0)?,
                        etag: row.get(1)?,
                        crc64: 0,
                        size: row.get::<_, i64>(3)?.max(0) as u64,
                    };
                    Ok((part, crc))
                })
                .map_err(sql("read"))?;
            let mut parts = Vec::new();
            for row in rows {
                let (part, crc) = row.map_err(sql("read"))?;
                // A checksum that is not hex (a damaged row) cannot vouch for the part: it is left out,
                // so that the resume checks the server's copy against the file and sends it again if
                // needed, instead of comparing the file with a made-up 0.
                match u64::from_str_radix(&crc, 16) {
                    Ok(crc64) => parts.push(PartRecord { crc64, ..part }),
                    Err(_) => tracing::warn!(
                        "upload {id}: part {} has an unreadable checksum {crc:?} in the journal; it will be checked again",
                        part.part_number
                    ),
                }
            }
            Ok(parts)
        })
    }

    /// Records where an upload stands. Completed is final: a later Paused or Failed (a second process
    /// that lost a race, a verification that could not run) never turns a finished upload back into one
    /// that a resume would send again; such a call changes nothing and returns `Ok(false)`.
    pub fn set_state(
        &self,
        id: i64,
        state: UploadState,
        error: Option<&str>,
    ) -> Result<bool, JournalError> {
        self.with(|conn| {
            let t = now();
            let completed_at = (state == UploadState::Completed).then_some(t);
            let changed = conn
                .execute(
                    "UPDATE uploads SET state = ?2, error = ?3, updated_at = ?4,
                         completed_at = COALESCE(?5, completed_at)
                     WHERE id = ?1 AND (state != 'completed' OR ?2 = 'completed')",
                    params![id, state_as_str(state), error, t, completed_at],
                )
                .map_err(sql("written"))?;
            if changed > 0 {
                return Ok(true);
            }
            let exists: Option<i64> = conn
                .query_row("SELECT id FROM uploads WHERE id = ?1", params![id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(sql("read"))?;
            match exists {
                Some(_) => Ok(false),
                None => Err(JournalError::NotFound(id)),
            }
        })
    }

    /// Journals, durably, that the object-making request is about to be sent, with the object's checksum.
    pub fn set_commit_sent(&self, id: i64, crc64: u64) -> Result<(), JournalError> {
        self.with(|conn| {
            let changed = conn
                .execute(
                    "UPDATE uploads SET commit_sent_at = ?2, object_crc64 = ?3, updated_at = ?2 WHERE id = ?1",
                    params![id, now(), format!("{crc64:016x}")],
                )
                .map_err(sql("written"))?;
            if changed == 0 {
                Err(JournalError::NotFound(id))
            } else {
                Ok(())
            }
        })
    }

    /// Forgets a journaled commit whose object is known not to exist (the request never took effect).
    pub fn clear_commit_sent(&self, id: i64) -> Result<(), JournalError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE uploads SET commit_sent_at = NULL, object_crc64 = NULL WHERE id = ?1",
                params![id],
            )
            .map_err(sql("written"))?;
            Ok(())
        })
    }

    /// Whether any journaled upload uses the multipart upload `upload_id`.
    pub fn knows_upload_id(&self, upload_id: &str) -> Result<bool, JournalError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM uploads WHERE upload_id = ?1)",
                params![upload_id],
                |row| row.get(0),
            )
            .map_err(sql("read"))
        })
    }

    /// Forgets an upload and its parts (after cancel).
    pub fn remove(&self, id: i64) -> Result<(), JournalError> {
        self.with(|conn| {
            conn.execute("DELETE FROM uploads WHERE id = ?1", params![id])
                .map_err(sql("written"))?;
            Ok(())
        })
    }

    pub fn get(&self, id: i64) -> Result<UploadRecord, JournalError> {
        self.with(|conn| {
            conn.query_row(
                &format!("{SELECT_UPLOAD} WHERE id = ?1"),
                params![id],
                read_upload,
            )
            .optional()
            .map_err(sql("read"))?
            .ok_or(JournalError::NotFound(id))
        })
    }

    /// Unfinished uploads first (oldest first), then the `recent` most recently completed.
    pub fn list(&self, recent: usize) -> Result<Vec<UploadRecord>, JournalError> {
        self.with(|conn| {
            let mut out = Vec::new();
            let mut stmt = conn
                .prepare(&format!("{SELECT_UPLOAD} WHERE state != 'completed' ORDER BY id"))
                .map_err(sql("read"))?;
            for row in stmt.query_map([], read_upload).map_err(sql("read"))? {
                out.push(row.map_err(sql("read"))?);
            }
            let mut stmt = conn
                .prepare(&format!(
                    "{SELECT_UPLOAD} WHERE state = 'completed' ORDER BY completed_at DESC, id DESC LIMIT ?1"
                ))
                .map_err(sql("read"))?;
            for row in stmt.query_map(params![recent as i64], read_upload).map_err(sql("read"))? {
                out.push(row.map_err(sql("read"))?);
            }
            Ok(out)
        })
    }

    /// Like [`Journal::list`], keeping only the uploads that went to `bucket` (the connected stack's
    /// source bucket: the journal holds uploads to every deployment this machine has used).
    pub fn list_for_bucket(
        &self,
        bucket: &str,
        recent: usize,
    ) -> Result<Vec<UploadRecord>, JournalError> {
        let mut uploads = self.list(recent)?;
        uploads.retain(|u| u.target.bucket == bucket);
        Ok(uploads)
    }

    /// Uploads that are not completed, oldest first.
    pub fn unfinished(&self) -> Result<Vec<UploadRecord>, JournalError> {
        Ok(self
            .list(0)?
            .into_iter()
            .filter(|u| u.state.is_unfinished())
            .collect())
    }
}

const SELECT_UPLOAD: &str = "SELECT id, file_path, original_name, file_size, file_mtime_ns, fingerprint,
    endpoint_url, region, profile, bucket, object_key, part_size, part_count, multipart, metadata_document,
    upload_id, state, error, created_at, updated_at, completed_at, file_path_bytes, file_device, file_inode,
    commit_sent_at, object_crc64 FROM uploads";

/// Columns added after the first release, with their types: added to an older journal when it is opened.
const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("file_path_bytes", "BLOB"),
    ("file_device", "INTEGER NOT NULL DEFAULT 0"),
    ("file_inode", "INTEGER NOT NULL DEFAULT 0"),
    ("commit_sent_at", "INTEGER"),
    ("object_crc64", "TEXT"),
];

fn add_missing_columns(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('uploads')")?;
    let present = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for (name, kind) in ADDED_COLUMNS {
        if !present.iter().any(|p| p == name) {
            conn.execute_batch(&format!("ALTER TABLE uploads ADD COLUMN {name} {kind}"))?;
        }
    }
    Ok(())
}

fn read_upload(row: &rusqlite::Row<'_>) -> rusqlite::Result<UploadRecord> {
    let state: String = row.get(16)?;
    // The exact bytes when this vodesk wrote the row; older rows only have the (lossy) text.
    let file_path = match row.get::<_, Option<Vec<u8>>>(21)? {
        Some(bytes) => PathBuf::from(OsString::from_vec(bytes)),
        None => PathBuf::from(row.get::<_, String>(1)?),
    };
    let commit = match (
        row.get::<_, Option<i64>>(24)?,
        row.get::<_, Option<String>>(25)?,
    ) {
        (Some(at), Some(crc)) => u64::from_str_radix(&crc, 16)
            .ok()
            .map(|crc64| CommitSent { at, crc64 }),
        _ => None,
    };
    Ok(UploadRecord {
        id: row.get(0)?,
        file_path,
        original_name: row.get(2)?,
        file: FileIdentity {
            size: row.get::<_, i64>(3)?.max(0) as u64,
            modified_ns: row.get(4)?,
            fingerprint: row.get(5)?,
            device: row.get::<_, i64>(22)? as u64,
            inode: row.get::<_, i64>(23)? as u64,
        },
        target: UploadTarget {
            endpoint_url: row.get(6)?,
            region: row.get(7)?,
            profile: row.get(8)?,
            bucket: row.get(9)?,
            key: row.get(10)?,
            part_size: row.get::<_, i64>(11)?.max(0) as u64,
            part_count: row.get(12)?,
            multipart: row.get(13)?,
            metadata_document: row.get(14)?,
        },
        upload_id: row.get(15)?,
        state: parse_state(&state),
        error: row.get(17)?,
        created_at: row.get(18)?,
        updated_at: row.get(19)?,
        completed_at: row.get(20)?,
        commit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> UploadTarget {
        UploadTarget {
            endpoint_url: None,
            region: "us-east-1".into(),
            profile: None,
            bucket: "b".into(),
            key: "uploads/x/a.mp4".into(),
            part_size: 8 << 20,
            part_count: 3,
            multipart: true,
            metadata_document: None,
        }
    }

    #[test]
    fn the_journal_is_private_to_the_user() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // Made by an older vodesk (or eframe) under a permissive umask.
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&data).unwrap();
        let path = data.join(FILE_NAME);
        // An older vodesk under a permissive umask left it world-readable.
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let journal = Journal::open(&path).unwrap();
        journal.try_lease(1).unwrap().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&path), 0o600);
        for entry in std::fs::read_dir(&data).unwrap() {
            let entry = entry.unwrap().path();
            let expected = if entry.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode(&entry), expected, "{}", entry.display());
        }
    }

    #[test]
    fn a_completed_upload_stays_completed() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let file = FileIdentity {
            size: 1,
            modified_ns: 0,
            fingerprint: String::new(),
            device: 0,
            inode: 0,
        };
        let id = journal
            .create(Path::new("/v/a.mp4"), "a.mp4", &file, &target())
            .unwrap();
        assert!(journal.set_state(id, UploadState::Completed, None).unwrap());
        // A process that lost a race reports its failure afterwards: it changes nothing.
        assert!(
            !journal
                .set_state(id, UploadState::Failed, Some("lost"))
                .unwrap()
        );
        assert_eq!(journal.get(id).unwrap().state, UploadState::Completed);
        assert!(matches!(
            journal.set_state(id + 1, UploadState::Failed, None),
            Err(JournalError::NotFound(_))
        ));
    }

    #[test]
    fn paths_that_are_not_utf8_come_back_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let path = PathBuf::from(OsString::from_vec(b"/cards/caf\xe9.mp4".to_vec()));
        let file = FileIdentity {
            size: 1,
            modified_ns: 0,
            fingerprint: String::new(),
            device: 0,
            inode: 0,
        };
        let id = journal.create(&path, "café.mp4", &file, &target()).unwrap();
        assert_eq!(journal.get(id).unwrap().file_path, path);
    }

    #[test]
    fn a_part_whose_checksum_is_not_hex_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let file = FileIdentity {
            size: 20 << 20,
            modified_ns: 7,
            fingerprint: "ab".into(),
            device: 3,
            inode: 4,
        };
        let id = journal
            .create(Path::new("/v/a.mp4"), "a.mp4", &file, &target())
            .unwrap();
        journal.set_upload_id(id, Some("U1")).unwrap();
        for part_number in [1, 2] {
            let part = PartRecord {
                part_number,
                etag: format!("\"e{part_number}\""),
                crc64: 0xabc,
                size: 8 << 20,
            };
            journal.record_part(id, &part).unwrap();
        }
        journal
            .with(|conn| {
                conn.execute(
                    "UPDATE parts SET crc64 = 'not hex' WHERE upload = ?1 AND part_number = 2",
                    params![id],
                )
                .map_err(sql("written"))
            })
            .unwrap();
        let parts = journal.parts(id).unwrap();
        assert_eq!(parts.len(), 1, "{parts:?}");
        assert_eq!((parts[0].part_number, parts[0].crc64), (1, 0xabc));
    }

    #[test]
    fn parts_survive_reopening_and_a_new_upload_id_forgets_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite3");
        let file = FileIdentity {
            size: 20 << 20,
            modified_ns: 7,
            fingerprint: "ab".into(),
            device: 3,
            inode: 4,
        };
        let id = {
            let journal = Journal::open(&path).unwrap();
            let id = journal
                .create(Path::new("/v/a.mp4"), "a.mp4", &file, &target())
                .unwrap();
            journal.set_upload_id(id, Some("U1")).unwrap();
            let part = PartRecord {
                part_number: 2,
                etag: "\"e2\"".into(),
                crc64: u64::MAX,
                size: 8 << 20,
            };
            journal.record_part(id, &part).unwrap();
            id
        };
        let journal = Journal::open(&path).unwrap();
        let record = journal.get(id).unwrap();
        assert_eq!(record.upload_id.as_deref(), Some("U1"));
        assert_eq!(record.file, file);
        assert_eq!(record.state, UploadState::Active);
        let parts = journal.parts(id).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].crc64, u64::MAX);
        journal.set_upload_id(id, Some("U2")).unwrap();
        assert!(journal.parts(id).unwrap().is_empty());
        journal.set_state(id, UploadState::Completed, None).unwrap();
        assert!(journal.unfinished().unwrap().is_empty());
        assert_eq!(journal.list(10).unwrap().len(), 1);
        journal.remove(id).unwrap();
        assert!(matches!(journal.get(id), Err(JournalError::NotFound(_))));
    }
}
