//! Feature probes of the running kernel. bpflock asks the kernel, never its version:
//! a program is loaded and attached to see whether BPF LSM really works, and hooks and
//! lockdown reasons are looked up in the kernel's own BTF.

use std::{fs, mem::MaybeUninit, path::Path};

use libbpf_rs::{
    btf::{types, Btf},
    skel::{OpenSkel, SkelBuilder},
    ErrorKind,
};

use crate::error::NotSupported;

mod skel {
    include!(concat!(env!("OUT_DIR"), "/probe.skel.rs"));
}

const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";
const LSM_LIST: &str = "/sys/kernel/security/lsm";
const SECURITYFS: &str = "/sys/kernel/security";

/// A file as the kernel names it: (s_dev, i_ino). Kernel s_dev is MAJOR << 20 | MINOR;
/// userspace st_dev is glibc's encoding, so it is converted.
pub fn file_identity(path: &str) -> crate::error::Result<(u32, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).map_err(crate::error::Error::io("cannot stat", path))?;
    let dev = meta.dev();
    Ok(((libc::major(dev) << 20) | libc::minor(dev), meta.ino()))
}

/// The bpflock executable (what `is_bpflock_exe()` in bpf/bpflock.bpf.h recognises).
pub fn bpflock_exe_identity() -> crate::error::Result<(u32, u64)> {
    file_identity("/proc/self/exe")
}

/// The running kernel's BTF (CO-RE needs it; bpflock reads hooks and enums from it).
pub struct KernelBtf(Btf<'static>);

impl KernelBtf {
    pub fn load() -> Result<Self, NotSupported> {
        if !Path::new(VMLINUX_BTF).exists() {
            return Err(NotSupported {
                what: "kernel BTF".into(),
                why: format!("{VMLINUX_BTF} is missing (the kernel needs CONFIG_DEBUG_INFO_BTF=y)"),
            });
        }
        Btf::from_vmlinux()
            .map(Self)
            .map_err(|e| NotSupported { what: "kernel BTF".into(), why: format!("cannot parse {VMLINUX_BTF}: {e}") })
    }

    /// Whether the kernel has the BPF LSM hook `name` (a `bpf_lsm_<name>` function).
    pub fn has_lsm_hook(&self, name: &str) -> bool {
        self.0.type_by_name::<types::Func<'_>>(&format!("bpf_lsm_{name}")).is_some()
    }

    /// Whether the kernel has the function (or kfunc) `name`.
    pub fn has_func(&self, name: &str) -> bool {
        self.0.type_by_name::<types::Func<'_>>(name).is_some()
    }

    pub fn has_enumerator(&self, enum_name: &str, value: &str) -> bool {
        self.0
            .type_by_name::<types::Enum<'_>>(enum_name)
            .is_some_and(|e| e.iter().any(|m| m.name.is_some_and(|n| n == value)))
    }
}

/// The active LSMs, as /sys/kernel/security/lsm lists them (mounting securityfs if it
/// is not mounted yet, as happens early in boot). None where it cannot be read.
pub fn active_lsms() -> Option<String> {
    if let Ok(list) = fs::read_to_string(LSM_LIST) {
        return Some(list.trim().to_string());
    }
    let mounted = nix::mount::mount(
        Some("securityfs"),
        SECURITYFS,
        Some("securityfs"),
        nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV | nix::mount::MsFlags::MS_NOEXEC,
        None::<&str>,
    );
    if mounted.is_ok() {
        log::debug!(target: "probe", "mounted securityfs on {SECURITYFS}");
    }
    fs::read_to_string(LSM_LIST).ok().map(|l| l.trim().to_string())
}

/// Loads and attaches the smallest LSM program (bpf/probe.bpf.c), then drops it. The
/// program returns what the previous hook returned, so attaching it changes nothing.
/// None when BPF LSM programs load, attach and will run.
pub fn probe_bpf_lsm() -> Option<NotSupported> {
    let lsms = active_lsms();
    let listed = lsms.as_deref().map(|l| l.split(',').any(|m| m == "bpf"));
    match (listed, load_and_attach_probe()) {
        (_, Err((stage, e))) => {
            let listed_note = match listed {
                Some(true) => format!("listed in {LSM_LIST}, but "),
                Some(false) => format!("not active ({LSM_LIST}: {}); ", lsms.as_deref().unwrap_or("")),
                None => String::new(),
            };
            let why = if e.kind() == ErrorKind::PermissionDenied {
                format!("{listed_note}this kernel refuses to {stage} BPF LSM programs ({e})")
            } else {
                format!("{listed_note}{stage}ing a minimal BPF LSM program failed ({e})")
            };
            Some(NotSupported { what: "BPF LSM".into(), why })
        }
        // Loads and attaches, but never runs: the BPF LSM is not in the lsm= list.
        (Some(false), Ok(())) => Some(NotSupported {
            what: "BPF LSM".into(),
            why: format!(
                "\"bpf\" is not in {LSM_LIST} ({}): programs would attach but never run; \
                 boot with lsm=...,bpf",
                lsms.as_deref().unwrap_or("")
            ),
        }),
        (_, Ok(())) => None,
    }
}

fn load_and_attach_probe() -> Result<(), (&'static str, libbpf_rs::Error)> {
    let mut object = MaybeUninit::uninit();
    let open = skel::ProbeSkelBuilder::default().open(&mut object).map_err(|e| ("open", e))?;
    let skel = open.load().map_err(|e| ("load", e))?;
    let _link = skel.progs.probe_locked_down.attach_lsm().map_err(|e| ("attach", e))?;
    Ok(())
}
