//! The caches: in memory per project and workspace, dropped on a switch; on disk with a TTL; `refresh` bypasses
//! both; top events and bookmarks are never cached.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use mp_discovery::{Discovery, DiskCache, EventsOptions, PropertyValuesOptions, TopEventsOptions};
use mp_http::{Client, VirtualClock};

use crate::support::{FROZEN_UNIX_SECONDS, ScriptedTransport, client};

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A client whose transport answers `n` requests with `body`.
fn answering(n: usize, body: &str) -> (Client, Arc<ScriptedTransport>) {
    client(&vec![(200, body); n])
}

#[test]
fn answers_are_cached_in_memory_and_dropped_on_switch() {
    let (client, transport) = answering(4, r#"["a", "b"]"#);
    let discovery = Discovery::new(client.clone());
    block_on(async {
        let options = EventsOptions::default();
        assert_eq!(discovery.events(&options).await.unwrap(), ["a", "b"]);
        assert_eq!(discovery.events(&options).await.unwrap(), ["a", "b"]);
        // Clones share the cache.
        assert_eq!(
            discovery.clone().events(&options).await.unwrap(),
            ["a", "b"]
        );
        assert_eq!(transport.urls().len(), 1);
        // Other arguments are another entry.
        let limited = EventsOptions {
            limit: 10,
            ..EventsOptions::default()
        };
        discovery.events(&limited).await.unwrap();
        assert_eq!(transport.urls().len(), 2);
        // Another project starts empty, and so does the same project after a switch.
        let other = discovery.switch(client.with_project_id("999"));
        other.events(&options).await.unwrap();
        assert_eq!(transport.urls().len(), 3);
        assert!(transport.urls()[2].contains("project_id=999"));
        discovery.clear_cache();
        discovery.events(&options).await.unwrap();
        assert_eq!(transport.urls().len(), 4);
    });
}

#[test]
fn top_events_and_bookmarks_are_never_cached_and_uncached_sends_every_call() {
    let (client, transport) = answering(6, r#"{"events": [], "type": "general", "results": []}"#);
    let discovery = Discovery::new(client.clone());
    block_on(async {
        for _ in 0..2 {
            discovery
                .top_events(&TopEventsOptions::default())
                .await
                .unwrap();
            discovery.bookmarks(None).await.unwrap();
        }
        assert_eq!(transport.urls().len(), 4);
        let uncached = Discovery::uncached(client);
        for _ in 0..2 {
            uncached.event_properties("Sign Up").await.unwrap();
        }
        assert_eq!(transport.urls().len(), 6);
    });
}

#[test]
fn the_disk_cache_serves_other_processes_until_its_ttl_and_refresh_bypasses_it() {
    let directory = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::new(
        UNIX_EPOCH + Duration::from_secs(FROZEN_UNIX_SECONDS),
    ));
    let disk = DiskCache::new(directory.path(), Duration::from_secs(60), clock.clone());
    let (client, transport) = answering(3, r#"["US", "CA"]"#);
    let options = PropertyValuesOptions::new("country");
    block_on(async {
        // Each `Discovery` stands for one CLI run: its memory cache starts empty.
        let run = || Discovery::new(client.clone()).with_disk_cache(disk.clone());
        assert_eq!(run().property_values(&options).await.unwrap(), ["US", "CA"]);
        assert_eq!(run().property_values(&options).await.unwrap(), ["US", "CA"]);
        assert_eq!(transport.urls().len(), 1);
        // `--refresh` asks Mixpanel again and stores the fresh answer.
        run()
            .with_refresh(true)
            .property_values(&options)
            .await
            .unwrap();
        assert_eq!(transport.urls().len(), 2);
        run().property_values(&options).await.unwrap();
        assert_eq!(transport.urls().len(), 2);
        // After the TTL the entry is stale.
        clock.advance(Duration::from_secs(60));
        run().property_values(&options).await.unwrap();
        assert_eq!(transport.urls().len(), 3);
    });
}
