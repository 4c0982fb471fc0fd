//! The state shared by every request handler.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::auth::{Credentials, Sessions};
use crate::faults::Faults;
use crate::library::Library;
use crate::oauth::{OAuth, OAuthSettings};
use crate::stats::Stats;

/// The library behind a read-write lock, so `POST /__standin/mutate` can change it between two
/// syncs while requests read it.
///
/// Readers do not block each other. A mutation takes the write lock for the time it needs
/// (milliseconds for a few changes, a full index rebuild when media are deleted).
#[derive(Debug)]
pub struct SharedLibrary {
    library: RwLock<Library>,
}

impl SharedLibrary {
    pub fn new(library: Library) -> SharedLibrary {
        SharedLibrary { library: RwLock::new(library) }
    }

    /// Locks the library for reading.
    pub fn read(&self) -> RwLockReadGuard<'_, Library> {
        // A mutation checks every input before it changes anything, so a panic while writing
        // would be a bug in a step that cannot fail on input. Serving the library after such a
        // bug is still more useful to a test than failing every request.
        self.library.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the library for writing.
    pub fn write(&self) -> RwLockWriteGuard<'_, Library> {
        self.library.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Cheap to clone: every part sits behind an `Arc`.
#[derive(Clone)]
pub struct AppState {
    pub library: Arc<SharedLibrary>,
    pub credentials: Arc<Credentials>,
    pub sessions: Arc<Sessions>,
    pub oauth: Arc<OAuth>,
    pub faults: Arc<Faults>,
    pub stats: Arc<Stats>,
}

impl AppState {
    /// Creates the state for a library, with the default OAuth client and no sessions, faults
    /// or counted requests.
    pub fn new(library: Library, credentials: Credentials) -> AppState {
        AppState::with_oauth(library, credentials, OAuthSettings::default())
    }

    /// Creates the state for a library with the given OAuth client and seed refresh token.
    pub fn with_oauth(library: Library, credentials: Credentials, oauth: OAuthSettings) -> AppState {
        AppState {
            library: Arc::new(SharedLibrary::new(library)),
            credentials: Arc::new(credentials),
            sessions: Arc::new(Sessions::default()),
            oauth: Arc::new(OAuth::new(oauth)),
            faults: Arc::new(Faults::default()),
            stats: Arc::new(Stats::default()),
        }
    }
}
