//! API keys and the two roles they grant.
//!
//! Keys come from worker secrets: `ADMIN_KEY` grants [`Role::Admin`], and each key in the
//! comma-separated `READ_KEYS` grants [`Role::ReadOnly`]. Reads (analytics, exports, rights
//! explanations) accept either role; anything that changes state (syncs, aggregation runs)
//! needs an admin key.

use crate::config::Config;
use crate::error::ApiError;
use crate::http::ApiRequest;

/// The permission level a key grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read analytics, exports and admin views.
    ReadOnly,
    /// Everything, including starting syncs and aggregation runs.
    Admin,
}

/// Compares two strings in time that depends only on their lengths.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Returns the key in `Authorization: Bearer <key>`, or an empty string. The scheme name is
/// case-insensitive (RFC 7235).
fn bearer_key(request: &ApiRequest) -> &str {
    request
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, key)| key.trim())
}

/// Returns the role the request's key grants. Every configured key is compared, so the time taken
/// does not reveal which key, if any, came close.
fn role_of(config: &Config, given: &str) -> Option<Role> {
    let mut role = None;
    if let Some(admin) = config.admin_key.as_deref() {
        if constant_time_eq(given, admin) {
            role = Some(Role::Admin);
        }
    }
    for key in &config.read_keys {
        if constant_time_eq(given, key) && role.is_none() {
            role = Some(Role::ReadOnly);
        }
    }
    role
}

/// Checks that the request carries a key with at least the `needed` role.
///
/// No key configured at all is an operator problem (503). A missing or wrong key gets 401, and
/// a read-only key on an admin action gets 403.
pub fn authorize(config: &Config, request: &ApiRequest, needed: Role) -> Result<Role, ApiError> {
    if config.admin_key.is_none() && config.read_keys.is_empty() {
        return Err(ApiError::AdminNotConfigured);
    }
    match role_of(config, bearer_key(request)) {
        None => Err(ApiError::Unauthorized),
        Some(role) if role < needed => Err(ApiError::Forbidden),
        Some(role) => Ok(role),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn config(admin: Option<&str>, read: &[&str]) -> Config {
        let mut config = Config::from_vars(|_| None).expect("defaults are valid");
        config.admin_key = admin.map(str::to_owned);
        config.read_keys = read.iter().map(|k| (*k).to_owned()).collect();
        config
    }

    fn with_key(key: &str) -> ApiRequest {
        let mut request = ApiRequest::new(Method::Get, "/v1/analytics/engagement");
        request.headers.push(("authorization".to_owned(), format!("Bearer {key}")));
        request
    }

    #[test]
    fn roles_follow_the_key() {
        let config = config(Some("admin-key"), &["reader-1", "reader-2"]);

        assert_eq!(authorize(&config, &with_key("admin-key"), Role::Admin).unwrap(), Role::Admin);
        assert_eq!(authorize(&config, &with_key("reader-2"), Role::ReadOnly).unwrap(), Role::ReadOnly);
        assert!(matches!(authorize(&config, &with_key("reader-1"), Role::Admin), Err(ApiError::Forbidden)));
        assert!(matches!(authorize(&config, &with_key("reader-3"), Role::ReadOnly), Err(ApiError::Unauthorized)));
        assert!(matches!(
            authorize(&config, &ApiRequest::new(Method::Get, "/"), Role::ReadOnly),
            Err(ApiError::Unauthorized)
        ));
    }

    #[test]
    fn no_keys_is_an_operator_problem() {
        assert!(matches!(
            authorize(&config(None, &[]), &with_key("x"), Role::ReadOnly),
            Err(ApiError::AdminNotConfigured)
        ));
    }

    #[test]
    fn lower_case_scheme_is_accepted() {
        let config = config(Some("admin-key"), &[]);
        let mut request = ApiRequest::new(Method::Get, "/");
        request.headers.push(("authorization".to_owned(), "bearer admin-key".to_owned()));
        assert_eq!(authorize(&config, &request, Role::Admin).unwrap(), Role::Admin);
    }
}
