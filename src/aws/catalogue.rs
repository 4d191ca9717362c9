//! The catalogue: every workflow the solution recorded in its DynamoDB table (contract §5), read-only.
//! Newest first from the `srcBucket-startTime-index` GSI, page by page (so a UI can load lazily as the
//! user scrolls); a Scan when the index is missing (a customised or damaged deployment); one job by
//! guid with a strongly consistent `GetItem`. Every read carries a `ProjectionExpression` that leaves
//! out the large `encodingJob` and `encodingOutput` maps. Items are decoded only through `contract`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::connection::AwsClients;
use crate::aws::discovery::VodResources;
use crate::aws::sdk_error::{self, Failure};
use crate::contract::{Decoded, JobRecord, decode_sdk_item};

/// The solution's one GSI: HASH `srcBucket`, RANGE `startTime`, projection ALL.
pub const INDEX_NAME: &str = "srcBucket-startTime-index";

/// Every attribute vodesk reads (§5 plus the older releases' spellings, §4), i.e. everything but
/// `encodingJob` and `encodingOutput`, which can be tens of KB per item and are never shown.
pub const PROJECTED_ATTRIBUTES: &[&str] = &[
    "guid",
    "workflowStatus",
    "startTime",
    "endTime",
    "EndTime",
    "workflowTrigger",
    "workflowName",
    "srcBucket",
    "destBucket",
    "cloudFront",
    "srcVideo",
    "srcMetadataFile",
    "frameCapture",
    "enableSns",
    "enableSqs",
    "enableMediaPackage",
    "archiveSource",
    "inputRotate",
    "acceleratedTranscoding",
    "srcMediainfo",
    "srcHeight",
    "srcWidth",
    "encodingProfile",
    "frameCaptureHeight",
    "frameCaptureWidth",
    "jobTemplate",
    "isCustomTemplate",
    "encodeJobId",
    "ecodeJobId",
    "hlsPlaylist",
    "hlsUrl",
    "dashPlaylist",
    "dashUrl",
    "mssPlaylist",
    "mssUrl",
    "cmafDashPlaylist",
    "cmafDashUrl",
    "cmafHlsPlaylist",
    "cmafHlsUrl",
    "mp4Outputs",
    "mp4Urls",
    "thumbNails",
    "thumbNailsUrls",
    "thumbNailsUrl",
    "thumbNail",
    "thumbNailUrl",
    "mediaPackageResourceId",
    "egressEndpoints",
    "workflowErrorAt",
    "errorMessage",
    "errorDetails",
];

/// How a page was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadVia {
    /// The GSI, newest first.
    Index,
    /// A Scan of the whole table, sorted here (the index is missing).
    Scan,
}

/// Where the next page starts. Opaque: hand it back to [`Catalogue::page`].
#[derive(Debug, Clone)]
pub struct PageToken(Token);

#[derive(Debug, Clone)]
enum Token {
    /// The GSI's `LastEvaluatedKey`.
    Index(HashMap<String, AttributeValue>),
    /// Scan mode reads and sorts the whole table once; the rest waits here.
    Scan(Vec<JobRecord>),
}

/// One page of jobs, newest first.
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<JobRecord>,
    /// Items that could not be decoded (one line each, with the guid when known); they are skipped.
    pub warnings: Vec<String>,
    pub via: ReadVia,
    /// `None` on the last page.
    pub next: Option<PageToken>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error(
        "could not {operation} table \"{table}\": {message}. Check the table name (--table) and that your identity may call dynamodb:{operation} on it"
    )]
    Read {
        operation: &'static str,
        table: String,
        message: String,
        /// What kind of failure the SDK's error was, read where it was seen.
        failure: Failure,
    },
    #[error(
        "item {guid} of table \"{table}\" is not a workflow record of the solution ({reason}); is --table the solution's table?"
    )]
    NotARecord {
        guid: String,
        table: String,
        reason: String,
    },
}

impl CatalogueError {
    /// What kind of failure this is: the read's own, or permanent for an item that is not a record.
    pub fn failure(&self) -> Failure {
        match self {
            CatalogueError::Read { failure, .. } => *failure,
            CatalogueError::NotARecord { .. } => Failure::Permanent,
        }
    }
}

/// Read access to the solution's table.
#[derive(Debug, Clone)]
pub struct Catalogue {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    source_bucket: String,
}

impl Catalogue {
    pub fn new(clients: &AwsClients, resources: &VodResources) -> Self {
        Self::with_names(
            clients.dynamodb.clone(),
            &resources.table,
            &resources.source_bucket,
        )
    }

    pub fn with_names(
        dynamodb: aws_sdk_dynamodb::Client,
        table: &str,
        source_bucket: &str,
    ) -> Self {
        Self {
            dynamodb,
            table: table.to_owned(),
            source_bucket: source_bucket.to_owned(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One page of up to `page_size` jobs, newest first; `token` from the previous page, `None` for
    /// the first. Falls back to a Scan when the index does not exist.
    pub async fn page(
        &self,
        token: Option<PageToken>,
        page_size: usize,
    ) -> Result<Page, CatalogueError> {
        let page_size = page_size.clamp(1, 1000);
        match token.map(|t| t.0) {
            Some(Token::Scan(rest)) => Ok(scan_page(rest, page_size)),
            Some(Token::Index(start)) => self
                .index_page(Some(start), page_size, None)
                .await
                .map_err(|e| e.into_error(&self.table)),
            None => match self.index_page(None, page_size, None).await {
                Err(QueryFailure::NoIndex) => {
                    let (records, warnings) = self.scan_all().await?;
                    let mut page = scan_page(records, page_size);
                    page.warnings.splice(0..0, warnings);
                    Ok(page)
                }
                other => other.map_err(|e| e.into_error(&self.table)),
            },
        }
    }

    /// The newest `limit` jobs that pass `keep`, reading as many pages as that takes.
    pub async fn newest(
        &self,
        limit: usize,
        keep: impl Fn(&JobRecord) -> bool,
    ) -> Result<Page, CatalogueError> {
        let mut out = Page {
            records: Vec::new(),
            warnings: Vec::new(),
            via: ReadVia::Index,
            next: None,
        };
        let mut token = None;
        loop {
            let page = self.page(token, 100).await?;
            out.via = page.via;
            out.warnings.extend(page.warnings);
            out.records
                .extend(page.records.into_iter().filter(|r| keep(r)));
            token = page.next;
            if out.records.len() >= limit {
                out.records.truncate(limit);
                return Ok(out);
            }
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Every job whose `startTime` is at or after `since` (ISO-8601), newest first: what polling mode
    /// compares between rounds.
    pub async fn started_since(&self, since: &str) -> Result<Page, CatalogueError> {
        let mut out = Page {
            records: Vec::new(),
            warnings: Vec::new(),
            via: ReadVia::Index,
            next: None,
        };
        let mut start = None;
        loop {
            match self.index_page(start, 1000, Some(since)).await {
                Ok(page) => {
                    out.records.extend(page.records);
                    out.warnings.extend(page.warnings);
                    match page.next.map(|t| t.0) {
                        Some(Token::Index(key)) => start = Some(key),
                        _ => return Ok(out),
                    }
                }
                Err(QueryFailure::NoIndex) => {
                    let (records, warnings) = self.scan_all().await?;
                    out.via = ReadVia::Scan;
                    out.warnings.extend(warnings);
                    out.records = records
                        .into_iter()
                        .filter(|r| r.start_time.as_deref().is_some_and(|t| t >= since))
                        .collect();
                    return Ok(out);
                }
                Err(other) => return Err(other.into_error(&self.table)),
            }
        }
    }

    /// One job by guid, strongly consistent (so it is never older than a message just received,
    /// contract §1), without the large maps. `Ok(None)` when the table has no such item.
    pub async fn get(&self, guid: &str) -> Result<Option<Decoded>, CatalogueError> {
        self.get_item(guid, true).await
    }

    /// [`Catalogue::get`] with every attribute: a metadata file's own fields (title, …) have names
    /// no projection can know, so the details of one job read the whole item, large maps included.
    pub async fn get_whole(&self, guid: &str) -> Result<Option<Decoded>, CatalogueError> {
        self.get_item(guid, false).await
    }

    async fn get_item(
        &self,
        guid: &str,
        projected: bool,
    ) -> Result<Option<Decoded>, CatalogueError> {
        let mut request = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("guid", AttributeValue::S(guid.to_owned()))
            .consistent_read(true);
        if projected {
            let (projection, names) = projection();
            request = request
                .projection_expression(projection)
                .set_expression_attribute_names(Some(names));
        }
        let out = request.send().await.map_err(|e| CatalogueError::Read {
            operation: "GetItem",
            table: self.table.clone(),
            message: sdk_error::describe(&e),
            failure: sdk_error::failure(&e),
        })?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        decode_sdk_item(item)
            .map(Some)
            .map_err(|e| CatalogueError::NotARecord {
                guid: guid.to_owned(),
                table: self.table.clone(),
                reason: e.to_string(),
            })
    }

    async fn index_page(
        &self,
        start: Option<HashMap<String, AttributeValue>>,
        page_size: usize,
        since: Option<&str>,
    ) -> Result<Page, QueryFailure> {
        let (projection, mut names) = projection();
        names.insert("#b".into(), "srcBucket".into());
        let mut request = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .index_name(INDEX_NAME)
            .scan_index_forward(false)
            .limit(i32::try_from(page_size).unwrap_or(1000))
            .projection_expression(projection)
            .expression_attribute_values(":b", AttributeValue::S(self.source_bucket.clone()))
            .set_exclusive_start_key(start);
        request = match since {
            Some(since) => {
                names.insert("#t".into(), "startTime".into());
                request
                    .key_condition_expression("#b = :b AND #t >= :t")
                    .expression_attribute_values(":t", AttributeValue::S(since.to_owned()))
            }
            None => request.key_condition_expression("#b = :b"),
        };
        let out = request
            .set_expression_attribute_names(Some(names))
            .send()
            .await
            .map_err(|e| {
                let message = sdk_error::describe(&e);
                // DynamoDB answers a query on a missing index with a ValidationException ("The
                // table does not have the specified index"); moto with a ResourceNotFoundException
                // naming the index. A missing table is ResourceNotFound without either phrase. The
                // SDK gives nothing typed for a missing index (both codes answer other mistakes
                // too), so only the service's message tells it.
                let code = e.code().unwrap_or_default();
                let about_index =
                    message.contains("specified index") || message.contains(INDEX_NAME);
                if about_index
                    && matches!(code, "ValidationException" | "ResourceNotFoundException")
                {
                    QueryFailure::NoIndex
                } else {
                    QueryFailure::Other(message, sdk_error::failure(&e))
                }
            })?;
        let (records, warnings) = decode_items(out.items());
        let next = out
            .last_evaluated_key()
            .filter(|k| !k.is_empty())
            .map(|k| PageToken(Token::Index(k.clone())));
        Ok(Page {
            records,
            warnings,
            via: ReadVia::Index,
            next,
        })
    }

    /// The whole table (sparse error items included), newest first; items without a `startTime`
    /// (errors before Ingest, §5) come last.
    async fn scan_all(&self) -> Result<(Vec<JobRecord>, Vec<String>), CatalogueError> {
        let (projection, names) = projection();
        let mut pages = self
            .dynamodb
            .scan()
            .table_name(&self.table)
            .projection_expression(projection)
            .set_expression_attribute_names(Some(names))
            .into_paginator()
            .send();
        let mut records = Vec::new();
        let mut warnings = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CatalogueError::Read {
                operation: "Scan",
                table: self.table.clone(),
                message: sdk_error::describe(&e),
                failure: sdk_error::failure(&e),
            })?;
            let (mut decoded, mut problems) = decode_items(page.items());
            records.append(&mut decoded);
            warnings.append(&mut problems);
        }
        records.sort_by(|a, b| match (&a.start_time, &b.start_time) {
            (Some(a), Some(b)) => b.cmp(a),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.guid.cmp(&b.guid),
        });
        Ok((records, warnings))
    }
}

enum QueryFailure {
    NoIndex,
    /// The request's one-line message and what kind of failure it was.
    Other(String, Failure),
}

impl QueryFailure {
    fn into_error(self, table: &str) -> CatalogueError {
        let (message, failure) = match self {
            // Only a later page meets this (the first falls back to a Scan): the index went away.
            QueryFailure::NoIndex => (
                format!("the index {INDEX_NAME} does not exist"),
                Failure::Permanent,
            ),
            QueryFailure::Other(message, failure) => (message, failure),
        };
        CatalogueError::Read {
            operation: "Query",
            table: table.to_owned(),
            message,
            failure,
        }
    }
}

fn scan_page(mut rest: Vec<JobRecord>, page_size: usize) -> Page {
    let tail = rest.split_off(page_size.min(rest.len()));
    Page {
        records: rest,
        warnings: Vec::new(),
        via: ReadVia::Scan,
        next: (!tail.is_empty()).then(|| PageToken(Token::Scan(tail))),
    }
}

/// The projection expression over placeholders (`#p0, #p1, …`), so reserved words never matter.
fn projection() -> (String, HashMap<String, String>) {
    let mut names = HashMap::new();
    let mut expression = Vec::with_capacity(PROJECTED_ATTRIBUTES.len());
    for (i, attribute) in PROJECTED_ATTRIBUTES.iter().enumerate() {
        let placeholder = format!("#p{i}");
        names.insert(placeholder.clone(), (*attribute).to_owned());
        expression.push(placeholder);
    }
    (expression.join(", "), names)
}

fn decode_items(items: &[HashMap<String, AttributeValue>]) -> (Vec<JobRecord>, Vec<String>) {
    let mut records = Vec::with_capacity(items.len());
    let mut warnings = Vec::new();
    for item in items {
        match decode_sdk_item(item) {
            Ok(Decoded {
                record: Some(record),
                ..
            }) => records.push(record),
            Ok(_) => {}
            Err(err) => {
                let guid = match item.get("guid") {
                    Some(AttributeValue::S(guid)) => guid.as_str(),
                    _ => "(no guid)",
                };
                warnings.push(format!("item {guid} skipped: {err}"));
            }
        }
    }
    (records, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_names_every_attribute_but_the_large_maps() {
        let (expression, names) = projection();
        let projected: Vec<&str> = names.values().map(String::as_str).collect();
        assert_eq!(projected.len(), PROJECTED_ATTRIBUTES.len());
        for big in ["encodingJob", "encodingOutput"] {
            assert!(!projected.contains(&big), "{big} must not be projected");
        }
        for needed in [
            "guid",
            "workflowStatus",
            "srcMediainfo",
            "hlsUrl",
            "egressEndpoints",
        ] {
            assert!(projected.contains(&needed), "{needed} must be projected");
        }
        assert_eq!(
            expression.split(", ").count(),
            PROJECTED_ATTRIBUTES.len(),
            "{expression}"
        );
    }
}
