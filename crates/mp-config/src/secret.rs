//! A private wrapper that keeps secrets read from the config file out of `Debug` output.
//!
//! `mp-http` owns the workspace's public `Secret<T>`, but `mp-config` depends on no other `mp`
//! crate (so that the config layer can be built, tested and reasoned about alone). This newtype
//! is therefore private: callers reach the plain text only through the `expose_*` accessors of
//! [`Account`](crate::Account), which mark the boundary just as `Secret::expose` does, and wrap
//! it in `mp_http::Secret` right away.

use std::fmt;

/// A string that prints as `REDACTED` in `Debug` and has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Redacted(String);

impl Redacted {
    pub(crate) fn new(value: String) -> Redacted {
        Redacted(value)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}
