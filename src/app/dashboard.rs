//! What the dashboard shows and in which order: the column it is sorted by (and the direction), the
//! text filter (file name, key or guid, case-insensitive) and the status filter. [`rows`] turns the job
//! book into the dashboard's rows; sorting is stable, so jobs that compare equal keep their arrival
//! order, and sorting 10,000 jobs takes a few milliseconds, done only when something changed.

use std::cmp::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::jobs::{Job, JobBook, JobIndex, JobStatus};

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SortColumn {
    File,
    Status,
    #[default]
    Started,
    Duration,
    Resolution,
    Size,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sort {
    pub column: SortColumn,
    pub descending: bool,
}

impl Default for Sort {
    /// Newest first.
    fn default() -> Self {
        Self {
            column: SortColumn::Started,
            descending: true,
        }
    }
}

impl Sort {
    /// Clicking a header: the same column flips the direction; another starts with its natural one
    /// (newest, longest, largest first; names A→Z).
    pub fn clicked(self, column: SortColumn) -> Self {
        if self.column == column {
            Self {
                column,
                descending: !self.descending,
            }
        } else {
            Self {
                column,
                descending: !matches!(column, SortColumn::File | SortColumn::Status),
            }
        }
    }
}

/// Which jobs are shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Matched case-insensitively against the file name, the key and the guid.
    pub text: String,
    /// `None` shows every status.
    pub status: Option<JobStatus>,
}

impl Filter {
    pub fn is_active(&self) -> bool {
        !self.text.trim().is_empty() || self.status.is_some()
    }

    fn matches(&self, job: &Job, needle: &str) -> bool {
        if let Some(status) = self.status
            && job.status != status
        {
            return false;
        }
        if needle.is_empty() {
            return true;
        }
        let file = job.file().unwrap_or_default().to_lowercase();
        let original = job
            .upload
            .as_ref()
            .map(|u| u.original_name.to_lowercase())
            .unwrap_or_default();
        let guid = job.guid.as_deref().unwrap_or_default().to_lowercase();
        file.contains(needle) || original.contains(needle) || guid.contains(needle)
    }
}

/// When the job started (else when its upload finished), for sorting by start.
pub fn start_time(job: &Job) -> SystemTime {
    job.started()
        .or_else(|| {
            let upload = job.upload.as_ref()?;
            let seconds = u64::try_from(upload.completed_at?).ok()?;
            Some(UNIX_EPOCH + Duration::from_secs(seconds))
        })
        .unwrap_or(UNIX_EPOCH)
}

/// The file's base name, lower-cased, for sorting by name.
fn name_key(job: &Job) -> String {
    let file = job.file().unwrap_or_default();
    file.rsplit('/').next().unwrap_or(file).to_lowercase()
}

fn duration_key(job: &Job) -> Option<f64> {
    job.record
        .as_ref()
        .and_then(|r| r.duration_seconds())
        .filter(|d| d.is_finite())
}

fn pixels_key(job: &Job) -> Option<u64> {
    let record = job.record.as_ref()?;
    let width = record.width().or(record.src_width)?;
    let height = record.height().or(record.src_height)?;
    Some(width.saturating_mul(height))
}

/// The source file's size: from srcMediainfo, else this machine's upload.
pub fn size_bytes(job: &Job) -> Option<u64> {
    job.record
        .as_ref()
        .and_then(|r| r.media_info.as_ref())
        .and_then(|m| m.container.as_ref())
        .and_then(|c| c.file_size)
}

/// Unknown values sort after known ones, whatever the direction.
fn by_option<T: PartialOrd>(a: Option<T>, b: Option<T>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => {
            let order = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if descending { order.reverse() } else { order }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The dashboard's rows: the jobs that pass `filter`, in `sort` order.
pub fn rows(book: &JobBook, sort: Sort, filter: &Filter) -> Vec<JobIndex> {
    let jobs = book.jobs();
    let needle = filter.text.trim().to_lowercase();
    let mut rows: Vec<JobIndex> = (0..jobs.len())
        .filter(|&i| filter.matches(&jobs[i], &needle))
        .collect();
    let descending = sort.descending;
    let directed = |order: Ordering| if descending { order.reverse() } else { order };
    match sort.column {
        // Keys computed once per job (parsing a start time per comparison would cost 30× more).
        SortColumn::Started => {
            let keys: Vec<SystemTime> = jobs.iter().map(start_time).collect();
            rows.sort_by(|&a, &b| directed(keys[a].cmp(&keys[b])));
        }
        SortColumn::File => {
            let keys: Vec<String> = jobs.iter().map(name_key).collect();
            rows.sort_by(|&a, &b| directed(keys[a].cmp(&keys[b])));
        }
        SortColumn::Status => rows.sort_by(|&a, &b| directed(jobs[a].status.cmp(&jobs[b].status))),
        SortColumn::Duration => rows.sort_by(|&a, &b| {
            by_option(duration_key(&jobs[a]), duration_key(&jobs[b]), descending)
        }),
        SortColumn::Resolution => {
            rows.sort_by(|&a, &b| by_option(pixels_key(&jobs[a]), pixels_key(&jobs[b]), descending))
        }
        SortColumn::Size => {
            rows.sort_by(|&a, &b| by_option(size_bytes(&jobs[a]), size_bytes(&jobs[b]), descending))
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{RecordOrigin, decode_document};

    fn book() -> JobBook {
        let template = decode_document(
            include_str!("../../tests/fixtures/vod-examples/sns-ingest.json").as_bytes(),
        )
        .unwrap()
        .record
        .unwrap();
        let mut book = JobBook::new();
        for (guid, file, start) in [
            ("g1", "uploads/Zebra.mp4", "2025-01-01T00:00:00.000Z"),
            ("g2", "uploads/alpha.mov", "2025-03-01T00:00:00.000Z"),
            ("g3", "uploads/Mid.mkv", "2025-02-01T00:00:00.000Z"),
        ] {
            let mut record = template.clone();
            record.guid = guid.into();
            record.src_video = Some(file.into());
            record.start_time = Some(start.into());
            book.apply_record(record, RecordOrigin::Item, UNIX_EPOCH);
        }
        book
    }

    fn files(book: &JobBook, rows: &[JobIndex]) -> Vec<String> {
        rows.iter()
            .map(|&i| {
                let file = book.get(i).unwrap().file().unwrap();
                file.rsplit('/').next().unwrap().to_owned()
            })
            .collect()
    }

    #[test]
    fn newest_first_by_default_and_names_a_to_z_on_click() {
        let book = book();
        let sort = Sort::default();
        assert_eq!(
            files(&book, &rows(&book, sort, &Filter::default())),
            ["alpha.mov", "Mid.mkv", "Zebra.mp4"]
        );
        let by_name = sort.clicked(SortColumn::File);
        assert!(!by_name.descending);
        assert_eq!(
            files(&book, &rows(&book, by_name, &Filter::default())),
            ["alpha.mov", "Mid.mkv", "Zebra.mp4"]
        );
        let reversed = by_name.clicked(SortColumn::File);
        assert_eq!(
            files(&book, &rows(&book, reversed, &Filter::default())),
            ["Zebra.mp4", "Mid.mkv", "alpha.mov"]
        );
        let oldest = Sort::default().clicked(SortColumn::Started);
        assert_eq!(
            files(&book, &rows(&book, oldest, &Filter::default())),
            ["Zebra.mp4", "Mid.mkv", "alpha.mov"]
        );
    }

    #[test]
    fn the_text_filter_matches_names_and_guids_case_insensitively() {
        let book = book();
        let filter = Filter {
            text: "ZEB".into(),
            status: None,
        };
        assert_eq!(
            files(&book, &rows(&book, Sort::default(), &filter)),
            ["Zebra.mp4"]
        );
        let by_guid = Filter {
            text: " g3 ".into(),
            status: None,
        };
        assert_eq!(
            files(&book, &rows(&book, Sort::default(), &by_guid)),
            ["Mid.mkv"]
        );
        let by_status = Filter {
            text: String::new(),
            status: Some(JobStatus::Complete),
        };
        assert!(rows(&book, Sort::default(), &by_status).is_empty());
        assert!(by_status.is_active());
        assert!(!Filter::default().is_active());
    }

    #[test]
    fn equal_start_times_keep_their_arrival_order_both_ways() {
        let template = decode_document(
            include_str!("../../tests/fixtures/vod-examples/sns-ingest.json").as_bytes(),
        )
        .unwrap()
        .record
        .unwrap();
        let mut book = JobBook::new();
        for guid in ["a", "b", "c"] {
            let mut record = template.clone();
            record.guid = guid.into();
            record.start_time = Some("2025-01-01T00:00:00.000Z".into());
            book.apply_record(record, RecordOrigin::Item, UNIX_EPOCH);
        }
        let guids = |rows: Vec<JobIndex>| -> Vec<String> {
            rows.iter()
                .map(|&i| book.get(i).unwrap().guid.clone().unwrap())
                .collect()
        };
        assert_eq!(
            guids(rows(&book, Sort::default(), &Filter::default())),
            ["a", "b", "c"]
        );
    }
}
