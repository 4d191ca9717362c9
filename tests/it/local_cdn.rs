//! The local stack's "CloudFront" (`vodesk::local_stack::cdn`) against the moto emulator: objects
//! put into a bucket are served over loopback HTTP with the right keys, ranges, types and CORS headers.

use crate::common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use reqwest::{Method, StatusCode};

use vodesk::local_stack::cdn::{CdnError, CdnLimits, CdnListener, LocalCdn};

const BUCKET: &str = "vod-local-destination";
const GUID: &str = "3f4e5d6c-7b8a-4912-8a0b-1c2d3e4f5a6b";
const DIGITS: &[u8] = b"0123456789";

struct Served {
    _emulator: common::FreshEmulator,
    cdn: LocalCdn,
    http: reqwest::Client,
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cdn.base_url())
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("the local CloudFront answers")
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.send(Method::GET, path, headers).await
    }
}

/// A fresh emulator with `BUCKET` holding `objects`, served by a local CloudFront on a free port.
async fn serve(objects: &[(&str, Vec<u8>)]) -> Served {
    let emulator = common::fresh_emulator().await;
    let s3 = emulator.clients.s3.clone();
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("create the bucket");
    for (key, body) in objects {
        s3.put_object()
            .bucket(BUCKET)
            .key(*key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .expect("put an object");
    }
    let listener = CdnListener::bind(0).await.expect("bind a free port");
    let cdn = listener.serve(s3, BUCKET.to_owned());
    Served {
        _emulator: emulator,
        cdn,
        http: reqwest::Client::new(),
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("an ASCII header"))
}

fn digits_key() -> String {
    format!("{GUID}/hls/digits.ts")
}

#[tokio::test]
async fn serves_a_key_with_a_space_and_non_ascii_as_hls() {
    let key = format!("{GUID}/hls/Año Nuevo 2025.m3u8");
    let playlist = b"#EXTM3U\n#EXT-X-VERSION:3\n".to_vec();
    let served = serve(&[(&key, playlist.clone())]).await;

    let response = served
        .get(&format!("/{GUID}/hls/A%C3%B1o%20Nuevo%202025.m3u8"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert_eq!(header(&response, "content-length"), Some("25"));
    assert_eq!(header(&response, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&response, "access-control-expose-headers"),
        Some("Content-Length, Content-Range, Accept-Ranges, ETag")
    );
    assert!(header(&response, "etag").is_some_and(|e| e.starts_with('"')));
    assert!(header(&response, "last-modified").is_some_and(|d| d.ends_with(" GMT")));
    assert_eq!(
        response.bytes().await.expect("body").as_ref(),
        &playlist[..]
    );
}

#[tokio::test]
async fn head_gives_the_length_and_no_body() {
    let served = serve(&[(&digits_key(), DIGITS.to_vec())]).await;
    let path = format!("/{}", digits_key());
    let etag = header(&served.get(&path, &[]).await, "etag").map(str::to_owned);

    let response = served.send(Method::HEAD, &path, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-length"), Some("10"));
    assert_eq!(header(&response, "content-type"), Some("video/mp2t"));
    assert_eq!(header(&response, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&response, "etag").map(str::to_owned), etag);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert!(response.bytes().await.expect("body").is_empty());
}

#[tokio::test]
async fn an_empty_object_is_served_empty() {
    let key = format!("{GUID}/hls/empty.ts");
    let served = serve(&[(&key, Vec::new())]).await;
    let response = served.get(&format!("/{key}"), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-length"), Some("0"));
    assert!(response.bytes().await.expect("body").is_empty());
}

#[tokio::test]
async fn single_ranges_are_partial_content() {
    let served = serve(&[(&digits_key(), DIGITS.to_vec())]).await;
    let path = format!("/{}", digits_key());
    for (range, content_range, body) in [
        ("bytes=2-5", "bytes 2-5/10", &b"2345"[..]),
        ("bytes=-3", "bytes 7-9/10", b"789"),
        ("bytes=6-", "bytes 6-9/10", b"6789"),
        ("bytes=8-20", "bytes 8-9/10", b"89"),
        ("bytes=0-0", "bytes 0-0/10", b"0"),
    ] {
        let response = served.get(&path, &[("range", range)]).await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(header(&response, "content-range"), Some(content_range));
        let length = body.len().to_string();
        assert_eq!(header(&response, "content-length"), Some(length.as_str()));
        assert_eq!(header(&response, "accept-ranges"), Some("bytes"));
        assert_eq!(header(&response, "content-type"), Some("video/mp2t"));
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
        assert_eq!(
            response.bytes().await.expect("body").as_ref(),
            body,
            "{range}"
        );
    }

    // HEAD with a range describes the part.
    let response = served
        .send(Method::HEAD, &path, &[("range", "bytes=2-5")])
        .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&response, "content-range"), Some("bytes 2-5/10"));
    assert_eq!(header(&response, "content-length"), Some("4"));
}

#[tokio::test]
async fn multi_and_malformed_ranges_get_the_whole_object() {
    let served = serve(&[(&digits_key(), DIGITS.to_vec())]).await;
    let path = format!("/{}", digits_key());
    for range in ["bytes=0-1,4-5", "bytes=5-2", "items=0-1", "bytes=x-"] {
        let response = served.get(&path, &[("range", range)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{range}");
        assert_eq!(header(&response, "content-range"), None);
        assert_eq!(header(&response, "content-length"), Some("10"));
        assert_eq!(response.bytes().await.expect("body").as_ref(), DIGITS);
    }
}

#[tokio::test]
async fn unsatisfiable_range_is_416_with_the_size() {
    let served = serve(&[(&digits_key(), DIGITS.to_vec())]).await;
    let path = format!("/{}", digits_key());
    for range in ["bytes=10-", "bytes=100-200", "bytes=-0"] {
        let response = served.get(&path, &[("range", range)]).await;
        assert_eq!(
            response.status(),
            StatusCode::RANGE_NOT_SATISFIABLE,
            "{range}"
        );
        assert_eq!(header(&response, "content-range"), Some("bytes */10"));
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    }
    let response = served
        .send(Method::HEAD, &path, &[("range", "bytes=10-")])
        .await;
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&response, "content-range"), Some("bytes */10"));
}

#[tokio::test]
async fn missing_keys_are_404_with_cors() {
    let served = serve(&[(&digits_key(), DIGITS.to_vec())]).await;
    let missing = format!("/{GUID}/hls/missing.m3u8");

    let response = served.get(&missing, &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(response.text().await.expect("body"), "no such object\n");

    let response = served.send(Method::HEAD, &missing, &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));

    let response = served.get("/", &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        response.text().await.expect("body"),
        format!("vodesk local CloudFront: serves {BUCKET}\n")
    );
}

#[tokio::test]
async fn invalid_utf8_path_is_400() {
    let served = serve(&[]).await;
    let response = served.get("/bad%FF.ts", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn preflight_and_other_methods() {
    let served = serve(&[(&digits_key(), DIGITS.to_vec())]).await;
    let path = format!("/{}", digits_key());

    let response = served
        .send(
            Method::OPTIONS,
            &path,
            &[
                ("origin", "http://localhost:8080"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "range,x-player"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("GET, HEAD, OPTIONS")
    );
    assert_eq!(
        header(&response, "access-control-allow-headers"),
        Some("range,x-player")
    );
    assert_eq!(header(&response, "access-control-max-age"), Some("86400"));

    let response = served.send(Method::OPTIONS, &path, &[]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&response, "access-control-allow-headers"),
        Some("Range")
    );

    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let response = served.send(method.clone(), &path, &[]).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(header(&response, "allow"), Some("GET, HEAD, OPTIONS"));
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    }
    // The object is still there: nothing but GET/HEAD reaches S3.
    assert_eq!(served.get(&path, &[]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_large_object_streams_intact() {
    let size = 5 * 1024 * 1024 + 3;
    let data: Vec<u8> = (0..size).map(|i| ((i * 7 + 13) % 251) as u8).collect();
    let key = format!("{GUID}/mp4/big.mp4");
    let served = serve(&[(&key, data.clone())]).await;

    let response = served.get(&format!("/{key}"), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), Some("video/mp4"));
    assert_eq!(
        header(&response, "content-length"),
        Some(size.to_string().as_str())
    );
    let body = response.bytes().await.expect("body");
    assert_eq!(body.len(), size);
    assert_eq!(common::sha256(&body), common::sha256(&data));

    // A range from the middle of the large object.
    let response = served
        .get(&format!("/{key}"), &[("range", "bytes=4194300-4194309")])
        .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&response, "content-range"),
        Some(format!("bytes 4194300-4194309/{size}").as_str())
    );
    assert_eq!(
        response.bytes().await.expect("body").as_ref(),
        &data[4194300..4194310]
    );
}

#[tokio::test]
async fn a_plus_in_a_key_stays_a_plus() {
    let key = format!("{GUID}/hls/a+b c.ts");
    let served = serve(&[(&key, b"plus".to_vec())]).await;
    for path in [
        format!("/{GUID}/hls/a+b%20c.ts"),
        format!("/{GUID}/hls/a%2Bb%20c.ts"),
        format!("/{GUID}/hls/a%2bb%20c.ts"),
    ] {
        let response = served.get(&path, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.bytes().await.expect("body").as_ref(), b"plus");
    }
    // `+` is not a space in a path.
    let response = served.get(&format!("/{GUID}/hls/a%20b%20c.ts"), &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn conditional_requests_are_304() {
    let served = serve(&[(&digits_key(), DIGITS.to_vec())]).await;
    let path = format!("/{}", digits_key());
    let first = served.get(&path, &[]).await;
    let etag = header(&first, "etag").expect("an ETag").to_owned();

    let response = served.get(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    let response = served.get(&path, &[("if-none-match", "\"another\"")]).await;
    assert_eq!(response.status(), StatusCode::OK);

    let last_modified = header(&first, "last-modified")
        .expect("a Last-Modified")
        .to_owned();
    let response = served
        .get(&path, &[("if-modified-since", &last_modified)])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    let response = served
        .get(
            &path,
            &[("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn s3_failures_are_502() {
    let emulator = common::fresh_emulator().await;
    let listener = CdnListener::bind(0).await.expect("bind a free port");
    let cdn = listener.serve(emulator.clients.s3.clone(), "no-such-bucket".to_owned());
    let response = reqwest::Client::new()
        .get(format!("{}/{GUID}/hls/x.m3u8", cdn.base_url()))
        .send()
        .await
        .expect("the local CloudFront answers");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    let body = response.text().await.expect("body");
    assert!(
        body.starts_with("S3 GetObject failed: NoSuchBucket"),
        "{body}"
    );
    assert_eq!(body.lines().count(), 1, "{body}");
}

#[tokio::test]
async fn domain_and_bind_errors() {
    let listener = CdnListener::bind(0).await.expect("bind a free port");
    let domain = listener.domain();
    let port: u16 = domain
        .strip_prefix("127.0.0.1:")
        .expect("a loopback domain")
        .parse()
        .expect("a port");
    assert_ne!(port, 0);

    let err = CdnListener::bind(port)
        .await
        .expect_err("the port is taken");
    assert!(matches!(err, CdnError::Bind { port: p, .. } if p == port));
    let message = err.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(message.contains("0 for any free one"), "{message}");

    let emulator = common::fresh_emulator().await;
    let cdn = listener.serve(emulator.clients.s3.clone(), BUCKET.to_owned());
    assert_eq!(cdn.domain(), domain);
    assert_eq!(cdn.base_url(), format!("http://{domain}"));
}

/// Dropping the LocalCdn closes the port (also with a keep-alive connection open).
#[tokio::test]
async fn dropping_stops_the_server() {
    let served = serve(&[(&digits_key(), DIGITS.to_vec())]).await;
    let path = format!("/{}", digits_key());
    assert_eq!(served.get(&path, &[]).await.status(), StatusCode::OK);
    let url = served.url(&path);
    let Served { _emulator, cdn, .. } = served;
    drop(cdn);

    let mut refused = false;
    for _ in 0..50 {
        if reqwest::Client::new().get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the local CloudFront still answers after drop");

    // `shutdown` waits until it has stopped.
    let listener = CdnListener::bind(0).await.expect("bind a free port");
    let cdn = listener.serve(_emulator.clients.s3.clone(), BUCKET.to_owned());
    let url = format!("{}/{}", cdn.base_url(), digits_key());
    assert_eq!(
        reqwest::get(&url).await.expect("answers").status(),
        StatusCode::OK
    );
    cdn.shutdown().await;
    assert!(reqwest::get(&url).await.is_err());
}

/// A real player's view: ffprobe (when installed) reads an HLS playlist and its segment, whose names
/// have a space and a non-ASCII letter, through the local CloudFront.
#[tokio::test]
async fn ffprobe_reads_hls_through_it() {
    let tool = |name: &str| {
        std::process::Command::new(name)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !tool("ffmpeg") || !tool("ffprobe") {
        eprintln!("skipped: ffmpeg/ffprobe not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("a scratch directory");
    let made = std::process::Command::new("ffmpeg")
        .current_dir(dir.path())
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
        ])
        .args(["-t", "4", "-c:v", "libx264", "-f", "hls", "-hls_time", "2"])
        .args(["-hls_playlist_type", "vod", "Año Nuevo 2025.m3u8"])
        .status()
        .expect("run ffmpeg");
    assert!(made.success());
    let mut objects = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("list the HLS output") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        objects.push((
            format!("{GUID}/hls/{name}"),
            std::fs::read(&path).expect("read"),
        ));
    }
    assert!(objects.len() >= 2, "a playlist and segments");
    let objects: Vec<(&str, Vec<u8>)> = objects
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let served = serve(&objects).await;

    let url = served.url(&format!("/{GUID}/hls/A%C3%B1o%20Nuevo%202025.m3u8"));
    let probe = tokio::task::spawn_blocking(move || {
        std::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name,width,height",
            ])
            .args(["-of", "csv=p=0", &url])
            .output()
            .expect("run ffprobe")
    })
    .await
    .expect("ffprobe finished");
    let stderr = String::from_utf8_lossy(&probe.stderr);
    assert!(probe.status.success(), "{stderr}");
    // One line per stream, repeated under the HLS program.
    let stdout = String::from_utf8_lossy(&probe.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    assert!(!lines.is_empty(), "{stderr}");
    assert!(
        lines.iter().all(|l| *l == "h264,320,240"),
        "{stdout}\n{stderr}"
    );
}

/// Reads until the server closes the connection; `None` if it is still open after `limit`.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut received)).await {
        Ok(_) => Some(received),
        Err(_) => None,
    }
}

/// Issue 12: a client that sends half a request line and then nothing is disconnected once the header
/// read timeout (10 s) has passed, instead of holding its connection for ever.
#[tokio::test]
async fn a_client_that_stalls_mid_request_is_disconnected() {
    use tokio::io::AsyncWriteExt;
    let served = serve(&[(&digits_key(), DIGITS.to_vec())]).await;
    let address = served.cdn.domain().to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    stalled
        .write_all(b"GET /abc HT")
        .await
        .expect("half a line");
    let started = std::time::Instant::now();
    let answer = read_until_closed(&mut stalled, Duration::from_secs(20)).await;
    assert!(
        answer.is_some(),
        "still connected after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // The server itself still answers others.
    assert_eq!(
        served
            .get(&format!("/{}", digits_key()), &[])
            .await
            .status(),
        StatusCode::OK
    );
}

/// Issue 12: beyond `max_connections`, a new connection waits until one of the open ones ends.
#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let emulator = common::fresh_emulator().await;
    let s3 = emulator.clients.s3.clone();
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("bucket");
    s3.put_object()
        .bucket(BUCKET)
        .key(digits_key())
        .body(ByteStream::from_static(DIGITS))
        .send()
        .await
        .expect("put");
    let limits = CdnLimits {
        header_read_timeout: Duration::from_secs(30),
        max_connections: 2,
    };
    let cdn =
        CdnListener::bind(0)
            .await
            .expect("bind")
            .serve_with_limits(s3, BUCKET.to_owned(), limits);
    let address = cdn.domain().to_owned();
    let first = tokio::net::TcpStream::connect(&address)
        .await
        .expect("first");
    let _second = tokio::net::TcpStream::connect(&address)
        .await
        .expect("second");
    let mut third = tokio::net::TcpStream::connect(&address)
        .await
        .expect("third");
    let request = format!(
        "GET /{} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n",
        digits_key()
    );
    third.write_all(request.as_bytes()).await.expect("request");
    let mut buffer = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_secs(1), third.read(&mut buffer)).await;
    assert!(early.is_err(), "served beyond the limit: {early:?}");
    drop(first);
    let answer = read_until_closed(&mut third, Duration::from_secs(10))
        .await
        .expect("served once a slot is free");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("0123456789"), "{answer}");
}
