//! `bpflock status`: what is pinned, with which policy, by which programs.
//!
//! The pin tree is read with plain directory reads, so status says what is pinned even
//! where bpf() is denied (bpfrestrict restricted); what needs bpf() (the policy in the
//! config map, program ids) is reported as unreadable, with the reason.

use std::{fs, path::Path};

use serde::Serialize;

use crate::{bootstrap, bpfrestrict, kimglock, policy::LockPolicy};

#[derive(Serialize)]
pub struct Status {
    pub pin_root: String,
    pub protections: Vec<ProtectionStatus>,
    /// Decision and event counters (None where nothing is pinned or they are unreadable).
    pub counters: Option<crate::events::Counters>,
    pub counters_unreadable: Option<String>,
}

#[derive(Serialize)]
pub struct ProtectionStatus {
    pub name: String,
    pub pin_dir: String,
    pub profile: Option<String>,
    /// What it reports: deny, all or none.
    pub events: Option<&'static str>,
    pub allow: Vec<&'static str>,
    pub block: Vec<&'static str>,
    /// kmodlock's origin checks in force: rootfs, ro, ro_dev.
    pub origin: Vec<&'static str>,
    pub links: Vec<LinkStatus>,
    pub pins: Vec<String>,
    /// Operations of the policy this kernel never asks about (kimglock).
    pub not_in_this_kernel: Vec<&'static str>,
    /// jail: the roles it enforces.
    pub roles: Vec<String>,
    /// jail: roles with their refusals, and what is enrolled.
    pub jail: Option<JailStatus>,
    /// What could not be read, and why.
    pub unreadable: Vec<String>,
    /// Where what the kernel objects hold differs from the pinned policy (tampering).
    pub differs: Vec<String>,
}

#[derive(Serialize)]
pub struct JailStatus {
    pub roles: Vec<crate::jail::RoleStatus>,
    pub enrolled_executables: Option<usize>,
    pub enrolled_cgroups: Option<usize>,
}

#[derive(Serialize)]
pub struct LinkStatus {
    pub hook: String,
    pub prog_id: Option<u32>,
    /// Instructions the verifier processed to accept the program (its load-time cost).
    pub verified_insns: Option<u32>,
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
        origin: vec![],
        links: vec![],
        pins: vec![],
        not_in_this_kernel: vec![],
        roles: vec![],
        jail: None,
        unreadable: vec![],
        differs: vec![],
    };
    match fs::read_dir(&dir) {
        Ok(entries) => {
            st.pins = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
            st.pins.sort();
        }
        Err(e) => st.unreadable.push(format!("{}: {e}", dir.display())),
    }
    let mut origin = None;
    let policy: Option<Result<LockPolicy, _>> = match name {
        crate::kmodlock::NAME => Some(crate::kmodlock::pinned_policy(&dir).map(|(lock, o)| {
            origin = Some(o);
            lock
        })),
        kimglock::NAME => Some(kimglock::pinned_policy(&dir)),
        bpfrestrict::NAME => Some(bpfrestrict::pinned_policy(&dir)),
        crate::filelesslock::NAME => Some(crate::filelesslock::pinned_policy(&dir)),
        crate::jail::NAME => {
            let (roles, executables, cgroups) = crate::jail::pinned_status(&dir);
            st.roles = roles.iter().map(|r| r.name.clone()).collect();
            st.jail = Some(JailStatus { roles, enrolled_executables: executables, enrolled_cgroups: cgroups });
            match crate::jail::pinned_events(&dir) {
                Ok(events) => st.events = Some(events.name()),
                Err(e) => st.unreadable.push(format!("policy: {e}")),
            }
            None
        }
        _ => {
            st.unreadable.push("not a protection this bpflock knows".into());
            None
        }
    };
    match policy {
        Some(Ok(lock)) => {
            let table = match name {
                kimglock::NAME => kimglock::OPERATIONS,
                bpfrestrict::NAME => bpfrestrict::OPERATIONS,
                crate::kmodlock::NAME => crate::kmodlock::OPERATIONS,
                _ => &[],
            };
            st.profile = Some(lock.profile.to_string());
            st.events = Some(lock.events.name());
            if let Some(o) = origin {
                st.origin = [("rootfs", o.rootfs), ("ro", o.ro), ("ro_dev", o.ro_dev)]
                    .into_iter()
                    .filter(|(_, on)| *on)
                    .map(|(n, _)| n)
                    .collect();
            }
            if name == bpfrestrict::NAME {
                match bpfrestrict::pinned_armed(&dir) {
                    Ok(true) => {}
                    Ok(false) => st.differs.push(format!(
                        "its programs are disarmed (their state map says so): {} is NOT enforced",
                        lock.profile
                    )),
                    Err(e) => st.unreadable.push(format!("armed state: {e}")),
                }
            }
            st.allow = lock.allow.names(table);
            st.block = lock.block.names(table);
            if name == kimglock::NAME {
                // Needs only the kernel's BTF file, not bpf().
                if let Ok(btf) = crate::kernel::KernelBtf::load() {
                    let missing = kimglock::unavailable(&btf);
                    st.not_in_this_kernel =
                        st.allow.iter().chain(&st.block).copied().filter(|n| missing.contains(n)).collect();
                }
            }
        }
        Some(Err(e)) => st.unreadable.push(format!("policy: {e}")),
        None => {}
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

pub fn collect(root: &Path) -> Status {
    let mut names: Vec<String> = match fs::read_dir(root) {
        Ok(entries) => entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter(|e| !e.file_name().to_string_lossy().starts_with(crate::pins::STAGING_PREFIX))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => vec![],
    };
    // Known protections in setup order, then anything else found there.
    names.sort_by_key(|n| (bootstrap::PROTECTIONS.iter().position(|p| p == n).unwrap_or(usize::MAX), n.clone()));
    names.retain(|n| n != crate::events::EVENTS_DIR);
    let (counters, counters_unreadable) = if root.join(crate::events::EVENTS_DIR).exists() {
        match crate::events::Counters::read(root) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(format!("event counters: {e}"))),
        }
    } else {
        (None, None)
    };
    Status {
        pin_root: root.display().to_string(),
        protections: names.iter().map(|n| protection(root, n)).collect(),
        counters,
        counters_unreadable,
    }
}

pub fn print_human(st: &Status) {
    if st.protections.is_empty() {
        println!("nothing pinned under {}", st.pin_root);
        return;
    }
    for p in &st.protections {
        let mut policy = match (&p.profile, p.roles.is_empty()) {
            (Some(profile), _) => profile.clone(),
            (None, false) => format!("roles: {}", p.roles.join(", ")),
            (None, true) => "policy unknown".into(),
        };
        if !p.allow.is_empty() {
            policy += &format!("; allow: {}", p.allow.join(", "));
        }
        if !p.block.is_empty() {
            policy += &format!("; block: {}", p.block.join(", "));
        }
        if !p.origin.is_empty() {
            policy += &format!("; only from: {}", p.origin.join(", "));
        }
        if let Some(events) = p.events {
            policy += &format!("; events: {events}");
        }
        println!("{}: {} [{}]", p.name, policy, p.pin_dir);
        if let Some(j) = &p.jail {
            for r in &j.roles {
                println!("  role {:<16} denied {}, would-deny {}", r.name, r.denied, r.would_deny);
            }
            let n = |c: Option<usize>| c.map_or("unknown".to_string(), |c| c.to_string());
            println!("  enrolled: {} executables, {} cgroups", n(j.enrolled_executables), n(j.enrolled_cgroups));
        }
        for l in &p.links {
            match l.prog_id {
                Some(id) => println!("  lsm/{:<12} program id {id}", l.hook),
                None => println!("  lsm/{:<12} program id unknown", l.hook),
            }
        }
        if !p.not_in_this_kernel.is_empty() {
            println!(
                "  no lockdown reason in this kernel for: {} (rules for them have no effect)",
                p.not_in_this_kernel.join(", ")
            );
        }
        for d in &p.differs {
            println!("  WARNING: {d}");
        }
        for u in &p.unreadable {
            println!("  unreadable: {u}");
        }
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
