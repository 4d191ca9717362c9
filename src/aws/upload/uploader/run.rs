//! One run of an upload, from its lease to its [`Outcome`]: the lease, settling a commit an earlier run
//! sent, the file check (refused, or started over with `restart`), the send itself (multipart or
//! single), then the metadata file, the journal and the completion event; how a stopped or failed run
//! is journaled.

use std::fs::File;
use std::sync::Arc;
use std::time::Instant;

use super::control::Stop;
use super::{Outcome, RunError, UploadControl, Uploader, blocking, run_error_text};
use crate::aws::upload::events::UploadEvent;
use crate::aws::upload::fingerprint;
use crate::aws::upload::journal::{UploadRecord, UploadState};
use crate::aws::upload::lease::UploadLease;
use crate::aws::upload::plan;

impl Uploader {
    /// Sends (or resumes) the journaled upload `id` until it completes, is stopped or fails.
    /// With `restart`, a file that changed since is uploaded again from the start instead of refused.
    pub async fn run(&self, id: i64, control: &UploadControl, restart: bool) -> Outcome {
        let inner = &self.inner;
        let lease = match self.lease(id).await {
            Ok(lease) => lease,
            Err(outcome) => return outcome,
        };
        let outcome = match self.run_inner(id, control, restart).await {
            Ok(verified) => Outcome::Completed { verified },
            Err(RunError::Stopped) => match control.requested() {
                Some(Stop::Cancel) => self.cancel_leased(id).await,
                _ => Outcome::Paused {
                    reason: "paused".into(),
                },
            },
            Err(RunError::CredentialsExpired(detail)) => {
                let login = crate::aws::sdk_error::sign_in_command(inner.profile.as_deref());
                Outcome::Paused {
                    reason: format!(
                        "your AWS session has expired ({detail}): sign in again ({login}), then run `vodesk resume {id}`"
                    ),
                }
            }
            Err(RunError::Failed(error) | RunError::Request { message: error, .. }) => {
                Outcome::Failed { error }
            }
        };
        let event = match &outcome {
            Outcome::Completed { .. } => None, // sent by run_inner, which knows the size and time
            Outcome::Paused { reason } => {
                self.record_stop(id, UploadState::Paused, reason).await;
                Some(UploadEvent::Paused {
                    id,
                    reason: reason.clone(),
                })
            }
            Outcome::Cancelled => Some(UploadEvent::Cancelled { id }),
            Outcome::Failed { error } => {
                self.record_stop(id, UploadState::Failed, error).await;
                Some(UploadEvent::Failed {
                    id,
                    error: error.clone(),
                })
            }
            Outcome::RunningElsewhere { .. } => None,
        };
        if let Some(event) = event {
            self.emit(event);
        }
        drop(lease);
        outcome
    }

    /// Takes the upload's lease for this run, or tells (as an event and an outcome) who has it.
    pub(super) async fn lease(&self, id: i64) -> Result<UploadLease, Outcome> {
        let taken = blocking(self.inner.journal.clone(), move |j| j.try_lease(id)).await;
        match taken {
            Ok(Ok(lease)) => Ok(lease),
            Ok(Err(holder)) => {
                let holder = holder.to_string();
                self.emit(UploadEvent::RunningElsewhere {
                    id,
                    holder: holder.clone(),
                });
                Err(Outcome::RunningElsewhere { holder })
            }
            Err(err) => Err(Outcome::Failed {
                error: run_error_text(err),
            }),
        }
    }

    /// Journals how a run stopped. A completed upload stays completed (the journal refuses to turn it
    /// back); a journal that cannot be written is said, since the next resume would not know.
    async fn record_stop(&self, id: i64, state: UploadState, reason: &str) {
        let reason_owned = reason.to_owned();
        let written = blocking(self.inner.journal.clone(), move |j| {
            j.set_state(id, state, Some(&reason_owned))
        })
        .await;
        if let Err(err) = written {
            self.note(
                id,
                format!(
                    "the upload journal could not record this ({}); run `vodesk uploads` to see where it stands",
                    run_error_text(err)
                ),
            );
        }
    }

    async fn run_inner(
        &self,
        id: i64,
        control: &UploadControl,
        restart: bool,
    ) -> Result<bool, RunError> {
        let inner = &self.inner;
        let mut record = blocking(inner.journal.clone(), move |j| j.get(id)).await?;
        if record.state == UploadState::Completed {
            return Ok(true);
        }
        // A request that makes the object went out before this run (the process died before it heard
        // back, or the answer was lost): the bucket says whether it took effect, before anything is sent.
        if let Some(verified) = self.settle_earlier_commit(&record, control).await? {
            return self
                .finish(&record, verified, Instant::now(), control)
                .await;
        }
        let path = record.file_path.clone();
        let (file, now) = tokio::task::spawn_blocking(move || {
            let file = File::open(&path)?;
            let identity = fingerprint::identify_open(&file)?;
            Ok::<_, std::io::Error>((Arc::new(file), identity))
        })
        .await
        .map_err(|e| RunError::Failed(e.to_string()))?
        .map_err(|e| {
            RunError::Failed(format!(
                "cannot read {}: {e}; put the file back (or reconnect its drive) and resume, or `vodesk cancel {id}`",
                record.file_path.display()
            ))
        })?;
        if let Some(why) = fingerprint::changed_since(&record.file, &now) {
            if !restart {
                return Err(RunError::Failed(format!(
                    "{} changed since its upload started ({why}), so the parts already sent no longer match it. \
                     Run `vodesk resume {id} --restart` to upload it again from the start, or `vodesk cancel {id}`",
                    record.file_path.display()
                )));
            }
            self.note(
                id,
                format!(
                    "{} changed since its upload started ({why}): starting over",
                    record.original_name
                ),
            );
            if record.upload_id.is_some() {
                // The old parts describe the old content: throw them away on the server too. Failing
                // to costs only storage until the bucket's lifecycle rule removes them.
                if let Err(err) = self.cancel_remote(&record).await {
                    tracing::debug!("could not abort the old multipart upload of {id}: {err:?}");
                }
            }
            let new_plan = plan::plan(now.size, Some(record.target.part_size))
                .or_else(|_| plan::plan(now.size, None))
                .map_err(|e| RunError::Failed(e.to_string()))?;
            let journal = inner.journal.clone();
            let identity = now.clone();
            blocking(journal, move |j| {
                j.reset_file(
                    id,
                    &identity,
                    new_plan.part_size,
                    new_plan.part_count,
                    new_plan.multipart,
                )
            })
            .await?;
            record = blocking(inner.journal.clone(), move |j| j.get(id)).await?;
        }
        blocking(inner.journal.clone(), move |j| {
            j.set_state(id, UploadState::Active, None)
        })
        .await?;

        let started = Instant::now();
        let verified = if record.target.multipart {
            self.send_multipart(&record, &file, control).await?
        } else {
            self.send_single(&record, &file, control).await?
        };
        self.finish(&record, verified, started, control).await
    }

    /// The object is in the bucket: the metadata file (MetadataFile stacks), then the journal, then the
    /// event.
    async fn finish(
        &self,
        record: &UploadRecord,
        verified: bool,
        started: Instant,
        control: &UploadControl,
    ) -> Result<bool, RunError> {
        let id = record.id;
        if let Some(document) = &record.target.metadata_document {
            self.put_metadata_document(record, document, control)
                .await?;
        }
        blocking(self.inner.journal.clone(), move |j| {
            j.set_state(id, UploadState::Completed, None)?;
            j.remove_lock_file(id);
            Ok(())
        })
        .await?;
        self.emit(UploadEvent::Completed {
            id,
            bucket: record.target.bucket.clone(),
            key: record.target.key.clone(),
            size: record.file.size,
            verified,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(verified)
    }
}
