//! Run again, delete and export (issue 16), each against the emulator. On a real local stack:
//! `vodesk retry` of a VideoFile job makes exactly one ObjectCreated (counted on a queue of the
//! bucket's notifications) and a new Ingest for the same `srcVideo`; on a MetadataFile stack
//! `--job-template` gives a new workflow with that template. `vodesk delete` removes every object
//! under the guid's prefix and the item, and nothing else (another job's outputs, a folder whose
//! name starts with the guid, a source another job uses). `vodesk list --csv` round-trips through
//! the csv crate with a hostile cell neutralised.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Map, Value, json};
use vodesk::aws::catalogue::Catalogue;
use vodesk::aws::connection::AwsClients;
use vodesk::aws::operations::OperationError;
use vodesk::aws::operations::delete::{execute_delete, plan_delete};
use vodesk::aws::operations::retry::retry_of;
use vodesk::contract::dynamodb::from_sdk_item;
use vodesk::contract::stack::WorkflowTrigger;
use vodesk::local_stack::LocalStackOptions;
use vodesk::local_stack::vod_template::StackParameters;

use crate::common::{self, fresh_emulator, json_lines, put_item_json, vod_stack};
use crate::local_pipeline::{generate_clip, start_local_stack_with, upload_with};

const CUSTOM_TEMPLATE: &str = "vod-local_Custom_Hls_Dash_Cmaf_Mp4";

/// `vodesk --stack STACK …` against `endpoint`, stdin closed (no terminal to confirm on).
fn vodesk(endpoint: &str, stack: &str, args: &[&str]) -> Output {
    common::vodesk_against(endpoint)
        .env("VODESK_STACK", stack)
        .env(
            "VODESK_DATA_DIR",
            std::env::temp_dir().join("vodesk-ops-none"),
        )
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run vodesk")
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "vodesk failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Every item of the table, as plain JSON.
async fn items(clients: &AwsClients, table: &str) -> Vec<Map<String, Value>> {
    clients
        .dynamodb
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("Scan")
        .items()
        .iter()
        .map(|item| from_sdk_item(item).expect("a readable item"))
        .collect()
}

/// Waits until `done` holds for the items whose srcVideo is `src_video`; returns them.
async fn wait_items(
    clients: &AwsClients,
    table: &str,
    src_video: &str,
    limit: Duration,
    done: impl Fn(&[Map<String, Value>]) -> bool,
) -> Vec<Map<String, Value>> {
    let started = Instant::now();
    loop {
        let found: Vec<_> = items(clients, table)
            .await
            .into_iter()
            .filter(|i| i.get("srcVideo").and_then(Value::as_str) == Some(src_video))
            .collect();
        if done(&found) {
            return found;
        }
        assert!(
            started.elapsed() < limit,
            "the items of {src_video} did not arrive within {limit:?}: {found:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn status(item: &Map<String, Value>) -> &str {
    item.get("workflowStatus")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn guid(item: &Map<String, Value>) -> String {
    item["guid"].as_str().expect("a guid").to_owned()
}

/// A queue that also receives the bucket's ObjectCreated events, beside the stack's own
/// notification (which starts the workflows), so the events a retry makes are counted.
async fn count_events_of(clients: &AwsClients, bucket: &str) -> String {
    let queue_url = clients
        .sqs
        .create_queue()
        .queue_name("ops-object-created")
        .send()
        .await
        .expect("create the counting queue")
        .queue_url
        .expect("a queue URL");
    let arn = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue ARN");
    let existing = clients
        .s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
        .expect("the bucket's notification");
    let mut queues = existing.queue_configurations().to_vec();
    queues.push(
        QueueConfiguration::builder()
            .queue_arn(arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .build()
            .expect("queue configuration"),
    );
    clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(queues))
                .set_lambda_function_configurations(Some(
                    existing.lambda_function_configurations().to_vec(),
                ))
                .set_topic_configurations(Some(existing.topic_configurations().to_vec()))
                .build(),
        )
        .send()
        .await
        .expect("add the counting queue");
    queue_url
}

/// `(eventName, key)` of every ObjectCreated event on the queue until it is quiet for `quiet`.
async fn events(clients: &AwsClients, queue_url: &str, quiet: Duration) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        let out = clients
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for message in out.messages() {
            last = Instant::now();
            let body: Value = serde_json::from_str(message.body().unwrap_or("{}")).unwrap();
            for record in body["Records"].as_array().into_iter().flatten() {
                let name = record["eventName"].as_str().unwrap_or_default();
                if name.starts_with("ObjectCreated") {
                    let key = record["s3"]["object"]["key"].as_str().unwrap_or_default();
                    let key = percent_encoding::percent_decode_str(&key.replace('+', " "))
                        .decode_utf8_lossy()
                        .into_owned();
                    seen.push((name.to_owned(), key));
                }
            }
            clients
                .sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().expect("receipt"))
                .send()
                .await
                .expect("delete");
        }
    }
    seen
}

/// Every key under `prefix` in `bucket`.
async fn keys_under(clients: &AwsClients, bucket: &str, prefix: &str) -> Vec<String> {
    clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("ListObjectsV2")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

async fn exists(clients: &AwsClients, bucket: &str, key: &str) -> bool {
    clients
        .s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_on_a_video_file_stack_copies_once_and_delete_leaves_the_other_job_alone() {
    let (local, clients) = start_local_stack_with(LocalStackOptions::default()).await;
    let resources = local.resources().clone();
    let (source, table) = (resources.source_bucket.clone(), resources.table.clone());
    let destination = resources.destination_bucket.clone().expect("a destination");
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = generate_clip(dir.path(), "clip.mp4", "320x240", 2, false);
    let key = "uploads/Clip One+.mp4";
    upload_with(&local, &clip, key, &[]);
    let first = wait_items(&clients, &table, key, Duration::from_secs(180), |found| {
        found.len() == 1 && status(&found[0]) == "Complete"
    })
    .await;
    let old = guid(&first[0]);
    let queue = count_events_of(&clients, &source).await;

    // Without a terminal and without --yes nothing is started.
    let refused = vodesk(local.endpoint(), local.stack_name(), &["retry", &old]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    // Changes are for MetadataFile stacks only.
    let changes = vodesk(
        local.endpoint(),
        local.stack_name(),
        &["retry", &old, "--yes", "--job-template", "x"],
    );
    assert!(!changes.status.success());
    assert!(String::from_utf8_lossy(&changes.stderr).contains("MetadataFile"));

    let out = ok(vodesk(
        local.endpoint(),
        local.stack_name(),
        &[
            "retry",
            &old,
            "--yes",
            "--json",
            "--wait",
            "--wait-seconds",
            "120",
        ],
    ));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["event"], "retried", "{lines:?}");
    assert_eq!(lines[0]["s3_event"], "ObjectCreated:Copy");
    assert_eq!(lines[0]["key"], key);
    let new = lines[1]["guid"].as_str().expect("the new guid").to_owned();
    assert_eq!(lines[1]["retry_of"], old.as_str());
    assert_ne!(new, old);
    assert_eq!(
        retry_of(&clients.s3, &source, key)
            .await
            .unwrap()
            .as_deref(),
        Some(old.as_str())
    );

    // Exactly one event (a copy), and one new workflow, for the same source.
    let both = wait_items(&clients, &table, key, Duration::from_secs(180), |found| {
        found.len() == 2 && found.iter().all(|i| status(i) == "Complete")
    })
    .await;
    let seen = events(&clients, &queue, Duration::from_secs(3)).await;
    assert_eq!(
        seen,
        vec![("ObjectCreated:Copy".to_owned(), key.to_owned())]
    );
    assert!(both.iter().any(|i| guid(i) == new));
    let new_outputs = keys_under(&clients, &destination, &format!("{new}/")).await;
    assert!(!new_outputs.is_empty());

    // Delete the first job with --source: the source stays (the retry's job uses it).
    let out = ok(vodesk(
        local.endpoint(),
        local.stack_name(),
        &["delete", &old, "--source", "--yes"],
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("kept s3://{source}/{key}")),
        "{text}"
    );
    assert!(text.contains(&format!("Deleted {old}")), "{text}");
    assert!(
        text.contains("No CloudFront invalidation is needed"),
        "{text}"
    );
    assert!(
        keys_under(&clients, &destination, &format!("{old}/"))
            .await
            .is_empty()
    );
    let left = items(&clients, &table).await;
    assert_eq!(left.len(), 1);
    assert_eq!(guid(&left[0]), new);
    assert_eq!(
        keys_under(&clients, &destination, &format!("{new}/")).await,
        new_outputs
    );
    assert!(exists(&clients, &source, key).await);

    // The last job of the source: --source removes it too.
    let out = ok(vodesk(
        local.endpoint(),
        local.stack_name(),
        &["delete", &new, "--source", "--yes", "--json"],
    ));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["event"], "plan");
    assert_eq!(lines[0]["plan"]["source"][0]["key"], key);
    assert_eq!(lines[1]["event"], "deleted");
    assert_eq!(lines[1]["deleted"]["item"], true);
    assert!(!exists(&clients, &source, key).await);
    assert!(items(&clients, &table).await.is_empty());
    assert!(keys_under(&clients, &destination, "").await.is_empty());
    // The source is gone: a retry says so.
    let gone = vodesk(
        local.endpoint(),
        local.stack_name(),
        &["retry", &new, "--yes"],
    );
    assert!(!gone.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_on_a_metadata_file_stack_writes_the_file_again_with_another_template() {
    let (local, clients) = start_local_stack_with(LocalStackOptions {
        parameters: StackParameters {
            workflow_trigger: WorkflowTrigger::MetadataFile,
            ..StackParameters::local_defaults()
        },
        ..LocalStackOptions::default()
    })
    .await;
    let resources = local.resources().clone();
    let (source, table) = (resources.source_bucket.clone(), resources.table.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = generate_clip(dir.path(), "talk.mp4", "320x240", 2, false);
    let key = "studio/talk.mp4";
    upload_with(&local, &clip, key, &["--metadata", "title=The Talk"]);
    let first = wait_items(&clients, &table, key, Duration::from_secs(180), |found| {
        found.len() == 1 && status(&found[0]) == "Complete"
    })
    .await;
    let old = guid(&first[0]);
    assert_ne!(first[0]["jobTemplate"], CUSTOM_TEMPLATE);
    let queue = count_events_of(&clients, &source).await;

    let out = ok(vodesk(
        local.endpoint(),
        local.stack_name(),
        &[
            "retry",
            &old,
            "--yes",
            "--json",
            "--job-template",
            CUSTOM_TEMPLATE,
            "--wait",
            "--wait-seconds",
            "120",
        ],
    ));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["key"], "studio/talk.json", "{lines:?}");
    assert_eq!(lines[0]["s3_event"], "ObjectCreated:Put");
    let new = lines[1]["guid"].as_str().expect("the new guid").to_owned();
    let both = wait_items(&clients, &table, key, Duration::from_secs(180), |found| {
        found.len() == 2 && found.iter().all(|i| status(i) == "Complete")
    })
    .await;
    let item = both.iter().find(|i| guid(i) == new).expect("the new item");
    assert_eq!(item["jobTemplate"], CUSTOM_TEMPLATE);
    assert_eq!(item["isCustomTemplate"], true);
    assert_eq!(item["title"], "The Talk", "the file's own fields are kept");
    assert_eq!(item["srcMetadataFile"], "studio/talk.json");
    let seen = events(&clients, &queue, Duration::from_secs(3)).await;
    assert_eq!(
        seen,
        vec![(
            "ObjectCreated:Put".to_owned(),
            "studio/talk.json".to_owned()
        )]
    );
    let file = clients
        .s3
        .get_object()
        .bucket(&source)
        .key("studio/talk.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        file.metadata().and_then(|m| m.get("vodesk-retry-of")),
        Some(&old)
    );
    let body: Value =
        serde_json::from_slice(&file.body.collect().await.unwrap().into_bytes()).expect("JSON");
    assert_eq!(
        body,
        json!({"srcVideo": key, "title": "The Talk", "jobTemplate": CUSTOM_TEMPLATE})
    );
}

const A: &str = "0a1b2c3d-0000-4000-8000-00000000000a";
const B: &str = "0a1b2c3d-0000-4000-8000-00000000000b";
const C: &str = "0a1b2c3d-0000-4000-8000-00000000000c";

/// An item of the table as the solution writes it at Complete (the fields delete and export read).
fn item(guid: &str, source: &str, src_video: &str, destination: &str) -> Value {
    json!({
        "guid": {"S": guid}, "workflowStatus": {"S": "Complete"},
        "startTime": {"S": "2025-06-01T10:00:00.000Z"}, "endTime": {"S": "2025-06-01T10:02:30.500Z"},
        "workflowTrigger": {"S": "Video"}, "workflowName": {"S": "vod-ops"},
        "srcBucket": {"S": source}, "destBucket": {"S": destination},
        "srcVideo": {"S": src_video}, "srcWidth": {"N": "1920"}, "srcHeight": {"N": "1080"},
        "srcMediainfo": {"S": "{\"container\": {\"duration\": 150.5, \"fileSize\": 123456}}"},
        "hlsUrl": {"S": format!("https://d1q2w3e4r5t6y7.cloudfront.net/{guid}/hls/a.m3u8")},
    })
}

async fn put(clients: &AwsClients, bucket: &str, key: &str, size: usize) {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(vec![7u8; size]))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_removes_the_guids_folder_and_item_and_nothing_else() {
    let emulator = fresh_emulator().await;
    let clients = &emulator.clients;
    let resources = vod_stack(clients, "vod-ops").await;
    let source = resources.source_bucket.clone();
    let destination = resources.destination_bucket.clone().expect("a destination");
    for (guid, video) in [(A, "shared.mp4"), (B, "shared.mp4"), (C, "own.mp4")] {
        put_item_json(
            clients,
            &resources.table,
            &item(guid, &source, video, &destination),
        )
        .await;
    }
    put(clients, &source, "shared.mp4", 100).await;
    put(clients, &source, "own.mp4", 50).await;
    for key in [
        format!("{A}/hls/a.m3u8"),
        format!("{A}/hls/a_1.ts"),
        format!("{A}/thumbnails/a_thumb.0000000.jpg"),
        // Not A's: another job's folder, a folder whose name starts with A's guid, a file named
        // like it.
        format!("{B}/hls/a.m3u8"),
        format!("{A}-copy/hls/a.m3u8"),
        format!("{A}x/keep.m3u8"),
        A.to_owned(),
    ] {
        put(clients, &destination, &key, 10).await;
    }
    let catalogue = Catalogue::new(clients, &resources);

    // A part of a guid is refused before anything is read.
    for bad in ["0a1b2c3d", "a", ""] {
        assert!(matches!(
            plan_delete(clients, &catalogue, &resources, bad, false).await,
            Err(OperationError::NotAGuid(_))
        ));
    }
    let refused = vodesk(
        &emulator.endpoint,
        "vod-ops",
        &["delete", "0a1b2c3d", "--yes"],
    );
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let unconfirmed = vodesk(&emulator.endpoint, "vod-ops", &["delete", A]);
    assert_eq!(unconfirmed.status.code(), Some(2), "{unconfirmed:?}");

    let plan = plan_delete(clients, &catalogue, &resources, A, true)
        .await
        .unwrap();
    let planned: Vec<&str> = plan.outputs.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(planned.len(), 3, "{planned:?}");
    assert!(planned.iter().all(|k| k.starts_with(&format!("{A}/"))));
    assert!(plan.item);
    assert!(plan.source.is_empty(), "B also uses shared.mp4");
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("kept") && n.contains(B)),
        "{:?}",
        plan.notes
    );
    assert_eq!(plan.total_size(), 30);
    let deleted = execute_delete(clients, &plan).await.unwrap();
    assert_eq!(deleted.objects.len(), 3);
    assert!(deleted.item && deleted.failed.is_empty());

    let mut left = keys_under(clients, &destination, "").await;
    left.sort();
    let mut expected = vec![
        format!("{B}/hls/a.m3u8"),
        format!("{A}-copy/hls/a.m3u8"),
        format!("{A}x/keep.m3u8"),
        A.to_owned(),
    ];
    expected.sort();
    assert_eq!(left, expected);
    let mut guids: Vec<String> = items(clients, &resources.table)
        .await
        .iter()
        .map(guid)
        .collect();
    guids.sort();
    assert_eq!(guids, [B, C]);
    assert!(exists(clients, &source, "shared.mp4").await);

    // Deleting A again finds nothing (its folder is empty, its item gone).
    assert!(matches!(
        plan_delete(clients, &catalogue, &resources, A, false).await,
        Err(OperationError::NothingToDelete { .. })
    ));

    // C's source is its own: --source removes it (and C has no outputs: only the item and source).
    let out = ok(vodesk(
        &emulator.endpoint,
        "vod-ops",
        &["delete", C, "--source", "--yes"],
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("source: s3://{source}/own.mp4")),
        "{text}"
    );
    assert!(text.contains("Total: 1 object"), "{text}");
    assert!(!exists(clients, &source, "own.mp4").await);
    assert!(exists(clients, &source, "shared.mp4").await);
    assert_eq!(keys_under(clients, &destination, "").await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn list_csv_round_trips_and_neutralises_a_hostile_cell() {
    let emulator = fresh_emulator().await;
    let clients = &emulator.clients;
    let resources = vod_stack(clients, "vod-ops").await;
    let destination = resources.destination_bucket.clone().unwrap_or_default();
    let hostile = "=HYPERLINK(\"https://evil.example\",\"click\"), \"x\"\n.mp4";
    put_item_json(
        clients,
        &resources.table,
        &item(A, &resources.source_bucket, hostile, &destination),
    )
    .await;
    put_item_json(
        clients,
        &resources.table,
        &item(B, &resources.source_bucket, "plain.mp4", &destination),
    )
    .await;

    let out = ok(vodesk(&emulator.endpoint, "vod-ops", &["list", "--csv"]));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, vodesk::aws::operations::export::COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let a = rows.iter().find(|r| &r[0] == A).expect("A's row");
    assert_eq!(&a[1], "complete");
    assert_eq!(&a[2], format!("'{hostile}"));
    assert_eq!(&a[3], "2025-06-01T10:00:00.000Z");
    assert_eq!(&a[5], "150.500");
    assert_eq!(&a[6], "1920x1080");
    assert_eq!(&a[7], "123456");
    assert_eq!(
        &a[8],
        format!("https://d1q2w3e4r5t6y7.cloudfront.net/{A}/hls/a.m3u8")
    );
    let b = rows.iter().find(|r| &r[0] == B).expect("B's row");
    assert_eq!(&b[2], "plain.mp4");

    let out = ok(vodesk(
        &emulator.endpoint,
        "vod-ops",
        &["list", "--json-lines"],
    ));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    let a = lines.iter().find(|l| l["guid"] == A).expect("A's line");
    assert_eq!(a["file"], hostile, "JSON keeps the value as it is");

    let both = vodesk(&emulator.endpoint, "vod-ops", &["list", "--csv", "--json"]);
    assert_eq!(both.status.code(), Some(2));
}

/// The one write of a retry is never sent twice: a copy whose answer was lost is found in the bucket
/// by its token (one event, no second request); a copy refused before it reached the bucket started
/// nothing and says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_retry_whose_answer_is_lost_is_verified_and_never_sent_again() {
    use crate::common::REGION;
    use crate::common::fault_proxy::{ErrorReply, Fault, FaultProxy, Matcher, RequestKind, Rule};
    use crate::common::object_created::ObjectCreatedCounter;
    use vodesk::aws::connection::ConnectionSettings;
    use vodesk::aws::operations::retry::{RetryOptions, execute_retry, plan_retry};

    let emulator = fresh_emulator().await;
    let clients = &emulator.clients;
    let resources = vod_stack(clients, "vod-ops").await;
    let source = resources.source_bucket.clone();
    let key = "uploads/clip.mp4";
    put(clients, &source, key, 1000).await;
    let destination = resources.destination_bucket.clone().unwrap_or_default();
    put_item_json(
        clients,
        &resources.table,
        &item(A, &source, key, &destination),
    )
    .await;
    let mut counter = ObjectCreatedCounter::attach(clients, &source).await;

    let proxy = FaultProxy::for_endpoint(&emulator.endpoint);
    let proxied = AwsClients::connect(&ConnectionSettings::emulator(&proxy.endpoint(), REGION))
        .await
        .unwrap();
    let catalogue = Catalogue::new(&proxied, &resources);
    let copy = || Matcher::kind(RequestKind::PutObject).key_suffix("clip.mp4");

    // Refused before the bucket saw it: nothing started, and no second attempt.
    proxy.add(Rule::once(
        copy(),
        Fault::Respond(ErrorReply::internal_error()),
    ));
    let plan = plan_retry(
        &proxied.s3,
        &catalogue,
        &resources,
        A,
        &RetryOptions::default(),
    )
    .await
    .unwrap();
    let refused = execute_retry(&proxied.s3, &plan).await.unwrap_err();
    assert!(
        refused.to_string().contains("nothing was started"),
        "{refused}"
    );
    assert_eq!(proxy.stats().count(RequestKind::PutObject), 1);
    assert_eq!(counter.count(clients, "clip.mp4").await, 0);

    // Landed, but the answer was lost: verified by its token, one event, one request.
    proxy.add(Rule::once(copy(), Fault::DropResponse));
    let retried = execute_retry(&proxied.s3, &plan).await.unwrap();
    assert!(retried.verified_after_error);
    assert_eq!(proxy.stats().count(RequestKind::PutObject), 2);
    assert_eq!(counter.count(clients, "clip.mp4").await, 1);
    assert_eq!(
        retry_of(&clients.s3, &source, key)
            .await
            .unwrap()
            .as_deref(),
        Some(A)
    );
    // The copy kept the object's bytes.
    let head = clients
        .s3
        .head_object()
        .bucket(&source)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(1000));
}
