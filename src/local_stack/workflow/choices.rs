//! The state machines' Choice states, as Step Functions evaluates them over the workflow record:
//! `BooleanEquals` matches only a JSON boolean (a string `"true"` matches neither `true` nor
//! `false`), `StringEquals` only a string, `NumericEquals` only a number. The process state
//! machine's three Choices have no default branch, so a value that matches no rule ends the
//! execution with `States.NoChoiceMatched`: no error handler runs, no Error message is sent, and
//! the item stays at Ingest, a silent stall a user only sees by its age (contract §1). The SNS and
//! SQS Choices have a default branch: a non-boolean flag there counts as false.

use serde_json::Value;

use super::Record;

/// Why a process execution stopped at a Choice state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "States.NoChoiceMatched at \"{state}\": {field} is {value}, which no branch matches; the execution failed without calling the error handler, so the job stays at Ingest with no message"
)]
pub(crate) struct NoChoiceMatched {
    /// The Choice state's name in the solution's state machine.
    pub state: &'static str,
    pub field: &'static str,
    /// The value as JSON text (`"yes"`, `null` when absent).
    pub value: String,
}

/// `BooleanEquals` with `true`: only the JSON boolean `true` matches.
pub(crate) fn boolean_is_true(record: &Record, field: &str) -> bool {
    record.get(field) == Some(&Value::Bool(true))
}

/// The process state machine's Choices after the profiler: "Encoding Profile Check",
/// "Accelerated Transcoding Check" and "Frame Capture Check", in that order.
pub(crate) fn process_choices(record: &Record) -> Result<(), NoChoiceMatched> {
    let value_of = |field: &str| {
        record
            .get(field)
            .map_or_else(|| "null".to_owned(), Value::to_string)
    };
    let profile_matches = boolean_is_true(record, "isCustomTemplate")
        || record
            .get("encodingProfile")
            .and_then(Value::as_f64)
            .is_some_and(|p| [2160.0, 1080.0, 720.0].contains(&p));
    if !profile_matches {
        return Err(NoChoiceMatched {
            state: "Encoding Profile Check",
            field: "encodingProfile",
            value: value_of("encodingProfile"),
        });
    }
    let accelerated = record.get("acceleratedTranscoding").and_then(Value::as_str);
    if !accelerated.is_some_and(|mode| ["ENABLED", "PREFERRED", "DISABLED"].contains(&mode)) {
        return Err(NoChoiceMatched {
            state: "Accelerated Transcoding Check",
            field: "acceleratedTranscoding",
            value: value_of("acceleratedTranscoding"),
        });
    }
    if !matches!(record.get("frameCapture"), Some(Value::Bool(_))) {
        return Err(NoChoiceMatched {
            state: "Frame Capture Check",
            field: "frameCapture",
            value: value_of("frameCapture"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_default_record_passes_every_choice() {
        let ok = record(json!({"isCustomTemplate": false, "encodingProfile": 1080,
            "acceleratedTranscoding": "PREFERRED", "frameCapture": false}));
        assert_eq!(process_choices(&ok), Ok(()));
        let custom = record(json!({"isCustomTemplate": true, "encodingProfile": 1080,
            "acceleratedTranscoding": "DISABLED", "frameCapture": true}));
        assert_eq!(process_choices(&custom), Ok(()));
    }

    #[test]
    fn values_no_branch_matches_stop_the_execution_where_step_functions_does() {
        let stalled = |value: Value| process_choices(&record(value)).unwrap_err();
        let frame = stalled(json!({"encodingProfile": 720,
            "acceleratedTranscoding": "PREFERRED", "frameCapture": "yes"}));
        assert_eq!(frame.state, "Frame Capture Check");
        assert_eq!(frame.value, "\"yes\"");
        // The string "true" is not the boolean true.
        let frame = stalled(json!({"encodingProfile": 720,
            "acceleratedTranscoding": "PREFERRED", "frameCapture": "true"}));
        assert_eq!(frame.field, "frameCapture");
        let accelerated = stalled(json!({"encodingProfile": 720,
            "acceleratedTranscoding": "preferred", "frameCapture": true}));
        assert_eq!(accelerated.state, "Accelerated Transcoding Check");
        let missing = stalled(json!({"encodingProfile": 720, "frameCapture": true}));
        assert_eq!(missing.value, "null");
        assert!(missing.to_string().contains("States.NoChoiceMatched"));
    }

    #[test]
    fn boolean_equals_matches_only_the_boolean() {
        let flags = record(json!({"a": true, "b": "true", "c": 1, "d": false}));
        assert!(boolean_is_true(&flags, "a"));
        for field in ["b", "c", "d", "missing"] {
            assert!(!boolean_is_true(&flags, field), "{field}");
        }
    }
}
