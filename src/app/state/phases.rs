//! Where the app stands: with its deployment (connecting, connected, failed), with the live monitor
//! (starting, live or polling, stopped) and with the catalogue's first page.

use crate::app::engine::MonitorMode;
use crate::aws::discovery::VodResources;

/// Where the app stands with its deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ConnectionState {
    /// Started without a stack or resource flags.
    #[default]
    NotConfigured,
    Connecting {
        target: String,
    },
    Connected(Box<VodResources>),
    Failed {
        message: String,
    },
}

/// How status reaches the app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MonitorState {
    /// Not connected yet.
    #[default]
    Off,
    /// Connected, the monitor is setting up its queue.
    Starting,
    Active(MonitorMode),
    Stopped {
        message: String,
    },
}

/// Reading the newest jobs from the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CatalogueState {
    #[default]
    NotLoaded,
    Loading,
    Loaded {
        /// More jobs are in the table than were read.
        more: bool,
    },
    Failed {
        message: String,
    },
}
