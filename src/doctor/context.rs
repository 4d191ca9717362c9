//! What the doctor's checks after the credentials share: the context ([`Ctx`]: the clients, the
//! service's clock, what names the deployment, and why the remaining checks cannot run once one
//! found it), and the reading of a failed call into what the user does about it: sign in again, set
//! the clock, ask for the permission (by the policy `vodesk iam-policy` prints), check a name, or
//! check the network. By the SDK's classification and the service's error code, never its words.

use std::error::Error;
use std::sync::Mutex;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use super::{Options, Outcome, timed_out, untrusted};
use crate::aws::connection::AwsClients;
use crate::aws::monitor::ServiceClock;
use crate::aws::sdk_error::{self, Failure, credentials_fix};

/// What the checks after the credentials share.
pub(super) struct Ctx {
    pub(super) clients: AwsClients,
    /// Learns the service's time from the `Date` of every answer.
    pub(super) clock: ServiceClock,
    pub(super) profile: Option<String>,
    pub(super) stack: Option<String>,
    pub(super) options: Options,
    /// Why nothing more can work (the credentials were refused, the clock is wrong, the service is
    /// out of reach), once a check found it.
    blocked: Mutex<Option<String>>,
}

impl Ctx {
    pub(super) fn new(
        clients: AwsClients,
        clock: ServiceClock,
        profile: Option<String>,
        stack: Option<String>,
        options: Options,
    ) -> Self {
        Self {
            clients,
            clock,
            profile,
            stack,
            options,
            blocked: Mutex::default(),
        }
    }

    /// Why the remaining checks cannot run, if a check found a reason.
    pub(super) fn blocked(&self) -> Option<String> {
        self.blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A check that got no answer in time: the rest would wait as long, so they are skipped.
    pub(super) fn timed_out(&self, what: &str) -> Outcome {
        self.block("the service did not answer in time");
        timed_out(what)
    }

    fn block(&self, why: &str) {
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        blocked.get_or_insert_with(|| why.to_owned());
    }

    /// `vodesk iam-policy` with what names this deployment.
    pub(super) fn policy_command(&self) -> String {
        match &self.stack {
            Some(stack) => format!("vodesk iam-policy --stack {stack}"),
            None => "vodesk iam-policy --source-bucket … --table … --topic-arn …".into(),
        }
    }

    /// The fix for a refused permission: the policy that grants it.
    pub(super) fn permission_fix(&self, action: &str) -> String {
        format!(
            "ask your AWS administrator to attach the policy `{}` prints: it grants {action} on this deployment's resources only",
            self.policy_command()
        )
    }

    /// The outcome of a failed call that needed `action`, for `what` ("start a multipart upload"),
    /// when the check has nothing more specific to say. Stops the remaining checks when nothing
    /// can work any more.
    pub(super) fn refused(&self, what: &str, action: &str, err: &CallError) -> Outcome {
        match err.trouble {
            Trouble::Denied => Outcome::fail(
                format!("{action} was refused: could not {what} ({})", err.said),
                self.permission_fix(action),
            ),
            _ => self.failed(what, err),
        }
    }

    /// The outcome of a failed call whose cause is not a refused permission.
    pub(super) fn failed(&self, what: &str, err: &CallError) -> Outcome {
        let problem = format!("could not {what} ({})", err.said);
        match err.trouble {
            Trouble::Blocked(failure) => {
                let fix = credentials_fix(failure, self.profile.as_deref()).unwrap_or_default();
                self.block(match failure {
                    Failure::ClockSkew => "this computer's clock is wrong",
                    _ => "the credentials were refused",
                });
                Outcome::fail(problem, fix)
            }
            Trouble::BadKey => {
                self.block("the credentials were refused");
                Outcome::fail(
                    problem,
                    format!(
                        "the service does not accept these keys: check the credentials of profile {} (`aws configure`), or unset stale AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                        self.profile.as_deref().unwrap_or("default")
                    ),
                )
            }
            Trouble::Unreachable => {
                self.block("the service could not be reached");
                Outcome::fail(problem, self.unreachable_fix())
            }
            Trouble::Denied | Trouble::Missing | Trouble::Other => Outcome::fail(
                problem,
                format!(
                    "check the deployment's resources with `vodesk stack`{}; the policy vodesk needs: `{}`",
                    self.stack
                        .as_deref()
                        .map(|s| format!(" --stack {s}"))
                        .unwrap_or_default(),
                    self.policy_command()
                ),
            ),
        }
    }

    fn unreachable_fix(&self) -> String {
        match &self.clients.endpoint_url {
            Some(url) => format!(
                "check that {url} runs (the local stack: `vodesk local-stack`) and that --endpoint-url or AWS_ENDPOINT_URL is right"
            ),
            None => format!(
                "check the region ({}), the network and any proxy (HTTPS_PROXY) or VPN in the way; then try again",
                self.clients.region
            ),
        }
    }
}

/// What kind of trouble a failed call is in, for the fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trouble {
    /// The credentials (expired, missing) or the clock: nothing else can work until it is fixed.
    Blocked(Failure),
    /// The access key is unknown or the secret key wrong.
    BadKey,
    /// A permission is missing.
    Denied,
    /// The resource does not exist.
    Missing,
    /// No answer, or the service is unwell (5xx, throttling).
    Unreachable,
    Other,
}

/// A failed call, read.
#[derive(Debug, Clone)]
pub(super) struct CallError {
    pub(super) trouble: Trouble,
    /// What the service (or the transport) said, as one bounded line.
    pub(super) said: String,
    pub(super) status: Option<u16>,
    /// S3's `x-amz-bucket-region`: where a bucket really is.
    pub(super) bucket_region: Option<String>,
}

const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "AuthorizationErrorException",
    "UnauthorizedOperation",
    "Forbidden",
    "AllAccessDisabled",
];
const BAD_KEY_CODES: &[&str] = &["InvalidAccessKeyId", "SignatureDoesNotMatch"];
const MISSING_CODES: &[&str] = &[
    "NoSuchBucket",
    "NotFound",
    "NotFoundException",
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
];

/// Reads a failed call: by the SDK's classification first (credentials, clock, transient), then by
/// the service's error code, never by its words.
pub(super) fn call_error<E>(err: &SdkError<E, HttpResponse>) -> CallError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let failure = sdk_error::failure(err);
    let code = err.code().unwrap_or_default();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let trouble = match failure {
        Failure::SessionExpired | Failure::NoCredentials | Failure::ClockSkew => {
            Trouble::Blocked(failure)
        }
        _ if BAD_KEY_CODES.contains(&code) => Trouble::BadKey,
        _ if DENIED_CODES.contains(&code) || code.contains("AccessDenied") => Trouble::Denied,
        Failure::NotFound => Trouble::Missing,
        _ if MISSING_CODES.contains(&code) => Trouble::Missing,
        Failure::Transient => Trouble::Unreachable,
        _ => Trouble::Other,
    };
    let said = match err {
        // The transport's own words are deep in the chain ("Connection refused", "dns error").
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            root_cause(err)
        }
        _ => sdk_error::describe(err),
    };
    CallError {
        trouble,
        said: untrusted(&said),
        status,
        bucket_region: err
            .raw_response()
            .and_then(|r| r.headers().get("x-amz-bucket-region"))
            .map(untrusted),
    }
}

/// The innermost error's words, with what failed on top when that says nothing.
fn root_cause(err: &(dyn Error + 'static)) -> String {
    let innermost = std::iter::successors(Some(err), |&e| e.source())
        .last()
        .map(ToString::to_string)
        .unwrap_or_default();
    if innermost.trim().is_empty() {
        err.to_string()
    } else {
        innermost
    }
}
