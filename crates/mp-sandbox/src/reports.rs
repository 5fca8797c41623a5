//! Saved objects on the wire: `/cohorts/list`, `/insights` and `/arb_funnels` (saved flows) on
//! the Query API, and bookmarks and Lexicon schemas on the App API.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};

use crate::account;
use crate::catalog::{EVENT_KINDS, EventKind};
use crate::civil::{self, SECONDS_PER_DAY};
use crate::dataset::Dataset;
use crate::http_util::{ApiError, Params};
use crate::saved::{self, Report, SavedReport};
use crate::segment::computed_at;

/// How long after a user's first anchor event a saved flow follows them.
const FLOW_WINDOW_SECONDS: i64 = SECONDS_PER_DAY;

/// The bookmark types Mixpanel's `type` filter accepts.
const BOOKMARK_TYPES: [&str; 5] = [
    "insights",
    "funnels",
    "retention",
    "flows",
    "launch-analysis",
];

fn not_found(message: &str) -> ApiError {
    ApiError::new(http::StatusCode::NOT_FOUND, message.to_owned())
}

/// `POST /api/query/cohorts/list`: every saved cohort with its current size.
pub(crate) fn cohorts_list(dataset: &Dataset, project_id: u64) -> Json {
    Json::Array(
        saved::COHORTS
            .iter()
            .map(|cohort| {
                let count = saved::cohort_members(dataset, cohort)
                    .iter()
                    .filter(|&&member| member)
                    .count();
                json!({
                    "count": count,
                    "is_visible": u8::from(cohort.is_visible),
                    "description": cohort.description,
                    "created": cohort.created,
                    "project_id": project_id,
                    "id": cohort.id,
                    "name": cohort.name,
                })
            })
            .collect(),
    )
}

/// Looks up a saved report by the `bookmark_id` parameter.
fn bookmark(params: &Params) -> Result<&'static SavedReport, ApiError> {
    let id = params
        .integer("bookmark_id")?
        .ok_or_else(|| ApiError::bad_request("Missing required parameter: bookmark_id"))?;
    saved::report(id).ok_or_else(|| not_found("Bookmark not found"))
}

/// The days a saved report covers: the last 30 days up to the sandbox's "today".
fn report_range(dataset: &Dataset) -> (i64, i64) {
    let to = dataset.last_day();
    (to - saved::REPORT_DAYS + 1, to)
}

/// An Insights date key: midnight of a day with the project's offset (UTC).
fn iso_day(day: i64) -> String {
    format!("{}+00:00", civil::format_datetime(day * SECONDS_PER_DAY))
}

/// `GET /api/query/insights?bookmark_id=`: a saved Insights report, `{"computed_at",
/// "date_range", "headers": ["$event"], "series": {event: {iso date: count}}}`.
pub(crate) fn insights(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let report = bookmark(params)?;
    let Report::Insights { events } = report.report else {
        return Err(ApiError::bad_request(format!(
            "bookmark {} is a {} report, not an insights report",
            report.id,
            report.kind()
        )));
    };
    let (from, to) = report_range(dataset);
    let mut series = Map::new();
    for &kind in events {
        let mut by_day = Map::new();
        for day in from..=to {
            let count = dataset
                .day_index(day)
                .map_or(0, |index| dataset.day_stats(index).counts[kind as usize]);
            by_day.insert(iso_day(day), json!(count));
        }
        series.insert(kind.name().to_owned(), Json::Object(by_day));
    }
    Ok(json!({
        "computed_at": computed_at(dataset),
        "date_range": {
            "from_date": iso_day(from),
            "to_date": format!("{}T23:59:59.999000+00:00", civil::format_date(to)),
        },
        "headers": ["$event"],
        "series": series,
    }))
}

/// `GET /api/query/arb_funnels?bookmark_id=&query_type=flows_sankey`: a saved Flows report as
/// a Sankey diagram.
///
/// Each user's first anchor event of the report's range starts a path of their next
/// `forward` events within a day. Step 0 is the anchor; step `s` has a node per event seen at
/// position `s` of the paths, plus a `DROPOFF` node for the paths that ended before it. Every
/// node's `edges` go to the nodes of the next step. Counts are users, sent as strings as
/// Mixpanel sends `totalCount`.
pub(crate) fn flows(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let report = bookmark(params)?;
    let query_type = params.get("query_type").unwrap_or("flows_sankey");
    if query_type != "flows_sankey" {
        return Err(ApiError::bad_request(format!(
            "query_type {query_type} is not supported by the sandbox (use flows_sankey)"
        )));
    }
    let Report::Flows { anchor, forward } = report.report else {
        return Err(ApiError::bad_request(format!(
            "bookmark {} is a {} report, not a flows report",
            report.id,
            report.kind()
        )));
    };
    let (from, to) = report_range(dataset);
    let anchor_until = (to + 1) * SECONDS_PER_DAY;
    // One pass in time order: a user's first anchor of the range starts their path, and
    // their later events extend it until it is `forward` long or the window closes. Per
    // user: the anchor time and the events after it.
    let mut paths: HashMap<u32, (i64, Vec<EventKind>)> = HashMap::new();
    dataset.for_each_event_in(
        from * SECONDS_PER_DAY,
        anchor_until + FLOW_WINDOW_SECONDS,
        |event| match paths.get_mut(&event.user) {
            None => {
                if event.kind == anchor && event.time < anchor_until {
                    paths.insert(event.user, (event.time, Vec::new()));
                }
            }
            Some((start, path)) => {
                if path.len() < forward && event.time < *start + FLOW_WINDOW_SECONDS {
                    path.push(event.kind);
                }
            }
        },
    );
    let n_users = paths.len() as u64;
    // Per step: users at each event (None = dropped off before this step).
    let mut nodes: Vec<HashMap<Option<EventKind>, u64>> = vec![HashMap::new(); forward + 1];
    // Per step: transitions to the next step.
    let mut edges: Vec<HashMap<(EventKind, Option<EventKind>), u64>> =
        vec![HashMap::new(); forward + 1];
    // A path that ends before step `s` counts as a drop-off at `s` and nowhere after, so
    // every step's nodes add up to the users still on a path at the step before.
    for (_, path) in paths.values() {
        let at = |step: usize| -> Option<EventKind> {
            if step == 0 {
                Some(anchor)
            } else {
                path.get(step - 1).copied()
            }
        };
        for step in 0..=forward {
            let here = at(step);
            *nodes[step].entry(here).or_insert(0) += 1;
            let Some(here) = here else {
                break;
            };
            if step < forward {
                *edges[step].entry((here, at(step + 1))).or_insert(0) += 1;
            }
        }
    }
    let completed = paths
        .values()
        .filter(|(_, path)| path.len() == forward)
        .count() as u64;
    let node_json = |step: usize, event: Option<EventKind>, count: u64| -> Json {
        let mut node_edges: Vec<(Option<EventKind>, u64)> = match event {
            Some(event) => edges[step]
                .iter()
                .filter(|((from, _), _)| *from == event)
                .map(|((_, to), count)| (*to, *count))
                .collect(),
            None => Vec::new(),
        };
        sort_nodes(&mut node_edges);
        let (name, kind) = flow_node(step, event);
        json!({
            "event": name,
            "type": kind,
            "totalCount": count.to_string(),
            "anchorType": if step == 0 { "NORMAL" } else { "RELATIVE_FORWARD" },
            "isCustomEvent": false,
            "conversionRateChange": 0,
            "edges": node_edges.iter().map(|(to, count)| {
                let (name, kind) = flow_node(step + 1, *to);
                json!({"event": name, "type": kind, "totalCount": count.to_string(), "step": step + 1})
            }).collect::<Vec<_>>(),
        })
    };
    let steps: Vec<Json> = nodes
        .iter()
        .enumerate()
        .map(|(step, counts)| {
            let mut ordered: Vec<(Option<EventKind>, u64)> =
                counts.iter().map(|(event, count)| (*event, *count)).collect();
            sort_nodes(&mut ordered);
            json!({"nodes": ordered.iter().map(|(event, count)| node_json(step, *event, *count)).collect::<Vec<_>>()})
        })
        .collect();
    let rate = if n_users == 0 {
        0.0
    } else {
        completed as f64 / n_users as f64
    };
    Ok(json!({
        "computed_at": computed_at(dataset),
        "steps": steps,
        "breakdowns": [],
        "overallConversionRate": rate,
        "metadata": {
            "bookmark_id": report.id,
            "from_date": civil::format_date(from),
            "to_date": civil::format_date(to),
            "query_type": query_type,
        },
    }))
}

/// Orders nodes or edges by count (largest first), then by event, drop-offs last.
fn sort_nodes(items: &mut [(Option<EventKind>, u64)]) {
    items.sort_by(|a, b| {
        a.0.is_none()
            .cmp(&b.0.is_none())
            .then(b.1.cmp(&a.1))
            .then_with(|| a.0.map(EventKind::name).cmp(&b.0.map(EventKind::name)))
    });
}

/// The event name and node type of a flow node.
fn flow_node(step: usize, event: Option<EventKind>) -> (&'static str, &'static str) {
    match event {
        None => ("$dropoff", "DROPOFF"),
        Some(event) if step == 0 => (event.name(), "ANCHOR"),
        Some(event) => (event.name(), "FORWARD"),
    }
}

/// `GET /api/app/projects/{id}/bookmarks`: `{"status": "ok", "results": [bookmark]}`,
/// filtered by `type` and `ids` (comma-separated).
pub(crate) fn bookmarks(project_id: u64, params: &Params) -> Result<Json, ApiError> {
    let kind = params.get("type");
    if let Some(kind) = kind
        && !BOOKMARK_TYPES.contains(&kind)
    {
        return Err(ApiError::bad_request("Invalid type parameter"));
    }
    let ids: Option<Vec<u64>> = params
        .get("ids")
        .map(|text| {
            text.split(',')
                .map(|id| {
                    id.trim()
                        .parse()
                        .map_err(|_| ApiError::bad_request(format!("invalid bookmark id {id:?}")))
                })
                .collect()
        })
        .transpose()?;
    let workspace_id = account::project(project_id)
        .and_then(|project| project.workspaces.iter().find(|w| w.is_default))
        .map(|workspace| workspace.id);
    let results: Vec<Json> = saved::REPORTS
        .iter()
        .filter(|report| kind.is_none_or(|kind| report.kind() == kind))
        .filter(|report| ids.as_ref().is_none_or(|ids| ids.contains(&report.id)))
        .map(|report| {
            json!({
                "id": report.id,
                "name": report.name,
                "type": report.kind(),
                "project_id": project_id,
                "workspace_id": workspace_id,
                "created": report.created,
                "modified": report.modified,
                "creator_id": account::USER_ID,
                "creator_name": account::USER_NAME,
                "description": report.description,
                "params": bookmark_params(report),
            })
        })
        .collect();
    Ok(json!({"status": "ok", "results": results}))
}

/// The saved definition of a report, in the spirit of Mixpanel's bookmark `params`.
fn bookmark_params(report: &SavedReport) -> Json {
    let last_30_days = json!([{"dateRangeType": "in the last", "unit": "day", "window": {"unit": "day", "value": saved::REPORT_DAYS}}]);
    match &report.report {
        Report::Insights { events } => json!({
            "sections": {
                "show": events.iter().map(|kind| json!({
                    "type": "metric",
                    "behavior": {"type": "event", "name": kind.name(), "resourceType": "events"},
                    "measurement": {"math": "total"},
                })).collect::<Vec<_>>(),
                "time": last_30_days,
            },
            "displayOptions": {"chartType": "line"},
        }),
        // A funnel report is the saved funnel of the same id.
        Report::Funnel => match saved::funnel(report.id) {
            Some(funnel) => json!({
                "funnel_id": funnel.id,
                "steps": funnel.steps.iter().map(|kind| json!({"event": kind.name()})).collect::<Vec<_>>(),
                "length": funnel.length,
                "length_unit": funnel.length_unit.name(),
                "sections": {"time": last_30_days},
            }),
            None => json!({"funnel_id": report.id}),
        },
        Report::Retention {
            born,
            event,
            interval_count,
        } => json!({
            "born_event": born.name(),
            "event": event.name(),
            "retention_type": "birth",
            "unit": "day",
            "interval_count": interval_count,
            "sections": {"time": last_30_days},
        }),
        Report::Flows { anchor, forward } => json!({
            "steps": [{"event": anchor.name(), "forward": forward, "reverse": 0}],
            "chartType": "sankey",
            "count_type": "unique",
            "conversion_window": {"unit": "day", "value": 1},
            "sections": {"time": last_30_days},
        }),
    }
}

/// The entity types of Lexicon schemas.
fn check_entity_type(entity_type: &str) -> Result<(), ApiError> {
    if matches!(entity_type, "event" | "profile") {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "entityType must be event or profile, got {entity_type:?}"
        )))
    }
}

/// Every schema of the project: one per event, and the user profile (`profile`, `$user`).
fn all_schemas() -> Vec<(&'static str, &'static str, Json)> {
    let mut schemas: Vec<(&'static str, &'static str, Json)> = EVENT_KINDS
        .iter()
        .map(|&kind| {
            let (description, specific) = saved::event_schema(kind);
            let properties = saved::common_event_properties().iter().chain(specific);
            (
                "event",
                kind.name(),
                schema_json(kind.name(), description, properties),
            )
        })
        .collect();
    schemas.push((
        "profile",
        "$user",
        schema_json("$user", "A user of the shop", saved::PROFILE_SCHEMA.iter()),
    ));
    schemas
}

fn schema_json<'a>(
    name: &str,
    description: &str,
    properties: impl Iterator<Item = &'a saved::SchemaProperty>,
) -> Json {
    let mut map = Map::new();
    for (property, kind, about) in properties {
        map.insert(
            (*property).to_owned(),
            json!({"type": kind, "description": about}),
        );
    }
    json!({
        "description": description,
        "properties": map,
        "metadata": {"com.mixpanel": {
            "$source": "mp-sandbox",
            "displayName": name,
            "tags": [],
            "hidden": false,
            "dropped": false,
            "contacts": [],
            "teamContacts": [],
        }},
    })
}

/// `GET /api/app/projects/{id}/schemas[/{entityType}]` (optionally `entity_name=`):
/// `{"status": "ok", "results": [{"entityType", "name", "schemaJson"}]}`.
pub(crate) fn schemas(entity_type: Option<&str>, params: &Params) -> Result<Json, ApiError> {
    if let Some(entity_type) = entity_type {
        check_entity_type(entity_type)?;
    }
    let name = params.get("entity_name");
    let results: Vec<Json> = all_schemas()
        .into_iter()
        .filter(|(kind, _, _)| entity_type.is_none_or(|wanted| wanted == *kind))
        .filter(|(_, entity, _)| name.is_none_or(|wanted| wanted == *entity))
        .map(|(kind, entity, schema)| json!({"entityType": kind, "name": entity, "schemaJson": schema}))
        .collect();
    Ok(json!({"status": "ok", "results": results}))
}

/// `GET /api/app/projects/{id}/schemas/{entityType}/{name}`: `{"status": "ok", "results":
/// schemaJson}`, or 404.
pub(crate) fn schema(entity_type: &str, name: &str) -> Result<Json, ApiError> {
    check_entity_type(entity_type)?;
    all_schemas()
        .into_iter()
        .find(|(kind, entity, _)| *kind == entity_type && *entity == name)
        .map(|(_, _, schema)| json!({"status": "ok", "results": schema}))
        .ok_or_else(|| not_found(&format!("No schema found for {entity_type} {name:?}")))
}
