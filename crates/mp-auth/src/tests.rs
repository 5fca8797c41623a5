//! Tests of the simple authenticators: header values and redaction.

use mp_http::Authenticator;

use crate::{BearerTokenAuth, Secret, ServiceAccountAuth};

#[track_caller]
fn check_header(auth: &dyn Authenticator, expected: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let header = runtime
        .block_on(auth.authorization())
        .expect("a static authenticator never fails");
    assert_eq!(header.expose(), expected);
}

#[test]
fn service_account_sends_basic() {
    // The header the conformance vectors record for test_user:test_secret.
    check_header(
        &ServiceAccountAuth::new("test_user", Secret::new("test_secret".to_owned())),
        "Basic dGVzdF91c2VyOnRlc3Rfc2VjcmV0",
    );
    check_header(
        &ServiceAccountAuth::new("team.sa", Secret::new("team-secret".to_owned())),
        "Basic dGVhbS5zYTp0ZWFtLXNlY3JldA==",
    );
}

#[test]
fn bearer_token_sends_bearer() {
    check_header(
        &BearerTokenAuth::new(Secret::new("test-oauth-token".to_owned())),
        "Bearer test-oauth-token",
    );
}

#[test]
fn debug_never_shows_the_secret() {
    let service_account =
        ServiceAccountAuth::new("sa.user", Secret::new("very-secret-value".to_owned()));
    let bearer = BearerTokenAuth::new(Secret::new("very-secret-token".to_owned()));
    let service_account_debug = format!("{service_account:?}");
    let bearer_debug = format!("{bearer:?}");
    assert_eq!(
        service_account_debug,
        r#"ServiceAccountAuth { username: "sa.user", secret: REDACTED }"#
    );
    assert_eq!(bearer_debug, "BearerTokenAuth { token: REDACTED }");
    // Neither the secret nor its base64 form leaks, in plain or pretty Debug.
    let encoded = "c2EudXNlcjp2ZXJ5LXNlY3JldC12YWx1ZQ";
    for text in [
        service_account_debug,
        bearer_debug,
        format!("{service_account:#?}"),
        format!("{bearer:#?}"),
    ] {
        assert!(!text.contains("very-secret"), "{text}");
        assert!(!text.contains(encoded), "{text}");
    }
}
