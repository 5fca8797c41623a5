//! Careful file primitives for the token store, the `/me` cache, the client-registration cache and
//! the bridge file.
//!
//! Note that this module duplicates `mp-config`'s `fs` module (same rules, same code shape) rather
//! than depending on `mp-config`: `mp-auth` must stay usable alone by other Rust programs, with
//! `mp-http` as its only `mp` dependency, and these ~200 lines are cheaper than that coupling.
//! The rules, which both copies follow:
//!
//! - [`write_atomic`]: a temp file in the same directory (so the rename stays on one file system),
//!   `fsync`, rename, `fsync` of the directory. Files are `0600` on Unix whatever the umask.
//! - [`read_private_file`]: refuses symlinks, FIFOs, devices and directories, files over
//!   [`MAX_FILE_BYTES`], and (on Unix) files that group or others may access, the way ssh treats
//!   key files. The open itself uses `O_NOFOLLOW | O_NONBLOCK`, so a file swapped for a link or a
//!   FIFO between the `lstat` and the `open` is still refused rather than followed or blocked on.
//! - [`create_private_dir`]: `0700` directories.
//! - [`FileLock`]: an exclusive advisory lock (`flock`) on a sibling lock file, which serializes
//!   read-modify-write cycles (a token refresh, a registration) across processes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Error;

/// The largest file the readers accept: 1 MiB, far above any real token, cache or bridge file.
pub(crate) const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Replaces the file at `path` with `bytes`, atomically and durably; the file ends up `0600`.
///
/// The parent directory must exist. On error the file at `path` is left as it was and the temp
/// file is removed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let directory = parent_directory(path);
    let (temp_path, mut temp_file) = create_temp_file(path, directory)?;
    let written = (|| {
        temp_file
            .write_all(bytes)
            .map_err(|source| Error::io("write temporary file", &temp_path, source))?;
        set_private_mode(&temp_file)
            .map_err(|source| Error::io("set permissions of temporary file", &temp_path, source))?;
        // The data must be on disk before the rename makes it visible: otherwise a crash right
        // after the rename can leave an empty token file under the real name.
        temp_file
            .sync_all()
            .map_err(|source| Error::io("sync temporary file", &temp_path, source))?;
        drop(temp_file);
        fs::rename(&temp_path, path)
            .map_err(|source| Error::io("rename temporary file onto", path, source))
    })();
    if let Err(error) = written {
        // Best effort: the temp file has a unique name, so a leftover is only litter.
        let _ = fs::remove_file(&temp_path);
        return Err(error);
    }
    // A failure to sync the directory is not reported: the new content is already in place.
    sync_directory(directory);
    Ok(())
}

/// Reads a file that holds secrets or personal data; `Ok(None)` if it does not exist.
///
/// Refuses a symbolic link, anything but a regular file, a file over [`MAX_FILE_BYTES`], and (on
/// Unix) a file that group or others may access.
pub(crate) fn read_private_file(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    // `lstat` first: it reports a dangling symlink (which `open` would call "not found") and lets
    // a FIFO be refused without opening it.
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::io("read", path, source)),
    };
    if metadata.file_type().is_symlink() {
        return Err(Error::Symlink {
            path: path.to_path_buf(),
        });
    }
    if !metadata.is_file() {
        return Err(Error::NotRegularFile {
            path: path.to_path_buf(),
        });
    }
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK has no effect on reads of a regular file; it only keeps `open` from hanging
        // if the path was swapped for a FIFO after the `lstat` above.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) if is_symlink_error(&error) => {
            return Err(Error::Symlink {
                path: path.to_path_buf(),
            });
        }
        Err(source) => return Err(Error::io("read", path, source)),
    };
    // Judge the file that is actually open, not the path that was looked at.
    let metadata = file
        .metadata()
        .map_err(|source| Error::io("read", path, source))?;
    if !metadata.is_file() {
        return Err(Error::NotRegularFile {
            path: path.to_path_buf(),
        });
    }
    if let Some(mode) = permission_bits(&metadata)
        && mode & 0o077 != 0
    {
        return Err(Error::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let too_large = || Error::TooLarge {
        path: path.to_path_buf(),
        limit: MAX_FILE_BYTES,
    };
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    // Read one byte past the limit so a file that grew since the `fstat` is still caught.
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or_default());
    (&mut file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::io("read", path, source))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(Some(bytes))
}

/// Creates directory `path` and any missing parents with mode `0700` (on Unix).
///
/// Note that a directory that already exists keeps its permissions, except that a symbolic link
/// in place of the directory is refused: the account directories hold tokens, and a link would
/// send them wherever it points.
pub(crate) fn create_private_dir(path: &Path) -> Result<(), Error> {
    if let Ok(metadata) = fs::symlink_metadata(path)
        && metadata.file_type().is_symlink()
    {
        return Err(Error::Symlink {
            path: path.to_path_buf(),
        });
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|source| Error::io("create directory", path, source))
}

/// Removes the file at `path`; returns true if and only if there was one.
pub(crate) fn remove_file_if_exists(path: &Path) -> Result<bool, Error> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::io("remove", path, source)),
    }
}

/// Removes the directory tree at `path`; returns true if and only if there was one.
///
/// A symbolic link in place of the directory is removed as a link (its target is never
/// traversed): `std::fs::remove_dir_all` does not follow links, and we check the top level too.
pub(crate) fn remove_dir_tree(path: &Path) -> Result<bool, Error> {
    match fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::io("remove", path, source)),
        Ok(metadata) if metadata.file_type().is_symlink() || !metadata.is_dir() => {
            remove_file_if_exists(path)
        }
        Ok(_) => match fs::remove_dir_all(path) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(Error::io("remove", path, source)),
        },
    }
}

/// An exclusive advisory lock on a lock file, released when dropped.
///
/// The lock file is created (`0600`) if missing and never deleted while the account exists:
/// deleting it would let a process that opened the old file and one that creates a new file both
/// believe they hold the lock. The lock belongs to the open file, so two [`FileLock::acquire`]
/// calls in one process (two threads, two authenticators) also exclude each other.
#[derive(Debug)]
pub(crate) struct FileLock {
    // Held only for its lock; closing the file releases it.
    _file: File,
}

impl FileLock {
    /// Blocks the calling thread until the exclusive lock on `lock_path` is held. Call it from
    /// `tokio::task::spawn_blocking` in async code.
    pub(crate) fn acquire(lock_path: &Path) -> Result<FileLock, Error> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let file = options.open(lock_path).map_err(|source| {
            if is_symlink_error(&source) {
                Error::Symlink {
                    path: lock_path.to_path_buf(),
                }
            } else {
                Error::io("open lock file", lock_path, source)
            }
        })?;
        file.lock()
            .map_err(|source| Error::io("lock", lock_path, source))?;
        Ok(FileLock { _file: file })
    }

    /// [`FileLock::acquire`] on a blocking thread, so the async runtime keeps running other tasks
    /// while this one waits for another process.
    pub(crate) async fn acquire_async(lock_path: PathBuf) -> Result<FileLock, Error> {
        match tokio::task::spawn_blocking(move || FileLock::acquire(&lock_path)).await {
            Ok(result) => result,
            // The closure does not panic; a JoinError here means the runtime is shutting down.
            Err(join_error) => Err(Error::io(
                "lock",
                Path::new("(lock file)"),
                io::Error::other(join_error.to_string()),
            )),
        }
    }
}

/// Returns the sibling lock file of `path`: `tokens.json` → `tokens.json.lock`.
pub(crate) fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Creates `.NAME.tmp-PID-N` next to `path` with `O_EXCL` and mode `0600`.
fn create_temp_file(path: &Path, directory: &Path) -> Result<(PathBuf, File), Error> {
    // The counter makes names unique within the process, the pid across processes; a name left
    // behind by a crashed process with the same pid is skipped thanks to `create_new`.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut attempts = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp_path = directory.join(format!(".{file_name}.tmp-{}-{n}", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&temp_path) {
            Ok(file) => return Ok((temp_path, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                attempts += 1;
            }
            Err(source) => return Err(Error::io("create temporary file", &temp_path, source)),
        }
    }
}

#[cfg(unix)]
fn set_private_mode(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // `mode(0o600)` at creation is filtered by the umask; `fchmod` makes it exact.
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private_mode(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_directory(directory: &Path) {
    if let Ok(directory) = File::open(directory) {
        let _ = directory.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_directory(_directory: &Path) {}

#[cfg(unix)]
fn permission_bits(metadata: &fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(metadata.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn permission_bits(_metadata: &fs::Metadata) -> Option<u32> {
    None
}

#[cfg(unix)]
fn is_symlink_error(error: &io::Error) -> bool {
    // `open` with O_NOFOLLOW on a symlink fails with ELOOP.
    error.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_symlink_error(_error: &io::Error) -> bool {
    false
}
