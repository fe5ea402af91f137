//! Text from outside — a target's answers, a user's run names and model ids — made safe for where it is shown:
//! [`visible`] for a terminal or an image (no control or bidirectional-override characters reach the reader as
//! themselves), [`clip`] for a short snippet of a target's error body, [`inline`] for Markdown, and [`target`]
//! for a target URL without its credentials. Formula neutralising for spreadsheets lives with the CSV writer
//! (`export::csv::text`).

use std::borrow::Cow;

/// True for the characters that reorder or hide the text around them: the bidirectional marks, embeddings,
/// overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// How a character is shown: as itself, as a space (tab and line breaks), or escaped (`\u{1b}`).
enum Shown {
    Itself,
    Space,
    Escaped,
}

fn shown(c: char) -> Shown {
    match c {
        '\t' | '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => Shown::Space,
        c if c.is_control() || is_bidi_control(c) => Shown::Escaped,
        _ => Shown::Itself,
    }
}

/// `s` with every control character (C0 with NUL and ESC, DEL, C1) and every bidirectional control character
/// replaced by a visible escape (`\u{1b}`, `\u{202e}`), and tabs and line breaks by a space: what a terminal, an
/// image or a table cell may show without being rewritten or reordered. Borrowed when nothing needed replacing.
pub fn visible(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| matches!(shown(c), Shown::Itself)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match shown(c) {
            Shown::Itself => out.push(c),
            Shown::Space => out.push(' '),
            Shown::Escaped => out.push_str(&c.escape_unicode().to_string()),
        }
    }
    Cow::Owned(out)
}

/// [`visible`] `s`, cut to at most `max_chars` characters (an ellipsis ending a cut one), surrounding whitespace
/// trimmed: a short, harmless snippet of something a target sent.
pub fn clip(s: &str, max_chars: usize) -> String {
    let v = visible(s);
    let v = v.trim();
    if v.chars().count() <= max_chars {
        return v.to_owned();
    }
    let mut out: String = v.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `s` as inline Markdown text that shows as itself and nothing more: HTML's `& < > "` as entities; Markdown's
/// inline metacharacters (`` \ ` * _ [ ] | ! ~ $ ``) backslash-escaped, and a leading `#`, `+`, `-` or `=` too
/// (so no emphasis, code, link, image, math, table cell break, heading or list); control and bidirectional
/// characters as visible escapes (`\u{202e}`); line breaks as spaces. Safe in a table cell. Not for code spans
/// (backslashes show there): place the result in plain text.
pub fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let lead = s.len() - s.trim_start_matches(|c| c == ' ' || matches!(shown(c), Shown::Space)).len();
    for (i, c) in s.char_indices() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '!' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '+' | '-' | '=' if i == lead => {
                out.push('\\');
                out.push(c);
            }
            c => match shown(c) {
                Shown::Itself => out.push(c),
                Shown::Space => out.push(' '),
                // `\\u{…}`: the backslash escaped, so Markdown shows `\u{202e}`.
                Shown::Escaped => {
                    out.push('\\');
                    out.push_str(&c.escape_unicode().to_string());
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_controls_and_bidi_overrides() {
        assert!(matches!(visible("plain text, ünïcode ✓"), Cow::Borrowed(_)));
        assert_eq!(visible("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(visible("nul\0end"), "nul\\u{0}end");
        assert_eq!(visible("abc\u{202E}fed"), "abc\\u{202e}fed");
        assert_eq!(visible("\u{2066}x\u{2069}\u{200E}\u{200F}"), "\\u{2066}x\\u{2069}\\u{200e}\\u{200f}");
        assert_eq!(visible("line\r\nnext\tcol"), "line  next col");
        assert_eq!(visible("\u{7f}\u{9b}"), "\\u{7f}\\u{9b}", "DEL and the C1 CSI");
    }

    #[test]
    fn clip_keeps_a_short_visible_snippet() {
        assert_eq!(clip("  short\n", 200), "short");
        let long = "x".repeat(500);
        let c = clip(&long, 200);
        assert_eq!(c.chars().count(), 200);
        assert!(c.ends_with('…'));
        assert_eq!(clip("\u{1b}]0;title\u{7}", 200), "\\u{1b}]0;title\\u{7}");
    }

    #[test]
    fn inline_markdown_shows_as_itself() {
        assert_eq!(inline("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(inline("<img src=x onerror=\"alert(1)\">"), "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
        assert_eq!(inline("a|b"), "a\\|b");
        assert_eq!(inline("# head #1"), "\\# head #1", "a heading only at the start");
        assert_eq!(inline("  - item"), "  \\- item");
        assert_eq!(inline("=HYPERLINK(x) c=4"), "\\=HYPERLINK(x) c=4");
        assert_eq!(inline("![x](http://e/i.png)"), "\\!\\[x\\](http://e/i.png)");
        assert_eq!(inline("$x^2$ ~~s~~"), "\\$x^2\\$ \\~\\~s\\~\\~");
        assert_eq!(inline("*b* _i_ `c` \\"), "\\*b\\* \\_i\\_ \\`c\\` \\\\");
        assert_eq!(inline("a & b"), "a &amp; b");
        assert_eq!(inline("nul\0x"), "nul\\\\u{0}x");
        assert_eq!(inline("evil\u{202E}gnp.exe"), "evil\\\\u{202e}gnp.exe");
        assert_eq!(inline("two\nlines"), "two lines");
        assert!(!inline("x\u{1b}[31m").contains('\u{1b}'));
    }

    #[test]
    fn target_urls_lose_their_credentials() {
        use protocol::spec::redact_target;
        assert_eq!(redact_target("http://user:pw@host:8000/v1"), "http://host:8000/v1");
        assert_eq!(redact_target("https://tok@h"), "https://h");
        assert_eq!(redact_target("http://h:8000/a@b"), "http://h:8000/a@b", "an @ in the path is not userinfo");
        assert_eq!(redact_target("http://a:b@c@h/x"), "http://h/x");
        assert!(matches!(redact_target("http://127.0.0.1:8000"), Cow::Borrowed(_)));
        assert_eq!(redact_target("not a url"), "not a url");
    }
}
