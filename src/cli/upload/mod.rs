//! `vodesk upload`, `uploads`, `resume`, `cancel` and `presign`: the upload engine on the command line,
//! with progress bars (or one JSON line per event), Ctrl-C as a clean pause, and the journal as the list.
//!
//! This module holds the arguments, the commands that send (upload, resume, cancel) and how a batch of
//! uploads is driven and summed up; the progress display is in `display`, the journal listing in
//! `list`, presigned URLs in `presign`, and the metadata-file shortcuts (`--job-template`, …) in
//! `overrides`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use vodesk::aws::connection::{AwsClients, ConnectionSettings};
use vodesk::aws::discovery::discover;
use vodesk::aws::upload::journal::{Journal, UploadRecord};
use vodesk::aws::upload::naming::{self, DEFAULT_KEY_TEMPLATE, KeyTemplate};
use vodesk::aws::upload::plan;
use vodesk::aws::upload::prepare::{self, PrepareError, PrepareOptions, prepare_uploads};
use vodesk::aws::upload::select::{is_video_extension, select_files};
use vodesk::aws::upload::uploader::{
    Outcome, UploadControl, Uploader, UploaderConfig, sign_payload_for,
};
use vodesk::contract::stack::WorkflowTrigger;
use vodesk::units;

use super::{ConnectionArgs, ExitError};
use display::Display;

mod display;
mod list;
mod overrides;
mod presign;

pub(super) use list::run_uploads;
pub(super) use presign::run_presign;

#[derive(Debug, Args)]
pub(super) struct UploadArgs {
    /// Video files, or folders to search for videos (recursively)
    #[arg(value_name = "FILE|DIR", required = true)]
    paths: Vec<PathBuf>,
    /// Object key for a single file (default: from --key-template)
    #[arg(long, value_name = "KEY", conflicts_with = "key_template")]
    key: Option<String>,
    /// Key layout: {uuid} {name} {stem} {ext} {original} {date} {yyyy} {mm} {dd}
    #[arg(long, value_name = "TEMPLATE", default_value = DEFAULT_KEY_TEMPLATE)]
    key_template: String,
    /// Upload even when the key's extension will not start a workflow
    #[arg(long)]
    force: bool,
    /// A key=value for the JSON file that starts the workflow (repeatable)
    #[arg(long = "metadata", value_name = "KEY=VALUE", help_heading = overrides::METADATA_HEADING)]
    metadata: Vec<String>,
    #[command(flatten)]
    overrides: overrides::WorkflowOverrides,
    #[command(flatten)]
    tuning: Tuning,
    /// One JSON object per event on stdout instead of progress bars
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Args)]
pub(super) struct Tuning {
    /// Part size, e.g. 16MiB (default: chosen from the file size)
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    part_size: Option<u64>,
    /// Parts in flight at once, across all files
    #[arg(long, value_name = "N", default_value_t = plan::DEFAULT_CONCURRENCY, value_parser = parse_concurrency_arg)]
    concurrency: usize,
    /// Bandwidth limit across all files, e.g. 20MiB (per second)
    #[arg(long, value_name = "RATE", value_parser = parse_rate_arg)]
    limit_rate: Option<u64>,
}

#[derive(Debug, Args)]
pub(super) struct UploadsArgs {
    /// How many completed uploads to show besides the unfinished ones
    #[arg(long, default_value_t = 20)]
    recent: usize,
    /// One JSON list instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct ResumeArgs {
    /// The upload to resume (see `vodesk uploads`)
    #[arg(
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    id: Option<i64>,
    /// Resume every unfinished upload
    #[arg(long)]
    all: bool,
    /// Start over when the file changed since its upload began (instead of refusing)
    #[arg(long)]
    restart: bool,
    #[command(flatten)]
    tuning: Tuning,
    /// One JSON object per event on stdout instead of progress bars
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct CancelArgs {
    /// The upload to cancel: its multipart upload is aborted and it is forgotten
    #[arg(value_name = "ID")]
    id: i64,
}

#[derive(Debug, Args)]
pub(super) struct PresignArgs {
    /// The file name the person will upload (it becomes the key, like `vodesk upload` would name it)
    #[arg(value_name = "NAME")]
    name: String,
    /// How long the URL works: 90s, 15m, 1h, 7d (at most 7 days)
    #[arg(long, default_value = "1h", value_parser = parse_duration_arg)]
    expires: Duration,
    /// Exact object key instead of one made from NAME and --key-template
    #[arg(long, value_name = "KEY", conflicts_with = "key_template")]
    key: Option<String>,
    #[arg(long, value_name = "TEMPLATE", default_value = DEFAULT_KEY_TEMPLATE)]
    key_template: String,
    /// Sign even when the key's extension will not start a workflow
    #[arg(long)]
    force: bool,
    /// One JSON object instead of text
    #[arg(long)]
    json: bool,
}

fn parse_size_arg(text: &str) -> Result<u64, String> {
    units::parse_size(text).map_err(|e| e.to_string())
}

fn parse_concurrency_arg(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!("\"{text}\" is not a number of parts from 1 to 256")),
    }
}

fn parse_rate_arg(text: &str) -> Result<u64, String> {
    units::parse_rate(text).map_err(|e| e.to_string())
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    plan::parse_duration(text).map_err(|e| e.to_string())
}

fn input_error(message: impl Into<String>) -> anyhow::Error {
    ExitError {
        code: 2,
        message: message.into(),
    }
    .into()
}

/// Where uploads go: the bucket, and what the stack says about triggers.
struct Destination {
    clients: AwsClients,
    bucket: String,
    trigger: Option<WorkflowTrigger>,
    version: Option<String>,
}

async fn destination(connection: &ConnectionArgs) -> anyhow::Result<Destination> {
    let clients = connection.clients().await?;
    // A bucket named by hand needs no CloudFormation rights; the stack, when also named, still tells the mode.
    if let (Some(bucket), None) = (&connection.source_bucket, &connection.stack) {
        return Ok(Destination {
            clients,
            bucket: bucket.clone(),
            trigger: None,
            version: None,
        });
    }
    let resources = discover(
        &clients,
        connection.stack.as_deref(),
        &connection.overrides(),
    )
    .await?;
    Ok(Destination {
        clients,
        bucket: resources.source_bucket,
        trigger: resources.workflow_trigger,
        version: resources.solution_version,
    })
}

pub(super) async fn run_upload(
    connection: &ConnectionArgs,
    args: &UploadArgs,
) -> anyhow::Result<()> {
    let template =
        KeyTemplate::parse(&args.key_template).map_err(|e| input_error(e.to_string()))?;
    let mut metadata_pairs = args
        .metadata
        .iter()
        .map(|pair| naming::parse_metadata_pair(pair))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| input_error(e.to_string()))?;
    args.overrides
        .add_to(&mut metadata_pairs)
        .map_err(input_error)?;
    let selection = select_files(&args.paths, &|path: &std::path::Path| {
        is_video_extension(path)
    });
    for note in &selection.notes {
        eprintln!("vodesk: {note}");
    }
    let mut refused: Vec<String> = selection
        .refused
        .iter()
        .map(|r| format!("{}: {}", r.path.display(), r.reason))
        .collect();
    let dest = destination(connection).await?;
    let destination = prepare::Destination {
        bucket: dest.bucket.clone(),
        trigger: dest.trigger,
        solution_version: dest.version.clone(),
        endpoint_url: dest.clients.endpoint_url.clone(),
        region: dest.clients.region.clone(),
        profile: connection.profile.clone(),
    };
    let options = PrepareOptions {
        template,
        key: args.key.clone(),
        metadata_pairs,
        force: args.force,
        part_size: args.tuning.part_size,
    };
    let accepted = selection.accepted.clone();
    let (journal, prepared) = crate::cli::off_runtime(move || {
        let journal = Journal::open_default()?;
        let prepared =
            prepare_uploads(&journal, &accepted, &destination, &options).map_err(|e| match e {
                PrepareError::Journal(journal) => anyhow::Error::from(journal),
                other => input_error(other.to_string()),
            })?;
        Ok((journal, prepared))
    })
    .await?;
    for note in &prepared.notes {
        eprintln!("vodesk: {note}");
    }
    refused.extend(
        prepared
            .refused
            .iter()
            .map(|r| format!("{}: {}", r.path.display(), r.reason)),
    );
    refused.extend(prepared.not_triggering.iter().map(|r| {
        format!(
            "{}: {} Pass --force to upload it anyway.",
            r.path.display(),
            r.reason
        )
    }));
    let ids = prepared.ids;
    for line in &refused {
        eprintln!("vodesk: refused: {line}");
    }
    if ids.is_empty() {
        return Err(input_error(if refused.is_empty() {
            "no video files to upload".to_owned()
        } else {
            format!(
                "nothing to upload: {} file(s) refused (see above)",
                refused.len()
            )
        }));
    }
    let summary = drive(
        &dest.clients,
        journal,
        connection.profile.clone(),
        &args.tuning,
        &ids,
        false,
        args.json,
    )
    .await?;
    finish(summary, refused.len())
}

pub(super) async fn run_resume(args: &ResumeArgs) -> anyhow::Result<()> {
    let id = args.id;
    let (journal, records) = crate::cli::off_runtime(move || {
        let journal = Journal::open_default()?;
        let records: Vec<UploadRecord> = match id {
            Some(id) => vec![journal.get(id)?],
            None => journal.unfinished()?,
        };
        Ok((journal, records))
    })
    .await?;
    let records: Vec<UploadRecord> = records
        .into_iter()
        .filter(|r| r.state.is_unfinished())
        .collect();
    if records.is_empty() {
        if !args.json {
            println!("Nothing to resume: every upload in the journal is complete.");
        }
        return Ok(());
    }
    // An upload continues where it started: same endpoint, region and profile, whatever the flags say now
    // (only the tuning flags apply).
    let mut groups: HashMap<(Option<String>, String, Option<String>), Vec<i64>> = HashMap::new();
    for r in &records {
        let key = (
            r.target.endpoint_url.clone(),
            r.target.region.clone(),
            r.target.profile.clone(),
        );
        groups.entry(key).or_default().push(r.id);
    }
    let mut total = Summary::default();
    for ((endpoint_url, region, profile), ids) in groups {
        let settings = ConnectionSettings {
            profile: profile.clone(),
            region: Some(region),
            endpoint_url,
            emulator_credentials: false,
        };
        let clients = AwsClients::connect(&settings).await?;
        let summary = drive(
            &clients,
            journal.clone(),
            profile,
            &args.tuning,
            &ids,
            args.restart,
            args.json,
        )
        .await?;
        total.merge(summary);
    }
    finish(total, 0)
}

pub(super) async fn run_cancel(args: &CancelArgs) -> anyhow::Result<()> {
    let id = args.id;
    let (journal, record) = crate::cli::off_runtime(move || {
        let journal = Journal::open_default()?;
        let record = journal.get(id)?;
        Ok((journal, record))
    })
    .await?;
    let settings = ConnectionSettings {
        profile: record.target.profile.clone(),
        region: Some(record.target.region.clone()),
        endpoint_url: record.target.endpoint_url.clone(),
        emulator_credentials: false,
    };
    let clients = AwsClients::connect(&settings).await?;
    let (tx, _rx) = mpsc::unbounded_channel();
    let uploader = Uploader::new(
        clients.s3,
        journal,
        UploaderConfig::default(),
        settings.profile,
        tx,
    );
    match uploader.cancel_now(args.id).await {
        Outcome::Cancelled => {
            println!(
                "Cancelled upload {} ({} → s3://{}/{}); nothing of it is left on the server.",
                args.id, record.original_name, record.target.bucket, record.target.key
            );
            Ok(())
        }
        Outcome::Failed { error } => Err(anyhow::anyhow!(error)),
        Outcome::RunningElsewhere { holder } => Err(anyhow::anyhow!(
            "upload {} is being sent by {holder}: pause or cancel it there, or try again when it stops",
            args.id
        )),
        other => Err(anyhow::anyhow!("unexpected outcome {other:?}")),
    }
}

#[derive(Debug, Default)]
struct Summary {
    completed: usize,
    unverified: usize,
    paused: Vec<i64>,
    failed: Vec<(i64, String)>,
    cancelled: usize,
    interrupted: bool,
    /// Uploads another vodesk process is sending, with who that is.
    elsewhere: Vec<(i64, String)>,
}

impl Summary {
    fn merge(&mut self, other: Summary) {
        self.completed += other.completed;
        self.unverified += other.unverified;
        self.paused.extend(other.paused);
        self.failed.extend(other.failed);
        self.cancelled += other.cancelled;
        self.interrupted |= other.interrupted;
        self.elsewhere.extend(other.elsewhere);
    }
}

/// Runs the uploads `ids` together (one concurrency budget), showing progress, pausing all on Ctrl-C.
async fn drive(
    clients: &AwsClients,
    journal: Journal,
    profile: Option<String>,
    tuning: &Tuning,
    ids: &[i64],
    restart: bool,
    json: bool,
) -> anyhow::Result<Summary> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let config = UploaderConfig {
        concurrency: tuning.concurrency,
        limit_rate: tuning.limit_rate,
        sign_payload: sign_payload_for(clients.endpoint_url.as_deref()),
        ..Default::default()
    };
    let uploader = Uploader::new(clients.s3.clone(), journal, config, profile, tx);
    let mut display = Display::new(json, ids.len());
    let mut controls = Vec::new();
    let mut runs = JoinSet::new();
    for &id in ids {
        let control = UploadControl::default();
        controls.push(control.clone());
        let uploader = uploader.clone();
        runs.spawn(async move { (id, uploader.run(id, &control, restart).await) });
    }
    let mut summary = Summary::default();
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            Some(event) = rx.recv() => display.show(&event),
            _ = &mut ctrl_c, if !summary.interrupted => {
                summary.interrupted = true;
                display.message("Pausing: the parts already sent are kept…");
                for control in &controls {
                    control.pause();
                }
            }
            finished = runs.join_next() => match finished {
                None => break,
                Some(Ok((id, outcome))) => match outcome {
                    Outcome::Completed { verified } => {
                        summary.completed += 1;
                        if !verified {
                            summary.unverified += 1;
                        }
                    }
                    Outcome::Paused { .. } => summary.paused.push(id),
                    Outcome::Cancelled => summary.cancelled += 1,
                    Outcome::Failed { error } => summary.failed.push((id, error)),
                    Outcome::RunningElsewhere { holder } => summary.elsewhere.push((id, holder)),
                },
                Some(Err(err)) => return Err(anyhow::anyhow!("an upload task failed: {err}")),
            },
        }
    }
    drop(uploader);
    while let Ok(event) = rx.try_recv() {
        display.show(&event);
    }
    display.finish();
    Ok(summary)
}

fn finish(summary: Summary, refused: usize) -> anyhow::Result<()> {
    if summary.interrupted && !summary.paused.is_empty() {
        let ids: Vec<String> = summary.paused.iter().map(i64::to_string).collect();
        eprintln!(
            "vodesk: paused {} upload(s) ({}); nothing sent is lost. Continue with: vodesk resume --all",
            summary.paused.len(),
            ids.join(", ")
        );
        return Err(ExitError {
            code: 130,
            message: "interrupted".into(),
        }
        .into());
    }
    for id in &summary.paused {
        eprintln!("vodesk: upload {id} is paused; continue with: vodesk resume {id}");
    }
    for (id, holder) in &summary.elsewhere {
        eprintln!(
            "vodesk: upload {id} was left alone: {holder} is sending it (pause or cancel it there)"
        );
    }
    if !summary.failed.is_empty() {
        let detail: Vec<String> = summary
            .failed
            .iter()
            .map(|(id, e)| format!("upload {id}: {e}"))
            .collect();
        return Err(anyhow::anyhow!(
            "{} upload(s) failed: {}",
            summary.failed.len(),
            detail.join("; ")
        ));
    }
    if refused > 0 {
        return Err(input_error(format!(
            "{refused} file(s) were refused (see above); the others were uploaded"
        )));
    }
    if !summary.paused.is_empty() {
        return Err(anyhow::anyhow!("{} upload(s) paused", summary.paused.len()));
    }
    Ok(())
}
