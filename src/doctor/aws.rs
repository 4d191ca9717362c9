//! The doctor's connection checks: the region (and where it came from), the credentials (their
//! source and expiry) and the clock against the `Date` of the service's answers; then it runs the
//! stack's checks ([`super::stack`]) and the resources' ([`super::access`]). Every AWS line is in
//! the list even when it cannot run: skipped, with the reason.

use std::time::{Duration, SystemTime};

use aws_credential_types::credential_feature::AwsCredentialFeature as Feature;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;

use super::context::Ctx;
use super::{Checklist, Options, Outcome, Setup, bounded, ids, timed_out, untrusted};
use crate::aws::connection::{AwsClients, ConnectionError};
use crate::aws::monitor::ServiceClock;
use crate::aws::sdk_error::{self, Failure, SET_THE_CLOCK, credentials_fix, sign_in_command};
use crate::time::human_duration;

/// Beyond this, AWS refuses a request's signature (SigV4 allows five minutes).
const SKEW_LIMIT: Duration = Duration::from_secs(5 * 60);
/// Beyond this, the clock deserves a look before it reaches the limit.
const SKEW_WARNING: Duration = Duration::from_secs(60);
/// Credentials expiring sooner than this get a warning: an upload started now may outlive them.
const EXPIRY_WARNING: Duration = Duration::from_secs(15 * 60);

/// Runs the AWS checks (every one of them has a line, skipped when it cannot run) and returns the
/// endpoint the calls went to when it is not AWS's own (the local stack's, an emulator's).
pub(super) async fn run(list: &mut Checklist, setup: &Setup, options: &Options) -> Option<String> {
    let settings = &setup.connection;
    let config = match bounded(settings.load()).await {
        Some(Ok(config)) => config,
        Some(Err(err)) => {
            let (name, problem, why) = match &err {
                ConnectionError::NoRegion => (
                    "Region",
                    "no AWS region is set".to_owned(),
                    "no region is set",
                ),
                ConnectionError::BadEndpoint(url) => (
                    "Endpoint",
                    format!(
                        "the endpoint \"{}\" is not an http:// or https:// URL",
                        untrusted(url)
                    ),
                    "the endpoint is not usable",
                ),
            };
            list.push(ids::REGION, name, Outcome::fail(problem, region_fix(&err)));
            skip_from(list, ids::CREDENTIALS, why);
            return settings.endpoint_url.clone();
        }
        None => {
            list.push(
                ids::REGION,
                "Region",
                timed_out("reading the AWS configuration"),
            );
            skip_from(
                list,
                ids::CREDENTIALS,
                "the AWS configuration could not be read",
            );
            return settings.endpoint_url.clone();
        }
    };
    let endpoint = config.endpoint_url().map(str::to_owned);
    let clock = ServiceClock::default();
    let clients = with_clock(AwsClients::new(&config), &clock);
    list.push(ids::REGION, "Region", region_outcome(setup, &clients));
    let profile = settings
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
    let credentials =
        credentials_outcome(&config, profile.as_deref(), settings.emulator_credentials).await;
    let signed_in = !credentials.is_fail();
    list.push(ids::CREDENTIALS, "Credentials", credentials);
    if !signed_in {
        skip_from(list, ids::CLOCK, "there are no usable credentials");
        return endpoint;
    }
    let ctx = Ctx::new(
        clients,
        clock,
        profile,
        setup.stack.clone(),
        options.clone(),
    );
    let (stack_line, resources) = super::stack::stack(&ctx, setup).await;
    list.push(
        ids::CLOCK,
        "Clock",
        clock_outcome(&ctx.clock, SystemTime::now()),
    );
    list.push(ids::STACK, stack_line.0, stack_line.1);
    super::access::run(list, &ctx, resources.as_ref()).await;
    endpoint
}

/// The name of the line listing what no harmless call can try.
pub(super) const NOT_TRIED: &str = "Not tried without side effects";

/// Pushes a skipped line for every AWS check from `first` on.
pub(super) fn skip_from(list: &mut Checklist, first: &'static str, why: &str) {
    const AWS: [(&str, &str); 13] = [
        (ids::CREDENTIALS, "Credentials"),
        (ids::CLOCK, "Clock"),
        (ids::STACK, "Stack"),
        (ids::STACK_RESOURCES, "Stack resources"),
        (ids::SOURCE_BUCKET, "Source bucket"),
        (ids::UPLOADS, "Uploads"),
        (ids::DESTINATION_BUCKET, "Destination bucket"),
        (ids::TABLE, "Job table"),
        (ids::TABLE_GET_ITEM, "Reading one job"),
        (ids::TABLE_SCAN, "Scanning the table"),
        (ids::TOPIC, "Notifications topic"),
        (ids::MONITOR, "Live monitor"),
        (ids::NOT_TRIED, NOT_TRIED),
    ];
    let start = AWS.iter().position(|(id, _)| *id == first).unwrap_or(0);
    for (id, name) in &AWS[start..] {
        list.push(id, *name, Outcome::skipped(format!("not checked: {why}")));
    }
}

fn region_fix(err: &ConnectionError) -> String {
    match err {
        ConnectionError::NoRegion => {
            "pass --region (e.g. --region us-east-1), set AWS_REGION, or add `region = …` to the profile in ~/.aws/config".into()
        }
        ConnectionError::BadEndpoint(_) => {
            "give the endpoint as a URL, e.g. --endpoint-url http://127.0.0.1:4566 (the address `vodesk local-stack` prints)".into()
        }
    }
}

fn region_outcome(setup: &Setup, clients: &AwsClients) -> Outcome {
    let region = &clients.region;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let from = if setup.connection.region.is_some() {
        "as given".to_owned()
    } else if env("AWS_REGION").is_some() {
        "from AWS_REGION".to_owned()
    } else if env("AWS_DEFAULT_REGION").is_some() {
        "from AWS_DEFAULT_REGION".to_owned()
    } else {
        "from the profile's config".to_owned()
    };
    let detail = match &clients.endpoint_url {
        Some(url) => format!("{region} ({from}), calls go to {url}"),
        None => format!("{region} ({from})"),
    };
    if clients.endpoint_url.is_none() && !looks_like_region(region) {
        return Outcome::warn(
            format!("{detail}: this does not look like an AWS region"),
            "AWS regions read like us-east-1 or eu-west-3: check --region, AWS_REGION or the profile's region",
        );
    }
    Outcome::pass(detail)
}

/// `us-east-1`, `ap-southeast-4`, `us-gov-west-1`, `cn-north-1`: lowercase words, a number last.
fn looks_like_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// The credentials as the SDK will find them: where they come from and when they expire.
async fn credentials_outcome(
    config: &aws_config::SdkConfig,
    profile: Option<&str>,
    emulator: bool,
) -> Outcome {
    let no_credentials = || {
        let fix = credentials_fix(Failure::NoCredentials, profile).unwrap_or_default();
        Outcome::fail("no AWS credentials were found", fix)
    };
    let Some(provider) = config.credentials_provider() else {
        return no_credentials();
    };
    let credentials = match bounded(provider.provide_credentials()).await {
        Some(Ok(credentials)) => credentials,
        Some(Err(err)) => return credentials_error(err, profile),
        None => return timed_out("loading the credentials"),
    };
    let source = credentials_source(
        credentials
            .get_property::<Vec<Feature>>()
            .map_or(&[][..], Vec::as_slice),
        profile,
        emulator,
    );
    let Some(expiry) = credentials.expiry() else {
        return Outcome::pass(format!("{source}; they do not expire"));
    };
    let left = expiry.duration_since(SystemTime::now()).unwrap_or_default();
    if left < EXPIRY_WARNING {
        return Outcome::warn(
            format!("{source}; they expire in {}", human_duration(left)),
            format!(
                "sign in again before starting long uploads: `{}` (or renew the profile's credentials)",
                sign_in_command(profile)
            ),
        );
    }
    Outcome::pass(format!("{source}; they expire in {}", human_duration(left)))
}

/// A credentials provider's error, classified as the SDK's errors are (by type, never by text).
fn credentials_error(err: CredentialsError, profile: Option<&str>) -> Outcome {
    let said = untrusted(&aws_sdk_s3::error::DisplayErrorContext(&err).to_string());
    let as_sdk: SdkError<DescribeStacksError, HttpResponse> = SdkError::construction_failure(err);
    let failure = sdk_error::failure(&as_sdk);
    match credentials_fix(failure, profile) {
        // The chain's own account of each source it tried says nothing more useful.
        Some(fix) if failure == Failure::NoCredentials => Outcome::fail(
            "no AWS credentials were found (environment, profile files, SSO, web identity, container and instance roles were tried)",
            fix,
        ),
        Some(fix) => Outcome::fail(format!("the AWS session has expired ({said})"), fix),
        None => Outcome::fail(
            format!("the credentials could not be loaded ({said})"),
            "try again; if it persists, check the network to the sign-in service (SSO, STS, the instance metadata)",
        ),
    }
}

/// Where the credentials came from, in the words of the AWS configuration.
fn credentials_source(features: &[Feature], profile: Option<&str>, emulator: bool) -> String {
    let name = profile.unwrap_or("default");
    let has = |wanted: &[Feature]| features.iter().any(|f| wanted.contains(f));
    if has(&[Feature::CredentialsSso, Feature::CredentialsProfileSso]) {
        format!("IAM Identity Center (SSO) of profile {name}")
    } else if has(&[
        Feature::CredentialsProcess,
        Feature::CredentialsProfileProcess,
    ]) {
        format!("the credential_process of profile {name}")
    } else if has(&[Feature::CredentialsLogin, Feature::CredentialsProfileLogin]) {
        format!("the `aws login` session of profile {name}")
    } else if has(&[
        Feature::CredentialsEnvVarsStsWebIdToken,
        Feature::CredentialsStsAssumeRoleWebId,
        Feature::CredentialsProfileStsWebIdToken,
    ]) {
        "a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".into()
    } else if has(&[Feature::CredentialsStsAssumeRole]) {
        format!("a role assumed through profile {name}")
    } else if has(&[Feature::CredentialsImds]) {
        "this instance's role (instance metadata)".into()
    } else if has(&[Feature::CredentialsHttp]) {
        "the container's role (its credentials endpoint)".into()
    } else if has(&[Feature::CredentialsEnvVars]) {
        "environment variables (AWS_ACCESS_KEY_ID)".into()
    } else if has(&[Feature::CredentialsProfile]) {
        format!("the keys of profile {name} (~/.aws/credentials or config)")
    } else if emulator {
        "the local emulator's test keys".into()
    } else {
        "found (their source is not named)".into()
    }
}
/// The clients, each teaching `clock` the service's time from every answer.
fn with_clock(clients: AwsClients, clock: &ServiceClock) -> AwsClients {
    let AwsClients {
        s3,
        dynamodb,
        sns,
        sqs,
        cloudformation,
        region,
        endpoint_url,
    } = clients;
    AwsClients {
        s3: aws_sdk_s3::Client::from_conf(
            s3.config().to_builder().interceptor(clock.reader()).build(),
        ),
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            dynamodb
                .config()
                .to_builder()
                .interceptor(clock.reader())
                .build(),
        ),
        sns: aws_sdk_sns::Client::from_conf(
            sns.config()
                .to_builder()
                .interceptor(clock.reader())
                .build(),
        ),
        sqs: aws_sdk_sqs::Client::from_conf(
            sqs.config()
                .to_builder()
                .interceptor(clock.reader())
                .build(),
        ),
        cloudformation: aws_sdk_cloudformation::Client::from_conf(
            cloudformation
                .config()
                .to_builder()
                .interceptor(clock.reader())
                .build(),
        ),
        region,
        endpoint_url,
    }
}

/// How far this machine's clock is from the service's, as the last answer's `Date` told.
pub(super) fn clock_outcome(clock: &ServiceClock, local: SystemTime) -> Outcome {
    if clock.last_date().is_none() {
        return Outcome::skipped("no answer from the service carried its time");
    }
    let service = clock.at(local);
    let (off, direction) = match service.duration_since(local) {
        Ok(ahead) => (ahead, "behind"),
        Err(behind) => (behind.duration(), "ahead of"),
    };
    // The `Date` has a resolution of one second, and the answer took a moment to arrive.
    if off <= Duration::from_secs(2) {
        return Outcome::pass("in step with the service's (its answers' Date)");
    }
    let detail = format!(
        "this computer's clock is {} {direction} the service's",
        human_duration(off)
    );
    if off > SKEW_LIMIT {
        Outcome::fail(
            format!("{detail}: AWS refuses requests signed more than 5 minutes off"),
            format!("{SET_THE_CLOCK}, then run the check again"),
        )
    } else if off > SKEW_WARNING {
        Outcome::warn(
            format!("{detail} (AWS refuses requests beyond 5 minutes)"),
            SET_THE_CLOCK,
        )
    } else {
        Outcome::pass(detail)
    }
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;

    const T: SystemTime = SystemTime::UNIX_EPOCH;

    fn clock_at(offset_secs: i64) -> (ServiceClock, SystemTime) {
        let local = T + Duration::from_secs(1_000_000);
        let service = if offset_secs >= 0 {
            local + Duration::from_secs(offset_secs.unsigned_abs())
        } else {
            local - Duration::from_secs(offset_secs.unsigned_abs())
        };
        let clock = ServiceClock::default();
        clock.learn(service, local);
        (clock, local)
    }

    #[test]
    fn the_clock_is_judged_against_the_sigv4_limit() {
        let (clock, local) = clock_at(1);
        assert!(matches!(clock_outcome(&clock, local), Outcome::Pass { .. }));
        let (clock, local) = clock_at(-90);
        let outcome = clock_outcome(&clock, local);
        assert!(matches!(outcome, Outcome::Warn { .. }), "{outcome:?}");
        assert!(outcome.text().contains("ahead of"), "{outcome:?}");
        let (clock, local) = clock_at(600);
        let outcome = clock_outcome(&clock, local);
        assert!(outcome.is_fail(), "{outcome:?}");
        assert!(outcome.text().contains("10 min 00 s behind"), "{outcome:?}");
        assert!(
            outcome.fix().unwrap().contains("timedatectl"),
            "{outcome:?}"
        );
        let unknown = clock_outcome(&ServiceClock::default(), local);
        assert!(matches!(unknown, Outcome::Skipped { .. }));
    }

    #[test]
    fn regions_are_recognised_by_their_shape() {
        for region in ["us-east-1", "ap-southeast-4", "us-gov-west-1", "cn-north-1"] {
            assert!(looks_like_region(region), "{region}");
        }
        for region in ["useast1", "US-EAST-1", "us-east", "eu-west-x", ""] {
            assert!(!looks_like_region(region), "{region}");
        }
    }

    #[test]
    fn the_source_of_credentials_is_named() {
        let source = |features: &[Feature]| credentials_source(features, Some("work"), false);
        assert_eq!(
            source(&[Feature::CredentialsProfileSso, Feature::CredentialsProfile]),
            "IAM Identity Center (SSO) of profile work"
        );
        assert!(source(&[Feature::CredentialsEnvVars]).contains("AWS_ACCESS_KEY_ID"));
        assert!(source(&[Feature::CredentialsImds]).contains("instance"));
        assert!(source(&[Feature::CredentialsProfile]).contains("profile work"));
        assert_eq!(
            credentials_source(&[], None, true),
            "the local emulator's test keys"
        );
    }

    #[test]
    fn a_missing_or_expired_sign_in_gets_its_command() {
        let missing = credentials_error(CredentialsError::not_loaded("nothing"), None);
        assert!(missing.is_fail());
        assert!(
            missing.fix().unwrap().contains("aws configure"),
            "{missing:?}"
        );
        let expired = credentials_error(
            CredentialsError::provider_error("the SSO token expired"),
            Some("work"),
        );
        assert!(expired.text().contains("expired"), "{expired:?}");
        assert!(
            expired
                .fix()
                .unwrap()
                .contains("aws sso login --profile work"),
            "{expired:?}"
        );
    }

    #[test]
    fn skipping_covers_every_later_aws_line_once() {
        let mut list = Checklist::default();
        skip_from(&mut list, ids::STACK, "no credentials");
        let ids: Vec<&str> = list.checks.iter().map(|c| c.id).collect();
        assert_eq!(ids.first(), Some(&ids::STACK));
        assert_eq!(ids.last(), Some(&ids::NOT_TRIED));
        assert_eq!(ids.len(), 11);
        assert!(list.passed());
    }
}
