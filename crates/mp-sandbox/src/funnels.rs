//! `/api/query/funnels` and `/api/query/funnels/list`: saved funnels, counted from the
//! dataset by following each user's events in order.
//!
//! # How a funnel is counted
//!
//! For each date bucket (a day by default; `unit` or `interval` change it) and each user, the
//! user *enters* the funnel with their first event of step 1 in that bucket. From there, step
//! `i` is the user's earliest event of step `i`'s kind that comes after the event matched for
//! step `i - 1` (in export order: time, then `$insert_id`) and happens within the conversion
//! window (`length` `length_unit`, the funnel's saved window by default) after the entry.
//! A step's `count` is the number of entries that reached it, so a user who enters on two
//! days counts on both days, as in Mixpanel's per-date funnel answers. `where` filters every
//! step's events; events after `to_date` count for conversions (the spec: "we will query for
//! events past the end of to_date to look for funnel completions"). With `on`, the segment of
//! an entry is the value of `on` on its step-1 event.
//!
//! Greedy earliest matching is optimal here: taking the earliest possible event for each
//! step never prevents a later step from matching within the same window.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};

use crate::catalog::EventKind;
use crate::civil::SECONDS_PER_DAY;
use crate::dataset::{Dataset, EventView};
use crate::expr::Expr;
use crate::http_util::{ApiError, Params};
use crate::query::{Buckets, Unit, check_range, date_param, parse_expression};
use crate::saved::{self, LengthUnit, SavedFunnel};

/// Mixpanel refuses conversion windows over 90 days.
const MAX_WINDOW_SECONDS: i64 = 90 * SECONDS_PER_DAY;

/// `GET /api/query/funnels/list`: `[{"funnel_id", "name"}]`.
pub(crate) fn list() -> Json {
    Json::Array(
        saved::FUNNELS
            .iter()
            .map(|funnel| json!({"funnel_id": funnel.id, "name": funnel.name}))
            .collect(),
    )
}

/// A validated funnel query.
pub(crate) struct FunnelQuery {
    pub(crate) steps: Vec<EventKind>,
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) window_seconds: i64,
    pub(crate) buckets: Buckets,
    pub(crate) filter: Option<Expr>,
    pub(crate) on: Option<Expr>,
    pub(crate) limit: usize,
}

impl FunnelQuery {
    /// A saved funnel over a date range with its saved window and daily buckets.
    pub(crate) fn saved(funnel: &SavedFunnel, from: i64, to: i64) -> Result<FunnelQuery, ApiError> {
        Ok(FunnelQuery {
            steps: funnel.steps.to_vec(),
            from,
            to,
            window_seconds: i64::from(funnel.length) * funnel.length_unit.seconds(),
            buckets: Buckets::new(from, to, Unit::Day)?,
            filter: None,
            on: None,
            limit: 255,
        })
    }
}

/// `GET /api/query/funnels`.
pub(crate) fn query(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let funnel_id = params
        .integer("funnel_id")?
        .ok_or_else(|| ApiError::bad_request("Missing required parameter: funnel_id"))?;
    let funnel = saved::funnel(funnel_id).ok_or_else(|| {
        ApiError::new(
            http::StatusCode::NOT_FOUND,
            format!("Funnel {funnel_id} not found"),
        )
    })?;
    let from = date_param(params, "from_date")?;
    let to = date_param(params, "to_date")?;
    check_range(from, to)?;
    let mut query = FunnelQuery::saved(funnel, from, to)?;
    let length_unit = match params.get("length_unit") {
        None => funnel.length_unit,
        Some(text) => LengthUnit::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "length_unit must be one of day, hour, minute or second, got {text:?}"
            ))
        })?,
    };
    if params.get("length").is_some() || params.get("length_unit").is_some() {
        let length = params
            .integer("length")?
            .unwrap_or(u64::from(funnel.length));
        if length == 0 {
            return Err(ApiError::bad_request("length must be at least 1"));
        }
        query.window_seconds = (length as i64).saturating_mul(length_unit.seconds());
    }
    if query.window_seconds > MAX_WINDOW_SECONDS {
        return Err(ApiError::bad_request(
            "the conversion window (length) may not be greater than 90 days",
        ));
    }
    query.buckets = match params.integer("interval")? {
        Some(days) => Buckets::every(from, to, days)?,
        None => Buckets::new(from, to, Unit::parse(params.get("unit"))?)?,
    };
    query.filter = parse_expression(params, "where")?;
    query.on = parse_expression(params, "on")?;
    let limit = params.integer("limit")?.unwrap_or(255);
    if limit > 10_000 {
        return Err(ApiError::bad_request("limit must be at most 10000"));
    }
    query.limit = limit as usize;
    Ok(compute(dataset, &query))
}

/// One event that may match a step, compactly.
struct StepEvent {
    user: u32,
    time: i64,
    kind: EventKind,
    /// Index into the interned segments of `on` (step-1 events only), if defined.
    segment: Option<u32>,
}

/// Sums over the entries of one bucket (and segment).
#[derive(Clone)]
struct Totals {
    counts: Vec<u64>,
    /// Seconds from the previous step, summed over the entries that reached the step.
    from_previous: Vec<i64>,
    /// Seconds from the entry, summed likewise.
    from_start: Vec<i64>,
}

impl Totals {
    fn new(n_steps: usize) -> Totals {
        Totals {
            counts: vec![0; n_steps],
            from_previous: vec![0; n_steps],
            from_start: vec![0; n_steps],
        }
    }

    fn add(&mut self, times: &[i64]) {
        for (step, &time) in times.iter().enumerate() {
            self.counts[step] += 1;
            if step > 0 {
                self.from_previous[step] += time - times[step - 1];
                self.from_start[step] += time - times[0];
            }
        }
    }
}

/// Counts a funnel and renders Mixpanel's answer:
/// `{"meta": {"dates": [...]}, "data": {date: {"steps": [...], "analysis": {...}}}}`, or with
/// `on`, `{date: {"$overall": [steps], segment: [steps], ...}}`.
pub(crate) fn compute(dataset: &Dataset, query: &FunnelQuery) -> Json {
    let n_steps = query.steps.len();
    let entry_end = (query.to + 1) * SECONDS_PER_DAY;
    let mut wanted = [false; crate::catalog::N_EVENT_KINDS];
    for kind in &query.steps {
        wanted[*kind as usize] = true;
    }
    // Segment values are interned: a step event carries a `u32`, not a `String`, so the
    // collected events stay small when `on` is used.
    let mut segment_names: Vec<String> = Vec::new();
    let mut segment_ids: HashMap<String, u32> = HashMap::new();
    let mut events: Vec<StepEvent> = Vec::new();
    dataset.for_each_event_in(
        query.from * SECONDS_PER_DAY,
        entry_end + query.window_seconds,
        |event| {
            if !wanted[event.kind as usize] {
                return;
            }
            let view = EventView { dataset, event };
            if query
                .filter
                .as_ref()
                .is_some_and(|filter| !filter.matches(&view))
            {
                return;
            }
            let segment = match &query.on {
                Some(on) if event.kind == query.steps[0] => {
                    on.eval(&view).segment_key().map(|key| {
                        let next = segment_names.len() as u32;
                        *segment_ids.entry(key.clone()).or_insert_with(|| {
                            segment_names.push(key);
                            next
                        })
                    })
                }
                _ => None,
            };
            events.push(StepEvent {
                user: event.user,
                time: event.time,
                kind: event.kind,
                segment,
            });
        },
    );
    // The scan visits events in export order (time, then insert id), so a stable sort by
    // user leaves each user's events in that order, which the step matching relies on.
    events.sort_by_key(|event| event.user);

    let n_buckets = query.buckets.len();
    let mut overall = vec![Totals::new(n_steps); n_buckets];
    let mut by_segment: HashMap<u32, Vec<Totals>> = HashMap::new();
    // The times of the steps the current entry reached.
    let mut times = Vec::with_capacity(n_steps);
    // The buckets the current user has entered: one entry per user and bucket.
    let mut entered: Vec<usize> = Vec::new();
    for user_events in events.chunk_by(|a, b| a.user == b.user) {
        entered.clear();
        for (position, entry) in user_events.iter().enumerate() {
            if entry.kind != query.steps[0] || entry.time >= entry_end {
                continue;
            }
            let bucket = query
                .buckets
                .index_of_day(entry.time.div_euclid(SECONDS_PER_DAY));
            if entered.contains(&bucket) {
                continue;
            }
            entered.push(bucket);
            times.clear();
            times.push(entry.time);
            // The window runs from the entry, not from the previous step.
            let deadline = entry.time + query.window_seconds;
            let mut cursor = position + 1;
            'steps: for &kind in &query.steps[1..] {
                while let Some(candidate) = user_events.get(cursor) {
                    cursor += 1;
                    if candidate.time >= deadline {
                        break 'steps;
                    }
                    if candidate.kind == kind {
                        times.push(candidate.time);
                        continue 'steps;
                    }
                }
                break;
            }
            overall[bucket].add(&times);
            if let Some(segment) = entry.segment {
                by_segment
                    .entry(segment)
                    .or_insert_with(|| vec![Totals::new(n_steps); n_buckets])[bucket]
                    .add(&times);
            }
        }
    }

    let dates = query.buckets.series();
    let mut data = Map::new();
    if query.on.is_none() {
        for (date, totals) in dates.iter().zip(&overall) {
            data.insert(
                date.clone(),
                json!({"steps": steps_json(&query.steps, totals), "analysis": analysis_json(totals)}),
            );
        }
    } else {
        let mut ranked: Vec<(u32, Vec<Totals>)> = by_segment.into_iter().collect();
        let entries = |totals: &Vec<Totals>| totals.iter().map(|t| t.counts[0]).sum::<u64>();
        ranked.sort_by(|a, b| {
            entries(&b.1)
                .cmp(&entries(&a.1))
                .then_with(|| segment_names[a.0 as usize].cmp(&segment_names[b.0 as usize]))
        });
        ranked.truncate(query.limit);
        for (index, date) in dates.iter().enumerate() {
            let mut by_name = Map::new();
            by_name.insert(
                "$overall".to_owned(),
                steps_json(&query.steps, &overall[index]),
            );
            for (segment, totals) in &ranked {
                by_name.insert(
                    segment_names[*segment as usize].clone(),
                    steps_json(&query.steps, &totals[index]),
                );
            }
            data.insert(date.clone(), Json::Object(by_name));
        }
    }
    json!({"meta": {"dates": dates}, "data": data})
}

/// The `steps` array of one date.
fn steps_json(steps: &[EventKind], totals: &Totals) -> Json {
    let first = totals.counts[0];
    let ratio = |count: u64, base: u64| {
        if base == 0 {
            json!(0.0)
        } else {
            json!(count as f64 / base as f64)
        }
    };
    let mean = |sum: i64, count: u64| {
        if count == 0 {
            Json::Null
        } else {
            json!((sum as f64 / count as f64).round() as i64)
        }
    };
    Json::Array(
        steps
            .iter()
            .enumerate()
            .map(|(step, kind)| {
                let count = totals.counts[step];
                // The spec: `avg_time` is "null for step 0"; the first step converts all of
                // its entries, written `1` as in the spec's example.
                let (avg_time, avg_time_from_start, step_conv_ratio) = if step == 0 {
                    (Json::Null, Json::Null, json!(1))
                } else {
                    (
                        mean(totals.from_previous[step], count),
                        mean(totals.from_start[step], count),
                        ratio(count, totals.counts[step - 1]),
                    )
                };
                let overall_conv_ratio = if step == 0 {
                    json!(1)
                } else {
                    ratio(count, first)
                };
                json!({
                    "count": count,
                    "avg_time": avg_time,
                    "avg_time_from_start": avg_time_from_start,
                    "step_conv_ratio": step_conv_ratio,
                    "goal": kind.name(),
                    "overall_conv_ratio": overall_conv_ratio,
                    "event": kind.name(),
                })
            })
            .collect(),
    )
}

/// The `analysis` object of one date: first and last counts, and the step with the largest
/// drop from the step before it.
fn analysis_json(totals: &Totals) -> Json {
    let counts = &totals.counts;
    let worst = (1..counts.len())
        .max_by_key(|&step| {
            (
                counts[step - 1].saturating_sub(counts[step]),
                std::cmp::Reverse(step),
            )
        })
        .unwrap_or(0);
    json!({
        "completion": counts[counts.len() - 1],
        "starting_amount": counts[0],
        "steps": counts.len(),
        "worst": worst,
    })
}
