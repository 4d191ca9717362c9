//! `vodesk doctor`: checks the setup the connection flags describe and prints one checklist, each
//! failed line with its fix under it (or one JSON document with `--json`). Exit code 0 when nothing
//! failed (warnings allowed), 1 otherwise. Every line goes through `for_terminal`: the service's
//! words (error messages, a stack's status) are not trusted on a terminal.

use clap::Args;
use vodesk::contract::terminal::for_terminal;
use vodesk::doctor::{Check, Checklist, Options, Outcome, Setup, check, default_key_prefix};

use super::{ConnectionArgs, ExitError};

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Print one JSON document (`passed`, `counts` and every check with its status and fix)
    #[arg(long)]
    json: bool,
    /// Check a viewer's setup: no uploads and no queue are tried (as `vodesk iam-policy --read-only`)
    #[arg(long)]
    read_only: bool,
    /// No live monitor: the queue is not tried, the table is polled (as `vodesk iam-policy --no-monitor`)
    #[arg(long)]
    no_monitor: bool,
    /// The key prefix uploads go under, where the trial upload is started (default: `uploads/`)
    #[arg(long, value_name = "PREFIX")]
    key_prefix: Option<String>,
}

pub(crate) async fn run_doctor(
    connection: &ConnectionArgs,
    args: &DoctorArgs,
) -> anyhow::Result<()> {
    let setup = Setup {
        connection: connection.settings(),
        stack: connection.stack.clone(),
        overrides: connection.overrides(),
    };
    let options = Options {
        read_only: args.read_only,
        monitor: !args.no_monitor,
        key_prefix: args.key_prefix.clone().unwrap_or_else(default_key_prefix),
    };
    let list = check(&setup, &options).await;
    if args.json {
        let document = serde_json::json!({
            "passed": list.passed(),
            "counts": list.counts(),
            "checks": list.checks,
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        print!("{}", render(&list));
    }
    let failed = list.counts().failed;
    if failed == 0 {
        return Ok(());
    }
    Err(ExitError {
        code: 1,
        message: format!(
            "{failed} check{} failed",
            if failed == 1 { "" } else { "s" }
        ),
    }
    .into())
}

/// The checklist as text: a mark, the name and what was found; the fix indented under a warning or
/// a failure; a summary line last.
fn render(list: &Checklist) -> String {
    let mut out = String::new();
    for Check { name, outcome, .. } in &list.checks {
        let mark = match outcome {
            Outcome::Pass { .. } => "✔",
            Outcome::Warn { .. } => "!",
            Outcome::Fail { .. } => "✖",
            Outcome::Skipped { .. } => "–",
        };
        out.push_str(&format!(
            "{mark} {}: {}\n",
            for_terminal(name),
            for_terminal(outcome.text())
        ));
        if let Some(fix) = outcome.fix() {
            out.push_str(&format!("    fix: {}\n", for_terminal(fix)));
        }
    }
    let counts = list.counts();
    out.push_str(&format!(
        "\n{} passed, {} warning{}, {} failed, {} not tried\n",
        counts.passed,
        counts.warnings,
        if counts.warnings == 1 { "" } else { "s" },
        counts.failed,
        counts.skipped
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vodesk::doctor::ids;

    #[test]
    fn failures_carry_their_fix_and_hostile_text_is_escaped() {
        let mut list = Checklist::default();
        list.push(ids::REGION, "Region", Outcome::pass("us-east-1 (as given)"));
        list.push(
            ids::STACK,
            "Stack vod",
            Outcome::fail(
                "no stack named \"vod\"\u{1b}[2J in region us-east-1",
                "pass --region",
            ),
        );
        list.push(ids::TOPIC, "Topic", Outcome::skipped("monitor off"));
        let text = render(&list);
        assert!(text.contains("✔ Region: us-east-1 (as given)\n"), "{text}");
        assert!(text.contains("✖ Stack vod: no stack named"), "{text}");
        assert!(text.contains("\n    fix: pass --region\n"), "{text}");
        assert!(text.contains("– Topic: monitor off"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("\\u{1b}[2J"), "{text}");
        assert!(
            text.ends_with("1 passed, 0 warnings, 1 failed, 1 not tried\n"),
            "{text}"
        );
    }
}
