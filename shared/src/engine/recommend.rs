//! Recommendations for a history: content and collaborative neighbours of the items in it,
//! blended with popularity, which also fills lists that the neighbours cannot.

use super::neighbours::{keep_top, Accumulator};
use super::{EngineError, Neighbours, Popularity};

/// Weights of the engine's three signals.
///
/// Each signal is normalised to `0.0..=1.0` within one request before weighing, so the
/// weights are comparable. This is the history-based counterpart of [`crate::rank::Blend`],
/// which weighs the per-request signals (content, co-views, recent clicks) of the edge's
/// SQL-backed recommender.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlendWeights {
    /// Weight of content similarity to the history.
    pub content: f32,
    /// Weight of collaborative similarity to the history.
    pub collaborative: f32,
    /// Weight of global popularity, a prior that favours items many users chose.
    pub popularity: f32,
}

impl Default for BlendWeights {
    /// Content leads and collaborative scores follow, in the proportion of the edge's
    /// [`crate::rank::Blend`]; popularity only breaks near-ties. These are product defaults
    /// for catalogs with descriptive metadata, not values tuned on any data set.
    fn default() -> Self {
        BlendWeights { content: 1.0, collaborative: 0.8, popularity: 0.05 }
    }
}

impl BlendWeights {
    fn validate(&self) -> Result<(), EngineError> {
        let named = [
            ("content weight", self.content),
            ("collaborative weight", self.collaborative),
            ("popularity weight", self.popularity),
        ];
        for (name, value) in named {
            if !value.is_finite() || value < 0.0 {
                return Err(EngineError::InvalidParameter {
                    name,
                    value: f64::from(value),
                    expected: "a finite number of at least 0",
                });
            }
        }
        Ok(())
    }
}

/// One recommended item with the normalised signals behind its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankedItem {
    /// Index of the item.
    pub item: u32,
    /// Blended score: the weighted sum of the three signals.
    pub score: f32,
    /// Content similarity to the history, in `0.0..=1.0` (0 when its weight is 0).
    pub content: f32,
    /// Collaborative similarity to the history, in `0.0..=1.0` (0 when its weight is 0).
    pub collaborative: f32,
    /// Popularity relative to the most popular item, in `0.0..=1.0`.
    pub popularity: f32,
    /// Whether the item came from the popularity fallback rather than from a neighbour list.
    pub fallback: bool,
}

/// Reusable working memory for [`Engine::rank_history`], sized to the catalog, so a batch
/// of requests allocates it once.
#[derive(Debug, Clone)]
pub struct Scratch {
    content: Accumulator,
    collaborative: Accumulator,
    blocked: Vec<bool>,
    blocked_items: Vec<u32>,
    candidates: Vec<(u32, f32)>,
    item_count: usize,
}

impl Scratch {
    fn new(item_count: usize) -> Self {
        Scratch {
            content: Accumulator::new(item_count),
            collaborative: Accumulator::new(item_count),
            blocked: vec![false; item_count],
            blocked_items: Vec::new(),
            candidates: Vec::new(),
            item_count,
        }
    }

    fn block(&mut self, item: u32) {
        if let Some(blocked) = self.blocked.get_mut(item as usize) {
            if !*blocked {
                *blocked = true;
                self.blocked_items.push(item);
            }
        }
    }

    fn is_blocked(&self, item: u32) -> bool {
        self.blocked.get(item as usize).copied().unwrap_or(true)
    }

    fn unblock_all(&mut self) {
        for &item in &self.blocked_items {
            self.blocked[item as usize] = false;
        }
        self.blocked_items.clear();
    }
}

/// The recommender: neighbour lists and popularity over one catalog, and blend weights.
#[derive(Debug, Clone)]
pub struct Engine {
    popularity: Popularity,
    content: Option<Neighbours>,
    collaborative: Option<Neighbours>,
    weights: BlendWeights,
}

impl Engine {
    /// Creates an engine over the catalog that `popularity` ranks, without neighbour lists
    /// yet, so it recommends by popularity alone.
    ///
    /// Fails when a weight is negative or not finite.
    pub fn new(popularity: Popularity, weights: BlendWeights) -> Result<Self, EngineError> {
        weights.validate()?;
        Ok(Engine { popularity, content: None, collaborative: None, weights })
    }

    /// Adds content neighbour lists, which must cover the engine's catalog.
    pub fn with_content(mut self, neighbours: Neighbours) -> Result<Self, EngineError> {
        self.check_covers(&neighbours)?;
        self.content = Some(neighbours);
        Ok(self)
    }

    /// Adds collaborative neighbour lists, which must cover the engine's catalog.
    pub fn with_collaborative(mut self, neighbours: Neighbours) -> Result<Self, EngineError> {
        self.check_covers(&neighbours)?;
        self.collaborative = Some(neighbours);
        Ok(self)
    }

    /// Replaces the blend weights.
    pub fn set_weights(&mut self, weights: BlendWeights) -> Result<(), EngineError> {
        weights.validate()?;
        self.weights = weights;
        Ok(())
    }

    /// Returns the blend weights in use.
    pub fn weights(&self) -> BlendWeights {
        self.weights
    }

    /// Number of items in the catalog.
    pub fn item_count(&self) -> usize {
        self.popularity.item_count()
    }

    /// Allocates working memory for [`Engine::rank_history`].
    pub fn scratch(&self) -> Scratch {
        Scratch::new(self.item_count())
    }

    /// Recommends up to `k` items for a history of (item, weight) pairs, best first, as
    /// (item, blended score) pairs.
    ///
    /// See [`Engine::rank_history`] for the rules; this variant allocates its own scratch.
    pub fn recommend_for_history(&self, history: &[(u32, f32)], k: usize, exclude: &[u32]) -> Vec<(u32, f32)> {
        let mut scratch = self.scratch();
        self.rank_history(&mut scratch, history, k, exclude)
            .into_iter()
            .map(|ranked| (ranked.item, ranked.score))
            .collect()
    }

    /// Ranks up to `k` items for a history of (item, weight) pairs, best first.
    ///
    /// Each neighbour j of a history item h collects `weight(h) * similarity(h, j)` per
    /// signal. Each signal is divided by its maximum over the candidates, then the blended
    /// score is `content * c + collaborative * v + popularity * p`, ties going to the lower
    /// index. When fewer than `k` items have a neighbour signal, the most popular remaining
    /// items fill the list, after all neighbour candidates, whatever their score.
    ///
    /// History items and `exclude` items are never returned. History items outside the
    /// catalog and weights that are not above 0 are ignored, because a stored history can
    /// outlive the catalog it was recorded against. A recommendation for one page's asset
    /// is the history `[(asset, 1.0)]`. Use [`super::decayed_history`] to weigh by age.
    pub fn rank_history(
        &self,
        scratch: &mut Scratch,
        history: &[(u32, f32)],
        k: usize,
        exclude: &[u32],
    ) -> Vec<RankedItem> {
        if scratch.item_count != self.item_count() {
            *scratch = self.scratch();
        }
        for &(item, _) in history {
            scratch.block(item);
        }
        for &item in exclude {
            scratch.block(item);
        }

        let weights = self.weights;
        let content = self.content.as_ref().filter(|_| weights.content > 0.0);
        let collaborative = self.collaborative.as_ref().filter(|_| weights.collaborative > 0.0);
        for &(item, weight) in history {
            if !(weight > 0.0 && weight.is_finite()) {
                continue;
            }
            if let Some(content) = content {
                accumulate(&mut scratch.content, &scratch.blocked, content, item, weight);
            }
            if let Some(collaborative) = collaborative {
                accumulate(&mut scratch.collaborative, &scratch.blocked, collaborative, item, weight);
            }
        }

        let ranked = self.blend_candidates(scratch, k);
        let ranked = self.fill_from_popularity(scratch, ranked, k);
        scratch.unblock_all();
        ranked
    }

    /// Ranks every item with a neighbour signal and resets the accumulators.
    fn blend_candidates(&self, scratch: &mut Scratch, k: usize) -> Vec<RankedItem> {
        let weights = self.weights;
        let content_max = max_score(&scratch.content);
        let collaborative_max = max_score(&scratch.collaborative);
        let signals = |scratch: &Scratch, item: u32| {
            let content = if content_max > 0.0 { scratch.content.get(item) / content_max } else { 0.0 };
            let collaborative =
                if collaborative_max > 0.0 { scratch.collaborative.get(item) / collaborative_max } else { 0.0 };
            (content, collaborative, self.popularity.normalised(item))
        };

        let mut candidates = std::mem::take(&mut scratch.candidates);
        candidates.clear();
        let content_items = scratch.content.touched().iter();
        let collaborative_only =
            scratch.collaborative.touched().iter().filter(|&&item| scratch.content.get(item) == 0.0);
        for &item in content_items.chain(collaborative_only) {
            let (content, collaborative, popularity) = signals(scratch, item);
            let score =
                weights.content * content + weights.collaborative * collaborative + weights.popularity * popularity;
            candidates.push((item, score));
        }
        keep_top(&mut candidates, k);

        let ranked = candidates
            .iter()
            .map(|&(item, score)| {
                let (content, collaborative, popularity) = signals(scratch, item);
                RankedItem { item, score, content, collaborative, popularity, fallback: false }
            })
            .collect();
        scratch.content.clear();
        scratch.collaborative.clear();
        scratch.candidates = candidates;
        ranked
    }

    fn fill_from_popularity(&self, scratch: &mut Scratch, mut ranked: Vec<RankedItem>, k: usize) -> Vec<RankedItem> {
        if ranked.len() >= k {
            return ranked;
        }
        for chosen in &ranked {
            scratch.block(chosen.item);
        }
        for &item in self.popularity.ranked() {
            if ranked.len() == k {
                break;
            }
            if scratch.is_blocked(item) {
                continue;
            }
            let popularity = self.popularity.normalised(item);
            ranked.push(RankedItem {
                item,
                score: self.weights.popularity * popularity,
                content: 0.0,
                collaborative: 0.0,
                popularity,
                fallback: true,
            });
        }
        ranked
    }

    fn check_covers(&self, neighbours: &Neighbours) -> Result<(), EngineError> {
        if neighbours.item_count() == self.item_count() {
            Ok(())
        } else {
            Err(EngineError::ItemCountMismatch { expected: self.item_count(), found: neighbours.item_count() })
        }
    }
}

/// Adds one history item's weighted neighbours to a signal, skipping blocked items.
fn accumulate(signal: &mut Accumulator, blocked: &[bool], neighbours: &Neighbours, item: u32, weight: f32) {
    for (other, similarity) in neighbours.of(item) {
        if !blocked[other as usize] {
            signal.add(other, weight * similarity);
        }
    }
}

fn max_score(signal: &Accumulator) -> f32 {
    signal.touched().iter().map(|&item| signal.get(item)).fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f32 = 1e-6;

    fn assert_pairs(actual: &[(u32, f32)], expected: &[(u32, f32)]) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for (got, want) in actual.iter().zip(expected) {
            assert_eq!(got.0, want.0, "{actual:?} vs {expected:?}");
            assert!((got.1 - want.1).abs() < TOLERANCE, "{actual:?} vs {expected:?}");
        }
    }

    /// Five items with popularity 10, 8, 6, 4, 2 (normalised 1.0 down to 0.2), collaborative
    /// neighbours 0 → {1: 0.8, 2: 0.4} and content neighbours 0 → {2: 0.5, 4: 0.5}.
    fn engine(weights: BlendWeights) -> Engine {
        let popularity = Popularity::from_scores(vec![10.0, 8.0, 6.0, 4.0, 2.0]).expect("valid scores");
        let collaborative =
            Neighbours::from_lists(vec![vec![(1, 0.8), (2, 0.4)], vec![(0, 0.8)], vec![], vec![], vec![]])
                .expect("valid lists");
        let content = Neighbours::from_lists(vec![vec![(2, 0.5), (4, 0.5)], vec![], vec![], vec![], vec![(3, 0.9)]])
            .expect("valid lists");
        Engine::new(popularity, weights)
            .and_then(|engine| engine.with_collaborative(collaborative))
            .and_then(|engine| engine.with_content(content))
            .expect("matching catalog")
    }

    const WEIGHTS: BlendWeights = BlendWeights { content: 1.0, collaborative: 1.0, popularity: 0.1 };

    #[test]
    fn blends_normalised_signals() {
        // Collaborative: 1 → 0.8 / 0.8 = 1.0, 2 → 0.4 / 0.8 = 0.5. Content: 2 and 4 → 1.0.
        // Item 2: 0.5 + 1.0 + 0.1 · 0.6 = 1.56; item 1: 1.0 + 0.1 · 0.8 = 1.08;
        // item 4: 1.0 + 0.1 · 0.2 = 1.02; then item 3 by popularity alone, 0.1 · 0.4 = 0.04.
        let recommended = engine(WEIGHTS).recommend_for_history(&[(0, 1.0)], 4, &[]);
        assert_pairs(&recommended, &[(2, 1.56), (1, 1.08), (4, 1.02), (3, 0.04)]);
    }

    #[test]
    fn reports_signals_and_fallback() {
        let engine = engine(WEIGHTS);
        let mut scratch = engine.scratch();
        let ranked = engine.rank_history(&mut scratch, &[(0, 1.0)], 4, &[]);
        assert_eq!(ranked[0].content, 1.0);
        assert_eq!(ranked[0].collaborative, 0.5);
        assert!((ranked[0].popularity - 0.6).abs() < TOLERANCE);
        assert!(!ranked[0].fallback);
        assert!(ranked[3].fallback);

        // The scratch is clean for the next request.
        let again = engine.rank_history(&mut scratch, &[(0, 1.0)], 4, &[]);
        assert_eq!(ranked, again);
    }

    #[test]
    fn exclusions_change_normalisation() {
        // Without item 2, collaborative is 1 → 1.0 and content 4 → 1.0.
        let recommended = engine(WEIGHTS).recommend_for_history(&[(0, 1.0)], 2, &[2]);
        assert_pairs(&recommended, &[(1, 1.08), (4, 1.02)]);
    }

    #[test]
    fn history_weights_scale_signals() {
        // History 0 (weight 1) and 4 (weight 2): content 2 → 0.5, 4 is history, 3 → 1.8;
        // divided by 1.8: 3 → 1.0, 2 → 0.277_778. Collaborative as before.
        // Item 2: 0.5 + 0.277_778 + 0.06 = 0.837_778; item 3: 1.0 + 0.04 = 1.04; item 1: 1.08.
        let recommended = engine(WEIGHTS).recommend_for_history(&[(0, 1.0), (4, 2.0)], 3, &[]);
        assert_pairs(&recommended, &[(1, 1.08), (3, 1.04), (2, 0.837_778)]);
    }

    #[test]
    fn empty_history_falls_back_to_popularity() {
        let recommended = engine(WEIGHTS).recommend_for_history(&[], 3, &[1]);
        assert_pairs(&recommended, &[(0, 0.1), (2, 0.06), (3, 0.04)]);
    }

    #[test]
    fn cold_item_uses_content_then_popularity() {
        // Item 4 has no collaborative neighbours: content 3 leads, then popular items.
        let recommended = engine(WEIGHTS).recommend_for_history(&[(4, 1.0)], 3, &[]);
        assert_pairs(&recommended, &[(3, 1.04), (0, 0.1), (1, 0.08)]);
    }

    #[test]
    fn zero_weight_drops_signal() {
        let only_collaborative = BlendWeights { content: 0.0, collaborative: 1.0, popularity: 0.0 };
        let recommended = engine(only_collaborative).recommend_for_history(&[(0, 1.0)], 2, &[]);
        assert_pairs(&recommended, &[(1, 1.0), (2, 0.5)]);
    }

    #[test]
    fn ignores_unknown_items_and_bad_weights() {
        let engine = engine(WEIGHTS);
        let recommended = engine.recommend_for_history(&[(0, 1.0), (99, 1.0), (4, f32::NAN), (4, -1.0)], 3, &[77]);
        assert_pairs(&recommended, &[(2, 1.56), (1, 1.08), (3, 0.04)]);
        assert!(engine.recommend_for_history(&[(0, 1.0)], 0, &[]).is_empty());
    }

    #[test]
    fn rejects_invalid_weights_and_sizes() {
        let popularity = Popularity::from_scores(vec![1.0, 2.0]).expect("valid");
        let negative = BlendWeights { content: -1.0, ..BlendWeights::default() };
        assert!(Engine::new(popularity.clone(), negative).is_err());

        let engine = Engine::new(popularity, BlendWeights::default()).expect("valid");
        let three = Neighbours::from_lists(vec![vec![], vec![], vec![]]).expect("valid");
        assert_eq!(engine.with_content(three).err(), Some(EngineError::ItemCountMismatch { expected: 2, found: 3 }));
    }
}
