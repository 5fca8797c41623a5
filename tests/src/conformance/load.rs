//! Corpus loading (RUNNER-SPEC.md §2): every `*.jsonl` file below a directory, bundle headers and blank lines
//! skipped, ids unique across the corpus, vectors in ascending id order, an optional shell-style glob over ids.
//!
//! JSON is decoded with serde_json, which this workspace builds with `preserve_order`, so object members keep their
//! file order. serde_json keeps the integer/float distinction of number tokens (`18` is an integer, `18.0` a float)
//! and holds integers exactly up to the range of `i64`/`u64`; a corpus integer outside that range would silently
//! become a float, so the loader refuses it rather than produce a wrong verdict (none exists in this corpus).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

/// One vector line of the corpus.
#[derive(Debug, Clone)]
pub struct Vector {
    /// The vector's `id` (`<capability>/<api>/<slug>`).
    pub id: String,
    /// The file the vector came from.
    pub file: PathBuf,
    /// The whole JSON object of the line.
    pub json: Value,
}

impl Vector {
    /// The vector's `capability`, falling back to the first segment of its id.
    pub fn capability(&self) -> String {
        match self.json.get("capability").and_then(Value::as_str) {
            Some(capability) => capability.to_owned(),
            None => self.id.split('/').next().unwrap_or_default().to_owned(),
        }
    }

    /// The vector's `kind` (`wire` in this corpus).
    pub fn kind(&self) -> &str {
        self.json
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The measured call's `call.api`.
    pub fn api(&self) -> &str {
        self.json
            .pointer("/call/api")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// Loads every vector below `dir` (recursively), sorted by id, keeping those whose id matches `filter`.
///
/// Fails on unreadable files, malformed lines, lines without string `id`/`kind`, duplicate ids, and integers beyond
/// 64 bits; these are corpus errors, not vector failures.
pub fn load_vectors(dir: &Path, filter: Option<&str>) -> anyhow::Result<Vec<Vector>> {
    let mut files = Vec::new();
    collect_jsonl_files(dir, &mut files)
        .with_context(|| format!("reading vector directory `{}`", dir.display()))?;
    files.sort();
    let mut vectors = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading `{}`", file.display()))?;
        // The writer escapes U+0085, U+2028 and U+2029 inside strings, so splitting on '\n' alone is the same as
        // Python's `str.splitlines()` here.
        for (line_index, line) in text.split('\n').enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let location = || format!("{}:{}", file.display(), line_index + 1);
            check_integer_tokens(line).with_context(location)?;
            let json: Value = serde_json::from_str(line).with_context(location)?;
            if json.get("$bundle").is_some() {
                continue;
            }
            let (Some(id), Some(_kind)) = (
                json.get("id").and_then(Value::as_str),
                json.get("kind").and_then(Value::as_str),
            ) else {
                bail!("{}: a vector line needs string `id` and `kind`", location());
            };
            vectors.push(Vector {
                id: id.to_owned(),
                file: file.clone(),
                json,
            });
        }
    }
    vectors.sort_by(|a, b| a.id.cmp(&b.id));
    for pair in vectors.windows(2) {
        if pair[0].id == pair[1].id {
            bail!(
                "duplicate vector id `{}` (in `{}` and `{}`)",
                pair[0].id,
                pair[0].file.display(),
                pair[1].file.display()
            );
        }
    }
    if let Some(pattern) = filter {
        vectors.retain(|vector| glob_matches(pattern, &vector.id));
    }
    Ok(vectors)
}

fn collect_jsonl_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_jsonl_files(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "jsonl")
        {
            files.push(path);
        }
    }
    Ok(())
}

/// Refuses integer tokens that serde_json could not hold exactly (beyond `i64`/`u64`).
fn check_integer_tokens(line: &str) -> anyhow::Result<()> {
    let bytes = line.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'"' => {
                index += 1;
                while index < bytes.len() && bytes[index] != b'"' {
                    index += if bytes[index] == b'\\' { 2 } else { 1 };
                }
                index += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = index;
                index += 1;
                while index < bytes.len()
                    && matches!(bytes[index], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    index += 1;
                }
                let token = &line[start..index];
                let is_integer = !token.contains(['.', 'e', 'E']);
                if is_integer && token.parse::<i64>().is_err() && token.parse::<u64>().is_err() {
                    bail!("integer token `{token}` does not fit in 64 bits");
                }
            }
            _ => index += 1,
        }
    }
    Ok(())
}

/// Shell-style glob over ids, as Python's `fnmatch.fnmatchcase`: `*` any run, `?` one character, `[...]` a class
/// (`[!...]` negated). Note that `*` also crosses `/`.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    glob_at(&pattern, &text)
}

fn glob_at(pattern: &[char], text: &[char]) -> bool {
    let Some((&first, rest)) = pattern.split_first() else {
        return text.is_empty();
    };
    match first {
        '*' => (0..=text.len()).any(|skip| glob_at(rest, &text[skip..])),
        '?' => !text.is_empty() && glob_at(rest, &text[1..]),
        '[' => {
            let Some(close) = rest.iter().skip(1).position(|&c| c == ']').map(|p| p + 1) else {
                // An unclosed bracket is a literal '[', as in fnmatch.
                return text.first() == Some(&'[') && glob_at(rest, &text[1..]);
            };
            let Some(&character) = text.first() else {
                return false;
            };
            let (negated, class) = match rest[..close].split_first() {
                Some(('!', class)) => (true, class),
                _ => (false, &rest[..close]),
            };
            let mut matched = false;
            let mut index = 0;
            while index < class.len() {
                if index + 2 < class.len() && class[index + 1] == '-' {
                    matched |= class[index] <= character && character <= class[index + 2];
                    index += 3;
                } else {
                    matched |= class[index] == character;
                    index += 1;
                }
            }
            matched != negated && glob_at(&rest[close + 1..], &text[1..])
        }
        literal => text.first() == Some(&literal) && glob_at(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_follows_fnmatch() {
        assert!(glob_matches(
            "segmentation/*",
            "segmentation/api_client.x/slug"
        ));
        assert!(glob_matches(
            "*get_events*",
            "discovery/api_client.get_events/t"
        ));
        assert!(!glob_matches("discovery/*", "compat/wirestub.request/x"));
        assert!(glob_matches(
            "compat/wirestub.re?uest/*",
            "compat/wirestub.request/x"
        ));
        assert!(glob_matches("[cd]*", "compat/x"));
        assert!(!glob_matches("[!cd]*", "compat/x"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("exact", "exactly"));
    }

    #[test]
    fn integer_tokens_beyond_64_bits_are_refused() {
        assert!(check_integer_tokens(r#"{"a": 9007199254740993, "b": -42, "c": 1e400}"#).is_ok());
        assert!(check_integer_tokens(r#"{"s": "123456789012345678901234567890"}"#).is_ok());
        assert!(check_integer_tokens(r#"{"a": 123456789012345678901234567890}"#).is_err());
    }
}
