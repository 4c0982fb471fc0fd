//! Worker configuration, read from environment variables and secrets and validated once.

use std::collections::BTreeSet;

use loci_shared::ids::OrganizationId;
use loci_shared::rights::source::default_channels;
use loci_shared::rights::{Channel, RightsPolicy};
use loci_shared::strategy::Placements;

use crate::analytics::experiments::{parse_experiments, Experiment};
use crate::analytics::segments::{default_segments, parse_segments, SegmentRule};
use crate::remote::RemoteConfig;

/// The connector's login method at PhotoShelter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `POST /authenticate` with email and password in token mode.
    Password {
        /// The account email.
        email: String,
        /// The account password.
        password: String,
    },
    /// An OAuth access token sent as `Authorization: Bearer`, used as long as it works.
    Bearer(String),
    /// OAuth with a refresh token: access tokens are obtained from `POST /oauth/token` and
    /// refreshed when PhotoShelter rejects them. Refresh tokens may rotate; the sync keeps the
    /// latest one in D1.
    OAuth {
        /// The refresh token to start from.
        refresh_token: String,
        /// The OAuth client id.
        client_id: String,
        /// The OAuth client secret.
        client_secret: String,
    },
}

/// Settings of the PhotoShelter connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoShelterConfig {
    /// API base URL, such as `https://www.photoshelter.com/psapi/v4.0`.
    pub base_url: String,
    /// The v4 API key sent as `X-PS-Api-Key`.
    pub api_key: String,
    /// How to authenticate.
    pub credentials: Credentials,
    /// The organisation to switch into after authenticating, if any.
    pub org_id: Option<OrganizationId>,
    /// Media per page when syncing (PhotoShelter's documented range is 50 to 1000).
    pub per_page: u32,
    /// Pages fetched in one worker invocation, to stay inside the platform's subrequest limit.
    pub pages_per_step: u32,
}

/// Everything the worker needs to serve requests.
#[derive(Debug, Clone)]
pub struct Config {
    /// The connector settings; `None` when PhotoShelter is not configured (serving still works
    /// from the cached catalog, syncs report the missing settings).
    pub photoshelter: Result<PhotoShelterConfig, ConfigError>,
    /// Base of image URLs: `{image_base}/img-get2/{media id}/fit={width}`.
    pub image_base: String,
    /// Link template for assets; `{id}` is replaced by the media id.
    pub asset_link_template: String,
    /// Link template for galleries; `{id}` is replaced by the gallery id.
    pub gallery_link_template: String,
    /// The admin API key, if set (`ADMIN_KEY`).
    pub admin_key: Option<String>,
    /// Read-only API keys (`READ_KEYS`, comma-separated), for analytics and exports.
    pub read_keys: Vec<String>,
    /// Audience segment rules, tried in order (`LOCI_SEGMENTS`, else the defaults).
    pub segments: Vec<SegmentRule>,
    /// A/B tests of placement strategies (`LOCI_EXPERIMENTS`).
    pub experiments: Vec<Experiment>,
    /// Channels rights may name; others make an asset's channels unknown.
    pub channels: BTreeSet<Channel>,
    /// Site-level rights rules.
    pub policy: RightsPolicy,
    /// A remote Loci service to ask for candidates, if configured.
    pub remote: Option<RemoteConfig>,
    /// Ranking strategy per placement, from `LOCI_PLACEMENTS`; read through
    /// [`crate::placements::strategy_for`].
    pub placements: Placements,
}

/// A configuration value that is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("`{0}` is not set; add it to wrangler.toml [vars] or as a secret")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("`{name}` is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong and what is accepted.
        reason: String,
    },
}

fn parse_number(
    name: &'static str,
    value: Option<String>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let Some(text) = value else { return Ok(default) };
    match text.trim().parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("`{text}` is not a whole number from {} to {}", range.start(), range.end()),
        }),
    }
}

/// Picks the login method: OAuth refresh token, else a bearer access token, else email and
/// password.
fn credentials(var: &impl Fn(&str) -> Option<String>) -> Result<Credentials, ConfigError> {
    if let Some(refresh_token) = var("PHOTOSHELTER_OAUTH_REFRESH_TOKEN") {
        let client_id =
            var("PHOTOSHELTER_OAUTH_CLIENT_ID").ok_or(ConfigError::Missing("PHOTOSHELTER_OAUTH_CLIENT_ID"))?;
        let client_secret =
            var("PHOTOSHELTER_OAUTH_CLIENT_SECRET").ok_or(ConfigError::Missing("PHOTOSHELTER_OAUTH_CLIENT_SECRET"))?;
        return Ok(Credentials::OAuth { refresh_token, client_id, client_secret });
    }
    if let Some(token) = var("PHOTOSHELTER_ACCESS_TOKEN") {
        return Ok(Credentials::Bearer(token));
    }
    let email = var("PHOTOSHELTER_EMAIL").ok_or(ConfigError::Missing("PHOTOSHELTER_EMAIL"))?;
    let password = var("PHOTOSHELTER_PASSWORD").ok_or(ConfigError::Missing("PHOTOSHELTER_PASSWORD"))?;
    Ok(Credentials::Password { email, password })
}

fn photoshelter_config(var: &impl Fn(&str) -> Option<String>) -> Result<PhotoShelterConfig, ConfigError> {
    let base_url = var("PHOTOSHELTER_BASE_URL").ok_or(ConfigError::Missing("PHOTOSHELTER_BASE_URL"))?;
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(ConfigError::Invalid {
            name: "PHOTOSHELTER_BASE_URL",
            reason: format!("`{base_url}` is not an http(s) URL"),
        });
    }
    let api_key = var("PHOTOSHELTER_API_KEY").ok_or(ConfigError::Missing("PHOTOSHELTER_API_KEY"))?;
    let credentials = credentials(var)?;
    let org_id = match var("PHOTOSHELTER_ORG_ID") {
        None => None,
        Some(text) => Some(text.parse().map_err(|e: loci_shared::ids::InvalidId| ConfigError::Invalid {
            name: "PHOTOSHELTER_ORG_ID",
            reason: e.to_string(),
        })?),
    };
    Ok(PhotoShelterConfig {
        base_url: base_url.trim_end_matches('/').to_owned(),
        api_key,
        credentials,
        org_id,
        per_page: parse_number("SYNC_PER_PAGE", var("SYNC_PER_PAGE"), 500, 50..=1000)?,
        pages_per_step: parse_number("SYNC_PAGES_PER_STEP", var("SYNC_PAGES_PER_STEP"), 8, 1..=200)?,
    })
}

impl Config {
    /// Reads the configuration through `var`, which returns a variable's value or `None`.
    /// Empty values count as unset.
    ///
    /// Fails on settings that make serving impossible; connector settings are validated
    /// separately so that a worker with a cached catalog keeps serving while they are fixed.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let mut channels = default_channels();
        if let Some(extra) = var("CHANNELS") {
            for name in extra.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                channels.insert(name.parse().map_err(|reason| ConfigError::Invalid { name: "CHANNELS", reason })?);
            }
        }
        let mut policy = RightsPolicy::default();
        if let Some(list) = var("RELEASE_REQUIRED_CHANNELS") {
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let channel: Channel = name
                    .parse()
                    .map_err(|reason| ConfigError::Invalid { name: "RELEASE_REQUIRED_CHANNELS", reason })?;
                if !channels.contains(&channel) {
                    return Err(ConfigError::Invalid {
                        name: "RELEASE_REQUIRED_CHANNELS",
                        reason: format!("`{channel}` is not a configured channel; add it to CHANNELS"),
                    });
                }
                policy.release_required_on.insert(channel);
            }
        }

        let remote = match var("LOCI_REMOTE_URL") {
            None => None,
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => Some(RemoteConfig {
                url: url.trim_end_matches('/').to_owned(),
                api_key: var("LOCI_REMOTE_KEY"),
                timeout_ms: u64::from(parse_number(
                    "LOCI_REMOTE_TIMEOUT_MS",
                    var("LOCI_REMOTE_TIMEOUT_MS"),
                    250,
                    20..=5_000,
                )?),
            }),
            Some(url) => {
                return Err(ConfigError::Invalid {
                    name: "LOCI_REMOTE_URL",
                    reason: format!("`{url}` is not an http(s) URL"),
                })
            }
        };

        let placements = match var("LOCI_PLACEMENTS") {
            None => Placements::default(),
            Some(text) => Placements::parse(&text)
                .map_err(|error| ConfigError::Invalid { name: "LOCI_PLACEMENTS", reason: error.to_string() })?,
        };

        let segments = match var("LOCI_SEGMENTS") {
            None => default_segments(),
            Some(text) => parse_segments(&text)?,
        };
        let experiments = match var("LOCI_EXPERIMENTS") {
            None => Vec::new(),
            Some(text) => parse_experiments(&text)?,
        };
        let read_keys: Vec<String> = var("READ_KEYS")
            .map(|keys| keys.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        if let Some(short) = read_keys.iter().find(|k| k.len() < 16) {
            return Err(ConfigError::Invalid {
                name: "READ_KEYS",
                reason: format!("a key of {} characters is too easy to guess; use at least 16", short.len()),
            });
        }

        Ok(Config {
            remote,
            read_keys,
            segments,
            experiments,
            placements,
            photoshelter: photoshelter_config(&var),
            image_base: var("PHOTOSHELTER_IMAGE_BASE")
                .unwrap_or_else(|| "https://m.psecn.photoshelter.com".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            asset_link_template: var("ASSET_LINK_TEMPLATE").unwrap_or_else(|| "/article.html?asset={id}".to_owned()),
            gallery_link_template: var("GALLERY_LINK_TEMPLATE")
                .unwrap_or_else(|| "/gallery.html?gallery={id}".to_owned()),
            admin_key: var("ADMIN_KEY"),
            channels,
            policy,
        })
    }

    /// Returns the image URL of a media id at a width in pixels.
    pub fn image_url(&self, media_id: &str, width: u32) -> String {
        format!("{}/img-get2/{media_id}/fit={width}", self.image_base)
    }

    /// Returns the publisher's link for an asset.
    pub fn asset_link(&self, media_id: &str) -> String {
        self.asset_link_template.replace("{id}", media_id)
    }

    /// Returns the publisher's link for a gallery.
    pub fn gallery_link(&self, gallery_id: &str) -> String {
        self.gallery_link_template.replace("{id}", gallery_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let owned: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| owned.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn config_reports_missing_connector_settings() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(config.photoshelter.unwrap_err(), ConfigError::Missing("PHOTOSHELTER_BASE_URL"));
    }

    #[test]
    fn config_rejects_release_rule_for_unknown_channel() {
        let error = Config::from_vars(vars(&[("RELEASE_REQUIRED_CHANNELS", "billboard")])).unwrap_err();
        assert!(error.to_string().contains("add it to CHANNELS"), "{error}");
    }

    #[test]
    fn config_rejects_invalid_placements() {
        let error = Config::from_vars(vars(&[("LOCI_PLACEMENTS", r#"{"home": {"cold_start": ["random"]}}"#)]))
            .expect_err("random is not a cold-start source");
        assert!(matches!(error, ConfigError::Invalid { name: "LOCI_PLACEMENTS", .. }), "{error}");
    }

    #[test]
    fn config_reads_password_credentials_and_org() {
        let config = Config::from_vars(vars(&[
            ("PHOTOSHELTER_BASE_URL", "http://127.0.0.1:1/psapi/v4.0/"),
            ("PHOTOSHELTER_API_KEY", "demoApiKey1"),
            ("PHOTOSHELTER_EMAIL", "a@example.com"),
            ("PHOTOSHELTER_PASSWORD", "pw"),
            ("PHOTOSHELTER_ORG_ID", "O0000TateDemo001"),
        ]))
        .unwrap();
        let photoshelter = config.photoshelter.unwrap();
        assert_eq!(photoshelter.base_url, "http://127.0.0.1:1/psapi/v4.0");
        assert_eq!(photoshelter.org_id.unwrap().as_str(), "O0000TateDemo001");
    }
}
