//! The AWS profiles a user has, read from the shared config and credentials files (`AWS_CONFIG_FILE`,
//! `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials`), for the connect
//! screen's profile list: each profile's name, its region and whether it signs in through IAM Identity
//! Center (SSO). Only section headers and those two settings are read; secrets are never kept.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One profile as the connect screen lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub region: Option<String>,
    /// Signs in with `aws sso login` (an `sso_session` or `sso_start_url`).
    pub sso: bool,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

fn config_path() -> Option<PathBuf> {
    std::env::var_os("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".aws").join("config")))
}

fn credentials_path() -> Option<PathBuf> {
    std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".aws").join("credentials")))
}

/// Every profile of the user's files, sorted by name (`default` first). Unreadable files count as
/// empty: a user without an AWS setup simply has no profiles.
pub(crate) fn list_profiles() -> Vec<Profile> {
    let config = config_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let credentials = credentials_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    parse_profiles(&config, &credentials)
}

/// Reads profile sections from the texts of the config and credentials files.
pub(crate) fn parse_profiles(config: &str, credentials: &str) -> Vec<Profile> {
    let mut profiles: BTreeMap<String, Profile> = BTreeMap::new();
    let mut read = |text: &str, in_config: bool| {
        let mut current: Option<String> = None;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let header = header.trim();
                // In the config file, profiles are `[default]` or `[profile NAME]`; other sections
                // (`[sso-session x]`, `[services y]`) are not profiles.
                current = if in_config {
                    if header == "default" {
                        Some("default".to_owned())
                    } else {
                        header
                            .strip_prefix("profile ")
                            .map(|name| name.trim().to_owned())
                    }
                } else {
                    Some(header.to_owned())
                };
                if let Some(name) = &current {
                    profiles.entry(name.clone()).or_insert_with(|| Profile {
                        name: name.clone(),
                        region: None,
                        sso: false,
                    });
                }
                continue;
            }
            let (Some(name), Some((key, value))) = (&current, line.split_once('=')) else {
                continue;
            };
            let Some(profile) = profiles.get_mut(name) else {
                continue;
            };
            match key.trim() {
                "region" if in_config => profile.region = Some(value.trim().to_owned()),
                "sso_session" | "sso_start_url" if in_config => profile.sso = true,
                _ => {}
            }
        }
    };
    read(config, true);
    read(credentials, false);
    let mut list: Vec<Profile> = profiles.into_values().collect();
    // `default` first, then by name.
    list.sort_by_key(|p| (p.name != "default", p.name.clone()));
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_come_from_both_files_with_region_and_sso() {
        let config = "\
[default]
region = eu-west-1

[profile work]
sso_session = corp
sso_account_id = 111122223333
region=us-east-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
";
        let credentials = "\
[default]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = secret

[ci]
aws_access_key_id = AKIAEXAMPLE2
";
        let profiles = parse_profiles(config, credentials);
        let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["default", "ci", "work"]);
        assert_eq!(profiles[0].region.as_deref(), Some("eu-west-1"));
        assert!(!profiles[0].sso);
        assert!(profiles[2].sso);
        assert_eq!(profiles[2].region.as_deref(), Some("us-east-1"));
        assert_eq!(profiles[1].region, None);
        let text = format!("{profiles:?}");
        assert!(!text.contains("secret") && !text.contains("AKIA"));
    }
}
