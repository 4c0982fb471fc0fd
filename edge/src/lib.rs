//! The loci edge worker: a Cloudflare Worker that caches a PhotoShelter library, records
//! widget events, and serves rights-safe recommendations.
//!
//! The Workers entry points live in [`entry`] (wasm only) and stay thin: they turn a Workers
//! request into an [`http::ApiRequest`], call [`router::handle`], and turn the answer back.
//! Everything else is plain Rust over two seams, [`db::Database`] (D1, or SQLite in native
//! tests) and [`outbound::Transport`] (Workers `fetch`, or a blocking client natively),
//! so the same handlers, sync and recommender run under `cargo test`.
//!
//! | module | concern |
//! | --- | --- |
//! | [`router`] | the HTTP API: routing, validation, handlers |
//! | [`recommend`] | the embedded recommender and the serve-time rights filter |
//! | [`placements`] | the ranking strategy of each placement |
//! | [`neighbours`] | precomputed neighbour lists of every asset |
//! | [`remote`] | the client of a customer's own Loci service |
//! | [`events`] | event batches and co-view counts |
//! | [`rights_admin`] | rights explanations and licence alerts |
//! | [`analytics`] | aggregates, segments, trends, experiments and editorial suggestions |
//! | [`auth`] | API keys and their roles |
//! | [`export`] | JSON, CSV and NDJSON responses |
//! | [`sync`] | the resumable PhotoShelter sync into catalog generations |
//! | [`photoshelter`] | the PhotoShelter API v4 client and resource parsing |
//! | [`catalog`] | reads from the active catalog generation |
//! | [`config`] | configuration from worker variables and secrets |
//! | [`error`] | API errors and their JSON problem responses |

pub mod analytics;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod db;
#[cfg(target_arch = "wasm32")]
mod entry;
pub mod error;
pub mod events;
pub mod export;
pub mod http;
pub mod log;
pub mod neighbours;
pub mod outbound;
pub mod photoshelter;
pub mod placements;
pub mod recommend;
pub mod remote;
pub mod rights_admin;
pub mod router;
pub mod sync;
