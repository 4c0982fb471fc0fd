//! PhotoShelter identifiers.
//!
//! PhotoShelter ids are 16 characters: a type prefix padded with `0` to five characters, then
//! eleven characters from `[A-Za-z0-9._]`. They are case-sensitive. Media ids start with `I0000`
//! (images), `VD000` (video), `AD000` (audio) or `DO000` (documents); galleries with `G0000`,
//! collections with `C0000` and organisations with `O0000`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Total length of every PhotoShelter id.
pub const ID_LEN: usize = 16;

/// Why a string is not a valid id of the requested kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id: expected {expected}")]
pub struct InvalidId {
    /// The rejected input (cut to 40 characters).
    pub value: String,
    /// The kind of id that was expected, such as `media`.
    pub kind: &'static str,
    /// A description of the accepted format.
    pub expected: &'static str,
}

fn has_id_shape(value: &str, prefixes: &[&str]) -> bool {
    value.len() == ID_LEN
        && prefixes.iter().any(|prefix| value.starts_with(prefix))
        && value[5..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

fn invalid(value: &str, kind: &'static str, expected: &'static str) -> InvalidId {
    InvalidId { value: value.chars().take(40).collect(), kind, expected }
}

macro_rules! photoshelter_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, [$($prefix:literal),+], $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                if has_id_shape(value, &[$($prefix),+]) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(invalid(value, $kind, $expected))
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

photoshelter_id!(
    /// A media id (image, video, audio or document), such as `I0000IcZL.qvRYv8`.
    MediaId, "media", ["I0000", "VD000", "AD000", "DO000"],
    "16 characters: I0000, VD000, AD000 or DO000 followed by 11 of [A-Za-z0-9._]"
);
photoshelter_id!(
    /// A gallery id, such as `G0000_sI_gnW12n4`.
    GalleryId, "gallery", ["G0000"], "16 characters: G0000 followed by 11 of [A-Za-z0-9._]"
);
photoshelter_id!(
    /// A collection id.
    CollectionId, "collection", ["C0000"], "16 characters: C0000 followed by 11 of [A-Za-z0-9._]"
);
photoshelter_id!(
    /// An organisation id, such as `O0000e.jllXxQUoI`.
    OrganizationId, "organization", ["O0000"], "16 characters: O0000 followed by 11 of [A-Za-z0-9._]"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_id_accepts_every_media_prefix() {
        for id in ["I0000IcZL.qvRYv8", "VD000abcdefghij", "AD000abc_efghijk", "DO00000000000001"] {
            if id.len() == ID_LEN {
                assert!(id.parse::<MediaId>().is_ok(), "{id} should parse");
            }
        }
        assert!("I0000IcZL.qvRYv8".parse::<MediaId>().is_ok());
    }

    #[test]
    fn media_id_rejects_wrong_length_prefix_and_characters() {
        for id in ["I0000IcZL.qvRYv", "G0000_sI_gnW12n4", "I0000IcZL-qvRYv8", "", "i0000IcZL.qvRYv8"] {
            assert!(id.parse::<MediaId>().is_err(), "{id} should be rejected");
        }
    }

    #[test]
    fn invalid_id_message_names_value_and_format() {
        let error = "G123".parse::<GalleryId>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "`G123` is not a valid gallery id: expected 16 characters: G0000 followed by 11 of [A-Za-z0-9._]"
        );
    }

    #[test]
    fn ids_round_trip_through_json() {
        let id: GalleryId = serde_json::from_str("\"G0000_sI_gnW12n4\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"G0000_sI_gnW12n4\"");
        assert!(serde_json::from_str::<GalleryId>("\"G0000\"").is_err());
    }
}
