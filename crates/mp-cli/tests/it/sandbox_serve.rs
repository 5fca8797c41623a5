//! `mp sandbox serve`: prints where it listens on stdout, serves until Ctrl-C; its
//! `--export-compression` and `--oauth-token-ttl` reach the emulator.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use base64::Engine as _;
use sha2::Digest as _;

use crate::process::interrupt;
use crate::support::{Mp, Run};

/// A running `mp sandbox serve` and the variables it printed; killed if a test fails
/// before stopping it.
struct Served {
    server: Option<Mp>,
    child: Option<Child>,
    variables: serde_json::Map<String, serde_json::Value>,
}

impl Served {
    /// Starts `mp --format jsonl sandbox serve` with a small dataset ending 2024-01-31 (three
    /// days) and `extra` flags, and waits for its first line.
    fn start(extra: &[&str]) -> Served {
        let mut args = vec![
            "--format",
            "jsonl",
            "sandbox",
            "serve",
            "--seed",
            "7",
            "--events",
            "500",
            "--days",
            "3",
            "--end",
            "2024-01-31",
        ];
        args.extend_from_slice(extra);
        let mut server = Mp::new(&args);
        let mut child = server
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        let variables = serde_json::from_str(&first_line)
            .unwrap_or_else(|error| panic!("{error}: {first_line:?}"));
        Served {
            server: Some(server),
            child: Some(child),
            variables,
        }
    }

    fn variable(&self, name: &str) -> String {
        self.variables[name].as_str().unwrap().to_owned()
    }

    /// `host:port` of the server.
    fn authority(&self) -> String {
        let base_url = self.variable("MP_API_BASE_URL");
        base_url.strip_prefix("http://").unwrap().to_owned()
    }

    /// Stops it with Ctrl-C and returns what it did.
    fn stop(mut self) -> (Mp, Run) {
        let child = self.child.take().unwrap();
        interrupt(child.id());
        let run = Run::from(child.wait_with_output().unwrap());
        (self.server.take().unwrap(), run)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP/1.1 answer: status, headers with lower-cased names, body (de-chunked, not decoded).
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {self:?}"))
    }
}

/// One request on a fresh connection that the server closes after answering. Raw on
/// purpose: the test must see the headers as sent, not as a client library decoded them.
fn exchange(authority: &str, head: &str, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(authority).unwrap();
    let request = format!(
        "{head}\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status: status.parse().unwrap(),
        headers,
        body,
    }
}

/// The data of a `Transfer-Encoding: chunked` body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&raw[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        raw = &raw[line_end + 2..];
        if size == 0 {
            return data;
        }
        data.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// An export that accepts gzip, as every client sends it: 20 events, over the 1400 bytes
/// below which the sandbox, like Mixpanel, never compresses.
fn export_accepting_gzip(served: &Served) -> Answer {
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        served.variable("MP_USERNAME"),
        served.variable("MP_SECRET")
    ));
    let answer = exchange(
        &served.authority(),
        &format!(
            "GET /api/2.0/export?from_date=2024-01-29&to_date=2024-01-31&limit=20&project_id=1 HTTP/1.1\r\n\
             Authorization: Basic {credentials}\r\nAccept-Encoding: gzip"
        ),
        b"",
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    answer
}

#[test]
fn serve_prints_the_environment_to_use_and_stops_on_ctrl_c() {
    let served = Served::start(&[]);
    let base_url = served.variable("MP_API_BASE_URL");
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

    // The printed variables are exactly what a client needs.
    let env: Vec<(&str, String)> = served
        .variables
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str().unwrap().to_owned()))
        .collect();
    let client = Mp::new(&["--format", "json", "inspect", "events"])
        .env(&env)
        .run();
    client.success();
    assert!(
        client
            .json()
            .as_array()
            .is_some_and(|names| !names.is_empty()),
        "{client:?}"
    );

    // By default an export is compressed as Mixpanel compresses it.
    let export = export_accepting_gzip(&served);
    assert_eq!(
        export.header("content-encoding"),
        Some("gzip"),
        "{export:?}"
    );
    assert_eq!(&export.body[..2], [0x1f, 0x8b], "not a gzip body");

    let (server, run) = served.stop();
    run.success();
    assert!(
        run.stderr.contains("press Ctrl-C to stop"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("compressed"),
        "the default needs no remark: {}",
        run.stderr
    );
    assert!(server.home_is_empty(), "serve wrote into HOME");
}

#[test]
fn export_compression_identity_sends_plain_lines_to_clients_that_accept_gzip() {
    let served = Served::start(&["--export-compression", "identity"]);
    let export = export_accepting_gzip(&served);
    assert_eq!(export.header("content-encoding"), None, "{export:?}");
    let text = String::from_utf8(export.body.clone()).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 20, "{text}");
    assert!(
        text.len() > 1400,
        "too small to be compressed anyway: {text}"
    );
    assert!(
        events.iter().all(|event| event["event"].is_string()),
        "{text}"
    );

    let (_, run) = served.stop();
    run.success();
    assert!(
        run.stderr.contains("exports never compressed"),
        "{}",
        run.stderr
    );
}

#[test]
fn export_compression_gzip_stored_is_still_gzip() {
    let served = Served::start(&["--export-compression", "gzip-stored"]);
    let export = export_accepting_gzip(&served);
    assert_eq!(
        export.header("content-encoding"),
        Some("gzip"),
        "{export:?}"
    );
    assert_eq!(&export.body[..2], [0x1f, 0x8b], "not a gzip body");
    served.stop().1.success();
}

#[test]
fn oauth_token_ttl_sets_expires_in() {
    let served = Served::start(&["--oauth-token-ttl", "90"]);
    let authority = served.authority();

    let registration = serde_json::json!({
        "redirect_uris": ["http://127.0.0.1:1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
    .to_string();
    let registered = exchange(
        &authority,
        "POST /oauth/mcp/register/ HTTP/1.1\r\nContent-Type: application/json",
        registration.as_bytes(),
    );
    assert_eq!(registered.status, 201, "{registered:?}");
    let client_id = registered.json()["client_id"].as_str().unwrap().to_owned();

    let verifier = "v".repeat(64);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect_uri = "http%3A%2F%2F127.0.0.1%3A1%2Fcallback";
    let authorized = exchange(
        &authority,
        &format!(
            "GET /oauth/authorize/?response_type=code&client_id={client_id}&redirect_uri={redirect_uri}\
             &state=s&code_challenge={challenge}&code_challenge_method=S256 HTTP/1.1"
        ),
        b"",
    );
    assert_eq!(authorized.status, 302, "{authorized:?}");
    let location = authorized.header("location").unwrap();
    let code = location
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("code="))
        .unwrap_or_else(|| panic!("no code in {location}"));

    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={redirect_uri}\
         &client_id={client_id}&code_verifier={verifier}"
    );
    let token = exchange(
        &authority,
        "POST /oauth/token/ HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
        form.as_bytes(),
    );
    assert_eq!(token.status, 200, "{token:?}");
    assert_eq!(token.json()["expires_in"], 90, "{token:?}");
    served.stop().1.success();
}

#[test]
fn unknown_export_compression_is_a_usage_error() {
    let run = Mp::new(&["sandbox", "serve", "--export-compression", "brotli"]).run();
    run.code(3);
    assert!(run.stderr.contains("brotli"), "{}", run.stderr);
    assert!(run.stderr.contains("identity"), "{}", run.stderr);
}
