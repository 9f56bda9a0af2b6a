use super::error::SessionError;
use super::hook::{Found, FoundSession, HookContext, SessionHook, SignIn};
use super::id::SessionId;
use super::layer::{Backend, Shared};
use crate::client::ClientSnapshot;
use crate::cookie::CookieError;
use crate::store::{Data, SessionInfo, StoreError, UnixTime};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Mutex;

/// The session of the current request. Cheap to clone; all clones share state.
///
/// Every method loads the session on first use (one store read for
/// server-side sessions); the layer writes what changed after the handler.
#[derive(Clone)]
pub struct Session {
    pub(crate) cell: Arc<Cell>,
    pub(crate) shared: Arc<Shared>,
}

/// What the clones of one request's session share.
pub(crate) struct Cell {
    pub(crate) state: Mutex<State>,
    /// Counts id rotations and flushes in this request. Read without the
    /// lock (from synchronous template code), so that anything derived
    /// from the old id (a CSRF token) can tell it is stale.
    generation: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session { .. }")
    }
}

/// Timestamps of a session, for showing to its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionMeta {
    /// When the session id was issued (reset at login by `rotate_id`).
    pub created_at: UnixTime,
    /// Last recorded use (refreshed at most once per touch interval).
    pub last_seen: UnixTime,
    /// When it dies unless used again.
    pub expires_at: UnixTime,
    /// True when nothing has been stored yet (no cookie issued).
    pub is_new: bool,
}

pub(crate) struct State {
    /// The request's `Cookie` headers (shared buffers, not copies): the
    /// session and remember-me cookies are looked for only when the handler
    /// first uses the session, so untouched routes pay nothing for parsing.
    pub(crate) cookie_headers: Vec<http::HeaderValue>,
    pub(crate) loaded: Option<Loaded>,
    /// Set when a store read failed: the layer answers 503 even if the
    /// handler swallowed the error (fail closed).
    pub(crate) load_failed: bool,
    /// The client's address and user agent, recorded when a session is
    /// created or rotated.
    pub(crate) client: ClientSnapshot,
    /// Cookies other than the session's the response must set or remove
    /// (by name; the last one queued for a name wins).
    pub(crate) response_cookies: Vec<(String, http::HeaderValue)>,
    /// The hook's checks of a found session are skipped (`SkipBindingLayer`).
    pub(crate) checks_exempt: bool,
    /// Headers the response must carry (`Clear-Site-Data` at logout).
    pub(crate) response_headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

/// Queues `header` for the cookie `name`, replacing one queued before.
pub(crate) fn queue_cookie(queue: &mut Vec<(String, http::HeaderValue)>, name: String, header: http::HeaderValue) {
    queue.retain(|(n, _)| *n != name);
    queue.push((name, header));
}

/// The session as this request sees it, plus what it changed.
pub(crate) struct Loaded {
    /// Id of the record found for this request (None: a new session).
    pub(crate) id: Option<SessionId>,
    pub(crate) data: Data,
    pub(crate) created_at: UnixTime,
    pub(crate) last_seen: UnixTime,
    /// The user the session belongs to (set at login).
    pub(crate) user_id: Option<String>,
    /// Keys given a new value by this request (the values are in `data`).
    pub(crate) set: BTreeSet<String>,
    pub(crate) removed: BTreeSet<String>,
    pub(crate) rotated: bool,
    pub(crate) flushed: bool,
    /// The request's cookie verified under a fallback key.
    pub(crate) reissue: bool,
    /// The request carried some session cookie (valid or not).
    pub(crate) had_cookie: bool,
    /// A valid, live session was found for the request's cookie.
    pub(crate) existing: bool,
    /// The id a new record will be saved under, chosen early because a
    /// module on top needed it during the request (a CSRF double-submit
    /// cookie bound to it); otherwise made at save.
    pub(crate) next_id: Option<SessionId>,
}

impl Loaded {
    fn fresh(now: UnixTime, had_cookie: bool) -> Self {
        Self {
            id: None,
            data: Data::new(),
            created_at: now,
            last_seen: now,
            user_id: None,
            set: BTreeSet::new(),
            removed: BTreeSet::new(),
            rotated: false,
            flushed: false,
            reissue: false,
            had_cookie,
            existing: false,
            next_id: None,
        }
    }

    pub(crate) fn is_modified(&self) -> bool {
        !self.set.is_empty() || !self.removed.is_empty()
    }

    /// A sign-in the hook decided while loading: a new session (new id when
    /// saved) for `user_id` with these values.
    fn sign_in(&mut self, sign_in: SignIn) {
        self.rotated = true;
        self.user_id = Some(sign_in.user_id);
        for (key, value) in sign_in.set {
            self.set.insert(key.clone());
            self.data.insert(key, value);
        }
    }
}

/// What a cookie session's cookie holds.
#[derive(Serialize, Deserialize)]
pub(crate) struct CookiePayload {
    #[serde(rename = "c")]
    pub(crate) created_at: UnixTime,
    #[serde(rename = "s")]
    pub(crate) last_seen: UnixTime,
    #[serde(rename = "d")]
    pub(crate) data: Data,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub(crate) user_id: Option<String>,
}

/// Longest user id accepted by [`Session::set_user_id`].
pub const MAX_USER_ID_LEN: usize = 256;

/// Session keys starting with this prefix belong to the current session id
/// and are dropped by [`Session::rotate_id`] (e.g. the CSRF secret).
pub const ID_BOUND_PREFIX: &str = "palisade.id.";

/// Keys end up in store-side JSON paths (`$."key"` in SQLite); refusing
/// quotes, backslashes and control characters keeps a key from breaking out
/// of its path.
fn check_key(key: &str) -> Result<(), SessionError> {
    let ok = !key.is_empty() && key.len() <= 256 && !key.chars().any(|c| c.is_control() || c == '"' || c == '\\');
    if ok {
        Ok(())
    } else {
        Err(SessionError::InvalidKey)
    }
}

impl Session {
    pub(crate) fn new(shared: Arc<Shared>, cookie_headers: Vec<http::HeaderValue>, client: ClientSnapshot) -> Self {
        let state = State {
            cookie_headers,
            loaded: None,
            load_failed: false,
            client,
            response_cookies: Vec::new(),
            checks_exempt: false,
            response_headers: Vec::new(),
        };
        Self { cell: Arc::new(Cell { state: Mutex::new(state), generation: AtomicU64::new(0) }), shared }
    }

    /// Changes each time this request rotates or flushes the session: a
    /// value derived from the id (a CSRF token) taken before is stale.
    pub(crate) fn generation(&self) -> u64 {
        self.cell.generation.load(Ordering::Acquire)
    }

    fn bump_generation(&self) {
        self.cell.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Reads `key` as a `T`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        self.with_loaded(|l| match l.data.get(key) {
            Some(value) => Ok(Some(T::deserialize(value)?)),
            None => Ok(None),
        })
        .await
    }

    /// Stores `value` under `key`.
    pub async fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        check_key(key)?;
        let value = serde_json::to_value(value)?;
        self.with_loaded(|l| {
            l.removed.remove(key);
            if !l.set.contains(key) {
                l.set.insert(key.to_owned());
            }
            match l.data.get_mut(key) {
                Some(slot) => *slot = value,
                None => {
                    l.data.insert(key.to_owned(), value);
                }
            }
            Ok(())
        })
        .await
    }

    /// Removes `key` and returns its value, if any.
    pub async fn remove<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        check_key(key)?;
        self.with_loaded(|l| {
            l.set.remove(key);
            l.removed.insert(key.to_owned());
            match l.data.remove(key) {
                Some(value) => Ok(Some(serde_json::from_value(value)?)),
                None => Ok(None),
            }
        })
        .await
    }

    /// True when the session holds no values.
    pub async fn is_empty(&self) -> Result<bool, SessionError> {
        self.with_loaded(|l| Ok(l.data.is_empty())).await
    }

    /// New id, same data. Call at login (and at any privilege change) to
    /// stop session fixation: an id an attacker planted or saw before login
    /// is worthless after it. Also restarts the absolute timeout.
    ///
    /// Values under keys starting with [`ID_BOUND_PREFIX`] (such as the CSRF
    /// secret) are dropped: a secret an attacker could learn before login
    /// must not survive into the logged-in session.
    pub async fn rotate_id(&self) -> Result<(), SessionError> {
        self.with_loaded(|l| {
            l.rotated = true;
            let bound: Vec<String> = l.data.keys().filter(|k| k.starts_with(ID_BOUND_PREFIX)).cloned().collect();
            for key in bound {
                l.data.remove(&key);
                l.set.remove(&key);
                l.removed.insert(key);
            }
            Ok(())
        })
        .await?;
        self.bump_generation();
        Ok(())
    }

    /// Deletes the data and the id and expires the cookie. Call at logout:
    /// the record is deleted from the store, so a copy of the old cookie is
    /// dead. Values inserted afterwards start a brand-new session.
    pub async fn flush(&self) -> Result<(), SessionError> {
        let now = self.shared.clock.now();
        self.with_loaded(|l| {
            l.flushed = true;
            l.data.clear();
            l.set.clear();
            l.removed.clear();
            l.rotated = false;
            l.user_id = None;
            l.created_at = now;
            l.last_seen = now;
            Ok(())
        })
        .await?;
        self.bump_generation();
        Ok(())
    }

    /// Marks the session as belonging to `user_id` (at login), which also
    /// rotates its id: a change of user is a change of privilege, and an id
    /// seen before it must not carry over (session fixation). The store's
    /// user index then finds the session for "your devices" and for
    /// [`revoke_other_sessions`](Self::revoke_other_sessions).
    ///
    /// User ids are 1–256 bytes without control characters: the user index
    /// files other things (remember-me tokens) under names that contain
    /// them, so no user id can ever collide with those.
    pub async fn set_user_id(&self, user_id: &str) -> Result<(), SessionError> {
        if user_id.is_empty() || user_id.len() > MAX_USER_ID_LEN || user_id.chars().any(char::is_control) {
            return Err(SessionError::InvalidUserId);
        }
        self.rotate_id().await?;
        self.with_loaded(|l| {
            l.user_id = Some(user_id.to_owned());
            Ok(())
        })
        .await
    }

    /// The user the session belongs to, if any.
    pub async fn user_id(&self) -> Result<Option<String>, SessionError> {
        self.with_loaded(|l| Ok(l.user_id.clone())).await
    }

    /// Every live session of this session's user, oldest first, the current
    /// one marked. Empty for an anonymous session. Server-side sessions only:
    /// a cookie session has no record to list.
    pub async fn sessions_of_user(&self) -> Result<Vec<SessionInfo>, SessionError> {
        let (store, user, current) = match self.user_and_key().await? {
            Some(found) => found,
            None => return Ok(Vec::new()),
        };
        let now = self.shared.clock.now();
        let mut sessions = self.shared.timed(store.sessions_of(&user, now)).await?;
        for info in &mut sessions {
            info.current = Some(info.key) == current;
        }
        Ok(sessions)
    }

    /// Deletes every other session of this session's user ("log out my
    /// other devices"); returns how many. Server-side sessions only.
    pub async fn revoke_other_sessions(&self) -> Result<u64, SessionError> {
        let Some((store, user, current)) = self.user_and_key().await? else { return Ok(0) };
        let revoked = self.shared.timed(store.revoke_user(&user, current.as_ref())).await?;
        tracing::info!(revoked, "revoked the user's other sessions");
        Ok(revoked)
    }

    /// The store, the user and the current record's key (None while the
    /// session has not been saved yet).
    async fn user_and_key(
        &self,
    ) -> Result<Option<(Arc<dyn crate::store::Store>, String, Option<crate::store::StoreKey>)>, SessionError> {
        let Backend::Store(store) = &self.shared.backend else {
            return Err(SessionError::NotServerSide);
        };
        let store = store.clone();
        self.with_loaded(|l| {
            Ok(l.user_id
                .clone()
                .map(|user| (store, user, l.id.as_ref().filter(|_| !l.flushed).map(|id| id.store_key()))))
        })
        .await
    }

    /// Timestamps of the session.
    pub async fn meta(&self) -> Result<SessionMeta, SessionError> {
        let expiry = self.shared.expiry;
        self.with_loaded(|l| {
            Ok(SessionMeta {
                created_at: l.created_at,
                last_seen: l.last_seen,
                expires_at: expiry.expires_at(l.created_at, l.last_seen),
                is_new: !l.existing || l.flushed,
            })
        })
        .await
    }

    pub(crate) async fn with_loaded<R>(
        &self,
        f: impl FnOnce(&mut Loaded) -> Result<R, SessionError>,
    ) -> Result<R, SessionError> {
        let mut state = self.cell.state.lock().await;
        if state.loaded.is_none() {
            // Boxed: the load's state machine (cookie candidates, the hook's
            // checks, the store read) is large, and inlined it would make
            // the future of every `get`/`insert` — and of every handler
            // awaiting them — that large, copied whenever it moves; it runs
            // once per request.
            match Box::pin(self.load(&mut state)).await {
                Ok(loaded) => {
                    if loaded.rotated {
                        self.bump_generation(); // signed in at load (remember-me)
                    }
                    state.loaded = Some(loaded);
                }
                Err(err) => {
                    state.load_failed = true;
                    tracing::error!(error = %err, "session store read failed; the request will get 503");
                    return Err(err.into());
                }
            }
        }
        match state.loaded.as_mut() {
            Some(loaded) => f(loaded),
            None => unreachable!("loaded just above"),
        }
    }

    /// Finds the first cookie value that verifies and the session it names.
    /// Anything invalid (tampered, expired, unknown id) means a new, empty
    /// session — never an error page, never an adopted id. The layer's hook
    /// sees a found session (unless this route is exempt) and may have it
    /// destroyed, and may sign in a browser that has none.
    async fn load(&self, state: &mut State) -> Result<Loaded, StoreError> {
        let shared = &self.shared;
        let now = shared.clock.now();
        let hook = shared.hook.as_deref();
        let check = hook.filter(|h| !state.checks_exempt && h.checks_found());
        // Made only when the hook has work to do (a signed-in session to
        // check, a remember-me cookie to read).
        let mut ctx: Option<HookContext> = None;
        let context = || HookContext::new(shared.clone(), state.client.clone(), state.cookie_headers.clone());
        // At most a few candidates (`MAX_COOKIE_CANDIDATES`).
        let mut candidates = shared.attributes.find_in_values(&state.cookie_headers).peekable();
        let had_cookie = candidates.peek().is_some();
        let mut refused = false;
        let mut found_one = None;
        for value in candidates {
            let decoded = match shared.codec.decode(&shared.attributes.name, value, now) {
                Ok(decoded) => decoded,
                Err(err @ (CookieError::BadSignature | CookieError::Malformed | CookieError::TooLarge)) => {
                    // Possible tampering: worth a warning (never the value).
                    tracing::warn!(error = %err, "session cookie refused; starting an empty session");
                    continue;
                }
                Err(err) => {
                    tracing::debug!(error = %err, "session cookie refused; starting an empty session");
                    continue;
                }
            };
            let found = match &shared.backend {
                Backend::Store(store) => {
                    let Some(id) = SessionId::from_slice(&decoded.payload) else { continue };
                    let record = shared.timed(store.load_for_request(&id.store_key(), now)).await?;
                    // Strict ids: a well-signed id the store does not know is
                    // never adopted, so an attacker cannot choose a victim's id.
                    record.map(|r| (Some(id), r.data, r.created_at, r.last_seen, r.user_id))
                }
                Backend::Cookie => serde_json::from_slice::<CookiePayload>(&decoded.payload)
                    .ok()
                    .map(|p| (None, p.data, p.created_at, p.last_seen, p.user_id)),
            };
            let Some((id, data, created_at, last_seen, user_id)) = found else { continue };
            if shared.expiry.is_expired(created_at, last_seen, now) {
                tracing::debug!("session expired");
                continue;
            }
            let mut loaded = Loaded::fresh(now, had_cookie);
            loaded.id = id;
            loaded.data = data;
            loaded.created_at = created_at;
            loaded.last_seen = last_seen;
            loaded.user_id = user_id;
            loaded.reissue = decoded.needs_reissue;
            loaded.existing = true;
            if let Some(hook) = check.filter(|_| loaded.user_id.is_some()) {
                let ctx = ctx.get_or_insert_with(context);
                if self.check_found(hook, ctx, &mut loaded).await? == Found::Destroy {
                    refused = true;
                    continue;
                }
            }
            found_one = Some(loaded);
            break;
        }
        let loaded = match found_one {
            Some(loaded) => loaded,
            None => {
                let mut loaded = Loaded::fresh(now, had_cookie);
                // A session destroyed by the hook: its cookie is removed too,
                // and nobody is signed in on its behalf.
                loaded.flushed = refused;
                if let Some(hook) = hook.filter(|h| !refused && h.signs_in_anonymous()) {
                    if let Some(sign_in) = hook.on_anonymous(ctx.get_or_insert_with(context)).await? {
                        loaded.sign_in(sign_in);
                    }
                }
                loaded
            }
        };
        if let Some(ctx) = ctx {
            for (name, header) in ctx.take_cookies() {
                queue_cookie(&mut state.response_cookies, name, header);
            }
        }
        Ok(loaded)
    }

    /// Runs the hook on a found session; on `Destroy` deletes its record.
    async fn check_found(
        &self,
        hook: &dyn SessionHook,
        ctx: &HookContext,
        loaded: &mut Loaded,
    ) -> Result<Found, StoreError> {
        let key = loaded.id.as_ref().map(SessionId::store_key);
        let mut found =
            FoundSession { key, user_id: loaded.user_id.as_deref(), data: &loaded.data, remove: Vec::new() };
        let verdict = hook.on_found(ctx, &mut found).await?;
        let remove = std::mem::take(&mut found.remove);
        for key in remove {
            if loaded.data.remove(&key).is_some() {
                loaded.set.remove(&key);
                loaded.removed.insert(key);
            }
        }
        if verdict == Found::Destroy {
            if let (Backend::Store(store), Some(key)) = (&self.shared.backend, key) {
                self.shared.timed(store.delete(&key)).await?;
            }
        }
        Ok(verdict)
    }

    /// What a CSRF double-submit cookie is bound to: a hash of the session
    /// id the request came with (domain-separated, so it is neither the id
    /// nor its store key), or `None` for a session without a stored record
    /// (new, flushed, or a cookie session). A value minted for one session
    /// id is worthless under another, so an attacker cannot plant their own
    /// in a victim's browser.
    pub(crate) async fn csrf_binding(&self) -> Result<Option<[u8; 32]>, SessionError> {
        self.with_loaded(|l| Ok(l.id.as_ref().filter(|_| !l.flushed).map(csrf_binding_of))).await
    }

    /// The binding the session will have once this request's changes are
    /// saved: after a login (new id), a logout (none) or a first write (a
    /// new record). The id of a record still to be made is chosen now and
    /// kept for the save, so a double-submit cookie minted for it verifies
    /// on the next request.
    pub(crate) async fn csrf_binding_when_saved(&self) -> Result<Option<[u8; 32]>, SessionError> {
        let server_side = matches!(self.shared.backend, super::layer::Backend::Store(_));
        self.with_loaded(|l| {
            if !server_side {
                return Ok(None);
            }
            let kept = l.id.as_ref().filter(|_| !l.flushed && !l.rotated);
            let id = match kept {
                Some(id) => Some(id),
                // Rotated, flushed or new: a new record if anything is left
                // to store (a rotation always stores one).
                None if l.data.is_empty() && !(l.rotated && l.id.is_some() && !l.flushed) => None,
                None => Some(&*l.next_id.get_or_insert_with(SessionId::generate)),
            };
            Ok(id.map(csrf_binding_of))
        })
        .await
    }
}

/// The domain-separated hash a CSRF double-submit cookie is bound to.
fn csrf_binding_of(id: &SessionId) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::new().chain_update(b"palisade/v1/csrf-binding").chain_update(id.as_bytes()).finalize().into()
}

#[cfg(test)]
mod tests {
    /// Every handler awaiting `get`/`insert` holds their futures, and moves
    /// them (into a box, at least once per request): the load behind them
    /// is boxed so they stay small. Were it inlined again, they would be
    /// about 2 KB each.
    #[test]
    fn session_method_futures_stay_small() {
        let layer = crate::session::SessionLayer::server_side(
            crate::store::MemoryStore::new(),
            crate::keys::KeyRing::generate(),
        )
        .build()
        .unwrap();
        let session = super::Session::new(layer.shared.clone(), Vec::new(), crate::client::ClientSnapshot::default());
        assert!(std::mem::size_of_val(&session.get::<u64>("x")) < 768);
        assert!(std::mem::size_of_val(&session.insert("x", 1u64)) < 768);
        assert!(std::mem::size_of_val(&session.user_id()) < 768);
    }
}
