//! Stack discovery: from a stack name (and/or the user's explicit overrides) to the resources vodesk
//! works with: source bucket, table, topic ARN, CloudFront domain. Reads the stack's outputs (v6 and v5
//! keys), resolves the topic name to its ARN through the stack's own resources, and says which value is
//! missing and which flag supplies it. Also finds the solution's deployments in a region.

use aws_sdk_cloudformation::types::Stack;
use serde::Serialize;

use crate::aws::connection::AwsClients;
use crate::aws::sdk_error::{self, Failure};
use crate::contract::stack::{
    Generation, SolutionOutputs, SolutionParameters, StackOutput, TopicRef, WorkflowTrigger,
    is_solution_description, solution_version, topic_arn_from_stack_id,
};

/// Values the user gave by hand; each one wins over what the stack says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackOverrides {
    pub source_bucket: Option<String>,
    pub table: Option<String>,
    pub topic_arn: Option<String>,
    pub cloudfront_domain: Option<String>,
}

/// Where a discovered value came from, so `vodesk stack` can show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    StackOutput,
    StackResource,
    StackId,
    Override,
}

/// The resources of one deployment, as vodesk uses them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VodResources {
    pub stack_name: Option<String>,
    pub stack_id: Option<String>,
    pub stack_status: Option<String>,
    pub solution_version: Option<String>,
    pub generation: Option<Generation>,
    pub region: String,
    pub source_bucket: String,
    pub destination_bucket: Option<String>,
    pub table: String,
    pub topic_arn: String,
    pub topic_arn_from: Origin,
    pub cloudfront_domain: Option<String>,
    pub workflow_trigger: Option<WorkflowTrigger>,
    pub enable_sns: Option<bool>,
    pub frame_capture: Option<bool>,
    pub enable_media_package: Option<bool>,
    /// EnableSqs: whether the stack sends each record to its own queue.
    pub enable_sqs: Option<bool>,
    /// Glacier: where the source is archived after the workflow (`DISABLED`, `GLACIER`, `DEEP_ARCHIVE`).
    pub glacier: Option<String>,
    /// The stack's own queue: shown for information, never consumed (contract §9).
    pub stack_queue_url: Option<String>,
    pub overridden: Vec<&'static str>,
}

/// A required value, the output keys that carry it, and the flag that supplies it by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub what: &'static str,
    pub output_keys: &'static str,
    pub flag: &'static str,
}

pub const SOURCE_BUCKET: Requirement = Requirement {
    what: "source bucket",
    output_keys: "SourceBucketName (v6) or Source (v5)",
    flag: "--source-bucket",
};
pub const TABLE: Requirement = Requirement {
    what: "DynamoDB table",
    output_keys: "DynamoDBTableName (v6) or DynamoDBTable (v5)",
    flag: "--table",
};
pub const TOPIC: Requirement = Requirement {
    what: "SNS topic ARN",
    output_keys: "SnsTopicName (v6) or SnsTopic (v5.1+)",
    flag: "--topic-arn",
};

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error(
        "no stack given: pass --stack NAME (or set VODESK_STACK), or give {missing} by hand; `vodesk stacks` lists the deployments in the region"
    )]
    NoStack { missing: String },
    #[error(
        "stack \"{stack}\" was not found in region {region}: check the name and the region (--region), or run `vodesk stacks` to list the deployments there"
    )]
    StackNotFound { stack: String, region: String },
    #[error(
        "stack \"{stack}\" does not give its {}: it has no {} output{}. Pass {} to name it by hand",
        .missing.what, .missing.output_keys, .hint, .missing.flag
    )]
    MissingValue {
        stack: String,
        missing: Requirement,
        hint: String,
    },
    #[error("could not {action} stack \"{stack}\": {message}")]
    Aws {
        action: &'static str,
        stack: String,
        message: String,
        /// What kind of failure the SDK's error was, read where it was seen.
        failure: Failure,
    },
    #[error("could not list the stacks in region {region}: {message}")]
    ListStacks {
        region: String,
        message: String,
        failure: Failure,
    },
}

impl DiscoveryError {
    /// What kind of failure this is: an AWS request's own, else a permanent one (a missing or
    /// wrong name, a value the stack does not give: retrying will not help).
    pub fn failure(&self) -> Failure {
        match self {
            DiscoveryError::Aws { failure, .. } | DiscoveryError::ListStacks { failure, .. } => {
                *failure
            }
            DiscoveryError::NoStack { .. }
            | DiscoveryError::StackNotFound { .. }
            | DiscoveryError::MissingValue { .. } => Failure::Permanent,
        }
    }
}

/// Discovers the deployment's resources: `stack` through CloudFormation, then `overrides` on top.
/// Without a stack, the overrides alone must name the source bucket, the table and the topic ARN.
pub async fn discover(
    clients: &AwsClients,
    stack: Option<&str>,
    overrides: &StackOverrides,
) -> Result<VodResources, DiscoveryError> {
    let stack = stack.map(str::trim).filter(|s| !s.is_empty());
    let Some(stack_name) = stack else {
        return from_overrides_only(clients, overrides);
    };
    let described = describe_stack(clients, stack_name).await?;
    let outputs = SolutionOutputs::from_outputs(&stack_outputs(&described));
    let parameters = SolutionParameters::from_pairs(
        described
            .parameters()
            .iter()
            .filter_map(|p| Some((p.parameter_key()?, p.parameter_value()?))),
    );
    let stack_id = described.stack_id().map(str::to_owned);
    let missing = |requirement: Requirement, hint: &str| DiscoveryError::MissingValue {
        stack: stack_name.to_owned(),
        missing: requirement,
        hint: hint.to_owned(),
    };

    let mut overridden = Vec::new();
    let mut pick = |name: &'static str, manual: &Option<String>, found: Option<String>| match manual
    {
        Some(value) => {
            overridden.push(name);
            Some(value.clone())
        }
        None => found,
    };
    let source_bucket = pick(
        "source_bucket",
        &overrides.source_bucket,
        outputs.source_bucket.clone(),
    );
    let table = pick("table", &overrides.table, outputs.table.clone());
    let cloudfront_domain = pick(
        "cloudfront_domain",
        &overrides.cloudfront_domain,
        outputs.cloudfront_domain.clone(),
    );

    let source_bucket = source_bucket.ok_or_else(|| missing(SOURCE_BUCKET, ""))?;
    let table = table.ok_or_else(|| missing(TABLE, ""))?;
    let (topic_arn, topic_arn_from) = match &overrides.topic_arn {
        Some(arn) => {
            overridden.push("topic_arn");
            (arn.clone(), Origin::Override)
        }
        None => match &outputs.topic {
            Some(TopicRef::Arn(arn)) => (arn.clone(), Origin::StackOutput),
            Some(TopicRef::Name(name)) => {
                resolve_topic_arn(clients, stack_name, stack_id.as_deref(), name)
                    .await
                    .ok_or_else(|| {
                        missing(
                            TOPIC,
                            &format!(
                                " (it names topic \"{name}\", but neither the stack's resources nor its id give the ARN)"
                            ),
                        )
                    })?
            }
            None => {
                let hint = if outputs.generation == Some(Generation::V5) {
                    " (releases before v5.1.0 have no topic output)"
                } else {
                    ""
                };
                return Err(missing(TOPIC, hint));
            }
        },
    };

    Ok(VodResources {
        stack_name: Some(described.stack_name().unwrap_or(stack_name).to_owned()),
        stack_id,
        stack_status: described.stack_status().map(|s| s.as_str().to_owned()),
        solution_version: described.description().and_then(solution_version),
        generation: outputs.generation,
        region: clients.region.clone(),
        source_bucket,
        destination_bucket: outputs.destination_bucket,
        table,
        topic_arn,
        topic_arn_from,
        cloudfront_domain,
        workflow_trigger: parameters.workflow_trigger,
        enable_sns: parameters.enable_sns,
        frame_capture: parameters.frame_capture,
        enable_media_package: parameters.enable_media_package,
        enable_sqs: parameters.enable_sqs,
        glacier: parameters.glacier,
        stack_queue_url: outputs.stack_queue_url,
        overridden,
    })
}

fn from_overrides_only(
    clients: &AwsClients,
    overrides: &StackOverrides,
) -> Result<VodResources, DiscoveryError> {
    let wanted = [
        (SOURCE_BUCKET, &overrides.source_bucket),
        (TABLE, &overrides.table),
        (TOPIC, &overrides.topic_arn),
    ];
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(_, value)| value.is_none())
        .map(|(req, _)| format!("{} ({})", req.flag, req.what))
        .collect();
    let (Some(source_bucket), Some(table), Some(topic_arn)) = (
        &overrides.source_bucket,
        &overrides.table,
        &overrides.topic_arn,
    ) else {
        return Err(DiscoveryError::NoStack {
            missing: missing.join(", "),
        });
    };
    let mut overridden = vec!["source_bucket", "table", "topic_arn"];
    if overrides.cloudfront_domain.is_some() {
        overridden.push("cloudfront_domain");
    }
    Ok(VodResources {
        stack_name: None,
        stack_id: None,
        stack_status: None,
        solution_version: None,
        generation: None,
        region: clients.region.clone(),
        source_bucket: source_bucket.clone(),
        destination_bucket: None,
        table: table.clone(),
        topic_arn: topic_arn.clone(),
        topic_arn_from: Origin::Override,
        cloudfront_domain: overrides.cloudfront_domain.clone(),
        workflow_trigger: None,
        enable_sns: None,
        frame_capture: None,
        enable_media_package: None,
        enable_sqs: None,
        glacier: None,
        stack_queue_url: None,
        overridden,
    })
}

async fn describe_stack(clients: &AwsClients, stack: &str) -> Result<Stack, DiscoveryError> {
    let result = clients
        .cloudformation
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await;
    let not_found = || DiscoveryError::StackNotFound {
        stack: stack.to_owned(),
        region: clients.region.clone(),
    };
    match result {
        Ok(out) => out.stacks().first().cloned().ok_or_else(not_found),
        Err(err) => {
            let message = sdk_error::describe(&err);
            // CloudFormation answers a missing stack with a generic ValidationError "... does not
            // exist". The SDK gives nothing typed for it (the same code answers a malformed name),
            // so only the service's message tells them apart.
            if err.as_service_error().is_some() && message.contains("does not exist") {
                Err(not_found())
            } else {
                Err(DiscoveryError::Aws {
                    action: "read",
                    stack: stack.to_owned(),
                    message,
                    failure: sdk_error::failure(&err),
                })
            }
        }
    }
}

fn stack_outputs(stack: &Stack) -> Vec<StackOutput> {
    stack
        .outputs()
        .iter()
        .filter_map(|o| {
            Some(StackOutput {
                key: o.output_key()?.to_owned(),
                value: o.output_value()?.to_owned(),
                export_name: o.export_name().map(str::to_owned),
            })
        })
        .collect()
}

/// The topic's ARN: the stack's `AWS::SNS::Topic` resource, else built from the stack id (contract §2).
async fn resolve_topic_arn(
    clients: &AwsClients,
    stack: &str,
    stack_id: Option<&str>,
    topic_name: &str,
) -> Option<(String, Origin)> {
    let mut pages = clients
        .cloudformation
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .send();
    let mut from_resources = None;
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                let topics: Vec<&str> = page
                    .stack_resource_summaries()
                    .iter()
                    .filter(|r| r.resource_type() == Some("AWS::SNS::Topic"))
                    .filter_map(|r| r.physical_resource_id())
                    .filter(|arn| arn.starts_with("arn:"))
                    .collect();
                // With several topics (a customised template), prefer the one the output names.
                let chosen = topics
                    .iter()
                    .find(|arn| arn.rsplit(':').next() == Some(topic_name))
                    .or(topics.first());
                if let Some(arn) = chosen {
                    from_resources = Some(arn.to_string());
                    break;
                }
            }
            Err(err) => {
                // Often AccessDenied for users limited to DescribeStacks: fall back to the stack id.
                tracing::debug!("ListStackResources failed: {}", sdk_error::describe(&err));
                break;
            }
        }
    }
    if let Some(arn) = from_resources {
        return Some((arn, Origin::StackResource));
    }
    stack_id
        .and_then(|id| topic_arn_from_stack_id(id, topic_name))
        .map(|arn| (arn, Origin::StackId))
}

/// What the job model needs of the deployment to explain its warnings.
impl From<&VodResources> for crate::jobs::StackFacts {
    fn from(resources: &VodResources) -> Self {
        Self {
            source_bucket: resources.source_bucket.clone(),
            workflow_trigger: resources.workflow_trigger,
            solution_version: resources.solution_version.clone(),
            enable_sns: resources.enable_sns,
            stack_name: resources.stack_name.clone(),
        }
    }
}

#[cfg(test)]
impl VodResources {
    /// A connected v6 deployment named `stack` in us-east-1 (source bucket `src`), for unit tests.
    pub(crate) fn sample(stack: &str) -> Self {
        Self {
            stack_name: Some(stack.into()),
            stack_id: None,
            stack_status: None,
            solution_version: Some("v6.1.13".into()),
            generation: None,
            region: "us-east-1".into(),
            source_bucket: "src".into(),
            destination_bucket: None,
            table: stack.into(),
            topic_arn: format!("arn:aws:sns:us-east-1:123456789012:{stack}"),
            topic_arn_from: Origin::StackOutput,
            cloudfront_domain: None,
            workflow_trigger: None,
            enable_sns: Some(true),
            frame_capture: None,
            enable_media_package: None,
            enable_sqs: None,
            glacier: None,
            stack_queue_url: None,
            overridden: Vec::new(),
        }
    }
}

/// One deployment of the solution found in a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SolutionStack {
    pub name: String,
    pub status: Option<String>,
    pub solution_version: Option<String>,
    pub generation: Option<Generation>,
    pub source_bucket: Option<String>,
}

/// Every stack in the region whose Description marks it as the solution (`(SO0021)`), by name.
pub async fn find_solution_stacks(
    clients: &AwsClients,
) -> Result<Vec<SolutionStack>, DiscoveryError> {
    let mut pages = clients
        .cloudformation
        .describe_stacks()
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| DiscoveryError::ListStacks {
            region: clients.region.clone(),
            message: sdk_error::describe(&err),
            failure: sdk_error::failure(&err),
        })?;
        for stack in page.stacks() {
            let Some(description) = stack.description() else {
                continue;
            };
            if !is_solution_description(description) {
                continue;
            }
            let outputs = SolutionOutputs::from_outputs(&stack_outputs(stack));
            found.push(SolutionStack {
                name: stack.stack_name().unwrap_or_default().to_owned(),
                status: stack.stack_status().map(|s| s.as_str().to_owned()),
                solution_version: solution_version(description),
                generation: outputs.generation,
                source_bucket: outputs.source_bucket,
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}
