//! JSON:API-style resource objects (`{id, type, attributes}`) for the library's records.

use serde_json::{json, Map, Value};

use crate::library::{Collection, Gallery, Library, Mode};
use crate::mapping::{self, Media};
use crate::timefmt::format_gmt;

/// Name of the organization the stand-in serves.
pub const ORGANIZATION_NAME: &str = "Tate Collection (stand-in)";

/// The organization object in the `/authenticate` reply.
pub fn organization(org_id: &str) -> Value {
    json!({
        "id": org_id,
        "type": "organization",
        "attributes": { "name": ORGANIZATION_NAME },
    })
}

/// The `/media/{id}` resource.
pub fn media(library: &Library, item: &Media) -> Value {
    let (width, height) = match item.size {
        Some((width, height)) => (json!(width), json!(height)),
        None => (Value::Null, Value::Null),
    };
    json!({
        "id": item.id,
        "type": "image",
        "attributes": {
            "file_name": item.file_name,
            "width": width,
            "height": height,
            "created_at": format_gmt(item.created_at),
            "modified_at": format_gmt(item.modified_at),
            // No Tate field records model or property releases.
            "model_released": null,
            "property_released": null,
            "searchable": item.searchable,
            "owner_id": library.org_id,
        },
    })
}

/// The `/media/{id}/iptc` resource.
pub fn iptc(item: &Media) -> Value {
    let fields = &item.iptc;
    json!({
        "id": item.id,
        "type": "iptc",
        "attributes": {
            "title": fields.title,
            "caption": fields.caption,
            "author": fields.author,
            "keywords": fields.keywords,
            "category": fields.category,
            "credit": fields.credit,
            "copyright": fields.copyright,
            "rights": fields.rights,
            "source": mapping::SOURCE,
            "date_created": fields.date_created,
            "web_statement": fields.web_statement,
        },
    })
}

/// The `/media/{id}/custom-metadata` resource: one attribute per field the work has.
pub fn custom_metadata(item: &Media) -> Value {
    let attributes: Map<String, Value> =
        mapping::custom_metadata_fields(item).into_iter().map(|(name, value)| (name, Value::String(value))).collect();
    json!({
        "id": item.id,
        "type": "custom-metadata",
        "attributes": attributes,
    })
}

/// A bare reference, `{id, type: "gallery"}`.
pub fn gallery_ref(gallery: &Gallery) -> Value {
    json!({ "id": gallery.id, "type": "gallery" })
}

/// The `/galleries/{id}` resource.
///
/// Galleries that are not private inherit access from their collection (`access_inherit`).
pub fn gallery(library: &Library, gallery: &Gallery) -> Value {
    let key_image_id =
        gallery.key_image.map(|index| Value::String(library.media[index].id.clone())).unwrap_or(Value::Null);
    json!({
        "id": gallery.id,
        "type": "gallery",
        "attributes": {
            "name": gallery.name,
            "description": gallery.description,
            "mode": gallery.mode.as_str(),
            "effective_mode": gallery.mode.as_str(),
            "access_inherit": gallery.mode == Mode::Everyone,
            "is_listed": gallery.mode != Mode::Private,
            "key_image_id": key_image_id,
            "created_at": format_gmt(gallery.created_at),
            "modified_at": format_gmt(gallery.modified_at),
        },
    })
}

/// A gallery as listed by `/collections/{id}/children`.
pub fn collection_child(gallery: &Gallery) -> Value {
    json!({
        "id": gallery.id,
        "type": "gallery",
        "attributes": {
            "name": gallery.name,
            "mode": gallery.mode.as_str(),
            "effective_mode": gallery.mode.as_str(),
            "access_inherit": gallery.mode == Mode::Everyone,
        },
    })
}

/// A thin media reference as listed by `/galleries/{id}/children`.
pub fn gallery_child(item: &Media, display_order: usize) -> Value {
    json!({
        "id": item.id,
        "type": "image",
        "attributes": {
            "display_order": display_order,
            "creation_time": format_gmt(item.created_at),
            "modification_time": format_gmt(item.modified_at),
        },
    })
}

/// The `/collections/{id}` resource. Collections are public and sit at the library root.
pub fn collection(collection: &Collection) -> Value {
    json!({
        "id": collection.id,
        "type": "collection",
        "attributes": {
            "name": collection.name,
            "description": collection.description,
            "mode": Mode::Everyone.as_str(),
            "effective_mode": Mode::Everyone.as_str(),
            "access_inherit": false,
            "is_listed": true,
            "parent_id": null,
            "created_at": format_gmt(collection.created_at),
            "modified_at": format_gmt(collection.modified_at),
        },
    })
}
