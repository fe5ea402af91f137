//! "charts (PNG)" on the run page: every chart canvas of the page, with its caption and section heading, stacked
//! into one PNG that the browser downloads. Done in the browser on purpose: the charts are already drawn there with
//! the browser's fonts, while drawing them on the server would need a font renderer and system font libraries.

use leptos::prelude::*;

/// Space around and between the charts, pixels.
pub const PAD_PX: u32 = 12;
/// Height of a caption line above each chart, pixels.
pub const CAPTION_PX: u32 = 22;

/// Size of the stacked image for charts of the given (width, height) under `headings` section headings: the
/// widest chart plus padding, and every heading, and every chart with its caption, one under another.
pub fn stacked_size(charts: &[(u32, u32)], headings: u32) -> (u32, u32) {
    let width = charts.iter().map(|c| c.0).max().unwrap_or(0) + 2 * PAD_PX;
    let height = charts.iter().map(|c| c.1 + CAPTION_PX + PAD_PX).sum::<u32>() + headings * CAPTION_PX + PAD_PX;
    (width, height)
}

/// A button that downloads the page's charts as `tokenscope-<id>-charts.png`.
#[component]
pub fn PngButton(
    /// The run (for the file name).
    run_id: String,
) -> impl IntoView {
    let failed = RwSignal::new(None::<String>);
    let safe: String = run_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let file = format!("tokenscope-{safe}-charts.png");
    let click = move |_| {
        #[cfg(feature = "hydrate")]
        failed.set(browser::download(&file).err());
        #[cfg(not(feature = "hydrate"))]
        let _ = &file;
    };
    view! {
        <button class="btn btn-small" type="button" data-testid="export-png" on:click=click>
            "charts (PNG)"
        </button>
        {move || failed.get().map(|e| view! { <span class="form-message">{e}</span> })}
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsCast;
    use web_sys::{CanvasRenderingContext2d, Element, HtmlAnchorElement, HtmlCanvasElement};

    use super::{stacked_size, CAPTION_PX, PAD_PX};

    fn js(e: wasm_bindgen::JsValue) -> String {
        e.as_string().unwrap_or_else(|| "the browser refused to draw the image".to_owned())
    }

    /// The page's drawn charts: (section heading when it changes, caption, canvas), in page order.
    fn charts(document: &web_sys::Document) -> Result<Vec<(Option<String>, String, HtmlCanvasElement)>, String> {
        let nodes = document
            .query_selector_all("[data-testid=page-run] h2, [data-testid=page-run] figure.chart")
            .map_err(js)?;
        let mut out = Vec::new();
        let mut heading = None;
        for i in 0..nodes.length() {
            let Some(figure) = nodes.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else { continue };
            if figure.tag_name().eq_ignore_ascii_case("h2") {
                heading = figure.text_content();
                continue;
            }
            let canvas = figure.query_selector("canvas").map_err(js)?;
            let Some(canvas) = canvas.and_then(|c| c.dyn_into::<HtmlCanvasElement>().ok()) else { continue };
            if canvas.width() == 0 || canvas.height() == 0 {
                continue;
            }
            let caption = figure.query_selector("figcaption").map_err(js)?.and_then(|c| c.text_content());
            out.push((heading.take(), caption.unwrap_or_default(), canvas));
        }
        Ok(out)
    }

    /// Stacks the charts on an offscreen canvas and downloads it as `file`.
    pub fn download(file: &str) -> Result<(), String> {
        let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
        let charts = charts(&document)?;
        if charts.is_empty() {
            return Err("there is no chart on the page yet".into());
        }
        let sizes: Vec<(u32, u32)> = charts.iter().map(|(_, _, c)| (c.width(), c.height())).collect();
        let headings = charts.iter().filter(|(h, _, _)| h.is_some()).count() as u32;
        let (width, height) = stacked_size(&sizes, headings);
        let out: HtmlCanvasElement = document.create_element("canvas").map_err(js)?.unchecked_into();
        out.set_width(width);
        out.set_height(height);
        let ctx: CanvasRenderingContext2d =
            out.get_context("2d").map_err(js)?.ok_or("no 2D canvas in this browser")?.unchecked_into();
        ctx.set_fill_style_str("#0f1216");
        ctx.fill_rect(0.0, 0.0, f64::from(width), f64::from(height));
        ctx.set_fill_style_str("#e6e9ee");
        let mut y = PAD_PX;
        for (heading, caption, canvas) in &charts {
            if let Some(heading) = heading {
                ctx.set_font("bold 16px system-ui, sans-serif");
                ctx.fill_text(heading, f64::from(PAD_PX), f64::from(y + 16)).map_err(js)?;
                y += CAPTION_PX;
            }
            ctx.set_font("14px system-ui, sans-serif");
            ctx.fill_text(caption, f64::from(PAD_PX), f64::from(y + 15)).map_err(js)?;
            y += CAPTION_PX;
            ctx.draw_image_with_html_canvas_element(canvas, f64::from(PAD_PX), f64::from(y)).map_err(js)?;
            y += canvas.height() + PAD_PX;
        }
        let url = out.to_data_url_with_type("image/png").map_err(js)?;
        let link: HtmlAnchorElement = document.create_element("a").map_err(js)?.unchecked_into();
        link.set_href(&url);
        link.set_download(file);
        link.click();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_stack_under_one_another() {
        assert_eq!(stacked_size(&[(600, 220), (400, 220)], 1), (624, 2 * (220 + 22 + 12) + 22 + 12));
        assert_eq!(stacked_size(&[], 0), (24, 12));
    }
}
