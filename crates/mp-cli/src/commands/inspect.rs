//! `mp inspect …`: what a project contains, through mp-discovery.
//!
//! The flags are the official CLI's. Lists of names print as one column; listings of
//! objects print in full as JSON and with the official CLI's columns as a table.
//!
//! # The discovery cache
//!
//! Answers that change slowly (event names, properties, values, funnels, cohorts,
//! Lexicon schemas) are kept on disk for [`mp_discovery::DEFAULT_DISK_CACHE_TTL`]
//! (5 minutes), so a script that calls `mp inspect` many times spends Mixpanel's
//! rate limit once. They live in `~/.mp/cache/discovery/<hash>/`, one directory per
//! credentials (the hash of the account's kind and name, never of a secret), and
//! each entry's key names the API hosts, project and workspace, so nothing
//! discovered about one project answers for another. `--refresh` asks Mixpanel
//! again (and stores the fresh answer). Today's top events and the saved reports
//! list are never cached, and `--sandbox` uses no disk cache at all.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;
use sha2::{Digest, Sha256};

use mp_discovery::{
    DEFAULT_DISK_CACHE_TTL, Discovery, DiskCache, EventsOptions, PropertyValuesOptions,
    TopEventsOptions,
};
use mp_query::Table;

use super::input::CountTypeArg;
use super::present::Presented;
use super::spinner::Spinner;
use super::{ConnectionInfo, Context};
use crate::env::{Env, EnvVars};
use crate::exit::{CliError, ExitStatus};

/// `mp inspect [--refresh] …`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Ask Mixpanel again instead of using answers cached in the last 5 minutes.
    #[arg(long, global = true)]
    pub refresh: bool,

    /// What to list.
    #[command(subcommand)]
    pub command: InspectCommand,
}

/// The `inspect` subcommands.
#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// List the project's event names, sorted.
    Events,

    /// List the properties seen on an event, sorted.
    Properties {
        /// The event.
        #[arg(short = 'e', long)]
        event: String,
    },

    /// List values of a property, most frequent first.
    Values {
        /// The property.
        #[arg(short = 'p', long)]
        property: String,

        /// Only values seen on this event.
        #[arg(short = 'e', long)]
        event: Option<String>,

        /// At most this many values.
        #[arg(short = 'l', long, default_value_t = 100,
              value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },

    /// List the saved funnels (`funnel_id`, `name`), by name.
    Funnels,

    /// List the saved cohorts, by name.
    Cohorts,

    /// List today's most frequent events, with the change from yesterday (never cached).
    TopEvents {
        /// What is counted.
        #[arg(short = 't', long = "type", value_enum, default_value = "general")]
        event_type: CountTypeArg,

        /// At most this many events.
        #[arg(short = 'l', long, default_value_t = 10,
              value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },

    /// List the saved reports (bookmarks), optionally of one type (never cached).
    Bookmarks {
        /// Only reports of this type.
        #[arg(short = 't', long = "type", value_enum)]
        bookmark_type: Option<BookmarkType>,
    },

    /// List the Lexicon schemas (data dictionary), optionally of one entity type.
    LexiconSchemas {
        /// Only schemas of this entity type.
        #[arg(short = 't', long = "type", value_enum)]
        entity_type: Option<EntityType>,
    },

    /// Show one Lexicon schema: its description and properties.
    LexiconSchema {
        /// The entity type.
        #[arg(short = 't', long = "type", value_enum)]
        entity_type: EntityType,

        /// The entity's name: an event name, or `$user` for profiles.
        #[arg(short = 'n', long)]
        name: String,
    },
}

/// `inspect bookmarks --type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BookmarkType {
    /// Insights reports.
    Insights,
    /// Funnels reports.
    Funnels,
    /// Retention reports.
    Retention,
    /// Flows reports.
    Flows,
    /// Impact (launch analysis) reports.
    LaunchAnalysis,
}

impl BookmarkType {
    fn as_str(self) -> &'static str {
        match self {
            BookmarkType::Insights => "insights",
            BookmarkType::Funnels => "funnels",
            BookmarkType::Retention => "retention",
            BookmarkType::Flows => "flows",
            BookmarkType::LaunchAnalysis => "launch-analysis",
        }
    }
}

/// Lexicon entity types, the two the official CLI accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntityType {
    /// Events.
    Event,
    /// User profiles.
    Profile,
}

impl EntityType {
    fn as_str(self) -> &'static str {
        match self {
            EntityType::Event => "event",
            EntityType::Profile => "profile",
        }
    }
}

/// Runs an `inspect` subcommand.
pub async fn run(context: &mut Context, args: &InspectArgs) -> anyhow::Result<()> {
    let refresh = args.refresh;
    context
        .with_connection(async |context, client, info| {
            let mut discovery = Discovery::new(client.clone()).with_refresh(refresh);
            if let Some(cache) = disk_cache(&context.env, &info, &client)? {
                discovery = discovery.with_disk_cache(cache);
            }
            let spinner = Spinner::start(&context.messages, "asking Mixpanel");
            let presented = inspect(&discovery, &args.command).await;
            drop(spinner);
            match presented? {
                Inspected::Names(names, column) => {
                    let data = Value::Array(names.into_iter().map(Value::String).collect());
                    context.output.emit(&data, column)
                }
                Inspected::Presented(presented) => presented.emit(context),
            }
        })
        .await
}

/// What an `inspect` command prints.
enum Inspected {
    /// A list of names, in one column with this header.
    Names(Vec<String>, &'static str),
    /// A listing with its two faces.
    Presented(Presented),
}

async fn inspect(discovery: &Discovery, command: &InspectCommand) -> anyhow::Result<Inspected> {
    Ok(match command {
        InspectCommand::Events => {
            let mut names = discovery.events(&EventsOptions::default()).await?;
            names.sort();
            Inspected::Names(names, "event")
        }
        InspectCommand::Properties { event } => {
            let mut names = match discovery.event_properties(event).await {
                Ok(names) => names,
                Err(error) => return Err(unknown_event(discovery, event, error).await),
            };
            names.sort();
            Inspected::Names(names, "property")
        }
        InspectCommand::Values {
            property,
            event,
            limit,
        } => {
            let mut options = PropertyValuesOptions::new(property.as_str());
            options.event = event.clone();
            options.limit = *limit;
            Inspected::Names(discovery.property_values(&options).await?, "value")
        }
        InspectCommand::Funnels => {
            let funnels = discovery.funnels().await?;
            let mut table = Table::new(columns(&["funnel_id", "name"]));
            for funnel in funnels.items() {
                table.push_row(vec![
                    Value::from(funnel.funnel_id),
                    Value::from(funnel.name.as_str()),
                ]);
            }
            Inspected::Presented(Presented::new(&funnels, table)?)
        }
        InspectCommand::Cohorts => {
            let cohorts = discovery.cohorts().await?;
            let mut table = Table::new(columns(&["id", "name", "count", "description"]));
            for cohort in cohorts.items() {
                table.push_row(vec![
                    Value::from(cohort.id),
                    Value::from(cohort.name.as_str()),
                    Value::from(cohort.count),
                    Value::from(cohort.description.as_str()),
                ]);
            }
            Inspected::Presented(Presented::new(&cohorts, table)?)
        }
        InspectCommand::TopEvents { event_type, limit } => {
            let options = TopEventsOptions {
                event_type: (*event_type).into(),
                limit: Some(*limit),
            };
            let top = discovery.top_events(&options).await?;
            let mut table = Table::new(columns(&["event", "count", "percent_change"]));
            for event in &top.events {
                table.push_row(vec![
                    Value::from(event.event.as_str()),
                    Value::from(event.count),
                    serde_json::to_value(event.percent_change)?,
                ]);
            }
            Inspected::Presented(Presented::new(&top.events, table)?)
        }
        InspectCommand::Bookmarks { bookmark_type } => {
            let bookmarks = discovery
                .bookmarks(bookmark_type.map(BookmarkType::as_str))
                .await?;
            let mut table = Table::new(columns(&["id", "name", "type", "modified"]));
            for bookmark in bookmarks.items() {
                table.push_row(vec![
                    Value::from(bookmark.id),
                    Value::from(bookmark.name.as_str()),
                    Value::from(bookmark.bookmark_type.as_str()),
                    Value::from(bookmark.modified.as_str()),
                ]);
            }
            Inspected::Presented(Presented::new(&bookmarks, table)?)
        }
        InspectCommand::LexiconSchemas { entity_type } => {
            let schemas = discovery
                .lexicon_schemas(entity_type.map(EntityType::as_str))
                .await?;
            let mut table = Table::new(columns(&[
                "entity_type",
                "name",
                "property_count",
                "description",
            ]));
            for schema in schemas.items() {
                table.push_row(vec![
                    Value::from(schema.entity_type.as_str()),
                    Value::from(schema.name.as_str()),
                    Value::from(schema.schema_json.properties.len()),
                    Value::from(schema.schema_json.description.clone()),
                ]);
            }
            Inspected::Presented(Presented::new(&schemas, table)?)
        }
        InspectCommand::LexiconSchema { entity_type, name } => {
            let schema = discovery.lexicon_schema(entity_type.as_str(), name).await?;
            let mut table = Table::new(columns(&["property", "type", "description"]));
            for (property, definition) in &schema.schema_json.properties {
                table.push_row(vec![
                    Value::from(property.as_str()),
                    Value::from(definition.property_type.as_str()),
                    Value::from(definition.description.clone()),
                ]);
            }
            Inspected::Presented(Presented::new(&schema, table)?)
        }
    })
}

fn columns(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// Turns Mixpanel's 400 for the properties of an unknown event into "not found"
/// with suggestions, as the official client does; other errors pass unchanged.
async fn unknown_event(
    discovery: &Discovery,
    event: &str,
    error: mp_discovery::Error,
) -> anyhow::Error {
    if *error.http_error().kind() != mp_http::ErrorKind::BadRequest {
        return error.into();
    }
    let known = discovery
        .events(&EventsOptions::default())
        .await
        .unwrap_or_default();
    let similar = similar_events(event, &known);
    let cli = CliError::new(ExitStatus::NotFound, format!("event `{event}` not found"))
        .with_source(error);
    if similar.is_empty() {
        cli.with_hint("list the project's events with `mp inspect events`")
            .into()
    } else {
        let names: Vec<String> = similar.iter().map(|name| format!("`{name}`")).collect();
        cli.with_hint(format!("did you mean {}?", names.join(", ")))
            .into()
    }
}

/// Up to 5 known events that look like `event`: the same name in another case, then
/// names that contain it or that it contains, shortest first.
fn similar_events<'a>(event: &str, known: &'a [String]) -> Vec<&'a str> {
    let wanted = event.to_lowercase();
    let mut similar: Vec<&str> = known
        .iter()
        .filter(|name| name.to_lowercase() == wanted)
        .map(String::as_str)
        .collect();
    let mut containing: Vec<&str> = known
        .iter()
        .map(String::as_str)
        .filter(|name| {
            let name = name.to_lowercase();
            name != wanted && (name.contains(&wanted) || wanted.contains(&name))
        })
        .collect();
    containing.sort_by_key(|name| (name.len(), *name));
    similar.extend(containing);
    similar.truncate(5);
    similar
}

/// The on-disk discovery cache of these credentials, or `None` under `--sandbox`
/// or without a home directory.
fn disk_cache(
    env: &Env,
    info: &ConnectionInfo,
    client: &mp_http::Client,
) -> Result<Option<DiskCache>, CliError> {
    let (Some(identity), Some(home)) = (info.identity.as_deref(), env.get(EnvVars::HOME)?) else {
        return Ok(None);
    };
    let directory = cache_directory(&PathBuf::from(home), identity);
    Ok(Some(DiskCache::new(
        directory,
        DEFAULT_DISK_CACHE_TTL,
        Arc::clone(client.clock()),
    )))
}

/// `<home>/.mp/cache/discovery/<the first 16 bytes of SHA-256(identity), in hex>`.
fn cache_directory(home: &std::path::Path, identity: &str) -> PathBuf {
    let digest = Sha256::digest(identity.as_bytes());
    let hash: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    home.join(".mp").join("cache").join("discovery").join(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cache_directory_per_identity() {
        let home = std::path::Path::new("/home/u");
        let a = cache_directory(home, "service_account\na");
        let b = cache_directory(home, "service_account\nb");
        assert_ne!(a, b);
        assert!(a.starts_with("/home/u/.mp/cache/discovery"));
        assert_eq!(a.file_name().unwrap().len(), 32);
        assert_eq!(a, cache_directory(home, "service_account\na"));
    }

    #[test]
    fn suggestions() {
        let known: Vec<String> = [
            "Sign Up",
            "Sign In",
            "Purchase",
            "Purchase Failed",
            "sign up",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(similar_events("SIGN UP", &known), ["Sign Up", "sign up"]);
        assert_eq!(
            similar_events("purchase", &known),
            ["Purchase", "Purchase Failed"]
        );
        assert!(similar_events("Logout", &known).is_empty());
    }
}
