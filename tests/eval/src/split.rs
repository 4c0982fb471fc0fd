//! The random 80/10/10 split of each user's interactions, reproducible from a seed.

/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit generator with a one-word state,
/// enough for shuffling and identical on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// Creates a generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Returns a uniform integer in `0..bound` (`bound` above 0), by Lemire's
    /// multiply-and-reject method, so no value is favoured.
    pub fn below(&mut self, bound: u64) -> u64 {
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// Shuffles a slice uniformly (Fisher-Yates).
    pub fn shuffle<T>(&mut self, values: &mut [T]) {
        for last in (1..values.len()).rev() {
            let other = self.below(last as u64 + 1) as usize;
            values.swap(last, other);
        }
    }
}

/// Returns the sizes of the (train, validation, test) parts of `n` interactions.
///
/// Follows RecBole 1.2.1's `Dataset._calcu_split_ids` for the ratios 0.8/0.1/0.1. The
/// validation and test parts get `floor(0.1 * n)` each and training the rest. A part whose
/// exact share is between 0 and 1 takes one interaction from training instead, as long as
/// training keeps more than one.
pub fn split_sizes(n: usize) -> (usize, usize, usize) {
    let share = 0.1 * n as f64;
    let mut valid = share as usize;
    let mut test = share as usize;
    let mut train = n - valid - test;
    for part in [&mut test, &mut valid] {
        if train <= 1 {
            break;
        }
        if share > 0.0 && share < 1.0 {
            *part += 1;
            train -= 1;
        }
    }
    (train, valid, test)
}

/// Each user's items, split into training, validation and test parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Training items per user: the models' only input, and each user's history.
    pub train: Vec<Vec<u32>>,
    /// Validation items per user, for choosing hyperparameters.
    pub valid: Vec<Vec<u32>>,
    /// Test items per user, for the reported numbers.
    pub test: Vec<Vec<u32>>,
}

/// Shuffles each user's items with one generator seeded by `seed` (users in index order,
/// each user's items first sorted by index) and cuts them by [`split_sizes`].
pub fn split_per_user(items_per_user: &[Vec<u32>], seed: u64) -> Split {
    let mut random = SplitMix64::new(seed);
    let mut split = Split { train: Vec::new(), valid: Vec::new(), test: Vec::new() };
    for items in items_per_user {
        let mut items = items.clone();
        items.sort_unstable();
        random.shuffle(&mut items);
        let (train, valid, _) = split_sizes(items.len());
        let test = items.split_off(train + valid);
        let valid = items.split_off(train);
        split.train.push(items);
        split.valid.push(valid);
        split.test.push(test);
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_reference_outputs() {
        // The first outputs of the reference C implementation for seed 0.
        let mut random = SplitMix64::new(0);
        assert_eq!(random.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(random.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(random.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn below_stays_in_range() {
        let mut random = SplitMix64::new(7);
        let mut seen = [0usize; 3];
        for _ in 0..3000 {
            seen[random.below(3) as usize] += 1;
        }
        assert!(seen.iter().all(|&count| count > 800), "{seen:?}");
        assert_eq!(random.below(1), 0);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut values: Vec<u32> = (0..50).collect();
        SplitMix64::new(1).shuffle(&mut values);
        assert_ne!(values, (0..50).collect::<Vec<_>>());
        values.sort_unstable();
        assert_eq!(values, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn split_sizes_follow_recbole_rounding() {
        assert_eq!(split_sizes(20), (16, 2, 2));
        assert_eq!(split_sizes(29), (25, 2, 2));
        assert_eq!(split_sizes(737), (591, 73, 73));
        // Below 10 interactions the shares are under 1, so each part takes one from training.
        assert_eq!(split_sizes(5), (3, 1, 1));
        assert_eq!(split_sizes(2), (1, 0, 1));
        assert_eq!(split_sizes(1), (1, 0, 0));
        assert_eq!(split_sizes(0), (0, 0, 0));
    }

    #[test]
    fn split_is_reproducible_and_disjoint() {
        let items: Vec<Vec<u32>> = vec![(0..20).collect(), (5..35).rev().collect()];
        let first = split_per_user(&items, 42);
        assert_eq!(first, split_per_user(&items, 42));
        assert_ne!(first, split_per_user(&items, 43));

        for (user, user_items) in items.iter().enumerate() {
            let mut all = [first.train[user].clone(), first.valid[user].clone(), first.test[user].clone()].concat();
            all.sort_unstable();
            let mut expected = user_items.clone();
            expected.sort_unstable();
            assert_eq!(all, expected);
        }
        assert_eq!((first.train[1].len(), first.valid[1].len(), first.test[1].len()), (24, 3, 3));
    }
}
