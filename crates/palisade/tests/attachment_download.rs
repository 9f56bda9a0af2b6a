//! A user upload served through an axum router (and the security headers
//! layer) as a safe download.

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use palisade::attachment::Attachment;
use palisade::headers::SecurityHeadersLayer;
use tower::ServiceExt;

#[tokio::test]
async fn an_html_upload_downloads_as_bytes_with_an_encoded_name() {
    let app = Router::new()
        .route(
            "/files/1",
            get(|| async {
                Attachment::new(b"<script>alert(1)</script>".to_vec(), "Zürich \"plan\".html", "text/html")
            }),
        )
        .layer(SecurityHeadersLayer::new());
    let res = app.oneshot(Request::builder().uri("/files/1").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert_eq!(h[header::CONTENT_TYPE], "application/octet-stream");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(
        h[header::CONTENT_DISPOSITION],
        "attachment; filename=\"Z_rich _plan_.html\"; filename*=UTF-8''Z%C3%BCrich%20%22plan%22.html"
    );
    // The attachment's own sandboxing policy wins over the page policy.
    assert_eq!(h[header::CONTENT_SECURITY_POLICY], "default-src 'none'; sandbox");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"<script>alert(1)</script>");
}
