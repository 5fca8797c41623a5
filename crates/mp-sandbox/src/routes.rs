//! The route table and the request pipeline.
//!
//! Every request goes through the same steps, in the order the real service applies them:
//!
//! 1. fault injection at the front (`slow`, then a pending 429 or 5xx);
//! 2. routing ([`ROUTES`]; unknown path → 404, wrong method → 405);
//! 3. authentication per family (401 with the family's error body);
//! 4. for the Query and Export families, `project_id` (400 when missing, 403 when the
//!    account cannot see the project) and `workspace_id`;
//! 5. the endpoint itself, then the request log.
//!
//! To add an endpoint, add a [`Route`] with its [`Family`] and an [`Endpoint`] variant, and
//! handle the variant in [`dispatch`]. The OAuth endpoints authenticate by themselves (the
//! token endpoint by client id and PKCE, not by Basic): they have
//! [`AuthRequirement::None`].

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;

use crate::account;
use crate::export::{ExportPlan, ResetSwitch};
use crate::faults::FaultKind;
use crate::http_util::{ApiError, Body, ErrorShape, Params, json_response};
use crate::log::LoggedRequest;
use crate::server::Shared;
use crate::{activity, app, engage, funnels, jql, query, reports, retention, segment};

/// Request bodies above this size are refused with 413 (engage forms are a few hundred bytes).
const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// The API families, which differ in error shape, authentication and project scoping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `/api/query/…`: needs `project_id`; errors `{"request", "error"}`.
    Query,
    /// `/api/2.0/export`: like Query, but streams JSONL.
    Export,
    /// `/api/app/…`: not project-scoped by parameter; errors `{"status": "error", "error"}`.
    App,
    /// `/oauth/…`: registration, authorization and tokens; errors `{"error"}` (RFC 6749).
    OAuth,
}

impl Family {
    fn error_shape(self) -> ErrorShape {
        match self {
            Family::Query | Family::Export => ErrorShape::Query,
            Family::App => ErrorShape::App,
            Family::OAuth => ErrorShape::OAuth,
        }
    }
}

/// How a route authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthRequirement {
    /// Basic with the service account, or a registered Bearer token.
    Account,
    /// The handler authenticates by itself (OAuth's endpoints).
    None,
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    EventsNames,
    EventsTop,
    EventPropertiesTop,
    EventPropertyValues,
    Segmentation,
    SegmentationNumeric,
    SegmentationSum,
    SegmentationAverage,
    EventCounts,
    PropertyCounts,
    Funnels,
    FunnelsList,
    Retention,
    Frequency,
    ActivityStream,
    Insights,
    Flows,
    Jql,
    CohortsList,
    Engage,
    Export,
    Me,
    PublicWorkspaces,
    Bookmarks,
    Schemas,
    SchemasOfType,
    Schema,
    OAuthRegister,
    OAuthAuthorize,
    OAuthToken,
}

/// One row of the route table. In `pattern`, `{}` matches one path segment, which is handed
/// to the handler.
#[derive(Debug)]
pub(crate) struct Route {
    methods: &'static [&'static str],
    pattern: &'static str,
    family: Family,
    auth: AuthRequirement,
    endpoint: Endpoint,
}

/// Every path the sandbox serves, in the base-URL-override layout of Mixpanel's client: the
/// Query API under `/api/query`, export under `/api/2.0`, the App API under `/api/app`,
/// OAuth under `/oauth`.
/// A trailing slash is ignored (Mixpanel's client calls `/api/query/engage/`).
pub(crate) const ROUTES: &[Route] = &[
    Route {
        methods: &["GET"],
        pattern: "/api/query/events/names",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::EventsNames,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/events/top",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::EventsTop,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/events/properties/top",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::EventPropertiesTop,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/events/properties/values",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::EventPropertyValues,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/segmentation",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Segmentation,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/segmentation/numeric",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::SegmentationNumeric,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/segmentation/sum",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::SegmentationSum,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/segmentation/average",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::SegmentationAverage,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/events",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::EventCounts,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/events/properties",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::PropertyCounts,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/funnels",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Funnels,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/funnels/list",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::FunnelsList,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/retention",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Retention,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/retention/addiction",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Frequency,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/stream/query",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::ActivityStream,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/insights",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Insights,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/query/arb_funnels",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Flows,
    },
    Route {
        methods: &["POST"],
        pattern: "/api/query/jql",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Jql,
    },
    Route {
        methods: &["POST"],
        pattern: "/api/query/cohorts/list",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::CohortsList,
    },
    Route {
        methods: &["GET", "POST"],
        pattern: "/api/query/engage",
        family: Family::Query,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Engage,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/2.0/export",
        family: Family::Export,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Export,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/app/me",
        family: Family::App,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Me,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/app/projects/{}/workspaces/public",
        family: Family::App,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::PublicWorkspaces,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/app/projects/{}/bookmarks",
        family: Family::App,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Bookmarks,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/app/projects/{}/schemas",
        family: Family::App,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Schemas,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/app/projects/{}/schemas/{}",
        family: Family::App,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::SchemasOfType,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/app/projects/{}/schemas/{}/{}",
        family: Family::App,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Schema,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/app/workspaces/{}/bookmarks",
        family: Family::App,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Bookmarks,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/app/workspaces/{}/schemas",
        family: Family::App,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Schemas,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/app/workspaces/{}/schemas/{}",
        family: Family::App,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::SchemasOfType,
    },
    Route {
        methods: &["GET"],
        pattern: "/api/app/workspaces/{}/schemas/{}/{}",
        family: Family::App,
        auth: AuthRequirement::Account,
        endpoint: Endpoint::Schema,
    },
    Route {
        methods: &["POST"],
        pattern: "/oauth/mcp/register",
        family: Family::OAuth,
        auth: AuthRequirement::None,
        endpoint: Endpoint::OAuthRegister,
    },
    Route {
        methods: &["GET"],
        pattern: "/oauth/authorize",
        family: Family::OAuth,
        auth: AuthRequirement::None,
        endpoint: Endpoint::OAuthAuthorize,
    },
    Route {
        methods: &["POST"],
        pattern: "/oauth/token",
        family: Family::OAuth,
        auth: AuthRequirement::None,
        endpoint: Endpoint::OAuthToken,
    },
];

/// Finds the route of a path, with the segments its `{}` placeholders matched.
fn find_route(path: &str) -> Option<(&'static Route, Vec<String>)> {
    let trimmed = path
        .strip_suffix('/')
        .filter(|rest| !rest.is_empty())
        .unwrap_or(path);
    let segments: Vec<&str> = trimmed.split('/').collect();
    ROUTES.iter().find_map(|route| {
        let pattern: Vec<&str> = route.pattern.split('/').collect();
        if pattern.len() != segments.len() {
            return None;
        }
        let mut captures = Vec::new();
        for (expected, actual) in pattern.iter().zip(&segments) {
            if *expected == "{}" {
                captures.push(crate::http_util::percent_decode(actual));
            } else if expected != actual {
                return None;
            }
        }
        Some((route, captures))
    })
}

/// The error shape for a path that matched no route (by its prefix).
fn shape_of_path(path: &str) -> ErrorShape {
    if path.starts_with("/api/app") {
        ErrorShape::App
    } else if path.starts_with("/oauth") {
        ErrorShape::OAuth
    } else {
        ErrorShape::Query
    }
}

/// Per-connection context handed to every request of the connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionContext {
    pub(crate) reset: ResetSwitch,
}

/// Serves one request: the hyper service function.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    connection: ConnectionContext,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let (parts, incoming) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let request_text = match &query {
        Some(query) => format!("{path}?{query}"),
        None => path.clone(),
    };
    let body = match Limited::new(incoming, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large or unreadable",
        )),
    };
    let body_text = match &body {
        Ok(bytes) if !bytes.is_empty() => {
            Some(redact_form_secrets(&String::from_utf8_lossy(bytes)))
        }
        _ => None,
    };
    let response = match body {
        Ok(body) => {
            let request = IncomingRequest {
                method: &parts.method,
                path: &path,
                query: query.as_deref(),
                request_text: &request_text,
                headers: &parts.headers,
                body: &body,
            };
            respond(&shared, &connection, &request).await
        }
        Err(error) => error.into_response(shape_of_path(&path), &request_text),
    };
    shared.log.record(LoggedRequest {
        method: parts.method.to_string(),
        path,
        query,
        headers: logged_headers(&parts.headers),
        body: body_text,
        status: response.status().as_u16(),
    });
    Ok(response)
}

/// The parts of a request the pipeline looks at.
struct IncomingRequest<'a> {
    method: &'a Method,
    path: &'a str,
    query: Option<&'a str>,
    /// `path?query`, as Mixpanel echoes it in the `request` field of errors.
    request_text: &'a str,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

async fn respond(
    shared: &Arc<Shared>,
    connection: &ConnectionContext,
    request: &IncomingRequest<'_>,
) -> Response<Body> {
    let front = shared.faults.front(request.path);
    if let Some(delay) = front.delay {
        tokio::time::sleep(delay).await;
    }
    let route = find_route(request.path);
    let shape = route.as_ref().map_or_else(
        || shape_of_path(request.path),
        |(route, _)| route.family.error_shape(),
    );
    if let Some(kind) = front.respond {
        let project_id = Params::from_query(request.query)
            .get("project_id")
            .unwrap_or("1")
            .to_owned();
        return fault_response(kind, shape, request.request_text, &project_id);
    }
    let Some((route, captures)) = route else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown endpoint {}", request.path),
        )
        .into_response(shape, request.request_text);
    };
    if !route.methods.contains(&request.method.as_str()) {
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {} is not allowed here", request.method),
        )
        .into_response(shape, request.request_text);
        if let Ok(allow) = HeaderValue::from_str(&route.methods.join(", ")) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        return response;
    }
    if route.auth == AuthRequirement::Account
        && account::authenticate(request.headers, &shared.bearer_tokens).is_none()
    {
        return ApiError::new(StatusCode::UNAUTHORIZED, "Invalid credentials")
            .into_response(shape, request.request_text);
    }
    match dispatch(shared, connection, route, &captures, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(shape, request.request_text),
    }
}

/// Runs the endpoint of a matched, authenticated request.
async fn dispatch(
    shared: &Arc<Shared>,
    connection: &ConnectionContext,
    route: &Route,
    captures: &[String],
    request: &IncomingRequest<'_>,
) -> Result<Response<Body>, ApiError> {
    if route.endpoint == Endpoint::OAuthRegister {
        // Registration reads its JSON body itself (RFC 7591 metadata, not parameters).
        return Ok(shared.oauth.register(request.body));
    }
    let mut params = Params::from_query(request.query);
    if !request.body.is_empty() {
        let content_type = request
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok());
        params.add_body(content_type, request.body)?;
    }
    let project_id = match route.family {
        Family::Query | Family::Export => Some(scoped_project(&params)?),
        Family::App | Family::OAuth => None,
    };
    let dataset = project_id.and_then(|id| shared.dataset_of(id));

    match route.endpoint {
        Endpoint::OAuthAuthorize => Ok(shared.oauth.authorize(&params)),
        Endpoint::OAuthToken => Ok(shared.oauth.token(&params, &shared.bearer_tokens)),
        Endpoint::Export => {
            let dataset = dataset.ok_or_else(no_dataset)?;
            let accept_encoding = request
                .headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|value| value.to_str().ok());
            let plan =
                ExportPlan::new(dataset, &params, accept_encoding, shared.export_compression)?;
            let faults = shared.faults.export(request.path);
            Ok(plan.respond(faults, connection.reset.clone()).await)
        }
        Endpoint::Me => Ok(json_ok(shared, request.path, app::me())),
        Endpoint::PublicWorkspaces => {
            let project_id = app_project(request.path, captures)?;
            let workspaces =
                app::public_workspaces(project_id).ok_or_else(|| project_forbidden(project_id))?;
            Ok(json_ok(shared, request.path, workspaces))
        }
        Endpoint::Bookmarks => {
            let project_id = app_project(request.path, captures)?;
            let answer = reports::bookmarks(project_id, &params)?;
            Ok(json_ok(shared, request.path, answer))
        }
        Endpoint::Schemas | Endpoint::SchemasOfType => {
            app_project(request.path, captures)?;
            let answer = reports::schemas(captures.get(1).map(String::as_str), &params)?;
            Ok(json_ok(shared, request.path, answer))
        }
        Endpoint::Schema => {
            app_project(request.path, captures)?;
            let answer = reports::schema(&captures[1], &captures[2])?;
            Ok(json_ok(shared, request.path, answer))
        }
        endpoint => {
            let dataset = dataset.ok_or_else(no_dataset)?;
            let project_id = project_id.unwrap_or_default();
            let page_size = shared.engage_page_size;
            // Query endpoints may generate whole days on first use: keep that off the
            // runtime's worker threads.
            let answer = tokio::task::spawn_blocking(move || match endpoint {
                Endpoint::EventsNames => query::events_names(&dataset, &params),
                Endpoint::EventsTop => query::events_top(&dataset, &params),
                Endpoint::EventPropertiesTop => query::properties_top(&dataset, &params),
                Endpoint::EventPropertyValues => query::property_values(&dataset, &params),
                Endpoint::Segmentation => query::segmentation(&dataset, &params),
                Endpoint::SegmentationNumeric => segment::numeric(&dataset, &params),
                Endpoint::SegmentationSum => segment::sum(&dataset, &params),
                Endpoint::SegmentationAverage => segment::average(&dataset, &params),
                Endpoint::EventCounts => segment::event_counts(&dataset, &params),
                Endpoint::PropertyCounts => segment::property_counts(&dataset, &params),
                Endpoint::Funnels => funnels::query(&dataset, &params),
                Endpoint::FunnelsList => Ok(funnels::list()),
                Endpoint::Retention => retention::query(&dataset, &params),
                Endpoint::Frequency => retention::addiction(&dataset, &params),
                Endpoint::ActivityStream => activity::query(&dataset, &params),
                Endpoint::Insights => reports::insights(&dataset, &params),
                Endpoint::Flows => reports::flows(&dataset, &params),
                Endpoint::Jql => jql::query(&dataset, &params),
                Endpoint::CohortsList => Ok(reports::cohorts_list(&dataset, project_id)),
                _ => engage::query(&dataset, &params, page_size),
            })
            .await
            .map_err(|_| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "query handler failed")
            })??;
            Ok(json_ok(shared, request.path, answer))
        }
    }
}

/// The project of an App API path, checked against the account's projects: the captured
/// id of `/projects/{id}/…`, or the project of the workspace of `/workspaces/{id}/…` (the
/// form Mixpanel's client uses when a workspace is pinned).
fn app_project(path: &str, captures: &[String]) -> Result<u64, ApiError> {
    let id = captures
        .first()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Not found"))?;
    if path.starts_with("/api/app/workspaces/") {
        return account::PROJECTS
            .iter()
            .find(|project| {
                project
                    .workspaces
                    .iter()
                    .any(|workspace| workspace.id == id)
            })
            .map(|project| project.id)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("Permission denied: this account cannot access workspace {id}"),
                )
            });
    }
    account::project(id).ok_or_else(|| project_forbidden(id))?;
    Ok(id)
}

fn no_dataset() -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "project has no dataset")
}

fn project_forbidden(project_id: u64) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!("Permission denied: this account cannot access project {project_id}"),
    )
}

/// Checks `project_id` (and `workspace_id`) of a project-scoped request.
fn scoped_project(params: &Params) -> Result<u64, ApiError> {
    let text = params.required("project_id")?;
    let project_id: u64 = text.parse().map_err(|_| {
        ApiError::bad_request(format!("project_id must be an integer, got {text:?}"))
    })?;
    let project = account::project(project_id).ok_or_else(|| project_forbidden(project_id))?;
    if let Some(workspace) = params.get("workspace_id") {
        let known = workspace
            .parse::<u64>()
            .ok()
            .is_some_and(|id| project.workspaces.iter().any(|w| w.id == id));
        if !known {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "Permission denied: workspace {workspace} is not a workspace of project {project_id}"
                ),
            ));
        }
    }
    Ok(project_id)
}

/// A 200 JSON answer, corrupted if an `invalid-json` fault is pending.
fn json_ok(shared: &Shared, path: &str, value: serde_json::Value) -> Response<Body> {
    if shared.faults.take_invalid_json(path) {
        let text = value.to_string();
        // Half of the document: never valid JSON for an object or an array longer than `{}`.
        let cut = (text.len() / 2).max(1);
        return crate::http_util::full_response(
            StatusCode::OK,
            "application/json",
            Bytes::copy_from_slice(&text.as_bytes()[..cut]),
        );
    }
    json_response(StatusCode::OK, &value)
}

/// The answer of a front fault.
fn fault_response(
    kind: FaultKind,
    shape: ErrorShape,
    request_text: &str,
    project_id: &str,
) -> Response<Body> {
    match kind {
        FaultKind::RateLimit {
            retry_after_seconds,
        } => {
            let message = match shape {
                // The text of a real Query API 429 (airbytehq/airbyte#9410).
                ErrorShape::Query => format!(
                    "Query rate limit exceeded for project_id: {project_id}. 1/5 queries running \
                     concurrently and 61/60 queries running in the last hour. Please retry the \
                     request with exponential backoff."
                ),
                ErrorShape::App | ErrorShape::OAuth => "Rate limit exceeded. Please retry the \
                                                        request with exponential backoff."
                    .to_owned(),
            };
            let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
                .into_response(shape, request_text);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            response
        }
        FaultKind::ServerError { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            ApiError::new(status, "Internal server error").into_response(shape, request_text)
        }
        // Only front faults are handed here.
        _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected fault")
            .into_response(shape, request_text),
    }
}

/// Form fields whose values are secrets: the log keeps their names, not their values.
const SECRET_FIELDS: [&str; 4] = ["code", "code_verifier", "refresh_token", "client_secret"];

/// Replaces the values of [`SECRET_FIELDS`] in a form or JSON-object body by `REDACTED`
/// (other bodies are returned unchanged), so that the request log of an OAuth flow holds no
/// usable secret.
fn redact_form_secrets(body: &str) -> String {
    if body.trim_start().starts_with('{') {
        return match serde_json::from_str::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(mut object)) => {
                for field in SECRET_FIELDS {
                    if let Some(value) = object.get_mut(field) {
                        *value = serde_json::Value::String("REDACTED".to_owned());
                    }
                }
                serde_json::Value::Object(object).to_string()
            }
            _ => body.to_owned(),
        };
    }
    body.split('&')
        .map(|pair| {
            let key = pair.split_once('=').map_or(pair, |(key, _)| key);
            if SECRET_FIELDS.contains(&crate::http_util::percent_decode(key).as_str()) {
                format!("{key}=REDACTED")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Copies headers for the log, hiding credentials but keeping the scheme.
fn logged_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let value = if name == header::AUTHORIZATION {
                match value.split_once(' ') {
                    Some((scheme, _)) => format!("{scheme} REDACTED"),
                    None => "REDACTED".to_owned(),
                }
            } else {
                value
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_and_without_trailing_slash() {
        let (route, captures) = find_route("/api/query/engage/").unwrap();
        assert_eq!(route.endpoint, Endpoint::Engage);
        assert!(captures.is_empty());
        let (route, captures) = find_route("/api/app/projects/7/workspaces/public").unwrap();
        assert_eq!(route.endpoint, Endpoint::PublicWorkspaces);
        assert_eq!(captures, ["7"]);
        assert!(find_route("/api/query/nope").is_none());
        assert!(find_route("/").is_none());
        let (route, captures) =
            find_route("/api/app/projects/1/schemas/event/Add%20To%20Cart").unwrap();
        assert_eq!(route.endpoint, Endpoint::Schema);
        assert_eq!(captures, ["1", "event", "Add To Cart"]);
        assert_eq!(
            find_route("/oauth/token/").unwrap().0.endpoint,
            Endpoint::OAuthToken
        );
    }

    #[test]
    fn secrets_are_redacted_from_logged_bodies() {
        assert_eq!(
            redact_form_secrets("grant_type=refresh_token&refresh_token=abc&client_id=c"),
            "grant_type=refresh_token&refresh_token=REDACTED&client_id=c"
        );
        assert_eq!(
            redact_form_secrets("code=x&code_verifier=y&redirect_uri=z"),
            "code=REDACTED&code_verifier=REDACTED&redirect_uri=z"
        );
        assert_eq!(
            redact_form_secrets(r#"{"grant_type":"refresh_token","refresh_token":"abc"}"#),
            r#"{"grant_type":"refresh_token","refresh_token":"REDACTED"}"#
        );
        assert_eq!(redact_form_secrets("page=0&where=x"), "page=0&where=x");
    }
}
