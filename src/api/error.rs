//! `ApiError`: every failure the API reports, mapped to the original's
//! status codes and `{"detail": ...}` bodies. Internal errors are logged
//! and answered with a generic text so nothing internal leaks.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::core::{AlertError, CoreError, RegistryError};
use crate::storage::StoreError;

/// One FastAPI-style validation error item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ValidationItem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub loc: Vec<Value>,
    pub msg: String,
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

/// Errors the HTTP layer answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422 with FastAPI's list of validation errors.
    #[error("validation failed")]
    Validation(Vec<ValidationItem>),
    /// 404 with the given detail text.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the resource's state.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body exceeded the configured limit.
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    /// 503: the store could not commit; the caller should retry.
    #[error("storage unavailable")]
    StorageUnavailable(String),
    /// 500: a bug or an unexpected backend failure; logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::StorageUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A single validation error.
    pub fn invalid(item: ValidationItem) -> Self {
        ApiError::Validation(vec![item])
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::Refused(RegistryError::ServiceNotFound(id)) => {
                ApiError::NotFound(format!("Service not found: {id}"))
            }
            CoreError::Refused(RegistryError::TaskNotFound(id)) => {
                ApiError::NotFound(format!("Task not found: {id}"))
            }
            CoreError::Refused(RegistryError::Alert(error @ AlertError::NotFound(_))) => {
                ApiError::NotFound(error.to_string())
            }
            CoreError::Refused(RegistryError::Alert(error)) => {
                ApiError::Conflict(error.to_string())
            }
            CoreError::Refused(error @ RegistryError::ChannelNotFound(_)) => {
                ApiError::NotFound(error.to_string())
            }
            CoreError::Refused(error @ RegistryError::ChannelReadOnly(_)) => {
                ApiError::Conflict(error.to_string())
            }
            CoreError::Storage(error) => ApiError::StorageUnavailable(error.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::StorageUnavailable(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            ApiError::Validation(items) => json!({ "detail": items }),
            ApiError::NotFound(detail) | ApiError::Conflict(detail) => json!({ "detail": detail }),
            ApiError::TooLarge(limit) => {
                json!({ "detail": format!("Request body too large: the limit is {limit} bytes") })
            }
            ApiError::StorageUnavailable(reason) => {
                tracing::error!(%reason, "storage unavailable");
                json!({ "detail": "Storage unavailable, the change was not saved; retry later" })
            }
            ApiError::Internal(reason) => {
                tracing::error!(%reason, "internal error");
                json!({ "detail": "Internal server error" })
            }
        };
        (status, Json(body)).into_response()
    }
}
