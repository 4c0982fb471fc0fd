//! Media search with includes, single-media endpoints and search filters, on 500 artworks.

mod common;

use common::{encode, Standin};
use serde_json::Value;

const LIMIT: usize = 500;
const SEARCH: &str = "/psapi/v4.0/media?org_id=O0000TateDemo001";

fn items(body: &Value) -> &Vec<Value> {
    body["data"].as_array().expect("data is a list")
}

fn setup() -> (Standin, String) {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();
    (standin, token)
}

#[test]
fn search_needs_org_id() {
    let (standin, token) = setup();

    let missing = standin.get("/psapi/v4.0/media").authed(&token).send();
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error_id(), "BadRequestException");

    let other = standin.get("/psapi/v4.0/media?org_id=O0000SomeoneElse").authed(&token).send();
    assert_eq!(other.status, 404);
}

#[test]
fn search_includes_embed_per_item() {
    let (standin, token) = setup();
    let body = standin.fetch(&token, &format!("{SEARCH}&per_page=100&include=iptc,custom-metadata,galleries"));

    for item in items(&body) {
        let id = item["id"].as_str().expect("id");
        assert_eq!(item["type"], "image");

        let includes = &item["includes"];
        assert_eq!(includes["iptc"]["data"]["id"], id);
        assert_eq!(includes["iptc"]["data"]["type"], "iptc");
        assert!(includes["iptc"]["data"]["attributes"]["keywords"].is_array());
        assert_eq!(includes["custom-metadata"]["data"]["id"], id);
        assert!(includes["custom-metadata"]["data"]["attributes"].is_object());

        let galleries = includes["galleries"]["data"].as_array().expect("galleries");
        for gallery in galleries {
            assert_eq!(gallery["type"], "gallery");
            assert!(gallery["id"].as_str().is_some_and(|gallery_id| gallery_id.len() == 16));
        }

        // The embedded resources equal the standalone endpoints.
        let iptc = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}/iptc"));
        assert_eq!(iptc["data"], includes["iptc"]["data"]);
        let custom = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}/custom-metadata"));
        assert_eq!(custom["data"], includes["custom-metadata"]["data"]);
        let listed = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}/galleries"));
        let listed_ids: Vec<&Value> = items(&listed).iter().map(|entry| &entry["id"]).collect();
        let included_ids: Vec<&Value> = galleries.iter().map(|entry| &entry["id"]).collect();
        assert_eq!(listed_ids, included_ids);
    }
}

#[test]
fn search_without_include_has_no_includes() {
    let (standin, token) = setup();
    let body = standin.fetch(&token, &format!("{SEARCH}&per_page=5"));
    for item in items(&body) {
        assert!(item.get("includes").is_none(), "{item}");
    }

    let partial = standin.fetch(&token, &format!("{SEARCH}&per_page=5&include=iptc"));
    for item in items(&partial) {
        let includes = item["includes"].as_object().expect("includes");
        assert_eq!(includes.keys().collect::<Vec<_>>(), vec!["iptc"]);
    }
}

#[test]
fn search_unknown_include_is_400() {
    let (standin, token) = setup();
    let reply = standin.get(&format!("{SEARCH}&include=iptc,custom_metadata")).authed(&token).send();
    assert_eq!(reply.status, 400);
    let detail = reply.json()["errors"][0]["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("custom_metadata"), "{detail}");
}

#[test]
fn media_resource_attributes() {
    let (standin, token) = setup();
    let body = standin.fetch(&token, &format!("{SEARCH}&per_page=50"));

    for item in items(&body) {
        let attributes = &item["attributes"];
        let file_name = attributes["file_name"].as_str().expect("file_name");
        let id = item["id"].as_str().expect("id");
        assert!(file_name.ends_with(".jpg"), "{file_name}");
        assert!(id.starts_with("I0000") && id.len() == 16, "{id}");
        assert!(id.ends_with(file_name.trim_end_matches(".jpg")), "{id} vs {file_name}");
        assert_eq!(attributes["owner_id"], "O0000TateDemo001");
        assert!(attributes["searchable"].is_boolean());
        assert!(attributes["model_released"].is_null());
        assert!(attributes["property_released"].is_null());
        for key in ["created_at", "modified_at"] {
            let value = attributes[key].as_str().expect("timestamp");
            assert!(value.ends_with(" GMT") && value.len() == 23, "{key}: {value}");
        }
        assert!(attributes["created_at"].as_str() <= attributes["modified_at"].as_str());

        let single = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}"));
        assert_eq!(single["data"], *item);
    }
}

#[test]
fn media_single_accepts_include() {
    let (standin, token) = setup();
    let body = standin.fetch(&token, &format!("{SEARCH}&per_page=1"));
    let id = items(&body)[0]["id"].as_str().expect("id").to_owned();

    let single = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}?include=iptc,galleries"));
    assert!(single["data"]["includes"]["iptc"]["data"].is_object());
    assert!(single["data"]["includes"]["galleries"]["data"].is_array());
}

#[test]
fn media_galleries_include_gallery() {
    let (standin, token) = setup();
    let body = standin.fetch(&token, &format!("{SEARCH}&per_page=100&include=galleries"));
    let item = items(&body)
        .iter()
        .find(|item| item["includes"]["galleries"]["data"].as_array().is_some_and(|galleries| !galleries.is_empty()))
        .expect("some image is in a gallery");
    let id = item["id"].as_str().expect("id");

    let listed = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}/galleries?include=gallery"));
    for entry in items(&listed) {
        let name = &entry["includes"]["gallery"]["data"]["attributes"]["name"];
        assert!(name.is_string(), "{entry}");
        assert_eq!(entry["attributes"]["name"], *name);
    }
}

#[test]
fn search_sorts_by_upload_time_both_ways() {
    let (standin, token) = setup();

    let ascending = standin.fetch(&token, &format!("{SEARCH}&per_page=1000"));
    let created: Vec<&str> =
        items(&ascending).iter().map(|item| item["attributes"]["created_at"].as_str().expect("created_at")).collect();
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(created, sorted);

    let descending = standin.fetch(&token, &format!("{SEARCH}&per_page=1000&sort_dir=desc"));
    let mut reversed: Vec<&Value> = items(&descending).iter().map(|item| &item["id"]).collect();
    reversed.reverse();
    let forward: Vec<&Value> = items(&ascending).iter().map(|item| &item["id"]).collect();
    assert_eq!(reversed, forward);
}

#[test]
fn search_sorts_by_file_name() {
    let (standin, token) = setup();
    let body = standin.fetch(&token, &format!("{SEARCH}&per_page=1000&sort_by=file_name"));
    let names: Vec<&str> =
        items(&body).iter().map(|item| item["attributes"]["file_name"].as_str().expect("file_name")).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    let invalid = standin.get(&format!("{SEARCH}&sort_by=relevance")).authed(&token).send();
    assert_eq!(invalid.status, 400);
}

#[test]
fn search_modify_start_filters() {
    let (standin, token) = setup();
    let all = standin.fetch(&token, &format!("{SEARCH}&per_page=1000"));
    let mut modified: Vec<&str> =
        items(&all).iter().map(|item| item["attributes"]["modified_at"].as_str().expect("modified_at")).collect();
    modified.sort();
    let cutoff = modified[modified.len() / 2];
    let expected = modified.iter().filter(|value| **value >= cutoff).count();

    let filtered = standin.fetch(&token, &format!("{SEARCH}&per_page=1000&modify_start={}", encode(cutoff)));
    assert_eq!(filtered["meta"]["paging"]["total"], expected);
    for item in items(&filtered) {
        assert!(item["attributes"]["modified_at"].as_str().expect("modified_at") >= cutoff);
    }

    let malformed = standin.get(&format!("{SEARCH}&modify_start=2024-01-01T00:00:00Z")).authed(&token).send();
    assert_eq!(malformed.status, 400);
}

#[test]
fn search_media_type_filter() {
    let (standin, token) = setup();
    let images = standin.fetch(&token, &format!("{SEARCH}&media_type=image,video"));
    assert_eq!(images["meta"]["paging"]["total"], LIMIT);

    let videos = standin.fetch(&token, &format!("{SEARCH}&media_type=video"));
    assert_eq!(videos["meta"]["paging"]["total"], 0);

    let invalid = standin.get(&format!("{SEARCH}&media_type=hologram")).authed(&token).send();
    assert_eq!(invalid.status, 400);
}
