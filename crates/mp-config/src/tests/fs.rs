//! The file primitives that mp-auth's token store will share.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;

use crate::{Error, FileLock, create_private_dir, read_private_file, write_atomic};

fn mode(path: &std::path::Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn write_atomic_creates_a_private_file_and_replaces_content() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("tokens.json");
    write_atomic(&path, b"first").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"first");
    assert_eq!(mode(&path), 0o600);

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    write_atomic(&path, b"second").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second");
    assert_eq!(mode(&path), 0o600);
    let names: Vec<_> = fs::read_dir(temp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["tokens.json"],
        "no temporary file may be left behind"
    );
}

#[test]
fn write_atomic_replaces_a_symlink_instead_of_following_it() {
    let temp = tempfile::tempdir().unwrap();
    let elsewhere = temp.path().join("elsewhere");
    fs::write(&elsewhere, "untouched").unwrap();
    let path = temp.path().join("config.toml");
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    write_atomic(&path, b"new").unwrap();
    assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "untouched");
    assert!(fs::symlink_metadata(&path).unwrap().is_file());
    assert_eq!(fs::read_to_string(&path).unwrap(), "new");
}

#[test]
fn write_atomic_into_a_missing_directory_fails_cleanly() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("missing").join("config.toml");
    let error = write_atomic(&path, b"x").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Io {
                action: "create temporary file",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("could not create temporary file `")
    );
    assert!(
        std::error::Error::source(&error).is_some(),
        "the io::Error stays in the chain"
    );
}

#[test]
fn read_private_file_applies_the_ssh_rules() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("tokens.json");
    assert_eq!(read_private_file(&path).unwrap(), None);

    write_atomic(&path, b"{}").unwrap();
    assert_eq!(read_private_file(&path).unwrap().unwrap(), b"{}");

    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let error = read_private_file(&path).unwrap_err();
    assert!(
        matches!(error, Error::InsecurePermissions { mode: 0o640, .. }),
        "{error:?}"
    );

    let link = temp.path().join("link.json");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    assert!(matches!(
        read_private_file(&link),
        Err(Error::Symlink { .. })
    ));
}

#[test]
fn create_private_dir_makes_every_missing_level_private() {
    let temp = tempfile::tempdir().unwrap();
    let nested = temp.path().join("a").join("b");
    create_private_dir(&nested).unwrap();
    assert_eq!(mode(&temp.path().join("a")), 0o700);
    assert_eq!(mode(&nested), 0o700);
    // Calling it again is fine.
    create_private_dir(&nested).unwrap();
}

#[test]
fn file_lock_is_exclusive_until_dropped() {
    let temp = tempfile::tempdir().unwrap();
    let lock_path = temp.path().join("config.toml.lock");
    let lock = FileLock::acquire(&lock_path).unwrap();
    assert_eq!(lock.path(), lock_path);
    assert_eq!(mode(&lock_path), 0o600);

    let other = File::open(&lock_path).unwrap();
    assert!(matches!(
        other.try_lock(),
        Err(fs::TryLockError::WouldBlock)
    ));
    drop(lock);
    other.try_lock().unwrap();
    drop(other);
    // The lock file stays: deleting it would break the exclusion for processes holding it open.
    assert!(lock_path.exists());
    drop(FileLock::acquire(&lock_path).unwrap());
}
