//! Every endpoint over loopback: shapes, parameters, and agreement between endpoints.

use std::collections::BTreeMap;

use serde_json::json;

use super::client::{Call, END, get, start};
use crate::Sandbox;

/// Counts exported lines per (event, date) for a range, as a client would from the JSONL.
async fn export_counts(sandbox: &Sandbox, query: &str) -> BTreeMap<(String, String), u64> {
    let reply = get(sandbox, &format!("/api/2.0/export?project_id=1&{query}")).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let mut counts = BTreeMap::new();
    for line in reply
        .body
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
    {
        let record: serde_json::Value = serde_json::from_slice(line).unwrap();
        let time = record["properties"]["time"].as_i64().unwrap();
        let date = crate::civil::format_date(time.div_euclid(86_400));
        *counts
            .entry((record["event"].as_str().unwrap().to_owned(), date))
            .or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn segmentation_by_day_equals_exported_counts() {
    // The acceptance test of the issue: for every event and day, the segmentation total
    // equals the number of exported events.
    let sandbox = start(20_000, 14).await;
    let (from, to) = ("2024-03-20", "2024-03-31");
    let exported = export_counts(&sandbox, &format!("from_date={from}&to_date={to}")).await;
    assert!(exported.values().sum::<u64>() > 10_000);
    for event in sandbox.dataset().event_names() {
        let reply = get(
            &sandbox,
            &format!(
                "/api/query/segmentation?project_id=1&event={}&from_date={from}&to_date={to}&unit=day&type=general",
                event.replace(' ', "%20")
            ),
        )
        .await;
        assert_eq!(reply.status, 200);
        let answer = reply.json();
        let series = answer["data"]["series"].as_array().unwrap();
        assert_eq!(series.len(), 12);
        assert_eq!(answer["legend_size"], 1);
        let values = answer["data"]["values"][*event].as_object().unwrap();
        for date in series {
            let date = date.as_str().unwrap();
            let expected = exported
                .get(&(event.to_string(), date.to_owned()))
                .copied()
                .unwrap_or(0);
            assert_eq!(values[date], json!(expected), "{event} on {date}");
        }
    }
}

#[tokio::test]
async fn segmentation_on_a_property_and_with_where_agrees_with_export() {
    let sandbox = start(8_000, 7).await;
    let range = "from_date=2024-03-25&to_date=2024-03-31";
    let answer = get(
        &sandbox,
        &format!("/api/query/segmentation?project_id=1&event=Purchase&{range}&on=properties%5B%22country%22%5D&limit=3"),
    )
    .await
    .json();
    let values = answer["data"]["values"].as_object().unwrap();
    assert_eq!(answer["legend_size"], 3);
    assert_eq!(values.len(), 3);
    // The three largest countries, each checked against a filtered export.
    for (country, by_date) in values {
        let filter = format!("properties[\"country\"] == \"{country}\"");
        let exported = export_counts(
            &sandbox,
            &format!(
                "{range}&event=%5B%22Purchase%22%5D&where={}",
                filter
                    .replace(' ', "%20")
                    .replace('"', "%22")
                    .replace('[', "%5B")
                    .replace(']', "%5D")
            ),
        )
        .await;
        let total: u64 = by_date
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(total, exported.values().sum::<u64>(), "{country}");
        assert!(total > 0);
    }

    // `where` on segmentation filters the same way.
    let filtered = get(
        &sandbox,
        &format!("/api/query/segmentation?project_id=1&event=Purchase&{range}&where=properties%5B%22amount%22%5D%20%3E%20100&unit=week"),
    )
    .await
    .json();
    let series = filtered["data"]["series"].as_array().unwrap();
    assert_eq!(series[0], "2024-03-25", "weeks start on Monday");
    let over_100: u64 = filtered["data"]["values"]["Purchase"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let exported = export_counts(
        &sandbox,
        &format!(
            "{range}&event=%5B%22Purchase%22%5D&where=properties%5B%22amount%22%5D%20%3E%20100"
        ),
    )
    .await;
    assert_eq!(over_100, exported.values().sum::<u64>());
}

#[tokio::test]
async fn segmentation_uniques_and_months() {
    // The window is 2024-03-12 to 2024-03-31: February has no data.
    let sandbox = start(5_000, 20).await;
    let answer = get(
        &sandbox,
        "/api/query/segmentation?project_id=1&event=Login&from_date=2024-02-01&to_date=2024-03-31&unit=month&type=unique",
    )
    .await
    .json();
    assert_eq!(
        answer["data"]["series"],
        json!(["2024-02-01", "2024-03-01"])
    );
    let uniques = &answer["data"]["values"]["Login"];
    let general = get(
        &sandbox,
        "/api/query/segmentation?project_id=1&event=Login&from_date=2024-02-01&to_date=2024-03-31&unit=month",
    )
    .await
    .json();
    let logins = general["data"]["values"]["Login"]["2024-03-01"]
        .as_u64()
        .unwrap();
    let users = uniques["2024-03-01"].as_u64().unwrap();
    assert!(
        users > 0 && users < logins,
        "{users} users made {logins} logins"
    );
    assert!(users <= sandbox.dataset().user_count() as u64);
    // Outside the window, dates are present with zero.
    assert_eq!(general["data"]["values"]["Login"]["2024-02-01"], json!(0));
}

#[tokio::test]
async fn segmentation_rejects_bad_parameters_like_mixpanel() {
    let sandbox = start(1_000, 3).await;
    for (query, message) in [
        (
            "event=Login&from_date=2024-03-30",
            "Missing required parameter: to_date",
        ),
        (
            "event=Login&from_date=2024-3-30&to_date=2024-03-31",
            "from_date must be a date",
        ),
        (
            "event=Login&from_date=2024-03-31&to_date=2024-03-30",
            "is after to_date",
        ),
        (
            "event=Login&from_date=2024-03-30&to_date=2024-03-31&unit=hour",
            "unit hour is not supported",
        ),
        (
            "event=Login&from_date=2024-03-30&to_date=2024-03-31&on=datetime(1)",
            "invalid on expression",
        ),
    ] {
        let target = format!("/api/query/segmentation?project_id=1&{query}");
        let reply = get(&sandbox, &target).await;
        assert_eq!(reply.status, 400, "{query}");
        let body = reply.json();
        assert_eq!(body["request"], json!(target));
        assert!(body["error"].as_str().unwrap().contains(message), "{body}");
    }
}

#[tokio::test]
async fn discovery_endpoints() {
    let sandbox = start(10_000, 30).await;
    // The parameters Mixpanel's client sends (discovery vectors).
    let names = get(
        &sandbox,
        "/api/query/events/names?type=general&limit=5000&from_date=2000-01-01&to_date=2026-01-15&project_id=1&query_origin=mp-rs",
    )
    .await
    .json();
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 7);
    assert_eq!(
        names[0], "View Item",
        "the most common event comes first: {names:?}"
    );
    let counts: Vec<u64> = names
        .iter()
        .map(|name| {
            (0..30)
                .map(|offset| {
                    let date = crate::civil::format_date(sandbox.dataset().first_day() + offset);
                    sandbox.dataset().count(name, &date).unwrap()
                })
                .sum()
        })
        .collect();
    assert!(
        counts.windows(2).all(|pair| pair[0] >= pair[1]),
        "{counts:?}"
    );
    let limited = get(
        &sandbox,
        "/api/query/events/names?type=unique&limit=2&project_id=1",
    )
    .await
    .json();
    assert_eq!(limited.as_array().unwrap().len(), 2);
    let missing_type = get(&sandbox, "/api/query/events/names?project_id=1").await;
    assert_eq!(missing_type.status, 400);

    let top = get(
        &sandbox,
        "/api/query/events/properties/top?event=Purchase&project_id=1",
    )
    .await
    .json();
    let top = top.as_object().unwrap();
    assert!(
        top.contains_key("amount") && top.contains_key("currency") && top.contains_key("country")
    );
    assert!(
        top.values()
            .all(|value| value["count"].as_u64().unwrap() > 0)
    );
    assert_eq!(top.len(), 10, "limit defaults to 10");

    let values = get(
        &sandbox,
        "/api/query/events/properties/values?event=Purchase&name=currency&limit=3&project_id=1",
    )
    .await
    .json();
    let values = values.as_array().unwrap();
    assert_eq!(values.len(), 3);
    let currencies = ["USD", "GBP", "INR", "EUR", "BRL", "CAD", "JPY", "AUD"];
    assert!(
        values
            .iter()
            .all(|value| currencies.contains(&value.as_str().unwrap()))
    );
    // Without `event`, as Mixpanel's client may ask; and a non-cached property.
    let countries = get(
        &sandbox,
        "/api/query/events/properties/values?name=country&project_id=1",
    )
    .await
    .json();
    assert_eq!(countries[0], "US");
    assert_eq!(countries.as_array().unwrap().len(), 11);
    let ids = get(
        &sandbox,
        "/api/query/events/properties/values?event=Login&name=distinct_id&limit=5&project_id=1",
    )
    .await
    .json();
    assert_eq!(ids.as_array().unwrap().len(), 5);

    let events_top = get(
        &sandbox,
        "/api/query/events/top?type=general&limit=3&project_id=1",
    )
    .await
    .json();
    assert_eq!(events_top["type"], "general");
    let events = events_top["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    let today = sandbox
        .dataset()
        .count(events[0]["event"].as_str().unwrap(), END)
        .unwrap();
    assert_eq!(events[0]["amount"], json!(today));
    assert!(events[0]["percent_change"].is_number());
}

#[tokio::test]
async fn engage_pages_profiles_like_mixpanel() {
    let mut options = crate::SandboxOptions::new();
    options.events = 2_500;
    options.end = Some(END.to_owned());
    options.engage_page_size = 40;
    let sandbox = Sandbox::start(options).await.unwrap();
    let n_users = sandbox.dataset().user_count();
    assert_eq!(n_users, 100);

    let first = Call::post_form("/api/query/engage/?project_id=1", "page=0")
        .send(&sandbox)
        .await
        .json();
    assert_eq!(first["status"], "ok");
    assert_eq!(first["page"], 0);
    assert_eq!(first["page_size"], 40);
    assert_eq!(first["total"], 100);
    let session = first["session_id"].as_str().unwrap().to_owned();
    let profile = &first["results"][0];
    assert!(profile["$distinct_id"].is_string());
    for key in ["$created", "$email", "$name", "$country_code", "plan"] {
        assert!(
            profile["$properties"][key].is_string(),
            "{key} in {profile}"
        );
    }
    // Page through as the reference page says; every profile exactly once.
    let mut seen: Vec<String> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["$distinct_id"].as_str().unwrap().to_owned())
        .collect();
    let mut page = 0;
    loop {
        page += 1;
        let reply = Call::post_form(
            "/api/query/engage?project_id=1",
            &format!("page={page}&session_id={session}"),
        )
        .send(&sandbox)
        .await
        .json();
        let results = reply["results"].as_array().unwrap();
        seen.extend(
            results
                .iter()
                .map(|p| p["$distinct_id"].as_str().unwrap().to_owned()),
        );
        if results.len() < 40 {
            break;
        }
    }
    assert_eq!(page, 2);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 100);

    // JSON bodies (what Mixpanel's client sends) and query parameters work too.
    let mut json_call = Call::get("/api/query/engage?project_id=1");
    json_call.method = "POST";
    json_call.body = Some((
        "application/json".to_owned(),
        br#"{"page": 0, "where": "properties[\"plan\"] == \"enterprise\"", "output_properties": "[\"plan\"]"}"#.to_vec(),
    ));
    let enterprise = json_call.send(&sandbox).await.json();
    let results = enterprise["results"].as_array().unwrap();
    assert_eq!(enterprise["total"], json!(results.len()));
    assert!(
        results
            .iter()
            .all(|p| p["$properties"] == json!({"plan": "enterprise"}))
    );
    let one = get(
        &sandbox,
        &format!("/api/query/engage?project_id=1&distinct_id={}", seen[3]),
    )
    .await
    .json();
    assert_eq!(one["total"], 1);

    for (form, message) in [
        ("page=1", "session_id is required"),
        ("page=1&session_id=other", "does not belong to this query"),
        (
            "filter_by_cohort=%7B%22id%22%3A1%7D",
            "cohort 1 does not exist",
        ),
        ("behaviors=%5B%5D", "not supported"),
        ("distinct_ids=notjson", "JSON array"),
    ] {
        let reply = Call::post_form("/api/query/engage?project_id=1", form)
            .send(&sandbox)
            .await;
        assert_eq!(reply.status, 400, "{form}");
        assert!(reply.json()["error"].as_str().unwrap().contains(message));
    }
}

#[tokio::test]
async fn app_api_me_and_public_workspaces() {
    let sandbox = start(100, 2).await;
    let me = get(&sandbox, "/api/app/me").await.json();
    assert_eq!(me["status"], "ok");
    let results = &me["results"];
    assert_eq!(results["user_email"], "sandbox@example.com");
    assert_eq!(results["projects"]["1"]["domain"], "mixpanel.com");
    assert_eq!(results["projects"]["2"]["organization_id"], 1);
    assert_eq!(results["workspaces"]["1"]["is_default"], true);
    assert_eq!(results["workspaces"]["3"]["project_id"], 1);
    assert_eq!(results["organizations"]["1"]["name"], "Sandbox Org");

    let workspaces = get(&sandbox, "/api/app/projects/1/workspaces/public")
        .await
        .json();
    let list = workspaces["results"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["is_default"], true);
    let forbidden = get(&sandbox, "/api/app/projects/9/workspaces/public").await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.json()["status"], "error");
}

#[tokio::test]
async fn authentication_and_project_checks() {
    let sandbox = start(100, 2).await;
    let target = "/api/query/events/names?type=general&project_id=1";

    let missing = Call::get(target).auth(None).send(&sandbox).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.json(),
        json!({"request": target, "error": "Invalid credentials"})
    );
    let wrong = Call::get(target)
        .auth(Some("Basic c2FuZGJveDp3cm9uZw=="))
        .send(&sandbox)
        .await;
    assert_eq!(wrong.status, 401);
    // Mixpanel accepts plain-text Basic credentials too.
    let plain = Call::get(target)
        .auth(Some("Basic sandbox:sandbox"))
        .send(&sandbox)
        .await;
    assert_eq!(plain.status, 200);
    let app = Call::get("/api/app/me")
        .auth(Some("Basic bm9wZTpub3Bl"))
        .send(&sandbox)
        .await;
    assert_eq!(app.status, 401);
    assert_eq!(
        app.json(),
        json!({"status": "error", "error": "Invalid credentials"})
    );

    let bearer = Call::get(target).auth(Some("Bearer token-1"));
    assert_eq!(bearer.send(&sandbox).await.status, 401);
    sandbox.register_bearer_token("token-1");
    assert_eq!(bearer.send(&sandbox).await.status, 200);
    assert!(sandbox.revoke_bearer_token("token-1"));
    assert_eq!(bearer.send(&sandbox).await.status, 401);

    let other_project = get(
        &sandbox,
        "/api/query/events/names?type=general&project_id=3",
    )
    .await;
    assert_eq!(other_project.status, 403);
    assert!(
        other_project.json()["error"]
            .as_str()
            .unwrap()
            .contains("project 3")
    );
    let no_project = get(&sandbox, "/api/query/events/names?type=general").await;
    assert_eq!(no_project.status, 400);
    assert_eq!(
        no_project.json(),
        json!({"request": "/api/query/events/names?type=general", "error": "Missing required parameter: project_id"})
    );
    let export_no_project = get(
        &sandbox,
        "/api/2.0/export?from_date=2024-03-31&to_date=2024-03-31",
    )
    .await;
    assert_eq!(export_no_project.status, 400);
    let bad_workspace = get(
        &sandbox,
        "/api/query/events/names?type=general&project_id=2&workspace_id=1",
    )
    .await;
    assert_eq!(bad_workspace.status, 403);
    let good_workspace = get(
        &sandbox,
        "/api/query/events/names?type=general&project_id=1&workspace_id=3",
    )
    .await;
    assert_eq!(good_workspace.status, 200);

    // Project 2 is another, smaller dataset.
    let two = get(&sandbox, "/api/query/engage?project_id=2").await.json();
    assert_ne!(two["total"], json!(sandbox.dataset().user_count()));

    assert_eq!(
        get(&sandbox, "/api/query/nothing?project_id=1")
            .await
            .status,
        404
    );
    let wrong_method = Call::post_form("/api/query/segmentation?project_id=1", "")
        .send(&sandbox)
        .await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("GET"));
}

#[tokio::test]
async fn request_log_records_requests_without_secrets() {
    let sandbox = start(100, 2).await;
    Call::post_form("/api/query/engage?project_id=1", "page=0")
        .header("user-agent", "mp-test")
        .send(&sandbox)
        .await;
    get(
        &sandbox,
        "/api/query/events/names?type=general&project_id=1&query_origin=mp-rs",
    )
    .await;
    let entries = sandbox.request_log().entries();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].method, "POST");
    assert_eq!(entries[0].path, "/api/query/engage");
    assert_eq!(entries[0].body.as_deref(), Some("page=0"));
    assert_eq!(entries[0].header("User-Agent"), Some("mp-test"));
    assert_eq!(entries[0].header("authorization"), Some("Basic REDACTED"));
    assert_eq!(entries[0].status, 200);
    assert_eq!(entries[1].param("query_origin").as_deref(), Some("mp-rs"));
    assert_eq!(entries[1].param("type").as_deref(), Some("general"));
    sandbox.request_log().clear();
    assert!(sandbox.request_log().is_empty());
}

#[tokio::test]
async fn shuts_down_and_frees_the_port() {
    let sandbox = start(100, 2).await;
    let addr = sandbox.local_addr();
    assert_eq!(sandbox.base_url(), format!("http://{addr}"));
    assert!(addr.ip().is_loopback());
    sandbox.shutdown().await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let dropped = start(100, 2).await;
    let addr = dropped.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(dropped.serve_until(async {
        let _ = stopped.await;
    }));
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn public_types_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<crate::Sandbox>();
    assert_send_sync::<crate::Dataset>();
    assert_send_sync::<crate::FaultControl>();
    assert_send_sync::<crate::RequestLog>();
    assert_send_sync::<crate::Error>();
}
