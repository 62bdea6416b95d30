//! What a protection is to the rest of bpflock. The shared code (policy, bootstrap, status,
//! events, the command line) works through this trait and never names a protection;
//! `protections::ALL` is the one list of them.

use std::{any::Any, borrow::Cow, fmt::Debug, path::Path};

use serde::Serialize;

use crate::{
    abi,
    error::{NotSupported, PolicyError, Result},
    events::Shared,
    kernel::KernelBtf,
    overrides::{Flag, Overrides},
    vocabulary::{Defaults, Document, EventsMode, Operation},
};

pub trait Protection: Sync {
    /// Its name: its policy section, its pin directory, its log target, its events' name.
    fn name(&self) -> &'static str;

    /// Its number in events and counters (bpf/events.h enum bpflock_protection).
    fn id(&self) -> u32 {
        abi::value_of(abi::BPFLOCK_PROTECTION, self.name()).expect("every protection has a PROT_ in bpf/events.h")
    }

    /// The top-level policy tables it reads besides its own `[<name>]` (the jail's `roles`,
    /// `enroll`).
    fn other_sections(&self) -> &'static [&'static str] {
        &[]
    }

    /// The operations its `allow` and `block` lists accept.
    fn operations(&self) -> &'static [Operation] {
        &[]
    }

    /// The name of an event's operation, as the policy and the docs call it.
    fn operation_name(&self, op: u32) -> Cow<'static, str> {
        match self.operations().iter().find(|o| o.bit == op) {
            Some(o) => o.name.into(),
            None => op.to_string().into(),
        }
    }

    /// The role an event's operation field names, where the protection has roles (the jail:
    /// the high 16 bits), so that the forwarder can name it.
    fn event_role(&self, _operation: u32) -> Option<u32> {
        None
    }

    /// Role names by id, from the protection's pins in `dir`.
    fn pinned_role_names(&self, _dir: &Path) -> std::collections::BTreeMap<u32, String> {
        Default::default()
    }

    /// More for `bpflock operations` to say: what its events report, where its lists do not.
    fn about_operations(&self) -> Option<String> {
        None
    }

    /// Its command-line flags (bpflock (C/Go)'s names), applied by `apply_overrides`.
    fn flags(&self) -> &'static [Flag] {
        &[]
    }

    /// Its part of the policy, validated, from its sections (defaults where there are none).
    fn parse(&self, doc: &Document<'_>, defaults: &Defaults) -> Result<Box<dyn Section>, PolicyError>;

    /// Applies its command-line flags over its part of the policy.
    fn apply_overrides(&self, _section: &mut dyn Section, _overrides: &Overrides) -> Result<()> {
        Ok(())
    }

    /// What this kernel lacks to enforce it, if anything (`probe`).
    fn missing_hooks(&self) -> Result<Option<String>>;

    /// What else `probe` says of this kernel for this policy: lines to print, and what the
    /// policy asks that the kernel cannot do.
    fn probe(&self, _section: &dyn Section, _btf: &KernelBtf) -> (Vec<String>, Option<NotSupported>) {
        (vec![], None)
    }

    /// Loads, configures, attaches and pins it into `ctx.dir`.
    fn setup(&self, section: &dyn Section, ctx: &SetupContext<'_>) -> Result<()>;

    /// Whether its pins, once in force, forbid bpf() to bpflock itself (a later bootstrap's
    /// refusal is then explained by it).
    fn restricts_bpf(&self) -> bool {
        false
    }

    /// For a sealed policy (`[bpflock] seal = true`, src/seal.rs): the door into the kernel
    /// this protection must close and that `section` leaves open, if the seal depends on it.
    /// None: nothing asked of it, or nothing left open.
    fn seal_gap(&self, _section: &dyn Section) -> Option<String> {
        None
    }

    /// Once bootstrap's pins are in force (the staging directory committed): what the
    /// protection does to the system with them, judged by them (usblock: locks the USB root
    /// hubs, authorizes the attached devices its rules allow). `dir` is its live pin
    /// directory. Not before the commit: writes are then judged by the old pins, and a
    /// failed bootstrap must change nothing.
    fn after_commit(&self, _section: &dyn Section, _dir: &Path) -> Result<()> {
        Ok(())
    }

    /// Its map pins (relative to its directory) that bpflock writes after bootstrap: once
    /// sealed, writable by the bpflock executable alone, and not frozen.
    fn maps_written_after_bootstrap(&self) -> &'static [&'static str] {
        &[]
    }

    /// What its pins in `dir` say: the policy and what the kernel holds.
    fn status(&self, dir: &Path, st: &mut ProtectionStatus);
}

/// One protection's part of the policy.
pub trait Section: Any + Debug {
    /// Whether bootstrap loads it.
    fn wanted(&self) -> bool;
    /// One line for `check` and bootstrap's log: "baseline (allow: debugfs)".
    fn describe(&self) -> String;
    /// What it reports.
    fn events(&self) -> EventsMode;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// A protection's own type of section, from the `dyn Section` the shared code holds.
pub fn section<T: Section>(s: &dyn Section) -> &T {
    s.as_any().downcast_ref().expect("a protection is given the section it parsed")
}

pub fn section_mut<T: Section>(s: &mut dyn Section) -> &mut T {
    s.as_any_mut().downcast_mut().expect("a protection is given the section it parsed")
}

/// Implements `as_any` and `as_any_mut` of `Section`.
#[macro_export]
macro_rules! section_any {
    () => {
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
            self
        }
    };
}

/// What a protection's setup works with.
pub struct SetupContext<'a> {
    /// The staging directory to pin into.
    pub dir: &'a Path,
    /// Where the pins this replaces live, if any (the jail carries its tasks over).
    pub live: &'a Path,
    pub shared: &'a Shared,
    pub btf: &'a KernelBtf,
    /// What of the policy this host could not apply (a file it names is gone), the rest
    /// being applied: bootstrap pins it all, then fails loudly with these.
    pub skipped: &'a std::cell::RefCell<Vec<String>>,
}

/// `bpflock status` of one protection. The common fields are filled by status.rs; a
/// protection fills the policy and adds its own (`details`, shown in JSON at the top level).
#[derive(Serialize)]
pub struct ProtectionStatus {
    pub name: String,
    pub pin_dir: String,
    pub profile: Option<String>,
    /// What it reports: deny, all or none.
    pub events: Option<&'static str>,
    pub allow: Vec<&'static str>,
    pub block: Vec<&'static str>,
    pub links: Vec<LinkStatus>,
    pub pins: Vec<String>,
    /// What could not be read, and why.
    pub unreadable: Vec<String>,
    /// Where what the kernel objects hold differs from the pinned policy (tampering).
    pub differs: Vec<String>,
    /// The protection's own fields (kmodlock's `origin`, the jail's `roles`...).
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
    /// For the human output: more of the policy line ("only from: rootfs").
    #[serde(skip)]
    pub policy_notes: Vec<String>,
    /// For the human output: lines under the protection's.
    #[serde(skip)]
    pub lines: Vec<String>,
    /// For the human output: a summary of the policy where there is no profile ("roles: web").
    #[serde(skip)]
    pub summary: Option<String>,
}

#[derive(Serialize)]
pub struct LinkStatus {
    pub hook: String,
    pub prog_id: Option<u32>,
    /// Instructions the verifier processed to accept the program (its load-time cost).
    pub verified_insns: Option<u32>,
}
