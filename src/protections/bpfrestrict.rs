//! bpfrestrict: the bpf() syscall per pid namespace and per command (bpf/bpfrestrict.bpf.c).
//!
//! Lifecycle as kimglock.rs. bpfrestrict is set up last: once attached under `restricted`,
//! no process, bpflock included, can load another program.

use std::{mem::MaybeUninit, path::Path};

use libbpf_rs::{skel::OpenSkel as _, skel::Skel as _, MapCore};
use serde::Deserialize;
use toml::Spanned;

use crate::{
    error::{PolicyError, Result},
    events,
    lock::{self, LockKeys, LockSection},
    lock_flag,
    overrides::{override_lock, Flag, Overrides},
    protection::{self, Protection, ProtectionStatus, Section, SetupContext},
    skel as skeleton,
    vocabulary::{Defaults, Document, LockPolicy, Operation, RawList},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/bpfrestrict.skel.rs"));
}
use skel::{types, BpfrestrictSkelBuilder};

const NAME: &str = "bpfrestrict";

pub struct Bpfrestrict;

/// bpfrestrict has no `allow`: outside the initial pid namespace, bpf() is never needed
/// by a baseline host, and a partial bpf() is no confinement.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBpfrestrict {
    profile: Spanned<String>,
    block: Option<RawList>,
    events: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

const FLAGS: &[Flag] = &[
    lock_flag!(profile, "bpfrestrict", "bpfrestrict profile: allow (= none = privileged), baseline or restricted"),
    lock_flag!(mode, "bpfrestrict"),
    lock_flag!(
        block,
        "bpfrestrict",
        "baseline only: bpf operations denied to every process: bpf_write, btf_load, map_create, prog_load"
    ),
];

impl Protection for Bpfrestrict {
    fn name(&self) -> &'static str {
        NAME
    }

    fn operations(&self) -> &'static [Operation] {
        OPERATIONS
    }

    fn operation_name(&self, op: u32) -> std::borrow::Cow<'static, str> {
        command_name(op)
    }

    /// A sealed system: no BPF program root could load (an fmod_ret program on the
    /// security_* functions skips every LSM hook behind it).
    fn seal_gap(&self, section: &dyn Section) -> Option<String> {
        let lock = &protection::section::<LockSection>(section).lock;
        lock.seal_gap(OPERATIONS, &[&["prog_load"]], "loading BPF programs")
    }

    fn flags(&self) -> &'static [Flag] {
        FLAGS
    }

    fn parse(&self, doc: &Document<'_>, defaults: &Defaults) -> Result<Box<dyn Section>, PolicyError> {
        let Some(r) = doc.section::<RawBpfrestrict>(NAME)? else {
            return Ok(Box::new(LockSection::absent(OPERATIONS, false, defaults)));
        };
        let keys = LockKeys {
            profile: &r.profile,
            allow: None,
            block: r.block.as_ref(),
            events: r.events.as_ref(),
            mode: r.mode.as_ref(),
        };
        Ok(Box::new(LockSection::parse(doc, defaults, NAME, OPERATIONS, false, keys)?))
    }

    fn apply_overrides(&self, section: &mut dyn Section, overrides: &Overrides) -> Result<()> {
        override_lock(&mut protection::section_mut::<LockSection>(section).lock, NAME, OPERATIONS, overrides)
    }

    fn missing_hooks(&self) -> Result<Option<String>> {
        skeleton::missing_hooks(NAME, BpfrestrictSkelBuilder::default(), &mut MaybeUninit::uninit(), &[])
    }

    fn setup(&self, section: &dyn Section, ctx: &SetupContext<'_>) -> Result<()> {
        setup(&protection::section::<LockSection>(section).lock, ctx)
    }

    fn restricts_bpf(&self) -> bool {
        true
    }

    fn status(&self, dir: &Path, st: &mut ProtectionStatus) {
        let c: types::rodata = match skeleton::read_config(dir) {
            Ok(c) => c,
            Err(e) => return st.unreadable.push(format!("policy: {e}")),
        };
        lock::status(
            st,
            OPERATIONS,
            c.bpfrestrict_profile,
            0,
            c.bpfrestrict_block_mask,
            c.bpflock_events_mode,
            c.bpflock_complain,
        );
        match pinned_armed(dir) {
            Ok(true) => {}
            Ok(false) => st.differs.push(format!(
                "its programs are disarmed (their state map says so): {} is NOT enforced",
                st.profile.as_deref().unwrap_or("its policy")
            )),
            Err(e) => st.unreadable.push(format!("armed state: {e}")),
        }
    }
}

/// Policy names and bits (bpf/bpfrestrict.h), as bpflock (C/Go) named them.
const OPERATIONS: &[Operation] = &[
    Operation { name: "bpf_write", bit: 0, about: "programs using bpf_probe_write_user()" },
    Operation { name: "btf_load", bit: 1, about: "bpf(BPF_BTF_LOAD)" },
    Operation { name: "map_create", bit: 2, about: "bpf(BPF_MAP_CREATE)" },
    Operation { name: "prog_load", bit: 3, about: "bpf(BPF_PROG_LOAD)" },
];

/// The name of a bpfrestrict event's operation: a bpf() command, or bpf_write.
fn command_name(op: u32) -> std::borrow::Cow<'static, str> {
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

const BPF_WRITE_OPERATION: u32 = crate::abi::BPFR_OP_BPF_WRITE;

/// Loads, configures, attaches and pins bpfrestrict into `ctx.dir`, then arms it.
fn setup(policy: &LockPolicy, ctx: &SetupContext<'_>) -> Result<()> {
    let (dir, shared) = (ctx.dir, ctx.shared);
    let (forwarder_dev, forwarder_ino) = crate::kernel::bpflock_exe_identity()?;
    let mut object = MaybeUninit::uninit();
    let mut open = skeleton::open(NAME, BpfrestrictSkelBuilder::default(), &mut object)?;
    let config = open.maps.rodata_data.as_deref_mut().expect("bpfrestrict has .rodata");
    config.bpfrestrict_profile = policy.profile as u32;
    config.bpfrestrict_block_mask = policy.block.0;
    config.bpflock_exe_dev = forwarder_dev;
    config.bpflock_exe_ino = forwarder_ino;
    config.bpflock_complain = policy.complain;
    events::configure_events!(shared, open, config, policy.events)?;
    skeleton::carries_pins_guard(NAME, shared, policy.enforces(), open.open_object_mut());
    let mut skel = skeleton::load(NAME, open, &[])?;
    events::pin_events!(shared, skel)?;
    skeleton::pin_map(&mut skel.maps.rodata, dir, "config")?;
    skeleton::attach_all(NAME, skel.object(), dir)?;
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
    skeleton::pin_map(&mut skel.maps.bss, dir, STATE)?;
    // The tests show the attack that freezing stops (and that status sees it).
    #[cfg(feature = "fault-injection")]
    if std::env::var_os("BPFLOCK_TEST_UNFROZEN").is_some() {
        return Ok(());
    }
    skeleton::freeze_mapped(NAME, &skel.maps.bss, bss_mapping.cast(), std::mem::size_of::<types::bss>())
}

/// The pinned .bss: whether the programs are armed, as the kernel holds it.
const STATE: &str = "state";

/// Whether the pinned programs enforce: false where the state the kernel holds says they
/// are disarmed (status says so, whatever the pinned policy says).
fn pinned_armed(dir: &Path) -> Result<bool> {
    let state: types::bss = skeleton::read_map_value(dir, STATE)?;
    Ok(state.bpfrestrict_armed != 0)
}
