//! Talking to the person at the terminal, and to their browser: the browser opener of
//! `mp login`, hidden secret prompts, secrets from stdin, and numbered pickers.
//!
//! Every prompt is written to stderr (or, for hidden prompts, to the terminal itself), never to
//! stdout, which carries data only. A prompt is shown only when both stdin and stderr are
//! terminals ([`interactive`]); otherwise the caller fails with a message that says which flag
//! or variable to use instead, so a script never hangs on a question nobody sees.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::process::{Command, Stdio};

use mp_auth::BrowserOpener;

use crate::exit::CliError;

/// The largest secret `--secret-stdin` accepts: 64 KiB, like the official client, which
/// refuses rather than truncates.
const MAX_STDIN_SECRET: u64 = 64 * 1024;

/// Returns true if and only if a person can answer a prompt: stdin and stderr are terminals.
pub fn interactive() -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal()
}

/// Opens URLs with `$BROWSER` when set, else `xdg-open` (`open` on macOS).
///
/// The opener is started and not waited for (a thread reaps it), and its output goes nowhere:
/// stdout is for data. A program that cannot be started is an error the caller reports as a
/// note; the URL was printed on stderr before, so the login can go on.
#[derive(Debug, Clone)]
pub struct SystemBrowser {
    /// `$BROWSER`: a program and its arguments, split on whitespace; the URL is appended.
    command: Option<String>,
}

impl SystemBrowser {
    /// An opener that uses `browser` (`$BROWSER`) when given.
    pub fn new(browser: Option<&str>) -> SystemBrowser {
        SystemBrowser {
            command: browser.map(str::to_owned),
        }
    }
}

impl BrowserOpener for SystemBrowser {
    fn open(&self, url: &str) -> io::Result<()> {
        let default = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        let command = self.command.as_deref().unwrap_or(default);
        let mut words = command.split_whitespace();
        let program = words
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "`BROWSER` is empty"))?;
        let mut child = Command::new(program)
            .args(words)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // `xdg-open` returns at once; a browser named by `$BROWSER` may run until it is closed.
        // Either way the login must not wait for it, and the child must be reaped.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        Ok(())
    }
}

/// Reads a secret typed at a hidden prompt (nothing is echoed). `prompt` goes to the terminal.
pub fn read_hidden(prompt: &str) -> Result<String, CliError> {
    let value = rpassword::prompt_password(prompt).map_err(|error| {
        CliError::new(
            crate::ExitStatus::Failure,
            "could not read from the terminal",
        )
        .with_source(error)
    })?;
    let value = value.trim().to_owned();
    if value.is_empty() {
        return Err(CliError::usage("nothing was entered"));
    }
    Ok(value)
}

/// Reads a secret from all of stdin (`--secret-stdin`), trimmed. Refuses an empty one and one
/// over 64 KiB.
pub fn read_stdin_secret(what: &str) -> Result<String, CliError> {
    read_secret_from(&mut io::stdin().lock(), what)
}

/// [`read_stdin_secret`] over any reader.
pub fn read_secret_from(input: &mut dyn Read, what: &str) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    input
        .take(MAX_STDIN_SECRET + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| {
            CliError::new(crate::ExitStatus::Failure, "could not read stdin").with_source(error)
        })?;
    if bytes.len() as u64 > MAX_STDIN_SECRET {
        return Err(CliError::usage(format!(
            "the {what} on stdin is longer than {MAX_STDIN_SECRET} bytes"
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("the {what} on stdin is not UTF-8")))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(CliError::usage(format!("no {what} on stdin")));
    }
    Ok(text.to_owned())
}

/// Asks a visible question on stderr and reads one line from stdin.
pub fn ask(prompt: &str) -> Result<String, CliError> {
    let mut stderr = io::stderr().lock();
    let _ = write!(stderr, "{prompt}");
    let _ = stderr.flush();
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).map_err(|error| {
        CliError::new(crate::ExitStatus::Failure, "could not read stdin").with_source(error)
    })?;
    Ok(line.trim().to_owned())
}

/// Asks a yes/no question on stderr; only "y" and "yes" (any case) mean yes.
pub fn confirm(prompt: &str) -> Result<bool, CliError> {
    let answer = ask(&format!("{prompt} [y/N]: "))?;
    Ok(matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// A numbered picker: prints `header`, one `  N) label` line per choice, and asks `question`
/// (Enter picks the first) until a valid number is given, at most three times. Returns the
/// index of the choice.
pub fn pick(
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    header: &str,
    labels: &[String],
    question: &str,
) -> Result<usize, CliError> {
    let io_error = |error: io::Error| {
        CliError::new(crate::ExitStatus::Failure, "could not ask on the terminal")
            .with_source(error)
    };
    writeln!(output, "{header}").map_err(io_error)?;
    for (index, label) in labels.iter().enumerate() {
        writeln!(output, "  {}) {label}", index + 1).map_err(io_error)?;
    }
    for _ in 0..3 {
        write!(output, "{question} [1]: ").map_err(io_error)?;
        output.flush().map_err(io_error)?;
        let mut line = String::new();
        if input.read_line(&mut line).map_err(io_error)? == 0 {
            break;
        }
        let answer = line.trim();
        if answer.is_empty() {
            return Ok(0);
        }
        match answer.parse::<usize>() {
            Ok(number) if (1..=labels.len()).contains(&number) => return Ok(number - 1),
            _ => {
                writeln!(output, "Please answer a number from 1 to {}.", labels.len())
                    .map_err(io_error)?;
            }
        }
    }
    Err(CliError::usage("no choice was made").with_hint("pass the choice as a flag instead"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_pick(answers: &str, expect: Result<usize, &str>, expect_output: &str) {
        let labels = vec!["first".to_owned(), "second".to_owned()];
        let mut output = Vec::new();
        let result = pick(
            &mut answers.as_bytes(),
            &mut output,
            "Found 2:",
            &labels,
            "Which?",
        );
        match (result, expect) {
            (Ok(index), Ok(expected)) => assert_eq!(index, expected),
            (Err(error), Err(fragment)) => assert!(error.to_string().contains(fragment)),
            (result, expect) => panic!("{result:?} != {expect:?}"),
        }
        assert_eq!(String::from_utf8(output).unwrap(), expect_output);
    }

    #[test]
    fn picker() {
        check_pick(
            "2\n",
            Ok(1),
            "Found 2:\n  1) first\n  2) second\nWhich? [1]: ",
        );
        check_pick(
            "\n",
            Ok(0),
            "Found 2:\n  1) first\n  2) second\nWhich? [1]: ",
        );
        check_pick(
            "9\nx\n1\n",
            Ok(0),
            "Found 2:\n  1) first\n  2) second\nWhich? [1]: Please answer a number from 1 to 2.\nWhich? [1]: Please answer a number from 1 to 2.\nWhich? [1]: ",
        );
        check_pick(
            "0\n0\n0\n",
            Err("no choice"),
            "Found 2:\n  1) first\n  2) second\nWhich? [1]: Please answer a number from 1 to 2.\nWhich? [1]: Please answer a number from 1 to 2.\nWhich? [1]: Please answer a number from 1 to 2.\n",
        );
        check_pick(
            "",
            Err("no choice"),
            "Found 2:\n  1) first\n  2) second\nWhich? [1]: ",
        );
    }

    #[test]
    fn stdin_secrets() {
        assert_eq!(
            read_secret_from(&mut "  s3cret \n".as_bytes(), "secret").unwrap(),
            "s3cret"
        );
        assert!(read_secret_from(&mut " \n".as_bytes(), "secret").is_err());
        let huge = vec![b'a'; 64 * 1024 + 1];
        let error = read_secret_from(&mut huge.as_slice(), "secret").unwrap_err();
        assert!(error.to_string().contains("longer than"), "{error}");
        let exact = vec![b'a'; 64 * 1024];
        assert_eq!(
            read_secret_from(&mut exact.as_slice(), "secret")
                .unwrap()
                .len(),
            64 * 1024
        );
    }
}
