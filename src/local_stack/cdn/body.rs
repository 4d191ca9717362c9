//! Response bodies: the boxed body type every response has, and [`S3Body`], an S3 object streamed to
//! the client chunk by chunk as hyper asks for it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_s3::primitives::{ByteStream, ByteStreamError};
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Body, Frame, SizeHint};

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(super) type ResBody = UnsyncBoxBody<Bytes, BoxError>;

/// An S3 object body as a hyper body, one frame per chunk the SDK yields: nothing is buffered beyond
/// the chunk in flight, and the next chunk is only read when hyper asks for it.
pub(super) struct S3Body {
    next: Option<Pin<Box<NextChunk>>>,
    remaining: Option<u64>,
}

type NextChunk = dyn Future<Output = (ByteStream, Option<Result<Bytes, ByteStreamError>>)> + Send;

impl S3Body {
    pub(super) fn new(stream: ByteStream, len: Option<u64>) -> Self {
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
