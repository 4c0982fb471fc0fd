//! The choice of ranking strategy for a recommendation request.
//!
//! [`strategy_for`] is the only place the request path picks a strategy. An A/B test running
//! on the placement decides first; otherwise the placement's entry in `LOCI_PLACEMENTS`
//! applies. Either way the recommender receives one finished [`Strategy`].

use loci_shared::api::RecommendationQuery;
use loci_shared::strategy::Strategy;
use loci_shared::time::Millis;

use crate::analytics::experiments;
use crate::config::Config;

/// The strategy a request ranks with, and the A/B test variant that chose it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenStrategy {
    /// The strategy.
    pub strategy: Strategy,
    /// `experiment/variant` when an experiment assigned the request, as analytics key it.
    pub variant: Option<String>,
}

/// Returns the strategy of a request: its variant's strategy when an experiment runs on the
/// placement (a variant without one keeps the placement's own), else the placement's entry in
/// `LOCI_PLACEMENTS`, else that variable's `*` entry, else the built-in default.
pub fn strategy_for(config: &Config, query: &RecommendationQuery, now: Millis) -> ChosenStrategy {
    let placement_strategy = || config.placements.strategy(&query.placement).clone();
    let assigned = experiments::assignment(
        &config.experiments,
        &query.placement,
        query.visitor_id.as_deref(),
        query.page_id.as_deref(),
        now,
    );
    match assigned {
        Some((experiment, variant)) => ChosenStrategy {
            strategy: variant.strategy.clone().unwrap_or_else(placement_strategy),
            variant: Some(format!("{}/{}", experiment.id, variant.name)),
        },
        None => ChosenStrategy { strategy: placement_strategy(), variant: None },
    }
}
