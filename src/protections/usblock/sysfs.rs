//! The kernel's USB authorization, read and written through sysfs. Every file is opened
//! without following a final symlink and must be on sysfs (fstatfs): a file bind-mounted
//! over an attribute, or a tree mounted over /sys, is not taken for the kernel's.

use std::{
    collections::BTreeMap,
    fs::{self, File},
    io::{self, Read, Write},
    os::{fd::AsRawFd, unix::fs::{MetadataExt, OpenOptionsExt}},
    path::{Path, PathBuf},
};

use super::rules::DeviceIds;

const SYSFS_MAGIC: i64 = 0x6265_6572;

pub fn root() -> PathBuf {
    PathBuf::from("/sys")
}

fn on_sysfs(file: &File, path: &Path) -> io::Result<()> {
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatfs on a descriptor this function's caller owns, into a zeroed struct.
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    match st.f_type as i64 == SYSFS_MAGIC {
        true => Ok(()),
        false => Err(io::Error::other(format!("{} is not on sysfs", path.display()))),
    }
}

fn open(path: &Path, write: bool) -> io::Result<File> {
    let file = fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    on_sysfs(&file, path)?;
    Ok(file)
}

pub fn read_bytes(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(path, false)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

pub fn read(path: &Path) -> io::Result<String> {
    Ok(String::from_utf8_lossy(&read_bytes(path)?).trim_end().to_string())
}

/// Writes `value` to a sysfs attribute in one write(2).
pub fn write(path: &Path, value: &str) -> io::Result<()> {
    open(path, true)?.write_all(value.as_bytes())
}

/// A USB device in sysfs (not an interface).
#[derive(Debug, Clone)]
pub struct UsbDevice {
    /// Its directory (/sys/bus/usb/devices/1-1 resolved).
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
    pub authorized: bool,
}

fn hex_u16(dir: &Path, name: &str) -> io::Result<u16> {
    let text = read(&dir.join(name))?;
    u16::from_str_radix(&text, 16).map_err(|_| io::Error::other(format!("{}/{name}: \"{text}\"", dir.display())))
}

/// Whether a sysfs name is a root hub ("usb1").
pub fn is_root_hub(name: &str) -> bool {
    name.strip_prefix("usb").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Whether a sysfs name is a device below a root hub ("1-1", "3-2.4"), not an interface.
pub fn is_device_name(name: &str) -> bool {
    name.split_once('-').is_some_and(|(bus, _)| bus.chars().all(|c| c.is_ascii_digit())) && !name.contains(':')
}

impl UsbDevice {
    pub fn read(dir: &Path) -> io::Result<Self> {
        let dir = fs::canonicalize(dir)?;
        let port = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let descriptors = read_bytes(&dir.join("descriptors"))?;
        let ids = DeviceIds {
            vendor: hex_u16(&dir, "idVendor")?,
            product: hex_u16(&dir, "idProduct")?,
            serial: read(&dir.join("serial")).ok(),
            port,
            interfaces: super::rules::parse_descriptors(&descriptors),
        };
        Ok(Self {
            ino: fs::metadata(&dir)?.ino(),
            authorized: read(&dir.join("authorized"))? == "1",
            product_name: read(&dir.join("product")).ok(),
            ids,
            dir,
        })
    }

    pub fn name(&self) -> &str {
        &self.ids.port
    }

    /// The interfaces the kernel made for its active configuration.
    pub fn interfaces(&self) -> Vec<UsbInterface> {
        let prefix = format!("{}:", self.name());
        let mut found: Vec<UsbInterface> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let (config, number) = name.strip_prefix(&prefix)?.split_once('.')?;
                let dir = e.path();
                Some(UsbInterface {
                    key: (config.parse().ok()?, number.parse().ok()?),
                    authorized: read(&dir.join("authorized")).ok()? == "1",
                    dir,
                    name,
                })
            })
            .collect();
        found.sort_by_key(|i| i.key);
        found
    }
}

/// Every USB device but the root hubs, by name.
pub fn devices() -> Vec<UsbDevice> {
    let mut found: Vec<UsbDevice> = fs::read_dir(root().join("bus/usb/devices"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_device_name))
        .filter_map(|e| UsbDevice::read(&e.path()).ok())
        .collect();
    found.sort_by(|a, b| a.ids.port.cmp(&b.ids.port));
    found
}

/// Every root hub's directory.
pub fn root_hubs() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(root().join("bus/usb/devices"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_root_hub))
        .filter_map(|e| fs::canonicalize(e.path()).ok())
        .collect();
    found.sort();
    found
}

/// usbcore's `authorized_default` parameter (absent until usbcore is loaded).
pub fn usbcore_param() -> PathBuf {
    root().join("module/usbcore/parameters/authorized_default")
}

/// The root hub's defaults and usbcore's, as (file, value): what `lock_hub` sets to 0.
pub fn hub_defaults(hub: &Path) -> Vec<(PathBuf, Option<String>)> {
    ["authorized_default", "interface_authorized_default"]
        .iter()
        .map(|name| hub.join(name))
        .chain(std::iter::once(usbcore_param()))
        .map(|path| {
            let value = read(&path).ok();
            (path, value)
        })
        .collect()
}

/// Sets a root hub's `authorized_default` and `interface_authorized_default` and usbcore's
/// parameter to 0, writing only what is not 0 already. Returns what it wrote.
pub fn lock_hub(hub: &Path) -> io::Result<Vec<String>> {
    let mut written = Vec::new();
    for (path, value) in hub_defaults(hub) {
        match value.as_deref() {
            None | Some("0") => continue,
            Some(_) => {
                write(&path, "0").map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                written.push(path.display().to_string());
            }
        }
    }
    Ok(written)
}

/// A device's `present` key: its directory's inode.
pub fn present_key(ino: u64) -> [u8; 8] {
    ino.to_ne_bytes()
}

fn with_path(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
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
    device: &UsbDevice,
    allowed: bool,
    interface_allowed: impl Fn((u8, u8)) -> bool,
) -> io::Result<Applied> {
    let mut applied = Applied::default();
    let device_file = device.dir.join("authorized");
    if !allowed {
        if device.authorized {
            write(&device_file, "0").map_err(with_path(&device_file))?;
            applied.device = Some(false);
        }
        return Ok(applied);
    }
    if !device.authorized {
        write(&device_file, "1").map_err(with_path(&device_file))?;
        applied.device = Some(true);
    }
    let mut probe = Vec::new();
    for interface in device.interfaces() {
        let want = interface_allowed(interface.key);
        if want == interface.authorized {
            continue;
        }
        let file = interface.dir.join("authorized");
        write(&file, if want { "1" } else { "0" }).map_err(with_path(&file))?;
        applied.interfaces.insert(interface.name.clone(), want);
        if want {
            probe.push(interface.name);
        }
    }
    let drivers_probe = root().join("bus/usb/drivers_probe");
    for name in probe {
        // No driver for it is not an error of ours.
        match write(&drivers_probe, &name) {
            Err(e) if e.raw_os_error() != Some(libc::ENODEV) && e.raw_os_error() != Some(libc::EINVAL) => {
                return Err(with_path(&drivers_probe)(e))
            }
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
    }
}
