//! Sessions tied to the password (`AuthConfig::credential_stamp`), through
//! the real session layer with a manual clock: a password changed outside
//! `auth::password_changed` (an admin tool) ends every session and
//! remember-me token of the user on their next request.

mod auth_support;

use async_trait::async_trait;
use auth_support::{App, Browser, CHROME, FIREFOX, REMEMBER, SESSION};
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use http::StatusCode;
use palisade::auth::{self, AuthConfig, CredentialStamp, CurrentUser, LoginOptions, StampError};
use palisade::csrf::CsrfLayer;
use palisade::remember::RememberMe;
use palisade::session::Session;
use palisade::store::MemoryStore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The app's user table: user id → password hash, changed by the tests
/// behind the app's back, and a switch that takes it down.
#[derive(Clone, Default)]
struct Users {
    hashes: Arc<Mutex<HashMap<String, String>>>,
    down: Arc<AtomicBool>,
}

impl Users {
    fn with(users: &[(&str, &str)]) -> Self {
        let me = Self::default();
        for (id, hash) in users {
            me.set(id, hash);
        }
        me
    }

    fn set(&self, id: &str, hash: &str) {
        self.hashes.lock().unwrap().insert(id.to_owned(), hash.to_owned());
    }
}

#[async_trait]
impl CredentialStamp for Users {
    async fn stamp(&self, user_id: &str) -> Result<Option<Vec<u8>>, StampError> {
        if self.down.load(Ordering::SeqCst) {
            return Err("user database unreachable".into());
        }
        Ok(self.hashes.lock().unwrap().get(user_id).map(|h| h.as_bytes().to_vec()))
    }
}

fn app(users: &Users) -> App<MemoryStore> {
    let auth = AuthConfig::new().remember_me(RememberMe::new()).credential_stamp(users.clone());
    App::new(MemoryStore::new(), auth)
}

#[tokio::test]
async fn a_password_changed_by_an_admin_tool_ends_every_session_and_remember_me_token() {
    let users = Users::with(&[("alice", "hash-1"), ("bob", "hash-b")]);
    let app = app(&users);
    let laptop = Browser::new("203.0.113.7", CHROME);
    let phone = Browser::new("198.51.100.9", FIREFOX);
    laptop.post(&app.app, "/login-remember/alice").await;
    phone.post(&app.app, "/login/alice").await;
    let bob = Browser::new("192.0.2.1", CHROME);
    bob.post(&app.app, "/login/bob").await;
    // A thief copied the laptop's remember-me cookie.
    let thief = laptop.copy_to("203.0.113.66", CHROME);
    thief.forget(SESSION);
    assert_eq!(laptop.get(&app.app, "/maybe").await.1, "user=alice");
    assert_eq!(phone.get(&app.app, "/maybe").await.1, "user=alice");

    app.advance(60);
    users.set("alice", "hash-2"); // reset by support, not through the app

    assert_eq!(laptop.get(&app.app, "/maybe").await.1, "anonymous", "the laptop's session ended");
    assert!(laptop.cookie(REMEMBER).is_none(), "and its remember-me cookie was removed");
    assert_eq!(phone.get(&app.app, "/maybe").await.1, "anonymous");
    assert_eq!(thief.get(&app.app, "/maybe").await.1, "anonymous", "the stolen token cannot sign in");
    assert!(thief.cookie(REMEMBER).is_none());
    assert_eq!(bob.get(&app.app, "/maybe").await.1, "user=bob", "other users are untouched");
    // A new login with the new password works as ever.
    laptop.post(&app.app, "/login/alice").await;
    assert_eq!(laptop.get(&app.app, "/maybe").await.1, "user=alice");
}

/// The stamp is checked when a remember-me token is used, not only in the
/// session: a browser whose session had expired comes back after the change.
#[tokio::test]
async fn a_remember_me_token_from_before_the_change_is_refused_even_without_a_session() {
    let users = Users::with(&[("alice", "hash-1")]);
    let app = app(&users);
    let laptop = Browser::new("203.0.113.7", CHROME);
    laptop.post(&app.app, "/login-remember/alice").await;
    laptop.forget(SESSION); // browser restarted
    assert_eq!(laptop.get(&app.app, "/maybe").await.1, "user=alice", "signed in by the token");
    laptop.forget(SESSION);
    users.set("alice", "hash-2");
    assert_eq!(laptop.get(&app.app, "/maybe").await.1, "anonymous");
    assert!(laptop.cookie(REMEMBER).is_none());
    // Restoring the old hash does not bring the token back: it was revoked.
    users.set("alice", "hash-1");
    laptop.forget(SESSION);
    assert_eq!(laptop.get(&app.app, "/maybe").await.1, "anonymous");
}

/// The app's own "change password" handler, as the demo's: the session was
/// loaded (and checked) under the old stamp; the handler saves the new hash
/// and then calls `auth::password_changed`. (GET only to pass the test
/// harness's CSRF layer without a form.)
fn change_password_route(users: &Users) -> Router {
    let users = users.clone();
    Router::new()
        .route(
            "/change/{hash}",
            get(move |user: CurrentUser, Path(hash): Path<String>| async move {
                users.set(user.id(), &hash);
                auth::password_changed(user.session()).await.map(|_| "changed")
            }),
        )
        .route(
            "/signin/{user}/{remember}",
            get(|session: Session, Path((user, remember)): Path<(String, bool)>| async move {
                auth::login(&session, &user, LoginOptions::new().remember(remember)).await.map(|_| "signed in")
            }),
        )
}

#[tokio::test]
async fn the_apps_own_password_change_keeps_the_current_session_under_the_new_stamp() {
    let users = Users::with(&[("alice", "hash-1")]);
    let auth = AuthConfig::new().remember_me(RememberMe::new()).credential_stamp(users.clone());
    let app = App::with_csrf(MemoryStore::new(), auth, CsrfLayer::builder(), change_password_route(&users));
    let laptop = Browser::new("203.0.113.7", CHROME);
    let phone = Browser::new("198.51.100.9", FIREFOX);
    laptop.get(&app.app, "/signin/alice/true").await;
    phone.get(&app.app, "/signin/alice/false").await;
    assert_eq!(laptop.get(&app.app, "/change/hash-2").await, (StatusCode::OK, "changed".into()));
    assert_eq!(laptop.get(&app.app, "/maybe").await.1, "user=alice", "this session lives on");
    assert_eq!(phone.get(&app.app, "/maybe").await.1, "anonymous");
    // Its new remember-me token carries the new stamp.
    laptop.forget(SESSION);
    assert_eq!(laptop.get(&app.app, "/maybe").await.1, "user=alice");
}

#[tokio::test]
async fn a_deleted_user_is_signed_out_and_cannot_be_signed_in() {
    let users = Users::with(&[("alice", "hash-1")]);
    let app = app(&users);
    let laptop = Browser::new("203.0.113.7", CHROME);
    laptop.post(&app.app, "/login-remember/alice").await;
    users.hashes.lock().unwrap().remove("alice");
    assert_eq!(laptop.get(&app.app, "/maybe").await.1, "anonymous");
    let (status, _) = Browser::new("192.0.2.1", CHROME).post(&app.app, "/login/mallory").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "signing in a user nobody knows is a bug, refused");
}

#[tokio::test]
async fn an_unreachable_user_database_fails_closed_with_503() {
    let users = Users::with(&[("alice", "hash-1")]);
    let app = app(&users);
    let laptop = Browser::new("203.0.113.7", CHROME);
    laptop.post(&app.app, "/login/alice").await;
    users.down.store(true, Ordering::SeqCst);
    assert_eq!(laptop.get(&app.app, "/maybe").await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        Browser::new("192.0.2.1", CHROME).post(&app.app, "/login/alice").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    users.down.store(false, Ordering::SeqCst);
    assert_eq!(laptop.get(&app.app, "/maybe").await.1, "user=alice", "nothing was lost in the outage");
}
