//! `mp inspect …`: what a project contains, through mp-discovery.

use serde_json::Value;

use super::Context;
use crate::args::InspectCommand;

/// Runs an `inspect` subcommand.
pub async fn run(context: &mut Context, command: &InspectCommand) -> anyhow::Result<()> {
    match command {
        InspectCommand::Events => {
            let names = context
                .with_client(async |_, client| {
                    let discovery = mp_discovery::Discovery::new(client);
                    Ok(discovery
                        .events(&mp_discovery::EventsOptions::default())
                        .await?)
                })
                .await?;
            let data = Value::Array(names.into_iter().map(Value::String).collect());
            context.output.emit(&data, "event")
        }
    }
}
