//! `vodesk uploads`: the journal's unfinished and recent uploads, as a table or one JSON list.

use vodesk::aws::upload::journal::{Journal, UploadState};
use vodesk::units::human_bytes;

use super::UploadsArgs;

pub(crate) fn run_uploads(args: &UploadsArgs) -> anyhow::Result<()> {
    let journal = Journal::open_default()?;
    let records = journal.list(args.recent)?;
    if args.json {
        let rows: Vec<serde_json::Value> = records
            .iter()
            .map(|r| {
                let confirmed: u64 = journal.parts(r.id).map(|p| p.iter().map(|p| p.size).sum()).unwrap_or(0);
                serde_json::json!({
                    "id": r.id, "state": r.state, "file": r.file_path.to_string_lossy(),
                    "running_elsewhere": journal.lease_holder(r.id).ok().flatten().map(|h| h.0), "name": r.original_name, "size": r.file.size,
                    "confirmed": if r.state == UploadState::Completed { r.file.size } else { confirmed },
                    "bucket": r.target.bucket, "key": r.target.key, "upload_id": r.upload_id, "error": r.error,
                    "created_at": r.created_at, "completed_at": r.completed_at,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if records.is_empty() {
        println!("No uploads yet. Start one with: vodesk upload FILE");
        return Ok(());
    }
    println!(
        "{:>5}  {:<10} {:>20}  {:<40} KEY",
        "ID", "STATE", "PROGRESS", "FILE"
    );
    for r in &records {
        let confirmed: u64 = if r.state == UploadState::Completed {
            r.file.size
        } else {
            journal
                .parts(r.id)
                .map(|p| p.iter().map(|p| p.size).sum())
                .unwrap_or(0)
        };
        let progress = format!("{} / {}", human_bytes(confirmed), human_bytes(r.file.size));
        let state = match journal.lease_holder(r.id) {
            Ok(Some(_)) if r.state.is_unfinished() => "sending".to_owned(),
            _ => format!("{:?}", r.state).to_lowercase(),
        };
        println!(
            "{:>5}  {state:<10} {progress:>20}  {:<40} s3://{}/{}",
            r.id, r.original_name, r.target.bucket, r.target.key
        );
        if let Some(error) = &r.error
            && r.state != UploadState::Completed
        {
            println!("       {error}");
        }
    }
    if records.iter().any(|r| r.state.is_unfinished()) {
        println!(
            "\nResume with `vodesk resume ID` or `vodesk resume --all`; drop one with `vodesk cancel ID`."
        );
    }
    Ok(())
}
