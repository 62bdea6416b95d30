//! The policy: a TOML file (or the built-in default) read into each protection's part, with
//! `FILE:LINE:COL` errors, and the command-line overrides applied over it.
//!
//! Validation is complete before anything is loaded: a policy that parses here is one the
//! protections can apply as written. Each protection reads its own sections
//! (`Protection::parse`); this module owns the document, bpflock's own `[bpflock]` section
//! and the top-level keys nobody owns.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

pub use crate::overrides::Overrides;
use crate::vocabulary::{Defaults, Document, EventsMode};

use crate::{
    error::{Error, PolicyError},
    protection::{Protection, Section},
    protections::ALL,
};

/// The policy compiled in, used when no policy file exists (baseline for both locks).
pub const DEFAULT_POLICY: &str = include_str!("../policy/default.toml");
pub const DEFAULT_POLICY_PATH: &str = "/etc/bpflock/policy.toml";

/// Events per second per (protection, process) before the kernel suppresses (and counts) them.
pub const DEFAULT_RATE_LIMIT: u64 = 100;

/// bpflock's own section: settings for every protection.
const GLOBAL: &str = "bpflock";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    events: Option<Spanned<String>>,
    rate_limit: Option<Spanned<i64>>,
}

#[derive(Debug)]
pub struct Policy {
    /// Where it came from, for messages: a path or "built-in default".
    pub origin: String,
    /// Events per second per (protection, process); 0: unlimited.
    pub rate_limit: u64,
    /// Each protection's part, in the order of `protections::ALL`.
    sections: Vec<Box<dyn Section>>,
}

impl Policy {
    /// Parses and validates a policy text. `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Self, PolicyError> {
        let doc = Document::parse(origin, text)?;
        let known: Vec<&str> = std::iter::once(GLOBAL)
            .chain(ALL.iter().flat_map(|p| std::iter::once(p.name()).chain(p.other_sections().iter().copied())))
            .collect();
        if let Some(key) = doc.keys().find(|k| !known.contains(&k.get_ref().as_str())) {
            let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            return Err(doc.checker.error(
                key.span(),
                format!("unknown field `{}`, expected one of {}", key.get_ref(), expected.join(", ")),
            ));
        }
        let global = doc.section::<RawGlobal>(GLOBAL)?;
        let events = match global.as_ref().and_then(|g| g.events.as_ref()) {
            Some(v) => doc.checker.events("bpflock.events", v)?,
            None => EventsMode::Deny,
        };
        let rate_limit = match global.as_ref().and_then(|g| g.rate_limit.as_ref()) {
            Some(v) => u64::try_from(*v.get_ref())
                .map_err(|_| doc.checker.error(v.span(), "bpflock.rate_limit: must be 0 (unlimited) or more".into()))?,
            None => DEFAULT_RATE_LIMIT,
        };
        let defaults = Defaults { events };
        let sections = ALL.iter().map(|p| p.parse(&doc, &defaults)).collect::<Result<_, _>>()?;
        Ok(Self { origin: origin.to_string(), rate_limit, sections })
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

    /// Applies bpflock's command-line options over the file's policy: each protection its own.
    pub fn apply(&mut self, o: &Overrides) -> Result<(), Error> {
        for (p, section) in ALL.iter().zip(&mut self.sections) {
            p.apply_overrides(section.as_mut(), o)?;
        }
        if !o.is_empty() {
            self.origin = format!("{} with command-line overrides", self.origin);
        }
        Ok(())
    }

    /// Each protection with its part of the policy, in setup order.
    pub fn sections(&self) -> impl Iterator<Item = (&'static dyn Protection, &dyn Section)> {
        ALL.iter().copied().zip(self.sections.iter().map(|s| s.as_ref()))
    }

    /// A protection's part of the policy.
    pub fn section(&self, name: &str) -> Option<&dyn Section> {
        self.sections().find(|(p, _)| p.name() == name).map(|(_, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{overrides::FlagValue, vocabulary::Checker};

    fn describe(p: &Policy, name: &str) -> String {
        p.section(name).unwrap().describe()
    }

    #[test]
    fn default_policy_is_baseline_for_both() {
        let p = Policy::parse("default", DEFAULT_POLICY).unwrap();
        assert_eq!(describe(&p, "kimglock"), "baseline");
        assert_eq!(describe(&p, "bpfrestrict"), "baseline");
    }

    #[test]
    fn lists_become_masks() {
        let p = Policy::parse(
            "p",
            "[kimglock]\nprofile = \"baseline\"\nallow = [\"debugfs\", \"ioport\"]\nblock = [\"kcore\"]\n",
        )
        .unwrap();
        assert_eq!(describe(&p, "kimglock"), "baseline (allow: ioport, debugfs; block: kcore)");
        assert_eq!(describe(&p, "bpfrestrict"), "allow");
        assert_eq!(p.section("kimglock").unwrap().events(), EventsMode::Deny);
        assert_eq!(p.rate_limit, DEFAULT_RATE_LIMIT);
    }

    #[test]
    fn events_default_and_override() {
        let p = Policy::parse(
            "p",
            "[bpflock]\nevents = \"none\"\nrate_limit = 0\n[kimglock]\nprofile = \"baseline\"\nevents = \"all\"\n[bpfrestrict]\nprofile = \"baseline\"\n",
        )
        .unwrap();
        assert_eq!(p.section("kimglock").unwrap().events(), EventsMode::All);
        assert_eq!(p.section("bpfrestrict").unwrap().events(), EventsMode::None);
        assert_eq!(p.section("jail").unwrap().events(), EventsMode::None);
        assert_eq!(p.rate_limit, 0);
    }

    #[test]
    fn profile_aliases() {
        for alias in ["none", "privileged", "allow"] {
            let p = Policy::parse("p", &format!("[bpfrestrict]\nprofile = \"{alias}\"\n")).unwrap();
            assert_eq!(describe(&p, "bpfrestrict"), "allow");
        }
    }

    #[test]
    fn errors_point_at_the_offending_item() {
        let e = Policy::parse("p.toml", "[kimglock]\nprofile = \"baseline\"\nallow = [\"debugfs\", \"nope\"]\n")
            .unwrap_err();
        assert_eq!((e.line, e.col), (3, 21), "{e}");
        assert!(e.message.contains("unknown operation \"nope\""), "{e}");
        let e = Policy::parse("p.toml", "[kimglock]\nprofile = \"baseline\"\n[kimglok]\n").unwrap_err();
        assert_eq!((e.line, e.col), (3, 2), "{e}");
        assert!(e.message.starts_with("unknown field `kimglok`, expected one of `bpflock`, `kimglock`"), "{e}");
    }

    #[test]
    fn every_section_belongs_to_one_owner() {
        let mut seen = vec![GLOBAL];
        for p in ALL {
            for s in std::iter::once(&p.name()).chain(p.other_sections()) {
                assert!(!seen.contains(s), "{s} is read by two owners");
                seen.push(s);
            }
        }
    }

    #[test]
    fn line_col_counts_characters() {
        let c = Checker::new("t", "ab\ncd\n");
        assert_eq!(c.line_col(0), (1, 1));
        assert_eq!(c.line_col(2), (1, 3));
        assert_eq!(c.line_col(3), (2, 1));
        assert_eq!(c.line_col(4), (2, 2));
        assert_eq!(c.line_col(6), (3, 1));
        assert_eq!(Checker::new("t", "é\nx").line_col(3), (2, 1));
        assert_eq!(Checker::new("t", "aé").line_col(3), (1, 3));
    }

    fn list(items: &[&str]) -> FlagValue {
        FlagValue::List(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn overrides_replace_sections() {
        let mut p = Policy::parse("p", DEFAULT_POLICY).unwrap();
        p.apply(&Overrides::from([
            ("kimglock-profile", FlagValue::Value("baseline".into())),
            ("kimglock-allow", list(&["debugfs", "ioport"])),
            ("bpfrestrict-profile", FlagValue::Value("restricted".into())),
            ("kmodlock-ro", FlagValue::On),
        ]))
        .unwrap();
        assert_eq!(describe(&p, "kimglock"), "baseline (allow: ioport, debugfs)");
        assert_eq!(describe(&p, "bpfrestrict"), "restricted");
        assert_eq!(describe(&p, "kmodlock"), "allow; modules only from: ro");
        assert!(p.origin.ends_with("with command-line overrides"));
    }

    #[test]
    fn bad_overrides_name_the_flag() {
        let mut p = Policy::parse("p", DEFAULT_POLICY).unwrap();
        let e = p.apply(&Overrides::from([("kimglock-allow", list(&["debugf"]))])).unwrap_err();
        assert!(e.to_string().starts_with("--kimglock-allow: "), "{e}");
        let e = p
            .apply(&Overrides::from([
                ("bpfrestrict-profile", FlagValue::Value("restricted".into())),
                ("bpfrestrict-block", list(&["map_create"])),
            ]))
            .unwrap_err();
        assert!(e.to_string().contains("only valid with the baseline profile"), "{e}");
        let e = p
            .apply(&Overrides::from([("kimglock-allow", list(&["kcore"])), ("kimglock-block", list(&["kcore"]))]))
            .unwrap_err();
        assert!(e.to_string().contains("both allowed and blocked"), "{e}");
    }
}
