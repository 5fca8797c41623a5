//! One module per command group; each command takes a [`Context`] and returns data.

pub mod inspect;
pub mod sandbox;

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
        if self.global.sandbox {
            let sandbox = mp_sandbox::Sandbox::start(mp_sandbox::SandboxOptions::new()).await?;
            let connection = Connection::sandbox(&sandbox.base_url(), &self.global)?;
            let client = connection.client()?;
            let result = body(self, client).await;
            drop(sandbox);
            result
        } else {
            let connection = Connection::resolve(&self.env, &self.global, &self.messages)?;
            let client = connection.client()?;
            body(self, client).await
        }
    }
}
