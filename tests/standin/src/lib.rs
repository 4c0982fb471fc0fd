//! A local stand-in for the PhotoShelter API v4 subset that the loci connector uses.
//!
//! It serves a library built from the Tate collection's artwork metadata: artworks
//! become images, catalogue groups, artists and movements become galleries, classifications
//! become collections, and rights come from Tate's copyright and clearance fields. Test
//! controls change the library between two syncs, expire tokens and inject faults. The README
//! beside this crate documents every mapping rule, every invented value and every control.

pub mod api;
pub mod auth;
pub mod cdn;
pub mod config;
pub mod control;
pub mod error;
pub mod faults;
pub mod hash;
pub mod ids;
pub mod library;
pub mod mapping;
pub mod oauth;
pub mod paging;
pub mod query;
pub mod resources;
pub mod rights;
pub mod server;
pub mod state;
pub mod stats;
pub mod tate;
pub mod timefmt;

use std::path::Path;

use crate::library::{BuildError, Library};
use crate::tate::LoadError;

/// Failure to prepare the library at start-up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("cannot build the library: {0}")]
    Build(#[from] BuildError),
}

/// Reads the artwork file and builds the library for `org_id`.
pub fn load_library(path: &Path, limit: Option<usize>, org_id: &str) -> Result<Library, StartError> {
    let artworks = tate::load_artworks(path, limit)?;
    Ok(Library::build(&artworks, org_id)?)
}
