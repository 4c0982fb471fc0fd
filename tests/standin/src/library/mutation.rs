//! Changes to the library between two syncs, as `POST /__standin/mutate` requests them.
//!
//! A mutation checks every id and value first and changes nothing when one is wrong. It then
//! applies, in this order: IPTC revisions (`modify`), custom metadata edits (`rights`),
//! unpublished galleries, deletions and added media. A media may not be both deleted and
//! changed, and added media never go into a gallery the same mutation unpublishes. Every media it changes or adds gets
//! `modified_at` equal to the mutation clock, so `modify_start` at that clock returns exactly
//! those media. The clock defaults to 2026-01-01 00:00:00 GMT, one second after the latest
//! `modified_at` the Tate mapping can produce, and each later mutation without a clock takes
//! one second more than the previous mutation's clock.

use std::collections::{BTreeSet, HashSet};

use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Gallery, Library, Mode};
use crate::ids::{self, IdKind};
use crate::mapping::{self, Iptc, Media};
use crate::rights::Usage;
use crate::timefmt::{format_gmt, parse_gmt};

/// Most media one mutation may add.
pub const MAX_ADD: u32 = 10_000;

/// Prefix of added media ids; eight digits follow, counting from 1 since start.
const ADDED_ID_PREFIX: &str = "I0000new";

/// Largest number that fits the eight digits of an added media id.
const MAX_ADDED_NUMBER: u64 = 99_999_999;

/// Text appended to the IPTC title of a revised media.
pub const REVISED_TITLE_SUFFIX: &str = " (revised)";

/// Keyword added to a revised media.
pub const REVISED_KEYWORD: &str = "revised";

/// Keyword of every added media.
pub const ADDED_KEYWORD: &str = "new upload";

/// Returns the clock of the first mutation that names none: 2026-01-01 00:00:00 GMT, one
/// second after the latest `modified_at` of the Tate mapping.
pub fn first_default_clock() -> NaiveDateTime {
    mapping::latest_modification() + TimeDelta::seconds(1)
}

/// A mutation as the control receives it. Every part is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutationRequest {
    /// Media whose IPTC title gets `" (revised)"` appended and the keyword `"revised"`.
    #[serde(default)]
    pub modify: Vec<String>,
    /// Number of new media to create in a public gallery.
    #[serde(default)]
    pub add: u32,
    /// Media to remove, together with their gallery memberships.
    #[serde(default)]
    pub delete: Vec<String>,
    /// Custom metadata edits.
    #[serde(default)]
    pub rights: Vec<RightsEdit>,
    /// Galleries to make private and unlisted.
    #[serde(default)]
    pub unpublish_galleries: Vec<String>,
    /// The `modified_at` of everything this mutation changes, as `"YYYY-MM-DD HH:MM:SS GMT"`.
    #[serde(default)]
    pub clock: Option<String>,
}

/// New custom metadata values for one media: `{"id": media id, field name: value or null}`.
#[derive(Debug, Clone, Deserialize)]
pub struct RightsEdit {
    pub id: String,
    /// Field names with a string (set the field) or null (remove it).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// What a mutation did, as the control returns it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MutationSummary {
    /// The mutation clock, now the `modified_at` of every changed and added media.
    pub clock: String,
    pub modified: Vec<String>,
    pub added: Vec<String>,
    /// The gallery that received the added media, when any were added.
    pub added_to_gallery: Option<String>,
    pub deleted: Vec<String>,
    /// Media whose custom metadata changed.
    pub rights: Vec<String>,
    pub unpublished_galleries: Vec<String>,
    /// Every media whose `modified_at` is now the clock (modified, rights and added), sorted by
    /// id: what `modify_start` at the clock returns when no later mutation happened.
    pub changed: Vec<String>,
    pub counts: MutationCounts,
}

/// The lengths of the lists in a [`MutationSummary`].
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct MutationCounts {
    pub modified: usize,
    pub added: usize,
    pub deleted: usize,
    pub rights: usize,
    pub unpublished_galleries: usize,
    pub changed: usize,
}

/// Why a mutation was rejected. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MutationError {
    #[error("{list}: invalid {label} id {id:?}: expected {pattern}", label = kind.label(), pattern = kind.pattern())]
    InvalidId { list: &'static str, kind: IdKind, id: String },
    #[error("{list}: media {id} not found")]
    MediaNotFound { list: &'static str, id: String },
    #[error("unpublish_galleries: gallery {0} not found")]
    GalleryNotFound(String),
    #[error("media {0} is in delete and also in modify or rights; a deleted media cannot change")]
    DeletedAndChanged(String),
    #[error("rights: media {id}: the value of {field:?} must be a string, or null to remove the field")]
    InvalidFieldValue { id: String, field: String },
    #[error("rights: media {0}: a field name must not be empty")]
    EmptyFieldName(String),
    #[error("clock: invalid time {0:?}; expected \"YYYY-MM-DD HH:MM:SS GMT\"")]
    InvalidClock(String),
    #[error("add: at most {MAX_ADD} media per mutation, got {0}")]
    TooManyAdded(u32),
    #[error(
        "add: the ids {ADDED_ID_PREFIX}00000001 to {ADDED_ID_PREFIX}{MAX_ADDED_NUMBER} are used up; restart the server"
    )]
    AddedIdsExhausted,
    #[error("add: no gallery with mode \"everyone\" is left to place new media in")]
    NoPublicGallery,
}

impl MutationError {
    /// Reports whether the error names an id that does not exist (a 404 rather than a 400).
    pub fn is_not_found(&self) -> bool {
        matches!(self, MutationError::MediaNotFound { .. } | MutationError::GalleryNotFound(_))
    }
}

/// Where added media go and what they copy from the gallery's key image.
struct AddTarget {
    gallery: usize,
    thumbnail_url: Option<String>,
    size: Option<(u32, u32)>,
}

/// One field change: a new value, or `None` to remove the field.
type FieldEdit = (String, Option<String>);

/// The checked custom metadata edits of one media.
struct PlannedRights {
    media: usize,
    edits: Vec<FieldEdit>,
}

/// A checked mutation: indices instead of ids, ready to apply.
struct Plan {
    clock: NaiveDateTime,
    delete: Vec<usize>,
    modify: Vec<usize>,
    rights: Vec<PlannedRights>,
    unpublish: Vec<usize>,
    add: u32,
    add_target: Option<AddTarget>,
}

/// Drops repeated ids, keeping the first occurrence.
fn unique_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    ids.into_iter().map(String::as_str).filter(|id| seen.insert(*id)).collect()
}

impl Library {
    /// Applies a mutation and returns what changed. On an error nothing changes.
    pub fn mutate(&mut self, request: &MutationRequest) -> Result<MutationSummary, MutationError> {
        let plan = self.plan(request)?;
        let clock = plan.clock;

        let deleted: Vec<String> = plan.delete.iter().map(|index| self.media[*index].id.clone()).collect();
        let modified: Vec<String> = plan.modify.iter().map(|index| self.media[*index].id.clone()).collect();
        let rights: Vec<String> = plan.rights.iter().map(|planned| self.media[planned.media].id.clone()).collect();
        let unpublished: Vec<String> = plan.unpublish.iter().map(|index| self.galleries[*index].id.clone()).collect();

        // Edits first, while the planned indices are still valid; deletion renumbers media.
        for index in &plan.modify {
            revise(&mut self.media[*index], clock);
        }
        for planned in &plan.rights {
            edit_custom_metadata(&mut self.media[planned.media], &planned.edits, clock);
        }
        for index in &plan.unpublish {
            unpublish(&mut self.galleries[*index], clock);
        }
        self.delete_media(&plan.delete, clock);
        let added = match &plan.add_target {
            Some(target) => self.add_media(plan.add, target, clock)?,
            None => Vec::new(),
        };

        self.last_mutation_clock = Some(self.last_mutation_clock.map_or(clock, |last| last.max(clock)));

        let changed: BTreeSet<String> = modified.iter().chain(&rights).chain(&added).cloned().collect();
        let counts = MutationCounts {
            modified: modified.len(),
            added: added.len(),
            deleted: deleted.len(),
            rights: rights.len(),
            unpublished_galleries: unpublished.len(),
            changed: changed.len(),
        };
        Ok(MutationSummary {
            clock: format_gmt(clock),
            modified,
            added_to_gallery: plan.add_target.as_ref().map(|target| self.galleries[target.gallery].id.clone()),
            added,
            deleted,
            rights,
            unpublished_galleries: unpublished,
            changed: changed.into_iter().collect(),
            counts,
        })
    }

    /// Checks every part of a request against the library without changing it.
    fn plan(&self, request: &MutationRequest) -> Result<Plan, MutationError> {
        let clock = match &request.clock {
            Some(text) => parse_gmt(text).ok_or_else(|| MutationError::InvalidClock(text.clone()))?,
            None => match self.last_mutation_clock {
                Some(last) => (last + TimeDelta::seconds(1)).max(first_default_clock()),
                None => first_default_clock(),
            },
        };

        let delete = self.media_indices("delete", unique_ids(&request.delete))?;
        let modify = self.media_indices("modify", unique_ids(&request.modify))?;
        let rights = self.plan_rights(&request.rights)?;

        let deleted: HashSet<usize> = delete.iter().copied().collect();
        let changed = modify.iter().chain(rights.iter().map(|planned| &planned.media));
        if let Some(index) = changed.copied().find(|index| deleted.contains(index)) {
            return Err(MutationError::DeletedAndChanged(self.media[index].id.clone()));
        }

        let mut unpublish = Vec::new();
        for id in unique_ids(&request.unpublish_galleries) {
            if !ids::is_valid(IdKind::Gallery, id) {
                return Err(MutationError::InvalidId {
                    list: "unpublish_galleries",
                    kind: IdKind::Gallery,
                    id: id.to_owned(),
                });
            }
            let index =
                self.gallery_index.get(id).copied().ok_or_else(|| MutationError::GalleryNotFound(id.to_owned()))?;
            unpublish.push(index);
        }

        let add_target = if request.add == 0 {
            None
        } else {
            if request.add > MAX_ADD {
                return Err(MutationError::TooManyAdded(request.add));
            }
            if self.added_media_ids + u64::from(request.add) > MAX_ADDED_NUMBER {
                return Err(MutationError::AddedIdsExhausted);
            }
            Some(self.add_target(&unpublish, &deleted)?)
        };

        Ok(Plan { clock, delete, modify, rights, unpublish, add: request.add, add_target })
    }

    /// Checks a media id named in `list` and returns its index.
    fn media_position(&self, list: &'static str, id: &str) -> Result<usize, MutationError> {
        if !ids::is_valid(IdKind::Media, id) {
            return Err(MutationError::InvalidId { list, kind: IdKind::Media, id: id.to_owned() });
        }
        self.media_index.get(id).copied().ok_or_else(|| MutationError::MediaNotFound { list, id: id.to_owned() })
    }

    fn media_indices<'a>(
        &self,
        list: &'static str,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<usize>, MutationError> {
        ids.into_iter().map(|id| self.media_position(list, id)).collect()
    }

    /// Checks the custom metadata edits. Edits of one media named twice are merged in order.
    fn plan_rights(&self, edits: &[RightsEdit]) -> Result<Vec<PlannedRights>, MutationError> {
        let mut planned: Vec<PlannedRights> = Vec::new();
        for edit in edits {
            let index = self.media_position("rights", &edit.id)?;

            let mut values = Vec::with_capacity(edit.fields.len());
            for (name, value) in &edit.fields {
                if name.trim().is_empty() {
                    return Err(MutationError::EmptyFieldName(edit.id.clone()));
                }
                let value = match value {
                    Value::String(text) => Some(text.clone()),
                    Value::Null => None,
                    _ => return Err(MutationError::InvalidFieldValue { id: edit.id.clone(), field: name.clone() }),
                };
                values.push((name.clone(), value));
            }

            match planned.iter_mut().find(|existing| existing.media == index) {
                Some(existing) => existing.edits.extend(values),
                None => planned.push(PlannedRights { media: index, edits: values }),
            }
        }
        Ok(planned)
    }

    /// Picks the gallery for added media: the first gallery in library order with mode
    /// `everyone` that this mutation does not unpublish, preferring one whose key image stays,
    /// so the new media can copy its thumbnail.
    fn add_target(&self, unpublish: &[usize], deleted: &HashSet<usize>) -> Result<AddTarget, MutationError> {
        let public = |index: &usize| self.galleries[*index].mode == Mode::Everyone && !unpublish.contains(index);

        let with_key_image = (0..self.galleries.len())
            .filter(public)
            .find_map(|index| Some((index, self.galleries[index].key_image.filter(|key| !deleted.contains(key))?)));
        if let Some((gallery, key_image)) = with_key_image {
            let key = &self.media[key_image];
            return Ok(AddTarget { gallery, thumbnail_url: key.thumbnail_url.clone(), size: key.size });
        }

        let gallery = (0..self.galleries.len()).find(public).ok_or(MutationError::NoPublicGallery)?;
        Ok(AddTarget { gallery, thumbnail_url: None, size: None })
    }

    /// Removes media and their memberships, then renumbers every index that points at media.
    fn delete_media(&mut self, delete: &[usize], clock: NaiveDateTime) {
        if delete.is_empty() {
            return;
        }

        let deleted: HashSet<usize> = delete.iter().copied().collect();
        let mut touched_galleries: BTreeSet<usize> = BTreeSet::new();
        for index in delete {
            touched_galleries.extend(self.media[*index].galleries.iter().copied());
        }

        let mut new_index: Vec<Option<usize>> = vec![None; self.media.len()];
        let mut kept = Vec::with_capacity(self.media.len() - deleted.len());
        for (old, item) in std::mem::take(&mut self.media).into_iter().enumerate() {
            if !deleted.contains(&old) {
                new_index[old] = Some(kept.len());
                kept.push(item);
            }
        }
        self.media = kept;

        for (position, gallery) in self.galleries.iter_mut().enumerate() {
            gallery.members = gallery.members.iter().filter_map(|old| new_index[*old]).collect();
            if touched_galleries.contains(&position) {
                gallery.modified_at = clock;
            }
        }
        for gallery in &mut self.galleries {
            gallery.key_image = match gallery.key_image.and_then(|old| new_index[old]) {
                Some(key_image) => Some(key_image),
                None => gallery.members.iter().copied().find(|member| self.media[*member].searchable),
            };
        }

        self.by_upload_time = self.by_upload_time.iter().filter_map(|old| new_index[*old]).collect();
        self.by_file_name = self.by_file_name.iter().filter_map(|old| new_index[*old]).collect();
        self.media_index = super::index_by_id(self.media.iter().map(|item| item.id.as_str()));
    }

    /// Creates `count` media in the target gallery and returns their ids.
    fn add_media(
        &mut self,
        count: u32,
        target: &AddTarget,
        clock: NaiveDateTime,
    ) -> Result<Vec<String>, MutationError> {
        let mut added = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let id = self.next_added_id()?;
            let number = self.added_media_ids;
            let index = self.media.len();

            let gallery = &mut self.galleries[target.gallery];
            gallery.members.push(index);
            gallery.modified_at = clock;
            let collection = gallery.collection;

            let item = new_media(id.clone(), number, collection, target, clock);
            self.media.push(item);
            self.media[index].galleries.push(target.gallery);
            self.media_index.insert(id.clone(), index);
            self.insert_in_orders(index);
            added.push(id);
        }
        Ok(added)
    }

    /// Hands out the next unused `I0000new` id.
    fn next_added_id(&mut self) -> Result<String, MutationError> {
        loop {
            if self.added_media_ids >= MAX_ADDED_NUMBER {
                return Err(MutationError::AddedIdsExhausted);
            }
            self.added_media_ids += 1;
            let id = format!("{ADDED_ID_PREFIX}{:08}", self.added_media_ids);
            // A Tate accession number such as "new00000001" would pad to the same id; skip it.
            if !self.media_index.contains_key(&id) {
                return Ok(id);
            }
        }
    }

    /// Inserts a new media index into both sort orders at its sorted position.
    fn insert_in_orders(&mut self, index: usize) {
        let media = &self.media;
        let item = &media[index];

        let upload_key = (item.created_at, &item.id);
        let position =
            self.by_upload_time.partition_point(|other| (media[*other].created_at, &media[*other].id) < upload_key);
        self.by_upload_time.insert(position, index);

        let name_key = (&item.file_name, &item.id);
        let position =
            self.by_file_name.partition_point(|other| (&media[*other].file_name, &media[*other].id) < name_key);
        self.by_file_name.insert(position, index);
    }
}

/// Appends `" (revised)"` to the IPTC title and adds the keyword `"revised"` once.
fn revise(item: &mut Media, clock: NaiveDateTime) {
    item.iptc.title.push_str(REVISED_TITLE_SUFFIX);
    if !item.iptc.keywords.iter().any(|keyword| keyword == REVISED_KEYWORD) {
        item.iptc.keywords.push(REVISED_KEYWORD.to_owned());
    }
    item.modified_at = clock;
}

/// Replaces, adds (at the end) or removes custom metadata fields.
///
/// The IPTC `rights` sentence is left as it was: like PhotoShelter's IPTC and custom fields, the
/// two are edited separately.
fn edit_custom_metadata(item: &mut Media, edits: &[FieldEdit], clock: NaiveDateTime) {
    let mut fields = mapping::custom_metadata_fields(item);
    for (name, value) in edits {
        match value {
            None => fields.retain(|(existing, _)| existing != name),
            Some(value) => match fields.iter_mut().find(|(existing, _)| existing == name) {
                Some((_, current)) => current.clone_from(value),
                None => fields.push((name.clone(), value.clone())),
            },
        }
    }
    item.custom_metadata = Some(fields);
    item.modified_at = clock;
}

/// Makes a gallery private and unlisted.
fn unpublish(gallery: &mut Gallery, clock: NaiveDateTime) {
    gallery.mode = Mode::Private;
    gallery.modified_at = clock;
}

/// Builds an added media: uploaded and modified at the clock, cleared for every channel
/// worldwide, with the thumbnail and size of the target gallery's key image when it has one.
fn new_media(id: String, number: u64, collection: usize, target: &AddTarget, clock: NaiveDateTime) -> Media {
    let usage = Usage::TateCleared { malformed_expiration: None };
    let title = format!("New upload {number}");
    let iptc = Iptc {
        caption: format!("{title}, added by the stand-in's mutate control."),
        title,
        author: None,
        keywords: vec![ADDED_KEYWORD.to_owned()],
        category: None,
        credit: None,
        copyright: mapping::TATE_COPYRIGHT.to_owned(),
        rights: usage.rights_statement(),
        date_created: None,
        web_statement: None,
    };

    Media {
        acno: format!("new{number:08}"),
        file_name: format!("new{number:08}.jpg"),
        id,
        collection,
        size: target.size,
        created_at: clock,
        modified_at: clock,
        searchable: target.thumbnail_url.is_some(),
        thumbnail_url: target.thumbnail_url.clone(),
        iptc,
        usage,
        source_url: None,
        custom_metadata: None,
        galleries: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tate::Artwork;

    const ORG: &str = "O0000TateDemo001";

    fn library() -> Library {
        let records: Vec<Artwork> = [
            r#"{"acno":"A1","title":"one","artists":["Amy"],"thumbnail_url":"http://e.invalid/1",
                "acquisition_year":1990}"#,
            r#"{"acno":"A2","title":"two","artists":["Amy"],"thumbnail_url":"http://e.invalid/2",
                "acquisition_year":1980}"#,
            r#"{"acno":"A3","title":"three","artists":["Bob"],"acquisition_year":1970}"#,
        ]
        .iter()
        .map(|line| serde_json::from_str(line).expect("valid test record"))
        .collect();
        Library::build(&records, ORG).expect("library builds")
    }

    fn request(json: &str) -> MutationRequest {
        serde_json::from_str(json).expect("valid mutation request")
    }

    #[test]
    fn default_clock_follows_every_mapped_time() {
        assert_eq!(format_gmt(first_default_clock()), "2026-01-01 00:00:00 GMT");
        let mut library = library();
        let first = library.mutate(&request(r#"{"modify":["I0000000000000A1"]}"#)).expect("applies");
        let second = library.mutate(&request(r#"{"modify":["I0000000000000A1"]}"#)).expect("applies");
        assert_eq!(first.clock, "2026-01-01 00:00:00 GMT");
        assert_eq!(second.clock, "2026-01-01 00:00:01 GMT");
    }

    #[test]
    fn delete_renumbers_indices() {
        let mut library = library();
        let summary = library.mutate(&request(r#"{"delete":["I0000000000000A1"]}"#)).expect("applies");
        assert_eq!(summary.deleted, vec!["I0000000000000A1".to_owned()]);

        assert_eq!(library.media.len(), 2);
        assert!(library.media_by_id("I0000000000000A1").is_none());
        let two = library.media_by_id("I0000000000000A2").expect("A2 kept");
        assert_eq!(two.iptc.title, "two");
        let amy = library.gallery_by_id("G0000art00000000").expect("Amy's gallery");
        assert_eq!(amy.members.len(), 1);
        assert_eq!(library.media[amy.members[0]].id, "I0000000000000A2");
        assert_eq!(amy.key_image, Some(amy.members[0]));
        assert_eq!(amy.modified_at, first_default_clock());
        assert_eq!(library.media_by_upload_time().len(), 2);
    }

    #[test]
    fn add_places_media_in_public_gallery() {
        let mut library = library();
        let summary = library.mutate(&request(r#"{"add":2}"#)).expect("applies");
        assert_eq!(summary.added, vec!["I0000new00000001".to_owned(), "I0000new00000002".to_owned()]);

        let gallery = library.gallery_by_id(summary.added_to_gallery.as_deref().expect("a gallery")).expect("exists");
        assert_eq!(gallery.mode, Mode::Everyone);
        let added = library.media_by_id("I0000new00000002").expect("added");
        assert!(added.searchable);
        assert_eq!(added.created_at, first_default_clock());
        let last_uploaded = *library.media_by_upload_time().last().expect("non-empty");
        assert_eq!(library.media[last_uploaded].id, "I0000new00000002");
    }

    #[test]
    fn invalid_request_changes_nothing() {
        let mut library = library();
        let missing = library.mutate(&request(r#"{"modify":["I0000000000000A1"],"delete":["I0000000000000A9"]}"#));
        assert!(missing.as_ref().is_err_and(MutationError::is_not_found), "{missing:?}");
        assert_eq!(library.media_by_id("I0000000000000A1").expect("kept").iptc.title, "one");

        let conflict = library.mutate(&request(r#"{"modify":["I0000000000000A1"],"delete":["I0000000000000A1"]}"#));
        assert_eq!(conflict, Err(MutationError::DeletedAndChanged("I0000000000000A1".to_owned())));

        let bad_value = library.mutate(&request(r#"{"rights":[{"id":"I0000000000000A1","Territory":5}]}"#));
        assert!(matches!(bad_value, Err(MutationError::InvalidFieldValue { .. })), "{bad_value:?}");
        assert_eq!(library.media.len(), 3);
    }

    #[test]
    fn rights_edit_replaces_and_removes_fields() {
        let mut library = library();
        library
            .mutate(&request(
                r#"{"rights":[{"id":"I0000000000000A1","Usage Channels":"web","Territory":null,"Campaigns":"spring"}]}"#,
            ))
            .expect("applies");
        let item = library.media_by_id("I0000000000000A1").expect("exists");
        let fields = mapping::custom_metadata_fields(item);
        let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, vec!["Usage Channels", "Campaigns"]);
        assert_eq!(fields[0].1, "web");
    }
}
