//! Delete a job: its outputs (every object under `<guid>/` in the destination bucket), its item in
//! the table and, when asked, its source video (and on a MetadataFile stack its metadata file).
//! Planned first ([`plan_delete`]: lists what will go, with sizes; deletes nothing), then executed
//! ([`execute_delete`]). Nothing of another job is deleted: the guid must be a whole UUID, so the
//! prefix `<guid>/` (with its slash) names one job's folder only, every key is checked against it
//! again before the request, and a source another job of the table also uses is kept, with a note.
//! The item goes last, so a delete that failed half-way is planned again from it.
//!
//! No CloudFront invalidation is made: nothing links to the deleted guid's paths any more, and
//! copies the CDN may hold expire with their TTL ([`NO_INVALIDATION_NOTE`]).

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde::Serialize;

use super::{OperationError, check_same_stack, parse_guid};
use crate::aws::catalogue::Catalogue;
use crate::aws::connection::AwsClients;
use crate::aws::discovery::VodResources;
use crate::aws::sdk_error::{self, Disposition};

/// What the CLI and the app say after a delete.
pub const NO_INVALIDATION_NOTE: &str = "No CloudFront invalidation is needed, and none was made: the outputs were under the job's own guid prefix, which nothing links to any more, and copies cached at the edge expire on their own.";

/// DeleteObjects takes at most this many keys a request.
const DELETE_BATCH: usize = 1000;

/// One object to delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedObject {
    pub bucket: String,
    pub key: String,
    pub size: u64,
}

/// What a delete will remove, read before anything is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletePlan {
    pub guid: String,
    pub table: String,
    /// Where the outputs are; `None` when neither the stack nor the record names it.
    pub destination_bucket: Option<String>,
    /// Every object under `<guid>/`.
    pub outputs: Vec<PlannedObject>,
    /// The item in the table exists.
    pub item: bool,
    /// The source video and its metadata file, when asked for and used by no other job.
    pub source: Vec<PlannedObject>,
    /// What was kept, and why (a source another job uses, an object already gone).
    pub notes: Vec<String>,
}

impl DeletePlan {
    /// Bytes of every object the plan deletes.
    pub fn total_size(&self) -> u64 {
        self.outputs
            .iter()
            .chain(&self.source)
            .map(|o| o.size)
            .sum()
    }

    /// `<guid>/`: the only prefix of the destination bucket the plan may touch.
    pub fn prefix(&self) -> String {
        format!("{}/", self.guid)
    }
}

/// What a delete removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deleted {
    pub guid: String,
    pub objects: Vec<PlannedObject>,
    pub item: bool,
    /// Objects S3 would not delete, with its reason; the item is then kept too.
    pub failed: Vec<(String, String)>,
    pub notes: Vec<String>,
}

/// Lists what deleting `guid` removes. `with_source` adds the source video (and its metadata file),
/// unless another job in the table uses the same one.
pub async fn plan_delete(
    clients: &AwsClients,
    catalogue: &Catalogue,
    resources: &VodResources,
    guid: &str,
    with_source: bool,
) -> Result<DeletePlan, OperationError> {
    let guid = parse_guid(guid)?;
    let record = catalogue
        .get(&guid)
        .await?
        .and_then(|decoded| decoded.record);
    if let Some(record) = &record {
        check_same_stack(record, resources)?;
    }
    let destination_bucket = match (
        &resources.destination_bucket,
        record.as_ref().and_then(|r| r.dest_bucket.as_ref()),
    ) {
        (Some(stack), Some(recorded)) if stack != recorded => {
            return Err(OperationError::OtherStack {
                guid,
                reason: format!(
                    "its outputs are in bucket {recorded}, not this stack's destination bucket {stack}"
                ),
            });
        }
        (Some(bucket), _) | (None, Some(bucket)) => Some(bucket.clone()),
        (None, None) => None,
    };
    let mut plan = DeletePlan {
        guid,
        table: catalogue.table().to_owned(),
        destination_bucket,
        outputs: Vec::new(),
        item: record.is_some(),
        source: Vec::new(),
        notes: Vec::new(),
    };
    match plan.destination_bucket.clone() {
        Some(bucket) => plan.outputs = list_prefix(&clients.s3, &bucket, &plan.prefix()).await?,
        None => plan.notes.push(
            "the destination bucket is not known (the stack has no DestinationBucket output and the record names none), so no outputs are listed".to_owned(),
        ),
    }
    if with_source && let Some(record) = &record {
        let wanted = [record.src_video.clone(), record.src_metadata_file.clone()];
        let others = catalogue
            .newest(usize::MAX, |other| {
                other.guid != plan.guid
                    && (other.src_video.is_some() && other.src_video == wanted[0]
                        || other.src_metadata_file.is_some()
                            && other.src_metadata_file == wanted[1])
            })
            .await?
            .records;
        for key in wanted.into_iter().flatten() {
            let users: Vec<&str> = others
                .iter()
                .filter(|o| {
                    o.src_video.as_deref() == Some(&key)
                        || o.src_metadata_file.as_deref() == Some(&key)
                })
                .map(|o| o.guid.as_str())
                .collect();
            let bucket = &resources.source_bucket;
            if !users.is_empty() {
                plan.notes.push(format!(
                    "kept s3://{bucket}/{key}: job{} {} also use{} it",
                    if users.len() == 1 { "" } else { "s" },
                    users.join(", "),
                    if users.len() == 1 { "s" } else { "" },
                ));
                continue;
            }
            match size_of(&clients.s3, bucket, &key).await? {
                Some(size) => plan.source.push(PlannedObject {
                    bucket: bucket.clone(),
                    key,
                    size,
                }),
                None => plan
                    .notes
                    .push(format!("s3://{bucket}/{key} is already gone")),
            }
        }
    } else if with_source {
        plan.notes
            .push("the source is not known: the job has no item in the table any more".to_owned());
    }
    if !plan.item && plan.outputs.is_empty() && plan.source.is_empty() {
        return Err(OperationError::NothingToDelete {
            guid: plan.guid,
            table: plan.table,
        });
    }
    Ok(plan)
}

/// Deletes what `plan` lists: the outputs in batches, then the source, then the item (only when
/// every object went).
pub async fn execute_delete(
    clients: &AwsClients,
    plan: &DeletePlan,
) -> Result<Deleted, OperationError> {
    let mut done = Deleted {
        guid: plan.guid.clone(),
        objects: Vec::new(),
        item: false,
        failed: Vec::new(),
        notes: plan.notes.clone(),
    };
    let prefix = plan.prefix();
    // Checked again here: a plan is plain data, and nothing outside the guid's folder may go.
    let outputs: Vec<&PlannedObject> = plan
        .outputs
        .iter()
        .filter(|o| Some(&o.bucket) == plan.destination_bucket.as_ref())
        .filter(|o| o.key.starts_with(&prefix) && o.key.len() > prefix.len())
        .collect();
    for batch in outputs.chunks(DELETE_BATCH) {
        delete_batch(&clients.s3, batch, &mut done).await?;
    }
    for object in &plan.source {
        match clients
            .s3
            .delete_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
        {
            Ok(_) => done.objects.push(object.clone()),
            Err(e) => done
                .failed
                .push((object.key.clone(), sdk_error::describe(&e))),
        }
    }
    if plan.item && done.failed.is_empty() {
        done.item = delete_item(&clients.dynamodb, &plan.table, &plan.guid).await?;
        if !done.item {
            done.notes
                .push(format!("item {} was already gone", plan.guid));
        }
    } else if plan.item {
        done.notes.push(format!(
            "item {} is kept, so the delete can be run again for what is left",
            plan.guid
        ));
    }
    Ok(done)
}

async fn delete_batch(
    s3: &aws_sdk_s3::Client,
    batch: &[&PlannedObject],
    done: &mut Deleted,
) -> Result<(), OperationError> {
    let Some(first) = batch.first() else {
        return Ok(());
    };
    let invalid = |message: String| OperationError::S3 {
        action: "delete objects in",
        bucket: first.bucket.clone(),
        key: first.key.clone(),
        message,
        failure: sdk_error::Failure::Permanent,
    };
    let objects = batch
        .iter()
        .map(|o| ObjectIdentifier::builder().key(&o.key).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(false)
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    let out = s3
        .delete_objects()
        .bucket(&first.bucket)
        .delete(delete)
        .send()
        .await
        .map_err(|e| OperationError::S3 {
            action: "delete objects in",
            bucket: first.bucket.clone(),
            key: first.key.clone(),
            message: sdk_error::describe(&e),
            failure: sdk_error::failure(&e),
        })?;
    let failed: Vec<(String, String)> = out
        .errors()
        .iter()
        .map(|e| {
            (
                e.key().unwrap_or_default().to_owned(),
                e.message().or(e.code()).unwrap_or("refused").to_owned(),
            )
        })
        .collect();
    for object in batch {
        if !failed.iter().any(|(key, _)| *key == object.key) {
            done.objects.push((*object).clone());
        }
    }
    done.failed.extend(failed);
    Ok(())
}

/// DeleteItem on the condition that the item still exists: `false` when it was already gone.
async fn delete_item(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    guid: &str,
) -> Result<bool, OperationError> {
    let result = dynamodb
        .delete_item()
        .table_name(table)
        .key("guid", AttributeValue::S(guid.to_owned()))
        .condition_expression("attribute_exists(guid)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(OperationError::Table {
            action: "delete",
            guid: guid.to_owned(),
            table: table.to_owned(),
            message: sdk_error::describe(&e),
            failure: sdk_error::failure(&e),
        }),
    }
}

/// Every object under `prefix`, with its size (ListObjectsV2, page by page).
async fn list_prefix(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<PlannedObject>, OperationError> {
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| OperationError::S3 {
            action: "list",
            bucket: bucket.to_owned(),
            key: prefix.to_owned(),
            message: sdk_error::describe(&e),
            failure: sdk_error::failure(&e),
        })?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            // The prefix is the server's filter; this is ours.
            if !key.starts_with(prefix) {
                continue;
            }
            objects.push(PlannedObject {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                size: object
                    .size()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
            });
        }
    }
    Ok(objects)
}

/// The object's size, `None` when it does not exist.
async fn size_of(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<u64>, OperationError> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => Ok(Some(
            out.content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
        )),
        Err(e) if sdk_error::disposition(&e) == Disposition::NotFound => Ok(None),
        Err(e) => Err(OperationError::S3 {
            action: "read",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            message: sdk_error::describe(&e),
            failure: sdk_error::failure(&e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(bucket: &str, key: &str, size: u64) -> PlannedObject {
        PlannedObject {
            bucket: bucket.into(),
            key: key.into(),
            size,
        }
    }

    #[test]
    fn the_total_counts_outputs_and_source() {
        let plan = DeletePlan {
            guid: "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8".into(),
            table: "t".into(),
            destination_bucket: Some("dest".into()),
            outputs: vec![
                object(
                    "dest",
                    "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8/hls/a.m3u8",
                    10,
                ),
                object(
                    "dest",
                    "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8/hls/a_1.ts",
                    90,
                ),
            ],
            item: true,
            source: vec![object("src", "a.mp4", 1000)],
            notes: Vec::new(),
        };
        assert_eq!(plan.total_size(), 1100);
        assert_eq!(plan.prefix(), "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8/");
    }
}
