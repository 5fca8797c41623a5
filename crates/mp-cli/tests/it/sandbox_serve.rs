//! `mp sandbox serve`: prints where it listens on stdout, serves until Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::process::interrupt;
use crate::support::{Mp, Run};

#[test]
fn serve_prints_the_environment_to_use_and_stops_on_ctrl_c() {
    let mut server = Mp::new(&[
        "--format",
        "jsonl",
        "sandbox",
        "serve",
        "--seed",
        "7",
        "--events",
        "500",
        "--days",
        "3",
        "--end",
        "2024-01-31",
    ]);
    let mut child = server
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let printed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&first_line).unwrap();
    let base_url = printed["MP_API_BASE_URL"].as_str().unwrap().to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

    // The printed variables are exactly what a client needs.
    let env: Vec<(&str, String)> = printed
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str().unwrap().to_owned()))
        .collect();
    let client = Mp::new(&["--format", "json", "inspect", "events"])
        .env(&env)
        .run();
    client.success();
    assert!(
        client
            .json()
            .as_array()
            .is_some_and(|names| !names.is_empty()),
        "{client:?}"
    );

    interrupt(child.id());
    let run = Run::from(child.wait_with_output().unwrap());
    run.success();
    assert!(
        run.stderr.contains("press Ctrl-C to stop"),
        "{}",
        run.stderr
    );
    assert!(server.home_is_empty(), "serve wrote into HOME");
}
