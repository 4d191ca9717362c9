//! The local stack in metadata mode end to end (issue 15): a stack deployed with
//! WorkflowTrigger=MetadataFile starts nothing for a video, and one workflow per `*.json` metadata
//! file. `vodesk upload` sends the video, then its metadata file selecting the local custom template
//! that writes HLS, DASH, CMAF and an MP4; the item and messages carry the metadata's keys in the
//! solution's order, and every group plays. Metadata files written by other tools fail where they fail
//! on AWS: a DynamoDB reserved word at the dynamo step, an unknown template at the encode step, a
//! missing `srcVideo` at input-validate, and a non-boolean `frameCapture` stalls silently at a Choice
//! state (Ingest, then nothing).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{Value, json};
use vodesk::aws::connection::AwsClients;
use vodesk::contract::stack::WorkflowTrigger;
use vodesk::local_stack::LocalStackOptions;
use vodesk::local_stack::vod_template::StackParameters;

use super::local_pipeline::{
    COMPLETE_KEYS_HLS, ITEM_ONLY_KEYS, fetchable, ffprobe_url, generate_clip, keys, scan_items,
    set, start_local_stack_with, upload_with, watch_topic,
};

const CUSTOM_TEMPLATE: &str = "vod-local_Custom_Hls_Dash_Cmaf_Mp4";

/// Message bodies as sent (raw text), until `done` says enough, or `limit`.
pub(super) async fn raw_messages(
    clients: &AwsClients,
    queue_url: &str,
    limit: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<String> {
    let started = Instant::now();
    let mut texts = Vec::new();
    let mut parsed = Vec::new();
    while started.elapsed() < limit {
        let received = clients
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for message in received.messages() {
            let text = message.body().expect("a body").to_owned();
            parsed.push(serde_json::from_str::<Value>(&text).expect("JSON body"));
            texts.push(text);
            clients
                .sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().expect("receipt"))
                .send()
                .await
                .expect("delete");
        }
        if done(&parsed) {
            return texts;
        }
    }
    panic!("the expected messages did not arrive within {limit:?}; saw {texts:#?}");
}

/// Ingest's `status` or the others' `workflowStatus`.
pub(super) fn status_of(message: &Value) -> &str {
    message
        .get("workflowStatus")
        .or_else(|| message.get("status"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The top-level keys of a two-space JSON text, in their order.
fn top_level_keys(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("  \""))
        .filter_map(|rest| rest.split_once("\":").map(|(key, _)| key.to_owned()))
        .collect()
}

/// The keys of a JSON object's text in their order, first letter lower-cased (as input-validate
/// stores them).
fn file_key_order(body: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(body).expect("UTF-8");
    let value: serde_json::Map<String, Value> = serde_json::from_str(text).expect("an object");
    let mut keys: Vec<(usize, String)> = value
        .keys()
        .map(|key| {
            (
                text.find(&format!("\"{key}\"")).expect("the key"),
                key.clone(),
            )
        })
        .collect();
    keys.sort();
    keys.into_iter()
        .map(|(_, key)| {
            let mut chars = key.chars();
            chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .collect()
}

/// [`raw_messages`] until `done`, then a grace period in which nothing more may arrive (a stalled
/// workflow must stay silent).
pub(super) async fn messages_then_silence(
    clients: &AwsClients,
    queue_url: &str,
    limit: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<String> {
    let texts = raw_messages(clients, queue_url, limit, done).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let late = raw_messages(clients, queue_url, Duration::from_secs(3), |_| true).await;
    assert!(late.is_empty(), "messages after the end: {late:#?}");
    texts
}

async fn put_json(clients: &AwsClients, bucket: &str, key: &str, body: &Value) {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_string().into_bytes()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_files_start_workflows_with_their_overrides_and_fail_where_aws_fails() {
    let (local, clients) = start_local_stack_with(LocalStackOptions {
        parameters: StackParameters {
            workflow_trigger: WorkflowTrigger::MetadataFile,
            ..StackParameters::local_defaults()
        },
        ..LocalStackOptions::default()
    })
    .await;
    let resources = local.resources().clone();
    assert_eq!(
        resources.workflow_trigger,
        Some(WorkflowTrigger::MetadataFile)
    );
    let source = resources.source_bucket.clone();
    let watch = watch_topic(&clients, &resources.topic_arn).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = generate_clip(dir.path(), "keynote.mp4", "1280x720", 4, true);
    let video_key = "studio/keynote.mp4";
    // The video, then studio/keynote.json naming it, with the overrides.
    upload_with(
        &local,
        &clip,
        video_key,
        &[
            "--metadata",
            &format!("jobTemplate={CUSTOM_TEMPLATE}"),
            "--metadata",
            "title=Launch Keynote",
            "--metadata",
            "Presenter=Dana Ruiz",
        ],
    );
    // Metadata files another tool wrote, each failing as it fails on AWS; and keys that start nothing.
    let metadata = |extra: Value| {
        let mut body = json!({ "srcVideo": video_key });
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        body
    };
    put_json(
        &clients,
        &source,
        "studio/reserved.json",
        &metadata(json!({"name": "x"})),
    )
    .await;
    put_json(
        &clients,
        &source,
        "studio/unknown.json",
        &metadata(json!({"jobTemplate": "nope"})),
    )
    .await;
    put_json(
        &clients,
        &source,
        "studio/stall.json",
        &metadata(json!({"frameCapture": "yes"})),
    )
    .await;
    put_json(
        &clients,
        &source,
        "studio/no-src.json",
        &json!({"SrcVideo": video_key}),
    )
    .await;
    let archive = metadata(json!({"archiveSource": "DEEP_ARCHIVE"}));
    put_json(&clients, &source, "studio/archive.json", &archive).await;
    let hyphen = metadata(json!({"my-key": "x"}));
    put_json(&clients, &source, "studio/hyphen.json", &hyphen).await;
    let domain = metadata(json!({"cloudFront": "cdn.example.com"}));
    put_json(&clients, &source, "studio/domain.json", &domain).await;
    put_json(&clients, &source, "studio/upper.JSON", &metadata(json!({}))).await;
    put_json(&clients, &source, "studio/other.mp4", &json!({})).await;

    // Three Completes (keynote, archive, domain) and four Errors (reserved word, hyphen, unknown
    // template, no srcVideo); Ingest for the five whose item was written (keynote, archive, domain,
    // unknown, stall).
    let texts = messages_then_silence(&clients, &watch, Duration::from_secs(240), |seen| {
        let count = |status: &str| seen.iter().filter(|m| status_of(m) == status).count();
        count("Complete") == 3 && count("Error") == 4 && count("Ingest") == 5
    })
    .await;
    let messages: Vec<Value> = texts
        .iter()
        .map(|t| serde_json::from_str(t).expect("JSON"))
        .collect();

    // The items, by what they are.
    let items = scan_items(&clients, &resources.table).await;
    assert_eq!(items.len(), 8, "{items:#?}");
    let by_metadata: BTreeMap<&str, &serde_json::Map<String, Value>> = items
        .iter()
        .filter_map(|item| Some((item.get("srcMetadataFile")?.as_str()?, item)))
        .collect();
    let sparse: BTreeMap<&str, &serde_json::Map<String, Value>> = items
        .iter()
        .filter(|item| !item.contains_key("srcMetadataFile"))
        .filter_map(|item| Some((item.get("workflowErrorAt")?.as_str()?, item)))
        .collect();

    // The upload: Complete with the metadata's keys, the custom template's groups, in the solution's order.
    let item = by_metadata["studio/keynote.json"];
    let guid = item["guid"].as_str().expect("guid");
    assert_eq!(item["workflowStatus"], "Complete");
    let complete_index = messages
        .iter()
        .position(|m| m["workflowStatus"] == "Complete" && m["guid"] == guid)
        .expect("a Complete");
    let complete = &messages[complete_index];
    assert_eq!(complete["guid"], guid);
    let mut expected = set(&COMPLETE_KEYS_HLS);
    expected.extend(set(&[
        "srcMetadataFile",
        "title",
        "presenter",
        "dashPlaylist",
        "dashUrl",
        "cmafDashPlaylist",
        "cmafDashUrl",
        "cmafHlsPlaylist",
        "cmafHlsUrl",
        "mp4Outputs",
        "mp4Urls",
    ]));
    assert_eq!(keys(complete), expected);
    assert_eq!(complete["workflowTrigger"], "Metadata");
    assert_eq!(complete["srcVideo"], video_key);
    assert_eq!(complete["jobTemplate"], CUSTOM_TEMPLATE);
    assert_eq!(complete["isCustomTemplate"], true);
    assert_eq!(complete["title"], "Launch Keynote");
    assert_eq!(complete["presenter"], "Dana Ruiz");
    let mut item_expected = expected.clone();
    item_expected.extend(set(&ITEM_ONLY_KEYS));
    assert_eq!(
        item.keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        item_expected
    );
    // input-validate's order: its defaults, srcMetadataFile, then the file's keys in the file's own
    // order (first letter lower-cased), then what later steps add; guid last, as the dynamo step
    // leaves it.
    let file = clients
        .s3
        .get_object()
        .bucket(&source)
        .key("studio/keynote.json")
        .send()
        .await
        .expect("the metadata file")
        .body
        .collect()
        .await
        .expect("its body")
        .into_bytes();
    let file_order: Vec<String> = file_key_order(&file)
        .into_iter()
        .filter(|key| key != "frameCapture")
        .collect();
    let order = top_level_keys(&texts[complete_index]);
    let at = |key: &str| {
        order
            .iter()
            .position(|k| k == key)
            .unwrap_or_else(|| panic!("{key} in {order:?}"))
    };
    assert!(at("enableSqs") < at("srcMetadataFile"), "{order:?}");
    let metadata_part: Vec<String> =
        order[at("srcMetadataFile") + 1..at("enableMediaPackage")].to_vec();
    assert_eq!(metadata_part, file_order, "{order:?}");
    assert_eq!(order.last().map(String::as_str), Some("guid"), "{order:?}");
    // Every group plays.
    let cloudfront = local.cdn_base_url();
    for (field, path) in [
        ("hlsUrl", "hls/keynote.m3u8"),
        ("dashUrl", "dash/keynote.mpd"),
        ("cmafHlsUrl", "cmaf/keynote.m3u8"),
        ("cmafDashUrl", "cmaf/keynote.mpd"),
        ("mp4Urls", "mp4/keynote_720p.mp4"),
    ] {
        let url = match &complete[field] {
            Value::Array(urls) => urls[0].as_str().expect("a URL").to_owned(),
            other => other.as_str().expect("a URL").to_owned(),
        };
        assert_eq!(url, format!("{cloudfront}/{guid}/{path}"), "{field}");
        let (duration, streams) = ffprobe_url(&fetchable(&url));
        assert!((duration - 4.0).abs() < 0.5, "{field}: {duration} s");
        assert!(
            streams.iter().any(|(codec, _, _)| codec == "h264"),
            "{field}: {streams:?}"
        );
    }
    let job_groups: Vec<&str> = item["encodingJob"]["Settings"]["OutputGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            g["OutputGroupSettings"]["Type"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        job_groups,
        [
            "FILE_GROUP_SETTINGS",
            "HLS_GROUP_SETTINGS",
            "DASH_ISO_GROUP_SETTINGS",
            "CMAF_GROUP_SETTINGS",
            "FILE_GROUP_SETTINGS"
        ]
    );

    // A per-upload archiveSource: the source is tagged for that class after its workflow.
    let archived = by_metadata["studio/archive.json"];
    assert_eq!(archived["workflowStatus"], "Complete");
    assert_eq!(archived["archiveSource"], "DEEP_ARCHIVE");
    let tags = clients
        .s3
        .get_object_tagging()
        .bucket(&source)
        .key(video_key)
        .send()
        .await
        .expect("the source's tags");
    let tags: BTreeMap<&str, &str> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(
        tags,
        BTreeMap::from([
            ("guid", archived["guid"].as_str().expect("guid")),
            ("vod-local", "DEEP_ARCHIVE")
        ])
    );

    // An unknown template: Ingest, then an Error at the encode step with GetJobTemplate's text.
    let unknown = by_metadata["studio/unknown.json"];
    assert_eq!(unknown["workflowStatus"], "Error");
    assert_eq!(unknown["workflowErrorAt"], "vod-local-encode");
    assert_eq!(
        unknown["errorMessage"],
        "NotFoundException: The specified job template was not found: \
         jobTemplateArn=arn:aws:mediaconvert:us-east-1:123456789012:jobTemplates/nope."
    );
    assert!(!unknown.contains_key("encodeJobId"));

    // A non-boolean frameCapture: Ingest, then the execution stops at a Choice: no Error, no
    // message, the item at Ingest without a job.
    let stalled = by_metadata["studio/stall.json"];
    assert_eq!(stalled["workflowStatus"], "Ingest");
    assert_eq!(stalled["frameCapture"], "yes");
    assert!(!stalled.contains_key("encodeJobId"), "{stalled:#?}");
    let stalled_guid = stalled["guid"].as_str().expect("guid");
    let about_stalled: Vec<&str> = messages
        .iter()
        .filter(|m| m["guid"] == stalled_guid)
        .map(status_of)
        .collect();
    assert_eq!(about_stalled, ["Ingest"]);

    // A reserved word, and a name with a hyphen, fail the Ingest write (names are inlined in the
    // update as the dynamo Lambda writes them), so the error handler creates the sparse items.
    let at_dynamo: Vec<&serde_json::Map<String, Value>> = items
        .iter()
        .filter(|item| {
            item.get("workflowErrorAt").and_then(Value::as_str) == Some("vod-local-dynamo")
        })
        .collect();
    assert_eq!(at_dynamo.len(), 2, "{items:#?}");
    let messages_at_dynamo: Vec<&str> = at_dynamo
        .iter()
        .filter_map(|item| item["errorMessage"].as_str())
        .collect();
    assert!(
        messages_at_dynamo
            .iter()
            .all(|m| m.starts_with("ValidationException: ")),
        "{messages_at_dynamo:?}"
    );
    assert!(
        messages_at_dynamo
            .iter()
            .any(|m| m.contains("reserved keyword")),
        "{messages_at_dynamo:?}"
    );
    assert!(
        at_dynamo.iter().all(|item| item.len() == 5),
        "{at_dynamo:#?}"
    );

    // A cloudFront override: output-validate builds the URLs on the record's domain.
    let domain = by_metadata["studio/domain.json"];
    assert_eq!(domain["workflowStatus"], "Complete");
    let guid_domain = domain["guid"].as_str().expect("guid");
    assert_eq!(
        domain["hlsUrl"],
        format!("http://cdn.example.com/{guid_domain}/hls/keynote.m3u8").as_str()
    );
    // SrcVideo is not srcVideo: input-validate fails before anything is written.
    let no_src = sparse["vod-local-input-validate"];
    assert_eq!(
        no_src["errorMessage"],
        "Error: srcVideo is not defined in metadata::"
    );
    assert_eq!(sparse.len(), 2, "{items:#?}");
    assert!(sparse.contains_key("vod-local-dynamo"));

    // Ingest texts: the solution's literal, status first.
    for text in texts
        .iter()
        .filter(|t| t.contains("\"status\": \"Ingest\""))
    {
        assert_eq!(
            top_level_keys(text),
            ["status", "guid", "srcVideo"],
            "{text}"
        );
    }
}
