//! Top-k ranking metrics, defined as RecBole 1.2.1 defines them, averaged over users.

/// Sums of per-user metrics at one cut-off, plus the set of items recommended to anyone.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    cutoff: usize,
    users: usize,
    ndcg: f64,
    recall: f64,
    hit: f64,
    mrr: f64,
    precision: f64,
    recommended: Vec<bool>,
}

/// Averages of [`Metrics`] over the users evaluated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Users with at least one target item.
    pub users: usize,
    /// Normalised discounted cumulative gain; the ideal ranking puts `min(|targets|, k)`
    /// targets first.
    pub ndcg: f64,
    /// Targets found in the top k over all targets.
    pub recall: f64,
    /// Share of users with at least one target in the top k.
    pub hit: f64,
    /// Reciprocal rank of the first target in the top k (0 when none is there).
    pub mrr: f64,
    /// Targets found in the top k over k.
    pub precision: f64,
    /// Distinct items recommended to anyone over the catalog size.
    pub coverage: f64,
}

impl Metrics {
    /// Creates empty sums for a catalog of `item_count` items, cutting lists at `cutoff`.
    pub fn new(cutoff: usize, item_count: usize) -> Self {
        Metrics {
            cutoff,
            users: 0,
            ndcg: 0.0,
            recall: 0.0,
            hit: 0.0,
            mrr: 0.0,
            precision: 0.0,
            recommended: vec![false; item_count],
        }
    }

    /// Adds one user's ranked list against their target items; a user without targets is
    /// skipped, as RecBole skips them.
    pub fn add(&mut self, ranked: &[u32], is_target: impl Fn(u32) -> bool, target_count: usize) {
        if target_count == 0 {
            return;
        }
        let top = &ranked[..ranked.len().min(self.cutoff)];
        for &item in top {
            if let Some(seen) = self.recommended.get_mut(item as usize) {
                *seen = true;
            }
        }

        let mut hits = 0usize;
        let mut dcg = 0.0;
        let mut first_hit = None;
        for (position, &item) in top.iter().enumerate() {
            if is_target(item) {
                hits += 1;
                dcg += discount(position);
                first_hit.get_or_insert(position + 1);
            }
        }
        let ideal: f64 = (0..target_count.min(self.cutoff)).map(discount).sum();

        self.users += 1;
        self.ndcg += dcg / ideal;
        self.recall += hits as f64 / target_count as f64;
        self.hit += f64::from(u8::from(hits > 0));
        self.mrr += first_hit.map_or(0.0, |rank| 1.0 / rank as f64);
        self.precision += hits as f64 / self.cutoff as f64;
    }

    /// Averages the sums over the users added.
    pub fn summary(&self) -> Summary {
        let users = self.users.max(1) as f64;
        let covered = self.recommended.iter().filter(|&&seen| seen).count();
        Summary {
            users: self.users,
            ndcg: self.ndcg / users,
            recall: self.recall / users,
            hit: self.hit / users,
            mrr: self.mrr / users,
            precision: self.precision / users,
            coverage: covered as f64 / self.recommended.len().max(1) as f64,
        }
    }
}

/// Returns the gain discount at a zero-based position, `1 / log2(position + 2)`.
fn discount(position: usize) -> f64 {
    1.0 / (position as f64 + 2.0).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f64 = 1e-9;

    #[test]
    fn one_user_hand_computed() {
        // Targets {3, 8, 9}; the list hits 3 at rank 2 and 8 at rank 4 of 5 shown (k = 5).
        let mut metrics = Metrics::new(5, 10);
        let targets = [3, 8, 9];
        metrics.add(&[1, 3, 5, 8, 0, 9], |item| targets.contains(&item), targets.len());
        let summary = metrics.summary();

        // DCG = 1/log2 3 + 1/log2 5 = 0.630_930 + 0.430_677 = 1.061_606;
        // IDCG = 1 + 0.630_930 + 0.5 = 2.130_930.
        assert!((summary.ndcg - 1.061_606 / 2.130_930).abs() < 1e-6);
        assert!((summary.recall - 2.0 / 3.0).abs() < TOLERANCE);
        assert_eq!(summary.hit, 1.0);
        assert!((summary.mrr - 0.5).abs() < TOLERANCE);
        assert!((summary.precision - 0.4).abs() < TOLERANCE);
        assert!((summary.coverage - 0.5).abs() < TOLERANCE, "items 0, 1, 3, 5, 8 of 10");
    }

    #[test]
    fn averages_and_skips_empty_targets() {
        let mut metrics = Metrics::new(2, 4);
        metrics.add(&[0, 1], |item| item == 0, 1);
        metrics.add(&[2, 3], |_| false, 0);
        metrics.add(&[1, 2], |_| false, 1);

        let summary = metrics.summary();
        assert_eq!(summary.users, 2);
        assert!((summary.ndcg - 0.5).abs() < TOLERANCE);
        assert!((summary.hit - 0.5).abs() < TOLERANCE);
        assert!((summary.mrr - 0.5).abs() < TOLERANCE);
        assert!((summary.precision - 0.25).abs() < TOLERANCE);
        assert!((summary.coverage - 0.75).abs() < TOLERANCE, "item 3, only shown to the skipped user, is not counted");
    }
}
