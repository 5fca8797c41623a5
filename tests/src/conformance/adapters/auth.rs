//! Bindings of the auth apis (issue 3): `mp_auth`'s OAuth refresh, region probing and workspace resolution.
//!
//! | api | our call | result |
//! |---|---|---|
//! | `oauth_flow.refresh_tokens` | `OAuthClient::refresh` on the OAuth base of the region of the first recorded host | `{access_token, expires_at, refresh_token, scope, token_type}` with `SecretStr` and `datetime` tags |
//! | `region_probe.probe_region` | `probe_regions_in_order` (the sequential, vector-compatible path; production uses the concurrent `probe_regions`, same classification) | `{attempts: [[region, status]…], region}` |
//! | `api_client.projects_metadata_index` | `projects_metadata_index` | the index object |
//! | `api_client.resolve_workspace_id` | `WorkspaceResolver::resolve_workspace_id` (one resolver per vector: it remembers across setup calls) | the id |
//! | `api_client.resolve_workspace` | `WorkspaceResolver::resolve_workspace` | `{id, name, is_default, project_id: null}` |
//! | `api_client.list_workspaces` | `list_workspaces` for the client's project | every `PublicWorkspace`, all ten fields |
//! | `api_client.require_scoped_path` | `WorkspaceResolver::require_scoped_path` | the path |
//!
//! Errors: `mp_auth::Error::RefreshRevoked` → `OAuthError`/`OAUTH_REFRESH_REVOKED`; every other token endpoint
//! failure → `OAuthError`/`OAUTH_REFRESH_ERROR` with the official client's detail keys per failure; region probe
//! failures → `RegionProbeError`/`OAUTH_REGION_PROBE_FAILED` or `RegionProbeNetworkError`/`OAUTH_NETWORK_UNREACHABLE`
//! with `attempts` (`[region, 0, "ConnectError: …"]` for an unreachable region); no workspace →
//! `WorkspaceScopeError`/`NO_WORKSPACES` with `project_id`; an invalid workspace entry →
//! `ResponseValidationError`/`RESPONSE_VALIDATION_ERROR` with Pydantic's `errors` (`input`, `loc`, `msg`, `type`) and
//! `model: "PublicWorkspace"`; a workspace list that is not a list → `MixpanelHeadlessError`/`UNKNOWN_ERROR` (the
//! official client fails there while iterating, outside its validation); HTTP errors as the generic executor reports
//! them.
//!
//! One deliberate difference: our token payload redaction also hides keys that merely look token-bearing (anything
//! with `token` but `token_type`, `secret`, `password`, `code`), where the official client redacts exactly
//! `access_token`, `refresh_token` and `id_token`; a vector with such a key in a malformed payload would differ.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use mp_auth::{
    Error, FieldIssue, OAuthClient, OAuthFailure, ProbeOutcome, Secret, TokenSet,
    WorkspaceListProblem, WorkspaceResolver, list_workspaces, probe_regions_in_order,
    projects_metadata_index,
};
use mp_http::{ClientBuilder, Endpoints, Region, RetryPolicy};

use super::super::VectorContext;
use super::super::errors::{DetailStyle, encode_http_error, error_value, transport_class};
use super::super::replay::frozen_clock;
use super::Args;

/// The official client's `probe_region` timeout when none is passed.
const DEFAULT_PROBE_TIMEOUT_SECONDS: f64 = 5.0;

/// A decoded auth call.
#[derive(Debug, Clone)]
pub enum AuthCall {
    /// `oauth_flow.refresh_tokens`.
    RefreshTokens {
        /// The tokens to refresh.
        tokens: TokenSet,
        /// The OAuth client they belong to.
        client_id: String,
        /// The account, for error messages.
        account_name: Option<String>,
    },
    /// `region_probe.probe_region`.
    ProbeRegion {
        /// The name of the `client_factory` callback.
        factory: String,
        /// The `Authorization` header to send, if any.
        authorization: Option<String>,
        /// The regions, in order.
        order: Vec<Region>,
        /// The per-region timeout.
        timeout: Duration,
    },
    /// `api_client.projects_metadata_index`.
    ProjectsMetadataIndex,
    /// `api_client.resolve_workspace_id`.
    ResolveWorkspaceId,
    /// `api_client.resolve_workspace`.
    ResolveWorkspace,
    /// `api_client.list_workspaces`.
    ListWorkspaces,
    /// `api_client.require_scoped_path`.
    RequireScopedPath(String),
}

impl AuthCall {
    /// Returns true if and only if the call needs the client built from `call.session`.
    pub(super) fn needs_client(&self) -> bool {
        !matches!(
            self,
            AuthCall::RefreshTokens { .. } | AuthCall::ProbeRegion { .. }
        )
    }
}

/// The workspace resolver of one vector, kept in the context's adapter state across setup calls.
#[derive(Debug, Default)]
struct VectorResolver(Arc<WorkspaceResolver>);

/// Returns true if and only if `api` is bound here.
pub(super) fn binds(api: &str) -> bool {
    matches!(
        api,
        "oauth_flow.refresh_tokens"
            | "region_probe.probe_region"
            | "api_client.projects_metadata_index"
            | "api_client.resolve_workspace_id"
            | "api_client.resolve_workspace"
            | "api_client.list_workspaces"
            | "api_client.require_scoped_path"
    )
}

/// Decodes the arguments of `api` (one of [`binds`]).
pub(super) fn bind(api: &str, args: &mut Args<'_>) -> Result<AuthCall, String> {
    Ok(match api {
        "oauth_flow.refresh_tokens" => {
            let tokens = args
                .take("tokens")
                .ok_or("`oauth_flow.refresh_tokens` needs `tokens`")?;
            AuthCall::RefreshTokens {
                tokens: decode_tokens(&tokens)?,
                client_id: args.required_string("client_id")?,
                account_name: args.string("account_name")?,
            }
        }
        "region_probe.probe_region" => {
            let factory = match args.take("client_factory") {
                Some(Value::Object(tag)) if tag.get("$type") == Some(&Value::from("callback")) => {
                    tag.get("name")
                        .and_then(Value::as_str)
                        .ok_or("the `client_factory` callback has no name")?
                        .to_owned()
                }
                other => {
                    return Err(format!(
                        "`client_factory` must be a callback, got {other:?}"
                    ));
                }
            };
            let mut authorization = None;
            for (name, value) in args.object("headers")?.unwrap_or_default() {
                match (name.to_ascii_lowercase().as_str(), value) {
                    ("authorization", Value::String(value)) => authorization = Some(value),
                    (other, _) => return Err(format!("probe header `{other}` is not bound")),
                }
            }
            let order = match args.string_list("order")? {
                None => mp_auth::DEFAULT_PROBE_ORDER.to_vec(),
                Some(regions) => regions
                    .iter()
                    .map(|region| {
                        region
                            .parse::<Region>()
                            .map_err(|_| format!("unknown region `{region}`"))
                    })
                    .collect::<Result<_, _>>()?,
            };
            let timeout = match args.take("timeout_seconds") {
                None | Some(Value::Null) => DEFAULT_PROBE_TIMEOUT_SECONDS,
                Some(Value::Number(seconds)) => seconds
                    .as_f64()
                    .ok_or("`timeout_seconds` is not a number")?,
                Some(other) => {
                    return Err(format!("`timeout_seconds` must be a number, got {other}"));
                }
            };
            if !(timeout.is_finite() && timeout > 0.0) {
                return Err(format!(
                    "`timeout_seconds` {timeout} is not a positive duration"
                ));
            }
            AuthCall::ProbeRegion {
                factory,
                authorization,
                order,
                timeout: Duration::from_secs_f64(timeout),
            }
        }
        "api_client.projects_metadata_index" => AuthCall::ProjectsMetadataIndex,
        "api_client.resolve_workspace_id" => AuthCall::ResolveWorkspaceId,
        "api_client.resolve_workspace" => AuthCall::ResolveWorkspace,
        "api_client.list_workspaces" => AuthCall::ListWorkspaces,
        "api_client.require_scoped_path" => {
            AuthCall::RequireScopedPath(args.required_string("domain_path")?)
        }
        other => return Err(format!("no binding for `{other}`")),
    })
}

/// Runs a bound auth call.
pub(super) async fn execute(call: AuthCall, context: &mut VectorContext) -> Result<Value, Value> {
    match call {
        AuthCall::RefreshTokens {
            tokens,
            client_id,
            account_name,
        } => refresh_tokens(context, &tokens, &client_id, account_name.as_deref()).await,
        AuthCall::ProbeRegion {
            factory,
            authorization,
            order,
            timeout,
        } => probe_region(context, &factory, authorization, &order, timeout).await,
        AuthCall::ProjectsMetadataIndex => projects_metadata_index(&client(context)?)
            .await
            .map(Value::Object)
            .map_err(|error| encode_auth_error(&error)),
        AuthCall::ResolveWorkspaceId => {
            let resolver = resolver(context);
            resolver
                .resolve_workspace_id(&client(context)?)
                .await
                .map(Value::from)
                .map_err(|error| encode_auth_error(&error))
        }
        AuthCall::ResolveWorkspace => {
            let resolver = resolver(context);
            let workspace = resolver
                .resolve_workspace(&client(context)?)
                .await
                .map_err(|error| encode_auth_error(&error))?;
            // The official `WorkspaceRef` built here leaves `project_id` unset.
            Ok(
                json!({"id": workspace.id, "name": workspace.name, "is_default": workspace.is_default, "project_id": null}),
            )
        }
        AuthCall::ListWorkspaces => {
            let client = client(context)?;
            let project_id = client
                .project_id()
                .ok_or_else(|| error_value("RunnerError", Some("NO_PROJECT"), Map::new()))?
                .to_owned();
            let workspaces = list_workspaces(&client, &project_id)
                .await
                .map_err(|error| encode_auth_error(&error))?;
            serde_json::to_value(workspaces)
                .map_err(|error| error_value("RunnerError", Some(&error.to_string()), Map::new()))
        }
        AuthCall::RequireScopedPath(domain_path) => {
            let resolver = resolver(context);
            resolver
                .require_scoped_path(&client(context)?, &domain_path)
                .await
                .map(Value::from)
                .map_err(|error| encode_auth_error(&error))
        }
    }
}

fn client(context: &VectorContext) -> Result<mp_http::Client, Value> {
    context
        .client
        .clone()
        .ok_or_else(|| error_value("RunnerError", Some("NO_SESSION"), Map::new()))
}

fn resolver(context: &mut VectorContext) -> Arc<WorkspaceResolver> {
    Arc::clone(&context.adapter_state.get_or_default::<VectorResolver>().0)
}

async fn refresh_tokens(
    context: &VectorContext,
    tokens: &TokenSet,
    client_id: &str,
    account_name: Option<&str>,
) -> Result<Value, Value> {
    // §3.7: the flow's region is the one whose OAuth host the recording went to (us when none matches).
    let region = match context.transport.next_scheme_host().as_deref() {
        Some("https://eu.mixpanel.com") => Region::Eu,
        Some("https://in.mixpanel.com") => Region::In,
        _ => Region::Us,
    };
    let http = ClientBuilder::new(Endpoints::regional(region))
        .with_transport(Arc::clone(&context.transport) as Arc<dyn mp_http::Transport>)
        .with_clock(Arc::new(frozen_clock()))
        .with_retry_policy(RetryPolicy::mixpanel_headless_compatible(3))
        .build()
        .map_err(|error| error_value("RunnerError", Some(&error.to_string()), Map::new()))?;
    let refreshed = OAuthClient::new(http)
        .refresh(tokens, client_id, account_name)
        .await
        .map_err(|error| encode_refresh_error(&error, account_name))?;
    Ok(json!({
        "access_token": secret_tag(&refreshed.access_token),
        "expires_at": datetime_tag(refreshed.expires_at),
        "refresh_token": refreshed.refresh_token.as_ref().map_or(Value::Null, secret_tag),
        "scope": refreshed.scope,
        "token_type": refreshed.token_type,
    }))
}

async fn probe_region(
    context: &VectorContext,
    factory_name: &str,
    authorization: Option<String>,
    order: &[Region],
    timeout: Duration,
) -> Result<Value, Value> {
    // The recording stub logs `[region]` for every client the probe asks for (§3.7, §8.3).
    let stub = Mutex::new(context.callbacks.stub(factory_name));
    let transport = Arc::clone(&context.transport);
    let factory = |region: Region| -> Result<mp_http::Client, mp_http::Error> {
        (stub.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))(vec![Value::from(
            region.as_str(),
        )]);
        let host = transport
            .next_scheme_host()
            .unwrap_or_else(|| "https://test.invalid".to_owned());
        ClientBuilder::new(Endpoints::with_overrides(region, Some(&host), None)?)
            .with_transport(Arc::clone(&transport) as Arc<dyn mp_http::Transport>)
            .with_clock(Arc::new(frozen_clock()))
            .build()
    };
    let authorization = authorization.map(Secret::new);
    let probe = probe_regions_in_order(&factory, authorization.as_ref(), order, timeout, |_| {})
        .await
        .map_err(|error| encode_auth_error(&error))?;
    let attempts: Vec<Value> = probe
        .attempts
        .iter()
        .map(|attempt| json!([attempt.region.as_str(), attempt.status()]))
        .collect();
    Ok(json!({"attempts": attempts, "region": probe.region.as_str()}))
}

/// A token endpoint failure as the official `OAuthFlow.refresh_tokens` raises it.
fn encode_refresh_error(error: &Error, account_name: Option<&str>) -> Value {
    let mut details = Map::new();
    let code = match error {
        Error::RefreshRevoked {
            status,
            response_body,
            account,
        } => {
            details.insert("status_code".to_owned(), Value::from(*status));
            details.insert(
                "response_body".to_owned(),
                Value::from(response_body.as_str()),
            );
            details.insert(
                "account_name".to_owned(),
                account.as_deref().map_or(Value::Null, Value::from),
            );
            "OAUTH_REFRESH_REVOKED"
        }
        Error::OAuthEndpoint { url, failure, .. } => {
            match &**failure {
                OAuthFailure::Transport => {
                    details.insert("url".to_owned(), Value::from(url.as_str()));
                }
                OAuthFailure::Status { status, body, .. } => {
                    details.insert("status_code".to_owned(), Value::from(*status));
                    details.insert("response_body".to_owned(), Value::from(body.as_str()));
                    if let Some(account_name) = account_name {
                        details.insert("account_name".to_owned(), Value::from(account_name));
                    }
                }
                OAuthFailure::NotJson {
                    content_type,
                    body_length,
                } => {
                    details.insert("body_length".to_owned(), Value::from(*body_length));
                    details.insert(
                        "content_type".to_owned(),
                        content_type.as_deref().map_or(Value::Null, Value::from),
                    );
                }
                OAuthFailure::NotObject => {
                    details.insert(
                        "response_data".to_owned(),
                        Value::from("<redacted non-object body>"),
                    );
                }
                OAuthFailure::MissingFields { redacted, .. } => {
                    details.insert(
                        "response_data".to_owned(),
                        Value::from(python_repr(&Value::Object(redacted.clone()))),
                    );
                }
                other => {
                    return error_value("UnmappedError", Some(&format!("{other:?}")), Map::new());
                }
            }
            "OAUTH_REFRESH_ERROR"
        }
        Error::NoRefreshToken { .. } => {
            if let Some(account_name) = account_name {
                details.insert("account_name".to_owned(), Value::from(account_name));
            }
            "OAUTH_REFRESH_ERROR"
        }
        other => return encode_auth_error(other),
    };
    error_value("OAuthError", Some(code), details)
}

/// Every other `mp_auth` error: region probing, workspace scope, and HTTP errors as the generic executor reports them.
fn encode_auth_error(error: &Error) -> Value {
    match error {
        Error::Http(error) => encode_http_error(error, DetailStyle::Executor),
        Error::NoWorkspaces { project_id } => {
            let mut details = Map::new();
            details.insert("project_id".to_owned(), Value::from(project_id.as_str()));
            error_value("WorkspaceScopeError", Some("NO_WORKSPACES"), details)
        }
        Error::InvalidWorkspaceList { problem, .. } => {
            encode_workspace_list_problem(problem.as_ref())
        }
        Error::RegionProbeFailed { attempts } | Error::RegionsUnreachable { attempts } => {
            let attempts: Vec<Value> = attempts
                .iter()
                .map(|attempt| {
                    let body = match &attempt.outcome {
                        ProbeOutcome::Accepted => String::new(),
                        ProbeOutcome::Rejected { body, .. } => body.clone(),
                        ProbeOutcome::Unreachable { kind, message } => {
                            format!("{}: {message}", transport_class(*kind))
                        }
                    };
                    json!([attempt.region.as_str(), attempt.status(), body])
                })
                .collect();
            let mut details = Map::new();
            details.insert("attempts".to_owned(), Value::Array(attempts));
            let (class, code) = if matches!(error, Error::RegionsUnreachable { .. }) {
                ("RegionProbeNetworkError", "OAUTH_NETWORK_UNREACHABLE")
            } else {
                ("RegionProbeError", "OAUTH_REGION_PROBE_FAILED")
            };
            error_value(class, Some(code), details)
        }
        other => error_value("UnmappedError", Some(&other.to_string()), Map::new()),
    }
}

/// An invalid workspace list as the official `list_workspaces` raises it: Pydantic's validation errors of the first
/// invalid entry (`loc` is the field; `input` the whole entry for a missing field, else the field's value), or, when
/// the answer is not a list at all, the generic `UNKNOWN_ERROR` without details.
fn encode_workspace_list_problem(problem: &WorkspaceListProblem) -> Value {
    let errors: Vec<Value> = match problem {
        WorkspaceListProblem::NotAList { .. } => {
            return error_value("MixpanelHeadlessError", Some("UNKNOWN_ERROR"), Map::new());
        }
        WorkspaceListProblem::EntryNotObject { entry, .. } => vec![json!({
            "input": entry,
            "loc": [],
            "msg": "Input should be a valid dictionary or instance of PublicWorkspace",
            "type": "model_type",
        })],
        WorkspaceListProblem::InvalidEntry { entry, issues, .. } => issues
            .iter()
            .map(|issue| match issue {
                FieldIssue::Missing(field) => json!({
                    "input": entry,
                    "loc": [field],
                    "msg": "Field required",
                    "type": "missing",
                }),
                FieldIssue::WrongType { field, expected } => {
                    let (kind, msg) = match *expected {
                        "integer" => ("int_type", "Input should be a valid integer"),
                        "string" => ("string_type", "Input should be a valid string"),
                        _ => ("bool_type", "Input should be a valid boolean"),
                    };
                    json!({
                        "input": entry.get(*field).cloned().unwrap_or(Value::Null),
                        "loc": [field],
                        "msg": msg,
                        "type": kind,
                    })
                }
            })
            .collect(),
        other => {
            return error_value("UnmappedError", Some(&other.to_string()), Map::new());
        }
    };
    let mut details = Map::new();
    details.insert("errors".to_owned(), Value::Array(errors));
    details.insert("model".to_owned(), Value::from("PublicWorkspace"));
    error_value(
        "ResponseValidationError",
        Some("RESPONSE_VALIDATION_ERROR"),
        details,
    )
}

/// Decodes an `OAuthTokens` tag (`SecretStr` and `datetime` fields).
fn decode_tokens(value: &Value) -> Result<TokenSet, String> {
    let object = value
        .as_object()
        .filter(|object| object.get("$type") == Some(&Value::from("OAuthTokens")))
        .ok_or("`tokens` must be an `OAuthTokens` tag")?;
    for key in object.keys() {
        if !matches!(
            key.as_str(),
            "$type" | "access_token" | "refresh_token" | "expires_at" | "scope" | "token_type"
        ) {
            return Err(format!("`OAuthTokens` field `{key}` is not bound"));
        }
    }
    let secret = |key: &str| -> Result<Option<Secret<String>>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(tag)) if tag.get("$type") == Some(&Value::from("SecretStr")) => tag
                .get("value")
                .and_then(Value::as_str)
                .map(|value| Some(Secret::new(value.to_owned())))
                .ok_or(format!("`{key}` has no value")),
            Some(other) => Err(format!("`{key}` must be a `SecretStr` tag, got {other}")),
        }
    };
    let expires_at = object
        .get("expires_at")
        .and_then(|tag| tag.get("iso"))
        .and_then(Value::as_str)
        .and_then(mp_auth::parse_timestamp)
        .ok_or("`expires_at` must be an aware `datetime` tag")?;
    let text = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(TokenSet {
        access_token: secret("access_token")?.ok_or("`access_token` is missing")?,
        refresh_token: secret("refresh_token")?,
        expires_at,
        token_type: text("token_type"),
        scope: text("scope"),
    })
}

fn secret_tag(secret: &Secret<String>) -> Value {
    json!({"$type": "SecretStr", "value": secret.expose()})
}

/// A `datetime` tag with Python's `isoformat()` of an aware UTC time.
fn datetime_tag(time: SystemTime) -> Value {
    json!({"$type": "datetime", "iso": mp_auth::format_timestamp(time)})
}

/// Python's `str()` of a dict of JSON values, with our `REDACTED` marker rendered as the official `'<redacted>'`.
fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(integer), _, _) => integer.to_string(),
            (_, Some(integer), _) => integer.to_string(),
            (_, _, Some(float)) => {
                super::super::format_float(float).unwrap_or_else(|_| float.to_string())
            }
            _ => number.to_string(),
        },
        Value::String(text) if text == "REDACTED" => "'<redacted>'".to_owned(),
        Value::String(text) => python_str_repr(text),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(object) => format!(
            "{{{}}}",
            object
                .iter()
                .map(|(key, value)| format!("{}: {}", python_str_repr(key), python_repr(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `repr()` of a string: single quotes unless the text has a `'` and no `"`.
fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            character if character == quote => {
                out.push('\\');
                out.push(character);
            }
            character if (character as u32) < 0x20 || character as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", character as u32));
            }
            character => out.push(character),
        }
    }
    out.push(quote);
    out
}
