//! `vodesk list` (the newest jobs: the catalogue merged with this machine's uploads, with the "no
//! workflow started" and "stalled" warnings; exported with `--csv` or `--json-lines`) and
//! `vodesk show GUID` (one job: media info and every URL, read with a strongly consistent GetItem).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use serde_json::{Value, json};
use vodesk::aws::catalogue::Catalogue;
use vodesk::aws::operations::export::{ExportRow, write_csv, write_json_lines};
use vodesk::aws::upload::journal::Journal;
use vodesk::contract::terminal::for_terminal;
use vodesk::contract::{JobRecord, MediaInfo, RecordOrigin};
use vodesk::jobs::{Job, JobBook, JobStatus, LocalUpload, StackFacts, Thresholds};
use vodesk::time::{format_iso8601, human_duration};

use super::{ConnectionArgs, ExitError};

#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// One JSON list instead of a table
    #[arg(long, conflicts_with_all = ["csv", "json_lines"])]
    json: bool,
    /// Export the listed jobs as CSV (URLs, duration, resolution, size, status, times); cells a
    /// spreadsheet would run as a formula get a leading '
    #[arg(long, conflicts_with = "json_lines")]
    csv: bool,
    /// Export the listed jobs as JSON lines, one object a job (the columns of --csv)
    #[arg(long)]
    json_lines: bool,
    /// How many jobs to show, newest first
    #[arg(long, default_value_t = 50, value_name = "N")]
    limit: usize,
    /// Only jobs in this state: uploading, uploaded, ingest, encoding, complete, error
    #[arg(long, value_name = "S", value_parser = parse_status)]
    status: Option<JobStatus>,
}

#[derive(Debug, Args)]
pub(super) struct ShowArgs {
    /// The workflow's guid (see `vodesk list`)
    #[arg(value_name = "GUID")]
    guid: String,
    /// One JSON object instead of text
    #[arg(long)]
    json: bool,
}

fn parse_status(text: &str) -> Result<JobStatus, String> {
    JobStatus::parse(text).ok_or_else(|| {
        format!(
            "\"{text}\" is not a status; use one of: {}",
            JobStatus::ALL.map(JobStatus::as_str).join(", ")
        )
    })
}

pub(super) async fn run_list(connection: &ConnectionArgs, args: &ListArgs) -> anyhow::Result<()> {
    let (clients, resources) = connection.discover().await?;
    let catalogue = Catalogue::new(&clients, &resources);
    let wanted = args.status;
    // Uploads waiting for their workflow are in the journal, not the table: the newest items are
    // still read, to tell which uploads have started a workflow.
    let from_table = wanted.filter(|s| !matches!(s, JobStatus::Uploading | JobStatus::Uploaded));
    let page = catalogue
        .newest(args.limit.max(1), |r| {
            from_table.is_none_or(|s| JobStatus::of_record(r) == s)
        })
        .await?;
    for warning in &page.warnings {
        eprintln!("vodesk: warning: {}", for_terminal(&warning.to_string()));
    }

    let mut book = JobBook::new();
    // This machine's uploads to this stack, so waiting and failed-to-start uploads show too. A
    // missing or unreadable journal only means there are none to show.
    let (bucket, limit) = (resources.source_bucket.clone(), args.limit);
    let listed = crate::cli::off_runtime(move || {
        Ok(Journal::open_default().and_then(|j| j.list_for_bucket(&bucket, limit)))
    })
    .await?;
    match listed {
        Ok(uploads) => {
            for upload in &uploads {
                book.apply_upload(LocalUpload::from(upload));
            }
        }
        Err(err) => tracing::debug!("no upload journal: {err}"),
    }
    let now = SystemTime::now();
    for record in page.records {
        book.apply_record(record, RecordOrigin::Item, now);
    }
    let facts = StackFacts::from(&resources);
    let thresholds = Thresholds::default();
    let mut rows: Vec<(usize, &Job)> = book
        .jobs()
        .iter()
        .enumerate()
        .filter(|(_, job)| wanted.is_none_or(|s| job.status == s))
        // Jobs known only from the journal that have a workflow elsewhere are still listed.
        .filter(|(_, job)| job.record.is_some() || job.upload.is_some())
        .collect();
    rows.sort_by_key(|(_, job)| std::cmp::Reverse(sort_time(job)));
    rows.truncate(args.limit);

    if args.csv || args.json_lines {
        let export: Vec<ExportRow> = rows
            .iter()
            .map(|(_, job)| ExportRow::from_job(job))
            .collect();
        let out = std::io::stdout().lock();
        if args.csv {
            write_csv(&export, out)?;
        } else {
            write_json_lines(&export, out)?;
        }
        return Ok(());
    }
    if args.json {
        let list: Vec<Value> = rows
            .iter()
            .map(|(i, job)| {
                let warning = book.warning(*i, now, &facts, &thresholds);
                let record = job.record.as_ref();
                json!({
                    "guid": job.guid,
                    "file": job.file(),
                    "status": job.status,
                    "start_time": record.and_then(|r| r.start_time.clone()),
                    "end_time": record.and_then(|r| r.end_time.clone()),
                    "duration_seconds": record.and_then(JobRecord::duration_seconds),
                    "width": record.and_then(width),
                    "height": record.and_then(height),
                    "upload_id": job.upload.as_ref().map(|u| u.upload_id),
                    "warning": warning,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!(
            "No jobs{} in table {}.",
            wanted.map(|s| format!(" in state {s}")).unwrap_or_default(),
            for_terminal(&resources.table)
        );
        return Ok(());
    }
    println!(
        "{:<36}  {:<9}  {:<16}  {:>10}  {:>10}  FILE",
        "GUID", "STATUS", "STARTED (UTC)", "DURATION", "RESOLUTION"
    );
    let mut warnings = Vec::new();
    for (i, job) in &rows {
        let record = job.record.as_ref();
        let started = job
            .started()
            .map(|t| format_iso8601(t).replace('T', " "))
            .and_then(|t| t.get(..16).map(str::to_owned))
            .unwrap_or_else(|| "-".into());
        let duration = record
            .and_then(JobRecord::duration_seconds)
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(|d| human_duration(Duration::from_secs_f64(d.min(1e9))))
            .unwrap_or_else(|| "-".into());
        let resolution = match (record.and_then(width), record.and_then(height)) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            _ => "-".into(),
        };
        // The guid and the file come from the table (anyone with write access chooses them).
        println!(
            "{:<36}  {:<9}  {:<16}  {:>10}  {:>10}  {}",
            for_terminal(job.guid.as_deref().unwrap_or("(waiting)")),
            job.status.as_str(),
            started,
            duration,
            resolution,
            for_terminal(job.file().unwrap_or("-"))
        );
        if let Some(warning) = book.warning(*i, now, &facts, &thresholds) {
            warnings.push((job.guid.clone().or(job.file().map(str::to_owned)), warning));
        }
    }
    for (who, warning) in warnings {
        println!(
            "\n! {}: {}",
            for_terminal(&who.unwrap_or_default()),
            for_terminal(&warning.message)
        );
    }
    Ok(())
}

/// Newest first: the workflow's start, else when the upload finished or began.
fn sort_time(job: &Job) -> SystemTime {
    job.started()
        .or_else(|| {
            let upload = job.upload.as_ref()?;
            let seconds = upload.completed_at.unwrap_or(0);
            Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?))
        })
        .unwrap_or(UNIX_EPOCH)
}

fn width(record: &JobRecord) -> Option<u64> {
    record.width().or(record.src_width)
}

fn height(record: &JobRecord) -> Option<u64> {
    record.height().or(record.src_height)
}

/// One job's whole item from the connected stack's table; no such job is exit status 1, with how to
/// find the right guid.
pub(super) async fn whole_job(
    connection: &ConnectionArgs,
    guid: &str,
) -> anyhow::Result<vodesk::contract::Decoded> {
    let (clients, resources) = connection.discover().await?;
    let catalogue = Catalogue::new(&clients, &resources);
    let Some(decoded) = catalogue.get_whole(guid).await? else {
        return Err(ExitError {
            code: 1,
            message: format!(
                "no job with guid {} in table {}: check the guid with `vodesk list`, and the stack (--stack)",
                for_terminal(guid),
                for_terminal(&resources.table)
            ),
        }
        .into());
    };
    Ok(decoded)
}

pub(super) async fn run_show(connection: &ConnectionArgs, args: &ShowArgs) -> anyhow::Result<()> {
    let guid = args.guid.trim();
    let decoded = whole_job(connection, guid).await?;
    for warning in &decoded.warnings {
        eprintln!("vodesk: warning: {}", for_terminal(&warning.to_string()));
    }
    let Some(record) = decoded.record.as_ref() else {
        return Err(anyhow::anyhow!(
            "item {} holds no workflow record",
            for_terminal(guid)
        ));
    };
    let status = JobStatus::of_record(record);
    if args.json {
        let mut value = serde_json::to_value(decoded.normalized())?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("status".into(), json!(status));
            obj.insert("record".into(), serde_json::to_value(record)?);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    print!("{}", describe(record, status));
    Ok(())
}

fn describe(r: &JobRecord, status: JobStatus) -> String {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            rows.push((k.to_owned(), v));
        }
    };
    row("Guid", Some(r.guid.clone()));
    row("Status", Some(status.as_str().to_owned()));
    row("File", r.src_video.clone());
    row("Metadata file", r.src_metadata_file.clone());
    row("Bucket", r.src_bucket.clone());
    row("Started", r.start_time.clone());
    row("Ended", r.end_time.clone());
    row("Trigger", r.workflow_trigger.clone());
    row("Template", r.job_template.clone());
    row("Profile", r.encoding_profile.map(|p| format!("{p}p")));
    row("Encode job", r.encode_job_id.clone());
    row(
        "Archive",
        r.archive_source
            .clone()
            .filter(|c| c == "GLACIER" || c == "DEEP_ARCHIVE"),
    );
    for field in &r.metadata {
        row(
            &format!("Metadata {}", field.name),
            Some(field.value.clone()),
        );
    }
    if r.metadata_left_out > 0 {
        row(
            "Metadata",
            Some(format!("and {} more fields", r.metadata_left_out)),
        );
    }
    row("Error at", r.workflow_error_at.clone());
    row(
        "Error",
        r.error_message
            .as_deref()
            .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" ")),
    );
    row("Error details", r.error_details.clone());
    if let Some(info) = &r.media_info {
        media_rows(info, &mut row);
    }
    row("HLS", r.hls_url().map(str::to_owned));
    row("DASH", r.dash_url().map(str::to_owned));
    row("CMAF HLS", r.cmaf_hls_url().map(str::to_owned));
    row("CMAF DASH", r.cmaf_dash_url().map(str::to_owned));
    row("MSS", r.mss_url().map(str::to_owned));
    for url in r.mp4_urls() {
        row("MP4", Some(url.clone()));
    }
    for url in r.thumbnail_urls() {
        row("Thumbnail", Some(url.clone()));
    }
    let egress = &r.egress_endpoints;
    for (name, url) in [
        ("Egress HLS", &egress.hls),
        ("Egress DASH", &egress.dash),
        ("Egress MSS", &egress.mss),
        ("Egress CMAF", &egress.cmaf),
    ] {
        row(name, url.clone());
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    // Every value, and a metadata field's name, came from the item: escape what a terminal would
    // obey.
    rows.iter()
        .map(|(k, v)| format!("{:<width$}  {}\n", for_terminal(k), for_terminal(v)))
        .collect()
}

fn media_rows(info: &MediaInfo, row: &mut impl FnMut(&str, Option<String>)) {
    if let Some(c) = &info.container {
        let mut parts = Vec::new();
        parts.extend(c.format.clone());
        if let Some(d) = c.duration.filter(|d| d.is_finite() && *d >= 0.0) {
            parts.push(human_duration(Duration::from_secs_f64(d.min(1e9))));
        }
        if let Some(size) = c.file_size {
            parts.push(format!("{size} bytes"));
        }
        if let Some(rate) = c.total_bitrate {
            parts.push(format!("{:.0} kbit/s", rate / 1000.0));
        }
        row("Container", Some(parts.join(", ")));
    }
    for (i, v) in info.video.iter().enumerate() {
        let mut parts = Vec::new();
        parts.extend(v.codec.clone());
        parts.extend(v.profile.clone());
        if let (Some(w), Some(h)) = (v.width, v.height) {
            parts.push(format!("{w}x{h}"));
        }
        if let Some(fps) = v.framerate {
            parts.push(format!("{fps} fps"));
        }
        if let Some(depth) = v.bit_depth {
            parts.push(format!("{depth}-bit"));
        }
        parts.extend(v.scan_type.clone());
        row(&format!("Video {}", i + 1), Some(parts.join(", ")));
    }
    for (i, a) in info.audio.iter().enumerate() {
        let mut parts = Vec::new();
        parts.extend(a.codec.clone());
        if let Some(ch) = a.channels {
            parts.push(format!("{ch} ch"));
        }
        if let Some(rate) = a.sampling_rate {
            parts.push(format!("{rate} Hz"));
        }
        parts.extend(a.language.clone());
        row(&format!("Audio {}", i + 1), Some(parts.join(", ")));
    }
    for (i, t) in info.text.iter().enumerate() {
        let mut parts = Vec::new();
        parts.extend(t.format.clone());
        parts.extend(t.caption_service_name.clone());
        row(&format!("Text {}", i + 1), Some(parts.join(", ")));
    }
}
