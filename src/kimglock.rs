//! kimglock: kernel image lockdown per pid namespace (bpf/kimglock.bpf.c).
//!
//! Lifecycle: `supported` (hooks and lockdown reasons of the running kernel), `setup`
//! (load, attach, pin into a staging directory), `pinned_policy` (for status). Cleanup is
//! removing the pin directory (pins.rs).

use std::{mem::MaybeUninit, path::Path};

use crate::{
    error::Result,
    events::{self, Shared},
    kernel::KernelBtf,
    pins,
    policy::{EventsMode, LockPolicy, OpSet, Operation, Profile},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/kimglock.skel.rs"));
}
use skel::{types, KimglockSkelBuilder};

pub const NAME: &str = "kimglock";

const fn op(name: &'static str, bit: u32, about: &'static str) -> Operation {
    Operation { name, bit, about }
}

/// Policy names, bits (bpf/kimglock.h) and what they cover. The first names are bpflock
/// (C/Go)'s; the rest are the kernel's confidentiality reasons.
pub const OPERATIONS: &[Operation] = &[
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
pub fn unavailable(btf: &KernelBtf) -> Vec<&'static str> {
    OPERATIONS
        .iter()
        .filter(|op| kernel_reason(op).is_some_and(|r| !btf.has_enumerator("lockdown_reason", &r)))
        .map(|op| op.name)
        .collect()
}

/// Size of struct bpflock_event as this build's BPF objects lay it out (events.rs checks its mirror).
#[cfg(test)]
pub const EVENT_SIZE: usize = std::mem::size_of::<types::bpflock_event>();

/// What this kernel lacks of the hooks of kimglock's programs, if anything (`probe`).
pub fn missing_hooks() -> Result<Option<String>> {
    pins::missing_hooks(NAME, KimglockSkelBuilder::default(), &mut MaybeUninit::uninit(), &[])
}

/// Loads, configures, attaches and pins kimglock into `dir`.
pub fn setup(policy: &LockPolicy, dir: &Path, shared: &Shared) -> Result<()> {
    let mut object = MaybeUninit::uninit();
    let mut open = pins::open(NAME, KimglockSkelBuilder::default(), &mut object)?;
    let config = open.maps.rodata_data.as_deref_mut().expect("kimglock has .rodata");
    config.kimglock_profile = policy.profile as u32;
    config.kimglock_allow_mask = policy.allow.0;
    config.kimglock_block_mask = policy.block.0;
    (config.bpflock_exe_dev, config.bpflock_exe_ino) = crate::kernel::bpflock_exe_identity()?;
    events::configure_events!(shared, open, config, policy.events)?;
    let p = &mut open.progs;
    let guard = pins::carries_pins_guard(
        shared,
        policy.profile != Profile::Allow,
        [
            &mut p.kimglock_pins_unlink,
            &mut p.kimglock_pins_rmdir,
            &mut p.kimglock_pins_rename,
            &mut p.kimglock_pins_umount,
        ],
    );
    let mut skel = pins::load(NAME, open, &[])?;
    events::pin_events!(shared, skel)?;
    // .rodata is frozen by libbpf at load: the pinned copy is a read-only record of the policy.
    pins::pin_map(&mut skel.maps.rodata, dir, "config")?;
    pins::attach_and_pin(NAME, &skel.progs.kimglock_locked_down, dir, "locked_down")?;
    pins::attach_and_pin(NAME, &skel.progs.kimglock_bpf, dir, "bpf")?;
    let p = &skel.progs;
    pins::attach_pins_guard(
        NAME,
        guard,
        [&p.kimglock_pins_unlink, &p.kimglock_pins_rmdir, &p.kimglock_pins_rename, &p.kimglock_pins_umount],
        dir,
    )?;
    Ok(())
}

/// The policy recorded in a pinned kimglock's config map.
pub fn pinned_policy(dir: &Path) -> Result<LockPolicy> {
    let c: types::rodata = pins::read_config(dir)?;
    Ok(LockPolicy {
        profile: Profile::from_raw(c.kimglock_profile).unwrap_or(Profile::Restricted),
        allow: OpSet(c.kimglock_allow_mask),
        block: OpSet(c.kimglock_block_mask),
        events: EventsMode::from_raw(c.bpflock_events_mode),
        present: true,
    })
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
        let header = include_str!("../include/vmlinux.h");
        for op in OPERATIONS {
            if let Some(reason) = kernel_reason(op) {
                assert!(header.contains(&format!("\t{reason} = ")), "{reason} not in vmlinux.h");
            }
        }
    }
}
