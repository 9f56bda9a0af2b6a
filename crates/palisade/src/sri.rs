//! Subresource Integrity: `integrity="sha384-…"` values for static assets,
//! computed once at startup.
//!
//! ```
//! use palisade::sri::{Integrity, SriAssets};
//! use palisade::headers::HashAlgorithm;
//!
//! # fn main() -> Result<(), palisade::sri::SriError> {
//! assert_eq!(
//!     Integrity::of_bytes(HashAlgorithm::Sha256, b"").to_string(),
//!     "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
//! );
//! let assets = SriAssets::new().add_bytes("/static/app.js", b"console.log(1)")?;
//! let tag = assets.script_tag("/static/app.js", Some("n0nce"))?;
//! assert!(tag.starts_with(r#"<script src="/static/app.js" integrity="sha384-"#));
//! # Ok(()) }
//! ```
//!
//! With an `integrity` attribute the browser runs a script (or applies a
//! stylesheet) only if its bytes hash to that value: a CDN, a cache or a
//! compromised static-file server that changes the file cannot get new
//! code run. Under the default nonce policy the tag also needs the
//! response's nonce; [`SriAssets::script_tag`] writes both. With the
//! `minijinja` feature, [`SriAssets::add_to_environment`] gives templates
//! `{{ sri_script("/static/app.js") }}` and `{{ sri_stylesheet("/static/site.css") }}`.

pub use crate::headers::HashAlgorithm;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why an asset could not be hashed or rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SriError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0:?} is not a URL path for an asset (it must start with / and hold no quotes, spaces, <, > or &)")]
    InvalidUrlPath(String),
    #[error("no integrity value for {0:?}: add the file to SriAssets at startup")]
    UnknownAsset(String),
}

/// An integrity value: `sha384-<base64 digest>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Integrity {
    algorithm: HashAlgorithm,
    digest: String,
}

impl Integrity {
    pub fn of_bytes(algorithm: HashAlgorithm, bytes: &[u8]) -> Self {
        let digest = match algorithm {
            HashAlgorithm::Sha256 => STANDARD.encode(Sha256::digest(bytes)),
            HashAlgorithm::Sha384 => STANDARD.encode(Sha384::digest(bytes)),
            HashAlgorithm::Sha512 => STANDARD.encode(Sha512::digest(bytes)),
        };
        Self { algorithm, digest }
    }

    /// Hashes a file, reading it in chunks.
    pub fn of_file(algorithm: HashAlgorithm, path: impl AsRef<Path>) -> Result<Self, SriError> {
        let path = path.as_ref();
        let io = |source| SriError::Io { path: path.to_owned(), source };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut hasher = Hasher::new(algorithm);
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Self { algorithm, digest: hasher.finish() })
    }

    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The base64 digest alone.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The same hash as a CSP source (`'sha384-…'`), e.g. to allow an
    /// inline script by hash.
    pub fn csp_source(&self) -> crate::headers::Source {
        crate::headers::Source::Hash(self.algorithm, self.digest.clone())
    }
}

impl fmt::Display for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.algorithm {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        };
        write!(f, "{prefix}-{}", self.digest)
    }
}

enum Hasher {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Hasher {
    fn new(algorithm: HashAlgorithm) -> Self {
        match algorithm {
            HashAlgorithm::Sha256 => Self::Sha256(Sha256::new()),
            HashAlgorithm::Sha384 => Self::Sha384(Sha384::new()),
            HashAlgorithm::Sha512 => Self::Sha512(Sha512::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(bytes),
            Self::Sha384(h) => h.update(bytes),
            Self::Sha512(h) => h.update(bytes),
        }
    }

    fn finish(self) -> String {
        match self {
            Self::Sha256(h) => STANDARD.encode(h.finalize()),
            Self::Sha384(h) => STANDARD.encode(h.finalize()),
            Self::Sha512(h) => STANDARD.encode(h.finalize()),
        }
    }
}

/// Integrity values of an app's static assets, keyed by URL path, hashed
/// once when built (default SHA-384, what the SRI spec's examples use and
/// every browser supports).
#[derive(Clone, Debug)]
pub struct SriAssets {
    algorithm: HashAlgorithm,
    assets: BTreeMap<String, Integrity>,
}

impl Default for SriAssets {
    fn default() -> Self {
        Self::new()
    }
}

impl SriAssets {
    pub fn new() -> Self {
        Self::with_algorithm(HashAlgorithm::Sha384)
    }

    pub fn with_algorithm(algorithm: HashAlgorithm) -> Self {
        Self { algorithm, assets: BTreeMap::new() }
    }

    /// The asset served at `url_path` has the contents of `file`.
    pub fn add_file(mut self, url_path: &str, file: impl AsRef<Path>) -> Result<Self, SriError> {
        check_url_path(url_path)?;
        self.assets.insert(url_path.to_owned(), Integrity::of_file(self.algorithm, file)?);
        Ok(self)
    }

    /// The asset served at `url_path` is `bytes` (e.g. `include_bytes!`).
    pub fn add_bytes(mut self, url_path: &str, bytes: &[u8]) -> Result<Self, SriError> {
        check_url_path(url_path)?;
        self.assets.insert(url_path.to_owned(), Integrity::of_bytes(self.algorithm, bytes));
        Ok(self)
    }

    /// Every `.js` and `.css` file under `dir` (recursively), served at
    /// `url_prefix` + its relative path.
    pub fn add_dir(mut self, url_prefix: &str, dir: impl AsRef<Path>) -> Result<Self, SriError> {
        let prefix = url_prefix.trim_end_matches('/');
        let mut stack = vec![dir.as_ref().to_owned()];
        while let Some(current) = stack.pop() {
            let io = |source| SriError::Io { path: current.clone(), source };
            for entry in std::fs::read_dir(&current).map_err(io)? {
                let path = entry.map_err(io)?.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if !matches!(path.extension().and_then(|e| e.to_str()), Some("js" | "css" | "mjs")) {
                    continue;
                }
                let relative = path.strip_prefix(dir.as_ref()).unwrap_or(&path);
                let parts: Vec<String> =
                    relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                self = self.add_file(&format!("{prefix}/{}", parts.join("/")), &path)?;
            }
        }
        Ok(self)
    }

    pub fn integrity(&self, url_path: &str) -> Option<&Integrity> {
        self.assets.get(url_path)
    }

    /// `<script src="…" integrity="…" nonce="…"></script>`.
    pub fn script_tag(&self, url_path: &str, nonce: Option<&str>) -> Result<String, SriError> {
        self.script(url_path, nonce, "")
    }

    /// The same with `defer` (runs after the document is parsed).
    pub fn deferred_script_tag(&self, url_path: &str, nonce: Option<&str>) -> Result<String, SriError> {
        self.script(url_path, nonce, " defer")
    }

    fn script(&self, url_path: &str, nonce: Option<&str>, extra: &str) -> Result<String, SriError> {
        let integrity = self.integrity(url_path).ok_or_else(|| SriError::UnknownAsset(url_path.to_owned()))?;
        let nonce = nonce_attribute(nonce);
        Ok(format!(r#"<script src="{url_path}" integrity="{integrity}"{nonce}{extra}></script>"#))
    }

    /// `<link rel="stylesheet" href="…" integrity="…" nonce="…">`.
    pub fn stylesheet_tag(&self, url_path: &str, nonce: Option<&str>) -> Result<String, SriError> {
        let integrity = self.integrity(url_path).ok_or_else(|| SriError::UnknownAsset(url_path.to_owned()))?;
        Ok(format!(r#"<link rel="stylesheet" href="{url_path}" integrity="{integrity}"{}>"#, nonce_attribute(nonce)))
    }

    /// Adds `sri_script(path)` (`sri_script(path, defer=true)` for a
    /// deferred script) and `sri_stylesheet(path)` to `env`. They
    /// take the nonce from the render context's `csp_nonce()` (merge
    /// [`CspNonce::template_functions`](crate::headers::CspNonce::template_functions)
    /// into it); an unknown path is a template error, never a tag without
    /// integrity.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let assets = palisade::sri::SriAssets::new().add_bytes("/app.js", b"go()")?;
    /// let mut env = minijinja::Environment::new();
    /// assets.add_to_environment(&mut env);
    /// env.add_template("p.html", r#"{{ sri_script("/app.js") }}"#)?;
    /// let html = env.get_template("p.html")?.render(minijinja::context! {})?;
    /// assert!(html.contains(r#"integrity="sha384-"#));
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "minijinja")]
    pub fn add_to_environment(&self, env: &mut minijinja::Environment<'_>) {
        use minijinja::value::Kwargs;
        use minijinja::{Error, ErrorKind, State, Value};
        fn nonce(state: &State) -> Result<Option<String>, Error> {
            match state.lookup("csp_nonce") {
                Some(f) if !f.is_undefined() && !f.is_none() => Ok(Some(f.call(state, &[])?.to_string())),
                _ => Ok(None),
            }
        }
        let to_error = |err: SriError| Error::new(ErrorKind::InvalidOperation, err.to_string());
        let assets = std::sync::Arc::new(self.clone());
        let scripts = assets.clone();
        env.add_function("sri_script", move |state: &State, path: &str, kwargs: Kwargs| -> Result<Value, Error> {
            let defer = kwargs.get::<Option<bool>>("defer")?.unwrap_or(false);
            kwargs.assert_all_used()?;
            let nonce = nonce(state)?;
            let tag = if defer {
                scripts.deferred_script_tag(path, nonce.as_deref())
            } else {
                scripts.script_tag(path, nonce.as_deref())
            };
            Ok(Value::from_safe_string(tag.map_err(to_error)?))
        });
        env.add_function("sri_stylesheet", move |state: &State, path: &str| -> Result<Value, Error> {
            let tag = assets.stylesheet_tag(path, nonce(state)?.as_deref()).map_err(to_error)?;
            Ok(Value::from_safe_string(tag))
        });
    }
}

fn nonce_attribute(nonce: Option<&str>) -> String {
    // Nonces are base64url; anything else is dropped rather than escaped.
    match nonce.filter(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b))) {
        Some(n) => format!(r#" nonce="{n}""#),
        None => String::new(),
    }
}

/// URL paths go into attributes unescaped, so only a plain set is allowed.
fn check_url_path(url_path: &str) -> Result<(), SriError> {
    let ok = url_path.starts_with('/')
        && !url_path.starts_with("//")
        && url_path.bytes().all(|b| b.is_ascii_graphic() && !b"\"'<>&`\\".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(SriError::InvalidUrlPath(url_path.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // sha384("abc") from FIPS 180-2, base64.
        assert_eq!(
            Integrity::of_bytes(HashAlgorithm::Sha384, b"abc").to_string(),
            "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"
        );
        assert_eq!(
            Integrity::of_bytes(HashAlgorithm::Sha512, b"").digest(),
            "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
        );
    }

    #[test]
    fn tags_carry_integrity_and_nonce() {
        let assets = SriAssets::new().add_bytes("/a.js", b"x").unwrap().add_bytes("/s.css", b"y").unwrap();
        let integrity = Integrity::of_bytes(HashAlgorithm::Sha384, b"x");
        assert_eq!(
            assets.script_tag("/a.js", Some("abc")).unwrap(),
            format!(r#"<script src="/a.js" integrity="{integrity}" nonce="abc"></script>"#)
        );
        assert!(!assets.stylesheet_tag("/s.css", None).unwrap().contains("nonce"));
        assert_eq!(
            assets.deferred_script_tag("/a.js", None).unwrap(),
            format!(r#"<script src="/a.js" integrity="{integrity}" defer></script>"#)
        );
        assert!(matches!(assets.script_tag("/b.js", None), Err(SriError::UnknownAsset(_))));
        let injected = assets.script_tag("/a.js", Some("\"><script>")).unwrap();
        assert!(!injected.contains("nonce") && injected.matches("<script").count() == 1, "{injected}");
    }

    #[test]
    fn url_paths_that_could_break_out_of_an_attribute_are_refused() {
        for bad in ["a.js", "//evil/a.js", "/a\".js", "/a b.js", "/<x>.js", "/a&b.js"] {
            assert!(SriAssets::new().add_bytes(bad, b"").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_directory_is_hashed_once_with_relative_paths() {
        let dir = std::env::temp_dir().join(format!("palisade-sri-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("js")).unwrap();
        std::fs::write(dir.join("js/app.js"), b"app").unwrap();
        std::fs::write(dir.join("site.css"), b"css").unwrap();
        std::fs::write(dir.join("notes.txt"), b"skip").unwrap();
        let assets = SriAssets::new().add_dir("/static/", &dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(assets.integrity("/static/js/app.js"), Some(&Integrity::of_bytes(HashAlgorithm::Sha384, b"app")));
        assert!(assets.integrity("/static/site.css").is_some());
        assert!(assets.integrity("/static/notes.txt").is_none());
        assert!(matches!(SriAssets::new().add_file("/x.js", "/nonexistent/x.js"), Err(SriError::Io { .. })));
    }
}
