//! Types and logic shared by the loci edge worker and the loci widget.
//!
//! This crate is plain Rust with no browser or Workers dependency, so everything in it runs
//! natively under `cargo test` and compiles unchanged to `wasm32-unknown-unknown` for both
//! the worker and the widget. It holds:
//!
//! - [`ids`]: PhotoShelter identifiers, validated against PhotoShelter's id formats;
//! - [`api`]: the HTTP wire format of the edge API (requests, responses, events, problems),
//!   defined once so that the worker and the widget cannot disagree;
//! - [`rights`]: usage rights normalised from PhotoShelter metadata and the fail-closed
//!   policy that decides, at serve time, whether an asset may be shown;
//! - [`rank`]: score blending and diversification of recommendation candidates;
//! - [`strategy`]: per-placement signal weights, cold-start chains and diversity caps, parsed
//!   from the worker's configuration;
//! - [`engine`]: an in-memory recommender over dense item indices (content and collaborative
//!   neighbours, popularity) for precomputed neighbour lists and offline evaluation;
//! - [`time`]: the small set of UTC date conversions the rights policy needs.
//!
//! ```
//! use loci_shared::api::ContextRef;
//!
//! let context: ContextRef = "asset:I000000000A00001".parse()?;
//! assert_eq!(context.to_string(), "asset:I000000000A00001");
//! # Ok::<(), loci_shared::api::QueryError>(())
//! ```
#![deny(missing_docs)]

pub mod api;
pub mod engine;
pub mod ids;
pub mod rank;
pub mod rights;
pub mod strategy;
pub mod time;
