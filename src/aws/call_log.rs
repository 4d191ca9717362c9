//! A log of the AWS operations vodesk calls, one line per request (`S3 PutObject`), written when
//! `VODESK_AWS_CALL_LOG` names a file. An administrator compares it with what `vodesk iam-policy`
//! grants; the policy's test reads it to prove the policy grants exactly what is called. Only the
//! service and the operation are written: no parameters, no keys, no credentials.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// The variable that names the log file (appended to; several processes may share it).
pub const CALL_LOG_ENV: &str = "VODESK_AWS_CALL_LOG";

/// Appends each operation's name to the log file.
#[derive(Debug, Clone)]
pub struct CallLog {
    path: Arc<PathBuf>,
}

impl CallLog {
    /// The log asked for by [`CALL_LOG_ENV`], if any.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os(CALL_LOG_ENV).filter(|path| !path.is_empty())?;
        Some(Self {
            path: Arc::new(PathBuf::from(path)),
        })
    }

    fn append(&self, line: &str) {
        // One short write with O_APPEND: the lines of concurrent requests and processes do not mix.
        // A failure costs only the diagnostic, never the request.
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path.as_ref())
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(err) = written {
            tracing::debug!(
                "the AWS call log {} was not written: {err}",
                self.path.display()
            );
        }
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "vodesk-call-log"
    }

    // Not `read_before_execution`: a client's interceptors run that before the operation's own
    // configuration (which holds its name) is applied.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(operation) = cfg.load::<Metadata>() {
            self.append(&format!("{} {}\n", operation.service(), operation.name()));
        }
        Ok(())
    }
}
