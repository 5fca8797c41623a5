//! Issue 4's acceptance scenario: live queries agree with the raw events.
//!
//! A service account (mp-auth) queries an mp-sandbox through mp-query, and the answers
//! are checked against counts computed here, independently, from the sandbox's export
//! streamed through mp-http: segmentation per day and event, and a saved funnel's step
//! counts, followed user by user in event order within the conversion window.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use mp_auth::{Secret, ServiceAccountAuth};
use mp_http::{ApiFamily, Client, ClientBuilder, Endpoints, Region, Request};
use mp_query::{Date, FunnelOptions, LiveQuery, SegmentationOptions};
use mp_sandbox::{SANDBOX_SECRET, SANDBOX_USERNAME, Sandbox, SandboxOptions};

const FROM: &str = "2024-03-04";
const TO: &str = "2024-03-17";
/// The sandbox's "Signup to Purchase" funnel and its saved conversion window.
const FUNNEL_ID: u64 = 1001;
const FUNNEL_STEPS: [&str; 3] = ["Sign Up", "View Item", "Purchase"];
const FUNNEL_WINDOW_DAYS: i64 = 14;
const SECONDS_PER_DAY: i64 = 86_400;

async fn start() -> (Sandbox, Client) {
    let mut options = SandboxOptions::new();
    options.events = 6_000;
    options.days = 28;
    options.end = Some("2024-03-24".to_owned());
    let sandbox = Sandbox::start(options).await.unwrap();
    let endpoints = Endpoints::with_overrides(Region::Us, Some(&sandbox.base_url()), None).unwrap();
    let auth = ServiceAccountAuth::new(SANDBOX_USERNAME, Secret::new(SANDBOX_SECRET.to_owned()));
    let client = ClientBuilder::new(endpoints)
        .with_authenticator(Arc::new(auth))
        .with_project_id("1")
        .build()
        .unwrap();
    (sandbox, client)
}

/// One exported event, as much of it as the checks need.
struct Exported {
    event: String,
    user: String,
    time: i64,
}

/// Streams `/export` from `from_date` to `to_date` through mp-http, line by line.
async fn export(client: &Client, from_date: &str, to_date: &str) -> Vec<Exported> {
    let request = Request::get(ApiFamily::Export, "/export")
        .param("from_date", from_date)
        .param("to_date", to_date);
    let mut lines = client.send(request).await.unwrap().lines();
    let mut events = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        let value: Value = serde_json::from_slice(&line).unwrap();
        let properties = &value["properties"];
        events.push(Exported {
            event: value["event"].as_str().unwrap().to_owned(),
            user: properties["distinct_id"].as_str().unwrap().to_owned(),
            time: properties["time"].as_i64().unwrap(),
        });
    }
    events
}

fn day_of(time: i64) -> String {
    Date::parse("1970-01-01")
        .unwrap()
        .add_days(time.div_euclid(SECONDS_PER_DAY))
        .to_string()
}

#[tokio::test]
async fn segmentation_by_day_matches_the_export() {
    let (sandbox, client) = start().await;
    let events = export(&client, FROM, TO).await;
    assert!(events.len() > 1000, "{} events", events.len());
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for event in &events {
        *expected
            .entry((event.event.clone(), day_of(event.time)))
            .or_default() += 1;
    }

    let query = LiveQuery::new(client);
    let names: Vec<&str> = sandbox.dataset().event_names().to_vec();
    for name in names {
        let result = query
            .segmentation(&SegmentationOptions::new(name, FROM, TO))
            .await
            .unwrap();
        let dates = result.dates();
        assert_eq!(dates.len(), 14, "{name}: {dates:?}");
        let mut total = 0;
        for date in dates {
            let want = expected
                .get(&(name.to_owned(), date.clone()))
                .copied()
                .unwrap_or(0);
            assert_eq!(
                result.series[name][&date], want,
                "segmentation of {name} on {date}"
            );
            total += want;
        }
        assert_eq!(result.total, serde_json::Number::from(total), "{name}");
    }
}

/// Counts the funnel per entry day: for each user and day, the first step-1 event of
/// that day enters the funnel; each later step is the user's next event of that step
/// (in export order) before the window, which starts at the entry, closes.
fn count_funnel(events: &[Exported]) -> BTreeMap<String, [u64; 3]> {
    let mut by_user: HashMap<&str, Vec<&Exported>> = HashMap::new();
    for event in events {
        if FUNNEL_STEPS.contains(&event.event.as_str()) {
            by_user.entry(&event.user).or_default().push(event);
        }
    }
    let last_entry = Date::parse(TO).unwrap().add_days(1);
    let mut counts: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for user_events in by_user.values() {
        let mut entered_days: Vec<String> = Vec::new();
        for (position, entry) in user_events.iter().enumerate() {
            let day = day_of(entry.time);
            if entry.event != FUNNEL_STEPS[0]
                || Date::parse(&day).unwrap() >= last_entry
                || entered_days.contains(&day)
            {
                continue;
            }
            entered_days.push(day.clone());
            let deadline = entry.time + FUNNEL_WINDOW_DAYS * SECONDS_PER_DAY;
            let reached = counts.entry(day).or_default();
            reached[0] += 1;
            let mut later = user_events[position + 1..]
                .iter()
                .take_while(|event| event.time < deadline);
            for (step, name) in FUNNEL_STEPS.iter().enumerate().skip(1) {
                if later.any(|event| event.event == *name) {
                    reached[step] += 1;
                } else {
                    break;
                }
            }
        }
    }
    counts
}

#[tokio::test]
async fn funnel_counts_follow_each_users_events_in_order() {
    let (_sandbox, client) = start().await;
    // Conversions may complete after `to_date`, within the window.
    let window_end = Date::parse(TO).unwrap().add_days(FUNNEL_WINDOW_DAYS);
    let events = export(&client, FROM, &window_end.to_string()).await;
    let expected = count_funnel(&events);
    let totals = expected.values().fold([0; 3], |mut sum, day| {
        for (step, count) in day.iter().enumerate() {
            sum[step] += count;
        }
        sum
    });
    assert!(totals[2] > 0, "nobody converted: {totals:?}");
    assert!(totals[0] > totals[2], "everybody converted: {totals:?}");

    let query = LiveQuery::new(client);
    let result = query
        .funnel(&FunnelOptions::new(FUNNEL_ID, FROM, TO))
        .await
        .unwrap();
    let names: Vec<&str> = result
        .steps
        .iter()
        .map(|step| step.event.as_str())
        .collect();
    assert_eq!(names, FUNNEL_STEPS);
    let counts: Vec<u64> = result.steps.iter().map(|step| step.count as u64).collect();
    assert_eq!(counts, totals);
    // And day by day, in Mixpanel's per-date answer.
    let data = result.raw()["data"].as_object().unwrap();
    assert_eq!(data.len(), 14);
    for (date, day) in data {
        let want = expected.get(date).copied().unwrap_or_default();
        for (step, count) in want.iter().enumerate() {
            assert_eq!(
                day["steps"][step]["count"],
                *count,
                "{date} step {}",
                step + 1
            );
        }
    }
}
