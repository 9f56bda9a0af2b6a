//! "Your devices" (`/sessions`) and "change password" (`/password`).

use super::{current_user, refused, see_other, utc, AppError, AppState, Result, USER_ID};
use crate::forms::{field_messages, PasswordForm, RevokeForm};
use crate::users::User;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::{context, Value};
use palisade::auth::{self, CurrentUser};
use palisade::binding::UserAgentSummary;
use palisade::client::ClientIp;
use palisade::csrf::CsrfToken;
use palisade::headers::CspNonce;
use palisade::store::SessionInfo;
use serde::Deserialize;
use std::time::Duration;
use validator::Validate;

const PASSWORD_FIELDS: [&str; 2] = ["current_password", "new_password"];

/// The user of a signed-in session, from the users table. `None` (and the
/// session signed out) when the account was deleted while the session lived.
pub(super) async fn signed_in_user(state: &AppState, signed_in: &CurrentUser) -> Result<Option<User>> {
    let session = signed_in.session();
    let id = match session.get::<i64>(USER_ID).await? {
        Some(id) => Some(id),
        None => signed_in.id().parse().ok(),
    };
    let found = match id {
        Some(id) => state.users.find(id).await?,
        None => None,
    };
    if found.is_none() {
        auth::logout(session).await?;
    }
    Ok(found)
}

/// One row of the devices table. Everything shown comes from the store
/// record; the page is auto-escaped (a user agent is attacker-chosen text).
fn device(info: &SessionInfo) -> Value {
    let label = info
        .user_agent
        .as_deref()
        .map_or_else(|| "Unknown browser".to_owned(), |ua| UserAgentSummary::parse(ua).to_string());
    context! {
        key => info.key.to_hex(),
        device => label,
        ip => info.ip.as_deref().unwrap_or("unknown"),
        created => utc(info.created_at),
        last_seen => utc(info.last_seen),
        expires => utc(info.expires_at),
        current => info.current,
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DevicesQuery {
    /// What the last action did, for the message at the top.
    #[serde(default)]
    done: Option<String>,
}

/// `GET /sessions`: the user's sessions and remembered browsers.
pub(super) async fn sessions_page(
    State(state): State<AppState>,
    signed_in: CurrentUser,
    csrf: CsrfToken,
    nonce: CspNonce,
    Query(query): Query<DevicesQuery>,
) -> Result {
    let user = current_user(&state, Some(&signed_in)).await?;
    let session = signed_in.session();
    let sessions: Vec<Value> = session.sessions_of_user().await?.iter().map(device).collect();
    let remembered: Vec<Value> = auth::remembered_browsers(session).await?.iter().map(device).collect();
    let message = match query.done.as_deref() {
        Some("revoked") => Some("The device was signed out."),
        Some("others") => Some("All your other devices were signed out."),
        Some("unknown") => Some("That device was already signed out."),
        _ => None,
    };
    let cap = crate::MAX_SESSIONS_PER_USER;
    let ctx = context! { user, sessions, remembered, message, cap };
    state.page(&csrf, &nonce, StatusCode::OK, "sessions.html", ctx)
}

/// How recently the password must have been entered before a device can be
/// signed out: a thief with a stolen (or remembered) session cookie must not
/// sign the owner out everywhere and keep the account to themselves.
const FRESH_FOR_DEVICES: Duration = Duration::from_secs(10 * 60);

/// `POST /sessions/revoke`: signs one of the user's own devices out (its
/// session and its remember-me token). A key that is not the user's is
/// refused by the library, so nobody can sign out someone else. Needs a
/// fresh login (else: the login page, then back to the devices).
pub(super) async fn revoke_device(signed_in: CurrentUser, Form(form): Form<RevokeForm>) -> Result {
    if let Err(reauth) = signed_in.require_fresh(FRESH_FOR_DEVICES) {
        return Ok(reauth_for_devices(reauth));
    }
    let revoked = auth::revoke(signed_in.session(), form.key.trim()).await?;
    Ok(see_other(if revoked { "/sessions?done=revoked" } else { "/sessions?done=unknown" }))
}

/// `POST /sessions/others`: "log out all other devices". Needs a fresh login.
pub(super) async fn log_out_others(signed_in: CurrentUser) -> Result {
    if let Err(reauth) = signed_in.require_fresh(FRESH_FOR_DEVICES) {
        return Ok(reauth_for_devices(reauth));
    }
    auth::log_out_other_devices(signed_in.session()).await?;
    Ok(see_other("/sessions?done=others"))
}

/// The POST cannot be replayed after the login: come back to the page.
fn reauth_for_devices(reauth: auth::AuthRejection) -> Response {
    match reauth {
        auth::AuthRejection::NotFresh { api: false, .. } => see_other("/login?next=/sessions&reauth=1"),
        other => other.into_response(),
    }
}

fn password_errors() -> std::collections::BTreeMap<String, Vec<String>> {
    PASSWORD_FIELDS.iter().map(|f| ((*f).to_owned(), Vec::new())).collect()
}

/// `GET /password`.
pub(super) async fn password_page(
    State(state): State<AppState>,
    signed_in: CurrentUser,
    csrf: CsrfToken,
    nonce: CspNonce,
) -> Result {
    let user = current_user(&state, Some(&signed_in)).await?;
    let ctx = context! { user, errors => password_errors(), form_error => None::<&str>, changed => None::<Value> };
    state.page(&csrf, &nonce, StatusCode::OK, "password.html", ctx)
}

/// `POST /password`: needs the current password (a thief with a session
/// alone cannot lock the owner out), stores a new Argon2id hash, then
/// signs out every other session and revokes every remember-me token.
pub(super) async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    signed_in: CurrentUser,
    csrf: CsrfToken,
    nonce: CspNonce,
    Form(form): Form<PasswordForm>,
) -> Result {
    let user = current_user(&state, Some(&signed_in)).await?;
    let Some(account) = signed_in_user(&state, &signed_in).await? else { return Ok(see_other("/login")) };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    if let Err(errors) = form.validate() {
        let ctx = context! {
            user, errors => field_messages(&errors, &PASSWORD_FIELDS), form_error => None::<&str>, changed => None::<Value>,
        };
        return state.page(&csrf, &nonce, status, "password.html", ctx);
    }
    // The current-password check is a password guess like a login's (a
    // stolen session must not become a guessing oracle): same counters, by
    // username, checked before any hashing.
    let guess = match state.throttle.password_guess(&account.username, ip).await {
        Ok(guess) => guess,
        Err(err) => {
            let message = err.public_message();
            let ctx = context! {
                user, errors => password_errors(), form_error => Some(message), changed => None::<Value>,
            };
            let page = state.page(&csrf, &nonce, err.status(), "password.html", ctx)?;
            return Ok(refused(page, &err));
        }
    };
    let matches = match state.users.check_password(account.id, &form.current_password).await {
        Ok(matches) => matches,
        Err(err) => {
            guess.not_checked().await;
            return Err(err.into());
        }
    };
    if matches {
        guess.succeeded().await;
    } else {
        drop(guess); // counted as a wrong password
        tracing::warn!(user_id = account.id, "password change refused: wrong current password");
        let ctx = context! {
            user, errors => password_errors(), form_error => Some("Your current password is not correct."), changed => None::<Value>,
        };
        return state.page(&csrf, &nonce, StatusCode::UNAUTHORIZED, "password.html", ctx);
    }
    state.users.change_password(account.id, &form.new_password).await?;
    let revoked = auth::password_changed(signed_in.session()).await.map_err(AppError::from)?;
    tracing::info!(user_id = account.id, "password changed");
    let changed = context! { sessions => revoked.sessions, tokens => revoked.remember_tokens };
    let ctx = context! { user, errors => password_errors(), form_error => None::<&str>, changed };
    state.page(&csrf, &nonce, StatusCode::OK, "password.html", ctx)
}
