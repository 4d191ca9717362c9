//! Retrying a request: transient failures (timeouts, resets, 5xx, throttling) again after a pause that
//! grows, with jitter; the rest become typed failures the caller can tell apart.

use std::time::Duration;

use super::{RunError, UploadControl, Uploader, UploaderConfig};
use crate::aws::sdk_error::{self, Disposition};

impl Uploader {
    /// Runs `request` until it succeeds, retrying transient failures with exponential backoff and jitter.
    pub(super) async fn with_retries<T, E, F, Fut>(
        &self,
        id: i64,
        what: &str,
        control: &UploadControl,
        mut request: F,
    ) -> Result<T, RunError>
    where
        F: FnMut() -> Fut,
        Fut: Future<
            Output = Result<
                T,
                aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
            >,
        >,
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let config = &self.inner.config;
        let mut attempt = 1;
        loop {
            let result = tokio::select! {
                () = control.token.cancelled() => return Err(RunError::Stopped),
                result = request() => result,
            };
            let err = match result {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let message = sdk_error::describe(&err);
            match sdk_error::disposition(&err) {
                Disposition::Transient if attempt < config.max_attempts => {
                    let backoff = backoff(config, attempt);
                    tracing::debug!("{what} of upload {id} failed (attempt {attempt}): {message}");
                    // One silent retry covers a blip (the SDK already retried inside it); after that, say so.
                    if attempt >= 2 {
                        self.note(
                            id,
                            format!(
                                "{what}: {message}; retrying in {:.0} s",
                                backoff.as_secs_f64().ceil()
                            ),
                        );
                    }
                    tokio::select! {
                        () = control.token.cancelled() => return Err(RunError::Stopped),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    attempt += 1;
                }
                Disposition::Transient => {
                    return Err(RunError::Request {
                        disposition: Disposition::Transient,
                        message: format!(
                            "{what} still failing after {attempt} attempts ({message}); check the network and run `vodesk resume {id}`"
                        ),
                    });
                }
                Disposition::CredentialsExpired => {
                    return Err(RunError::CredentialsExpired(message));
                }
                Disposition::ClockSkew => {
                    return Err(RunError::Request {
                        disposition: Disposition::ClockSkew,
                        message: format!(
                            "{what} refused because this computer's clock is wrong ({message}): {}, then run `vodesk resume {id}`",
                            sdk_error::SET_THE_CLOCK
                        ),
                    });
                }
                disposition => {
                    return Err(RunError::Request {
                        disposition,
                        message: format!("{what} refused: {message}"),
                    });
                }
            }
        }
    }
}

/// Pause before attempt `attempt + 1`: exponential, capped, with ±25 % jitter so that many parts failing
/// together do not retry in lockstep.
pub(super) fn backoff(config: &UploaderConfig, attempt: u32) -> Duration {
    let exp = config
        .base_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(config.max_backoff);
    let jitter: f64 = rand::random_range(0.75..1.25);
    capped.mul_f64(jitter)
}
