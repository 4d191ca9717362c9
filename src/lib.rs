//! vodesk: desktop uploader and live monitor for the "Video on Demand on AWS" solution.
//!
//! `contract` reads what the solution emits; `aws` talks to the deployment (or the local emulator);
//! `app` is the desktop UI. The `vodesk` binary's CLI shares all three.

pub mod app;
pub mod aws;
pub mod contract;
pub mod jobs;
pub mod time;
