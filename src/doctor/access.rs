//! The doctor's resource checks, run once the stack's resources are known: each resource reached
//! and each permission vodesk needs tried with a call that changes nothing the solution sees: the
//! buckets' HeadBucket and a multipart upload started, listed and aborted (no object, so no
//! workflow) here; the table in [`super::table`]; the topic and the live monitor's rehearsal in
//! [`super::monitor`]. What cannot be tried without side effects is said, with `vodesk iam-policy`
//! for the whole list.

use std::future::Future;

use super::aws::{NOT_TRIED, skip_from};
use super::context::{Ctx, Trouble, call_error};
use super::monitor::{rehearse_monitor, topic};
use super::stack::stack_resources;
use super::table::table;
use super::{Checklist, Outcome, bounded, ids, untrusted};
use crate::aws::discovery::VodResources;
use crate::aws::iam_policy::iam_action;

/// The key of the trial upload's object, under the prefix uploads go to: no video suffix and no
/// `.json`, so nothing would start a workflow even if it were ever completed.
const TRIAL_SUFFIX: &str = ".vodesk-doctor";

/// Runs the resource checks (each line skipped once a check found that nothing more can work).
pub(super) async fn run(list: &mut Checklist, ctx: &Ctx, resources: Option<&VodResources>) {
    let Some(r) = resources else {
        skip_from(
            list,
            ids::STACK_RESOURCES,
            "the deployment's resources are not known",
        );
        return;
    };
    gated(
        list,
        ctx,
        ids::STACK_RESOURCES,
        "Stack resources",
        stack_resources(ctx, r),
    )
    .await;
    let name = format!("Source bucket {}", untrusted(&r.source_bucket));
    gated(
        list,
        ctx,
        ids::SOURCE_BUCKET,
        name,
        bucket(ctx, &r.source_bucket, true),
    )
    .await;
    gated(list, ctx, ids::UPLOADS, "Uploads", uploads(ctx, r)).await;
    match &r.destination_bucket {
        Some(destination) => {
            let name = format!("Destination bucket {}", untrusted(destination));
            gated(
                list,
                ctx,
                ids::DESTINATION_BUCKET,
                name,
                bucket(ctx, destination, false),
            )
            .await;
        }
        None => list.push(
            ids::DESTINATION_BUCKET,
            "Destination bucket",
            Outcome::skipped("the stack names none: thumbnails come from CloudFront only"),
        ),
    }
    table(list, ctx, r).await;
    let monitor = ctx.options.monitor && !ctx.options.read_only;
    let topic_name = format!("Notifications topic {}", untrusted(&r.topic_arn));
    if monitor {
        gated(list, ctx, ids::TOPIC, topic_name, topic(ctx, r)).await;
    } else {
        list.push(ids::TOPIC, topic_name, Outcome::skipped(monitor_off(ctx)));
    }
    let topic_missing = list.get(ids::TOPIC).is_some_and(|c| c.outcome.is_fail());
    if !monitor {
        list.push(
            ids::MONITOR,
            "Live monitor",
            Outcome::skipped(monitor_off(ctx)),
        );
    } else if topic_missing {
        list.push(
            ids::MONITOR,
            "Live monitor",
            Outcome::skipped("not checked: the topic could not be read"),
        );
    } else {
        gated(
            list,
            ctx,
            ids::MONITOR,
            "Live monitor",
            rehearse_monitor(ctx, r),
        )
        .await;
    }
    list.push(ids::NOT_TRIED, NOT_TRIED, not_tried(ctx));
}

/// Runs `work` unless an earlier check found that nothing more can work.
async fn gated(
    list: &mut Checklist,
    ctx: &Ctx,
    id: &'static str,
    name: impl Into<String>,
    work: impl Future<Output = Outcome>,
) {
    let outcome = match ctx.blocked() {
        Some(why) => Outcome::skipped(format!("not checked: {why}")),
        None => work.await,
    };
    list.push(id, name, outcome);
}

fn monitor_off(ctx: &Ctx) -> &'static str {
    if ctx.options.read_only {
        "read-only: no live monitor queue, vodesk polls the table"
    } else {
        "the live monitor is off (--no-monitor): vodesk polls the table"
    }
}

/// `service:Action` for an SDK operation, from the one table of them.
pub(super) fn action(service: &str, operation: &str) -> &'static str {
    iam_action(service, operation).unwrap_or("an action vodesk needs")
}

pub(super) fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// HeadBucket: the bucket exists and answers in this region. A 403 still proves it exists (the
/// listing it would need, s3:ListBucket, is not one vodesk asks for). `required`: the source bucket
/// (a problem fails) or the destination (only the thumbnails' fallback: a problem warns).
async fn bucket(ctx: &Ctx, bucket: &str, required: bool) -> Outcome {
    let answered = bounded(ctx.clients.s3.head_bucket().bucket(bucket).send()).await;
    let name = untrusted(bucket);
    let region = &ctx.clients.region;
    let problem = |problem: String, fix: String| {
        if required {
            Outcome::fail(problem, fix)
        } else {
            Outcome::warn(
                format!("{problem}; thumbnails can still come from CloudFront"),
                fix,
            )
        }
    };
    let err = match answered {
        None => return ctx.timed_out("reaching the bucket"),
        Some(Ok(_)) => return Outcome::pass("reachable"),
        Some(Err(err)) => call_error(&err),
    };
    if let Some(actual) = err
        .bucket_region
        .as_deref()
        .filter(|r| *r != region.as_str())
    {
        return problem(
            format!("the bucket {name} is in region {actual}, not {region}"),
            format!(
                "pass --region {actual} (or set AWS_REGION={actual}): the stack and its buckets are there"
            ),
        );
    }
    match (err.trouble, err.status) {
        (Trouble::Blocked(_) | Trouble::BadKey | Trouble::Unreachable, _) => {
            ctx.failed("reach the bucket", &err)
        }
        (_, Some(403)) => {
            Outcome::pass("exists (listing it is not allowed, and vodesk does not need to)")
        }
        (Trouble::Missing, _) => problem(
            format!("there is no bucket named {name}"),
            if required {
                "the stack's outputs name a bucket that is gone, or --source-bucket is wrong: check `vodesk stack`".into()
            } else {
                "the stack's outputs name a bucket that is gone: check the deployment".into()
            },
        ),
        _ => {
            let outcome = ctx.failed("reach the bucket", &err);
            match (required, outcome) {
                (false, Outcome::Fail { problem: p, fix }) => problem(p, fix),
                (_, other) => other,
            }
        }
    }
}

/// A multipart upload started, its parts listed and aborted: the upload's permissions, with no
/// object stored (so no workflow started, nothing to pay).
async fn uploads(ctx: &Ctx, r: &VodResources) -> Outcome {
    if ctx.options.read_only {
        return Outcome::skipped("read-only: uploads are not tried");
    }
    let s3 = &ctx.clients.s3;
    let bucket = &r.source_bucket;
    let key = format!(
        "{}vodesk-doctor-{}{TRIAL_SUFFIX}",
        ctx.options.key_prefix,
        random_suffix()
    );
    let put = action("S3", "CreateMultipartUpload");
    let started = bounded(s3.create_multipart_upload().bucket(bucket).key(&key).send()).await;
    let upload_id = match started {
        None => return ctx.timed_out("starting a multipart upload"),
        Some(Err(err)) => {
            return ctx.refused(
                &format!("start a multipart upload of {key}"),
                put,
                &call_error(&err),
            );
        }
        Some(Ok(out)) => match out.upload_id() {
            Some(id) => id.to_owned(),
            None => {
                return Outcome::fail(
                    "S3 started a multipart upload without giving its id",
                    "check --endpoint-url: this does not answer like S3",
                );
            }
        },
    };
    let list_parts = action("S3", "ListParts");
    let listed = bounded(
        s3.list_parts()
            .bucket(bucket)
            .key(&key)
            .upload_id(&upload_id)
            .send(),
    )
    .await;
    let listed = match listed {
        None => Some(ctx.timed_out("listing the upload's parts")),
        Some(Ok(_)) => None,
        Some(Err(err)) => Some(ctx.refused(
            "list the parts of an upload (how an interrupted upload resumes)",
            list_parts,
            &call_error(&err),
        )),
    };
    // Always aborted, whatever the listing did: nothing may stay behind.
    let abort = action("S3", "AbortMultipartUpload");
    let aborted = bounded(
        s3.abort_multipart_upload()
            .bucket(bucket)
            .key(&key)
            .upload_id(&upload_id)
            .send(),
    )
    .await;
    let left = format!(
        "; the trial upload is left unfinished (no object, no workflow): `aws s3api abort-multipart-upload --bucket {bucket} --key {key} --upload-id {upload_id}` removes it"
    );
    let aborted = match aborted {
        None => Some(ctx.timed_out("aborting the trial upload")),
        Some(Ok(_)) => None,
        Some(Err(err)) => Some(ctx.refused(
            "abort an upload (how a cancelled upload is removed)",
            abort,
            &call_error(&err),
        )),
    };
    match (listed, aborted) {
        (None, None) => Outcome::pass(format!(
            "a multipart upload under {} was started, listed and aborted ({put}, {list_parts}, {abort}); nothing was stored",
            ctx.options.key_prefix
        )),
        (Some(outcome), None) => outcome,
        (_, Some(Outcome::Fail { problem, fix })) => Outcome::fail(problem, format!("{fix}{left}")),
        (_, Some(other)) => other,
    }
}

/// What no harmless call can show, said plainly.
fn not_tried(ctx: &Ctx) -> Outcome {
    let mut items = Vec::new();
    if !ctx.options.read_only {
        items.push("completing an upload (s3:PutObject, proven above by starting one) would store an object and start a paid workflow");
        items.push("the read-back after an upload (s3:GetObject) cannot be told from a refusal: without s3:ListBucket a missing object answers 403");
    }
    items.push("thumbnails from the destination bucket (s3:GetObject): the same");
    if ctx.options.monitor && !ctx.options.read_only {
        items.push("deleting a received message (sqs:DeleteMessage) needs a message, which only SNS may send");
    }
    Outcome::skipped(format!(
        "{}. `{}` prints every action vodesk needs",
        items.join("; "),
        ctx.policy_command()
    ))
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actions_come_from_the_policy_table() {
        assert_eq!(action("S3", "CreateMultipartUpload"), "s3:PutObject");
        assert_eq!(action("S3", "ListParts"), "s3:ListMultipartUploadParts");
        assert_eq!(action("DynamoDB", "Query"), "dynamodb:Query");
        assert_eq!(action("SQS", "CreateQueue"), "sqs:CreateQueue");
    }

    #[test]
    fn the_trial_key_starts_no_workflow() {
        use crate::contract::triggers::{TriggerVerdict, video_trigger};
        let key = format!("uploads/vodesk-doctor-{}{TRIAL_SUFFIX}", random_suffix());
        assert!(!key.ends_with(".json"));
        for version in [None, Some("v6.1.13"), Some("v5.0.0")] {
            let verdict = video_trigger(&key, None, version);
            assert!(
                matches!(verdict, TriggerVerdict::WillNotStart { .. }),
                "{key}: {verdict:?}"
            );
        }
    }
}
