//! "Run again…" and "Delete…": the details panel's two buttons (Complete and Error jobs; disabled
//! while a confirmation is open), its "retry of …" line, and the confirmation itself, a modal
//! window saying what will happen (the encode AWS charges for; what a delete removes) with its
//! two buttons, a spinner while the plan or the execution runs and the error in red.

use eframe::egui::{self, Color32, RichText};

use crate::app::state::{
    Confirmation, DetailsAction, OperationAction, OperationKind, OperationPlan, OperationsBook,
    UiAction,
};
use crate::jobs::{Job, JobStatus};

const RED: Color32 = Color32::from_rgb(0xd0, 0x3a, 0x2f);

/// The buttons and the "retry of" line of the details panel.
pub(crate) fn buttons(
    ui: &mut egui::Ui,
    job: &Job,
    operations: &OperationsBook,
    actions: &mut Vec<DetailsAction>,
) {
    let Some(guid) = &job.guid else {
        return;
    };
    if let Some(old) = operations.retry_of(guid) {
        ui.label(RichText::new(format!("retry of {old}")).weak());
    }
    if !matches!(job.status, JobStatus::Complete | JobStatus::Error) {
        return;
    }
    let enabled = !operations.is_open();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(enabled, egui::Button::new("Run again…"))
            .on_hover_text("Starts the workflow again for the same source (a new, paid encode)")
            .clicked()
        {
            actions.push(DetailsAction::Operation(
                OperationKind::RunAgain,
                guid.clone(),
            ));
        }
        if ui
            .add_enabled(enabled, egui::Button::new("Delete…"))
            .on_hover_text("Deletes the job's outputs and item (and, if asked, its source)")
            .clicked()
        {
            actions.push(DetailsAction::Operation(
                OperationKind::Delete,
                guid.clone(),
            ));
        }
    });
}

/// The open confirmation, if any, as a modal window.
pub(crate) fn confirmation(
    ctx: &egui::Context,
    operations: &OperationsBook,
    out: &mut Vec<UiAction>,
) {
    let Some(open) = operations.confirmation() else {
        return;
    };
    let modal = egui::Modal::new(egui::Id::unique("operation-confirmation")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        body(ui, open, out);
    });
    if modal.should_close() && !open.busy {
        out.push(UiAction::Operation(OperationAction::Cancel));
    }
}

fn body(ui: &mut egui::Ui, open: &Confirmation, out: &mut Vec<UiAction>) {
    let (title, confirm) = match open.kind {
        OperationKind::RunAgain => ("Run again", "Run again"),
        OperationKind::Delete => ("Delete", "Delete"),
    };
    ui.heading(format!("{title}: {}", open.guid));
    ui.add_space(6.0);
    match &open.plan {
        Some(OperationPlan::Retry(plan)) => {
            ui.label(Confirmation::retry_text(plan));
            match &open.changes {
                Ok(pairs) if !pairs.is_empty() => {
                    let list: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    ui.label(format!(
                        "With the current upload options as its changes: {}",
                        list.join(", ")
                    ));
                }
                Ok(_) => {}
                Err(problem) => {
                    ui.label(format!("The upload options are not used: {problem}"));
                }
            }
        }
        Some(OperationPlan::Delete(plan)) => {
            for line in Confirmation::delete_lines(plan) {
                ui.label(line);
            }
            ui.label("It cannot be undone.");
        }
        None => {}
    }
    if open.kind == OperationKind::Delete {
        let mut with_source = open.with_source;
        if ui
            .add_enabled(
                !open.busy,
                egui::Checkbox::new(&mut with_source, "also delete the source file"),
            )
            .changed()
        {
            out.push(UiAction::Operation(OperationAction::WithSource(
                with_source,
            )));
        }
    }
    if let Some(error) = &open.error {
        ui.label(RichText::new(error).color(RED));
    }
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        let ready = !open.busy && open.plan.is_some();
        if ui.add_enabled(ready, egui::Button::new(confirm)).clicked() {
            out.push(UiAction::Operation(OperationAction::Confirm));
        }
        if ui.button("Cancel").clicked() {
            out.push(UiAction::Operation(OperationAction::Cancel));
        }
        if open.busy {
            ui.spinner();
        }
    });
}
