//! Usage rights, normalised from PhotoShelter metadata, and the policy that decides at serve
//! time whether an asset may be shown.
//!
//! The policy fails closed: a value that is missing where approval is needed, or present but
//! unparsable, denies the asset. Every decision names the rule that denied it, so responses can
//! report how many candidates each rule removed.
//!
//! - [`Rights`] is what the edge stores per asset, with the raw source values kept for audit;
//! - [`source`] turns PhotoShelter's raw fields into [`Rights`];
//! - [`policy`] evaluates [`Rights`] for one channel, campaign, territory and instant.

pub mod policy;
pub mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::time::Millis;

pub use policy::{Check, CheckOutcome, Decision, DenyRule, FilterReport, RightsFilter, RightsPolicy, ServeContext};

/// A distribution channel such as `web` or `email`: lowercase, 1 to 32 characters of
/// `[a-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Channel(String);

impl Channel {
    /// The `web` channel: the publisher's own website.
    pub fn web() -> Channel {
        Channel("web".to_owned())
    }

    /// The channel name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Channel {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let name = value.trim().to_ascii_lowercase();
        let ok = !name.is_empty()
            && name.len() <= 32
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Channel(name))
        } else {
            Err(format!("`{}` is not a channel name: use 1 to 32 characters of a-z, 0-9, `_` and `-`", value.trim()))
        }
    }
}

impl TryFrom<String> for Channel {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Channel> for String {
    fn from(channel: Channel) -> String {
        channel.0
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A rights value as read from the source: absent, understood, or present but not understood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "value", rename_all = "snake_case")]
pub enum Field<T> {
    /// The source has no value for it.
    Absent,
    /// The source value, parsed.
    Known(T),
    /// The source has a value that could not be parsed; the raw text is kept.
    Unknown(String),
}

impl<T> Field<T> {
    /// The parsed value, if there is one.
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(value) => Some(value),
            _ => None,
        }
    }
}

/// Where an asset may be shown geographically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Territory {
    /// No territorial restriction.
    Worldwide,
    /// Only in these countries (ISO 3166-1 alpha-2 codes, upper case).
    Countries(BTreeSet<String>),
}

/// How visible the galleries holding an asset are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// At least one gallery holding the asset is public and listed.
    Public,
    /// Every gallery holding it is limited to named grants.
    PermissionOnly,
    /// Every gallery holding it is private, or it is in no gallery.
    Private,
    /// The gallery modes could not be read.
    Unknown,
}

/// The normalised usage rights of one asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rights {
    /// Channels the asset is approved for; an empty known set approves none.
    pub channels: Field<BTreeSet<Channel>>,
    /// Campaigns the asset is approved for, and only for; absent means any use.
    pub campaigns: Field<BTreeSet<String>>,
    /// The instant the licence starts; absent means no start limit.
    pub licence_start: Field<Millis>,
    /// The instant the licence ends (the asset is not shown from this instant on); absent
    /// means no end.
    pub licence_end: Field<Millis>,
    /// Where it may be shown; absent means no territorial restriction is recorded.
    pub territory: Field<Territory>,
    /// Whether a model release is on file.
    pub model_release: Field<bool>,
    /// Whether a property release is on file.
    pub property_release: Field<bool>,
    /// Visibility derived from the galleries holding the asset.
    pub visibility: Visibility,
    /// The copyright notice.
    pub copyright: Option<String>,
    /// The credit line.
    pub credit: Option<String>,
    /// The source values the rights were derived from, by source field name, for audit.
    pub raw: BTreeMap<String, String>,
}

impl Rights {
    /// Rights that deny everything: what an asset gets when nothing is known about it.
    pub fn unknown() -> Rights {
        Rights {
            channels: Field::Absent,
            campaigns: Field::Absent,
            licence_start: Field::Absent,
            licence_end: Field::Absent,
            territory: Field::Absent,
            model_release: Field::Absent,
            property_release: Field::Absent,
            visibility: Visibility::Unknown,
            copyright: None,
            credit: None,
            raw: BTreeMap::new(),
        }
    }

    /// The instant after which a decision made now may change because of a licence date, if
    /// any: the licence start when it is still ahead, else the licence end.
    ///
    /// Caches of anything derived from these rights must not outlive it.
    pub fn next_change_after(&self, now: Millis) -> Option<Millis> {
        let start = self.licence_start.known().copied().filter(|start| *start > now);
        let end = self.licence_end.known().copied().filter(|end| *end > now);
        match (start, end) {
            (Some(start), Some(end)) => Some(start.min(end)),
            (start, end) => start.or(end),
        }
    }
}
