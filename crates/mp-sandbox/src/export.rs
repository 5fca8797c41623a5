//! `/api/2.0/export`: raw events as JSONL, generated and streamed on the fly.
//!
//! # Memory
//!
//! A blocking thread walks the requested hours ("slices") in order, renders each event into a
//! reusable buffer and hands ~256 KiB chunks to the response body through a channel of
//! [`CHANNEL_CHUNKS`] slots. The channel is the back-pressure: when the client reads slowly,
//! `blocking_send` parks the generator, so the memory in flight is a few chunks plus one
//! hour's compact events, whatever the size of the export. When the client goes away, the
//! body (the receiver) is dropped and the next `blocking_send` fails, which stops the
//! generator.
//!
//! # Compression
//!
//! As the spec says, the body is gzip-compressed when the request accepts gzip *and* the body
//! is over 1400 bytes. The generator decides once it has the first chunk (or the whole body,
//! if it is smaller), and tells the handler through the first message, before any data, so
//! the `Content-Encoding` header is right.
//!
//! Deflating costs more than generating: at level 1 the sandbox compresses about 260 MB of
//! JSON per second and core, against about 1.1 GB/s (4.5 M events/s) generated and sent
//! plain (release build, one stream, client in the same process, two cores). A benchmark of a client's export speed therefore chooses
//! [`ExportCompression::GzipStored`] (gzip framing around stored blocks: the client still
//! decodes gzip, the sandbox does no deflate work) or [`ExportCompression::Identity`].

use std::io::Write as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{HeaderValue, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::BodyExt as _;
use tokio::sync::mpsc;

use crate::catalog::{EventKind, N_EVENT_KINDS};
use crate::civil;
use crate::dataset::{Dataset, EventView};
use crate::expr::Expr;
use crate::faults::{ExportFaults, StreamPoint};
use crate::http_util::{ApiError, Body, Params};

/// Target size of one body chunk (uncompressed). 256 KiB rather than 64 KiB halves the time
/// of a 1 M-event export in a release build (about 210 ms instead of 400 ms on two cores):
/// fewer channel hand-offs, wake-ups and writes per byte. Larger chunks gained nothing.
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks that may wait in the channel: the bound on memory in flight.
const CHANNEL_CHUNKS: usize = 4;
/// Mixpanel compresses only bodies over this many bytes.
const GZIP_THRESHOLD: usize = 1400;
/// Mixpanel's maximum for `limit`.
const MAX_LIMIT: u64 = 100_000;
/// The line Mixpanel ends a truncated export with (mixpanel/mixpanel-utils#5 shows the body
/// `export terminated early`). It is not JSON, so a client that checks every line notices.
pub(crate) const TERMINATED_EARLY: &[u8] = b"export terminated early";

/// How `/api/2.0/export` answers a request that accepts gzip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportCompression {
    /// Real gzip (deflate level 1), as Mixpanel sends. The default.
    #[default]
    Gzip,
    /// Gzip framing around uncompressed (stored) deflate blocks: a valid gzip body the client
    /// must decode, produced without deflate's cost. For throughput benchmarks.
    GzipStored,
    /// Never compress, whatever the request accepts.
    Identity,
}

/// Set when a response deliberately resets its connection; read by the connection's I/O
/// wrapper when it is dropped, which then closes with a TCP RST instead of a FIN.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResetSwitch(Arc<AtomicBool>);

impl ResetSwitch {
    pub(crate) fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A validated export request, ready to stream.
#[derive(Debug)]
pub(crate) struct ExportPlan {
    dataset: Arc<Dataset>,
    from: i64,
    to: i64,
    wanted: [bool; N_EVENT_KINDS],
    filter: Option<Expr>,
    limit: Option<u64>,
    time_in_ms: bool,
    /// How the body is compressed if it may be (`Gzip` or `GzipStored`), `None` for identity.
    gzip: Option<ExportCompression>,
}

impl ExportPlan {
    /// Validates the parameters as Mixpanel does (400 with a message otherwise).
    pub(crate) fn new(
        dataset: Arc<Dataset>,
        params: &Params,
        accept_encoding: Option<&str>,
        compression: ExportCompression,
    ) -> Result<ExportPlan, ApiError> {
        let date = |name: &str| -> Result<i64, ApiError> {
            let text = params.required(name)?;
            civil::parse_date(text).ok_or_else(|| {
                ApiError::bad_request(format!("{name} must be a date as YYYY-MM-DD, got {text:?}"))
            })
        };
        let from = date("from_date")?;
        let to = date("to_date")?;
        if from > to {
            return Err(ApiError::bad_request(format!(
                "from_date {} is after to_date {}",
                civil::format_date(from),
                civil::format_date(to)
            )));
        }
        let limit = params.integer("limit")?;
        if limit.is_some_and(|limit| limit > MAX_LIMIT) {
            return Err(ApiError::bad_request(format!(
                "limit cannot be over {MAX_LIMIT}"
            )));
        }
        let mut wanted = [true; N_EVENT_KINDS];
        if let Some(names) = params.string_array("event")? {
            wanted = [false; N_EVENT_KINDS];
            for name in &names {
                if let Some(kind) = EventKind::from_name(name) {
                    wanted[kind as usize] = true;
                }
            }
        }
        let filter = params
            .get("where")
            .map(|text| {
                Expr::parse(text).map_err(|error| {
                    ApiError::bad_request(format!("invalid where expression: {error}"))
                })
            })
            .transpose()?;
        Ok(ExportPlan {
            dataset,
            from,
            to,
            wanted,
            filter,
            limit,
            time_in_ms: params.boolean("time_in_ms")?,
            gzip: match compression {
                _ if !accept_encoding
                    .is_some_and(|value| value.to_ascii_lowercase().contains("gzip")) =>
                {
                    None
                }
                ExportCompression::Identity => None,
                gzip => Some(gzip),
            },
        })
    }

    /// Starts the generator and returns the response once its head is known.
    pub(crate) async fn respond(self, faults: ExportFaults, reset: ResetSwitch) -> Response<Body> {
        let (sender, mut receiver) = mpsc::channel(CHANNEL_CHUNKS);
        tokio::task::spawn_blocking(move || produce(self, faults, sender));
        let gzip = match receiver.recv().await {
            Some(Message::Start { gzip }) => gzip,
            // The generator always starts with `Start`; it can only be missing if the
            // generator thread panicked.
            _ => {
                return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "export generator failed")
                    .into_response(crate::http_util::ErrorShape::Query, "/api/2.0/export");
            }
        };
        let body = ChannelBody {
            receiver,
            aborting: false,
            tcp_reset: false,
            reset,
        };
        let mut response = Response::new(body.boxed());
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if gzip {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }
}

/// What the generator tells the response body.
#[derive(Debug)]
enum Message {
    /// Sent first, exactly once: whether the body is gzip-compressed.
    Start { gzip: bool },
    /// A piece of the body (compressed if the body is).
    Data(Bytes),
    /// Drop the connection now (a `reset-export` fault), with a TCP reset if `tcp_reset`.
    Abort { tcp_reset: bool },
}

/// How the stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Complete,
    Truncated,
    Reset,
}

/// The receiver was dropped: the client is gone, stop generating.
struct ClientGone;

/// Generates the export body into the channel. Runs on a blocking thread.
fn produce(plan: ExportPlan, faults: ExportFaults, sender: mpsc::Sender<Message>) {
    let mut writer = ChunkWriter {
        sender,
        plain: Vec::with_capacity(CHUNK_BYTES + 1024),
        encoder: None,
        started: false,
        gzip_level: plan.gzip,
        plain_sent: 0,
    };
    // Ignoring the result is right: an error only means the client went away.
    let _ = stream_events(&plan, faults, &mut writer);
}

fn stream_events(
    plan: &ExportPlan,
    faults: ExportFaults,
    writer: &mut ChunkWriter,
) -> Result<(), ClientGone> {
    let dataset = &*plan.dataset;
    let mut scratch = Vec::new();
    let mut n_lines: u64 = 0;
    let mut ending = Ending::Complete;
    'slices: for slice in dataset.slices_between(plan.from, plan.to) {
        dataset.generate_slice(slice, &mut scratch);
        for event in &scratch {
            if !plan.wanted[event.kind as usize] {
                continue;
            }
            if let Some(filter) = &plan.filter
                && !filter.matches(&EventView { dataset, event })
            {
                continue;
            }
            if plan.limit == Some(n_lines) {
                break 'slices;
            }
            if faults.truncate_after == Some(n_lines) {
                ending = Ending::Truncated;
                break 'slices;
            }
            if faults.reset_after == Some(StreamPoint::Lines(n_lines)) {
                ending = Ending::Reset;
                break 'slices;
            }
            dataset.render_event(event, plan.time_in_ms, &mut writer.plain);
            n_lines += 1;
            if let Some(StreamPoint::Bytes(limit)) = faults.reset_after {
                let written = writer.plain_sent + writer.plain.len() as u64;
                if written >= limit {
                    // Cut exactly at the byte count, possibly mid-line.
                    let keep = writer.plain.len() - (written - limit) as usize;
                    writer.plain.truncate(keep);
                    ending = Ending::Reset;
                    break 'slices;
                }
            }
            if writer.plain.len() >= CHUNK_BYTES {
                writer.flush(false)?;
            }
        }
    }
    // A fault whose point lies beyond the end of a short export still happens, at the end:
    // a test that asks for a reset gets one.
    if ending == Ending::Complete {
        if faults.reset_after.is_some() {
            ending = Ending::Reset;
        } else if faults.truncate_after.is_some() {
            ending = Ending::Truncated;
        }
    }
    match ending {
        Ending::Complete => writer.finish(),
        Ending::Truncated => {
            writer.plain.extend_from_slice(TERMINATED_EARLY);
            writer.finish()
        }
        Ending::Reset => {
            writer.flush(true)?;
            writer.send(Message::Abort {
                tcp_reset: faults.tcp_reset,
            })
        }
    }
}

/// Buffers rendered lines and sends them as chunks, compressing them if the body is gzip.
struct ChunkWriter {
    sender: mpsc::Sender<Message>,
    /// Uncompressed lines not yet sent (or not yet fed to the compressor).
    plain: Vec<u8>,
    /// The compressor, once the body is known to be gzip. It holds compressed bytes not yet
    /// sent.
    encoder: Option<GzipOutput>,
    started: bool,
    /// The compression if the request accepts gzip.
    gzip_level: Option<ExportCompression>,
    /// Uncompressed bytes already handed on.
    plain_sent: u64,
}

impl ChunkWriter {
    fn send(&mut self, message: Message) -> Result<(), ClientGone> {
        self.sender.blocking_send(message).map_err(|_| ClientGone)
    }

    /// Decides the encoding and announces it. `complete` says the whole body is in `plain`.
    fn start(&mut self, complete: bool) -> Result<(), ClientGone> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let level = self
            .gzip_level
            .filter(|_| !complete || self.plain.len() > GZIP_THRESHOLD);
        let gzip = level.is_some();
        if let Some(level) = level {
            self.encoder = Some(GzipOutput::new(level));
        }
        self.send(Message::Start { gzip })
    }

    /// Sends the buffered lines. With `sync`, the compressor is flushed too, so that the
    /// client can decode everything sent so far (needed right before a reset).
    fn flush(&mut self, sync: bool) -> Result<(), ClientGone> {
        self.start(false)?;
        self.plain_sent += self.plain.len() as u64;
        let chunk = match &mut self.encoder {
            None => Bytes::from(std::mem::replace(
                &mut self.plain,
                Vec::with_capacity(CHUNK_BYTES + 1024),
            )),
            Some(encoder) => {
                encoder.write(&self.plain);
                self.plain.clear();
                if sync {
                    encoder.sync();
                }
                Bytes::from(encoder.take())
            }
        };
        if chunk.is_empty() {
            return Ok(());
        }
        self.send(Message::Data(chunk))
    }

    /// Sends the rest and ends the body.
    fn finish(&mut self) -> Result<(), ClientGone> {
        self.start(true)?;
        let chunk = match self.encoder.take() {
            None => Bytes::from(std::mem::take(&mut self.plain)),
            Some(mut encoder) => {
                encoder.write(&self.plain);
                self.plain.clear();
                Bytes::from(encoder.finish())
            }
        };
        if !chunk.is_empty() {
            self.send(Message::Data(chunk))?;
        }
        Ok(())
    }
}

/// A gzip body being produced.
enum GzipOutput {
    /// Real deflate, at level 1: the sandbox is about generating fast; the client's decoder is
    /// what is being tested, not the compression ratio. Its inner `Vec` holds output not yet
    /// sent.
    Deflate(GzEncoder<Vec<u8>>),
    /// Stored blocks, framed by hand (see [`StoredGzip`]).
    Stored(StoredGzip),
}

impl GzipOutput {
    fn new(compression: ExportCompression) -> GzipOutput {
        match compression {
            ExportCompression::GzipStored => GzipOutput::Stored(StoredGzip::new()),
            _ => GzipOutput::Deflate(GzEncoder::new(Vec::new(), Compression::fast())),
        }
    }

    fn write(&mut self, data: &[u8]) {
        match self {
            // Writing into a `Vec` cannot fail.
            GzipOutput::Deflate(encoder) => drop(encoder.write_all(data)),
            GzipOutput::Stored(stored) => stored.write(data),
        }
    }

    /// Makes everything written so far decodable by the client.
    fn sync(&mut self) {
        match self {
            GzipOutput::Deflate(encoder) => drop(encoder.flush()),
            // Stored blocks are complete and byte-aligned as soon as they are written.
            GzipOutput::Stored(_) => {}
        }
    }

    /// Takes the output produced so far.
    fn take(&mut self) -> Vec<u8> {
        match self {
            GzipOutput::Deflate(encoder) => std::mem::take(encoder.get_mut()),
            GzipOutput::Stored(stored) => std::mem::take(&mut stored.out),
        }
    }

    /// Ends the gzip stream and returns the rest of the output.
    fn finish(self) -> Vec<u8> {
        match self {
            GzipOutput::Deflate(encoder) => encoder.finish().unwrap_or_default(),
            GzipOutput::Stored(stored) => stored.finish(),
        }
    }
}

/// A gzip member (RFC 1952) whose deflate data (RFC 1951) is only stored blocks: each block
/// is the byte `0` (or `1` for the last), its length and the length's complement (16-bit
/// little-endian), then up to 65 535 bytes verbatim. The cost is a copy and a CRC-32, which is
/// why benchmarks use it: `flate2` at level 0 is no faster than at level 1.
struct StoredGzip {
    out: Vec<u8>,
    crc: flate2::Crc,
}

impl StoredGzip {
    /// The largest stored block.
    const MAX_BLOCK: usize = 65_535;

    fn new() -> StoredGzip {
        // Magic, deflate, no flags, no mtime, no extra flags, OS unknown.
        let out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        StoredGzip {
            out,
            crc: flate2::Crc::new(),
        }
    }

    fn write(&mut self, data: &[u8]) {
        self.crc.update(data);
        for block in data.chunks(Self::MAX_BLOCK) {
            self.block(false, block);
        }
    }

    fn block(&mut self, last: bool, data: &[u8]) {
        let len = data.len() as u16;
        self.out.push(u8::from(last));
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(&(!len).to_le_bytes());
        self.out.extend_from_slice(data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.block(true, &[]);
        let (crc, size) = (self.crc.sum(), self.crc.amount());
        self.out.extend_from_slice(&crc.to_le_bytes());
        self.out.extend_from_slice(&size.to_le_bytes());
        self.out
    }
}

/// The streamed response body: whatever the generator sends.
#[derive(Debug)]
struct ChannelBody {
    receiver: mpsc::Receiver<Message>,
    /// Set when `Abort` arrived: the next poll fails the body.
    aborting: bool,
    /// With `aborting`: pull the connection's reset switch first.
    tcp_reset: bool,
    reset: ResetSwitch,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if this.aborting {
            // Failing the body makes hyper drop the connection without the chunked body's
            // terminator; the switch makes that drop a TCP reset.
            if this.tcp_reset {
                this.reset.request();
            }
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "sandbox fault: export connection reset",
            ))));
        }
        match this.receiver.poll_recv(cx) {
            Poll::Ready(Some(Message::Data(chunk))) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            Poll::Ready(Some(Message::Abort { tcp_reset })) => {
                // Return `Pending` once (and wake at once) instead of failing now: hyper
                // flushes what it has buffered before polling the body again, so the client
                // receives every byte sent before the reset.
                this.aborting = true;
                this.tcp_reset = tcp_reset;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(Some(Message::Start { .. })) => {
                // Only ever sent first, and consumed by `respond`.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
