//! A packaged configuration put into the group's bucket: every file of its scratch folder under the
//! endpoint's key prefix, a few uploads at a time, each with the Content-Type of its extension.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::MediaPackageError;
use crate::aws::sdk_error;

/// Uploads in flight at once: enough to hide the emulator's latency, few enough for a laptop.
const UPLOADS_IN_FLIGHT: usize = 8;

/// The Content-Type stored with a packaged file, by its extension.
pub(super) fn content_type(key: &str) -> &'static str {
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("ts") => "video/mp2t",
        Some("mpd") => "application/dash+xml",
        Some("m4s") => "video/iso.segment",
        Some("mp4") => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// The regular files of `dir` (the packager writes no sub-folders), sorted by name.
async fn files_in(dir: &Path) -> Result<Vec<PathBuf>, MediaPackageError> {
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .map_err(MediaPackageError::Scratch)?;
    let mut files = Vec::new();
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(MediaPackageError::Scratch)?
    {
        if entry
            .file_type()
            .await
            .map_err(MediaPackageError::Scratch)?
            .is_file()
        {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Puts every file of `dir` into `bucket` as `<prefix>/<file name>`; returns how many.
pub(super) async fn upload_folder(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    dir: &Path,
) -> Result<usize, MediaPackageError> {
    let files = files_in(dir).await?;
    let count = files.len();
    let gate = Arc::new(Semaphore::new(UPLOADS_IN_FLIGHT));
    let mut uploads = JoinSet::new();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let key = format!("{prefix}/{name}");
        let (s3, bucket, gate) = (s3.clone(), bucket.to_owned(), gate.clone());
        uploads.spawn(async move {
            let fail = |message: String| MediaPackageError::Upload {
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
    while let Some(result) = uploads.join_next().await {
        result.map_err(|e| MediaPackageError::Upload {
            bucket: bucket.to_owned(),
            key: format!("{prefix}/…"),
            message: format!("the upload task ended abnormally: {e}"),
        })??;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packaged_files_get_their_types() {
        assert_eq!(
            content_type("out/v1/a/b/c/index.m3u8"),
            "application/vnd.apple.mpegurl"
        );
        assert_eq!(content_type("out/v1/a/b/c/index_0_1.TS"), "video/mp2t");
        assert_eq!(
            content_type("out/v1/a/b/c/index.mpd"),
            "application/dash+xml"
        );
        assert_eq!(
            content_type("out/v1/a/b/c/index_0_1.m4s"),
            "video/iso.segment"
        );
        assert_eq!(content_type("out/v1/a/b/c/index_0_init.mp4"), "video/mp4");
        assert_eq!(
            content_type("out/v1/a/b/c/noext"),
            "application/octet-stream"
        );
    }

    #[tokio::test]
    async fn only_files_are_listed_in_name_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["b.ts", "a.m3u8"] {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let files = files_in(dir.path()).await.expect("listed");
        let names: Vec<_> = files
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.m3u8", "b.ts"]);
    }
}
