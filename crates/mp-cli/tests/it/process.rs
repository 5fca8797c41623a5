//! The process contract: usage errors, exit codes, `--version`, `--help`, Ctrl-C.

use crate::support::{Mp, Run, TestSandbox};

#[track_caller]
fn check_usage_error(args: &[&str], fragment: &str) {
    let run = Mp::new(args).run();
    run.code(3);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("error:"), "{}", run.stderr);
    assert!(
        run.stderr.contains(fragment),
        "missing {fragment:?} in {}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_3() {
    // Without a (sub)command, clap shows the help on stderr.
    for args in [&[][..], &["inspect"][..]] {
        let run = Mp::new(args).run();
        run.code(3);
        assert_eq!(run.stdout, "");
        assert!(run.stderr.contains("Usage:"), "{}", run.stderr);
    }
    check_usage_error(&["--no-such-flag", "inspect", "events"], "--no-such-flag");
    check_usage_error(&["--format", "xml", "inspect", "events"], "xml");
    check_usage_error(
        &["-t", "prod", "-a", "other", "inspect", "events"],
        "cannot be used with",
    );
    check_usage_error(&["-p", "abc", "inspect", "events"], "digits only");
    check_usage_error(&["-w", "0", "inspect", "events"], "0");
    check_usage_error(&["sandbox", "serve", "--end", "2024-02-30"], "YYYY-MM-DD");
}

#[test]
fn invalid_environment_values_are_usage_errors() {
    let sandbox = TestSandbox::start();
    let mut env = sandbox.env();
    env.retain(|(name, _)| *name != "MP_REGION");
    env.push(("MP_REGION", "mars".to_owned()));
    let run = Mp::new(&["inspect", "events"]).env(&env).run();
    run.code(3);
    assert!(run.stderr.contains("MP_REGION"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
}

#[test]
fn version_and_help_go_to_stdout() {
    let run = Mp::new(&["--version"]).run();
    run.success();
    assert_eq!(run.stdout, format!("mp {}\n", env!("CARGO_PKG_VERSION")));
    let run = Mp::new(&["--help"]).run();
    run.success();
    for needle in ["--sandbox", "--format", "--jq", "inspect", "Exit codes"] {
        assert!(
            run.stdout.contains(needle),
            "missing {needle:?} in {}",
            run.stdout
        );
    }
}

/// Sends SIGINT, as Ctrl-C in a terminal does.
pub fn interrupt(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn ctrl_c_exits_130() {
    // A server that accepts the connection and never answers: once it has accepted,
    // `mp` is waiting for a response and the signal interrupts a request in flight.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", silent.local_addr().unwrap());
    let env = [
        ("MP_API_BASE_URL", base_url),
        ("MP_USERNAME", "u".to_owned()),
        ("MP_SECRET", "s".to_owned()),
        ("MP_PROJECT_ID", "1".to_owned()),
        ("MP_REGION", "us".to_owned()),
    ];
    let mut mp = Mp::new(&["inspect", "events"]).env(&env);
    let child = mp
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (_connection, _) = silent.accept().unwrap();
    interrupt(child.id());
    let run = Run::from(child.wait_with_output().unwrap());
    run.code(130);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "interrupted\n");
}
