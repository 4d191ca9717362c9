//! `vodesk local-stack --simulate` end to end (issue 15): the failures the solution really has, played
//! by the local pipeline where they happen on AWS, so clients' displays of them meet real runs. A
//! stalled job and a canceled one give Ingest and then silence (the item at Ingest with its
//! `encodeJobId`, no Complete, no Error, nothing in the destination bucket); an encode error gives
//! Ingest, then the error handler's Error at `Encoding` with MediaConvert's code 1401. An upload no
//! rule matches is not touched.

use std::time::Duration;

use serde_json::Value;
use vodesk::local_stack::LocalStackOptions;
use vodesk::local_stack::pipeline::SimulationRule;

use super::local_metadata::{messages_then_silence, status_of};
use super::local_pipeline::{
    generate_clip, scan_items, start_local_stack_with, upload, watch_topic,
};

#[tokio::test(flavor = "multi_thread")]
async fn simulated_stall_cancel_and_encode_error_look_as_they_do_on_aws() {
    let simulate: Vec<SimulationRule> = [
        "stall=*stall*",
        "canceled=*cancel*",
        "encode-error=*broken*",
    ]
    .iter()
    .map(|rule| rule.parse().expect("a rule"))
    .collect();
    let (local, clients) = start_local_stack_with(LocalStackOptions {
        simulate,
        ..LocalStackOptions::default()
    })
    .await;
    let resources = local.resources().clone();
    let watch = watch_topic(&clients, &resources.topic_arn).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = generate_clip(dir.path(), "clip.mp4", "640x360", 2, true);
    for key in [
        "uploads/stall.mp4",
        "uploads/cancel.mp4",
        "uploads/broken.mp4",
        "uploads/fine.mp4",
    ] {
        upload(&local, &clip, key);
    }
    let texts = messages_then_silence(&clients, &watch, Duration::from_secs(180), |seen| {
        let count = |status: &str| seen.iter().filter(|m| status_of(m) == status).count();
        count("Ingest") == 4 && count("Error") == 1 && count("Complete") == 1
    })
    .await;
    let messages: Vec<Value> = texts
        .iter()
        .map(|t| serde_json::from_str(t).expect("JSON"))
        .collect();

    let items = scan_items(&clients, &resources.table).await;
    assert_eq!(items.len(), 4, "{items:#?}");
    let item_for = |key: &str| {
        items
            .iter()
            .find(|item| item["srcVideo"] == key)
            .unwrap_or_else(|| panic!("no item for {key}"))
    };
    let destination = resources.destination_bucket.clone().expect("destination");
    for key in ["uploads/stall.mp4", "uploads/cancel.mp4"] {
        let item = item_for(key);
        let guid = item["guid"].as_str().expect("guid");
        assert_eq!(item["workflowStatus"], "Ingest", "{key}");
        assert!(item.get("encodeJobId").is_some(), "{key}: no job id");
        let about: Vec<&str> = messages
            .iter()
            .filter(|m| m["guid"] == guid)
            .map(status_of)
            .collect();
        assert_eq!(about, ["Ingest"], "{key}");
        let outputs = clients
            .s3
            .list_objects_v2()
            .bucket(&destination)
            .prefix(format!("{guid}/"))
            .send()
            .await
            .expect("list outputs");
        assert_eq!(outputs.key_count(), Some(0), "{key} has outputs");
    }
    let broken = item_for("uploads/broken.mp4");
    assert_eq!(broken["workflowStatus"], "Error");
    assert_eq!(broken["workflowErrorAt"], "Encoding");
    let event: Value = serde_json::from_str(broken["errorMessage"].as_str().expect("errorMessage"))
        .expect("the item's errorMessage is the ERROR event");
    assert_eq!(event["detail"]["status"], "ERROR");
    assert_eq!(event["detail"]["errorCode"], 1401);
    let error = messages
        .iter()
        .find(|m| status_of(m) == "Error")
        .expect("an Error message");
    assert_eq!(error["guid"], broken["guid"]);
    assert!(
        error["errorMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("Unable to write to output file")),
        "{error:#?}"
    );
    assert_eq!(item_for("uploads/fine.mp4")["workflowStatus"], "Complete");
}
