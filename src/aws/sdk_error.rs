//! Turns AWS SDK errors into what a person or the program can act on: a one-line message, and a
//! typed [`Failure`] (with the coarser [`Disposition`] the uploader acts on) read from the error's
//! types, service code, status and headers, never from its text. None of it carries credentials.

use crate::contract::terminal::one_line;
use std::error::Error;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::error::{CredentialsError, TokenError};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ConnectorError, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};

/// One line: the service's code and message when there is one, else the whole error chain.
pub fn describe<E>(err: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => error_chain(err),
    }
}

/// Each error of the chain in words, outermost first, without the debug dump of the SDK's own
/// context (which would show a person `DispatchFailure(ConnectorError { … })`); a message already
/// said by the one before it is not repeated.
fn error_chain(err: &dyn Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&dyn Error> = Some(err);
    while let Some(error) = current {
        let text = one_line(&error.to_string());
        if !text.is_empty() && !parts.last().is_some_and(|before| before.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

/// Why a request failed, as finely as its fix needs: unlike [`Disposition`], it tells an expired
/// session (sign in again) from credentials that were never set up (configure them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Timeouts, dropped connections, 5xx, throttling: try again after a pause.
    Transient,
    /// The session or its token expired or is no longer valid (SSO, STS): sign in again.
    SessionExpired,
    /// No credentials anywhere in the chain, or a profile set up wrong: set credentials up.
    NoCredentials,
    /// The request's time is too far from the server's: the computer's clock is wrong.
    ClockSkew,
    /// The multipart upload no longer exists on the server.
    NoSuchUpload,
    /// No such object (404).
    NotFound,
    /// A conditional write's condition failed (412).
    PreconditionFailed,
    /// Anything else (access denied, no such bucket, bad request, bad settings): retrying will not help.
    Permanent,
}

impl Failure {
    /// What to do about it, as the uploader sees it.
    pub fn disposition(self) -> Disposition {
        match self {
            Failure::Transient => Disposition::Transient,
            // Either way the user has to (re)establish credentials before anything can work.
            Failure::SessionExpired | Failure::NoCredentials => Disposition::CredentialsExpired,
            Failure::ClockSkew => Disposition::ClockSkew,
            Failure::NoSuchUpload => Disposition::NoSuchUpload,
            Failure::NotFound => Disposition::NotFound,
            Failure::PreconditionFailed => Disposition::PreconditionFailed,
            Failure::Permanent => Disposition::Permanent,
        }
    }
}

/// `message` with the fix of [`credentials_fix`] in front, when the failure has one (`aws sso login
/// --profile …`, set up credentials, set the clock): what the user reads first is what to do.
pub fn with_credentials_fix(message: String, failure: Failure, profile: Option<&str>) -> String {
    match credentials_fix(failure, profile) {
        Some(fix) => format!("{fix}. ({message})"),
        None => message,
    }
}

/// The fix for a failure the user resolves outside vodesk (signing in, setting up credentials,
/// setting the clock): the exact command when there is one. `None` for the other kinds.
pub fn credentials_fix(failure: Failure, profile: Option<&str>) -> Option<String> {
    match failure {
        // A wrong clock gets refused like an expired session, but signing in again would not help.
        Failure::ClockSkew => Some(format!(
            "the request was refused because this computer's clock is wrong (more than a few minutes off): {SET_THE_CLOCK}, then connect again"
        )),
        Failure::SessionExpired => Some(format!(
            "your AWS session has expired: sign in again with `{}` (or renew the credentials of the profile), then connect again",
            sign_in_command(profile)
        )),
        Failure::NoCredentials => Some(
            "no AWS credentials were found: choose a profile, run `aws configure` (or `aws configure sso`), or set AWS_PROFILE; without an AWS account, use the local demo stack".to_owned(),
        ),
        Failure::Transient
        | Failure::NoSuchUpload
        | Failure::NotFound
        | Failure::PreconditionFailed
        | Failure::Permanent => None,
    }
}

/// What sets a wrong clock right, for every message about one.
pub const SET_THE_CLOCK: &str = "set the correct time (for example `timedatectl set-ntp true`)";

/// The command that signs in again with `profile` (SSO sessions expire after hours).
pub fn sign_in_command(profile: Option<&str>) -> String {
    match profile {
        Some(p) => format!("aws sso login --profile {p}"),
        None => "aws sso login".to_owned(),
    }
}

/// What to do about a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Timeouts, dropped connections, 5xx, throttling: try again after a pause.
    Transient,
    /// The session or its token expired (SSO, STS), or there are no credentials: the user must
    /// sign in (again); nothing else is wrong.
    CredentialsExpired,
    /// The multipart upload no longer exists on the server (aborted, e.g. by a lifecycle rule).
    NoSuchUpload,
    /// No such object (404): a HeadObject that finds nothing.
    NotFound,
    /// A conditional write's condition failed (412): `If-None-Match: *` found an object at the key.
    PreconditionFailed,
    /// The request's time is too far from the server's: the computer's clock is wrong. Signing in
    /// again would not help.
    ClockSkew,
    /// Anything else (access denied, no such bucket, bad request): retrying will not help.
    Permanent,
}

const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "InternalError",
    "ServiceUnavailable",
    "RequestLimitExceeded",
    "BadDigest", // a part corrupted in transit: the server refused it, the next send is fresh
];
/// The session's token expired or is not (any longer) valid: "The security token included in the
/// request is expired / invalid" (S3 and CloudFormation say ExpiredToken and InvalidClientTokenId,
/// DynamoDB ExpiredTokenException and UnrecognizedClientException).
const EXPIRED_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "TokenRefreshRequired",
    "InvalidToken",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
];
/// A signature timestamp too far from the server's clock, by name (S3 says RequestTimeTooSkewed,
/// some services RequestExpired).
const CLOCK_SKEW_CODES: &[&str] = &["RequestTimeTooSkewed", "RequestExpired"];
/// A refused signature: a wrong clock when the server's time is far from ours (DynamoDB says
/// InvalidSignatureException, query services such as CloudFormation SignatureDoesNotMatch); else
/// a wrong secret key.
const SIGNATURE_CODES: &[&str] = &["InvalidSignatureException", "SignatureDoesNotMatch"];
/// How far the clocks may disagree before AWS refuses a signature (SigV4 allows five minutes).
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Decides how to treat an SDK error.
pub fn disposition<E>(err: &SdkError<E, HttpResponse>) -> Disposition
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    failure(err).disposition()
}

/// Classifies an SDK error from its types (the credential providers' errors in its source chain),
/// the service's error code, the HTTP status and the server's `Date` header.
pub fn failure<E>(err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            service_failure(service.err().code().unwrap_or_default(), service.raw())
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => Failure::Transient,
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            Failure::Transient
        }
        // Credentials are resolved while dispatching: an expired SSO session or an empty chain
        // surfaces here, as the provider's error wrapped in the dispatch failure. A credentials
        // load that times out in the identity cache gives a private error type: transient.
        SdkError::DispatchFailure(_) => credentials_failure(err).unwrap_or(Failure::Transient),
        _ => credentials_failure(err).unwrap_or(Failure::Permanent),
    }
}

fn service_failure(code: &str, raw: &HttpResponse) -> Failure {
    let status = raw.status().as_u16();
    if code == "NoSuchUpload" {
        Failure::NoSuchUpload
    } else if CLOCK_SKEW_CODES.contains(&code)
        || (SIGNATURE_CODES.contains(&code) && server_clock_differs(raw))
    {
        Failure::ClockSkew
    } else if status == 412 || code == "PreconditionFailed" {
        Failure::PreconditionFailed
    } else if status == 404 || code == "NoSuchKey" || code == "NotFound" {
        Failure::NotFound
    } else if EXPIRED_CODES.contains(&code) {
        Failure::SessionExpired
    } else if TRANSIENT_CODES.contains(&code) || status >= 500 || status == 429 {
        Failure::Transient
    } else {
        Failure::Permanent
    }
}

/// Whether the response's `Date` (the server's clock) is further from ours than AWS tolerates. The
/// only typed sign of a wrong clock behind a refused signature: the code is the same as for a wrong
/// key, and only the message's words ("Signature expired") differ.
fn server_clock_differs(raw: &HttpResponse) -> bool {
    let Some(date) = raw.headers().get("date") else {
        return false;
    };
    let Ok(server) = DateTime::from_str(date, DateTimeFormat::HttpDate) else {
        return false;
    };
    let ours = DateTime::from(SystemTime::now());
    server.secs().abs_diff(ours.secs()) > MAX_CLOCK_SKEW.as_secs()
}

/// The credential provider's error in `err`'s source chain, if any, as a failure. The outermost one
/// decides: the default chain wraps the providers' own errors in its "not loaded".
fn credentials_failure(err: &(dyn Error + 'static)) -> Option<Failure> {
    chain(err).find_map(provider_error_failure)
}

/// `err` itself as a credentials or token provider's error, if it is one.
fn provider_error_failure(err: &(dyn Error + 'static)) -> Option<Failure> {
    if let Some(credentials) = err.downcast_ref::<CredentialsError>() {
        return Some(match credentials {
            CredentialsError::CredentialsNotLoaded(_)
            | CredentialsError::InvalidConfiguration(_) => Failure::NoCredentials,
            CredentialsError::ProviderTimedOut(_) => Failure::Transient,
            CredentialsError::ProviderError(_) => provider_failure(err),
            // Unhandled (a provider's answer missing fields) and future variants: signing in again
            // is the best bet, and it pauses an upload rather than failing it.
            _ => Failure::SessionExpired,
        });
    }
    let token = err.downcast_ref::<TokenError>()?;
    Some(match token {
        TokenError::TokenNotLoaded(_) | TokenError::InvalidConfiguration(_) => {
            Failure::NoCredentials
        }
        TokenError::ProviderTimedOut(_) => Failure::Transient,
        TokenError::ProviderError(_) => provider_failure(err),
        TokenError::Unhandled(_) => Failure::SessionExpired,
    })
}

/// A provider that failed while it was configured (an SSO token expired and could not be refreshed,
/// SSO or STS refused the token, a `credential_process` failed): sign in again. Unless what it
/// wraps says more: a provider's error below it (a profile wraps its base provider's, SSO its token
/// provider's), or a request of its own that never got through. The SSO and STS service errors
/// below are `SdkError`s of operations vodesk does not link, so their codes cannot be read; the
/// transport's [`ConnectorError`] can.
fn provider_failure(provider_error: &(dyn Error + 'static)) -> Failure {
    for e in provider_error.source().into_iter().flat_map(chain) {
        if let Some(failure) = provider_error_failure(e) {
            return failure;
        }
        // The instance metadata service is the chain's last resort: when it answers with a refusal
        // (a proxy or firewall standing in for 169.254.169.254), no credentials were found anywhere.
        // Only an EC2 instance gets its credentials there, and there it answers.
        if e.downcast_ref::<aws_config::imds::client::error::ImdsError>()
            .is_some()
        {
            return Failure::NoCredentials;
        }
        if let Some(connector) = e.downcast_ref::<ConnectorError>()
            && (connector.is_io() || connector.is_timeout())
        {
            return Failure::Transient;
        }
    }
    Failure::SessionExpired
}

/// `err` and its sources, outermost first.
fn chain<'a>(err: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_sdk_s3::primitives::SdkBody;

    use super::*;

    type TestError = SdkError<HeadObjectError, HttpResponse>;

    /// A failure while the request was dispatched: how a credentials provider's error arrives.
    fn dispatch(source: impl Into<aws_sdk_s3::error::BoxError>) -> TestError {
        SdkError::dispatch_failure(ConnectorError::other(source.into(), None))
    }

    /// A service's answer with `code` and `status`, its `Date` header at `date` when given.
    fn service(code: &str, message: &str, status: u16, date: Option<SystemTime>) -> TestError {
        let mut raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        if let Some(date) = date {
            let date = DateTime::from(date).fmt(DateTimeFormat::HttpDate).unwrap();
            raw.headers_mut().insert("date", date);
        }
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(HeadObjectError::generic(meta), raw)
    }

    // The sources' words are chosen to mislead a reader of text: only the types may decide.

    #[test]
    fn an_empty_credentials_chain_is_missing_credentials() {
        let err = dispatch(CredentialsError::not_loaded("the SSO session has expired"));
        assert_eq!(failure(&err), Failure::NoCredentials);
        assert_eq!(disposition(&err), Disposition::CredentialsExpired);
        let fix = credentials_fix(failure(&err), Some("work")).unwrap();
        assert!(fix.contains("aws configure"), "{fix}");
        let err = dispatch(CredentialsError::invalid_configuration("token expired"));
        assert_eq!(failure(&err), Failure::NoCredentials);
    }

    #[test]
    fn a_provider_that_fails_is_an_expired_session() {
        // The SSO provider's expired, unrefreshable token: a token error inside a credentials error.
        let err = dispatch(CredentialsError::provider_error(
            TokenError::provider_error("no credentials in the chain"),
        ));
        assert_eq!(failure(&err), Failure::SessionExpired);
        assert_eq!(disposition(&err), Disposition::CredentialsExpired);
        let fix = credentials_fix(failure(&err), Some("work")).unwrap();
        assert!(fix.contains("`aws sso login --profile work`"), "{fix}");
        let fix = credentials_fix(failure(&err), None).unwrap();
        assert!(fix.contains("`aws sso login`"), "{fix}");
        let err = dispatch(CredentialsError::unhandled("clock"));
        assert_eq!(failure(&err), Failure::SessionExpired);
        let err = dispatch(TokenError::not_loaded("expired"));
        assert_eq!(failure(&err), Failure::NoCredentials);
    }

    #[test]
    fn a_provider_wrapping_another_is_classified_by_the_inner_one() {
        // A profile wraps its base provider's error in its own provider error.
        let inner = |error: CredentialsError| dispatch(CredentialsError::provider_error(error));
        let err = inner(CredentialsError::not_loaded("expired"));
        assert_eq!(failure(&err), Failure::NoCredentials);
        let err = inner(CredentialsError::provider_timed_out(Duration::from_secs(5)));
        assert_eq!(failure(&err), Failure::Transient);
        let err = inner(CredentialsError::provider_error("timed out"));
        assert_eq!(failure(&err), Failure::SessionExpired);
    }

    #[test]
    fn a_provider_that_could_not_reach_its_service_is_transient() {
        let unreachable: TestError =
            SdkError::dispatch_failure(ConnectorError::io("the SSO session has expired".into()));
        let err = dispatch(CredentialsError::provider_error(unreachable));
        assert_eq!(failure(&err), Failure::Transient);
        let err = dispatch(CredentialsError::provider_timed_out(Duration::from_secs(5)));
        assert_eq!(failure(&err), Failure::Transient);
        assert_eq!(credentials_fix(failure(&err), None), None);
    }

    #[test]
    fn a_dispatch_failure_reads_as_its_causes_without_debug_dumps() {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        );
        let text = describe(&dispatch(refused));
        assert!(text.contains("Connection refused (os error 111)"), "{text}");
        assert!(
            !text.contains("DispatchFailure") && !text.contains('{'),
            "{text}"
        );
    }

    #[test]
    fn dispatch_failures_without_a_credentials_error_are_transient() {
        let err = dispatch("credentials expired sso");
        assert_eq!(failure(&err), Failure::Transient);
        let err: TestError = SdkError::dispatch_failure(ConnectorError::timeout("expired".into()));
        assert_eq!(disposition(&err), Disposition::Transient);
        let err: TestError = SdkError::construction_failure("sso credentials expired");
        assert_eq!(failure(&err), Failure::Permanent);
        let err: TestError =
            SdkError::construction_failure(CredentialsError::not_loaded_no_source());
        assert_eq!(failure(&err), Failure::NoCredentials);
    }

    #[test]
    fn expired_tokens_are_read_from_the_code() {
        for code in [
            "ExpiredToken",
            "ExpiredTokenException",
            "UnrecognizedClientException",
        ] {
            let err = service(code, "", 400, None);
            assert_eq!(failure(&err), Failure::SessionExpired, "{code}");
            assert_eq!(disposition(&err), Disposition::CredentialsExpired, "{code}");
        }
        let err = service("AccessDenied", "The security token is expired", 403, None);
        assert_eq!(failure(&err), Failure::Permanent);
        assert_eq!(credentials_fix(failure(&err), Some("work")), None);
    }

    #[test]
    fn a_wrong_clock_is_not_reported_as_an_expired_session() {
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for err in [
            service("RequestTimeTooSkewed", "", 403, None),
            service("RequestExpired", "", 400, None),
            service("InvalidSignatureException", "", 400, Some(hour_ago)),
            service("SignatureDoesNotMatch", "", 403, Some(hour_ago)),
        ] {
            assert_eq!(failure(&err), Failure::ClockSkew, "{err:?}");
            assert_eq!(disposition(&err), Disposition::ClockSkew, "{err:?}");
            let fix = credentials_fix(failure(&err), Some("work")).unwrap();
            assert!(fix.contains("clock is wrong"), "{fix}");
            assert!(!fix.contains("sso login"), "{fix}");
        }
    }

    #[test]
    fn a_refused_signature_with_the_right_time_is_a_wrong_key() {
        for date in [Some(SystemTime::now()), None] {
            let err = service("InvalidSignatureException", "Signature expired", 400, date);
            assert_eq!(failure(&err), Failure::Permanent, "{date:?}");
        }
    }

    /// A real client whose credentials provider fails: what the SDK's orchestrator hands back.
    async fn through_a_client(problem: fn() -> CredentialsError) -> Failure {
        use aws_credential_types::credential_fn::provide_credentials_fn;
        let config = aws_sdk_cloudformation::Config::builder()
            .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudformation::config::Region::new("us-east-1"))
            // Never reached: credentials are resolved before anything is sent.
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(provide_credentials_fn(
                move || async move { Err(problem()) },
            ))
            .build();
        let client = aws_sdk_cloudformation::Client::from_conf(config);
        let err = client.describe_stacks().send().await.unwrap_err();
        assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");
        failure(&err)
    }

    #[tokio::test]
    async fn a_clients_credentials_errors_are_classified_by_type() {
        let missing = || CredentialsError::not_loaded("expired sso session");
        assert_eq!(through_a_client(missing).await, Failure::NoCredentials);
        let expired = || CredentialsError::provider_error("no credentials");
        assert_eq!(through_a_client(expired).await, Failure::SessionExpired);
    }

    #[test]
    fn service_codes_and_statuses_keep_their_dispositions() {
        let cases = [
            (
                service("NoSuchUpload", "", 404, None),
                Disposition::NoSuchUpload,
            ),
            (service("", "", 404, None), Disposition::NotFound),
            (
                service("PreconditionFailed", "", 412, None),
                Disposition::PreconditionFailed,
            ),
            (service("SlowDown", "", 503, None), Disposition::Transient),
            (service("", "", 500, None), Disposition::Transient),
            (service("", "", 429, None), Disposition::Transient),
            (
                service("AccessDenied", "", 403, None),
                Disposition::Permanent,
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(disposition(&err), expected, "{err:?}");
        }
    }
}
