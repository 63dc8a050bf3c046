//! What can go wrong talking to a laneswap server.

/// A client error: which kind, with the server's own words when it gave
/// any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The client was built wrong (no URL, neither a name nor an id, …).
    #[error("{0}")]
    Config(String),
    /// An operation that needs the service's id ran before `connect()`.
    #[error("not connected: call connect() first (or give a service id)")]
    NotConnected,
    /// 404: the service, task, alert or webhook does not exist.
    #[error("not found: {detail}")]
    NotFound { detail: String },
    /// 422: the server refused the request's content.
    #[error("invalid request: {detail}")]
    Invalid { detail: String },
    /// Any other non-success status, with the server's `detail`.
    #[error("the server answered {status}: {detail}")]
    Status { status: u16, detail: String },
    /// The server could not be reached (after the retries).
    #[error("cannot reach laneswap at {url}: {reason}")]
    Network { url: String, reason: String },
    /// The server answered something that is not what laneswap sends.
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse { url: String, reason: String },
}

impl ClientError {
    /// Whether trying again later may succeed (network trouble, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Network { .. } => true,
            ClientError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}
