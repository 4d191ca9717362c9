//! `vodesk local-stack`: runs a complete local Video on Demand stack in the foreground (emulator, v6 stack,
//! ffmpeg pipeline, loopback CloudFront), prints the settings other tools need and one line per workflow
//! step, and stops everything on Ctrl-C or SIGTERM. On first use it installs the emulator, showing the
//! install's progress on stderr; `--install-emulator` only (re)installs it.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use vodesk::contract::stack::WorkflowTrigger;
use vodesk::contract::terminal::for_terminal;
use vodesk::local_stack::emulator_install::{InstallProgress, ProgressSink, reinstall};
use vodesk::local_stack::pipeline::{PipelineEvent, SimulationRule};
use vodesk::local_stack::vod_template::{Glacier, StackParameters};
use vodesk::local_stack::{
    DEFAULT_STACK_NAME, LocalStack, LocalStackOptions, OutputGroups, local_job_templates,
};

use super::{ConnectionArgs, ExitError};

#[derive(Debug, Args)]
pub(super) struct LocalStackArgs {
    /// Loopback port for the emulator (0 picks a free one)
    #[arg(long, default_value_t = 0, value_name = "N")]
    port: u16,
    /// Loopback port for the local CloudFront that serves the outputs (0 picks a free one)
    #[arg(long, default_value_t = 0, value_name = "N")]
    cdn_port: u16,
    /// The solution's WorkflowTrigger parameter: VideoFile starts a workflow from each video;
    /// MetadataFile from each `*.json` metadata file naming a video already uploaded (`srcVideo`),
    /// whose keys override the workflow's settings (`jobTemplate`, `frameCapture`, …)
    #[arg(long, value_enum, default_value_t = Trigger::VideoFile, value_name = "TRIGGER")]
    workflow_trigger: Trigger,
    /// The solution's FrameCapture parameter: thumbnails for every job. Yes here for the demo; the
    /// solution's own default is No
    #[arg(long, value_enum, default_value_t = YesNo::Yes, value_name = "YES|NO")]
    frame_capture: YesNo,
    /// The solution's EnableMediaPackage parameter: Yes packages each job's HLS outputs as a local
    /// MediaPackage VOD asset (HLS, DASH and CMAF served under out/ by the local CloudFront; MSS
    /// listed, not served), and Complete messages carry egressEndpoints instead of per-group URLs
    #[arg(long, value_enum, default_value_t = YesNo::No, value_name = "YES|NO")]
    enable_media_package: YesNo,
    /// The solution's EnableSns parameter: No sends no Ingest or Complete messages (Error messages
    /// are always sent)
    #[arg(long, value_enum, default_value_t = YesNo::Yes, value_name = "YES|NO")]
    enable_sns: YesNo,
    /// The solution's EnableSqs parameter: No sends nothing to the stack's own queue
    #[arg(long, value_enum, default_value_t = YesNo::Yes, value_name = "YES|NO")]
    enable_sqs: YesNo,
    /// The solution's Glacier parameter: GLACIER or DEEP_ARCHIVE tags each source once its workflow
    /// is complete (`<stack>=<class>`), the tag the bucket's lifecycle rules archive by on AWS
    #[arg(long, value_enum, default_value_t = GlacierArg::Disabled, value_name = "CLASS")]
    glacier: GlacierArg,
    /// Every upload selects a custom job template, as a metadata file's jobTemplate does on AWS
    /// (a metadata file naming its own template wins): all-groups writes HLS, DASH, CMAF, MS Smooth
    /// and an MP4 of the top rendition, hls-dash-cmaf-mp4 all of them but MS Smooth, hls-dash-mp4
    /// HLS, DASH and the MP4; the record says isCustomTemplate true. Without it, the solution's
    /// default templates: HLS only
    #[arg(long, value_enum, value_name = "TEMPLATE")]
    custom_template: Option<CustomTemplate>,
    /// Play a failure the solution really has, so a client's display of it can be tried: stall (the
    /// job never ends: Ingest, then silence), canceled (the job is canceled: no rule of the solution
    /// matches it, silence too) or encode-error (the job ends in ERROR, code 1401). `=PATTERN`
    /// limits it to source keys matching the wildcard pattern (e.g. stall=*late*); repeat the flag
    /// for several, the first match wins
    #[arg(long, value_name = "KIND[=PATTERN]")]
    simulate: Vec<SimulationRule>,
    /// Print the job templates the local MediaConvert has (the solution's three defaults and the
    /// local custom ones a metadata file's jobTemplate can name), then exit
    #[arg(long)]
    list_templates: bool,
    /// HLS only, which is now the default (kept so older scripts still run)
    #[arg(long, hide = true, conflicts_with = "custom_template")]
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
    let stack_name = connection
        .stack
        .clone()
        .unwrap_or_else(|| DEFAULT_STACK_NAME.to_owned());
    if args.list_templates {
        print_templates(&stack_name, args.json)?;
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
    let parameters = args.parameters();
    // `--stack` (or VODESK_STACK) is the global flag; here it names the stack to create.
    // Installed before the slow start, so a signal during start-up is not lost (it stops after start).
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut local = LocalStack::start(LocalStackOptions {
        port: args.port,
        stack_name,
        python: None,
        install_progress: Some(InstallDisplay::new().sink()),
        cdn_port: args.cdn_port,
        parameters,
        // `--hls-only` conflicts with `--custom-template`, so it can only agree with the default.
        groups: match args.custom_template {
            Some(template) if !args.hls_only => template.groups(),
            _ => OutputGroups::HlsOnly,
        },
        parallel_jobs: usize::from(args.jobs),
        simulate: args.simulate.clone(),
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
        match parameters.workflow_trigger {
            WorkflowTrigger::VideoFile => println!(
                "# Source bucket {}: each new video (the solution's 24 suffixes) is encoded with ffmpeg.",
                resources.source_bucket
            ),
            WorkflowTrigger::MetadataFile => println!(
                "# Source bucket {}: upload a video, then <name>.json with {{\"srcVideo\": \"<its key>\"}} (and any overrides); the .json starts its workflow.",
                resources.source_bucket
            ),
        }
        println!("# Parameters: {}.", describe_parameters(&parameters));
        println!(
            "# Job templates: {}.",
            match args.custom_template {
                Some(template) => format!(
                    "every upload selects the custom template {} ({})",
                    template
                        .groups()
                        .custom_template_name(local.stack_name())
                        .unwrap_or_default(),
                    template.groups().describe()
                ),
                None =>
                    "the solution's defaults (HLS only); `--list-templates` lists the custom ones"
                        .to_owned(),
            }
        );
        for rule in &args.simulate {
            println!("# Simulating: {rule}.");
        }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Trigger {
    #[value(name = "VideoFile")]
    VideoFile,
    #[value(name = "MetadataFile")]
    MetadataFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum YesNo {
    #[value(name = "Yes")]
    Yes,
    #[value(name = "No")]
    No,
}

impl YesNo {
    fn on(self) -> bool {
        self == Self::Yes
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GlacierArg {
    #[value(name = "DISABLED")]
    Disabled,
    #[value(name = "GLACIER")]
    Glacier,
    #[value(name = "DEEP_ARCHIVE")]
    DeepArchive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CustomTemplate {
    /// HLS, DASH, CMAF, MS Smooth and an MP4 of the top rendition (`<stack>_Custom_All_Groups`)
    AllGroups,
    /// HLS, DASH, CMAF and an MP4 of the top rendition (`<stack>_Custom_Hls_Dash_Cmaf_Mp4`)
    HlsDashCmafMp4,
    /// HLS, DASH and an MP4 of the top rendition (`<stack>_Custom_Hls_Dash_Mp4`)
    HlsDashMp4,
}

impl CustomTemplate {
    fn groups(self) -> OutputGroups {
        match self {
            Self::AllGroups => OutputGroups::AllGroups,
            Self::HlsDashCmafMp4 => OutputGroups::HlsDashCmafMp4,
            Self::HlsDashMp4 => OutputGroups::HlsDashMp4,
        }
    }
}

/// `--list-templates`: one line per template (name, groups, when it is used), or a JSON array.
fn print_templates(stack_name: &str, json: bool) -> anyhow::Result<()> {
    let templates = local_job_templates(stack_name);
    if json {
        let list: Vec<serde_json::Value> = templates
            .iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.name,
                    "outputGroups": t.groups.describe(),
                    "defaultForProfile": t.default_for_profile,
                    "forMediaPackage": t.default_for_profile.map(|_| t.for_media_package),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    let width = templates.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for template in &templates {
        let use_ = match template.default_for_profile {
            Some(profile) => format!(
                "default for sources nearest {profile}p with MediaPackage {}",
                if template.for_media_package {
                    "on"
                } else {
                    "off"
                }
            ),
            None => "custom: name it in a metadata file's jobTemplate".to_owned(),
        };
        println!(
            "{:width$}  {}; {use_}",
            template.name,
            template.groups.describe()
        );
    }
    Ok(())
}

impl LocalStackArgs {
    fn parameters(&self) -> StackParameters {
        StackParameters {
            workflow_trigger: match self.workflow_trigger {
                Trigger::VideoFile => WorkflowTrigger::VideoFile,
                Trigger::MetadataFile => WorkflowTrigger::MetadataFile,
            },
            frame_capture: self.frame_capture.on(),
            enable_media_package: self.enable_media_package.on(),
            enable_sns: self.enable_sns.on(),
            enable_sqs: self.enable_sqs.on(),
            glacier: match self.glacier {
                GlacierArg::Disabled => Glacier::Disabled,
                GlacierArg::Glacier => Glacier::Glacier,
                GlacierArg::DeepArchive => Glacier::DeepArchive,
            },
        }
    }
}

/// The parameters as the stack records them, for the start-up lines.
fn describe_parameters(parameters: &StackParameters) -> String {
    let yes_no = |on: bool| if on { "Yes" } else { "No" };
    format!(
        "WorkflowTrigger={} FrameCapture={} EnableMediaPackage={} EnableSns={} EnableSqs={} Glacier={}",
        match parameters.workflow_trigger {
            WorkflowTrigger::VideoFile => "VideoFile",
            WorkflowTrigger::MetadataFile => "MetadataFile",
        },
        yes_no(parameters.frame_capture),
        yes_no(parameters.enable_media_package),
        yes_no(parameters.enable_sns),
        yes_no(parameters.enable_sqs),
        parameters.glacier.as_str()
    )
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
        PipelineEvent::Stalled { guid, message } => {
            format!("{guid}  stalled   {message}")
        }
        PipelineEvent::QueueTrouble { message } => {
            format!("warning: could not read the ingest-events queue: {message}")
        }
    }
}
