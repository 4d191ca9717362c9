//! Turns AWS SDK errors into one-line messages a person can act on. The SDK's own Display is terse
//! ("service error"); its error context names the code and the message. None of it carries credentials.

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};

/// One line: the service's code and message when there is one, else the whole error chain.
pub fn describe<E>(err: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => one_line(&DisplayErrorContext(err).to_string()),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The fix for a failure that reads as missing or expired credentials: the exact command to sign in
/// again (or to set credentials up). `None` when the message is about something else.
pub fn credentials_fix(message: &str, profile: Option<&str>) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    // A wrong clock reads like an expired session ("Signature expired"), but signing in again would
    // not help: say what would.
    if CLOCK_SKEW_CODES.iter().any(|code| message.contains(code))
        || lower.contains("signature expired")
        || lower.contains("too skewed")
    {
        return Some(
            "the request was refused because this computer's clock is wrong (more than a few minutes off): set the correct time (for example `timedatectl set-ntp true`), then connect again".to_owned(),
        );
    }
    let expired = EXPIRED_CODES.iter().any(|code| message.contains(code))
        || lower.contains("expired")
        || lower.contains("sso session")
        || lower.contains("token is invalid");
    let missing = lower.contains("no credentials")
        || lower.contains("credentials provider")
        || lower.contains("failed to load credentials")
        || lower.contains("could not load credentials");
    if expired {
        let login = match profile {
            Some(p) => format!("aws sso login --profile {p}"),
            None => "aws sso login".to_owned(),
        };
        return Some(format!(
            "your AWS session has expired: sign in again with `{login}` (or renew the credentials of the profile), then connect again"
        ));
    }
    missing.then(|| {
        "no AWS credentials were found: choose a profile, run `aws configure` (or `aws configure sso`), or set AWS_PROFILE; without an AWS account, use the local demo stack".to_owned()
    })
}

/// What to do about a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Timeouts, dropped connections, 5xx, throttling: try again after a pause.
    Transient,
    /// The session or its token expired (SSO, STS): the user must sign in again; nothing else is wrong.
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
const EXPIRED_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "TokenRefreshRequired",
    "InvalidToken",
];
/// A signature timestamp too far from the server's clock (S3 says RequestTimeTooSkewed; other
/// services RequestExpired or, with a "Signature expired" message, InvalidSignatureException).
const CLOCK_SKEW_CODES: &[&str] = &["RequestTimeTooSkewed", "RequestExpired"];

/// Decides how to treat an SDK error.
pub fn disposition<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Disposition
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_s3::error::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => Disposition::Transient,
        SdkError::DispatchFailure(failure) => {
            // Credentials are resolved while dispatching: an expired SSO session surfaces here.
            let text = DisplayErrorContext(err).to_string().to_ascii_lowercase();
            if failure.is_io() || failure.is_timeout() {
                Disposition::Transient
            } else if text.contains("expired")
                || text.contains("sso")
                || text.contains("credentials")
            {
                Disposition::CredentialsExpired
            } else {
                Disposition::Transient
            }
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let status = service.raw().status().as_u16();
            let message = service.err().message().unwrap_or_default();
            if code == "NoSuchUpload" {
                Disposition::NoSuchUpload
            } else if CLOCK_SKEW_CODES.contains(&code)
                || (code == "InvalidSignatureException" && message.contains("Signature expired"))
            {
                Disposition::ClockSkew
            } else if status == 412 || code == "PreconditionFailed" {
                Disposition::PreconditionFailed
            } else if status == 404 || code == "NoSuchKey" || code == "NotFound" {
                Disposition::NotFound
            } else if EXPIRED_CODES.contains(&code) {
                Disposition::CredentialsExpired
            } else if TRANSIENT_CODES.contains(&code) || status >= 500 || status == 429 {
                Disposition::Transient
            } else {
                Disposition::Permanent
            }
        }
        _ => {
            let text = DisplayErrorContext(err).to_string().to_ascii_lowercase();
            if text.contains("credentials") && (text.contains("expired") || text.contains("sso")) {
                Disposition::CredentialsExpired
            } else {
                Disposition::Permanent
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_sessions_name_the_sign_in_command() {
        let fix = credentials_fix(
            "ExpiredToken: The security token included in the request is expired",
            Some("work"),
        )
        .unwrap();
        assert!(fix.contains("`aws sso login --profile work`"), "{fix}");
        let fix = credentials_fix(
            "dispatch failure: failed to load credentials: no credentials in the chain",
            None,
        )
        .unwrap();
        assert!(fix.contains("aws configure"), "{fix}");
        assert_eq!(credentials_fix("AccessDenied: not allowed", None), None);
    }

    #[test]
    fn a_wrong_clock_is_not_reported_as_an_expired_session() {
        for message in [
            "RequestTimeTooSkewed: The difference between the request time and the current time is too large.",
            "InvalidSignatureException: Signature expired: 20261203T081100Z is now earlier than 20261203T083000Z",
            "RequestExpired: Request has expired.",
        ] {
            let fix = credentials_fix(message, Some("work")).unwrap();
            assert!(fix.contains("clock"), "{message}: {fix}");
            assert!(!fix.contains("sso login"), "{message}: {fix}");
        }
    }
}
