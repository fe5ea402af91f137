//! Light and dark themes. The page follows the browser's `prefers-color-scheme` unless the user picks a theme with
//! the switch in the top bar (kept in `localStorage`); the choice is applied as `data-theme` on `<html>`.
//!
//! The theme is applied before the first paint by [`HEAD_SCRIPT`], an inline script in the shell's `<head>`, so a
//! light-preferring user never sees the dark theme flash (nor on a share link); the stylesheet also follows
//! `prefers-color-scheme` by itself where scripts are off. Once hydrated, [`ThemeSwitch`] changes it and a listener
//! on the media query follows the system's changes while the choice is *Auto*.
//!
//! Canvas charts cannot use CSS, so they read their colours from the CSS custom properties `--chart-bg`,
//! `--chart-grid` and `--chart-text` at draw time ([`chart_colors`]) and redraw when the theme changes: their
//! effects call [`track`], which subscribes them to the theme's epoch.

use leptos::prelude::*;

/// The `localStorage` key of the user's choice (`auto`, `light` or `dark`).
pub const STORAGE_KEY: &str = "tokenscope-theme";

/// Applies the stored choice (else the system's preference) as `data-theme` on `<html>` before the first paint.
/// Kept in step with [`Pref::resolve`]; a storage that throws (privacy modes) counts as no choice.
pub const HEAD_SCRIPT: &str = "(function(){var p=null;try{p=localStorage.getItem('tokenscope-theme')}catch(e){}\
var t=p==='light'||p==='dark'?p:(window.matchMedia&&window.matchMedia('(prefers-color-scheme: light)').matches?\
'light':'dark');document.documentElement.setAttribute('data-theme',t)})()";

/// The user's choice in the theme switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pref {
    /// Follow the system (`prefers-color-scheme`).
    #[default]
    Auto,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Pref {
    /// Every choice, in the switch's order.
    pub const ALL: [Pref; 3] = [Pref::Auto, Pref::Light, Pref::Dark];

    /// The stored value (`auto`, `light`, `dark`), also the `<option>`'s value.
    pub fn as_str(self) -> &'static str {
        match self {
            Pref::Auto => "auto",
            Pref::Light => "light",
            Pref::Dark => "dark",
        }
    }

    /// The switch's words.
    pub fn label(self) -> &'static str {
        match self {
            Pref::Auto => "Auto",
            Pref::Light => "Light",
            Pref::Dark => "Dark",
        }
    }

    /// A stored value; anything else (nothing stored, an old or mangled value) is `Auto`.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("light") => Pref::Light,
            Some("dark") => Pref::Dark,
            _ => Pref::Auto,
        }
    }

    /// The theme applied: `light` or `dark`, given whether the system prefers light.
    pub fn resolve(self, system_light: bool) -> &'static str {
        match self {
            Pref::Light => "light",
            Pref::Dark => "dark",
            Pref::Auto if system_light => "light",
            Pref::Auto => "dark",
        }
    }
}

/// Bumped whenever the theme applied to the page changes; provided in the app's context.
#[derive(Clone, Copy)]
pub struct ThemeEpoch(pub RwSignal<u32>);

/// The user's choice; provided in the app's context.
#[derive(Clone, Copy)]
pub struct ThemePref(pub RwSignal<Pref>);

/// Provides the theme context (call once, in `App`). In the browser it also reads the stored choice and follows
/// the system's preference while the choice is *Auto*.
pub fn provide() {
    let epoch = RwSignal::new(0);
    provide_context(ThemeEpoch(epoch));
    #[cfg(feature = "hydrate")]
    let pref = RwSignal::new(browser::stored());
    #[cfg(not(feature = "hydrate"))]
    let pref = RwSignal::new(Pref::Auto);
    provide_context(ThemePref(pref));
    #[cfg(feature = "hydrate")]
    browser::follow_system(pref, epoch);
}

/// Subscribes the calling effect to theme changes (a no-op outside the app's context).
pub fn track() {
    if let Some(ThemeEpoch(e)) = use_context::<ThemeEpoch>() {
        e.track();
    }
}

/// Tells the charts the theme changed.
pub fn bump() {
    if let Some(ThemeEpoch(e)) = use_context::<ThemeEpoch>() {
        bump_epoch(e);
    }
}

fn bump_epoch(e: RwSignal<u32>) {
    e.update(|n| *n = n.wrapping_add(1));
}

/// The theme switch of the top bar: Auto / Light / Dark, kept in `localStorage`.
#[component]
pub fn ThemeSwitch() -> impl IntoView {
    let pref = use_context::<ThemePref>().map(|ThemePref(p)| p).unwrap_or_else(|| RwSignal::new(Pref::Auto));
    let on_change = move |ev| {
        let chosen = Pref::parse(Some(event_target_value(&ev).as_str()));
        pref.set(chosen);
        #[cfg(feature = "hydrate")]
        {
            browser::store(chosen);
            browser::apply(chosen);
        }
        bump();
    };
    view! {
        <label class="theme-switch" title="Colour theme: Auto follows your system's light or dark setting">
            <span class="visually-hidden">"Theme"</span>
            <select
                data-testid="theme-switch"
                aria-label="Colour theme"
                prop:value=move || pref.get().as_str()
                on:change=on_change
            >
                {Pref::ALL
                    .iter()
                    .map(|p| view! { <option value=p.as_str()>{p.label()}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

/// Colours of a canvas chart: background, grid lines, text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartColors {
    /// Plot background.
    pub bg: (u8, u8, u8),
    /// Grid and axis lines.
    pub grid: (u8, u8, u8),
    /// Tick labels, captions and legend text.
    pub text: (u8, u8, u8),
}

/// The dark theme's chart colours (also used where CSS cannot be read). Same as `--chart-*` in main.css.
pub const DARK: ChartColors = ChartColors { bg: (23, 27, 33), grid: (42, 49, 59), text: (152, 162, 179) };
/// The light theme's chart colours. Same as `--chart-*` under `[data-theme="light"]` in main.css.
pub const LIGHT: ChartColors = ChartColors { bg: (255, 255, 255), grid: (216, 222, 228), text: (87, 96, 106) };

/// Parses `#rrggbb` (as written in main.css).
pub fn parse_hex(s: &str) -> Option<(u8, u8, u8)> {
    let h = s.trim().strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let v = |i: usize| u8::from_str_radix(h.get(i..i + 2)?, 16).ok();
    Some((v(0)?, v(2)?, v(4)?))
}

/// The chart colours of the theme in force, from the CSS custom properties on `<html>`.
#[cfg(feature = "hydrate")]
pub fn chart_colors() -> ChartColors {
    let read = || -> Option<ChartColors> {
        let win = web_sys::window()?;
        let root = win.document()?.document_element()?;
        let style = win.get_computed_style(&root).ok()??;
        let var = |name: &str| style.get_property_value(name).ok().and_then(|v| parse_hex(&v));
        Some(ChartColors { bg: var("--chart-bg")?, grid: var("--chart-grid")?, text: var("--chart-text")? })
    };
    read().unwrap_or(DARK)
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::{closure::Closure, JsCast};

    use super::{Pref, STORAGE_KEY};

    const LIGHT_QUERY: &str = "(prefers-color-scheme: light)";

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    /// The stored choice (`Auto` when none, or when storage is off).
    pub fn stored() -> Pref {
        Pref::parse(storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()).as_deref())
    }

    /// Keeps the choice; where storage is off it lasts until the page is left.
    pub fn store(pref: Pref) {
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, pref.as_str());
        }
    }

    fn system_light() -> bool {
        web_sys::window().and_then(|w| w.match_media(LIGHT_QUERY).ok().flatten()).is_some_and(|m| m.matches())
    }

    /// Sets `data-theme` on `<html>` for `pref`.
    pub fn apply(pref: Pref) {
        let root = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element());
        if let Some(root) = root {
            let _ = root.set_attribute("data-theme", pref.resolve(system_light()));
        }
    }

    /// While the choice is `Auto`, re-applies the theme and tells the charts when the system's preference changes.
    pub fn follow_system(pref: RwSignal<Pref>, epoch: RwSignal<u32>) {
        let Some(query) = web_sys::window().and_then(|w| w.match_media(LIGHT_QUERY).ok().flatten()) else { return };
        let on_change = Closure::<dyn Fn()>::new(move || {
            let p = pref.try_get_untracked().unwrap_or_default();
            if p == Pref::Auto {
                apply(p);
                super::bump_epoch(epoch);
            }
        });
        let _ = query.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        // The listener lives as long as the page (the app is mounted once).
        on_change.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_css_hex_colours() {
        assert_eq!(parse_hex(" #171b21"), Some((23, 27, 33)));
        assert_eq!(parse_hex("#fff"), None);
        assert_eq!(parse_hex("171b21"), None);
        assert_eq!(parse_hex("#zz1b21"), None);
    }

    #[test]
    fn a_choice_resolves_to_a_theme() {
        assert_eq!(Pref::parse(None), Pref::Auto);
        assert_eq!(Pref::parse(Some("bogus")), Pref::Auto);
        for p in Pref::ALL {
            assert_eq!(Pref::parse(Some(p.as_str())), p);
        }
        assert_eq!(Pref::Auto.resolve(true), "light");
        assert_eq!(Pref::Auto.resolve(false), "dark");
        assert_eq!(Pref::Light.resolve(false), "light");
        assert_eq!(Pref::Dark.resolve(true), "dark");
        assert!(HEAD_SCRIPT.contains(STORAGE_KEY) && HEAD_SCRIPT.contains("prefers-color-scheme: light"));
    }

    /// The stylesheet and these constants name the same colours.
    #[test]
    fn the_chart_colours_match_the_stylesheet() {
        let css = include_str!("../../style/main.css");
        let hex = |c: (u8, u8, u8)| format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2);
        let block = |selector: &str| {
            let start = css.find(selector).unwrap_or_else(|| panic!("{selector} in main.css"));
            css[start..].split('}').next().unwrap_or_default().to_owned()
        };
        for (selector, colours) in [(":root {", DARK), (":root[data-theme=\"light\"] {", LIGHT)] {
            let b = block(selector);
            for (var, c) in [("--chart-bg", colours.bg), ("--chart-grid", colours.grid), ("--chart-text", colours.text)]
            {
                assert!(b.contains(&format!("{var}: {};", hex(c))), "{selector} {var} {}", hex(c));
            }
        }
    }

    /// `--name: #rrggbb` pairs of the CSS block that starts at `selector`.
    fn tokens(css: &str, selector: &str) -> Vec<(String, (u8, u8, u8))> {
        let start = css.find(selector).unwrap_or_else(|| panic!("{selector} in main.css"));
        let block = css[start + selector.len()..].split('}').next().unwrap_or_default();
        block
            .split(';')
            .filter_map(|decl| {
                let (name, value) = decl.split_once(':')?;
                let name = name.trim();
                Some((name.strip_prefix("--")?.to_owned(), parse_hex(value)?))
            })
            .collect()
    }

    /// Text, muted text and the tones used as badge and message text reach AA (4.5:1) on every surface of both
    /// themes; the scripts-off copy of the light theme is the light theme.
    #[test]
    fn theme_colours_reach_aa_contrast() {
        let css = include_str!("../../style/main.css");
        let light = tokens(css, ":root[data-theme=\"light\"] {");
        for (name, theme) in [("dark", tokens(css, ":root {")), ("light", light.clone())] {
            let get = |n: &str| theme.iter().find(|(k, _)| k == n).unwrap_or_else(|| panic!("--{n} ({name})")).1;
            for fg in ["text", "muted", "accent", "ok", "warn", "bad", "live", "chart-text"] {
                for bg in ["bg", "panel", "panel-2", "chart-bg"] {
                    let k = contrast(get(fg), get(bg));
                    assert!(k >= 4.5, "{name}: --{fg} on --{bg} is {k:.2}:1");
                }
            }
            assert!(contrast(get("on-accent"), get("accent")) >= 4.5, "{name}: primary button text");
        }
        let fallback = tokens(css, ":root:not([data-theme]) {");
        assert_eq!(fallback, light, "the media query's copy of the light theme differs from the light theme");
    }

    fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }

    fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// Chart lines are graphics: WCAG asks 3:1 against what is around them, on both themes' plots (the dark one is
    /// also the PNG export's panel). Tick text asks 4.5:1.
    #[test]
    fn chart_series_and_text_read_on_both_themes() {
        for (name, c) in [("dark", DARK), ("light", LIGHT)] {
            assert!(contrast(c.text, c.bg) >= 4.5, "{name} chart text: {:.2}", contrast(c.text, c.bg));
            for colour in protocol::chart::PALETTE {
                let k = contrast(colour, c.bg);
                assert!(k >= 3.0, "series colour {colour:?} on the {name} chart: {k:.2}:1");
            }
        }
    }
}
