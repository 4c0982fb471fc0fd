//! Conversion between the shared wire types and the JavaScript values the browser parses and
//! serialises (`response.json()`, `JSON.stringify`).
//!
//! The widget reads fields with `Reflect.get` instead of a serde deserializer to stay well under
//! its 100 KB budget. Measured with wasm-bindgen 0.2.130 and `wasm-opt -Oz`, decoding with
//! serde-wasm-bindgen 0.6 made the widget 99.7 KB gzipped (wasm and JS glue), this module
//! 83.4 KB, and serde_json 1 was larger than both. Much of serde's share is float formatting
//! for its error messages. The field names and enum spellings here must match the serde attributes in
//! `loci_shared::api`: `tests/web.rs` round-trips every type through serde_json to check that.

use std::collections::BTreeMap;
use std::str::FromStr;

use js_sys::{Array, Object, Reflect};
use loci_shared::api::{
    Event, EventBatch, Reason, ReasonCode, RecommendationResponse, RecommendedAsset, RecommendedGallery,
};
use wasm_bindgen::{JsCast, JsValue};

/// Error for a JSON value that is not a valid response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct DecodeError {
    /// Path of the offending field, such as `assets[2].image_url`.
    pub field: String,
    /// The problem with the field.
    pub problem: &'static str,
}

impl DecodeError {
    fn new(field: &str, problem: &'static str) -> DecodeError {
        DecodeError { field: field.to_owned(), problem }
    }

    /// Prefixes the field path with the list and index the field was found in.
    fn in_list(self, list: &str, index: usize) -> DecodeError {
        DecodeError { field: format!("{list}[{index}].{}", self.field), problem: self.problem }
    }

    /// Prefixes the field path with the object field the field was found in.
    fn in_field(self, parent: &str) -> DecodeError {
        DecodeError { field: format!("{parent}.{}", self.field), problem: self.problem }
    }
}

/// Reads a `RecommendationResponse` from the parsed JSON body of `GET /v1/recommendations`.
pub fn decode_response(value: &JsValue) -> Result<RecommendationResponse, DecodeError> {
    if !value.is_object() {
        return Err(DecodeError::new("(body)", "is not a JSON object"));
    }

    let assets = array(value, "assets")?
        .iter()
        .enumerate()
        .map(|(index, asset)| decode_asset(&asset).map_err(|error| error.in_list("assets", index)))
        .collect::<Result<Vec<_>, _>>()?;
    let galleries = array(value, "galleries")?
        .iter()
        .enumerate()
        .map(|(index, gallery)| decode_gallery(&gallery).map_err(|error| error.in_list("galleries", index)))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(RecommendationResponse {
        request_id: string(value, "request_id")?,
        context: parsed(value, "context")?,
        placement: string(value, "placement")?,
        assets,
        galleries,
        filtered: counts(value, "filtered")?,
        engine: string(value, "engine")?,
    })
}

/// Reads the `detail` of a problem body, when the body is one.
pub fn decode_problem_detail(value: &JsValue) -> Option<String> {
    string(value, "detail").ok()
}

/// Reads the `code` and the `detail` of a problem body; each is `None` when absent.
pub fn decode_problem(value: &JsValue) -> (Option<String>, Option<String>) {
    (string(value, "code").ok(), decode_problem_detail(value))
}

/// Serialises an event batch to the JSON body of `POST /v1/events`. Absent optional fields
/// are left out, as the edge's deserializer defaults them.
pub fn encode_batch(batch: &EventBatch) -> Result<String, JsValue> {
    let events = Array::new();
    for event in &batch.events {
        events.push(&encode_event(event)?.into());
    }
    let body = Object::new();
    Reflect::set(&body, &"events".into(), &events)?;
    js_sys::JSON::stringify(&body).map(String::from)
}

fn encode_event(event: &Event) -> Result<Object, JsValue> {
    let object = Object::new();
    let set = |name: &str, value: JsValue| Reflect::set(&object, &name.into(), &value).map(drop);

    set("type", event.kind.as_str().into())?;
    set("request_id", event.request_id.as_str().into())?;
    if let Some(asset_id) = &event.asset_id {
        set("asset_id", asset_id.as_str().into())?;
    }
    if let Some(gallery_id) = &event.gallery_id {
        set("gallery_id", gallery_id.as_str().into())?;
    }
    if let Some(position) = event.position {
        set("position", position.into())?;
    }
    set("context", event.context.to_string().into())?;
    set("placement", event.placement.as_str().into())?;
    if let Some(page_id) = &event.page_id {
        set("page_id", page_id.as_str().into())?;
    }
    if let Some(visitor_id) = &event.visitor_id {
        set("visitor_id", visitor_id.as_str().into())?;
    }
    if let Some(dwell_ms) = event.dwell_ms {
        set("dwell_ms", JsValue::from_f64(dwell_ms as f64))?;
    }
    set("occurred_at", JsValue::from_f64(event.occurred_at as f64))?;
    Ok(object)
}

fn decode_asset(value: &JsValue) -> Result<RecommendedAsset, DecodeError> {
    Ok(RecommendedAsset {
        id: parsed(value, "id")?,
        title: string(value, "title")?,
        creator: optional_string(value, "creator")?,
        alt: string(value, "alt")?,
        image_url: string(value, "image_url")?,
        width: optional_u32(value, "width")?,
        height: optional_u32(value, "height")?,
        link: string(value, "link")?,
        reason: decode_reason(&field(value, "reason")).map_err(|error| error.in_field("reason"))?,
    })
}

fn decode_gallery(value: &JsValue) -> Result<RecommendedGallery, DecodeError> {
    Ok(RecommendedGallery {
        id: parsed(value, "id")?,
        name: string(value, "name")?,
        cover_image_url: string(value, "cover_image_url")?,
        cover_asset_id: parsed(value, "cover_asset_id")?,
        asset_count: optional_u32(value, "asset_count")?.ok_or(DecodeError::new("asset_count", "is missing"))?,
        link: string(value, "link")?,
        reason: decode_reason(&field(value, "reason")).map_err(|error| error.in_field("reason"))?,
    })
}

fn decode_reason(value: &JsValue) -> Result<Reason, DecodeError> {
    // A code newer than this widget still renders: the sentence comes from the edge, and the
    // code only feeds analytics, so an unknown one counts as a generic recommendation.
    let code = ReasonCode::from_wire(&string(value, "code")?).unwrap_or(ReasonCode::Recommended);
    Ok(Reason { code, text: string(value, "text")? })
}

/// Returns the property `name` of `object`, or `undefined` when it is absent or `object` is no object.
fn field(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

fn string(object: &JsValue, name: &str) -> Result<String, DecodeError> {
    field(object, name).as_string().ok_or_else(|| DecodeError::new(name, "is not a string"))
}

fn optional_string(object: &JsValue, name: &str) -> Result<Option<String>, DecodeError> {
    let value = field(object, name);
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or_else(|| DecodeError::new(name, "is not a string or null"))
}

fn optional_u32(object: &JsValue, name: &str) -> Result<Option<u32>, DecodeError> {
    let value = field(object, name);
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(number) if number.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&number) => {
            Ok(Some(number as u32))
        }
        _ => Err(DecodeError::new(name, "is not a whole number from 0 to 4294967295")),
    }
}

/// Reads a string field and parses it with `FromStr`, for ids and contexts.
fn parsed<T: FromStr>(object: &JsValue, name: &str) -> Result<T, DecodeError> {
    string(object, name)?.parse().map_err(|_| DecodeError::new(name, "is not a valid id"))
}

fn array(object: &JsValue, name: &str) -> Result<Array, DecodeError> {
    field(object, name).dyn_into::<Array>().map_err(|_| DecodeError::new(name, "is not an array"))
}

fn counts(object: &JsValue, name: &str) -> Result<BTreeMap<String, u32>, DecodeError> {
    let value = field(object, name);
    if !value.is_object() {
        return Err(DecodeError::new(name, "is not an object"));
    }
    let mut counts = BTreeMap::new();
    for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
        let Some(key) = key.as_string() else { continue };
        let count = optional_u32(&value, &key)
            .and_then(|count| count.ok_or(DecodeError::new(&key, "is not a whole number from 0 to 4294967295")))
            .map_err(|error| error.in_field(name))?;
        counts.insert(key, count);
    }
    Ok(counts)
}
