//! PKCE (RFC 7636, method `S256`), the login's `state`, and constant-time comparison.
//!
//! The verifier is the secret half of PKCE: it never leaves this process except in the body of
//! the code exchange, so it lives in a [`Secret`]. The challenge is its SHA-256, which is what
//! the authorize URL carries. `state` ties the browser's redirect to this login (CSRF defence):
//! it travels in the URL, and the callback compares it in constant time.

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use mp_http::Secret;

/// A PKCE verifier and its `S256` challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    verifier: Secret<String>,
    challenge: String,
}

impl Pkce {
    /// A fresh verifier: 64 random bytes in unpadded base64url, 86 characters of the unreserved
    /// set (RFC 7636 §4.1 allows 43 to 128), as Mixpanel's official client makes them.
    pub fn generate() -> Pkce {
        let mut bytes = [0u8; 64];
        rand::rng().fill_bytes(&mut bytes);
        Pkce::from_verifier(base64url(&bytes))
            .expect("86 base64url characters are a valid verifier")
    }

    /// The PKCE pair for a given verifier; `None` when it is not 43 to 128 characters of the
    /// unreserved set (`A-Z a-z 0-9 - . _ ~`).
    pub fn from_verifier(verifier: impl Into<String>) -> Option<Pkce> {
        let verifier = verifier.into();
        let valid_length = (43..=128).contains(&verifier.len());
        let valid_characters = verifier
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~'));
        if !valid_length || !valid_characters {
            return None;
        }
        let challenge = base64url(&Sha256::digest(verifier.as_bytes()));
        Some(Pkce {
            verifier: Secret::new(verifier),
            challenge,
        })
    }

    /// The verifier (secret; sent only in the code exchange).
    pub fn verifier(&self) -> &Secret<String> {
        &self.verifier
    }

    /// The `S256` challenge: unpadded base64url of SHA-256 of the verifier, 43 characters.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The challenge method, always `S256`.
    pub fn method(&self) -> &'static str {
        "S256"
    }
}

/// A fresh `state`: 32 random bytes in unpadded base64url (43 characters), like Python's
/// `secrets.token_urlsafe(32)`.
pub fn generate_state() -> Secret<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(base64url(&bytes))
}

/// Returns true if and only if `a` equals `b`, taking the same time for every `a` of a given
/// length, so a forged `state` cannot be found one byte at a time by timing the callback.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // The length is not secret (every state is 43 characters); the content is.
    if a.len() != b.len() {
        return false;
    }
    let difference = a
        .iter()
        .zip(b)
        .fold(0u8, |difference, (x, y)| difference | (x ^ y));
    // `black_box` keeps the optimizer from turning the fold into an early-exit comparison.
    std::hint::black_box(difference) == 0
}

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
