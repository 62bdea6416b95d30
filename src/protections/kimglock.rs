//! kimglock: kernel image lockdown per pid namespace (bpf/kimglock.bpf.c).
//!
//! Everything kimglock is, end to end: its policy section and flags, the hooks and lockdown
//! reasons of the running kernel, setup (load, attach, pin into a staging directory),
//! status from its pins. Removal is removing the pin directory, as for every protection.

use std::{mem::MaybeUninit, path::Path};

use libbpf_rs::skel::{OpenSkel as _, Skel as _};

use serde::Deserialize;
use toml::Spanned;

use crate::{
    error::{NotSupported, PolicyError, Result},
    events,
    kernel::KernelBtf,
    lock::{self, LockKeys, LockSection},
    lock_flag,
    overrides::{override_lock, Flag, Overrides},
    protection::{self, Protection, ProtectionStatus, Section, SetupContext},
    skel as skeleton,
    vocabulary::{Defaults, Document, LockPolicy, OpSet, Operation, RawList},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/kimglock.skel.rs"));
}
use skel::{types, KimglockSkelBuilder};

const NAME: &str = "kimglock";

pub struct Kimglock;

const fn op(name: &'static str, bit: u32, about: &'static str) -> Operation {
    Operation { name, bit, about }
}

/// Policy names, bits (bpf/kimglock.h enum kimglock_op; a unit test holds them equal) and
/// what they cover. The first names are bpflock (C/Go)'s; the rest are the kernel's
/// confidentiality reasons.
const OPERATIONS: &[Operation] = &[
    op("unsigned_module", 0, "loading unsigned modules"),
    op("dev_mem", 1, "/dev/mem, /dev/kmem, /dev/port"),
    op("efi_test", 2, "/dev/efi_test"),
    op("kexec", 3, "kexec of unsigned images"),
    op("hibernation", 4, "hibernation"),
    op("pci_access", 5, "direct PCI BAR access"),
    op("ioport", 6, "raw I/O ports, ioperm and iopl"),
    op("msr", 7, "raw MSR access"),
    op("acpi_tables", 8, "modifying ACPI tables"),
    op("device_tree", 9, "modifying the device tree"),
    op("pcmcia_cis", 10, "direct PCMCIA CIS storage"),
    op("tiocsserial", 11, "reconfiguring serial port I/O"),
    op("unsafe_module_parameters", 12, "module parameters that set hardware addresses"),
    op("mmiotrace", 13, "tracing memory-mapped I/O"),
    op("debugfs", 14, "debugfs"),
    op("xmon_wr", 15, "xmon write access"),
    op("bpf_write", 16, "bpf_probe_write_user(): BPF writes to user memory"),
    op("dbg_write_kernel", 17, "debugger writes to kernel memory (kdb)"),
    op("rtas_error_injection", 18, "RTAS error injection"),
    op("xen_user_actions", 19, "Xen guest user actions"),
    op("kcore", 20, "/proc/kcore"),
    op("kprobes", 21, "kprobes"),
    op("bpf_read_kernel", 22, "BPF reads of kernel memory"),
    op("dbg_read_kernel", 23, "debugger reads of kernel memory (kdb)"),
    op("perf", 24, "perf access to kernel data"),
    op("tracefs", 25, "tracefs"),
    op("xmon_rw", 26, "xmon read-write access"),
    op("xfrm", 27, "reading xfrm SA secrets"),
    op("btf_load", 28, "loading BTF into the kernel (bpf(BPF_BTF_LOAD))"),
];

/// The kernel's enum lockdown_reason name of each operation (btf_load has none).
fn kernel_reason(op: &Operation) -> Option<String> {
    let reason = match op.name {
        "btf_load" => return None,
        "unsigned_module" => "MODULE_SIGNATURE",
        "unsafe_module_parameters" => "MODULE_PARAMETERS",
        "bpf_write" => "BPF_WRITE_USER",
        "xfrm" => "XFRM_SECRET",
        name => return Some(format!("LOCKDOWN_{}", name.to_uppercase())),
    };
    Some(format!("LOCKDOWN_{reason}"))
}

/// Operations the running kernel has no lockdown reason for: never asked, so a rule for
/// them has no effect here. Reported, not fatal.
fn unavailable(btf: &KernelBtf) -> Vec<&'static str> {
    OPERATIONS
        .iter()
        .filter(|op| kernel_reason(op).is_some_and(|r| !btf.has_enumerator("lockdown_reason", &r)))
        .map(|op| op.name)
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKimglock {
    profile: Spanned<String>,
    allow: Option<RawList>,
    block: Option<RawList>,
    events: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

const FLAGS: &[Flag] = &[
    lock_flag!(profile, "kimglock", "kimglock profile: allow (= none = privileged), baseline or restricted"),
    lock_flag!(mode, "kimglock"),
    lock_flag!(
        allow,
        "kimglock",
        "baseline only: lockdown operations still allowed outside the initial pid namespace (comma-separated)"
    ),
    lock_flag!(block, "kimglock", "baseline only: lockdown operations denied to every process (comma-separated)"),
];

impl Protection for Kimglock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn operations(&self) -> &'static [Operation] {
        OPERATIONS
    }

    fn operation_name(&self, op: u32) -> std::borrow::Cow<'static, str> {
        match OPERATIONS.iter().find(|o| o.bit == op) {
            Some(o) => o.name.into(),
            None => format!("lockdown_reason_{op}").into(),
        }
    }

    /// A sealed system: root must not write the running kernel's memory or replace it
    /// (the kernel's integrity reasons, those lockdown=integrity refuses).
    fn seal_gap(&self, section: &dyn Section) -> Option<String> {
        const KERNEL_WRITES: &[&[&str]] = &[
            &["dev_mem"],
            &["kexec"],
            &["hibernation"],
            &["pci_access"],
            &["ioport"],
            &["msr"],
            &["acpi_tables"],
            &["device_tree"],
            &["pcmcia_cis"],
            &["tiocsserial"],
            &["unsafe_module_parameters"],
            &["mmiotrace"],
            &["debugfs"],
            &["xmon_wr"],
            &["bpf_write"],
            &["dbg_write_kernel"],
            &["efi_test"],
            &["rtas_error_injection"],
            &["xen_user_actions"],
        ];
        let lock = &protection::section::<LockSection>(section).lock;
        lock.seal_gap(OPERATIONS, KERNEL_WRITES, "writing or replacing the running kernel (/dev/mem, kexec...)")
    }

    fn flags(&self) -> &'static [Flag] {
        FLAGS
    }

    fn parse(&self, doc: &Document<'_>, defaults: &Defaults) -> Result<Box<dyn Section>, PolicyError> {
        let Some(r) = doc.section::<RawKimglock>(NAME)? else {
            return Ok(Box::new(LockSection::absent(OPERATIONS, false, defaults)));
        };
        let keys = LockKeys {
            profile: &r.profile,
            allow: r.allow.as_ref(),
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
        skeleton::missing_hooks(NAME, KimglockSkelBuilder::default(), &mut MaybeUninit::uninit(), &[])
    }

    fn probe(&self, _section: &dyn Section, btf: &KernelBtf) -> (Vec<String>, Option<NotSupported>) {
        let missing = unavailable(btf);
        match missing.is_empty() {
            true => (vec![], None),
            false => (vec![format!("kimglock: no lockdown reason in this kernel for: {}", missing.join(", "))], None),
        }
    }

    fn setup(&self, section: &dyn Section, ctx: &SetupContext<'_>) -> Result<()> {
        let policy = &protection::section::<LockSection>(section).lock;
        warn_unavailable(policy, ctx.btf);
        let mut object = MaybeUninit::uninit();
        let mut open = skeleton::open(NAME, KimglockSkelBuilder::default(), &mut object)?;
        let config = open.maps.rodata_data.as_deref_mut().expect("kimglock has .rodata");
        config.kimglock_profile = policy.profile as u32;
        config.kimglock_allow_mask = policy.allow.0;
        config.kimglock_block_mask = policy.block.0;
        (config.bpflock_exe_dev, config.bpflock_exe_ino) = crate::kernel::bpflock_exe_identity()?;
        config.bpflock_complain = policy.complain;
        events::configure_events!(ctx.shared, open, config, policy.events)?;
        skeleton::carries_pins_guard(NAME, ctx.shared, policy.enforces(), open.open_object_mut());
        let mut skel = skeleton::load(NAME, open, &[])?;
        events::pin_events!(ctx.shared, skel)?;
        // .rodata is frozen by libbpf at load: the pinned copy is a read-only record of the policy.
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
            c.kimglock_profile,
            c.kimglock_allow_mask,
            c.kimglock_block_mask,
            c.bpflock_events_mode,
            c.bpflock_complain,
        );
        // Needs only the kernel's BTF file, not bpf().
        let mut not_here = Vec::new();
        if let Ok(btf) = KernelBtf::load() {
            let missing = unavailable(&btf);
            not_here = st.allow.iter().chain(&st.block).copied().filter(|n| missing.contains(n)).collect();
        }
        if !not_here.is_empty() {
            st.lines.push(format!(
                "no lockdown reason in this kernel for: {} (rules for them have no effect)",
                not_here.join(", ")
            ));
        }
        st.details.insert("not_in_this_kernel".into(), not_here.into());
    }
}

/// Only what the policy names is worth a warning; the rest is never asked either way.
fn warn_unavailable(policy: &LockPolicy, btf: &KernelBtf) {
    let named = OpSet(policy.allow.0 | policy.block.0).names(OPERATIONS);
    let (warn, quiet): (Vec<_>, Vec<_>) = unavailable(btf).into_iter().partition(|n| named.contains(n));
    if !warn.is_empty() {
        log::warn!(
            target: NAME,
            "this kernel has no lockdown reason for: {} (never asked here, so these rules have no effect)",
            warn.join(", ")
        );
    }
    if !quiet.is_empty() {
        log::debug!(target: NAME, "this kernel has no lockdown reason for: {}", quiet.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_unique_and_fit_the_mask() {
        let mut seen = 0u64;
        for op in OPERATIONS {
            assert!(op.bit < 63, "{} collides with KIMG_UNKNOWN", op.name);
            assert_eq!(seen & (1 << op.bit), 0, "{} reuses bit {}", op.name, op.bit);
            seen |= 1 << op.bit;
        }
    }

    #[test]
    fn kernel_reason_names() {
        let reason = |n: &str| kernel_reason(OPERATIONS.iter().find(|o| o.name == n).unwrap());
        assert_eq!(reason("debugfs").as_deref(), Some("LOCKDOWN_DEBUGFS"));
        assert_eq!(reason("unsigned_module").as_deref(), Some("LOCKDOWN_MODULE_SIGNATURE"));
        assert_eq!(reason("btf_load"), None);
    }

    /// Every name maps to an enumerator of the vmlinux.h this build compiled against.
    #[test]
    fn kernel_reasons_exist_in_vmlinux_h() {
        let header = include_str!("../../include/vmlinux.h");
        for op in OPERATIONS {
            if let Some(reason) = kernel_reason(op) {
                assert!(header.contains(&format!("\t{reason} = ")), "{reason} not in vmlinux.h");
            }
        }
    }
}
