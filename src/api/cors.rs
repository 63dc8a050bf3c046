//! CORS as the original Starlette middleware answered it (wire-api §1.0):
//! `*` with credentials on simple requests, the origin echoed on preflight.
//! Written by hand because tower-http refuses `*` together with credentials,
//! which is exactly what the original clients have seen.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

const ALLOWED_METHODS: &str = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsPolicy {
    AnyOrigin,
    Origins(Vec<String>),
}

impl CorsPolicy {
    /// From `LANESWAP_CORS_ORIGINS`: a comma list, `*` for any.
    pub fn from_list(list: &str) -> Self {
        let origins: Vec<String> = list
            .split(',')
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() || origins.iter().any(|o| o == "*") {
            CorsPolicy::AnyOrigin
        } else {
            CorsPolicy::Origins(origins)
        }
    }

    fn allows(&self, origin: &str) -> bool {
        match self {
            CorsPolicy::AnyOrigin => true,
            CorsPolicy::Origins(list) => list.iter().any(|o| o == origin),
        }
    }
}

fn set(response: &mut Response, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// The CORS middleware.
pub async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    let policy: &CorsPolicy = &state.cors;
    let is_preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if is_preflight {
        let requested_headers = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if !policy.allows(&origin) {
            let mut response = (StatusCode::BAD_REQUEST, "Disallowed CORS origin").into_response();
            set(&mut response, header::VARY, "Origin");
            return response;
        }
        let mut response = Response::new(Body::from("OK"));
        set(
            &mut response,
            header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        );
        set(&mut response, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
        set(&mut response, header::VARY, "Origin");
        set(
            &mut response,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            ALLOWED_METHODS,
        );
        set(&mut response, header::ACCESS_CONTROL_MAX_AGE, "600");
        set(
            &mut response,
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            "true",
        );
        if let Some(requested) = requested_headers {
            set(
                &mut response,
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                &requested,
            );
        }
        return response;
    }
    let has_cookie = request.headers().contains_key(header::COOKIE);
    let mut response = next.run(request).await;
    match policy {
        CorsPolicy::AnyOrigin if !has_cookie => {
            set(&mut response, header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
            set(
                &mut response,
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                "true",
            );
        }
        _ if policy.allows(&origin) => {
            set(&mut response, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
            set(
                &mut response,
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                "true",
            );
            set(&mut response, header::VARY, "Origin");
        }
        _ => {}
    }
    response
}
