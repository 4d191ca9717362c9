//! `vodesk check GUID [--json]`: reads the job with a strongly consistent GetItem (as `show` does)
//! and checks its outputs play (`vodesk::playback`): a table per format and the verdict, or the
//! report as JSON. Exit 0 when it plays, 1 when something fails, 2 for a usage error.

use clap::Args;
use vodesk::contract::WorkflowStatus;
use vodesk::contract::terminal::for_terminal;
use vodesk::playback::{Limits, check_playback, http_client, text};

use super::{ConnectionArgs, ExitError, usage_error};

#[derive(Debug, Args)]
pub(super) struct CheckArgs {
    /// The workflow's guid (see `vodesk list`)
    #[arg(value_name = "GUID")]
    guid: String,
    /// The report as one JSON object instead of tables
    #[arg(long)]
    json: bool,
}

pub(super) async fn run_check(connection: &ConnectionArgs, args: &CheckArgs) -> anyhow::Result<()> {
    let guid = args.guid.trim();
    if guid.is_empty() {
        return Err(usage_error("the guid is empty: see `vodesk list`"));
    }
    let decoded = super::jobs::whole_job(connection, guid).await?;
    let Some(record) = decoded.record.as_ref() else {
        return Err(anyhow::anyhow!(
            "item {} holds no workflow record",
            for_terminal(guid)
        ));
    };
    if record.status != WorkflowStatus::Complete {
        eprintln!(
            "vodesk: warning: the job is {}, not Complete: its outputs may not all be there",
            record.status.as_str()
        );
    }
    let client = http_client()?;
    let report = check_playback(&client, record, &Limits::default()).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text::render(&report));
    }
    if report.verdict.plays {
        Ok(())
    } else {
        // The report said why; the exit code says it failed.
        Err(ExitError {
            code: 1,
            message: format!("check failed: {}", report.verdict.line),
        }
        .into())
    }
}
