//! The JSONL reader: arbitrary chunkings, UTF-8, CRLF, gzip and truncation.

use std::io::Write as _;

use bytes::Bytes;
use proptest::prelude::*;

use crate::{ErrorKind, JsonLines, ResponseBody, TransportError, TransportErrorKind};

/// Splits `bytes` at the given cut points (sorted, deduplicated, in range).
fn split_at(bytes: &[u8], cuts: &[usize]) -> Vec<Bytes> {
    let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        chunks.push(Bytes::copy_from_slice(&bytes[start..cut]));
        start = cut;
    }
    chunks
}

fn body_of(chunks: Vec<Result<Bytes, TransportError>>) -> ResponseBody {
    ResponseBody::from_stream(futures_util::stream::iter(chunks))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Reads every line; returns them as strings, or the error kind and the
/// lines read before it.
fn read_all(mut lines: JsonLines) -> (Vec<String>, Option<crate::Error>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut out = Vec::new();
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => out.push(String::from_utf8(line.to_vec()).unwrap()),
                Ok(None) => return (out, None),
                Err(error) => {
                    // The reader is fused after an error.
                    assert!(lines.next_line().await.unwrap().is_none());
                    return (out, Some(error));
                }
            }
        }
    })
}

#[track_caller]
fn check(body: &str, cuts: &[usize], expected: &[&str]) {
    let chunks = split_at(body.as_bytes(), cuts)
        .into_iter()
        .map(Ok)
        .collect();
    let (lines, error) = read_all(JsonLines::new(body_of(chunks)));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(lines, expected);
}

#[track_caller]
fn check_truncated(lines: JsonLines, expected_lines: &[&str], message_contains: &str) {
    let (lines, error) = read_all(lines);
    let error = error.expect("a truncated stream is an error");
    assert_eq!(*error.kind(), ErrorKind::TruncatedStream, "{error}");
    assert!(error.to_string().contains(message_contains), "{error}");
    assert_eq!(lines, expected_lines);
}

/// A JSON object line with text that includes multi-byte UTF-8.
fn json_line() -> impl Strategy<Value = String> {
    ("[a-zé€😀 \"\\\\]{0,12}", any::<i64>()).prop_map(|(text, number)| {
        serde_json::json!({"event": text, "properties": {"n": number}}).to_string()
    })
}

/// Blank lines, whitespace-only lines and real lines.
fn line_or_blank() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => json_line().prop_map(Some),
        1 => Just(None),
    ]
}

fn render_body(lines: &[Option<String>], crlf: bool, final_newline: bool) -> (String, Vec<String>) {
    let newline = if crlf { "\r\n" } else { "\n" };
    let mut body = String::new();
    let mut expected = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        match line {
            Some(line) => {
                body.push_str(line);
                expected.push(line.clone());
            }
            // Alternate empty and whitespace-only blank lines.
            None if index % 2 == 0 => {}
            None => body.push_str(" \t "),
        }
        if index + 1 < lines.len() || final_newline {
            body.push_str(newline);
        }
    }
    (body, expected)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_chunking_yields_the_same_lines(
        lines in proptest::collection::vec(line_or_blank(), 0..20),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
    ) {
        let (body, expected) = render_body(&lines, crlf, final_newline);
        let chunks = split_at(body.as_bytes(), &cuts).into_iter().map(Ok).collect();
        let (actual, error) = read_all(JsonLines::new(body_of(chunks)).with_objects_only(true));
        prop_assert!(error.is_none(), "{:?}", error);
        prop_assert_eq!(actual, expected);
    }

    #[test]
    fn gzip_split_anywhere_yields_the_same_lines(
        lines in proptest::collection::vec(line_or_blank(), 0..20),
        crlf in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
    ) {
        let (body, expected) = render_body(&lines, crlf, true);
        let compressed = gzip(body.as_bytes());
        let chunks = split_at(&compressed, &cuts).into_iter().map(Ok).collect();
        let (actual, error) = read_all(JsonLines::new(body_of(chunks)).with_gzip(true));
        prop_assert!(error.is_none(), "{:?}", error);
        prop_assert_eq!(actual, expected);
    }

    #[test]
    fn gzip_cut_short_anywhere_is_truncated(
        lines in proptest::collection::vec(json_line(), 1..10),
        cut in any::<usize>(),
    ) {
        let body = lines.join("\n") + "\n";
        let compressed = gzip(body.as_bytes());
        // Keep at least one byte and drop at least one.
        let keep = 1 + cut % (compressed.len() - 1);
        let chunks = vec![Ok(Bytes::copy_from_slice(&compressed[..keep]))];
        let (actual, error) = read_all(JsonLines::new(body_of(chunks)).with_gzip(true));
        let error = error.expect("a cut gzip stream is an error");
        prop_assert_eq!(*error.kind(), ErrorKind::TruncatedStream);
        // Whatever was returned is a prefix of the real lines.
        prop_assert_eq!(&actual[..], &lines[..actual.len()]);
    }
}

#[test]
fn split_multibyte_characters_are_reassembled() {
    let body = "{\"e\":\"é€😀\"}\n{\"e\":\"ü\"}";
    // Cut inside every character of the first line.
    for cut in 1..body.len() {
        check(body, &[cut], &["{\"e\":\"é€😀\"}", "{\"e\":\"ü\"}"]);
    }
    // One byte per chunk.
    let every_byte: Vec<usize> = (1..body.len()).collect();
    check(body, &every_byte, &["{\"e\":\"é€😀\"}", "{\"e\":\"ü\"}"]);
}

#[test]
fn crlf_blank_lines_and_missing_final_newline() {
    check(
        "{\"a\":1}\r\n\r\n  \r\n{\"b\":2}\r\n",
        &[],
        &["{\"a\":1}", "{\"b\":2}"],
    );
    check("{\"a\":1}\n{\"b\":2}", &[3], &["{\"a\":1}", "{\"b\":2}"]);
    check("", &[], &[]);
    check("\n\n \n", &[1, 2], &[]);
    // A CR split from its LF.
    check(
        "{\"a\":1}\r\n{\"b\":2}\r\n",
        &[8],
        &["{\"a\":1}", "{\"b\":2}"],
    );
}

#[test]
fn lines_inside_one_chunk_are_not_copied() {
    let chunk = Bytes::from_static(b"{\"a\":1}\n{\"b\":2}\n");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut lines = JsonLines::new(ResponseBody::from_bytes(chunk.clone()));
    let line = runtime.block_on(lines.next_line()).unwrap().unwrap();
    assert_eq!(line.as_ptr(), chunk.as_ptr());
}

#[test]
fn a_broken_connection_mid_body_is_truncation() {
    let chunks = vec![
        Ok(Bytes::from_static(b"{\"a\":1}\n{\"b\":")),
        Err(TransportError::new(
            TransportErrorKind::ConnectionReset,
            "reset by peer",
        )),
    ];
    check_truncated(
        JsonLines::new(body_of(chunks)),
        &["{\"a\":1}"],
        "the connection broke while reading the response",
    );
}

#[test]
fn the_terminated_early_marker_is_truncation() {
    for marker in [
        "terminated early",
        "Terminated early: timeout",
        "error: export terminated early",
    ] {
        let body = format!("{{\"a\":1}}\n{{\"b\":2}}\n{marker}\n");
        // Detected with or without the objects-only rule.
        for objects_only in [false, true] {
            check_truncated(
                JsonLines::new(ResponseBody::from_bytes(body.clone()))
                    .with_objects_only(objects_only),
                &["{\"a\":1}", "{\"b\":2}"],
                "ended the stream early after 2 lines",
            );
        }
    }
}

#[test]
fn a_cut_last_record_is_truncation() {
    check_truncated(
        JsonLines::new(ResponseBody::from_bytes("{\"a\":1}\n{\"b\":2,\"c\"")),
        &["{\"a\":1}"],
        "incomplete record",
    );
}

#[test]
fn objects_only_flags_stray_lines_and_is_off_by_default() {
    let body = "{\"a\":1}\nNOT JSON\n{\"b\":2}\n";
    check(body, &[], &["{\"a\":1}", "NOT JSON", "{\"b\":2}"]);
    check_truncated(
        JsonLines::new(ResponseBody::from_bytes(body)).with_objects_only(true),
        &["{\"a\":1}"],
        "line 2 of the export is not a JSON object",
    );
}
