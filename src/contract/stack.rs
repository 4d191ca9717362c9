//! Stack outputs and parameters of a Video on Demand on AWS deployment (contract §2): which output keys
//! name which resource in the v6 and the v5 templates, which generation a stack is, and the parameters
//! vodesk needs (WorkflowTrigger, EnableSns, ...). Pure data: reading them from CloudFormation is
//! `aws::discovery`'s job.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One entry of a stack's `Outputs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutput {
    pub key: String,
    pub value: String,
    pub export_name: Option<String>,
}

/// Which template family produced the stack (the output key sets differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Generation {
    /// v6.x (CDK): `SourceBucketName`, `SnsTopicName` (a topic name), ...
    V6,
    /// v4.3 / v5.x (YAML): `Source`, `SnsTopic` (a topic ARN), ...
    V5,
}

/// What the stack's SNS output holds: v6 gives the topic name, v5 its ARN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicRef {
    Name(String),
    Arn(String),
}

/// The resources a stack's outputs name, by meaning rather than by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolutionOutputs {
    pub generation: Option<Generation>,
    pub table: Option<String>,
    pub source_bucket: Option<String>,
    pub destination_bucket: Option<String>,
    pub cloudfront_domain: Option<String>,
    pub topic: Option<TopicRef>,
    pub stack_queue_url: Option<String>,
    pub stack_queue_arn: Option<String>,
    pub metric_uuid: Option<String>,
}

/// The output keys, v6 first then v5, for each resource (the `(SO0021)` templates, contract §2).
pub const TABLE_KEYS: &[&str] = &["DynamoDBTableName", "DynamoDBTable"];
pub const SOURCE_BUCKET_KEYS: &[&str] = &["SourceBucketName", "Source"];
pub const DESTINATION_BUCKET_KEYS: &[&str] = &["DestinationBucketName", "Destination"];
pub const CLOUDFRONT_KEYS: &[&str] = &["CloudFrontDomainName", "CloudFront"];
pub const TOPIC_KEYS: &[&str] = &["SnsTopicName", "SnsTopic"];
pub const QUEUE_URL_KEYS: &[&str] = &["SqsUrl", "SqsURL"];
pub const QUEUE_ARN_KEYS: &[&str] = &["SqsArn", "SqsARN"];
pub const UUID_KEYS: &[&str] = &["AnonymizedMetricUUID", "AnonymousMetricUUID", "UUID"];

/// The export-name suffixes (`<stack>:<suffix>`); used when an output key is unfamiliar but its export is.
const TABLE_EXPORT: &str = "DynamoDBTable";
const SOURCE_EXPORT: &str = "Source";
const DESTINATION_EXPORT: &str = "Destination";
const CLOUDFRONT_EXPORT: &str = "CloudFront";
const TOPIC_EXPORT: &str = "SnsTopic";
const QUEUE_URL_EXPORT: &str = "SqsQueue";
const QUEUE_ARN_EXPORT: &str = "SqsQueueArn";

/// Prefix of the Description of every deployment of the solution, used to find stacks by content.
pub const SOLUTION_DESCRIPTION_PREFIX: &str = "(SO0021)";

impl SolutionOutputs {
    /// Reads outputs by key (order is not significant), falling back to export names.
    pub fn from_outputs(outputs: &[StackOutput]) -> Self {
        let find = |keys: &[&str], export_suffix: &str| -> Option<String> {
            keys.iter()
                .find_map(|key| outputs.iter().find(|o| o.key == *key))
                .or_else(|| {
                    outputs.iter().find(|o| {
                        o.export_name
                            .as_deref()
                            .and_then(|name| name.rsplit_once(':'))
                            .is_some_and(|(_, suffix)| suffix == export_suffix)
                    })
                })
                .map(|o| o.value.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let has_key = |key: &str| outputs.iter().any(|o| o.key == key);
        let generation = if has_key("SourceBucketName") {
            Some(Generation::V6)
        } else if has_key("Source") {
            Some(Generation::V5)
        } else {
            None
        };
        let topic = find(TOPIC_KEYS, TOPIC_EXPORT).map(|value| {
            // The export `<stack>:SnsTopic` holds an ARN in v5 and a bare name in v6; the value tells.
            if value.starts_with("arn:") {
                TopicRef::Arn(value)
            } else {
                TopicRef::Name(value)
            }
        });
        Self {
            generation,
            table: find(TABLE_KEYS, TABLE_EXPORT),
            source_bucket: find(SOURCE_BUCKET_KEYS, SOURCE_EXPORT),
            destination_bucket: find(DESTINATION_BUCKET_KEYS, DESTINATION_EXPORT),
            cloudfront_domain: find(CLOUDFRONT_KEYS, CLOUDFRONT_EXPORT),
            topic,
            stack_queue_url: find(QUEUE_URL_KEYS, QUEUE_URL_EXPORT),
            stack_queue_arn: find(QUEUE_ARN_KEYS, QUEUE_ARN_EXPORT),
            metric_uuid: find(UUID_KEYS, "UUID"),
        }
    }
}

/// What starts a workflow in the stack's source bucket (parameter WorkflowTrigger, contract §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkflowTrigger {
    VideoFile,
    MetadataFile,
}

/// The stack parameters vodesk acts on. `None` where the stack does not say (older releases).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolutionParameters {
    pub workflow_trigger: Option<WorkflowTrigger>,
    pub enable_sns: Option<bool>,
    pub enable_sqs: Option<bool>,
    pub frame_capture: Option<bool>,
    pub enable_media_package: Option<bool>,
    pub glacier: Option<String>,
    pub accelerated_transcoding: Option<String>,
}

impl SolutionParameters {
    /// Reads `(ParameterKey, ParameterValue)` pairs; unknown keys and unexpected values are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let yes_no = |value: &str| match value {
            "Yes" => Some(true),
            "No" => Some(false),
            _ => None,
        };
        let mut params = Self::default();
        for (key, value) in pairs {
            match key {
                "WorkflowTrigger" => {
                    params.workflow_trigger = match value {
                        "VideoFile" => Some(WorkflowTrigger::VideoFile),
                        "MetadataFile" => Some(WorkflowTrigger::MetadataFile),
                        _ => None,
                    }
                }
                "EnableSns" => params.enable_sns = yes_no(value),
                "EnableSqs" => params.enable_sqs = yes_no(value),
                "FrameCapture" => params.frame_capture = yes_no(value),
                "EnableMediaPackage" => params.enable_media_package = yes_no(value),
                "Glacier" => params.glacier = Some(value.to_owned()),
                "AcceleratedTranscoding" => params.accelerated_transcoding = Some(value.to_owned()),
                _ => {}
            }
        }
        params
    }
}

/// The release named at the end of the stack's Description (`... Version v6.1.13`), when present.
pub fn solution_version(description: &str) -> Option<String> {
    let (_, after) = description.rsplit_once("Version")?;
    let version = after.trim();
    (!version.is_empty() && !version.contains(char::is_whitespace)).then(|| version.to_owned())
}

/// True when a stack's Description marks it as a deployment of the solution.
pub fn is_solution_description(description: &str) -> bool {
    description
        .trim_start()
        .starts_with(SOLUTION_DESCRIPTION_PREFIX)
}

/// One stack as `aws cloudformation describe-stacks` prints it (`Stacks[0]`), reduced to what vodesk reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackDescription {
    pub stack_name: String,
    pub stack_id: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub outputs: Vec<StackOutput>,
    pub parameters: Vec<(String, String)>,
}

/// Why a describe-stacks document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StackJsonError {
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("{0}")]
    Shape(String),
}

impl StackDescription {
    /// Reads `Stacks[0]` or the whole `describe-stacks` output (`{"Stacks": [...]}`, first stack).
    pub fn from_describe_stacks_json(input: &str) -> Result<Self, StackJsonError> {
        let value: Value = serde_json::from_str(input)?;
        let stack = match value.get("Stacks") {
            Some(Value::Array(stacks)) => stacks
                .first()
                .ok_or_else(|| StackJsonError::Shape("Stacks: the list is empty".into()))?,
            Some(_) => return Err(StackJsonError::Shape("Stacks: expected a list".into())),
            None => &value,
        };
        let obj = stack
            .as_object()
            .ok_or_else(|| StackJsonError::Shape("expected a stack object".into()))?;
        let string = |field: &str| -> Result<Option<String>, StackJsonError> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(StackJsonError::Shape(format!("{field}: expected a string"))),
            }
        };
        let stack_name = string("StackName")?
            .ok_or_else(|| StackJsonError::Shape("StackName: missing".into()))?;
        let list = |field: &str| -> Result<&[Value], StackJsonError> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(&[]),
                Some(Value::Array(items)) => Ok(items.as_slice()),
                Some(_) => Err(StackJsonError::Shape(format!("{field}: expected a list"))),
            }
        };
        let member =
            |item: &Value, field: &str, path: String| -> Result<Option<String>, StackJsonError> {
                match item.get(field) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(_) => Err(StackJsonError::Shape(format!(
                        "{path}.{field}: expected a string"
                    ))),
                }
            };
        let mut outputs = Vec::new();
        for (i, item) in list("Outputs")?.iter().enumerate() {
            let path = format!("Outputs[{i}]");
            let key = member(item, "OutputKey", path.clone())?;
            let value = member(item, "OutputValue", path.clone())?;
            if let (Some(key), Some(value)) = (key, value) {
                let export_name = member(item, "ExportName", path)?;
                outputs.push(StackOutput {
                    key,
                    value,
                    export_name,
                });
            }
        }
        let mut parameters = Vec::new();
        for (i, item) in list("Parameters")?.iter().enumerate() {
            let path = format!("Parameters[{i}]");
            if let (Some(key), Some(value)) = (
                member(item, "ParameterKey", path.clone())?,
                member(item, "ParameterValue", path)?,
            ) {
                parameters.push((key, value));
            }
        }
        Ok(Self {
            stack_name,
            stack_id: string("StackId")?,
            description: string("Description")?,
            status: string("StackStatus")?,
            outputs,
            parameters,
        })
    }

    pub fn solution_outputs(&self) -> SolutionOutputs {
        SolutionOutputs::from_outputs(&self.outputs)
    }

    pub fn solution_parameters(&self) -> SolutionParameters {
        SolutionParameters::from_pairs(
            self.parameters
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }
}

/// Builds a topic ARN from the stack's own ARN (`arn:<p>:cloudformation:<r>:<a>:stack/<name>/<id>`), the
/// last resort of contract §2 when ListStackResources is not allowed. Never guesses an account id.
pub fn topic_arn_from_stack_id(stack_id: &str, topic_name: &str) -> Option<String> {
    let mut parts = stack_id.splitn(6, ':');
    let (arn, partition, service, region, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let valid = arn == "arn"
        && service == "cloudformation"
        && !partition.is_empty()
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| format!("arn:{partition}:sns:{region}:{account}:{topic_name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(key: &str, value: &str, export: Option<&str>) -> StackOutput {
        StackOutput {
            key: key.into(),
            value: value.into(),
            export_name: export.map(Into::into),
        }
    }

    #[test]
    fn v5_topic_output_is_an_arn_and_v6_a_name() {
        let v5 = SolutionOutputs::from_outputs(&[
            out("Source", "s", None),
            out(
                "SnsTopic",
                "arn:aws:sns:us-east-1:111122223333:t",
                Some("x:SnsTopic"),
            ),
        ]);
        assert_eq!(v5.generation, Some(Generation::V5));
        assert_eq!(
            v5.topic,
            Some(TopicRef::Arn("arn:aws:sns:us-east-1:111122223333:t".into()))
        );
        let v6 = SolutionOutputs::from_outputs(&[
            out("SourceBucketName", "s", None),
            out("SnsTopicName", "t", None),
        ]);
        assert_eq!(v6.generation, Some(Generation::V6));
        assert_eq!(v6.topic, Some(TopicRef::Name("t".into())));
    }

    #[test]
    fn unfamiliar_key_is_found_by_its_export_name() {
        let o = SolutionOutputs::from_outputs(&[out("Renamed", "bucket-1", Some("vod:Source"))]);
        assert_eq!(o.source_bucket.as_deref(), Some("bucket-1"));
        assert_eq!(o.generation, None);
    }

    #[test]
    fn topic_arn_is_built_only_from_a_well_formed_stack_id() {
        assert_eq!(
            topic_arn_from_stack_id(
                "arn:aws-cn:cloudformation:cn-north-1:111122223333:stack/vod/abc",
                "vod-SnsTopic-1"
            )
            .as_deref(),
            Some("arn:aws-cn:sns:cn-north-1:111122223333:vod-SnsTopic-1")
        );
        assert_eq!(topic_arn_from_stack_id("vod-stack", "t"), None);
        assert_eq!(
            topic_arn_from_stack_id("arn:aws:cloudformation:us-east-1::stack/x/y", "t"),
            None
        );
    }

    #[test]
    fn version_is_read_from_the_description() {
        assert_eq!(
            solution_version("(SO0021) - Video on Demand on AWS workflow with ... Version v6.1.13")
                .as_deref(),
            Some("v6.1.13")
        );
        assert_eq!(solution_version("no version here"), None);
        assert!(is_solution_description(
            "(SO0021) - Video On Demand workflow"
        ));
        assert!(!is_solution_description("my other stack"));
    }
}
