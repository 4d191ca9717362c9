//! Object keys in the source bucket and whether they start a workflow (contract §3).
//!
//! This module owns the errors of naming ([`NamingError`]) and the checks S3 and the solution put on a
//! key ([`validate_key`]). Its submodules own turning a user's file name into a safe key component
//! (`file_name`: [`sanitize_file_name`]), key templates such as `uploads/{uuid}/{name}` (`template`:
//! [`KeyTemplate`]) and the metadata file that starts a workflow on MetadataFile stacks (`metadata`:
//! [`metadata_key`], [`metadata_document`]). Whether a key's suffix starts a workflow is
//! [`crate::contract::triggers::video_trigger`]. Pure functions: no I/O, no AWS calls.

mod file_name;
mod metadata;
mod template;

pub use file_name::{MAX_SANITIZED_LEN, sanitize_file_name};
pub use metadata::{metadata_document, metadata_key, parse_metadata_pair};
pub use template::{DEFAULT_KEY_TEMPLATE, KeyTemplate, PLACEHOLDERS};

/// S3's limit on a key, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// What went wrong with a key, a template or a metadata file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    #[error(
        "key template {template:?} uses unknown placeholder {{{placeholder}}}; valid placeholders are {}",
        placeholder_list()
    )]
    UnknownPlaceholder {
        template: String,
        placeholder: String,
    },
    #[error(
        "key template {template:?} has an unmatched {brace:?} at character {position}; placeholders are written in braces, e.g. uploads/{{uuid}}/{{name}}, and the valid ones are {}",
        placeholder_list()
    )]
    UnbalancedBrace {
        template: String,
        brace: char,
        position: usize,
    },
    #[error(
        "key template {template:?} contains none of {{name}}, {{original}} or {{ext}}, so keys would lose the file extension that decides whether a workflow starts; add one, e.g. uploads/{{uuid}}/{{name}}"
    )]
    TemplateLosesExtension { template: String },
    #[error("key template {template:?} cannot produce a usable key: {problem}; fix the template")]
    TemplateProducesInvalidKey { template: String, problem: String },
    #[error("object key {key:?} cannot be used: {problem}")]
    InvalidKey { key: String, problem: String },
    #[error(
        "{input:?} is not a metadata pair; write key=value, e.g. frameCapture=true or title=Launch Keynote"
    )]
    MetadataPair { input: String },
    #[error("metadata key {key:?} is not allowed: {reason}")]
    MetadataKeyNotAllowed { key: String, reason: String },
    #[error("metadata value {key}={value} is not allowed: {reason}")]
    MetadataValueNotAllowed {
        key: String,
        value: String,
        reason: String,
    },
    #[error(
        "metadata keys {first:?} and {second:?} are the same field to the solution (it lower-cases the first letter); give it once"
    )]
    MetadataDuplicate { first: String, second: String },
    #[error("video key {key:?} cannot be named by a metadata file: {reason}")]
    UnsuitableVideoKey { key: String, reason: String },
}

fn placeholder_list() -> String {
    PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// Checks a key against S3's limits and vodesk's rules: not empty, at most 1024 UTF-8 bytes, no
/// leading or trailing `/`, no `//`, no `.` or `..` segment (S3 accepts them, but many tools
/// normalise them away and then address a different object), and no control characters (they
/// break logs, URLs and the solution's own key decoding).
pub fn validate_key(key: &str) -> Result<(), NamingError> {
    key_problem(key).map_or(Ok(()), |problem| {
        Err(NamingError::InvalidKey {
            key: key.to_owned(),
            problem,
        })
    })
}

fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("it is empty; give a key such as uploads/clip.mp4".to_owned());
    }
    if key.len() > MAX_KEY_BYTES {
        return Some(format!(
            "it is {} UTF-8 bytes long and S3 allows at most {MAX_KEY_BYTES}; use a shorter prefix or name",
            key.len()
        ));
    }
    if key.starts_with('/') {
        return Some(
            "it starts with '/', which would create an unnamed top-level folder; remove the leading slash"
                .to_owned(),
        );
    }
    if key.ends_with('/') {
        return Some(
            "it ends with '/', which names a folder, not a file; add the file name".to_owned(),
        );
    }
    if key.contains("//") {
        return Some(
            "it contains '//', an empty folder name; use a single slash between folders".to_owned(),
        );
    }
    if key
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Some(
            "it has a '.' or '..' path segment, which many tools rewrite into a different key; remove it"
                .to_owned(),
        );
    }
    if let Some(c) = key.chars().find(|c| c.is_control()) {
        return Some(format!(
            "it contains the control character {c:?}; remove it from the name or template"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_key_rules() {
        let good = [
            "a.mp4",
            "uploads/Café Opening Night.MOV",
            "a/b/c..d.mp4",
            "x/.hidden.mp4",
            "...mp4",
        ];
        for key in good {
            assert_eq!(validate_key(key), Ok(()), "{key}");
        }
        let max = "k".repeat(MAX_KEY_BYTES);
        assert_eq!(validate_key(&max), Ok(()));
        // 1024 bytes counted in UTF-8, not characters.
        let multibyte = "é".repeat(MAX_KEY_BYTES / 2 + 1);
        assert!(validate_key(&multibyte).is_err());

        let bad = [
            ("", "empty"),
            ("/a.mp4", "starts with '/'"),
            ("a/", "ends with '/'"),
            ("a//b.mp4", "'//'"),
            ("./a.mp4", "'.'"),
            ("a/../b.mp4", "'..'"),
            ("a/..", "'..'"),
            ("a\u{0}b.mp4", "control character"),
            ("a\u{85}b.mp4", "control character"),
            ("a\u{7f}b.mp4", "control character"),
        ];
        for (key, expected) in bad {
            let err = validate_key(key).unwrap_err();
            assert!(matches!(err, NamingError::InvalidKey { .. }));
            assert!(err.to_string().contains(expected), "{key:?}: {err}");
        }
        let too_long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(
            validate_key(&too_long)
                .unwrap_err()
                .to_string()
                .contains("1025")
        );
    }
}
