//! Reads from the active catalog generation.

use std::collections::HashMap;

use loci_shared::rights::Rights;
use serde::Deserialize;
use serde_json::Value;

use crate::db::{query_as, query_optional, Database, DbError, Statement};

/// An asset row of the active generation.
#[derive(Debug, Clone, Deserialize)]
pub struct AssetRow {
    /// Media id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Creator.
    pub creator: Option<String>,
    /// Caption.
    pub caption: Option<String>,
    /// Credit line.
    pub credit: Option<String>,
    /// Copyright notice.
    pub copyright: Option<String>,
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// JSON array of keywords.
    keywords: String,
    /// JSON array of gallery ids.
    galleries: String,
    /// The normalised rights as JSON.
    rights: String,
}

impl AssetRow {
    /// The keywords.
    pub fn keywords(&self) -> Vec<String> {
        serde_json::from_str(&self.keywords).unwrap_or_default()
    }

    /// The galleries holding the asset.
    pub fn galleries(&self) -> Vec<String> {
        serde_json::from_str(&self.galleries).unwrap_or_default()
    }

    /// The rights; a row whose rights cannot be decoded gets rights that deny everything.
    pub fn rights(&self) -> Rights {
        serde_json::from_str(&self.rights).unwrap_or_else(|error| {
            crate::log::warn(&format!(
                "asset {}: stored rights cannot be decoded ({error}); treating them as unknown",
                self.id
            ));
            Rights::unknown()
        })
    }
}

/// A gallery row of the active generation.
#[derive(Debug, Clone, Deserialize)]
pub struct GalleryRow {
    /// Gallery id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Effective visibility mode.
    pub mode: String,
    /// Listed on the public site (1) or not (0).
    pub is_listed: i64,
    /// The key image, if set.
    pub key_image_id: Option<String>,
    /// Number of member assets.
    pub asset_count: i64,
}

impl GalleryRow {
    /// Whether the gallery may be shown publicly.
    pub fn is_public(&self) -> bool {
        self.mode == "everyone" && self.is_listed != 0
    }
}

/// The active catalog generation and its size.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ActiveCatalog {
    /// The generation readers use.
    #[serde(rename = "active_generation")]
    pub generation: i64,
    /// How many assets it holds.
    pub asset_count: i64,
}

/// The active catalog, or `None` before the first successful sync.
pub async fn active_catalog(db: &impl Database) -> Result<Option<ActiveCatalog>, DbError> {
    query_optional(db, Statement::new("SELECT active_generation, asset_count FROM catalog_state WHERE id = 1", vec![]))
        .await
}

const ASSET_COLUMNS: &str =
    "id, title, creator, caption, credit, copyright, width, height, keywords, galleries, rights";

/// Loads assets by id; ids not in the catalog are absent from the map.
pub async fn load_assets(
    db: &impl Database,
    generation: i64,
    ids: &[String],
) -> Result<HashMap<String, AssetRow>, DbError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<AssetRow> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {ASSET_COLUMNS} FROM assets WHERE generation = ?1 AND id IN (SELECT value FROM json_each(?2))"
            ),
            vec![generation.into(), Value::from(ids.to_vec()).to_string().into()],
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|row| (row.id.clone(), row)).collect())
}

/// Loads one asset.
pub async fn load_asset(db: &impl Database, generation: i64, id: &str) -> Result<Option<AssetRow>, DbError> {
    query_optional(
        db,
        Statement::new(
            format!("SELECT {ASSET_COLUMNS} FROM assets WHERE generation = ?1 AND id = ?2"),
            vec![generation.into(), id.into()],
        ),
    )
    .await
}

const GALLERY_COLUMNS: &str = "id, name, description, mode, is_listed, key_image_id, asset_count";

/// Loads galleries by id.
pub async fn load_galleries(db: &impl Database, generation: i64, ids: &[String]) -> Result<Vec<GalleryRow>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    query_as(
        db,
        Statement::new(
            format!("SELECT {GALLERY_COLUMNS} FROM galleries WHERE generation = ?1 AND id IN (SELECT value FROM json_each(?2))"),
            vec![generation.into(), Value::from(ids.to_vec()).to_string().into()],
        ),
    )
    .await
}

/// Loads one gallery.
pub async fn load_gallery(db: &impl Database, generation: i64, id: &str) -> Result<Option<GalleryRow>, DbError> {
    query_optional(
        db,
        Statement::new(
            format!("SELECT {GALLERY_COLUMNS} FROM galleries WHERE generation = ?1 AND id = ?2"),
            vec![generation.into(), id.into()],
        ),
    )
    .await
}

/// Member asset ids of a gallery in gallery order, at most `limit`.
pub async fn gallery_members(
    db: &impl Database,
    generation: i64,
    gallery_id: &str,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    #[derive(Deserialize)]
    struct Member {
        asset_id: String,
    }
    let members: Vec<Member> = query_as(
        db,
        Statement::new(
            "SELECT asset_id FROM gallery_assets WHERE generation = ?1 AND gallery_id = ?2 ORDER BY position LIMIT ?3",
            vec![generation.into(), gallery_id.into(), limit.into()],
        ),
    )
    .await?;
    Ok(members.into_iter().map(|m| m.asset_id).collect())
}
