//! Flask's tagged JSON (`flask.json.tag`): the session serializer wraps
//! values JSON cannot hold in one-key objects (`{" t": [...]}` for a tuple).
//! Shown untagged, as the app sees them: a tuple as an array, bytes as their
//! base64, a UUID in its dashed form, a datetime as the HTTP date Flask
//! stored, markup as its HTML text.

use serde_json::{Map, Value};

/// `value` with every tag replaced by what it stands for. Unknown tags and
/// malformed tagged values are left as they are: this only displays.
pub fn untag(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(untag).collect()),
        Value::Object(map) => untag_object(map),
        other => other,
    }
}

fn untag_object(map: Map<String, Value>) -> Value {
    if map.len() == 1 {
        let (key, inner) = map.iter().next().expect("one entry");
        match (key.as_str(), inner) {
            (" t", Value::Array(items)) => return Value::Array(items.iter().cloned().map(untag).collect()),
            (" b" | " m" | " d", Value::String(_)) => return inner.clone(),
            (" u", Value::String(hex)) => return Value::String(dashed_uuid(hex).unwrap_or_else(|| hex.clone())),
            (" di", Value::Object(wrapped)) if wrapped.len() == 1 => {
                // A dict whose one key looks like a tag: Flask appended "__".
                let (k, v) = wrapped.iter().next().expect("one entry");
                let k = k.strip_suffix("__").unwrap_or(k);
                let mut out = Map::new();
                out.insert(k.to_owned(), untag(v.clone()));
                return Value::Object(out);
            }
            _ => {}
        }
    }
    Value::Object(map.into_iter().map(|(k, v)| (k, untag(v))).collect())
}

/// `0123…` (32 hex digits, as Flask stores `uuid.hex`) as `01234567-89ab-…`.
fn dashed_uuid(hex: &str) -> Option<String> {
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_are_unwrapped_at_any_depth() {
        let tagged = json!({
            "t": {" t": [1, {" b": "AAE="}]},
            "u": {" u": "12345678123456781234567812345678"},
            "di": {" di": {" t__": 5}},
            "plain": {"a": {" m": "<b>x</b>"}},
        });
        assert_eq!(
            untag(tagged),
            json!({
                "t": [1, "AAE="],
                "u": "12345678-1234-5678-1234-567812345678",
                "di": {" t": 5},
                "plain": {"a": "<b>x</b>"},
            })
        );
    }
}
