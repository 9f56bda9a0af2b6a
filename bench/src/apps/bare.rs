//! No session: what the same routes cost without any session machinery.

use axum::{routing::get, Router};

pub fn routes() -> Router {
    Router::new()
        .route("/counter", get(|| async { 1u64.to_string() }))
        .route("/read", get(|| async { 0u64.to_string() }))
        .route("/none", get(|| async { "ok" }))
        .route("/login", get(|| async { 0u64.to_string() }))
}
