//! `vodesk retry GUID`: run a job's workflow again for the same source (a copy of the source onto
//! itself on VideoFile stacks; the metadata file written again, with `--job-template`/`--metadata`
//! changes, on MetadataFile stacks). Asks first on a terminal, since every run is a paid encode;
//! `--wait` follows until the new workflow's Ingest and prints its guid. Also the yes/no question
//! `vodesk delete` asks.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use serde_json::json;
use vodesk::aws::catalogue::Catalogue;
use vodesk::aws::operations::OperationError;
use vodesk::aws::operations::retry::{
    RetryOptions, RetryWrite, execute_retry, new_job_since, plan_retry,
};
use vodesk::aws::upload::naming::parse_metadata_pair;
use vodesk::contract::terminal::for_terminal;
use vodesk::time::format_iso8601;

use super::{ConnectionArgs, usage_error};

#[derive(Debug, Args)]
pub(super) struct RetryArgs {
    /// The workflow's guid (see `vodesk list`)
    #[arg(value_name = "GUID")]
    guid: String,
    /// Start it without asking (needed when stdin is not a terminal)
    #[arg(long, short = 'y')]
    yes: bool,
    /// MetadataFile stacks: the MediaConvert job template of the new workflow
    #[arg(long, value_name = "NAME")]
    job_template: Option<String>,
    /// MetadataFile stacks: a field of the new metadata file, e.g. frameCapture=true (repeatable);
    /// it replaces the field of the same name
    #[arg(long = "metadata", value_name = "KEY=VALUE")]
    metadata: Vec<String>,
    /// Wait for the new workflow's Ingest and print its guid
    #[arg(long)]
    wait: bool,
    /// How long --wait waits for the Ingest
    #[arg(long, default_value_t = 300, value_name = "SECONDS", requires = "wait")]
    wait_seconds: u64,
    /// JSON lines instead of text
    #[arg(long)]
    json: bool,
}

pub(super) async fn run_retry(connection: &ConnectionArgs, args: &RetryArgs) -> anyhow::Result<()> {
    let metadata = args
        .metadata
        .iter()
        .map(|pair| parse_metadata_pair(pair))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage_error)?;
    let options = RetryOptions {
        job_template: args.job_template.clone(),
        metadata,
    };
    let (clients, resources) = connection.discover().await?;
    let catalogue = Catalogue::new(&clients, &resources);
    let plan = plan_retry(&clients.s3, &catalogue, &resources, &args.guid, &options)
        .await
        .map_err(operation_error)?;
    if let RetryWrite::RewriteMetadata {
        document,
        from_record,
    } = &plan.write
        && !args.json
    {
        let from = if *from_record {
            " (rebuilt from the record: the file was gone or overwritten)"
        } else {
            ""
        };
        println!(
            "The metadata file s3://{}/{} will be written again{from}:\n  {}",
            for_terminal(&plan.bucket),
            for_terminal(&plan.key),
            for_terminal(&document.to_string())
        );
    }
    let question = format!(
        "This starts a new encode of {}, which AWS charges for. Continue?",
        for_terminal(&plan.src_video)
    );
    if !args.yes && !confirm(&question)? {
        println!("Nothing was started.");
        return Ok(());
    }
    // The jobs of this source before the retry, so --wait tells the new one from them. The window
    // is wide: startTime is the server's clock, not this computer's.
    let since = format_iso8601(SystemTime::now() - Duration::from_secs(15 * 60));
    let known: HashSet<String> = if args.wait {
        catalogue
            .started_since(&since)
            .await?
            .records
            .into_iter()
            .filter(|r| r.src_video.as_deref() == Some(plan.src_video.as_str()))
            .map(|r| r.guid)
            .collect()
    } else {
        HashSet::new()
    };
    let retried = execute_retry(&clients.s3, &plan)
        .await
        .map_err(operation_error)?;
    if args.json {
        println!(
            "{}",
            json!({"event": "retried", "retry_of": retried.guid, "bucket": retried.bucket,
                   "key": retried.key, "src_video": retried.src_video, "s3_event": retried.event,
                   "verified_after_error": retried.verified_after_error})
        );
    } else {
        println!(
            "Started again: s3://{}/{} was {} ({}), marked as a retry of {}.",
            for_terminal(&retried.bucket),
            for_terminal(&retried.key),
            match plan.write {
                RetryWrite::CopySource => "copied onto itself",
                RetryWrite::RewriteMetadata { .. } => "written again",
            },
            retried.event,
            retried.guid
        );
    }
    if !args.wait {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(args.wait_seconds);
    while Instant::now() < deadline {
        if let Some(new) = new_job_since(&catalogue, &plan.src_video, &since, &known)
            .await
            .map_err(operation_error)?
        {
            if args.json {
                println!(
                    "{}",
                    json!({"event": "ingest", "guid": new.guid, "retry_of": plan.guid})
                );
            } else {
                println!(
                    "New workflow {} (retry of {}).",
                    for_terminal(&new.guid),
                    plan.guid
                );
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Err(anyhow::anyhow!(
        "no new workflow of {} within {} s; the write was made, so check `vodesk list` before running again",
        for_terminal(&plan.src_video),
        args.wait_seconds
    ))
}

/// An operation's error: what the user typed wrong is a usage error (exit 2).
pub(super) fn operation_error(err: OperationError) -> anyhow::Error {
    match err {
        OperationError::NotAGuid(_) | OperationError::Metadata(_) => usage_error(err),
        other => anyhow::Error::new(other),
    }
}

/// Asks `question` with `[y/N]` on the terminal; only `y` or `yes` is a yes. Without a terminal
/// on stdin nobody can answer: refused, with the flag that confirms in advance.
pub(super) fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(usage_error(
            "stdin is not a terminal, so vodesk cannot ask for confirmation: pass --yes to go ahead",
        ));
    }
    // On stderr, so the answer is asked even when stdout is a pipe of JSON lines.
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
