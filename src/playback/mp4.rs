//! The MP4 check: a HEAD of each file (bounded), for whether it is there, its content type and its
//! size. A `<video>` element plays a progressive MP4 without CORS, so no CORS finding here.

use super::fetch::Fetcher;
use super::steps::Checker;
use super::{FormatSection, LadderRow, Topic, rules};
use crate::contract::safe_url::SafeUrl;

pub(crate) async fn check(f: &mut Fetcher<'_>, section: &mut FormatSection, urls: &[String]) {
    let mut c = Checker::new(section);
    let max = f.limits.max_mp4_files;
    if urls.len() > max {
        c.warn(
            Topic::Limit,
            format!(
                "{} MP4 files listed; the first {max} were checked",
                urls.len()
            ),
            None,
            "Nothing to do: the limit keeps a check short.",
        );
    }
    for raw in urls.iter().take(max) {
        let url = match SafeUrl::from_contract(raw) {
            Ok(url) => url,
            Err(why) => {
                c.refused("an MP4 file", raw, &why);
                c.section.ladder.push(LadderRow {
                    kind: "file".into(),
                    name: raw.rsplit('/').next().unwrap_or(raw).to_owned(),
                    ..LadderRow::default()
                });
                continue;
            }
        };
        let name = rules::short_name(url.url());
        let answer = c.head(f, &url, &format!("MP4 file {name}")).await;
        if let Some(answer) = &answer
            && answer.size == Some(0)
        {
            c.fail(
                Topic::Structure,
                format!("MP4 file {name} is empty"),
                Some(url.as_str()),
                "Run the job again.",
            );
        }
        c.section.ladder.push(LadderRow {
            kind: "file".into(),
            ok: answer.as_ref().is_some_and(|a| a.size != Some(0)),
            size_bytes: answer.as_ref().and_then(|a| a.size),
            content_type: answer.and_then(|a| a.content_type),
            name,
            ..LadderRow::default()
        });
    }
    c.finish();
}
