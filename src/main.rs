//! The `vodesk` binary: the desktop app by default, and the headless commands that share its engine.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
