//! Handlers for the data endpoints under `/psapi/v4.0`: library, collections, galleries and
//! media. Every handler here needs an organization session (see `auth`).

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::Json;
use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use crate::auth::OrgSession;
use crate::error::ApiError;
use crate::ids::IdKind;
use crate::library::{Collection, Gallery, Library};
use crate::mapping::Media;
use crate::paging::{page_of, PageRequest};
use crate::query::{check_id, Params, SortDirection};
use crate::resources;
use crate::state::AppState;
use crate::timefmt::parse_gmt;

/// Related resources `/media` and `/media/{id}` can embed per item.
const MEDIA_INCLUDES: [&str; 3] = ["iptc", "custom-metadata", "galleries"];

/// Sort keys of `/galleries` and `/collections`; the first is the default.
const CONTAINER_SORTS: [&str; 3] = ["creation_time", "modification_time", "name"];

/// Sort keys of `/galleries/{id}/children`; the first is the default.
const GALLERY_CHILD_SORTS: [&str; 4] = ["display_order", "creation_time", "modification_time", "file_name"];

/// Sort keys of media search; the first is the default.
const MEDIA_SORTS: [&str; 2] = ["upload_time", "file_name"];

/// Media types media search accepts in `media_type`.
const MEDIA_TYPES: [&str; 4] = ["image", "video", "audio", "doc"];

/// Wraps one resource in the envelope.
fn single(data: Value) -> Json<Value> {
    Json(json!({ "data": data, "meta": {} }))
}

fn find_media<'a>(library: &'a Library, id: &str) -> Result<&'a Media, ApiError> {
    check_id(IdKind::Media, id)?;
    library.media_by_id(id).ok_or_else(|| ApiError::NotFound(format!("media {id} not found")))
}

fn find_gallery<'a>(library: &'a Library, id: &str) -> Result<&'a Gallery, ApiError> {
    check_id(IdKind::Gallery, id)?;
    library.gallery_by_id(id).ok_or_else(|| ApiError::NotFound(format!("gallery {id} not found")))
}

fn find_collection<'a>(library: &'a Library, id: &str) -> Result<&'a Collection, ApiError> {
    check_id(IdKind::Collection, id)?;
    library.collection_by_id(id).ok_or_else(|| ApiError::NotFound(format!("collection {id} not found")))
}

/// Checks the optional `collection_id` context of a gallery call: the collection must exist
/// and contain the gallery.
fn check_collection_context(library: &Library, params: &Params, gallery: &Gallery) -> Result<(), ApiError> {
    let Some(collection_id) = params.id("collection_id", IdKind::Collection)? else {
        return Ok(());
    };
    let collection = find_collection(library, collection_id)?;
    if library.collections[gallery.collection].id != collection.id {
        return Err(ApiError::NotFound(format!("gallery {} is not in collection {collection_id}", gallery.id)));
    }
    Ok(())
}

/// Orders containers by a `CONTAINER_SORTS` key, then by id so equal keys keep a stable order.
fn compare_containers(
    sort_by: &str,
    direction: SortDirection,
    (a_name, a_created, a_modified, a_id): (&str, NaiveDateTime, NaiveDateTime, &str),
    (b_name, b_created, b_modified, b_id): (&str, NaiveDateTime, NaiveDateTime, &str),
) -> Ordering {
    let ordering = match sort_by {
        "modification_time" => a_modified.cmp(&b_modified),
        "name" => a_name.cmp(b_name),
        _ => a_created.cmp(&b_created),
    };
    direction.apply(ordering.then_with(|| a_id.cmp(b_id)))
}

fn gallery_key(gallery: &Gallery) -> (&str, NaiveDateTime, NaiveDateTime, &str) {
    (&gallery.name, gallery.created_at, gallery.modified_at, &gallery.id)
}

fn collection_key(collection: &Collection) -> (&str, NaiveDateTime, NaiveDateTime, &str) {
    (&collection.name, collection.created_at, collection.modified_at, &collection.id)
}

/// `GET /library`: the root collections.
pub async fn library_root(
    State(state): State<AppState>,
    _session: OrgSession,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    list_collections(&state.library.read(), &params)
}

/// `GET /collections`: all collections (every collection is at the root).
pub async fn collections(
    State(state): State<AppState>,
    _session: OrgSession,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    list_collections(&state.library.read(), &params)
}

fn list_collections(library: &Library, params: &Params) -> Result<Json<Value>, ApiError> {
    let page = PageRequest::from_params(params)?;
    let sort_by = params.sort_by(&CONTAINER_SORTS)?;
    let direction = params.sort_direction()?;

    let mut collections: Vec<&Collection> = library.collections.iter().collect();
    collections.sort_by(|a, b| compare_containers(sort_by, direction, collection_key(a), collection_key(b)));
    Ok(Json(page_of(page, &collections, |collection| resources::collection(collection))))
}

/// `GET /collections/{id}`.
pub async fn collection(
    State(state): State<AppState>,
    _session: OrgSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let library = state.library.read();
    let collection = find_collection(&library, &id)?;
    Ok(single(resources::collection(collection)))
}

/// `GET /collections/{id}/children`: the collection's galleries.
pub async fn collection_children(
    State(state): State<AppState>,
    _session: OrgSession,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let library = &*state.library.read();
    let collection = find_collection(library, &id)?;
    let page = PageRequest::from_params(&params)?;

    let children: Vec<&Gallery> = collection.galleries.iter().map(|index| &library.galleries[*index]).collect();
    Ok(Json(page_of(page, &children, |gallery| resources::collection_child(gallery))))
}

/// `GET /galleries`: all galleries, optionally only those under `parent` (a collection id).
pub async fn galleries(
    State(state): State<AppState>,
    _session: OrgSession,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let library = &*state.library.read();
    let page = PageRequest::from_params(&params)?;
    let sort_by = params.sort_by(&CONTAINER_SORTS)?;
    let direction = params.sort_direction()?;
    let parent = match params.id("parent", IdKind::Collection)? {
        Some(parent_id) => Some(find_collection(library, parent_id)?),
        None => None,
    };

    let mut galleries: Vec<&Gallery> = library
        .galleries
        .iter()
        .filter(|gallery| parent.is_none_or(|parent| library.collections[gallery.collection].id == parent.id))
        .collect();
    galleries.sort_by(|a, b| compare_containers(sort_by, direction, gallery_key(a), gallery_key(b)));
    Ok(Json(page_of(page, &galleries, |gallery| resources::gallery(library, gallery))))
}

/// `GET /galleries/{id}`.
pub async fn gallery(
    State(state): State<AppState>,
    _session: OrgSession,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let library = &*state.library.read();
    let gallery = find_gallery(library, &id)?;
    check_collection_context(library, &params, gallery)?;
    Ok(single(resources::gallery(library, gallery)))
}

/// `GET /galleries/{id}/children`: thin references to the gallery's images.
pub async fn gallery_children(
    State(state): State<AppState>,
    _session: OrgSession,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let library = &*state.library.read();
    let gallery = find_gallery(library, &id)?;
    check_collection_context(library, &params, gallery)?;
    let page = PageRequest::from_params(&params)?;
    let sort_by = params.sort_by(&GALLERY_CHILD_SORTS)?;
    let direction = params.sort_direction()?;

    // Display order counts from 1 in export order, whatever order the page is sorted in.
    let mut children: Vec<(usize, &Media)> =
        gallery.members.iter().enumerate().map(|(position, index)| (position + 1, &library.media[*index])).collect();
    children.sort_by(|(a_order, a), (b_order, b)| {
        let ordering = match sort_by {
            "creation_time" => a.created_at.cmp(&b.created_at),
            "modification_time" => a.modified_at.cmp(&b.modified_at),
            "file_name" => a.file_name.cmp(&b.file_name),
            _ => a_order.cmp(b_order),
        };
        direction.apply(ordering.then_with(|| a_order.cmp(b_order)))
    });
    Ok(Json(page_of(page, &children, |(display_order, item)| resources::gallery_child(item, *display_order))))
}

/// `GET /galleries/{id}/child-count`: counts by media type in `meta.children_count`.
pub async fn gallery_child_count(
    State(state): State<AppState>,
    _session: OrgSession,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let library = &*state.library.read();
    let gallery = find_gallery(library, &id)?;
    check_collection_context(library, &params, gallery)?;

    let images = gallery.members.len();
    Ok(Json(json!({
        "meta": {
            "children_count": {
                "audio": 0,
                "documents": 0,
                "images": images,
                "videos": 0,
                "total": images,
            }
        }
    })))
}

/// Renders a media resource, adding a per-item `includes` object when anything was requested.
fn media_with_includes(library: &Library, item: &Media, includes: &[&str]) -> Value {
    let mut resource = resources::media(library, item);
    if includes.is_empty() {
        return resource;
    }

    let mut included = Map::new();
    for name in includes {
        let data = match *name {
            "iptc" => resources::iptc(item),
            "custom-metadata" => resources::custom_metadata(item),
            _ => Value::Array(
                item.galleries.iter().map(|index| resources::gallery_ref(&library.galleries[*index])).collect(),
            ),
        };
        included.insert((*name).to_owned(), json!({ "data": data }));
    }
    if let Some(object) = resource.as_object_mut() {
        object.insert("includes".to_owned(), Value::Object(included));
    }
    resource
}

/// `GET /media/{id}`, with the same `include` options as media search.
pub async fn media(
    State(state): State<AppState>,
    _session: OrgSession,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let library = &*state.library.read();
    let item = find_media(library, &id)?;
    let includes = params.includes(&MEDIA_INCLUDES)?;
    Ok(single(media_with_includes(library, item, &includes)))
}

/// `GET /media/{id}/iptc`.
pub async fn media_iptc(
    State(state): State<AppState>,
    _session: OrgSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let library = state.library.read();
    let item = find_media(&library, &id)?;
    Ok(single(resources::iptc(item)))
}

/// `GET /media/{id}/custom-metadata`.
pub async fn media_custom_metadata(
    State(state): State<AppState>,
    _session: OrgSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let library = state.library.read();
    let item = find_media(&library, &id)?;
    Ok(single(resources::custom_metadata(item)))
}

/// `GET /media/{id}/galleries`: the galleries containing the image. With `include=gallery`,
/// each item also carries the full gallery under `includes.gallery.data`.
pub async fn media_galleries(
    State(state): State<AppState>,
    _session: OrgSession,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let library = &*state.library.read();
    let item = find_media(library, &id)?;
    let page = PageRequest::from_params(&params)?;
    let include_gallery = !params.includes(&["gallery"])?.is_empty();

    let galleries: Vec<&Gallery> = item.galleries.iter().map(|index| &library.galleries[*index]).collect();
    Ok(Json(page_of(page, &galleries, |gallery| {
        let mut reference = resources::collection_child(gallery);
        if include_gallery {
            if let Some(object) = reference.as_object_mut() {
                let full = resources::gallery(library, gallery);
                object.insert("includes".to_owned(), json!({ "gallery": { "data": full } }));
            }
        }
        reference
    })))
}

/// Upload-time and modification-time bounds of a media search, all inclusive.
#[derive(Debug, Default)]
struct TimeFilter {
    create_start: Option<NaiveDateTime>,
    create_end: Option<NaiveDateTime>,
    modify_start: Option<NaiveDateTime>,
    modify_end: Option<NaiveDateTime>,
}

impl TimeFilter {
    fn from_params(params: &Params) -> Result<TimeFilter, ApiError> {
        Ok(TimeFilter {
            create_start: time_param(params, "create_start")?,
            create_end: time_param(params, "create_end")?,
            modify_start: time_param(params, "modify_start")?,
            modify_end: time_param(params, "modify_end")?,
        })
    }

    fn matches(&self, item: &Media) -> bool {
        self.create_start.is_none_or(|start| item.created_at >= start)
            && self.create_end.is_none_or(|end| item.created_at <= end)
            && self.modify_start.is_none_or(|start| item.modified_at >= start)
            && self.modify_end.is_none_or(|end| item.modified_at <= end)
    }
}

fn time_param(params: &Params, name: &str) -> Result<Option<NaiveDateTime>, ApiError> {
    let Some(text) = params.get(name) else {
        return Ok(None);
    };
    parse_gmt(text).map(Some).ok_or_else(|| {
        ApiError::BadRequest(format!("{name}: invalid time {text:?}; expected \"YYYY-MM-DD HH:MM:SS GMT\""))
    })
}

/// Reads `media_type` and reports whether images are requested (all media here are images).
fn wants_images(params: &Params) -> Result<bool, ApiError> {
    let Some(value) = params.get("media_type") else {
        return Ok(true);
    };
    let mut wants_images = false;
    for media_type in value.split(',').map(str::trim).filter(|name| !name.is_empty()) {
        if !MEDIA_TYPES.contains(&media_type) {
            return Err(ApiError::BadRequest(format!(
                "media_type: invalid value {media_type:?}; expected a comma-separated list of {}",
                MEDIA_TYPES.join(", ")
            )));
        }
        wants_images |= media_type == "image";
    }
    Ok(wants_images)
}

/// `GET /media`: media search over the organization's library.
///
/// Needs `org_id`. Sorts by `upload_time` (default) or `file_name`, ascending unless
/// `sort_dir=desc`, and filters by `create_start`/`create_end`/`modify_start`/`modify_end`.
pub async fn media_search(
    State(state): State<AppState>,
    _session: OrgSession,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let library = &*state.library.read();
    let Some(org_id) = params.get("org_id") else {
        return Err(ApiError::BadRequest("media search needs at least org_id (the organization to search)".to_owned()));
    };
    check_id(IdKind::Organization, org_id)?;
    if org_id != library.org_id {
        return Err(ApiError::NotFound(format!("organization {org_id} not found")));
    }

    let includes = params.includes(&MEDIA_INCLUDES)?;
    let sort_by = params.sort_by(&MEDIA_SORTS)?;
    let direction = params.sort_direction()?;
    let page = PageRequest::from_params(&params)?;
    let filter = TimeFilter::from_params(&params)?;
    let wants_images = wants_images(&params)?;

    let order = match sort_by {
        "file_name" => library.media_by_file_name(),
        _ => library.media_by_upload_time(),
    };
    let keep = |index: &&usize| wants_images && filter.matches(&library.media[**index]);
    let matching: Vec<usize> = match direction {
        SortDirection::Ascending => order.iter().filter(keep).copied().collect(),
        SortDirection::Descending => order.iter().rev().filter(keep).copied().collect(),
    };

    let range = page.range(matching.len());
    let data: Vec<Value> =
        matching[range].iter().map(|index| media_with_includes(library, &library.media[*index], &includes)).collect();
    Ok(Json(json!({ "data": data, "meta": page.meta(matching.len()) })))
}
