//! The local stack's "MediaPackage VOD" (`vodesk::local_stack::media_package`) against the moto
//! emulator, without the rest of the stack: two renditions encoded here are packaged as an asset,
//! served by the local CloudFront under `/out/`, and played by ffprobe as HLS, DASH and CMAF.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_s3::primitives::ByteStream;
use reqwest::StatusCode;
use serde_json::Value;

use vodesk::local_stack::cdn::CdnListener;
use vodesk::local_stack::media_package::{
    AssetInput, MediaPackageError, PackagingGroup, PackagingKind, RenditionFile, is_hex32,
};

const STACK: &str = "vod-mp";
const DESTINATION: &str = "vod-mp-destination920a3c57-local";
const GUID: &str = "5af3245b-0a67-446c-aea5-63ff45705481";
const SIZES: [(u32, u32); 2] = [(320, 180), (640, 360)];

/// `<dir>/enc/r<i>.mp4` as the local encode writes them: H.264 with a keyframe every 3 s, AAC.
fn encode_renditions(dir: &Path) -> Vec<RenditionFile> {
    let enc = dir.join("enc");
    std::fs::create_dir_all(&enc).expect("the enc folder");
    SIZES
        .iter()
        .enumerate()
        .map(|(i, &(width, height))| {
            let path = enc.join(format!("r{i}.mp4"));
            let status = Command::new("ffmpeg")
                .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
                .args(["-f", "lavfi", "-i"])
                .arg(format!("testsrc2=size={width}x{height}:rate=25"))
                .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
                .args(["-t", "4", "-c:v", "libx264", "-preset", "ultrafast"])
                .args(["-pix_fmt", "yuv420p", "-force_key_frames"])
                .arg("expr:gte(t,n_forced*3)")
                .args(["-c:a", "aac", "-b:a", "64k"])
                .arg(&path)
                .status()
                .expect("run ffmpeg");
            assert!(status.success(), "encode rendition {i}");
            RenditionFile {
                path,
                width,
                height,
            }
        })
        .collect()
}

/// ffprobe's view of a URL: the duration and the (codec, width, height) of every stream, deduplicated.
fn probe(url: &str) -> (f64, Vec<(String, u64, u64)>) {
    let (duration, mut streams) = super::local_pipeline::ffprobe_url(url);
    streams.sort();
    streams.dedup();
    (duration, streams)
}

/// The three path parts of an egress URL, checked for shape: `<base>/out/v1/<a>/<b>/<c>/<manifest>`.
fn parts<'a>(url: &'a str, base: &str, manifest: &str) -> [&'a str; 3] {
    let rest = url
        .strip_prefix(&format!("{base}/out/v1/"))
        .and_then(|rest| rest.strip_suffix(&format!("/{manifest}")))
        .unwrap_or_else(|| panic!("{url} is not {base}/out/v1/…/{manifest}"));
    let parts: Vec<&str> = rest.split('/').collect();
    assert_eq!(parts.len(), 3, "{url}");
    for part in &parts {
        assert!(is_hex32(part), "{part} in {url} is not 32 hex");
    }
    [parts[0], parts[1], parts[2]]
}

/// Every key and ETag of the packaging bucket under `prefix`.
async fn objects(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for object in page.expect("list the bucket").contents() {
            found.insert(
                object.key().unwrap_or_default().to_owned(),
                object.e_tag().unwrap_or_default().to_owned(),
            );
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn an_asset_plays_as_hls_dash_and_cmaf_through_the_local_cloudfront() {
    let emulator = common::fresh_emulator().await;
    let clients = emulator.clients.clone();
    let s3 = clients.s3.clone();
    s3.create_bucket()
        .bucket(DESTINATION)
        .send()
        .await
        .expect("create the destination bucket");
    s3.put_object()
        .bucket(DESTINATION)
        .key(format!("{GUID}/hls/x.m3u8"))
        .body(ByteStream::from_static(b"#EXTM3U\n"))
        .send()
        .await
        .expect("put a destination object");

    let group = PackagingGroup::create(&clients, STACK)
        .await
        .expect("the packaging group");
    assert_eq!(group.id(), "vod-mp-packaging-group");
    assert!(
        group.bucket().starts_with("vod-mp-mediapackage-"),
        "{}",
        group.bucket()
    );
    let ids: Vec<&str> = group
        .configurations()
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids.len(), 4);
    let shared = ids[0]
        .strip_prefix("packaging-config-")
        .and_then(|rest| rest.strip_suffix("-hls"))
        .expect("packaging-config-<16hex>-hls");
    assert_eq!(shared.len(), 16);
    for (id, kind) in ids.iter().zip(["hls", "dash", "mss", "cmaf"]) {
        assert_eq!(*id, format!("packaging-config-{shared}-{kind}"));
    }

    let listener = CdnListener::bind(0).await.expect("bind a free port");
    let domain = listener.domain();
    let cdn = listener.serve_with_packaging(
        s3.clone(),
        DESTINATION.to_owned(),
        Some(group.bucket().to_owned()),
    );
    let base = cdn.base_url();
    let scratch = tempfile::tempdir().expect("a work folder");
    let renditions = encode_renditions(scratch.path());

    let asset = group
        .create_asset(
            &clients,
            AssetInput::local(GUID, renditions.clone(), &domain),
        )
        .await
        .expect("the asset");
    assert!(is_hex32(&asset.resource_id), "{}", asset.resource_id);
    let keys: Vec<&str> = asset.egress_endpoints.keys().map(String::as_str).collect();
    assert_eq!(keys, ["CMAF", "DASH", "HLS", "MSS"]);
    let manifest = |key: &str| match key {
        "HLS" | "CMAF" => PackagingKind::Hls.manifest(),
        "DASH" => PackagingKind::Dash.manifest(),
        _ => PackagingKind::Mss.manifest(),
    };
    let first: BTreeMap<&str, [&str; 3]> = asset
        .egress_endpoints
        .iter()
        .map(|(key, url)| (key.as_str(), parts(url, &base, manifest(key))))
        .collect();
    // One asset part; one configuration part per configuration, from the group.
    assert!(first.values().all(|p| p[0] == first["HLS"][0]));
    for config in group.configurations() {
        let key = config.kind.suffix().to_uppercase();
        assert_eq!(first[key.as_str()][1], config.path_part, "{key}");
    }
    let endpoint_parts: std::collections::BTreeSet<&str> = first.values().map(|p| p[2]).collect();
    assert_eq!(endpoint_parts.len(), 4);

    let http = reqwest::Client::new();
    for (key, url) in &asset.egress_endpoints {
        if key == "MSS" {
            continue;
        }
        let probe_url = url.clone();
        let (duration, streams) = tokio::task::spawn_blocking(move || probe(&probe_url))
            .await
            .expect("ffprobe finished");
        assert!((3.5..=4.6).contains(&duration), "{key}: {duration} s");
        for (width, height) in SIZES {
            let stream = ("h264".to_owned(), u64::from(width), u64::from(height));
            assert!(streams.contains(&stream), "{key}: {streams:?}");
        }
        assert!(streams.iter().any(|s| s.0 == "aac"), "{key}: {streams:?}");
        let response = http.get(url).send().await.expect("the manifest");
        assert_eq!(response.status(), StatusCode::OK, "{key}");
        let expected = if key == "DASH" {
            "application/dash+xml"
        } else {
            "application/vnd.apple.mpegurl"
        };
        assert_eq!(response.headers()["content-type"], expected, "{key}");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
    }

    // MSS is listed but not packaged: a clean 404, with the CORS header every answer has.
    let mss = http
        .get(&asset.egress_endpoints["MSS"])
        .send()
        .await
        .expect("an answer");
    assert_eq!(mss.status(), StatusCode::NOT_FOUND);
    assert_eq!(mss.headers()["access-control-allow-origin"], "*");

    // What the bucket holds: TS for HLS, fMP4 segments for DASH and CMAF, each with its type.
    let asset_prefix = format!("out/v1/{}/", first["HLS"][0]);
    let stored = objects(&s3, group.bucket(), &asset_prefix).await;
    let under = |key: &str| format!("{asset_prefix}{}/{}/", first[key][1], first[key][2]);
    assert!(
        stored
            .keys()
            .any(|k| k.starts_with(&under("HLS")) && k.ends_with(".ts"))
    );
    assert!(
        stored
            .keys()
            .any(|k| k.starts_with(&under("DASH")) && k.ends_with(".m4s"))
    );
    let cmaf_segment = stored
        .keys()
        .find(|k| k.starts_with(&under("CMAF")) && k.ends_with(".m4s"))
        .expect("a CMAF segment");
    assert!(!stored.keys().any(|k| k.starts_with(&under("MSS"))));
    let segment = http
        .head(format!("{base}/{cmaf_segment}"))
        .send()
        .await
        .expect("the segment");
    assert_eq!(segment.status(), StatusCode::OK);
    assert_eq!(segment.headers()["content-type"], "video/iso.segment");
    // Everything else still comes from the destination bucket.
    let other = http
        .get(format!("{base}/{GUID}/hls/x.m3u8"))
        .send()
        .await
        .expect("a destination object");
    assert_eq!(other.status(), StatusCode::OK);

    // A second asset of the same renditions: new ids, and the first asset's objects untouched.
    let second = group
        .create_asset(&clients, AssetInput::local(GUID, renditions, &domain))
        .await
        .expect("a second asset");
    assert_ne!(second.resource_id, asset.resource_id);
    for (key, url) in &second.egress_endpoints {
        let p = parts(url, &base, manifest(key));
        assert_ne!(p[0], first[key.as_str()][0], "{key}");
        assert_eq!(
            p[1],
            first[key.as_str()][1],
            "{key}: the configuration's part"
        );
        assert_ne!(p[2], first[key.as_str()][2], "{key}");
        assert_ne!(url, &asset.egress_endpoints[key]);
    }
    assert_eq!(objects(&s3, group.bucket(), &asset_prefix).await, stored);
    let response = http
        .get(&asset.egress_endpoints["HLS"])
        .send()
        .await
        .expect("the first asset's manifest");
    assert_eq!(response.status(), StatusCode::OK);
    cdn.shutdown().await;
}

#[tokio::test]
async fn a_missing_rendition_is_an_error_that_names_it() {
    let emulator = common::fresh_emulator().await;
    let group = PackagingGroup::create(&emulator.clients, STACK)
        .await
        .expect("the packaging group");
    let missing = PathBuf::from("/nonexistent/vodesk/enc/r0.mp4");
    let input = AssetInput::local(
        GUID,
        vec![RenditionFile {
            path: missing.clone(),
            width: 320,
            height: 180,
        }],
        "127.0.0.1:9",
    );
    let err = group
        .create_asset(&emulator.clients, input)
        .await
        .expect_err("nothing to package");
    assert!(
        matches!(&err, MediaPackageError::RenditionUnreadable { path, .. } if *path == missing),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("/nonexistent/vodesk/enc/r0.mp4"),
        "{err}"
    );

    let empty = AssetInput::local(GUID, Vec::new(), "127.0.0.1:9");
    let err = group
        .create_asset(&emulator.clients, empty)
        .await
        .expect_err("no renditions");
    assert!(matches!(err, MediaPackageError::NoRenditions), "{err:?}");
}

/// A stack with EnableMediaPackage=Yes end to end (issue 15): the job uses the `mvod` default
/// template, its HLS outputs become an asset, the item keeps every field and adds
/// `mediaPackageResourceId` and `egressEndpoints`, the Complete message drops the per-group URLs
/// (contract §4), and the egress endpoints play through the local CloudFront (MSS listed, not
/// served).
#[tokio::test(flavor = "multi_thread")]
async fn a_media_package_stack_publishes_egress_endpoints_that_play() {
    use super::local_pipeline::{
        COMPLETE_KEYS_HLS, generate_clip, get_item, keys, set, start_local_stack_with, upload,
        watch_topic,
    };
    use vodesk::local_stack::LocalStackOptions;
    use vodesk::local_stack::vod_template::StackParameters;

    let (local, clients) = start_local_stack_with(LocalStackOptions {
        parameters: StackParameters {
            enable_media_package: true,
            ..StackParameters::local_defaults()
        },
        ..LocalStackOptions::default()
    })
    .await;
    let resources = local.resources().clone();
    assert_eq!(resources.enable_media_package, Some(true));
    let watch = watch_topic(&clients, &resources.topic_arn).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = generate_clip(dir.path(), "trailer.mp4", "640x360", 4, true);
    upload(&local, &clip, "incoming/trailer.mp4");
    let texts = super::local_metadata::raw_messages(
        &clients,
        &watch,
        std::time::Duration::from_secs(180),
        |seen| {
            seen.iter()
                .any(|m| m["workflowStatus"] == "Complete" || m["workflowStatus"] == "Error")
        },
    )
    .await;
    let complete: Value = serde_json::from_str(texts.last().expect("a message")).expect("JSON");
    assert_eq!(complete["workflowStatus"], "Complete", "{complete:#?}");
    let mut expected = set(&COMPLETE_KEYS_HLS);
    expected.remove("hlsPlaylist");
    expected.remove("hlsUrl");
    expected.extend(set(&["mediaPackageResourceId", "egressEndpoints"]));
    assert_eq!(keys(&complete), expected);
    assert_eq!(complete["enableMediaPackage"], true);
    assert_eq!(
        complete["jobTemplate"],
        "vod-local_Ott_720p_Avc_Aac_16x9_mvod_no_preset"
    );
    assert!(is_hex32(
        complete["mediaPackageResourceId"].as_str().expect("an id")
    ));
    let endpoints = complete["egressEndpoints"].as_object().expect("endpoints");
    assert_eq!(endpoints.len(), 4);
    // In the text, the order media-package-assets gives them.
    let text = texts.last().expect("a message");
    let at = |kind: &str| text.find(&format!("\"{kind}\": ")).expect("an endpoint");
    assert!(at("HLS") < at("DASH") && at("DASH") < at("MSS") && at("MSS") < at("CMAF"));
    let cloudfront = local.cdn_base_url();
    for (kind, manifest) in [
        ("HLS", "index.m3u8"),
        ("DASH", "index.mpd"),
        ("CMAF", "index.m3u8"),
    ] {
        let url = endpoints[kind].as_str().expect("a URL");
        assert!(url.starts_with(&format!("{cloudfront}/out/v1/")), "{url}");
        assert!(url.ends_with(manifest), "{url}");
        let (duration, streams) = probe(url);
        assert!((duration - 4.0).abs() < 0.5, "{kind}: {duration} s");
        assert!(
            streams.iter().any(|(codec, _, _)| codec == "h264"),
            "{kind}: {streams:?}"
        );
    }
    let mss = endpoints["MSS"].as_str().expect("a URL");
    assert!(mss.ends_with("/index.ism/Manifest"), "{mss}");
    let status = reqwest::get(mss).await.expect("GET MSS").status();
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The item keeps the S3-origin URLs the message dropped.
    let guid = complete["guid"].as_str().expect("guid");
    let item = get_item(&clients, &resources.table, guid).await;
    assert!(
        item["hlsUrl"]
            .as_str()
            .is_some_and(|u| u.ends_with("/hls/trailer.m3u8"))
    );
    assert_eq!(item["egressEndpoints"], complete["egressEndpoints"]);
}
