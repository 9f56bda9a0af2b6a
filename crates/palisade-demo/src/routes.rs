//! The pages: home, register, login, logout, account, your devices,
//! change password, 404.

mod devices;

use crate::forms::{field_messages, LoginForm, NextQuery, RegisterForm};
use crate::templates::Templates;
use crate::users::{User, Users, UsersError};
use axum::extract::{Form, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use devices::{change_password, log_out_others, password_page, revoke_device, sessions_page, signed_in_user};
use minijinja::{context, Value};
use palisade::auth::{self, AuthError, CurrentUser, LoginOptions};
use palisade::client::ClientIp;
use palisade::csrf::CsrfToken;
use palisade::flask::{FlaskUser, LoginSource};
use palisade::headers::CspNonce;
use palisade::redirect::RedirectPolicy;
use palisade::session::{Session, SessionError};
use palisade::throttle::{Backoff, Throttle, ThrottleError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use validator::Validate;

/// Session keys.
const USER_ID: &str = "user_id";
const USERNAME: &str = "username";
/// The note the CSRF demo page changes with `fetch()`.
const NOTE: &str = "note";
/// Longest note kept, in characters.
const NOTE_MAX_CHARS: usize = 200;

const FIELDS: [&str; 2] = ["username", "password"];
const LOGIN_FAILED: &str = "Invalid username or password.";
const STYLE: &str = include_str!("../static/style.css");
const CSRF_SCRIPT: &str = include_str!("../static/csrf.js");
pub(crate) const DEMO_SCRIPT: &str = include_str!("../static/demo.js");

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) users: Users,
    /// Password guesses (login, `/password`) and registrations, counted in
    /// the session store per account and network.
    pub(crate) throttle: Throttle,
    pub(crate) templates: Arc<Templates>,
}

pub(crate) fn router(state: AppState, flask: Option<&crate::FlaskBridge>) -> Router {
    let router = Router::new()
        .route("/", get(home))
        .route("/register", get(register_page).post(register))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/account", get(account))
        .route("/sessions", get(sessions_page))
        .route("/sessions/revoke", post(revoke_device))
        .route("/sessions/others", post(log_out_others))
        .route("/password", get(password_page).post(change_password))
        .route("/account/note", post(save_note))
        .route("/csrf-demo", get(csrf_demo))
        .route("/static/csrf.js", get(csrf_script))
        .route("/static/demo.js", get(demo_script))
        .route("/style.css", get(stylesheet));
    let router = match flask {
        // The Flask app's keys reach the handler as an extension, which
        // `FlaskUser` reads.
        Some(bridge) => {
            router.route("/from-flask", get(from_flask)).layer(Extension(bridge.app())).layer(Extension(bridge.clone()))
        }
        None => router,
    };
    router.fallback(not_found).with_state(state)
}

/// Who is signed in to the Flask app on this host (a move from Flask one
/// route at a time): its cookies verified with its key, never written.
async fn from_flask(
    State(state): State<AppState>,
    signed_in: Option<CurrentUser>,
    flask_user: Option<FlaskUser>,
    Extension(bridge): Extension<crate::FlaskBridge>,
    csrf: CsrfToken,
    nonce: CspNonce,
) -> Result {
    let login_url = bridge.login_url;
    let user = current_user(&state, signed_in.as_ref()).await?;
    let context = match flask_user {
        Some(FlaskUser(login)) => context! {
            user,
            flask_user => login.user_id,
            fresh => login.fresh,
            remembered => login.source == LoginSource::RememberCookie,
            login_url,
        },
        None => context! { user, flask_user => Value::from(()), fresh => false, remembered => false, login_url },
    };
    state.page(&csrf, &nonce, StatusCode::OK, "from-flask.html", context)
}

/// A handler failure. Store failures keep the library's 503; anything else
/// is a logged 500 that reveals no internals.
pub(crate) enum AppError {
    Session(SessionError),
    Auth(AuthError),
    Users(UsersError),
    Template(minijinja::Error),
}

impl From<SessionError> for AppError {
    fn from(err: SessionError) -> Self {
        Self::Session(err)
    }
}

impl From<AuthError> for AppError {
    fn from(err: AuthError) -> Self {
        Self::Auth(err)
    }
}

impl From<UsersError> for AppError {
    fn from(err: UsersError) -> Self {
        Self::Users(err)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Session(err) => return err.into_response(),
            AppError::Auth(err) => return err.into_response(),
            // A full hashing queue: a fast 503, not a slow request.
            AppError::Users(UsersError::Busy) => {
                let headers = [(CACHE_CONTROL, "no-store"), (RETRY_AFTER, "1")];
                return (StatusCode::SERVICE_UNAVAILABLE, headers, "The server is busy. Try again in a moment.\n")
                    .into_response();
            }
            AppError::Users(err) => tracing::error!(error = %err, "user database failure"),
            AppError::Template(err) => tracing::error!(error = %err, "template failure"),
        }
        (StatusCode::INTERNAL_SERVER_ERROR, [(CACHE_CONTROL, "no-store")], "Internal server error.\n").into_response()
    }
}

type Result<T = Response, E = AppError> = std::result::Result<T, E>;

impl AppState {
    /// Renders a page. Every page may show a form (the nav's logout
    /// button), so every page gets `csrf_field()` and `csrf_token()`; a
    /// secret is only stored when a template actually calls one.
    fn page(&self, csrf: &CsrfToken, nonce: &CspNonce, status: StatusCode, name: &str, ctx: Value) -> Result {
        // `csp_nonce()` for the page's own scripts (and the SRI tags).
        let ctx = context! { ..ctx, ..csrf.page_functions(nonce) };
        let html = self.templates.render(name, ctx).map_err(AppError::Template)?;
        // Per-user pages: not even the browser's cache keeps them (the back
        // button after logout on a shared computer shows nothing).
        Ok((status, [(CACHE_CONTROL, "no-store")], Html(html)).into_response())
    }

    /// A register or login form, re-filled with the typed username (never
    /// the password).
    fn form_page(
        &self,
        csrf: &CsrfToken,
        nonce: &CspNonce,
        status: StatusCode,
        name: &str,
        user: Option<String>,
        view: FormView<'_>,
    ) -> Result {
        let FormView { username, errors, form_error, next } = view;
        let errors = errors.unwrap_or_else(no_errors);
        self.page(csrf, nonce, status, name, context! { user, username, errors, form_error, next })
    }
}

/// The page of a form the throttle refused: its status (429, or 503 when the
/// counters are unreachable) with `Retry-After`. No password was checked.
pub(crate) fn refused(page: Response, err: &ThrottleError) -> Response {
    let mut page = page;
    *page.status_mut() = err.status();
    page.headers_mut().insert(RETRY_AFTER, err.retry_after_header());
    page
}

/// What a register or login form shows besides the nav.
#[derive(Default)]
struct FormView<'a> {
    username: &'a str,
    /// Messages per field (`None`: no errors).
    errors: Option<BTreeMap<String, Vec<String>>>,
    /// A message about the whole form.
    form_error: Option<&'a str>,
    /// The (already checked) `next` for the hidden field.
    next: Option<&'a str>,
}

fn no_errors() -> BTreeMap<String, Vec<String>> {
    FIELDS.iter().map(|f| ((*f).to_owned(), Vec::new())).collect()
}

/// `303 See Other` to `location` (a value that came through the redirect
/// policy or from this file).
fn see_other(location: &str) -> Response {
    let value = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(LOCATION, value)]).into_response()
}

/// The signed-in username. A browser just signed in by its remember-me
/// cookie has a new session without the name: it is looked up once. A
/// session whose account was deleted is signed out. (The remember-me
/// sign-in itself happened when the session was first loaded, so the order
/// of a handler's extractors does not matter.)
async fn current_user(state: &AppState, user: Option<&CurrentUser>) -> Result<Option<String>> {
    let Some(user) = user else { return Ok(None) };
    let session = user.session();
    if let Some(name) = session.get::<String>(USERNAME).await? {
        return Ok(Some(name));
    }
    let found = match user.id().parse::<i64>() {
        Ok(id) => state.users.find(id).await?,
        Err(_) => None,
    };
    let Some(found) = found else {
        auth::logout(session).await?;
        return Ok(None);
    };
    session.insert(USER_ID, found.id).await?;
    session.insert(USERNAME, &found.username).await?;
    Ok(Some(found.username))
}

/// Logs `user` in with `palisade::auth::login`: a new session id (stops
/// session fixation) and CSRF secret, fresh, bound to this browser, in the
/// store's user index ("your devices"), and a remember-me token when asked.
/// The library flushes another user's session first, so nothing of theirs
/// (this app's `user_id` and `username`) carries over.
async fn log_in(session: &Session, user: &User, remember: bool) -> Result<(), AppError> {
    auth::login(session, &user.id.to_string(), LoginOptions::new().remember(remember)).await?;
    session.insert(USER_ID, user.id).await?;
    session.insert(USERNAME, &user.username).await?;
    Ok(())
}

fn utc(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| format!("{unix} (unix time)"))
}

async fn home(
    State(state): State<AppState>,
    signed_in: Option<CurrentUser>,
    csrf: CsrfToken,
    nonce: CspNonce,
) -> Result {
    let user = current_user(&state, signed_in.as_ref()).await?;
    state.page(&csrf, &nonce, StatusCode::OK, "home.html", context! { user })
}

async fn register_page(
    State(state): State<AppState>,
    signed_in: Option<CurrentUser>,
    csrf: CsrfToken,
    nonce: CspNonce,
) -> Result {
    let user = current_user(&state, signed_in.as_ref()).await?;
    state.form_page(&csrf, &nonce, StatusCode::OK, "register.html", user, FormView::default())
}

async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    signed_in: Option<CurrentUser>,
    csrf: CsrfToken,
    nonce: CspNonce,
    Form(form): Form<RegisterForm>,
) -> Result {
    let user = current_user(&state, signed_in.as_ref()).await?;
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    if let Err(errors) = form.validate() {
        let errors = field_messages(&errors, &FIELDS);
        let view = FormView { username: &form.username, errors: Some(errors), ..FormView::default() };
        return state.form_page(&csrf, &nonce, status, "register.html", user, view);
    }
    // Counted before hashing, whether the registration succeeds or not.
    if let Err(err) = state.throttle.attempt("register", ip, &Backoff::registrations()).await {
        let message = err.public_message();
        let view = FormView { username: &form.username, form_error: Some(&message), ..FormView::default() };
        let page = state.form_page(&csrf, &nonce, status, "register.html", user, view)?;
        return Ok(refused(page, &err));
    }
    match state.users.register(&form.username, &form.password).await {
        Ok(new) => {
            log_in(&session, &new, false).await?;
            tracing::info!(username = ?new.username, user_id = new.id, "registered and logged in");
            Ok(see_other("/account"))
        }
        Err(UsersError::UsernameTaken) => {
            tracing::info!(username = ?form.username, "registration refused: username taken");
            let mut errors = no_errors();
            errors.insert("username".into(), vec!["Username taken: please choose another one.".into()]);
            let view = FormView { username: &form.username, errors: Some(errors), ..FormView::default() };
            state.form_page(&csrf, &nonce, status, "register.html", user, view)
        }
        Err(err) => Err(err.into()),
    }
}

/// Only a `next` that passes the redirect policy is kept in the form.
fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| !n.is_empty() && RedirectPolicy::same_origin().is_allowed(n))
}

async fn login_page(
    State(state): State<AppState>,
    signed_in: Option<CurrentUser>,
    csrf: CsrfToken,
    nonce: CspNonce,
    Query(query): Query<NextQuery>,
) -> Result {
    let user = current_user(&state, signed_in.as_ref()).await?;
    let next = safe_next(query.next.as_deref());
    state.form_page(&csrf, &nonce, StatusCode::OK, "login.html", user, FormView { next, ..FormView::default() })
}

// An axum handler takes one argument per extractor.
#[allow(clippy::too_many_arguments)]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    signed_in: Option<CurrentUser>,
    csrf: CsrfToken,
    nonce: CspNonce,
    Query(query): Query<NextQuery>,
    Form(form): Form<LoginForm>,
) -> Result {
    let user = current_user(&state, signed_in.as_ref()).await?;
    // The form's hidden field wins over the query string; both are untrusted.
    let next = form.next.as_deref().filter(|n| !n.is_empty()).or(query.next.as_deref().filter(|n| !n.is_empty()));
    if let Err(errors) = form.validate() {
        let errors = field_messages(&errors, &FIELDS);
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        let view = FormView { username: &form.username, errors: Some(errors), form_error: None, next: safe_next(next) };
        return state.form_page(&csrf, &nonce, status, "login.html", user, view);
    }
    // Before any hashing: a throttled guess never reaches Argon2.
    let guess = match state.throttle.password_guess(&form.username, ip).await {
        Ok(guess) => guess,
        Err(err) => {
            let message = err.public_message();
            let view =
                FormView { username: &form.username, errors: None, form_error: Some(&message), next: safe_next(next) };
            let page = state.form_page(&csrf, &nonce, err.status(), "login.html", user, view)?;
            return Ok(refused(page, &err));
        }
    };
    let verified = match state.users.verify(&form.username, &form.password).await {
        Ok(verified) => verified,
        Err(err) => {
            guess.not_checked().await;
            return Err(err.into());
        }
    };
    match verified {
        Some(found) => {
            guess.succeeded().await;
            log_in(&session, &found, form.remember()).await?;
            tracing::info!(username = ?found.username, user_id = found.id, remember = form.remember(), "login succeeded");
            Ok(see_other(RedirectPolicy::same_origin().next_or(next, "/account")))
        }
        None => {
            drop(guess); // counted as a wrong password
            tracing::warn!(username = ?form.username, "login failed: invalid username or password");
            let view = FormView {
                username: &form.username,
                errors: None,
                form_error: Some(LOGIN_FAILED),
                next: safe_next(next),
            };
            state.form_page(&csrf, &nonce, StatusCode::UNAUTHORIZED, "login.html", user, view)
        }
    }
}

async fn logout(session: Session) -> Result {
    let user: Option<String> = session.get(USERNAME).await?;
    // Also revokes this browser's remember-me token and removes its cookie.
    auth::logout(&session).await?;
    match user {
        Some(username) => tracing::info!(username = ?username, "logged out"),
        None => tracing::debug!("logout without a session"),
    }
    Ok(see_other("/"))
}

async fn account(State(state): State<AppState>, signed_in: CurrentUser, csrf: CsrfToken, nonce: CspNonce) -> Result {
    let to_login = || see_other("/login?next=/account");
    let session = signed_in.session();
    let Some(user) = signed_in_user(&state, &signed_in).await? else {
        return Ok(to_login());
    };
    let meta = session.meta().await?;
    let note: Option<String> = session.get(NOTE).await?;
    let ctx = context! {
        user => &user.username,
        note,
        account => context! { id => user.id, username => &user.username, registered => utc(user.created_at) },
        session => context! {
            created => utc(meta.created_at),
            last_seen => utc(meta.last_seen),
            expires => utc(meta.expires_at),
        },
    };
    state.page(&csrf, &nonce, StatusCode::OK, "account.html", ctx)
}

/// The CSRF demo: a page whose script changes the note with `fetch()`,
/// sending the token from its `<meta name="csrf-token">` in `X-CSRF-Token`.
async fn csrf_demo(
    State(state): State<AppState>,
    signed_in: Option<CurrentUser>,
    csrf: CsrfToken,
    nonce: CspNonce,
) -> Result {
    let Some(user) = current_user(&state, signed_in.as_ref()).await? else {
        return Ok(see_other("/login?next=/csrf-demo"));
    };
    let session = signed_in.as_ref().map(CurrentUser::session).ok_or(AuthError::NotSignedIn)?;
    let note: Option<String> = session.get(NOTE).await?;
    state.page(&csrf, &nonce, StatusCode::OK, "csrf-demo.html", context! { user, note })
}

#[derive(Deserialize)]
struct NoteForm {
    note: String,
}

/// A small state-changing route for the CSRF demo (and the attack the
/// browser test tries): stores a note in the session. Only reached when the
/// CSRF layer accepted the request.
async fn save_note(
    State(state): State<AppState>,
    signed_in: Option<CurrentUser>,
    Form(form): Form<NoteForm>,
) -> Result {
    let (Some(_), Some(signed_in)) = (current_user(&state, signed_in.as_ref()).await?, signed_in.as_ref()) else {
        return Ok((StatusCode::UNAUTHORIZED, [(CACHE_CONTROL, "no-store")], "Log in first.\n").into_response());
    };
    let session = signed_in.session();
    let note: String = form.note.trim().chars().filter(|c| !c.is_control()).take(NOTE_MAX_CHARS).collect();
    session.insert(NOTE, &note).await?;
    tracing::info!(chars = note.chars().count(), "note saved");
    let text = format!("Saved: {note}");
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8"), (CACHE_CONTROL, "no-store")], text).into_response())
}

async fn csrf_script() -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "public, max-age=3600")], CSRF_SCRIPT)
        .into_response()
}

async fn demo_script() -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "public, max-age=3600")], DEMO_SCRIPT)
        .into_response()
}

async fn stylesheet() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8"), (CACHE_CONTROL, "public, max-age=3600")], STYLE).into_response()
}

async fn not_found(
    State(state): State<AppState>,
    signed_in: Option<CurrentUser>,
    csrf: CsrfToken,
    nonce: CspNonce,
) -> Result {
    let user = current_user(&state, signed_in.as_ref()).await?;
    let ctx = context! { user, heading => "Page not found", message => "There is no page at this address." };
    state.page(&csrf, &nonce, StatusCode::NOT_FOUND, "error.html", ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_unix_seconds() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn next_is_kept_only_when_safe() {
        assert_eq!(safe_next(Some("/account?tab=1")), Some("/account?tab=1"));
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example/")), None);
        assert_eq!(safe_next(Some("")), None);
        assert_eq!(safe_next(None), None);
    }
}
