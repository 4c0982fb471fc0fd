//! Precomputed neighbour lists: bounded computation steps, the request path reading them,
//! and the SQL fallback when they are missing.

mod support;

use std::net::SocketAddr;

use loci_edge::db::{query_as, Database, Statement};
use loci_edge::http::{ApiRequest, Method};
use loci_edge::neighbours::{compute_step, precomputed, CONTENT, CO_INTERACTION};
use serde::Deserialize;
use serde_json::{json, Value};
use support::{allowed_assets, ids, recommend, test_now, Edge};

const LIMIT: usize = 1500;

/// `bare` never fills from the cold-start chain; `co-views-only` ranks by co-views alone.
const PLACEMENTS: &str = r#"{
    "bare": {"cold_start": []},
    "co-views-only": {"weights": {"content": 0, "co_views": 1, "personal": 0}, "cold_start": []}
}"#;

fn synced_edge() -> (SocketAddr, Edge) {
    support::synced_edge_with(LIMIT, &[("LOCI_PLACEMENTS", PLACEMENTS.to_owned())])
}

fn count_lists(edge: &Edge, kind: &str) -> i64 {
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    let rows: Vec<Count> = futures_executor::block_on(query_as(
        &edge.db,
        Statement::new("SELECT COUNT(*) AS n FROM asset_neighbours WHERE kind = ?1", vec![kind.into()]),
    ))
    .expect("count");
    rows[0].n
}

fn generation(edge: &Edge) -> i64 {
    edge.get("/v1/health").json_body()["catalog"]["generation"].as_i64().expect("a generation")
}

#[test]
fn content_lists_are_computed_in_bounded_steps() {
    let (_, edge) = synced_edge();

    let mut steps = Vec::new();
    for _ in 0..20 {
        let reports = futures_executor::block_on(compute_step(&edge.db, test_now(), 400)).expect("step runs");
        let content: Vec<_> = reports.into_iter().filter(|r| r.kind == CONTENT).collect();
        if content.is_empty() {
            break;
        }
        steps.push(content[0].clone());
    }

    assert!(steps.len() >= 3, "{steps:?}");
    assert!(steps.iter().all(|step| step.computed <= 400), "{steps:?}");
    let last = steps.last().expect("a step");
    assert!(last.finished, "{steps:?}");
    assert_eq!(last.covered, last.total);
    assert_eq!(count_lists(&edge, CONTENT), last.total as i64);
    let again = futures_executor::block_on(compute_step(&edge.db, test_now(), 400)).expect("step runs");
    assert!(again.iter().all(|report| report.kind != CONTENT), "a finished run does nothing: {again:?}");
}

#[test]
fn stored_lists_serve_with_sql_fallback() {
    let (standin, edge) = synced_edge();
    let assets = allowed_assets(standin, &edge, 3);
    let (context, planted) = (&assets[0], &assets[1]);
    let before = ids(&recommend(&edge, &format!("context=asset:{context}&count=8&placement=bare")));
    futures_executor::block_on(compute_step(&edge.db, test_now(), usize::MAX)).expect("step runs");
    let stored = futures_executor::block_on(precomputed(&edge.db, generation(&edge), context)).expect("read");
    let list = stored.content.expect("a content list");

    let with_lists = ids(&recommend(&edge, &format!("context=asset:{context}&count=8&placement=bare")));
    // A hand-made list shows that requests read the stored list, not the SQL candidates.
    futures_executor::block_on(edge.db.batch(vec![Statement::new(
        "UPDATE asset_neighbours SET neighbours = ?3 WHERE asset_id = ?1 AND kind = ?2",
        vec![context.as_str().into(), CONTENT.into(), json!([[planted, 0.9]]).to_string().into()],
    )]))
    .expect("update");
    let planted_only = ids(&recommend(&edge, &format!("context=asset:{context}&count=8&placement=bare")));
    futures_executor::block_on(edge.db.batch(vec![Statement::new("DELETE FROM asset_neighbours", vec![])]))
        .expect("delete");
    let fallback = ids(&recommend(&edge, &format!("context=asset:{context}&count=8&placement=bare")));

    assert!(list.len() >= 8, "{list:?}");
    assert!(with_lists.iter().all(|id| list.iter().any(|(listed, _)| listed == id)), "{with_lists:?}");
    assert_eq!(planted_only, vec![planted.clone()]);
    assert_eq!(fallback, before, "without lists, the SQL candidates serve as before");
}

#[test]
fn co_interaction_relates_co_clicked_assets() {
    let (standin, edge) = synced_edge();
    let contexts = allowed_assets(standin, &edge, 30);
    // Page A leads to B; another page C leads to B and D. No click was recorded on B's own
    // page, so B's co-view list is empty and only co-interaction relates it to A, C and D.
    let (page_a, list_a) = contexts
        .iter()
        .map(|id| (id.clone(), recommend(&edge, &format!("context=asset:{id}&count=12"))))
        .find(|(_, body)| ids(body).len() >= 6)
        .expect("a context with a list");
    let b = ids(&list_a)[0].clone();
    let (page_c, list_c) = ids(&list_a)[1..]
        .iter()
        .chain(contexts.iter())
        .filter(|id| **id != b && **id != page_a)
        .map(|id| (id.clone(), recommend(&edge, &format!("context=asset:{id}&count=48"))))
        .find(|(_, body)| ids(body).contains(&b) && ids(body).len() >= 2)
        .expect("a second page that shows B");
    let d = ids(&list_c).into_iter().find(|id| *id != b && *id != page_a).expect("another asset on page C");
    let click = |body: &Value, page: &str, asset: &str| {
        json!({"type": "click", "request_id": body["request_id"], "asset_id": asset, "context": format!("asset:{page}"),
               "placement": "default", "occurred_at": test_now() - 1000})
    };
    let batch =
        json!({"events": [click(&list_a, &page_a, &b), click(&list_c, &page_c, &b), click(&list_c, &page_c, &d)]});
    assert_eq!(edge.post_json("/v1/events", &batch).json_body()["unverified_clicks"], json!(0));
    let before = ids(&recommend(&edge, &format!("context=asset:{b}&placement=co-views-only")));

    let reports = futures_executor::block_on(compute_step(&edge.db, test_now(), usize::MAX)).expect("step runs");
    let after = ids(&recommend(&edge, &format!("context=asset:{b}&placement=co-views-only")));

    assert!(reports.iter().any(|r| r.kind == CO_INTERACTION && r.computed >= 4), "{reports:?}");
    assert_eq!(before, Vec::<String>::new());
    let mut expected = vec![page_a.clone(), page_c.clone(), d.clone()];
    expected.sort();
    let mut found = after.clone();
    found.sort();
    assert_eq!(found, expected, "{after:?}");
    let rerun = futures_executor::block_on(compute_step(&edge.db, test_now() + 60_000, usize::MAX)).expect("step");
    assert!(rerun.iter().all(|r| r.kind != CO_INTERACTION), "no new clicks and within the interval: {rerun:?}");
}

#[test]
fn admin_endpoint_runs_steps_until_finished() {
    let (_standin, edge) = synced_edge();
    assert_eq!(edge.call(ApiRequest::new(Method::Post, "/v1/admin/neighbours")).status, 401);

    let mut finished = false;
    for _ in 0..10 {
        let response = edge.admin(Method::Post, "/v1/admin/neighbours");
        assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
        if response.json_body()["finished"] == true {
            finished = true;
            break;
        }
    }
    assert!(finished, "{LIMIT} assets need one content step");

    let step = edge.admin(Method::Post, "/v1/admin/neighbours").json_body();
    assert_eq!(step["finished"], true, "a run with nothing new to compute is finished: {step}");
}
