//! Pages of one recommendation list (`cursor` and `next_cursor`), with and without a
//! page-view id, over a catalog synced from the stand-in.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;

use loci_edge::db::{query_as, Database, SqlValue, Statement};
use loci_edge::http::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use support::{ids, recommend, Edge, ORG_ID};

const LIMIT: usize = 1500;

fn synced_edge() -> (SocketAddr, Edge) {
    support::synced_edge_with(LIMIT, &[])
}

/// Returns an allowed asset whose related list contains at least `length` assets.
fn context_with_long_list(standin: SocketAddr, edge: &Edge, length: usize) -> String {
    let page = support::standin_get(standin, &format!("/media?org_id={ORG_ID}&per_page=100"));
    page["data"]
        .as_array()
        .expect("media")
        .iter()
        .filter_map(|item| item["id"].as_str())
        .find(|id| {
            let response = edge.get(&format!("/v1/recommendations?context=asset:{id}&count=48"));
            response.status == 200 && ids(&response.json_body()).len() >= length
        })
        .expect("an asset with a long related list")
        .to_owned()
}

#[test]
fn pages_continue_without_repeats_or_gaps() {
    let (standin, edge) = synced_edge();
    let context = context_with_long_list(standin, &edge, 24);

    let first = recommend(&edge, &format!("context=asset:{context}&count=6"));
    let cursor = first["next_cursor"].as_u64().expect("a next page");
    let second = recommend(&edge, &format!("context=asset:{context}&count=6&cursor={cursor}"));
    let both = recommend(&edge, &format!("context=asset:{context}&count=12"));

    assert_eq!(cursor, 6);
    let mut joined = ids(&first);
    joined.extend(ids(&second));
    assert_eq!(joined, ids(&both), "page 2 continues page 1 exactly");
    assert!(!first["galleries"].as_array().expect("galleries").is_empty(), "{first}");
    assert_eq!(second["galleries"], json!([]), "galleries come with the first page only");
}

#[test]
fn paging_to_the_end_serves_each_asset_once() {
    let (standin, edge) = synced_edge();
    let context = context_with_long_list(standin, &edge, 24);

    let mut seen = Vec::new();
    let mut cursor: Option<u64> = None;
    for _ in 0..50 {
        let query = match cursor {
            Some(cursor) => format!("context=asset:{context}&count=20&cursor={cursor}"),
            None => format!("context=asset:{context}&count=20"),
        };
        let body = recommend(&edge, &query);
        seen.extend(ids(&body));
        cursor = body["next_cursor"].as_u64();
        if cursor.is_none() {
            break;
        }
    }

    assert!(cursor.is_none(), "the list ends");
    assert!(seen.len() > 20, "more than one page: {}", seen.len());
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an asset came back on a later page");
}

#[test]
fn paging_skips_other_widgets_claims() {
    let (standin, edge) = synced_edge();
    let context = context_with_long_list(standin, &edge, 24);
    let list = ids(&recommend(&edge, &format!("context=asset:{context}&count=24")));
    // A second widget on the page, about a close asset, so its list overlaps this one.
    let other_context = &list[0];

    let other = ids(&recommend(&edge, &format!("context=asset:{other_context}&count=8&page=view-1&placement=side")));
    let first = recommend(&edge, &format!("context=asset:{context}&count=4&page=view-1&placement=main"));
    let cursor = first["next_cursor"].as_u64().expect("a next page");
    let second =
        recommend(&edge, &format!("context=asset:{context}&count=4&page=view-1&placement=main&cursor={cursor}"));

    let overlap: Vec<&String> = list[..12].iter().filter(|id| other.contains(id)).collect();
    assert!(!overlap.is_empty(), "the two widgets' lists overlap: {list:?} vs {other:?}");
    let expected: Vec<String> = list.iter().filter(|id| !other.contains(id)).take(8).cloned().collect();
    let mut pages = ids(&first);
    pages.extend(ids(&second));
    assert_eq!(pages, expected, "the pages are the list minus what the other widget showed, in order");
}

#[test]
fn invalid_cursors_are_rejected() {
    let (standin, edge) = synced_edge();
    let context = context_with_long_list(standin, &edge, 8);

    for cursor in ["-1", "1001", "next", ""] {
        let response = edge.get(&format!("/v1/recommendations?context=asset:{context}&cursor={cursor}"));
        assert_eq!(response.status, 400, "cursor `{cursor}`");
        assert_eq!(response.json_body()["parameter"], json!("cursor"), "cursor `{cursor}`");
    }
    let from_zero = recommend(&edge, &format!("context=asset:{context}&cursor=0"));
    let first_page = recommend(&edge, &format!("context=asset:{context}"));
    assert_eq!(ids(&from_zero), ids(&first_page), "cursor 0 is the first page");
    let past_the_end = recommend(&edge, &format!("context=asset:{context}&cursor=1000"));
    assert_eq!(ids(&past_the_end), Vec::<String>::new());
    assert_eq!(past_the_end["next_cursor"], Value::Null);
}

/// Pages through one list with `count` per page until `next_cursor` is absent, and returns
/// the assets in order with the position where the last page started.
fn page_through(edge: &Edge, query: &str, count: usize) -> (Vec<String>, usize) {
    let mut assets = Vec::new();
    let mut cursor: Option<u64> = None;
    for _ in 0..400 {
        let page = match cursor {
            Some(cursor) => recommend(edge, &format!("{query}&count={count}&cursor={cursor}")),
            None => recommend(edge, &format!("{query}&count={count}")),
        };
        let served = ids(&page);
        assert!(served.len() <= count, "count={count}: {} assets on one page", served.len());
        let last_start = assets.len();
        assets.extend(served);
        cursor = page["next_cursor"].as_u64();
        if cursor.is_none() {
            return (assets, last_start);
        }
    }
    panic!("count={count}: the list did not end after 400 pages");
}

/// Stores precomputed content neighbours for the whole catalog, so a related list starts with
/// at most 50 ranked assets and the cold-start chain fills the rest.
fn precompute_neighbours(edge: &Edge) {
    for _ in 0..10 {
        let step = edge.admin(Method::Post, "/v1/admin/neighbours");
        assert_eq!(step.status, 200, "{}", String::from_utf8_lossy(&step.body));
        if step.json_body()["finished"] == true {
            return;
        }
    }
    panic!("the neighbour lists were not finished after 10 steps");
}

/// Stores a popularity list of 120 catalog assets for `segment`, best first.
fn store_segment_popularity(edge: &Edge, segment: &str) {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let assets: Vec<Id> = futures_executor::block_on(query_as(
        &edge.db,
        Statement::new(
            "SELECT id FROM assets WHERE generation = (SELECT active_generation FROM catalog_state) \
             ORDER BY id DESC LIMIT 120",
            vec![],
        ),
    ))
    .expect("catalog assets");
    let statements = assets
        .iter()
        .enumerate()
        .map(|(rank, asset)| {
            Statement::new(
                "INSERT INTO segment_popularity (segment, asset_id, score) VALUES (?1, ?2, ?3)",
                vec![segment.into(), asset.id.as_str().into(), SqlValue::Real(1000.0 - rank as f64)],
            )
        })
        .collect();
    futures_executor::block_on(edge.db.batch(statements)).expect("segment popularity stored");
}

#[test]
fn page_size_does_not_change_the_list() {
    let (standin, edge) = synced_edge();
    precompute_neighbours(&edge);
    store_segment_popularity(&edge, "engaged");
    let context = context_with_long_list(standin, &edge, 24);
    let query = format!("context=asset:{context}&segment=engaged");

    let (by_three, last_start_by_three) = page_through(&edge, &query, 3);
    let (by_five, last_start_by_five) = page_through(&edge, &query, 5);
    let (by_eight, last_start_by_eight) = page_through(&edge, &query, 8);
    let (by_max, _) = page_through(&edge, &query, 48);
    let first_24 = ids(&recommend(&edge, &format!("{query}&count=24")));
    let past_the_end = recommend(&edge, &format!("{query}&count=8&cursor={}", by_eight.len()));
    let fill_ins = recommend(&edge, &format!("{query}&count=48&cursor=48"));

    assert!(
        fill_ins["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .any(|a| a["reason"]["text"] == json!("Popular with readers like you")),
        "the list goes on past the 50 precomputed neighbours into the segment's fill-ins: {fill_ins}"
    );
    assert!(by_eight.len() > 100, "a long list: {} assets", by_eight.len());
    let unique: HashSet<&String> = by_eight.iter().collect();
    assert_eq!(unique.len(), by_eight.len(), "an asset came back on a later page");
    assert_eq!(by_three, by_eight, "pages of 3 and of 8 cut the same list");
    assert_eq!(by_five, by_eight, "pages of 5 and of 8 cut the same list");
    assert_eq!(by_max, by_eight, "pages of 48 and of 8 cut the same list");
    assert_eq!(first_24, by_eight[..24], "count=24 is pages 1 to 3 of count=8");
    assert_eq!(last_start_by_three, (by_eight.len() - 1) / 3 * 3, "pages of 3 end on the list's last asset");
    assert_eq!(last_start_by_five, (by_eight.len() - 1) / 5 * 5, "pages of 5 end on the list's last asset");
    assert_eq!(last_start_by_eight, (by_eight.len() - 1) / 8 * 8, "pages of 8 end on the list's last asset");
    assert_eq!(ids(&past_the_end), Vec::<String>::new(), "nothing follows the last asset");
    assert_eq!(past_the_end["next_cursor"], Value::Null);
}
