//! The remote Loci adapter: its answers pass the same rights filter, and a failing or slow
//! service falls back to the embedded engine.

mod support;

use std::sync::atomic::Ordering;

use loci_edge::db::query_as;
use loci_edge::db::Statement;
use serde::Deserialize;
use serde_json::{json, Value};
use support::{config_with_remote, start_standin, FakeLoci};

const LIMIT: usize = 2000;

#[derive(Deserialize)]
struct Id {
    id: String,
}

fn ids_where(edge: &support::Edge, condition: &str) -> Vec<String> {
    let sql = format!("SELECT id FROM assets WHERE {condition} ORDER BY id LIMIT 40");
    let rows: Vec<Id> = futures_executor::block_on(query_as(&edge.db, Statement::new(sql, vec![]))).expect("query");
    rows.into_iter().map(|r| r.id).collect()
}

fn synced(remote_url: &str, timeout_ms: u64) -> (support::Edge, String) {
    let standin = start_standin(LIMIT);
    let base = format!("http://{standin}/psapi/v4.0");
    let mut edge = support::Edge::new(standin);
    assert_eq!(edge.sync_to_end().state, "succeeded");
    edge.config = config_with_remote(&base, remote_url, timeout_ms);
    (edge, base)
}

fn recommend(edge: &support::Edge, context: &str) -> Value {
    let response = edge.get(&format!("/v1/recommendations?context=asset:{context}&count=8"));
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json_body()
}

#[test]
fn remote_answer_full_of_restricted_ids_yields_only_allowed_ones() {
    // Restricted ids come from the synced catalog itself: channels unknown or without `web`.
    let standin = start_standin(LIMIT);
    let mut edge = support::Edge::new(standin);
    assert_eq!(edge.sync_to_end().state, "succeeded");
    let restricted = ids_where(&edge, "json_extract(rights, '$.channels.state') <> 'known' OR json_extract(rights, '$.channels.value') NOT LIKE '%\"web\"%'");
    let allowed = ids_where(&edge, "json_extract(rights, '$.channels.value') LIKE '%\"email\"%' AND json_extract(rights, '$.visibility') = 'public'");
    assert!(
        restricted.len() >= 20 && allowed.len() >= 10,
        "{} restricted, {} allowed",
        restricted.len(),
        allowed.len()
    );

    let mut candidates: Vec<Value> =
        restricted.iter().enumerate().map(|(i, id)| json!({"id": id, "score": 100.0 - i as f64})).collect();
    candidates.extend(allowed[1..4].iter().map(|id| json!({"id": id, "score": 1.0})));
    let fake = FakeLoci::start(200, json!({"candidates": candidates}).to_string(), 0);
    edge.config = config_with_remote(&format!("http://{standin}/psapi/v4.0"), &fake.url, 1_000);

    let body = recommend(&edge, &allowed[0]);

    let served: Vec<&str> =
        body["assets"].as_array().expect("assets").iter().map(|a| a["id"].as_str().expect("id")).collect();
    assert_eq!(body["engine"], json!("remote"));
    assert_eq!(fake.requests.load(Ordering::SeqCst), 1);
    // The remote response is short after the filter, so the cold-start chain's content candidates follow it.
    let remote_allowed: Vec<&str> = allowed[1..4].iter().map(String::as_str).collect();
    assert_eq!(served.get(..3), Some(&remote_allowed[..]), "the remote's allowed candidates lead: {body}");
    for id in &served {
        assert!(!restricted.iter().any(|r| r == id), "restricted {id} was served");
        assert_eq!(body["assets"][0]["reason"]["code"], json!("recommended"));
    }
    let removed: u64 = body["filtered"].as_object().expect("filtered").values().filter_map(Value::as_u64).sum();
    assert!(removed >= restricted.len() as u64, "{}", body["filtered"]);
}

#[test]
fn slow_remote_falls_back_to_the_embedded_engine() {
    let fake = FakeLoci::start(200, json!({"candidates": []}).to_string(), 1_500);
    let (edge, _) = synced(&fake.url, 100);
    let context = ids_where(&edge, "json_extract(rights, '$.channels.value') LIKE '%\"email\"%'")[0].clone();

    let started = std::time::Instant::now();
    let body = recommend(&edge, &context);

    assert_eq!(body["engine"], json!("embedded_fallback"));
    assert!(body["assets"].as_array().expect("assets").len() >= 6);
    assert!(started.elapsed() < std::time::Duration::from_millis(1_400), "waited past the timeout budget");
}

#[test]
fn failing_or_invalid_remote_falls_back_to_the_embedded_engine() {
    for (status, body) in [
        (500, "{}".to_owned()),
        (200, "not json".to_owned()),
        (200, json!({"candidates": [{"id": "bad", "score": 1}]}).to_string()),
    ] {
        let fake = FakeLoci::start(status, body, 0);
        let (edge, _) = synced(&fake.url, 1_000);
        let context = ids_where(&edge, "json_extract(rights, '$.channels.value') LIKE '%\"email\"%'")[0].clone();

        let answer = recommend(&edge, &context);

        assert_eq!(answer["engine"], json!("embedded_fallback"), "status {status}");
        assert!(!answer["assets"].as_array().expect("assets").is_empty());
    }
}
