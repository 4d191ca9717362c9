//! The local stack (issue 7, first increment): the pinned moto emulator with a Video on Demand v6 stack
//! created in it through CloudFormation, and the source bucket notifying a separate ingest queue on object
//! creation with the solution's 24 trigger suffixes (contract §3, §10). There is no encoding pipeline and
//! no local "CloudFront" endpoint yet: `CloudFrontDomainName` is the placeholder [`PLACEHOLDER_CLOUDFRONT`].
//! Everything stops when the [`LocalStack`] is dropped.

pub mod cdn;
pub mod probe;
pub mod python_json;

use std::path::PathBuf;

use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;

use crate::aws::connection::{AwsClients, ConnectionError, ConnectionSettings};
use crate::aws::discovery::{DiscoveryError, StackOverrides, VodResources, discover};
use crate::aws::emulator::{Emulator, EmulatorError, find_python};
use crate::aws::sdk_error;
use crate::aws::vod_template::{ProvisionError, VodStackSpec, create_vod_stack};

/// The stack name when none is given. Not `vodesk-…`: that is the prefix of the monitor's own queues.
pub const DEFAULT_STACK_NAME: &str = "vod-local";
/// The region the local stack lives in (moto accepts any; this is the one printed for other tools).
pub const REGION: &str = "us-east-1";
/// moto accepts any credentials; these are the conventional dummy ones.
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";
/// `CloudFrontDomainName` until the local HTTP endpoint exists. `.invalid` is reserved (RFC 2606), so an
/// output URL built on it can never reach some unrelated host by accident.
pub const PLACEHOLDER_CLOUDFRONT: &str = "cloudfront.vod-local.invalid";

/// The solution's trigger extensions for WorkflowTrigger `VideoFile`, v5.3.0+ (contract §3). Each one
/// triggers in all lower case or ALL UPPER CASE, never in mixed case.
pub const TRIGGER_EXTENSIONS: [&str; 12] = [
    ".mpg", ".mp4", ".m4v", ".mov", ".m2ts", ".wmv", ".mxf", ".mkv", ".m3u8", ".mpeg", ".webm",
    ".h264",
];

/// The 24 suffix filters, lower case first: S3 allows one suffix per rule, so one rule each.
pub fn trigger_suffixes() -> Vec<String> {
    TRIGGER_EXTENSIONS
        .iter()
        .map(|ext| ext.to_string())
        .chain(TRIGGER_EXTENSIONS.iter().map(|ext| ext.to_uppercase()))
        .collect()
}

/// How to start the local stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStackOptions {
    /// Loopback port for the emulator; 0 picks a free one.
    pub port: u16,
    pub stack_name: String,
    /// The Python with moto installed; `None` looks for it as [`find_python`] does.
    pub python: Option<PathBuf>,
}

impl Default for LocalStackOptions {
    fn default() -> Self {
        Self {
            port: 0,
            stack_name: DEFAULT_STACK_NAME.to_owned(),
            python: None,
        }
    }
}

/// What other tools need to talk to the local stack, named as the environment variables they read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalStackSettings {
    #[serde(rename = "AWS_ENDPOINT_URL")]
    pub endpoint_url: String,
    #[serde(rename = "AWS_REGION")]
    pub region: String,
    #[serde(rename = "AWS_ACCESS_KEY_ID")]
    pub access_key_id: String,
    #[serde(rename = "AWS_SECRET_ACCESS_KEY")]
    pub secret_access_key: String,
    #[serde(rename = "VODESK_STACK")]
    pub stack: String,
}

impl LocalStackSettings {
    /// `(variable, value)` pairs, in the order they are printed.
    pub fn env(&self) -> [(&'static str, &str); 5] {
        [
            ("AWS_ENDPOINT_URL", &self.endpoint_url),
            ("AWS_REGION", &self.region),
            ("AWS_ACCESS_KEY_ID", &self.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &self.secret_access_key),
            ("VODESK_STACK", &self.stack),
        ]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalStackError {
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error("the emulator started but its endpoint is unusable: {0}")]
    Connection(#[from] ConnectionError),
    #[error(
        "could not create the local stack: {0}; if another stack of that name exists, choose another with --stack"
    )]
    Provision(#[from] ProvisionError),
    #[error(
        "the local stack was created but discovery cannot read it: {0}; this is a bug in vodesk, please report it"
    )]
    Discovery(#[from] DiscoveryError),
    #[error(
        "could not {action} in the local emulator: {message}; check that the moto version matches scripts/install-emulator"
    )]
    Aws {
        action: &'static str,
        message: String,
    },
}

/// A running local stack. Dropping it stops the emulator and so everything in it.
#[derive(Debug)]
pub struct LocalStack {
    // Dropped last among the fields that matter: it owns the moto process.
    emulator: Emulator,
    stack_name: String,
    resources: VodResources,
    ingest_queue_url: String,
}

impl LocalStack {
    /// Starts the emulator, creates the stack through CloudFormation, and wires the source bucket's
    /// notifications to the `<stack>-ingest-events` queue.
    pub async fn start(options: LocalStackOptions) -> Result<Self, LocalStackError> {
        let python = match options.python {
            Some(path) => path,
            None => find_python()?,
        };
        let port = options.port;
        // Starting moto blocks (it waits up to a minute for the server to bind).
        let emulator = tokio::task::spawn_blocking(move || Emulator::start(&python, port))
            .await
            .map_err(|e| {
                EmulatorError::Startup(format!("the start-up task did not finish: {e}"))
            })??;
        let clients =
            AwsClients::connect(&ConnectionSettings::emulator(emulator.endpoint(), REGION)).await?;
        let spec = VodStackSpec::v6(&options.stack_name, PLACEHOLDER_CLOUDFRONT);
        create_vod_stack(&clients.cloudformation, &spec).await?;
        // Read the stack back exactly as every client will, so a template mistake shows up here.
        let resources = discover(
            &clients,
            Some(&options.stack_name),
            &StackOverrides::default(),
        )
        .await?;
        let ingest_queue_url =
            wire_ingest_events(&clients, &resources, &options.stack_name).await?;
        Ok(Self {
            emulator,
            stack_name: options.stack_name,
            resources,
            ingest_queue_url,
        })
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> &str {
        self.emulator.endpoint()
    }

    pub fn stack_name(&self) -> &str {
        &self.stack_name
    }

    /// What discovery found in the stack.
    pub fn resources(&self) -> &VodResources {
        &self.resources
    }

    /// The queue the source bucket notifies on object creation (what the pipeline worker will consume).
    pub fn ingest_queue_url(&self) -> &str {
        &self.ingest_queue_url
    }

    pub fn settings(&self) -> LocalStackSettings {
        LocalStackSettings {
            endpoint_url: self.endpoint().to_owned(),
            region: REGION.to_owned(),
            access_key_id: ACCESS_KEY_ID.to_owned(),
            secret_access_key: SECRET_ACCESS_KEY.to_owned(),
            stack: self.stack_name.clone(),
        }
    }
}

/// Creates `<stack>-ingest-events` and points the source bucket's ObjectCreated notifications at it.
/// A separate queue, because the stack's own queue carries Complete records (contract §9).
async fn wire_ingest_events(
    clients: &AwsClients,
    resources: &VodResources,
    stack_name: &str,
) -> Result<String, LocalStackError> {
    let aws =
        |action: &'static str| move |message: String| LocalStackError::Aws { action, message };
    let queue_name = format!("{stack_name}-ingest-events");
    let queue_url = clients
        .sqs
        .create_queue()
        .queue_name(&queue_name)
        .send()
        .await
        .map_err(|e| aws("create the ingest-events queue")(sdk_error::describe(&e)))?
        .queue_url()
        .map(str::to_owned)
        .ok_or_else(|| {
            aws("create the ingest-events queue")("CreateQueue returned no QueueUrl".into())
        })?;
    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws("read the ingest-events queue's ARN")(sdk_error::describe(&e)))?;
    let queue_arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| {
            aws("read the ingest-events queue's ARN")("GetQueueAttributes returned none".into())
        })?;
    // The policy real S3 needs to deliver; moto does not check it, but the stack should read like AWS.
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:s3:::{}", resources.source_bucket)}},
        }],
    });
    clients
        .sqs
        .set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .map_err(|e| aws("set the ingest-events queue's policy")(sdk_error::describe(&e)))?;
    let mut configurations = Vec::new();
    for suffix in trigger_suffixes() {
        let rule = FilterRule::builder()
            .name(FilterRuleName::Suffix)
            .value(&suffix)
            .build();
        let configuration = QueueConfiguration::builder()
            .id(format!("{stack_name}-ingest{suffix}"))
            .queue_arn(&queue_arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .filter(
                NotificationConfigurationFilter::builder()
                    .key(S3KeyFilter::builder().filter_rules(rule).build())
                    .build(),
            )
            .build()
            .map_err(|e| aws("describe a bucket notification")(e.to_string()))?;
        configurations.push(configuration);
    }
    clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(&resources.source_bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(configurations))
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws("configure the source bucket's notifications")(sdk_error::describe(&e)))?;
    Ok(queue_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_four_distinct_suffixes_in_lower_and_upper_case() {
        let suffixes = trigger_suffixes();
        assert_eq!(suffixes.len(), 24);
        assert!(suffixes.contains(&".mp4".to_owned()));
        assert!(suffixes.contains(&".MP4".to_owned()));
        assert!(suffixes.contains(&".H264".to_owned()));
        assert!(!suffixes.iter().any(|s| s == ".Mp4"));
        let mut unique = suffixes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 24);
    }

    #[test]
    fn settings_serialise_as_environment_variables() {
        let settings = LocalStackSettings {
            endpoint_url: "http://127.0.0.1:5000".into(),
            region: REGION.into(),
            access_key_id: ACCESS_KEY_ID.into(),
            secret_access_key: SECRET_ACCESS_KEY.into(),
            stack: DEFAULT_STACK_NAME.into(),
        };
        let json = serde_json::to_value(&settings).unwrap();
        for (name, value) in settings.env() {
            assert_eq!(json[name], value, "{name}");
        }
        assert_eq!(json.as_object().map(|o| o.len()), Some(5));
    }
}
