//! bpfrestrict: the bpf() syscall per pid namespace and per command (bpf/bpfrestrict.bpf.c).
//!
//! Lifecycle as kimglock.rs. bpfrestrict is set up last: once attached under `restricted`,
//! no process, bpflock included, can load another program.

use std::{
    mem::MaybeUninit,
    os::fd::{AsFd, AsRawFd},
    path::Path,
};

use libbpf_rs::MapCore;

use crate::{
    error::{Error, Result},
    events::{self, Shared},
    pins,
    policy::{EventsMode, LockPolicy, OpSet, Operation, Profile},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/bpfrestrict.skel.rs"));
}
use skel::{types, BpfrestrictSkelBuilder};

pub const NAME: &str = "bpfrestrict";

/// Policy names and bits (bpf/bpfrestrict.h), as bpflock (C/Go) named them.
pub const OPERATIONS: &[Operation] = &[
    Operation { name: "bpf_write", bit: 0, about: "programs using bpf_probe_write_user()" },
    Operation { name: "btf_load", bit: 1, about: "bpf(BPF_BTF_LOAD)" },
    Operation { name: "map_create", bit: 2, about: "bpf(BPF_MAP_CREATE)" },
    Operation { name: "prog_load", bit: 3, about: "bpf(BPF_PROG_LOAD)" },
];

/// The name of a bpfrestrict event's operation: a bpf() command, or bpf_write.
pub fn command_name(op: u32) -> std::borrow::Cow<'static, str> {
    // include/uapi/linux/bpf.h, enum bpf_cmd: stable ABI numbers.
    const COMMANDS: &[&str] = &[
        "BPF_MAP_CREATE",
        "BPF_MAP_LOOKUP_ELEM",
        "BPF_MAP_UPDATE_ELEM",
        "BPF_MAP_DELETE_ELEM",
        "BPF_MAP_GET_NEXT_KEY",
        "BPF_PROG_LOAD",
        "BPF_OBJ_PIN",
        "BPF_OBJ_GET",
        "BPF_PROG_ATTACH",
        "BPF_PROG_DETACH",
        "BPF_PROG_TEST_RUN",
        "BPF_PROG_GET_NEXT_ID",
        "BPF_MAP_GET_NEXT_ID",
        "BPF_PROG_GET_FD_BY_ID",
        "BPF_MAP_GET_FD_BY_ID",
        "BPF_OBJ_GET_INFO_BY_FD",
        "BPF_PROG_QUERY",
        "BPF_RAW_TRACEPOINT_OPEN",
        "BPF_BTF_LOAD",
        "BPF_BTF_GET_FD_BY_ID",
        "BPF_TASK_FD_QUERY",
        "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
        "BPF_MAP_FREEZE",
        "BPF_BTF_GET_NEXT_ID",
        "BPF_MAP_LOOKUP_BATCH",
        "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
        "BPF_MAP_UPDATE_BATCH",
        "BPF_MAP_DELETE_BATCH",
        "BPF_LINK_CREATE",
        "BPF_LINK_UPDATE",
        "BPF_LINK_GET_FD_BY_ID",
        "BPF_LINK_GET_NEXT_ID",
        "BPF_ENABLE_STATS",
        "BPF_ITER_CREATE",
        "BPF_LINK_DETACH",
        "BPF_PROG_BIND_MAP",
        "BPF_TOKEN_CREATE",
    ];
    if op == BPF_WRITE_OPERATION {
        return "bpf_write".into();
    }
    COMMANDS.get(op as usize).map_or_else(|| format!("bpf_cmd_{op}").into(), |c| (*c).into())
}

/// bpf/bpfrestrict.h BPFR_OP_BPF_WRITE.
const BPF_WRITE_OPERATION: u32 = 0x10000;

/// What this kernel lacks of the hooks of bpfrestrict's programs, if anything (`probe`).
pub fn missing_hooks() -> Result<Option<String>> {
    pins::missing_hooks(NAME, BpfrestrictSkelBuilder::default(), &mut MaybeUninit::uninit(), &[])
}

/// Loads, configures, attaches and pins bpfrestrict into `dir`.
pub fn setup(policy: &LockPolicy, dir: &Path, shared: &Shared) -> Result<()> {
    let (forwarder_dev, forwarder_ino) = crate::kernel::bpflock_exe_identity()?;
    let mut object = MaybeUninit::uninit();
    let mut open = pins::open(NAME, BpfrestrictSkelBuilder::default(), &mut object)?;
    let config = open.maps.rodata_data.as_deref_mut().expect("bpfrestrict has .rodata");
    config.bpfrestrict_profile = policy.profile as u32;
    config.bpfrestrict_block_mask = policy.block.0;
    config.bpflock_exe_dev = forwarder_dev;
    config.bpflock_exe_ino = forwarder_ino;
    events::configure_events!(shared, open, config, policy.events)?;
    let p = &mut open.progs;
    let guard = pins::carries_pins_guard(
        shared,
        policy.profile != Profile::Allow,
        [
            &mut p.bpfrestrict_pins_unlink,
            &mut p.bpfrestrict_pins_rmdir,
            &mut p.bpfrestrict_pins_rename,
            &mut p.bpfrestrict_pins_umount,
        ],
    );
    let mut skel = pins::load(NAME, open, &[])?;
    events::pin_events!(shared, skel)?;
    pins::pin_map(&mut skel.maps.rodata, dir, "config")?;
    pins::attach_and_pin(NAME, &skel.progs.bpfrestrict_locked_down, dir, "locked_down")?;
    pins::attach_and_pin(NAME, &skel.progs.bpfrestrict_bpf, dir, "bpf")?;
    let p = &skel.progs;
    pins::attach_pins_guard(
        NAME,
        guard,
        [&p.bpfrestrict_pins_unlink, &p.bpfrestrict_pins_rmdir, &p.bpfrestrict_pins_rename, &p.bpfrestrict_pins_umount],
        dir,
    )?;
    // Pinned: arm (bpf/bpfrestrict.bpf.c says why through the memory mapping).
    let bss = skel.maps.bss_data.as_deref_mut().expect("bpfrestrict has a mmapable .bss");
    // SAFETY: plain writes to the mapped .bss; the kernel reads it concurrently, so they
    // are volatile and ordered: the loader identity is in place before arming.
    unsafe {
        std::ptr::write_volatile(&mut bss.bpfrestrict_loader_tgid, std::process::id());
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        std::ptr::write_volatile(&mut bss.bpfrestrict_armed, 1);
    }
    let bss_mapping: *mut types::bss = bss;
    // One bpf() call now, so the programs record this process's start time as the loader's.
    let _ = skel.maps.rodata.lookup(&0u32.to_ne_bytes(), libbpf_rs::MapFlags::ANY);
    // Armed for good: the state map is pinned for status, and frozen, so that no bpf()
    // call (root's `bpftool map update` included) can disarm it. Freezing needs the
    // writable mapping gone: it is replaced in place by a read-only one.
    pins::pin_map(&mut skel.maps.bss, dir, STATE)?;
    // The tests show the attack that freezing stops (and that status sees it).
    if std::env::var_os("BPFLOCK_TEST_UNFROZEN").is_some() {
        return Ok(());
    }
    let fd = skel.maps.bss.as_fd().as_raw_fd();
    let len = (std::mem::size_of::<types::bss>() + 4095) & !4095;
    // SAFETY: the address and length are libbpf's mapping of this very map; MAP_FIXED
    // replaces it with a read-only mapping of the same pages, which libbpf unmaps later.
    let remapped =
        unsafe { libc::mmap(bss_mapping.cast(), len, libc::PROT_READ, libc::MAP_SHARED | libc::MAP_FIXED, fd, 0) };
    if remapped == libc::MAP_FAILED {
        return Err(Error::UnableToFreeze { protection: NAME, source: std::io::Error::last_os_error() });
    }
    // SAFETY: a plain bpf(BPF_MAP_FREEZE) on a map fd the skeleton owns.
    if unsafe { libbpf_rs::libbpf_sys::bpf_map_freeze(fd) } != 0 {
        return Err(Error::UnableToFreeze { protection: NAME, source: std::io::Error::last_os_error() });
    }
    Ok(())
}

/// The pinned .bss: whether the programs are armed, as the kernel holds it.
const STATE: &str = "state";

/// Whether the pinned programs enforce: false where the state the kernel holds says they
/// are disarmed (status says so, whatever the pinned policy says).
pub fn pinned_armed(dir: &Path) -> Result<bool> {
    let state: types::bss = pins::read_map_value(dir, STATE)?;
    Ok(state.bpfrestrict_armed != 0)
}

pub fn pinned_policy(dir: &Path) -> Result<LockPolicy> {
    let c: types::rodata = pins::read_config(dir)?;
    Ok(LockPolicy {
        profile: Profile::from_raw(c.bpfrestrict_profile).unwrap_or(Profile::Restricted),
        allow: OpSet(0),
        block: OpSet(c.bpfrestrict_block_mask),
        events: EventsMode::from_raw(c.bpflock_events_mode),
        present: true,
    })
}
