//! An in-memory recommendation engine over dense item indices.
//!
//! Items are numbered `0..item_count` by the caller: the edge would map asset ids to indices,
//! the offline evaluation maps MovieLens ids. Everything here is computation without I/O, so
//! the same code can precompute neighbour lists for the edge and run offline evaluations:
//!
//! - [`ContentIndex`]: IDF-weighted, cosine-normalised term vectors and the content
//!   neighbours they imply;
//! - [`CoInteraction`]: the user-item matrix and the item-to-item collaborative neighbours it
//!   implies (cosine item-kNN or RP3beta), optionally with time decay;
//! - [`Popularity`]: items ranked by interaction weight, the cold-start fallback;
//! - [`Engine`]: blends content neighbours, collaborative neighbours and popularity for a
//!   visitor's history.
//!
//! Every ranking is deterministic: ties in score go to the lower item index.
//!
//! ```
//! use loci_shared::engine::{BlendWeights, CoInteraction, CoInteractionConfig, Engine, Interaction};
//!
//! let clicks = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1), (2, 2)];
//! let interactions: Vec<Interaction> =
//!     clicks.iter().map(|&(user, item)| Interaction { user, item, weight: 1.0, time: None }).collect();
//! let matrix = CoInteraction::new(3, &interactions, None)?;
//! let neighbours = matrix.neighbours(&CoInteractionConfig::default())?;
//! let engine = Engine::new(matrix.popularity(), BlendWeights::default())?.with_collaborative(neighbours)?;
//!
//! let recommended = engine.recommend_for_history(&[(0, 1.0)], 2, &[]);
//! assert_eq!(recommended[0].0, 1);
//! # Ok::<(), loci_shared::engine::EngineError>(())
//! ```

mod co_interaction;
mod content;
mod neighbours;
mod popularity;
mod recommend;

/// Assertions the engine's unit tests share.
#[cfg(test)]
mod test_support {
    /// Score tolerance of the hand-computed expectations.
    pub const TOLERANCE: f32 = 1e-5;

    /// Asserts that two `(item, score)` lists have the same items in order and scores within
    /// [`TOLERANCE`].
    pub fn assert_pairs(actual: &[(u32, f32)], expected: &[(u32, f32)]) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for (got, want) in actual.iter().zip(expected) {
            assert_eq!(got.0, want.0, "{actual:?} vs {expected:?}");
            assert!((got.1 - want.1).abs() < TOLERANCE, "{actual:?} vs {expected:?}");
        }
    }
}

pub use co_interaction::{CoInteraction, CoInteractionConfig, Similarity};
pub use content::{ContentConfig, ContentIndex, KindWeights};
pub use neighbours::Neighbours;
pub use popularity::Popularity;
pub use recommend::{BlendWeights, Engine, RankedItem, Scratch};

/// Errors from building engine structures out of caller data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// An item index is not below the catalog's item count.
    #[error("item index {item} is out of range for a catalog of {item_count} items")]
    ItemOutOfRange {
        /// The offending index.
        item: u32,
        /// Number of items in the catalog.
        item_count: usize,
    },
    /// An interaction or popularity weight is negative, infinite or NaN.
    #[error("invalid weight {weight} for item {item}: weights must be finite and not negative")]
    InvalidWeight {
        /// The item the weight belongs to.
        item: u32,
        /// The offending weight.
        weight: f32,
    },
    /// A term kind weight is negative, infinite or NaN.
    #[error("invalid weight {weight} for term kind `{kind}`: kind weights must be finite and not negative")]
    InvalidKindWeight {
        /// The term kind (the prefix before `:`), or `*` for terms of other kinds.
        kind: String,
        /// The offending weight.
        weight: f32,
    },
    /// A tuning parameter is outside its valid range.
    #[error("invalid {name} {value}: expected {expected}")]
    InvalidParameter {
        /// Name of the parameter.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// The valid range, in words.
        expected: &'static str,
    },
    /// The catalog has more items than a `u32` index can address.
    #[error("a catalog of {0} items is too large: item indices are u32")]
    TooManyItems(usize),
    /// More distinct terms than a `u32` term id can address.
    #[error("{0} distinct terms are too many: term ids are u32")]
    TooManyTerms(usize),
    /// Neighbour lists built for another catalog size were given to an engine.
    #[error("neighbour lists cover {found} items but the engine's catalog has {expected}")]
    ItemCountMismatch {
        /// Item count of the engine.
        expected: usize,
        /// Item count of the neighbour lists.
        found: usize,
    },
}

/// One user-item interaction, such as a click or a rating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    /// Any user identifier; users need not be numbered densely.
    pub user: u32,
    /// Index of the item, below the catalog's item count.
    pub item: u32,
    /// Strength of the interaction (1.0 for implicit feedback); finite and not negative.
    pub weight: f32,
    /// When it happened, in the unit of [`TimeDecay::half_life`]; `None` when unknown.
    pub time: Option<i64>,
}

/// Exponential time decay of interaction weights: an interaction one half-life old counts half.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeDecay {
    /// Half-life, in the unit of the interactions' timestamps (seconds, milliseconds, ...).
    pub half_life: f64,
    /// Instant at which weights are undecayed; `None` takes the latest interaction time.
    pub now: Option<i64>,
}

impl TimeDecay {
    /// Computes the factor for an interaction at `time` seen from `now`; times after `now`
    /// count as `now`.
    pub fn factor(&self, now: i64, time: i64) -> f64 {
        let age = now.saturating_sub(time).max(0) as f64;
        0.5f64.powf(age / self.half_life)
    }

    fn validate(&self) -> Result<(), EngineError> {
        if self.half_life.is_finite() && self.half_life > 0.0 {
            Ok(())
        } else {
            Err(EngineError::InvalidParameter {
                name: "half-life",
                value: self.half_life,
                expected: "a finite number above 0",
            })
        }
    }
}

/// Turns a history of (item, time) pairs into (item, weight) pairs for
/// [`Engine::recommend_for_history`], each weight decayed by its age at `now`.
pub fn decayed_history(history: &[(u32, i64)], half_life: f64, now: i64) -> Result<Vec<(u32, f32)>, EngineError> {
    let decay = TimeDecay { half_life, now: Some(now) };
    decay.validate()?;
    Ok(history.iter().map(|&(item, time)| (item, decay.factor(now, time) as f32)).collect())
}

/// Checks the interactions against the catalog and returns their weights after time decay,
/// in input order.
///
/// Interactions without a time keep their weight, because their age is unknown.
fn effective_weights(
    item_count: usize,
    interactions: &[Interaction],
    decay: Option<TimeDecay>,
) -> Result<Vec<f32>, EngineError> {
    check_item_count(item_count)?;
    if let Some(decay) = &decay {
        decay.validate()?;
    }
    let now = decay.map(|decay| decay.now.or_else(|| interactions.iter().filter_map(|i| i.time).max()));

    let mut weights = Vec::with_capacity(interactions.len());
    for interaction in interactions {
        check_item(interaction.item, item_count)?;
        if !interaction.weight.is_finite() || interaction.weight < 0.0 {
            return Err(EngineError::InvalidWeight { item: interaction.item, weight: interaction.weight });
        }
        let factor = match (decay, now.flatten(), interaction.time) {
            (Some(decay), Some(now), Some(time)) => decay.factor(now, time),
            _ => 1.0,
        };
        weights.push((f64::from(interaction.weight) * factor) as f32);
    }
    Ok(weights)
}

fn check_item_count(item_count: usize) -> Result<(), EngineError> {
    if u32::try_from(item_count).is_err() {
        return Err(EngineError::TooManyItems(item_count));
    }
    Ok(())
}

fn check_item(item: u32, item_count: usize) -> Result<(), EngineError> {
    if (item as usize) < item_count {
        Ok(())
    } else {
        Err(EngineError::ItemOutOfRange { item, item_count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_halves_per_half_life() {
        let decay = TimeDecay { half_life: 10.0, now: None };
        assert_eq!(decay.factor(100, 100), 1.0);
        assert_eq!(decay.factor(100, 90), 0.5);
        assert_eq!(decay.factor(100, 80), 0.25);
        assert_eq!(decay.factor(100, 130), 1.0, "times after now count as now");
    }

    #[test]
    fn decayed_history_weights_by_age() {
        let history = decayed_history(&[(3, 40), (1, 20)], 20.0, 40).expect("valid half-life");
        assert_eq!(history, vec![(3, 1.0), (1, 0.5)]);
        assert!(decayed_history(&[(3, 40)], 0.0, 40).is_err());
        assert!(decayed_history(&[(3, 40)], f64::NAN, 40).is_err());
    }

    #[test]
    fn effective_weights_rejects_bad_input() {
        let good = Interaction { user: 0, item: 1, weight: 1.0, time: None };
        assert_eq!(effective_weights(1, &[good], None), Err(EngineError::ItemOutOfRange { item: 1, item_count: 1 }));
        let negative = Interaction { weight: -1.0, ..good };
        assert_eq!(effective_weights(2, &[negative], None), Err(EngineError::InvalidWeight { item: 1, weight: -1.0 }));
        let decay = TimeDecay { half_life: -5.0, now: None };
        assert!(matches!(
            effective_weights(2, &[good], Some(decay)),
            Err(EngineError::InvalidParameter { name: "half-life", .. })
        ));
    }

    #[test]
    fn effective_weights_decay_from_latest_time() {
        let at = |time| Interaction { user: 0, item: 0, weight: 2.0, time };
        let decay = TimeDecay { half_life: 5.0, now: None };
        let weights = effective_weights(1, &[at(Some(10)), at(Some(5)), at(None)], Some(decay)).expect("valid");
        assert_eq!(weights, vec![2.0, 1.0, 2.0]);
    }
}
