//! `vodesk local-stack`: runs a complete local Video on Demand stack in the foreground (emulator, v6 stack,
//! ffmpeg pipeline, loopback CloudFront), prints the settings other tools need and one line per workflow
//! step, and stops everything on Ctrl-C or SIGTERM. On first use it installs the emulator, showing the
//! install's progress on stderr; `--install-emulator` only (re)installs it.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use vodesk::contract::terminal::for_terminal;
use vodesk::local_stack::emulator_install::{InstallProgress, ProgressSink, reinstall};
use vodesk::local_stack::pipeline::PipelineEvent;
use vodesk::local_stack::{DEFAULT_STACK_NAME, LocalStack, LocalStackOptions, OutputGroups};

use super::{ConnectionArgs, ExitError};

#[derive(Debug, Args)]
pub(super) struct LocalStackArgs {
    /// Loopback port for the emulator (0 picks a free one)
    #[arg(long, default_value_t = 0, value_name = "N")]
    port: u16,
    /// Loopback port for the local CloudFront that serves the outputs (0 picks a free one)
    #[arg(long, default_value_t = 0, value_name = "N")]
    cdn_port: u16,
    /// Write only what the v6 default job templates write (HLS); by default DASH and an MP4 are added,
    /// as with a customised template, so every kind of link can be tried
    #[arg(long)]
    hls_only: bool,
    /// Encodes at the same time (MediaConvert's concurrency): every upload gets its Ingest and its
    /// encode job id at once, as on AWS; only the encode itself waits for a free slot
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=8))]
    jobs: u16,
    /// Print the settings as one JSON object (keys are the environment variable names) instead of
    /// `export` lines; the other messages then go to stderr
    #[arg(long)]
    json: bool,
    /// Install the local AWS emulator (the pinned moto server) into your data folder again, then
    /// exit; without it, local-stack installs the emulator by itself on first use
    #[arg(long)]
    install_emulator: bool,
}

pub(super) async fn run_local_stack(
    connection: &ConnectionArgs,
    args: &LocalStackArgs,
) -> anyhow::Result<()> {
    if args.install_emulator {
        let display = InstallDisplay::new();
        let sink = display.sink();
        let python =
            tokio::task::spawn_blocking(move || reinstall(&mut |step| sink.report(step))).await??;
        eprintln!(
            "# The local AWS emulator is installed: {}",
            python.display()
        );
        return Ok(());
    }
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
    let mut local = LocalStack::start(LocalStackOptions {
        port: args.port,
        stack_name,
        python: None,
        install_progress: Some(InstallDisplay::new().sink()),
        cdn_port: args.cdn_port,
        groups: if args.hls_only {
            OutputGroups::HlsOnly
        } else {
            OutputGroups::HlsDashMp4
        },
        parallel_jobs: usize::from(args.jobs),
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
            "# Source bucket {}: each new video (the solution's 24 suffixes) is encoded with ffmpeg.",
            resources.source_bucket
        );
        println!(
            "# Outputs are served by the local CloudFront at {}.",
            local.cdn_base_url()
        );
        println!("# To use it from vodesk, the GUI or `aws`, run these in another shell:");
        for (name, value) in settings.env() {
            println!("export {name}={value}");
        }
    }
    note("# Press Ctrl-C to stop the local stack.".to_owned());
    let mut events = local.take_events();
    loop {
        tokio::select! {
            result = tokio::signal::ctrl_c() => { result?; break; }
            _ = terminate.recv() => break,
            Some(event) = async { match events.as_mut() { Some(rx) => rx.recv().await, None => None } } => {
                // The log goes to stderr, so `--json` keeps stdout to the settings line. Keys and
                // error texts are chosen by whoever uploads: escape what a terminal would obey.
                eprintln!("{}", for_terminal(&describe_event(&event)));
            }
        }
    }
    let endpoint = local.endpoint().to_owned();
    drop(local);
    note(format!(
        "# Stopped the local stack; the emulator at {endpoint} is shut down and everything in it is gone."
    ));
    Ok(())
}

/// Shows the emulator's install on stderr: a bar on a terminal, else one line per step (for logs and
/// scripts). Nothing is shown when no install happens.
#[derive(Debug, Clone)]
struct InstallDisplay {
    bar: Arc<Mutex<Option<ProgressBar>>>,
    terminal: bool,
}

impl InstallDisplay {
    fn new() -> Self {
        Self {
            bar: Arc::default(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn sink(&self) -> ProgressSink {
        let display = self.clone();
        ProgressSink::new(move |step| display.show(step))
    }

    fn show(&self, step: InstallProgress) {
        if let InstallProgress::CreatingEnvironment { target } = &step {
            eprintln!(
                "# Installing the local AWS emulator (moto, pinned) into {} — first use only, usually under a minute, needs the network.",
                target.display()
            );
        }
        if !self.terminal {
            eprintln!("# emulator install: {step}");
            return;
        }
        // A poisoned lock only means another report panicked: the bar is still usable.
        let mut slot = self
            .bar
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let InstallProgress::Done { .. } = step {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
            eprintln!("# {step}");
            return;
        }
        let bar = slot.get_or_insert_with(|| {
            let bar = ProgressBar::new(1000);
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {elapsed:>4} {wide_msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        bar.set_position((step.fraction() * 1000.0) as u64);
        bar.set_message(step.to_string());
    }
}

/// One log line per workflow step.
fn describe_event(event: &PipelineEvent) -> String {
    match event {
        PipelineEvent::Queued { guid, key } => format!("{guid}  queued    {key}"),
        PipelineEvent::Encoding {
            guid,
            profile,
            job_id,
        } => format!("{guid}  encode submitted  {profile}p profile, job {job_id}"),
        PipelineEvent::Complete {
            guid,
            hls_url,
            seconds,
        } => format!(
            "{guid}  complete  in {seconds:.1} s  {}",
            hls_url.as_deref().unwrap_or("(no HLS output)")
        ),
        PipelineEvent::Error { guid, at, message } => {
            format!("{guid}  error     at {at}: {message}")
        }
        PipelineEvent::QueueTrouble { message } => {
            format!("warning: could not read the ingest-events queue: {message}")
        }
    }
}
