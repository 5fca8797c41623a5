//! Integration tests of `mp-query` through its public API, over scripted `mp_http::Transport`s and a frozen clock.

// Transports that answer from a script (or fail the test when called), and a client with a frozen clock.
mod support;
// One test per query: the request it sends (parameters, defaults, body) and how the answer is read.
mod queries;
// Input refused before anything is sent: dates, ranges, empty lists.
mod validation;
// The recorded sample answers read into typed results, and the tables they render as.
mod results;
