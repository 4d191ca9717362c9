//! The doctor's stack checks: the stack found (DescribeStacks), what its Description says (the
//! solution's version) and its status, the resources discovery reads from it, and its resources
//! listed. A stack that is not there is named with the region, and the solution's deployments in
//! that region are suggested.

use super::access::action;
use super::context::{Ctx, Trouble, call_error};
use super::{Outcome, Setup, bounded, untrusted};
use crate::aws::discovery::{DiscoveryError, Origin, VodResources, discover, find_solution_stacks};
use crate::aws::sdk_error::{Failure, credentials_fix};
use crate::contract::stack::Generation;

/// The stack: found (DescribeStacks), what the solution's Description says, and the resources
/// discovery reads from it. The line's name and outcome, and the resources when they are known.
pub(super) async fn stack(ctx: &Ctx, setup: &Setup) -> ((String, Outcome), Option<VodResources>) {
    let region = &ctx.clients.region;
    let Some(name) = setup
        .stack
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return match discover(&ctx.clients, None, &setup.overrides).await {
            Ok(resources) => (
                (
                    "Stack".into(),
                    Outcome::skipped("none given: the resources come from the override flags"),
                ),
                Some(resources),
            ),
            Err(err) => {
                let fix = format!(
                    "pass --stack NAME (or set VODESK_STACK); {}",
                    deployments(ctx).await
                );
                (("Stack".into(), Outcome::fail(err.to_string(), fix)), None)
            }
        };
    };
    let title = format!("Stack {name}");
    let described = bounded(
        ctx.clients
            .cloudformation
            .describe_stacks()
            .stack_name(name)
            .send(),
    )
    .await;
    let stack = match described {
        None => return ((title, ctx.timed_out("reading the stack")), None),
        Some(Ok(out)) => out.stacks().first().cloned(),
        Some(Err(err)) => {
            let err = call_error(&err);
            if matches!(err.trouble, Trouble::Other | Trouble::Missing) {
                None // discovery below names a missing stack
            } else {
                let outcome = ctx.refused("read the stack", "cloudformation:DescribeStacks", &err);
                let outcome = match outcome {
                    Outcome::Fail { problem, fix } if err.trouble == Trouble::Denied => {
                        Outcome::fail(
                            problem,
                            format!(
                                "{fix}; or name the resources by hand with --source-bucket, --table and --topic-arn"
                            ),
                        )
                    }
                    other => other,
                };
                return ((title, outcome), None);
            }
        }
    };
    let resources = match bounded(discover(&ctx.clients, Some(name), &setup.overrides)).await {
        None => {
            return (
                (title, ctx.timed_out("discovering the stack's resources")),
                None,
            );
        }
        Some(Ok(resources)) => resources,
        Some(Err(DiscoveryError::StackNotFound { .. })) => {
            let problem = format!("no stack named \"{name}\" in region {region}");
            let fix = format!(
                "check the name, and the region: if the stack is in another region, pass --region (or set AWS_REGION); {}",
                deployments(ctx).await
            );
            return ((title, Outcome::fail(problem, fix)), None);
        }
        Some(Err(err)) => {
            let fix = match err.failure() {
                Failure::Permanent => {
                    "pass the value by hand with the flag the message names".into()
                }
                failure => credentials_fix(failure, ctx.profile.as_deref())
                    .unwrap_or_else(|| "try again".into()),
            };
            return (
                (title, Outcome::fail(untrusted(&err.to_string()), fix)),
                None,
            );
        }
    };
    let status = resources.stack_status.as_deref().map(untrusted);
    let version = resources.solution_version.as_deref().map(untrusted);
    let generation = match resources.generation {
        Some(Generation::V6) => " (v6 outputs)",
        Some(Generation::V5) => " (v5 outputs)",
        None => "",
    };
    let mut detail = match &version {
        Some(v) => format!("the solution {v}{generation}"),
        None => format!("a deployment{generation}"),
    };
    if let Some(status) = &status {
        detail.push_str(&format!(", {status}"));
    }
    let is_solution = stack
        .as_ref()
        .and_then(|s| s.description())
        .is_some_and(crate::contract::stack::is_solution_description);
    let outcome = if status.as_deref().is_some_and(|s| !healthy_status(s)) {
        Outcome::warn(
            detail,
            "the stack is not in a finished, healthy state: look at its events in the CloudFormation console before uploading",
        )
    } else if !is_solution {
        Outcome::warn(
            format!(
                "{detail}; its Description does not mark it as the Video on Demand on AWS solution (SO0021)"
            ),
            "check that this is the solution's stack: `vodesk stacks` lists the deployments in the region",
        )
    } else {
        Outcome::pass(detail)
    };
    ((title, outcome), Some(resources))
}

/// `CREATE_COMPLETE` and `UPDATE_COMPLETE` (and an update's clean-up) are healthy; a rollback, a
/// deletion or a change in progress is not.
fn healthy_status(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE"
            | "UPDATE_COMPLETE"
            | "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
            | "IMPORT_COMPLETE"
    )
}

/// The solution's deployments in the region, as a suggestion.
async fn deployments(ctx: &Ctx) -> String {
    let region = &ctx.clients.region;
    match bounded(find_solution_stacks(&ctx.clients)).await {
        Some(Ok(stacks)) if stacks.is_empty() => {
            format!(
                "there is no deployment of the solution in {region} (`vodesk stacks` lists them)"
            )
        }
        Some(Ok(stacks)) => {
            let names: Vec<String> = stacks
                .iter()
                .map(|s| match &s.solution_version {
                    Some(v) => format!("{} ({})", untrusted(&s.name), untrusted(v)),
                    None => untrusted(&s.name),
                })
                .collect();
            format!(
                "the deployments of the solution in {region}: {} (`vodesk stacks` lists them)",
                names.join(", ")
            )
        }
        Some(Err(_)) | None => {
            format!("`vodesk stacks --region {region}` lists the deployments there")
        }
    }
}

/// The stack's resources listed (how discovery finds the topic's ARN of a v6 stack).
pub(super) async fn stack_resources(ctx: &Ctx, r: &VodResources) -> Outcome {
    let Some(stack) = &ctx.stack else {
        return Outcome::skipped("no stack given");
    };
    let operation = action("CloudFormation", "ListStackResources");
    let listed = bounded(
        ctx.clients
            .cloudformation
            .list_stack_resources()
            .stack_name(stack)
            .send(),
    )
    .await;
    let topic_from = match r.topic_arn_from {
        Origin::StackOutput => "the topic's ARN is one of the stack's outputs",
        Origin::StackResource => "the topic's ARN comes from them",
        Origin::StackId => "the topic's ARN was built from the stack id",
        Origin::Override => "the topic's ARN was given by hand",
    };
    match listed {
        None => ctx.timed_out("listing the stack's resources"),
        Some(Ok(out)) => Outcome::pass(format!(
            "{} listed ({operation}); {topic_from}",
            out.stack_resource_summaries().len()
        )),
        Some(Err(err)) => {
            let err = call_error(&err);
            if err.trouble == Trouble::Denied {
                Outcome::warn(
                    format!(
                        "{operation} was refused ({}); vodesk builds the topic's ARN from the stack id instead",
                        err.said
                    ),
                    ctx.permission_fix(operation),
                )
            } else {
                ctx.failed("list the stack's resources", &err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finished_stacks_are_healthy() {
        assert!(healthy_status("UPDATE_COMPLETE"));
        assert!(!healthy_status("ROLLBACK_COMPLETE"));
        assert!(!healthy_status("UPDATE_IN_PROGRESS"));
    }
}
