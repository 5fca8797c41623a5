//! One module per command group; each command takes a [`Context`] and returns data.

pub mod account;
pub mod export;
mod input;
pub mod inspect;
pub mod login;
mod present;
pub mod project;
pub mod query;
pub mod sandbox;
pub mod session;
mod spinner;
pub mod target;
pub mod workspace;

use std::io::BufWriter;
use std::io::StdoutLock;

use crate::args::GlobalArgs;
use crate::credentials::Connection;
use crate::env::Env;
use crate::output::{Messages, Output};

/// What every command may use: the flags, the environment snapshot, stderr and stdout.
#[derive(Debug)]
pub struct Context {
    /// The global flags.
    pub global: GlobalArgs,
    /// The environment snapshot.
    pub env: Env,
    /// stderr for people.
    pub messages: Messages,
    /// stdout for data.
    pub output: Output<BufWriter<StdoutLock<'static>>>,
}

impl Context {
    /// Resolves the connection for a command that talks to Mixpanel and runs `body`
    /// with a client, against an in-process sandbox when `--sandbox` was given.
    ///
    /// The sandbox lives exactly as long as `body` runs.
    pub async fn with_client<T>(
        &mut self,
        body: impl AsyncFnOnce(&mut Context, mp_http::Client) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.with_connection(async |context, client, _| body(context, client).await)
            .await
    }

    /// Like [`Context::with_client`], and also tells `body` who the credentials are
    /// ([`ConnectionInfo`]), for commands that keep state per account.
    pub async fn with_connection<T>(
        &mut self,
        body: impl AsyncFnOnce(&mut Context, mp_http::Client, ConnectionInfo) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        if self.global.sandbox {
            let sandbox = mp_sandbox::Sandbox::start(mp_sandbox::SandboxOptions::new()).await?;
            let connection = Connection::sandbox(&sandbox.base_url(), &self.global)?;
            let client = connection.client()?;
            let info = ConnectionInfo { identity: None };
            let result = body(self, client, info).await;
            drop(sandbox);
            result
        } else {
            let connection = Connection::resolve(&self.env, &self.global, &self.messages).await?;
            let client = connection.client()?;
            let info = ConnectionInfo {
                identity: Some(connection.identity()),
            };
            body(self, client, info).await
        }
    }
}

/// What a command may know about its connection besides the client.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Who the credentials are (a kind, a name and a digest of the credential, never the
    /// credential itself; see `Connection::identity`), for state kept per credential such as
    /// the discovery cache; `None` under `--sandbox`, whose answers are never kept.
    pub identity: Option<String>,
}
