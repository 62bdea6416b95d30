//! The kernel's USB authorization, read and written through sysfs. Every file is reached
//! from one descriptor of /sys (on sysfs: fstatfs) by a path with no symlink and no `..`
//! (bus/usb/devices/N is resolved first), one component at a time, none a symlink and each
//! on /sys' own mount (statx's mount id): a file or directory bind-mounted over one of
//! sysfs' (in a mount namespace of one's own), or a detour through another mount, is
//! refused, never taken for the kernel's. No /proc path is trusted. (Not
//! openat2(RESOLVE_NO_XDEV): udevd's system call filter answers ENOSYS to it on Debian 12.)
//! Paths here are relative to /sys.

use std::{
    collections::BTreeMap,
    ffi::CString,
    fs::File,
    io::{self, Read, Write},
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd},
        unix::{ffi::OsStrExt, fs::MetadataExt},
    },
    path::{Component, Path, PathBuf},
};

use super::rules::{ClassTriple, DeviceIds};

const SYSFS_MAGIC: i64 = 0x6265_6572;

/// /sys, opened once.
pub struct Sysfs {
    root: OwnedFd,
    mount_id: u64,
}

/// Adds the path to an error.
fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("/sys/{}: {e}", path.display()))
}

/// The id of the mount a descriptor's file is on.
fn mount_id(fd: i32) -> io::Result<u64> {
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: statx(fd, "", AT_EMPTY_PATH) into a zeroed struct of the kernel's layout.
    let ret = unsafe {
        libc::syscall(libc::SYS_statx, fd, c"".as_ptr(), libc::AT_EMPTY_PATH, libc::STATX_MNT_ID, &mut stx as *mut libc::statx)
    };
    if ret != 0 {
        return Err(io::Error::last_os_error());
    }
    if stx.stx_mask & libc::STATX_MNT_ID == 0 {
        return Err(io::Error::other("statx gives no mount id"));
    }
    Ok(stx.stx_mnt_id)
}

/// `dir` joined with a relative symlink `target`, `..` applied; None where it leaves /sys.
fn join_link(dir: &Path, target: &Path) -> Option<PathBuf> {
    let mut parts: Vec<std::ffi::OsString> = dir.components().map(|c| c.as_os_str().to_owned()).collect();
    for c in target.components() {
        match c {
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(name) => parts.push(name.to_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.iter().collect())
}

impl Sysfs {
    pub fn open() -> io::Result<Self> {
        let file = File::open("/sys")?;
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: fstatfs on a descriptor this function owns, into a zeroed struct.
        if unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if st.f_type as i64 != SYSFS_MAGIC {
            return Err(io::Error::other("/sys is not sysfs"));
        }
        let mount_id = mount_id(file.as_raw_fd())?;
        Ok(Self { root: file.into(), mount_id })
    }

    /// A file or directory below /sys by a path with no symlink and no `..`, walked one
    /// component at a time from the /sys descriptor: each opened without following a
    /// symlink, and each on /sys' own mount.
    fn open_at(&self, path: &Path, flags: i32) -> io::Result<File> {
        let mut components = Vec::new();
        for c in path.components() {
            match c {
                Component::Normal(name) => components.push(CString::new(name.as_bytes()).map_err(io::Error::other)?),
                _ => return Err(at(path)(io::Error::other("not a plain relative path"))),
            }
        }
        let Some(last) = components.pop() else { return Err(at(path)(io::Error::other("an empty path"))) };
        let mut dir: Option<File> = None;
        let step = |dir: &Option<File>, name: &CString, flags: i32| -> io::Result<File> {
            let base = dir.as_ref().map_or(self.root.as_raw_fd(), |d| d.as_raw_fd());
            // SAFETY: openat with a NUL-terminated name, relative to a directory this owns.
            let fd = unsafe { libc::openat(base, name.as_ptr(), flags | libc::O_CLOEXEC | libc::O_NOFOLLOW) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: a descriptor openat just returned, owned by nobody else.
            let file = unsafe { File::from_raw_fd(fd) };
            match mount_id(file.as_raw_fd())? == self.mount_id {
                true => Ok(file),
                false => Err(io::Error::from_raw_os_error(libc::EXDEV)),
            }
        };
        for name in &components {
            dir = Some(step(&dir, name, libc::O_PATH | libc::O_DIRECTORY).map_err(at(path))?);
        }
        step(&dir, &last, flags).map_err(at(path))
    }

    /// What a symlink of sysfs names (bus/usb/devices/1-1 -> devices/.../1-1).
    pub fn resolve(&self, link: &Path) -> io::Result<PathBuf> {
        let name = CString::new(link.as_os_str().as_bytes()).map_err(io::Error::other)?;
        let mut buf = vec![0u8; 4096];
        // SAFETY: readlinkat into a buffer of the size given.
        let n = unsafe { libc::readlinkat(self.root.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(at(link)(io::Error::last_os_error()));
        }
        buf.truncate(n as usize);
        let target = PathBuf::from(std::ffi::OsString::from(std::ffi::OsStr::from_bytes(&buf)));
        join_link(link.parent().unwrap_or(Path::new("")), &target)
            .ok_or_else(|| at(link)(io::Error::other("a link out of /sys")))
    }

    pub fn read_bytes(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open_at(path, libc::O_RDONLY)?.read_to_end(&mut bytes).map_err(at(path))?;
        Ok(bytes)
    }

    pub fn read(&self, path: &Path) -> io::Result<String> {
        Ok(String::from_utf8_lossy(&self.read_bytes(path)?).trim_end().to_string())
    }

    /// Writes `value` to an attribute in one write(2).
    pub fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        self.open_at(path, libc::O_WRONLY)?.write_all(value.as_bytes()).map_err(at(path))
    }

    pub fn exists(&self, path: &Path) -> bool {
        self.open_at(path, libc::O_PATH).is_ok()
    }

    /// The names in a directory, read from its descriptor.
    fn names(&self, path: &Path) -> io::Result<Vec<String>> {
        let dir = self.open_at(path, libc::O_RDONLY | libc::O_DIRECTORY)?;
        let mut names = Vec::new();
        // SAFETY: fdopendir takes the descriptor (released from `dir`) and closedir closes
        // it; readdir's entries are read before the next call.
        unsafe {
            let stream = libc::fdopendir(std::os::fd::IntoRawFd::into_raw_fd(dir));
            if stream.is_null() {
                return Err(at(path)(io::Error::last_os_error()));
            }
            loop {
                let entry = libc::readdir(stream);
                if entry.is_null() {
                    break;
                }
                let name = std::ffi::CStr::from_ptr((*entry).d_name.as_ptr());
                if let Ok(name) = name.to_str() {
                    if name != "." && name != ".." {
                        names.push(name.to_string());
                    }
                }
            }
            libc::closedir(stream);
        }
        names.sort();
        Ok(names)
    }

    fn hex_u16(&self, dir: &Path, name: &str) -> io::Result<u16> {
        let text = self.read(&dir.join(name))?;
        u16::from_str_radix(&text, 16).map_err(|_| io::Error::other(format!("/sys/{}/{name}: \"{text}\"", dir.display())))
    }

    fn hex_u8(&self, dir: &Path, name: &str) -> Option<u8> {
        u8::from_str_radix(&self.read(&dir.join(name)).ok()?, 16).ok()
    }
}

/// A USB device in sysfs (not an interface).
#[derive(Debug, Clone)]
pub struct UsbDevice {
    /// Its directory, relative to /sys, with no symlink (devices/.../1-1).
    pub dir: PathBuf,
    pub ids: DeviceIds,
    /// Its directory's inode: the key of the pinned `present` map.
    pub ino: u64,
    pub authorized: bool,
    pub product_name: Option<String>,
}

/// One interface directory of a configured device (1-1:1.0).
#[derive(Debug, Clone)]
pub struct UsbInterface {
    pub dir: PathBuf,
    pub name: String,
    pub key: (u8, u8),
    /// Its current altsetting's class, subclass and protocol.
    pub class: ClassTriple,
    pub authorized: bool,
}

/// Whether a sysfs name is a root hub ("usb1").
pub fn is_root_hub(name: &str) -> bool {
    name.strip_prefix("usb").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Whether a sysfs name is a device below a root hub ("1-1", "3-2.4"), not an interface.
pub fn is_device_name(name: &str) -> bool {
    name.split_once('-').is_some_and(|(bus, _)| !bus.is_empty() && bus.chars().all(|c| c.is_ascii_digit()))
        && !name.contains(':')
}

/// The devices directory, relative to /sys.
pub const DEVICES: &str = "bus/usb/devices";
/// usbcore's `authorized_default` parameter (absent until usbcore is loaded).
pub const USBCORE_PARAM: &str = "module/usbcore/parameters/authorized_default";

impl UsbDevice {
    pub fn read(sys: &Sysfs, dir: &Path) -> io::Result<Self> {
        let port = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let descriptors = sys.read_bytes(&dir.join("descriptors"))?;
        let (interfaces, malformed) = match super::rules::parse_descriptors(&descriptors) {
            Ok(interfaces) => (interfaces, None),
            Err(why) => (BTreeMap::new(), Some(why)),
        };
        let ids = DeviceIds {
            vendor: sys.hex_u16(dir, "idVendor")?,
            product: sys.hex_u16(dir, "idProduct")?,
            serial: sys.read(&dir.join("serial")).ok(),
            port,
            interfaces,
            malformed,
        };
        Ok(Self {
            ino: sys.open_at(dir, libc::O_PATH | libc::O_DIRECTORY)?.metadata()?.ino(),
            authorized: sys.read(&dir.join("authorized"))? == "1",
            product_name: sys.read(&dir.join("product")).ok(),
            ids,
            dir: dir.to_path_buf(),
        })
    }

    pub fn name(&self) -> &str {
        &self.ids.port
    }

    /// The interfaces the kernel made for its active configuration.
    pub fn interfaces(&self, sys: &Sysfs) -> Vec<UsbInterface> {
        let prefix = format!("{}:", self.name());
        let mut found: Vec<UsbInterface> = sys
            .names(&self.dir)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|name| {
                let (config, number) = name.strip_prefix(&prefix)?.split_once('.')?;
                let dir = self.dir.join(&name);
                Some(UsbInterface {
                    key: (config.parse().ok()?, number.parse().ok()?),
                    class: (
                        sys.hex_u8(&dir, "bInterfaceClass")?,
                        sys.hex_u8(&dir, "bInterfaceSubClass")?,
                        sys.hex_u8(&dir, "bInterfaceProtocol")?,
                    ),
                    authorized: sys.read(&dir.join("authorized")).ok()? == "1",
                    dir,
                    name,
                })
            })
            .collect();
        found.sort_by_key(|i| i.key);
        found
    }
}

/// The names of /sys/bus/usb/devices: none where there is no USB bus (usbcore not loaded).
fn usb_device_names(sys: &Sysfs) -> io::Result<Vec<String>> {
    match sys.names(Path::new(DEVICES)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound && !sys.exists(Path::new("bus/usb")) => Ok(vec![]),
        other => other,
    }
}

/// Every USB device but the root hubs: each read, or why it could not be (by its directory).
pub fn devices(sys: &Sysfs) -> io::Result<Vec<Result<UsbDevice, (PathBuf, io::Error)>>> {
    Ok(usb_device_names(sys)?
        .into_iter()
        .filter(|name| is_device_name(name))
        .map(|name| {
            let link = Path::new(DEVICES).join(name);
            let dir = sys.resolve(&link).map_err(|e| (link, e))?;
            UsbDevice::read(sys, &dir).map_err(|e| (dir, e))
        })
        .collect())
}

/// Every root hub's directory.
pub fn root_hubs(sys: &Sysfs) -> io::Result<Vec<PathBuf>> {
    usb_device_names(sys)?
        .into_iter()
        .filter(|name| is_root_hub(name))
        .map(|name| sys.resolve(&Path::new(DEVICES).join(name)))
        .collect()
}

/// A root hub's defaults and usbcore's, as (file, value): what `lock_hub` sets to 0.
pub fn hub_defaults(sys: &Sysfs, hub: &Path) -> Vec<(PathBuf, io::Result<String>)> {
    ["authorized_default", "interface_authorized_default"]
        .iter()
        .map(|name| hub.join(name))
        .chain(std::iter::once(PathBuf::from(USBCORE_PARAM)))
        .map(|path| {
            let value = sys.read(&path);
            (path, value)
        })
        .collect()
}

/// Sets a root hub's `authorized_default` and `interface_authorized_default` and usbcore's
/// parameter to 0, writing only what is not 0 already; a default that cannot be read is an
/// error (a root hub means usbcore is loaded). Returns what it wrote.
pub fn lock_hub(sys: &Sysfs, hub: &Path) -> io::Result<Vec<String>> {
    let (mut written, mut failed) = (Vec::new(), Vec::new());
    // Every file tried: one that fails leaves the others to lock.
    for (path, value) in hub_defaults(sys, hub) {
        match value.and_then(|v| if v == "0" { Ok(false) } else { sys.write(&path, "0").map(|()| true) }) {
            Ok(true) => written.push(format!("/sys/{}", path.display())),
            Ok(false) => {}
            Err(e) => failed.push(e.to_string()),
        }
    }
    match failed.is_empty() {
        true => Ok(written),
        false => Err(io::Error::other(failed.join("; "))),
    }
}

/// The root hub a device is under: the `usbN` component of its path, where it has one.
pub fn root_hub_of(dir: &Path) -> Option<PathBuf> {
    let mut hub = PathBuf::new();
    for c in dir.components() {
        hub.push(c);
        if c.as_os_str().to_str().is_some_and(is_root_hub) {
            return Some(hub);
        }
    }
    None
}

/// A device's `present` key: its directory's inode.
pub fn present_key(ino: u64) -> [u8; 8] {
    ino.to_ne_bytes()
}

/// What `authorize` changed, for the log.
#[derive(Debug, Default)]
pub struct Applied {
    pub device: Option<bool>,
    pub interfaces: BTreeMap<String, bool>,
}

/// Brings a device and its interfaces to `allowed` and `interface_allowed`, writing only what
/// differs: the device's `authorized` first (configuring it creates its interfaces, at once),
/// then every interface's, all before any driver is probed (a driver may claim a sibling
/// interface, cdc_ether its data interface), then drivers_probe for each newly authorized one
/// (authorizing an interface binds nothing by itself).
pub fn authorize(
    sys: &Sysfs,
    device: &UsbDevice,
    allowed: bool,
    interface_allowed: impl Fn(&UsbInterface) -> bool,
) -> io::Result<Applied> {
    let mut applied = Applied::default();
    let device_file = device.dir.join("authorized");
    if !allowed {
        if device.authorized {
            sys.write(&device_file, "0")?;
            applied.device = Some(false);
        }
        return Ok(applied);
    }
    if !device.authorized {
        sys.write(&device_file, "1")?;
        applied.device = Some(true);
    }
    let mut probe = Vec::new();
    for interface in device.interfaces(sys) {
        let want = interface_allowed(&interface);
        if want == interface.authorized {
            continue;
        }
        sys.write(&interface.dir.join("authorized"), if want { "1" } else { "0" })?;
        applied.interfaces.insert(interface.name.clone(), want);
        if want {
            probe.push(interface.name);
        }
    }
    for name in probe {
        // No driver for it is not an error of ours.
        match sys.write(Path::new("bus/usb/drivers_probe"), &name) {
            Err(e) if e.raw_os_error() != Some(libc::ENODEV) && e.raw_os_error() != Some(libc::EINVAL) => return Err(e),
            _ => {}
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_root_hub("usb1") && is_root_hub("usb12") && !is_root_hub("usb") && !is_root_hub("1-1"));
        assert!(is_device_name("1-1") && is_device_name("3-2.4") && !is_device_name("1-1:1.0") && !is_device_name("usb1"));
        assert_eq!(root_hub_of(Path::new("devices/pci0000:00/0000:00:03.0/usb1/1-1")), Some("devices/pci0000:00/0000:00:03.0/usb1".into()));
        assert_eq!(root_hub_of(Path::new("bus/usb/devices/1-1")), None);
        assert_eq!(
            join_link(Path::new("bus/usb/devices"), Path::new("../../../devices/pci0000:00/usb1/1-1")),
            Some("devices/pci0000:00/usb1/1-1".into())
        );
        assert_eq!(join_link(Path::new("bus/usb/devices"), Path::new("../../../../etc")), None);
    }
}
