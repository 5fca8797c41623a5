//! The fixed vocabulary of the synthetic product: event names, countries, devices, names,
//! search terms.
//!
//! Everything here is a constant table, so that adding a country or a search term is a
//! one-line change whose effect on the dataset is obvious in review. Weights are integers so
//! that the generator never touches floating point (whose last bits are not guaranteed to be
//! identical across platforms for every operation).

/// The events of the product's life, in the order a user meets them.
///
/// The discriminants index [`EVENT_NAMES`] and the per-event count tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum EventKind {
    SignUp = 0,
    Login = 1,
    Search = 2,
    ViewItem = 3,
    AddToCart = 4,
    Purchase = 5,
    Logout = 6,
}

/// Number of event kinds.
pub(crate) const N_EVENT_KINDS: usize = 7;

/// Every event kind, in discriminant order.
pub(crate) const EVENT_KINDS: [EventKind; N_EVENT_KINDS] = [
    EventKind::SignUp,
    EventKind::Login,
    EventKind::Search,
    EventKind::ViewItem,
    EventKind::AddToCart,
    EventKind::Purchase,
    EventKind::Logout,
];

/// Event names as Mixpanel shows them (Title Case with spaces, like Mixpanel's own examples).
pub(crate) const EVENT_NAMES: [&str; N_EVENT_KINDS] = [
    "Sign Up",
    "Login",
    "Search",
    "View Item",
    "Add To Cart",
    "Purchase",
    "Logout",
];

impl EventKind {
    /// Returns the event's name.
    pub(crate) fn name(self) -> &'static str {
        EVENT_NAMES[self as usize]
    }

    /// Looks an event kind up by its exact name.
    pub(crate) fn from_name(name: &str) -> Option<EventKind> {
        EVENT_NAMES
            .iter()
            .position(|&candidate| candidate == name)
            .map(|index| EVENT_KINDS[index])
    }
}

/// A country: ISO code (the value of the `country` event property and of `$country_code`),
/// the currency its purchases are made in, and its share of users.
pub(crate) struct Country {
    pub(crate) code: &'static str,
    pub(crate) currency: &'static str,
    pub(crate) weight: u32,
}

pub(crate) const COUNTRIES: [Country; 11] = [
    Country {
        code: "US",
        currency: "USD",
        weight: 35,
    },
    Country {
        code: "GB",
        currency: "GBP",
        weight: 10,
    },
    Country {
        code: "IN",
        currency: "INR",
        weight: 10,
    },
    Country {
        code: "DE",
        currency: "EUR",
        weight: 8,
    },
    Country {
        code: "FR",
        currency: "EUR",
        weight: 7,
    },
    Country {
        code: "BR",
        currency: "BRL",
        weight: 6,
    },
    Country {
        code: "CA",
        currency: "CAD",
        weight: 6,
    },
    Country {
        code: "JP",
        currency: "JPY",
        weight: 5,
    },
    Country {
        code: "AU",
        currency: "AUD",
        weight: 5,
    },
    Country {
        code: "ES",
        currency: "EUR",
        weight: 4,
    },
    Country {
        code: "NL",
        currency: "EUR",
        weight: 4,
    },
];

/// A platform and the operating systems and browsers seen on it, each with weights.
pub(crate) struct Platform {
    pub(crate) name: &'static str,
    pub(crate) weight: u32,
    pub(crate) systems: &'static [(&'static str, u32)],
    pub(crate) browsers: &'static [(&'static str, u32)],
}

pub(crate) const PLATFORMS: [Platform; 3] = [
    Platform {
        name: "web",
        weight: 55,
        systems: &[
            ("Windows", 45),
            ("Mac OS X", 35),
            ("Linux", 10),
            ("Chrome OS", 10),
        ],
        browsers: &[
            ("Chrome", 60),
            ("Safari", 20),
            ("Firefox", 10),
            ("Edge", 10),
        ],
    },
    Platform {
        name: "ios",
        weight: 25,
        systems: &[("iOS", 1)],
        browsers: &[("Mobile Safari", 1)],
    },
    Platform {
        name: "android",
        weight: 20,
        systems: &[("Android", 1)],
        browsers: &[("Chrome Mobile", 1)],
    },
];

/// Subscription plans of the user profiles (`plan`), with weights.
pub(crate) const PLANS: [(&str, u32); 3] = [("free", 70), ("pro", 25), ("enterprise", 5)];

pub(crate) const FIRST_NAMES: [&str; 24] = [
    "Ada", "Alan", "Barbara", "Brian", "Claude", "Dennis", "Edsger", "Frances", "Grace", "Guido",
    "Hedy", "Ivan", "John", "Ken", "Leslie", "Linus", "Margaret", "Niklaus", "Radia", "Robin",
    "Shafi", "Sophie", "Tim", "Yukihiro",
];

pub(crate) const LAST_NAMES: [&str; 24] = [
    "Allen",
    "Backus",
    "Cerf",
    "Dijkstra",
    "Engelbart",
    "Floyd",
    "Goldberg",
    "Hamilton",
    "Hopper",
    "Iverson",
    "Johnson",
    "Kay",
    "Knuth",
    "Lamport",
    "Liskov",
    "Lovelace",
    "McCarthy",
    "Milner",
    "Perlman",
    "Ritchie",
    "Shannon",
    "Thompson",
    "Turing",
    "Wirth",
];

/// Search terms (`search_term` of `Search` events).
pub(crate) const SEARCH_TERMS: [&str; 20] = [
    "shoes",
    "jacket",
    "backpack",
    "headphones",
    "keyboard",
    "lamp",
    "mug",
    "notebook",
    "pen",
    "phone case",
    "socks",
    "sunglasses",
    "t-shirt",
    "tent",
    "umbrella",
    "wallet",
    "watch",
    "water bottle",
    "yoga mat",
    "scarf",
];

/// Number of items in the shop (`item_id` is `item-000` … `item-239`).
pub(crate) const N_ITEMS: usize = 240;

/// The `$insert_id` salt: keeps insert ids of different seeds apart.
pub(crate) const INSERT_ID_SALT: u64 = 0x6d70_5f73_616e_6462;
