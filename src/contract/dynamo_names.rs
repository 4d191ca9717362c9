//! Which attribute names the solution's dynamo step can write (contract §3 "Metadata mode", §5).
//!
//! The solution's dynamo Lambda updates the job record with `UpdateExpression: 'set ' + key + ' = :1, …'`:
//! every field name is written inline, without `ExpressionAttributeNames`. DynamoDB then rejects the whole
//! update, and the workflow fails with an Error at `<stack>-dynamo`, when a name is one of its reserved
//! words (case-insensitive) or is not a plain identifier. Metadata keys end up as such names, so vodesk
//! refuses them before uploading ([`unquoted_name_problem`]).

/// DynamoDB's reserved words, one per line, upper case, sorted (the list AWS documents; moto carries
/// the same 573 words).
const RESERVED_WORDS: &str = include_str!("dynamodb_reserved_words.txt");

/// Whether DynamoDB reserves `name` in expressions (compared case-insensitively, as DynamoDB does).
pub fn is_reserved_word(name: &str) -> bool {
    RESERVED_WORDS
        .lines()
        .any(|word| word.eq_ignore_ascii_case(name))
}

/// Why `name` cannot appear unquoted in an update expression, as a sentence part ("DynamoDB reserves
/// `name`"), or `None` when it can: an ASCII letter, then ASCII letters, digits or `_`, and not a
/// reserved word.
pub fn unquoted_name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some("an empty name cannot be written to DynamoDB".to_owned());
    };
    if !first.is_ascii_alphabetic() {
        return Some(format!(
            "`{name}` does not start with an ASCII letter, which DynamoDB needs for a name written inline"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        let what = match bad {
            ' ' => "a space".to_owned(),
            '-' => "a hyphen".to_owned(),
            '.' => "a dot".to_owned(),
            other => format!("{other:?}"),
        };
        return Some(format!(
            "`{name}` contains {what}, and DynamoDB accepts only ASCII letters, digits and _ in a name written inline"
        ));
    }
    if is_reserved_word(name) {
        return Some(format!("DynamoDB reserves `{name}`"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_aws_documented_one() {
        let words: Vec<&str> = RESERVED_WORDS.lines().collect();
        assert_eq!(words.len(), 573);
        assert!(
            words.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert!(
            words
                .iter()
                .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        );
        assert_eq!(words.first(), Some(&"ABORT"));
        assert_eq!(words.last(), Some(&"ZONE"));
    }

    #[test]
    fn reserved_words_are_case_insensitive() {
        for word in [
            "name", "Name", "STATUS", "data", "size", "year", "comment", "language", "url",
        ] {
            assert!(is_reserved_word(word), "{word}");
            assert_eq!(
                unquoted_name_problem(word),
                Some(format!("DynamoDB reserves `{word}`"))
            );
        }
        for word in [
            "title",
            "presenter",
            "videoName",
            "frameCapture",
            "jobTemplate",
            "archiveSource",
            "jobTemplate_1080p",
            "srcVideo",
            "guid",
        ] {
            assert!(!is_reserved_word(word), "{word}");
            assert_eq!(unquoted_name_problem(word), None, "{word}");
        }
    }

    #[test]
    fn only_plain_identifiers_can_be_written_inline() {
        for (name, mention) in [
            ("my-key", "a hyphen"),
            ("two words", "a space"),
            ("a.b", "a dot"),
            ("año", "'ñ'"),
            ("x#y", "'#'"),
        ] {
            let problem = unquoted_name_problem(name).unwrap();
            assert!(problem.contains(mention), "{name}: {problem}");
            assert!(problem.contains(name), "{problem}");
        }
        for name in ["1st", "_x", "", "éa"] {
            assert!(unquoted_name_problem(name).is_some(), "{name:?}");
        }
    }
}
