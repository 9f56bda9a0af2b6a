//! Entry points for the benchmark harness (`bench/`) into hot paths that are
//! crate-private: the CSRF token masking and the CSP nonce generator.
//!
//! Not API: hidden from the documentation, compiled only with the
//! `bench-internals` cargo feature, no stability promise. Each item calls
//! the very code the layers run; nothing here is a copy.

use crate::csrf::token::{self, Secret};
use crate::headers::CspNonce;

/// A session's CSRF secret (zeroized on drop, never printed).
#[derive(Debug, Clone)]
pub struct CsrfSecret(Secret);

impl CsrfSecret {
    /// A new secret from the OS CSPRNG, as the CSRF layer makes per session.
    pub fn generate() -> Self {
        Self(Secret::generate())
    }

    /// A fresh masked token, as rendered into every form.
    pub fn mask(&self) -> String {
        self.0.mask()
    }

    /// The CSRF layer's check of a submitted token (unmask + constant-time
    /// comparison).
    pub fn verifies(&self, token: &str) -> bool {
        self.0.verifies(token)
    }
}

/// Unmasks a token of a 32-byte secret; `true` when it has the right shape.
pub fn csrf_unmask(token: &str) -> bool {
    token::unmask(token, token::SECRET_LEN).is_some()
}

/// A CSP nonce, as `SecurityHeadersLayer` makes for every response.
pub fn csp_nonce() -> CspNonce {
    CspNonce::generate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_points_run_the_real_checks() {
        let secret = CsrfSecret::generate();
        let token = secret.mask();
        assert!(secret.verifies(&token));
        assert!(csrf_unmask(&token));
        assert!(!CsrfSecret::generate().verifies(&token));
        assert_ne!(csp_nonce().as_str(), csp_nonce().as_str());
    }
}
