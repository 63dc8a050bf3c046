//! Optional bearer tokens with roles.
//!
//! Without tokens (the default) the API is open, as the original's was and
//! as its clients expect. With tokens configured (`LANESWAP_API_TOKENS`),
//! every request needs `Authorization: Bearer <token>` whose role covers
//! it, except `GET /api` and `GET /api/health` (load balancers and liveness
//! probes carry no token) and CORS preflights. Roles form a ladder: `read`
//! (every GET, the event stream), `ingest` (also what services do:
//! register, heartbeat, progress), `admin` (everything: delete, pause,
//! acknowledge, webhooks).

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use subtle::ConstantTimeEq;

/// Shortest token accepted: guessing must be out of the question.
pub const MIN_TOKEN_CHARS: usize = 16;
const MAX_NAME_CHARS: usize = 64;

/// What a token may do; each role covers the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Read,
    Ingest,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Ingest => "ingest",
            Role::Admin => "admin",
        }
    }

    fn parse(text: &str) -> Option<Role> {
        match text {
            "read" => Some(Role::Read),
            "ingest" => Some(Role::Ingest),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// One configured token. The secret never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub role: Role,
    secret: String,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("secret", &"****")
            .finish()
    }
}

/// The configured tokens; empty means the API is open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenBook {
    tokens: Vec<ApiToken>,
}

impl TokenBook {
    /// Parses `name:role:token` entries separated by commas (whitespace
    /// around entries is ignored). Errors never quote a token.
    pub fn parse(text: &str) -> Result<TokenBook, String> {
        let mut tokens: Vec<ApiToken> = Vec::new();
        for (index, entry) in text.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let place = format!("entry {}", index + 1);
            let mut parts = entry.splitn(3, ':');
            let (Some(name), Some(role), Some(secret)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("{place}: expected name:role:token"));
            };
            let name_ok = !name.is_empty()
                && name.chars().count() <= MAX_NAME_CHARS
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
            if !name_ok {
                return Err(format!(
                    "{place}: the name must be 1 to {MAX_NAME_CHARS} letters, digits or - _ . @"
                ));
            }
            let role = Role::parse(role).ok_or_else(|| {
                format!("{place} ({name}): the role must be read, ingest or admin")
            })?;
            if secret.chars().count() < MIN_TOKEN_CHARS
                || secret.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(format!(
                    "{place} ({name}): the token must be at least {MIN_TOKEN_CHARS} characters without spaces"
                ));
            }
            if tokens.iter().any(|t| t.name == name) {
                return Err(format!("{place}: the name {name} is used twice"));
            }
            if tokens.iter().any(|t| t.secret == secret) {
                return Err(format!("{place} ({name}): the same token is given twice"));
            }
            tokens.push(ApiToken {
                name: name.to_string(),
                role,
                secret: secret.to_string(),
            });
        }
        Ok(TokenBook { tokens })
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The token with this secret. Every configured token is compared in
    /// constant time, so the answer's timing tells nothing about how much of
    /// a guess was right.
    pub fn find(&self, presented: &str) -> Option<&ApiToken> {
        let mut found = None;
        for token in &self.tokens {
            if bool::from(token.secret.as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(token);
            }
        }
        found
    }
}

/// The role a request needs, or `None` when it is public.
pub fn required_role(method: &Method, path: &str) -> Option<Role> {
    if *method == Method::OPTIONS {
        return None;
    }
    let read_only = *method == Method::GET || *method == Method::HEAD;
    if read_only && (path == "/api" || path == "/api/health") {
        return None;
    }
    if read_only {
        return Some(Role::Read);
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let ingest = matches!(
        (method.as_str(), segments.as_slice()),
        ("POST", ["", "api", "services"])
            | ("POST", ["", "api", "services", _, "heartbeat"])
            | ("POST", ["", "api", "progress"])
            | ("PUT", ["", "api", "progress", _])
            | ("PUT", ["", "api", "progress", _, "complete"])
    );
    Some(if ingest { Role::Ingest } else { Role::Admin })
}

/// Who made a request, when tokens are configured: handlers record it
/// (an acknowledgement's `by` defaults to the token's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
}

fn refuse(status: StatusCode, detail: String) -> Response {
    let mut response = (status, Json(json!({ "detail": detail }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The middleware: lets public requests and requests with a sufficient
/// token through (with their [`Caller`]), answers 401 or 403 otherwise.
///
/// Its state is the token book alone, not the whole app state: it runs on
/// every request, heartbeats included.
pub async fn require_token(
    State(tokens): State<Arc<TokenBook>>,
    mut request: Request,
    next: Next,
) -> Response {
    if tokens.is_empty() {
        return next.run(request).await;
    }
    let Some(needed) = required_role(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(presented) = presented else {
        return refuse(StatusCode::UNAUTHORIZED, "Not authenticated".into());
    };
    let Some(token) = tokens.find(presented) else {
        return refuse(StatusCode::UNAUTHORIZED, "Invalid token".into());
    };
    if token.role < needed {
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "Token {} has the {} role; this request needs {}",
                token.name,
                token.role.as_str(),
                needed.as_str()
            ),
        );
    }
    request.extensions_mut().insert(Caller {
        name: token.name.clone(),
    });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbb:with:colons";

    #[test]
    fn parses_entries_and_finds_tokens() {
        let book = TokenBook::parse(&format!(" ops:admin:{A} , ci-bot:ingest:{B},")).unwrap();
        assert_eq!(book.len(), 2);
        let ops = book.find(A).unwrap();
        assert_eq!((ops.name.as_str(), ops.role), ("ops", Role::Admin));
        assert_eq!(book.find(B).unwrap().name, "ci-bot");
        assert!(book.find("aaaaaaaaaaaaaaa").is_none());
        assert!(book.find("").is_none());
        assert!(TokenBook::parse("").unwrap().is_empty());
    }

    #[test]
    fn refuses_bad_entries_without_quoting_the_token() {
        for (text, expected) in [
            ("ops:admin", "entry 1: expected name:role:token"),
            (
                "ops:root:aaaaaaaaaaaaaaaa",
                "role must be read, ingest or admin",
            ),
            ("ops:admin:short", "at least 16 characters"),
            ("o p:admin:aaaaaaaaaaaaaaaa", "the name must be"),
            (
                "a:read:aaaaaaaaaaaaaaaa,a:read:bbbbbbbbbbbbbbbb",
                "entry 2: the name a is used twice",
            ),
            (
                "a:read:aaaaaaaaaaaaaaaa,b:admin:aaaaaaaaaaaaaaaa",
                "same token is given twice",
            ),
        ] {
            let error = TokenBook::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(
                !error.contains("aaaa") && !error.contains("short"),
                "{error}"
            );
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let book = TokenBook::parse(&format!("ops:admin:{A}")).unwrap();
        let shown = format!("{book:?}");
        assert!(shown.contains("ops") && !shown.contains(A), "{shown}");
    }

    #[test]
    fn roles_by_route() {
        let cases = [
            (Method::GET, "/api/health", None),
            (Method::GET, "/api", None),
            (Method::OPTIONS, "/api/services", None),
            (Method::GET, "/api/services", Some(Role::Read)),
            (Method::GET, "/api/events", Some(Role::Read)),
            (Method::POST, "/api/services", Some(Role::Ingest)),
            (
                Method::POST,
                "/api/services/x/heartbeat",
                Some(Role::Ingest),
            ),
            (Method::POST, "/api/progress", Some(Role::Ingest)),
            (Method::PUT, "/api/progress/t", Some(Role::Ingest)),
            (Method::PUT, "/api/progress/t/complete", Some(Role::Ingest)),
            (Method::DELETE, "/api/services/x", Some(Role::Admin)),
            (Method::DELETE, "/api/progress/t", Some(Role::Admin)),
            (Method::POST, "/api/services/x/pause", Some(Role::Admin)),
            (Method::POST, "/api/alerts/a/ack", Some(Role::Admin)),
            (Method::POST, "/api/webhooks", Some(Role::Admin)),
            (Method::POST, "/api/nothing", Some(Role::Admin)),
        ];
        for (method, path, role) in cases {
            assert_eq!(required_role(&method, path), role, "{method} {path}");
        }
        assert!(Role::Admin > Role::Ingest && Role::Ingest > Role::Read);
    }
}
