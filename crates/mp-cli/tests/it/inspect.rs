//! `mp inspect events` with environment credentials and with `--sandbox`.

use std::collections::BTreeSet;

use crate::support::{Mp, TestSandbox};

fn names(value: &serde_json::Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|name| name.as_str().unwrap().to_owned())
        .collect()
}

/// The acceptance command of the foundation issue.
#[test]
fn environment_credentials_list_the_sandbox_events() {
    let sandbox = TestSandbox::start();
    let run = Mp::new(&["--format", "json", "inspect", "events"])
        .env(&sandbox.env())
        .run();
    run.success();
    assert_eq!(names(&run.json()), sandbox.event_names());
    assert_eq!(run.stderr, "");
    assert!(run.home_is_empty(), "mp wrote into HOME");
}

#[test]
fn wrong_secret_is_an_authentication_failure_that_hides_the_secret() {
    let sandbox = TestSandbox::start();
    let secret = "wrong-secret-d41d8cd98f00b204";
    let mut env = sandbox.env();
    env.retain(|(name, _)| *name != "MP_SECRET");
    env.push(("MP_SECRET", secret.to_owned()));
    let run = Mp::new(&["--format", "json", "inspect", "events"])
        .env(&env)
        .run();
    run.code(2);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(run.stderr.contains("\nhint: "), "{}", run.stderr);
    assert!(
        !run.stderr.contains(secret),
        "the secret leaked: {}",
        run.stderr
    );
    // Not even in the most verbose logs, and not as the Basic header's base64 either.
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("sandbox:{secret}"));
    let run = Mp::new(&["-vvv", "inspect", "events"]).env(&env).run();
    run.code(2);
    assert!(
        run.stderr.contains("DEBUG"),
        "no logs at -vvv: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(secret),
        "the secret leaked into the logs"
    );
    assert!(
        !run.stderr.contains(&basic),
        "the Authorization header leaked into the logs"
    );
}

#[test]
fn a_project_the_account_cannot_see_is_an_authentication_failure() {
    let sandbox = TestSandbox::start();
    let mut env = sandbox.env();
    env.retain(|(name, _)| *name != "MP_PROJECT_ID");
    let run = Mp::new(&["-p", "999", "inspect", "events"]).env(&env).run();
    run.code(2);
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
}

#[test]
fn missing_credentials_exit_2_with_a_hint() {
    let run = Mp::new(&["inspect", "events"]).run();
    run.code(2);
    assert_eq!(run.stdout, "");
    for needle in [
        "error: no credentials",
        "hint: ",
        "MP_USERNAME",
        "MP_SECRET",
        "MP_PROJECT_ID",
        "MP_REGION",
        "--sandbox",
    ] {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?} in {}",
            run.stderr
        );
    }
}

#[test]
fn sandbox_flag_needs_no_credentials_and_writes_nothing() {
    let run = Mp::new(&["--sandbox", "--format", "json", "inspect", "events"]).run();
    run.success();
    let listed = names(&run.json());
    assert!(
        listed.contains("Sign Up") && listed.contains("Purchase"),
        "{listed:?}"
    );
    assert!(run.home_is_empty(), "mp wrote into HOME");
}

#[test]
fn the_environment_wins_over_project_flag_and_says_so() {
    let sandbox = TestSandbox::start();
    let run = Mp::new(&["-p", "2", "--format", "json", "inspect", "events"])
        .env(&sandbox.env())
        .run();
    run.success();
    assert!(
        run.stderr.contains("overrides `--project 2`"),
        "{}",
        run.stderr
    );
    let run = Mp::new(&["-q", "-p", "2", "--format", "json", "inspect", "events"])
        .env(&sandbox.env())
        .run();
    run.success();
    assert_eq!(run.stderr, "");
}

#[test]
fn requests_carry_the_project_the_user_agent_and_custom_headers() {
    let sandbox = TestSandbox::start();
    let mut env = sandbox.env();
    env.push(("MP_CUSTOM_HEADER_NAME", "X-Env-Header".to_owned()));
    env.push(("MP_CUSTOM_HEADER_VALUE", "from-env".to_owned()));
    let config =
        "[settings]\ncustom_header = { name = \"X-Config-Header\", value = \"from-config\" }\n";
    Mp::new(&["inspect", "events"])
        .env(&env)
        .with_config(config)
        .run()
        .success();
    let requests = sandbox.sandbox.request_log().entries();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    assert_eq!(request.path, "/api/query/events/names");
    assert_eq!(request.param("project_id").as_deref(), Some("1"));
    assert!(
        request
            .header("user-agent")
            .is_some_and(|agent| agent.starts_with("mp/")),
        "{request:?}"
    );
    assert_eq!(request.header("x-env-header"), Some("from-env"));
    assert_eq!(request.header("x-config-header"), Some("from-config"));
}

#[test]
fn a_service_account_from_the_config_file() {
    let sandbox = TestSandbox::start();
    let config = "[accounts.sb]\ntype = \"service_account\"\nregion = \"us\"\nusername = \"sandbox\"\nsecret = \"sandbox\"\ndefault_project = \"2\"\n";
    let base = [("MP_API_BASE_URL", sandbox.base_url())];
    let run = Mp::new(&["--format", "json", "-a", "sb", "inspect", "events"])
        .env(&base)
        .with_config(config)
        .run();
    run.success();
    assert!(!names(&run.json()).is_empty());
    let requests = sandbox.sandbox.request_log().entries();
    assert_eq!(
        requests[0].param("project_id").as_deref(),
        Some("2"),
        "the account's default project"
    );

    let run = Mp::new(&["-a", "nobody", "inspect", "events"])
        .env(&base)
        .with_config(config)
        .run();
    run.code(4);
    assert!(
        run.stderr.contains("configured accounts: `sb`"),
        "{}",
        run.stderr
    );
}
