//! The cache of dynamic client registrations: one OAuth client per (OAuth base, redirect URI).
//!
//! Mixpanel's official client keeps one client per region and overwrites it whenever the
//! callback port (hence the redirect URI) changes, which strands every other account's refresh
//! token on a client that is no longer known (`anchor-auth.md` §11.2). Here a registration is
//! never overwritten: a new redirect URI adds an entry, and each account keeps the `client_id`
//! its tokens were issued to next to the tokens, so refreshes never depend on this cache.
//!
//! The key includes the OAuth base URL rather than just the region, so a sandbox
//! (`http://127.0.0.1:PORT/oauth/`) and Mixpanel never share a client id.

use std::path::Path;
use std::time::SystemTime;

use serde_json::{Value, json};

use mp_http::Region;

use crate::fs::{self, FileLock};
use crate::store::parse_json;
use crate::{Error, OAuthClient, StateDir, time};

/// One registered OAuth client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    /// The OAuth base it was registered with (`https://mixpanel.com/oauth/`).
    pub oauth_base: String,
    /// The region of that base.
    pub region: Region,
    /// The redirect URI it was registered for.
    pub redirect_uri: String,
    /// The client id Mixpanel issued.
    pub client_id: String,
    /// When it was registered.
    pub registered_at: SystemTime,
}

/// Returns the cached registration for `oauth`'s base and `redirect_uri`, registering (and
/// caching) a new client when there is none.
///
/// The cache is read and written under its lock, and the registration request is made while the
/// lock is held, so two logins started at once register once.
pub async fn ensure_registered(
    oauth: &OAuthClient,
    state_dir: &StateDir,
    redirect_uri: &str,
) -> Result<ClientRegistration, Error> {
    let path = state_dir.registrations_path();
    let directory = path.parent().unwrap_or(state_dir.root());
    fs::create_private_dir(state_dir.root())?;
    fs::create_private_dir(directory)?;
    let _lock = FileLock::acquire_async(fs::lock_path_for(&path)).await?;
    let oauth_base = oauth.oauth_base();
    let mut registrations = read_registrations(&path)?;
    if let Some(found) = registrations
        .iter()
        .find(|entry| entry.oauth_base == oauth_base && entry.redirect_uri == redirect_uri)
    {
        tracing::debug!(redirect_uri, "reusing the cached OAuth client registration");
        return Ok(found.clone());
    }
    tracing::debug!(redirect_uri, "registering an OAuth client");
    let client_id = oauth.register(redirect_uri).await?;
    let registration = ClientRegistration {
        oauth_base,
        region: oauth.region(),
        redirect_uri: redirect_uri.to_owned(),
        client_id,
        registered_at: oauth.http().clock().now(),
    };
    registrations.push(registration.clone());
    write_registrations(&path, &registrations)?;
    Ok(registration)
}

/// Every cached registration, oldest first.
pub fn cached_registrations(state_dir: &StateDir) -> Result<Vec<ClientRegistration>, Error> {
    read_registrations(&state_dir.registrations_path())
}

/// The most recent registration for `oauth_base`: the fallback `client_id` for tokens that do
/// not name theirs (token files written by other tools, old bridge files).
pub(crate) fn latest_client_id(
    state_dir: &StateDir,
    oauth_base: &str,
) -> Result<Option<String>, Error> {
    Ok(cached_registrations(state_dir)?
        .into_iter()
        .rev()
        .find(|entry| entry.oauth_base == oauth_base)
        .map(|entry| entry.client_id))
}

fn read_registrations(path: &Path) -> Result<Vec<ClientRegistration>, Error> {
    let Some(bytes) = fs::read_private_file(path)? else {
        return Ok(Vec::new());
    };
    let value = parse_json(&bytes, path, "client registration cache")?;
    let invalid = |problem: &str| Error::InvalidFile {
        path: path.to_path_buf(),
        what: "client registration cache",
        problem: problem.to_owned(),
    };
    let entries = value
        .get("clients")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("`clients` is missing"))?;
    let mut registrations = Vec::with_capacity(entries.len());
    for entry in entries {
        let text = |key: &str| entry.get(key).and_then(Value::as_str);
        let (Some(oauth_base), Some(region), Some(redirect_uri), Some(client_id)) = (
            text("oauth_base"),
            text("region").and_then(|region| region.parse::<Region>().ok()),
            text("redirect_uri"),
            text("client_id"),
        ) else {
            return Err(invalid(
                "an entry lacks `oauth_base`, `region`, `redirect_uri` or `client_id`",
            ));
        };
        registrations.push(ClientRegistration {
            oauth_base: oauth_base.to_owned(),
            region,
            redirect_uri: redirect_uri.to_owned(),
            client_id: client_id.to_owned(),
            registered_at: text("registered_at")
                .and_then(time::parse)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        });
    }
    Ok(registrations)
}

fn write_registrations(path: &Path, registrations: &[ClientRegistration]) -> Result<(), Error> {
    let clients: Vec<Value> = registrations
        .iter()
        .map(|entry| {
            json!({
                "oauth_base": entry.oauth_base,
                "region": entry.region.as_str(),
                "redirect_uri": entry.redirect_uri,
                "client_id": entry.client_id,
                "registered_at": time::format_utc(entry.registered_at),
            })
        })
        .collect();
    let document = json!({"version": 1, "clients": clients});
    let bytes = serde_json::to_vec_pretty(&document).unwrap_or_default();
    fs::write_atomic(path, &bytes)
}
