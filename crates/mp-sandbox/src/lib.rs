//! `mp-sandbox` is a Mixpanel emulator on loopback: a hyper server that answers the Query,
//! Export, Engage, App and OAuth APIs from a deterministic synthetic dataset, with fault
//! injection.
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
//! - [`SandboxOptions`]: port, seed, dataset size and window, faults, engage page size, OAuth
//!   access-token lifetime, export compression. `mp sandbox serve` fills it from its flags.
//! - [`Sandbox`]: [`Sandbox::start`] binds and serves; [`Sandbox::base_url`] is the API base
//!   to give a client (`MP_API_BASE_URL`); dropping it shuts the server down.
//!   [`Sandbox::serve_until`] serves until a signal. For OAuth tests:
//!   [`Sandbox::set_oauth_access_token_ttl`], [`Sandbox::expire_oauth_access_tokens`],
//!   [`Sandbox::revoke_refresh_token`], [`Sandbox::revoke_all_refresh_tokens`],
//!   [`Sandbox::set_oauth_authorization_denied`] and [`Sandbox::oauth_counts`]
//!   ([`OAuthCounts`]: registrations, codes, token requests, refreshes, `invalid_grant`s).
//! - [`Dataset`]: the synthetic data of a project, for tests that want to compare a client's
//!   answer with the truth ([`Dataset::count`], [`Dataset::write_jsonl`]).
//! - [`Fault`], [`FaultKind`], [`Faults`]: what to break, parsed from `--fault` strings such
//!   as `429:3`, `500:2`, `reset-export:after-lines=1000`, `truncate-export`, `slow:200ms`,
//!   `invalid-json`; [`FaultControl`] changes them while the sandbox runs.
//! - [`ExportCompression`]: real gzip (the default), gzip of stored blocks or none, so that a
//!   benchmark measures the client rather than the sandbox's deflate.
//! - [`RequestLog`] and [`LoggedRequest`]: what the sandbox was asked (OAuth secrets in form
//!   bodies read `REDACTED`; [`LoggedRequest::form_param`] reads a token request's
//!   `grant_type`).
//! - [`SANDBOX_USERNAME`] / [`SANDBOX_SECRET`]: the credentials it accepts.
//!
//! # The account
//!
//! Service account `sandbox` with secret `sandbox` (HTTP Basic, base64 or plain text as
//! Mixpanel accepts), region `us`, projects `1` ("Sandbox Shop", workspaces 1 (default) and
//! 3) and `2` ("Sandbox Lab", workspace 2, a tenth of the events), both with the domain
//! `mixpanel.com`. OAuth access tokens from the token endpoint, and Bearer tokens tests
//! register ([`Sandbox::register_bearer_token`]), act as the same user on every family,
//! `/api/app/me` included. Wrong, missing or expired credentials get 401; any other
//! `project_id` (or `/projects/{id}/`, `/workspaces/{id}/`) gets 403; a Query or Export
//! request without `project_id` gets 400.
//!
//! # Saved objects
//!
//! Both projects have the same saved definitions (`saved.rs`), answered from their own data:
//! funnels 1001 "Signup to Purchase" (Sign Up → View Item → Purchase, 14 days), 1002 "Browse
//! to Buy" (View Item → Add To Cart → Purchase, 1 day), 1003 "Search to Cart" (Search → View
//! Item → Add To Cart, 30 minutes); cohorts 501 Purchasers, 502 Power Shoppers (3+
//! purchases), 503 Paid Plans (profile `plan`), 504 New Users (7 days, hidden); bookmarks
//! 2001 and 2002 (insights), 1001–1003 (funnels: a funnel report's id is its funnel id, as
//! Mixpanel's client queries `/funnels?funnel_id=<bookmark_id>`), 3001 (retention), 4001
//! (flows); Lexicon schemas for the seven events and the profile (`profile`, `$user`).
//!
//! # Endpoints
//!
//! Paths follow the base-URL-override layout of Mixpanel's client (one base for every
//! family); a trailing slash is ignored. Every date-bucketed answer lists every bucket of
//! the range, zeros included. Saved reports cover the last 30 days of the data.
//!
//! | path | answer |
//! | --- | --- |
//! | `GET /api/query/events/names` | event names by volume (`type` required; `limit`, `from_date`, `to_date`) |
//! | `GET /api/query/events/top` | `{"events": [{"amount", "event", "percent_change"}], "type"}` for the last day |
//! | `GET /api/query/events/properties/top` | `{name: {"count": n}}` |
//! | `GET /api/query/events/properties/values` | top values as strings |
//! | `GET /api/query/segmentation` | `{"data": {"series", "values"}, "legend_size"}`; `on`, `where`, `type`, `unit` day/week/month, `limit` |
//! | `GET /api/query/segmentation/numeric` | the same envelope keyed by buckets such as `"0 - 50"`; `on` required, `where`, `type`, `unit` |
//! | `GET /api/query/segmentation/sum` | `{"status", "computed_at", "results": {date: sum}}`; `on` required, `where`, `unit` |
//! | `GET /api/query/segmentation/average` | `{"results": {date: mean}, "status"}`; same parameters |
//! | `GET /api/query/events` | the envelope with one segment per event of the JSON array `event`; `type`, `unit`, `from_date`/`to_date` or `interval` |
//! | `GET /api/query/events/properties` | the envelope per value of property `name` of `event`; `values` (JSON array), `limit` (255), `type`, `unit`, dates or `interval` |
//! | `GET /api/query/funnels` | `{"meta": {"dates"}, "data": {date: {"steps": [{count, avg_time, avg_time_from_start, step_conv_ratio, goal, overall_conv_ratio, event}], "analysis"}}}`; `funnel_id`, dates, `length`/`length_unit`, `unit` or `interval`, `where`, `on` (then `{date: {"$overall": [steps], segment: [steps]}}`), `limit` |
//! | `GET /api/query/funnels/list` | `[{"funnel_id", "name"}]` |
//! | `GET /api/query/retention` | `{date: {"counts": [...], "first": n}}`; `born_event`, `event`, `born_where`, `where`, `interval`, `interval_count`, `unit`, `retention_type=birth`, `unbounded_retention`, or `bookmark_id` |
//! | `GET /api/query/retention/addiction` | `{"data": {date: [users active in at least k+1 hours or days]}}`; `unit`, `addiction_unit`, `event`, `where` |
//! | `GET /api/query/stream/query` | `{"status", "results": {"events": [{event, properties: {time, $distinct_id, …}}]}}`; `distinct_ids`, optional dates |
//! | `GET /api/query/insights` | `{"computed_at", "date_range", "headers", "series"}` of an insights bookmark (`bookmark_id`) |
//! | `GET /api/query/arb_funnels` | a flows bookmark as a Sankey: `{"computed_at", "steps": [{"nodes": [{event, type, totalCount, anchorType, isCustomEvent, conversionRateChange, edges}]}], "breakdowns", "overallConversionRate", "metadata"}`; `bookmark_id`, `query_type=flows_sankey` |
//! | `POST /api/query/jql` | a small subset of JQL (see `jql.rs`), 400 otherwise |
//! | `POST /api/query/cohorts/list` | `[{count, is_visible, description, created, project_id, id, name}]` |
//! | `GET /api/2.0/export` | JSONL, streamed, gzip when accepted ([`ExportCompression`]); `event`, `where`, `limit`, `time_in_ms` |
//! | `GET`/`POST /api/query/engage` | `{"page", "page_size", "session_id", "status", "total", "results"}`; `distinct_id(s)`, `where`, `filter_by_cohort`, `output_properties`, `include_all_users`, `as_of_timestamp`, `page`, `session_id` (form or JSON body) |
//! | `GET /api/app/me` | `{"status": "ok", "results": {user, organizations, projects, workspaces}}` |
//! | `GET /api/app/projects/{id}/workspaces/public` | `{"status": "ok", "results": [workspace]}` |
//! | `GET /api/app/{projects,workspaces}/{id}/bookmarks` | `{"status": "ok", "results": [bookmark]}`; `type`, `ids` |
//! | `GET /api/app/{projects,workspaces}/{id}/schemas[/{type}[/{name}]]` | `{"status": "ok", "results": [{entityType, name, schemaJson}]}` (`entity_name` filters), or one `schemaJson` |
//! | `POST /oauth/mcp/register/` | RFC 7591 registration of a public client: 201 with `client_id` |
//! | `GET /oauth/authorize/` | approves at once: 302 to `redirect_uri?code=…&state=…` (PKCE S256 required) |
//! | `POST /oauth/token/` | `authorization_code` (with `code_verifier`) and `refresh_token` grants |
//!
//! Errors use Mixpanel's shapes: `{"request": "<path?query>", "error": "…"}` for the Query
//! and Export families (the shape of the real 429 bodies), `{"status": "error", "error": "…"}`
//! for the App API (its OpenAPI specs), `{"error": "<code>"}` for OAuth (RFC 6749, as the
//! recorded `{"error":"invalid_grant"}`). 429s carry `Retry-After` in seconds.
//!
//! # Where the sandbox is knowingly less than Mixpanel
//!
//! - **Error texts** are modelled, not recorded: the shapes are Mixpanel's, the messages
//!   (`Invalid credentials`, `Permission denied: …`, `Missing required parameter: …`) are the
//!   sandbox's own. The 401 of the Query family carries `request` where the recorded vectors
//!   show only `{"error"}`; an unknown funnel or bookmark is a 404, which Mixpanel may answer
//!   differently.
//! - **Rate limits** exist only as injected faults: there is no real 60-per-hour or
//!   5-concurrent accounting.
//! - **Time buckets** are day, week (Monday) and month, never minute or hour (`unit=hour` is a
//!   400); retention's month interval is 30 days. Every project is UTC.
//! - **Segmentation**: `type=average` is events per unique user; events whose `on` value is
//!   undefined form no `undefined` segment. Numeric buckets are ours (round widths, at most
//!   about ten); sums and means are rounded to six decimals.
//! - **Funnels** count, per date bucket, each user's first entry and greedy earliest steps
//!   within the window (`funnels.rs`); there are no exclusion steps, hold-property-constant or
//!   custom events, `avg_time` is null for step 1 and for steps nobody reached, and with `on`
//!   a date has no `analysis`.
//! - **Retention** is birth retention only (`compounded` and `on` are 400); birth is the
//!   user's first born event of the data, not of all time; a cohort's `counts` stop at the
//!   first interval starting after the data.
//! - **Frequency** counts users active in *at least* k+1 hours or days per bucket; `on` is a
//!   400.
//! - **Saved reports** are fixed definitions over the last 30 days; insights series are total
//!   event counts only, and flows only `flows_sankey` over a fixed path model (a user's first
//!   anchor, then their next three events within a day; counts are users; node `type`s and
//!   `metadata` are modelled). The inline POST `/insights` and `/arb_funnels` are not served
//!   (405), nor `/api/query/engage/stats`.
//! - **JQL** runs only `Events(...)` with one `groupBy` or `reduce` of `count()` or
//!   `sum("properties.x")`; any other script is a 400 (Mixpanel would run it).
//! - **Lexicon**: the schemas are fixed and read-only; `/schemas/{type}?entity_name=` answers
//!   the spec's list shape, while Mixpanel's client was also seen to receive a bare schema.
//! - **Expressions** (`where`, `on`, selectors) cover properties, `user["…"]`, literals,
//!   arithmetic, comparisons, `in`, `and`/`or`/`not`, `defined`, typecasts and
//!   `floor`/`round`/`ceil`, but not `datetime()`, `event["$time"]` or list and object
//!   properties.
//! - **Discovery** (`/events/names` without dates, `/events/properties/*`) looks at the last
//!   31 days of the dataset rather than of the wall clock, and "today" of `/events/top`,
//!   `computed_at` and saved reports is the dataset's last day (midnight after it for
//!   `computed_at`). `/events/names` never answers the 403 "exceeds N days".
//! - **Export** lines are in time order, ties broken by `$insert_id`; events carry a fixed
//!   set of properties (no `$city`, `$device_id`, `mp_lib` …). A truncated export ends with
//!   the line `export terminated early` (no newline), the form reported in
//!   mixpanel/mixpanel-utils#5; the exact bytes Mixpanel sends in that case are not recorded.
//! - **Faults** are per sandbox, not per project, and count requests in arrival order.
//! - **Engage**: every user has a profile, so `include_all_users` changes nothing; profiles
//!   never change, so `as_of_timestamp` changes nothing; `filter_by_cohort` takes saved
//!   cohort ids only (`raw_cohort` is a 400); `behaviors` and `data_group_id` are 400;
//!   `sort_key`, `sort_order`, `search` and `limit` are ignored. Profiles have no
//!   `$last_seen`.
//! - **OAuth** registers public clients only (`token_endpoint_auth_method: none`), needs PKCE
//!   S256, approves every authorization (unless told to deny) as the sandbox's one user,
//!   grants every scope, and has no revocation endpoint, consent page, authorization-server
//!   metadata or MCP endpoints. Loopback redirect URIs may change port (RFC 8252). Refresh
//!   tokens rotate on use; the previous access token stays valid until it expires. Reusing a
//!   code is `invalid_grant` but does not revoke what the code issued. Identifiers are
//!   derived from the seed and the port, not random.

mod account;
mod activity;
mod app;
mod catalog;
mod civil;
mod dataset;
mod engage;
mod error;
mod export;
mod expr;
mod faults;
mod funnels;
mod http_util;
mod jql;
mod log;
mod oauth;
mod query;
mod reports;
mod retention;
mod rng;
mod routes;
mod saved;
mod segment;
mod server;

#[cfg(test)]
mod tests;

pub use crate::{
    account::{SANDBOX_SECRET, SANDBOX_USERNAME},
    dataset::Dataset,
    error::Error,
    export::ExportCompression,
    faults::{Fault, FaultControl, FaultKind, Faults, StreamPoint},
    log::{LoggedRequest, RequestLog},
    oauth::OAuthCounts,
    server::{Sandbox, SandboxOptions},
};
