//! Regional routing: which base URL serves which API family.

use std::net::{IpAddr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::{Error, ErrorKind};

/// A Mixpanel data-residency region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// United States (`mixpanel.com`, `data.mixpanel.com`).
    Us,
    /// European Union (`eu.mixpanel.com`, `data-eu.mixpanel.com`).
    Eu,
    /// India (`in.mixpanel.com`, `data-in.mixpanel.com`).
    In,
}

impl Region {
    /// Every region, in the order Mixpanel documents them.
    pub const ALL: [Region; 3] = [Region::Us, Region::Eu, Region::In];

    /// `"us"`, `"eu"` or `"in"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::In => "in",
        }
    }

    /// The host of the query, engage, App and OAuth APIs.
    fn api_host(self) -> &'static str {
        match self {
            Region::Us => "mixpanel.com",
            Region::Eu => "eu.mixpanel.com",
            Region::In => "in.mixpanel.com",
        }
    }

    /// The host of the raw export API.
    fn data_host(self) -> &'static str {
        match self {
            Region::Us => "data.mixpanel.com",
            Region::Eu => "data-eu.mixpanel.com",
            Region::In => "data-in.mixpanel.com",
        }
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Region {
    type Err = Error;

    /// Parses `us`, `eu` or `in`, case-insensitively.
    fn from_str(value: &str) -> Result<Region, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "us" => Ok(Region::Us),
            "eu" => Ok(Region::Eu),
            "in" => Ok(Region::In),
            _ => Err(Error::config(format!(
                "unknown region `{value}`: expected `us`, `eu` or `in`"
            ))),
        }
    }
}

/// The API families Mixpanel serves from different base URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiFamily {
    /// The Query API (`/api/query`): segmentation, events, properties, …
    Query,
    /// The raw export API (`/api/2.0` on the data host): JSONL streams.
    Export,
    /// The Engage API (`/api/query/engage`): user profiles.
    Engage,
    /// The App API (`/api/app`): entities, `/me`, workspaces.
    App,
    /// The OAuth endpoints (`/oauth/`).
    OAuth,
}

impl ApiFamily {
    /// Every family, in a fixed order.
    pub const ALL: [ApiFamily; 5] = [
        ApiFamily::Query,
        ApiFamily::Export,
        ApiFamily::Engage,
        ApiFamily::App,
        ApiFamily::OAuth,
    ];

    /// A lower-case name for messages: `query`, `export`, `engage`, `app`, `oauth`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiFamily::Query => "query",
            ApiFamily::Export => "export",
            ApiFamily::Engage => "engage",
            ApiFamily::App => "app",
            ApiFamily::OAuth => "oauth",
        }
    }

    /// The path under an API base-URL override that serves this family.
    fn override_suffix(self) -> &'static str {
        match self {
            ApiFamily::Query => "/api/query",
            ApiFamily::Export => "/api/2.0",
            ApiFamily::Engage => "/api/query/engage",
            ApiFamily::App => "/api/app",
            ApiFamily::OAuth => "/oauth/",
        }
    }

    fn index(self) -> usize {
        match self {
            ApiFamily::Query => 0,
            ApiFamily::Export => 1,
            ApiFamily::Engage => 2,
            ApiFamily::App => 3,
            ApiFamily::OAuth => 4,
        }
    }
}

impl std::fmt::Display for ApiFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The base URL of every [`ApiFamily`] for one region, possibly overridden.
///
/// Regional bases are Mixpanel's own (us shown; eu and in use `eu.`/`in.`
/// and `data-eu.`/`data-in.`):
///
/// | family | base |
/// |---|---|
/// | query | `https://mixpanel.com/api/query` |
/// | export | `https://data.mixpanel.com/api/2.0` |
/// | engage | `https://mixpanel.com/api/query/engage` |
/// | app | `https://mixpanel.com/api/app` |
/// | oauth | `https://mixpanel.com/oauth/` |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    region: Region,
    bases: [String; 5],
}

impl Endpoints {
    /// Mixpanel's own endpoints for `region`.
    pub fn regional(region: Region) -> Endpoints {
        let api = format!("https://{}", region.api_host());
        let data = format!("https://{}", region.data_host());
        let mut bases: [String; 5] = Default::default();
        for family in ApiFamily::ALL {
            let host = if family == ApiFamily::Export {
                &data
            } else {
                &api
            };
            bases[family.index()] = format!("{host}{}", family.override_suffix());
        }
        Endpoints { region, bases }
    }

    /// Endpoints for `region` with the base-URL overrides of Mixpanel's
    /// official client (`MP_API_BASE_URL`, `MP_APP_BASE_URL`).
    ///
    /// An API base `B` serves query at `B/api/query`, export at `B/api/2.0`,
    /// engage at `B/api/query/engage`, app at `B/api/app` and OAuth at
    /// `B/oauth/`; an app base `A` re-homes only the App API (`A/api/app`).
    /// Trailing slashes are ignored, and an empty value or one made only of
    /// slashes (and whitespace) means "not set".
    ///
    /// Credentials must never travel in clear text: an `http://` base is
    /// accepted only for loopback hosts (`127.0.0.0/8`, `::1`, `localhost`)
    /// and anything else is refused with [`ErrorKind::InsecureUrl`]. A value
    /// that is not an absolute `http(s)` URL is refused with
    /// [`ErrorKind::Config`].
    pub fn with_overrides(
        region: Region,
        api_base: Option<&str>,
        app_base: Option<&str>,
    ) -> Result<Endpoints, Error> {
        let mut endpoints = Endpoints::regional(region);
        if let Some(api_base) = normalize_base(api_base, "API base URL")? {
            for family in ApiFamily::ALL {
                endpoints.bases[family.index()] = format!("{api_base}{}", family.override_suffix());
            }
        }
        if let Some(app_base) = normalize_base(app_base, "App base URL")? {
            endpoints.bases[ApiFamily::App.index()] =
                format!("{app_base}{}", ApiFamily::App.override_suffix());
        }
        Ok(endpoints)
    }

    /// The region these endpoints were built for.
    pub fn region(&self) -> Region {
        self.region
    }

    /// The base URL of `family`, e.g. `https://mixpanel.com/api/query`.
    pub fn base(&self, family: ApiFamily) -> &str {
        &self.bases[family.index()]
    }

    /// The URL of `path` under `family`'s base. A leading `/` is added when
    /// missing, so an empty path gives the base followed by `/`.
    pub fn url(&self, family: ApiFamily, path: &str) -> String {
        let base = self.base(family).trim_end_matches('/');
        let path = path.strip_prefix('/').unwrap_or(path);
        format!("{base}/{path}")
    }
}

/// Trims and validates a base-URL override; `Ok(None)` means "not set".
fn normalize_base(value: Option<&str>, what: &str) -> Result<Option<String>, Error> {
    let Some(value) = value else {
        return Ok(None);
    };
    let trimmed = value.trim().trim_end_matches('/');
    if trimmed.trim_matches('/').trim().is_empty() {
        return Ok(None);
    }
    check_url_is_safe(trimmed, what)?;
    if trimmed.contains(['?', '#']) {
        return Err(Error::config(format!(
            "{what} `{}` must not contain a query string or fragment",
            crate::redact_url(trimmed)
        )));
    }
    Ok(Some(trimmed.to_owned()))
}

/// Checks that `url` is an absolute `https://` URL, or an `http://` URL to a
/// loopback host.
pub(crate) fn check_url_is_safe(url: &str, what: &str) -> Result<(), Error> {
    let shown = crate::redact_url(url);
    let uri: http::Uri = url
        .parse()
        .map_err(|_| Error::config(format!("{what} `{shown}` is not a valid URL")))?;
    let host = uri
        .host()
        .filter(|host| !host.is_empty() && uri.scheme().is_some());
    let host = host.ok_or_else(|| {
        Error::config(format!(
            "{what} `{shown}` is not an absolute URL: expected `https://host[:port][/path]`"
        ))
    })?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_loopback_host(host) => Ok(()),
        Some("http") => Err(Error::new(
            ErrorKind::InsecureUrl,
            format!(
                "refusing {what} `{shown}`: `http://` would send credentials in clear text to \
                 `{host}`; use `https://`, or `http://` only for a loopback host \
                 (127.0.0.0/8, ::1, localhost)"
            ),
        )),
        _ => Err(Error::config(format!(
            "{what} `{shown}` must start with `https://` (or `http://` for a loopback host)"
        ))),
    }
}

/// Returns true if and only if `host` (as found in a URL authority, IPv6 in
/// brackets) is `localhost`, an address in `127.0.0.0/8`, or `::1`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|host| host.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.octets()[0] == 127,
        Ok(IpAddr::V6(v6)) => v6 == Ipv6Addr::LOCALHOST,
        Err(_) => false,
    }
}
