//! `mp-auth` is everything `mp` knows about Mixpanel credentials: accounts, the OAuth browser
//! login (PKCE, dynamic client registration, a loopback callback), the token store with locked,
//! exactly-once refresh, session resolution, the bridge file, `/me`, the lazy default
//! workspace, and region probing.
//!
//! # What it is not
//!
//! It reads no environment variable, resolves no home directory, prints nothing and opens no
//! browser: the caller (mp-cli) reads the environment into [`EnvInputs`], passes the state
//! directory in ([`StateDir`], usually `~/.mp`), prints the authorize URL and implements
//! [`BrowserOpener`]. It talks HTTP only through `mp-http` (its one `mp` dependency), and it
//! never reads or writes the config file: that is `mp-config`'s, and the caller converts config
//! accounts into [`Account`]s. Every credential is a [`Secret`], whose `Debug` prints
//! `REDACTED`; no error, log line or `Debug` output contains a token, secret or verifier.
//!
//! # Main types, in reading order
//!
//! - [`Account`] ([`AccountKind`], [`TokenSource`]): a credential bound to a region, and
//!   [`Account::authenticator`], which turns it into an [`mp_http::Authenticator`]:
//!   [`ServiceAccountAuth`] (Basic), [`BearerTokenAuth`], [`EnvTokenAuth`], or
//!   [`OAuthBrowserAuth`] (Bearer from the token store, refreshed under a lock).
//! - [`resolve_session`] and its inputs ([`SessionInputs`]: [`EnvInputs`], [`ParamInputs`],
//!   [`ConfigView`], [`BridgeView`]): which account, project and workspace, and from which
//!   [`Source`]; [`BridgeFile`] reads and writes the bridge.
//! - The browser login: [`start_browser_login`] → [`PendingLogin`] → [`LoginResult`], built on
//!   [`OAuthClient`] (registration, authorize URL, code exchange, refresh), [`Pkce`],
//!   [`CallbackServer`] and [`ensure_registered`].
//! - [`StateDir`]: tokens ([`StoredTokens`], [`TokenSet`]), the `/me` cache and registrations.
//! - [`MeCache`] and [`Me`]: `/api/app/me`, cached in memory and for 24 hours on disk;
//!   [`WorkspaceResolver`]: the lazy default workspace; [`list_workspaces`]: a project's
//!   workspaces ([`PublicWorkspace`]).
//! - [`probe_regions`]: which region a service account or token belongs to.
//! - [`Error`], with [`Error::hint`].
//!
//! ```
//! use std::sync::Arc;
//! use mp_auth::{Secret, ServiceAccountAuth};
//!
//! let auth = ServiceAccountAuth::new("sa.user", Secret::new("s3cret".to_owned()));
//! assert!(!format!("{auth:?}").contains("s3cret"));
//! let _builder = mp_http::ClientBuilder::new(mp_http::Endpoints::regional(mp_http::Region::Us))
//!     .with_authenticator(Arc::new(auth));
//! ```

#![deny(missing_docs)]

mod account;
mod basic;
mod bridge;
mod callback;
mod error;
mod fs;
mod login;
mod me;
mod oauth;
mod pkce;
mod probe;
mod refresh;
mod registration;
mod session;
mod store;
mod time;
mod tokens;
mod urlenc;
mod workspace;

#[cfg(test)]
mod tests;

pub use crate::{
    account::{
        Account, AccountKind, AccountType, ENV_OAUTH_TOKEN_NAME, ENV_SERVICE_ACCOUNT_NAME,
        TokenSource, derive_account_name, validate_account_name,
    },
    basic::{BearerTokenAuth, EnvLookup, EnvTokenAuth, ServiceAccountAuth},
    bridge::{
        BRIDGE_FILE_NAME, BridgeFile, bridge_candidates, find_bridge, import_bridge_tokens,
        read_bridge, remove_bridge, write_bridge,
    },
    callback::{CALLBACK_PATH, CallbackServer, DEFAULT_CALLBACK_PORTS, DEFAULT_CALLBACK_TIMEOUT},
    error::{Error, OAuthFailure, OAuthOperation},
    login::{
        BrowserOpener, LoginOptions, LoginResult, PendingLogin, parse_pasted_redirect,
        start_browser_login,
    },
    me::{
        ME_CACHE_TTL, Me, MeCache, MeOrganization, MeProject, MeRefresh, MeWorkspace, fetch_me,
        region_from_domain,
    },
    oauth::{OAuthClient, REGISTRATION_SCOPE},
    pkce::{Pkce, constant_time_eq, generate_state},
    probe::{
        DEFAULT_PROBE_ORDER, DEFAULT_PROBE_TIMEOUT, ProbeAttempt, ProbeClientFactory, ProbeOutcome,
        RegionProbe, classify as classify_probe, probe_regions, probe_regions_in_order,
    },
    refresh::{AuthContext, OAuthBrowserAuth, RefreshReason},
    registration::{ClientRegistration, cached_registrations, ensure_registered},
    session::{
        Axis, BridgeView, ConfigView, EnvInputs, EnvOverride, ParamInputs, Resolved, Session,
        SessionInputs, Shadowed, Source, TargetView, resolve_account, resolve_project,
        resolve_session, resolve_target, resolve_workspace,
    },
    store::StateDir,
    time::{format_utc as format_timestamp, parse as parse_timestamp},
    tokens::{EXPIRY_TOLERANCE, StoredTokens, TokenSet},
    workspace::{
        FieldIssue, PublicWorkspace, WorkspaceListProblem, WorkspaceResolver, WorkspaceView,
        list_workspaces, projects_metadata_index, select_workspace,
    },
};
pub use mp_http::Secret;
