//! The mutable library: `POST /__standin/mutate` and what `/media`, `/galleries` and
//! `modify_start` show afterwards.

mod common;

use std::collections::BTreeSet;

use common::{Standin, ORG_ID};
use serde_json::{json, Value};

/// The first default mutation clock: one second after the latest mapped `modified_at`.
const FIRST_CLOCK: &str = "2026-01-01 00:00:00 GMT";

const ALL_INCLUDES: &str = "include=iptc,custom-metadata,galleries";

fn setup() -> (Standin, String) {
    let standin = common::start(Some(50));
    let token = standin.login_org();
    (standin, token)
}

/// Returns the ids of every media modified at or after `clock`, walking all pages.
fn modified_since(standin: &Standin, token: &str, clock: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for page in 1.. {
        let path =
            format!("/psapi/v4.0/media?org_id={ORG_ID}&per_page=20&page={page}&modify_start={}", common::encode(clock));
        let body = standin.fetch(token, &path);
        let items = body["data"].as_array().expect("data is a list");
        if items.is_empty() {
            break;
        }
        ids.extend(items.iter().map(|item| item["id"].as_str().expect("id").to_owned()));
    }
    ids
}

/// Returns the ids of the first `count` media in upload order.
fn first_media_ids(standin: &Standin, token: &str, count: usize) -> Vec<String> {
    let body = standin.fetch(token, &format!("/psapi/v4.0/media?org_id={ORG_ID}&per_page={count}"));
    body["data"]
        .as_array()
        .expect("data is a list")
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Returns the id of the first gallery whose mode is `everyone`.
fn public_gallery(standin: &Standin, token: &str) -> String {
    let body = standin.fetch(token, "/psapi/v4.0/galleries?per_page=1000");
    body["data"]
        .as_array()
        .expect("data is a list")
        .iter()
        .find(|gallery| gallery["attributes"]["mode"] == "everyone")
        .and_then(|gallery| gallery["id"].as_str())
        .expect("a public gallery")
        .to_owned()
}

fn total_media(standin: &Standin, token: &str) -> u64 {
    let body = standin.fetch(token, &format!("/psapi/v4.0/media?org_id={ORG_ID}&per_page=1"));
    body["meta"]["paging"]["total"].as_u64().expect("paging total")
}

fn string_list(value: &Value) -> Vec<String> {
    value.as_array().expect("a list").iter().map(|item| item.as_str().expect("a string").to_owned()).collect()
}

#[test]
fn modify_start_returns_exactly_changed_media() {
    let (standin, token) = setup();
    assert!(modified_since(&standin, &token, FIRST_CLOCK).is_empty(), "no media is modified after the mapping cap");
    let ids = first_media_ids(&standin, &token, 4);

    let summary = standin.mutate(&json!({
        "modify": [ids[0], ids[1]],
        "add": 2,
        "delete": [ids[2]],
        "rights": [{ "id": ids[3], "Usage Channels": "web" }],
    }));
    assert_eq!(summary["clock"], FIRST_CLOCK);
    assert_eq!(summary["added"], json!(["I0000new00000001", "I0000new00000002"]));

    let expected: BTreeSet<String> =
        [&ids[0], &ids[1], &ids[3]].into_iter().cloned().chain(string_list(&summary["added"])).collect();
    let changed: BTreeSet<String> = string_list(&summary["changed"]).into_iter().collect();
    assert_eq!(changed, expected, "summary lists the changed media");

    let found: BTreeSet<String> = modified_since(&standin, &token, FIRST_CLOCK).into_iter().collect();
    assert_eq!(found, expected, "modify_start returns the changed and added media");
    assert_eq!(summary["counts"]["changed"], 5);
}

#[test]
fn modify_revises_title_and_keywords() {
    let (standin, token) = setup();
    let id = first_media_ids(&standin, &token, 1).remove(0);
    let before = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}?{ALL_INCLUDES}"));
    let title = before["data"]["includes"]["iptc"]["data"]["attributes"]["title"].as_str().expect("title").to_owned();

    let summary = standin.mutate(&json!({ "modify": [id] }));
    assert_eq!(summary["modified"], json!([id]));

    let after = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}?{ALL_INCLUDES}"));
    let item = &after["data"];
    assert_eq!(item["attributes"]["modified_at"], FIRST_CLOCK);
    assert_eq!(item["attributes"]["created_at"], before["data"]["attributes"]["created_at"], "upload time unchanged");
    let iptc = &item["includes"]["iptc"]["data"]["attributes"];
    assert_eq!(iptc["title"], format!("{title} (revised)"));
    let keywords = string_list(&iptc["keywords"]);
    assert_eq!(keywords.last().map(String::as_str), Some("revised"));

    let direct = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}/iptc"));
    assert_eq!(direct["data"]["attributes"]["title"], format!("{title} (revised)"));
}

#[test]
fn default_clock_advances_one_second() {
    let (standin, token) = setup();
    let ids = first_media_ids(&standin, &token, 2);

    let first = standin.mutate(&json!({ "modify": [ids[0]] }));
    let second = standin.mutate(&json!({ "modify": [ids[1]] }));
    assert_eq!(first["clock"], FIRST_CLOCK);
    assert_eq!(second["clock"], "2026-01-01 00:00:01 GMT");

    assert_eq!(modified_since(&standin, &token, "2026-01-01 00:00:01 GMT"), vec![ids[1].clone()]);
    assert_eq!(modified_since(&standin, &token, FIRST_CLOCK).len(), 2);
}

#[test]
fn explicit_clock_sets_modified_at() {
    let (standin, token) = setup();
    let id = first_media_ids(&standin, &token, 1).remove(0);

    let summary = standin.mutate(&json!({ "modify": [id], "clock": "2026-12-04 12:30:00 GMT" }));
    assert_eq!(summary["clock"], "2026-12-04 12:30:00 GMT");
    let item = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}"));
    assert_eq!(item["data"]["attributes"]["modified_at"], "2026-12-04 12:30:00 GMT");

    let next = standin.mutate(&json!({}));
    assert_eq!(next["clock"], "2026-12-04 12:30:01 GMT", "the default continues after the latest clock");

    let bad = standin.post("/__standin/mutate").json_body(&json!({ "clock": "2026-12-04T12:30:00Z" })).send();
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.json()["errors"][0]["detail"].as_str().is_some_and(|detail| detail.contains("clock")));
}

#[test]
fn added_media_are_cleared_and_in_public_gallery() {
    let (standin, token) = setup();
    let total_before = total_media(&standin, &token);

    let summary = standin.mutate(&json!({ "add": 3 }));
    assert_eq!(summary["counts"]["added"], 3);
    let gallery_id = summary["added_to_gallery"].as_str().expect("target gallery").to_owned();
    assert_eq!(total_media(&standin, &token), total_before + 3);

    let gallery = standin.fetch(&token, &format!("/psapi/v4.0/galleries/{gallery_id}"));
    assert_eq!(gallery["data"]["attributes"]["mode"], "everyone");
    assert_eq!(gallery["data"]["attributes"]["modified_at"], FIRST_CLOCK);

    let id = "I0000new00000003";
    let item = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}?{ALL_INCLUDES}"));
    let data = &item["data"];
    assert_eq!(data["type"], "image");
    assert_eq!(data["attributes"]["created_at"], FIRST_CLOCK);
    assert_eq!(data["attributes"]["modified_at"], FIRST_CLOCK);
    assert_eq!(data["attributes"]["file_name"], "new00000003.jpg");
    assert_eq!(data["attributes"]["searchable"], true);
    let custom = &data["includes"]["custom-metadata"]["data"]["attributes"];
    assert_eq!(custom["Usage Channels"], "web, email, social, partner");
    assert_eq!(custom["Territory"], "worldwide");
    assert!(custom.get("License Expiration Date").is_none());
    assert_eq!(data["includes"]["galleries"]["data"], json!([{ "id": gallery_id, "type": "gallery" }]));

    let children = standin.fetch(&token, &format!("/psapi/v4.0/galleries/{gallery_id}/children?per_page=1000"));
    let child_ids: Vec<&str> =
        children["data"].as_array().expect("list").iter().filter_map(|child| child["id"].as_str()).collect();
    assert_eq!(child_ids.last(), Some(&id), "added media join the end of the gallery");

    let redirect = standin.get(&format!("/img-get2/{id}/fit=640")).send();
    assert_eq!(redirect.status, 302, "added media copy the key image's thumbnail");
}

#[test]
fn added_ids_continue_across_mutations() {
    let (standin, _token) = setup();
    let first = standin.mutate(&json!({ "add": 1 }));
    let second = standin.mutate(&json!({ "add": 2 }));
    assert_eq!(first["added"], json!(["I0000new00000001"]));
    assert_eq!(second["added"], json!(["I0000new00000002", "I0000new00000003"]));
}

#[test]
fn delete_removes_media_and_memberships() {
    let (standin, token) = setup();
    let id = first_media_ids(&standin, &token, 1).remove(0);
    let total_before = total_media(&standin, &token);
    let memberships = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}/galleries"));
    let gallery_id = memberships["data"][0]["id"].as_str().expect("the media is in a gallery").to_owned();
    let count_path = format!("/psapi/v4.0/galleries/{gallery_id}/child-count");
    let images_before = standin.fetch(&token, &count_path)["meta"]["children_count"]["images"].as_u64().expect("count");

    let summary = standin.mutate(&json!({ "delete": [id, id] }));
    assert_eq!(summary["deleted"], json!([id]), "a repeated id is deleted once");
    assert_eq!(summary["changed"], json!([]), "deleted media are not listed as changed");

    let gone = standin.get(&format!("/psapi/v4.0/media/{id}")).authed(&token).send();
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert_eq!(total_media(&standin, &token), total_before - 1);

    let images_after = standin.fetch(&token, &count_path)["meta"]["children_count"]["images"].as_u64().expect("count");
    assert_eq!(images_after, images_before - 1);
    let children = standin.fetch(&token, &format!("/psapi/v4.0/galleries/{gallery_id}/children?per_page=1000"));
    assert!(children["data"].as_array().expect("list").iter().all(|child| child["id"] != id.as_str()));
    let gallery = standin.fetch(&token, &format!("/psapi/v4.0/galleries/{gallery_id}"));
    assert_eq!(gallery["data"]["attributes"]["modified_at"], FIRST_CLOCK, "losing a member bumps the gallery");
    assert_ne!(gallery["data"]["attributes"]["key_image_id"], id.as_str());

    // Every other media still returns its own data after the renumbering.
    let remaining = first_media_ids(&standin, &token, 50);
    for other in &remaining {
        let item = standin.fetch(&token, &format!("/psapi/v4.0/media/{other}"));
        assert_eq!(item["data"]["id"], other.as_str());
    }
}

#[test]
fn rights_replace_add_and_remove_fields() {
    let (standin, token) = setup();
    let ids = first_media_ids(&standin, &token, 1);
    let id = &ids[0];
    let path = format!("/psapi/v4.0/media/{id}/custom-metadata");
    let before = standin.fetch(&token, &path)["data"]["attributes"].clone();

    let summary = standin.mutate(&json!({
        "rights": [{
            "id": id,
            "Usage Channels": "none",
            "License Expiration Date": "2027-01-31",
            "Campaigns": "spring-2027",
            "Source URL": null,
        }],
    }));
    assert_eq!(summary["rights"], json!([id]));
    assert_eq!(summary["changed"], json!([id]));

    let after = standin.fetch(&token, &path)["data"]["attributes"].clone();
    assert_eq!(after["Usage Channels"], "none");
    assert_eq!(after["License Expiration Date"], "2027-01-31");
    assert_eq!(after["Campaigns"], "spring-2027");
    assert!(after.get("Source URL").is_none(), "null removes the field: {after}");
    if let Some(territory) = before.get("Territory") {
        assert_eq!(after.get("Territory"), Some(territory), "untouched fields stay");
    }
    let item = standin.fetch(&token, &format!("/psapi/v4.0/media/{id}"));
    assert_eq!(item["data"]["attributes"]["modified_at"], FIRST_CLOCK);
}

#[test]
fn unpublish_makes_gallery_private() {
    let (standin, token) = setup();
    let gallery_id = public_gallery(&standin, &token);

    let summary = standin.mutate(&json!({ "unpublish_galleries": [gallery_id], "add": 1 }));
    assert_eq!(summary["unpublished_galleries"], json!([gallery_id]));
    assert_ne!(summary["added_to_gallery"], gallery_id.as_str(), "new media avoid the unpublished gallery");
    assert_eq!(summary["changed"], json!(["I0000new00000001"]), "unpublishing changes no media");

    let gallery = standin.fetch(&token, &format!("/psapi/v4.0/galleries/{gallery_id}"));
    let attributes = &gallery["data"]["attributes"];
    assert_eq!(attributes["mode"], "private");
    assert_eq!(attributes["effective_mode"], "private");
    assert_eq!(attributes["is_listed"], false);
    assert_eq!(attributes["access_inherit"], false);
    assert_eq!(attributes["modified_at"], FIRST_CLOCK);

    let listed =
        standin.fetch(&token, "/psapi/v4.0/galleries?sort_by=modification_time&sort_direction=desc&per_page=5");
    let ids: Vec<&str> =
        listed["data"].as_array().expect("list").iter().filter_map(|item| item["id"].as_str()).collect();
    assert!(ids.contains(&gallery_id.as_str()), "the gallery sorts among the latest modified: {ids:?}");
}

#[test]
fn invalid_mutation_changes_nothing() {
    let (standin, token) = setup();
    let id = first_media_ids(&standin, &token, 1).remove(0);

    let cases = [
        (json!({ "modify": [id], "delete": ["I0000000000ZZ999"] }), 404),
        (json!({ "modify": [id], "unpublish_galleries": ["G0000art99999999"] }), 404),
        (json!({ "modify": [id, "not-an-id"] }), 400),
        (json!({ "modify": [id], "delete": [id] }), 400),
        (json!({ "rights": [{ "id": id, "Territory": 3 }] }), 400),
        (json!({ "modify": [id], "add": 10_001 }), 400),
        (json!({ "modify": [id], "colour": "red" }), 400),
        (json!({ "add": -1 }), 400),
    ];
    for (body, status) in cases {
        let reply = standin.post("/__standin/mutate").json_body(&body).send();
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert!(!reply.error_id().is_empty(), "{body}: {}", reply.body);
    }

    assert!(modified_since(&standin, &token, FIRST_CLOCK).is_empty(), "rejected mutations change nothing");
    let first_valid = standin.mutate(&json!({}));
    assert_eq!(first_valid["clock"], FIRST_CLOCK, "rejected mutations do not advance the clock");
}

#[test]
fn mutation_counts_in_summary() {
    let (standin, token) = setup();
    let ids = first_media_ids(&standin, &token, 3);
    let gallery_id = public_gallery(&standin, &token);

    let summary = standin.mutate(&json!({
        "modify": [ids[0]],
        "rights": [{ "id": ids[0], "Territory": "GB" }, { "id": ids[1], "Territory": null }],
        "delete": [ids[2]],
        "unpublish_galleries": [gallery_id],
        "add": 1,
    }));
    assert_eq!(
        summary["counts"],
        json!({ "modified": 1, "added": 1, "deleted": 1, "rights": 2, "unpublished_galleries": 1, "changed": 3 })
    );
}

#[test]
fn empty_mutation_only_advances_clock() {
    let (standin, token) = setup();
    let reply = standin.post("/__standin/mutate").send();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["data"]["clock"], FIRST_CLOCK);
    assert!(modified_since(&standin, &token, FIRST_CLOCK).is_empty());
}
