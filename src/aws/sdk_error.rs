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

/// What to do about a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Timeouts, dropped connections, 5xx, throttling: try again after a pause.
    Transient,
    /// The session or its token expired (SSO, STS): the user must sign in again; nothing else is wrong.
    CredentialsExpired,
    /// The multipart upload no longer exists on the server (aborted, e.g. by a lifecycle rule).
    NoSuchUpload,
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
    "RequestExpired",
];

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
            if code == "NoSuchUpload" {
                Disposition::NoSuchUpload
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
