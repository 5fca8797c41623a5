//! The two discovery caches: one in memory for the life of a [`crate::Discovery`], and an optional one on disk
//! ([`DiskCache`]) that lets separate CLI runs share answers for a short while.
//!
//! Both store Mixpanel's answer (the raw JSON) under a key made of the query host, project, workspace, endpoint and
//! parameters, so a client pointed at another project or workspace never reads another's entries. A cache is an
//! optimisation and never a reason to fail: a disk entry that cannot be read, parsed or written is logged at debug
//! level and treated as a miss.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use mp_http::Clock;

/// A time-to-live that suits the CLI: long enough for a script that calls `mp inspect` many times in a row, short
/// enough that a new event shows up within minutes. Mixpanel's Lexicon endpoints allow 5 requests per minute, and
/// its Query API 60 per hour.
pub const DEFAULT_DISK_CACHE_TTL: Duration = Duration::from_secs(300);

/// The in-memory cache of one [`crate::Discovery`] and its clones; a switch of project, workspace or account starts
/// a new one.
#[derive(Debug, Default)]
pub(crate) struct MemoryCache {
    entries: Mutex<HashMap<String, Value>>,
}

impl MemoryCache {
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        self.lock().get(key).cloned()
    }

    pub(crate) fn put(&self, key: &str, value: &Value) {
        self.lock().insert(key.to_owned(), value.clone());
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Value>> {
        // A panic while holding the lock cannot leave the map half-written (every operation is one call), so a
        // poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Discovery answers kept on disk for a short time, shared by every process that uses the same directory.
///
/// One JSON file per answer, named by a hash of its key, written atomically (a temporary file in the same directory,
/// then a rename), readable by the owner only on Unix. Entries are fresh for `ttl` after they were written, by the
/// given clock; a file whose key differs (a hash collision) or that cannot be parsed is a miss.
///
/// Note that the key does not name the account: the caller chooses a directory per account (credentials can differ
/// in what they may see), for example `~/.cache/mp/<account>/discovery`.
#[derive(Debug, Clone)]
pub struct DiskCache {
    directory: PathBuf,
    ttl: Duration,
    clock: Arc<dyn Clock>,
}

/// What one cache file holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct DiskEntry {
    key: String,
    /// Unix seconds, by the cache's clock.
    stored_at: u64,
    value: Value,
}

impl DiskCache {
    /// A cache in `directory` (created on first write), whose entries stay fresh for `ttl` by `clock`.
    pub fn new(directory: impl Into<PathBuf>, ttl: Duration, clock: Arc<dyn Clock>) -> DiskCache {
        DiskCache {
            directory: directory.into(),
            ttl,
            clock,
        }
    }

    /// Where the entries live.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// How long an entry stays fresh.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Deletes every entry. A missing directory is already clear.
    pub fn clear(&self) -> std::io::Result<()> {
        let entries = match fs::read_dir(&self.directory) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        for entry in entries {
            let path = entry?.path();
            if path
                .extension()
                .is_some_and(|extension| extension == "json")
            {
                fs::remove_file(path)?;
            }
        }
        Ok(())
    }

    fn now_seconds(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs())
    }

    fn path_of(&self, key: &str) -> PathBuf {
        self.directory.join(format!("{:016x}.json", fnv1a_64(key)))
    }

    /// The fresh entry for `key`, if any.
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        let path = self.path_of(key);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::debug!(path = %path.display(), %error, "discovery cache entry unreadable");
                }
                return None;
            }
        };
        let entry: DiskEntry = match serde_json::from_slice(&bytes) {
            Ok(entry) => entry,
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "discovery cache entry is not valid");
                return None;
            }
        };
        if entry.key != key {
            return None;
        }
        let now = self.now_seconds();
        let ttl = self.ttl.as_secs();
        // An entry from the future (the clock went back) is as suspect as an old one.
        let fresh = entry.stored_at <= now && now - entry.stored_at < ttl;
        if !fresh {
            tracing::debug!(path = %path.display(), "discovery cache entry expired");
            return None;
        }
        Some(entry.value)
    }

    /// Stores `value` under `key`; failures are logged and otherwise ignored.
    pub(crate) fn put(&self, key: &str, value: &Value) {
        let entry = DiskEntry {
            key: key.to_owned(),
            stored_at: self.now_seconds(),
            value: value.clone(),
        };
        if let Err(error) = self.write(&self.path_of(key), &entry) {
            tracing::debug!(directory = %self.directory.display(), %error, "discovery cache entry not written");
        }
    }

    fn write(&self, path: &Path, entry: &DiskEntry) -> std::io::Result<()> {
        create_private_dir(&self.directory)?;
        let bytes = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        // A unique temporary name per write, so concurrent writers of the same entry never interleave.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let temporary = self.directory.join(format!(
            ".{}.{}.{}.tmp",
            path.file_name()
                .and_then(|name| name.to_str())
                .unwrap_or("entry"),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut file = create_private_file(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&temporary, path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        result
    }
}

#[cfg(unix)]
fn create_private_dir(directory: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(directory)
}

#[cfg(not(unix))]
fn create_private_dir(directory: &Path) -> std::io::Result<()> {
    fs::create_dir_all(directory)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// FNV-1a, 64 bits: a stable file name for a key (the key itself is stored and checked, so a collision is a miss,
/// never a wrong answer).
fn fnv1a_64(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use mp_http::VirtualClock;
    use serde_json::json;

    use super::*;

    #[test]
    fn entries_expire_after_the_ttl_by_the_given_clock() {
        let directory = tempfile::tempdir().unwrap();
        let clock = Arc::new(VirtualClock::new(
            UNIX_EPOCH + Duration::from_secs(1_000_000),
        ));
        let cache = DiskCache::new(
            directory.path().join("d"),
            Duration::from_secs(60),
            clock.clone(),
        );
        assert_eq!(cache.get("k"), None);
        cache.put("k", &json!(["a"]));
        assert_eq!(cache.get("k"), Some(json!(["a"])));
        assert_eq!(cache.get("other"), None);
        clock.advance(Duration::from_secs(59));
        assert_eq!(cache.get("k"), Some(json!(["a"])));
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.get("k"), None);
        // A later write refreshes the entry.
        cache.put("k", &json!(["b"]));
        assert_eq!(cache.get("k"), Some(json!(["b"])));
        cache.clear().unwrap();
        assert_eq!(cache.get("k"), None);
    }

    #[test]
    fn unreadable_or_foreign_files_are_misses() {
        let directory = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(SystemTime::UNIX_EPOCH));
        let cache = DiskCache::new(directory.path(), Duration::from_secs(60), clock);
        fs::write(cache.path_of("k"), b"not json").unwrap();
        assert_eq!(cache.get("k"), None);
        let foreign = DiskEntry {
            key: "another key".to_owned(),
            stored_at: 0,
            value: json!(1),
        };
        fs::write(cache.path_of("k"), serde_json::to_vec(&foreign).unwrap()).unwrap();
        assert_eq!(cache.get("k"), None);
        // A file in the way of the directory makes writes fail quietly.
        let blocked = DiskCache::new(
            cache.path_of("k").join("sub"),
            Duration::from_secs(60),
            Arc::new(VirtualClock::new(SystemTime::UNIX_EPOCH)),
        );
        blocked.put("k", &json!(1));
        assert_eq!(blocked.get("k"), None);
    }

    #[cfg(unix)]
    #[test]
    fn entries_are_private_to_the_owner() {
        use std::os::unix::fs::PermissionsExt as _;
        let directory = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(SystemTime::UNIX_EPOCH));
        let cache = DiskCache::new(
            directory.path().join("cache"),
            Duration::from_secs(60),
            clock,
        );
        cache.put("k", &json!(1));
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(cache.directory()), 0o700);
        assert_eq!(mode(&cache.path_of("k")), 0o600);
    }
}
