//! The loci recommendation widget: related artworks and galleries for a publisher's page.
//!
//! The widget is a Leptos client-side-rendered component compiled to `wasm32-unknown-unknown`
//! and exported with wasm-bindgen. A page embeds it with one tag:
//!
//! ```html
//! <script src="https://loci.example.com/dist/loci.js" async
//!         data-placement="article-related" data-context="asset:I000000000N00530"
//!         data-count="8" data-layout="grid"></script>
//! ```
//!
//! `data-layout` is `grid` (the default), `row`, `carousel`, `gallery-more` (the other assets of
//! a `gallery:<id>` context) or `homepage` (galleries near the context as large cards, then a
//! few assets). `data-exclude` lists media ids, separated by commas, that the widget must not
//! show, such as the page's own asset.
//!
//! The loader (`widget/loader/loci.js`) inserts a `<div class="loci-widget">` after each such
//! tag, loads this module once and calls `mount` for each host. The widget then:
//!
//! 1. validates the attributes ([`config`]), and with any invalid one renders nothing and
//!    writes one console warning that names the attribute and the accepted values;
//! 2. fetches `GET /v1/recommendations` from the edge (`api`), and when the edge cannot be
//!    reached or returns an error renders nothing and writes one console warning;
//! 3. renders the response into an open shadow root of the host (`view`), with its own
//!    stylesheet, so the page's CSS and the widget's cannot clash;
//! 4. reports impressions and clicks to `POST /v1/events` ([`events`]).
//!
//! Nothing the widget does throws into the host page: every failure becomes a console warning.
//! The release profile uses `panic = "abort"`, so the code avoids panicking paths instead of
//! catching panics.
//!
//! Configuration parsing and the event queue are plain Rust and tested natively with
//! `cargo test -p loci-widget`; the DOM behaviour is tested in headless Chromium by
//! `tests/web.rs`.
#![warn(missing_docs)]

pub mod config;
pub mod events;
pub mod images;

#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
mod console;
#[cfg(target_arch = "wasm32")]
mod impressions;
#[cfg(target_arch = "wasm32")]
pub mod view;
#[cfg(target_arch = "wasm32")]
pub mod wire;

#[cfg(target_arch = "wasm32")]
pub use browser::mount;

#[cfg(target_arch = "wasm32")]
mod browser {
    use wasm_bindgen::prelude::*;

    use crate::config::{RawConfig, WidgetConfig};
    use crate::{api, console, view};

    /// Mounts one widget into `host`, configured by the loader's plain object `config`.
    ///
    /// Returns at once: the recommendations are fetched and rendered asynchronously. Every
    /// failure (invalid configuration, unreachable edge, error response, a host that cannot
    /// have a shadow root) leaves `host` empty and writes exactly one `console.warn`.
    #[wasm_bindgen]
    pub fn mount(host: web_sys::Element, config: JsValue) {
        let config = match WidgetConfig::parse(&RawConfig::from_js(&config)) {
            Ok(config) => config,
            Err(error) => {
                console::warn(&format!("loci: invalid widget configuration ({error}); the widget stays empty"));
                return;
            }
        };

        wasm_bindgen_futures::spawn_local(async move {
            let response = match api::fetch_recommendations(&config).await {
                Ok(response) => response,
                Err(error) => {
                    console::warn(&format!("loci: recommendations unavailable ({error}); the widget stays empty"));
                    return;
                }
            };
            if let Err(error) = view::render(&host, &config, response) {
                console::warn(&format!("loci: the widget for {config} could not be rendered ({error})"));
            }
        });
    }
}
