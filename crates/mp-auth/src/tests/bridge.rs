//! The bridge file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use mp_http::{Region, Secret};

use crate::{
    Account, BridgeFile, Error, StoredTokens, TokenSet, TokenSource, bridge_candidates,
    find_bridge, import_bridge_tokens, read_bridge, remove_bridge, write_bridge,
};

fn browser_bridge(expires_at_secs: u64) -> BridgeFile {
    BridgeFile {
        account: Account::oauth_browser("personal", Region::Us)
            .unwrap()
            .with_default_project("3713224")
            .unwrap(),
        tokens: Some(StoredTokens {
            tokens: TokenSet {
                access_token: Secret::new("bridge-access".to_owned()),
                refresh_token: Some(Secret::new("bridge-refresh".to_owned())),
                expires_at: UNIX_EPOCH + Duration::from_secs(expires_at_secs),
                token_type: "Bearer".to_owned(),
                scope: "read".to_owned(),
            },
            client_id: Some("client-7".to_owned()),
        }),
        project: Some("3713224".to_owned()),
        workspace: Some(3448413),
        headers: BTreeMap::from([("X-Mixpanel-Cluster".to_owned(), "internal-1".to_owned())]),
    }
}

#[test]
fn a_bridge_round_trips_in_the_official_schema() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("cowork").join("auth.json");
    let bridge = browser_bridge(1_776_859_200);
    write_bridge(&path, &bridge).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        r#"{
  "account": {
    "default_project": "3713224",
    "name": "personal",
    "region": "us",
    "type": "oauth_browser"
  },
  "headers": {
    "X-Mixpanel-Cluster": "internal-1"
  },
  "project": "3713224",
  "tokens": {
    "access_token": "bridge-access",
    "client_id": "client-7",
    "expires_at": "2026-04-22T12:00:00+00:00",
    "refresh_token": "bridge-refresh",
    "scope": "read",
    "token_type": "Bearer"
  },
  "version": 2,
  "workspace": 3448413
}
"#
    );
    assert_eq!(read_bridge(&path).unwrap(), Some(bridge.clone()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
    assert!(remove_bridge(&path).unwrap());
    assert!(!remove_bridge(&path).unwrap());
    assert_eq!(read_bridge(&path).unwrap(), None);
}

#[track_caller]
fn check_invalid(json: &str, expected: &str) {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let error = BridgeFile::from_json(&value, Path::new("auth.json")).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("`auth.json` is not a valid bridge file: {expected}")
    );
    assert!(!error.to_string().contains("hunter2"));
}

#[test]
fn bridges_are_validated() {
    let service_account = r#"{"version": 2, "account": {"type": "service_account", "name": "team", "region": "eu", "username": "u", "secret": "hunter2"}}"#;
    let value: serde_json::Value = serde_json::from_str(service_account).unwrap();
    let bridge = BridgeFile::from_json(&value, Path::new("auth.json")).unwrap();
    assert_eq!(bridge.account.region, Region::Eu);
    assert_eq!(bridge.view().account.name, "team");
    check_invalid(r#"{"version": 1, "account": {}}"#, "`version` must be 2");
    check_invalid(
        r#"{"version": 2, "account": {"type": "oauth_browser", "name": "p", "region": "us"}}"#,
        "`tokens` is required for an oauth_browser account",
    );
    check_invalid(
        r#"{"version": 2, "account": {"type": "service_account", "name": "t", "region": "us", "username": "u", "secret": "hunter2"}, "tokens": {}}"#,
        "`tokens` is only allowed for an oauth_browser account",
    );
    check_invalid(
        r#"{"version": 2, "account": {"type": "oauth_token", "name": "t", "region": "us", "token": "hunter2", "token_env": "X"}}"#,
        "an oauth_token account needs exactly one of `token` and `token_env`",
    );
    check_invalid(
        r#"{"version": 2, "account": {"type": "service_account", "name": "t", "region": "us", "username": "u", "secret": "hunter2", "token": "x"}}"#,
        "`account.token` is not allowed for a service_account account",
    );
    check_invalid(r#"{"version": 2, "extra": 1}"#, "unknown key `extra`");
    check_invalid(
        r#"{"version": 2, "account": {"type": "oauth_token", "name": "t", "region": "us", "token_env": "X"}, "workspace": 0}"#,
        "`workspace` must be a positive integer",
    );
    let token_env = r#"{"version": 2, "account": {"type": "oauth_token", "name": "ci", "region": "in", "token_env": "MP_CI_TOKEN"}}"#;
    let value: serde_json::Value = serde_json::from_str(token_env).unwrap();
    let bridge = BridgeFile::from_json(&value, Path::new("auth.json")).unwrap();
    assert_eq!(
        bridge.account.kind,
        crate::AccountKind::OAuthToken(TokenSource::Env("MP_CI_TOKEN".to_owned()))
    );
}

#[test]
fn candidates_follow_the_official_order() {
    let home = Path::new("/home/ada");
    let cwd = Path::new("/work");
    assert_eq!(
        bridge_candidates(None, None, Some(home), Some(cwd)),
        [
            PathBuf::from("/home/ada/.claude/mixpanel/auth.json"),
            PathBuf::from("/work/mixpanel_auth.json")
        ]
    );
    assert_eq!(
        bridge_candidates(None, Some("/tmp/b.json"), Some(home), Some(cwd)),
        [PathBuf::from("/tmp/b.json")]
    );
    assert_eq!(
        bridge_candidates(
            Some(Path::new("x.json")),
            Some("/tmp/b.json"),
            Some(home),
            Some(cwd)
        ),
        [PathBuf::from("x.json")]
    );
    assert_eq!(
        bridge_candidates(None, Some(" "), None, Some(cwd)),
        [PathBuf::from("/work/mixpanel_auth.json")]
    );
}

#[cfg(unix)]
#[test]
fn find_reads_the_first_existing_candidate_and_refuses_unsafe_ones() {
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir().unwrap();
    let missing = directory.path().join("missing.json");
    let present = directory.path().join("present.json");
    write_bridge(&present, &browser_bridge(1)).unwrap();
    let (path, _) = find_bridge(&[missing.clone(), present.clone()])
        .unwrap()
        .unwrap();
    assert_eq!(path, present);
    std::fs::set_permissions(&present, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = find_bridge(&[missing, present]).unwrap_err();
    assert!(
        matches!(error, Error::InsecurePermissions { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn bridge_tokens_are_imported_only_when_newer() {
    let (_directory, state_dir) = super::state_dir();
    assert!(
        import_bridge_tokens(&state_dir, &browser_bridge(1_000))
            .await
            .unwrap()
    );
    assert_eq!(
        state_dir
            .load_tokens("personal")
            .unwrap()
            .unwrap()
            .tokens
            .expires_at,
        UNIX_EPOCH + Duration::from_secs(1_000)
    );
    // A refresh happened since (the stored tokens are newer): an older bridge changes nothing.
    assert!(
        !import_bridge_tokens(&state_dir, &browser_bridge(500))
            .await
            .unwrap()
    );
    assert!(
        import_bridge_tokens(&state_dir, &browser_bridge(2_000))
            .await
            .unwrap()
    );
    let stored = state_dir.load_tokens("personal").unwrap().unwrap();
    assert_eq!(stored.client_id.as_deref(), Some("client-7"));
}
