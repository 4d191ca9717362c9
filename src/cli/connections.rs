//! `vodesk connections`: lists the named connections of connections.toml, saves the connection flags
//! given on the command line under a name, removes one, and sets the default.

use clap::{Args, Subcommand};
use vodesk::connections::{Connection, ConnectionsFile, file_path};
use vodesk::contract::terminal::for_terminal;

use super::{ConnectionArgs, usage_error};

#[derive(Debug, Args)]
pub(crate) struct ConnectionsArgs {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the saved connections (the default)
    List {
        /// One JSON document: the file's path, the default and each connection
        #[arg(long)]
        json: bool,
    },
    /// Save the connection flags given with this command under a name (replacing one of that name),
    /// e.g. `vodesk --profile media --region eu-west-1 --stack vod connections save prod`
    Save {
        name: String,
        /// Also make it the default, used when no --connection is given
        #[arg(long)]
        default: bool,
    },
    /// Remove a saved connection
    Remove { name: String },
    /// Make a saved connection the default (used when no --connection is given)
    Default { name: String },
}

pub(crate) fn run_connections(
    connection: &ConnectionArgs,
    args: &ConnectionsArgs,
) -> anyhow::Result<()> {
    let path = file_path().map_err(usage_error)?;
    let mut file = ConnectionsFile::load(&path).map_err(usage_error)?;
    match args
        .action
        .as_ref()
        .unwrap_or(&Action::List { json: false })
    {
        Action::List { json: true } => {
            let document = serde_json::json!({
                "file": path.display().to_string(),
                "default": file.default,
                "connections": file.connections,
            });
            println!("{}", serde_json::to_string_pretty(&document)?);
        }
        Action::List { json: false } => print_list(&file, &path.display().to_string()),
        Action::Save { name, default } => {
            // The saved fields are the flags of this command, on top of the connection it names.
            let base = match &connection.connection {
                Some(from) => file.get(from, &path).map_err(usage_error)?.clone(),
                None => Connection::default(),
            };
            let saved = vodesk::connections::Layers {
                flags: connection.as_saved(),
                env: Connection::default(),
                file: Some(base),
            }
            .resolve();
            if saved == Connection::default() {
                return Err(usage_error(
                    "nothing to save: give the connection's flags with the command, e.g. \
                     `vodesk --profile media --region eu-west-1 --stack vod connections save prod`",
                ));
            }
            file.insert(name, saved).map_err(usage_error)?;
            if *default {
                file.default = Some(name.clone());
            }
            file.save(&path)?;
            eprintln!("saved connection {name} in {}", path.display());
        }
        Action::Remove { name } => {
            file.get(name, &path).map_err(usage_error)?;
            file.remove(name);
            file.save(&path)?;
            eprintln!("removed connection {name} from {}", path.display());
        }
        Action::Default { name } => {
            file.get(name, &path).map_err(usage_error)?;
            file.default = Some(name.clone());
            file.save(&path)?;
            eprintln!("{name} is now the default connection");
        }
    }
    Ok(())
}

fn print_list(file: &ConnectionsFile, path: &str) {
    if file.connections.is_empty() {
        println!("No saved connections in {path}.");
        println!(
            "Save one with: vodesk --profile NAME --region REGION --stack STACK connections save NAME"
        );
        return;
    }
    println!("Connections in {path} (* = default):");
    for (name, connection) in &file.connections {
        let mark = if file.default.as_deref() == Some(name) {
            "*"
        } else {
            " "
        };
        println!("{mark} {name}");
        for (label, value) in fields(connection) {
            if let Some(value) = value {
                // The file is the user's, but it is still printed to a terminal: no escapes.
                println!("    {label:<18} {}", for_terminal(value));
            }
        }
    }
}

fn fields(connection: &Connection) -> [(&'static str, Option<&String>); 8] {
    [
        ("profile", connection.profile.as_ref()),
        ("region", connection.region.as_ref()),
        ("stack", connection.stack.as_ref()),
        ("endpoint_url", connection.endpoint_url.as_ref()),
        ("source_bucket", connection.source_bucket.as_ref()),
        ("table", connection.table.as_ref()),
        ("topic_arn", connection.topic_arn.as_ref()),
        ("cloudfront_domain", connection.cloudfront_domain.as_ref()),
    ]
}
