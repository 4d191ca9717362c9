//! The doctor's live monitor checks: the stack's topic reached (its subscriptions listed, as the
//! clean-up of abandoned queues lists them), and the monitor's start and end rehearsed as it runs
//! them (contract §9): a `vodesk-doctor-…` queue created with its tags, policy and subscription,
//! the clean-up's calls and a receive on it, then unsubscribed and deleted, also when a step failed.

use super::access::{action, random_suffix};
use super::context::{CallError, Ctx, Trouble, call_error};
use super::{Outcome, bounded, untrusted};
use crate::aws::discovery::VodResources;
use crate::aws::monitor::queue::{self, NAME_PREFIX, OwnQueue, SetupError};

/// The topic the monitor subscribes to: reached, and its subscriptions listed (how the clean-up of
/// abandoned queues finds theirs).
pub(super) async fn topic(ctx: &Ctx, r: &VodResources) -> Outcome {
    let operation = action("SNS", "ListSubscriptionsByTopic");
    let listed = bounded(
        ctx.clients
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(&r.topic_arn)
            .send(),
    )
    .await;
    match listed {
        None => ctx.timed_out("reading the topic"),
        Some(Ok(out)) => Outcome::pass(format!(
            "reachable: {} subscription(s) listed ({operation})",
            out.subscriptions().len()
        )),
        Some(Err(err)) => {
            let err = call_error(&err);
            match err.trouble {
                Trouble::Missing => Outcome::fail(
                    format!("there is no topic {}", untrusted(&r.topic_arn)),
                    "the stack's outputs name a topic that is gone, or --topic-arn is wrong: check `vodesk stack`",
                ),
                Trouble::Denied => Outcome::fail(
                    format!("{operation} was refused ({})", err.said),
                    format!(
                        "{}; until then, --no-monitor (the table is polled) skips the live monitor",
                        ctx.permission_fix(operation)
                    ),
                ),
                _ => ctx.failed("read the topic", &err),
            }
        }
    }
}

/// The live monitor's start and end, as it runs them (contract §9): a `vodesk-doctor-…` queue
/// created with its tags, policy and subscription; the calls of the clean-up of abandoned queues and
/// a receive on it; then unsubscribed and deleted, also when a step failed.
pub(super) async fn rehearse_monitor(ctx: &Ctx, r: &VodResources) -> Outcome {
    let (sqs, sns) = (&ctx.clients.sqs, &ctx.clients.sns);
    let name = format!("{NAME_PREFIX}doctor-{}", random_suffix());
    let stack_tag = r
        .stack_name
        .clone()
        .unwrap_or_else(|| "vodesk-doctor".into());
    let created = bounded(queue::create(
        sqs,
        sns,
        &name,
        &stack_tag,
        &r.topic_arn,
        &ctx.clock,
    ))
    .await;
    let own = match created {
        None => {
            return Outcome::fail(
                format!(
                    "{}; a queue named {name} may be left",
                    ctx.timed_out("setting up a queue").text()
                ),
                "check the network; a queue left behind is removed by the next vodesk after an hour, or by `aws sqs delete-queue`",
            );
        }
        Some(Err(err)) => return setup_failed(ctx, &err),
        Some(Ok(own)) => own,
    };
    let trouble = clean_up_calls(ctx, &own).await;
    let removed = bounded(queue::teardown(sqs, sns, &own)).await;
    let left = match removed {
        None => Some(format!(
            "removing it got no answer; queue {name} may be left"
        )),
        Some(report) if report.unsubscribed && report.deleted => None,
        Some(report) => Some(
            report
                .problems
                .iter()
                .map(|p| untrusted(p))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    match (trouble, left) {
        (None, None) => {
            let actions = [
                ("SQS", "CreateQueue"),
                ("SQS", "TagQueue"),
                ("SQS", "GetQueueAttributes"),
                ("SQS", "SetQueueAttributes"),
                ("SNS", "Subscribe"),
                ("SQS", "ListQueues"),
                ("SQS", "ListQueueTags"),
                ("SQS", "ReceiveMessage"),
                ("SNS", "Unsubscribe"),
                ("SQS", "DeleteQueue"),
            ]
            .map(|(service, operation)| action(service, operation));
            Outcome::pass(format!(
                "queue {name} created, subscribed to the topic, read and removed again ({})",
                actions.join(", ")
            ))
        }
        (Some(outcome), None) => outcome,
        (trouble, Some(left)) => {
            let also = trouble
                .map(|t| format!("; also: {}", t.text()))
                .unwrap_or_default();
            Outcome::fail(
                format!("the trial queue was not fully removed: {left}{also}"),
                format!(
                    "{}; until then a queue may be left behind (the next vodesk removes it after an hour)",
                    ctx.permission_fix("sns:Unsubscribe and sqs:DeleteQueue")
                ),
            )
        }
    }
}

/// The calls of the clean-up of abandoned queues (ListQueues, ListQueueTags) and a receive, on the
/// doctor's own queue: the first failure.
async fn clean_up_calls(ctx: &Ctx, own: &OwnQueue) -> Option<Outcome> {
    let sqs = &ctx.clients.sqs;
    let list_queues = action("SQS", "ListQueues");
    match bounded(sqs.list_queues().queue_name_prefix(&own.name).send()).await {
        None => return Some(ctx.timed_out("listing vodesk's queues")),
        Some(Err(err)) => {
            return Some(monitor_refused(
                ctx,
                "list vodesk's queues (to remove abandoned ones)",
                list_queues,
                &call_error(&err),
            ));
        }
        Some(Ok(_)) => {}
    }
    let list_tags = action("SQS", "ListQueueTags");
    match bounded(sqs.list_queue_tags().queue_url(&own.url).send()).await {
        None => return Some(ctx.timed_out("reading a queue's tags")),
        Some(Err(err)) => {
            return Some(monitor_refused(
                ctx,
                "read a queue's tags (its heartbeat)",
                list_tags,
                &call_error(&err),
            ));
        }
        Some(Ok(_)) => {}
    }
    let receive = action("SQS", "ReceiveMessage");
    let received = bounded(
        sqs.receive_message()
            .queue_url(&own.url)
            .wait_time_seconds(0)
            .max_number_of_messages(1)
            .send(),
    )
    .await;
    match received {
        None => Some(ctx.timed_out("receiving from the queue")),
        Some(Err(err)) => Some(monitor_refused(
            ctx,
            "receive from vodesk's queue",
            receive,
            &call_error(&err),
        )),
        Some(Ok(_)) => None,
    }
}

/// A refused step of the monitor: the permission, and that vodesk still works by polling.
fn monitor_refused(ctx: &Ctx, what: &str, action: &str, err: &CallError) -> Outcome {
    match ctx.refused(what, action, err) {
        Outcome::Fail { problem, fix } if err.trouble == Trouble::Denied => Outcome::fail(
            problem,
            format!(
                "{fix}; until then vodesk polls the table for changes (--no-monitor skips this check)"
            ),
        ),
        other => other,
    }
}

fn setup_failed(ctx: &Ctx, err: &SetupError) -> Outcome {
    let action = err.action;
    let said = untrusted(&err.message);
    if err.refused {
        Outcome::fail(
            format!("{action} was refused: could not {} ({said})", err.step),
            format!(
                "{}; until then vodesk polls the table for changes (--no-monitor skips this check)",
                ctx.permission_fix(action)
            ),
        )
    } else {
        Outcome::fail(
            format!("could not {} ({said})", err.step),
            format!(
                "vodesk polls the table for changes meanwhile; if it persists, check the topic and SQS in region {}",
                ctx.clients.region
            ),
        )
    }
}
