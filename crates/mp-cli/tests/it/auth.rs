//! Logins and accounts end to end: the real `mp` binary, a temporary home, mp-sandbox as
//! Mixpanel (including its OAuth server), and the test as the browser.
//!
//! Every scenario runs `mp` with `-vv` where it matters and ends with [`assert_no_secrets`],
//! which scans everything `mp` printed for every token, secret, authorization code and PKCE
//! verifier the scenario produced.

use std::process::Stdio;

use base64::Engine as _;
use sha2::Digest as _;

use crate::home::{Home, mode};
use crate::support::TestSandbox;

/// `mp login` through the browser, with the test's browser.
fn browser_login(home: &Home, name: &str, project: &str) -> crate::home::BrowserVisit {
    let (run, visit) = home.browser_login(
        &[
            "-vv",
            "login",
            "--name",
            name,
            "--project",
            project,
            "--callback-port",
            "0",
        ],
        &[],
    );
    run.success();
    assert_eq!(visit.callback_status, 200, "{visit:?}");
    visit
}

/// Secrets seen during a scenario: they must never appear in `mp`'s output.
#[derive(Default)]
struct Secrets {
    values: Vec<String>,
    /// PKCE challenges: no string `mp` printed may hash to one (that string would be the
    /// verifier).
    challenges: Vec<String>,
}

impl Secrets {
    fn add(&mut self, value: impl Into<String>) {
        let value = value.into();
        assert!(value.len() >= 8, "too short to scan for: {value}");
        if !self.values.contains(&value) {
            self.values.push(value);
        }
    }

    /// The tokens currently stored for `account`.
    fn add_tokens(&mut self, home: &Home, account: &str) {
        let tokens = home.tokens(account);
        self.add(tokens["access_token"].as_str().unwrap());
        self.add(tokens["refresh_token"].as_str().unwrap());
    }

    fn add_visit(&mut self, visit: &crate::home::BrowserVisit) {
        self.add(visit.location_param("code"));
        self.challenges
            .push(visit.authorize_param("code_challenge"));
    }
}

/// Fails if any secret, or any PKCE verifier, appears in what `mp` printed in `home`.
#[track_caller]
fn assert_no_secrets(home: &Home, secrets: &Secrets) {
    let transcript = home.transcript();
    assert!(!transcript.is_empty());
    for secret in &secrets.values {
        assert!(
            !transcript.contains(secret.as_str()),
            "a secret was printed: {secret}\n{transcript}"
        );
    }
    // A verifier is 43 to 128 characters of [A-Za-z0-9-._~]; hash every such run.
    let is_unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    for candidate in transcript.split(|c: char| !is_unreserved(c)) {
        for start in 0..candidate.len().saturating_sub(42) {
            for end in (start + 43)..=candidate.len().min(start + 128) {
                let digest = sha2::Sha256::digest(&candidate.as_bytes()[start..end]);
                let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
                assert!(
                    !secrets.challenges.contains(&challenge),
                    "a PKCE verifier was printed: {}",
                    &candidate[start..end]
                );
            }
        }
    }
}

/// The scan's hash is PKCE's S256 (RFC 7636, Appendix B), so it would find a verifier.
#[test]
fn the_verifier_scan_recognises_a_verifier() {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let home = Home::new(None);
    home.run(&["-a", verifier, "session"], &[]);
    let secrets = Secrets {
        values: Vec::new(),
        challenges: vec!["E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()],
    };
    let scan = std::panic::catch_unwind(|| assert_no_secrets(&home, &secrets));
    assert!(scan.is_err(), "{}", home.transcript());
}

#[test]
fn browser_login_stores_tokens_and_refreshes_them() {
    let sandbox = TestSandbox::start();
    let home = Home::new(Some(sandbox.base_url()));
    let mut secrets = Secrets::default();

    let (run, visit) = home.browser_login(
        &[
            "-vv",
            "login",
            "--name",
            "web",
            "--project",
            "1",
            "--callback-port",
            "0",
        ],
        &[],
    );
    run.success();
    secrets.add_visit(&visit);
    assert_eq!(
        run.stdout,
        "Logged in as sandbox@example.com → web · Sandbox Shop\n"
    );
    // No browser could start; the URL was printed anyway.
    assert!(
        run.stderr.contains("Could not open a browser"),
        "{}",
        run.stderr
    );
    assert_eq!(visit.authorize_param("code_challenge_method"), "S256");
    assert!(
        visit
            .authorize_param("redirect_uri")
            .starts_with("http%3A%2F%2Flocalhost%3A"),
        "{visit:?}"
    );

    // Tokens: 0600 in a 0700 directory, with the client they belong to.
    assert_eq!(mode(&home.tokens_path("web")), 0o600);
    assert_eq!(mode(home.tokens_path("web").parent().unwrap()), 0o700);
    assert_eq!(mode(&home.state()), 0o700);
    let tokens = home.tokens("web");
    assert!(tokens["client_id"].is_string(), "{tokens}");
    secrets.add_tokens(&home, "web");
    let config = home.config();
    assert!(
        config.contains("[accounts.web]\ntype = \"oauth_browser\""),
        "{config}"
    );
    assert!(config.contains("account = \"web\""), "{config}");
    let counts = sandbox.sandbox.oauth_counts();
    assert_eq!((counts.code_exchanges, counts.refreshes), (1, 0));

    // `mp account token` prints the stored access token, raw.
    let run = home.run(&["account", "token"], &[]);
    run.success();
    assert_eq!(run.stdout.trim(), tokens["access_token"].as_str().unwrap());
    assert_eq!(sandbox.sandbox.oauth_counts().refreshes, 0);

    // An hour later (the stored expiry has passed): a command refreshes first.
    home.expire_tokens("web");
    let run = home.run(&["-vv", "-p", "1", "inspect", "--refresh", "events"], &[]);
    run.success();
    assert!(run.stdout.contains("Login"), "{run:?}");
    assert_eq!(sandbox.sandbox.oauth_counts().refreshes, 1);
    let refreshed = home.tokens("web");
    assert_ne!(refreshed["access_token"], tokens["access_token"]);
    assert_eq!(mode(&home.tokens_path("web")), 0o600);
    secrets.add_tokens(&home, "web");
    let run = home.run(&["account", "token", "web"], &[]);
    assert_eq!(
        run.stdout.trim(),
        refreshed["access_token"].as_str().unwrap()
    );

    // Mixpanel refuses the access token before its stored expiry: one refresh after the 401.
    assert!(sandbox.sandbox.expire_oauth_access_tokens() > 0);
    let run = home.run(&["-vv", "account", "test", "web"], &[]);
    run.success();
    assert_eq!(run.json()["ok"], true);
    assert_eq!(sandbox.sandbox.oauth_counts().refreshes, 2);
    secrets.add_tokens(&home, "web");

    // The refresh token is revoked: authentication exit code and a hint to log in again.
    assert!(sandbox.sandbox.revoke_all_refresh_tokens() > 0);
    home.expire_tokens("web");
    let run = home.run(&["-vv", "account", "token"], &[]);
    run.code(2);
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.contains("revoked"), "{}", run.stderr);
    assert!(
        run.stderr.contains("hint: log in again with `mp login"),
        "{}",
        run.stderr
    );
    let run = home.run(&["-vv", "-p", "1", "inspect", "--refresh", "events"], &[]);
    run.code(2);
    assert!(run.stderr.contains("mp login"), "{}", run.stderr);

    assert_no_secrets(&home, &secrets);
}

#[test]
fn eight_processes_with_one_expired_token_refresh_once() {
    let sandbox = TestSandbox::start();
    let home = Home::new(Some(sandbox.base_url()));
    let mut secrets = Secrets::default();
    secrets.add_visit(&browser_login(&home, "web", "1"));
    secrets.add_tokens(&home, "web");
    home.expire_tokens("web");
    let before = sandbox.sandbox.oauth_counts();

    let children: Vec<_> = (0..8)
        .map(|index| {
            let args: &[&str] = if index % 2 == 0 {
                &["-v", "account", "token"]
            } else {
                &["-v", "-p", "1", "inspect", "--refresh", "events"]
            };
            home.command(args, &[])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let runs: Vec<crate::support::Run> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap().into())
        .collect();
    for run in &runs {
        run.success();
    }
    // Exactly one request reached the token endpoint, and it was the refresh.
    let after = sandbox.sandbox.oauth_counts();
    assert_eq!(after.token_requests - before.token_requests, 1);
    assert_eq!(after.refreshes - before.refreshes, 1);
    let stored = home.tokens("web")["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for run in runs.iter().step_by(2) {
        assert_eq!(run.stdout.trim(), stored);
    }
    secrets.add_tokens(&home, "web");
    let mut transcript = home.transcript();
    for run in runs.iter().skip(1).step_by(2) {
        transcript.push_str(&run.stdout);
    }
    for run in &runs {
        transcript.push_str(&run.stderr);
    }
    for secret in &secrets.values {
        assert!(!transcript.contains(secret.as_str()), "{secret} printed");
    }
}

#[test]
fn no_browser_login_reads_the_pasted_redirect() {
    use std::io::{BufRead, BufReader, Write};
    let sandbox = TestSandbox::start();
    let home = Home::new(Some(sandbox.base_url()));
    let mut child = home
        .command(
            &[
                "login",
                "--no-browser",
                "--project",
                "2",
                "--callback-port",
                "0",
            ],
            &[],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no URL: {seen}");
        seen.push_str(&line);
        if line.contains("/oauth/authorize/") {
            break line.trim().to_owned();
        }
    };
    // The user opens the URL elsewhere and pastes where the browser was sent (the callback
    // itself is never reached).
    let (status, headers, _) = crate::home::http_get(&url);
    assert_eq!(status, 302);
    let location = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("location"))
        .unwrap()
        .1
        .clone();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{location}").unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{seen}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    // The account is named after the sandbox's organization.
    assert_eq!(
        stdout,
        "Logged in as sandbox@example.com → sandbox-org · Sandbox Lab\n"
    );
    assert!(!seen.contains("Could not open"), "{seen}");
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(!stdout.contains(code));
}

#[test]
fn a_refused_authorization_is_an_authentication_failure() {
    let sandbox = TestSandbox::start();
    sandbox.sandbox.set_oauth_authorization_denied(true);
    let home = Home::new(Some(sandbox.base_url()));
    let (run, visit) = home.browser_login(&["login", "--callback-port", "0"], &[]);
    assert_eq!(visit.callback_status, 400);
    run.code(2);
    assert!(run.stderr.contains("access_denied"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    // Nothing was written.
    assert!(!home.config_path().exists());
    assert!(!home.state().join("accounts").exists());
}

#[test]
fn service_account_and_token_logins() {
    let sandbox = TestSandbox::start();
    let home = Home::new(Some(sandbox.base_url()));
    let mut secrets = Secrets::default();
    let sa = [("MP_USERNAME", "sandbox"), ("MP_SECRET", "sandbox")];
    secrets.add("c2FuZGJveDpzYW5kYm94"); // base64("sandbox:sandbox"), the Basic header

    // Refused credentials: the authentication exit code, and nothing written.
    let wrong = [
        ("MP_USERNAME", "sandbox"),
        ("MP_SECRET", "wrong-secret-9d1e"),
    ];
    secrets.add("wrong-secret-9d1e");
    let run = home.run(
        &["-vv", "login", "--region", "us", "--project", "1"],
        &wrong,
    );
    run.code(2);
    assert!(run.stderr.contains("were refused"), "{}", run.stderr);
    let run = home.run(&["-vv", "login", "--project", "1"], &wrong);
    run.code(2);
    assert!(
        run.stderr.contains("not accepted in any region"),
        "{}",
        run.stderr
    );
    assert!(!home.config_path().exists());

    // Several projects, no terminal: a clear usage error rather than a hanging prompt.
    let run = home.run(&["login"], &sa);
    run.code(3);
    assert!(run.stderr.contains("--project ID"), "{}", run.stderr);
    assert!(!home.config_path().exists());

    // The environment decides the type; the region is probed; the name comes from /me.
    let run = home.run(&["-vv", "login", "--project", "2"], &sa);
    run.success();
    assert_eq!(
        run.stdout,
        "Logged in as sandbox@example.com → sandbox-org · Sandbox Lab\n"
    );
    assert!(run.stderr.contains("us: 200 ✓"), "{}", run.stderr);
    assert_eq!(mode(&home.config_path()), 0o600);

    // A static token, inline (MP_OAUTH_TOKEN) and through a named variable.
    let token = "mp-test-static-token-5a1f0c";
    sandbox.sandbox.register_bearer_token(token);
    secrets.add(token);
    let run = home.run(
        &[
            "login",
            "--name",
            "inline",
            "--region",
            "us",
            "--project",
            "1",
        ],
        &[("MP_OAUTH_TOKEN", token)],
    );
    run.success();
    let run = home.run(
        &[
            "-v",
            "login",
            "--name",
            "ci",
            "--token-env",
            "MY_CI_TOKEN",
            "--project",
            "1",
        ],
        &[("MY_CI_TOKEN", token)],
    );
    run.success();
    let config = home.config();
    assert!(config.contains("token_env = \"MY_CI_TOKEN\""), "{config}");
    assert_eq!(
        config.matches(token).count(),
        1,
        "only the inline account keeps it"
    );
    let run = home.run(&["account", "token", "ci"], &[("MY_CI_TOKEN", token)]);
    assert_eq!(run.stdout.trim(), token);
    let run = home.run(&["account", "token", "ci"], &[]);
    run.code(2);
    assert!(run.stderr.contains("MY_CI_TOKEN"), "{}", run.stderr);
    let run = home.run(&["account", "token", "sandbox-org"], &[]);
    run.code(1);
    assert!(run.stdout.is_empty());

    // Flag misuse is refused before any request.
    let run = home.run(&["login", "--no-browser"], &sa);
    run.code(3);
    let run = home.run(&["login", "--secret-stdin"], &[("MP_OAUTH_TOKEN", token)]);
    run.code(3);

    let run = home.run(
        &["account", "list", "-f", "json"],
        &[("MY_CI_TOKEN", token)],
    );
    run.success();
    let list = run.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|account| account["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sandbox-org", "inline", "ci"]);
    assert_eq!(list[2]["is_active"], true, "the last login is active");

    // `account test` exits non-zero when the credentials fail, and still prints its verdict.
    let run = home.run_with_stdin(
        &[
            "account",
            "add",
            "bad",
            "--type",
            "service_account",
            "--username",
            "sandbox",
            "--region",
            "us",
            "--secret-stdin",
        ],
        &[],
        "not-the-secret-4c2e\n",
    );
    run.success();
    secrets.add("not-the-secret-4c2e");
    let run = home.run(&["-vv", "account", "test", "bad"], &[]);
    run.code(2);
    assert_eq!(run.json()["ok"], false);
    let run = home.run(&["-vv", "account", "test", "sandbox-org"], &[]);
    run.success();
    assert_eq!(run.json()["accessible_project_count"], 2);

    assert_no_secrets(&home, &secrets);
}

#[test]
fn remove_deletes_the_state_and_bridges_carry_refreshable_tokens() {
    let sandbox = TestSandbox::start();
    let home = Home::new(Some(sandbox.base_url()));
    let mut secrets = Secrets::default();
    secrets.add_visit(&browser_login(&home, "web", "1"));
    secrets.add_tokens(&home, "web");

    // A bridge for another machine: its tokens carry the OAuth client, so it can refresh.
    let bridge_path = home.path().join("bridge").join("auth.json");
    let bridge = bridge_path.to_str().unwrap();
    home.run(
        &["account", "export-bridge", "--to", bridge, "--project", "2"],
        &[],
    )
    .success();
    assert_eq!(mode(&bridge_path), 0o600);
    let text = std::fs::read_to_string(&bridge_path).unwrap();
    assert!(text.contains("\"client_id\""), "{text}");

    let other = Home::new(Some(sandbox.base_url()));
    let run = other.run(&["session", "-f", "json"], &[("MP_AUTH_FILE", bridge)]);
    run.success();
    let session = run.json();
    assert_eq!(session["account"]["source"], "bridge");
    assert_eq!(session["project"]["id"], "2");
    // Expired in the bridge: the other machine refreshes with the bridge's client.
    let mut document: serde_json::Value = serde_json::from_str(&text).unwrap();
    document["tokens"]["expires_at"] = "2020-01-01T00:00:00+00:00".into();
    crate::home::write_private(&bridge_path, &document.to_string());
    let before = sandbox.sandbox.oauth_counts().refreshes;
    let run = other.run(
        &["-vv", "inspect", "--refresh", "events"],
        &[("MP_AUTH_FILE", bridge)],
    );
    run.success();
    assert_eq!(sandbox.sandbox.oauth_counts().refreshes, before + 1);
    secrets.add_tokens(&other, "web");
    let run = other.run(&["account", "remove-bridge"], &[("MP_AUTH_FILE", bridge)]);
    run.success();
    assert!(!bridge_path.exists());

    // Logout deletes the tokens; remove deletes the whole state directory.
    home.run(&["account", "logout", "web"], &[]).success();
    assert!(!home.tokens_path("web").exists());
    let run = home.run(&["account", "token", "web"], &[]);
    run.code(2);
    assert!(run.stderr.contains("not logged in"), "{}", run.stderr);
    home.run(&["account", "remove", "web"], &[]).success();
    assert!(!home.state().join("accounts").join("web").exists());
    assert!(!home.config().contains("[accounts.web]"));

    for home in [&home, &other] {
        assert_no_secrets(home, &secrets);
    }
}

#[test]
fn account_login_logs_a_saved_browser_account_in() {
    let sandbox = TestSandbox::start();
    let home = Home::new(Some(sandbox.base_url()));
    let mut secrets = Secrets::default();
    home.run(&["account", "add", "web", "--type", "oauth_browser"], &[])
        .success();
    let run = home.run(&["account", "token", "web"], &[]);
    run.code(2);
    assert!(run.stderr.contains("not logged in"), "{}", run.stderr);

    let (run, visit) = home.browser_login(
        &["-vv", "account", "login", "web", "--callback-port", "0"],
        &[],
    );
    run.success();
    secrets.add_visit(&visit);
    secrets.add_tokens(&home, "web");
    let result = run.json();
    assert_eq!(result["account_name"], "web");
    assert_eq!(result["user"]["email"], "sandbox@example.com");
    // Two projects and no terminal: the default project stays unset, and mp says how to set it.
    assert!(run.stderr.contains("mp project use"), "{}", run.stderr);
    let run = home.run(&["account", "token", "web"], &[]);
    run.success();
    assert_eq!(run.stdout.trim(), home.tokens("web")["access_token"]);

    // A service account cannot log in this way.
    home.run(
        &[
            "account",
            "add",
            "sa",
            "--type",
            "service_account",
            "--username",
            "u",
            "--region",
            "us",
        ],
        &[("MP_SECRET", "sa-secret-value")],
    )
    .success();
    let run = home.run(&["account", "login", "sa"], &[]);
    run.code(1);
    assert!(run.stderr.contains("only oauth_browser"), "{}", run.stderr);
    secrets.add("sa-secret-value");
    assert_no_secrets(&home, &secrets);
}
