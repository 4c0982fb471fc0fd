//! Browser tests of the widget, run in headless Chromium by wasm-bindgen-test:
//!
//! ```text
//! CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=60 \
//!     cargo test -p loci-widget --target wasm32-unknown-unknown
//! ```
//!
//! `window.fetch` and `console.warn` are replaced by recorders (see the inline JavaScript
//! below), so the tests need no edge server and can count warnings. Every test uses its own
//! endpoint, because the widget keeps one event tracker per endpoint for the page's lifetime.
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use loci_shared::api::{
    Event, EventBatch, EventKind, Reason, ReasonCode, RecommendationResponse, RecommendedAsset, RecommendedGallery,
};
use loci_widget::config::{Layout, RawConfig, WidgetConfig};
use loci_widget::events::{EventContext, EventQueue, ItemRef, PushOutcome, BATCH_SIZE, QUEUE_CAPACITY};
use loci_widget::{view, wire};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, ShadowRoot};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function stub_fetch(status, body) {
  const calls = [];
  if (!window.__lociRealFetch) window.__lociRealFetch = window.fetch;
  window.fetch = (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    calls.push({
      url,
      method: (init && init.method) || "GET",
      body: init && typeof init.body === "string" ? init.body : null,
      keepalive: Boolean(init && init.keepalive),
    });
    if (url.includes("/v1/events")) {
      const answer = (window.__lociEventStatuses || []).shift();
      if (answer === 0) return Promise.reject(new TypeError("Failed to fetch"));
      if (answer >= 400) {
        const problem = { status: answer, code: "invalid_event", detail: "events[0].asset_id is invalid" };
        return Promise.resolve(new Response(JSON.stringify(problem), { status: answer }));
      }
      return Promise.resolve(new Response('{"accepted":1}', { status: 202 }));
    }
    if (status === 0) return Promise.reject(new TypeError("Failed to fetch"));
    return Promise.resolve(new Response(body, { status, headers: { "content-type": "application/json" } }));
  };
  return calls;
}

export function restore_fetch() {
  if (window.__lociRealFetch) window.fetch = window.__lociRealFetch;
}

export function record_warnings() {
  const warnings = [];
  if (!window.__lociRealWarn) window.__lociRealWarn = console.warn;
  console.warn = (...args) => warnings.push(args.map(String).join(" "));
  return warnings;
}

export function restore_warnings() {
  if (window.__lociRealWarn) console.warn = window.__lociRealWarn;
}

export function answer_events_with(statuses) {
  window.__lociEventStatuses = statuses;
}

export function press_key(element, key) {
  const event = new KeyboardEvent("keydown", { key, bubbles: true, composed: true, cancelable: true });
  element.dispatchEvent(event);
  return event.defaultPrevented;
}

export function call_field(call, name) {
  return call[name];
}

export function prevent_navigation() {
  document.addEventListener("click", (event) => event.preventDefault(), true);
}
"#)]
extern "C" {
    /// Replaces `window.fetch`: event posts get 202, every other request gets `status` and
    /// `body` (status 0 rejects like a network failure). Returns the list the calls go to.
    fn stub_fetch(status: u16, body: &str) -> js_sys::Array;
    fn restore_fetch();
    /// Replaces `console.warn` and returns the list the messages go to.
    fn record_warnings() -> js_sys::Array;
    fn restore_warnings();
    /// Makes the stubbed `fetch` respond to the next event posts with `statuses` in order (0
    /// rejects like a network failure, 4xx and 5xx come with a JSON problem), and later with 202.
    fn answer_events_with(statuses: js_sys::Array);
    /// Dispatches a cancelable `keydown` for `key` on `element`; returns whether a listener
    /// called `preventDefault`.
    fn press_key(element: &Element, key: &str) -> bool;
    fn call_field(call: &JsValue, name: &str) -> JsValue;
    fn prevent_navigation();
}

const ASSET_IDS: [&str; 3] = ["I000000000N00530", "I000000000N01506", "I000000000N05058"];

/// A small valid PNG: one grey pixel.
const PIXEL_PNG: &str = "data:image/png;base64,\
    iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==";

/// Bytes that no browser decodes as an image.
const BROKEN_IMAGE: &str = "data:image/png;base64,AAAA";

fn document() -> web_sys::Document {
    web_sys::window().and_then(|window| window.document()).expect("the tests run in a browser page")
}

/// Inserts a fresh `<div class="loci-widget">` at the top of the body, inside the viewport.
fn new_host() -> Element {
    let document = document();
    let host = document.create_element("div").expect("create a div");
    host.set_class_name("loci-widget");
    let body = document.body().expect("the page has a body");
    body.prepend_with_node_1(&host).expect("insert the host");
    host
}

fn raw_config(endpoint: &str) -> RawConfig {
    RawConfig {
        placement: Some("article-related".to_owned()),
        context: Some("asset:I000000000N02426".to_owned()),
        endpoint: Some(endpoint.to_owned()),
        page_id: Some("page0123".to_owned()),
        ..RawConfig::default()
    }
}

fn config(endpoint: &str) -> WidgetConfig {
    WidgetConfig::parse(&raw_config(endpoint)).expect("the test configuration is valid")
}

fn asset(index: usize, image_url: &str) -> RecommendedAsset {
    let id = ASSET_IDS[index % ASSET_IDS.len()];
    RecommendedAsset {
        id: id.parse().expect("valid media id"),
        title: format!("Artwork {index}"),
        creator: index.is_multiple_of(2).then(|| "Joseph Mallord William Turner".to_owned()),
        alt: format!("Alt text {index}"),
        image_url: image_url.to_owned(),
        width: Some(400),
        height: Some(300),
        link: format!("#asset-{index}"),
        reason: Reason { code: ReasonCode::SameCreator, text: "By the same artist".to_owned() },
    }
}

fn gallery() -> RecommendedGallery {
    RecommendedGallery {
        id: "G0000art00001811".parse().expect("valid gallery id"),
        name: "Joseph Mallord William Turner".to_owned(),
        cover_image_url: PIXEL_PNG.to_owned(),
        cover_asset_id: ASSET_IDS[0].parse().expect("valid media id"),
        asset_count: 1,
        link: "#gallery".to_owned(),
        reason: Reason { code: ReasonCode::RelatedGallery, text: "Related gallery".to_owned() },
    }
}

fn response(assets: Vec<RecommendedAsset>, galleries: Vec<RecommendedGallery>) -> RecommendationResponse {
    RecommendationResponse {
        request_id: "req-test-1".to_owned(),
        context: "asset:I000000000N02426".parse().expect("valid context"),
        placement: "article-related".to_owned(),
        assets,
        galleries,
        filtered: BTreeMap::from([("not_cleared".to_owned(), 2)]),
        engine: "embedded".to_owned(),
    }
}

fn response_json(response: &RecommendationResponse) -> String {
    serde_json::to_string(response).expect("serialise the response")
}

async fn sleep(milliseconds: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, milliseconds)
            .expect("set a timer");
    });
    JsFuture::from(promise).await.expect("the timer resolves");
}

/// Waits up to `timeout_ms` for `condition`, checking every 20 ms.
async fn wait_for(timeout_ms: i32, mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..timeout_ms / 20 {
        if condition() {
            return true;
        }
        sleep(20).await;
    }
    condition()
}

fn shadow(host: &Element) -> ShadowRoot {
    host.shadow_root().expect("the widget attached an open shadow root")
}

fn select_all(root: &ShadowRoot, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).expect("valid selector");
    (0..list.length()).filter_map(|index| list.item(index)?.dyn_into::<Element>().ok()).collect()
}

fn strings(array: &js_sys::Array) -> Vec<String> {
    array.iter().filter_map(|value| value.as_string()).collect()
}

/// Returns the bodies of the calls to `/v1/events`, parsed with the shared serde types.
fn event_batches(calls: &js_sys::Array) -> Vec<EventBatch> {
    calls
        .iter()
        .filter(|call| call_field(call, "url").as_string().is_some_and(|url| url.ends_with("/v1/events")))
        .map(|call| {
            assert_eq!(call_field(&call, "method").as_string().as_deref(), Some("POST"));
            assert_eq!(call_field(&call, "keepalive").as_bool(), Some(true));
            let body = call_field(&call, "body").as_string().expect("a string body");
            serde_json::from_str(&body).expect("the body is a valid EventBatch")
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[wasm_bindgen_test]
fn config_reads_loader_object() {
    let object = js_sys::Object::new();
    for (name, value) in [
        ("placement", JsValue::from_str("home-module")),
        ("context", JsValue::from_str("gallery:G0000grp00065478")),
        ("count", JsValue::from_f64(12.0)),
        ("layout", JsValue::from_str("row")),
        ("endpoint", JsValue::from_str("http://127.0.0.1:8787/")),
        ("exclude", JsValue::from_str("I000000000N00530")),
        ("pageId", JsValue::from_str("abc123")),
    ] {
        js_sys::Reflect::set(&object, &JsValue::from_str(name), &value).expect("set a property");
    }

    let config = WidgetConfig::parse(&RawConfig::from_js(&object)).expect("valid configuration");

    assert_eq!(config.placement, "home-module");
    assert_eq!(config.context.to_string(), "gallery:G0000grp00065478");
    assert_eq!(config.count, 12);
    assert_eq!(config.layout, Layout::Row);
    assert_eq!(config.endpoint, "http://127.0.0.1:8787");
    assert_eq!(config.channel.as_str(), "web");
    assert_eq!(config.page_id.as_deref(), Some("abc123"));
    assert_eq!(config.exclude.iter().map(|id| id.as_str()).collect::<Vec<_>>(), ["I000000000N00530"]);
}

#[wasm_bindgen_test]
fn config_from_non_object_is_empty() {
    assert_eq!(RawConfig::from_js(&JsValue::UNDEFINED), RawConfig::default());
    assert_eq!(RawConfig::from_js(&JsValue::from_str("grid")), RawConfig::default());
}

#[wasm_bindgen_test]
async fn invalid_attribute_renders_nothing() {
    let calls = stub_fetch(200, &response_json(&response(vec![asset(0, PIXEL_PNG)], vec![])));
    let warnings = record_warnings();
    let host = new_host();
    let object = js_sys::Object::new();
    for (name, value) in [
        ("placement", "article-related"),
        ("context", "asset:I000000000N02426"),
        ("layout", "slideshow"),
        ("endpoint", "http://127.0.0.1:9/invalid"),
    ] {
        js_sys::Reflect::set(&object, &JsValue::from_str(name), &JsValue::from_str(value)).expect("set a property");
    }

    loci_widget::mount(host.clone(), object.into());
    sleep(100).await;
    restore_warnings();
    restore_fetch();

    assert!(host.shadow_root().is_none());
    assert_eq!(host.child_nodes().length(), 0);
    assert_eq!(calls.length(), 0, "no request for an invalid configuration");
    let warnings = strings(&warnings);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("`data-layout`"), "{}", warnings[0]);
    assert!(warnings[0].contains("`gallery-more` or `homepage`"), "{}", warnings[0]);
}

// ---------------------------------------------------------------------------------------------
// Rendering

#[wasm_bindgen_test]
fn render_fills_shadow_root() {
    let host = new_host();
    let assets = vec![asset(0, PIXEL_PNG), asset(1, PIXEL_PNG), asset(2, PIXEL_PNG)];

    view::render(&host, &config("http://127.0.0.1:9/render"), response(assets, vec![gallery()])).expect("render");

    let root = shadow(&host);
    assert_eq!(root.mode(), web_sys::ShadowRootMode::Open);
    assert_eq!(select_all(&root, "style").len(), 1);
    let section = root.query_selector("section[data-testid=loci-recommendations]").expect("selector").expect("section");
    assert_eq!(section.get_attribute("aria-label").as_deref(), Some("Related artworks"));
    assert!(root.query_selector("ul.loci-grid").expect("selector").is_some());

    let items = select_all(&root, "li[data-testid=loci-asset]");
    assert_eq!(items.len(), 3);
    for (index, item) in items.iter().enumerate() {
        assert_eq!(item.get_attribute("data-asset-id").as_deref(), Some(ASSET_IDS[index]));
        let link = item.query_selector("a").expect("selector").expect("a link");
        assert_eq!(link.get_attribute("href"), Some(format!("#asset-{index}")));
        let image = link.query_selector(".loci-frame > img").expect("selector").expect("an image");
        assert_eq!(image.get_attribute("alt"), Some(format!("Alt text {index}")));
        assert_eq!(image.get_attribute("src").as_deref(), Some(PIXEL_PNG));
        assert_eq!(image.get_attribute("loading").as_deref(), Some("lazy"));
        assert_eq!(image.get_attribute("width").as_deref(), Some("400"));
        assert_eq!(image.get_attribute("height").as_deref(), Some("300"));
        let title = link.query_selector(".loci-title").expect("selector").expect("a title");
        assert_eq!(title.text_content(), Some(format!("Artwork {index}")));
    }
    let creators = select_all(&root, "li[data-testid=loci-asset] .loci-creator");
    assert_eq!(creators.len(), 2, "asset 1 has no creator");

    let galleries = select_all(&root, "li[data-testid=loci-gallery]");
    assert_eq!(galleries.len(), 1);
    assert_eq!(galleries[0].get_attribute("data-gallery-id").as_deref(), Some("G0000art00001811"));
    let gallery_text = galleries[0].text_content().unwrap_or_default();
    assert!(gallery_text.contains("Joseph Mallord William Turner"), "{gallery_text}");
    assert!(gallery_text.contains("1 artwork"), "{gallery_text}");
    let cover = galleries[0].query_selector("img").expect("selector").expect("a cover");
    assert!(!cover.get_attribute("alt").unwrap_or_default().is_empty());
}

#[wasm_bindgen_test]
fn row_layout_and_large_count() {
    let host = new_host();
    let mut config = config("http://127.0.0.1:9/row");
    config.layout = Layout::Row;

    let mut large_gallery = gallery();
    large_gallery.asset_count = 32_559;

    view::render(&host, &config, response(vec![asset(0, PIXEL_PNG)], vec![large_gallery])).expect("render");

    let root = shadow(&host);
    assert!(root.query_selector("ul.loci-row").expect("selector").is_some());
    let count = root.query_selector(".loci-count").expect("selector").expect("a count");
    assert_eq!(count.text_content().as_deref(), Some("32,559 artworks"));
}

#[wasm_bindgen_test]
fn empty_response_renders_nothing() {
    let host = new_host();

    view::render(&host, &config("http://127.0.0.1:9/empty"), response(vec![], vec![])).expect("render");

    assert!(host.shadow_root().is_none());
}

#[wasm_bindgen_test]
fn second_render_into_host_fails() {
    let host = new_host();
    let config = config("http://127.0.0.1:9/twice");
    view::render(&host, &config, response(vec![asset(0, PIXEL_PNG)], vec![])).expect("first render");

    let second = view::render(&host, &config, response(vec![asset(0, PIXEL_PNG)], vec![]));

    assert!(matches!(second, Err(view::RenderError::ShadowRoot(_))), "{second:?}");
}

#[wasm_bindgen_test]
async fn broken_image_shows_placeholder() {
    let host = new_host();
    let assets = vec![asset(0, BROKEN_IMAGE), asset(1, PIXEL_PNG)];

    view::render(&host, &config("http://127.0.0.1:9/placeholder"), response(assets, vec![])).expect("render");
    let root = shadow(&host);
    let replaced = wait_for(3_000, || !select_all(&root, "[data-testid=loci-placeholder]").is_empty()).await;

    assert!(replaced, "the broken image was not replaced");
    let items = select_all(&root, "li[data-testid=loci-asset]");
    let placeholder =
        items[0].query_selector("[data-testid=loci-placeholder]").expect("selector").expect("placeholder");
    assert_eq!(placeholder.text_content().as_deref(), Some("Artwork 0"));
    assert!(items[0].query_selector("img").expect("selector").is_none());
    assert!(items[1].query_selector("img").expect("selector").is_some(), "the good image stays");
    assert!(items[1].query_selector("[data-testid=loci-placeholder]").expect("selector").is_none());
}

/// An image URL of the shape the edge builds, which gets a `srcset`.
const CDN_IMAGE: &str = "http://127.0.0.1:9/img-get2/I000000000N00530/fit=600";

#[wasm_bindgen_test]
fn photoshelter_image_gets_srcset() {
    let host = new_host();
    let mut config = config("http://127.0.0.1:9/srcset");
    config.layout = Layout::Carousel;
    let assets = vec![asset(0, CDN_IMAGE), asset(1, PIXEL_PNG)];

    view::render(&host, &config, response(assets, vec![])).expect("render");

    let images = select_all(&shadow(&host), "li[data-testid=loci-asset] img");
    let srcset = images[0].get_attribute("srcset").expect("a srcset");
    assert!(srcset.starts_with("http://127.0.0.1:9/img-get2/I000000000N00530/fit=300 300w, "), "{srcset}");
    assert!(srcset.ends_with("/fit=1200 1200w"), "{srcset}");
    assert_eq!(images[0].get_attribute("sizes").as_deref(), Some(loci_widget::images::asset_sizes(Layout::Carousel)));
    assert_eq!(images[0].get_attribute("src").as_deref(), Some(CDN_IMAGE));
    assert_eq!(images[1].get_attribute("srcset"), None, "a data URL keeps a plain src");
    assert_eq!(images[1].get_attribute("sizes"), None);
}

fn carousel_assets(count: usize) -> Vec<RecommendedAsset> {
    (0..count).map(|index| asset(index, PIXEL_PNG)).collect()
}

fn render_carousel(endpoint: &str, count: usize) -> ShadowRoot {
    let host = new_host();
    let mut config = config(endpoint);
    config.layout = Layout::Carousel;
    view::render(&host, &config, response(carousel_assets(count), vec![gallery()])).expect("render");
    shadow(&host)
}

fn focused_asset_index(root: &ShadowRoot, links: &[Element]) -> Option<usize> {
    let active = root.active_element()?;
    links.iter().position(|link| *link == active)
}

#[wasm_bindgen_test]
async fn carousel_has_region_buttons_and_list() {
    let root = render_carousel("http://127.0.0.1:9/carousel", 8);

    let section = root.query_selector("section").expect("selector").expect("a section");
    assert_eq!(section.get_attribute("aria-roledescription").as_deref(), Some("carousel"));
    assert_eq!(section.get_attribute("aria-label").as_deref(), Some("Related artworks"));
    assert_eq!(section.get_attribute("data-layout").as_deref(), Some("carousel"));
    let list = root.query_selector("ul#loci-track.loci-carousel").expect("selector").expect("the track");
    assert_eq!(list.get_attribute("role").as_deref(), Some("list"));
    assert_eq!(select_all(&root, "ul#loci-track > li[data-testid=loci-asset]").len(), 8);
    assert_eq!(select_all(&root, "ul.loci-galleries > li").len(), 1, "galleries follow the carousel");

    let previous = root.query_selector("[data-testid=loci-previous]").expect("selector").expect("a previous button");
    let next = root.query_selector("[data-testid=loci-next]").expect("selector").expect("a next button");
    assert_eq!(previous.tag_name(), "BUTTON");
    assert_eq!(previous.get_attribute("aria-label").as_deref(), Some("Previous artworks"));
    assert_eq!(next.get_attribute("aria-label").as_deref(), Some("Next artworks"));
    assert_eq!(next.get_attribute("aria-controls").as_deref(), Some("loci-track"));

    let initial = wait_for(1_000, || {
        previous.get_attribute("aria-disabled").as_deref() == Some("true")
            && next.get_attribute("aria-disabled").as_deref() == Some("false")
    })
    .await;
    assert!(initial, "at the start only the previous button is disabled");

    next.dyn_ref::<HtmlElement>().expect("a button is an HtmlElement").click();
    let moved = wait_for(2_000, || previous.get_attribute("aria-disabled").as_deref() == Some("false")).await;
    assert!(moved, "the next button scrolled the list");
    assert!(list.scroll_left() > 0);
}

#[wasm_bindgen_test]
async fn carousel_keys_move_focus() {
    let root = render_carousel("http://127.0.0.1:9/carousel-keys", 6);
    let links = select_all(&root, "ul#loci-track > li > a");
    let first = links[0].dyn_ref::<HtmlElement>().expect("a link is an HtmlElement");
    first.focus().expect("focus the first card");

    assert!(press_key(&links[0], "ArrowRight"), "the carousel handles ArrowRight");
    assert_eq!(focused_asset_index(&root, &links), Some(1));
    assert!(press_key(&links[1], "ArrowLeft"));
    assert_eq!(focused_asset_index(&root, &links), Some(0));
    assert!(press_key(&links[0], "ArrowLeft"), "ArrowLeft on the first card stays there");
    assert_eq!(focused_asset_index(&root, &links), Some(0));
    assert!(press_key(&links[0], "End"));
    assert_eq!(focused_asset_index(&root, &links), Some(5));
    assert!(press_key(&links[5], "ArrowRight"), "ArrowRight on the last card stays there");
    assert_eq!(focused_asset_index(&root, &links), Some(5));
    assert!(!press_key(&links[5], "Enter"), "other keys are left to the browser");

    let next = root.query_selector("[data-testid=loci-next]").expect("selector").expect("a next button");
    let at_end = wait_for(2_000, || next.get_attribute("aria-disabled").as_deref() == Some("true")).await;
    assert!(at_end, "the last card is scrolled into view and the next button is disabled");

    assert!(press_key(&links[5], "Home"));
    assert_eq!(focused_asset_index(&root, &links), Some(0));
}

#[wasm_bindgen_test]
fn gallery_more_shows_assets_only() {
    let host = new_host();
    let mut config = config("http://127.0.0.1:9/gallery-more");
    config.layout = Layout::GalleryMore;

    view::render(&host, &config, response(carousel_assets(3), vec![])).expect("render");

    let root = shadow(&host);
    let heading = root.query_selector("h2").expect("selector").expect("a heading");
    assert_eq!(heading.text_content().as_deref(), Some("More from this gallery"));
    let section = root.query_selector("section").expect("selector").expect("a section");
    assert_eq!(section.get_attribute("aria-label").as_deref(), Some("More from this gallery"));
    assert_eq!(select_all(&root, "ul.loci-grid > li[data-testid=loci-asset]").len(), 3);
    assert!(root.query_selector("ul.loci-galleries").expect("selector").is_none());
}

#[wasm_bindgen_test]
fn homepage_leads_with_featured_galleries() {
    let host = new_host();
    let mut config = config("http://127.0.0.1:9/homepage");
    config.layout = Layout::Homepage;
    let mut second = gallery();
    second.id = "G0000grp00065851".parse().expect("valid gallery id");

    view::render(&host, &config, response(carousel_assets(2), vec![gallery(), second])).expect("render");

    let root = shadow(&host);
    let headings: Vec<_> = select_all(&root, "h2").iter().filter_map(|heading| heading.text_content()).collect();
    assert_eq!(headings, ["Featured galleries", "From the collection"]);
    let lists = select_all(&root, "section > ul");
    assert_eq!(lists[0].class_name(), "loci-featured");
    assert_eq!(select_all(&root, "ul.loci-featured > li[data-testid=loci-gallery]").len(), 2);
    assert_eq!(select_all(&root, "ul.loci-grid > li[data-testid=loci-asset]").len(), 2);
    let section = root.query_selector("section").expect("selector").expect("a section");
    assert_eq!(section.get_attribute("aria-label").as_deref(), Some("Featured galleries"));
}

#[wasm_bindgen_test]
fn homepage_names_personal_picks() {
    let host = new_host();
    let mut config = config("http://127.0.0.1:9/homepage-personal");
    config.layout = Layout::Homepage;
    config.visitor_id = Some("v0123".to_owned());

    view::render(&host, &config, response(carousel_assets(2), vec![gallery()])).expect("render");

    let headings: Vec<_> =
        select_all(&shadow(&host), "h2").iter().filter_map(|heading| heading.text_content()).collect();
    assert_eq!(headings, ["Featured galleries", "Picked for you"]);
}

// ---------------------------------------------------------------------------------------------
// Mounting against a stubbed edge

#[wasm_bindgen_test]
async fn mount_fetches_and_renders() {
    let calls = stub_fetch(200, &response_json(&response(vec![asset(0, PIXEL_PNG), asset(1, PIXEL_PNG)], vec![])));
    let host = new_host();
    let config = js_sys::Object::new();
    for (name, value) in [
        ("placement", "article-related"),
        ("context", "asset:I000000000N02426"),
        ("count", "1"),
        ("endpoint", "http://127.0.0.1:9/mount"),
        ("pageId", "page42"),
    ] {
        js_sys::Reflect::set(&config, &JsValue::from_str(name), &JsValue::from_str(value)).expect("set a property");
    }

    loci_widget::mount(host.clone(), config.into());
    let rendered = wait_for(3_000, || host.shadow_root().is_some()).await;
    restore_fetch();

    assert!(rendered, "the widget did not render");
    let url = call_field(&calls.get(0), "url").as_string().unwrap_or_default();
    assert_eq!(
        url,
        "http://127.0.0.1:9/mount/v1/recommendations?context=asset:I000000000N02426\
         &placement=article-related&count=1&channel=web&page=page42"
    );
    let items = select_all(&shadow(&host), "li[data-testid=loci-asset]");
    assert_eq!(items.len(), 1, "the widget keeps at most data-count assets");
}

async fn mount_against_failing_edge(status: u16, body: &str, endpoint: &str) -> (Element, Vec<String>) {
    let _calls = stub_fetch(status, body);
    let warnings = record_warnings();
    let host = new_host();
    let config = js_sys::Object::new();
    for (name, value) in
        [("placement", "article-related"), ("context", "asset:I000000000N02426"), ("endpoint", endpoint)]
    {
        js_sys::Reflect::set(&config, &JsValue::from_str(name), &JsValue::from_str(value)).expect("set a property");
    }

    loci_widget::mount(host.clone(), config.into());
    wait_for(2_000, || warnings.length() > 0).await;
    sleep(100).await;
    restore_warnings();
    restore_fetch();
    (host, strings(&warnings))
}

#[wasm_bindgen_test]
async fn error_status_warns_once() {
    let problem = r#"{"status":503,"code":"unavailable","detail":"the catalog is syncing"}"#;

    let (host, warnings) = mount_against_failing_edge(503, problem, "http://127.0.0.1:9/status").await;

    assert!(host.shadow_root().is_none());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("loci: recommendations unavailable ("), "{}", warnings[0]);
    assert!(warnings[0].contains("HTTP 503: the catalog is syncing"), "{}", warnings[0]);
    assert!(warnings[0].ends_with("the widget stays empty"), "{}", warnings[0]);
}

#[wasm_bindgen_test]
async fn unreachable_edge_warns_once() {
    let (host, warnings) = mount_against_failing_edge(0, "", "http://127.0.0.1:9/down").await;

    assert!(host.shadow_root().is_none());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("Failed to fetch"), "{}", warnings[0]);
}

#[wasm_bindgen_test]
async fn invalid_body_warns_once() {
    let (host, warnings) = mount_against_failing_edge(200, r#"{"assets":"none"}"#, "http://127.0.0.1:9/body").await;

    assert!(host.shadow_root().is_none());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("invalid body"), "{}", warnings[0]);
}

// ---------------------------------------------------------------------------------------------
// Events

#[wasm_bindgen_test]
async fn impressions_and_click_are_posted() {
    prevent_navigation();
    let calls = stub_fetch(200, "{}");
    let host = new_host();
    let config = config("http://127.0.0.1:9/click");
    view::render(&host, &config, response(vec![asset(0, PIXEL_PNG), asset(1, PIXEL_PNG)], vec![])).expect("render");

    // Both cards are in the viewport: after one second each counts as an impression.
    sleep(1_400).await;
    let items = select_all(&shadow(&host), "li[data-testid=loci-asset] a");
    items[1].dyn_ref::<HtmlElement>().expect("a link is an HtmlElement").click();
    sleep(50).await;
    restore_fetch();

    let batches = event_batches(&calls);
    assert_eq!(batches.len(), 1, "the click flushes the queue in one request");
    let events = &batches[0].events;
    let kinds: Vec<_> = events.iter().map(|event| (event.kind, event.position)).collect();
    assert!(kinds.contains(&(EventKind::Impression, Some(0))), "{kinds:?}");
    assert!(kinds.contains(&(EventKind::Impression, Some(1))), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&(EventKind::Click, Some(1))), "{kinds:?}");
    let click = events.last().expect("a click");
    assert_eq!(click.asset_id.as_ref().map(|id| id.as_str()), Some(ASSET_IDS[1]));
    assert_eq!(click.request_id, "req-test-1");
    assert_eq!(click.page_id.as_deref(), Some("page0123"));
    assert_eq!(click.placement, "article-related");
    for event in events {
        assert!(event.validate().is_ok(), "{event:?}");
    }
}

/// Renders two cards, waits for their impressions and clicks the second, which flushes the
/// queue at once. Returns the recorded fetch calls and console warnings.
async fn click_after_impressions(endpoint: &str, event_statuses: &[u16], wait_ms: i32) -> (js_sys::Array, Vec<String>) {
    prevent_navigation();
    let calls = stub_fetch(200, "{}");
    answer_events_with(event_statuses.iter().map(|&status| JsValue::from(status)).collect());
    let warnings = record_warnings();
    let host = new_host();
    view::render(&host, &config(endpoint), response(vec![asset(0, PIXEL_PNG), asset(1, PIXEL_PNG)], vec![]))
        .expect("render");

    sleep(1_400).await;
    let items = select_all(&shadow(&host), "li[data-testid=loci-asset] a");
    items[1].dyn_ref::<HtmlElement>().expect("a link is an HtmlElement").click();
    sleep(wait_ms).await;
    restore_warnings();
    restore_fetch();
    answer_events_with(js_sys::Array::new());
    (calls, strings(&warnings))
}

#[wasm_bindgen_test]
async fn failed_send_is_retried() {
    let (calls, warnings) = click_after_impressions("http://127.0.0.1:9/retry", &[503], 1_600).await;

    let batches = event_batches(&calls);
    assert_eq!(batches.len(), 2, "one failed send and one retry after the 1 s backoff");
    assert_eq!(batches[0], batches[1], "the retry sends the same events");
    assert!(batches[1].events.iter().any(|event| event.kind == EventKind::Click));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("HTTP 503"), "{}", warnings[0]);
    assert!(warnings[0].contains("next in 1000 ms"), "{}", warnings[0]);
}

#[wasm_bindgen_test]
async fn network_failure_is_retried() {
    let (calls, _warnings) = click_after_impressions("http://127.0.0.1:9/retry-network", &[0], 1_600).await;

    let batches = event_batches(&calls);
    assert_eq!(batches.len(), 2, "one failed send and one retry");
    assert_eq!(batches[0], batches[1]);
}

#[wasm_bindgen_test]
async fn rejected_batch_is_logged_once() {
    let (calls, warnings) = click_after_impressions("http://127.0.0.1:9/rejected", &[400], 1_600).await;

    let batches = event_batches(&calls);
    assert_eq!(batches.len(), 1, "a 400 is not retried");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("rejected 3 events with HTTP 400"), "{}", warnings[0]);
    assert!(warnings[0].contains("invalid_event: events[0].asset_id is invalid"), "{}", warnings[0]);
}

#[wasm_bindgen_test]
async fn events_given_up_are_counted() {
    // Four failures in a row: sends at about 0, 1, 3 and 7 s after the click.
    let (calls, warnings) = click_after_impressions("http://127.0.0.1:9/give-up", &[503, 503, 503, 503], 8_500).await;

    let batches = event_batches(&calls);
    assert_eq!(batches.len(), loci_widget::events::MAX_ATTEMPTS as usize);
    let drops: Vec<_> = warnings.iter().filter(|warning| warning.starts_with("loci: dropped")).collect();
    assert_eq!(drops.len(), 1, "{warnings:?}");
    assert!(drops[0].contains("dropped 3 events"), "{}", drops[0]);
    assert!(drops[0].contains("3 after 4 failed sends"), "{}", drops[0]);
}

fn sample_event(kind: EventKind, position: usize) -> Event {
    let context = EventContext {
        request_id: "req-test-1".to_owned(),
        context: "asset:I000000000N02426".parse().expect("valid context"),
        placement: "article-related".to_owned(),
        page_id: Some("page0123".to_owned()),
        visitor_id: None,
    };
    let item = ItemRef::Asset(ASSET_IDS[position % ASSET_IDS.len()].parse().expect("valid media id"));
    context.event(kind, &item, position, 1_767_225_600_000)
}

#[wasm_bindgen_test]
fn queue_batches_in_browser() {
    let mut queue = EventQueue::default();

    let outcomes: Vec<_> = (0..BATCH_SIZE).map(|n| queue.push(sample_event(EventKind::Impression, n))).collect();
    queue.push(sample_event(EventKind::Click, BATCH_SIZE));

    assert_eq!(outcomes[BATCH_SIZE - 2], PushOutcome::Queued);
    assert_eq!(outcomes[BATCH_SIZE - 1], PushOutcome::BatchReady);
    let first = queue.take_batch().expect("a full batch").batch;
    assert_eq!(first.events.len(), BATCH_SIZE);
    let second = queue.take_batch().expect("the rest").batch;
    assert_eq!(second.events.len(), 1);
    assert_eq!(second.events[0].kind, EventKind::Click);
    assert!(queue.take_batch().is_none());
}

#[wasm_bindgen_test]
fn queue_bound_holds_in_browser() {
    let mut queue = EventQueue::default();
    queue.push(sample_event(EventKind::Click, 0));

    for n in 1..QUEUE_CAPACITY * 2 {
        queue.push(sample_event(EventKind::Impression, n));
    }

    assert_eq!(queue.len(), QUEUE_CAPACITY);
    assert_eq!(queue.dropped(), QUEUE_CAPACITY);
    let first = queue.take_batch().expect("a batch").batch;
    assert_eq!(first.events[0].kind, EventKind::Click, "the click survives the bound");
}

// ---------------------------------------------------------------------------------------------
// Wire format: `wire` must agree with the serde attributes of the shared types.

#[wasm_bindgen_test]
fn wire_decodes_serde_response() {
    let mut galleries = Vec::new();
    for code in ReasonCode::ALL {
        let mut gallery = gallery();
        gallery.reason.code = code;
        galleries.push(gallery);
    }
    let mut assets = vec![asset(0, PIXEL_PNG), asset(1, PIXEL_PNG)];
    assets[1].width = None;
    assets[1].height = None;
    let expected = response(assets, galleries);

    let parsed = js_sys::JSON::parse(&response_json(&expected)).expect("valid JSON");
    let decoded = wire::decode_response(&parsed).expect("decodes");

    assert_eq!(decoded, expected);
}

#[wasm_bindgen_test]
fn wire_names_invalid_field() {
    let mut value: serde_json::Value =
        serde_json::from_str(&response_json(&response(vec![asset(0, PIXEL_PNG), asset(1, PIXEL_PNG)], vec![])))
            .expect("valid JSON");
    value["assets"][1]["width"] = serde_json::json!(-3);
    let parsed = js_sys::JSON::parse(&value.to_string()).expect("valid JSON");

    let error = wire::decode_response(&parsed).expect_err("a negative width is invalid");

    assert_eq!(error.field, "assets[1].width");
}

#[wasm_bindgen_test]
fn wire_encodes_serde_batch() {
    let mut dwell = sample_event(EventKind::Dwell, 2);
    dwell.dwell_ms = Some(12_345);
    dwell.visitor_id = Some("visitor-1".to_owned());
    let mut gallery_click = sample_event(EventKind::Click, 0);
    gallery_click.asset_id = None;
    gallery_click.gallery_id = Some("G0000grp00065478".parse().expect("valid gallery id"));
    gallery_click.page_id = None;
    let batch = EventBatch { events: vec![sample_event(EventKind::Impression, 1), dwell, gallery_click] };

    let body = wire::encode_batch(&batch).expect("encodes");
    let decoded: EventBatch = serde_json::from_str(&body).expect("the edge's serde types accept the body");

    assert_eq!(decoded, batch);
}
