//! The pin tree: `<pin-root>/<protection>/{config,<hook>...}` on a BPF filesystem.
//!
//! Enforcement lives as long as the pins: bpflock pins and exits; deleting a protection's
//! directory detaches it. Re-applying a policy never leaves a gap: the new set is
//! attached and pinned in a staging directory while the old one still enforces, then
//! swapped into place (renameat2 RENAME_EXCHANGE), then the old one is dropped. Any
//! failure before the swap removes the staging directory and leaves the old pins as
//! they were.

use std::{
    fs::{self, File},
    io,
    os::{fd::AsRawFd, unix::fs::DirBuilderExt},
    path::{Path, PathBuf},
};

use crate::error::{Error, Result};

/// Where the default pin root's BPF filesystem is mounted when it is missing.
const BPFFS_MOUNTPOINT: &str = "/sys/fs/bpf";
/// bpffs refuses names with dots, so staging directories cannot be hidden ones.
pub const STAGING_PREFIX: &str = "staging-";

const BPF_FS_MAGIC: u32 = 0xcafe_4a11;

fn is_bpffs(path: &Path) -> io::Result<bool> {
    let st = nix::sys::statfs::statfs(path)?;
    // f_type's width differs between architectures; the magic fits in 32 bits.
    Ok(st.filesystem_type().0 as u32 == BPF_FS_MAGIC)
}

/// The nearest existing ancestor of `path` (itself included).
fn existing_ancestor(path: &Path) -> &Path {
    path.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"))
}

/// Makes sure `root` can hold pins: on a BPF filesystem (mounting one on /sys/fs/bpf for
/// the default root if none is there) and writable.
fn ensure_bpffs(root: &Path) -> Result<()> {
    let anchor = existing_ancestor(root).to_path_buf();
    if is_bpffs(&anchor).map_err(Error::io("cannot stat", &anchor))? {
        return Ok(());
    }
    let mountpoint = Path::new(BPFFS_MOUNTPOINT);
    if root.starts_with(mountpoint) && mountpoint.is_dir() && !is_bpffs(mountpoint).unwrap_or(false) {
        log::info!(target: "pins", "no BPF filesystem on {BPFFS_MOUNTPOINT}: mounting one");
        nix::mount::mount(
            Some("bpf"),
            mountpoint,
            Some("bpf"),
            nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV | nix::mount::MsFlags::MS_NOEXEC,
            Some("mode=0700"),
        )
        .map_err(|e| Error::io("cannot mount a BPF filesystem on", mountpoint)(e.into()))?;
        return Ok(());
    }
    Err(Error::NotBpffs { path: root.to_path_buf() })
}

/// The pin tree is out of sight (/sys/fs/bpf is mode 700): a matter of privilege, not of
/// nothing being pinned.
pub fn cannot_see(path: &Path, e: io::Error) -> Error {
    Error::NotPrivileged { what: format!("cannot see {}", path.display()), why: e.to_string() }
}

pub fn mkdir(path: &Path) -> Result<()> {
    match fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EROFS) => {
            Err(Error::ReadOnlyBpffs { path: path.to_path_buf(), source: e })
        }
        Err(e) => Err(Error::io("cannot create", path)(e)),
    }
}

/// The pin root, locked against a concurrent bpflock for as long as this lives.
pub struct PinRoot {
    pub path: PathBuf,
    _lock: File,
}

impl PinRoot {
    /// Opens `path` for changes: ensures the BPF filesystem and the directory, takes the
    /// lock, and removes staging directories a crashed run left behind.
    pub fn open_for_update(path: &Path) -> Result<Self> {
        ensure_bpffs(path)?;
        for dir in path.ancestors().collect::<Vec<_>>().into_iter().rev().skip(1) {
            if !dir.exists() {
                mkdir(dir)?;
            }
        }
        Self::lock(path)
    }

    /// Opens `path` to remove from it: None where nothing is pinned there. Creates nothing
    /// and mounts nothing (a command that removes must not create).
    pub fn open_existing(path: &Path) -> Result<Option<Self>> {
        match fs::symlink_metadata(path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Err(cannot_see(path, e)),
            Err(e) => return Err(Error::io("cannot stat", path)(e)),
        }
        if !is_bpffs(path).map_err(Error::io("cannot stat", path))? {
            return Err(Error::NotBpffs { path: path.to_path_buf() });
        }
        Self::lock(path).map(Some)
    }

    fn lock(path: &Path) -> Result<Self> {
        // A writable bpffs is needed even when the root exists: probe it now, before anything loads.
        let lock = File::open(path).map_err(Error::io("cannot open", path))?;
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(Error::Busy { path: path.to_path_buf() });
        }
        let root = Self { path: path.to_path_buf(), _lock: lock };
        for entry in fs::read_dir(path).map_err(Error::io("cannot read", path))?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
                log::warn!(target: "pins", "removing {} left by an interrupted run", entry.path().display());
                remove_tree(&entry.path())?;
            }
        }
        Ok(root)
    }

    pub fn staging(&self) -> Result<Staging> {
        let dir = self.path.join(format!("{STAGING_PREFIX}{}", std::process::id()));
        mkdir(&dir)?;
        Ok(Staging { dir, root: self.path.clone(), done: false })
    }

    pub fn protection_dir(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Removes one protection's pins and waits until the kernel has detached it.
    pub fn remove(&self, name: &str) -> Result<bool> {
        let dir = self.protection_dir(name);
        if !dir.exists() {
            return Ok(false);
        }
        let carried_guard = fs::read_dir(&dir)
            .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with(PINS_GUARD_PREFIX)))
            .unwrap_or(false);
        remove_and_wait(&dir);
        log::info!(target: name, "removed {}", dir.display());
        if carried_guard {
            log::warn!(
                target: name,
                "it carried the guard that keeps containers from bpflock's pins: re-apply the policy \
                 (bpflock bootstrap) for the protections left to be guarded again"
            );
        }
        Ok(true)
    }
}

/// Removes a pin directory and everything in it (no bpf() needed: works under bpfrestrict).
pub fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot remove", path)(e)),
    }
}

/// A directory where the new set is pinned before it replaces the old.
/// Dropped without `commit`, it is removed with what was pinned in it.
pub struct Staging {
    dir: PathBuf,
    root: PathBuf,
    done: bool,
}

impl Staging {
    pub fn protection_dir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.dir.join(name);
        mkdir(&dir)?;
        Ok(dir)
    }

    /// Moves each staged protection into place. The old pins of a replaced protection
    /// stay attached until the new ones are in place, then are removed.
    pub fn commit(mut self, names: &[&str]) -> Result<()> {
        for name in names {
            let staged = self.dir.join(name);
            let live = self.root.join(name);
            if live.exists() {
                exchange(&staged, &live)?;
                // `staged` now holds the old set: dropping it detaches the old programs.
                remove_and_wait(&staged);
            } else {
                fs::rename(&staged, &live).map_err(Error::io("cannot move into place", &live))?;
            }
        }
        self.done = true;
        remove_tree(&self.dir)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            // What was staged already enforces: wait until the kernel has detached it, so
            // that a failed bootstrap leaves exactly the old protections in force.
            if let Ok(entries) = fs::read_dir(&self.dir) {
                for entry in entries.flatten() {
                    remove_and_wait(&entry.path());
                }
            }
            if let Err(e) = remove_tree(&self.dir) {
                log::error!(target: "pins", "{e}");
            }
        }
    }
}

/// Pins of the guard's links: a protection whose directory has them carries the guard.
pub const PINS_GUARD_PREFIX: &str = "pins_guard_";

/// Where a protection pins its maps other than `config` and `state`: a directory, so that
/// status tells them from links (the files beside it).
pub const MAPS_DIR: &str = "maps";

/// Maps pinned beside a protection's links: its global data sections (`config`: .rodata,
/// `state`: .bss). Other maps are pinned in subdirectories (the jail's `maps/`).
pub const MAP_PINS: [&str; 2] = ["config", "state"];

/// Program ids behind the links pinned in `dir` and below it. What each pin is comes from
/// the kernel (a map pinned under any name is not taken for a link).
pub fn pinned_prog_ids(dir: &Path) -> io::Result<Vec<u32>> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            ids.extend(pinned_prog_ids(&path)?);
        } else if let Some(id) = link_prog_id_if_link(&path)? {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The program id of a pinned link; None for a pinned map or program.
fn link_prog_id_if_link(path: &Path) -> io::Result<Option<u32>> {
    let fd = obj_get(path)?;
    if kind_of(&fd)? != Kind::Link {
        return Ok(None);
    }
    link_info_prog_id(&fd).map(Some)
}

/// What a BPF object descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Link,
    Map,
    Prog,
}

/// The kernel's own word on what a descriptor is: its fdinfo has link_type, map_type or
/// prog_type (a map pinned under any name is not taken for a link).
pub fn kind_of(fd: &std::os::fd::OwnedFd) -> io::Result<Kind> {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))?;
    for (prefix, kind) in [("link_type:", Kind::Link), ("map_type:", Kind::Map), ("prog_type:", Kind::Prog)] {
        if info.lines().any(|l| l.starts_with(prefix)) {
            return Ok(kind);
        }
    }
    Err(io::Error::other("neither a map, a program nor a link"))
}

/// The kernel's info of a BPF object (`bpf_link_info`, `bpf_map_info`, `bpf_prog_info`).
pub fn obj_info<T: Default>(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<T> {
    let mut info = T::default();
    let mut len = std::mem::size_of::<T>() as u32;
    // SAFETY: info and len describe a valid buffer of the type the kernel fills.
    let ret = unsafe { libbpf_sys::bpf_obj_get_info_by_fd(fd.as_raw_fd(), (&mut info as *mut T).cast(), &mut len) };
    if ret < 0 {
        return Err(io::Error::from_raw_os_error(-ret));
    }
    Ok(info)
}

/// A pinned object, opened read-only where the kernel allows it: maps and programs. A link
/// has no read-only descriptor (BPF_OBJ_GET refuses BPF_F_RDONLY with EINVAL): it is opened
/// as the kernel allows, which a sealed pin tree gives the bpflock executable alone.
pub fn obj_get(path: &Path) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::{fd::FromRawFd, unix::ffi::OsStrExt};
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let get = |file_flags| {
        let opts = libbpf_sys::bpf_obj_get_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_obj_get_opts>() as libbpf_sys::size_t,
            file_flags,
            ..Default::default()
        };
        // SAFETY: valid NUL-terminated path and options.
        let fd = unsafe { libbpf_sys::bpf_obj_get_opts(c_path.as_ptr(), &opts) };
        match fd < 0 {
            true => Err(io::Error::last_os_error()),
            // SAFETY: fd was just returned by bpf_obj_get and is owned only here.
            false => Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }),
        }
    };
    match get(libbpf_sys::BPF_F_RDONLY) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => get(0),
        result => result,
    }
}

fn link_info_prog_id(fd: &std::os::fd::OwnedFd) -> io::Result<u32> {
    use std::os::fd::AsFd;
    obj_info::<libbpf_sys::bpf_link_info>(fd.as_fd()).map(|info| info.prog_id)
}

/// The id of the program a pinned link runs.
pub fn link_prog_id(path: &Path) -> io::Result<u32> {
    link_info_prog_id(&obj_get(path)?)
}

/// How long the kernel may go without releasing any of the unpinned links before bpflock
/// stops waiting (each release is an RCU grace period and a trampoline update: moments,
/// but seconds each under emulation, where 45 programs took longer than any fixed bound).
const DETACH_STALL: std::time::Duration = std::time::Duration::from_secs(10);

/// Removes a protection's pin directory and waits until its programs are detached, so
/// that when bpflock returns, what is enforced is exactly what is pinned.
///
/// Unpinning drops the last reference to each link, but the kernel releases links
/// asynchronously. The wait watches the programs' ids disappear, for as long as they keep
/// disappearing; where bpf() is denied (bpfrestrict restricted being removed), it waits
/// for bpf() to be allowed again.
fn remove_and_wait(dir: &Path) {
    let ids = pinned_prog_ids(dir);
    if let Err(e) = remove_tree(dir) {
        log::error!(target: "pins", "{e}");
        return;
    }
    let start = std::time::Instant::now();
    // How many of the programs the kernel still has (1 or 0 while bpf() is denied).
    let remaining = || match &ids {
        Ok(ids) => ids
            .iter()
            .filter(|id| {
                // SAFETY: plain syscall wrapper; a returned fd is closed at once.
                let fd = unsafe { libbpf_sys::bpf_prog_get_fd_by_id(**id) };
                if fd >= 0 {
                    // SAFETY: fd was just returned and is not used elsewhere.
                    unsafe { libc::close(fd) };
                }
                fd >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ENOENT)
            })
            .count(),
        Err(_) => {
            let mut next = 0u32;
            // SAFETY: plain syscall wrapper with a valid out pointer.
            let ret = unsafe { libbpf_sys::bpf_prog_get_next_id(0, &mut next) };
            (ret != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)) as usize
        }
    };
    let (mut left, mut progress) = (remaining(), std::time::Instant::now());
    while left > 0 {
        if progress.elapsed() > DETACH_STALL {
            log::warn!(
                target: "pins",
                "{} unpinned, but the kernel has released none of its {left} remaining programs for {DETACH_STALL:?}",
                dir.display()
            );
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        let now = remaining();
        if now < left {
            progress = std::time::Instant::now();
        }
        left = now;
    }
    log::debug!(target: "pins", "{} detached in {:?}", dir.display(), start.elapsed());
}

/// Atomically swaps two directories on the same bpffs.
fn exchange(a: &Path, b: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let cstr = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(io::Error::from);
    let swap = || -> io::Result<()> {
        let (a, b) = (cstr(a)?, cstr(b)?);
        // The system call itself: nix wraps renameat2 on glibc only, and musl has no wrapper.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if ret == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    swap().map_err(Error::io("cannot swap in the new pins at", b))
}
