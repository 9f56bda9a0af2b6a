//! What a Flask session holds: JSON plus the types Flask's tagged JSON
//! (`flask.json.tag.TaggedJSONSerializer`) adds.
//!
//! Flask writes a value JSON cannot hold as a one-key object whose key is a
//! tag: `{" t": [1, 2]}` is the tuple `(1, 2)`, `{" b": "AAE="}` the bytes
//! `b"\x00\x01"`, `{" u": "<32 hex digits>"}` a UUID, `{" d": "<HTTP date>"}`
//! a datetime, `{" m": "<b>x</b>"}` markup, and `{" di": {"<key>__": v}}` a
//! dict whose one key looks like a tag. Reading is bottom-up, like Python's
//! `json.loads(..., object_hook=untag)`: the inner objects are untagged
//! before the object around them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// One value of a Flask session, with the Python type Flask restores.
#[derive(Clone, Debug, PartialEq)]
pub enum FlaskValue {
    /// `None`.
    Null,
    Bool(bool),
    /// `int` or `float`.
    Number(Number),
    /// `str`.
    String(String),
    /// `list`.
    List(Vec<FlaskValue>),
    /// `tuple` (tag `" t"`).
    Tuple(Vec<FlaskValue>),
    /// `dict`.
    Dict(BTreeMap<String, FlaskValue>),
    /// `bytes` (tag `" b"`, standard base64).
    Bytes(Vec<u8>),
    /// `markupsafe.Markup` (tag `" m"`): HTML the app marked as safe.
    Markup(String),
    /// `uuid.UUID` (tag `" u"`), its 16 bytes.
    Uuid([u8; 16]),
    /// `datetime.datetime` (tag `" d"`), to the second: Flask stores it as
    /// an HTTP date in UTC.
    DateTime(SystemTime),
}

impl FlaskValue {
    /// The string, for `str` values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FlaskValue::String(text) => Some(text),
            _ => None,
        }
    }

    /// The boolean, for `True` and `False`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            FlaskValue::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// Plain JSON, as a person reads the value: a tuple as an array, bytes
    /// as their standard base64, a UUID in its dashed form, a datetime as
    /// an HTTP date, markup as its HTML text. Loses the Python types; for
    /// display (`palisade decode`), not for reading the session back.
    pub fn to_display_json(&self) -> Value {
        match self {
            FlaskValue::Null => Value::Null,
            FlaskValue::Bool(value) => Value::Bool(*value),
            FlaskValue::Number(number) => Value::Number(number.clone()),
            FlaskValue::String(text) | FlaskValue::Markup(text) => Value::String(text.clone()),
            FlaskValue::List(items) | FlaskValue::Tuple(items) => {
                Value::Array(items.iter().map(FlaskValue::to_display_json).collect())
            }
            FlaskValue::Dict(map) => {
                Value::Object(map.iter().map(|(key, value)| (key.clone(), value.to_display_json())).collect())
            }
            FlaskValue::Bytes(bytes) => Value::String(STANDARD.encode(bytes)),
            FlaskValue::Uuid(bytes) => Value::String(dashed_uuid(bytes)),
            FlaskValue::DateTime(at) => Value::String(httpdate::fmt_http_date(*at)),
        }
    }
}

/// A tagged value Flask would not have written, or could not read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Flask's tagged JSON: {0}")]
pub struct TagError(&'static str);

impl TagError {
    /// What is wrong, in words.
    pub(crate) fn reason(&self) -> &'static str {
        self.0
    }
}

/// Reads Flask's tagged JSON from the parsed JSON `value`.
pub(crate) fn untag(value: Value) -> Result<FlaskValue, TagError> {
    Ok(match value {
        Value::Null => FlaskValue::Null,
        Value::Bool(value) => FlaskValue::Bool(value),
        Value::Number(number) => FlaskValue::Number(number),
        Value::String(text) => FlaskValue::String(text),
        Value::Array(items) => FlaskValue::List(items.into_iter().map(untag).collect::<Result<_, _>>()?),
        Value::Object(map) => untag_object(map)?,
    })
}

fn untag_object(map: Map<String, Value>) -> Result<FlaskValue, TagError> {
    let mut dict = BTreeMap::new();
    for (key, value) in map {
        dict.insert(key, untag(value)?);
    }
    if dict.len() != 1 {
        return Ok(FlaskValue::Dict(dict));
    }
    let (tag, inner) = dict.pop_first().expect("one entry");
    Ok(match (tag.as_str(), inner) {
        (" t", FlaskValue::List(items)) => FlaskValue::Tuple(items),
        (" t", _) => return Err(TagError("a tuple (\" t\") that is not a list")),
        (" b", FlaskValue::String(text)) => {
            FlaskValue::Bytes(STANDARD.decode(text).map_err(|_| TagError("bytes (\" b\") that are not base64"))?)
        }
        (" b", _) => return Err(TagError("bytes (\" b\") that are not a string")),
        (" m", FlaskValue::String(text)) => FlaskValue::Markup(text),
        (" m", _) => return Err(TagError("markup (\" m\") that is not a string")),
        (" u", FlaskValue::String(text)) => {
            FlaskValue::Uuid(parse_uuid(&text).ok_or(TagError("a UUID (\" u\") that is not 32 hex digits"))?)
        }
        (" u", _) => return Err(TagError("a UUID (\" u\") that is not a string")),
        // werkzeug's `parse_date` returns None for a date it cannot read,
        // and Flask hands that on: the value becomes `None`.
        (" d", FlaskValue::String(text)) => {
            httpdate::parse_http_date(&text).map_or(FlaskValue::Null, FlaskValue::DateTime)
        }
        (" d", _) => return Err(TagError("a datetime (\" d\") that is not a string")),
        (" di", FlaskValue::Dict(mut wrapped)) if wrapped.len() == 1 => {
            // A dict whose one key looks like a tag: Flask appended "__".
            // Python's `key[:-2]`: two characters, not two bytes.
            let (mut key, value) = wrapped.pop_first().expect("one entry");
            let cut = key.char_indices().rev().nth(1).map_or(0, |(at, _)| at);
            key.truncate(cut);
            FlaskValue::Dict(BTreeMap::from([(key, value)]))
        }
        (" di", _) => return Err(TagError("a wrapped dict (\" di\") that is not a one-key dict")),
        (_, inner) => FlaskValue::Dict(BTreeMap::from([(tag, inner)])),
    })
}

/// Python's `uuid.UUID(text)`: 32 hex digits, with dashes, braces and a
/// `urn:uuid:` prefix ignored (Flask writes the bare 32 digits).
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let text = text.replace("urn:", "").replace("uuid:", "");
    let digits: String = text.trim_matches(|c| c == '{' || c == '}').chars().filter(|&c| c != '-').collect();
    if digits.len() != 32 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}

/// `01234567-89ab-cdef-0123-456789abcdef`.
fn dashed_uuid(bytes: &[u8; 16]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_are_read_at_any_depth_and_shown_as_plain_json() {
        let tagged = json!({
            "t": {" t": [1, {" b": "AAE="}]},
            "u": {" u": "12345678123456781234567812345678"},
            "di": {" di": {" t__": 5}},
            "d": {" d": "Tue, 01 Dec 2026 10:00:00 GMT"},
            "plain": {"a": {" m": "<b>x</b>"}},
        });
        let value = untag(tagged).unwrap();
        let FlaskValue::Dict(map) = &value else { panic!("{value:?}") };
        assert_eq!(map["t"], FlaskValue::Tuple(vec![FlaskValue::Number(1.into()), FlaskValue::Bytes(vec![0, 1])]));
        assert!(matches!(map["d"], FlaskValue::DateTime(_)));
        assert_eq!(
            value.to_display_json(),
            json!({
                "t": [1, "AAE="],
                "u": "12345678-1234-5678-1234-567812345678",
                "di": {" t": 5},
                "d": "Tue, 01 Dec 2026 10:00:00 GMT",
                "plain": {"a": "<b>x</b>"},
            })
        );
    }

    #[test]
    fn a_tag_flask_would_not_write_is_an_error_not_a_guess() {
        for bad in [json!({" t": "ab"}), json!({" b": "not base64!"}), json!({" u": "123"}), json!({" di": 1})] {
            assert!(untag(bad.clone()).is_err(), "{bad}");
        }
        // An unreadable date becomes None, as werkzeug's parse_date makes it.
        assert_eq!(untag(json!({" d": "yesterday"})).unwrap(), FlaskValue::Null);
        // A one-key dict whose key is no tag is a dict.
        assert_eq!(
            untag(json!({" x": 1})).unwrap(),
            FlaskValue::Dict(BTreeMap::from([(" x".to_owned(), FlaskValue::Number(1.into()))]))
        );
    }
}
