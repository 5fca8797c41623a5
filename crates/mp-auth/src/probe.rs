//! Region probing: which region does a service account or static token belong to?
//!
//! Each probe is `GET /api/app/me` on one region's App API host with the credential's
//! `Authorization` header, no retries and a short deadline. A 200 means the credential lives
//! there. [`probe_regions`] asks every region at once and answers as soon as the result is
//! certain (the preferred region accepted, or every region before the accepting one refused),
//! so a European credential costs one round trip instead of two. [`probe_regions_in_order`] asks
//! one region after another and stops at the first 200, as Mixpanel's official client does; the
//! conformance vectors record that behaviour, and both share [`classify`].
//!
//! Under a base-URL override every region maps to one host, so the caller should probe only
//! the region it means (pass a one-element order).

use std::fmt;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;

use mp_http::{ApiFamily, Client, Region, Request, RetryPolicy, Secret, TransportErrorKind};

use crate::Error;

/// How long one region may take to answer: five seconds, like the official client.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The official client's order, and our preference when several regions accept.
pub const DEFAULT_PROBE_ORDER: [Region; 3] = [Region::Us, Region::Eu, Region::In];

/// The longest response body kept per failed attempt, in characters.
const MAX_BODY_CHARS: usize = 4096;

/// Builds the client that probes one region (usually `ClientBuilder::new(Endpoints::regional(r))`
/// sharing the process's transport).
pub type ProbeClientFactory<'a> =
    dyn Fn(Region) -> Result<Client, mp_http::Error> + Send + Sync + 'a;

/// How one region answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// 200: the credential belongs to this region.
    Accepted,
    /// Another status; `body` is the start of the response (at most 4096 characters).
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// No answer: DNS, connect, TLS or timeout.
    Unreachable {
        /// What kind of failure.
        kind: TransportErrorKind,
        /// The transport's message.
        message: String,
    },
}

/// One probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeAttempt {
    /// The region asked.
    pub region: Region,
    /// Its answer.
    pub outcome: ProbeOutcome,
}

impl ProbeAttempt {
    /// The HTTP status, `0` when the region could not be reached (the official client's
    /// convention).
    pub fn status(&self) -> u16 {
        match &self.outcome {
            ProbeOutcome::Accepted => 200,
            ProbeOutcome::Rejected { status, .. } => *status,
            ProbeOutcome::Unreachable { .. } => 0,
        }
    }
}

impl fmt::Display for ProbeAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            ProbeOutcome::Accepted => write!(f, "{}: 200", self.region),
            ProbeOutcome::Rejected { status, .. } => write!(f, "{}: {status}", self.region),
            ProbeOutcome::Unreachable { message, .. } => {
                write!(f, "{}: network error ({message})", self.region)
            }
        }
    }
}

/// A successful probe: the region, and every attempt up to the deciding one, in probe order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionProbe {
    /// The region whose `/me` answered 200.
    pub region: Region,
    /// The attempts that decided it, in `order`.
    pub attempts: Vec<ProbeAttempt>,
}

/// Probes every region of `order` at once; returns the first region of `order` that accepted.
///
/// `authorization` is the full header value (`Basic …` / `Bearer …`); `None` sends none.
pub async fn probe_regions(
    factory: &ProbeClientFactory<'_>,
    authorization: Option<&Secret<String>>,
    order: &[Region],
    timeout: Duration,
) -> Result<RegionProbe, Error> {
    let mut pending: FuturesUnordered<_> = order
        .iter()
        .enumerate()
        .map(|(index, &region)| async move {
            (
                index,
                probe_one(factory, region, authorization, timeout).await,
            )
        })
        .collect();
    let mut results: Vec<Option<ProbeAttempt>> = vec![None; order.len()];
    while let Some((index, attempt)) = pending.next().await {
        results[index] = Some(attempt);
        // Decided once some region accepted and every region before it has answered.
        if let Some(decided) = decide(&results) {
            return Ok(decided);
        }
    }
    classify(results.into_iter().flatten().collect())
}

/// Probes the regions of `order` one after another, stopping at the first 200 (the official
/// client's behaviour). `on_region` is told each region before it is probed.
pub async fn probe_regions_in_order(
    factory: &ProbeClientFactory<'_>,
    authorization: Option<&Secret<String>>,
    order: &[Region],
    timeout: Duration,
    mut on_region: impl FnMut(Region),
) -> Result<RegionProbe, Error> {
    let mut attempts = Vec::with_capacity(order.len());
    for &region in order {
        on_region(region);
        let attempt = probe_one(factory, region, authorization, timeout).await;
        let accepted = attempt.outcome == ProbeOutcome::Accepted;
        attempts.push(attempt);
        if accepted {
            break;
        }
    }
    classify(attempts)
}

/// The verdict of a list of attempts: the first accepting region with the attempts up to it, or
/// [`Error::RegionsUnreachable`] when no region could be reached at all, or
/// [`Error::RegionProbeFailed`] with every attempt.
pub fn classify(attempts: Vec<ProbeAttempt>) -> Result<RegionProbe, Error> {
    if let Some(position) = attempts
        .iter()
        .position(|attempt| attempt.outcome == ProbeOutcome::Accepted)
    {
        let region = attempts[position].region;
        let mut attempts = attempts;
        attempts.truncate(position + 1);
        return Ok(RegionProbe { region, attempts });
    }
    if !attempts.is_empty()
        && attempts
            .iter()
            .all(|attempt| matches!(attempt.outcome, ProbeOutcome::Unreachable { .. }))
    {
        return Err(Error::RegionsUnreachable { attempts });
    }
    Err(Error::RegionProbeFailed { attempts })
}

/// `Some` once the attempts so far decide the probe.
fn decide(results: &[Option<ProbeAttempt>]) -> Option<RegionProbe> {
    let mut attempts = Vec::new();
    for result in results {
        let attempt = result.as_ref()?;
        attempts.push(attempt.clone());
        if attempt.outcome == ProbeOutcome::Accepted {
            return Some(RegionProbe {
                region: attempt.region,
                attempts,
            });
        }
    }
    None
}

async fn probe_one(
    factory: &ProbeClientFactory<'_>,
    region: Region,
    authorization: Option<&Secret<String>>,
    timeout: Duration,
) -> ProbeAttempt {
    let outcome = match factory(region) {
        Err(error) => unreachable_outcome(&error),
        Ok(client) => {
            let client = client.with_retry_policy(RetryPolicy::never());
            let mut request = Request::get(ApiFamily::App, "/me")
                .timeout(timeout)
                .retry_safe(false)
                .error_for_status(false);
            if let Some(authorization) = authorization {
                request = request.header("Authorization", authorization.expose().as_str());
            }
            match client.send(request).await {
                Err(error) => unreachable_outcome(&error),
                Ok(response) if response.status() == http::StatusCode::OK => ProbeOutcome::Accepted,
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.text().await.unwrap_or_default();
                    ProbeOutcome::Rejected {
                        status,
                        body: body.chars().take(MAX_BODY_CHARS).collect(),
                    }
                }
            }
        }
    };
    tracing::debug!(%region, ?outcome, "region probe");
    ProbeAttempt { region, outcome }
}

fn unreachable_outcome(error: &mp_http::Error) -> ProbeOutcome {
    match transport_error_of(error) {
        Some(transport) => ProbeOutcome::Unreachable {
            kind: transport.kind(),
            message: transport.message().to_owned(),
        },
        None => ProbeOutcome::Unreachable {
            kind: match error.kind() {
                mp_http::ErrorKind::Timeout => TransportErrorKind::Timeout,
                _ => TransportErrorKind::Other,
            },
            message: error.to_string(),
        },
    }
}

/// The transport failure somewhere in the cause chain of `error`.
fn transport_error_of<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a mp_http::TransportError> {
    let mut cause: Option<&'a (dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(transport) = current.downcast_ref::<mp_http::TransportError>() {
            return Some(transport);
        }
        cause = current.source();
    }
    None
}
