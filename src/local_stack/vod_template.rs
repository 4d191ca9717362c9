//! A CloudFormation template shaped like a Video on Demand on AWS deployment (contract §2, §5, §10): the
//! source and destination buckets, the table with its `srcBucket-startTime-index` GSI, the SNS topic, the
//! stack's own queue and DLQ, the solution's parameters and its v6 (or v5) outputs and export names. It
//! carries no pipeline: the local stack adds that. Creating it through CloudFormation means discovery
//! reads it exactly as it reads a real deployment.

use std::time::Duration;

use aws_sdk_cloudformation::types::{Parameter, StackStatus};
use serde_json::{Value, json};

use crate::aws::sdk_error;
use crate::contract::stack::{Generation, WorkflowTrigger};

/// The solution's `Glacier` parameter: whether the source is tagged for archiving once its workflow
/// is complete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Glacier {
    #[default]
    Disabled,
    Glacier,
    DeepArchive,
}

impl Glacier {
    /// The parameter's value as the template spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "DISABLED",
            Self::Glacier => "GLACIER",
            Self::DeepArchive => "DEEP_ARCHIVE",
        }
    }
}

/// The solution's parameters that change what a workflow does, under their own meaning (the stack
/// records them as `WorkflowTrigger`, `FrameCapture`, `EnableMediaPackage`, `EnableSns`, `EnableSqs`
/// and `Glacier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackParameters {
    pub workflow_trigger: WorkflowTrigger,
    pub frame_capture: bool,
    pub enable_media_package: bool,
    pub enable_sns: bool,
    pub enable_sqs: bool,
    pub glacier: Glacier,
}

impl StackParameters {
    /// The defaults of the solution's template (`source/cdk/lib/vod-stack.ts`): VideoFile,
    /// FrameCapture No, EnableMediaPackage No, EnableSns Yes, EnableSqs Yes, Glacier DISABLED.
    pub fn solution_defaults() -> Self {
        Self {
            workflow_trigger: WorkflowTrigger::VideoFile,
            frame_capture: false,
            enable_media_package: false,
            enable_sns: true,
            enable_sqs: true,
            glacier: Glacier::Disabled,
        }
    }

    /// The local stack's defaults: the solution's, except FrameCapture Yes, so a demo's jobs have
    /// thumbnails.
    pub fn local_defaults() -> Self {
        Self {
            frame_capture: true,
            ..Self::solution_defaults()
        }
    }
}

impl Default for StackParameters {
    fn default() -> Self {
        Self::local_defaults()
    }
}

/// What the emulated deployment looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VodStackSpec {
    pub name: String,
    pub generation: Generation,
    /// The release written at the end of the Description.
    pub version: String,
    /// What the stack records as its parameters.
    pub parameters: StackParameters,
    /// `CloudFrontDomainName`: a real stack's distribution, or the local stack's `host:port`.
    pub cloudfront_domain: String,
}

impl VodStackSpec {
    /// A v6.1.13 deployment with the solution's default parameters.
    pub fn v6(name: &str, cloudfront_domain: &str) -> Self {
        Self {
            name: name.to_owned(),
            generation: Generation::V6,
            version: "v6.1.13".into(),
            parameters: StackParameters::solution_defaults(),
            cloudfront_domain: cloudfront_domain.to_owned(),
        }
    }

    /// This deployment with `parameters` instead of its own.
    pub fn with_parameters(self, parameters: &StackParameters) -> Self {
        Self {
            parameters: *parameters,
            ..self
        }
    }

    /// A v5.3.1 deployment (v5 output keys; `SnsTopic` is an ARN; `SqsARN` has no export).
    pub fn v5(name: &str, cloudfront_domain: &str) -> Self {
        Self {
            generation: Generation::V5,
            version: "v5.3.1".into(),
            ..Self::v6(name, cloudfront_domain)
        }
    }
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "Yes" } else { "No" }
}

/// Random lower-case alphanumerics, like the suffixes CloudFormation appends to physical names.
fn random_suffix(len: usize) -> String {
    uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(len)
        .collect()
}

/// A bucket name `<stack lower-case>-<part>-<random>`, shortened to S3's 63 characters as CloudFormation does.
fn bucket_name(stack: &str, part: &str) -> String {
    let tail = format!("-{part}-{}", random_suffix(12));
    let room = 63usize.saturating_sub(tail.len());
    let head: String = stack.to_lowercase().chars().take(room).collect();
    format!("{head}{tail}")
}

/// The template for `spec`, as CloudFormation JSON.
pub fn template(spec: &VodStackSpec) -> Value {
    let stack = spec.name.as_str();
    let (source_id, destination_id, topic_id, source_part, destination_part) = match spec.generation
    {
        Generation::V6 => (
            "Source71E471F1",
            "Destination920A3C57",
            "SnsTopic2C1570A4",
            "source71e471f1",
            "destination920a3c57",
        ),
        Generation::V5 => ("Source", "Destination", "SnsTopic", "source", "destination"),
    };
    let description = match spec.generation {
        Generation::V6 => format!(
            "(SO0021) - Video on Demand on AWS workflow with AWS Step Functions, MediaConvert, MediaPackage, S3, CloudFront and DynamoDB. Version {}",
            spec.version
        ),
        Generation::V5 => format!(
            "(SO0021) - Video On Demand workflow with AWS Step Functions, MediaConvert, MediaPackage, S3, CloudFront and DynamoDB. Version {}",
            spec.version
        ),
    };
    let topic_name = format!("{stack}-{topic_id}-{}", random_suffix(12).to_uppercase());
    let export = |suffix: &str| json!({ "Name": format!("{stack}:{suffix}") });
    let output = |value: Value, description: &str, export_suffix: Option<&str>| {
        let mut out = json!({ "Value": value, "Description": description });
        if let (Some(suffix), Some(obj)) = (export_suffix, out.as_object_mut()) {
            obj.insert("Export".into(), export(suffix));
        }
        out
    };
    let outputs = match spec.generation {
        Generation::V6 => json!({
            "DynamoDBTableName": output(json!({"Ref": "DynamoDBTable"}), "DynamoDB Table", Some("DynamoDBTable")),
            "SourceBucketName": output(json!({"Ref": source_id}), "Source Bucket", Some("Source")),
            "DestinationBucketName": output(json!({"Ref": destination_id}), "Destination Bucket", Some("Destination")),
            "CloudFrontDomainName": output(json!(spec.cloudfront_domain), "CloudFront Domain Name", Some("CloudFront")),
            "AnonymizedMetricUUID": output(json!(uuid::Uuid::new_v4().to_string()), "AnonymizedMetric UUID", Some("UUID")),
            "SnsTopicName": output(json!({"Fn::GetAtt": [topic_id, "TopicName"]}), "SNS Topic", Some("SnsTopic")),
            "SqsUrl": output(json!({"Ref": "SqsQueue"}), "SQS Queue URL", Some("SqsQueue")),
            "SqsArn": output(json!({"Fn::GetAtt": ["SqsQueue", "Arn"]}), "SQS Queue ARN", Some("SqsQueueArn")),
        }),
        Generation::V5 => json!({
            "DynamoDBTable": output(json!({"Ref": "DynamoDBTable"}), "DynamoDB Table", Some("DynamoDBTable")),
            "Source": output(json!({"Ref": source_id}), "Source Bucket", Some("Source")),
            "Destination": output(json!({"Ref": destination_id}), "Destination Bucket", Some("Destination")),
            "CloudFront": output(json!(spec.cloudfront_domain), "CloudFront Domain Name", Some("CloudFront")),
            "UUID": output(json!(uuid::Uuid::new_v4().to_string()), "AnonymousMetric UUID", Some("UUID")),
            "SnsTopic": output(json!({"Ref": topic_id}), "SNS Notification Topic", Some("SnsTopic")),
            "SqsURL": output(json!({"Ref": "SqsQueue"}), "AmazonSQS Queue URL", Some("SqsQueue")),
            "SqsARN": output(json!({"Fn::GetAtt": ["SqsQueue", "Arn"]}), "AmazonSQS Queue ARN", None),
        }),
    };
    let yes_no_param = |default: bool| json!({"Type": "String", "Default": yes_no(default), "AllowedValues": ["Yes", "No"]});
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Parameters": {
            "AdminEmail": {"Type": "String", "Default": "video-ops@example.com"},
            "WorkflowTrigger": {"Type": "String", "Default": "VideoFile", "AllowedValues": ["VideoFile", "MetadataFile"]},
            "Glacier": {"Type": "String", "Default": "DISABLED", "AllowedValues": ["DISABLED", "GLACIER", "DEEP_ARCHIVE"]},
            "FrameCapture": yes_no_param(false),
            "EnableMediaPackage": yes_no_param(false),
            "EnableSns": yes_no_param(true),
            "EnableSqs": yes_no_param(true),
            "AcceleratedTranscoding": {"Type": "String", "Default": "PREFERRED", "AllowedValues": ["ENABLED", "DISABLED", "PREFERRED"]}
        },
        "Resources": {
            source_id: {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": bucket_name(stack, source_part)}},
            destination_id: {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": bucket_name(stack, destination_part)}},
            "DynamoDBTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": stack,
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [
                        {"AttributeName": "guid", "AttributeType": "S"},
                        {"AttributeName": "srcBucket", "AttributeType": "S"},
                        {"AttributeName": "startTime", "AttributeType": "S"}
                    ],
                    "KeySchema": [{"AttributeName": "guid", "KeyType": "HASH"}],
                    "GlobalSecondaryIndexes": [{
                        "IndexName": "srcBucket-startTime-index",
                        "KeySchema": [
                            {"AttributeName": "srcBucket", "KeyType": "HASH"},
                            {"AttributeName": "startTime", "KeyType": "RANGE"}
                        ],
                        "Projection": {"ProjectionType": "ALL"}
                    }]
                }
            },
            topic_id: {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": topic_name}},
            "SqsDlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": format!("{stack}-dlq")}},
            "SqsQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": stack,
                    "VisibilityTimeout": 120,
                    "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["SqsDlq", "Arn"]}, "maxReceiveCount": 1}
                }
            }
        },
        "Outputs": outputs
    })
}

/// The parameter values a stack of `spec` is created with: every one that changes a workflow, so
/// DescribeStacks lists them as it does for a real deployment.
fn parameters(spec: &VodStackSpec) -> Vec<Parameter> {
    let trigger = match spec.parameters.workflow_trigger {
        WorkflowTrigger::VideoFile => "VideoFile",
        WorkflowTrigger::MetadataFile => "MetadataFile",
    };
    [
        ("WorkflowTrigger", trigger),
        ("FrameCapture", yes_no(spec.parameters.frame_capture)),
        (
            "EnableMediaPackage",
            yes_no(spec.parameters.enable_media_package),
        ),
        ("EnableSns", yes_no(spec.parameters.enable_sns)),
        ("EnableSqs", yes_no(spec.parameters.enable_sqs)),
        ("Glacier", spec.parameters.glacier.as_str()),
        ("AcceleratedTranscoding", "PREFERRED"),
    ]
    .into_iter()
    .map(|(key, value)| {
        Parameter::builder()
            .parameter_key(key)
            .parameter_value(value)
            .build()
    })
    .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("could not create stack \"{stack}\": {message}")]
    Create { stack: String, message: String },
    #[error("stack \"{stack}\" ended in {status}: {reason}")]
    Failed {
        stack: String,
        status: String,
        reason: String,
    },
    #[error("stack \"{stack}\" was still {status} after {seconds} s")]
    Timeout {
        stack: String,
        status: String,
        seconds: u64,
    },
}

/// Creates the stack through CloudFormation and waits until it is complete. Returns its StackId.
pub async fn create_vod_stack(
    cloudformation: &aws_sdk_cloudformation::Client,
    spec: &VodStackSpec,
) -> Result<String, ProvisionError> {
    let create_error = |message: String| ProvisionError::Create {
        stack: spec.name.clone(),
        message,
    };
    let body = serde_json::to_string(&template(spec)).map_err(|e| create_error(e.to_string()))?;
    let created = cloudformation
        .create_stack()
        .stack_name(&spec.name)
        .template_body(body)
        .set_parameters(Some(parameters(spec)))
        .send()
        .await
        .map_err(|e| create_error(sdk_error::describe(&e)))?;
    let stack_id = created.stack_id().unwrap_or(&spec.name).to_owned();
    const WAIT: Duration = Duration::from_secs(120);
    let started = std::time::Instant::now();
    loop {
        let described = cloudformation
            .describe_stacks()
            .stack_name(&stack_id)
            .send()
            .await
            .map_err(|e| create_error(sdk_error::describe(&e)))?;
        let stack = described.stacks().first();
        let status = stack.and_then(|s| s.stack_status()).cloned();
        match status {
            Some(StackStatus::CreateComplete) => return Ok(stack_id),
            Some(StackStatus::CreateInProgress) | None if started.elapsed() < WAIT => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Some(StackStatus::CreateInProgress) | None => {
                return Err(ProvisionError::Timeout {
                    stack: spec.name.clone(),
                    status: "CREATE_IN_PROGRESS".into(),
                    seconds: WAIT.as_secs(),
                });
            }
            Some(other) => {
                return Err(ProvisionError::Failed {
                    stack: spec.name.clone(),
                    status: other.as_str().to_owned(),
                    reason: stack
                        .and_then(|s| s.stack_status_reason())
                        .unwrap_or("no reason given")
                        .to_owned(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(spec: &VodStackSpec) -> Vec<(String, String)> {
        parameters(spec)
            .iter()
            .map(|p| {
                (
                    p.parameter_key().unwrap_or_default().to_owned(),
                    p.parameter_value().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn the_stack_records_every_parameter_under_the_solutions_names() {
        let spec = VodStackSpec::v6("vod-local", "127.0.0.1:1").with_parameters(&StackParameters {
            frame_capture: false,
            enable_sns: false,
            enable_sqs: false,
            ..StackParameters::local_defaults()
        });
        assert_eq!(
            recorded(&spec),
            [
                ("WorkflowTrigger", "VideoFile"),
                ("FrameCapture", "No"),
                ("EnableMediaPackage", "No"),
                ("EnableSns", "No"),
                ("EnableSqs", "No"),
                ("Glacier", "DISABLED"),
                ("AcceleratedTranscoding", "PREFERRED"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        // The template's own defaults are the solution's; the local stack only turns FrameCapture on.
        let template = template(&spec);
        assert_eq!(template["Parameters"]["FrameCapture"]["Default"], "No");
        assert_eq!(template["Parameters"]["EnableSqs"]["Default"], "Yes");
        assert_eq!(
            StackParameters::local_defaults(),
            StackParameters {
                frame_capture: true,
                ..StackParameters::solution_defaults()
            }
        );
    }
}
