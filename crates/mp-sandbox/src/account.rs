//! The sandbox's one account: its credentials, its projects and workspaces, and the checks
//! the real service makes before answering (401 for bad credentials, 403 for a project the
//! account cannot see).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use http::HeaderMap;

/// The service-account username the sandbox accepts.
pub const SANDBOX_USERNAME: &str = "sandbox";
/// The service-account secret the sandbox accepts.
pub const SANDBOX_SECRET: &str = "sandbox";

/// The organisation that owns the projects.
pub(crate) const ORGANIZATION_ID: u64 = 1;
pub(crate) const ORGANIZATION_NAME: &str = "Sandbox Org";
/// The identity `/api/app/me` describes.
pub(crate) const USER_ID: u64 = 1;
pub(crate) const USER_EMAIL: &str = "sandbox@example.com";
pub(crate) const USER_NAME: &str = "Sandbox User";

/// A project the account can see.
#[derive(Debug)]
pub(crate) struct Project {
    pub(crate) id: u64,
    pub(crate) name: &'static str,
    pub(crate) workspaces: &'static [Workspace],
}

/// A workspace (data view) of a project.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub(crate) id: u64,
    pub(crate) name: &'static str,
    pub(crate) is_default: bool,
    pub(crate) is_global: bool,
    pub(crate) is_restricted: bool,
    pub(crate) description: &'static str,
}

/// Projects 1 and 2. Project 1 has its default workspace 1 and a restricted workspace 3, so
/// that workspace pinning has something to choose between.
pub(crate) const PROJECTS: [Project; 2] = [
    Project {
        id: 1,
        name: "Sandbox Shop",
        workspaces: &[
            Workspace {
                id: 1,
                name: "All Project Data",
                is_default: true,
                is_global: true,
                is_restricted: false,
                description: "Every event and profile of the project",
            },
            Workspace {
                id: 3,
                name: "Sandbox Staging",
                is_default: false,
                is_global: false,
                is_restricted: true,
                description: "A second data view, for workspace-pinning tests",
            },
        ],
    },
    Project {
        id: 2,
        name: "Sandbox Lab",
        workspaces: &[Workspace {
            id: 2,
            name: "All Project Data",
            is_default: true,
            is_global: true,
            is_restricted: false,
            description: "Every event and profile of the project",
        }],
    },
];

/// Returns the project with this id, if the account can see it.
pub(crate) fn project(id: u64) -> Option<&'static Project> {
    PROJECTS.iter().find(|project| project.id == id)
}

/// How a request authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    /// HTTP Basic with the sandbox's service account.
    ServiceAccount,
    /// A Bearer token: registered with [`crate::Sandbox::register_bearer_token`], or an
    /// access token issued by the OAuth token endpoint and not yet expired.
    Bearer,
}

/// One accepted Bearer token.
#[derive(Debug, Clone, Copy)]
struct BearerToken {
    /// `None` for tokens registered by tests, which never expire.
    expires_at: Option<tokio::time::Instant>,
    /// Issued by the OAuth token endpoint.
    oauth: bool,
}

/// The Bearer tokens a sandbox accepts.
///
/// Expiry is measured on tokio's clock, so tests on a paused clock can advance past it.
#[derive(Debug, Default)]
pub(crate) struct BearerTokens {
    tokens: Mutex<HashMap<String, BearerToken>>,
}

impl BearerTokens {
    /// Accepts `token` until removed.
    pub(crate) fn insert(&self, token: String) {
        self.lock().insert(
            token,
            BearerToken {
                expires_at: None,
                oauth: false,
            },
        );
    }

    /// Accepts an OAuth access token until `expires_at`.
    pub(crate) fn insert_oauth(&self, token: String, expires_at: tokio::time::Instant) {
        // Expired tokens are forgotten here, so that the map does not grow with every refresh
        // of a long-running sandbox.
        let now = tokio::time::Instant::now();
        let mut tokens = self.lock();
        tokens.retain(|_, entry| entry.expires_at.is_none_or(|at| at > now));
        tokens.insert(
            token,
            BearerToken {
                expires_at: Some(expires_at),
                oauth: true,
            },
        );
    }

    pub(crate) fn remove(&self, token: &str) -> bool {
        self.lock().remove(token).is_some()
    }

    /// Makes every OAuth access token issued so far expire now.
    pub(crate) fn expire_oauth(&self) -> usize {
        let now = tokio::time::Instant::now();
        let mut expired = 0;
        for entry in self.lock().values_mut().filter(|entry| entry.oauth) {
            if entry.expires_at.is_none_or(|at| at > now) {
                expired += 1;
            }
            entry.expires_at = Some(now);
        }
        expired
    }

    fn is_valid(&self, token: &str) -> bool {
        let now = tokio::time::Instant::now();
        self.lock()
            .get(token)
            .is_some_and(|entry| entry.expires_at.is_none_or(|at| now < at))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BearerToken>> {
        // Every update is a single map operation: a poisoned map is still consistent.
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Checks the `Authorization` header. Returns `None` when the credentials are missing or
/// wrong, which the caller answers with 401.
///
/// Mixpanel documents that its Basic authentication "accepts both base64 encoding and
/// plain-text", so `Basic sandbox:sandbox` is accepted as well as the base64 form.
pub(crate) fn authenticate(
    headers: &HeaderMap,
    bearer_tokens: &BearerTokens,
) -> Option<Credential> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let pair = decoded.as_deref().unwrap_or(credentials);
        let (username, secret) = pair.split_once(':')?;
        (username == SANDBOX_USERNAME && secret == SANDBOX_SECRET)
            .then_some(Credential::ServiceAccount)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        bearer_tokens
            .is_valid(credentials)
            .then_some(Credential::Bearer)
    } else {
        None
    }
}
