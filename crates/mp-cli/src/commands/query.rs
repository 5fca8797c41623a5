//! `mp query …`: Mixpanel's live queries, through mp-query.
//!
//! The flags are the official CLI's (`-e/--event`, `--from`, `--to`, `-o/--on`,
//! `-u/--unit`, `-w/--where`, …), plus `--last 30d` or `--last 12w` as an
//! alternative to `--from`/`--to`, and a few the official CLI leaves out although
//! its library has them (`--type` on segmentation, `--where` on funnels, `--type`
//! and dates on saved reports). `--on` takes a bare property name (`country`) or an
//! expression (`user["plan"]`) on every command, funnels included.
//!
//! Input is checked before anything is sent (see `input.rs`): a bad date, a range
//! that ends before it starts or in the future, a malformed expression, an empty
//! JQL script are usage errors (exit 3). Every result prints as JSON with every
//! typed field (`json`, `jsonl`, `--jq`), and as the table a person reads
//! (`table`, `csv`, `plain`): one row per date with a column per segment, one row
//! per funnel step, one row per retention cohort with a column per interval.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use serde_json::{Map, Value};

use mp_query::{
    ActivityFeedOptions, Date, EventCountsOptions, FrequencyOptions, FunnelOptions, JqlOptions,
    LiveQuery, NumericAggregateOptions, NumericBucketsOptions, PropertyCountsOptions, ReportType,
    RetentionOptions, SavedReportOptions, SegmentationOptions, Table, normalize_on_expression,
};

use super::Context;
use super::input::{
    CountTypeArg, DateRangeArgs, FineUnit, OptionalDateRangeArgs, SeriesUnit, check_expression,
    check_optional_expression, parse_date,
};
use super::present::Presented;
use super::spinner::Spinner;
use crate::exit::{CliError, ExitStatus};

/// The `query` subcommands.
#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// Count an event per day, week or month, optionally split by a property.
    Segmentation(SegmentationArgs),

    /// Count an event in ranges (buckets) of a numeric property.
    SegmentationNumeric(NumericArgs),

    /// Sum a numeric property of an event, per hour or day.
    SegmentationSum(AggregateArgs),

    /// Average a numeric property of an event, per hour or day.
    SegmentationAverage(AggregateArgs),

    /// Steps, counts and conversion of a saved funnel (ids: `mp inspect funnels`).
    Funnel(FunnelArgs),

    /// Of the users who did one event, how many came back to do another, per interval.
    Retention(RetentionArgs),

    /// Run a JQL script.
    ///
    /// Note that Mixpanel lists JQL (JavaScript Query Language) as being in maintenance
    /// mode: it still answers but gets no new features, and Mixpanel's official client
    /// has dropped it. Prefer the other queries where they can answer the question.
    #[command(group(ArgGroup::new("source").required(true).args(["file", "script"])))]
    Jql(JqlArgs),

    /// Count several events per day, week or month.
    EventCounts(EventCountsArgs),

    /// Count each value of a property of an event, per day, week or month.
    PropertyCounts(PropertyCountsArgs),

    /// The events of a few users (their activity feed).
    ActivityFeed(ActivityFeedArgs),

    /// A saved report by its bookmark id (ids: `mp inspect bookmarks`).
    SavedReport(SavedReportArgs),

    /// A saved Flows report by its bookmark id.
    Flows(FlowsArgs),

    /// How many users did an event in 1, 2, … hours of each day (or days of each week or month).
    Frequency(FrequencyArgs),
}

/// `mp query segmentation`.
#[derive(Debug, Args)]
pub struct SegmentationArgs {
    /// The event to count.
    #[arg(short = 'e', long)]
    event: String,

    #[command(flatten)]
    dates: DateRangeArgs,

    /// Split by this property (a name such as `country`, or an expression).
    #[arg(short = 'o', long, value_name = "PROPERTY")]
    on: Option<String>,

    /// The time unit of the series.
    #[arg(short = 'u', long, value_enum, default_value = "day")]
    unit: SeriesUnit,

    /// Only events matching this expression, e.g. 'properties["country"] == "US"'.
    #[arg(short = 'w', long = "where", value_name = "EXPRESSION")]
    filter: Option<String>,

    /// What is counted.
    #[arg(short = 't', long = "type", value_enum, default_value = "general")]
    count_type: CountTypeArg,
}

/// `mp query segmentation-numeric`.
#[derive(Debug, Args)]
pub struct NumericArgs {
    /// The event to count.
    #[arg(short = 'e', long)]
    event: String,

    /// The numeric property to bucket (a name or an expression).
    #[arg(short = 'o', long, value_name = "PROPERTY")]
    on: String,

    #[command(flatten)]
    dates: DateRangeArgs,

    /// What is counted.
    #[arg(short = 't', long = "type", value_enum, default_value = "general")]
    count_type: CountTypeArg,

    /// The time unit of the series.
    #[arg(short = 'u', long, value_enum, default_value = "day")]
    unit: FineUnit,

    /// Only events matching this expression.
    #[arg(short = 'w', long = "where", value_name = "EXPRESSION")]
    filter: Option<String>,
}

/// `mp query segmentation-sum` and `segmentation-average`.
#[derive(Debug, Args)]
pub struct AggregateArgs {
    /// The event.
    #[arg(short = 'e', long)]
    event: String,

    /// The numeric property (a name or an expression).
    #[arg(short = 'o', long, value_name = "PROPERTY")]
    on: String,

    #[command(flatten)]
    dates: DateRangeArgs,

    /// The time unit of the series.
    #[arg(short = 'u', long, value_enum, default_value = "day")]
    unit: FineUnit,

    /// Only events matching this expression.
    #[arg(short = 'w', long = "where", value_name = "EXPRESSION")]
    filter: Option<String>,
}

/// `mp query funnel`.
#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// The saved funnel's id.
    #[arg(value_name = "FUNNEL_ID")]
    funnel_id: u64,

    #[command(flatten)]
    dates: DateRangeArgs,

    /// Group the counts by this unit [default: Mixpanel's choice].
    #[arg(short = 'u', long, value_enum)]
    unit: Option<SeriesUnit>,

    /// Segment by this property (a name or an expression).
    #[arg(short = 'o', long, value_name = "PROPERTY")]
    on: Option<String>,

    /// Only events matching this expression.
    #[arg(short = 'w', long = "where", value_name = "EXPRESSION")]
    filter: Option<String>,
}

/// `mp query retention`.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// The event that puts a user in a cohort.
    #[arg(short = 'b', long = "born", value_name = "EVENT")]
    born_event: String,

    /// The event that counts as coming back.
    #[arg(short = 'r', long = "return", value_name = "EVENT")]
    return_event: String,

    #[command(flatten)]
    dates: DateRangeArgs,

    /// Only born events matching this expression.
    #[arg(long = "born-where", value_name = "EXPRESSION")]
    born_filter: Option<String>,

    /// Only return events matching this expression.
    #[arg(long = "return-where", value_name = "EXPRESSION")]
    return_filter: Option<String>,

    /// The length of an interval in days (1 uses --unit instead).
    #[arg(short = 'i', long, default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    interval: u32,

    /// How many intervals to follow.
    #[arg(short = 'n', long = "intervals", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    interval_count: u32,

    /// The interval unit.
    #[arg(short = 'u', long, value_enum, default_value = "day")]
    unit: SeriesUnit,
}

/// `mp query jql`.
#[derive(Debug, Args)]
pub struct JqlArgs {
    /// A file holding the script (`-` reads standard input).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,

    /// The script itself, instead of a file.
    #[arg(short = 'c', long, value_name = "SCRIPT", conflicts_with = "file")]
    script: Option<String>,

    /// A parameter the script reads as `params.KEY` (repeatable); VALUE is JSON if it
    /// parses as JSON, a string otherwise.
    #[arg(short = 'P', long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, Value)>,
}

/// `mp query event-counts`.
#[derive(Debug, Args)]
pub struct EventCountsArgs {
    /// The events, comma-separated or repeated.
    #[arg(
        short = 'e',
        long = "events",
        value_name = "EVENTS",
        value_delimiter = ',',
        required = true
    )]
    events: Vec<String>,

    #[command(flatten)]
    dates: DateRangeArgs,

    /// What is counted.
    #[arg(short = 't', long = "type", value_enum, default_value = "general")]
    count_type: CountTypeArg,

    /// The time unit of the series.
    #[arg(short = 'u', long, value_enum, default_value = "day")]
    unit: SeriesUnit,
}

/// `mp query property-counts`.
#[derive(Debug, Args)]
pub struct PropertyCountsArgs {
    /// The event.
    #[arg(short = 'e', long)]
    event: String,

    /// The property whose values are counted.
    #[arg(short = 'p', long)]
    property: String,

    #[command(flatten)]
    dates: DateRangeArgs,

    /// What is counted.
    #[arg(short = 't', long = "type", value_enum, default_value = "general")]
    count_type: CountTypeArg,

    /// The time unit of the series.
    #[arg(short = 'u', long, value_enum, default_value = "day")]
    unit: SeriesUnit,

    /// At most this many values.
    #[arg(short = 'l', long, default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
}

/// `mp query activity-feed`.
#[derive(Debug, Args)]
pub struct ActivityFeedArgs {
    /// The users' distinct ids, comma-separated or repeated.
    #[arg(
        short = 'U',
        long = "users",
        value_name = "IDS",
        value_delimiter = ',',
        required = true
    )]
    users: Vec<String>,

    #[command(flatten)]
    dates: OptionalDateRangeArgs,
}

/// `mp query saved-report`.
#[derive(Debug, Args)]
pub struct SavedReportArgs {
    /// The report's bookmark id.
    #[arg(value_name = "BOOKMARK_ID")]
    bookmark_id: u64,

    /// The report's type, which decides the endpoint.
    #[arg(short = 't', long = "type", value_enum, default_value = "insights")]
    report_type: ReportTypeArg,

    /// First day of a funnels report, YYYY-MM-DD [default: 30 days before --to].
    #[arg(long = "from", value_name = "DATE", value_parser = parse_date)]
    from: Option<Date>,

    /// Last day of a funnels report, YYYY-MM-DD [default: today].
    #[arg(long = "to", value_name = "DATE", value_parser = parse_date)]
    to: Option<Date>,
}

/// `saved-report --type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportTypeArg {
    /// An Insights report.
    Insights,
    /// A Funnels report (its bookmark id is its funnel id).
    Funnels,
    /// A Retention report.
    Retention,
    /// A Flows report.
    Flows,
}

impl From<ReportTypeArg> for ReportType {
    fn from(report_type: ReportTypeArg) -> ReportType {
        match report_type {
            ReportTypeArg::Insights => ReportType::Insights,
            ReportTypeArg::Funnels => ReportType::Funnels,
            ReportTypeArg::Retention => ReportType::Retention,
            ReportTypeArg::Flows => ReportType::Flows,
        }
    }
}

/// `mp query flows`.
#[derive(Debug, Args)]
pub struct FlowsArgs {
    /// The report's bookmark id.
    #[arg(value_name = "BOOKMARK_ID")]
    bookmark_id: u64,
}

/// `mp query frequency`.
#[derive(Debug, Args)]
pub struct FrequencyArgs {
    #[command(flatten)]
    dates: DateRangeArgs,

    /// Only this event [default: every event].
    #[arg(short = 'e', long)]
    event: Option<String>,

    /// The period.
    #[arg(short = 'u', long, value_enum, default_value = "day")]
    unit: SeriesUnit,

    /// The sub-period counted within each period.
    #[arg(long = "addiction-unit", value_enum, default_value = "hour")]
    addiction_unit: FineUnit,

    /// Only events matching this expression.
    #[arg(short = 'w', long = "where", value_name = "EXPRESSION")]
    filter: Option<String>,
}

/// `KEY=VALUE`, VALUE read as JSON when it is JSON.
fn parse_param(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("`{text}` has no key before `=`"));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
    Ok((key.to_owned(), value))
}

/// Runs a `query` subcommand.
pub async fn run(context: &mut Context, command: &QueryCommand) -> anyhow::Result<()> {
    // Everything that can be judged without Mixpanel is, before credentials are even
    // looked at, so a typo never costs a request.
    check(command)?;
    let script = match command {
        QueryCommand::Jql(args) => Some(read_script(args).await?),
        _ => None,
    };
    context
        .with_client(async |context, client| {
            let query = LiveQuery::new(client);
            let spinner = Spinner::start(&context.messages, &format!("running {}", label(command)));
            let presented = execute(&query, command, script).await;
            drop(spinner);
            presented?.emit(context)
        })
        .await
}

/// The command's name, for the spinner.
fn label(command: &QueryCommand) -> &'static str {
    match command {
        QueryCommand::Segmentation(_) => "segmentation",
        QueryCommand::SegmentationNumeric(_) => "numeric segmentation",
        QueryCommand::SegmentationSum(_) => "segmentation sum",
        QueryCommand::SegmentationAverage(_) => "segmentation average",
        QueryCommand::Funnel(_) => "funnel",
        QueryCommand::Retention(_) => "retention",
        QueryCommand::Jql(_) => "JQL",
        QueryCommand::EventCounts(_) => "event counts",
        QueryCommand::PropertyCounts(_) => "property counts",
        QueryCommand::ActivityFeed(_) => "activity feed",
        QueryCommand::SavedReport(_) => "saved report",
        QueryCommand::Flows(_) => "flows",
        QueryCommand::Frequency(_) => "frequency",
    }
}

/// The local checks of every command (see `input.rs`).
fn check(command: &QueryCommand) -> Result<(), CliError> {
    match command {
        QueryCommand::Segmentation(args) => {
            args.dates.check()?;
            check_on(args.on.as_deref())?;
            check_optional_expression("--where", args.filter.as_deref())
        }
        QueryCommand::SegmentationNumeric(args) => {
            args.dates.check()?;
            check_on(Some(&args.on))?;
            check_optional_expression("--where", args.filter.as_deref())
        }
        QueryCommand::SegmentationSum(args) | QueryCommand::SegmentationAverage(args) => {
            args.dates.check()?;
            check_on(Some(&args.on))?;
            check_optional_expression("--where", args.filter.as_deref())
        }
        QueryCommand::Funnel(args) => {
            args.dates.check()?;
            check_on(args.on.as_deref())?;
            check_optional_expression("--where", args.filter.as_deref())
        }
        QueryCommand::Retention(args) => {
            args.dates.check()?;
            check_optional_expression("--born-where", args.born_filter.as_deref())?;
            check_optional_expression("--return-where", args.return_filter.as_deref())
        }
        QueryCommand::Jql(_) | QueryCommand::Flows(_) => Ok(()),
        QueryCommand::EventCounts(args) => {
            args.dates.check()?;
            if args.events.iter().all(|event| event.trim().is_empty()) {
                return Err(CliError::usage("`--events` names no event"));
            }
            Ok(())
        }
        QueryCommand::PropertyCounts(args) => args.dates.check(),
        QueryCommand::ActivityFeed(args) => {
            args.dates.check()?;
            if args.users.iter().all(|user| user.trim().is_empty()) {
                return Err(CliError::usage("`--users` names no user"));
            }
            Ok(())
        }
        QueryCommand::SavedReport(args) => {
            if args.report_type != ReportTypeArg::Funnels
                && (args.from.is_some() || args.to.is_some())
            {
                return Err(
                    CliError::usage("`--from` and `--to` apply only to `--type funnels`")
                        .with_hint("other saved reports are computed over their own saved dates"),
                );
            }
            if let (Some(from), Some(to)) = (args.from, args.to)
                && from > to
            {
                return Err(CliError::usage(format!(
                    "`--from` {from} is after `--to` {to}"
                )));
            }
            Ok(())
        }
        QueryCommand::Frequency(args) => {
            args.dates.check()?;
            check_optional_expression("--where", args.filter.as_deref())
        }
    }
}

/// `--on` as sent: a bare name becomes `properties["name"]`.
fn on_expression(on: &str) -> String {
    normalize_on_expression(on)
}

fn check_on(on: Option<&str>) -> Result<(), CliError> {
    match on {
        Some(on) => check_expression("--on", &on_expression(on)),
        None => Ok(()),
    }
}

/// Reads the JQL script from `--script`, a file or standard input.
async fn read_script(args: &JqlArgs) -> Result<String, CliError> {
    let script = match (&args.script, &args.file) {
        (Some(script), _) => script.clone(),
        (None, Some(path)) if path.as_os_str() == "-" => {
            // Off the runtime's thread, so Ctrl-C still interrupts a waiting read.
            tokio::task::spawn_blocking(|| std::io::read_to_string(std::io::stdin()))
                .await
                .map_err(|error| CliError::usage("cannot read the JQL script").with_source(error))?
                .map_err(|error| {
                    CliError::usage("cannot read the JQL script from standard input")
                        .with_source(error)
                })?
        }
        (None, Some(path)) => tokio::fs::read_to_string(path).await.map_err(|error| {
            CliError::usage(format!("cannot read the JQL script `{}`", path.display()))
                .with_source(error)
        })?,
        // clap requires one of the two.
        (None, None) => return Err(CliError::usage("give a script file or `--script`")),
    };
    if script.trim().is_empty() {
        return Err(CliError::usage("the JQL script is empty"));
    }
    Ok(script)
}

/// Runs the query and builds what is printed.
async fn execute(
    query: &LiveQuery,
    command: &QueryCommand,
    script: Option<String>,
) -> anyhow::Result<Presented> {
    let today = query.today();
    match command {
        QueryCommand::Segmentation(args) => {
            let (from_date, to_date) = args.dates.resolve(today)?;
            let mut options = SegmentationOptions::new(args.event.as_str(), from_date, to_date);
            options.on = args.on.as_deref().map(on_expression);
            options.unit = args.unit.into();
            options.count_type = args.count_type.into();
            options.filter = args.filter.clone();
            let result = query.segmentation(&options).await?;
            Presented::new(&result, result.table())
        }
        QueryCommand::SegmentationNumeric(args) => {
            let (from_date, to_date) = args.dates.resolve(today)?;
            let mut options = NumericBucketsOptions::new(
                args.event.as_str(),
                from_date,
                to_date,
                on_expression(&args.on),
            );
            options.unit = args.unit.into();
            options.count_type = args.count_type.into();
            options.filter = args.filter.clone();
            let result = query.segmentation_numeric(&options).await?;
            Presented::new(&result, result.table())
        }
        QueryCommand::SegmentationSum(args) => {
            let options = aggregate_options(args, today)?;
            let result = query.segmentation_sum(&options).await?;
            Presented::new(&result, result.table())
        }
        QueryCommand::SegmentationAverage(args) => {
            let options = aggregate_options(args, today)?;
            let result = query.segmentation_average(&options).await?;
            Presented::new(&result, result.table())
        }
        QueryCommand::Funnel(args) => {
            let (from_date, to_date) = args.dates.resolve(today)?;
            let mut options = FunnelOptions::new(args.funnel_id, from_date, to_date);
            options.unit = args.unit.map(Into::into);
            options.on = args.on.as_deref().map(on_expression);
            options.filter = args.filter.clone();
            let result = query
                .funnel(&options)
                .await
                .map_err(|error| funnel_error(args.funnel_id, error))?;
            Presented::new(&result, result.table())
        }
        QueryCommand::Retention(args) => {
            let (from_date, to_date) = args.dates.resolve(today)?;
            let mut options = RetentionOptions::new(
                args.born_event.as_str(),
                args.return_event.as_str(),
                from_date,
                to_date,
            );
            options.born_filter = args.born_filter.clone();
            options.return_filter = args.return_filter.clone();
            options.interval = args.interval;
            options.interval_count = args.interval_count;
            options.unit = args.unit.into();
            let result = query.retention(&options).await?;
            Presented::new(&result, result.table())
        }
        QueryCommand::Jql(args) => {
            let mut options = JqlOptions::new(script.unwrap_or_default());
            if !args.params.is_empty() {
                let params: Map<String, Value> = args.params.iter().cloned().collect();
                options.params = Some(Value::Object(params));
            }
            let result = query.jql(&options).await?;
            Presented::new(&result, result.table())
        }
        QueryCommand::EventCounts(args) => {
            let (from_date, to_date) = args.dates.resolve(today)?;
            let events = args
                .events
                .iter()
                .map(|event| event.trim().to_owned())
                .filter(|event| !event.is_empty())
                .collect();
            let mut options = EventCountsOptions::new(events, from_date, to_date);
            options.count_type = args.count_type.into();
            options.unit = args.unit.into();
            let result = query.event_counts(&options).await?;
            Presented::new(&result, result.table())
        }
        QueryCommand::PropertyCounts(args) => {
            let (from_date, to_date) = args.dates.resolve(today)?;
            let mut options = PropertyCountsOptions::new(
                args.event.as_str(),
                args.property.as_str(),
                from_date,
                to_date,
            );
            options.count_type = args.count_type.into();
            options.unit = args.unit.into();
            options.limit = Some(args.limit);
            let result = query.property_counts(&options).await?;
            Presented::new(&result, result.table())
        }
        QueryCommand::ActivityFeed(args) => {
            let (from_date, to_date) = args.dates.resolve(today)?;
            let users = args
                .users
                .iter()
                .map(|user| user.trim().to_owned())
                .filter(|user| !user.is_empty())
                .collect();
            let mut options = ActivityFeedOptions::new(users);
            options.from_date = from_date;
            options.to_date = to_date;
            let result = query.activity_feed(&options).await?;
            Presented::new(&result, result.table())
        }
        QueryCommand::SavedReport(args) => {
            let mut options = SavedReportOptions::new(args.bookmark_id);
            options.report_type = args.report_type.into();
            options.from_date = args.from.map(|date| date.to_string());
            options.to_date = args.to.map(|date| date.to_string());
            let result = query
                .saved_report(&options)
                .await
                .map_err(|error| report_error(args.bookmark_id, error))?;
            let sankey = match result.report_type {
                ReportType::Flows => result
                    .series
                    .get("steps")
                    .and_then(Value::as_array)
                    .and_then(|steps| sankey_table(steps)),
                _ => None,
            };
            let table = sankey.unwrap_or_else(|| result.table());
            Presented::new(&result, table)
        }
        QueryCommand::Flows(args) => {
            let result = query
                .saved_flows(args.bookmark_id)
                .await
                .map_err(|error| report_error(args.bookmark_id, error))?;
            let table = sankey_table(&result.steps).unwrap_or_else(|| result.table());
            Presented::new(&result, table)
        }
        QueryCommand::Frequency(args) => {
            let (from_date, to_date) = args.dates.resolve(today)?;
            let mut options = FrequencyOptions::new(from_date, to_date);
            options.unit = args.unit.into();
            options.addiction_unit = args.addiction_unit.into();
            options.event = args.event.clone();
            options.filter = args.filter.clone();
            let result = query.frequency(&options).await?;
            Presented::new(&result, result.table())
        }
    }
}

/// The steps of a Flows report as a person reads them, one row per node: `step`,
/// `event`, `type`, `count`, `anchor_type`; `None` when the steps are not in the
/// sankey shape (`[{"nodes": [{"event", "type", "totalCount", "anchorType"}]}]`).
fn sankey_table(steps: &[Value]) -> Option<Table> {
    if steps.is_empty()
        || !steps
            .iter()
            .all(|step| step.get("nodes").is_some_and(Value::is_array))
    {
        return None;
    }
    let mut table = Table::new(
        ["step", "event", "type", "count", "anchor_type"]
            .map(str::to_owned)
            .to_vec(),
    );
    for (index, step) in steps.iter().enumerate() {
        for node in step["nodes"].as_array().into_iter().flatten() {
            // Mixpanel sends `totalCount` as a string.
            let count = match node.get("totalCount") {
                Some(Value::String(text)) => text
                    .parse::<i64>()
                    .map_or_else(|_| Value::from(text.as_str()), Value::from),
                Some(other) => other.clone(),
                None => Value::Null,
            };
            table.push_row(vec![
                Value::from(index + 1),
                node.get("event").cloned().unwrap_or(Value::Null),
                node.get("type").cloned().unwrap_or(Value::Null),
                count,
                node.get("anchorType").cloned().unwrap_or(Value::Null),
            ]);
        }
    }
    Some(table)
}

fn aggregate_options(
    args: &AggregateArgs,
    today: Date,
) -> Result<NumericAggregateOptions, CliError> {
    let (from_date, to_date) = args.dates.resolve(today)?;
    let mut options = NumericAggregateOptions::new(
        args.event.as_str(),
        from_date,
        to_date,
        on_expression(&args.on),
    );
    options.unit = args.unit.into();
    options.filter = args.filter.clone();
    Ok(options)
}

/// Returns true if and only if Mixpanel said the thing asked for does not exist: a
/// 404, or a 400 whose message names `what` (Mixpanel answers an unknown funnel id
/// with a 400 on some hosts).
fn is_unknown(error: &mp_query::Error, what: &str) -> bool {
    let Some(http) = error.http_error() else {
        return false;
    };
    match http.kind() {
        mp_http::ErrorKind::NotFound => true,
        mp_http::ErrorKind::BadRequest => http
            .server_message()
            .is_some_and(|message| message.to_lowercase().contains(what)),
        _ => false,
    }
}

fn funnel_error(funnel_id: u64, error: mp_query::Error) -> anyhow::Error {
    if is_unknown(&error, "funnel") {
        return CliError::new(
            ExitStatus::NotFound,
            format!("no saved funnel with id {funnel_id} in this project"),
        )
        .with_hint("list the project's saved funnels with `mp inspect funnels`")
        .with_source(error)
        .into();
    }
    error.into()
}

fn report_error(bookmark_id: u64, error: mp_query::Error) -> anyhow::Error {
    if is_unknown(&error, "bookmark") {
        return CliError::new(
            ExitStatus::NotFound,
            format!("no saved report with bookmark id {bookmark_id} in this project"),
        )
        .with_hint("list the project's saved reports with `mp inspect bookmarks`")
        .with_source(error)
        .into();
    }
    error.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_params() {
        assert_eq!(
            parse_param("from=2024-01-01"),
            Ok(("from".to_owned(), Value::from("2024-01-01")))
        );
        assert_eq!(
            parse_param("events=[\"a\",\"b\"]"),
            Ok(("events".to_owned(), serde_json::json!(["a", "b"])))
        );
        assert_eq!(parse_param("n=3"), Ok(("n".to_owned(), Value::from(3))));
        assert_eq!(
            parse_param("empty="),
            Ok(("empty".to_owned(), Value::from("")))
        );
        assert!(parse_param("novalue").is_err());
        assert!(parse_param("=1").is_err());
    }
}
