//! The catalogue against the emulator: 1,000+ items read newest first from the
//! `srcBucket-startTime-index` GSI page by page (other buckets and sparse error items excluded, as the
//! index does), the Scan fallback on a table without the index (sorted here, sparse items included),
//! and GetItem by guid with the fixtures' full items decoded (media info, URLs).

use std::collections::{HashMap, HashSet};

use crate::common::{fixture, fresh_emulator, put_item_json, vod_stack};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest,
    ScalarAttributeType, WriteRequest,
};
use serde_json::Value;
use vodesk::aws::catalogue::{Catalogue, ReadVia};
use vodesk::aws::connection::AwsClients;
use vodesk::contract::WorkflowStatus;

/// `count` items in `bucket`, started one second apart from 2025-01-01T00:00:00Z + `offset` s; every
/// tenth carries a large `encodingJob` map like the solution's.
async fn write_items(clients: &AwsClients, table: &str, bucket: &str, count: usize, offset: usize) {
    let big_job = AttributeValue::M(HashMap::from([(
        "Settings".to_owned(),
        AttributeValue::S("x".repeat(20_000)),
    )]));
    let requests: Vec<WriteRequest> = (0..count)
        .map(|i| {
            let n = i + offset;
            let start = vodesk::time::format_iso8601(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_735_689_600 + n as u64),
            );
            let mut item = HashMap::from([
                (
                    "guid".to_owned(),
                    AttributeValue::S(format!("00000000-0000-4000-8000-{n:012}")),
                ),
                ("srcBucket".to_owned(), AttributeValue::S(bucket.to_owned())),
                ("startTime".to_owned(), AttributeValue::S(start)),
                (
                    "srcVideo".to_owned(),
                    AttributeValue::S(format!("uploads/clip-{n}.mp4")),
                ),
                (
                    "workflowStatus".to_owned(),
                    AttributeValue::S(
                        if n.is_multiple_of(3) {
                            "Complete"
                        } else {
                            "Ingest"
                        }
                        .to_owned(),
                    ),
                ),
            ]);
            if n.is_multiple_of(10) {
                item.insert("encodingJob".to_owned(), big_job.clone());
            }
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect();
    for chunk in requests.chunks(25) {
        clients
            .dynamodb
            .batch_write_item()
            .request_items(table, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn over_a_thousand_jobs_page_newest_first_from_the_index() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    write_items(&emu.clients, &stack.table, &stack.source_bucket, 1050, 0).await;
    write_items(&emu.clients, &stack.table, "someone-elses-bucket", 5, 5000).await;
    // A sparse error item (failure before Ingest): not in the index.
    let sparse = serde_json::json!({"guid": {"S": "sparse"}, "workflowStatus": {"S": "Error"}, "errorMessage": {"S": "boom"}});
    put_item_json(&emu.clients, &stack.table, &sparse).await;

    let catalogue = Catalogue::new(&emu.clients, &stack);
    let mut token = None;
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let page = catalogue.page(token, 100).await.unwrap();
        assert_eq!(page.via, ReadVia::Index);
        assert!(page.warnings.is_empty(), "{:?}", page.warnings);
        pages += 1;
        if page.next.is_some() {
            assert_eq!(page.records.len(), 100, "page {pages} is full");
        }
        all.extend(page.records);
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    assert!((11..=12).contains(&pages), "{pages} pages");
    assert_eq!(all.len(), 1050);
    let guids: HashSet<&str> = all.iter().map(|r| r.guid.as_str()).collect();
    assert_eq!(guids.len(), 1050, "no duplicates across pages");
    assert!(!guids.contains("sparse"));
    assert_eq!(
        all[0].guid, "00000000-0000-4000-8000-000000001049",
        "newest first"
    );
    assert!(
        all.windows(2).all(|w| w[0].start_time > w[1].start_time),
        "strictly newest first"
    );
    assert!(
        all.iter()
            .all(|r| r.src_bucket.as_deref() == Some(stack.source_bucket.as_str()))
    );

    // newest() stops once it has enough, and filters.
    let complete = catalogue
        .newest(7, |r| r.status == WorkflowStatus::Complete)
        .await
        .unwrap();
    let got: Vec<&str> = complete.records.iter().map(|r| r.guid.as_str()).collect();
    assert_eq!(got.len(), 7);
    assert_eq!(got[0], "00000000-0000-4000-8000-000000001047");
    assert_eq!(got[6], "00000000-0000-4000-8000-000000001029");

    // Polling reads everything started since a time.
    let recent = catalogue
        .started_since("2025-01-01T00:17:00.000Z")
        .await
        .unwrap();
    assert_eq!(recent.records.len(), 1050 - 1020);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_index_the_table_is_scanned_and_sorted() {
    let emu = fresh_emulator().await;
    emu.clients
        .dynamodb
        .create_table()
        .table_name("custom-vod")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("guid")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("guid")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    write_items(&emu.clients, "custom-vod", "src", 250, 0).await;
    let sparse = serde_json::json!({"guid": {"S": "sparse"}, "workflowStatus": {"S": "Error"}, "errorMessage": {"S": "boom"}});
    put_item_json(&emu.clients, "custom-vod", &sparse).await;
    let broken = serde_json::json!({"guid": {"S": "broken"}, "workflowStatus": {"S": "Paused"}});
    put_item_json(&emu.clients, "custom-vod", &broken).await;

    let catalogue = Catalogue::with_names(emu.clients.dynamodb.clone(), "custom-vod", "src");
    let first = catalogue.page(None, 100).await.unwrap();
    assert_eq!(first.via, ReadVia::Scan);
    assert_eq!(first.records.len(), 100);
    assert_eq!(
        first.records[0].guid,
        "00000000-0000-4000-8000-000000000249"
    );
    assert_eq!(first.warnings.len(), 1, "{:?}", first.warnings);
    assert!(first.warnings[0].contains("broken"), "{:?}", first.warnings);
    let second = catalogue.page(first.next, 100).await.unwrap();
    let third = catalogue.page(second.next, 100).await.unwrap();
    assert!(third.next.is_none());
    assert_eq!(third.records.len(), 51);
    assert_eq!(
        third.records.last().unwrap().guid,
        "sparse",
        "undated items come last"
    );
    let all: Vec<_> = first
        .records
        .iter()
        .chain(&second.records)
        .chain(&third.records)
        .collect();
    assert!(
        all[..250]
            .windows(2)
            .all(|w| w[0].start_time > w[1].start_time)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_reads_one_job_with_media_info_and_urls() {
    let emu = fresh_emulator().await;
    let stack = vod_stack(&emu.clients, "vod-stack").await;
    let item: Value = serde_json::from_str(&fixture("dynamodb-item-complete.json")).unwrap();
    put_item_json(&emu.clients, &stack.table, &item["Item"]).await;
    let catalogue = Catalogue::new(&emu.clients, &stack);

    let guid = item["Item"]["guid"]["S"].as_str().unwrap();
    let decoded = catalogue.get(guid).await.unwrap().expect("the item exists");
    let record = decoded.record.unwrap();
    assert_eq!(record.status, WorkflowStatus::Complete);
    assert_eq!(
        record.src_video.as_deref(),
        item["Item"]["srcVideo"]["S"].as_str()
    );
    assert_eq!(record.hls_url(), item["Item"]["hlsUrl"]["S"].as_str());
    let mp4: Vec<&str> = item["Item"]["mp4Urls"]["L"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["S"].as_str().unwrap())
        .collect();
    assert_eq!(record.mp4_urls(), mp4);
    let info = record.media_info.expect("srcMediainfo parsed");
    assert!(info.container.is_some());
    assert!(!info.video.is_empty());
    assert!(!info.audio.is_empty());

    assert!(catalogue.get("no-such-guid").await.unwrap().is_none());
}
