//! Collaborative similarity: items are alike when the same users interacted with both.

use super::neighbours::{Accumulator, NeighbourBuilder};
use super::{check_item, effective_weights, EngineError, Interaction, Neighbours, Popularity, TimeDecay};

/// Similarity measure between two items' interactions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Similarity {
    /// Cosine of the items' user vectors, `a·b / (|a| |b| + shrink)`. A `shrink` above 0
    /// lowers similarities that rest on few users.
    Cosine {
        /// Added to the denominator; 0 gives the plain cosine.
        shrink: f32,
    },
    /// RP3beta (Paudel et al., ACM Transactions on Interactive Intelligent Systems,
    /// doi:10.1145/2955101): the probability of a three-step random walk item → user → item,
    /// each step's probability raised to `alpha`, divided by the target item's popularity
    /// raised to `beta`, which demotes popular neighbours.
    Rp3Beta {
        /// Exponent of the transition probabilities; 1 is the plain random walk.
        alpha: f32,
        /// Exponent of the popularity penalty; 0 turns the penalty off.
        beta: f32,
    },
}

/// Settings of [`CoInteraction::neighbours`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoInteractionConfig {
    /// Neighbours kept per item.
    pub neighbours: usize,
    /// The similarity measure.
    pub similarity: Similarity,
}

impl Default for CoInteractionConfig {
    fn default() -> Self {
        CoInteractionConfig { neighbours: 100, similarity: Similarity::Cosine { shrink: 0.0 } }
    }
}

/// The user-item interaction matrix, stored once by user and once by item.
///
/// Repeated interactions of one user with one item are summed into one weight.
#[derive(Debug, Clone)]
pub struct CoInteraction {
    item_count: usize,
    user_offsets: Vec<usize>,
    user_items: Vec<u32>,
    user_weights: Vec<f32>,
    item_offsets: Vec<usize>,
    item_users: Vec<u32>,
    item_weights: Vec<f32>,
}

impl CoInteraction {
    /// Builds the matrix over a catalog of `item_count` items, applying `decay` to
    /// interactions that have a time.
    ///
    /// Fails on an item outside the catalog, a negative or non-finite weight, or an invalid
    /// half-life. Interactions whose weight is 0 after decay are left out.
    pub fn new(item_count: usize, interactions: &[Interaction], decay: Option<TimeDecay>) -> Result<Self, EngineError> {
        let weights = effective_weights(item_count, interactions, decay)?;

        // Sort by (user, item) and merge repeats.
        let mut triples: Vec<(u32, u32, f32)> = interactions
            .iter()
            .zip(weights)
            .filter(|(_, weight)| *weight > 0.0)
            .map(|(interaction, weight)| (interaction.user, interaction.item, weight))
            .collect();
        triples.sort_unstable_by_key(|&(user, item, _)| (user, item));
        let mut merged: Vec<(u32, u32, f32)> = Vec::with_capacity(triples.len());
        for (user, item, weight) in triples {
            match merged.last_mut() {
                Some(last) if last.0 == user && last.1 == item => last.2 += weight,
                _ => merged.push((user, item, weight)),
            }
        }

        // By user: users get dense slots in ascending id order.
        let mut user_offsets = vec![0];
        let mut user_items = Vec::with_capacity(merged.len());
        let mut user_weights = Vec::with_capacity(merged.len());
        let mut user_slot_of_entry = Vec::with_capacity(merged.len());
        for (index, &(user, item, weight)) in merged.iter().enumerate() {
            if index > 0 && merged[index - 1].0 != user {
                user_offsets.push(user_items.len());
            }
            user_slot_of_entry.push(user_offsets.len() as u32 - 1);
            user_items.push(item);
            user_weights.push(weight);
        }
        if !merged.is_empty() {
            user_offsets.push(user_items.len());
        }

        // By item: a counting sort keeps each item's users in slot order.
        let mut item_offsets = vec![0usize; item_count + 1];
        for &item in &user_items {
            item_offsets[item as usize + 1] += 1;
        }
        for item in 0..item_count {
            item_offsets[item + 1] += item_offsets[item];
        }
        let mut next = item_offsets.clone();
        let mut item_users = vec![0u32; user_items.len()];
        let mut item_weights = vec![0f32; user_items.len()];
        for (entry, (&item, &weight)) in user_items.iter().zip(&user_weights).enumerate() {
            let slot = next[item as usize];
            item_users[slot] = user_slot_of_entry[entry];
            item_weights[slot] = weight;
            next[item as usize] += 1;
        }

        Ok(CoInteraction { item_count, user_offsets, user_items, user_weights, item_offsets, item_users, item_weights })
    }

    /// Number of items in the catalog.
    pub fn item_count(&self) -> usize {
        self.item_count
    }

    /// Number of distinct users with at least one interaction.
    pub fn user_count(&self) -> usize {
        self.user_offsets.len().saturating_sub(1)
    }

    /// Number of distinct (user, item) pairs.
    pub fn interaction_count(&self) -> usize {
        self.user_items.len()
    }

    /// Ranks items by the sum of their (decayed) interaction weights.
    pub fn popularity(&self) -> Popularity {
        let scores = (0..self.item_count).map(|item| self.item_weights[self.item_range(item)].iter().sum()).collect();
        Popularity::from_valid_scores(scores)
    }

    /// Computes the `config.neighbours` most similar items of every item.
    ///
    /// Fails when a similarity parameter is negative or not finite, or RP3beta's alpha is 0.
    pub fn neighbours(&self, config: &CoInteractionConfig) -> Result<Neighbours, EngineError> {
        let walk = Walk::new(self, config.similarity)?;
        let mut accumulator = Accumulator::new(self.item_count);
        let mut candidates = Vec::new();
        let mut builder = NeighbourBuilder::with_capacity(self.item_count, self.item_count * config.neighbours);
        for item in 0..self.item_count as u32 {
            self.score_candidates(&walk, item, &mut accumulator, &mut candidates);
            builder.push_top(&mut candidates, config.neighbours);
        }
        Ok(builder.finish())
    }

    /// Computes the `config.neighbours` most similar items of one item, best first.
    pub fn neighbours_of(&self, item: u32, config: &CoInteractionConfig) -> Result<Vec<(u32, f32)>, EngineError> {
        check_item(item, self.item_count)?;
        let walk = Walk::new(self, config.similarity)?;
        let mut accumulator = Accumulator::new(self.item_count);
        let mut candidates = Vec::new();
        self.score_candidates(&walk, item, &mut accumulator, &mut candidates);
        super::neighbours::keep_top(&mut candidates, config.neighbours);
        Ok(candidates)
    }

    fn item_range(&self, item: usize) -> std::ops::Range<usize> {
        self.item_offsets[item]..self.item_offsets[item + 1]
    }

    fn user_range(&self, user: usize) -> std::ops::Range<usize> {
        self.user_offsets[user]..self.user_offsets[user + 1]
    }

    /// Replaces `candidates` with every item that shares a user with `item`, scored.
    ///
    /// The score of item j is `post(j) * Σ_u from(i, u) * to(u, j)` over users u of both,
    /// with the three factors precomputed by [`Walk`] for the chosen similarity.
    fn score_candidates(&self, walk: &Walk, item: u32, accumulator: &mut Accumulator, out: &mut Vec<(u32, f32)>) {
        out.clear();
        for entry in self.item_range(item as usize) {
            let user = self.item_users[entry] as usize;
            let from = walk.from_item[entry];
            for target in self.user_range(user) {
                let other = self.user_items[target];
                if other != item {
                    accumulator.add(other, from * walk.to_item[target]);
                }
            }
        }
        let source = walk.source_factor[item as usize];
        accumulator.map_scores(|other, score| walk.finish(source, other, score));
        accumulator.drain_into(out);
    }
}

/// Per-entry and per-item factors of one similarity measure over one matrix.
struct Walk {
    /// Factor of each by-item entry (item i, user u).
    from_item: Vec<f32>,
    /// Factor of each by-user entry (user u, item j).
    to_item: Vec<f32>,
    /// Per-item factor used when the item is the source (its vector norm for cosine).
    source_factor: Vec<f32>,
    /// Per-item factor used when the item is the target (its norm, or popularity penalty).
    target_factor: Vec<f32>,
    shrink: f32,
    is_cosine: bool,
}

impl Walk {
    fn new(matrix: &CoInteraction, similarity: Similarity) -> Result<Self, EngineError> {
        let item_totals: Vec<f32> =
            (0..matrix.item_count).map(|item| matrix.item_weights[matrix.item_range(item)].iter().sum()).collect();

        match similarity {
            Similarity::Cosine { shrink } => {
                check_parameter("shrink", shrink, 0.0)?;
                let norms: Vec<f32> = (0..matrix.item_count)
                    .map(|item| matrix.item_weights[matrix.item_range(item)].iter().map(|w| w * w).sum::<f32>().sqrt())
                    .collect();
                Ok(Walk {
                    from_item: matrix.item_weights.clone(),
                    to_item: matrix.user_weights.clone(),
                    source_factor: norms.clone(),
                    target_factor: norms,
                    shrink,
                    is_cosine: true,
                })
            }
            Similarity::Rp3Beta { alpha, beta } => {
                check_parameter("alpha", alpha, f32::MIN_POSITIVE)?;
                check_parameter("beta", beta, 0.0)?;

                // Step item → user: the entry's share of the item's total weight.
                let mut from_item = Vec::with_capacity(matrix.item_weights.len());
                for (item, total) in item_totals.iter().enumerate() {
                    for &weight in &matrix.item_weights[matrix.item_range(item)] {
                        from_item.push((weight / total).powf(alpha));
                    }
                }

                // Step user → item: the entry's share of the user's total weight.
                let mut to_item = Vec::with_capacity(matrix.user_weights.len());
                for user in 0..matrix.user_count() {
                    let weights = &matrix.user_weights[matrix.user_range(user)];
                    let total: f32 = weights.iter().sum();
                    to_item.extend(weights.iter().map(|weight| (weight / total).powf(alpha)));
                }

                let target_factor = item_totals.iter().map(|total| total.powf(beta)).collect();
                Ok(Walk {
                    from_item,
                    to_item,
                    source_factor: vec![1.0; matrix.item_count],
                    target_factor,
                    shrink: 0.0,
                    is_cosine: false,
                })
            }
        }
    }

    fn finish(&self, source: f32, target: u32, raw: f32) -> f32 {
        let target = self.target_factor[target as usize];
        if self.is_cosine {
            raw / (source * target + self.shrink)
        } else {
            raw / target
        }
    }
}

fn check_parameter(name: &'static str, value: f32, minimum: f32) -> Result<(), EngineError> {
    if value.is_finite() && value >= minimum {
        return Ok(());
    }
    let expected = if minimum > 0.0 { "a finite number above 0" } else { "a finite number of at least 0" };
    Err(EngineError::InvalidParameter { name, value: f64::from(value), expected })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::test_support::assert_pairs;

    fn clicks(pairs: &[(u32, u32)]) -> Vec<Interaction> {
        pairs.iter().map(|&(user, item)| Interaction { user, item, weight: 1.0, time: None }).collect()
    }

    /// User 0 opened items 0 and 1, user 1 items 0, 1 and 2, user 2 items 1 and 2.
    fn three_users() -> CoInteraction {
        CoInteraction::new(3, &clicks(&[(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 1), (2, 2)]), None)
            .expect("valid interactions")
    }

    fn config(neighbours: usize, similarity: Similarity) -> CoInteractionConfig {
        CoInteractionConfig { neighbours, similarity }
    }

    #[test]
    fn cosine_over_user_vectors() {
        // cos(0, 1) = 2 / (√2 √3) = 0.816_497, cos(0, 2) = 1 / (√2 √2) = 0.5,
        // cos(1, 2) = 2 / (√3 √2) = 0.816_497.
        let neighbours = three_users().neighbours(&config(2, Similarity::Cosine { shrink: 0.0 })).expect("valid");
        assert_pairs(&neighbours.of(0).collect::<Vec<_>>(), &[(1, 0.816_497), (2, 0.5)]);
        assert_pairs(&neighbours.of(1).collect::<Vec<_>>(), &[(0, 0.816_497), (2, 0.816_497)]);
        assert_pairs(&neighbours.of(2).collect::<Vec<_>>(), &[(1, 0.816_497), (0, 0.5)]);
    }

    #[test]
    fn cosine_shrink_and_k() {
        // 2 / (√2 √3 + 1) = 0.579_796.
        let one = three_users().neighbours_of(0, &config(1, Similarity::Cosine { shrink: 1.0 })).expect("valid");
        assert_pairs(&one, &[(1, 0.579_796)]);
    }

    #[test]
    fn rp3beta_penalises_popular_targets() {
        // Walk 0 → 1: via user 0 (1/2 · 1/2) and user 1 (1/2 · 1/3) = 0.416_667, over √3 = 0.240_563.
        // Walk 0 → 2: via user 1 (1/2 · 1/3) = 0.166_667, over √2 = 0.117_851.
        // Walks 1 → 0 and 1 → 2 are both 1/3 · 1/2 + 1/3 · 1/3 = 0.277_778, over √2 = 0.196_419.
        let similarity = Similarity::Rp3Beta { alpha: 1.0, beta: 0.5 };
        let neighbours = three_users().neighbours(&config(5, similarity)).expect("valid");
        assert_pairs(&neighbours.of(0).collect::<Vec<_>>(), &[(1, 0.240_563), (2, 0.117_851)]);
        assert_pairs(&neighbours.of(1).collect::<Vec<_>>(), &[(0, 0.196_419), (2, 0.196_419)]);
    }

    #[test]
    fn rp3beta_alpha_sharpens_steps() {
        // With alpha 2 and no penalty, walk 0 → 2 is (1/2)² · (1/3)² = 0.027_778.
        let similarity = Similarity::Rp3Beta { alpha: 2.0, beta: 0.0 };
        let of0 = three_users().neighbours_of(0, &config(5, similarity)).expect("valid");
        // Walk 0 → 1 is (1/2)² (1/2)² + (1/2)² (1/3)² = 0.090_278.
        assert_pairs(&of0, &[(1, 0.090_278), (2, 0.027_778)]);
    }

    #[test]
    fn time_decay_lowers_old_interactions() {
        // User 0 opened item 0 one half-life ago, so item 0's vector is (0.5, 1) over users 0 and 1:
        // cos(0, 1) = 1.5 / (√1.25 √2) = 0.948_683, cos(0, 2) = 1 / √1.25 = 0.894_427.
        let at = |user, item, time| Interaction { user, item, weight: 1.0, time: Some(time) };
        let interactions = [at(0, 0, 0), at(0, 1, 10), at(1, 0, 10), at(1, 1, 10), at(1, 2, 10)];
        let decay = TimeDecay { half_life: 10.0, now: None };
        let matrix = CoInteraction::new(3, &interactions, Some(decay)).expect("valid");
        let of0 = matrix.neighbours_of(0, &config(5, Similarity::Cosine { shrink: 0.0 })).expect("valid");
        assert_pairs(&of0, &[(1, 0.948_683), (2, 0.894_427)]);
    }

    #[test]
    fn repeated_interactions_merge() {
        let matrix = CoInteraction::new(3, &clicks(&[(7, 0), (7, 0), (9, 1), (7, 1)]), None).expect("valid");
        assert_eq!(matrix.user_count(), 2);
        assert_eq!(matrix.interaction_count(), 3);
        assert_eq!(matrix.popularity().score(0), 2.0);
        // Item 0 is (2, 0) and item 1 is (1, 1) over users 7 and 9: 2 / (2 √2) = 0.707_107.
        let of0 = matrix.neighbours_of(0, &CoInteractionConfig::default()).expect("valid");
        assert_pairs(&of0, &[(1, std::f32::consts::FRAC_1_SQRT_2)]);
    }

    #[test]
    fn invalid_input_fails() {
        assert!(CoInteraction::new(1, &clicks(&[(0, 1)]), None).is_err());
        let matrix = three_users();
        assert!(matrix.neighbours(&config(2, Similarity::Cosine { shrink: -1.0 })).is_err());
        assert!(matrix.neighbours(&config(2, Similarity::Rp3Beta { alpha: 0.0, beta: 0.5 })).is_err());
        assert!(matrix.neighbours_of(3, &CoInteractionConfig::default()).is_err());
    }

    #[test]
    fn empty_matrix_has_no_neighbours() {
        let matrix = CoInteraction::new(4, &[], None).expect("valid");
        assert_eq!(matrix.user_count(), 0);
        let neighbours = matrix.neighbours(&CoInteractionConfig::default()).expect("valid");
        assert_eq!(neighbours.item_count(), 4);
        assert!(neighbours.is_empty());
    }
}
