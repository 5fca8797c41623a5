//! The environment variables `mp` reads, each name spelled exactly once.
//!
//! Library crates never read the environment (STYLE rule 7): `mp-cli` takes one
//! [`Env`] snapshot at start-up, resolves it against the command line and passes
//! explicit values down. Tests build an [`Env`] from pairs instead of mutating the
//! process environment.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::exit::{CliError, ExitStatus};

/// Declares the [`EnvVars`] constants and the [`EnvVars::TABLE`] that lists them,
/// so that a name and its documentation live in one place.
macro_rules! env_vars {
    ($( $(#[doc = $doc:literal])+ $name:ident, )+) => {
        /// Every environment variable `mp` knows, as documented constants.
        ///
        /// The README's environment table is this table.
        #[derive(Debug)]
        pub struct EnvVars;

        impl EnvVars {
            $(
                $(#[doc = $doc])+
                pub const $name: &'static str = stringify!($name);
            )+

            /// Every variable with its one-paragraph description, in documentation order.
            pub const TABLE: &'static [(&'static str, &'static str)] = &[
                $( (stringify!($name), concat!($($doc, "\n"),+)), )+
            ];
        }
    };
}

env_vars! {
    /// The username of a service account. With `MP_SECRET` and `MP_REGION` (and
    /// `MP_PROJECT_ID`) it makes a complete set of credentials that needs no config file, and
    /// it wins over every saved account; `mp login` saves it as an account.
    MP_USERNAME,
    /// The secret of the service account named by `MP_USERNAME`. It is never printed,
    /// logged or written anywhere by `mp`.
    MP_SECRET,
    /// The numeric id of the Mixpanel project to query. It wins over `--project`, and
    /// `mp` says so on stderr when both are given and differ.
    MP_PROJECT_ID,
    /// The region of the account's data: `us`, `eu` or `in`.
    MP_REGION,
    /// The name of a saved account to use. It wins over `--account`, and `mp` says so on
    /// stderr when both are given.
    MP_ACCOUNT,
    /// The numeric id of the workspace to scope App API requests to. It wins over
    /// `--workspace`.
    MP_WORKSPACE_ID,
    /// The name of a saved target to use. It wins over `--target`, and `mp` says so on
    /// stderr when both are given.
    MP_TARGET,
    /// A static OAuth bearer token. With `MP_REGION` (and `MP_PROJECT_ID`) it makes a
    /// complete set of credentials; `mp login` saves it inline in the config file.
    MP_OAUTH_TOKEN,
    /// The path of the config file, instead of `~/.mp/config.toml`.
    MP_CONFIG_PATH,
    /// The path of a credential bridge file (version 2, JSON); when set, it is the only
    /// place looked at, instead of `~/.claude/mixpanel/auth.json` and `./mixpanel_auth.json`.
    MP_AUTH_FILE,
    /// A base URL that replaces Mixpanel's hosts for every API family, for example a
    /// sandbox's `http://127.0.0.1:PORT`. Empty or only slashes means unset; `http://`
    /// is accepted only for loopback hosts.
    MP_API_BASE_URL,
    /// A base URL that replaces the host of the App API only. Empty or only slashes
    /// means unset.
    MP_APP_BASE_URL,
    /// The name of a header to add to every request (needs `MP_CUSTOM_HEADER_VALUE`).
    MP_CUSTOM_HEADER_NAME,
    /// The value of the header named by `MP_CUSTOM_HEADER_NAME`. It is never printed.
    MP_CUSTOM_HEADER_VALUE,
    /// When set to anything but the empty string, `mp` writes no colour escapes.
    NO_COLOR,
    /// The home directory, under which `mp` keeps its state directory `~/.mp`: the config
    /// file, per-account OAuth tokens and caches.
    HOME,
    /// The program that opens the login page of `mp login` (for example `firefox`), instead
    /// of `xdg-open` (or `open` on macOS). The URL is printed on stderr either way.
    BROWSER,
}

/// A snapshot of the environment variables in [`EnvVars::TABLE`].
///
/// Note that only the variables in the table are captured: nothing else in the
/// environment can influence `mp`.
#[derive(Clone, Default)]
pub struct Env {
    values: BTreeMap<&'static str, OsString>,
    /// Variables outside the table, which only an `oauth_token` account's `token_env` names
    /// (read at request time by [`Env::named`]): `None` reads the process environment then,
    /// `Some` is the fixed set a test gave.
    named: Option<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Env {
    // Secrets live in here, so the values are never shown, only which names are set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("set", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// Reads every variable of [`EnvVars::TABLE`] from the process environment.
    pub fn from_process() -> Env {
        let values = EnvVars::TABLE
            .iter()
            .filter_map(|(name, _)| std::env::var_os(name).map(|value| (*name, value)))
            .collect();
        Env {
            values,
            named: None,
        }
    }

    /// Builds a snapshot from name/value pairs; names outside [`EnvVars::TABLE`] are ignored.
    /// Names outside the table are kept apart, for [`Env::named`] only.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        let mut values = BTreeMap::new();
        let mut named = BTreeMap::new();
        for (name, value) in pairs {
            if let Some((known, _)) = EnvVars::TABLE.iter().find(|(known, _)| *known == name) {
                values.insert(*known, OsString::from(value));
            } else {
                named.insert(name.to_owned(), value.to_owned());
            }
        }
        Env {
            values,
            named: Some(named),
        }
    }

    /// Reads a variable whose name is not in [`EnvVars::TABLE`] because the user chose it:
    /// the `token_env` of an `oauth_token` account (`MP_CI_TOKEN`, say), read at every request
    /// so that a rotated token is picked up. `None` when unset, empty or not UTF-8.
    pub fn named(&self, name: &str) -> Option<String> {
        if let Some((known, _)) = EnvVars::TABLE.iter().find(|(known, _)| *known == name) {
            return self.get(known).ok().flatten().map(str::to_owned);
        }
        let value = match &self.named {
            None => std::env::var(name).ok(),
            Some(named) => named.get(name).cloned(),
        };
        value.filter(|value| !value.is_empty())
    }

    /// Returns the variable's value, or `None` when it is unset or empty.
    ///
    /// An empty variable counts as unset, as in the official client, so that
    /// `MP_REGION= mp …` is a way to switch a variable off.
    pub fn get(&self, name: &'static str) -> Result<Option<&str>, CliError> {
        match self.values.get(name) {
            None => Ok(None),
            Some(value) if value.is_empty() => Ok(None),
            Some(value) => value.to_str().map(Some).ok_or_else(|| {
                CliError::new(ExitStatus::Usage, format!("`{name}` is not valid UTF-8"))
            }),
        }
    }

    /// Returns true if and only if the variable is set to a non-empty value.
    pub fn is_set(&self, name: &'static str) -> bool {
        self.values.get(name).is_some_and(|value| !value.is_empty())
    }
}
