//! The app's state as plain data, changed only by [`AppState::apply`]: testable without a window.

use crate::aws::discovery::VodResources;
use crate::aws::engine::Event;

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

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppState {
    pub connection: ConnectionState,
}

impl AppState {
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Connecting { target } => {
                self.connection = ConnectionState::Connecting { target }
            }
            Event::Connected(resources) => self.connection = ConnectionState::Connected(resources),
            Event::ConnectFailed { message } => {
                self.connection = ConnectionState::Failed { message }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_connection_keeps_its_message() {
        let mut state = AppState::default();
        state.apply(Event::Connecting {
            target: "vod".into(),
        });
        assert_eq!(
            state.connection,
            ConnectionState::Connecting {
                target: "vod".into()
            }
        );
        state.apply(Event::ConnectFailed {
            message: "stack \"vod\" was not found".into(),
        });
        assert_eq!(
            state.connection,
            ConnectionState::Failed {
                message: "stack \"vod\" was not found".into()
            }
        );
    }
}
