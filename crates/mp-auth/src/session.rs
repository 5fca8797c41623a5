//! Session resolution: which account, project and workspace a command uses, and where each came
//! from.
//!
//! Three independent axes, each resolved by one pure function (no I/O, no environment: the
//! caller fills [`SessionInputs`]), each walking the same order and stopping at the first source
//! that has a value:
//!
//! | source | account | project | workspace |
//! |---|---|---|---|
//! | env | `MP_USERNAME`+`MP_SECRET`+`MP_REGION` (a synthesized service account), else `MP_OAUTH_TOKEN`+`MP_REGION` (a synthesized token account), else `MP_ACCOUNT` | `MP_PROJECT_ID` | `MP_WORKSPACE_ID` |
//! | flag | `--account` | `--project` | `--workspace` |
//! | target (`MP_TARGET`, else `--target`) | its account | its project | its workspace |
//! | bridge | its account | its project | its workspace |
//! | config | `[active] account` | the resolved account's `default_project` | `[active] workspace` |
//!
//! Rules that go beyond Mixpanel's official client (`anchor-auth.md` §11):
//!
//! - Nothing falls through silently. An incomplete environment set (`MP_USERNAME` without
//!   `MP_SECRET`, either without `MP_REGION`) is an error that names the missing variable, not a
//!   quiet skip to the config; an invalid id is an error wherever it comes from.
//! - Every value says where it came from ([`Resolved::source`]) and which lower sources it
//!   shadowed ([`Resolved::shadowed`]), so the CLI can say on stderr when an environment
//!   variable overrides an explicit flag ([`Session::env_overrides`]), and `mp session` can show
//!   sources.
//! - `[active] workspace` belongs to the active account's default project, so the config level
//!   of the workspace axis applies only when both the account and the project came from the
//!   config; otherwise the workspace stays unset and resolves lazily to the project's default.

use mp_http::{Region, Secret};

use crate::account::is_project_id;
use crate::{
    Account, AccountKind, ENV_OAUTH_TOKEN_NAME, ENV_SERVICE_ACCOUNT_NAME, Error, TokenSource,
};

/// Where a resolved value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// An environment variable.
    Env,
    /// An explicit parameter: in the CLI, a global flag.
    Flag,
    /// The applied target.
    Target,
    /// The bridge file.
    Bridge,
    /// The config file (`[active]`, or the account's `default_project`).
    Config,
}

impl Source {
    /// `env`, `flag`, `target`, `bridge` or `config`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Env => "env",
            Source::Flag => "flag",
            Source::Target => "target",
            Source::Bridge => "bridge",
            Source::Config => "config",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the resolved axes (or the target that fed them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    /// The account.
    Account,
    /// The project.
    Project,
    /// The workspace.
    Workspace,
    /// The applied target.
    Target,
}

impl std::fmt::Display for Axis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Axis::Account => "account",
            Axis::Project => "project",
            Axis::Workspace => "workspace",
            Axis::Target => "target",
        })
    }
}

/// A value a lower-priority source offered and lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadowed {
    /// The source.
    pub source: Source,
    /// Its value as shown to people (an account or target name, an id; never a credential).
    pub value: String,
}

/// A resolved value, where it came from, and what it shadowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
    /// More precisely: the environment variables (`MP_PROJECT_ID`), or the target's name.
    pub detail: Option<String>,
    /// Lower-priority sources that also had a value, in priority order.
    pub shadowed: Vec<Shadowed>,
}

/// The environment, as the CLI read it. Empty values count as unset.
#[derive(Debug, Clone, Default)]
pub struct EnvInputs {
    /// `MP_USERNAME`.
    pub username: Option<String>,
    /// `MP_SECRET`.
    pub secret: Option<Secret<String>>,
    /// `MP_OAUTH_TOKEN`.
    pub oauth_token: Option<Secret<String>>,
    /// `MP_REGION`.
    pub region: Option<String>,
    /// `MP_PROJECT_ID`.
    pub project_id: Option<String>,
    /// `MP_WORKSPACE_ID`.
    pub workspace_id: Option<String>,
    /// `MP_ACCOUNT`.
    pub account: Option<String>,
    /// `MP_TARGET`.
    pub target: Option<String>,
}

/// Explicit parameters: in the CLI, the global flags `-a`, `-p`, `-w`, `-t`.
#[derive(Debug, Clone, Default)]
pub struct ParamInputs {
    /// `--account`.
    pub account: Option<String>,
    /// `--project`.
    pub project: Option<String>,
    /// `--workspace`.
    pub workspace: Option<String>,
    /// `--target`.
    pub target: Option<String>,
}

/// A saved target: (account, project, optional workspace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetView {
    /// The target's name.
    pub name: String,
    /// Its account's name.
    pub account: String,
    /// Its project.
    pub project: String,
    /// Its workspace.
    pub workspace: Option<u64>,
}

/// What the config file says, as the CLI read it.
#[derive(Debug, Clone, Default)]
pub struct ConfigView {
    /// Every `[accounts.NAME]`.
    pub accounts: Vec<Account>,
    /// Every `[targets.NAME]`.
    pub targets: Vec<TargetView>,
    /// `[active] account`.
    pub active_account: Option<String>,
    /// `[active] workspace`.
    pub active_workspace: Option<u64>,
}

/// What the bridge file contributes (see [`crate::BridgeFile::view`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeView {
    /// The bridge's account.
    pub account: Account,
    /// Its project pin.
    pub project: Option<String>,
    /// Its workspace pin.
    pub workspace: Option<u64>,
}

/// Everything resolution reads.
#[derive(Debug, Clone, Default)]
pub struct SessionInputs {
    /// The environment.
    pub env: EnvInputs,
    /// The flags.
    pub params: ParamInputs,
    /// The config file.
    pub config: ConfigView,
    /// The bridge file, when one was found.
    pub bridge: Option<BridgeView>,
}

/// A resolved session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The target applied, if any.
    pub target: Option<Resolved<TargetView>>,
    /// The account.
    pub account: Resolved<Account>,
    /// The project, when any source gave one.
    pub project: Option<Resolved<String>>,
    /// The workspace, when any source gave one (otherwise it resolves lazily).
    pub workspace: Option<Resolved<u64>>,
}

/// An environment variable that overrode an explicit flag (to be said on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvOverride {
    /// The axis.
    pub axis: Axis,
    /// The variables that won (`MP_PROJECT_ID`).
    pub variables: String,
    /// The winning value as shown to people.
    pub value: String,
    /// The flag's value that lost.
    pub flag_value: String,
}

impl Session {
    /// The region of the session's account.
    pub fn region(&self) -> Region {
        self.account.value.region
    }

    /// The project, or [`Error::NoProject`].
    pub fn require_project(&self) -> Result<&Resolved<String>, Error> {
        self.project.as_ref().ok_or_else(|| Error::NoProject {
            account: self.account.value.name.clone(),
        })
    }

    /// Every axis on which an environment variable beat an explicit flag.
    pub fn env_overrides(&self) -> Vec<EnvOverride> {
        let mut overrides = Vec::new();
        let mut check = |axis: Axis,
                         source: Source,
                         detail: &Option<String>,
                         value: String,
                         shadowed: &[Shadowed]| {
            if source != Source::Env {
                return;
            }
            if let Some(flag) = shadowed.iter().find(|entry| entry.source == Source::Flag) {
                overrides.push(EnvOverride {
                    axis,
                    variables: detail.clone().unwrap_or_default(),
                    value,
                    flag_value: flag.value.clone(),
                });
            }
        };
        if let Some(target) = &self.target {
            check(
                Axis::Target,
                target.source,
                &target.detail,
                target.value.name.clone(),
                &target.shadowed,
            );
        }
        check(
            Axis::Account,
            self.account.source,
            &self.account.detail,
            self.account.value.name.clone(),
            &self.account.shadowed,
        );
        if let Some(project) = &self.project {
            check(
                Axis::Project,
                project.source,
                &project.detail,
                project.value.clone(),
                &project.shadowed,
            );
        }
        if let Some(workspace) = &self.workspace {
            check(
                Axis::Workspace,
                workspace.source,
                &workspace.detail,
                workspace.value.to_string(),
                &workspace.shadowed,
            );
        }
        overrides
    }
}

/// Resolves all three axes (and the target): [`resolve_target`], [`resolve_account`],
/// [`resolve_project`], [`resolve_workspace`].
pub fn resolve_session(inputs: &SessionInputs) -> Result<Session, Error> {
    let target = resolve_target(inputs)?;
    let target_view = target.as_ref().map(|target| &target.value);
    let account = resolve_account(inputs, target_view)?;
    let project = resolve_project(inputs, target_view, &account)?;
    let workspace = resolve_workspace(inputs, target_view, &account, project.as_ref())?;
    Ok(Session {
        target,
        account,
        project,
        workspace,
    })
}

/// The target to apply: `MP_TARGET`, else `--target`; [`Error::TargetNotFound`] when it is not
/// in the config.
pub fn resolve_target(inputs: &SessionInputs) -> Result<Option<Resolved<TargetView>>, Error> {
    let candidates = [
        (
            Source::Env,
            Some("MP_TARGET"),
            non_empty(&inputs.env.target),
        ),
        (Source::Flag, None, non_empty(&inputs.params.target)),
    ];
    let Some((index, (source, detail, name))) = candidates
        .iter()
        .enumerate()
        .find_map(|(index, (source, detail, name))| Some((index, (*source, *detail, (*name)?))))
    else {
        return Ok(None);
    };
    let target = inputs
        .config
        .targets
        .iter()
        .find(|target| target.name == name)
        .cloned()
        .ok_or_else(|| Error::TargetNotFound {
            name: name.to_owned(),
            available: sorted(
                inputs
                    .config
                    .targets
                    .iter()
                    .map(|target| target.name.clone()),
            ),
        })?;
    Ok(Some(Resolved {
        value: target,
        source,
        detail: detail.map(str::to_owned),
        shadowed: candidates[index + 1..]
            .iter()
            .filter_map(|(source, _, name)| {
                Some(Shadowed {
                    source: *source,
                    value: (*name)?.to_owned(),
                })
            })
            .collect(),
    }))
}

/// The account axis (see the module table).
pub fn resolve_account(
    inputs: &SessionInputs,
    target: Option<&TargetView>,
) -> Result<Resolved<Account>, Error> {
    let env = &inputs.env;
    // Level 1, env: a service account, else a token, else a named account.
    let username = non_empty(&env.username);
    let secret = env
        .secret
        .as_ref()
        .filter(|secret| !secret.expose().trim().is_empty());
    let token = env
        .oauth_token
        .as_ref()
        .filter(|token| !token.expose().trim().is_empty());
    let env_account: Option<(Account, &'static str)> = match (username, secret) {
        (Some(username), Some(secret)) => {
            let region = env_region(env, "`MP_USERNAME` and `MP_SECRET`")?;
            Some((
                Account {
                    name: ENV_SERVICE_ACCOUNT_NAME.to_owned(),
                    region,
                    default_project: None,
                    kind: AccountKind::ServiceAccount {
                        username: username.to_owned(),
                        secret: secret.clone(),
                    },
                },
                "MP_USERNAME, MP_SECRET, MP_REGION",
            ))
        }
        (Some(_), None) => {
            return Err(Error::IncompleteEnvironment {
                present: "`MP_USERNAME`",
                missing: "MP_SECRET",
            });
        }
        (None, Some(_)) => {
            return Err(Error::IncompleteEnvironment {
                present: "`MP_SECRET`",
                missing: "MP_USERNAME",
            });
        }
        (None, None) => match token {
            Some(token) => {
                let region = env_region(env, "`MP_OAUTH_TOKEN`")?;
                Some((
                    Account {
                        name: ENV_OAUTH_TOKEN_NAME.to_owned(),
                        region,
                        default_project: None,
                        kind: AccountKind::OAuthToken(TokenSource::Inline(token.clone())),
                    },
                    "MP_OAUTH_TOKEN, MP_REGION",
                ))
            }
            None => None,
        },
    };

    // The named candidates of every level, in priority order.
    let mut named: Vec<(Source, Option<String>, &str)> = Vec::new();
    if let Some(name) = non_empty(&env.account) {
        named.push((Source::Env, Some("MP_ACCOUNT".to_owned()), name));
    }
    if let Some(name) = non_empty(&inputs.params.account) {
        named.push((Source::Flag, None, name));
    }
    if let Some(target) = target {
        named.push((
            Source::Target,
            Some(target.name.clone()),
            target.account.as_str(),
        ));
    }
    if let Some(bridge) = &inputs.bridge {
        named.push((Source::Bridge, None, bridge.account.name.as_str()));
    }
    if let Some(name) = non_empty(&inputs.config.active_account) {
        named.push((Source::Config, None, name));
    }
    let shadowed_from = |skip: usize| -> Vec<Shadowed> {
        named
            .iter()
            .skip(skip)
            .map(|(source, _, name)| Shadowed {
                source: *source,
                value: (*name).to_owned(),
            })
            .collect()
    };

    if let Some((account, variables)) = env_account {
        return Ok(Resolved {
            value: account,
            source: Source::Env,
            detail: Some(variables.to_owned()),
            shadowed: shadowed_from(0),
        });
    }
    let Some((source, detail, name)) = named.first().cloned() else {
        return Err(Error::NoAccount);
    };
    let account = if source == Source::Bridge {
        inputs.bridge.as_ref().map(|bridge| bridge.account.clone())
    } else {
        find_account(inputs, name)
    }
    .ok_or_else(|| Error::AccountNotFound {
        name: name.to_owned(),
        available: sorted(
            inputs
                .config
                .accounts
                .iter()
                .map(|account| account.name.clone())
                .chain(
                    inputs
                        .bridge
                        .iter()
                        .map(|bridge| bridge.account.name.clone()),
                ),
        ),
    })?;
    Ok(Resolved {
        value: account,
        source,
        detail,
        shadowed: shadowed_from(1),
    })
}

/// The project axis (see the module table). `None` when no source has one; the caller decides
/// whether that is an error ([`Session::require_project`]).
pub fn resolve_project(
    inputs: &SessionInputs,
    target: Option<&TargetView>,
    account: &Resolved<Account>,
) -> Result<Option<Resolved<String>>, Error> {
    let mut candidates: Vec<(Source, Option<String>, String)> = Vec::new();
    if let Some(project) = non_empty(&inputs.env.project_id) {
        candidates.push((
            Source::Env,
            Some("MP_PROJECT_ID".to_owned()),
            project.to_owned(),
        ));
    }
    if let Some(project) = non_empty(&inputs.params.project) {
        candidates.push((Source::Flag, None, project.to_owned()));
    }
    if let Some(target) = target {
        candidates.push((
            Source::Target,
            Some(target.name.clone()),
            target.project.clone(),
        ));
    }
    if let Some(project) = inputs
        .bridge
        .as_ref()
        .and_then(|bridge| bridge.project.clone())
    {
        candidates.push((Source::Bridge, None, project));
    }
    if let Some(project) = &account.value.default_project {
        candidates.push((Source::Config, None, project.clone()));
    }
    for (source, _, value) in &candidates {
        if !is_project_id(value.trim()) {
            return Err(Error::InvalidProjectId {
                value: value.clone(),
                origin: *source,
            });
        }
    }
    Ok(first_with_shadowed(candidates, |value| {
        value.trim().to_owned()
    }))
}

/// The workspace axis (see the module table, and the note on `[active] workspace`).
pub fn resolve_workspace(
    inputs: &SessionInputs,
    target: Option<&TargetView>,
    account: &Resolved<Account>,
    project: Option<&Resolved<String>>,
) -> Result<Option<Resolved<u64>>, Error> {
    let mut candidates: Vec<(Source, Option<String>, u64)> = Vec::new();
    if let Some(text) = non_empty(&inputs.env.workspace_id) {
        candidates.push((
            Source::Env,
            Some("MP_WORKSPACE_ID".to_owned()),
            parse_workspace(text, Source::Env)?,
        ));
    }
    if let Some(text) = non_empty(&inputs.params.workspace) {
        candidates.push((Source::Flag, None, parse_workspace(text, Source::Flag)?));
    }
    if let Some(workspace) = target.and_then(|target| target.workspace) {
        candidates.push((
            Source::Target,
            target.map(|target| target.name.clone()),
            positive(workspace, Source::Target)?,
        ));
    }
    if let Some(workspace) = inputs.bridge.as_ref().and_then(|bridge| bridge.workspace) {
        candidates.push((Source::Bridge, None, positive(workspace, Source::Bridge)?));
    }
    let active_session = account.source == Source::Config
        && project.is_some_and(|project| project.source == Source::Config);
    if let Some(workspace) = inputs.config.active_workspace
        && active_session
    {
        candidates.push((Source::Config, None, positive(workspace, Source::Config)?));
    }
    Ok(first_with_shadowed(candidates, |value| value))
}

fn first_with_shadowed<T: ToString, U>(
    candidates: Vec<(Source, Option<String>, T)>,
    convert: impl Fn(T) -> U,
) -> Option<Resolved<U>> {
    let mut candidates = candidates.into_iter();
    let (source, detail, value) = candidates.next()?;
    Some(Resolved {
        value: convert(value),
        source,
        detail,
        shadowed: candidates
            .map(|(source, _, value)| Shadowed {
                source,
                value: value.to_string(),
            })
            .collect(),
    })
}

fn env_region(env: &EnvInputs, present: &'static str) -> Result<Region, Error> {
    let Some(text) = non_empty(&env.region) else {
        return Err(Error::IncompleteEnvironment {
            present,
            missing: "MP_REGION",
        });
    };
    text.trim().parse().map_err(|_| Error::InvalidEnvironment {
        variable: "MP_REGION",
        value: text.to_owned(),
        reason: "expected `us`, `eu` or `in`",
    })
}

fn parse_workspace(text: &str, origin: Source) -> Result<u64, Error> {
    match text.trim().parse::<u64>() {
        Ok(workspace) if workspace > 0 => Ok(workspace),
        _ => Err(Error::InvalidWorkspaceId {
            value: text.to_owned(),
            origin,
        }),
    }
}

fn positive(workspace: u64, origin: Source) -> Result<u64, Error> {
    if workspace == 0 {
        return Err(Error::InvalidWorkspaceId {
            value: "0".to_owned(),
            origin,
        });
    }
    Ok(workspace)
}

fn find_account(inputs: &SessionInputs, name: &str) -> Option<Account> {
    inputs
        .config
        .accounts
        .iter()
        .find(|account| account.name == name)
        .cloned()
        .or_else(|| {
            // A bridge account can be named explicitly too (the bridge is the only config inside
            // a container).
            inputs
                .bridge
                .as_ref()
                .filter(|bridge| bridge.account.name == name)
                .map(|bridge| bridge.account.clone())
        })
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.trim().is_empty())
}

fn sorted(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.collect();
    names.sort();
    names.dedup();
    names
}
