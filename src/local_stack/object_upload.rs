//! Putting local files into a bucket of the emulator, as MediaConvert and MediaPackage write their
//! outputs: each object with the Content-Type of its extension ([`content_type`]), a few uploads at a
//! time ([`put_files`]). The pipeline's outputs and the local MediaPackage's packages both go through
//! here.

use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::sdk_error;

/// Uploads in flight at once: enough to hide the emulator's latency, few enough for a laptop.
const UPLOADS_IN_FLIGHT: usize = 8;

/// The Content-Type S3 stores with an output, by its key's extension.
pub fn content_type(key: &str) -> &'static str {
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("ts") => "video/mp2t",
        Some("mpd") => "application/dash+xml",
        Some("mp4") => "video/mp4",
        Some("m4s") => "video/iso.segment",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    }
}

/// Why a file did not get into the bucket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not write s3://{bucket}/{key}: {message}")]
pub(crate) struct PutFailure {
    pub bucket: String,
    pub key: String,
    pub message: String,
}

/// Puts each `(key, local file)` into `bucket`, at most [`UPLOADS_IN_FLIGHT`] at once; the first
/// failure is returned once the uploads in flight have ended.
pub(crate) async fn put_files(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    files: Vec<(String, PathBuf)>,
) -> Result<(), PutFailure> {
    let gate = Arc::new(Semaphore::new(UPLOADS_IN_FLIGHT));
    let mut uploads = JoinSet::new();
    for (key, path) in files {
        let (s3, bucket, gate) = (s3.clone(), bucket.to_owned(), gate.clone());
        uploads.spawn(async move {
            let fail = |message: String| PutFailure {
                bucket: bucket.clone(),
                key: key.clone(),
                message,
            };
            // The semaphore is never closed, so this only waits.
            let _permit = gate.acquire().await.map_err(|e| fail(e.to_string()))?;
            let body = ByteStream::from_path(&path)
                .await
                .map_err(|e| fail(format!("could not read {}: {e}", path.display())))?;
            s3.put_object()
                .bucket(&bucket)
                .key(&key)
                .content_type(content_type(&key))
                .body(body)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail(sdk_error::describe(&e)))
        });
    }
    let mut first_failure = None;
    while let Some(result) = uploads.join_next().await {
        let outcome = result.unwrap_or_else(|e| {
            Err(PutFailure {
                bucket: bucket.to_owned(),
                key: String::new(),
                message: format!("the upload task ended abnormally: {e}"),
            })
        });
        if let Err(failure) = outcome {
            first_failure.get_or_insert(failure);
        }
    }
    first_failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_for_outputs() {
        assert_eq!(
            content_type("g/hls/a.m3u8"),
            "application/vnd.apple.mpegurl"
        );
        assert_eq!(content_type("g/hls/a_00001.ts"), "video/mp2t");
        assert_eq!(
            content_type("g/thumbnails/a_thumb.0000000.jpg"),
            "image/jpeg"
        );
        assert_eq!(content_type("g/dash/a.mpd"), "application/dash+xml");
        assert_eq!(
            content_type("out/v1/x/y/z/index_1.m4s"),
            "video/iso.segment"
        );
        assert_eq!(content_type("g/mss/a.ismv"), "application/octet-stream");
    }
}
