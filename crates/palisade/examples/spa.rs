//! A single-page app: a JSON API under `/api` and one HTML page whose
//! script calls it with `fetch()`. CSRF uses signed double-submit cookies:
//! the script reads `__Host-csrf` and sends it back in `X-CSRF-Token`; a
//! cross-site page can make the browser send the cookie but cannot read it.
//!
//! ```sh
//! PALISADE_SECRET_KEY=$(openssl rand -base64 32) cargo run -p palisade --example spa
//! ```
//!
//! then open http://127.0.0.1:3000 (user `alice`, password
//! `correct horse battery staple`). `tests/example_spa.rs` drives the API.

use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use palisade::auth::{self, AuthConfig, AuthError, CurrentUser, LoginOptions};
use palisade::csrf::CsrfToken;
use palisade::headers::CspNonce;
use palisade::keys::KeyRing;
use palisade::session::Session;
use palisade::store::MemoryStore;
use palisade::Stack;
use serde::Deserialize;
use serde_json::{json, Value};

/// The whole app. Under `/api`, `CurrentUser` answers `401` instead of
/// redirecting to a login page; the logout route is the API's.
pub fn app(keys: KeyRing) -> Result<Router, Box<dyn std::error::Error>> {
    let stack = Stack::server_side(MemoryStore::new(), keys)
        .auth(AuthConfig::new().api_prefix("/api"))
        .double_submit_csrf()
        .logout_path(Some("/api/logout"))
        .build()?;
    let api = Router::new()
        .route("/csrf", get(csrf))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/todos", get(todos).post(add_todo));
    Ok(stack.wrap(Router::new().route("/", get(page)).nest("/api", api)))
}

/// Sets the double-submit cookie (a token is rendered, so it is sent). The
/// page calls this once; the cookie is re-issued by the responses that log
/// in or out, and the script reads it before each request.
async fn csrf(token: CsrfToken) -> Json<Value> {
    Json(json!({ "token": token.masked() }))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(session: Session, Json(form): Json<Credentials>) -> Result<Response, AuthError> {
    if !password_is_right(&form.username, &form.password) {
        return Ok(
            (StatusCode::UNAUTHORIZED, Json(json!({ "error": "Invalid username or password." }))).into_response()
        );
    }
    auth::login(&session, &form.username, LoginOptions::new()).await?;
    Ok(Json(json!({ "user": form.username })).into_response())
}

async fn logout(session: Session) -> Result<StatusCode, AuthError> {
    auth::logout(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(user: CurrentUser) -> Json<Value> {
    Json(json!({ "user": user.id() }))
}

/// Todos kept per session, and how long each may be.
const MAX_TODOS: usize = 50;
const MAX_TODO_LEN: usize = 200;

async fn todos(user: CurrentUser) -> Result<Json<Value>, AuthError> {
    let todos = user.session().get::<Vec<String>>("todos").await?.unwrap_or_default();
    Ok(Json(json!({ "todos": todos })))
}

#[derive(Deserialize)]
struct NewTodo {
    text: String,
}

async fn add_todo(user: CurrentUser, Json(todo): Json<NewTodo>) -> Result<Response, AuthError> {
    let text = todo.text.trim();
    if text.is_empty() || text.chars().count() > MAX_TODO_LEN {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "error": "1 to 200 characters" }))).into_response());
    }
    let session = user.session();
    let mut todos = session.get::<Vec<String>>("todos").await?.unwrap_or_default();
    if todos.len() >= MAX_TODOS {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "error": "too many todos" }))).into_response());
    }
    todos.push(text.to_owned());
    session.insert("todos", &todos).await?;
    Ok((StatusCode::CREATED, Json(json!({ "todos": todos }))).into_response())
}

/// The page. Its one script carries the response's CSP nonce; it builds
/// the list with `textContent`, never `innerHTML`, so a todo is shown as
/// text and never run.
async fn page(nonce: CspNonce) -> Html<String> {
    Html(PAGE.replace("{nonce}", nonce.as_str()))
}

const PAGE: &str = r#"<!doctype html>
<html><head><title>Palisade SPA</title></head><body>
<p id="who">…</p>
<form id="login"><input name="username"> <input name="password" type="password"> <button>Log in</button></form>
<form id="add" hidden><input name="text" maxlength="200"> <button>Add</button></form>
<ul id="todos"></ul>
<button id="logout" hidden>Log out</button>
<script nonce="{nonce}">
// The double-submit cookie, as the server set it last.
const csrf = () => document.cookie.split("; ").find((c) => c.startsWith("__Host-csrf="))?.slice(12) ?? "";
async function api(method, path, body) {
  const headers = { "X-CSRF-Token": csrf() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch("/api" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}
async function show() {
  const me = await api("GET", "/me");
  const signedIn = me.status === 200;
  document.getElementById("who").textContent = signedIn ? "Signed in as " + me.body.user : "Not signed in";
  document.getElementById("login").hidden = signedIn;
  document.getElementById("add").hidden = !signedIn;
  document.getElementById("logout").hidden = !signedIn;
  const list = document.getElementById("todos");
  list.replaceChildren();
  if (!signedIn) return;
  for (const text of (await api("GET", "/todos")).body.todos) {
    const item = document.createElement("li");
    item.textContent = text;
    list.append(item);
  }
}
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  await api("POST", "/login", { username: form.get("username"), password: form.get("password") });
  show();
});
document.getElementById("add").addEventListener("submit", async (event) => {
  event.preventDefault();
  await api("POST", "/todos", { text: new FormData(event.target).get("text") });
  event.target.reset();
  show();
});
document.getElementById("logout").addEventListener("click", async () => {
  await api("POST", "/logout");
  show();
});
api("GET", "/csrf").then(show);
</script>
</body></html>
"#;

/// The example's one user, compared in constant time (a real app checks an
/// Argon2id hash, as the demo does).
fn password_is_right(username: &str, password: &str) -> bool {
    use subtle::ConstantTimeEq;
    let known = username.as_bytes().ct_eq(b"alice") & password.as_bytes().ct_eq(b"correct horse battery staple");
    known.into()
}

#[allow(dead_code)] // the tests use `app` only
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = app(KeyRing::from_env()?)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
    Ok(())
}
