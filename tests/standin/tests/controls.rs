//! Test controls: injected faults, token expiry, request counts and health. The mutate control
//! has its own file, `mutation.rs`.

mod common;

use std::time::{Duration, Instant};

use common::Standin;
use loci_standin::oauth::DEFAULT_REFRESH_TOKEN;
use serde_json::json;

const SEARCH: &str = "/psapi/v4.0/media?org_id=O0000TateDemo001&per_page=5";

fn setup() -> (Standin, String) {
    let standin = common::start(Some(50));
    let token = standin.login_org();
    (standin, token)
}

#[test]
fn fault_fails_next_n_matching_requests() {
    let (standin, token) = setup();
    let added = standin
        .post("/__standin/faults")
        .json_body(&json!({ "path_prefix": "/psapi/v4.0/media", "status": 503, "count": 2 }))
        .send();
    assert_eq!(added.status, 201, "{}", added.body);

    let other = standin.get("/psapi/v4.0/galleries").authed(&token).send();
    assert_eq!(other.status, 200, "other paths are not affected");

    for attempt in 1..=2 {
        let reply = standin.get(SEARCH).authed(&token).send();
        assert_eq!(reply.status, 503, "attempt {attempt}");
        assert_eq!(reply.error_id(), "ServiceUnavailableException");
        assert_eq!(reply.json()["errors"][0]["status"], "503");
    }

    let recovered = standin.get(SEARCH).authed(&token).send();
    assert_eq!(recovered.status, 200, "{}", recovered.body);
}

#[test]
fn fault_429_sends_retry_after() {
    let (standin, token) = setup();
    standin
        .post("/__standin/faults")
        .json_body(&json!({
            "path_prefix": "/psapi/v4.0/media", "status": 429, "retry_after": 7
        }))
        .send();

    let reply = standin.get(SEARCH).authed(&token).send();
    assert_eq!(reply.status, 429);
    assert_eq!(reply.error_id(), "TooManyRequestsException");
    assert_eq!(reply.header("Retry-After"), Some("7"));

    let next = standin.get(SEARCH).authed(&token).send();
    assert_eq!(next.status, 200, "count defaults to 1");
}

#[test]
fn fault_500_applies_before_auth() {
    let standin = common::start(Some(50));
    standin
        .post("/__standin/faults")
        .json_body(&json!({ "path_prefix": "/psapi/v4.0/authenticate", "status": 500 }))
        .send();

    let reply = standin.post("/psapi/v4.0/authenticate").send();
    assert_eq!(reply.status, 500);
    assert_eq!(reply.error_id(), "InternalServerErrorException");
}

#[test]
fn fault_delay_slows_request() {
    let (standin, token) = setup();
    standin
        .post("/__standin/faults")
        .json_body(&json!({ "path_prefix": "/psapi/v4.0/galleries", "delay_ms": 300 }))
        .send();

    let started = Instant::now();
    let reply = standin.get("/psapi/v4.0/galleries").authed(&token).send();
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}

#[test]
fn fault_after_lets_requests_pass() {
    let (standin, token) = setup();
    let added = standin
        .post("/__standin/faults")
        .json_body(&json!({ "path_prefix": "/psapi/v4.0/media", "status": 500, "count": 2, "after": 3 }))
        .send();
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.json()["data"]["after"], 3);

    for page in 1..=3 {
        let reply = standin.get(&format!("{SEARCH}&page={page}")).authed(&token).send();
        assert_eq!(reply.status, 200, "page {page} passes: {}", reply.body);
    }
    let listed = standin.get("/__standin/faults").send().json();
    assert_eq!(listed["data"][0]["after"], 0);
    assert_eq!(listed["data"][0]["remaining"], 2);

    for attempt in 1..=2 {
        let reply = standin.get(&format!("{SEARCH}&page=4")).authed(&token).send();
        assert_eq!(reply.status, 500, "attempt {attempt}");
        assert_eq!(reply.error_id(), "InternalServerErrorException");
    }
    let recovered = standin.get(&format!("{SEARCH}&page=4")).authed(&token).send();
    assert_eq!(recovered.status, 200, "{}", recovered.body);
}

#[test]
fn fault_applies_to_oauth_token() {
    let standin = common::start(Some(10));
    standin
        .post("/__standin/faults")
        .json_body(&json!({ "path_prefix": "/psapi/v4.0/oauth/token", "status": 429, "retry_after": 2 }))
        .send();

    let limited = standin.refresh(DEFAULT_REFRESH_TOKEN);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("Retry-After"), Some("2"));

    let reply = standin.refresh(DEFAULT_REFRESH_TOKEN);
    assert_eq!(reply.status, 200, "a faulted request does not use up the refresh token: {}", reply.body);
}

#[test]
fn fault_list_and_clear() {
    let (standin, token) = setup();
    standin
        .post("/__standin/faults")
        .json_body(&json!({ "path_prefix": "/psapi/v4.0/media", "status": 500, "count": 5 }))
        .send();

    let listed = standin.get("/__standin/faults").send().json();
    assert_eq!(listed["data"][0]["remaining"], 5);

    let cleared = standin.delete("/__standin/faults").send();
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.json()["meta"]["removed"], 1);

    let reply = standin.get(SEARCH).authed(&token).send();
    assert_eq!(reply.status, 200);
}

#[test]
fn fault_rejects_invalid_body() {
    let standin = common::start(Some(10));
    for body in [
        json!({ "status": 500 }),
        json!({ "path_prefix": "/psapi", "status": 200 }),
        json!({ "path_prefix": "/psapi" }),
        json!({ "path_prefix": "/psapi", "status": 500, "colour": "red" }),
    ] {
        let reply = standin.post("/__standin/faults").json_body(&body).send();
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
}

#[test]
fn expire_tokens_needs_one_new_login() {
    let (standin, token) = setup();
    let refreshed = standin.refresh(DEFAULT_REFRESH_TOKEN).json();
    let access = refreshed["access_token"].as_str().expect("access token").to_owned();
    let refresh = refreshed["refresh_token"].as_str().expect("refresh token").to_owned();

    let expired = standin.post("/__standin/expire-tokens").send();
    assert_eq!(expired.status, 200, "{}", expired.body);
    assert_eq!(expired.json()["meta"], json!({ "status": "OK", "sessions": 1, "access_tokens": 1 }));

    let session_reply = standin.get(SEARCH).authed(&token).send();
    assert_eq!(session_reply.status, 401);
    assert_eq!(session_reply.error_id(), "AcsPermissionException");
    assert_eq!(session_reply.header("WWW-Authenticate"), Some("Bearer"));

    let bearer_reply = standin.get(SEARCH).api_key().bearer(&access).send();
    assert_eq!(bearer_reply.status, 401);
    assert_eq!(bearer_reply.error_id(), "OAuthServerException");
    assert_eq!(bearer_reply.header("WWW-Authenticate"), Some("Bearer"));

    let new_token = standin.login_org();
    let again = standin.get(SEARCH).authed(&new_token).send();
    assert_eq!(again.status, 200, "{}", again.body);

    let new_access =
        standin.refresh(&refresh).json()["access_token"].as_str().expect("refresh tokens stay valid").to_owned();
    let bearer_again = standin.get(SEARCH).api_key().bearer(&new_access).send();
    assert_eq!(bearer_again.status, 200, "{}", bearer_again.body);

    let health = standin.get("/__standin/health").send().json();
    assert_eq!(health["sessions"], 1);
    assert_eq!(health["access_tokens"], 1);
}

#[test]
fn stats_count_requests() {
    let (standin, token) = setup();
    standin.delete("/__standin/stats").send();

    for _ in 0..3 {
        standin.get(SEARCH).authed(&token).send();
    }
    standin.get("/psapi/v4.0/media/I000000000A00001/iptc").authed(&token).send();
    standin.get("/psapi/v4.0/galleries").send();
    standin.get("/__standin/health").send();

    let stats = standin.get("/__standin/stats?prefix=/psapi/v4.0/media").send().json();
    let data = &stats["data"];
    assert_eq!(data["total"], 5, "{stats}");
    assert_eq!(data["prefix"]["count"], 4);
    assert_eq!(data["by_route"]["GET /psapi/v4.0/media"], 3);
    assert_eq!(data["by_route"]["GET /psapi/v4.0/media/{id}/iptc"], 1);
    assert_eq!(data["by_status"]["403"], 1);

    standin.delete("/__standin/stats").send();
    let reset = standin.get("/__standin/stats").send().json();
    assert_eq!(reset["data"]["total"], 0);
}

#[test]
fn health_reports_counts() {
    let standin = common::start(Some(50));
    let health = standin.get("/__standin/health").send();
    assert_eq!(health.status, 200);

    let body = health.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["media"], 50);
    assert!(body["galleries"].as_u64().is_some_and(|count| count > 0));
    assert!(body["collections"].as_u64().is_some_and(|count| count > 0));
}
