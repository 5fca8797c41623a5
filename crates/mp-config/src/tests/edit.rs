//! Before/after fixtures for every `ConfigDocument` operation, and the refusals.
//!
//! Each case reads `tests/fixtures/<case>/in.toml`, applies one edit and compares the text with
//! `out.toml`, comments and blank lines included. The output must also validate, and must
//! render identically after a re-parse (so a second `mp` run sees exactly what was written).

#![allow(clippy::disallowed_methods)] // `MP_UPDATE_FIXTURES` is read to rewrite fixtures.

use std::fs;
use std::path::Path;

use crate::tests::{HAND_EDITED, fixtures_dir, origin};
use crate::{
    Account, AccountRemoval, ConfigDocument, CustomHeader, Error, ReferencingTargets, Region,
    Target,
};

#[track_caller]
fn check<T: std::fmt::Debug + PartialEq>(
    case: &str,
    expected_value: T,
    edit: impl FnOnce(&mut ConfigDocument) -> Result<T, Error>,
) {
    let directory = fixtures_dir().join(case);
    let input = fs::read_to_string(directory.join("in.toml")).unwrap();
    let mut document = ConfigDocument::from_toml_str(&input, Path::new("in.toml")).unwrap();
    let value = edit(&mut document).unwrap_or_else(|error| panic!("{case}: {error}"));
    assert_eq!(value, expected_value, "{case}: returned value");
    let actual = document.to_string();

    let out_path = directory.join("out.toml");
    if std::env::var_os("MP_UPDATE_FIXTURES").is_some() {
        fs::write(&out_path, &actual).unwrap();
    }
    let expected = fs::read_to_string(&out_path).unwrap_or_default();
    assert!(
        actual == expected,
        "{case}: out.toml differs\n--- expected\n{expected}\n--- actual\n{actual}\n---"
    );

    let reparsed = ConfigDocument::from_toml_str(&actual, Path::new("out.toml"))
        .unwrap_or_else(|error| panic!("{case}: output does not validate: {error}"));
    assert_eq!(
        reparsed.to_string(),
        actual,
        "{case}: output does not round-trip"
    );
}

fn hand_edited() -> ConfigDocument {
    ConfigDocument::from_toml_str(HAND_EDITED, origin()).unwrap()
}

fn service_account(name: &str) -> Account {
    Account::service_account(name, Region::Eu, "new.sa", "s3cret".to_owned()).unwrap()
}

#[test]
fn add_service_account() {
    let account = service_account("analytics")
        .with_default_project("1234")
        .unwrap();
    check("add_service_account", (), |doc| doc.add_account(&account));
}

#[test]
fn add_oauth_browser_account() {
    let account = Account::oauth_browser("me", Region::In).unwrap();
    check("add_oauth_browser_account", (), |doc| {
        doc.add_account(&account)
    });
}

#[test]
fn add_oauth_token_account_inline() {
    let account = Account::oauth_token("bot", Region::Us, "ey.token".to_owned()).unwrap();
    check("add_oauth_token_account_inline", (), |doc| {
        doc.add_account(&account)
    });
}

#[test]
fn add_oauth_token_account_env() {
    let account = Account::oauth_token_env("bot", Region::Us, "MP_BOT_TOKEN").unwrap();
    check("add_oauth_token_account_env", (), |doc| {
        doc.add_account(&account)
    });
}

#[test]
fn add_first_account_to_empty_file() {
    let account = service_account("team").with_default_project("1").unwrap();
    check("add_first_account_to_empty_file", Some(()), |doc| {
        doc.add_account(&account)?;
        // What `mp account add` does for a first account, in the same edit.
        doc.set_active_account("team")?;
        Ok(Some(()))
    });
}

#[test]
fn add_first_account_below_file_header() {
    let account = Account::oauth_browser("me", Region::Us).unwrap();
    check("add_first_account_below_file_header", (), |doc| {
        doc.add_account(&account)
    });
}

#[test]
fn add_account_to_inline_accounts() {
    let account = Account::oauth_browser("me", Region::Us).unwrap();
    check("add_account_to_inline_accounts", (), |doc| {
        doc.add_account(&account)
    });
}

#[test]
fn replace_account_same_type() {
    let account = Account::service_account("team", Region::Eu, "team.sa2", "rotated".to_owned())
        .unwrap()
        .with_default_project("3018488")
        .unwrap();
    check("replace_account_same_type", true, |doc| {
        doc.replace_account(&account)
    });
}

#[test]
fn replace_account_changes_type() {
    let account = Account::oauth_token_env("team", Region::Us, "MP_TEAM_TOKEN").unwrap();
    check("replace_account_changes_type", true, |doc| {
        doc.replace_account(&account)
    });
}

#[test]
fn replace_account_adds_when_missing() {
    let account = Account::oauth_browser("me", Region::Eu).unwrap();
    check("replace_account_adds_when_missing", false, |doc| {
        doc.replace_account(&account)
    });
}

#[test]
fn remove_account() {
    check("remove_account", AccountRemoval::default(), |doc| {
        doc.remove_account("personal", ReferencingTargets::Refuse)
    });
}

#[test]
fn remove_active_account_with_its_targets() {
    let expected = AccountRemoval {
        removed_targets: vec!["ecom".to_owned(), "ai".to_owned()],
        cleared_active: true,
    };
    check("remove_active_account_with_its_targets", expected, |doc| {
        doc.remove_account("team", ReferencingTargets::Remove)
    });
}

#[test]
fn remove_first_account_keeps_file_header() {
    check(
        "remove_first_account_keeps_file_header",
        AccountRemoval::default(),
        |doc| doc.remove_account("first", ReferencingTargets::Refuse),
    );
}

#[test]
fn remove_last_account() {
    let expected = AccountRemoval {
        removed_targets: Vec::new(),
        cleared_active: true,
    };
    check("remove_last_account", expected, |doc| {
        doc.remove_account("only", ReferencingTargets::Refuse)
    });
}

#[test]
fn set_active_account() {
    check("set_active_account", Some(3448414), |doc| {
        doc.set_active_account("ci")
    });
}

#[test]
fn set_active_account_creates_active() {
    check("set_active_account_creates_active", None, |doc| {
        doc.set_active_account("b")
    });
}

#[test]
fn clear_active_account() {
    check("clear_active_account", Some("team".to_owned()), |doc| {
        doc.clear_active_account()
    });
}

#[test]
fn set_active_workspace() {
    check("set_active_workspace", (), |doc| {
        doc.set_active_workspace(42)
    });
}

#[test]
fn set_active_workspace_creates_active() {
    check("set_active_workspace_creates_active", (), |doc| {
        doc.set_active_workspace(7)
    });
}

#[test]
fn clear_active_workspace() {
    check("clear_active_workspace", Some(3448414), |doc| {
        doc.clear_active_workspace()
    });
}

#[test]
fn set_default_project() {
    check("set_default_project", (), |doc| {
        doc.set_default_project("team", "999")
    });
}

#[test]
fn set_default_project_adds_key() {
    check("set_default_project_adds_key", (), |doc| {
        doc.set_default_project("personal", "5")
    });
}

#[test]
fn clear_default_project() {
    check("clear_default_project", Some("3018488".to_owned()), |doc| {
        doc.clear_default_project("team")
    });
}

#[test]
fn add_target() {
    let target = Target::new("beta", "ci", "42", Some(7)).unwrap();
    check("add_target", (), |doc| doc.add_target(&target));
}

#[test]
fn add_first_target_before_settings() {
    let target = Target::new("t1", "a", "1", None).unwrap();
    check("add_first_target_before_settings", (), |doc| {
        doc.add_target(&target)
    });
}

#[test]
fn add_target_after_commented_out_keys() {
    let target = Target::new("t2", "a", "2", None).unwrap();
    check("add_target_after_commented_out_keys", (), |doc| {
        doc.add_target(&target)
    });
}

#[test]
fn remove_target() {
    check("remove_target", (), |doc| doc.remove_target("ecom"));
}

#[test]
fn remove_last_target() {
    check("remove_last_target", (), |doc| doc.remove_target("only"));
}

#[test]
fn apply_target() {
    check("apply_target", (), |doc| doc.apply_target("ai"));
}

#[test]
fn set_custom_header() {
    let header = CustomHeader::new("X-Tenant", "acme").unwrap();
    check("set_custom_header", (), |doc| {
        doc.set_custom_header(&header)
    });
}

#[test]
fn set_custom_header_creates_settings() {
    let header = CustomHeader::new("X-Tenant", "acme corp").unwrap();
    check("set_custom_header_creates_settings", (), |doc| {
        doc.set_custom_header(&header)
    });
}

#[test]
fn clear_custom_header() {
    check("clear_custom_header", true, |doc| doc.clear_custom_header());
}

#[test]
fn clear_custom_header_removes_empty_settings() {
    check("clear_custom_header_removes_empty_settings", true, |doc| {
        doc.clear_custom_header()
    });
}

#[test]
fn refusals_leave_the_document_unchanged() {
    #[track_caller]
    fn refused(edit: impl FnOnce(&mut ConfigDocument) -> Result<(), Error>, expected: &str) {
        let mut document = hand_edited();
        let error = edit(&mut document).unwrap_err();
        assert_eq!(error.to_string(), expected);
        assert_eq!(document.to_string(), HAND_EDITED);
    }
    refused(
        |doc| doc.add_account(&service_account("team")),
        "account `team` already exists",
    );
    refused(
        |doc| {
            doc.remove_account("nobody", ReferencingTargets::Remove)
                .map(drop)
        },
        "account `nobody` not found",
    );
    refused(
        |doc| {
            doc.remove_account("team", ReferencingTargets::Refuse)
                .map(drop)
        },
        "account `team` is used by targets `ecom`, `ai`",
    );
    refused(
        |doc| doc.set_active_account("nobody").map(drop),
        "account `nobody` not found",
    );
    refused(
        |doc| doc.set_default_project("nobody", "1"),
        "account `nobody` not found",
    );
    refused(
        |doc| doc.set_default_project("team", "12a"),
        "invalid `default_project`: expected a project ID made of digits, found `12a`",
    );
    refused(
        |doc| doc.set_active_workspace(0),
        "invalid `workspace`: expected a positive workspace ID below 2^63, found `0`",
    );
    refused(
        |doc| doc.add_target(&Target::new("ecom", "team", "1", None)?),
        "target `ecom` already exists",
    );
    refused(
        |doc| doc.add_target(&Target::new("new", "nobody", "1", None)?),
        "account `nobody` not found",
    );
    refused(|doc| doc.remove_target("nope"), "target `nope` not found");
    refused(|doc| doc.apply_target("nope"), "target `nope` not found");
    refused(
        |doc| doc.remove_target("../x"),
        "invalid target name `../x`: expected 1 to 64 characters from `A-Z`, `a-z`, `0-9`, `_` and `-`",
    );
}

#[test]
fn refusals_carry_hints() {
    let mut document = hand_edited();
    let error = document
        .remove_account("team", ReferencingTargets::Refuse)
        .unwrap_err();
    assert_eq!(
        error.hint().unwrap(),
        "remove targets `ecom`, `ai` first, or remove the account together with its targets"
    );
    let error = document.set_active_account("nobody").unwrap_err();
    assert_eq!(
        error.hint().unwrap(),
        "configured accounts: `team`, `personal`, `ci`"
    );
    let error = ConfigDocument::new().set_active_account("x").unwrap_err();
    assert_eq!(
        error.hint().unwrap(),
        "no accounts are configured yet; add one first"
    );
}

#[test]
fn setting_the_active_account_again_keeps_the_workspace() {
    let mut document = hand_edited();
    assert_eq!(document.set_active_account("team").unwrap(), None);
    assert_eq!(document.to_string(), HAND_EDITED);
}

#[test]
fn clearing_what_is_not_set_changes_nothing() {
    let text = "[accounts.a]\ntype = \"oauth_browser\"\nregion = \"us\"\n";
    let mut document = ConfigDocument::from_toml_str(text, origin()).unwrap();
    assert_eq!(document.clear_active_account().unwrap(), None);
    assert_eq!(document.clear_active_workspace().unwrap(), None);
    assert!(!document.clear_custom_header().unwrap());
    assert_eq!(document.clear_default_project("a").unwrap(), None);
    assert_eq!(document.to_string(), text);
}

#[test]
fn edits_compose_into_a_fresh_file() {
    let mut document = ConfigDocument::new();
    let sa = service_account("team").with_default_project("1").unwrap();
    document
        .set_custom_header(&CustomHeader::new("X-A", "b").unwrap())
        .unwrap();
    document
        .add_target(&Target::new("t", "team", "2", None).unwrap())
        .unwrap_err();
    document.add_account(&sa).unwrap();
    document
        .add_target(&Target::new("t", "team", "2", Some(3)).unwrap())
        .unwrap();
    document
        .add_account(&Account::oauth_browser("me", Region::Us).unwrap())
        .unwrap();
    document.set_active_account("team").unwrap();
    document.set_active_workspace(3).unwrap();
    assert_eq!(
        document.to_string(),
        r#"[active]
account = "team"
workspace = 3

[accounts.team]
type = "service_account"
region = "eu"
default_project = "1"
username = "new.sa"
secret = "s3cret"

[accounts.me]
type = "oauth_browser"
region = "us"

[targets.t]
account = "team"
project = "2"
workspace = 3

[settings]
custom_header = { name = "X-A", value = "b" }
"#
    );
    assert_eq!(
        document.to_config().unwrap().config.active_workspace(),
        Some(3)
    );
    // The pin belonged to `team`; switching accounts drops it.
    assert_eq!(document.set_active_account("me").unwrap(), Some(3));
    assert_eq!(document.active_workspace(), None);
}

#[test]
fn constructors_check_their_input() {
    #[track_caller]
    fn refused<T: std::fmt::Debug>(result: Result<T, Error>, expected: &str) {
        assert_eq!(result.unwrap_err().to_string(), expected);
    }
    refused(
        Account::oauth_browser("", Region::Us),
        "invalid account name ``: expected 1 to 64 characters from `A-Z`, `a-z`, `0-9`, `_` and `-`",
    );
    refused(
        Account::service_account("a", Region::Us, "a:b", "s".to_owned()),
        "invalid `username`: a username cannot contain `:`",
    );
    refused(
        Account::service_account("a", Region::Us, "a", String::new()),
        "invalid `secret`: expected a non-empty value",
    );
    refused(
        Account::oauth_token("a", Region::Us, "line\nbreak".to_owned()),
        "invalid `token`: the value cannot contain control characters such as a newline",
    );
    refused(
        Account::oauth_token_env("a", Region::Us, "1ABC"),
        "invalid `token_env`: expected an environment variable name such as `MP_CI_TOKEN`, found `1ABC`",
    );
    refused(
        Target::new("t", "a", "1", Some(u64::MAX)),
        "invalid `workspace`: expected a positive workspace ID below 2^63, found `18446744073709551615`",
    );
    refused(
        CustomHeader::new("X-A", "b\r\nX-Evil: 1"),
        "invalid `custom_header.value`: a header value cannot contain control characters such as a newline",
    );
    refused(
        "mars".parse::<Region>(),
        "invalid `region`: expected one of `us`, `eu`, `in`, found `mars`",
    );
    assert_eq!("EU".parse::<Region>().unwrap(), Region::Eu);
    let secret_error = Account::oauth_token("a", Region::Us, "hunter2\n".to_owned()).unwrap_err();
    assert!(!format!("{secret_error:?} {secret_error}").contains("hunter2"));
}

/// Adds an account, a header, a target and activates the account, then removes it all again.
#[track_caller]
fn check_round_trip(input: &str, after_adding: &str, after_removing: &str) {
    let mut document = ConfigDocument::from_toml_str(input, origin()).unwrap();
    document
        .add_account(&Account::oauth_browser("b", Region::Eu).unwrap())
        .unwrap();
    document
        .set_custom_header(&CustomHeader::new("X-B", "c").unwrap())
        .unwrap();
    document
        .add_target(&Target::new("t", "a", "1", None).unwrap())
        .unwrap();
    document.set_active_account("b").unwrap();
    assert_eq!(document.to_string(), after_adding);
    document.to_config().unwrap();

    document
        .remove_account("a", ReferencingTargets::Remove)
        .unwrap();
    document
        .remove_account("b", ReferencingTargets::Refuse)
        .unwrap();
    document.clear_custom_header().unwrap();
    assert_eq!(document.to_string(), after_removing);
    let loaded = document.to_config().unwrap();
    assert!(loaded.config.accounts().is_empty() && loaded.config.targets().is_empty());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn dotted_keys_and_sub_tables_are_edited_in_place() {
    check_round_trip(
        r#"accounts.a.type = "oauth_browser"
accounts.a.region = "us"

[settings.custom_header]
name = "X-A"
value = "b"
"#,
        r#"accounts.a.type = "oauth_browser"
accounts.a.region = "us"

[active]
account = "b"

[accounts.b]
type = "oauth_browser"
region = "eu"

[targets.t]
account = "a"
project = "1"

[settings]
custom_header = { name = "X-B", value = "c" }
"#,
        "",
    );
}

#[test]
fn explicit_section_headers_and_inline_entries_are_kept() {
    check_round_trip(
        r#"[accounts]
a = { type = "oauth_browser", region = "us" }
[targets]
x.account = "a"
x.project = "1"
"#,
        r#"[active]
account = "b"

[accounts]
a = { type = "oauth_browser", region = "us" }

[accounts.b]
type = "oauth_browser"
region = "eu"
[targets]
x.account = "a"
x.project = "1"

[targets.t]
account = "a"
project = "1"

[settings]
custom_header = { name = "X-B", value = "c" }
"#,
        "[accounts]\n[targets]\n",
    );
}
