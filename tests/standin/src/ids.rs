//! PhotoShelter id formats.
//!
//! Every id is 16 characters: a type prefix padded with `0` to five characters, then eleven
//! characters from `[A-Za-z0-9._]`. The prefixes are `I0000` for images, `G0000` for galleries,
//! `C0000` for collections and `O0000` for organizations. Video, audio and document media use
//! `VD000`, `AD000` and `DO000`.

/// Length of every PhotoShelter id.
pub const ID_LEN: usize = 16;

/// Length of the padded type prefix.
const PREFIX_LEN: usize = 5;

/// The kind of resource an id names, with its accepted prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// Any media: image, video, audio or document.
    Media,
    /// A gallery.
    Gallery,
    /// A collection.
    Collection,
    /// An organization.
    Organization,
}

impl IdKind {
    fn prefixes(self) -> &'static [&'static str] {
        match self {
            IdKind::Media => &["I0000", "VD000", "AD000", "DO000"],
            IdKind::Gallery => &["G0000"],
            IdKind::Collection => &["C0000"],
            IdKind::Organization => &["O0000"],
        }
    }

    /// Returns the name used in error messages, such as `media`.
    pub fn label(self) -> &'static str {
        match self {
            IdKind::Media => "media",
            IdKind::Gallery => "gallery",
            IdKind::Collection => "collection",
            IdKind::Organization => "organization",
        }
    }

    /// Returns the accepted format as a regular expression, for error messages.
    pub fn pattern(self) -> &'static str {
        match self {
            IdKind::Media => "^(I0|VD|AD|DO)000[a-zA-Z0-9._]{11}$",
            IdKind::Gallery => "^G0000[a-zA-Z0-9._]{11}$",
            IdKind::Collection => "^C0000[a-zA-Z0-9._]{11}$",
            IdKind::Organization => "^O0000[a-zA-Z0-9._]{11}$",
        }
    }
}

/// Reports whether `character` may appear in the eleven-character body of an id.
pub fn is_id_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '.' || character == '_'
}

/// Checks `value` against the format of `kind`.
pub fn is_valid(kind: IdKind, value: &str) -> bool {
    value.len() == ID_LEN
        && kind.prefixes().iter().any(|prefix| value.starts_with(prefix))
        && value[PREFIX_LEN..].chars().all(is_id_char)
}

/// Checks an API key against the format PhotoShelter clients validate: `^[a-zA-Z0-9._]{11}$`.
pub fn is_valid_api_key(value: &str) -> bool {
    value.len() == 11 && value.chars().all(is_id_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_ids_accept_every_media_prefix() {
        assert!(is_valid(IdKind::Media, "I000000000A00001"));
        assert!(is_valid(IdKind::Media, "VD000abc.def_ghi"));
        assert!(is_valid(IdKind::Media, "DO000AAAAAAAAAAA"));
        assert!(!is_valid(IdKind::Media, "G0000AAAAAAAAAAA"));
    }

    #[test]
    fn ids_reject_bad_length_and_characters() {
        assert!(!is_valid(IdKind::Gallery, "G0000grp0000001"));
        assert!(!is_valid(IdKind::Gallery, "G0000grp000000012"));
        assert!(!is_valid(IdKind::Gallery, "G0000grp-0000001"));
        assert!(is_valid(IdKind::Gallery, "G0000grp00000001"));
    }

    #[test]
    fn api_key_format() {
        assert!(is_valid_api_key("demoApiKey1"));
        assert!(!is_valid_api_key("demoApiKey"));
        assert!(!is_valid_api_key("demo-ApiKey"));
    }
}
