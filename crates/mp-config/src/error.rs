//! The one error type of `mp-config`, and the hints that go with it.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while reading, validating, editing or writing the config file.
///
/// Each variant names what failed. The `Display` text is one line without a trailing period,
/// with names in backticks; [`Error::hint`] gives the suggestion to print after it.
/// I/O failures keep the [`io::Error`] as their `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call on a file or directory failed.
    #[error("could not {action} `{}`", path.display())]
    Io {
        /// What was being done, as a verb phrase: "read", "create directory", "rename temporary file onto", ...
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The path is a symbolic link; credential files are only read through their real path.
    #[error("refusing to read `{}`: it is a symbolic link", path.display())]
    Symlink {
        /// The path that is a link.
        path: PathBuf,
    },

    /// The path is a directory, FIFO, socket or device rather than a regular file.
    #[error("refusing to read `{}`: it is not a regular file", path.display())]
    NotRegularFile {
        /// The offending path.
        path: PathBuf,
    },

    /// The file is larger than [`MAX_FILE_BYTES`](crate::MAX_FILE_BYTES).
    #[error("refusing to read `{}`: it is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The offending path.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },

    /// The file holds secrets but group or others may read it.
    #[error(
        "refusing to read `{}`: it holds secrets and is readable by group or others (mode {mode:03o})",
        path.display()
    )]
    InsecurePermissions {
        /// The offending path.
        path: PathBuf,
        /// The permission bits found (`0o644`, ...).
        mode: u32,
    },

    /// The file is not valid UTF-8 TOML.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file (or the name the text was given).
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What was wrong and what was expected.
        message: String,
    },

    /// The file is valid TOML but does not follow the config schema.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file (or the name the text was given).
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column (in characters) of the offending key or value.
        column: usize,
        /// What was wrong and what was expected.
        message: String,
    },

    /// An edit produced a document that no longer validates; the file was left as it was.
    ///
    /// Note that the edit operations of [`ConfigDocument`](crate::ConfigDocument) keep a valid
    /// document valid, so this signals a bug in `mp-config` rather than a user mistake.
    #[error("edit would leave `{}` invalid", path.display())]
    InvalidEdit {
        /// The config file that was not written.
        path: PathBuf,
        /// The validation error of the edited text.
        #[source]
        source: Box<Error>,
    },

    /// An account name does not match `^[A-Za-z0-9_-]{1,64}$`.
    #[error(
        "invalid account name `{name}`: expected 1 to 64 characters from `A-Z`, `a-z`, `0-9`, `_` and `-`"
    )]
    InvalidAccountName {
        /// The rejected name.
        name: String,
    },

    /// A target name does not match `^[A-Za-z0-9_-]{1,64}$`.
    #[error(
        "invalid target name `{name}`: expected 1 to 64 characters from `A-Z`, `a-z`, `0-9`, `_` and `-`"
    )]
    InvalidTargetName {
        /// The rejected name.
        name: String,
    },

    /// A value passed to a constructor or an edit is not acceptable.
    #[error("invalid `{key}`: {message}")]
    InvalidValue {
        /// The config key the value was meant for (`default_project`, `workspace`, ...).
        key: &'static str,
        /// What was wrong and what was expected.
        message: String,
    },

    /// An account with this name already exists.
    #[error("account `{name}` already exists")]
    AccountExists {
        /// The name.
        name: String,
    },

    /// No account with this name exists.
    #[error("account `{name}` not found")]
    AccountNotFound {
        /// The name asked for.
        name: String,
        /// The names that do exist, in file order.
        available: Vec<String>,
    },

    /// The account cannot be removed because targets refer to it.
    #[error("account `{name}` is used by {}", list_targets(targets))]
    AccountInUse {
        /// The account.
        name: String,
        /// The targets that refer to it, in file order.
        targets: Vec<String>,
    },

    /// A target with this name already exists.
    #[error("target `{name}` already exists")]
    TargetExists {
        /// The name.
        name: String,
    },

    /// No target with this name exists.
    #[error("target `{name}` not found")]
    TargetNotFound {
        /// The name asked for.
        name: String,
        /// The names that do exist, in file order.
        available: Vec<String>,
    },

    /// A part of the document has a shape the edit cannot work with (for example `accounts`
    /// is not a table).
    ///
    /// Note that documents are validated before they are edited, so this is not expected to
    /// happen; it exists so that an edit never overwrites data it does not understand.
    #[error("cannot edit `{key}`: it is not {expected}")]
    UnexpectedShape {
        /// The dotted key path concerned.
        key: String,
        /// What the edit needed, with an article ("a table").
        expected: &'static str,
    },
}

impl Error {
    /// Returns the suggestion to show the user after the error, if there is a useful one.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            Error::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                "check the owner and permissions of the file and its directory".to_owned()
            }
            Error::Io { .. } => return None,
            Error::Symlink { .. } => {
                "point mp at the real file rather than at a link to it".to_owned()
            }
            Error::NotRegularFile { .. } => "the config path must name a regular file".to_owned(),
            Error::TooLarge { path, .. } => format!(
                "a config file is a few kilobytes; check that `{}` is the file you meant",
                path.display()
            ),
            Error::InsecurePermissions { path, .. } => {
                format!("run `chmod 600 {}`", path.display())
            }
            Error::Syntax { path, .. } | Error::Invalid { path, .. } => format!(
                "fix `{}` by hand; mp does not edit a file it cannot read",
                path.display()
            ),
            Error::InvalidEdit { .. } => "this is a bug in mp; the file was not changed".to_owned(),
            Error::InvalidAccountName { .. } | Error::InvalidTargetName { .. } => {
                "use letters, digits, `_` and `-`, at most 64 characters".to_owned()
            }
            Error::InvalidValue { .. } => return None,
            Error::AccountExists { name } => {
                format!("choose another name, or remove account `{name}` first")
            }
            Error::AccountNotFound { available, .. } => {
                if available.is_empty() {
                    "no accounts are configured yet; add one first".to_owned()
                } else {
                    format!("configured accounts: {}", list_names(available))
                }
            }
            Error::AccountInUse { targets, .. } => format!(
                "remove {} first, or remove the account together with its targets",
                list_targets(targets)
            ),
            Error::TargetExists { name } => {
                format!("choose another name, or remove target `{name}` first")
            }
            Error::TargetNotFound { available, .. } => {
                if available.is_empty() {
                    "no targets are configured yet".to_owned()
                } else {
                    format!("configured targets: {}", list_names(available))
                }
            }
            Error::UnexpectedShape { .. } => {
                "fix the file by hand; the edit was not applied".to_owned()
            }
        };
        Some(hint)
    }
}

/// Formats names as a comma-separated list, each in backticks.
fn list_names(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Formats "target `a`" or "targets `a`, `b`".
fn list_targets(targets: &[String]) -> String {
    let noun = if targets.len() == 1 {
        "target"
    } else {
        "targets"
    };
    format!("{noun} {}", list_names(targets))
}
