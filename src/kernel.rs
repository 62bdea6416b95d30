//! Feature probes of the running kernel. bpflock asks the kernel, never its version:
//! a program is loaded and attached to see whether BPF LSM really works, and hooks and
//! lockdown reasons are looked up in the kernel's own BTF.

use std::{collections::HashSet, fs, mem::MaybeUninit, path::Path, sync::OnceLock};

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

/// The mount in effect on `/` for this process, from /proc/self/mountinfo.
pub struct RootMount {
    /// Its superblock's s_dev (kernel encoding), as mountinfo shows it: on btrfs `stat("/")`
    /// gives the subvolume's device instead, which no superblock has.
    pub sb_dev: u32,
    /// Its filesystem type: "rootfs" where `/` is still the initramfs.
    pub fstype: String,
    /// Its source (the block device, for most filesystems).
    pub source: String,
}

/// `/` as mounted (the last mount on "/" is the one in effect).
pub fn root_mount() -> crate::error::Result<RootMount> {
    const MOUNTINFO: &str = "/proc/self/mountinfo";
    let info = fs::read_to_string(MOUNTINFO).map_err(crate::error::Error::io("cannot read", MOUNTINFO))?;
    let parse = |line: &str| -> Option<RootMount> {
        let (mount, rest) = line.split_once(" - ")?;
        let mut fields = mount.split(' ');
        let (major, minor) = fields.nth(2)?.split_once(':')?;
        let mut after = rest.split(' ');
        Some(RootMount {
            sb_dev: (major.parse::<u32>().ok()? << 20) | minor.parse::<u32>().ok()?,
            fstype: after.next()?.to_string(),
            source: after.next()?.to_string(),
        })
    };
    info.lines()
        .filter(|l| l.split(' ').nth(4) == Some("/"))
        .last()
        .and_then(parse)
        .ok_or_else(|| crate::error::Error::io("no mount on / in", MOUNTINFO)(std::io::ErrorKind::NotFound.into()))
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

    /// The BPF LSM hooks of this kernel: its `bpf_lsm_<hook>` functions.
    pub fn lsm_hooks(&self) -> HashSet<String> {
        self.0
            .type_by_kind::<types::Func<'_>>()
            .filter_map(|f| f.name()?.to_str()?.strip_prefix("bpf_lsm_").map(String::from))
            .collect()
    }

    /// Whether the kernel has the function (or kfunc) `name`.
    pub fn has_func(&self, name: &str) -> bool {
        self.0.type_by_name::<types::Func<'_>>(name).is_some()
    }

    /// How many parameters the function `name` takes (an LSM hook's `bpf_lsm_<hook>`), where
    /// the kernel has it: hooks gain arguments between kernels.
    pub fn func_params(&self, name: &str) -> Option<usize> {
        let func = self.0.type_by_name::<types::Func<'_>>(name)?;
        let proto = types::FuncProto::try_from(libbpf_rs::btf::ReferencesType::referenced_type(&func)).ok()?;
        Some(proto.iter().count())
    }

    pub fn has_enumerator(&self, enum_name: &str, value: &str) -> bool {
        self.0
            .type_by_name::<types::Enum<'_>>(enum_name)
            .is_some_and(|e| e.iter().any(|m| m.name.is_some_and(|n| n == value)))
    }
}

/// The running kernel's BPF LSM hooks, read once from its BTF.
pub fn running_lsm_hooks() -> Result<&'static HashSet<String>, NotSupported> {
    static HOOKS: OnceLock<HashSet<String>> = OnceLock::new();
    if let Some(hooks) = HOOKS.get() {
        return Ok(hooks);
    }
    let hooks = KernelBtf::load()?.lsm_hooks();
    Ok(HOOKS.get_or_init(|| hooks))
}

const LOCKDOWN: &str = "/sys/kernel/security/lockdown";

/// Whether the kernel is locked down for confidentiality (`lockdown=confidentiality`):
/// BPF programs may then not read kernel memory with bpf_probe_read_kernel. Read once;
/// securityfs is mounted if it is not yet (early boot).
pub fn lockdown_confidentiality() -> bool {
    static MODE: OnceLock<bool> = OnceLock::new();
    *MODE.get_or_init(|| {
        if !Path::new(LOCKDOWN).exists() {
            active_lsms();
        }
        // "none integrity [confidentiality]": the active mode is in brackets.
        fs::read_to_string(LOCKDOWN).is_ok_and(|modes| modes.contains("[confidentiality]"))
    })
}

/// Why BPF programs cannot read the kernel objects they need here (`what`, e.g. "socket
/// addresses"), if they cannot: where lockdown=confidentiality denies
/// bpf_probe_read_kernel, they read through the bpf_rdonly_cast kfunc (Linux 6.2+).
pub fn kernel_reads_unsupported(what: &str) -> Option<String> {
    if !lockdown_confidentiality() {
        return None;
    }
    match KernelBtf::load() {
        Ok(btf) if btf.has_func("bpf_rdonly_cast") => None,
        Ok(_) => Some(format!(
            "lockdown=confidentiality denies BPF programs bpf_probe_read_kernel, and this kernel has no \
             bpf_rdonly_cast kfunc (Linux 6.2+) to read {what} without it"
        )),
        Err(e) => Some(e.to_string()),
    }
}

/// The running kernel's release (`uname -r`), for messages.
pub fn release() -> String {
    nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_else(|_| "?".into())
}

/// The LSM hook a program's section names: `lsm/file_open`, `lsm.s/bprm_check_security`.
pub fn lsm_hook(section: &str) -> Option<&str> {
    section.strip_prefix("lsm/").or_else(|| section.strip_prefix("lsm.s/"))
}

/// Hooks that kernels offer in more than one form (upstream reworks them, e.g. the mount
/// hooks): hook sets, preferred first. The programs of the first set the kernel has
/// entirely are loaded; the programs of the other sets are not.
pub type HookAlternatives = &'static [&'static [&'static str]];

/// Which programs to load on a kernel with the hooks `has`, given each program's hook:
/// every program on a hook outside `alternatives` (the kernel must have it), and of each
/// entry of `alternatives` the programs of the set chosen. Err: what the kernel lacks, one
/// entry per hook or unsatisfied alternative, for the message.
pub fn select_hooks(
    hooks: &[&str],
    alternatives: &[HookAlternatives],
    has: &dyn Fn(&str) -> bool,
) -> Result<Vec<bool>, Vec<String>> {
    let mut missing = Vec::new();
    let mut chosen: Vec<&[&str]> = Vec::new();
    for sets in alternatives {
        match sets.iter().find(|set| set.iter().all(|h| has(h))) {
            Some(set) => chosen.push(set),
            None => missing.push(
                sets.iter()
                    .map(|set| set.iter().filter(|h| !has(h)).copied().collect::<Vec<_>>().join(" and "))
                    .collect::<Vec<_>>()
                    .join(", or "),
            ),
        }
    }
    let mut load = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let alternative = alternatives.iter().any(|sets| sets.iter().any(|set| set.contains(hook)));
        if alternative {
            load.push(chosen.iter().any(|set| set.contains(hook)));
        } else {
            if !has(hook) && !missing.iter().any(|m| m == hook) {
                missing.push((*hook).to_string());
            }
            load.push(true);
        }
    }
    if missing.is_empty() {
        Ok(load)
    } else {
        Err(missing)
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

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// What this process lacks to load and attach BPF LSM programs: CAP_SYS_ADMIN, or CAP_BPF
/// with CAP_PERFMON (an LSM program is a tracing program). None where it has them, or where
/// /proc does not say (inconclusive: the probe will tell).
pub fn missing_bpf_capabilities() -> Option<&'static str> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim();
    let effective = u64::from_str_radix(hex, 16).ok()?;
    let has = |cap: u32| effective & (1 << cap) != 0;
    match has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        true => None,
        false => Some("this process lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)"),
    }
}

/// Capabilities first: without them every probe fails, and "the kernel refuses" would be a
/// false diagnosis.
pub fn require_bpf_privilege(what: &str) -> crate::error::Result<()> {
    match missing_bpf_capabilities() {
        Some(why) => Err(crate::error::Error::NotPrivileged { what: what.into(), why: why.into() }),
        None => Ok(()),
    }
}

/// Why BPF LSM programs cannot enforce here.
#[derive(Debug)]
pub struct LsmUnavailable {
    /// The kernel refused the probe program with EPERM (a lockdown, or a BPF LSM program
    /// of bpflock's own that restricts bpf()), as opposed to failing to load it.
    pub refused: bool,
    pub not_supported: NotSupported,
}

/// Loads and attaches the smallest LSM program (bpf/probe.bpf.c), then drops it. The
/// program returns what the previous hook returned, so attaching it changes nothing.
/// Ok when BPF LSM programs load, attach and will run.
pub fn probe_bpf_lsm() -> Result<(), LsmUnavailable> {
    let lsms = active_lsms();
    let listed = lsms.as_deref().map(|l| l.split(',').any(|m| m == "bpf"));
    match (listed, load_and_attach_probe()) {
        (_, Err((stage, e))) => {
            let listed_note = match listed {
                Some(true) => format!("listed in {LSM_LIST}, but "),
                Some(false) => format!("not active ({LSM_LIST}: {}); ", lsms.as_deref().unwrap_or("")),
                None => String::new(),
            };
            let refused = e.kind() == ErrorKind::PermissionDenied;
            let why = if refused {
                format!("{listed_note}this kernel refuses to {stage} BPF LSM programs ({e})")
            } else {
                format!("{listed_note}{stage}ing a minimal BPF LSM program failed ({e})")
            };
            Err(LsmUnavailable { refused, not_supported: NotSupported { what: "BPF LSM".into(), why } })
        }
        // Loads and attaches, but never runs: the BPF LSM is not in the lsm= list.
        (Some(false), Ok(())) => Err(LsmUnavailable {
            refused: false,
            not_supported: NotSupported {
                what: "BPF LSM".into(),
                why: format!(
                    "\"bpf\" is not in {LSM_LIST} ({}): programs would attach but never run; \
                     boot with lsm=...,bpf",
                    lsms.as_deref().unwrap_or("")
                ),
            },
        }),
        (_, Ok(())) => Ok(()),
    }
}

fn load_and_attach_probe() -> Result<(), (&'static str, libbpf_rs::Error)> {
    let mut object = MaybeUninit::uninit();
    let open = skel::ProbeSkelBuilder::default().open(&mut object).map_err(|e| ("open", e))?;
    let skel = open.load().map_err(|e| ("load", e))?;
    let _link = skel.progs.probe_locked_down.attach_lsm().map_err(|e| ("attach", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(hooks: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |h| hooks.contains(&h)
    }

    #[test]
    fn hook_of_a_section() {
        assert_eq!(lsm_hook("lsm/file_open"), Some("file_open"));
        assert_eq!(lsm_hook("lsm.s/bprm_check_security"), Some("bprm_check_security"));
        assert_eq!(lsm_hook("kprobe/x"), None);
    }

    #[test]
    fn every_plain_hook_is_required() {
        let has = kernel(&["file_open", "bpf"]);
        assert_eq!(select_hooks(&["file_open", "bpf"], &[], &has), Ok(vec![true, true]));
        assert_eq!(select_hooks(&["file_open", "mmap_file", "bpf"], &[], &has), Err(vec!["mmap_file".to_string()]));
    }

    const MOUNT: HookAlternatives = &[&["mount_bind", "mount_new"], &["sb_mount", "move_mount"]];

    #[test]
    fn the_preferred_alternative_wins_where_the_kernel_has_all_of_it() {
        let progs = ["file_open", "mount_bind", "mount_new", "sb_mount", "move_mount"];
        let newer = kernel(&["file_open", "mount_bind", "mount_new", "sb_mount", "move_mount"]);
        assert_eq!(select_hooks(&progs, &[MOUNT], &newer), Ok(vec![true, true, true, false, false]));
        // A kernel that removed the old hooks.
        let newest = kernel(&["file_open", "mount_bind", "mount_new"]);
        assert_eq!(select_hooks(&progs, &[MOUNT], &newest), Ok(vec![true, true, true, false, false]));
    }

    #[test]
    fn an_older_kernel_gets_the_older_set() {
        let progs = ["file_open", "mount_bind", "mount_new", "sb_mount", "move_mount"];
        let older = kernel(&["file_open", "sb_mount", "move_mount"]);
        assert_eq!(select_hooks(&progs, &[MOUNT], &older), Ok(vec![true, false, false, true, true]));
        // Half of the new set is not the new set.
        let half = kernel(&["file_open", "mount_bind", "sb_mount", "move_mount"]);
        assert_eq!(select_hooks(&progs, &[MOUNT], &half), Ok(vec![true, false, false, true, true]));
    }

    #[test]
    fn no_complete_alternative_names_what_each_lacks() {
        let progs = ["file_open", "mount_bind", "mount_new", "sb_mount", "move_mount"];
        let neither = kernel(&["file_open", "mount_bind", "sb_mount"]);
        assert_eq!(select_hooks(&progs, &[MOUNT], &neither), Err(vec!["mount_new, or move_mount".to_string()]));
    }
}
