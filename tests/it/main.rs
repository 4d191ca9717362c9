//! vodesk's integration tests in one binary, so the library (eframe, six AWS SDKs) is linked once:
//! each suite is a module, run with `cargo test --test it` (`cargo test --test it upload_trust::` for
//! one). The suites share one emulator (`common`), which serialises the tests that use it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod app_connections;
mod app_e2e;
mod app_engine;
mod app_launch;
mod app_ui;
mod bench_dashboard;
mod catalogue;
mod cli_decode;
mod contract_examples;
mod contract_malformed;
mod discovery;
mod doctor;
mod emulator_install;
mod iam_policy;
mod jobs_cli;
mod local_cdn;
mod local_media_package;
mod local_metadata;
mod local_mss;
mod local_pipeline;
mod local_simulate;
mod local_stack;
mod logs;
mod named_connections;
mod operations;
mod playback_check;
mod soak;
mod strict_s3_harness;
mod thumbnails;
mod upload_cli;
mod upload_engine;
mod upload_faults;
mod upload_strict;
mod upload_trust;
