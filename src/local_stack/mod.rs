//! The local stack: a complete Video on Demand v6 deployment on this machine (contract §10). The pinned
//! moto emulator holds the stack, created through CloudFormation so discovery reads it as on AWS; the
//! source bucket notifies `<stack>-ingest-events` on object creation with the solution's 24 trigger
//! suffixes (§3); the [`pipeline`] worker plays Step Functions + MediaConvert with ffmpeg; and [`cdn`]
//! serves the destination bucket on loopback as the stack's "CloudFront". Everything stops when the
//! [`LocalStack`] is dropped.

pub mod cdn;
pub mod emulator;
pub mod emulator_install;
pub(crate) mod inputs;
pub mod media_package;
pub(crate) mod object_upload;
pub mod pipeline;
pub(crate) mod probe;
pub(crate) mod python_json;
pub(crate) mod transcode;
pub mod vod_template;
pub(crate) mod workflow;

use crate::contract::stack::WorkflowTrigger;
use crate::contract::triggers::bucket_filter_suffixes;
use std::path::PathBuf;

use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;

use crate::aws::connection::{AwsClients, ConnectionError, ConnectionSettings};
use crate::aws::discovery::{DiscoveryError, StackOverrides, VodResources, discover};
use crate::aws::sdk_error;
use crate::local_stack::emulator::{Emulator, EmulatorError};
use crate::local_stack::emulator_install::{ProgressSink, find_or_install};
use crate::local_stack::vod_template::{
    ProvisionError, StackParameters, VodStackSpec, create_vod_stack,
};
use cdn::{CdnError, CdnListener, LocalCdn};
use media_package::{MediaPackageError, PackagingGroup};
use pipeline::{Pipeline, PipelineEvent, PipelineOptions, PipelineTargets};
use probe::{ProbeError, Prober};
use tokio::sync::mpsc;
use transcode::TranscodeError;
use workflow::StackContext;
pub use workflow::{LocalJobTemplate, OutputGroups, local_job_templates};

/// The stack name when none is given. Not `vodesk-…`: that is the prefix of the monitor's own queues.
pub const DEFAULT_STACK_NAME: &str = "vod-local";
/// The region the local stack lives in (moto accepts any; this is the one printed for other tools).
pub const REGION: &str = "us-east-1";
/// moto accepts any credentials; these are the conventional dummy ones.
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";

/// How to start the local stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStackOptions {
    /// Loopback port for the emulator; 0 picks a free one.
    pub port: u16,
    pub stack_name: String,
    /// The Python with moto installed; `None` looks for it as
    /// [`find_python`](emulator::find_python) does, and installs it for this user when there is none.
    pub python: Option<PathBuf>,
    /// Receives the steps of that first-use install (also logged); `None`: only logged.
    pub install_progress: Option<ProgressSink>,
    /// Loopback port for the local "CloudFront"; 0 picks a free one.
    pub cdn_port: u16,
    /// The solution's parameters the stack is created with (and the pipeline follows); by default
    /// the solution's defaults with FrameCapture on ([`StackParameters::local_defaults`]).
    pub parameters: StackParameters,
    /// Which output groups the jobs write: by default HLS only, as the v6 default templates; with
    /// another, every upload selects the local custom template that writes them
    /// (`--custom-template`), unless its metadata file names a template itself; the record says so.
    pub groups: OutputGroups,
    /// Workflows encoding at once.
    pub parallel_jobs: usize,
    /// Failures the pipeline plays on purpose (`--simulate`), first matching rule wins.
    pub simulate: Vec<pipeline::SimulationRule>,
}

impl Default for LocalStackOptions {
    fn default() -> Self {
        Self {
            port: 0,
            stack_name: DEFAULT_STACK_NAME.to_owned(),
            python: None,
            install_progress: None,
            cdn_port: 0,
            parameters: StackParameters::local_defaults(),
            groups: OutputGroups::HlsOnly,
            parallel_jobs: 2,
            simulate: Vec::new(),
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
    MediaPackage(#[from] MediaPackageError),
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
    #[error("the local pipeline cannot encode: {0}")]
    Encoder(#[from] TranscodeError),
    #[error("the local pipeline cannot probe sources: {0}")]
    Probe(#[from] ProbeError),
    #[error(transparent)]
    Cdn(#[from] CdnError),
    #[error(
        "could not {action} in the local emulator: {message}; the emulator may not be the pinned moto: reinstall it with `vodesk local-stack --install-emulator` (or `scripts/install-emulator` in a checkout)"
    )]
    Aws {
        action: &'static str,
        message: String,
    },
}

/// A running local stack. Dropping it stops the pipeline, the local CloudFront and the emulator, and so
/// everything in it.
#[derive(Debug)]
pub struct LocalStack {
    // Fields drop in order: the worker and the server go before the emulator they talk to.
    pipeline: Pipeline,
    cdn: LocalCdn,
    events: Option<mpsc::UnboundedReceiver<PipelineEvent>>,
    emulator: Emulator,
    stack_name: String,
    resources: VodResources,
    ingest_queue_url: String,
}

impl LocalStack {
    /// Starts the emulator, creates the stack through CloudFormation, and wires the source bucket's
    /// notifications to the `<stack>-ingest-events` queue.
    pub async fn start(options: LocalStackOptions) -> Result<Self, LocalStackError> {
        // The tools first: better to refuse at once than to fail every upload later.
        transcode::check_ffmpeg().await?;
        let prober = Prober::detect()?;
        let python = match options.python {
            Some(path) => path,
            None => {
                let sink = options.install_progress.clone();
                // Finding it is quick; installing it (first use) runs pip, about 40 s on a fresh machine here.
                tokio::task::spawn_blocking(move || {
                    find_or_install(&mut |step| {
                        tracing::info!("emulator install: {step}");
                        if let Some(sink) = &sink {
                            sink.report(step);
                        }
                    })
                })
                .await
                .map_err(|e| {
                    EmulatorError::Startup(format!("the install task did not finish: {e}"))
                })??
            }
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
        // The CloudFront domain is a stack output, so the server's port must be known first.
        let cdn_listener = CdnListener::bind(options.cdn_port).await?;
        let spec = VodStackSpec::v6(&options.stack_name, &cdn_listener.domain())
            .with_parameters(&options.parameters);
        create_vod_stack(&clients.cloudformation, &spec).await?;
        // Read the stack back exactly as every client will, so a template mistake shows up here.
        let resources = discover(
            &clients,
            Some(&options.stack_name),
            &StackOverrides::default(),
        )
        .await?;
        add_archive_rules(&clients, &resources.source_bucket, &options.stack_name).await?;
        let ingest_queue_url = wire_ingest_events(
            &clients,
            &resources,
            &options.stack_name,
            options.parameters.workflow_trigger,
        )
        .await?;
        let destination_bucket =
            resources
                .destination_bucket
                .clone()
                .ok_or_else(|| LocalStackError::Aws {
                    action: "read the destination bucket",
                    message: "the stack has no DestinationBucketName output".into(),
                })?;
        // EnableMediaPackage: the packaging group, whose egress the local CloudFront serves under
        // `out/`, as the solution's distribution routes `out/*` to MediaPackage.
        let packaging_group = if options.parameters.enable_media_package {
            Some(PackagingGroup::create(&clients, &options.stack_name).await?)
        } else {
            None
        };
        let cdn = cdn_listener.serve_with_packaging(
            clients.s3.clone(),
            destination_bucket.clone(),
            packaging_group.as_ref().map(|g| g.bucket().to_owned()),
        );
        let account_id = resources
            .stack_id
            .as_deref()
            .and_then(|arn| arn.split(':').nth(4))
            .unwrap_or("000000000000")
            .to_owned();
        let context = StackContext {
            stack_name: options.stack_name.clone(),
            region: REGION.to_owned(),
            account_id,
            source_bucket: resources.source_bucket.clone(),
            destination_bucket,
            cloudfront_domain: cdn.domain().to_owned(),
            url_scheme: "http".to_owned(),
            frame_capture: spec.parameters.frame_capture,
            enable_sns: spec.parameters.enable_sns,
            enable_sqs: spec.parameters.enable_sqs,
            enable_media_package: spec.parameters.enable_media_package,
            archive_source: spec.parameters.glacier.as_str().to_owned(),
        };
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let pipeline = Pipeline::start(
            clients,
            PipelineTargets {
                context,
                table: resources.table.clone(),
                topic_arn: resources.topic_arn.clone(),
                stack_queue_url: resources.stack_queue_url.clone(),
                ingest_queue_url: ingest_queue_url.clone(),
                media_package: packaging_group,
            },
            prober,
            PipelineOptions {
                groups: options.groups,
                parallel_jobs: options.parallel_jobs,
                simulate: options.simulate,
            },
            events_tx,
        );
        Ok(Self {
            pipeline,
            cdn,
            events: Some(events_rx),
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

    /// The local "CloudFront" (`http://127.0.0.1:<port>`).
    pub fn cdn_base_url(&self) -> String {
        self.cdn.base_url()
    }

    /// The pipeline's progress reports; `None` after the first call.
    pub fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<PipelineEvent>> {
        self.events.take()
    }

    /// The running worker (kept so it lives as long as the stack).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The queue the source bucket notifies on object creation (what the pipeline worker consumes).
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

/// The source bucket's two lifecycle rules, as the solution's stack has them whatever its Glacier
/// parameter: objects tagged `<stack>=GLACIER` (or `DEEP_ARCHIVE`) move to that class after a day.
/// The emulator keeps the rules and does not move anything; the ids are the solution's, typo
/// included.
async fn add_archive_rules(
    clients: &AwsClients,
    bucket: &str,
    stack_name: &str,
) -> Result<(), LocalStackError> {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter, Tag,
        Transition, TransitionStorageClass,
    };
    let aws = |message: String| LocalStackError::Aws {
        action: "set the source bucket's archive rules",
        message,
    };
    let mut rules = Vec::new();
    for (id, class, storage) in [
        ("soure-archive", "GLACIER", TransitionStorageClass::Glacier),
        (
            "source-deep-archive",
            "DEEP_ARCHIVE",
            TransitionStorageClass::DeepArchive,
        ),
    ] {
        let tag = Tag::builder()
            .key(stack_name)
            .value(class)
            .build()
            .map_err(|e| aws(e.to_string()))?;
        let rule = LifecycleRule::builder()
            .id(format!("{stack_name}-{id}"))
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().tag(tag).build())
            .transitions(Transition::builder().days(1).storage_class(storage).build())
            .build()
            .map_err(|e| aws(e.to_string()))?;
        rules.push(rule);
    }
    let configuration = BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| aws(e.to_string()))?;
    clients
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(configuration)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws(sdk_error::describe(&e)))
}

/// Creates `<stack>-ingest-events` and points the source bucket's ObjectCreated notifications at it.
/// A separate queue, because the stack's own queue carries Complete records (contract §9).
async fn wire_ingest_events(
    clients: &AwsClients,
    resources: &VodResources,
    stack_name: &str,
    trigger: WorkflowTrigger,
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
    for suffix in bucket_filter_suffixes(trigger) {
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
        let suffixes = bucket_filter_suffixes(WorkflowTrigger::VideoFile);
        assert_eq!(suffixes.len(), 24);
        assert!(suffixes.contains(&".mp4".to_owned()));
        assert!(suffixes.contains(&".MP4".to_owned()));
        assert!(suffixes.contains(&".H264".to_owned()));
        assert!(!suffixes.iter().any(|s| s == ".Mp4"));
        let mut unique = suffixes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 24);
        // MetadataFile: the solution's one filter, without a dot.
        assert_eq!(
            bucket_filter_suffixes(WorkflowTrigger::MetadataFile),
            vec!["json".to_owned()]
        );
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
