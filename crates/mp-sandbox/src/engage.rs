//! `/api/query/engage`: user profiles, paged as Mixpanel pages them.
//!
//! Mixpanel's paging contract (reference page "Query Profiles"): the first request has no
//! `session_id`; the answer carries `page`, `page_size`, `session_id` and `total`; the caller
//! repeats the same selector with that `session_id` and `page + 1` while a page comes back
//! full. The sandbox's `session_id` is a hash of the selector, so it needs no server state and
//! a `session_id` from a different query is refused.
//!
//! Selectors: `distinct_id`, `distinct_ids` (a JSON array), `where` (an expression over
//! profile properties), `filter_by_cohort` (`{"id": N}` of a saved cohort, whose membership
//! is computed from the dataset), `output_properties` (a JSON array). Every user of the
//! dataset has a profile, so `include_all_users` (which adds cohort members without a
//! profile) changes nothing; it is checked to be a boolean. Profiles do not change over time,
//! so `as_of_timestamp` (checked to be an integer) changes nothing either.

use serde_json::{Value as Json, json};

use crate::dataset::{Dataset, ProfileView};
use crate::expr::Expr;
use crate::http_util::{ApiError, Params};

/// `POST` (or `GET`) `/api/query/engage`.
pub(crate) fn query(
    dataset: &Dataset,
    params: &Params,
    page_size: usize,
) -> Result<Json, ApiError> {
    for unsupported in ["behaviors", "data_group_id"] {
        if params.get(unsupported).is_some() {
            return Err(ApiError::bad_request(format!(
                "{unsupported} is not supported by the sandbox"
            )));
        }
    }
    let cohort = params
        .get("filter_by_cohort")
        .map(|text| cohort_filter(dataset, text))
        .transpose()?;
    params.boolean("include_all_users")?;
    if let Some(text) = params.get("as_of_timestamp")
        && text.parse::<i64>().is_err()
    {
        return Err(ApiError::bad_request(format!(
            "as_of_timestamp must be an integer (unix seconds), got {text:?}"
        )));
    }
    let distinct_id = params.get("distinct_id");
    let distinct_ids = params.string_array("distinct_ids")?;
    let output_properties = params.string_array("output_properties")?;
    let filter = params
        .get("where")
        .map(|text| {
            Expr::parse(text).map_err(|error| {
                ApiError::bad_request(format!("invalid where expression: {error}"))
            })
        })
        .transpose()?;
    let page = params.integer("page")?.unwrap_or(0) as usize;

    let session_id = session_id(dataset, params);
    if page > 0 {
        match params.get("session_id") {
            None => {
                return Err(ApiError::bad_request(
                    "session_id is required when page is greater than 0",
                ));
            }
            Some(given) if given != session_id => {
                return Err(ApiError::bad_request(format!(
                    "session_id {given:?} does not belong to this query"
                )));
            }
            Some(_) => {}
        }
    }

    let matching = dataset.users().iter().enumerate().filter(|(index, user)| {
        let id = &*user.distinct_id;
        if cohort.as_ref().is_some_and(|members| !members[*index]) {
            return false;
        }
        distinct_id.is_none_or(|wanted| wanted == id)
            && distinct_ids
                .as_ref()
                .is_none_or(|wanted| wanted.iter().any(|wanted| wanted == id))
            && filter
                .as_ref()
                .is_none_or(|filter| filter.matches(&ProfileView { dataset, user }))
    });
    let mut total = 0;
    let mut results = Vec::new();
    for (index, (_, user)) in matching.enumerate() {
        total += 1;
        if index / page_size == page {
            results.push(dataset.profile_json(user, output_properties.as_deref()));
        }
    }
    Ok(json!({
        "page": page,
        "page_size": page_size,
        "session_id": session_id,
        "status": "ok",
        "total": total,
        "results": results,
    }))
}

/// Returns the session id of a query: a digest of its selector, so that every page of the
/// same query has the same id.
fn session_id(dataset: &Dataset, params: &Params) -> String {
    // FNV-1a: tiny, stable across platforms and versions, good enough to tell queries apart.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ dataset.seed();
    for name in [
        "distinct_id",
        "distinct_ids",
        "where",
        "output_properties",
        "filter_by_cohort",
    ] {
        for byte in name
            .bytes()
            .chain([0])
            .chain(params.get(name).unwrap_or("").bytes())
            .chain([0])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("sandbox-{hash:016x}")
}

/// Parses `filter_by_cohort` and returns the cohort's membership per user index.
fn cohort_filter(dataset: &Dataset, text: &str) -> Result<Vec<bool>, ApiError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| {
        ApiError::bad_request(format!(
            "filter_by_cohort must be a JSON object such as {{\"id\": 501}}, got {text:?}"
        ))
    })?;
    if value.get("raw_cohort").is_some() {
        return Err(ApiError::bad_request(
            "filter_by_cohort with raw_cohort is not supported by the sandbox (use a saved cohort id)",
        ));
    }
    let id = value
        .get("id")
        .and_then(|id| id.as_u64().or_else(|| id.as_str()?.parse().ok()))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "filter_by_cohort must be a JSON object such as {{\"id\": 501}}, got {text:?}"
            ))
        })?;
    let cohort = crate::saved::cohort(id)
        .ok_or_else(|| ApiError::bad_request(format!("cohort {id} does not exist")))?;
    Ok(crate::saved::cohort_members(dataset, cohort))
}
