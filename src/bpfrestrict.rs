//! bpfrestrict: the bpf() syscall per pid namespace and per command (bpf/bpfrestrict.bpf.c).
//!
//! Lifecycle as kimglock.rs. bpfrestrict is set up last: once attached under `restricted`,
//! no process, bpflock included, can load another program.

use std::{mem::MaybeUninit, path::Path};

use libbpf_rs::MapCore;

use crate::{
    error::Result,
    pins,
    policy::{LockPolicy, OpSet, Operation, Profile},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/bpfrestrict.skel.rs"));
}
use skel::{types, BpfrestrictSkelBuilder};

pub const NAME: &str = "bpfrestrict";
pub const HOOKS: &[&str] = &["bpf", "locked_down"];

/// Policy names and bits (bpf/bpfrestrict.h), as bpflock (C/Go) named them.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        name: "bpf_write",
        bit: 0,
        about: "programs using bpf_probe_write_user()",
    },
    Operation {
        name: "btf_load",
        bit: 1,
        about: "bpf(BPF_BTF_LOAD)",
    },
    Operation {
        name: "map_create",
        bit: 2,
        about: "bpf(BPF_MAP_CREATE)",
    },
    Operation {
        name: "prog_load",
        bit: 3,
        about: "bpf(BPF_PROG_LOAD)",
    },
];

/// Loads, configures, attaches and pins bpfrestrict into `dir`.
pub fn setup(policy: &LockPolicy, dir: &Path) -> Result<()> {
    let mut object = MaybeUninit::uninit();
    let mut open = pins::open(NAME, BpfrestrictSkelBuilder::default(), &mut object)?;
    let config = open
        .maps
        .rodata_data
        .as_deref_mut()
        .expect("bpfrestrict has .rodata");
    config.bpfrestrict_profile = policy.profile as u32;
    config.bpfrestrict_block_mask = policy.block.0;
    let mut skel = pins::load(NAME, open)?;
    pins::pin_map(&mut skel.maps.rodata, dir, "config")?;
    pins::attach_and_pin(
        NAME,
        &skel.progs.bpfrestrict_locked_down,
        dir,
        "locked_down",
    )?;
    pins::attach_and_pin(NAME, &skel.progs.bpfrestrict_bpf, dir, "bpf")?;
    // Pinned: arm (bpf/bpfrestrict.bpf.c says why through the memory mapping).
    let bss = skel
        .maps
        .bss_data
        .as_deref_mut()
        .expect("bpfrestrict has a mmapable .bss");
    // SAFETY: plain writes to the mapped .bss; the kernel reads it concurrently, so they
    // are volatile and ordered: the loader identity is in place before arming.
    unsafe {
        std::ptr::write_volatile(&mut bss.bpfrestrict_loader_tgid, std::process::id());
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        std::ptr::write_volatile(&mut bss.bpfrestrict_armed, 1);
    }
    // One bpf() call now, so the programs record this process's start time as the loader's.
    let _ = skel
        .maps
        .rodata
        .lookup(&0u32.to_ne_bytes(), libbpf_rs::MapFlags::ANY);
    Ok(())
}

pub fn pinned_policy(dir: &Path) -> Result<LockPolicy> {
    let c: types::rodata = pins::read_config(dir)?;
    Ok(LockPolicy {
        profile: Profile::from_raw(c.bpfrestrict_profile).unwrap_or(Profile::Restricted),
        allow: OpSet(0),
        block: OpSet(c.bpfrestrict_block_mask),
    })
}
