//! `mp account …`: saved accounts, their credentials and their OAuth tokens.
//!
//! Listings and details are data (stdout, in the chosen format); confirmations of changes are
//! notes on stderr. Secrets are read from `--secret-stdin`/`--token-stdin`, an environment
//! variable or a hidden prompt, never from a flag value. Every config change goes through
//! mp-config's edit model, so comments and formatting survive.
//!
//! Where Mixpanel's official CLI falls short, this one does not: `test` exits non-zero when the
//! credentials fail, `token` prints the raw token (never wrapped), `remove` deletes the
//! account's state directory (tokens, `/me` cache) along with its entry, and `list` and `show`
//! say whether each account can be used (`status`) and when its tokens expire.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use mp_auth::{
    Account, AccountKind, BridgeFile, MeRefresh, OAuthBrowserAuth, StoredTokens, TokenSource,
};
use mp_http::{Region, Secret};

use super::Context;
use super::login::{
    OnSeveral, browser_tokens, choose_project, parse_account_name, parse_env_name, parse_region,
    read_secret, region_and_me, save_account,
};
use crate::credentials::{Credentials, auth_account, config_account};
use crate::env::EnvVars;
use crate::exit::{CliError, ExitStatus};
use crate::interact;

/// `mp account …`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// List the saved accounts.
    List,
    /// Save an account without logging in (see `mp login` for the one-step way).
    Add(AddArgs),
    /// Change a saved account's region, default project or credentials.
    Update(UpdateArgs),
    /// Make an account the active one (clears the active workspace).
    Use {
        /// The account.
        #[arg(value_parser = parse_account_name)]
        name: String,
    },
    /// Show an account: type, region, default project, tokens, status.
    Show {
        /// The account [default: the session's].
        #[arg(value_parser = parse_account_name)]
        name: Option<String>,
    },
    /// Remove an account, its stored tokens and caches.
    Remove {
        /// The account.
        #[arg(value_parser = parse_account_name)]
        name: String,
        /// Also remove the targets that use it.
        #[arg(long)]
        force: bool,
    },
    /// Print a valid bearer token (refreshed if needed), for scripts: `$(mp account token)`.
    Token {
        /// The account [default: the session's].
        #[arg(value_parser = parse_account_name)]
        name: Option<String>,
    },
    /// Check an account's credentials against Mixpanel (`/me`); exits non-zero when they fail.
    Test {
        /// The account [default: the session's].
        #[arg(value_parser = parse_account_name)]
        name: Option<String>,
    },
    /// Log a saved browser (oauth_browser) account in again.
    Login {
        /// The account.
        #[arg(value_parser = parse_account_name)]
        name: String,
        /// Do not open a browser: print the URL and read the redirect URL (or code) pasted on stdin.
        #[arg(long)]
        no_browser: bool,
        /// The port on 127.0.0.1 that receives the browser's redirect [default: the first free of 19284-19287; 0: any].
        #[arg(long, value_name = "PORT")]
        callback_port: Option<u16>,
    },
    /// Delete an account's stored OAuth tokens.
    Logout {
        /// The account.
        #[arg(value_parser = parse_account_name)]
        name: String,
    },
    /// Write a bridge file: an account with its credentials, for a machine without a config.
    ExportBridge(ExportBridgeArgs),
    /// Delete a bridge file.
    RemoveBridge {
        /// The file [default: MP_AUTH_FILE, else the first default location that exists].
        #[arg(long, value_name = "PATH")]
        at: Option<PathBuf>,
    },
}

/// The account types, as the config file spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccountTypeArg {
    /// Username and secret (HTTP Basic).
    #[value(name = "service_account")]
    ServiceAccount,
    /// Browser login; tokens stored and refreshed.
    #[value(name = "oauth_browser")]
    OAuthBrowser,
    /// A static bearer token.
    #[value(name = "oauth_token")]
    OAuthToken,
}

/// `mp account add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The account's name [default: derived from your organization's name; required for oauth_browser].
    #[arg(value_parser = parse_account_name)]
    pub name: Option<String>,
    /// The account type.
    #[arg(long = "type", value_enum)]
    pub account_type: AccountTypeArg,
    /// The region [default: probed for service_account and oauth_token; us for oauth_browser].
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub region: Option<Region>,
    /// The default project [default: MP_PROJECT_ID].
    #[arg(long, value_name = "ID", value_parser = crate::args::parse_project_id)]
    pub project: Option<String>,
    /// The service account's username [default: MP_USERNAME].
    #[arg(long)]
    pub username: Option<String>,
    /// Read the secret (or, for oauth_token, the token) from stdin instead of MP_SECRET or a prompt.
    #[arg(long)]
    pub secret_stdin: bool,
    /// oauth_token: read the token from the variable VAR at every request (stores the name only).
    #[arg(long, value_name = "VAR", value_parser = parse_env_name)]
    pub token_env: Option<String>,
}

/// `mp account update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The account.
    #[arg(value_parser = parse_account_name)]
    pub name: String,
    /// A new region.
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub region: Option<Region>,
    /// A new default project.
    #[arg(long, value_name = "ID", value_parser = crate::args::parse_project_id)]
    pub project: Option<String>,
    /// service_account: a new username.
    #[arg(long)]
    pub username: Option<String>,
    /// service_account: a new secret, read from stdin.
    #[arg(long)]
    pub secret_stdin: bool,
    /// oauth_token: read the token from the variable VAR from now on (drops an inline token).
    #[arg(long, value_name = "VAR", value_parser = parse_env_name, conflicts_with = "token_stdin")]
    pub token_env: Option<String>,
    /// oauth_token: a new inline token, read from stdin (drops `token_env`).
    #[arg(long)]
    pub token_stdin: bool,
}

/// `mp account export-bridge`.
#[derive(Debug, Args)]
pub struct ExportBridgeArgs {
    /// The account [default: the session's].
    #[arg(long, value_name = "NAME", value_parser = parse_account_name)]
    pub account: Option<String>,
    /// Where to write it.
    #[arg(long, value_name = "PATH", default_value = mp_auth::BRIDGE_FILE_NAME)]
    pub to: PathBuf,
    /// A project to pin in the bridge.
    #[arg(long, value_name = "ID", value_parser = crate::args::parse_project_id)]
    pub project: Option<String>,
    /// A workspace to pin in the bridge.
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u64).range(1..))]
    pub workspace: Option<u64>,
}

/// Runs `mp account …`.
pub async fn run(context: &mut Context, command: &AccountCommand) -> anyhow::Result<()> {
    let credentials = Credentials::load(&context.env, &context.messages)?;
    match command {
        AccountCommand::List => list(context, &credentials),
        AccountCommand::Add(args) => add(context, &credentials, args).await,
        AccountCommand::Update(args) => update(context, &credentials, args),
        AccountCommand::Use { name } => {
            let cleared = credentials
                .config_store()?
                .edit(|document| document.set_active_account(name))?;
            context.messages.note(&format!("Active account: {name}"));
            if let Some(workspace) = cleared {
                context
                    .messages
                    .note(&format!("Cleared the active workspace ({workspace})."));
            }
            Ok(())
        }
        AccountCommand::Show { name } => show(context, &credentials, name.as_deref()).await,
        AccountCommand::Remove { name, force } => remove(context, &credentials, name, *force).await,
        AccountCommand::Token { name } => token(context, &credentials, name.as_deref()).await,
        AccountCommand::Test { name } => test(context, &credentials, name.as_deref()).await,
        AccountCommand::Login {
            name,
            no_browser,
            callback_port,
        } => login(context, &credentials, name, *no_browser, *callback_port).await,
        AccountCommand::Logout { name } => {
            let removed = credentials.state_dir()?.delete_tokens(name).await?;
            let message = if removed {
                format!("Removed tokens for '{name}'.")
            } else {
                format!("No tokens stored for '{name}'.")
            };
            context.messages.note(&message);
            Ok(())
        }
        AccountCommand::ExportBridge(args) => export_bridge(context, &credentials, args).await,
        AccountCommand::RemoveBridge { at } => remove_bridge(context, &credentials, at.as_deref()),
    }
}

/// Whether an account can be used, judged without a request: `ok` (a browser login with
/// usable tokens), `needs_login`, `needs_token` (its variable is unset), or `untested`.
fn status(credentials: &Credentials, account: &Account) -> &'static str {
    match &account.kind {
        AccountKind::OAuthBrowser => match credentials
            .state_dir()
            .ok()
            .map(|state_dir| state_dir.load_tokens(&account.name))
        {
            Some(Ok(Some(stored)))
                if stored.tokens.refresh_token.is_some()
                    || stored.tokens.is_fresh(std::time::SystemTime::now()) =>
            {
                "ok"
            }
            Some(Err(_)) => "error",
            _ => "needs_login",
        },
        AccountKind::OAuthToken(TokenSource::Env(variable)) => {
            if credentials.env().named(variable).is_some() {
                "untested"
            } else {
                "needs_token"
            }
        }
        _ => "untested",
    }
}

fn summary(credentials: &Credentials, account: &Account) -> Value {
    let config = credentials.config();
    json!({
        "name": account.name,
        "type": account.account_type().as_str(),
        "region": account.region.as_str(),
        "default_project": account.default_project,
        "is_active": config.active_account() == Some(account.name.as_str()),
        "status": status(credentials, account),
        "referenced_by_targets": config.targets_using(&account.name),
    })
}

fn list(context: &mut Context, credentials: &Credentials) -> anyhow::Result<()> {
    let accounts = credentials
        .config()
        .accounts()
        .iter()
        .map(auth_account)
        .collect::<Result<Vec<_>, _>>()?;
    if accounts.is_empty() {
        context.messages.note(
            "No accounts configured. Run `mp login` to log in with your browser, or set \
             MP_USERNAME and MP_SECRET (a service account) and run `mp login`.",
        );
    }
    let data: Vec<Value> = accounts
        .iter()
        .map(|account| summary(credentials, account))
        .collect();
    let headers: Vec<String> = ["name", "type", "region", "active", "project", "status"]
        .map(str::to_owned)
        .to_vec();
    let rows: Vec<Vec<Value>> = data
        .iter()
        .map(|item| {
            vec![
                item["name"].clone(),
                item["type"].clone(),
                item["region"].clone(),
                Value::from(if item["is_active"] == Value::Bool(true) {
                    "*"
                } else {
                    ""
                }),
                item["default_project"].clone(),
                item["status"].clone(),
            ]
        })
        .collect();
    context
        .output
        .emit_table(&Value::Array(data), &headers, &rows)
}

async fn add(
    context: &mut Context,
    credentials: &Credentials,
    args: &AddArgs,
) -> anyhow::Result<()> {
    let messages = context.messages;
    if args.account_type != AccountTypeArg::ServiceAccount && args.username.is_some() {
        return Err(CliError::usage("`--username` only applies to a service_account").into());
    }
    if args.account_type != AccountTypeArg::OAuthToken && args.token_env.is_some() {
        return Err(CliError::usage("`--token-env` only applies to an oauth_token account").into());
    }
    if args.account_type == AccountTypeArg::OAuthBrowser && args.secret_stdin {
        return Err(CliError::usage("an oauth_browser account has no secret").into());
    }
    let project = match &args.project {
        Some(project) => Some(project.clone()),
        None => context.env.get(EnvVars::MP_PROJECT_ID)?.map(str::to_owned),
    };
    let kind = match args.account_type {
        AccountTypeArg::OAuthBrowser => AccountKind::OAuthBrowser,
        AccountTypeArg::ServiceAccount => {
            let username = match (&args.username, context.env.get(EnvVars::MP_USERNAME)?) {
                (Some(username), _) => username.clone(),
                (None, Some(username)) => username.to_owned(),
                (None, None) => {
                    return Err(CliError::usage("a service account needs `--username`").into());
                }
            };
            let secret = read_secret(credentials, args.secret_stdin, "secret", EnvVars::MP_SECRET)?;
            AccountKind::ServiceAccount { username, secret }
        }
        AccountTypeArg::OAuthToken => AccountKind::OAuthToken(match &args.token_env {
            Some(variable) => TokenSource::Env(variable.clone()),
            None => TokenSource::Inline(read_token(credentials, args.secret_stdin)?),
        }),
    };

    let (name, region, me) = match (&kind, &args.name, args.region) {
        (AccountKind::OAuthBrowser, None, _) => {
            return Err(CliError::usage("an oauth_browser account needs a NAME")
                .with_hint("or run `mp login`, which logs in and names the account for you")
                .into());
        }
        (AccountKind::OAuthBrowser, Some(name), region) => {
            (name.clone(), region.unwrap_or(Region::Us), None)
        }
        // Offline: nothing to probe or derive.
        (_, Some(name), Some(region)) => (name.clone(), region, None),
        (_, name, region) => {
            let (region, me) = region_and_me(credentials, &kind, region, &messages).await?;
            let name = match name {
                Some(name) => name.clone(),
                None => {
                    let taken: Vec<&str> = credentials
                        .config()
                        .accounts()
                        .iter()
                        .map(mp_config::Account::name)
                        .collect();
                    let organization = me
                        .organizations
                        .first()
                        .map(|org| (org.id.as_str(), org.name.as_deref().unwrap_or_default()));
                    mp_auth::derive_account_name(organization, &taken)
                }
            };
            (name, region, Some(me))
        }
    };
    let mut account = Account::new(&name, region, kind)?;
    if let Some(project) = project {
        account = account.with_default_project(project)?;
    }
    let entry = config_account(&account)?;
    let promoted = credentials.config_store()?.edit(|document| {
        let first = document.account_names().is_empty();
        document.add_account(&entry)?;
        if first {
            document.set_active_account(&name)?;
        }
        Ok::<_, mp_config::Error>(first)
    })?;
    if let Some(me) = me {
        credentials.me_cache(&account).put(&name, me)?;
    }
    messages.note(&format!(
        "Added account '{name}' ({}, {region}){}",
        account.account_type(),
        if promoted {
            " (promoted to active)"
        } else {
            ""
        }
    ));
    if matches!(account.kind, AccountKind::OAuthBrowser) {
        messages.note(&format!("Log it in with `mp account login {name}`."));
    }
    Ok(())
}

/// A bearer token from stdin, `MP_OAUTH_TOKEN` or a hidden prompt.
fn read_token(credentials: &Credentials, from_stdin: bool) -> anyhow::Result<Secret<String>> {
    if from_stdin {
        return Ok(Secret::new(interact::read_stdin_secret("token")?));
    }
    if let Some(token) = credentials.env().get(EnvVars::MP_OAUTH_TOKEN)? {
        return Ok(Secret::new(token.to_owned()));
    }
    if interact::interactive() {
        return Ok(Secret::new(interact::read_hidden(
            "Bearer token (hidden): ",
        )?));
    }
    Err(CliError::usage("no token given")
        .with_hint(format!(
            "pipe it to `--secret-stdin`, set `{}`, or use `--token-env VAR`",
            EnvVars::MP_OAUTH_TOKEN
        ))
        .into())
}

fn update(
    context: &mut Context,
    credentials: &Credentials,
    args: &UpdateArgs,
) -> anyhow::Result<()> {
    let mut account = credentials.account(&args.name)?;
    if credentials.config().account(&args.name).is_none() {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "account `{}` comes from the bridge file, which `mp account update` does not edit",
                args.name
            ),
        )
        .into());
    }
    let mut changes: Vec<String> = Vec::new();
    if let Some(region) = args.region
        && region != account.region
    {
        account.region = region;
        changes.push(format!("region={region}"));
    }
    if let Some(project) = &args.project {
        account = account.with_default_project(project.clone())?;
        changes.push(format!("default_project={project}"));
    }
    let wants_sa = args.username.is_some() || args.secret_stdin;
    let wants_token = args.token_env.is_some() || args.token_stdin;
    match &mut account.kind {
        AccountKind::ServiceAccount { username, secret } => {
            if wants_token {
                return Err(CliError::usage(
                    "`--token-env` and `--token-stdin` only apply to an oauth_token account",
                )
                .into());
            }
            if let Some(new) = &args.username {
                *username = new.clone();
                changes.push("username".to_owned());
            }
            if args.secret_stdin {
                *secret = Secret::new(interact::read_stdin_secret("secret")?);
                changes.push("secret".to_owned());
            }
        }
        AccountKind::OAuthToken(source) => {
            if wants_sa {
                return Err(CliError::usage(
                    "`--username` and `--secret-stdin` only apply to a service_account",
                )
                .into());
            }
            if let Some(variable) = &args.token_env {
                *source = TokenSource::Env(variable.clone());
                changes.push(format!("token_env={variable}"));
            }
            if args.token_stdin {
                *source = TokenSource::Inline(Secret::new(interact::read_stdin_secret("token")?));
                changes.push("token".to_owned());
            }
        }
        AccountKind::OAuthBrowser => {
            if wants_sa || wants_token {
                return Err(CliError::usage("an oauth_browser account has no stored credential; log in again with `mp account login`").into());
            }
        }
    }
    if changes.is_empty() {
        context
            .messages
            .note(&format!("Updated account '{}' (no changes)", args.name));
        return Ok(());
    }
    let entry = config_account(&account)?;
    credentials
        .config_store()?
        .edit(|document| document.replace_account(&entry).map(|_| ()))?;
    context.messages.note(&format!(
        "Updated account '{}' ({})",
        args.name,
        changes.join(", ")
    ));
    if args.region.is_some() && matches!(account.kind, AccountKind::OAuthBrowser) {
        context.messages.note(&format!(
            "Its tokens belong to the old region: log in again with `mp account login {}`.",
            args.name
        ));
    }
    Ok(())
}

async fn show(
    context: &mut Context,
    credentials: &Credentials,
    name: Option<&str>,
) -> anyhow::Result<()> {
    let (account, source) =
        credentials.account_or_session(name, &context.global, &context.messages)?;
    let mut data = summary(credentials, &account);
    let object = data.as_object_mut().expect("a summary is an object");
    if let Some(source) = source {
        object.insert("source".to_owned(), Value::from(source.as_str()));
    }
    match &account.kind {
        AccountKind::ServiceAccount { username, .. } => {
            object.insert("username".to_owned(), Value::from(username.as_str()));
        }
        AccountKind::OAuthToken(TokenSource::Env(variable)) => {
            object.insert("token_env".to_owned(), Value::from(variable.as_str()));
        }
        AccountKind::OAuthToken(TokenSource::Inline(_)) => {
            object.insert("token".to_owned(), Value::from("(inline, hidden)"));
        }
        AccountKind::OAuthBrowser => {
            let state_dir = credentials.state_dir()?;
            let tokens = state_dir.load_tokens(&account.name)?;
            object.insert(
                "tokens_path".to_owned(),
                Value::from(state_dir.tokens_path(&account.name)?.display().to_string()),
            );
            object.insert("tokens".to_owned(), tokens_summary(tokens.as_ref()));
        }
    }
    let cached = credentials.me_cache(&account).peek(&account.name);
    object.insert(
        "user_email".to_owned(),
        cached
            .and_then(|me| me.user_email.clone())
            .map_or(Value::Null, Value::from),
    );
    context.output.emit(&data, "value")
}

/// Token metadata for people: never a token.
fn tokens_summary(tokens: Option<&StoredTokens>) -> Value {
    match tokens {
        None => Value::Null,
        Some(stored) => json!({
            "expires_at": mp_auth::format_timestamp(stored.tokens.expires_at),
            "expired": !stored.tokens.is_fresh(std::time::SystemTime::now()),
            "refreshable": stored.tokens.refresh_token.is_some(),
            "scope": stored.tokens.scope,
            "client_id": stored.client_id,
        }),
    }
}

async fn remove(
    context: &mut Context,
    credentials: &Credentials,
    name: &str,
    force: bool,
) -> anyhow::Result<()> {
    let policy = if force {
        mp_config::ReferencingTargets::Remove
    } else {
        mp_config::ReferencingTargets::Refuse
    };
    let removal = credentials
        .config_store()?
        .edit(|document| document.remove_account(name, policy))?;
    // Unlike the official client, the state directory goes too: a later login that derives the
    // same name must not find it in the way, and the tokens must not outlive the account.
    let removed_state = match credentials.state_dir() {
        Ok(state_dir) => state_dir.remove_account(name).await?,
        Err(_) => false,
    };
    let messages = context.messages;
    messages.note(&format!("Removed account '{name}'"));
    if !removal.removed_targets.is_empty() {
        messages.note(&format!(
            "Removed targets that used it: {}",
            removal.removed_targets.join(", ")
        ));
    }
    if removal.cleared_active {
        messages.note("It was the active account; no account is active now.");
    }
    if removed_state {
        messages.note("Deleted its stored tokens and caches.");
    }
    Ok(())
}

async fn token(
    context: &mut Context,
    credentials: &Credentials,
    name: Option<&str>,
) -> anyhow::Result<()> {
    let (account, _) = credentials.account_or_session(name, &context.global, &context.messages)?;
    let token = match &account.kind {
        AccountKind::ServiceAccount { .. } => {
            return Err(CliError::new(
                ExitStatus::Failure,
                format!(
                    "account `{}` is a service account, which has no bearer token",
                    account.name
                ),
            )
            .with_hint("service accounts authenticate with username and secret (HTTP Basic)")
            .into());
        }
        AccountKind::OAuthBrowser => {
            credentials.import_bridge_tokens_for(&account).await?;
            let auth = OAuthBrowserAuth::new(
                &account.name,
                credentials.state_dir()?.clone(),
                credentials.oauth_client(account.region, &context.messages)?,
            )?;
            auth.access_token().await?
        }
        AccountKind::OAuthToken(_) => {
            let header = account
                .static_authorization(&credentials.env_lookup())?
                .ok_or_else(|| anyhow::anyhow!("no token"))?;
            Secret::new(
                header
                    .expose()
                    .strip_prefix("Bearer ")
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    };
    // Raw, on one line, never wrapped: `$(mp account token)` must work.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", token.expose())?;
    out.flush()?;
    Ok(())
}

async fn test(
    context: &mut Context,
    credentials: &Credentials,
    name: Option<&str>,
) -> anyhow::Result<()> {
    let (account, _) = credentials.account_or_session(name, &context.global, &context.messages)?;
    credentials.import_bridge_tokens_for(&account).await?;
    let client = credentials.client_for(&account, &context.messages)?;
    let result = credentials
        .me_cache(&account)
        .get(&client, &account.name, MeRefresh::Force)
        .await;
    match result {
        Ok(me) => {
            let data = json!({
                "account_name": account.name,
                "ok": true,
                "user": {"id": me.user_id, "email": me.user_email},
                "accessible_project_count": me.projects.len(),
                "error": null,
            });
            context.output.emit(&data, "value")
        }
        Err(error) => {
            let data = json!({
                "account_name": account.name,
                "ok": false,
                "user": null,
                "accessible_project_count": null,
                "error": error.to_string(),
            });
            context.output.emit(&data, "value")?;
            Err(error.into())
        }
    }
}

async fn login(
    context: &mut Context,
    credentials: &Credentials,
    name: &str,
    no_browser: bool,
    callback_port: Option<u16>,
) -> anyhow::Result<()> {
    let messages = context.messages;
    let Some(entry) = credentials.config().account(name) else {
        return Err(credentials
            .account(name)
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("account `{name}` is not in the config file")));
    };
    let mut account = auth_account(entry)?;
    if !matches!(account.kind, AccountKind::OAuthBrowser) {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "account `{name}` is of type `{}`; only oauth_browser accounts log in",
                account.account_type()
            ),
        )
        .with_hint(format!("`mp account test {name}` checks its credentials"))
        .into());
    }
    let result = browser_tokens(
        credentials,
        account.region,
        no_browser,
        callback_port,
        &messages,
    )
    .await?;
    let authenticator: std::sync::Arc<dyn mp_http::Authenticator> = std::sync::Arc::new(
        mp_auth::BearerTokenAuth::new(result.tokens.access_token.clone()),
    );
    let me =
        super::login::fetch_me_with(credentials, account.region, authenticator, &messages).await?;
    if account.default_project.is_none()
        && let Some(project) = choose_project(&me, None, None, OnSeveral::AskOrSkip, &messages)?
    {
        account = account.with_default_project(project)?;
    }
    let expires_at = mp_auth::format_timestamp(result.tokens.expires_at);
    let client_id = result.client_id.clone();
    let stored = result.into_stored();
    save_account(credentials, &account, Some(&stored), me.clone(), false).await?;
    let data = json!({
        "account_name": name,
        "user": {"id": me.user_id, "email": me.user_email},
        "expires_at": expires_at,
        "tokens_path": credentials.state_dir()?.tokens_path(name)?.display().to_string(),
        "client_id": client_id,
    });
    context.output.emit(&data, "value")
}

async fn export_bridge(
    context: &mut Context,
    credentials: &Credentials,
    args: &ExportBridgeArgs,
) -> anyhow::Result<()> {
    let (account, _) = credentials.account_or_session(
        args.account.as_deref(),
        &context.global,
        &context.messages,
    )?;
    let tokens = match &account.kind {
        AccountKind::OAuthBrowser => {
            let stored = credentials.state_dir()?.load_tokens(&account.name)?;
            Some(stored.ok_or_else(|| mp_auth::Error::NotLoggedIn {
                account: account.name.clone(),
            })?)
        }
        _ => None,
    };
    let mut headers = std::collections::BTreeMap::new();
    if let Some(header) = credentials.config().custom_header() {
        headers.insert(header.name().to_owned(), header.value().to_owned());
    }
    let bridge = BridgeFile {
        account,
        tokens,
        project: args.project.clone(),
        workspace: args.workspace,
        headers,
    };
    mp_auth::write_bridge(&args.to, &bridge)?;
    context.messages.note(&format!(
        "Wrote bridge file to {} (it holds credentials; it is readable by you only)",
        args.to.display()
    ));
    Ok(())
}

fn remove_bridge(
    context: &mut Context,
    credentials: &Credentials,
    at: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let path = match at {
        Some(path) => Some(path.to_path_buf()),
        None => {
            let cwd = std::env::current_dir().ok();
            let candidates = mp_auth::bridge_candidates(
                None,
                context.env.get(EnvVars::MP_AUTH_FILE)?,
                credentials.home(),
                cwd.as_deref(),
            );
            let explicit = context.env.is_set(EnvVars::MP_AUTH_FILE);
            candidates
                .into_iter()
                .find(|candidate| explicit || std::fs::symlink_metadata(candidate).is_ok())
        }
    };
    let removed = match &path {
        Some(path) => mp_auth::remove_bridge(path)?,
        None => false,
    };
    match (removed, path) {
        (true, Some(path)) => context
            .messages
            .note(&format!("Removed bridge file {}.", path.display())),
        _ => context.messages.note("No bridge file to remove."),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_types_are_spelled_as_in_the_config() {
        let names: Vec<String> = AccountTypeArg::value_variants()
            .iter()
            .map(|variant| variant.to_possible_value().unwrap().get_name().to_owned())
            .collect();
        assert_eq!(names, ["service_account", "oauth_browser", "oauth_token"]);
    }
}
