//! [`JsonLines`]: newline-delimited JSON over a streamed body.
//!
//! Exports can be gigabytes, so the reader holds at most one chunk plus the
//! start of one line that spans chunks. A line that lies inside a single
//! chunk is returned as a `Bytes` slice of that chunk, without copying;
//! only lines that cross a chunk boundary are copied once.

use std::io::Write as _;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use flate2::write::MultiGzDecoder;

use crate::request::ResponseContext;
use crate::{Error, ErrorKind, ResponseBody};

/// Reads newline-delimited JSON records from a response body.
///
/// Handles chunks that split a line anywhere (including inside a multi-byte
/// UTF-8 character: lines are split on the `\n` byte, which never occurs
/// inside one), `\r\n` line ends, blank and whitespace-only lines (skipped),
/// a last line without a newline, and gzip decoded incrementally.
///
/// A truncated stream is an error ([`ErrorKind::TruncatedStream`]), never a
/// silent end. Detected, precisely:
///
/// 1. the body fails part-way (connection reset or closed early);
/// 2. the body is gzip-encoded and the gzip stream is incomplete (missing
///    end of the deflate stream or its CRC trailer);
/// 3. a line that is not a JSON object or array and contains
///    `terminated early` (ASCII case-insensitive): the marker Mixpanel's
///    export writes when it gives up mid-stream with a 200 status
///    (mixpanel-utils#5);
/// 4. the last line has no newline and is not valid JSON (a record cut off);
/// 5. with [`JsonLines::with_objects_only`] (the default for Export
///    responses), any line whose first non-blank byte is not `{`.
///
/// After an error the reader is finished and returns `Ok(None)`.
pub struct JsonLines {
    body: ResponseBody,
    gzip: Option<GzipDecoder>,
    /// The unread part of the current (decoded) chunk.
    current: Bytes,
    /// The start of a line that spans chunks.
    partial: BytesMut,
    /// The body has ended (and the gzip stream was finished).
    body_done: bool,
    /// An error was returned; nothing more will be read.
    failed: bool,
    objects_only: bool,
    context: Option<Arc<ResponseContext>>,
    n_lines: u64,
}

impl std::fmt::Debug for JsonLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLines")
            .field("gzip", &self.gzip.is_some())
            .field("objects_only", &self.objects_only)
            .field("n_lines", &self.n_lines)
            .finish_non_exhaustive()
    }
}

impl JsonLines {
    /// A reader over a plain (not gzip-encoded) body, with no timeouts.
    pub fn new(body: ResponseBody) -> JsonLines {
        JsonLines {
            body,
            gzip: None,
            current: Bytes::new(),
            partial: BytesMut::new(),
            body_done: false,
            failed: false,
            objects_only: false,
            context: None,
            n_lines: 0,
        }
    }

    pub(crate) fn from_response_parts(
        body: ResponseBody,
        gzip: bool,
        context: Arc<ResponseContext>,
    ) -> JsonLines {
        let mut lines = JsonLines::new(body).with_gzip(gzip);
        lines.context = Some(context);
        lines
    }

    /// Whether the body is gzip-encoded.
    pub fn with_gzip(mut self, gzip: bool) -> JsonLines {
        self.gzip = gzip.then(GzipDecoder::new);
        self
    }

    /// Whether every line must be a JSON object (start with `{`); any other
    /// line is treated as a truncation marker. Turn it off to let the caller
    /// decide what to do with stray lines (Mixpanel's official client skips
    /// lines that do not parse).
    pub fn with_objects_only(mut self, objects_only: bool) -> JsonLines {
        self.objects_only = objects_only;
        self
    }

    /// Lines returned so far.
    pub fn n_lines(&self) -> u64 {
        self.n_lines
    }

    /// The next non-blank line, without its line end and surrounding
    /// whitespace; `Ok(None)` at the end of the stream.
    pub async fn next_line(&mut self) -> Result<Option<Bytes>, Error> {
        if self.failed {
            return Ok(None);
        }
        let result = self.next_line_inner().await;
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// The next line parsed as JSON into `T`; a line that does not parse is
    /// an [`ErrorKind::InvalidResponse`] error.
    pub async fn next_json<T: serde::de::DeserializeOwned>(&mut self) -> Result<Option<T>, Error> {
        let Some(line) = self.next_line().await? else {
            return Ok(None);
        };
        serde_json::from_slice(&line).map(Some).map_err(|error| {
            self.failed = true;
            self.error(ErrorKind::InvalidResponse)
                .with_message(format!(
                    "line {} of the response is not the expected JSON",
                    self.n_lines
                ))
                .with_source(error)
        })
    }

    async fn next_line_inner(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            if let Some(position) = memchr::memchr(b'\n', &self.current) {
                let line = if self.partial.is_empty() {
                    // The whole line is inside this chunk: a slice, no copy.
                    let line = self.current.split_to(position + 1);
                    line.slice(..position)
                } else {
                    self.partial.extend_from_slice(&self.current[..position]);
                    self.current.advance(position + 1);
                    self.partial.split().freeze()
                };
                let line = trim(line);
                if line.is_empty() {
                    continue;
                }
                self.check_line(&line)?;
                self.n_lines += 1;
                return Ok(Some(line));
            }
            if !self.current.is_empty() {
                self.partial.extend_from_slice(&self.current);
                self.current = Bytes::new();
            }
            if self.body_done {
                let line = trim(self.partial.split().freeze());
                if line.is_empty() {
                    return Ok(None);
                }
                self.check_line(&line)?;
                // A last line without a newline is normal for small bodies,
                // but if it is not JSON the record was cut off.
                if serde_json::from_slice::<serde::de::IgnoredAny>(&line).is_err() {
                    return Err(self.error(ErrorKind::TruncatedStream).with_message(format!(
                        "the last line of the response is an incomplete record: `{}`",
                        preview(&line)
                    )));
                }
                self.n_lines += 1;
                return Ok(Some(line));
            }
            self.read_chunk().await?;
        }
    }

    /// Reads (and decodes) the next chunk into `current`, or marks the end.
    async fn read_chunk(&mut self) -> Result<(), Error> {
        let chunk = match &self.context {
            Some(context) => context.next_chunk(&mut self.body).await?,
            None => match self.body.next_chunk().await {
                None => None,
                Some(Ok(chunk)) => Some(chunk),
                Some(Err(error)) => {
                    return Err(self
                        .error(ErrorKind::TruncatedStream)
                        .with_message("the connection broke while reading the response")
                        .with_source(error));
                }
            },
        };
        match chunk {
            Some(chunk) => {
                self.current = match &mut self.gzip {
                    Some(decoder) => decoder.decode(&chunk).map_err(|error| {
                        Error::bare(ErrorKind::InvalidResponse)
                            .with_message("the gzip-encoded response is corrupt")
                            .with_source(error)
                    })?,
                    None => chunk,
                };
            }
            None => {
                if let Some(decoder) = &mut self.gzip {
                    self.current = decoder.finish().map_err(|error| {
                        self.error(ErrorKind::TruncatedStream)
                            .with_message("the gzip-encoded response ended early")
                            .with_source(error)
                    })?;
                }
                self.body_done = true;
            }
        }
        Ok(())
    }

    /// Detects truncation markers (rules 3 and 5 of the type's docs).
    fn check_line(&self, line: &[u8]) -> Result<(), Error> {
        let first = line[0];
        if first == b'{' || (first == b'[' && !self.objects_only) {
            return Ok(());
        }
        if contains_ignore_ascii_case(line, b"terminated early") {
            return Err(self.error(ErrorKind::TruncatedStream).with_message(format!(
                "Mixpanel ended the stream early after {} lines: `{}`",
                self.n_lines,
                preview(line)
            )));
        }
        if self.objects_only {
            return Err(self.error(ErrorKind::TruncatedStream).with_message(format!(
                "line {} of the export is not a JSON object, so the stream is treated as \
                 truncated: `{}`",
                self.n_lines + 1,
                preview(line)
            )));
        }
        Ok(())
    }

    fn error(&self, kind: ErrorKind) -> Error {
        match &self.context {
            Some(context) => context.error(kind),
            None => Error::bare(kind),
        }
    }
}

/// Strips ASCII whitespace (including the `\r` of `\r\n`) from both ends.
fn trim(mut line: Bytes) -> Bytes {
    let start = line
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|byte| !byte.is_ascii_whitespace())
        .map_or(start, |position| position + 1);
    if start == 0 && end == line.len() {
        return line;
    }
    line.truncate(end);
    line.advance(start);
    line
}

fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

/// The first 100 characters of a line, for messages.
fn preview(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    match text.char_indices().nth(100) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.into_owned(),
    }
}

/// An incremental gzip decoder (several members allowed, as `gzip` writes
/// when files are concatenated).
pub(crate) struct GzipDecoder {
    decoder: MultiGzDecoder<Vec<u8>>,
    n_input_bytes: u64,
    /// The size of the last output, to size the next buffer in one go.
    last_output_len: usize,
}

impl GzipDecoder {
    pub(crate) fn new() -> GzipDecoder {
        GzipDecoder {
            decoder: MultiGzDecoder::new(Vec::new()),
            n_input_bytes: 0,
            last_output_len: 0,
        }
    }

    /// Decodes one compressed chunk; returns what it decoded (possibly empty).
    pub(crate) fn decode(&mut self, chunk: &[u8]) -> std::io::Result<Bytes> {
        self.n_input_bytes += chunk.len() as u64;
        // Exports compress about tenfold: size the output buffer from the
        // last chunk rather than growing it from nothing each time.
        let expected = self.last_output_len.max(chunk.len() * 4);
        self.decoder.get_mut().reserve(expected);
        self.decoder.write_all(chunk)?;
        // The decoder keeps output in an internal buffer until flushed.
        self.decoder.flush()?;
        let output = std::mem::take(self.decoder.get_mut());
        self.last_output_len = output.len();
        Ok(Bytes::from(output))
    }

    /// Checks that the gzip stream is complete; returns the last output.
    pub(crate) fn finish(&mut self) -> std::io::Result<Bytes> {
        // An empty body is an empty answer, not a truncated gzip stream.
        if self.n_input_bytes > 0 {
            self.decoder.try_finish()?;
        }
        Ok(Bytes::from(std::mem::take(self.decoder.get_mut())))
    }
}
