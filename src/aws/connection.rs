//! Connection settings (profile, region, endpoint) and the SDK clients built from them. aws-config reads
//! the standard sources too (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, the config and credentials
//! files, SSO); explicit settings win over them.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

use crate::aws::call_log::CallLog;
use crate::aws::sdk_error::Failure;

/// How to reach AWS, as the user gave it. `None` leaves the value to aws-config's default chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// Fixed credentials, for the local emulator only (it accepts any key). Real AWS uses the profile chain.
    pub emulator_credentials: bool,
}

/// Why no usable configuration could be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error(
        "no AWS region is set: pass --region, set AWS_REGION, or add `region = ...` to the profile in ~/.aws/config"
    )]
    NoRegion,
    #[error("the endpoint URL \"{0}\" is not an http:// or https:// URL")]
    BadEndpoint(String),
}

impl ConnectionError {
    /// What kind of failure this is: always the settings' fault, so retrying will not help.
    /// (Credentials are only resolved by the first request, so a sign-in problem shows there.)
    pub fn failure(&self) -> Failure {
        match self {
            ConnectionError::NoRegion | ConnectionError::BadEndpoint(_) => Failure::Permanent,
        }
    }
}

impl ConnectionSettings {
    /// Settings for the local emulator at `endpoint` (moto accepts any credentials).
    pub fn emulator(endpoint: &str, region: &str) -> Self {
        Self {
            profile: None,
            region: Some(region.to_owned()),
            endpoint_url: Some(endpoint.to_owned()),
            emulator_credentials: true,
        }
    }

    /// Loads the SDK configuration: the explicit settings over aws-config's default chain.
    pub async fn load(&self) -> Result<SdkConfig, ConnectionError> {
        if let Some(url) = &self.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConnectionError::BadEndpoint(url.clone()));
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if self.emulator_credentials {
            loader = loader.credentials_provider(Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "vodesk-emulator",
            ));
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(ConnectionError::NoRegion);
        }
        Ok(config)
    }
}

/// One client per service vodesk uses, sharing one configuration (and so one HTTP connection pool).
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub region: String,
    pub endpoint_url: Option<String>,
}

impl AwsClients {
    pub fn new(config: &SdkConfig) -> Self {
        // A custom endpoint (an emulator, a VPC endpoint) rarely resolves virtual-hosted bucket names.
        let path_style = config.endpoint_url().is_some();
        let mut s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style);
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(config);
        let mut sns = aws_sdk_sns::config::Builder::from(config);
        let mut sqs = aws_sdk_sqs::config::Builder::from(config);
        let mut cloudformation = aws_sdk_cloudformation::config::Builder::from(config);
        // Every operation to the call log, when one is asked for (`vodesk iam-policy`'s audit).
        if let Some(log) = CallLog::from_env() {
            s3 = s3.interceptor(log.clone());
            dynamodb = dynamodb.interceptor(log.clone());
            sns = sns.interceptor(log.clone());
            sqs = sqs.interceptor(log.clone());
            cloudformation = cloudformation.interceptor(log);
        }
        Self {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            sns: aws_sdk_sns::Client::from_conf(sns.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            cloudformation: aws_sdk_cloudformation::Client::from_conf(cloudformation.build()),
            region: config.region().map(ToString::to_string).unwrap_or_default(),
            endpoint_url: config.endpoint_url().map(str::to_owned),
        }
    }

    pub async fn connect(settings: &ConnectionSettings) -> Result<Self, ConnectionError> {
        Ok(Self::new(&settings.load().await?))
    }
}
