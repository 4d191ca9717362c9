//! Fuzzing on stable Rust: seeded random and structure-aware inputs against the three places where
//! vodesk reads bytes it did not write, each of which must answer with a value or an error and never
//! panic, hang or leak:
//!
//! - the contract decoder (`vodesk decode`, the monitor's queue bodies, the catalogue's items): arbitrary
//!   bytes, byte-level mutations of the solution's examples, JSON-aware mutations (huge numbers and
//!   strings, deep nesting, wrong types, inside envelopes and `srcMediainfo`), and SDK items;
//! - the upload journal's reader: a real journal file with random bytes overwritten, truncated or
//!   garbage-extended, and rows with hostile values written by raw SQL;
//! - the local CDN's request handling, from the outside over raw TCP: arbitrary and mutated request
//!   lines, paths, ranges and conditional headers; every answer is a valid HTTP status (or a close), a
//!   2xx body is a slice of an object of the served bucket, and the server stays up.
//!
//! Each target runs `VODESK_FUZZ_CASES` cases (a small default, so `cargo test` stays quick), or for
//! `VODESK_FUZZ_SECONDS` when that is set (`scripts/fuzz` sets it); `VODESK_FUZZ_SEED` picks the
//! seed (fixed by default, so a plain test run is repeatable). A failing case saves its input under
//! `target/fuzz/crashes/` and names its seed and case number; each crash found so far is a named
//! regression test at the end of this file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "it/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, RngCore, SeedableRng};
use serde_json::{Map, Number, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use vodesk::aws::upload::journal::{FileIdentity, Journal, PartRecord, UploadState, UploadTarget};
use vodesk::contract::{
    DecodeError, Decoded, Kind, MediaInfo, decode_document, decode_sdk_item, decode_value,
};
use vodesk::local_stack::cdn::{CdnLimits, CdnListener};

// ---- the runner ------------------------------------------------------------------------------

/// Cases per target (overrides the defaults below).
const CASES_ENV: &str = "VODESK_FUZZ_CASES";
/// Seconds per target: run until then (and until `VODESK_FUZZ_CASES`, when that is set too).
const SECONDS_ENV: &str = "VODESK_FUZZ_SECONDS";
/// The run's seed; case `n` uses a generator seeded from it and `n`.
const SEED_ENV: &str = "VODESK_FUZZ_SEED";
const DEFAULT_SEED: u64 = 0x766f_6465_736b;

/// How long one target runs.
struct Budget {
    cases: u64,
    deadline: Option<Instant>,
    seed: u64,
}

impl Budget {
    fn from_env(default_cases: u64) -> Budget {
        let number = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let seconds = number(SECONDS_ENV);
        let cases = number(CASES_ENV).unwrap_or(if seconds.is_some() {
            u64::MAX
        } else {
            default_cases
        });
        Budget {
            cases,
            deadline: seconds.map(|s| Instant::now() + Duration::from_secs(s)),
            seed: number(SEED_ENV).unwrap_or(DEFAULT_SEED),
        }
    }

    /// Whether case `case` is still to run.
    fn allows(&self, case: u64) -> bool {
        case < self.cases && self.deadline.is_none_or(|d| Instant::now() < d)
    }

    /// The generator of case `case`: reproducible from the seed and the case number alone.
    fn rng(&self, case: u64) -> StdRng {
        StdRng::seed_from_u64(self.seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// Saves a failing input where `scripts/fuzz` tells people to look, and returns the path.
fn save_crash(target: &str, seed: u64, case: u64, input: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz/crashes");
    let path = dir.join(format!("{target}-{seed}-{case}.bin"));
    if let Err(err) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        eprintln!(
            "could not save the failing input to {}: {err}",
            path.display()
        );
    }
    path
}

/// Runs `check` on `generate`d inputs within the budget; the first panic saves its input and fails
/// the test naming the seed, the case and the file.
fn fuzz<I>(
    target: &str,
    default_cases: u64,
    mut generate: impl FnMut(&mut StdRng) -> I,
    saved: impl Fn(&I) -> Vec<u8>,
    check: impl Fn(&I),
) {
    let budget = Budget::from_env(default_cases);
    let started = Instant::now();
    let mut case = 0;
    while budget.allows(case) {
        let input = generate(&mut budget.rng(case));
        if catch_unwind(AssertUnwindSafe(|| check(&input))).is_err() {
            let path = save_crash(target, budget.seed, case, &saved(&input));
            panic!(
                "fuzz {target}: case {case} of seed {} failed (the panic is printed above); input saved to {}",
                budget.seed,
                path.display()
            );
        }
        case += 1;
    }
    eprintln!(
        "fuzz {target}: {case} cases in {:.1} s, seed {}",
        started.elapsed().as_secs_f64(),
        budget.seed
    );
}

// ---- mutations -------------------------------------------------------------------------------

/// Byte strings that steer parsers into their edge cases.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"\\udfff\\ud800",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    b"\r\n",
    b"1e999999",
    b"-1e-999999",
    b"-0",
    b"99999999999999999999999999999999",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"0.0000000000000000000000000001",
    b"NaN",
    b"Infinity",
    b"null",
    b"true",
    b"\"Notification\"",
    b"\"Type\"",
    b"\"Message\"",
    b"\"Item\"",
    b"{\"S\":",
    b"{\"N\":\"1e999\"}",
    b"{\"M\":{}}",
    b"{\"L\":[]}",
    b"\"workflowStatus\"",
    b"\"Complete\"",
    b"\"guid\"",
    b"\"srcMediainfo\"",
];

/// One to eight byte-level edits: bit flips, overwrites, inserts, deletes, copies, tokens,
/// truncation.
fn mutate_bytes(rng: &mut StdRng, data: &mut Vec<u8>) {
    for _ in 0..rng.random_range(1..=8) {
        let len = data.len();
        let at = if len == 0 {
            0
        } else {
            rng.random_range(0..len)
        };
        match rng.random_range(0..8) {
            0 if len > 0 => data[at] ^= 1 << rng.random_range(0..8),
            1 if len > 0 => data[at] = rng.random(),
            2 => {
                let mut extra = vec![0u8; rng.random_range(1..=16)];
                rng.fill_bytes(&mut extra);
                data.splice(at..at, extra);
            }
            3 if len > 0 => {
                let end = (at + rng.random_range(1..=64)).min(len);
                data.drain(at..end);
            }
            4 if len > 0 => {
                let end = (at + rng.random_range(1..=256)).min(len);
                let copy = data[at..end].to_vec();
                let to = rng.random_range(0..=data.len());
                data.splice(to..to, copy);
            }
            5 => {
                let token = TOKENS.choose(rng).copied().unwrap_or(b"");
                data.splice(at..at, token.iter().copied());
            }
            6 => data.truncate(at),
            _ => {
                if len > 1 {
                    let other = rng.random_range(0..len);
                    data.swap(at, other);
                }
            }
        }
    }
}

/// Keys the decoder looks for, to put hostile values where they are read.
const KEYS: &[&str] = &[
    "guid",
    "status",
    "workflowStatus",
    "srcVideo",
    "hlsUrl",
    "dashUrl",
    "cmafHlsUrl",
    "mssUrl",
    "mp4Urls",
    "thumbNailsUrls",
    "thumbNailUrl",
    "thumbNails",
    "errorMessage",
    "srcMediainfo",
    "egressEndpoints",
    "srcWidth",
    "srcHeight",
    "encodingProfile",
    "frameCapture",
    "Type",
    "Message",
    "TopicArn",
    "Item",
    "container",
    "video",
    "duration",
    "width",
    "height",
    "codec",
    "S",
    "N",
    "M",
    "L",
    "SS",
    "NS",
    "BS",
    "B",
    "BOOL",
    "NULL",
];

/// A value of the wrong type, out of range, huge or deep.
fn hostile_value(rng: &mut StdRng) -> Value {
    match rng.random_range(0..14) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => json!(u64::MAX),
        3 => json!(i64::MIN),
        4 => [1e308, -1e308, 5e-324, -0.0, 1.5, 9.007_199_254_740_993e15]
            .choose(rng)
            .and_then(|f| Number::from_f64(*f))
            .map_or(Value::Null, Value::Number),
        5 => Value::String(
            [
                "1e999",
                "-1",
                "NaN",
                "",
                " 1080 ",
                "0x10",
                "١٠٨٠",
                "18446744073709551616",
            ]
            .choose(rng)
            .copied()
            .unwrap_or_default()
            .to_owned(),
        ),
        6 => {
            // A huge string: long text, many newlines, or control characters.
            let unit = ["a", "\n", "\u{0}", "é", "\u{1b}[2J", "%"]
                .choose(rng)
                .copied()
                .unwrap_or("a");
            Value::String(unit.repeat(rng.random_range(1_000..200_000)))
        }
        7 => {
            // Nesting around the parser's limit (128) and the item unwrapper's (64).
            let depth = rng.random_range(30..200);
            let mut v = Value::String("leaf".into());
            for i in 0..depth {
                v = if i % 2 == 0 {
                    Value::Array(vec![v])
                } else {
                    json!({ "M": v })
                };
            }
            v
        }
        8 => Value::Array(
            (0..rng.random_range(0..2_000))
                .map(|i| Value::from(i.to_string()))
                .collect(),
        ),
        9 => {
            let mut m = Map::new();
            for _ in 0..rng.random_range(0..6) {
                let key = KEYS.choose(rng).copied().unwrap_or("x");
                let value = if rng.random_bool(0.5) {
                    Value::from(rng.random::<i32>())
                } else {
                    Value::String("x".into())
                };
                m.insert(key.to_owned(), value);
            }
            Value::Object(m)
        }
        10 => json!({"S": rng.random::<u32>()}),
        11 => {
            let numbers = ["1e999", "NaN", "", "1 ", "--1", &"9".repeat(5000)].map(str::to_owned);
            json!({ "N": numbers.choose(rng) })
        }
        12 => Value::String(
            json!({"container": {"duration": "1e999"}, "video": [{"width": -1, "height": "x"}]})
                .to_string(),
        ),
        _ => Value::String("{\"video\":".repeat(rng.random_range(1..400))),
    }
}

/// A random node of `root`: each level stops with probability 0.3.
fn random_node<'a>(rng: &mut StdRng, mut node: &'a mut Value) -> &'a mut Value {
    loop {
        let len = match &*node {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        if len == 0 || rng.random_bool(0.3) {
            return node;
        }
        let index = rng.random_range(0..len);
        node = match node {
            Value::Object(m) => m.values_mut().nth(index).expect("index within len"),
            Value::Array(a) => &mut a[index],
            _ => unreachable!("only containers have children"),
        };
    }
}

/// One to four JSON-aware edits of `doc`: a node replaced by a hostile value, dropped members,
/// added keys the decoder reads, or an embedded JSON text (an envelope's `Message`, a
/// `srcMediainfo`) mutated in place.
fn mutate_json(rng: &mut StdRng, doc: &mut Value, depth: u32) {
    for _ in 0..rng.random_range(1..=4) {
        let node = random_node(rng, doc);
        match rng.random_range(0..5) {
            0 | 1 => *node = hostile_value(rng),
            2 => match node {
                Value::Object(m) if !m.is_empty() => {
                    let index = rng.random_range(0..m.len());
                    if let Some(key) = m.keys().nth(index).cloned() {
                        m.remove(&key);
                    }
                }
                Value::Array(a) if !a.is_empty() => {
                    let index = rng.random_range(0..a.len());
                    a.remove(index);
                }
                _ => *node = hostile_value(rng),
            },
            3 => {
                if let Value::Object(m) = node {
                    let key = KEYS.choose(rng).copied().unwrap_or("guid");
                    m.insert(key.to_owned(), hostile_value(rng));
                } else {
                    *node = hostile_value(rng);
                }
            }
            _ => {
                if let Value::String(text) = node
                    && depth < 2
                    && let Ok(mut inner) = serde_json::from_str::<Value>(text)
                {
                    mutate_json(rng, &mut inner, depth + 1);
                    *text = inner.to_string();
                } else {
                    *node = hostile_value(rng);
                }
            }
        }
    }
}

// ---- the contract decoder --------------------------------------------------------------------

/// The solution's example documents (tests/fixtures/vod-examples), as bytes.
fn fixtures() -> &'static [(String, Vec<u8>)] {
    static FIXTURES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vod-examples");
        let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .expect("the examples folder")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy().into();
                (name, std::fs::read(&p).expect("read an example"))
            })
            .collect();
        out.sort();
        assert!(out.len() >= 10, "the examples are there");
        out
    })
}

fn random_fixture(rng: &mut StdRng) -> &'static [u8] {
    fixtures()
        .choose(rng)
        .map(|(_, bytes)| bytes.as_slice())
        .unwrap_or_default()
}

/// Anything the decoder says must be short and one line: it is printed as is by `vodesk decode`
/// and the monitor.
const MAX_MESSAGE: usize = 1024;

/// The invariants of any decode outcome, on top of "it returned".
fn check_decoded(result: &Result<Decoded, DecodeError>) {
    match result {
        Ok(decoded) => {
            let normalized = serde_json::to_value(decoded.normalized()).expect("serializable");
            assert_eq!(normalized.as_object().map(Map::len), Some(16));
            assert_eq!(decoded.record.is_none(), decoded.kind == Kind::Ignored);
            if let Some(record) = &decoded.record {
                assert!(!record.guid.is_empty());
                if let Some(d) = record.duration_seconds() {
                    assert!(d.is_finite() && d >= 0.0, "duration {d}");
                }
                // The accessors the UI uses.
                let _ = (record.hls_url(), record.width(), record.video_codec());
            }
            for warning in &decoded.warnings {
                assert!(!warning.contains(['\n', '\r']), "{warning:?}");
                assert!(warning.len() <= MAX_MESSAGE, "{} bytes", warning.len());
            }
        }
        Err(err) => {
            let text = err.to_string();
            assert!(text.starts_with("invalid input: "), "{text}");
            assert!(!text.contains(['\n', '\r']), "{text:?}");
            assert!(
                text.len() <= MAX_MESSAGE,
                "{} bytes: {text:.200}",
                text.len()
            );
        }
    }
}

fn decode_bytes(bytes: &[u8]) {
    check_decoded(&decode_document(bytes));
}

#[test]
fn fuzz_decoder_arbitrary_bytes() {
    fuzz(
        "decoder-bytes",
        2_000,
        |rng| {
            let mut bytes = vec![0u8; rng.random_range(0..600)];
            rng.fill_bytes(&mut bytes);
            // Half the time, bytes that look like JSON.
            if rng.random_bool(0.5) {
                const JSONISH: &[u8] = b"{}[]\":,0123456789-+.eE truefalsn\\u";
                for b in &mut bytes {
                    *b = JSONISH[usize::from(*b) % JSONISH.len()];
                }
            }
            bytes
        },
        Vec::clone,
        |bytes| decode_bytes(bytes),
    );
}

#[test]
fn fuzz_decoder_mutated_examples() {
    fuzz(
        "decoder-mutated-bytes",
        2_000,
        |rng| {
            let mut bytes = random_fixture(rng).to_vec();
            mutate_bytes(rng, &mut bytes);
            bytes
        },
        Vec::clone,
        |bytes| decode_bytes(bytes),
    );
}

#[test]
fn fuzz_decoder_structured() {
    fuzz(
        "decoder-structured",
        1_000,
        |rng| {
            let mut doc: Value = serde_json::from_slice(random_fixture(rng)).expect("JSON");
            mutate_json(rng, &mut doc, 0);
            let mut bytes = serde_json::to_vec(&doc).expect("serializable");
            // Sometimes also a byte-level edit of the result, and sometimes a raw deep nest.
            if rng.random_bool(0.2) {
                mutate_bytes(rng, &mut bytes);
            }
            if rng.random_bool(0.05) {
                let depth = rng.random_range(100..100_000);
                let at = rng.random_range(0..=bytes.len());
                let open = if rng.random_bool(0.5) { b'[' } else { b'{' };
                bytes.splice(at..at, std::iter::repeat_n(open, depth));
            }
            bytes
        },
        Vec::clone,
        |bytes| {
            decode_bytes(bytes);
            // srcMediainfo on its own, as the record reader hands it over.
            if let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(bytes) {
                check_decoded(&decode_value(&Value::Object(doc.clone())));
                let info = doc
                    .get("srcMediainfo")
                    .or_else(|| doc.get("Item").and_then(|i| i.get("srcMediainfo")));
                if let Some(info) = info {
                    let text = info
                        .get("S")
                        .and_then(Value::as_str)
                        .map_or_else(|| info.to_string(), str::to_owned);
                    if let Ok(info) = MediaInfo::from_json_text(&text) {
                        let _ = (info.duration_seconds(), info.width(), info.video_codec());
                    }
                }
            }
        },
    );
}

/// A random SDK attribute value, `depth` levels at most (beyond the unwrapper's bound of 64).
fn random_attribute(rng: &mut StdRng, depth: u32) -> AttributeValue {
    let number = |rng: &mut StdRng| {
        [
            "1", "-0", "1e999", "NaN", "", " 2", "1E+3", "0.5", "١", "--1",
        ]
        .choose(rng)
        .map_or_else(String::new, |s| (*s).to_owned())
    };
    match rng.random_range(0..if depth == 0 { 7 } else { 10 }) {
        0 => AttributeValue::S(hostile_value(rng).to_string()),
        1 => AttributeValue::N(number(rng)),
        2 => AttributeValue::Bool(rng.random()),
        3 => AttributeValue::Null(rng.random()),
        4 => {
            let mut blob = vec![0u8; rng.random_range(0..64)];
            rng.fill_bytes(&mut blob);
            AttributeValue::B(Blob::new(blob))
        }
        5 => AttributeValue::Ns((0..rng.random_range(0..4)).map(|_| number(rng)).collect()),
        6 => AttributeValue::Ss(vec!["a".into(), String::new(), "\n".into()]),
        7 => AttributeValue::L(
            (0..rng.random_range(0..3))
                .map(|_| random_attribute(rng, depth - 1))
                .collect(),
        ),
        8 => {
            // A deep single chain.
            let mut v = AttributeValue::S("leaf".into());
            for _ in 0..rng.random_range(1..100) {
                v = AttributeValue::L(vec![v]);
            }
            v
        }
        _ => AttributeValue::M(
            (0..rng.random_range(0..4))
                .map(|_| {
                    let key = KEYS.choose(rng).copied().unwrap_or("k").to_owned();
                    (key, random_attribute(rng, depth - 1))
                })
                .collect(),
        ),
    }
}

/// DynamoDB JSON to an SDK value, for every descriptor (the common helper stops at `SS`).
fn to_attribute(value: &Value) -> Option<AttributeValue> {
    let (tag, inner) = value.as_object()?.iter().next()?;
    let strings = || -> Option<Vec<String>> {
        inner
            .as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    Some(match tag.as_str() {
        "S" => AttributeValue::S(inner.as_str()?.to_owned()),
        "N" => AttributeValue::N(inner.as_str()?.to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(Blob::new(inner.as_str()?.as_bytes().to_vec())),
        "SS" => AttributeValue::Ss(strings()?),
        "NS" => AttributeValue::Ns(strings()?),
        "L" => AttributeValue::L(
            inner
                .as_array()?
                .iter()
                .map(to_attribute)
                .collect::<Option<_>>()?,
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()?
                .iter()
                .map(|(k, v)| Some((k.clone(), to_attribute(v)?)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

/// The examples' DynamoDB items as SDK maps.
fn sdk_items() -> &'static [HashMap<String, AttributeValue>] {
    static ITEMS: OnceLock<Vec<HashMap<String, AttributeValue>>> = OnceLock::new();
    ITEMS.get_or_init(|| {
        fixtures()
            .iter()
            .filter(|(name, _)| name.starts_with("dynamodb-item"))
            .filter_map(|(_, bytes)| {
                let doc: Value = serde_json::from_slice(bytes).ok()?;
                let item = doc.get("Item").unwrap_or(&doc).as_object()?;
                item.iter()
                    .map(|(k, v)| Some((k.clone(), to_attribute(v)?)))
                    .collect()
            })
            .collect()
    })
}

#[test]
fn fuzz_decoder_sdk_items() {
    assert!(sdk_items().len() >= 5, "the example items convert");
    fuzz(
        "decoder-sdk-items",
        1_000,
        |rng| {
            let mut item = sdk_items().choose(rng).cloned().unwrap_or_default();
            for _ in 0..rng.random_range(1..=4) {
                let key = if rng.random_bool(0.7) && !item.is_empty() {
                    let index = rng.random_range(0..item.len());
                    item.keys().nth(index).cloned().unwrap_or_default()
                } else {
                    KEYS.choose(rng).copied().unwrap_or("k").to_owned()
                };
                if rng.random_bool(0.15) {
                    item.remove(&key);
                } else {
                    item.insert(key, random_attribute(rng, 4));
                }
            }
            item
        },
        |item| format!("{item:#?}").into_bytes(),
        |item| check_decoded(&decode_sdk_item(item)),
    );
}

// ---- the journal reader ----------------------------------------------------------------------

fn sample_target(index: u32) -> UploadTarget {
    UploadTarget {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        region: "us-east-1".into(),
        profile: None,
        bucket: "source-bucket".into(),
        key: format!("uploads/{index}/clip.mp4"),
        part_size: 8 << 20,
        part_count: 3,
        multipart: true,
        metadata_document: index.is_multiple_of(2).then(|| "{\"a\":1}".to_owned()),
    }
}

/// A journal as vodesk leaves it: uploads in every state, with parts and a journaled commit.
fn pristine_journal() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("uploads.sqlite3");
        {
            let journal = Journal::open(&path).expect("open a new journal");
            let states = [
                UploadState::Active,
                UploadState::Paused,
                UploadState::Failed,
                UploadState::Completed,
            ];
            for (index, state) in (0u32..).zip(states) {
                let file = FileIdentity {
                    size: 20 << 20,
                    modified_ns: 1_700_000_000_000_000_000,
                    fingerprint: "00ff00ff00ff00ff".into(),
                    device: 2049,
                    inode: 1000 + u64::from(index),
                };
                let name = format!("clip {index}.mp4");
                let id = journal
                    .create(
                        Path::new(&format!("/videos/{name}")),
                        &name,
                        &file,
                        &sample_target(index),
                    )
                    .expect("create");
                journal
                    .set_upload_id(id, Some(&format!("upload-{index}")))
                    .expect("upload id");
                for part_number in 1..=2 {
                    let part = PartRecord {
                        part_number,
                        etag: format!("\"etag-{part_number}\""),
                        crc64: 0x0123_4567_89ab_cdef ^ u64::from(part_number),
                        size: 8 << 20,
                    };
                    journal.record_part(id, &part).expect("part");
                }
                if state == UploadState::Completed {
                    journal.set_commit_sent(id, 42).expect("commit");
                }
                journal
                    .set_state(id, state, Some("an error, once"))
                    .expect("state");
            }
        }
        std::fs::read(&path).expect("read the journal")
    })
}

/// A result whose value does not matter: only a panic on the way to it fails a case.
fn outcome<T, E>(result: Result<T, E>) {
    drop(result.ok());
}

/// Everything the app and the CLI read from a journal; errors are fine, panics are not.
fn read_everything(journal: &Journal) {
    for recent in [0, 3, usize::MAX] {
        if let Ok(uploads) = journal.list(recent) {
            for upload in uploads {
                outcome(journal.get(upload.id));
                outcome(journal.parts(upload.id));
            }
        }
    }
    outcome(journal.unfinished());
    outcome(journal.list_for_bucket("source-bucket", 10));
    outcome(journal.knows_upload_id("upload-1"));
    for id in [-1, 0, 1, 2, 3, 4, 5, i64::MAX, i64::MIN] {
        outcome(journal.get(id));
        outcome(journal.parts(id));
    }
    // A write on whatever is there: refused or done, never a panic.
    outcome(journal.set_state(1, UploadState::Failed, Some("fuzz")));
}

#[test]
fn fuzz_journal_garbled_files() {
    let pristine = pristine_journal();
    let dir = tempfile::tempdir().expect("a temporary folder");
    fuzz(
        "journal-garbled",
        150,
        |rng| {
            let mut bytes = pristine.to_vec();
            match rng.random_range(0..4) {
                // A few bytes anywhere, or in the 100-byte header, or a whole page of noise.
                0 => {
                    for _ in 0..rng.random_range(1..=64) {
                        let at = rng.random_range(0..bytes.len());
                        bytes[at] = rng.random();
                    }
                }
                1 => {
                    for _ in 0..rng.random_range(1..=8) {
                        let at = rng.random_range(0..100.min(bytes.len()));
                        bytes[at] = rng.random();
                    }
                }
                2 => {
                    let page = 4096;
                    let pages = bytes.len().div_ceil(page).max(1);
                    let start = rng.random_range(0..pages) * page;
                    let end = (start + page).min(bytes.len());
                    rng.fill_bytes(&mut bytes[start..end]);
                }
                _ => {
                    let at = rng.random_range(0..=bytes.len());
                    bytes.truncate(at);
                    if rng.random_bool(0.5) {
                        let mut tail = vec![0u8; rng.random_range(1..8192)];
                        rng.fill_bytes(&mut tail);
                        bytes.extend(tail);
                    }
                }
            }
            bytes
        },
        Vec::clone,
        |bytes| {
            let path = dir.path().join("uploads.sqlite3");
            for suffix in ["", "-wal", "-shm"] {
                let stale = dir.path().join(format!("uploads.sqlite3{suffix}"));
                if stale.exists() {
                    std::fs::remove_file(&stale).expect("remove the last case's file");
                }
            }
            std::fs::write(&path, bytes).expect("write the garbled journal");
            if let Ok(journal) = Journal::open(&path) {
                read_everything(&journal);
            }
        },
    );
}

/// A column value written by raw SQL.
fn hostile_sql(rng: &mut StdRng, column: &str) -> rusqlite::types::Value {
    use rusqlite::types::Value as Sql;
    // States and ids keep some rows on the paths that read them.
    if column == "state" && rng.random_bool(0.6) {
        let state = ["active", "paused", "failed", "completed", "Completed", ""]
            .choose(rng)
            .copied()
            .unwrap_or("active");
        return Sql::Text(state.into());
    }
    match rng.random_range(0..12) {
        0 => Sql::Null,
        1 => Sql::Integer(
            [-1, 0, 1, i64::MIN, i64::MAX, i64::from(u32::MAX) + 1, -4096]
                .choose(rng)
                .copied()
                .unwrap_or(-1),
        ),
        2 => Sql::Integer(rng.random()),
        3 => Sql::Real(
            [-1.5, 1e300, f64::INFINITY, 0.5, -0.0]
                .choose(rng)
                .copied()
                .unwrap_or(0.5),
        ),
        4 => Sql::Text(
            [
                "",
                "zz",
                "-1",
                "ffffffffffffffffff",
                "0x10",
                "+1",
                "١٢",
                "\u{0}",
                "completed",
                "../../etc/passwd",
            ]
            .choose(rng)
            .copied()
            .unwrap_or_default()
            .to_owned(),
        ),
        5 => Sql::Text("x".repeat(rng.random_range(1_000..100_000))),
        6 => {
            let mut blob = vec![0u8; rng.random_range(0..64)];
            rng.fill_bytes(&mut blob);
            Sql::Blob(blob)
        }
        7 => Sql::Blob(vec![0xff, 0xfe, 0x00, 0xc3]),
        // Plausible values, so that the rest of a row is read.
        8 => Sql::Integer(rng.random_range(0..10)),
        9 => Sql::Text("0123456789abcdef".into()),
        10 => Sql::Text("/videos/a.mp4".into()),
        _ => Sql::Integer(1),
    }
}

/// The journal's tables with hostile rows: either vodesk's own schema (SQLite's flexible typing
/// lets text into INTEGER columns) or the same columns without types or constraints (NULLs).
fn hostile_journal(rng: &mut StdRng, path: &Path) -> rusqlite::Result<()> {
    drop(Journal::open(path).map_err(|e| {
        rusqlite::Error::InvalidParameterName(format!("the journal does not open: {e}"))
    })?);
    let conn = rusqlite::Connection::open(path)?;
    let columns = |table: &str| -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
        stmt.query_map([], |row| row.get::<_, String>(0))?.collect()
    };
    let (uploads, parts) = (columns("uploads")?, columns("parts")?);
    let loose = rng.random_bool(0.5);
    if loose {
        conn.execute_batch("DROP TABLE parts; DROP TABLE uploads;")?;
        let others = |cols: &[String], skip: &str| -> String {
            cols.iter()
                .filter(|c| c.as_str() != skip)
                .map(|c| format!(", \"{c}\""))
                .collect()
        };
        conn.execute_batch(&format!(
            "CREATE TABLE uploads (id INTEGER PRIMARY KEY{});
             CREATE TABLE parts (upload{});",
            others(&uploads, "id"),
            others(&parts, "upload"),
        ))?;
    }
    let insert = |table: &str, cols: &[String], values: Vec<rusqlite::types::Value>| {
        let names = cols
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let marks = vec!["?"; cols.len()].join(", ");
        conn.execute(
            &format!("INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})"),
            rusqlite::params_from_iter(values),
        )
    };
    for id in 1..=rng.random_range(1..=4i64) {
        let values = uploads
            .iter()
            .map(|c| match c.as_str() {
                "id" => rusqlite::types::Value::Integer(id),
                other => hostile_sql(rng, other),
            })
            .collect();
        // A NOT NULL or CHECK constraint refusing a value just means fewer hostile rows.
        outcome(insert("uploads", &uploads, values));
        for _ in 0..rng.random_range(0..4) {
            let values = parts
                .iter()
                .map(|c| match c.as_str() {
                    "upload" if rng.random_bool(0.9) => rusqlite::types::Value::Integer(id),
                    other => hostile_sql(rng, other),
                })
                .collect();
            outcome(insert("parts", &parts, values));
        }
    }
    Ok(())
}

#[test]
fn fuzz_journal_hostile_rows() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let counter = AtomicUsize::new(0);
    fuzz(
        "journal-rows",
        150,
        |rng| rng.random::<u64>(),
        |seed| seed.to_le_bytes().to_vec(),
        |seed| {
            // Each case builds its own journal from its own seed, so the saved seed reproduces it.
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let path = dir.path().join(format!("rows-{n}.sqlite3"));
            let mut rng = StdRng::seed_from_u64(*seed);
            hostile_journal(&mut rng, &path).expect("write the hostile rows");
            let journal = Journal::open(&path).expect("the journal opens over its own tables");
            read_everything(&journal);
            // Whatever was read back is what the journal's types can hold.
            if let Ok(uploads) = journal.list(usize::MAX) {
                for upload in uploads {
                    assert!(upload.file.size <= i64::MAX as u64, "{upload:?}");
                    assert!(upload.target.part_size <= i64::MAX as u64, "{upload:?}");
                }
            }
        },
    );
}

// ---- the local CDN ---------------------------------------------------------------------------

const CDN_BUCKET: &str = "vod-local-destination";
const OTHER_BUCKET: &str = "vod-local-source";
/// In the other bucket only: never in any answer of the CDN.
const SECRET: &[u8] = b"vodesk-fuzz-SECRET-of-another-bucket";
const GUID: &str = "3f4e5d6c-7b8a-4912-8a0b-1c2d3e4f5a6b";

/// Keys of the served bucket (percent-encoded as a player would ask for them) and their bytes.
fn cdn_objects() -> Vec<(String, String, Vec<u8>)> {
    let digits: Vec<u8> = (0..4096u32).map(|i| b'0' + (i % 10) as u8).collect();
    vec![
        (
            format!("{GUID}/hls/index.m3u8"),
            format!("/{GUID}/hls/index.m3u8"),
            b"#EXTM3U\n#EXT-X-VERSION:3\n".to_vec(),
        ),
        (
            format!("{GUID}/hls/seg 1.ts"),
            format!("/{GUID}/hls/seg%201.ts"),
            digits,
        ),
        (
            "a+b%c.mp4".into(),
            "/a+b%25c.mp4".into(),
            b"plus and percent".to_vec(),
        ),
        ("empty.ts".into(), "/empty.ts".into(), Vec::new()),
        (
            "Año/ü.jpg".into(),
            "/A%C3%B1o/%C3%BC.jpg".into(),
            b"\xff\xd8\xff jpeg".to_vec(),
        ),
    ]
}

/// Paths that name the other bucket's object (and this machine's files) in every spelling.
const TRAVERSALS: &[&str] = &[
    "/../vod-local-source/secret.txt",
    "/%2E%2E/vod-local-source/secret.txt",
    "/%2e%2e%2fvod-local-source%2fsecret.txt",
    "/..%2Fvod-local-source%2Fsecret.txt",
    "/./../vod-local-source/secret.txt",
    "/vod-local-source/secret.txt",
    "//vod-local-source/secret.txt",
    "/%2Fvod-local-source/secret.txt",
    "/x/../../vod-local-source/secret.txt",
    "/..%5Cvod-local-source%5Csecret.txt",
    "/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/../../../../etc/passwd",
    "/file:///etc/passwd",
    "/secret.txt",
];

/// Path pieces that probe decoding and traversal.
const PATH_PIECES: &[&str] = &[
    "..",
    ".",
    "%2e%2e",
    "%2E%2E%2F",
    "..%2F",
    "%2F",
    "//",
    "%00",
    "%FF",
    "%",
    "%G1",
    "%C3",
    "?x=1",
    "#frag",
    "+",
    "%2B",
    "vod-local-source",
    "secret.txt",
    "hls",
    "index.m3u8",
    "\\",
    "%5C",
    ";",
    "~",
    "*",
];

fn random_path(rng: &mut StdRng, objects: &[(String, String, Vec<u8>)]) -> String {
    match rng.random_range(0..11) {
        0..=3 => objects
            .choose(rng)
            .map(|(_, path, _)| path.clone())
            .unwrap_or_default(),
        4 => format!("/../{OTHER_BUCKET}/secret.txt"),
        5 => format!("/%2E%2E/{OTHER_BUCKET}%2Fsecret.txt"),
        6 => format!("/{}", "a".repeat(rng.random_range(1_000..70_000))),
        7 => ["*", "http://127.0.0.1/x", "", "/", "//", "/%"]
            .choose(rng)
            .map_or_else(String::new, |s| (*s).to_owned()),
        _ => {
            let mut path = String::from("/");
            for i in 0..rng.random_range(1..8) {
                if i > 0 {
                    path.push('/');
                }
                path.push_str(PATH_PIECES.choose(rng).copied().unwrap_or(".."));
            }
            path
        }
    }
}

fn random_range_header(rng: &mut StdRng) -> String {
    let big = || u64::MAX.to_string() + "0";
    match rng.random_range(0..12) {
        0 => format!(
            "bytes={}-{}",
            rng.random_range(0..5000),
            rng.random_range(0..5000)
        ),
        1 => format!("bytes=-{}", rng.random_range(0..10_000)),
        2 => format!("bytes={}-", rng.random_range(0..10_000)),
        3 => format!("bytes={}-", big()),
        4 => format!("bytes=0-{}", big()),
        5 => "bytes=-1-2".into(),
        6 => "bytes=5-2".into(),
        7 => "bytes=0-1,3-4,-5".into(),
        8 => format!("bytes={}", "0-1,".repeat(rng.random_range(1..2000))),
        9 => "items=0-1".into(),
        10 => "bytes=\u{0}-1".into(),
        _ => format!("bytes= {} - {} ", rng.random::<u16>(), rng.random::<u16>()),
    }
}

/// A request: mostly well-formed heads with hostile parts, sometimes raw bytes or a mutated head.
fn random_request(rng: &mut StdRng, objects: &[(String, String, Vec<u8>)]) -> Vec<u8> {
    let kind = rng.random_range(0..10);
    if kind == 0 {
        let mut bytes = vec![0u8; rng.random_range(0..400)];
        rng.fill_bytes(&mut bytes);
        return bytes;
    }
    let method = if rng.random_bool(0.8) {
        ["GET", "HEAD", "OPTIONS"].choose(rng).copied()
    } else {
        [
            "POST", "PUT", "DELETE", "get", "TRACE", "CONNECT", "G\u{0}ET", "BREW",
        ]
        .choose(rng)
        .copied()
    }
    .unwrap_or("GET");
    let version = if rng.random_bool(0.85) {
        "HTTP/1.1"
    } else {
        ["HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "", "HTTP/0.9"]
            .choose(rng)
            .copied()
            .unwrap_or("")
    };
    let path = random_path(rng, objects);
    let mut head = format!("{method} {path} {version}\r\nHost: 127.0.0.1\r\n");
    type Header = (&'static str, fn(&mut StdRng) -> String);
    let headers: [Header; 8] = [
        ("Range", random_range_header),
        ("If-None-Match", |rng| {
            ["*", "\"x\"", "W/\"y\"", "\"", ""]
                .choose(rng)
                .map_or_else(String::new, |s| (*s).to_owned())
        }),
        ("If-Modified-Since", |rng| {
            [
                "Wed, 21 Oct 2015 07:28:00 GMT",
                "Fri, 31 Dec 9999 23:59:59 GMT",
                "yesterday",
                "Thu, 01 Jan 1970 00:00:00 GMT",
            ]
            .choose(rng)
            .map_or_else(String::new, |s| (*s).to_owned())
        }),
        ("If-Range", |_| "\"etag\"".into()),
        ("Access-Control-Request-Headers", |rng| {
            ["Range", "x-a, x-b", "\u{7f}"]
                .choose(rng)
                .map_or_else(String::new, |s| (*s).to_owned())
        }),
        ("Content-Length", |rng| {
            ["0", "5", "-1", "99999999999999999999", "1, 2"]
                .choose(rng)
                .map_or_else(String::new, |s| (*s).to_owned())
        }),
        ("Transfer-Encoding", |rng| {
            ["chunked", "gzip, chunked", "identity"]
                .choose(rng)
                .map_or_else(String::new, |s| (*s).to_owned())
        }),
        ("X-Long", |rng| "v".repeat(rng.random_range(1..100_000))),
    ];
    for (name, value) in &headers {
        if rng.random_bool(if *name == "Range" { 0.5 } else { 0.12 }) {
            head.push_str(&format!("{name}: {}\r\n", value(rng)));
        }
    }
    if rng.random_bool(0.6) {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if rng.random_bool(0.1) {
        bytes.extend_from_slice(b"hello\r\n0\r\n\r\n");
    }
    if kind == 1 {
        mutate_bytes(rng, &mut bytes);
    }
    bytes
}

/// What the server did with one request.
enum Answer {
    /// It closed the connection without answering (a malformed request).
    Closed,
    Response {
        status: u16,
        head: String,
        body: Vec<u8>,
    },
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends `request` on a new connection and reads the first response (or the close).
async fn exchange(addr: SocketAddr, request: &[u8]) -> Result<Answer, String> {
    const WAIT: Duration = Duration::from_secs(10);
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e} (is the server still up?)"))?;
    let (mut reader, mut writer) = stream.into_split();
    // A HEAD answer announces a length but carries no body.
    let is_head = request.starts_with(b"HEAD ");
    let request = request.to_vec();
    // Written alongside the reading: the server may answer (431) and close before taking it all.
    let writing = tokio::spawn(async move {
        // The server may close first (a malformed head): what it answered is read all the same.
        if writer.write_all(&request).await.is_err() {
            return None;
        }
        Some(writer)
    });
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut read = async |buf: &mut Vec<u8>| -> Result<bool, String> {
        match tokio::time::timeout_at(deadline, reader.read(&mut chunk)).await {
            Err(_) => Err(format!("no answer within {} s", WAIT.as_secs())),
            Ok(Ok(0)) | Ok(Err(_)) => Ok(false),
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
        }
    };
    let (status, head, body_start) = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let status = parse_status(&head)?;
            if (100..200).contains(&status) && status != 101 {
                // An interim answer (100 Continue): the real one follows.
                buf.drain(..end + 4);
                continue;
            }
            break (status, head, end + 4);
        }
        if !read(&mut buf).await? {
            if buf.is_empty() {
                drop(writing);
                return Ok(Answer::Closed);
            }
            return Err(format!(
                "closed after a partial answer: {:?}",
                String::from_utf8_lossy(&buf[..buf.len().min(200)])
            ));
        }
    };
    let mut body = buf.split_off(body_start);
    let lower = head.to_ascii_lowercase();
    let length = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>());
    let chunked = lower
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    let no_body = status == 204 || status == 304 || is_head;
    match length {
        // What follows is the answer to a request pipelined behind this one.
        _ if no_body => body.clear(),
        Some(Ok(n)) => {
            if n > 64 << 20 {
                return Err(format!(
                    "content-length {n} for a test bucket of small objects"
                ));
            }
            while body.len() < n && read(&mut body).await? {}
            body.truncate(n);
        }
        Some(Err(_)) => return Err(format!("invalid content-length in {head:?}")),
        None if chunked => {
            while find(&body, b"0\r\n\r\n").is_none() && read(&mut body).await? {}
            body = dechunk(&body);
        }
        None => while read(&mut body).await? {},
    }
    drop(writing);
    Ok(Answer::Response { status, head, body })
}

fn parse_status(head: &str) -> Result<u16, String> {
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") || code.len() != 3 {
        return Err(format!("not an HTTP status line: {line:?}"));
    }
    code.parse::<u16>()
        .ok()
        .filter(|c| (100..600).contains(c))
        .ok_or_else(|| format!("not an HTTP status: {line:?}"))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = find(data, b"\r\n") {
        let size = std::str::from_utf8(&data[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        let stop = (start + size).min(data.len());
        out.extend_from_slice(&data[start..stop]);
        data = data.get(stop + 2..).unwrap_or_default();
    }
    out
}

/// Panics on the runtime's worker threads, where the server's connections run.
static SERVER_PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_server_panics() {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("tokio-runtime-worker") {
                SERVER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// Judges one answer: a valid status, nothing from outside the bucket, and a 2xx body that is a
/// slice of one of the bucket's objects.
fn judge(answer: &Answer, objects: &[(String, String, Vec<u8>)]) -> Result<(), String> {
    let Answer::Response { status, head, body } = answer else {
        return Ok(());
    };
    for secret in [SECRET, b"root:x:0:0".as_slice()] {
        if find(head.as_bytes(), secret).is_some() || find(body, secret).is_some() {
            return Err(format!(
                "served something from outside the bucket ({status}): {head:?}"
            ));
        }
    }
    if (200..300).contains(status)
        && !body.is_empty()
        && !objects
            .iter()
            .any(|(_, _, bytes)| find(bytes, body).is_some())
    {
        return Err(format!(
            "a {status} body that is no slice of any object: {:?}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_cdn_requests() {
    count_server_panics();
    let emulator = common::fresh_emulator().await;
    let s3 = emulator.clients.s3.clone();
    for bucket in [CDN_BUCKET, OTHER_BUCKET] {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("create a bucket");
    }
    let objects = cdn_objects();
    for (key, _, bytes) in &objects {
        s3.put_object()
            .bucket(CDN_BUCKET)
            .key(key)
            .body(ByteStream::from(bytes.clone()))
            .send()
            .await
            .expect("put an object");
    }
    for key in ["secret.txt", "../secret.txt", "x/../secret.txt"] {
        s3.put_object()
            .bucket(OTHER_BUCKET)
            .key(key)
            .body(ByteStream::from(SECRET.to_vec()))
            .send()
            .await
            .expect("put the other bucket's object");
    }
    let listener = CdnListener::bind(0).await.expect("bind a free port");
    let limits = CdnLimits {
        header_read_timeout: Duration::from_millis(500),
        ..CdnLimits::default()
    };
    let cdn = listener.serve_with_limits(s3, CDN_BUCKET.to_owned(), limits);
    let addr: SocketAddr = cdn.domain().parse().expect("an address");

    let probe = async |why: &str| {
        let (_, path, bytes) = &objects[1];
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        match exchange(addr, request.as_bytes()).await {
            Ok(Answer::Response {
                status: 200, body, ..
            }) if &body == bytes => {}
            Ok(Answer::Response { status, head, .. }) => {
                panic!("{why}: the server answers a plain GET with {status}: {head}")
            }
            Ok(Answer::Closed) => panic!("{why}: the server closes a plain GET"),
            Err(e) => panic!("{why}: {e}"),
        }
    };
    probe("before fuzzing").await;

    // Fixed inputs first: every way out of the bucket that a path could try.
    for path in TRAVERSALS {
        for method in ["GET", "HEAD"] {
            let request =
                format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let answer = exchange(addr, request.as_bytes())
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            if let Err(problem) = judge(&answer, &objects) {
                panic!("{method} {path}: {problem}");
            }
            if let Answer::Response { status, .. } = answer {
                assert!(
                    matches!(status, 400 | 404),
                    "{method} {path}: {status}, where only 400 or 404 will do"
                );
            }
        }
    }

    let budget = Budget::from_env(300);
    let started = Instant::now();
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut case = 0;
    while budget.allows(case) {
        let request = random_request(&mut budget.rng(case), &objects);
        let verdict = match exchange(addr, &request).await {
            Ok(answer) => {
                let label = match &answer {
                    Answer::Closed => "closed".to_owned(),
                    Answer::Response { status, .. } => status.to_string(),
                };
                *statuses.entry(label).or_default() += 1;
                judge(&answer, &objects)
            }
            Err(e) => Err(e),
        };
        let verdict = verdict.and_then(|()| match SERVER_PANICS.load(Ordering::SeqCst) {
            0 => Ok(()),
            n => Err(format!("{n} panic(s) in the server")),
        });
        if let Err(problem) = verdict {
            let path = save_crash("cdn", budget.seed, case, &request);
            panic!(
                "fuzz cdn: case {case} of seed {}: {problem}; request saved to {}",
                budget.seed,
                path.display()
            );
        }
        if case % 50 == 49 {
            probe(&format!("after case {case}")).await;
        }
        case += 1;
    }
    probe("after fuzzing").await;
    eprintln!(
        "fuzz cdn: {case} requests in {:.1} s, seed {}; answers {statuses:?}",
        started.elapsed().as_secs_f64(),
        budget.seed
    );
    cdn.shutdown().await;
}
