//! PKCE, state and pasted redirects.

use crate::{Error, Pkce, Secret, constant_time_eq, generate_state, parse_pasted_redirect};

#[test]
fn rfc_7636_appendix_b_vector() {
    // RFC 7636, Appendix B: the verifier and its S256 challenge.
    let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
    assert_eq!(
        pkce.challenge(),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    assert_eq!(pkce.method(), "S256");
    assert_eq!(
        pkce.verifier().expose(),
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    );
}

#[test]
fn generated_verifiers_are_valid_and_distinct() {
    let first = Pkce::generate();
    let second = Pkce::generate();
    for pkce in [&first, &second] {
        let verifier = pkce.verifier().expose();
        assert_eq!(verifier.len(), 86);
        assert!(Pkce::from_verifier(verifier.clone()).is_some());
        assert_eq!(pkce.challenge().len(), 43);
    }
    assert_ne!(first.verifier(), second.verifier());
    assert_eq!(generate_state().expose().len(), 43);
    assert_ne!(generate_state(), generate_state());
    // Debug shows neither the verifier nor the whole pair.
    assert!(!format!("{first:?}").contains(first.verifier().expose().as_str()));
}

#[test]
fn verifier_rules() {
    assert!(Pkce::from_verifier("a".repeat(42)).is_none());
    assert!(Pkce::from_verifier("a".repeat(43)).is_some());
    assert!(Pkce::from_verifier("a".repeat(128)).is_some());
    assert!(Pkce::from_verifier("a".repeat(129)).is_none());
    assert!(Pkce::from_verifier(format!("{}+", "a".repeat(50))).is_none());
    assert!(Pkce::from_verifier(format!("{}-._~", "a".repeat(50))).is_some());
}

#[test]
fn constant_time_comparison() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"abcd"));
    assert!(constant_time_eq(b"", b""));
}

#[track_caller]
fn check_paste(text: &str, expected: Result<&str, &str>) {
    let state = Secret::new("s-123".to_owned());
    let actual = parse_pasted_redirect(text, &state);
    match (actual, expected) {
        (Ok(code), Ok(expected)) => assert_eq!(code.expose(), expected, "{text}"),
        (Err(error), Err(expected)) => assert_eq!(error.to_string(), expected, "{text}"),
        (actual, expected) => panic!("{text}: expected {expected:?}, got {actual:?}"),
    }
}

#[test]
fn pasted_redirects() {
    check_paste(
        "http://localhost:19284/callback?code=abc&state=s-123",
        Ok("abc"),
    );
    check_paste("  ?code=a%2Bb&state=s-123\n", Ok("a+b"));
    check_paste("code=abc&state=s-123", Ok("abc"));
    check_paste(
        "http://localhost:19284/callback?state=s-123&code=abc#frag",
        Ok("abc"),
    );
    // A bare code cannot carry state; PKCE makes it safe.
    check_paste("abc-DEF_123", Ok("abc-DEF_123"));
    check_paste(
        "code=abc&state=other",
        Err("the authorization response does not belong to this login (state mismatch)"),
    );
    check_paste(
        "?error=access_denied&error_description=User+said+no",
        Err("Mixpanel refused the authorization: `access_denied` (User said no)"),
    );
    check_paste("", Err("the pasted text is not usable: nothing was pasted"));
    check_paste(
        "code=abc",
        Err(
            "the pasted text is not usable: it has a `code` but no `state`; paste the whole URL, or only the code",
        ),
    );
    check_paste(
        "not a url",
        Err(
            "the pasted text is not usable: it is neither a redirect URL nor an authorization code",
        ),
    );
    check_paste(
        "http://localhost:1/callback?state=s-123",
        Err("the pasted text is not usable: it has no `code` parameter"),
    );
    let error = parse_pasted_redirect("code=x&state=y", &Secret::new("z".to_owned())).unwrap_err();
    assert!(matches!(error, Error::StateMismatch));
    assert!(error.is_authentication());
}
