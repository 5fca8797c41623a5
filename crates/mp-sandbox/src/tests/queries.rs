//! The analysis endpoints (funnels, retention, frequency, segmentation variants, event and
//! property counts, activity feed, saved reports, cohorts, JQL), each checked against an
//! answer computed here, independently, from the exported events.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::{Value, json};

use super::client::{Call, get, start};
use crate::Sandbox;
use crate::http_util::percent_encode;

const DAY: i64 = 86_400;

/// One exported event.
#[derive(Debug, Clone)]
struct Ev {
    event: String,
    time: i64,
    user: String,
    properties: serde_json::Map<String, Value>,
}

impl Ev {
    fn day(&self) -> i64 {
        self.time.div_euclid(DAY)
    }
}

fn day_of(date: &str) -> i64 {
    crate::civil::parse_date(date).unwrap()
}

fn date_of(day: i64) -> String {
    crate::civil::format_date(day)
}

/// Exports a range and parses every line, in export order.
async fn export(sandbox: &Sandbox, from: &str, to: &str) -> Vec<Ev> {
    let reply = get(
        sandbox,
        &format!("/api/2.0/export?project_id=1&from_date={from}&to_date={to}"),
    )
    .await;
    assert_eq!(reply.status, 200);
    reply
        .body
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let record: Value = serde_json::from_slice(line).unwrap();
            let properties = record["properties"].as_object().unwrap().clone();
            Ev {
                event: record["event"].as_str().unwrap().to_owned(),
                time: properties["time"].as_i64().unwrap(),
                user: properties["distinct_id"].as_str().unwrap().to_owned(),
                properties,
            }
        })
        .collect()
}

/// Groups events by user, keeping export order.
fn by_user(events: &[Ev]) -> BTreeMap<String, Vec<&Ev>> {
    let mut users: BTreeMap<String, Vec<&Ev>> = BTreeMap::new();
    for event in events {
        users.entry(event.user.clone()).or_default().push(event);
    }
    users
}

/// A GET that must succeed; returns the JSON. (The failure names the target, since an
/// async function cannot report its caller's line.)
async fn ok(sandbox: &Sandbox, target: &str) -> Value {
    let reply = get(sandbox, target).await;
    assert_eq!(
        reply.status,
        200,
        "{target}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

fn enc(text: &str) -> String {
    percent_encode(text)
}

/// A funnel computed from exported events: per bucket key, the number of entries that
/// reached each step.
fn expected_funnel(
    events: &[Ev],
    steps: &[&str],
    (from, to): (i64, i64),
    window: i64,
    bucket: impl Fn(i64) -> i64,
    keep: impl Fn(&Ev) -> bool,
) -> BTreeMap<i64, Vec<u64>> {
    let mut counts: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
    for user_events in by_user(events).values() {
        let relevant: Vec<&&Ev> = user_events
            .iter()
            .filter(|e| steps.contains(&e.event.as_str()) && keep(e))
            .collect();
        let mut entered = BTreeSet::new();
        for (i, entry) in relevant.iter().enumerate() {
            if entry.event != steps[0] || entry.day() < from || entry.day() > to {
                continue;
            }
            if !entered.insert(bucket(entry.day())) {
                continue;
            }
            let mut reached = 1;
            let mut next = i + 1;
            'steps: for step in &steps[1..] {
                while next < relevant.len() {
                    let candidate = relevant[next];
                    next += 1;
                    if candidate.time >= entry.time + window {
                        break 'steps;
                    }
                    if candidate.event == *step {
                        reached += 1;
                        continue 'steps;
                    }
                }
                break;
            }
            let row = counts
                .entry(bucket(entry.day()))
                .or_insert_with(|| vec![0; steps.len()]);
            for count in &mut row[..reached] {
                *count += 1;
            }
        }
    }
    counts
}

fn funnel_counts(answer: &Value, date: &str) -> Vec<u64> {
    answer["data"][date]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["count"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn funnel_step_counts_follow_each_users_events_in_order() {
    let sandbox = start(20_000, 14).await;
    let (from, to) = ("2024-03-20", "2024-03-26");
    // Conversions may happen after to_date: export to the end of the data.
    let events = export(&sandbox, from, "2024-03-31").await;
    let range = (day_of(from), day_of(to));
    let cases: [(u64, &[&str], i64, &str); 4] = [
        (1001, &["Sign Up", "View Item", "Purchase"], 14 * DAY, ""),
        (1002, &["View Item", "Add To Cart", "Purchase"], DAY, ""),
        (1003, &["Search", "View Item", "Add To Cart"], 30 * 60, ""),
        (
            1002,
            &["View Item", "Add To Cart", "Purchase"],
            2 * 3600,
            "&length=2&length_unit=hour",
        ),
    ];
    for (funnel_id, steps, window, extra) in cases {
        let answer = ok(
            &sandbox,
            &format!("/api/query/funnels?project_id=1&funnel_id={funnel_id}&from_date={from}&to_date={to}{extra}"),
        )
        .await;
        let expected = expected_funnel(&events, steps, range, window, |day| day, |_| true);
        let dates: Vec<String> = (range.0..=range.1).map(date_of).collect();
        assert_eq!(answer["meta"]["dates"], json!(dates));
        let mut converted = 0;
        for day in range.0..=range.1 {
            let want = expected
                .get(&day)
                .cloned()
                .unwrap_or_else(|| vec![0; steps.len()]);
            let date = date_of(day);
            assert_eq!(
                funnel_counts(&answer, &date),
                want,
                "funnel {funnel_id}{extra} on {date}"
            );
            converted += want[steps.len() - 1];
            let day_answer = &answer["data"][&date];
            let steps_json = day_answer["steps"].as_array().unwrap();
            assert_eq!(steps_json[0]["event"], steps[0]);
            assert_eq!(steps_json[0]["step_conv_ratio"], 1);
            if want[0] > 0 {
                let overall = steps_json[2]["overall_conv_ratio"].as_f64().unwrap();
                assert!((overall - want[2] as f64 / want[0] as f64).abs() < 1e-12);
            }
            if want[1] > 0 {
                assert!(steps_json[1]["avg_time"].as_i64().unwrap() > 0);
            }
            assert_eq!(day_answer["analysis"]["starting_amount"], want[0]);
            assert_eq!(day_answer["analysis"]["completion"], want[2]);
            assert_eq!(day_answer["analysis"]["steps"], 3);
        }
        assert!(converted > 0, "funnel {funnel_id}{extra} converts somebody");
    }

    // `where` filters every step's events; weekly buckets enter once per week.
    let filter = r#"properties["platform"] == "web""#;
    let answer = ok(
        &sandbox,
        &format!(
            "/api/query/funnels?project_id=1&funnel_id=1002&from_date={from}&to_date={to}&where={}",
            enc(filter)
        ),
    )
    .await;
    let expected = expected_funnel(
        &events,
        &["View Item", "Add To Cart", "Purchase"],
        range,
        DAY,
        |day| day,
        |e| e.properties["platform"] == "web",
    );
    for (day, want) in &expected {
        assert_eq!(&funnel_counts(&answer, &date_of(*day)), want);
    }
    let weekly = ok(
        &sandbox,
        &format!(
            "/api/query/funnels?project_id=1&funnel_id=1002&from_date={from}&to_date={to}&unit=week"
        ),
    )
    .await;
    let monday = |day: i64| day - crate::civil::weekday_monday0(day);
    let expected = expected_funnel(
        &events,
        &["View Item", "Add To Cart", "Purchase"],
        range,
        DAY,
        monday,
        |_| true,
    );
    assert_eq!(weekly["meta"]["dates"], json!(["2024-03-18", "2024-03-25"]));
    for (week, want) in &expected {
        assert_eq!(&funnel_counts(&weekly, &date_of(*week)), want);
    }

    // `on` segments by the first step's property; `$overall` is the unsegmented funnel.
    let plain = ok(
        &sandbox,
        &format!("/api/query/funnels?project_id=1&funnel_id=1002&from_date={from}&to_date={to}"),
    )
    .await;
    let segmented = ok(
        &sandbox,
        &format!(
            "/api/query/funnels?project_id=1&funnel_id=1002&from_date={from}&to_date={to}&on={}",
            enc(r#"properties["country"]"#)
        ),
    )
    .await;
    for date in plain["meta"]["dates"].as_array().unwrap() {
        let date = date.as_str().unwrap();
        let by_segment = segmented["data"][date].as_object().unwrap();
        assert_eq!(by_segment["$overall"], plain["data"][date]["steps"]);
        let entries: u64 = by_segment
            .iter()
            .filter(|(name, _)| *name != "$overall")
            .map(|(_, steps)| steps[0]["count"].as_u64().unwrap())
            .sum();
        assert_eq!(entries, funnel_counts(&plain, date)[0]);
    }

    let list = ok(&sandbox, "/api/query/funnels/list?project_id=1").await;
    assert_eq!(
        list[0],
        json!({"funnel_id": 1001, "name": "Signup to Purchase"})
    );
    assert_eq!(list.as_array().unwrap().len(), 3);
    for (query, status) in [
        ("funnel_id=9&from_date=2024-03-20&to_date=2024-03-21", 404),
        ("from_date=2024-03-20&to_date=2024-03-21", 400),
        (
            "funnel_id=1001&from_date=2024-03-22&to_date=2024-03-21",
            400,
        ),
        (
            "funnel_id=1001&from_date=2024-03-20&to_date=2024-03-21&length=91&length_unit=day",
            400,
        ),
    ] {
        let reply = get(
            &sandbox,
            &format!("/api/query/funnels?project_id=1&{query}"),
        )
        .await;
        assert_eq!(reply.status, status, "{query}");
        assert!(reply.json()["error"].is_string());
    }
}

/// Birth retention computed from exported events: per cohort day, (size, counts).
fn expected_retention(
    events: &[Ev],
    born: &str,
    returning: Option<&str>,
    (from, to): (i64, i64),
    intervals: usize,
    data_end: i64,
) -> BTreeMap<i64, (u64, Vec<u64>)> {
    let mut cohorts: BTreeMap<i64, (u64, Vec<u64>)> = (from..=to)
        .map(|day| {
            let started = (0..intervals)
                .filter(|i| (day + *i as i64) * DAY < data_end)
                .count()
                .max(1);
            (day, (0, vec![0; started]))
        })
        .collect();
    for user_events in by_user(events).values() {
        let Some(birth) = user_events.iter().position(|e| e.event == born) else {
            continue;
        };
        let born_at = user_events[birth];
        if born_at.day() < from || born_at.day() > to {
            continue;
        }
        let cohort = cohorts.get_mut(&born_at.day()).unwrap();
        cohort.0 += 1;
        let came_back: BTreeSet<usize> = user_events[birth + 1..]
            .iter()
            .filter(|e| returning.is_none_or(|name| e.event == name))
            .map(|e| ((e.time - born_at.time) / DAY) as usize)
            .filter(|&interval| interval < intervals)
            .collect();
        for interval in came_back {
            if let Some(count) = cohort.1.get_mut(interval) {
                *count += 1;
            }
        }
    }
    cohorts
}

fn check_retention(answer: &Value, expected: &BTreeMap<i64, (u64, Vec<u64>)>) {
    assert_eq!(answer.as_object().unwrap().len(), expected.len());
    for (day, (first, counts)) in expected {
        let date = date_of(*day);
        assert_eq!(answer[&date]["first"], *first, "cohort {date}");
        assert_eq!(answer[&date]["counts"], json!(counts), "cohort {date}");
    }
}

#[tokio::test]
async fn retention_cohorts_follow_users_first_events() {
    let sandbox = start(20_000, 14).await;
    // The whole window: a user's first event may be before from_date.
    let events = export(&sandbox, "2024-03-18", "2024-03-31").await;
    let data_end = (day_of("2024-03-31") + 1) * DAY;
    let range = (day_of("2024-03-20"), day_of("2024-03-29"));
    let answer = ok(
        &sandbox,
        "/api/query/retention?project_id=1&born_event=Sign%20Up&event=Login&from_date=2024-03-20&to_date=2024-03-29&interval_count=5&unit=day&retention_type=birth",
    )
    .await;
    let expected = expected_retention(&events, "Sign Up", Some("Login"), range, 6, data_end);
    assert!(expected.values().map(|c| c.0).sum::<u64>() > 100);
    assert!(expected.values().map(|c| c.1[0]).sum::<u64>() > 0);
    check_retention(&answer, &expected);
    // Recent cohorts have fewer intervals: 2024-03-29 has the 29th, 30th and 31st.
    assert_eq!(answer["2024-03-29"]["counts"].as_array().unwrap().len(), 3);

    // Born on a returning event (first Login of the data), back on any event, `where`.
    let answer = ok(
        &sandbox,
        "/api/query/retention?project_id=1&born_event=Login&from_date=2024-03-22&to_date=2024-03-24&interval_count=3",
    )
    .await;
    let expected = expected_retention(
        &events,
        "Login",
        None,
        (day_of("2024-03-22"), day_of("2024-03-24")),
        4,
        data_end,
    );
    check_retention(&answer, &expected);
    let filtered = ok(
        &sandbox,
        &format!(
            "/api/query/retention?project_id=1&born_event=Sign%20Up&event=Purchase&from_date=2024-03-20&to_date=2024-03-29&interval_count=5&where={}",
            enc(r#"properties["amount"] > 100"#)
        ),
    )
    .await;
    let expensive: Vec<Ev> = events
        .iter()
        .filter(|e| e.event != "Purchase" || e.properties["amount"].as_f64().unwrap() > 100.0)
        .cloned()
        .collect();
    check_retention(
        &filtered,
        &expected_retention(&expensive, "Sign Up", Some("Purchase"), range, 6, data_end),
    );

    // Unbounded: a count includes every later interval.
    let bounded = ok(&sandbox, "/api/query/retention?project_id=1&born_event=Sign%20Up&event=Login&from_date=2024-03-20&to_date=2024-03-22&interval_count=4").await;
    let unbounded = ok(&sandbox, "/api/query/retention?project_id=1&born_event=Sign%20Up&event=Login&from_date=2024-03-20&to_date=2024-03-22&interval_count=4&unbounded_retention=true").await;
    for date in ["2024-03-20", "2024-03-21", "2024-03-22"] {
        let plain: Vec<u64> = serde_json::from_value(bounded[date]["counts"].clone()).unwrap();
        let total: Vec<u64> = serde_json::from_value(unbounded[date]["counts"].clone()).unwrap();
        assert_eq!(bounded[date]["first"], unbounded[date]["first"]);
        for (i, count) in total.iter().enumerate() {
            assert!(*count >= plain[i]);
            assert!(i == 0 || *count <= total[i - 1], "non-increasing");
        }
    }

    // The saved retention report is the same query over its last 30 days.
    let saved = ok(
        &sandbox,
        "/api/query/retention?project_id=1&bookmark_id=3001",
    )
    .await;
    let explicit = ok(&sandbox, "/api/query/retention?project_id=1&born_event=Sign%20Up&event=Login&from_date=2024-03-02&to_date=2024-03-31&interval_count=7").await;
    assert_eq!(saved, explicit);
    for (query, status) in [
        ("bookmark_id=2001", 400),
        ("bookmark_id=9", 404),
        ("event=Login&from_date=2024-03-20&to_date=2024-03-21", 400),
        (
            "born_event=Login&from_date=2024-03-20&to_date=2024-03-21&retention_type=compounded",
            400,
        ),
        (
            "born_event=Login&from_date=2024-03-20&to_date=2024-03-21&on=properties%5B%22os%22%5D",
            400,
        ),
    ] {
        let reply = get(
            &sandbox,
            &format!("/api/query/retention?project_id=1&{query}"),
        )
        .await;
        assert_eq!(reply.status, status, "{query}");
    }
}

#[tokio::test]
async fn frequency_counts_users_by_distinct_hours() {
    let sandbox = start(10_000, 7).await;
    let events = export(&sandbox, "2024-03-28", "2024-03-31").await;
    let answer = ok(
        &sandbox,
        "/api/query/retention/addiction?project_id=1&from_date=2024-03-28&to_date=2024-03-31&unit=day&addiction_unit=hour&event=View%20Item",
    )
    .await;
    let mut hours: HashMap<(i64, &str), HashSet<i64>> = HashMap::new();
    for e in events.iter().filter(|e| e.event == "View Item") {
        hours
            .entry((e.day(), e.user.as_str()))
            .or_default()
            .insert(e.time / 3600);
    }
    for day in day_of("2024-03-28")..=day_of("2024-03-31") {
        let mut expected = vec![0u64; 24];
        for ((_, _), set) in hours.iter().filter(|((d, _), _)| *d == day) {
            for count in &mut expected[..set.len()] {
                *count += 1;
            }
        }
        assert!(expected[0] > 0);
        assert_eq!(
            answer["data"][date_of(day)],
            json!(expected),
            "{}",
            date_of(day)
        );
    }
    // Weekly buckets of days have 7 entries; every event counts without `event`.
    let weekly = ok(
        &sandbox,
        "/api/query/retention/addiction?project_id=1&from_date=2024-03-25&to_date=2024-03-31&unit=week&addiction_unit=day",
    )
    .await;
    let week = weekly["data"]["2024-03-25"].as_array().unwrap();
    assert_eq!(week.len(), 7);
    let all_users: HashSet<String> = export(&sandbox, "2024-03-25", "2024-03-31")
        .await
        .into_iter()
        .map(|e| e.user)
        .collect();
    assert_eq!(week[0], all_users.len());
    let missing = get(
        &sandbox,
        "/api/query/retention/addiction?project_id=1&from_date=2024-03-25&to_date=2024-03-31&unit=day",
    )
    .await;
    assert_eq!(missing.status, 400);
}

#[tokio::test]
async fn segmentation_variants_agree_with_export() {
    let sandbox = start(8_000, 7).await;
    let (from, to) = ("2024-03-26", "2024-03-31");
    let events = export(&sandbox, from, to).await;
    let purchases: Vec<&Ev> = events.iter().filter(|e| e.event == "Purchase").collect();
    let amount = |e: &Ev| e.properties["amount"].as_f64().unwrap();
    let on = enc(r#"properties["amount"]"#);
    let base = format!("project_id=1&event=Purchase&from_date={from}&to_date={to}&on={on}");

    let sum = ok(
        &sandbox,
        &format!("/api/query/segmentation/sum?{base}&unit=day"),
    )
    .await;
    assert_eq!(sum["status"], "ok");
    assert_eq!(sum["computed_at"], "2024-04-01T00:00:00.000000+00:00");
    let average = ok(&sandbox, &format!("/api/query/segmentation/average?{base}")).await;
    for day in day_of(from)..=day_of(to) {
        let of_day: Vec<f64> = purchases
            .iter()
            .filter(|e| e.day() == day)
            .map(|e| amount(e))
            .collect();
        let total: f64 = of_day.iter().sum();
        let date = date_of(day);
        let answered = sum["results"][&date].as_f64().unwrap();
        assert!(
            (answered - total).abs() < 1e-5,
            "{date}: {answered} vs {total}"
        );
        let mean = average["results"][&date].as_f64().unwrap();
        assert!((mean - total / of_day.len() as f64).abs() < 1e-5, "{date}");
    }

    let numeric = ok(&sandbox, &format!("/api/query/segmentation/numeric?{base}")).await;
    let values = numeric["data"]["values"].as_object().unwrap();
    assert_eq!(numeric["legend_size"], values.len());
    let mut counted = 0;
    for (label, by_date) in values {
        let (low, high) = label.split_once(" - ").unwrap();
        let (low, high): (f64, f64) = (
            low.replace(',', "").parse().unwrap(),
            high.replace(',', "").parse().unwrap(),
        );
        assert_eq!(high - low, 50.0, "{label}");
        for (date, count) in by_date.as_object().unwrap() {
            let expected = purchases
                .iter()
                .filter(|e| date_of(e.day()) == *date)
                .filter(|e| (low..high).contains(&amount(e)))
                .count();
            assert_eq!(count.as_u64().unwrap() as usize, expected, "{label} {date}");
            counted += expected;
        }
    }
    assert_eq!(counted, purchases.len());

    let reply = get(
        &sandbox,
        &format!(
            "/api/query/segmentation/sum?project_id=1&event=Purchase&from_date={from}&to_date={to}"
        ),
    )
    .await;
    assert_eq!(reply.status, 400, "on is required");
}

#[tokio::test]
async fn event_and_property_counts_agree_with_segmentation_and_export() {
    let sandbox = start(8_000, 14).await;
    let (from, to) = ("2024-03-20", "2024-03-31");
    let events = export(&sandbox, from, to).await;
    let names = enc(r#"["Login","Purchase","Never Happened"]"#);
    for (kind, unit) in [("general", "day"), ("unique", "week"), ("general", "month")] {
        let counts = ok(
            &sandbox,
            &format!("/api/query/events?project_id=1&event={names}&type={kind}&unit={unit}&from_date={from}&to_date={to}"),
        )
        .await;
        assert_eq!(counts["legend_size"], 3);
        assert!(
            counts["data"]["values"]["Never Happened"]
                .as_object()
                .unwrap()
                .values()
                .all(|v| v == 0)
        );
        for name in ["Login", "Purchase"] {
            let segmentation = ok(
                &sandbox,
                &format!("/api/query/segmentation?project_id=1&event={name}&type={kind}&unit={unit}&from_date={from}&to_date={to}"),
            )
            .await;
            assert_eq!(counts["data"]["series"], segmentation["data"]["series"]);
            assert_eq!(
                counts["data"]["values"][name], segmentation["data"]["values"][name],
                "{name} {kind} {unit}"
            );
        }
    }
    // `interval`: the last N days of the data.
    let last = ok(
        &sandbox,
        &format!(
            "/api/query/events?project_id=1&event={}&type=general&unit=day&interval=3",
            enc(r#"["Login"]"#)
        ),
    )
    .await;
    assert_eq!(
        last["data"]["series"],
        json!(["2024-03-29", "2024-03-30", "2024-03-31"])
    );

    let properties = ok(
        &sandbox,
        &format!("/api/query/events/properties?project_id=1&event=Purchase&name=country&type=general&unit=day&from_date={from}&to_date={to}&limit=3"),
    )
    .await;
    let values = properties["data"]["values"].as_object().unwrap();
    assert_eq!(values.len(), 3);
    for (country, by_date) in values {
        for (date, count) in by_date.as_object().unwrap() {
            let expected = events
                .iter()
                .filter(|e| e.event == "Purchase" && date_of(e.day()) == *date)
                .filter(|e| e.properties["country"] == *country)
                .count();
            assert_eq!(count.as_u64().unwrap() as usize, expected);
        }
    }
    let only = ok(
        &sandbox,
        &format!(
            "/api/query/events/properties?project_id=1&event=Purchase&name=country&type=general&unit=day&from_date={from}&to_date={to}&values={}",
            enc(r#"["GB","ZZ"]"#)
        ),
    )
    .await;
    let keys: BTreeSet<&String> = only["data"]["values"].as_object().unwrap().keys().collect();
    assert_eq!(keys, BTreeSet::from([&"GB".to_owned(), &"ZZ".to_owned()]));
}

#[tokio::test]
async fn activity_feed_lists_the_users_events() {
    let sandbox = start(3_000, 5).await;
    let events = export(&sandbox, "2024-03-27", "2024-03-31").await;
    let users: Vec<String> = by_user(&events).keys().take(2).cloned().collect();
    let ids = enc(&serde_json::to_string(&users).unwrap());
    let answer = ok(
        &sandbox,
        &format!("/api/query/stream/query?project_id=1&distinct_ids={ids}&from_date=2024-03-28&to_date=2024-03-30"),
    )
    .await;
    assert_eq!(answer["status"], "ok");
    let feed = answer["results"]["events"].as_array().unwrap();
    let expected: Vec<&Ev> = events
        .iter()
        .filter(|e| users.contains(&e.user))
        .filter(|e| (day_of("2024-03-28")..=day_of("2024-03-30")).contains(&e.day()))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(feed.len(), expected.len());
    for (item, want) in feed.iter().zip(expected) {
        assert_eq!(item["event"], want.event);
        let properties = item["properties"].as_object().unwrap();
        assert_eq!(properties["time"], want.time);
        assert_eq!(properties["$distinct_id"], want.user);
        for (name, value) in &want.properties {
            if name != "distinct_id" && name != "mp_processing_time_ms" {
                assert_eq!(&properties[name], value, "{name}");
            }
        }
    }
    // Without dates, the whole window; an unknown id has no events.
    let nobody = ok(
        &sandbox,
        &format!(
            "/api/query/stream/query?project_id=1&distinct_ids={}",
            enc(r#"["nobody"]"#)
        ),
    )
    .await;
    assert_eq!(nobody["results"]["events"], json!([]));
}

#[tokio::test]
async fn saved_reports_insights_flows_and_bookmarks() {
    let sandbox = start(6_000, 10).await;
    let insights = ok(
        &sandbox,
        "/api/query/insights?project_id=1&bookmark_id=2002",
    )
    .await;
    let keys: Vec<&str> = insights
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["computed_at", "date_range", "headers", "series"]);
    assert_eq!(insights["headers"], json!(["$event"]));
    assert_eq!(
        insights["date_range"],
        json!({"from_date": "2024-03-02T00:00:00+00:00", "to_date": "2024-03-31T23:59:59.999000+00:00"})
    );
    for name in ["Sign Up", "Login"] {
        let series = insights["series"][name].as_object().unwrap();
        assert_eq!(series.len(), 30);
        let segmentation = ok(
            &sandbox,
            &format!("/api/query/segmentation?project_id=1&event={}&from_date=2024-03-02&to_date=2024-03-31", enc(name)),
        )
        .await;
        for (date, count) in segmentation["data"]["values"][name].as_object().unwrap() {
            assert_eq!(&series[&format!("{date}T00:00:00+00:00")], count);
        }
    }

    // Flows: every user's first Login of the range, then their next three events.
    let flows = ok(
        &sandbox,
        "/api/query/arb_funnels?project_id=1&bookmark_id=4001&query_type=flows_sankey",
    )
    .await;
    let events = export(&sandbox, "2024-03-22", "2024-03-31").await;
    let logged_in: HashSet<&str> = events
        .iter()
        .filter(|e| e.event == "Login")
        .map(|e| e.user.as_str())
        .collect();
    let steps = flows["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    let anchor = &steps[0]["nodes"][0];
    assert_eq!(anchor["event"], "Login");
    assert_eq!(anchor["type"], "ANCHOR");
    assert_eq!(anchor["totalCount"], logged_in.len().to_string());
    for step in steps {
        let total: u64 = step["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["totalCount"].as_str().unwrap().parse::<u64>().unwrap())
            .sum();
        assert!(total <= logged_in.len() as u64);
    }
    let edges_out: u64 = anchor["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["totalCount"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        edges_out,
        logged_in.len() as u64,
        "every anchor user goes somewhere"
    );
    let rate = flows["overallConversionRate"].as_f64().unwrap();
    assert!(rate > 0.0 && rate <= 1.0);

    // Bookmarks on the App API, and the saved-report errors.
    let all = ok(
        &sandbox,
        "/api/app/projects/1/bookmarks?v=2&project_id=1&query_origin=mp-rs",
    )
    .await;
    assert_eq!(all["status"], "ok");
    let list = all["results"].as_array().unwrap();
    assert_eq!(list.len(), 7);
    let kinds: BTreeSet<&str> = list.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["insights", "funnels", "retention", "flows"])
    );
    assert_eq!(list[0]["project_id"], 1);
    assert_eq!(list[0]["workspace_id"], 1);
    let funnels = ok(&sandbox, "/api/app/projects/2/bookmarks?v=2&type=funnels").await;
    let ids: Vec<u64> = funnels["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [1001, 1002, 1003],
        "a funnel report's id is its funnel id"
    );
    let picked = ok(&sandbox, "/api/app/projects/1/bookmarks?v=2&ids=2001,4001").await;
    assert_eq!(picked["results"].as_array().unwrap().len(), 2);
    let invalid = get(&sandbox, "/api/app/projects/1/bookmarks?v=2&type=invalid").await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.json(),
        json!({"status": "error", "error": "Invalid type parameter"})
    );
    for (target, status) in [
        ("/api/query/insights?project_id=1&bookmark_id=1001", 400),
        ("/api/query/insights?project_id=1&bookmark_id=99999", 404),
        ("/api/query/insights?project_id=1", 400),
        (
            "/api/query/arb_funnels?project_id=1&bookmark_id=99999&query_type=flows_sankey",
            404,
        ),
        (
            "/api/query/arb_funnels?project_id=1&bookmark_id=4001&query_type=flows",
            400,
        ),
    ] {
        let reply = get(&sandbox, target).await;
        assert_eq!(reply.status, status, "{target}");
        assert!(reply.json()["error"].is_string());
    }
    let not_found = get(
        &sandbox,
        "/api/query/arb_funnels?project_id=1&bookmark_id=99999&query_type=flows_sankey",
    )
    .await;
    assert_eq!(not_found.json()["error"], "Bookmark not found");
}

#[tokio::test]
async fn cohorts_agree_with_engage_and_export() {
    let mut options = crate::SandboxOptions::new();
    options.events = 6_000;
    options.days = 14;
    options.end = Some(super::client::END.to_owned());
    options.engage_page_size = 50;
    let sandbox = Sandbox::start(options).await.unwrap();
    let events = export(&sandbox, "2024-03-18", "2024-03-31").await;
    let mut purchases: HashMap<&str, u32> = HashMap::new();
    for e in events.iter().filter(|e| e.event == "Purchase") {
        *purchases.entry(e.user.as_str()).or_insert(0) += 1;
    }
    let recent_signups = events
        .iter()
        .filter(|e| e.event == "Sign Up" && e.day() >= day_of("2024-03-25"))
        .count();
    let paid = ok(
        &sandbox,
        &format!(
            "/api/query/engage?project_id=1&where={}",
            enc(r#"properties["plan"] in ["pro", "enterprise"]"#)
        ),
    )
    .await["total"]
        .as_u64()
        .unwrap() as usize;
    let expected: HashMap<u64, usize> = HashMap::from([
        (501, purchases.len()),
        (502, purchases.values().filter(|&&n| n >= 3).count()),
        (503, paid),
        (504, recent_signups),
    ]);

    let reply = Call::post_form("/api/query/cohorts/list?project_id=1", "")
        .send(&sandbox)
        .await;
    assert_eq!(reply.status, 200);
    let cohorts = reply.json();
    assert_eq!(cohorts.as_array().unwrap().len(), 4);
    for cohort in cohorts.as_array().unwrap() {
        let id = cohort["id"].as_u64().unwrap();
        assert_eq!(
            cohort["count"].as_u64().unwrap() as usize,
            expected[&id],
            "cohort {id}"
        );
        assert!(expected[&id] > 0, "cohort {id} has members");
        assert_eq!(cohort["project_id"], 1);
        // Mixpanel's client sends the engage parameters as JSON, include_all_users a bool.
        let body = json!({"filter_by_cohort": format!("{{\"id\": {id}}}"), "include_all_users": false, "page": 0, "as_of_timestamp": 1711843200});
        let reply = Call {
            method: "POST",
            body: Some(("application/json".to_owned(), body.to_string().into_bytes())),
            ..Call::get("/api/query/engage/?project_id=1")
        }
        .send(&sandbox)
        .await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(
            reply.json()["total"].as_u64().unwrap() as usize,
            expected[&id]
        );
    }
    assert_eq!(cohorts[3]["is_visible"], 0);

    // Paging a cohort returns exactly its members, once each.
    let cohort = enc(r#"{"id": 501}"#);
    let first = ok(
        &sandbox,
        &format!("/api/query/engage?project_id=1&filter_by_cohort={cohort}"),
    )
    .await;
    let session = first["session_id"].as_str().unwrap().to_owned();
    let mut members: HashSet<String> = HashSet::new();
    let mut page = 0;
    loop {
        let answer = ok(
            &sandbox,
            &format!("/api/query/engage?project_id=1&filter_by_cohort={cohort}&page={page}&session_id={session}"),
        )
        .await;
        let results = answer["results"].as_array().unwrap();
        for profile in results {
            assert!(members.insert(profile["$distinct_id"].as_str().unwrap().to_owned()));
        }
        if results.len() < 50 {
            break;
        }
        page += 1;
    }
    let buyers: HashSet<String> = purchases.keys().map(|s| s.to_string()).collect();
    assert_eq!(members, buyers);

    for (form, message) in [
        (
            format!("filter_by_cohort={}", enc(r#"{"id": 9}"#)),
            "does not exist",
        ),
        (
            format!("filter_by_cohort={}", enc(r#"{"raw_cohort": {}}"#)),
            "raw_cohort",
        ),
        ("filter_by_cohort=nope".to_owned(), "JSON object"),
        ("include_all_users=maybe".to_owned(), "include_all_users"),
        ("as_of_timestamp=yesterday".to_owned(), "as_of_timestamp"),
    ] {
        let reply = Call::post_form("/api/query/engage?project_id=1", &form)
            .send(&sandbox)
            .await;
        assert_eq!(reply.status, 400, "{form}");
        assert!(
            reply.json()["error"].as_str().unwrap().contains(message),
            "{form}"
        );
    }
}

#[tokio::test]
async fn jql_runs_its_small_subset_and_refuses_the_rest() {
    let sandbox = start(5_000, 5).await;
    let events = export(&sandbox, "2024-03-29", "2024-03-30").await;
    let mut by_name: BTreeMap<&str, u64> = BTreeMap::new();
    for e in &events {
        *by_name.entry(e.event.as_str()).or_insert(0) += 1;
    }
    let script = "function main(){\n  return Events(params)\n    .groupBy(\n      [\"name\"],\n      mixpanel.reducer.count()\n    )\n}\n";
    let form = format!(
        "script={}&params={}",
        enc(script),
        enc(r#"{"from_date": "2024-03-29", "to_date": "2024-03-30T00:00:00.000Z"}"#)
    );
    let reply = Call::post_form("/api/query/jql?project_id=1", &form)
        .send(&sandbox)
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let expected: Vec<Value> = by_name
        .iter()
        .map(|(name, n)| json!({"key": [name], "value": n}))
        .collect();
    assert_eq!(reply.json(), json!(expected));

    let total: f64 = events
        .iter()
        .filter(|e| e.event == "Purchase" && e.properties["country"] == "US")
        .map(|e| e.properties["amount"].as_f64().unwrap())
        .sum();
    let script = r#"function main() {
        // Purchases by US users.
        return Events({from_date: "2024-03-29", to_date: "2024-03-30", event_selectors: [{event: "Purchase", selector: 'properties["country"] == "US"'}]})
            .reduce(mixpanel.reducer.sum("properties.amount"));
    }"#;
    let reply = Call::post_form(
        "/api/query/jql?project_id=1",
        &format!("script={}", enc(script)),
    )
    .send(&sandbox)
    .await;
    let answer = reply.json();
    assert!(
        (answer[0].as_f64().unwrap() - total).abs() < 1e-5,
        "{answer} vs {total}"
    );

    let script = r#"function main() { return Events(params).groupBy(["name", "properties.platform"], mixpanel.reducer.count()); }"#;
    let form = format!(
        "script={}&params={}",
        enc(script),
        enc(r#"{"from_date":"2024-03-29","to_date":"2024-03-30"}"#)
    );
    let rows = Call::post_form("/api/query/jql?project_id=1", &form)
        .send(&sandbox)
        .await
        .json();
    let sum: u64 = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["value"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, events.len() as u64);
    assert_eq!(rows[0]["key"].as_array().unwrap().len(), 2);

    for form in [
        format!("script={}", enc("function main() { return People(); }")),
        format!(
            "script={}",
            enc(
                r#"function main() { return Events(params).groupBy(["name"], mixpanel.reducer.count()); }"#
            )
        ),
        format!(
            "script={}&params={}",
            enc("function main() { return Events(params).filter(function(e) { return true; }); }"),
            enc(r#"{"from_date":"2024-03-29","to_date":"2024-03-30"}"#)
        ),
        "params=%7B%7D".to_owned(),
    ] {
        let reply = Call::post_form("/api/query/jql?project_id=1", &form)
            .send(&sandbox)
            .await;
        assert_eq!(reply.status, 400, "{form}");
        let body = reply.json();
        assert_eq!(body["request"], "/api/query/jql?project_id=1");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn lexicon_schemas_list_and_one() {
    let sandbox = start(100, 1).await;
    let all = ok(&sandbox, "/api/app/projects/1/schemas?query_origin=mp-rs").await;
    let results = all["results"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    assert_eq!(results[0]["entityType"], "event");
    assert_eq!(results[0]["name"], "Sign Up");
    assert!(results[0]["schemaJson"]["properties"]["country"]["type"] == "string");
    assert_eq!(results[7]["entityType"], "profile");
    assert_eq!(results[7]["name"], "$user");
    let events = ok(&sandbox, "/api/app/projects/1/schemas/event").await;
    assert_eq!(events["results"].as_array().unwrap().len(), 7);
    let named = ok(
        &sandbox,
        "/api/app/projects/1/schemas/event?entity_name=Purchase",
    )
    .await;
    assert_eq!(named["results"].as_array().unwrap().len(), 1);
    let purchase = &named["results"][0]["schemaJson"];
    assert_eq!(purchase["properties"]["amount"]["type"], "number");
    assert_eq!(
        purchase["metadata"]["com.mixpanel"]["displayName"],
        "Purchase"
    );
    let one = ok(
        &sandbox,
        "/api/app/projects/2/schemas/event/Add%20To%20Cart",
    )
    .await;
    assert_eq!(one["status"], "ok");
    assert!(one["results"]["properties"]["item_id"].is_object());
    let missing = get(&sandbox, "/api/app/projects/1/schemas/event/Nope").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["status"], "error");
    assert_eq!(
        get(&sandbox, "/api/app/projects/1/schemas/group")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn every_new_endpoint_authenticates_and_checks_the_project() {
    let sandbox = start(500, 3).await;
    let range = "from_date=2024-03-30&to_date=2024-03-31";
    let amount = enc(r#"properties["amount"]"#);
    let query_targets = [
        (
            "GET",
            format!("/api/query/segmentation/numeric?event=Purchase&{range}&on={amount}"),
        ),
        (
            "GET",
            format!("/api/query/segmentation/sum?event=Purchase&{range}&on={amount}"),
        ),
        (
            "GET",
            format!("/api/query/segmentation/average?event=Purchase&{range}&on={amount}"),
        ),
        (
            "GET",
            format!(
                "/api/query/events?event={}&type=general&unit=day&{range}",
                enc(r#"["Login"]"#)
            ),
        ),
        (
            "GET",
            format!(
                "/api/query/events/properties?event=Login&name=os&type=general&unit=day&{range}"
            ),
        ),
        ("GET", format!("/api/query/funnels?funnel_id=1001&{range}")),
        ("GET", "/api/query/funnels/list?".to_owned()),
        (
            "GET",
            format!("/api/query/retention?born_event=Sign%20Up&{range}"),
        ),
        (
            "GET",
            format!("/api/query/retention/addiction?unit=day&addiction_unit=hour&{range}"),
        ),
        (
            "GET",
            format!("/api/query/stream/query?distinct_ids={}", enc(r#"["x"]"#)),
        ),
        ("GET", "/api/query/insights?bookmark_id=2001".to_owned()),
        (
            "GET",
            "/api/query/arb_funnels?bookmark_id=4001&query_type=flows_sankey".to_owned(),
        ),
        ("POST", "/api/query/cohorts/list?".to_owned()),
        (
            "POST",
            format!(
                "/api/query/jql?script={}&params={}",
                enc(
                    r#"function main() { return Events(params).reduce(mixpanel.reducer.count()); }"#
                ),
                enc(r#"{"from_date":"2024-03-30","to_date":"2024-03-31"}"#)
            ),
        ),
    ];
    for (method, target) in &query_targets {
        let call = |target: String| Call {
            method,
            ..Call::get(target)
        };
        let with_project = |project: u32| {
            let separator = if target.ends_with('?') { "" } else { "&" };
            format!("{target}{separator}project_id={project}")
        };
        assert_eq!(
            call(with_project(1)).send(&sandbox).await.status,
            200,
            "{target}"
        );
        assert_eq!(
            call(with_project(2)).send(&sandbox).await.status,
            200,
            "{target}"
        );
        let anonymous = call(with_project(1)).auth(None).send(&sandbox).await;
        assert_eq!(anonymous.status, 401, "{target}");
        assert_eq!(anonymous.json()["error"], "Invalid credentials");
        let wrong = call(with_project(1))
            .auth(Some("Basic c2FuZGJveDpub3Bl"))
            .send(&sandbox)
            .await;
        assert_eq!(wrong.status, 401, "{target}");
        let forbidden = call(with_project(3)).send(&sandbox).await;
        assert_eq!(forbidden.status, 403, "{target}");
        assert!(
            forbidden.json()["error"]
                .as_str()
                .unwrap()
                .contains("project 3")
        );
        let unscoped = call(target.trim_end_matches('?').to_owned())
            .send(&sandbox)
            .await;
        assert_eq!(unscoped.status, 400, "{target} without project_id");
    }
    for suffix in [
        "bookmarks?v=2",
        "schemas",
        "schemas/event",
        "schemas/event/Login",
    ] {
        let ok_target = format!("/api/app/projects/1/{suffix}");
        assert_eq!(get(&sandbox, &ok_target).await.status, 200, "{ok_target}");
        let anonymous = Call::anonymous_get(&ok_target).send(&sandbox).await;
        assert_eq!(anonymous.status, 401);
        assert_eq!(
            anonymous.json(),
            json!({"status": "error", "error": "Invalid credentials"})
        );
        let forbidden = get(&sandbox, &format!("/api/app/projects/3/{suffix}")).await;
        assert_eq!(forbidden.status, 403, "{suffix}");
        assert_eq!(forbidden.json()["status"], "error");
    }
    // With a workspace pinned, Mixpanel's client addresses them by workspace.
    let scoped = ok(&sandbox, "/api/app/workspaces/3/bookmarks?v=2").await;
    assert_eq!(scoped["results"][0]["project_id"], 1);
    assert_eq!(
        get(&sandbox, "/api/app/workspaces/2/schemas/event/Login")
            .await
            .status,
        200
    );
    assert_eq!(
        get(&sandbox, "/api/app/workspaces/9/schemas").await.status,
        403
    );
    // The OAuth endpoints need no account credentials; an unknown client is refused there.
    let token = Call::post_form(
        "/oauth/token/",
        "grant_type=refresh_token&refresh_token=x&client_id=y",
    )
    .auth(None)
    .send(&sandbox)
    .await;
    assert_eq!(token.status, 401);
    assert_eq!(token.json(), json!({"error": "invalid_client"}));
}
