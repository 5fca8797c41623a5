//! Where a command's Mixpanel connection comes from: the environment, the global flags, a
//! saved target, the bridge file and the config file, or `--sandbox`.
//!
//! The decisions are mp-auth's ([`mp_auth::resolve_session`], a pure function); this module
//! only gathers its inputs and turns its answer into an HTTP client. Each axis is resolved on
//! its own, first hit wins:
//!
//! | axis | 1 env | 2 flag | 3 target (`MP_TARGET`, `-t`) | 4 bridge | 5 config |
//! |---|---|---|---|---|---|
//! | account | `MP_USERNAME`+`MP_SECRET`+`MP_REGION`, else `MP_OAUTH_TOKEN`+`MP_REGION`, else `MP_ACCOUNT` | `-a NAME` | its account | its account | `[active] account` |
//! | project | `MP_PROJECT_ID` | `-p ID` | its project | its project | the account's `default_project` |
//! | workspace | `MP_WORKSPACE_ID` | `-w ID` | its workspace | its workspace | `[active] workspace` (only with the active account's default project) |
//!
//! The environment winning over a flag is the official client's rule; unlike it, `mp` says so
//! on stderr every time it happens, and an incomplete environment set (`MP_USERNAME` without
//! `MP_REGION`, say) is an error that names the missing variable rather than a silent fall
//! through to the config.
//!
//! Where things live: the state directory is `$HOME/.mp` (tokens, caches, client
//! registrations); the config file is `MP_CONFIG_PATH`, else `$HOME/.mp/config.toml`. `HOME` is
//! read here and nowhere else. Custom headers come from `MP_CUSTOM_HEADER_NAME`/`VALUE`, then
//! `[settings] custom_header`, then the bridge's `headers`, a later one winning on the same
//! name, as in the official client.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mp_auth::{
    Account, AccountKind, AuthContext, BridgeFile, ConfigView, EnvInputs, EnvLookup, MeCache,
    OAuthClient, ParamInputs, Session, SessionInputs, Source, StateDir, TargetView, TokenSource,
};
use mp_http::{Client, ClientBuilder, Endpoints, HyperTransport, Region, Secret, Transport};

use crate::args::GlobalArgs;
use crate::env::{Env, EnvVars};
use crate::exit::{CliError, ExitStatus};
use crate::output::Messages;

/// How long to wait for a TCP (and TLS) connection before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything about credentials one `mp` process knows: where its files are, what the config
/// and the bridge say, and the one HTTP transport every client of the process shares.
pub struct Credentials {
    env: Env,
    home: Option<PathBuf>,
    config_path: Option<PathBuf>,
    state_dir: Option<StateDir>,
    config: mp_config::Config,
    bridge: Option<(PathBuf, BridgeFile)>,
    transport: Arc<dyn Transport>,
    /// `/me` of saved accounts, in memory and under `~/.mp/accounts/NAME/me.json`.
    disk_me: Option<Arc<MeCache>>,
    /// `/me` of accounts synthesized from the environment, which must never be written under
    /// a shared name such as `env-service-account` (another set of variables would read it).
    memory_me: Arc<MeCache>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("config_path", &self.config_path)
            .field("state_dir", &self.state_dir)
            .field("bridge", &self.bridge.as_ref().map(|(path, _)| path))
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Reads the config file and the bridge file (printing the config's warnings) and creates
    /// the process's HTTP transport. Must run inside the tokio runtime.
    pub fn load(env: &Env, messages: &Messages) -> anyhow::Result<Credentials> {
        let home = env.get(EnvVars::HOME)?.map(PathBuf::from);
        let config_path = config_path(env)?;
        let state_dir = home.as_ref().map(|home| StateDir::new(home.join(".mp")));
        let config = load_config(config_path.as_deref(), messages)?;
        let cwd = std::env::current_dir().ok();
        let candidates = mp_auth::bridge_candidates(
            None,
            env.get(EnvVars::MP_AUTH_FILE)?,
            home.as_deref(),
            cwd.as_deref(),
        );
        let bridge = mp_auth::find_bridge(&candidates)?;
        if let Some((path, _)) = &bridge {
            tracing::debug!(bridge = %path.display(), "using a bridge file");
        }
        let transport: Arc<dyn Transport> = Arc::new(HyperTransport::new(CONNECT_TIMEOUT)?);
        let clock: Arc<dyn mp_http::Clock> = Arc::new(mp_http::SystemClock);
        let disk_me = state_dir
            .as_ref()
            .map(|state_dir| Arc::new(MeCache::new(state_dir.clone(), Arc::clone(&clock))));
        Ok(Credentials {
            env: env.clone(),
            home,
            config_path,
            state_dir,
            config,
            bridge,
            transport,
            disk_me,
            memory_me: Arc::new(MeCache::in_memory(clock)),
        })
    }

    /// The config file as read at start-up.
    pub fn config(&self) -> &mp_config::Config {
        &self.config
    }

    /// The bridge file in use, if any, with its path.
    pub fn bridge(&self) -> Option<&(PathBuf, BridgeFile)> {
        self.bridge.as_ref()
    }

    /// The home directory (`HOME`), when set.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// The environment snapshot.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The config file, for edits (which always go through mp-config's comment-keeping edit
    /// model, under its lock).
    pub fn config_store(&self) -> Result<mp_config::ConfigStore, CliError> {
        self.config_path
            .as_deref()
            .map(mp_config::ConfigStore::new)
            .ok_or_else(no_home)
    }

    /// The state directory, `~/.mp`.
    pub fn state_dir(&self) -> Result<&StateDir, CliError> {
        self.state_dir.as_ref().ok_or_else(no_home)
    }

    /// The inputs of session resolution: the environment, the global flags, the config and the
    /// bridge.
    pub fn session_inputs(&self, global: &GlobalArgs) -> anyhow::Result<SessionInputs> {
        let get = |name: &'static str| -> Result<Option<String>, CliError> {
            Ok(self.env.get(name)?.map(str::to_owned))
        };
        let env = EnvInputs {
            username: get(EnvVars::MP_USERNAME)?,
            secret: get(EnvVars::MP_SECRET)?.map(Secret::new),
            oauth_token: get(EnvVars::MP_OAUTH_TOKEN)?.map(Secret::new),
            region: get(EnvVars::MP_REGION)?,
            project_id: get(EnvVars::MP_PROJECT_ID)?,
            workspace_id: get(EnvVars::MP_WORKSPACE_ID)?,
            account: get(EnvVars::MP_ACCOUNT)?,
            target: get(EnvVars::MP_TARGET)?,
        };
        let params = ParamInputs {
            account: global.account.clone(),
            project: global.project.clone(),
            workspace: global.workspace.map(|workspace| workspace.to_string()),
            target: global.target.clone(),
        };
        Ok(SessionInputs {
            env,
            params,
            config: self.config_view()?,
            bridge: self.bridge.as_ref().map(|(_, bridge)| bridge.view()),
        })
    }

    /// Resolves the session and says on stderr wherever an environment variable overrode an
    /// explicit flag.
    pub fn resolve(&self, global: &GlobalArgs, messages: &Messages) -> anyhow::Result<Session> {
        let session = mp_auth::resolve_session(&self.session_inputs(global)?)?;
        for entry in session.env_overrides() {
            messages.warn(&format!(
                "using {} `{}` from `{}`, which overrides `--{} {}`",
                entry.axis, entry.value, entry.variables, entry.axis, entry.flag_value
            ));
        }
        Ok(session)
    }

    /// The saved account `name`: from the config, else the bridge's account of that name.
    pub fn account(&self, name: &str) -> anyhow::Result<Account> {
        if let Some(account) = self.config.account(name) {
            return Ok(auth_account(account)?);
        }
        if let Some((_, bridge)) = &self.bridge
            && bridge.account.name == name
        {
            return Ok(bridge.account.clone());
        }
        let mut available: Vec<String> = self
            .config
            .accounts()
            .iter()
            .map(|account| account.name().to_owned())
            .collect();
        available.sort();
        Err(mp_auth::Error::AccountNotFound {
            name: name.to_owned(),
            available,
        }
        .into())
    }

    /// The account named `name`, or else the session's (global flags, environment, target,
    /// bridge, config), with where it came from.
    pub fn account_or_session(
        &self,
        name: Option<&str>,
        global: &GlobalArgs,
        messages: &Messages,
    ) -> anyhow::Result<(Account, Option<Source>)> {
        match name {
            Some(name) => Ok((self.account(name)?, None)),
            None => {
                let session = self.resolve(global, messages)?;
                Ok((session.account.value, Some(session.account.source)))
            }
        }
    }

    /// Where requests for `region` go, with `MP_API_BASE_URL`/`MP_APP_BASE_URL` applied.
    pub fn endpoints(&self, region: Region) -> Result<Endpoints, CliError> {
        let api_base = self.env.get(EnvVars::MP_API_BASE_URL)?;
        let app_base = self.env.get(EnvVars::MP_APP_BASE_URL)?;
        Endpoints::with_overrides(region, api_base, app_base).map_err(|error| {
            CliError::usage("invalid base URL override")
                .with_hint(format!(
                    "`{}` and `{}` take a URL such as `https://eu.mixpanel.com` or `http://127.0.0.1:PORT`",
                    EnvVars::MP_API_BASE_URL,
                    EnvVars::MP_APP_BASE_URL
                ))
                .with_source(error)
        })
    }

    /// Returns true if and only if a base-URL override sends requests somewhere other than
    /// Mixpanel's regional hosts (then a project's domain says nothing about our region).
    pub fn has_base_override(&self) -> bool {
        self.env.is_set(EnvVars::MP_API_BASE_URL)
    }

    /// Custom headers for every request, in order (a later one replaces an earlier one of the
    /// same name).
    pub fn custom_headers(
        &self,
        messages: &Messages,
    ) -> Result<Vec<(String, Secret<String>)>, CliError> {
        let mut headers = Vec::new();
        match (
            self.env.get(EnvVars::MP_CUSTOM_HEADER_NAME)?,
            self.env.get(EnvVars::MP_CUSTOM_HEADER_VALUE)?,
        ) {
            (Some(name), Some(value)) => {
                headers.push((name.to_owned(), Secret::new(value.to_owned())))
            }
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => messages.warn(&format!(
                "no custom header sent: `{}` and `{}` must both be set",
                EnvVars::MP_CUSTOM_HEADER_NAME,
                EnvVars::MP_CUSTOM_HEADER_VALUE
            )),
        }
        if let Some(header) = self.config.custom_header() {
            headers.push((
                header.name().to_owned(),
                Secret::new(header.value().to_owned()),
            ));
        }
        if let Some((_, bridge)) = &self.bridge {
            for (name, value) in &bridge.headers {
                headers.push((name.clone(), Secret::new(value.clone())));
            }
        }
        Ok(headers)
    }

    /// A client builder for `region` on the shared transport, with the user agent and custom
    /// headers, and no authenticator yet.
    pub fn builder(&self, region: Region, messages: &Messages) -> anyhow::Result<ClientBuilder> {
        let mut builder = ClientBuilder::new(self.endpoints(region)?)
            .with_transport(Arc::clone(&self.transport))
            .with_user_agent(user_agent());
        for (name, value) in self.custom_headers(messages)? {
            builder = builder.with_header(name, value.expose().clone());
        }
        Ok(builder)
    }

    /// Mixpanel's OAuth endpoints for `region` (registration, code exchange, refresh). Their
    /// requests carry no `Authorization` header.
    pub fn oauth_client(&self, region: Region, messages: &Messages) -> anyhow::Result<OAuthClient> {
        Ok(OAuthClient::new(self.builder(region, messages)?.build()?))
    }

    /// Reads `token_env` variables at request time.
    pub fn env_lookup(&self) -> EnvLookup {
        let env = self.env.clone();
        Arc::new(move |name: &str| env.named(name))
    }

    /// What an authenticator needs besides the account.
    pub fn auth_context(&self, region: Region, messages: &Messages) -> anyhow::Result<AuthContext> {
        Ok(AuthContext {
            // Without a home there are no stored tokens; a browser account then fails with
            // "not logged in", which is the truth.
            state_dir: self
                .state_dir
                .clone()
                .unwrap_or_else(|| StateDir::new(PathBuf::new())),
            oauth: self.oauth_client(region, messages)?,
            env: self.env_lookup(),
        })
    }

    /// An authenticated client for `account`, without a project.
    pub fn client_for(&self, account: &Account, messages: &Messages) -> anyhow::Result<Client> {
        let context = self.auth_context(account.region, messages)?;
        if matches!(account.kind, AccountKind::OAuthBrowser) && self.state_dir.is_none() {
            return Err(no_home().into());
        }
        let authenticator = account.authenticator(&context)?;
        Ok(self
            .builder(account.region, messages)?
            .with_authenticator(authenticator)
            .build()?)
    }

    /// The `/me` cache that fits `account`: on disk for saved accounts, in memory only for
    /// accounts synthesized from the environment.
    pub fn me_cache(&self, account: &Account) -> Arc<MeCache> {
        let synthesized = account.name == mp_auth::ENV_SERVICE_ACCOUNT_NAME
            || account.name == mp_auth::ENV_OAUTH_TOKEN_NAME;
        match &self.disk_me {
            Some(disk) if !synthesized => Arc::clone(disk),
            _ => Arc::clone(&self.memory_me),
        }
    }

    /// Copies the bridge's browser-login tokens into the token store when `account` is the
    /// bridge's and the bridge's copy is newer than the stored one (so a refresh made here is
    /// never undone by an older bridge).
    pub async fn import_bridge_tokens_for(&self, account: &Account) -> anyhow::Result<()> {
        let (Some((_, bridge)), Some(state_dir)) = (&self.bridge, &self.state_dir) else {
            return Ok(());
        };
        if bridge.account.name == account.name
            && bridge.tokens.is_some()
            && mp_auth::import_bridge_tokens(state_dir, bridge).await?
        {
            tracing::debug!(account = %account.name, "imported tokens from the bridge file");
        }
        Ok(())
    }

    fn config_view(&self) -> anyhow::Result<ConfigView> {
        let accounts = self
            .config
            .accounts()
            .iter()
            .map(auth_account)
            .collect::<Result<Vec<_>, _>>()?;
        let targets = self
            .config
            .targets()
            .iter()
            .map(|target| TargetView {
                name: target.name().to_owned(),
                account: target.account().to_owned(),
                project: target.project().to_owned(),
                workspace: target.workspace(),
            })
            .collect();
        Ok(ConfigView {
            accounts,
            targets,
            active_account: self.config.active_account().map(str::to_owned),
            active_workspace: self.config.active_workspace(),
        })
    }
}

/// Converts a config account into mp-auth's account (secrets stay wrapped).
pub fn auth_account(account: &mp_config::Account) -> Result<Account, mp_auth::Error> {
    let region = region_of(account.region());
    let kind = match account.account_type() {
        mp_config::AccountType::ServiceAccount => AccountKind::ServiceAccount {
            username: account.username().unwrap_or_default().to_owned(),
            secret: Secret::new(account.expose_secret().unwrap_or_default().to_owned()),
        },
        mp_config::AccountType::OAuthBrowser => AccountKind::OAuthBrowser,
        mp_config::AccountType::OAuthToken => match (account.expose_token(), account.token_env()) {
            (Some(token), _) => {
                AccountKind::OAuthToken(TokenSource::Inline(Secret::new(token.to_owned())))
            }
            (None, variable) => {
                AccountKind::OAuthToken(TokenSource::Env(variable.unwrap_or_default().to_owned()))
            }
        },
    };
    let auth = Account::new(account.name(), region, kind)?;
    match account.default_project() {
        Some(project) => auth.with_default_project(project),
        None => Ok(auth),
    }
}

/// Converts mp-auth's account into a config entry (the inverse of [`auth_account`]).
pub fn config_account(account: &Account) -> Result<mp_config::Account, mp_config::Error> {
    let region = config_region(account.region);
    let entry = match &account.kind {
        AccountKind::ServiceAccount { username, secret } => mp_config::Account::service_account(
            &account.name,
            region,
            username,
            secret.expose().clone(),
        )?,
        AccountKind::OAuthBrowser => mp_config::Account::oauth_browser(&account.name, region)?,
        AccountKind::OAuthToken(TokenSource::Inline(token)) => {
            mp_config::Account::oauth_token(&account.name, region, token.expose().clone())?
        }
        AccountKind::OAuthToken(TokenSource::Env(variable)) => {
            mp_config::Account::oauth_token_env(&account.name, region, variable)?
        }
    };
    match &account.default_project {
        Some(project) => entry.with_default_project(project),
        None => Ok(entry),
    }
}

/// The region of a config account (both crates spell the same three).
pub fn region_of(region: mp_config::Region) -> Region {
    match region {
        mp_config::Region::Us => Region::Us,
        mp_config::Region::Eu => Region::Eu,
        mp_config::Region::In => Region::In,
    }
}

/// The config file's region for an HTTP region.
pub fn config_region(region: Region) -> mp_config::Region {
    match region {
        Region::Us => mp_config::Region::Us,
        Region::Eu => mp_config::Region::Eu,
        Region::In => mp_config::Region::In,
    }
}

/// Everything needed to build an HTTP client for one command that talks about one project.
#[derive(Debug)]
pub struct Connection {
    /// Where requests go.
    pub endpoints: Endpoints,
    /// The account: its kind, name and region.
    pub account: Account,
    /// The project every request is about.
    pub project_id: String,
    /// The workspace App API requests are scoped to, if any.
    pub workspace_id: Option<u64>,
    /// Headers added to every request, in order (a later one replaces an earlier one of the same name).
    pub custom_headers: Vec<(String, Secret<String>)>,
    /// The authenticator's context (`None` under `--sandbox`, whose account is a service
    /// account).
    auth_context: Option<AuthContext>,
    transport: Option<Arc<dyn Transport>>,
}

impl Connection {
    /// Resolves the session (environment, global flags, target, bridge, config) for a command
    /// that needs a project.
    pub async fn resolve(
        env: &Env,
        global: &GlobalArgs,
        messages: &Messages,
    ) -> anyhow::Result<Connection> {
        let credentials = Credentials::load(env, messages)?;
        let session = credentials.resolve(global, messages)?;
        let project_id = session.require_project()?.value.clone();
        let account = session.account.value.clone();
        credentials.import_bridge_tokens_for(&account).await?;
        Ok(Connection {
            endpoints: credentials.endpoints(account.region)?,
            project_id,
            workspace_id: session.workspace.as_ref().map(|workspace| workspace.value),
            custom_headers: credentials.custom_headers(messages)?,
            auth_context: Some(credentials.auth_context(account.region, messages)?),
            transport: Some(Arc::clone(&credentials.transport)),
            account,
        })
    }

    /// The connection to an in-process sandbox at `base_url`, with its fixed credentials.
    ///
    /// Note that neither the environment nor the config file is consulted: `--sandbox`
    /// must behave the same on every machine.
    pub fn sandbox(base_url: &str, global: &GlobalArgs) -> Result<Connection, CliError> {
        let endpoints =
            Endpoints::with_overrides(Region::Us, Some(base_url), None).map_err(|error| {
                CliError::new(ExitStatus::Failure, "cannot address the sandbox").with_source(error)
            })?;
        let account = Account::service_account(
            "sandbox",
            Region::Us,
            mp_sandbox::SANDBOX_USERNAME,
            Secret::new(mp_sandbox::SANDBOX_SECRET.to_owned()),
        )
        .map_err(|error| {
            CliError::new(ExitStatus::Failure, "cannot use the sandbox account").with_source(error)
        })?;
        Ok(Connection {
            endpoints,
            account,
            project_id: global.project.clone().unwrap_or_else(|| "1".to_owned()),
            workspace_id: global.workspace,
            custom_headers: Vec::new(),
            auth_context: None,
            transport: None,
        })
    }

    /// Who the credentials are, as a kind, a name and a fingerprint of the credential itself:
    /// keys state kept per credential, such as the discovery cache.
    ///
    /// Note that the secret or static token enters only as a SHA-256 digest, never in clear. It
    /// is part of the identity so that changed or wrong credentials never read answers cached
    /// under other credentials: a wrong secret must fail authentication, not be served from a
    /// cache (a browser login's tokens rotate, so its account name identifies it).
    pub fn identity(&self) -> String {
        match &self.account.kind {
            // Two service accounts from the environment share the synthesized name, so the
            // username tells them apart.
            AccountKind::ServiceAccount { username, secret } => format!(
                "service_account\n{username}\n{}",
                credential_fingerprint(secret.expose())
            ),
            AccountKind::OAuthBrowser => format!("oauth_browser\n{}", self.account.name),
            AccountKind::OAuthToken(source) => {
                let token = match source {
                    TokenSource::Inline(token) => Some(token.expose().clone()),
                    TokenSource::Env(variable) => self
                        .auth_context
                        .as_ref()
                        .and_then(|context| (context.env)(variable)),
                };
                let fingerprint = token
                    .as_deref()
                    .map(credential_fingerprint)
                    .unwrap_or_default();
                format!("oauth_token\n{}\n{fingerprint}", self.account.name)
            }
        }
    }

    /// Builds the HTTP client.
    pub fn client(&self) -> anyhow::Result<Client> {
        let transport: Arc<dyn Transport> = match &self.transport {
            Some(transport) => Arc::clone(transport),
            None => Arc::new(HyperTransport::new(CONNECT_TIMEOUT)?),
        };
        let authenticator = match &self.auth_context {
            Some(context) => self.account.authenticator(context)?,
            None => match &self.account.kind {
                AccountKind::ServiceAccount { username, secret } => Arc::new(
                    mp_auth::ServiceAccountAuth::new(username.clone(), secret.clone()),
                ),
                _ => {
                    return Err(anyhow::anyhow!(
                        "the sandbox connection needs a service account"
                    ));
                }
            },
        };
        let mut builder = ClientBuilder::new(self.endpoints.clone())
            .with_transport(transport)
            .with_authenticator(authenticator)
            .with_project_id(self.project_id.clone())
            .with_workspace_id(self.workspace_id)
            .with_user_agent(user_agent());
        for (name, value) in &self.custom_headers {
            builder = builder.with_header(name.clone(), value.expose().clone());
        }
        Ok(builder.build()?)
    }
}

/// `mp/VERSION (entry=cli)`, in the shape of the official client's User-Agent.
fn user_agent() -> String {
    format!("mp/{} (entry=cli)", env!("CARGO_PKG_VERSION"))
}

/// The config file's path: `MP_CONFIG_PATH`, else `$HOME/.mp/config.toml`, else none.
pub fn config_path(env: &Env) -> Result<Option<PathBuf>, CliError> {
    if let Some(path) = env.get(EnvVars::MP_CONFIG_PATH)? {
        return Ok(Some(PathBuf::from(path)));
    }
    Ok(env
        .get(EnvVars::HOME)?
        .map(|home| PathBuf::from(home).join(".mp").join("config.toml")))
}

/// Reads the config file (a missing file is an empty config) and prints its warnings.
fn load_config(path: Option<&Path>, messages: &Messages) -> Result<mp_config::Config, CliError> {
    let Some(path) = path else {
        return Ok(mp_config::Config::default());
    };
    let loaded = mp_config::ConfigStore::new(path).load().map_err(|error| {
        let hint = error.hint();
        let cli =
            CliError::new(ExitStatus::Failure, "cannot use the config file").with_source(error);
        match hint {
            Some(hint) => cli.with_hint(hint),
            None => cli,
        }
    })?;
    for warning in &loaded.warnings {
        messages.warn(&warning.to_string());
    }
    Ok(loaded.config)
}

fn no_home() -> CliError {
    CliError::new(
        ExitStatus::Failure,
        format!(
            "`{}` is not set, so mp has no state directory (`~/.mp`)",
            EnvVars::HOME
        ),
    )
    .with_hint(format!(
        "set `{}`, or `{}` for the config file alone",
        EnvVars::HOME,
        EnvVars::MP_CONFIG_PATH
    ))
}

/// The first 16 bytes of SHA-256 over a credential, in hex: enough to tell credentials apart,
/// and no way back to the credential.
fn credential_fingerprint(credential: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(credential.as_bytes());
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
