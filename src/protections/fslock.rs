//! fslock: the filesystem ways out of a container (kernel tunables, mounts) and a read-only
//! root filesystem (bpf/fslock.bpf.c). Laid out as kimglock.rs; `rootfs` is its own key,
//! outside the profile.

use std::{fs, mem::MaybeUninit, os::unix::fs::FileTypeExt, path::Path};

use libbpf_rs::skel::{OpenSkel as _, Skel as _};
use serde::Deserialize;
use toml::Spanned;

use crate::{
    abi,
    error::{Error, PolicyError, Result},
    events,
    kernel::KernelBtf,
    lock::{self, LockKeys},
    lock_flag,
    overrides::{override_lock, Flag, FlagKind, Overrides},
    protection::{self, Protection, ProtectionStatus, Section, SetupContext},
    section_any, skel as skeleton,
    vocabulary::{parse_switch, Defaults, Document, EventsMode, LockPolicy, Operation, RawList},
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/fslock.skel.rs"));
}
use skel::{types, FslockSkelBuilder};

const NAME: &str = "fslock";

pub struct Fslock;

const fn op(name: &'static str, bit: u32, about: &'static str) -> Operation {
    Operation { name, bit, about }
}

/// Policy names and bits (bpf/fslock.h enum fslock_op; a unit test holds them equal). A file
/// counts under its most specific name: allowing `proc_sys` does not allow `core_pattern`.
const OPERATIONS: &[Operation] = &[
    op("core_pattern", 0, "writing /proc/sys/kernel/core_pattern (a |program run as root at each crash)"),
    op("modprobe", 1, "writing /proc/sys/kernel/modprobe (run as root for an unknown binary format)"),
    op("uevent_helper", 2, "writing /sys/kernel/uevent_helper or /proc/sys/kernel/hotplug"),
    op("release_agent", 3, "a cgroup v1 release_agent: writing it or notify_on_release, remounting or mounting a hierarchy (CVE-2022-0492)"),
    op("sysrq", 4, "writing /proc/sysrq-trigger"),
    op("binfmt_misc", 5, "writing to binfmt_misc (registering an interpreter)"),
    op("proc_sys", 6, "any other write under /proc/sys"),
    op("sysfs", 7, "any other write to sysfs"),
    op("mount_blockdev", 8, "mounting or remounting a filesystem on a block device (the host's disk)"),
    op("mount_debugfs", 9, "mounting debugfs"),
    op("mount_tracefs", 10, "mounting tracefs"),
    op("mount_securityfs", 11, "mounting securityfs"),
    op("mount_bpf", 12, "mounting a BPF filesystem"),
    op("mount_configfs", 13, "mounting configfs"),
    op("mount_cgroup1", 14, "mounting a cgroup v1 hierarchy (also needs release_agent: its mount options set one)"),
    op("poweroff_cmd", 15, "writing /proc/sys/kernel/poweroff_cmd (run as root at an orderly poweroff)"),
    op("proc_sys_net", 16, "writing /proc/sys/net of the task's own network namespace (not the host's)"),
    op("blockdev", 17, "opening a block device: the host's disk read or written raw"),
    op("efivarfs", 18, "mounting or writing efivarfs: the firmware's boot variables"),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFslock {
    profile: Spanned<String>,
    allow: Option<RawList>,
    block: Option<RawList>,
    rootfs: Option<Spanned<String>>,
    events: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

/// fslock's part of the policy.
#[derive(Debug)]
struct FslockPolicy {
    lock: LockPolicy,
    /// rootfs = "ro": nothing writes the root filesystem.
    rootfs_ro: bool,
}

impl Section for FslockPolicy {
    /// rootfs = "ro" alone loads it too, whatever the profile.
    fn wanted(&self) -> bool {
        self.lock.enabled() || self.rootfs_ro
    }
    fn describe(&self) -> String {
        let mut line = self.lock.describe(OPERATIONS);
        if self.rootfs_ro {
            line.push_str("; rootfs read-only");
        }
        line
    }
    fn events(&self) -> EventsMode {
        self.lock.events
    }
    section_any!();
}

/// `rootfs`: "ro" or "rw" (the default: not locked).
fn parse_rootfs(value: &str) -> Result<bool, String> {
    parse_switch(value, "ro", "rw", "value").map_err(|e| format!("rootfs: {e}"))
}

const FLAGS: &[Flag] = &[
    lock_flag!(profile, "fslock", "fslock profile: allow, baseline or restricted"),
    lock_flag!(mode, "fslock"),
    lock_flag!(
        allow,
        "fslock",
        "baseline only: tunable writes and mounts still allowed outside the initial pid namespace (comma-separated)"
    ),
    lock_flag!(block, "fslock", "baseline only: tunable writes and mounts denied to every process (comma-separated)"),
    Flag {
        name: "fslock-rootfs",
        kind: FlagKind::Value("ro|rw"),
        help: "ro: nothing writes the root filesystem, root included, until reboot",
    },
];

impl Protection for Fslock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn operations(&self) -> &'static [Operation] {
        OPERATIONS
    }

    /// Event operations: the lists', and rootfs = "ro"'s (bpf/fslock.h).
    fn operation_name(&self, op: u32) -> std::borrow::Cow<'static, str> {
        match abi::name_of(abi::FSLOCK_OP, op) {
            Some(name) => name.into(),
            None => op.to_string().into(),
        }
    }

    fn flags(&self) -> &'static [Flag] {
        FLAGS
    }

    fn parse(&self, doc: &Document<'_>, defaults: &Defaults) -> Result<Box<dyn Section>, PolicyError> {
        let absent = || LockPolicy { events: defaults.events, ..LockPolicy::ALLOW };
        let Some(raw) = doc.section::<RawFslock>(NAME)? else {
            return Ok(Box::new(FslockPolicy { lock: absent(), rootfs_ro: false }));
        };
        let rootfs_ro = match &raw.rootfs {
            Some(v) => parse_rootfs(v.get_ref()).map_err(|m| doc.checker.error(v.span(), format!("{NAME}.{m}")))?,
            None => false,
        };
        let lock = LockKeys {
            profile: &raw.profile,
            allow: raw.allow.as_ref(),
            block: raw.block.as_ref(),
            events: raw.events.as_ref(),
            mode: raw.mode.as_ref(),
        }
        .policy(doc, defaults, NAME, OPERATIONS)?;
        Ok(Box::new(FslockPolicy { lock, rootfs_ro }))
    }

    fn apply_overrides(&self, section: &mut dyn Section, o: &Overrides) -> Result<()> {
        let policy = protection::section_mut::<FslockPolicy>(section);
        override_lock(&mut policy.lock, NAME, OPERATIONS, o)?;
        if let Some(value) = o.value("fslock-rootfs") {
            policy.rootfs_ro =
                parse_rootfs(value).map_err(|message| Error::Override { flag: "--fslock-rootfs".into(), message })?;
        }
        Ok(())
    }

    fn missing_hooks(&self) -> Result<Option<String>> {
        skeleton::missing_hooks(NAME, FslockSkelBuilder::default(), &mut MaybeUninit::uninit(), OPTIONAL_HOOKS)
    }

    fn probe(&self, section: &dyn Section, _btf: &KernelBtf) -> (Vec<String>, Option<crate::error::NotSupported>) {
        let policy = protection::section::<FslockPolicy>(section);
        let mut lines = Vec::new();
        if !Path::new("/sys/kernel/uevent_helper").exists() {
            lines.push(
                "fslock: this kernel has no uevent helper (CONFIG_UEVENT_HELPER): uevent_helper is never written"
                    .into(),
            );
        }
        if policy.rootfs_ro {
            match root_filesystem() {
                Ok(Some(root)) => lines.push(format!("fslock: rootfs read-only: {}", root.describe())),
                Ok(None) => lines.push(format!("fslock: rootfs read-only: {INITRAMFS_ROOT}")),
                Err(e) => lines.push(format!("fslock: rootfs read-only: {e}")),
            }
        }
        (lines, None)
    }

    fn setup(&self, section: &dyn Section, ctx: &SetupContext<'_>) -> Result<()> {
        let FslockPolicy { lock: policy, rootfs_ro } = protection::section(section);
        let root = match rootfs_ro {
            true => root_filesystem()?,
            false => None,
        };
        if *rootfs_ro && root.is_none() {
            log::warn!(target: NAME, "rootfs read-only: {INITRAMFS_ROOT}");
        }
        let mut object = MaybeUninit::uninit();
        let mut open = skeleton::open(NAME, FslockSkelBuilder::default(), &mut object)?;
        let config = open.maps.rodata_data.as_deref_mut().expect("fslock has .rodata");
        config.fslock_profile = policy.profile as u32;
        config.fslock_allow_mask = policy.allow.0;
        config.fslock_block_mask = policy.block.0;
        config.bpflock_complain = policy.complain;
        config.fslock_setattr_idmap = ctx.btf.func_params("bpf_lsm_inode_setattr") == Some(3);
        config.fslock_rootfs_deferred = *rootfs_ro && root.is_none();
        if let Some(root) = &root {
            log::info!(target: NAME, "rootfs read-only: {}", root.describe());
            config.fslock_root_dev = root.dev;
            for (slot, dev) in config.fslock_root_devices.iter_mut().zip(&root.devices) {
                *slot = *dev;
            }
        }
        events::configure_events!(ctx.shared, open, config, policy.events)?;
        for mut prog in open.open_object_mut().progs_mut() {
            if prog.name().to_string_lossy().starts_with(ROOTFS_PROGRAMS) {
                prog.set_autoload(root.is_some());
            }
        }
        // Removing fslock's pins unlocks the root: rootfs alone guards them too.
        let restricts = policy.enforces() || (root.is_some() && !policy.complain);
        skeleton::carries_pins_guard(NAME, ctx.shared, restricts, open.open_object_mut());
        let mut skel = skeleton::load(NAME, open, OPTIONAL_HOOKS)?;
        events::pin_events!(ctx.shared, skel)?;
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
            c.fslock_profile,
            c.fslock_allow_mask,
            c.fslock_block_mask,
            c.bpflock_events_mode,
            c.bpflock_complain,
        );
        let rootfs = if c.fslock_root_dev != 0 {
            let devices: Vec<String> =
                c.fslock_root_devices.iter().filter(|d| **d != 0).map(|d| kernel_dev_name(*d)).collect();
            st.policy_notes.push(format!(
                "rootfs read-only ({}; devices {})",
                kernel_dev_name(c.fslock_root_dev),
                devices.join(", ")
            ));
            "ro"
        } else if c.fslock_rootfs_deferred {
            st.lines.push(format!("rootfs read-only not applied: {INITRAMFS_ROOT}"));
            "ro (not applied: initramfs)"
        } else {
            "rw"
        };
        st.details.insert("rootfs".into(), rootfs.into());
    }
}

/// The programs of rootfs = "ro" (`fslock_rootfs_<hook>`): loaded only where it is asked.
const ROOTFS_PROGRAMS: &str = "fslock_rootfs_";

/// rootfs hooks that only some kernels have, loaded where they are: POSIX ACLs (6.2+),
/// 32-bit ioctls (6.8+, backported), file_setattr(2) (6.17+). Older kernels have no such
/// way to write: ACLs were xattrs, 32-bit ioctls crossed file_ioctl.
const OPTIONAL_HOOKS: &[crate::kernel::HookAlternatives] =
    &[&[&["inode_set_acl", "inode_remove_acl"], &[]], &[&["file_ioctl_compat"], &[]], &[&["inode_file_setattr"], &[]]];

const INITRAMFS_ROOT: &str =
    "/ is the initramfs; the root filesystem is locked by the bootstrap after switch_root (bpflock.service)";

/// The root filesystem as bootstrap sees it, for rootfs = "ro".
struct RootFs {
    /// Its superblock's s_dev (kernel encoding).
    dev: u32,
    fstype: String,
    source: String,
    /// Its block devices: the one it is on, the disk of a partition, what a device-mapper
    /// or md device is built on.
    devices: Vec<u32>,
}

impl RootFs {
    fn describe(&self) -> String {
        let devices: Vec<String> = self.devices.iter().map(|d| kernel_dev_name(*d)).collect();
        format!(
            "{} ({}, {}; block devices refused for writing: {})",
            self.source,
            self.fstype,
            kernel_dev_name(self.dev),
            if devices.is_empty() { "none".into() } else { devices.join(", ") }
        )
    }
}

fn kernel_dev(major: u32, minor: u32) -> u32 {
    (major << 20) | minor
}

fn kernel_dev_name(dev: u32) -> String {
    format!("{}:{}", dev >> 20, dev & 0xfffff)
}

/// `/`'s filesystem, or None where `/` is the initramfs (mountinfo type "rootfs"): the real
/// root is not mounted yet.
fn root_filesystem() -> Result<Option<RootFs>> {
    let root = crate::kernel::root_mount()?;
    if root.fstype == "rootfs" {
        return Ok(None);
    }
    let mut devices = Vec::new();
    block_devices(root.sb_dev, &mut devices, 0);
    // btrfs and others mount an anonymous device: the source names the disk.
    if let Ok(meta) = fs::metadata(&root.source) {
        if meta.file_type().is_block_device() {
            use std::os::unix::fs::MetadataExt;
            let rdev = meta.rdev();
            block_devices(kernel_dev(libc::major(rdev), libc::minor(rdev)), &mut devices, 0);
        }
    }
    if devices.len() > abi::FSLOCK_ROOT_DEVICES as usize {
        return Err(Error::Protection {
            protection: NAME,
            message: format!(
                "rootfs read-only: the root filesystem sits on {} block devices, more than the {} this build records",
                devices.len(),
                abi::FSLOCK_ROOT_DEVICES
            ),
        });
    }
    Ok(Some(RootFs { dev: root.sb_dev, fstype: root.fstype, source: root.source, devices }))
}

/// `dev` if it is a block device (/sys/dev/block), the disk it is a partition of, and the
/// devices it is built on (slaves), each in turn.
fn block_devices(dev: u32, out: &mut Vec<u32>, depth: usize) {
    let sys = Path::new("/sys/dev/block").join(kernel_dev_name(dev));
    if depth > 8 || out.contains(&dev) || !sys.exists() {
        return;
    }
    out.push(dev);
    let read_dev = |dir: &Path| -> Option<u32> {
        let text = fs::read_to_string(dir.join("dev")).ok()?;
        let (major, minor) = text.trim().split_once(':')?;
        Some(kernel_dev(major.parse().ok()?, minor.parse().ok()?))
    };
    if sys.join("partition").exists() {
        if let Some(disk) = fs::canonicalize(&sys).ok().and_then(|p| p.parent().and_then(read_dev)) {
            block_devices(disk, out, depth + 1);
        }
    }
    for slave in fs::read_dir(sys.join("slaves")).into_iter().flatten().flatten() {
        if let Some(d) = read_dev(&slave.path()) {
            block_devices(d, out, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootfs_values() {
        assert_eq!(parse_rootfs("ro"), Ok(true));
        assert_eq!(parse_rootfs("rw"), Ok(false));
        assert!(parse_rootfs("r0").unwrap_err().contains("did you mean"));
    }

    #[test]
    fn kernel_device_numbers() {
        assert_eq!(kernel_dev(254, 1), (254 << 20) | 1);
        assert_eq!(kernel_dev_name(kernel_dev(8, 17)), "8:17");
    }
}
