//! Thumbnail fetching (`vodesk::aws::thumbnails`) end to end against the local stack's "CloudFront" and
//! the moto emulator: contract URLs with raw spaces and non-ASCII fetched and downscaled, the disk
//! cache, non-images, missing keys, and the S3 fallback when the distribution cannot be used.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use image::{ImageFormat, RgbImage};

use vodesk::aws::local_stack::cdn::{CdnListener, LocalCdn};
use vodesk::aws::thumbnails::{ThumbnailError, ThumbnailFetcher};

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

fn fetcher(cache: Option<&std::path::Path>) -> ThumbnailFetcher {
    ThumbnailFetcher::new(
        reqwest::Client::new(),
        cache.map(|p| p.to_path_buf()),
        10 * 1024 * 1024,
    )
}

#[tokio::test]
async fn a_contract_url_is_fetched_downscaled_and_cached() {
    let stack = stack().await;
    stack.put(KEY, frame_jpeg()).await;
    let cache = tempfile::tempdir().expect("a temp dir");
    let fetcher = fetcher(Some(cache.path()));
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
    let err = self::fetcher(None).load(&url, 96).await.unwrap_err();
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
    let err = fetcher(None).load(&stack.url(key), 96).await.unwrap_err();
    assert_eq!(err, ThumbnailError::NotAnImage);
    assert_eq!(err.to_string(), "not an image");
}

#[tokio::test]
async fn a_missing_key_is_404_even_with_the_s3_fallback() {
    let stack = stack().await;
    let fetcher = fetcher(None).with_s3_fallback(stack.s3.clone(), BUCKET.to_owned());
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
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let url = format!("http://127.0.0.1:9/{key}");

    let err = fetcher(None).load(&url, 96).await.unwrap_err();
    assert!(
        matches!(err, ThumbnailError::Unreachable(_)),
        "without a fallback: {err:?}"
    );

    let fetcher = fetcher(None).with_s3_fallback(stack.s3.clone(), BUCKET.to_owned());
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
    let thumb = fetcher(None)
        .load(&stack.url(key), 200)
        .await
        .expect("load through the CDN");
    assert_eq!((thumb.width, thumb.height), (200, 113));
}
