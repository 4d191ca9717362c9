//! vodesk: desktop uploader and live monitor for the "Video on Demand on AWS" solution.
//!
//! `contract` reads what the solution emits (and holds its rules); `aws` talks to the deployment;
//! `app` is the desktop UI and its runtime (`app::engine`); `local_stack` is the whole solution emulated
//! on this machine. The `vodesk` binary's CLI shares them all.

pub mod app;
pub mod aws;
pub mod connections;
pub mod contract;
pub mod doctor;
pub mod jobs;
pub mod local_stack;
pub mod logs;
pub mod playback;
pub mod time;
pub mod units;
