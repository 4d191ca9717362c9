//! Thumbnail fetching for the app: turns a thumbnail URL as the solution writes it (contract §7, not
//! percent-encoded) into a small RGBA8 image. Owns where a thumbnail may come from (over HTTP only
//! from the stack's own CloudFront domain, redirects only within it; from the destination bucket as
//! the fallback for a private distribution; nothing else, so a planted URL cannot make the desktop
//! request other hosts), the time- and size-capped download, decoding under limits so a hostile or
//! broken file cannot exhaust memory, the downscale, and a bounded on-disk cache of the downscaled
//! results. No UI types here: the engine's runtime calls [`ThumbnailFetcher::load`] and hands the
//! pixels to the window.

use crate::contract::terminal::one_line;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use image::{DynamicImage, ImageError, ImageFormat, ImageReader, Limits};
use percent_encoding::percent_decode_str;

use crate::contract::safe_url::{self, SafeUrl, UrlRefused};

/// Whole-request budget (connect, headers and body): a thumbnail is small, a stall is a failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Redirects followed per request, each only to the same scheme, host and port as the request.
const MAX_REDIRECTS: usize = 3;
/// The most we read of any download. Frame captures are JPEG quality 80 at source size (a few MiB at
/// most even for 4K); more than this is not a thumbnail.
pub const MAX_DOWNLOAD_BYTES: u64 = 20 * MIB;
/// Largest width or height we agree to decode.
pub const MAX_DIMENSION: u32 = 16384;
/// The decoder's allocation budget: enough for an 8K RGBA frame, refuses bombs before allocating.
const MAX_DECODE_ALLOC: u64 = 256 * MIB;
/// Eviction brings the cache down to this share of its limit, so that not every write evicts.
const EVICT_TO_PERCENT: u64 = 80;
const MIB: u64 = 1024 * 1024;
/// The thumbnails' disk cache folder inside vodesk's data folder (the session's fetcher keeps its
/// files there; `vodesk doctor` checks it is writable).
pub const CACHE_DIR_NAME: &str = "thumbnails";

/// A decoded, downscaled thumbnail: `width × height` pixels, 4 bytes each (RGBA, not premultiplied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// Why a thumbnail could not be shown. Display is short: it goes into a tooltip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThumbnailError {
    #[error("the thumbnail server answered {0}")]
    Status(u16),
    #[error("could not reach the thumbnail server: {0}")]
    Unreachable(String),
    #[error("the thumbnail download timed out")]
    Timeout,
    #[error("download larger than {} MiB", MAX_DOWNLOAD_BYTES / MIB)]
    DownloadTooLarge,
    #[error("not an image")]
    NotAnImage,
    #[error("image too large ({0}×{1} pixels)")]
    ImageTooLarge(u32, u32),
    #[error("image too large to decode")]
    DecodeLimit,
    #[error("the image is damaged: {0}")]
    Corrupt(String),
    #[error("S3 could not read the thumbnail: {0}")]
    S3(String),
    #[error("not a thumbnail URL")]
    BadUrl,
    #[error("vodesk refused the thumbnail's URL: {0}")]
    Refused(UrlRefused),
    #[error(
        "not fetched: the thumbnail is on {host}, not on this stack's CloudFront ({})",
        cdn.as_deref().unwrap_or("its domain is not known")
    )]
    ForeignHost { host: String, cdn: Option<String> },
    #[error("the thumbnail server's redirect was not followed: {0}")]
    Redirect(String),
    #[error("the thumbnail decoder stopped unexpectedly")]
    Internal,
}

/// Downloads, decodes and caches thumbnails. Cheap to share behind an `Arc`; `load` takes `&self`.
pub struct ThumbnailFetcher {
    /// With the same-origin redirect policy; why it could not be built otherwise.
    http: Result<reqwest::Client, String>,
    cdn: Option<CdnOrigin>,
    s3: Option<(aws_sdk_s3::Client, String)>,
    cache: Option<DiskCache>,
}

impl ThumbnailFetcher {
    /// `cloudfront_domain` is the stack's `CloudFrontDomainName` (`d123.cloudfront.net`, or the local
    /// stack's `127.0.0.1:PORT`): the only host thumbnails are requested from over HTTP. None (not
    /// known) means none is. `cache_dir` None (or a zero limit) means no disk cache.
    pub fn new(
        cloudfront_domain: Option<&str>,
        cache_dir: Option<PathBuf>,
        cache_limit_bytes: u64,
    ) -> Self {
        let cache = cache_dir
            .filter(|_| cache_limit_bytes > 0)
            .map(|dir| DiskCache {
                dir,
                limit: cache_limit_bytes,
            });
        let http = reqwest::Client::builder()
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| root_cause(&e));
        Self {
            http,
            cdn: cloudfront_domain.map(CdnOrigin::parse),
            s3: None,
            cache,
        }
    }

    /// When the stack's destination bucket is known: used when a URL on the stack's CloudFront domain
    /// answers 403/404 (a private distribution the user cannot read through) or cannot be reached —
    /// GetObject of the key, which is the URL's path after the host, percent-decoded, always in this
    /// bucket (the distribution's origin), whatever the URL says.
    pub fn with_s3_fallback(mut self, s3: aws_sdk_s3::Client, destination_bucket: String) -> Self {
        self.s3 = Some((s3, destination_bucket));
        self
    }

    /// Fetches (disk cache first), decodes under limits, downscales so the longer edge is at most
    /// `max_edge` (keeping the aspect ratio, never upscaling) and returns RGBA8. A URL that is not on
    /// the stack's CloudFront domain is refused before anything is read, even from the cache.
    pub async fn load(&self, url: &str, max_edge: u32) -> Result<Thumbnail, ThumbnailError> {
        let max_edge = max_edge.max(1);
        let target = self.check(url)?;
        if let Some(cache) = &self.cache
            && let Some(hit) = cache.get(url, max_edge).await
        {
            return Ok(hit);
        }
        let bytes = self.download(&target).await?;
        let thumb = tokio::task::spawn_blocking(move || decode_and_fit(&bytes, max_edge))
            .await
            .map_err(|_| ThumbnailError::Internal)??;
        if let Some(cache) = &self.cache {
            cache.put(url, max_edge, &thumb).await;
        }
        Ok(thumb)
    }

    /// The URL to request, when it is a safe URL on the stack's CloudFront domain.
    fn check(&self, url: &str) -> Result<SafeUrl, ThumbnailError> {
        let safe = SafeUrl::from_contract(url).map_err(ThumbnailError::Refused)?;
        match &self.cdn {
            Some(cdn) if cdn.serves(&safe) => Ok(safe),
            cdn => Err(ThumbnailError::ForeignHost {
                host: safe.host_label(),
                cdn: cdn.as_ref().map(|c| c.label.clone()),
            }),
        }
    }

    /// The encoded image bytes: over HTTP, or from S3 when HTTP says no and a fallback is configured.
    async fn download(&self, url: &SafeUrl) -> Result<Vec<u8>, ThumbnailError> {
        let http_err = match self.http_get(url).await {
            Ok(bytes) => return Ok(bytes),
            Err(e) => e,
        };
        let fallback_applies = matches!(
            http_err,
            ThumbnailError::Status(403 | 404) | ThumbnailError::Unreachable(_)
        );
        let Some((s3, bucket)) = self.s3.as_ref().filter(|_| fallback_applies) else {
            return Err(http_err);
        };
        let Some(key) = s3_key(url) else {
            return Err(http_err);
        };
        tracing::debug!(url = %redact(url), error = %http_err, "thumbnail: trying S3 directly");
        match s3_get(s3, bucket, &key).await {
            Ok(bytes) => Ok(bytes),
            // The object is simply not there: say so in the HTTP terms the user saw first.
            Err(S3Failure::NoSuchKey) => Err(ThumbnailError::Status(404)),
            // Limits and timeouts are about this object, whichever way it came.
            Err(S3Failure::Thumbnail(
                e @ (ThumbnailError::DownloadTooLarge | ThumbnailError::Timeout),
            )) => Err(e),
            // No S3 rights either (the usual case for a private bucket): the HTTP answer is the one
            // that explains what happened.
            Err(S3Failure::Thumbnail(e)) => {
                tracing::debug!(url = %redact(url), error = %e, "thumbnail: S3 fallback failed");
                Err(http_err)
            }
        }
    }

    async fn http_get(&self, url: &SafeUrl) -> Result<Vec<u8>, ThumbnailError> {
        let http = self.http.as_ref().map_err(|e| {
            ThumbnailError::Unreachable(format!("no HTTP client could be set up: {e}"))
        })?;
        let mut response = http
            .get(url.url().clone())
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(http_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ThumbnailError::Status(status.as_u16()));
        }
        // Content-Length is only a hint: a server can lie or omit it, so the cap is on what arrives.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http_error)? {
            push_capped(&mut body, &chunk)?;
        }
        Ok(body)
    }
}

/// The stack's CloudFront domain as a host and port to compare request URLs with.
#[derive(Debug, Clone)]
struct CdnOrigin {
    /// As configured, for messages.
    label: String,
    /// Lower-cased as the URL parser writes hosts; None when the domain is not a host at all (then
    /// no URL matches).
    host: Option<String>,
    /// The explicit port, else 443: CloudFront serves https (only the local stack names a port).
    port: u16,
}

impl CdnOrigin {
    /// `d123.cloudfront.net`, `127.0.0.1:8123`; a scheme or a trailing `/` given by hand is ignored.
    fn parse(domain: &str) -> Self {
        let label = domain.trim().trim_end_matches('/');
        let bare = label.split_once("://").map_or(label, |(_, rest)| rest);
        let parsed = url::Url::parse(&format!("https://{bare}"))
            .ok()
            .filter(|u| u.path() == "/" && u.query().is_none() && u.username().is_empty());
        Self {
            label: label.to_owned(),
            host: parsed
                .as_ref()
                .and_then(|u| u.host_str())
                .map(str::to_owned),
            port: parsed.and_then(|u| u.port()).unwrap_or(443),
        }
    }

    /// Whether `url` is on this domain: the same host and port. The scheme was checked by
    /// [`SafeUrl`] (https, or http for a loopback host).
    fn serves(&self, url: &SafeUrl) -> bool {
        let url = url.url();
        self.host
            .as_deref()
            .is_some_and(|host| url.host_str() == Some(host))
            && url.port_or_known_default() == Some(self.port)
    }
}

/// Follows at most [`MAX_REDIRECTS`] redirects, each to the scheme, host and port the request went
/// to: the stack's distribution may move a path, but never sends vodesk to another server. A
/// redirect elsewhere ends the request with [`RedirectRefused`], before anything is sent there.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        let same_origin = attempt.url().scheme() == first.scheme()
            && attempt.url().host_str() == first.host_str()
            && attempt.url().port_or_known_default() == first.port_or_known_default();
        if !same_origin {
            let to = safe_url::host_label(attempt.url());
            return attempt.error(RedirectRefused(format!("it leads to another host ({to})")));
        }
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectRefused(format!(
                "more than {MAX_REDIRECTS} redirects"
            )));
        }
        attempt.follow()
    })
}

/// Why the redirect policy stopped a request (found again in reqwest's error chain).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedirectRefused(String);

fn http_error(e: reqwest::Error) -> ThumbnailError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(inner) = source {
        if let Some(refused) = inner.downcast_ref::<RedirectRefused>() {
            return ThumbnailError::Redirect(refused.0.clone());
        }
        source = inner.source();
    }
    if e.is_timeout() {
        ThumbnailError::Timeout
    } else if e.is_connect() {
        ThumbnailError::Unreachable(root_cause(&e))
    } else if e.is_builder() {
        ThumbnailError::BadUrl
    } else {
        // reqwest's Display can include the URL; the root cause alone never does.
        ThumbnailError::Unreachable(root_cause(&e))
    }
}

/// The innermost error message (e.g. "Connection refused (os error 111)"), free of URLs.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

fn push_capped(body: &mut Vec<u8>, chunk: &[u8]) -> Result<(), ThumbnailError> {
    let total = body.len() as u64 + chunk.len() as u64;
    if total > MAX_DOWNLOAD_BYTES {
        return Err(ThumbnailError::DownloadTooLarge);
    }
    body.extend_from_slice(chunk);
    Ok(())
}

enum S3Failure {
    NoSuchKey,
    Thumbnail(ThumbnailError),
}

async fn s3_get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, S3Failure> {
    let read = async {
        let sent = s3.get_object().bucket(bucket).key(key).send().await;
        let mut object = match sent {
            Ok(object) => object,
            Err(err) => {
                let no_such_key = err.as_service_error().is_some_and(|e| e.is_no_such_key())
                    || err
                        .raw_response()
                        .is_some_and(|r| r.status().as_u16() == 404);
                return Err(if no_such_key {
                    S3Failure::NoSuchKey
                } else {
                    S3Failure::Thumbnail(ThumbnailError::S3(crate::aws::sdk_error::describe(&err)))
                });
            }
        };
        let mut body = Vec::new();
        while let Some(chunk) = object.body.next().await {
            let chunk =
                chunk.map_err(|e| S3Failure::Thumbnail(ThumbnailError::S3(e.to_string())))?;
            push_capped(&mut body, &chunk).map_err(S3Failure::Thumbnail)?;
        }
        Ok(body)
    };
    tokio::time::timeout(REQUEST_TIMEOUT, read)
        .await
        .unwrap_or(Err(S3Failure::Thumbnail(ThumbnailError::Timeout)))
}

/// The S3 key behind a checked contract URL: its path without the leading `/`, percent-decoded.
/// The path was encoded segment by segment from the raw key, so decoding gives the key back.
fn s3_key(url: &SafeUrl) -> Option<String> {
    let key = percent_decode_str(url.url().path().strip_prefix('/')?)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!key.is_empty()).then_some(key)
}

/// For logs: the URL without its query (a presigned signature would be there).
fn redact(url: &SafeUrl) -> String {
    let url = url.url();
    format!("{}{}", &url[..url::Position::BeforePath], url.path())
}

fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

/// Decodes a JPEG or PNG under [`decode_limits`] and fits it into `max_edge`. Blocking (CPU-bound).
fn decode_and_fit(bytes: &[u8], max_edge: u32) -> Result<Thumbnail, ThumbnailError> {
    let image = decode_limited(bytes)?;
    Ok(fit(image, max_edge))
}

fn decode_limited(bytes: &[u8]) -> Result<DynamicImage, ThumbnailError> {
    let format = image::guess_format(bytes).map_err(|_| ThumbnailError::NotAnImage)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        return Err(ThumbnailError::NotAnImage);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decode_limits());
    // `decode` reads the header, checks the dimensions and charges the output buffer against the
    // allocation budget before any pixel buffer exists (`into_decoder` + `from_decoder` would not).
    let decoded = reader.decode();
    decoded.map_err(|e| image_error(bytes, format, e))
}

fn image_error(bytes: &[u8], format: ImageFormat, e: ImageError) -> ThumbnailError {
    match e {
        ImageError::Limits(_) => {
            // Name the size when the header can be read without limits (it allocates nothing).
            match ImageReader::with_format(Cursor::new(bytes), format).into_dimensions() {
                Ok((w, h)) if w > 0 && h > 0 => ThumbnailError::ImageTooLarge(w, h),
                _ => ThumbnailError::DecodeLimit,
            }
        }
        ImageError::Unsupported(_) => ThumbnailError::NotAnImage,
        other => ThumbnailError::Corrupt(one_line(&other.to_string())),
    }
}

/// The size that fits `width × height` into a `max_edge` square, keeping the aspect ratio, never
/// growing, never collapsing an edge to zero.
pub fn fitted_size(width: u32, height: u32, max_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max_edge {
        return (width, height);
    }
    let scale = |edge: u32| -> u32 {
        let scaled =
            (u64::from(edge) * u64::from(max_edge) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(max_edge).clamp(1, max_edge)
    };
    (scale(width), scale(height))
}

fn fit(image: DynamicImage, max_edge: u32) -> Thumbnail {
    let (w, h) = fitted_size(image.width(), image.height(), max_edge);
    // Resize in the decoded colour type first, so a big RGB frame is never widened to RGBA at full size.
    let image = if (w, h) == (image.width(), image.height()) {
        image
    } else {
        image.resize_exact(w, h, image::imageops::FilterType::Triangle)
    };
    let rgba = image.into_rgba8();
    Thumbnail {
        width: rgba.width(),
        height: rgba.height(),
        rgba: rgba.into_raw(),
    }
}

/// A directory of downscaled thumbnails as PNG, named by a stable hash of (URL, max edge), kept under
/// a byte limit by evicting the least recently used (by mtime; reads touch). Every I/O failure here is
/// logged and treated as a miss: the cache may never make a load fail.
#[derive(Debug, Clone)]
struct DiskCache {
    dir: PathBuf,
    limit: u64,
}

impl DiskCache {
    fn path_for(&self, url: &str, max_edge: u32) -> PathBuf {
        self.dir.join(cache_file_name(url, max_edge))
    }

    async fn get(&self, url: &str, max_edge: u32) -> Option<Thumbnail> {
        let path = self.path_for(url, max_edge);
        tokio::task::spawn_blocking(move || read_cached(&path, max_edge))
            .await
            .ok()
            .flatten()
    }

    async fn put(&self, url: &str, max_edge: u32, thumb: &Thumbnail) {
        let cache = self.clone();
        let path = self.path_for(url, max_edge);
        let thumb = thumb.clone();
        let written = tokio::task::spawn_blocking(move || {
            if let Err(e) = write_cached(&cache.dir, &path, &thumb) {
                tracing::warn!(dir = %cache.dir.display(), error = %e, "thumbnail cache: could not write");
                return;
            }
            if let Err(e) = evict(&cache.dir, cache.limit) {
                tracing::warn!(dir = %cache.dir.display(), error = %e, "thumbnail cache: could not evict");
            }
        })
        .await;
        if written.is_err() {
            tracing::warn!("thumbnail cache: the writer stopped unexpectedly");
        }
    }
}

/// 96 bits of two different CRCs (crc-fast is already a dependency, and unlike `DefaultHasher` its
/// output is fixed forever), so distinct URLs practically never share a file.
fn cache_file_name(url: &str, max_edge: u32) -> String {
    let input = format!("{max_edge}\n{url}");
    let a = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, input.as_bytes());
    let b = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, input.as_bytes());
    format!("{a:016x}{b:08x}.png")
}

fn read_cached(path: &Path, max_edge: u32) -> Option<Thumbnail> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "thumbnail cache: could not read");
            return None;
        }
    };
    // Same limits as downloads: the directory is ours, but its files are only as trustworthy as the disk.
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), ImageFormat::Png);
    reader.limits(decode_limits());
    let valid = reader.decode().ok().filter(|img| {
        let (w, h) = (img.width(), img.height());
        w > 0 && h > 0 && w.max(h) <= max_edge
    });
    let Some(image) = valid else {
        // Truncated by a crash, or not ours: drop it so the next load refetches and rewrites it.
        tracing::warn!(path = %path.display(), "thumbnail cache: dropping a damaged file");
        if let Err(e) = std::fs::remove_file(path) {
            tracing::warn!(path = %path.display(), error = %e, "thumbnail cache: could not delete");
        }
        return None;
    };
    touch(path);
    let rgba = image.into_rgba8();
    Some(Thumbnail {
        width: rgba.width(),
        height: rgba.height(),
        rgba: rgba.into_raw(),
    })
}

/// Marks a file as just used, for LRU eviction.
fn touch(path: &Path) {
    let touched = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = touched {
        tracing::debug!(path = %path.display(), error = %e, "thumbnail cache: could not touch");
    }
}

fn write_cached(dir: &Path, path: &Path, thumb: &Thumbnail) -> Result<(), String> {
    let image = image::RgbaImage::from_raw(thumb.width, thumb.height, thumb.rgba.clone())
        .ok_or("pixel buffer does not match its size")?;
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    // Readable by the user only, like the journal: it shows which jobs this user looked at. The files
    // themselves are made 0600 by tempfile.
    crate::aws::upload::journal::create_private_dir(dir).map_err(|e| e.to_string())?;
    // Written aside and renamed into place, so a reader never sees half a file.
    let mut tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut tmp, &png).map_err(|e| e.to_string())?;
    tmp.persist(path).map_err(|e| e.error.to_string())?;
    Ok(())
}

/// When the files in `dir` total more than `limit` bytes, deletes the least recently used until they
/// are under [`EVICT_TO_PERCENT`] of it.
fn evict(dir: &Path, limit: u64) -> std::io::Result<()> {
    let mut files = Vec::new();
    let mut total: u64 = 0;
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        total += meta.len();
        files.push((modified, meta.len(), entry.path()));
    }
    if total <= limit {
        return Ok(());
    }
    let target = limit / 100 * EVICT_TO_PERCENT + limit % 100 * EVICT_TO_PERCENT / 100;
    files.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.cmp(&b.2)));
    for (_, len, path) in files {
        if total <= target {
            break;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => total -= len,
            // Someone else (another load evicting at the same time) got there first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => total -= len,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "thumbnail cache: could not evict");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe(url: &str) -> SafeUrl {
        SafeUrl::from_contract(url).unwrap()
    }

    #[test]
    fn s3_key_is_the_raw_path() {
        assert_eq!(
            s3_key(&safe("https://cf.example/g/thumbnails/Año 100%+#.jpg")).as_deref(),
            Some("g/thumbnails/Año 100%+#.jpg")
        );
        assert_eq!(s3_key(&safe("https://cf.example/")), None);
        assert_eq!(s3_key(&safe("https://cf.example")), None);
    }

    #[test]
    fn only_the_stacks_cloudfront_domain_is_served() {
        let cdn = CdnOrigin::parse("d1q2w3e4r5t6y7.cloudfront.net");
        assert!(cdn.serves(&safe("https://d1q2w3e4r5t6y7.cloudfront.net/g/t/x.jpg")));
        assert!(cdn.serves(&safe("https://D1Q2W3E4R5T6Y7.cloudfront.net:443/x.jpg")));
        for other in [
            "https://d1q2w3e4r5t6y7.cloudfront.net:8443/x.jpg",
            "https://evil.example/x.jpg",
            "https://d1q2w3e4r5t6y7.cloudfront.net.evil.example/x.jpg",
            "http://127.0.0.1/x.jpg",
        ] {
            assert!(!cdn.serves(&safe(other)), "{other}");
        }
        // The local stack: host and port, over http.
        let local = CdnOrigin::parse("127.0.0.1:8123");
        assert!(local.serves(&safe("http://127.0.0.1:8123/g/x.jpg")));
        assert!(!local.serves(&safe("http://127.0.0.1:8124/g/x.jpg")));
        assert!(!local.serves(&safe("http://localhost:8123/g/x.jpg")));
        // A domain typed with its scheme or a trailing slash still means the domain.
        assert!(
            CdnOrigin::parse("https://d1.cloudfront.net/")
                .serves(&safe("https://d1.cloudfront.net/x"))
        );
        // Not a domain at all: nothing matches.
        assert!(
            !CdnOrigin::parse("d1.cloudfront.net/path")
                .serves(&safe("https://d1.cloudfront.net/x"))
        );
        assert!(!CdnOrigin::parse("").serves(&safe("https://d1.cloudfront.net/x")));
    }

    #[test]
    fn redact_drops_the_query() {
        assert_eq!(
            redact(&safe("https://cf.example/a b.jpg?X-Amz-Signature=abc")),
            "https://cf.example/a%20b.jpg"
        );
    }

    #[test]
    fn fitted_size_keeps_aspect_and_never_grows() {
        assert_eq!(fitted_size(1280, 720, 96), (96, 54));
        assert_eq!(fitted_size(720, 1280, 96), (54, 96));
        assert_eq!(fitted_size(50, 30, 96), (50, 30));
        assert_eq!(fitted_size(10000, 1, 96), (96, 1));
        assert_eq!(fitted_size(16384, 16384, 640), (640, 640));
    }

    fn png_header(width: u32, height: u32) -> Vec<u8> {
        // Signature and an IHDR chunk (RGBA, 8 bits) with a correct CRC, then an empty IDAT and IEND:
        // a decoder that trusted the header would allocate width × height × 4 bytes.
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            out.extend((data.len() as u32).to_be_bytes());
            let mut crc_input = kind.to_vec();
            crc_input.extend(data);
            out.extend(&crc_input);
            let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, &crc_input) as u32;
            out.extend(crc.to_be_bytes());
        };
        let mut ihdr = Vec::new();
        ihdr.extend(width.to_be_bytes());
        ihdr.extend(height.to_be_bytes());
        ihdr.extend([8, 6, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        chunk(b"IDAT", &[]);
        chunk(b"IEND", &[]);
        out
    }

    #[test]
    fn an_image_bomb_is_refused_from_its_header() {
        let started = std::time::Instant::now();
        let err = decode_and_fit(&png_header(100_000, 100_000), 96).unwrap_err();
        assert_eq!(err, ThumbnailError::ImageTooLarge(100_000, 100_000));
        assert_eq!(err.to_string(), "image too large (100000×100000 pixels)");
        // Within the dimension limit but over the allocation budget (16384² × 4 = 1 GiB).
        let err = decode_and_fit(&png_header(16384, 16384), 96).unwrap_err();
        assert_eq!(err, ThumbnailError::ImageTooLarge(16384, 16384));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn non_images_and_damaged_images_are_named() {
        assert_eq!(
            decode_and_fit(b"<html>no such thing</html>", 96).unwrap_err(),
            ThumbnailError::NotAnImage
        );
        assert_eq!(
            decode_and_fit(b"", 96).unwrap_err(),
            ThumbnailError::NotAnImage
        );
        let mut png = encode_png(40, 20);
        png.truncate(png.len() / 2);
        assert!(matches!(
            decode_and_fit(&png, 96).unwrap_err(),
            ThumbnailError::Corrupt(_)
        ));
    }

    fn encode_png(w: u32, h: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 7, 255]));
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn small_images_are_not_upscaled() {
        let thumb = decode_and_fit(&encode_png(40, 20), 96).unwrap();
        assert_eq!((thumb.width, thumb.height), (40, 20));
        assert_eq!(thumb.rgba.len(), 40 * 20 * 4);
        assert_eq!(&thumb.rgba[..4], &[0, 0, 7, 255]);
        let thumb = decode_and_fit(&encode_png(200, 100), 96).unwrap();
        assert_eq!((thumb.width, thumb.height), (96, 48));
    }

    #[test]
    fn download_cap_counts_what_arrives() {
        let mut body = Vec::new();
        let chunk = vec![0u8; MIB as usize];
        for _ in 0..20 {
            push_capped(&mut body, &chunk).unwrap();
        }
        assert_eq!(
            push_capped(&mut body, &[0]),
            Err(ThumbnailError::DownloadTooLarge)
        );
        assert_eq!(body.len() as u64, MAX_DOWNLOAD_BYTES);
        assert_eq!(
            ThumbnailError::DownloadTooLarge.to_string(),
            "download larger than 20 MiB"
        );
    }

    fn thumb(w: u32, h: u32) -> Thumbnail {
        Thumbnail {
            width: w,
            height: h,
            rgba: (0..w * h * 4).map(|i| (i * 31 % 251) as u8).collect(),
        }
    }

    fn set_age(path: &Path, seconds_ago: u64) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(seconds_ago))
            .unwrap();
    }

    fn dir_size(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    }

    #[tokio::test]
    async fn cache_round_trips_and_drops_damaged_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache {
            dir: dir.path().join("thumbs"),
            limit: 10 * MIB,
        };
        assert_eq!(cache.get("https://a/x.jpg", 96).await, None);
        let t = thumb(30, 17);
        cache.put("https://a/x.jpg", 96, &t).await;
        assert_eq!(cache.get("https://a/x.jpg", 96).await, Some(t.clone()));
        // Private to the user, like the journal.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("thumbs")), 0o700);
        assert_eq!(mode(&cache.path_for("https://a/x.jpg", 96)), 0o600);
        // Another size or URL is another entry.
        assert_eq!(cache.get("https://a/x.jpg", 640).await, None);
        assert_eq!(cache.get("https://a/y.jpg", 96).await, None);
        // A file bigger than the size asked for is not ours: dropped.
        assert_eq!(cache.get("https://a/x.jpg", 16).await, None);

        let path = cache.path_for("https://a/x.jpg", 96);
        std::fs::write(&path, b"\x89PNG\r\n\x1a\ngarbage").unwrap();
        assert_eq!(cache.get("https://a/x.jpg", 96).await, None);
        assert!(!path.exists(), "a damaged file is deleted");
    }

    #[tokio::test]
    async fn cache_evicts_least_recently_used_down_to_80_percent() {
        let dir = tempfile::tempdir().unwrap();
        let t = thumb(64, 64); // noisy pixels: a few KiB of PNG each
        let probe = DiskCache {
            dir: dir.path().join("probe"),
            limit: u64::MAX,
        };
        probe.put("u", 96, &t).await;
        let one = dir_size(&probe.dir);
        assert!(one > 1000, "{one}");

        // Room for 10 files; the 11th write brings it down to at most 8.
        let cache = DiskCache {
            dir: dir.path().join("thumbs"),
            limit: one * 10 + one / 2,
        };
        let urls: Vec<String> = (0..10).map(|i| format!("https://a/{i}.jpg")).collect();
        for (i, url) in urls.iter().enumerate() {
            cache.put(url, 96, &t).await;
            set_age(&cache.path_for(url, 96), 1000 - i as u64 * 10);
        }
        assert_eq!(std::fs::read_dir(&cache.dir).unwrap().count(), 10);
        // Reading the oldest makes it the newest.
        assert!(cache.get(&urls[0], 96).await.is_some());

        cache.put("https://a/new.jpg", 96, &t).await;
        let size = dir_size(&cache.dir);
        assert!(
            size <= cache.limit * 8 / 10,
            "{size} > 80% of {}",
            cache.limit
        );
        let kept = |url: &str| cache.path_for(url, 96).exists();
        assert!(kept(&urls[0]), "recently read survives");
        assert!(kept("https://a/new.jpg"), "just written survives");
        assert!(
            !kept(&urls[1]) && !kept(&urls[2]) && !kept(&urls[3]),
            "oldest go first"
        );
        assert!(kept(&urls[9]));
    }

    #[tokio::test]
    async fn an_unwritable_cache_does_not_fail_loads() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the directory should be: every cache operation fails.
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, b"x").unwrap();
        let cache = DiskCache {
            dir: blocker.clone(),
            limit: MIB,
        };
        cache.put("https://a/x.jpg", 96, &thumb(4, 4)).await;
        assert_eq!(cache.get("https://a/x.jpg", 96).await, None);
    }
}
