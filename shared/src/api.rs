//! The HTTP wire format of the edge API, shared by the worker (which produces it) and the
//! widget (which consumes it).
//!
//! | endpoint | request | response |
//! | --- | --- | --- |
//! | `GET /v1/recommendations` | [`RecommendationQuery`] as query parameters | [`RecommendationResponse`] |
//! | `GET /v1/assets/{id}` | `channel` (default `web`) | [`AssetCard`] |
//! | `GET /v1/galleries/{id}` | `channel` (default `web`) | [`GalleryCard`] |
//! | `POST /v1/events` | [`EventBatch`] as JSON | [`EventsAccepted`] (202) |
//! | any, on failure | | [`Problem`] |
//!
//! [`remote`] holds the contract of a customer's own Loci service, which the edge may call for
//! candidates instead of using its embedded engine.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{GalleryId, InvalidId, MediaId};
use crate::rights::Channel;

/// Largest `count` a recommendation request may ask for.
pub const MAX_COUNT: usize = 48;
/// `count` used when a request gives none.
pub const DEFAULT_COUNT: usize = 8;
/// Largest number of ids a request may list in `exclude`.
pub const MAX_EXCLUDE: usize = 200;
/// Largest number of events in one batch.
pub const MAX_EVENTS_PER_BATCH: usize = 500;
/// Maximum dwell time an event may report: one day, in milliseconds.
pub const MAX_DWELL_MS: u64 = 86_400_000;
/// Latest `occurred_at` accepted: 2^53 - 1, the largest integer every JSON reader keeps exact.
pub const MAX_TIMESTAMP_MS: i64 = 9_007_199_254_740_991;

/// What a recommendation request is about: the asset or gallery a page shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ContextRef {
    /// A page about one asset, written `asset:<media id>`.
    Asset(MediaId),
    /// A page about one gallery, written `gallery:<gallery id>`.
    Gallery(GalleryId),
}

impl FromStr for ContextRef {
    type Err = QueryError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| QueryError::Invalid { parameter: "context", reason };
        match value.split_once(':') {
            Some(("asset", id)) => id.parse().map(ContextRef::Asset).map_err(|e: InvalidId| invalid(e.to_string())),
            Some(("gallery", id)) => id.parse().map(ContextRef::Gallery).map_err(|e: InvalidId| invalid(e.to_string())),
            _ => Err(invalid(format!(
                "`{}` is not a context: use `asset:<media id>` or `gallery:<gallery id>`",
                value.chars().take(60).collect::<String>()
            ))),
        }
    }
}

impl TryFrom<String> for ContextRef {
    type Error = QueryError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ContextRef> for String {
    fn from(context: ContextRef) -> String {
        context.to_string()
    }
}

impl fmt::Display for ContextRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextRef::Asset(id) => write!(f, "asset:{id}"),
            ContextRef::Gallery(id) => write!(f, "gallery:{id}"),
        }
    }
}

/// Why a request's query string or body was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A required parameter is absent.
    #[error("the `{0}` parameter is missing")]
    Missing(&'static str),
    /// A parameter is present but its value cannot be used.
    #[error("invalid `{parameter}`: {reason}")]
    Invalid {
        /// The parameter's name.
        parameter: &'static str,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// A parameter the endpoint does not know.
    #[error("unknown parameter `{0}`")]
    Unknown(String),
}

impl QueryError {
    /// Returns the parameter the error is about.
    pub fn parameter(&self) -> &str {
        match self {
            QueryError::Missing(name) => name,
            QueryError::Invalid { parameter, .. } => parameter,
            QueryError::Unknown(name) => name,
        }
    }
}

/// Validates an opaque client-chosen id (visitor, page, request, campaign): 1 to 64
/// characters of `[A-Za-z0-9._-]`.
pub fn validate_token(parameter: &'static str, value: &str) -> Result<String, QueryError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(QueryError::Invalid {
            parameter,
            reason: "use 1 to 64 characters from A-Z, a-z, 0-9, `.`, `_` and `-`".to_owned(),
        })
    }
}

/// The kind of list a recommendation request returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Assets related to the context (similar images, or a gallery's members), blended with
    /// co-views and, with a visitor id, the visitor's recent interest. The default.
    Related,
    /// Assets whose engagement in the window is highest, weighted towards recent days.
    Trending,
    /// Assets clicked most in the window.
    Popular,
    /// What this visitor opened, most recent first; needs `visitor`.
    RecentlyViewed,
    /// Assets most clicked by the request's segment (`segment`, or the stored segment of
    /// `visitor`); needs one of the two.
    PopularInSegment,
}

impl Scenario {
    /// Returns the name used in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Related => "related",
            Scenario::Trending => "trending",
            Scenario::Popular => "popular",
            Scenario::RecentlyViewed => "recently_viewed",
            Scenario::PopularInSegment => "popular_in_segment",
        }
    }
}

impl FromStr for Scenario {
    type Err = QueryError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        [Scenario::Related, Scenario::Trending, Scenario::Popular, Scenario::RecentlyViewed, Scenario::PopularInSegment]
            .into_iter()
            .find(|scenario| scenario.as_str() == value)
            .ok_or_else(|| QueryError::Invalid {
                parameter: "scenario",
                reason: format!(
                    "`{value}` is not a scenario: use related, trending, popular, recently_viewed or popular_in_segment"
                ),
            })
    }
}

/// Maximum window for trending and popular lists, in days.
pub const MAX_WINDOW_DAYS: u32 = 90;
/// Largest `cursor` a request may give: a position in the ranked list, which the engine
/// bounds to at most 1000 candidates anyway.
pub const MAX_CURSOR: usize = 1000;

/// A parsed and validated `GET /v1/recommendations` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommendationQuery {
    /// The asset or gallery the page is about.
    pub context: ContextRef,
    /// The channel the results will be shown on; rights are checked for it.
    pub channel: Channel,
    /// How many assets to return (1 to [`MAX_COUNT`]).
    pub count: usize,
    /// How many related galleries to return (0 to 12).
    pub gallery_count: usize,
    /// A pseudonymous visitor id, present only when the visitor consented to one.
    pub visitor_id: Option<String>,
    /// A per-page-view id shared by every widget on one page.
    pub page_id: Option<String>,
    /// The campaign the results are for, when rights differ per campaign.
    pub campaign: Option<String>,
    /// The placement name, such as `article-related`.
    pub placement: String,
    /// Assets not to return, such as those already shown on the page.
    pub exclude: Vec<MediaId>,
    /// Which list to return.
    pub scenario: Scenario,
    /// For trending and popular lists: how many days of events count (1 to [`MAX_WINDOW_DAYS`]).
    pub window_days: u32,
    /// For trending and popular lists: only assets with this keyword (lower case).
    pub keyword: Option<String>,
    /// For trending and popular lists: only assets in this collection.
    pub collection: Option<crate::ids::CollectionId>,
    /// The visitor's segment, such as one the publisher's own analytics assigned; when absent,
    /// the segment stored for `visitor` applies.
    pub segment: Option<String>,
    /// Position in the ranked list at which this page starts: the `next_cursor` of the
    /// previous page, or `None` for the first page.
    pub cursor: Option<usize>,
}

impl RecommendationQuery {
    /// Parses a query from decoded `(name, value)` pairs.
    ///
    /// Fails on a missing `context`, any invalid value, or an unknown parameter name, so that a
    /// typo in an embed code is reported instead of silently ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, QueryError> {
        let mut context = None;
        let mut channel = Channel::web();
        let mut count = DEFAULT_COUNT;
        let mut gallery_count = 4;
        let mut visitor_id = None;
        let mut page_id = None;
        let mut campaign = None;
        let mut scenario = Scenario::Related;
        let mut window_days = 7;
        let mut keyword = None;
        let mut collection = None;
        let mut placement = "default".to_owned();
        let mut exclude = Vec::new();
        let mut segment = None;
        let mut cursor = None;

        for (name, value) in pairs {
            match name {
                "context" => context = Some(value.parse()?),
                "channel" => {
                    channel = value.parse().map_err(|reason| QueryError::Invalid { parameter: "channel", reason })?
                }
                "count" => count = parse_count("count", value, 1, MAX_COUNT)?,
                "galleries" => gallery_count = parse_count("galleries", value, 0, 12)?,
                "visitor" => visitor_id = Some(validate_token("visitor", value)?),
                "page" => page_id = Some(validate_token("page", value)?),
                "campaign" => campaign = Some(validate_token("campaign", value)?),
                "placement" => placement = validate_token("placement", value)?,
                "scenario" => scenario = value.parse()?,
                "segment" => segment = Some(validate_token("segment", value)?),
                "cursor" => cursor = Some(parse_count("cursor", value, 0, MAX_CURSOR)?),
                "window" => window_days = parse_count("window", value, 1, MAX_WINDOW_DAYS as usize)? as u32,
                "keyword" => {
                    let trimmed = value.trim();
                    if trimmed.is_empty() || trimmed.chars().count() > 80 {
                        return Err(QueryError::Invalid {
                            parameter: "keyword",
                            reason: "use 1 to 80 characters".to_owned(),
                        });
                    }
                    keyword = Some(trimmed.to_lowercase());
                }
                "collection" => {
                    collection = Some(value.parse().map_err(|e: InvalidId| QueryError::Invalid {
                        parameter: "collection",
                        reason: e.to_string(),
                    })?)
                }
                "exclude" => {
                    for id in value.split(',').filter(|id| !id.is_empty()) {
                        let id = id.parse().map_err(|e: InvalidId| QueryError::Invalid {
                            parameter: "exclude",
                            reason: e.to_string(),
                        })?;
                        exclude.push(id);
                    }
                    if exclude.len() > MAX_EXCLUDE {
                        return Err(QueryError::Invalid {
                            parameter: "exclude",
                            reason: format!("list at most {MAX_EXCLUDE} ids"),
                        });
                    }
                }
                other => return Err(QueryError::Unknown(other.chars().take(40).collect())),
            }
        }

        let context = context.ok_or(QueryError::Missing("context"))?;
        if scenario == Scenario::RecentlyViewed && visitor_id.is_none() {
            return Err(QueryError::Invalid {
                parameter: "scenario",
                reason: "recently_viewed needs `visitor`, a visitor id given with consent".to_owned(),
            });
        }
        if scenario == Scenario::PopularInSegment && segment.is_none() && visitor_id.is_none() {
            return Err(QueryError::Invalid {
                parameter: "scenario",
                reason: "popular_in_segment needs `segment`, or `visitor` for the visitor's stored segment".to_owned(),
            });
        }
        Ok(RecommendationQuery {
            scenario,
            window_days,
            keyword,
            collection,
            context,
            channel,
            count,
            gallery_count,
            visitor_id,
            page_id,
            campaign,
            placement,
            exclude,
            segment,
            cursor,
        })
    }
}

fn parse_count(parameter: &'static str, value: &str, min: usize, max: usize) -> Result<usize, QueryError> {
    match value.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(QueryError::Invalid {
            parameter,
            reason: format!(
                "`{}` is not a whole number from {min} to {max}",
                value.chars().take(40).collect::<String>()
            ),
        }),
    }
}

/// Why an item was recommended, for display and for analytics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Shares subjects or keywords with the context.
    SimilarSubjects,
    /// By the same creator as the context.
    SameCreator,
    /// In the same gallery as the context.
    SameGallery,
    /// Opened by visitors from the context's page.
    ViewedTogether,
    /// Close to what this visitor opened recently.
    ForYou,
    /// A member of the gallery the page is about.
    InThisGallery,
    /// A gallery containing the context or related to it.
    RelatedGallery,
    /// Chosen by the site's own recommendation service.
    Recommended,
    /// Engagement is rising in the chosen window.
    Trending,
    /// Among the most clicked in the chosen window.
    Popular,
    /// The visitor opened it recently.
    RecentlyViewed,
}

impl ReasonCode {
    /// Every reason code.
    pub const ALL: [ReasonCode; 11] = [
        ReasonCode::SimilarSubjects,
        ReasonCode::SameCreator,
        ReasonCode::SameGallery,
        ReasonCode::ViewedTogether,
        ReasonCode::ForYou,
        ReasonCode::InThisGallery,
        ReasonCode::RelatedGallery,
        ReasonCode::Recommended,
        ReasonCode::Trending,
        ReasonCode::Popular,
        ReasonCode::RecentlyViewed,
    ];

    /// The name used on the wire, such as `similar_subjects`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::SimilarSubjects => "similar_subjects",
            ReasonCode::SameCreator => "same_creator",
            ReasonCode::SameGallery => "same_gallery",
            ReasonCode::ViewedTogether => "viewed_together",
            ReasonCode::ForYou => "for_you",
            ReasonCode::InThisGallery => "in_this_gallery",
            ReasonCode::RelatedGallery => "related_gallery",
            ReasonCode::Recommended => "recommended",
            ReasonCode::Trending => "trending",
            ReasonCode::Popular => "popular",
            ReasonCode::RecentlyViewed => "recently_viewed",
        }
    }

    /// The code with this wire name, if there is one.
    pub fn from_wire(name: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|code| code.as_str() == name)
    }
}

/// A machine-readable reason with a short sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The kind of reason.
    pub code: ReasonCode,
    /// A short explanation such as "Shares subjects: landscape, river".
    pub text: String,
}

/// One recommended asset, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendedAsset {
    /// The PhotoShelter media id.
    pub id: MediaId,
    /// The title.
    pub title: String,
    /// The creator (artist or photographer), if known.
    pub creator: Option<String>,
    /// Text alternative for the image: the caption, or the title when there is none.
    pub alt: String,
    /// URL of the image, sized for a grid cell.
    pub image_url: String,
    /// Width of the original in pixels, when known (for aspect-ratio boxes).
    pub width: Option<u32>,
    /// Height of the original in pixels, when known.
    pub height: Option<u32>,
    /// Where a click should take the visitor on the publisher's site.
    pub link: String,
    /// Why it was recommended.
    pub reason: Reason,
}

/// One recommended gallery, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendedGallery {
    /// The PhotoShelter gallery id.
    pub id: GalleryId,
    /// The gallery name.
    pub name: String,
    /// Cover image URL: an asset of the gallery that may be shown on this channel.
    pub cover_image_url: String,
    /// The cover asset's id.
    pub cover_asset_id: MediaId,
    /// How many assets the gallery holds.
    pub asset_count: u32,
    /// Where a click should take the visitor.
    pub link: String,
    /// Why it was recommended.
    pub reason: Reason,
}

/// The answer to `GET /v1/recommendations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationResponse {
    /// Id of this response; events about its items carry it for attribution.
    pub request_id: String,
    /// The context the request named.
    pub context: ContextRef,
    /// The placement the request named.
    pub placement: String,
    /// Recommended assets, best first.
    pub assets: Vec<RecommendedAsset>,
    /// Recommended galleries, best first.
    pub galleries: Vec<RecommendedGallery>,
    /// How many candidates each rights rule removed, by rule code.
    pub filtered: BTreeMap<String, u32>,
    /// Which engine produced the candidates: `embedded`, `remote`, or `embedded_fallback`
    /// when the remote service failed or timed out.
    pub engine: String,
}

/// The answer to `GET /v1/assets/{id}`: one asset the channel may show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetCard {
    /// The PhotoShelter media id.
    pub id: MediaId,
    /// The title.
    pub title: String,
    /// The creator, if known.
    pub creator: Option<String>,
    /// The caption.
    pub caption: Option<String>,
    /// The credit line.
    pub credit: Option<String>,
    /// The copyright notice.
    pub copyright: Option<String>,
    /// Image URL for a large view.
    pub image_url: String,
    /// Width of the original in pixels, when known.
    pub width: Option<u32>,
    /// Height of the original in pixels, when known.
    pub height: Option<u32>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Galleries holding the asset.
    pub galleries: Vec<GalleryId>,
}

/// The answer to `GET /v1/galleries/{id}`: one public gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GalleryCard {
    /// The PhotoShelter gallery id.
    pub id: GalleryId,
    /// The gallery name.
    pub name: String,
    /// The description, if any.
    pub description: Option<String>,
    /// How many assets the gallery holds.
    pub asset_count: u32,
    /// Cover image URL: an asset of the gallery that may be shown on this channel, if any.
    pub cover_image_url: Option<String>,
    /// Link to the gallery page on the publisher's site.
    pub link: String,
}

/// The kind of a widget event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An item was seen (at least half of it visible for one second).
    Impression,
    /// An item was clicked.
    Click,
    /// Time spent on the page a click led to.
    Dwell,
}

impl EventKind {
    /// The name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Impression => "impression",
            EventKind::Click => "click",
            EventKind::Dwell => "dwell",
        }
    }
}

/// One interaction reported by the widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The `request_id` of the response that showed the item.
    pub request_id: String,
    /// The asset involved, for asset items.
    #[serde(default)]
    pub asset_id: Option<MediaId>,
    /// The gallery involved, for gallery items.
    #[serde(default)]
    pub gallery_id: Option<GalleryId>,
    /// Zero-based position of the item in the list.
    #[serde(default)]
    pub position: Option<u32>,
    /// The context of the page that showed the item.
    pub context: ContextRef,
    /// The placement that showed the item.
    pub placement: String,
    /// The page-view id.
    #[serde(default)]
    pub page_id: Option<String>,
    /// The pseudonymous visitor id, only with consent.
    #[serde(default)]
    pub visitor_id: Option<String>,
    /// For dwell events: milliseconds spent on the destination page.
    #[serde(default)]
    pub dwell_ms: Option<u64>,
    /// When it happened, in milliseconds since the Unix epoch (client clock).
    pub occurred_at: i64,
}

impl Event {
    /// Checks the rules JSON types cannot express.
    pub fn validate(&self) -> Result<(), String> {
        validate_token("request_id", &self.request_id).map_err(|e| e.to_string())?;
        validate_token("placement", &self.placement).map_err(|e| e.to_string())?;
        if let Some(page) = &self.page_id {
            validate_token("page_id", page).map_err(|e| e.to_string())?;
        }
        if let Some(visitor) = &self.visitor_id {
            validate_token("visitor_id", visitor).map_err(|e| e.to_string())?;
        }
        if self.asset_id.is_none() && self.gallery_id.is_none() {
            return Err("give `asset_id` or `gallery_id`".to_owned());
        }
        if self.kind == EventKind::Dwell && self.dwell_ms.is_none() {
            return Err("dwell events need `dwell_ms`".to_owned());
        }
        if self.dwell_ms.is_some_and(|ms| ms > MAX_DWELL_MS) {
            return Err(format!("`dwell_ms` must be at most {MAX_DWELL_MS} (one day)"));
        }
        if self.occurred_at <= 0 || self.occurred_at > MAX_TIMESTAMP_MS {
            return Err("`occurred_at` must be milliseconds since the Unix epoch".to_owned());
        }
        Ok(())
    }
}

/// The body of `POST /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// The events, at most [`MAX_EVENTS_PER_BATCH`].
    pub events: Vec<Event>,
}

/// The answer to an accepted event batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsAccepted {
    /// How many events were stored.
    pub accepted: usize,
    /// How many of the stored clicks name an asset that the response `request_id` names did
    /// not serve (or a request the edge does not know). They are stored, marked unverified,
    /// and do not count as co-views.
    #[serde(default)]
    pub unverified_clicks: usize,
}

/// A JSON problem: the body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The HTTP status code.
    pub status: u16,
    /// A stable machine-readable code such as `invalid_parameter`.
    pub code: String,
    /// What was wrong and how to fix it.
    pub detail: String,
    /// The offending parameter or field, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &[(&str, &str)]) -> Result<RecommendationQuery, QueryError> {
        RecommendationQuery::from_pairs(query.iter().copied())
    }

    #[test]
    fn query_applies_defaults() {
        let query = parse(&[("context", "asset:I000000000A00001")]).unwrap();
        assert_eq!(query.count, DEFAULT_COUNT);
        assert_eq!(query.channel, Channel::web());
        assert_eq!(query.context.to_string(), "asset:I000000000A00001");
    }

    #[test]
    fn query_rejects_bad_values_naming_the_parameter() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "context"),
            (&[("context", "foo")], "context"),
            (&[("context", "asset:G0000_sI_gnW12n4")], "context"),
            (&[("context", "asset:I000000000A00001"), ("count", "abc")], "count"),
            (&[("context", "asset:I000000000A00001"), ("count", "0")], "count"),
            (&[("context", "asset:I000000000A00001"), ("count", "49")], "count"),
            (&[("context", "asset:I000000000A00001"), ("visitor", "a b")], "visitor"),
            (&[("context", "asset:I000000000A00001"), ("exclude", "x")], "exclude"),
            (&[("context", "asset:I000000000A00001"), ("colour", "red")], "colour"),
            (&[("context", "asset:I000000000A00001"), ("scenario", "random")], "scenario"),
            (&[("context", "asset:I000000000A00001"), ("scenario", "recently_viewed")], "scenario"),
            (&[("context", "asset:I000000000A00001"), ("window", "91")], "window"),
            (&[("context", "asset:I000000000A00001"), ("collection", "G0000_sI_gnW12n4")], "collection"),
            (&[("context", "asset:I000000000A00001"), ("segment", "art lovers")], "segment"),
            (&[("context", "asset:I000000000A00001"), ("scenario", "popular_in_segment")], "scenario"),
            (&[("context", "asset:I000000000A00001"), ("cursor", "1001")], "cursor"),
            (&[("context", "asset:I000000000A00001"), ("cursor", "next")], "cursor"),
        ];
        for (query, parameter) in cases {
            let error = parse(query).unwrap_err();
            assert_eq!(error.parameter(), *parameter, "{query:?}");
        }
    }

    #[test]
    fn query_reads_segment_and_cursor() {
        let query = parse(&[
            ("context", "asset:I000000000A00001"),
            ("scenario", "popular_in_segment"),
            ("segment", "late-night.readers"),
            ("cursor", "16"),
        ])
        .unwrap();
        assert_eq!(query.scenario, Scenario::PopularInSegment);
        assert_eq!(query.segment.as_deref(), Some("late-night.readers"));
        assert_eq!(query.cursor, Some(16));

        let by_visitor =
            parse(&[("context", "asset:I000000000A00001"), ("scenario", "popular_in_segment"), ("visitor", "v1")]);
        assert!(by_visitor.is_ok(), "{by_visitor:?}");
    }

    #[test]
    fn reason_code_wire_names_match_serde() {
        for code in ReasonCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::Value::from(code.as_str()));
            assert_eq!(ReasonCode::from_wire(code.as_str()), Some(code));
        }
        assert_eq!(ReasonCode::from_wire("new_kind"), None);
    }

    #[test]
    fn event_batch_rejects_unknown_fields_and_missing_item() {
        let good = r#"{"events":[{"type":"click","request_id":"r1","asset_id":"I000000000A00001",
            "context":"asset:I000000000A00002","placement":"article-related","occurred_at":1}]}"#;
        let batch: EventBatch = serde_json::from_str(good).unwrap();
        assert!(batch.events[0].validate().is_ok());

        assert!(serde_json::from_str::<EventBatch>(
            &good.replace("\"position\"", "\"x\"").replace("\"type\"", "\"typ\"")
        )
        .is_err());
        let no_item: EventBatch = serde_json::from_str(&good.replace(r#""asset_id":"I000000000A00001","#, "")).unwrap();
        assert!(no_item.events[0].validate().is_err());
    }
}

pub mod remote {
    //! The contract of a remote Loci service: `POST {base}/v1/candidates`.
    //!
    //! The edge sends a [`CandidatesRequest`] as JSON (with `Authorization: Bearer <key>` when a
    //! key is configured) and expects a [`CandidatesResponse`] within its timeout budget. Any
    //! other answer (an error status, invalid JSON, an invalid id, a timeout) makes the edge
    //! fall back to its embedded engine. Whatever the service returns goes through the same
    //! rights filter as the embedded engine's candidates.

    use serde::{Deserialize, Serialize};

    use super::ContextRef;
    use crate::ids::MediaId;
    use crate::rights::Channel;

    /// What the edge asks the remote service.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CandidatesRequest {
        /// The page's context.
        pub context: ContextRef,
        /// The placement.
        pub placement: String,
        /// The channel the results will be shown on.
        pub channel: Channel,
        /// The visitor's pseudonymous id, only with consent.
        pub visitor_id: Option<String>,
        /// How many candidates to return at most (more than will be shown, since the edge
        /// filters and diversifies them).
        pub count: usize,
        /// Ids not to return.
        pub exclude: Vec<MediaId>,
    }

    /// One candidate with the service's score (higher is better).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ScoredCandidate {
        /// The media id.
        pub id: MediaId,
        /// The score.
        pub score: f64,
    }

    /// The remote service's answer.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CandidatesResponse {
        /// Candidates, in any order.
        pub candidates: Vec<ScoredCandidate>,
    }
}
