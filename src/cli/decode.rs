//! `vodesk decode [FILE|-]`: one SNS message body (raw or enveloped) or one DynamoDB item in, one
//! normalized JSON object out (contract §8). Exit 2 with a one-line error for invalid input.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use vodesk::contract::decode::decode_document;

use super::ExitError;

/// The most a single message or item can be: SNS caps messages at 256 KiB and DynamoDB items at
/// 400 KB; anything far larger is the wrong file, and reading it all would only waste memory.
const MAX_INPUT: u64 = 16 * 1024 * 1024;

#[derive(Debug, Args)]
pub(super) struct DecodeArgs {
    /// The file to read; `-` or nothing reads standard input
    #[arg(value_name = "FILE|-")]
    file: Option<PathBuf>,
}

pub(super) fn run(args: &DecodeArgs) -> anyhow::Result<()> {
    let input = read_input(args.file.as_deref())?;
    let decoded = decode_document(&input).map_err(|err| ExitError {
        code: 2,
        message: format!("decode: {err}"),
    })?;
    for warning in &decoded.warnings {
        eprintln!("vodesk: decode: warning: {warning}");
    }
    let json = serde_json::to_string_pretty(&decoded.normalized())?;
    println!("{json}");
    Ok(())
}

fn read_input(file: Option<&std::path::Path>) -> anyhow::Result<Vec<u8>> {
    let mut input = Vec::new();
    let (reader, name): (Box<dyn Read>, String) = match file {
        None => (Box::new(std::io::stdin().lock()), "standard input".into()),
        Some(path) if path.as_os_str() == "-" => {
            (Box::new(std::io::stdin().lock()), "standard input".into())
        }
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|err| ExitError {
                code: 2,
                message: format!("decode: cannot read {}: {err}", path.display()),
            })?;
            (Box::new(file), path.display().to_string())
        }
    };
    reader
        .take(MAX_INPUT + 1)
        .read_to_end(&mut input)
        .with_context(|| format!("decode: cannot read {name}"))?;
    if input.len() as u64 > MAX_INPUT {
        return Err(ExitError {
            code: 2,
            message: format!(
                "decode: {name} is larger than 16 MiB; give one SNS message or one DynamoDB item"
            ),
        }
        .into());
    }
    Ok(input)
}
