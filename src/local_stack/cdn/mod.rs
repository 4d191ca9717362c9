//! The local stack's "CloudFront" (contract §7 URL rule, §10): a loopback HTTP/1.1 server that serves the
//! objects of the destination bucket, so that the output URLs
//! `http://127.0.0.1:<port>/<guid>/hls/<base>.m3u8` play in ffplay, VLC, mpv and browsers.
//!
//! With MediaPackage on, it has a second origin ([`CdnOrigins`]), as the real distribution gets an
//! `out/*` behaviour to the packaging group: keys under `out/` (the egress URLs
//! `http://127.0.0.1:<port>/out/v1/…/index.m3u8`) are read from the packaging group's bucket
//! (`local_stack::media_package`), everything else from the destination bucket. Without it, `out/`
//! keys are read from the destination bucket like any other.
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
//!
//! This file holds the listener, the server and its accept loop. The parts: `handler` (a request
//! mapped to S3 and the answer built), `request` (the key, the Range and the Content-Type read from
//! a request) and `body` (an S3 object streamed as the response body).

mod body;
mod handler;
mod request;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use handler::handle;

/// How long open connections may finish their current response after the server is told to stop.
const GRACE: Duration = Duration::from_secs(2);

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

    /// Spawns the server on the current tokio runtime (the one `bind` ran on), serving `bucket`.
    /// Dropping the returned [`LocalCdn`] stops it: the listener closes at once, open connections
    /// get [`GRACE`] to finish.
    pub fn serve(self, s3: aws_sdk_s3::Client, bucket: String) -> LocalCdn {
        self.serve_origins(s3, CdnOrigins::destination(bucket), CdnLimits::default())
    }

    /// [`serve`](Self::serve), with `out/` keys read from `packaging_bucket` when there is one (the
    /// MediaPackage group's bucket).
    pub fn serve_with_packaging(
        self,
        s3: aws_sdk_s3::Client,
        bucket: String,
        packaging_bucket: Option<String>,
    ) -> LocalCdn {
        let origins = CdnOrigins {
            destination_bucket: bucket,
            packaging_bucket,
        };
        self.serve_origins(s3, origins, CdnLimits::default())
    }

    /// [`serve`](Self::serve) with other limits than the defaults (tests use short ones).
    pub fn serve_with_limits(
        self,
        s3: aws_sdk_s3::Client,
        bucket: String,
        limits: CdnLimits,
    ) -> LocalCdn {
        self.serve_origins(s3, CdnOrigins::destination(bucket), limits)
    }

    /// The server with every choice spelled out: its buckets and its limits.
    pub fn serve_origins(
        self,
        s3: aws_sdk_s3::Client,
        origins: CdnOrigins,
        limits: CdnLimits,
    ) -> LocalCdn {
        let domain = self.domain();
        let (stop, stopped) = oneshot::channel();
        let shared = Arc::new(Shared { s3, origins });
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

/// The buckets behind the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdnOrigins {
    /// The destination bucket: the default origin.
    pub destination_bucket: String,
    /// The MediaPackage group's bucket: the origin of keys under `out/` when set.
    pub packaging_bucket: Option<String>,
}

impl CdnOrigins {
    /// The destination bucket alone (MediaPackage off).
    pub fn destination(bucket: String) -> Self {
        CdnOrigins {
            destination_bucket: bucket,
            packaging_bucket: None,
        }
    }

    /// The bucket a key is read from: `out/…` from the packaging bucket when there is one.
    fn bucket_for(&self, key: &str) -> &str {
        match &self.packaging_bucket {
            Some(packaging) if key.starts_with(PACKAGING_PREFIX) => packaging,
            _ => &self.destination_bucket,
        }
    }
}

/// The path pattern of the distribution's MediaPackage behaviour (`out/*`), as a key prefix.
const PACKAGING_PREFIX: &str = "out/";

struct Shared {
    s3: aws_sdk_s3::Client,
    origins: CdnOrigins,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_keys_come_from_the_packaging_bucket_when_there_is_one() {
        let alone = CdnOrigins::destination("dest".into());
        assert_eq!(alone.bucket_for("out/v1/a/b/c/index.m3u8"), "dest");
        let both = CdnOrigins {
            destination_bucket: "dest".into(),
            packaging_bucket: Some("mp".into()),
        };
        assert_eq!(both.bucket_for("out/v1/a/b/c/index.m3u8"), "mp");
        assert_eq!(both.bucket_for("out/"), "mp");
        for key in ["g/hls/x.m3u8", "out", "outx/y", "g/out/x", "OUT/v1/x", ""] {
            assert_eq!(both.bucket_for(key), "dest", "{key}");
        }
    }
}
