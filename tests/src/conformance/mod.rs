//! The conformance runner: replays the wire vectors recorded from Mixpanel's official Python client
//! (mixpanel-headless 0.4.0) against our crates and reports, per capability, how many vectors pass.
//!
//! `tests/conformance/RUNNER-SPEC.md` is the normative description; this module follows it section by section:
//!
//! - loading (§2): `load.rs`, order-preserving JSON with exact integers, ids unique and sorted, `--filter` glob;
//! - the replay transport (§4) and the determinism environment (§10): `replay.rs`;
//! - request capture and comparison (§5, §6): `compare.rs`, including the `query_origin` rule below;
//! - results and errors (§7, §8): `adapters.rs` (the binding table) and `errors.rs`;
//! - the canonical form (§9): `canonical.rs`, checked against `canonical-selftest.json` by `selftest.rs`.
//!
//! # Deliberate differences from the Python runner
//!
//! - `query_origin`: the official client sends `mixpanel-headless`, we send [`mp_http::DEFAULT_QUERY_ORIGIN`]. The
//!   parameter must be present exactly where the recorded request has it, but its value is ours: where the recorded
//!   request (or the recorded error's `details_contain.request_params`) has `query_origin`, our value is replaced by
//!   the recorded one before comparing. A missing or extra `query_origin`, or another value leaking through, fails.
//! - Retries: each vector's client uses `RetryPolicy::mixpanel_headless_compatible(max_retries)` with
//!   `max_retries` from `call.client_options` (default 3). The official client retries only 429, never 5xx nor
//!   network errors; our production default also retries 5xx, 408 and transport failures of retry-safe requests,
//!   a deliberate improvement that the recorded vectors (one request per 5xx) cannot show.
//! - Determinism (§10): every vector gets a fresh [`mp_http::VirtualClock`] frozen at 2026-01-15T12:00:00Z, whose
//!   sleeps return at once and move it forward, and a fresh empty temporary home directory. Our library crates read
//!   neither the environment nor the home directory (they are handed everything explicitly), so there is no process
//!   environment to scrub, and nothing of ours generates UUIDs yet, so there is no UUID stream to install.
//! - Verdicts (§12.2): *wire* (every request matches, nothing extra, nothing left unserved, and success/failure
//!   agrees with the recording) and *full* (wire, and the result or error is canonically equal). A vector whose api,
//!   setup api, arguments or transport-error class we cannot bind is *unsupported*, never passed. A panic inside a
//!   vector fails that vector; it never stops the run.

mod adapters;
mod canonical;
mod compare;
mod errors;
mod load;
mod replay;
mod selftest;
mod wirestub;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use mp_http::{ClientBuilder, Endpoints, Region, RetryPolicy, Secret};

pub use self::canonical::{
    CanonicalError, canonical, canonical_error, canonical_interactions, format_float,
    interaction_key, parse_python_float,
};
pub use self::compare::{CapturedRequest, header_problems};
pub use self::load::{Vector, glob_matches, load_vectors};
pub use self::replay::{RECORD_EPOCH_UNIX_SECONDS, ReplayLog, ReplayTransport, frozen_clock};
pub use self::selftest::run_canonical_selftest;

use self::adapters::{Call, bind, execute};
use self::replay::transport_error_kind;

/// The library default of `max_retries` when `call.client_options` does not say (§3.5).
const DEFAULT_MAX_RETRIES: u32 = 3;

/// The longest a single vector may run in real time before it is failed; everything is in memory, so a vector that
/// takes this long is stuck.
const VECTOR_TIMEOUT: Duration = Duration::from_secs(60);

/// The vendored corpus: `tests/conformance/vectors` in the workspace.
pub fn default_vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance")
        .join("vectors")
}

/// The ratchet file: the per-capability pass counts the suite must not fall below.
pub fn default_ratchet_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance")
        .join("ratchet.json")
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The corpus directory (or any sub-folder of it); every `*.jsonl` below it is loaded.
    pub vectors: PathBuf,
    /// A shell-style glob over vector ids (`segmentation/*`).
    pub filter: Option<String>,
}

impl Default for RunOptions {
    /// The vendored corpus, no filter.
    fn default() -> RunOptions {
        RunOptions {
            vectors: default_vectors_dir(),
            filter: None,
        }
    }
}

/// How one vector ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not run: its api (or a setup api, an argument, a transport-error class) has no binding.
    Unsupported(String),
    /// Every request and the result or error match.
    PassedFull,
    /// Every request matches and success/failure agrees, but the result or error differs.
    PassedWireOnly(Vec<String>),
    /// A request, the request count, or success/failure differs (or the vector panicked).
    Failed(Vec<String>),
}

/// The outcome of one vector.
#[derive(Debug, Clone)]
pub struct VectorOutcome {
    /// The vector id.
    pub id: String,
    /// Its capability.
    pub capability: String,
    /// Its measured api.
    pub api: String,
    /// What happened.
    pub verdict: Verdict,
}

/// Counts for one capability (or api).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Vectors selected.
    pub total: usize,
    /// Vectors whose wire verdict passed (full passes included).
    pub passed_wire: usize,
    /// Vectors whose full verdict passed.
    pub passed_full: usize,
    /// Vectors that ran and failed the wire or the full verdict.
    pub failed: usize,
    /// Vectors not run.
    pub unsupported: usize,
}

impl Counts {
    fn add(&mut self, verdict: &Verdict) {
        self.total += 1;
        match verdict {
            Verdict::Unsupported(_) => self.unsupported += 1,
            Verdict::PassedFull => {
                self.passed_wire += 1;
                self.passed_full += 1;
            }
            Verdict::PassedWireOnly(_) => {
                self.passed_wire += 1;
                self.failed += 1;
            }
            Verdict::Failed(_) => self.failed += 1,
        }
    }

    fn to_json(self) -> Value {
        serde_json::json!({
            "total": self.total,
            "passed_wire": self.passed_wire,
            "passed_full": self.passed_full,
            "failed": self.failed,
            "unsupported": self.unsupported,
        })
    }
}

/// The result of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every selected vector, in id order.
    pub outcomes: Vec<VectorOutcome>,
}

impl Report {
    /// Vectors selected.
    pub fn total(&self) -> usize {
        self.outcomes.len()
    }

    /// Counts per capability, by name.
    pub fn by_capability(&self) -> BTreeMap<String, Counts> {
        let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
        for outcome in &self.outcomes {
            counts
                .entry(outcome.capability.clone())
                .or_default()
                .add(&outcome.verdict);
        }
        counts
    }

    /// Counts per measured api, by name.
    pub fn by_api(&self) -> BTreeMap<String, Counts> {
        let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
        for outcome in &self.outcomes {
            counts
                .entry(outcome.api.clone())
                .or_default()
                .add(&outcome.verdict);
        }
        counts
    }

    /// Vectors that ran and failed the wire or the full verdict, with their reasons. Each reason starts with
    /// `[wire]` or `[full]`: a vector with only `[full]` reasons passed its wire verdict.
    pub fn failures(&self) -> Vec<(&str, &[String])> {
        self.outcomes
            .iter()
            .filter_map(|outcome| match &outcome.verdict {
                Verdict::PassedWireOnly(reasons) | Verdict::Failed(reasons) => {
                    Some((outcome.id.as_str(), reasons.as_slice()))
                }
                Verdict::Unsupported(_) | Verdict::PassedFull => None,
            })
            .collect()
    }

    /// The JSON report: `{"total", "by_capability": {cap: {total, passed_wire, passed_full, failed, unsupported}},
    /// "failures": [{"id", "reasons"}]}`.
    pub fn to_json(&self) -> Value {
        let by_capability: Map<String, Value> = self
            .by_capability()
            .into_iter()
            .map(|(capability, counts)| (capability, counts.to_json()))
            .collect();
        let failures: Vec<Value> = self
            .failures()
            .into_iter()
            .map(|(id, reasons)| serde_json::json!({"id": id, "reasons": reasons}))
            .collect();
        serde_json::json!({
            "total": self.total(),
            "by_capability": by_capability,
            "failures": failures,
        })
    }

    /// A human summary: a table per capability, then per api, then each failure.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let table = |out: &mut String, title: &str, rows: BTreeMap<String, Counts>| {
            out.push_str(&format!(
                "{title:<48} {:>6} {:>6} {:>6} {:>6} {:>6}\n",
                "total", "wire", "full", "failed", "unsup"
            ));
            for (name, counts) in rows {
                out.push_str(&format!(
                    "{name:<48} {:>6} {:>6} {:>6} {:>6} {:>6}\n",
                    counts.total,
                    counts.passed_wire,
                    counts.passed_full,
                    counts.failed,
                    counts.unsupported
                ));
            }
            out.push('\n');
        };
        table(&mut out, "capability", self.by_capability());
        let supported_apis = self
            .by_api()
            .into_iter()
            .filter(|(_, counts)| counts.unsupported < counts.total)
            .collect();
        table(&mut out, "api (bound)", supported_apis);
        for (id, reasons) in self.failures() {
            out.push_str(&format!("FAIL {id}\n"));
            for reason in reasons {
                out.push_str(&format!("    {reason}\n"));
            }
        }
        out.push_str(&format!("{} vectors\n", self.total()));
        out
    }
}

/// Runs every selected vector. Fails only when the corpus cannot be run at all (unreadable, a duplicate id, no
/// vector matching the filter); vector failures are in the report.
pub fn run(options: &RunOptions) -> anyhow::Result<Report> {
    let vectors = load_vectors(&options.vectors, options.filter.as_deref())?;
    if vectors.is_empty() {
        bail!(
            "no vector under `{}` matches {}",
            options.vectors.display(),
            options
                .filter
                .as_deref()
                .map_or("anything".to_owned(), |filter| format!("`{filter}`"))
        );
    }
    let outcomes = vectors
        .iter()
        .map(|vector| VectorOutcome {
            id: vector.id.clone(),
            capability: vector.capability(),
            api: vector.api().to_owned(),
            verdict: run_vector(vector),
        })
        .collect();
    Ok(Report { outcomes })
}

/// `cargo xtask conformance …`: `args` are the arguments after `conformance`:
/// `[--vectors DIR] [--filter GLOB] [--report json|text]`. Prints the report to stdout and returns the exit code:
/// 0 when every vector that ran passed both verdicts, 1 otherwise. A corpus that cannot be run is an `Err`.
pub fn main_from_args(args: Vec<String>) -> anyhow::Result<i32> {
    let mut options = RunOptions::default();
    let mut text_report = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .with_context(|| format!("`{name}` needs a value"))
        };
        match arg.as_str() {
            "--vectors" => options.vectors = PathBuf::from(value("--vectors")?),
            "--filter" => options.filter = Some(value("--filter")?),
            "--report" => match value("--report")?.as_str() {
                "json" => text_report = false,
                "text" => text_report = true,
                other => bail!("`--report` is `json` or `text`, not `{other}`"),
            },
            "-h" | "--help" => {
                println!(
                    "usage: cargo xtask conformance [--vectors DIR] [--filter GLOB] [--report json|text]"
                );
                return Ok(0);
            }
            other => bail!(
                "unexpected argument `{other}` (usage: [--vectors DIR] [--filter GLOB] [--report json|text])"
            ),
        }
    }
    let report = run(&options)?;
    if text_report {
        print!("{}", report.to_text());
    } else {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    }
    Ok(if report.failures().is_empty() { 0 } else { 1 })
}

/// Everything one vector's calls share (§3.6): one transport and the current client (rebuilt by setup calls such as
/// `use`), whose frozen clock lives inside it.
#[derive(Debug)]
pub(crate) struct VectorContext {
    pub(crate) transport: Arc<ReplayTransport>,
    pub(crate) client: Option<mp_http::Client>,
    /// The recording stubs passed for `callback`-tagged arguments (§8.3).
    pub(crate) callbacks: CallbackLog,
    /// State an adapter keeps between the setup calls and the measured call of one vector (the caches the official
    /// client keeps on its client object, such as the resolved workspace), one value per type.
    pub(crate) adapter_state: AdapterState,
    /// A fresh empty home for whatever a port writes below it (token stores, caches), held for the vector's
    /// lifetime and deleted with it.
    pub(crate) _home: tempfile::TempDir,
}

/// A vector bound and ready to run.
struct Prepared {
    setup: Vec<Call>,
    measured: Call,
    interactions: Vec<Value>,
    expected_result: Option<Value>,
    expected_error: Option<Value>,
    /// `expect.callback_calls`: per callback name, the expected list of calls.
    expected_callbacks: Map<String, Value>,
    diff_interactions: bool,
}

/// The stubs the runner passes for `callback`-tagged arguments (RUNNER-SPEC.md §8.3). A stub records every
/// invocation as the list of its positional arguments (already encoded with the result rules) and returns nothing.
/// Clones share the same log, so a stub can move into the code under test.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallbackLog {
    calls: Arc<std::sync::Mutex<BTreeMap<String, Vec<Value>>>>,
}

impl CallbackLog {
    /// Registers the stub passed for the argument tagged `{"$type": "callback", "name": name}` and returns a
    /// recorder for it: call it with the positional arguments of each invocation.
    pub(crate) fn stub(&self, name: &str) -> impl FnMut(Vec<Value>) + Send + Sync + 'static {
        self.lock().entry(name.to_owned()).or_default();
        let log = self.clone();
        let name = name.to_owned();
        move |arguments| {
            log.lock()
                .entry(name.clone())
                .or_default()
                .push(Value::Array(arguments));
        }
    }

    /// Every registered stub with its calls.
    fn snapshot(&self) -> BTreeMap<String, Vec<Value>> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Value>>> {
        // A poisoned lock only means code under test panicked while recording; the log is still plain data.
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Per-vector adapter state, one value per type, created on first use and dropped with the vector.
#[derive(Debug, Default)]
pub(crate) struct AdapterState {
    values: std::collections::HashMap<std::any::TypeId, Box<dyn std::any::Any + Send>>,
}

impl AdapterState {
    /// The vector's value of type `T`, created with `T::default()` on first use.
    pub(crate) fn get_or_default<T: Default + Send + 'static>(&mut self) -> &mut T {
        self.values
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut::<T>()
            .expect("the value stored under a type's id has that type")
    }
}

/// Compares the stubs' logs with `expect.callback_calls` (§8.3): each listed name must have a stub whose log is
/// canonically equal to the listed calls; a stub whose name is not listed must not have been called.
fn callback_problems(
    expected: &Map<String, Value>,
    recorded: &BTreeMap<String, Vec<Value>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, expected_calls) in expected {
        match recorded.get(name) {
            None => problems.push(format!(
                "[full] callback `{name}`: no stub was passed for it"
            )),
            Some(calls) => {
                let actual = canonical(&Value::Array(calls.clone()));
                let wanted = canonical(expected_calls);
                if actual != wanted || wanted.is_err() {
                    problems.push(format!(
                        "[full] callback `{name}` calls differ: expected {}, got {}",
                        describe(wanted),
                        describe(actual)
                    ));
                }
            }
        }
    }
    for (name, calls) in recorded {
        if !expected.contains_key(name) && !calls.is_empty() {
            problems.push(format!(
                "[full] callback `{name}` was called {} times, and no call was expected",
                calls.len()
            ));
        }
    }
    problems
}

fn run_vector(vector: &Vector) -> Verdict {
    let prepared = match prepare(vector) {
        Ok(prepared) => prepared,
        Err(reason) => return Verdict::Unsupported(reason),
    };
    let session = vector.json.pointer("/call/session").cloned();
    let client_options = vector.json.pointer("/call/client_options").cloned();
    failing_on_panic(|| execute_vector(prepared, session.as_ref(), client_options.as_ref()))
}

/// Runs `run`, turning a panic (in the code under test, or in the runner) into a failure of this vector only.
fn failing_on_panic(run: impl FnOnce() -> Verdict) -> Verdict {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(verdict) => verdict,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Verdict::Failed(vec![format!("[wire] panicked: {message}")])
        }
    }
}

/// Binds every call of the vector; any `Err` makes it unsupported.
fn prepare(vector: &Vector) -> Result<Prepared, String> {
    let diff_interactions = match vector.kind() {
        "wire" => true,
        "parse" => false,
        other => return Err(format!("vector kind `{other}` is out of scope")),
    };
    let call = vector.json.get("call").ok_or("the vector has no `call`")?;
    let input = |value: Option<&Value>| match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => Err(format!("`input` must be an object, got {other}")),
    };
    let mut setup = Vec::new();
    if let Some(Value::Array(steps)) = call.get("setup") {
        for step in steps {
            let api = step.get("api").and_then(Value::as_str).unwrap_or_default();
            setup.push(
                bind(api, &input(step.get("input"))?)
                    .map_err(|reason| format!("setup: {reason}"))?,
            );
        }
    }
    let measured = bind(vector.api(), &input(call.get("input"))?)?;
    let needs_client = measured.needs_client() || setup.iter().any(Call::needs_client);
    if needs_client && call.get("session").is_none_or(Value::is_null) {
        return Err(format!(
            "`{}` needs a session and the vector has none",
            vector.api()
        ));
    }
    let expect = vector
        .json
        .get("expect")
        .ok_or("the vector has no `expect`")?;
    let expected_callbacks = match expect.get("callback_calls") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(calls)) => calls.clone(),
        Some(other) => return Err(format!("`callback_calls` must be an object, got {other}")),
    };
    let interactions = match expect.get("interactions") {
        Some(Value::Array(interactions)) => interactions.clone(),
        None if !diff_interactions => Vec::new(),
        _ => return Err("the vector has no `expect.interactions` list".to_owned()),
    };
    for interaction in &interactions {
        if let Some(class) = interaction
            .pointer("/response/transport_error")
            .and_then(Value::as_str)
            && transport_error_kind(class).is_none()
        {
            return Err(format!("transport error class `{class}` cannot be raised"));
        }
    }
    if let Some(session) = call.get("session").filter(|session| !session.is_null()) {
        // Decode the session now, so an unusable one is "unsupported" rather than a failure.
        session_parts(session)?;
    }
    Ok(Prepared {
        setup,
        measured,
        interactions,
        expected_result: expect.get("result").cloned(),
        expected_error: expect.get("error").cloned(),
        expected_callbacks,
        diff_interactions,
    })
}

/// What a session decodes to.
struct SessionParts {
    region: Region,
    project_id: String,
    workspace_id: Option<u64>,
    headers: Vec<(String, String)>,
    authenticator: Arc<dyn mp_http::Authenticator>,
}

fn session_parts(session: &Value) -> Result<SessionParts, String> {
    let text = |key: &str| session.get(key).and_then(Value::as_str);
    let region: Region = text("region")
        .ok_or("the session has no region")?
        .parse()
        .map_err(|_| format!("unknown region in session {session}"))?;
    let project_id = match session.get("project_id") {
        Some(Value::String(project_id)) => project_id.clone(),
        Some(Value::Number(project_id)) => project_id.to_string(),
        _ => return Err("the session has no project_id".to_owned()),
    };
    let workspace_id = match session.get("workspace_id") {
        None | Some(Value::Null) => None,
        Some(Value::Number(id)) => Some(id.as_u64().ok_or("workspace_id is not an integer")?),
        Some(Value::String(id)) => Some(id.parse().map_err(|_| "workspace_id is not an integer")?),
        Some(other) => return Err(format!("workspace_id {other} is not an integer")),
    };
    let headers = match session.get("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(headers)) => headers
            .iter()
            .map(|(name, value)| {
                Ok((
                    name.clone(),
                    value
                        .as_str()
                        .ok_or("header values must be strings")?
                        .to_owned(),
                ))
            })
            .collect::<Result<_, String>>()?,
        Some(other) => return Err(format!("session headers {other} are not an object")),
    };
    let authenticator: Arc<dyn mp_http::Authenticator> = match text("type") {
        Some("service_account") => Arc::new(mp_auth::ServiceAccountAuth::new(
            text("username").ok_or("service account without username")?,
            Secret::new(
                text("secret")
                    .ok_or("service account without secret")?
                    .to_owned(),
            ),
        )),
        Some("oauth_token" | "oauth_browser") => {
            Arc::new(mp_auth::BearerTokenAuth::new(Secret::new(
                text("token")
                    .ok_or("OAuth session without a token")?
                    .to_owned(),
            )))
        }
        other => return Err(format!("session type {other:?} is not bound")),
    };
    Ok(SessionParts {
        region,
        project_id,
        workspace_id,
        headers,
        authenticator,
    })
}

fn build_client(
    session: &Value,
    client_options: Option<&Value>,
    transport: Arc<ReplayTransport>,
) -> Result<mp_http::Client, String> {
    let parts = session_parts(session)?;
    let max_retries = client_options
        .and_then(|options| options.get("max_retries"))
        .and_then(Value::as_u64)
        .map_or(DEFAULT_MAX_RETRIES, |n| {
            u32::try_from(n).unwrap_or(u32::MAX)
        });
    let mut builder = ClientBuilder::new(Endpoints::regional(parts.region))
        .with_transport(transport)
        .with_clock(Arc::new(frozen_clock()))
        .with_authenticator(parts.authenticator)
        .with_project_id(parts.project_id)
        .with_workspace_id(parts.workspace_id)
        .with_retry_policy(RetryPolicy::mixpanel_headless_compatible(max_retries));
    for (name, value) in parts.headers {
        builder = builder.with_header(name, value);
    }
    builder
        .build()
        .map_err(|error| format!("building the client: {error}"))
}

fn execute_vector(
    prepared: Prepared,
    session: Option<&Value>,
    client_options: Option<&Value>,
) -> Verdict {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return Verdict::Failed(vec![format!("[wire] runner: no tokio runtime: {error}")]);
        }
    };
    let home = match tempfile::tempdir() {
        Ok(home) => home,
        Err(error) => {
            return Verdict::Failed(vec![format!("[wire] runner: no temporary home: {error}")]);
        }
    };
    let transport = ReplayTransport::new(prepared.interactions.clone());
    let client = match session.filter(|session| !session.is_null()) {
        None => None,
        Some(session) => match build_client(session, client_options, Arc::clone(&transport)) {
            Ok(client) => Some(client),
            Err(reason) => return Verdict::Failed(vec![format!("[wire] {reason}")]),
        },
    };
    let mut context = VectorContext {
        transport: Arc::clone(&transport),
        client,
        callbacks: CallbackLog::default(),
        adapter_state: AdapterState::default(),
        _home: home,
    };
    let setup = prepared.setup;
    let measured = prepared.measured;
    let outcome = runtime.block_on(async {
        let calls = async {
            for call in setup {
                // Setup results are ignored and their errors swallowed (§3.6).
                let _ = adapters::execute(call, &mut context).await;
            }
            execute(measured, &mut context).await
        };
        tokio::time::timeout(VECTOR_TIMEOUT, calls).await
    });
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(_) => {
            return Verdict::Failed(vec![format!(
                "[wire] did not finish within {}s",
                VECTOR_TIMEOUT.as_secs()
            )]);
        }
    };
    let log = transport.log();
    let mut wire = Vec::new();
    if prepared.diff_interactions {
        for (index, captured) in &log.served {
            let recorded = prepared.interactions[*index]
                .get("request")
                .unwrap_or(&Value::Null);
            wire.extend(
                compare::request_problems(*index, recorded, captured)
                    .into_iter()
                    .map(|problem| format!("[wire] {problem}")),
            );
        }
        for captured in &log.extra {
            wire.push(format!("[wire] extra request: {}", redacted(captured)));
        }
        if !log.never_served.is_empty() {
            wire.push(format!("[wire] never fired: {:?}", log.never_served));
        }
    }
    let mut full = Vec::new();
    match (&prepared.expected_error, outcome) {
        (Some(expected), Ok(value)) => {
            wire.push(format!(
                "[wire] expected error {}, got a value: {}",
                canonical_error(expected).unwrap_or_default(),
                canonical(&value).unwrap_or_default()
            ));
        }
        (Some(expected), Err(actual)) => {
            let actual = substitute_error_query_origin(expected, actual);
            let expected_text = canonical_error(expected);
            let actual_text = canonical_error(&actual);
            if expected_text != actual_text || expected_text.is_err() {
                full.push(format!(
                    "[full] error differs: expected {}, got {}",
                    describe(expected_text),
                    describe(actual_text)
                ));
            }
        }
        (None, Err(actual)) => {
            wire.push(format!(
                "[wire] unexpected error: {}",
                canonical_error(&actual).unwrap_or_default()
            ));
        }
        (None, Ok(value)) => {
            let expected = prepared.expected_result.unwrap_or(Value::Null);
            let expected_text = canonical(&expected);
            let actual_text = canonical(&value);
            if expected_text != actual_text || expected_text.is_err() {
                full.push(format!(
                    "[full] result differs: expected {}, got {}",
                    describe(expected_text),
                    describe(actual_text)
                ));
            }
        }
    }
    full.extend(callback_problems(
        &prepared.expected_callbacks,
        &context.callbacks.snapshot(),
    ));
    match (wire.is_empty(), full.is_empty()) {
        (true, true) => Verdict::PassedFull,
        (true, false) => Verdict::PassedWireOnly(full),
        (false, _) => {
            wire.extend(full);
            Verdict::Failed(wire)
        }
    }
}

/// The `query_origin` rule applied to error details: where the recorded `details_contain.request_params` has
/// `query_origin`, our value is replaced by the recorded one.
fn substitute_error_query_origin(expected: &Value, mut actual: Value) -> Value {
    let recorded = expected.pointer("/details_contain/request_params");
    let ours = actual.pointer_mut("/details_contain/request_params");
    compare::substitute_query_origin(recorded, ours);
    actual
}

fn describe(text: Result<String, CanonicalError>) -> String {
    text.unwrap_or_else(|error| format!("<{error}>"))
}

/// A captured request for a failure message, without credentials.
fn redacted(captured: &CapturedRequest) -> String {
    let mut json = captured.to_json();
    if let Some(Value::Object(headers)) = json.get_mut("headers") {
        for name in ["authorization", "cookie", "proxy-authorization"] {
            if let Some(value) = headers.get_mut(name) {
                *value = Value::from("REDACTED");
            }
        }
    }
    canonical(&json).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_fails_the_vector_instead_of_the_run() {
        let verdict = failing_on_panic(|| panic!("boom in the code under test"));
        assert_eq!(
            verdict,
            Verdict::Failed(vec![
                "[wire] panicked: boom in the code under test".to_owned()
            ])
        );
        let verdict = failing_on_panic(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async { panic!("boom in {}", "a future") })
        });
        assert_eq!(
            verdict,
            Verdict::Failed(vec!["[wire] panicked: boom in a future".to_owned()])
        );
    }

    #[test]
    fn reports_have_the_documented_shape() {
        let report = Report {
            outcomes: vec![
                VectorOutcome {
                    id: "discovery/a/1".to_owned(),
                    capability: "discovery".to_owned(),
                    api: "a".to_owned(),
                    verdict: Verdict::PassedFull,
                },
                VectorOutcome {
                    id: "discovery/a/2".to_owned(),
                    capability: "discovery".to_owned(),
                    api: "a".to_owned(),
                    verdict: Verdict::PassedWireOnly(vec!["[full] result differs".to_owned()]),
                },
                VectorOutcome {
                    id: "entities/b/1".to_owned(),
                    capability: "entities".to_owned(),
                    api: "b".to_owned(),
                    verdict: Verdict::Unsupported("no binding".to_owned()),
                },
                VectorOutcome {
                    id: "entities/b/2".to_owned(),
                    capability: "entities".to_owned(),
                    api: "b".to_owned(),
                    verdict: Verdict::Failed(vec!["[wire] never fired: [0]".to_owned()]),
                },
            ],
        };
        assert_eq!(
            report.to_json(),
            serde_json::json!({
                "total": 4,
                "by_capability": {
                    "discovery": {"total": 2, "passed_wire": 2, "passed_full": 1, "failed": 1, "unsupported": 0},
                    "entities": {"total": 2, "passed_wire": 0, "passed_full": 0, "failed": 1, "unsupported": 1}
                },
                "failures": [
                    {"id": "discovery/a/2", "reasons": ["[full] result differs"]},
                    {"id": "entities/b/2", "reasons": ["[wire] never fired: [0]"]}
                ]
            })
        );
    }
}
