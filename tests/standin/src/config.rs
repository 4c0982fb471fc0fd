//! Command-line options. Each option can also come from a `STANDIN_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::ids::{self, IdKind};
use crate::oauth::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, DEFAULT_TOKEN_LIFETIME_SECS};

/// The Tate artwork file shipped in the repository.
pub const DEFAULT_DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/tate/tate-artworks.ndjson.gz");

/// Local stand-in for the PhotoShelter API v4, serving a library built from the Tate collection.
#[derive(Debug, Clone, Parser)]
#[command(name = "photoshelter-standin", version)]
pub struct Args {
    /// Address and port to listen on (port 0 picks a free port).
    #[arg(long, env = "STANDIN_LISTEN", default_value = "127.0.0.1:8790")]
    pub listen: SocketAddr,

    /// Tate artworks as gzip-compressed JSON lines.
    #[arg(long, env = "STANDIN_DATA", default_value = DEFAULT_DATA)]
    pub data: PathBuf,

    /// Serve only the first N artworks of the file (for quick tests).
    #[arg(long, env = "STANDIN_LIMIT")]
    pub limit: Option<usize>,

    /// API key clients must send in X-PS-Api-Key (11 characters from [a-zA-Z0-9._]).
    #[arg(long, env = "STANDIN_API_KEY", default_value = "demoApiKey1", value_parser = parse_api_key)]
    pub api_key: String,

    /// Email of the single account.
    #[arg(long, env = "STANDIN_EMAIL", default_value = "demo@example.com")]
    pub email: String,

    /// Password of the single account.
    #[arg(long, env = "STANDIN_PASSWORD", default_value = "demo-password", hide_env_values = true)]
    pub password: String,

    /// Id of the organization that owns the library (O0000 plus 11 characters).
    #[arg(long, env = "STANDIN_ORG_ID", default_value = "O0000TateDemo001", value_parser = parse_org_id)]
    pub org_id: String,

    /// OAuth client id that POST /oauth/token accepts.
    #[arg(long, env = "STANDIN_OAUTH_CLIENT_ID", default_value = DEFAULT_CLIENT_ID)]
    pub oauth_client_id: String,

    /// OAuth client secret that POST /oauth/token accepts.
    #[arg(long, env = "STANDIN_OAUTH_CLIENT_SECRET", default_value = DEFAULT_CLIENT_SECRET, hide_env_values = true)]
    pub oauth_client_secret: String,

    /// Refresh token that is valid at start, until its first use (refresh tokens rotate).
    #[arg(long, env = "STANDIN_OAUTH_REFRESH_TOKEN", default_value = DEFAULT_REFRESH_TOKEN, hide_env_values = true)]
    pub oauth_refresh_token: String,

    /// Lifetime of OAuth access tokens, in seconds (the expires_in of POST /oauth/token).
    #[arg(long, env = "STANDIN_OAUTH_TOKEN_LIFETIME", default_value_t = DEFAULT_TOKEN_LIFETIME_SECS)]
    pub oauth_token_lifetime: u64,
}

fn parse_api_key(value: &str) -> Result<String, String> {
    if ids::is_valid_api_key(value) {
        Ok(value.to_owned())
    } else {
        Err("expected exactly 11 characters from [a-zA-Z0-9._]".to_owned())
    }
}

fn parse_org_id(value: &str) -> Result<String, String> {
    if ids::is_valid(IdKind::Organization, value) {
        Ok(value.to_owned())
    } else {
        Err(format!("expected {}", IdKind::Organization.pattern()))
    }
}
