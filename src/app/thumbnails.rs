//! The window's side of thumbnails: which (URL, size) pairs the views want, the GPU textures made from
//! finished loads, and the memory bound on them. No async and no AWS here — the app asks
//! [`ThumbnailBook::take_requests`] what to fetch, sends those to the engine (which uses
//! `crate::aws::thumbnails`), and hands each result back through [`ThumbnailBook::finish`].

use std::collections::HashMap;

use eframe::egui::{
    self, Align2, Color32, ColorImage, CornerRadius, FontId, Rect, Sense, Stroke, StrokeKind,
    TextureHandle, TextureOptions, Vec2, pos2,
};

use crate::aws::thumbnails::Thumbnail;

/// How big a thumbnail is wanted. Each size is its own entry (and its own fetch), so a list of rows
/// never holds 640-pixel textures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThumbSize {
    /// A row of the jobs table.
    Row,
    /// The detail pane.
    Large,
}

impl ThumbSize {
    /// The longest edge, in pixels, the fetcher scales down to.
    pub fn max_edge(self) -> u32 {
        match self {
            ThumbSize::Row => 96,
            ThumbSize::Large => 640,
        }
    }
}

/// What to draw for a thumbnail this frame.
pub enum ThumbnailView<'a> {
    Loading,
    Ready(&'a TextureHandle),
    Failed(&'a str),
}

// By hand: `TextureHandle` has no Debug.
impl std::fmt::Debug for ThumbnailView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ThumbnailView::Loading => f.write_str("Loading"),
            ThumbnailView::Ready(texture) => write!(f, "Ready({:?})", texture.id()),
            ThumbnailView::Failed(reason) => write!(f, "Failed({reason:?})"),
        }
    }
}

enum State {
    /// Asked for (or about to be); a `finish` is expected.
    Loading,
    Ready(TextureHandle),
    Failed(String),
}

struct Entry {
    state: State,
    /// The tick of the last `view`: eviction drops the smallest.
    last_viewed: u64,
}

type Key = (String, ThumbSize);

/// The thumbnails the window knows about. Finished entries (textures and failures) are bounded by
/// `max_textures`; the least recently viewed go first and are simply forgotten, so a later view asks
/// again. Entries still loading are not evicted: each is settled by exactly one `finish`, so they cannot
/// pile up beyond what was asked for, and dropping them would only make a view ask for them again
/// every frame while the first fetch is still running.
pub struct ThumbnailBook {
    entries: HashMap<Key, Entry>,
    requests: Vec<Key>,
    max_textures: usize,
    finished: usize,
    tick: u64,
}

impl ThumbnailBook {
    /// `max_textures` should exceed the number of thumbnails on screen at once, or visible ones will
    /// evict each other and be fetched again (from the disk cache) over and over.
    pub fn new(max_textures: usize) -> Self {
        Self {
            entries: HashMap::new(),
            requests: Vec::new(),
            max_textures: max_textures.max(1),
            finished: 0,
            tick: 0,
        }
    }

    /// What to show for (url, size) this frame. The first call for a key marks it requested and returns
    /// Loading; the app sends the fetch command for every key returned by `take_requests`.
    pub fn view(&mut self, url: &str, size: ThumbSize) -> ThumbnailView<'_> {
        self.tick += 1;
        let tick = self.tick;
        let key = (url.to_owned(), size);
        let entry = self.entries.entry(key).or_insert_with_key(|key| {
            self.requests.push(key.clone());
            Entry {
                state: State::Loading,
                last_viewed: tick,
            }
        });
        entry.last_viewed = tick;
        match &entry.state {
            State::Loading => ThumbnailView::Loading,
            State::Ready(texture) => ThumbnailView::Ready(texture),
            State::Failed(reason) => ThumbnailView::Failed(reason),
        }
    }

    /// The keys first viewed since the last call, oldest first; each is returned once.
    pub fn take_requests(&mut self) -> Vec<(String, ThumbSize)> {
        std::mem::take(&mut self.requests)
    }

    /// A finished load: makes the texture or records the failure. A result for a key that is not
    /// waiting (forgotten meanwhile, or already settled) is dropped: nobody is showing it.
    pub fn finish(
        &mut self,
        ctx: &egui::Context,
        url: &str,
        size: ThumbSize,
        result: Result<Thumbnail, String>,
    ) {
        let key = (url.to_owned(), size);
        let Some(entry) = self.entries.get_mut(&key) else {
            return;
        };
        if !matches!(entry.state, State::Loading) {
            return;
        }
        entry.state = match result.and_then(|thumb| to_color_image(ctx, &thumb)) {
            Ok(image) => {
                // The name is only for egui's debug views; the query (never present in contract URLs,
                // but possibly a signature elsewhere) is left out.
                let name = format!(
                    "thumbnail {size:?} {}",
                    url.split('?').next().unwrap_or(url)
                );
                State::Ready(ctx.load_texture(name, image, TextureOptions::LINEAR))
            }
            Err(reason) => State::Failed(reason),
        };
        self.finished += 1;
        self.evict_over_bound(&key);
    }

    /// How many entries the book holds: textures, failures and loads still running.
    /// Whether `(url, size)` has a texture, without counting as a view.
    pub fn is_ready(&self, url: &str, size: ThumbSize) -> bool {
        self.entries
            .get(&(url.to_owned(), size))
            .is_some_and(|e| matches!(e.state, State::Ready(_)))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets the least recently viewed finished entries (never `keep`, the one just finished) until
    /// at most `max_textures` remain. Dropping a `TextureHandle` frees the texture.
    fn evict_over_bound(&mut self, keep: &Key) {
        while self.finished > self.max_textures {
            let oldest = self
                .entries
                .iter()
                .filter(|(key, entry)| *key != keep && !matches!(entry.state, State::Loading))
                .min_by_key(|(_, entry)| entry.last_viewed)
                .map(|(key, _)| key.clone());
            let Some(oldest) = oldest else { break };
            self.entries.remove(&oldest);
            self.finished -= 1;
        }
    }
}

/// Checks the pixels before egui sees them: `from_rgba_unmultiplied` panics on a length mismatch and
/// textures have a maximum side.
fn to_color_image(ctx: &egui::Context, thumb: &Thumbnail) -> Result<ColorImage, String> {
    let (w, h) = (thumb.width as usize, thumb.height as usize);
    if w == 0 || h == 0 || w.checked_mul(h).and_then(|n| n.checked_mul(4)) != Some(thumb.rgba.len())
    {
        return Err("the thumbnail's pixels are damaged".to_owned());
    }
    let max_side = ctx.input(|i| i.max_texture_side);
    if w > max_side || h > max_side {
        return Err(format!("image too large to show ({w}×{h} pixels)"));
    }
    Ok(ColorImage::from_rgba_unmultiplied([w, h], &thumb.rgba))
}

/// `content` scaled to fit inside `bounds` (keeping its aspect), centred.
fn fit_rect(bounds: Rect, content: Vec2) -> Rect {
    if content.x <= 0.0 || content.y <= 0.0 {
        return bounds;
    }
    let scale = (bounds.width() / content.x).min(bounds.height() / content.y);
    Rect::from_center_size(bounds.center(), content * scale)
}

/// Draws the thumbnail for `url` fitted into `box_size`: the image when ready, a spinner while it
/// loads, a film-frame placeholder when there is no URL, and a warning mark (reason on hover) when it
/// failed. Asks for nothing while the box is off screen, so long lists fetch only what is seen.
pub fn show(
    ui: &mut egui::Ui,
    book: &mut ThumbnailBook,
    url: Option<&str>,
    size: ThumbSize,
    box_size: Vec2,
) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(box_size, Sense::hover());
    if !ui.is_rect_visible(rect) {
        return response;
    }
    let visuals = ui.visuals();
    let neutral = visuals.faint_bg_color;
    let ink = visuals.weak_text_color();
    let radius = CornerRadius::same(3);

    let Some(url) = url else {
        paint_film_frame(ui, rect, neutral, ink);
        return response;
    };
    // Copy out what to draw: the view borrows the book, the painter borrows the Ui.
    enum Draw {
        Loading,
        Ready(egui::TextureId, Vec2),
        Failed(String),
    }
    let draw = match book.view(url, size) {
        ThumbnailView::Loading => Draw::Loading,
        ThumbnailView::Ready(texture) => Draw::Ready(texture.id(), texture.size_vec2()),
        ThumbnailView::Failed(reason) => Draw::Failed(reason.to_owned()),
    };
    match draw {
        Draw::Loading => {
            ui.painter().rect_filled(rect, radius, neutral);
            let side = rect.width().min(rect.height()).clamp(8.0, 24.0);
            egui::Spinner::new()
                .color(ink)
                .paint_at(ui, Rect::from_center_size(rect.center(), Vec2::splat(side)));
            response
        }
        Draw::Ready(id, texture_size) => {
            let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
            ui.painter()
                .image(id, fit_rect(rect, texture_size), uv, Color32::WHITE);
            response
        }
        Draw::Failed(reason) => {
            let fill = Color32::from_rgba_unmultiplied(200, 60, 50, 60);
            let painter = ui.painter();
            painter.rect_filled(rect, radius, fill);
            painter.rect_stroke(
                rect,
                radius,
                Stroke::new(1.0, Color32::from_rgb(200, 60, 50)),
                StrokeKind::Inside,
            );
            let font = FontId::proportional((rect.height() * 0.4).clamp(10.0, 28.0));
            painter.text(
                rect.center(),
                Align2::CENTER_CENTER,
                "⚠",
                font,
                Color32::from_rgb(220, 80, 60),
            );
            response.on_hover_text(format!("No thumbnail: {reason}"))
        }
    }
}

/// A frame of film: a neutral box with sprocket holes along the top and bottom edges.
fn paint_film_frame(ui: &egui::Ui, rect: Rect, fill: Color32, ink: Color32) {
    let painter = ui.painter();
    painter.rect_filled(rect, CornerRadius::same(3), fill);
    let hole = (rect.height() * 0.1).clamp(2.0, 6.0);
    let holes = ((rect.width() / (hole * 2.5)).floor() as usize).clamp(1, 24);
    let step = rect.width() / holes as f32;
    for i in 0..holes {
        let x = rect.left() + step * (i as f32 + 0.5);
        for y in [rect.top() + hole, rect.bottom() - hole] {
            painter.rect_filled(
                Rect::from_center_size(pos2(x, y), Vec2::splat(hole)),
                CornerRadius::same(1),
                ink.gamma_multiply(0.5),
            );
        }
    }
    let inner = rect.shrink2(Vec2::new(hole, hole * 2.2));
    painter.rect_stroke(
        inner,
        CornerRadius::same(2),
        Stroke::new(1.0, ink.gamma_multiply(0.6)),
        StrokeKind::Inside,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thumb(w: u32, h: u32) -> Thumbnail {
        Thumbnail {
            width: w,
            height: h,
            rgba: vec![128; (w * h * 4) as usize],
        }
    }

    fn url(i: usize) -> String {
        format!("https://cf.example/g/thumbnails/clip {i}_thumb.0000000.jpg")
    }

    #[test]
    fn the_first_view_requests_once() {
        let mut book = ThumbnailBook::new(8);
        assert!(matches!(
            book.view(&url(1), ThumbSize::Row),
            ThumbnailView::Loading
        ));
        assert!(matches!(
            book.view(&url(1), ThumbSize::Row),
            ThumbnailView::Loading
        ));
        assert!(matches!(
            book.view(&url(1), ThumbSize::Large),
            ThumbnailView::Loading
        ));
        assert_eq!(
            book.take_requests(),
            vec![(url(1), ThumbSize::Row), (url(1), ThumbSize::Large)]
        );
        assert!(book.take_requests().is_empty());
        book.view(&url(1), ThumbSize::Row);
        assert!(
            book.take_requests().is_empty(),
            "still loading: not asked again"
        );
        assert_eq!(book.len(), 2);
    }

    #[test]
    fn finish_makes_a_texture_or_remembers_the_failure() {
        let ctx = egui::Context::default();
        let mut book = ThumbnailBook::new(8);
        book.view(&url(1), ThumbSize::Row);
        book.view(&url(2), ThumbSize::Row);
        book.take_requests();
        book.finish(&ctx, &url(1), ThumbSize::Row, Ok(thumb(96, 54)));
        book.finish(
            &ctx,
            &url(2),
            ThumbSize::Row,
            Err("not an image".to_owned()),
        );
        match book.view(&url(1), ThumbSize::Row) {
            ThumbnailView::Ready(t) => assert_eq!(t.size(), [96, 54]),
            other => panic!("{other:?}"),
        }
        match book.view(&url(2), ThumbSize::Row) {
            ThumbnailView::Failed(reason) => assert_eq!(reason, "not an image"),
            other => panic!("{other:?}"),
        }
        assert!(book.take_requests().is_empty(), "failures are not retried");
        // A second result for a settled key changes nothing.
        book.finish(&ctx, &url(2), ThumbSize::Row, Ok(thumb(4, 4)));
        assert!(matches!(
            book.view(&url(2), ThumbSize::Row),
            ThumbnailView::Failed(_)
        ));
    }

    #[test]
    fn damaged_pixels_fail_instead_of_panicking() {
        let ctx = egui::Context::default();
        let mut book = ThumbnailBook::new(8);
        book.view(&url(1), ThumbSize::Row);
        book.view(&url(2), ThumbSize::Row);
        let mut short = thumb(10, 10);
        short.rgba.pop();
        book.finish(&ctx, &url(1), ThumbSize::Row, Ok(short));
        book.finish(&ctx, &url(2), ThumbSize::Row, Ok(thumb(0, 0)));
        assert!(matches!(
            book.view(&url(1), ThumbSize::Row),
            ThumbnailView::Failed(_)
        ));
        assert!(matches!(
            book.view(&url(2), ThumbSize::Row),
            ThumbnailView::Failed(_)
        ));
    }

    #[test]
    fn results_nobody_waits_for_are_dropped() {
        let ctx = egui::Context::default();
        let mut book = ThumbnailBook::new(8);
        book.finish(&ctx, &url(1), ThumbSize::Row, Ok(thumb(4, 4)));
        assert_eq!(book.len(), 0);
        assert!(matches!(
            book.view(&url(1), ThumbSize::Row),
            ThumbnailView::Loading
        ));
        assert_eq!(book.take_requests().len(), 1);
    }

    #[test]
    fn the_least_recently_viewed_are_evicted_and_asked_for_again() {
        let ctx = egui::Context::default();
        let mut book = ThumbnailBook::new(3);
        for i in 0..3 {
            book.view(&url(i), ThumbSize::Row);
        }
        book.take_requests();
        for i in 0..3 {
            book.finish(&ctx, &url(i), ThumbSize::Row, Ok(thumb(8, 8)));
        }
        // Viewing 0 again makes 1 the least recently viewed.
        book.view(&url(0), ThumbSize::Row);
        book.view(&url(3), ThumbSize::Row);
        assert_eq!(book.len(), 4, "a running load is kept beside a full book");
        book.finish(
            &ctx,
            &url(3),
            ThumbSize::Row,
            Err("the thumbnail server answered 404".into()),
        );
        assert_eq!(book.len(), 3, "failures count toward the bound");
        assert!(book.take_requests().len() == 1);
        assert!(matches!(
            book.view(&url(0), ThumbSize::Row),
            ThumbnailView::Ready(_)
        ));
        assert!(matches!(
            book.view(&url(2), ThumbSize::Row),
            ThumbnailView::Ready(_)
        ));
        assert!(matches!(
            book.view(&url(3), ThumbSize::Row),
            ThumbnailView::Failed(_)
        ));
        assert!(book.take_requests().is_empty());
        // 1 was forgotten: viewing it asks again.
        assert!(matches!(
            book.view(&url(1), ThumbSize::Row),
            ThumbnailView::Loading
        ));
        assert_eq!(book.take_requests(), vec![(url(1), ThumbSize::Row)]);
    }

    #[test]
    fn textures_stay_bounded_over_a_long_scroll() {
        let ctx = egui::Context::default();
        let mut book = ThumbnailBook::new(16);
        for i in 0..200 {
            book.view(&url(i), ThumbSize::Row);
            for (u, s) in book.take_requests() {
                book.finish(&ctx, &u, s, Ok(thumb(4, 3)));
            }
            assert!(book.len() <= 16);
        }
        // The 16 most recent are the ones kept.
        for i in 184..200 {
            assert!(matches!(
                book.view(&url(i), ThumbSize::Row),
                ThumbnailView::Ready(_)
            ));
        }
        assert!(book.take_requests().is_empty());
        // Only the kept textures are alive in egui.
        let alive = ctx.tex_manager().read().num_allocated();
        assert!(alive <= 16 + 1, "{alive} textures allocated"); // + egui's font atlas
    }

    #[test]
    fn fit_rect_keeps_the_aspect() {
        let bounds = Rect::from_min_size(pos2(0.0, 0.0), Vec2::new(160.0, 90.0));
        let r = fit_rect(bounds, Vec2::new(96.0, 96.0));
        assert_eq!(r.size(), Vec2::new(90.0, 90.0));
        assert_eq!(r.center(), bounds.center());
        let r = fit_rect(bounds, Vec2::new(320.0, 90.0));
        assert_eq!(r.size(), Vec2::new(160.0, 45.0));
    }

    #[test]
    fn show_draws_every_state_without_panicking() {
        let ctx = egui::Context::default();
        let mut book = ThumbnailBook::new(8);
        let frame = |book: &mut ThumbnailBook| {
            let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
                show(ui, book, None, ThumbSize::Row, Vec2::new(96.0, 54.0));
                show(
                    ui,
                    book,
                    Some(&url(1)),
                    ThumbSize::Row,
                    Vec2::new(96.0, 54.0),
                );
                show(
                    ui,
                    book,
                    Some(&url(2)),
                    ThumbSize::Large,
                    Vec2::new(320.0, 180.0),
                );
            });
            // No renderer here: the texture uploads are dropped on purpose.
            output.textures_delta.clear();
        };
        frame(&mut book);
        assert_eq!(book.take_requests().len(), 2);
        book.finish(&ctx, &url(1), ThumbSize::Row, Ok(thumb(96, 54)));
        book.finish(&ctx, &url(2), ThumbSize::Large, Err("timed out".into()));
        frame(&mut book);
        assert!(book.take_requests().is_empty());
    }
}
