//! The bridge file (version 2): an account with its credentials, carried as one JSON file into
//! an environment that has no config (a container, a VM).
//!
//! ```json
//! {
//!   "version": 2,
//!   "account": {"type": "oauth_browser", "name": "personal", "region": "us", "default_project": "3713224"},
//!   "tokens": {"access_token": "…", "refresh_token": "…", "expires_at": "2026-04-22T12:00:00+00:00",
//!              "token_type": "Bearer", "scope": "read", "client_id": "…"},
//!   "project": "3713224",
//!   "workspace": 3448413,
//!   "headers": {"X-Mixpanel-Cluster": "internal-1"}
//! }
//! ```
//!
//! The schema is the official client's, so either tool reads the other's file, with one
//! addition: `tokens.client_id`, which the official client ignores (its token model ignores
//! unknown keys) and which makes the bridge refresh-capable (`anchor-auth.md` §11.4). `tokens`
//! is present if and only if the account is `oauth_browser`. The file is written `0600` (its
//! directory `0700`) and read with the same checks as every credential file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use mp_http::{Region, Secret};

use crate::account::is_project_id;
use crate::fs;
use crate::store::parse_json;
use crate::{
    Account, AccountKind, BridgeView, Error, StateDir, StoredTokens, TokenSource,
    validate_account_name,
};

/// The bridge file's name in the current directory (the official client's last candidate).
pub const BRIDGE_FILE_NAME: &str = "mixpanel_auth.json";

/// A bridge file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeFile {
    /// The account, credentials included.
    pub account: Account,
    /// For an `oauth_browser` account: its tokens and the client they belong to.
    pub tokens: Option<StoredTokens>,
    /// A project pin.
    pub project: Option<String>,
    /// A workspace pin.
    pub workspace: Option<u64>,
    /// Headers added to every request (the bridge wins over `[settings] custom_header`).
    pub headers: BTreeMap<String, String>,
}

impl BridgeFile {
    /// What the bridge contributes to session resolution.
    pub fn view(&self) -> BridgeView {
        BridgeView {
            account: self.account.clone(),
            project: self.project.clone(),
            workspace: self.workspace,
        }
    }

    /// The JSON document (keys sorted, as the official client writes it).
    pub fn to_json(&self) -> Value {
        let mut document = Map::new();
        document.insert("version".to_owned(), Value::from(2));
        document.insert("account".to_owned(), account_to_json(&self.account));
        if let Some(tokens) = &self.tokens {
            document.insert("tokens".to_owned(), tokens.to_json());
        }
        if let Some(project) = &self.project {
            document.insert("project".to_owned(), Value::from(project.as_str()));
        }
        if let Some(workspace) = self.workspace {
            document.insert("workspace".to_owned(), Value::from(workspace));
        }
        document.insert(
            "headers".to_owned(),
            Value::Object(
                self.headers
                    .iter()
                    .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
                    .collect(),
            ),
        );
        sort_keys(Value::Object(document))
    }

    /// Parses a bridge document; `path` only names the file in errors.
    pub fn from_json(value: &Value, path: &Path) -> Result<BridgeFile, Error> {
        let invalid = |problem: String| Error::InvalidFile {
            path: path.to_path_buf(),
            what: "bridge file",
            problem,
        };
        let Value::Object(document) = value else {
            return Err(invalid("it is not a JSON object".to_owned()));
        };
        for key in document.keys() {
            if !matches!(
                key.as_str(),
                "version" | "account" | "tokens" | "project" | "workspace" | "headers"
            ) {
                return Err(invalid(format!("unknown key `{key}`")));
            }
        }
        if document.get("version").and_then(Value::as_u64) != Some(2) {
            return Err(invalid("`version` must be 2".to_owned()));
        }
        let account = account_from_json(
            document
                .get("account")
                .ok_or_else(|| invalid("`account` is missing".to_owned()))?,
        )
        .map_err(invalid)?;
        let tokens = match (document.get("tokens"), &account.kind) {
            (None | Some(Value::Null), AccountKind::OAuthBrowser) => {
                return Err(invalid(
                    "`tokens` is required for an oauth_browser account".to_owned(),
                ));
            }
            (None | Some(Value::Null), _) => None,
            (Some(tokens), AccountKind::OAuthBrowser) => {
                Some(StoredTokens::from_json(tokens, path, "bridge file")?)
            }
            (Some(_), _) => {
                return Err(invalid(
                    "`tokens` is only allowed for an oauth_browser account".to_owned(),
                ));
            }
        };
        let project = match document.get("project") {
            None | Some(Value::Null) => None,
            Some(Value::String(project)) if is_project_id(project) => Some(project.clone()),
            Some(_) => return Err(invalid("`project` must be a string of digits".to_owned())),
        };
        let workspace = match document.get("workspace") {
            None | Some(Value::Null) => None,
            Some(Value::Number(number)) if number.as_u64().is_some_and(|id| id > 0) => {
                number.as_u64()
            }
            Some(_) => return Err(invalid("`workspace` must be a positive integer".to_owned())),
        };
        let headers = match document.get("headers") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(headers)) => headers
                .iter()
                .map(|(name, value)| match value {
                    Value::String(value) => Ok((name.clone(), value.clone())),
                    _ => Err(invalid(format!("header `{name}` must be a string"))),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("`headers` must be an object".to_owned())),
        };
        Ok(BridgeFile {
            account,
            tokens,
            project,
            workspace,
            headers,
        })
    }
}

/// Where to look for a bridge file, in order: `explicit` (a `--at`/`--bridge` argument), else
/// `MP_AUTH_FILE` alone when it is set and non-empty, else `~/.claude/mixpanel/auth.json` and
/// `<cwd>/mixpanel_auth.json` (the official client's defaults). The caller passes the values it
/// read; `mp-auth` reads no environment.
pub fn bridge_candidates(
    explicit: Option<&Path>,
    auth_file_env: Option<&str>,
    home: Option<&Path>,
    cwd: Option<&Path>,
) -> Vec<PathBuf> {
    if let Some(explicit) = explicit {
        return vec![explicit.to_path_buf()];
    }
    if let Some(auth_file) = auth_file_env.filter(|value| !value.trim().is_empty()) {
        return vec![PathBuf::from(auth_file)];
    }
    let mut candidates = Vec::new();
    if let Some(home) = home {
        candidates.push(home.join(".claude").join("mixpanel").join("auth.json"));
    }
    if let Some(cwd) = cwd {
        candidates.push(cwd.join(BRIDGE_FILE_NAME));
    }
    candidates
}

/// Reads the first candidate that exists; `None` when none does. A candidate that exists but is
/// a link, is readable by others, or is malformed is an error, not a skip.
pub fn find_bridge(candidates: &[PathBuf]) -> Result<Option<(PathBuf, BridgeFile)>, Error> {
    for candidate in candidates {
        if let Some(bridge) = read_bridge(candidate)? {
            return Ok(Some((candidate.clone(), bridge)));
        }
    }
    Ok(None)
}

/// Reads the bridge file at `path`; `None` when it does not exist.
pub fn read_bridge(path: &Path) -> Result<Option<BridgeFile>, Error> {
    let Some(bytes) = fs::read_private_file(path)? else {
        return Ok(None);
    };
    let value = parse_json(&bytes, path, "bridge file")?;
    BridgeFile::from_json(&value, path).map(Some)
}

/// Writes `bridge` to `path` atomically (`0600`), creating its directory (`0700`) if needed
/// (`mp account export-bridge`).
pub fn write_bridge(path: &Path, bridge: &BridgeFile) -> Result<(), Error> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        fs::create_private_dir(parent)?;
    }
    let mut bytes = serde_json::to_vec_pretty(&bridge.to_json()).unwrap_or_default();
    bytes.push(b'\n');
    fs::write_atomic(path, &bytes)
}

/// Removes the bridge file at `path` (`mp account remove-bridge`); returns true if and only if
/// there was one. Idempotent.
pub fn remove_bridge(path: &Path) -> Result<bool, Error> {
    fs::remove_file_if_exists(path)
}

/// Copies a bridge's `oauth_browser` tokens into the token store, but only when they are newer
/// than the stored ones (the official client overwrites on every start, undoing refreshes,
/// `anchor-auth.md` §11.4). Returns true if and only if it wrote.
pub async fn import_bridge_tokens(
    state_dir: &StateDir,
    bridge: &BridgeFile,
) -> Result<bool, Error> {
    let Some(tokens) = &bridge.tokens else {
        return Ok(false);
    };
    let account = &bridge.account.name;
    let _lock = state_dir.lock_tokens(account).await?;
    let newer = match state_dir.load_tokens(account)? {
        None => true,
        Some(stored) => tokens.tokens.expires_at > stored.tokens.expires_at,
    };
    if newer {
        state_dir.write_tokens_locked(account, tokens)?;
    }
    Ok(newer)
}

fn account_to_json(account: &Account) -> Value {
    let mut object = json!({
        "type": account.account_type().as_str(),
        "name": account.name,
        "region": account.region.as_str(),
    });
    let Value::Object(map) = &mut object else {
        unreachable!("json! of an object literal is an object")
    };
    if let Some(project) = &account.default_project {
        map.insert("default_project".to_owned(), Value::from(project.as_str()));
    }
    match &account.kind {
        AccountKind::ServiceAccount { username, secret } => {
            map.insert("username".to_owned(), Value::from(username.as_str()));
            map.insert("secret".to_owned(), Value::from(secret.expose().as_str()));
        }
        AccountKind::OAuthBrowser => {}
        AccountKind::OAuthToken(TokenSource::Inline(token)) => {
            map.insert("token".to_owned(), Value::from(token.expose().as_str()));
        }
        AccountKind::OAuthToken(TokenSource::Env(variable)) => {
            map.insert("token_env".to_owned(), Value::from(variable.as_str()));
        }
    }
    object
}

fn account_from_json(value: &Value) -> Result<Account, String> {
    let Value::Object(object) = value else {
        return Err("`account` is not an object".to_owned());
    };
    let string = |key: &str| -> Result<Option<String>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("`account.{key}` must be a string")),
        }
    };
    let kind_name = string("type")?.ok_or("`account.type` is missing")?;
    let allowed: &[&str] = match kind_name.as_str() {
        "service_account" => &["username", "secret"],
        "oauth_browser" => &[],
        "oauth_token" => &["token", "token_env"],
        _ => {
            return Err(
                "`account.type` must be service_account, oauth_browser or oauth_token".to_owned(),
            );
        }
    };
    for key in object.keys() {
        if !matches!(key.as_str(), "type" | "name" | "region" | "default_project")
            && !allowed.contains(&key.as_str())
        {
            return Err(format!(
                "`account.{key}` is not allowed for a {kind_name} account"
            ));
        }
    }
    let name = string("name")?.ok_or("`account.name` is missing")?;
    validate_account_name(&name).map_err(|error| error.to_string())?;
    let region: Region = string("region")?
        .ok_or("`account.region` is missing")?
        .parse()
        .map_err(|_| "`account.region` must be us, eu or in".to_owned())?;
    let kind = match kind_name.as_str() {
        "service_account" => AccountKind::ServiceAccount {
            username: string("username")?
                .filter(|username| !username.is_empty())
                .ok_or("`account.username` is missing")?,
            secret: Secret::new(string("secret")?.ok_or("`account.secret` is missing")?),
        },
        "oauth_browser" => AccountKind::OAuthBrowser,
        _ => match (string("token")?, string("token_env")?) {
            (Some(token), None) => AccountKind::OAuthToken(TokenSource::Inline(Secret::new(token))),
            (None, Some(variable)) => AccountKind::OAuthToken(TokenSource::Env(variable)),
            _ => {
                return Err(
                    "an oauth_token account needs exactly one of `token` and `token_env`"
                        .to_owned(),
                );
            }
        },
    };
    let default_project = match string("default_project")? {
        Some(project) if is_project_id(&project) => Some(project),
        Some(_) => return Err("`account.default_project` must be digits".to_owned()),
        None => None,
    };
    Ok(Account {
        name,
        region,
        default_project,
        kind,
    })
}

/// Sorts object keys recursively (serde_json keeps insertion order with `preserve_order`).
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(String, Value)> = object.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sort_keys(value)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}
