//! The server: options, start-up, the accept loop, connections, and shutdown.
//!
//! # Tasks and channels
//!
//! ```text
//!  Sandbox ──(watch: shutdown)──► accept loop ──spawns──► connection tasks (JoinSet)
//!     │                                 │                      │ each holds a clone of the
//!     └── Arc<Shared> ──────────────────┴──────────────────────┘ shutdown receiver
//! ```
//!
//! - `Sandbox::shutdown_sender` (a `watch::Sender<bool>`) is the only sender. It sends `true`
//!   on [`Sandbox::shutdown`] and on `Drop`; dropping it has the same effect, because every
//!   receiver treats a closed channel as "stop".
//! - The accept loop receives it: it stops accepting, then waits for its connection tasks
//!   (at most [`SHUTDOWN_GRACE`]) and aborts whatever is left.
//! - Each connection task receives it too: it asks hyper for a graceful shutdown, which
//!   finishes the response in flight and then closes the connection.
//!
//! Dropping a `Sandbox` therefore never blocks: it only sends the signal, and the tasks wind
//! down in the background of the runtime. [`Sandbox::shutdown`] does the same and waits.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::Error;
use crate::account::BearerTokens;
use crate::civil;
use crate::dataset::{Dataset, DatasetConfig};
use crate::export::{ExportCompression, ResetSwitch};
use crate::faults::{FaultControl, Faults};
use crate::log::RequestLog;
use crate::oauth::{OAuthCounts, OAuthServer};
use crate::rng::derive;
use crate::routes::{self, ConnectionContext};

/// How long [`Sandbox::shutdown`] lets in-flight responses finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How to run a sandbox: where to listen, which dataset to generate, which faults to inject.
///
/// Every field is public so that `mp sandbox serve` can fill it from its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOptions {
    /// The loopback port to listen on; 0 picks a free one.
    pub port: u16,
    /// The seed of the dataset.
    pub seed: u64,
    /// The number of events of project 1 over the window (project 2 has a tenth of it).
    pub events: u64,
    /// The number of days in the window.
    pub days: u32,
    /// The last day of the window as `YYYY-MM-DD`; `None` means yesterday (UTC), so that
    /// "last 7 days" queries find data.
    pub end: Option<String>,
    /// Faults to inject from the first request on.
    pub faults: Faults,
    /// Profiles per `/engage` page. Mixpanel's is 1000; tests lower it to page a small
    /// dataset.
    pub engage_page_size: u32,
    /// How long the OAuth access tokens it issues stay valid (`expires_in`). Tests set it
    /// short; [`Sandbox::set_oauth_access_token_ttl`] changes it at runtime.
    pub oauth_access_token_ttl: Duration,
    /// How export answers requests that accept gzip: real gzip (the default), gzip around
    /// stored blocks, or never compressed. Benchmarks choose one of the last two so that the
    /// sandbox's deflate is not what they measure.
    pub export_compression: ExportCompression,
}

impl SandboxOptions {
    /// The defaults: any free port, seed 42, 10 000 events over the 30 days ending yesterday
    /// (UTC), no faults, engage pages of 1000, OAuth access tokens valid for an hour.
    // No `Default`: the defaults are the sandbox's opinion, spelled out where they are used
    // (STYLE.md rule 7).
    #[allow(clippy::new_without_default)]
    pub fn new() -> SandboxOptions {
        SandboxOptions {
            port: 0,
            seed: 42,
            events: 10_000,
            days: 30,
            end: None,
            faults: Faults::none(),
            engage_page_size: 1000,
            oauth_access_token_ttl: Duration::from_secs(3600),
            export_compression: ExportCompression::Gzip,
        }
    }
}

/// What every task of one sandbox shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// `(project id, dataset)` for projects 1 and 2.
    datasets: Vec<(u64, Arc<Dataset>)>,
    pub(crate) faults: FaultControl,
    pub(crate) log: RequestLog,
    pub(crate) bearer_tokens: BearerTokens,
    pub(crate) oauth: OAuthServer,
    pub(crate) engage_page_size: usize,
    pub(crate) export_compression: ExportCompression,
}

impl Shared {
    pub(crate) fn dataset_of(&self, project_id: u64) -> Option<Arc<Dataset>> {
        self.datasets
            .iter()
            .find(|(id, _)| *id == project_id)
            .map(|(_, dataset)| dataset.clone())
    }
}

/// A running Mixpanel emulator on `127.0.0.1`.
///
/// Dropping it stops the server (see the module documentation for how).
#[derive(Debug)]
pub struct Sandbox {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    /// The only sender of the shutdown signal; see the module documentation.
    shutdown_sender: watch::Sender<bool>,
    /// The accept loop; taken by [`Sandbox::shutdown`] to wait for it.
    accept_task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Generates the datasets, binds `127.0.0.1:port` and starts serving.
    ///
    /// Must be called inside a tokio runtime (the server runs as tasks of that runtime).
    pub async fn start(options: SandboxOptions) -> Result<Sandbox, Error> {
        let end_day = match &options.end {
            Some(text) => {
                civil::parse_date(text).ok_or_else(|| Error::InvalidDate(text.clone()))?
            }
            None => civil::today_utc() - 1,
        };
        if options.engage_page_size == 0 {
            return Err(Error::InvalidOption {
                option: "engage_page_size",
                reason: "must be at least 1".to_owned(),
            });
        }
        let config = DatasetConfig {
            seed: options.seed,
            events: options.events,
            days: options.days,
            end_day,
        };
        // Project 2 is a smaller, different shop, so that a client sending the wrong
        // `project_id` gets visibly different answers.
        let config_2 = DatasetConfig {
            seed: derive(options.seed, 2),
            events: options.events / 10,
            ..config
        };
        let datasets = vec![
            (1, Arc::new(Dataset::new(config)?)),
            (2, Arc::new(Dataset::new(config_2)?)),
        ];

        let requested = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
        let listener = TcpListener::bind(requested)
            .await
            .map_err(|source| Error::Bind {
                addr: requested,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: requested,
            source,
        })?;
        let shared = Arc::new(Shared {
            datasets,
            faults: FaultControl::new(options.faults),
            log: RequestLog::default(),
            bearer_tokens: BearerTokens::default(),
            // The port salts the identifiers, so that two sandboxes never mint the same token.
            oauth: OAuthServer::new(
                derive(options.seed, u64::from(local_addr.port()) << 48),
                options.oauth_access_token_ttl,
            ),
            engage_page_size: options.engage_page_size as usize,
            export_compression: options.export_compression,
        });
        let (shutdown_sender, shutdown_receiver) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, shared.clone(), shutdown_receiver));
        tracing::debug!(%local_addr, "sandbox listening");
        Ok(Sandbox {
            shared,
            local_addr,
            shutdown_sender,
            accept_task: Some(accept_task),
        })
    }

    /// Returns the base URL to give a client as its API base, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Returns the address the sandbox listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Returns the fault knobs, to change while the sandbox runs.
    pub fn faults(&self) -> &FaultControl {
        &self.shared.faults
    }

    /// Returns the log of the requests served so far.
    pub fn request_log(&self) -> &RequestLog {
        &self.shared.log
    }

    /// Returns the dataset of project 1.
    pub fn dataset(&self) -> &Dataset {
        &self.shared.datasets[0].1
    }

    /// Returns the dataset of a project, if the sandbox has it (projects 1 and 2).
    pub fn project_dataset(&self, project_id: u64) -> Option<&Dataset> {
        self.shared
            .datasets
            .iter()
            .find(|(id, _)| *id == project_id)
            .map(|(_, dataset)| &**dataset)
    }

    /// Accepts `Authorization: Bearer <token>` from now on, as if an OAuth flow had issued it.
    pub fn register_bearer_token(&self, token: impl Into<String>) {
        self.shared.bearer_tokens.insert(token.into());
    }

    /// Stops accepting a Bearer token. Returns true if and only if it was registered.
    pub fn revoke_bearer_token(&self, token: &str) -> bool {
        self.shared.bearer_tokens.remove(token)
    }

    /// Sets how long OAuth access tokens issued from now on stay valid (`expires_in`; a
    /// duration under a second is sent as 0).
    pub fn set_oauth_access_token_ttl(&self, ttl: Duration) {
        self.shared.oauth.set_access_token_ttl(ttl);
    }

    /// Makes every OAuth access token issued so far expire now (they are answered 401 from
    /// now on), and returns how many were still valid. Refresh tokens are not affected.
    pub fn expire_oauth_access_tokens(&self) -> usize {
        self.shared.bearer_tokens.expire_oauth()
    }

    /// Revokes an OAuth refresh token: the token endpoint answers `invalid_grant` for it from
    /// now on. Returns true if and only if it was live.
    pub fn revoke_refresh_token(&self, refresh_token: &str) -> bool {
        self.shared.oauth.revoke_refresh_token(refresh_token)
    }

    /// Revokes every live OAuth refresh token and returns how many there were.
    pub fn revoke_all_refresh_tokens(&self) -> usize {
        self.shared.oauth.revoke_all_refresh_tokens()
    }

    /// Makes the authorize endpoint answer as if the user refused (`error=access_denied`),
    /// or approve again (the default).
    pub fn set_oauth_authorization_denied(&self, denied: bool) {
        self.shared.oauth.set_deny_authorizations(denied);
    }

    /// Returns what the OAuth endpoints have done so far (registrations, codes, token
    /// requests, refreshes …).
    pub fn oauth_counts(&self) -> OAuthCounts {
        self.shared.oauth.counts()
    }

    /// Serves until `signal` completes (for example Ctrl-C), then shuts down gracefully.
    pub async fn serve_until(self, signal: impl Future<Output = ()>) -> Result<(), Error> {
        signal.await;
        self.shutdown().await
    }

    /// Stops accepting connections, lets in-flight responses finish (for at most 5 seconds)
    /// and waits for the server to stop.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let _ = self.shutdown_sender.send(true);
        match self.accept_task.take() {
            Some(task) => task.await.map_err(Error::ServerTask),
            None => Ok(()),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Nobody may be listening any more (after `shutdown`), which is fine.
        let _ = self.shutdown_sender.send(true);
    }
}

/// Resolves when the shutdown signal is sent or its sender is gone.
async fn stopped(receiver: &mut watch::Receiver<bool>) {
    let _ = receiver.wait_for(|stop| *stop).await;
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, shared.clone(), shutdown.clone()));
                }
                // Running out of file descriptors and similar conditions are transient; a
                // test server must not die of them.
                Err(error) => tracing::warn!(%error, "sandbox accept failed"),
            },
            // Reap finished connections so the set does not grow with every request.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.abort_all();
    }
}

async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let reset = ResetSwitch::default();
    let io = TokioIo::new(ResettableStream {
        stream,
        reset: reset.clone(),
    });
    let context = ConnectionContext { reset };
    let service =
        service_fn(move |request| routes::handle(shared.clone(), context.clone(), request));
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "sandbox connection ended with an error");
            }
        }
        _ = stopped(&mut shutdown) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// A TCP stream that closes with a reset (RST) instead of an orderly FIN when its
/// [`ResetSwitch`] was pulled, which is how the `reset-export` fault looks to a client:
/// `ECONNRESET`, not a clean end of stream.
#[derive(Debug)]
struct ResettableStream {
    stream: TcpStream,
    reset: ResetSwitch,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.is_requested() {
            // SO_LINGER 0 makes the close that follows send RST.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
