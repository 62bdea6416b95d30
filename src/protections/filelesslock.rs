//! filelesslock: no code from files that have no name (bpf/filelesslock.bpf.c).
//!
//! Laid out as kimglock.rs. Unlike the other locks, profile `allow` loads it too: it then
//! reports every fileless execution and denies none.

use std::{mem::MaybeUninit, path::Path};

use libbpf_rs::skel::{OpenSkel as _, Skel as _};
use serde::Deserialize;
use toml::Spanned;

use crate::{
    abi,
    error::{NotSupported, PolicyError, Result},
    events,
    lock::{self, LockKeys, LockSection},
    lock_flag,
    overrides::{override_lock, Flag, Overrides},
    protection::{self, Protection, ProtectionStatus, Section, SetupContext},
    skel as skeleton,
    vocabulary::{Defaults, Document, EventsMode, Profile},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/filelesslock.skel.rs"));
}
use skel::{types, FilelesslockSkelBuilder};

const NAME: &str = "filelesslock";

pub struct Filelesslock;

/// A protection with a profile and nothing to list.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilelesslock {
    profile: Spanned<String>,
    events: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

const FLAGS: &[Flag] = &[
    lock_flag!(profile, "filelesslock", "filelesslock profile: allow (report only), baseline or restricted"),
    lock_flag!(mode, "filelesslock"),
];

/// Mounts are read with bpf_probe_read_kernel or a read-only cast (bpf/vfs.bpf.h).
fn lockdown_unsupported() -> Option<String> {
    crate::kernel::kernel_reads_unsupported("mounts")
}

impl Protection for Filelesslock {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Event operations: bpf/filelesslock.h enum filelesslock_op.
    fn operation_name(&self, op: u32) -> std::borrow::Cow<'static, str> {
        match abi::name_of(abi::FILELESSLOCK_OP, op) {
            Some(name) => name.into(),
            None => op.to_string().into(),
        }
    }

    fn about_operations(&self) -> Option<String> {
        let names: Vec<&str> = abi::FILELESSLOCK_OP.iter().map(|(n, _)| *n).collect();
        Some(format!("no lists, a profile; its events report: {}", names.join(", ")))
    }

    fn flags(&self) -> &'static [Flag] {
        FLAGS
    }

    fn parse(&self, doc: &Document<'_>, defaults: &Defaults) -> Result<Box<dyn Section>, PolicyError> {
        // allow still loads it (it reports); a policy without the section does not.
        let Some(r) = doc.section::<RawFilelesslock>(NAME)? else {
            return Ok(Box::new(LockSection::absent(&[], true, defaults)));
        };
        let keys = LockKeys {
            profile: &r.profile,
            allow: None,
            block: None,
            events: r.events.as_ref(),
            mode: r.mode.as_ref(),
        };
        Ok(Box::new(LockSection::parse(doc, defaults, NAME, &[], true, keys)?))
    }

    fn apply_overrides(&self, section: &mut dyn Section, o: &Overrides) -> Result<()> {
        // As every lock's (no lists here): --filelesslock-profile and --filelesslock-mode.
        override_lock(&mut protection::section_mut::<LockSection>(section).lock, NAME, &[], o)
    }

    fn missing_hooks(&self) -> Result<Option<String>> {
        if let Some(why) = lockdown_unsupported() {
            return Ok(Some(why));
        }
        skeleton::missing_hooks(NAME, FilelesslockSkelBuilder::default(), &mut MaybeUninit::uninit(), &[])
    }

    fn setup(&self, section: &dyn Section, ctx: &SetupContext<'_>) -> Result<()> {
        let policy = &protection::section::<LockSection>(section).lock;
        if let Some(why) = lockdown_unsupported() {
            return Err(NotSupported { what: NAME.into(), why }.into());
        }
        let mut object = MaybeUninit::uninit();
        let mut open = skeleton::open(NAME, FilelesslockSkelBuilder::default(), &mut object)?;
        let config = open.maps.rodata_data.as_deref_mut().expect("filelesslock has .rodata");
        config.filelesslock_profile = policy.profile as u32;
        config.bpflock_complain = policy.complain;
        // Under allow, reporting is all it does: fileless executions are reported as allowed.
        let events = match (policy.profile, policy.events) {
            (Profile::Allow, EventsMode::Deny) => EventsMode::All,
            (_, events) => events,
        };
        events::configure_events!(ctx.shared, open, config, events)?;
        skeleton::carries_pins_guard(NAME, ctx.shared, policy.enforces(), open.open_object_mut());
        let mut skel = skeleton::load(NAME, open, &[])?;
        events::pin_events!(ctx.shared, skel)?;
        skeleton::pin_map(&mut skel.maps.rodata, ctx.dir, "config")?;
        skeleton::attach_all(NAME, skel.object(), ctx.dir)
    }

    fn status(&self, dir: &Path, st: &mut ProtectionStatus) {
        match skeleton::read_config::<types::rodata>(dir) {
            Ok(c) => lock::status(st, &[], c.filelesslock_profile, 0, 0, c.bpflock_events_mode, c.bpflock_complain),
            Err(e) => st.unreadable.push(format!("policy: {e}")),
        }
    }
}
