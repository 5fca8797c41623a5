//! Tests of `mp-config`, grouped by what they exercise, with the helpers they share.
//!
//! Edit fixtures live in `crates/mp-config/tests/fixtures/<case>/{in.toml,out.toml}`; run the
//! tests with `MP_UPDATE_FIXTURES=1` to rewrite the `out.toml` files, then review the diff.

use std::path::{Path, PathBuf};

// Reading: the schema, warnings, errors with line:column, secrets kept out of Debug and JSON.
mod read;
// Editing: before/after fixtures for every ConfigDocument operation, and their refusals.
mod edit;
// The store on disk: file safety checks, permissions, failed and no-op edits.
#[cfg(unix)] // Permission bits, symlinks and FIFOs are checked the Unix way.
mod store;
// The file primitives: write_atomic, read_private_file, FileLock.
#[cfg(unix)]
mod fs;
// Many real processes editing one file at once.
mod concurrency;

/// The name config text gets in messages when it does not come from a file.
fn origin() -> &'static Path {
    Path::new("config.toml")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A config in the shape users write by hand: comments, blank lines, unknown keys.
const HAND_EDITED: &str = r#"# mp configuration, edited by hand.
# Keep secrets out of git!

[active]
account = "team" # the default
workspace = 3448414

# Team service account, rotated every quarter.
[accounts.team]
type = "service_account"
region = "us"
default_project = "3018488"   # ecommerce
username = "team.sa"
secret = "team-secret"
colour = "blue"               # not an mp key: must survive

[accounts.personal]
type = "oauth_browser"
region = "eu"

[accounts.ci]
type = "oauth_token"
region = "us"
token_env = "MP_CI_TOKEN"     # XOR token = "ey..."

## Targets ##########################################

[targets.ecom]
account = "team"
project = "3018488"
workspace = 3448414

[targets.ai]
account = "team"
project = "3713224"

[settings]
custom_header = { name = "X-Mixpanel-Cluster", value = "internal-1" }
experimental = true
"#;
