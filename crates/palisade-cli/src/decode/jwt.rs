//! JSON Web Tokens in compact form: `header.payload.signature`, each part
//! base64url JSON (RFC 7519). The claims are readable by anyone.

use super::verify::Signed;
use super::{json, Decoded, Kind};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

pub(super) fn decode(value: &str) -> Option<Decoded> {
    let mut it = value.split('.');
    let (header, payload, signature) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let header = json(&URL_SAFE_NO_PAD.decode(header).ok()?)?;
    let alg = header.get("alg")?.as_str()?.to_owned();
    let data = json(&URL_SAFE_NO_PAD.decode(payload).ok()?)?;
    let mut warnings = Vec::new();
    if alg.eq_ignore_ascii_case("none") || signature.is_empty() {
        warnings.push(
            "alg \"none\" / no signature: anyone can forge this token; a server that accepts it trusts whatever \
             the client writes"
                .to_owned(),
        );
    }
    if data.get("exp").is_none() {
        warnings.push("no \"exp\" claim: the token never expires".to_owned());
    }
    let signed_at = data.get("iat").and_then(Value::as_u64);
    Some(Decoded {
        kind: Kind::Jwt,
        compressed: false,
        signed_at,
        signature: alg,
        header: Some(header),
        data,
        warnings,
        cookie_name: None,
        signed: Signed::split(value, '.'),
        signature_check: None,
    })
}
