//! Exports of an archived run: its requests and GPU telemetry as CSV, a Markdown summary table to paste into a
//! pull request, and its charts as one PNG. Pure formatting and drawing: the routes read the archive and call these.
//! Text from a target or a user is neutralised for each reader ([`text`], `csv::text`).

pub mod csv;
pub mod markdown;
pub mod png;
pub mod text;

/// A file name for an export of run `id`: `tokenscope-<id>-<what>`.
pub fn file_name(id: &str, what: &str) -> String {
    let safe: String = id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    format!("tokenscope-{safe}-{what}")
}

/// A file name for an export named after the run: `tokenscope-<name>-<what>`, the name cut down to letters, digits,
/// `-`, `_` and `.` (other characters become `-`, at most 60 kept); the id when no usable name is left.
pub fn named_file(name: &str, id: &str, what: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_matches(['-', '.']).chars().take(60).collect();
    let slug = slug.trim_end_matches(['-', '.']);
    if slug.is_empty() {
        file_name(id, what)
    } else {
        format!("tokenscope-{slug}-{what}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_after_the_run() {
        assert_eq!(named_file("vLLM c=4", "abc", "charts.png"), "tokenscope-vLLM-c-4-charts.png");
        assert_eq!(named_file(" ../../etc/passwd ", "abc", "x"), "tokenscope-etc-passwd-x");
        assert_eq!(named_file("\"quoted\"; rm", "abc", "x"), "tokenscope-quoted-rm-x");
        assert_eq!(named_file("", "a/b", "charts.png"), "tokenscope-ab-charts.png");
        assert_eq!(named_file("日本語", "id1", "x"), "tokenscope-id1-x");
        assert_eq!(named_file(&"a".repeat(100), "id", "x").len(), "tokenscope--x".len() + 60);
    }
}
