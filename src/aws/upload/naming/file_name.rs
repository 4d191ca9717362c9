//! File names as key components: [`sanitize_file_name`] reduces a user's file name to
//! `[A-Za-z0-9._-]`, keeping (and lower-casing) the extension that decides whether a workflow starts.

/// Longest name [`sanitize_file_name`] returns, in bytes. Leaves room for a prefix within S3's
/// 1024-byte key limit and stays under the 255-byte file-name limit of common file systems, since the
/// solution's outputs are named after the input.
pub const MAX_SANITIZED_LEN: usize = 200;
/// Longest extension kept as an extension; anything longer is not a real video extension, so it stays
/// part of the stem (and may be truncated with it).
const MAX_EXTENSION_LEN: usize = 16;
/// Used when nothing of the original stem survives sanitizing (e.g. `日本語.mp4`).
const FALLBACK_STEM: &str = "video";

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
pub(super) fn sanitized_parts(original: &str) -> (String, Option<String>) {
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
pub(super) fn base_name(path: &str) -> &str {
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

#[cfg(test)]
mod tests {
    use super::super::validate_key;
    use super::*;
    use proptest::prelude::*;

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
}
