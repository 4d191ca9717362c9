//! Select and export: jobs written out as CSV (a header, then one row a job) or JSON lines (one
//! object a line), with their status, file, times, duration, resolution, size and every URL.
//!
//! Every value comes from the table, which anyone with write access to it chooses, so CSV cells are
//! made safe to open in a spreadsheet (CSV injection, as OWASP recommends): a cell that starts with
//! `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'` in front, so it is read as text and
//! never as a formula. Quoting is the csv crate's (RFC 4180). JSON lines carry the values as they
//! are: JSON is not evaluated by the programs that read it. Pure: no I/O but the writer given.

use std::io::Write;

use serde::Serialize;

use crate::contract::JobRecord;
use crate::jobs::{Job, JobStatus};

/// The columns, in order (the CSV header and the JSON keys).
pub const COLUMNS: [&str; 13] = [
    "guid",
    "status",
    "file",
    "start",
    "end",
    "duration_seconds",
    "resolution",
    "size_bytes",
    "hls",
    "dash",
    "cmaf_hls",
    "mp4",
    "thumbnail",
];

/// One exported job. Several MP4 outputs share one CSV cell, joined by a space; the solution's URLs
/// can hold unencoded spaces themselves (contract §7), so the JSON form keeps them as a list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExportRow {
    pub guid: Option<String>,
    pub status: String,
    pub file: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub duration_seconds: Option<f64>,
    /// `WIDTHxHEIGHT`.
    pub resolution: Option<String>,
    /// The source's size (its media info).
    pub size_bytes: Option<u64>,
    pub hls: Option<String>,
    pub dash: Option<String>,
    pub cmaf_hls: Option<String>,
    pub mp4_urls: Vec<String>,
    pub thumbnail: Option<String>,
}

impl ExportRow {
    /// The row of a job of the list (a workflow, an upload, or both).
    pub fn from_job(job: &Job) -> Self {
        let mut row = job
            .record
            .as_ref()
            .map(|r| Self::from_record(r, job.status))
            .unwrap_or_default();
        row.guid = job.guid.clone();
        row.status = job.status.as_str().to_owned();
        row.file = job.file().map(str::to_owned);
        row
    }

    /// The row of one workflow record.
    pub fn from_record(record: &JobRecord, status: JobStatus) -> Self {
        let width = record.width().or(record.src_width);
        let height = record.height().or(record.src_height);
        Self {
            guid: Some(record.guid.clone()),
            status: status.as_str().to_owned(),
            file: record.src_video.clone(),
            start: record.start_time.clone(),
            end: record.end_time.clone(),
            duration_seconds: record
                .duration_seconds()
                .filter(|d| d.is_finite() && *d >= 0.0),
            resolution: width.zip(height).map(|(w, h)| format!("{w}x{h}")),
            size_bytes: record
                .media_info
                .as_ref()
                .and_then(|m| m.container.as_ref())
                .and_then(|c| c.file_size),
            hls: record.hls_url().map(str::to_owned),
            dash: record.dash_url().map(str::to_owned),
            cmaf_hls: record.cmaf_hls_url().map(str::to_owned),
            mp4_urls: record.mp4_urls().to_vec(),
            thumbnail: record.thumbnail_urls().first().cloned(),
        }
    }

    /// The CSV cells, in [`COLUMNS`] order, each made safe for a spreadsheet.
    pub fn cells(&self) -> [String; 13] {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            text(&self.guid),
            self.status.clone(),
            text(&self.file),
            text(&self.start),
            text(&self.end),
            self.duration_seconds
                .map(|d| format!("{d:.3}"))
                .unwrap_or_default(),
            text(&self.resolution),
            self.size_bytes.map(|s| s.to_string()).unwrap_or_default(),
            text(&self.hls),
            text(&self.dash),
            text(&self.cmaf_hls),
            self.mp4_urls.join(" "),
            text(&self.thumbnail),
        ]
        .map(|cell| neutralise(&cell))
    }
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("could not write the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("could not write the JSON lines: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not write the export: {0}")]
    Io(#[from] std::io::Error),
}

/// A cell that a spreadsheet would take for a formula (or a command, through DDE) gets a `'` in
/// front: one starting with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's list).
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// The rows as CSV, with a header.
pub fn write_csv<W: Write>(rows: &[ExportRow], out: W) -> Result<(), ExportError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS)?;
    for row in rows {
        writer.write_record(row.cells())?;
    }
    writer.flush()?;
    Ok(())
}

/// The rows as JSON lines: one object a line, with `mp4` as the list `mp4_urls`.
pub fn write_json_lines<W: Write>(rows: &[ExportRow], mut out: W) -> Result<(), ExportError> {
    for row in rows {
        serde_json::to_writer(&mut out, row)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::operations::tests::record;
    use serde_json::json;

    #[test]
    fn formula_starts_are_neutralised_and_nothing_else() {
        for hostile in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(hostile), format!("'{hostile}"));
        }
        for plain in ["", "clip.mp4", "1920x1080", "https://d/x.m3u8", " =x"] {
            assert_eq!(neutralise(plain), plain);
        }
    }

    #[test]
    fn a_record_round_trips_through_the_csv_reader() {
        let r = record(json!({
            "guid": "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8", "workflowStatus": "Complete",
            "srcVideo": "=cmd|' /C calc'!A0, \"quoted\"\nnext.mp4",
            "startTime": "2025-01-01T00:00:00.000Z", "endTime": "2025-01-01T00:01:00.000Z",
            "srcWidth": 1920, "srcHeight": 1080,
            "hlsUrl": "https://d.cloudfront.net/g/hls/a.m3u8",
            "mp4Urls": ["https://d/g/mp4/a_1.mp4", "https://d/g/mp4/a_2.mp4"]
        }));
        let row = ExportRow::from_record(&r, JobStatus::Complete);
        let mut bytes = Vec::new();
        write_csv(std::slice::from_ref(&row), &mut bytes).unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            COLUMNS
        );
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 1);
        let got = &records[0];
        assert_eq!(&got[0], "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8");
        assert_eq!(&got[1], "complete");
        assert_eq!(&got[2], "'=cmd|' /C calc'!A0, \"quoted\"\nnext.mp4");
        assert_eq!(&got[6], "1920x1080");
        assert_eq!(&got[8], "https://d.cloudfront.net/g/hls/a.m3u8");
        assert_eq!(&got[11], "https://d/g/mp4/a_1.mp4 https://d/g/mp4/a_2.mp4");

        let mut lines = Vec::new();
        write_json_lines(&[row], &mut lines).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&lines).unwrap();
        assert_eq!(value["file"], "=cmd|' /C calc'!A0, \"quoted\"\nnext.mp4");
        assert_eq!(value["mp4_urls"][1], "https://d/g/mp4/a_2.mp4");
    }
}
