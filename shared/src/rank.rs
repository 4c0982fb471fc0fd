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
}

impl Default for Blend {
    /// Content leads; a co-view pair needs a few clicks to overtake a close content match.
    fn default() -> Self {
        Blend { content: 1.0, co_view: 0.8, personal: 0.5 }
    }
}

impl Blend {
    /// The blended score of a candidate.
    pub fn score(&self, signals: &Signals) -> f64 {
        self.content * signals.content + self.co_view * signals.co_view + self.personal * signals.personal
    }

    /// The signal that contributed most, as a reason code; `content_reason` is used when
    /// content similarity leads (it says which kind of similarity).
    pub fn dominant_reason(&self, signals: &Signals, content_reason: ReasonCode) -> ReasonCode {
        let content = self.content * signals.content;
        let co_view = self.co_view * signals.co_view;
        let personal = self.personal * signals.personal;
        if co_view > content && co_view >= personal {
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
    let mut chosen = Vec::with_capacity(count);
    let mut held_back = Vec::new();
    let mut per_creator: HashMap<K, usize> = HashMap::new();
    let mut per_gallery: HashMap<K, usize> = HashMap::new();

    for item in ranked {
        if chosen.len() == count {
            break;
        }
        let creator_full =
            creator_of(&item).is_some_and(|key| per_creator.get(&key).copied().unwrap_or(0) >= caps.per_creator);
        let gallery_full =
            gallery_of(&item).is_some_and(|key| per_gallery.get(&key).copied().unwrap_or(0) >= caps.per_gallery);
        if creator_full || gallery_full {
            held_back.push(item);
            continue;
        }
        if let Some(key) = creator_of(&item) {
            *per_creator.entry(key).or_default() += 1;
        }
        if let Some(key) = gallery_of(&item) {
            *per_gallery.entry(key).or_default() += 1;
        }
        chosen.push(item);
    }

    let missing = count - chosen.len();
    chosen.extend(held_back.into_iter().take(missing));
    chosen
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
    fn blend_names_the_dominant_signal() {
        let blend = Blend::default();
        let co_viewed = Signals { content: 0.2, co_view: 1.0, personal: 0.0 };
        assert_eq!(blend.dominant_reason(&co_viewed, ReasonCode::SimilarSubjects), ReasonCode::ViewedTogether);
        let similar = Signals { content: 0.9, co_view: 0.1, personal: 0.0 };
        assert_eq!(blend.dominant_reason(&similar, ReasonCode::SameGallery), ReasonCode::SameGallery);
    }
}
