//! The widget's configuration: the `data-*` attributes of its `<script>` tag, validated.
//!
//! The loader copies the attributes into a plain object and passes it to
//! `mount`; [`RawConfig`] is that object and [`WidgetConfig::parse`] turns it
//! into typed values. A widget with any invalid attribute renders nothing, and the error names
//! the attribute and the values it accepts, so a typo in an embed code is easy to find.

use std::fmt;

use loci_shared::api::{ContextRef, QueryError, ReasonCode, RecommendedAsset, MAX_COUNT, MAX_EXCLUDE};
use loci_shared::ids::MediaId;
use loci_shared::rights::Channel;

/// Default for `data-count`: two rows of a four-column grid.
pub const DEFAULT_COUNT: usize = 8;

/// Longest accepted `data-endpoint`, in bytes.
const MAX_ENDPOINT_LEN: usize = 200;

/// The configuration as the loader passes it: attribute values as written, `None` when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawConfig {
    /// `data-placement`: the name of the slot on the page, such as `article-related`.
    pub placement: Option<String>,
    /// `data-context`: `asset:<media id>` or `gallery:<gallery id>`.
    pub context: Option<String>,
    /// `data-count`: how many assets to show.
    pub count: Option<String>,
    /// `data-layout`: `grid`, `row`, `carousel`, `gallery-more` or `homepage`.
    pub layout: Option<String>,
    /// `data-endpoint`: origin (and optional path prefix) of the edge API.
    pub endpoint: Option<String>,
    /// `data-channel`: the rights channel the page belongs to.
    pub channel: Option<String>,
    /// `data-exclude`: comma-separated media ids not to show, such as the page's own asset.
    pub exclude: Option<String>,
    /// The page-view id the loader shares between all widgets of one page.
    pub page_id: Option<String>,
    /// The pseudonymous visitor id, which the loader passes only after the visitor consented.
    pub visitor_id: Option<String>,
}

#[cfg(target_arch = "wasm32")]
impl RawConfig {
    /// Reads the loader's plain object: `placement`, `context`, `count`, `layout`, `endpoint`,
    /// `channel`, `exclude`, `pageId` and `visitorId`. A missing property reads as absent, and so does a value that is
    /// neither a string nor a number. A `config` that is not an object reads as all absent.
    pub fn from_js(config: &wasm_bindgen::JsValue) -> RawConfig {
        let read = |name: &str| {
            let value = js_sys::Reflect::get(config, &wasm_bindgen::JsValue::from_str(name)).ok()?;
            if value.as_f64().is_some() {
                // JavaScript formats the number: Rust's float formatting would add kilobytes.
                return js_sys::Number::from(value.as_f64()?).to_string_with_radix(10).ok().map(String::from);
            }
            value.as_string()
        };
        RawConfig {
            placement: read("placement"),
            context: read("context"),
            count: read("count"),
            layout: read("layout"),
            endpoint: read("endpoint"),
            channel: read("channel"),
            exclude: read("exclude"),
            page_id: read("pageId"),
            visitor_id: read("visitorId"),
        }
    }
}

/// Arrangement of the widget, which also decides what it requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// A responsive grid that wraps onto as many rows as it needs.
    #[default]
    Grid,
    /// One horizontally scrolling row.
    Row,
    /// A horizontally scrolling list that snaps to cards, with previous and next buttons and
    /// arrow-key navigation.
    Carousel,
    /// "More from this gallery": the other assets of the context gallery, without related
    /// galleries. The context must be `gallery:<id>`.
    GalleryMore,
    /// A front-page module: galleries near the context as large cards, then a few assets.
    /// The edge needs a context, so pages pass the gallery they feature.
    Homepage,
}

/// Galleries a `homepage` widget requests (the edge accepts 0 to 12).
pub const HOMEPAGE_GALLERIES: usize = 4;

impl Layout {
    /// Returns the attribute value, which the view also uses in the list's CSS class.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Grid => "grid",
            Layout::Row => "row",
            Layout::Carousel => "carousel",
            Layout::GalleryMore => "gallery-more",
            Layout::Homepage => "homepage",
        }
    }

    /// Parses an attribute value; `None` for an unknown layout.
    pub fn parse(value: &str) -> Option<Layout> {
        [Layout::Grid, Layout::Row, Layout::Carousel, Layout::GalleryMore, Layout::Homepage]
            .into_iter()
            .find(|layout| layout.as_str() == value)
    }

    /// Returns whether this layout shows `asset`. `gallery-more` shows only members of the
    /// context gallery, because the edge pads a small gallery's list with popular assets from
    /// elsewhere. Every other layout shows every asset.
    ///
    /// NOTE: a member whose dominant signal is a co-view or the visitor's history carries that
    /// reason instead of `in_this_gallery`, so `gallery-more` leaves it out too.
    pub fn shows(self, asset: &RecommendedAsset) -> bool {
        self != Layout::GalleryMore || asset.reason.code == ReasonCode::InThisGallery
    }

    /// Returns the `galleries` query parameter for this layout, or `None` to keep the edge's
    /// default of 4.
    pub fn gallery_count(self) -> Option<usize> {
        match self {
            Layout::GalleryMore => Some(0),
            Layout::Homepage => Some(HOMEPAGE_GALLERIES),
            Layout::Grid | Layout::Row | Layout::Carousel => None,
        }
    }
}

/// A validated widget configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetConfig {
    /// The placement name, 1 to 64 characters of `[A-Za-z0-9._-]`.
    pub placement: String,
    /// The asset or gallery the page is about.
    pub context: ContextRef,
    /// How many assets to request, 1 to [`MAX_COUNT`].
    pub count: usize,
    /// Arrangement of the assets.
    pub layout: Layout,
    /// Base URL of the edge API without a trailing slash, such as `https://loci.example.com`.
    pub endpoint: String,
    /// The channel whose rights apply.
    pub channel: Channel,
    /// Assets the edge must not return, at most [`MAX_EXCLUDE`].
    pub exclude: Vec<MediaId>,
    /// The page-view id, when the loader provided one.
    pub page_id: Option<String>,
    /// The visitor id, present only with the visitor's consent.
    pub visitor_id: Option<String>,
}

/// Error for a rejected configuration. Each variant names the attribute and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required attribute is absent or empty.
    #[error("`{attribute}` is missing: expected {expected}")]
    Missing {
        /// The attribute's name, such as `data-context`.
        attribute: &'static str,
        /// The accepted values.
        expected: &'static str,
    },
    /// An attribute is present but its value cannot be used.
    #[error("`{attribute}` has the invalid value `{value}`: {reason}")]
    Invalid {
        /// The attribute's name, such as `data-count`.
        attribute: &'static str,
        /// The rejected value, cut to 60 characters.
        value: String,
        /// The problem, ending with the accepted values.
        reason: String,
    },
}

impl ConfigError {
    /// Returns the name of the attribute the error is about.
    pub fn attribute(&self) -> &'static str {
        match self {
            ConfigError::Missing { attribute, .. } | ConfigError::Invalid { attribute, .. } => attribute,
        }
    }
}

const TOKEN_EXPECTED: &str = "1 to 64 characters from A-Z, a-z, 0-9, `.`, `_` and `-`";
const CONTEXT_EXPECTED: &str = "`asset:<media id>` or `gallery:<gallery id>`";
const LAYOUT_EXPECTED: &str = "`grid`, `row`, `carousel`, `gallery-more` or `homepage`";
const ENDPOINT_EXPECTED: &str = "an absolute http:// or https:// URL without query or fragment";
const CHANNEL_EXPECTED: &str = "1 to 32 characters of a-z, 0-9, `_` and `-`, such as `web`";

impl WidgetConfig {
    /// Validates every attribute of `raw`, returning the first error found.
    ///
    /// `data-placement`, `data-context` and `data-endpoint` are required (the loader fills
    /// `data-endpoint` from the script's origin). `data-count` defaults to [`DEFAULT_COUNT`],
    /// `data-layout` to `grid` and `data-channel` to `web`. Surrounding whitespace is ignored.
    pub fn parse(raw: &RawConfig) -> Result<WidgetConfig, ConfigError> {
        let placement = required(&raw.placement, "data-placement", TOKEN_EXPECTED)?;
        let placement = parse_token("data-placement", placement)?;

        let context = required(&raw.context, "data-context", CONTEXT_EXPECTED)?;
        let context: ContextRef = context.parse().map_err(|error| match error {
            // A known prefix with a bad id: the id's own message describes the accepted format.
            QueryError::Invalid { reason, .. } if context.starts_with("asset:") || context.starts_with("gallery:") => {
                ConfigError::Invalid { attribute: "data-context", value: shorten(context), reason }
            }
            _ => invalid("data-context", context, CONTEXT_EXPECTED),
        })?;

        let count = match optional(&raw.count) {
            None => DEFAULT_COUNT,
            Some(value) => parse_count(value)?,
        };

        let layout = match optional(&raw.layout) {
            None => Layout::default(),
            Some(value) => Layout::parse(value).ok_or_else(|| invalid("data-layout", value, LAYOUT_EXPECTED))?,
        };
        if layout == Layout::GalleryMore && !matches!(context, ContextRef::Gallery(_)) {
            return Err(ConfigError::Invalid {
                attribute: "data-context",
                value: shorten(&context.to_string()),
                reason: "the `gallery-more` layout shows a gallery's assets: expected `gallery:<gallery id>`"
                    .to_owned(),
            });
        }

        let endpoint = required(&raw.endpoint, "data-endpoint", ENDPOINT_EXPECTED)?;
        let endpoint = parse_endpoint(endpoint)?;

        let channel = match optional(&raw.channel) {
            None => Channel::web(),
            Some(value) => value.parse().map_err(|_| invalid("data-channel", value, CHANNEL_EXPECTED))?,
        };

        let exclude = match optional(&raw.exclude) {
            None => Vec::new(),
            Some(value) => parse_exclude(value)?,
        };

        let page_id = match optional(&raw.page_id) {
            None => None,
            Some(value) => Some(parse_token("pageId", value)?),
        };

        let visitor_id = match optional(&raw.visitor_id) {
            None => None,
            Some(value) => Some(parse_token("visitorId", value)?),
        };

        Ok(WidgetConfig { placement, context, count, layout, endpoint, channel, exclude, page_id, visitor_id })
    }

    /// Returns the `GET /v1/recommendations` URL for this configuration.
    ///
    /// Every value is validated to characters that need no percent-encoding in a query string.
    pub fn recommendations_url(&self) -> String {
        let mut url = format!(
            "{}/v1/recommendations?context={}&placement={}&count={}&channel={}",
            self.endpoint,
            self.context,
            self.placement,
            self.count,
            self.channel.as_str()
        );
        for (index, id) in self.exclude.iter().enumerate() {
            url.push_str(if index == 0 { "&exclude=" } else { "," });
            url.push_str(id.as_str());
        }
        if let Some(galleries) = self.layout.gallery_count() {
            url.push_str("&galleries=");
            url.push_str(&galleries.to_string());
        }
        if let Some(page_id) = &self.page_id {
            url.push_str("&page=");
            url.push_str(page_id);
        }
        if let Some(visitor_id) = &self.visitor_id {
            url.push_str("&visitor=");
            url.push_str(visitor_id);
        }
        url
    }

    /// Returns the `POST /v1/events` URL for this configuration's endpoint.
    pub fn events_url(&self) -> String {
        format!("{}/v1/events", self.endpoint)
    }
}

impl fmt::Display for WidgetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "placement `{}`, context `{}`", self.placement, self.context)
    }
}

/// Returns the trimmed value, or `None` when the attribute is absent or blank.
fn optional(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|value| !value.is_empty())
}

fn required<'a>(
    value: &'a Option<String>,
    attribute: &'static str,
    expected: &'static str,
) -> Result<&'a str, ConfigError> {
    optional(value).ok_or(ConfigError::Missing { attribute, expected })
}

fn invalid(attribute: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError::Invalid { attribute, value: shorten(value), reason: format!("expected {expected}") }
}

/// Cuts a rejected value to 60 characters so that a warning stays readable.
fn shorten(value: &str) -> String {
    value.chars().take(60).collect()
}

/// Accepts the opaque ids the edge API accepts for `placement` and `page`.
fn parse_token(attribute: &'static str, value: &str) -> Result<String, ConfigError> {
    let valid =
        value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(value.to_owned())
    } else {
        Err(invalid(attribute, value, TOKEN_EXPECTED))
    }
}

/// Accepts media ids separated by commas (blanks around them are ignored), at most [`MAX_EXCLUDE`].
fn parse_exclude(value: &str) -> Result<Vec<MediaId>, ConfigError> {
    let ids = value.split(',').map(str::trim).filter(|id| !id.is_empty());
    let mut exclude = Vec::new();
    for id in ids {
        let id = id.parse::<MediaId>().map_err(|error| ConfigError::Invalid {
            attribute: "data-exclude",
            value: shorten(value),
            reason: error.to_string(),
        })?;
        exclude.push(id);
    }
    if exclude.len() > MAX_EXCLUDE {
        return Err(invalid("data-exclude", value, &format!("at most {MAX_EXCLUDE} media ids")));
    }
    Ok(exclude)
}

fn parse_count(value: &str) -> Result<usize, ConfigError> {
    match value.parse::<usize>() {
        Ok(count) if (1..=MAX_COUNT).contains(&count) => Ok(count),
        _ => Err(invalid("data-count", value, &format!("a whole number from 1 to {MAX_COUNT}"))),
    }
}

/// Accepts `http(s)://host[:port][/path]`, dropping trailing slashes so paths can be appended.
fn parse_endpoint(value: &str) -> Result<String, ConfigError> {
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split('/').next().unwrap_or_default());
    let valid = value.len() <= MAX_ENDPOINT_LEN
        && host.is_some_and(|host| !host.is_empty())
        && !value.contains(|c: char| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '"' | '<' | '>'));
    if valid {
        Ok(value.trim_end_matches('/').to_owned())
    } else {
        Err(invalid("data-endpoint", value, ENDPOINT_EXPECTED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_raw() -> RawConfig {
        RawConfig {
            placement: Some("article-related".to_owned()),
            context: Some("asset:I000000000N00530".to_owned()),
            endpoint: Some("http://127.0.0.1:8787".to_owned()),
            ..RawConfig::default()
        }
    }

    #[test]
    fn parse_applies_defaults() {
        let config = WidgetConfig::parse(&valid_raw()).unwrap();

        assert_eq!(config.placement, "article-related");
        assert_eq!(config.context.to_string(), "asset:I000000000N00530");
        assert_eq!(config.count, DEFAULT_COUNT);
        assert_eq!(config.layout, Layout::Grid);
        assert_eq!(config.channel, Channel::web());
        assert_eq!(config.page_id, None);
    }

    #[test]
    fn parse_reads_every_attribute() {
        let raw = RawConfig {
            context: Some(" gallery:G0000art00001811 ".to_owned()),
            count: Some("12".to_owned()),
            layout: Some("row".to_owned()),
            endpoint: Some("https://loci.example.com/api/".to_owned()),
            channel: Some("Newsletter".to_owned()),
            page_id: Some("0f3a9c".to_owned()),
            ..valid_raw()
        };

        let config = WidgetConfig::parse(&raw).unwrap();

        assert_eq!(config.context.to_string(), "gallery:G0000art00001811");
        assert_eq!(config.count, 12);
        assert_eq!(config.layout, Layout::Row);
        assert_eq!(config.endpoint, "https://loci.example.com/api");
        assert_eq!(config.channel.as_str(), "newsletter");
        assert_eq!(config.page_id.as_deref(), Some("0f3a9c"));
    }

    #[test]
    fn parse_rejects_invalid_attribute_by_name() {
        let cases: Vec<(&str, RawConfig)> = vec![
            ("data-placement", RawConfig { placement: None, ..valid_raw() }),
            ("data-placement", RawConfig { placement: Some("two words".to_owned()), ..valid_raw() }),
            ("data-context", RawConfig { context: Some("  ".to_owned()), ..valid_raw() }),
            ("data-context", RawConfig { context: Some("asset:N00530".to_owned()), ..valid_raw() }),
            ("data-context", RawConfig { context: Some("I000000000N00530".to_owned()), ..valid_raw() }),
            ("data-count", RawConfig { count: Some("0".to_owned()), ..valid_raw() }),
            ("data-count", RawConfig { count: Some("49".to_owned()), ..valid_raw() }),
            ("data-count", RawConfig { count: Some("eight".to_owned()), ..valid_raw() }),
            ("data-layout", RawConfig { layout: Some("slideshow".to_owned()), ..valid_raw() }),
            ("data-context", RawConfig { layout: Some("gallery-more".to_owned()), ..valid_raw() }),
            ("data-endpoint", RawConfig { endpoint: None, ..valid_raw() }),
            ("data-endpoint", RawConfig { endpoint: Some("loci.example.com".to_owned()), ..valid_raw() }),
            ("data-endpoint", RawConfig { endpoint: Some("https://".to_owned()), ..valid_raw() }),
            ("data-endpoint", RawConfig { endpoint: Some("https://a.example/?x=1".to_owned()), ..valid_raw() }),
            ("data-channel", RawConfig { channel: Some("web site".to_owned()), ..valid_raw() }),
            ("pageId", RawConfig { page_id: Some("a/b".to_owned()), ..valid_raw() }),
        ];

        for (attribute, raw) in cases {
            let error = WidgetConfig::parse(&raw).unwrap_err();
            assert_eq!(error.attribute(), attribute, "{raw:?}");
        }
    }

    #[test]
    fn error_message_lists_accepted_values() {
        let raw = RawConfig { layout: Some("slideshow".to_owned()), ..valid_raw() };

        let message = WidgetConfig::parse(&raw).unwrap_err().to_string();

        assert_eq!(
            message,
            "`data-layout` has the invalid value `slideshow`: \
             expected `grid`, `row`, `carousel`, `gallery-more` or `homepage`"
        );
    }

    #[test]
    fn context_error_explains_id_format() {
        let raw = RawConfig { context: Some("asset:nope".to_owned()), ..valid_raw() };

        let message = WidgetConfig::parse(&raw).unwrap_err().to_string();

        assert!(
            message.starts_with("`data-context` has the invalid value `asset:nope`: `nope` is not a valid media id"),
            "{message}"
        );
    }

    #[test]
    fn recommendations_url_carries_visitor_only_when_given() {
        let with = RawConfig { visitor_id: Some("v-1".to_owned()), ..valid_raw() };
        let without = valid_raw();

        assert!(WidgetConfig::parse(&with).unwrap().recommendations_url().ends_with("&visitor=v-1"));
        assert!(!WidgetConfig::parse(&without).unwrap().recommendations_url().contains("visitor"));
        assert!(WidgetConfig::parse(&RawConfig { visitor_id: Some("a b".to_owned()), ..valid_raw() }).is_err());
    }

    #[test]
    fn recommendations_url_carries_query() {
        let raw = RawConfig { page_id: Some("p1".to_owned()), count: Some("4".to_owned()), ..valid_raw() };
        let config = WidgetConfig::parse(&raw).unwrap();

        assert_eq!(
            config.recommendations_url(),
            "http://127.0.0.1:8787/v1/recommendations?context=asset:I000000000N00530\
             &placement=article-related&count=4&channel=web&page=p1"
        );
        assert_eq!(config.events_url(), "http://127.0.0.1:8787/v1/events");
    }

    #[test]
    fn parse_reads_every_layout() {
        let cases = [
            ("grid", Layout::Grid),
            ("row", Layout::Row),
            ("carousel", Layout::Carousel),
            ("gallery-more", Layout::GalleryMore),
            ("homepage", Layout::Homepage),
        ];

        for (value, layout) in cases {
            let raw = RawConfig {
                context: Some("gallery:G0000art00001811".to_owned()),
                layout: Some(value.to_owned()),
                ..valid_raw()
            };
            assert_eq!(WidgetConfig::parse(&raw).unwrap().layout, layout, "{value}");
            assert_eq!(layout.as_str(), value);
        }
    }

    #[test]
    fn gallery_more_needs_gallery_context() {
        let raw = RawConfig { layout: Some("gallery-more".to_owned()), ..valid_raw() };

        let message = WidgetConfig::parse(&raw).unwrap_err().to_string();

        assert!(message.starts_with("`data-context` has the invalid value `asset:I000000000N00530`"), "{message}");
        assert!(message.contains("`gallery:<gallery id>`"), "{message}");
    }

    #[test]
    fn recommendations_url_sets_galleries_per_layout() {
        let url = |layout: &str| {
            let raw = RawConfig {
                context: Some("gallery:G0000art00001811".to_owned()),
                layout: Some(layout.to_owned()),
                ..valid_raw()
            };
            WidgetConfig::parse(&raw).unwrap().recommendations_url()
        };

        assert!(!url("grid").contains("galleries="), "{}", url("grid"));
        assert!(!url("carousel").contains("galleries="), "{}", url("carousel"));
        assert!(url("gallery-more").contains("&galleries=0"), "{}", url("gallery-more"));
        assert!(url("homepage").contains(&format!("&galleries={HOMEPAGE_GALLERIES}")), "{}", url("homepage"));
    }

    #[test]
    fn exclude_lists_media_ids() {
        let raw = RawConfig { exclude: Some(" I000000000N00530, I000000000N01506 ,".to_owned()), ..valid_raw() };

        let config = WidgetConfig::parse(&raw).unwrap();

        assert_eq!(config.exclude.len(), 2);
        assert!(
            config.recommendations_url().contains("&exclude=I000000000N00530,I000000000N01506"),
            "{}",
            config.recommendations_url()
        );
        assert!(!WidgetConfig::parse(&valid_raw()).unwrap().recommendations_url().contains("exclude"));
    }

    #[test]
    fn exclude_rejects_invalid_ids() {
        let too_many = vec!["I000000000N00530"; MAX_EXCLUDE + 1].join(",");
        let cases = ["I000000000N00530,nope", "G0000art00001811", too_many.as_str()];

        for value in cases {
            let raw = RawConfig { exclude: Some(value.to_owned()), ..valid_raw() };
            let error = WidgetConfig::parse(&raw).unwrap_err();
            assert_eq!(error.attribute(), "data-exclude", "{value}");
        }
    }

    #[test]
    fn gallery_more_shows_members_only() {
        let asset = |code| RecommendedAsset {
            id: "I000000000N00530".parse().unwrap(),
            title: "Snow Storm".to_owned(),
            creator: None,
            alt: "Snow Storm".to_owned(),
            image_url: "https://cdn.example.com/img-get2/I000000000N00530/fit=600".to_owned(),
            width: None,
            height: None,
            link: "https://example.com/".to_owned(),
            reason: loci_shared::api::Reason { code, text: String::new() },
        };

        assert!(Layout::GalleryMore.shows(&asset(ReasonCode::InThisGallery)));
        assert!(!Layout::GalleryMore.shows(&asset(ReasonCode::Popular)));
        assert!(!Layout::GalleryMore.shows(&asset(ReasonCode::SimilarSubjects)));
        assert!(Layout::Grid.shows(&asset(ReasonCode::Popular)));
        assert!(Layout::Homepage.shows(&asset(ReasonCode::Popular)));
    }
}
