//! The token store: modes, symlinks, logout and remove.

use std::time::{Duration, UNIX_EPOCH};

use crate::{Error, Secret, StoredTokens, TokenSet};

fn tokens() -> StoredTokens {
    StoredTokens {
        tokens: TokenSet {
            access_token: Secret::new("access-1".to_owned()),
            refresh_token: Some(Secret::new("refresh-1".to_owned())),
            expires_at: UNIX_EPOCH + Duration::from_secs(1_776_859_200),
            token_type: "Bearer".to_owned(),
            scope: "projects analysis".to_owned(),
        },
        client_id: Some("client-9".to_owned()),
    }
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn tokens_round_trip_in_the_official_format_with_private_modes() {
    let (_directory, state_dir) = super::state_dir();
    state_dir.save_tokens("personal", &tokens()).await.unwrap();
    let path = state_dir.tokens_path("personal").unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        r#"{"access_token":"access-1","expires_at":"2026-04-22T12:00:00+00:00","token_type":"Bearer","scope":"projects analysis","refresh_token":"refresh-1","client_id":"client-9"}"#
    );
    assert_eq!(state_dir.load_tokens("personal").unwrap(), Some(tokens()));
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&state_dir.root().join("accounts")), 0o700);
        assert_eq!(mode(state_dir.root()), 0o700);
    }
    // The official client's file (no client_id, fractional seconds, another offset) reads too.
    std::fs::write(
        &path,
        r#"{"access_token":"a","expires_at":"2026-04-22T14:00:00.5+02:00","token_type":"Bearer","scope":"read","project_id":"123"}"#,
    )
    .unwrap();
    let legacy = state_dir.load_tokens("personal").unwrap().unwrap();
    assert_eq!(legacy.client_id, None);
    assert_eq!(legacy.tokens.refresh_token, None);
    assert_eq!(
        legacy.tokens.expires_at,
        UNIX_EPOCH + Duration::from_millis(1_776_859_200_500)
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_and_loose_modes_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (directory, state_dir) = super::state_dir();
    state_dir.save_tokens("personal", &tokens()).await.unwrap();
    let path = state_dir.tokens_path("personal").unwrap();

    // A token file that others may read is refused with a chmod hint.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = state_dir.load_tokens("personal").unwrap_err();
    assert!(
        matches!(error, Error::InsecurePermissions { mode: 0o644, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.hint().unwrap(),
        format!("run `chmod 600 {}`", path.display())
    );

    // A symlink in place of the token file is refused, even to a private file.
    let elsewhere = directory.path().join("elsewhere.json");
    std::fs::rename(&path, &elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    let error = state_dir.load_tokens("personal").unwrap_err();
    assert!(matches!(error, Error::Symlink { .. }), "{error:?}");

    // A symlinked account directory is refused on write.
    let target = directory.path().join("target-dir");
    std::fs::create_dir(&target).unwrap();
    std::os::unix::fs::symlink(&target, state_dir.account_dir("linked").unwrap()).unwrap();
    let error = state_dir
        .save_tokens("linked", &tokens())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Symlink { .. }), "{error:?}");
    assert!(
        std::fs::read_dir(&target).unwrap().next().is_none(),
        "nothing was written through the link"
    );

    // Removing it removes the link, not what it points at.
    assert!(state_dir.remove_account("linked").await.unwrap());
    assert!(target.exists());
}

#[tokio::test]
async fn logout_deletes_tokens_and_remove_deletes_the_account_directory() {
    let (_directory, state_dir) = super::state_dir();
    state_dir.save_tokens("personal", &tokens()).await.unwrap();
    let account_dir = state_dir.account_dir("personal").unwrap();
    std::fs::write(state_dir.me_cache_path("personal").unwrap(), "{}").unwrap();

    assert!(state_dir.delete_tokens("personal").await.unwrap());
    assert_eq!(state_dir.load_tokens("personal").unwrap(), None);
    assert!(!state_dir.delete_tokens("personal").await.unwrap());
    assert!(
        account_dir.exists(),
        "logout keeps the account's other state"
    );

    assert!(state_dir.remove_account("personal").await.unwrap());
    assert!(!account_dir.exists());
    assert!(!state_dir.remove_account("personal").await.unwrap());
    assert!(!state_dir.delete_tokens("never-existed").await.unwrap());
}

#[test]
fn account_names_cannot_escape_the_state_dir() {
    let (_directory, state_dir) = super::state_dir();
    for name in ["..", "a/b", "", ".hidden", &"x".repeat(65), "naïve"] {
        let error = state_dir.tokens_path(name).unwrap_err();
        assert!(
            matches!(error, Error::InvalidAccountName { .. }),
            "{name}: {error:?}"
        );
    }
    assert!(state_dir.tokens_path("team_1-a").is_ok());
}

#[tokio::test]
async fn a_malformed_token_file_is_reported_without_its_content() {
    let (_directory, state_dir) = super::state_dir();
    state_dir.save_tokens("personal", &tokens()).await.unwrap();
    let path = state_dir.tokens_path("personal").unwrap();
    std::fs::write(
        &path,
        r#"{"access_token": "SECRET-VALUE", "expires_at": 12"#,
    )
    .unwrap();
    let error = state_dir.load_tokens("personal").unwrap_err();
    assert!(!error.to_string().contains("SECRET-VALUE"), "{error}");
    assert!(
        error
            .to_string()
            .ends_with("is not a valid token file: truncated JSON at line 1, column 49"),
        "{error}"
    );
    std::fs::write(
        &path,
        r#"{"access_token": "SECRET-VALUE", "expires_at": "2026-01-01T00:00:00"}"#,
    )
    .unwrap();
    let error = state_dir.load_tokens("personal").unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("`expires_at` is not an ISO-8601 time with a time zone"),
        "{error}"
    );
}
