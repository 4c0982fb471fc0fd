//! The evaluated models, all fitted on the training split, and the choice of their
//! hyperparameters on the validation split.
//!
//! Every model is a [`loci_shared::engine::Engine`]: popularity is an engine without
//! neighbour lists, item-kNN one with collaborative neighbours only, and the blend adds
//! content neighbours and a popularity prior.

use std::thread;

use loci_shared::engine::{
    BlendWeights, CoInteraction, CoInteractionConfig, ContentIndex, Engine, Neighbours, Popularity, Similarity,
};

use crate::error::EvalError;
use crate::metrics::{Metrics, Summary};
use crate::split::Split;

/// Length of every evaluated list (the k of NDCG@k and the other metrics).
pub const CUTOFF: usize = 10;

/// Neighbours per item tried for the collaborative models.
pub const NEIGHBOURS_GRID: [usize; 6] = [10, 20, 50, 100, 200, 400];
/// RP3beta's (alpha, beta) pairs tried; beta of 0.75 and above ranked worse on validation,
/// because it promotes items that only a handful of users chose.
pub const RP3BETA_GRID: [(f32, f32); 9] =
    [(0.5, 0.25), (0.5, 0.5), (0.5, 0.6), (0.75, 0.25), (0.75, 0.5), (0.75, 0.6), (1.0, 0.25), (1.0, 0.5), (1.0, 0.6)];
/// Content neighbours per item tried for the blend.
pub const CONTENT_K_GRID: [usize; 4] = [20, 50, 100, 200];
/// Content weights tried for the blend, relative to a collaborative weight of 1.
pub const CONTENT_WEIGHT_GRID: [f32; 6] = [0.0, 0.02, 0.05, 0.1, 0.2, 0.4];
/// Popularity weights tried for the blend, relative to a collaborative weight of 1.
pub const POPULARITY_WEIGHT_GRID: [f32; 6] = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5];

/// Which held-out part a run scores against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Targets are the validation items; training items are excluded from the ranking.
    Validation,
    /// Targets are the test items; training and validation items are excluded, as RecBole
    /// excludes every item a user interacted with in earlier parts.
    Test,
}

/// Scores an engine: each user's history is their training items, each with weight 1.
///
/// Users are ranked on all available cores, then scored in user order, so results do not
/// depend on the number of cores.
pub fn evaluate(engine: &Engine, split: &Split, phase: Phase) -> Summary {
    let users = split.train.len();
    let threads = thread::available_parallelism().map_or(1, usize::from).min(users.max(1));
    let chunk = users.div_ceil(threads.max(1)).max(1);

    let ranked: Vec<Vec<u32>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..users)
            .step_by(chunk)
            .map(|start| {
                let end = (start + chunk).min(users);
                scope.spawn(move || rank_users(engine, split, phase, start..end))
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });

    let mut metrics = Metrics::new(CUTOFF, engine.item_count());
    let mut is_target = vec![false; engine.item_count()];
    for (user, list) in ranked.iter().enumerate() {
        let targets = match phase {
            Phase::Validation => &split.valid[user],
            Phase::Test => &split.test[user],
        };
        for &item in targets {
            is_target[item as usize] = true;
        }
        metrics.add(list, |item| is_target[item as usize], targets.len());
        for &item in targets {
            is_target[item as usize] = false;
        }
    }
    metrics.summary()
}

fn rank_users(engine: &Engine, split: &Split, phase: Phase, users: std::ops::Range<usize>) -> Vec<Vec<u32>> {
    let mut scratch = engine.scratch();
    let mut history = Vec::new();
    users
        .map(|user| {
            history.clear();
            history.extend(split.train[user].iter().map(|&item| (item, 1.0)));
            let exclude: &[u32] = match phase {
                Phase::Validation => &[],
                Phase::Test => &split.valid[user],
            };
            engine.rank_history(&mut scratch, &history, CUTOFF, exclude).iter().map(|ranked| ranked.item).collect()
        })
        .collect()
}

/// A model with its chosen hyperparameters, its validation scores and a description.
pub struct Tuned {
    /// The fitted engine.
    pub engine: Engine,
    /// Validation scores of the chosen configuration.
    pub validation: Summary,
    /// The chosen hyperparameters, for the report.
    pub description: String,
}

/// Builds the popularity model (the most interacted training items), which has nothing to tune.
pub fn popularity(popularity: &Popularity, split: &Split) -> Result<Tuned, EvalError> {
    let weights = BlendWeights { content: 0.0, collaborative: 0.0, popularity: 1.0 };
    let engine = Engine::new(popularity.clone(), weights)?;
    let validation = evaluate(&engine, split, Phase::Validation);
    Ok(Tuned { engine, validation, description: "training interactions per item".to_owned() })
}

/// A collaborative similarity with its chosen neighbour count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Collaborative {
    /// The similarity measure.
    pub similarity: Similarity,
    /// Neighbours per item.
    pub neighbours: usize,
}

impl Collaborative {
    fn describe(&self) -> String {
        match self.similarity {
            Similarity::Cosine { shrink } if shrink > 0.0 => format!("cosine, shrink={shrink}, k={}", self.neighbours),
            Similarity::Cosine { .. } => format!("cosine, k={}", self.neighbours),
            Similarity::Rp3Beta { alpha, beta } => format!("RP3beta alpha={alpha} beta={beta}, k={}", self.neighbours),
        }
    }
}

/// Tunes a model of collaborative neighbours only: tries each of `similarities` with each k
/// of [`NEIGHBOURS_GRID`] and keeps the best by validation NDCG.
pub fn collaborative(
    matrix: &CoInteraction,
    popularity: &Popularity,
    split: &Split,
    similarities: &[Similarity],
) -> Result<(Tuned, Collaborative), EvalError> {
    let widest = NEIGHBOURS_GRID.iter().copied().max().unwrap_or(CUTOFF);
    let weights = BlendWeights { content: 0.0, collaborative: 1.0, popularity: 0.0 };

    let mut best: Option<(Tuned, Collaborative)> = None;
    for &similarity in similarities {
        let all = matrix.neighbours(&CoInteractionConfig { neighbours: widest, similarity })?;
        for neighbours in NEIGHBOURS_GRID {
            let choice = Collaborative { similarity, neighbours };
            let engine = Engine::new(popularity.clone(), weights)?.with_collaborative(all.truncated(neighbours))?;
            let validation = evaluate(&engine, split, Phase::Validation);
            if best.as_ref().is_none_or(|(tuned, _)| validation.ndcg > tuned.validation.ndcg) {
                best = Some((Tuned { engine, validation, description: choice.describe() }, choice));
            }
        }
    }
    Ok(best.expect("the similarity list and NEIGHBOURS_GRID are non-empty"))
}

/// Tunes the engine's blend of the given collaborative neighbours, content neighbours and a
/// popularity prior: content k and both weights are chosen by validation NDCG.
pub fn blend(
    matrix: &CoInteraction,
    popularity: &Popularity,
    content: &ContentIndex,
    collaborative: Collaborative,
    split: &Split,
) -> Result<Tuned, EvalError> {
    let config = CoInteractionConfig { neighbours: collaborative.neighbours, similarity: collaborative.similarity };
    let collaborative_neighbours = matrix.neighbours(&config)?;
    let widest = CONTENT_K_GRID.iter().copied().max().unwrap_or(CUTOFF);
    let all_content = content.neighbours(widest);

    let mut best: Option<Tuned> = None;
    for content_k in CONTENT_K_GRID {
        let content_neighbours: Neighbours = all_content.truncated(content_k);
        let mut engine = Engine::new(popularity.clone(), BlendWeights::default())?
            .with_collaborative(collaborative_neighbours.clone())?
            .with_content(content_neighbours)?;
        for content_weight in CONTENT_WEIGHT_GRID {
            for popularity_weight in POPULARITY_WEIGHT_GRID {
                let weights =
                    BlendWeights { content: content_weight, collaborative: 1.0, popularity: popularity_weight };
                engine.set_weights(weights)?;
                let validation = evaluate(&engine, split, Phase::Validation);
                if best.as_ref().is_none_or(|tuned| validation.ndcg > tuned.validation.ndcg) {
                    let description = format!(
                        "{} + content k={content_k} w={content_weight} + popularity w={popularity_weight}",
                        collaborative.describe()
                    );
                    best = Some(Tuned { engine: engine.clone(), validation, description });
                }
            }
        }
    }
    Ok(best.expect("the blend grids are non-empty constants"))
}
