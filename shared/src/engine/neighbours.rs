//! Top-k neighbour lists in compressed sparse row form, and the dense score accumulator and
//! top-k selection that build them.

use std::cmp::Ordering;

use super::{check_item, check_item_count, EngineError};

/// The `k` nearest neighbours of every item, best first, with their similarity scores.
///
/// Stored as one flat array of (neighbour, score) pairs plus an offset per item, so a catalog
/// of n items with k neighbours each costs about `8 * n * k` bytes in two allocations.
/// Within a list, scores descend and ties are ordered by neighbour index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Neighbours {
    offsets: Vec<usize>,
    items: Vec<u32>,
    scores: Vec<f32>,
}

impl Neighbours {
    /// Builds neighbour lists from one list per item, in any order.
    ///
    /// Each list is sorted into rank order and pairs whose score is not above 0 are dropped,
    /// so lists computed elsewhere (a database, a file) behave like computed ones.
    pub fn from_lists(lists: Vec<Vec<(u32, f32)>>) -> Result<Self, EngineError> {
        let item_count = lists.len();
        check_item_count(item_count)?;

        let mut builder = NeighbourBuilder::with_capacity(item_count, lists.iter().map(Vec::len).sum());
        for mut list in lists {
            for &(item, score) in &list {
                check_item(item, item_count)?;
                if score.is_nan() || score.is_infinite() {
                    return Err(EngineError::InvalidWeight { item, weight: score });
                }
            }
            list.retain(|&(_, score)| score > 0.0);
            let k = list.len();
            builder.push_top(&mut list, k);
        }
        Ok(builder.finish())
    }

    /// Number of items that have a (possibly empty) list.
    pub fn item_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Total number of (item, neighbour) pairs.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Returns whether no item has any neighbour.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Returns the neighbours of `item`, best first; empty for an index outside the catalog.
    pub fn of(&self, item: u32) -> impl ExactSizeIterator<Item = (u32, f32)> + '_ {
        let index = item as usize;
        let range = if index + 1 < self.offsets.len() { self.offsets[index]..self.offsets[index + 1] } else { 0..0 };
        self.items[range.clone()].iter().copied().zip(self.scores[range].iter().copied())
    }

    /// Keeps at most the `k` best neighbours of each item.
    ///
    /// Because lists are in rank order, this equals recomputing with a smaller k, which makes
    /// tuning k cheap.
    pub fn truncated(&self, k: usize) -> Neighbours {
        let mut builder = NeighbourBuilder::with_capacity(self.item_count(), self.item_count() * k);
        for item in 0..self.item_count() {
            let start = self.offsets[item];
            let end = self.offsets[item + 1].min(start + k);
            builder.items.extend_from_slice(&self.items[start..end]);
            builder.scores.extend_from_slice(&self.scores[start..end]);
            builder.offsets.push(builder.items.len());
        }
        builder.finish()
    }
}

/// Appends neighbour lists item by item.
pub(crate) struct NeighbourBuilder {
    offsets: Vec<usize>,
    items: Vec<u32>,
    scores: Vec<f32>,
}

impl NeighbourBuilder {
    pub(crate) fn with_capacity(item_count: usize, pairs: usize) -> Self {
        let mut offsets = Vec::with_capacity(item_count + 1);
        offsets.push(0);
        NeighbourBuilder { offsets, items: Vec::with_capacity(pairs), scores: Vec::with_capacity(pairs) }
    }

    /// Appends the next item's list: the `k` best of `candidates`, which it leaves sorted.
    pub(crate) fn push_top(&mut self, candidates: &mut Vec<(u32, f32)>, k: usize) {
        keep_top(candidates, k);
        for &(item, score) in candidates.iter() {
            self.items.push(item);
            self.scores.push(score);
        }
        self.offsets.push(self.items.len());
    }

    pub(crate) fn finish(self) -> Neighbours {
        Neighbours { offsets: self.offsets, items: self.items, scores: self.scores }
    }
}

/// Rank order: higher score first, then lower item index.
///
/// This is a total order over pairs with distinct items, so unstable sorts and selections
/// give the same result on every run.
pub(crate) fn by_rank(a: &(u32, f32), b: &(u32, f32)) -> Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Keeps the `k` best candidates in rank order, in O(n + k log k).
pub(crate) fn keep_top(candidates: &mut Vec<(u32, f32)>, k: usize) {
    if k == 0 {
        candidates.clear();
        return;
    }
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k - 1, by_rank);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(by_rank);
}

/// Dense score accumulator over all items that remembers which items it touched, so that
/// reading and resetting it costs the number of touched items, not the catalog size.
#[derive(Debug, Clone)]
pub(crate) struct Accumulator {
    scores: Vec<f32>,
    touched: Vec<u32>,
}

impl Accumulator {
    pub(crate) fn new(item_count: usize) -> Self {
        Accumulator { scores: vec![0.0; item_count], touched: Vec::new() }
    }

    /// Adds `value` to the item's score; values that are not above 0 are ignored, which keeps
    /// "score above 0" equivalent to "touched".
    pub(crate) fn add(&mut self, item: u32, value: f32) {
        if value > 0.0 {
            let score = &mut self.scores[item as usize];
            if *score == 0.0 {
                self.touched.push(item);
            }
            *score += value;
        }
    }

    pub(crate) fn get(&self, item: u32) -> f32 {
        self.scores[item as usize]
    }

    pub(crate) fn touched(&self) -> &[u32] {
        &self.touched
    }

    /// Multiplies or otherwise rewrites the touched scores in place.
    pub(crate) fn map_scores(&mut self, mut map: impl FnMut(u32, f32) -> f32) {
        for &item in &self.touched {
            let score = &mut self.scores[item as usize];
            *score = map(item, *score);
        }
    }

    /// Moves the touched (item, score) pairs into `out` and resets the accumulator.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<(u32, f32)>) {
        for &item in &self.touched {
            let score = std::mem::take(&mut self.scores[item as usize]);
            if score > 0.0 {
                out.push((item, score));
            }
        }
        self.touched.clear();
    }

    /// Resets the accumulator without reading it.
    pub(crate) fn clear(&mut self) {
        for &item in &self.touched {
            self.scores[item as usize] = 0.0;
        }
        self.touched.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_top_breaks_ties_by_index() {
        let mut candidates = vec![(4, 0.5), (2, 0.9), (3, 0.5), (1, 0.5), (0, 0.1)];
        keep_top(&mut candidates, 3);
        assert_eq!(candidates, vec![(2, 0.9), (1, 0.5), (3, 0.5)]);

        let mut all = vec![(1, 0.2), (0, 0.2)];
        keep_top(&mut all, 10);
        assert_eq!(all, vec![(0, 0.2), (1, 0.2)]);

        keep_top(&mut all, 0);
        assert!(all.is_empty());
    }

    #[test]
    fn from_lists_sorts_and_drops_non_positive_scores() {
        let lists = vec![vec![(1, 0.2), (2, 0.7), (1, 0.0)], vec![], vec![(0, 0.3)]];
        let neighbours = Neighbours::from_lists(lists).expect("valid lists");
        assert_eq!(neighbours.item_count(), 3);
        assert_eq!(neighbours.len(), 3);
        assert_eq!(neighbours.of(0).collect::<Vec<_>>(), vec![(2, 0.7), (1, 0.2)]);
        assert_eq!(neighbours.of(1).count(), 0);
        assert_eq!(neighbours.of(2).collect::<Vec<_>>(), vec![(0, 0.3)]);
        assert_eq!(neighbours.of(3).count(), 0, "an index outside the catalog has no neighbours");
    }

    #[test]
    fn from_lists_rejects_bad_pairs() {
        assert_eq!(
            Neighbours::from_lists(vec![vec![(5, 0.1)]]),
            Err(EngineError::ItemOutOfRange { item: 5, item_count: 1 })
        );
        assert!(Neighbours::from_lists(vec![vec![(0, f32::NAN)]]).is_err());
    }

    #[test]
    fn truncated_keeps_prefix() {
        let lists = vec![vec![(1, 0.9), (2, 0.5)], vec![(0, 0.9)], vec![(0, 0.5)]];
        let neighbours = Neighbours::from_lists(lists).expect("valid lists");
        let one = neighbours.truncated(1);
        assert_eq!(one.of(0).collect::<Vec<_>>(), vec![(1, 0.9)]);
        assert_eq!(one.of(2).collect::<Vec<_>>(), vec![(0, 0.5)]);
        assert_eq!(one.len(), 3);
    }

    #[test]
    fn accumulator_tracks_touched_items() {
        let mut accumulator = Accumulator::new(4);
        accumulator.add(2, 0.5);
        accumulator.add(0, 0.0);
        accumulator.add(2, 0.25);
        accumulator.add(1, 1.0);
        assert_eq!(accumulator.touched(), &[2, 1]);
        assert_eq!(accumulator.get(2), 0.75);

        let mut out = Vec::new();
        accumulator.drain_into(&mut out);
        assert_eq!(out, vec![(2, 0.75), (1, 1.0)]);
        assert_eq!(accumulator.get(2), 0.0);
        assert!(accumulator.touched().is_empty());
    }
}
