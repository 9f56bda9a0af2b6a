//! Several instances of one app behind a load balancer, sharing logins
//! through Redis: what one instance signs in, writes or signs out, every
//! other sees on the next request.
//!
//! What they must share: the store and the secret key (session ids are
//! signed, CSRF and remember-me cookies too). Nothing else: there is no
//! state in the process that a request depends on.
//!
//! ```sh
//! export PALISADE_SECRET_KEY=$(openssl rand -base64 32)
//! PALISADE_INSTANCE=a PALISADE_LISTEN=127.0.0.1:3001 cargo run -p palisade --features redis --example many_instances &
//! PALISADE_INSTANCE=b PALISADE_LISTEN=127.0.0.1:3002 cargo run -p palisade --features redis --example many_instances
//! ```
//!
//! then log in at http://127.0.0.1:3001 (user `alice`, password `correct
//! horse battery staple`): http://127.0.0.1:3002 knows you. A browser
//! keeps cookies per host name, not per port, so both tabs share them, as
//! they would behind one load balancer. `PALISADE_REDIS_URL` (default
//! `redis://127.0.0.1:6379`) names the server. `tests/example_many_instances.rs`
//! starts two such processes.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::StatusCode;
use palisade::auth::{self, AuthError, CurrentUser, LoginOptions};
use palisade::csrf::CsrfToken;
use palisade::keys::KeyRing;
use palisade::session::Session;
use palisade::store::RedisStore;
use palisade::Stack;
use serde::Deserialize;
use std::sync::Arc;

/// Which instance answered (shown on the page, so the hop is visible).
#[derive(Clone)]
struct Instance(Arc<str>);

/// One instance: the shared Redis store under the app's key prefix, the
/// shared key ring, the stack, the routes.
pub async fn app(keys: KeyRing, redis_url: &str, instance: &str) -> Result<Router, Box<dyn std::error::Error>> {
    let store = RedisStore::builder().key_prefix("many-instances:").connect(redis_url).await?;
    let stack = Stack::server_side(store, keys).build()?;
    let routes = Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/visits", post(count_visit))
        .route("/logout", post(logout))
        .with_state(Instance(instance.into()));
    Ok(stack.wrap(routes))
}

async fn home(
    State(Instance(instance)): State<Instance>,
    user: Option<CurrentUser>,
    csrf: CsrfToken,
) -> Result<Html<String>, AuthError> {
    let field = csrf.hidden_field();
    let body = match user {
        Some(user) => {
            let visits = user.session().get::<u64>("visits").await?.unwrap_or(0);
            format!(
                r#"<p>Instance {instance}: signed in as {}; {visits} visits counted.</p>
<form method="post" action="/visits">{field}<button>Count a visit</button></form>
<form method="post" action="/logout">{field}<button>Log out</button></form>"#,
                user.id()
            )
        }
        None => format!(
            r#"<p>Instance {instance}: not signed in.</p>
<form method="post" action="/login">{field}<input name="username"><input name="password" type="password"><button>Log in</button></form>"#
        ),
    };
    Ok(Html(body))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(session: Session, Form(form): Form<Credentials>) -> Result<Response, AuthError> {
    if !password_is_right(&form.username, &form.password) {
        return Ok((StatusCode::UNAUTHORIZED, "Invalid username or password.").into_response());
    }
    auth::login(&session, &form.username, LoginOptions::new()).await?;
    Ok(Redirect::to("/").into_response())
}

/// A write one instance makes and the other reads. The store applies each
/// change key by key, so two instances writing other keys of one session
/// at once lose neither write.
async fn count_visit(user: CurrentUser) -> Result<Redirect, AuthError> {
    let session = user.session();
    let visits = session.get::<u64>("visits").await?.unwrap_or(0);
    session.insert("visits", visits + 1).await?;
    Ok(Redirect::to("/"))
}

async fn logout(session: Session) -> Result<Redirect, AuthError> {
    auth::logout(&session).await?;
    Ok(Redirect::to("/"))
}

/// The example's one user, compared in constant time (a real app checks an
/// Argon2id hash kept in the shared database).
fn password_is_right(username: &str, password: &str) -> bool {
    use subtle::ConstantTimeEq;
    let known = username.as_bytes().ct_eq(b"alice") & password.as_bytes().ct_eq(b"correct horse battery staple");
    known.into()
}

/// Serves one instance on `PALISADE_LISTEN` (default `127.0.0.1:3000`; port
/// 0 picks a free one) and prints `listening on ADDR` once it accepts.
pub async fn serve_from_env() -> Result<(), Box<dyn std::error::Error>> {
    let keys = KeyRing::from_env()?; // the same secret on every instance
    let redis_url = std::env::var("PALISADE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let instance = std::env::var("PALISADE_INSTANCE").unwrap_or_else(|_| "a".to_owned());
    let listen = std::env::var("PALISADE_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let app = app(keys, &redis_url, &instance).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
    Ok(())
}

#[allow(dead_code)] // the tests run `serve_from_env` in processes of their own
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    serve_from_env().await
}
