//! `vodesk delete GUID… [--source] [--yes]`: a job's outputs under `<guid>/` in the destination
//! bucket, its item in the table and, with `--source`, its source video (and metadata file) unless
//! another job uses it. Shows every job's plan with the total size and asks first; then says what
//! went, and that no CloudFront invalidation is needed.

use std::collections::BTreeMap;

use clap::Args;
use serde_json::json;
use vodesk::aws::catalogue::Catalogue;
use vodesk::aws::operations::delete::{
    DeletePlan, NO_INVALIDATION_NOTE, execute_delete, plan_delete,
};
use vodesk::aws::operations::parse_guid;
use vodesk::contract::terminal::for_terminal;
use vodesk::units::human_bytes;

use super::ConnectionArgs;
use super::retry::{confirm, operation_error};

#[derive(Debug, Args)]
pub(super) struct DeleteArgs {
    /// The workflows' guids (see `vodesk list`); each must be a whole guid
    #[arg(value_name = "GUID", required = true)]
    guids: Vec<String>,
    /// Delete the source video too (and on MetadataFile stacks its metadata file), unless another
    /// job in the table uses it
    #[arg(long)]
    source: bool,
    /// Delete without asking (needed when stdin is not a terminal)
    #[arg(long, short = 'y')]
    yes: bool,
    /// JSON lines instead of text: each plan with every key, then what was deleted
    #[arg(long)]
    json: bool,
}

pub(super) async fn run_delete(
    connection: &ConnectionArgs,
    args: &DeleteArgs,
) -> anyhow::Result<()> {
    // Every guid is checked before anything is read: a part of one would name other jobs' folders.
    let guids = args
        .guids
        .iter()
        .map(|g| parse_guid(g))
        .collect::<Result<Vec<_>, _>>()
        .map_err(operation_error)?;
    let (clients, resources) = connection.discover().await?;
    let catalogue = Catalogue::new(&clients, &resources);
    let mut plans = Vec::new();
    for guid in &guids {
        let plan = plan_delete(&clients, &catalogue, &resources, guid, args.source)
            .await
            .map_err(operation_error)?;
        plans.push(plan);
    }
    let total: u64 = plans.iter().map(DeletePlan::total_size).sum();
    let objects: usize = plans.iter().map(|p| p.outputs.len() + p.source.len()).sum();
    if args.json {
        for plan in &plans {
            println!(
                "{}",
                json!({"event": "plan", "plan": plan, "total_bytes": plan.total_size()})
            );
        }
    } else {
        for plan in &plans {
            print!("{}", describe_plan(plan));
        }
        println!(
            "Total: {objects} object{} ({}), {} item{}.",
            if objects == 1 { "" } else { "s" },
            human_bytes(total),
            plans.iter().filter(|p| p.item).count(),
            if plans.iter().filter(|p| p.item).count() == 1 {
                ""
            } else {
                "s"
            },
        );
    }
    if !args.yes && !confirm("Delete all of this? It cannot be undone.")? {
        println!("Nothing was deleted.");
        return Ok(());
    }
    let mut failed = 0;
    for plan in &plans {
        let deleted = execute_delete(&clients, plan)
            .await
            .map_err(operation_error)?;
        failed += deleted.failed.len();
        if args.json {
            println!("{}", json!({"event": "deleted", "deleted": deleted}));
            continue;
        }
        let bytes: u64 = deleted.objects.iter().map(|o| o.size).sum();
        println!(
            "Deleted {}: {} object{} ({}){}.",
            deleted.guid,
            deleted.objects.len(),
            if deleted.objects.len() == 1 { "" } else { "s" },
            human_bytes(bytes),
            if deleted.item { " and its item" } else { "" }
        );
        for (key, reason) in &deleted.failed {
            println!(
                "  not deleted: {} ({})",
                for_terminal(key),
                for_terminal(reason)
            );
        }
        for note in deleted.notes.iter().filter(|n| !plan.notes.contains(n)) {
            println!("  {}", for_terminal(note));
        }
    }
    if args.json {
        println!(
            "{}",
            json!({"event": "note", "message": NO_INVALIDATION_NOTE})
        );
    } else {
        println!("{NO_INVALIDATION_NOTE}");
    }
    if failed > 0 {
        return Err(anyhow::anyhow!(
            "{failed} object{} could not be deleted (listed above); run the command again for what is left",
            if failed == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

/// One job's plan as text: the outputs by folder (`hls/`, `thumbnails/`, …) with counts and sizes,
/// the item, the source, and what is kept.
fn describe_plan(plan: &DeletePlan) -> String {
    let mut text = format!("Job {}:\n", plan.guid);
    if let Some(bucket) = &plan.destination_bucket {
        let size: u64 = plan.outputs.iter().map(|o| o.size).sum();
        text += &format!(
            "  outputs: {} object{} under s3://{}/{} ({})\n",
            plan.outputs.len(),
            if plan.outputs.len() == 1 { "" } else { "s" },
            for_terminal(bucket),
            plan.prefix(),
            human_bytes(size)
        );
        let mut folders: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
        for object in &plan.outputs {
            let rest = object.key.get(plan.prefix().len()..).unwrap_or_default();
            let folder = rest.split_once('/').map_or("", |(folder, _)| folder);
            let entry = folders.entry(folder).or_default();
            entry.0 += 1;
            entry.1 += object.size;
        }
        for (folder, (count, size)) in folders {
            text += &format!(
                "    {}{}{}: {count} object{} ({})\n",
                plan.prefix(),
                for_terminal(folder),
                if folder.is_empty() { "" } else { "/" },
                if count == 1 { "" } else { "s" },
                human_bytes(size)
            );
        }
    }
    if plan.item {
        text += &format!(
            "  item: {} in table {}\n",
            plan.guid,
            for_terminal(&plan.table)
        );
    }
    for object in &plan.source {
        text += &format!(
            "  source: s3://{}/{} ({})\n",
            for_terminal(&object.bucket),
            for_terminal(&object.key),
            human_bytes(object.size)
        );
    }
    for note in &plan.notes {
        text += &format!("  note: {}\n", for_terminal(note));
    }
    text
}
