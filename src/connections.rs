//! Named connections: `connections.toml` in the platform config folder (`VODESK_CONFIG_DIR` overrides
//! it), shared by the CLI (`--connection NAME`, `vodesk connections`) and the app's connect screen. Each
//! entry holds what the connection flags hold (profile, region, stack, endpoint and the resource
//! overrides). This module owns the file's shape, its reading and writing, and the precedence rule:
//! a flag wins over the environment, which wins over the file ([`Layers::resolve`]).

use crate::contract::terminal::one_line;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Environment variable naming the folder that holds `connections.toml` (tests, portable installs).
pub const CONFIG_DIR_ENV: &str = "VODESK_CONFIG_DIR";
/// The file's name inside the config folder.
pub const FILE_NAME: &str = "connections.toml";
/// A connections file is a few hundred bytes; anything far larger is not one.
const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Longest connection name: a name is typed on command lines and shown in a menu.
const MAX_NAME_CHARS: usize = 64;

/// One saved connection: the same fields as the connection flags, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudfront_domain: Option<String>,
}

/// The whole file: an optional default and the named connections, in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsFile {
    /// Used when neither `--connection` nor `VODESK_CONNECTION` names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default)]
    pub connections: BTreeMap<String, Connection>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionsError {
    #[error(
        "no config folder for vodesk was found (no home directory?): set {CONFIG_DIR_ENV} to a folder for {FILE_NAME}"
    )]
    NoConfigDir,
    #[error("could not read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is {size} bytes, larger than a connections file can be ({MAX_FILE_BYTES}): is it the right file?",
        .path.display()
    )]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{} is not a valid connections file: {message}; fix or remove it (`vodesk connections` shows the expected shape)", .path.display())]
    Parse { path: PathBuf, message: String },
    #[error("could not write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("there is no connection named {name:?} in {}; {}", .path.display(), known_names(.known))]
    Unknown {
        name: String,
        path: PathBuf,
        known: Vec<String>,
    },
    #[error(
        "{0:?} is not a usable connection name: use 1 to {MAX_NAME_CHARS} letters, digits, '.', '_' or '-'"
    )]
    BadName(String),
    #[error(
        "the connection {name:?} has an invalid endpoint_url {url:?}: it must be an http:// or https:// URL"
    )]
    BadEndpoint { name: String, url: String },
}

fn known_names(known: &[String]) -> String {
    if known.is_empty() {
        "none is saved yet: save one with `vodesk --profile … --region … --stack … connections save NAME`"
            .to_owned()
    } else {
        format!("saved: {}", known.join(", "))
    }
}

/// Where the connections file lives: `$VODESK_CONFIG_DIR/connections.toml`, else the platform config
/// folder (`~/.config/vodesk` on Linux).
pub fn file_path() -> Result<PathBuf, ConnectionsError> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join(FILE_NAME));
    }
    directories::ProjectDirs::from("", "", "vodesk")
        .map(|dirs| dirs.config_dir().join(FILE_NAME))
        .ok_or(ConnectionsError::NoConfigDir)
}

/// Checks a name before it is saved or looked up in a message.
pub fn check_name(name: &str) -> Result<(), ConnectionsError> {
    let fine = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if fine {
        Ok(())
    } else {
        Err(ConnectionsError::BadName(name.to_owned()))
    }
}

impl ConnectionsFile {
    /// Reads the file; a missing file is an empty one (nothing saved yet).
    pub fn load(path: &Path) -> Result<Self, ConnectionsError> {
        let size = match std::fs::metadata(path) {
            Ok(meta) => meta.len(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConnectionsError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        if size > MAX_FILE_BYTES {
            return Err(ConnectionsError::TooLarge {
                path: path.to_owned(),
                size,
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| ConnectionsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConnectionsError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses the file's text and checks every name and endpoint in it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: Self = toml::from_str(text).map_err(|err| one_line(&err.to_string()))?;
        for (name, connection) in &file.connections {
            check_name(name).map_err(|err| err.to_string())?;
            if let Some(url) = &connection.endpoint_url {
                check_endpoint(name, url).map_err(|err| err.to_string())?;
            }
        }
        if let Some(default) = &file.default
            && !file.connections.contains_key(default)
        {
            return Err(format!(
                "default = {default:?} names no connection in the file"
            ));
        }
        Ok(file)
    }

    /// Writes the file atomically (a temporary file renamed over it), creating its folder.
    pub fn save(&self, path: &Path) -> Result<(), ConnectionsError> {
        let write_error = |source| ConnectionsError::Write {
            path: path.to_owned(),
            source,
        };
        let body = toml::to_string_pretty(self)
            .map_err(|err| write_error(std::io::Error::other(err.to_string())))?;
        let text = format!(
            "# vodesk's named connections: `vodesk connections` lists them, `--connection NAME` uses one.\n\
             # vodesk rewrites this file when a connection is saved or removed from the app or the CLI.\n\n{body}"
        );
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(write_error)?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
        std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(write_error)?;
        temp.persist(path).map_err(|err| write_error(err.error))?;
        Ok(())
    }

    /// The connection with this name, or an error listing the saved ones.
    pub fn get(&self, name: &str, path: &Path) -> Result<&Connection, ConnectionsError> {
        self.connections
            .get(name)
            .ok_or_else(|| ConnectionsError::Unknown {
                name: name.to_owned(),
                path: path.to_owned(),
                known: self.connections.keys().cloned().collect(),
            })
    }

    /// Adds or replaces a connection, after checking its name and endpoint.
    pub fn insert(&mut self, name: &str, connection: Connection) -> Result<(), ConnectionsError> {
        check_name(name)?;
        if let Some(url) = &connection.endpoint_url {
            check_endpoint(name, url)?;
        }
        self.connections.insert(name.to_owned(), connection);
        Ok(())
    }

    /// Removes a connection (and the default if it named it); whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        if self.default.as_deref() == Some(name) {
            self.default = None;
        }
        self.connections.remove(name).is_some()
    }
}

fn check_endpoint(name: &str, url: &str) -> Result<(), ConnectionsError> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        _ => Err(ConnectionsError::BadEndpoint {
            name: name.to_owned(),
            url: url.to_owned(),
        }),
    }
}

/// The three places a connection setting can come from, highest first.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    /// What the command line says.
    pub flags: Connection,
    /// The environment variables the AWS SDK and vodesk read themselves (see [`Layers::from_env`]).
    pub env: Connection,
    /// The named connection from the file, if one is used.
    pub file: Option<Connection>,
}

impl Layers {
    /// The environment's layer: `AWS_PROFILE`, `AWS_REGION` (or `AWS_DEFAULT_REGION`),
    /// `AWS_ENDPOINT_URL` and `VODESK_STACK`, as the SDK and the CLI read them.
    pub fn env_from(var: impl Fn(&str) -> Option<String>) -> Connection {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        Connection {
            profile: var("AWS_PROFILE"),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            stack: var("VODESK_STACK"),
            endpoint_url: var("AWS_ENDPOINT_URL"),
            ..Connection::default()
        }
    }

    /// The settings to use: each field from the highest layer that has it. Values from the
    /// environment are left to the SDK (it reads them itself), so only flags and the file appear in
    /// the result, and a file value never hides an environment variable.
    pub fn resolve(&self) -> Connection {
        let Some(file) = &self.file else {
            return self.flags.clone();
        };
        let pick = |flag: &Option<String>, env: &Option<String>, saved: &Option<String>| {
            flag.clone()
                .or_else(|| if env.is_some() { None } else { saved.clone() })
        };
        Connection {
            profile: pick(&self.flags.profile, &self.env.profile, &file.profile),
            region: pick(&self.flags.region, &self.env.region, &file.region),
            // The stack's environment variable is read by the CLI's parser into the flag already.
            stack: pick(&self.flags.stack, &self.env.stack, &file.stack),
            endpoint_url: pick(
                &self.flags.endpoint_url,
                &self.env.endpoint_url,
                &file.endpoint_url,
            ),
            source_bucket: self
                .flags
                .source_bucket
                .clone()
                .or(file.source_bucket.clone()),
            table: self.flags.table.clone().or(file.table.clone()),
            topic_arn: self.flags.topic_arn.clone().or(file.topic_arn.clone()),
            cloudfront_domain: self
                .flags
                .cloudfront_domain
                .clone()
                .or(file.cloudfront_domain.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_file() {
        let layers = Layers {
            flags: Connection {
                stack: some("flag-stack"),
                ..Connection::default()
            },
            env: Connection {
                region: some("eu-west-1"),
                stack: some("env-stack"),
                ..Connection::default()
            },
            file: Some(Connection {
                profile: some("media"),
                region: some("us-east-1"),
                stack: some("file-stack"),
                table: some("file-table"),
                ..Connection::default()
            }),
        };
        let resolved = layers.resolve();
        assert_eq!(resolved.stack.as_deref(), Some("flag-stack"));
        // The environment's region stays the SDK's to read: the file's must not hide it.
        assert_eq!(resolved.region, None);
        assert_eq!(resolved.profile.as_deref(), Some("media"));
        assert_eq!(resolved.table.as_deref(), Some("file-table"));
    }

    #[test]
    fn without_a_named_connection_only_the_flags_count() {
        let layers = Layers {
            flags: Connection {
                region: some("us-west-2"),
                ..Connection::default()
            },
            ..Layers::default()
        };
        assert_eq!(layers.resolve(), layers.flags);
    }

    #[test]
    fn the_environment_layer_reads_the_sdk_variables() {
        let env = Layers::env_from(|name| match name {
            "AWS_DEFAULT_REGION" => some("ap-south-1"),
            "AWS_PROFILE" => some(""),
            _ => None,
        });
        assert_eq!(env.region.as_deref(), Some("ap-south-1"));
        assert_eq!(env.profile, None, "an empty variable is unset");
    }

    #[test]
    fn a_file_round_trips_and_is_checked() {
        let mut file = ConnectionsFile::default();
        file.insert(
            "prod-eu",
            Connection {
                profile: some("media"),
                region: some("eu-west-1"),
                stack: some("vod"),
                ..Connection::default()
            },
        )
        .unwrap();
        file.default = some("prod-eu");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        file.save(&path).unwrap();
        assert_eq!(ConnectionsFile::load(&path).unwrap(), file);
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("[connections.prod-eu]")
        );
    }

    #[test]
    fn a_missing_file_is_empty_and_bad_ones_say_why() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            ConnectionsFile::load(&dir.path().join(FILE_NAME)).unwrap(),
            ConnectionsFile::default()
        );
        for (text, says) in [
            ("[connections.a]\nregoin = \"x\"\n", "regoin"),
            ("[connections.\"a b\"]\n", "not a usable connection name"),
            (
                "[connections.a]\nendpoint_url = \"file:///etc\"\n",
                "invalid endpoint_url",
            ),
            ("default = \"b\"\n[connections.a]\n", "names no connection"),
            ("connections = 3", "invalid type"),
        ] {
            let err = ConnectionsFile::parse(text).unwrap_err();
            assert!(err.contains(says), "{text:?} gave {err:?}");
        }
    }

    #[test]
    fn an_unknown_name_lists_the_saved_ones() {
        let mut file = ConnectionsFile::default();
        let path = Path::new("/x/connections.toml");
        let none = file.get("prod", path).unwrap_err().to_string();
        assert!(none.contains("none is saved yet"), "{none}");
        file.insert("dev", Connection::default()).unwrap();
        let listed = file.get("prod", path).unwrap_err().to_string();
        assert!(listed.contains("saved: dev"), "{listed}");
        assert!(file.remove("dev"));
        assert!(!file.remove("dev"));
    }
}
