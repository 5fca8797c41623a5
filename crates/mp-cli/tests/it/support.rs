//! A sandbox on loopback and a runner for the real `mp` binary.
//!
//! Every `mp` process starts with an empty environment plus a temporary `HOME`, so
//! nothing on the machine (real credentials, a real config file) leaks into a test
//! and no test can write outside its temporary directory.

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};

use mp_sandbox::{Sandbox, SandboxOptions};

/// A sandbox served by its own runtime, while the test thread runs `mp` processes.
pub struct TestSandbox {
    // Declared before the runtime so that it shuts down first.
    pub sandbox: Sandbox,
    _runtime: tokio::runtime::Runtime,
}

impl TestSandbox {
    /// A sandbox with a small dataset pinned to fixed dates, so runs are reproducible.
    pub fn start() -> TestSandbox {
        let mut options = SandboxOptions::new();
        options.events = 2_000;
        options.days = 7;
        options.end = Some("2024-01-31".to_owned());
        TestSandbox::with_options(options)
    }

    pub fn with_options(options: SandboxOptions) -> TestSandbox {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = runtime.block_on(Sandbox::start(options)).unwrap();
        TestSandbox {
            sandbox,
            _runtime: runtime,
        }
    }

    pub fn base_url(&self) -> String {
        self.sandbox.base_url()
    }

    /// The event names of the dataset, sorted.
    pub fn event_names(&self) -> BTreeSet<String> {
        self.sandbox
            .dataset()
            .event_names()
            .iter()
            .map(|name| name.to_string())
            .collect()
    }

    /// The environment of a user whose service account is the sandbox's.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MP_API_BASE_URL", self.base_url()),
            ("MP_USERNAME", "sandbox".to_owned()),
            ("MP_SECRET", "sandbox".to_owned()),
            ("MP_PROJECT_ID", "1".to_owned()),
            ("MP_REGION", "us".to_owned()),
        ]
    }
}

/// An `mp` command with an empty environment and a temporary home.
pub struct Mp {
    command: Command,
    _home: tempfile::TempDir,
}

impl Mp {
    pub fn new(args: &[&str]) -> Mp {
        let home = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_mp"));
        command
            .args(args)
            .env_clear()
            .env("HOME", home.path())
            .stdin(Stdio::null());
        Mp {
            command,
            _home: home,
        }
    }

    pub fn env(mut self, pairs: &[(&str, String)]) -> Mp {
        for (name, value) in pairs {
            self.command.env(name, value);
        }
        self
    }

    pub fn command(&mut self) -> &mut Command {
        &mut self.command
    }

    /// Runs to completion with stdout and stderr captured.
    pub fn run(mut self) -> Run {
        let output = self.command.output().unwrap();
        Run {
            home: Some(self._home),
            ..Run::from(output)
        }
    }
}

/// What a finished `mp` process did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The process's home, kept until the test has looked at it.
    pub home: Option<tempfile::TempDir>,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
            home: None,
        }
    }
}

impl Run {
    #[track_caller]
    pub fn success(&self) -> &Run {
        assert_eq!(self.code, Some(0), "mp failed: {self:#?}");
        self
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "unexpected exit code: {self:#?}");
        self
    }

    /// Parses stdout as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:#?}"))
    }
}

impl Run {
    /// Returns true if and only if the process left its home directory empty.
    pub fn home_is_empty(&self) -> bool {
        let home = self
            .home
            .as_ref()
            .expect("a run from `Mp::run` keeps its home");
        std::fs::read_dir(home.path()).unwrap().next().is_none()
    }
}

impl Mp {
    /// Returns true if and only if this process's home directory is still empty.
    pub fn home_is_empty(&self) -> bool {
        std::fs::read_dir(self._home.path())
            .unwrap()
            .next()
            .is_none()
    }
}

impl Mp {
    /// Writes `~/.mp/config.toml` in this process's home, private as mp requires.
    pub fn with_config(self, text: &str) -> Mp {
        use std::os::unix::fs::PermissionsExt;
        let dir = self._home.path().join(".mp");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        self
    }
}
