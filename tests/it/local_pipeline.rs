//! The local stack's pipeline end to end (issue 7): `vodesk upload` a generated clip into the local stack,
//! wait for Complete on a queue subscribed to the stack's topic, then check the item and the messages
//! field by field against the contract, and fetch the outputs through the local CloudFront and decode
//! them with ffprobe. Failures end in Error (never a hang), and files that do not trigger start nothing.
//! Each test starts its own local stack (and so its own emulator).

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;
use vodesk::aws::connection::{AwsClients, ConnectionSettings};
use vodesk::contract::dynamodb::from_sdk_item;
use vodesk::local_stack::emulator::find_python;
use vodesk::local_stack::vod_template::StackParameters;
use vodesk::local_stack::{LocalStack, LocalStackOptions, OutputGroups, REGION};

/// Keys of a Complete message from this stack by default (the default templates: HLS only;
/// FrameCapture on, MediaPackage off), contract §4.
pub(super) const COMPLETE_KEYS_HLS: [&str; 29] = [
    "guid",
    "workflowStatus",
    "startTime",
    "endTime",
    "workflowTrigger",
    "workflowName",
    "srcBucket",
    "destBucket",
    "cloudFront",
    "frameCapture",
    "archiveSource",
    "inputRotate",
    "acceleratedTranscoding",
    "enableSns",
    "enableSqs",
    "enableMediaPackage",
    "srcVideo",
    "srcHeight",
    "srcWidth",
    "encodingProfile",
    "jobTemplate",
    "isCustomTemplate",
    "encodeJobId",
    "frameCaptureHeight",
    "frameCaptureWidth",
    "hlsPlaylist",
    "hlsUrl",
    "thumbNails",
    "thumbNailsUrls",
];
/// What the DynamoDB item has on top of the Complete message.
pub(super) const ITEM_ONLY_KEYS: [&str; 6] = [
    "srcMediainfo",
    "jobTemplate_2160p",
    "jobTemplate_1080p",
    "jobTemplate_720p",
    "encodingJob",
    "encodingOutput",
];

async fn start_local_stack(groups: OutputGroups) -> (LocalStack, AwsClients) {
    start_local_stack_with(LocalStackOptions {
        groups,
        ..LocalStackOptions::default()
    })
    .await
}

pub(super) async fn start_local_stack_with(options: LocalStackOptions) -> (LocalStack, AwsClients) {
    let local = LocalStack::start(LocalStackOptions {
        python: Some(find_python().unwrap_or_else(|e| panic!("{e}"))),
        ..options
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let clients = AwsClients::connect(&ConnectionSettings::emulator(local.endpoint(), REGION))
        .await
        .expect("emulator settings are valid");
    (local, clients)
}

/// A queue subscribed to the stack's topic with raw delivery, as vodesk's monitor subscribes.
pub(super) async fn watch_topic(clients: &AwsClients, topic_arn: &str) -> String {
    let queue_url = clients
        .sqs
        .create_queue()
        .queue_name("test-watch")
        .send()
        .await
        .expect("create the watch queue")
        .queue_url
        .expect("a queue URL");
    let arn = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue ARN")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue ARN");
    clients
        .sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("subscribe the watch queue");
    queue_url
}

/// Receives messages until one has `status`/`workflowStatus` equal to `terminal` (Complete or Error).
/// Returns every message body seen, parsed, in order.
async fn messages_until(
    clients: &AwsClients,
    queue_url: &str,
    terminal: &[&str],
    limit: Duration,
) -> Vec<Value> {
    let started = Instant::now();
    let mut seen = Vec::new();
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
            let body: Value =
                serde_json::from_str(message.body().expect("a body")).expect("JSON body");
            clients
                .sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().expect("receipt"))
                .send()
                .await
                .expect("delete");
            let status = body
                .get("workflowStatus")
                .or_else(|| body.get("status"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            seen.push(body);
            if terminal.contains(&status.as_str()) {
                return seen;
            }
        }
    }
    panic!("no {terminal:?} message within {limit:?}; saw {seen:#?}");
}

pub(super) fn generate_clip(
    dir: &Path,
    name: &str,
    size: &str,
    seconds: u32,
    audio: bool,
) -> PathBuf {
    let path = dir.join(name);
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=30"));
    if audio {
        cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]);
    }
    cmd.args([
        "-t",
        &seconds.to_string(),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    ])
    .args(["-pix_fmt", "yuv420p"]);
    if audio {
        cmd.args(["-c:a", "aac"]);
    }
    let status = cmd
        .arg(&path)
        .status()
        .expect("run ffmpeg (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg could not generate {name}");
    path
}

pub(super) fn upload(local: &LocalStack, file: &Path, key: &str) {
    upload_with(local, file, key, &[]);
}

/// `vodesk upload --json --key KEY FILE` into the local stack, plus `extra` arguments.
pub(super) fn upload_with(local: &LocalStack, file: &Path, key: &str, extra: &[&str]) {
    let output = common::vodesk_against(local.endpoint())
        .env("VODESK_STACK", local.stack_name())
        .env("VODESK_DATA_DIR", file.parent().expect("a parent dir"))
        .args(["upload", "--json", "--key", key])
        .args(extra)
        .arg(file)
        .stdout(Stdio::null())
        .output()
        .expect("run vodesk upload");
    assert!(
        output.status.success(),
        "upload failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub(super) async fn get_item(
    clients: &AwsClients,
    table: &str,
    guid: &str,
) -> serde_json::Map<String, Value> {
    let item = clients
        .dynamodb
        .get_item()
        .table_name(table)
        .key("guid", AttributeValue::S(guid.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
        .unwrap_or_else(|| panic!("no item for {guid}"));
    from_sdk_item(&item).expect("a readable item")
}

/// Every item of the table (sparse error items included), read consistently and decoded.
pub(super) async fn scan_items(
    clients: &AwsClients,
    table: &str,
) -> Vec<serde_json::Map<String, Value>> {
    clients
        .dynamodb
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .expect("Scan")
        .items()
        .iter()
        .map(|item| from_sdk_item(item).expect("a readable item"))
        .collect()
}

async fn item_count(clients: &AwsClients, table: &str) -> usize {
    clients
        .dynamodb
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("Scan")
        .items()
        .len()
}

pub(super) fn keys(object: &Value) -> BTreeSet<String> {
    object
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

pub(super) fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// What a player sees: ffprobe over HTTP. Returns (duration seconds, [(codec, width, height)]).
pub(super) fn ffprobe_url(url: &str) -> (f64, Vec<(String, u64, u64)>) {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(url)
        .output()
        .expect("run ffprobe");
    assert!(
        output.status.success(),
        "ffprobe {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let probed: Value = serde_json::from_slice(&output.stdout).expect("ffprobe JSON");
    let duration = probed["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("a duration");
    let streams = probed["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            (
                s["codec_name"].as_str().unwrap_or_default().to_owned(),
                s["width"].as_u64().unwrap_or(0),
                s["height"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    (duration, streams)
}

/// Percent-encodes each path segment of an output URL, as contract §7 says a client must.
pub(super) fn fetchable(url: &str) -> String {
    let (scheme_host, path) = url
        .split_once("://")
        .and_then(|(scheme, rest)| {
            rest.split_once('/')
                .map(|(host, path)| (format!("{scheme}://{host}"), path))
        })
        .expect("an absolute URL");
    let encoded: Vec<String> = path
        .split('/')
        .map(|segment| {
            percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        })
        .collect();
    format!("{scheme_host}/{}", encoded.join("/"))
}

/// `--custom-template all-groups`: every upload selects the local custom template, so the record
/// says so (`isCustomTemplate`, the template's name), as on AWS where only a custom template writes
/// DASH or MP4.
#[tokio::test(flavor = "multi_thread")]
async fn a_custom_template_upload_becomes_playable_hls_dash_and_mp4_with_the_contracts_messages() {
    let (local, clients) = start_local_stack(OutputGroups::HlsDashMp4).await;
    let resources = local.resources().clone();
    let watch = watch_topic(&clients, &resources.topic_arn).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = generate_clip(dir.path(), "clip.mp4", "1280x720", 5, true);
    // A name with a space and non-ASCII travels unencoded into srcVideo and the URLs (contract §3, §7).
    let key = "uploads/Año Nuevo clip.mp4";
    upload(&local, &clip, key);
    // A file that does not trigger starts nothing (contract §3).
    clients
        .s3
        .put_object()
        .bucket(&resources.source_bucket)
        .key("uploads/notes.txt")
        .body(ByteStream::from_static(b"not a video"))
        .send()
        .await
        .expect("put a .txt");

    let messages = messages_until(
        &clients,
        &watch,
        &["Complete", "Error"],
        Duration::from_secs(180),
    )
    .await;
    assert_eq!(messages.len(), 2, "Ingest then Complete: {messages:#?}");
    let ingest = &messages[0];
    let complete = &messages[1];
    assert_eq!(keys(ingest), set(&["status", "guid", "srcVideo"]));
    assert_eq!(ingest["status"], "Ingest");
    assert_eq!(ingest["srcVideo"], key);
    let guid = ingest["guid"].as_str().expect("a guid").to_owned();
    assert!(uuid::Uuid::parse_str(&guid).is_ok(), "{guid}");
    assert_eq!(complete["workflowStatus"], "Complete", "{complete:#?}");
    assert_eq!(complete["guid"], guid.as_str());

    // The Complete message: exactly the contract's keys (HLS, DASH and MP4 groups plus thumbnails).
    let mut expected = set(&COMPLETE_KEYS_HLS);
    expected.extend(set(&["dashPlaylist", "dashUrl", "mp4Outputs", "mp4Urls"]));
    assert_eq!(keys(complete), expected);
    let destination = resources.destination_bucket.clone().expect("destination");
    let cloudfront = local.cdn_base_url();
    let domain = cloudfront.trim_start_matches("http://");
    assert_eq!(complete["cloudFront"], domain);
    assert_eq!(complete["srcBucket"], resources.source_bucket.as_str());
    assert_eq!(complete["destBucket"], destination.as_str());
    assert_eq!(complete["workflowTrigger"], "Video");
    assert_eq!(complete["workflowName"], "vod-local");
    assert_eq!(complete["srcVideo"], key);
    assert_eq!(complete["srcWidth"], 1280);
    assert_eq!(complete["srcHeight"], 720);
    assert_eq!(complete["encodingProfile"], 720);
    assert_eq!(complete["frameCapture"], true);
    assert_eq!(complete["frameCaptureWidth"], 1280);
    assert_eq!(complete["frameCaptureHeight"], 720);
    assert_eq!(complete["jobTemplate"], "vod-local_Custom_Hls_Dash_Mp4");
    assert_eq!(complete["isCustomTemplate"], true);
    assert_eq!(complete["enableMediaPackage"], false);
    assert_eq!(complete["archiveSource"], "DISABLED");
    let job_id = complete["encodeJobId"].as_str().expect("job id");
    let (millis, tail) = job_id.split_once('-').expect("<ms>-<6>");
    assert_eq!(millis.len(), 13);
    assert_eq!(tail.len(), 6);
    let hls_playlist = format!("s3://{destination}/{guid}/hls/Año Nuevo clip.m3u8");
    assert_eq!(complete["hlsPlaylist"], hls_playlist.as_str());
    let hls_url = format!("{cloudfront}/{guid}/hls/Año Nuevo clip.m3u8");
    assert_eq!(complete["hlsUrl"], hls_url.as_str());
    assert_eq!(
        complete["dashUrl"],
        format!("{cloudfront}/{guid}/dash/Año Nuevo clip.mpd").as_str()
    );
    assert_eq!(
        complete["mp4Urls"],
        serde_json::json!([format!("{cloudfront}/{guid}/mp4/Año Nuevo clip_720p.mp4")])
    );
    // 5 s: captures at 0 s and 5 s at most; the reported one is the last.
    let thumbnail = complete["thumbNailsUrls"][0]
        .as_str()
        .expect("a thumbnail URL");
    assert!(
        thumbnail.starts_with(&format!(
            "{cloudfront}/{guid}/thumbnails/Año Nuevo clip_thumb.000000"
        )),
        "{thumbnail}"
    );
    let start = vodesk::time::parse_iso8601(complete["startTime"].as_str().expect("startTime"));
    let end = vodesk::time::parse_iso8601(complete["endTime"].as_str().expect("endTime"));
    assert!(start.is_some() && end.is_some() && start <= end);
    // vodesk's own reader reads it.
    let decoded = vodesk::contract::decode::decode_message_body(
        &serde_json::to_string(complete).expect("text"),
    )
    .expect("decodes");
    let record = decoded.record.expect("a record");
    assert_eq!(record.outputs.hls_url.as_deref(), Some(hls_url.as_str()));
    assert_eq!(record.encoding_profile, Some(720));

    // The item: the message's fields plus the ones the message drops; status Complete.
    let item = get_item(&clients, &resources.table, &guid).await;
    let mut item_expected = expected.clone();
    item_expected.extend(set(&ITEM_ONLY_KEYS));
    assert_eq!(item.keys().cloned().collect::<BTreeSet<_>>(), item_expected);
    for (field, value) in complete.as_object().expect("object") {
        assert_eq!(&item[field], value, "item field {field}");
    }
    let mediainfo: Value = serde_json::from_str(
        item["srcMediainfo"]
            .as_str()
            .expect("srcMediainfo is JSON text"),
    )
    .expect("srcMediainfo parses");
    assert!(
        item["srcMediainfo"].as_str().expect("text").is_ascii(),
        "srcMediainfo is ASCII-escaped like Python's json.dumps"
    );
    assert_eq!(mediainfo["filename"], key);
    assert_eq!(mediainfo["container"]["format"], "MPEG-4");
    assert_eq!(mediainfo["video"][0]["codec"], "AVC");
    assert_eq!(mediainfo["video"][0]["width"], 1280);
    assert_eq!(mediainfo["audio"][0]["codec"], "AAC");
    let source_duration = mediainfo["container"]["duration"]
        .as_f64()
        .expect("duration in seconds");
    assert!((source_duration - 5.0).abs() < 0.1, "{source_duration}");
    let encoding_job = &item["encodingJob"];
    assert_eq!(encoding_job["JobTemplate"], "vod-local_Custom_Hls_Dash_Mp4");
    assert_eq!(encoding_job["UserMetadata"]["guid"], guid.as_str());
    assert_eq!(encoding_job["UserMetadata"]["workflow"], "vod-local");
    assert_eq!(
        encoding_job["Settings"]["Inputs"][0]["FileInput"],
        format!("s3://{}/{key}", resources.source_bucket).as_str()
    );
    let output = &item["encodingOutput"];
    assert_eq!(output["detail"]["status"], "COMPLETE");
    assert_eq!(output["detail"]["jobId"], job_id);
    let group_types: Vec<&str> = output["detail"]["outputGroupDetails"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        group_types,
        ["FILE_GROUP", "HLS_GROUP", "DASH_ISO_GROUP", "FILE_GROUP"]
    );

    // One upload, one workflow; the .txt made none.
    assert_eq!(item_count(&clients, &resources.table).await, 1);

    // The outputs play: the master playlist and every rendition decode, at the source's duration.
    let (hls_duration, streams) = ffprobe_url(&fetchable(&hls_url));
    assert!(
        (hls_duration - source_duration).abs() <= 0.2,
        "HLS {hls_duration} s against srcMediainfo {source_duration} s"
    );
    let sizes: BTreeSet<(u64, u64)> = streams
        .iter()
        .filter(|(codec, _, _)| codec == "h264")
        .map(|(_, w, h)| (*w, *h))
        .collect();
    assert_eq!(
        sizes,
        BTreeSet::from([(480, 270), (640, 360), (960, 540), (1280, 720)])
    );
    assert!(streams.iter().any(|(codec, _, _)| codec == "aac"));
    let master = reqwest::get(fetchable(&hls_url))
        .await
        .expect("GET master")
        .text()
        .await
        .expect("master text");
    let variants: Vec<&str> = master
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(variants.len(), 4, "{master}");
    for variant in variants {
        let url = format!("{cloudfront}/{guid}/hls/{variant}");
        let (duration, streams) = ffprobe_url(&url);
        assert!(
            (duration - source_duration).abs() <= 0.2,
            "{variant}: {duration}"
        );
        assert!(streams.iter().any(|(c, _, _)| c == "h264"), "{variant}");
    }
    let (dash_duration, _) = ffprobe_url(&fetchable(complete["dashUrl"].as_str().expect("dash")));
    assert!(
        (dash_duration - source_duration).abs() <= 0.2,
        "DASH {dash_duration}"
    );
    let (mp4_duration, mp4_streams) =
        ffprobe_url(&fetchable(complete["mp4Urls"][0].as_str().expect("mp4")));
    assert!(
        (mp4_duration - source_duration).abs() <= 0.2,
        "MP4 {mp4_duration}"
    );
    assert!(mp4_streams.contains(&("h264".to_owned(), 1280, 720)));
    let jpeg = reqwest::get(fetchable(thumbnail))
        .await
        .expect("GET thumbnail");
    assert_eq!(jpeg.status(), 200);
    assert_eq!(jpeg.headers()["content-type"], "image/jpeg");
    let image = image::load_from_memory(&jpeg.bytes().await.expect("bytes")).expect("a JPEG");
    assert_eq!((image.width(), image.height()), (1280, 720));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_upload_ends_in_an_error_after_its_ingest() {
    let (local, clients) = start_local_stack(OutputGroups::HlsOnly).await;
    let resources = local.resources().clone();
    let watch = watch_topic(&clients, &resources.topic_arn).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = dir.path().join("broken.mp4");
    std::fs::write(&file, garbage).expect("write");
    upload(&local, &file, "uploads/broken.mp4");
    let messages = messages_until(
        &clients,
        &watch,
        &["Error", "Complete"],
        Duration::from_secs(120),
    )
    .await;
    let error = messages.last().expect("a terminal message");
    assert_eq!(
        keys(error),
        set(&[
            "guid",
            "workflowStatus",
            "workflowErrorAt",
            "errorMessage",
            "errorDetails"
        ])
    );
    assert_eq!(error["workflowStatus"], "Error");
    let guid = error["guid"].as_str().expect("guid");
    // MediaInfo reads any file (a General track only), so the workflow is ingested and the profiler
    // fails on the missing video track, as the solution's Node Lambda does.
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert_eq!(messages[0]["status"], "Ingest");
    assert_eq!(messages[0]["guid"], guid);
    assert_eq!(error["workflowErrorAt"], "vod-local-profiler");
    assert_eq!(
        error["errorMessage"],
        "TypeError: Cannot read properties of undefined (reading '0')"
    );
    assert_eq!(
        error["errorDetails"],
        "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logStream:group=/aws/lambda/vod-local-profiler"
    );
    let item = get_item(&clients, &resources.table, guid).await;
    assert_eq!(item["workflowStatus"], "Error");
    assert_eq!(item["workflowErrorAt"], "vod-local-profiler");
    assert_eq!(item["errorMessage"], error["errorMessage"]);
    assert_eq!(item["srcVideo"], "uploads/broken.mp4");
    assert!(item.get("encodeJobId").is_none());
}

/// The default configuration (issue 15): the solution's default templates write HLS only, so the
/// item and the Complete message have no DASH or MP4 field and name the default template; the stack's
/// queue gets the record (EnableSqs=Yes).
#[tokio::test(flavor = "multi_thread")]
async fn by_default_an_upload_writes_what_the_v6_default_templates_write() {
    let (local, clients) = start_local_stack_with(LocalStackOptions::default()).await;
    let resources = local.resources().clone();
    let watch = watch_topic(&clients, &resources.topic_arn).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // No audio track: the outputs still carry the template's AAC track (silence).
    let clip = generate_clip(dir.path(), "quiet.mp4", "640x360", 2, false);
    upload(&local, &clip, "uploads/quiet.mp4");
    let messages = messages_until(
        &clients,
        &watch,
        &["Complete", "Error"],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(messages.len(), 2, "Ingest then Complete: {messages:#?}");
    assert_eq!(messages[0]["status"], "Ingest");
    let complete = messages.last().expect("terminal");
    assert_eq!(complete["workflowStatus"], "Complete", "{complete:#?}");
    assert_eq!(keys(complete), set(&COMPLETE_KEYS_HLS));
    let dash_and_mp4 = ["dashPlaylist", "dashUrl", "mp4Outputs", "mp4Urls"];
    assert_eq!(
        complete["jobTemplate"],
        "vod-local_Ott_720p_Avc_Aac_16x9_qvbr_no_preset"
    );
    assert_eq!(complete["isCustomTemplate"], false);
    let guid = complete["guid"].as_str().expect("guid");
    let item = get_item(&clients, &resources.table, guid).await;
    let mut item_expected = set(&COMPLETE_KEYS_HLS);
    item_expected.extend(set(&ITEM_ONLY_KEYS));
    assert_eq!(item.keys().cloned().collect::<BTreeSet<_>>(), item_expected);
    for field in dash_and_mp4 {
        assert!(item.get(field).is_none(), "the item has {field}");
    }
    assert_eq!(
        item["encodingJob"]["JobTemplate"],
        "vod-local_Ott_720p_Avc_Aac_16x9_qvbr_no_preset"
    );
    let job_groups: Vec<&str> = item["encodingJob"]["Settings"]["OutputGroups"]
        .as_array()
        .expect("output groups")
        .iter()
        .map(|g| g["Name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        job_groups,
        ["Apple HLS", "File Group"],
        "HLS and frame capture"
    );
    let event_groups: Vec<&str> = item["encodingOutput"]["detail"]["outputGroupDetails"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["type"].as_str().expect("type"))
        .collect();
    assert_eq!(event_groups, ["HLS_GROUP", "FILE_GROUP"]);
    // The frame-capture group names the last capture, at the source's size, as MediaConvert's does;
    // output-validate's listing reports the same one.
    let frame_output =
        &item["encodingOutput"]["detail"]["outputGroupDetails"][1]["outputDetails"][0];
    assert_eq!(frame_output["outputFilePaths"][0], item["thumbNails"][0]);
    assert_eq!(frame_output["videoDetails"]["widthInPx"], item["srcWidth"]);
    let destination = resources.destination_bucket.clone().expect("destination");
    let listed = clients
        .s3
        .list_objects_v2()
        .bucket(&destination)
        .prefix(format!("{guid}/"))
        .send()
        .await
        .expect("list outputs");
    let folders: BTreeSet<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .filter_map(|k| k.split('/').nth(1).map(str::to_owned))
        .collect();
    assert_eq!(folders, set(&["hls", "thumbnails"]));
    // 640x360 is nearest the 720 profile: the 720p template's four renditions.
    assert_eq!(complete["encodingProfile"], 720);
    let (_, streams) = ffprobe_url(&fetchable(complete["hlsUrl"].as_str().expect("hls")));
    assert_eq!(streams.iter().filter(|(c, _, _)| c == "h264").count(), 4);
    assert!(streams.iter().any(|(c, _, _)| c == "aac"));
    // EnableSqs=Yes: the stack's own queue has the full record.
    let stack_queue = resources.stack_queue_url.clone().expect("SqsUrl");
    let records = queue_bodies(&clients, &stack_queue, Duration::from_secs(5)).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["guid"], guid);
    assert_eq!(records[0]["workflowStatus"], "Complete");
}

/// Every body on `queue_url` within `wait` (parsed), deleting them.
async fn queue_bodies(clients: &AwsClients, queue_url: &str, wait: Duration) -> Vec<Value> {
    let started = Instant::now();
    let mut bodies = Vec::new();
    while started.elapsed() < wait {
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
            bodies.push(serde_json::from_str(message.body().expect("a body")).expect("JSON"));
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
    bodies
}

/// Polls the item until its workflow has ended; returns it.
async fn ended_item(
    clients: &AwsClients,
    table: &str,
    limit: Duration,
) -> serde_json::Map<String, Value> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let items = clients
            .dynamodb
            .scan()
            .table_name(table)
            .consistent_read(true)
            .send()
            .await
            .expect("Scan");
        if let Some(item) = items.items().iter().find(|item| {
            item.get("workflowStatus")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|s| s == "Complete" || s == "Error")
        }) {
            return from_sdk_item(item).expect("a readable item");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("no workflow ended within {limit:?}");
}

/// FrameCapture=No, EnableSns=No, EnableSqs=No, Glacier=GLACIER (issue 15): the stack records
/// them, discovery (`vodesk stack --json`) reads them back, and the pipeline follows them: no frame
/// captures and no thumbnail fields, no message on the topic, nothing on the stack's queue, and the
/// source tagged for archiving as archive-source tags it.
#[tokio::test(flavor = "multi_thread")]
async fn frame_capture_sns_and_sqs_off_and_glacier_are_recorded_and_followed() {
    let (local, clients) = start_local_stack_with(LocalStackOptions {
        parameters: StackParameters {
            frame_capture: false,
            enable_sns: false,
            enable_sqs: false,
            glacier: vodesk::local_stack::vod_template::Glacier::Glacier,
            ..StackParameters::local_defaults()
        },
        ..LocalStackOptions::default()
    })
    .await;
    let resources = local.resources().clone();

    // The parameters as DescribeStacks gives them, and as discovery reads them.
    let described = clients
        .cloudformation
        .describe_stacks()
        .stack_name("vod-local")
        .send()
        .await
        .expect("DescribeStacks");
    let parameters: std::collections::BTreeMap<String, String> = described.stacks()[0]
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_owned(),
                p.parameter_value()?.to_owned(),
            ))
        })
        .collect();
    for (key, value) in [
        ("WorkflowTrigger", "VideoFile"),
        ("FrameCapture", "No"),
        ("EnableMediaPackage", "No"),
        ("EnableSns", "No"),
        ("EnableSqs", "No"),
        ("Glacier", "GLACIER"),
    ] {
        assert_eq!(
            parameters.get(key).map(String::as_str),
            Some(value),
            "{key}"
        );
    }
    let output = common::vodesk_against(local.endpoint())
        .env("VODESK_STACK", local.stack_name())
        .args(["stack", "--json"])
        .output()
        .expect("run vodesk stack");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found: Value = serde_json::from_slice(&output.stdout).expect("stack JSON");
    assert_eq!(found["workflow_trigger"], "VideoFile");
    assert_eq!(found["frame_capture"], false);
    assert_eq!(found["enable_sns"], false);
    assert_eq!(found["enable_media_package"], false);
    assert_eq!(found["enable_sqs"], false);
    assert_eq!(found["glacier"], "GLACIER");

    let watch = watch_topic(&clients, &resources.topic_arn).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = generate_clip(dir.path(), "plain.mp4", "640x360", 2, true);
    upload(&local, &clip, "uploads/plain.mp4");
    let item = ended_item(&clients, &resources.table, Duration::from_secs(120)).await;
    assert_eq!(item["workflowStatus"], "Complete", "{item:#?}");
    assert_eq!(item["frameCapture"], false);
    assert_eq!(item["enableSns"], false);
    assert_eq!(item["enableSqs"], false);
    assert_eq!(item["archiveSource"], "GLACIER");
    let rules = clients
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(&resources.source_bucket)
        .send()
        .await
        .expect("the source bucket's lifecycle rules");
    let rule_ids: Vec<&str> = rules.rules().iter().filter_map(|r| r.id()).collect();
    assert_eq!(
        rule_ids,
        ["vod-local-soure-archive", "vod-local-source-deep-archive"]
    );
    let tags = clients
        .s3
        .get_object_tagging()
        .bucket(&resources.source_bucket)
        .key("uploads/plain.mp4")
        .send()
        .await
        .expect("the source's tags");
    let tags: std::collections::BTreeMap<&str, &str> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(
        tags,
        std::collections::BTreeMap::from([
            ("guid", item["guid"].as_str().expect("guid")),
            ("vod-local", "GLACIER")
        ])
    );
    for field in [
        "thumbNails",
        "thumbNailsUrls",
        "frameCaptureWidth",
        "frameCaptureHeight",
    ] {
        assert!(item.get(field).is_none(), "the item has {field}");
    }
    let job_groups: Vec<&str> = item["encodingJob"]["Settings"]["OutputGroups"]
        .as_array()
        .expect("output groups")
        .iter()
        .map(|g| g["Name"].as_str().expect("a name"))
        .collect();
    assert_eq!(job_groups, ["Apple HLS"]);
    let guid = item["guid"].as_str().expect("guid");
    let destination = resources.destination_bucket.clone().expect("destination");
    let listed = clients
        .s3
        .list_objects_v2()
        .bucket(&destination)
        .prefix(format!("{guid}/"))
        .send()
        .await
        .expect("list outputs");
    let folders: BTreeSet<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .filter_map(|k| k.split('/').nth(1).map(str::to_owned))
        .collect();
    assert_eq!(folders, set(&["hls"]));
    // Nothing on the topic (not even Ingest) and nothing on the stack's queue.
    let on_topic = queue_bodies(&clients, &watch, Duration::from_secs(3)).await;
    assert!(on_topic.is_empty(), "{on_topic:#?}");
    let stack_queue = resources.stack_queue_url.clone().expect("SqsUrl");
    let on_queue = queue_bodies(&clients, &stack_queue, Duration::from_secs(2)).await;
    assert!(on_queue.is_empty(), "{on_queue:#?}");
}

/// Through the binary, with an ffmpeg that passes the start-up check and then fails every encode:
/// the workflow ends in an Encoding error with the tool's text (contract §10), and the command's log
/// says so.
#[tokio::test(flavor = "multi_thread")]
async fn an_encoder_failure_is_an_encoding_error_with_the_tools_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("ffmpeg");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = -encoders ] && { echo ' V..... libx264'; exit 0; }; done\n\
         echo 'Conversion failed: simulated encoder fault' >&2\nexit 1\n",
    )
    .expect("write the fake ffmpeg");
    let mut permissions = std::fs::metadata(&fake).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&fake, permissions).expect("chmod");
    let clip = generate_clip(dir.path(), "fine.mp4", "320x240", 1, true);

    let mut cmd = common::local_stack_command(&[]);
    cmd.env("VODESK_FFMPEG", &fake);
    let mut child = cmd.spawn().expect("start vodesk local-stack");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("settings line");
    let settings: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
        if child.kill().is_err() {
            // It has already exited; the panic below says what it printed.
        }
        panic!("no settings line ({e}): {line}")
    });
    let endpoint = settings["AWS_ENDPOINT_URL"].as_str().expect("endpoint");
    let clients = AwsClients::connect(&ConnectionSettings::emulator(endpoint, REGION))
        .await
        .expect("connect");
    let resources = vodesk::aws::discovery::discover(
        &clients,
        Some("vod-local"),
        &vodesk::aws::discovery::StackOverrides::default(),
    )
    .await
    .expect("discover");
    let watch = watch_topic(&clients, &resources.topic_arn).await;
    let mut upload_cmd = common::vodesk_against(endpoint);
    let output = upload_cmd
        .env("VODESK_STACK", "vod-local")
        .env("VODESK_DATA_DIR", dir.path())
        .args(["upload", "--json"])
        .arg(&clip)
        .output()
        .expect("upload");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let messages = messages_until(
        &clients,
        &watch,
        &["Error", "Complete"],
        Duration::from_secs(120),
    )
    .await;
    let error = messages.last().expect("terminal");
    assert_eq!(error["workflowErrorAt"], "Encoding", "{error:#?}");
    assert_eq!(
        error["errorMessage"],
        "Conversion failed: simulated encoder fault"
    );
    let guid = error["guid"].as_str().expect("guid");
    let item = get_item(&clients, &resources.table, guid).await;
    let job_id = item["encodeJobId"].as_str().expect("the job was submitted");
    assert_eq!(
        error["errorDetails"],
        format!("https://console.aws.amazon.com/mediaconvert/home?region=us-east-1#/jobs/summary/{job_id}").as_str()
    );
    // The item keeps the whole EventBridge ERROR event as two-space JSON.
    let event: Value =
        serde_json::from_str(item["errorMessage"].as_str().expect("text")).expect("event JSON");
    assert_eq!(event["detail"]["status"], "ERROR");
    assert_eq!(event["detail"]["jobId"], job_id);
    assert_eq!(event["detail"]["userMetadata"]["guid"], guid);
    assert_eq!(
        event["detail"]["errorMessage"],
        "Conversion failed: simulated encoder fault"
    );

    // Without the signal the wait below would never end.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut log)
        .expect("read log");
    assert!(
        log.contains(&format!("{guid}  error     at Encoding: Conversion failed")),
        "{log}"
    );
}

/// Issue 12, defect 10: an uploaded HLS playlist is never probed or encoded, so its entries (a file of
/// this machine, a loopback URL) are never read; the workflow ends in Error saying why. The same
/// playlist under a video's name is refused too.
#[tokio::test(flavor = "multi_thread")]
async fn an_uploaded_playlist_is_refused_and_its_entries_are_never_read() {
    let (local, clients) = start_local_stack(OutputGroups::HlsOnly).await;
    let resources = local.resources().clone();
    let watch = watch_topic(&clients, &resources.topic_arn).await;
    // A loopback server that only counts the connections made to it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let playlist = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n\
         #EXTINF:10.0,\n/etc/passwd\n#EXTINF:10.0,\nhttp://127.0.0.1:{port}/x.ts\n#EXT-X-ENDLIST\n"
    );
    let keys = ["uploads/show.m3u8", "uploads/renamed-playlist.mp4"];
    for key in keys {
        clients
            .s3
            .put_object()
            .bucket(&resources.source_bucket)
            .key(key)
            .body(ByteStream::from(playlist.clone().into_bytes()))
            .send()
            .await
            .expect("put the playlist");
    }
    let mut errors = Vec::new();
    for _ in keys {
        let messages = messages_until(
            &clients,
            &watch,
            &["Error", "Complete"],
            Duration::from_secs(120),
        )
        .await;
        errors.push(messages.last().expect("terminal").clone());
    }
    let mut guids = BTreeSet::new();
    for error in &errors {
        assert_eq!(error["workflowStatus"], "Error", "{error:#?}");
        assert_eq!(
            error["workflowErrorAt"], "vod-local-mediainfo",
            "{error:#?}"
        );
        let message = error["errorMessage"].as_str().expect("a message");
        assert!(
            message.contains("does not read HLS playlist inputs")
                && message.contains("could point anywhere")
                && message.contains("MediaConvert on AWS does read them"),
            "{message}"
        );
        let guid = error["guid"].as_str().expect("guid");
        // The error handler's sparse item: the workflow stopped before its Ingest write, unprobed.
        let item = get_item(&clients, &resources.table, guid).await;
        assert_eq!(item["workflowStatus"], "Error");
        assert!(item.get("srcMediainfo").is_none(), "{item:#?}");
        guids.insert(guid.to_owned());
        // Nothing was written for it, and certainly not the local file's content.
        let destination = resources.destination_bucket.clone().expect("destination");
        let listed = clients
            .s3
            .list_objects_v2()
            .bucket(&destination)
            .prefix(format!("{guid}/"))
            .send()
            .await
            .expect("list outputs");
        let passwd = std::fs::read("/etc/passwd").unwrap_or_default();
        let first_line = passwd.split(|b| *b == b'\n').next().unwrap_or_default();
        for object in listed.contents() {
            let key = object.key().expect("a key");
            let body = clients
                .s3
                .get_object()
                .bucket(&destination)
                .key(key)
                .send()
                .await
                .expect("get")
                .body
                .collect()
                .await
                .expect("body")
                .to_vec();
            assert!(
                first_line.is_empty() || !body.windows(first_line.len()).any(|w| w == first_line),
                "{key} holds /etc/passwd"
            );
        }
        assert_eq!(
            listed.contents().len(),
            0,
            "outputs were written for {guid}"
        );
    }
    assert_eq!(
        guids.len(),
        keys.len(),
        "one workflow per upload: {errors:#?}"
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a playlist entry was fetched"
    );
    server.abort();
}

/// An ffmpeg that runs the real one and logs `start`/`end` around every pass (not the start-up check),
/// so a test can see how many passes ever ran at once.
fn logging_ffmpeg(dir: &Path, log: &Path) -> PathBuf {
    let real = Command::new("sh")
        .args(["-c", "command -v ffmpeg"])
        .output()
        .expect("look for ffmpeg");
    let real = String::from_utf8_lossy(&real.stdout).trim().to_owned();
    assert!(
        !real.is_empty(),
        "no ffmpeg on PATH (apt-get install ffmpeg)"
    );
    let wrapper = dir.join("ffmpeg-logging");
    let log = log.display();
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = -encoders ] && exec '{real}' \"$@\"; done\n\
             echo start >> '{log}'\n'{real}' \"$@\"\nstatus=$?\necho end >> '{log}'\nexit $status\n"
        ),
    )
    .expect("write the logging ffmpeg");
    let mut permissions = std::fs::metadata(&wrapper).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&wrapper, permissions).expect("chmod");
    wrapper
}

/// The most ffmpeg passes the log shows running at once, and how many ran.
fn most_at_once(log: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let (mut running, mut most, mut passes) = (0usize, 0usize, 0usize);
    for line in text.lines() {
        match line.trim() {
            "start" => {
                running += 1;
                passes += 1;
                most = most.max(running);
            }
            "end" => running = running.saturating_sub(1),
            _ => {}
        }
    }
    (most, passes)
}

/// Issue 15, Ingest on time: `vodesk local-stack --jobs 1`, three uploads at once. As on AWS, each
/// gets its item and Ingest message within seconds (input-validate, mediainfo, the Ingest item and
/// message, the profiler and the encode request never wait for an encode slot), the jobs wait in the
/// queue with `encodeJobId` already set, ffmpeg runs one job at a time, and all three reach Complete.
/// Issue 15, UpdateItem SET: an attribute another writer adds to each item between Ingest and
/// Complete is still there after Complete (the steps update the item, never replace it), next to
/// every attribute the contract lists for a Complete item.
#[tokio::test(flavor = "multi_thread")]
async fn with_one_job_three_uploads_get_ingest_at_once_and_items_keep_attributes_added_by_others() {
    /// "Within seconds" with room for a loaded CI machine; today's encode of one clip takes longer.
    const INGEST_WITHIN: Duration = Duration::from_secs(10);
    const ADDED: &str = "addedByAnotherWriter";
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("ffmpeg-passes.log");
    let ffmpeg = logging_ffmpeg(dir.path(), &log);
    // Long enough that one encode takes many times what ingesting takes.
    let clip = generate_clip(dir.path(), "clip.mp4", "1280x720", 6, true);
    let body = std::fs::read(&clip).expect("read the clip");

    let mut cmd = common::local_stack_command(&["--jobs", "1"]);
    cmd.env("VODESK_FFMPEG", &ffmpeg);
    let mut child = cmd.spawn().expect("start vodesk local-stack");
    // Drained all along, so the log can never fill the pipe and stall the stack.
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if std::io::Read::read_to_string(&mut stderr, &mut text).is_err() {
            // Part of the log only: it is for failure messages.
        }
        text
    });
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("settings line");
    let settings: Value = match serde_json::from_str(&line) {
        Ok(settings) => settings,
        Err(e) => {
            if child.kill().is_err() {
                // It has already exited; its log below says why.
            }
            let log = stderr_reader.join().unwrap_or_default();
            panic!("no settings line ({e}): {line}\n{log}")
        }
    };
    let endpoint = settings["AWS_ENDPOINT_URL"].as_str().expect("endpoint");
    let clients = AwsClients::connect(&ConnectionSettings::emulator(endpoint, REGION))
        .await
        .expect("connect");
    let resources = vodesk::aws::discovery::discover(
        &clients,
        Some("vod-local"),
        &vodesk::aws::discovery::StackOverrides::default(),
    )
    .await
    .expect("discover");
    let watch = watch_topic(&clients, &resources.topic_arn).await;

    // Three uploads at once.
    let keys = [
        "uploads/first.mp4",
        "uploads/second.mp4",
        "uploads/third.mp4",
    ];
    let put = |key: &'static str| {
        let s3 = clients.s3.clone();
        let bucket = resources.source_bucket.clone();
        let body = body.clone();
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body))
                .send()
                .await
                .unwrap_or_else(|e| panic!("upload {key}: {e}"));
            (key, Instant::now())
        }
    };
    let (a, b, c) = tokio::join!(put(keys[0]), put(keys[1]), put(keys[2]));
    let uploaded: std::collections::BTreeMap<&str, Instant> = [a, b, c].into_iter().collect();

    // Every message in the order received; at each Ingest, another writer adds an attribute.
    let mut ingest_delays: std::collections::BTreeMap<String, Duration> = Default::default();
    let mut guids: std::collections::BTreeMap<String, String> = Default::default();
    let mut order: Vec<String> = Vec::new();
    let mut waiting_items: Option<Vec<(String, Option<String>)>> = None;
    let started = Instant::now();
    while order.iter().filter(|s| s.starts_with("Complete")).count() < keys.len() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "not all Complete within 300 s; saw {order:?}"
        );
        let received = clients
            .sqs
            .receive_message()
            .queue_url(&watch)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let arrived = Instant::now();
        for message in received.messages() {
            let body: Value =
                serde_json::from_str(message.body().expect("a body")).expect("JSON body");
            clients
                .sqs
                .delete_message()
                .queue_url(&watch)
                .receipt_handle(message.receipt_handle().expect("receipt"))
                .send()
                .await
                .expect("delete");
            let guid = body["guid"].as_str().expect("a guid").to_owned();
            if body["status"] == "Ingest" {
                let key = body["srcVideo"].as_str().expect("srcVideo").to_owned();
                let upload = uploaded.get(key.as_str()).expect("one of the uploads");
                ingest_delays.insert(key.clone(), arrived.duration_since(*upload));
                guids.insert(guid.clone(), key.clone());
                order.push(format!("Ingest {key}"));
                clients
                    .dynamodb
                    .update_item()
                    .table_name(&resources.table)
                    .key("guid", AttributeValue::S(guid.clone()))
                    .update_expression("SET #added = :added")
                    .expression_attribute_names("#added", ADDED)
                    .expression_attribute_values(":added", AttributeValue::S(key.clone()))
                    .send()
                    .await
                    .expect("another writer's UpdateItem");
            } else {
                assert_eq!(body["workflowStatus"], "Complete", "{body:#?}");
                let key = guids.get(&guid).cloned().unwrap_or_default();
                order.push(format!("Complete {key}"));
            }
        }
        // All three ingested and none complete: two jobs wait in the queue, their items already
        // holding the job id MediaConvert gives on submit.
        if waiting_items.is_none() && guids.len() == keys.len() && order.len() == keys.len() {
            let mut seen = Vec::new();
            let polling = Instant::now();
            while polling.elapsed() < Duration::from_secs(10) {
                seen.clear();
                for guid in guids.keys() {
                    let item = get_item(&clients, &resources.table, guid).await;
                    seen.push((
                        item["workflowStatus"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        item.get("encodeJobId")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    ));
                }
                if seen.iter().all(|(_, job)| job.is_some()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            waiting_items = Some(seen);
        }
    }
    let (most, passes) = most_at_once(&log);
    eprintln!(
        "Ingest delays after upload: {ingest_delays:?}; messages: {order:?}; \
         ffmpeg passes {passes}, at most {most} at once"
    );

    for (key, delay) in &ingest_delays {
        assert!(
            *delay <= INGEST_WITHIN,
            "{key}: Ingest {delay:?} after its upload; all: {ingest_delays:?}"
        );
    }
    assert_eq!(ingest_delays.len(), keys.len(), "{order:?}");
    assert!(
        order[..keys.len()].iter().all(|s| s.starts_with("Ingest")),
        "every Ingest comes before the first Complete: {order:?}"
    );
    let waiting = waiting_items.expect("the items seen while the jobs waited");
    assert!(
        waiting.iter().all(|(_, job)| job.is_some())
            && waiting.iter().any(|(status, _)| status == "Ingest"),
        "queued jobs' items hold encodeJobId while still Ingest: {waiting:?}"
    );
    assert_eq!(most, 1, "ffmpeg passes ran at once with --jobs 1");
    assert!(passes >= keys.len(), "{passes} ffmpeg passes");

    let mut complete_item = set(&COMPLETE_KEYS_HLS);
    complete_item.extend(set(&ITEM_ONLY_KEYS));
    for (guid, key) in &guids {
        let item = get_item(&clients, &resources.table, guid).await;
        assert_eq!(item["workflowStatus"], "Complete", "{key}");
        assert_eq!(
            item.get(ADDED).and_then(Value::as_str),
            Some(key.as_str()),
            "{key}: the attribute another writer added is gone"
        );
        let present: BTreeSet<String> = item.keys().cloned().collect();
        let missing: Vec<&String> = complete_item.difference(&present).collect();
        assert!(missing.is_empty(), "{key}: the item lacks {missing:?}");
    }

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    let status = child.wait().expect("wait");
    let log = stderr_reader.join().unwrap_or_default();
    assert!(status.success(), "{status}: {log}");
}
