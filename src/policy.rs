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
use crate::vocabulary::{did_you_mean, Checker, Defaults, Document, EventsMode};

use crate::{
    error::{Error, PolicyErrors},
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

/// `[bpflock] protections = "none"`: a policy that loads nothing on purpose.
const NO_PROTECTIONS: &str = "none";

/// The largest policy file read: a policy is text a person writes; 10 000 jail rules fit in
/// a tenth of this. Past it, a device or a runaway generator, not a policy.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    events: Option<Spanned<String>>,
    rate_limit: Option<Spanned<i64>>,
    protections: Option<Spanned<String>>,
    seal: Option<Spanned<bool>>,
}

/// A policy file's bytes: a regular file of at most `MAX_POLICY_BYTES`, judged before a byte
/// is read (a FIFO would block, /dev/zero never ends).
fn read_policy_file(path: &Path) -> Result<Vec<u8>, Error> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let read_error = |source| Error::ReadPolicy { path: path.to_path_buf(), source };
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        None
    };
    if let Some(what) = what {
        let why = format!("is {what}, not a policy file (a regular file)");
        return Err(Error::NotAPolicyFile { path: path.to_path_buf(), why });
    }
    if meta.len() > MAX_POLICY_BYTES {
        return Err(too_large(path));
    }
    read_bounded(file, path)
}

/// At most `MAX_POLICY_BYTES` of `input`, or an error naming the limit.
fn read_bounded(input: impl std::io::Read, path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let mut bytes = Vec::new();
    input
        .take(MAX_POLICY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::ReadPolicy { path: path.to_path_buf(), source })?;
    if bytes.len() as u64 > MAX_POLICY_BYTES {
        return Err(too_large(path));
    }
    Ok(bytes)
}

fn too_large(path: &Path) -> Error {
    let why = format!("is larger than a policy may be ({} MiB)", MAX_POLICY_BYTES >> 20);
    Error::NotAPolicyFile { path: path.to_path_buf(), why }
}

#[derive(Debug)]
pub struct Policy {
    /// Where it came from, for messages: a path or "built-in default".
    pub origin: String,
    /// Events per second per (protection, process); 0: unlimited.
    pub rate_limit: u64,
    /// `[bpflock] seal = true` (or `--seal`): pinned until reboot, for everyone (src/seal.rs).
    pub seal: bool,
    /// Each protection's part, in the order of `protections::ALL`.
    sections: Vec<Box<dyn Section>>,
}

impl Policy {
    /// Parses and validates a policy text. `origin` names it in errors. Every error is
    /// reported: each unknown key, each protection's first error, in the order written.
    pub fn parse(origin: &str, text: &str) -> Result<Self, PolicyErrors> {
        let doc = Document::parse(origin, text).map_err(PolicyErrors)?;
        let mut errors = Vec::new();
        let known: Vec<&str> = std::iter::once(GLOBAL)
            .chain(ALL.iter().flat_map(|p| std::iter::once(p.name()).chain(p.other_sections().iter().copied())))
            .collect();
        for key in doc.keys().filter(|k| !known.contains(&k.get_ref().as_str())) {
            let name = key.get_ref();
            let message = format!(
                "{}: unknown section{}; a policy has: {}",
                name,
                did_you_mean(name, known.iter().copied()),
                known.join(", ")
            );
            errors.push(doc.checker.error(key.span(), message));
        }
        let global = doc.section::<RawGlobal>(GLOBAL).unwrap_or_else(|e| {
            errors.push(e);
            None
        });
        let global = global.unwrap_or_default();
        let events = match &global.events {
            Some(v) => doc.checker.events("bpflock.events", v).unwrap_or_else(|e| {
                errors.push(e);
                EventsMode::Deny
            }),
            None => EventsMode::Deny,
        };
        let rate_limit = match &global.rate_limit {
            Some(v) => u64::try_from(*v.get_ref()).unwrap_or_else(|_| {
                errors.push(doc.checker.error(v.span(), "bpflock.rate_limit: must be 0 (unlimited) or more".into()));
                DEFAULT_RATE_LIMIT
            }),
            None => DEFAULT_RATE_LIMIT,
        };
        if let Some(v) = global.protections.as_ref().filter(|v| v.get_ref() != NO_PROTECTIONS) {
            let message =
                format!("bpflock.protections: unknown value \"{}\" (expected \"{NO_PROTECTIONS}\")", v.get_ref());
            errors.push(doc.checker.error(v.span(), message));
        }
        let defaults = Defaults { events };
        let mut sections = Vec::with_capacity(ALL.len());
        for p in ALL {
            match p.parse(&doc, &defaults) {
                Ok(section) => sections.push(section),
                Err(e) => errors.push(e),
            }
        }
        errors.extend(doc.take_recovered());
        if errors.is_empty() {
            let enabled: Vec<&str> =
                ALL.iter().zip(&sections).filter(|(_, s)| s.wanted()).map(|(p, _)| p.name()).collect();
            match (&global.protections, enabled.is_empty()) {
                // An empty or truncated file must not pass for a decision to protect nothing.
                (None, true) => errors.push(
                    doc.checker.error(
                        0..0,
                        "the policy enables no protection; an empty or truncated policy would leave the host \
                     unprotected. To load nothing on purpose, say so: [bpflock] protections = \"none\""
                            .into(),
                    ),
                ),
                (Some(v), false) => errors.push(doc.checker.error(
                    v.span(),
                    format!("bpflock.protections = \"none\", but the policy enables {}", enabled.join(", ")),
                )),
                _ => {}
            }
        }
        let seal = global.seal.as_ref().is_some_and(|v| *v.get_ref());
        let mut policy = Self { origin: origin.to_string(), rate_limit, seal, sections };
        if let (Some(v), true) = (&global.seal, errors.is_empty()) {
            let gaps = crate::seal::gaps(&policy);
            if policy.seal && !gaps.is_empty() {
                errors.push(doc.checker.error(v.span(), seal_refusal(&gaps)));
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| (e.line, e.col));
            errors.dedup();
            return Err(PolicyErrors(errors));
        }
        policy.origin = origin.to_string();
        Ok(policy)
    }

    /// Reads `path` (`-`: standard input); where it is the default path and does not exist,
    /// the built-in default policy serves (and the caller says so).
    pub fn load(path: Option<&Path>) -> Result<Self, Error> {
        let explicit = path.is_some();
        let path = path.unwrap_or(Path::new(DEFAULT_POLICY_PATH));
        let (origin, bytes) = if path == Path::new("-") {
            ("<stdin>".to_string(), read_bounded(std::io::stdin().lock(), path)?)
        } else {
            match read_policy_file(path) {
                Ok(bytes) => (path.display().to_string(), bytes),
                Err(Error::ReadPolicy { source, .. }) if source.kind() == std::io::ErrorKind::NotFound && !explicit => {
                    log::info!(
                        target: "policy",
                        "{} does not exist: using the built-in default policy (baseline kimglock and bpfrestrict)",
                        path.display()
                    );
                    return Ok(Self::parse("built-in default policy", DEFAULT_POLICY)?);
                }
                Err(e) => return Err(e),
            }
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                // Where the text stops being UTF-8, located as any other error.
                let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid up to there");
                let at = e.valid_up_to();
                let message = format!("not UTF-8 text: byte 0x{:02x} is not a character's start", bytes[at]);
                return Err(Checker::new(&origin, valid).error(at..at, message).into());
            }
        };
        Ok(Self::parse(&origin, text)?)
    }

    /// Applies bpflock's command-line options over the file's policy: each protection its own.
    pub fn apply(&mut self, o: &Overrides) -> Result<(), Error> {
        for (p, section) in ALL.iter().zip(&mut self.sections) {
            p.apply_overrides(section.as_mut(), o)?;
        }
        self.seal |= o.on(crate::seal::FLAG);
        if !o.is_empty() {
            self.origin = format!("{} with command-line overrides", self.origin);
            let gaps = crate::seal::gaps(self);
            if self.seal && !gaps.is_empty() {
                return Err(Error::Override { flag: format!("--{}", crate::seal::FLAG), message: seal_refusal(&gaps) });
            }
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

/// Why a policy cannot be sealed: the doors it leaves open.
fn seal_refusal(gaps: &[String]) -> String {
    format!(
        "bpflock.seal: a sealed policy must close every way to change the running kernel, or \
         the seal could be undone from inside it; this one leaves open: {}",
        gaps.join("; ")
    )
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
    fn every_lock_has_a_complain_mode() {
        for lock in ["kimglock", "kmodlock", "filelesslock", "bpfrestrict"] {
            let p = Policy::parse("p", &format!("[{lock}]\nprofile = \"baseline\"\nmode = \"complain\"\n")).unwrap();
            assert_eq!(describe(&p, lock), "baseline (complain mode: nothing refused)");
            let e = Policy::parse("p", &format!("[{lock}]\nprofile = \"baseline\"\nmode = \"complian\"\n"))
                .unwrap_err()
                .first()
                .clone();
            assert_eq!((e.line, e.col), (3, 8), "{e}");
            assert!(e.message.contains(&format!("{lock}.mode: unknown mode \"complian\" (did you mean `complain`?)")));
        }
        let mut p = Policy::parse("p", DEFAULT_POLICY).unwrap();
        p.apply(&Overrides::from([("bpfrestrict-mode", FlagValue::Value("complain".into()))])).unwrap();
        assert_eq!(describe(&p, "bpfrestrict"), "baseline (complain mode: nothing refused)");
        // Every lock's flag, filelesslock's included (it has no lists, and had its own override).
        for lock in ["kimglock", "kmodlock", "filelesslock", "bpfrestrict"] {
            let mut p = Policy::parse("p", DEFAULT_POLICY).unwrap();
            let flags = [
                (format!("{lock}-profile"), FlagValue::Value("restricted".into())),
                (format!("{lock}-mode"), FlagValue::Value("complain".into())),
            ];
            let mut o = Overrides::default();
            for (name, value) in flags {
                o.set(&name, value);
            }
            p.apply(&o).unwrap();
            assert_eq!(describe(&p, lock), "restricted (complain mode: nothing refused)", "{lock}");
        }
        // A profile on the command line keeps the file's mode: a rollout stays a rollout.
        let mut p = Policy::parse("p", "[kmodlock]\nprofile = \"baseline\"\nmode = \"complain\"\n").unwrap();
        p.apply(&Overrides::from([("kmodlock-profile", FlagValue::Value("restricted".into()))])).unwrap();
        assert_eq!(describe(&p, "kmodlock"), "restricted (complain mode: nothing refused)");
    }

    #[test]
    fn profile_aliases() {
        for alias in ["none", "privileged", "allow"] {
            let p = Policy::parse(
                "p",
                &format!("[bpflock]\nprotections = \"none\"\n[bpfrestrict]\nprofile = \"{alias}\"\n"),
            )
            .unwrap();
            assert_eq!(describe(&p, "bpfrestrict"), "allow");
        }
    }

    #[test]
    fn errors_point_at_the_offending_item() {
        let e = Policy::parse("p.toml", "[kimglock]\nprofile = \"baseline\"\nallow = [\"debugfs\", \"nope\"]\n")
            .unwrap_err()
            .first()
            .clone();
        assert_eq!((e.line, e.col), (3, 21), "{e}");
        assert!(e.message.contains("unknown operation \"nope\""), "{e}");
        let e = Policy::parse("p.toml", "[kimglock]\nprofile = \"baseline\"\n[kimglok]\n").unwrap_err().first().clone();
        assert_eq!((e.line, e.col), (3, 2), "{e}");
        assert!(
            e.message
                .starts_with("kimglok: unknown section (did you mean `kimglock`?); a policy has: bpflock, kimglock"),
            "{e}"
        );
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
