//! `cargo xtask`: developer and release tooling for the mp workspace.
fn main() {}
