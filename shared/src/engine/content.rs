//! Content similarity: items described by sets of index terms, weighted by kind and inverse
//! document frequency, compared by cosine.
//!
//! Terms carry their kind as a prefix, the way the edge writes them: `kw:` keyword, `cat:`
//! category, `by:` creator, `gal:` gallery, `col:` collection. A term's weight in an item's
//! vector is `kind weight * ln((n + 1) / df)`, where n is the number of items and df the
//! number of items holding the term. Each item vector is then scaled to unit length, so the
//! similarity of two items is the dot product of their vectors, in `0.0..=1.0`.
//!
//! Terms are sets, not counts, so BM25's term-frequency saturation has nothing to act on and
//! cosine normalisation plays the part of its length normalisation.

use std::collections::HashMap;

use super::neighbours::{keep_top, Accumulator, NeighbourBuilder};
use super::{check_item, check_item_count, EngineError, Neighbours};

/// Weight of each term kind, the prefix before the first `:` of a term.
#[derive(Debug, Clone, PartialEq)]
pub struct KindWeights {
    kinds: Vec<(String, f32)>,
    other: f32,
}

impl Default for KindWeights {
    /// The edge's weights: gallery 1.5, creator 1.2, keyword 1.0, any other kind 0.3.
    fn default() -> Self {
        KindWeights::uniform(0.3).with("gal", 1.5).with("by", 1.2).with("kw", 1.0)
    }
}

impl KindWeights {
    /// Creates weights that give every kind, and terms without a kind, the same `weight`.
    pub fn uniform(weight: f32) -> Self {
        KindWeights { kinds: Vec::new(), other: weight }
    }

    /// Sets the weight of one kind (without the `:`), replacing an earlier one.
    pub fn with(mut self, kind: &str, weight: f32) -> Self {
        match self.kinds.iter_mut().find(|(known, _)| known == kind) {
            Some(entry) => entry.1 = weight,
            None => self.kinds.push((kind.to_owned(), weight)),
        }
        self
    }

    /// Returns the weight of a term's kind; terms without a `:` get the weight of other kinds.
    pub fn weight_of(&self, term: &str) -> f32 {
        let Some((kind, _)) = term.split_once(':') else { return self.other };
        self.kinds.iter().find(|(known, _)| known == kind).map_or(self.other, |(_, weight)| *weight)
    }

    fn validate(&self) -> Result<(), EngineError> {
        let all = self.kinds.iter().map(|(kind, weight)| (kind.as_str(), *weight)).chain([("*", self.other)]);
        for (kind, weight) in all {
            if !weight.is_finite() || weight < 0.0 {
                return Err(EngineError::InvalidKindWeight { kind: kind.to_owned(), weight });
            }
        }
        Ok(())
    }
}

/// Settings of a [`ContentIndex`].
#[derive(Debug, Clone, PartialEq)]
pub struct ContentConfig {
    /// Weight of each term kind.
    pub kind_weights: KindWeights,
    /// Terms held by more than this share of all items are left out of the neighbour search:
    /// they find no candidates and add nothing to a candidate's score, though they still
    /// count in each item's vector length.
    ///
    /// Their posting lists are the longest, so scanning them costs the most, and their low
    /// IDF adds little. Neighbour scores are therefore cosines over the remaining terms, at
    /// most [`ContentIndex::similarity`]. The edge's SQL applies the same rule with a fixed
    /// cap of 5,000 assets.
    pub max_expanded_share: f64,
    /// Minimum number of terms each item expands: when fewer of its shared terms are under
    /// the cap, its rarest terms over the cap expand too, so an item with only common terms
    /// still finds neighbours.
    ///
    /// The edge's SQL always expands an asset's two rarest terms. Counting only the terms
    /// under the cap scans fewer long posting lists: in the Tate collection, a sketchbook page
    /// whose sketchbook is a rare shared term does not also scan its artist, whose term
    /// J. M. W. Turner's 37,930 works share.
    pub min_expanded_terms: usize,
}

impl Default for ContentConfig {
    fn default() -> Self {
        ContentConfig { kind_weights: KindWeights::default(), max_expanded_share: 0.1, min_expanded_terms: 1 }
    }
}

/// Items as unit-length term vectors, with an inverted index from terms to items.
#[derive(Debug, Clone)]
pub struct ContentIndex {
    terms: Vec<String>,
    document_frequency: Vec<u32>,
    item_offsets: Vec<usize>,
    item_terms: Vec<u32>,
    item_values: Vec<f32>,
    posting_offsets: Vec<usize>,
    posting_items: Vec<u32>,
    posting_values: Vec<f32>,
    max_expanded_df: u32,
    min_expanded_terms: usize,
}

impl ContentIndex {
    /// Builds the index from each item's terms, item `i` being the `i`-th element of `items`.
    ///
    /// Repeated terms in one item count once. Terms whose kind weight is 0 are left out, and
    /// an item without terms has no neighbours.
    pub fn build<I, T, S>(items: I, config: &ContentConfig) -> Result<Self, EngineError>
    where
        I: IntoIterator<Item = T>,
        T: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        config.kind_weights.validate()?;
        if !(config.max_expanded_share > 0.0 && config.max_expanded_share <= 1.0) {
            return Err(EngineError::InvalidParameter {
                name: "max_expanded_share",
                value: config.max_expanded_share,
                expected: "a share above 0 and at most 1",
            });
        }

        // Intern the terms in order of first appearance and keep each item's term ids sorted.
        let mut term_ids: HashMap<String, u32> = HashMap::new();
        let mut terms: Vec<String> = Vec::new();
        let mut item_offsets = vec![0];
        let mut item_terms: Vec<u32> = Vec::new();
        for item_terms_in in items {
            let start = item_terms.len();
            for term in item_terms_in {
                let term = term.as_ref();
                let id = match term_ids.get(term) {
                    Some(&id) => id,
                    None => {
                        let id = u32::try_from(terms.len()).map_err(|_| EngineError::TooManyTerms(terms.len()))?;
                        term_ids.insert(term.to_owned(), id);
                        terms.push(term.to_owned());
                        id
                    }
                };
                item_terms.push(id);
            }
            item_terms[start..].sort_unstable();
            let unique = dedup_sorted(&mut item_terms[start..]);
            item_terms.truncate(start + unique);
            item_offsets.push(item_terms.len());
        }
        drop(term_ids);
        let item_count = item_offsets.len() - 1;
        check_item_count(item_count)?;

        let mut document_frequency = vec![0u32; terms.len()];
        for &term in &item_terms {
            document_frequency[term as usize] += 1;
        }
        let idf_base = (item_count + 1) as f64;
        let term_weights: Vec<f64> = terms
            .iter()
            .zip(&document_frequency)
            .map(|(term, &df)| f64::from(config.kind_weights.weight_of(term)) * (idf_base / f64::from(df)).ln())
            .collect();

        // Unit-length item vectors, leaving out terms of weight 0.
        let mut offsets = vec![0];
        let mut kept_terms = Vec::with_capacity(item_terms.len());
        let mut values = Vec::with_capacity(item_terms.len());
        for item in 0..item_count {
            let own = &item_terms[item_offsets[item]..item_offsets[item + 1]];
            let norm = own.iter().map(|&t| term_weights[t as usize].powi(2)).sum::<f64>().sqrt();
            for &term in own {
                let weight = term_weights[term as usize];
                if weight > 0.0 {
                    kept_terms.push(term);
                    values.push((weight / norm) as f32);
                }
            }
            offsets.push(kept_terms.len());
        }

        // Inverted index: a counting sort of (term, item) pairs by term keeps items ascending.
        let mut posting_offsets = vec![0usize; terms.len() + 1];
        for &term in &kept_terms {
            posting_offsets[term as usize + 1] += 1;
        }
        for term in 0..terms.len() {
            posting_offsets[term + 1] += posting_offsets[term];
        }
        let mut next = posting_offsets.clone();
        let mut posting_items = vec![0u32; kept_terms.len()];
        let mut posting_values = vec![0f32; kept_terms.len()];
        for item in 0..item_count {
            for slot in offsets[item]..offsets[item + 1] {
                let term = kept_terms[slot] as usize;
                posting_items[next[term]] = item as u32;
                posting_values[next[term]] = values[slot];
                next[term] += 1;
            }
        }

        Ok(ContentIndex {
            terms,
            document_frequency,
            item_offsets: offsets,
            item_terms: kept_terms,
            item_values: values,
            posting_offsets,
            posting_items,
            posting_values,
            max_expanded_df: (config.max_expanded_share * item_count as f64).floor() as u32,
            min_expanded_terms: config.min_expanded_terms,
        })
    }

    /// Number of items.
    pub fn item_count(&self) -> usize {
        self.item_offsets.len() - 1
    }

    /// Number of distinct terms.
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// Returns an item's terms with their weights in its unit-length vector, in interning order.
    pub fn terms_of(&self, item: u32) -> impl Iterator<Item = (&str, f32)> + '_ {
        let (terms, values) = self.vector(item);
        terms.iter().zip(values).map(|(&term, &value)| (self.terms[term as usize].as_str(), value))
    }

    /// Computes the cosine similarity of two items; 0 for an index outside the catalog.
    pub fn similarity(&self, a: u32, b: u32) -> f32 {
        let (terms_a, values_a) = self.vector(a);
        let (terms_b, values_b) = self.vector(b);
        let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
        while i < terms_a.len() && j < terms_b.len() {
            match terms_a[i].cmp(&terms_b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += values_a[i] * values_b[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }

    /// Returns the terms two items share, to explain a recommendation (such as "same gallery").
    pub fn shared_terms(&self, a: u32, b: u32) -> Vec<&str> {
        let (terms_b, _) = self.vector(b);
        let (terms_a, _) = self.vector(a);
        terms_a
            .iter()
            .filter(|term| terms_b.binary_search(term).is_ok())
            .map(|&term| self.terms[term as usize].as_str())
            .collect()
    }

    /// Computes the `k` most similar items of every item.
    pub fn neighbours(&self, k: usize) -> Neighbours {
        let mut accumulator = Accumulator::new(self.item_count());
        let mut candidates = Vec::new();
        let mut builder = NeighbourBuilder::with_capacity(self.item_count(), self.item_count() * k);
        for item in 0..self.item_count() as u32 {
            self.top_neighbours(item, k, &mut accumulator, &mut candidates);
            builder.push_top(&mut candidates, k);
        }
        builder.finish()
    }

    /// Computes the `k` most similar items of one item, best first.
    ///
    /// Allocates a score array over the whole catalog; prefer [`ContentIndex::neighbours`]
    /// for many items.
    pub fn neighbours_of(&self, item: u32, k: usize) -> Result<Vec<(u32, f32)>, EngineError> {
        check_item(item, self.item_count())?;
        let mut accumulator = Accumulator::new(self.item_count());
        let mut candidates = Vec::new();
        self.top_neighbours(item, k, &mut accumulator, &mut candidates);
        Ok(candidates)
    }

    /// Computes the `k` most similar items of each item in `items`, best first, in item order.
    ///
    /// Shares one score array across the range, so a caller can split the catalog into
    /// bounded steps without paying a catalog-sized allocation per item.
    pub fn neighbours_of_range(
        &self,
        items: std::ops::Range<u32>,
        k: usize,
    ) -> Result<Vec<Vec<(u32, f32)>>, EngineError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        check_item(items.end - 1, self.item_count())?;
        let mut accumulator = Accumulator::new(self.item_count());
        let mut candidates = Vec::new();
        let mut lists = Vec::with_capacity(items.len());
        for item in items {
            self.top_neighbours(item, k, &mut accumulator, &mut candidates);
            lists.push(candidates.clone());
        }
        Ok(lists)
    }

    fn vector(&self, item: u32) -> (&[u32], &[f32]) {
        let item = item as usize;
        if item >= self.item_count() {
            return (&[], &[]);
        }
        let range = self.item_offsets[item]..self.item_offsets[item + 1];
        (&self.item_terms[range.clone()], &self.item_values[range])
    }

    /// Replaces `candidates` with the `k` items most similar to `item` among those that share
    /// an expanded term with it, in rank order, scored over the expanded terms.
    fn top_neighbours(&self, item: u32, k: usize, accumulator: &mut Accumulator, candidates: &mut Vec<(u32, f32)>) {
        candidates.clear();
        let (terms, values) = self.vector(item);

        // Skip shared terms over the cap, except the rarest ones while too few are expanded.
        let mut over_cap: Vec<(u32, usize)> = terms
            .iter()
            .enumerate()
            .map(|(slot, &term)| (self.document_frequency[term as usize], slot))
            .filter(|&(df, _)| df >= 2)
            .collect();
        let under_cap = over_cap.iter().filter(|&&(df, _)| df <= self.max_expanded_df).count();
        over_cap.retain(|&(df, _)| df > self.max_expanded_df);
        over_cap.sort_unstable();
        let forced = self.min_expanded_terms.saturating_sub(under_cap);
        let mut skipped: Vec<usize> = over_cap.iter().skip(forced).map(|&(_, slot)| slot).collect();
        skipped.sort_unstable();

        // Walk the posting lists of expanded terms, in term order so sums are reproducible.
        for (slot, (&term, &value)) in terms.iter().zip(values).enumerate() {
            if self.document_frequency[term as usize] < 2 || skipped.binary_search(&slot).is_ok() {
                continue;
            }
            let postings = self.posting_offsets[term as usize]..self.posting_offsets[term as usize + 1];
            for (&other, &other_value) in
                self.posting_items[postings.clone()].iter().zip(&self.posting_values[postings])
            {
                if other != item {
                    accumulator.add(other, value * other_value);
                }
            }
        }
        accumulator.drain_into(candidates);
        keep_top(candidates, k);
    }
}

/// Removes adjacent duplicates from a sorted slice in place and returns the unique count.
fn dedup_sorted(values: &mut [u32]) -> usize {
    let mut unique = 0;
    for index in 0..values.len() {
        if index == 0 || values[index] != values[unique - 1] {
            values[unique] = values[index];
            unique += 1;
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::test_support::{assert_pairs, TOLERANCE};

    fn uniform() -> ContentConfig {
        ContentConfig { kind_weights: KindWeights::uniform(1.0), max_expanded_share: 1.0, min_expanded_terms: 0 }
    }

    /// Five items; `kw:cat` is held by 3 items (idf ln 2), `kw:dog` and `by:ann` by 2 (idf ln 3).
    fn animals() -> ContentIndex {
        let items: Vec<Vec<&str>> = vec![
            vec!["kw:cat", "kw:dog"],
            vec!["kw:cat"],
            vec!["kw:dog", "by:ann", "kw:dog"],
            vec!["by:ann"],
            vec!["kw:cat"],
        ];
        ContentIndex::build(items, &uniform()).expect("valid index")
    }

    #[test]
    fn idf_weights_are_cosine_normalised() {
        let index = animals();
        // Item 0 is (ln 2, ln 3) / sqrt(ln² 2 + ln² 3) = (0.533_600, 0.845_737).
        let item0: Vec<(&str, f32)> = index.terms_of(0).collect();
        assert_eq!(item0[0].0, "kw:cat");
        assert!((item0[0].1 - 0.533_600).abs() < TOLERANCE);
        assert!((item0[1].1 - 0.845_737).abs() < TOLERANCE);
        assert_eq!(index.term_count(), 3);
        assert_eq!(index.terms_of(2).count(), 2, "a repeated term counts once");
    }

    #[test]
    fn similarity_is_dot_of_unit_vectors() {
        let index = animals();
        assert!((index.similarity(0, 1) - 0.533_600).abs() < TOLERANCE);
        // Item 2 is (ln 3, ln 3) normalised, so the shared `kw:dog` gives 0.845_737 / sqrt 2.
        assert!((index.similarity(0, 2) - 0.598_026).abs() < TOLERANCE);
        assert!((index.similarity(1, 4) - 1.0).abs() < TOLERANCE);
        assert_eq!(index.similarity(0, 3), 0.0);
        assert_eq!(index.similarity(0, 9), 0.0);
        assert_eq!(index.shared_terms(0, 2), vec!["kw:dog"]);
    }

    #[test]
    fn neighbours_rank_by_cosine_then_index() {
        let neighbours = animals().neighbours(3);
        let of0: Vec<(u32, f32)> = neighbours.of(0).collect();
        assert_pairs(&of0, &[(2, 0.598_026), (1, 0.533_600), (4, 0.533_600)]);
        let of3: Vec<(u32, f32)> = neighbours.of(3).collect();
        assert_pairs(&of3, &[(2, std::f32::consts::FRAC_1_SQRT_2)]);
        let of1: Vec<(u32, f32)> = neighbours.of(1).collect();
        assert_pairs(&of1, &[(4, 1.0), (0, 0.533_600)]);
    }

    #[test]
    fn range_neighbours_match_the_whole_catalog() {
        let index = animals();
        let whole = index.neighbours(3);
        let range = index.neighbours_of_range(1..4, 3).expect("items in range");

        assert_eq!(range.len(), 3);
        for (offset, list) in range.iter().enumerate() {
            let expected: Vec<(u32, f32)> = whole.of(offset as u32 + 1).collect();
            assert_eq!(list, &expected, "item {}", offset + 1);
        }
        assert!(index.neighbours_of_range(4..6, 3).is_err());
        assert!(index.neighbours_of_range(2..2, 3).expect("empty range").is_empty());
    }

    #[test]
    fn kind_weights_scale_terms() {
        // All terms have idf ln 2, so item 0 is (1, 2) / sqrt 5 once `by:` weighs twice `kw:`.
        let config = ContentConfig { kind_weights: KindWeights::uniform(1.0).with("by", 2.0), ..uniform() };
        let index = ContentIndex::build([vec!["kw:x", "by:y"], vec!["kw:x"], vec!["by:y"]], &config).expect("valid");
        assert!((index.similarity(0, 1) - 0.447_214).abs() < TOLERANCE);
        assert!((index.similarity(0, 2) - 0.894_427).abs() < TOLERANCE);

        let weights = KindWeights::default();
        assert_eq!(weights.weight_of("gal:G1"), 1.5);
        assert_eq!(weights.weight_of("by:turner"), 1.2);
        assert_eq!(weights.weight_of("col:C1"), 0.3);
        assert_eq!(weights.weight_of("plain"), 0.3);
    }

    #[test]
    fn zero_kind_weight_drops_terms() {
        let config = ContentConfig { kind_weights: KindWeights::uniform(1.0).with("col", 0.0), ..uniform() };
        let index = ContentIndex::build([vec!["col:a", "kw:b"], vec!["col:a"]], &config).expect("valid");
        assert_eq!(index.similarity(0, 1), 0.0);
        assert_eq!(index.neighbours(5).len(), 0);
    }

    /// `kw:common` is in all 4 items (idf ln 1.25), `kw:rare` in 2 (idf ln 2.5), the rest in 1.
    fn common_terms(max_expanded_share: f64, min_expanded_terms: usize) -> ContentIndex {
        let items = [
            vec!["kw:common", "kw:rare", "kw:only0"],
            vec!["kw:common", "kw:rare"],
            vec!["kw:common", "kw:only2"],
            vec!["kw:common"],
        ];
        let config = ContentConfig { kind_weights: KindWeights::uniform(1.0), max_expanded_share, min_expanded_terms };
        ContentIndex::build(items, &config).expect("valid index")
    }

    #[test]
    fn common_terms_neither_expand_nor_score() {
        // With a cap of 2 items per expanded term, item 0 reaches item 1 only through
        // `kw:rare`, scored 0.491_207 * 0.971_604 = 0.477_258. The full cosine also counts
        // `kw:common`: 0.477_258 + 0.119_623 * 0.236_614 = 0.505_563.
        let capped = common_terms(0.5, 0);
        let of0: Vec<(u32, f32)> = capped.neighbours(5).of(0).collect();
        assert_pairs(&of0, &[(1, 0.477_258)]);
        assert!((capped.similarity(0, 1) - 0.505_563).abs() < TOLERANCE);
        assert_eq!(capped.neighbours(5).of(3).count(), 0, "item 3 holds only the common term");
    }

    #[test]
    fn rarest_terms_expand_up_to_minimum() {
        // Item 0 expands `kw:rare`, which meets the minimum of 1, so `kw:common` stays skipped.
        let forced = common_terms(0.5, 1);
        let of0: Vec<(u32, f32)> = forced.neighbours(5).of(0).collect();
        assert_pairs(&of0, &[(1, 0.477_258)]);

        // Item 3 has no shared term under the cap, so its rarest one expands.
        let of3: Vec<(u32, f32)> = forced.neighbours(5).of(3).collect();
        // Item 3 is the unit vector on `kw:common`, so each score is the other item's weight
        // for it. Normalised, item 1 (ln 1.25, ln 2.5) gives 0.236_614, item 2 (ln 1.25, ln 5)
        // gives 0.137_333, and item 0 (ln 1.25, ln 2.5, ln 5) gives 0.119_623.
        assert_pairs(&of3, &[(1, 0.236_614), (2, 0.137_333), (0, 0.119_623)]);

        // A minimum of 2 makes item 0 expand `kw:common` besides `kw:rare`.
        assert_eq!(common_terms(0.5, 2).neighbours(5).of(0).count(), 3);

        let uncapped = common_terms(1.0, 0);
        assert_eq!(uncapped.neighbours(5).of(0).count(), 3);
        assert_eq!(uncapped.neighbours_of(0, 1).expect("in range").len(), 1);
        assert!(uncapped.neighbours_of(7, 1).is_err());
    }

    #[test]
    fn build_rejects_bad_config() {
        let negative = ContentConfig { kind_weights: KindWeights::uniform(-1.0), ..uniform() };
        assert!(matches!(ContentIndex::build([vec!["kw:a"]], &negative), Err(EngineError::InvalidKindWeight { .. })));
        let no_share = ContentConfig { max_expanded_share: 0.0, ..uniform() };
        assert!(ContentIndex::build([vec!["kw:a"]], &no_share).is_err());
    }

    #[test]
    fn dedup_sorted_counts_unique() {
        let mut values = [1, 1, 2, 5, 5, 5];
        assert_eq!(dedup_sorted(&mut values), 3);
        assert_eq!(&values[..3], &[1, 2, 5]);
        assert_eq!(dedup_sorted(&mut []), 0);
    }
}
