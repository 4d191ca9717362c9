//! The live monitor against the emulator: its own queue exactly as contract §9 specifies (attributes,
//! tags, policy, raw subscription, read back), the solution's message shapes published to the topic
//! arriving as typed events (raw and enveloped, duplicates dropped, Errors looked up to their file),
//! nothing left behind after shutdown, abandoned queues removed (only vodesk's, only this stack's,
//! judged by the service's clock), a queue removed under a running monitor made again, and polling
//! mode when SQS or SNS refuse (a local endpoint answering AccessDenied, as IAM would), including an
//! Ingest that starts encoding (gains its encode job id). Security checks: the queue admits only the
//! stack's topic and is encrypted; no credential, token or signature in logs or `--json` output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "it/common/mod.rs"]
mod common;

use std::time::{Duration, SystemTime};

use aws_sdk_sqs::types::QueueAttributeName;
use common::{
    fixture, fresh_emulator, put_item_json, topic_subscriptions, vod_stack, vodesk_queue_urls,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vodesk::aws::connection::AwsClients;
use vodesk::aws::monitor::{
    self, ItemReads, JobUpdate, Mode, MonitorConfig, MonitorEvent, MonitorHandle, Via,
};
use vodesk::contract::{Kind, Source};

const WAIT: Duration = Duration::from_secs(15);

async fn next_event(handle: &mut MonitorHandle) -> MonitorEvent {
    tokio::time::timeout(WAIT, handle.events.recv())
        .await
        .expect("an event within 15 s")
        .expect("the monitor is running")
}

/// The next event that is not a warning (warnings are printed, for the test log).
async fn next_non_warning(handle: &mut MonitorHandle) -> MonitorEvent {
    loop {
        match next_event(handle).await {
            MonitorEvent::Warning { message } => eprintln!("monitor warning: {message}"),
            other => return other,
        }
    }
}

async fn next_update(handle: &mut MonitorHandle) -> JobUpdate {
    match next_non_warning(handle).await {
        MonitorEvent::Update(update) => *update,
        other => panic!("expected an update, got {other:?}"),
    }
}

async fn ready(handle: &mut MonitorHandle) -> Mode {
    loop {
        match next_non_warning(handle).await {
            MonitorEvent::Ready(mode) => return mode,
            MonitorEvent::StaleQueueRemoved(_) => {}
            other => panic!("expected Ready, got {other:?}"),
        }
    }
}

async fn publish(clients: &AwsClients, topic_arn: &str, body: &str, subject: &str) {
    clients
        .sns
        .publish()
        .topic_arn(topic_arn)
        .message(body)
        .subject(subject)
        .send()
        .await
        .expect("Publish");
}

#[tokio::test(flavor = "multi_thread")]
async fn own_queue_is_set_up_as_specified_and_messages_arrive_raw_and_enveloped() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let mut handle = monitor::start(emu.clients.clone(), &stack, MonitorConfig::default());
    let Mode::Queue {
        queue_name,
        queue_url,
        subscription_arn,
        also_polling,
    } = ready(&mut handle).await
    else {
        panic!("expected queue mode");
    };
    assert!(!also_polling, "EnableSns=Yes: no polling besides the queue");
    assert!(queue_name.starts_with("vodesk-vod-stack-"), "{queue_name}");
    assert!(queue_name.len() <= 80);

    // Attributes, read back.
    let attributes = emu
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes()
        .cloned()
        .unwrap();
    let attr = |name: QueueAttributeName| attributes.get(&name).cloned().unwrap_or_default();
    assert_eq!(attr(QueueAttributeName::SqsManagedSseEnabled), "true");
    assert_eq!(
        attr(QueueAttributeName::ReceiveMessageWaitTimeSeconds),
        "20"
    );
    assert_eq!(attr(QueueAttributeName::VisibilityTimeout), "60");
    assert_eq!(attr(QueueAttributeName::MessageRetentionPeriod), "14400");
    assert_eq!(
        attr(QueueAttributeName::KmsMasterKeyId),
        "",
        "SSE-SQS, not SSE-KMS"
    );
    let queue_arn = attr(QueueAttributeName::QueueArn);
    let policy: Value = serde_json::from_str(&attr(QueueAttributeName::Policy)).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{policy}");
    let statement = &statements[0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Principal"]["Service"], "sns.amazonaws.com");
    assert_eq!(statement["Action"], "sqs:SendMessage");
    assert_eq!(statement["Resource"], queue_arn.as_str());
    assert_eq!(
        statement["Condition"]["ArnEquals"]["aws:SourceArn"],
        stack.topic_arn.as_str()
    );

    // Tags, read back.
    let tags = emu
        .clients
        .sqs
        .list_queue_tags()
        .queue_url(&queue_url)
        .send()
        .await
        .unwrap()
        .tags()
        .cloned()
        .unwrap();
    assert_eq!(tags.get("vodesk").map(String::as_str), Some("1"));
    assert_eq!(
        tags.get("vodesk:stack").map(String::as_str),
        Some("vod-stack")
    );
    let now = vodesk::time::unix_seconds(SystemTime::now());
    let heartbeat: u64 = tags["vodesk:heartbeat"].parse().unwrap();
    assert!(
        now.abs_diff(heartbeat) < 60,
        "heartbeat {heartbeat}, now {now}"
    );

    // The subscription: this queue, raw delivery.
    let subscription = emu
        .clients
        .sns
        .get_subscription_attributes()
        .subscription_arn(&subscription_arn)
        .send()
        .await
        .unwrap()
        .attributes()
        .cloned()
        .unwrap();
    assert_eq!(subscription["RawMessageDelivery"], "true");
    assert_eq!(subscription["Endpoint"], queue_arn);
    assert_eq!(subscription["Protocol"], "sqs");
    assert_eq!(subscription["TopicArn"], stack.topic_arn);

    // Raw messages arrive as typed events.
    let ingest_guid = "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8";
    publish(
        &emu.clients,
        &stack.topic_arn,
        &fixture("sns-ingest.json"),
        &format!("Workflow Status:: Ingest:: {ingest_guid}"),
    )
    .await;
    let update = next_update(&mut handle).await;
    assert_eq!(update.via, Via::Queue);
    assert_eq!(update.decoded.source, Source::Sns);
    assert_eq!(update.decoded.kind, Kind::Ingest);
    assert_eq!(update.decoded.guid(), Some(ingest_guid));
    assert_eq!(update.src_video(), Some("uploads/Café Opening Night.MOV"));

    let complete = fixture("sns-complete.json");
    publish(
        &emu.clients,
        &stack.topic_arn,
        &complete,
        "Workflow Status:: Complete:: x",
    )
    .await;
    let update = next_update(&mut handle).await;
    assert_eq!(update.decoded.kind, Kind::Complete);
    let expected: Value = serde_json::from_str(&complete).unwrap();
    assert_eq!(
        update.record().unwrap().hls_url(),
        expected["hlsUrl"].as_str()
    );

    // A duplicate delivery is dropped: the next event is the message after it.
    publish(&emu.clients, &stack.topic_arn, &complete, "dup").await;

    // With raw delivery off, the envelope is read too.
    emu.clients
        .sns
        .set_subscription_attributes()
        .subscription_arn(&subscription_arn)
        .attribute_name("RawMessageDelivery")
        .attribute_value("false")
        .send()
        .await
        .unwrap();
    publish(
        &emu.clients,
        &stack.topic_arn,
        &fixture("sns-error-lambda.json"),
        " workflow Status:: Error: 7b584974-531c-42f7-bf0e-a53d3a595f8e",
    )
    .await;
    let update = next_update(&mut handle).await;
    assert_eq!(update.decoded.source, Source::SnsEnvelope);
    assert_eq!(update.decoded.kind, Kind::Error);
    assert_eq!(
        update.decoded.guid(),
        Some("7b584974-531c-42f7-bf0e-a53d3a595f8e")
    );
    let envelope = update.decoded.envelope.as_ref().unwrap();
    assert_eq!(
        envelope.topic_arn.as_deref(),
        Some(stack.topic_arn.as_str())
    );

    // Applied messages were deleted.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = emu
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let counts = counts.attributes().unwrap();
    assert_eq!(
        counts[&QueueAttributeName::ApproximateNumberOfMessages],
        "0"
    );
    assert_eq!(
        counts[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible],
        "0"
    );

    // Shutdown leaves nothing behind.
    let report = handle.shutdown().await;
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.queue_name.as_deref(), Some(queue_name.as_str()));
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
    assert_eq!(
        topic_subscriptions(&emu.clients, &stack.topic_arn).await,
        vec![]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_message_is_looked_up_to_name_its_file() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let item: Value = serde_json::from_str(&fixture("dynamodb-item-error.json")).unwrap();
    put_item_json(&emu.clients, &stack.table, &item["Item"]).await;
    let mut handle = monitor::start(emu.clients.clone(), &stack, MonitorConfig::default());
    ready(&mut handle).await;
    publish(
        &emu.clients,
        &stack.topic_arn,
        &fixture("sns-error.json"),
        "err",
    )
    .await;
    let update = next_update(&mut handle).await;
    assert_eq!(update.decoded.kind, Kind::Error);
    assert_eq!(
        update.record().unwrap().src_video,
        None,
        "the message has no srcVideo"
    );
    assert_eq!(
        update.src_video(),
        item["Item"]["srcVideo"]["S"].as_str(),
        "the item names the file"
    );
    assert!(
        update
            .record()
            .unwrap()
            .error_message
            .as_deref()
            .unwrap()
            .contains("No parser found")
    );
    assert!(handle.shutdown().await.is_clean());
}

/// The app asks for every message's item: a Complete arrives with it, read once by the monitor (the
/// media info and sizes that the message lacks), so nothing downstream reads it again. The CLI's
/// default reads only for an Error without its file: the same Complete then comes alone.
#[tokio::test(flavor = "multi_thread")]
async fn every_live_message_comes_with_its_item_when_asked() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let item: Value = serde_json::from_str(&fixture("dynamodb-item-complete.json")).unwrap();
    put_item_json(&emu.clients, &stack.table, &item["Item"]).await;
    for (reads, expect_item) in [
        (ItemReads::Every, true),
        (ItemReads::ErrorsWithoutFile, false),
    ] {
        let config = MonitorConfig {
            read_items: reads,
            ..MonitorConfig::default()
        };
        let mut handle = monitor::start(emu.clients.clone(), &stack, config);
        ready(&mut handle).await;
        publish(
            &emu.clients,
            &stack.topic_arn,
            &fixture("sns-complete.json"),
            "c",
        )
        .await;
        let update = next_update(&mut handle).await;
        assert_eq!(
            (update.via, update.decoded.kind),
            (Via::Queue, Kind::Complete)
        );
        assert_eq!(update.item.is_some(), expect_item, "{reads:?}");
        if let Some(read) = &update.item {
            assert_eq!(Some(read.guid.as_str()), update.decoded.guid());
            assert!(
                read.media_info.is_some(),
                "the item's srcMediainfo: {read:?}"
            );
        }
        assert!(handle.shutdown().await.is_clean());
    }
}

/// Creates a queue as another vodesk (or something else) would have, optionally subscribed.
async fn foreign_queue(
    clients: &AwsClients,
    name: &str,
    tags: &[(&str, String)],
    topic_arn: Option<&str>,
) -> (String, String) {
    let mut request = clients.sqs.create_queue().queue_name(name);
    for (k, v) in tags {
        request = request.tags(*k, v);
    }
    let url = request
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let arn = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    if let Some(topic) = topic_arn {
        clients
            .sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(&arn)
            .send()
            .await
            .unwrap();
    }
    (url, arn)
}

#[tokio::test(flavor = "multi_thread")]
async fn abandoned_vodesk_queues_of_this_stack_are_removed_and_nothing_else() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let now = vodesk::time::unix_seconds(SystemTime::now());
    let old = (now - 7200).to_string();
    let vodesk_tags = |stack: &str, heartbeat: &str| {
        vec![
            ("vodesk", "1".to_owned()),
            ("vodesk:stack", stack.to_owned()),
            ("vodesk:heartbeat", heartbeat.to_owned()),
        ]
    };
    let topic = Some(stack.topic_arn.as_str());
    let (stale_url, stale_arn) = foreign_queue(
        &emu.clients,
        "vodesk-vod-stack-crashed-11111111",
        &vodesk_tags("vod-stack", &old),
        topic,
    )
    .await;
    let (alive_url, alive_arn) = foreign_queue(
        &emu.clients,
        "vodesk-vod-stack-alive-22222222",
        &vodesk_tags("vod-stack", &now.to_string()),
        topic,
    )
    .await;
    let (untagged_url, _) = foreign_queue(&emu.clients, "vodesk-not-ours", &[], None).await;
    let (other_stack_url, _) = foreign_queue(
        &emu.clients,
        "vodesk-other-stack-crashed-33333333",
        &vodesk_tags("other-stack", &old),
        None,
    )
    .await;
    let (stack_queue_like, _) = foreign_queue(&emu.clients, "vod-stack-extra", &[], topic).await;

    let mut handle = monitor::start(emu.clients.clone(), &stack, MonitorConfig::default());
    let removed = match next_non_warning(&mut handle).await {
        MonitorEvent::StaleQueueRemoved(stale) => stale,
        other => panic!("expected the stale queue's removal first, got {other:?}"),
    };
    assert_eq!(removed.url, stale_url);
    assert_eq!(removed.subscriptions_removed, 1);
    assert!(removed.silent_for >= 7200);
    let Mode::Queue { queue_url, .. } = ready(&mut handle).await else {
        panic!("expected queue mode");
    };

    let mut queues = vodesk_queue_urls(&emu.clients).await;
    queues.sort();
    let mut expected = vec![alive_url, untagged_url, other_stack_url, queue_url];
    expected.sort();
    assert_eq!(queues, expected);
    let endpoints: Vec<String> = topic_subscriptions(&emu.clients, &stack.topic_arn)
        .await
        .into_iter()
        .map(|(_, endpoint)| endpoint)
        .collect();
    assert!(!endpoints.contains(&stale_arn), "{endpoints:?}");
    assert!(endpoints.contains(&alive_arn), "{endpoints:?}");
    assert!(handle.shutdown().await.is_clean());
    assert!(
        emu.clients
            .sqs
            .get_queue_url()
            .queue_name("vod-stack-extra")
            .send()
            .await
            .is_ok(),
        "{stack_queue_like} must stay"
    );
}

/// A local endpoint that refuses every request the way IAM does: 403 with AccessDenied (AWS JSON
/// protocol, as SQS speaks it) or AuthorizationError (query protocol XML, as SNS speaks it).
async fn refusing_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 8192];
                // Read the head, then the body its Content-Length announces.
                let (head_end, length) = loop {
                    let n = socket.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while request.len() < head_end + length {
                    let n = socket.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buffer[..n]);
                }
                let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
                let (content_type, extra, body) = if head.contains("x-amz-target:") {
                    (
                        "application/x-amz-json-1.0",
                        "x-amzn-query-error: AccessDenied;Sender\r\n",
                        r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/viewer is not authorized to perform this action"}"#.to_owned(),
                    )
                } else {
                    (
                        "text/xml",
                        "",
                        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>User: arn:aws:iam::123456789012:user/viewer is not authorized to perform: SNS:Subscribe</Message></Error><RequestId>8d2a6e6c-0000-0000-0000-000000000000</RequestId></ErrorResponse>".to_owned(),
                    )
                };
                let response = format!(
                    "HTTP/1.1 403 Forbidden\r\ncontent-type: {content_type}\r\n{extra}x-amzn-requestid: refused\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                // The client may hang up first: the refusal was made either way.
                if let Err(err) = socket.write_all(response.as_bytes()).await {
                    eprintln!("refusing endpoint: {err}");
                } else if let Err(err) = socket.shutdown().await {
                    eprintln!("refusing endpoint: {err}");
                }
            });
        }
    });
    format!("http://{address}")
}

async fn clients_with(
    base: &AwsClients,
    sqs_endpoint: Option<&str>,
    sns_endpoint: Option<&str>,
) -> AwsClients {
    let settings = |endpoint: &str| {
        vodesk::aws::connection::ConnectionSettings::emulator(endpoint, common::REGION)
    };
    let mut clients = base.clone();
    if let Some(endpoint) = sqs_endpoint {
        clients.sqs = AwsClients::connect(&settings(endpoint)).await.unwrap().sqs;
    }
    if let Some(endpoint) = sns_endpoint {
        clients.sns = AwsClients::connect(&settings(endpoint)).await.unwrap().sns;
    }
    clients
}

fn fast_polling() -> MonitorConfig {
    MonitorConfig {
        poll_interval: Duration::from_millis(200),
        ..MonitorConfig::default()
    }
}

fn ingest_item(guid: &str, bucket: &str, key: &str, status: &str, job: Option<&str>) -> Value {
    let mut item = serde_json::json!({
        "guid": {"S": guid},
        "startTime": {"S": vodesk::time::format_iso8601(SystemTime::now())},
        "workflowStatus": {"S": status},
        "srcBucket": {"S": bucket},
        "srcVideo": {"S": key},
    });
    if let Some(job) = job {
        item["encodeJobId"] = serde_json::json!({"S": job});
    }
    item
}

#[tokio::test(flavor = "multi_thread")]
async fn polling_mode_when_sqs_refuses_to_create_the_queue() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    // A workflow already running before the monitor starts: learnt, not replayed.
    let before = ingest_item(
        "00000000-0000-4000-8000-000000000001",
        &stack.source_bucket,
        "uploads/a.mp4",
        "Ingest",
        None,
    );
    put_item_json(&emu.clients, &stack.table, &before).await;

    let refusing = refusing_endpoint().await;
    let clients = clients_with(&emu.clients, Some(&refusing), None).await;
    let mut handle = monitor::start(clients, &stack, fast_polling());
    let Mode::Polling { reason } = ready(&mut handle).await else {
        panic!("expected polling mode");
    };
    assert!(reason.contains("AccessDenied"), "{reason}");
    assert!(reason.contains("create vodesk's SQS queue"), "{reason}");

    let guid = "00000000-0000-4000-8000-000000000002";
    let item = ingest_item(guid, &stack.source_bucket, "uploads/b.mp4", "Ingest", None);
    put_item_json(&emu.clients, &stack.table, &item).await;
    let update = next_update(&mut handle).await;
    assert_eq!(update.via, Via::Polling);
    assert_eq!(update.decoded.kind, Kind::Ingest);
    assert_eq!(update.decoded.guid(), Some(guid));
    assert_eq!(update.src_video(), Some("uploads/b.mp4"));

    // The earlier workflow completes: that is news.
    let done = ingest_item(
        "00000000-0000-4000-8000-000000000001",
        &stack.source_bucket,
        "uploads/a.mp4",
        "Complete",
        Some("1760433132004-k3x9qe"),
    );
    put_item_json(&emu.clients, &stack.table, &done).await;
    let update = next_update(&mut handle).await;
    assert_eq!(update.decoded.kind, Kind::Complete);
    assert_eq!(
        update.decoded.guid(),
        Some("00000000-0000-4000-8000-000000000001")
    );

    let report = handle.shutdown().await;
    assert_eq!(report.queue_name, None);
    assert!(report.is_clean());
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn polling_mode_reports_an_ingest_that_starts_encoding() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let refusing = refusing_endpoint().await;
    let clients = clients_with(&emu.clients, Some(&refusing), None).await;
    let mut handle = monitor::start(clients, &stack, fast_polling());
    assert!(matches!(ready(&mut handle).await, Mode::Polling { .. }));

    let guid = "00000000-0000-4000-8000-000000000003";
    let item = ingest_item(guid, &stack.source_bucket, "uploads/c.mp4", "Ingest", None);
    put_item_json(&emu.clients, &stack.table, &item).await;
    let update = next_update(&mut handle).await;
    assert_eq!(update.decoded.guid(), Some(guid));
    assert_eq!(update.decoded.record.as_ref().unwrap().encode_job_id, None);

    // Still Ingest, now with its MediaConvert job: no message says so, only the table.
    let job = "1760433132004-k3x9qe";
    let encoding = ingest_item(
        guid,
        &stack.source_bucket,
        "uploads/c.mp4",
        "Ingest",
        Some(job),
    );
    put_item_json(&emu.clients, &stack.table, &encoding).await;
    let update = next_update(&mut handle).await;
    assert_eq!(update.via, Via::Polling);
    assert_eq!(update.decoded.guid(), Some(guid));
    assert_eq!(update.decoded.kind, Kind::Ingest);
    let record = update.decoded.record.as_ref().unwrap();
    assert_eq!(record.encode_job_id.as_deref(), Some(job));
    assert_eq!(
        vodesk::jobs::JobStatus::of_record(record),
        vodesk::jobs::JobStatus::Encoding
    );

    // Reported once: the next update is another workflow's, not the same Encoding again.
    let other = "00000000-0000-4000-8000-000000000004";
    tokio::time::sleep(Duration::from_millis(600)).await;
    let item = ingest_item(other, &stack.source_bucket, "uploads/d.mp4", "Ingest", None);
    put_item_json(&emu.clients, &stack.table, &item).await;
    assert_eq!(next_update(&mut handle).await.decoded.guid(), Some(other));
    assert!(handle.shutdown().await.is_clean());
}

#[tokio::test(flavor = "multi_thread")]
async fn polling_mode_when_sns_refuses_to_subscribe_leaves_no_queue() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let refusing = refusing_endpoint().await;
    let clients = clients_with(&emu.clients, None, Some(&refusing)).await;
    let mut handle = monitor::start(clients, &stack, fast_polling());
    let Mode::Polling { reason } = ready(&mut handle).await else {
        panic!("expected polling mode");
    };
    assert!(reason.contains("AuthorizationError"), "{reason}");
    assert!(reason.contains("subscribe"), "{reason}");
    assert_eq!(
        vodesk_queue_urls(&emu.clients).await,
        Vec::<String>::new(),
        "the half-set-up queue was deleted"
    );
    assert!(handle.shutdown().await.is_clean());
}

async fn heartbeat_of(clients: &AwsClients, queue_url: &str) -> u64 {
    clients
        .sqs
        .list_queue_tags()
        .queue_url(queue_url)
        .send()
        .await
        .unwrap()
        .tags()
        .unwrap()["vodesk:heartbeat"]
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_heartbeat_tag_is_refreshed_while_running() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    // A 6 s expiry refreshes every second.
    let config = MonitorConfig::with_expiry(Duration::from_secs(6));
    assert_eq!(config.heartbeat_every, Duration::from_secs(1));
    let mut handle = monitor::start(emu.clients.clone(), &stack, config);
    let Mode::Queue { queue_url, .. } = ready(&mut handle).await else {
        panic!("expected queue mode");
    };
    let first = heartbeat_of(&emu.clients, &queue_url).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let later = heartbeat_of(&emu.clients, &queue_url).await;
    assert!(later >= first + 2, "heartbeat {first} then {later}");
    assert!(handle.shutdown().await.is_clean());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_enable_sns_off_the_table_is_polled_besides_the_queue() {
    let emu = fresh_emulator().await;
    let mut spec =
        vodesk::local_stack::vod_template::VodStackSpec::v6("vod-quiet", "d1.cloudfront.net");
    spec.parameters.enable_sns = false;
    vodesk::local_stack::vod_template::create_vod_stack(&emu.clients.cloudformation, &spec)
        .await
        .unwrap();
    let stack = vodesk::aws::discovery::discover(
        &emu.clients,
        Some("vod-quiet"),
        &vodesk::aws::discovery::StackOverrides::default(),
    )
    .await
    .unwrap();
    assert_eq!(stack.enable_sns, Some(false));
    let mut handle = monitor::start(emu.clients.clone(), &stack, fast_polling());
    let Mode::Queue { also_polling, .. } = ready(&mut handle).await else {
        panic!("expected queue mode");
    };
    assert!(also_polling);
    // Ingest is not published on this stack: the table tells.
    let guid = "00000000-0000-4000-8000-00000000000a";
    let item = ingest_item(guid, &stack.source_bucket, "uploads/q.mp4", "Ingest", None);
    put_item_json(&emu.clients, &stack.table, &item).await;
    let update = next_update(&mut handle).await;
    assert_eq!(
        (update.via, update.decoded.kind),
        (Via::Polling, Kind::Ingest)
    );
    // Errors are always published, and arrive through the queue.
    publish(
        &emu.clients,
        &stack.topic_arn,
        &fixture("sns-error.json"),
        "err",
    )
    .await;
    let update = next_update(&mut handle).await;
    assert_eq!((update.via, update.decoded.kind), (Via::Queue, Kind::Error));
    assert!(handle.shutdown().await.is_clean());
}

/// What another vodesk does to a queue it takes for abandoned (§9 step 6): unsubscribe, then delete.
async fn remove_as_abandoned(clients: &AwsClients, queue_url: &str, subscription_arn: &str) {
    clients
        .sns
        .unsubscribe()
        .subscription_arn(subscription_arn)
        .send()
        .await
        .unwrap();
    clients
        .sqs
        .delete_queue()
        .queue_url(queue_url)
        .send()
        .await
        .unwrap();
}

/// A laptop that slept past the expiry finds its queue removed by another vodesk: the monitor makes
/// a new queue and subscription, says so once, reads what it missed from the table, and the live
/// feed goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_queue_removed_under_the_monitor_is_recreated_and_the_feed_goes_on() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    // A short expiry keeps each receive's wait short, so the loss is noticed within seconds; the
    // table is otherwise read only every five minutes.
    let config = MonitorConfig::with_expiry(Duration::from_secs(12));
    let mut handle = monitor::start(emu.clients.clone(), &stack, config);
    let Mode::Queue {
        queue_url,
        subscription_arn,
        ..
    } = ready(&mut handle).await
    else {
        panic!("expected queue mode");
    };
    remove_as_abandoned(&emu.clients, &queue_url, &subscription_arn).await;
    // A workflow starts while the queue is gone: its Ingest message is lost, its item is not.
    let missed = "00000000-0000-4000-8000-00000000000b";
    let item = ingest_item(
        missed,
        &stack.source_bucket,
        "uploads/p.mp4",
        "Ingest",
        None,
    );
    put_item_json(&emu.clients, &stack.table, &item).await;

    let mut told = Vec::new();
    // The poller's first round runs as the monitor starts; on a loaded machine it can read the table
    // after the item was written, and then reports it before the loss is noticed. Either order is right.
    let mut missed_seen = false;
    let (new_url, new_subscription) = loop {
        match next_event(&mut handle).await {
            MonitorEvent::Warning { message } => told.push(message),
            MonitorEvent::Ready(Mode::Queue {
                queue_url,
                subscription_arn,
                ..
            }) => break (queue_url, subscription_arn),
            MonitorEvent::Update(update)
                if !missed_seen
                    && update.via == Via::Polling
                    && update.decoded.guid() == Some(missed) =>
            {
                missed_seen = true;
            }
            other => panic!("expected the queue to be recreated, got {other:?}"),
        }
    };
    assert_eq!(told.len(), 1, "said once: {told:?}");
    assert!(
        told[0].contains("removed") && told[0].contains("recreated"),
        "{told:?}"
    );
    assert_ne!(
        new_url, queue_url,
        "a fresh name: SQS refuses a deleted one for 60 s"
    );
    assert_eq!(vodesk_queue_urls(&emu.clients).await, vec![new_url.clone()]);
    let subscriptions = topic_subscriptions(&emu.clients, &stack.topic_arn).await;
    assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
    assert_eq!(subscriptions[0].0, new_subscription);

    // What was missed comes from the table, at once rather than at the next quiet poll.
    if !missed_seen {
        let update = next_update(&mut handle).await;
        assert_eq!(
            (update.via, update.decoded.guid()),
            (Via::Polling, Some(missed))
        );
    }
    // And what is published from now on arrives through the new queue.
    publish(
        &emu.clients,
        &stack.topic_arn,
        &fixture("sns-complete.json"),
        "c",
    )
    .await;
    let update = next_update(&mut handle).await;
    assert_eq!(
        (update.via, update.decoded.kind),
        (Via::Queue, Kind::Complete)
    );

    let report = handle.shutdown().await;
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(vodesk_queue_urls(&emu.clients).await, Vec::<String>::new());
    assert_eq!(
        topic_subscriptions(&emu.clients, &stack.topic_arn).await,
        vec![]
    );
}

/// Staleness is judged by the service's clock: a machine whose clock runs two hours ahead does not
/// remove a queue whose owner refreshed its heartbeat a moment ago, and still removes an old one.
#[tokio::test(flavor = "multi_thread")]
async fn a_clock_running_ahead_does_not_take_a_live_queue_for_abandoned() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let now = vodesk::time::unix_seconds(SystemTime::now());
    let tags = |heartbeat: u64| {
        vec![
            ("vodesk", "1".to_owned()),
            ("vodesk:stack", "vod-stack".to_owned()),
            ("vodesk:heartbeat", heartbeat.to_string()),
        ]
    };
    let topic = Some(stack.topic_arn.as_str());
    let (alive, _) =
        foreign_queue(&emu.clients, "vodesk-vod-stack-alive-1", &tags(now), topic).await;
    let (old, _) = foreign_queue(
        &emu.clients,
        "vodesk-vod-stack-crashed-2",
        &tags(now - 3 * 3600),
        topic,
    )
    .await;

    let ahead = SystemTime::now() + Duration::from_secs(2 * 3600);
    let removed = monitor::queue::remove_stale(
        &emu.clients.sqs,
        &emu.clients.sns,
        "vod-stack",
        &stack.topic_arn,
        &monitor::ServiceClock::default(),
        ahead,
        Duration::from_secs(3600),
        None,
    )
    .await
    .unwrap();
    let removed: Vec<&str> = removed.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(removed, vec![old.as_str()]);
    assert_eq!(vodesk_queue_urls(&emu.clients).await, vec![alive]);
}

/// `scripts/bench-monitor`: publishes `VODESK_BENCH_MESSAGES` (default 1,000) Ingest messages with
/// distinct guids to the emulated topic while the monitor runs, and measures publish-to-event latency
/// (from just before Publish is sent to the event's arrival on the channel). Every message must
/// become exactly one job in the job model: none lost, none duplicated. Prints the figures and writes
/// them as markdown to `target/bench/monitor.md`. Ignored by default: it is a benchmark.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run with scripts/bench-monitor"]
async fn bench_publish_to_event_latency() {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;
    use vodesk::jobs::{Applied, JobBook};

    let count: usize = std::env::var("VODESK_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let mut handle = monitor::start(emu.clients.clone(), &stack, MonitorConfig::default());
    ready(&mut handle).await;

    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let publisher = {
        let sent = sent.clone();
        let clients = emu.clients.clone();
        let topic = stack.topic_arn.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            for i in 0..count {
                let guid = format!("00000000-0000-4000-8000-{i:012}");
                let body = serde_json::json!({"status": "Ingest", "guid": guid, "srcVideo": format!("uploads/{i}.mp4")});
                let body = serde_json::to_string_pretty(&body).unwrap();
                sent.lock().unwrap().insert(guid.clone(), Instant::now());
                publish(
                    &clients,
                    &topic,
                    &body,
                    &format!("Workflow Status:: Ingest:: {guid}"),
                )
                .await;
            }
            started.elapsed()
        })
    };

    let mut book = JobBook::new();
    let mut latencies = Vec::with_capacity(count);
    let mut duplicates = 0;
    let deadline = Duration::from_secs(60 + count as u64 / 10);
    let started = Instant::now();
    while latencies.len() < count {
        let event = tokio::time::timeout(deadline, handle.events.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} events arrived", latencies.len()))
            .expect("monitor running");
        let MonitorEvent::Update(update) = event else {
            continue;
        };
        let arrived = Instant::now();
        let record = update.decoded.record.clone().unwrap();
        let published = sent.lock().unwrap()[&record.guid];
        latencies.push(arrived.duration_since(published));
        let (applied, _) = book.apply_record(
            record,
            vodesk::contract::RecordOrigin::Message,
            update.received_at,
        );
        if applied != Applied::New {
            duplicates += 1;
        }
    }
    let total = started.elapsed();
    let publish_time = publisher.await.unwrap();
    // Anything late (a redelivery) would show up now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while let Ok(event) = handle.events.try_recv() {
        if matches!(event, MonitorEvent::Update(_)) {
            duplicates += 1;
        }
    }
    assert!(handle.shutdown().await.is_clean());
    assert_eq!(book.jobs().len(), count, "every message is one job");
    assert_eq!(duplicates, 0, "no duplicates");

    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let report = format!(
        "| messages | published in | all events in | median latency | p99 latency | max latency | lost | duplicated |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {count} | {:.2} s | {:.2} s | {} | {} | {} | 0 | 0 |\n",
        publish_time.as_secs_f64(),
        total.as_secs_f64(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(*latencies.last().unwrap()),
    );
    println!("\n{report}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("monitor.md"), report).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quiet_poll_catches_undelivered_news_without_swallowing_messages() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    // A workflow already complete in the table before the monitor starts (its message still to come).
    let item: Value = serde_json::from_str(&fixture("dynamodb-item-complete.json")).unwrap();
    let mut item = item["Item"].clone();
    item["srcBucket"]["S"] = Value::from(stack.source_bucket.clone());
    put_item_json(&emu.clients, &stack.table, &item).await;
    let config = MonitorConfig {
        quiet_poll_interval: Some(Duration::from_millis(200)),
        ..MonitorConfig::default()
    };
    let mut handle = monitor::start(emu.clients.clone(), &stack, config);
    ready(&mut handle).await;
    tokio::time::sleep(Duration::from_millis(600)).await; // a few polling rounds

    // The poller learnt that item's state; the message still comes through, once.
    publish(
        &emu.clients,
        &stack.topic_arn,
        &fixture("sns-complete.json"),
        "c",
    )
    .await;
    let update = next_update(&mut handle).await;
    assert_eq!(
        (update.via, update.decoded.kind),
        (Via::Queue, Kind::Complete)
    );
    assert_eq!(update.decoded.guid(), item["guid"]["S"].as_str());

    // A workflow whose Ingest message never arrives is still noticed from the table.
    let guid = "00000000-0000-4000-8000-00000000000c";
    let quiet = ingest_item(guid, &stack.source_bucket, "uploads/q.mp4", "Ingest", None);
    put_item_json(&emu.clients, &stack.table, &quiet).await;
    let update = next_update(&mut handle).await;
    assert_eq!(
        (update.via, update.decoded.guid()),
        (Via::Polling, Some(guid))
    );
    assert!(handle.shutdown().await.is_clean());
}

// ---- security checks ---------------------------------------------------------------------------

/// The queue vodesk makes admits the stack's topic and nothing else, and is encrypted at rest: the
/// policy and the attributes as SQS holds them, read back.
#[tokio::test(flavor = "multi_thread")]
async fn the_queue_admits_only_the_stacks_topic_and_is_encrypted() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let mut handle = monitor::start(emu.clients.clone(), &stack, MonitorConfig::default());
    let Mode::Queue { queue_url, .. } = ready(&mut handle).await else {
        panic!("expected queue mode");
    };
    let attributes = emu
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes()
        .cloned()
        .unwrap();
    assert_eq!(
        attributes
            .get(&QueueAttributeName::SqsManagedSseEnabled)
            .map(String::as_str),
        Some("true"),
        "encrypted with SSE-SQS"
    );
    let queue_arn = attributes[&QueueAttributeName::QueueArn].clone();
    let policy: Value =
        serde_json::from_str(&attributes[&QueueAttributeName::Policy]).expect("a JSON policy");
    let top: Vec<&str> = policy
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        top.iter()
            .all(|k| ["Version", "Id", "Statement"].contains(k)),
        "{policy}"
    );
    let statements = policy["Statement"].as_array().expect("a statement list");
    assert_eq!(statements.len(), 1, "one statement: {policy}");
    let mut statement = statements[0].as_object().unwrap().clone();
    statement.remove("Sid");
    let expected = serde_json::json!({
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": stack.topic_arn}},
    });
    assert_eq!(
        Value::Object(statement),
        expected,
        "nothing else is granted"
    );
    assert!(handle.shutdown().await.is_clean());
}

/// Credentials a test gives vodesk, unique enough to be found anywhere they end up.
const SECRET_KEY: &str = "vodeskSECRETkey0123456789abcdefghijklmnop";
const SESSION_TOKEN: &str = "vodeskTOKEN0123456789sessiontokenvalue";

/// `vodesk` against the emulator with session credentials and every log line on (`RUST_LOG=trace`).
fn vodesk_with_secrets(endpoint: &str, data: &std::path::Path) -> std::process::Command {
    let mut cmd = common::vodesk_against(endpoint);
    cmd.env("AWS_ACCESS_KEY_ID", "AKIAVODESKTESTKEY")
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        .env("VODESK_DATA_DIR", data)
        .args(["--stack", "vod-stack"]);
    cmd
}

/// What must never be printed: the secret key, the session token, or a request signature (a
/// `Signature=` with its hex value; a redacted `X-Amz-Signature=[redacted]` is fine).
fn leaks(text: &str) -> Vec<&'static str> {
    let signed = text.match_indices("Signature=").any(|(at, name)| {
        text[at + name.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_hexdigit())
    });
    [SECRET_KEY, SESSION_TOKEN]
        .into_iter()
        .filter(|secret| text.contains(secret))
        .chain(signed.then_some("Signature="))
        .collect()
}

/// Runs `args`, checks it succeeded and logged (so the check below is not vacuous), and that its
/// log holds no secret; returns its standard output.
fn run_without_leaks(endpoint: &str, data: &std::path::Path, args: &[&str]) -> String {
    let out = vodesk_with_secrets(endpoint, data)
        .args(args)
        .output()
        .expect("run vodesk");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    // `uploads` reads only the journal; everything else calls AWS and logs it.
    if args[0] != "uploads" {
        assert!(stderr.contains("TRACE"), "{args:?}: trace logging is on");
    }
    let leaked: Vec<String> = leaks(&stderr)
        .into_iter()
        .map(|secret| {
            let at = stderr.find(secret).unwrap_or(0);
            let line_start = stderr[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = stderr[at..].find('\n').map_or(stderr.len(), |i| at + i);
            format!("{secret} in: {}", &stderr[line_start..line_end])
        })
        .collect();
    assert!(leaked.is_empty(), "{args:?} logs secrets: {leaked:#?}");
    stdout
}

/// No credential, session token or signature in the logs (at `trace`) or the `--json` output of the
/// commands a user runs; presign's URL carries its signature and token, as it must, and nothing
/// else does.
#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_logs_or_json_output() {
    let emu = fresh_emulator().await;
    vod_stack(&emu.clients, "vod-stack").await;
    let data = tempfile::tempdir().unwrap();
    let video = common::write_file(data.path(), "clip.mp4", 6 << 20, 3);
    let video = video.to_str().unwrap();
    let endpoint = emu.endpoint.as_str();

    for args in [
        &["stack", "--json"][..],
        &["upload", "--part-size", "5MiB", "--json", video],
        &["uploads", "--json"],
        &["list", "--json"],
    ] {
        let stdout = run_without_leaks(endpoint, data.path(), args);
        assert_eq!(leaks(&stdout), Vec::<&str>::new(), "{args:?}: {stdout}");
    }

    let stdout = run_without_leaks(endpoint, data.path(), &["presign", "--json", "clip.mp4"]);
    let mut presigned: Value = serde_json::from_str(&stdout).expect("presign --json");
    let url = presigned["url"].as_str().expect("a URL").to_owned();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(!url.contains(SECRET_KEY), "{url}");
    // The URL (and the curl line made of it) is the only place they may be.
    let fields = presigned.as_object_mut().unwrap();
    fields.remove("url");
    fields.remove("curl");
    assert_eq!(
        leaks(&presigned.to_string()),
        Vec::<&str>::new(),
        "{stdout}"
    );

    // watch: the monitor's queue calls, until it is told to stop. Its log goes to a file: a pipe
    // nobody reads until the end would fill up and stop it.
    let log = data.path().join("watch.log");
    let mut watch = vodesk_with_secrets(endpoint, data.path())
        .args(["watch", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start vodesk watch");
    let stdout = watch.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let mut printed = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        if line.contains("\"event\":\"ready\"") {
            break;
        }
    }
    // A few receives and a heartbeat's worth of calls.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &watch.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    printed.extend(lines.map(Result::unwrap));
    let status = watch.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("TRACE"));
    assert_eq!(leaks(&stderr), Vec::<&str>::new(), "watch logs a secret");
    assert_eq!(leaks(&printed), Vec::<&str>::new(), "{printed}");
}
