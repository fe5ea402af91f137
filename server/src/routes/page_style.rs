//! The look of the server's own small pages (the login form, the share-link notices), shared by `login` and
//! `shares` so neither imports the other.

/// The colours of the server's own small pages (the login form, the share-link notices): the dashboard's dark and
/// light themes, chosen as the dashboard chooses them (`app::theme::HEAD_SCRIPT`, else the system's preference).
pub const PAGE_THEME_CSS: &str = ":root{--bg:#0f1216;--fg:#e6e9ee;--muted:#98a2b3;--line:#3b4552;\
--field:#171b21;--accent:#4cc2ff;--on-accent:#04121c;--bad:#f4677d;color-scheme:dark}\
:root[data-theme=light]{--bg:#f6f8fa;--fg:#1f2328;--muted:#57606a;--line:#afb8c1;--field:#fff;--accent:#0969da;\
--on-accent:#fff;--bad:#c21f2a;color-scheme:light}@media (prefers-color-scheme:light){:root:not([data-theme]){\
--bg:#f6f8fa;--fg:#1f2328;--muted:#57606a;--line:#afb8c1;--field:#fff;--accent:#0969da;--on-accent:#fff;\
--bad:#c21f2a;color-scheme:light}}body{font-family:system-ui,sans-serif;background:var(--bg);color:var(--fg);\
display:grid;place-items:center;min-height:100vh;margin:0}";
