//! The report as text for a terminal (`vodesk check`): a table per format, the findings under it,
//! and the verdict last. Everything that came from the record or a manifest goes through
//! [`for_terminal`], so a hostile playlist cannot move the cursor or retitle the window.

use super::{FormatSection, LadderRow, PlaybackReport};
use crate::contract::terminal::for_terminal;
use crate::units::human_bytes;

/// Bits per second as `2.4 Mb/s` or `96 kb/s`.
pub fn bitrate(bits: u64) -> String {
    if bits >= 1_000_000 {
        format!("{:.1} Mb/s", bits as f64 / 1e6)
    } else {
        format!("{} kb/s", bits.div_ceil(1000))
    }
}

/// The cells of a ladder row, in the table's column order (the app shows the same columns).
pub fn cells(row: &LadderRow) -> [String; 9] {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    [
        row.kind.clone(),
        row.name.clone(),
        opt(Some(row.resolution()).filter(|r| !r.is_empty())),
        opt(row
            .bandwidth
            .map(bitrate)
            .or_else(|| row.size_bytes.map(human_bytes))),
        opt(row
            .average_bandwidth
            .map(bitrate)
            .or_else(|| row.content_type.clone())),
        opt(row.codecs.clone()),
        opt(row.frame_rate.map(|f| {
            format!("{f:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        })),
        opt(row.segments.map(|n| format!("{n}"))),
        opt(row.duration_seconds.map(|s| format!("{s:.1} s"))),
    ]
}

/// Column titles for [`cells`]; an MP4 section's rows put size and content type in columns 4 and 5.
pub fn headers(section: &FormatSection) -> [&'static str; 9] {
    if section.format == super::Format::Mp4 {
        [
            "KIND",
            "FILE",
            "RESOLUTION",
            "SIZE",
            "TYPE",
            "CODECS",
            "FPS",
            "SEGMENTS",
            "DURATION",
        ]
    } else {
        [
            "KIND",
            "NAME",
            "RESOLUTION",
            "BANDWIDTH",
            "AVG BW",
            "CODECS",
            "FPS",
            "SEGMENTS",
            "DURATION",
        ]
    }
}

/// The whole report for a terminal.
pub fn render(report: &PlaybackReport) -> String {
    let mut text = String::new();
    let out = &mut text;
    let source = report
        .source_duration_seconds
        .map_or_else(|| "unknown".to_owned(), |s| format!("{s:.1} s"));
    line(
        out,
        &format!(
            "Job {}  (source duration {source}; {} requests in {:.1} s)",
            for_terminal(&report.guid),
            report.requests,
            report.elapsed_ms as f64 / 1000.0
        ),
    );
    for section in &report.sections {
        out.push('\n');
        render_section(out, section);
    }
    line(
        out,
        &format!("\nVerdict: {}", for_terminal(&report.verdict.line)),
    );
    text
}

fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

fn render_section(out: &mut String, section: &FormatSection) {
    let url = section
        .url
        .as_deref()
        .map(|u| format!("  {}", for_terminal(u)))
        .unwrap_or_default();
    line(out, &format!("{}{url}", section.format.label()));
    if let Some(cors) = &section.cors {
        let said = cors.allow_origin.as_deref().map_or_else(
            || "no Access-Control-Allow-Origin".to_owned(),
            |v| format!("Access-Control-Allow-Origin: {}", for_terminal(v)),
        );
        line(
            out,
            &format!(
                "  CORS ({}): {said}  {}",
                super::CHECK_ORIGIN,
                if cors.pass { "pass" } else { "FAIL" }
            ),
        );
    }
    if !section.ladder.is_empty() {
        let mut rows: Vec<Vec<String>> = vec![
            std::iter::once("")
                .chain(headers(section))
                .map(str::to_owned)
                .collect(),
        ];
        for row in &section.ladder {
            let mark = if row.ok { "ok" } else { "FAIL" };
            rows.push(
                std::iter::once(mark.to_owned())
                    .chain(cells(row).iter().map(|c| for_terminal(c).into_owned()))
                    .collect(),
            );
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|i| {
                rows.iter()
                    .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            line(out, &format!("  {}", cells.join("  ").trim_end()));
        }
    }
    for f in &section.findings {
        line(
            out,
            &format!("  {:<4}  {}", f.severity.label(), for_terminal(&f.what)),
        );
        if let Some(url) = &f.url {
            line(out, &format!("        {}", for_terminal(url)));
        }
        line(out, &format!("        fix: {}", for_terminal(&f.fix)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::{CorsCheck, Format, Severity, Topic, Verdict};

    #[test]
    fn renders_tables_findings_and_the_verdict_without_escapes() {
        let mut section = FormatSection::new(Format::Hls, Some("https://d.example/g/master.m3u8"));
        section.cors = Some(CorsCheck {
            allow_origin: Some("*".into()),
            pass: true,
        });
        section.ladder.push(LadderRow {
            kind: "video".into(),
            name: "v0\x1b]0;evil\x07.m3u8".into(),
            width: Some(1280),
            height: Some(720),
            bandwidth: Some(2_400_000),
            average_bandwidth: Some(96_000),
            codecs: Some("avc1.64001f,mp4a.40.2".into()),
            frame_rate: Some(29.97),
            segments: Some(3),
            duration_seconds: Some(14.5),
            ok: true,
            ..LadderRow::default()
        });
        section.finding(
            Severity::Fail,
            Topic::Unreachable,
            "last segment v0_00003.ts of variant v0.m3u8 answered 404",
            Some("https://d.example/g/v0_00003.ts"),
            "restore it",
        );
        let report = PlaybackReport {
            guid: "g".into(),
            source_duration_seconds: Some(14.5),
            sections: vec![section],
            verdict: Verdict {
                plays: false,
                line: "does not play".into(),
            },
            elapsed_ms: 1200,
            requests: 4,
        };
        let text = render(&report);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains("1280x720"), "{text}");
        assert!(text.contains("2.4 Mb/s"), "{text}");
        assert!(text.contains("96 kb/s"), "{text}");
        assert!(text.contains("29.97"), "{text}");
        assert!(text.contains("FAIL  last segment v0_00003.ts"), "{text}");
        assert!(
            text.contains("Access-Control-Allow-Origin: *  pass"),
            "{text}"
        );
        assert!(
            text.trim_end().ends_with("Verdict: does not play"),
            "{text}"
        );
    }
}
