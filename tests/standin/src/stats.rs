//! Request counts, so tests can check how many calls a client made.
//!
//! Counts are kept per exact path (for prefix queries), per route (method plus the path with
//! ids replaced by `{id}`) and per response status. Test-control requests are not counted.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use crate::ids::{self, IdKind};

#[derive(Debug, Default)]
struct Counts {
    total: u64,
    by_path: HashMap<String, u64>,
    by_route: BTreeMap<String, u64>,
    by_status: BTreeMap<u16, u64>,
}

/// The counters.
#[derive(Debug, Default)]
pub struct Stats {
    counts: Mutex<Counts>,
}

/// A snapshot, as `GET /__standin/stats` returns it.
#[derive(Debug, Clone, Serialize)]
pub struct StatsSnapshot {
    pub total: u64,
    pub by_route: BTreeMap<String, u64>,
    pub by_status: BTreeMap<u16, u64>,
    /// Requests whose path starts with the `prefix` query parameter, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<PrefixCount>,
}

/// The count for one path prefix.
#[derive(Debug, Clone, Serialize)]
pub struct PrefixCount {
    pub prefix: String,
    pub count: u64,
}

impl Stats {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Counters are plain increments, so a poisoned lock still holds usable numbers.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one request after its response is ready.
    pub fn record(&self, method: &str, path: &str, status: u16) {
        let route = format!("{method} {}", route_template(path));
        let mut counts = self.lock();
        counts.total += 1;
        *counts.by_path.entry(path.to_owned()).or_default() += 1;
        *counts.by_route.entry(route).or_default() += 1;
        *counts.by_status.entry(status).or_default() += 1;
    }

    /// Returns the counts, with the count under `prefix` when one is given.
    pub fn snapshot(&self, prefix: Option<&str>) -> StatsSnapshot {
        let counts = self.lock();
        let prefix = prefix.map(|prefix| PrefixCount {
            prefix: prefix.to_owned(),
            count: counts.by_path.iter().filter(|(path, _)| path.starts_with(prefix)).map(|(_, count)| count).sum(),
        });
        StatsSnapshot {
            total: counts.total,
            by_route: counts.by_route.clone(),
            by_status: counts.by_status.clone(),
            prefix,
        }
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        *self.lock() = Counts::default();
    }
}

/// Replaces PhotoShelter ids in a path with `{id}` and image CDN size segments with `{size}`,
/// so `/psapi/v4.0/media/I000000000A00001/iptc` counts as `/psapi/v4.0/media/{id}/iptc`.
pub fn route_template(path: &str) -> String {
    let is_cdn = path.starts_with("/img-get2/");
    path.split('/')
        .enumerate()
        .map(|(position, segment)| {
            let is_id = [IdKind::Media, IdKind::Gallery, IdKind::Collection, IdKind::Organization]
                .iter()
                .any(|kind| ids::is_valid(*kind, segment));
            if is_id || (is_cdn && position == 2) {
                "{id}"
            } else if is_cdn && position == 3 {
                "{size}"
            } else if is_cdn && position >= 4 {
                "{file}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_template_replaces_ids() {
        assert_eq!(route_template("/psapi/v4.0/media/I000000000A00001/iptc"), "/psapi/v4.0/media/{id}/iptc");
        assert_eq!(route_template("/img-get2/I000000000A00001/fit=640"), "/img-get2/{id}/{size}");
        assert_eq!(route_template("/psapi/v4.0/galleries"), "/psapi/v4.0/galleries");
    }

    #[test]
    fn stats_count_by_prefix() {
        let stats = Stats::default();
        stats.record("GET", "/psapi/v4.0/media", 200);
        stats.record("GET", "/psapi/v4.0/media/I000000000A00001", 200);
        stats.record("GET", "/psapi/v4.0/galleries", 401);

        let snapshot = stats.snapshot(Some("/psapi/v4.0/media"));
        assert_eq!(snapshot.total, 3);
        assert_eq!(snapshot.prefix.map(|prefix| prefix.count), Some(2));
        assert_eq!(snapshot.by_status.get(&401), Some(&1));
    }
}
