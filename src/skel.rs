//! Skeleton helpers every protection's setup uses: open and load (choosing programs by the
//! running kernel's hooks), attach and pin every loaded program, the pins guard, and reading
//! back a pinned global data section as the skeleton's type.

use std::{io, path::Path};

use libbpf_rs::{
    skel::{OpenSkel, Skel, SkelBuilder},
    MapCore, MapFlags, MapHandle,
};

use crate::{
    error::{Error, Result},
    pins::PINS_GUARD_PREFIX,
};

/// Opens a skeleton, naming the protection in the error.
pub fn open<'o, B: SkelBuilder<'o>>(
    protection: &'static str,
    builder: B,
    object: &'o mut std::mem::MaybeUninit<libbpf_rs::OpenObject>,
) -> Result<B::Output> {
    builder.open(object).map_err(|source| Error::UnableToLoad { protection, source })
}

/// Loads an opened skeleton, naming the protection in the error. Its programs are first
/// matched with the running kernel's hooks (`kernel::select_hooks`; the hook is the
/// program's section): of `alternatives`, only the set the kernel has is loaded, and a hook
/// the kernel lacks refuses the protection, naming the hook and the kernel.
pub fn load<'o, S: OpenSkel<'o>>(
    protection: &'static str,
    mut open: S,
    alternatives: &[crate::kernel::HookAlternatives],
) -> Result<S::Output>
where
    S::Output: Skel<'o>,
{
    select_programs(protection, open.open_object_mut(), alternatives)?;
    open.load().map_err(|source| Error::UnableToLoad { protection, source })
}

/// Whether the running kernel has the hooks of a protection's programs (`probe`): None, or
/// what it lacks.
pub fn missing_hooks<'o, B: SkelBuilder<'o>>(
    protection: &'static str,
    builder: B,
    object: &'o mut std::mem::MaybeUninit<libbpf_rs::OpenObject>,
    alternatives: &[crate::kernel::HookAlternatives],
) -> Result<Option<String>> {
    let mut open = open(protection, builder, object)?;
    match select_programs(protection, open.open_object_mut(), alternatives) {
        Ok(()) => Ok(None),
        Err(Error::NotSupported(e)) => Ok(Some(e.why)),
        Err(e) => Err(e),
    }
}

/// Turns off the programs whose hooks `kernel::select_hooks` leaves out; programs already
/// off (the policy does not need them) are left out of the choice.
fn select_programs(
    protection: &'static str,
    object: &mut libbpf_rs::OpenObject,
    alternatives: &[crate::kernel::HookAlternatives],
) -> Result<()> {
    let kernel_hooks = crate::kernel::running_lsm_hooks()?;
    let mut progs: Vec<_> = object.progs_mut().filter(|p| p.autoload()).collect();
    let hooks: Vec<String> = progs
        .iter()
        .map(|p| {
            let section = p.section().to_string_lossy();
            crate::kernel::lsm_hook(&section).unwrap_or(&section).to_string()
        })
        .collect();
    let hooks: Vec<&str> = hooks.iter().map(String::as_str).collect();
    match crate::kernel::select_hooks(&hooks, alternatives, &|h| kernel_hooks.contains(h)) {
        Ok(load) => {
            for (prog, load) in progs.iter_mut().zip(load) {
                prog.set_autoload(load);
            }
            Ok(())
        }
        Err(missing) => Err(crate::error::NotSupported {
            what: protection.into(),
            why: format!(
                "this kernel ({}) has no LSM hook {} (no bpf_lsm_<hook> in its BTF)",
                crate::kernel::release(),
                missing.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", ")
            ),
        }
        .into()),
    }
}

/// The bytes of a skeleton's plain-data type (a map key or value), as the map stores them.
pub fn bytes_of<T>(value: &T) -> &[u8] {
    // SAFETY: T is a plain-data skeleton type; its bytes are what the map stores.
    unsafe { std::slice::from_raw_parts((value as *const T).cast(), std::mem::size_of::<T>()) }
}

pub fn pin_map(map: &mut libbpf_rs::MapMut<'_>, dir: &Path, name: &str) -> Result<()> {
    let path = dir.join(name);
    map.pin(&path).map_err(|source| Error::UnableToPinMap { path, source })
}

/// Before load: whether this protection carries the pins guard (`BPFLOCK_PINS_GUARD`,
/// bpf/pins.bpf.h), its programs (`<protection>_pins_guard_<hook>`) loaded only if so. The
/// first lock of a bootstrap that restricts anything carries it for every pin: under
/// baseline and restricted, the pins are out of reach of the tasks the locks restrict.
pub fn carries_pins_guard(
    protection: &'static str,
    shared: &crate::events::Shared,
    restricts: bool,
    object: &mut libbpf_rs::OpenObject,
) -> bool {
    let carries = restricts && !shared.pins_guarded.get();
    if carries {
        shared.pins_guarded.set(true);
    }
    let prefix = format!("{protection}_{PINS_GUARD_PREFIX}");
    for mut prog in object.progs_mut() {
        if prog.name().to_string_lossy().starts_with(&prefix) {
            prog.set_autoload(carries);
        }
    }
    carries
}

/// After load: attaches every loaded program, in the order the source defines them (the
/// order they run in where two share a hook), and pins each link as `dir/<pin>`: the
/// program's name without `<protection>_` (`jail_file_open` -> `file_open`). From here the
/// programs enforce, and keep enforcing after bpflock exits.
pub fn attach_all(protection: &'static str, object: &libbpf_rs::Object, dir: &Path) -> Result<()> {
    let prefix = format!("{protection}_");
    for prog in object.progs_mut().filter(|p| p.autoload()) {
        let name = prog.name().to_string_lossy().into_owned();
        let pin = name.strip_prefix(&prefix).unwrap_or(&name);
        let mut link =
            prog.attach_lsm().map_err(|source| Error::UnableToAttach { protection, program: name.clone(), source })?;
        let path = dir.join(pin);
        link.pin(&path).map_err(|source| Error::UnableToPinLink { path, source })?;
    }
    Ok(())
}

/// Freezes a map whose memory this process has mapped writable (a skeleton's .bss, at
/// `mapping`, `len` bytes): the mapping is first replaced in place by a read-only one, since
/// the kernel freezes no map with a writable mapping. After this no bpf() call, root's
/// included, changes it; the programs still may.
pub fn freeze_mapped(
    protection: &'static str,
    map: &libbpf_rs::MapMut<'_>,
    mapping: *mut std::ffi::c_void,
    len: usize,
) -> Result<()> {
    use std::os::fd::{AsFd, AsRawFd};
    let fd = map.as_fd().as_raw_fd();
    let len = (len + 4095) & !4095;
    // SAFETY: the address and length are libbpf's mapping of this very map; MAP_FIXED
    // replaces it with a read-only mapping of the same pages, which libbpf unmaps later.
    let remapped = unsafe { libc::mmap(mapping, len, libc::PROT_READ, libc::MAP_SHARED | libc::MAP_FIXED, fd, 0) };
    if remapped == libc::MAP_FAILED {
        return Err(Error::UnableToFreeze { protection, source: io::Error::last_os_error() });
    }
    freeze(protection, map)
}

/// Freezes a map no process has mapped (bpf(BPF_MAP_FREEZE)): no bpf() call changes it
/// after this, root's included; the programs still may.
pub fn freeze(protection: &'static str, map: &libbpf_rs::MapMut<'_>) -> Result<()> {
    use std::os::fd::{AsFd, AsRawFd};
    // SAFETY: a plain bpf(BPF_MAP_FREEZE) on a map fd the skeleton owns.
    if unsafe { libbpf_sys::bpf_map_freeze(map.as_fd().as_raw_fd()) } != 0 {
        return Err(Error::UnableToFreeze { protection, source: io::Error::last_os_error() });
    }
    Ok(())
}

/// A pinned map opened read-only (BPF_F_RDONLY): what status and the counters need, and
/// all a sealed system gives (bpf/seal.bpf.c).
pub fn open_read_only(path: &Path) -> libbpf_rs::Result<MapHandle> {
    MapHandle::from_pinned_path_with_file_flags(path, libbpf_sys::BPF_F_RDONLY)
}

/// The value of a pinned one-entry config map: a frozen .rodata, read back as the
/// skeleton's `types::rodata`.
pub fn read_config<T: Copy>(dir: &Path) -> Result<T> {
    read_map_value(dir, "config")
}

/// The value of a pinned one-entry map (a global data section: .rodata, .bss), read back as
/// the skeleton's type of that section.
pub fn read_map_value<T: Copy>(dir: &Path, name: &str) -> Result<T> {
    let size = std::mem::size_of::<T>();
    let path = dir.join(name);
    let map = open_read_only(&path).map_err(|e| Error::io("cannot open pinned map", &path)(io::Error::other(e)))?;
    let value = map
        .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
        .map_err(|e| Error::io("cannot read pinned map", &path)(io::Error::other(e)))?
        .unwrap_or_default();
    // The section may end before the Rust type's tail padding (a 4-byte bool after 8-byte
    // fields: 52 bytes against 56); anything shorter is another layout.
    if value.len() + std::mem::align_of::<T>() <= size {
        return Err(Error::io("unexpected layout of", &path)(io::Error::other(format!(
            "{} bytes, this bpflock expects {size}",
            value.len()
        ))));
    }
    let mut bytes = vec![0u8; size];
    let n = value.len().min(size);
    bytes[..n].copy_from_slice(&value[..n]);
    // SAFETY: T is the skeleton's plain-data layout of this very map's value, and the
    // buffer holds size_of::<T>() bytes (the missing tail is padding, zeroed).
    Ok(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) })
}
