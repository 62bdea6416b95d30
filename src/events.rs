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

use crate::{
    abi,
    error::{Error, Result},
};

pub const EVENTS_DIR: &str = "events";
/// Pin names of the shared maps, in the order `reuse` and `pin` take them.
pub const SHARED_MAPS: [&str; 3] = ["events", "counters", "ratelimit"];
/// The shared map the forwarder writes (it installs its perf buffers there).
pub const WRITTEN_BY_FORWARDER: &str = "events";

pub const DECISION_DENY: u32 = abi::DECISION_DENY;
/// How events and counters word each decision.
const DECISION_WORDS: [(u32, &str); 3] =
    [(abi::DECISION_DENY, "denied"), (abi::DECISION_ALLOW, "allowed"), (abi::DECISION_WOULD_DENY, "would-deny")];

/// The words of a decision.
pub fn decision_name(decision: u32) -> Cow<'static, str> {
    match DECISION_WORDS.iter().find(|(d, _)| *d == decision) {
        Some((_, word)) => Cow::Borrowed(word),
        None => Cow::Owned(decision.to_string()),
    }
}

/// The name of an event's hook (bpf/events.h enum bpflock_hook: the LSM hook's name).
pub fn hook_name(hook: u32) -> Cow<'static, str> {
    abi::name_of(abi::BPFLOCK_HOOK, hook).map_or_else(|| Cow::Owned(hook.to_string()), Cow::Borrowed)
}

/// The name of a protection by its number in events (bpf/events.h enum bpflock_protection).
pub fn protection_name(protection: u32) -> Cow<'static, str> {
    abi::name_of(abi::BPFLOCK_PROTECTION, protection).map_or_else(|| Cow::Owned(protection.to_string()), Cow::Borrowed)
}

/// An operation every protection reports the same way: removing bpflock's pins.
pub const OP_PINS: u32 = abi::BPFLOCK_OP_PINS;

mod skel {
    include!(concat!(env!("OUT_DIR"), "/shared.skel.rs"));
}

/// struct bpflock_event, as the BPF side writes it: the generated type of bpf/shared.bpf.c.
pub type Event = skel::types::bpflock_event;

/// Bytes of a C string of a generated type (char[] is i8 there), up to its NUL or `len`.
pub fn c_chars(chars: &[i8], len: usize) -> Cow<'_, str> {
    // SAFETY: i8 and u8 have the same size and alignment.
    let bytes: &[u8] = unsafe { std::slice::from_raw_parts(chars.as_ptr().cast(), chars.len()) };
    let len = len.min(bytes.len());
    let end = bytes[..len].iter().position(|&b| b == 0).unwrap_or(len);
    String::from_utf8_lossy(&bytes[..end])
}

impl Event {
    /// Parses a perf sample; None when it is too short to be an event.
    pub fn from_bytes(data: &[u8]) -> Option<Self> {
        (data.len() >= std::mem::size_of::<Self>())
            // SAFETY: Event is plain data and the buffer is long enough.
            .then(|| unsafe { std::ptr::read_unaligned(data.as_ptr().cast()) })
    }

    pub fn comm(&self) -> Cow<'_, str> {
        c_chars(&self.comm, self.comm.len())
    }

    pub fn object(&self) -> Cow<'_, str> {
        // A string copied from BPF map memory has object_len its buffer's size: it ends at its NUL.
        c_chars(&self.object, self.object_len as usize)
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
                crate::skel::pin_map(map, &self.dir, name)?;
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
        let map = crate::skel::open_read_only(&path).map_err(io::Error::other)?;
        let sum = |index: u32| percpu_sum(&map, index);
        let mut decisions = Vec::new();
        for &(protection, p) in abi::BPFLOCK_PROTECTION.iter().filter(|(_, p)| *p < abi::PROT_MAX) {
            for (d, decision) in DECISION_WORDS {
                let count = sum(abi::COUNTER_DECISIONS + p * abi::DECISION_MAX + d)?;
                if count > 0 {
                    decisions.push(DecisionCount { protection, decision, count });
                }
            }
        }
        Ok(Self {
            wanted: sum(abi::COUNTER_WANTED)?,
            suppressed: sum(abi::COUNTER_SUPPRESSED)?,
            output: sum(abi::COUNTER_OUTPUT)?,
            no_reader: sum(abi::COUNTER_NO_READER)?,
            ring_full: sum(abi::COUNTER_RING_FULL)?,
            decisions,
        })
    }
}

/// The sum over CPUs of one u64 counter of a per-CPU array.
pub fn percpu_sum(map: &MapHandle, index: u32) -> io::Result<u64> {
    let values = map.lookup_percpu(&index.to_ne_bytes(), MapFlags::ANY).map_err(io::Error::other)?.unwrap_or_default();
    Ok(values.iter().map(|v| v.get(..8).map_or(0, |b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))).sum())
}
