//! The least-privilege IAM policy vodesk needs on one deployment, with the stack's real ARNs: which
//! IAM action each SDK operation vodesk calls needs ([`iam_action`], the one table of it), and the
//! policy document for a user's role ([`policy`]): uploads into the source bucket under the key
//! prefix only, the table and its index read, the stack described, the destination bucket read (the
//! thumbnails' fallback), and for the live monitor the topic's subscriptions and SQS queues named
//! `vodesk-*` only (contract §9). A viewer (`read_only`) gets no upload and no queue: polling mode.
//! `vodesk retry` and `vodesk delete` get their rights only when asked for (`allow_retry`,
//! `allow_delete`, `allow_delete_source`).

use serde_json::{Value, json};

use crate::aws::discovery::VodResources;
use crate::aws::monitor::queue::NAME_PREFIX;

/// What the policy is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOptions {
    /// A viewer: reads the catalogue, no uploads, no queue.
    pub read_only: bool,
    /// The live monitor's own queue (else the table is polled).
    pub monitor: bool,
    /// Uploads go under this prefix of the source bucket (the key template's fixed start).
    pub key_prefix: String,
    /// `vodesk retry` of any job: read and rewrite a source (or metadata file) anywhere in the
    /// source bucket. Sources under `key_prefix` need nothing more than the upload's statement.
    pub allow_retry: bool,
    /// `vodesk delete`: list and delete a job's outputs in the destination bucket, delete its item.
    pub allow_delete: bool,
    /// `vodesk delete --source`: delete source videos (and metadata files) under `key_prefix` too.
    pub allow_delete_source: bool,
}

/// Why no policy could be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error(
        "the topic ARN \"{0}\" does not say the partition, region and account the policy's ARNs need; pass the real topic with --topic-arn"
    )]
    TopicArn(String),
    #[error(
        "the key prefix \"{0}\" cannot be written into a policy (it holds `*`, `?` or `$`, which IAM would read as wildcards or variables)"
    )]
    KeyPrefix(String),
}

/// The IAM action that authorizes an SDK operation (service and operation as the SDK names them in
/// its metadata), or `None` for an operation vodesk does not call.
pub fn iam_action(service: &str, operation: &str) -> Option<&'static str> {
    let action = match (service, operation) {
        // Every part, the Complete and the single PUT are authorized as PutObject.
        (
            "S3",
            "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" | "PutObject",
        ) => "s3:PutObject",
        // A retry's copy of the source onto itself (it reads the source with GetObject's right too).
        ("S3", "CopyObject") => "s3:PutObject",
        ("S3", "AbortMultipartUpload") => "s3:AbortMultipartUpload",
        ("S3", "ListObjectsV2") => "s3:ListBucket",
        ("S3", "DeleteObject" | "DeleteObjects") => "s3:DeleteObject",
        ("S3", "ListParts") => "s3:ListMultipartUploadParts",
        ("S3", "HeadObject" | "GetObject") => "s3:GetObject",
        ("DynamoDB", "GetItem") => "dynamodb:GetItem",
        ("DynamoDB", "Query") => "dynamodb:Query",
        ("DynamoDB", "Scan") => "dynamodb:Scan",
        ("DynamoDB", "DeleteItem") => "dynamodb:DeleteItem",
        ("SNS", "Subscribe") => "sns:Subscribe",
        ("SNS", "Unsubscribe") => "sns:Unsubscribe",
        ("SNS", "ListSubscriptionsByTopic") => "sns:ListSubscriptionsByTopic",
        ("SQS", "CreateQueue") => "sqs:CreateQueue",
        ("SQS", "GetQueueAttributes") => "sqs:GetQueueAttributes",
        ("SQS", "SetQueueAttributes") => "sqs:SetQueueAttributes",
        ("SQS", "TagQueue") => "sqs:TagQueue",
        ("SQS", "ListQueues") => "sqs:ListQueues",
        ("SQS", "ListQueueTags") => "sqs:ListQueueTags",
        ("SQS", "ReceiveMessage") => "sqs:ReceiveMessage",
        ("SQS", "DeleteMessage" | "DeleteMessageBatch") => "sqs:DeleteMessage",
        ("SQS", "DeleteQueue") => "sqs:DeleteQueue",
        ("CloudFormation", "DescribeStacks") => "cloudformation:DescribeStacks",
        ("CloudFormation", "ListStackResources") => "cloudformation:ListStackResources",
        _ => return None,
    };
    Some(action)
}

/// Where the deployment lives, read from its topic's ARN (`arn:PARTITION:sns:REGION:ACCOUNT:NAME`).
struct Account<'a> {
    partition: &'a str,
    region: &'a str,
    account: &'a str,
}

impl<'a> Account<'a> {
    fn of_topic(topic_arn: &'a str) -> Result<Self, PolicyError> {
        let parts: Vec<&str> = topic_arn.split(':').collect();
        match parts.as_slice() {
            ["arn", partition, "sns", region, account, _name]
                if !partition.is_empty()
                    && !region.is_empty()
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Ok(Self {
                    partition,
                    region,
                    account,
                })
            }
            _ => Err(PolicyError::TopicArn(topic_arn.to_owned())),
        }
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition, self.region, self.account
        )
    }
}

/// The policy document (IAM JSON, version 2012-10-17) for `resources`.
pub fn policy(resources: &VodResources, options: &PolicyOptions) -> Result<Value, PolicyError> {
    let account = Account::of_topic(&resources.topic_arn)?;
    if options.key_prefix.contains(['*', '?', '$']) {
        return Err(PolicyError::KeyPrefix(options.key_prefix.clone()));
    }
    let s3 = |bucket: &str, keys: &str| format!("arn:{}:s3:::{bucket}/{keys}", account.partition);
    let mut statements = Vec::new();
    let stack = resources
        .stack_name
        .as_deref()
        .map_or_else(|| "*".to_owned(), |name| format!("stack/{name}/*"));
    statements.push(json!({
        "Sid": "FindTheDeployment",
        "Effect": "Allow",
        "Action": ["cloudformation:DescribeStacks", "cloudformation:ListStackResources"],
        "Resource": [account.arn("cloudformation", &stack)],
    }));
    let table = account.arn("dynamodb", &format!("table/{}", resources.table));
    statements.push(json!({
        "Sid": "ReadTheJobs",
        "Effect": "Allow",
        // Scan only when the table lacks its index (older deployments); GetItem for one job.
        "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
        "Resource": [table.clone(), format!("{table}/index/*")],
    }));
    if let Some(destination) = &resources.destination_bucket {
        statements.push(json!({
            "Sid": "ReadThumbnailsWhenCloudFrontRefuses",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [s3(destination, "*")],
        }));
    }
    if !options.read_only {
        statements.push(json!({
            "Sid": "UploadIntoTheSourceBucket",
            "Effect": "Allow",
            // GetObject: the read-back check after an upload (optional: without it, uploads are
            // "not verified").
            "Action": [
                "s3:PutObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
                "s3:GetObject",
            ],
            "Resource": [s3(&resources.source_bucket, &format!("{}*", options.key_prefix))],
        }));
    }
    if !options.read_only {
        statements.extend(operation_statements(resources, options, &account));
    }
    if options.monitor && !options.read_only {
        statements.push(json!({
            "Sid": "SubscribeOwnQueueToTheTopic",
            "Effect": "Allow",
            "Action": ["sns:Subscribe", "sns:Unsubscribe", "sns:ListSubscriptionsByTopic"],
            "Resource": [resources.topic_arn.clone()],
        }));
        statements.push(json!({
            "Sid": "OwnQueuesOnly",
            "Effect": "Allow",
            "Action": [
                "sqs:CreateQueue",
                "sqs:TagQueue",
                "sqs:SetQueueAttributes",
                "sqs:GetQueueAttributes",
                "sqs:ListQueueTags",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:DeleteQueue",
            ],
            "Resource": [account.arn("sqs", &format!("{NAME_PREFIX}*"))],
        }));
        statements.push(json!({
            "Sid": "FindAbandonedOwnQueues",
            "Effect": "Allow",
            // ListQueues takes no resource; vodesk lists with the `vodesk-` prefix only.
            "Action": ["sqs:ListQueues"],
            "Resource": ["*"],
        }));
    }
    Ok(json!({ "Version": "2012-10-17", "Statement": statements }))
}

/// The statements of `vodesk retry` and `vodesk delete`, each only when asked for.
fn operation_statements(
    resources: &VodResources,
    options: &PolicyOptions,
    account: &Account<'_>,
) -> Vec<Value> {
    let bucket = |name: &str| format!("arn:{}:s3:::{name}", account.partition);
    let mut statements = Vec::new();
    if options.allow_retry {
        statements.push(json!({
            "Sid": "RunJobsAgain",
            "Effect": "Allow",
            // CopyObject of a source onto itself, or a metadata file written again: wherever the
            // job's source is in the bucket (uploads by others need not be under the key prefix).
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [format!("{}/*", bucket(&resources.source_bucket))],
        }));
    }
    if options.allow_delete || options.allow_delete_source {
        if let Some(destination) = &resources.destination_bucket {
            statements.push(json!({
                "Sid": "ListJobOutputs",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [bucket(destination)],
            }));
            statements.push(json!({
                "Sid": "DeleteJobOutputs",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject"],
                "Resource": [format!("{}/*", bucket(destination))],
            }));
        }
        statements.push(json!({
            "Sid": "DeleteJobItems",
            "Effect": "Allow",
            "Action": ["dynamodb:DeleteItem"],
            "Resource": [account.arn("dynamodb", &format!("table/{}", resources.table))],
        }));
    }
    if options.allow_delete_source {
        statements.push(json!({
            "Sid": "DeleteJobSources",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject"],
            "Resource": [format!(
                "{}/{}*",
                bucket(&resources.source_bucket),
                options.key_prefix
            )],
        }));
    }
    statements
}

/// Every action the policy grants, each with its resources.
pub fn granted(policy: &Value) -> Vec<(String, Vec<String>)> {
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut granted = Vec::new();
    for statement in policy["Statement"].as_array().into_iter().flatten() {
        let resources = strings(&statement["Resource"]);
        for action in strings(&statement["Action"]) {
            granted.push((action, resources.clone()));
        }
    }
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> PolicyOptions {
        PolicyOptions {
            read_only: false,
            monitor: true,
            key_prefix: "uploads/".into(),
            allow_retry: false,
            allow_delete: false,
            allow_delete_source: false,
        }
    }

    fn resources() -> VodResources {
        let mut resources = VodResources::sample("vod");
        resources.topic_arn = "arn:aws:sns:eu-west-1:123456789012:vod-Notifications".into();
        resources
    }

    #[test]
    fn the_policy_names_the_stacks_own_resources() {
        let policy = policy(&resources(), &options()).unwrap();
        let text = policy.to_string();
        let resources = resources();
        assert!(text.contains(&format!(
            "arn:aws:s3:::{}/uploads/*",
            resources.source_bucket
        )));
        assert!(text.contains(&format!(
            "arn:aws:dynamodb:eu-west-1:123456789012:table/{}/index/*",
            resources.table
        )));
        assert!(text.contains("arn:aws:sqs:eu-west-1:123456789012:vodesk-*"));
        assert!(!text.contains("\"s3:*\"") && !text.contains("\"sqs:*\""));
    }

    #[test]
    fn a_viewer_gets_no_upload_and_no_queue() {
        let viewer = PolicyOptions {
            read_only: true,
            ..options()
        };
        let actions: Vec<String> = granted(&policy(&resources(), &viewer).unwrap())
            .into_iter()
            .map(|(action, _)| action)
            .collect();
        assert!(
            actions
                .iter()
                .all(|a| !a.starts_with("sqs:") && !a.starts_with("sns:"))
        );
        assert!(!actions.contains(&"s3:PutObject".to_owned()));
        assert!(actions.contains(&"dynamodb:Query".to_owned()));
    }

    #[test]
    fn unusable_arns_and_prefixes_are_refused() {
        let mut bad = resources();
        bad.topic_arn = "vod-Notifications".into();
        assert!(matches!(
            policy(&bad, &options()),
            Err(PolicyError::TopicArn(_))
        ));
        let wild = PolicyOptions {
            key_prefix: "up*".into(),
            ..options()
        };
        assert!(matches!(
            policy(&resources(), &wild),
            Err(PolicyError::KeyPrefix(_))
        ));
    }

    #[test]
    fn retry_and_delete_rights_come_only_when_asked_for() {
        let mut stack = resources();
        stack.destination_bucket = Some("vod-destination".into());
        let source = stack.source_bucket.clone();
        let actions = |options: &PolicyOptions| granted(&policy(&stack, options).unwrap());
        let has = |granted: &[(String, Vec<String>)], action: &str, resource: &str| {
            granted
                .iter()
                .any(|(a, r)| a == action && r.iter().any(|r| r == resource))
        };
        let plain = actions(&options());
        assert!(
            plain
                .iter()
                .all(|(a, _)| a != "s3:DeleteObject" && a != "dynamodb:DeleteItem")
        );
        let delete = actions(&PolicyOptions {
            allow_delete: true,
            ..options()
        });
        assert!(has(
            &delete,
            "s3:DeleteObject",
            "arn:aws:s3:::vod-destination/*"
        ));
        assert!(has(
            &delete,
            "s3:ListBucket",
            "arn:aws:s3:::vod-destination"
        ));
        assert!(delete.iter().any(|(a, _)| a == "dynamodb:DeleteItem"));
        // Deleting outputs never grants a delete in the source bucket.
        assert!(!delete.iter().any(|(a, r)| a == "s3:DeleteObject"
            && r.iter().any(|r| r.contains(&format!(":::{source}/")))));
        let with_source = actions(&PolicyOptions {
            allow_delete_source: true,
            ..options()
        });
        let uploads = format!("arn:aws:s3:::{source}/uploads/*");
        assert!(has(&with_source, "s3:DeleteObject", &uploads));
        let retry = actions(&PolicyOptions {
            allow_retry: true,
            ..options()
        });
        assert!(has(
            &retry,
            "s3:PutObject",
            &format!("arn:aws:s3:::{source}/*")
        ));
        let viewer = actions(&PolicyOptions {
            read_only: true,
            allow_delete: true,
            allow_retry: true,
            ..options()
        });
        assert!(
            viewer
                .iter()
                .all(|(a, _)| a != "s3:DeleteObject" && a != "s3:PutObject")
        );
    }

    #[test]
    fn every_operation_maps_to_one_action_of_its_service() {
        assert_eq!(iam_action("S3", "UploadPart"), Some("s3:PutObject"));
        assert_eq!(
            iam_action("SQS", "DeleteMessageBatch"),
            Some("sqs:DeleteMessage")
        );
        assert_eq!(iam_action("S3", "DeleteObjects"), Some("s3:DeleteObject"));
        assert_eq!(iam_action("S3", "PutBucketPolicy"), None);
    }
}
