//! What each live query asks for: one options struct per query, with the defaults of Mixpanel's official client,
//! and the small enums they share.
//!
//! Dates are `YYYY-MM-DD` strings, checked by the query method before anything is sent (see [`crate::DateRange`]
//! for building them from a relative range). Optional expressions (`on`, `where`) are sent only when non-empty, as
//! the official client does. `on` is sent verbatim: use [`normalize_on_expression`] to accept a bare property name.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

/// The `interval_count` of [`RetentionOptions::new`]: the official CLI's and facade's default.
pub const DEFAULT_RETENTION_INTERVAL_COUNT: u32 = 10;

/// The window of a saved funnel report when its dates are not given: 30 days back from the end date.
pub const SAVED_FUNNEL_DEFAULT_DAYS: i64 = 30;

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$variant_meta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $wire)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            /// Parses the wire spelling, ignoring ASCII case.
            fn from_str(text: &str) -> Result<$name, String> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str().eq_ignore_ascii_case(text))
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|value| value.as_str()).collect();
                        format!("`{text}` is not {} ({})", $what, names.join(", "))
                    })
            }
        }
    };
}

wire_enum! {
    /// A time unit: the granularity of a series (`unit`), or of a frequency bucket (`addiction_unit`).
    ///
    /// Note that endpoints accept different subsets: segmentation takes all five, the numeric variants `hour` and
    /// `day`, event and property counts `day`, `week` and `month`, retention `day`, `week` and `month`.
    Unit, "a time unit" {
        /// `minute`.
        Minute => "minute",
        /// `hour`.
        Hour => "hour",
        /// `day`, every endpoint's default series unit.
        #[default]
        Day => "day",
        /// `week`.
        Week => "week",
        /// `month`.
        Month => "month",
    }
}

wire_enum! {
    /// What is counted (`type`): every event, unique users, or events per user.
    CountType, "a count type" {
        /// Every event (`general`), the default.
        #[default]
        General => "general",
        /// Unique users (`unique`).
        Unique => "unique",
        /// Events per user (`average`).
        Average => "average",
    }
}

wire_enum! {
    /// How retention cohorts are formed (`retention_type`).
    RetentionType, "a retention type" {
        /// By the day of the first (born) event (`birth`), the official client's only choice.
        #[default]
        Birth => "birth",
        /// Compounded: each return counted against every earlier one (`compounded`).
        Compounded => "compounded",
    }
}

wire_enum! {
    /// The kind of a saved report, which decides the endpoint [`crate::LiveQuery::saved_report`] queries.
    ReportType, "a saved report type" {
        /// An Insights report: `GET /insights?bookmark_id=`. The official client's default.
        #[default]
        Insights => "insights",
        /// A Funnels report: `GET /funnels?funnel_id=&from_date=&to_date=`.
        Funnels => "funnels",
        /// A Retention report: `GET /retention?bookmark_id=`.
        Retention => "retention",
        /// A Flows report: `GET /arb_funnels?bookmark_id=&query_type=flows_sankey`.
        Flows => "flows",
    }
}

/// Wraps a bare property name as `properties["name"]`, the expression `on` expects; text that already uses an
/// accessor (`properties["`, `user["`, `event["`) is returned unchanged. Backslashes and double quotes in a bare
/// name are escaped. This is what the official facade and CLI do with `--on`.
pub fn normalize_on_expression(on: &str) -> String {
    const ACCESSORS: [&str; 3] = ["properties[\"", "user[\"", "event[\""];
    if ACCESSORS.iter().any(|accessor| on.contains(accessor)) {
        return on.to_owned();
    }
    let escaped = on.replace('\\', "\\\\").replace('"', "\\\"");
    format!("properties[\"{escaped}\"]")
}

/// `GET /segmentation`: how often an event happened per time unit, optionally split by a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentationOptions {
    /// The event (`event`).
    pub event: String,
    /// First day, `YYYY-MM-DD` (`from_date`).
    pub from_date: String,
    /// Last day, `YYYY-MM-DD` (`to_date`).
    pub to_date: String,
    /// The property expression to segment by (`on`), e.g. `properties["country"]`.
    pub on: Option<String>,
    /// Series granularity (`unit`, default `day`).
    pub unit: Unit,
    /// What is counted (`type`, default `general`).
    pub count_type: CountType,
    /// Only events matching this expression (`where`).
    pub filter: Option<String>,
}

impl SegmentationOptions {
    /// `event` per day from `from_date` to `to_date`, every event counted, no segments.
    pub fn new(
        event: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
    ) -> SegmentationOptions {
        SegmentationOptions {
            event: event.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            on: None,
            unit: Unit::Day,
            count_type: CountType::General,
            filter: None,
        }
    }
}

/// `GET /segmentation/numeric`: events bucketed by ranges of a numeric property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumericBucketsOptions {
    /// The event (`event`).
    pub event: String,
    /// First day (`from_date`).
    pub from_date: String,
    /// Last day (`to_date`).
    pub to_date: String,
    /// The numeric property expression to bucket (`on`).
    pub on: String,
    /// Series granularity (`unit`: `hour` or `day`, default `day`).
    pub unit: Unit,
    /// What is counted (`type`, default `general`).
    pub count_type: CountType,
    /// Only events matching this expression (`where`).
    pub filter: Option<String>,
}

impl NumericBucketsOptions {
    /// Buckets of `on` for `event`, per day.
    pub fn new(
        event: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
        on: impl Into<String>,
    ) -> NumericBucketsOptions {
        NumericBucketsOptions {
            event: event.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            on: on.into(),
            unit: Unit::Day,
            count_type: CountType::General,
            filter: None,
        }
    }
}

/// `GET /segmentation/sum` and `GET /segmentation/average`: the sum or the average of a numeric property per time
/// unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumericAggregateOptions {
    /// The event (`event`).
    pub event: String,
    /// First day (`from_date`).
    pub from_date: String,
    /// Last day (`to_date`).
    pub to_date: String,
    /// The numeric property expression (`on`).
    pub on: String,
    /// Series granularity (`unit`: `hour` or `day`, default `day`).
    pub unit: Unit,
    /// Only events matching this expression (`where`).
    pub filter: Option<String>,
}

impl NumericAggregateOptions {
    /// `on` of `event`, per day.
    pub fn new(
        event: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
        on: impl Into<String>,
    ) -> NumericAggregateOptions {
        NumericAggregateOptions {
            event: event.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            on: on.into(),
            unit: Unit::Day,
            filter: None,
        }
    }
}

/// `GET /funnels`: a saved funnel's steps over a date range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelOptions {
    /// The saved funnel (`funnel_id`), as listed by discovery.
    pub funnel_id: u64,
    /// First day (`from_date`).
    pub from_date: String,
    /// Last day (`to_date`).
    pub to_date: String,
    /// Group the counts by this unit (`unit`); `None` lets Mixpanel choose.
    pub unit: Option<Unit>,
    /// Segment by this property expression (`on`, sent verbatim).
    pub on: Option<String>,
    /// Only events matching this expression (`where`).
    pub filter: Option<String>,
    /// Conversion window length (`length`), in `length_unit`s.
    pub length: Option<u32>,
    /// Conversion window unit (`length_unit`).
    pub length_unit: Option<Unit>,
}

impl FunnelOptions {
    /// Funnel `funnel_id` from `from_date` to `to_date`, with the funnel's own settings.
    pub fn new(
        funnel_id: u64,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
    ) -> FunnelOptions {
        FunnelOptions {
            funnel_id,
            from_date: from_date.into(),
            to_date: to_date.into(),
            unit: None,
            on: None,
            filter: None,
            length: None,
            length_unit: None,
        }
    }
}

/// `GET /retention`: of the users who did `born_event` on a day, how many did `return_event` in each following
/// interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOptions {
    /// The event that puts a user in a cohort (`born_event`).
    pub born_event: String,
    /// The event that counts as coming back (`event`).
    pub return_event: String,
    /// First cohort day (`from_date`).
    pub from_date: String,
    /// Last cohort day (`to_date`).
    pub to_date: String,
    /// How cohorts are formed (`retention_type`, default `birth`).
    pub retention_type: RetentionType,
    /// Only born events matching this expression (`born_where`).
    pub born_filter: Option<String>,
    /// Only return events matching this expression (`where`).
    pub return_filter: Option<String>,
    /// The interval length in days (`interval`, default 1). Note that Mixpanel takes `interval` or `unit`, never
    /// both: 1 sends `unit`, anything else sends `interval` and leaves `unit` out.
    pub interval: u32,
    /// How many intervals to follow (`interval_count`, default [`DEFAULT_RETENTION_INTERVAL_COUNT`]).
    pub interval_count: u32,
    /// The interval unit (`unit`: `day`, `week` or `month`, default `day`), sent when `interval` is 1.
    pub unit: Unit,
}

impl RetentionOptions {
    /// Daily retention of `born_event` users coming back with `return_event`, over 10 intervals.
    pub fn new(
        born_event: impl Into<String>,
        return_event: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
    ) -> RetentionOptions {
        RetentionOptions {
            born_event: born_event.into(),
            return_event: return_event.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            retention_type: RetentionType::Birth,
            born_filter: None,
            return_filter: None,
            interval: 1,
            interval_count: DEFAULT_RETENTION_INTERVAL_COUNT,
            unit: Unit::Day,
        }
    }
}

/// `POST /jql`: a JQL script and its parameters.
///
/// Note that Mixpanel lists JQL as being in maintenance mode: it still answers, but gets no new features, and the
/// official client has dropped it.
#[derive(Debug, Clone, PartialEq)]
pub struct JqlOptions {
    /// The JavaScript source (`script`).
    pub script: String,
    /// The object made available to the script as `params` (`params`, sent as JSON text), if any.
    pub params: Option<Value>,
}

impl JqlOptions {
    /// `script` without parameters.
    pub fn new(script: impl Into<String>) -> JqlOptions {
        JqlOptions {
            script: script.into(),
            params: None,
        }
    }
}

/// `GET /events`: counts of several events per time unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCountsOptions {
    /// The events (`event`, sent as a JSON list; an empty list gets an empty series).
    pub events: Vec<String>,
    /// First day (`from_date`).
    pub from_date: String,
    /// Last day (`to_date`).
    pub to_date: String,
    /// What is counted (`type`, default `general`).
    pub count_type: CountType,
    /// Series granularity (`unit`: `day`, `week` or `month`, default `day`).
    pub unit: Unit,
}

impl EventCountsOptions {
    /// Daily counts of `events`.
    pub fn new(
        events: Vec<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
    ) -> EventCountsOptions {
        EventCountsOptions {
            events,
            from_date: from_date.into(),
            to_date: to_date.into(),
            count_type: CountType::General,
            unit: Unit::Day,
        }
    }
}

/// `GET /events/properties`: how often each value of a property occurred on an event, per time unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyCountsOptions {
    /// The event (`event`).
    pub event: String,
    /// The property (`name`).
    pub property: String,
    /// First day (`from_date`).
    pub from_date: String,
    /// Last day (`to_date`).
    pub to_date: String,
    /// What is counted (`type`, default `general`).
    pub count_type: CountType,
    /// Series granularity (`unit`, default `day`).
    pub unit: Unit,
    /// Only these values (`values`, sent as a JSON list), if given.
    pub values: Option<Vec<String>>,
    /// At most this many values (`limit`; Mixpanel's default is 255).
    pub limit: Option<u32>,
}

impl PropertyCountsOptions {
    /// Daily counts of every value of `property` on `event`.
    pub fn new(
        event: impl Into<String>,
        property: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
    ) -> PropertyCountsOptions {
        PropertyCountsOptions {
            event: event.into(),
            property: property.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            count_type: CountType::General,
            unit: Unit::Day,
            values: None,
            limit: None,
        }
    }
}

/// `GET /stream/query`: the events of a few users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityFeedOptions {
    /// The users (`distinct_ids`, sent as a JSON list). Must not be empty.
    pub distinct_ids: Vec<String>,
    /// First day (`from_date`), if any.
    pub from_date: Option<String>,
    /// Last day (`to_date`), if any.
    pub to_date: Option<String>,
}

impl ActivityFeedOptions {
    /// The recent events of `distinct_ids`.
    pub fn new(distinct_ids: Vec<String>) -> ActivityFeedOptions {
        ActivityFeedOptions {
            distinct_ids,
            from_date: None,
            to_date: None,
        }
    }
}

/// A saved report by its bookmark id; the type decides the endpoint (see [`ReportType`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedReportOptions {
    /// The report (`bookmark_id`; sent as `funnel_id` for funnels).
    pub bookmark_id: u64,
    /// Its type (default `insights`).
    pub report_type: ReportType,
    /// First day, used by funnels only. When missing it is 30 days before `to_date`.
    pub from_date: Option<String>,
    /// Last day, used by funnels only. When missing it is 30 days after `from_date` but not after today, or today
    /// when neither is given.
    pub to_date: Option<String>,
}

impl SavedReportOptions {
    /// Insights report `bookmark_id`.
    pub fn new(bookmark_id: u64) -> SavedReportOptions {
        SavedReportOptions {
            bookmark_id,
            report_type: ReportType::Insights,
            from_date: None,
            to_date: None,
        }
    }
}

/// `GET /retention/addiction`: how many users did an event in exactly N sub-periods of each period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrequencyOptions {
    /// First day (`from_date`).
    pub from_date: String,
    /// Last day (`to_date`).
    pub to_date: String,
    /// The period (`unit`: `day`, `week` or `month`, default `day`).
    pub unit: Unit,
    /// The sub-period counted within each period (`addiction_unit`: `hour` or `day`, default `hour`).
    pub addiction_unit: Unit,
    /// Only this event (`event`); every event when `None`.
    pub event: Option<String>,
    /// Only events matching this expression (`where`).
    pub filter: Option<String>,
    /// Segment by this property expression (`on`).
    pub on: Option<String>,
    /// At most this many segments (`limit`).
    pub limit: Option<u32>,
}

impl FrequencyOptions {
    /// Hours active per day, every event.
    pub fn new(from_date: impl Into<String>, to_date: impl Into<String>) -> FrequencyOptions {
        FrequencyOptions {
            from_date: from_date.into(),
            to_date: to_date.into(),
            unit: Unit::Day,
            addiction_unit: Unit::Hour,
            event: None,
            filter: None,
            on: None,
            limit: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_become_property_expressions() {
        assert_eq!(
            normalize_on_expression("country"),
            r#"properties["country"]"#
        );
        assert_eq!(
            normalize_on_expression(r#"properties["country"]"#),
            r#"properties["country"]"#
        );
        assert_eq!(
            normalize_on_expression(r#"user["plan"]"#),
            r#"user["plan"]"#
        );
        assert_eq!(
            normalize_on_expression(r#"my"odd\name"#),
            r#"properties["my\"odd\\name"]"#
        );
    }

    #[test]
    fn enums_parse_their_wire_spelling() {
        assert_eq!("WEEK".parse::<Unit>(), Ok(Unit::Week));
        assert_eq!("unique".parse::<CountType>(), Ok(CountType::Unique));
        assert_eq!("flows".parse::<ReportType>(), Ok(ReportType::Flows));
        assert_eq!(
            "fortnight".parse::<Unit>().unwrap_err(),
            "`fortnight` is not a time unit (minute, hour, day, week, month)"
        );
    }
}
