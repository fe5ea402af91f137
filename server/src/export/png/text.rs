//! plotters' bitmap backend with its text drawn by ab_glyph from the DejaVu Sans compiled into the binary.
//!
//! Every drawing call goes to [`BitMapBackend`] except text: plotters 0.3.7's own ab_glyph text places each glyph
//! at its advance without its side bearing (letters sit unevenly: "1" leans on its left neighbour) and guesses
//! the line box, so the charts' labels, legends and title block are laid out here instead — kerned glyph
//! positions on a baseline, a box of ascent + descent for the anchors plotters asks for, the 90° turns of axis
//! captions, and coverage blended into the bitmap.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind, FontStyle,
};

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// The embedded faces: (regular, bold); `None` if they do not parse (a broken build, caught by the tests).
fn faces() -> Option<&'static (FontRef<'static>, FontRef<'static>)> {
    static FACES: OnceLock<Option<(FontRef<'static>, FontRef<'static>)>> = OnceLock::new();
    FACES.get_or_init(|| Some((FontRef::try_from_slice(REGULAR).ok()?, FontRef::try_from_slice(BOLD).ok()?))).as_ref()
}

/// True when the embedded fonts load.
pub fn fonts_ok() -> bool {
    faces().is_some()
}

fn face(style: FontStyle) -> Option<&'static FontRef<'static>> {
    faces().map(|(regular, bold)| if matches!(style, FontStyle::Bold) { bold } else { regular })
}

/// Width in pixels of `text` set at `px` in the regular (or bold) face, as [`TextBackend`] draws it; 0 when the
/// fonts do not load.
pub fn text_width(text: &str, px: u32, bold: bool) -> u32 {
    let style = if bold { FontStyle::Bold } else { FontStyle::Normal };
    face(style).map(|f| set(f, px as f32, text).width.ceil() as u32).unwrap_or(0)
}

/// A line of text set on a baseline: glyphs with their pen positions, and its box (advance width, ascent + descent).
struct Line {
    glyphs: Vec<ab_glyph::Glyph>,
    width: f32,
    height: f32,
}

/// Sets `text` in `font` at `px`; control and bidirectional characters are drawn as their escapes
/// ([`crate::export::text::visible`]), as every other reader of a run's text sees them.
fn set(font: &FontRef<'static>, px: f32, text: &str) -> Line {
    let text = crate::export::text::visible(text);
    let scaled = font.as_scaled(PxScale::from(px));
    let ascent = scaled.ascent();
    let mut x = 0.0;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            x += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(px, point(x, ascent)));
        x += scaled.h_advance(id);
        prev = Some(id);
    }
    Line { glyphs, width: x, height: ascent - scaled.descent() }
}

/// [`BitMapBackend`] drawing text itself (see the module's notes).
pub struct TextBackend<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> TextBackend<'a> {
    /// Draws into `buffer`, RGB, `size.0 × size.1` pixels.
    pub fn with_buffer(buffer: &'a mut [u8], size: (u32, u32)) -> Self {
        TextBackend { inner: BitMapBackend::with_buffer(buffer, size) }
    }
}

type Error<'a> = DrawingErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>;

fn font_error(what: &str) -> Box<dyn std::error::Error + Send + Sync> {
    what.to_owned().into()
}

impl<'a> DrawingBackend for TextBackend<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Error<'a>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Error<'a>> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Error<'a>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> Result<(), Error<'a>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Result<(), Error<'a>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn draw_text<T: BackendTextStyle>(&mut self, text: &str, style: &T, pos: BackendCoord) -> Result<(), Error<'a>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let font = face(style.style()).ok_or_else(|| DrawingErrorKind::FontError(font_error("no embedded font")))?;
        let line = set(font, style.size() as f32, text);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -line.width / 2.0,
            HPos::Right => -line.width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -line.height / 2.0,
            VPos::Bottom => -line.height,
        };
        let trans = style.transform();
        for g in line.glyphs {
            let Some(outline) = font.outline_glyph(g) else { continue };
            let b = outline.px_bounds();
            let mut result = Ok(());
            outline.draw(|gx, gy, coverage| {
                if coverage <= 0.0 || result.is_err() {
                    return;
                }
                let x = (b.min.x + dx).round() as i32 + gx as i32;
                let y = (b.min.y + dy).round() as i32 + gy as i32;
                let (x, y) = trans.transform(x, y);
                let c = BackendColor { alpha: color.alpha * f64::from(coverage.min(1.0)), rgb: color.rgb };
                result = self.inner.draw_pixel((pos.0 + x, pos.1 + y), c);
            });
            result?;
        }
        Ok(())
    }

    fn estimate_text_size<T: BackendTextStyle>(&self, text: &str, style: &T) -> Result<(u32, u32), Error<'a>> {
        let font = face(style.style()).ok_or_else(|| DrawingErrorKind::FontError(font_error("no embedded font")))?;
        let line = set(font, style.size() as f32, text);
        Ok((line.width.ceil() as u32, line.height.ceil() as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_drawn_as_escapes() {
        let Some((regular, _)) = faces() else { panic!("the embedded fonts load") };
        let line = set(regular, 20.0, "a\u{202E}b\0c\u{1b}");
        assert_eq!(line.glyphs.len(), "a\\u{202e}b\\u{0}c\\u{1b}".chars().count());
        let plain = set(regular, 20.0, "abc");
        assert_eq!(plain.glyphs.len(), 3);
    }
}
