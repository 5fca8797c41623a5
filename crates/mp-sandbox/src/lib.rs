//! `mp-sandbox` is a Mixpanel emulator on loopback: a hyper server that answers the Query,
//! Export, Engage and App APIs from a deterministic synthetic dataset, with fault injection.
//!
//! It is used by the workspace's tests, by `mp --sandbox` and `mp sandbox serve`, by the demo
//! and the benchmarks, and by users who want to try `mp` or their own scripts without
//! spending their rate limit.
//!
//! # What it is not
//!
//! `mp-sandbox` never listens on anything but `127.0.0.1`, never talks to the network, never
//! reads the environment or any file, and never prints. It depends on no other `mp-*` crate:
//! it is a server, and it speaks only the wire protocol, so it can test any client. Its
//! answers are computed, never canned: the same seed always gives the same bytes.
//!
//! # Main types
//!
//! - [`SandboxOptions`]: port, seed, dataset size and window, faults. `mp sandbox serve`
//!   fills it from its flags.
//! - [`Sandbox`]: [`Sandbox::start`] binds and serves; [`Sandbox::base_url`] is the API base
//!   to give a client (`MP_API_BASE_URL`); dropping it shuts the server down.
//!   [`Sandbox::serve_until`] serves until a signal.
//! - [`Dataset`]: the synthetic data of a project, for tests that want to compare a client's
//!   answer with the truth ([`Dataset::count`], [`Dataset::write_jsonl`]).
//! - [`Fault`], [`FaultKind`], [`Faults`]: what to break, parsed from `--fault` strings such
//!   as `429:3`, `500:2`, `reset-export:after-lines=1000`, `truncate-export`, `slow:200ms`,
//!   `invalid-json`; [`FaultControl`] changes them while the sandbox runs.
//! - [`RequestLog`] and [`LoggedRequest`]: what the sandbox was asked.
//! - [`SANDBOX_USERNAME`] / [`SANDBOX_SECRET`]: the credentials it accepts.
//!
//! # The account
//!
//! Service account `sandbox` with secret `sandbox` (HTTP Basic, base64 or plain text as
//! Mixpanel accepts), region `us`, projects `1` ("Sandbox Shop", workspaces 1 (default) and
//! 3) and `2` ("Sandbox Lab", workspace 2, a tenth of the events). Tests can also register
//! Bearer tokens ([`Sandbox::register_bearer_token`]). Wrong or missing credentials get 401;
//! any other `project_id` gets 403; a Query or Export request without `project_id` gets 400.
//!
//! # Endpoints
//!
//! Paths follow the base-URL-override layout of Mixpanel's client (one base for every
//! family):
//!
//! | path | answer |
//! | --- | --- |
//! | `GET /api/query/events/names` | event names by volume (`type` required; `limit`, `from_date`, `to_date`) |
//! | `GET /api/query/events/top` | `{"events": [{"amount", "event", "percent_change"}], "type"}` for the last day |
//! | `GET /api/query/events/properties/top` | `{name: {"count": n}}` |
//! | `GET /api/query/events/properties/values` | top values as strings |
//! | `GET /api/query/segmentation` | `{"data": {"series", "values"}, "legend_size"}`; `on`, `where`, `type`, `unit` day/week/month |
//! | `GET /api/2.0/export` | JSONL, streamed, gzip when accepted; `event`, `where`, `limit`, `time_in_ms` |
//! | `GET`/`POST /api/query/engage` | `{"page", "page_size", "session_id", "status", "total", "results"}` |
//! | `GET /api/app/me` | `{"status": "ok", "results": {user, organizations, projects, workspaces}}` |
//! | `GET /api/app/projects/{id}/workspaces/public` | `{"status": "ok", "results": [workspace]}` |
//!
//! Errors use Mixpanel's shapes: `{"request": "<path?query>", "error": "…"}` for the Query
//! and Export families (the shape of the real 429 bodies), `{"status": "error", "error": "…"}`
//! for the App API (its OpenAPI specs). 429s carry `Retry-After` in seconds.
//!
//! # Where the sandbox is knowingly less than Mixpanel
//!
//! - **Error texts** are modelled, not recorded: the shapes are Mixpanel's, the messages
//!   (`Invalid credentials`, `Permission denied: …`, `Missing required parameter: …`) are the
//!   sandbox's own. The 401 uses the same JSON shape on every family; Mixpanel's may differ
//!   per host.
//! - **Rate limits** exist only as injected faults: there is no real 60-per-hour or
//!   5-concurrent accounting.
//! - **Segmentation** supports `unit` day, week (buckets start on Monday) and month, not
//!   minute or hour; `type=average` is events per unique user; events whose `on` value is
//!   undefined are left out instead of forming an `undefined` segment. `/segmentation/numeric`,
//!   `/sum`, `/average`, `/events`, `/events/properties`, funnels, retention, insights, JQL,
//!   cohorts and the activity stream are not served yet (404).
//! - **Expressions** (`where`, `on`) cover properties, `user["…"]`, literals, arithmetic,
//!   comparisons, `in`, `and`/`or`/`not`, `defined`, typecasts and `floor`/`round`/`ceil`, but
//!   not `datetime()`, `event["$time"]` or list and object properties.
//! - **Discovery** (`/events/names` without dates, `/events/properties/*`) looks at the last
//!   31 days of the dataset rather than of the wall clock, and "today" of `/events/top` is the
//!   dataset's last day. `/events/names` never answers the 403 "exceeds N days" that
//!   projects with a short history limit can get.
//! - **Export** lines are in time order, ties broken by `$insert_id`; events carry a fixed
//!   set of properties (no `$city`, `$device_id`, `mp_lib` …). A truncated export ends with
//!   the line `export terminated early` (no newline), the form reported in
//!   mixpanel/mixpanel-utils#5; the exact bytes Mixpanel sends in that case are not recorded.
//! - **Faults** are per sandbox, not per project, and count requests in arrival order.
//! - **Engage** supports `distinct_id`, `distinct_ids`, `where` (on profile properties),
//!   `output_properties`, `page` and `session_id`; `behaviors`, `filter_by_cohort` and
//!   `data_group_id` are refused with 400, `as_of_timestamp` and `include_all_users` are
//!   ignored. Profiles have no `$last_seen`.
//! - **Timezones**: every project is UTC.
//! - **OAuth** (`/oauth/…`) is not served yet; the route table in `routes.rs` is where it goes.

mod account;
mod app;
mod catalog;
mod civil;
mod dataset;
mod engage;
mod error;
mod export;
mod expr;
mod faults;
mod http_util;
mod log;
mod query;
mod rng;
mod routes;
mod server;

#[cfg(test)]
mod tests;

pub use crate::{
    account::{SANDBOX_SECRET, SANDBOX_USERNAME},
    dataset::Dataset,
    error::Error,
    faults::{Fault, FaultControl, FaultKind, Faults, StreamPoint},
    log::{LoggedRequest, RequestLog},
    server::{Sandbox, SandboxOptions},
};
