//! Careful file primitives shared by the config store and (later) mp-auth's token store.
//!
//! - [`write_atomic`] replaces a file so that readers see the old bytes or the new bytes, never
//!   a mix, and a crash leaves one or the other: temp file in the same directory (so the rename
//!   stays on one file system), `fsync`, rename, `fsync` of the directory (so the rename itself
//!   is durable). New files are `0600` on Unix.
//! - [`read_private_file`] (and the crate's config reader) refuse symlinks, FIFOs, devices and
//!   directories, and files over [`MAX_FILE_BYTES`], the way ssh treats key files. On Unix the
//!   open itself uses `O_NOFOLLOW | O_NONBLOCK`, so a file swapped for a link or a FIFO between
//!   the `lstat` and the `open` is still refused rather than followed or blocked on.
//! - [`FileLock`] is an exclusive advisory lock (`flock`) on a sibling lock file, which
//!   serializes read-modify-write cycles across processes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;

/// The largest file the readers accept: 1 MiB, far above any real config or token file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A file read by [`read_checked`], with the permission bits that were found.
#[derive(Debug)]
pub(crate) struct CheckedFile {
    pub(crate) bytes: Vec<u8>,
    /// The `0o777` permission bits; `None` where the platform has none (Windows).
    pub(crate) mode: Option<u32>,
}

impl CheckedFile {
    /// Returns true if and only if group or others have any permission on the file.
    pub(crate) fn is_group_or_world_accessible(&self) -> bool {
        self.mode.is_some_and(|mode| mode & 0o077 != 0)
    }
}

/// Replaces the file at `path` with `bytes`, atomically and durably.
///
/// The parent directory must exist. On Unix the file ends up with mode `0600` whatever the
/// umask. If `path` is a symbolic link, the link itself is replaced (its target is untouched).
/// On error the file at `path` is left as it was and the temp file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let directory = parent_directory(path);
    let (temp_path, mut temp_file) = create_temp_file(path, directory)?;
    let written = (|| {
        temp_file.write_all(bytes).map_err(|source| Error::Io {
            action: "write temporary file",
            path: temp_path.clone(),
            source,
        })?;
        set_private_mode(&temp_file).map_err(|source| Error::Io {
            action: "set permissions of temporary file",
            path: temp_path.clone(),
            source,
        })?;
        // The data must be on disk before the rename makes it visible: otherwise a crash right
        // after the rename can leave an empty file under the real name.
        temp_file.sync_all().map_err(|source| Error::Io {
            action: "sync temporary file",
            path: temp_path.clone(),
            source,
        })?;
        drop(temp_file);
        fs::rename(&temp_path, path).map_err(|source| Error::Io {
            action: "rename temporary file onto",
            path: path.to_path_buf(),
            source,
        })
    })();
    if let Err(error) = written {
        // Best effort: the temp file has a unique name, so a leftover is only litter.
        let _ = fs::remove_file(&temp_path);
        return Err(error);
    }
    // The rename is durable once the directory entry is on disk. A failure here is not reported:
    // the new content is already in place, and an error would wrongly say the write failed.
    sync_directory(directory);
    Ok(())
}

/// Reads a file that holds secrets, refusing anything ssh would refuse for a key file.
///
/// Returns `Ok(None)` if the file does not exist. Refuses a symbolic link, anything but a
/// regular file, a file over [`MAX_FILE_BYTES`], and (on Unix) a file that group or others may
/// access ([`Error::InsecurePermissions`], whose hint says `chmod 600 <path>`).
pub fn read_private_file(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    let Some(file) = read_checked(path)? else {
        return Ok(None);
    };
    if file.is_group_or_world_accessible() {
        return Err(Error::InsecurePermissions {
            path: path.to_path_buf(),
            mode: file.mode.unwrap_or_default(),
        });
    }
    Ok(Some(file.bytes))
}

/// Creates directory `path` and any missing parents with mode `0700` (on Unix).
///
/// Note that a directory that already exists keeps its permissions: `mp` may be pointed at a
/// config file in a directory it does not own the policy of (a project folder, a CI workspace),
/// and tightening that behind the user's back would be a surprise.
pub fn create_private_dir(path: &Path) -> Result<(), Error> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).map_err(|source| Error::Io {
        action: "create directory",
        path: path.to_path_buf(),
        source,
    })
}

/// An exclusive advisory lock on a lock file, released when dropped.
///
/// The lock file is created (`0600`) if missing and never deleted: deleting it would let a
/// process that opened the old file and one that creates a new file both believe they hold the
/// lock. The lock is per open file, so it also serializes threads of one process that each
/// call [`FileLock::acquire`].
#[derive(Debug)]
pub struct FileLock {
    // Held only for its lock; closing the file releases it.
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// Blocks until the exclusive lock on `lock_path` is held.
    pub fn acquire(lock_path: &Path) -> Result<FileLock, Error> {
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
                Error::Io {
                    action: "open lock file",
                    path: lock_path.to_path_buf(),
                    source,
                }
            }
        })?;
        file.lock().map_err(|source| Error::Io {
            action: "lock",
            path: lock_path.to_path_buf(),
            source,
        })?;
        Ok(FileLock {
            _file: file,
            path: lock_path.to_path_buf(),
        })
    }

    /// Returns the path of the lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Returns the sibling lock file of `path`: `config.toml` → `config.toml.lock`.
pub(crate) fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Reads `path` if it is a regular file of at most [`MAX_FILE_BYTES`]; `Ok(None)` if missing.
pub(crate) fn read_checked(path: &Path) -> Result<Option<CheckedFile>, Error> {
    // `lstat` first: it reports a dangling symlink (which `open` would call "not found") and
    // lets a FIFO be refused without opening it.
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            });
        }
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
        // O_NONBLOCK has no effect on reads of a regular file; it only keeps `open` from
        // hanging if the path was swapped for a FIFO after the `lstat` above.
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
        Err(source) => {
            return Err(Error::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    // Judge the file that is actually open, not the path that was looked at.
    let metadata = file.metadata().map_err(|source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(Error::NotRegularFile {
            path: path.to_path_buf(),
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
        .map_err(|source| Error::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(Some(CheckedFile {
        bytes,
        mode: permission_bits(&metadata),
    }))
}

fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Creates `.NAME.tmp-PID-N` next to `path` with `O_EXCL` and mode `0600`.
fn create_temp_file(path: &Path, directory: &Path) -> Result<(PathBuf, File), Error> {
    // The counter makes names unique within the process, the pid across processes; a name
    // left behind by a crashed process with the same pid is skipped thanks to `create_new`.
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
            Err(source) => {
                return Err(Error::Io {
                    action: "create temporary file",
                    path: temp_path,
                    source,
                });
            }
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
