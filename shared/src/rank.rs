//! Blending of recommendation signals and diversification of ranked lists.
//!
//! The engine scores each candidate on several signals, each normalised to `0.0..=1.0`
//! within one request: content similarity to the context, co-views from recorded clicks, and
//! similarity to what the visitor opened recently. [`Blend`] weighs them into one score and
//! names the dominant signal as the reason; [`diversify`] then caps how many results one
//! creator or one gallery may take.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::api::ReasonCode;

/// One candidate's signal scores, each in `0.0..=1.0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Content similarity to the context (keywords, subjects, creator, gallery, collection).
    pub content: f64,
    /// Co-views: how often visitors opened it from the context, relative to the best.
    pub co_view: f64,
    /// Similarity to the visitor's recent interactions.
    pub personal: f64,
    /// Clicks by everyone in a recent window, relative to the most clicked asset.
    #[serde(default)]
    pub popularity: f64,
}

/// Weights of each signal for one placement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Blend {
    /// Weight of [`Signals::content`].
    pub content: f64,
    /// Weight of [`Signals::co_view`].
    pub co_view: f64,
    /// Weight of [`Signals::personal`].
    pub personal: f64,
    /// Weight of [`Signals::popularity`].
    #[serde(default)]
    pub popularity: f64,
}

impl Default for Blend {
    /// Content leads; a co-view pair needs a few clicks to overtake a close content match.
    /// Popularity is off, so lists stay specific to their context.
    fn default() -> Self {
        Blend { content: 1.0, co_view: 0.8, personal: 0.5, popularity: 0.0 }
    }
}

impl Blend {
    /// The blended score of a candidate.
    pub fn score(&self, signals: &Signals) -> f64 {
        self.content * signals.content
            + self.co_view * signals.co_view
            + self.personal * signals.personal
            + self.popularity * signals.popularity
    }

    /// The signal that contributed most, as a reason code; `content_reason` is used when
    /// content similarity leads (it says which kind of similarity).
    pub fn dominant_reason(&self, signals: &Signals, content_reason: ReasonCode) -> ReasonCode {
        let content = self.content * signals.content;
        let co_view = self.co_view * signals.co_view;
        let personal = self.personal * signals.personal;
        let popularity = self.popularity * signals.popularity;
        if popularity > content && popularity > co_view && popularity > personal {
            ReasonCode::Popular
        } else if co_view > content && co_view >= personal {
            ReasonCode::ViewedTogether
        } else if personal > content && personal > co_view {
            ReasonCode::ForYou
        } else {
            content_reason
        }
    }
}

/// Caps per creator and per gallery in one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiversityCaps {
    /// Most items by one creator.
    pub per_creator: usize,
    /// Most items whose first gallery is the same.
    pub per_gallery: usize,
}

impl Default for DiversityCaps {
    fn default() -> Self {
        DiversityCaps { per_creator: 3, per_gallery: 3 }
    }
}

/// Takes up to `count` items from a ranked list, keeping at most the capped number per
/// creator and per gallery.
///
/// Items over a cap are held back and used, in rank order, only when the capped pass cannot
/// fill the list, so a catalog dominated by one creator still yields a full list.
pub fn diversify<T, K: Eq + Hash>(
    ranked: impl IntoIterator<Item = T>,
    count: usize,
    caps: DiversityCaps,
    creator_of: impl Fn(&T) -> Option<K>,
    gallery_of: impl Fn(&T) -> Option<K>,
) -> Vec<T> {
    let mut diversifier = Diversifier::new(caps);
    for item in ranked {
        if diversifier.passed_count() == count {
            break;
        }
        let (creator, gallery) = (creator_of(&item), gallery_of(&item));
        diversifier.push(item, creator, gallery);
    }
    let Diversifier { mut passed, held_back, .. } = diversifier;
    let missing = count - passed.len();
    passed.extend(held_back.into_iter().take(missing));
    passed
}

/// The capped pass of [`diversify`], fed one item at a time so a caller can stop reading
/// candidates once enough have passed.
///
/// The order is prefix-stable: the items that passed after any prefix of a ranked list are
/// the first items that pass for the whole list. [`Diversifier::finish`] of a prefix
/// therefore agrees with that of the whole list on its first [`Diversifier::passed_count`]
/// items, which is what stable pagination needs.
#[derive(Debug, Clone)]
pub struct Diversifier<T, K> {
    caps: DiversityCaps,
    passed: Vec<T>,
    held_back: Vec<T>,
    per_creator: HashMap<K, usize>,
    per_gallery: HashMap<K, usize>,
}

impl<T, K: Eq + Hash> Diversifier<T, K> {
    /// Creates an empty diversifier with the given caps.
    pub fn new(caps: DiversityCaps) -> Self {
        Diversifier {
            caps,
            passed: Vec::new(),
            held_back: Vec::new(),
            per_creator: HashMap::new(),
            per_gallery: HashMap::new(),
        }
    }

    /// Offers the next item in rank order, with its creator and first gallery. It passes
    /// unless its creator or gallery already reached its cap, else it is held back.
    pub fn push(&mut self, item: T, creator: Option<K>, gallery: Option<K>) {
        let creator_full = creator
            .as_ref()
            .is_some_and(|key| self.per_creator.get(key).copied().unwrap_or(0) >= self.caps.per_creator);
        let gallery_full = gallery
            .as_ref()
            .is_some_and(|key| self.per_gallery.get(key).copied().unwrap_or(0) >= self.caps.per_gallery);
        if creator_full || gallery_full {
            self.held_back.push(item);
            return;
        }
        if let Some(key) = creator {
            *self.per_creator.entry(key).or_default() += 1;
        }
        if let Some(key) = gallery {
            *self.per_gallery.entry(key).or_default() += 1;
        }
        self.passed.push(item);
    }

    /// Number of items that passed the caps so far.
    pub fn passed_count(&self) -> usize {
        self.passed.len()
    }

    /// Returns the items that passed, in rank order, followed by the held-back items in rank
    /// order.
    pub fn finish(self) -> Vec<T> {
        let mut all = self.passed;
        all.extend(self.held_back);
        all
    }

    /// Returns only the items that passed, in rank order.
    pub fn into_passed(self) -> Vec<T> {
        self.passed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diversify_caps_creators_then_fills_from_held_back() {
        let ranked = vec![("a", 1), ("a", 2), ("a", 3), ("b", 4), ("a", 5)];
        let caps = DiversityCaps { per_creator: 2, per_gallery: 10 };
        let chosen = diversify(ranked.clone(), 3, caps, |item| Some(item.0), |_| None::<&str>);
        assert_eq!(chosen, vec![("a", 1), ("a", 2), ("b", 4)]);

        let filled = diversify(ranked, 5, caps, |item| Some(item.0), |_| None::<&str>);
        assert_eq!(filled.len(), 5);
        assert_eq!(filled[3], ("a", 3));
    }

    #[test]
    fn diversifier_prefix_agrees_with_whole_list() {
        let ranked = [("a", 1), ("a", 2), ("a", 3), ("b", 4), ("a", 5), ("c", 6), ("b", 7), ("b", 8), ("d", 9)];
        let caps = DiversityCaps { per_creator: 2, per_gallery: 10 };
        let run = |items: &[(&'static str, i32)]| {
            let mut diversifier = Diversifier::new(caps);
            for item in items {
                diversifier.push(*item, Some(item.0), None::<&str>);
            }
            let passed = diversifier.passed_count();
            (diversifier.finish(), passed)
        };
        let (whole, _) = run(&ranked);

        for end in 0..=ranked.len() {
            let (prefix, passed) = run(&ranked[..end]);
            assert_eq!(prefix[..passed], whole[..passed], "prefix of {end} items");
        }
        assert_eq!(whole.len(), ranked.len());
    }

    #[test]
    fn blend_names_the_dominant_signal() {
        let blend = Blend::default();
        let co_viewed = Signals { content: 0.2, co_view: 1.0, ..Signals::default() };
        assert_eq!(blend.dominant_reason(&co_viewed, ReasonCode::SimilarSubjects), ReasonCode::ViewedTogether);
        let similar = Signals { content: 0.9, co_view: 0.1, ..Signals::default() };
        assert_eq!(blend.dominant_reason(&similar, ReasonCode::SameGallery), ReasonCode::SameGallery);
    }
}
