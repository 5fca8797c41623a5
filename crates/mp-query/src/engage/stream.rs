//! [`ProfileStream`]: every page of a profile query, in page order, with concurrent fetches once the number of
//! pages is known (see the parent module's docs for the paging contract).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde_json::value::RawValue;

use crate::export::{LimiterPermit, SharedLimiter};
use crate::{Engage, Error, Profile, ProfilePage, ProfileQuery, RateLimits, WaitReason};

/// The most pages fetched at once: the Query API's limit of 5 concurrent requests.
pub const MAX_ENGAGE_PARALLEL: usize = 5;

/// Told when a page request waits for a client-side rate limit: which limit, and for how long when known.
pub type RateLimitCallback = Arc<dyn Fn(WaitReason, Option<Duration>) + Send + Sync>;

/// How a [`ProfileStream`] fetches pages.
#[derive(Clone)]
pub struct ProfileStreamOptions {
    /// Pages fetched at once, 1 to [`MAX_ENGAGE_PARALLEL`].
    pub parallel: usize,
    /// The client-side limits every page request waits for.
    pub rate_limits: RateLimits,
    /// Told about every wait.
    pub on_rate_limit: Option<RateLimitCallback>,
}

impl std::fmt::Debug for ProfileStreamOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileStreamOptions")
            .field("parallel", &self.parallel)
            .field("rate_limits", &self.rate_limits)
            .field("on_rate_limit", &self.on_rate_limit.is_some())
            .finish()
    }
}

impl ProfileStreamOptions {
    /// One page at a time, within [`RateLimits::QUERY_API`], no callback.
    pub fn new() -> ProfileStreamOptions {
        ProfileStreamOptions {
            parallel: 1,
            rate_limits: RateLimits::QUERY_API,
            on_rate_limit: None,
        }
    }
}

impl Default for ProfileStreamOptions {
    /// [`ProfileStreamOptions::new`].
    fn default() -> ProfileStreamOptions {
        ProfileStreamOptions::new()
    }
}

type PageStream = Pin<Box<dyn Stream<Item = Result<ProfilePage, Error>> + Send>>;

enum State {
    /// Page 0 is next.
    First,
    /// Pages `1..resume_at` are being fetched concurrently; `last_full` says whether the last one handed out was
    /// full, in which case paging goes on at `resume_at`.
    Parallel {
        pages: PageStream,
        session_id: String,
        resume_at: u32,
        last_full: bool,
    },
    /// Page `page` is next, with `session_id`.
    Sequential {
        page: u32,
        session_id: String,
    },
    Done,
}

/// Every page of a profile query, in page order; see [`Engage::profiles`].
pub struct ProfileStream {
    fetcher: Fetcher,
    parallel: usize,
    state: State,
    /// Profiles of the current page not handed out yet.
    buffered: VecDeque<Box<RawValue>>,
    /// The current page without its profiles.
    current: Option<ProfilePage>,
    n_profiles: u64,
    on_batch: Option<Box<dyn FnMut(u64) + Send>>,
}

impl std::fmt::Debug for ProfileStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileStream")
            .field("parallel", &self.parallel)
            .field("n_profiles", &self.n_profiles)
            .finish_non_exhaustive()
    }
}

/// What a page request needs; cheap to clone into concurrent fetches.
#[derive(Clone)]
struct Fetcher {
    engage: Engage,
    query: Arc<ProfileQuery>,
    limiter: Arc<SharedLimiter>,
    on_rate_limit: Option<RateLimitCallback>,
}

impl Fetcher {
    async fn fetch(self, page: u32, session_id: Option<String>) -> Result<ProfilePage, Error> {
        let _permit: LimiterPermit = {
            let on_wait = |reason: WaitReason, wait: Option<Duration>| {
                if let Some(callback) = &self.on_rate_limit {
                    callback(reason, wait);
                }
            };
            self.limiter.acquire(&on_wait).await
        };
        self.engage
            .page(&self.query, page, session_id.as_deref())
            .await
    }
}

impl ProfileStream {
    pub(crate) fn new(
        engage: Engage,
        query: ProfileQuery,
        options: ProfileStreamOptions,
        empty: bool,
    ) -> ProfileStream {
        let limiter = SharedLimiter::new(options.rate_limits, Arc::clone(engage.client().clock()));
        ProfileStream {
            fetcher: Fetcher {
                engage,
                query: Arc::new(query),
                limiter,
                on_rate_limit: options.on_rate_limit,
            },
            parallel: options.parallel,
            state: if empty { State::Done } else { State::First },
            buffered: VecDeque::new(),
            current: None,
            n_profiles: 0,
            on_batch: None,
        }
    }

    /// Calls `callback` with the running count of profiles after each page (the official client's `on_batch`).
    pub fn with_on_batch(mut self, callback: impl FnMut(u64) + Send + 'static) -> ProfileStream {
        self.on_batch = Some(Box::new(callback));
        self
    }

    /// Profiles handed out so far (in pages or one by one).
    pub fn n_profiles(&self) -> u64 {
        self.n_profiles
    }

    /// The next page with at least one profile, in page order; `None` after the last.
    ///
    /// Note that profiles already taken one by one with [`ProfileStream::next_raw`] are not handed out again:
    /// the first page after such calls holds only the rest of the current page.
    pub async fn next_page(&mut self) -> Result<Option<ProfilePage>, Error> {
        if !self.buffered.is_empty()
            && let Some(mut rest) = self.current.take()
        {
            rest.profiles = self.buffered.drain(..).collect();
            return Ok(Some(rest));
        }
        let Some(page) = self.fetch_next().await? else {
            return Ok(None);
        };
        self.n_profiles += page.profiles.len() as u64;
        if let Some(callback) = &mut self.on_batch {
            callback(self.n_profiles);
        }
        Ok(Some(page))
    }

    /// The next profile, as the exact JSON text Mixpanel sent; `None` after the last.
    pub async fn next_raw(&mut self) -> Result<Option<Box<RawValue>>, Error> {
        loop {
            if let Some(profile) = self.buffered.pop_front() {
                return Ok(Some(profile));
            }
            match self.fetch_next().await? {
                None => return Ok(None),
                Some(mut page) => {
                    self.n_profiles += page.profiles.len() as u64;
                    if let Some(callback) = &mut self.on_batch {
                        callback(self.n_profiles);
                    }
                    self.buffered.extend(std::mem::take(&mut page.profiles));
                    self.current = Some(page);
                }
            }
        }
    }

    /// The next profile, parsed; `None` after the last.
    pub async fn next_profile(&mut self) -> Result<Option<Profile>, Error> {
        match self.next_raw().await? {
            None => Ok(None),
            Some(raw) => Profile::parse(&raw).map(Some),
        }
    }

    /// The profiles as a [`Stream`] of their JSON text; it ends after the first error.
    pub fn into_raw_stream(self) -> impl Stream<Item = Result<Box<RawValue>, Error>> + Send {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut stream = state?;
            match stream.next_raw().await {
                Ok(Some(profile)) => Some((Ok(profile), Some(stream))),
                Ok(None) => None,
                Err(error) => Some((Err(error), None)),
            }
        })
    }

    /// Fetches the next non-empty page and moves the state on; `None` when paging is over. After an error the
    /// stream is over.
    async fn fetch_next(&mut self) -> Result<Option<ProfilePage>, Error> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Ok(None),
                State::First => {
                    let page = self.fetcher.clone().fetch(0, None).await?;
                    if page.profiles.is_empty() {
                        return Ok(None);
                    }
                    self.state = self.after_first(&page);
                    return Ok(Some(page));
                }
                State::Sequential { page, session_id } => {
                    let page = self.fetcher.clone().fetch(page, Some(session_id)).await?;
                    if page.profiles.is_empty() {
                        return Ok(None);
                    }
                    self.state = after(&page);
                    return Ok(Some(page));
                }
                State::Parallel {
                    mut pages,
                    session_id,
                    resume_at,
                    last_full,
                } => match pages.next().await {
                    Some(Ok(page)) => {
                        // An empty page means the data changed under us: nothing follows it.
                        if page.profiles.is_empty() {
                            return Ok(None);
                        }
                        let full = !page.is_last();
                        self.state = State::Parallel {
                            pages,
                            session_id,
                            resume_at,
                            last_full: full,
                        };
                        return Ok(Some(page));
                    }
                    Some(Err(error)) => return Err(error),
                    None if last_full => {
                        self.state = State::Sequential {
                            page: resume_at,
                            session_id,
                        };
                    }
                    None => return Ok(None),
                },
            }
        }
    }

    /// After page 0: fetch the known pages concurrently when allowed, else go on one by one.
    fn after_first(&self, page: &ProfilePage) -> State {
        let next = after(page);
        let State::Sequential { session_id, .. } = &next else {
            return next;
        };
        let (Some(total), Some(page_size)) = (page.total, page.page_size) else {
            return next;
        };
        if self.parallel <= 1 || page_size == 0 {
            return next;
        }
        let n_pages = total.div_ceil(u64::from(page_size));
        let n_pages = u32::try_from(n_pages).unwrap_or(u32::MAX);
        if n_pages <= 1 {
            return next;
        }
        let fetcher = self.fetcher.clone();
        let session = session_id.clone();
        let pages = futures_util::stream::iter(1..n_pages)
            .map(move |number| fetcher.clone().fetch(number, Some(session.clone())))
            .buffered(self.parallel);
        State::Parallel {
            pages: Box::pin(pages),
            session_id: session_id.clone(),
            resume_at: n_pages,
            last_full: true,
        }
    }
}

/// The state after a non-empty page fetched on its own.
fn after(page: &ProfilePage) -> State {
    match &page.session_id {
        Some(session_id) if !page.is_last() => State::Sequential {
            page: page.page + 1,
            session_id: session_id.clone(),
        },
        _ => State::Done,
    }
}
