//! Part buffers, allocated once and reused. Without this, every part allocates a fresh multi-megabyte
//! buffer on whichever thread reads it, and the allocator keeps freed ones in per-thread arenas: peak
//! memory grew to about twice concurrency × part size. With the pool it stays at concurrency × part size.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

#[derive(Debug)]
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    /// Buffers kept for reuse at most (the concurrency): more would only hold memory.
    keep: usize,
}

impl BufferPool {
    pub(crate) fn new(keep: usize) -> Self {
        Self {
            free: Mutex::new(Vec::with_capacity(keep)),
            keep,
        }
    }

    fn take(&self) -> Vec<u8> {
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default()
    }

    /// Reads exactly `len` bytes of the open `file` at `offset` into a pooled buffer, off the async
    /// workers. Every part of an upload reads the one file its upload opened: a file put in its place
    /// under the same name cannot mix into the object.
    pub(crate) async fn read(
        &self,
        file: &Arc<File>,
        offset: u64,
        len: u64,
    ) -> std::io::Result<Bytes> {
        let len = usize::try_from(len)
            .map_err(|_| std::io::Error::other("part too large for this machine"))?;
        let mut buf = self.take();
        let file = Arc::clone(file);
        tokio::task::spawn_blocking(move || {
            buf.clear();
            buf.reserve_exact(len);
            // read_to_end fills the spare capacity directly: no zeroing pass over the buffer first.
            ReadAt {
                file: &file,
                offset,
            }
            .take(len as u64)
            .read_to_end(&mut buf)?;
            if buf.len() != len {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "the file ended {} bytes early (was it truncated?)",
                        len - buf.len()
                    ),
                ));
            }
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Returns a part's buffer once nothing else refers to it (the request is done). A buffer still shared
    /// is simply dropped.
    pub(crate) fn give_back(&self, bytes: Bytes) {
        if let Ok(buf) = bytes.try_into_mut() {
            let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
            if free.len() < self.keep {
                free.push(Vec::from(buf));
            }
        }
    }
}

/// Positioned reads as a `Read`: parts read concurrently share no file cursor.
struct ReadAt<'a> {
    file: &'a File,
    offset: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_returned_buffer_is_reused_for_the_next_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, (0..=255u8).cycle().take(10_000).collect::<Vec<u8>>()).unwrap();
        let path = Arc::new(File::open(&path).unwrap());
        let pool = BufferPool::new(2);
        let first = pool.read(&path, 100, 4000).await.unwrap();
        assert_eq!(first[0], 100);
        let address = first.as_ptr();
        pool.give_back(first);
        let second = pool.read(&path, 256, 3000).await.unwrap();
        assert_eq!(
            second.as_ptr(),
            address,
            "the same allocation serves the next part"
        );
        assert_eq!((second.len(), second[0]), (3000, 0));
        let shared = second.clone();
        pool.give_back(second); // still referenced: dropped, not pooled
        assert!(pool.free.lock().unwrap().is_empty());
        drop(shared);
        assert!(
            pool.read(&path, 9000, 2000).await.is_err(),
            "reading past the end is an error"
        );
    }
}
