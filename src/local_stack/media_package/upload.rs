//! A packaged configuration put into the group's bucket: every file of its scratch folder under the
//! endpoint's key prefix (through `object_upload`, as the pipeline's outputs).

use std::path::{Path, PathBuf};

use super::MediaPackageError;
use crate::local_stack::object_upload::put_files;

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
    let files: Vec<(String, PathBuf)> = files_in(dir)
        .await?
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (format!("{prefix}/{name}"), path)
        })
        .collect();
    let count = files.len();
    put_files(s3, bucket, files)
        .await
        .map_err(|failure| MediaPackageError::Upload {
            bucket: failure.bucket,
            key: failure.key,
            message: failure.message,
        })?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

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
