//! filelesslock: no code from files that have no name (bpf/filelesslock.bpf.c).
//!
//! Lifecycle as kimglock.rs. Unlike the other locks, profile `allow` loads it too: it then
//! reports every fileless execution and denies none.

use std::{mem::MaybeUninit, path::Path};

use crate::{
    error::{NotSupported, Result},
    events::{self, Shared},
    pins,
    policy::{EventsMode, LockPolicy, OpSet, Profile},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/filelesslock.skel.rs"));
}
use skel::{types, FilelesslockSkelBuilder};

pub const NAME: &str = "filelesslock";

/// Event operations (bpf/filelesslock.h).
pub const OPERATION_NAMES: [&str; 5] = ["exec", "mmap_exec", "mprotect_exec", "kernel_read", "kernel_load"];

/// Mounts are read with bpf_probe_read_kernel or a read-only cast (bpf/vfs.bpf.h).
fn lockdown_unsupported() -> Option<String> {
    crate::kernel::kernel_reads_unsupported("mounts")
}

/// What this kernel lacks of the hooks of filelesslock's programs, if anything (`probe`).
pub fn missing_hooks() -> Result<Option<String>> {
    if let Some(why) = lockdown_unsupported() {
        return Ok(Some(why));
    }
    pins::missing_hooks(NAME, FilelesslockSkelBuilder::default(), &mut MaybeUninit::uninit(), &[])
}

pub fn setup(policy: &LockPolicy, dir: &Path, shared: &Shared) -> Result<()> {
    if let Some(why) = lockdown_unsupported() {
        return Err(NotSupported { what: NAME.into(), why }.into());
    }
    let mut object = MaybeUninit::uninit();
    let mut open = pins::open(NAME, FilelesslockSkelBuilder::default(), &mut object)?;
    let config = open.maps.rodata_data.as_deref_mut().expect("filelesslock has .rodata");
    config.filelesslock_profile = policy.profile as u32;
    // Under allow, reporting is all it does: fileless executions are reported as allowed.
    let events = match (policy.profile, policy.events) {
        (Profile::Allow, EventsMode::Deny) => EventsMode::All,
        (_, events) => events,
    };
    events::configure_events!(shared, open, config, events)?;
    let p = &mut open.progs;
    let guard = pins::carries_pins_guard(
        shared,
        policy.profile != Profile::Allow,
        [
            &mut p.filelesslock_pins_unlink,
            &mut p.filelesslock_pins_rmdir,
            &mut p.filelesslock_pins_rename,
            &mut p.filelesslock_pins_umount,
        ],
    );
    let mut skel = pins::load(NAME, open, &[])?;
    events::pin_events!(shared, skel)?;
    pins::pin_map(&mut skel.maps.rodata, dir, "config")?;
    pins::attach_and_pin(NAME, &skel.progs.filelesslock_bprm_check, dir, "bprm_check_security")?;
    pins::attach_and_pin(NAME, &skel.progs.filelesslock_mmap_file, dir, "mmap_file")?;
    pins::attach_and_pin(NAME, &skel.progs.filelesslock_file_mprotect, dir, "file_mprotect")?;
    pins::attach_and_pin(NAME, &skel.progs.filelesslock_kernel_read_file, dir, "kernel_read_file")?;
    pins::attach_and_pin(NAME, &skel.progs.filelesslock_kernel_load_data, dir, "kernel_load_data")?;
    let p = &skel.progs;
    pins::attach_pins_guard(
        NAME,
        guard,
        [
            &p.filelesslock_pins_unlink,
            &p.filelesslock_pins_rmdir,
            &p.filelesslock_pins_rename,
            &p.filelesslock_pins_umount,
        ],
        dir,
    )?;
    Ok(())
}

pub fn pinned_policy(dir: &Path) -> Result<LockPolicy> {
    let c: types::rodata = pins::read_config(dir)?;
    Ok(LockPolicy {
        profile: Profile::from_raw(c.filelesslock_profile).unwrap_or(Profile::Restricted),
        allow: OpSet(0),
        block: OpSet(0),
        events: EventsMode::from_raw(c.bpflock_events_mode),
        present: true,
    })
}
