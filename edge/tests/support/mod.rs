//! Helpers for the edge's native integration tests: the real PhotoShelter stand-in on a
//! loopback port, the worker's handlers over SQLite with the real migrations, and a fixed
//! clock so licence dates decide the same way on every run.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use loci_edge::config::Config;
use loci_edge::db::sqlite::SqliteDatabase;
use loci_edge::http::{ApiRequest, ApiResponse, Method};
use loci_edge::outbound::native::NativeTransport;
use loci_edge::router::{handle, App};
use loci_edge::sync::{run_step, StepOptions, SyncStatus};
use loci_shared::time::{parse_instant, Millis};
use loci_standin::auth::Credentials;
use loci_standin::state::AppState;
use serde_json::Value;

pub const API_KEY: &str = "edgeTestKey";
pub const ADMIN_KEY: &str = "admin-secret";
pub const ORG_ID: &str = "O0000TateDemo001";

/// The instant every test runs at: 2026-12-04T12:00:00Z.
pub fn test_now() -> Millis {
    parse_instant("2026-12-04T12:00:00Z").expect("valid instant")
}

/// Starts the stand-in on 127.0.0.1 with the first `limit` Tate artworks.
pub fn start_standin(limit: usize) -> SocketAddr {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/tate/tate-artworks.ndjson.gz");
    let library = loci_standin::load_library(&data, Some(limit), ORG_ID).expect("the Tate slice loads");
    let credentials = Credentials {
        api_key: API_KEY.to_owned(),
        email: "edge@example.com".to_owned(),
        password: "edge-password".to_owned(),
        org_id: ORG_ID.to_owned(),
    };
    let state = AppState::new(library, credentials);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime starts");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
            sender.send(listener.local_addr().expect("bound address")).expect("the test waits for the address");
            loci_standin::server::serve(listener, state, std::future::pending()).await.expect("stand-in serves");
        });
    });
    receiver.recv_timeout(Duration::from_secs(60)).expect("stand-in starts")
}

/// Worker configuration pointing at a stand-in (or any base URL), logging in with the test
/// account's password, plus `extra` variables (which win over the defaults).
pub fn config_with(base_url: &str, extra: &[(&str, String)]) -> Config {
    let defaults = [
        ("PHOTOSHELTER_BASE_URL", base_url.to_owned()),
        ("PHOTOSHELTER_API_KEY", API_KEY.to_owned()),
        ("PHOTOSHELTER_EMAIL", "edge@example.com".to_owned()),
        ("PHOTOSHELTER_PASSWORD", "edge-password".to_owned()),
        ("PHOTOSHELTER_ORG_ID", ORG_ID.to_owned()),
        ("PHOTOSHELTER_IMAGE_BASE", "http://images.test".to_owned()),
        ("ADMIN_KEY", ADMIN_KEY.to_owned()),
        ("SYNC_PER_PAGE", "200".to_owned()),
    ];
    let lookup = |name: &str| {
        let chosen = extra.iter().find(|(k, _)| *k == name).or_else(|| defaults.iter().find(|(k, _)| *k == name));
        chosen.map(|(_, v)| v.clone())
    };
    Config::from_vars(lookup).expect("valid test configuration")
}

/// Worker configuration pointing at a stand-in (or any base URL).
pub fn config_for(base_url: &str) -> Config {
    config_with(base_url, &[])
}

/// The worker's handlers over an SQLite database, with a fixed clock.
pub struct Edge {
    pub db: SqliteDatabase,
    pub transport: NativeTransport,
    pub config: Config,
    pub now: Millis,
    /// Request ids handed out so far, so each request gets a new one.
    requests: std::cell::Cell<u64>,
}

impl Edge {
    pub fn new(standin: SocketAddr) -> Edge {
        Edge::with_base_url(&format!("http://{standin}/psapi/v4.0"))
    }

    pub fn with_base_url(base_url: &str) -> Edge {
        Edge {
            db: SqliteDatabase::for_tests(),
            transport: NativeTransport::default(),
            config: config_for(base_url),
            now: test_now(),
            requests: std::cell::Cell::new(0),
        }
    }

    /// Sends one API request through the router.
    pub fn call(&self, request: ApiRequest) -> ApiResponse {
        let now = self.now;
        let clock = move || now;
        let new_id = || {
            self.requests.set(self.requests.get() + 1);
            format!("req-{now}-{}", self.requests.get())
        };
        let app =
            App { db: &self.db, transport: &self.transport, config: &self.config, clock: &clock, new_id: &new_id };
        futures_executor::block_on(handle(&app, request))
    }

    pub fn get(&self, path_and_query: &str) -> ApiResponse {
        self.call(ApiRequest::new(Method::Get, path_and_query))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> ApiResponse {
        let mut request = ApiRequest::new(Method::Post, path);
        request.body = body.to_string().into_bytes();
        self.call(request)
    }

    pub fn admin(&self, method: Method, path_and_query: &str) -> ApiResponse {
        let mut request = ApiRequest::new(method, path_and_query);
        // A lower-case scheme, which RFC 7235 allows, so the tests cover it.
        request.headers.push(("authorization".to_owned(), format!("bearer {ADMIN_KEY}")));
        self.call(request)
    }

    /// Runs one sync step, as the admin endpoint does.
    pub fn sync_step(&self, restart: bool) -> SyncStatus {
        self.sync_step_with(StepOptions { restart, ..StepOptions::default() })
    }

    /// Runs one sync step with explicit options.
    pub fn sync_step_with(&self, options: StepOptions) -> SyncStatus {
        let now = self.now;
        futures_executor::block_on(run_step(&self.db, &self.transport, &self.config, &move || now, options))
            .expect("sync step runs")
    }

    /// Runs sync steps until the run is no longer running; returns the final status.
    pub fn sync_to_end(&self) -> SyncStatus {
        for _ in 0..1000 {
            let status = self.sync_step(false);
            if status.state != "running" {
                return status;
            }
        }
        panic!("sync did not finish in 1000 steps");
    }
}

/// GETs a stand-in URL with the test credentials (logging in first), for cross-checks.
pub fn standin_get(standin: SocketAddr, path_and_query: &str) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let base = format!("http://{standin}/psapi/v4.0");
    let login: Value = agent
        .post(&format!("{base}/authenticate"))
        .header("X-PS-Api-Key", API_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .send("email=edge%40example.com&password=edge-password&mode=token")
        .expect("login")
        .body_mut()
        .read_json()
        .expect("login JSON");
    let token = login["token"].as_str().expect("token").to_owned();
    agent
        .post(&format!("{base}/organization/authenticate"))
        .header("X-PS-Api-Key", API_KEY)
        .header("X-PS-Auth-Token", &token)
        .header("content-type", "application/x-www-form-urlencoded")
        .send(format!("org_id={ORG_ID}"))
        .expect("org login");
    agent
        .get(&format!("{base}{path_and_query}"))
        .header("X-PS-Api-Key", API_KEY)
        .header("X-PS-Auth-Token", &token)
        .call()
        .expect("stand-in answers")
        .body_mut()
        .read_json()
        .expect("JSON")
}

/// A fake remote Loci service on a loopback port: it answers every request after `delay_ms`
/// with `status` and `body`, and counts the requests it got.
pub struct FakeLoci {
    pub url: String,
    pub requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeLoci {
    pub fn start(status: u16, body: String, delay_ms: u64) -> FakeLoci {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut received = Vec::new();
                let mut buffer = [0u8; 4096];
                // Read the head, then as much body as content-length announces.
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    received.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&received).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if received.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(delay_ms));
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        FakeLoci { url, requests }
    }
}

/// Configuration for a stand-in plus a remote Loci service.
pub fn config_with_remote(base_url: &str, remote_url: &str, timeout_ms: u64) -> Config {
    config_with(
        base_url,
        &[("LOCI_REMOTE_URL", remote_url.to_owned()), ("LOCI_REMOTE_TIMEOUT_MS", timeout_ms.to_string())],
    )
}

/// POSTs JSON to one of the stand-in's test controls, such as `mutate` or `faults`, and
/// returns the answer's JSON.
pub fn standin_control(standin: SocketAddr, control: &str, body: &Value) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response =
        agent.post(&format!("http://{standin}/__standin/{control}")).send_json(body).expect("the stand-in answers");
    assert!(response.status().is_success(), "control {control} failed: {}", response.status());
    response.body_mut().read_json().unwrap_or(Value::Null)
}

/// Removes every injected fault.
pub fn clear_faults(standin: SocketAddr) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    agent.delete(&format!("http://{standin}/__standin/faults")).call().expect("the stand-in answers");
}

/// Configuration that logs in to the stand-in with an OAuth refresh token.
pub fn config_with_oauth(base_url: &str, refresh_token: &str, client_id: &str, client_secret: &str) -> Config {
    config_with(
        base_url,
        &[
            ("PHOTOSHELTER_OAUTH_REFRESH_TOKEN", refresh_token.to_owned()),
            ("PHOTOSHELTER_OAUTH_CLIENT_ID", client_id.to_owned()),
            ("PHOTOSHELTER_OAUTH_CLIENT_SECRET", client_secret.to_owned()),
        ],
    )
}

/// Returns the first `count` media the stand-in clears for every channel and the edge serves
/// on the web (some are held only by private galleries).
pub fn cleared_assets(standin: SocketAddr, edge: &Edge, count: usize) -> Vec<String> {
    let page = standin_get(standin, &format!("/media?org_id={ORG_ID}&per_page=300&include=custom-metadata"));
    page["data"]
        .as_array()
        .expect("media")
        .iter()
        .filter(|item| {
            item["includes"]["custom-metadata"]["data"]["attributes"]["Usage Channels"]
                == serde_json::json!("web, email, social, partner")
        })
        .filter_map(|item| item["id"].as_str().map(str::to_owned))
        .filter(|id| edge.get(&format!("/v1/assets/{id}")).status == 200)
        .take(count)
        .collect()
}

/// Requests `/v1/recommendations?{query}`, expects 200 and returns the JSON body.
pub fn recommend(edge: &Edge, query: &str) -> Value {
    let response = edge.get(&format!("/v1/recommendations?{query}"));
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json_body()
}

/// Returns the asset ids of a recommendation response, in order.
pub fn ids(body: &Value) -> Vec<String> {
    body["assets"].as_array().expect("assets").iter().map(|a| a["id"].as_str().expect("id").to_owned()).collect()
}

/// Returns the first `count` of the stand-in's first 100 media that the edge serves on the web.
pub fn allowed_assets(standin: SocketAddr, edge: &Edge, count: usize) -> Vec<String> {
    let page = standin_get(standin, &format!("/media?org_id={ORG_ID}&per_page=100"));
    page["data"]
        .as_array()
        .expect("media")
        .iter()
        .filter_map(|item| item["id"].as_str().map(str::to_owned))
        .filter(|id| edge.get(&format!("/v1/assets/{id}")).status == 200)
        .take(count)
        .collect()
}

/// Posts events as if each came from its own earlier response that served its asset: every
/// event gets a new request id, recorded in `served_requests` with the event's context and
/// placement. Tests use it to seed engagement (many clicks on one asset) that the worker
/// counts, since it counts one click per request and asset and only for served responses.
pub fn post_served_events(edge: &Edge, events: &[Value]) -> ApiResponse {
    use loci_edge::db::{Database, Statement};

    static NEXT_REQUEST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    let mut served = Vec::new();
    let mut rewritten = Vec::new();
    for event in events {
        let number = NEXT_REQUEST.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request_id = format!("served-{number}");
        let mut event = event.clone();
        event["request_id"] = Value::from(request_id.clone());
        let assets: Vec<Value> = event["asset_id"].as_str().map(Value::from).into_iter().collect();
        served.push(serde_json::json!([
            request_id,
            event["context"],
            event["placement"],
            Value::from(assets).to_string()
        ]));
        rewritten.push(event);
    }
    futures_executor::block_on(edge.db.batch(vec![Statement::new(
        "INSERT OR REPLACE INTO served_requests (request_id, served_at, placement, context, engine, asset_ids) \
         SELECT value ->> '$[0]', ?1, value ->> '$[2]', value ->> '$[1]', 'embedded', value ->> '$[3]' FROM json_each(?2)",
        vec![edge.now.into(), Value::from(served).to_string().into()],
    )]))
    .expect("served lists are stored");
    edge.post_json("/v1/events", &serde_json::json!({ "events": rewritten }))
}

/// Starts a stand-in with the first `limit` artworks and an edge configured with `extra`
/// variables (see [`config_with`]), and syncs the whole catalog.
pub fn synced_edge_with(limit: usize, extra: &[(&str, String)]) -> (SocketAddr, Edge) {
    let standin = start_standin(limit);
    let mut edge = Edge::new(standin);
    edge.config = config_with(&format!("http://{standin}/psapi/v4.0"), extra);
    let status = edge.sync_to_end();
    assert_eq!(status.state, "succeeded", "{status:?}");
    (standin, edge)
}
