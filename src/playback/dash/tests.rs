//! Tests of the DASH plan: templates with and without a timeline, lists, single files, expansion.

use super::*;

fn first_rep(mpd: &MPD) -> (&Period, &AdaptationSet, &Representation) {
    representations(mpd).into_iter().next().unwrap()
}

const TIMELINE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT14.5S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" frameRate="30000/1001" segmentAlignment="true">
      <Representation id="0" codecs="avc1.64001f" bandwidth="2000000" width="1280" height="720">
        <SegmentTemplate timescale="1000" initialization="init-$RepresentationID$.m4s" media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
          <SegmentTimeline>
            <S t="0" d="6000" r="1" />
            <S d="2500" />
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4">
      <Representation id="1" codecs="mp4a.40.2" bandwidth="96000" audioSamplingRate="48000">
        <SegmentTemplate timescale="48000" initialization="init-$RepresentationID$.m4s" media="a-$Time$.m4s">
          <SegmentTimeline><S t="0" d="288000" r="-1" /></SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>"#;

#[test]
fn timeline_templates() {
    let mpd = dash_mpd_core::parse(TIMELINE).unwrap();
    let (p, a, r) = first_rep(&mpd);
    let plan = plan(&mpd, p, a, r).unwrap();
    assert_eq!(plan.segments, 3);
    assert!((plan.seconds.unwrap() - 14.5).abs() < 1e-6);
    assert_eq!(plan.init, Some(("init-0.m4s".into(), None)));
    assert_eq!(plan.first, Some(("chunk-0-00001.m4s".into(), None)));
    assert_eq!(plan.last, Some(("chunk-0-00003.m4s".into(), None)));
    let row = row(a, r);
    assert_eq!(row.kind, "video");
    assert_eq!(row.resolution(), "1280x720");
    assert!((row.frame_rate.unwrap() - 29.97).abs() < 0.01);

    // r = -1 repeats to the period's end: 14.5 s in 6 s segments is 3 of them.
    let reps = representations(&mpd);
    let (p, a, r) = reps[1];
    let audio = super::plan(&mpd, p, a, r).unwrap();
    assert_eq!(audio.segments, 3);
    assert_eq!(audio.first, Some(("a-0.m4s".into(), None)));
    assert_eq!(audio.last, Some(("a-576000.m4s".into(), None)));
    assert_eq!(row_kind(a, r), "audio");
}

fn row_kind(a: &AdaptationSet, r: &Representation) -> String {
    row(a, r).kind
}

#[test]
fn duration_templates_use_the_presentation_length() {
    // MediaConvert's DASH group: a template on the adaptation set, $Number$ with a duration.
    let text = r#"<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT1M0.5S" minBufferTime="PT30S">
  <Period start="PT0S" duration="PT1M0.5S">
    <AdaptationSet mimeType="video/mp4" frameRate="30/1">
      <SegmentTemplate timescale="90000" media="g_$Number%09d$.mp4" initialization="g$RepresentationID$init.mp4" duration="540000" startNumber="1"/>
      <Representation id="_720" width="1280" height="720" bandwidth="3000000" codecs="avc1.4d401f"/>
    </AdaptationSet>
  </Period>
</MPD>"#;
    let mpd = dash_mpd_core::parse(text).unwrap();
    let (p, a, r) = first_rep(&mpd);
    let plan = plan(&mpd, p, a, r).unwrap();
    assert_eq!(plan.segments, 11);
    assert_eq!(plan.init, Some(("g_720init.mp4".into(), None)));
    assert_eq!(plan.first, Some(("g_000000001.mp4".into(), None)));
    assert_eq!(plan.last, Some(("g_000000011.mp4".into(), None)));
    assert!((plan.seconds.unwrap() - 60.5).abs() < 1e-6);
}

#[test]
fn segment_lists_and_single_files() {
    let text = r#"<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" minBufferTime="PT2S">
  <Period>
    <BaseURL>media/</BaseURL>
    <AdaptationSet mimeType="video/mp4">
      <Representation id="list" bandwidth="1000">
        <SegmentList timescale="1" duration="5">
          <Initialization sourceURL="init.mp4"/>
          <SegmentURL media="s1.m4s"/>
          <SegmentURL media="s2.m4s" mediaRange="100-199"/>
        </SegmentList>
      </Representation>
      <Representation id="file" bandwidth="2000">
        <BaseURL>video.mp4</BaseURL>
        <SegmentBase indexRange="800-899"><Initialization range="0-799"/></SegmentBase>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>"#;
    let mpd = dash_mpd_core::parse(text).unwrap();
    let reps = representations(&mpd);
    let (p, a, r) = reps[0];
    let list = plan(&mpd, p, a, r).unwrap();
    assert_eq!(list.segments, 2);
    assert_eq!(list.seconds, Some(10.0));
    assert_eq!(list.init, Some(("init.mp4".into(), None)));
    assert_eq!(list.last, Some(("s2.m4s".into(), Some((100, 100)))));
    let (p, a, r) = reps[1];
    let file = plan(&mpd, p, a, r).unwrap();
    assert_eq!(file.segments, 1);
    assert_eq!(file.init, Some((String::new(), Some((0, 800)))));
    let base = SafeUrl::parse("https://d.example/g/dash/x.mpd").unwrap();
    assert_eq!(
        base_url(&base, &mpd, p, a, r).unwrap().as_str(),
        "https://d.example/g/dash/media/video.mp4"
    );
}

#[test]
fn a_hostile_base_url_is_refused() {
    let text = r#"<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" minBufferTime="PT2S">
  <BaseURL>http://internal.example/</BaseURL>
  <Period><AdaptationSet><Representation id="a" bandwidth="1"><SegmentTemplate media="$Number$.m4s" duration="5"/></Representation></AdaptationSet></Period>
</MPD>"#;
    let mpd = dash_mpd_core::parse(text).unwrap();
    let (p, a, r) = first_rep(&mpd);
    let base = SafeUrl::parse("https://d.example/g/x.mpd").unwrap();
    assert!(matches!(
        base_url(&base, &mpd, p, a, r),
        Err((_, UrlRefused::PlainHttp(_)))
    ));
}

#[test]
fn templates_without_duration_or_segments_say_why() {
    let text = r#"<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" minBufferTime="PT2S">
  <Period><AdaptationSet>
    <Representation id="a" bandwidth="1"><SegmentTemplate media="$Number$.m4s"/></Representation>
    <Representation id="b" bandwidth="1"><SegmentTemplate media="$Number$.m4s" duration="5"/></Representation>
    <Representation id="c" bandwidth="1"/>
  </AdaptationSet></Period>
</MPD>"#;
    let mpd = dash_mpd_core::parse(text).unwrap();
    let reps = representations(&mpd);
    let errs: Vec<_> = reps
        .iter()
        .map(|(p, a, r)| plan(&mpd, p, a, r).unwrap_err())
        .collect();
    assert_eq!(
        errs,
        [
            PlanError::NoDuration,
            PlanError::NoPeriodLength,
            PlanError::NoSegments
        ]
    );
}

#[test]
fn template_expansion() {
    assert_eq!(
        expand(
            "c-$RepresentationID$-$Number%05d$.m4s",
            "v1",
            0,
            Some(7),
            None
        ),
        "c-v1-00007.m4s"
    );
    assert_eq!(
        expand("$Time$_$Bandwidth$.m4s", "", 5000, None, Some(90000)),
        "90000_5000.m4s"
    );
    assert_eq!(expand("a$$b", "", 0, None, None), "a$b");
    assert_eq!(expand("x$Unknown$y", "", 0, None, None), "x$Unknown$y");
    assert_eq!(expand("open$Number", "", 0, Some(1), None), "open$Number");
    // A huge width is not honoured (no giant allocation).
    assert_eq!(expand("$Number%0999999d$", "", 0, Some(1), None), "1");
}

#[test]
fn byte_ranges() {
    assert_eq!(byte_range("0-799"), Some((0, 800)));
    assert_eq!(byte_range("9-3"), None);
    assert_eq!(byte_range("x"), None);
}
