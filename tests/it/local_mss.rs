//! The local custom template with every group (issue 15): `<stack>_Custom_All_Groups` writes HLS,
//! DASH, CMAF, an MP4 and an MS Smooth group; the COMPLETE event names the `.ism` server manifest and
//! each rung's `.ismv`, output-validate sets `mssPlaylist` and `mssUrl`, and the local CloudFront
//! serves the manifests and the `.ismv` files (each one the rung's H.264 with its AAC).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use vodesk::local_stack::{LocalStackOptions, OutputGroups};

use super::local_metadata::raw_messages;
use super::local_pipeline::{
    COMPLETE_KEYS_HLS, ITEM_ONLY_KEYS, fetchable, ffprobe_url, generate_clip, get_item, keys, set,
    start_local_stack_with, upload, watch_topic,
};

/// The `value` of every `name="…"` attribute in a manifest's text.
fn attribute_values<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.split(&format!(" {name}=\""))
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_all_groups_template_writes_and_serves_an_ms_smooth_group() {
    let (local, clients) = start_local_stack_with(LocalStackOptions {
        groups: OutputGroups::AllGroups,
        ..LocalStackOptions::default()
    })
    .await;
    let resources = local.resources().clone();
    let watch = watch_topic(&clients, &resources.topic_arn).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = generate_clip(dir.path(), "clip.mp4", "1280x720", 5, true);
    let key = "uploads/Año clip.mp4";
    upload(&local, &clip, key);

    let texts = raw_messages(&clients, &watch, Duration::from_secs(240), |seen| {
        seen.iter()
            .any(|m| m["workflowStatus"] == "Complete" || m["workflowStatus"] == "Error")
    })
    .await;
    let complete: Value = serde_json::from_str(texts.last().expect("a message")).expect("JSON");
    assert_eq!(complete["workflowStatus"], "Complete", "{complete:#?}");
    let guid = complete["guid"].as_str().expect("a guid").to_owned();
    assert_eq!(complete["jobTemplate"], "vod-local_Custom_All_Groups");
    assert_eq!(complete["isCustomTemplate"], true);

    // Every group's keys: HLS and the thumbnails, DASH, CMAF, MSS and the MP4.
    let mut expected = set(&COMPLETE_KEYS_HLS);
    expected.extend(set(&[
        "dashPlaylist",
        "dashUrl",
        "cmafDashPlaylist",
        "cmafDashUrl",
        "cmafHlsPlaylist",
        "cmafHlsUrl",
        "mssPlaylist",
        "mssUrl",
        "mp4Outputs",
        "mp4Urls",
    ]));
    assert_eq!(keys(&complete), expected);
    let destination = resources.destination_bucket.clone().expect("destination");
    let cloudfront = local.cdn_base_url();
    let mss_url = format!("{cloudfront}/{guid}/mss/Año clip.ism");
    assert_eq!(complete["mssUrl"], mss_url.as_str());
    let mss_playlist = format!("s3://{destination}/{guid}/mss/Año clip.ism");
    assert_eq!(complete["mssPlaylist"], mss_playlist.as_str());
    // The message's text keeps the groups in the event's order (output-validate's keys).
    let text = texts.last().expect("the Complete text");
    let at = |key: &str| {
        text.find(&format!("\n  \"{key}\""))
            .unwrap_or_else(|| panic!("{key} in {text}"))
    };
    assert!(at("mp4Outputs") < at("hlsPlaylist"));
    assert!(at("hlsUrl") < at("dashPlaylist"));
    assert!(at("dashUrl") < at("cmafDashPlaylist"));
    assert!(at("cmafHlsUrl") < at("mssPlaylist"));
    assert!(at("mssUrl") < at("thumbNails"));

    // The item: the same fields, the job's MSS group and the event's MS_SMOOTH_GROUP.
    let item = get_item(&clients, &resources.table, &guid).await;
    let mut item_expected = expected.clone();
    item_expected.extend(set(&ITEM_ONLY_KEYS));
    assert_eq!(item.keys().cloned().collect::<BTreeSet<_>>(), item_expected);
    assert_eq!(item["mssPlaylist"], mss_playlist.as_str());
    assert_eq!(item["mssUrl"], mss_url.as_str());
    let job_groups = item["encodingJob"]["Settings"]["OutputGroups"]
        .as_array()
        .expect("groups");
    let mss_job = job_groups
        .iter()
        .find(|g| g["Name"] == "MS Smooth")
        .expect("an MS Smooth group");
    let settings = &mss_job["OutputGroupSettings"]["MsSmoothGroupSettings"];
    assert_eq!(settings["ManifestEncoding"], "UTF8");
    assert_eq!(
        settings["Destination"],
        format!("s3://{destination}/{guid}/mss/").as_str()
    );
    let groups = item["encodingOutput"]["detail"]["outputGroupDetails"]
        .as_array()
        .expect("groups");
    let types: Vec<&str> = groups
        .iter()
        .map(|g| g["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        [
            "FILE_GROUP",
            "HLS_GROUP",
            "DASH_ISO_GROUP",
            "CMAF_GROUP",
            "MS_SMOOTH_GROUP",
            "FILE_GROUP"
        ]
    );
    let mss = &groups[4];
    assert_eq!(mss["playlistFilePaths"][0], mss_playlist.as_str());
    let outputs = mss["outputDetails"].as_array().expect("outputs");
    let rungs = [(480, 270), (640, 360), (960, 540), (1280, 720)];
    assert_eq!(outputs.len(), rungs.len());

    // The manifests and every .ismv are served; each .ismv is its rung's H.264 with its AAC.
    let get = |url: String| async move {
        let response = reqwest::get(&url).await.expect("GET");
        assert_eq!(response.status(), 200, "{url}");
        response.text().await.expect("text")
    };
    let server = get(fetchable(&mss_url)).await;
    assert!(server.contains("<smil"), "{server}");
    assert_eq!(
        attribute_values(&server, "content"),
        ["Año clip.ismc"],
        "{server}"
    );
    let client = get(fetchable(&format!("{cloudfront}/{guid}/mss/Año clip.ismc"))).await;
    assert!(client.contains("<SmoothStreamingMedia"), "{client}");
    assert_eq!(client.matches("<QualityLevel ").count(), rungs.len() + 1);
    let sources = attribute_values(&server, "src");
    assert_eq!(sources.len(), rungs.len() + 1, "{server}");
    for (output, (width, height)) in outputs.iter().zip(rungs) {
        let file = output["outputFilePaths"][0].as_str().expect("a file");
        let name = format!("Año clip_mss_{height}p.ismv");
        assert_eq!(file, format!("s3://{destination}/{guid}/mss/{name}"));
        assert!(sources.contains(&name.as_str()), "{server}");
        assert_eq!(output["videoDetails"]["widthInPx"], width);
        assert_eq!(output["videoDetails"]["heightInPx"], height);
        let (duration, streams) =
            ffprobe_url(&fetchable(&format!("{cloudfront}/{guid}/mss/{name}")));
        assert!((duration - 5.0).abs() < 0.3, "{name}: {duration} s");
        let codecs: BTreeSet<(String, u64, u64)> = streams.into_iter().collect();
        assert_eq!(
            codecs,
            BTreeSet::from([("aac".to_owned(), 0, 0), ("h264".to_owned(), width, height)]),
            "{name}"
        );
    }
}
