//! The words every protection's policy section is made of: profiles, events settings,
//! named operations and their masks, the system-wide lock policy, and the parsing tools that
//! locate an error in its source (`FILE:LINE:COL`). Knows no protection.

use std::{cell::RefCell, fmt, ops::Range};

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

/// What `Profile::parse` accepts.
const PROFILE_NAMES: [&str; 5] = ["allow", "none", "privileged", "baseline", "restricted"];

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
    /// `mode = "complain"`: refusals reported as would-deny, nothing refused.
    pub complain: bool,
}

impl LockPolicy {
    pub const ALLOW: Self = Self {
        profile: Profile::Allow,
        allow: OpSet(0),
        block: OpSet(0),
        events: EventsMode::Deny,
        present: false,
        complain: false,
    };

    pub fn enabled(&self) -> bool {
        self.profile != Profile::Allow
    }

    /// Refuses something (not `allow`, not complain): what may carry the pins guard.
    pub fn enforces(&self) -> bool {
        self.enabled() && !self.complain
    }

    /// What this lock leaves open to root for a sealed policy (src/seal.rs): each group of
    /// `required` is closed where `block` names one of its operations (baseline), or by
    /// `restricted`. `what` says what the lock closes ("loading unsigned modules").
    pub fn seal_gap(&self, table: &'static [Operation], required: &[&[&'static str]], what: &str) -> Option<String> {
        let wanted = || required.iter().map(|g| g.join(" or ")).collect::<Vec<_>>().join(", ");
        if !self.enabled() {
            return Some(format!(
                "not enabled, so {what} stays open (profile = \"restricted\", or \"baseline\" with block = [{}])",
                wanted()
            ));
        }
        if self.complain {
            return Some(format!("in complain mode, so {what} stays open"));
        }
        if self.profile == Profile::Restricted {
            return None;
        }
        let missing: Vec<String> = required
            .iter()
            .filter(|group| !group.iter().any(|name| lookup(table, name).is_some_and(|bit| self.block.contains(bit))))
            .map(|g| g.join(" or "))
            .collect();
        (!missing.is_empty()).then(|| {
            format!("baseline leaves {what} to root: block {} too, or use profile = \"restricted\"", missing.join(", "))
        })
    }

    /// "baseline (allow: debugfs; block: kcore)"
    pub fn describe(&self, table: &'static [Operation]) -> String {
        let mut parts = Vec::new();
        if self.complain {
            parts.push("complain mode: nothing refused".to_string());
        }
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
        let mut message = e.message().trim_end().to_string();
        if let Some(key) = e.span().filter(|_| message == "duplicate key").and_then(|s| self.text.get(s)) {
            message = format!("duplicate key `{key}`: set earlier in the same table");
        }
        match e.span() {
            Some(span) => self.error(span, message),
            None => PolicyError { origin: self.origin.to_string(), line: 1, col: 1, message },
        }
    }

    pub fn events(&self, key: &str, value: &Spanned<String>) -> Result<EventsMode, PolicyError> {
        EventsMode::parse(value.get_ref()).ok_or_else(|| {
            let suggestion = did_you_mean(value.get_ref(), ["deny", "all", "none"]);
            self.error(
                value.span(),
                format!("{key}: unknown value \"{}\"{suggestion} (expected deny, all or none)", value.get_ref()),
            )
        })
    }

    /// A lock's `mode`: true for "complain" (report would-deny, refuse nothing).
    pub fn complain(&self, section: &str, mode: Option<&Spanned<String>>) -> Result<bool, PolicyError> {
        let Some(mode) = mode else { return Ok(false) };
        parse_complain(mode.get_ref()).map_err(|why| self.error(mode.span(), format!("{section}.mode: {why}")))
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
                    "{section}.profile: unknown profile \"{}\"{} (expected allow, baseline or restricted)",
                    profile.get_ref(),
                    did_you_mean(profile.get_ref(), PROFILE_NAMES)
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

/// A key that takes one of two words: true for `on`, false for `off`; the error names
/// what it is (`what`: "mode", "value") and what was expected.
pub fn parse_switch(value: &str, on: &str, off: &str, what: &str) -> Result<bool, String> {
    match value {
        v if v == on => Ok(true),
        v if v == off => Ok(false),
        other => Err(format!("unknown {what} \"{other}\"{} (expected {off} or {on})", did_you_mean(other, [off, on]))),
    }
}

/// A lock's mode by name: true for "complain"; the error says what was expected.
pub fn parse_complain(mode: &str) -> Result<bool, String> {
    parse_switch(mode, "complain", "enforce", "mode")
}

pub fn lookup(table: &[Operation], name: &str) -> Option<u32> {
    table.iter().find(|op| op.name == name).map(|op| op.bit)
}

pub fn unknown_op(section: &str, key: &str, name: &str, table: &[Operation]) -> String {
    let known: Vec<_> = table.iter().map(|op| op.name).collect();
    format!(
        "{section}.{key}: unknown operation \"{name}\"{} (known: {})",
        did_you_mean(name, known.iter().copied()),
        known.join(", ")
    )
}

/// The candidate closest to `name`, where it is close enough to be a typo of it: at most a
/// third of its characters edited (one at least). Case is ignored.
pub fn closest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let name = name.to_lowercase();
    let len = name.chars().count();
    let limit = (len / 3).max(1);
    candidates
        .into_iter()
        // Only names of about the same length can be that close (and a 1 MiB key costs nothing).
        .filter(|c| c.chars().count().abs_diff(len) <= limit)
        .map(|c| (edit_distance(&name, &c.to_lowercase()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// " (did you mean `x`?)" where a candidate is close to `name`, else "".
pub fn did_you_mean<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    closest(name, candidates).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default()
}

/// Edit distance in characters, a swap of neighbours counting as one edit (optimal string
/// alignment): "dney" is one edit from "deny".
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j - 1] + cost).min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// Settings of bpflock itself that a protection's section starts from.
#[derive(Clone, Copy, Debug)]
pub struct Defaults {
    /// `[bpflock] events`: what a section without its own `events` reports.
    pub events: EventsMode,
}

/// How many unknown keys one section may have before its reading stops: each is reported,
/// removed and the section read again, so that one pass reports them all.
const MAX_RECOVERED_KEYS: usize = 64;

/// A policy text split into its top-level tables, each read by whoever owns it.
pub struct Document<'a> {
    pub checker: Checker<'a>,
    tables: Vec<(Spanned<String>, Spanned<DeValue<'a>>)>,
    /// The errors sections were read past (unknown keys): reported with the rest.
    recovered: RefCell<Vec<PolicyError>>,
}

impl<'a> Document<'a> {
    /// Every syntax error of the text, or its tables.
    pub fn parse(origin: &'a str, text: &'a str) -> Result<Self, Vec<PolicyError>> {
        let checker = Checker::new(origin, text);
        let (root, errors) = DeTable::parse_recoverable(text);
        if !errors.is_empty() {
            return Err(errors.iter().map(|e| checker.toml_error(e)).collect());
        }
        let tables = root
            .into_inner()
            .into_iter()
            .map(|(key, value)| {
                let span = key.span();
                (Spanned::new(span, key.into_inner().to_string()), value)
            })
            .collect();
        Ok(Self { checker, tables, recovered: RefCell::default() })
    }

    /// The top-level keys, with where each is written.
    pub fn keys(&self) -> impl Iterator<Item = &Spanned<String>> {
        self.tables.iter().map(|(key, _)| key)
    }

    /// The top-level table `key` as `T`; None where the policy has none. Unknown keys are
    /// reported (`take_recovered`) and read past; any other error ends the reading.
    pub fn section<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, PolicyError> {
        let Some((_, value)) = self.tables.iter().find(|(k, _)| k.get_ref() == key) else { return Ok(None) };
        let mut value = value.clone();
        for _ in 0..=MAX_RECOVERED_KEYS {
            let e = match T::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(v) => return Ok(Some(v)),
                Err(e) => e,
            };
            let Some(span) = e.span() else { return Err(self.checker.toml_error(&e)) };
            let path = key_path(key, &value, &span);
            let error = self.checker.error(span.clone(), in_policy_words(&path, e.message().trim_end()));
            if !e.message().starts_with("unknown field") || !remove_key(value.get_mut(), &span) {
                return Err(error);
            }
            self.recovered.borrow_mut().push(error);
        }
        Err(self.checker.error(value.span(), format!("{key}: more than {MAX_RECOVERED_KEYS} unknown keys")))
    }

    /// The errors `section` read past.
    pub fn take_recovered(&self) -> Vec<PolicyError> {
        self.recovered.take()
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

/// The full key (`roles.web.file.deny[2]`) of what is written at `span` inside `value`.
fn key_path(top: &str, value: &Spanned<DeValue<'_>>, span: &Range<usize>) -> String {
    let mut path = Vec::new();
    find_key(value.get_ref(), span, &mut path);
    path.push(quote_key(top));
    path.reverse();
    path.iter().fold(String::new(), |mut full, part| {
        if !full.is_empty() && !part.starts_with('[') {
            full.push('.');
        }
        full.push_str(part);
        full
    })
}

/// Finds the deepest key or array item at `span`; `path` gets its parts, innermost first.
fn find_key(value: &DeValue<'_>, span: &Range<usize>, path: &mut Vec<String>) -> bool {
    let contains = |outer: Range<usize>| outer.start <= span.start && span.end <= outer.end && outer != (0..0);
    match value {
        DeValue::Table(table) => table.iter().any(|(k, v)| {
            let found = k.span() == *span || find_key(v.get_ref(), span, path) || contains(v.span());
            if found {
                path.push(quote_key(k.get_ref()));
            }
            found
        }),
        DeValue::Array(items) => items.iter().enumerate().any(|(i, v)| {
            let found = find_key(v.get_ref(), span, path) || contains(v.span());
            if found {
                path.push(format!("[{i}]"));
            }
            found
        }),
        _ => false,
    }
}

/// Removes the key written at `span`; false where there is none.
fn remove_key(value: &mut DeValue<'_>, span: &Range<usize>) -> bool {
    match value {
        DeValue::Table(table) => match table.keys().find(|k| k.span() == *span).map(|k| k.get_ref().to_string()) {
            Some(name) => table.remove(name.as_str()).is_some(),
            None => table.iter_mut().any(|(_, v)| remove_key(v.get_mut(), span)),
        },
        DeValue::Array(items) => items.iter_mut().any(|v| remove_key(v.get_mut(), span)),
        _ => false,
    }
}

fn quote_key(key: &str) -> String {
    match !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        true => key.to_string(),
        false => format!("{key:?}"),
    }
}

/// serde's message about `path`, in the policy's words: "invalid type: integer `1`, expected
/// a string" becomes "kimglock.profile: expected a string, found integer `1`".
fn in_policy_words(path: &str, message: &str) -> String {
    let ticked = |s: &str| s.split('`').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>();
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((found, expected)) = message.strip_prefix(prefix).and_then(|m| m.split_once(", expected ")) {
            return format!("{path}: expected {}, found {}", type_words(expected), type_words(found));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let names = ticked(rest);
        let (name, known) = names.split_first().map(|(n, k)| (n.as_str(), k)).unwrap_or(("", &[]));
        let parent = path.rsplit_once('.').map_or(path, |(parent, _)| parent);
        let suggestion = did_you_mean(name, known.iter().map(String::as_str));
        return match known.is_empty() {
            true => format!("{path}: unknown key{suggestion}; `{parent}` takes no keys"),
            false => format!("{path}: unknown key{suggestion}; `{parent}` takes: {}", known.join(", ")),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let names = ticked(rest);
        if let Some((name, known)) = names.split_first() {
            let suggestion = did_you_mean(name, known.iter().map(String::as_str));
            return format!("{path}: unknown value \"{name}\"{suggestion} (expected {})", known.join(", "));
        }
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("{path}: missing key {rest}");
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        return format!("{path}: key {rest} given twice");
    }
    format!("{path}: {message}")
}

/// serde's names of types, as a policy writer knows them.
fn type_words(serde: &str) -> String {
    let serde = serde.trim();
    let (kind, rest) = serde.split_once(' ').unwrap_or((serde, ""));
    let word = match kind {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => "an integer",
        "integer" => "integer",
        "sequence" => "an array",
        "a" if rest == "sequence" => "an array",
        "map" | "struct" => "a table",
        "a" if rest == "map" => "a table",
        "string" => "string",
        _ => return serde.to_string(),
    };
    match (rest, word.starts_with("an ") || word.starts_with("a ")) {
        ("", _) | (_, true) => word.to_string(),
        (rest, false) => format!("{word} {rest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name() {
        assert_eq!(edit_distance("dney", "deny"), 1);
        assert_eq!(edit_distance("kimglok", "kimglock"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("alow", ["profile", "allow", "block"]), Some("allow"));
        assert_eq!(closest("Baseline", ["allow", "baseline"]), Some("baseline"));
        assert_eq!(closest("strict", ["allow", "baseline", "restricted"]), None);
        assert_eq!(did_you_mean("xyz", ["allow"]), "");
    }

    #[test]
    fn serde_messages_in_policy_words() {
        assert_eq!(
            in_policy_words("kimglock.profile", "invalid type: integer `1`, expected a string"),
            "kimglock.profile: expected a string, found integer `1`"
        );
        assert_eq!(
            in_policy_words("bpflock.rate_limit", "invalid type: string \"100\", expected i64"),
            "bpflock.rate_limit: expected an integer, found string \"100\""
        );
        assert_eq!(
            in_policy_words("kimglock.alow", "unknown field `alow`, expected one of `profile`, `allow`"),
            "kimglock.alow: unknown key (did you mean `allow`?); `kimglock` takes: profile, allow"
        );
        assert_eq!(in_policy_words("kimglock", "missing field `profile`"), "kimglock: missing key `profile`");
    }

    #[test]
    fn every_unknown_key_of_a_section_is_reported() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Raw {
            profile: String,
        }
        let text = "[s]\nprofle = 1\nprofile = \"x\"\nother = 2\n";
        let doc = Document::parse("t", text).unwrap();
        let raw = doc.section::<Raw>("s").unwrap().unwrap();
        assert_eq!(raw.profile, "x");
        let mut errors = doc.take_recovered();
        errors.sort_by_key(|e| e.line);
        let at: Vec<_> = errors.iter().map(|e| (e.line, e.col, e.message.split(':').next().unwrap())).collect();
        assert_eq!(at, [(2, 1, "s.profle"), (4, 1, "s.other")], "{errors:?}");
    }
}
