//! The axum side: [`FlaskUser`], the user signed in to the Flask app, as a
//! handler argument, and [`require_login`] for a group of routes.

use super::{FlaskApp, FlaskLogin, NotSignedIn};
use axum::extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri};
use axum::middleware::FromExtractorLayer;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};

/// The user signed in to the Flask app, as a handler argument.
///
/// Needs the [`FlaskApp`] as an `axum::Extension` on the router. Without a
/// Flask login, `FlaskUser` answers `401`, or `303` to the Flask app's
/// login page ([`FlaskApp::login_url`]) with `?next=` set to the page
/// asked for; `Option<FlaskUser>` gives `None` instead.
///
/// ```
/// use axum::{routing::get, Extension, Router};
/// use palisade::flask::{FlaskApp, FlaskKeys, FlaskUser};
///
/// async fn account(FlaskUser(login): FlaskUser) -> String {
///     format!("signed in to Flask as {}", login.user_id)
/// }
///
/// let flask = FlaskApp::new(FlaskKeys::new("the Flask SECRET_KEY")).login_url("/login");
/// let app: Router = Router::new().route("/account", get(account)).layer(Extension(flask));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlaskUser(pub FlaskLogin);

/// A layer that lets through only requests signed in to the Flask app
/// (the others get [`FlaskUser`]'s rejection), for `Router::route_layer`
/// on a group of routes. The [`FlaskApp`] extension must be added outside
/// it (a `.layer` after the `.route_layer`).
pub fn require_login() -> FromExtractorLayer<FlaskUser, ()> {
    axum::middleware::from_extractor::<FlaskUser>()
}

/// Why a [`FlaskUser`] could not be given, as a response.
#[derive(Debug)]
#[non_exhaustive]
pub enum FlaskRejection {
    /// Nobody is signed in to the Flask app: `401`, or `303` to its login page.
    NotSignedIn { reason: NotSignedIn, location: Option<String> },
    /// The router has no `Extension(FlaskApp)`: a setup error, `500`.
    MissingFlaskApp,
    /// The Flask-Session store did not answer: `503`, never "signed out".
    Unavailable,
    /// The client's address is unknown, so session protection cannot be
    /// checked: serve with `into_make_service_with_connect_info`, or put
    /// `TrustedProxyLayer` in front. `500`, never a guess.
    UnknownClient,
}

impl IntoResponse for FlaskRejection {
    fn into_response(self) -> Response {
        let mut res = match self {
            FlaskRejection::NotSignedIn { location: Some(location), .. } => {
                let mut res = StatusCode::SEE_OTHER.into_response();
                let location = HeaderValue::from_str(&location).unwrap_or(HeaderValue::from_static("/"));
                res.headers_mut().insert(LOCATION, location);
                res
            }
            FlaskRejection::NotSignedIn { location: None, .. } => {
                (StatusCode::UNAUTHORIZED, "Not signed in.\n").into_response()
            }
            FlaskRejection::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable.\n").into_response(),
            FlaskRejection::MissingFlaskApp => {
                tracing::error!("FlaskUser needs the FlaskApp as an Extension on the router");
                (StatusCode::INTERNAL_SERVER_ERROR, "Server misconfigured.\n").into_response()
            }
            FlaskRejection::UnknownClient => {
                tracing::error!(
                    "FlaskUser needs the client's address: serve with into_make_service_with_connect_info, or put \
                     TrustedProxyLayer in front"
                );
                (StatusCode::INTERNAL_SERVER_ERROR, "Server misconfigured.\n").into_response()
            }
        };
        // Who is signed in differs per browser: never from a shared cache.
        res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if !res.headers().contains_key(CONTENT_TYPE) {
            res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        }
        res
    }
}

/// The verdict for `parts`, or why none can be reached.
async fn verdict(parts: &Parts) -> Result<(Result<FlaskLogin, NotSignedIn>, &FlaskApp), FlaskRejection> {
    let app = parts.extensions.get::<FlaskApp>().ok_or(FlaskRejection::MissingFlaskApp)?;
    let ip = crate::client::client_ip_in(&parts.extensions).ok_or(FlaskRejection::UnknownClient)?;
    let verdict = app.signed_in_from_headers(&parts.headers, ip).await;
    #[cfg(feature = "flask-session")]
    if let Err(NotSignedIn::StoreUnavailable) = verdict {
        return Err(FlaskRejection::Unavailable);
    }
    Ok((verdict, app))
}

impl<S: Send + Sync> FromRequestParts<S> for FlaskUser {
    type Rejection = FlaskRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (verdict, app) = verdict(parts).await?;
        verdict.map(FlaskUser).map_err(|reason| {
            let location = app.login_url.as_deref().filter(|_| parts.method == Method::GET).map(|login| {
                let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |original| &original.0);
                let next = uri.path_and_query().map_or("/", |p| p.as_str());
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                let separator = if login.contains('?') { '&' } else { '?' };
                format!("{login}{separator}next={next}")
            });
            FlaskRejection::NotSignedIn { reason, location }
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for FlaskUser {
    type Rejection = FlaskRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(verdict(parts).await?.0.ok().map(FlaskUser))
    }
}
