//! The PhotoShelter API v4 connector: an HTTP client and the parsing of its resources.
//!
//! - [`transport`]: the outbound HTTP seam (Workers `fetch` in production, a blocking client
//!   in native tests), plus sleeping and randomness for retries;
//! - [`client`]: authentication, the JSON envelope, paging, retries and rate limits;
//! - [`resources`]: turning PhotoShelter's JSON into catalog records, skipping bad ones with a
//!   reason.

pub mod client;
pub mod resources;
pub mod transport;

pub use client::{Client, PhotoShelterError};
pub use transport::{OutboundRequest, OutboundResponse, Transport, TransportError};
