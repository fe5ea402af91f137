//! Fitting text and line patterns into the image: cutting a label, wrapping an explanation, a legend swatch.

use super::*;

/// `text`, cut with an ellipsis to fit `max_w` pixels in `style`.
pub(super) fn fit(area: &Area<'_>, text: &str, style: &TextStyle<'_>, max_w: u32) -> String {
    let width = |t: &str| area.estimate_text_size(t, style).map(|s| s.0).unwrap_or(0);
    if width(text) <= max_w {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let t: String = chars[..mid].iter().collect::<String>() + "…";
        if width(&t) <= max_w {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    chars[..lo].iter().collect::<String>() + "…"
}

/// The dashes of a legend swatch `width` pixels long: (start, end) pixel offsets; one for a solid line.
pub(super) fn swatch(dash: Option<(u32, u32)>, width: i32) -> Vec<(i32, i32)> {
    let Some((d, g)) = dash else { return vec![(0, width)] };
    // Scaled down so that every pattern shows at least two dashes in the swatch.
    let (d, g) = ((d as i32).clamp(2, 7), (g as i32).clamp(2, 5));
    let mut out = Vec::new();
    let mut at = 0;
    while at < width {
        out.push((at, (at + d).min(width)));
        at += d + g;
    }
    out
}

/// `text` broken into lines at spaces to fit `max_w` pixels at `px`; a word wider than a line is cut into pieces
/// that fit. Nothing is left out.
pub(super) fn wrap(text: &str, px: u32, bold: bool, max_w: u32) -> Vec<String> {
    let fits = |t: &str| text::text_width(t, px, bold) <= max_w;
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let joined = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
        if fits(&joined) {
            line = joined;
            continue;
        }
        if !line.is_empty() {
            out.push(std::mem::take(&mut line));
        }
        // A word wider than a whole line: cut it where it must be.
        let mut rest: Vec<char> = word.chars().collect();
        while !fits(&rest.iter().collect::<String>()) && rest.len() > 1 {
            let mut n = rest.len() - 1;
            while n > 1 && !fits(&rest[..n].iter().collect::<String>()) {
                n -= 1;
            }
            out.push(rest[..n].iter().collect());
            rest.drain(..n);
        }
        line = rest.into_iter().collect();
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}
