//! Paging, id validation, collections and galleries on the first 500 artworks.

mod common;

use std::collections::HashSet;

use common::Standin;
use serde_json::Value;

const LIMIT: usize = 500;

fn ids_of(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data is a list")
        .iter()
        .map(|item| item["id"].as_str().expect("item id").to_owned())
        .collect()
}

/// Walks every page of `path` (which must already have a query string) and returns the ids.
fn walk(standin: &Standin, token: &str, path: &str, per_page: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page = 1;
    loop {
        let body = standin.fetch(token, &format!("{path}&page={page}&per_page={per_page}"));
        let paging = &body["meta"]["paging"];
        assert_eq!(paging["page"], page);
        assert_eq!(paging["per_page"], per_page);

        let batch = ids_of(&body);
        if batch.is_empty() {
            let total = paging["total"].as_u64().expect("total") as usize;
            assert_eq!(ids.len(), total, "walk collected every item");
            assert_eq!(paging["pages"].as_u64(), Some(total.div_ceil(per_page) as u64));
            return ids;
        }
        ids.extend(batch);
        page += 1;
    }
}

#[test]
fn media_paging_reaches_the_end() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    let ids = walk(&standin, &token, "/psapi/v4.0/media?org_id=O0000TateDemo001", 70);
    assert_eq!(ids.len(), LIMIT);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), LIMIT, "no id repeats");

    let last = standin.fetch(&token, "/psapi/v4.0/media?org_id=O0000TateDemo001&page=8&per_page=70");
    assert_eq!(ids_of(&last).len(), LIMIT - 7 * 70);
}

#[test]
fn galleries_paging_reaches_the_end() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    let walked = walk(&standin, &token, "/psapi/v4.0/galleries?sort_by=name", 7);
    let one_page = standin.fetch(&token, "/psapi/v4.0/galleries?sort_by=name&per_page=1000");
    assert_eq!(walked, ids_of(&one_page));
}

#[test]
fn page_past_end_is_empty() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();
    let body = standin.fetch(&token, "/psapi/v4.0/media?org_id=O0000TateDemo001&page=99&per_page=50");
    assert_eq!(body["data"], Value::Array(Vec::new()));
    assert_eq!(body["meta"]["paging"]["total"], LIMIT);
    assert_eq!(body["meta"]["paging"]["pages"], 10);
}

#[test]
fn per_page_over_maximum_is_400() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    for path in [
        "/psapi/v4.0/media?org_id=O0000TateDemo001&per_page=1001",
        "/psapi/v4.0/galleries?per_page=5000",
        "/psapi/v4.0/collections?page=0",
        "/psapi/v4.0/galleries?page=abc",
    ] {
        let reply = standin.get(path).authed(&token).send();
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert_eq!(reply.error_id(), "BadRequestException", "{path}");
    }

    let reply = standin.get("/psapi/v4.0/galleries?per_page=1001").authed(&token).send();
    let detail = reply.json()["errors"][0]["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("1000"), "{detail}");
}

#[test]
fn per_page_defaults_to_50() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();
    let body = standin.fetch(&token, "/psapi/v4.0/media?org_id=O0000TateDemo001");
    assert_eq!(ids_of(&body).len(), 50);
    assert_eq!(body["meta"]["paging"]["per_page"], 50);
    assert_eq!(body["meta"]["paging"]["page"], 1);
}

#[test]
fn bad_id_format_is_400_and_unknown_is_404() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    for path in [
        "/psapi/v4.0/media/I0000short",
        "/psapi/v4.0/media/G0000grp00000001",
        "/psapi/v4.0/galleries/G0000bad-id-0001",
        "/psapi/v4.0/collections/C0000cls000000001",
        "/psapi/v4.0/media/I0000bad!id%2F001/galleries",
    ] {
        let reply = standin.get(path).authed(&token).send();
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
    }

    for path in [
        "/psapi/v4.0/media/I0000000ZZZ99999",
        "/psapi/v4.0/media/I0000000ZZZ99999/iptc",
        "/psapi/v4.0/media/I0000000ZZZ99999/custom-metadata",
        "/psapi/v4.0/galleries/G0000grp99999999",
        "/psapi/v4.0/galleries/G0000grp99999999/children",
        "/psapi/v4.0/collections/C0000cls00009999",
    ] {
        let reply = standin.get(path).authed(&token).send();
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
        assert_eq!(reply.error_id(), "ResourceNotFoundException", "{path}");
        assert_eq!(reply.json()["errors"][0]["status"], "404");
    }
}

#[test]
fn unknown_endpoint_is_json_404() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();
    let reply = standin.get("/psapi/v4.0/no-such-thing").authed(&token).send();
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_id(), "ResourceNotFoundException");
}

#[test]
fn library_lists_root_collections() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    let library = standin.fetch(&token, "/psapi/v4.0/library");
    let collections = standin.fetch(&token, "/psapi/v4.0/collections");
    assert_eq!(ids_of(&library), ids_of(&collections));
    assert!(!ids_of(&library).is_empty());

    for item in library["data"].as_array().expect("list") {
        assert_eq!(item["type"], "collection");
        let id = item["id"].as_str().expect("id");
        assert!(id.starts_with("C0000cls") && id.len() == 16, "{id}");
        assert!(item["attributes"]["name"].is_string());
    }
}

#[test]
fn collection_children_are_galleries() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    let collections = standin.fetch(&token, "/psapi/v4.0/collections");
    let mut seen = HashSet::new();
    for collection_id in ids_of(&collections) {
        let single = standin.fetch(&token, &format!("/psapi/v4.0/collections/{collection_id}"));
        assert_eq!(single["data"]["id"], collection_id.as_str());

        let children =
            standin.fetch(&token, &format!("/psapi/v4.0/collections/{collection_id}/children?per_page=1000"));
        for child in children["data"].as_array().expect("list") {
            assert_eq!(child["type"], "gallery");
            let attributes = &child["attributes"];
            for key in ["name", "mode", "effective_mode", "access_inherit"] {
                assert!(!attributes[key].is_null(), "{key} in {child}");
            }
            assert!(seen.insert(child["id"].as_str().expect("id").to_owned()));
        }
    }

    let galleries = standin.fetch(&token, "/psapi/v4.0/galleries?per_page=1000");
    assert_eq!(seen.len(), ids_of(&galleries).len(), "every gallery has one parent");
}

#[test]
fn gallery_children_and_count_agree() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    let galleries = standin.fetch(&token, "/psapi/v4.0/galleries?per_page=1000");
    for gallery in galleries["data"].as_array().expect("list").iter().take(10) {
        let id = gallery["id"].as_str().expect("id");
        let count = standin.fetch(&token, &format!("/psapi/v4.0/galleries/{id}/child-count"));
        let counts = &count["meta"]["children_count"];
        let images = counts["images"].as_u64().expect("images count");
        assert_eq!(counts["total"], images);
        assert_eq!(counts["videos"], 0);
        assert_eq!(counts["audio"], 0);
        assert_eq!(counts["documents"], 0);

        let children = standin.fetch(&token, &format!("/psapi/v4.0/galleries/{id}/children?per_page=1000"));
        let items = children["data"].as_array().expect("list");
        assert_eq!(items.len() as u64, images, "{id}");
        for (position, child) in items.iter().enumerate() {
            assert_eq!(child["type"], "image");
            assert_eq!(child["attributes"]["display_order"], position + 1);
            assert!(child["attributes"]["creation_time"].is_string());
            assert!(child["attributes"]["modification_time"].is_string());
        }
    }
}

#[test]
fn gallery_resource_has_attributes() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    let galleries = standin.fetch(&token, "/psapi/v4.0/galleries?per_page=1000");
    for gallery in galleries["data"].as_array().expect("list") {
        let id = gallery["id"].as_str().expect("id");
        assert_eq!(id.len(), 16, "{id}");
        assert!(["G0000grp", "G0000art", "G0000mov"].iter().any(|prefix| id.starts_with(prefix)), "{id}");

        let attributes = &gallery["attributes"];
        let mode = attributes["mode"].as_str().expect("mode");
        assert!(["everyone", "private", "permission"].contains(&mode));
        assert_eq!(attributes["effective_mode"], mode);
        assert_eq!(attributes["is_listed"], mode != "private");
        for key in ["name", "description", "created_at", "modified_at"] {
            assert!(attributes[key].is_string(), "{key} in {gallery}");
        }
        let created = attributes["created_at"].as_str().expect("created_at");
        assert!(created.ends_with(" GMT") && created.len() == 23, "{created}");
    }

    let first = ids_of(&galleries)[0].clone();
    let single = standin.fetch(&token, &format!("/psapi/v4.0/galleries/{first}"));
    assert_eq!(single["data"]["id"], first.as_str());
    assert_eq!(single["data"]["type"], "gallery");
}

#[test]
fn gallery_collection_context_is_checked() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    let collections = standin.fetch(&token, "/psapi/v4.0/collections");
    let collection_ids = ids_of(&collections);
    let parent = &collection_ids[0];
    let children = standin.fetch(&token, &format!("/psapi/v4.0/collections/{parent}/children"));
    let gallery = ids_of(&children)[0].clone();

    let within = standin.get(&format!("/psapi/v4.0/galleries/{gallery}?collection_id={parent}")).authed(&token).send();
    assert_eq!(within.status, 200, "{}", within.body);

    let elsewhere =
        standin.get(&format!("/psapi/v4.0/galleries/{gallery}?collection_id=C0000cls00009999")).authed(&token).send();
    assert_eq!(elsewhere.status, 404);
}

#[test]
fn galleries_sort_by_name_descending() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    let body = standin.fetch(&token, "/psapi/v4.0/galleries?sort_by=name&sort_direction=descending&per_page=1000");
    let names: Vec<&str> = body["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|gallery| gallery["attributes"]["name"].as_str().expect("name"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);

    let invalid = standin.get("/psapi/v4.0/galleries?sort_by=size").authed(&token).send();
    assert_eq!(invalid.status, 400);
}

#[test]
fn galleries_filter_by_parent() {
    let standin = common::start(Some(LIMIT));
    let token = standin.login_org();

    let collections = standin.fetch(&token, "/psapi/v4.0/collections");
    for collection_id in ids_of(&collections) {
        let children =
            standin.fetch(&token, &format!("/psapi/v4.0/collections/{collection_id}/children?per_page=1000"));
        let filtered =
            standin.fetch(&token, &format!("/psapi/v4.0/galleries?parent={collection_id}&per_page=1000&sort_by=name"));
        let mut expected = ids_of(&children);
        let mut actual = ids_of(&filtered);
        expected.sort();
        actual.sort();
        assert_eq!(actual, expected, "{collection_id}");
    }
}
