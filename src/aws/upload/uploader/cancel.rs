//! Cancelling an upload: aborting its multipart upload on the server and forgetting it in the journal,
//! for a run that was cancelled or for `vodesk cancel` on an upload not running here.

use super::{Outcome, RunError, Uploader, blocking};
use crate::aws::sdk_error::{self, Disposition};
use crate::aws::upload::journal::UploadRecord;

impl Uploader {
    /// Aborts the multipart upload (if any) and forgets the upload. For an upload that is not running
    /// here; one being sent by another process is left alone.
    pub async fn cancel_now(&self, id: i64) -> Outcome {
        let lease = match self.lease(id).await {
            Ok(lease) => lease,
            Err(outcome) => return outcome,
        };
        let outcome = self.cancel_leased(id).await;
        drop(lease);
        outcome
    }

    pub(super) async fn cancel_leased(&self, id: i64) -> Outcome {
        let record = match blocking(self.inner.journal.clone(), move |j| j.get(id)).await {
            Ok(record) => record,
            Err(err) => {
                return Outcome::Failed {
                    error: err.into_message(),
                };
            }
        };
        if let Some(upload_id) = &record.upload_id {
            let result = self
                .inner
                .s3
                .abort_multipart_upload()
                .bucket(&record.target.bucket)
                .key(&record.target.key)
                .upload_id(upload_id)
                .send()
                .await;
            if let Err(err) = result
                && sdk_error::disposition(&err) != Disposition::NoSuchUpload
            {
                return Outcome::Failed {
                    error: format!(
                        "could not abort the multipart upload of s3://{}/{}: {}; the upload is kept, try `vodesk cancel {id}` again",
                        record.target.bucket,
                        record.target.key,
                        sdk_error::describe(&err)
                    ),
                };
            }
        }
        let removed = blocking(self.inner.journal.clone(), move |j| {
            j.remove(id)?;
            j.remove_lock_file(id);
            Ok(())
        })
        .await;
        match removed {
            Ok(()) => Outcome::Cancelled,
            Err(err) => Outcome::Failed {
                error: err.into_message(),
            },
        }
    }

    pub(super) async fn cancel_remote(&self, record: &UploadRecord) -> Result<(), RunError> {
        let Some(upload_id) = &record.upload_id else {
            return Ok(());
        };
        self.inner
            .s3
            .abort_multipart_upload()
            .bucket(&record.target.bucket)
            .key(&record.target.key)
            .upload_id(upload_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| RunError::Failed(sdk_error::describe(&e)))
    }
}
