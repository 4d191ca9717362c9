//! "Check my setup": the doctor's checklist for a connection, from the click on the connect screen
//! (one [`Command::CheckSetup`], not a second while one runs) to its answer, which is shown until
//! the user connects again (a new attempt, or a success, makes the old checklist stale).

use super::AppState;
use crate::app::engine::{Command, ConnectRequest};
use crate::doctor::Checklist;

/// Where "Check my setup" stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SetupCheck {
    #[default]
    NotAsked,
    Running,
    Done(Box<Checklist>),
}

impl AppState {
    /// Where "Check my setup" stands.
    pub fn setup_check(&self) -> &SetupCheck {
        &self.setup_check
    }

    pub(super) fn check_setup(&mut self, request: ConnectRequest) -> Vec<Command> {
        if self.setup_check == SetupCheck::Running {
            return Vec::new();
        }
        self.setup_check = SetupCheck::Running;
        vec![Command::CheckSetup(request)]
    }

    /// The checklist arrived; one asked for before the user connected again is dropped.
    pub(super) fn setup_checked(&mut self, checklist: Checklist) {
        if self.setup_check == SetupCheck::Running {
            self.setup_check = SetupCheck::Done(Box::new(checklist));
        }
    }

    /// A new connection (asked for, or made) makes the last checklist stale.
    pub(super) fn forget_setup_check(&mut self) {
        self.setup_check = SetupCheck::NotAsked;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::engine::Event;
    use crate::app::state::UiAction;
    use crate::aws::discovery::VodResources;
    use crate::doctor::{Outcome, ids};

    fn request() -> ConnectRequest {
        ConnectRequest {
            stack: Some("vod".into()),
            ..ConnectRequest::default()
        }
    }

    fn failed_check() -> Checklist {
        let mut list = Checklist::default();
        list.push(
            ids::STACK,
            "Stack vod",
            Outcome::fail(
                "no stack named \"vod\" in region us-east-1",
                "pass --region",
            ),
        );
        list
    }

    fn commands(effects: Vec<crate::app::effects::Effect>) -> Vec<Command> {
        effects
            .into_iter()
            .filter_map(crate::app::effects::Effect::into_command)
            .collect()
    }

    #[test]
    fn a_click_asks_the_engine_once_and_the_answer_is_kept() {
        let mut state = AppState::default();
        state.apply(Event::ConnectFailed {
            message: "stack \"vod\" was not found".into(),
        });
        assert_eq!(state.setup_check(), &SetupCheck::NotAsked);
        let asked = commands(state.apply(UiAction::CheckSetup(request())));
        assert!(
            matches!(asked.as_slice(), [Command::CheckSetup(r)] if *r == request()),
            "{asked:?}"
        );
        assert_eq!(state.setup_check(), &SetupCheck::Running);
        // A second click while it runs asks nothing more.
        assert!(commands(state.apply(UiAction::CheckSetup(request()))).is_empty());
        state.apply(Event::SetupChecked(Box::new(failed_check())));
        assert_eq!(
            state.setup_check(),
            &SetupCheck::Done(Box::new(failed_check()))
        );
        // Checking again is allowed once it is done.
        assert_eq!(
            commands(state.apply(UiAction::CheckSetup(request()))).len(),
            1
        );
    }

    #[test]
    fn connecting_again_makes_the_checklist_stale() {
        let mut state = AppState::default();
        state.apply(UiAction::CheckSetup(request()));
        state.apply(Event::SetupChecked(Box::new(failed_check())));
        state.apply(UiAction::Connect(request()));
        assert_eq!(state.setup_check(), &SetupCheck::NotAsked);
        // An answer to a check from before the new attempt is not shown.
        state.apply(UiAction::CheckSetup(request()));
        state.apply(UiAction::Connect(request()));
        state.apply(Event::SetupChecked(Box::new(failed_check())));
        assert_eq!(state.setup_check(), &SetupCheck::NotAsked);
        state.apply(UiAction::CheckSetup(request()));
        state.apply(Event::Connected(Box::new(VodResources::sample("vod"))));
        assert_eq!(state.setup_check(), &SetupCheck::NotAsked);
    }
}
