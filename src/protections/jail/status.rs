//! A pinned jail, read back: its roles and their refusals, what is enrolled, its settings.

use std::{collections::BTreeMap, path::Path};

use libbpf_rs::{MapCore, MapFlags};

use super::{rules, types, MAPS_DIR};
use crate::{protection::ProtectionStatus, skel as skeleton, vocabulary::EventsMode};

/// Fills `bpflock status` for a pinned jail.
pub(super) fn status(dir: &Path, st: &mut ProtectionStatus) {
    let (roles, executables, cgroups) = pinned_status(dir);
    let names: Vec<String> = roles.iter().map(|r| r.name.clone()).collect();
    st.summary = (!names.is_empty()).then(|| format!("roles: {}", names.join(", ")));
    for r in &roles {
        st.lines.push(format!("role {:<16} denied {}, would-deny {}", r.name, r.denied, r.would_deny));
    }
    let n = |c: Option<usize>| c.map_or("unknown".to_string(), |c| c.to_string());
    st.lines.push(format!("enrolled: {} executables, {} cgroups", n(executables), n(cgroups)));
    st.details.insert("roles".into(), names.into());
    st.details.insert(
        "jail".into(),
        serde_json::json!({ "roles": roles, "enrolled_executables": executables, "enrolled_cgroups": cgroups }),
    );
    match skeleton::read_config::<types::rodata>(dir) {
        Ok(c) => {
            st.events = Some(EventsMode::from_raw(c.bpflock_events_mode).name());
            if c.jail_enroll_skipped > 0 {
                st.differs.push(format!(
                    "{} enrollment(s) of the policy were skipped at bootstrap: their executable or cgroup was \
                     gone (the journal of bpflock.service says which)",
                    c.jail_enroll_skipped
                ));
            }
            st.details.insert("enrollments_skipped".into(), c.jail_enroll_skipped.into());
        }
        Err(e) => st.unreadable.push(format!("policy: {e}")),
    }
}

/// Role names by id, from a pinned jail (an empty map where there is none).
pub(super) fn pinned_roles(jail_dir: &Path) -> BTreeMap<u32, String> {
    read_roles(jail_dir).unwrap_or_default()
}

pub(super) fn read_roles(jail_dir: &Path) -> std::result::Result<BTreeMap<u32, String>, libbpf_rs::Error> {
    let mut names = BTreeMap::new();
    let map = crate::skel::open_read_only(&jail_dir.join(MAPS_DIR).join("role_names"))?;
    for id in 1..rules::MAX_ROLES as u32 + 1 {
        if let Ok(Some(v)) = map.lookup(&id.to_ne_bytes(), MapFlags::ANY) {
            let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
            if end > 0 {
                names.insert(id, String::from_utf8_lossy(&v[..end]).into_owned());
            }
        }
    }
    Ok(names)
}

/// A pinned role as status shows it.
#[derive(Debug, serde::Serialize)]
struct RoleStatus {
    pub name: String,
    pub id: u32,
    pub denied: u64,
    pub would_deny: u64,
}

/// Roles with their refusal counts, and the number of enrolled executables and cgroups.
fn pinned_status(dir: &Path) -> (Vec<RoleStatus>, Option<usize>, Option<usize>) {
    let maps = dir.join(MAPS_DIR);
    let counters = crate::skel::open_read_only(&maps.join("role_counters")).ok();
    let sum = |index: u32| counters.as_ref().and_then(|m| crate::events::percpu_sum(m, index).ok()).unwrap_or(0);
    let roles = pinned_roles(dir)
        .into_iter()
        .map(|(id, name)| RoleStatus { denied: sum(id * 2), would_deny: sum(id * 2 + 1), name, id })
        .collect();
    let count = |name: &str| crate::skel::open_read_only(&maps.join(name)).ok().map(|m| m.keys().count());
    (roles, count("enrolled_executables"), count("enrolled_cgroups"))
}
