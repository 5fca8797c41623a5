//! Tests of the simple authenticators: header values and redaction.

use std::sync::Arc;

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

#[test]
fn env_token_is_read_at_every_request() {
    use std::sync::Mutex;
    let value = Arc::new(Mutex::new(Some("first".to_owned())));
    let lookup_value = Arc::clone(&value);
    let lookup: crate::EnvLookup = Arc::new(move |name: &str| {
        assert_eq!(name, "MP_CI_TOKEN");
        lookup_value.lock().unwrap().clone()
    });
    let auth = crate::EnvTokenAuth::new("ci", "MP_CI_TOKEN", lookup);
    check_header(&auth, "Bearer first");
    *value.lock().unwrap() = Some("rotated".to_owned());
    check_header(&auth, "Bearer rotated");
    *value.lock().unwrap() = Some("  ".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let error = runtime.block_on(auth.authorization()).unwrap_err();
    assert_eq!(*error.kind(), mp_http::ErrorKind::Authentication);
    let cause = std::error::Error::source(&error)
        .and_then(|cause| cause.downcast_ref::<crate::Error>())
        .expect("the mp-auth error is the cause");
    assert!(matches!(cause, crate::Error::TokenVariableUnset { .. }));
    assert_eq!(
        cause.hint().as_deref(),
        Some("export `MP_CI_TOKEN` with the bearer token")
    );
}

#[test]
fn static_authorization_headers() {
    use mp_http::Region;
    let env: crate::EnvLookup =
        Arc::new(|name: &str| (name == "MP_CI_TOKEN").then(|| "ci-token".to_owned()));
    let header = |account: crate::Account| {
        account
            .static_authorization(&env)
            .map(|header| header.map(|header| header.expose().clone()))
    };
    let service_account = crate::Account::service_account(
        "team",
        Region::Us,
        "test_user",
        Secret::new("test_secret".to_owned()),
    )
    .unwrap();
    assert_eq!(
        header(service_account).unwrap().as_deref(),
        Some("Basic dGVzdF91c2VyOnRlc3Rfc2VjcmV0")
    );
    let inline = crate::TokenSource::Inline(Secret::new("tok".to_owned()));
    let token = crate::Account::oauth_token("t", Region::Eu, inline).unwrap();
    assert_eq!(header(token).unwrap().as_deref(), Some("Bearer tok"));
    let from_env = crate::Account::oauth_token(
        "ci",
        Region::In,
        crate::TokenSource::Env("MP_CI_TOKEN".to_owned()),
    )
    .unwrap();
    assert_eq!(
        header(from_env).unwrap().as_deref(),
        Some("Bearer ci-token")
    );
    let unset = crate::Account::oauth_token(
        "ci",
        Region::In,
        crate::TokenSource::Env("UNSET".to_owned()),
    )
    .unwrap();
    assert!(matches!(
        header(unset),
        Err(crate::Error::TokenVariableUnset { .. })
    ));
    assert_eq!(
        header(crate::Account::oauth_browser("p", Region::Us).unwrap()).unwrap(),
        None
    );
}
