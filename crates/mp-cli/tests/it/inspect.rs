//! `mp inspect …` with environment credentials and with `--sandbox`: every command in
//! every format, the discovery cache, and unknown names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::formats::check_formats;
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
    // The only thing written is the discovery cache.
    let home = run.home.as_ref().unwrap().path();
    let written = files_under(home);
    assert!(!written.is_empty());
    for path in &written {
        assert!(
            path.starts_with(home.join(".mp/cache/discovery")),
            "mp wrote {}",
            path.display()
        );
    }
}

/// Every file under `directory`, recursively.
fn files_under(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

// A wrong secret after a successful run in the same home must still fail authentication:
// the discovery cache is keyed by the credential, never shared with another one.
#[test]
fn wrong_secret_is_refused_even_with_a_warm_cache() {
    let sandbox = TestSandbox::start();
    let right = Mp::new(&["--format", "json", "inspect", "events"])
        .env(&sandbox.env())
        .run();
    right.success();
    let home = right.home.as_ref().unwrap().path().to_owned();
    let mut env = sandbox.env();
    env.retain(|(name, _)| *name != "MP_SECRET");
    env.push(("MP_SECRET", "wrong-secret-5f2b".to_owned()));
    env.push(("HOME", home.display().to_string()));
    let wrong = Mp::new(&["--format", "json", "inspect", "events"])
        .env(&env)
        .run();
    wrong.code(2);
    assert_eq!(wrong.stdout, "");
    // The right secret still finds its own cache entry.
    let again = Mp::new(&["--format", "json", "inspect", "events"])
        .env(&sandbox.env())
        .env(&[("HOME", home.display().to_string())])
        .run();
    again.success();
    assert_eq!(names(&again.json()), sandbox.event_names());
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
        "error: no account configured",
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
    assert!(run.stderr.contains("known accounts: sb"), "{}", run.stderr);
}

#[test]
fn every_inspect_command_in_every_format() {
    let sandbox = TestSandbox::start();
    let inspect = |args: &[&str]| {
        let mut full = vec!["inspect"];
        full.extend_from_slice(args);
        check_formats(&sandbox, &full)
    };

    let events = inspect(&["events"]);
    assert_eq!(events.header(), ["event"]);
    let listed: Vec<String> = events.rows().iter().map(|row| row[0].clone()).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "events are sorted");
    assert_eq!(
        listed.into_iter().collect::<BTreeSet<_>>(),
        sandbox.event_names()
    );

    let properties = inspect(&["properties", "-e", "Purchase"]);
    assert_eq!(properties.header(), ["property"]);
    let properties = names(&properties.json);
    for property in ["amount", "country", "item_id"] {
        assert!(properties.contains(property), "{properties:?}");
    }

    let values = inspect(&["values", "-p", "country", "-e", "Purchase", "-l", "3"]);
    assert_eq!(values.header(), ["value"]);
    assert_eq!(values.rows().len(), 3);
    let requests = sandbox.sandbox.request_log().entries();
    let request = requests.last().unwrap();
    assert_eq!(request.param("limit").as_deref(), Some("3"));
    assert_eq!(request.param("event").as_deref(), Some("Purchase"));

    let funnels = inspect(&["funnels"]);
    assert_eq!(funnels.header(), ["funnel_id", "name"]);
    assert!(
        funnels
            .rows()
            .iter()
            .any(|row| row == &["1001", "Signup to Purchase"])
    );
    assert_eq!(
        funnels.json[0]["funnel_id"],
        funnels.rows()[0][0].parse::<u64>().unwrap()
    );

    let cohorts = inspect(&["cohorts"]);
    assert_eq!(cohorts.header(), ["id", "name", "count", "description"]);
    // JSON carries every field, the table the official CLI's columns.
    assert!(
        cohorts.json[0].get("is_visible").is_some(),
        "{}",
        cohorts.json
    );

    let top = inspect(&["top-events", "-l", "3"]);
    assert_eq!(top.header(), ["event", "count", "percent_change"]);
    assert_eq!(top.rows().len(), 3);
    assert!(
        top.rows()
            .iter()
            .all(|row| sandbox.event_names().contains(&row[0]))
    );

    let bookmarks = inspect(&["bookmarks", "-t", "funnels"]);
    assert_eq!(bookmarks.header(), ["id", "name", "type", "modified"]);
    assert!(!bookmarks.rows().is_empty());
    assert!(bookmarks.rows().iter().all(|row| row[2] == "funnels"));

    let schemas = inspect(&["lexicon-schemas", "-t", "event"]);
    assert_eq!(
        schemas.header(),
        ["entity_type", "name", "property_count", "description"]
    );
    assert_eq!(schemas.rows().len(), sandbox.event_names().len());
    assert!(schemas.json[0]["schema_json"]["properties"].is_object());

    let schema = inspect(&["lexicon-schema", "-t", "event", "-n", "Purchase"]);
    assert_eq!(schema.header(), ["property", "type", "description"]);
    assert!(
        schema
            .rows()
            .iter()
            .any(|row| row[0] == "amount" && row[1] == "number")
    );
    assert_eq!(schema.json["name"], "Purchase");
    let purchase = schemas
        .rows()
        .iter()
        .find(|row| row[1] == "Purchase")
        .unwrap();
    assert_eq!(purchase[2], schema.rows().len().to_string());
}

#[test]
fn discovery_answers_are_cached_on_disk_for_these_credentials() {
    let sandbox = TestSandbox::start();
    let home = tempfile::tempdir().unwrap();
    let mut env = sandbox.env();
    env.push(("HOME", home.path().to_str().unwrap().to_owned()));
    let run = |args: &[&str]| {
        let run = Mp::new(args).env(&env).run();
        run.success();
        run.stdout
    };
    let log = || sandbox.sandbox.request_log();

    let first = run(&["inspect", "events"]);
    assert_eq!(log().len(), 1);
    assert_eq!(run(&["inspect", "events"]), first);
    assert_eq!(
        log().len(),
        1,
        "the second run was not served from the cache"
    );
    // `--refresh` asks again, before or after the subcommand.
    run(&["inspect", "events", "--refresh"]);
    run(&["inspect", "--refresh", "events"]);
    assert_eq!(log().len(), 3);
    // Another project is another entry.
    run(&["inspect", "funnels"]);
    run(&["inspect", "funnels"]);
    assert_eq!(log().len(), 4);
    // Top events and bookmarks are never cached.
    run(&["inspect", "top-events"]);
    run(&["inspect", "top-events"]);
    run(&["inspect", "bookmarks"]);
    run(&["inspect", "bookmarks"]);
    assert_eq!(log().len(), 8);

    // Other credentials do not see these answers.
    let mut other = env.clone();
    other.retain(|(name, _)| *name != "MP_USERNAME");
    other.push(("MP_USERNAME", "someone-else".to_owned()));
    let run = Mp::new(&["inspect", "events"]).env(&other).run();
    run.code(2);
    assert_eq!(log().len(), 9);

    // Entries are private to the user.
    use std::os::unix::fs::PermissionsExt as _;
    let files = files_under(&home.path().join(".mp/cache/discovery"));
    assert_eq!(files.len(), 2, "{files:?}");
    for file in files {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}

#[test]
fn the_sandbox_flag_keeps_no_cache() {
    let run = Mp::new(&["--sandbox", "inspect", "funnels"]).run();
    run.success();
    assert!(run.home_is_empty(), "mp wrote into HOME");
}

#[test]
fn bad_inspect_input_is_refused_before_anything_is_sent() {
    let sandbox = TestSandbox::start();
    for (args, fragment) in [
        (&["inspect", "properties"][..], "--event"),
        (
            &["inspect", "values", "-l", "0", "-p", "country"],
            "--limit",
        ),
        (
            &["inspect", "top-events", "-t", "sometimes"],
            "possible values",
        ),
        (
            &["inspect", "bookmarks", "-t", "dashboards"],
            "possible values",
        ),
        (
            &["inspect", "lexicon-schemas", "-t", "custom_event"],
            "possible values",
        ),
        (&["inspect", "lexicon-schema", "-t", "event"], "--name"),
        (&["inspect", "events", "-p", "2"], "unexpected argument"),
    ] {
        let run = Mp::new(args).env(&sandbox.env()).run();
        run.code(3);
        assert!(run.stderr.contains(fragment), "{args:?}: {}", run.stderr);
    }
    assert!(sandbox.sandbox.request_log().is_empty());
}

#[test]
fn an_unknown_event_has_no_properties() {
    let sandbox = TestSandbox::start();
    let run = Mp::new(&["inspect", "properties", "-e", "No Such Event"])
        .env(&sandbox.env())
        .run();
    run.success();
    assert_eq!(run.json(), serde_json::json!([]));
}
