//! Uploads into the stack's source bucket: which files and keys (naming, selection), how they are cut
//! into parts (plan), the durable journal that makes them resumable, and the engine that sends them.

pub(crate) mod buffers;
pub mod events;
pub mod fingerprint;
pub mod journal;
pub(crate) mod lease;
pub mod naming;
pub mod plan;
pub mod prepare;
pub mod select;
pub(crate) mod throttle;
pub mod uploader;
