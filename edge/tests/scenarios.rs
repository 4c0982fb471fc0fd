//! The trending, popular and recently viewed scenarios, and the popular fill-in for thin
//! related lists, over recorded events.

mod support;

use loci_edge::db::{Database, Statement};
use loci_shared::time::Millis;
use serde_json::{json, Value};
use support::{ids, post_served_events, recommend, test_now, Edge, ORG_ID};

const LIMIT: usize = 1500;
const DAY: Millis = 86_400_000;

fn synced_edge() -> (std::net::SocketAddr, Edge) {
    support::synced_edge_with(LIMIT, &[])
}

/// The first `count` media the stand-in clears for every channel and the edge serves on the
/// web (some are held only by private galleries).
fn cleared(standin: std::net::SocketAddr, edge: &Edge, count: usize) -> Vec<String> {
    let page = support::standin_get(standin, &format!("/media?org_id={ORG_ID}&per_page=300&include=custom-metadata"));
    page["data"]
        .as_array()
        .expect("media")
        .iter()
        .filter(|item| {
            item["includes"]["custom-metadata"]["data"]["attributes"]["Usage Channels"]
                == json!("web, email, social, partner")
        })
        .filter_map(|item| item["id"].as_str().map(str::to_owned))
        .filter(|id| edge.get(&format!("/v1/assets/{id}")).status == 200)
        .take(count)
        .collect()
}

fn event(kind: &str, asset: &str, at: Millis, visitor: Option<&str>) -> Value {
    json!({"type": kind, "request_id": "seed", "asset_id": asset, "context": "asset:I000000000A00001",
           "placement": "test", "occurred_at": at, "visitor_id": visitor})
}

#[test]
fn trending_and_popular_rank_recorded_engagement() {
    let (standin, edge) = synced_edge();
    let assets = cleared(standin, &edge, 4);
    let (context, hot, old, seen) = (&assets[0], &assets[1], &assets[2], &assets[3]);
    let now = test_now();
    let mut events = vec![
        event("click", hot, now - 1000, None),
        event("click", hot, now - 2000, None),
        event("click", hot, now - 3000, None),
    ];
    events.push(event("click", old, now - 6 * DAY, None));
    events.extend((0..10).map(|i| event("impression", seen, now - 1000 - i, None)));
    assert_eq!(post_served_events(&edge, &events).status, 202);

    let trending = recommend(&edge, &format!("context=asset:{context}&scenario=trending&window=7&count=8"));
    let popular = recommend(&edge, &format!("context=asset:{context}&scenario=popular&window=7&count=8"));
    let popular_short = recommend(&edge, &format!("context=asset:{context}&scenario=popular&window=3&count=8"));

    assert_eq!(ids(&trending), vec![hot.clone(), seen.clone(), old.clone()], "{trending}");
    assert_eq!(trending["assets"][0]["reason"]["code"], json!("trending"));
    assert_eq!(ids(&popular), vec![hot.clone(), old.clone()], "impressions do not make an asset popular");
    assert_eq!(ids(&popular_short), vec![hot.clone()], "clicks older than the window do not count");
}

#[test]
fn trending_filters_by_keyword() {
    let (standin, edge) = synced_edge();
    let assets = cleared(standin, &edge, 3);
    let keyword = edge.get(&format!("/v1/assets/{}", assets[1])).json_body()["keywords"][0]
        .as_str()
        .expect("a keyword")
        .to_owned();
    let other_keywords = edge.get(&format!("/v1/assets/{}", assets[2])).json_body()["keywords"].clone();
    let events =
        vec![event("click", &assets[1], test_now() - 1000, None), event("click", &assets[2], test_now() - 1000, None)];
    assert_eq!(post_served_events(&edge, &events).status, 202);

    let body = recommend(
        &edge,
        &format!("context=asset:{}&scenario=trending&keyword={}", assets[0], keyword.replace(' ', "%20")),
    );

    assert!(ids(&body).contains(&assets[1]));
    let other_has_keyword = other_keywords.as_array().is_some_and(|k| k.contains(&json!(keyword)));
    assert_eq!(ids(&body).contains(&assets[2]), other_has_keyword);
}

#[test]
fn recently_viewed_lists_the_visitors_clicks_newest_first() {
    let (standin, edge) = synced_edge();
    let assets = cleared(standin, &edge, 3);
    let now = test_now();
    let events = vec![
        event("click", &assets[1], now - 5000, Some("visitor-1")),
        event("click", &assets[2], now - 1000, Some("visitor-1")),
        event("click", &assets[0], now - 500, Some("visitor-2")),
    ];
    assert_eq!(post_served_events(&edge, &events).status, 202);

    let body = recommend(&edge, &format!("context=asset:{}&scenario=recently_viewed&visitor=visitor-1", assets[0]));
    let without_visitor =
        edge.get(&format!("/v1/recommendations?context=asset:{}&scenario=recently_viewed", assets[0]));

    assert_eq!(ids(&body), vec![assets[2].clone(), assets[1].clone()]);
    assert_eq!(body["assets"][0]["reason"]["code"], json!("recently_viewed"));
    assert_eq!(without_visitor.status, 400);
    assert_eq!(without_visitor.json_body()["parameter"], json!("scenario"));
}

#[test]
fn new_asset_without_terms_gets_popular_assets() {
    let (standin, edge) = synced_edge();
    let candidates = cleared(standin, &edge, 8);
    let new_asset = &candidates[0];
    // An asset with no index terms yet, like one added since the last term statistics.
    futures_executor::block_on(
        edge.db.batch(vec![Statement::new(
            "DELETE FROM asset_terms WHERE asset_id = ?1",
            vec![new_asset.as_str().into()],
        )]),
    )
    .expect("remove terms");
    let empty = ids(&recommend(&edge, &format!("context=asset:{new_asset}&count=8")));
    let popular: Vec<String> = candidates[1..6].to_vec();
    let events: Vec<Value> = popular.iter().map(|id| event("click", id, test_now() - 1000, None)).collect();
    assert_eq!(post_served_events(&edge, &events).status, 202);

    let body = recommend(&edge, &format!("context=asset:{new_asset}&count=8"));

    assert_eq!(empty, Vec::<String>::new(), "nothing is related and nothing is popular yet: no filler");
    let mut served = ids(&body);
    served.sort();
    let mut expected = popular.clone();
    expected.sort();
    assert_eq!(served, expected);
    assert!(
        body["assets"].as_array().expect("assets").iter().all(|a| a["reason"]["code"] == json!("popular")),
        "{body}"
    );
}
