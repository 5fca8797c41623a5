//! `cargo xtask ci`: the same steps as `.ci/run`, for a local check before pushing.

use xshell::Shell;

use crate::project_root;

/// The CI steps in order. `.ci/run` runs exactly these lines (a tidy test checks it),
/// after installing what a fresh machine lacks.
pub const STEPS: &[&[&str]] = &[
    &["cargo", "fmt", "--all", "--", "--check"],
    &[
        "cargo",
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ],
    &["cargo", "test", "--workspace"],
];

/// Runs every step, stopping at the first failure.
pub fn run() -> anyhow::Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    for step in STEPS {
        let (program, args) = step.split_first().expect("a step names a program");
        sh.cmd(program).args(args.iter()).run()?;
    }
    eprintln!("ci: all {} steps passed", STEPS.len());
    Ok(())
}
