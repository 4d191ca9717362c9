//! Object keys in the source bucket and whether they start a workflow (contract §3).
//!
//! This module owns: turning a user's file name into a safe key component ([`sanitize_file_name`]),
//! key templates such as `uploads/{uuid}/{name}` ([`KeyTemplate`]), the checks S3 and the solution put
//! on a key ([`validate_key`]), the per-release suffix rules that decide whether an upload starts a
//! workflow ([`video_trigger`]), and the metadata file that starts it on MetadataFile stacks
//! ([`metadata_key`], [`metadata_document`]). Pure functions: no I/O, no AWS calls.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};
use uuid::Uuid;

/// The key template used when the user gives none: a fresh folder per upload, so two uploads of
/// `clip.mp4` never collide and each key still ends in the (sanitized) file name.
pub const DEFAULT_KEY_TEMPLATE: &str = "uploads/{uuid}/{name}";

/// Every placeholder a key template may use.
pub const PLACEHOLDERS: [&str; 9] = [
    "uuid", "name", "stem", "ext", "original", "date", "yyyy", "mm", "dd",
];

/// Longest name [`sanitize_file_name`] returns, in bytes. Leaves room for a prefix within S3's
/// 1024-byte key limit and stays under the 255-byte file-name limit of common file systems, since the
/// solution's outputs are named after the input.
pub const MAX_SANITIZED_LEN: usize = 200;
/// Longest extension kept as an extension; anything longer is not a real video extension, so it stays
/// part of the stem (and may be truncated with it).
const MAX_EXTENSION_LEN: usize = 16;
/// S3's limit on a key, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Used when nothing of the original stem survives sanitizing (e.g. `日本語.mp4`).
const FALLBACK_STEM: &str = "video";

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
// File names
// ---------------------------------------------------------------------------------------------

/// Reduces a file name to `[A-Za-z0-9._-]`, for use in object keys.
///
/// The solution accepts any key, but names travel unencoded into `srcVideo`, output file names and
/// CloudFront URLs (contract §7), where spaces and non-ASCII characters need percent-encoding that
/// other tools forget. So: any directory part (`/` or `\`) is dropped; common Latin letters with
/// accents become ASCII (`é`→`e`, `ß`→`ss`, `æ`→`ae`; combining accents, as macOS writes them, are
/// dropped); every other character becomes `-`, runs of `-` collapse, and `-`/`.` are trimmed from
/// the ends of the stem. The extension is lower-cased (upper and mixed case trigger on fewer
/// releases, §3) and reduced to ASCII letters and digits; the stem keeps its case. An empty stem
/// becomes `video`. The result is at most [`MAX_SANITIZED_LEN`] bytes, cut from the stem so the
/// extension survives.
///
/// Guarantees (property-tested): non-empty, only `[A-Za-z0-9._-]`, never starts or ends with `.`
/// or `-` (so it is never a hidden file, `.`/`..`, or mistaken for a command-line option), at most
/// 200 bytes.
pub fn sanitize_file_name(original: &str) -> String {
    let (stem, extension) = sanitized_parts(original);
    match extension {
        Some(extension) => format!("{stem}.{extension}"),
        None => stem,
    }
}

/// The sanitized stem and extension (without the dot), shared by [`sanitize_file_name`] and the
/// `{stem}`/`{ext}` placeholders so that `{stem}.{ext}` is always `{name}`.
fn sanitized_parts(original: &str) -> (String, Option<String>) {
    let base = base_name(original);
    // The extension is what follows the last dot. A leading dot alone (`.mp4`) still counts: such a
    // file is a video with an empty stem more often than a hidden file with no extension.
    let split = base
        .rsplit_once('.')
        .map(|(stem, extension)| (stem, clean_extension(extension)))
        .filter(|(_, extension)| !extension.is_empty() && extension.len() <= MAX_EXTENSION_LEN);
    let (raw_stem, extension) = match split {
        Some((stem, extension)) => (stem, Some(extension)),
        None => (base, None),
    };
    let budget = MAX_SANITIZED_LEN.saturating_sub(extension.as_ref().map_or(0, |e| e.len() + 1));
    let mut stem = clean_stem(raw_stem);
    if stem.len() > budget {
        // All ASCII by now, so any byte index is a char boundary.
        stem.truncate(budget);
        stem = stem.trim_end_matches(['-', '.']).to_owned();
    }
    if stem.is_empty() {
        stem = FALLBACK_STEM.to_owned();
    }
    (stem, extension)
}

/// The last component of a path written with `/` or `\` separators.
fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn clean_extension(extension: &str) -> String {
    let mut out = String::new();
    for c in extension.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if let Some(ascii) = transliterate(c) {
            out.push_str(&ascii.to_ascii_lowercase());
        }
        // Anything else is dropped: an extension has no room for a `-` placeholder.
    }
    out
}

fn clean_stem(stem: &str) -> String {
    let mut out = String::with_capacity(stem.len());
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if is_combining_mark(c) {
            // `e` + U+0301 (decomposed `é`, the macOS form) is just `e`.
        } else if let Some(ascii) = transliterate(c) {
            out.push_str(&ascii);
        } else {
            out.push('-');
        }
    }
    let mut collapsed = String::with_capacity(out.len());
    for c in out.chars() {
        if !(c == '-' && collapsed.ends_with('-')) {
            collapsed.push(c);
        }
    }
    collapsed.trim_matches(['-', '.']).to_owned()
}

/// Combining diacritical marks (U+0300–U+036F), which follow the base letter in decomposed text.
fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// ASCII for common Latin letters with diacritics; upper-case letters keep an upper-case initial
/// (`Æ`→`Ae`, `É`→`E`). `None` for anything else.
fn transliterate(c: char) -> Option<String> {
    let lower = if c.is_uppercase() {
        let mut lowered = c.to_lowercase();
        match (lowered.next(), lowered.next()) {
            (Some(single), None) => single,
            _ => return None,
        }
    } else {
        c
    };
    let ascii = match lower {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    };
    if c.is_uppercase() {
        let mut chars = ascii.chars();
        Some(
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default(),
        )
    } else {
        Some(ascii.to_owned())
    }
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

/// A key template such as `uploads/{uuid}/{name}` (see [`PLACEHOLDERS`]):
///
/// - `{uuid}` a fresh random UUID per upload (hyphenated, lower case);
/// - `{name}` the sanitized file name ([`sanitize_file_name`]); `{stem}` and `{ext}` its two halves
///   (`{ext}` lower case without the dot, empty when there is none);
/// - `{original}` the file name exactly as given (directories removed). Keys may hold spaces and
///   non-ASCII characters (§3), but the extension's case is kept, so check [`video_trigger`];
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

// ---------------------------------------------------------------------------------------------
// Metadata mode
// ---------------------------------------------------------------------------------------------

/// The key of the metadata file for `video_key`: the key without its last extension, plus `.json`
/// in lower case (only lower-case `.json` starts a metadata workflow). `clips/a.mp4` →
/// `clips/a.json`; a key without an extension gets `.json` appended.
pub fn metadata_key(video_key: &str) -> String {
    let segment_start = video_key.rfind('/').map_or(0, |slash| slash + 1);
    let segment = video_key.get(segment_start..).unwrap_or_default();
    match segment.rfind('.') {
        // A dot at the start of the last segment (`.mp4`) leaves no stem; keep it, as for a key
        // without an extension.
        Some(dot) if dot > 0 => {
            let stem = video_key.get(..segment_start + dot).unwrap_or(video_key);
            format!("{stem}.json")
        }
        _ => format!("{video_key}.json"),
    }
}

/// Metadata fields that must not appear in a metadata file (contract §3, §8): the solution copies
/// every key into the workflow record, so these would overwrite what it records itself, or make
/// readers see a status, error or URL the workflow never produced.
const RESERVED_METADATA_KEYS: [&str; 8] = [
    "srcVideo",
    "guid",
    "workflowStatus",
    "status",
    "startTime",
    "errorMessage",
    "srcMediainfo",
    "egressEndpoints",
];
/// Suffixes of the record's URL and playlist fields (`hlsUrl`, `mp4Urls`, `hlsPlaylist`, ...).
const RESERVED_METADATA_SUFFIXES: [&str; 3] = ["Url", "Urls", "Playlist"];
/// The exact values acceleratedTranscoding accepts; anything else makes a Choice state without a
/// default branch fail, and the workflow stalls without any notification (contract §1).
const ACCELERATED_TRANSCODING_VALUES: [&str; 3] = ["ENABLED", "PREFERRED", "DISABLED"];

/// The field name the solution stores for a metadata key: the first character lower-cased.
fn record_field(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The metadata file for `video_key`: `{"srcVideo": video_key, ...extra}`.
///
/// `srcVideo` is the raw key, exactly as uploaded. Extra values become JSON booleans or numbers when
/// they are exactly one (`frameCapture=true` → `true`, `2` → `2`), otherwise strings. Refused: keys
/// that would overwrite what the solution records or confuse readers ([`RESERVED_METADATA_KEYS`],
/// any key ending in `Url`, `Urls` or `Playlist`), including `srcVideo` itself; two keys the solution
/// would store under the same name; and the two values that silently stall a workflow:
/// a non-boolean `frameCapture` and an `acceleratedTranscoding` other than
/// ENABLED/PREFERRED/DISABLED. Keys are judged as the solution stores them, with the first letter
/// lower-cased (`FrameCapture` is `frameCapture`, `SrcVideo` would overwrite `srcVideo`).
pub fn metadata_document(
    video_key: &str,
    extra: &[(String, String)],
) -> Result<Value, NamingError> {
    let unsuitable = |reason: &str| NamingError::UnsuitableVideoKey {
        key: video_key.to_owned(),
        reason: reason.to_owned(),
    };
    if video_key.is_empty() {
        return Err(unsuitable(
            "it is empty, and the solution needs a non-empty srcVideo; give the video's key",
        ));
    }
    // A MetadataFile bucket fires on every key ending in `json`: the video upload itself would start
    // a broken metadata workflow, and its metadata file could even be the same key.
    if video_key.ends_with("json") {
        return Err(unsuitable(
            "it ends in \"json\", so on a MetadataFile stack uploading the video would itself be taken for a \
             metadata file; give the video key its real extension, e.g. .mp4",
        ));
    }

    let mut document = Map::new();
    document.insert("srcVideo".to_owned(), Value::String(video_key.to_owned()));
    // Record field name → the key as the user wrote it, to report collisions in their words.
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (key, value) in extra {
        let field = record_field(key);
        if key.is_empty() {
            return Err(NamingError::MetadataKeyNotAllowed {
                key: key.clone(),
                reason: "it is empty; write key=value".to_owned(),
            });
        }
        if let Some(reason) = reserved_reason(key, &field) {
            return Err(NamingError::MetadataKeyNotAllowed {
                key: key.clone(),
                reason,
            });
        }
        if let Some((_, first)) = seen.iter().find(|(existing, _)| *existing == field) {
            return Err(NamingError::MetadataDuplicate {
                first: (*first).to_owned(),
                second: key.clone(),
            });
        }
        let parsed = metadata_value(value);
        check_metadata_value(key, &field, value, &parsed)?;
        seen.push((field, key));
        document.insert(key.clone(), parsed);
    }
    Ok(Value::Object(document))
}

fn reserved_reason(key: &str, field: &str) -> Option<String> {
    if field == "srcVideo" {
        return Some(if key == "srcVideo" {
            "vodesk sets srcVideo to the uploaded video's key itself; remove this pair".to_owned()
        } else {
            format!(
                "the solution stores it as srcVideo, which vodesk sets to the uploaded video's key; remove {key}"
            )
        });
    }
    if RESERVED_METADATA_KEYS.contains(&field) {
        return Some(format!(
            "the solution copies it verbatim into the workflow record as {field}, where it would overwrite or \
             contradict what the workflow records itself; use another name, e.g. a title or note field"
        ));
    }
    if RESERVED_METADATA_SUFFIXES
        .iter()
        .any(|suffix| field.ends_with(suffix))
    {
        return Some(format!(
            "names ending in Url, Urls or Playlist are the workflow's output fields, and {field} would be \
             taken for an output the workflow never produced; use another name"
        ));
    }
    None
}

/// A JSON boolean or number when `value` is exactly one, otherwise the string.
fn metadata_value(value: &str) -> Value {
    if value.trim() == value
        && let Ok(parsed) = serde_json::from_str::<Value>(value)
        && (parsed.is_boolean() || parsed.is_number())
    {
        return parsed;
    }
    Value::String(value.to_owned())
}

fn check_metadata_value(
    key: &str,
    field: &str,
    raw: &str,
    parsed: &Value,
) -> Result<(), NamingError> {
    let refuse = |reason: &str| NamingError::MetadataValueNotAllowed {
        key: key.to_owned(),
        value: raw.to_owned(),
        reason: reason.to_owned(),
    };
    match field {
        "frameCapture" if !parsed.is_boolean() => Err(refuse(
            "frameCapture must be true or false; any other value makes the workflow stall without a notification",
        )),
        "acceleratedTranscoding" if !ACCELERATED_TRANSCODING_VALUES.contains(&raw) => Err(refuse(
            "acceleratedTranscoding must be exactly ENABLED, PREFERRED or DISABLED; any other value makes the \
             workflow stall without a notification",
        )),
        _ => Ok(()),
    }
}

/// Splits a `key=value` command-line argument at the first `=`. The key is trimmed and must not be
/// empty; the value is kept as written (it may be empty or contain `=`).
pub fn parse_metadata_pair(input: &str) -> Result<(String, String), NamingError> {
    let (key, value) = input
        .split_once('=')
        .ok_or_else(|| NamingError::MetadataPair {
            input: input.to_owned(),
        })?;
    let key = key.trim();
    if key.is_empty() {
        return Err(NamingError::MetadataPair {
            input: input.to_owned(),
        });
    }
    Ok((key.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn uuid() -> Uuid {
        Uuid::parse_str("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap()
    }

    const DATE: (i32, u32, u32) = (2025, 3, 7);

    // ---- sanitize_file_name ----

    #[test]
    fn sanitize_examples() {
        let cases = [
            ("Café Opening Night.MOV", "Cafe-Opening-Night.mov"),
            ("a+b%c#d.mp4", "a-b-c-d.mp4"),
            ("日本語.mp4", "video.mp4"),
            ("..hidden.MP4", "hidden.mp4"),
            ("name.with.dots.Mp4", "name.with.dots.mp4"),
            ("noext", "noext"),
            ("clip.mp4", "clip.mp4"),
            ("Under_score-dash.mkv", "Under_score-dash.mkv"),
            ("  spaced   out  .mp4", "spaced-out.mp4"),
            ("a - b.mp4", "a-b.mp4"),
            ("-leading.mp4", "leading.mp4"),
            ("trailing-.mp4", "trailing.mp4"),
            ("trailing..mp4", "trailing.mp4"),
            (".mp4", "video.mp4"),
            ("", "video"),
            ("...", "video"),
            ("noext.", "noext"),
            ("file.日本", "file"),
            ("x.M P4", "x.mp4"),
            ("émoji 🎬 take 2.webm", "emoji-take-2.webm"),
        ];
        for (input, expected) in cases {
            assert_eq!(sanitize_file_name(input), expected, "{input:?}");
        }
    }

    #[test]
    fn sanitize_transliterates_latin_accents() {
        let cases = [
            ("Año Nuevo.mp4", "Ano-Nuevo.mp4"),
            ("Über Straße.mov", "Uber-Strasse.mov"),
            ("Ærø Æble œuvre.mp4", "Aero-Aeble-oeuvre.mp4"),
            ("Ça Ålesund Øst.mp4", "Ca-Alesund-Ost.mp4"),
            ("Łódź Kraków.mp4", "Lodz-Krakow.mp4"),
            ("Þórður.mp4", "Thordur.mp4"),
            ("crème brûlée.mp4", "creme-brulee.mp4"),
            ("Vidéo.MPEG", "Video.mpeg"),
        ];
        for (input, expected) in cases {
            assert_eq!(sanitize_file_name(input), expected, "{input:?}");
        }
    }

    #[test]
    fn sanitize_drops_combining_marks_of_decomposed_names() {
        // macOS file names often arrive decomposed: "e" + COMBINING ACUTE ACCENT.
        assert_eq!(
            sanitize_file_name("Cafe\u{301} Opening.mov"),
            "Cafe-Opening.mov"
        );
    }

    #[test]
    fn sanitize_strips_directories_of_both_kinds() {
        assert_eq!(sanitize_file_name("/home/me/Videos/clip.MP4"), "clip.mp4");
        assert_eq!(
            sanitize_file_name("C:\\Users\\me\\clip one.mov"),
            "clip-one.mov"
        );
        assert_eq!(sanitize_file_name("dir/"), "video");
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
    }

    #[test]
    fn sanitize_caps_length_and_keeps_the_extension() {
        let long = format!("{}.MP4", "a".repeat(500));
        let out = sanitize_file_name(&long);
        assert_eq!(out.len(), MAX_SANITIZED_LEN);
        assert!(out.ends_with(".mp4"));
        assert_eq!(out, format!("{}.mp4", "a".repeat(196)));
        // A cut landing on a separator does not leave it dangling.
        let tricky = format!("{}-b.mp4", "a".repeat(195));
        assert_eq!(
            sanitize_file_name(&tricky),
            format!("{}.mp4", "a".repeat(195))
        );
        // Multi-byte characters count as their replacement's ASCII bytes.
        let wide = format!("{}.mov", "é".repeat(300));
        assert_eq!(
            sanitize_file_name(&wide),
            format!("{}.mov", "e".repeat(196))
        );
    }

    #[test]
    fn sanitize_treats_an_overlong_extension_as_part_of_the_stem() {
        let name = "clip.thisisnotarealextension";
        assert_eq!(sanitize_file_name(name), name);
    }

    #[test]
    fn sanitize_is_identity_on_clean_names() {
        for name in ["clip.mp4", "A_b-c.d.mkv", "video", "x1.m2ts"] {
            assert_eq!(sanitize_file_name(name), name);
        }
    }

    proptest! {
        #[test]
        fn sanitize_output_is_always_safe(input in "\\PC{0,300}") {
            let out = sanitize_file_name(&input);
            prop_assert!(!out.is_empty());
            prop_assert!(out.len() <= MAX_SANITIZED_LEN, "{} bytes", out.len());
            prop_assert!(
                out.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
                "{out:?}"
            );
            prop_assert!(!out.starts_with(['.', '-']), "{out:?}");
            prop_assert!(!out.ends_with(['.', '-']), "{out:?}");
            prop_assert!(!out.contains("--"), "{out:?}");
            prop_assert!(validate_key(&out).is_ok());
        }

        #[test]
        fn sanitize_output_of_ascii_paths_is_safe(input in "[ -~]{0,400}") {
            let out = sanitize_file_name(&input);
            prop_assert!(out.len() <= MAX_SANITIZED_LEN);
            prop_assert!(out.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
            prop_assert!(!out.starts_with(['.', '-']));
        }

        #[test]
        fn sanitize_keeps_clean_names(stem in "[A-Za-z0-9_][A-Za-z0-9_-]{0,40}[A-Za-z0-9_]", ext in "[a-z0-9]{1,5}") {
            prop_assume!(!stem.contains("--"));
            let name = format!("{stem}.{ext}");
            prop_assert_eq!(sanitize_file_name(&name), name);
        }

        #[test]
        fn sanitize_keeps_a_known_extension(stem in "\\PC{0,300}", ext in prop::sample::select(crate::contract::triggers::VIDEO_SUFFIXES_V53.to_vec())) {
            let out = sanitize_file_name(&format!("{stem}.{}", ext.to_uppercase()));
            let expected_suffix = format!(".{ext}");
            prop_assert!(out.ends_with(&expected_suffix), "{}", out);
        }
    }

    // ---- keys and templates ----

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

    proptest! {
        #[test]
        fn default_template_renders_valid_keys(name in "\\PC{0,300}") {
            let key = KeyTemplate::default().render(&name, &uuid(), DATE).unwrap();
            prop_assert!(key.starts_with("uploads/0f8fad5b-d9cb-469f-a165-70867728950e/"));
            prop_assert!(validate_key(&key).is_ok());
        }
    }

    // ---- video_trigger ----

    #[test]
    fn metadata_key_replaces_the_last_extension() {
        let cases = [
            (
                "studio/launch-keynote-2025.mp4",
                "studio/launch-keynote-2025.json",
            ),
            ("a.b.MOV", "a.b.json"),
            ("noext", "noext.json"),
            ("dir.v2/noext", "dir.v2/noext.json"),
            ("dir/.mp4", "dir/.mp4.json"),
            ("uploads/Café Night.mov", "uploads/Café Night.json"),
        ];
        for (video, expected) in cases {
            assert_eq!(metadata_key(video), expected, "{video}");
        }
    }

    #[test]
    fn metadata_document_matches_the_contract_example() {
        let extra = vec![
            ("frameCapture".to_owned(), "true".to_owned()),
            (
                "jobTemplate".to_owned(),
                "vodesk-all-groups-1080p".to_owned(),
            ),
            ("title".to_owned(), "Launch Keynote 2025".to_owned()),
            ("Presenter".to_owned(), "Dana Ruiz".to_owned()),
        ];
        let doc = metadata_document("studio/launch-keynote-2025.mp4", &extra).unwrap();
        assert_eq!(
            doc,
            json!({"srcVideo": "studio/launch-keynote-2025.mp4", "frameCapture": true,
                   "jobTemplate": "vodesk-all-groups-1080p", "title": "Launch Keynote 2025",
                   "Presenter": "Dana Ruiz"})
        );
        assert_eq!(
            metadata_document("a b/Año.mov", &[]).unwrap(),
            json!({"srcVideo": "a b/Año.mov"})
        );
    }

    #[test]
    fn metadata_values_are_typed_only_when_exactly_json_scalars() {
        let pairs = [
            ("true", json!(true)),
            ("false", json!(false)),
            ("42", json!(42)),
            ("-1.5", json!(-1.5)),
            ("null", json!("null")),
            ("True", json!("True")),
            (" true", json!(" true")),
            ("007", json!("007")),
            ("\"quoted\"", json!("\"quoted\"")),
            ("[1]", json!("[1]")),
            ("", json!("")),
            ("GLACIER", json!("GLACIER")),
        ];
        for (raw, expected) in pairs {
            let doc = metadata_document("a.mp4", &[("note".to_owned(), raw.to_owned())]).unwrap();
            assert_eq!(doc["note"], expected, "{raw:?}");
        }
    }

    #[test]
    fn metadata_refuses_reserved_keys() {
        let refused = [
            "srcVideo",
            "SrcVideo",
            "guid",
            "Guid",
            "workflowStatus",
            "WorkflowStatus",
            "status",
            "startTime",
            "errorMessage",
            "srcMediainfo",
            "egressEndpoints",
            "hlsUrl",
            "HlsUrl",
            "mp4Urls",
            "thumbNailsUrls",
            "thumbNailUrl",
            "hlsPlaylist",
            "cmafDashPlaylist",
        ];
        for key in refused {
            let err = metadata_document("a.mp4", &[(key.to_owned(), "x".to_owned())]).unwrap_err();
            assert!(
                matches!(err, NamingError::MetadataKeyNotAllowed { .. }),
                "{key}: {err:?}"
            );
            assert!(err.to_string().contains(key), "{err}");
        }
        // Similar but harmless names pass.
        for key in [
            "title",
            "urlNote",
            "playlistName",
            "statusNote",
            "SRCVIDEO",
            "GUID",
        ] {
            assert!(
                metadata_document("a.mp4", &[(key.to_owned(), "x".to_owned())]).is_ok(),
                "{key}"
            );
        }
        let err = metadata_document("a.mp4", &[(String::new(), "x".to_owned())]).unwrap_err();
        assert!(matches!(err, NamingError::MetadataKeyNotAllowed { .. }));
    }

    #[test]
    fn metadata_refuses_keys_the_solution_would_merge() {
        let extra = vec![
            ("title".to_owned(), "a".to_owned()),
            ("Title".to_owned(), "b".to_owned()),
        ];
        let err = metadata_document("a.mp4", &extra).unwrap_err();
        assert_eq!(
            err,
            NamingError::MetadataDuplicate {
                first: "title".to_owned(),
                second: "Title".to_owned()
            }
        );
        let extra = vec![
            ("note".to_owned(), "a".to_owned()),
            ("note".to_owned(), "b".to_owned()),
        ];
        assert!(metadata_document("a.mp4", &extra).is_err());
    }

    #[test]
    fn metadata_refuses_values_that_stall_the_workflow() {
        for (key, value) in [
            ("frameCapture", "yes"),
            ("FrameCapture", "1"),
            ("frameCapture", "\"true\""),
            ("acceleratedTranscoding", "enabled"),
            ("AcceleratedTranscoding", "ON"),
        ] {
            let err =
                metadata_document("a.mp4", &[(key.to_owned(), value.to_owned())]).unwrap_err();
            assert!(
                matches!(err, NamingError::MetadataValueNotAllowed { .. }),
                "{key}={value}"
            );
            assert!(err.to_string().contains("stall"), "{err}");
        }
        for (key, value) in [
            ("frameCapture", "false"),
            ("acceleratedTranscoding", "PREFERRED"),
            ("AcceleratedTranscoding", "DISABLED"),
        ] {
            assert!(metadata_document("a.mp4", &[(key.to_owned(), value.to_owned())]).is_ok());
        }
    }

    #[test]
    fn metadata_refuses_unsuitable_video_keys() {
        for key in ["", "a.json", "clipjson", "x/y.json"] {
            let err = metadata_document(key, &[]).unwrap_err();
            assert!(
                matches!(err, NamingError::UnsuitableVideoKey { .. }),
                "{key:?}"
            );
        }
        // Only the exact, case-sensitive ending fires the bucket's filter.
        assert!(metadata_document("a.JSON.mp4", &[]).is_ok());
        assert!(metadata_document("a.JSON", &[]).is_ok());
    }

    #[test]
    fn metadata_pairs_parse() {
        assert_eq!(
            parse_metadata_pair("frameCapture=true"),
            Ok(("frameCapture".to_owned(), "true".to_owned()))
        );
        assert_eq!(
            parse_metadata_pair("title=My Film = Part 2"),
            Ok(("title".to_owned(), "My Film = Part 2".to_owned()))
        );
        assert_eq!(
            parse_metadata_pair(" note =x"),
            Ok(("note".to_owned(), "x".to_owned()))
        );
        assert_eq!(
            parse_metadata_pair("empty="),
            Ok(("empty".to_owned(), String::new()))
        );
        for bad in ["", "novalue", "=x", "  =x"] {
            let err = parse_metadata_pair(bad).unwrap_err();
            assert!(matches!(err, NamingError::MetadataPair { .. }), "{bad:?}");
            assert!(err.to_string().contains("key=value"), "{err}");
        }
    }
}
