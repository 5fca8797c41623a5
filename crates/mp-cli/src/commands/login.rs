//! `mp login`: one command from nothing to a working account, and the pieces that
//! `mp account add` and `mp account login` share with it.
//!
//! | step | service account | static token | browser (PKCE) |
//! |---|---|---|---|
//! | chosen by | `-S`, or `MP_USERNAME`+`MP_SECRET` | `--token-env VAR`, or `MP_OAUTH_TOKEN` | anything else |
//! | credential | `MP_USERNAME` (or a prompt); secret from `--secret-stdin`, `MP_SECRET` or a hidden prompt | `$VAR` (the account keeps the name) or `MP_OAUTH_TOKEN` (kept inline) | the authorize URL on stderr, the browser opened, the redirect received on `127.0.0.1` or pasted (`--no-browser`) |
//! | region | `--region`, else probed (us, eu, in at once) | `--region`, else probed | `--region`, else us; checked against the project's domain |
//! | `/me` | with the new credential, before anything is written | same | same |
//! | project | `--project` (must be visible), `MP_PROJECT_ID` (must be visible), the only one, or a picker on a terminal | same | same |
//! | name | `--name`, else the first organization's slug (`acme`, `acme-2`, …) | same | same |
//! | written | the config entry (comments kept), made active | same | tokens (`0600`) first, then the config entry |
//!
//! Nothing is written before `/me` has answered, so a failed login leaves no half-made account.
//! `--name` of an existing account logs in again: same type and region required, its default
//! project kept unless `--project` is given. stdout gets exactly one line, `Logged in as EMAIL →
//! NAME · PROJECT`; everything else goes to stderr.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use clap::Args;

use mp_auth::{Account, AccountKind, LoginOptions, LoginResult, Me, StoredTokens, TokenSource};
use mp_http::{Authenticator, Region, Secret};

use super::Context;
use super::spinner::Spinner;
use crate::credentials::{Credentials, config_account};
use crate::env::EnvVars;
use crate::exit::{CliError, ExitStatus};
use crate::interact::{self, SystemBrowser};
use crate::output::Messages;

/// `mp login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The account's name [default: derived from your organization's name].
    #[arg(long, value_name = "NAME", value_parser = parse_account_name)]
    pub name: Option<String>,

    /// The region: us, eu or in [default: probed for a service account or token; us for a browser login].
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub region: Option<Region>,

    /// The default project [default: MP_PROJECT_ID, the only project, or a choice on a terminal].
    #[arg(long, value_name = "ID", value_parser = crate::args::parse_project_id)]
    pub project: Option<String>,

    /// Log in with a service account: MP_USERNAME and a secret from MP_SECRET, --secret-stdin or a prompt.
    #[arg(short = 'S', long)]
    pub service_account: bool,

    /// Log in with a static token read from the variable VAR, at every request (the account keeps the name, not the token).
    #[arg(long, value_name = "VAR", conflicts_with = "service_account", value_parser = parse_env_name)]
    pub token_env: Option<String>,

    /// Do not open a browser: print the URL and read the redirect URL (or code) pasted on stdin.
    #[arg(long)]
    pub no_browser: bool,

    /// Read the service account's secret from stdin (at most 64 KiB).
    #[arg(long)]
    pub secret_stdin: bool,

    /// The port on 127.0.0.1 that receives the browser's redirect [default: the first free of 19284-19287; 0: any].
    #[arg(long, value_name = "PORT")]
    pub callback_port: Option<u16>,
}

/// Which kind of account a login makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginKind {
    ServiceAccount,
    Token,
    Browser,
}

impl LoginKind {
    fn as_str(self) -> &'static str {
        match self {
            LoginKind::ServiceAccount => "service_account",
            LoginKind::Token => "oauth_token",
            LoginKind::Browser => "oauth_browser",
        }
    }
}

/// Runs `mp login`.
pub async fn run(context: &mut Context, args: &LoginArgs) -> anyhow::Result<()> {
    let messages = context.messages;
    let env = &context.env;
    let kind = if args.service_account {
        LoginKind::ServiceAccount
    } else if args.token_env.is_some() {
        LoginKind::Token
    } else if env.is_set(EnvVars::MP_USERNAME) && env.is_set(EnvVars::MP_SECRET) {
        LoginKind::ServiceAccount
    } else if env.is_set(EnvVars::MP_OAUTH_TOKEN) {
        LoginKind::Token
    } else {
        LoginKind::Browser
    };
    // Flag misuse is reported before any I/O.
    if kind != LoginKind::Browser && (args.no_browser || args.callback_port.is_some()) {
        return Err(CliError::usage(format!(
            "`--no-browser` and `--callback-port` are only meaningful for a browser login; detected: {}",
            kind.as_str()
        ))
        .with_hint(format!(
            "unset `{}`/`{}` and `{}` for a browser login",
            EnvVars::MP_USERNAME,
            EnvVars::MP_SECRET,
            EnvVars::MP_OAUTH_TOKEN
        ))
        .into());
    }
    if kind != LoginKind::ServiceAccount && args.secret_stdin {
        return Err(CliError::usage(format!(
            "`--secret-stdin` is only meaningful for a service account; detected: {}",
            kind.as_str()
        ))
        .with_hint("add `--service-account`")
        .into());
    }

    let credentials = Credentials::load(&context.env, &messages)?;
    let existing = match &args.name {
        Some(name) => credentials.config().account(name).cloned(),
        None => None,
    };
    if let Some(existing) = &existing {
        check_relogin(existing, kind, args.region)?;
    }
    let existing_auth = existing
        .as_ref()
        .map(crate::credentials::auth_account)
        .transpose()?;

    // The credential, its region and `/me`, all in memory.
    let (kind_value, region, tokens, me) = match kind {
        LoginKind::Browser => {
            let region = args
                .region
                .or(existing_auth.as_ref().map(|account| account.region))
                .unwrap_or(Region::Us);
            let result = browser_tokens(
                &credentials,
                region,
                args.no_browser,
                args.callback_port,
                &messages,
            )
            .await?;
            let authenticator: Arc<dyn Authenticator> = Arc::new(mp_auth::BearerTokenAuth::new(
                result.tokens.access_token.clone(),
            ));
            let me = fetch_me_with(&credentials, region, authenticator, &messages).await?;
            (AccountKind::OAuthBrowser, region, Some(result), me)
        }
        LoginKind::ServiceAccount => {
            let (username, secret) = service_account_credentials(
                &credentials,
                args.secret_stdin,
                existing_auth.as_ref(),
            )?;
            let kind = AccountKind::ServiceAccount { username, secret };
            let (region, me) = region_and_me(
                &credentials,
                &kind,
                args.region.or(existing_region(&existing_auth)),
                &messages,
            )
            .await?;
            (kind, region, None, me)
        }
        LoginKind::Token => {
            let source = token_source(
                &credentials,
                args.token_env.as_deref(),
                existing_auth.as_ref(),
            )?;
            let kind = AccountKind::OAuthToken(source);
            let (region, me) = region_and_me(
                &credentials,
                &kind,
                args.region.or(existing_region(&existing_auth)),
                &messages,
            )
            .await?;
            (kind, region, None, me)
        }
    };

    // Project, name, and a last check before writing.
    let project = match (&existing_auth, &args.project) {
        (Some(existing), None) => existing.default_project.clone(),
        _ => choose_project(
            &me,
            args.project.as_deref(),
            context.env.get(EnvVars::MP_PROJECT_ID)?,
            OnSeveral::Ask,
            &messages,
        )?,
    };
    if kind == LoginKind::Browser {
        check_project_region(&credentials, &me, project.as_deref(), region)?;
    }
    let name = match &args.name {
        Some(name) => name.clone(),
        None => derive_name(&credentials, &me),
    };
    let mut account = Account::new(&name, region, kind_value)?;
    if let Some(project) = &project {
        account = account.with_default_project(project.clone())?;
    }
    let stored = tokens.map(LoginResult::into_stored);
    save_account(&credentials, &account, stored.as_ref(), me.clone(), true).await?;

    let project_label = match &project {
        Some(project) => me
            .project(project)
            .and_then(|found| found.name.clone())
            .unwrap_or_else(|| format!("project {project}")),
        None => "(no project)".to_owned(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Logged in as {} → {name} · {project_label}",
        me.user_email.as_deref().unwrap_or("(unknown user)")
    )?;
    out.flush()?;
    Ok(())
}

fn existing_region(existing: &Option<Account>) -> Option<Region> {
    existing.as_ref().map(|account| account.region)
}

/// A second login under an existing name must keep its type and region.
fn check_relogin(
    existing: &mp_config::Account,
    kind: LoginKind,
    region: Option<Region>,
) -> Result<(), CliError> {
    let name = existing.name();
    if existing.account_type().as_str() != kind.as_str() {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "account `{name}` is of type `{}`, not `{}`",
                existing.account_type().as_str(),
                kind.as_str()
            ),
        )
        .with_hint(format!(
            "pick another `--name`, or remove it first with `mp account remove {name}`"
        )));
    }
    if let Some(region) = region
        && existing.region().as_str() != region.as_str()
    {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "account `{name}` is in region `{}`, not `{region}`",
                existing.region().as_str()
            ),
        )
        .with_hint("an account is bound to one region: pick another `--name` for this one"));
    }
    Ok(())
}

/// Runs the browser login against `region`'s OAuth endpoints and returns the tokens (nothing is
/// stored yet). The authorize URL is always printed on stderr, even with `--quiet`: without it
/// there is no login.
pub(crate) async fn browser_tokens(
    credentials: &Credentials,
    region: Region,
    no_browser: bool,
    callback_port: Option<u16>,
    messages: &Messages,
) -> anyhow::Result<LoginResult> {
    let oauth = credentials.oauth_client(region, messages)?;
    let mut options = LoginOptions::new();
    if let Some(port) = callback_port {
        options.callback_ports = vec![port];
    }
    let pending = mp_auth::start_browser_login(&oauth, credentials.state_dir()?, &options).await?;
    let stdin_is_terminal = std::io::stdin().is_terminal();
    {
        let mut stderr = std::io::stderr().lock();
        if no_browser {
            writeln!(stderr, "Open this URL in a browser to log in to Mixpanel:")?;
        } else {
            writeln!(
                stderr,
                "Opening your browser to log in to Mixpanel. If it does not open, visit:"
            )?;
        }
        writeln!(stderr)?;
        writeln!(stderr, "  {}", pending.authorize_url())?;
        writeln!(stderr)?;
        stderr.flush()?;
    }
    if !no_browser {
        let browser = SystemBrowser::new(credentials.env().get(EnvVars::BROWSER)?);
        if let Err(error) = pending.open_browser(&browser) {
            messages.note(&format!(
                "Could not open a browser ({error}); open the URL above."
            ));
        }
    }
    // Pasting is how a login on another machine (over SSH) finishes; with a terminal it is
    // offered in both modes, and `--no-browser` reads stdin even when it is a pipe.
    let paste = no_browser || stdin_is_terminal;
    let result = if paste {
        let mut stderr = std::io::stderr().lock();
        writeln!(
            stderr,
            "Waiting for the browser. Or paste the address the browser was sent to (or just the code) and press Enter:"
        )?;
        stderr.flush()?;
        drop(stderr);
        pending.finish(read_pasted_line()).await?
    } else {
        messages.note("Waiting for the browser (up to 5 minutes)...");
        pending.finish_from_callback().await?
    };
    Ok(result)
}

/// One line from stdin, read on a blocking thread; `None` at end of input (then only the
/// browser's redirect can finish the login).
async fn read_pasted_line() -> Option<String> {
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    })
    .await
    .ok()
    .flatten();
    match line {
        Some(line) => Some(line),
        None => std::future::pending().await,
    }
}

/// `/me` with a credential that is not saved yet.
pub(crate) async fn fetch_me_with(
    credentials: &Credentials,
    region: Region,
    authenticator: Arc<dyn Authenticator>,
    messages: &Messages,
) -> anyhow::Result<Me> {
    let client = credentials
        .builder(region, messages)?
        .with_authenticator(authenticator)
        .build()?;
    let spinner = Spinner::start(messages, "Fetching your projects from Mixpanel...");
    let me = mp_auth::fetch_me(&client).await;
    drop(spinner);
    me.map_err(|source| {
        use mp_http::ErrorKind;
        let (status, hint) = match source.kind() {
            ErrorKind::Authentication => (
                ExitStatus::Authentication,
                Some("the credentials were refused: check them, and `--region` if you gave one"),
            ),
            ErrorKind::Permission => (
                ExitStatus::Authentication,
                Some("these credentials may not read `/me` (a service account needs the `user_details` scope)"),
            ),
            ErrorKind::RateLimited => (ExitStatus::RateLimited, None),
            _ => (ExitStatus::Failure, None),
        };
        let error = CliError::new(status, "could not fetch `/me` with the new credentials")
            .with_source(source);
        match hint {
            Some(hint) => error.with_hint(hint).into(),
            None => error.into(),
        }
    })
}

/// The region (`--region`, else probed) and `/me` of a service account or static token.
pub(crate) async fn region_and_me(
    credentials: &Credentials,
    kind: &AccountKind,
    region: Option<Region>,
    messages: &Messages,
) -> anyhow::Result<(Region, Me)> {
    // A placeholder account only to build the `Authorization` header.
    let probe_account = Account::new("login", region.unwrap_or(Region::Us), kind.clone())?;
    let authorization = probe_account
        .static_authorization(&credentials.env_lookup())?
        .ok_or_else(|| anyhow::anyhow!("a browser login has no static credential"))?;
    let region = match region {
        Some(region) => region,
        None => probe_region(credentials, &authorization, messages).await?,
    };
    let authenticator: Arc<dyn Authenticator> = Arc::new(HeaderAuth(authorization));
    let me = fetch_me_with(credentials, region, authenticator, messages).await?;
    Ok((region, me))
}

/// A ready `Authorization` header as an authenticator.
#[derive(Debug)]
struct HeaderAuth(Secret<String>);

impl Authenticator for HeaderAuth {
    fn authorization(&self) -> mp_http::BoxFuture<'_, Result<Secret<String>, mp_http::Error>> {
        let header = self.0.clone();
        Box::pin(async move { Ok(header) })
    }
}

/// Finds the region whose `/me` accepts `authorization` (all three asked at once).
async fn probe_region(
    credentials: &Credentials,
    authorization: &Secret<String>,
    messages: &Messages,
) -> anyhow::Result<Region> {
    messages.note("Probing regions for /me access...");
    // Unauthenticated clients: each probe sends the header itself.
    let clients = mp_auth::DEFAULT_PROBE_ORDER
        .iter()
        .map(|region| Ok((*region, credentials.builder(*region, messages)?.build()?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let factory = move |region: Region| -> Result<mp_http::Client, mp_http::Error> {
        clients
            .iter()
            .find(|(candidate, _)| *candidate == region)
            .map(|(_, client)| client.clone())
            .ok_or_else(|| mp_http::Error::config("no client for this region"))
    };
    let probe = mp_auth::probe_regions(
        &factory,
        Some(authorization),
        &mp_auth::DEFAULT_PROBE_ORDER,
        mp_auth::DEFAULT_PROBE_TIMEOUT,
    )
    .await;
    match probe {
        Ok(probe) => {
            for attempt in &probe.attempts {
                let mark = if attempt.region == probe.region {
                    "✓"
                } else {
                    "✗"
                };
                messages.note(&format!("  {attempt} {mark}"));
            }
            Ok(probe.region)
        }
        Err(error) => Err(error.into()),
    }
}

/// The username and secret of a service-account login.
fn service_account_credentials(
    credentials: &Credentials,
    secret_stdin: bool,
    existing: Option<&Account>,
) -> anyhow::Result<(String, Secret<String>)> {
    let env = credentials.env();
    let existing_username = match existing.map(|account| &account.kind) {
        Some(AccountKind::ServiceAccount { username, .. }) => Some(username.clone()),
        _ => None,
    };
    let username = match (env.get(EnvVars::MP_USERNAME)?, existing_username) {
        (Some(username), _) => username.to_owned(),
        (None, Some(username)) => username,
        (None, None) if interact::interactive() => interact::ask("Service account username: ")?,
        (None, None) => {
            return Err(CliError::usage("no service account username")
                .with_hint(format!("set `{}`", EnvVars::MP_USERNAME))
                .into());
        }
    };
    let secret = read_secret(credentials, secret_stdin, "secret", EnvVars::MP_SECRET)?;
    Ok((username, secret))
}

/// A secret from `--secret-stdin`, else the variable `variable`, else a hidden prompt.
pub(crate) fn read_secret(
    credentials: &Credentials,
    from_stdin: bool,
    what: &str,
    variable: &'static str,
) -> anyhow::Result<Secret<String>> {
    if from_stdin {
        return Ok(Secret::new(interact::read_stdin_secret(what)?));
    }
    if let Some(value) = credentials.env().get(variable)? {
        return Ok(Secret::new(value.to_owned()));
    }
    if interact::interactive() {
        return Ok(Secret::new(interact::read_hidden(&format!(
            "Service account {what} (hidden): "
        ))?));
    }
    Err(CliError::usage(format!("no {what} given"))
        .with_hint(format!(
            "pipe it to `--secret-stdin`, or set `{variable}`; it is never accepted as a flag value"
        ))
        .into())
}

/// Where a token login's bearer token comes from.
fn token_source(
    credentials: &Credentials,
    token_env: Option<&str>,
    existing: Option<&Account>,
) -> anyhow::Result<TokenSource> {
    if let Some(variable) = token_env {
        return Ok(TokenSource::Env(variable.to_owned()));
    }
    // A login again keeps the account's variable unless `--token-env` names another.
    if let Some(AccountKind::OAuthToken(TokenSource::Env(variable))) =
        existing.map(|account| &account.kind)
    {
        return Ok(TokenSource::Env(variable.clone()));
    }
    match credentials.env().get(EnvVars::MP_OAUTH_TOKEN)? {
        Some(token) => Ok(TokenSource::Inline(Secret::new(token.to_owned()))),
        None => Err(CliError::usage("no token given")
            .with_hint(format!(
                "set `{}`, or name the variable that holds it with `--token-env VAR`",
                EnvVars::MP_OAUTH_TOKEN
            ))
            .into()),
    }
}

/// What to do when the credentials see several projects and none was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnSeveral {
    /// Ask on a terminal; fail with a clear message otherwise.
    Ask,
    /// Ask on a terminal; leave the default project unset otherwise.
    AskOrSkip,
}

/// The default project of a new login: `flag` (must be visible), `env_project` (must be
/// visible), the only project, or a choice on a terminal.
pub(crate) fn choose_project(
    me: &Me,
    flag: Option<&str>,
    env_project: Option<&str>,
    on_several: OnSeveral,
    messages: &Messages,
) -> Result<Option<String>, CliError> {
    let listing = || project_listing(me);
    if let Some(project) = flag {
        if me.project(project).is_none() && !me.projects.is_empty() {
            return Err(CliError::new(
                ExitStatus::NotFound,
                format!("project {project} is not visible to these credentials"),
            )
            .with_hint(format!("visible projects:\n{}", listing())));
        }
        return Ok(Some(project.to_owned()));
    }
    if let Some(project) = env_project {
        if me.project(project).is_none() {
            return Err(CliError::new(
                ExitStatus::Failure,
                format!(
                    "project {project} from `{}` is not visible to these credentials",
                    EnvVars::MP_PROJECT_ID
                ),
            )
            .with_hint(format!(
                "unset `{}` or pass `--project ID`; visible projects:\n{}",
                EnvVars::MP_PROJECT_ID,
                listing()
            )));
        }
        return Ok(Some(project.to_owned()));
    }
    match me.projects.as_slice() {
        [] => {
            messages.note("These credentials see no project; no default project is set.");
            Ok(None)
        }
        [only] => Ok(Some(only.id.clone())),
        several => {
            if !interact::interactive() {
                return match on_several {
                    OnSeveral::AskOrSkip => {
                        messages.note(
                            "Several projects are accessible; no default project is set (`mp project use ID` sets one).",
                        );
                        Ok(None)
                    }
                    OnSeveral::Ask => Err(CliError::usage(format!(
                        "{} projects are accessible and none was chosen",
                        several.len()
                    ))
                    .with_hint(format!(
                        "pass `--project ID` (there is no terminal to ask on); visible projects:\n{}",
                        listing()
                    ))),
                };
            }
            let sorted = sorted_projects(me);
            let organizations = me.organizations.len().max(1);
            let labels: Vec<String> = sorted
                .iter()
                .map(|(label, project)| {
                    format!(
                        "{label:<40} (id {}, {})",
                        project.id,
                        project.domain.as_deref().unwrap_or("(no domain)")
                    )
                })
                .collect();
            let index = interact::pick(
                &mut std::io::stdin().lock(),
                &mut std::io::stderr().lock(),
                &format!(
                    "Found {} project(s) across {organizations} organization(s):",
                    sorted.len()
                ),
                &labels,
                "Which project?",
            )?;
            Ok(Some(sorted[index].1.id.clone()))
        }
    }
}

/// Projects sorted by organization and project name (lower case), each with its label
/// (`Org · Project` when there are several organizations).
fn sorted_projects(me: &Me) -> Vec<(String, &mp_auth::MeProject)> {
    let several_orgs = me.organizations.len() > 1;
    let mut sorted: Vec<(String, String, String, &mp_auth::MeProject)> = me
        .projects
        .iter()
        .map(|project| {
            let org = project
                .organization_id
                .as_deref()
                .and_then(|id| me.organization(id))
                .and_then(|org| org.name.clone());
            // An unknown organization sorts last.
            let org_key = org
                .clone()
                .map(|name| name.to_lowercase())
                .unwrap_or_else(|| "~".to_owned());
            let name = project.name.clone().unwrap_or_else(|| project.id.clone());
            let label = if several_orgs {
                format!(
                    "{} · {name}",
                    org.unwrap_or_else(|| format!(
                        "org {}",
                        project.organization_id.as_deref().unwrap_or("?")
                    ))
                )
            } else {
                name.clone()
            };
            (org_key, name.to_lowercase(), label, project)
        })
        .collect();
    sorted.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    sorted
        .into_iter()
        .map(|(_, _, label, project)| (label, project))
        .collect()
}

fn project_listing(me: &Me) -> String {
    let sorted = sorted_projects(me);
    let mut lines: Vec<String> = sorted
        .iter()
        .take(20)
        .map(|(label, project)| format!("  {} {label}", project.id))
        .collect();
    if sorted.len() > 20 {
        lines.push(format!(
            "  … and {} more (`mp project list`)",
            sorted.len() - 20
        ));
    }
    lines.join("\n")
}

/// A browser login's region must be the project's (from its domain), when Mixpanel's own hosts
/// are used.
fn check_project_region(
    credentials: &Credentials,
    me: &Me,
    project: Option<&str>,
    region: Region,
) -> Result<(), CliError> {
    if credentials.has_base_override() {
        return Ok(());
    }
    let Some(project_region) = project
        .and_then(|project| me.project(project))
        .and_then(mp_auth::MeProject::region)
    else {
        return Ok(());
    };
    if project_region != region {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "the project lives in region `{project_region}`, but the login was in `{region}`"
            ),
        )
        .with_hint(format!("log in again with `--region {project_region}`")));
    }
    Ok(())
}

/// A free account name from the first organization in `/me`.
fn derive_name(credentials: &Credentials, me: &Me) -> String {
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

/// Writes a new or renewed account: its tokens first (a browser login), then its config entry
/// (comments kept), made active when `activate`, then its `/me` cache. A config write that
/// fails after the tokens of a new account were stored removes them again.
pub(crate) async fn save_account(
    credentials: &Credentials,
    account: &Account,
    tokens: Option<&StoredTokens>,
    me: Me,
    activate: bool,
) -> anyhow::Result<()> {
    let is_new = credentials.config().account(&account.name).is_none();
    let state_dir = credentials.state_dir()?;
    if let Some(tokens) = tokens {
        state_dir.save_tokens(&account.name, tokens).await?;
    }
    let entry = config_account(account)?;
    let written = credentials.config_store()?.edit(|document| {
        document.replace_account(&entry)?;
        if activate {
            document.set_active_account(&account.name)?;
        }
        Ok::<_, anyhow::Error>(())
    });
    if let Err(error) = written {
        if is_new && tokens.is_some() {
            let _ = state_dir.remove_account(&account.name).await;
        }
        return Err(error);
    }
    credentials.me_cache(account).put(&account.name, me)?;
    Ok(())
}

/// `--region`: us, eu or in.
pub(crate) fn parse_region(value: &str) -> Result<Region, String> {
    value.parse::<Region>().map_err(|error| error.to_string())
}

/// Account names, as the config file allows them.
pub(crate) fn parse_account_name(value: &str) -> Result<String, String> {
    mp_auth::validate_account_name(value)
        .map(|()| value.to_owned())
        .map_err(|error| error.to_string())
}

/// An environment variable's name: letters, digits and `_`, not starting with a digit.
pub(crate) fn parse_env_name(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && !value.starts_with(|c: char| c.is_ascii_digit())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(value.to_owned())
    } else {
        Err(format!("`{value}` is not an environment variable name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Me {
        Me::from_json(serde_json::json!({
            "user_email": "ada@example.com",
            "organizations": {"1": {"id": 1, "name": "Zeta"}, "2": {"id": 2, "name": "acme"}},
            "projects": {
                "10": {"name": "web", "organization_id": 1, "domain": "mixpanel.com"},
                "11": {"name": "App", "organization_id": 2, "domain": "eu.mixpanel.com"},
                "12": {"name": "api", "organization_id": 2},
                "13": {"name": "lost", "organization_id": 9},
            },
        }))
    }

    #[test]
    fn projects_sort_by_organization_then_name() {
        let me = me();
        let labels: Vec<String> = sorted_projects(&me)
            .into_iter()
            .map(|(label, project)| format!("{} {label}", project.id))
            .collect();
        assert_eq!(
            labels,
            [
                "12 acme · api",
                "11 acme · App",
                "10 Zeta · web",
                "13 org 9 · lost"
            ]
        );
    }

    const QUIET: Messages = Messages {
        quiet: true,
        color: false,
    };

    #[test]
    fn project_choice_without_a_terminal() {
        let me = me();
        let choose = |flag, env| choose_project(&me, flag, env, OnSeveral::Ask, &QUIET);
        assert_eq!(choose(Some("11"), None).unwrap().as_deref(), Some("11"));
        assert_eq!(
            choose(Some("99"), None).unwrap_err().status(),
            ExitStatus::NotFound
        );
        assert_eq!(choose(None, Some("12")).unwrap().as_deref(), Some("12"));
        assert_eq!(
            choose(None, Some("99")).unwrap_err().status(),
            ExitStatus::Failure
        );
        // Tests run without a terminal: several projects and no choice is a usage error.
        assert_eq!(choose(None, None).unwrap_err().status(), ExitStatus::Usage);
        assert_eq!(
            choose_project(&me, None, None, OnSeveral::AskOrSkip, &QUIET).unwrap(),
            None
        );
        let one = Me::from_json(serde_json::json!({"projects": {"5": {"name": "only"}}}));
        assert_eq!(
            choose_project(&one, None, None, OnSeveral::Ask, &QUIET)
                .unwrap()
                .as_deref(),
            Some("5")
        );
    }

    #[test]
    fn names() {
        assert!(parse_env_name("MP_CI_TOKEN").is_ok());
        assert!(parse_env_name("1X").is_err());
        assert!(parse_env_name("A-B").is_err());
        assert!(parse_account_name("a/b").is_err());
        assert_eq!(parse_region("EU").unwrap(), Region::Eu);
        assert!(parse_region("mars").is_err());
    }
}
