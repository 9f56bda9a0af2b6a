//! Serving user-uploaded files so they download, never run.
//!
//! ```
//! use axum::{response::IntoResponse, routing::get, Router};
//! use palisade::attachment::Attachment;
//!
//! async fn download() -> impl IntoResponse {
//!     // The uploader said "text/html": it is served as a download of bytes.
//!     Attachment::new(b"<script>alert(1)</script>".to_vec(), "résumé.html", "text/html")
//! }
//! let app: Router = Router::new().route("/files/1", get(download));
//! ```
//!
//! An upload served from our origin with the type its uploader chose (or
//! one the browser guesses) runs as HTML or SVG *on our origin*: stored
//! XSS with access to the user's session. [`Attachment`] answers with
//!
//! - `Content-Disposition: attachment` — the browser saves the file instead
//!   of rendering it — with the filename encoded per RFC 6266: an ASCII
//!   `filename="…"` with quotes, backslashes, control characters, path
//!   separators and `%` replaced (no header or parameter injection, no path
//!   tricks), plus `filename*=UTF-8''…` (RFC 5987/8187) when the real name is
//!   not plain ASCII;
//! - a `Content-Type` from a short allow-list of types browsers never run
//!   as a document (images except SVG, PDF, plain text, audio, video,
//!   archives); anything else, and every HTML, SVG or XML type, becomes
//!   `application/octet-stream`;
//! - `X-Content-Type-Options: nosniff`, so the browser does not second-guess
//!   that type;
//! - `Content-Security-Policy: default-src 'none'; sandbox`, so even a
//!   browser that renders it anyway gives it no scripts and no origin.

use http::header::{CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, HeaderValue};

/// Content types served as declared (parameters are dropped; `text/plain`
/// gets `charset=utf-8` so the browser does not guess the encoding, an old
/// route to XSS through UTF-7).
pub const SAFE_CONTENT_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "application/pdf",
    "text/plain",
    "text/csv",
    "audio/mpeg",
    "audio/ogg",
    "audio/wav",
    "video/mp4",
    "video/webm",
    "application/zip",
    "application/gzip",
];

/// What every unknown or dangerous upload is served as.
pub const FALLBACK_CONTENT_TYPE: &str = "application/octet-stream";
/// Longest filename kept (characters); longer names are cut.
const MAX_FILENAME_CHARS: usize = 150;

/// A user-uploaded file as a safe download response.
#[derive(Clone)]
pub struct Attachment {
    body: Vec<u8>,
    headers: HeaderMap,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment").field("len", &self.body.len()).field("headers", &self.headers).finish()
    }
}

impl Attachment {
    /// `declared_type` is what the uploader (or your sniffing) claims;
    /// it is used only if it is on [`SAFE_CONTENT_TYPES`].
    pub fn new(body: Vec<u8>, filename: &str, declared_type: &str) -> Self {
        Self { body, headers: headers(filename, declared_type) }
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub fn into_parts(self) -> (HeaderMap, Vec<u8>) {
        (self.headers, self.body)
    }
}

/// The response headers for serving `filename` of `declared_type`.
pub fn headers(filename: &str, declared_type: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(safe_content_type(declared_type)));
    // Built only from the sanitised ASCII and percent-encoding below: always a valid value.
    let disposition = HeaderValue::try_from(content_disposition(filename))
        .unwrap_or(HeaderValue::from_static("attachment; filename=\"download\""));
    headers.insert(CONTENT_DISPOSITION, disposition);
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    headers
}

/// The declared type if it is safe, else `application/octet-stream`.
pub fn safe_content_type(declared: &str) -> &'static str {
    let essence = declared.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match SAFE_CONTENT_TYPES.iter().find(|t| **t == essence) {
        Some(&"text/plain") => "text/plain; charset=utf-8",
        Some(&"text/csv") => "text/csv; charset=utf-8",
        Some(safe) => safe,
        None => FALLBACK_CONTENT_TYPE,
    }
}

/// `attachment; filename="…"` and, for a name that is not plain ASCII,
/// `; filename*=UTF-8''…`.
pub fn content_disposition(filename: &str) -> String {
    // Control characters and path separators never belong in a file name.
    let cleaned: String =
        filename.chars().map(|c| if c.is_control() || c == '/' || c == '\\' { '_' } else { c }).collect();
    let cleaned = cleaned.trim();
    let cleaned = if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') { "download" } else { cleaned };
    let cleaned: String = cleaned.chars().take(MAX_FILENAME_CHARS).collect();
    let fallback: String = cleaned
        .chars()
        .map(|c| if c.is_ascii_graphic() && !matches!(c, '"' | '%' | '\\') || c == ' ' { c } else { '_' })
        .collect();
    let mut value = format!("attachment; filename=\"{fallback}\"");
    if fallback != cleaned {
        value.push_str("; filename*=UTF-8''");
        value.push_str(&rfc5987_encode(&cleaned));
    }
    value
}

/// Percent-encodes everything outside RFC 5987's `attr-char`.
fn rfc5987_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for Attachment {
    fn into_response(self) -> axum::response::Response {
        (self.headers, self.body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_names_are_quoted_only() {
        assert_eq!(content_disposition("report 2024.pdf"), "attachment; filename=\"report 2024.pdf\"");
    }

    #[test]
    fn non_ascii_names_get_an_rfc5987_filename_star() {
        assert_eq!(
            content_disposition("naïve résumé.pdf"),
            "attachment; filename=\"na_ve r_sum_.pdf\"; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.pdf"
        );
        assert_eq!(content_disposition("📄.txt"), "attachment; filename=\"_.txt\"; filename*=UTF-8''%F0%9F%93%84.txt");
    }

    #[test]
    fn quotes_backslashes_and_controls_cannot_break_the_header() {
        let v = content_disposition("evil\".html; filename=x.html");
        assert!(v.starts_with("attachment; filename=\"evil_.html; filename=x.html\""), "{v}");
        assert!(v.contains("filename*=UTF-8''evil%22.html%3B%20filename%3Dx.html"), "{v}");
        let v = content_disposition("a\r\nSet-Cookie: x=1\\b");
        assert!(!v.contains('\r') && !v.contains('\n') && !v.contains('\\'), "{v}");
        assert!(HeaderValue::try_from(v).is_ok());
        assert_eq!(content_disposition("100%.txt"), "attachment; filename=\"100_.txt\"; filename*=UTF-8''100%25.txt");
    }

    #[test]
    fn path_tricks_and_empty_names() {
        assert_eq!(content_disposition("../../etc/passwd"), "attachment; filename=\".._.._etc_passwd\"");
        assert_eq!(content_disposition(""), "attachment; filename=\"download\"");
        assert_eq!(content_disposition(".."), "attachment; filename=\"download\"");
        assert_eq!(content_disposition("   "), "attachment; filename=\"download\"");
        assert!(content_disposition(&"a".repeat(1000)).len() < 400);
    }

    #[test]
    fn dangerous_types_become_octet_stream() {
        for bad in [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/xml",
            "application/javascript",
            "text/javascript",
            "application/x-shockwave-flash",
            "multipart/x-mixed-replace",
            "",
            "nonsense",
        ] {
            assert_eq!(safe_content_type(bad), FALLBACK_CONTENT_TYPE, "{bad}");
        }
        assert_eq!(safe_content_type("image/PNG"), "image/png");
        assert_eq!(safe_content_type("text/plain; charset=utf-7"), "text/plain; charset=utf-8");
    }

    #[test]
    fn every_response_header_is_set() {
        let a = Attachment::new(b"<svg onload=alert(1)>".to_vec(), "x.svg", "image/svg+xml");
        let h = a.headers();
        assert_eq!(h[CONTENT_TYPE], FALLBACK_CONTENT_TYPE);
        assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[CONTENT_DISPOSITION], "attachment; filename=\"x.svg\"");
        assert_eq!(h[CONTENT_SECURITY_POLICY], "default-src 'none'; sandbox");
    }
}
