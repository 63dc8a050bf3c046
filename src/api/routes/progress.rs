//! `/api/progress…`: the client task API the original clients call
//! (wire-api §4.3), plus list, get and delete.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::api::body::{Fields, JsonBody, MAX_MESSAGE_CHARS, MAX_NAME_CHARS};
use crate::api::dto::TaskView;
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::core::{NewTask, ProgressTask, TaskUpdate};

/// Longest accepted task status string.
const MAX_STATUS_CHARS: usize = 32;

fn view(state: &AppState, task: ProgressTask) -> TaskView {
    TaskView::of(
        task,
        state.core.now(),
        state.core.config().task_stall_after_secs,
    )
}

/// `POST /api/progress`: 201 with the task.
pub async fn start(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut fields = Fields::of(&body, true)?;
    let service_id = fields.required_string("service_id", 1, crate::api::body::MAX_ID_CHARS);
    let task_name = fields.required_string("task_name", 0, MAX_NAME_CHARS);
    let total_steps = fields.required_count("total_steps");
    let description = fields.optional_string("description", 0, MAX_MESSAGE_CHARS);
    let metadata = fields.optional_object("metadata");
    fields.finish()?;
    let task = state
        .core
        .start_task(NewTask {
            service_id,
            task_name,
            total_steps,
            description,
            metadata: metadata.unwrap_or_default(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view(&state, task))).into_response())
}

fn read_update(body: &Option<serde_json::Value>) -> Result<TaskUpdate, ApiError> {
    let mut fields = Fields::of(body, false)?;
    let current_step = fields.optional_count("current_step");
    let status = fields.optional_string("status", 1, MAX_STATUS_CHARS);
    let message = fields.optional_string("message", 0, MAX_MESSAGE_CHARS);
    let metadata = fields.optional_object("metadata");
    fields.finish()?;
    Ok(TaskUpdate {
        current_step,
        status,
        message,
        metadata,
    })
}

/// `PUT /api/progress/{task_id}`: 200 with the task.
pub async fn update(
    State(state): State<AppState>,
    Path(task_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let update = read_update(&body)?;
    let task = state.core.update_task(&task_id, update, false).await?;
    Ok(Json(view(&state, task)).into_response())
}

/// `PUT /api/progress/{task_id}/complete`: 200 with the task.
pub async fn complete(
    State(state): State<AppState>,
    Path(task_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let update = read_update(&body)?;
    let task = state.core.update_task(&task_id, update, true).await?;
    Ok(Json(view(&state, task)).into_response())
}

/// Filters of the task list.
#[derive(Debug, serde::Deserialize)]
pub struct ListParams {
    service_id: Option<String>,
    status: Option<String>,
}

/// `GET /api/progress?service_id=&status=`: `{"tasks": […], "total": n}`.
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let tasks: Vec<ProgressTask> = state.core.read(|registry| {
        registry
            .tasks()
            .filter(|t| {
                params
                    .service_id
                    .as_ref()
                    .is_none_or(|id| &t.service_id == id)
            })
            .filter(|t| params.status.as_ref().is_none_or(|s| &t.status == s))
            .cloned()
            .collect()
    });
    let views: Vec<TaskView> = tasks.into_iter().map(|t| view(&state, t)).collect();
    Ok(Json(json!({ "total": views.len(), "tasks": views })).into_response())
}

/// `GET /api/progress/{task_id}`.
pub async fn get_one(
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> Result<Response, ApiError> {
    let task = state
        .core
        .task(&task_id)
        .ok_or_else(|| ApiError::NotFound(format!("Task not found: {task_id}")))?;
    Ok(Json(view(&state, task)).into_response())
}

/// `DELETE /api/progress/{task_id}`: 200 `{"task_id": …, "deleted": true}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> Result<Response, ApiError> {
    state.core.remove_task(&task_id).await?;
    Ok(Json(json!({ "task_id": task_id, "deleted": true })).into_response())
}
