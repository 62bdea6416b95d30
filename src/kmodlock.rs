//! kmodlock: kernel module loading per pid namespace, per operation and by origin
//! (bpf/kmodlock.bpf.c). Lifecycle as kimglock.rs.

use std::{mem::MaybeUninit, path::Path};

use crate::{
    error::Result,
    events::{self, Shared},
    pins,
    policy::{EventsMode, LockPolicy, ModuleOrigin, OpSet, Operation, Profile},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/kmodlock.skel.rs"));
}
use skel::{types, KmodlockSkelBuilder};

pub const NAME: &str = "kmodlock";

/// `block` names (bpf/kmodlock.h), bpflock (C/Go)'s, matched whole (bpflock matched
/// `load_module` inside `autoload_module`).
pub const OPERATIONS: &[Operation] = &[
    Operation { name: "load_module", bit: 0, about: "finit_module and init_module" },
    Operation { name: "autoload_module", bit: 1, about: "the kernel loading a module on demand (request_module)" },
    Operation { name: "unsigned_module", bit: 2, about: "loading a module without a valid signature" },
    Operation { name: "unsafe_module_parameters", bit: 3, about: "module parameters that set hardware addresses" },
];

/// Event operation names (bpf/kmodlock.h), firmware included.
pub fn operation_name(op: u32) -> std::borrow::Cow<'static, str> {
    match op {
        4 => "firmware".into(),
        op => OPERATIONS.iter().find(|o| o.bit == op).map_or_else(|| op.to_string().into(), |o| o.name.into()),
    }
}

/// What this kernel lacks of the hooks of kmodlock's programs, if anything (`probe`).
pub fn missing_hooks() -> Result<Option<String>> {
    pins::missing_hooks(NAME, KmodlockSkelBuilder::default(), &mut MaybeUninit::uninit(), &[])
}

pub fn setup(policy: &LockPolicy, origin: &ModuleOrigin, dir: &Path, shared: &Shared) -> Result<()> {
    let mut object = MaybeUninit::uninit();
    let mut open = pins::open(NAME, KmodlockSkelBuilder::default(), &mut object)?;
    let config = open.maps.rodata_data.as_deref_mut().expect("kmodlock has .rodata");
    config.kmodlock_profile = policy.profile as u32;
    config.kmodlock_block_mask = policy.block.0;
    config.kmodlock_rootfs = origin.rootfs.into();
    config.kmodlock_root_dev = crate::kernel::file_identity("/")?.0;
    config.kmodlock_ro = origin.ro.into();
    config.kmodlock_ro_dev = origin.ro_dev.into();
    events::configure_events!(shared, open, config, policy.events)?;
    let p = &mut open.progs;
    let guard = pins::carries_pins_guard(
        shared,
        policy.profile != Profile::Allow,
        [
            &mut p.kmodlock_pins_unlink,
            &mut p.kmodlock_pins_rmdir,
            &mut p.kmodlock_pins_rename,
            &mut p.kmodlock_pins_umount,
        ],
    );
    let mut skel = pins::load(NAME, open, &[])?;
    events::pin_events!(shared, skel)?;
    pins::pin_map(&mut skel.maps.rodata, dir, "config")?;
    pins::attach_and_pin(NAME, &skel.progs.kmodlock_module_request, dir, "kernel_module_request")?;
    pins::attach_and_pin(NAME, &skel.progs.kmodlock_read_file, dir, "kernel_read_file")?;
    pins::attach_and_pin(NAME, &skel.progs.kmodlock_load_data, dir, "kernel_load_data")?;
    pins::attach_and_pin(NAME, &skel.progs.kmodlock_locked_down, dir, "locked_down")?;
    let p = &skel.progs;
    pins::attach_pins_guard(
        NAME,
        guard,
        [&p.kmodlock_pins_unlink, &p.kmodlock_pins_rmdir, &p.kmodlock_pins_rename, &p.kmodlock_pins_umount],
        dir,
    )?;
    Ok(())
}

pub fn pinned_policy(dir: &Path) -> Result<(LockPolicy, ModuleOrigin)> {
    let c: types::rodata = pins::read_config(dir)?;
    Ok((
        LockPolicy {
            profile: Profile::from_raw(c.kmodlock_profile).unwrap_or(Profile::Restricted),
            allow: OpSet(0),
            block: OpSet(c.kmodlock_block_mask),
            events: EventsMode::from_raw(c.bpflock_events_mode),
            present: true,
        },
        ModuleOrigin { rootfs: c.kmodlock_rootfs != 0, ro: c.kmodlock_ro != 0, ro_dev: c.kmodlock_ro_dev != 0 },
    ))
}
