//! Readable output of the client commands: tables and `key: value` lists.
//! Strings from the server are stripped of control characters first.

use chrono::{DateTime, Utc};
use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};
use serde_json::Value;

use crate::client::types::parse_time;
use crate::core::text::clean;

/// A table with a header row and no borders (like `kubectl get`).
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| h.to_string()));
    for row in rows {
        table.add_row(row);
    }
    // comfy-table pads every line: drop the trailing spaces and the
    // one-space margin it puts on the left.
    table
        .to_string()
        .lines()
        .map(|line| {
            line.strip_prefix(' ')
                .unwrap_or(line)
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `key: value` lines, keys aligned.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(key, value)| format!("{key:<width$}  {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A string field, cleaned; empty when missing or null.
pub fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(text)) => clean(text),
        Some(Value::Null) | None => String::new(),
        Some(other) => clean(&other.to_string()),
    }
}

/// A time field as "5s ago" / "in 3m", or `never`.
pub fn when(value: &Value, key: &str, now: DateTime<Utc>) -> String {
    match value.get(key).and_then(Value::as_str).and_then(parse_time) {
        Some(at) => crate::core::text::relative(at, now),
        None => "never".to_string(),
    }
}

/// A list of strings, comma-separated (`all` when empty).
pub fn list_or_all(value: &Value, key: &str) -> String {
    let items: Vec<String> = value
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(clean).collect())
        .unwrap_or_default();
    if items.is_empty() {
        "all".to_string()
    } else {
        items.join(",")
    }
}

/// Metadata as `key=value` pairs.
pub fn metadata(value: &Value) -> String {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(key, value)| {
                    let shown = match value {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    format!("{}={}", clean(key), clean(&shown))
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_without_borders_or_trailing_spaces() {
        let out = table(
            &["NAME", "STATUS"],
            vec![
                vec!["api".into(), "healthy".into()],
                vec!["database-primary".into(), "error".into()],
            ],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "NAME              STATUS");
        assert_eq!(lines[2], "database-primary  error");
        assert!(lines.iter().all(|line| !line.ends_with(' ')));
    }

    #[test]
    fn values_are_cleaned_and_listed() {
        let value = json!({"name": "a\u{1b}[2Jb", "levels": [], "services": ["x", "y"], "meta": {"k": 1, "s": "v"}});
        assert_eq!(text(&value, "name"), "a[2Jb");
        assert_eq!(list_or_all(&value, "levels"), "all");
        assert_eq!(list_or_all(&value, "services"), "x,y");
        assert_eq!(metadata(&value["meta"]), "k=1 s=v");
        assert_eq!(
            fields(&[("id", "1".into()), ("status", "ok".into())]),
            "id      1\nstatus  ok"
        );
    }
}
