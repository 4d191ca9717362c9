//! Validating what the user dropped on the window or named on the command line, before anything is
//! planned or sent.
//!
//! This module owns turning a list of paths into the files to upload: each named file must exist, be
//! readable, be a regular file (symlinks to files are followed) and be non-empty; named folders are
//! expanded recursively to the files a caller-supplied filter accepts. Problems are reported per path
//! ([`Refusal`]) and routine skips are summarised ([`Selection::notes`]), so one bad file never stops
//! the others. Reads the file system, but makes no AWS calls.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::contract::triggers::VIDEO_SUFFIXES_V53;

/// Video extensions people commonly drop that start no workflow on any release (contract §3).
/// [`is_video_extension`] accepts them so that a folder's `.avi` files are refused later with a reason
/// ("convert it to MP4") instead of vanishing into a "skipped" count.
pub const NON_TRIGGERING_VIDEO_SUFFIXES: [&str; 5] = ["avi", "mts", "ts", "3gp", "flv"];

/// One file that passed every check, ready to be named and planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedFile {
    /// Canonical path (symlinks resolved), which is also the identity used to drop duplicates.
    pub path: PathBuf,
    /// The file name as the user saw it (a symlink's own name, not its target's); lossy UTF-8.
    pub display_name: String,
    /// Size in bytes, never 0.
    pub size: u64,
    /// Last modification time (the Unix epoch where the platform cannot tell).
    pub modified: SystemTime,
}

/// A path that will not be uploaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The path as given or as found inside a named folder, so the user recognises it.
    pub path: PathBuf,
    /// What is wrong, e.g. "does not exist" or "is empty (0 bytes), so there is nothing to upload".
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// The outcome of [`select_files`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Files to upload, in the order given (folders expanded in sorted order), without duplicates.
    pub accepted: Vec<SelectedFile>,
    /// Paths that will not be uploaded, each with its reason.
    pub refused: Vec<Refusal>,
    /// Summaries of what was left out on purpose (non-matching, hidden, duplicate files).
    pub notes: Vec<String>,
}

/// True when the extension (any case) is one of the 12 that start a workflow on v5.3+
/// ([`VIDEO_SUFFIXES_V53`]) or one of the common video types that start none
/// ([`NON_TRIGGERING_VIDEO_SUFFIXES`]). The second group is included on purpose: such files are
/// refused later with a reason, rather than silently skipped when found in a folder.
/// The filter for folder contents; it does not decide whether a workflow starts
/// (see `contract::triggers::video_trigger`).
pub fn is_video_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase)
        .is_some_and(|extension| {
            VIDEO_SUFFIXES_V53.contains(&extension.as_str())
                || NON_TRIGGERING_VIDEO_SUFFIXES.contains(&extension.as_str())
        })
}

/// Checks the named `paths` and expands folders.
///
/// A named file is taken whatever its extension (the caller decides about that); it must exist, be
/// readable, be a regular file or a symlink to one, and be non-empty. A named folder is walked
/// recursively in sorted order, keeping the files for which `filter` returns true. Inside folders,
/// entries whose name starts with `.` are skipped, and symlinks to folders are not followed (so a
/// link to a parent cannot loop); files the filter rejects, hidden entries and such links are
/// counted in one note per named folder rather than refused one by one. A file reached twice (named
/// twice, named and inside a named folder, or through a symlink or hard link) is kept once, with a
/// note. Never panics; names that are not UTF-8 are shown lossily.
pub fn select_files(paths: &[PathBuf], filter: &dyn Fn(&Path) -> bool) -> Selection {
    let mut selector = Selector::default();
    for path in paths {
        selector.add_named(path, filter);
    }
    selector.selection
}

/// What became of one file.
enum Outcome {
    Accepted,
    Refused,
    Duplicate,
}

/// Counts for one named folder, turned into notes when its walk ends.
#[derive(Default)]
struct FolderTally {
    accepted: usize,
    refused: usize,
    duplicates: usize,
    filtered: usize,
    hidden: usize,
    linked_folders: usize,
}

#[derive(Default)]
struct Selector {
    selection: Selection,
    /// Identities of files already taken (see [`file_identity`]).
    files_seen: HashSet<FileIdentity>,
    /// Canonical paths of folders already walked, so a folder named twice, or named inside another
    /// named folder, is walked once.
    folders_seen: HashSet<PathBuf>,
}

/// How two paths are recognised as the same file. On Unix the device and inode, which also catches
/// hard links (uploading the same bytes twice would start two workflows); elsewhere the canonical
/// path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileIdentity {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg_attr(unix, allow(dead_code))]
    Path(PathBuf),
}

fn file_identity(canonical: &Path, metadata: &Metadata) -> FileIdentity {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = canonical;
        FileIdentity::Inode(metadata.dev(), metadata.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        FileIdentity::Path(canonical.to_path_buf())
    }
}

impl Selector {
    fn refuse(&mut self, path: &Path, reason: impl Into<String>) {
        self.selection.refused.push(Refusal {
            path: path.to_path_buf(),
            reason: reason.into(),
        });
    }

    fn note(&mut self, note: String) {
        self.selection.notes.push(note);
    }

    /// One path the user named.
    fn add_named(&mut self, path: &Path, filter: &dyn Fn(&Path) -> bool) {
        // `metadata` follows symlinks: a named link to a file or folder counts as its target.
        let metadata = match fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(err) => {
                let reason = missing_reason(path, &err);
                self.refuse(path, reason);
                return;
            }
        };
        if metadata.is_dir() {
            self.add_folder(path, filter);
        } else if metadata.is_file() {
            if let Outcome::Duplicate = self.add_file(path) {
                self.note(format!(
                    "{} was given more than once (directly, through a link, or inside a folder); it is uploaded once",
                    path.display()
                ));
            }
        } else {
            self.refuse(path, not_regular_reason(&metadata));
        }
    }

    /// A regular file (or a symlink to one), named or found in a folder: open it to prove it is
    /// readable, and take size and time from the open file so they describe what was checked.
    fn add_file(&mut self, path: &Path) -> Outcome {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(err) => {
                self.refuse(
                    path,
                    format!("cannot be opened for reading ({err}); check its permissions"),
                );
                return Outcome::Refused;
            }
        };
        let metadata = match file.metadata() {
            Ok(metadata) => metadata,
            Err(err) => {
                self.refuse(path, format!("cannot be read ({err})"));
                return Outcome::Refused;
            }
        };
        // Checked again on the open file: the path may have been replaced since it was listed.
        if !metadata.is_file() {
            self.refuse(path, not_regular_reason(&metadata));
            return Outcome::Refused;
        }
        if metadata.len() == 0 {
            self.refuse(path, "is empty (0 bytes), so there is nothing to upload");
            return Outcome::Refused;
        }
        let canonical = match fs::canonicalize(path) {
            Ok(canonical) => canonical,
            Err(err) => {
                self.refuse(path, format!("cannot be resolved to a full path ({err})"));
                return Outcome::Refused;
            }
        };
        if !self.files_seen.insert(file_identity(&canonical, &metadata)) {
            return Outcome::Duplicate;
        }
        let display_name = path
            .file_name()
            .or_else(|| canonical.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        self.selection.accepted.push(SelectedFile {
            path: canonical,
            display_name,
            size: metadata.len(),
            modified: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        });
        Outcome::Accepted
    }

    /// A named folder: walk it depth-first in name order, so the same tree always yields the same
    /// list, with an explicit stack rather than recursion so depth cannot exhaust the thread stack.
    fn add_folder(&mut self, root: &Path, filter: &dyn Fn(&Path) -> bool) {
        match fs::canonicalize(root) {
            Ok(canonical) => {
                if !self.folders_seen.insert(canonical) {
                    self.note(format!(
                        "{} was already included (given twice, or inside another folder given); its files are listed once",
                        root.display()
                    ));
                    return;
                }
            }
            Err(err) => {
                self.refuse(root, format!("cannot be resolved to a full path ({err})"));
                return;
            }
        }
        let mut tally = FolderTally::default();
        // Pending entries, the next one on top: each folder's sorted entries are pushed in reverse,
        // so a subfolder's contents come right after it and before its later siblings.
        let mut pending: Vec<fs::DirEntry> = Vec::new();
        self.push_entries(root, &mut pending, &mut tally);
        while let Some(entry) = pending.pop() {
            if let Some(subfolder) = self.visit_entry(&entry, filter, &mut tally) {
                // Recorded so that naming this subfolder later does not list it again. Real folders
                // cannot form a loop (only links can, and those are not followed), so no check here.
                if let Ok(canonical) = fs::canonicalize(&subfolder) {
                    self.folders_seen.insert(canonical);
                }
                self.push_entries(&subfolder, &mut pending, &mut tally);
            }
        }
        self.folder_notes(root, &tally);
    }

    fn push_entries(
        &mut self,
        folder: &Path,
        pending: &mut Vec<fs::DirEntry>,
        tally: &mut FolderTally,
    ) {
        match read_sorted(folder) {
            Ok(entries) => pending.extend(entries.into_iter().rev()),
            Err(err) => {
                self.refuse(
                    folder,
                    format!("is a folder that cannot be read ({err}); check its permissions"),
                );
                tally.refused += 1;
            }
        }
    }

    /// One entry inside a walked folder; returns it when it is a subfolder to walk.
    fn visit_entry(
        &mut self,
        entry: &fs::DirEntry,
        filter: &dyn Fn(&Path) -> bool,
        tally: &mut FolderTally,
    ) -> Option<PathBuf> {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            tally.hidden += 1;
            return None;
        }
        // `DirEntry::file_type` does not follow symlinks.
        let file_type = match entry.file_type() {
            Ok(file_type) => file_type,
            Err(err) => {
                self.refuse(&path, format!("cannot be read ({err})"));
                tally.refused += 1;
                return None;
            }
        };
        if file_type.is_dir() {
            return Some(path);
        }
        if file_type.is_symlink() {
            match fs::metadata(&path) {
                Ok(target) if target.is_dir() => {
                    tally.linked_folders += 1;
                    return None;
                }
                Ok(_) => {}
                Err(err) => {
                    if filter(&path) {
                        self.refuse(&path, missing_reason(&path, &err));
                        tally.refused += 1;
                    } else {
                        tally.filtered += 1;
                    }
                    return None;
                }
            }
        }
        if !filter(&path) {
            tally.filtered += 1;
            return None;
        }
        // Regular files, links to files, and special files that match the filter. A FIFO is never
        // opened (that would block until a writer appears): its type is checked first.
        match fs::metadata(&path) {
            Ok(metadata) if !metadata.is_file() => {
                self.refuse(&path, not_regular_reason(&metadata));
                tally.refused += 1;
            }
            Ok(_) => match self.add_file(&path) {
                Outcome::Accepted => tally.accepted += 1,
                Outcome::Refused => tally.refused += 1,
                Outcome::Duplicate => tally.duplicates += 1,
            },
            Err(err) => {
                self.refuse(&path, missing_reason(&path, &err));
                tally.refused += 1;
            }
        }
        None
    }

    fn folder_notes(&mut self, root: &Path, tally: &FolderTally) {
        let shown = root.display();
        if tally.filtered > 0 {
            self.note(format!(
                "skipped {} in {shown}",
                count(tally.filtered, "non-video file", "non-video files")
            ));
        }
        if tally.hidden > 0 {
            self.note(format!(
                "skipped {} in {shown} (names starting with '.')",
                count(
                    tally.hidden,
                    "hidden file or folder",
                    "hidden files or folders"
                )
            ));
        }
        if tally.linked_folders > 0 {
            self.note(format!(
                "did not follow {} in {shown} (links to folders are not followed, to avoid loops; give the target folder itself to include it)",
                count(
                    tally.linked_folders,
                    "symbolic link to a folder",
                    "symbolic links to folders"
                )
            ));
        }
        if tally.duplicates > 0 {
            self.note(format!(
                "{} in {shown} {} already selected and listed once",
                count(tally.duplicates, "file", "files"),
                if tally.duplicates == 1 { "was" } else { "were" }
            ));
        }
        if tally.accepted == 0 && tally.refused == 0 && tally.duplicates == 0 {
            self.refuse(
                root,
                "is a folder with no video files in it (hidden files and links to folders are not searched)",
            );
        }
    }
}

/// The entries of a folder, sorted by name (byte order on Unix) for a deterministic result.
fn read_sorted(folder: &Path) -> io::Result<Vec<fs::DirEntry>> {
    let mut entries = fs::read_dir(folder)?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    Ok(entries)
}

/// Why `metadata` failed for a path: missing, a dangling link, or an OS error (e.g. a symlink loop
/// or a permission problem).
fn missing_reason(path: &Path, err: &io::Error) -> String {
    if err.kind() == io::ErrorKind::NotFound {
        if fs::symlink_metadata(path).is_ok() {
            "is a symbolic link whose target does not exist".to_owned()
        } else {
            "does not exist".to_owned()
        }
    } else {
        format!("cannot be read ({err}); check the path and its permissions")
    }
}

/// Why a path that exists is not an uploadable file.
fn not_regular_reason(metadata: &Metadata) -> String {
    format!(
        "is not a regular file (it is {}); only files can be uploaded",
        special_kind(metadata)
    )
}

fn special_kind(metadata: &Metadata) -> &'static str {
    let file_type = metadata.file_type();
    if file_type.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    "a special file"
}

fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn video_filter() -> impl Fn(&Path) -> bool {
        |path: &Path| is_video_extension(path)
    }

    fn select(paths: &[PathBuf]) -> Selection {
        select_files(paths, &video_filter())
    }

    fn write(path: &Path, bytes: &[u8]) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        let mut file = File::create(path).unwrap();
        file.write_all(bytes).unwrap();
    }

    fn names(selection: &Selection) -> Vec<&str> {
        selection
            .accepted
            .iter()
            .map(|f| f.display_name.as_str())
            .collect()
    }

    fn reason_for<'a>(selection: &'a Selection, path: &Path) -> &'a str {
        selection
            .refused
            .iter()
            .find(|r| r.path == path)
            .map(|r| r.reason.as_str())
            .unwrap_or_else(|| panic!("{} not refused: {selection:#?}", path.display()))
    }

    // ---- is_video_extension ----

    #[test]
    fn video_extensions() {
        for name in [
            "a.mp4",
            "a.MP4",
            "a.Mp4",
            "a.mov",
            "a.m4v",
            "a.mpg",
            "a.mpeg",
            "a.m2ts",
            "a.wmv",
            "a.mxf",
            "a.mkv",
            "a.m3u8",
            "a.webm",
            "a.h264",
            "a.avi",
            "a.MTS",
            "a.ts",
            "a.3gp",
            "a.flv",
            "dir.x/b.mkv",
        ] {
            assert!(is_video_extension(Path::new(name)), "{name}");
        }
        for name in [
            "a.txt",
            "a.json",
            "a.jpg",
            "a",
            "mp4",
            ".mp4",
            "a.mp4.txt",
            "a.mv4",
            "a.vob",
            "a.",
            "dir.mp4/b",
        ] {
            assert!(!is_video_extension(Path::new(name)), "{name}");
        }
    }

    // ---- named files ----

    #[test]
    fn named_file_is_accepted_with_its_details() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Café Night.MOV");
        write(&path, b"0123456789");
        let selection = select(std::slice::from_ref(&path));
        assert_eq!(selection.refused, vec![]);
        assert_eq!(selection.notes, Vec::<String>::new());
        let [file] = selection.accepted.as_slice() else {
            panic!("{selection:#?}")
        };
        assert_eq!(file.path, fs::canonicalize(&path).unwrap());
        assert!(file.path.is_absolute());
        assert_eq!(file.display_name, "Café Night.MOV");
        assert_eq!(file.size, 10);
        assert_eq!(
            file.modified,
            fs::metadata(&path).unwrap().modified().unwrap()
        );
    }

    #[test]
    fn named_file_is_not_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let notes = dir.path().join("notes.txt");
        let hidden = dir.path().join(".hidden.mp4");
        write(&notes, b"x");
        write(&hidden, b"x");
        let selection = select_files(&[notes, hidden], &|_: &Path| false);
        assert_eq!(names(&selection), vec!["notes.txt", ".hidden.mp4"]);
    }

    #[test]
    fn relative_paths_are_canonicalized() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("sub/a.mp4"), b"x");
        let dotted = dir.path().join("sub/../sub/./a.mp4");
        let selection = select(&[dotted]);
        assert_eq!(
            selection.accepted[0].path,
            fs::canonicalize(dir.path()).unwrap().join("sub/a.mp4")
        );
        assert_eq!(selection.accepted[0].display_name, "a.mp4");
    }

    #[test]
    fn missing_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.mp4");
        let selection = select(std::slice::from_ref(&missing));
        assert!(selection.accepted.is_empty());
        assert_eq!(reason_for(&selection, &missing), "does not exist");
        assert_eq!(
            selection.refused[0].to_string(),
            format!("{}: does not exist", missing.display())
        );
    }

    #[test]
    fn empty_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.mp4");
        write(&empty, b"");
        let selection = select(std::slice::from_ref(&empty));
        assert!(selection.accepted.is_empty());
        assert!(reason_for(&selection, &empty).starts_with("is empty"));
    }

    #[test]
    fn one_bad_path_does_not_stop_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.mp4");
        write(&good, b"x");
        let selection = select(&[dir.path().join("missing.mp4"), good]);
        assert_eq!(names(&selection), vec!["good.mp4"]);
        assert_eq!(selection.refused.len(), 1);
    }

    // ---- folders ----

    #[test]
    fn folders_expand_recursively_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("shoot");
        write(&root.join("b.mp4"), b"b");
        write(&root.join("a/z.MOV"), b"z");
        write(&root.join("a/deeper/y.mkv"), b"y");
        write(&root.join("c.webm"), b"c");
        write(&root.join("A.mp4"), b"A");
        write(&root.join("readme.txt"), b"t");
        write(&root.join("a/cover.jpg"), b"j");
        write(&root.join("a/deeper/clip.json"), b"{}");
        write(&root.join(".hidden.mp4"), b"h");
        write(&root.join(".cache/inside.mp4"), b"i");
        write(&root.join("empty.mp4"), b"");

        let selection = select(std::slice::from_ref(&root));
        // Byte order: upper case before lower case; a folder's files before its later siblings.
        assert_eq!(
            names(&selection),
            vec!["A.mp4", "y.mkv", "z.MOV", "b.mp4", "c.webm"]
        );
        assert_eq!(selection.refused.len(), 1);
        assert!(reason_for(&selection, &root.join("empty.mp4")).starts_with("is empty"));
        let notes = selection.notes.join("\n");
        assert!(
            notes.contains(&format!("skipped 3 non-video files in {}", root.display())),
            "{notes}"
        );
        assert!(
            notes.contains(&format!(
                "skipped 2 hidden files or folders in {}",
                root.display()
            )),
            "{notes}"
        );
        assert_eq!(selection.notes.len(), 2, "{notes}");
        // Same tree, same answer.
        assert_eq!(select(std::slice::from_ref(&root)), selection);
    }

    #[test]
    fn folder_note_uses_singular_for_one() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("a.mp4"), b"x");
        write(&dir.path().join("b.txt"), b"x");
        let selection = select(&[dir.path().to_path_buf()]);
        assert_eq!(
            selection.notes,
            vec![format!(
                "skipped 1 non-video file in {}",
                dir.path().display()
            )]
        );
    }

    #[test]
    fn folder_without_videos_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty_folder = dir.path().join("empty");
        fs::create_dir(&empty_folder).unwrap();
        let docs = dir.path().join("docs");
        write(&docs.join("a.txt"), b"x");
        let selection = select(&[empty_folder.clone(), docs.clone()]);
        assert!(selection.accepted.is_empty());
        assert!(reason_for(&selection, &empty_folder).contains("no video files"));
        assert!(reason_for(&selection, &docs).contains("no video files"));
        assert!(selection.notes[0].contains("skipped 1 non-video file"));
    }

    #[test]
    fn named_hidden_folder_is_walked_but_its_hidden_entries_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let hidden = dir.path().join(".stash");
        write(&hidden.join("a.mp4"), b"x");
        write(&hidden.join(".b.mp4"), b"x");
        let selection = select(std::slice::from_ref(&hidden));
        assert_eq!(names(&selection), vec!["a.mp4"]);
    }

    // ---- duplicates ----

    #[test]
    fn duplicates_are_dropped_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        let a = root.join("a.mp4");
        write(&a, b"x");
        write(&root.join("b.mp4"), b"x");
        let selection = select(&[
            a.clone(),
            a.clone(),
            root.clone(),
            dir.path().join("in/./a.mp4"),
        ]);
        assert_eq!(names(&selection), vec!["a.mp4", "b.mp4"]);
        assert!(selection.refused.is_empty());
        let notes = selection.notes.join("\n");
        assert_eq!(
            selection
                .notes
                .iter()
                .filter(|n| n.contains("more than once"))
                .count(),
            2,
            "{notes}"
        );
        assert!(
            notes.contains(&format!(
                "1 file in {} was already selected",
                root.display()
            )),
            "{notes}"
        );
    }

    #[test]
    fn folder_given_twice_or_nested_is_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        write(&root.join("sub/a.mp4"), b"x");
        write(&root.join("b.mp4"), b"x");
        let selection = select(&[root.clone(), root.clone(), root.join("sub")]);
        assert_eq!(names(&selection), vec!["b.mp4", "a.mp4"]);
        assert!(selection.refused.is_empty());
        assert_eq!(
            selection
                .notes
                .iter()
                .filter(|n| n.contains("already included"))
                .count(),
            2,
            "{:?}",
            selection.notes
        );
    }

    // ---- links and special files (Unix) ----

    #[cfg(unix)]
    #[test]
    fn symlink_to_file_is_followed_and_deduplicated() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.mp4");
        write(&target, b"data");
        let link = dir.path().join("link.mov");
        symlink(&target, &link).unwrap();
        let selection = select(std::slice::from_ref(&link));
        assert_eq!(names(&selection), vec!["link.mov"]);
        assert_eq!(
            selection.accepted[0].path,
            fs::canonicalize(&target).unwrap()
        );
        assert_eq!(selection.accepted[0].size, 4);

        let selection = select(&[target.clone(), link.clone()]);
        assert_eq!(names(&selection), vec!["real.mp4"]);
        assert!(selection.notes[0].contains("more than once"));
    }

    #[cfg(unix)]
    #[test]
    fn hard_links_are_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.mp4");
        write(&a, b"data");
        let b = dir.path().join("b.mp4");
        fs::hard_link(&a, &b).unwrap();
        let selection = select(&[a, b]);
        assert_eq!(names(&selection), vec!["a.mp4"]);
        assert_eq!(selection.notes.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn broken_symlink_is_refused() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("dangling.mp4");
        symlink(dir.path().join("gone.mp4"), &link).unwrap();
        let selection = select(std::slice::from_ref(&link));
        assert_eq!(
            reason_for(&selection, &link),
            "is a symbolic link whose target does not exist"
        );
        // Inside a folder too, when its name passes the filter; otherwise it is just skipped.
        let other = dir.path().join("dangling.txt");
        symlink(dir.path().join("gone.txt"), &other).unwrap();
        let selection = select(&[dir.path().to_path_buf()]);
        // Only the link: the folder is not refused as empty, since it held a (broken) candidate.
        assert_eq!(selection.refused.len(), 1, "{selection:#?}");
        assert!(reason_for(&selection, &link).contains("target does not exist"));
        assert!(selection.notes[0].contains("skipped 1 non-video file"));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_refused_not_followed() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        write(&root.join("clip.mp4"), b"x");
        // A file-name loop: a.mp4 → b.mp4 → a.mp4.
        symlink(root.join("b.mp4"), root.join("a.mp4")).unwrap();
        symlink(root.join("a.mp4"), root.join("b.mp4")).unwrap();
        // A folder loop: root/up → root.
        symlink(&root, root.join("up")).unwrap();

        let named = select(&[root.join("a.mp4")]);
        let reason = reason_for(&named, &root.join("a.mp4"));
        assert!(reason.starts_with("cannot be read ("), "{reason}");

        let selection = select(std::slice::from_ref(&root));
        assert_eq!(names(&selection), vec!["clip.mp4"]);
        assert_eq!(selection.refused.len(), 2, "{selection:#?}");
        assert!(
            selection
                .notes
                .iter()
                .any(|n| n.contains("did not follow 1 symbolic link to a folder")),
            "{:?}",
            selection.notes
        );
    }

    #[cfg(unix)]
    #[test]
    fn named_symlink_to_folder_is_walked() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        write(&real.join("a.mp4"), b"x");
        let link = dir.path().join("link");
        symlink(&real, &link).unwrap();
        let selection = select(std::slice::from_ref(&link));
        assert_eq!(names(&selection), vec!["a.mp4"]);
        assert_eq!(
            selection.accepted[0].path,
            fs::canonicalize(real.join("a.mp4")).unwrap()
        );
    }

    #[cfg(unix)]
    #[test]
    fn sockets_devices_and_fifos_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("sock.mp4");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let selection = select(std::slice::from_ref(&socket));
        assert!(reason_for(&selection, &socket).contains("not a regular file (it is a socket)"));

        let device = PathBuf::from("/dev/null");
        if device.exists() {
            let selection = select(std::slice::from_ref(&device));
            assert!(reason_for(&selection, &device).contains("it is a device"));
        }

        // No FIFO API in std; use mkfifo(1) when present, and skip that part otherwise.
        let fifo = dir.path().join("pipe.mp4");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|status| status.success());
        if made {
            // Would hang here if the FIFO were opened.
            let selection = select(std::slice::from_ref(&fifo));
            assert!(reason_for(&selection, &fifo).contains("named pipe"));
        }

        // Inside a folder, a special file with a video name is refused, not skipped.
        let selection = select(&[dir.path().to_path_buf()]);
        assert!(selection.accepted.is_empty());
        assert!(reason_for(&selection, &socket).contains("socket"));
        if made {
            assert!(reason_for(&selection, &fifo).contains("named pipe"));
        }
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_are_shown_lossily() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(OsStr::from_bytes(b"caf\xe9.mp4"));
        if File::create(&path)
            .and_then(|mut f| f.write_all(b"x"))
            .is_err()
        {
            return; // the file system insists on UTF-8 names
        }
        let selection = select(&[dir.path().to_path_buf()]);
        assert_eq!(names(&selection), vec!["caf\u{FFFD}.mp4"]);
        assert_eq!(selection.accepted[0].path.file_name(), path.file_name());
        let missing = dir.path().join(OsStr::from_bytes(b"\xff\xfe.mp4"));
        let selection = select(std::slice::from_ref(&missing));
        assert_eq!(reason_for(&selection, &missing), "does not exist");
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_files_and_folders_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("locked.mp4");
        write(&file, b"x");
        let folder = dir.path().join("locked");
        write(&folder.join("a.mp4"), b"x");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o000)).unwrap();
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o000)).unwrap();
        // Root (as in many CI containers) reads anything, so there is nothing to refuse.
        let enforced = File::open(&file).is_err();
        let selection = select(&[file.clone(), folder.clone()]);
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o755)).unwrap();
        if enforced {
            assert!(reason_for(&selection, &file).contains("cannot be opened for reading"));
            assert!(reason_for(&selection, &folder).contains("cannot be read"));
        } else {
            assert_eq!(names(&selection), vec!["locked.mp4", "a.mp4"]);
        }
    }
}
