//! The local stack's "MediaPackage VOD" (contract §4 "Complete with MediaPackage", §7 "MediaPackage
//! VOD"), for stacks deployed with `EnableMediaPackage=Yes`.
//!
//! At stack creation the solution's custom resource makes a packaging group `<stack>-packaging-group`
//! with four packaging configurations `packaging-config-<16hex>-{hls,dash,mss,cmaf}` (manifest name
//! `index`, 6 s segments, CMAF with HLS manifests); [`PackagingGroup::create`] is that, plus the
//! emulator bucket that holds what the group serves (`<stack>-mediapackage-<12 random>`), which the
//! local CloudFront serves under `/out/` as the real distribution's `out/*` behaviour does.
//!
//! Per workflow, after output-validate, the solution creates an asset from the job's `hlsPlaylist`
//! (`source/media-package-assets/index.js`); [`PackagingGroup::create_asset`] is that. Where the real
//! service re-packages the HLS outputs, this one stream-copies the encode's renditions (the MP4 files
//! the local "MediaConvert" wrote, still on disk) with ffmpeg into HLS (TS segments), DASH and CMAF
//! (fragmented MP4 under an HLS master), uploads them under
//! `out/v1/<asset part>/<configuration part>/<endpoint part>/` (each part 32 hex: per asset, per
//! configuration, per endpoint) and answers the egress endpoints as the Lambda stores them: keyed by
//! the upper-cased last part of the configuration id, the host replaced by the CloudFront domain.
//!
//! Deliberate differences from the real service:
//! - **MSS is listed but not packaged**: its endpoint `…/index.ism/Manifest` is in the answer, as
//!   the solution records it, but Smooth Streaming needs an IIS-style origin that answers fragment
//!   requests by time, which a bucket behind a plain file server cannot; the local CloudFront
//!   answers it 404.
//! - The asset is playable when `create_asset` returns (the real egress status goes QUEUED →
//!   PLAYABLE after the Lambda has returned).
//! - The HLS and CMAF masters carry no `EXT-X-PROGRAM-DATE-TIME` tags and the DASH manifest is
//!   ffmpeg's, without the configuration's `minBufferTime` of 18 s.
//! - A failure part-way leaves what was already uploaded in the bucket (nothing refers to it).
//!
//! This file holds the group, the asset and their errors. The parts: `ids` (configuration ids,
//! random hex ids, the bucket name, endpoint keys and URLs), `package` (the ffmpeg stream copies)
//! and `upload` (a packaged folder put into the bucket).

mod ids;
mod package;
mod upload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use super::workflow::Rendition;
use crate::aws::connection::AwsClients;
use crate::aws::sdk_error;
use ids::{
    EgressEndpoint, bucket_name, configuration_id, convert_endpoints, endpoint_prefix, random_hex,
};
use package::{PASS_TIME_LIMIT, package_args, run_packager};
use upload::upload_folder;

pub use ids::{PackagingKind, endpoint_key, is_hex32};

#[derive(Debug, thiserror::Error)]
pub enum MediaPackageError {
    #[error("could not create the local MediaPackage bucket {bucket} in the emulator: {message}")]
    CreateBucket { bucket: String, message: String },
    #[error(
        "the asset has no renditions to package: the encode must write at least one HLS rendition first"
    )]
    NoRenditions,
    #[error(
        "the rendition {} cannot be read ({source}); it must still be on disk when the asset is created",
        path.display()
    )]
    RenditionUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the egress URL scheme {0:?} is neither http nor https")]
    BadScheme(String),
    #[error(
        "the CloudFront domain for the egress URLs is empty: pass the stack's CloudFrontDomainName"
    )]
    NoCloudFrontDomain,
    #[error(
        "ffmpeg is not installed or cannot start ({0}); install it with `apt-get install ffmpeg`"
    )]
    FfmpegMissing(String),
    /// ffmpeg ran and failed: its own last words.
    #[error("packaging the asset as {format} failed: {message}")]
    Packaging {
        format: &'static str,
        message: String,
    },
    #[error(
        "packaging the asset as {format} took longer than {} min and was stopped",
        .limit.as_secs() / 60
    )]
    TimedOut {
        format: &'static str,
        limit: Duration,
    },
    #[error("could not prepare the packager's scratch files: {0}")]
    Scratch(std::io::Error),
    #[error("could not write s3://{bucket}/{key}: {message}")]
    Upload {
        bucket: String,
        key: String,
        message: String,
    },
}

/// One packaging configuration of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagingConfiguration {
    /// `packaging-config-<16hex>-<kind>`.
    pub id: String,
    pub kind: PackagingKind,
    /// This configuration's part of every egress path (32 hex), the same for all its assets.
    pub path_part: String,
}

/// The stack's packaging group: made once per local stack, shared by every workflow.
#[derive(Debug, Clone)]
pub struct PackagingGroup {
    id: String,
    domain_name: String,
    configurations: Vec<PackagingConfiguration>,
    bucket: String,
}

/// One encoded rendition: an MP4 file with one H.264 and one AAC track, and its frame size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionFile {
    pub path: PathBuf,
    pub width: u32,
    pub height: u32,
}

impl RenditionFile {
    /// The renditions the local encode wrote for `ladder` inside its `work_dir`
    /// (`<work_dir>/enc/r<i>.mp4`, one per HLS ladder rung, in ladder order).
    pub(crate) fn from_ladder(work_dir: &Path, ladder: &[Rendition]) -> Vec<RenditionFile> {
        ladder
            .iter()
            .enumerate()
            .map(|(i, rung)| RenditionFile {
                path: work_dir.join("enc").join(format!("r{i}.mp4")),
                width: rung.width,
                height: rung.height,
            })
            .collect()
    }
}

/// What the pipeline has after an encode, for one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetInput {
    /// The workflow's guid (for the logs: the asset's ids are random, as the Lambda's are).
    pub guid: String,
    /// Each rendition must hold an audio track; the tallest one's becomes the asset's audio.
    pub renditions: Vec<RenditionFile>,
    /// The stack's `CloudFrontDomainName` (`127.0.0.1:PORT` locally), no scheme.
    pub cloudfront_domain: String,
    /// `http` for the local CloudFront, `https` as on AWS.
    pub scheme: String,
}

impl AssetInput {
    /// An input for the local CloudFront, which is plain HTTP.
    pub fn local(guid: &str, renditions: Vec<RenditionFile>, cloudfront_domain: &str) -> Self {
        AssetInput {
            guid: guid.to_owned(),
            renditions,
            cloudfront_domain: cloudfront_domain.to_owned(),
            scheme: "http".to_owned(),
        }
    }
}

/// A created asset, as the Lambda adds it to the workflow's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// `mediaPackageResourceId`: 32 lower-case hex digits (also the asset's id).
    pub resource_id: String,
    /// `egressEndpoints`: `HLS`, `DASH`, `MSS`, `CMAF` → `<scheme>://<cf>/out/v1/…/index.*`.
    pub egress_endpoints: BTreeMap<String, String>,
}

impl PackagingGroup {
    /// Creates the group for `stack_name`: its four configurations and its bucket in the emulator.
    pub async fn create(
        clients: &AwsClients,
        stack_name: &str,
    ) -> Result<PackagingGroup, MediaPackageError> {
        let bucket = bucket_name(stack_name);
        let mut request = clients.s3.create_bucket().bucket(&bucket);
        // us-east-1 takes no location constraint; every other region needs its own.
        if !clients.region.is_empty() && clients.region != "us-east-1" {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(clients.region.as_str()))
                    .build(),
            );
        }
        request
            .send()
            .await
            .map_err(|e| MediaPackageError::CreateBucket {
                bucket: bucket.clone(),
                message: sdk_error::describe(&e),
            })?;
        let part = random_hex::<8>();
        let configurations = PackagingKind::ALL
            .iter()
            .map(|kind| PackagingConfiguration {
                id: configuration_id(&part, *kind),
                kind: *kind,
                path_part: random_hex::<16>(),
            })
            .collect();
        let region = if clients.region.is_empty() {
            "us-east-1"
        } else {
            clients.region.as_str()
        };
        let group = PackagingGroup {
            id: format!("{stack_name}-packaging-group"),
            // The shape of the real group's DomainName; never resolved, only replaced (convertEndpoints).
            domain_name: format!(
                "{}.egress.mediapackage-vod.{region}.amazonaws.com",
                random_hex::<8>()
            ),
            configurations,
            bucket,
        };
        tracing::info!(group = %group.id, bucket = %group.bucket, "local MediaPackage packaging group created");
        Ok(group)
    }

    /// `<stack>-packaging-group`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The bucket the local CloudFront serves `/out/` from.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The group's egress host, as MediaPackage would name it (replaced by the CloudFront domain in
    /// every URL handed out).
    pub fn domain_name(&self) -> &str {
        &self.domain_name
    }

    /// The four configurations, in the solution's order: HLS, DASH, MSS, CMAF.
    pub fn configurations(&self) -> &[PackagingConfiguration] {
        &self.configurations
    }

    /// Packages `input`'s renditions as every configuration (MSS excepted, see the module doc),
    /// uploads them into the group's bucket, and answers the asset's id and egress endpoints.
    pub async fn create_asset(
        &self,
        clients: &AwsClients,
        input: AssetInput,
    ) -> Result<Asset, MediaPackageError> {
        if input.scheme != "http" && input.scheme != "https" {
            return Err(MediaPackageError::BadScheme(input.scheme));
        }
        if input.cloudfront_domain.is_empty() {
            return Err(MediaPackageError::NoCloudFrontDomain);
        }
        let mut renditions = input.renditions;
        if renditions.is_empty() {
            return Err(MediaPackageError::NoRenditions);
        }
        // Lowest first, so the master lists the ladder upwards and the tallest gives the audio.
        renditions.sort_by_key(|r| (r.height, r.width));
        let mut paths = Vec::with_capacity(renditions.len());
        for rendition in &renditions {
            // Absolute, because the packager runs in its own folder; this also checks it exists.
            let path = tokio::fs::canonicalize(&rendition.path)
                .await
                .map_err(|source| MediaPackageError::RenditionUnreadable {
                    path: rendition.path.clone(),
                    source,
                })?;
            paths.push(path);
        }
        let resource_id = random_hex::<16>();
        let asset_part = random_hex::<16>();
        let scratch = tempfile::Builder::new()
            .prefix("vodesk-mediapackage-")
            .tempdir()
            .map_err(MediaPackageError::Scratch)?;
        let packaged = self
            .package_all(clients, &paths, scratch.path(), &asset_part)
            .await;
        // Removing the scratch files blocks; off the async threads, and a failure only leaves litter.
        let removed = tokio::task::spawn_blocking(move || scratch.close()).await;
        if let Ok(Err(err)) | Err(err) = removed.map_err(std::io::Error::other) {
            tracing::debug!("local MediaPackage: removing the scratch folder failed: {err}");
        }
        let endpoints = packaged?;
        let asset = Asset {
            egress_endpoints: convert_endpoints(
                &endpoints,
                &self.domain_name,
                &input.cloudfront_domain,
                &input.scheme,
            ),
            resource_id,
        };
        tracing::info!(guid = %input.guid, resource_id = %asset.resource_id, "local MediaPackage asset created");
        Ok(asset)
    }

    /// Packages and uploads every configuration; answers the egress endpoints as MediaPackage does.
    async fn package_all(
        &self,
        clients: &AwsClients,
        renditions: &[PathBuf],
        scratch: &Path,
        asset_part: &str,
    ) -> Result<Vec<EgressEndpoint>, MediaPackageError> {
        let mut endpoints = Vec::with_capacity(self.configurations.len());
        for config in &self.configurations {
            let prefix = endpoint_prefix(asset_part, &config.path_part, &random_hex::<16>());
            if let Some(args) = package_args(config.kind, renditions) {
                let out = scratch.join(config.kind.suffix());
                tokio::fs::create_dir(&out)
                    .await
                    .map_err(MediaPackageError::Scratch)?;
                run_packager(config.kind, &args, &out, PASS_TIME_LIMIT).await?;
                let count = upload_folder(&clients.s3, &self.bucket, &prefix, &out).await?;
                tracing::debug!(configuration = %config.id, count, %prefix, "local MediaPackage: packaged");
            }
            endpoints.push(EgressEndpoint {
                packaging_configuration_id: config.id.clone(),
                url: format!(
                    "https://{}/{prefix}/{}",
                    self.domain_name,
                    config.kind.manifest()
                ),
            });
        }
        Ok(endpoints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_names_the_encodes_renditions() {
        let ladder = crate::local_stack::workflow::hls_ladder(720);
        let files = RenditionFile::from_ladder(Path::new("/w"), ladder);
        assert_eq!(files.len(), ladder.len());
        assert_eq!(files[0].path, Path::new("/w/enc/r0.mp4"));
        let top = files.last().expect("a rung");
        assert_eq!((top.width, top.height), (1280, 720));
        assert_eq!(
            top.path,
            Path::new("/w/enc").join(format!("r{}.mp4", ladder.len() - 1))
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        let err = MediaPackageError::TimedOut {
            format: "dash",
            limit: Duration::from_secs(3600),
        };
        assert_eq!(
            err.to_string(),
            "packaging the asset as dash took longer than 60 min and was stopped"
        );
        assert!(
            MediaPackageError::NoCloudFrontDomain
                .to_string()
                .contains("CloudFrontDomainName")
        );
    }
}
