//! Shell completions (`vodesk completions SHELL`) and the man pages (`vodesk man --out DIR`, hidden: the
//! package build runs it), both generated from the same clap definitions as the parser, so they never
//! drift from the flags the binary really takes.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, CommandFactory as _};

use super::Cli;

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for: bash, zsh, fish, elvish or powershell
    #[arg(value_name = "SHELL")]
    shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Folder to write vodesk.1 and one page per command (vodesk-upload.1, …) into
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Prints the completion script for one shell to stdout.
pub(crate) fn run_completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    // Into memory first: clap_complete panics when its writer fails, and stdout may be a pipe that
    // its reader closed early (`vodesk completions bash | head`), which is no error of ours.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "vodesk", &mut script);
    match std::io::Write::write_all(&mut std::io::stdout().lock(), &script) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::from(err).context("could not write the completion script"))
        }
        _ => Ok(()),
    }
}

/// Writes the man pages (section 1) into the folder, creating it.
pub(crate) fn run_man(args: &ManArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("could not create {}", args.out.display()))?;
    clap_mangen::generate_to(Cli::command(), &args.out)
        .with_context(|| format!("could not write the man pages into {}", args.out.display()))?;
    Ok(())
}
