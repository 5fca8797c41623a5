//! From config text to [`Config`]: TOML syntax, then the schema, each error with its line and column.
//!
//! The schema is checked by hand over `toml_edit`'s span-carrying tree rather than through
//! `serde::Deserialize`: that way every error points at the offending key or value, unknown keys
//! become [`Warning`]s instead of being silently dropped or rejected, and the same tree tells
//! whether the file holds secrets before its permissions are judged.

use std::ops::Range;
use std::path::Path;

use toml_edit::{ImDocument, Item, Key, Table, TableLike, Value};

use crate::error::Error;
use crate::model::{
    Account, AccountParts, AccountType, Active, Config, CustomHeader, Loaded, Region, Settings,
    Target, Warning, check_env_name, check_header_name, check_header_value, check_project_id,
    check_secret, check_username, check_workspace_id, is_valid_name, quote_short,
};

/// Parses and validates in one go (no permission check: there is no file here).
pub(crate) fn parse_and_validate(text: &str, origin: &Path) -> Result<Loaded, Error> {
    let document = parse_syntax(text, origin)?;
    validate(&document, origin)
}

/// Parses TOML, turning a syntax error into `path:line:column: what was expected`.
pub(crate) fn parse_syntax(text: &str, origin: &Path) -> Result<ImDocument<String>, Error> {
    ImDocument::parse(text.to_owned()).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        let (line, column) = line_column(text, offset);
        // toml_edit puts "what was found" and "what was expected" on separate lines.
        let message = error
            .message()
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        Error::Syntax {
            path: origin.to_path_buf(),
            line,
            column,
            message: format!("invalid TOML: {message}"),
        }
    })
}

/// Turns bytes that are not UTF-8 into a syntax error at the first bad byte.
pub(crate) fn decode_utf8(bytes: Vec<u8>, origin: &Path) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let prefix = String::from_utf8_lossy(&error.as_bytes()[..valid]);
        let (line, column) = line_column(&prefix, prefix.len());
        Error::Syntax {
            path: origin.to_path_buf(),
            line,
            column,
            message: "invalid TOML: the file is not valid UTF-8".to_owned(),
        }
    })
}

/// Returns the 1-based line and column (counted in characters) of byte `offset` of `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Returns true if and only if some `[accounts.NAME]` table has a `secret` or `token` key,
/// whatever its type or validity: the permission check must not depend on the file being valid.
pub(crate) fn holds_secrets(root: &Table) -> bool {
    let Some(accounts) = root.get("accounts").and_then(Item::as_table_like) else {
        return false;
    };
    accounts.iter().any(|(_, account)| {
        account
            .as_table_like()
            .is_some_and(|account| account.contains_key("secret") || account.contains_key("token"))
    })
}

/// Checks the schema of a parsed document.
pub(crate) fn validate(document: &ImDocument<String>, origin: &Path) -> Result<Loaded, Error> {
    let mut validator = Validator {
        text: document.raw(),
        origin,
        warnings: Vec::new(),
    };
    let config = validator.root(document.as_table())?;
    let mut warnings = validator.warnings;
    warnings.sort_by_key(|warning| (warning.line, warning.column));
    Ok(Loaded { config, warnings })
}

/// Where references were found, so dangling ones can be reported after everything is read.
struct Reference {
    account: String,
    span: Option<Range<usize>>,
    owner: String,
}

struct Validator<'a> {
    text: &'a str,
    origin: &'a Path,
    warnings: Vec<Warning>,
}

impl Validator<'_> {
    fn root(&mut self, root: &Table) -> Result<Config, Error> {
        let mut config = Config::default();
        let mut references = Vec::new();
        for (key, item) in root.iter() {
            let key_span = root.key(key).and_then(Key::span);
            let span = item.span().or(key_span.clone());
            match key {
                "active" => {
                    let table = self.table(item, "active", span, "a table `[active]`")?;
                    config.active = self.active(table, &mut references)?;
                }
                "accounts" => {
                    let table = self.table(
                        item,
                        "accounts",
                        span,
                        "a table of named accounts such as `[accounts.NAME]`",
                    )?;
                    config.accounts = self.accounts(table)?;
                }
                "targets" => {
                    let table = self.table(
                        item,
                        "targets",
                        span,
                        "a table of named targets such as `[targets.NAME]`",
                    )?;
                    config.targets = self.targets(table, &mut references)?;
                }
                "settings" => {
                    let table = self.table(item, "settings", span, "a table `[settings]`")?;
                    config.settings = self.settings(table)?;
                }
                _ => self.warn(key_span, format!("unknown key `{key}` is ignored")),
            }
        }
        for reference in references {
            if config.account(&reference.account).is_none() {
                self.warn(
                    reference.span,
                    format!(
                        "{} names account `{}`, which is not defined in `[accounts]`",
                        reference.owner, reference.account
                    ),
                );
            }
        }
        Ok(config)
    }

    fn active(
        &mut self,
        table: &dyn TableLike,
        references: &mut Vec<Reference>,
    ) -> Result<Active, Error> {
        let mut active = Active::default();
        for (key, item) in table.iter() {
            let key_span = table.key(key).and_then(Key::span);
            let path = format!("active.{key}");
            match key {
                "account" => {
                    let name = self.string(item, &path, &key_span, "an account name")?;
                    if !is_valid_name(name) {
                        return Err(self.name_error(span_or(item, &key_span), &format!("`{path}`"), name));
                    }
                    references.push(Reference {
                        account: name.to_owned(),
                        span: span_or(item, &key_span),
                        owner: "`active.account`".to_owned(),
                    });
                    active.account = Some(name.to_owned());
                }
                "workspace" => active.workspace = Some(self.workspace(item, &path, &key_span)?),
                "project" => self.warn(
                    key_span,
                    "`active.project` is ignored: the project lives on the account as `default_project`"
                        .to_owned(),
                ),
                _ => self.warn(key_span, format!("unknown key `{path}` is ignored")),
            }
        }
        Ok(active)
    }

    fn accounts(&mut self, table: &dyn TableLike) -> Result<Vec<Account>, Error> {
        let mut accounts = Vec::new();
        for (name, item) in table.iter() {
            let key_span = table.key(name).and_then(Key::span);
            if !is_valid_name(name) {
                return Err(self.name_error(key_span, "an account name", name));
            }
            let path = format!("accounts.{name}");
            let span = span_or(item, &key_span);
            let entry = self.table(item, &path, span.clone(), "a table of account settings")?;
            accounts.push(self.account(name, entry, &path, span)?);
        }
        Ok(accounts)
    }

    fn account(
        &mut self,
        name: &str,
        table: &dyn TableLike,
        path: &str,
        span: Option<Range<usize>>,
    ) -> Result<Account, Error> {
        let type_text = self.required_string(table, path, "type", &span, TYPE_EXPECTED)?;
        let account_type = type_text.parse::<AccountType>().map_err(|_| {
            self.invalid(
                self.value_span(table, "type"),
                format!(
                    "`{path}.type` must be {TYPE_EXPECTED}, found {}",
                    quote_short(type_text)
                ),
            )
        })?;
        let region_text = self.required_string(table, path, "region", &span, REGION_EXPECTED)?;
        let region = region_text.parse::<Region>().map_err(|_| {
            self.invalid(
                self.value_span(table, "region"),
                format!(
                    "`{path}.region` must be {REGION_EXPECTED}, found {}",
                    quote_short(region_text)
                ),
            )
        })?;
        let mut parts = AccountParts {
            name: name.to_owned(),
            account_type,
            region,
            default_project: None,
            username: None,
            secret: None,
            token: None,
            token_env: None,
        };

        for (key, item) in table.iter() {
            let key_span = table.key(key).and_then(Key::span);
            let key_path = format!("{path}.{key}");
            let applies = match (key, account_type) {
                ("type" | "region", _) => continue,
                ("default_project", _) => {
                    parts.default_project = Some(self.project(item, &key_path, &key_span)?);
                    continue;
                }
                ("username" | "secret", AccountType::ServiceAccount) => true,
                ("token" | "token_env", AccountType::OAuthToken) => true,
                ("username" | "secret" | "token" | "token_env", _) => false,
                _ => {
                    self.warn(key_span, format!("unknown key `{key_path}` is ignored"));
                    continue;
                }
            };
            if !applies {
                self.warn(
                    key_span,
                    format!(
                        "`{key_path}` does not apply to `{account_type}` accounts and is ignored"
                    ),
                );
                continue;
            }
            let text = self.string(item, &key_path, &key_span, "a string")?;
            let checked = match key {
                "username" => check_username(text),
                "token_env" => check_env_name(text),
                _ => check_secret(text),
            };
            checked.map_err(|message| {
                self.invalid(span_or(item, &key_span), format!("`{key_path}`: {message}"))
            })?;
            let slot = match key {
                "username" => &mut parts.username,
                "secret" => &mut parts.secret,
                "token" => &mut parts.token,
                _ => &mut parts.token_env,
            };
            *slot = Some(text.to_owned());
        }

        match account_type {
            AccountType::ServiceAccount => {
                for (key, value) in [("username", &parts.username), ("secret", &parts.secret)] {
                    if value.is_none() {
                        return Err(self.invalid(
                            span.clone(),
                            format!("`{path}` is a `service_account` and needs `{key}`"),
                        ));
                    }
                }
            }
            AccountType::OAuthToken => {
                if parts.token.is_some() == parts.token_env.is_some() {
                    return Err(self.invalid(
                        span,
                        format!("`{path}` is an `oauth_token` account and needs exactly one of `token` or `token_env`"),
                    ));
                }
            }
            AccountType::OAuthBrowser => {}
        }
        Ok(Account::from_checked_parts(parts))
    }

    fn targets(
        &mut self,
        table: &dyn TableLike,
        references: &mut Vec<Reference>,
    ) -> Result<Vec<Target>, Error> {
        let mut targets = Vec::new();
        for (name, item) in table.iter() {
            let key_span = table.key(name).and_then(Key::span);
            if !is_valid_name(name) {
                return Err(self.name_error(key_span, "a target name", name));
            }
            let path = format!("targets.{name}");
            let span = span_or(item, &key_span);
            let entry = self.table(item, &path, span.clone(), "a table of target settings")?;

            let account =
                self.required_string(entry, &path, "account", &span, "an account name")?;
            let account_span = self.value_span(entry, "account");
            if !is_valid_name(account) {
                return Err(self.name_error(account_span, &format!("`{path}.account`"), account));
            }
            let Some(project_item) = entry.get("project") else {
                return Err(self.invalid(
                    span,
                    format!("`{path}` needs `project`: a project ID such as \"3018488\""),
                ));
            };
            let project_key_span = entry.key("project").and_then(Key::span);
            let project =
                self.project(project_item, &format!("{path}.project"), &project_key_span)?;
            let mut workspace = None;
            for (key, item) in entry.iter() {
                let key_span = table_key_span(entry, key);
                match key {
                    "account" | "project" => {}
                    "workspace" => {
                        workspace =
                            Some(self.workspace(item, &format!("{path}.{key}"), &key_span)?);
                    }
                    _ => self.warn(key_span, format!("unknown key `{path}.{key}` is ignored")),
                }
            }
            references.push(Reference {
                account: account.to_owned(),
                span: account_span,
                owner: format!("target `{name}`"),
            });
            // The pieces were checked above with located errors; `Target::new` cannot fail now.
            let target = Target::new(name, account, &project, workspace)?;
            targets.push(target);
        }
        Ok(targets)
    }

    fn settings(&mut self, table: &dyn TableLike) -> Result<Settings, Error> {
        let mut settings = Settings::default();
        for (key, item) in table.iter() {
            let key_span = table.key(key).and_then(Key::span);
            match key {
                "custom_header" => {
                    let span = span_or(item, &key_span);
                    let header = self.table(
                        item,
                        "settings.custom_header",
                        span.clone(),
                        "an inline table `{ name = \"...\", value = \"...\" }`",
                    )?;
                    settings.custom_header = Some(self.custom_header(header, span)?);
                }
                _ => self.warn(key_span, format!("unknown key `settings.{key}` is ignored")),
            }
        }
        Ok(settings)
    }

    fn custom_header(
        &mut self,
        table: &dyn TableLike,
        span: Option<Range<usize>>,
    ) -> Result<CustomHeader, Error> {
        const PATH: &str = "settings.custom_header";
        let name = self.required_string(table, PATH, "name", &span, "an HTTP header name")?;
        check_header_name(name).map_err(|message| {
            self.invalid(
                self.value_span(table, "name"),
                format!("`{PATH}.name`: {message}"),
            )
        })?;
        let value = self.required_string(table, PATH, "value", &span, "a string")?;
        check_header_value(value).map_err(|message| {
            self.invalid(
                self.value_span(table, "value"),
                format!("`{PATH}.value`: {message}"),
            )
        })?;
        for (key, _) in table.iter() {
            if key != "name" && key != "value" {
                self.warn(
                    table_key_span(table, key),
                    format!("unknown key `{PATH}.{key}` is ignored"),
                );
            }
        }
        CustomHeader::new(name, value)
    }

    /// Reads a project ID: a string of digits, or (as a hand-edit courtesy) a positive integer.
    fn project(
        &self,
        item: &Item,
        path: &str,
        key_span: &Option<Range<usize>>,
    ) -> Result<String, Error> {
        let span = span_or(item, key_span);
        let project = match item.as_value() {
            Some(Value::String(text)) => text.value().clone(),
            Some(Value::Integer(number)) if *number.value() > 0 => number.value().to_string(),
            _ => {
                return Err(self.invalid(
                    span,
                    format!(
                        "`{path}` must be a project ID such as \"3018488\", found {}",
                        describe(item)
                    ),
                ));
            }
        };
        check_project_id(&project)
            .map_err(|message| self.invalid(span, format!("`{path}`: {message}")))?;
        Ok(project)
    }

    /// Reads a workspace ID: a positive integer, or (as a hand-edit courtesy) a string of digits.
    fn workspace(
        &self,
        item: &Item,
        path: &str,
        key_span: &Option<Range<usize>>,
    ) -> Result<u64, Error> {
        let span = span_or(item, key_span);
        let workspace = match item.as_value() {
            Some(Value::Integer(number)) => u64::try_from(*number.value()).ok(),
            Some(Value::String(text)) if text.value().bytes().all(|b| b.is_ascii_digit()) => {
                text.value().parse::<u64>().ok()
            }
            _ => None,
        };
        match workspace {
            Some(workspace) if check_workspace_id(workspace).is_ok() => Ok(workspace),
            _ => Err(self.invalid(
                span,
                format!(
                    "`{path}` must be a positive workspace ID such as 3448414, found {}",
                    describe(item)
                ),
            )),
        }
    }

    fn required_string<'t>(
        &self,
        table: &'t dyn TableLike,
        path: &str,
        key: &str,
        table_span: &Option<Range<usize>>,
        expected: &str,
    ) -> Result<&'t str, Error> {
        match table.get(key) {
            Some(item) => {
                let key_span = table.key(key).and_then(Key::span);
                self.string(item, &format!("{path}.{key}"), &key_span, expected)
            }
            None => Err(self.invalid(
                table_span.clone(),
                format!("`{path}` needs `{key}`: {expected}"),
            )),
        }
    }

    fn string<'i>(
        &self,
        item: &'i Item,
        path: &str,
        key_span: &Option<Range<usize>>,
        expected: &str,
    ) -> Result<&'i str, Error> {
        match item.as_str() {
            Some(text) => Ok(text),
            None => Err(self.invalid(
                span_or(item, key_span),
                format!(
                    "`{path}` must be {expected} in quotes, found {}",
                    describe(item)
                ),
            )),
        }
    }

    fn table<'i>(
        &self,
        item: &'i Item,
        path: &str,
        span: Option<Range<usize>>,
        expected: &str,
    ) -> Result<&'i dyn TableLike, Error> {
        item.as_table_like().ok_or_else(|| {
            self.invalid(
                span,
                format!("`{path}` must be {expected}, found {}", describe(item)),
            )
        })
    }

    fn value_span(&self, table: &dyn TableLike, key: &str) -> Option<Range<usize>> {
        let key_span = table_key_span(table, key);
        table.get(key).and_then(Item::span).or(key_span)
    }

    /// `subject` is what the name is, as a phrase: "an account name", "`active.account`".
    fn name_error(&self, span: Option<Range<usize>>, subject: &str, name: &str) -> Error {
        self.invalid(
            span,
            format!(
                "{subject} must be 1 to 64 characters from `A-Z`, `a-z`, `0-9`, `_` and `-`, found {}",
                quote_short(name)
            ),
        )
    }

    fn invalid(&self, span: Option<Range<usize>>, message: String) -> Error {
        let (line, column) = self.location(span);
        Error::Invalid {
            path: self.origin.to_path_buf(),
            line,
            column,
            message,
        }
    }

    fn warn(&mut self, span: Option<Range<usize>>, message: String) {
        let (line, column) = self.location(span);
        self.warnings.push(Warning {
            path: self.origin.to_path_buf(),
            line,
            column,
            message,
        });
    }

    fn location(&self, span: Option<Range<usize>>) -> (usize, usize) {
        line_column(self.text, span.map_or(0, |span| span.start))
    }
}

const TYPE_EXPECTED: &str = "one of `service_account`, `oauth_browser`, `oauth_token`";
const REGION_EXPECTED: &str = "one of `us`, `eu`, `in`";

fn table_key_span(table: &dyn TableLike, key: &str) -> Option<Range<usize>> {
    table.key(key).and_then(Key::span)
}

/// The span of a value, or of its key when the value has none (implicit and dotted tables).
fn span_or(item: &Item, key_span: &Option<Range<usize>>) -> Option<Range<usize>> {
    item.span().or_else(|| key_span.clone())
}

/// Describes a value for "found ..." in messages: short strings and scalars are quoted, a long
/// string only described (a misplaced secret must not be echoed).
fn describe(item: &Item) -> String {
    match item {
        Item::None => "nothing".to_owned(),
        Item::Table(_) => "a table".to_owned(),
        Item::ArrayOfTables(_) => "an array of tables".to_owned(),
        Item::Value(value) => match value {
            // Quoted as TOML shows it, so a string is told apart from a number.
            Value::String(text) if text.value().chars().count() <= 24 => {
                format!("`\"{}\"`", text.value().escape_debug())
            }
            Value::String(text) => quote_short(text.value()),
            Value::Integer(number) => format!("`{}`", number.value()),
            Value::Float(number) => format!("`{}`", number.value()),
            Value::Boolean(flag) => format!("`{}`", flag.value()),
            Value::Datetime(_) => "a date-time".to_owned(),
            Value::Array(_) => "an array".to_owned(),
            Value::InlineTable(_) => "a table".to_owned(),
        },
    }
}
