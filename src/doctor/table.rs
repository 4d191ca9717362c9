//! The doctor's table checks: the table vodesk reads, through the index the dashboard reads
//! (Query), one job (GetItem) and a Scan (vodesk's fallback when the index is missing), each for
//! one item at most. A missing index is told from a missing table by whether the Scan works.

use aws_sdk_dynamodb::types::AttributeValue;

use super::access::{action, random_suffix};
use super::context::{Ctx, Trouble, call_error};
use super::{Checklist, Outcome, bounded, ids, untrusted};
use crate::aws::catalogue::INDEX_NAME;
use crate::aws::discovery::VodResources;

/// The table vodesk reads: its index (Query), one job (GetItem) and a Scan, each with one item at most.
pub(super) async fn table(list: &mut Checklist, ctx: &Ctx, r: &VodResources) {
    let name = format!("Job table {}", untrusted(&r.table));
    if let Some(why) = ctx.blocked() {
        let why = format!("not checked: {why}");
        list.push(ids::TABLE, name, Outcome::skipped(&why));
        list.push(
            ids::TABLE_GET_ITEM,
            "Reading one job",
            Outcome::skipped(&why),
        );
        list.push(ids::TABLE_SCAN, "Scanning the table", Outcome::skipped(why));
        return;
    }
    let dynamodb = &ctx.clients.dynamodb;
    let query = bounded(
        dynamodb
            .query()
            .table_name(&r.table)
            .index_name(INDEX_NAME)
            .key_condition_expression("#b = :b")
            .expression_attribute_names("#b", "srcBucket")
            .expression_attribute_values(":b", AttributeValue::S(r.source_bucket.clone()))
            .scan_index_forward(false)
            .limit(1)
            .send(),
    )
    .await;
    let scan = bounded(dynamodb.scan().table_name(&r.table).limit(1).send()).await;
    let get = bounded(
        dynamodb
            .get_item()
            .table_name(&r.table)
            .key(
                "guid",
                AttributeValue::S(format!("vodesk-doctor-{}", random_suffix())),
            )
            .send(),
    )
    .await;
    let scan_error = match &scan {
        Some(Err(err)) => Some(call_error(err)),
        _ => None,
    };
    let scan_ok = matches!(scan, Some(Ok(_)));
    let query_op = action("DynamoDB", "Query");
    let (table_outcome, has_index) = match query {
        None => (ctx.timed_out("reading the table"), false),
        Some(Ok(out)) => (
            Outcome::pass(if out.count() > 0 {
                format!("the newest job read through its index {INDEX_NAME} ({query_op})")
            } else {
                format!(
                    "read through its index {INDEX_NAME} ({query_op}): no job of this source bucket yet"
                )
            }),
            true,
        ),
        Some(Err(err)) => {
            let err = call_error(&err);
            let table_missing = scan_error
                .as_ref()
                .is_some_and(|e| e.trouble == Trouble::Missing);
            let outcome = match err.trouble {
                Trouble::Missing | Trouble::Other if scan_ok => Outcome::warn(
                    format!(
                        "the index {INDEX_NAME} cannot be read ({}): vodesk reads the whole table instead, which is slow on a large one",
                        err.said
                    ),
                    "the solution's template creates this index: check the deployment (a customised or damaged stack?)",
                ),
                Trouble::Missing | Trouble::Other if table_missing => Outcome::fail(
                    format!(
                        "there is no table named {} in region {}",
                        untrusted(&r.table),
                        ctx.clients.region
                    ),
                    "the stack's outputs name a table that is gone, or --table is wrong: check `vodesk stack`",
                ),
                _ => ctx.refused("read the table's index", query_op, &err),
            };
            (outcome, false)
        }
    };
    let table_failed = table_outcome.is_fail();
    list.push(ids::TABLE, name, table_outcome);
    let unusable = || Outcome::skipped("not checked: the table could not be read");
    let get_op = action("DynamoDB", "GetItem");
    let get_outcome = match get {
        None => ctx.timed_out("reading one job"),
        Some(Ok(_)) => Outcome::pass(format!(
            "allowed ({get_op}): the details of a job are read this way"
        )),
        Some(Err(err)) => match call_error(&err) {
            err if err.trouble == Trouble::Denied => {
                ctx.refused("read one job (its details)", get_op, &err)
            }
            _ if table_failed => unusable(),
            err => ctx.failed("read one job", &err),
        },
    };
    list.push(ids::TABLE_GET_ITEM, "Reading one job", get_outcome);
    let scan_op = action("DynamoDB", "Scan");
    let scan_outcome = match (scan, scan_error) {
        (None, _) => ctx.timed_out("scanning the table"),
        (Some(Ok(_)), _) => Outcome::pass(format!(
            "allowed ({scan_op}): used when the index is missing"
        )),
        (_, Some(err)) if err.trouble == Trouble::Denied && has_index => Outcome::warn(
            format!(
                "{scan_op} was refused ({}): vodesk needs it only if the index goes missing",
                err.said
            ),
            ctx.permission_fix(scan_op),
        ),
        (_, Some(err)) if err.trouble == Trouble::Denied => {
            ctx.refused("scan the table (the index cannot be read)", scan_op, &err)
        }
        _ if table_failed => unusable(),
        (_, Some(err)) => ctx.failed("scan the table", &err),
        (Some(Err(_)), None) => unusable(),
    };
    list.push(ids::TABLE_SCAN, "Scanning the table", scan_outcome);
}
