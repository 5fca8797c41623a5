//! `mp-discovery` answers "what is in this Mixpanel project?": event names, an event's properties, a property's
//! values, today's top events and property value counts, through Mixpanel's Query API.
//!
//! What it is not: it depends on `mp-http` only. It never builds credentials, reads the environment or a config
//! file, or prints; the caller hands it a ready [`mp_http::Client`] (region, project, workspace and authenticator
//! already chosen). It keeps no cache: every call is one request (two for the date-range fallback of
//! [`Discovery::events`]), exactly as the low-level client of Mixpanel's official Python client behaves, which the
//! conformance vectors record. Dates are plain `YYYY-MM-DD` strings, and "today" is read from the client's
//! [`mp_http::Clock`] in UTC, so tests can freeze it.
//!
//! Main types, in reading order:
//!
//! - [`Discovery`]: the service, one method per discovery endpoint.
//! - [`EventsOptions`], [`PropertyValuesOptions`], [`TopEventsOptions`], [`PropertyCountsOptions`] and
//!   [`EventType`]: what each call asks for, with Mixpanel's defaults.
//! - [`Error`]: every failure, with the `mp-http` error as its source.
//!
//! ```no_run
//! # async fn example(client: mp_http::Client) -> Result<(), mp_discovery::Error> {
//! use mp_discovery::{Discovery, EventsOptions};
//!
//! let discovery = Discovery::new(client);
//! let names = discovery.events(&EventsOptions::default()).await?;
//! # let _ = names;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod dates;
mod discovery;
mod error;
mod python_json;

pub use crate::{
    discovery::{
        DEFAULT_EVENTS_FROM_DATE, DEFAULT_EVENTS_LIMIT, DEFAULT_PROPERTY_VALUES_LIMIT, Discovery,
        EventType, EventsOptions, PropertyCountsOptions, PropertyValuesOptions, TopEventsOptions,
    },
    error::Error,
};
