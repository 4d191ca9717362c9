//! `vodesk iam-policy`: the least-privilege IAM policy for one deployment, printed as JSON for an
//! administrator to attach to the users' role.

use clap::Args;
use vodesk::aws::iam_policy::{PolicyOptions, policy};
use vodesk::aws::upload::naming::KeyTemplate;

use super::ConnectionArgs;

#[derive(Debug, Args)]
pub(super) struct IamPolicyArgs {
    /// A viewer's policy: the dashboard and `list`/`show`/`watch` by polling; no uploads, no queue
    #[arg(long)]
    read_only: bool,
    /// No live monitor queue: the table is polled instead (no SNS or SQS actions)
    #[arg(long)]
    no_monitor: bool,
    /// The key prefix uploads go under (default: the fixed start of the key template)
    #[arg(long, value_name = "PREFIX", conflicts_with = "key_template")]
    key_prefix: Option<String>,
    /// The key template the users upload with (`vodesk upload --key-template`): its fixed start is
    /// the prefix the policy allows
    #[arg(long, value_name = "TEMPLATE")]
    key_template: Option<KeyTemplate>,
    /// Add `vodesk retry` of any job: a source (or metadata file) read and written again anywhere
    /// in the source bucket. Jobs uploaded under the key prefix need nothing more than uploads
    #[arg(long, conflicts_with = "read_only")]
    allow_retry: bool,
    /// Add `vodesk delete`: list and delete a job's outputs in the destination bucket, delete its
    /// item in the table
    #[arg(long, conflicts_with = "read_only")]
    allow_delete: bool,
    /// Add `vodesk delete --source`: delete source videos under the key prefix too (implies
    /// --allow-delete)
    #[arg(long, conflicts_with = "read_only")]
    allow_delete_source: bool,
}

pub(super) async fn run_iam_policy(
    connection: &ConnectionArgs,
    args: &IamPolicyArgs,
) -> anyhow::Result<()> {
    let (_clients, resources) = connection.discover().await?;
    let key_prefix = args.key_prefix.clone().unwrap_or_else(|| {
        args.key_template
            .clone()
            .unwrap_or_default()
            .fixed_prefix()
            .to_owned()
    });
    let document = policy(
        &resources,
        &PolicyOptions {
            read_only: args.read_only,
            monitor: !args.no_monitor,
            key_prefix,
            allow_retry: args.allow_retry,
            allow_delete: args.allow_delete || args.allow_delete_source,
            allow_delete_source: args.allow_delete_source,
        },
    )?;
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}
