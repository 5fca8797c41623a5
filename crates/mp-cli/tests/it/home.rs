//! A temporary home shared by several `mp` runs (login, then use the account), a test
//! "browser" that follows the authorize redirect, and a transcript of everything `mp`
//! printed, for the secret scan.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::Run;

/// A program that does not exist: `mp login` then cannot open a browser (and says so), and a
/// test machine's real browser is never started.
pub const NO_BROWSER: &str = "/nonexistent/mp-test-browser";

/// One user's home directory, reused across `mp` processes.
pub struct Home {
    dir: tempfile::TempDir,
    base_url: Option<String>,
    /// Everything `mp` printed in this home, except the stdout of commands whose job is to
    /// print a token (`mp account token`).
    transcript: Arc<Mutex<String>>,
}

impl Home {
    /// A home whose `mp` talks to the sandbox at `base_url` (`MP_API_BASE_URL`).
    pub fn new(base_url: Option<String>) -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
            base_url,
            transcript: Arc::default(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join(".mp")
    }

    pub fn config_path(&self) -> PathBuf {
        self.state().join("config.toml")
    }

    pub fn tokens_path(&self, account: &str) -> PathBuf {
        self.state()
            .join("accounts")
            .join(account)
            .join("tokens.json")
    }

    /// Writes `~/.mp/config.toml`, private as mp requires.
    pub fn write_config(&self, text: &str) {
        write_private(&self.config_path(), text);
    }

    pub fn config(&self) -> String {
        std::fs::read_to_string(self.config_path()).unwrap()
    }

    /// The stored tokens of `account` as JSON.
    pub fn tokens(&self, account: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(self.tokens_path(account)).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Makes the stored access token of `account` look expired (as if an hour had passed),
    /// keeping the file private.
    pub fn expire_tokens(&self, account: &str) {
        let mut tokens = self.tokens(account);
        tokens["expires_at"] = "2020-01-01T00:00:00+00:00".into();
        write_private(&self.tokens_path(account), &tokens.to_string());
    }

    /// An `mp` command in this home: empty environment plus `HOME`, the sandbox's base URL and
    /// a browser that cannot start, and `pairs`.
    pub fn command(&self, args: &[&str], pairs: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mp"));
        command
            .args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("BROWSER", NO_BROWSER)
            .current_dir(self.path())
            .stdin(Stdio::null());
        if let Some(base_url) = &self.base_url {
            command.env("MP_API_BASE_URL", base_url);
        }
        for (name, value) in pairs {
            command.env(name, value);
        }
        command
    }

    /// Runs `mp` to completion and records what it printed.
    pub fn run(&self, args: &[&str], pairs: &[(&str, &str)]) -> Run {
        let output = self.command(args, pairs).output().unwrap();
        let run = Run::from(output);
        self.record(args, &run);
        run
    }

    /// Runs `mp` with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], pairs: &[(&str, &str)], input: &str) -> Run {
        let mut child = self
            .command(args, pairs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let run = Run::from(child.wait_with_output().unwrap());
        self.record(args, &run);
        run
    }

    fn record(&self, args: &[&str], run: &Run) {
        let mut transcript = self.transcript.lock().unwrap();
        transcript.push_str(&format!("$ mp {}\n", args.join(" ")));
        let prints_a_token = args.windows(2).any(|pair| pair == ["account", "token"]);
        if !prints_a_token {
            transcript.push_str(&run.stdout);
        }
        transcript.push_str(&run.stderr);
    }

    /// Everything recorded so far.
    pub fn transcript(&self) -> String {
        self.transcript.lock().unwrap().clone()
    }

    /// Runs a browser login (`mp login …` or `mp account login …`) with the test as the
    /// browser: waits for the authorize URL on stderr, fetches it from the sandbox, follows the
    /// redirect to mp's loopback callback. Returns the run and the authorize URL.
    pub fn browser_login(&self, args: &[&str], pairs: &[(&str, &str)]) -> (Run, BrowserVisit) {
        let mut child = self
            .command(args, pairs)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (url_tx, url_rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        // Reads stderr to the end (so mp never blocks on a full pipe), handing the authorize URL
        // over as soon as it appears.
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap();
                if line.contains("/oauth/authorize/") {
                    let _ = url_tx.send(line.trim().to_owned());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let visit = match url_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => visit(&url),
            Err(_) => {
                kill(&mut child);
                panic!("no authorize URL: {}", reader.join().unwrap());
            }
        };
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let status = child.wait().unwrap();
        let run = Run {
            code: status.code(),
            stdout,
            stderr: reader.join().unwrap(),
            home: None,
        };
        self.record(args, &run);
        (run, visit)
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// What the test browser saw.
#[derive(Debug)]
pub struct BrowserVisit {
    pub authorize_url: String,
    /// The redirect (`http://localhost:PORT/callback?code=…&state=…`).
    pub location: String,
    /// The status of mp's callback page.
    pub callback_status: u16,
}

impl BrowserVisit {
    /// A query parameter of the authorize URL.
    pub fn authorize_param(&self, name: &str) -> String {
        query_param(&self.authorize_url, name)
    }

    /// A query parameter of the redirect.
    pub fn location_param(&self, name: &str) -> String {
        query_param(&self.location, name)
    }
}

fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no `{name}` in {url}"))
        .to_owned()
}

/// The browser: GET the authorize URL (the sandbox approves at once with a 302), then GET the
/// redirect on loopback.
fn visit(authorize_url: &str) -> BrowserVisit {
    let (status, headers, _) = http_get(authorize_url);
    assert_eq!(status, 302, "authorize: {headers:?}");
    let location = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("location"))
        .map(|(_, value)| value.clone())
        .expect("a Location header");
    let (callback_status, _, body) = http_get(&location.replace("//localhost:", "//127.0.0.1:"));
    assert!(body.contains("<html"), "{body}");
    BrowserVisit {
        authorize_url: authorize_url.to_owned(),
        location,
        callback_status,
    }
}

/// A minimal HTTP/1.1 GET over loopback: status, headers, body.
pub fn http_get(url: &str) -> (u16, Vec<(String, String)>, String) {
    let rest = url.strip_prefix("http://").expect("a loopback http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

/// Writes a file only its owner may read, creating private directories.
pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The permission bits of a file or directory.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
