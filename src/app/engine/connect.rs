//! Reaching a deployment for the engine: the SDK clients, discovery of the solution's resources,
//! the listing of deployments, and the one-line messages (with the command that fixes an expired or
//! missing sign-in, or a wrong clock) the window shows when that fails. The fix comes from the
//! error's typed [`Failure`], never from its text. When that is not enough, "Check my setup" runs
//! the doctor's whole checklist on the same request ([`check_setup`]).

use super::ConnectRequest;
use crate::aws::connection::{AwsClients, ConnectionSettings};
use crate::aws::discovery::{SolutionStack, VodResources, discover, find_solution_stacks};
use crate::aws::sdk_error::{Failure, with_credentials_fix};
use crate::doctor::{Checklist, Options, Setup};

/// The deployments reachable with `settings`, or why none could be listed.
pub(super) async fn find_stacks(
    settings: &ConnectionSettings,
) -> Result<Vec<SolutionStack>, String> {
    let clients = AwsClients::connect(settings)
        .await
        .map_err(|e| with_fix(e.to_string(), e.failure(), settings))?;
    find_solution_stacks(&clients)
        .await
        .map_err(|e| with_fix(e.to_string(), e.failure(), settings))
}

pub(super) async fn connect(
    request: &ConnectRequest,
) -> Result<(AwsClients, VodResources), String> {
    let settings = &request.connection;
    let clients = AwsClients::connect(settings)
        .await
        .map_err(|e| with_fix(e.to_string(), e.failure(), settings))?;
    let resources = discover(&clients, request.stack.as_deref(), &request.overrides)
        .await
        .map_err(|e| with_fix(e.to_string(), e.failure(), settings))?;
    Ok((clients, resources))
}

/// The doctor's checklist for `request`, as `vodesk doctor` checks the same flags: uploads and the
/// live monitor included (what the window does).
pub(super) async fn check_setup(request: &ConnectRequest) -> Checklist {
    let setup = Setup {
        connection: request.connection.clone(),
        stack: request.stack.clone(),
        overrides: request.overrides.clone(),
    };
    crate::doctor::check(&setup, &Options::default()).await
}

/// A failure the user fixes outside vodesk gets the command that fixes it (`aws sso login
/// --profile …`) in front of the message.
fn with_fix(message: String, failure: Failure, settings: &ConnectionSettings) -> String {
    with_credentials_fix(message, failure, settings.profile.as_deref())
}
