//! The in-memory PhotoShelter library: images, galleries and collections built from the Tate
//! artworks, with lookups by id and the sort orders the API serves.
//!
//! Galleries come from catalogue groups (`G0000grp` + the 8-digit group id; a group without a
//! title is named `"Catalogue group {id}"`), artists
//! (`G0000art` + the 8-digit index in the sorted artist names) and movements (`G0000mov` + the
//! 8-digit index in the sorted movement names). Collections come from classifications
//! (`C0000cls` + the 8-digit index in the sorted names, with `"unclassified"` standing in for
//! null) and all sit at the library root.
//!
//! The library is built once at start; afterwards only `POST /__standin/mutate` changes it
//! (see `mutation`).

mod mutation;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;

use crate::hash::stable_hash;
use crate::ids::{self, IdKind};
use crate::mapping::{self, Media};
use crate::tate::Artwork;

pub use mutation::{
    first_default_clock, MutationCounts, MutationError, MutationRequest, MutationSummary, RightsEdit, MAX_ADD,
};

/// Classification name used for works whose classification is null.
pub const UNCLASSIFIED: &str = "unclassified";

/// Largest index or group id that fits the eight digits of a gallery or collection id.
const MAX_ID_NUMBER: u64 = 99_999_999;

/// Share of galleries, in percent, that are private (by hash of the gallery id).
const PRIVATE_PERCENT: u64 = 3;

/// Share of galleries, in percent, that are limited to named grants.
const PERMISSION_PERCENT: u64 = 2;

/// Who may see a gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Everyone,
    Private,
    Permission,
}

impl Mode {
    /// Returns the API value: `everyone`, `private` or `permission`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Everyone => "everyone",
            Mode::Private => "private",
            Mode::Permission => "permission",
        }
    }

    /// Picks the mode of a gallery from `FNV-1a("gallery-mode:{id}") mod 100`.
    fn of_gallery(id: &str) -> Mode {
        let bucket = stable_hash("gallery-mode", id) % 100;
        if bucket < PRIVATE_PERCENT {
            Mode::Private
        } else if bucket < PRIVATE_PERCENT + PERMISSION_PERCENT {
            Mode::Permission
        } else {
            Mode::Everyone
        }
    }
}

/// What a gallery was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GalleryKind {
    /// A Tate catalogue group, with its type when recorded.
    CatalogueGroup {
        group_type: Option<String>,
    },
    Artist,
    Movement,
}

/// A gallery: a named list of images.
#[derive(Debug, Clone)]
pub struct Gallery {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: GalleryKind,
    pub mode: Mode,
    /// Media indices in display order (the order of the Tate export).
    pub members: Vec<usize>,
    /// First member with a thumbnail.
    pub key_image: Option<usize>,
    /// Earliest upload time of the members.
    pub created_at: NaiveDateTime,
    /// Latest modification time of the members.
    pub modified_at: NaiveDateTime,
    /// Index of the parent collection.
    pub collection: usize,
}

/// A collection at the library root, holding galleries.
#[derive(Debug, Clone)]
pub struct Collection {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Gallery indices, in library order.
    pub galleries: Vec<usize>,
    /// Earliest upload time of the works with this classification.
    pub created_at: NaiveDateTime,
    /// Latest modification time of the works with this classification.
    pub modified_at: NaiveDateTime,
}

/// Failure to build a consistent library from the records.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid organization id {0:?}: expected {pattern}", pattern = IdKind::Organization.pattern())]
    InvalidOrgId(String),
    #[error("accession number {acno:?} maps to id {id}, which another record already uses")]
    DuplicateMediaId { acno: String, id: String },
    #[error("{origin} number {number} does not fit the 8 digits of a {kind} id")]
    IdNumberTooLarge { origin: &'static str, number: u64, kind: &'static str },
    #[error("generated {label} id {id} does not match {pattern}", label = kind.label(), pattern = kind.pattern())]
    InvalidGeneratedId { kind: IdKind, id: String },
}

/// The whole library. Only the mutate control changes it after start-up.
#[derive(Debug)]
pub struct Library {
    pub org_id: String,
    pub media: Vec<Media>,
    pub galleries: Vec<Gallery>,
    pub collections: Vec<Collection>,
    media_index: HashMap<String, usize>,
    gallery_index: HashMap<String, usize>,
    collection_index: HashMap<String, usize>,
    /// Media indices by upload time, then id.
    by_upload_time: Vec<usize>,
    /// Media indices by file name, then id.
    by_file_name: Vec<usize>,
    /// Clock of the latest mutation, from which the next default clock advances.
    last_mutation_clock: Option<NaiveDateTime>,
    /// Number of media ids handed out to added media; the next id uses this plus one.
    added_media_ids: u64,
}

impl Library {
    /// Builds the library from artworks in export order.
    pub fn build(artworks: &[Artwork], org_id: &str) -> Result<Library, BuildError> {
        if !ids::is_valid(IdKind::Organization, org_id) {
            return Err(BuildError::InvalidOrgId(org_id.to_owned()));
        }

        let classification_names: BTreeSet<&str> = artworks.iter().map(classification_of).collect();
        let classification_index: HashMap<&str, usize> =
            classification_names.iter().enumerate().map(|(index, name)| (*name, index)).collect();

        let mut media = map_media(artworks, &classification_index)?;
        let galleries = build_galleries(artworks, &mut media, classification_names.len())?;
        let collections = build_collections(&classification_names, &media, &galleries)?;

        let media_index = index_by_id(media.iter().map(|item| item.id.as_str()));
        let gallery_index = index_by_id(galleries.iter().map(|item| item.id.as_str()));
        let collection_index = index_by_id(collections.iter().map(|item| item.id.as_str()));

        let mut by_upload_time: Vec<usize> = (0..media.len()).collect();
        by_upload_time
            .sort_by(|a, b| (media[*a].created_at, &media[*a].id).cmp(&(media[*b].created_at, &media[*b].id)));
        let mut by_file_name: Vec<usize> = (0..media.len()).collect();
        by_file_name.sort_by(|a, b| (&media[*a].file_name, &media[*a].id).cmp(&(&media[*b].file_name, &media[*b].id)));

        Ok(Library {
            org_id: org_id.to_owned(),
            media,
            galleries,
            collections,
            media_index,
            gallery_index,
            collection_index,
            by_upload_time,
            by_file_name,
            last_mutation_clock: None,
            added_media_ids: 0,
        })
    }

    pub fn media_by_id(&self, id: &str) -> Option<&Media> {
        self.media_index.get(id).map(|index| &self.media[*index])
    }

    pub fn gallery_by_id(&self, id: &str) -> Option<&Gallery> {
        self.gallery_index.get(id).map(|index| &self.galleries[*index])
    }

    pub fn collection_by_id(&self, id: &str) -> Option<&Collection> {
        self.collection_index.get(id).map(|index| &self.collections[*index])
    }

    /// Returns media indices ordered by upload time (then id), ascending.
    pub fn media_by_upload_time(&self) -> &[usize] {
        &self.by_upload_time
    }

    /// Returns media indices ordered by file name (then id), ascending.
    pub fn media_by_file_name(&self) -> &[usize] {
        &self.by_file_name
    }
}

fn classification_of(artwork: &Artwork) -> &str {
    artwork.classification.as_deref().unwrap_or(UNCLASSIFIED)
}

fn index_by_id<'a>(ids: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    ids.enumerate().map(|(index, id)| (id.to_owned(), index)).collect()
}

/// Maps every artwork, giving each a unique id (the padded accession number where it fits).
fn map_media(artworks: &[Artwork], classification_index: &HashMap<&str, usize>) -> Result<Vec<Media>, BuildError> {
    let mut used_ids: HashSet<String> = HashSet::with_capacity(artworks.len());
    let mut media = Vec::with_capacity(artworks.len());

    for artwork in artworks {
        let id = match mapping::padded_media_id(&artwork.acno) {
            Some(id) if !used_ids.contains(&id) => id,
            _ => mapping::fallback_media_id(&artwork.acno),
        };
        if !ids::is_valid(IdKind::Media, &id) {
            return Err(BuildError::InvalidGeneratedId { kind: IdKind::Media, id });
        }
        if !used_ids.insert(id.clone()) {
            return Err(BuildError::DuplicateMediaId { acno: artwork.acno.clone(), id });
        }

        let collection = classification_index.get(classification_of(artwork)).copied().unwrap_or_default();
        media.push(mapping::map_artwork(artwork, id, collection));
    }
    Ok(media)
}

/// Membership collected for one gallery before it is finished.
struct GallerySeed {
    id: String,
    name: String,
    kind: GalleryKind,
    members: Vec<usize>,
}

/// Builds the group, artist and movement galleries, in that order, and records each image's
/// galleries on the image.
fn build_galleries(
    artworks: &[Artwork],
    media: &mut [Media],
    collection_count: usize,
) -> Result<Vec<Gallery>, BuildError> {
    let mut groups: BTreeMap<u64, GallerySeed> = BTreeMap::new();
    let mut artists: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut movements: BTreeMap<&str, Vec<usize>> = BTreeMap::new();

    for (index, artwork) in artworks.iter().enumerate() {
        if let Some(group) = &artwork.group {
            let seed = groups.entry(group.id).or_insert_with(|| GallerySeed {
                id: String::new(),
                name: group.title.clone().unwrap_or_else(|| format!("Catalogue group {}", group.id)),
                kind: GalleryKind::CatalogueGroup { group_type: group.group_type.clone() },
                members: Vec::new(),
            });
            seed.members.push(index);
        }
        for artist in unique(&artwork.artists) {
            artists.entry(artist).or_default().push(index);
        }
        for movement in unique(&artwork.movements) {
            movements.entry(movement).or_default().push(index);
        }
    }

    let mut seeds = Vec::with_capacity(groups.len() + artists.len() + movements.len());
    for (group_id, mut seed) in groups {
        seed.id = numbered_id("G0000grp", "catalogue group", group_id, IdKind::Gallery)?;
        seeds.push(seed);
    }
    for (position, (artist, members)) in artists.into_iter().enumerate() {
        seeds.push(GallerySeed {
            id: numbered_id("G0000art", "artist", position as u64, IdKind::Gallery)?,
            name: artist.to_owned(),
            kind: GalleryKind::Artist,
            members,
        });
    }
    for (position, (movement, members)) in movements.into_iter().enumerate() {
        seeds.push(GallerySeed {
            id: numbered_id("G0000mov", "movement", position as u64, IdKind::Gallery)?,
            name: movement.to_owned(),
            kind: GalleryKind::Movement,
            members,
        });
    }

    let galleries: Vec<Gallery> = seeds.into_iter().map(|seed| finish_gallery(seed, media, collection_count)).collect();

    for (gallery_index, gallery) in galleries.iter().enumerate() {
        for member in &gallery.members {
            media[*member].galleries.push(gallery_index);
        }
    }
    Ok(galleries)
}

/// Yields each name once, in first-occurrence order, so a repeated artist adds one membership.
fn unique(names: &[String]) -> impl Iterator<Item = &str> {
    let mut seen: HashSet<&str> = HashSet::new();
    names.iter().map(String::as_str).filter(move |name| seen.insert(name))
}

/// Formats `{prefix}{number:08}` and checks it against the id format of `kind`.
fn numbered_id(prefix: &str, origin: &'static str, number: u64, kind: IdKind) -> Result<String, BuildError> {
    if number > MAX_ID_NUMBER {
        return Err(BuildError::IdNumberTooLarge { origin, number, kind: kind.label() });
    }
    let id = format!("{prefix}{number:08}");
    if !ids::is_valid(kind, &id) {
        return Err(BuildError::InvalidGeneratedId { kind, id });
    }
    Ok(id)
}

fn finish_gallery(seed: GallerySeed, media: &[Media], collection_count: usize) -> Gallery {
    let key_image = seed.members.iter().copied().find(|member| media[*member].searchable);
    let created_at = seed.members.iter().map(|member| media[*member].created_at).min().unwrap_or_default();
    let modified_at = seed.members.iter().map(|member| media[*member].modified_at).max().unwrap_or(created_at);

    // The parent is the classification most members share. Ties go to the smallest index,
    // which `max_by_key` over a reversed range gives because it keeps the last maximum.
    let mut counts = vec![0usize; collection_count];
    for member in &seed.members {
        counts[media[*member].collection] += 1;
    }
    let collection = (0..collection_count).rev().max_by_key(|index| counts[*index]).unwrap_or_default();

    let description = describe_gallery(&seed.kind, &seed.name, seed.members.len());
    Gallery {
        mode: Mode::of_gallery(&seed.id),
        id: seed.id,
        name: seed.name,
        description,
        kind: seed.kind,
        members: seed.members,
        key_image,
        created_at,
        modified_at,
        collection,
    }
}

fn describe_gallery(kind: &GalleryKind, name: &str, member_count: usize) -> String {
    let works = plural_works(member_count);
    match kind {
        GalleryKind::CatalogueGroup { group_type: Some(group_type) } => {
            format!("Tate catalogue group of type {group_type} ({works}).")
        }
        GalleryKind::CatalogueGroup { group_type: None } => {
            format!("Tate catalogue group with no recorded type ({works}).")
        }
        GalleryKind::Artist => format!("Works by {name} in the Tate collection ({works})."),
        GalleryKind::Movement => {
            format!("Works of the {name} movement in the Tate collection ({works}).")
        }
    }
}

fn plural_works(count: usize) -> String {
    if count == 1 {
        "1 work".to_owned()
    } else {
        format!("{count} works")
    }
}

fn build_collections(
    names: &BTreeSet<&str>,
    media: &[Media],
    galleries: &[Gallery],
) -> Result<Vec<Collection>, BuildError> {
    let mut collections = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let id = numbered_id("C0000cls", "classification", index as u64, IdKind::Collection)?;
        let works: Vec<&Media> = media.iter().filter(|item| item.collection == index).collect();
        let created_at = works.iter().map(|item| item.created_at).min().unwrap_or_default();
        let modified_at = works.iter().map(|item| item.modified_at).max().unwrap_or(created_at);
        let gallery_indices = galleries
            .iter()
            .enumerate()
            .filter(|(_, gallery)| gallery.collection == index)
            .map(|(gallery_index, _)| gallery_index)
            .collect();

        collections.push(Collection {
            id,
            name: (*name).to_owned(),
            description: format!("Tate works classified as {name} ({}).", plural_works(works.len())),
            galleries: gallery_indices,
            created_at,
            modified_at,
        });
    }
    Ok(collections)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artworks(lines: &[&str]) -> Vec<Artwork> {
        lines.iter().map(|line| serde_json::from_str(line).expect("valid test record")).collect()
    }

    const ORG: &str = "O0000TateDemo001";

    #[test]
    fn build_makes_galleries_and_collections() {
        let records = artworks(&[
            r#"{"acno":"A1","title":"a","artists":["Zed","Amy"],"classification":"painting",
                "group":{"id":42,"title":"Sketchbook","type":"Turner Sketchbook"},
                "movements":["Pop"],"thumbnail_url":"http://e.invalid/1"}"#,
            r#"{"acno":"A2","title":"b","artists":["Amy","Amy"],"classification":null,
                "group":{"id":42,"title":"Sketchbook","type":"Turner Sketchbook"}}"#,
            r#"{"acno":"A3","title":"c","artists":[],"classification":null}"#,
        ]);
        let library = Library::build(&records, ORG).expect("library builds");

        let ids: Vec<&str> = library.galleries.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, vec!["G0000grp00000042", "G0000art00000000", "G0000art00000001", "G0000mov00000000"]);
        let amy = library.gallery_by_id("G0000art00000000").expect("Amy's gallery");
        assert_eq!(amy.name, "Amy");
        assert_eq!(amy.members, vec![0, 1]);
        assert_eq!(amy.key_image, Some(0));

        let names: Vec<&str> = library.collections.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["painting", "unclassified"]);
        assert_eq!(library.collections[1].id, "C0000cls00000001");

        // One painting and one unclassified member: the tie goes to the smaller index.
        let group = library.gallery_by_id("G0000grp00000042").expect("group gallery");
        assert_eq!(group.collection, 0);
        assert_eq!(library.media[2].galleries, Vec::<usize>::new());
    }

    #[test]
    fn build_rejects_bad_org_id() {
        let error = Library::build(&[], "O0000short").expect_err("short org id");
        assert!(matches!(error, BuildError::InvalidOrgId(_)));
    }

    #[test]
    fn gallery_modes_follow_shares() {
        let private =
            (0..10_000).filter(|index| Mode::of_gallery(&format!("G0000art{index:08}")) == Mode::Private).count();
        assert!((200..=400).contains(&private), "{private}");
    }
}
