//! The connect screen: an AWS profile (from the user's config and credentials files, SSO profiles
//! marked), the region, the stack name with "Find stacks" (the deployments whose Description marks them
//! as the solution), manual overrides for the source bucket, table, topic and CloudFront domain, and a
//! one-click "Local demo stack" for users without an AWS account. When a connection fails, "Check my
//! setup" runs the doctor on it and shows its checklist here, each problem with its fix (selectable,
//! to copy a command). The form is plain data the app keeps (and remembers across runs); a click
//! becomes a [`UiAction`].

use eframe::egui::{self, RichText};
use serde::{Deserialize, Serialize};

use super::FrameOutput;
use super::saved_connections::{self, SavedConnections};
use crate::app::engine::ConnectRequest;
use crate::app::state::{AppState, ConnectionState, SetupCheck, UiAction};
use crate::app::views::widgets::GREEN;
use crate::aws::connection::ConnectionSettings;
use crate::aws::discovery::StackOverrides;
use crate::aws::profiles::Profile;
use crate::doctor::{Check, Checklist, Outcome};

/// What the user typed, kept between frames and runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectForm {
    /// Empty: the default credential chain (environment, `default` profile, instance role).
    pub profile: String,
    pub region: String,
    pub stack: String,
    pub endpoint_url: String,
    pub source_bucket: String,
    pub table: String,
    pub topic_arn: String,
    pub cloudfront_domain: String,
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

impl ConnectForm {
    pub fn settings(&self) -> ConnectionSettings {
        ConnectionSettings {
            profile: non_empty(&self.profile),
            region: non_empty(&self.region),
            endpoint_url: non_empty(&self.endpoint_url),
            emulator_credentials: false,
        }
    }

    pub fn request(&self) -> ConnectRequest {
        ConnectRequest {
            connection: self.settings(),
            stack: non_empty(&self.stack),
            overrides: StackOverrides {
                source_bucket: non_empty(&self.source_bucket),
                table: non_empty(&self.table),
                topic_arn: non_empty(&self.topic_arn),
                cloudfront_domain: non_empty(&self.cloudfront_domain),
            },
        }
    }

    /// The form that reproduces a request (the remembered connection).
    pub fn from_request(request: &ConnectRequest) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            profile: text(&request.connection.profile),
            region: text(&request.connection.region),
            stack: text(&request.stack),
            endpoint_url: text(&request.connection.endpoint_url),
            source_bucket: text(&request.overrides.source_bucket),
            table: text(&request.overrides.table),
            topic_arn: text(&request.overrides.topic_arn),
            cloudfront_domain: text(&request.overrides.cloudfront_domain),
        }
    }

    /// A stack, or at least a source bucket, names what to connect to.
    pub fn can_connect(&self) -> bool {
        non_empty(&self.stack).is_some() || non_empty(&self.source_bucket).is_some()
    }
}

/// What the connect screen draws with besides the state.
pub(crate) struct ConnectView<'a> {
    pub form: &'a mut ConnectForm,
    pub profiles: &'a [Profile],
    pub saved: &'a SavedConnections,
    /// Files given on the command line, uploaded once connected.
    pub waiting_files: usize,
}

pub(crate) fn show(
    ui: &mut egui::Ui,
    state: &AppState,
    view: ConnectView<'_>,
    out: &mut FrameOutput,
) {
    egui::ScrollArea::vertical()
        .id_salt("connect-scroll")
        .show(ui, |ui| {
            // A card in the middle of the window, as wide as the form needs.
            let width = 600.0_f32.min(ui.available_width());
            let margin = ((ui.available_width() - width) / 2.0).max(0.0);
            ui.add_space(24.0);
            ui.horizontal(|ui| {
                ui.add_space(margin);
                egui::Frame::group(ui.style())
                    .inner_margin(16.0)
                    .corner_radius(8.0)
                    .show(ui, |ui| {
                        ui.set_width(width);
                        ui.vertical(|ui| form_card(ui, state, view, out));
                    });
            });
        });
}

fn form_card(ui: &mut egui::Ui, state: &AppState, view: ConnectView<'_>, out: &mut FrameOutput) {
    let ConnectView {
        form,
        profiles,
        saved,
        waiting_files,
    } = view;
    let actions = &mut out.actions;
    {
        {
            ui.heading("Connect to a Video on Demand on AWS deployment");
            ui.label(
                RichText::new(
                    "vodesk uploads into the stack's source bucket and follows every workflow live.",
                )
                .weak(),
            );
            if waiting_files > 0 {
                ui.label(format!(
                    "{waiting_files} file(s) given at start will be uploaded once connected."
                ));
            }
            ui.add_space(8.0);
            match &state.connection() {
                ConnectionState::Connecting { target } => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(format!("Connecting to {target}…"));
                    });
                }
                ConnectionState::Failed { message } => {
                    egui::Frame::new()
                        .fill(ui.visuals().error_fg_color.gamma_multiply(0.12))
                        .inner_margin(8.0)
                        .corner_radius(4.0)
                        .show(ui, |ui| {
                            ui.label(RichText::new("Could not connect").strong());
                            ui.add(
                                egui::Label::new(
                                    RichText::new(message).color(ui.visuals().error_fg_color),
                                )
                                .wrap(),
                            );
                            check_my_setup(ui, state, form, actions);
                        });
                }
                _ => {}
            }
            if let SetupCheck::Done(checklist) = state.setup_check() {
                ui.add_space(8.0);
                show_checklist(ui, checklist);
            }
            ui.add_space(8.0);
            egui::Grid::new("connect-form")
                .num_columns(2)
                .spacing([12.0, 8.0])
                .show(ui, |ui| {
                    saved_connections::menu_row(ui, saved, form);
                    let profile_label = ui.label("AWS profile");
                    let shown = if form.profile.is_empty() {
                        "(default credentials)".to_owned()
                    } else {
                        form.profile.clone()
                    };
                    egui::ComboBox::from_id_salt("profile")
                        .selected_text(shown)
                        .width(300.0)
                        .show_ui(ui, |ui| {
                            ui.selectable_value(
                                &mut form.profile,
                                String::new(),
                                "(default credentials)",
                            );
                            for profile in profiles {
                                let label = match (&profile.region, profile.sso) {
                                    (Some(r), true) => format!("{}  ·  {r}  ·  SSO", profile.name),
                                    (Some(r), false) => format!("{}  ·  {r}", profile.name),
                                    (None, true) => format!("{}  ·  SSO", profile.name),
                                    (None, false) => profile.name.clone(),
                                };
                                if ui
                                    .selectable_label(form.profile == profile.name, label)
                                    .clicked()
                                {
                                    form.profile = profile.name.clone();
                                    if let Some(region) = &profile.region {
                                        form.region = region.clone();
                                    }
                                }
                            }
                        })
                        .response
                        .labelled_by(profile_label.id);
                    ui.end_row();
                    let region_label = ui.label("Region");
                    ui.add(
                        egui::TextEdit::singleline(&mut form.region)
                            .hint_text("e.g. us-east-1 (else the profile's)")
                            .desired_width(300.0),
                    )
                    .labelled_by(region_label.id);
                    ui.end_row();
                    let stack_label = ui.label("Stack name");
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::TextEdit::singleline(&mut form.stack)
                                .hint_text("the CloudFormation stack")
                                .desired_width(200.0),
                        )
                        .labelled_by(stack_label.id);
                        if ui
                            .button("Find stacks")
                            .on_hover_text(
                                "Lists the deployments of the solution in this region (CloudFormation DescribeStacks)",
                            )
                            .clicked()
                        {
                            actions.push(UiAction::FindStacks(form.settings()));
                        }
                    });
                    ui.end_row();
                });
            found_stacks(ui, state, form);
            egui::CollapsingHeader::new("Overrides")
                .id_salt("connect-overrides")
                .show(ui, |ui| {
                    ui.label(
                        RichText::new(
                            "Only when the stack cannot be read (no CloudFormation rights) or to use other resources.",
                        )
                        .weak(),
                    );
                    egui::Grid::new("connect-overrides-grid")
                        .num_columns(2)
                        .spacing([12.0, 6.0])
                        .show(ui, |ui| {
                            for (label, value, hint) in [
                                ("Source bucket", &mut form.source_bucket, "bucket name"),
                                ("Table", &mut form.table, "DynamoDB table (= stack name)"),
                                ("SNS topic ARN", &mut form.topic_arn, "arn:aws:sns:…"),
                                ("CloudFront domain", &mut form.cloudfront_domain, "dxxxx.cloudfront.net"),
                                ("Endpoint URL", &mut form.endpoint_url, "an emulator or VPC endpoint"),
                            ] {
                                let label = ui.label(label);
                                ui.add(
                                    egui::TextEdit::singleline(value)
                                        .hint_text(hint)
                                        .desired_width(300.0),
                                )
                                .labelled_by(label.id);
                                ui.end_row();
                            }
                        });
                });
            ui.add_space(10.0);
            ui.horizontal(|ui| {
                let connecting = matches!(state.connection(), ConnectionState::Connecting { .. });
                let connect = ui.add_enabled(
                    form.can_connect() && !connecting,
                    egui::Button::new(RichText::new("Connect").strong()),
                );
                if connect.clicked() {
                    actions.push(UiAction::Connect(form.request()));
                }
                ui.add_space(16.0);
                let local = ui
                    .add_enabled(!state.starting_local(), egui::Button::new("Local demo stack"))
                    .on_hover_text(
                        "Runs a complete local deployment on this machine (emulator, ffmpeg encoding, local CloudFront) and connects to it; no AWS account needed",
                    );
                if local.clicked() {
                    actions.push(UiAction::StartLocalStack);
                }
                if state.starting_local() && state.local_install().is_none() {
                    ui.spinner();
                    ui.label("starting the local stack…");
                }
            });
            if let Some(step) = state.local_install() {
                // The first start installs the emulator (about a minute): say what it is doing.
                ui.add(
                    egui::ProgressBar::new(step.fraction())
                        .text(step.to_string())
                        .animate(true),
                );
            }
            ui.add_space(6.0);
            saved_connections::save_row(ui, form, &mut out.save_connection);
            ui.add_space(6.0);
            ui.label(
                RichText::new(
                    "No AWS account? Local demo stack runs a complete deployment on this machine: \
                     an emulator, ffmpeg encoding and a local CloudFront, so uploads really play.",
                )
                .weak(),
            );
        }
    }
}

/// The "Check my setup" button (a spinner while the check runs).
fn check_my_setup(
    ui: &mut egui::Ui,
    state: &AppState,
    form: &ConnectForm,
    actions: &mut Vec<UiAction>,
) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let running = *state.setup_check() == SetupCheck::Running;
        let button = ui
            .add_enabled(!running, egui::Button::new("Check my setup"))
            .on_hover_text(
                "Runs vodesk doctor on this connection: region, credentials, clock, the stack, each resource and permission, the local tools",
            );
        if button.clicked() {
            actions.push(UiAction::CheckSetup(setup_to_check(state, form)));
        }
        if running {
            ui.spinner();
            ui.label("checking your setup…");
        }
    });
}

/// The connection that failed, unless the form has changed since: then the form's.
fn setup_to_check(state: &AppState, form: &ConnectForm) -> ConnectRequest {
    match state.last_request() {
        // The request keeps what the form cannot say (the local stack's emulator credentials).
        Some(last) if ConnectForm::from_request(last) == *form => last.clone(),
        _ => form.request(),
    }
}

/// The doctor's checklist: a mark and a line per check, the fix under each warning and failure.
fn show_checklist(ui: &mut egui::Ui, checklist: &Checklist) {
    egui::Frame::group(ui.style())
        .inner_margin(8.0)
        .corner_radius(4.0)
        .show(ui, |ui| {
            let counts = checklist.counts();
            ui.label(
                RichText::new(format!(
                    "Setup check: {} passed, {} warning(s), {} failed, {} not checked",
                    counts.passed, counts.warnings, counts.failed, counts.skipped
                ))
                .strong(),
            );
            ui.add_space(4.0);
            for check in &checklist.checks {
                checklist_line(ui, check);
            }
        });
}

fn checklist_line(ui: &mut egui::Ui, check: &Check) {
    let visuals = ui.visuals();
    let (mark, color) = match check.outcome {
        Outcome::Pass { .. } => ("✔", GREEN),
        Outcome::Warn { .. } => ("!", visuals.warn_fg_color),
        Outcome::Fail { .. } => ("✖", visuals.error_fg_color),
        Outcome::Skipped { .. } => ("–", visuals.weak_text_color()),
    };
    let text = format!("{}: {}", check.name, check.outcome.text());
    let text = if matches!(check.outcome, Outcome::Skipped { .. }) {
        RichText::new(text).weak()
    } else {
        RichText::new(text)
    };
    ui.horizontal_top(|ui| {
        ui.label(RichText::new(mark).color(color).strong());
        ui.add(egui::Label::new(text).selectable(true).wrap());
    });
    if let Some(fix) = check.outcome.fix() {
        ui.horizontal_top(|ui| {
            ui.add_space(20.0);
            ui.add(
                egui::Label::new(RichText::new(format!("Fix: {fix}")).color(color))
                    .selectable(true)
                    .wrap(),
            );
        });
    }
}

fn found_stacks(ui: &mut egui::Ui, state: &AppState, form: &mut ConnectForm) {
    match &state.found_stacks() {
        None => {}
        Some(Err(message)) => {
            ui.label(
                RichText::new(format!("Could not list stacks: {message}"))
                    .color(ui.visuals().error_fg_color),
            );
        }
        Some(Ok(stacks)) if stacks.is_empty() => {
            ui.label("No deployment of the solution was found in this region.");
        }
        Some(Ok(stacks)) => {
            ui.label(RichText::new("Deployments found (click to choose):").weak());
            for stack in stacks {
                let text = format!(
                    "{}  ·  {}  ·  {}",
                    stack.name,
                    stack
                        .solution_version
                        .as_deref()
                        .unwrap_or("unknown version"),
                    stack.status.as_deref().unwrap_or("")
                );
                if ui
                    .selectable_label(form.stack == stack.name, text)
                    .clicked()
                {
                    form.stack = stack.name.clone();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_round_trips_a_request_and_needs_a_target() {
        let mut form = ConnectForm::default();
        assert!(!form.can_connect());
        form.stack = " vod ".into();
        form.profile = "work".into();
        form.region = "eu-west-1".into();
        assert!(form.can_connect());
        let request = form.request();
        assert_eq!(request.stack.as_deref(), Some("vod"));
        assert_eq!(request.connection.profile.as_deref(), Some("work"));
        assert_eq!(request.overrides.table, None);
        let again = ConnectForm::from_request(&request);
        assert_eq!(again.request(), request);
    }

    #[test]
    fn the_setup_checked_is_the_failed_one_until_the_form_changes() {
        use crate::app::engine::Event;
        // The local stack's request carries credentials the form cannot show.
        let local = ConnectRequest {
            connection: ConnectionSettings::emulator("http://127.0.0.1:4566", "us-east-1"),
            stack: Some("vod-local".into()),
            overrides: StackOverrides::default(),
        };
        let mut state = AppState::default();
        state.apply(Event::LocalStackReady(local.clone()));
        let mut form = ConnectForm::from_request(&local);
        assert_eq!(setup_to_check(&state, &form), local);
        form.stack = "vod-other".into();
        let edited = setup_to_check(&state, &form);
        assert_eq!(edited.stack.as_deref(), Some("vod-other"));
        assert!(!edited.connection.emulator_credentials);
    }
}
