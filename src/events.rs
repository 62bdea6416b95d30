//! Events and counters shared by every protection (bpf/events.h, bpf/events.bpf.h).
//!
//! The perf buffer, the per-CPU counters and the rate-limit table are pinned once under
//! `<pin-root>/events/` and reused by every protection's object, across re-applies, so a
//! forwarder keeps reading the same buffer for as long as bpflock is in force.

use std::{
    borrow::Cow,
    io,
    path::{Path, PathBuf},
};

use libbpf_rs::{MapCore, MapFlags, MapHandle, MapMut, OpenMapMut};
use serde::Serialize;

use crate::error::{Error, Result};

pub const EVENTS_DIR: &str = "events";
/// Pin names of the shared maps, in the order `reuse` and `pin` take them.
pub const SHARED_MAPS: [&str; 3] = ["events", "counters", "ratelimit"];

// bpf/events.h
pub const PROT_NAMES: [&str; 5] = ["kimglock", "bpfrestrict", "kmodlock", "filelesslock", "jail"];
pub const HOOK_NAMES: [&str; 44] = [
    "locked_down",
    "bpf",
    "kernel_module_request",
    "kernel_read_file",
    "kernel_load_data",
    "bprm_check_security",
    "mmap_file",
    "file_mprotect",
    "file_open",
    "inode_link",
    "ptrace_access_check",
    "ptrace_traceme",
    "task_fix_setuid",
    "bprm_creds_from_file",
    "sb_mount",
    "sb_umount",
    "move_mount",
    "socket_connect",
    "socket_bind",
    "socket_sendmsg",
    "inode_unlink",
    "inode_rmdir",
    "inode_rename",
    "task_alloc",
    "bpf_map",
    "inode_create",
    "inode_mkdir",
    "path_chmod",
    "path_chown",
    "path_truncate",
    "path_chroot",
    "sb_pivotroot",
    "userns_create",
    "capable",
    "task_fix_setgid",
    "inode_symlink",
    "inode_mknod",
    "socket_create",
    "socket_listen",
    "task_kill",
    "file_fcntl",
    "file_ioctl",
    "unix_stream_connect",
    "unix_may_send",
];
pub const DECISION_NAMES: [&str; 3] = ["denied", "allowed", "would-deny"];
/// BPFLOCK_OP_PINS: removing bpflock's pins, whichever protection refused it.
const OP_PINS: u32 = 0xfffe;
const COUNTER_WANTED: u32 = 0;
const COUNTER_SUPPRESSED: u32 = 1;
const COUNTER_OUTPUT: u32 = 2;
const COUNTER_NO_READER: u32 = 3;
const COUNTER_RING_FULL: u32 = 4;
const COUNTER_DECISIONS: u32 = 8;
const PROT_MAX: u32 = 8;
const DECISION_MAX: u32 = 4;
pub const DECISION_DENY: u32 = 0;

/// struct bpflock_event, as the BPF side writes it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Event {
    pub boot_ns: u64,
    pub cgroup_id: u64,
    pub protection: u32,
    pub hook: u32,
    pub operation: u32,
    pub decision: u32,
    pub pid: u32,
    pub tgid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub pidns_inum: u32,
    pub pidns_level: u32,
    pub object_len: u32,
    pub comm: [u8; 16],
    pub object: [u8; 256],
}

impl Event {
    /// Parses a perf sample; None when it is too short to be an event.
    pub fn from_bytes(data: &[u8]) -> Option<Self> {
        (data.len() >= std::mem::size_of::<Self>())
            // SAFETY: Event is plain data and the buffer is long enough.
            .then(|| unsafe { std::ptr::read_unaligned(data.as_ptr().cast()) })
    }

    pub fn comm(&self) -> Cow<'_, str> {
        let end = self.comm.iter().position(|&b| b == 0).unwrap_or(self.comm.len());
        String::from_utf8_lossy(&self.comm[..end])
    }

    pub fn object(&self) -> Cow<'_, str> {
        // A string copied from BPF map memory has object_len its buffer's size: it ends at its NUL.
        let len = (self.object_len as usize).min(self.object.len());
        let len = self.object[..len].iter().position(|&b| b == 0).unwrap_or(len);
        String::from_utf8_lossy(&self.object[..len])
    }
}

/// Where the shared maps are pinned, and how each protection's object gets them.
pub struct Shared {
    pub dir: PathBuf,
    /// Events per second per (protection, process); 0: unlimited.
    pub rate_limit: u64,
    /// The pin root's (device, inode), the kernel's encoding: what bpf/pins.bpf.h guards.
    pub pin_root_identity: (u32, u64),
    /// Whether a protection of this bootstrap already carries the pins guard: one set of
    /// its programs guards every pin (each attach costs the kernel a trampoline update).
    pub pins_guarded: std::cell::Cell<bool>,
}

impl Shared {
    pub fn new(pin_root: &Path, rate_limit: u64) -> Result<Self> {
        let pin_root_identity = crate::kernel::file_identity(&pin_root.to_string_lossy())?;
        Ok(Self { dir: pin_root.join(EVENTS_DIR), rate_limit, pin_root_identity, pins_guarded: Default::default() })
    }

    /// Before load: points the object's shared maps at the pinned ones, where they exist.
    pub fn reuse(&self, maps: [&mut OpenMapMut<'_>; 3]) -> Result<()> {
        for (name, map) in SHARED_MAPS.iter().zip(maps) {
            let path = self.dir.join(name);
            if path.exists() {
                map.reuse_pinned_map(&path).map_err(|source| Error::UnableToReuseMap { path, source })?;
            }
        }
        Ok(())
    }

    /// After load: pins the shared maps this object created (the first protection's).
    pub fn pin(&self, maps: [&mut MapMut<'_>; 3]) -> Result<()> {
        crate::pins::mkdir(&self.dir)?;
        for (name, map) in SHARED_MAPS.iter().zip(maps) {
            // Already pinned: `reuse` made this object use it.
            if !self.dir.join(name).exists() {
                crate::pins::pin_map(map, &self.dir, name)?;
            }
        }
        Ok(())
    }
}

/// Before load: the event settings every protection's .rodata carries (bpf/events.bpf.h),
/// and the shared maps pointed at the pinned ones. `$config` is the skeleton's
/// `rodata_data`; the generated types differ per protection, hence a macro.
macro_rules! configure_events {
    ($shared:expr, $open:expr, $config:expr, $events:expr) => {{
        $config.bpflock_events_mode = $events as u32;
        $config.bpflock_rate_per_sec = $shared.rate_limit;
        $config.bpflock_read_kernel = !crate::kernel::lockdown_confidentiality() as u32;
        ($config.bpflock_pins_dev, $config.bpflock_pins_ino) = $shared.pin_root_identity;
        let m = &mut $open.maps;
        $shared.reuse([&mut m.bpflock_events, &mut m.bpflock_counters, &mut m.bpflock_ratelimit])
    }};
}
pub(crate) use configure_events;

/// After load: pins the shared maps the object created (see `Shared::pin`).
macro_rules! pin_events {
    ($shared:expr, $skel:expr) => {{
        let m = &mut $skel.maps;
        $shared.pin([&mut m.bpflock_events, &mut m.bpflock_counters, &mut m.bpflock_ratelimit])
    }};
}
pub(crate) use pin_events;

/// Sums of the per-CPU counters.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Counters {
    /// Events the kernel wanted to report: suppressed + output + no_reader + ring_full.
    pub wanted: u64,
    /// Over the per-process rate limit, not written.
    pub suppressed: u64,
    /// Written to the perf buffer.
    pub output: u64,
    /// Not written: no forwarder had the buffer open.
    pub no_reader: u64,
    /// Not written: the forwarder's ring was full.
    pub ring_full: u64,
    /// Every decision, per protection and decision ("kimglock denied": n).
    pub decisions: Vec<DecisionCount>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DecisionCount {
    pub protection: &'static str,
    pub decision: &'static str,
    pub count: u64,
}

impl Counters {
    pub fn read(pin_root: &Path) -> io::Result<Self> {
        let path = pin_root.join(EVENTS_DIR).join("counters");
        let map = MapHandle::from_pinned_path(&path).map_err(io::Error::other)?;
        let sum = |index: u32| percpu_sum(&map, index);
        let mut decisions = Vec::new();
        for (p, protection) in PROT_NAMES.iter().enumerate() {
            for (d, decision) in DECISION_NAMES.iter().enumerate() {
                let count = sum(COUNTER_DECISIONS + p as u32 * DECISION_MAX + d as u32)?;
                if count > 0 {
                    decisions.push(DecisionCount { protection, decision, count });
                }
            }
        }
        debug_assert!(PROT_NAMES.len() as u32 <= PROT_MAX);
        Ok(Self {
            wanted: sum(COUNTER_WANTED)?,
            suppressed: sum(COUNTER_SUPPRESSED)?,
            output: sum(COUNTER_OUTPUT)?,
            no_reader: sum(COUNTER_NO_READER)?,
            ring_full: sum(COUNTER_RING_FULL)?,
            decisions,
        })
    }
}

/// The sum over CPUs of one u64 counter of a per-CPU array.
pub fn percpu_sum(map: &MapHandle, index: u32) -> io::Result<u64> {
    let values = map.lookup_percpu(&index.to_ne_bytes(), MapFlags::ANY).map_err(io::Error::other)?.unwrap_or_default();
    Ok(values.iter().map(|v| v.get(..8).map_or(0, |b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))).sum())
}

/// The name of an event's operation, as the policy and the docs call it.
pub fn operation_name(e: &Event) -> Cow<'static, str> {
    if e.operation == OP_PINS {
        return Cow::Borrowed("pins");
    }
    match PROT_NAMES.get(e.protection as usize).copied() {
        Some("kimglock") => crate::kimglock::OPERATIONS
            .iter()
            .find(|op| op.bit == e.operation)
            .map_or_else(|| Cow::Owned(format!("lockdown_reason_{}", e.operation)), |op| Cow::Borrowed(op.name)),
        Some("bpfrestrict") => crate::bpfrestrict::command_name(e.operation),
        Some("kmodlock") => crate::kmodlock::operation_name(e.operation),
        Some("filelesslock") => name_of(&crate::filelesslock::OPERATION_NAMES, e.operation),
        Some("jail") => crate::jail::operation_name(e.operation & 0xffff),
        _ => Cow::Owned(e.operation.to_string()),
    }
}

pub fn name_of(table: &[&'static str], index: u32) -> Cow<'static, str> {
    table.get(index as usize).map_or_else(|| Cow::Owned(index.to_string()), |s| Cow::Borrowed(*s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rust mirror has the layout of the C struct the skeleton was generated from.
    #[test]
    fn event_layout_matches_bpf() {
        assert_eq!(std::mem::size_of::<Event>(), crate::kimglock::EVENT_SIZE);
    }
}
