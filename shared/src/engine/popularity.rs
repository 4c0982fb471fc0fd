//! The popularity baseline: items ranked by how much they were interacted with.

use super::neighbours::by_rank;
use super::{check_item_count, effective_weights, EngineError, Interaction, TimeDecay};

/// Items ranked by a popularity score, such as their summed interaction weights.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Popularity {
    scores: Vec<f32>,
    ranked: Vec<u32>,
    max: f32,
}

impl Popularity {
    /// Builds the ranking from one score per item (for example click counts kept by a
    /// database); scores must be finite and not negative.
    pub fn from_scores(scores: Vec<f32>) -> Result<Self, EngineError> {
        check_item_count(scores.len())?;
        for (item, &score) in scores.iter().enumerate() {
            if !score.is_finite() || score < 0.0 {
                return Err(EngineError::InvalidWeight { item: item as u32, weight: score });
            }
        }
        Ok(Popularity::from_valid_scores(scores))
    }

    /// Sums each item's interaction weights, after `decay` for interactions with a time.
    pub fn from_interactions(
        item_count: usize,
        interactions: &[Interaction],
        decay: Option<TimeDecay>,
    ) -> Result<Self, EngineError> {
        let weights = effective_weights(item_count, interactions, decay)?;
        let mut scores = vec![0f32; item_count];
        for (interaction, weight) in interactions.iter().zip(weights) {
            scores[interaction.item as usize] += weight;
        }
        Ok(Popularity::from_valid_scores(scores))
    }

    /// Builds the ranking from scores already known to be finite and not negative.
    pub(crate) fn from_valid_scores(scores: Vec<f32>) -> Self {
        let mut pairs: Vec<(u32, f32)> = scores
            .iter()
            .enumerate()
            .filter(|(_, &score)| score > 0.0)
            .map(|(item, &score)| (item as u32, score))
            .collect();
        pairs.sort_unstable_by(by_rank);
        let max = pairs.first().map_or(0.0, |pair| pair.1);
        Popularity { scores, ranked: pairs.into_iter().map(|pair| pair.0).collect(), max }
    }

    /// Number of items in the catalog.
    pub fn item_count(&self) -> usize {
        self.scores.len()
    }

    /// Returns the item's raw score; 0 for an index outside the catalog.
    pub fn score(&self, item: u32) -> f32 {
        self.scores.get(item as usize).copied().unwrap_or(0.0)
    }

    /// Returns the item's score divided by the highest score, in `0.0..=1.0`.
    pub fn normalised(&self, item: u32) -> f32 {
        if self.max > 0.0 {
            self.score(item) / self.max
        } else {
            0.0
        }
    }

    /// Returns the items with a score above 0, most popular first (ties by index).
    ///
    /// Items without any interaction are left out, so a fallback never fills a list with
    /// items in arbitrary index order.
    pub fn ranked(&self) -> &[u32] {
        &self.ranked
    }

    /// Returns the `k` most popular items not in `exclude`, with their normalised scores.
    pub fn top(&self, k: usize, exclude: &[u32]) -> Vec<(u32, f32)> {
        self.ranked
            .iter()
            .filter(|item| !exclude.contains(item))
            .take(k)
            .map(|&item| (item, self.normalised(item)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_summed_weight_then_index() {
        let interaction = |item, weight| Interaction { user: 0, item, weight, time: None };
        let interactions = [interaction(2, 1.0), interaction(0, 2.0), interaction(3, 2.0), interaction(2, 1.0)];
        let popularity = Popularity::from_interactions(5, &interactions, None).expect("valid");
        assert_eq!(popularity.ranked(), &[0, 2, 3], "ties by index, unseen items left out");
        assert_eq!(popularity.score(2), 2.0);
        assert_eq!(popularity.normalised(3), 1.0);
        assert_eq!(popularity.normalised(1), 0.0);
        assert_eq!(popularity.score(9), 0.0);
    }

    #[test]
    fn top_skips_excluded() {
        let popularity = Popularity::from_scores(vec![4.0, 8.0, 2.0, 0.0]).expect("valid");
        assert_eq!(popularity.top(2, &[1]), vec![(0, 0.5), (2, 0.25)]);
        assert_eq!(popularity.top(10, &[]).len(), 3);
    }

    #[test]
    fn decay_applies_to_timed_interactions() {
        let at = |item, time| Interaction { user: 0, item, weight: 1.0, time: Some(time) };
        let decay = TimeDecay { half_life: 1.0, now: Some(3) };
        let popularity = Popularity::from_interactions(2, &[at(0, 3), at(1, 2), at(1, 1)], Some(decay)).expect("valid");
        // Item 1 has 0.5 + 0.25 = 0.75 against item 0's 1.0.
        assert_eq!(popularity.score(1), 0.75);
        assert_eq!(popularity.ranked(), &[0, 1]);
    }

    #[test]
    fn rejects_negative_scores() {
        assert_eq!(Popularity::from_scores(vec![1.0, -2.0]), Err(EngineError::InvalidWeight { item: 1, weight: -2.0 }));
    }
}
