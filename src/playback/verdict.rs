//! The verdict line: "plays in browsers and native players", or what fails — playback everywhere
//! (a missing segment, an unreadable manifest) said before browsers only (CORS).

use super::{FormatSection, Severity, Topic, Verdict};

pub(crate) const PLAYS: &str = "plays in browsers and native players";

pub(crate) fn verdict(sections: &[FormatSection]) -> Verdict {
    if sections.is_empty() {
        return Verdict {
            plays: false,
            line: "nothing to check: the job has no HLS, DASH, CMAF or MP4 output URLs".into(),
        };
    }
    let fails = |cors: bool| -> Vec<String> {
        sections
            .iter()
            .filter_map(|s| {
                let mut failing = s
                    .findings
                    .iter()
                    .filter(|f| f.severity == Severity::Fail && (f.topic == Topic::Cors) == cors);
                let first = failing.next()?;
                let more = failing.count();
                let tail = if more > 0 {
                    format!(" (and {more} more)")
                } else {
                    String::new()
                };
                Some(format!("{}: {}{tail}", s.format.label(), first.what))
            })
            .collect()
    };
    let broken = fails(false);
    let cors = fails(true);
    let warnings: usize = sections
        .iter()
        .map(|s| {
            s.findings
                .iter()
                .filter(|f| f.severity == Severity::Warn)
                .count()
        })
        .sum();
    let line = if !broken.is_empty() {
        format!("does not play: {}", broken.join("; "))
    } else if !cors.is_empty() {
        let formats: Vec<&str> = sections
            .iter()
            .filter(|s| {
                s.findings
                    .iter()
                    .any(|f| f.topic == Topic::Cors && f.severity == Severity::Fail)
            })
            .map(|s| s.format.label())
            .collect();
        format!(
            "plays in native players, not in browsers: no CORS answer for {}",
            formats.join(", ")
        )
    } else if warnings > 0 {
        format!(
            "{PLAYS} ({warnings} warning{})",
            if warnings == 1 { "" } else { "s" }
        )
    } else {
        PLAYS.to_owned()
    };
    Verdict {
        plays: broken.is_empty() && cors.is_empty(),
        line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::{Format, FormatSection};

    fn section(format: Format) -> FormatSection {
        FormatSection::new(format, Some("https://d.example/x"))
    }

    #[test]
    fn clean_sections_play() {
        let v = verdict(&[section(Format::Hls), section(Format::Mp4)]);
        assert!(v.plays);
        assert_eq!(v.line, PLAYS);
    }

    #[test]
    fn warnings_still_play() {
        let mut s = section(Format::Hls);
        s.finding(Severity::Warn, Topic::Duration, "long", None, "x");
        let v = verdict(&[s]);
        assert!(v.plays);
        assert_eq!(v.line, format!("{PLAYS} (1 warning)"));
    }

    #[test]
    fn failures_come_before_cors() {
        let mut hls = section(Format::Hls);
        hls.finding(Severity::Fail, Topic::Cors, "no header", None, "x");
        let mut dash = section(Format::Dash);
        dash.finding(
            Severity::Fail,
            Topic::Unreachable,
            "last segment answered 404",
            None,
            "x",
        );
        dash.finding(
            Severity::Fail,
            Topic::Unreachable,
            "first segment answered 404",
            None,
            "x",
        );
        let v = verdict(&[hls.clone(), dash]);
        assert!(!v.plays);
        assert_eq!(
            v.line,
            "does not play: DASH: last segment answered 404 (and 1 more)"
        );
        let v = verdict(&[hls]);
        assert!(!v.plays);
        assert_eq!(
            v.line,
            "plays in native players, not in browsers: no CORS answer for HLS"
        );
    }

    #[test]
    fn no_outputs_is_not_a_pass() {
        let v = verdict(&[]);
        assert!(!v.plays);
    }
}
