//! Injected faults: the next N requests under a path prefix fail with a chosen status, are
//! delayed, or both. A rule can first let a number of matching requests pass (`after`), so a
//! test can break a sync part-way through.
//!
//! Rules apply in the order they were added. Every matching request counts toward the `after`
//! of each rule that is still letting requests pass. The request then consumes one use of the
//! first matching rule that is no longer letting requests pass.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// Largest accepted delay, so a typo cannot hang a test run.
pub const MAX_DELAY_MS: u64 = 60_000;

/// A fault as the test controls receive it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Request paths that start with this prefix match, such as `/psapi/v4.0/media`.
    pub path_prefix: String,
    /// HTTP status of the injected failure (400 to 599). Without one the fault only delays.
    #[serde(default)]
    pub status: Option<u16>,
    /// Number of matching requests affected; defaults to 1.
    #[serde(default)]
    pub count: Option<u32>,
    /// Seconds sent in a `Retry-After` header with the failure.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Delay before the response, in milliseconds.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Number of matching requests to let pass before the rule applies; defaults to 0.
    #[serde(default)]
    pub after: Option<u32>,
}

/// Why a fault was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaultError {
    #[error("path_prefix must start with '/', got {0:?}")]
    InvalidPrefix(String),
    #[error("status must be between 400 and 599, got {0}")]
    InvalidStatus(u16),
    #[error("count must be at least 1")]
    ZeroCount,
    #[error("delay_ms must be at most {MAX_DELAY_MS}, got {0}")]
    DelayTooLong(u64),
    #[error("a fault needs a status, a delay_ms or both")]
    NoEffect,
}

/// An active rule, as listed by `GET /__standin/faults`.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveFault {
    pub id: u64,
    pub path_prefix: String,
    pub status: Option<u16>,
    /// Uses left.
    pub remaining: u32,
    pub retry_after: Option<u64>,
    pub delay_ms: Option<u64>,
    /// Matching requests still to let pass before the rule applies.
    pub after: u32,
}

/// What to do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultAction {
    pub delay: Option<Duration>,
    pub status: Option<StatusCode>,
    pub retry_after: Option<u64>,
}

#[derive(Debug, Default)]
struct FaultTable {
    rules: Vec<ActiveFault>,
    next_id: u64,
}

/// The active rules.
#[derive(Debug, Default)]
pub struct Faults {
    table: Mutex<FaultTable>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultTable> {
        // Each update finishes before the lock is released, so a poisoned table is consistent.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Validates and adds a rule.
    pub fn add(&self, spec: FaultSpec) -> Result<ActiveFault, FaultError> {
        if !spec.path_prefix.starts_with('/') {
            return Err(FaultError::InvalidPrefix(spec.path_prefix));
        }
        if let Some(status) = spec.status {
            if !(400..=599).contains(&status) {
                return Err(FaultError::InvalidStatus(status));
            }
        }
        let count = spec.count.unwrap_or(1);
        if count == 0 {
            return Err(FaultError::ZeroCount);
        }
        if let Some(delay) = spec.delay_ms.filter(|delay| *delay > MAX_DELAY_MS) {
            return Err(FaultError::DelayTooLong(delay));
        }
        if spec.status.is_none() && spec.delay_ms.is_none() {
            return Err(FaultError::NoEffect);
        }

        let mut table = self.lock();
        table.next_id += 1;
        let rule = ActiveFault {
            id: table.next_id,
            path_prefix: spec.path_prefix,
            status: spec.status,
            remaining: count,
            retry_after: spec.retry_after,
            delay_ms: spec.delay_ms,
            after: spec.after.unwrap_or(0),
        };
        table.rules.push(rule.clone());
        Ok(rule)
    }

    /// Removes every rule and returns how many there were.
    pub fn clear(&self) -> usize {
        let mut table = self.lock();
        let removed = table.rules.len();
        table.rules.clear();
        removed
    }

    /// Lists the rules that still have uses left.
    pub fn list(&self) -> Vec<ActiveFault> {
        self.lock().rules.clone()
    }

    /// Counts the request toward every waiting rule matching `path`. Then consumes one use of
    /// the first matching rule that is not waiting, and drops the rule when it runs out.
    pub fn take(&self, path: &str) -> Option<FaultAction> {
        let mut table = self.lock();
        let mut applied = None;
        for (position, rule) in table.rules.iter_mut().enumerate() {
            if !path.starts_with(&rule.path_prefix) {
                continue;
            }
            if rule.after > 0 {
                rule.after -= 1;
            } else if applied.is_none() {
                applied = Some(position);
            }
        }
        let position = applied?;

        let rule = &mut table.rules[position];
        rule.remaining -= 1;
        let action = FaultAction {
            delay: rule.delay_ms.map(Duration::from_millis),
            status: rule.status.and_then(|status| StatusCode::from_u16(status).ok()),
            retry_after: rule.retry_after,
        };
        if rule.remaining == 0 {
            table.rules.remove(position);
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).expect("valid fault spec")
    }

    #[test]
    fn fault_applies_count_times() {
        let faults = Faults::default();
        faults.add(spec(r#"{"path_prefix":"/psapi/v4.0/media","status":503,"count":2}"#)).expect("valid rule");

        assert_eq!(faults.take("/psapi/v4.0/galleries"), None);
        let first = faults.take("/psapi/v4.0/media/I000000000A00001");
        assert_eq!(first.and_then(|action| action.status), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert!(faults.take("/psapi/v4.0/media").is_some());
        assert_eq!(faults.take("/psapi/v4.0/media"), None);
    }

    #[test]
    fn fault_after_lets_requests_pass_first() {
        let faults = Faults::default();
        faults.add(spec(r#"{"path_prefix":"/psapi","status":500,"count":2,"after":2}"#)).expect("valid rule");
        faults.add(spec(r#"{"path_prefix":"/psapi/v4.0/media","status":429}"#)).expect("valid rule");

        let first = faults.take("/psapi/v4.0/media").and_then(|action| action.status);
        assert_eq!(first, Some(StatusCode::TOO_MANY_REQUESTS), "the waiting rule lets the next rule apply");
        assert_eq!(faults.take("/psapi/v4.0/galleries"), None);
        for attempt in 1..=2 {
            let status = faults.take("/psapi/v4.0/galleries").and_then(|action| action.status);
            assert_eq!(status, Some(StatusCode::INTERNAL_SERVER_ERROR), "attempt {attempt}");
        }
        assert_eq!(faults.take("/psapi/v4.0/galleries"), None);
    }

    #[test]
    fn fault_rejects_invalid_specs() {
        let faults = Faults::default();
        assert_eq!(
            faults.add(spec(r#"{"path_prefix":"media","status":500}"#)).err(),
            Some(FaultError::InvalidPrefix("media".to_owned()))
        );
        assert_eq!(faults.add(spec(r#"{"path_prefix":"/","status":200}"#)).err(), Some(FaultError::InvalidStatus(200)));
        assert_eq!(faults.add(spec(r#"{"path_prefix":"/"}"#)).err(), Some(FaultError::NoEffect));
        assert_eq!(
            faults.add(spec(r#"{"path_prefix":"/","status":500,"count":0}"#)).err(),
            Some(FaultError::ZeroCount)
        );
    }
}
