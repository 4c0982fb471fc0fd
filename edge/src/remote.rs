//! The client of a customer's own Loci service, used instead of the embedded engine when
//! configured. See [`loci_shared::api::remote`] for the contract.

use loci_shared::api::remote::{CandidatesRequest, CandidatesResponse};

use crate::outbound::{OutboundRequest, Transport, TransportError};

/// Settings of the remote service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    /// Base URL; the edge POSTs to `{url}/v1/candidates`.
    pub url: String,
    /// Bearer key, if the service needs one.
    pub api_key: Option<String>,
    /// Time to wait for the response before falling back, in milliseconds.
    pub timeout_ms: u64,
}

/// Why the remote service's response was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// No response, or none within the timeout.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// An error status.
    #[error("the remote Loci service answered {0}")]
    Status(u16),
    /// A body that does not follow the contract.
    #[error("the remote Loci service's answer does not follow the contract: {0}")]
    Invalid(String),
}

/// Asks the remote service for candidates, within its timeout budget.
pub async fn fetch_candidates(
    transport: &impl Transport,
    remote: &RemoteConfig,
    request: &CandidatesRequest,
) -> Result<Vec<(String, f64)>, RemoteError> {
    let mut headers = vec![("accept".to_owned(), "application/json".to_owned())];
    if let Some(key) = &remote.api_key {
        headers.push(("authorization".to_owned(), format!("Bearer {key}")));
    }
    let body = serde_json::to_string(request).map_err(|e| RemoteError::Invalid(e.to_string()))?;
    let mut outbound = OutboundRequest::post_json(format!("{}/v1/candidates", remote.url), headers, body);
    outbound.timeout_ms = Some(remote.timeout_ms);

    let response = transport.send(outbound).await?;
    if response.status != 200 {
        return Err(RemoteError::Status(response.status));
    }
    let answer: CandidatesResponse =
        serde_json::from_str(&response.body).map_err(|e| RemoteError::Invalid(e.to_string()))?;
    if answer.candidates.iter().any(|c| !c.score.is_finite()) {
        return Err(RemoteError::Invalid("a score is not a finite number".to_owned()));
    }
    Ok(answer.candidates.into_iter().map(|c| (c.id.to_string(), c.score)).collect())
}
