//! Command-line interface: global connection flags, the subcommands, and how errors become exit codes
//! (2 for invalid input or usage, 1 for everything else). The binary's edge: `anyhow` lives here.

mod check;
mod completions;
mod connections;
mod decode;
mod delete;
mod doctor;
mod iam_policy;
mod jobs;
mod local_stack;
mod retry;
mod stack;
mod upload;
mod watch;

use std::process::ExitCode;
use vodesk::contract::terminal::one_line;

use clap::{Args, Parser, Subcommand};
use vodesk::aws::connection::{AwsClients, ConnectionSettings};
use vodesk::aws::discovery::{StackOverrides, VodResources, discover};
use vodesk::logs::Verbosity;

#[derive(Debug, Parser)]
#[command(
    name = "vodesk",
    version,
    about = "Upload videos to a Video on Demand on AWS deployment and watch them encode",
    long_about = "Upload videos to a Video on Demand on AWS deployment and watch them encode.\n\n\
        Without a command, vodesk opens the desktop app. The connection flags work for every command; \
        the standard AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL variables are honoured too. \
        Files given without a command are uploaded by the app once it is connected."
)]
struct Cli {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Log more detail to stderr (-v: debug, -vv: trace). RUST_LOG overrides it. The log file (see
    /// `VODESK_LOG_DIR`) always has vodesk's debug lines
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Option<Command>,
    /// Videos or folders for the app to upload once connected (what the desktop launcher passes)
    #[arg(value_name = "FILE")]
    files: Vec<std::path::PathBuf>,
}

/// How to reach the deployment. Each override wins over what the stack's outputs say.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ConnectionArgs {
    /// A connection saved in connections.toml (`vodesk connections` lists them); the flags and the
    /// AWS_* variables given as well win over what it says
    #[arg(long, global = true, env = "VODESK_CONNECTION", value_name = "NAME")]
    pub connection: Option<String>,
    /// AWS profile from ~/.aws/config (SSO profiles included)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region, e.g. us-east-1
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send AWS calls to this endpoint (a local emulator or a VPC endpoint)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The solution's CloudFormation stack
    #[arg(long, global = true, env = "VODESK_STACK", value_name = "NAME")]
    pub stack: Option<String>,
    /// Source bucket, instead of the stack's SourceBucketName output
    #[arg(long, global = true, value_name = "BUCKET")]
    pub source_bucket: Option<String>,
    /// DynamoDB table, instead of the stack's DynamoDBTableName output
    #[arg(long, global = true, value_name = "TABLE")]
    pub table: Option<String>,
    /// SNS topic ARN, instead of the one found from the stack's SnsTopicName output
    #[arg(long, global = true, value_name = "ARN")]
    pub topic_arn: Option<String>,
    /// CloudFront domain, instead of the stack's CloudFrontDomainName output
    #[arg(long, global = true, value_name = "DOMAIN")]
    pub cloudfront_domain: Option<String>,
}

impl ConnectionArgs {
    /// These flags as a saved connection's fields.
    pub(crate) fn as_saved(&self) -> vodesk::connections::Connection {
        vodesk::connections::Connection {
            profile: self.profile.clone(),
            region: self.region.clone(),
            stack: self.stack.clone(),
            endpoint_url: self.endpoint_url.clone(),
            source_bucket: self.source_bucket.clone(),
            table: self.table.clone(),
            topic_arn: self.topic_arn.clone(),
            cloudfront_domain: self.cloudfront_domain.clone(),
        }
    }

    /// The settings to connect with: the named connection (`--connection`, else the file's
    /// default) under these flags and the environment (flags > env > file). Without a file, or a
    /// name, the flags as they are.
    pub(crate) fn resolved(&self) -> anyhow::Result<Self> {
        let path = vodesk::connections::file_path().map_err(usage_error)?;
        let file = vodesk::connections::ConnectionsFile::load(&path).map_err(usage_error)?;
        let Some(name) = self.connection.clone().or(file.default.clone()) else {
            return Ok(self.clone());
        };
        let saved = file.get(&name, &path).map_err(usage_error)?.clone();
        let layers = vodesk::connections::Layers {
            flags: self.as_saved(),
            env: vodesk::connections::Layers::env_from(|var| std::env::var(var).ok()),
            file: Some(saved),
        };
        let merged = layers.resolve();
        Ok(Self {
            connection: Some(name),
            profile: merged.profile,
            region: merged.region,
            endpoint_url: merged.endpoint_url,
            stack: merged.stack,
            source_bucket: merged.source_bucket,
            table: merged.table,
            topic_arn: merged.topic_arn,
            cloudfront_domain: merged.cloudfront_domain,
        })
    }

    pub(crate) fn settings(&self) -> ConnectionSettings {
        ConnectionSettings {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            emulator_credentials: false,
        }
    }

    pub(crate) fn overrides(&self) -> StackOverrides {
        StackOverrides {
            source_bucket: self.source_bucket.clone(),
            table: self.table.clone(),
            topic_arn: self.topic_arn.clone(),
            cloudfront_domain: self.cloudfront_domain.clone(),
        }
    }

    pub(crate) async fn clients(&self) -> anyhow::Result<AwsClients> {
        AwsClients::connect(&self.settings()).await.map_err(|err| {
            let failure = err.failure();
            anyhow::anyhow!(self.with_fix(err.to_string(), failure))
        })
    }

    /// The clients and the deployment these flags name (the stack, with the override flags on top).
    pub(crate) async fn discover(&self) -> anyhow::Result<(AwsClients, VodResources)> {
        let clients = self.clients().await?;
        let resources = discover(&clients, self.stack.as_deref(), &self.overrides())
            .await
            .map_err(|err| {
                let failure = err.failure();
                anyhow::anyhow!(self.with_fix(err.to_string(), failure))
            })?;
        Ok((clients, resources))
    }

    /// A failure fixed outside vodesk (sign in, set up credentials, set the clock) says how first.
    fn with_fix(&self, message: String, failure: vodesk::aws::sdk_error::Failure) -> String {
        vodesk::aws::sdk_error::with_credentials_fix(message, failure, self.profile.as_deref())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open the desktop app (the default)
    Gui,
    /// Decode one SNS message (raw or enveloped) or one DynamoDB item into vodesk's normalized JSON
    Decode(decode::DecodeArgs),
    /// Show the resources discovered for the stack (or given by the override flags)
    Stack(stack::StackArgs),
    /// List the Video on Demand on AWS deployments in the region
    Stacks(stack::StacksArgs),
    /// Print the least-privilege IAM policy vodesk needs on the stack (JSON, with its real ARNs)
    IamPolicy(iam_policy::IamPolicyArgs),
    /// Upload videos (files or folders) to the source bucket: resumable, verified, in parallel
    Upload(upload::UploadArgs),
    /// List unfinished and recent uploads from the journal
    Uploads(upload::UploadsArgs),
    /// Continue uploads that were paused, interrupted or failed
    Resume(upload::ResumeArgs),
    /// Abort an upload on the server and forget it
    Cancel(upload::CancelArgs),
    /// Make a presigned PUT URL so someone without AWS credentials can upload one file
    Presign(upload::PresignArgs),
    /// Print each workflow event (Ingest, Complete, Error) as it happens, until Ctrl-C
    Watch(watch::WatchArgs),
    /// List the newest jobs: workflows in the table and this machine's uploads
    List(jobs::ListArgs),
    /// Show one job: status, media info and every output URL
    Show(jobs::ShowArgs),
    /// Check that a job's outputs play: HLS, DASH and CMAF ladders, first and last segments, durations,
    /// content types and CORS. Exit code 0 when it plays
    Check(check::CheckArgs),
    /// Run a job's workflow again for the same source (a new, paid encode; asks first)
    Retry(retry::RetryArgs),
    /// Delete jobs: their outputs, their items and with --source their source videos (asks first)
    Delete(delete::DeleteArgs),
    /// Run the whole solution on this machine (emulator, ffmpeg pipeline, local CloudFront; named by
    /// --stack, default vod-local) until Ctrl-C
    LocalStack(local_stack::LocalStackArgs),
    /// Check the setup: credentials, region, the stack and each resource, every permission vodesk
    /// needs, the clock, the local stack's tools, the journal and cache folders. Exit code 0 when all pass
    Doctor(doctor::DoctorArgs),
    /// List, save and remove named connections (connections.toml in the config folder)
    Connections(connections::ConnectionsArgs),
    /// Print the completion script for a shell (e.g. `vodesk completions bash > /etc/bash_completion.d/vodesk`)
    Completions(completions::CompletionsArgs),
    /// Write the man pages into a folder (used by the package build)
    #[command(hide = true)]
    Man(completions::ManArgs),
}

/// An error whose exit code is not the default 1.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ExitError {
    pub code: u8,
    pub message: String,
}

pub(crate) fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            if err.print().is_err() {
                // stdout/stderr is closed: there is nowhere left to say it; the exit code still does.
            }
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        (false, 1) => Verbosity::Verbose,
        (false, _) => Verbosity::Trace,
    };
    // Held to the end: the log file's writer flushes what is queued when it is dropped.
    let _logs = vodesk::logs::init(verbosity);
    let result = run_command(cli);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = err.downcast_ref::<ExitError>().map_or(1, |e| e.code);
            eprintln!("vodesk: {}", one_line(&format!("{err:#}")));
            ExitCode::from(code)
        }
    }
}

fn run_command(cli: Cli) -> anyhow::Result<()> {
    // Commands that reach a deployment use the named connection under the flags; the local stack
    // (which refuses connection flags), decoding and the connections file itself take them as typed.
    let connection = match &cli.command {
        Some(
            Command::LocalStack(_)
            | Command::Decode(_)
            | Command::Connections(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Uploads(_)
            | Command::Resume(_)
            | Command::Cancel(_),
        ) => cli.connection.clone(),
        _ => cli.connection.resolved()?,
    };
    // A mistyped command would otherwise open the window with a "file" that is not there.
    if let Some(missing) = cli.files.iter().find(|file| !file.exists()) {
        return Err(usage_error(format!(
            "{}: no such file or folder, and not a command (`vodesk --help` lists them)",
            missing.display()
        )));
    }
    let cli = Cli { connection, ..cli };
    match cli.command {
        None | Some(Command::Gui) => {
            vodesk::app::run(cli.connection_settings_for_app()).map_err(anyhow::Error::from)
        }
        Some(Command::Decode(args)) => decode::run(&args),
        Some(Command::Stack(args)) => block_on(stack::run_stack(&cli.connection, &args)),
        Some(Command::Stacks(args)) => block_on(stack::run_stacks(&cli.connection, &args)),
        Some(Command::IamPolicy(args)) => {
            block_on(iam_policy::run_iam_policy(&cli.connection, &args))
        }
        Some(Command::Upload(args)) => block_on(upload::run_upload(&cli.connection, &args)),
        Some(Command::Uploads(args)) => upload::run_uploads(&args),
        Some(Command::Resume(args)) => block_on(upload::run_resume(&args)),
        Some(Command::Cancel(args)) => block_on(upload::run_cancel(&args)),
        Some(Command::Presign(args)) => block_on(upload::run_presign(&cli.connection, &args)),
        Some(Command::Watch(args)) => block_on(watch::run_watch(&cli.connection, &args)),
        Some(Command::List(args)) => block_on(jobs::run_list(&cli.connection, &args)),
        Some(Command::Show(args)) => block_on(jobs::run_show(&cli.connection, &args)),
        Some(Command::Check(args)) => block_on(check::run_check(&cli.connection, &args)),
        Some(Command::Retry(args)) => block_on(retry::run_retry(&cli.connection, &args)),
        Some(Command::Delete(args)) => block_on(delete::run_delete(&cli.connection, &args)),
        Some(Command::LocalStack(args)) => {
            block_on(local_stack::run_local_stack(&cli.connection, &args))
        }
        Some(Command::Doctor(args)) => block_on(doctor::run_doctor(&cli.connection, &args)),
        Some(Command::Completions(args)) => completions::run_completions(&args),
        Some(Command::Man(args)) => completions::run_man(&args),
        Some(Command::Connections(args)) => connections::run_connections(&cli.connection, &args),
    }
}

/// A problem with what the user wrote (a flag, the connections file): exit code 2.
pub(crate) fn usage_error(err: impl std::fmt::Display) -> anyhow::Error {
    ExitError {
        code: 2,
        message: err.to_string(),
    }
    .into()
}

impl Cli {
    fn connection_settings_for_app(&self) -> vodesk::app::Launch {
        vodesk::app::Launch {
            connection: self.connection.settings(),
            stack: self.connection.stack.clone(),
            overrides: self.connection.overrides(),
            files: self.files.clone(),
        }
    }
}

/// Runs blocking work (the SQLite journal, the file system) on a blocking thread, never on the
/// runtime's workers, which keep the uploads and the monitor moving.
pub(crate) async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work).await?
}

fn block_on(future: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(future)
}
