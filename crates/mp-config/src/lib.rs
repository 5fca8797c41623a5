//! `mp-config` reads, validates and edits `mp`'s TOML config file (`~/.mp/config.toml`):
//! accounts, targets, the active account and workspace, and settings.
//!
//! # What it is not
//!
//! It does no network I/O, reads no environment variable and resolves no home directory: the
//! caller (mp-cli) passes the file's path in. It never holds OAuth access or refresh tokens,
//! which mp-auth keeps in its own store; the only secrets it handles are the ones a user puts
//! in the file (a service account's `secret`, an `oauth_token` account's inline `token`), kept
//! in a redacting wrapper. It depends on no other `mp` crate.
//!
//! # Main types, in reading order
//!
//! - [`ConfigStore`]: the file at a path. [`ConfigStore::load`] reads it safely (no symlinks,
//!   regular files only, at most [`MAX_FILE_BYTES`], secrets only in files that group and
//!   others cannot read); [`ConfigStore::edit`] changes it under an exclusive lock, re-reading
//!   first and writing atomically, so concurrent `mp` processes never lose an edit.
//! - [`Config`], returned inside [`Loaded`] with its [`Warning`]s: the validated, immutable read
//!   model, made of [`Account`]s (with [`AccountType`] and [`Region`]), [`Target`]s and a
//!   [`CustomHeader`]. Unknown keys are warnings, not errors.
//! - [`ConfigDocument`]: the edit model over `toml_edit`, whose operations (add, replace or
//!   remove an account, set the active account or workspace, add or remove a target, ...) keep
//!   every comment, blank line, key order and unknown key of a hand-edited file.
//! - [`Error`]: what failed, with [`Error::hint`] for the user.
//! - [`write_atomic`], [`read_private_file`], [`create_private_dir`] and [`FileLock`]: the
//!   file primitives behind the store, public so that mp-auth's token store writes its files
//!   the same way.
//!
//! The schema (`[active]`, `[accounts.NAME]`, `[targets.NAME]`, `[settings]`) is the one of
//! Mixpanel's official Python client, so an existing `~/.mp/config.toml` keeps working.

#![deny(missing_docs)]

mod document;
mod error;
mod fs;
mod model;
mod parse;
mod secret;
mod store;

#[cfg(test)]
mod tests;

pub use crate::{
    document::{AccountRemoval, ConfigDocument, ReferencingTargets},
    error::Error,
    fs::{FileLock, MAX_FILE_BYTES, create_private_dir, read_private_file, write_atomic},
    model::{Account, AccountType, Config, CustomHeader, Loaded, Region, Target, Warning},
    store::ConfigStore,
};
