//! vodesk's own SQS queue on the stack's topic (contract §9 "vodesk's own queue"): its name, tags,
//! attributes and policy; the raw-delivery subscription; the teardown (unsubscribe, then delete);
//! the heartbeat tag; and the removal of queues that crashed clients left behind, which touches only
//! queues carrying vodesk's tags for this stack. Heartbeats are written and judged in the service's
//! time (the `Date` of SQS's answers, [`ServiceClock`]), with a margin on top of the expiry, so that
//! clocks that disagree between machines do not make a live queue look abandoned.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::QueueAttributeName;

use super::clock::ServiceClock;
use crate::aws::sdk_error;
use crate::time::unix_seconds;

/// Every vodesk queue's name starts with this (ListQueues' prefix filter; IAM's `vodesk-*`).
pub const NAME_PREFIX: &str = "vodesk-";
/// `vodesk=1` marks a queue as vodesk's.
pub const TAG_VODESK: &str = "vodesk";
/// The stack whose topic the queue is subscribed to.
pub const TAG_STACK: &str = "vodesk:stack";
/// Epoch seconds of the owner's last sign of life.
pub const TAG_HEARTBEAT: &str = "vodesk:heartbeat";
/// Epoch seconds of the queue's creation (information for people looking at the account).
pub const TAG_CREATED: &str = "vodesk:created";

/// Beyond the expiry, a heartbeat may be this much older before its queue counts as abandoned: a
/// quarter of the expiry, at most 15 minutes (for heartbeats an older vodesk wrote in its own clock's
/// time, and the second-resolution `Date`).
const SKEW_MARGIN_MAX: Duration = Duration::from_secs(15 * 60);
/// SQS error codes for a queue that does not exist (the AWS JSON protocol names it one way, the
/// query protocol and older SDKs the other).
const GONE_CODES: &[&str] = &[
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
];

/// SQS limit on queue names.
const MAX_NAME_LEN: usize = 80;
/// Long enough to outlive a laptop's sleep; messages older than that are not worth showing.
const RETENTION_SECONDS: &str = "14400";
const VISIBILITY_TIMEOUT_SECONDS: &str = "60";
/// Long polling (§9 step 1): also the default for receives that don't say.
const RECEIVE_WAIT_SECONDS: &str = "20";

/// The queue this process created and its subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnQueue {
    pub name: String,
    pub url: String,
    pub arn: String,
    pub subscription_arn: String,
}

/// A set-up step that failed. `refused` is true for permission errors (AccessDenied and the like),
/// the case the monitor answers with polling mode; `action` names the IAM permission the step needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not {step}: {message}")]
pub struct SetupError {
    pub step: &'static str,
    pub action: &'static str,
    pub message: String,
    pub refused: bool,
}

/// The set-up steps, each with the IAM action it needs (what a refusal's fix names).
const CREATE: (&str, &str) = (
    "create vodesk's SQS queue",
    "sqs:CreateQueue (with sqs:TagQueue)",
);
const READ_ARN: (&str, &str) = ("read vodesk's queue ARN", "sqs:GetQueueAttributes");
const SET_POLICY: (&str, &str) = ("set the policy of vodesk's queue", "sqs:SetQueueAttributes");
const SUBSCRIBE: (&str, &str) = (
    "subscribe vodesk's queue to the stack's SNS topic",
    "sns:Subscribe",
);

/// A call on vodesk's own queue that failed; `gone` when the queue no longer exists (deleted by hand,
/// or by another vodesk that took it for abandoned while this computer slept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueueCallError {
    pub message: String,
    pub gone: bool,
}

impl QueueCallError {
    /// Describes an SQS error, telling a missing queue apart.
    pub fn from_sdk<E>(err: &E) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error,
    {
        QueueCallError {
            message: sdk_error::describe(err),
            gone: err.code().is_some_and(|code| GONE_CODES.contains(&code)),
        }
    }
}

/// What the teardown did; both true means nothing is left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Teardown {
    pub unsubscribed: bool,
    pub deleted: bool,
    /// One line per step that failed, with what to do about it.
    pub problems: Vec<String>,
}

/// A queue of a crashed client that start-up removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleQueue {
    pub url: String,
    /// Seconds since its last heartbeat.
    pub silent_for: u64,
    pub subscriptions_removed: usize,
}

/// `vodesk-<stack>-<host>-<random>`, at most 80 characters of `[A-Za-z0-9_-]`. The random part
/// keeps names fresh: SQS refuses a deleted queue's name for 60 s.
pub fn queue_name(stack: &str, host: &str, random: &str) -> String {
    let random = clean(random, 12);
    let fixed = NAME_PREFIX.len() + 2 + random.len();
    let room = MAX_NAME_LEN.saturating_sub(fixed);
    let stack = clean(stack, room * 2 / 3);
    let host = clean(host, room.saturating_sub(stack.len()));
    format!("{NAME_PREFIX}{stack}-{host}-{random}")
}

fn clean(part: &str, max: usize) -> String {
    let cleaned: String = part
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(max)
        .collect();
    if cleaned.is_empty() {
        "x".into()
    } else {
        cleaned
    }
}

/// This machine's name, for the queue name (so a person can tell whose queue it is).
pub fn host_name() -> String {
    let from_file = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_owned())
    };
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// §9 step 2: only SNS may send, and only for this topic.
pub fn queue_policy(queue_arn: &str, topic_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "vodesk-sns-only",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}
        }]
    })
    .to_string()
}

const REFUSAL_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "AuthorizationErrorException",
    "UnauthorizedOperation",
    "InvalidClientTokenId",
    "KMSAccessDenied",
    "KMS.AccessDeniedException",
];

fn setup_error<E>((step, action): (&'static str, &'static str), err: &E) -> SetupError
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error,
{
    let code = err.code().unwrap_or_default();
    SetupError {
        step,
        action,
        message: sdk_error::describe(err),
        refused: REFUSAL_CODES.contains(&code) || code.contains("AccessDenied"),
    }
}

/// §9 steps 1–3: creates the queue (tags, SSE-SQS, long polling), sets its policy and subscribes it
/// with raw delivery. On failure, whatever was already created is removed again. The heartbeat and
/// creation tags are the service's time as `clock` knows it, and the answer teaches `clock`.
pub async fn create(
    sqs: &aws_sdk_sqs::Client,
    sns: &aws_sdk_sns::Client,
    name: &str,
    stack_tag: &str,
    topic_arn: &str,
    clock: &ServiceClock,
) -> Result<OwnQueue, SetupError> {
    let epoch = unix_seconds(clock.now()).to_string();
    let created = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::SqsManagedSseEnabled, "true")
        .attributes(
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
            RECEIVE_WAIT_SECONDS,
        )
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            RETENTION_SECONDS,
        )
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            VISIBILITY_TIMEOUT_SECONDS,
        )
        .tags(TAG_VODESK, "1")
        .tags(TAG_STACK, stack_tag)
        .tags(TAG_HEARTBEAT, &epoch)
        .tags(TAG_CREATED, &epoch)
        .customize()
        .interceptor(clock.reader())
        .send()
        .await
        .map_err(|e| setup_error(CREATE, &e))?;
    let Some(url) = created.queue_url().map(str::to_owned) else {
        return Err(SetupError {
            step: CREATE.0,
            action: CREATE.1,
            message: "SQS answered without a queue URL".into(),
            refused: false,
        });
    };
    match finish_setup(sqs, sns, &url, topic_arn).await {
        Ok((arn, subscription_arn)) => Ok(OwnQueue {
            name: name.to_owned(),
            url,
            arn,
            subscription_arn,
        }),
        Err(err) => {
            // Nothing may be left behind: the queue is useless without its subscription.
            if let Err(e) = sqs.delete_queue().queue_url(&url).send().await {
                tracing::warn!(
                    "could not delete queue {url} after a failed set-up: {}",
                    sdk_error::describe(&e)
                );
            }
            Err(err)
        }
    }
}

async fn finish_setup(
    sqs: &aws_sdk_sqs::Client,
    sns: &aws_sdk_sns::Client,
    url: &str,
    topic_arn: &str,
) -> Result<(String, String), SetupError> {
    let arn = queue_arn(sqs, url)
        .await
        .map_err(|(message, refused)| SetupError {
            step: READ_ARN.0,
            action: READ_ARN.1,
            message,
            refused,
        })?;
    sqs.set_queue_attributes()
        .queue_url(url)
        .attributes(QueueAttributeName::Policy, queue_policy(&arn, topic_arn))
        .send()
        .await
        .map_err(|e| setup_error(SET_POLICY, &e))?;
    let subscribed = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(&arn)
        .attributes("RawMessageDelivery", "true")
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| setup_error(SUBSCRIBE, &e))?;
    let subscription_arn = subscribed
        .subscription_arn()
        .map(str::to_owned)
        .ok_or_else(|| SetupError {
            step: SUBSCRIBE.0,
            action: SUBSCRIBE.1,
            message: "SNS answered without a subscription ARN".into(),
            refused: false,
        })?;
    Ok((arn, subscription_arn))
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, (String, bool)> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            let error = setup_error(READ_ARN, &e);
            (error.message, error.refused)
        })?;
    out.attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| ("SQS answered without the queue's ARN".to_owned(), false))
}

/// §9 step 5: unsubscribe first (or SNS keeps a dangling subscription), then delete the queue.
pub async fn teardown(
    sqs: &aws_sdk_sqs::Client,
    sns: &aws_sdk_sns::Client,
    queue: &OwnQueue,
) -> Teardown {
    let mut report = Teardown::default();
    match sns
        .unsubscribe()
        .subscription_arn(&queue.subscription_arn)
        .send()
        .await
    {
        Ok(_) => report.unsubscribed = true,
        // Already gone (removed by hand or by another client's clean-up): nothing is left.
        Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found_exception()) => {
            report.unsubscribed = true;
        }
        Err(e) => report.problems.push(format!(
            "could not unsubscribe {} ({}); remove it with `aws sns unsubscribe --subscription-arn {}`",
            queue.subscription_arn,
            sdk_error::describe(&e),
            queue.subscription_arn
        )),
    }
    match sqs.delete_queue().queue_url(&queue.url).send().await {
        Ok(_) => report.deleted = true,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_queue_does_not_exist()) => {
            report.deleted = true;
        }
        Err(e) => report.problems.push(format!(
            "could not delete queue {} ({}); the next `vodesk watch` removes it once its heartbeat is old, or run `aws sqs delete-queue --queue-url {}`",
            queue.name,
            sdk_error::describe(&e),
            queue.url
        )),
    }
    report
}

/// §9 step 6: proves this client is alive, so nobody removes its queue. The heartbeat is the
/// service's time as `clock` knows it (this machine's, until an answer told); the answer teaches
/// `clock`.
pub async fn refresh_heartbeat(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    clock: &ServiceClock,
) -> Result<(), QueueCallError> {
    sqs.tag_queue()
        .queue_url(url)
        .tags(TAG_HEARTBEAT, unix_seconds(clock.now()).to_string())
        .customize()
        .interceptor(clock.reader())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| QueueCallError::from_sdk(&e))
}

/// Whether a queue's tags make it an abandoned vodesk queue of `stack_tag`: `vodesk=1`, the same
/// stack, and a heartbeat older than `expiry` plus [`skew_margin`] at `now` (the service's time).
/// Anything else (no tags, another stack, an unreadable heartbeat) is left alone.
pub fn is_stale(
    tags: &HashMap<String, String>,
    stack_tag: &str,
    now: SystemTime,
    expiry: Duration,
) -> Option<u64> {
    if tags.get(TAG_VODESK).map(String::as_str) != Some("1") {
        return None;
    }
    if tags.get(TAG_STACK).map(String::as_str) != Some(stack_tag) {
        return None;
    }
    let heartbeat: u64 = tags.get(TAG_HEARTBEAT)?.trim().parse().ok()?;
    let silent_for = unix_seconds(now).saturating_sub(heartbeat);
    (silent_for > (expiry + skew_margin(expiry)).as_secs()).then_some(silent_for)
}

/// How much older than `expiry` a heartbeat may be before its queue counts as abandoned.
pub fn skew_margin(expiry: Duration) -> Duration {
    (expiry / 4).min(SKEW_MARGIN_MAX)
}

/// Removes the abandoned vodesk queues of this stack and their subscriptions on `topic_arn`.
/// `keep` (this process's own queue, if it exists already) is never touched. Each queue is judged at
/// the `Date` of the answer that gave its tags, the service's time; `local_now` (this machine's) only
/// when an answer carries no date. The answers teach `clock`.
#[allow(clippy::too_many_arguments)] // each is one fact of the clean-up; a struct would only rename them
pub async fn remove_stale(
    sqs: &aws_sdk_sqs::Client,
    sns: &aws_sdk_sns::Client,
    stack_tag: &str,
    topic_arn: &str,
    clock: &ServiceClock,
    local_now: SystemTime,
    expiry: Duration,
    keep: Option<&str>,
) -> Result<Vec<StaleQueue>, String> {
    let mut urls = Vec::new();
    let mut next_token = None;
    loop {
        let page = sqs
            .list_queues()
            .queue_name_prefix(NAME_PREFIX)
            .max_results(1000)
            .set_next_token(next_token.take())
            .customize()
            .interceptor(clock.reader())
            .send()
            .await
            .map_err(|e| format!("ListQueues: {}", sdk_error::describe(&e)))?;
        urls.extend(page.queue_urls().iter().cloned());
        match page.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => break,
        }
    }
    let mut stale = Vec::new();
    for url in urls {
        if Some(url.as_str()) == keep {
            continue;
        }
        // Another client may be removing the same queue right now: a failure here just skips it.
        let answer = ServiceClock::default();
        let tags = match sqs
            .list_queue_tags()
            .queue_url(&url)
            .customize()
            .interceptor(answer.reader())
            .send()
            .await
        {
            Ok(out) => out.tags().cloned().unwrap_or_default(),
            Err(e) => {
                tracing::debug!("ListQueueTags {url}: {}", sdk_error::describe(&e));
                continue;
            }
        };
        clock.learn_from(&answer);
        let now = answer.last_date().unwrap_or(local_now);
        if let Some(silent_for) = is_stale(&tags, stack_tag, now, expiry) {
            stale.push((url, silent_for));
        }
    }
    if stale.is_empty() {
        return Ok(Vec::new());
    }
    let subscriptions = topic_subscriptions(sns, topic_arn).await?;
    let mut removed = Vec::new();
    for (url, silent_for) in stale {
        let arn = match queue_arn(sqs, &url).await {
            Ok(arn) => arn,
            Err((message, _)) => {
                tracing::debug!("skipping {url}: {message}");
                continue;
            }
        };
        let mut subscriptions_removed = 0;
        for (subscription, endpoint) in &subscriptions {
            if endpoint == &arn {
                sns.unsubscribe()
                    .subscription_arn(subscription)
                    .send()
                    .await
                    .map_err(|e| {
                        format!("Unsubscribe {subscription}: {}", sdk_error::describe(&e))
                    })?;
                subscriptions_removed += 1;
            }
        }
        sqs.delete_queue()
            .queue_url(&url)
            .send()
            .await
            .map_err(|e| format!("DeleteQueue {url}: {}", sdk_error::describe(&e)))?;
        removed.push(StaleQueue {
            url,
            silent_for,
            subscriptions_removed,
        });
    }
    Ok(removed)
}

/// `(subscription ARN, endpoint)` of every subscription on the topic.
async fn topic_subscriptions(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut pages = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("ListSubscriptionsByTopic: {}", sdk_error::describe(&e)))?;
        for s in page.subscriptions() {
            if let (Some(arn), Some(endpoint)) = (s.subscription_arn(), s.endpoint()) {
                out.push((arn.to_owned(), endpoint.to_owned()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_set_up_step_names_its_action() {
        assert!(CREATE.1.starts_with("sqs:CreateQueue"));
        assert_eq!(SUBSCRIBE.1, "sns:Subscribe");
        assert_eq!(SET_POLICY.1, "sqs:SetQueueAttributes");
        assert_eq!(READ_ARN.1, "sqs:GetQueueAttributes");
    }

    #[test]
    fn names_are_valid_sqs_names() {
        let name = queue_name("vod stack", "my.laptop", "a1b2c3d4");
        assert_eq!(name, "vodesk-vod-stack-my-laptop-a1b2c3d4");
        let long = queue_name(&"s".repeat(100), &"h".repeat(100), "a1b2c3d4");
        assert!(long.len() <= MAX_NAME_LEN, "{}", long.len());
        assert!(long.starts_with("vodesk-sss"));
        assert!(long.ends_with("-a1b2c3d4"));
        assert!(long.contains("-hhh"));
    }

    #[test]
    fn policy_grants_only_sns_for_the_topic() {
        let policy: serde_json::Value =
            serde_json::from_str(&queue_policy("arn:q", "arn:t")).unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1);
        let s = &statements[0];
        assert_eq!(
            s["Principal"],
            serde_json::json!({"Service": "sns.amazonaws.com"})
        );
        assert_eq!(s["Action"], "sqs:SendMessage");
        assert_eq!(s["Resource"], "arn:q");
        assert_eq!(
            s["Condition"],
            serde_json::json!({"ArnEquals": {"aws:SourceArn": "arn:t"}})
        );
    }

    #[test]
    fn only_old_vodesk_queues_of_this_stack_are_stale() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let hour = Duration::from_secs(3600);
        let tags = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let old = tags(&[(TAG_VODESK, "1"), (TAG_STACK, "s"), (TAG_HEARTBEAT, "100")]);
        assert_eq!(is_stale(&old, "s", now, hour), Some(9_900));
        // An hour and a quarter of silence is needed (the margin for clocks that disagree).
        let hour_ago = tags(&[(TAG_VODESK, "1"), (TAG_STACK, "s"), (TAG_HEARTBEAT, "6000")]);
        assert_eq!(is_stale(&hour_ago, "s", now, hour), None);
        let later = now + Duration::from_secs(901);
        assert_eq!(is_stale(&hour_ago, "s", later, hour), Some(4_901));
        assert_eq!(is_stale(&old, "other", now, hour), None);
        let fresh = tags(&[(TAG_VODESK, "1"), (TAG_STACK, "s"), (TAG_HEARTBEAT, "9000")]);
        assert_eq!(is_stale(&fresh, "s", now, hour), None);
        let foreign = tags(&[(TAG_STACK, "s"), (TAG_HEARTBEAT, "100")]);
        assert_eq!(is_stale(&foreign, "s", now, hour), None);
        let unreadable = tags(&[(TAG_VODESK, "1"), (TAG_STACK, "s"), (TAG_HEARTBEAT, "soon")]);
        assert_eq!(is_stale(&unreadable, "s", now, hour), None);
    }

    #[test]
    fn the_margin_is_a_quarter_of_the_expiry_up_to_15_minutes() {
        assert_eq!(
            skew_margin(Duration::from_secs(3600)),
            Duration::from_secs(900)
        );
        assert_eq!(
            skew_margin(Duration::from_secs(86_400)),
            Duration::from_secs(900)
        );
        assert_eq!(skew_margin(Duration::from_secs(12)), Duration::from_secs(3));
        // Tests use a one-second expiry to clean up after a kill -9 at once.
        assert_eq!(skew_margin(Duration::from_secs(1)).as_secs(), 0);
    }

    #[test]
    fn a_missing_queue_is_told_apart() {
        use aws_sdk_sqs::error::ErrorMetadata;
        let gone = ErrorMetadata::builder()
            .code("AWS.SimpleQueueService.NonExistentQueue")
            .message("The specified queue does not exist.")
            .build();
        assert!(QueueCallError::from_sdk(&gone).gone);
        let gone = ErrorMetadata::builder().code("QueueDoesNotExist").build();
        assert!(QueueCallError::from_sdk(&gone).gone);
        let throttled = ErrorMetadata::builder().code("RequestThrottled").build();
        assert!(!QueueCallError::from_sdk(&throttled).gone);
    }
}
