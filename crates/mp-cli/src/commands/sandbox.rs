//! `mp sandbox serve`: the Mixpanel emulator as a long-running local server.

use serde_json::{Map, Value};

use super::Context;
use crate::args::{ExportCompression, ServeArgs};
use crate::env::EnvVars;
use crate::exit::CliError;

/// Starts the sandbox, prints the variables that point `mp` at it, serves until Ctrl-C.
///
/// The variables are data (a user or a script copies them), so they go to stdout as an
/// object, in any format: `--format plain` gives `NAME=value` lines for a shell.
/// Ctrl-C is the normal way to stop, so it exits 0.
pub async fn serve(context: &mut Context, args: &ServeArgs) -> anyhow::Result<()> {
    let faults = mp_sandbox::Faults::parse(&args.faults)
        .map_err(|error| CliError::usage("invalid `--fault`").with_source(error))?;
    let mut options = mp_sandbox::SandboxOptions::new();
    options.port = args.port;
    options.seed = args.seed;
    options.events = args.events;
    options.days = args.days;
    options.end = args.end.clone();
    options.faults = faults;
    options.export_compression = match args.export_compression {
        ExportCompression::Gzip => mp_sandbox::ExportCompression::Gzip,
        ExportCompression::GzipStored => mp_sandbox::ExportCompression::GzipStored,
        ExportCompression::Identity => mp_sandbox::ExportCompression::Identity,
    };
    options.oauth_access_token_ttl = std::time::Duration::from_secs(args.oauth_token_ttl);
    let sandbox = mp_sandbox::Sandbox::start(options).await?;

    let mut variables = Map::new();
    for (name, value) in [
        (EnvVars::MP_API_BASE_URL, sandbox.base_url()),
        (
            EnvVars::MP_USERNAME,
            mp_sandbox::SANDBOX_USERNAME.to_owned(),
        ),
        (EnvVars::MP_SECRET, mp_sandbox::SANDBOX_SECRET.to_owned()),
        (EnvVars::MP_PROJECT_ID, "1".to_owned()),
        (EnvVars::MP_REGION, "us".to_owned()),
    ] {
        variables.insert(name.to_owned(), Value::String(value));
    }
    // Register for Ctrl-C before telling anyone where we are, so that a client that
    // reacts to the output at once can also stop us at once.
    let ctrl_c = tokio::signal::ctrl_c();
    let mut ctrl_c = std::pin::pin!(ctrl_c);
    if poll_once(ctrl_c.as_mut()).await.is_some() {
        sandbox.shutdown().await?;
        return Ok(());
    }
    context.output.emit(&Value::Object(variables), "variable")?;
    let dataset = sandbox.dataset();
    // Said only when it departs from Mixpanel's behaviour, so nobody mistakes it for faithful.
    let compression = match args.export_compression {
        ExportCompression::Gzip => "",
        ExportCompression::GzipStored => "; exports gzip of stored blocks",
        ExportCompression::Identity => "; exports never compressed",
    };
    context.messages.note(&format!(
        "mp sandbox: serving {} events from {} to {} (seed {}) at {}; projects 1 and 2{compression}; press Ctrl-C to stop",
        dataset.total_events(),
        dataset.from_date(),
        dataset.to_date(),
        dataset.seed(),
        sandbox.base_url(),
    ));
    sandbox
        .serve_until(async move {
            let _ = ctrl_c.await;
        })
        .await?;
    context.messages.note("mp sandbox: stopped");
    Ok(())
}

/// Polls `future` once, so that a signal listener is registered before we go on.
async fn poll_once<F: Future + Unpin>(mut future: F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match std::pin::Pin::new(&mut future).poll(cx) {
        std::task::Poll::Ready(output) => std::task::Poll::Ready(Some(output)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await
}
