//! `mp-discovery` answers "what is in this Mixpanel project?": event names, an event's properties, a property's
//! values, saved funnels, cohorts and reports (bookmarks), today's top events and Lexicon schemas.
//!
//! What it is not: it depends on `mp-http` only. It never builds credentials, reads the environment or a config
//! file, or prints; the caller hands it a ready [`mp_http::Client`] (region, project, workspace and authenticator
//! already chosen), and, for the optional [`DiskCache`], a directory and a clock. It runs no analytics: queries over
//! dates (segmentation, funnels, property counts, …) live in `mp-query`. Dates are plain `YYYY-MM-DD` strings, and
//! "today" is read from the client's [`mp_http::Clock`] in UTC, so tests can freeze it.
//!
//! Main types, in reading order:
//!
//! - [`Discovery`]: the service, one method per discovery endpoint, and its caches (in memory by default, on disk
//!   when given a [`DiskCache`]).
//! - [`EventsOptions`], [`PropertyValuesOptions`], [`TopEventsOptions`] and [`EventType`]: what the calls with
//!   parameters ask for, with Mixpanel's defaults.
//! - [`Listing`], [`FunnelInfo`], [`SavedCohort`], [`BookmarkInfo`], [`TopEvents`] and [`LexiconSchema`]: typed
//!   answers that keep Mixpanel's answer as it came.
//! - [`Error`]: every failure, with the `mp-http` error as its source.
//!
//! ```no_run
//! # async fn example(client: mp_http::Client) -> Result<(), mp_discovery::Error> {
//! use mp_discovery::{Discovery, EventsOptions};
//!
//! let discovery = Discovery::new(client);
//! let names = discovery.events(&EventsOptions::default()).await?;
//! let again = discovery.events(&EventsOptions::default()).await?; // from the cache
//! # let _ = (names, again);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod cache;
mod discovery;
mod error;
mod python_str;
mod types;

pub use crate::{
    cache::{DEFAULT_DISK_CACHE_TTL, DiskCache},
    discovery::{
        DEFAULT_EVENTS_FROM_DATE, DEFAULT_EVENTS_LIMIT, DEFAULT_PROPERTY_VALUES_LIMIT, Discovery,
        EventType, EventsOptions, PropertyValuesOptions, TopEventsOptions,
    },
    error::Error,
    types::{
        BookmarkInfo, FunnelInfo, LexiconDefinition, LexiconMetadata, LexiconProperty,
        LexiconSchema, Listing, SavedCohort, TopEvent, TopEvents,
    },
};
