//! Per-route opt-out of session binding.

use crate::session::Session;
use futures_util::future::BoxFuture;
use http::Request;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// Turns session binding off for the routes it wraps (put it on a route with
/// axum's `route_layer`, inside the `SessionLayer`).
///
/// For endpoints where a changed client is expected and harmless, e.g. a
/// read-only status endpoint polled from another device. The opt-out only
/// covers loads that happen inside it: a layer that loads the session
/// earlier in the request (the CSRF layer on a POST) still checks — a
/// misplaced opt-out fails closed, never open.
///
/// ```
/// use axum::{routing::get, Router};
/// use palisade::binding::SkipBindingLayer;
/// let app: Router = Router::new().route("/status", get(|| async { "ok" }).route_layer(SkipBindingLayer));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SkipBindingLayer;

impl<S> Layer<S> for SkipBindingLayer {
    type Service = SkipBindingService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SkipBindingService { inner }
    }
}

/// The service made by [`SkipBindingLayer`].
#[derive(Clone, Debug)]
pub struct SkipBindingService<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for SkipBindingService<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let session = req.extensions().get::<Session>().cloned();
        // The clone that was made ready is the one we call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            if let Some(session) = session {
                session.skip_checks().await;
            }
            inner.call(req).await
        })
    }
}
