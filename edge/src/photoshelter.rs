//! The PhotoShelter API v4 connector: an HTTP client and the parsing of its resources.
//!
//! - [`client`]: authentication, the JSON envelope, paging, retries and rate limits;
//! - [`resources`]: turning PhotoShelter's JSON into catalog records, skipping bad ones with a
//!   reason.

pub mod client;
pub mod resources;

pub use crate::outbound::{OutboundRequest, OutboundResponse, Transport, TransportError};
pub use client::{Client, PhotoShelterError};
