//! Normalisation of PhotoShelter's rights-related fields into [`Rights`].
//!
//! PhotoShelter keeps rights in several places: release flags on the media resource, the IPTC
//! copyright and credit fields, organisation-defined custom metadata (usage channels, licence
//! dates, territory; PhotoShelter for Brands' licence expiration date is one of these), and the
//! visibility mode of the galleries holding the asset. [`RightsSource`] gathers the raw values
//! and [`RightsSource::normalise`] turns them into one [`Rights`] value.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Channel, Field, Rights, Territory, Visibility};
use crate::time::parse_instant;

/// The visibility of one gallery holding an asset, as PhotoShelter reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GalleryAccess {
    /// The effective mode: `everyone`, `private` or `permission` (other values are unknown).
    pub mode: String,
    /// Whether the gallery is listed on the public site.
    pub is_listed: bool,
}

/// Raw rights values gathered from PhotoShelter for one asset, before any parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightsSource {
    /// Custom metadata "Usage Channels", such as `web, email` or `none`.
    pub usage_channels: Option<String>,
    /// Custom metadata "Campaigns", a comma-separated list.
    pub campaigns: Option<String>,
    /// Custom metadata "License Start Date".
    pub licence_start: Option<String>,
    /// Custom metadata "License Expiration Date".
    pub licence_end: Option<String>,
    /// Custom metadata "Territory": `worldwide` or a list of country codes.
    pub territory: Option<String>,
    /// Media attribute `model_released` (JSON text: `true`, `false` or `null`).
    pub model_released: Option<String>,
    /// Media attribute `property_released`.
    pub property_released: Option<String>,
    /// IPTC copyright notice.
    pub copyright: Option<String>,
    /// IPTC credit line.
    pub credit: Option<String>,
    /// The galleries holding the asset.
    pub galleries: Vec<GalleryAccess>,
}

/// The key of the gallery modes in [`Rights::raw`].
pub const GALLERY_MODES_KEY: &str = "gallery modes";

/// The gallery modes as kept for audit, such as `everyone, private (unlisted)`.
pub fn describe_gallery_modes(galleries: &[GalleryAccess]) -> String {
    let modes: Vec<String> =
        galleries.iter().map(|g| format!("{}{}", g.mode, if g.is_listed { "" } else { " (unlisted)" })).collect();
    modes.join(", ")
}

/// Returns the channels every site accepts. A site may configure more.
pub fn default_channels() -> BTreeSet<Channel> {
    ["web", "email", "social", "partner"].iter().filter_map(|name| name.parse().ok()).collect()
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|text| !text.is_empty())
}

fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ';']).map(str::trim).filter(|item| !item.is_empty())
}

fn parse_channels(raw: Option<&str>, known: &BTreeSet<Channel>) -> Field<BTreeSet<Channel>> {
    let Some(raw) = raw else { return Field::Absent };
    if raw.eq_ignore_ascii_case("none") {
        return Field::Known(BTreeSet::new());
    }
    let parsed: Option<BTreeSet<Channel>> =
        split_list(raw).map(|name| name.parse::<Channel>().ok().filter(|channel| known.contains(channel))).collect();
    match parsed {
        Some(channels) if !channels.is_empty() => Field::Known(channels),
        _ => Field::Unknown(raw.to_owned()),
    }
}

fn parse_date(raw: Option<&str>) -> Field<i64> {
    match raw {
        None => Field::Absent,
        Some(text) => parse_instant(text).map_or_else(|| Field::Unknown(text.to_owned()), Field::Known),
    }
}

fn parse_territory(raw: Option<&str>) -> Field<Territory> {
    let Some(raw) = raw else { return Field::Absent };
    if raw.eq_ignore_ascii_case("worldwide") {
        return Field::Known(Territory::Worldwide);
    }
    let countries: Option<BTreeSet<String>> = split_list(raw)
        .map(|code| {
            (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic())).then(|| code.to_ascii_uppercase())
        })
        .collect();
    match countries {
        Some(countries) if !countries.is_empty() => Field::Known(Territory::Countries(countries)),
        _ => Field::Unknown(raw.to_owned()),
    }
}

fn parse_flag(raw: Option<&str>) -> Field<bool> {
    match raw {
        None | Some("null") => Field::Absent,
        Some("true") => Field::Known(true),
        Some("false") => Field::Known(false),
        Some(other) => Field::Unknown(other.to_owned()),
    }
}

/// The visibility of an asset held by these galleries: public when one of them is public and
/// listed, unknown when a mode is not one PhotoShelter documents, else permission-only or
/// private.
pub fn visibility_of(galleries: &[GalleryAccess]) -> Visibility {
    if galleries.iter().any(|g| g.mode == "everyone" && g.is_listed) {
        return Visibility::Public;
    }
    if galleries.iter().any(|g| !matches!(g.mode.as_str(), "everyone" | "private" | "permission")) {
        return Visibility::Unknown;
    }
    if galleries.iter().any(|g| g.mode == "permission") {
        Visibility::PermissionOnly
    } else {
        Visibility::Private
    }
}

impl RightsSource {
    /// Parses every raw value into [`Rights`], keeping the raw values for audit.
    ///
    /// A value that is present but cannot be parsed becomes [`Field::Unknown`]: a date in an
    /// unknown format, a channel not in `known_channels`, a territory that is not `worldwide`
    /// or a list of two-letter country codes.
    pub fn normalise(&self, known_channels: &BTreeSet<Channel>) -> Rights {
        let mut raw = BTreeMap::new();
        let mut keep = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                raw.insert(name.to_owned(), value.clone());
            }
        };
        keep("Usage Channels", &self.usage_channels);
        keep("Campaigns", &self.campaigns);
        keep("License Start Date", &self.licence_start);
        keep("License Expiration Date", &self.licence_end);
        keep("Territory", &self.territory);
        keep("model_released", &self.model_released);
        keep("property_released", &self.property_released);
        let modes: Vec<String> = self
            .galleries
            .iter()
            .map(|g| format!("{}{}", g.mode, if g.is_listed { "" } else { " (unlisted)" }))
            .collect();
        raw.insert("gallery modes".to_owned(), modes.join(", "));

        let campaigns = match present(&self.campaigns) {
            None => Field::Absent,
            Some(text) => Field::Known(split_list(text).map(str::to_owned).collect()),
        };

        Rights {
            channels: parse_channels(present(&self.usage_channels), known_channels),
            campaigns,
            licence_start: parse_date(present(&self.licence_start)),
            licence_end: parse_date(present(&self.licence_end)),
            territory: parse_territory(present(&self.territory)),
            model_release: parse_flag(present(&self.model_released)),
            property_release: parse_flag(present(&self.property_released)),
            visibility: visibility_of(&self.galleries),
            copyright: present(&self.copyright).map(str::to_owned),
            credit: present(&self.credit).map(str::to_owned),
            raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public_gallery() -> Vec<GalleryAccess> {
        vec![GalleryAccess { mode: "everyone".to_owned(), is_listed: true }]
    }

    #[test]
    fn channels_parse_lists_and_none() {
        let known = default_channels();
        let source = RightsSource { usage_channels: Some("Web, email".to_owned()), ..Default::default() };
        let channels = source.normalise(&known).channels;
        assert_eq!(channels, Field::Known(["web".parse().unwrap(), "email".parse().unwrap()].into_iter().collect()));

        let none = RightsSource { usage_channels: Some("none".to_owned()), ..Default::default() };
        assert_eq!(none.normalise(&known).channels, Field::Known(BTreeSet::new()));
    }

    #[test]
    fn unknown_channel_name_makes_channels_unknown() {
        let source = RightsSource { usage_channels: Some("web, billboard".to_owned()), ..Default::default() };
        assert_eq!(source.normalise(&default_channels()).channels, Field::Unknown("web, billboard".to_owned()));
    }

    #[test]
    fn malformed_date_is_unknown_and_kept_raw() {
        let source = RightsSource { licence_end: Some("31/02/2027?".to_owned()), ..Default::default() };
        let rights = source.normalise(&default_channels());
        assert_eq!(rights.licence_end, Field::Unknown("31/02/2027?".to_owned()));
        assert_eq!(rights.raw.get("License Expiration Date").map(String::as_str), Some("31/02/2027?"));
    }

    #[test]
    fn visibility_needs_one_public_listed_gallery() {
        let mut source = RightsSource { galleries: public_gallery(), ..Default::default() };
        assert_eq!(source.normalise(&default_channels()).visibility, Visibility::Public);
        source.galleries = vec![GalleryAccess { mode: "private".to_owned(), is_listed: false }];
        assert_eq!(source.normalise(&default_channels()).visibility, Visibility::Private);
        source.galleries = vec![];
        assert_eq!(source.normalise(&default_channels()).visibility, Visibility::Private);
        source.galleries = vec![GalleryAccess { mode: "secret".to_owned(), is_listed: true }];
        assert_eq!(source.normalise(&default_channels()).visibility, Visibility::Unknown);
    }

    #[test]
    fn territory_accepts_worldwide_and_country_codes() {
        let rights = |text: &str| {
            RightsSource { territory: Some(text.to_owned()), ..Default::default() }.normalise(&default_channels())
        };
        assert_eq!(rights("Worldwide").territory, Field::Known(Territory::Worldwide));
        assert_eq!(
            rights("gb, IE").territory,
            Field::Known(Territory::Countries(["GB".to_owned(), "IE".to_owned()].into_iter().collect()))
        );
        assert_eq!(rights("Europe").territory, Field::Unknown("Europe".to_owned()));
    }
}
