//! `vodesk presign`: a presigned PUT URL (and the curl line that uses it) so that someone without AWS
//! credentials can upload one file to a key named like `vodesk upload` would name it.

use std::time::Duration;

use vodesk::aws::upload::naming::{self, KeyTemplate};
use vodesk::contract::stack::WorkflowTrigger;
use vodesk::contract::triggers::{self, TriggerVerdict};

use super::super::ConnectionArgs;
use super::{PresignArgs, destination, input_error};

pub(crate) async fn run_presign(
    connection: &ConnectionArgs,
    args: &PresignArgs,
) -> anyhow::Result<()> {
    let dest = destination(connection).await?;
    let key = match &args.key {
        Some(key) => {
            naming::validate_key(key).map_err(|e| input_error(e.to_string()))?;
            key.clone()
        }
        None => KeyTemplate::parse(&args.key_template)
            .and_then(|t| t.render(&args.name, &uuid::Uuid::new_v4(), vodesk::time::today_utc()))
            .map_err(|e| input_error(e.to_string()))?,
    };
    if dest.trigger == Some(WorkflowTrigger::MetadataFile) {
        eprintln!(
            "vodesk: note: this stack starts workflows from metadata files: after the upload, someone with access must add {}",
            naming::metadata_key(&key)
        );
    } else if let TriggerVerdict::WillNotStart { reason } =
        triggers::video_trigger(&key, dest.trigger, dest.version.as_deref())
        && !args.force
    {
        return Err(input_error(format!(
            "{reason} Pass --force to sign it anyway."
        )));
    }
    // A presigned PUT must not carry a checksum of the (absent) body, or the real upload is refused.
    let s3_config = dest
        .clients
        .s3
        .config()
        .to_builder()
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(s3_config);
    let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(args.expires)
        .map_err(|e| input_error(format!("--expires: {e}")))?;
    let request = s3
        .put_object()
        .bucket(&dest.bucket)
        .key(&key)
        .presigned(presigning)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "could not sign the URL: {}",
                vodesk::aws::sdk_error::describe(&e)
            )
        })?;
    let url = request.uri().to_owned();
    // The log keeps which URL was handed out; its signature and token are redacted there (`logs`).
    tracing::debug!("presigned a PUT to s3://{}/{key}: {url}", dest.bucket);
    let local_name = std::path::Path::new(&args.name)
        .file_name()
        .map_or(args.name.clone(), |n| n.to_string_lossy().into_owned());
    let curl = format!(
        "curl --fail --upload-file {} {}",
        shell_quote(&local_name),
        shell_quote(&url)
    );
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "bucket": dest.bucket, "key": key, "url": url, "method": "PUT",
                "expires_in_seconds": args.expires.as_secs(), "curl": curl,
            }))?
        );
    } else {
        println!(
            "Presigned PUT for s3://{}/{key}, valid for {}:\n\n{url}\n",
            dest.bucket,
            humantime(args.expires)
        );
        println!(
            "Whoever has this URL can upload one file to that key, without AWS credentials:\n\n{curl}"
        );
    }
    Ok(())
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 => format!("{} day(s)", s / 86_400),
        s if s % 3600 == 0 => format!("{} hour(s)", s / 3600),
        s if s % 60 == 0 => format!("{} minute(s)", s / 60),
        s => format!("{s} second(s)"),
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
