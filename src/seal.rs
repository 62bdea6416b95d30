//! The seal (`[bpflock] seal = true`, `--seal`): once bootstrap has pinned every
//! protection, nothing can remove, weaken or detach them until the next boot — root and
//! bpflock included (docs/seal.md, bpf/seal.bpf.c). One file owns it: what a sealed policy
//! requires, setup, the test of being sealed, and its status.
//!
//! Not a protection of the list: it has no profile and no operations of its own, and it
//! is set up after all of them, over their pins.

use std::{
    collections::BTreeMap,
    fs, io,
    mem::MaybeUninit,
    os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use libbpf_rs::{skel::Skel as _, MapCore, MapFlags};
use serde::Serialize;

use crate::{
    abi,
    error::{Error, Result},
    events::{self, Shared},
    pins::{kind_of, obj_info as info, Kind},
    policy::Policy,
    protections::ALL,
    skel as skeleton,
};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/seal.skel.rs"));
}
use skel::*;

/// The command-line switch (`--seal`), as `[bpflock] seal = true`.
pub const FLAG: &str = "seal";

/// Its pin directory under the pin root; its presence is what "sealed" means to bpflock.
pub const DIR: &str = "seal";
const NAME: &str = "seal";
/// The pinned .bss (armed, and the pins' superblock recorded).
const STATE: &str = "state";

/// What a sealed policy leaves open, one line per protection that has to close a door
/// (`Protection::seal_gap`). Empty: the policy can be sealed.
pub fn gaps(policy: &Policy) -> Vec<String> {
    policy.sections().filter_map(|(p, s)| p.seal_gap(s).map(|gap| format!("{}: {gap}", p.name()))).collect()
}

/// Where a sealed policy may be applied: not from the initramfs (`/` of type rootfs). A
/// sealable policy closes bpf() to bpflock too, so bpflock.service could not re-apply it
/// in the real root — whose files the jail records and whose bpflock executable the
/// forwarder runs — nor seal it; and initramfs-tools moves /sys from a child of pid 1,
/// which the seal refuses.
///
/// And by a bpflock executable on the root filesystem: the seal trusts that executable by
/// its (device, inode), and the root is the one filesystem nobody unmounts (the seal
/// refuses moving it); another could be unmounted and mounted again with other contents
/// under the same identity. On btrfs a file's device is its subvolume's, which no
/// superblock has: refused too, as no identity would match.
pub fn check_where() -> Result<()> {
    let root = crate::kernel::root_mount()?;
    if root.fstype == "rootfs" {
        return Err(Error::SealFromInitramfs);
    }
    let (exe_dev, _) = crate::kernel::bpflock_exe_identity()?;
    if exe_dev != root.sb_dev {
        let exe = std::fs::read_link("/proc/self/exe").unwrap_or_else(|_| "/proc/self/exe".into());
        return Err(Error::SealExecutableOffRoot { exe });
    }
    Ok(())
}

/// Whether the pins under `pin_root` are sealed until the next boot.
pub fn is_sealed(pin_root: &Path) -> bool {
    pin_root.join(DIR).exists()
}

/// The refusal of a command that would change sealed pins.
pub fn refused(command: &str, pin_root: &Path) -> Error {
    Error::Sealed { command: command.to_string(), path: pin_root.join(DIR) }
}

/// The name of a seal event's operation (bpf/seal.h enum seal_op).
pub fn operation_name(op: u32) -> Option<&'static str> {
    Some(match op {
        abi::SEAL_OP_PINS => "pins",
        abi::SEAL_OP_UNMOUNT => "unmount",
        abi::SEAL_OP_MAP_WRITE => "map_write",
        abi::SEAL_OP_PROG => "prog",
        abi::SEAL_OP_LINK => "link",
        abi::SEAL_OP_PTRACE => "ptrace",
        abi::SEAL_OP_EXEC_TRACED => "exec_traced",
        abi::SEAL_OP_EXE => "executable",
        abi::SEAL_OP_LIMIT => "limit",
        abi::SEAL_OP_MOVE => "move",
        _ => return None,
    })
}

/// What bpflock pinned, by kernel id: the objects the seal keeps.
#[derive(Default)]
struct Sealed {
    /// Map id -> SEAL_BPFLOCK_WRITES or 0, and its pin (None: used by a program, unpinned).
    maps: BTreeMap<u32, (u32, Option<PathBuf>)>,
    progs: Vec<u32>,
    links: Vec<u32>,
    /// Inode numbers of the link pins.
    link_pins: Vec<u64>,
}

/// The ids of the maps a program uses.
fn prog_map_ids(prog_id: u32) -> io::Result<Vec<u32>> {
    // SAFETY: plain syscall wrapper.
    let fd = unsafe { libbpf_sys::bpf_prog_get_fd_by_id(prog_id) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new fd owned only here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let first: libbpf_sys::bpf_prog_info = info(fd.as_fd())?;
    let mut ids = vec![0u32; first.nr_map_ids as usize];
    let mut info = libbpf_sys::bpf_prog_info {
        nr_map_ids: first.nr_map_ids,
        map_ids: ids.as_mut_ptr() as u64,
        ..Default::default()
    };
    let mut len = std::mem::size_of_val(&info) as u32;
    // SAFETY: map_ids points to nr_map_ids u32s that live until the call returns.
    let ret = unsafe { libbpf_sys::bpf_obj_get_info_by_fd(fd.as_raw_fd(), &mut info as *mut _ as *mut _, &mut len) };
    if ret < 0 {
        return Err(io::Error::from_raw_os_error(-ret));
    }
    ids.truncate(info.nr_map_ids as usize);
    Ok(ids)
}

impl Sealed {
    /// Every object pinned under `dir` (the seal's own directory aside), the programs
    /// behind the links and the maps those programs use. `writable`: map pins bpflock
    /// writes after bootstrap.
    fn collect(&mut self, dir: &Path, writable: &[PathBuf]) -> Result<()> {
        let entries = fs::read_dir(dir).map_err(Error::io("cannot read", dir))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(Error::io("cannot stat", &path))?;
            if meta.is_dir() {
                if entry.file_name() != DIR {
                    self.collect(&path, writable)?;
                }
                continue;
            }
            let fd = crate::pins::obj_get(&path).map_err(Error::io("cannot open the pin", &path))?;
            match kind_of(&fd).map_err(Error::io("cannot tell what is pinned at", &path))? {
                Kind::Link => {
                    let link: libbpf_sys::bpf_link_info =
                        info(fd.as_fd()).map_err(Error::io("cannot read link", &path))?;
                    self.links.push(link.id);
                    self.link_pins.push(meta.ino());
                    self.add_prog(link.prog_id, &path)?;
                }
                Kind::Prog => {
                    let prog: libbpf_sys::bpf_prog_info =
                        info(fd.as_fd()).map_err(Error::io("cannot read program", &path))?;
                    self.add_prog(prog.id, &path)?;
                }
                Kind::Map => {
                    let map: libbpf_sys::bpf_map_info =
                        info(fd.as_fd()).map_err(Error::io("cannot read map", &path))?;
                    let flags = if writable.contains(&path) { abi::SEAL_BPFLOCK_WRITES } else { 0 };
                    self.maps.insert(map.id, (flags, Some(path)));
                }
            }
        }
        Ok(())
    }

    fn add_prog(&mut self, id: u32, pin: &Path) -> Result<()> {
        if self.progs.contains(&id) {
            return Ok(());
        }
        self.progs.push(id);
        for map in prog_map_ids(id).map_err(Error::io("cannot list the maps of the program behind", pin))? {
            self.maps.entry(map).or_insert((0, None));
        }
        Ok(())
    }
}

/// Freezes the maps bpflock does not write after bootstrap: no bpf() call can change them
/// any more, even through a descriptor opened before the seal. Where the kernel refuses
/// (a map type it cannot freeze, a writable memory mapping), the seal's bpf_map hook still
/// refuses every new writable descriptor. Returns the maps left unfrozen.
fn freeze(maps: &BTreeMap<u32, (u32, Option<PathBuf>)>) -> Vec<String> {
    let mut unfrozen = Vec::new();
    for (&id, (flags, pin)) in maps {
        if flags & abi::SEAL_BPFLOCK_WRITES != 0 {
            continue;
        }
        let name = pin.as_ref().map_or_else(|| format!("map {id}"), |p| p.display().to_string());
        // SAFETY: plain syscall wrappers; the fd is closed before the next map.
        let result = unsafe {
            let fd = libbpf_sys::bpf_map_get_fd_by_id(id);
            let frozen = || {
                fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
                    .is_ok_and(|info| info.lines().any(|l| l.split_whitespace().eq(["frozen:", "1"])))
            };
            if fd < 0 {
                Err(io::Error::last_os_error())
            } else if frozen() {
                libc::close(fd);
                Ok(())
            } else {
                let ret = libbpf_sys::bpf_map_freeze(fd);
                let e = io::Error::last_os_error();
                libc::close(fd);
                if ret == 0 {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        };
        if let Err(e) = result {
            log::debug!(target: NAME, "{name}: not frozen: {e}");
            unfrozen.push(name);
        }
    }
    unfrozen
}

/// Seals what is pinned under `root`: loads the seal's programs over the ids of every
/// object there, attaches and pins them in `root/seal`, arms them. Anything failing before
/// the programs are armed removes what the seal pinned: the protections stay, unsealed.
pub fn apply(root: &Path, shared: &Shared) -> Result<()> {
    let dir = root.join(DIR);
    crate::pins::mkdir(&dir)?;
    let armed = setup(root, &dir, shared);
    if let Err(e) = armed {
        crate::pins::remove_tree(&dir)?;
        return Err(e);
    }
    Ok(())
}

fn setup(root: &Path, dir: &Path, shared: &Shared) -> Result<()> {
    let mut writable: Vec<PathBuf> = vec![root.join(events::EVENTS_DIR).join(events::WRITTEN_BY_FORWARDER)];
    for p in ALL {
        writable.extend(p.maps_written_after_bootstrap().iter().map(|m| root.join(p.name()).join(m)));
    }
    let mut sealed = Sealed::default();
    sealed.collect(root, &writable)?;
    let (exe_dev, exe_ino) = crate::kernel::bpflock_exe_identity()?;

    let mut object = MaybeUninit::uninit();
    let mut open = skeleton::open(NAME, SealSkelBuilder::default(), &mut object)?;
    let config = open.maps.rodata_data.as_deref_mut().expect("the seal has .rodata");
    config.bpflock_exe_dev = exe_dev;
    config.bpflock_exe_ino = exe_ino;
    events::configure_events!(shared, open, config, crate::vocabulary::EventsMode::Deny)?;
    let mut skel = skeleton::load(NAME, open, &[])?;
    let own = |e: libbpf_rs::Error| Error::Protection { protection: NAME, message: format!("cannot record: {e}") };

    // Its own objects are sealed too.
    for prog in skel.object().progs() {
        sealed.progs.push(libbpf_rs::Program::id_from_fd(prog.as_fd()).map_err(own)?);
    }
    // Its maps and links join the tables below: counted now, before anything is frozen.
    let limit = abi::SEAL_MAX_OBJECTS as usize;
    let (own_maps, own_links) = (skel.object().maps().count(), skel.object().progs().count());
    if sealed.maps.len() + own_maps > limit || sealed.progs.len() > limit || sealed.links.len() + own_links > limit {
        return Err(Error::Protection {
            protection: NAME,
            message: format!("more objects pinned than the seal records ({limit} of each kind)"),
        });
    }
    // The protections' maps now; the seal's own once filled and armed (below).
    let unfrozen = freeze(&sealed.maps);
    for map in skel.object().maps() {
        let map: libbpf_sys::bpf_map_info = info(map.as_fd()).map_err(Error::io("cannot read its own map", dir))?;
        sealed.maps.entry(map.id).or_insert((0, None));
    }

    skeleton::attach_all(NAME, skel.object(), dir)?;
    // Its links, now that they exist, and their pins.
    for entry in fs::read_dir(dir).map_err(Error::io("cannot read", dir))?.flatten() {
        let path = entry.path();
        let fd = crate::pins::obj_get(&path).map_err(Error::io("cannot open the pin", &path))?;
        let link: libbpf_sys::bpf_link_info = info(fd.as_fd()).map_err(Error::io("cannot read link", &path))?;
        sealed.links.push(link.id);
        sealed.link_pins.push(entry.metadata().map_err(Error::io("cannot stat", &path))?.ino());
    }
    let m = &skel.maps;
    for (id, (flags, _)) in &sealed.maps {
        m.seal_maps.update(&id.to_ne_bytes(), &flags.to_ne_bytes(), MapFlags::ANY).map_err(own)?;
    }
    for (ids, map) in [(&sealed.progs, &m.seal_progs), (&sealed.links, &m.seal_links)] {
        for id in ids {
            map.update(&id.to_ne_bytes(), &1u32.to_ne_bytes(), MapFlags::ANY).map_err(own)?;
        }
    }
    for ino in &sealed.link_pins {
        m.seal_link_pins.update(&ino.to_ne_bytes(), &1u32.to_ne_bytes(), MapFlags::ANY).map_err(own)?;
    }
    // Opening and reading the pin root runs seal_file_open and seal_inode_permission on it,
    // which record the system's mount of the pins and their superblock: the unmount checks
    // start from them.
    fs::read_dir(root).map_err(Error::io("cannot read", root))?;
    let bss = skel.maps.bss_data.as_deref_mut().expect("the seal has a mmapable .bss");
    if bss.seal_pins_sb == 0 || bss.seal_pins_mnt == 0 {
        return Err(Error::Protection {
            protection: NAME,
            message: format!("the BPF filesystem of {} and its mount were not recorded", root.display()),
        });
    }
    skeleton::pin_map(&mut skel.maps.bss, dir, STATE)?;
    // Armed: from here every refusal holds, for bpflock too, until the next boot.
    let bss = skel.maps.bss_data.as_deref_mut().expect("the seal has a mmapable .bss");
    // SAFETY: a plain write to the mapped .bss, which the kernel reads concurrently.
    unsafe { std::ptr::write_volatile(&mut bss.seal_armed, 1) };
    let bss_mapping: *mut types::bss = bss;
    // The seal's own tables and state, frozen through the descriptors it still holds.
    skeleton::freeze_mapped(NAME, &skel.maps.bss, bss_mapping.cast(), std::mem::size_of::<types::bss>())?;
    for map in [&skel.maps.seal_maps, &skel.maps.seal_progs, &skel.maps.seal_links, &skel.maps.seal_link_pins] {
        // SAFETY: a plain bpf(BPF_MAP_FREEZE) on a map fd the skeleton owns.
        if unsafe { libbpf_sys::bpf_map_freeze(map.as_fd().as_raw_fd()) } != 0 {
            return Err(Error::UnableToFreeze { protection: NAME, source: io::Error::last_os_error() });
        }
    }
    log::info!(
        target: NAME,
        "sealed until reboot: {} maps ({} written by bpflock only), {} programs, {} links",
        sealed.maps.len(),
        sealed.maps.values().filter(|(f, _)| f & abi::SEAL_BPFLOCK_WRITES != 0).count(),
        sealed.progs.len(),
        sealed.links.len()
    );
    if !unfrozen.is_empty() {
        log::info!(
            target: NAME,
            "not frozen (the kernel refused; no new writable descriptor is given): {}",
            unfrozen.join(", ")
        );
    }
    Ok(())
}

/// `bpflock status` of the seal.
#[derive(Serialize)]
pub struct SealStatus {
    pub pin_dir: String,
    /// Whether its programs are armed, as the kernel holds it (None: unreadable).
    pub armed: Option<bool>,
    pub links: usize,
}

pub fn status(root: &Path) -> Option<SealStatus> {
    let dir = root.join(DIR);
    let entries = fs::read_dir(&dir).ok()?;
    let links = entries.flatten().filter(|e| e.file_name() != STATE).count();
    let armed = skeleton::read_map_value::<types::bss>(&dir, STATE).ok().map(|s| s.seal_armed != 0);
    Some(SealStatus { pin_dir: dir.display().to_string(), armed, links })
}
