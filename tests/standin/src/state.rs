//! The state shared by every request handler.

use std::sync::Arc;

use crate::auth::{Credentials, Sessions};
use crate::faults::Faults;
use crate::library::Library;
use crate::stats::Stats;

/// Cheap to clone: every part sits behind an `Arc`.
#[derive(Clone)]
pub struct AppState {
    pub library: Arc<Library>,
    pub credentials: Arc<Credentials>,
    pub sessions: Arc<Sessions>,
    pub faults: Arc<Faults>,
    pub stats: Arc<Stats>,
}

impl AppState {
    /// Creates the state for a library, with no sessions, faults or counted requests.
    pub fn new(library: Library, credentials: Credentials) -> AppState {
        AppState {
            library: Arc::new(library),
            credentials: Arc::new(credentials),
            sessions: Arc::new(Sessions::default()),
            faults: Arc::new(Faults::default()),
            stats: Arc::new(Stats::default()),
        }
    }
}
