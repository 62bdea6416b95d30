//! `bpflock status`: what is pinned, with which policy, by which programs.
//!
//! The pin tree is read with plain directory reads, so status says what is pinned even
//! where bpf() is denied (bpfrestrict restricted); what needs bpf() (the policy in the
//! config map, program ids) is reported as unreadable, with the reason.

use std::{fs, path::Path};

use serde::Serialize;

use crate::{
    protection::{LinkStatus, ProtectionStatus},
    protections,
};

#[derive(Serialize)]
pub struct Status {
    /// bpflock's version: every --json output carries it.
    pub version: &'static str,
    pub pin_root: String,
    pub protections: Vec<ProtectionStatus>,
    /// Decision and event counters (None where nothing is pinned or they are unreadable).
    pub counters: Option<crate::events::Counters>,
    pub counters_unreadable: Option<String>,
    /// The seal, where the pins are sealed until reboot (src/seal.rs).
    pub seal: Option<crate::seal::SealStatus>,
}

fn verified_insns(prog_id: u32) -> Option<u32> {
    // SAFETY: plain syscall wrappers; the fd is closed before returning.
    unsafe {
        let fd = libbpf_sys::bpf_prog_get_fd_by_id(prog_id);
        if fd < 0 {
            return None;
        }
        let mut info = libbpf_sys::bpf_prog_info::default();
        let mut len = std::mem::size_of_val(&info) as u32;
        let ret = libbpf_sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len);
        libc::close(fd);
        (ret == 0).then_some(info.verified_insns)
    }
}

fn protection(root: &Path, name: &str) -> ProtectionStatus {
    let dir = root.join(name);
    let mut st = ProtectionStatus {
        name: name.into(),
        pin_dir: dir.display().to_string(),
        profile: None,
        events: None,
        allow: vec![],
        block: vec![],
        links: vec![],
        pins: vec![],
        unreadable: vec![],
        differs: vec![],
        details: Default::default(),
        policy_notes: vec![],
        lines: vec![],
        summary: None,
    };
    match fs::read_dir(&dir) {
        Ok(entries) => {
            st.pins = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
            st.pins.sort();
        }
        Err(e) => st.unreadable.push(format!("{}: {e}", dir.display())),
    }
    match protections::by_name(name) {
        Some(p) => p.status(&dir, &mut st),
        None => st.unreadable.push("not a protection this bpflock knows".into()),
    }
    // Links are the files; directories (jail's maps/) and config are maps.
    for pin in st.pins.iter().filter(|p| !crate::pins::MAP_PINS.contains(&p.as_str()) && !dir.join(p).is_dir()) {
        match crate::pins::link_prog_id(&dir.join(pin)) {
            Ok(id) => {
                st.links.push(LinkStatus { hook: pin.clone(), prog_id: Some(id), verified_insns: verified_insns(id) })
            }
            Err(e) => {
                st.links.push(LinkStatus { hook: pin.clone(), prog_id: None, verified_insns: None });
                st.unreadable.push(format!("program id of {pin}: bpf(BPF_OBJ_GET): {e}"));
            }
        }
    }
    st
}

/// What is pinned under `root`; an error where it cannot be seen (not privileged).
pub fn collect(root: &Path) -> crate::error::Result<Status> {
    let mut names: Vec<String> = match fs::read_dir(root) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Err(crate::pins::cannot_see(root, e)),
        Ok(entries) => entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter(|e| !e.file_name().to_string_lossy().starts_with(crate::pins::STAGING_PREFIX))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => vec![],
    };
    // Known protections in setup order, then anything else found there.
    names.sort_by_key(|n| (protections::ALL.iter().position(|p| p.name() == n).unwrap_or(usize::MAX), n.clone()));
    names.retain(|n| n != crate::events::EVENTS_DIR && n != crate::seal::DIR);
    let (counters, counters_unreadable) = if root.join(crate::events::EVENTS_DIR).exists() {
        match crate::events::Counters::read(root) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(format!("event counters: {e}"))),
        }
    } else {
        (None, None)
    };
    Ok(Status {
        version: env!("CARGO_PKG_VERSION"),
        pin_root: root.display().to_string(),
        protections: names.iter().map(|n| protection(root, n)).collect(),
        counters,
        counters_unreadable,
        seal: crate::seal::status(root),
    })
}

pub fn print_human(st: &Status) {
    if st.protections.is_empty() {
        println!("nothing pinned under {}", st.pin_root);
        return;
    }
    for p in &st.protections {
        let mut policy = match (&p.profile, &p.summary) {
            (Some(profile), _) => profile.clone(),
            (None, Some(summary)) => summary.clone(),
            (None, None) => "policy unknown".into(),
        };
        if !p.allow.is_empty() {
            policy += &format!("; allow: {}", p.allow.join(", "));
        }
        if !p.block.is_empty() {
            policy += &format!("; block: {}", p.block.join(", "));
        }
        for note in &p.policy_notes {
            policy += &format!("; {note}");
        }
        if let Some(events) = p.events {
            policy += &format!("; events: {events}");
        }
        println!("{}: {} [{}]", p.name, policy, p.pin_dir);
        for l in &p.links {
            match l.prog_id {
                Some(id) => println!("  lsm/{:<12} program id {id}", l.hook),
                None => println!("  lsm/{:<12} program id unknown", l.hook),
            }
        }
        for line in &p.lines {
            println!("  {line}");
        }
        for d in &p.differs {
            println!("  WARNING: {d}");
        }
        for u in &p.unreadable {
            println!("  unreadable: {u}");
        }
    }
    match &st.seal {
        Some(seal) if seal.armed == Some(false) => {
            println!("sealed: NO, its programs are disarmed [{}]", seal.pin_dir)
        }
        Some(seal) => println!(
            "sealed until reboot: nothing pinned can be removed or changed ({} links) [{}]",
            seal.links, seal.pin_dir
        ),
        None => {}
    }
    if let Some(c) = &st.counters {
        let decisions: Vec<String> =
            c.decisions.iter().map(|d| format!("{} {} {}", d.protection, d.decision, d.count)).collect();
        println!("decisions: {}", if decisions.is_empty() { "none yet".into() } else { decisions.join(", ") });
        println!(
            "events: {} to report = {} written + {} suppressed by the rate limit + {} with no forwarder + {} ring full",
            c.wanted, c.output, c.suppressed, c.no_reader, c.ring_full
        );
    }
    if let Some(u) = &st.counters_unreadable {
        println!("unreadable: {u}");
    }
}
