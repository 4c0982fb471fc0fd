//! Shared helpers for the integration tests: an in-process server on 127.0.0.1:0 and a small
//! blocking client that reports every status instead of turning 4xx/5xx into errors.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use loci_standin::auth::Credentials;
use loci_standin::config::DEFAULT_DATA;
use loci_standin::library::Library;
use loci_standin::oauth::OAuthSettings;
use loci_standin::server;
use loci_standin::state::AppState;
use serde_json::Value;

pub const API_KEY: &str = "testApiKey1";
pub const EMAIL: &str = "tester@example.com";
pub const PASSWORD: &str = "correct horse";
pub const ORG_ID: &str = "O0000TateDemo001";

/// A running stand-in. The server thread lives until the test process exits.
pub struct Standin {
    pub address: SocketAddr,
    agent: ureq::Agent,
}

/// One HTTP response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// Parses the body as JSON, failing the test with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.body))
    }

    /// Returns a header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// Returns `errors[0].id` of an error body.
    pub fn error_id(&self) -> String {
        self.json()["errors"][0]["id"].as_str().unwrap_or_default().to_owned()
    }
}

/// Loads the first `limit` artworks of the shipped data (all when `None`).
pub fn load(limit: Option<usize>) -> Library {
    loci_standin::load_library(Path::new(DEFAULT_DATA), limit, ORG_ID).expect("library loads")
}

/// Starts a server for the first `limit` artworks.
pub fn start(limit: Option<usize>) -> Standin {
    start_with(load(limit))
}

/// Starts a server for a prepared library.
pub fn start_with(library: Library) -> Standin {
    start_with_oauth(library, OAuthSettings::default())
}

/// Starts a server for a prepared library with the given OAuth client and seed refresh token.
pub fn start_with_oauth(library: Library, oauth: OAuthSettings) -> Standin {
    let credentials = Credentials {
        api_key: API_KEY.to_owned(),
        email: EMAIL.to_owned(),
        password: PASSWORD.to_owned(),
        org_id: ORG_ID.to_owned(),
    };
    let state = AppState::with_oauth(library, credentials, oauth);

    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime starts");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
            sender.send(listener.local_addr().expect("bound address")).expect("test thread waits for the address");
            server::serve(listener, state, std::future::pending()).await.expect("server runs");
        });
    });
    let address = receiver.recv_timeout(Duration::from_secs(30)).expect("server reports its address");

    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent();
    Standin { address, agent }
}

/// A request under construction: extra headers and an optional body.
pub struct Call<'a> {
    standin: &'a Standin,
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<(String, &'static str)>,
}

impl<'a> Call<'a> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn api_key(self) -> Self {
        self.header("X-PS-Api-Key", API_KEY)
    }

    pub fn token(self, token: &str) -> Self {
        self.header("X-PS-Auth-Token", token)
    }

    /// Sends `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    /// Sends the API key and a token with an organization session.
    pub fn authed(self, token: &str) -> Self {
        self.api_key().token(token)
    }

    pub fn form(mut self, body: &str) -> Self {
        self.body = Some((body.to_owned(), "application/x-www-form-urlencoded"));
        self
    }

    /// Sends `body` as is with `Content-Type: application/json`, for bodies that are not valid
    /// JSON.
    pub fn raw_json(mut self, body: &str) -> Self {
        self.body = Some((body.to_owned(), "application/json"));
        self
    }

    pub fn json_body(mut self, body: &Value) -> Self {
        self.body = Some((body.to_string(), "application/json"));
        self
    }

    /// Sends the request and reads the whole reply.
    pub fn send(self) -> Reply {
        let url = format!("http://{}{}", self.standin.address, self.path);
        let agent = &self.standin.agent;
        let result = match (self.method, self.body) {
            ("GET", _) => apply(agent.get(&url), &self.headers).call(),
            ("DELETE", _) => apply(agent.delete(&url), &self.headers).call(),
            (_, Some((body, content_type))) => {
                apply(agent.post(&url), &self.headers).header("Content-Type", content_type).send(body)
            }
            (_, None) => apply(agent.post(&url), &self.headers).send_empty(),
        };
        let mut response = result.unwrap_or_else(|error| panic!("{url}: {error}"));

        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_else(|error| panic!("{url}: reading the body failed: {error}"));
        Reply { status, headers, body }
    }
}

fn apply<B>(mut request: ureq::RequestBuilder<B>, headers: &[(String, String)]) -> ureq::RequestBuilder<B> {
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

impl Standin {
    fn call(&self, method: &'static str, path: &str) -> Call<'_> {
        Call { standin: self, method, path: path.to_owned(), headers: Vec::new(), body: None }
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        self.call("GET", path)
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        self.call("POST", path)
    }

    pub fn delete(&self, path: &str) -> Call<'_> {
        self.call("DELETE", path)
    }

    /// Logs in without an organization and returns the token.
    pub fn login(&self) -> String {
        self.login_with("")
    }

    /// Logs in with `org_id`, so the token can read data at once.
    pub fn login_org(&self) -> String {
        self.login_with(&format!("&org_id={ORG_ID}"))
    }

    fn login_with(&self, extra_fields: &str) -> String {
        let reply = self
            .post("/psapi/v4.0/authenticate")
            .api_key()
            .form(&format!("email={}&password={}&mode=token{extra_fields}", encode(EMAIL), encode(PASSWORD)))
            .send();
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["token"].as_str().expect("token in the reply").to_owned()
    }

    /// POSTs a mutation to the test controls and returns `data`, failing the test on any
    /// status but 200.
    pub fn mutate(&self, mutation: &Value) -> Value {
        let reply = self.post("/__standin/mutate").json_body(mutation).send();
        assert_eq!(reply.status, 200, "{mutation}: {}", reply.body);
        reply.json()["data"].clone()
    }

    /// Exchanges a refresh token at `POST /oauth/token` with the default client, as a form.
    pub fn refresh(&self, refresh_token: &str) -> Reply {
        self.post("/psapi/v4.0/oauth/token")
            .api_key()
            .form(&format!(
                "grant_type=refresh_token&refresh_token={}&client_id=demo-client&client_secret=demo-secret\
                 &redirect_uri={}",
                encode(refresh_token),
                encode("https://example.invalid/callback")
            ))
            .send()
    }

    /// GETs a data path with `token` and returns the JSON body, failing the test on any status
    /// but 200.
    pub fn fetch(&self, token: &str, path: &str) -> Value {
        let reply = self.get(path).authed(token).send();
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        reply.json()
    }
}

/// Percent-encodes a form value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
