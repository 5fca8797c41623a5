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
//! To add an endpoint (the OAuth issue adds `/oauth/mcp/register/`, `/oauth/authorize/` and
//! `/oauth/token/`), add a [`Route`] with its [`Family`] and an [`Endpoint`] variant, and
//! handle the variant in [`dispatch`]. A family with its own authentication (OAuth's token
//! endpoint authenticates by client id and PKCE, not by Basic) gets
//! [`AuthRequirement::None`] and checks inside its handler.

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
use crate::{app, engage, query};

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
}

impl Family {
    fn error_shape(self) -> ErrorShape {
        match self {
            Family::Query | Family::Export => ErrorShape::Query,
            Family::App => ErrorShape::App,
        }
    }
}

/// How a route authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthRequirement {
    /// Basic with the service account, or a registered Bearer token.
    Account,
    /// The handler authenticates by itself (reserved for OAuth's endpoints).
    #[allow(dead_code)]
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
    Engage,
    Export,
    Me,
    PublicWorkspaces,
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
/// Query API under `/api/query`, export under `/api/2.0`, the App API under `/api/app`.
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
        Ok(bytes) if !bytes.is_empty() => Some(String::from_utf8_lossy(bytes).into_owned()),
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
        Family::App => None,
    };
    let dataset = project_id.and_then(|id| shared.dataset_of(id));

    match route.endpoint {
        Endpoint::Export => {
            let dataset = dataset.ok_or_else(no_dataset)?;
            let accept_encoding = request
                .headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|value| value.to_str().ok());
            let plan = ExportPlan::new(dataset, &params, accept_encoding)?;
            let faults = shared.faults.export(request.path);
            Ok(plan.respond(faults, connection.reset.clone()).await)
        }
        Endpoint::Me => Ok(json_ok(shared, request.path, app::me())),
        Endpoint::PublicWorkspaces => {
            let project_id = captures
                .first()
                .and_then(|text| text.parse::<u64>().ok())
                .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Not found"))?;
            let workspaces =
                app::public_workspaces(project_id).ok_or_else(|| project_forbidden(project_id))?;
            Ok(json_ok(shared, request.path, workspaces))
        }
        endpoint => {
            let dataset = dataset.ok_or_else(no_dataset)?;
            let page_size = shared.engage_page_size;
            // Query endpoints may generate whole days on first use: keep that off the
            // runtime's worker threads.
            let answer = tokio::task::spawn_blocking(move || match endpoint {
                Endpoint::EventsNames => query::events_names(&dataset, &params),
                Endpoint::EventsTop => query::events_top(&dataset, &params),
                Endpoint::EventPropertiesTop => query::properties_top(&dataset, &params),
                Endpoint::EventPropertyValues => query::property_values(&dataset, &params),
                Endpoint::Segmentation => query::segmentation(&dataset, &params),
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
                ErrorShape::App => "Rate limit exceeded. Please retry the request with \
                                    exponential backoff."
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
    }
}
