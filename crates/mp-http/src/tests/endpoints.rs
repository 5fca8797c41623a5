//! Regional routing, base-URL overrides and the loopback-only rule for `http://`.

use crate::{ApiFamily, Endpoints, ErrorKind, Region};

/// Renders every family's base, one per line, for table comparisons.
fn render(endpoints: &Endpoints) -> String {
    ApiFamily::ALL
        .iter()
        .map(|family| format!("{family}: {}\n", endpoints.base(*family)))
        .collect()
}

#[track_caller]
fn check_regional(region: Region, expected: &str) {
    let endpoints = Endpoints::regional(region);
    assert_eq!(endpoints.region(), region);
    assert_eq!(render(&endpoints), expected);
}

#[test]
fn regional_table() {
    check_regional(
        Region::Us,
        "query: https://mixpanel.com/api/query
export: https://data.mixpanel.com/api/2.0
engage: https://mixpanel.com/api/query/engage
app: https://mixpanel.com/api/app
oauth: https://mixpanel.com/oauth/
",
    );
    check_regional(
        Region::Eu,
        "query: https://eu.mixpanel.com/api/query
export: https://data-eu.mixpanel.com/api/2.0
engage: https://eu.mixpanel.com/api/query/engage
app: https://eu.mixpanel.com/api/app
oauth: https://eu.mixpanel.com/oauth/
",
    );
    check_regional(
        Region::In,
        "query: https://in.mixpanel.com/api/query
export: https://data-in.mixpanel.com/api/2.0
engage: https://in.mixpanel.com/api/query/engage
app: https://in.mixpanel.com/api/app
oauth: https://in.mixpanel.com/oauth/
",
    );
}

#[track_caller]
fn check_overrides(api: Option<&str>, app: Option<&str>, expected: &str) {
    let endpoints = Endpoints::with_overrides(Region::Eu, api, app).unwrap();
    assert_eq!(render(&endpoints), expected);
}

#[test]
fn api_base_rehomes_every_family() {
    let expected = "query: http://127.0.0.1:8080/api/query
export: http://127.0.0.1:8080/api/2.0
engage: http://127.0.0.1:8080/api/query/engage
app: http://127.0.0.1:8080/api/app
oauth: http://127.0.0.1:8080/oauth/
";
    check_overrides(Some("http://127.0.0.1:8080"), None, expected);
    // Trailing slashes and surrounding whitespace are ignored.
    check_overrides(Some(" http://127.0.0.1:8080/// "), None, expected);
    // An override keeps a path prefix.
    check_overrides(
        Some("https://proxy.example.com/mixpanel/"),
        None,
        "query: https://proxy.example.com/mixpanel/api/query
export: https://proxy.example.com/mixpanel/api/2.0
engage: https://proxy.example.com/mixpanel/api/query/engage
app: https://proxy.example.com/mixpanel/api/app
oauth: https://proxy.example.com/mixpanel/oauth/
",
    );
}

#[test]
fn app_base_rehomes_only_the_app_api() {
    check_overrides(
        None,
        Some("https://app.example.com/"),
        "query: https://eu.mixpanel.com/api/query
export: https://data-eu.mixpanel.com/api/2.0
engage: https://eu.mixpanel.com/api/query/engage
app: https://app.example.com/api/app
oauth: https://eu.mixpanel.com/oauth/
",
    );
    check_overrides(
        Some("http://localhost:1"),
        Some("http://[::1]:2"),
        "query: http://localhost:1/api/query
export: http://localhost:1/api/2.0
engage: http://localhost:1/api/query/engage
app: http://[::1]:2/api/app
oauth: http://localhost:1/oauth/
",
    );
}

#[test]
fn empty_or_slash_only_overrides_are_unset() {
    let regional = render(&Endpoints::regional(Region::Eu));
    for unset in ["", "/", "///", "  ", " / "] {
        check_overrides(Some(unset), Some(unset), &regional);
    }
}

#[track_caller]
fn check_refused(api: &str, kind: ErrorKind, message_contains: &str) {
    let error = Endpoints::with_overrides(Region::Us, Some(api), None).unwrap_err();
    assert_eq!(*error.kind(), kind, "{error}");
    let message = error.to_string();
    assert!(message.contains(message_contains), "{message}");
}

#[test]
fn http_is_accepted_only_for_loopback() {
    for loopback in [
        "http://127.0.0.1:1",
        "http://127.255.0.9",
        "http://localhost:8080",
        "http://LOCALHOST",
        "http://[::1]:9000",
    ] {
        assert!(
            Endpoints::with_overrides(Region::Us, Some(loopback), None).is_ok(),
            "{loopback}"
        );
    }
    check_refused(
        "http://example.com",
        ErrorKind::InsecureUrl,
        "would send credentials in clear text to `example.com`",
    );
    check_refused("http://128.0.0.1", ErrorKind::InsecureUrl, "clear text");
    check_refused("http://[::2]", ErrorKind::InsecureUrl, "clear text");
    check_refused(
        "http://localhost.example.com",
        ErrorKind::InsecureUrl,
        "loopback",
    );
    // The app base follows the same rule.
    let error = Endpoints::with_overrides(Region::Us, None, Some("http://10.0.0.1")).unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::InsecureUrl);
}

#[test]
fn malformed_overrides_are_config_errors() {
    check_refused("mixpanel.com", ErrorKind::Config, "absolute URL");
    check_refused(
        "ftp://mixpanel.com",
        ErrorKind::Config,
        "must start with `https://`",
    );
    check_refused(
        "https://mixpanel.com/?x=1",
        ErrorKind::Config,
        "query string",
    );
    check_refused("https://exa mple.com", ErrorKind::Config, "not a valid URL");
    // Userinfo never shows in the message.
    let error = Endpoints::with_overrides(Region::Us, Some("http://user:pw@example.com"), None)
        .unwrap_err();
    assert!(!error.to_string().contains("pw"), "{error}");
}

#[test]
fn url_joins_with_exactly_one_slash() {
    let endpoints = Endpoints::regional(Region::Us);
    let cases = [
        (
            ApiFamily::Query,
            "/events/names",
            "https://mixpanel.com/api/query/events/names",
        ),
        (
            ApiFamily::Query,
            "events/names",
            "https://mixpanel.com/api/query/events/names",
        ),
        // The Engage list URL really ends with a slash.
        (
            ApiFamily::Engage,
            "",
            "https://mixpanel.com/api/query/engage/",
        ),
        (
            ApiFamily::OAuth,
            "token/",
            "https://mixpanel.com/oauth/token/",
        ),
        (
            ApiFamily::OAuth,
            "/token/",
            "https://mixpanel.com/oauth/token/",
        ),
        (
            ApiFamily::Export,
            "/export",
            "https://data.mixpanel.com/api/2.0/export",
        ),
        (ApiFamily::App, "/me", "https://mixpanel.com/api/app/me"),
    ];
    for (family, path, expected) in cases {
        assert_eq!(endpoints.url(family, path), expected);
    }
}

#[test]
fn region_parses_and_prints() {
    for (text, region) in [("us", Region::Us), ("EU", Region::Eu), (" In ", Region::In)] {
        assert_eq!(text.parse::<Region>().unwrap(), region);
    }
    let error = "mars".parse::<Region>().unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::Config);
    assert_eq!(
        error.to_string(),
        "unknown region `mars`: expected `us`, `eu` or `in`"
    );
    assert_eq!(Region::Eu.to_string(), "eu");
    assert_eq!(serde_json::to_string(&Region::In).unwrap(), r#""in""#);
    assert_eq!(
        serde_json::from_str::<Region>(r#""us""#).unwrap(),
        Region::Us
    );
}
