//! Session resolution as the CLI wires it: every axis from every source (environment, global
//! flags, target, bridge, config), read back from `mp session -f json`, with the stderr note
//! when the environment overrides an explicit flag.
//!
//! The pure rules are tested in mp-auth; this checks that the CLI feeds them the right inputs.

use crate::home::{Home, write_private};

const CONFIG: &str = r#"
[active]
account = "alpha"
workspace = 7

[accounts.alpha]
type = "service_account"
region = "us"
username = "alpha.user"
secret = "alpha-secret"
default_project = "10"

[accounts.beta]
type = "oauth_token"
region = "eu"
token_env = "BETA_TOKEN"
default_project = "20"

[targets.prod]
account = "beta"
project = "30"
workspace = 3
"#;

const BRIDGE: &str = r#"{
  "version": 2,
  "account": {"type": "service_account", "name": "bridged", "region": "in",
              "username": "b.user", "secret": "bridge-secret"},
  "project": "40",
  "workspace": 4,
  "headers": {}
}"#;

/// What one axis should resolve to: `(value, source)`, or `None` for unset.
type Axis = Option<(&'static str, &'static str)>;

struct Case {
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
    flags: &'static [&'static str],
    bridge: bool,
    account: Axis,
    project: Axis,
    workspace: Axis,
    /// A fragment of the stderr note, when the environment overrides a flag.
    note: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "config only",
        env: &[],
        flags: &[],
        bridge: false,
        account: Some(("alpha", "config")),
        project: Some(("10", "config")),
        workspace: Some(("7", "config")),
        note: None,
    },
    Case {
        name: "account flag",
        env: &[],
        flags: &["-a", "beta"],
        bridge: false,
        account: Some(("beta", "flag")),
        project: Some(("20", "config")),
        workspace: None,
        note: None,
    },
    Case {
        name: "project and workspace flags",
        env: &[],
        flags: &["-p", "11", "-w", "5"],
        bridge: false,
        account: Some(("alpha", "config")),
        project: Some(("11", "flag")),
        workspace: Some(("5", "flag")),
        note: None,
    },
    Case {
        name: "project flag drops the active workspace",
        env: &[],
        flags: &["-p", "11"],
        bridge: false,
        account: Some(("alpha", "config")),
        project: Some(("11", "flag")),
        workspace: None,
        note: None,
    },
    Case {
        name: "target flag",
        env: &[],
        flags: &["-t", "prod"],
        bridge: false,
        account: Some(("beta", "target")),
        project: Some(("30", "target")),
        workspace: Some(("3", "target")),
        note: None,
    },
    Case {
        name: "target from the environment",
        env: &[("MP_TARGET", "prod")],
        flags: &[],
        bridge: false,
        account: Some(("beta", "target")),
        project: Some(("30", "target")),
        workspace: Some(("3", "target")),
        note: None,
    },
    Case {
        name: "target combined with environment ids",
        env: &[("MP_PROJECT_ID", "12"), ("MP_WORKSPACE_ID", "9")],
        flags: &["-t", "prod"],
        bridge: false,
        account: Some(("beta", "target")),
        project: Some(("12", "env")),
        workspace: Some(("9", "env")),
        note: None,
    },
    Case {
        name: "MP_ACCOUNT",
        env: &[("MP_ACCOUNT", "beta")],
        flags: &[],
        bridge: false,
        account: Some(("beta", "env")),
        project: Some(("20", "config")),
        workspace: None,
        note: None,
    },
    Case {
        name: "MP_ACCOUNT overrides --account",
        env: &[("MP_ACCOUNT", "beta")],
        flags: &["-a", "alpha"],
        bridge: false,
        account: Some(("beta", "env")),
        project: Some(("20", "config")),
        workspace: None,
        note: Some("using account `beta` from `MP_ACCOUNT`, which overrides `--account alpha`"),
    },
    Case {
        name: "MP_PROJECT_ID overrides --project",
        env: &[("MP_PROJECT_ID", "12")],
        flags: &["-p", "11"],
        bridge: false,
        account: Some(("alpha", "config")),
        project: Some(("12", "env")),
        workspace: None,
        note: Some("using project `12` from `MP_PROJECT_ID`, which overrides `--project 11`"),
    },
    Case {
        name: "MP_WORKSPACE_ID overrides --workspace",
        env: &[("MP_WORKSPACE_ID", "9")],
        flags: &["-w", "5"],
        bridge: false,
        account: Some(("alpha", "config")),
        project: Some(("10", "config")),
        workspace: Some(("9", "env")),
        note: Some("using workspace `9` from `MP_WORKSPACE_ID`, which overrides `--workspace 5`"),
    },
    Case {
        name: "service account from the environment",
        env: &[
            ("MP_USERNAME", "env.user"),
            ("MP_SECRET", "env-secret"),
            ("MP_REGION", "in"),
        ],
        flags: &["-p", "13"],
        bridge: false,
        account: Some(("env-service-account", "env")),
        project: Some(("13", "flag")),
        workspace: None,
        note: None,
    },
    Case {
        name: "environment service account overrides --account",
        env: &[
            ("MP_USERNAME", "env.user"),
            ("MP_SECRET", "env-secret"),
            ("MP_REGION", "in"),
        ],
        flags: &["-a", "beta"],
        bridge: false,
        account: Some(("env-service-account", "env")),
        project: None,
        workspace: None,
        note: Some("which overrides `--account beta`"),
    },
    Case {
        name: "token from the environment",
        env: &[("MP_OAUTH_TOKEN", "env-token-value"), ("MP_REGION", "eu")],
        flags: &[],
        bridge: false,
        account: Some(("env-oauth-token", "env")),
        project: None,
        workspace: None,
        note: None,
    },
    Case {
        name: "bridge beats the config",
        env: &[],
        flags: &[],
        bridge: true,
        account: Some(("bridged", "bridge")),
        project: Some(("40", "bridge")),
        workspace: Some(("4", "bridge")),
        note: None,
    },
    Case {
        name: "flags beat the bridge",
        env: &[],
        flags: &["-a", "alpha", "-w", "6"],
        bridge: true,
        account: Some(("alpha", "flag")),
        project: Some(("40", "bridge")),
        workspace: Some(("6", "flag")),
        note: None,
    },
];

#[track_caller]
fn check_axis(case: &Case, session: &serde_json::Value, axis: &str, expect: Axis) {
    let actual = &session[axis];
    match expect {
        None => assert!(actual.is_null(), "{}: {axis} = {actual}", case.name),
        Some((value, source)) => {
            let key = if axis == "account" { "name" } else { "id" };
            let shown = match &actual[key] {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            assert_eq!(shown, value, "{}: {axis} = {actual}", case.name);
            assert_eq!(actual["source"], source, "{}: {axis} = {actual}", case.name);
        }
    }
}

#[test]
fn every_axis_from_every_source() {
    let home = Home::new(None);
    home.write_config(CONFIG);
    let bridge = home.path().join("bridge.json");
    write_private(&bridge, BRIDGE);
    for case in CASES {
        let mut env: Vec<(&str, &str)> = case.env.to_vec();
        if case.bridge {
            env.push(("MP_AUTH_FILE", bridge.to_str().unwrap()));
        }
        let mut args: Vec<&str> = case.flags.to_vec();
        args.extend(["session", "-f", "json"]);
        let run = home.run(&args, &env);
        assert_eq!(run.code, Some(0), "{}: {run:#?}", case.name);
        let session = run.json();
        check_axis(case, &session, "account", case.account);
        check_axis(case, &session, "project", case.project);
        check_axis(case, &session, "workspace", case.workspace);
        match case.note {
            Some(note) => assert!(
                run.stderr.contains(note),
                "{}: no note in {:?}",
                case.name,
                run.stderr
            ),
            None => assert!(
                !run.stderr.contains("overrides"),
                "{}: {:?}",
                case.name,
                run.stderr
            ),
        }
    }
    // Secrets of the config, the bridge and the environment never show.
    let transcript = home.transcript();
    for secret in [
        "alpha-secret",
        "bridge-secret",
        "env-secret",
        "env-token-value",
    ] {
        assert!(!transcript.contains(secret), "{secret} printed");
    }
}

#[test]
fn session_errors_name_what_to_fix() {
    let home = Home::new(None);
    home.write_config(CONFIG);
    let check = |env: &[(&str, &str)], flags: &[&str], code: i32, fragment: &str| {
        let mut args = flags.to_vec();
        args.push("session");
        let run = home.run(&args, env);
        assert_eq!(run.code, Some(code), "{run:#?}");
        assert!(run.stderr.contains(fragment), "{fragment}: {}", run.stderr);
    };
    check(&[("MP_USERNAME", "u")], &[], 2, "MP_SECRET");
    check(
        &[("MP_USERNAME", "u"), ("MP_SECRET", "s")],
        &[],
        2,
        "MP_REGION",
    );
    check(
        &[("MP_REGION", "mars"), ("MP_OAUTH_TOKEN", "t")],
        &[],
        3,
        "MP_REGION",
    );
    check(&[("MP_PROJECT_ID", "abc")], &[], 3, "abc");
    check(&[], &["-a", "nobody"], 4, "known accounts: alpha, beta");
    check(&[("MP_TARGET", "nowhere")], &[], 4, "known targets: prod");
    // `-t` with an axis flag is a usage error; the environment never makes it one.
    check(&[], &["-t", "prod", "-p", "1"], 3, "cannot be used with");

    let empty = Home::new(None);
    let run = empty.run(&["session"], &[]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("mp login"), "{}", run.stderr);
}

#[test]
fn the_table_shows_sources() {
    let home = Home::new(None);
    home.write_config(CONFIG);
    let run = home.run(&["-t", "prod", "session", "-f", "table"], &[]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    for fragment in ["beta (oauth_token, eu)", "target", "prod", "30", "region"] {
        assert!(run.stdout.contains(fragment), "{fragment}: {}", run.stdout);
    }
}
