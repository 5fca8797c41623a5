//! `ConfigStore` against real files in temporary directories.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::tests::HAND_EDITED;
use crate::{Account, ConfigStore, Error, MAX_FILE_BYTES, Region, Target};

struct Fixture {
    // Kept for its Drop, which deletes the directory.
    _temp: tempfile::TempDir,
    directory: PathBuf,
    path: PathBuf,
}

impl Fixture {
    /// A `.mp` directory (not created yet) inside a fresh temporary directory.
    fn new() -> Fixture {
        let temp = tempfile::tempdir().unwrap();
        let directory = temp.path().join(".mp");
        let path = directory.join("config.toml");
        Fixture {
            _temp: temp,
            directory,
            path,
        }
    }

    /// Writes `text` as the config file with permissions `mode`.
    fn with_file(text: &str, mode: u32) -> Fixture {
        let fixture = Fixture::new();
        fs::create_dir_all(&fixture.directory).unwrap();
        fs::write(&fixture.path, text).unwrap();
        fs::set_permissions(&fixture.path, fs::Permissions::from_mode(mode)).unwrap();
        fixture
    }

    fn store(&self) -> ConfigStore {
        ConfigStore::new(&self.path)
    }

    fn content(&self) -> String {
        fs::read_to_string(&self.path).unwrap()
    }

    /// Names in the directory other than the config and lock files (temp files, say).
    fn litter(&self) -> Vec<String> {
        fs::read_dir(&self.directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "config.toml" && name != "config.toml.lock")
            .collect()
    }
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

fn add_browser_account(store: &ConfigStore, name: &str) -> Result<(), Error> {
    let account = Account::oauth_browser(name, Region::Us).unwrap();
    store.edit(|doc| doc.add_account(&account))
}

#[test]
fn a_missing_file_loads_as_empty() {
    let fixture = Fixture::new();
    let loaded = fixture.store().load().unwrap();
    assert!(loaded.config.accounts().is_empty());
    assert!(loaded.warnings.is_empty());
    assert!(!fixture.directory.exists(), "load must not create anything");
}

#[test]
fn the_first_edit_creates_a_private_directory_and_file() {
    let fixture = Fixture::new();
    let store = fixture.store();
    let account = Account::service_account("team", Region::Us, "u", "s".to_owned()).unwrap();
    store
        .edit(|doc| {
            doc.add_account(&account)?;
            doc.set_active_account("team")
        })
        .unwrap();
    assert_eq!(mode(&fixture.directory), 0o700);
    assert_eq!(mode(&fixture.path), 0o600);
    assert_eq!(mode(&store.lock_path()), 0o600);
    // `[active]` was added second but goes first, where people look for it.
    assert_eq!(
        fixture.content(),
        "[active]\naccount = \"team\"\n\n[accounts.team]\ntype = \"service_account\"\nregion = \"us\"\nusername = \"u\"\nsecret = \"s\"\n"
    );
    assert_eq!(store.load().unwrap().config.active_account(), Some("team"));
    assert!(fixture.litter().is_empty(), "{:?}", fixture.litter());
}

#[test]
fn an_existing_directory_keeps_its_permissions() {
    let fixture = Fixture::new();
    fs::create_dir_all(&fixture.directory).unwrap();
    fs::set_permissions(&fixture.directory, fs::Permissions::from_mode(0o755)).unwrap();
    add_browser_account(&fixture.store(), "a").unwrap();
    assert_eq!(mode(&fixture.directory), 0o755);
    assert_eq!(mode(&fixture.path), 0o600);
}

#[test]
fn edits_keep_the_hand_edited_text() {
    let fixture = Fixture::with_file(HAND_EDITED, 0o600);
    let store = fixture.store();
    let target = Target::new("beta", "ci", "5", None).unwrap();
    store.edit(|doc| doc.add_target(&target)).unwrap();
    store.edit(|doc| doc.remove_target("beta")).unwrap();
    assert_eq!(fixture.content(), HAND_EDITED);
}

#[test]
fn a_failed_edit_leaves_the_file_as_it_was() {
    let fixture = Fixture::with_file(HAND_EDITED, 0o600);
    let store = fixture.store();
    let inode = fs::metadata(&fixture.path).unwrap().ino();
    // The first operation succeeds in memory, the second fails: nothing may reach the disk.
    let error = store
        .edit(|doc| {
            doc.set_active_workspace(1)?;
            doc.remove_target("missing")
        })
        .unwrap_err();
    assert!(matches!(error, Error::TargetNotFound { .. }));
    assert_eq!(fixture.content(), HAND_EDITED);
    assert_eq!(fs::metadata(&fixture.path).unwrap().ino(), inode);
    assert!(fixture.litter().is_empty());
}

#[test]
fn a_caller_error_type_passes_through() {
    #[derive(Debug)]
    enum CliError {
        Config(Error),
        Declined,
    }
    impl From<Error> for CliError {
        fn from(error: Error) -> CliError {
            CliError::Config(error)
        }
    }
    let fixture = Fixture::with_file(HAND_EDITED, 0o600);
    let result: Result<(), CliError> = fixture.store().edit(|doc| {
        doc.clear_active_account()?;
        Err(CliError::Declined)
    });
    assert!(matches!(result, Err(CliError::Declined)));
    let result: Result<(), CliError> = fixture.store().edit(|doc| Ok(doc.remove_target("x")?));
    assert!(matches!(
        result,
        Err(CliError::Config(Error::TargetNotFound { .. }))
    ));
    assert_eq!(fixture.content(), HAND_EDITED);
}

#[test]
fn an_edit_that_changes_nothing_does_not_write() {
    let fixture = Fixture::with_file(HAND_EDITED, 0o600);
    let inode = fs::metadata(&fixture.path).unwrap().ino();
    fixture
        .store()
        .edit(|doc| doc.set_active_account("team").map(drop))
        .unwrap();
    assert_eq!(fs::metadata(&fixture.path).unwrap().ino(), inode);
}

#[test]
fn a_malformed_file_is_reported_with_its_location_and_never_overwritten() {
    let text = "[active]\naccount = \"team\n";
    let fixture = Fixture::with_file(text, 0o600);
    let store = fixture.store();
    let expected = format!(
        "{}:2:16: invalid TOML: invalid basic string",
        fixture.path.display()
    );
    assert_eq!(store.load().unwrap_err().to_string(), expected);
    let error = add_browser_account(&store, "a").unwrap_err();
    assert_eq!(error.to_string(), expected);
    assert_eq!(fixture.content(), text);
}

#[test]
fn an_invalid_file_is_never_edited() {
    let text = "[accounts.a]\ntype = \"oauth_browser\"\nregion = \"moon\"\n";
    let fixture = Fixture::with_file(text, 0o600);
    let error = add_browser_account(&fixture.store(), "b").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:3:10: `accounts.a.region` must be one of `us`, `eu`, `in`, found `moon`",
            fixture.path.display()
        )
    );
    assert_eq!(fixture.content(), text);
}

#[test]
fn a_file_that_is_not_utf8_is_a_syntax_error() {
    let fixture = Fixture::with_file("", 0o600);
    fs::write(&fixture.path, b"# ok\n# caf\xe9\n").unwrap();
    let error = fixture.store().load().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:2:6: invalid TOML: the file is not valid UTF-8",
            fixture.path.display()
        )
    );
}

#[test]
fn symlinks_are_refused_for_reads_and_edits() {
    let fixture = Fixture::new();
    fs::create_dir_all(&fixture.directory).unwrap();
    let real = fixture.directory.join("real.toml");
    fs::write(&real, "").unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&real, &fixture.path).unwrap();
    let store = fixture.store();

    let error = store.load().unwrap_err();
    assert!(matches!(error, Error::Symlink { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "refusing to read `{}`: it is a symbolic link",
            fixture.path.display()
        )
    );
    assert!(add_browser_account(&store, "a").is_err());
    assert!(
        fs::symlink_metadata(&fixture.path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), "");

    // A dangling link is refused too, rather than read as "no file yet".
    fs::remove_file(&real).unwrap();
    assert!(matches!(store.load(), Err(Error::Symlink { .. })));
    assert!(matches!(
        add_browser_account(&store, "a"),
        Err(Error::Symlink { .. })
    ));
}

#[test]
fn non_regular_files_are_refused() {
    let fixture = Fixture::new();
    fs::create_dir_all(fixture.path.clone()).unwrap();
    let error = fixture.store().load().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "refusing to read `{}`: it is not a regular file",
            fixture.path.display()
        )
    );

    let fifo = fixture.directory.join("fifo.toml");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Opening a FIFO for reading would block until a writer came; it must be refused first.
    let error = ConfigStore::new(&fifo).load().unwrap_err();
    assert!(matches!(error, Error::NotRegularFile { .. }), "{error:?}");
}

#[test]
fn files_over_one_mebibyte_are_refused() {
    let limit = usize::try_from(MAX_FILE_BYTES).unwrap();
    let mut text = String::from("[accounts.a]\ntype = \"oauth_browser\"\nregion = \"us\"\n");
    let line = format!("#{}\n", "x".repeat(99));
    while text.len() + line.len() <= limit {
        text.push_str(&line);
    }
    text.push_str(&"#".repeat(limit - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), limit);
    let fixture = Fixture::with_file(&text, 0o600);
    assert!(
        fixture
            .store()
            .load()
            .unwrap()
            .config
            .account("a")
            .is_some()
    );

    text.push('\n');
    fs::write(&fixture.path, &text).unwrap();
    let error = fixture.store().load().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "refusing to read `{}`: it is larger than 1048576 bytes",
            fixture.path.display()
        )
    );
    assert!(matches!(
        add_browser_account(&fixture.store(), "b"),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn secrets_readable_by_others_are_refused_with_a_chmod_hint() {
    let secret_file = "[accounts.sa]\ntype = \"service_account\"\nregion = \"us\"\nusername = \"u\"\nsecret = \"s\"\n";
    let token_file = "[accounts.t]\ntype = \"oauth_token\"\nregion = \"us\"\ntoken = \"ey\"\n";
    for (text, file_mode) in [
        (secret_file, 0o644),
        (secret_file, 0o604),
        (token_file, 0o640),
    ] {
        let fixture = Fixture::with_file(text, file_mode);
        let error = fixture.store().load().unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "refusing to read `{}`: it holds secrets and is readable by group or others (mode {file_mode:03o})",
                fixture.path.display()
            )
        );
        assert_eq!(
            error.hint().unwrap(),
            format!("run `chmod 600 {}`", fixture.path.display())
        );
        assert!(matches!(
            add_browser_account(&fixture.store(), "b"),
            Err(Error::InsecurePermissions { .. })
        ));
        assert_eq!(fixture.content(), text);
        assert_eq!(mode(&fixture.path), file_mode);
    }
}

#[test]
fn a_file_without_secrets_may_be_readable_and_becomes_private_when_written() {
    let text = "[accounts.me]\ntype = \"oauth_browser\"\nregion = \"us\"\n[accounts.ci]\ntype = \"oauth_token\"\nregion = \"us\"\ntoken_env = \"MP_TOKEN\"\n";
    let fixture = Fixture::with_file(text, 0o644);
    let store = fixture.store();
    assert_eq!(store.load().unwrap().config.accounts().len(), 2);
    add_browser_account(&store, "other").unwrap();
    assert_eq!(mode(&fixture.path), 0o600);
}

#[test]
fn load_reports_warnings_with_the_file_path() {
    let fixture = Fixture::with_file(HAND_EDITED, 0o600);
    let warnings = fixture.store().load().unwrap().warnings;
    assert_eq!(warnings.len(), 2);
    assert_eq!(warnings[0].path(), fixture.path);
    assert_eq!((warnings[0].line(), warnings[0].column()), (15, 1));
    assert_eq!(
        warnings[0].message(),
        "unknown key `accounts.team.colour` is ignored"
    );
}

#[test]
fn threads_of_one_process_do_not_lose_edits() {
    let fixture = Fixture::new();
    let store = fixture.store();
    add_browser_account(&store, "a").unwrap();
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let store = store.clone();
            scope.spawn(move || {
                for edit in 0..10 {
                    let target = Target::new(&format!("t{thread}-{edit}"), "a", "1", None).unwrap();
                    store.edit(|doc| doc.add_target(&target)).unwrap();
                }
            });
        }
    });
    assert_eq!(store.load().unwrap().config.targets().len(), 40);
}
