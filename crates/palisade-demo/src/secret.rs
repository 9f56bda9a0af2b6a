//! The session secret when `PALISADE_SECRET_KEY` is not set: a random key
//! generated once into `<data_dir>/secret_key` (mode 0600), so sessions
//! survive restarts without anyone having to invent a key.

use palisade::keys::{KeyError, KeyRing};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Name of the generated secret's file in the data directory.
pub const SECRET_FILE: &str = "secret_key";

/// Why the secret file could not be used. Never contains the secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    #[error("cannot read the secret key file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write the secret key file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "the secret key file {path} is not usable ({source}); delete it to generate a new one (this logs everyone out)"
    )]
    Invalid { path: PathBuf, source: KeyError },
}

/// Reads `<data_dir>/secret_key`, or generates it when it does not exist.
pub fn load_or_generate(data_dir: &Path) -> Result<KeyRing, SecretError> {
    let path = data_dir.join(SECRET_FILE);
    // `create_new` + mode 0600 in the same `open` call: the file is never
    // world-readable, not even between creation and a later chmod, and an
    // existing file is never overwritten.
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
        Ok(file) => generate_into(file, &path),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => read_existing(&path),
        Err(source) => Err(SecretError::Write { path, source }),
    }
}

fn generate_into(mut file: File, path: &Path) -> Result<KeyRing, SecretError> {
    let (secret, ring) = loop {
        let secret = KeyRing::generate_secret_base64();
        // A random key fails the library's sanity check with negligible
        // probability; draw again rather than write a key we would refuse.
        if let Ok(ring) = KeyRing::from_base64(&secret) {
            break (secret, ring);
        }
    };
    let written = file.write_all(secret.as_bytes()).and_then(|()| file.write_all(b"\n")).and_then(|()| file.sync_all());
    if let Err(source) = written {
        // Leave no half-written key behind to be refused on the next start.
        let _ = std::fs::remove_file(path);
        return Err(SecretError::Write { path: path.to_owned(), source });
    }
    tracing::warn!(
        path = %path.display(),
        "PALISADE_SECRET_KEY is not set: using a newly generated secret key stored in this file \
         (keep it private; set PALISADE_SECRET_KEY in production)"
    );
    Ok(ring)
}

fn read_existing(path: &Path) -> Result<KeyRing, SecretError> {
    let read_err = |source| SecretError::Read { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(read_err)?;
    let mode = file.metadata().map_err(read_err)?.mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{:o}", mode & 0o777),
            "the secret key file is readable by other users; run `chmod 600` on it"
        );
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text).map_err(read_err)?;
    let ring =
        KeyRing::from_base64(text.trim()).map_err(|source| SecretError::Invalid { path: path.to_owned(), source })?;
    tracing::info!(path = %path.display(), "using the secret key from the data directory");
    Ok(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade::keys::Purpose;

    fn key_id(ring: &KeyRing) -> String {
        format!("{:?}", ring.derive(Purpose::SessionSigning).primary().id())
    }

    #[test]
    fn generates_a_private_file_then_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_generate(dir.path()).unwrap();
        let path = dir.path().join(SECRET_FILE);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600, "secret file mode is {:o}", meta.mode() & 0o777);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(KeyRing::from_base64(text.trim()).is_ok());

        let second = load_or_generate(dir.path()).unwrap();
        assert_eq!(key_id(&first), key_id(&second), "the existing secret must be reused");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "the file must not be rewritten");
    }

    #[test]
    fn a_bad_secret_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SECRET_FILE);
        std::fs::write(&path, "changeme\n").unwrap();
        let err = load_or_generate(dir.path()).unwrap_err();
        assert!(matches!(err, SecretError::Invalid { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("openssl rand -base64 32"), "{message}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "changeme\n", "a bad file is never overwritten");
    }

    #[test]
    fn a_missing_directory_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_or_generate(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(err, SecretError::Write { .. }), "{err:?}");
    }
}
