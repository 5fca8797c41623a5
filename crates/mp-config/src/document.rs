//! The edit model: [`ConfigDocument`], comment-preserving edits over `toml_edit::DocumentMut`.
//!
//! A document is valid when it is created (from validated text, or empty) and each operation
//! keeps it valid, checking its own preconditions (the account exists, the name is free, ...).
//! Operations touch only the keys they are about: comments, blank lines, key order, quoting
//! and unknown keys elsewhere in a hand-edited file come out byte for byte as they went in.
//!
//! # Where comments go
//!
//! `toml_edit` stores the comment lines above a table header in that table's "prefix". Which
//! table a comment is *about* is a guess; we guess with blank lines, the way people write:
//!
//! - Comment lines right after a table's last key, before a blank line, belong to that table
//!   (often commented-out keys). A new table inserted after it goes below them.
//! - Comment lines right above a header, with no blank line in between, belong to that header
//!   and are removed with the table.
//! - A comment block separated from the header below it by a blank line (a file header, a
//!   section banner) belongs to the file: removing the table keeps it, and a new first table
//!   goes below it.
//!
//! # Where new tables go
//!
//! A new `[accounts.NAME]` goes after the last account table, a new `[targets.NAME]` after the
//! last target table. A new section goes in the order `[active]`, `[accounts.*]`, `[targets.*]`,
//! `[settings]` relative to the sections already there; unknown tables are left where they are.
//! To do this the document's table positions are renumbered in their rendered order, which
//! does not move anything that exists.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, ImDocument, InlineTable, Item, Table, TableLike, Value};

use crate::error::Error;
use crate::model::{
    Account, CustomHeader, Loaded, Target, check_account_name, check_project_id, check_target_name,
    check_workspace_id,
};
use crate::parse;

const ACTIVE: &str = "active";
const ACCOUNTS: &str = "accounts";
const TARGETS: &str = "targets";
const SETTINGS: &str = "settings";

/// What [`ConfigDocument::remove_account`] does with targets that use the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferencingTargets {
    /// Refuse with [`Error::AccountInUse`], changing nothing.
    Refuse,
    /// Remove those targets too, in the same edit.
    Remove,
}

/// What [`ConfigDocument::remove_account`] changed besides removing the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountRemoval {
    /// The targets removed with the account, in file order.
    pub removed_targets: Vec<String>,
    /// True if and only if the account was the active one, so `[active]` was cleared.
    pub cleared_active: bool,
}

/// A config file open for editing.
///
/// Created valid (by [`ConfigDocument::new`], [`ConfigDocument::from_toml_str`] or
/// [`ConfigStore::edit`](crate::ConfigStore::edit)), kept valid by every operation, rendered
/// back to text by `Display`.
///
/// # Semantics a user relies on
///
/// - `[active] workspace` belongs to `[active] account`: whenever the active account changes
///   (set to another one, cleared, or removed), the workspace pin is dropped with it, since a
///   workspace ID of one account's project means nothing for another's.
/// - Removing the active account clears `[active]` rather than leaving a name that no longer
///   resolves; targets using the account are refused or removed ([`ReferencingTargets`]),
///   never left dangling.
/// - Nothing here makes an account active as a side effect of adding it; mp-cli decides that
///   (for example for the first account) inside the same edit.
#[derive(Debug, Clone)]
pub struct ConfigDocument {
    document: DocumentMut,
    origin: PathBuf,
}

impl Default for ConfigDocument {
    fn default() -> ConfigDocument {
        ConfigDocument::new()
    }
}

impl std::fmt::Display for ConfigDocument {
    /// Renders the document as TOML text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.document.fmt(f)
    }
}

impl ConfigDocument {
    /// Returns an empty document (the content of a config file that does not exist yet).
    pub fn new() -> ConfigDocument {
        ConfigDocument {
            document: DocumentMut::new(),
            origin: PathBuf::from("config.toml"),
        }
    }

    /// Parses and validates `text`; `origin` names it in messages (usually its path).
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<ConfigDocument, Error> {
        let document = parse::parse_syntax(text, origin)?;
        parse::validate(&document, origin)?;
        Ok(ConfigDocument::from_validated(document, origin))
    }

    /// Wraps a document that the caller has already validated.
    pub(crate) fn from_validated(document: ImDocument<String>, origin: &Path) -> ConfigDocument {
        ConfigDocument {
            document: document.into_mut(),
            origin: origin.to_path_buf(),
        }
    }

    /// Validates the current text and returns its read model with any warnings.
    pub fn to_config(&self) -> Result<Loaded, Error> {
        parse::parse_and_validate(&self.to_string(), &self.origin)
    }

    /// Returns the account names, in file order.
    pub fn account_names(&self) -> Vec<String> {
        self.names(ACCOUNTS)
    }

    /// Returns the target names, in file order.
    pub fn target_names(&self) -> Vec<String> {
        self.names(TARGETS)
    }

    /// Returns true if and only if an account named `name` exists.
    pub fn contains_account(&self, name: &str) -> bool {
        self.entry(ACCOUNTS, name).is_some()
    }

    /// Returns true if and only if a target named `name` exists.
    pub fn contains_target(&self, name: &str) -> bool {
        self.entry(TARGETS, name).is_some()
    }

    /// Returns the `[active] account`, if set.
    pub fn active_account(&self) -> Option<&str> {
        self.section(ACTIVE)?.get("account")?.as_str()
    }

    /// Returns the `[active] workspace`, if set.
    pub fn active_workspace(&self) -> Option<u64> {
        read_id(self.section(ACTIVE)?.get("workspace")?)
    }

    /// Adds `[accounts.NAME]`; fails with [`Error::AccountExists`] if the name is taken.
    pub fn add_account(&mut self, account: &Account) -> Result<(), Error> {
        if self
            .section(ACCOUNTS)
            .is_some_and(|accounts| accounts.contains_key(account.name()))
        {
            return Err(Error::AccountExists {
                name: account.name().to_owned(),
            });
        }
        self.insert_entry(ACCOUNTS, account.name(), account_fields(account))
    }

    /// Adds the account, or replaces the known keys of an existing one with the same name.
    ///
    /// Replacing writes exactly the keys `account` has (`type`, `region`, `default_project`,
    /// the credential keys of its type) and removes the known keys it lacks, so the type may
    /// change; unknown keys and comments of the table are kept. Returns true if and only if an
    /// account was replaced.
    pub fn replace_account(&mut self, account: &Account) -> Result<bool, Error> {
        if !self.contains_account(account.name()) {
            self.add_account(account)?;
            return Ok(false);
        }
        let fields = account_fields(account);
        let table = self.entry_mut(ACCOUNTS, account.name())?;
        for key in ACCOUNT_KEYS {
            match fields.iter().find(|(field, _)| *field == key) {
                Some((_, value)) => set_value(table, key, value.clone()),
                None => {
                    table.remove(key);
                }
            }
        }
        Ok(true)
    }

    /// Removes `[accounts.NAME]`.
    ///
    /// If targets use the account, `targets` decides: refuse with [`Error::AccountInUse`], or
    /// remove them as well. If the account is the active one, `[active] account` and
    /// `[active] workspace` are cleared. Note that OAuth tokens stored for the account outside
    /// this file are not touched: that is mp-auth's part of `mp account remove`.
    pub fn remove_account(
        &mut self,
        name: &str,
        targets: ReferencingTargets,
    ) -> Result<AccountRemoval, Error> {
        self.require_account(name)?;
        let users = self.targets_using(name);
        if !users.is_empty() && targets == ReferencingTargets::Refuse {
            return Err(Error::AccountInUse {
                name: name.to_owned(),
                targets: users,
            });
        }
        for target in &users {
            self.remove_entry(TARGETS, target)?;
        }
        self.remove_entry(ACCOUNTS, name)?;
        let cleared_active = self.active_account() == Some(name);
        if cleared_active {
            self.clear_active_account()?;
        }
        Ok(AccountRemoval {
            removed_targets: users,
            cleared_active,
        })
    }

    /// Makes `name` the active account. If that changes the active account, the workspace pin
    /// is cleared and its old value returned.
    pub fn set_active_account(&mut self, name: &str) -> Result<Option<u64>, Error> {
        self.require_account(name)?;
        if self.active_account() == Some(name) {
            return Ok(None);
        }
        let cleared_workspace = self.active_workspace();
        let active = self.ensure_header_section(ACTIVE)?;
        set_value(active, "account", Value::from(name));
        active.remove("workspace");
        Ok(cleared_workspace)
    }

    /// Clears `[active] account` and, with it, `[active] workspace`. Returns the account that
    /// was active, if any.
    pub fn clear_active_account(&mut self) -> Result<Option<String>, Error> {
        let previous = self.active_account().map(str::to_owned);
        if let Some(active) = self.section_mut(ACTIVE)? {
            active.remove("account");
            active.remove("workspace");
        }
        self.remove_section_if_empty(ACTIVE)?;
        Ok(previous)
    }

    /// Pins `[active] workspace`.
    pub fn set_active_workspace(&mut self, workspace: u64) -> Result<(), Error> {
        check_workspace_id(workspace).map_err(|message| Error::InvalidValue {
            key: "workspace",
            message,
        })?;
        let active = self.ensure_header_section(ACTIVE)?;
        set_value(active, "workspace", workspace_value(workspace));
        Ok(())
    }

    /// Clears `[active] workspace`, returning the old value.
    pub fn clear_active_workspace(&mut self) -> Result<Option<u64>, Error> {
        let previous = self.active_workspace();
        if let Some(active) = self.section_mut(ACTIVE)? {
            active.remove("workspace");
        }
        self.remove_section_if_empty(ACTIVE)?;
        Ok(previous)
    }

    /// Sets `default_project` of account `account`.
    pub fn set_default_project(&mut self, account: &str, project: &str) -> Result<(), Error> {
        check_project_id(project).map_err(|message| Error::InvalidValue {
            key: "default_project",
            message,
        })?;
        self.require_account(account)?;
        let table = self.entry_mut(ACCOUNTS, account)?;
        set_value(table, "default_project", Value::from(project));
        Ok(())
    }

    /// Removes `default_project` of account `account`, returning the old value.
    pub fn clear_default_project(&mut self, account: &str) -> Result<Option<String>, Error> {
        self.require_account(account)?;
        let table = self.entry_mut(ACCOUNTS, account)?;
        Ok(table
            .remove("default_project")
            .and_then(|item| read_project(&item)))
    }

    /// Adds `[targets.NAME]`; its account must exist and the name must be free.
    pub fn add_target(&mut self, target: &Target) -> Result<(), Error> {
        if self
            .section(TARGETS)
            .is_some_and(|targets| targets.contains_key(target.name()))
        {
            return Err(Error::TargetExists {
                name: target.name().to_owned(),
            });
        }
        self.require_account(target.account())?;
        let mut fields = vec![
            ("account", Value::from(target.account())),
            ("project", Value::from(target.project())),
        ];
        if let Some(workspace) = target.workspace() {
            fields.push(("workspace", workspace_value(workspace)));
        }
        self.insert_entry(TARGETS, target.name(), fields)
    }

    /// Removes `[targets.NAME]`.
    pub fn remove_target(&mut self, name: &str) -> Result<(), Error> {
        check_target_name(name)?;
        if !self.contains_target(name) {
            return Err(Error::TargetNotFound {
                name: name.to_owned(),
                available: self.target_names(),
            });
        }
        self.remove_entry(TARGETS, name)
    }

    /// Makes target `name` the persisted default, as the official client's `target use` does:
    /// its account becomes active, `[active] workspace` becomes the target's workspace (or is
    /// cleared if it has none), and the account's `default_project` becomes the target's project.
    pub fn apply_target(&mut self, name: &str) -> Result<(), Error> {
        check_target_name(name)?;
        let loaded = self.to_config()?;
        let Some(target) = loaded.config.target(name) else {
            return Err(Error::TargetNotFound {
                name: name.to_owned(),
                available: self.target_names(),
            });
        };
        self.set_active_account(target.account())?;
        match target.workspace() {
            Some(workspace) => self.set_active_workspace(workspace)?,
            None => {
                self.clear_active_workspace()?;
            }
        }
        self.set_default_project(target.account(), target.project())
    }

    /// Sets `[settings] custom_header = { name = "...", value = "..." }`.
    pub fn set_custom_header(&mut self, header: &CustomHeader) -> Result<(), Error> {
        let mut inline = InlineTable::new();
        inline.insert("name", Value::from(header.name()));
        inline.insert("value", Value::from(header.value()));
        inline.fmt();
        let settings = self.ensure_header_section(SETTINGS)?;
        set_value(settings, "custom_header", Value::InlineTable(inline));
        Ok(())
    }

    /// Removes `[settings] custom_header`. Returns true if and only if it was set.
    pub fn clear_custom_header(&mut self) -> Result<bool, Error> {
        let removed = match self.section_mut(SETTINGS)? {
            Some(settings) => settings.remove("custom_header").is_some(),
            None => false,
        };
        self.remove_section_if_empty(SETTINGS)?;
        Ok(removed)
    }

    fn require_account(&self, name: &str) -> Result<(), Error> {
        check_account_name(name)?;
        if self.contains_account(name) {
            Ok(())
        } else {
            Err(Error::AccountNotFound {
                name: name.to_owned(),
                available: self.account_names(),
            })
        }
    }

    fn targets_using(&self, account: &str) -> Vec<String> {
        let Some(targets) = self.section(TARGETS) else {
            return Vec::new();
        };
        targets
            .iter()
            .filter(|(_, target)| {
                target
                    .as_table_like()
                    .and_then(|target| target.get("account"))
                    .and_then(Item::as_str)
                    == Some(account)
            })
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    fn section(&self, key: &str) -> Option<&dyn TableLike> {
        self.document
            .as_table()
            .get(key)
            .and_then(Item::as_table_like)
    }

    fn entry(&self, section: &str, name: &str) -> Option<&dyn TableLike> {
        self.section(section)?.get(name)?.as_table_like()
    }

    fn names(&self, section: &str) -> Vec<String> {
        let Some(section) = self.section(section) else {
            return Vec::new();
        };
        section
            .iter()
            .filter(|(_, item)| item.is_table_like())
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    fn section_mut(&mut self, key: &str) -> Result<Option<&mut dyn TableLike>, Error> {
        match self.document.as_table_mut().get_mut(key) {
            None => Ok(None),
            Some(item) if item.is_none() => Ok(None),
            Some(item) => {
                item.as_table_like_mut()
                    .map(Some)
                    .ok_or_else(|| Error::UnexpectedShape {
                        key: key.to_owned(),
                        expected: "a table",
                    })
            }
        }
    }

    fn entry_mut(&mut self, section: &str, name: &str) -> Result<&mut dyn TableLike, Error> {
        let shape_error = || Error::UnexpectedShape {
            key: format!("{section}.{name}"),
            expected: "a table",
        };
        self.section_mut(section)?
            .and_then(|section| section.get_mut(name))
            .and_then(Item::as_table_like_mut)
            .ok_or_else(shape_error)
    }

    /// Returns section `key` (`active` or `settings`), creating it as a `[key]` table in its
    /// canonical place if it is missing.
    fn ensure_header_section(&mut self, key: &str) -> Result<&mut dyn TableLike, Error> {
        if self.section_mut(key)?.is_none() {
            self.document
                .as_table_mut()
                .insert(key, Item::Table(Table::new()));
            self.place_new_table(&[key]);
        }
        self.section_mut(key)?
            .ok_or_else(|| Error::UnexpectedShape {
                key: key.to_owned(),
                expected: "a table",
            })
    }

    /// Inserts entry `name` into section `section` (`accounts` or `targets`) as a `[section.name]`
    /// table, or as an inline table when the section itself is written inline.
    fn insert_entry(
        &mut self,
        section: &str,
        name: &str,
        fields: Vec<(&'static str, Value)>,
    ) -> Result<(), Error> {
        let root = self.document.as_table_mut();
        if root.get(section).is_none_or(Item::is_none) {
            // The parent of `[accounts.NAME]` tables is implicit: it renders no header of its own.
            let mut parent = Table::new();
            parent.set_implicit(true);
            root.insert(section, Item::Table(parent));
        }
        match root.get_mut(section) {
            Some(Item::Table(parent)) => {
                let mut table = Table::new();
                for (key, value) in fields {
                    table.insert(key, Item::Value(value));
                }
                parent.insert(name, Item::Table(table));
                self.place_new_table(&[section, name]);
                Ok(())
            }
            Some(Item::Value(Value::InlineTable(parent))) => {
                let mut table = InlineTable::new();
                for (key, value) in fields {
                    table.insert(key, value);
                }
                table.fmt();
                let mut value = Value::InlineTable(table);
                // The space before the closing `}` is the suffix of the last value; hand it to
                // the new last value, or the result reads `{ a = 1 , b = 2 }`.
                if let Some((_, last)) = parent.iter_mut().last() {
                    let suffix = last.decor().suffix().cloned();
                    if let Some(suffix) = suffix {
                        last.decor_mut().set_suffix("");
                        value.decor_mut().set_suffix(suffix);
                    }
                }
                parent.insert(name, value);
                Ok(())
            }
            _ => Err(Error::UnexpectedShape {
                key: section.to_owned(),
                expected: "a table",
            }),
        }
    }

    /// Removes entry `name` of `section`, keeping file-level comments, and drops the section's
    /// implicit parent table once it is empty.
    fn remove_entry(&mut self, section: &str, name: &str) -> Result<(), Error> {
        match self.document.as_table().get(section) {
            Some(Item::Table(parent)) if matches!(parent.get(name), Some(Item::Table(_))) => {
                self.remove_table_at(&[section, name]);
            }
            _ => {
                if let Some(parent) = self.section_mut(section)? {
                    parent.remove(name);
                }
            }
        }
        let root = self.document.as_table_mut();
        if let Some(Item::Table(parent)) = root.get(section)
            && (parent.is_implicit() || parent.is_dotted())
            && parent.is_empty()
        {
            root.remove(section);
        }
        Ok(())
    }

    /// Removes section `key` (`active`, `settings`) once an edit has emptied it.
    fn remove_section_if_empty(&mut self, key: &str) -> Result<(), Error> {
        let is_empty = self.section(key).is_some_and(|section| section.is_empty());
        if !is_empty {
            return Ok(());
        }
        if matches!(self.document.as_table().get(key), Some(Item::Table(_))) {
            self.remove_table_at(&[key]);
        } else {
            self.document.as_table_mut().remove(key);
        }
        Ok(())
    }

    /// Gives the new table at `path` its place (see the module docs) by renumbering every
    /// table's position in rendered order, and moves neighbouring comments so they stay with
    /// the table they are about.
    fn place_new_table(&mut self, path: &[&str]) {
        let Some(new_table) = table_at_mut(self.document.as_table_mut(), path) else {
            return;
        };
        // A position no parsed table has marks the new table while the others are measured.
        new_table.set_position(NEW_TABLE_MARK);
        let tables = collect_tables(self.document.as_table());
        let Some(new_index) = tables
            .iter()
            .position(|table| table.position == Some(NEW_TABLE_MARK))
        else {
            return;
        };
        let mut order = render_order(&tables, self.document.as_table().position());
        order.retain(|&index| index != new_index);

        let family = path[0];
        let insert_at = order
            .iter()
            .rposition(|&index| tables[index].renders && tables[index].path[0] == family)
            .map(|last_sibling| last_sibling + 1)
            .or_else(|| {
                // Sections this crate creates always have a rank; anything else goes last.
                let rank = section_rank(family).unwrap_or(usize::MAX);
                // Implicit tables count here: one that gains keys later (`[settings]` when a
                // `[settings.custom_header]` table becomes an inline value) must not then
                // render above the new table.
                order.iter().position(|&index| {
                    section_rank(&tables[index].path[0]).is_some_and(|other| other > rank)
                })
            })
            .unwrap_or(order.len());

        let preceded = order[..insert_at]
            .iter()
            .any(|&index| tables[index].renders)
            || !self.document.as_table().get_values().is_empty();
        let following = order[insert_at..]
            .iter()
            .copied()
            .find(|&index| tables[index].renders);
        order.insert(insert_at, new_index);

        let mut new_prefixes: Vec<(usize, String)> = Vec::new();
        match (preceded, following) {
            // Comments right after the previous table's body stay with it, above the new table.
            (true, Some(next)) => {
                if let Some((trailing, rest)) = tables[next]
                    .prefix
                    .as_deref()
                    .and_then(split_trailing_comments)
                {
                    new_prefixes.push((new_index, format!("{trailing}\n")));
                    new_prefixes.push((next, rest));
                }
            }
            // At the end of the file, comment lines after the last body (commented-out keys,
            // typically) stay with it even without a blank line below them.
            (true, None) => {
                let trailing_text = self.document.trailing().as_str().unwrap_or("").to_owned();
                let split = split_trailing_comments(&trailing_text).or_else(|| {
                    let lines = complete_lines(&trailing_text);
                    (!lines.is_empty() && lines.iter().all(|line| is_comment_line(line)))
                        .then(|| (trailing_text.as_str(), String::new()))
                });
                if let Some((trailing, rest)) = split {
                    new_prefixes.push((new_index, format!("{trailing}\n")));
                    self.document.set_trailing(rest);
                }
            }
            // The new table becomes the first one: a file header comment stays on top.
            (false, Some(next)) => {
                if let Some(prefix) = tables[next].prefix.as_deref() {
                    let (head, rest) = split_leading_comments(prefix).unwrap_or(("", prefix));
                    if !head.is_empty() {
                        new_prefixes.push((new_index, head.to_owned()));
                    }
                    new_prefixes.push((next, format!("\n{}", trim_leading_blank_lines(rest))));
                }
            }
            (false, None) => {}
        }

        let mut rank = vec![0; tables.len()];
        for (place, &index) in order.iter().enumerate() {
            rank[index] = place + 1;
        }
        self.document.as_table_mut().set_position(0);
        for_each_table_mut(self.document.as_table_mut(), &mut |index, table| {
            table.set_position(rank[index]);
            if let Some((_, prefix)) = new_prefixes.iter().find(|(at, _)| *at == index) {
                table.decor_mut().set_prefix(prefix.as_str());
            }
        });
    }

    /// Removes the table at `path`, handing a file-level comment block above its header to the
    /// next table (or to the end of the file).
    fn remove_table_at(&mut self, path: &[&str]) {
        let tables = collect_tables(self.document.as_table());
        // A dotted table (`x.account = ...`) has no header and so no comments of its own.
        if let Some(removed) = tables.iter().position(|table| table.path == path) {
            self.hand_over_comments(&tables, removed);
        }
        let Some((last, parent_path)) = path.split_last() else {
            return;
        };
        if let Some(parent) = table_at_mut(self.document.as_table_mut(), parent_path) {
            parent.remove(last);
        }
    }

    /// Before table `removed` goes, moves the file-level comment block above its header to
    /// the next table (or the end of the file), and keeps the file from starting with a blank line.
    fn hand_over_comments(&mut self, tables: &[TableInfo], removed: usize) {
        let order = render_order(tables, self.document.as_table().position());
        let head = tables[removed]
            .prefix
            .as_deref()
            .and_then(split_leading_comments)
            .map(|(head, _)| head.to_owned());
        let place = order
            .iter()
            .position(|&index| index == removed)
            .unwrap_or(0);
        let is_descendant = |index: usize| tables[index].path.starts_with(&tables[removed].path);
        let next = order[place..]
            .iter()
            .copied()
            .find(|&index| tables[index].renders && !is_descendant(index));
        let was_first = !order[..place].iter().any(|&index| tables[index].renders)
            && self.document.as_table().get_values().is_empty();
        let next_prefix = match (head, next) {
            (Some(head), Some(next)) => {
                let rest = tables[next].prefix.as_deref().unwrap_or("");
                Some((next, format!("{head}{}", trim_leading_blank_lines(rest))))
            }
            (Some(head), None) => {
                let trailing = self.document.trailing().as_str().unwrap_or("").to_owned();
                self.document.set_trailing(format!("{head}{trailing}"));
                None
            }
            // The next table becomes the first: the file should not start with a blank line.
            (None, Some(next)) if was_first => tables[next]
                .prefix
                .as_deref()
                .map(|rest| (next, trim_leading_blank_lines(rest).to_owned())),
            (None, _) => None,
        };
        if let Some((next, prefix)) = next_prefix {
            for_each_table_mut(self.document.as_table_mut(), &mut |index, table| {
                if index == next {
                    table.decor_mut().set_prefix(prefix.as_str());
                }
            });
        }
    }
}

/// The known keys of an account table, in the order new tables get them.
const ACCOUNT_KEYS: [&str; 7] = [
    "type",
    "region",
    "default_project",
    "username",
    "secret",
    "token",
    "token_env",
];

/// The position that marks a table being placed; parsed documents number tables from 0 up.
const NEW_TABLE_MARK: usize = usize::MAX;

fn account_fields(account: &Account) -> Vec<(&'static str, Value)> {
    let mut fields = vec![
        ("type", Value::from(account.account_type().as_str())),
        ("region", Value::from(account.region().as_str())),
    ];
    let optional = [
        ("default_project", account.default_project()),
        ("username", account.username()),
        ("secret", account.expose_secret()),
        ("token", account.expose_token()),
        ("token_env", account.token_env()),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            fields.push((key, Value::from(value)));
        }
    }
    fields
}

fn workspace_value(workspace: u64) -> Value {
    // `check_workspace_id` has ensured the ID fits an i64, the only integer TOML has.
    Value::from(i64::try_from(workspace).unwrap_or(i64::MAX))
}

/// Reads a workspace ID written as an integer or, by hand, as a string of digits.
fn read_id(item: &Item) -> Option<u64> {
    match item.as_value()? {
        Value::Integer(number) => u64::try_from(*number.value()).ok(),
        Value::String(text) => text.value().parse().ok(),
        _ => None,
    }
}

/// Reads a project ID written as a string or, by hand, as an integer.
fn read_project(item: &Item) -> Option<String> {
    match item.as_value()? {
        Value::String(text) => Some(text.value().clone()),
        Value::Integer(number) => Some(number.value().to_string()),
        _ => None,
    }
}

/// Sets `key` to `value`, keeping the key (and the comments above it) and the old value's
/// decoration (spacing and a trailing `# comment`) when the key already exists.
fn set_value(table: &mut dyn TableLike, key: &str, mut value: Value) {
    match table.get_mut(key) {
        Some(Item::Value(old)) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        // A sub-table (`[settings.custom_header]`) becomes a plain key; its key was formatted
        // for a header, so it is re-inserted fresh.
        Some(item) if !item.is_none() => {
            table.remove(key);
            table.insert(key, Item::Value(value));
        }
        _ => {
            table.insert(key, Item::Value(value));
        }
    }
}

/// The order in which sections are created relative to each other; unknown ones have none.
fn section_rank(key: &str) -> Option<usize> {
    [ACTIVE, ACCOUNTS, TARGETS, SETTINGS]
        .iter()
        .position(|known| *known == key)
}

/// What placement needs to know about one table of the document.
#[derive(Debug)]
struct TableInfo {
    path: Vec<String>,
    position: Option<usize>,
    /// False for an implicit table without keys of its own, which renders nothing.
    renders: bool,
    prefix: Option<String>,
}

/// Lists the tables that render with a header (all but the root and dotted tables), in the
/// order `toml_edit` visits them when rendering; [`for_each_table_mut`] visits the same ones
/// in the same order, so an index into this list names a table in both.
fn collect_tables(root: &Table) -> Vec<TableInfo> {
    fn walk(table: &Table, path: &mut Vec<String>, out: &mut Vec<TableInfo>) {
        for (key, item) in table.iter() {
            let children: Vec<(&Table, bool)> = match item {
                Item::Table(child) => vec![(child, false)],
                Item::ArrayOfTables(array) => array.iter().map(|child| (child, true)).collect(),
                _ => continue,
            };
            for (child, in_array) in children {
                path.push(key.to_owned());
                if !child.is_dotted() {
                    out.push(TableInfo {
                        path: path.clone(),
                        position: child.position(),
                        renders: in_array
                            || !(child.is_implicit() && child.get_values().is_empty()),
                        prefix: child
                            .decor()
                            .prefix()
                            .and_then(|prefix| prefix.as_str())
                            .map(str::to_owned),
                    });
                }
                walk(child, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut Vec::new(), &mut out);
    out
}

/// Calls `f(index, table)` for the tables [`collect_tables`] lists, with the same indices.
fn for_each_table_mut(root: &mut Table, f: &mut dyn FnMut(usize, &mut Table)) {
    fn walk(table: &mut Table, next_index: &mut usize, f: &mut dyn FnMut(usize, &mut Table)) {
        for (_, item) in table.iter_mut() {
            let children: Vec<&mut Table> = match item {
                Item::Table(child) => vec![child],
                Item::ArrayOfTables(array) => array.iter_mut().collect(),
                _ => continue,
            };
            for child in children {
                if !child.is_dotted() {
                    f(*next_index, child);
                    *next_index += 1;
                }
                walk(child, next_index, f);
            }
        }
    }
    walk(root, &mut 0, f);
}

/// Returns table indices in rendered order, computed as `toml_edit` does: a table without a
/// position sorts with the last positioned table visited before it.
fn render_order(tables: &[TableInfo], root_position: Option<usize>) -> Vec<usize> {
    let mut last_position = root_position.unwrap_or(0);
    let mut keyed: Vec<(usize, usize)> = Vec::with_capacity(tables.len());
    for (index, table) in tables.iter().enumerate() {
        if let Some(position) = table
            .position
            .filter(|&position| position != NEW_TABLE_MARK)
        {
            last_position = position;
        }
        keyed.push((last_position, index));
    }
    keyed.sort_by_key(|&(position, _)| position);
    keyed.into_iter().map(|(_, index)| index).collect()
}

fn table_at_mut<'t>(root: &'t mut Table, path: &[&str]) -> Option<&'t mut Table> {
    let mut table = root;
    for key in path {
        table = table.get_mut(key)?.as_table_mut()?;
    }
    Some(table)
}

/// Drops the blank lines at the start of `text`, keeping the indentation of the first real line.
fn trim_leading_blank_lines(text: &str) -> &str {
    let blank_len: usize = complete_lines(text)
        .iter()
        .take_while(|line| is_blank_line(line))
        .map(|line| line.len())
        .sum();
    &text[blank_len..]
}

fn is_blank_line(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_comment_line(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Complete lines of a prefix; a last piece without a newline (indentation before `[`) is not a line.
fn complete_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .collect()
}

/// Splits a header's prefix into the file-level block (everything up to and including the last
/// blank line) and the rest, if and only if that block holds a comment.
fn split_leading_comments(prefix: &str) -> Option<(&str, &str)> {
    let lines = complete_lines(prefix);
    let last_blank = lines.iter().rposition(|line| is_blank_line(line))?;
    let head_len: usize = lines[..=last_blank].iter().map(|line| line.len()).sum();
    let (head, rest) = prefix.split_at(head_len);
    head.lines().any(is_comment_line).then_some((head, rest))
}

/// Splits off the comment lines at the start of a prefix that end at a blank line: they follow
/// the previous table's body without a gap, so they belong to it.
fn split_trailing_comments(prefix: &str) -> Option<(&str, String)> {
    let lines = complete_lines(prefix);
    let first_blank = lines.iter().position(|line| is_blank_line(line))?;
    if first_blank == 0
        || !lines[..first_blank]
            .iter()
            .all(|line| is_comment_line(line))
    {
        return None;
    }
    let trailing_len: usize = lines[..first_blank].iter().map(|line| line.len()).sum();
    let (trailing, rest) = prefix.split_at(trailing_len);
    Some((trailing, rest.to_owned()))
}
