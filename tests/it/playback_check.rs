//! "Check playback" end to end (issue 16): a real job of the local stack with every group (HLS, DASH,
//! CMAF, MP4) checks clean with `vodesk check GUID --json` and through the app's engine and state
//! (the details panel's button); its master playlist served again by a
//! tiny server without CORS fails only the CORS check; and once one segment object is deleted from
//! the destination bucket, the check fails naming that segment. Without the local stack: an fMP4
//! HLS output with byte ranges (`EXT-X-MAP`, `EXT-X-BYTERANGE`) checks clean, and a segment answering
//! an HTML page fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use vodesk::app::engine::{ConnectRequest, Engine, EngineOptions, JournalSource};
use vodesk::app::state::{AppState, ConnectionState, DetailsAction, PlaybackCheck, UiAction};
use vodesk::aws::connection::ConnectionSettings;
use vodesk::aws::discovery::StackOverrides;
use vodesk::contract::{JobRecord, decode_document};
use vodesk::local_stack::{LocalStackOptions, OutputGroups, REGION};
use vodesk::playback::{
    Format, Limits, PlaybackReport, Severity, Topic, check_playback, http_client,
};

use super::common;
use super::local_metadata::raw_messages;
use super::local_pipeline::{generate_clip, start_local_stack_with, upload, watch_topic};

/// One file a [`TinyServer`] serves: path, content type, body, with or without CORS.
#[derive(Clone)]
struct Served {
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    cors: bool,
}

/// A std `TcpListener` thread answering GET and HEAD (ranges honoured) for a few fixed paths, 404
/// for the rest. Lives as long as the test process (a leaked thread per test is fine).
struct TinyServer {
    base: String,
}

impl TinyServer {
    fn start(files: Vec<Served>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let files = Arc::new(files);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let files = files.clone();
                std::thread::spawn(move || {
                    if answer(stream, &files).is_err() {
                        // The client went away: nothing to answer.
                    }
                });
            }
        });
        Self { base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }
}

fn answer(mut stream: std::net::TcpStream, files: &[Served]) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
            let (a, b) = value.trim().split_once('-').unwrap_or(("0", ""));
            range = Some((a.parse::<usize>().unwrap_or(0), b.parse::<usize>().ok()));
        }
    }
    let mut parts = request.split_whitespace();
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("").trim_start_matches('/');
    let Some(file) = files.iter().find(|f| f.path == path) else {
        return stream.write_all(
            b"HTTP/1.1 404 Not Found
Content-Length: 0
Connection: close

",
        );
    };
    let len = file.body.len();
    let (status, body, content_range) = match range {
        Some((start, end)) if start < len => {
            let end = end.unwrap_or(len - 1).min(len - 1);
            (
                "206 Partial Content",
                &file.body[start..=end],
                format!("Content-Range: bytes {start}-{end}/{len}\r\n"),
            )
        }
        _ => ("200 OK", &file.body[..], String::new()),
    };
    let cors = if file.cors {
        "Access-Control-Allow-Origin: *\r\n"
    } else {
        ""
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{content_range}{cors}Connection: close\r\n\r\n",
        file.content_type,
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(body)?;
    }
    // Drain what the client may still send, so it reads the answer before the socket closes.
    stream.flush()?;
    let mut sink = [0u8; 64];
    stream.set_read_timeout(Some(Duration::from_millis(50)))?;
    // A timeout here is the usual end (the client sent nothing more), not a failure.
    match stream.read(&mut sink) {
        Ok(_) | Err(_) => Ok(()),
    }
}

fn record(json: &str) -> JobRecord {
    decode_document(json.as_bytes())
        .expect("a decodable record")
        .record
        .expect("a workflow record")
}

fn check_cli(endpoint: &str, stack: &str, guid: &str) -> (Output, Value) {
    let output = common::vodesk_against(endpoint)
        .env("VODESK_STACK", stack)
        .args(["check", guid, "--json"])
        .output()
        .expect("run vodesk check");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "check printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, report)
}

/// Connects the app's engine and state to the local stack, clicks "Check playback" for `guid` (as the
/// details panel reports it) and waits for the report the state keeps.
async fn check_in_the_app(endpoint: &str, stack: &str, guid: &str) -> PlaybackReport {
    let engine = Engine::start_with(
        Arc::new(|| {}),
        EngineOptions {
            journal: JournalSource::None,
            ..EngineOptions::default()
        },
    )
    .expect("start the engine");
    let mut state = AppState::default();
    let connect = UiAction::Connect(ConnectRequest {
        connection: ConnectionSettings::emulator(endpoint, REGION),
        stack: Some(stack.to_owned()),
        overrides: StackOverrides::default(),
    });
    let mut pending = common::commands(state.apply(connect));
    let mut clicked = false;
    let deadline = Instant::now() + Duration::from_secs(120);
    let report = loop {
        for command in pending.drain(..) {
            engine.send(command);
        }
        for event in engine.drain().collect::<Vec<_>>() {
            pending.extend(common::commands(state.apply(event)));
        }
        if !clicked && matches!(state.connection(), ConnectionState::Connected(_)) {
            clicked = true;
            let click = UiAction::Details(DetailsAction::CheckPlayback(guid.to_owned()));
            pending.extend(common::commands(state.apply(click)));
            assert!(matches!(
                state.playback().get(guid),
                Some(PlaybackCheck::Running { .. })
            ));
        }
        match state.playback().get(guid) {
            Some(PlaybackCheck::Done(report)) => break (**report).clone(),
            Some(PlaybackCheck::Failed(message)) => panic!("the app's check failed: {message}"),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "no report within 120 s; connection {:?}, notices {:?}",
            state.connection(),
            state.notices()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::task::spawn_blocking(move || drop(engine))
        .await
        .expect("stop the engine");
    report
}

fn findings(report: &Value) -> Vec<&Value> {
    report["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|s| s["findings"].as_array().expect("findings"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_job_checks_clean_then_fails_on_missing_cors_and_a_deleted_segment() {
    let (local, clients) = start_local_stack_with(LocalStackOptions {
        groups: OutputGroups::HlsDashCmafMp4,
        ..LocalStackOptions::default()
    })
    .await;
    let resources = local.resources().clone();
    let watch = watch_topic(&clients, &resources.topic_arn).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // 1080p: the five-rung ladder.
    let clip = generate_clip(dir.path(), "clip.mp4", "1920x1080", 4, true);
    upload(&local, &clip, "check/clip.mp4");
    let messages = raw_messages(&clients, &watch, Duration::from_secs(600), |seen| {
        seen.iter().any(|m| {
            m.get("workflowStatus").and_then(Value::as_str) == Some("Complete")
                || m.get("status").and_then(Value::as_str) == Some("Complete")
        })
    })
    .await;
    let complete: Value = messages
        .iter()
        .map(|t| serde_json::from_str::<Value>(t).expect("JSON"))
        .find(|m| m.get("workflowStatus").and_then(Value::as_str) == Some("Complete"))
        .expect("a Complete message");
    let guid = complete["guid"].as_str().expect("a guid").to_owned();

    // 1. Clean: every group checks, exit 0.
    let started = Instant::now();
    let (output, report) = check_cli(local.endpoint(), local.stack_name(), &guid);
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "check failed: {report:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report["verdict"]["plays"], true, "{report:#}");
    assert_eq!(
        report["verdict"]["line"], "plays in browsers and native players",
        "{report:#}"
    );
    let formats: Vec<&str> = report["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| s["format"].as_str().expect("format"))
        .collect();
    assert_eq!(formats, ["hls", "dash", "cmaf-hls", "cmaf-dash", "mp4"]);
    let hls = &report["sections"][0];
    let videos: Vec<&Value> = hls["ladder"]
        .as_array()
        .expect("ladder")
        .iter()
        .filter(|r| r["kind"] == "video")
        .collect();
    assert_eq!(videos.len(), 5, "{hls:#}");
    assert!(
        videos
            .iter()
            .all(|r| r["ok"] == true && r["segments"].as_u64() > Some(0))
    );
    assert_eq!(hls["cors"]["pass"], true);
    eprintln!(
        "check of a 5-rung job (HLS, DASH, CMAF, MP4): {} requests, {} ms inside, {:.2} s for the command",
        report["requests"],
        report["elapsed_ms"],
        took.as_secs_f64()
    );

    // The tables, as a terminal shows them.
    let text = common::vodesk_against(local.endpoint())
        .env("VODESK_STACK", local.stack_name())
        .args(["check", &guid])
        .output()
        .expect("run vodesk check");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    eprintln!("{text}");
    assert!(
        text.trim_end()
            .ends_with("Verdict: plays in browsers and native players"),
        "{text}"
    );

    // 1b. The app's engine runs the same check for "Check playback" in the details panel.
    let app_report = check_in_the_app(local.endpoint(), local.stack_name(), &guid).await;
    assert!(app_report.verdict.plays, "{app_report:#?}");
    assert_eq!(app_report.sections.len(), 5);

    // 2. The same master from a server without CORS: only the CORS check fails.
    let hls_url = hls["url"].as_str().expect("the HLS URL").to_owned();
    let master_text = reqwest::get(hls_url.as_str())
        .await
        .expect("GET the master")
        .text()
        .await
        .expect("its text");
    let base = hls_url.rsplit_once('/').expect("a folder").0.to_owned();
    // Variant URIs made absolute, so only the master moves.
    let absolute: String = master_text
        .lines()
        .map(|line| {
            if line.is_empty() || line.starts_with('#') {
                line.to_owned()
            } else {
                format!("{base}/{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let server = TinyServer::start(vec![Served {
        path: "master.m3u8".into(),
        content_type: "application/vnd.apple.mpegurl",
        body: absolute.into_bytes(),
        cors: false,
    }]);
    let copy = record(&format!(
        r#"{{"guid":"{guid}","workflowStatus":"Complete","hlsUrl":"{}"}}"#,
        server.url("master.m3u8")
    ));
    let client = http_client().expect("a client");
    let no_cors = check_playback(&client, &copy, &Limits::default()).await;
    assert!(!no_cors.verdict.plays, "{no_cors:#?}");
    let section = &no_cors.sections[0];
    assert_eq!(section.format, Format::Hls);
    assert_eq!(section.cors.as_ref().map(|c| c.pass), Some(false));
    let fails: Vec<_> = section
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Fail)
        .collect();
    assert_eq!(fails.len(), 1, "{fails:#?}");
    assert_eq!(fails[0].topic, Topic::Cors);
    assert!(fails[0].what.contains("no Access-Control-Allow-Origin"));
    assert_eq!(
        no_cors.verdict.line,
        "plays in native players, not in browsers: no CORS answer for HLS"
    );

    // 3. One segment deleted from the destination bucket: the check fails, naming it.
    let bucket = resources
        .destination_bucket
        .clone()
        .expect("a destination bucket");
    let listed = clients
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(format!("{guid}/"))
        .send()
        .await
        .expect("list the outputs");
    let mut segments: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .filter(|k| k.contains("/hls/") && k.ends_with(".ts"))
        .collect();
    segments.sort();
    // The first segment of the first variant: one the check always reads.
    let deleted = segments.first().expect("HLS segments").clone();
    clients
        .s3
        .delete_object()
        .bucket(&bucket)
        .key(&deleted)
        .send()
        .await
        .expect("delete a segment");
    let (output, report) = check_cli(local.endpoint(), local.stack_name(), &guid);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    assert_eq!(report["verdict"]["plays"], false);
    let name = deleted.rsplit('/').next().expect("a name");
    let missing: Vec<&Value> = findings(&report)
        .into_iter()
        .filter(|f| f["severity"] == "fail" && f["what"].as_str().unwrap_or("").contains(name))
        .collect();
    assert_eq!(missing.len(), 1, "{report:#}");
    assert!(
        missing[0]["what"]
            .as_str()
            .unwrap_or("")
            .contains("answered 404")
    );
    assert!(missing[0]["url"].as_str().unwrap_or("").ends_with(name));
    let line = report["verdict"]["line"].as_str().expect("a line");
    assert!(line.starts_with("does not play: HLS: "), "{line}");
    assert!(line.contains(name), "{line}");
    let text = common::vodesk_against(local.endpoint())
        .env("VODESK_STACK", local.stack_name())
        .args(["check", &guid])
        .output()
        .expect("run vodesk check");
    assert_eq!(text.status.code(), Some(1));
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    eprintln!("{text}");
    assert!(text.contains("Verdict: does not play: HLS: "), "{text}");
    drop(local);
}

/// fMP4 HLS as MediaConvert writes it with single-file output: the init segment and the media
/// segments are byte ranges of one file.
#[tokio::test]
async fn byte_range_fmp4_hls_checks_clean_and_an_html_segment_fails() {
    let mut file = vec![0u8; 4000];
    file[4..8].copy_from_slice(b"ftyp");
    let master = "#EXTM3U\n#EXT-X-VERSION:7\n\
        #EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=700000,RESOLUTION=640x360,CODECS=\"avc1.64001e\",FRAME-RATE=25\n\
        v.m3u8\n\
        #EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180\n\
        broken.m3u8\n";
    let media = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n\
        #EXT-X-MAP:URI=\"v.mp4\",BYTERANGE=\"800@0\"\n\
        #EXTINF:6.0,\n#EXT-X-BYTERANGE:1000@800\nv.mp4\n\
        #EXTINF:4.0,\n#EXT-X-BYTERANGE:2200\nv.mp4\n#EXT-X-ENDLIST\n";
    let broken = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:10.0,\nerror.ts\n#EXT-X-ENDLIST\n";
    let served = |path: &str, content_type, body: &[u8]| Served {
        path: path.into(),
        content_type,
        body: body.to_vec(),
        cors: true,
    };
    let server = TinyServer::start(vec![
        served(
            "master.m3u8",
            "application/vnd.apple.mpegurl",
            master.as_bytes(),
        ),
        served("v.m3u8", "application/vnd.apple.mpegurl", media.as_bytes()),
        served(
            "broken.m3u8",
            "application/vnd.apple.mpegurl",
            broken.as_bytes(),
        ),
        served("v.mp4", "video/mp4", &file),
        served("error.ts", "video/mp2t", b"<html>Access denied</html>"),
    ]);
    let job = record(&format!(
        r#"{{"guid":"g","workflowStatus":"Complete","hlsUrl":"{}"}}"#,
        server.url("master.m3u8")
    ));
    let client = http_client().expect("a client");
    let report = check_playback(&client, &job, &Limits::default()).await;
    let section = &report.sections[0];
    assert_eq!(section.ladder.len(), 2);
    let top = &section.ladder[0];
    assert!(top.ok, "{report:#?}");
    assert_eq!(top.segments, Some(2));
    assert_eq!(top.duration_seconds, Some(10.0));
    assert_eq!(top.resolution(), "640x360");
    assert_eq!(top.frame_rate, Some(25.0));
    assert!(!section.ladder[1].ok);
    let fails: Vec<_> = section
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Fail)
        .collect();
    assert_eq!(fails.len(), 1, "{fails:#?}");
    assert!(fails[0].what.contains("error.ts"), "{fails:#?}");
    assert!(fails[0].what.contains("web page"), "{fails:#?}");
    // Init, first and last of v.m3u8, the one segment of broken.m3u8, and three playlists.
    assert_eq!(report.requests, 7, "{report:#?}");
    assert!(!report.verdict.plays);
}

/// URLs the rules refuse are never requested, and say why.
#[tokio::test]
async fn refused_urls_are_not_fetched() {
    let job = record(
        r#"{"guid":"g","workflowStatus":"Complete","hlsUrl":"http://d.example.com/g/master.m3u8","mp4Urls":["file:///etc/passwd"]}"#,
    );
    let client = http_client().expect("a client");
    let report = check_playback(&client, &job, &Limits::default()).await;
    assert_eq!(report.requests, 0);
    let all: Vec<_> = report.sections.iter().flat_map(|s| &s.findings).collect();
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all.iter().all(|f| f.topic == Topic::Refused));
    assert!(all[0].what.contains("plain http"), "{all:#?}");
    assert!(!report.verdict.plays);
}

/// A check out of time says so once per format, without a request.
#[tokio::test]
async fn a_check_out_of_time_says_so_once_per_format() {
    let job = record(
        r#"{"guid":"g","workflowStatus":"Complete","hlsUrl":"http://127.0.0.1:9/g/master.m3u8","mp4Urls":["http://127.0.0.1:9/a.mp4","http://127.0.0.1:9/b.mp4"]}"#,
    );
    let limits = Limits {
        overall_timeout: Duration::ZERO,
        ..Limits::default()
    };
    let client = http_client().expect("a client");
    let report = check_playback(&client, &job, &limits).await;
    assert_eq!(report.requests, 0);
    for section in &report.sections {
        assert_eq!(section.findings.len(), 1, "{section:#?}");
        assert_eq!(section.findings[0].topic, Topic::Limit);
        assert!(section.findings[0].what.contains("ran out of time"));
    }
    assert!(!report.verdict.plays);
}
