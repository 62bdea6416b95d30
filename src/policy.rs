//! The TOML policy: parsing, validation with `FILE:LINE:COL` errors, and CLI overrides.
//!
//! Validation is complete before anything is loaded: a policy that parses here is one the
//! protections can apply as written.

use std::{fmt, ops::Range, path::Path};

use serde::Deserialize;
use toml::Spanned;

pub use crate::cli::Overrides;
use crate::{bpfrestrict, error::Error, kimglock};

/// The policy compiled in, used when no policy file exists (baseline for both locks).
pub const DEFAULT_POLICY: &str = include_str!("../policy/default.toml");
pub const DEFAULT_POLICY_PATH: &str = "/etc/bpflock/policy.toml";

/// Profiles of the system-wide locks. Values mirror bpf/profile.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Not loaded: everything allowed (`allow`, `none`, `privileged`).
    Allow = 0,
    /// Allowed in the initial pid namespace only, with per-operation exceptions.
    Baseline = 1,
    /// Denied to every process.
    Restricted = 2,
}

impl Profile {
    fn parse(name: &str) -> Option<Self> {
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
    None = 0,
    /// Denials (and would-denials): the default.
    Deny = 1,
    /// Every decision, allowed ones included.
    All = 2,
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

/// Events per second per (protection, process) before the kernel suppresses (and counts) them.
pub const DEFAULT_RATE_LIMIT: u64 = 100;

/// One named operation of a lock: its policy name and its bit in the masks.
pub struct Operation {
    pub name: &'static str,
    pub bit: u32,
    /// What it covers, for `--help` and docs.
    pub about: &'static str,
}

/// kmodlock's origin checks (LoadPin-style): where modules and firmware may come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModuleOrigin {
    /// Only from the root filesystem.
    pub rootfs: bool,
    /// Only from a filesystem mounted read-only.
    pub ro: bool,
    /// Only from a filesystem on a read-only block device.
    pub ro_dev: bool,
}

impl ModuleOrigin {
    pub fn any(&self) -> bool {
        self.rootfs || self.ro || self.ro_dev
    }
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
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Where it came from, for messages: a path or "built-in default".
    pub origin: String,
    pub kimglock: LockPolicy,
    pub bpfrestrict: LockPolicy,
    pub filelesslock: LockPolicy,
    pub kmodlock: LockPolicy,
    pub kmodlock_origin: ModuleOrigin,
    /// Events per second per (protection, process); 0: unlimited.
    pub rate_limit: u64,
    /// Roles and enrollment (docs/jails.md).
    pub jail: crate::jail::rules::JailPolicy,
    pub jail_events: EventsMode,
}

/// A policy error located in its source: printed as `FILE:LINE:COL: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub origin: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.origin, self.line, self.col, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Where a byte offset falls, 1-based, counting columns in characters.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    bpflock: Option<RawGlobal>,
    jail: Option<RawEventsOnly>,
    roles: Option<std::collections::BTreeMap<String, Spanned<crate::jail::rules::RawRole>>>,
    enroll: Option<Vec<Spanned<crate::jail::rules::RawEnroll>>>,
    kimglock: Option<RawKimglock>,
    bpfrestrict: Option<RawBpfrestrict>,
    filelesslock: Option<RawProfileOnly>,
    kmodlock: Option<RawKmodlock>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKmodlock {
    profile: Spanned<String>,
    block: Option<RawList>,
    #[serde(default)]
    rootfs: bool,
    #[serde(default)]
    ro: bool,
    #[serde(default)]
    ro_dev: bool,
    events: Option<Spanned<String>>,
}

/// A protection with a profile and nothing to list (filelesslock).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfileOnly {
    profile: Spanned<String>,
    events: Option<Spanned<String>>,
}

/// A section with only an `events` setting (`[jail]`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEventsOnly {
    events: Option<Spanned<String>>,
}

/// Settings of bpflock itself, for every protection.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    events: Option<Spanned<String>>,
    rate_limit: Option<Spanned<i64>>,
}

pub(crate) type RawList = Spanned<Vec<Spanned<String>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKimglock {
    profile: Spanned<String>,
    allow: Option<RawList>,
    block: Option<RawList>,
    events: Option<Spanned<String>>,
}

/// bpfrestrict has no `allow`: outside the initial pid namespace, bpf() is never needed
/// by a baseline host, and a partial bpf() is no confinement.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBpfrestrict {
    profile: Spanned<String>,
    block: Option<RawList>,
    events: Option<Spanned<String>>,
}

/// Collects errors of one source, located by span.
pub(crate) struct Checker<'a> {
    pub origin: &'a str,
    text: &'a str,
}

impl Checker<'_> {
    pub fn error(&self, span: Range<usize>, message: String) -> PolicyError {
        let (line, col) = line_col(self.text, span.start);
        PolicyError { origin: self.origin.to_string(), line, col, message }
    }

    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(self.text, offset)
    }

    fn events(&self, key: &str, value: &Spanned<String>) -> Result<EventsMode, PolicyError> {
        EventsMode::parse(value.get_ref()).ok_or_else(|| {
            self.error(
                value.span(),
                format!("{key}: unknown value \"{}\" (expected deny, all or none)", value.get_ref()),
            )
        })
    }

    fn lock(
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

fn lookup(table: &[Operation], name: &str) -> Option<u32> {
    table.iter().find(|op| op.name == name).map(|op| op.bit)
}

fn unknown_op(section: &str, key: &str, name: &str, table: &[Operation]) -> String {
    let known: Vec<_> = table.iter().map(|op| op.name).collect();
    format!("{section}.{key}: unknown operation \"{name}\" (known: {})", known.join(", "))
}

impl Policy {
    /// Parses and validates a policy text. `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Self, PolicyError> {
        let checker = Checker { origin, text };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().to_string();
            let message = match e.span() {
                Some(span) => return checker.error(span, message),
                None => message,
            };
            PolicyError { origin: origin.to_string(), line: 1, col: 1, message }
        })?;
        let global = raw.bpflock.as_ref();
        let default_events = match global.and_then(|g| g.events.as_ref()) {
            Some(v) => checker.events("bpflock.events", v)?,
            None => EventsMode::Deny,
        };
        let rate_limit = match global.and_then(|g| g.rate_limit.as_ref()) {
            Some(v) => u64::try_from(*v.get_ref())
                .map_err(|_| checker.error(v.span(), "bpflock.rate_limit: must be 0 (unlimited) or more".into()))?,
            None => DEFAULT_RATE_LIMIT,
        };
        let section_events = |key: &str, v: Option<&Spanned<String>>| match v {
            Some(v) => checker.events(key, v),
            None => Ok(default_events),
        };
        let kimglock = match &raw.kimglock {
            None => LockPolicy { events: default_events, ..LockPolicy::ALLOW },
            Some(s) => LockPolicy {
                events: section_events("kimglock.events", s.events.as_ref())?,
                ..checker.lock("kimglock", kimglock::OPERATIONS, &s.profile, s.allow.as_ref(), s.block.as_ref())?
            },
        };
        let bpfrestrict = match &raw.bpfrestrict {
            None => LockPolicy { events: default_events, ..LockPolicy::ALLOW },
            Some(s) => LockPolicy {
                events: section_events("bpfrestrict.events", s.events.as_ref())?,
                ..checker.lock("bpfrestrict", bpfrestrict::OPERATIONS, &s.profile, None, s.block.as_ref())?
            },
        };
        let filelesslock = match &raw.filelesslock {
            None => LockPolicy { events: default_events, ..LockPolicy::ALLOW },
            Some(s) => LockPolicy {
                events: section_events("filelesslock.events", s.events.as_ref())?,
                ..checker.lock("filelesslock", &[], &s.profile, None, None)?
            },
        };
        let (kmodlock, kmodlock_origin) = match &raw.kmodlock {
            None => (LockPolicy { events: default_events, ..LockPolicy::ALLOW }, ModuleOrigin::default()),
            Some(s) => (
                LockPolicy {
                    events: section_events("kmodlock.events", s.events.as_ref())?,
                    ..checker.lock("kmodlock", crate::kmodlock::OPERATIONS, &s.profile, None, s.block.as_ref())?
                },
                ModuleOrigin { rootfs: s.rootfs, ro: s.ro, ro_dev: s.ro_dev },
            ),
        };
        let jail = crate::jail::rules::parse(&checker, raw.roles.as_ref(), raw.enroll.as_ref())?;
        let jail_events = section_events("jail.events", raw.jail.as_ref().and_then(|j| j.events.as_ref()))?;
        Ok(Self {
            origin: origin.to_string(),
            jail,
            jail_events,
            kimglock,
            bpfrestrict,
            filelesslock,
            kmodlock,
            kmodlock_origin,
            rate_limit,
        })
    }

    /// Reads `path`; where it is the default path and does not exist, the built-in
    /// default policy serves (and the caller says so).
    pub fn load(path: Option<&Path>) -> Result<Self, Error> {
        let explicit = path.is_some();
        let path = path.unwrap_or(Path::new(DEFAULT_POLICY_PATH));
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Self::parse(&path.display().to_string(), &text)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                log::info!(
                    target: "policy",
                    "{} does not exist: using the built-in default policy (baseline kimglock and bpfrestrict)",
                    path.display()
                );
                Ok(Self::parse("built-in default policy", DEFAULT_POLICY)?)
            }
            Err(source) => Err(Error::ReadPolicy { path: path.to_path_buf(), source }),
        }
    }

    /// Applies bpflock's command-line options over the file's policy. A `--X-profile`
    /// replaces that lock's section; `--X-allow`/`--X-block` replace its lists.
    pub fn apply(&mut self, o: &Overrides) -> Result<(), Error> {
        override_lock(
            &mut self.kimglock,
            "kimglock",
            kimglock::OPERATIONS,
            o.kimglock_profile.as_deref(),
            o.kimglock_allow.as_deref(),
            o.kimglock_block.as_deref(),
        )?;
        override_lock(
            &mut self.bpfrestrict,
            "bpfrestrict",
            bpfrestrict::OPERATIONS,
            o.bpfrestrict_profile.as_deref(),
            None,
            o.bpfrestrict_block.as_deref(),
        )?;
        override_lock(
            &mut self.kmodlock,
            "kmodlock",
            crate::kmodlock::OPERATIONS,
            o.kmodlock_profile.as_deref(),
            None,
            o.kmodlock_block.as_deref(),
        )?;
        self.kmodlock_origin.rootfs |= o.kmodlock_rootfs;
        self.kmodlock_origin.ro |= o.kmodlock_ro;
        self.kmodlock_origin.ro_dev |= o.kmodlock_ro_dev;
        if let Some(name) = o.filelesslock_profile.as_deref() {
            let profile = Profile::parse(name).ok_or_else(|| Error::Override {
                flag: "--filelesslock-profile".into(),
                message: format!("unknown profile \"{name}\" (expected allow, baseline or restricted)"),
            })?;
            self.filelesslock = LockPolicy { profile, present: true, ..self.filelesslock };
        }
        if o.any() {
            self.origin = format!("{} with command-line overrides", self.origin);
        }
        Ok(())
    }

    pub fn lock(&self, name: &str) -> Option<&LockPolicy> {
        match name {
            kimglock::NAME => Some(&self.kimglock),
            bpfrestrict::NAME => Some(&self.bpfrestrict),
            crate::filelesslock::NAME => Some(&self.filelesslock),
            crate::kmodlock::NAME => Some(&self.kmodlock),
            _ => None,
        }
    }
}

impl Overrides {
    fn any(&self) -> bool {
        self.kimglock_profile.is_some()
            || self.kimglock_allow.is_some()
            || self.kimglock_block.is_some()
            || self.bpfrestrict_profile.is_some()
            || self.bpfrestrict_block.is_some()
            || self.filelesslock_profile.is_some()
            || self.kmodlock_profile.is_some()
            || self.kmodlock_block.is_some()
            || self.kmodlock_rootfs
            || self.kmodlock_ro
            || self.kmodlock_ro_dev
    }
}

fn override_lock(
    lock: &mut LockPolicy,
    section: &str,
    table: &'static [Operation],
    profile: Option<&str>,
    allow: Option<&[String]>,
    block: Option<&[String]>,
) -> Result<(), Error> {
    let bad = |flag: &str, message: String| Error::Override { flag: format!("--{section}-{flag}"), message };
    if let Some(name) = profile {
        let profile = Profile::parse(name).ok_or_else(|| {
            bad("profile", format!("unknown profile \"{name}\" (expected allow, baseline or restricted)"))
        })?;
        *lock = LockPolicy { profile, allow: OpSet(0), block: OpSet(0), events: lock.events, present: true };
    }
    for (key, list, set) in [("allow", allow, &mut lock.allow), ("block", block, &mut lock.block)] {
        let Some(list) = list else { continue };
        *set = OpSet(0);
        for name in list.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let bit = lookup(table, name).ok_or_else(|| bad(key, unknown_op(section, key, name, table)))?;
            set.0 |= 1 << bit;
        }
        if lock.profile != Profile::Baseline && set.0 != 0 {
            return Err(bad(key, format!("only valid with the baseline profile (profile is \"{}\")", lock.profile)));
        }
    }
    let both = OpSet(lock.allow.0 & lock.block.0);
    if both.0 != 0 {
        return Err(bad(
            "block",
            format!(
                "{} both allowed and blocked; an operation is either allowed or blocked",
                both.names(table).join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_baseline_for_both() {
        let p = Policy::parse("default", DEFAULT_POLICY).unwrap();
        assert_eq!(p.kimglock.profile, Profile::Baseline);
        assert_eq!(p.bpfrestrict.profile, Profile::Baseline);
    }

    #[test]
    fn lists_become_masks() {
        let p = Policy::parse(
            "p",
            "[kimglock]\nprofile = \"baseline\"\nallow = [\"debugfs\", \"ioport\"]\nblock = [\"kcore\"]\n",
        )
        .unwrap();
        assert_eq!(p.kimglock.allow.names(kimglock::OPERATIONS), ["ioport", "debugfs"]);
        assert_eq!(p.kimglock.block.names(kimglock::OPERATIONS), ["kcore"]);
        assert_eq!(p.bpfrestrict.profile, Profile::Allow);
        assert_eq!(p.kimglock.events, EventsMode::Deny);
        assert_eq!(p.rate_limit, DEFAULT_RATE_LIMIT);
    }

    #[test]
    fn events_default_and_override() {
        let p = Policy::parse(
            "p",
            "[bpflock]\nevents = \"none\"\nrate_limit = 0\n[kimglock]\nprofile = \"baseline\"\nevents = \"all\"\n[bpfrestrict]\nprofile = \"baseline\"\n",
        )
        .unwrap();
        assert_eq!(p.kimglock.events, EventsMode::All);
        assert_eq!(p.bpfrestrict.events, EventsMode::None);
        assert_eq!(p.rate_limit, 0);
    }

    #[test]
    fn profile_aliases() {
        for alias in ["none", "privileged", "allow"] {
            let p = Policy::parse("p", &format!("[bpfrestrict]\nprofile = \"{alias}\"\n")).unwrap();
            assert_eq!(p.bpfrestrict.profile, Profile::Allow);
        }
    }

    #[test]
    fn errors_point_at_the_offending_item() {
        let e = Policy::parse("p.toml", "[kimglock]\nprofile = \"baseline\"\nallow = [\"debugfs\", \"nope\"]\n")
            .unwrap_err();
        assert_eq!((e.line, e.col), (3, 21), "{e}");
        assert!(e.message.contains("unknown operation \"nope\""), "{e}");
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é\nx", 3), (2, 1));
    }

    #[test]
    fn overrides_replace_sections() {
        let mut p = Policy::parse("p", DEFAULT_POLICY).unwrap();
        p.apply(&Overrides {
            kimglock_profile: Some("baseline".into()),
            kimglock_allow: Some(vec!["debugfs".into(), "ioport".into()]),
            bpfrestrict_profile: Some("restricted".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(p.kimglock.allow.names(kimglock::OPERATIONS), ["ioport", "debugfs"]);
        assert_eq!(p.bpfrestrict.profile, Profile::Restricted);
    }

    #[test]
    fn bad_overrides_name_the_flag() {
        let mut p = Policy::parse("p", DEFAULT_POLICY).unwrap();
        let e = p.apply(&Overrides { kimglock_allow: Some(vec!["debugf".into()]), ..Default::default() }).unwrap_err();
        assert!(e.to_string().starts_with("--kimglock-allow: "), "{e}");
        let e = p
            .apply(&Overrides {
                bpfrestrict_profile: Some("restricted".into()),
                bpfrestrict_block: Some(vec!["map_create".into()]),
                ..Default::default()
            })
            .unwrap_err();
        assert!(e.to_string().contains("only valid with the baseline profile"), "{e}");
        let e = p
            .apply(&Overrides {
                kimglock_allow: Some(vec!["kcore".into()]),
                kimglock_block: Some(vec!["kcore".into()]),
                ..Default::default()
            })
            .unwrap_err();
        assert!(e.to_string().contains("both allowed and blocked"), "{e}");
    }
}
