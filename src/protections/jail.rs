//! jail: roles that confine enrolled processes and their children (bpf/jail.bpf.c).
//!
//! This file: the jail's policy sections (`[roles.NAME]`, `[[enroll]]`, `[jail]`: rules.rs),
//! and setup (load, fill the rule maps (maps.rs), attach, pin into a staging directory).
//! status.rs reads a pinned jail, run.rs is `bpflock run`. Removal is removing the pin
//! directory, as for every protection.
//!
//! Jailed tasks live in a task-storage map that is reused across re-applies (pinned as
//! `maps/tasks`), and role ids are kept per name: re-applying a policy never moves a
//! running task to another role. A role the new policy drops keeps its id and denies
//! everything (fail closed) until the tasks in it are gone.

mod maps;
pub mod rules;
mod run;
mod status;

use std::{collections::BTreeMap, mem::MaybeUninit, os::unix::fs::MetadataExt, path::Path};

use libbpf_rs::skel::Skel as _;
use serde::Deserialize;
use toml::Spanned;

use crate::skel::bytes_of;
use crate::{
    abi,
    error::{Error, NotSupported, PolicyError, Result},
    events,
    kernel::KernelBtf,
    pins,
    protection::{self, Protection, ProtectionStatus, Section, SetupContext},
    section_any, skel as skeleton,
    vocabulary::{Defaults, Document, EventsMode},
};
use maps::{assign_ids, mount_roots, path_keys, role_value, update, NamedObjects, DENY_ALL};
use rules::{Enroll, JailPolicy};
pub use run::run;

mod skel {
    include!(concat!(env!("OUT_DIR"), "/jail.skel.rs"));
}
use skel::{types, JailSkelBuilder};

const NAME: &str = "jail";

pub struct Jail;

/// A refusal of the jail's, in its words.
fn refused(message: String) -> Error {
    Error::Protection { protection: NAME, message }
}

/// 32-bit ioctls have a hook of their own from Linux 6.8; before, file_ioctl sees them.
const COMPAT_IOCTL: crate::kernel::HookAlternatives = &[&["file_ioctl_compat"], &[]];

/// An event's operation (low 16 bits of its operation field; the role id is in the high
/// 16): bpf/jail.h enum jail_op, where JAIL_OP_CAPABILITY + N is capability N.
fn operation_name(op: u32) -> std::borrow::Cow<'static, str> {
    let capability = op.checked_sub(abi::JAIL_OP_CAPABILITY).and_then(|cap| rules::CAPABILITIES.get(cap as usize));
    match (capability, abi::name_of(abi::JAIL_OP, op)) {
        (Some(cap), _) => format!("capability_{cap}").into(),
        (None, Some(name)) => name.into(),
        (None, None) => op.to_string().into(),
    }
}

/// `[jail]`: settings of the jail as a whole.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJail {
    events: Option<Spanned<String>>,
}

/// The jail's part of the policy: roles, enrollment, and what it reports.
#[derive(Debug)]
struct JailSection {
    policy: JailPolicy,
    events: EventsMode,
}

impl Section for JailSection {
    fn wanted(&self) -> bool {
        self.policy.enabled()
    }
    /// "roles a, b (N enrollment rules)"
    fn describe(&self) -> String {
        if !self.policy.enabled() {
            return "no roles".into();
        }
        let names: Vec<_> = self.policy.roles.iter().map(|r| r.name.as_str()).collect();
        format!("roles {} ({} enrollment rules)", names.join(", "), self.policy.enroll.len())
    }
    fn events(&self) -> EventsMode {
        self.events
    }
    section_any!();
}

impl Protection for Jail {
    fn name(&self) -> &'static str {
        NAME
    }

    fn other_sections(&self) -> &'static [&'static str] {
        &["roles", "enroll"]
    }

    fn operation_name(&self, op: u32) -> std::borrow::Cow<'static, str> {
        operation_name(op & 0xffff)
    }

    fn event_role(&self, operation: u32) -> Option<u32> {
        Some(operation >> 16)
    }

    fn pinned_role_names(&self, dir: &Path) -> BTreeMap<u32, String> {
        status::pinned_roles(dir)
    }

    fn about_operations(&self) -> Option<String> {
        let names: Vec<&str> =
            abi::JAIL_OP.iter().map(|(n, _)| *n).filter(|n| *n != "capability" && *n != "internal").collect();
        Some(format!("roles, not lists (docs/jails.md); its events report: {}, capability_<name>", names.join(", ")))
    }

    /// `bpflock run` enrolls itself in `tasks`.
    fn maps_written_after_bootstrap(&self) -> &'static [&'static str] {
        &["maps/tasks"]
    }

    fn parse(&self, doc: &Document<'_>, defaults: &Defaults) -> Result<Box<dyn Section>, PolicyError> {
        let roles = doc.section::<BTreeMap<String, Spanned<rules::RawRole>>>("roles")?;
        let enroll = doc.section::<Vec<Spanned<rules::RawEnroll>>>("enroll")?;
        let policy = rules::parse(&doc.checker, roles.as_ref(), enroll.as_ref())?;
        let raw = doc.section::<RawJail>(NAME)?;
        let events = doc.events("jail.events", raw.as_ref().and_then(|j| j.events.as_ref()), defaults)?;
        Ok(Box::new(JailSection { policy, events }))
    }

    fn missing_hooks(&self) -> Result<Option<String>> {
        if let Some(why) = lockdown_unsupported() {
            return Ok(Some(why));
        }
        skeleton::missing_hooks(NAME, JailSkelBuilder::default(), &mut MaybeUninit::uninit(), &[COMPAT_IOCTL])
    }

    fn probe(&self, section: &dyn Section, _btf: &KernelBtf) -> (Vec<String>, Option<NotSupported>) {
        let JailSection { policy, .. } = protection::section(section);
        match xattr_unsupported() {
            None => (vec!["jail: enrollment by xattr (user.bpflock.role): supported".into()], None),
            Some(why) => {
                let line = format!("jail: enrollment by xattr: not supported: {why}");
                // The policy enrolls by xattr: bootstrap would refuse the jail.
                let asked = policy.enabled() && policy.enroll.iter().any(|e| matches!(e, Enroll::Xattr { .. }));
                (vec![line], asked.then(|| NotSupported { what: "jail enrollment by xattr".into(), why }))
            }
        }
    }

    fn setup(&self, section: &dyn Section, ctx: &SetupContext<'_>) -> Result<()> {
        let JailSection { policy, events } = protection::section(section);
        setup(policy, *events, ctx)
    }

    fn status(&self, dir: &Path, st: &mut ProtectionStatus) {
        status::status(dir, st)
    }
}

/// Socket addresses and mounts are read with bpf_probe_read_kernel or a read-only cast.
fn lockdown_unsupported() -> Option<String> {
    crate::kernel::kernel_reads_unsupported("socket addresses and mounts")
}

use crate::pins::MAPS_DIR;
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Loads jail, fills its maps from `policy`, attaches and pins into `ctx.dir`. `ctx.live` is
/// the pinned jail being replaced, if any: its task map and role ids carry over.
fn setup(policy: &JailPolicy, events: EventsMode, ctx: &SetupContext<'_>) -> Result<()> {
    let (dir, live, shared) = (ctx.dir, ctx.live, ctx.shared);
    if let Some(why) = lockdown_unsupported() {
        return Err(NotSupported { what: NAME.into(), why }.into());
    }
    let live_roles = status::pinned_roles(live);
    let (ids, dropped) = assign_ids(policy, &live_roles)?;
    // Resolve what enrollment names before loading anything: errors point at the policy.
    let mut execs = Vec::new();
    let mut cgroups = Vec::new();
    let mut xattr = false;
    for e in &policy.enroll {
        match e {
            Enroll::Exec { path, role, at } => match crate::kernel::file_identity(path) {
                Ok((dev, ino)) => execs.push((types::jail_exec_key { dev, pad: 0, ino }, ids[role])),
                // A package removed since the policy was written: the rest of the jail
                // still applies (a boot must not go unprotected for one stale line).
                // Any other error (permissions, I/O) refuses the jail, as before.
                Err(err) if err.is_gone() => ctx.skipped.borrow_mut().push(format!("jail: {at}: enroll.exec: {err}")),
                Err(err) => return Err(refused(format!("{at}: enroll.exec: {err}"))),
            },
            Enroll::Cgroup { path, at, .. }
                if std::fs::symlink_metadata(path).is_err_and(|e| crate::error::gone(&e)) =>
            {
                ctx.skipped.borrow_mut().push(format!("jail: {at}: enroll.cgroup: {path} does not exist"));
            }
            Enroll::Cgroup { path, role, at } => {
                let st = nix::sys::statfs::statfs(path.as_str())
                    .map_err(|err| refused(format!("{at}: enroll.cgroup: {path}: {err}")))?;
                if st.filesystem_type().0 as i64 != CGROUP2_SUPER_MAGIC {
                    return Err(refused(format!("{at}: enroll.cgroup: {path} is not a cgroup v2 directory")));
                }
                let id = std::fs::metadata(path)
                    .map_err(|err| refused(format!("{at}: enroll.cgroup: {path}: {err}")))?
                    .ino();
                cgroups.push((id, ids[role]));
            }
            Enroll::Xattr { .. } => {
                if let Some(why) = xattr_unsupported() {
                    return Err(NotSupported { what: "jail enrollment by xattr".into(), why }.into());
                }
                xattr = true;
            }
        }
    }

    let mut object = MaybeUninit::uninit();
    let mut open = skeleton::open(NAME, JailSkelBuilder::default(), &mut object)?;
    let config = open.maps.rodata_data.as_deref_mut().expect("jail has .rodata");
    config.jail_enroll_exec = !execs.is_empty() as u32;
    config.jail_enroll_cgroup = !cgroups.is_empty() as u32;
    config.jail_enroll_skipped = ctx.skipped.borrow().iter().filter(|s| s.starts_with("jail: ")).count() as u32;
    // Where pid namespaces' inodes live, for F_SETOWN's owner in a task's own namespace.
    config.jail_nsfs_dev = crate::kernel::file_identity("/proc/self/ns/pid").map(|(dev, _)| dev as u64).unwrap_or(0);
    events::configure_events!(shared, open, config, events)?;
    // The sleepable xattr reader is loaded only where the policy asks for it.
    open.progs.jail_bprm_check_security_xattr.set_autoload(xattr);
    let tasks = live.join(MAPS_DIR).join("tasks");
    if tasks.exists() {
        open.maps
            .jail_tasks
            .reuse_pinned_map(&tasks)
            .map_err(|source| Error::UnableToReuseMap { path: tasks.clone(), source })?;
    }
    let mut skel = skeleton::load(NAME, open, &[COMPAT_IOCTL])?;
    events::pin_events!(shared, skel)?;

    let mounts = mount_roots();
    let m = &skel.maps;
    for role in &policy.roles {
        let id = ids[&role.name];
        update(&m.jail_roles, &id.to_ne_bytes(), bytes_of(&role_value(role)), "a role")?;
        let mut name = [0u8; 32];
        name[..role.name.len()].copy_from_slice(role.name.as_bytes());
        update(&m.jail_role_names, &id.to_ne_bytes(), &name, "a role name")?;
        update(&m.jail_role_ids, &name, &id.to_ne_bytes(), "a role id")?;
        let mut objects = NamedObjects::of(&role.files, |path| crate::kernel::file_identity(path).ok());
        objects.add_mounts(&mounts);
        for ((dev, ino), object) in &objects.by_identity {
            let key = types::jail_inode_key { role: id, dev: *dev, ino: *ino };
            update(&m.jail_inodes, bytes_of(&key), bytes_of(object), "a file identity")?;
        }
        for (kind, list) in [(0u32, &role.files), (1u32, &role.execs)] {
            for rule in list {
                let named = if kind == 0 { objects.own_object(&rule.path) } else { None };
                let own = named.map_or(0, |(_, object)| object.id);
                let above = if kind == 0 { objects.above(&rule.path) } else { 0 };
                // An exact file rule's own object: the program judges that file without a walk.
                let ((own_dev, own_ino), own_itself) = match named.filter(|_| !rule.subtree) {
                    Some((at, object)) => (at, object.itself),
                    None => ((0, 0), 0),
                };
                let value = types::jail_path_rule {
                    access: rule.access,
                    depth: rule.depth(),
                    own,
                    above,
                    exact: !rule.subtree as u32,
                    own_dev,
                    own_itself,
                    own_ino,
                    ..Default::default()
                };
                for key in path_keys(id, kind, rule) {
                    update(&m.jail_paths, bytes_of(&key), bytes_of(&value), "a path rule")?;
                }
                for path in rule.guards(kind == 1) {
                    if let Ok((dev, ino)) = crate::kernel::file_identity(&path) {
                        let key = types::jail_inode_key { role: id, dev, ino };
                        update(&m.jail_guarded, bytes_of(&key), &[1u8], "a guarded directory")?;
                    }
                }
            }
        }
        let merged = rules::merged_port_ranges(&role.net).map_err(|(_, msg)| refused(msg))?;
        for (rule, ranges) in merged {
            let key = types::jail_net_key {
                prefixlen: 64 + rule.prefix as u32,
                role: id,
                direction: rule.direction,
                protocol: rule.protocol,
                pad: [0; 2],
                addr: rule.addr,
            };
            let mut value = types::jail_net_rule { count: ranges.len() as u32, ..Default::default() };
            for (slot, (lo, hi)) in value.ranges.iter_mut().zip(ranges) {
                *slot = types::jail_port_range { lo, hi };
            }
            update(&m.jail_net, bytes_of(&key), bytes_of(&value), "a network rule")?;
        }
    }
    for (id, name) in &dropped {
        update(&m.jail_roles, &id.to_ne_bytes(), bytes_of(&DENY_ALL), "a dropped role")?;
        let mut bytes = [0u8; 32];
        let label = format!("{name}(dropped)");
        let n = label.len().min(31);
        bytes[..n].copy_from_slice(&label.as_bytes()[..n]);
        update(&m.jail_role_names, &id.to_ne_bytes(), &bytes, "a role name")?;
        log::warn!(target: NAME, "role \"{name}\" is gone from the policy: tasks still in it are denied everything");
    }
    for (from, to) in &policy.moves {
        let key = types::jail_move_key { from: ids[from], to: ids[to] };
        update(&m.jail_moves, bytes_of(&key), &[1u8], "a move between roles")?;
    }
    for (key, role) in &execs {
        update(&m.jail_exec_enroll, bytes_of(key), &role.to_ne_bytes(), "an enrolled executable")?;
    }
    for (id, role) in &cgroups {
        update(&m.jail_cgroup_enroll, &id.to_ne_bytes(), &role.to_ne_bytes(), "an enrolled cgroup")?;
    }

    let maps = dir.join(MAPS_DIR);
    pins::mkdir(&maps)?;
    let m = &mut skel.maps;
    skeleton::pin_map(&mut m.rodata, dir, "config")?;
    skeleton::pin_map(&mut m.jail_tasks, &maps, "tasks")?;
    skeleton::pin_map(&mut m.jail_roles, &maps, "roles")?;
    skeleton::pin_map(&mut m.jail_role_names, &maps, "role_names")?;
    skeleton::pin_map(&mut m.jail_role_counters, &maps, "role_counters")?;
    skeleton::pin_map(&mut m.jail_exec_enroll, &maps, "enrolled_executables")?;
    skeleton::pin_map(&mut m.jail_cgroup_enroll, &maps, "enrolled_cgroups")?;
    // jail_bprm_check_security_xattr, where loaded, is defined (so attached, so run) before
    // jail_bprm_check_security: it enrolls, the other then checks.
    skeleton::attach_all(NAME, skel.object(), dir)
}

/// Why this kernel cannot enroll by xattr, if it cannot: the kernel reads the xattr with
/// the bpf_get_file_xattr kfunc (Linux 6.8+; `user.` names).
pub fn xattr_unsupported() -> Option<String> {
    match crate::kernel::KernelBtf::load() {
        Ok(btf) if btf.has_func("bpf_get_file_xattr") => None,
        Ok(_) => Some("this kernel has no bpf_get_file_xattr kfunc (added in Linux 6.8)".into()),
        Err(e) => Some(e.to_string()),
    }
}
