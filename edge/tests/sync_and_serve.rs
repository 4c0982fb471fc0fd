//! The worker's sync and API, natively, against the real PhotoShelter stand-in over HTTP.

mod support;

use std::net::SocketAddr;

use loci_edge::db::{Database, Statement};
use loci_edge::http::Method;
use loci_shared::time::parse_instant;
use serde_json::{json, Value};
use support::{recommend, standin_get, start_standin, test_now, Edge, ORG_ID};

/// Artworks served by the stand-in in these tests: enough for galleries with many members.
const LIMIT: usize = 1500;

fn synced_edge() -> (SocketAddr, Edge) {
    let standin = start_standin(LIMIT);
    let edge = Edge::new(standin);
    let status = edge.sync_to_end();
    assert_eq!(status.state, "succeeded", "{status:?}");
    (standin, edge)
}

/// A media id whose rights allow the web channel, per the stand-in's own metadata.
fn web_cleared_asset(standin: SocketAddr) -> String {
    let page = standin_get(standin, &format!("/media?org_id={ORG_ID}&per_page=200&include=custom-metadata"));
    page["data"]
        .as_array()
        .expect("media list")
        .iter()
        .find(|item| {
            let channels =
                item["includes"]["custom-metadata"]["data"]["attributes"]["Usage Channels"].as_str().unwrap_or("");
            channels.contains("email")
        })
        .and_then(|item| item["id"].as_str())
        .expect("a cleared asset in the slice")
        .to_owned()
}

fn asset_ids(body: &Value) -> Vec<String> {
    body["assets"].as_array().expect("assets").iter().map(|a| a["id"].as_str().expect("id").to_owned()).collect()
}

/// Checks one asset against the stand-in's raw custom metadata: approved for web and, when it
/// has an expiration date, not expired at the test instant.
fn assert_allowed_on_web_at_source(standin: SocketAddr, id: &str) {
    let custom = standin_get(standin, &format!("/media/{id}/custom-metadata"));
    let attributes = &custom["data"]["attributes"];
    let channels = attributes["Usage Channels"].as_str().unwrap_or("");
    assert!(channels.split(',').any(|c| c.trim() == "web"), "{id} is not approved for web: {attributes}");
    if let Some(end) = attributes["License Expiration Date"].as_str() {
        let end =
            parse_instant(end).unwrap_or_else(|| panic!("{id} has an unparsable expiration `{end}` yet was served"));
        assert!(end > test_now(), "{id} expired at {end} yet was served");
    }
}

#[test]
fn sync_stores_every_media_the_standin_lists() {
    let (standin, edge) = synced_edge();

    let total = standin_get(standin, &format!("/media?org_id={ORG_ID}&per_page=50"))["meta"]["paging"]["total"]
        .as_i64()
        .expect("total");
    let status = edge.sync_step(false);
    let health = edge.get("/v1/health").json_body();

    assert_eq!(total, LIMIT as i64);
    assert_eq!(health["catalog"]["assets"].as_i64(), Some(total));
    assert!(status.counts.requests > 0);
}

#[test]
fn asset_recommendations_are_approved_for_the_channel_at_the_source() {
    let (standin, edge) = synced_edge();
    let context = web_cleared_asset(standin);

    let body = recommend(&edge, &format!("context=asset:{context}&count=8"));
    let ids = asset_ids(&body);

    assert!(ids.len() >= 6, "only {} recommendations: {body}", ids.len());
    assert!(!ids.contains(&context), "the context itself was recommended");
    for asset in body["assets"].as_array().expect("assets") {
        let id = asset["id"].as_str().expect("id");
        assert_eq!(asset["image_url"], json!(format!("http://images.test/img-get2/{id}/fit=600")));
        assert!(asset["reason"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert_allowed_on_web_at_source(standin, id);
    }
    assert!(body["request_id"].as_str().is_some_and(|r| !r.is_empty()));
}

#[test]
fn click_makes_the_clicked_asset_lead_next_time() {
    let (standin, edge) = synced_edge();
    let context = web_cleared_asset(standin);
    let first = recommend(&edge, &format!("context=asset:{context}&count=8&placement=article-related"));
    let clicked = asset_ids(&first).last().expect("a recommendation").clone();

    let click = json!({"events": [{
        "type": "click", "request_id": first["request_id"], "asset_id": clicked, "position": 7,
        "context": format!("asset:{context}"), "placement": "article-related", "occurred_at": test_now()
    }]});
    let accepted = edge.post_json("/v1/events", &click);
    let second = recommend(&edge, &format!("context=asset:{context}&count=8"));

    assert_eq!(accepted.status, 202);
    assert_eq!(accepted.json_body()["accepted"], json!(1));
    assert_eq!(asset_ids(&second)[0], clicked);
    assert_eq!(second["assets"][0]["reason"]["code"], json!("viewed_together"));
    let stored =
        edge.admin(Method::Get, &format!("/v1/admin/events?request_id={}", first["request_id"].as_str().unwrap_or("")));
    assert_eq!(stored.json_body()["events"][0]["asset_id"], json!(clicked));
}

#[test]
fn denied_assets_never_come_back_even_when_ranked_first() {
    let (standin, edge) = synced_edge();
    let context = web_cleared_asset(standin);
    let before = asset_ids(&recommend(&edge, &format!("context=asset:{context}&count=8")));
    let denied = before[..4].to_vec();

    // Withdraw web approval from the four best candidates directly in the cache.
    let ids = Value::from(denied.clone()).to_string();
    futures_executor::block_on(edge.db.batch(vec![Statement::new(
        "UPDATE assets SET rights = json_set(rights, '$.channels', json('{\"state\":\"known\",\"value\":[\"email\"]}')) WHERE id IN (SELECT value FROM json_each(?1))",
        vec![ids.into()],
    )]))
    .expect("update rights");
    let after = recommend(&edge, &format!("context=asset:{context}&count=8"));

    for id in asset_ids(&after) {
        assert!(!denied.contains(&id), "{id} was served after its web approval was withdrawn");
    }
    assert!(after["filtered"]["channel_not_approved"].as_u64().unwrap_or(0) >= 4, "{}", after["filtered"]);
}

#[test]
fn gallery_context_returns_members_and_related_galleries() {
    let (standin, edge) = synced_edge();
    let context = web_cleared_asset(standin);
    let card = edge.get(&format!("/v1/assets/{context}")).json_body();
    let gallery = card["galleries"][0].as_str().expect("the asset is in a gallery").to_owned();

    let body = recommend(&edge, &format!("context=gallery:{gallery}&count=6&galleries=3"));

    assert!(!asset_ids(&body).is_empty(), "{body}");
    assert_eq!(body["assets"][0]["reason"]["code"], json!("in_this_gallery"));
    for related in body["galleries"].as_array().expect("galleries") {
        assert_ne!(related["id"], json!(gallery));
        assert_allowed_on_web_at_source(standin, related["cover_asset_id"].as_str().expect("cover"));
    }
}

#[test]
fn bad_requests_get_json_problems_with_stable_codes() {
    let (_standin, edge) = synced_edge();
    let cases: &[(&str, u16, &str)] = &[
        ("/v1/recommendations?context=asset:I0000zzzzzzzzzzz", 404, "context_not_found"),
        ("/v1/recommendations?context=asset:I000000000A00001&count=abc", 400, "invalid_parameter"),
        ("/v1/recommendations?context=foo", 400, "invalid_parameter"),
        ("/v1/recommendations?count=3", 400, "missing_parameter"),
        ("/v1/recommendations?context=asset:I000000000A00001&colour=red", 400, "unknown_parameter"),
        ("/v1/assets/nope", 400, "invalid_parameter"),
        ("/v1/recommendations?context=asset:I000000000A00001&channel=print", 400, "invalid_parameter"),
        ("/v1/galleries/G0000zzzzzzzzzzz?channel=print", 400, "invalid_parameter"),
        ("/v1/galleries/G0000zzzzzzzzzzz", 404, "gallery_not_available"),
        ("/v1/admin/sync", 401, "unauthorized"),
        ("/v1/nothing-here", 404, "route_not_found"),
    ];
    for (path, status, code) in cases {
        let response = edge.get(path);
        let body = response.json_body();
        assert_eq!(response.status, *status, "{path}: {body}");
        assert_eq!(body["code"], json!(code), "{path}: {body}");
        assert!(body["detail"].as_str().is_some_and(|d| d.len() > 10), "{path}: {body}");
    }
    let not_found = edge.get("/v1/recommendations?context=asset:I0000zzzzzzzzzzz").json_body();
    assert!(not_found["detail"].as_str().unwrap_or("").contains("I0000zzzzzzzzzzz"));
    let wrong_method = edge.post_json("/v1/recommendations", &json!({}));
    assert_eq!(wrong_method.status, 405);
}

#[test]
fn invalid_event_batches_are_rejected_whole_with_the_index() {
    let (_standin, edge) = synced_edge();
    let good = json!({"type": "impression", "request_id": "r1", "asset_id": "I000000000A00001",
        "context": "asset:I000000000A00002", "placement": "article-related", "occurred_at": 1});
    let bad = json!({"type": "impression", "request_id": "r1", "context": "asset:I000000000A00002",
        "placement": "article-related", "occurred_at": 1});

    let malformed = edge.call({
        let mut request = loci_edge::http::ApiRequest::new(Method::Post, "/v1/events");
        request.body = b"{".to_vec();
        request
    });
    let one_bad = edge.post_json("/v1/events", &json!({"events": [good, bad]}));
    let empty = edge.post_json("/v1/events", &json!({"events": []}));
    let mut endless = good.clone();
    endless["type"] = json!("dwell");
    endless["dwell_ms"] = json!(9_223_372_036_854_775_808u64);
    let huge_dwell = edge.post_json("/v1/events", &json!({"events": [endless]}));
    let stored = edge.admin(Method::Get, "/v1/admin/events?request_id=r1").json_body();

    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json_body()["code"], json!("invalid_body"));
    assert_eq!(one_bad.status, 400);
    assert_eq!(one_bad.json_body()["code"], json!("invalid_event"));
    assert!(one_bad.json_body()["detail"].as_str().unwrap_or("").starts_with("event 1 is invalid"));
    assert_eq!(empty.status, 400);
    assert_eq!(huge_dwell.status, 400, "dwell times above one day are rejected");
    assert_eq!(stored["events"], json!([]), "nothing of a rejected batch is stored");
}

#[test]
fn unreachable_photoshelter_keeps_the_catalog_and_resumes_later() {
    let (standin, mut edge) = synced_edge();
    let context = web_cleared_asset(standin);
    let generation_before = edge.get("/v1/health").json_body()["catalog"]["generation"].clone();
    let working = edge.config.clone();

    edge.config = support::config_for("http://127.0.0.1:9/psapi/v4.0");
    let failed = edge.sync_step(false);
    let during = edge.get(&format!("/v1/recommendations?context=asset:{context}"));
    edge.config = working;
    let resumed = edge.sync_to_end();

    assert_eq!(failed.state, "failed");
    assert!(failed.error.as_deref().unwrap_or("").contains("could not reach"), "{failed:?}");
    assert_eq!(during.status, 200, "the previous catalog keeps serving");
    assert_eq!(resumed.run_id, failed.run_id, "the failed run resumes instead of starting over");
    assert_eq!(resumed.state, "succeeded");
    assert_ne!(edge.get("/v1/health").json_body()["catalog"]["generation"], generation_before);
}

#[test]
fn widgets_of_one_page_never_repeat_an_asset() {
    let (standin, edge) = synced_edge();
    let context = web_cleared_asset(standin);

    let first = recommend(&edge, &format!("context=asset:{context}&count=8&page=page-1&placement=top"));
    let second = recommend(&edge, &format!("context=asset:{context}&count=8&page=page-1&placement=bottom"));
    let other_page = recommend(&edge, &format!("context=asset:{context}&count=8&page=page-2&placement=top"));
    let again = recommend(&edge, &format!("context=asset:{context}&count=8&page=page-1&placement=top"));

    let (first, second) = (asset_ids(&first), asset_ids(&second));
    assert_eq!(first.len(), 8);
    assert_eq!(second.len(), 8);
    assert!(first.iter().all(|id| !second.contains(id)), "{first:?} and {second:?} overlap");
    assert_eq!(asset_ids(&other_page), first, "another page view starts afresh");
    assert!(asset_ids(&again).iter().all(|id| !first.contains(id) && !second.contains(id)));
}
