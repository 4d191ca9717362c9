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
