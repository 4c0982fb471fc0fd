//! Placement strategies: how each placement blends signals, fills a thin list and caps
//! repetition.
//!
//! A site configures strategies as one JSON object mapping placement names to strategies,
//! for example:
//!
//! ```json
//! {
//!   "article-related": {
//!     "weights": {"content": 1.0, "co_views": 0.8, "personal": 0.5, "popularity": 0.1},
//!     "cold_start": ["content", "segment_popular", "popular"],
//!     "caps": {"per_gallery": 2, "per_creator": 3}
//!   },
//!   "*": {"cold_start": ["popular"]}
//! }
//! ```
//!
//! Every field is optional and takes its default when left out. The `*` entry replaces the
//! built-in default for placements the object does not list. Unknown fields are rejected, so
//! a typo in the configuration is reported instead of silently ignored.
//!
//! ```
//! use loci_shared::strategy::{ColdStartSource, Placements};
//!
//! let placements = Placements::parse(r#"{"home": {"cold_start": ["popular"]}}"#)?;
//! assert_eq!(placements.strategy("home").cold_start, vec![ColdStartSource::Popular]);
//! assert_eq!(placements.strategy("other").cold_start.len(), 3);
//! # Ok::<(), loci_shared::strategy::StrategyError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::api::validate_token;
use crate::rank::{Blend, DiversityCaps};

/// Largest weight a strategy may give a signal. Weights are relative, so a cap only guards
/// against typos such as `1e9`.
pub const MAX_WEIGHT: f64 = 100.0;
/// Largest diversity cap. A cap at or above the largest `count` a request may ask for
/// (`api::MAX_COUNT`) never defers an item.
pub const MAX_CAP: usize = crate::api::MAX_COUNT;
/// Key of the entry that applies to placements not listed by name.
pub const FALLBACK_KEY: &str = "*";

/// A source of candidates that fills a list the main ranking leaves short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColdStartSource {
    /// Assets sharing index terms with the context asset (no effect for gallery contexts,
    /// whose members are already the content list).
    Content,
    /// Assets most clicked by the visitor's segment; skipped when the request has no segment.
    SegmentPopular,
    /// Assets most clicked by everyone in the last 30 days.
    Popular,
}

impl ColdStartSource {
    /// Every source, in the default chain's order.
    pub const ALL: [ColdStartSource; 3] =
        [ColdStartSource::Content, ColdStartSource::SegmentPopular, ColdStartSource::Popular];

    /// Returns the name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ColdStartSource::Content => "content",
            ColdStartSource::SegmentPopular => "segment_popular",
            ColdStartSource::Popular => "popular",
        }
    }
}

impl fmt::Display for ColdStartSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Relative weights of the ranking signals, each at least 0 and at most [`MAX_WEIGHT`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    /// Content similarity to the context.
    pub content: f64,
    /// Clicks from the context's page.
    pub co_views: f64,
    /// Closeness to what the visitor opened recently.
    pub personal: f64,
    /// Clicks by everyone in the last 30 days. It reorders candidates the other signals
    /// found; it does not add candidates (the cold-start chain does).
    pub popularity: f64,
}

impl Default for Weights {
    /// Returns the weights of [`Blend::default`], with popularity off.
    fn default() -> Self {
        let blend = Blend::default();
        Weights {
            content: blend.content,
            co_views: blend.co_view,
            personal: blend.personal,
            popularity: blend.popularity,
        }
    }
}

impl Weights {
    /// Returns the blend these weights describe.
    pub fn blend(&self) -> Blend {
        Blend { content: self.content, co_view: self.co_views, personal: self.personal, popularity: self.popularity }
    }

    fn validate(&self) -> Result<(), String> {
        let named = [
            ("content", self.content),
            ("co_views", self.co_views),
            ("personal", self.personal),
            ("popularity", self.popularity),
        ];
        for (name, weight) in named {
            if !(weight.is_finite() && (0.0..=MAX_WEIGHT).contains(&weight)) {
                return Err(format!("weight `{name}` is {weight}; use a number from 0 to {MAX_WEIGHT}"));
            }
        }
        if named.iter().all(|(_, weight)| *weight == 0.0) {
            return Err("every weight is 0; give at least one signal a weight above 0".to_owned());
        }
        Ok(())
    }
}

/// Caps per gallery and per creator in one list, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    /// Most items whose first gallery is the same, 1 to [`MAX_CAP`].
    pub per_gallery: usize,
    /// Most items by one creator, 1 to [`MAX_CAP`].
    pub per_creator: usize,
}

impl Caps {
    /// Returns the caps as the diversifier takes them.
    pub fn diversity(&self) -> DiversityCaps {
        DiversityCaps { per_creator: self.per_creator, per_gallery: self.per_gallery }
    }

    fn validate(&self) -> Result<(), String> {
        for (name, cap) in [("per_gallery", self.per_gallery), ("per_creator", self.per_creator)] {
            if !(1..=MAX_CAP).contains(&cap) {
                return Err(format!("cap `{name}` is {cap}; use a whole number from 1 to {MAX_CAP}"));
            }
        }
        Ok(())
    }
}

/// The ranking weights, fill chain and diversity caps of one placement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Strategy {
    /// Signal weights.
    pub weights: Weights,
    /// Sources that fill a related list too short to survive the rights filter and
    /// diversification, tried in order. Random filler is never added.
    pub cold_start: Vec<ColdStartSource>,
    /// Diversity caps. `None` uses the context's default: 3 per gallery and 3 per creator for
    /// asset contexts, and no caps for a gallery context, whose members share the gallery.
    pub caps: Option<Caps>,
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy { weights: Weights::default(), cold_start: ColdStartSource::ALL.to_vec(), caps: None }
    }
}

impl Strategy {
    /// Checks every weight and cap against its range and the cold-start chain for repeats,
    /// returning what is wrong and what is accepted.
    pub fn validate(&self) -> Result<(), String> {
        self.weights.validate()?;
        if let Some(caps) = &self.caps {
            caps.validate()?;
        }
        for (index, source) in self.cold_start.iter().enumerate() {
            if self.cold_start[..index].contains(source) {
                return Err(format!("`cold_start` lists `{source}` twice; list each source once"));
            }
        }
        Ok(())
    }
}

/// The reason a placements configuration is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategyError {
    /// The text is not a JSON object of strategies.
    #[error(
        "not a JSON object of placement strategies ({0}); cold_start sources are content, segment_popular and popular"
    )]
    Syntax(String),
    /// A placement name is not a valid token.
    #[error("placement name `{0}` is invalid: use 1 to 64 characters from A-Z, a-z, 0-9, `.`, `_` and `-`, or `*`")]
    InvalidName(String),
    /// A strategy has a value out of range.
    #[error("placement `{placement}`: {reason}")]
    InvalidValue {
        /// The placement whose strategy is invalid.
        placement: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
}

/// The strategies of every configured placement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Placements {
    by_name: BTreeMap<String, Strategy>,
    fallback: Strategy,
}

impl Placements {
    /// Parses and validates the JSON object of strategies (see the module documentation).
    pub fn parse(text: &str) -> Result<Self, StrategyError> {
        let raw: BTreeMap<String, Strategy> =
            serde_json::from_str(text).map_err(|error| StrategyError::Syntax(error.to_string()))?;
        let mut placements = Placements::default();
        for (name, strategy) in raw {
            if name != FALLBACK_KEY && validate_token("placement", &name).is_err() {
                return Err(StrategyError::InvalidName(name.chars().take(80).collect()));
            }
            strategy.validate().map_err(|reason| StrategyError::InvalidValue { placement: name.clone(), reason })?;
            if name == FALLBACK_KEY {
                placements.fallback = strategy;
            } else {
                placements.by_name.insert(name, strategy);
            }
        }
        Ok(placements)
    }

    /// Returns the strategy of a placement: its own entry, else the `*` entry, else the
    /// built-in default.
    pub fn strategy(&self, placement: &str) -> &Strategy {
        self.by_name.get(placement).unwrap_or(&self.fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_fields_take_defaults() {
        let placements = Placements::parse(r#"{"home": {"weights": {"popularity": 0.2}}}"#).expect("valid");
        let home = placements.strategy("home");

        assert_eq!(home.weights.popularity, 0.2);
        assert_eq!(home.weights.content, Weights::default().content);
        assert_eq!(home.cold_start, ColdStartSource::ALL.to_vec());
        assert_eq!(home.caps, None);
        assert_eq!(placements.strategy("unlisted"), &Strategy::default());
    }

    #[test]
    fn fallback_entry_covers_unlisted_placements() {
        let text = r#"{"*": {"cold_start": []}, "home": {"caps": {"per_gallery": 1, "per_creator": 2}}}"#;
        let placements = Placements::parse(text).expect("valid");

        assert!(placements.strategy("unlisted").cold_start.is_empty());
        assert_eq!(placements.strategy("home").cold_start, ColdStartSource::ALL.to_vec());
        let caps = placements.strategy("home").caps.expect("caps");
        assert_eq!(caps.diversity(), DiversityCaps { per_creator: 2, per_gallery: 1 });
    }

    #[test]
    fn empty_object_is_all_defaults() {
        assert_eq!(Placements::parse("{}").expect("valid"), Placements::default());
    }

    #[test]
    fn invalid_configurations_are_rejected() {
        let cases = [
            ("[1, 2]", "not a JSON object"),
            ("{", "not a JSON object"),
            (r#"{"home": {"cold_start": ["random"]}}"#, "not a JSON object"),
            (r#"{"home": {"weigths": {}}}"#, "not a JSON object"),
            (r#"{"home": {"weights": {"content": "high"}}}"#, "not a JSON object"),
            (r#"{"home page": {}}"#, "placement name"),
            (r#"{"home": {"weights": {"content": -1}}}"#, "weight `content`"),
            (r#"{"home": {"weights": {"popularity": 1000}}}"#, "weight `popularity`"),
            (r#"{"home": {"weights": {"content": 0, "co_views": 0, "personal": 0}}}"#, "every weight is 0"),
            (r#"{"home": {"caps": {"per_gallery": 0, "per_creator": 3}}}"#, "cap `per_gallery`"),
            (r#"{"home": {"caps": {"per_gallery": 2, "per_creator": 49}}}"#, "cap `per_creator`"),
            (r#"{"home": {"caps": {"per_gallery": 2}}}"#, "not a JSON object"),
            (r#"{"home": {"cold_start": ["popular", "popular"]}}"#, "twice"),
        ];
        for (text, expected) in cases {
            let error = Placements::parse(text).expect_err(text).to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
