//! A/B tests of a placement's strategy: configuration, assignment and results.
//!
//! Assignment is a pure function of the experiment id and the unit id: the visitor id when
//! the visitor consented to one, else the page-view id. The recommender and the analytics
//! compute it the same way, so no assignment needs to be stored, and a visitor keeps their
//! variant across pages and days.

use loci_shared::api::validate_token;
use loci_shared::strategy::Strategy;
use loci_shared::time::{format_day, parse_day, Millis};
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// One arm of an experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The variant's name, such as `control`.
    pub name: String,
    /// Its share of units, relative to the other variants' weights.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// The strategy this variant ranks with, replacing the placement's own (fields left out
    /// take the built-in defaults); absent means the placement's own strategy.
    #[serde(default)]
    pub strategy: Option<Strategy>,
}

fn default_weight() -> u32 {
    1
}

/// An experiment on one placement. The first variant is the control.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// The experiment id.
    pub id: String,
    /// The placement whose requests are split.
    pub placement: String,
    /// The variants; the first is the control the others are compared with.
    pub variants: Vec<Variant>,
    /// First day (UTC, `YYYY-MM-DD`) the experiment runs.
    pub start: String,
    /// Last day it runs, inclusive; open-ended when absent.
    #[serde(default)]
    pub end: Option<String>,
}

/// The unit of assignment: a consenting visitor, or one page view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A pseudonymous visitor id.
    Visitor,
    /// A page-view id.
    Page,
}

impl Experiment {
    /// Returns the instants the experiment covers, from its start day to the end of its end day.
    pub fn span(&self) -> (Millis, Option<Millis>) {
        let start = parse_day(&self.start).unwrap_or(0);
        let end = self.end.as_deref().and_then(parse_day).map(|day| day + loci_shared::time::MS_PER_DAY);
        (start, end)
    }

    /// Returns whether the experiment covers the instant.
    pub fn is_running(&self, at: Millis) -> bool {
        let (start, end) = self.span();
        at >= start && end.is_none_or(|end| at < end)
    }

    /// Returns the variant a unit is assigned to.
    pub fn variant_for(&self, unit_id: &str) -> &Variant {
        let total: u64 = self.variants.iter().map(|v| u64::from(v.weight)).sum();
        let mut bucket = fnv1a(&format!("{}:{unit_id}", self.id)) % total.max(1);
        for variant in &self.variants {
            let weight = u64::from(variant.weight);
            if bucket < weight {
                return variant;
            }
            bucket -= weight;
        }
        &self.variants[0]
    }
}

/// Returns the unit a request or event is assigned by: the visitor id, else the page-view id.
pub fn unit_of<'a>(visitor_id: Option<&'a str>, page_id: Option<&'a str>) -> Option<(Unit, &'a str)> {
    visitor_id.map(|v| (Unit::Visitor, v)).or_else(|| page_id.map(|p| (Unit::Page, p)))
}

/// Returns the running experiment on a placement, if any, and the variant the request falls in.
pub fn assignment<'a>(
    experiments: &'a [Experiment],
    placement: &str,
    visitor_id: Option<&str>,
    page_id: Option<&str>,
    now: Millis,
) -> Option<(&'a Experiment, &'a Variant)> {
    let (_, unit_id) = unit_of(visitor_id, page_id)?;
    let experiment = experiments.iter().find(|e| e.placement == placement && e.is_running(now))?;
    Some((experiment, experiment.variant_for(unit_id)))
}

/// 64-bit FNV-1a: small, fast, stable across platforms and releases, and well spread for
/// ids; it is not a cryptographic hash, and assignment needs none.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// Parses `LOCI_EXPERIMENTS`: a JSON array of experiments.
pub fn parse_experiments(text: &str) -> Result<Vec<Experiment>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name: "LOCI_EXPERIMENTS", reason };
    let experiments: Vec<Experiment> = serde_json::from_str(text).map_err(|e| {
        invalid(format!(
            "{e}; expected a JSON array such as [{{\"id\": \"x\", \"placement\": \"article-related\", \
             \"start\": \"2026-12-01\", \"variants\": [{{\"name\": \"control\"}}, {{\"name\": \"b\"}}]}}]"
        ))
    })?;
    let mut ids = std::collections::BTreeSet::new();
    for experiment in &experiments {
        let at = |reason: String| invalid(format!("experiment `{}`: {reason}", experiment.id));
        validate_token("id", &experiment.id).map_err(|e| invalid(format!("experiment id: {e}")))?;
        validate_token("placement", &experiment.placement).map_err(|e| at(e.to_string()))?;
        if !ids.insert(experiment.id.clone()) {
            return Err(at("the id appears twice".to_owned()));
        }
        if experiment.variants.len() < 2 {
            return Err(at("give at least two variants; the first is the control".to_owned()));
        }
        let mut names = std::collections::BTreeSet::new();
        for variant in &experiment.variants {
            validate_token("name", &variant.name).map_err(|e| at(format!("variant name: {e}")))?;
            if !names.insert(variant.name.as_str()) {
                return Err(at(format!("variant `{}` appears twice", variant.name)));
            }
            if variant.weight == 0 || variant.weight > 1000 {
                return Err(at(format!("variant `{}` needs a weight from 1 to 1000", variant.name)));
            }
            if let Some(strategy) = &variant.strategy {
                strategy.validate().map_err(|reason| at(format!("variant `{}`: {reason}", variant.name)))?;
            }
        }
        let start = parse_day(&experiment.start).ok_or_else(|| at("`start` must be a day as YYYY-MM-DD".to_owned()))?;
        if let Some(end) = &experiment.end {
            let end = parse_day(end).ok_or_else(|| at("`end` must be a day as YYYY-MM-DD".to_owned()))?;
            if end < start {
                return Err(at(format!("`end` is before `start` ({})", format_day(start))));
            }
        }
    }
    for (i, a) in experiments.iter().enumerate() {
        let overlapping = experiments[i + 1..].iter().find(|b| b.placement == a.placement && overlaps(a, b));
        if let Some(b) = overlapping {
            return Err(invalid(format!(
                "experiments `{}` and `{}` run on placement `{}` at the same time; a request can be in one only",
                a.id, b.id, a.placement
            )));
        }
    }
    Ok(experiments)
}

fn overlaps(a: &Experiment, b: &Experiment) -> bool {
    let ((a_start, a_end), (b_start, b_end)) = (a.span(), b.span());
    a_end.is_none_or(|end| b_start < end) && b_end.is_none_or(|end| a_start < end)
}

/// A click-through rate with its 95% Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Clicks divided by impressions (0 without impressions).
    pub ctr: f64,
    /// Lower bound of the 95% interval.
    pub ci_low: f64,
    /// Upper bound of the 95% interval.
    pub ci_high: f64,
}

/// Computes the 95% Wilson score interval of `clicks` successes in `impressions` trials. Clicks above
/// impressions (a click on an item whose impression was lost) count as one per impression.
pub fn wilson(clicks: i64, impressions: i64) -> Rate {
    if impressions <= 0 {
        return Rate { ctr: 0.0, ci_low: 0.0, ci_high: 0.0 };
    }
    let n = impressions as f64;
    let p = (clicks.clamp(0, impressions) as f64) / n;
    let z = 1.959_964;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Rate { ctr: p, ci_low: (centre - half).max(0.0), ci_high: (centre + half).min(1.0) }
}

/// The difference of two rates (`b - a`) with a 95% interval, by Newcombe's method from the
/// two Wilson intervals (sound for small counts, unlike the plain normal approximation).
pub fn difference(a: Rate, b: Rate) -> (f64, f64, f64) {
    let diff = b.ctr - a.ctr;
    let low = diff - ((b.ctr - b.ci_low).powi(2) + (a.ci_high - a.ctr).powi(2)).sqrt();
    let high = diff + ((b.ci_high - b.ctr).powi(2) + (a.ctr - a.ci_low).powi(2)).sqrt();
    (diff, low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experiment(weights: &[u32]) -> Experiment {
        Experiment {
            id: "exp".to_owned(),
            placement: "article-related".to_owned(),
            variants: weights
                .iter()
                .enumerate()
                .map(|(i, w)| Variant { name: format!("v{i}"), weight: *w, strategy: None })
                .collect(),
            start: "2026-12-01".to_owned(),
            end: Some("2026-12-31".to_owned()),
        }
    }

    #[test]
    fn assignment_is_deterministic_and_follows_the_weights() {
        let experiment = experiment(&[1, 3]);
        let mut second = 0;
        for i in 0..4000 {
            let unit = format!("visitor-{i}");
            let first_pick = experiment.variant_for(&unit).name.clone();
            assert_eq!(experiment.variant_for(&unit).name, first_pick);
            second += usize::from(first_pick == "v1");
        }
        assert!((2850..=3150).contains(&second), "{second} of 4000 units went to the 3/4 variant");
    }

    #[test]
    fn experiments_run_only_inside_their_days() {
        let experiments = [experiment(&[1, 1])];
        let day = |text: &str| parse_day(text).unwrap();

        assert!(assignment(&experiments, "article-related", Some("v"), None, day("2026-12-31") + 1).is_some());
        assert!(assignment(&experiments, "article-related", Some("v"), None, day("2027-01-01")).is_none());
        assert!(assignment(&experiments, "article-related", None, None, day("2026-12-05")).is_none());
        assert!(assignment(&experiments, "homepage", Some("v"), None, day("2026-12-05")).is_none());
    }

    #[test]
    fn variant_strategies_replace_the_placement_strategy() {
        let text = r#"[{"id":"a","placement":"p","start":"2026-12-01",
            "variants":[{"name":"c"},{"name":"b","strategy":{"weights":{"co_views":2.5}}}]}]"#;
        let experiments = parse_experiments(text).unwrap();

        assert_eq!(experiments[0].variants[0].strategy, None);
        let strategy = experiments[0].variants[1].strategy.as_ref().expect("a strategy");
        assert_eq!(strategy.weights.co_views, 2.5);
        assert_eq!(strategy.weights.content, Strategy::default().weights.content);
    }

    #[test]
    fn wilson_matches_hand_computed_values() {
        // 10 clicks in 100 impressions: p = 0.1, Wilson 95% = [0.0552, 0.1744].
        let rate = wilson(10, 100);
        assert!((rate.ctr - 0.1).abs() < 1e-12);
        assert!((rate.ci_low - 0.05523).abs() < 1e-4, "{rate:?}");
        assert!((rate.ci_high - 0.17437).abs() < 1e-4, "{rate:?}");
        assert_eq!(wilson(0, 0).ci_high, 0.0);
        assert!(wilson(5, 3).ci_high <= 1.0);
    }

    #[test]
    fn invalid_experiments_name_the_problem() {
        let one_variant = r#"[{"id":"a","placement":"p","start":"2026-12-01","variants":[{"name":"c"}]}]"#;
        let bad_day = r#"[{"id":"a","placement":"p","start":"1 Dec","variants":[{"name":"c"},{"name":"b"}]}]"#;
        let overlap = r#"[{"id":"a","placement":"p","start":"2026-12-01","variants":[{"name":"c"},{"name":"b"}]},
                          {"id":"b","placement":"p","start":"2026-12-10","variants":[{"name":"c"},{"name":"b"}]}]"#;
        let bad_strategy = r#"[{"id":"a","placement":"p","start":"2026-12-01",
            "variants":[{"name":"c"},{"name":"b","strategy":{"weights":{"content":-2}}}]}]"#;
        for (text, expected) in [
            (one_variant, "two variants"),
            (bad_day, "YYYY-MM-DD"),
            (overlap, "same time"),
            (bad_strategy, "variant `b`: weight `content`"),
        ] {
            let error = parse_experiments(text).unwrap_err().to_string();
            assert!(error.contains("LOCI_EXPERIMENTS"), "{error}");
            assert!(error.contains(expected), "{error}");
        }
    }
}
