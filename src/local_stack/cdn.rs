//! The local stack's "CloudFront" (contract §7 URL rule, §10): a loopback HTTP/1.1 server that serves the
//! objects of the destination bucket, so that the output URLs
//! `http://127.0.0.1:<port>/<guid>/hls/<base>.m3u8` play in ffplay, VLC, mpv and browsers.
//!
//! This module owns the listener ([`CdnListener`], bound before the stack is created because
//! `CloudFrontDomainName` must be known then), the running server ([`LocalCdn`], stopped when dropped)
//! and the mapping of requests to S3 `GetObject`/`HeadObject`. The bucket is the truth: nothing is
//! copied or cached, bodies are streamed frame by frame and Range requests are passed on to S3.
//!
//! Behaviour: the request path is percent-decoded as UTF-8 into the key (`+` stays a plus, as in S3's
//! REST paths), the query string is ignored; GET and HEAD with a single `bytes=` range (206), OPTIONS
//! preflight (204), anything else 405. `Access-Control-Allow-Origin: *` is on every response.
//!
//! Deliberate differences from the real distribution:
//! - the scheme is `http` (contract §10 allows it as the single documented difference);
//! - a missing key is **404**, where CloudFront with origin access control answers 403: players and
//!   people read 404 better;
//! - `Content-Type` comes from the key's extension, not from the object's stored metadata;
//! - a multi-range request (`bytes=0-1,5-6`) or a malformed Range is answered 200 with the whole object,
//!   as S3 does (CloudFront would answer multipart/byteranges);
//! - S3 failures are 502 with a one-line text body; paths are not normalised (`/./`, `//` reach S3 as
//!   written); `If-Range` is ignored (outputs are written once).
//!
//! Limits ([`CdnLimits`]), so that a slow or greedy client cannot hold the server: a connection that
//! has not sent a whole request head within 10 s is closed, and at most 256 connections are served at
//! once; further ones wait in the listen backlog until one ends.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, ByteStreamError, DateTime, DateTimeFormat};
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// How long open connections may finish their current response after the server is told to stop.
const GRACE: Duration = Duration::from_secs(2);
const ALLOW: &str = "GET, HEAD, OPTIONS";
const EXPOSE: &str = "Content-Length, Content-Range, Accept-Ranges, ETag";

#[derive(Debug, thiserror::Error)]
pub enum CdnError {
    #[error(
        "the local CloudFront could not listen on 127.0.0.1:{port}: {source}; choose another port, or 0 for any free one"
    )]
    Bind { port: u16, source: std::io::Error },
    #[error("the local CloudFront's listening address is unknown: {0}")]
    LocalAddr(std::io::Error),
}

/// What one client may hold of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdnLimits {
    /// A connection that has not sent a complete request head (request line and headers) this long
    /// after it opened or after its previous response is closed.
    pub header_read_timeout: Duration,
    /// Connections served at once; the next ones are accepted as these end.
    pub max_connections: usize,
}

impl Default for CdnLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// A bound, not yet serving, loopback listener. Bind first: its [`domain`](Self::domain) goes into the
/// stack's `CloudFrontDomainName` output before the stack exists.
#[derive(Debug)]
pub struct CdnListener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl CdnListener {
    /// Listens on 127.0.0.1:`port` (0 picks a free port).
    pub async fn bind(port: u16) -> Result<CdnListener, CdnError> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| CdnError::Bind { port, source })?;
        let addr = listener.local_addr().map_err(CdnError::LocalAddr)?;
        Ok(CdnListener { listener, addr })
    }

    /// `127.0.0.1:PORT`, no scheme: the value of `CloudFrontDomainName`.
    pub fn domain(&self) -> String {
        self.addr.to_string()
    }

    /// Spawns the server on the current tokio runtime (the one `bind` ran on). Dropping the returned
    /// [`LocalCdn`] stops it: the listener closes at once, open connections get [`GRACE`] to finish.
    pub fn serve(self, s3: aws_sdk_s3::Client, bucket: String) -> LocalCdn {
        self.serve_with_limits(s3, bucket, CdnLimits::default())
    }

    /// [`serve`](Self::serve) with other limits than the defaults (tests use short ones).
    pub fn serve_with_limits(
        self,
        s3: aws_sdk_s3::Client,
        bucket: String,
        limits: CdnLimits,
    ) -> LocalCdn {
        let domain = self.domain();
        let (stop, stopped) = oneshot::channel();
        let shared = Arc::new(Shared { s3, bucket });
        let task = tokio::spawn(run(self.listener, shared, limits, stopped));
        tracing::info!(%domain, "local CloudFront serving");
        LocalCdn {
            domain,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// The running server. Dropping it stops the server.
#[derive(Debug)]
pub struct LocalCdn {
    domain: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl LocalCdn {
    /// `127.0.0.1:PORT`, no scheme.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.domain)
    }

    /// Stops the server and waits until it has stopped (open connections get [`GRACE`]).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take()
            && stop.send(()).is_err()
        {
            // The server task has already ended (its receiver is gone): nothing left to stop.
        }
        // Err only if the server task panicked or was aborted; either way it has stopped, as wanted.
        if let Some(task) = self.task.take()
            && let Err(err) = task.await
        {
            tracing::debug!("local CDN: the server task ended abnormally: {err}");
        }
    }
}

impl Drop for LocalCdn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take()
            && stop.send(()).is_err()
        {
            // The server task has already ended (its receiver is gone): nothing left to stop.
        }
        // The task ends by itself within GRACE; it owns every connection task (a JoinSet).
        self.task.take();
    }
}

struct Shared {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    limits: CdnLimits,
    mut stopped: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        // A slot first, then a connection: beyond the limit, clients wait in the listen backlog.
        // Both awaits are cancel-safe, so losing the race below loses neither a slot nor a client.
        let next = async {
            let slot = slots.clone().acquire_owned().await;
            (slot, listener.accept().await)
        };
        tokio::select! {
            // A send or a dropped sender: either way, stop.
            _ = &mut stopped => break,
            (slot, accepted) = next => match accepted {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(&shared, req).await) }
                    });
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    connections.spawn(async move {
                        // Held until the connection ends.
                        let _slot = slot;
                        if let Err(err) = conn.await {
                            tracing::debug!(error = %err, "local CloudFront connection ended");
                        }
                    });
                }
                Err(err) => {
                    // E.g. too many open files: back off instead of spinning.
                    tracing::warn!(error = %err, "local CloudFront accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    if tokio::time::timeout(GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("local CloudFront: closing connections still open after the grace period");
    }
    connections.shutdown().await;
    tracing::info!("local CloudFront stopped");
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ResBody = UnsyncBoxBody<Bytes, BoxError>;

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<ResBody> {
    let mut response = match *req.method() {
        Method::GET | Method::HEAD => object(shared, &req).await,
        Method::OPTIONS => preflight(req.headers()),
        _ => {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
            r
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE),
    );
    tracing::debug!(method = %req.method(), path = req.uri().path(), status = response.status().as_u16(), "local CloudFront");
    response
}

fn preflight(request: &HeaderMap) -> Response<ResBody> {
    let mut r = empty(StatusCode::NO_CONTENT);
    let allow_headers = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("Range"));
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW),
    );
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    r
}

/// What both GetObject and HeadObject report about the object.
struct Meta {
    content_length: Option<i64>,
    content_range: Option<String>,
    etag: Option<String>,
    last_modified: Option<DateTime>,
}

async fn object(shared: &Shared, req: &Request<Incoming>) -> Response<ResBody> {
    let key = match decode_key(req.uri().path()) {
        Ok(key) if key.is_empty() => {
            let body = format!("vodesk local CloudFront: serves {}", shared.bucket);
            return text(StatusCode::NOT_FOUND, &body);
        }
        Ok(key) => key,
        Err(KeyError) => {
            return text(
                StatusCode::BAD_REQUEST,
                "the request path is not UTF-8 once percent-decoded",
            );
        }
    };
    let h = req.headers();
    let range = header_str(h, &header::RANGE)
        .and_then(parse_range)
        .map(|r| r.to_header());
    let if_none_match = header_str(h, &header::IF_NONE_MATCH).map(str::to_owned);
    let if_modified_since = header_str(h, &header::IF_MODIFIED_SINCE)
        .and_then(|v| DateTime::from_str(v, DateTimeFormat::HttpDate).ok());
    let (bucket, s3) = (&shared.bucket, &shared.s3);

    let (status, meta, body) = if req.method() == Method::HEAD {
        let sent = s3
            .head_object()
            .bucket(bucket)
            .key(&key)
            .set_range(range)
            .set_if_none_match(if_none_match)
            .set_if_modified_since(if_modified_since)
            .send()
            .await;
        match sent {
            Ok(out) => {
                let meta = Meta {
                    content_length: out.content_length(),
                    content_range: out.content_range().map(str::to_owned),
                    etag: out.e_tag().map(str::to_owned),
                    last_modified: out.last_modified().copied(),
                };
                (success(&meta), meta, empty_body())
            }
            Err(err) => return failure(shared, &key, "HeadObject", &err).await,
        }
    } else {
        let sent = s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .set_range(range)
            .set_if_none_match(if_none_match)
            .set_if_modified_since(if_modified_since)
            .send()
            .await;
        match sent {
            Ok(out) => {
                let meta = Meta {
                    content_length: out.content_length(),
                    content_range: out.content_range().map(str::to_owned),
                    etag: out.e_tag().map(str::to_owned),
                    last_modified: out.last_modified().copied(),
                };
                let len = meta.content_length.and_then(|n| u64::try_from(n).ok());
                (
                    success(&meta),
                    meta,
                    S3Body::new(out.body, len).boxed_unsync(),
                )
            }
            Err(err) => return failure(shared, &key, "GetObject", &err).await,
        }
    };

    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&key)),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(len) = meta.content_length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    insert_opt(
        headers,
        header::CONTENT_RANGE,
        meta.content_range.as_deref(),
    );
    insert_opt(headers, header::ETAG, meta.etag.as_deref());
    let last_modified = meta
        .last_modified
        .and_then(|t| t.fmt(DateTimeFormat::HttpDate).ok());
    insert_opt(headers, header::LAST_MODIFIED, last_modified.as_deref());
    response
}

fn success(meta: &Meta) -> StatusCode {
    if meta.content_range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    }
}

/// Maps a failed S3 request to the response: 404, 304, 416 or 502.
async fn failure<E>(
    shared: &Shared,
    key: &str,
    operation: &str,
    err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Response<ResBody>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code();
    match (status, code) {
        (_, Some("NoSuchKey" | "NotFound")) | (Some(404), None) => {
            text(StatusCode::NOT_FOUND, "no such object")
        }
        (Some(304), _) => {
            let mut r = empty(StatusCode::NOT_MODIFIED);
            let etag = err.raw_response().and_then(|raw| raw.headers().get("etag"));
            insert_opt(r.headers_mut(), header::ETAG, etag);
            r
        }
        (Some(416), _) | (_, Some("InvalidRange")) => {
            let mut r = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
            // The error does not say the object's size; ask for it.
            let size = shared
                .s3
                .head_object()
                .bucket(&shared.bucket)
                .key(key)
                .send()
                .await
                .ok()
                .and_then(|out| out.content_length());
            if let Some(size) = size {
                insert_opt(
                    r.headers_mut(),
                    header::CONTENT_RANGE,
                    Some(&format!("bytes */{size}")),
                );
            }
            r
        }
        _ => {
            let message = crate::aws::sdk_error::describe(err);
            tracing::warn!(bucket = %shared.bucket, key, operation, error = %message, "local CloudFront: S3 request failed");
            text(
                StatusCode::BAD_GATEWAY,
                &format!("S3 {operation} failed: {message}"),
            )
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn insert_opt(headers: &mut HeaderMap, name: HeaderName, value: Option<&str>) {
    if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(name, value);
    }
}

fn empty_body() -> ResBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

fn empty(status: StatusCode) -> Response<ResBody> {
    let mut r = Response::new(empty_body());
    *r.status_mut() = status;
    r
}

fn text(status: StatusCode, body: &str) -> Response<ResBody> {
    let body = Full::new(Bytes::from(format!("{body}\n")))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// An S3 object body as a hyper body, one frame per chunk the SDK yields: nothing is buffered beyond
/// the chunk in flight, and the next chunk is only read when hyper asks for it.
struct S3Body {
    next: Option<Pin<Box<NextChunk>>>,
    remaining: Option<u64>,
}

type NextChunk = dyn Future<Output = (ByteStream, Option<Result<Bytes, ByteStreamError>>)> + Send;

impl S3Body {
    fn new(stream: ByteStream, len: Option<u64>) -> Self {
        S3Body {
            next: Some(Self::read(stream)),
            remaining: len,
        }
    }

    fn read(mut stream: ByteStream) -> Pin<Box<NextChunk>> {
        Box::pin(async move {
            let chunk = stream.next().await;
            (stream, chunk)
        })
    }
}

impl Body for S3Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Some(next) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        let (stream, chunk) = match next.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(ready) => ready,
        };
        match chunk {
            Some(Ok(bytes)) => {
                self.next = Some(Self::read(stream));
                if let Some(remaining) = self.remaining.as_mut() {
                    *remaining = remaining.saturating_sub(bytes.len() as u64);
                }
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Some(Err(err)) => {
                self.next = None;
                tracing::warn!(error = %err, "local CloudFront: reading an S3 body failed");
                Poll::Ready(Some(Err(err.into())))
            }
            None => {
                self.next = None;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.next.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            Some(n) if self.next.is_some() => SizeHint::with_exact(n),
            Some(_) => SizeHint::with_exact(0),
            None => SizeHint::default(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct KeyError;

/// The object key of a request path: the leading `/` removed, then percent-decoded as UTF-8. A `+`
/// stays a plus (S3 REST paths are not form-encoded); `%2B` also becomes `+`.
fn decode_key(path: &str) -> Result<String, KeyError> {
    let raw = path.strip_prefix('/').unwrap_or(path);
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| KeyError)
}

/// One byte range of a `Range: bytes=…` header (RFC 9110 §14.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteRange {
    /// `a-b`, both inclusive, `a <= b`.
    FromTo(u64, u64),
    /// `a-`: from `a` to the end.
    From(u64),
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    fn to_header(self) -> String {
        match self {
            ByteRange::FromTo(a, b) => format!("bytes={a}-{b}"),
            ByteRange::From(a) => format!("bytes={a}-"),
            ByteRange::Suffix(n) => format!("bytes=-{n}"),
        }
    }
}

/// The single range of a Range header, or `None` when the header is to be ignored (answered 200 with
/// the whole object): another unit, a malformed spec, or several ranges. Whether the range is
/// satisfiable is S3's decision (it knows the size).
fn parse_range(value: &str) -> Option<ByteRange> {
    let (unit, spec) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return None;
    }
    let (first, last) = spec.trim().split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (first.is_empty(), last.is_empty()) {
        (true, true) => None,
        (true, false) => number(last).map(ByteRange::Suffix),
        (false, true) => number(first).map(ByteRange::From),
        (false, false) => {
            let (a, b) = (number(first)?, number(last)?);
            (a <= b).then_some(ByteRange::FromTo(a, b))
        }
    }
}

/// The Content-Type for a key, by its extension (case-insensitive).
fn content_type(key: &str) -> &'static str {
    let name = key.rsplit('/').next().unwrap_or(key);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return "application/octet-stream";
    };
    match ext.to_ascii_lowercase().as_str() {
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        "mpd" => "application/dash+xml",
        "mp4" | "m4v" | "ismv" => "video/mp4",
        "m4s" => "video/iso.segment",
        "m4a" => "audio/mp4",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "vtt" => "text/vtt",
        "json" => "application/json",
        "ism" | "ismc" => "application/vnd.ms-sstr+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=2-5"), Some(ByteRange::FromTo(2, 5)));
        assert_eq!(parse_range("bytes=0-0"), Some(ByteRange::FromTo(0, 0)));
        assert_eq!(parse_range("bytes=7-"), Some(ByteRange::From(7)));
        assert_eq!(parse_range("bytes=-3"), Some(ByteRange::Suffix(3)));
        assert_eq!(parse_range("bytes=-0"), Some(ByteRange::Suffix(0)));
        assert_eq!(parse_range(" Bytes = 2-5 "), Some(ByteRange::FromTo(2, 5)));
        for ignored in [
            "bytes=5-2",
            "bytes=0-1,4-5",
            "bytes=-",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1-2-3",
            "items=0-1",
            "bytes 0-1",
            "bytes=99999999999999999999-",
            "",
        ] {
            assert_eq!(parse_range(ignored), None, "{ignored}");
        }
        assert_eq!(ByteRange::FromTo(2, 5).to_header(), "bytes=2-5");
        assert_eq!(ByteRange::From(7).to_header(), "bytes=7-");
        assert_eq!(ByteRange::Suffix(3).to_header(), "bytes=-3");
    }

    #[test]
    fn keys() {
        assert_eq!(
            decode_key("/g/hls/A%C3%B1o%20Nuevo%202025.m3u8").as_deref(),
            Ok("g/hls/Año Nuevo 2025.m3u8")
        );
        assert_eq!(decode_key("/a+b%2Bc.ts").as_deref(), Ok("a+b+c.ts"));
        assert_eq!(decode_key("/").as_deref(), Ok(""));
        assert_eq!(decode_key("/%2Fx").as_deref(), Ok("/x"));
        assert_eq!(decode_key("/bad%FF"), Err(KeyError));
        // A malformed escape is kept as written, as S3 does.
        assert_eq!(decode_key("/50%").as_deref(), Ok("50%"));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type("g/hls/Año Nuevo 2025.m3u8"),
            "application/vnd.apple.mpegurl"
        );
        assert_eq!(content_type("g/hls/x_00001.TS"), "video/mp2t");
        assert_eq!(content_type("g/dash/x.mpd"), "application/dash+xml");
        assert_eq!(content_type("g/mp4/x.mp4"), "video/mp4");
        assert_eq!(content_type("g/cmaf/x.m4s"), "video/iso.segment");
        assert_eq!(content_type("x.m4a"), "audio/mp4");
        assert_eq!(content_type("x.m4v"), "video/mp4");
        assert_eq!(content_type("t/x_thumb.0000000.JPG"), "image/jpeg");
        assert_eq!(content_type("x.jpeg"), "image/jpeg");
        assert_eq!(content_type("x.png"), "image/png");
        assert_eq!(content_type("x.vtt"), "text/vtt");
        assert_eq!(content_type("x.json"), "application/json");
        assert_eq!(content_type("x.ism"), "application/vnd.ms-sstr+xml");
        assert_eq!(content_type("x.ismc"), "application/vnd.ms-sstr+xml");
        assert_eq!(content_type("x.ismv"), "video/mp4");
        assert_eq!(content_type("x.bin"), "application/octet-stream");
        assert_eq!(content_type("dir.m3u8/noext"), "application/octet-stream");
        assert_eq!(content_type("m3u8"), "application/octet-stream");
    }
}
