//! `cargo xtask demo`: a short tour of `mp` against the built-in sandbox.
//!
//! Every command runs with an empty environment and a temporary `HOME`, so the tour
//! needs no credentials and cannot touch the user's config or send anything to
//! Mixpanel.

use std::path::PathBuf;

use xshell::Shell;

use crate::project_root;

/// The tour: each entry is `mp`'s arguments and what it shows.
const TOUR: &[(&[&str], &str)] = &[
    (&["--version"], "the version"),
    (
        &["--sandbox", "--format", "table", "inspect", "events"],
        "the sandbox's event names, as a table",
    ),
    (
        &["--sandbox", "--format", "csv", "inspect", "events"],
        "the same as CSV",
    ),
    (
        &[
            "--sandbox",
            "--jq",
            "map(select(startswith(\"S\")))",
            "inspect",
            "events",
        ],
        "a jq filter over the JSON output",
    ),
    (
        &["--sandbox", "--format", "jsonl", "inspect", "events"],
        "one JSON value per line",
    ),
    (
        &["--sandbox", "inspect", "events"],
        "the default: a table on a terminal, JSON when piped",
    ),
    (
        &["inspect", "events"],
        "no credentials: exit code 3 and a hint",
    ),
];

/// Builds `mp` and runs the tour.
pub fn run() -> anyhow::Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    sh.cmd("cargo")
        .args(["build", "--quiet", "--package", "mp-cli", "--bin", "mp"])
        .run()?;
    let mp = target_dir(&sh)
        .join("debug")
        .join(format!("mp{}", std::env::consts::EXE_SUFFIX));
    let home = sh.create_temp_dir()?;

    for (args, what) in TOUR {
        eprintln!(
            "\n# {what}\n$ mp {}",
            args.iter()
                .map(|arg| shell_quote(arg))
                .collect::<Vec<_>>()
                .join(" ")
        );
        // stdout and stderr stay the terminal's, so `mp` picks its formats as it would for a person.
        let command = sh
            .cmd(&mp)
            .args(args.iter())
            .env_clear()
            .env("HOME", home.path());
        let status = std::process::Command::from(command).status()?;
        eprintln!("(exit code {})", status.code().unwrap_or(-1));
    }
    eprintln!(
        "\nNext: `mp sandbox serve` keeps a sandbox running and prints the variables that point `mp` at it."
    );
    Ok(())
}

/// Where cargo puts build outputs: `CARGO_TARGET_DIR` or `<root>/target`.
fn target_dir(sh: &Shell) -> PathBuf {
    match sh.var_os("CARGO_TARGET_DIR") {
        Some(dir) => project_root().join(dir),
        None => project_root().join("target"),
    }
}

/// Quotes an argument for display the way a POSIX shell would need it.
fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=".contains(&b))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}
