//! kmodlock: kernel module loading per pid namespace, per operation and by origin
//! (bpf/kmodlock.bpf.c). Laid out as kimglock.rs.

use std::{mem::MaybeUninit, path::Path};

use libbpf_rs::skel::{OpenSkel as _, Skel as _};
use serde::Deserialize;
use toml::Spanned;

use crate::{
    error::{PolicyError, Result},
    events,
    lock::{self, LockKeys},
    lock_flag,
    overrides::{override_lock, Flag, FlagKind, Overrides},
    protection::{self, Protection, ProtectionStatus, Section, SetupContext},
    section_any, skel as skeleton,
    vocabulary::{Defaults, Document, EventsMode, LockPolicy, Operation, RawList},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/kmodlock.skel.rs"));
}
use skel::{types, KmodlockSkelBuilder};

const NAME: &str = "kmodlock";

pub struct Kmodlock;

/// `block` names (bpf/kmodlock.h), bpflock (C/Go)'s, matched whole (bpflock matched
/// `load_module` inside `autoload_module`).
const OPERATIONS: &[Operation] = &[
    Operation { name: "load_module", bit: 0, about: "finit_module and init_module" },
    Operation { name: "autoload_module", bit: 1, about: "the kernel loading a module on demand (request_module)" },
    Operation { name: "unsigned_module", bit: 2, about: "loading a module without a valid signature" },
    Operation { name: "unsafe_module_parameters", bit: 3, about: "module parameters that set hardware addresses" },
];

/// The origin checks (LoadPin-style): where modules and firmware may come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ModuleOrigin {
    /// Only from the root filesystem.
    rootfs: bool,
    /// Only from a filesystem mounted read-only.
    ro: bool,
    /// Only from a filesystem on a read-only block device.
    ro_dev: bool,
}

impl ModuleOrigin {
    fn any(&self) -> bool {
        self.rootfs || self.ro || self.ro_dev
    }

    fn names(&self) -> Vec<&'static str> {
        [("rootfs", self.rootfs), ("ro", self.ro), ("ro_dev", self.ro_dev)]
            .into_iter()
            .filter_map(|(n, on)| on.then_some(n))
            .collect()
    }
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
    mode: Option<Spanned<String>>,
}

/// kmodlock's part of the policy.
#[derive(Debug)]
struct KmodlockPolicy {
    lock: LockPolicy,
    origin: ModuleOrigin,
}

impl Section for KmodlockPolicy {
    /// Origin checks alone load it too, whatever the profile.
    fn wanted(&self) -> bool {
        self.lock.enabled() || self.origin.any()
    }
    fn describe(&self) -> String {
        let mut line = self.lock.describe(OPERATIONS);
        if self.origin.any() {
            line.push_str(&format!("; modules only from: {}", self.origin.names().join(", ")));
        }
        line
    }
    fn events(&self) -> EventsMode {
        self.lock.events
    }
    section_any!();
}

const FLAGS: &[Flag] = &[
    lock_flag!(profile, "kmodlock", "kmodlock profile: allow (= none = privileged), baseline or restricted"),
    lock_flag!(mode, "kmodlock"),
    lock_flag!(
        block,
        "kmodlock",
        "baseline only: module operations denied to every process: load_module, autoload_module, unsigned_module, unsafe_module_parameters"
    ),
    Flag { name: "kmodlock-rootfs", kind: FlagKind::Switch, help: "Modules and firmware only from the root filesystem" },
    Flag {
        name: "kmodlock-ro",
        kind: FlagKind::Switch,
        help: "Modules and firmware only from a filesystem mounted read-only",
    },
    Flag {
        name: "kmodlock-ro-dev",
        kind: FlagKind::Switch,
        help: "Modules and firmware only from a filesystem on a read-only block device",
    },
];

impl Protection for Kmodlock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn operations(&self) -> &'static [Operation] {
        OPERATIONS
    }

    /// Event operations (bpf/kmodlock.h): the list's, and firmware (refused by origin).
    fn operation_name(&self, op: u32) -> std::borrow::Cow<'static, str> {
        match crate::abi::name_of(crate::abi::KMODLOCK_OP, op) {
            Some(name) => name.into(),
            None => op.to_string().into(),
        }
    }

    /// A sealed system: no module root could build; Debian's signed ones at most.
    fn seal_gap(&self, section: &dyn Section) -> Option<String> {
        let lock = &protection::section::<KmodlockPolicy>(section).lock;
        lock.seal_gap(OPERATIONS, &[&["load_module", "unsigned_module"]], "loading unsigned kernel modules")
    }

    fn flags(&self) -> &'static [Flag] {
        FLAGS
    }

    fn parse(&self, doc: &Document<'_>, defaults: &Defaults) -> Result<Box<dyn Section>, PolicyError> {
        let Some(raw) = doc.section::<RawKmodlock>(NAME)? else {
            return Ok(Box::new(KmodlockPolicy {
                lock: LockPolicy { events: defaults.events, ..LockPolicy::ALLOW },
                origin: ModuleOrigin::default(),
            }));
        };
        Ok(Box::new(KmodlockPolicy {
            lock: LockKeys {
                profile: &raw.profile,
                allow: None,
                block: raw.block.as_ref(),
                events: raw.events.as_ref(),
                mode: raw.mode.as_ref(),
            }
            .policy(doc, defaults, NAME, OPERATIONS)?,
            origin: ModuleOrigin { rootfs: raw.rootfs, ro: raw.ro, ro_dev: raw.ro_dev },
        }))
    }

    fn apply_overrides(&self, section: &mut dyn Section, o: &Overrides) -> Result<()> {
        let policy = protection::section_mut::<KmodlockPolicy>(section);
        override_lock(&mut policy.lock, NAME, OPERATIONS, o)?;
        policy.origin.rootfs |= o.on("kmodlock-rootfs");
        policy.origin.ro |= o.on("kmodlock-ro");
        policy.origin.ro_dev |= o.on("kmodlock-ro-dev");
        Ok(())
    }

    fn missing_hooks(&self) -> Result<Option<String>> {
        skeleton::missing_hooks(NAME, KmodlockSkelBuilder::default(), &mut MaybeUninit::uninit(), &[])
    }

    fn setup(&self, section: &dyn Section, ctx: &SetupContext<'_>) -> Result<()> {
        let KmodlockPolicy { lock: policy, origin } = protection::section(section);
        let mut object = MaybeUninit::uninit();
        let mut open = skeleton::open(NAME, KmodlockSkelBuilder::default(), &mut object)?;
        let config = open.maps.rodata_data.as_deref_mut().expect("kmodlock has .rodata");
        config.kmodlock_profile = policy.profile as u32;
        config.kmodlock_block_mask = policy.block.0;
        config.kmodlock_rootfs = origin.rootfs.into();
        // The superblock's device: on btrfs stat("/") gives the subvolume's, no superblock's.
        config.kmodlock_root_dev = crate::kernel::root_mount()?.sb_dev;
        config.kmodlock_ro = origin.ro.into();
        config.kmodlock_ro_dev = origin.ro_dev.into();
        config.bpflock_complain = policy.complain;
        events::configure_events!(ctx.shared, open, config, policy.events)?;
        skeleton::carries_pins_guard(NAME, ctx.shared, policy.enforces(), open.open_object_mut());
        let mut skel = skeleton::load(NAME, open, &[])?;
        events::pin_events!(ctx.shared, skel)?;
        skeleton::pin_map(&mut skel.maps.rodata, ctx.dir, "config")?;
        skeleton::attach_all(NAME, skel.object(), ctx.dir)
    }

    fn status(&self, dir: &Path, st: &mut ProtectionStatus) {
        let c: types::rodata = match skeleton::read_config(dir) {
            Ok(c) => c,
            Err(e) => return st.unreadable.push(format!("policy: {e}")),
        };
        lock::status(
            st,
            OPERATIONS,
            c.kmodlock_profile,
            0,
            c.kmodlock_block_mask,
            c.bpflock_events_mode,
            c.bpflock_complain,
        );
        let origin =
            ModuleOrigin { rootfs: c.kmodlock_rootfs != 0, ro: c.kmodlock_ro != 0, ro_dev: c.kmodlock_ro_dev != 0 };
        if origin.any() {
            st.policy_notes.push(format!("only from: {}", origin.names().join(", ")));
        }
        st.details.insert("origin".into(), origin.names().into());
    }
}
