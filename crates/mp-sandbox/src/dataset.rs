//! The deterministic synthetic dataset: users with profiles, and their events.
//!
//! # Layout
//!
//! The dataset is never materialised. What is held in memory is small and proportional to the
//! number of *users* and *days*, never to the number of events:
//!
//! - the users, sorted by sign-up time, with their profile attributes and a pre-rendered JSON
//!   fragment each (a few hundred bytes per user);
//! - an event budget for every hour ("slice") of the window: how many events happen in it.
//!
//! The events of one slice are regenerated on demand from `derive(seed, slice)`, so any hour
//! of any day can be produced independently, in time order, by every endpoint. Export walks
//! slices in order and renders each into a reusable buffer; segmentation and the discovery
//! endpoints fold the same slices into small per-day count tables ([`DayStats`]), computed once
//! per day and cached. Because every answer is computed from the same generator, the endpoints
//! agree with each other by construction.
//!
//! # The generative model
//!
//! Users sign up at a uniformly random second (40 % of them before the window, so the first
//! hour already has returning users). A slice first replays the sign-ups that fall in it (a
//! `Sign Up` followed by a browsing session), then fills the rest of its budget with sessions
//! of users who had already signed up: `Login`, then a Markov chain over `Search`,
//! `View Item`, `Add To Cart`, `Purchase` and `Logout`. The budgets follow a weekly and a
//! daily rhythm plus a slow growth over the window, and add up exactly to the requested
//! number of events.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};

use crate::Error;
use crate::catalog::{
    COUNTRIES, EventKind, FIRST_NAMES, INSERT_ID_SALT, LAST_NAMES, N_EVENT_KINDS, N_ITEMS, PLANS,
    PLATFORMS, SEARCH_TERMS,
};
use crate::civil::{self, SECONDS_PER_DAY};
use crate::expr::{Lookup, Scope, Value};
use crate::rng::{SplitMix64, derive, mix64};

/// One hour: the unit of independent generation.
pub(crate) const SLICE_SECONDS: i64 = 3600;
/// Slices per day.
pub(crate) const SLICES_PER_DAY: usize = 24;
/// The longest session, in events after its first.
const MAX_SESSION_STEPS: usize = 40;
/// The largest window the sandbox accepts (ten years).
pub(crate) const MAX_DAYS: u32 = 3660;
/// The largest dataset the sandbox accepts. Far beyond what anyone streams through a test,
/// and small enough that per-slice counts fit comfortably in memory.
pub(crate) const MAX_EVENTS: u64 = 10_000_000_000;

/// The most users a dataset has. Users are the one part of the dataset held in memory
/// (about 300 bytes each), so beyond 2.5 million events the users become more active
/// instead of more numerous, and memory stays under about 30 MB.
pub(crate) const MAX_USERS: usize = 100_000;

/// Stream labels for [`derive()`], so that the users, the items and the slices draw from
/// unrelated random streams.
const USERS_STREAM: u64 = 1;
const USER_ATTRIBUTES_STREAM: u64 = 2 << 40;
const ITEMS_STREAM: u64 = 3 << 40;
const SLICES_STREAM: u64 = 4 << 40;

/// Relative activity per hour of the day (UTC; the audience is worldwide, so the curve is
/// gentle).
const HOUR_WEIGHTS: [u64; 24] = [
    40, 35, 30, 28, 28, 30, 38, 50, 62, 72, 80, 86, 90, 92, 95, 98, 100, 100, 96, 90, 80, 70, 58,
    48,
];

/// The properties whose per-day value counts are cached in [`DayStats`] (the others, such as
/// `distinct_id` or `$insert_id`, have too many values to be worth a table).
pub(crate) const CATEGORICAL_PROPERTIES: [&str; 9] = [
    "country",
    "os",
    "browser",
    "platform",
    "item_id",
    "amount",
    "currency",
    "search_term",
    "plan",
];
const PROP_COUNTRY: usize = 0;
const PROP_OS: usize = 1;
const PROP_BROWSER: usize = 2;
const PROP_PLATFORM: usize = 3;
const PROP_ITEM_ID: usize = 4;
const PROP_AMOUNT: usize = 5;
const PROP_CURRENCY: usize = 6;
const PROP_SEARCH_TERM: usize = 7;
const PROP_PLAN: usize = 8;
const N_CATEGORICAL: usize = CATEGORICAL_PROPERTIES.len();

/// The parameters a dataset is generated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DatasetConfig {
    pub(crate) seed: u64,
    pub(crate) events: u64,
    pub(crate) days: u32,
    /// The last day of the window, as a day number.
    pub(crate) end_day: i64,
}

/// A user of the synthetic product.
#[derive(Debug)]
pub(crate) struct User {
    pub(crate) distinct_id: Box<str>,
    pub(crate) signup_time: i64,
    first_name: u8,
    last_name: u8,
    country: u8,
    platform: u8,
    os: u8,
    browser: u8,
    plan: u8,
    /// `,"distinct_id":"…","$insert_id":"`: everything between `time` and the insert id.
    id_fragment: Box<[u8]>,
    /// `,"country":"US","os":"…","browser":"…","platform":"…"`.
    device_fragment: Box<[u8]>,
}

impl User {
    pub(crate) fn country_code(&self) -> &'static str {
        COUNTRIES[usize::from(self.country)].code
    }

    fn currency(&self) -> &'static str {
        COUNTRIES[usize::from(self.country)].currency
    }

    fn platform_name(&self) -> &'static str {
        PLATFORMS[usize::from(self.platform)].name
    }

    fn os_name(&self) -> &'static str {
        PLATFORMS[usize::from(self.platform)].systems[usize::from(self.os)].0
    }

    fn browser_name(&self) -> &'static str {
        PLATFORMS[usize::from(self.platform)].browsers[usize::from(self.browser)].0
    }

    pub(crate) fn plan_name(&self) -> &'static str {
        PLANS[usize::from(self.plan)].0
    }

    pub(crate) fn first_name(&self) -> &'static str {
        FIRST_NAMES[usize::from(self.first_name)]
    }

    pub(crate) fn last_name(&self) -> &'static str {
        LAST_NAMES[usize::from(self.last_name)]
    }

    /// Returns the profile's `$email`; unique because it embeds the start of the distinct id.
    pub(crate) fn email(&self) -> String {
        format!(
            "{}.{}.{}@example.com",
            self.first_name().to_ascii_lowercase(),
            self.last_name().to_ascii_lowercase(),
            &self.distinct_id[..8]
        )
    }
}

/// An item of the shop.
#[derive(Debug)]
struct Item {
    /// `item-042`.
    id: Box<str>,
    /// The price as Mixpanel would store a decimal amount, e.g. `19.99`.
    amount: Box<str>,
    /// `,"item_id":"item-042"`.
    fragment: Box<[u8]>,
    /// `,"item_id":"item-042","amount":19.99,"currency":"`.
    purchase_fragment: Box<[u8]>,
}

/// One generated event, compactly: everything else is derived from the user and the item.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    /// Unix seconds.
    pub(crate) time: i64,
    /// The `$insert_id`, as 64 bits (rendered as 16 hex digits). Unique in the dataset.
    pub(crate) insert_id: u64,
    /// Index into the dataset's users.
    pub(crate) user: u32,
    /// Index into the items (`View Item`, `Add To Cart`, `Purchase`).
    item: u16,
    pub(crate) kind: EventKind,
    /// Index into the search terms (`Search`).
    term: u8,
}

/// Per-day aggregates of one day, computed by one pass of the generator and cached.
#[derive(Debug, Default)]
pub(crate) struct DayStats {
    /// Events per kind.
    pub(crate) counts: [u64; N_EVENT_KINDS],
    /// Distinct users per kind.
    pub(crate) uniques: [u64; N_EVENT_KINDS],
    /// For each `(kind, categorical property)`, the count of events per value code.
    values: Vec<HashMap<u32, u64>>,
}

impl DayStats {
    fn values_for(&self, kind: EventKind, property: usize) -> &HashMap<u32, u64> {
        &self.values[kind as usize * N_CATEGORICAL + property]
    }
}

/// The deterministic synthetic dataset of one project.
///
/// Every answer of the sandbox is computed from this: the same seed, size and window give the
/// same users, the same events and the same bytes on every platform.
#[derive(Debug)]
pub struct Dataset {
    config: DatasetConfig,
    users: Vec<User>,
    /// Sign-up times, sorted, parallel to `users`: the binary-search index of "who had signed
    /// up by time t".
    signup_times: Vec<i64>,
    items: Vec<Item>,
    /// Events per slice that are not sign-ups (sign-ups are found from `signup_times`).
    slice_budgets: Vec<u64>,
    insert_salt: u64,
    /// Per-day aggregates, computed on first use. `OnceLock` makes concurrent first uses of
    /// the same day wait for one computation instead of repeating it.
    day_stats: Vec<OnceLock<Arc<DayStats>>>,
    /// Events per kind per user over the whole window (cohort membership), computed on first
    /// use by one pass of the generator.
    user_event_counts: OnceLock<Arc<Vec<[u32; N_EVENT_KINDS]>>>,
}

impl Dataset {
    /// Generates the users, the items and the slice budgets of a dataset.
    pub(crate) fn new(config: DatasetConfig) -> Result<Dataset, Error> {
        if config.days == 0 || config.days > MAX_DAYS {
            return Err(Error::InvalidOption {
                option: "days",
                reason: format!("must be between 1 and {MAX_DAYS}, got {}", config.days),
            });
        }
        if config.events > MAX_EVENTS {
            return Err(Error::InvalidOption {
                option: "events",
                reason: format!("must be at most {MAX_EVENTS}, got {}", config.events),
            });
        }
        let first_day = config.end_day - i64::from(config.days) + 1;
        let window_start = first_day * SECONDS_PER_DAY;
        let window_seconds = i64::from(config.days) * SECONDS_PER_DAY;

        // About one user per 25 events (up to `MAX_USERS`). 40 % signed up before the window;
        // the others sign up inside it, and each of those sign-ups is one of the requested
        // events, so there are never more of them than events.
        let n_users = (config.events / 25).clamp(1, MAX_USERS as u64) as usize;
        let n_before = (n_users * 2 / 5).max(1);
        let mut rng = SplitMix64::new(derive(config.seed, USERS_STREAM));
        let mut signup_times: Vec<i64> = (0..n_users)
            .map(|index| {
                if index < n_before {
                    window_start - 1 - rng.below(365 * SECONDS_PER_DAY as u64) as i64
                } else {
                    window_start + rng.below(window_seconds as u64) as i64
                }
            })
            .collect();
        signup_times.sort_unstable();
        let users = signup_times
            .iter()
            .enumerate()
            .map(|(index, &signup_time)| {
                make_user(
                    derive(config.seed, USER_ATTRIBUTES_STREAM + index as u64),
                    signup_time,
                )
            })
            .collect();

        let items = (0..N_ITEMS)
            .map(|index| make_item(derive(config.seed, ITEMS_STREAM + index as u64), index))
            .collect();

        let n_signups_in_window = (n_users - n_before) as u64;
        let slice_budgets = slice_budgets(&config, first_day, config.events - n_signups_in_window);

        Ok(Dataset {
            config,
            users,
            signup_times,
            items,
            slice_budgets,
            insert_salt: mix64(config.seed ^ INSERT_ID_SALT),
            day_stats: (0..config.days).map(|_| OnceLock::new()).collect(),
            user_event_counts: OnceLock::new(),
        })
    }

    /// Returns the seed the dataset was generated from.
    pub fn seed(&self) -> u64 {
        self.config.seed
    }

    /// Returns the number of days in the window.
    pub fn days(&self) -> u32 {
        self.config.days
    }

    /// Returns the first day of the window as `YYYY-MM-DD`.
    pub fn from_date(&self) -> String {
        civil::format_date(self.first_day())
    }

    /// Returns the last day of the window as `YYYY-MM-DD`.
    pub fn to_date(&self) -> String {
        civil::format_date(self.config.end_day)
    }

    /// Returns the total number of events in the window (exactly the number asked for).
    pub fn total_events(&self) -> u64 {
        self.config.events
    }

    /// Returns the number of user profiles.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Returns the event names of the product, in the order a user meets them.
    pub fn event_names(&self) -> &'static [&'static str] {
        &crate::catalog::EVENT_NAMES
    }

    /// Returns the number of events named `event` on the day `date` (`YYYY-MM-DD`); zero
    /// outside the window.
    pub fn count(&self, event: &str, date: &str) -> Result<u64, Error> {
        let kind = EventKind::from_name(event).ok_or_else(|| Error::UnknownEvent(event.into()))?;
        let day = civil::parse_date(date).ok_or_else(|| Error::InvalidDate(date.into()))?;
        Ok(self
            .day_index(day)
            .map_or(0, |index| self.day_stats(index).counts[kind as usize]))
    }

    /// Writes the events from `from_date` to `to_date` (inclusive, `YYYY-MM-DD`) as export
    /// JSONL, exactly the bytes `/api/2.0/export` sends uncompressed, and returns the number of
    /// lines. `events` restricts the event names as export's `event` parameter does.
    pub fn write_jsonl(
        &self,
        from_date: &str,
        to_date: &str,
        events: Option<&[&str]>,
        out: &mut dyn Write,
    ) -> Result<u64, Error> {
        let from =
            civil::parse_date(from_date).ok_or_else(|| Error::InvalidDate(from_date.into()))?;
        let to = civil::parse_date(to_date).ok_or_else(|| Error::InvalidDate(to_date.into()))?;
        let mut wanted = [events.is_none(); N_EVENT_KINDS];
        for name in events.unwrap_or_default() {
            if let Some(kind) = EventKind::from_name(name) {
                wanted[kind as usize] = true;
            }
        }
        let mut scratch = Vec::new();
        let mut line = Vec::with_capacity(512);
        let mut n_lines = 0;
        for slice in self.slices_between(from, to) {
            self.generate_slice(slice, &mut scratch);
            for event in scratch.iter().filter(|event| wanted[event.kind as usize]) {
                line.clear();
                self.render_event(event, false, &mut line);
                out.write_all(&line).map_err(Error::Write)?;
                n_lines += 1;
            }
        }
        Ok(n_lines)
    }

    /// Returns the first day of the window as a day number.
    pub(crate) fn first_day(&self) -> i64 {
        self.config.end_day - i64::from(self.config.days) + 1
    }

    /// Returns the last day of the window as a day number.
    pub(crate) fn last_day(&self) -> i64 {
        self.config.end_day
    }

    /// Returns the index in the window of a day number, if it is inside.
    pub(crate) fn day_index(&self, day: i64) -> Option<usize> {
        (self.first_day()..=self.last_day())
            .contains(&day)
            .then(|| (day - self.first_day()) as usize)
    }

    /// Returns the slices covering the days `from..=to` clipped to the window, in time order.
    pub(crate) fn slices_between(&self, from: i64, to: i64) -> std::ops::Range<usize> {
        let from = from.max(self.first_day());
        let to = to.min(self.last_day());
        if from > to {
            return 0..0;
        }
        let first = (from - self.first_day()) as usize * SLICES_PER_DAY;
        let last = (to - self.first_day() + 1) as usize * SLICES_PER_DAY;
        first..last
    }

    /// Returns the sandbox's "now" in unix seconds: midnight after the window's last day.
    /// Answers that carry a `computed_at` use it, so that they stay deterministic.
    pub(crate) fn now(&self) -> i64 {
        (self.last_day() + 1) * SECONDS_PER_DAY
    }

    /// Calls `visit` with every event whose time is in `start..end` (unix seconds), in time
    /// order. The range is clipped to the window.
    pub(crate) fn for_each_event_in(&self, start: i64, end: i64, mut visit: impl FnMut(&Event)) {
        let window_start = self.first_day() * SECONDS_PER_DAY;
        let window_end = (self.last_day() + 1) * SECONDS_PER_DAY;
        let (start, end) = (start.max(window_start), end.min(window_end));
        if start >= end {
            return;
        }
        let first_slice = ((start - window_start) / SLICE_SECONDS) as usize;
        let last_slice = ((end - 1 - window_start) / SLICE_SECONDS) as usize;
        let mut scratch = Vec::new();
        for slice in first_slice..=last_slice {
            self.generate_slice(slice, &mut scratch);
            for event in &scratch {
                if (start..end).contains(&event.time) {
                    visit(event);
                }
            }
        }
    }

    /// Returns how many events of each kind every user (by index) did over the whole window,
    /// computing it on first use.
    pub(crate) fn user_event_counts(&self) -> Arc<Vec<[u32; N_EVENT_KINDS]>> {
        self.user_event_counts
            .get_or_init(|| {
                let mut counts = vec![[0u32; N_EVENT_KINDS]; self.users.len()];
                self.for_each_event_in(i64::MIN, i64::MAX, |event| {
                    counts[event.user as usize][event.kind as usize] += 1;
                });
                Arc::new(counts)
            })
            .clone()
    }

    pub(crate) fn users(&self) -> &[User] {
        &self.users
    }

    pub(crate) fn user(&self, index: u32) -> &User {
        &self.users[index as usize]
    }

    /// Generates the events of one slice, sorted by time, into `out` (which is cleared first
    /// and reused, so a long export allocates nothing per slice once warmed up).
    pub(crate) fn generate_slice(&self, slice: usize, out: &mut Vec<Event>) {
        out.clear();
        let start = self.first_day() * SECONDS_PER_DAY + slice as i64 * SLICE_SECONDS;
        let end = start + SLICE_SECONDS;
        let mut builder = SliceBuilder {
            out,
            end,
            next_sequence: (slice as u64) << 32,
            insert_salt: self.insert_salt,
        };
        let mut rng = SplitMix64::new(derive(self.config.seed, SLICES_STREAM + slice as u64));
        let mut pool = self.slice_budgets[slice];

        // Sign-ups first: they are part of the budget by construction, so they are never cut.
        let first_signup = self.signup_times.partition_point(|&time| time < start);
        let end_signup = self.signup_times.partition_point(|&time| time < end);
        for user in first_signup..end_signup {
            let time = self.signup_times[user];
            builder.push(time, user as u32, EventKind::SignUp, 0, 0);
            self.session(
                &mut rng,
                &mut builder,
                user as u32,
                time,
                EventKind::SignUp,
                &mut pool,
            );
        }
        // Then sessions of users who had signed up, until the budget is spent. The last
        // session is cut short when the budget runs out, as a real hour would cut it.
        while pool > 0 {
            let session_start = start + rng.below(SLICE_SECONDS as u64) as i64;
            // At least one user signed up before the window, so this is never zero.
            let eligible = self
                .signup_times
                .partition_point(|&time| time <= session_start);
            // Earlier sign-ups (more loyal users) come back more often.
            let user = rng.skewed_below(eligible as u64) as u32;
            builder.push(session_start, user, EventKind::Login, 0, 0);
            pool -= 1;
            self.session(
                &mut rng,
                &mut builder,
                user,
                session_start,
                EventKind::Login,
                &mut pool,
            );
        }
        // Ties on the second are broken by the insert id, which is itself deterministic.
        builder
            .out
            .sort_unstable_by_key(|event| (event.time, event.insert_id));
    }

    /// Runs one browsing session after its first event, drawing events from `pool`.
    fn session(
        &self,
        rng: &mut SplitMix64,
        builder: &mut SliceBuilder<'_>,
        user: u32,
        start: i64,
        first: EventKind,
        pool: &mut u64,
    ) {
        let mut previous = first;
        let mut time = start;
        let mut item: u16 = 0;
        let mut cart: u16 = 0;
        for _ in 0..MAX_SESSION_STEPS {
            if *pool == 0 {
                return;
            }
            let (kinds, weights) = transitions(previous);
            let Some(kind) = kinds[rng.weighted(weights)] else {
                return;
            };
            time += 5 + rng.below(90) as i64;
            let mut term = 0;
            match kind {
                EventKind::Search => term = rng.below(SEARCH_TERMS.len() as u64) as u8,
                EventKind::ViewItem => item = rng.skewed_below(N_ITEMS as u64) as u16,
                EventKind::AddToCart => cart = item,
                EventKind::Purchase => item = cart,
                _ => {}
            }
            builder.push(time, user, kind, item, term);
            *pool -= 1;
            if kind == EventKind::Logout {
                return;
            }
            previous = kind;
        }
    }

    /// Calls `visit` with every event of a day (by index in the window), in time order.
    pub(crate) fn for_each_event_of_day(
        &self,
        day_index: usize,
        scratch: &mut Vec<Event>,
        mut visit: impl FnMut(&Event),
    ) {
        let first = day_index * SLICES_PER_DAY;
        for slice in first..first + SLICES_PER_DAY {
            self.generate_slice(slice, scratch);
            scratch.iter().for_each(&mut visit);
        }
    }

    /// Returns the cached aggregates of a day (by index in the window), computing them on
    /// first use.
    pub(crate) fn day_stats(&self, day_index: usize) -> Arc<DayStats> {
        self.day_stats[day_index]
            .get_or_init(|| Arc::new(self.compute_day_stats(day_index)))
            .clone()
    }

    fn compute_day_stats(&self, day_index: usize) -> DayStats {
        let mut stats = DayStats {
            values: vec![HashMap::new(); N_EVENT_KINDS * N_CATEGORICAL],
            ..DayStats::default()
        };
        // One bit per event kind per user: "already counted as unique today".
        let mut seen = vec![0u8; self.users.len()];
        let mut scratch = Vec::new();
        self.for_each_event_of_day(day_index, &mut scratch, |event| {
            let kind = event.kind as usize;
            stats.counts[kind] += 1;
            let bit = 1u8 << kind;
            let flags = &mut seen[event.user as usize];
            if *flags & bit == 0 {
                *flags |= bit;
                stats.uniques[kind] += 1;
            }
            self.for_each_categorical_code(event, |property, code| {
                *stats.values[kind * N_CATEGORICAL + property]
                    .entry(code)
                    .or_insert(0) += 1;
            });
        });
        stats
    }

    /// Calls `visit(property, code)` for each categorical property an event carries; the code
    /// is decoded by [`Dataset::categorical_value`].
    fn for_each_categorical_code(&self, event: &Event, mut visit: impl FnMut(usize, u32)) {
        let user = self.user(event.user);
        visit(PROP_COUNTRY, u32::from(user.country));
        visit(PROP_OS, u32::from(user.platform) << 8 | u32::from(user.os));
        visit(
            PROP_BROWSER,
            u32::from(user.platform) << 8 | u32::from(user.browser),
        );
        visit(PROP_PLATFORM, u32::from(user.platform));
        match event.kind {
            EventKind::SignUp => visit(PROP_PLAN, u32::from(user.plan)),
            EventKind::Search => visit(PROP_SEARCH_TERM, u32::from(event.term)),
            EventKind::ViewItem | EventKind::AddToCart => {
                visit(PROP_ITEM_ID, u32::from(event.item))
            }
            EventKind::Purchase => {
                visit(PROP_ITEM_ID, u32::from(event.item));
                visit(PROP_AMOUNT, u32::from(event.item));
                visit(PROP_CURRENCY, u32::from(user.country));
            }
            EventKind::Login | EventKind::Logout => {}
        }
    }

    /// Decodes a categorical value code into the property's value as a string.
    fn categorical_value(&self, property: usize, code: u32) -> String {
        let platform = &PLATFORMS[(code >> 8) as usize % PLATFORMS.len()];
        match property {
            PROP_COUNTRY => COUNTRIES[code as usize].code.to_owned(),
            PROP_OS => platform.systems[(code & 0xff) as usize].0.to_owned(),
            PROP_BROWSER => platform.browsers[(code & 0xff) as usize].0.to_owned(),
            PROP_PLATFORM => PLATFORMS[code as usize].name.to_owned(),
            PROP_ITEM_ID => self.items[code as usize].id.to_string(),
            PROP_AMOUNT => self.items[code as usize].amount.to_string(),
            PROP_CURRENCY => COUNTRIES[code as usize].currency.to_owned(),
            PROP_SEARCH_TERM => SEARCH_TERMS[code as usize].to_owned(),
            _ => PLANS[code as usize].0.to_owned(),
        }
    }

    /// Adds the value counts of a categorical property over some days into `totals`.
    ///
    /// Returns false if the property is not categorical (the caller must scan instead).
    pub(crate) fn add_value_counts(
        &self,
        day_indices: impl Iterator<Item = usize>,
        kinds: &[EventKind],
        property: &str,
        totals: &mut HashMap<String, u64>,
    ) -> bool {
        let Some(property) = CATEGORICAL_PROPERTIES.iter().position(|&p| p == property) else {
            return false;
        };
        for day_index in day_indices {
            let stats = self.day_stats(day_index);
            for &kind in kinds {
                for (&code, &count) in stats.values_for(kind, property) {
                    *totals
                        .entry(self.categorical_value(property, code))
                        .or_insert(0) += count;
                }
            }
        }
        true
    }

    /// Returns the names of the properties an event of this kind carries, in export order.
    pub(crate) fn property_names(kind: EventKind) -> Vec<&'static str> {
        const COMMON: [&str; 8] = [
            "time",
            "distinct_id",
            "$insert_id",
            "mp_processing_time_ms",
            "country",
            "os",
            "browser",
            "platform",
        ];
        let specific: &[&str] = match kind {
            EventKind::SignUp => &["plan"],
            EventKind::Search => &["search_term"],
            EventKind::ViewItem | EventKind::AddToCart => &["item_id"],
            EventKind::Purchase => &["item_id", "amount", "currency"],
            EventKind::Login | EventKind::Logout => &[],
        };
        COMMON.iter().chain(specific).copied().collect()
    }

    /// Renders one event as a line of export JSONL (with the trailing newline) into `out`.
    ///
    /// This is the hot loop of a large export, so it appends pre-rendered fragments and
    /// formats integers by hand instead of going through `serde_json::Value`. The output is
    /// plain JSON: every string in the dataset is ASCII without quotes or backslashes, which
    /// [`make_user`] and [`make_item`] guarantee by construction.
    pub(crate) fn render_event(&self, event: &Event, time_in_ms: bool, out: &mut Vec<u8>) {
        let user = self.user(event.user);
        out.extend_from_slice(EVENT_PREFIXES[event.kind as usize].as_bytes());
        let sub_second_ms = (event.insert_id >> 20) % 1000;
        if time_in_ms {
            push_u64(out, event.time as u64 * 1000 + sub_second_ms);
        } else {
            push_u64(out, event.time as u64);
        }
        out.extend_from_slice(&user.id_fragment);
        push_hex(out, event.insert_id);
        out.extend_from_slice(b"\",\"mp_processing_time_ms\":");
        push_u64(out, self.processing_time_ms(event));
        out.extend_from_slice(&user.device_fragment);
        match event.kind {
            EventKind::SignUp => {
                out.extend_from_slice(b",\"plan\":\"");
                out.extend_from_slice(user.plan_name().as_bytes());
                out.push(b'"');
            }
            EventKind::Search => {
                out.extend_from_slice(b",\"search_term\":\"");
                out.extend_from_slice(SEARCH_TERMS[usize::from(event.term)].as_bytes());
                out.push(b'"');
            }
            EventKind::ViewItem | EventKind::AddToCart => {
                out.extend_from_slice(&self.items[usize::from(event.item)].fragment);
            }
            EventKind::Purchase => {
                out.extend_from_slice(&self.items[usize::from(event.item)].purchase_fragment);
                out.extend_from_slice(user.currency().as_bytes());
                out.push(b'"');
            }
            EventKind::Login | EventKind::Logout => {}
        }
        out.extend_from_slice(b"}}\n");
    }

    /// Mixpanel's ingestion timestamp: one to sixty seconds after the event.
    fn processing_time_ms(&self, event: &Event) -> u64 {
        event.time as u64 * 1000 + 1000 + event.insert_id % 59_000
    }

    /// Returns an event property's value, for `where` and `on` expressions.
    pub(crate) fn event_property(&self, event: &Event, name: &str) -> Value {
        let user = self.user(event.user);
        let text = |value: &str| Value::Str(value.to_owned());
        match name {
            "time" => Value::Num(event.time as f64),
            "distinct_id" => text(&user.distinct_id),
            "$insert_id" => Value::Str(format!("{:016x}", event.insert_id)),
            "mp_processing_time_ms" => Value::Num(self.processing_time_ms(event) as f64),
            "country" => text(user.country_code()),
            "os" => text(user.os_name()),
            "browser" => text(user.browser_name()),
            "platform" => text(user.platform_name()),
            "plan" if event.kind == EventKind::SignUp => text(user.plan_name()),
            "search_term" if event.kind == EventKind::Search => {
                text(SEARCH_TERMS[usize::from(event.term)])
            }
            "item_id"
                if matches!(
                    event.kind,
                    EventKind::ViewItem | EventKind::AddToCart | EventKind::Purchase
                ) =>
            {
                text(&self.items[usize::from(event.item)].id)
            }
            "amount" if event.kind == EventKind::Purchase => {
                let amount = &self.items[usize::from(event.item)].amount;
                Value::Num(amount.parse().unwrap_or(0.0))
            }
            "currency" if event.kind == EventKind::Purchase => text(user.currency()),
            _ => Value::Undefined,
        }
    }

    /// Returns a profile property's value, for `/engage` `where` and for `user["…"]`.
    pub(crate) fn profile_property(&self, user: &User, name: &str) -> Value {
        let text = |value: String| Value::Str(value);
        match name {
            "$distinct_id" => text(user.distinct_id.to_string()),
            "$name" => text(format!("{} {}", user.first_name(), user.last_name())),
            "$first_name" => text(user.first_name().to_owned()),
            "$last_name" => text(user.last_name().to_owned()),
            "$email" => text(user.email()),
            "$created" => text(civil::format_datetime(user.signup_time)),
            "$country_code" => text(user.country_code().to_owned()),
            "$os" => text(user.os_name().to_owned()),
            "$browser" => text(user.browser_name().to_owned()),
            "platform" => text(user.platform_name().to_owned()),
            "plan" => text(user.plan_name().to_owned()),
            _ => Value::Undefined,
        }
    }

    /// Returns a profile as `/engage` shows it: `{"$distinct_id": …, "$properties": {…}}`.
    pub(crate) fn profile_json(&self, user: &User, only: Option<&[String]>) -> serde_json::Value {
        let mut properties = serde_json::Map::new();
        for name in PROFILE_PROPERTIES {
            if only.is_some_and(|only| !only.iter().any(|wanted| wanted == name)) {
                continue;
            }
            if let Value::Str(value) = self.profile_property(user, name) {
                properties.insert(name.to_owned(), serde_json::Value::String(value));
            }
        }
        serde_json::json!({
            "$distinct_id": &*user.distinct_id,
            "$properties": properties,
        })
    }
}

/// The profile properties `/engage` returns, in order.
const PROFILE_PROPERTIES: [&str; 10] = [
    "$created",
    "$email",
    "$first_name",
    "$last_name",
    "$name",
    "$country_code",
    "$os",
    "$browser",
    "platform",
    "plan",
];

/// `{"event":"<name>","properties":{"time":` for each event kind.
const EVENT_PREFIXES: [&str; N_EVENT_KINDS] = [
    "{\"event\":\"Sign Up\",\"properties\":{\"time\":",
    "{\"event\":\"Login\",\"properties\":{\"time\":",
    "{\"event\":\"Search\",\"properties\":{\"time\":",
    "{\"event\":\"View Item\",\"properties\":{\"time\":",
    "{\"event\":\"Add To Cart\",\"properties\":{\"time\":",
    "{\"event\":\"Purchase\",\"properties\":{\"time\":",
    "{\"event\":\"Logout\",\"properties\":{\"time\":",
];

/// An event joined to its dataset, so that expressions can look its properties up.
pub(crate) struct EventView<'a> {
    pub(crate) dataset: &'a Dataset,
    pub(crate) event: &'a Event,
}

impl Lookup for EventView<'_> {
    fn lookup(&self, scope: Scope, name: &str) -> Value {
        match scope {
            Scope::Properties => self.dataset.event_property(self.event, name),
            Scope::User => self
                .dataset
                .profile_property(self.dataset.user(self.event.user), name),
        }
    }
}

/// A profile joined to its dataset; on `/engage`, `properties["…"]` means the profile's.
pub(crate) struct ProfileView<'a> {
    pub(crate) dataset: &'a Dataset,
    pub(crate) user: &'a User,
}

impl Lookup for ProfileView<'_> {
    fn lookup(&self, _scope: Scope, name: &str) -> Value {
        self.dataset.profile_property(self.user, name)
    }
}

/// Appends events of one slice, numbering them for their insert ids.
struct SliceBuilder<'a> {
    out: &'a mut Vec<Event>,
    /// Events never leave their slice, so that slices stay independent.
    end: i64,
    /// `slice << 32 | n`: unique per event across the dataset.
    next_sequence: u64,
    insert_salt: u64,
}

impl SliceBuilder<'_> {
    fn push(&mut self, time: i64, user: u32, kind: EventKind, item: u16, term: u8) {
        // `mix64` is a bijection, so distinct sequence numbers give distinct insert ids.
        let insert_id = mix64(self.next_sequence ^ self.insert_salt);
        self.next_sequence += 1;
        self.out.push(Event {
            time: time.min(self.end - 1),
            insert_id,
            user,
            item,
            kind,
            term,
        });
    }
}

/// The session's Markov chain: what may follow an event, with weights; `None` ends the
/// session without a `Logout` (the tab was closed).
fn transitions(previous: EventKind) -> (&'static [Option<EventKind>], &'static [u32]) {
    use EventKind::{AddToCart, Logout, Purchase, Search, ViewItem};
    match previous {
        EventKind::SignUp | EventKind::Login => (
            &[Some(Search), Some(ViewItem), Some(Logout), None],
            &[35, 50, 5, 10],
        ),
        EventKind::Search => (
            &[Some(Search), Some(ViewItem), Some(Logout), None],
            &[15, 65, 10, 10],
        ),
        EventKind::ViewItem => (
            &[
                Some(ViewItem),
                Some(AddToCart),
                Some(Search),
                Some(Logout),
                None,
            ],
            &[30, 25, 20, 15, 10],
        ),
        EventKind::AddToCart => (
            &[Some(Purchase), Some(ViewItem), Some(Logout), None],
            &[45, 30, 15, 10],
        ),
        EventKind::Purchase => (&[Some(ViewItem), Some(Logout), None], &[25, 60, 15]),
        EventKind::Logout => (&[None], &[1]),
    }
}

/// Splits `budget` events over the slices of the window in proportion to a weekly rhythm,
/// the hour of the day and a slow growth, exactly (the rounding errors never accumulate
/// because each slice takes the difference of two rounded cumulative sums).
fn slice_budgets(config: &DatasetConfig, first_day: i64, budget: u64) -> Vec<u64> {
    let days = config.days as usize;
    let weights: Vec<u64> = (0..days * SLICES_PER_DAY)
        .map(|slice| {
            let day_index = slice / SLICES_PER_DAY;
            let weekday = civil::weekday_monday0(first_day + day_index as i64);
            let weekly = if weekday >= 5 { 70 } else { 100 };
            let growth = 80 + 40 * day_index as u64 / (days as u64 - 1).max(1);
            weekly * growth * HOUR_WEIGHTS[slice % SLICES_PER_DAY]
        })
        .collect();
    let total: u128 = weights.iter().map(|&weight| u128::from(weight)).sum();
    let mut cumulative: u128 = 0;
    let mut assigned: u64 = 0;
    weights
        .iter()
        .map(|&weight| {
            cumulative += u128::from(weight);
            let until_here = (u128::from(budget) * cumulative / total) as u64;
            let share = until_here - assigned;
            assigned = until_here;
            share
        })
        .collect()
}

fn make_user(seed: u64, signup_time: i64) -> User {
    let mut rng = SplitMix64::new(seed);
    let country = rng.weighted(&COUNTRIES.map(|country| country.weight)) as u8;
    let platform_index = rng.weighted(&PLATFORMS.map(|platform| platform.weight));
    let platform = &PLATFORMS[platform_index];
    let os = rng.weighted(&platform.systems.iter().map(|s| s.1).collect::<Vec<_>>()) as u8;
    let browser = rng.weighted(&platform.browsers.iter().map(|b| b.1).collect::<Vec<_>>()) as u8;
    let plan = rng.weighted(&PLANS.map(|plan| plan.1)) as u8;
    let first_name = rng.below(FIRST_NAMES.len() as u64) as u8;
    let last_name = rng.below(LAST_NAMES.len() as u64) as u8;
    let (high, low) = (rng.next_u64(), rng.next_u64());
    // A UUID-shaped distinct id, as Mixpanel's SDKs generate.
    let distinct_id = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    );
    let id_fragment = format!(",\"distinct_id\":\"{distinct_id}\",\"$insert_id\":\"");
    let device_fragment = format!(
        ",\"country\":\"{}\",\"os\":\"{}\",\"browser\":\"{}\",\"platform\":\"{}\"",
        COUNTRIES[usize::from(country)].code,
        platform.systems[usize::from(os)].0,
        platform.browsers[usize::from(browser)].0,
        platform.name
    );
    User {
        distinct_id: distinct_id.into(),
        signup_time,
        first_name,
        last_name,
        country,
        platform: platform_index as u8,
        os,
        browser,
        plan,
        id_fragment: id_fragment.into_bytes().into(),
        device_fragment: device_fragment.into_bytes().into(),
    }
}

fn make_item(seed: u64, index: usize) -> Item {
    let mut rng = SplitMix64::new(seed);
    // Prices end in .99, from 4.99 to 249.99.
    let dollars = 5 + rng.below(245);
    let id = format!("item-{index:03}");
    let amount = format!("{}.99", dollars - 1);
    Item {
        fragment: format!(",\"item_id\":\"{id}\"").into_bytes().into(),
        purchase_fragment: format!(",\"item_id\":\"{id}\",\"amount\":{amount},\"currency\":\"")
            .into_bytes()
            .into(),
        id: id.into(),
        amount: amount.into(),
    }
}

/// Appends the decimal digits of `value`.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Appends `value` as 16 lowercase hex digits.
fn push_hex(out: &mut Vec<u8>, value: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    for (index, digit) in digits.iter_mut().enumerate() {
        *digit = HEX[((value >> (60 - 4 * index)) & 0xf) as usize];
    }
    out.extend_from_slice(&digits);
}
