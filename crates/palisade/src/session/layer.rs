use super::config::Expiry;
use super::error::SessionError;
use super::handle::{CookiePayload, Loaded, Session};
use super::hook::SessionHook;
use super::id::SessionId;
use crate::body::ResponseBody;
use crate::client::ClientSnapshot;
use crate::clock::Clock;
use crate::cookie::{CookieAttributes, CookieCodec};
use crate::keys::{KeyRing, Purpose, PurposeKeys};
use crate::store::{Applied, Change, Record, Store, StoreError, UnixTime};
use futures_util::future::BoxFuture;
use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderValue, Request, Response, StatusCode};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tower_layer::Layer;
use tower_service::Service;

pub(crate) enum Backend {
    Cookie,
    Store(Arc<dyn Store>),
}

/// Configuration shared by every request.
pub(crate) struct Shared {
    pub(crate) backend: Backend,
    pub(crate) codec: CookieCodec,
    pub(crate) attributes: CookieAttributes,
    pub(crate) expiry: Expiry,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store_timeout: Duration,
    /// The store never waits (`Store::never_waits`): its calls need no timer.
    pub(crate) store_never_waits: bool,
    pub(crate) persistent_cookie: bool,
    /// What a module on top (sign-in) does at load time; see [`SessionHook`].
    pub(crate) hook: Option<Arc<dyn SessionHook>>,
    /// Keys of their own purpose for the modules on top (CSRF, remember-me).
    pub(crate) keys: DerivedKeys,
}

/// The layer's key ring and the sub-keys derived from it for the modules on
/// top of the session, each derived (HKDF) once, on first use.
pub(crate) struct DerivedKeys {
    ring: KeyRing,
    derived: [OnceLock<PurposeKeys>; Purpose::COUNT],
}

impl DerivedKeys {
    pub(crate) fn new(ring: KeyRing) -> Self {
        Self { ring, derived: Default::default() }
    }
}

impl Shared {
    /// The sub-keys of `purpose`, derived from the layer's key ring once.
    pub(crate) fn purpose_keys(&self, purpose: Purpose) -> &PurposeKeys {
        self.keys.derived[purpose.index()].get_or_init(|| self.keys.ring.derive(purpose))
    }

    /// Bounds a store call: a slow store gives a 503, not a hung request.
    pub(crate) async fn timed<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        if self.store_never_waits {
            return call.await;
        }
        tokio::time::timeout(self.store_timeout, call).await.unwrap_or(Err(StoreError::Timeout(self.store_timeout)))
    }
}

/// Adds a [`Session`] to every request and saves it after the handler.
#[derive(Clone)]
pub struct SessionLayer {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.shared.backend {
            Backend::Cookie => "cookie",
            Backend::Store(_) => "server-side",
        };
        f.debug_struct("SessionLayer")
            .field("mode", &mode)
            .field("cookie", &self.shared.attributes)
            .field("expiry", &self.shared.expiry)
            .finish_non_exhaustive()
    }
}

impl SessionLayer {
    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self { shared: Arc::new(shared) }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService { inner, shared: self.shared.clone() }
    }
}

/// The service made by [`SessionLayer`].
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // Kept as shared buffers and parsed only if the handler uses the session.
        let cookie_headers: Vec<HeaderValue> = req.headers().get_all(http::header::COOKIE).iter().cloned().collect();
        let session = Session::new(self.shared.clone(), cookie_headers, ClientSnapshot::of(&req));
        req.extensions_mut().insert(session.clone());
        // The clone that was made ready is the one we call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let mut response = inner.call(req).await?;
            if let Err(err) = finish(&session, &mut response).await {
                tracing::error!(error = %err, "session could not be saved; answering {}", err.status());
                return Ok(failure(&err));
            }
            Ok(response.map(ResponseBody::inner))
        })
    }
}

/// The response that replaces the handler's when the session could not be
/// loaded or saved (fail closed).
fn failure<B>(err: &SessionError) -> Response<ResponseBody<B>> {
    let mut res = Response::new(ResponseBody::text(err.public_message()));
    *res.status_mut() = err.status();
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if err.status() == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
}

/// What the session needs written into the response.
enum CookieAction {
    Keep,
    Set(HeaderValue),
    Remove,
}

/// Saves what the handler changed and sets the response headers.
async fn finish<B>(session: &Session, response: &mut Response<B>) -> Result<(), SessionError> {
    let shared = &session.shared;
    let mut state = session.cell.state.lock().await;
    if state.load_failed {
        // The handler may have swallowed the error and rendered an anonymous
        // page: it must not reach the user as if they were logged out.
        return Err(StoreError::Corrupt("an earlier read of this session failed".into()).into());
    }
    let state = &mut *state;
    let Some(loaded) = state.loaded.as_mut() else {
        return Ok(()); // never touched: no store call, no header
    };
    // The response depends on the cookie: a cache must not serve it to others.
    response.headers_mut().append(VARY, HeaderValue::from_static("Cookie"));
    let now = shared.clock.now();
    let client = &state.client;
    let action = match &shared.backend {
        Backend::Store(store) => save_to_store(shared, store.as_ref(), loaded, client, now).await?,
        Backend::Cookie => save_to_cookie(shared, loaded, now)?,
    };
    let session_header = match action {
        CookieAction::Keep => None,
        CookieAction::Set(value) => Some(value),
        CookieAction::Remove => Some(shared.attributes.removal()),
    };
    let headers = response.headers_mut();
    for (name, value) in state.response_headers.drain(..) {
        headers.append(name, value);
    }
    let others = std::mem::take(&mut state.response_cookies);
    if session_header.is_none() && others.is_empty() {
        keep_private(headers);
        return Ok(());
    }
    for header in session_header.into_iter().chain(others.into_iter().map(|(_, header)| header)) {
        headers.append(SET_COOKIE, header);
    }
    forbid_shared_caching(headers);
    Ok(())
}

/// A response built from a session is one user's page: a shared cache
/// (a CDN, a corporate proxy) must not keep it and hand it to the next
/// visitor, whatever `Vary` says (many caches ignore `Vary: Cookie`). The
/// browser's own cache may. A handler's explicit `private`, `no-store` or
/// `no-cache` is kept; `public` is overridden.
fn keep_private(headers: &mut http::HeaderMap) {
    let Some(current) = headers.get(CACHE_CONTROL) else {
        // The usual case: no policy chosen, nothing to parse or allocate.
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
        return;
    };
    let current = current.to_str().unwrap_or("");
    let directives: Vec<&str> = current.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
    let safe = |d: &&str| {
        let d = d.to_ascii_lowercase();
        d == "private" || d == "no-store" || d.starts_with("no-cache")
    };
    if directives.iter().any(safe) {
        return;
    }
    let kept: Vec<&str> = directives
        .into_iter()
        .filter(|d| !d.eq_ignore_ascii_case("public") && !d.to_ascii_lowercase().starts_with("s-maxage"))
        .collect();
    let value = if kept.is_empty() { "private".to_owned() } else { format!("private, {}", kept.join(", ")) };
    headers.insert(CACHE_CONTROL, HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("private")));
}

/// A response that sets a cookie must never be stored by a shared cache,
/// or the next visitor would receive this user's session.
fn forbid_shared_caching(headers: &mut http::HeaderMap) {
    let current = headers.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()).unwrap_or("");
    let lower = current.to_ascii_lowercase();
    if lower.contains("no-store") || lower.contains("private") {
        return;
    }
    let value = if current.is_empty() {
        HeaderValue::from_static("no-store")
    } else {
        HeaderValue::from_str(&format!("{current}, no-cache=\"Set-Cookie\""))
            .unwrap_or(HeaderValue::from_static("no-store"))
    };
    headers.insert(CACHE_CONTROL, value);
}

fn cookie_max_age(shared: &Shared) -> Option<Duration> {
    shared.persistent_cookie.then_some(shared.expiry.absolute)
}

fn id_cookie(shared: &Shared, id: &SessionId, now: UnixTime) -> Result<CookieAction, SessionError> {
    session_cookie(shared, id.as_bytes(), now)
}

/// The session cookie carrying `payload`, encoded straight into the header.
fn session_cookie(shared: &Shared, payload: &[u8], now: UnixTime) -> Result<CookieAction, SessionError> {
    let name = &shared.attributes.name;
    let value_len = shared.codec.encoded_len(payload.len());
    let header = shared
        .attributes
        .set_cookie_with(value_len, cookie_max_age(shared), |out| shared.codec.encode_into(name, payload, now, out))?;
    Ok(CookieAction::Set(header))
}

async fn save_to_store(
    shared: &Shared,
    store: &dyn Store,
    loaded: &mut Loaded,
    client: &ClientSnapshot,
    now: UnixTime,
) -> Result<CookieAction, SessionError> {
    let expiry = shared.expiry;
    // A brand-new record (new session, or new id at login) starts its clocks
    // now and records who created it.
    let fresh_record = |loaded: &Loaded| Record {
        data: loaded.data.clone(),
        created_at: now,
        last_seen: now,
        expires_at: expiry.expires_at(now, now),
        deadline: expiry.deadline(now),
        user_id: loaded.user_id.clone(),
        ip: client.ip_string(),
        user_agent: client.user_agent_string(),
    };
    if loaded.flushed {
        if let Some(old) = loaded.id.take() {
            shared.timed(store.delete(&old.store_key())).await?;
        }
        if loaded.data.is_empty() {
            return Ok(if loaded.had_cookie { CookieAction::Remove } else { CookieAction::Keep });
        }
    }
    let Some(id) = loaded.id.clone() else {
        // A new session is stored only once it holds something: anonymous
        // visitors cost no store write and get no cookie.
        if loaded.data.is_empty() {
            return Ok(CookieAction::Keep);
        }
        let id = loaded.next_id.take().unwrap_or_else(SessionId::generate);
        let record = fresh_record(loaded);
        shared.timed(store.create(&id.store_key(), &record)).await?;
        return id_cookie(shared, &id, now);
    };
    if loaded.rotated {
        let new_id = loaded.next_id.take().unwrap_or_else(SessionId::generate);
        let record = fresh_record(loaded);
        return match shared.timed(store.rotate(&id.store_key(), &new_id.store_key(), &record, now)).await? {
            Applied::Done => id_cookie(shared, &new_id, now),
            Applied::Missing => Ok(ended_elsewhere()),
        };
    }
    if loaded.is_modified() || expiry.touch_due(loaded.last_seen, now) {
        let change = Change {
            set: std::mem::take(&mut loaded.set)
                .into_iter()
                .filter_map(|key| loaded.data.get(&key).map(|value| (key, value.clone())))
                .collect(),
            remove: std::mem::take(&mut loaded.removed).into_iter().collect(),
            last_seen: now,
            expires_at: expiry.expires_at(loaded.created_at, now),
        };
        if shared.timed(store.apply(&id.store_key(), &change, now)).await? == Applied::Missing {
            return Ok(ended_elsewhere());
        }
    }
    if loaded.reissue {
        return id_cookie(shared, &id, now);
    }
    Ok(CookieAction::Keep)
}

/// The session was flushed, revoked or rotated by another request while this
/// one ran: its change is dropped (never re-created). The browser's cookie
/// is left alone: when the other request was a rotation (a double-clicked
/// login, a page loading while its user signs in) the browser already holds
/// the winner's new cookie, and removing "the" session cookie would delete
/// that one and sign the user out. When it was a logout or a revocation, the
/// cookie names nothing any more and costs one failed lookup.
fn ended_elsewhere() -> CookieAction {
    tracing::info!("session ended or rotated by another request while this one ran; change dropped, cookie kept");
    CookieAction::Keep
}

fn save_to_cookie(shared: &Shared, loaded: &mut Loaded, now: UnixTime) -> Result<CookieAction, SessionError> {
    if loaded.data.is_empty() && (loaded.flushed || !loaded.existing) {
        let remove = loaded.had_cookie && (loaded.flushed || loaded.is_modified());
        return Ok(if remove { CookieAction::Remove } else { CookieAction::Keep });
    }
    let fresh = loaded.rotated || loaded.flushed || !loaded.existing;
    let due = fresh || loaded.is_modified() || loaded.reissue || shared.expiry.touch_due(loaded.last_seen, now);
    if !due {
        return Ok(CookieAction::Keep);
    }
    let created_at = if fresh { now } else { loaded.created_at };
    let payload = CookiePayload {
        created_at,
        last_seen: now,
        data: std::mem::take(&mut loaded.data),
        user_id: loaded.user_id.clone(),
    };
    let mut json = Vec::with_capacity(128);
    serde_json::to_writer(&mut json, &payload)?;
    // A session too large for a cookie is an error the handler's author must
    // see (500 and a log line), never a silently dropped cookie.
    session_cookie(shared, &json, now)
}
