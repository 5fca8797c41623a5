//! Reading and validating config text.

use crate::tests::{HAND_EDITED, origin};
use crate::{AccountType, Config, Error, Loaded, Region};

#[track_caller]
fn load(text: &str) -> Loaded {
    match Config::from_toml_str(text, origin()) {
        Ok(loaded) => loaded,
        Err(error) => panic!("expected a valid config, got: {error}"),
    }
}

/// Asserts that `text` is refused with exactly `expected` (the `Display` of the error).
#[track_caller]
fn check_error(text: &str, expected: &str) {
    match Config::from_toml_str(text, origin()) {
        Ok(loaded) => panic!("expected an error, got {loaded:?}"),
        Err(error) => assert_eq!(error.to_string(), expected),
    }
}

/// Asserts that `text` loads with exactly the `expected` warnings, in order.
#[track_caller]
fn check_warnings(text: &str, expected: &[&str]) {
    let warnings: Vec<String> = load(text)
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(warnings, expected);
}

#[test]
fn hand_edited_file_loads_in_file_order() {
    let config = load(HAND_EDITED).config;
    assert_eq!(config.active_account(), Some("team"));
    assert_eq!(config.active_workspace(), Some(3448414));

    let names: Vec<&str> = config.accounts().iter().map(|a| a.name()).collect();
    assert_eq!(names, ["team", "personal", "ci"]);

    let team = config.account("team").unwrap();
    assert_eq!(team.account_type(), AccountType::ServiceAccount);
    assert_eq!(team.region(), Region::Us);
    assert_eq!(team.default_project(), Some("3018488"));
    assert_eq!(team.username(), Some("team.sa"));
    assert_eq!(team.expose_secret(), Some("team-secret"));
    assert!(team.holds_secret());

    let personal = config.account("personal").unwrap();
    assert_eq!(personal.account_type(), AccountType::OAuthBrowser);
    assert_eq!(personal.region(), Region::Eu);
    assert_eq!(personal.default_project(), None);
    assert!(!personal.holds_secret());

    let ci = config.account("ci").unwrap();
    assert_eq!(ci.account_type(), AccountType::OAuthToken);
    assert_eq!(ci.token_env(), Some("MP_CI_TOKEN"));
    assert_eq!(ci.expose_token(), None);

    let targets: Vec<(&str, &str, &str, Option<u64>)> = config
        .targets()
        .iter()
        .map(|t| (t.name(), t.account(), t.project(), t.workspace()))
        .collect();
    assert_eq!(
        targets,
        [
            ("ecom", "team", "3018488", Some(3448414)),
            ("ai", "team", "3713224", None)
        ]
    );
    assert_eq!(config.targets_using("team"), ["ecom", "ai"]);
    assert!(config.targets_using("ci").is_empty());

    let header = config.custom_header().unwrap();
    assert_eq!(
        (header.name(), header.value()),
        ("X-Mixpanel-Cluster", "internal-1")
    );
    assert!(config.holds_secrets());
}

#[test]
fn unknown_keys_are_warnings_with_their_location() {
    check_warnings(
        HAND_EDITED,
        &[
            "config.toml:15:1: unknown key `accounts.team.colour` is ignored",
            "config.toml:39:1: unknown key `settings.experimental` is ignored",
        ],
    );
    check_warnings(
        "version = 2\n[active]\nproject = \"1\"\ncolor = 1\n[future]\nx = 1\n",
        &[
            "config.toml:1:1: unknown key `version` is ignored",
            "config.toml:3:1: `active.project` is ignored: the project lives on the account as `default_project`",
            "config.toml:4:1: unknown key `active.color` is ignored",
            "config.toml:5:2: unknown key `future` is ignored",
        ],
    );
}

#[test]
fn keys_of_another_account_type_are_warnings() {
    check_warnings(
        "[accounts.me]\ntype = \"oauth_browser\"\nregion = \"us\"\nsecret = \"s\"\ntoken_env = \"X\"\n",
        &[
            "config.toml:4:1: `accounts.me.secret` does not apply to `oauth_browser` accounts and is ignored",
            "config.toml:5:1: `accounts.me.token_env` does not apply to `oauth_browser` accounts and is ignored",
        ],
    );
}

#[test]
fn dangling_references_are_warnings() {
    check_warnings(
        "[active]\naccount = \"gone\"\n\n[targets.t]\naccount = \"also-gone\"\nproject = \"1\"\n",
        &[
            "config.toml:2:11: `active.account` names account `gone`, which is not defined in `[accounts]`",
            "config.toml:5:11: target `t` names account `also-gone`, which is not defined in `[accounts]`",
        ],
    );
}

#[test]
fn empty_and_comment_only_files_are_empty_configs() {
    assert_eq!(load("").config, Config::default());
    assert_eq!(load("# nothing yet\n\n").config, Config::default());
    assert!(load("").warnings.is_empty());
}

#[test]
fn ids_written_with_the_other_type_are_accepted() {
    let config = load(
        "[active]\nworkspace = \"12\"\n[accounts.a]\ntype = \"oauth_browser\"\nregion = \"EU\"\ndefault_project = 42\n[targets.t]\naccount = \"a\"\nproject = 7\nworkspace = \"9\"\n",
    )
    .config;
    assert_eq!(config.active_workspace(), Some(12));
    let account = config.account("a").unwrap();
    assert_eq!(account.default_project(), Some("42"));
    assert_eq!(account.region(), Region::Eu);
    let target = config.target("t").unwrap();
    assert_eq!((target.project(), target.workspace()), ("7", Some(9)));
}

#[test]
fn inline_and_dotted_tables_are_read_like_headers() {
    let config = load(
        "accounts = { a = { type = \"oauth_browser\", region = \"us\" } }\n[targets]\nt.account = \"a\"\nt.project = \"1\"\n[settings.custom_header]\nname = \"X-A\"\nvalue = \"b\"\n",
    )
    .config;
    assert_eq!(config.account("a").unwrap().region(), Region::Us);
    assert_eq!(config.target("t").unwrap().project(), "1");
    assert_eq!(config.custom_header().unwrap().name(), "X-A");
}

#[test]
fn syntax_errors_give_line_column_and_expectation() {
    check_error(
        "[active]\naccount = \"team\"\n\n[accounts.team\ntype = \"oauth_browser\"\n",
        "config.toml:4:15: invalid TOML: invalid table header, expected `.`, `]`",
    );
    check_error(
        "[active]\nworkspace = [1,\n",
        "config.toml:3:1: invalid TOML: invalid array, expected `]`",
    );
    check_error(
        "[active]\naccount = \"a\"\naccount = \"b\"\n",
        "config.toml:3:1: invalid TOML: duplicate key `account` in table `active`",
    );
}

#[test]
fn account_schema_errors_point_at_the_problem() {
    check_error(
        "[accounts.a]\ntype = \"oauth_browser\"\n",
        "config.toml:1:1: `accounts.a` needs `region`: one of `us`, `eu`, `in`",
    );
    check_error(
        "[accounts.a]\nregion = \"us\"\n",
        "config.toml:1:1: `accounts.a` needs `type`: one of `service_account`, `oauth_browser`, `oauth_token`",
    );
    check_error(
        "[accounts.a]\ntype = \"oauth_browser\"\nregion = \"mars\"\n",
        "config.toml:3:10: `accounts.a.region` must be one of `us`, `eu`, `in`, found `mars`",
    );
    check_error(
        "[accounts.a]\ntype = \"password\"\nregion = \"us\"\n",
        "config.toml:2:8: `accounts.a.type` must be one of `service_account`, `oauth_browser`, `oauth_token`, found `password`",
    );
    check_error(
        "[accounts.a]\ntype = \"oauth_browser\"\nregion = 1\n",
        "config.toml:3:10: `accounts.a.region` must be one of `us`, `eu`, `in` in quotes, found `1`",
    );
    check_error(
        "[accounts.a]\ntype = \"service_account\"\nregion = \"us\"\nusername = \"u\"\n",
        "config.toml:1:1: `accounts.a` is a `service_account` and needs `secret`",
    );
    check_error(
        "[accounts.a]\ntype = \"service_account\"\nregion = \"us\"\nusername = \"u:v\"\nsecret = \"s\"\n",
        "config.toml:4:12: `accounts.a.username`: a username cannot contain `:`",
    );
    check_error(
        "[accounts.a]\ntype = \"service_account\"\nregion = \"us\"\nusername = \"u\"\nsecret = \"\"\n",
        "config.toml:5:10: `accounts.a.secret`: expected a non-empty value",
    );
    check_error(
        "[accounts.a]\ntype = \"oauth_token\"\nregion = \"us\"\ntoken = \"t\"\ntoken_env = \"T\"\n",
        "config.toml:1:1: `accounts.a` is an `oauth_token` account and needs exactly one of `token` or `token_env`",
    );
    check_error(
        "[accounts.a]\ntype = \"oauth_token\"\nregion = \"us\"\n",
        "config.toml:1:1: `accounts.a` is an `oauth_token` account and needs exactly one of `token` or `token_env`",
    );
    check_error(
        "[accounts.a]\ntype = \"oauth_token\"\nregion = \"us\"\ntoken_env = \"$MP_TOKEN\"\n",
        "config.toml:4:13: `accounts.a.token_env`: expected an environment variable name such as `MP_CI_TOKEN`, found `$MP_TOKEN`",
    );
    check_error(
        "[accounts.a]\ntype = \"oauth_browser\"\nregion = \"us\"\ndefault_project = \"30x\"\n",
        "config.toml:4:19: `accounts.a.default_project`: expected a project ID made of digits, found `30x`",
    );
    check_error(
        "[accounts.a]\ntype = \"oauth_browser\"\nregion = \"us\"\ndefault_project = true\n",
        "config.toml:4:19: `accounts.a.default_project` must be a project ID such as \"3018488\", found `true`",
    );
}

#[test]
fn names_follow_the_name_rule() {
    check_error(
        "[accounts.\"my team\"]\ntype = \"oauth_browser\"\nregion = \"us\"\n",
        "config.toml:1:11: an account name must be 1 to 64 characters from `A-Z`, `a-z`, `0-9`, `_` and `-`, found `my team`",
    );
    check_error(
        "[targets.\"../etc\"]\naccount = \"a\"\nproject = \"1\"\n",
        "config.toml:1:10: a target name must be 1 to 64 characters from `A-Z`, `a-z`, `0-9`, `_` and `-`, found `../etc`",
    );
    let longest = "a".repeat(64);
    let text = format!("[accounts.{longest}]\ntype = \"oauth_browser\"\nregion = \"us\"\n");
    assert!(load(&text).config.account(&longest).is_some());
    let too_long = "a".repeat(65);
    let text = format!("[accounts.{too_long}]\ntype = \"oauth_browser\"\nregion = \"us\"\n");
    assert!(Config::from_toml_str(&text, origin()).is_err());
    let text = "[accounts.Ünïcode]\ntype = \"oauth_browser\"\nregion = \"us\"\n";
    assert!(Config::from_toml_str(text, origin()).is_err());
    let text = "[accounts.A-z_0-9]\ntype = \"oauth_browser\"\nregion = \"us\"\n";
    assert!(load(text).config.account("A-z_0-9").is_some());
}

#[test]
fn target_active_and_settings_errors_point_at_the_problem() {
    check_error(
        "[targets.t]\naccount = \"a\"\n",
        "config.toml:1:1: `targets.t` needs `project`: a project ID such as \"3018488\"",
    );
    check_error(
        "[targets.t]\nproject = \"1\"\n",
        "config.toml:1:1: `targets.t` needs `account`: an account name",
    );
    check_error(
        "[targets.t]\naccount = \"a\"\nproject = \"1\"\nworkspace = 0\n",
        "config.toml:4:13: `targets.t.workspace` must be a positive workspace ID such as 3448414, found `0`",
    );
    check_error(
        "[active]\nworkspace = -5\n",
        "config.toml:2:13: `active.workspace` must be a positive workspace ID such as 3448414, found `-5`",
    );
    check_error(
        "[active]\naccount = 3\n",
        "config.toml:2:11: `active.account` must be an account name in quotes, found `3`",
    );
    check_error(
        "[active]\naccount = \"no way\"\n",
        "config.toml:2:11: `active.account` must be 1 to 64 characters from `A-Z`, `a-z`, `0-9`, `_` and `-`, found `no way`",
    );
    check_error(
        "[settings]\ncustom_header = \"X-A: b\"\n",
        "config.toml:2:17: `settings.custom_header` must be an inline table `{ name = \"...\", value = \"...\" }`, found `\"X-A: b\"`",
    );
    check_error(
        "[settings]\ncustom_header = { name = \"X A\", value = \"b\" }\n",
        "config.toml:2:26: `settings.custom_header.name`: expected an HTTP header name such as `X-Mixpanel-Cluster`, found `X A`",
    );
    check_error(
        "[settings]\ncustom_header = { name = \"X-A\" }\n",
        "config.toml:2:17: `settings.custom_header` needs `value`: a string",
    );
    check_error(
        "[[accounts]]\ntype = \"oauth_browser\"\n",
        "config.toml:1:1: `accounts` must be a table of named accounts such as `[accounts.NAME]`, found an array of tables",
    );
    check_error(
        "active = \"team\"\n",
        "config.toml:1:10: `active` must be a table `[active]`, found `\"team\"`",
    );
}

#[test]
fn secrets_stay_out_of_debug_and_serialize() {
    let text = "[accounts.sa]\ntype = \"service_account\"\nregion = \"us\"\nusername = \"u\"\nsecret = \"hunter2-sa\"\n\n[accounts.tok]\ntype = \"oauth_token\"\nregion = \"eu\"\ntoken = \"hunter2-token\"\n";
    let config = load(text).config;
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");

    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "active": {"account": null, "workspace": null},
            "accounts": [
                {"name": "sa", "type": "service_account", "region": "us", "username": "u"},
                {"name": "tok", "type": "oauth_token", "region": "eu"}
            ],
            "targets": [],
            "settings": {"custom_header": null}
        })
    );
    assert_eq!(
        config.account("tok").unwrap().expose_token(),
        Some("hunter2-token")
    );
}

#[test]
fn a_long_misplaced_value_is_not_echoed() {
    check_error(
        "[accounts.a]\ntype = \"oauth_browser\"\nregion = \"us\"\ndefault_project = \"ey-this-is-a-token-pasted-in-the-wrong-place\"\n",
        "config.toml:4:19: `accounts.a.default_project`: expected a project ID made of digits, found a string of 44 characters",
    );
}

#[test]
fn error_messages_follow_the_house_style() {
    let samples = [
        "[accounts.a]\ntype = \"oauth_browser\"\n",
        "[x\n",
        "[targets.t]\naccount = \"a\"\n",
    ];
    for text in samples {
        let error = Config::from_toml_str(text, origin()).unwrap_err();
        let message = error.to_string();
        assert!(!message.ends_with('.'), "{message}");
        assert!(matches!(
            error,
            Error::Syntax { .. } | Error::Invalid { .. }
        ));
        assert!(error.hint().unwrap().contains("`config.toml`"));
    }
}
