//! "Run again" and "Delete" of one job, for a connected session: each planned first (nothing is
//! changed), shown to the user, then executed on confirmation, with the library's operations
//! ([`crate::aws::operations`]) in the order the CLI uses them. After a retry the session follows
//! the table, as `vodesk retry --wait` does, until the new workflow's Ingest, and reports which
//! new guid is the retry of which job.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use super::{Emitter, Event};
use crate::aws::catalogue::Catalogue;
use crate::aws::connection::AwsClients;
use crate::aws::discovery::VodResources;
use crate::aws::operations::delete::{DeletePlan, Deleted, execute_delete, plan_delete};
use crate::aws::operations::retry::{
    Retried, RetryOptions, RetryPlan, execute_retry, new_job_since, plan_retry,
};
use crate::time::format_iso8601;

/// How long after a retry the table is followed for its new workflow's Ingest.
const LINK_WAIT: Duration = Duration::from_secs(15 * 60);
/// How often the table is read meanwhile.
const LINK_POLL: Duration = Duration::from_secs(2);
/// How far back the jobs of the source are read before the retry: startTime is the server's
/// clock, not this computer's.
const CLOCK_SLACK: Duration = Duration::from_secs(15 * 60);

/// What the UI asks of one job.
#[derive(Debug, Clone)]
pub enum OperationCommand {
    /// Plans a retry of job `guid` with `options` (a MetadataFile stack's changes): [`OperationEvent::RetryPlanned`].
    PlanRetry { guid: String, options: RetryOptions },
    /// Sends the planned write: [`OperationEvent::Retried`], then [`OperationEvent::RetryLinked`]
    /// once the new workflow's Ingest is in the table.
    Retry(Box<RetryPlan>),
    /// Plans deleting job `guid` (and its source, when asked): [`OperationEvent::DeletePlanned`].
    PlanDelete { guid: String, with_source: bool },
    /// Deletes what the plan lists: [`OperationEvent::Deleted`].
    Delete(Box<DeletePlan>),
}

/// What came of an [`OperationCommand`]; an error is the operation's own message.
#[derive(Debug, Clone)]
pub enum OperationEvent {
    RetryPlanned {
        guid: String,
        result: Result<Box<RetryPlan>, String>,
    },
    Retried {
        guid: String,
        result: Result<Box<Retried>, String>,
    },
    /// The workflow `new_guid` is the retry of `old_guid`.
    RetryLinked { new_guid: String, old_guid: String },
    DeletePlanned {
        guid: String,
        with_source: bool,
        result: Result<Box<DeletePlan>, String>,
    },
    Deleted {
        guid: String,
        result: Result<Box<Deleted>, String>,
    },
}

/// What an operation needs of the session.
#[derive(Clone)]
pub(super) struct OperationContext {
    pub clients: AwsClients,
    pub catalogue: Catalogue,
    pub resources: VodResources,
    pub emit: Emitter,
    /// The session's stop: following a retry ends with the session.
    pub stop: CancellationToken,
}

/// Runs `command` on its own task, so the session keeps forwarding updates meanwhile.
pub(super) fn spawn(command: OperationCommand, context: OperationContext) {
    tokio::spawn(run(command, context));
}

async fn run(command: OperationCommand, cx: OperationContext) {
    let event = match command {
        OperationCommand::PlanRetry { guid, options } => {
            let result = plan_retry(
                &cx.clients.s3,
                &cx.catalogue,
                &cx.resources,
                &guid,
                &options,
            )
            .await
            .map(Box::new)
            .map_err(|e| e.to_string());
            OperationEvent::RetryPlanned { guid, result }
        }
        OperationCommand::Retry(plan) => return retry(*plan, cx).await,
        OperationCommand::PlanDelete { guid, with_source } => {
            let result = plan_delete(
                &cx.clients,
                &cx.catalogue,
                &cx.resources,
                &guid,
                with_source,
            )
            .await
            .map(Box::new)
            .map_err(|e| e.to_string());
            OperationEvent::DeletePlanned {
                guid,
                with_source,
                result,
            }
        }
        OperationCommand::Delete(plan) => {
            let result = execute_delete(&cx.clients, &plan)
                .await
                .map(Box::new)
                .map_err(|e| e.to_string());
            OperationEvent::Deleted {
                guid: plan.guid.clone(),
                result,
            }
        }
    };
    cx.emit.emit(Event::Operation(event));
}

/// The write, then the table followed for the new workflow (the jobs of the source known before
/// the write are not it): the same way `vodesk retry --wait` tells the new guid.
async fn retry(plan: RetryPlan, cx: OperationContext) {
    let since = format_iso8601(SystemTime::now() - CLOCK_SLACK);
    // A failed read only makes the link less certain: a job of the source already in the table
    // could then be taken for the new one, so without it no link is made at all.
    let known: Option<HashSet<String>> =
        cx.catalogue.started_since(&since).await.ok().map(|page| {
            page.records
                .into_iter()
                .filter(|r| r.src_video.as_deref() == Some(plan.src_video.as_str()))
                .map(|r| r.guid)
                .collect()
        });
    let result = execute_retry(&cx.clients.s3, &plan)
        .await
        .map(Box::new)
        .map_err(|e| e.to_string());
    let started = result.is_ok();
    cx.emit.emit(Event::Operation(OperationEvent::Retried {
        guid: plan.guid.clone(),
        result,
    }));
    let Some(known) = known.filter(|_| started) else {
        return;
    };
    let deadline = Instant::now() + LINK_WAIT;
    while Instant::now() < deadline {
        if let Ok(Some(new)) = new_job_since(&cx.catalogue, &plan.src_video, &since, &known).await {
            cx.emit.emit(Event::Operation(OperationEvent::RetryLinked {
                new_guid: new.guid,
                old_guid: plan.guid.clone(),
            }));
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(LINK_POLL) => {}
            () = cx.stop.cancelled() => return,
        }
    }
}
