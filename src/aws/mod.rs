//! Everything that talks to AWS (or to the local emulator that stands in for it): SDK clients built from
//! the user's connection settings, stack discovery, and the emulator used by tests and the local stack.

pub mod catalogue;
pub mod connection;
pub mod discovery;
pub mod emulator;
pub mod engine;
pub mod local_stack;
pub mod monitor;
pub mod profiles;
pub mod sdk_error;
pub mod thumbnails;
pub mod upload;
pub mod vod_template;
