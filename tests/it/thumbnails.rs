//! Thumbnail fetching (`vodesk::aws::thumbnails`) end to end against the local stack's "CloudFront" and
//! the moto emulator: contract URLs with raw spaces and non-ASCII fetched and downscaled, the disk
//! cache, non-images, missing keys, the S3 fallback when the distribution cannot be used, and that
//! nothing is requested from any other host (a planted URL, a redirect away from the distribution).
//! Other hosts are small loopback servers on their own ports: the stack's domain is `127.0.0.1:PORT`,
//! so another port is another host.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use image::{ImageFormat, RgbImage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use vodesk::aws::thumbnails::{Thumbnail, ThumbnailError, ThumbnailFetcher};
use vodesk::local_stack::cdn::{CdnListener, LocalCdn};

const BUCKET: &str = "vod-local-destination";
const KEY: &str =
    "3f4e5d6c-7b8a-4912-8a0b-1c2d3e4f5a6b/thumbnails/Año Nuevo 2025_thumb.0000004.jpg";

struct Stack {
    _emulator: common::FreshEmulator,
    s3: aws_sdk_s3::Client,
    cdn: LocalCdn,
}

impl Stack {
    /// The URL exactly as output-validate writes it: plain concatenation, not encoded.
    fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.cdn.base_url())
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .expect("put an object");
    }
}

async fn stack() -> Stack {
    let emulator = common::fresh_emulator().await;
    let s3 = emulator.clients.s3.clone();
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("create the bucket");
    let cdn = CdnListener::bind(0)
        .await
        .expect("bind a free port")
        .serve(s3.clone(), BUCKET.to_owned());
    Stack {
        _emulator: emulator,
        s3,
        cdn,
    }
}

/// A 1280×720 frame capture: a gradient, JPEG quality 80 as MediaConvert writes them.
fn frame_jpeg() -> Vec<u8> {
    let image = RgbImage::from_fn(1280, 720, |x, y| {
        image::Rgb([(x * 255 / 1279) as u8, (y * 255 / 719) as u8, 96])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&image)
        .expect("encode a JPEG");
    assert_eq!(
        image::guess_format(&out).expect("a known format"),
        ImageFormat::Jpeg
    );
    out
}

/// A fetcher for the stack whose CloudFront domain is `cdn` (`127.0.0.1:PORT` for the local one).
fn fetcher(cdn: Option<&str>, cache: Option<&std::path::Path>) -> ThumbnailFetcher {
    ThumbnailFetcher::new(cdn, cache.map(|p| p.to_path_buf()), 10 * 1024 * 1024)
}

/// What a [`TinyServer`] answers: status, extra headers, body.
type Reply = (u16, Vec<(&'static str, String)>, Vec<u8>);

/// A loopback HTTP/1.1 server answering each request with `reply(path)`, counting the connections
/// made to it. Stops when dropped.
struct TinyServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TinyServer {
    async fn start(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("the bound address");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let reply = Arc::new(reply);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let reply = reply.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                    let (status, headers, body) = reply(&path);
                    let mut out = format!(
                        "HTTP/1.1 {status} Test\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (name, value) in headers {
                        out.push_str(&format!("{name}: {value}\r\n"));
                    }
                    out.push_str("\r\n");
                    // A client that hangs up early (a refused or cancelled fetch) is the client's
                    // business: the test asserts on what the client saw, so write errors are dropped.
                    let header = stream.write_all(out.as_bytes()).await;
                    let rest = stream.write_all(&body).await;
                    let closed = stream.shutdown().await;
                    if header.is_err() || rest.is_err() || closed.is_err() {
                        // The peer has gone: nothing left to send it.
                    }
                });
            }
        });
        TinyServer {
            addr,
            connections,
            task,
        }
    }

    /// `127.0.0.1:PORT`, as a `CloudFrontDomainName`.
    fn domain(&self) -> String {
        self.addr.to_string()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for TinyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Another host that would happily serve a thumbnail for any path.
async fn foreign_host() -> TinyServer {
    let jpeg = frame_jpeg();
    TinyServer::start(move |_| {
        (
            200,
            vec![("Content-Type", "image/jpeg".into())],
            jpeg.clone(),
        )
    })
    .await
}

#[tokio::test]
async fn a_contract_url_is_fetched_downscaled_and_cached() {
    let stack = stack().await;
    stack.put(KEY, frame_jpeg()).await;
    let cache = tempfile::tempdir().expect("a temp dir");
    let fetcher = fetcher(Some(stack.cdn.domain()), Some(cache.path()));
    let url = stack.url(KEY);
    assert!(url.contains("Año Nuevo"), "the URL is raw: {url}");

    let thumb = fetcher.load(&url, 96).await.expect("load the thumbnail");
    assert_eq!((thumb.width, thumb.height), (96, 54));
    assert_eq!(thumb.rgba.len(), 96 * 54 * 4);
    // The gradient survives the downscale: dark red on the left, bright red on the right.
    let red = |x: usize, y: usize| thumb.rgba[(y * 96 + x) * 4];
    assert!(red(2, 27) < 40, "left edge {}", red(2, 27));
    assert!(red(93, 27) > 215, "right edge {}", red(93, 27));
    assert_eq!(thumb.rgba[3], 255, "opaque");

    let large = fetcher.load(&url, 640).await.expect("load the large size");
    assert_eq!((large.width, large.height), (640, 360));
    let whole = fetcher.load(&url, 4096).await.expect("never upscaled");
    assert_eq!((whole.width, whole.height), (1280, 720));

    // With the object gone, only the disk cache can answer.
    stack
        .s3
        .delete_object()
        .bucket(BUCKET)
        .key(KEY)
        .send()
        .await
        .expect("delete the object");
    let cached = fetcher.load(&url, 96).await.expect("served from the cache");
    assert_eq!(cached, thumb);
    // A fetcher without a cache really does go to the network (so the check above means something).
    let err = self::fetcher(Some(stack.cdn.domain()), None)
        .load(&url, 96)
        .await
        .unwrap_err();
    assert_eq!(err, ThumbnailError::Status(404));
    assert_eq!(err.to_string(), "the thumbnail server answered 404");
}

#[tokio::test]
async fn a_non_image_is_named() {
    let stack = stack().await;
    let key = "g/thumbnails/oops_thumb.0000000.jpg";
    stack
        .put(key, b"<Error><Code>AccessDenied</Code></Error>".to_vec())
        .await;
    let err = fetcher(Some(stack.cdn.domain()), None)
        .load(&stack.url(key), 96)
        .await
        .unwrap_err();
    assert_eq!(err, ThumbnailError::NotAnImage);
    assert_eq!(err.to_string(), "not an image");
}

#[tokio::test]
async fn a_missing_key_is_404_even_with_the_s3_fallback() {
    let stack = stack().await;
    let fetcher = fetcher(Some(stack.cdn.domain()), None)
        .with_s3_fallback(stack.s3.clone(), BUCKET.to_owned());
    let err = fetcher
        .load(&stack.url("g/thumbnails/nowhere +1_thumb.0000000.jpg"), 96)
        .await
        .unwrap_err();
    assert_eq!(err, ThumbnailError::Status(404));
}

#[tokio::test]
async fn an_unreachable_distribution_falls_back_to_s3() {
    let stack = stack().await;
    let key = "g/thumbnails/Año 100%+#1_thumb.0000000.jpg";
    stack.put(key, frame_jpeg()).await;
    // The distribution at port 9 (discard) on loopback: nothing listens, the connection is refused.
    let cdn = "127.0.0.1:9";
    let url = format!("http://{cdn}/{key}");

    let err = fetcher(Some(cdn), None).load(&url, 96).await.unwrap_err();
    assert!(
        matches!(err, ThumbnailError::Unreachable(_)),
        "without a fallback: {err:?}"
    );

    let fetcher = fetcher(Some(cdn), None).with_s3_fallback(stack.s3.clone(), BUCKET.to_owned());
    let thumb = fetcher.load(&url, 96).await.expect("read through S3");
    assert_eq!((thumb.width, thumb.height), (96, 54));
}

#[tokio::test]
async fn the_same_literal_key_is_served_through_the_cdn() {
    // `%`, `+` and `#` in a key are literal in contract URLs; the CDN must get them encoded.
    let stack = stack().await;
    let key = "g/thumbnails/Año 100%+#1_thumb.0000000.jpg";
    stack.put(key, frame_jpeg()).await;
    // A decoy at the key a wrong encoding would reach ('+' read as space).
    stack
        .put(
            "g/thumbnails/Año 100% #1_thumb.0000000.jpg",
            b"decoy".to_vec(),
        )
        .await;
    let thumb = fetcher(Some(stack.cdn.domain()), None)
        .load(&stack.url(key), 200)
        .await
        .expect("load through the CDN");
    assert_eq!((thumb.width, thumb.height), (200, 113));
}

/// The error of a load that must fail (a loaded thumbnail is named by its size, not its pixels).
fn failed(result: Result<Thumbnail, ThumbnailError>) -> ThumbnailError {
    match result {
        Ok(thumb) => panic!("loaded a {}×{} thumbnail", thumb.width, thumb.height),
        Err(e) => e,
    }
}

#[tokio::test]
async fn a_thumbnail_on_another_host_is_never_requested() {
    let stack = stack().await;
    stack.put(KEY, frame_jpeg()).await;
    let foreign = foreign_host().await;
    let cdn = stack.cdn.domain().to_owned();
    // Even with the S3 fallback at hand (the key exists in the bucket): a URL elsewhere is refused.
    let fetcher = fetcher(Some(&cdn), None).with_s3_fallback(stack.s3.clone(), BUCKET.to_owned());

    let err = failed(fetcher.load(&foreign.url(KEY), 96).await);
    assert_eq!(
        err,
        ThumbnailError::ForeignHost {
            host: foreign.domain(),
            cdn: Some(cdn.clone()),
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "not fetched: the thumbnail is on {}, not on this stack's CloudFront ({cdn})",
            foreign.domain()
        )
    );
    // Other schemes and remote plain http are refused by the URL check, with the reason.
    let err = failed(fetcher.load("file:///etc/passwd", 96).await);
    assert_eq!(
        err.to_string(),
        "vodesk refused the thumbnail's URL: its scheme is \"file\": only https links are opened"
    );
    assert_eq!(foreign.connections(), 0, "the other host was contacted");

    // The stack's own URL still loads, from the distribution.
    let thumb = fetcher
        .load(&stack.url(KEY), 96)
        .await
        .expect("load from the CDN");
    assert_eq!((thumb.width, thumb.height), (96, 54));

    // When the stack's CloudFront domain is not known, no URL is fetched over HTTP.
    let err = failed(self::fetcher(None, None).load(&foreign.url(KEY), 96).await);
    assert_eq!(
        err.to_string(),
        format!(
            "not fetched: the thumbnail is on {}, not on this stack's CloudFront (its domain is not known)",
            foreign.domain()
        )
    );
    assert_eq!(foreign.connections(), 0, "the other host was contacted");
}

#[tokio::test]
async fn a_redirect_away_from_the_distribution_is_not_followed() {
    let foreign = foreign_host().await;
    let elsewhere = foreign.url("stolen.jpg");
    let jpeg = frame_jpeg();
    // The stack's distribution: redirects within itself are fine, one to another host is not.
    let distribution = TinyServer::start(move |path| match path {
        "/away.jpg" => (302, vec![("Location", elsewhere.clone())], Vec::new()),
        "/moved.jpg" => (301, vec![("Location", "/g/real.jpg".into())], Vec::new()),
        "/g/real.jpg" => (
            200,
            vec![("Content-Type", "image/jpeg".into())],
            jpeg.clone(),
        ),
        "/loop.jpg" => (302, vec![("Location", "/loop.jpg".into())], Vec::new()),
        _ => (404, Vec::new(), Vec::new()),
    })
    .await;
    let fetcher = fetcher(Some(&distribution.domain()), None);

    let err = failed(fetcher.load(&distribution.url("away.jpg"), 96).await);
    assert_eq!(
        err.to_string(),
        format!(
            "the thumbnail server's redirect was not followed: it leads to another host ({})",
            foreign.domain()
        )
    );
    assert_eq!(foreign.connections(), 0, "the redirect was followed");

    let thumb = fetcher
        .load(&distribution.url("moved.jpg"), 96)
        .await
        .expect("a redirect within the distribution is followed");
    assert_eq!((thumb.width, thumb.height), (96, 54));

    let err = failed(fetcher.load(&distribution.url("loop.jpg"), 96).await);
    assert_eq!(
        err,
        ThumbnailError::Redirect("more than 3 redirects".into())
    );
}
