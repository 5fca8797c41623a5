//! Many real OS processes editing one config file at once lose no edit.
//!
//! The parent test starts this same test binary 16 times, each running only
//! [`edits_from_one_process`] with environment variables that point it at a shared file; each
//! child adds 25 targets of its own, one edit (lock, re-read, write, rename) at a time. Without
//! the lock and the re-read, concurrent read-modify-write cycles would overwrite each other and
//! the final count would fall short of 400.

#![allow(clippy::disallowed_methods)] // The child mode is selected through the environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Account, ConfigStore, Region, Target};

const PROCESSES: usize = 16;
const EDITS_PER_PROCESS: usize = 25;
const CHILD_PATH: &str = "MP_CONFIG_TEST_HAMMER_PATH";
const CHILD_INDEX: &str = "MP_CONFIG_TEST_HAMMER_INDEX";

/// Adds this process's targets one edit at a time.
fn make_edits(path: &Path, index: usize) {
    let store = ConfigStore::new(path);
    for edit in 0..EDITS_PER_PROCESS {
        let name = format!("p{index:02}-t{edit:02}");
        let target =
            Target::new(&name, "team", &(index * 100 + edit + 1).to_string(), None).unwrap();
        store.edit(|doc| doc.add_target(&target)).unwrap();
    }
}

fn new_config(directory: &Path) -> PathBuf {
    let path = directory.join("config.toml");
    let account = Account::oauth_browser("team", Region::Us).unwrap();
    ConfigStore::new(&path)
        .edit(|doc| doc.add_account(&account))
        .unwrap();
    path
}

#[track_caller]
fn assert_all_edits(path: &Path, processes: &[usize]) {
    let loaded = ConfigStore::new(path).load().unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let targets = loaded.config.targets();
    assert_eq!(targets.len(), processes.len() * EDITS_PER_PROCESS);
    for &index in processes {
        for edit in 0..EDITS_PER_PROCESS {
            let name = format!("p{index:02}-t{edit:02}");
            let target = loaded
                .config
                .target(&name)
                .unwrap_or_else(|| panic!("lost `{name}`"));
            assert_eq!(target.project(), (index * 100 + edit + 1).to_string());
        }
    }
}

/// In a child, makes this process's edits on the shared file. Run on its own, makes one
/// process's edits on a file of its own and checks them.
#[test]
fn edits_from_one_process() {
    if let (Some(path), Some(index)) = (std::env::var_os(CHILD_PATH), std::env::var_os(CHILD_INDEX))
    {
        let index = index.to_str().and_then(|index| index.parse().ok()).unwrap();
        make_edits(Path::new(&path), index);
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let path = new_config(temp.path());
    make_edits(&path, 7);
    assert_all_edits(&path, &[7]);
}

#[test]
fn concurrent_processes_lose_no_edit() {
    let temp = tempfile::tempdir().unwrap();
    let path = new_config(temp.path());
    let test_binary = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|index| {
            Command::new(&test_binary)
                .args([
                    "--exact",
                    "tests::concurrency::edits_from_one_process",
                    "--test-threads=1",
                ])
                .env(CHILD_PATH, &path)
                .env(CHILD_INDEX, index.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (index, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "process {index} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let processes: Vec<usize> = (0..PROCESSES).collect();
    assert_all_edits(&path, &processes);
    let names: Vec<String> = std::fs::read_dir(temp.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(
        names,
        ["config.toml", "config.toml.lock"],
        "no temporary file may be left"
    );
}
