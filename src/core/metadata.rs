//! Service metadata: the free-form JSON object services, heartbeats and
//! tasks carry, and the compact shared form a service record keeps.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Free-form JSON object carried by services, heartbeats and tasks.
pub type Metadata = Map<String, Value>;

/// A service's metadata, kept as its compact JSON text and shared: the
/// record, the state sent to the store, event summaries and replies all
/// hold the same text, and a heartbeat that changes it re-encodes it once.
///
/// Text rather than a [`Metadata`] tree because a map of a few keys costs
/// about 500 bytes as a tree (index table, entries, boxed values) and about
/// 50 as text: at 100,000 services that is most of the server's memory.
/// Replies copy the text as it is.
#[derive(Clone)]
pub struct SharedMetadata(Arc<RawValue>);

impl SharedMetadata {
    /// Encodes a map.
    pub fn new(map: &Metadata) -> Self {
        let raw = serde_json::value::to_raw_value(map).unwrap_or_else(|_| empty_object());
        SharedMetadata(Arc::from(raw))
    }

    /// The map, decoded (empty only if the text was corrupted, which
    /// [`SharedMetadata::new`] cannot produce).
    pub fn to_map(&self) -> Metadata {
        serde_json::from_str(self.json()).unwrap_or_default()
    }

    /// The compact JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The text as a raw JSON value, which `serde_json` writes verbatim
    /// (only for JSON output: other formats need the [`Serialize`] impl).
    pub fn as_raw(&self) -> &RawValue {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.json() == "{}"
    }

    /// Merges `sent` in, key by key (the heartbeat rule: new keys are added,
    /// existing ones replaced, absent ones kept).
    pub fn merge(&mut self, sent: &Metadata) {
        if sent.is_empty() {
            return;
        }
        let mut merged = self.to_map();
        let mut changed = false;
        for (key, value) in sent {
            match merged.get_mut(key) {
                Some(kept) if kept == value => {}
                Some(kept) => {
                    *kept = value.clone();
                    changed = true;
                }
                None => {
                    merged.insert(key.clone(), value.clone());
                    changed = true;
                }
            }
        }
        // Clients often send the same metadata with every heartbeat: then
        // the shared text stays as it is.
        if changed {
            *self = SharedMetadata::new(&merged);
        }
    }
}

/// `{}` as a raw value: the fallback when encoding cannot fail in practice.
pub(crate) fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_string()).unwrap_or_default()
}

impl Default for SharedMetadata {
    fn default() -> Self {
        SharedMetadata(Arc::from(empty_object()))
    }
}

impl From<Metadata> for SharedMetadata {
    fn from(map: Metadata) -> Self {
        SharedMetadata::new(&map)
    }
}

impl PartialEq for SharedMetadata {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json() || self.to_map() == other.to_map()
    }
}

impl fmt::Debug for SharedMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl Serialize for SharedMetadata {
    /// Streams the text into any serializer (JSON event payloads, BSON
    /// documents) without building the map; replies use [`Self::as_raw`].
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut source = serde_json::Deserializer::from_str(self.json());
        serde_transcode::transcode(&mut source, s)
    }
}

impl<'de> Deserialize<'de> for SharedMetadata {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Metadata::deserialize(d).map(SharedMetadata::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Metadata {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn keeps_compact_text_and_key_order() {
        let shared = SharedMetadata::new(&map(json!({"zone": "b", "a": [1, 2.5], "n": null})));
        assert_eq!(shared.json(), r#"{"zone":"b","a":[1,2.5],"n":null}"#);
        assert_eq!(
            shared.to_map(),
            map(json!({"zone": "b", "a": [1, 2.5], "n": null}))
        );
        assert!(SharedMetadata::default().is_empty());
        assert!(!shared.is_empty());
    }

    #[test]
    fn merge_adds_and_replaces_keys_and_keeps_the_rest() {
        let mut shared = SharedMetadata::new(&map(json!({"version": "1.0", "cpu": 1})));
        let before = shared.clone();
        shared.merge(&map(json!({"cpu": 2, "disk": "ok"})));
        assert_eq!(shared.json(), r#"{"version":"1.0","cpu":2,"disk":"ok"}"#);
        assert_eq!(
            before.json(),
            r#"{"version":"1.0","cpu":1}"#,
            "clones are not changed"
        );
        shared.merge(&Metadata::new());
        assert_eq!(shared.json(), r#"{"version":"1.0","cpu":2,"disk":"ok"}"#);
        let unchanged = shared.clone();
        shared.merge(&map(json!({"cpu": 2})));
        assert!(
            Arc::ptr_eq(&shared.0, &unchanged.0),
            "same values: same text, not re-encoded"
        );
    }

    #[test]
    fn serializes_as_the_object_in_any_format() {
        let shared = SharedMetadata::new(&map(json!({"a": {"b": [true, "x"]}})));
        // JSON text, verbatim.
        assert_eq!(
            serde_json::to_string(&shared).unwrap(),
            r#"{"a":{"b":[true,"x"]}}"#
        );
        // A generic serializer (as BSON's) sees a map, not a raw-value token.
        assert_eq!(
            serde_json::to_value(&shared).unwrap(),
            json!({"a": {"b": [true, "x"]}})
        );
        let back: SharedMetadata =
            serde_json::from_value(json!({"a": {"b": [true, "x"]}})).unwrap();
        assert_eq!(back, shared);
        assert!(serde_json::from_value::<SharedMetadata>(json!([1])).is_err());
    }

    #[test]
    fn equality_ignores_key_order() {
        let one = SharedMetadata::new(&map(json!({"a": 1, "b": 2})));
        let other = SharedMetadata::new(&map(json!({"b": 2, "a": 1})));
        assert_eq!(one, other);
        assert_ne!(one, SharedMetadata::new(&map(json!({"a": 1}))));
    }
}
