//! The analytics API over a small recorded event stream whose figures are computed by hand:
//! engagement by day, asset, placement and segment, the exports, segments, experiments,
//! trends, editorial suggestions, roles, and the problems bad queries get.

mod support;

use loci_edge::analytics::experiments::parse_experiments;
use loci_edge::http::{ApiRequest, ApiResponse, Method};
use loci_shared::time::{parse_instant, Millis};
use serde_json::{json, Value};
use support::{cleared_assets, Edge};

const READ_KEY: &str = "reader-key-0123456789";
const SEGMENTS: &str = r#"[{"id": "repeat", "description": "Seen on two days or more", "min_active_days": 2},
                           {"id": "one-day", "max_active_days": 1}]"#;
const EXPERIMENTS: &str = r#"[{"id": "exp-1", "placement": "article-related", "start": "2026-12-01",
                              "variants": [{"name": "control"}, {"name": "wider"}]}]"#;

fn at(text: &str) -> Millis {
    parse_instant(text).expect("valid instant")
}

fn synced_edge(limit: usize) -> (std::net::SocketAddr, Edge) {
    support::synced_edge_with(
        limit,
        &[
            ("READ_KEYS", READ_KEY.to_owned()),
            ("LOCI_SEGMENTS", SEGMENTS.to_owned()),
            ("LOCI_EXPERIMENTS", EXPERIMENTS.to_owned()),
        ],
    )
}

fn with_key(edge: &Edge, method: Method, path: &str, key: &str) -> ApiResponse {
    let mut request = ApiRequest::new(method, path);
    request.headers.push(("authorization".to_owned(), format!("Bearer {key}")));
    edge.call(request)
}

fn read(edge: &Edge, path: &str) -> Value {
    let response = with_key(edge, Method::Get, path, READ_KEY);
    assert_eq!(response.status, 200, "{path}: {}", String::from_utf8_lossy(&response.body));
    response.json_body()
}

fn refresh(edge: &Edge) -> Value {
    let response = edge.admin(Method::Post, "/v1/admin/analytics/refresh");
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json_body()
}

#[allow(clippy::too_many_arguments)]
/// One recommendation response as a page saw it: events about its items carry its ids.
struct PageView {
    request_id: String,
    context: String,
    placement: String,
    visitor: Option<String>,
    page: String,
    assets: Vec<String>,
}

/// Requests `count` recommendations for an asset page, as a widget on page `page` would.
fn view(edge: &Edge, context: &str, placement: &str, visitor: Option<&str>, page: &str, count: usize) -> PageView {
    let visitor_parameter = visitor.map(|v| format!("&visitor={v}")).unwrap_or_default();
    let response = edge.get(&format!(
        "/v1/recommendations?context=asset:{context}&count={count}&placement={placement}&page={page}{visitor_parameter}"
    ));
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    let body = response.json_body();
    PageView {
        request_id: body["request_id"].as_str().expect("request id").to_owned(),
        context: format!("asset:{context}"),
        placement: placement.to_owned(),
        visitor: visitor.map(str::to_owned),
        page: page.to_owned(),
        assets: body["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .map(|a| a["id"].as_str().expect("id").to_owned())
            .collect(),
    }
}

fn event(view: &PageView, kind: &str, asset: &str, when: &str, dwell: Option<i64>) -> Value {
    json!({"type": kind, "request_id": view.request_id, "asset_id": asset, "context": view.context,
           "placement": view.placement, "occurred_at": at(when), "visitor_id": view.visitor, "page_id": view.page,
           "position": 0, "dwell_ms": dwell})
}

/// Records three visitors over two days (the test states the hand-computed figures): alice
/// (consented) on both days, bob (consented) on the second, and one anonymous page view. A
/// final click names a request id the worker never issued. Returns the three assets and the
/// request id of alice's first page view.
fn record_fixture(edge: &Edge, context: &str) -> ([String; 3], String) {
    let (d1, d2) = ("2026-12-02T10:00:00Z", "2026-12-03T10:00:00Z");
    let alice_1 = view(edge, context, "article-related", Some("v-alice"), "p-a1", 3);
    let alice_2 = view(edge, context, "article-related", Some("v-alice"), "p-a2", 3);
    let bob = view(edge, context, "homepage", Some("v-bob"), "p-b1", 3);
    let anonymous = view(edge, context, "article-related", None, "p-anon", 3);
    for other in [&alice_2, &bob, &anonymous] {
        assert_eq!(other.assets, alice_1.assets, "every page view gets the same list");
    }
    let [a, b, c] = [0, 1, 2].map(|i| alice_1.assets[i].clone());
    let mut forged = event(&anonymous, "click", &a, d1, None);
    forged["request_id"] = json!("never-issued");
    let mut forged_gallery = event(&anonymous, "click", &a, d1, None);
    forged_gallery["asset_id"] = Value::Null;
    forged_gallery["gallery_id"] = json!("G0000art00000006");
    forged_gallery["placement"] = json!("invented-placement");

    let events = vec![
        event(&alice_1, "impression", &a, d1, None),
        event(&alice_1, "impression", &b, d1, None),
        event(&alice_1, "click", &a, d1, None),
        event(&alice_1, "dwell", &a, d1, Some(4000)),
        event(&alice_2, "impression", &a, d2, None),
        event(&alice_2, "click", &a, d2, None),
        event(&alice_2, "impression", &c, d2, None),
        event(&bob, "impression", &b, d2, None),
        event(&bob, "impression", &c, d2, None),
        event(&bob, "click", &c, d2, None),
        event(&bob, "dwell", &c, d2, Some(2000)),
        event(&anonymous, "impression", &a, d1, None),
        event(&anonymous, "impression", &b, d1, None),
        event(&anonymous, "click", &b, d1, None),
        // A replay of the same click, and a gallery click under a placement the response did not have.
        event(&anonymous, "click", &b, d1, None),
        forged_gallery,
        forged,
    ];
    let response = edge.post_json("/v1/events", &json!({"events": events}));
    assert_eq!(response.status, 202, "{}", String::from_utf8_lossy(&response.body));
    ([a, b, c], alice_1.request_id.clone())
}

fn row<'a>(body: &'a Value, key: &str) -> &'a Value {
    body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key}: {body}"))
}

fn counts(row: &Value) -> (i64, i64) {
    (row["impressions"].as_i64().expect("impressions"), row["clicks"].as_i64().expect("clicks"))
}

#[test]
fn figures_match_hand_computation() {
    let (standin, edge) = synced_edge(400);
    let context = &cleared_assets(standin, &edge, 1)[0];
    let ([a, b, c], alice_request_id) = &record_fixture(&edge, context);

    let report = refresh(&edge);
    assert_eq!(report["days"], json!(["2026-12-02", "2026-12-03"]));
    assert_eq!(report["events"], 14, "replays and events that match no served response are not counted");
    assert_eq!(report["visitors"], 2);

    // Totals: 8 impressions, 4 clicks, 2 dwell events of 4 s and 2 s.
    let by_day = read(&edge, "/v1/analytics/engagement?from=2026-12-01&to=2026-12-04&group=day");
    assert_eq!(
        by_day["totals"],
        json!({"impressions": 8, "clicks": 4, "ctr": 0.5, "dwell_events": 2, "avg_dwell_ms": 3000})
    );
    assert_eq!(by_day["rows"].as_array().map(Vec::len), Some(4), "one row per day, zeros included");
    assert_eq!(counts(row(&by_day, "2026-12-01")), (0, 0));
    assert_eq!(counts(row(&by_day, "2026-12-02")), (4, 2));
    assert_eq!(counts(row(&by_day, "2026-12-03")), (4, 2));
    assert_eq!(row(&by_day, "2026-12-02")["avg_dwell_ms"], 4000);

    let by_asset = read(&edge, "/v1/analytics/engagement?from=2026-12-01&to=2026-12-04&group=asset");
    assert_eq!(counts(row(&by_asset, a)), (3, 2));
    assert_eq!(counts(row(&by_asset, b)), (3, 1));
    assert_eq!(counts(row(&by_asset, c)), (2, 1));
    assert_eq!(by_asset["rows"][0]["key"], a.as_str(), "sorted by clicks");
    assert_ne!(row(&by_asset, a)["label"], a.as_str(), "assets are labelled with their titles");

    let by_placement = read(&edge, "/v1/analytics/engagement?from=2026-12-01&to=2026-12-04&group=placement");
    assert_eq!(counts(row(&by_placement, "article-related")), (6, 3));
    assert_eq!(counts(row(&by_placement, "homepage")), (2, 1));

    let by_segment = read(&edge, "/v1/analytics/engagement?from=2026-12-01&to=2026-12-04&group=segment");
    assert_eq!(counts(row(&by_segment, "repeat")), (4, 2));
    assert_eq!(counts(row(&by_segment, "one-day")), (2, 1));
    assert_eq!(counts(row(&by_segment, "anonymous")), (2, 1));

    let filtered = read(&edge, "/v1/analytics/engagement?from=2026-12-01&to=2026-12-04&group=asset&placement=homepage");
    assert_eq!(filtered["totals"]["impressions"], 2);
    assert_eq!(counts(row(&filtered, c)), (1, 1));

    // CSV and NDJSON carry the same rows.
    let csv = with_key(
        &edge,
        Method::Get,
        "/v1/analytics/engagement?from=2026-12-02&to=2026-12-03&group=day&format=csv",
        READ_KEY,
    );
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = String::from_utf8_lossy(&csv.body);
    assert_eq!(text.lines().next(), Some("key,label,impressions,clicks,ctr,dwell_events,avg_dwell_ms"));
    assert!(text.contains("2026-12-02,2026-12-02,4,2,0.5,1,4000"), "{text}");
    let ndjson = with_key(&edge, Method::Get, "/v1/analytics/engagement?group=placement&format=ndjson", READ_KEY);
    let lines: Vec<Value> =
        String::from_utf8_lossy(&ndjson.body).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines.len(), 2);

    // The raw events export attributes each event to its request, segment and variant, and pages.
    let first = with_key(
        &edge,
        Method::Get,
        "/v1/analytics/events?from=2026-12-01&to=2026-12-04&limit=10&format=ndjson",
        READ_KEY,
    );
    let link = first.header("link").expect("a full page links to the next").to_owned();
    assert!(link.contains("after=10"), "{link}");
    assert!(link.contains("format=ndjson"), "{link}");
    let rest = read(&edge, "/v1/analytics/events?from=2026-12-01&to=2026-12-04&after=10");
    assert_eq!(rest["events"].as_array().map(Vec::len), Some(7));
    let exported: Vec<Value> =
        String::from_utf8_lossy(&first.body).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(exported[0]["request_id"], alice_request_id.as_str());
    assert_eq!(exported[0]["verified"], true);
    assert_eq!(exported[0]["segment"], "repeat");
    assert_eq!(exported[0]["experiment"], "exp-1");
    assert_eq!(rest["events"][3]["segment"], "anonymous");
    assert_eq!(rest["events"][5]["verified"], false, "a gallery event under another placement is flagged");
    assert_eq!(rest["events"][6]["request_id"], "never-issued");
    assert_eq!(rest["events"][6]["verified"], false, "exported, flagged, and left out of the figures");

    // Segments: sizes, keywords the members clicked, members export.
    let segments = read(&edge, "/v1/analytics/segments");
    let repeat =
        segments["segments"].as_array().expect("segments").iter().find(|s| s["id"] == "repeat").expect("repeat");
    assert_eq!(repeat["size"], 1);
    assert_eq!(repeat["description"], "Seen on two days or more");
    let a_keywords = edge.get(&format!("/v1/assets/{a}")).json_body()["keywords"].clone();
    if let Some(first_keyword) = repeat["top_keywords"].as_array().and_then(|k| k.first()) {
        assert_eq!(first_keyword["clicks"], 2, "alice clicked {a} twice");
        assert!(a_keywords.as_array().expect("keywords").contains(&first_keyword["keyword"]));
    }
    let members = with_key(&edge, Method::Get, "/v1/analytics/segments/repeat/members?format=csv", READ_KEY);
    let text = String::from_utf8_lossy(&members.body);
    assert!(text.starts_with("visitor_id,segment,clicks,"), "{text}");
    assert!(text.lines().nth(1).is_some_and(|l| l.starts_with("v-alice,repeat,2,4,2,")), "{text}");
    assert_eq!(text.lines().count(), 2);

    // Experiments: the article-related events of each unit land in the unit's variant.
    let experiment = &parse_experiments(EXPERIMENTS).expect("valid")[0];
    let mut expected: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for (unit, impressions, clicks) in [("v-alice", 4, 2), ("p-anon", 2, 1)] {
        let entry = expected.entry(experiment.variant_for(unit).name.clone()).or_default();
        entry.0 += impressions;
        entry.1 += clicks;
    }
    let results = read(&edge, "/v1/analytics/experiments?from=2026-12-01&to=2026-12-04");
    for variant in results["experiments"][0]["variants"].as_array().expect("variants") {
        let (impressions, clicks) = expected.get(variant["name"].as_str().expect("name")).copied().unwrap_or((0, 0));
        assert_eq!(counts(variant), (impressions, clicks), "{variant}");
        assert!(
            variant["ci_low"].as_f64() <= variant["ctr"].as_f64()
                && variant["ctr"].as_f64() <= variant["ci_high"].as_f64()
        );
    }
    assert!(results["experiments"][0]["variants"][1]["diff_vs_control"]["ci_low"].is_number());

    // A second run without new events changes nothing; a full run gives the same figures.
    assert_eq!(refresh(&edge)["days"], json!([]));
    let full = edge.admin(Method::Post, "/v1/admin/analytics/refresh?full=true").json_body();
    assert_eq!(full["days"], json!(["2026-12-02", "2026-12-03"]));
    assert_eq!(
        read(&edge, "/v1/analytics/engagement?from=2026-12-01&to=2026-12-04&group=day")["totals"],
        by_day["totals"]
    );
}

#[test]
fn roles_and_bad_queries() {
    let (_standin, edge) = synced_edge(60);
    let problem =
        |response: ApiResponse| (response.status, response.json_body()["code"].as_str().unwrap_or("").to_owned());

    assert_eq!(problem(edge.get("/v1/analytics/engagement")), (401, "unauthorized".to_owned()));
    assert_eq!(
        problem(with_key(&edge, Method::Post, "/v1/admin/analytics/refresh", READ_KEY)),
        (403, "forbidden".to_owned())
    );
    assert_eq!(problem(with_key(&edge, Method::Post, "/v1/admin/sync", READ_KEY)), (403, "forbidden".to_owned()));
    assert_eq!(with_key(&edge, Method::Get, "/v1/admin/sync", READ_KEY).status, 200, "reads accept read-only keys");

    for (query, status, code, hint) in [
        ("/v1/analytics/engagement?from=2026-12-05&to=2026-12-01", 400, "invalid_parameter", "swap them"),
        ("/v1/analytics/engagement?from=2020-01-01&to=2026-12-01", 400, "invalid_parameter", "at most a year"),
        ("/v1/analytics/engagement?from=01/12/2026", 400, "invalid_parameter", "YYYY-MM-DD"),
        ("/v1/analytics/engagement?group=colour", 400, "invalid_parameter", "day, asset, gallery"),
        ("/v1/analytics/engagement?segment=vip", 404, "segment_not_found", "repeat, one-day, other, anonymous"),
        ("/v1/analytics/engagement?format=xml", 400, "invalid_parameter", "json, csv, ndjson"),
        ("/v1/analytics/engagement?limit=5000", 400, "invalid_parameter", "format=csv"),
        ("/v1/analytics/events?format=csv&limit=20000", 413, "export_too_large", "after"),
        ("/v1/analytics/engagement?colour=red", 400, "unknown_parameter", "colour"),
        ("/v1/analytics/segments/vip/members", 404, "segment_not_found", "repeat"),
        ("/v1/analytics/experiments?id=nope", 404, "experiment_not_found", "exp-1"),
        ("/v1/analytics/trends?by=creator", 400, "invalid_parameter", "keyword, gallery"),
        ("/v1/analytics/nothing", 404, "route_not_found", "nothing"),
        ("/v1/suggestions", 400, "missing_parameter", "topic"),
        ("/v1/suggestions?topic=sea&channel=billboard", 400, "invalid_parameter", "configured channel"),
    ] {
        let response = with_key(&edge, Method::Get, query, READ_KEY);
        let body = response.json_body();
        assert_eq!((response.status, body["code"].as_str().unwrap_or("")), (status, code), "{query}: {body}");
        assert!(body["detail"].as_str().unwrap_or("").contains(hint), "{query}: {body}");
    }
}

/// Keywords of an asset, from its card.
fn keywords_of(edge: &Edge, id: &str) -> Vec<String> {
    let card = edge.get(&format!("/v1/assets/{id}")).json_body();
    card["keywords"].as_array().expect("keywords").iter().filter_map(|k| k.as_str().map(str::to_owned)).collect()
}

#[test]
fn proposals_are_cleared_for_channel() {
    let (standin, edge) = synced_edge(400);
    let context = &cleared_assets(standin, &edge, 1)[0];
    let page = view(&edge, context, "article-related", None, "p-trend", 12);
    let rising =
        page.assets.iter().find(|id| !keywords_of(&edge, id).is_empty()).expect("an asset with keywords").clone();
    let fading = page.assets.iter().find(|id| **id != rising).expect("a second asset").clone();

    // `rising` gets 6 clicks in the last 7 days and none before; `fading` 2 clicks before them.
    // Each click comes from its own page view, because a request counts one click per asset.
    let mut events = Vec::new();
    for day in 0..6 {
        let visit = view(&edge, context, "article-related", None, &format!("p-rise-{day}"), 12);
        events.push(event(&visit, "click", &rising, &format!("2026-12-0{}T09:00:00Z", day % 4 + 1), None));
    }
    for day in 0..2 {
        let visit = view(&edge, context, "article-related", None, &format!("p-fade-{day}"), 12);
        events.push(event(&visit, "click", &fading, &format!("2026-11-2{}T09:00:00Z", day + 1), None));
    }
    assert_eq!(edge.post_json("/v1/events", &json!({"events": events})).status, 202);
    refresh(&edge);

    let trends = read(&edge, "/v1/analytics/trends?window=7&by=keyword");
    let themes = trends["themes"].as_array().expect("themes");
    let rising_keywords = keywords_of(&edge, &rising);
    assert!(!themes.is_empty(), "{trends}");
    for theme in themes {
        assert!(rising_keywords.contains(&theme["key"].as_str().expect("key").to_owned()), "{theme}");
        assert_eq!(theme["recent_clicks"], 6);
        assert!(theme["previous_clicks"].as_i64() <= Some(2), "{theme}");
    }
    let galleries = read(&edge, "/v1/analytics/trends?window=7&by=gallery");
    assert!(galleries["themes"].as_array().is_some_and(|t| !t.is_empty()), "{galleries}");

    // Every asset proposed by trends or suggestions is one the channel may show.
    let topic = rising_keywords[0].clone();
    let mut proposed: Vec<(String, &str)> = Vec::new();
    for channel in ["web", "email"] {
        let suggestions = read(&edge, &format!("/v1/suggestions?topic={}&channel={channel}", urlencode(&topic)));
        let ids: Vec<String> = suggestions["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .map(|a| a["id"].as_str().expect("id").to_owned())
            .collect();
        assert!(!ids.is_empty(), "{suggestions}");
        if channel == "web" {
            assert!(ids.contains(&rising), "the clicked asset with the keyword is suggested: {suggestions}");
        }
        proposed.extend(ids.into_iter().map(|id| (id, channel)));
    }
    for theme in themes {
        for asset in theme["assets"].as_array().expect("assets") {
            proposed.push((asset["id"].as_str().expect("id").to_owned(), "web"));
        }
    }
    for (id, channel) in &proposed {
        let explained = edge.admin(Method::Get, &format!("/v1/admin/rights/{id}?channel={channel}")).json_body();
        assert_eq!(explained["decision"], "allowed", "{id} on {channel}: {explained}");
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).expect("encodes")[2..].to_owned()
}
