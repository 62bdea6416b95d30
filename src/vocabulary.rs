//! The words every protection's policy section is made of: profiles, events settings,
//! named operations and their masks, the system-wide lock policy, and the parsing tools that
//! locate an error in its source (`FILE:LINE:COL`). Knows no protection.

use std::{fmt, ops::Range};

use serde::de::DeserializeOwned;
use toml::{
    de::{DeTable, DeValue, ValueDeserializer},
    Spanned,
};

use crate::{abi, error::PolicyError};

/// Profiles of the system-wide locks (bpf/profile.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Not loaded: everything allowed (`allow`, `none`, `privileged`).
    Allow = abi::PROFILE_ALLOW as isize,
    /// Allowed in the initial pid namespace only, with per-operation exceptions.
    Baseline = abi::PROFILE_BASELINE as isize,
    /// Denied to every process.
    Restricted = abi::PROFILE_RESTRICTED as isize,
}

impl Profile {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "allow" | "none" | "privileged" => Some(Self::Allow),
            "baseline" => Some(Self::Baseline),
            "restricted" => Some(Self::Restricted),
            _ => None,
        }
    }

    pub fn from_raw(value: u32) -> Option<Self> {
        [Self::Allow, Self::Baseline, Self::Restricted].into_iter().find(|p| *p as u32 == value)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Baseline => "baseline",
            Self::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a protection reports as events (bpf/events.h: enum bpflock_events_mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventsMode {
    None = abi::EVENTS_NONE as isize,
    /// Denials (and would-denials): the default.
    Deny = abi::EVENTS_DENY as isize,
    /// Every decision, allowed ones included.
    All = abi::EVENTS_ALL as isize,
}

impl EventsMode {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "deny" => Some(Self::Deny),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    pub fn from_raw(value: u32) -> Self {
        [Self::None, Self::Deny, Self::All].into_iter().find(|m| *m as u32 == value).unwrap_or(Self::Deny)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Deny => "deny",
            Self::All => "all",
        }
    }
}

/// One named operation of a lock: its policy name and its bit in the masks.
#[derive(Debug)]
pub struct Operation {
    pub name: &'static str,
    pub bit: u32,
    /// What it covers, for `bpflock operations` and docs.
    pub about: &'static str,
}

/// A set of operations, as the bit mask the BPF side reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpSet(pub u64);

impl OpSet {
    pub fn contains(self, bit: u32) -> bool {
        self.0 & (1 << bit) != 0
    }

    pub fn names(self, table: &'static [Operation]) -> Vec<&'static str> {
        table.iter().filter(|op| self.contains(op.bit)).map(|op| op.name).collect()
    }
}

/// The policy of one system-wide lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockPolicy {
    pub profile: Profile,
    /// baseline only: still allowed outside the initial pid namespace.
    pub allow: OpSet,
    /// baseline only: denied to every process.
    pub block: OpSet,
    /// What this protection reports ([bpflock] events, or the section's own `events`).
    pub events: EventsMode,
    /// The policy has a section for it (or a --X-profile): filelesslock loads even under allow.
    pub present: bool,
}

impl LockPolicy {
    pub const ALLOW: Self =
        Self { profile: Profile::Allow, allow: OpSet(0), block: OpSet(0), events: EventsMode::Deny, present: false };

    pub fn enabled(&self) -> bool {
        self.profile != Profile::Allow
    }

    /// "baseline (allow: debugfs; block: kcore)"
    pub fn describe(&self, table: &'static [Operation]) -> String {
        let mut parts = Vec::new();
        for (key, set) in [("allow", self.allow), ("block", self.block)] {
            if set.0 != 0 {
                parts.push(format!("{key}: {}", set.names(table).join(", ")));
            }
        }
        if parts.is_empty() {
            self.profile.to_string()
        } else {
            format!("{} ({})", self.profile, parts.join("; "))
        }
    }
}

pub type RawList = Spanned<Vec<Spanned<String>>>;

/// Locates errors of one source by span.
pub struct Checker<'a> {
    pub origin: &'a str,
    text: &'a str,
    /// Where each line starts: a position is found in log time, not by counting the lines
    /// before it (a rule of the 10 000th line asked for its position cost a pass over them).
    line_starts: Vec<usize>,
}

impl<'a> Checker<'a> {
    pub fn new(origin: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { origin, text, line_starts }
    }

    pub fn error(&self, span: Range<usize>, message: String) -> PolicyError {
        let (line, col) = self.line_col(span.start);
        PolicyError { origin: self.origin.to_string(), line, col, message }
    }

    /// Where a byte offset falls, 1-based, counting columns in characters.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }

    /// A TOML error, at its span where it has one.
    pub fn toml_error(&self, e: &toml::de::Error) -> PolicyError {
        let message = e.message().trim_end().to_string();
        match e.span() {
            Some(span) => self.error(span, message),
            None => PolicyError { origin: self.origin.to_string(), line: 1, col: 1, message },
        }
    }

    pub fn events(&self, key: &str, value: &Spanned<String>) -> Result<EventsMode, PolicyError> {
        EventsMode::parse(value.get_ref()).ok_or_else(|| {
            self.error(
                value.span(),
                format!("{key}: unknown value \"{}\" (expected deny, all or none)", value.get_ref()),
            )
        })
    }

    /// A lock's profile and its `allow`/`block` lists of operations from `table`.
    pub fn lock(
        &self,
        section: &str,
        table: &'static [Operation],
        profile: &Spanned<String>,
        allow: Option<&RawList>,
        block: Option<&RawList>,
    ) -> Result<LockPolicy, PolicyError> {
        let parsed = Profile::parse(profile.get_ref()).ok_or_else(|| {
            self.error(
                profile.span(),
                format!(
                    "{section}.profile: unknown profile \"{}\" (expected allow, baseline or restricted)",
                    profile.get_ref()
                ),
            )
        })?;
        let mut policy = LockPolicy { profile: parsed, present: true, ..LockPolicy::ALLOW };
        for (key, list, set) in [("allow", allow, &mut policy.allow), ("block", block, &mut policy.block)] {
            let Some(list) = list else { continue };
            if parsed != Profile::Baseline && !list.get_ref().is_empty() {
                return Err(self.error(
                    list.span(),
                    format!("{section}.{key}: only valid with profile = \"baseline\" (profile is \"{parsed}\")"),
                ));
            }
            for item in list.get_ref() {
                let bit = lookup(table, item.get_ref())
                    .ok_or_else(|| self.error(item.span(), unknown_op(section, key, item.get_ref(), table)))?;
                set.0 |= 1 << bit;
            }
        }
        if let Some(block) = block {
            for item in block.get_ref() {
                let bit = lookup(table, item.get_ref()).expect("validated above");
                if policy.allow.contains(bit) {
                    return Err(self.error(
                        item.span(),
                        format!(
                            "{section}.block: \"{}\" is also in {section}.allow; an operation is either allowed or blocked",
                            item.get_ref()
                        ),
                    ));
                }
            }
        }
        Ok(policy)
    }
}

pub fn lookup(table: &[Operation], name: &str) -> Option<u32> {
    table.iter().find(|op| op.name == name).map(|op| op.bit)
}

pub fn unknown_op(section: &str, key: &str, name: &str, table: &[Operation]) -> String {
    let known: Vec<_> = table.iter().map(|op| op.name).collect();
    format!("{section}.{key}: unknown operation \"{name}\" (known: {})", known.join(", "))
}

/// Settings of bpflock itself that a protection's section starts from.
#[derive(Clone, Copy, Debug)]
pub struct Defaults {
    /// `[bpflock] events`: what a section without its own `events` reports.
    pub events: EventsMode,
}

/// A policy text split into its top-level tables, each read by whoever owns it.
pub struct Document<'a> {
    pub checker: Checker<'a>,
    tables: Vec<(Spanned<String>, Spanned<DeValue<'a>>)>,
}

impl<'a> Document<'a> {
    pub fn parse(origin: &'a str, text: &'a str) -> Result<Self, PolicyError> {
        let checker = Checker::new(origin, text);
        let root = DeTable::parse(text).map_err(|e| checker.toml_error(&e))?;
        let tables = root
            .into_inner()
            .into_iter()
            .map(|(key, value)| {
                let span = key.span();
                (Spanned::new(span, key.into_inner().to_string()), value)
            })
            .collect();
        Ok(Self { checker, tables })
    }

    /// The top-level keys, with where each is written.
    pub fn keys(&self) -> impl Iterator<Item = &Spanned<String>> {
        self.tables.iter().map(|(key, _)| key)
    }

    /// The top-level table `key` as `T`; None where the policy has none.
    pub fn section<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, PolicyError> {
        let Some((_, value)) = self.tables.iter().find(|(k, _)| k.get_ref() == key) else { return Ok(None) };
        T::deserialize(ValueDeserializer::from(value.clone())).map(Some).map_err(|e| self.checker.toml_error(&e))
    }

    /// A section's `events` setting, or the default.
    pub fn events(
        &self,
        key: &str,
        value: Option<&Spanned<String>>,
        defaults: &Defaults,
    ) -> Result<EventsMode, PolicyError> {
        match value {
            Some(v) => self.checker.events(key, v),
            None => Ok(defaults.events),
        }
    }
}
