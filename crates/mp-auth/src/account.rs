//! Accounts: one credential bound to one region, with an optional default project.

use mp_http::{Region, Secret};

use crate::Error;

/// The name of the account synthesized from `MP_USERNAME` + `MP_SECRET` (never persisted).
pub const ENV_SERVICE_ACCOUNT_NAME: &str = "env-service-account";

/// The name of the account synthesized from `MP_OAUTH_TOKEN` (never persisted).
pub const ENV_OAUTH_TOKEN_NAME: &str = "env-oauth-token";

/// A Mixpanel account: a credential bound to one region, with an optional default project.
///
/// The three kinds share one surface, so everything above this type (session resolution, the
/// CLI's commands) treats them alike. `Debug` never shows a secret or token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account's name: `^[A-Za-z0-9_-]{1,64}$` (it names a directory of the state dir).
    pub name: String,
    /// The region the credential belongs to.
    pub region: Region,
    /// The project used when no other source names one (digits only).
    pub default_project: Option<String>,
    /// The credential.
    pub kind: AccountKind,
}

/// The credential of an [`Account`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountKind {
    /// A service account: HTTP Basic with username and secret.
    ServiceAccount {
        /// The service account's username (not a secret: it names the account).
        username: String,
        /// The service account's secret.
        secret: Secret<String>,
    },
    /// A browser (PKCE) login: tokens live in the state dir and are refreshed automatically.
    OAuthBrowser,
    /// A static bearer token.
    OAuthToken(TokenSource),
}

/// Where an `oauth_token` account's bearer token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The token itself, stored in the config file.
    Inline(Secret<String>),
    /// The name of an environment variable read at request time. `mp-auth` reads no environment:
    /// the caller supplies the lookup (see [`crate::EnvLookup`]).
    Env(String),
}

/// The kind of an account as the config file spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountType {
    /// `service_account`.
    ServiceAccount,
    /// `oauth_browser`.
    OAuthBrowser,
    /// `oauth_token`.
    OAuthToken,
}

impl AccountType {
    /// `service_account`, `oauth_browser` or `oauth_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::ServiceAccount => "service_account",
            AccountType::OAuthBrowser => "oauth_browser",
            AccountType::OAuthToken => "oauth_token",
        }
    }
}

impl std::fmt::Display for AccountType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Account {
    /// A service account.
    pub fn service_account(
        name: &str,
        region: Region,
        username: impl Into<String>,
        secret: Secret<String>,
    ) -> Result<Account, Error> {
        Account::new(
            name,
            region,
            AccountKind::ServiceAccount {
                username: username.into(),
                secret,
            },
        )
    }

    /// A browser-login account.
    pub fn oauth_browser(name: &str, region: Region) -> Result<Account, Error> {
        Account::new(name, region, AccountKind::OAuthBrowser)
    }

    /// A static-token account.
    pub fn oauth_token(name: &str, region: Region, source: TokenSource) -> Result<Account, Error> {
        Account::new(name, region, AccountKind::OAuthToken(source))
    }

    /// An account of any kind, after checking its name.
    pub fn new(name: &str, region: Region, kind: AccountKind) -> Result<Account, Error> {
        validate_account_name(name)?;
        Ok(Account {
            name: name.to_owned(),
            region,
            default_project: None,
            kind,
        })
    }

    /// Sets the default project (digits only).
    pub fn with_default_project(mut self, project: impl Into<String>) -> Result<Account, Error> {
        let project = project.into();
        if !is_project_id(&project) {
            return Err(Error::InvalidProjectId {
                value: project,
                origin: crate::Source::Config,
            });
        }
        self.default_project = Some(project);
        Ok(self)
    }

    /// The `Authorization` header of a service account (`Basic …`) or a static token (`Bearer …`,
    /// reading a `token_env` variable through `env` now), for region probing and `mp account
    /// token`. `None` for a browser login, whose header comes from the token store
    /// ([`crate::OAuthBrowserAuth`]).
    pub fn static_authorization(
        &self,
        env: &crate::EnvLookup,
    ) -> Result<Option<Secret<String>>, Error> {
        Ok(match &self.kind {
            AccountKind::ServiceAccount { username, secret } => {
                use base64::Engine as _;
                let credentials = format!("{username}:{}", secret.expose());
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(credentials.as_bytes());
                Some(Secret::new(format!("Basic {encoded}")))
            }
            AccountKind::OAuthBrowser => None,
            AccountKind::OAuthToken(TokenSource::Inline(token)) => {
                Some(Secret::new(format!("Bearer {}", token.expose().trim())))
            }
            AccountKind::OAuthToken(TokenSource::Env(variable)) => {
                let token = env(variable)
                    .filter(|token| !token.trim().is_empty())
                    .ok_or_else(|| Error::TokenVariableUnset {
                        account: self.name.clone(),
                        variable: variable.clone(),
                    })?;
                Some(Secret::new(format!("Bearer {}", token.trim())))
            }
        })
    }

    /// The account's type.
    pub fn account_type(&self) -> AccountType {
        match self.kind {
            AccountKind::ServiceAccount { .. } => AccountType::ServiceAccount,
            AccountKind::OAuthBrowser => AccountType::OAuthBrowser,
            AccountKind::OAuthToken(_) => AccountType::OAuthToken,
        }
    }
}

/// Checks an account name: 1 to 64 ASCII letters, digits, `_` or `-`.
///
/// The name also names the account's directory in the state dir, so this is the path-traversal
/// defence too: no `/`, no `.`, no empty name.
pub fn validate_account_name(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > 64 {
        "it is longer than 64 characters"
    } else if !name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
    {
        "only letters, digits, `_` and `-` are allowed"
    } else {
        return Ok(());
    };
    Err(Error::InvalidAccountName {
        name: name.to_owned(),
        reason,
    })
}

/// Returns true if and only if `value` is a project id: one or more ASCII digits.
pub(crate) fn is_project_id(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit())
}

/// Derives an account name from an organization name, the way Mixpanel's official client does
/// for `mp login` without `--name`: lower-case, runs of anything but ASCII letters and digits
/// become `-`, trimmed of `-`, at most 32 characters; empty → `org-{org_id}` (or `account` when
/// there is no organization); then `-2`, `-3`, … until the name is not in `taken`.
///
/// Note that the official client first folds accents to ASCII (NFKD); we have no Unicode tables,
/// so a non-ASCII letter becomes a separator (`Café` → `caf`), which still gives a valid,
/// stable name.
pub fn derive_account_name(organization: Option<(&str, &str)>, taken: &[&str]) -> String {
    let base = match organization {
        None => "account".to_owned(),
        Some((org_id, org_name)) => {
            let slug = slugify(org_name);
            if slug.is_empty() {
                let id_slug = slugify(org_id);
                if id_slug.is_empty() {
                    "account".to_owned()
                } else {
                    format!("org-{id_slug}")
                }
            } else {
                slug
            }
        }
    };
    if !taken.contains(&base.as_str()) {
        return base;
    }
    (2u32..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken.contains(&candidate.as_str()))
        .unwrap_or(base)
}

fn slugify(text: &str) -> String {
    let mut slug = String::new();
    let mut pending_dash = false;
    for character in text.chars() {
        if character.is_ascii_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(character.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    slug.truncate(32);
    slug.trim_end_matches('-').to_owned()
}
