//! PhotoShelter resources turned into catalog records.
//!
//! Each parser takes one JSON resource (`{id, type, attributes, ...}`) and returns a record or
//! a [`Skip`] saying why the record cannot be used; the sync counts skips and goes on.
//! Related resources are read from a per-item `includes` object (what production clients
//! observe) or, failing that, from a JSON:API-style `included` object.

use loci_shared::ids::{CollectionId, GalleryId, MediaId};
use loci_shared::rights::source::RightsSource;
use loci_shared::time::{parse_instant, Millis};
use serde_json::Value;

/// Why a record was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {id}: {reason}")]
pub struct Skip {
    /// The resource kind, such as `media`.
    pub kind: &'static str,
    /// The id as received (or `?`).
    pub id: String,
    /// What was wrong.
    pub reason: String,
}

/// A gallery as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GalleryRecord {
    /// The gallery id.
    pub id: GalleryId,
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The effective visibility mode (`everyone`, `private`, `permission`, or what was sent).
    pub mode: String,
    /// Whether it is listed on the public site.
    pub is_listed: bool,
    /// The key image, if set.
    pub key_image_id: Option<MediaId>,
    /// Last modification.
    pub modified_at: Option<Millis>,
}

/// A collection as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionRecord {
    /// The collection id.
    pub id: CollectionId,
    /// The name.
    pub name: String,
}

/// A media item with its IPTC, custom metadata and gallery membership.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRecord {
    /// The media id.
    pub id: MediaId,
    /// The IPTC title, else the file name.
    pub title: String,
    /// The IPTC author.
    pub creator: Option<String>,
    /// The IPTC caption.
    pub caption: Option<String>,
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// IPTC keywords, lower case, de-duplicated.
    pub keywords: Vec<String>,
    /// IPTC categories, lower case.
    pub categories: Vec<String>,
    /// Galleries holding the media.
    pub galleries: Vec<GalleryId>,
    /// Last modification.
    pub modified_at: Option<Millis>,
    /// The raw rights values (gallery visibility is added by the sync).
    pub rights: RightsSource,
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn raw_json(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn number(value: Option<&Value>) -> Option<u32> {
    match value? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn timestamp(attributes: &Value, names: &[&str]) -> Option<Millis> {
    names.iter().find_map(|name| attributes.get(*name).and_then(Value::as_str).and_then(parse_instant))
}

fn id_of(item: &Value) -> String {
    item.get("id").and_then(Value::as_str).unwrap_or("?").chars().take(40).collect()
}

fn skip(kind: &'static str, item: &Value, reason: impl Into<String>) -> Skip {
    Skip { kind, id: id_of(item), reason: reason.into() }
}

fn parse_id<I: std::str::FromStr<Err = loci_shared::ids::InvalidId>>(
    kind: &'static str,
    item: &Value,
) -> Result<I, Skip> {
    let raw = item.get("id").and_then(Value::as_str).ok_or_else(|| skip(kind, item, "no `id`"))?;
    raw.parse().map_err(|e: loci_shared::ids::InvalidId| skip(kind, item, e.to_string()))
}

/// The attributes of a related resource, from `includes.<name>.data` or `included.<name>.data`.
fn included<'v>(item: &'v Value, name: &str) -> Option<&'v Value> {
    let holder = item.get("includes").or_else(|| item.get("included"))?;
    holder.get(name)?.get("data")
}

/// Parses a gallery resource from `/galleries`.
pub fn parse_gallery(item: &Value) -> Result<GalleryRecord, Skip> {
    let id = parse_id("gallery", item)?;
    let attributes = item
        .get("attributes")
        .filter(|a| a.is_object())
        .ok_or_else(|| skip("gallery", item, "no `attributes` object"))?;
    let name = text(attributes.get("name")).ok_or_else(|| skip("gallery", item, "no `name`"))?;
    let mode = text(attributes.get("effective_mode"))
        .or_else(|| text(attributes.get("mode")))
        .unwrap_or_else(|| "unknown".to_owned());
    let is_listed = match attributes.get("is_listed") {
        Some(Value::Bool(listed)) => *listed,
        None | Some(Value::Null) => mode == "everyone",
        Some(other) => return Err(skip("gallery", item, format!("`is_listed` is not a boolean: {other}"))),
    };
    Ok(GalleryRecord {
        id,
        name,
        description: text(attributes.get("description")),
        mode,
        is_listed,
        key_image_id: text(attributes.get("key_image_id")).and_then(|id| id.parse().ok()),
        modified_at: timestamp(attributes, &["modified_at", "updated_at"]),
    })
}

/// Parses a collection resource from `/collections`.
pub fn parse_collection(item: &Value) -> Result<CollectionRecord, Skip> {
    let id = parse_id("collection", item)?;
    let name = item
        .pointer("/attributes/name")
        .and_then(Value::as_str)
        .ok_or_else(|| skip("collection", item, "no `name`"))?;
    Ok(CollectionRecord { id, name: name.to_owned() })
}

/// The gallery ids among the children of a collection (`/collections/{id}/children`).
pub fn gallery_children(items: &[Value]) -> Vec<GalleryId> {
    items
        .iter()
        .filter(|item| item.get("type").and_then(Value::as_str) == Some("gallery"))
        .filter_map(|item| item.get("id").and_then(Value::as_str)?.parse().ok())
        .collect()
}

fn keyword_list(value: Option<&Value>) -> Vec<String> {
    let mut keywords: Vec<String> = match value {
        Some(Value::Array(items)) => items.iter().filter_map(|v| text(Some(v))).collect(),
        Some(Value::String(list)) => {
            list.split([',', ';']).map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    };
    for keyword in &mut keywords {
        *keyword = keyword.to_lowercase();
    }
    keywords.sort();
    keywords.dedup();
    keywords
}

/// Parses a media item from `/media?include=iptc,custom-metadata,galleries`.
pub fn parse_media(item: &Value) -> Result<MediaRecord, Skip> {
    let id: MediaId = parse_id("media", item)?;
    let attributes = item
        .get("attributes")
        .filter(|a| a.is_object())
        .ok_or_else(|| skip("media", item, "no `attributes` object"))?;
    let iptc = included(item, "iptc").and_then(|data| data.get("attributes")).cloned().unwrap_or(Value::Null);
    let custom = included(item, "custom-metadata")
        .or_else(|| included(item, "custom_metadata"))
        .and_then(|data| data.get("attributes"))
        .cloned()
        .unwrap_or(Value::Null);

    let galleries = match included(item, "galleries") {
        Some(Value::Array(refs)) => refs
            .iter()
            .map(|gallery| {
                let raw = gallery.get("id").and_then(Value::as_str).unwrap_or("");
                raw.parse::<GalleryId>().map_err(|e| skip("media", item, format!("gallery reference: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(skip("media", item, "`includes.galleries.data` is not a list")),
        None => Vec::new(),
    };

    let title = text(iptc.get("title"))
        .or_else(|| text(iptc.get("headline")))
        .or_else(|| text(attributes.get("file_name")))
        .ok_or_else(|| skip("media", item, "no title, headline or file name"))?;

    let rights = RightsSource {
        usage_channels: text(custom.get("Usage Channels")),
        campaigns: text(custom.get("Campaigns")),
        licence_start: text(custom.get("License Start Date")),
        licence_end: text(custom.get("License Expiration Date")),
        territory: text(custom.get("Territory")),
        model_released: raw_json(attributes.get("model_released")),
        property_released: raw_json(attributes.get("property_released")),
        copyright: text(iptc.get("copyright")),
        credit: text(iptc.get("credit")),
        galleries: Vec::new(),
    };

    Ok(MediaRecord {
        id,
        title,
        creator: text(iptc.get("author")),
        caption: text(iptc.get("caption")),
        width: number(attributes.get("width")),
        height: number(attributes.get("height")),
        keywords: keyword_list(iptc.get("keywords")),
        categories: keyword_list(iptc.get("category")),
        galleries,
        modified_at: timestamp(attributes, &["modified_at", "updated_at"]),
        rights,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn media_item() -> Value {
        json!({
            "id": "I000000000A00001", "type": "image",
            "attributes": {"file_name": "A00001.jpg", "width": 394, "height": 419, "model_released": null,
                           "modified_at": "2024-01-01 00:00:00 GMT"},
            "includes": {
                "iptc": {"data": {"type": "iptc", "attributes": {"title": "A Figure", "author": "Robert Blake",
                    "keywords": ["Man", "blessing", "man"], "category": "people, religion and belief", "credit": "Presented 1922",
                    "copyright": "© Tate"}}},
                "custom-metadata": {"data": {"attributes": {"Usage Channels": "web, email", "Territory": "worldwide"}}},
                "galleries": {"data": [{"id": "G0000art00000001", "type": "gallery"}]}
            }
        })
    }

    #[test]
    fn media_parses_iptc_custom_metadata_and_galleries() {
        let record = parse_media(&media_item()).unwrap();
        assert_eq!(record.title, "A Figure");
        assert_eq!(record.keywords, vec!["blessing".to_owned(), "man".to_owned()]);
        assert_eq!(record.categories, vec!["people".to_owned(), "religion and belief".to_owned()]);
        assert_eq!(record.galleries.len(), 1);
        assert_eq!(record.rights.usage_channels.as_deref(), Some("web, email"));
        assert_eq!(record.modified_at, parse_instant("2024-01-01"));
    }

    #[test]
    fn media_with_bad_id_or_gallery_is_skipped_with_reason() {
        let mut bad_id = media_item();
        bad_id["id"] = json!("X1");
        assert!(parse_media(&bad_id).unwrap_err().reason.contains("not a valid media id"));

        let mut bad_gallery = media_item();
        bad_gallery["includes"]["galleries"]["data"][0]["id"] = json!("nope");
        assert!(parse_media(&bad_gallery).unwrap_err().reason.contains("gallery reference"));

        let mut no_attributes = media_item();
        no_attributes["attributes"] = json!(5);
        assert_eq!(parse_media(&no_attributes).unwrap_err().reason, "no `attributes` object");
    }

    #[test]
    fn gallery_reads_effective_mode_and_listing() {
        let item = json!({"id": "G0000art00000001", "type": "gallery",
            "attributes": {"name": "Robert Blake", "mode": "everyone", "effective_mode": "private", "is_listed": false}});
        let record = parse_gallery(&item).unwrap();
        assert_eq!(record.mode, "private");
        assert!(!record.is_listed);
    }
}
