//! Stack discovery against the emulator: stacks created through CloudFormation with the solution's v6 and
//! v5 outputs, a missing stack, a missing output, overrides, and the `vodesk stack`/`stacks` commands.

use crate::common;

use crate::common::{fresh_emulator, vodesk_against};
use aws_sdk_cloudformation::types::Parameter;
use serde_json::{Value, json};
use vodesk::aws::discovery::{
    DiscoveryError, Origin, StackOverrides, discover, find_solution_stacks,
};
use vodesk::contract::stack::{Generation, WorkflowTrigger};
use vodesk::local_stack::vod_template::{VodStackSpec, create_vod_stack, template};

#[tokio::test(flavor = "multi_thread")]
async fn v6_stack_is_discovered_from_its_outputs_and_resources() {
    let emu = fresh_emulator().await;
    let mut spec = VodStackSpec::v6("vod-stack", "d1q2w3e4r5t6y7.cloudfront.net");
    spec.parameters.workflow_trigger = WorkflowTrigger::MetadataFile;
    spec.parameters.frame_capture = true;
    create_vod_stack(&emu.clients.cloudformation, &spec)
        .await
        .unwrap();

    let r = discover(&emu.clients, Some("vod-stack"), &StackOverrides::default())
        .await
        .unwrap();
    assert_eq!(r.stack_name.as_deref(), Some("vod-stack"));
    assert_eq!(r.generation, Some(Generation::V6));
    assert_eq!(r.solution_version.as_deref(), Some("v6.1.13"));
    assert_eq!(r.table, "vod-stack");
    assert!(
        r.source_bucket.starts_with("vod-stack-source71e471f1-"),
        "{}",
        r.source_bucket
    );
    assert!(
        r.destination_bucket
            .as_deref()
            .unwrap()
            .starts_with("vod-stack-destination920a3c57-")
    );
    assert_eq!(
        r.cloudfront_domain.as_deref(),
        Some("d1q2w3e4r5t6y7.cloudfront.net")
    );
    assert_eq!(r.workflow_trigger, Some(WorkflowTrigger::MetadataFile));
    assert_eq!(r.frame_capture, Some(true));
    assert_eq!(r.enable_sns, Some(true));
    assert!(r.overridden.is_empty());

    // The topic ARN comes from the stack's AWS::SNS::Topic resource, and names a topic that exists.
    assert_eq!(r.topic_arn_from, Origin::StackResource);
    assert!(
        r.topic_arn.starts_with("arn:aws:sns:us-east-1:"),
        "{}",
        r.topic_arn
    );
    assert!(
        r.topic_arn.contains(":vod-stack-SnsTopic2C1570A4-"),
        "{}",
        r.topic_arn
    );
    let topics = emu.clients.sns.list_topics().send().await.unwrap();
    assert!(
        topics
            .topics()
            .iter()
            .any(|t| t.topic_arn() == Some(r.topic_arn.as_str()))
    );
    // And the bucket and table exist under the names the outputs give.
    emu.clients
        .s3
        .head_bucket()
        .bucket(&r.source_bucket)
        .send()
        .await
        .unwrap();
    let table = emu
        .clients
        .dynamodb
        .describe_table()
        .table_name(&r.table)
        .send()
        .await
        .unwrap();
    let indexes: Vec<_> = table
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    assert_eq!(indexes, ["srcBucket-startTime-index"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn v5_stack_gives_its_topic_arn_directly() {
    let emu = fresh_emulator().await;
    create_vod_stack(
        &emu.clients.cloudformation,
        &VodStackSpec::v5("vod-legacy", "d9h8g7f6e5d4c3.cloudfront.net"),
    )
    .await
    .unwrap();
    let r = discover(&emu.clients, Some("vod-legacy"), &StackOverrides::default())
        .await
        .unwrap();
    assert_eq!(r.generation, Some(Generation::V5));
    assert_eq!(r.solution_version.as_deref(), Some("v5.3.1"));
    assert_eq!(r.topic_arn_from, Origin::StackOutput);
    assert!(r.topic_arn.starts_with("arn:aws:sns:us-east-1:"));
    assert!(r.source_bucket.starts_with("vod-legacy-source-"));
    assert_eq!(r.table, "vod-legacy");
    assert_eq!(
        r.cloudfront_domain.as_deref(),
        Some("d9h8g7f6e5d4c3.cloudfront.net")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_stack_names_the_stack_and_the_region() {
    let emu = fresh_emulator().await;
    let err = discover(
        &emu.clients,
        Some("no-such-stack"),
        &StackOverrides::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, DiscoveryError::StackNotFound { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("\"no-such-stack\" was not found in region us-east-1"),
        "{text}"
    );
    assert!(text.contains("--region"), "{text}");
}

/// A stack made from the solution's template minus some outputs.
async fn create_stack_without(
    emu: &common::FreshEmulator,
    name: &str,
    spec: VodStackSpec,
    drop: &[&str],
) {
    let mut tpl: Value = template(&spec);
    for key in drop {
        tpl["Outputs"].as_object_mut().unwrap().remove(*key);
    }
    emu.clients
        .cloudformation
        .create_stack()
        .stack_name(name)
        .template_body(tpl.to_string())
        .parameters(
            Parameter::builder()
                .parameter_key("EnableSns")
                .parameter_value("No")
                .build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_output_says_which_value_and_which_flag() {
    let emu = fresh_emulator().await;
    create_stack_without(
        &emu,
        "vod-partial",
        VodStackSpec::v6("vod-partial", "x.cloudfront.net"),
        &["SourceBucketName"],
    )
    .await;
    let err = discover(
        &emu.clients,
        Some("vod-partial"),
        &StackOverrides::default(),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("does not give its source bucket"), "{text}");
    assert!(
        text.contains("SourceBucketName (v6) or Source (v5)"),
        "{text}"
    );
    assert!(text.contains("--source-bucket"), "{text}");

    // The flag supplies it, and discovery then completes with the rest from the stack.
    let overrides = StackOverrides {
        source_bucket: Some("my-bucket".into()),
        ..Default::default()
    };
    let r = discover(&emu.clients, Some("vod-partial"), &overrides)
        .await
        .unwrap();
    assert_eq!(r.source_bucket, "my-bucket");
    assert_eq!(r.overridden, ["source_bucket"]);
    assert_eq!(r.table, "vod-partial");
    assert_eq!(r.enable_sns, Some(false));
}

#[tokio::test(flavor = "multi_thread")]
async fn v5_0_stack_without_topic_output_asks_for_the_topic_flag() {
    let emu = fresh_emulator().await;
    create_stack_without(
        &emu,
        "vod-old",
        VodStackSpec::v5("vod-old", "x.cloudfront.net"),
        &["SnsTopic", "SqsURL", "SqsARN"],
    )
    .await;
    let err = discover(&emu.clients, Some("vod-old"), &StackOverrides::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("does not give its SNS topic ARN"), "{text}");
    assert!(text.contains("--topic-arn"), "{text}");
    assert!(text.contains("before v5.1.0"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn overrides_alone_need_bucket_table_and_topic() {
    let emu = fresh_emulator().await;
    let partial = StackOverrides {
        table: Some("t".into()),
        ..Default::default()
    };
    let text = discover(&emu.clients, None, &partial)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("--stack NAME"), "{text}");
    assert!(text.contains("--source-bucket (source bucket)"), "{text}");
    assert!(text.contains("--topic-arn (SNS topic ARN)"), "{text}");
    assert!(!text.contains("--table"), "{text}");

    let full = StackOverrides {
        source_bucket: Some("src".into()),
        table: Some("t".into()),
        topic_arn: Some("arn:aws:sns:us-east-1:111122223333:topic".into()),
        cloudfront_domain: None,
    };
    let r = discover(&emu.clients, None, &full).await.unwrap();
    assert_eq!((r.source_bucket.as_str(), r.table.as_str()), ("src", "t"));
    assert_eq!(r.topic_arn_from, Origin::Override);
    assert_eq!(r.stack_name, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn solution_stacks_are_found_by_description() {
    let emu = fresh_emulator().await;
    create_vod_stack(
        &emu.clients.cloudformation,
        &VodStackSpec::v6("vod-b", "b.cloudfront.net"),
    )
    .await
    .unwrap();
    create_vod_stack(
        &emu.clients.cloudformation,
        &VodStackSpec::v5("vod-a", "a.cloudfront.net"),
    )
    .await
    .unwrap();
    let unrelated =
        json!({"Description": "something else", "Resources": {"T": {"Type": "AWS::SNS::Topic"}}});
    emu.clients
        .cloudformation
        .create_stack()
        .stack_name("unrelated")
        .template_body(unrelated.to_string())
        .send()
        .await
        .unwrap();
    let stacks = find_solution_stacks(&emu.clients).await.unwrap();
    let names: Vec<_> = stacks
        .iter()
        .map(|s| (s.name.as_str(), s.solution_version.as_deref()))
        .collect();
    assert_eq!(
        names,
        [("vod-a", Some("v5.3.1")), ("vod-b", Some("v6.1.13"))]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_command_prints_the_discovered_resources() {
    let emu = fresh_emulator().await;
    create_vod_stack(
        &emu.clients.cloudformation,
        &VodStackSpec::v6("vod-cli", "d1.cloudfront.net"),
    )
    .await
    .unwrap();

    let out = vodesk_against(&emu.endpoint)
        .args(["stack", "--stack", "vod-cli", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["stack_name"], "vod-cli");
    assert_eq!(json["table"], "vod-cli");
    assert_eq!(json["generation"], "v6");
    assert_eq!(json["topic_arn_from"], "stack-resource");
    assert!(
        json["source_bucket"]
            .as_str()
            .unwrap()
            .starts_with("vod-cli-source71e471f1-")
    );

    // The table form, with the stack named through VODESK_STACK and the endpoint through the flag.
    let out = vodesk_against("http://127.0.0.1:9")
        .env("VODESK_STACK", "vod-cli")
        .args(["stack", "--endpoint-url", &emu.endpoint])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("vod-cli (v6.1.13, CREATE_COMPLETE)"),
        "{text}"
    );
    assert!(text.contains("from the stack's resources"), "{text}");

    // A missing stack is one clear line on stderr and exit 1.
    let out = vodesk_against(&emu.endpoint)
        .args(["stack", "--stack", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("\"nope\" was not found"), "{err}");

    let out = vodesk_against(&emu.endpoint)
        .args(["stacks"])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("vod-cli"));
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_command_without_region_says_how_to_set_one() {
    let out = common::vodesk_bin()
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["stack", "--stack", "vod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no AWS region is set: pass --region"), "{err}");
}

/// A machine with no credentials anywhere, where something answers for the instance metadata
/// service with a refusal (a proxy or a firewall, as on many office networks): the message says that
/// no credentials were found and how to set them up, not that a session expired, and carries no
/// debug dump of the SDK's errors.
#[test]
fn no_credentials_with_a_refusing_metadata_service_says_how_to_set_them_up() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let imds = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 4096];
            let _read = stream.read(&mut request);
            let _written = stream.write_all(
                b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 6\r\nconnection: close\r\n\r\ndenied",
            );
        }
    });
    let home = tempfile::tempdir().unwrap();
    let out = common::vodesk_bin()
        .env("HOME", home.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds)
        .args([
            "--region",
            "us-east-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .args(["stack", "--stack", "vod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    let last = err.lines().last().unwrap_or_default();
    assert!(last.contains("no AWS credentials were found"), "{err}");
    assert!(!last.contains("expired"), "{err}");
    assert!(!last.contains("DispatchFailure"), "{err}");
}
