//! `bpflock usb-authorize` (udev runs it for each USB device added), the judging of the
//! devices attached at bootstrap, `bpflock usb list`, and usblock's part of `status`. All
//! decide by the pinned rules, never the policy file: an edited file changes nothing until
//! the next bootstrap.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{
    refused,
    rules::{self, class_name, Decision, Reason, Rule},
    sysfs::{self, Sysfs, UsbDevice},
    Pinned, UsblockPolicy, NAME,
};
use crate::{error::Result, protection::ProtectionStatus};

fn judge(p: &Pinned, dev: &UsbDevice) -> Decision {
    rules::decide(&p.rules, &dev.ids, p.present_allow && p.is_present(dev.ino))
}

/// "1-1 0627:0001 \"QEMU USB Keyboard\"".
fn describe(dev: &UsbDevice) -> String {
    let mut s = format!("{} {:04x}:{:04x}", dev.name(), dev.ids.vendor, dev.ids.product);
    if let Some(name) = &dev.product_name {
        s.push_str(&format!(" \"{name}\""));
    }
    s
}

fn reason_text(rules: &[Rule], dev: &UsbDevice, d: &Decision) -> String {
    let mut text = match &d.reason {
        Reason::Present => "allowed: attached at boot (present = \"allow\")".to_string(),
        Reason::Rule(i) => format!("allowed by {}", rules.get(*i).map_or("?", |r| r.at.as_str())),
        Reason::NoRule => "refused: no rule allows it".into(),
    };
    if let Some(why) = &dev.ids.malformed {
        text.push_str(&format!(" (its descriptors are refused: {why}; only a rule without class can allow it)"));
    }
    text
}

fn sysfs() -> Result<Sysfs> {
    Sysfs::open().map_err(|e| refused(format!("/sys: {e}")))
}

/// Judges one device by the pinned rules and brings its authorization in line, logging the
/// decision and what was written.
fn apply(sys: &Sysfs, p: &Pinned, dev: &UsbDevice) -> Result<()> {
    let d = judge(p, dev);
    let allowed = d.allowed() || p.complain;
    let applied = sysfs::authorize(sys, dev, allowed, |i| {
        p.complain || d.configured_interface_allowed(&dev.ids, i.key, i.class)
    })
    .map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::PermissionDenied => format!(
                " (refused: under profile {}, only the bpflock executable bootstrap recorded may write it, \
                 from the initial pid namespace; this one is {})",
                p.profile,
                std::env::current_exe().map(|e| e.display().to_string()).unwrap_or_default()
            ),
            _ => String::new(),
        };
        refused(format!("{}: {e}{hint}", describe(dev)))
    })?;
    let mut line = format!("{}: {}", describe(dev), reason_text(&p.rules, dev, &d));
    if p.complain && !d.allowed() {
        line = format!("{}: would be refused, no rule allows it (complain mode: authorized)", describe(dev));
    }
    let interfaces: Vec<String> = applied
        .interfaces
        .iter()
        .map(|(name, on)| format!("{name} {}", if *on { "authorized" } else { "refused" }))
        .collect();
    if !interfaces.is_empty() {
        line.push_str(&format!(" (interfaces: {})", interfaces.join(", ")));
    }
    if applied.device.is_none() && applied.interfaces.is_empty() {
        line.push_str(" (unchanged)");
    }
    match d.allowed() {
        true => log::info!(target: NAME, "{line}"),
        false => log::warn!(target: NAME, "{line}"),
    }
    Ok(())
}

/// Locks a root hub: its defaults and usbcore's at 0.
fn lock_hub(sys: &Sysfs, hub: &Path) -> Result<()> {
    let written = sysfs::lock_hub(sys, hub).map_err(|e| refused(format!("locking root hub: {e}")))?;
    for file in written {
        log::info!(target: NAME, "{file}: 0");
    }
    Ok(())
}

/// A device that cannot be read cannot be judged: taken back where the kernel authorized it.
fn refuse_unreadable(sys: &Sysfs, dir: &Path, e: &std::io::Error) -> String {
    let taken_back = match sys.read(&dir.join("authorized")).as_deref() {
        Ok("0") => "not authorized".to_string(),
        _ => match sys.write(&dir.join("authorized"), "0") {
            Ok(()) => "deauthorized".to_string(),
            Err(w) => format!("and cannot be deauthorized: {w}"),
        },
    };
    format!("/sys/{}: cannot be judged ({e}): {taken_back}", dir.display())
}

/// After bootstrap: every root hub locked, every attached device judged by the pins in `dir`.
/// Failures are reported together, after everything else was tried: the hubs are locked
/// first, whatever else fails.
pub fn apply_pinned(dir: &Path) -> Result<()> {
    let sys = sysfs()?;
    let mut failed = Vec::new();
    match sysfs::root_hubs(&sys) {
        Ok(hubs) => {
            for hub in hubs {
                if let Err(e) = lock_hub(&sys, &hub) {
                    failed.push(e.to_string());
                }
            }
        }
        Err(e) => failed.push(format!("the root hubs cannot be listed: {e}")),
    }
    if !sys.exists(Path::new(sysfs::USBCORE_PARAM)) {
        log::warn!(target: NAME, "usbcore is not loaded: controllers added before the udev rule runs start unlocked unless usbcore.authorized_default=0 is on the kernel command line");
    }
    let p = Pinned::read(dir)?.ok_or_else(|| refused(format!("{} is not pinned", dir.display())))?;
    match sysfs::devices(&sys) {
        Ok(devices) => {
            for dev in devices {
                let outcome = match dev {
                    Ok(dev) => apply(&sys, &p, &dev),
                    // Gone meanwhile (a refused hub takes the devices behind it along).
                    Err((_, e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err((dir, e)) => Err(refused(refuse_unreadable(&sys, &dir, &e))),
                };
                match outcome {
                    Err(crate::error::Error::Protection { message, .. }) if message.contains("No such file") => {}
                    Err(e) => failed.push(e.to_string()),
                    Ok(()) => {}
                }
            }
        }
        Err(e) => failed.push(format!("the USB devices cannot be listed: {e}")),
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(refused(failed.join("; "))),
    }
}

/// Where usb-authorize reads the pins: the system's pin root, reached through pid 1's root
/// (`/proc/1/root/...`), so that the path is walked in pid 1's mount namespace: a BPF
/// filesystem mounted over /sys/fs/bpf, or over one of the pin directories, in a mount
/// namespace of one's own, is not on the way. /proc must be this pid namespace's procfs
/// (its `self` is this process).
fn system_pins_dir() -> Result<PathBuf> {
    let proc_ = std::fs::File::open("/proc").map_err(|e| refused(format!("/proc: {e}")))?;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatfs on a descriptor this function owns, into a zeroed struct.
    let on_procfs = unsafe { libc::fstatfs(std::os::fd::AsRawFd::as_raw_fd(&proc_), &mut st) } == 0
        && st.f_type as i64 == 0x9fa0;
    let own = std::fs::read_link("/proc/self").ok().and_then(|p| p.to_str()?.parse::<u32>().ok());
    if !on_procfs || own != Some(std::process::id()) {
        return Err(refused("/proc is not this pid namespace's procfs: the system's pins cannot be found".into()));
    }
    let root = Path::new(crate::cli::DEFAULT_PIN_ROOT);
    Ok(Path::new("/proc/1/root").join(root.strip_prefix("/").unwrap_or(root)).join(NAME))
}

/// `bpflock usb-authorize DEVPATH`: DEVPATH as udev gives it (%p, /devices/...), a USB
/// device, root hub or interface (its device is judged).
pub fn usb_authorize(devpath: &str) -> Result<()> {
    if !devpath.starts_with("/devices/") || devpath.split('/').any(|c| c == ".." || c == ".") {
        return Err(crate::error::Error::Override {
            flag: "DEVPATH".into(),
            message: format!("\"{devpath}\" is not a device path as udev gives it (/devices/...)"),
        });
    }
    let Some(p) = Pinned::read(&system_pins_dir()?)? else {
        // Debug only: the udev rule runs for every USB device wherever bpflock is installed.
        log::debug!(target: NAME, "not bootstrapped: {devpath} left as the kernel set it");
        return Ok(());
    };
    let sys = sysfs()?;
    let mut dir = PathBuf::from(devpath.trim_start_matches('/'));
    let uevent = sys.read(&dir.join("uevent")).map_err(|e| refused(e.to_string()))?;
    let devtype = uevent.lines().find_map(|l| l.strip_prefix("DEVTYPE=")).unwrap_or_default().to_string();
    match devtype.as_str() {
        "usb_interface" => dir = dir.parent().map(Path::to_path_buf).unwrap_or(dir),
        "usb_device" => {}
        _ => {
            log::debug!(target: NAME, "{devpath}: not a USB device or interface ({devtype})");
            return Ok(());
        }
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    // Its root hub first: a device is never authorized under a hub that authorizes the
    // interfaces of the next by itself. A failure is reported after the device is judged.
    let hub_locked = sysfs::root_hub_of(&dir).map_or(Ok(()), |hub| lock_hub(&sys, &hub));
    if sysfs::is_root_hub(&name) {
        return hub_locked;
    }
    let judged = match UsbDevice::read(&sys, &dir) {
        Ok(dev) => apply(&sys, &p, &dev),
        Err(e) => Err(refused(refuse_unreadable(&sys, &dir, &e))),
    };
    judged.and(hub_locked)
}

/// The rule `usb list` suggests for a device: its id, serial and the classes of its interfaces.
fn suggestion(dev: &UsbDevice) -> Rule {
    let mut classes: Vec<rules::ClassPattern> = Vec::new();
    for alts in dev.ids.interfaces.values() {
        for &(cls, ..) in alts {
            let pattern = rules::ClassPattern { cls, subclass: 0, protocol: 0, mask: 1 };
            if !classes.contains(&pattern) {
                classes.push(pattern);
            }
        }
    }
    Rule {
        vendor: Some(dev.ids.vendor),
        product: Some(dev.ids.product),
        serial: dev.ids.serial.clone().filter(|s| rules::parse_serial(s).is_ok()),
        port: None,
        classes,
        at: String::new(),
    }
}

/// The rules `usb list` judges by: a policy file's, or the pinned ones.
fn list_rules(pin_root: &Path, policy: Option<&Path>) -> Result<(Vec<Rule>, bool, Option<Pinned>, String)> {
    if let Some(path) = policy {
        let policy = crate::policy::Policy::load(Some(path))?;
        let (_, section) = policy.sections().find(|(p, _)| p.name() == NAME).expect("usblock is a protection");
        let s = crate::protection::section::<UsblockPolicy>(section);
        return Ok((s.rules.clone(), s.present_allow, None, path.display().to_string()));
    }
    match Pinned::read(&pin_root.join(NAME))? {
        Some(p) => Ok((p.rules.clone(), p.present_allow, Some(p), "the pinned rules".into())),
        None => Ok((vec![], false, None, "no rules (usblock is not pinned)".into())),
    }
}

/// `bpflock usb list`: every USB device, the rule it matches, and a rule that would allow it.
pub fn list(pin_root: &Path, policy: Option<&Path>, json: bool) -> Result<()> {
    let (rules, present_allow, pinned, source) = list_rules(pin_root, policy)?;
    let sys = sysfs()?;
    let mut report = Vec::new();
    for dev in sysfs::devices(&sys).map_err(|e| refused(format!("the USB devices cannot be listed: {e}")))? {
        let dev = match dev {
            Ok(dev) => dev,
            Err((dir, e)) => {
                report.push(json!({ "port": dir.file_name().map(|n| n.to_string_lossy().into_owned()), "error": e.to_string() }));
                continue;
            }
        };
        let present = present_allow && pinned.as_ref().is_some_and(|p| p.is_present(dev.ino));
        let d = rules::decide(&rules, &dev.ids, present);
        let interfaces: Vec<serde_json::Value> = dev
            .ids
            .interfaces
            .iter()
            .map(|((config, number), alts)| {
                json!({
                    "configuration": config, "interface": number,
                    "classes": alts.iter().map(|(c, s, p)| format!("{c:02x}:{s:02x}:{p:02x}")).collect::<Vec<_>>(),
                    "class": alts.first().map(|(c, ..)| class_name(*c)),
                    "allowed": d.interface_allowed((*config, *number)),
                })
            })
            .collect();
        report.push(json!({
            "port": dev.name(),
            "id": format!("{:04x}:{:04x}", dev.ids.vendor, dev.ids.product),
            "serial": dev.ids.serial,
            "product": dev.product_name,
            "authorized": dev.authorized,
            "allowed": d.allowed(),
            "decision": reason_text(&rules, &dev, &d),
            "interfaces": interfaces,
            "suggested_rule": suggestion(&dev).to_toml(),
        }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&json!({ "rules": source, "devices": report })).expect("JSON"));
        return Ok(());
    }
    println!("judged by {source}");
    for d in &report {
        if let Some(e) = d["error"].as_str() {
            println!("{}: cannot be read: {e}", d["port"].as_str().unwrap_or("?"));
            continue;
        }
        let serial = d["serial"].as_str().map(|s| format!(" serial \"{s}\"")).unwrap_or_default();
        let product = d["product"].as_str().map(|s| format!(" \"{s}\"")).unwrap_or_default();
        let state = if d["authorized"] == true { "authorized" } else { "not authorized" };
        println!("{} {}{product}{serial}: {state}", d["port"].as_str().unwrap_or(""), d["id"].as_str().unwrap_or(""));
        for i in d["interfaces"].as_array().into_iter().flatten() {
            println!(
                "  interface {}.{}: {} ({}){}",
                i["configuration"],
                i["interface"],
                i["class"].as_str().unwrap_or("?"),
                i["classes"].as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
                if i["allowed"] == true { "" } else { ", refused" }
            );
        }
        println!("  {}", d["decision"].as_str().unwrap_or(""));
        println!("  rule: {}", d["suggested_rule"].as_str().unwrap_or(""));
    }
    Ok(())
}

/// usblock's part of `bpflock status`: the root hubs' and usbcore's defaults, and each device
/// with its decision.
pub fn status(dir: &Path, st: &mut ProtectionStatus) {
    let sys = match Sysfs::open() {
        Ok(sys) => sys,
        Err(e) => return st.unreadable.push(format!("/sys: {e}")),
    };
    let hubs = match sysfs::root_hubs(&sys) {
        Ok(hubs) => hubs,
        Err(e) => return st.unreadable.push(format!("the root hubs cannot be listed: {e}")),
    };
    let mut unlocked = Vec::new();
    for hub in &hubs {
        for (path, value) in sysfs::hub_defaults(&sys, hub) {
            match value {
                Ok(v) if v == "0" => {}
                Ok(v) => unlocked.push(format!("/sys/{} = {v}", path.display())),
                Err(e) => unlocked.push(e.to_string()),
            }
        }
    }
    unlocked.sort();
    unlocked.dedup();
    match unlocked.is_empty() {
        true => st.lines.push(format!("{} root hubs, every default at 0", hubs.len())),
        false => {
            for u in &unlocked {
                st.differs.push(format!("unlocked: {u}"));
            }
        }
    }
    let pinned = match Pinned::read(dir) {
        Ok(p) => p,
        Err(e) => return st.unreadable.push(format!("rules: {e}")),
    };
    let mut devices = Vec::new();
    let listed = match sysfs::devices(&sys) {
        Ok(listed) => listed,
        Err(e) => return st.unreadable.push(format!("the USB devices cannot be listed: {e}")),
    };
    for dev in listed {
        let dev = match dev {
            Ok(dev) => dev,
            Err((dir, e)) => {
                st.differs.push(format!("/sys/{}: cannot be read: {e}", dir.display()));
                continue;
            }
        };
        let decision = pinned.as_ref().map(|p| (judge(p, &dev), &p.rules));
        let text = decision.as_ref().map_or("?".into(), |(d, rules)| reason_text(rules, &dev, d));
        let state = if dev.authorized { "authorized" } else { "not authorized" };
        st.lines.push(format!("{}: {state}; {text}", describe(&dev)));
        devices.push(json!({
            "port": dev.name(),
            "id": format!("{:04x}:{:04x}", dev.ids.vendor, dev.ids.product),
            "authorized": dev.authorized,
            "decision": text,
        }));
    }
    st.details.insert("devices".into(), devices.into());
}
