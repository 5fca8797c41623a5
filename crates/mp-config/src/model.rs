//! The read model: [`Config`] and the values it is made of, each valid by construction.
//!
//! Every constructor here checks its input with the same rules the file reader applies (the
//! `check_*` functions at the bottom), so an [`Account`], [`Target`] or [`CustomHeader`] that
//! exists is one that can be written to the file and read back unchanged.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::error::Error;
use crate::secret::Redacted;

/// A Mixpanel data residency region, the cluster an account lives on.
///
/// `mp-config` depends on no other `mp` crate, so it has its own copy of this small enum rather
/// than `mp_http::Region`; the spellings are the same, and mp-cli converts with
/// `region.as_str().parse()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// The United States cluster (`mixpanel.com`).
    Us,
    /// The European Union cluster (`eu.mixpanel.com`).
    Eu,
    /// The India cluster (`in.mixpanel.com`).
    In,
}

impl Region {
    /// Every region, in the order messages list them.
    pub const ALL: [Region; 3] = [Region::Us, Region::Eu, Region::In];

    /// Returns the lowercase name used in the config file: `us`, `eu` or `in`.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::In => "in",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = Error;

    /// Parses `us`, `eu` or `in`, ignoring ASCII case.
    fn from_str(text: &str) -> Result<Region, Error> {
        Region::ALL
            .into_iter()
            .find(|region| region.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| Error::InvalidValue {
                key: "region",
                message: format!(
                    "expected one of `us`, `eu`, `in`, found {}",
                    quote_short(text)
                ),
            })
    }
}

/// How an account authenticates, the `type` key of `[accounts.NAME]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    /// A service account: `username` and `secret`, sent as HTTP Basic.
    ServiceAccount,
    /// An OAuth login through the browser; the tokens live outside the config file.
    #[serde(rename = "oauth_browser")]
    OAuthBrowser,
    /// A bearer token given inline (`token`) or by the name of an environment variable (`token_env`).
    #[serde(rename = "oauth_token")]
    OAuthToken,
}

impl AccountType {
    /// Every account type, in the order messages list them.
    pub const ALL: [AccountType; 3] = [
        AccountType::ServiceAccount,
        AccountType::OAuthBrowser,
        AccountType::OAuthToken,
    ];

    /// Returns the spelling used in the config file: `service_account`, `oauth_browser` or `oauth_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::ServiceAccount => "service_account",
            AccountType::OAuthBrowser => "oauth_browser",
            AccountType::OAuthToken => "oauth_token",
        }
    }
}

impl fmt::Display for AccountType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountType {
    type Err = Error;

    /// Parses the exact spelling used in the file.
    fn from_str(text: &str) -> Result<AccountType, Error> {
        AccountType::ALL
            .into_iter()
            .find(|account_type| account_type.as_str() == text)
            .ok_or_else(|| Error::InvalidValue {
                key: "type",
                message: format!(
                    "expected one of `service_account`, `oauth_browser`, `oauth_token`, found {}",
                    quote_short(text)
                ),
            })
    }
}

/// One `[accounts.NAME]` entry: a credential bound to one region.
///
/// The fields that hold secrets (a service account's `secret`, an inline `token`) print as
/// `REDACTED` in `Debug`, are skipped by `Serialize`, and are reached only through
/// [`Account::expose_secret`] and [`Account::expose_token`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    name: String,
    #[serde(rename = "type")]
    account_type: AccountType,
    region: Region,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_project: Option<String>,
    // Invariant: `username` and `secret` are set if and only if the type is `service_account`;
    // for `oauth_token` exactly one of `token` and `token_env` is set; `oauth_browser` has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip)]
    secret: Option<Redacted>,
    #[serde(skip)]
    token: Option<Redacted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_env: Option<String>,
}

impl Account {
    /// Returns a service account that authenticates with `username` and `secret`.
    pub fn service_account(
        name: &str,
        region: Region,
        username: &str,
        secret: String,
    ) -> Result<Account, Error> {
        check_account_name(name)?;
        check_username(username).map_err(|message| Error::InvalidValue {
            key: "username",
            message,
        })?;
        check_secret(&secret).map_err(|message| Error::InvalidValue {
            key: "secret",
            message,
        })?;
        Ok(Account {
            username: Some(username.to_owned()),
            secret: Some(Redacted::new(secret)),
            ..Account::bare(name, AccountType::ServiceAccount, region)
        })
    }

    /// Returns an account that logs in through the browser (its tokens are stored elsewhere).
    pub fn oauth_browser(name: &str, region: Region) -> Result<Account, Error> {
        check_account_name(name)?;
        Ok(Account::bare(name, AccountType::OAuthBrowser, region))
    }

    /// Returns an account that sends the bearer `token` stored inline in the file.
    pub fn oauth_token(name: &str, region: Region, token: String) -> Result<Account, Error> {
        check_account_name(name)?;
        check_secret(&token).map_err(|message| Error::InvalidValue {
            key: "token",
            message,
        })?;
        Ok(Account {
            token: Some(Redacted::new(token)),
            ..Account::bare(name, AccountType::OAuthToken, region)
        })
    }

    /// Returns an account that reads its bearer token from the environment variable named
    /// `variable` at request time (the file holds only the name).
    pub fn oauth_token_env(name: &str, region: Region, variable: &str) -> Result<Account, Error> {
        check_account_name(name)?;
        check_env_name(variable).map_err(|message| Error::InvalidValue {
            key: "token_env",
            message,
        })?;
        Ok(Account {
            token_env: Some(variable.to_owned()),
            ..Account::bare(name, AccountType::OAuthToken, region)
        })
    }

    /// Returns this account with `project` as its default project.
    pub fn with_default_project(mut self, project: &str) -> Result<Account, Error> {
        check_project_id(project).map_err(|message| Error::InvalidValue {
            key: "default_project",
            message,
        })?;
        self.default_project = Some(project.to_owned());
        Ok(self)
    }

    fn bare(name: &str, account_type: AccountType, region: Region) -> Account {
        Account {
            name: name.to_owned(),
            account_type,
            region,
            default_project: None,
            username: None,
            secret: None,
            token: None,
            token_env: None,
        }
    }

    /// Assembles an account from parts the reader has already checked.
    pub(crate) fn from_checked_parts(parts: AccountParts) -> Account {
        Account {
            name: parts.name,
            account_type: parts.account_type,
            region: parts.region,
            default_project: parts.default_project,
            username: parts.username,
            secret: parts.secret.map(Redacted::new),
            token: parts.token.map(Redacted::new),
            token_env: parts.token_env,
        }
    }

    /// Returns the account's name, the `NAME` of `[accounts.NAME]`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns how the account authenticates.
    pub fn account_type(&self) -> AccountType {
        self.account_type
    }

    /// Returns the region the account lives in.
    pub fn region(&self) -> Region {
        self.region
    }

    /// Returns the project used when no other project is given, if one is set.
    pub fn default_project(&self) -> Option<&str> {
        self.default_project.as_deref()
    }

    /// Returns the service account's username; `None` for other types.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Returns the service account's secret in plain text; `None` for other types.
    ///
    /// Note that this is the boundary where the secret leaves its redacting wrapper: wrap it
    /// again (`mp_http::Secret`) before it goes anywhere else.
    pub fn expose_secret(&self) -> Option<&str> {
        self.secret.as_ref().map(Redacted::expose)
    }

    /// Returns the inline bearer token of an `oauth_token` account in plain text; `None` when the
    /// account uses `token_env` or is of another type.
    ///
    /// Note that this is the boundary where the token leaves its redacting wrapper.
    pub fn expose_token(&self) -> Option<&str> {
        self.token.as_ref().map(Redacted::expose)
    }

    /// Returns the name of the environment variable that holds the bearer token of an
    /// `oauth_token` account; `None` when the token is inline or the type is another.
    pub fn token_env(&self) -> Option<&str> {
        self.token_env.as_deref()
    }

    /// Returns true if and only if the file entry for this account holds a secret in plain text.
    pub fn holds_secret(&self) -> bool {
        self.secret.is_some() || self.token.is_some()
    }
}

/// The raw pieces of an account, already checked by the reader.
#[derive(Debug)]
pub(crate) struct AccountParts {
    pub(crate) name: String,
    pub(crate) account_type: AccountType,
    pub(crate) region: Region,
    pub(crate) default_project: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) secret: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) token_env: Option<String>,
}

/// One `[targets.NAME]` entry: a saved account + project (+ workspace) combination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    name: String,
    account: String,
    project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace: Option<u64>,
}

impl Target {
    /// Returns a target named `name` for `project` (and optionally `workspace`) of `account`.
    ///
    /// Note that whether `account` exists is checked when the target is added to a document.
    pub fn new(
        name: &str,
        account: &str,
        project: &str,
        workspace: Option<u64>,
    ) -> Result<Target, Error> {
        check_target_name(name)?;
        check_account_name(account)?;
        check_project_id(project).map_err(|message| Error::InvalidValue {
            key: "project",
            message,
        })?;
        if let Some(workspace) = workspace {
            check_workspace_id(workspace).map_err(|message| Error::InvalidValue {
                key: "workspace",
                message,
            })?;
        }
        Ok(Target {
            name: name.to_owned(),
            account: account.to_owned(),
            project: project.to_owned(),
            workspace,
        })
    }

    /// Returns the target's name, the `NAME` of `[targets.NAME]`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the name of the account the target uses.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Returns the project ID.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Returns the workspace ID, if the target pins one.
    pub fn workspace(&self) -> Option<u64> {
        self.workspace
    }
}

/// The `[settings] custom_header = { name = "...", value = "..." }` header added to every request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomHeader {
    name: String,
    value: String,
}

impl CustomHeader {
    /// Returns a header after checking that `name` is an HTTP token and `value` holds no
    /// control characters.
    pub fn new(name: &str, value: &str) -> Result<CustomHeader, Error> {
        check_header_name(name).map_err(|message| Error::InvalidValue {
            key: "custom_header.name",
            message,
        })?;
        check_header_value(value).map_err(|message| Error::InvalidValue {
            key: "custom_header.value",
            message,
        })?;
        Ok(CustomHeader {
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }

    /// Returns the header name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the header value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// The `[active]` table: the account (and workspace) used when nothing else is given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Active {
    pub(crate) account: Option<String>,
    pub(crate) workspace: Option<u64>,
}

/// The `[settings]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Settings {
    pub(crate) custom_header: Option<CustomHeader>,
}

/// The validated, immutable content of a config file.
///
/// Accounts and targets keep the order of the file. Unknown keys are not represented here
/// (they were reported as [`Warning`]s and are kept by [`ConfigDocument`](crate::ConfigDocument)
/// edits). `Serialize` gives a JSON-friendly view without any secret, fit for `mp config show`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Config {
    pub(crate) active: Active,
    pub(crate) accounts: Vec<Account>,
    pub(crate) targets: Vec<Target>,
    pub(crate) settings: Settings,
}

impl Config {
    /// Parses and validates config text; `origin` names the text in messages (usually its path).
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<Loaded, Error> {
        crate::parse::parse_and_validate(text, origin)
    }

    /// Returns the `[active] account`, if set.
    ///
    /// Note that the name may not match any account of a hand-edited file (a [`Warning`] says so).
    pub fn active_account(&self) -> Option<&str> {
        self.active.account.as_deref()
    }

    /// Returns the `[active] workspace`, if set.
    pub fn active_workspace(&self) -> Option<u64> {
        self.active.workspace
    }

    /// Returns every account, in file order.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// Returns the account named `name`.
    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|account| account.name == name)
    }

    /// Returns every target, in file order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Returns the target named `name`.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|target| target.name == name)
    }

    /// Returns the names of the targets that use account `account`, in file order.
    pub fn targets_using(&self, account: &str) -> Vec<&str> {
        self.targets
            .iter()
            .filter(|target| target.account == account)
            .map(|target| target.name.as_str())
            .collect()
    }

    /// Returns the `[settings] custom_header`, if set.
    pub fn custom_header(&self) -> Option<&CustomHeader> {
        self.settings.custom_header.as_ref()
    }

    /// Returns true if and only if some account holds a secret in plain text.
    pub fn holds_secrets(&self) -> bool {
        self.accounts.iter().any(Account::holds_secret)
    }
}

/// A successfully loaded config together with what was odd about the file.
///
/// Loading succeeds as long as every known key is valid; unknown keys, keys that do not apply
/// to an account's type and references to missing accounts become warnings, which the caller
/// shows (mp-cli prints them to stderr) and which never stop a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The validated config.
    pub config: Config,
    /// Problems that did not prevent loading, in file order.
    pub warnings: Vec<Warning>,
}

/// Something in the config file that was ignored or looks wrong, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub(crate) path: PathBuf,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl Warning {
    /// Returns the file (or the name the text was given).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the 1-based line.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Returns the 1-based column, in characters.
    pub fn column(&self) -> usize {
        self.column
    }

    /// Returns the message without the location, for example "unknown key `accounts.team.colour` is ignored".
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Returns true if and only if `name` matches `^[A-Za-z0-9_-]{1,64}$`.
///
/// Names become directory names (`~/.mp/accounts/NAME/`), so this is also the path-traversal
/// defence; it is written by hand to keep `regex` out of this crate.
pub(crate) fn is_valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

pub(crate) fn check_account_name(name: &str) -> Result<(), Error> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidAccountName {
            name: name.to_owned(),
        })
    }
}

pub(crate) fn check_target_name(name: &str) -> Result<(), Error> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidTargetName {
            name: name.to_owned(),
        })
    }
}

/// Project IDs are decimal digits; they stay strings because that is how Mixpanel's API and
/// the official client pass them.
pub(crate) fn check_project_id(project: &str) -> Result<(), String> {
    if (1..=20).contains(&project.len()) && project.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "expected a project ID made of digits, found {}",
            quote_short(project)
        ))
    }
}

/// Workspace IDs are positive and must fit a TOML integer (`i64`) so they can be written back.
pub(crate) fn check_workspace_id(workspace: u64) -> Result<(), String> {
    if workspace == 0 || i64::try_from(workspace).is_err() {
        Err(format!(
            "expected a positive workspace ID below 2^63, found `{workspace}`"
        ))
    } else {
        Ok(())
    }
}

/// A Basic-auth user-id may not contain `:` (RFC 7617), and no header may carry control characters.
pub(crate) fn check_username(username: &str) -> Result<(), String> {
    if username.is_empty() {
        Err("expected a non-empty username".to_owned())
    } else if username.contains(':') {
        Err("a username cannot contain `:`".to_owned())
    } else if username.chars().any(char::is_control) {
        Err("a username cannot contain control characters".to_owned())
    } else {
        Ok(())
    }
}

/// Secrets and tokens end up in an `Authorization` header. The message never quotes the value.
pub(crate) fn check_secret(secret: &str) -> Result<(), String> {
    if secret.is_empty() {
        Err("expected a non-empty value".to_owned())
    } else if secret.chars().any(char::is_control) {
        Err("the value cannot contain control characters such as a newline".to_owned())
    } else {
        Ok(())
    }
}

/// Environment variable names are kept to the portable `[A-Za-z_][A-Za-z0-9_]*`, which catches
/// slips such as `$MP_TOKEN` or a token pasted where its variable's name belongs.
pub(crate) fn check_env_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|byte| byte.is_ascii_alphabetic() || byte == b'_');
    if first_ok && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_') {
        Ok(())
    } else {
        Err(format!(
            "expected an environment variable name such as `MP_CI_TOKEN`, found {}",
            quote_short(name)
        ))
    }
}

/// An HTTP field name is a non-empty `token` (RFC 9110 §5.6.2).
pub(crate) fn check_header_name(name: &str) -> Result<(), String> {
    let is_tchar = |byte: u8| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte);
    if !name.is_empty() && name.bytes().all(is_tchar) {
        Ok(())
    } else {
        Err(format!(
            "expected an HTTP header name such as `X-Mixpanel-Cluster`, found {}",
            quote_short(name)
        ))
    }
}

/// An HTTP field value may hold visible characters, spaces and tabs, but no other control
/// characters (a newline would smuggle in a second header).
pub(crate) fn check_header_value(value: &str) -> Result<(), String> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        Err("a header value cannot contain control characters such as a newline".to_owned())
    } else {
        Ok(())
    }
}

/// Quotes a short user-supplied value for a message, in backticks; a long one is only
/// described, because a value in the wrong place may be a pasted secret.
pub(crate) fn quote_short(text: &str) -> String {
    if text.chars().count() > 24 {
        format!("a string of {} characters", text.chars().count())
    } else {
        format!("`{}`", text.escape_debug())
    }
}
