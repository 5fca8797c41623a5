//! User and group profiles from the Engage API (`POST /api/query/engage/`), page by page or as a stream, and
//! aggregate statistics over them (`POST /api/query/engage/stats`).
//!
//! # Wire format
//!
//! As Mixpanel's official client sends them: the parameters go in a JSON body (with `project_id` again in the
//! body), and the client adds `project_id`, `query_origin` and a pinned `workspace_id` to the query string. List
//! and object parameters are JSON text inside the body (`output_properties="[\"$name\", \"$email\"]"`), written
//! with Python's `json.dumps` separators. With a cohort filter, `include_all_users` is always sent, `false`
//! included, because Mixpanel's default is `true`.
//!
//! # Paging
//!
//! Mixpanel's contract ("Query Profiles"): the first request has no `session_id`; its answer carries `page`,
//! `page_size`, `total` and a `session_id`; the next page is asked with that `session_id` and `page + 1`, and a
//! page with fewer than `page_size` profiles is the last. [`ProfileStream`] stops at the first of: an empty page,
//! a page without `session_id` (the official client's two rules) or a short page when `page_size` is known (the
//! documented rule, which saves one request of the hourly quota). Once page 0 has given `total` and `page_size`,
//! pages 1 to `ceil(total / page_size) - 1` are independent requests with the same `session_id`, so with
//! `parallel > 1` they are fetched concurrently (at most [`MAX_ENGAGE_PARALLEL`], the Query API's concurrency
//! limit) and handed out in page order; if the last of them is full, paging goes on one page at a time.

mod stream;

#[cfg(test)]
mod tests;

use mp_http::{ApiFamily, Client, Request};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::Error;
use crate::python_json::{dumps, dumps_string_list};

pub use self::stream::{
    MAX_ENGAGE_PARALLEL, ProfileStream, ProfileStreamOptions, RateLimitCallback,
};

/// The Engage list path, relative to the engage base (`https://mixpanel.com/api/query/engage`).
const ENGAGE_PATH: &str = "/";
/// The statistics path.
const STATS_PATH: &str = "/stats";
/// Names for errors.
const ENGAGE_ENDPOINT: &str = "/engage";
const STATS_ENDPOINT: &str = "/engage/stats";

/// Mixpanel's usual page size, used when a page does not say.
pub const DEFAULT_ENGAGE_PAGE_SIZE: u32 = 1000;

/// Which cohort's members to return (`filter_by_cohort`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CohortFilter {
    /// A saved cohort: `{"id": N}`.
    Id(u64),
    /// The `filter_by_cohort` JSON text as is: `{"id": N}`, `{"raw_cohort": {…}}`, or whatever else Mixpanel
    /// accepts.
    Json(String),
}

impl CohortFilter {
    /// The `filter_by_cohort` value.
    pub fn to_param(&self) -> String {
        match self {
            CohortFilter::Id(id) => format!("{{\"id\": {id}}}"),
            CohortFilter::Json(text) => text.clone(),
        }
    }
}

/// The order of a sorted profile query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// `ascending`.
    Ascending,
    /// `descending`.
    Descending,
}

impl SortOrder {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }
}

/// What profiles to ask for. An empty query (the default) asks for every user profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileQuery {
    /// A selector expression (`where`), e.g. `properties["plan"] == "premium"`.
    pub filter: Option<String>,
    /// Members of a cohort only (`filter_by_cohort`).
    pub cohort: Option<CohortFilter>,
    /// With a cohort: return every profile and mark membership instead (`include_all_users`). Only valid with a
    /// cohort; sent, even when false, whenever there is one.
    pub include_all_users: bool,
    /// Only these properties (`output_properties`); empty for all.
    pub output_properties: Vec<String>,
    /// One profile by distinct id (`distinct_id`); exclusive with `distinct_ids`.
    pub distinct_id: Option<String>,
    /// These profiles (`distinct_ids`, de-duplicated in order by [`Engage::profiles`]); exclusive with
    /// `distinct_id`.
    pub distinct_ids: Option<Vec<String>>,
    /// Group profiles of this group type instead of user profiles (`data_group_id`).
    pub data_group_id: Option<String>,
    /// Behavioral filters (`behaviors`), a JSON array of `{window, name, event_selectors}`, used from `filter`
    /// (`behaviors["name"] > 0`); exclusive with `cohort`.
    pub behaviors: Option<Value>,
    /// Profile state at this Unix time (`as_of_timestamp`), not in the future.
    pub as_of_timestamp: Option<i64>,
    /// Sort by this expression (`sort_key`), e.g. `properties["$last_seen"]`.
    pub sort_key: Option<String>,
    /// The sort direction (`sort_order`).
    pub sort_order: Option<SortOrder>,
    /// Full-text search over properties (`search`).
    pub search: Option<String>,
    /// At most this many profiles per page (`limit`).
    pub limit: Option<u32>,
}

impl ProfileQuery {
    /// The JSON body asking for `page` (with `session_id` after the first page).
    fn body(&self, project_id: Option<&str>, page: u32, session_id: Option<&str>) -> Value {
        let mut body = Map::new();
        let mut put = |key: &str, value: Value| {
            body.insert(key.to_owned(), value);
        };
        if let Some(project_id) = project_id {
            put("project_id", Value::from(project_id));
        }
        put("page", Value::from(page));
        if let Some(session_id) = session_id.filter(|id| !id.is_empty()) {
            put("session_id", Value::from(session_id));
        }
        if let Some(filter) = non_empty(&self.filter) {
            put("where", Value::from(filter));
        }
        if let Some(cohort) = &self.cohort {
            put("filter_by_cohort", Value::from(cohort.to_param()));
        }
        if !self.output_properties.is_empty() {
            put(
                "output_properties",
                Value::from(dumps_string_list(&self.output_properties)),
            );
        }
        if let Some(group) = non_empty(&self.data_group_id) {
            put("data_group_id", Value::from(group));
        }
        if let Some(behaviors) = &self.behaviors {
            put("behaviors", Value::from(dumps(behaviors)));
        }
        if let Some(as_of) = self.as_of_timestamp {
            put("as_of_timestamp", Value::from(as_of));
        }
        if self.cohort.is_some() {
            // Mixpanel defaults to true, so false must be said.
            put("include_all_users", Value::from(self.include_all_users));
        }
        if let Some(sort_key) = non_empty(&self.sort_key) {
            put("sort_key", Value::from(sort_key));
        }
        if let Some(sort_order) = self.sort_order {
            put("sort_order", Value::from(sort_order.as_str()));
        }
        if let Some(search) = non_empty(&self.search) {
            put("search", Value::from(search));
        }
        if let Some(limit) = self.limit {
            put("limit", Value::from(limit));
        }
        if let Some(distinct_id) = non_empty(&self.distinct_id) {
            put("distinct_id", Value::from(distinct_id));
        }
        if let Some(distinct_ids) = self.distinct_ids.as_ref().filter(|ids| !ids.is_empty()) {
            put("distinct_ids", Value::from(dumps_string_list(distinct_ids)));
        }
        Value::Object(body)
    }

    /// The checks of the official client's `export_profiles`, made before anything is sent.
    fn check(&self, clock: &dyn mp_http::Clock) -> Result<(), Error> {
        let invalid = |argument: &'static str, reason: &str| {
            Err(Error::InvalidArgument {
                argument,
                reason: reason.to_owned(),
            })
        };
        if self.distinct_id.is_some() && self.distinct_ids.is_some() {
            return invalid(
                "distinct_ids",
                "`distinct_id` and `distinct_ids` are mutually exclusive",
            );
        }
        if self.behaviors.is_some() && self.cohort.is_some() {
            return invalid(
                "behaviors",
                "`behaviors` and a cohort are mutually exclusive",
            );
        }
        if self
            .behaviors
            .as_ref()
            .is_some_and(|value| !value.is_array())
        {
            return invalid("behaviors", "`behaviors` must be a JSON array of filters");
        }
        if self.include_all_users && self.cohort.is_none() {
            return invalid("include_all_users", "`include_all_users` needs a cohort");
        }
        if let Some(as_of) = self.as_of_timestamp {
            let now = clock
                .now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_secs() as i64);
            if as_of > now {
                return invalid(
                    "as_of_timestamp",
                    "`as_of_timestamp` is in the future; give a Unix time in the past",
                );
            }
        }
        Ok(())
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.is_empty())
}

/// One page of profiles, each kept as the exact JSON text Mixpanel sent.
#[derive(Debug, Clone)]
pub struct ProfilePage {
    /// The page number asked for (from 0).
    pub page: u32,
    /// The session to ask for the next page with; `None` when Mixpanel sent none.
    pub session_id: Option<String>,
    /// Profiles per full page, when Mixpanel said.
    pub page_size: Option<u32>,
    /// Profiles matching the query, when Mixpanel said.
    pub total: Option<u64>,
    /// The profiles (`{"$distinct_id": …, "$properties": {…}}`), verbatim.
    pub profiles: Vec<Box<RawValue>>,
}

impl ProfilePage {
    /// Returns true if and only if Mixpanel gave a `session_id` to continue with (the official client's
    /// `has_more`).
    pub fn has_more(&self) -> bool {
        self.session_id.is_some()
    }

    /// Returns true if and only if no page can follow this one: it is empty, has no `session_id`, or holds fewer
    /// profiles than a known `page_size`.
    pub fn is_last(&self) -> bool {
        self.profiles.is_empty()
            || self.session_id.is_none()
            || self
                .page_size
                .is_some_and(|page_size| self.profiles.len() < page_size as usize)
    }

    /// The profiles parsed as JSON values.
    pub fn profile_values(&self) -> Result<Vec<Value>, Error> {
        self.profiles
            .iter()
            .map(|raw| {
                serde_json::from_str(raw.get()).map_err(|error| Error::UnexpectedResponse {
                    endpoint: ENGAGE_ENDPOINT,
                    reason: format!("a profile is not JSON: {error}"),
                })
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct WirePage {
    #[serde(default)]
    results: Option<Vec<Box<RawValue>>>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    page_size: Option<u32>,
    #[serde(default)]
    total: Option<u64>,
}

/// A profile with its properties parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// `$distinct_id` (a number id as its digits).
    pub distinct_id: String,
    /// `$properties`, in the order Mixpanel sent them.
    pub properties: Map<String, Value>,
}

impl Profile {
    /// Parses one profile of a page.
    pub fn parse(raw: &RawValue) -> Result<Profile, Error> {
        #[derive(Deserialize)]
        struct WireProfile {
            #[serde(rename = "$distinct_id")]
            distinct_id: Value,
            #[serde(rename = "$properties", default)]
            properties: Map<String, Value>,
        }
        let invalid = |reason: String| Error::UnexpectedResponse {
            endpoint: ENGAGE_ENDPOINT,
            reason,
        };
        let wire: WireProfile = serde_json::from_str(raw.get()).map_err(|error| {
            invalid(format!("a profile is not of the documented shape: {error}"))
        })?;
        let distinct_id = match wire.distinct_id {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            other => return Err(invalid(format!("a profile's `$distinct_id` is {other}"))),
        };
        Ok(Profile {
            distinct_id,
            properties: wire.properties,
        })
    }

    /// `$last_seen`, when the profile has it as text.
    pub fn last_seen(&self) -> Option<&str> {
        self.properties.get("$last_seen").and_then(Value::as_str)
    }
}

/// Aggregate statistics over profiles (`/engage/stats`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsQuery {
    /// The aggregation (`action`): `count()` (the default), `extremes(properties["p"])`,
    /// `percentile(properties["p"], N)`, `numeric_summary(properties["p"])`, …
    pub action: String,
    /// A selector expression, sent as `selector`.
    pub filter: Option<String>,
    /// Members of a cohort only (`filter_by_cohort`).
    pub cohort: Option<CohortFilter>,
    /// With a cohort, count every profile and mark membership (`include_all_users`, sent whenever there is a
    /// cohort).
    pub include_all_users: bool,
    /// Segment by these cohorts (`segment_by_cohorts`, a JSON object of cohort id to boolean).
    pub segment_by_cohorts: Option<Map<String, Value>>,
    /// Group profiles of this group type (`data_group_id`).
    pub data_group_id: Option<String>,
    /// Profile state at this Unix time (`as_of_timestamp`).
    pub as_of_timestamp: Option<i64>,
}

impl StatsQuery {
    /// `count()` over every profile.
    pub fn new() -> StatsQuery {
        StatsQuery {
            action: "count()".to_owned(),
            filter: None,
            cohort: None,
            include_all_users: false,
            segment_by_cohorts: None,
            data_group_id: None,
            as_of_timestamp: None,
        }
    }

    fn body(&self, project_id: Option<&str>) -> Value {
        let mut body = Map::new();
        if let Some(project_id) = project_id {
            body.insert("project_id".to_owned(), Value::from(project_id));
        }
        body.insert("action".to_owned(), Value::from(self.action.as_str()));
        if let Some(filter) = non_empty(&self.filter) {
            body.insert("selector".to_owned(), Value::from(filter));
        }
        if let Some(cohort) = &self.cohort {
            body.insert(
                "filter_by_cohort".to_owned(),
                Value::from(cohort.to_param()),
            );
        }
        if let Some(segments) = &self.segment_by_cohorts {
            body.insert(
                "segment_by_cohorts".to_owned(),
                Value::from(dumps(&Value::Object(segments.clone()))),
            );
        }
        if let Some(group) = non_empty(&self.data_group_id) {
            body.insert("data_group_id".to_owned(), Value::from(group));
        }
        if let Some(as_of) = self.as_of_timestamp {
            body.insert("as_of_timestamp".to_owned(), Value::from(as_of));
        }
        if self.cohort.is_some() {
            body.insert(
                "include_all_users".to_owned(),
                Value::from(self.include_all_users),
            );
        }
        Value::Object(body)
    }
}

impl Default for StatsQuery {
    /// [`StatsQuery::new`].
    fn default() -> StatsQuery {
        StatsQuery::new()
    }
}

/// The Engage service.
#[derive(Debug, Clone)]
pub struct Engage {
    client: Client,
}

impl Engage {
    /// The service over `client` (region, project and credentials already chosen).
    pub fn new(client: Client) -> Engage {
        Engage { client }
    }

    /// The client requests go through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Fetches one page. No argument checks: this is the raw page call, as the official client's
    /// `export_profiles_page`.
    pub async fn page(
        &self,
        query: &ProfileQuery,
        page: u32,
        session_id: Option<&str>,
    ) -> Result<ProfilePage, Error> {
        let body = query.body(self.client.project_id(), page, session_id);
        // A read: safe to send again after a 5xx or a reset.
        let request = Request::post(ApiFamily::Engage, ENGAGE_PATH)
            .json_body(body)
            .retry_safe(true);
        let wire: WirePage = self
            .client
            .json(request)
            .await
            .map_err(|error| Error::request(ENGAGE_ENDPOINT, error))?;
        Ok(ProfilePage {
            page,
            session_id: wire.session_id,
            page_size: wire.page_size,
            total: wire.total,
            profiles: wire.results.unwrap_or_default(),
        })
    }

    /// Every profile matching `query`, page by page in order (see the module docs for paging and concurrency).
    ///
    /// The query is checked first (`distinct_id` and `distinct_ids` together, `behaviors` with a cohort,
    /// `include_all_users` without one, `as_of_timestamp` in the future); nothing is sent if it is wrong. An empty
    /// `distinct_ids` list gives an empty stream without a request.
    pub fn profiles(
        &self,
        mut query: ProfileQuery,
        options: ProfileStreamOptions,
    ) -> Result<ProfileStream, Error> {
        query.check(self.client.clock().as_ref())?;
        if !(1..=MAX_ENGAGE_PARALLEL).contains(&options.parallel) {
            return Err(Error::InvalidArgument {
                argument: "parallel",
                reason: format!(
                    "{} is not between 1 and {MAX_ENGAGE_PARALLEL} (the Query API allows {MAX_ENGAGE_PARALLEL} \
                     concurrent requests)",
                    options.parallel
                ),
            });
        }
        let empty = query.distinct_ids.as_ref().is_some_and(Vec::is_empty);
        if let Some(ids) = &mut query.distinct_ids {
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(id.clone()));
        }
        Ok(ProfileStream::new(self.clone(), query, options, empty))
    }

    /// Aggregate statistics (`/engage/stats`); the answer must be a JSON object.
    pub async fn stats(&self, query: &StatsQuery) -> Result<Map<String, Value>, Error> {
        let request = Request::post(ApiFamily::Engage, STATS_PATH)
            .json_body(query.body(self.client.project_id()))
            .retry_safe(true);
        let answer: Value = self
            .client
            .json(request)
            .await
            .map_err(|error| Error::request(STATS_ENDPOINT, error))?;
        match answer {
            Value::Object(object) => Ok(object),
            other => Err(Error::UnexpectedJson {
                endpoint: STATS_ENDPOINT,
                expected: "a JSON object",
                body: other,
            }),
        }
    }
}
