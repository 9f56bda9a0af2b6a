//! Finding the `csrf_token` field in a form body without consuming it.
//!
//! The body is buffered up to a limit, searched, and handed to the handler
//! byte for byte as it came.

use super::FIELD_NAME;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::HeaderMap;
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// A form encoding the token field can be read from.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FormKind {
    UrlEncoded,
    Multipart { boundary: String },
}

/// The request's form encoding, if it is one that carries fields.
pub(crate) fn form_kind(headers: &HeaderMap) -> Option<FormKind> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next()?.trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(FormKind::UrlEncoded)
    } else if essence.eq_ignore_ascii_case("multipart/form-data") {
        multer::parse_boundary(content_type).ok().map(|boundary| FormKind::Multipart { boundary })
    } else {
        None
    }
}

/// Why the body could not be searched.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Over the configured limit: answered with 413, never buffered further.
    TooLarge,
    /// The client's body broke off or was malformed at the transport level.
    Unreadable,
}

/// Reads at most `limit` bytes of `body`. A larger body is refused as soon
/// as the limit is passed: memory use per request stays bounded whatever the
/// client sends (a memory-exhaustion defence).
pub(crate) async fn buffer<B>(body: B, limit: usize) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if over_a_limit(err.as_ref()) => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Unreadable),
    }
}

/// Ours or a limit outside us (tower-http's `RequestBodyLimitLayer`, whose
/// error axum wraps in its own): the client sent too much, a 413, not a 400.
fn over_a_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if err.downcast_ref::<LengthLimitError>().is_some() {
            return true;
        }
        current = err.source();
    }
    false
}

/// The value of the first `csrf_token` field, if any.
pub(crate) async fn token_field(kind: &FormKind, body: &Bytes) -> Option<String> {
    match kind {
        FormKind::UrlEncoded => {
            form_urlencoded::parse(body).find(|(name, _)| name == FIELD_NAME).map(|(_, value)| value.into_owned())
        }
        FormKind::Multipart { boundary } => multipart_field(boundary, body.clone()).await,
    }
}

async fn multipart_field(boundary: &str, body: Bytes) -> Option<String> {
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    // Malformed multipart is "no token", never an error page with details.
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(FIELD_NAME) {
            return field.text().await.ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;

    fn headers(content_type: &'static str) -> HeaderMap {
        [(CONTENT_TYPE, content_type.parse().unwrap())].into_iter().collect()
    }

    #[test]
    fn recognises_form_encodings() {
        assert_eq!(form_kind(&headers("application/x-www-form-urlencoded; charset=utf-8")), Some(FormKind::UrlEncoded));
        assert_eq!(
            form_kind(&headers("multipart/form-data; boundary=XyZ")),
            Some(FormKind::Multipart { boundary: "XyZ".into() })
        );
        assert_eq!(form_kind(&headers("multipart/form-data")), None, "no boundary");
        assert_eq!(form_kind(&headers("application/json")), None);
        assert_eq!(form_kind(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn finds_the_field_in_both_encodings() {
        let body = Bytes::from_static(b"a=1&csrf_token=abc%2D_&b=2");
        assert_eq!(token_field(&FormKind::UrlEncoded, &body).await.as_deref(), Some("abc-_"));
        let multipart = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
              --XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n--XyZ--\r\n",
        );
        let kind = FormKind::Multipart { boundary: "XyZ".into() };
        assert_eq!(token_field(&kind, &multipart).await.as_deref(), Some("tok"));
        assert_eq!(token_field(&kind, &Bytes::from_static(b"garbage")).await, None);
    }

    #[tokio::test]
    async fn buffering_stops_at_the_limit() {
        let ok = buffer(Full::new(Bytes::from(vec![b'x'; 10])), 10).await.unwrap();
        assert_eq!(ok.len(), 10);
        assert!(matches!(buffer(Full::new(Bytes::from(vec![b'x'; 11])), 10).await, Err(BodyError::TooLarge)));
    }
}
