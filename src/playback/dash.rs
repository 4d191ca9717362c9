//! The DASH check (the DASH group and the CMAF group's DASH side): the manifest's representations
//! as a ladder, each one's segments worked out from its `SegmentTemplate` (with or without a
//! `SegmentTimeline`), `SegmentList` or `SegmentBase`, and its init, first and last segments probed.
//! Base URLs nest MPD → Period → AdaptationSet → Representation, each resolved against the last.

use dash_mpd_core::{AdaptationSet, MPD, Period, Representation, SegmentTemplate};

use super::fetch::Fetcher;
use super::rules::{self, Resource};
use super::steps::Checker;
use super::{FormatSection, LadderRow, Topic};
use crate::contract::safe_url::{SafeUrl, UrlRefused};

/// Segments listed by one representation: how many, how long, and the URIs (with byte ranges) to
/// probe. URIs are relative to the representation's base URL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) segments: u64,
    pub(crate) seconds: Option<f64>,
    pub(crate) init: Option<(String, Option<(u64, u64)>)>,
    pub(crate) first: Option<(String, Option<(u64, u64)>)>,
    pub(crate) last: Option<(String, Option<(u64, u64)>)>,
}

/// Why a representation's segments could not be worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PlanError {
    #[error("it has no SegmentTemplate, SegmentList, SegmentBase or BaseURL")]
    NoSegments,
    #[error("its SegmentTemplate has neither a SegmentTimeline nor a duration")]
    NoDuration,
    #[error("its SegmentTemplate has a duration but the period's length is not known")]
    NoPeriodLength,
    #[error("its segment list is too long ({0} segments)")]
    TooMany(u64),
}

/// More segments than this in one representation is not a VOD output vodesk checks.
const MAX_SEGMENTS: u64 = 10_000_000;

/// Checks the manifest at `raw_url` (a record's URL: contract form) into `section`.
pub(crate) async fn check(
    f: &mut Fetcher<'_>,
    section: &mut FormatSection,
    raw_url: &str,
    source_seconds: Option<f64>,
) {
    let mut c = Checker::new(section);
    let mpd_url = match SafeUrl::from_contract(raw_url) {
        Ok(url) => url,
        Err(why) => return c.refused("the manifest", raw_url, &why),
    };
    let what = "the manifest";
    let Some(body) = c
        .manifest(f, &mpd_url, Resource::DashManifest, what, true)
        .await
    else {
        return c.finish();
    };
    let mpd = match std::str::from_utf8(&body)
        .map_err(|e| e.to_string())
        .and_then(|text| dash_mpd_core::parse(text).map_err(|e| first_line(&e.to_string())))
    {
        Ok(mpd) => mpd,
        Err(e) => {
            c.fail(
                Topic::Parse,
                format!("the manifest is not an MPD DASH players read: {e}"),
                Some(mpd_url.as_str()),
                "Run the job again; if it repeats, the job template's DASH group is broken.",
            );
            return c.finish();
        }
    };
    if mpd.mpdtype.as_deref() == Some("dynamic") {
        c.warn(
            Topic::Structure,
            "the manifest is dynamic (live): a finished encode's is static",
            Some(mpd_url.as_str()),
            "Run the job again.",
        );
    }
    let reps = representations(&mpd);
    if reps.is_empty() {
        c.fail(
            Topic::Structure,
            "the manifest lists no representations",
            Some(mpd_url.as_str()),
            "Run the job again; if it repeats, check the job template's DASH group.",
        );
        return c.finish();
    }
    let max = f.limits.max_variants;
    if reps.len() > max {
        c.warn(
            Topic::Limit,
            format!(
                "{} representations listed; the first {max} were checked",
                reps.len()
            ),
            Some(mpd_url.as_str()),
            "Nothing to do: the limit keeps a check short.",
        );
    }
    for (period, set, rep) in reps.into_iter().take(max) {
        let mut row = row(set, rep);
        let name = format!("representation {}", row.name);
        let base = match base_url(&mpd_url, &mpd, period, set, rep) {
            Ok(base) => base,
            Err((uri, why)) => {
                c.refused(&name, &uri, &why);
                c.section.ladder.push(row);
                continue;
            }
        };
        match plan(&mpd, period, set, rep) {
            Err(e) => c.fail(
                Topic::Structure,
                format!("{name}: {e}"),
                Some(mpd_url.as_str()),
                "Run the job again; if it repeats, check the job template's DASH group.",
            ),
            Ok(plan) => {
                row.ok = true;
                row.segments = Some(plan.segments);
                row.duration_seconds = plan.seconds;
                if let (Some(total), Some(source)) = (plan.seconds, source_seconds)
                    && row.kind != "text"
                    && let Some(diff) = rules::duration_mismatch(total, source)
                {
                    c.warn(
                        Topic::Duration,
                        format!(
                            "{name} lasts {total:.1} s, the source {source:.1} s ({diff:+.1} s)"
                        ),
                        Some(mpd_url.as_str()),
                        "Part of the video may be missing: check the encode job's output.",
                    );
                }
                let mut probes = Vec::new();
                probes.extend(plan.init.map(|p| ("init segment", p)));
                probes.extend(plan.first.map(|p| ("first segment", p)));
                if plan.segments > 1 {
                    probes.extend(plan.last.map(|p| ("last segment", p)));
                }
                for (label, (uri, range)) in probes {
                    match rules::resolve(&base, &uri) {
                        Ok(url) => {
                            let what =
                                format!("{label} {} of {name}", rules::short_name(url.url()));
                            if !c.probe(f, &url, range, &what).await {
                                row.ok = false;
                            }
                        }
                        Err(why) => {
                            c.refused(&format!("{label} of {name}"), &uri, &why);
                            row.ok = false;
                        }
                    }
                }
            }
        }
        c.section.ladder.push(row);
    }
    c.finish();
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// Every representation with the period and adaptation set it is in, in manifest order.
fn representations(mpd: &MPD) -> Vec<(&Period, &AdaptationSet, &Representation)> {
    mpd.periods
        .iter()
        .flat_map(|p| {
            p.adaptations
                .iter()
                .flat_map(move |a| a.representations.iter().map(move |r| (p, a, r)))
        })
        .collect()
}

fn row(set: &AdaptationSet, rep: &Representation) -> LadderRow {
    let mime = rep.mimeType.as_deref().or(set.mimeType.as_deref());
    let content = rep.contentType.as_deref().or(set.contentType.as_deref());
    let kind = content
        .or_else(|| mime.and_then(|m| m.split('/').next()))
        .unwrap_or("video");
    LadderRow {
        kind: kind.to_ascii_lowercase(),
        name: rep.id.clone().unwrap_or_else(|| "(no id)".into()),
        width: rep.width.or(set.width),
        height: rep.height.or(set.height),
        bandwidth: rep.bandwidth,
        average_bandwidth: None,
        codecs: rep.codecs.clone().or_else(|| set.codecs.clone()),
        frame_rate: rep
            .frameRate
            .as_deref()
            .or(set.frameRate.as_deref())
            .and_then(rules::frame_rate),
        ..LadderRow::default()
    }
}

/// The base URL segments resolve against: the manifest's URL, then each level's first BaseURL.
fn base_url(
    mpd_url: &SafeUrl,
    mpd: &MPD,
    period: &Period,
    set: &AdaptationSet,
    rep: &Representation,
) -> Result<SafeUrl, (String, UrlRefused)> {
    let levels = [
        mpd.base_url.first(),
        period.BaseURL.first(),
        set.BaseURL.first(),
        rep.BaseURL.first(),
    ];
    let mut base = mpd_url.clone();
    for level in levels.into_iter().flatten() {
        // A representation's BaseURL is its file (SegmentBase); the others are folders.
        base = rules::resolve(&base, &level.base).map_err(|e| (level.base.clone(), e))?;
    }
    Ok(base)
}

/// The template that applies: the representation's attributes over the set's over the period's.
fn template(period: &Period, set: &AdaptationSet, rep: &Representation) -> Option<SegmentTemplate> {
    let levels = [
        rep.SegmentTemplate.as_ref(),
        set.SegmentTemplate.as_ref(),
        period.SegmentTemplate.as_ref(),
    ];
    let mut levels = levels.into_iter().flatten();
    let mut merged = levels.next()?.clone();
    for outer in levels {
        merged.media = merged.media.or_else(|| outer.media.clone());
        merged.initialization = merged
            .initialization
            .or_else(|| outer.initialization.clone());
        merged.startNumber = merged.startNumber.or(outer.startNumber);
        merged.timescale = merged.timescale.or(outer.timescale);
        merged.duration = merged.duration.or(outer.duration);
        merged.SegmentTimeline = merged
            .SegmentTimeline
            .or_else(|| outer.SegmentTimeline.clone());
    }
    Some(merged)
}

/// The period's length in seconds: its own duration, else the presentation's.
fn period_seconds(mpd: &MPD, period: &Period) -> Option<f64> {
    period
        .duration
        .or(mpd.mediaPresentationDuration)
        .map(|d| d.as_secs_f64())
}

/// Where a representation's segments are.
pub(crate) fn plan(
    mpd: &MPD,
    period: &Period,
    set: &AdaptationSet,
    rep: &Representation,
) -> Result<Plan, PlanError> {
    let id = rep.id.as_deref().unwrap_or("");
    let bandwidth = rep.bandwidth.unwrap_or(0);
    if let Some(t) = template(period, set, rep) {
        let timescale = t.timescale.filter(|s| *s > 0).unwrap_or(1);
        let start = t.startNumber.unwrap_or(1);
        let init = t
            .initialization
            .as_deref()
            .map(|i| (expand(i, id, bandwidth, None, None), None));
        let media = t.media.as_deref().unwrap_or("");
        let (count, seconds, first_time, last_time) = if let Some(timeline) = &t.SegmentTimeline {
            timeline_span(&timeline.segments, timescale, period_seconds(mpd, period))?
        } else {
            let d = t
                .duration
                .filter(|d| *d > 0.0)
                .ok_or(PlanError::NoDuration)?;
            let total = period_seconds(mpd, period).ok_or(PlanError::NoPeriodLength)?;
            let each = d / timescale as f64;
            let count = (total / each).ceil().max(1.0);
            if count > MAX_SEGMENTS as f64 {
                return Err(PlanError::TooMany(MAX_SEGMENTS));
            }
            let count = count as u64;
            let last_time = count.saturating_sub(1).saturating_mul(d as u64);
            (count, total, 0, last_time)
        };
        let at = |n: u64, time: u64| (expand(media, id, bandwidth, Some(n), Some(time)), None);
        return Ok(Plan {
            segments: count,
            seconds: Some(seconds),
            init,
            first: Some(at(start, first_time)),
            last: Some(at(start.saturating_add(count.saturating_sub(1)), last_time)),
        });
    }
    let list = rep
        .SegmentList
        .as_ref()
        .or(set.SegmentList.as_ref())
        .or(period.SegmentList.as_ref());
    if let Some(list) = list {
        let timescale = list.timescale.filter(|s| *s > 0).unwrap_or(1);
        let entry = |s: &dash_mpd_core::SegmentURL| {
            (
                s.media.clone().unwrap_or_default(),
                s.mediaRange.as_deref().and_then(byte_range),
            )
        };
        let count = list.segment_urls.len() as u64;
        return Ok(Plan {
            segments: count,
            seconds: list
                .duration
                .map(|d| (d as f64 / timescale as f64) * count as f64),
            init: list.Initialization.as_ref().map(|i| {
                (
                    i.sourceURL.clone().unwrap_or_default(),
                    i.range.as_deref().and_then(byte_range),
                )
            }),
            first: list.segment_urls.first().map(entry),
            last: list.segment_urls.last().map(entry),
        });
    }
    // SegmentBase, or a bare BaseURL: one file (the base URL itself), its index and init inside.
    if rep.SegmentBase.is_some() || !rep.BaseURL.is_empty() {
        let init = rep
            .SegmentBase
            .as_ref()
            .and_then(|b| b.Initialization.as_ref())
            .and_then(|i| i.range.as_deref().and_then(byte_range))
            .map(|r| (String::new(), Some(r)));
        return Ok(Plan {
            segments: 1,
            seconds: period_seconds(mpd, period),
            init,
            first: Some((String::new(), None)),
            last: None,
        });
    }
    Err(PlanError::NoSegments)
}

/// Count, seconds, and the first and last segments' start times of a timeline. `r = -1` repeats to
/// the end of the period.
fn timeline_span(
    entries: &[dash_mpd_core::S],
    timescale: u64,
    period_seconds: Option<f64>,
) -> Result<(u64, f64, u64, u64), PlanError> {
    let mut count: u64 = 0;
    let mut time: Option<u64> = None;
    let mut first_time = None;
    let mut last_time = 0;
    let period_end = period_seconds.map(|s| (s * timescale as f64) as u64);
    let mut start_time = 0;
    for (i, s) in entries.iter().enumerate() {
        let t = s.t.or(time).unwrap_or(0);
        if i == 0 {
            start_time = t;
        }
        let d = s.d.max(1);
        let repeats = match s.r {
            Some(r) if r >= 0 => r.unsigned_abs(),
            Some(_) => {
                // Up to the next S's t, else the period's end.
                let end = entries
                    .get(i + 1)
                    .and_then(|next| next.t)
                    .or(period_end)
                    .unwrap_or(t.saturating_add(d));
                end.saturating_sub(t).div_ceil(d).saturating_sub(1)
            }
            None => 0,
        };
        count = count.saturating_add(repeats.saturating_add(1));
        if count > MAX_SEGMENTS {
            return Err(PlanError::TooMany(MAX_SEGMENTS));
        }
        first_time.get_or_insert(t);
        last_time = t.saturating_add(repeats.saturating_mul(d));
        time = Some(last_time.saturating_add(d));
    }
    let end = time.unwrap_or(0);
    let seconds = end.saturating_sub(start_time) as f64 / timescale as f64;
    Ok((count, seconds, first_time.unwrap_or(0), last_time))
}

/// `first-last` as DASH writes a byte range: (offset, length).
fn byte_range(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.trim().split_once('-')?;
    let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
    (b >= a).then(|| (a, (b - a).saturating_add(1)))
}

/// A template with its identifiers filled in: `$RepresentationID$`, `$Bandwidth$`, `$Number$` and
/// `$Time$` (each with an optional `%0Nd` width), and `$$`.
pub(crate) fn expand(
    template: &str,
    id: &str,
    bandwidth: u64,
    number: Option<u64>,
    time: Option<u64>,
) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('$') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('$') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let token = &after[..close];
        let (name, width) = match token.split_once('%') {
            Some((name, fmt)) => (
                name,
                fmt.trim_start_matches('0')
                    .trim_end_matches('d')
                    .parse::<usize>()
                    .ok()
                    .filter(|w| *w <= 32),
            ),
            None => (token, None),
        };
        let value = match name {
            "" => Some("$".to_owned()),
            "RepresentationID" => Some(id.to_owned()),
            "Bandwidth" => Some(bandwidth.to_string()),
            "Number" => number.map(|n| n.to_string()),
            "Time" => time.map(|t| t.to_string()),
            _ => None,
        };
        match value {
            Some(v) => {
                let w = width.unwrap_or(0);
                out.push_str(&format!("{v:0>w$}"));
            }
            // Unknown identifiers stay as written: the probe will say the segment is not there.
            None => {
                out.push('$');
                out.push_str(token);
                out.push('$');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
