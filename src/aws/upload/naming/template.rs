//! Key templates such as `uploads/{uuid}/{name}` ([`KeyTemplate`]): parsing and checking them, and
//! rendering the key of one upload from its file name, a UUID and the date.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use super::file_name::{base_name, sanitized_parts};
use super::{NamingError, key_problem, validate_key};

/// The key template used when the user gives none: a fresh folder per upload, so two uploads of
/// `clip.mp4` never collide and each key still ends in the (sanitized) file name.
pub const DEFAULT_KEY_TEMPLATE: &str = "uploads/{uuid}/{name}";

/// Every placeholder a key template may use.
pub const PLACEHOLDERS: [&str; 9] = [
    "uuid", "name", "stem", "ext", "original", "date", "yyyy", "mm", "dd",
];

/// A key template such as `uploads/{uuid}/{name}` (see [`PLACEHOLDERS`]):
///
/// - `{uuid}` a fresh random UUID per upload (hyphenated, lower case);
/// - `{name}` the sanitized file name ([`sanitize_file_name`](super::sanitize_file_name)); `{stem}`
///   and `{ext}` its two halves (`{ext}` lower case without the dot, empty when there is none);
/// - `{original}` the file name exactly as given (directories removed). Keys may hold spaces and
///   non-ASCII characters (§3), but the extension's case is kept, so check
///   [`video_trigger`](crate::contract::triggers::video_trigger);
/// - `{date}` `YYYY-MM-DD` (UTC), `{yyyy}`, `{mm}`, `{dd}` its parts.
///
/// A template must contain `{name}`, `{original}` or `{ext}`, so that keys keep the extension that
/// decides whether a workflow starts. Braces are only for placeholders; there is no escape, since
/// braces in keys are unusual and awkward in URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTemplate(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Uuid,
    Name,
    Stem,
    Ext,
    Original,
    Date,
    Year,
    Month,
    Day,
}

impl Placeholder {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "uuid" => Self::Uuid,
            "name" => Self::Name,
            "stem" => Self::Stem,
            "ext" => Self::Ext,
            "original" => Self::Original,
            "date" => Self::Date,
            "yyyy" => Self::Year,
            "mm" => Self::Month,
            "dd" => Self::Day,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder(Placeholder),
}

fn tokenize(template: &str) -> Result<Vec<Piece<'_>>, NamingError> {
    let unbalanced = |brace: char, byte_index: usize| NamingError::UnbalancedBrace {
        template: template.to_owned(),
        brace,
        position: template
            .get(..byte_index)
            .map_or(0, |before| before.chars().count())
            + 1,
    };
    let mut pieces = Vec::new();
    let mut rest = template;
    let mut consumed = 0;
    while !rest.is_empty() {
        let Some(open) = rest.find(['{', '}']) else {
            pieces.push(Piece::Text(rest));
            break;
        };
        if rest.get(open..).is_some_and(|tail| tail.starts_with('}')) {
            return Err(unbalanced('}', consumed + open));
        }
        if open > 0 {
            pieces.push(Piece::Text(rest.get(..open).unwrap_or_default()));
        }
        let after_open = rest.get(open + 1..).unwrap_or_default();
        let close = match after_open.find(['{', '}']) {
            Some(i) if after_open.get(i..).is_some_and(|t| t.starts_with('}')) => i,
            _ => return Err(unbalanced('{', consumed + open)),
        };
        let name = after_open.get(..close).unwrap_or_default();
        let placeholder =
            Placeholder::from_name(name).ok_or_else(|| NamingError::UnknownPlaceholder {
                template: template.to_owned(),
                placeholder: name.to_owned(),
            })?;
        pieces.push(Piece::Placeholder(placeholder));
        let advance = open + 1 + close + 1;
        consumed += advance;
        rest = rest.get(advance..).unwrap_or_default();
    }
    Ok(pieces)
}

impl KeyTemplate {
    /// Parses and checks a template. Besides the syntax, it renders a sample key, so that static
    /// mistakes (`/{name}`, `a//{name}`, `{name}/`) are reported when the template is given rather
    /// than on the first upload.
    pub fn parse(template: &str) -> Result<Self, NamingError> {
        let pieces = tokenize(template)?;
        let keeps_extension = pieces.iter().any(|piece| {
            matches!(
                piece,
                Piece::Placeholder(Placeholder::Name | Placeholder::Original | Placeholder::Ext)
            )
        });
        if !keeps_extension {
            return Err(NamingError::TemplateLosesExtension {
                template: template.to_owned(),
            });
        }
        let sample = render_pieces(&pieces, "video.mp4", &Uuid::nil(), (2000, 1, 1));
        if let Some(problem) = key_problem(&sample) {
            return Err(NamingError::TemplateProducesInvalidKey {
                template: template.to_owned(),
                problem,
            });
        }
        Ok(Self(template.to_owned()))
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text every key of this template starts with: what comes before its first placeholder
    /// (`uploads/` for the default). An IAM resource `bucket/<prefix>*` covers every key it makes.
    pub fn fixed_prefix(&self) -> &str {
        self.0.split('{').next().unwrap_or_default()
    }

    /// The key for `file_name` (a name, or a path whose directories are ignored), with this upload's
    /// `uuid` and the UTC `date` as `(year, month, day)` (see [`crate::time::today_utc`]). The key is checked with
    /// [`validate_key`]; it can still fail for unusual names, e.g. `{original}` with a control
    /// character, or a long prefix plus a long name.
    pub fn render(
        &self,
        file_name: &str,
        uuid: &Uuid,
        date: (i32, u32, u32),
    ) -> Result<String, NamingError> {
        let pieces = tokenize(&self.0)?;
        let key = render_pieces(&pieces, file_name, uuid, date);
        validate_key(&key)?;
        Ok(key)
    }
}

fn render_pieces(
    pieces: &[Piece<'_>],
    file_name: &str,
    uuid: &Uuid,
    (year, month, day): (i32, u32, u32),
) -> String {
    let (stem, extension) = sanitized_parts(file_name);
    let extension = extension.unwrap_or_default();
    let name = if extension.is_empty() {
        stem.clone()
    } else {
        format!("{stem}.{extension}")
    };
    let mut key = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => key.push_str(text),
            Piece::Placeholder(placeholder) => match placeholder {
                Placeholder::Uuid => key.push_str(&uuid.hyphenated().to_string()),
                Placeholder::Name => key.push_str(&name),
                Placeholder::Stem => key.push_str(&stem),
                Placeholder::Ext => key.push_str(&extension),
                Placeholder::Original => key.push_str(base_name(file_name)),
                Placeholder::Date => key.push_str(&format!("{year:04}-{month:02}-{day:02}")),
                Placeholder::Year => key.push_str(&format!("{year:04}")),
                Placeholder::Month => key.push_str(&format!("{month:02}")),
                Placeholder::Day => key.push_str(&format!("{day:02}")),
            },
        }
    }
    key
}

impl Default for KeyTemplate {
    fn default() -> Self {
        Self(DEFAULT_KEY_TEMPLATE.to_owned())
    }
}

impl FromStr for KeyTemplate {
    type Err = NamingError;
    fn from_str(template: &str) -> Result<Self, Self::Err> {
        Self::parse(template)
    }
}

impl fmt::Display for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::sanitize_file_name;
    use super::*;
    use proptest::prelude::*;

    fn uuid() -> Uuid {
        Uuid::parse_str("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap()
    }

    const DATE: (i32, u32, u32) = (2025, 3, 7);

    #[test]
    fn the_fixed_prefix_is_the_text_before_the_first_placeholder() {
        assert_eq!(KeyTemplate::default().fixed_prefix(), "uploads/");
        let dated = KeyTemplate::parse("incoming/{yyyy}/{name}").unwrap();
        assert_eq!(dated.fixed_prefix(), "incoming/");
        assert_eq!(KeyTemplate::parse("{name}").unwrap().fixed_prefix(), "");
    }

    #[test]
    fn default_template_renders_uuid_folder_and_name() {
        let template = KeyTemplate::default();
        assert_eq!(template.as_str(), "uploads/{uuid}/{name}");
        assert_eq!(KeyTemplate::parse(DEFAULT_KEY_TEMPLATE).unwrap(), template);
        assert_eq!(
            template
                .render("Café Opening Night.MOV", &uuid(), DATE)
                .unwrap(),
            "uploads/0f8fad5b-d9cb-469f-a165-70867728950e/Cafe-Opening-Night.mov"
        );
    }

    #[test]
    fn every_placeholder_renders() {
        let template =
            KeyTemplate::parse("{yyyy}/{mm}/{dd}/{date}/{uuid}/{stem}--{ext}/{name}/{original}")
                .unwrap();
        assert_eq!(
            template
                .render("/videos/Año Nuevo.MP4", &uuid(), DATE)
                .unwrap(),
            "2025/03/07/2025-03-07/0f8fad5b-d9cb-469f-a165-70867728950e/Ano-Nuevo--mp4/Ano-Nuevo.mp4/Año Nuevo.MP4"
        );
    }

    #[test]
    fn stem_and_ext_agree_with_name() {
        let template = KeyTemplate::parse("{stem}.{ext}").unwrap();
        for file in ["a.b.c.MOV", "Café.mp4", "x.M P4"] {
            assert_eq!(
                template.render(file, &uuid(), DATE).unwrap(),
                sanitize_file_name(file)
            );
        }
        // No extension: {ext} is empty.
        let template = KeyTemplate::parse("in/{stem}/{ext}x").unwrap();
        assert_eq!(
            template.render("noext", &uuid(), DATE).unwrap(),
            "in/noext/x"
        );
    }

    #[test]
    fn original_keeps_spaces_and_unicode_but_not_directories() {
        let template = KeyTemplate::parse("in/{original}").unwrap();
        assert_eq!(
            template
                .render("C:\\clips\\日本 語.mov", &uuid(), DATE)
                .unwrap(),
            "in/日本 語.mov"
        );
    }

    #[test]
    fn template_from_str_and_display() {
        let template: KeyTemplate = "x/{name}".parse().unwrap();
        assert_eq!(template.to_string(), "x/{name}");
        assert!("x/{nope}".parse::<KeyTemplate>().is_err());
    }

    #[test]
    fn unknown_placeholder_lists_the_valid_ones() {
        let err = KeyTemplate::parse("uploads/{guid}/{name}").unwrap_err();
        assert_eq!(
            err,
            NamingError::UnknownPlaceholder {
                template: "uploads/{guid}/{name}".to_owned(),
                placeholder: "guid".to_owned()
            }
        );
        let text = err.to_string();
        assert!(text.contains("{guid}"), "{text}");
        for placeholder in PLACEHOLDERS {
            assert!(text.contains(&format!("{{{placeholder}}}")), "{text}");
        }
        // Placeholders are case-sensitive, and an empty one is unknown too.
        assert!(matches!(
            KeyTemplate::parse("{Name}"),
            Err(NamingError::UnknownPlaceholder { .. })
        ));
        assert!(matches!(
            KeyTemplate::parse("{}{name}"),
            Err(NamingError::UnknownPlaceholder { .. })
        ));
    }

    #[test]
    fn unbalanced_braces_are_refused_with_their_position() {
        let cases = [
            ("uploads/{name", '{', 9),
            ("uploads/name}", '}', 13),
            ("{name}}", '}', 7),
            ("{{name}", '{', 1),
            ("{na{me}", '{', 1),
            ("é/{name", '{', 3),
        ];
        for (template, brace, position) in cases {
            let err = KeyTemplate::parse(template).unwrap_err();
            assert_eq!(
                err,
                NamingError::UnbalancedBrace {
                    template: template.to_owned(),
                    brace,
                    position
                },
                "{template}"
            );
            assert!(err.to_string().contains("{uuid}, {name}"), "{err}");
        }
    }

    #[test]
    fn template_must_keep_the_extension() {
        for template in [
            "uploads/{uuid}",
            "{stem}",
            "fixed-key",
            "",
            "{date}/{stem}.mp4",
        ] {
            let err = KeyTemplate::parse(template).unwrap_err();
            assert!(
                matches!(err, NamingError::TemplateLosesExtension { .. }),
                "{template}: {err:?}"
            );
            assert!(err.to_string().contains("{name}"));
        }
        for template in ["{name}", "{original}", "x/{stem}.{ext}"] {
            assert!(KeyTemplate::parse(template).is_ok(), "{template}");
        }
    }

    #[test]
    fn template_static_mistakes_are_caught_at_parse_time() {
        for template in [
            "/uploads/{name}",
            "uploads//{name}",
            "{name}/",
            "uploads/./{name}",
            "../{name}",
            "up\tloads/{name}",
        ] {
            let err = KeyTemplate::parse(template).unwrap_err();
            assert!(
                matches!(err, NamingError::TemplateProducesInvalidKey { .. }),
                "{template}: {err:?}"
            );
        }
        let long = format!("{}/{{name}}", "p".repeat(1100));
        assert!(matches!(
            KeyTemplate::parse(&long),
            Err(NamingError::TemplateProducesInvalidKey { .. })
        ));
    }

    #[test]
    fn render_validates_the_key() {
        let template = KeyTemplate::parse("in/{original}").unwrap();
        for bad in ["..", ".", "bell\u{7}.mp4", "line\nbreak.mp4"] {
            let err = template.render(bad, &uuid(), DATE).unwrap_err();
            assert!(matches!(err, NamingError::InvalidKey { .. }), "{bad:?}");
        }
        // An empty original leaves a trailing slash.
        assert!(template.render("", &uuid(), DATE).is_err());
        // Too long once the prefix is added.
        let template = KeyTemplate::parse(&format!("{}/{{original}}", "p".repeat(900))).unwrap();
        let err = template
            .render(&format!("{}.mp4", "n".repeat(200)), &uuid(), DATE)
            .unwrap_err();
        assert!(err.to_string().contains("1024"), "{err}");
    }

    proptest! {
        #[test]
        fn default_template_renders_valid_keys(name in "\\PC{0,300}") {
            let key = KeyTemplate::default().render(&name, &uuid(), DATE).unwrap();
            prop_assert!(key.starts_with("uploads/0f8fad5b-d9cb-469f-a165-70867728950e/"));
            prop_assert!(validate_key(&key).is_ok());
        }
    }
}
