//! The minimal secure app: server-side sessions in SQLite, sign-in with a
//! new session id, CSRF tokens, a nonce-based CSP and the other security
//! headers, a logout that ends the session.
//!
//! ```sh
//! PALISADE_SECRET_KEY=$(openssl rand -base64 32) cargo run -p palisade --example minimal
//! ```
//!
//! then open http://127.0.0.1:3000 (user `alice`, password
//! `correct horse battery staple`). `tests/example_minimal.rs` drives it.

use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use palisade::auth::{self, AuthError, CurrentUser, LoginOptions};
use palisade::csrf::CsrfToken;
use palisade::keys::KeyRing;
use palisade::session::Session;
use palisade::store::SqliteStore;
use palisade::Stack;
use serde::Deserialize;

/// The whole setup: a store, the stack, the routes.
pub async fn app(keys: KeyRing, database_url: &str) -> Result<Router, Box<dyn std::error::Error>> {
    let store = SqliteStore::connect(database_url).await?;
    let stack = Stack::server_side(store, keys).build()?;
    let routes =
        Router::new().route("/", get(home)).route("/login", get(login_page).post(login)).route("/logout", post(logout));
    Ok(stack.wrap(routes))
}

async fn home(user: Option<CurrentUser>, csrf: CsrfToken) -> Html<String> {
    Html(match user {
        Some(user) => format!(
            r#"<p>Hello {}.</p><form method="post" action="/logout">{}<button>Log out</button></form>"#,
            user.id(),
            csrf.hidden_field()
        ),
        None => r#"<p><a href="/login">Log in</a></p>"#.to_owned(),
    })
}

async fn login_page(csrf: CsrfToken) -> Html<String> {
    Html(format!(
        r#"<form method="post">{}<input name="username"><input name="password" type="password"><button>Log in</button></form>"#,
        csrf.hidden_field()
    ))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(session: Session, Form(form): Form<Credentials>) -> Result<Response, AuthError> {
    // Check the password against your users (Argon2id, as the demo does).
    if !password_is_right(&form.username, &form.password) {
        return Ok((http::StatusCode::UNAUTHORIZED, "Invalid username or password.").into_response());
    }
    auth::login(&session, &form.username, LoginOptions::new()).await?; // new id, fresh, bound
    Ok(Redirect::to("/").into_response())
}

async fn logout(session: Session) -> Result<Redirect, AuthError> {
    auth::logout(&session).await?;
    Ok(Redirect::to("/"))
}

/// The example's one user, compared in constant time.
fn password_is_right(username: &str, password: &str) -> bool {
    use subtle::ConstantTimeEq;
    let user_ok = username.as_bytes().ct_eq(b"alice");
    let password_ok = password.as_bytes().ct_eq(b"correct horse battery staple");
    bool::from(user_ok & password_ok)
}

#[allow(dead_code)] // the tests use `app` only
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = KeyRing::from_env()?; // PALISADE_SECRET_KEY, at least 32 random bytes in base64
    let app = app(keys, "sqlite://palisade-minimal.db?mode=rwc").await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    // The peer address is what session binding compares (sign-in is refused without it).
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
    Ok(())
}
