//! `application/x-www-form-urlencoded` for the authorize URL we build and the callback query
//! strings we parse.

/// Encodes one query component the way Python's `urlencode` does (`quote_plus`): ASCII letters,
/// digits and `_.-~` stay, a space becomes `+`, every other byte becomes `%XX` (upper-case hex).
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Builds `key=value&…` from pairs, in order.
pub(crate) fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(key, value)| format!("{}={}", encode_component(key), encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes a query string into its pairs, in order: `+` is a space, `%XX` a byte (invalid
/// escapes are kept literally), and invalid UTF-8 is replaced.
pub(crate) fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (decode_component(key), decode_component(value)),
            None => (decode_component(pair), String::new()),
        })
        .collect()
}

fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            b'%' => {
                let hex = bytes
                    .get(index + 1..index + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        index += 3;
                    }
                    None => {
                        out.push(b'%');
                        index += 1;
                    }
                }
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(
            encode_pairs([
                ("redirect_uri", "http://localhost:19284/callback"),
                ("a b", "c&d")
            ]),
            "redirect_uri=http%3A%2F%2Flocalhost%3A19284%2Fcallback&a+b=c%26d"
        );
        assert_eq!(
            decode_query("code=a%2Bb+c&state=x&flag&bad=%zz"),
            vec![
                ("code".to_owned(), "a+b c".to_owned()),
                ("state".to_owned(), "x".to_owned()),
                ("flag".to_owned(), String::new()),
                ("bad".to_owned(), "%zz".to_owned()),
            ]
        );
    }
}
