//! The Video on Demand on AWS contract: typed, tolerant readers for everything the solution emits
//! (SNS notifications raw or enveloped, DynamoDB items, srcMediainfo, stack outputs).
//! Engine, CLI and UI all read the solution through this one module.
//!
//! "Contract §N" in comments across the crate is section N of `docs/vod-contract.md`, the solution's
//! shapes and rules as checked against its source; its examples are in `tests/fixtures/vod-examples/`.

pub mod decode;
pub mod dynamo_names;
pub mod dynamodb;
pub(crate) mod error;
pub(crate) mod mediainfo;
pub(crate) mod record;
pub mod record_metadata;
pub(crate) mod safe_url;
pub mod stack;
pub mod terminal;
pub mod triggers;
mod value;

pub use decode::{
    Decoded, Envelope, Kind, NormalizedJson, Source, decode_document, decode_message_body,
    decode_object, decode_plain_item, decode_sdk_item, decode_value,
};
pub use error::DecodeError;
pub use mediainfo::{AudioTrack, Container, MediaInfo, MediaInfoError, TextTrack, VideoTrack};
pub use record::{EgressEndpoints, JobRecord, Outputs, RecordOrigin, WorkflowStatus};
