//! [`ConfigStore`]: the config file on disk, read safely and edited under a lock.
//!
//! # The edit cycle
//!
//! ```text
//! create the directory (0700) if missing
//! lock `config.toml.lock` (exclusive, blocking)
//!   read `config.toml` (refusing links, non-files, > 1 MiB, exposed secrets)
//!   parse + validate it           -> any error: stop, the file is untouched
//!   apply the caller's edit       -> error: stop, the file is untouched
//!   render; unchanged?            -> stop, nothing written
//!   validate the new text         -> error: stop, the file is untouched
//!   write_atomic (temp, fsync, rename, fsync directory; 0600)
//! unlock
//! ```
//!
//! Re-reading under the lock is what makes concurrent `mp` processes safe: each edit starts
//! from the result of the previous one, so none is lost. Readers take no lock, because a
//! rename swaps the whole file at once; they see the old or the new content, never a mix.

use std::path::{Path, PathBuf};

use crate::document::ConfigDocument;
use crate::error::Error;
use crate::fs::{
    CheckedFile, FileLock, create_private_dir, lock_path_for, read_checked, write_atomic,
};
use crate::model::Loaded;
use crate::parse;

/// The config file at a path chosen by the caller (mp-cli resolves `MP_CONFIG_PATH` or
/// `~/.mp/config.toml`; this crate reads no environment).
#[derive(Debug, Clone)]
pub struct ConfigStore {
    path: PathBuf,
}

impl ConfigStore {
    /// Returns a store for the file at `path`. Nothing is read or created until used.
    pub fn new(path: &Path) -> ConfigStore {
        ConfigStore {
            path: path.to_path_buf(),
        }
    }

    /// Returns the path of the config file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the path of the sibling lock file (`config.toml.lock`).
    pub fn lock_path(&self) -> PathBuf {
        lock_path_for(&self.path)
    }

    /// Reads and validates the file. A missing file is an empty config.
    ///
    /// Fails if the path is a symlink or not a regular file, if the file is over
    /// [`MAX_FILE_BYTES`](crate::MAX_FILE_BYTES), if it holds a secret and group or others may
    /// read it, or if it is not valid (with `path:line:column`).
    pub fn load(&self) -> Result<Loaded, Error> {
        match read_checked(&self.path)? {
            None => Ok(Loaded {
                config: Default::default(),
                warnings: Vec::new(),
            }),
            Some(file) => Ok(self.parse_checked(file)?.1),
        }
    }

    /// Applies `edit` to the file under an exclusive lock, as described in the module docs,
    /// and returns what `edit` returned.
    ///
    /// If `edit` fails, or the file cannot be read or validated, the file is left exactly as
    /// it was. If the file does not exist it is created (with its directory, `0700`).
    pub fn edit<T, E>(&self, edit: impl FnOnce(&mut ConfigDocument) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        create_private_dir(directory_of(&self.path))?;
        let _lock = FileLock::acquire(&self.lock_path())?;

        let (original, mut document) = match read_checked(&self.path)? {
            None => (String::new(), ConfigDocument::new()),
            Some(file) => {
                let (document, _) = self.parse_checked(file)?;
                let original = document.to_string();
                (original, document)
            }
        };

        let value = edit(&mut document)?;

        let text = document.to_string();
        if text == original {
            return Ok(value);
        }
        parse::parse_and_validate(&text, &self.path).map_err(|source| Error::InvalidEdit {
            path: self.path.clone(),
            source: Box::new(source),
        })?;
        write_atomic(&self.path, text.as_bytes())?;
        Ok(value)
    }

    /// Decodes, parses, checks permissions against content, and validates a file just read.
    fn parse_checked(&self, file: CheckedFile) -> Result<(ConfigDocument, Loaded), Error> {
        let exposed = file.is_group_or_world_accessible();
        let mode = file.mode.unwrap_or_default();
        let text = parse::decode_utf8(file.bytes, &self.path)?;
        let document = parse::parse_syntax(&text, &self.path)?;
        // Checked before the schema, so that a file with an exposed secret is reported as
        // such even when it also has a typo.
        if exposed && parse::holds_secrets(document.as_table()) {
            return Err(Error::InsecurePermissions {
                path: self.path.clone(),
                mode,
            });
        }
        let loaded = parse::validate(&document, &self.path)?;
        Ok((ConfigDocument::from_validated(document, &self.path), loaded))
    }
}

fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}
