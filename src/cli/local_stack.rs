//! `vodesk local-stack`: runs a local Video on Demand stack in the foreground (first increment of issue 7:
//! emulator, v6 stack and ingest notifications; no encoding pipeline or local CloudFront yet), prints the
//! settings other tools need, and stops everything on Ctrl-C or SIGTERM.

use clap::Args;
use vodesk::aws::local_stack::{
    DEFAULT_STACK_NAME, LocalStack, LocalStackOptions, PLACEHOLDER_CLOUDFRONT,
};

use super::{ConnectionArgs, ExitError};

#[derive(Debug, Args)]
pub struct LocalStackArgs {
    /// Loopback port for the emulator (0 picks a free one)
    #[arg(long, default_value_t = 0, value_name = "N")]
    port: u16,
    /// Print the settings as one JSON object (keys are the environment variable names) instead of
    /// `export` lines; the other messages then go to stderr
    #[arg(long)]
    json: bool,
}

pub async fn run_local_stack(
    connection: &ConnectionArgs,
    args: &LocalStackArgs,
) -> anyhow::Result<()> {
    // The global connection flags point at an existing deployment; this command makes its own.
    if connection.endpoint_url.is_some()
        || connection.profile.is_some()
        || connection.region.is_some()
    {
        return Err(ExitError {
            code: 2,
            message: "local-stack starts its own emulator in us-east-1: drop --endpoint-url, --profile and --region".into(),
        }
        .into());
    }
    // `--stack` (or VODESK_STACK) is the global flag; here it names the stack to create.
    let stack_name = connection
        .stack
        .clone()
        .unwrap_or_else(|| DEFAULT_STACK_NAME.to_owned());
    // Installed before the slow start, so a signal during start-up is not lost (it stops after start).
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let local = LocalStack::start(LocalStackOptions {
        port: args.port,
        stack_name,
        python: None,
    })
    .await?;
    let settings = local.settings();
    let resources = local.resources();
    // In JSON mode stdout carries only the settings object, so a script can read it as one line.
    let note = |text: String| {
        if args.json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&settings)?);
    } else {
        println!(
            "# Local Video on Demand stack \"{}\" (v6) is running in the emulator at {}.",
            local.stack_name(),
            local.endpoint()
        );
        println!(
            "# Source bucket {}: new videos (the solution's 24 suffixes) notify {}.",
            resources.source_bucket,
            local.ingest_queue_url()
        );
        println!("# To use it from vodesk, the GUI or `aws`, run these in another shell:");
        for (name, value) in settings.env() {
            println!("export {name}={value}");
        }
    }
    note(format!(
        "# Not yet: nothing encodes uploads, and CloudFrontDomainName is the placeholder {PLACEHOLDER_CLOUDFRONT}; \
         the encoding pipeline and the local CloudFront endpoint come in the next increment."
    ));
    note("# Press Ctrl-C to stop the local stack.".to_owned());
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    let endpoint = local.endpoint().to_owned();
    drop(local);
    note(format!(
        "# Stopped the local stack; the emulator at {endpoint} is shut down and everything in it is gone."
    ));
    Ok(())
}
