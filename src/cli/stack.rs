//! `vodesk stack` (what discovery found for one deployment) and `vodesk stacks` (the deployments of the
//! solution in a region).

use clap::Args;
use vodesk::aws::discovery::{Origin, VodResources, find_solution_stacks};
use vodesk::contract::stack::WorkflowTrigger;

use super::ConnectionArgs;

#[derive(Debug, Args)]
pub(super) struct StackArgs {
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct StacksArgs {
    /// Print a JSON list instead of a table
    #[arg(long)]
    json: bool,
}

pub(super) async fn run_stack(connection: &ConnectionArgs, args: &StackArgs) -> anyhow::Result<()> {
    let (_clients, resources) = connection.discover().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&resources)?);
    } else {
        print!("{}", describe(&resources));
    }
    Ok(())
}

pub(super) async fn run_stacks(
    connection: &ConnectionArgs,
    args: &StacksArgs,
) -> anyhow::Result<()> {
    let clients = connection.clients().await?;
    let stacks = find_solution_stacks(&clients).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stacks)?);
        return Ok(());
    }
    if stacks.is_empty() {
        println!(
            "No Video on Demand on AWS deployment in region {}.",
            clients.region
        );
        return Ok(());
    }
    println!(
        "{:<32} {:<10} {:<20} SOURCE BUCKET",
        "STACK", "VERSION", "STATUS"
    );
    for stack in &stacks {
        println!(
            "{:<32} {:<10} {:<20} {}",
            stack.name,
            stack.solution_version.as_deref().unwrap_or("?"),
            stack.status.as_deref().unwrap_or("?"),
            stack.source_bucket.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}

/// A human-readable table of what was discovered, with where the less obvious values came from.
fn describe(r: &VodResources) -> String {
    let mut rows: Vec<(&str, String)> = Vec::new();
    let stack = match (&r.stack_name, &r.solution_version, &r.stack_status) {
        (Some(name), version, status) => {
            let details: Vec<&str> = [version.as_deref(), status.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if details.is_empty() {
                name.clone()
            } else {
                format!("{name} ({})", details.join(", "))
            }
        }
        (None, _, _) => "(none: values given by flags)".into(),
    };
    rows.push(("Stack", stack));
    rows.push(("Region", r.region.clone()));
    let flagged = |field: &str, value: String| {
        if r.overridden.contains(&field) {
            format!("{value}  (from flag)")
        } else {
            value
        }
    };
    rows.push((
        "Source bucket",
        flagged("source_bucket", r.source_bucket.clone()),
    ));
    if let Some(dest) = &r.destination_bucket {
        rows.push(("Destination", dest.clone()));
    }
    rows.push(("Table", flagged("table", r.table.clone())));
    let topic_from = match r.topic_arn_from {
        Origin::StackOutput => "from the stack's outputs",
        Origin::StackResource => "from the stack's resources",
        Origin::StackId => "built from the stack id",
        Origin::Override => "from flag",
    };
    rows.push(("SNS topic", format!("{}  ({topic_from})", r.topic_arn)));
    rows.push((
        "CloudFront",
        r.cloudfront_domain
            .clone()
            .map_or_else(|| "(unknown)".into(), |d| flagged("cloudfront_domain", d)),
    ));
    if let Some(trigger) = r.workflow_trigger {
        rows.push((
            "Trigger",
            match trigger {
                WorkflowTrigger::VideoFile => {
                    "VideoFile: each uploaded video starts a workflow".into()
                }
                WorkflowTrigger::MetadataFile => {
                    "MetadataFile: a .json file naming the video starts a workflow".into()
                }
            },
        ));
    }
    let yes_no = |flag: Option<bool>| flag.map(|f| if f { "yes" } else { "no" });
    if let Some(sns) = yes_no(r.enable_sns) {
        rows.push((
            "SNS messages",
            if sns == "yes" {
                "Ingest, Complete, Error".into()
            } else {
                "Error only (EnableSns=No)".into()
            },
        ));
    }
    if let Some(fc) = yes_no(r.frame_capture) {
        rows.push(("Thumbnails", fc.into()));
    }
    if let Some(mp) = yes_no(r.enable_media_package) {
        rows.push(("MediaPackage", mp.into()));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<width$}  {v}\n"))
        .collect()
}
