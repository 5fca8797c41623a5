//! [`Secret`]: a value that must never be printed by accident.

use serde::{Deserialize, Serialize};

/// A secret value (a password, a token, an `Authorization` header).
///
/// `Debug` prints `REDACTED`, there is deliberately no `Display`, and the
/// only way to the value is [`Secret::expose`], which marks in the code every
/// place where a secret leaves its wrapper. Serde sees the inner value
/// (`#[serde(transparent)]`), so token files can store it.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// Returns the secret value. Call it only where the value must leave
    /// the process (an HTTP header, a token file).
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("REDACTED")
    }
}
