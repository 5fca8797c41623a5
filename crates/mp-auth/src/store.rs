//! [`StateDir`]: where `mp-auth` keeps per-account state (tokens, the `/me` cache) and the OAuth
//! client registrations.
//!
//! ```text
//! <state dir>/                      0700 (usually ~/.mp; the caller decides)
//!   accounts/                       0700
//!     NAME/                         0700
//!       tokens.json                 0600  oauth_browser tokens + the client_id they belong to
//!       tokens.json.lock            0600  the refresh lock (never deleted while NAME exists)
//!       me.json                     0600  the /me cache (24 h)
//!   oauth/                          0700
//!     clients.json                  0600  dynamic client registrations per OAuth base + redirect URI
//!     clients.json.lock             0600
//! ```
//!
//! Every write goes through an atomic rename; every read refuses symlinks, non-regular files,
//! files over 1 MiB and files other users may read.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::fs::{self, FileLock};
use crate::{Error, StoredTokens, validate_account_name};

const TOKENS_FILE: &str = "tokens.json";
const ME_FILE: &str = "me.json";

/// The state directory: per-account token stores and caches, and the OAuth client registrations.
///
/// `mp-auth` never decides where it is: the caller (mp-cli) resolves the home directory and
/// passes the root in, usually `~/.mp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The state directory at `root` (created on first write, `0700`).
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/accounts/NAME`, after checking `NAME` (which keeps `..` and `/` out of paths).
    pub fn account_dir(&self, account: &str) -> Result<PathBuf, Error> {
        validate_account_name(account)?;
        Ok(self.root.join("accounts").join(account))
    }

    /// `<root>/accounts/NAME/tokens.json`.
    pub fn tokens_path(&self, account: &str) -> Result<PathBuf, Error> {
        Ok(self.account_dir(account)?.join(TOKENS_FILE))
    }

    /// `<root>/accounts/NAME/me.json`.
    pub fn me_cache_path(&self, account: &str) -> Result<PathBuf, Error> {
        Ok(self.account_dir(account)?.join(ME_FILE))
    }

    /// `<root>/oauth/clients.json`.
    pub fn registrations_path(&self) -> PathBuf {
        self.root.join("oauth").join("clients.json")
    }

    /// The stored tokens of `account`, or `None` when it has none (never logged in, or logged
    /// out).
    pub fn load_tokens(&self, account: &str) -> Result<Option<StoredTokens>, Error> {
        let path = self.tokens_path(account)?;
        let Some(bytes) = fs::read_private_file(&path)? else {
            return Ok(None);
        };
        let value = parse_json(&bytes, &path, "token file")?;
        StoredTokens::from_json(&value, &path, "token file").map(Some)
    }

    /// Stores `tokens` for `account`, under the account's refresh lock, so a save never
    /// interleaves with another process's refresh.
    pub async fn save_tokens(&self, account: &str, tokens: &StoredTokens) -> Result<(), Error> {
        let _lock = self.lock_tokens(account).await?;
        self.write_tokens_locked(account, tokens)
    }

    /// Deletes the stored tokens of `account` (`mp account logout`); returns true if and only if
    /// there were any. Takes the refresh lock, so a refresh in flight cannot write them back.
    pub async fn delete_tokens(&self, account: &str) -> Result<bool, Error> {
        let path = self.tokens_path(account)?;
        if !path.parent().is_some_and(Path::exists) {
            return Ok(false);
        }
        let _lock = self.lock_tokens(account).await?;
        fs::remove_file_if_exists(&path)
    }

    /// Deletes everything stored for `account` (`mp account remove`): tokens, lock file and the
    /// `/me` cache, so a later login that derives the same name starts clean. Returns true if and
    /// only if there was anything. A symbolic link in place of the directory is removed as a link.
    pub async fn remove_account(&self, account: &str) -> Result<bool, Error> {
        let directory = self.account_dir(account)?;
        let is_real_dir =
            std::fs::symlink_metadata(&directory).is_ok_and(|metadata| metadata.is_dir());
        // Wait for a refresh in flight to finish before pulling the directory from under it.
        let _lock = if is_real_dir {
            Some(self.lock_tokens(account).await?)
        } else {
            None
        };
        fs::remove_dir_tree(&directory)
    }

    /// Takes the account's refresh lock (creating the account directory if needed).
    pub(crate) async fn lock_tokens(&self, account: &str) -> Result<FileLock, Error> {
        let path = self.tokens_path(account)?;
        self.ensure_account_dir(account)?;
        FileLock::acquire_async(fs::lock_path_for(&path)).await
    }

    /// Writes `tokens` atomically; the caller holds the refresh lock.
    pub(crate) fn write_tokens_locked(
        &self,
        account: &str,
        tokens: &StoredTokens,
    ) -> Result<(), Error> {
        self.ensure_account_dir(account)?;
        let path = self.tokens_path(account)?;
        let bytes = serde_json::to_vec(&tokens.to_json()).map_err(|error| Error::InvalidFile {
            path: path.clone(),
            what: "token file",
            problem: format!("cannot be serialized ({})", error.classify_name()),
        })?;
        fs::write_atomic(&path, &bytes)
    }

    /// Creates `<root>`, `<root>/accounts` and `<root>/accounts/NAME`, all `0700`.
    pub(crate) fn ensure_account_dir(&self, account: &str) -> Result<PathBuf, Error> {
        let directory = self.account_dir(account)?;
        fs::create_private_dir(&self.root)?;
        fs::create_private_dir(&self.root.join("accounts"))?;
        fs::create_private_dir(&directory)?;
        Ok(directory)
    }
}

/// Parses JSON without ever quoting the file in the error (it may hold tokens).
pub(crate) fn parse_json(bytes: &[u8], path: &Path, what: &'static str) -> Result<Value, Error> {
    serde_json::from_slice(bytes).map_err(|error| Error::InvalidFile {
        path: path.to_path_buf(),
        what,
        problem: format!(
            "{} at line {}, column {}",
            error.classify_name(),
            error.line(),
            error.column()
        ),
    })
}

/// A short name for a serde_json error class that never includes the input.
pub(crate) trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "unexpected JSON value",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}
