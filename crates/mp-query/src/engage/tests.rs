//! Tests of the Engage client against a scripted `mp_http::Transport` that pages profiles as Mixpanel does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use mp_http::{
    BoxFuture, ClientBuilder, Endpoints, HttpRequest, HttpResponse, Region, ResponseBody,
    Transport, TransportError, VirtualClock,
};
use serde_json::{Value, json};

use crate::{
    CohortFilter, Engage, Error, ProfileQuery, ProfileStreamOptions, RateLimits, SortOrder,
    StatsQuery,
};

/// Pages `n_profiles` profiles `page_size` at a time; `session_id` is required after page 0.
#[derive(Debug)]
struct FakeEngage {
    n_profiles: usize,
    page_size: usize,
    /// Whether answers carry `total` and `page_size`.
    with_totals: bool,
    /// Delay of page `n`'s answer, to make concurrent pages finish out of order.
    delay: fn(u64) -> Duration,
    /// Every request: (path and query, JSON body).
    requests: Mutex<Vec<(String, Value)>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: AtomicUsize,
    /// Answer for `/stats`.
    stats: Value,
}

impl FakeEngage {
    fn new(n_profiles: usize, page_size: usize) -> FakeEngage {
        FakeEngage {
            n_profiles,
            page_size,
            with_totals: true,
            delay: |_| Duration::ZERO,
            requests: Mutex::default(),
            in_flight: Arc::default(),
            max_in_flight: AtomicUsize::new(0),
            stats: json!({"results": 42, "status": "ok"}),
        }
    }

    fn bodies(&self) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| body.clone())
            .collect()
    }
}

impl Transport for FakeEngage {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let path_and_query = request.url.split_once(".com").unwrap().1.to_owned();
        self.requests
            .lock()
            .unwrap()
            .push((path_and_query.clone(), body.clone()));
        let answer = if path_and_query.starts_with("/api/query/engage/stats") {
            self.stats.clone()
        } else {
            let page = body["page"].as_u64().unwrap();
            if page > 0 {
                assert_eq!(body["session_id"], "s-1", "page {page} without the session");
            }
            let start = (page as usize * self.page_size).min(self.n_profiles);
            let end = (start + self.page_size).min(self.n_profiles);
            let results: Vec<Value> = (start..end)
                .map(|index| json!({"$distinct_id": format!("u{index}"), "$properties": {"$last_seen": "2024-01-01T00:00:00", "n": index}}))
                .collect();
            let mut answer =
                json!({"page": page, "session_id": "s-1", "status": "ok", "results": results});
            if self.with_totals {
                answer["page_size"] = json!(self.page_size);
                answer["total"] = json!(self.n_profiles);
            }
            answer
        };
        let delay = (self.delay)(body["page"].as_u64().unwrap_or(0));
        let in_flight = Arc::clone(&self.in_flight);
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let mut headers = http::HeaderMap::new();
            headers.insert("content-type", "application/json".parse().unwrap());
            Ok(HttpResponse {
                status: http::StatusCode::OK,
                headers,
                body: ResponseBody::from_bytes(Bytes::from(answer.to_string())),
            })
        })
    }
}

fn engage_over(fake: &Arc<FakeEngage>) -> Engage {
    let client = ClientBuilder::new(Endpoints::regional(Region::Us))
        .with_transport(Arc::clone(fake) as Arc<dyn Transport>)
        .with_clock(Arc::new(VirtualClock::new(
            UNIX_EPOCH + Duration::from_secs(1_706_788_800),
        )))
        .with_project_id("7")
        .build()
        .unwrap();
    Engage::new(client)
}

async fn all_ids(
    engage: &Engage,
    query: ProfileQuery,
    options: ProfileStreamOptions,
) -> Vec<String> {
    let mut stream = engage.profiles(query, options).unwrap();
    let mut ids = Vec::new();
    while let Some(profile) = stream.next_profile().await.unwrap() {
        ids.push(profile.distinct_id);
    }
    ids
}

fn expected_ids(n: usize) -> Vec<String> {
    (0..n).map(|index| format!("u{index}")).collect()
}

#[tokio::test]
async fn paging_stops_at_a_short_page() {
    let fake = Arc::new(FakeEngage::new(2500, 1000));
    let engage = engage_over(&fake);
    let ids = all_ids(
        &engage,
        ProfileQuery::default(),
        ProfileStreamOptions::new(),
    )
    .await;
    assert_eq!(ids, expected_ids(2500));
    let bodies = fake.bodies();
    assert_eq!(
        bodies,
        [
            json!({"project_id": "7", "page": 0}),
            json!({"project_id": "7", "page": 1, "session_id": "s-1"}),
            json!({"project_id": "7", "page": 2, "session_id": "s-1"}),
        ]
    );
    // `project_id` and `query_origin` also go in the query string, to the documented path.
    let (path, _) = fake.requests.lock().unwrap()[0].clone();
    assert_eq!(path, "/api/query/engage/?project_id=7&query_origin=mp-rs");
}

#[tokio::test]
async fn without_a_page_size_paging_stops_at_an_empty_page() {
    // The official client's rule, for answers that do not say how big a page is.
    let mut fake = FakeEngage::new(20, 10);
    fake.with_totals = false;
    let fake = Arc::new(fake);
    let engage = engage_over(&fake);
    let pages: Arc<Mutex<Vec<u64>>> = Arc::default();
    let log = Arc::clone(&pages);
    let mut stream = engage
        .profiles(ProfileQuery::default(), ProfileStreamOptions::new())
        .unwrap()
        .with_on_batch(move |count| log.lock().unwrap().push(count));
    let mut n = 0;
    while let Some(page) = stream.next_page().await.unwrap() {
        assert!(page.has_more());
        n += page.profiles.len();
    }
    assert_eq!(n, 20);
    assert_eq!(fake.bodies().len(), 3);
    assert_eq!(*pages.lock().unwrap(), [10, 20]);
}

#[tokio::test(start_paused = true)]
async fn pages_are_fetched_concurrently_and_handed_out_in_order() {
    let mut fake = FakeEngage::new(9_500, 1000);
    // Later pages answer sooner.
    fake.delay = |page| Duration::from_millis(100 - page * 5);
    let fake = Arc::new(fake);
    let engage = engage_over(&fake);
    let mut options = ProfileStreamOptions::new();
    options.parallel = 5;
    let ids = all_ids(&engage, ProfileQuery::default(), options).await;
    assert_eq!(ids, expected_ids(9_500));
    assert_eq!(fake.max_in_flight.load(Ordering::SeqCst), 5);
    let mut pages: Vec<u64> = fake
        .bodies()
        .iter()
        .map(|body| body["page"].as_u64().unwrap())
        .collect();
    pages.sort();
    assert_eq!(pages, (0..10).collect::<Vec<_>>());

    // An exact multiple of the page size: the last computed page is full, so one more request makes sure.
    let fake = Arc::new(FakeEngage::new(3000, 1000));
    let engage = engage_over(&fake);
    let mut options = ProfileStreamOptions::new();
    options.parallel = 3;
    let ids = all_ids(&engage, ProfileQuery::default(), options).await;
    assert_eq!(ids, expected_ids(3000));
    assert_eq!(fake.bodies().len(), 4);
}

#[tokio::test]
async fn the_rate_limiter_bounds_pages_per_hour() {
    let fake = Arc::new(FakeEngage::new(50, 10));
    let engage = engage_over(&fake);
    let waits: Arc<Mutex<Vec<Option<Duration>>>> = Arc::default();
    let log = Arc::clone(&waits);
    let mut options = ProfileStreamOptions::new();
    options.rate_limits = RateLimits {
        max_concurrent: 5,
        per_second: None,
        per_hour: Some(2),
    };
    options.on_rate_limit = Some(Arc::new(move |_, wait| log.lock().unwrap().push(wait)));
    let ids = all_ids(&engage, ProfileQuery::default(), options).await;
    assert_eq!(ids.len(), 50);
    // Six requests (the last one empty), two per hour: two waits of an hour on the virtual clock.
    assert_eq!(
        *waits.lock().unwrap(),
        [
            Some(Duration::from_secs(3600)),
            Some(Duration::from_secs(3600))
        ]
    );
}

#[tokio::test]
async fn every_parameter_goes_in_the_json_body() {
    let fake = Arc::new(FakeEngage::new(3, 10));
    let engage = engage_over(&fake);
    let query = ProfileQuery {
        filter: Some("properties[\"plan\"] == \"pro\"".to_owned()),
        cohort: Some(CohortFilter::Id(42)),
        include_all_users: false,
        output_properties: vec!["$name".to_owned(), "$email".to_owned()],
        data_group_id: Some("companies".to_owned()),
        as_of_timestamp: Some(1_700_000_000),
        sort_key: Some("properties[\"$last_seen\"]".to_owned()),
        sort_order: Some(SortOrder::Descending),
        search: Some("bob".to_owned()),
        limit: Some(5),
        distinct_ids: Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()]),
        ..ProfileQuery::default()
    };
    let ids = all_ids(&engage, query, ProfileStreamOptions::new()).await;
    assert_eq!(ids.len(), 3);
    assert_eq!(
        fake.bodies()[0],
        json!({
            "project_id": "7",
            "page": 0,
            "where": "properties[\"plan\"] == \"pro\"",
            "filter_by_cohort": "{\"id\": 42}",
            "output_properties": "[\"$name\", \"$email\"]",
            "data_group_id": "companies",
            "as_of_timestamp": 1_700_000_000,
            // Sent although false: Mixpanel's default is true.
            "include_all_users": false,
            "sort_key": "properties[\"$last_seen\"]",
            "sort_order": "descending",
            "search": "bob",
            "limit": 5,
            "distinct_ids": "[\"a\", \"b\"]",
        })
    );
}

#[tokio::test]
async fn bad_queries_are_refused_before_anything_is_sent() {
    let fake = Arc::new(FakeEngage::new(3, 10));
    let engage = engage_over(&fake);
    let refused = |query: ProfileQuery| match engage.profiles(query, ProfileStreamOptions::new()) {
        Err(Error::InvalidArgument { argument, .. }) => argument,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refused(ProfileQuery {
            distinct_id: Some("a".to_owned()),
            distinct_ids: Some(vec!["b".to_owned()]),
            ..ProfileQuery::default()
        }),
        "distinct_ids"
    );
    assert_eq!(
        refused(ProfileQuery {
            behaviors: Some(json!([{"window": "30d", "name": "b", "event_selectors": []}])),
            cohort: Some(CohortFilter::Id(1)),
            ..ProfileQuery::default()
        }),
        "behaviors"
    );
    assert_eq!(
        refused(ProfileQuery {
            include_all_users: true,
            ..ProfileQuery::default()
        }),
        "include_all_users"
    );
    assert_eq!(
        refused(ProfileQuery {
            as_of_timestamp: Some(1_906_788_800),
            ..ProfileQuery::default()
        }),
        "as_of_timestamp"
    );
    let mut too_many = ProfileStreamOptions::new();
    too_many.parallel = 6;
    assert!(engage.profiles(ProfileQuery::default(), too_many).is_err());
    // An empty id list asks for nothing and sends nothing.
    let mut stream = engage
        .profiles(
            ProfileQuery {
                distinct_ids: Some(Vec::new()),
                ..ProfileQuery::default()
            },
            ProfileStreamOptions::new(),
        )
        .unwrap();
    assert!(stream.next_raw().await.unwrap().is_none());
    assert!(fake.bodies().is_empty());
}

#[tokio::test]
async fn profiles_keep_their_bytes_and_parse() {
    let fake = Arc::new(FakeEngage::new(2, 10));
    let engage = engage_over(&fake);
    let mut stream = engage
        .profiles(ProfileQuery::default(), ProfileStreamOptions::new())
        .unwrap();
    let raw = stream.next_raw().await.unwrap().unwrap();
    assert_eq!(
        raw.get(),
        r#"{"$distinct_id":"u0","$properties":{"$last_seen":"2024-01-01T00:00:00","n":0}}"#
    );
    let profile = stream.next_profile().await.unwrap().unwrap();
    assert_eq!(profile.distinct_id, "u1");
    assert_eq!(profile.last_seen(), Some("2024-01-01T00:00:00"));
    assert!(stream.next_profile().await.unwrap().is_none());
    assert_eq!(stream.n_profiles(), 2);
}

#[tokio::test]
async fn stats_send_the_selector_and_want_an_object() {
    let fake = Arc::new(FakeEngage::new(0, 10));
    let engage = engage_over(&fake);
    let mut query = StatsQuery::new();
    query.filter = Some("properties[\"plan\"] == \"pro\"".to_owned());
    query.cohort = Some(CohortFilter::Json("{\"id\": 9}".to_owned()));
    query.segment_by_cohorts = Some(json!({"c1": true}).as_object().unwrap().clone());
    let answer = engage.stats(&query).await.unwrap();
    assert_eq!(answer["results"], 42);
    assert_eq!(
        fake.bodies()[0],
        json!({
            "project_id": "7",
            "action": "count()",
            "selector": "properties[\"plan\"] == \"pro\"",
            "filter_by_cohort": "{\"id\": 9}",
            "segment_by_cohorts": "{\"c1\": true}",
            "include_all_users": false,
        })
    );

    let mut fake = FakeEngage::new(0, 10);
    fake.stats = json!([1, 2, 3]);
    let engage = engage_over(&Arc::new(fake));
    let error = engage.stats(&StatsQuery::new()).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "unexpected answer from `/engage/stats`: expected a JSON object, got [1,2,3]"
    );
}
