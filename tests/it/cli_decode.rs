//! `vodesk decode` as a user runs it: the binary, on files and on stdin, with exit codes and one-line errors.

use crate::common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Output, Stdio};

use crate::common::vodesk_bin;
use serde_json::Value;

const KEYS: [&str; 16] = common::NORMALIZED_KEYS;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vod-examples")
        .join(name)
}

fn decode_file(name: &str) -> Output {
    vodesk_bin()
        .arg("decode")
        .arg(fixture(name))
        .output()
        .unwrap()
}

fn decode_stdin(input: &[u8]) -> Output {
    let mut child = vodesk_bin()
        .args(["decode", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = KEYS;
    expected.sort_unstable();
    assert_eq!(keys, expected, "exactly the normalized keys");
    // Value's map sorts its keys, so the order is checked on the text itself.
    let text = String::from_utf8_lossy(&out.stdout);
    let positions: Vec<usize> = KEYS
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(
        positions.is_sorted(),
        "keys in the documented order: {text}"
    );
    json
}

fn invalid(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "nothing on stdout for invalid input");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn every_example_decodes_through_the_binary() {
    let dir = fixture("");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        seen += 1;
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let out = decode_file(&name);
        let is_invalid = name.starts_with("stack-outputs-") || name == "metadata-upload.json";
        if is_invalid {
            let err = invalid(&out);
            assert!(
                err.contains("status") || err.contains("workflowStatus"),
                "{name}: {err}"
            );
            continue;
        }
        let json = ok_json(&out);
        let expected_source = if name.starts_with("dynamodb-") {
            "dynamodb-item"
        } else if name.starts_with("sns-envelope-") {
            "sns-envelope"
        } else {
            "sns"
        };
        assert_eq!(json["source"], expected_source, "{name}");
    }
    assert_eq!(seen, 16);
}

#[test]
fn complete_item_fields_and_types() {
    let json = ok_json(&decode_file("dynamodb-item-complete-scan.json"));
    assert_eq!(json["kind"], "complete");
    assert_eq!(json["guid"], "a30ce37f-2cdc-4bcb-ac1b-07cbdf92ca8e");
    assert_eq!(
        json["hls_url"],
        "https://d1q2w3e4r5t6y7.cloudfront.net/a30ce37f-2cdc-4bcb-ac1b-07cbdf92ca8e/hls/Año Nuevo 2025.m3u8"
    );
    assert_eq!(json["duration_seconds"].as_f64(), Some(187.52));
    assert_eq!(json["width"].as_u64(), Some(1280));
    assert_eq!(json["height"].as_u64(), Some(720));
    assert_eq!(json["video_codec"], "AVC");
    assert_eq!(json["mp4_urls"], Value::Array(vec![]));
    assert_eq!(json["thumbnail_urls"], Value::Array(vec![]));
    assert_eq!(json["dash_url"], Value::Null);
}

#[test]
fn stdin_and_dash_read_the_same_input() {
    let bytes = std::fs::read(fixture("sns-envelope-ingest.json")).unwrap();
    let json = ok_json(&decode_stdin(&bytes));
    assert_eq!(json["source"], "sns-envelope");
    assert_eq!(json["kind"], "ingest");
    assert_eq!(json["src_video"], "uploads/Café Opening Night.MOV");

    // No argument at all also reads stdin.
    let mut child = vodesk_bin()
        .arg("decode")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    assert_eq!(
        ok_json(&child.wait_with_output().unwrap())["guid"],
        "2d616d3f-343d-4da4-bd2a-581dd5e3b1f8"
    );
}

#[test]
fn confirmation_is_ignored_with_exit_zero() {
    let json = ok_json(&decode_file("sns-envelope-subscription-confirmation.json"));
    assert_eq!(json["kind"], "ignored");
    assert_eq!(json["guid"], Value::Null);
}

#[test]
fn invalid_inputs_exit_2_with_one_line() {
    for input in [
        &b""[..],
        b"   \n",
        b"not json",
        b"[1,2]",
        b"42",
        b"\"text\"",
        br#"{"Type":"Notification","Message":"not json"}"#,
        br#"{"Type":"Weird","Message":"{}"}"#,
        br#"{"guid":"x"}"#,
        br#"{"status":"Ingest","guid":5}"#,
        br#"{"workflowStatus":"Paused","guid":"x"}"#,
        br#"{"workflowStatus":"Complete","guid":"x","mp4Urls":5}"#,
        br#"{"guid":{"S":5},"workflowStatus":{"S":"Complete"}}"#,
        br#"{"Item":{"guid":{"S":"x"},"workflowStatus":{"S":"Complete"},"srcHeight":{"N":"abc"}}}"#,
    ] {
        let err = invalid(&decode_stdin(input));
        assert!(err.starts_with("vodesk: decode: "), "{err}");
    }
}

#[test]
fn garbage_media_info_warns_and_still_decodes() {
    let input = br#"{"Item":{"guid":{"S":"g-1"},"workflowStatus":{"S":"Ingest"},"srcMediainfo":{"S":"{not json"}}}"#;
    let out = decode_stdin(input);
    let json = ok_json(&out);
    assert_eq!(json["guid"], "g-1");
    assert_eq!(json["duration_seconds"], Value::Null);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("warning") && err.contains("srcMediainfo"),
        "{err}"
    );
}

#[test]
fn unreadable_file_is_a_clear_error() {
    let out = vodesk_bin()
        .args(["decode", "/nonexistent/message.json"])
        .output()
        .unwrap();
    let err = invalid(&out);
    assert!(
        err.contains("cannot read /nonexistent/message.json"),
        "{err}"
    );
}
