//! Request bodies, read and validated the way the original FastAPI server
//! did it, so clients get the same 422 shapes: the body is read (with a size
//! limit), parsed as JSON when the content type allows, and each field is
//! checked by [`Fields`], which collects every error before answering.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ValidationItem};
use super::AppState;
use crate::core::{Metadata, Status};

/// Longest accepted service id (ids are path segments).
pub const MAX_ID_CHARS: usize = 256;
/// Longest accepted service or task name.
pub const MAX_NAME_CHARS: usize = 256;
/// Longest accepted heartbeat or task message.
pub const MAX_MESSAGE_CHARS: usize = 8192;
/// Largest accepted metadata object, serialized.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// The request body as JSON: `None` when the body was empty.
#[derive(Debug)]
pub struct JsonBody(pub Option<Value>);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.options.max_body_bytes;
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| ApiError::TooLarge(limit))?;
        if bytes.is_empty() {
            return Ok(JsonBody(None));
        }
        let is_json = match &content_type {
            None => true,
            Some(ct) => {
                let essence = ct.split(';').next().unwrap_or("").trim();
                essence == "application/json"
                    || (essence.starts_with("application/") && essence.ends_with("+json"))
            }
        };
        if !is_json {
            return Err(ApiError::invalid(ValidationItem {
                kind: "model_attributes_type",
                loc: vec![json!("body")],
                msg: "Input should be a valid dictionary or object to extract fields from".into(),
                input: Value::String(String::from_utf8_lossy(&bytes).chars().take(200).collect()),
                ctx: None,
            }));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Null) => Ok(JsonBody(None)),
            Ok(value) => Ok(JsonBody(Some(value))),
            Err(error) => Err(ApiError::invalid(json_error_item(&bytes, &error))),
        }
    }
}

/// FastAPI's `json_invalid` item, with Python's wording of common errors.
fn json_error_item(bytes: &[u8], error: &serde_json::Error) -> ValidationItem {
    let text = error.to_string();
    let mut column = error.column();
    let python = if text.starts_with("expected ident") {
        // Python reports the start of the bad literal (`nul`, `not json`).
        let before: Vec<char> = String::from_utf8_lossy(bytes)
            .split('\n')
            .nth(error.line().saturating_sub(1))
            .unwrap_or("")
            .chars()
            .take(column.saturating_sub(1))
            .collect();
        column -= before
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        "Expecting value"
    } else if text.starts_with("expected value") || text.starts_with("EOF while parsing a value") {
        "Expecting value"
    } else if text.starts_with("key must be a string") {
        "Expecting property name enclosed in double quotes"
    } else if text.starts_with("trailing characters") {
        "Extra data"
    } else if text.starts_with("EOF while parsing a string") {
        "Unterminated string"
    } else if text.starts_with("expected `,` or `}`") || text.starts_with("expected `,` or `]`") {
        "Expecting ',' delimiter"
    } else if text.starts_with("expected `:`") {
        "Expecting ':' delimiter"
    } else {
        "Invalid JSON"
    };
    ValidationItem {
        kind: "json_invalid",
        loc: vec![
            json!("body"),
            json!(char_offset(bytes, error.line(), column)),
        ],
        msg: "JSON decode error".into(),
        input: json!({}),
        ctx: Some(json!({ "error": python })),
    }
}

/// Character offset of serde_json's 1-based line/column position.
fn char_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let mut offset = 0;
    for (index, content) in text.split('\n').enumerate() {
        if index + 1 == line {
            return offset + column.saturating_sub(1).min(content.chars().count());
        }
        offset += content.chars().count() + 1;
    }
    offset
}

/// Field-by-field validation of a JSON object, collecting FastAPI-style
/// errors with `loc` = `["body", field]`.
///
/// Each accessor returns the field's value, or a placeholder (empty, zero,
/// `None`) when the field is invalid; the error is recorded and [`finish`]
/// refuses the request, so a placeholder is never acted on.
///
/// [`finish`]: Fields::finish
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    whole: &'a Value,
    errors: Vec<ValidationItem>,
}

impl<'a> Fields<'a> {
    /// Starts validating `body`; a missing body or a non-object is an error
    /// right away (`required` bodies) or an empty object (optional bodies).
    pub fn of(body: &'a Option<Value>, required: bool) -> Result<Fields<'a>, ApiError> {
        static EMPTY_OBJECT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| json!({}));
        static EMPTY_MAP: std::sync::LazyLock<Map<String, Value>> =
            std::sync::LazyLock::new(Map::new);
        match body {
            None if required => Err(ApiError::invalid(ValidationItem {
                kind: "missing",
                loc: vec![json!("body")],
                msg: "Field required".into(),
                input: Value::Null,
                ctx: None,
            })),
            None => Ok(Fields {
                object: &EMPTY_MAP,
                whole: &EMPTY_OBJECT,
                errors: Vec::new(),
            }),
            Some(whole @ Value::Object(object)) => Ok(Fields {
                object,
                whole,
                errors: Vec::new(),
            }),
            Some(other) => Err(ApiError::invalid(ValidationItem {
                kind: "model_attributes_type",
                loc: vec![json!("body")],
                msg: "Input should be a valid dictionary or object to extract fields from".into(),
                input: other.clone(),
                ctx: None,
            })),
        }
    }

    fn error(
        &mut self,
        kind: &'static str,
        field: &str,
        msg: impl Into<String>,
        input: Value,
        ctx: Option<Value>,
    ) {
        self.errors.push(ValidationItem {
            kind,
            loc: vec![json!("body"), json!(field)],
            msg: msg.into(),
            input,
            ctx,
        });
    }

    fn missing(&mut self, field: &str) {
        let whole = self.whole.clone();
        self.error("missing", field, "Field required", whole, None);
    }

    fn check_length(&mut self, field: &str, text: &str, min: usize, max: usize) -> bool {
        let count = text.chars().count();
        if count < min {
            self.error(
                "string_too_short",
                field,
                format!(
                    "String should have at least {min} character{}",
                    if min == 1 { "" } else { "s" }
                ),
                json!(text),
                Some(json!({ "min_length": min })),
            );
            return false;
        }
        if count > max {
            self.error(
                "string_too_long",
                field,
                format!("String should have at most {max} characters"),
                json!(text.chars().take(64).collect::<String>() + "…"),
                Some(json!({ "max_length": max })),
            );
            return false;
        }
        true
    }

    /// A field that must be a string of `min..=max` characters.
    pub fn required_string(&mut self, field: &str, min: usize, max: usize) -> String {
        match self.object.get(field) {
            None => {
                self.missing(field);
                String::new()
            }
            Some(value) => self
                .string_value(field, value, min, max)
                .unwrap_or_default(),
        }
    }

    fn string_value(
        &mut self,
        field: &str,
        value: &Value,
        min: usize,
        max: usize,
    ) -> Option<String> {
        match value {
            Value::String(text) => self
                .check_length(field, text, min, max)
                .then(|| text.clone()),
            other => {
                self.error(
                    "string_type",
                    field,
                    "Input should be a valid string",
                    other.clone(),
                    None,
                );
                None
            }
        }
    }

    /// A field that may be absent or null, else a string of `min..=max` characters.
    pub fn optional_string(&mut self, field: &str, min: usize, max: usize) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(value) => self.string_value(field, value, min, max),
        }
    }

    /// A service id: 1–256 characters, no `/` (it must fit one path
    /// segment), no control characters.
    pub fn optional_id(&mut self, field: &str) -> Option<String> {
        let id = self.optional_string(field, 1, MAX_ID_CHARS);
        if let Some(text) = &id {
            if text.contains('/') || text.chars().any(char::is_control) {
                self.error(
                    "string_pattern_mismatch",
                    field,
                    "String should match pattern '^[^/\\x00-\\x1f\\x7f]+$'",
                    json!(text),
                    Some(json!({ "pattern": "^[^/\\x00-\\x1f\\x7f]+$" })),
                );
                return None;
            }
        }
        id
    }

    /// A JSON object no larger than [`MAX_METADATA_BYTES`]; absent or null is `None`.
    pub fn optional_object(&mut self, field: &str) -> Option<Metadata> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => {
                let size = serde_json::to_vec(map)
                    .map(|v| v.len())
                    .unwrap_or(usize::MAX);
                if size > MAX_METADATA_BYTES {
                    self.error(
                        "value_error",
                        field,
                        format!("Value error, {field} is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}"),
                        Value::Null,
                        Some(json!({ "max_bytes": MAX_METADATA_BYTES })),
                    );
                    return None;
                }
                Some(map.clone())
            }
            Some(other) => {
                self.error(
                    "dict_type",
                    field,
                    "Input should be a valid dictionary",
                    other.clone(),
                    None,
                );
                None
            }
        }
    }

    /// One of the seven statuses; absent gives `default`, null is an error.
    pub fn status(&mut self, field: &str, default: Status) -> Status {
        let Some(value) = self.object.get(field) else {
            return default;
        };
        if let Some(status) = value.as_str().and_then(|text| text.parse().ok()) {
            return status;
        }
        let expected = "'healthy', 'warning', 'degraded', 'error', 'busy', 'stale' or 'unknown'";
        self.error(
            "enum",
            field,
            format!("Input should be {expected}"),
            value.clone(),
            Some(json!({ "expected": expected })),
        );
        default
    }

    fn integer_value(&mut self, field: &str, value: &Value) -> Option<i64> {
        let parsed = match value {
            Value::Number(number) => {
                if let Some(int) = number.as_i64() {
                    Ok(int)
                } else if let Some(float) = number.as_f64() {
                    if float.fract() == 0.0 && float.abs() < 9.0e15 {
                        Ok(float as i64)
                    } else {
                        Err((
                            "int_from_float",
                            "Input should be a valid integer, got a number with a fractional part",
                        ))
                    }
                } else {
                    Err(("int_type", "Input should be a valid integer"))
                }
            }
            Value::String(text) => text.trim().parse::<i64>().map_err(|_| {
                (
                    "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer",
                )
            }),
            _ => Err(("int_type", "Input should be a valid integer")),
        };
        match parsed {
            Ok(int) => Some(int),
            Err((kind, msg)) => {
                self.error(kind, field, msg, value.clone(), None);
                None
            }
        }
    }

    fn non_negative(&mut self, field: &str, value: &Value, int: i64) -> Option<u64> {
        if int < 0 {
            self.error(
                "greater_than_equal",
                field,
                "Input should be greater than or equal to 0",
                value.clone(),
                Some(json!({ "ge": 0 })),
            );
            return None;
        }
        Some(int as u64)
    }

    /// A required integer ≥ 0 (numeric strings and whole floats accepted, as pydantic does).
    pub fn required_count(&mut self, field: &str) -> u64 {
        match self.object.get(field) {
            None => {
                self.missing(field);
                0
            }
            Some(value) => self
                .integer_value(field, value)
                .and_then(|int| self.non_negative(field, value, int))
                .unwrap_or(0),
        }
    }

    /// An optional integer ≥ 0.
    pub fn optional_count(&mut self, field: &str) -> Option<u64> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(value) => self
                .integer_value(field, value)
                .and_then(|int| self.non_negative(field, value, int)),
        }
    }

    /// An optional number of seconds in `(0, max]`.
    pub fn optional_seconds(&mut self, field: &str, max: f64) -> Option<f64> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(value) => {
                let number = match value {
                    Value::Number(n) => n.as_f64(),
                    Value::String(text) => text.trim().parse::<f64>().ok(),
                    _ => None,
                };
                match number {
                    Some(secs) if secs > 0.0 && secs <= max && secs.is_finite() => Some(secs),
                    Some(_) => {
                        self.error(
                            "less_than_equal",
                            field,
                            format!("Input should be greater than 0 and at most {max}"),
                            value.clone(),
                            Some(json!({ "gt": 0, "le": max })),
                        );
                        None
                    }
                    None => {
                        self.error(
                            "float_type",
                            field,
                            "Input should be a valid number",
                            value.clone(),
                            None,
                        );
                        None
                    }
                }
            }
        }
    }

    /// An optional boolean.
    pub fn optional_bool(&mut self, field: &str) -> Option<bool> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(flag)) => Some(*flag),
            Some(other) => {
                self.error(
                    "bool_type",
                    field,
                    "Input should be a valid boolean",
                    other.clone(),
                    None,
                );
                None
            }
        }
    }

    /// An optional list of at most `max_items` strings of 1..=`max_chars` characters.
    pub fn optional_string_list(
        &mut self,
        field: &str,
        max_items: usize,
        max_chars: usize,
    ) -> Option<Vec<String>> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.len() <= max_items => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(text) if !text.is_empty() && text.chars().count() <= max_chars => {
                            list.push(text.to_string())
                        }
                        _ => {
                            self.error(
                                "string_type",
                                field,
                                format!(
                                    "Each item should be a string of 1 to {max_chars} characters"
                                ),
                                item.clone(),
                                None,
                            );
                            return None;
                        }
                    }
                }
                Some(list)
            }
            Some(Value::Array(_)) => {
                self.error(
                    "too_long",
                    field,
                    format!("List should have at most {max_items} items"),
                    Value::Null,
                    Some(json!({ "max_length": max_items })),
                );
                None
            }
            Some(other) => {
                self.error(
                    "list_type",
                    field,
                    "Input should be a valid list",
                    other.clone(),
                    None,
                );
                None
            }
        }
    }

    /// An optional RFC 3339 timestamp.
    pub fn optional_datetime(&mut self, field: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let text = self.optional_string(field, 1, 64)?;
        match chrono::DateTime::parse_from_rfc3339(text.trim()) {
            Ok(at) => Some(at.with_timezone(&chrono::Utc)),
            Err(_) => {
                self.error(
                    "datetime_parsing",
                    field,
                    "Input should be a valid datetime (RFC 3339, e.g. 2026-11-28T12:00:00Z)",
                    json!(text),
                    None,
                );
                None
            }
        }
    }

    /// Records an error about a field that passed its own checks but not
    /// the request's rules (e.g. two fields that exclude each other).
    pub fn refuse(&mut self, field: &str, msg: &str) {
        let input = self.object.get(field).cloned().unwrap_or(Value::Null);
        self.error(
            "value_error",
            field,
            format!("Value error, {msg}"),
            input,
            None,
        );
    }

    /// Ends validation: every collected error, or nothing.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_characters_across_lines() {
        assert_eq!(char_offset(b"{\n  x", 2, 3), 4);
        assert_eq!(char_offset(b"abc", 1, 1), 0);
    }

    #[test]
    fn collects_every_error() {
        let body = Some(json!({"service_name": 5, "metadata": []}));
        let mut fields = Fields::of(&body, true).unwrap();
        assert_eq!(fields.required_string("service_name", 0, 10), "");
        assert!(fields.optional_object("metadata").is_none());
        let Err(ApiError::Validation(items)) = fields.finish() else {
            panic!("expected validation errors");
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].kind, "string_type");
        assert_eq!(items[1].kind, "dict_type");
    }
}
