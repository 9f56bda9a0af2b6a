//! Fetching over HTTP(S): one client setup, bounded in time and size.

use std::time::Duration;

/// The most a fetched file may hold: SRI is for scripts and stylesheets,
/// and a hostile server must not be able to fill memory.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {source}")]
    Request { url: String, source: reqwest::Error },
    #[error("{url}: the server answered {status}")]
    Status { url: String, status: reqwest::StatusCode },
    #[error("{url}: more than {MAX_BODY} bytes")]
    TooLarge { url: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(reqwest::Error),
}

/// A body and the `Content-Type` it came with.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

/// A client with rustls and Mozilla's roots (webpki-roots), a 10 s
/// connect and 30 s total timeout (a slow site gets a clear error, never a
/// hang), at most 10 redirects.
pub fn client() -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::limited(10))
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(FetchError::Client)
}

/// GETs `url` and reads its body, refusing anything over [`MAX_BODY`].
pub async fn get(client: &reqwest::Client, url: &str) -> Result<Fetched, FetchError> {
    let request = |source| FetchError::Request { url: url.to_owned(), source };
    let mut response = client.get(url).send().await.map_err(request)?;
    if !response.status().is_success() {
        return Err(FetchError::Status { url: url.to_owned(), status: response.status() });
    }
    let content_type =
        response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge { url: url.to_owned() });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { body, content_type })
}
