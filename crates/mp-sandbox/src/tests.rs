//! Tests of the sandbox, most of them over real loopback connections.
//!
//! The memory test lives apart, in `tests/memory.rs`: it measures the resident memory of
//! its process, so it needs a process where nothing else runs.

// A minimal HTTP client and the sandbox set-up every test uses.
mod client;
// The dataset alone: determinism, exact size, event shape, the product's story.
mod dataset;
// Each endpoint's answers, authentication, and agreement between endpoints.
mod endpoints;
// `/api/2.0/export`: bytes, gzip, parameters, early hang-ups.
mod export;
// Each fault knob, parsed and observed by a client.
mod faults;
// Funnels, retention, frequency, segmentation variants, breakdowns, activity, saved reports,
// cohorts, JQL and Lexicon, each against answers computed here from exported events.
mod queries;
// OAuth: registration, authorize, tokens, expiry, revocation, Bearer on every family.
mod oauth;
