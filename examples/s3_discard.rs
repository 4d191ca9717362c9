//! A discard S3 endpoint for upload benchmarks: it speaks enough S3 (on the `s3s` framework) for
//! `vodesk upload` and `aws s3 cp`, reads every byte the client sends and throws it away, so that neither
//! a disk nor an emulator is what a benchmark measures.
//!
//! ```sh
//! cargo build --release --example s3_discard
//! target/release/examples/s3_discard --port 0 --exit-on-stdin-eof
//! {"endpoint":"http://127.0.0.1:41234"}
//! curl http://127.0.0.1:41234/__stats
//! {"completed_uploads":0,"open_uploads":0,"put_objects":0,"received_bytes":0,"stored_part_bytes":0,"upload_parts":0}
//! ```
//!
//! What it keeps: per multipart upload, the parts received (number, size, ETag, any checksum the client
//! sent; never the bodies), and per completed object its size, ETag and checksums, so that ListParts,
//! ListMultipartUploads and HeadObject answer as S3 would. Any bucket exists.
//!
//! Credentials: SigV4 cannot be checked without the secret, so the server accepts any access key and
//! checks the signature against `--secret-key`, or, without it, against a secret equal to the access key
//! (`bench`/`bench`, `testing`/`testing`). s3s decodes aws-chunked bodies (signed, unsigned, with
//! trailing checksums) and verifies signed single-chunk payload hashes, as S3 does. Checksum values are
//! echoed, not verified: computing them here would put the server's CPU into the measurement.
//!
//! `GET /__stats` returns the running totals as JSON, so a benchmark can watch an upload's progress from
//! outside (e.g. to kill the client at 40 %).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use clap::Parser;
use futures_util::StreamExt;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::{S3Auth, SecretKey};
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, Bucket, ChecksumAlgorithm, ChecksumMode,
    ChecksumType, CommonPrefix, CompleteMultipartUploadInput, CompleteMultipartUploadOutput,
    CreateBucketInput, CreateBucketOutput, CreateMultipartUploadInput, CreateMultipartUploadOutput,
    DeleteObjectInput, DeleteObjectOutput, ETag, GetBucketLocationInput, GetBucketLocationOutput,
    HeadBucketInput, HeadBucketOutput, HeadObjectInput, HeadObjectOutput, ListBucketsInput,
    ListBucketsOutput, ListMultipartUploadsInput, ListMultipartUploadsOutput, ListObjectsV2Input,
    ListObjectsV2Output, ListPartsInput, ListPartsOutput, MultipartUpload, Object, Part,
    PutObjectInput, PutObjectOutput, StreamingBlob, Timestamp, UploadPartInput, UploadPartOutput,
};
use s3s::service::S3ServiceBuilder;
use s3s::{S3, S3Request, S3Response, S3Result, TrailingHeaders, s3_error};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// S3's smallest part size for every part but the last.
const MIN_PART_SIZE: i64 = 5 * 1024 * 1024;
/// S3's page size for ListParts, ListMultipartUploads and ListObjectsV2.
const DEFAULT_PAGE: i32 = 1000;

#[derive(Debug, Parser)]
#[command(about = "A discard S3 endpoint for upload benchmarks")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one (the endpoint is printed as JSON on stdout).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The secret every access key signs with; without it, the secret is taken to equal the access key.
    #[arg(long)]
    secret_key: Option<String>,
    /// Also stop when standard input closes, so a parent that dies never leaves a server behind.
    #[arg(long)]
    exit_on_stdin_eof: bool,
}

/// The checksums a client sent for a body (headers or aws-chunked trailers), base64 as on the wire.
#[derive(Debug, Clone, Default)]
struct Checksums {
    crc32: Option<String>,
    crc32c: Option<String>,
    crc64nvme: Option<String>,
    sha1: Option<String>,
    sha256: Option<String>,
}

impl Checksums {
    /// Trailing checksums arrive after the body; they win over nothing, never over a header.
    fn fill_from_trailers(&mut self, trailers: Option<&TrailingHeaders>) {
        let Some(map) = trailers.and_then(TrailingHeaders::take) else {
            return;
        };
        let get = |map: &HeaderMap, name: &str| {
            map.get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        self.crc32 = self
            .crc32
            .take()
            .or_else(|| get(&map, "x-amz-checksum-crc32"));
        self.crc32c = self
            .crc32c
            .take()
            .or_else(|| get(&map, "x-amz-checksum-crc32c"));
        self.crc64nvme = self
            .crc64nvme
            .take()
            .or_else(|| get(&map, "x-amz-checksum-crc64nvme"));
        self.sha1 = self
            .sha1
            .take()
            .or_else(|| get(&map, "x-amz-checksum-sha1"));
        self.sha256 = self
            .sha256
            .take()
            .or_else(|| get(&map, "x-amz-checksum-sha256"));
    }
}

#[derive(Debug, Clone)]
struct PartInfo {
    size: i64,
    e_tag: String,
    checksums: Checksums,
    last_modified: SystemTime,
}

#[derive(Debug)]
struct Upload {
    bucket: String,
    key: String,
    /// Creation order, so that uploads of one key list oldest first, as S3 lists them.
    seq: u64,
    initiated: SystemTime,
    checksum_algorithm: Option<ChecksumAlgorithm>,
    checksum_type: Option<ChecksumType>,
    parts: BTreeMap<i32, PartInfo>,
}

#[derive(Debug, Clone)]
struct ObjectInfo {
    size: i64,
    e_tag: String,
    checksums: Checksums,
    parts_count: Option<i32>,
    last_modified: SystemTime,
}

#[derive(Debug, Default)]
struct Tables {
    buckets: BTreeSet<String>,
    uploads: HashMap<String, Upload>,
    /// (bucket, key) → the last object written there.
    objects: BTreeMap<(String, String), ObjectInfo>,
}

/// What the server counts and keeps, shared by all connections.
#[derive(Debug, Default)]
struct State {
    received_bytes: AtomicU64,
    put_objects: AtomicU64,
    upload_parts: AtomicU64,
    completed_uploads: AtomicU64,
    /// Source of ETags and upload ordering: unique per process, cheap (no MD5 over the bodies).
    counter: AtomicU64,
    tables: Mutex<Tables>,
}

impl State {
    /// The tables, even after a panic elsewhere poisoned the lock: they hold no invariant a panic breaks.
    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// An ETag shaped like S3's (32 hex digits), unique per body received.
    fn e_tag(&self) -> String {
        let n = self.next();
        format!("{:016x}{:016x}", splitmix64(n), splitmix64(!n))
    }

    /// Reads the body to its end, counting every byte as it arrives (the stats show live progress).
    async fn drain(&self, body: Option<StreamingBlob>) -> S3Result<i64> {
        let Some(mut body) = body else { return Ok(0) };
        let mut size: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| s3_error!(IncompleteBody, "reading the request body: {e}"))?;
            let n = chunk.len() as u64;
            size += n;
            self.received_bytes.fetch_add(n, Ordering::Relaxed);
        }
        i64::try_from(size).map_err(|_| s3_error!(EntityTooLarge))
    }

    /// `received_bytes` counts every body byte read, including parts cut off mid-body;
    /// `stored_part_bytes` is what open multipart uploads hold (whole parts only), i.e. what a resumed
    /// upload no longer needs to send.
    fn stats_json(&self) -> String {
        let (open_uploads, stored_part_bytes) = {
            let tables = self.tables();
            let stored: i64 = tables
                .uploads
                .values()
                .flat_map(|u| u.parts.values())
                .map(|p| p.size)
                .sum();
            (tables.uploads.len(), stored)
        };
        serde_json::json!({
            "received_bytes": self.received_bytes.load(Ordering::Relaxed),
            "put_objects": self.put_objects.load(Ordering::Relaxed),
            "upload_parts": self.upload_parts.load(Ordering::Relaxed),
            "completed_uploads": self.completed_uploads.load(Ordering::Relaxed),
            "open_uploads": open_uploads,
            "stored_part_bytes": stored_part_bytes,
        })
        .to_string()
    }
}

/// A bijective 64-bit mix (SplitMix64's finalizer): distinct counters give distinct, random-looking ETags.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn no_such_upload(upload_id: &str) -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist: {upload_id}"
    )
}

/// The S3 implementation: a handle on the shared [`State`].
#[derive(Debug, Clone, Default)]
struct Discard(Arc<State>);

impl std::ops::Deref for Discard {
    type Target = State;
    fn deref(&self) -> &State {
        &self.0
    }
}

#[async_trait::async_trait]
impl S3 for Discard {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket;
        self.tables().buckets.insert(bucket.clone());
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{bucket}")),
        }))
    }

    async fn head_bucket(
        &self,
        _req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        _req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        // No constraint means us-east-1, what the benchmark signs for.
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let buckets = self
            .tables()
            .buckets
            .iter()
            .map(|name| Bucket {
                name: Some(name.clone()),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            ..Default::default()
        }))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = req.input;
        let mut checksums = Checksums {
            crc32: input.checksum_crc32,
            crc32c: input.checksum_crc32c,
            crc64nvme: input.checksum_crc64nvme,
            sha1: input.checksum_sha1,
            sha256: input.checksum_sha256,
        };
        let size = self.drain(input.body).await?;
        checksums.fill_from_trailers(req.trailing_headers.as_ref());
        self.put_objects.fetch_add(1, Ordering::Relaxed);
        let e_tag = self.e_tag();
        let info = ObjectInfo {
            size,
            e_tag: e_tag.clone(),
            checksums: checksums.clone(),
            parts_count: None,
            last_modified: SystemTime::now(),
        };
        let mut tables = self.tables();
        tables.buckets.insert(input.bucket.clone());
        tables.objects.insert((input.bucket, input.key), info);
        drop(tables);
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(e_tag)),
            checksum_crc32: checksums.crc32,
            checksum_crc32c: checksums.crc32c,
            checksum_crc64nvme: checksums.crc64nvme,
            checksum_sha1: checksums.sha1,
            checksum_sha256: checksums.sha256,
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        let upload_id = uuid::Uuid::new_v4().simple().to_string();
        let upload = Upload {
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            seq: self.next(),
            initiated: SystemTime::now(),
            checksum_algorithm: input.checksum_algorithm.clone(),
            checksum_type: input.checksum_type.clone(),
            parts: BTreeMap::new(),
        };
        self.tables().uploads.insert(upload_id.clone(), upload);
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            checksum_algorithm: input.checksum_algorithm,
            checksum_type: input.checksum_type,
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let input = req.input;
        if !(1..=10_000).contains(&input.part_number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            ));
        }
        // Refuse before reading: S3 answers NoSuchUpload for an aborted or unknown upload (or one of
        // another key).
        let known = self
            .tables()
            .uploads
            .get(&input.upload_id)
            .is_some_and(|u| u.bucket == input.bucket && u.key == input.key);
        if !known {
            return Err(no_such_upload(&input.upload_id));
        }
        let mut checksums = Checksums {
            crc32: input.checksum_crc32,
            crc32c: input.checksum_crc32c,
            crc64nvme: input.checksum_crc64nvme,
            sha1: input.checksum_sha1,
            sha256: input.checksum_sha256,
        };
        let size = self.drain(input.body).await?;
        checksums.fill_from_trailers(req.trailing_headers.as_ref());
        let e_tag = self.e_tag();
        let part = PartInfo {
            size,
            e_tag: e_tag.clone(),
            checksums: checksums.clone(),
            last_modified: SystemTime::now(),
        };
        {
            let mut tables = self.tables();
            // Aborted while the body was in flight: S3 drops the part too.
            let Some(upload) = tables.uploads.get_mut(&input.upload_id) else {
                return Err(no_such_upload(&input.upload_id));
            };
            upload.parts.insert(input.part_number, part);
        }
        self.upload_parts.fetch_add(1, Ordering::Relaxed);
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(ETag::Strong(e_tag)),
            checksum_crc32: checksums.crc32,
            checksum_crc32c: checksums.crc32c,
            checksum_crc64nvme: checksums.crc64nvme,
            checksum_sha1: checksums.sha1,
            checksum_sha256: checksums.sha256,
            ..Default::default()
        }))
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let max_parts = input
            .max_parts
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, DEFAULT_PAGE);
        let marker = input.part_number_marker.unwrap_or(0);
        let tables = self.tables();
        let upload = tables
            .uploads
            .get(&input.upload_id)
            .filter(|u| u.bucket == input.bucket && u.key == input.key)
            .ok_or_else(|| no_such_upload(&input.upload_id))?;
        let mut after = upload.parts.range(marker.saturating_add(1)..);
        let parts: Vec<Part> = after
            .by_ref()
            .take(usize::try_from(max_parts).unwrap_or(1000))
            .map(|(number, p)| Part {
                part_number: Some(*number),
                size: Some(p.size),
                e_tag: Some(ETag::Strong(p.e_tag.clone())),
                last_modified: Some(Timestamp::from(p.last_modified)),
                checksum_crc32: p.checksums.crc32.clone(),
                checksum_crc32c: p.checksums.crc32c.clone(),
                checksum_crc64nvme: p.checksums.crc64nvme.clone(),
                checksum_sha1: p.checksums.sha1.clone(),
                checksum_sha256: p.checksums.sha256.clone(),
            })
            .collect();
        let is_truncated = after.next().is_some();
        let next_marker = parts.last().and_then(|p| p.part_number);
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            checksum_algorithm: upload.checksum_algorithm.clone(),
            checksum_type: upload.checksum_type.clone(),
            max_parts: Some(max_parts),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: if is_truncated { next_marker } else { None },
            is_truncated: Some(is_truncated),
            parts: Some(parts),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = req.input;
        let listed = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        if listed.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        let mut tables = self.tables();
        let upload = tables
            .uploads
            .get(&input.upload_id)
            .filter(|u| u.bucket == input.bucket && u.key == input.key)
            .ok_or_else(|| no_such_upload(&input.upload_id))?;
        // The checks S3 makes: every listed part was received with that ETag, numbers ascend, and
        // every part but the last is at least 5 MiB.
        let mut size: i64 = 0;
        let mut previous = 0;
        for (i, listed_part) in listed.iter().enumerate() {
            let number = listed_part
                .part_number
                .ok_or_else(|| s3_error!(InvalidPart, "a listed part has no part number"))?;
            if number <= previous {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order"
                ));
            }
            previous = number;
            let received = upload
                .parts
                .get(&number)
                .ok_or_else(|| s3_error!(InvalidPart, "part {number} was not uploaded"))?;
            if let Some(e_tag) = &listed_part.e_tag
                && e_tag.value() != received.e_tag
            {
                return Err(s3_error!(
                    InvalidPart,
                    "part {number}'s ETag does not match the one uploaded"
                ));
            }
            if i + 1 < listed.len() && received.size < MIN_PART_SIZE {
                return Err(s3_error!(
                    EntityTooSmall,
                    "part {number} is smaller than 5 MiB"
                ));
            }
            size += received.size;
        }
        let count = i32::try_from(listed.len()).unwrap_or(i32::MAX);
        let e_tag = format!("{}-{count}", self.e_tag());
        tables.uploads.remove(&input.upload_id);
        tables.objects.insert(
            (input.bucket.clone(), input.key.clone()),
            ObjectInfo {
                size,
                e_tag: e_tag.clone(),
                // A composite checksum would need the parts' binary checksums combined; not needed to
                // discard bytes, so none is claimed.
                checksums: Checksums::default(),
                parts_count: Some(count),
                last_modified: SystemTime::now(),
            },
        );
        drop(tables);
        self.completed_uploads.fetch_add(1, Ordering::Relaxed);
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            e_tag: Some(ETag::Strong(e_tag)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        let mut tables = self.tables();
        let known = tables
            .uploads
            .get(&input.upload_id)
            .is_some_and(|u| u.bucket == input.bucket && u.key == input.key);
        if !known {
            return Err(no_such_upload(&input.upload_id));
        }
        tables.uploads.remove(&input.upload_id);
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        let max_uploads = input
            .max_uploads
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, DEFAULT_PAGE);
        let prefix = input.prefix.clone().unwrap_or_default();
        let tables = self.tables();
        let mut uploads: Vec<(&String, &Upload)> = tables
            .uploads
            .iter()
            .filter(|(_, u)| u.bucket == input.bucket && u.key.starts_with(&prefix))
            .collect();
        // S3's order: by key, then by initiation time.
        uploads.sort_by(|a, b| (&a.1.key, a.1.seq).cmp(&(&b.1.key, b.1.seq)));
        // Markers: with only a key marker, start after that key; with both, after that upload of it.
        if let Some(key_marker) = input.key_marker.as_deref().filter(|k| !k.is_empty()) {
            let upload_marker = input
                .upload_id_marker
                .as_deref()
                .and_then(|id| tables.uploads.get(id))
                .map(|u| u.seq);
            uploads.retain(|(_, u)| match upload_marker {
                Some(seq) => (u.key.as_str(), u.seq) > (key_marker, seq),
                None => u.key.as_str() > key_marker,
            });
        }
        let page = usize::try_from(max_uploads).unwrap_or(1000);
        let is_truncated = uploads.len() > page;
        uploads.truncate(page);
        let next = uploads.last().map(|(id, u)| (u.key.clone(), (*id).clone()));
        let list = uploads
            .iter()
            .map(|(id, u)| MultipartUpload {
                key: Some(u.key.clone()),
                upload_id: Some((*id).clone()),
                initiated: Some(Timestamp::from(u.initiated)),
                checksum_algorithm: u.checksum_algorithm.clone(),
                checksum_type: u.checksum_type.clone(),
                ..Default::default()
            })
            .collect();
        let (next_key_marker, next_upload_id_marker) = match next {
            Some((key, id)) if is_truncated => (Some(key), Some(id)),
            _ => (None, None),
        };
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            key_marker: input.key_marker,
            upload_id_marker: input.upload_id_marker,
            max_uploads: Some(max_uploads),
            is_truncated: Some(is_truncated),
            next_key_marker,
            next_upload_id_marker,
            uploads: Some(list),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        let info = self
            .tables()
            .objects
            .get(&(input.bucket, input.key))
            .cloned()
            .ok_or_else(|| s3_error!(NoSuchKey))?;
        let with_checksums = input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
        let checksums = if with_checksums {
            info.checksums
        } else {
            Checksums::default()
        };
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(info.size),
            e_tag: Some(ETag::Strong(info.e_tag)),
            last_modified: Some(Timestamp::from(info.last_modified)),
            parts_count: info.parts_count,
            checksum_crc32: checksums.crc32,
            checksum_crc32c: checksums.crc32c,
            checksum_crc64nvme: checksums.crc64nvme,
            checksum_sha1: checksums.sha1,
            checksum_sha256: checksums.sha256,
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        self.tables().objects.remove(&(input.bucket, input.key));
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let max_keys = input
            .max_keys
            .unwrap_or(DEFAULT_PAGE)
            .clamp(0, DEFAULT_PAGE);
        let prefix = input.prefix.clone().unwrap_or_default();
        // The continuation token is the last key returned; StartAfter works the same way.
        let after = input
            .continuation_token
            .clone()
            .or_else(|| input.start_after.clone())
            .unwrap_or_default();
        let tables = self.tables();
        let mut contents = Vec::new();
        let mut common: Vec<String> = Vec::new();
        let mut last_key = None;
        let mut is_truncated = false;
        let page = usize::try_from(max_keys).unwrap_or(1000);
        for ((bucket, key), info) in &tables.objects {
            if *bucket != input.bucket
                || !key.starts_with(&prefix)
                || key.as_str() <= after.as_str()
            {
                continue;
            }
            let rolled = input
                .delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .and_then(|d| {
                    key[prefix.len()..]
                        .find(d)
                        .map(|at| key[..prefix.len() + at + d.len()].to_owned())
                });
            if let Some(common_prefix) = &rolled
                && common.last() == Some(common_prefix)
            {
                continue;
            }
            if contents.len() + common.len() == page {
                is_truncated = true;
                break;
            }
            last_key = Some(key.clone());
            match rolled {
                Some(common_prefix) => common.push(common_prefix),
                None => contents.push(Object {
                    key: Some(key.clone()),
                    size: Some(info.size),
                    e_tag: Some(ETag::Strong(info.e_tag.clone())),
                    last_modified: Some(Timestamp::from(info.last_modified)),
                    ..Default::default()
                }),
            }
        }
        let key_count = i32::try_from(contents.len() + common.len()).unwrap_or(i32::MAX);
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix,
            delimiter: input.delimiter,
            max_keys: Some(max_keys),
            key_count: Some(key_count),
            continuation_token: input.continuation_token,
            start_after: input.start_after,
            is_truncated: Some(is_truncated),
            next_continuation_token: if is_truncated { last_key } else { None },
            contents: Some(contents),
            common_prefixes: Some(
                common
                    .into_iter()
                    .map(|p| CommonPrefix { prefix: Some(p) })
                    .collect(),
            ),
            ..Default::default()
        }))
    }
}

/// Any access key; the secret is `--secret-key`, or the access key itself.
struct AnyAccessKey {
    secret: Option<String>,
}

#[async_trait::async_trait]
impl S3Auth for AnyAccessKey {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        Ok(SecretKey::from(
            self.secret.as_deref().unwrap_or(access_key),
        ))
    }
}

/// Resolves on SIGTERM, SIGINT, or (with `--exit-on-stdin-eof`) when standard input closes.
async fn shutdown_signal(exit_on_stdin_eof: bool) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let stdin_eof = async move {
        if !exit_on_stdin_eof {
            return std::future::pending::<()>().await;
        }
        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
        // A plain thread: blocking reads of stdin, without tokio's io-std feature.
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin().lock();
            // A read error counts as closed: nobody can tell us to stop through it any more.
            while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
            if eof_tx.send(()).is_err() {
                // The server is already stopping for another reason: nobody waits for this.
            }
        });
        // Sent or dropped (the thread ended either way): stdin is closed.
        if eof_rx.await.is_err() {
            // Dropped without a send: the thread ended all the same.
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        () = stdin_eof => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    let discard = Discard::default();
    let state = Arc::clone(&discard.0);

    let mut builder = S3ServiceBuilder::new(discard);
    builder.set_auth(AnyAccessKey {
        secret: args.secret_key.clone(),
    });
    let service = builder.build();

    let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
    let local: SocketAddr = listener.local_addr()?;
    // One JSON line, like scripts/emulator.py, so launchers read the port that port 0 picked.
    println!(
        "{}",
        serde_json::json!({ "endpoint": format!("http://{local}") })
    );

    let shutdown = shutdown_signal(args.exit_on_stdin_eof);
    tokio::pin!(shutdown);
    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                // A failed accept (e.g. too many open files) must not stop the server.
                Err(e) => {
                    eprintln!("s3_discard: accept failed: {e}");
                    // Such errors repeat at once (EMFILE): give connections time to close.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            stopped = &mut shutdown => {
                stopped?;
                break;
            }
        };
        // Small writes of XML answers should not wait for Nagle.
        if socket.set_nodelay(true).is_err() {
            // Only slower: a socket that refuses the option still carries the bytes.
        }
        let service = service.clone();
        let state = Arc::clone(&state);
        let handler =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let service = service.clone();
                let state = Arc::clone(&state);
                async move {
                    if req.method() == hyper::Method::GET && req.uri().path() == "/__stats" {
                        let mut response =
                            hyper::Response::new(s3s::Body::from(state.stats_json()));
                        response
                            .headers_mut()
                            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                        return Ok(response);
                    }
                    service.call(req.map(s3s::Body::from)).await
                }
            });
        let connection = http.serve_connection(TokioIo::new(socket), handler);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if connection.await.is_err() {
                // A client that hangs up mid-request (a killed uploader) is normal here.
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(2)) => {}
    }
    eprintln!("s3_discard: stopped; {}", state.stats_json());
    Ok(())
}
