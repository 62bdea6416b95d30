//! Command-line flags over the policy file, under bpflock (C/Go)'s names: each protection
//! declares its flags (`Protection::flags`), the command line is built from them, and each
//! protection applies its own.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::vocabulary::{lookup, parse_complain, unknown_op, LockPolicy, OpSet, Operation, Profile};

/// What a flag takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    /// One value (`--kimglock-profile=baseline`), named in --help by the string.
    Value(&'static str),
    /// A comma-separated list (`--kimglock-allow=debugfs,ioport`).
    List,
    /// On when present (`--kmodlock-rootfs`).
    Switch,
}

/// One command-line flag of a protection: `--<name>`.
pub struct Flag {
    pub name: &'static str,
    pub kind: FlagKind,
    pub help: &'static str,
}

/// The profile, allow and block flags of a lock named `section`, where it has them.
#[macro_export]
macro_rules! lock_flag {
    (profile, $section:literal, $help:literal) => {
        $crate::overrides::Flag {
            name: concat!($section, "-profile"),
            kind: $crate::overrides::FlagKind::Value("PROFILE"),
            help: $help,
        }
    };
    (mode, $section:literal) => {
        $crate::overrides::Flag {
            name: concat!($section, "-mode"),
            kind: $crate::overrides::FlagKind::Value("MODE"),
            help: concat!($section, " mode: enforce, or complain (would-deny reported, nothing refused)"),
        }
    };
    ($list:ident, $section:literal, $help:literal) => {
        $crate::overrides::Flag {
            name: concat!($section, "-", stringify!($list)),
            kind: $crate::overrides::FlagKind::List,
            help: $help,
        }
    };
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagValue {
    Value(String),
    List(Vec<String>),
    On,
}

/// The flags given, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    given: BTreeMap<String, FlagValue>,
}

impl Overrides {
    pub fn set(&mut self, name: &str, value: FlagValue) {
        self.given.insert(name.to_string(), value);
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        match self.given.get(name) {
            Some(FlagValue::Value(v)) => Some(v),
            _ => None,
        }
    }

    pub fn list(&self, name: &str) -> Option<&[String]> {
        match self.given.get(name) {
            Some(FlagValue::List(v)) => Some(v),
            _ => None,
        }
    }

    pub fn on(&self, name: &str) -> bool {
        matches!(self.given.get(name), Some(FlagValue::On))
    }

    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
    }
}

impl<const N: usize> From<[(&str, FlagValue); N]> for Overrides {
    fn from(flags: [(&str, FlagValue); N]) -> Self {
        let mut o = Self::default();
        for (name, value) in flags {
            o.set(name, value);
        }
        o
    }
}

/// `--<section>-profile` replaces a lock's section; `--<section>-allow`/`-block` replace its
/// lists (a lock without one of these flags never finds it given).
pub fn override_lock(
    lock: &mut LockPolicy,
    section: &str,
    table: &'static [Operation],
    o: &Overrides,
) -> Result<(), Error> {
    let bad = |flag: &str, message: String| Error::Override { flag: format!("--{section}-{flag}"), message };
    if let Some(name) = o.value(&format!("{section}-profile")) {
        let profile = Profile::parse(name).ok_or_else(|| {
            bad("profile", format!("unknown profile \"{name}\" (expected allow, baseline or restricted)"))
        })?;
        *lock =
            LockPolicy { profile, events: lock.events, present: true, complain: lock.complain, ..LockPolicy::ALLOW };
    }
    if let Some(mode) = o.value(&format!("{section}-mode")) {
        lock.complain = parse_complain(mode).map_err(|why| bad("mode", why))?;
    }
    for key in ["allow", "block"] {
        let Some(list) = o.list(&format!("{section}-{key}")) else { continue };
        let mut set = OpSet(0);
        for name in list.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let bit = lookup(table, name).ok_or_else(|| bad(key, unknown_op(section, key, name, table)))?;
            set.0 |= 1 << bit;
        }
        if lock.profile != Profile::Baseline && set.0 != 0 {
            return Err(bad(key, format!("only valid with the baseline profile (profile is \"{}\")", lock.profile)));
        }
        match key {
            "allow" => lock.allow = set,
            _ => lock.block = set,
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
