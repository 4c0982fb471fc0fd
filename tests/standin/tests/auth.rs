//! API key, token and organization-session checks.

mod common;

use common::{encode, Standin, API_KEY, EMAIL, ORG_ID, PASSWORD};
use serde_json::json;

fn standin() -> Standin {
    common::start(Some(50))
}

#[test]
fn api_key_missing_or_wrong_is_403() {
    let standin = standin();
    let token = standin.login_org();

    let missing = standin.get("/psapi/v4.0/library").token(&token).send();
    assert_eq!(missing.status, 403);
    assert_eq!(missing.error_id(), "ApiKeyInvalidException");
    assert_eq!(missing.json()["errors"][0]["status"], "403");

    let wrong = standin.get("/psapi/v4.0/library").header("X-PS-Api-Key", "wrongKey123").token(&token).send();
    assert_eq!(wrong.status, 403);
    assert_eq!(wrong.error_id(), "ApiKeyInvalidException");

    let unauthenticated_login = standin.post("/psapi/v4.0/authenticate").form("email=a&password=b").send();
    assert_eq!(unauthenticated_login.status, 403);
}

#[test]
fn api_key_header_name_is_case_insensitive() {
    let standin = standin();
    let token = standin.login_org();

    let lower = standin.get("/psapi/v4.0/library").header("x-ps-api-key", API_KEY).token(&token).send();
    assert_eq!(lower.status, 200, "{}", lower.body);

    let upper = standin.get("/psapi/v4.0/library").header("X-PS-API-KEY", API_KEY).token(&token).send();
    assert_eq!(upper.status, 200, "{}", upper.body);
}

#[test]
fn api_key_query_parameter_accepted() {
    let standin = standin();
    let token = standin.login_org();
    let reply = standin.get(&format!("/psapi/v4.0/library?api_key={API_KEY}")).token(&token).send();
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn authenticate_reply_is_not_enveloped() {
    let standin = standin();
    let reply = standin
        .post("/psapi/v4.0/authenticate")
        .api_key()
        .form(&format!("email={}&password={}&mode=token", encode(EMAIL), encode(PASSWORD)))
        .send();
    assert_eq!(reply.status, 200, "{}", reply.body);

    let body = reply.json();
    assert!(body["token"].as_str().is_some_and(|token| token.len() >= 32));
    assert!(body["org"].is_null());
    assert_eq!(body["two_factor"], false);
    assert!(body.get("data").is_none());
}

#[test]
fn authenticate_accepts_json_with_org() {
    let standin = standin();
    let reply = standin
        .post("/psapi/v4.0/authenticate")
        .api_key()
        .json_body(&json!({
            "email": EMAIL, "password": PASSWORD, "mode": "token", "org_id": ORG_ID
        }))
        .send();
    assert_eq!(reply.status, 200, "{}", reply.body);

    let body = reply.json();
    assert_eq!(body["org"]["id"], ORG_ID);
    assert_eq!(body["org"]["type"], "organization");

    let token = body["token"].as_str().expect("token").to_owned();
    let library = standin.get("/psapi/v4.0/library").authed(&token).send();
    assert_eq!(library.status, 200, "{}", library.body);
}

#[test]
fn authenticate_bad_credentials_is_401() {
    let standin = standin();
    let reply = standin
        .post("/psapi/v4.0/authenticate")
        .api_key()
        .form(&format!("email={}&password=wrong&mode=token", encode(EMAIL)))
        .send();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["errors"][0]["status"], "401");

    let missing = standin.post("/psapi/v4.0/authenticate").api_key().form("mode=token").send();
    assert_eq!(missing.status, 400);
}

#[test]
fn authenticate_unknown_org_is_rejected() {
    let standin = standin();
    let unknown = standin
        .post("/psapi/v4.0/authenticate")
        .api_key()
        .form(&format!("email={}&password={}&org_id=O0000SomeoneElse", encode(EMAIL), encode(PASSWORD)))
        .send();
    assert_eq!(unknown.status, 404);

    let malformed = standin
        .post("/psapi/v4.0/authenticate")
        .api_key()
        .form(&format!("email={}&password={}&org_id=not-an-org", encode(EMAIL), encode(PASSWORD)))
        .send();
    assert_eq!(malformed.status, 400);
}

#[test]
fn data_needs_token() {
    let standin = standin();

    let no_token = standin.get("/psapi/v4.0/galleries").api_key().send();
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.error_id(), "AcsPermissionException");
    assert_eq!(no_token.header("WWW-Authenticate"), Some("Bearer"));

    let bad_token = standin.get("/psapi/v4.0/galleries").api_key().token("not-a-real-token").send();
    assert_eq!(bad_token.status, 401);
    assert_eq!(bad_token.header("WWW-Authenticate"), Some("Bearer"));
}

#[test]
fn data_needs_org_session() {
    let standin = standin();
    let token = standin.login();

    let before = standin.get("/psapi/v4.0/library").authed(&token).send();
    assert_eq!(before.status, 401);
    assert_eq!(before.error_id(), "AcsPermissionException");

    let wrong_org =
        standin.post("/psapi/v4.0/organization/authenticate").authed(&token).form("org_id=O0000SomeoneElse").send();
    assert_eq!(wrong_org.status, 404);

    let enter =
        standin.post("/psapi/v4.0/organization/authenticate").authed(&token).form(&format!("org_id={ORG_ID}")).send();
    assert_eq!(enter.status, 200, "{}", enter.body);
    assert_eq!(enter.json(), json!({ "meta": { "status": "OK" } }));

    let after = standin.get("/psapi/v4.0/library").authed(&token).send();
    assert_eq!(after.status, 200, "{}", after.body);

    let leave = standin.post("/psapi/v4.0/organization/logout").authed(&token).send();
    assert_eq!(leave.status, 200);
    let left = standin.get("/psapi/v4.0/library").authed(&token).send();
    assert_eq!(left.status, 401);
}

#[test]
fn org_authenticate_accepts_json_and_needs_token() {
    let standin = standin();

    let anonymous =
        standin.post("/psapi/v4.0/organization/authenticate").api_key().json_body(&json!({ "org_id": ORG_ID })).send();
    assert_eq!(anonymous.status, 401);

    let token = standin.login();
    let enter = standin
        .post("/psapi/v4.0/organization/authenticate")
        .authed(&token)
        .json_body(&json!({ "org_id": ORG_ID }))
        .send();
    assert_eq!(enter.status, 200, "{}", enter.body);
}

#[test]
fn bearer_token_accepted() {
    let standin = standin();
    let token = standin.login_org();
    let reply =
        standin.get("/psapi/v4.0/collections").api_key().header("Authorization", &format!("Bearer {token}")).send();
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn logout_ends_the_token() {
    let standin = standin();
    let token = standin.login_org();

    let logout = standin.post("/psapi/v4.0/authenticate/logout").authed(&token).send();
    assert_eq!(logout.status, 200);

    let after = standin.get("/psapi/v4.0/library").authed(&token).send();
    assert_eq!(after.status, 401);
}

#[test]
fn tokens_are_distinct() {
    let standin = standin();
    assert_ne!(standin.login(), standin.login());
}
