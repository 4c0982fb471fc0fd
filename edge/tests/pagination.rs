//! Pages of one recommendation list (`cursor` and `next_cursor`), with and without a
//! page-view id, over a catalog synced from the stand-in.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;

use serde_json::{json, Value};
use support::{ids, recommend, start_standin, Edge, ORG_ID};

const LIMIT: usize = 1500;

fn synced_edge() -> (SocketAddr, Edge) {
    let standin = start_standin(LIMIT);
    let edge = Edge::new(standin);
    assert_eq!(edge.sync_to_end().state, "succeeded");
    (standin, edge)
}

/// An allowed asset whose related list contains at least `length` assets.
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

    for cursor in ["0", "-1", "1001", "next", ""] {
        let response = edge.get(&format!("/v1/recommendations?context=asset:{context}&cursor={cursor}"));
        assert_eq!(response.status, 400, "cursor `{cursor}`");
        assert_eq!(response.json_body()["parameter"], json!("cursor"), "cursor `{cursor}`");
    }
    let past_the_end = recommend(&edge, &format!("context=asset:{context}&cursor=1000"));
    assert_eq!(ids(&past_the_end), Vec::<String>::new());
    assert_eq!(past_the_end["next_cursor"], Value::Null);
}
