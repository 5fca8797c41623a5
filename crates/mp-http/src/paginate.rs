//! [`Paginator`]: the App API's cursor pagination.
//!
//! A page is `{"status": "ok", "results": [...], "pagination": {"page_size":
//! n, "next_cursor": "c"}}`. The first request carries `page_size` and no
//! cursor; each next one adds `cursor=<next_cursor>`; a null, empty or absent
//! `next_cursor` (or no `pagination` at all) ends the list. The behaviour on
//! every edge follows the `pagination` conformance vectors:
//!
//! - `results` null or absent is an empty page (and a `next_cursor` is still
//!   followed); `results` of any other non-array type is an
//!   [`ErrorKind::InvalidResponse`] error with details `path` and
//!   `results_type` (`bool`, `dict`, `int`, `float`, `str`: the names the
//!   official client reports);
//! - a body that is not JSON is [`ErrorKind::InvalidResponse`] with detail
//!   `content_type`; a body with `"status": "error"` is
//!   [`ErrorKind::BadRequest`];
//! - `query_origin` is sent, and the client's value replaces a caller's;
//! - 429 is retried per the client's policy, and any other error status ends
//!   the iteration with that error (pages already returned stay returned);
//! - a `next_cursor` equal to the cursor just sent, or more than
//!   [`MAX_PAGES`] pages, is an [`ErrorKind::InvalidResponse`] error: the
//!   server would make us loop forever.

use std::collections::VecDeque;

use serde_json::Value;

use crate::{ApiFamily, Client, Error, ErrorKind, Request};

/// The most pages one pagination will fetch (the official client's limit).
pub const MAX_PAGES: u32 = 10_000;

/// The default `page_size`.
const DEFAULT_PAGE_SIZE: u32 = 100;

/// Iterates over an App API list page by page (see [`Client::paginate`]).
#[derive(Debug)]
pub struct Paginator {
    client: Client,
    path: String,
    params: Vec<(String, Value)>,
    page_size: u32,
    cursor: Option<String>,
    done: bool,
    n_pages: u32,
    buffered: VecDeque<Value>,
}

impl Paginator {
    pub(crate) fn new(
        client: Client,
        path: &str,
        params: Vec<(String, Value)>,
        page_size: u32,
    ) -> Paginator {
        Paginator {
            client,
            path: path.to_owned(),
            params,
            page_size: if page_size == 0 {
                DEFAULT_PAGE_SIZE
            } else {
                page_size
            },
            cursor: None,
            done: false,
            n_pages: 0,
            buffered: VecDeque::new(),
        }
    }

    /// Pages fetched so far.
    pub fn n_pages(&self) -> u32 {
        self.n_pages
    }

    /// The next page's items; `Ok(None)` when the list is exhausted.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, Error> {
        if self.done {
            return Ok(None);
        }
        // Stop after any error: a retry is the caller's decision.
        self.done = true;
        if self.n_pages >= MAX_PAGES {
            return Err(Error::new(
                ErrorKind::InvalidResponse,
                format!(
                    "pagination of `{}` did not end after {MAX_PAGES} pages",
                    self.path
                ),
            )
            .with_detail("path", self.path.as_str()));
        }
        let mut request = Request::get(ApiFamily::App, self.path.as_str())
            .params(self.params.iter().cloned())
            .param("page_size", self.page_size)
            .inject_query_origin(true);
        if let Some(cursor) = &self.cursor {
            request = request.param("cursor", cursor.as_str());
        }
        let response = self.client.send(request).await?;
        let (head, bytes) = response.bytes_keeping_head().await?;
        self.n_pages += 1;
        let page: Value =
            serde_json::from_slice(&bytes).map_err(|error| head.not_json(&bytes, error))?;
        if page.get("status").and_then(Value::as_str) == Some("error") {
            return Err(head.status_error(&bytes));
        }
        let items = match page.get("results") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(other) => {
                return Err(head
                    .invalid(&bytes)
                    .with_message(format!(
                        "`results` of a page of `{}` is not a list",
                        self.path
                    ))
                    .with_detail("path", self.path.as_str())
                    .with_detail("results_type", python_type_name(other)));
            }
        };
        let next_cursor = page
            .get("pagination")
            .and_then(|pagination| pagination.get("next_cursor"))
            .and_then(Value::as_str)
            .filter(|cursor| !cursor.is_empty());
        match next_cursor {
            Some(next) if self.cursor.as_deref() == Some(next) => {
                return Err(head
                    .invalid(&bytes)
                    .with_message(format!(
                        "the server returned the same cursor `{next}` twice; stopping to avoid \
                         a loop"
                    ))
                    .with_detail("path", self.path.as_str()));
            }
            Some(next) => {
                self.cursor = Some(next.to_owned());
                self.done = false;
            }
            None => {}
        }
        Ok(Some(items))
    }

    /// The next item; `Ok(None)` when the list is exhausted.
    pub async fn next_item(&mut self) -> Result<Option<Value>, Error> {
        loop {
            if let Some(item) = self.buffered.pop_front() {
                return Ok(Some(item));
            }
            match self.next_page().await? {
                Some(items) => self.buffered.extend(items),
                None => return Ok(None),
            }
        }
    }

    /// Every remaining item.
    pub async fn collect_all(mut self) -> Result<Vec<Value>, Error> {
        let mut items: Vec<Value> = self.buffered.drain(..).collect();
        while let Some(page) = self.next_page().await? {
            items.extend(page);
        }
        Ok(items)
    }
}

/// The Python type name the official client reports for a JSON value.
fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(number) if number.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
