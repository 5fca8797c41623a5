//! Region probing against three fake regions on loopback.

use std::sync::Mutex;
use std::time::Duration;

use mp_http::{ClientBuilder, Endpoints, Region, Secret, TransportErrorKind};

use super::server::{Behaviour, FakeMixpanel};
use crate::{
    DEFAULT_PROBE_ORDER, DEFAULT_PROBE_TIMEOUT, Error, ProbeOutcome, probe_regions,
    probe_regions_in_order,
};

const BASIC: &str = "Basic dXNlcjpzZWNyZXQ=";

/// One fake server per region; only `home` knows the credential.
async fn regions(home: Option<Region>) -> Vec<(Region, FakeMixpanel)> {
    let mut servers = Vec::new();
    for region in DEFAULT_PROBE_ORDER {
        let behaviour = Behaviour {
            basic: (Some(region) == home).then(|| BASIC.to_owned()),
            ..Behaviour::default()
        };
        servers.push((region, FakeMixpanel::start(behaviour).await));
    }
    servers
}

fn factory(
    servers: &[(Region, FakeMixpanel)],
) -> impl Fn(Region) -> Result<mp_http::Client, mp_http::Error> + Send + Sync + '_ {
    move |region| {
        let (_, server) = servers
            .iter()
            .find(|(candidate, _)| *candidate == region)
            .unwrap();
        ClientBuilder::new(Endpoints::with_overrides(
            region,
            Some(&server.base_url()),
            None,
        )?)
        .with_transport(super::transport())
        .build()
    }
}

fn summary(attempts: &[crate::ProbeAttempt]) -> Vec<(Region, u16)> {
    attempts
        .iter()
        .map(|attempt| (attempt.region, attempt.status()))
        .collect()
}

#[tokio::test]
async fn concurrent_probe_finds_the_region_that_accepts() {
    let servers = regions(Some(Region::Eu)).await;
    let authorization = Secret::new(BASIC.to_owned());
    let probe = probe_regions(
        &factory(&servers),
        Some(&authorization),
        &DEFAULT_PROBE_ORDER,
        DEFAULT_PROBE_TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(probe.region, Region::Eu);
    assert_eq!(
        summary(&probe.attempts),
        [(Region::Us, 401), (Region::Eu, 200)]
    );
    for (_, server) in &servers[..2] {
        let request = &server.requests()[0];
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", "/api/app/me")
        );
        assert_eq!(request.authorization.as_deref(), Some(BASIC));
    }
}

#[tokio::test]
async fn sequential_probe_stops_at_the_first_acceptance() {
    let servers = regions(Some(Region::Eu)).await;
    let authorization = Secret::new(BASIC.to_owned());
    let asked = Mutex::new(Vec::new());
    let probe = probe_regions_in_order(
        &factory(&servers),
        Some(&authorization),
        &DEFAULT_PROBE_ORDER,
        DEFAULT_PROBE_TIMEOUT,
        |region| asked.lock().unwrap().push(region),
    )
    .await
    .unwrap();
    assert_eq!(probe.region, Region::Eu);
    assert_eq!(*asked.lock().unwrap(), [Region::Us, Region::Eu]);
    assert!(servers[2].1.requests().is_empty(), "`in` was never asked");
}

#[tokio::test]
async fn no_region_accepts() {
    let servers = regions(None).await;
    let authorization = Secret::new(BASIC.to_owned());
    let error = probe_regions(
        &factory(&servers),
        Some(&authorization),
        &DEFAULT_PROBE_ORDER,
        DEFAULT_PROBE_TIMEOUT,
    )
    .await
    .unwrap_err();
    let Error::RegionProbeFailed { attempts } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        summary(attempts),
        [(Region::Us, 401), (Region::Eu, 401), (Region::In, 401)]
    );
    assert!(
        matches!(&attempts[0].outcome, ProbeOutcome::Rejected { body, .. } if body == r#"{"error":"Invalid credentials"}"#)
    );
    assert_eq!(
        error.to_string(),
        "the credentials were not accepted in any region (us: 401, eu: 401, in: 401)"
    );
    assert!(error.is_authentication());
}

#[tokio::test]
async fn unreachable_regions_are_told_apart() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dead = move |region: Region| {
        ClientBuilder::new(Endpoints::with_overrides(
            region,
            Some(&format!("http://127.0.0.1:{port}")),
            None,
        )?)
        .with_transport(super::transport())
        .build()
    };
    let error = probe_regions(
        &dead,
        None,
        &[Region::Us, Region::In],
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    let Error::RegionsUnreachable { attempts } = &error else {
        panic!("{error:?}");
    };
    assert!(attempts.iter().all(|attempt| matches!(
        attempt.outcome,
        ProbeOutcome::Unreachable {
            kind: TransportErrorKind::Connect,
            ..
        }
    )));
    assert!(!error.is_authentication());
}
