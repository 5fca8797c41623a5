//! Tidy checks over the whole repository, run by `cargo test`.
//!
//! Each test states a rule from STYLE.md or the team plan and lists every file that
//! breaks it, so one run shows all the work to do.

use std::fs;
use std::path::{Path, PathBuf};

use crate::project_root;

/// Every file under `dir` whose name ends with `extension`, skipping build outputs
/// and hidden directories.
fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    pending.push(path);
                }
            } else if name.ends_with(extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn relative(path: &Path) -> String {
    path.strip_prefix(project_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[track_caller]
fn assert_no_offenders(rule: &str, offenders: &[String]) {
    assert!(
        offenders.is_empty(),
        "{rule}; offending files:\n  {}",
        offenders.join("\n  ")
    );
}

/// STYLE rule 2: every `.rs` file under `crates/` opens with a `//!` doc comment.
#[test]
fn every_crate_file_starts_with_a_module_doc() {
    let offenders: Vec<String> = files_with_extension(&project_root().join("crates"), ".rs")
        .into_iter()
        .filter(|path| {
            !fs::read_to_string(path)
                .unwrap_or_default()
                .starts_with("//!")
        })
        .map(|path| relative(&path))
        .collect();
    assert_no_offenders(
        "every .rs file under crates/ must start with a `//!` comment",
        &offenders,
    );
}

/// The dependency sections of a manifest (not dev- or build-dependencies), with their lines.
fn dependency_sections(manifest: &str) -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            sections.push((trimmed.to_owned(), Vec::new()));
        } else if let Some((_, lines)) = sections.last_mut() {
            lines.push(trimmed.to_owned());
        }
    }
    sections
        .into_iter()
        .filter(|(header, _)| {
            let header = header.trim_matches(|c| c == '[' || c == ']');
            header == "dependencies"
                || header.ends_with(".dependencies")
                || header.starts_with("dependencies.")
                || header.contains(".dependencies.")
        })
        .collect()
}

/// Returns true if and only if the manifest lists `name` as a normal dependency.
fn has_dependency(manifest: &str, name: &str) -> bool {
    dependency_sections(manifest).iter().any(|(header, lines)| {
        header
            .trim_matches(|c| c == '[' || c == ']')
            .ends_with(&format!("dependencies.{name}"))
            || lines.iter().any(|line| {
                line.split(['=', ' ', '.'])
                    .next()
                    .is_some_and(|key| key.trim_matches('"') == name)
            })
    })
}

/// STYLE rule 3: `anyhow` only in `mp-cli` (and xtask and test support, outside `crates/`).
#[test]
fn anyhow_only_in_the_cli() {
    let mut offenders = Vec::new();
    let Ok(entries) = fs::read_dir(project_root().join("crates")) else {
        return;
    };
    for entry in entries.flatten() {
        let crate_name = entry.file_name().to_string_lossy().into_owned();
        let manifest_path = entry.path().join("Cargo.toml");
        if !crate_name.starts_with("mp-") || crate_name == "mp-cli" || !manifest_path.exists() {
            continue;
        }
        let manifest = fs::read_to_string(&manifest_path).unwrap();
        if has_dependency(&manifest, "anyhow") {
            offenders.push(relative(&manifest_path));
        }
    }
    assert_no_offenders(
        "library crates use thiserror, not anyhow, in [dependencies]",
        &offenders,
    );
}

#[test]
fn dependency_detection() {
    let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nserde = { workspace = true }\n\n[dev-dependencies]\nanyhow = \"1\"\n";
    assert!(has_dependency(manifest, "serde"));
    assert!(!has_dependency(manifest, "anyhow"));
    assert!(has_dependency(
        "[dependencies.anyhow]\nworkspace = true\n",
        "anyhow"
    ));
    assert!(has_dependency(
        "[target.'cfg(unix)'.dependencies]\nanyhow.workspace = true\n",
        "anyhow"
    ));
    assert!(!has_dependency(
        "[dependencies]\nanyhow-like = \"1\"\n",
        "anyhow"
    ));
}

/// The team plan: no placeholders or ignored tests in Rust sources.
#[test]
fn no_placeholders_or_ignored_tests() {
    // Spelled in two halves, so that this file holds none of the patterns it looks for and can
    // be checked like every other file.
    let forbidden = [
        concat!("todo", "!("),
        concat!("unimplemented", "!("),
        concat!("#[", "ignore"),
    ];
    let mut offenders = Vec::new();
    for dir in ["crates", "tests", "xtask"] {
        for path in files_with_extension(&project_root().join(dir), ".rs") {
            let text = fs::read_to_string(&path).unwrap_or_default();
            for pattern in forbidden {
                if text.contains(pattern) {
                    offenders.push(format!("{} contains `{pattern}`", relative(&path)));
                }
            }
        }
    }
    assert_no_offenders("no placeholder macros or ignored tests", &offenders);
}

/// `.ci/run` runs the same commands as `cargo xtask ci`, in the same order.
#[test]
fn ci_script_matches_xtask_ci() {
    let script = fs::read_to_string(project_root().join(".ci/run")).unwrap();
    assert!(
        script.contains("set -euo pipefail"),
        ".ci/run must use `set -euo pipefail`"
    );
    let script_steps: Vec<String> = script
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("cargo "))
        .map(str::to_owned)
        .collect();
    let xtask_steps: Vec<String> = crate::ci::STEPS.iter().map(|step| step.join(" ")).collect();
    assert_eq!(
        script_steps, xtask_steps,
        ".ci/run and `cargo xtask ci` disagree"
    );
}
