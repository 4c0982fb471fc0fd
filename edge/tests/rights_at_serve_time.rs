//! Rights decided at serve time: licence expiry to the millisecond, cache lifetimes,
//! explanations and licence alerts, on a catalog synced from the stand-in.

mod support;

use loci_edge::http::Method;
use loci_shared::time::parse_instant;
use serde_json::{json, Value};
use support::{ids, start_standin, test_now, Edge};

const LIMIT: usize = 3000;

fn synced_edge() -> Edge {
    let edge = Edge::new(start_standin(LIMIT));
    assert_eq!(edge.sync_to_end().state, "succeeded");
    edge
}

fn alerts(edge: &Edge, query: &str) -> Value {
    let response = edge.admin(Method::Get, &format!("/v1/admin/licence-alerts?{query}"));
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json_body()
}

/// The first licence alert whose asset is allowed on the web right now (with no country
/// known, so its territory must be worldwide).
fn allowed_alert(edge: &Edge) -> Value {
    let list = alerts(edge, "within_days=365")["alerts"].as_array().expect("alerts").clone();
    list.into_iter()
        .find(|alert| {
            let id = alert["asset_id"].as_str().unwrap_or("");
            edge.admin(Method::Get, &format!("/v1/admin/rights/{id}")).json_body()["decision"] == json!("allowed")
        })
        .expect("an expiring asset that is allowed now")
}

#[test]
fn licence_alerts_list_only_licences_ending_in_the_window() {
    let edge = synced_edge();

    let within_30 = alerts(&edge, "within_days=30");
    let within_365 = alerts(&edge, "within_days=365");
    let csv = edge.admin(Method::Get, "/v1/admin/licence-alerts?within_days=365&format=csv");
    let bad = edge.admin(Method::Get, "/v1/admin/licence-alerts?within_days=0");

    let list = within_365["alerts"].as_array().expect("alerts");
    assert!(!list.is_empty(), "the Tate slice has third-party licences ending within a year");
    assert!(within_30["alerts"].as_array().expect("alerts").len() <= list.len());
    for alert in list {
        let end = parse_instant(alert["licence_end"].as_str().expect("end")).expect("RFC 3339");
        assert!(end > test_now() && end <= test_now() + 365 * 86_400_000, "{alert}");
    }
    let text = String::from_utf8_lossy(&csv.body).into_owned();
    assert!(text.starts_with("asset_id,title,creator,licence_end,days_left,galleries,placements\n"));
    assert_eq!(text.lines().count(), list.len() + 1);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json_body()["parameter"], json!("within_days"));
}

#[test]
fn expiry_removes_an_asset_at_the_exact_instant() {
    let mut edge = synced_edge();
    let alert = allowed_alert(&edge);
    let expiring = alert["asset_id"].as_str().expect("id").to_owned();
    let end = parse_instant(alert["licence_end"].as_str().expect("end")).expect("RFC 3339");

    // Find a context whose recommendations include the expiring asset just before the end.
    edge.now = end - 5_000;
    let neighbours = ids(&edge.get(&format!("/v1/recommendations?context=asset:{expiring}&count=24")).json_body());
    let showing = neighbours.iter().find_map(|context| {
        let response = edge.get(&format!("/v1/recommendations?context=asset:{context}&count=48"));
        ids(&response.json_body()).contains(&expiring).then(|| (context.clone(), response))
    });
    let (context, before) = showing.expect("some neighbour recommends the expiring asset");

    edge.now = end - 1;
    let card_before = edge.get(&format!("/v1/assets/{expiring}"));
    edge.now = end;
    let after = edge.get(&format!("/v1/recommendations?context=asset:{context}&count=48"));
    let card_after = edge.get(&format!("/v1/assets/{expiring}"));

    let max_age = before
        .header("cache-control")
        .and_then(|v| v.strip_prefix("private, max-age="))
        .map(|v| v.parse::<i64>().expect("seconds"));
    assert!(max_age.is_none_or(|seconds| seconds <= 5), "cached past the expiry: {max_age:?}");
    assert_eq!(card_before.status, 200);
    assert_eq!(card_after.status, 404);
    assert!(!ids(&after.json_body()).contains(&expiring), "served at the instant its licence ended");
    assert!(after.json_body()["filtered"]["licence_expired"].as_u64().unwrap_or(0) >= 1);
}

#[test]
fn explain_cites_the_failing_rule_and_source_values() {
    let edge = synced_edge();
    let alert = allowed_alert(&edge);
    let id = alert["asset_id"].as_str().expect("id");

    let allowed = edge.admin(Method::Get, &format!("/v1/admin/rights/{id}?channel=web")).json_body();
    let email = edge.admin(Method::Get, &format!("/v1/admin/rights/{id}?channel=email")).json_body();
    let later = edge.admin(Method::Get, &format!("/v1/admin/rights/{id}?at=2031-01-01T00:00:00Z")).json_body();
    let bad_at = edge.admin(Method::Get, &format!("/v1/admin/rights/{id}?at=soon"));

    assert_eq!(allowed["decision"], json!("allowed"), "{allowed}");
    assert_eq!(email["denied_by"], json!("channel_not_approved"));
    assert_eq!(later["denied_by"], json!("licence_expired"));
    assert_eq!(email["source_values"]["Usage Channels"], json!("web"));
    assert!(later["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .any(|c| c["check"] == json!("licence_period") && c["passed"] == json!(false)));
    assert_eq!(bad_at.status, 400);
}
