//! Support code for cross-crate scenarios and the conformance runner.
