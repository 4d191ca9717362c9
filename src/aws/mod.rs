//! Everything that talks to AWS, and nothing else: SDK clients built from the user's connection
//! settings, stack discovery, uploads, the live monitor, the catalogue, thumbnails, profiles and the
//! reading of SDK errors. The app's runtime is `app::engine`; the emulated solution is `local_stack`.

pub mod call_log;
pub mod catalogue;
pub mod connection;
pub mod discovery;
pub mod iam_policy;
pub mod monitor;
pub mod operations;
pub(crate) mod profiles;
pub mod sdk_error;
pub mod thumbnails;
pub mod upload;
