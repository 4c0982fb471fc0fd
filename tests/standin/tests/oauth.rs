//! OAuth 2.0: the refresh-token grant at `POST /oauth/token`, bearer access tokens, rotation
//! and expiry.

mod common;

use std::time::Duration;

use common::{Reply, Standin, API_KEY, ORG_ID};
use loci_standin::oauth::{OAuthSettings, DEFAULT_REFRESH_TOKEN};
use serde_json::json;

const TOKEN_PATH: &str = "/psapi/v4.0/oauth/token";

fn search_path() -> String {
    format!("/psapi/v4.0/media?org_id={ORG_ID}&per_page=2")
}

fn standin() -> Standin {
    common::start(Some(50))
}

/// Returns `(access_token, refresh_token)` from a successful token reply.
fn token_pair(reply: &Reply) -> (String, String) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let access = body["access_token"].as_str().expect("access_token").to_owned();
    let refresh = body["refresh_token"].as_str().expect("refresh_token").to_owned();
    (access, refresh)
}

fn assert_oauth_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.error_id(), "OAuthServerException", "{}", reply.body);
    assert_eq!(reply.json()["errors"][0]["code"], code, "{}", reply.body);
}

#[test]
fn refresh_reply_is_top_level() {
    let standin = standin();
    let reply = standin.refresh(DEFAULT_REFRESH_TOKEN);
    assert_eq!(reply.status, 200, "{}", reply.body);

    let body = reply.json();
    assert!(body.get("data").is_none(), "not enveloped: {body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let access = body["access_token"].as_str().expect("access_token");
    let refresh = body["refresh_token"].as_str().expect("refresh_token");
    assert!(access.len() >= 32, "{access}");
    assert_ne!(refresh, DEFAULT_REFRESH_TOKEN, "a new refresh token");
}

#[test]
fn bearer_token_reads_org_data() {
    let standin = standin();
    let (access, _) = token_pair(&standin.refresh(DEFAULT_REFRESH_TOKEN));

    let reply = standin.get(&search_path()).api_key().bearer(&access).send();
    assert_eq!(reply.status, 200, "no organization login is needed: {}", reply.body);
    assert_eq!(reply.json()["data"].as_array().map(Vec::len), Some(2));

    let switch = standin
        .post("/psapi/v4.0/organization/authenticate")
        .api_key()
        .bearer(&access)
        .form(&format!("org_id={ORG_ID}"))
        .send();
    assert_eq!(switch.status, 200, "the organization switch a client may still send: {}", switch.body);

    let both_headers = standin.get(&search_path()).api_key().bearer(&access).token(&access).send();
    assert_eq!(both_headers.status, 200, "the access token also works in X-PS-Auth-Token: {}", both_headers.body);
}

#[test]
fn bearer_token_still_needs_api_key() {
    let standin = standin();
    let (access, _) = token_pair(&standin.refresh(DEFAULT_REFRESH_TOKEN));
    let reply = standin.get(&search_path()).bearer(&access).send();
    assert_eq!(reply.status, 403);
    assert_eq!(reply.error_id(), "ApiKeyInvalidException");

    let token_without_key = standin
        .post(TOKEN_PATH)
        .form("grant_type=refresh_token&refresh_token=x&client_id=demo-client&client_secret=demo-secret")
        .send();
    assert_eq!(token_without_key.status, 403);
}

#[test]
fn refresh_token_rotates() {
    let standin = standin();
    let (first_access, second_refresh) = token_pair(&standin.refresh(DEFAULT_REFRESH_TOKEN));

    let reused = standin.refresh(DEFAULT_REFRESH_TOKEN);
    assert_oauth_error(&reused, 400, "invalid_grant");

    let (second_access, _) = token_pair(&standin.refresh(&second_refresh));
    assert_ne!(first_access, second_access);
    let reused_again = standin.refresh(&second_refresh);
    assert_oauth_error(&reused_again, 400, "invalid_grant");

    for access in [&first_access, &second_access] {
        let reply = standin.get(&search_path()).api_key().bearer(access).send();
        assert_eq!(reply.status, 200, "access tokens live out their lifetime: {}", reply.body);
    }
}

#[test]
fn token_accepts_json_body() {
    let standin = standin();
    let reply = standin
        .post(TOKEN_PATH)
        .api_key()
        .json_body(&json!({
            "grant_type": "refresh_token",
            "refresh_token": DEFAULT_REFRESH_TOKEN,
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "redirect_uri": "https://example.invalid/callback",
        }))
        .send();
    token_pair(&reply);
}

#[test]
fn token_rejects_bad_requests() {
    let standin = standin();
    let cases = [
        ("refresh_token=demo-refresh-token&client_id=demo-client&client_secret=demo-secret", 400, "invalid_request"),
        (
            "grant_type=authorization_code&code=abc&client_id=demo-client&client_secret=demo-secret",
            400,
            "unsupported_grant_type",
        ),
        (
            "grant_type=refresh_token&refresh_token=demo-refresh-token&client_id=demo-client&client_secret=wrong",
            401,
            "invalid_client",
        ),
        ("grant_type=refresh_token&refresh_token=demo-refresh-token&client_secret=demo-secret", 401, "invalid_client"),
        ("grant_type=refresh_token&client_id=demo-client&client_secret=demo-secret", 400, "invalid_request"),
        (
            "grant_type=refresh_token&refresh_token=never-issued&client_id=demo-client&client_secret=demo-secret",
            400,
            "invalid_grant",
        ),
    ];
    for (form, status, code) in cases {
        let reply = standin.post(TOKEN_PATH).api_key().form(form).send();
        assert_oauth_error(&reply, status, code);
    }

    let wrong_client = standin
        .post(TOKEN_PATH)
        .api_key()
        .form("grant_type=refresh_token&refresh_token=demo-refresh-token&client_id=demo-client&client_secret=wrong")
        .send();
    assert_eq!(wrong_client.header("WWW-Authenticate"), Some("Bearer"));

    let broken_json = standin.post(TOKEN_PATH).api_key().raw_json("{\"grant_type\": ").send();
    assert_oauth_error(&broken_json, 400, "invalid_request");

    let still_valid = standin.refresh(DEFAULT_REFRESH_TOKEN);
    assert_eq!(still_valid.status, 200, "rejected requests do not use up the refresh token: {}", still_valid.body);
}

#[test]
fn unknown_bearer_is_oauth_error() {
    let standin = standin();
    let reply = standin.get(&search_path()).api_key().bearer("not-an-issued-token").send();
    assert_oauth_error(&reply, 401, "invalid_token");
    assert_eq!(reply.header("WWW-Authenticate"), Some("Bearer"));
}

#[test]
fn expired_access_token_is_oauth_error() {
    let settings = OAuthSettings { token_lifetime: Duration::from_secs(1), ..OAuthSettings::default() };
    let standin = common::start_with_oauth(common::load(Some(50)), settings);
    let reply = standin.refresh(DEFAULT_REFRESH_TOKEN);
    assert_eq!(reply.json()["expires_in"], 1);
    let (access, refresh) = token_pair(&reply);

    std::thread::sleep(Duration::from_millis(1100));
    let expired = standin.get(&search_path()).api_key().bearer(&access).send();
    assert_oauth_error(&expired, 401, "invalid_token");
    assert_eq!(expired.header("WWW-Authenticate"), Some("Bearer"));
    let detail = expired.json()["errors"][0]["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("expired"), "{detail}");

    let only_auth_token = standin.get(&search_path()).api_key().token(&access).send();
    assert_oauth_error(&only_auth_token, 401, "invalid_token");

    let (fresh, _) = token_pair(&standin.refresh(&refresh));
    let reply = standin.get(&search_path()).api_key().bearer(&fresh).send();
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn configured_client_and_seed_token() {
    let settings = OAuthSettings {
        client_id: "edge-client".to_owned(),
        client_secret: "edge-secret".to_owned(),
        refresh_token: "edge-seed".to_owned(),
        token_lifetime: Duration::from_secs(600),
    };
    let standin = common::start_with_oauth(common::load(Some(10)), settings);

    let default_client = standin.refresh("edge-seed");
    assert_oauth_error(&default_client, 401, "invalid_client");

    let reply = standin
        .post(TOKEN_PATH)
        .header("X-PS-Api-Key", API_KEY)
        .form("grant_type=refresh_token&refresh_token=edge-seed&client_id=edge-client&client_secret=edge-secret")
        .send();
    assert_eq!(reply.json()["expires_in"], 600, "{}", reply.body);
}

#[test]
fn logout_revokes_access_token() {
    let standin = standin();
    let (access, refresh) = token_pair(&standin.refresh(DEFAULT_REFRESH_TOKEN));

    let logout = standin.post("/psapi/v4.0/authenticate/logout").api_key().bearer(&access).send();
    assert_eq!(logout.status, 200, "{}", logout.body);
    let after = standin.get(&search_path()).api_key().bearer(&access).send();
    assert_oauth_error(&after, 401, "invalid_token");

    token_pair(&standin.refresh(&refresh));
}

#[test]
fn organization_logout_leaves_org_for_bearer() {
    let standin = standin();
    let (access, _) = token_pair(&standin.refresh(DEFAULT_REFRESH_TOKEN));

    let leave = standin.post("/psapi/v4.0/organization/logout").api_key().bearer(&access).send();
    assert_eq!(leave.status, 200, "{}", leave.body);
    let outside = standin.get(&search_path()).api_key().bearer(&access).send();
    assert_eq!(outside.status, 401);
    assert_eq!(outside.error_id(), "AcsPermissionException");

    let enter = standin
        .post("/psapi/v4.0/organization/authenticate")
        .api_key()
        .bearer(&access)
        .form(&format!("org_id={ORG_ID}"))
        .send();
    assert_eq!(enter.status, 200, "{}", enter.body);
    let inside = standin.get(&search_path()).api_key().bearer(&access).send();
    assert_eq!(inside.status, 200, "{}", inside.body);
}
