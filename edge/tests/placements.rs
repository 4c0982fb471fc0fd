//! Placement strategies (`LOCI_PLACEMENTS`): signal weights, cold-start chains and diversity
//! caps, and the segment-popular list, over a catalog synced from the stand-in.

mod support;

use std::net::SocketAddr;

use loci_edge::config::Config;
use loci_edge::db::{Database, Statement};
use loci_edge::error::ApiError;
use loci_shared::time::Millis;
use serde_json::{json, Value};
use support::{ids, post_served_events, recommend, test_now, Edge, ORG_ID};

const LIMIT: usize = 1500;

/// Placements the tests configure: `bare` never fills, `segment-only` fills from the segment
/// alone, `by-popularity` ranks mostly by recent clicks, `one-each` allows one item per
/// creator and gallery, `co-views-first` ranks by co-views and fills from content.
const PLACEMENTS: &str = r#"{
    "bare": {"cold_start": []},
    "segment-only": {"cold_start": ["segment_popular"]},
    "by-popularity": {"weights": {"content": 0.01, "co_views": 0, "personal": 0, "popularity": 5}},
    "one-each": {"caps": {"per_gallery": 1, "per_creator": 1}},
    "co-views-first": {"weights": {"content": 0, "co_views": 1, "personal": 0}, "cold_start": ["content"]}
}"#;

fn synced_edge() -> (SocketAddr, Edge) {
    support::synced_edge_with(LIMIT, &[("LOCI_PLACEMENTS", PLACEMENTS.to_owned())])
}

/// The first stand-in media (up to 300) for which the edge's asset endpoint returns
/// `status` on the web channel: 200 for allowed assets, 404 for denied ones.
fn media_with_status(standin: SocketAddr, edge: &Edge, status: u16, count: usize) -> Vec<String> {
    let page = support::standin_get(standin, &format!("/media?org_id={ORG_ID}&per_page=300"));
    page["data"]
        .as_array()
        .expect("media")
        .iter()
        .filter_map(|item| item["id"].as_str().map(str::to_owned))
        .filter(|id| edge.get(&format!("/v1/assets/{id}")).status == status)
        .take(count)
        .collect()
}

fn run(edge: &Edge, sql: &str, params: Vec<loci_edge::db::SqlValue>) {
    futures_executor::block_on(edge.db.batch(vec![Statement::new(sql, params)])).expect("statement runs");
}

fn click(asset: &str, at: Millis) -> Value {
    json!({"type": "click", "request_id": "seed", "asset_id": asset, "context": "asset:I000000000A00001",
           "placement": "test", "occurred_at": at})
}

/// Removes an asset's index terms, like an asset added since the last term statistics.
fn strip_terms(edge: &Edge, asset: &str) {
    run(edge, "DELETE FROM asset_terms WHERE asset_id = ?1", vec![asset.into()]);
}

fn store_segment(edge: &Edge, segment: &str, scored: &[(&str, f64)]) {
    for (asset, score) in scored {
        run(
            edge,
            "INSERT INTO segment_popularity (segment, asset_id, score) VALUES (?1, ?2, ?3)",
            vec![segment.into(), (*asset).into(), loci_edge::db::SqlValue::Real(*score)],
        );
    }
}

fn assign_segment(edge: &Edge, visitor: &str, segment: &str) {
    run(
        edge,
        "INSERT INTO visitor_segments (visitor_id, segment, clicks, impressions, dwell_ms, active_days, first_seen_at, \
         last_seen_at, top_keywords, assigned_at) VALUES (?1, ?2, 3, 10, 0, 1, ?3, ?3, '[]', ?3)",
        vec![visitor.into(), segment.into(), test_now().into()],
    );
}

#[test]
fn invalid_placements_become_a_problem_naming_the_variable() {
    for text in [r#"{"home": {"cold_start": ["random"]}}"#, "{not json", r#"{"home": {"weights": {"content": -2}}}"#] {
        let error = Config::from_vars(|name| (name == "LOCI_PLACEMENTS").then(|| text.to_owned()))
            .expect_err("invalid placements are rejected");
        let response = ApiError::from(error).into_response();
        let body = response.json_body();

        assert_eq!(response.status, 500, "{text}");
        assert_eq!(body["code"], json!("configuration_invalid"), "{text}");
        assert!(body["detail"].as_str().unwrap_or("").contains("LOCI_PLACEMENTS"), "{text}: {body}");
    }
}

#[test]
fn cold_start_chain_follows_the_placement() {
    let (standin, edge) = synced_edge();
    let assets = media_with_status(standin, &edge, 200, 6);
    let new_asset = &assets[0];
    strip_terms(&edge, new_asset);
    let popular = &assets[1..4];
    let events: Vec<Value> = popular.iter().map(|id| click(id, test_now() - 1000)).collect();
    assert_eq!(post_served_events(&edge, &events).status, 202);

    let default = recommend(&edge, &format!("context=asset:{new_asset}"));
    let bare = recommend(&edge, &format!("context=asset:{new_asset}&placement=bare"));
    let segment_only = recommend(&edge, &format!("context=asset:{new_asset}&placement=segment-only"));

    let mut served = ids(&default);
    served.sort();
    let mut expected = popular.to_vec();
    expected.sort();
    assert_eq!(served, expected, "the default chain ends with the popular list");
    assert_eq!(ids(&bare), Vec::<String>::new(), "an empty chain adds nothing");
    assert_eq!(ids(&segment_only), Vec::<String>::new(), "no segment, so the chain has nothing to add");
}

#[test]
fn content_fills_after_co_views() {
    let (standin, edge) = synced_edge();
    let context = &media_with_status(standin, &edge, 200, 1)[0];
    let related = ids(&recommend(&edge, &format!("context=asset:{context}&count=12")));
    let clicked = related.last().expect("a related asset").clone();
    let shown = recommend(&edge, &format!("context=asset:{context}&count=12"));
    let verified_click = json!({"events": [{"type": "click", "request_id": shown["request_id"], "asset_id": clicked,
        "context": format!("asset:{context}"), "placement": "default", "occurred_at": test_now() - 1000}]});
    assert_eq!(edge.post_json("/v1/events", &verified_click).status, 202);

    let body = recommend(&edge, &format!("context=asset:{context}&count=12&placement=co-views-first"));
    let list = ids(&body);

    assert_eq!(list[0], clicked, "{body}");
    assert_eq!(body["assets"][0]["reason"]["code"], json!("viewed_together"));
    assert_eq!(list.len(), 12, "content fills the rest: {body}");
    let filled: Vec<&String> = list[1..].iter().filter(|id| related.contains(id)).collect();
    assert!(filled.len() >= 6, "fill-ins are the content neighbours: {list:?} vs {related:?}");
}

#[test]
fn popularity_weight_reorders_related_assets() {
    let (standin, edge) = synced_edge();
    let context = &media_with_status(standin, &edge, 200, 1)[0];
    let related = ids(&recommend(&edge, &format!("context=asset:{context}&count=8")));
    let favourite = related.last().expect("a related asset").clone();
    let events: Vec<Value> = (0..3).map(|i| click(&favourite, test_now() - 1000 - i)).collect();
    assert_eq!(post_served_events(&edge, &events).status, 202);

    let by_popularity = recommend(&edge, &format!("context=asset:{context}&count=8&placement=by-popularity"));
    let default = recommend(&edge, &format!("context=asset:{context}&count=8"));

    assert_eq!(ids(&by_popularity)[0], favourite, "{by_popularity}");
    assert_eq!(by_popularity["assets"][0]["reason"]["code"], json!("popular"));
    assert_eq!(ids(&default), related, "popularity is off by default, and unverified clicks add no co-views");
}

#[test]
fn caps_hold_back_repeated_creators_until_the_end() {
    let (standin, edge) = synced_edge();
    let contexts = media_with_status(standin, &edge, 200, 40);
    let creators = |body: &Value| -> Vec<String> {
        body["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .map(|a| a["creator"].as_str().unwrap_or("").to_owned())
            .collect()
    };

    let mut checked = 0;
    for context in &contexts {
        let default = recommend(&edge, &format!("context=asset:{context}&count=8"));
        let capped = recommend(&edge, &format!("context=asset:{context}&count=8&placement=one-each"));
        let (default, capped) = (creators(&default), creators(&capped));
        let repeats = |list: &[String]| list.iter().enumerate().filter(|(i, c)| list[..*i].contains(c)).count();
        if repeats(&default) == 0 {
            continue;
        }
        checked += 1;

        // Held-back items come after every item that passed the caps, so once a creator
        // repeats no new creator follows.
        let first_repeat = capped.iter().enumerate().position(|(i, c)| capped[..i].contains(c));
        if let Some(first) = first_repeat {
            assert!(
                capped[first..].iter().enumerate().all(|(offset, c)| capped[..first + offset].contains(c)),
                "{context}: {capped:?}"
            );
        }
        assert!(repeats(&capped) <= repeats(&default), "{context}: {capped:?} vs {default:?}");
    }
    assert!(checked >= 3, "only {checked} contexts repeat a creator by default");
}

#[test]
fn popular_in_segment_reads_the_segment_list() {
    let (standin, edge) = synced_edge();
    let allowed = media_with_status(standin, &edge, 200, 4);
    let denied = media_with_status(standin, &edge, 404, 1);
    let (context, first, second) = (&allowed[0], &allowed[1], &allowed[2]);
    store_segment(&edge, "loyal", &[(first, 5.0), (&denied[0], 4.0), (second, 3.0)]);
    store_segment(&edge, "engaged", &[(&allowed[3], 9.0)]);
    assign_segment(&edge, "visitor-7", "loyal");

    let by_parameter =
        recommend(&edge, &format!("context=asset:{context}&scenario=popular_in_segment&segment=loyal&placement=bare"));
    let by_visitor = recommend(
        &edge,
        &format!("context=asset:{context}&scenario=popular_in_segment&visitor=visitor-7&placement=bare"),
    );
    let parameter_wins = recommend(
        &edge,
        &format!(
            "context=asset:{context}&scenario=popular_in_segment&visitor=visitor-7&segment=engaged&placement=bare"
        ),
    );
    let unknown =
        recommend(&edge, &format!("context=asset:{context}&scenario=popular_in_segment&segment=lapsed&placement=bare"));

    assert_eq!(ids(&by_parameter), vec![first.clone(), second.clone()], "the denied asset is filtered out");
    assert_eq!(by_parameter["assets"][0]["reason"]["text"], json!("Popular with readers like you"));
    assert_eq!(by_parameter["segment"], json!("loyal"));
    assert!(by_parameter["filtered"].as_object().is_some_and(|counts| !counts.is_empty()), "{by_parameter}");
    assert_eq!(ids(&by_visitor), ids(&by_parameter));
    assert_eq!(by_visitor["segment"], json!("loyal"));
    assert_eq!(ids(&parameter_wins), vec![allowed[3].clone()]);
    assert_eq!(ids(&unknown), Vec::<String>::new());
}

#[test]
fn cold_start_uses_the_visitors_segment_before_popular() {
    let (standin, edge) = synced_edge();
    let allowed = media_with_status(standin, &edge, 200, 5);
    let new_asset = &allowed[0];
    strip_terms(&edge, new_asset);
    store_segment(&edge, "loyal", &[(&allowed[1], 2.0), (&allowed[2], 1.0)]);
    assign_segment(&edge, "visitor-7", "loyal");
    assert_eq!(post_served_events(&edge, &[click(&allowed[3], test_now() - 1000)]).status, 202);

    let body = recommend(&edge, &format!("context=asset:{new_asset}&visitor=visitor-7"));
    let anonymous = recommend(&edge, &format!("context=asset:{new_asset}"));

    assert_eq!(ids(&body), vec![allowed[1].clone(), allowed[2].clone(), allowed[3].clone()], "{body}");
    assert_eq!(body["segment"], json!("loyal"));
    assert_eq!(ids(&anonymous), vec![allowed[3].clone()]);
    assert_eq!(anonymous["segment"], Value::Null);
}

#[test]
fn segment_parameters_are_validated() {
    let (standin, edge) = synced_edge();
    let context = &media_with_status(standin, &edge, 200, 1)[0];

    let bad_segment = edge.get(&format!("/v1/recommendations?context=asset:{context}&segment=night%20owls"));
    let no_segment = edge.get(&format!("/v1/recommendations?context=asset:{context}&scenario=popular_in_segment"));

    assert_eq!(bad_segment.status, 400);
    assert_eq!(bad_segment.json_body()["parameter"], json!("segment"));
    assert_eq!(no_segment.status, 400);
    assert_eq!(no_segment.json_body()["parameter"], json!("scenario"));
}
