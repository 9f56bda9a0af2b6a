//! What the Flask bridge's tests share: the Python with the real Flask
//! packages, and values written the way the oracle scripts write them.
#![allow(dead_code)] // each test binary uses a different part

use palisade::flask::FlaskValue;
use serde_json::{json, Value};

/// The Python that has Flask, Flask-Login and Flask-Session (the test
/// script's virtualenv), or a panic saying how to get it.
pub fn python() -> String {
    std::env::var("PALISADE_ORACLE_PYTHON").unwrap_or_else(|_| {
        panic!(
            "PALISADE_ORACLE_PYTHON is not set: run `scripts/test` (it creates target/oracles/venv with Flask, \
             Flask-Login and Flask-Session from crates/palisade-cli/tests/oracles/requirements.txt), or point it \
             at a python with those packages"
        )
    })
}

/// A value with its Python type named, as the oracle scripts' `typed` writes it.
pub fn typed(value: &FlaskValue) -> Value {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match value {
        FlaskValue::Null => json!({"none": null}),
        FlaskValue::Bool(b) => json!({"bool": b}),
        FlaskValue::Number(n) => json!({"number": n}),
        FlaskValue::String(s) => json!({"str": s}),
        FlaskValue::Markup(s) => json!({"markup": s}),
        FlaskValue::List(items) => json!({"list": items.iter().map(typed).collect::<Vec<_>>()}),
        FlaskValue::Tuple(items) => json!({"tuple": items.iter().map(typed).collect::<Vec<_>>()}),
        FlaskValue::Dict(map) => {
            json!({"dict": map.iter().map(|(k, v)| (k.clone(), typed(v))).collect::<serde_json::Map<_, _>>()})
        }
        FlaskValue::Bytes(bytes) => json!({"bytes": hex(bytes)}),
        FlaskValue::Uuid(bytes) => json!({"uuid": hex(bytes)}),
        FlaskValue::DateTime(at) => json!({"datetime": at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()}),
    }
}
