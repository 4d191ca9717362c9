//! One request answered: GET and HEAD mapped to S3 `GetObject` / `HeadObject` on the key's bucket
//! (Range and conditional headers passed on), OPTIONS preflight, 405 for the rest, CORS headers on
//! every response, and S3's failures turned into 404, 304, 416 or 502.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::Shared;
use super::body::{ResBody, S3Body};
use super::request::{KeyError, content_type, decode_key, parse_range};

const ALLOW: &str = "GET, HEAD, OPTIONS";
const EXPOSE: &str = "Content-Length, Content-Range, Accept-Ranges, ETag";

pub(super) async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<ResBody> {
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
            let origins = &shared.origins;
            let body = match &origins.packaging_bucket {
                Some(packaging) => format!(
                    "vodesk local CloudFront: serves {} (out/: {packaging})",
                    origins.destination_bucket
                ),
                None => format!(
                    "vodesk local CloudFront: serves {}",
                    origins.destination_bucket
                ),
            };
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
    let (bucket, s3) = (shared.origins.bucket_for(&key), &shared.s3);

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
            Err(err) => return failure(s3, bucket, &key, "HeadObject", &err).await,
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
            Err(err) => return failure(s3, bucket, &key, "GetObject", &err).await,
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
    s3: &aws_sdk_s3::Client,
    bucket: &str,
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
            let size = s3
                .head_object()
                .bucket(bucket)
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
            tracing::warn!(bucket, key, operation, error = %message, "local CloudFront: S3 request failed");
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
