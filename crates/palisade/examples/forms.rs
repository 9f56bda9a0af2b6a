//! Server-rendered pages with minijinja: a login form that keeps a safe
//! `next`, CSRF fields in every form, an inline script allowed by the
//! page's CSP nonce, and a signed-in page that writes to the session.
//!
//! ```sh
//! PALISADE_SECRET_KEY=$(openssl rand -base64 32) cargo run -p palisade --features minijinja --example forms
//! ```
//!
//! then open http://127.0.0.1:3000 (user `alice`, password
//! `correct horse battery staple`). `tests/example_forms.rs` drives it.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::StatusCode;
use minijinja::{context, Environment};
use palisade::auth::{self, AuthError, CurrentUser, LoginOptions};
use palisade::csrf::CsrfToken;
use palisade::headers::CspNonce;
use palisade::keys::KeyRing;
use palisade::redirect::RedirectPolicy;
use palisade::session::Session;
use palisade::store::MemoryStore;
use palisade::Stack;
use serde::Deserialize;
use std::sync::Arc;

/// Templates are auto-escaped (`.html`): a note like `<script>` is shown,
/// never run. Every form has `{{ csrf_field() }}`; the one inline script
/// carries `{{ csp_nonce() }}`, so the strict policy lets it run and
/// nothing injected without the nonce does.
const TEMPLATES: [(&str, &str); 4] = [
    (
        "layout.html",
        r#"<!doctype html><html><head><title>Palisade forms</title></head><body>
{% block body %}{% endblock %}
</body></html>"#,
    ),
    (
        "home.html",
        r#"{% extends "layout.html" %}{% block body %}
{% if user %}
<p>Hello {{ user }}. <a href="/notes">Your notes</a></p>
<form method="post" action="/logout">{{ csrf_field() }}<button>Log out</button></form>
{% else %}
<p><a href="/notes">Your notes</a> (you will be asked to log in)</p>
{% endif %}
{% endblock %}"#,
    ),
    (
        "notes.html",
        r#"{% extends "layout.html" %}{% block body %}
<p>{{ user }}'s notes</p>
<ul>{% for note in notes %}<li>{{ note }}</li>{% endfor %}</ul>
<form method="post" action="/notes">{{ csrf_field() }}
  <textarea name="note" id="note" maxlength="200"></textarea> <span id="left">200</span> left
  <button>Add note</button>
</form>
<script nonce="{{ csp_nonce() }}">
  const note = document.getElementById("note");
  note.addEventListener("input", () => {
    document.getElementById("left").textContent = 200 - note.value.length;
  });
</script>
{% endblock %}"#,
    ),
    (
        "login.html",
        r#"{% extends "layout.html" %}{% block body %}
{% if error %}<p role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/login">{{ csrf_field() }}
  {% if next %}<input type="hidden" name="next" value="{{ next }}">{% endif %}
  <input name="username" value="{{ username }}" autocomplete="username">
  <input name="password" type="password" autocomplete="current-password">
  <button>Log in</button>
</form>
{% endblock %}"#,
    ),
];

/// Notes kept per session, and how long each may be.
const MAX_NOTES: usize = 20;
const MAX_NOTE_LEN: usize = 200;

#[derive(Clone)]
struct Pages(Arc<Environment<'static>>);

impl Pages {
    fn render(&self, name: &str, csrf: &CsrfToken, nonce: &CspNonce, values: minijinja::Value) -> Response {
        let page =
            self.0.get_template(name).and_then(|t| t.render(context! { ..values, ..csrf.page_functions(nonce) }));
        match page {
            Ok(html) => Html(html).into_response(),
            Err(err) => {
                tracing::error!(%err, "template failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// The whole app: templates, the stack, the routes.
pub fn app(keys: KeyRing) -> Result<Router, Box<dyn std::error::Error>> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    let stack = Stack::server_side(MemoryStore::new(), keys).build()?;
    let routes = Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/notes", get(notes).post(add_note))
        .route("/logout", post(logout))
        .with_state(Pages(Arc::new(env)));
    Ok(stack.wrap(routes))
}

async fn home(State(pages): State<Pages>, user: Option<CurrentUser>, csrf: CsrfToken, nonce: CspNonce) -> Response {
    pages.render("home.html", &csrf, &nonce, context! { user => user.as_ref().map(CurrentUser::id) })
}

/// Signed in only: `CurrentUser` sends anyone else to
/// `/login?next=/notes`.
async fn notes(
    State(pages): State<Pages>,
    user: CurrentUser,
    csrf: CsrfToken,
    nonce: CspNonce,
) -> Result<Response, AuthError> {
    let notes = user.session().get::<Vec<String>>("notes").await?.unwrap_or_default();
    Ok(pages.render("notes.html", &csrf, &nonce, context! { user => user.id(), notes }))
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// The login form. `next` is kept only if the redirect policy would follow
/// it: `?next=//evil.example` never reaches the page.
async fn login_page(
    State(pages): State<Pages>,
    Query(query): Query<NextQuery>,
    csrf: CsrfToken,
    nonce: CspNonce,
) -> Response {
    let next = query.next.filter(|next| RedirectPolicy::same_origin().is_allowed(next));
    pages.render("login.html", &csrf, &nonce, context! { next })
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(pages): State<Pages>,
    session: Session,
    csrf: CsrfToken,
    nonce: CspNonce,
    Form(form): Form<Credentials>,
) -> Result<Response, AuthError> {
    if !password_is_right(&form.username, &form.password) {
        let values =
            context! { error => "Invalid username or password.", username => form.username, next => form.next };
        let mut page = pages.render("login.html", &csrf, &nonce, values);
        *page.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(page);
    }
    auth::login(&session, &form.username, LoginOptions::new()).await?;
    // An absolute path on this site, or "/": never another site.
    Ok(Redirect::to(RedirectPolicy::same_origin().next_or(Some(form.next.as_str()), "/")).into_response())
}

#[derive(Deserialize)]
struct NewNote {
    note: String,
}

/// Signed in only (an anonymous post goes to `/login`, without `next`: a
/// form post cannot be replayed by a redirect).
async fn add_note(user: CurrentUser, Form(form): Form<NewNote>) -> Result<Response, AuthError> {
    let note = form.note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE_LEN {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, "A note has 1 to 200 characters.").into_response());
    }
    let session = user.session();
    let mut notes = session.get::<Vec<String>>("notes").await?.unwrap_or_default();
    if notes.len() >= MAX_NOTES {
        notes.remove(0);
    }
    notes.push(note.to_owned());
    session.insert("notes", notes).await?;
    Ok(Redirect::to("/notes").into_response())
}

async fn logout(session: Session) -> Result<Redirect, AuthError> {
    auth::logout(&session).await?;
    Ok(Redirect::to("/"))
}

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
