//! What the sandbox's projects have saved: funnels, cohorts, reports (bookmarks) and Lexicon
//! schemas.
//!
//! Everything here is a constant definition; the answers (step counts, cohort sizes, report
//! series) are computed from the dataset when asked, so a saved funnel agrees with export
//! like every other endpoint. Both projects save the same definitions, so a test can query
//! project 2 by the same ids and get the smaller shop's numbers.
//!
//! Ids are disjoint per kind of object (funnels 1001…, cohorts 501…, other reports 2001…),
//! except that a funnel report's bookmark id *is* its funnel id: Mixpanel's client queries a
//! saved funnel report as `/funnels?funnel_id=<bookmark_id>`.

use crate::catalog::EventKind;
use crate::civil::SECONDS_PER_DAY;
use crate::dataset::Dataset;

/// The unit of a funnel's conversion window (`length_unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LengthUnit {
    Second,
    Minute,
    Hour,
    Day,
}

impl LengthUnit {
    pub(crate) fn parse(text: &str) -> Option<LengthUnit> {
        match text {
            "second" => Some(LengthUnit::Second),
            "minute" => Some(LengthUnit::Minute),
            "hour" => Some(LengthUnit::Hour),
            "day" => Some(LengthUnit::Day),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            LengthUnit::Second => "second",
            LengthUnit::Minute => "minute",
            LengthUnit::Hour => "hour",
            LengthUnit::Day => "day",
        }
    }

    pub(crate) fn seconds(self) -> i64 {
        match self {
            LengthUnit::Second => 1,
            LengthUnit::Minute => 60,
            LengthUnit::Hour => 3600,
            LengthUnit::Day => SECONDS_PER_DAY,
        }
    }
}

/// A saved funnel: ordered steps and a conversion window.
#[derive(Debug)]
pub(crate) struct SavedFunnel {
    pub(crate) id: u64,
    pub(crate) name: &'static str,
    pub(crate) steps: &'static [EventKind],
    pub(crate) length: u32,
    pub(crate) length_unit: LengthUnit,
}

pub(crate) const FUNNELS: [SavedFunnel; 3] = [
    SavedFunnel {
        id: 1001,
        name: "Signup to Purchase",
        steps: &[EventKind::SignUp, EventKind::ViewItem, EventKind::Purchase],
        length: 14,
        length_unit: LengthUnit::Day,
    },
    SavedFunnel {
        id: 1002,
        name: "Browse to Buy",
        steps: &[
            EventKind::ViewItem,
            EventKind::AddToCart,
            EventKind::Purchase,
        ],
        length: 1,
        length_unit: LengthUnit::Day,
    },
    SavedFunnel {
        id: 1003,
        name: "Search to Cart",
        steps: &[EventKind::Search, EventKind::ViewItem, EventKind::AddToCart],
        length: 30,
        length_unit: LengthUnit::Minute,
    },
];

pub(crate) fn funnel(id: u64) -> Option<&'static SavedFunnel> {
    FUNNELS.iter().find(|funnel| funnel.id == id)
}

/// Who belongs to a cohort, evaluated over the dataset's whole window.
#[derive(Debug)]
pub(crate) enum CohortRule {
    /// Did `kind` at least `at_least` times.
    DidEvent { kind: EventKind, at_least: u32 },
    /// The profile's `plan` is one of these.
    PlanIn(&'static [&'static str]),
    /// Signed up in the last `days` days of the window.
    SignedUpInLastDays(i64),
}

/// A saved cohort.
#[derive(Debug)]
pub(crate) struct SavedCohort {
    pub(crate) id: u64,
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) is_visible: bool,
    pub(crate) created: &'static str,
    pub(crate) rule: CohortRule,
}

pub(crate) const COHORTS: [SavedCohort; 4] = [
    SavedCohort {
        id: 501,
        name: "Purchasers",
        description: "Users who made at least one purchase",
        is_visible: true,
        created: "2024-01-02 09:00:00",
        rule: CohortRule::DidEvent {
            kind: EventKind::Purchase,
            at_least: 1,
        },
    },
    SavedCohort {
        id: 502,
        name: "Power Shoppers",
        description: "Users who made three purchases or more",
        is_visible: true,
        created: "2024-01-02 09:05:00",
        rule: CohortRule::DidEvent {
            kind: EventKind::Purchase,
            at_least: 3,
        },
    },
    SavedCohort {
        id: 503,
        name: "Paid Plans",
        description: "Profiles on the pro or enterprise plan",
        is_visible: true,
        created: "2024-01-03 14:30:00",
        rule: CohortRule::PlanIn(&["pro", "enterprise"]),
    },
    SavedCohort {
        id: 504,
        name: "New Users (7 days)",
        description: "Users who signed up in the last 7 days of data",
        is_visible: false,
        created: "2024-01-04 08:15:00",
        rule: CohortRule::SignedUpInLastDays(7),
    },
];

pub(crate) fn cohort(id: u64) -> Option<&'static SavedCohort> {
    COHORTS.iter().find(|cohort| cohort.id == id)
}

/// Returns, per user index, whether the user belongs to the cohort.
pub(crate) fn cohort_members(dataset: &Dataset, cohort: &SavedCohort) -> Vec<bool> {
    match &cohort.rule {
        CohortRule::DidEvent { kind, at_least } => dataset
            .user_event_counts()
            .iter()
            .map(|counts| counts[*kind as usize] >= *at_least)
            .collect(),
        CohortRule::PlanIn(plans) => dataset
            .users()
            .iter()
            .map(|user| plans.contains(&user.plan_name()))
            .collect(),
        CohortRule::SignedUpInLastDays(days) => {
            let since = (dataset.last_day() - days + 1) * SECONDS_PER_DAY;
            let until = dataset.now();
            dataset
                .users()
                .iter()
                .map(|user| (since..until).contains(&user.signup_time))
                .collect()
        }
    }
}

/// What a saved report computes.
#[derive(Debug)]
pub(crate) enum Report {
    /// Insights: the daily totals of some events over the last 30 days.
    Insights { events: &'static [EventKind] },
    /// A funnel report: the saved funnel of the same id.
    Funnel,
    /// Birth retention over the last 30 days.
    Retention {
        born: EventKind,
        event: EventKind,
        interval_count: u32,
    },
    /// Flows: the paths of `forward` events after each user's first `anchor` of the last 30
    /// days.
    Flows { anchor: EventKind, forward: usize },
}

/// A saved report (bookmark).
#[derive(Debug)]
pub(crate) struct SavedReport {
    pub(crate) id: u64,
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) created: &'static str,
    pub(crate) modified: &'static str,
    pub(crate) report: Report,
}

impl SavedReport {
    /// The bookmark `type` Mixpanel lists it under.
    pub(crate) fn kind(&self) -> &'static str {
        match self.report {
            Report::Insights { .. } => "insights",
            Report::Funnel => "funnels",
            Report::Retention { .. } => "retention",
            Report::Flows { .. } => "flows",
        }
    }
}

/// The days a saved report covers: its last 30 days up to the sandbox's "today".
pub(crate) const REPORT_DAYS: i64 = 30;

pub(crate) const REPORTS: [SavedReport; 7] = [
    SavedReport {
        id: 2001,
        name: "Daily Purchases",
        description: "Purchases per day over the last 30 days",
        created: "2024-01-05T10:00:00",
        modified: "2024-02-01T16:20:00",
        report: Report::Insights {
            events: &[EventKind::Purchase],
        },
    },
    SavedReport {
        id: 2002,
        name: "Sign Ups and Logins",
        description: "New and returning users per day",
        created: "2024-01-05T10:10:00",
        modified: "2024-01-05T10:10:00",
        report: Report::Insights {
            events: &[EventKind::SignUp, EventKind::Login],
        },
    },
    SavedReport {
        id: 1001,
        name: "Signup to Purchase",
        description: "",
        created: "2024-01-06T11:00:00",
        modified: "2024-01-06T11:00:00",
        report: Report::Funnel,
    },
    SavedReport {
        id: 1002,
        name: "Browse to Buy",
        description: "",
        created: "2024-01-06T11:05:00",
        modified: "2024-01-20T09:45:00",
        report: Report::Funnel,
    },
    SavedReport {
        id: 1003,
        name: "Search to Cart",
        description: "",
        created: "2024-01-06T11:10:00",
        modified: "2024-01-06T11:10:00",
        report: Report::Funnel,
    },
    SavedReport {
        id: 3001,
        name: "Sign Up Retention",
        description: "Do new users come back and log in?",
        created: "2024-01-07T13:00:00",
        modified: "2024-01-07T13:00:00",
        report: Report::Retention {
            born: EventKind::SignUp,
            event: EventKind::Login,
            interval_count: 7,
        },
    },
    SavedReport {
        id: 4001,
        name: "After Login",
        description: "What users do after logging in",
        created: "2024-01-08T15:00:00",
        modified: "2024-01-08T15:00:00",
        report: Report::Flows {
            anchor: EventKind::Login,
            forward: 3,
        },
    },
];

pub(crate) fn report(id: u64) -> Option<&'static SavedReport> {
    REPORTS.iter().find(|report| report.id == id)
}

/// A property in a Lexicon schema: name, JSON type, description.
pub(crate) type SchemaProperty = (&'static str, &'static str, &'static str);

/// The properties every event carries, as Lexicon describes them.
const COMMON_EVENT_PROPERTIES: [SchemaProperty; 4] = [
    ("country", "string", "Two-letter country code of the user"),
    ("os", "string", "Operating system"),
    ("browser", "string", "Browser or app"),
    ("platform", "string", "web, ios or android"),
];

/// Returns the Lexicon description and the specific properties of an event.
pub(crate) fn event_schema(kind: EventKind) -> (&'static str, &'static [SchemaProperty]) {
    match kind {
        EventKind::SignUp => (
            "A user created an account",
            &[("plan", "string", "The plan chosen at sign-up")],
        ),
        EventKind::Login => ("A returning user started a session", &[]),
        EventKind::Search => (
            "A user searched the catalogue",
            &[("search_term", "string", "What was searched for")],
        ),
        EventKind::ViewItem => (
            "A user opened an item's page",
            &[("item_id", "string", "The item, item-000 to item-239")],
        ),
        EventKind::AddToCart => (
            "A user put an item in the cart",
            &[("item_id", "string", "The item, item-000 to item-239")],
        ),
        EventKind::Purchase => (
            "A user bought the item in the cart",
            &[
                ("item_id", "string", "The item, item-000 to item-239"),
                ("amount", "number", "The price paid"),
                ("currency", "string", "ISO currency code of the amount"),
            ],
        ),
        EventKind::Logout => ("A user logged out", &[]),
    }
}

/// The common event properties of every event schema.
pub(crate) fn common_event_properties() -> &'static [SchemaProperty] {
    &COMMON_EVENT_PROPERTIES
}

/// The user-profile schema (Lexicon's entity `profile`, name `$user`).
pub(crate) const PROFILE_SCHEMA: [SchemaProperty; 10] = [
    ("$created", "string", "When the user signed up"),
    ("$email", "string", "Email address"),
    ("$first_name", "string", "First name"),
    ("$last_name", "string", "Last name"),
    ("$name", "string", "Full name"),
    ("$country_code", "string", "Two-letter country code"),
    ("$os", "string", "Operating system"),
    ("$browser", "string", "Browser or app"),
    ("platform", "string", "web, ios or android"),
    ("plan", "string", "free, pro or enterprise"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_definitions_are_consistent() {
        // A funnel report's bookmark id is its funnel's id (Mixpanel's client queries
        // `/funnels?funnel_id=<bookmark_id>`), and every funnel has its report.
        for report in REPORTS.iter().filter(|report| report.kind() == "funnels") {
            assert!(funnel(report.id).is_some(), "report {}", report.id);
        }
        for saved_funnel in &FUNNELS {
            assert_eq!(
                report(saved_funnel.id).map(SavedReport::kind),
                Some("funnels")
            );
            assert!(saved_funnel.steps.len() >= 2);
        }
        let mut ids: Vec<u64> = REPORTS.iter().map(|report| report.id).collect();
        ids.extend(COHORTS.iter().map(|cohort| cohort.id));
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "ids are unique");
    }
}
