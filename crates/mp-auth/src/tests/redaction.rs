//! No token, secret or verifier in Debug output or error text.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use mp_http::{ClientBuilder, Endpoints, Region, Transport};

use super::oauth::Canned;
use crate::{Account, AccountKind, OAuthClient, Pkce, Secret, StoredTokens, TokenSet, TokenSource};

fn token_set() -> TokenSet {
    TokenSet {
        access_token: Secret::new("AT-very-secret".to_owned()),
        refresh_token: Some(Secret::new("RT-very-secret".to_owned())),
        expires_at: UNIX_EPOCH + Duration::from_secs(1_768_482_000),
        token_type: "Bearer".to_owned(),
        scope: "projects".to_owned(),
    }
}

#[test]
fn debug_of_a_token_set_is_redacted() {
    let stored = StoredTokens {
        tokens: token_set(),
        client_id: Some("client-1".to_owned()),
    };
    let debug = format!("{stored:?}");
    assert!(
        debug.starts_with(
            "StoredTokens { tokens: TokenSet { access_token: REDACTED, refresh_token: Some(REDACTED), expires_at: "
        ),
        "{debug}"
    );
    assert!(
        debug.ends_with(
            "token_type: \"Bearer\", scope: \"projects\" }, client_id: Some(\"client-1\") }"
        ),
        "{debug}"
    );
    let account = Account {
        name: "ci".to_owned(),
        region: Region::Us,
        default_project: None,
        kind: AccountKind::OAuthToken(TokenSource::Inline(Secret::new(
            "TOK-very-secret".to_owned(),
        ))),
    };
    let service_account = Account::service_account(
        "team",
        Region::Eu,
        "team.sa",
        Secret::new("SA-very-secret".to_owned()),
    )
    .unwrap();
    let pkce = Pkce::generate();
    for text in [
        format!("{account:?}"),
        format!("{service_account:#?}"),
        format!("{pkce:?}"),
        format!("{:?}", token_set()),
    ] {
        assert!(text.contains("REDACTED"), "{text}");
        assert!(!text.contains("very-secret"), "{text}");
        assert!(!text.contains(pkce.verifier().expose().as_str()), "{text}");
    }
}

#[tokio::test]
async fn the_error_text_of_a_failed_refresh_is_redacted() {
    let canned = Canned::new(
        200,
        "application/json",
        r#"{"access_token":"AT-new-very-secret","refresh_token":"RT-new-very-secret","token_type":"Bearer","expires_in":"soon"}"#,
    );
    let client = ClientBuilder::new(Endpoints::regional(Region::Us))
        .with_transport(Arc::clone(&canned) as Arc<dyn Transport>)
        .build()
        .unwrap();
    let error = OAuthClient::new(client)
        .refresh(&token_set(), "client-1", Some("personal"))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert_eq!(
        text,
        "token refresh failed: `expires_in` is not an integer (response fields: \
         access_token=REDACTED, refresh_token=REDACTED, token_type=Bearer, expires_in=soon)"
    );
    // Through the authenticator seam the same error is the cause of an mp-http error.
    let wrapped = error.into_http_error("personal");
    let chain = format!("{wrapped} / {:?}", wrapped);
    assert!(chain.contains("REDACTED"), "{chain}");
    assert!(!chain.contains("very-secret"), "{chain}");
}
