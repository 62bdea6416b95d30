//! jail: roles that confine enrolled processes and their children (bpf/jail.bpf.c).
//!
//! Lifecycle: `setup` (load, fill the rule maps, attach, pin into a staging directory),
//! `pinned_roles` (status, `bpflock run`), `run` (enroll the caller and exec). Cleanup is
//! removing the pin directory, as for every protection.
//!
//! Jailed tasks live in a task-storage map that is reused across re-applies (pinned as
//! `maps/tasks`), and role ids are kept per name: re-applying a policy never moves a
//! running task to another role. A role the new policy drops keeps its id and denies
//! everything (fail closed) until the tasks in it are gone.

pub mod rules;

use std::{
    collections::BTreeMap,
    ffi::CString,
    mem::MaybeUninit,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use libbpf_rs::{MapCore, MapFlags, MapHandle};

use crate::{
    error::{Error, NotSupported, Result},
    events::{self, Shared},
    pins,
    policy::EventsMode,
};
use rules::{Enroll, JailPolicy, Role};

mod skel {
    include!(concat!(env!("OUT_DIR"), "/jail.skel.rs"));
}
use skel::{types, JailSkelBuilder};

pub const NAME: &str = "jail";

/// 32-bit ioctls have a hook of their own from Linux 6.8; before, file_ioctl sees them.
const COMPAT_IOCTL: crate::kernel::HookAlternatives = &[&["file_ioctl_compat"], &[]];

/// Event operations (bpf/jail.h enum jail_op); the role id is in the high 16 bits.
pub const OPERATION_NAMES: [&str; 31] = [
    "file_read",
    "file_write",
    "file_append",
    "file_exec",
    "exec",
    "path_too_long",
    "link",
    "ptrace",
    "traceme",
    "setuid",
    "mount",
    "module",
    "bpf",
    "connect",
    "bind",
    "sendmsg",
    "unix",
    "pins",
    "enroll",
    "rename",
    "unlink",
    "setattr",
    "cgroup_too_deep",
    "disconnected",
    "foreign_root",
    "chroot",
    "userns",
    "socket",
    "listen",
    "signal",
    "internal",
];
/// JAIL_OP_CAPABILITY: events for a capability carry 64 + its number.
const OPERATION_CAPABILITY: u32 = 64;

/// An event's operation (low 16 bits of its operation field) by name.
pub fn operation_name(op: u32) -> std::borrow::Cow<'static, str> {
    match op.checked_sub(OPERATION_CAPABILITY).and_then(|cap| rules::CAPABILITIES.get(cap as usize)) {
        Some(cap) => format!("capability_{cap}").into(),
        None => crate::events::name_of(&OPERATION_NAMES, op),
    }
}

const MAPS_DIR: &str = "maps";
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Role names by id, from a pinned jail (an empty map where there is none).
pub fn pinned_roles(jail_dir: &Path) -> BTreeMap<u32, String> {
    read_roles(jail_dir).unwrap_or_default()
}

fn read_roles(jail_dir: &Path) -> std::result::Result<BTreeMap<u32, String>, libbpf_rs::Error> {
    let mut names = BTreeMap::new();
    let map = MapHandle::from_pinned_path(jail_dir.join(MAPS_DIR).join("role_names"))?;
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

/// Ids for this policy's roles: the ids the pinned jail gave the same names, then free ones.
/// Returns (name -> id, ids of pinned roles this policy no longer has).
fn assign_ids(
    policy: &JailPolicy,
    live: &BTreeMap<u32, String>,
) -> Result<(BTreeMap<String, u32>, BTreeMap<u32, String>)> {
    let mut ids = BTreeMap::new();
    for (id, name) in live {
        if policy.role(name).is_some() {
            ids.insert(name.clone(), *id);
        }
    }
    let mut next = 1u32;
    for role in &policy.roles {
        if ids.contains_key(&role.name) {
            continue;
        }
        while live.contains_key(&next) || ids.values().any(|&v| v == next) {
            next += 1;
        }
        if next as usize > rules::MAX_ROLES {
            return Err(Error::Jail(format!(
                "no role id left for \"{}\": {} roles are pinned or wanted (at most {})",
                role.name,
                live.len() + ids.len(),
                rules::MAX_ROLES
            )));
        }
        ids.insert(role.name.clone(), next);
    }
    let dropped = live.iter().filter(|(_, n)| policy.role(n).is_none()).map(|(i, n)| (*i, n.clone())).collect();
    Ok((ids, dropped))
}

fn role_value(role: &Role) -> types::jail_role {
    types::jail_role {
        mode: role.complain as u32,
        deny: role.deny,
        file_default: role.file_default,
        exec_default: role.exec_default as u32,
        net_default: role.net_default as u32,
        has_file_rules: !role.files.is_empty() as u32,
        has_exec_rules: !role.execs.is_empty() as u32,
        has_net_rules: !role.net.is_empty() as u32,
        capabilities: role.capabilities,
        families: role.families,
    }
}

/// A role that denies everything: what a dropped role's remaining tasks get.
const DENY_ALL: types::jail_role = types::jail_role {
    mode: 0,
    deny: rules::DENY_PTRACE
        | rules::DENY_SETUID
        | rules::DENY_MOUNT
        | rules::DENY_MODULE
        | rules::DENY_BPF
        | rules::DENY_LINK
        | rules::DENY_UNIX
        | rules::DENY_USERNS
        | rules::DENY_CHROOT
        | rules::DENY_RAW
        | rules::DENY_SIGNAL
        | rules::DENY_INET_OTHER,
    file_default: 0,
    exec_default: 0,
    net_default: 0,
    has_file_rules: 0,
    has_exec_rules: 0,
    has_net_rules: 0,
    capabilities: 0,
    families: 0,
};

fn bytes_of<T>(value: &T) -> &[u8] {
    // SAFETY: T is a plain-data skeleton type; its bytes are what the map stores.
    unsafe { std::slice::from_raw_parts((value as *const T).cast(), std::mem::size_of::<T>()) }
}

fn update(map: &libbpf_rs::MapMut<'_>, key: &[u8], value: &[u8], what: &str) -> Result<()> {
    map.update(key, value, MapFlags::ANY).map_err(|e| Error::Jail(format!("cannot store {what}: {e}")))
}

/// The mount points of bootstrap's mount namespace where a whole filesystem is mounted
/// (mountinfo's root field "/": not a bind mount of a subdirectory), with the identity of
/// that filesystem's root (octal escapes undone).
fn mount_roots() -> Vec<(String, (u32, u64))> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let root = fields.nth(3)?;
            let point = fields.next()?;
            (root == "/").then(|| unescape_mount_point(point))
        })
        .filter_map(|point| crate::kernel::file_identity(&point).ok().map(|at| (point, at)))
        .collect()
}

/// mountinfo writes space, tab, newline and backslash in a mount point as \NNN (octal).
fn unescape_mount_point(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| std::str::from_utf8(d).ok()).and_then(|d| u8::from_str_radix(d, 8).ok());
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a role's file rules name, by identity at bootstrap (bpf/jail.h struct jail_object):
/// for the hooks without a path, and to tell a file's name from what it is.
struct NamedObjects {
    by_identity: BTreeMap<(u32, u64), types::jail_object>,
    by_path: BTreeMap<String, (u32, u64)>,
}

impl NamedObjects {
    fn of(rules: &[rules::PathRule], identity: impl Fn(&str) -> Option<(u32, u64)>) -> Self {
        let mut objects = NamedObjects { by_identity: BTreeMap::new(), by_path: BTreeMap::new() };
        for rule in rules {
            let Some(at) = identity(&rule.path) else { continue };
            let next = objects.by_identity.len() as u32 + 1;
            let object = objects.by_identity.entry(at).or_insert(types::jail_object {
                id: next,
                flags: 0,
                itself: rules::ACCESS_ALL,
                below: rules::ACCESS_ALL,
            });
            // One object under two names (a symlinked directory named both ways): what both grant.
            if rule.subtree {
                object.flags |= JAIL_OBJECT_BELOW;
                object.below &= rule.access;
            } else {
                object.flags |= JAIL_OBJECT_SELF;
                object.itself &= rule.access;
            }
            objects.by_path.insert(rule.path.clone(), at);
        }
        objects
    }

    /// Filesystems mounted beneath a directory a subtree rule names: a file on one lies under
    /// that directory, though the walk up from it ends at its own filesystem's root. Each
    /// such root (a whole filesystem mounted, not a bind mount of a subdirectory, whose walk
    /// goes on up its own filesystem) is recorded as beneath that directory (the closest one
    /// a subtree rule names: its id and access), unless a rule names the root itself. A root
    /// mounted beneath two such directories gets an id of its own and what both grant: no
    /// name explains it, both rules apply. A bind mount of it elsewhere then still meets
    /// the rules of where it lies.
    fn add_mounts(&mut self, mounts: &[(String, (u32, u64))]) {
        let named: std::collections::BTreeSet<(u32, u64)> = self.by_identity.keys().copied().collect();
        for (point, root) in mounts {
            if named.contains(root) {
                continue;
            }
            let under = |dir: &str| {
                point != dir && (dir == "/" || point.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/')))
            };
            let Some(dir) = self
                .by_path
                .iter()
                .filter(|(path, at)| under(path) && self.by_identity[*at].flags & JAIL_OBJECT_BELOW != 0)
                .max_by_key(|(path, _)| path.len())
                .map(|(_, at)| self.by_identity[at])
            else {
                continue;
            };
            let fresh = self.by_identity.len() as u32 + 1;
            self.by_identity
                .entry(*root)
                .and_modify(|object| {
                    if object.id != dir.id {
                        object.id = fresh;
                        object.below &= dir.below;
                    }
                })
                .or_insert(types::jail_object {
                    id: dir.id,
                    flags: JAIL_OBJECT_BELOW,
                    itself: rules::ACCESS_ALL,
                    below: dir.below,
                });
        }
    }

    /// What a rule names, if it existed at bootstrap (struct jail_path_rule.own; 0: no).
    fn own(&self, path: &str) -> u32 {
        self.by_path.get(path).and_then(|at| self.by_identity.get(at)).map_or(0, |object| object.id)
    }

    /// The closest directory above `path` that a subtree rule names (jail_path_rule.above;
    /// 0: none): what a file under the rule's name meets first where the rule's own object
    /// did not exist at bootstrap.
    fn above(&self, path: &str) -> u32 {
        let mut at = path;
        while at.len() > 1 {
            at = &at[..at.rfind('/').unwrap_or(0)];
            let name = if at.is_empty() { "/" } else { at };
            if let Some(object) = self.by_path.get(name).and_then(|id| self.by_identity.get(id)) {
                if object.flags & JAIL_OBJECT_BELOW != 0 {
                    return object.id;
                }
            }
        }
        0
    }
}

const JAIL_OBJECT_SELF: u32 = 0x1;
const JAIL_OBJECT_BELOW: u32 = 0x2;

/// Trie keys of one path rule: a subtree is its "dir/" prefix plus the directory itself.
fn path_keys(role: u32, kind: u32, rule: &rules::PathRule) -> Vec<types::jail_path_key> {
    let mut entries: Vec<Vec<u8>> = Vec::new();
    if rule.subtree {
        let prefix = if rule.path == "/" { "/".to_string() } else { format!("{}/", rule.path) };
        entries.push(prefix.into_bytes());
        if rule.path != "/" {
            entries.push(format!("{}\0", rule.path).into_bytes());
        }
    } else {
        entries.push(format!("{}\0", rule.path).into_bytes());
    }
    entries
        .into_iter()
        .map(|bytes| {
            let mut key = types::jail_path_key { prefixlen: 0, role, kind, path: [0; rules::PATH_MAX] };
            for (slot, b) in key.path.iter_mut().zip(&bytes) {
                *slot = *b as _;
            }
            key.prefixlen = (8 + bytes.len() as u32) * 8;
            key
        })
        .collect()
}

/// What this kernel lacks of the hooks of jail's programs, or of what lockdown leaves it,
/// if anything (`probe`).
pub fn missing_hooks() -> Result<Option<String>> {
    if let Some(why) = lockdown_unsupported() {
        return Ok(Some(why));
    }
    pins::missing_hooks(NAME, JailSkelBuilder::default(), &mut MaybeUninit::uninit(), &[COMPAT_IOCTL])
}

/// Socket addresses and mounts are read with bpf_probe_read_kernel or a read-only cast.
fn lockdown_unsupported() -> Option<String> {
    crate::kernel::kernel_reads_unsupported("socket addresses and mounts")
}

/// Loads jail, fills its maps from `policy`, attaches and pins into `dir`. `live` is the
/// pinned jail being replaced, if any: its task map and role ids carry over.
pub fn setup(policy: &JailPolicy, events: EventsMode, dir: &Path, live: &Path, shared: &Shared) -> Result<()> {
    if let Some(why) = lockdown_unsupported() {
        return Err(NotSupported { what: NAME.into(), why }.into());
    }
    let live_roles = pinned_roles(live);
    let (ids, dropped) = assign_ids(policy, &live_roles)?;
    // Resolve what enrollment names before loading anything: errors point at the policy.
    let mut execs = Vec::new();
    let mut cgroups = Vec::new();
    let mut xattr = false;
    for e in &policy.enroll {
        match e {
            Enroll::Exec { path, role, at } => {
                let (dev, ino) = crate::kernel::file_identity(path)
                    .map_err(|err| Error::Jail(format!("{at}: enroll.exec: {err}")))?;
                execs.push((types::jail_exec_key { dev, pad: 0, ino }, ids[role]));
            }
            Enroll::Cgroup { path, role, at } => {
                let st = nix::sys::statfs::statfs(path.as_str())
                    .map_err(|err| Error::Jail(format!("{at}: enroll.cgroup: {path}: {err}")))?;
                if st.filesystem_type().0 as i64 != CGROUP2_SUPER_MAGIC {
                    return Err(Error::Jail(format!("{at}: enroll.cgroup: {path} is not a cgroup v2 directory")));
                }
                let id = std::fs::metadata(path)
                    .map_err(|err| Error::Jail(format!("{at}: enroll.cgroup: {path}: {err}")))?
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
    let mut open = pins::open(NAME, JailSkelBuilder::default(), &mut object)?;
    let config = open.maps.rodata_data.as_deref_mut().expect("jail has .rodata");
    config.jail_enroll_exec = !execs.is_empty() as u32;
    config.jail_enroll_cgroup = !cgroups.is_empty() as u32;
    // Where pid namespaces' inodes live, for F_SETOWN's owner in a task's own namespace.
    config.jail_nsfs_dev = crate::kernel::file_identity("/proc/self/ns/pid").map(|(dev, _)| dev as u64).unwrap_or(0);
    events::configure_events!(shared, open, config, events)?;
    // The sleepable xattr reader is loaded only where the policy asks for it.
    open.progs.jail_xattr_enroll.set_autoload(xattr);
    let tasks = live.join(MAPS_DIR).join("tasks");
    if tasks.exists() {
        open.maps
            .jail_tasks
            .reuse_pinned_map(&tasks)
            .map_err(|source| Error::UnableToReuseMap { path: tasks.clone(), source })?;
    }
    let mut skel = pins::load(NAME, open, &[COMPAT_IOCTL])?;
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
                let (own, above) = if kind == 0 { (objects.own(&rule.path), objects.above(&rule.path)) } else { (0, 0) };
                let value = types::jail_path_rule {
                    access: rule.access,
                    depth: rule.depth(),
                    own,
                    above,
                    exact: !rule.subtree as u32,
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
        let merged = rules::merged_port_ranges(&role.net).map_err(|(_, msg)| Error::Jail(msg))?;
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
    pins::pin_map(&mut m.rodata, dir, "config")?;
    pins::pin_map(&mut m.jail_tasks, &maps, "tasks")?;
    pins::pin_map(&mut m.jail_roles, &maps, "roles")?;
    pins::pin_map(&mut m.jail_role_names, &maps, "role_names")?;
    pins::pin_map(&mut m.jail_role_counters, &maps, "role_counters")?;
    pins::pin_map(&mut m.jail_exec_enroll, &maps, "enrolled_executables")?;
    pins::pin_map(&mut m.jail_cgroup_enroll, &maps, "enrolled_cgroups")?;
    let p = &skel.progs;
    if xattr {
        // Before jail_bprm_check on the same hook: it enrolls, the other then checks.
        pins::attach_and_pin(NAME, &p.jail_xattr_enroll, dir, "bprm_check_security_xattr")?;
    }
    for (prog, hook) in [
        (&p.jail_file_open, "file_open"),
        (&p.jail_mmap_file, "mmap_file"),
        (&p.jail_file_mprotect, "file_mprotect"),
        (&p.jail_bprm_check, "bprm_check_security"),
        (&p.jail_task_alloc, "task_alloc"),
        (&p.jail_inode_create, "inode_create"),
        (&p.jail_inode_mkdir, "inode_mkdir"),
        (&p.jail_inode_symlink, "inode_symlink"),
        (&p.jail_inode_mknod, "inode_mknod"),
        (&p.jail_path_chmod, "path_chmod"),
        (&p.jail_path_chown, "path_chown"),
        (&p.jail_path_truncate, "path_truncate"),
        (&p.jail_inode_link, "inode_link"),
        (&p.jail_inode_unlink, "inode_unlink"),
        (&p.jail_inode_rmdir, "inode_rmdir"),
        (&p.jail_inode_rename, "inode_rename"),
        (&p.jail_ptrace_access_check, "ptrace_access_check"),
        (&p.jail_ptrace_traceme, "ptrace_traceme"),
        (&p.jail_task_fix_setuid, "task_fix_setuid"),
        (&p.jail_task_fix_setgid, "task_fix_setgid"),
        (&p.jail_bprm_creds_from_file, "bprm_creds_from_file"),
        (&p.jail_sb_mount, "sb_mount"),
        (&p.jail_sb_umount, "sb_umount"),
        (&p.jail_move_mount, "move_mount"),
        (&p.jail_path_chroot, "path_chroot"),
        (&p.jail_sb_pivotroot, "sb_pivotroot"),
        (&p.jail_userns_create, "userns_create"),
        (&p.jail_capable, "capable"),
        (&p.jail_task_kill, "task_kill"),
        (&p.jail_module_request, "kernel_module_request"),
        (&p.jail_kernel_read_file, "kernel_read_file"),
        (&p.jail_kernel_load_data, "kernel_load_data"),
        (&p.jail_bpf, "bpf"),
        (&p.jail_bpf_map, "bpf_map"),
        (&p.jail_socket_connect, "socket_connect"),
        (&p.jail_socket_bind, "socket_bind"),
        (&p.jail_socket_sendmsg, "socket_sendmsg"),
        (&p.jail_socket_create, "socket_create"),
        (&p.jail_socket_listen, "socket_listen"),
        (&p.jail_file_fcntl, "file_fcntl"),
        (&p.jail_file_ioctl, "file_ioctl"),
        (&p.jail_file_ioctl_compat, "file_ioctl_compat"),
        (&p.jail_unix_stream_connect, "unix_stream_connect"),
        (&p.jail_unix_may_send, "unix_may_send"),
    ] {
        // Left out by pins::load: a hook of an alternative this kernel does not have.
        if !prog.autoload() {
            continue;
        }
        pins::attach_and_pin(NAME, prog, dir, hook)?;
    }
    Ok(())
}

/// A pinned role as status shows it.
#[derive(Debug, serde::Serialize)]
pub struct RoleStatus {
    pub name: String,
    pub id: u32,
    pub denied: u64,
    pub would_deny: u64,
}

/// Roles with their refusal counts, and the number of enrolled executables and cgroups.
pub fn pinned_status(dir: &Path) -> (Vec<RoleStatus>, Option<usize>, Option<usize>) {
    let maps = dir.join(MAPS_DIR);
    let counters = MapHandle::from_pinned_path(maps.join("role_counters")).ok();
    let sum = |index: u32| counters.as_ref().and_then(|m| crate::events::percpu_sum(m, index).ok()).unwrap_or(0);
    let roles = pinned_roles(dir)
        .into_iter()
        .map(|(id, name)| RoleStatus { denied: sum(id * 2), would_deny: sum(id * 2 + 1), name, id })
        .collect();
    let count = |name: &str| MapHandle::from_pinned_path(maps.join(name)).ok().map(|m| m.keys().count());
    (roles, count("enrolled_executables"), count("enrolled_cgroups"))
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

/// The events setting recorded in a pinned jail.
pub fn pinned_events(dir: &Path) -> Result<EventsMode> {
    let c: types::rodata = pins::read_config(dir)?;
    Ok(EventsMode::from_raw(c.bpflock_events_mode))
}

/// "roles a, b (N enrollment rules)", for bootstrap's log and `check`.
pub fn describe(policy: &JailPolicy) -> String {
    let names: Vec<_> = policy.roles.iter().map(|r| r.name.as_str()).collect();
    format!("roles {} ({} enrollment rules)", names.join(", "), policy.enroll.len())
}

/// `bpflock run --role NAME -- CMD...`: jails the calling process in NAME and execs CMD.
pub fn run(pin_root: &Path, role: &str, command: &[String]) -> Result<std::convert::Infallible> {
    let dir = pin_root.join(NAME);
    if !dir.exists() {
        return Err(Error::Jail(format!(
            "no jail is pinned at {} (bootstrap a policy with roles first)",
            dir.display()
        )));
    }
    let roles = read_roles(&dir).map_err(|e| {
        Error::Jail(format!(
            "cannot open the roles pinned in {}: {e} (a jailed process cannot enroll itself again)",
            dir.display()
        ))
    })?;
    let Some((&id, _)) = roles.iter().find(|(_, n)| n.as_str() == role) else {
        let known: Vec<_> = roles.values().cloned().collect();
        return Err(Error::Jail(format!("no role \"{role}\" in the pinned jail (roles: {})", known.join(", "))));
    };
    let path: PathBuf = dir.join(MAPS_DIR).join("tasks");
    let tasks = MapHandle::from_pinned_path(&path).map_err(|e| {
        Error::Jail(format!("cannot open {}: {e} (a jailed process cannot enroll itself again)", path.display()))
    })?;
    // SAFETY: pidfd_open on our own pid; the fd is closed by the exec (O_CLOEXEC) or on error.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) } as i32;
    if pidfd < 0 {
        return Err(Error::Jail(format!("pidfd_open: {}", std::io::Error::last_os_error())));
    }
    let value = types::jail_task { role: id, flags: 0 };
    // Never replaces an existing jail: a jailed task does not re-enroll.
    tasks
        .update(&pidfd.to_ne_bytes(), bytes_of(&value), MapFlags::NO_EXIST)
        .map_err(|e| Error::Jail(format!("cannot enroll in role \"{role}\": {e} (already jailed?)")))?;
    // SAFETY: closing the pidfd opened above.
    unsafe { libc::close(pidfd) };
    let args: Vec<CString> = command
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| Error::Jail(format!("a NUL byte in {a:?}"))))
        .collect::<Result<_>>()?;
    let err = nix::unistd::execvp(&args[0], &args).unwrap_err();
    Err(Error::Jail(format!("cannot run {}: {err}", command[0])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rules::PathRule;

    fn rule(path: &str, subtree: bool, access: u32) -> PathRule {
        PathRule { path: path.into(), subtree, access }
    }

    #[test]
    fn anchors_are_the_objects_a_name_leads_through() {
        // /srv, /srv/vault and /srv/pub/a exist at bootstrap; /srv/new does not.
        let exists = |p: &str| match p {
            "/srv" => Some((1, 10)),
            "/srv/vault" => Some((1, 11)),
            "/srv/pub/a" => Some((1, 12)),
            "/etc/shadow" => Some((2, 5)),
            _ => None,
        };
        let rules = [
            rule("/srv", true, 1),
            rule("/srv/vault", true, 0),
            rule("/srv/pub/a", false, 1),
            rule("/srv/new/deep", true, 0xf),
            rule("/etc/shadow", false, 0),
        ];
        let objects = NamedObjects::of(&rules, exists);
        let id = |at| objects.by_identity[&at].id;
        assert_eq!((objects.own("/srv/vault"), objects.above("/srv/vault")), (id((1, 11)), id((1, 10))));
        assert_eq!((objects.own("/etc/shadow"), objects.above("/etc/shadow")), (id((2, 5)), 0));
        // Not there at bootstrap: the closest directory above that a subtree rule names.
        assert_eq!((objects.own("/srv/new/deep"), objects.above("/srv/new/deep")), (0, id((1, 10))));
        // An exact rule's object has no say beneath it.
        assert_eq!(objects.above("/srv/pub/a/b"), id((1, 10)));
        assert_eq!((objects.own("/usr/lib"), objects.above("/usr/lib")), (0, 0));
        let pub_a = &objects.by_identity[&(1, 12)];
        let mut objects = NamedObjects::of(&rules, exists);
        // A tmpfs under /srv/vault, another at /srv itself (named: kept), one under nothing named.
        objects.add_mounts(&[
            ("/srv/vault/disk".into(), (9, 1)),
            ("/srv".into(), (1, 10)),
            ("/mnt/x".into(), (8, 1)),
            ("/srv/vaultx".into(), (7, 1)),
        ]);
        assert_eq!(objects.by_identity[&(9, 1)].id, objects.own("/srv/vault"));
        assert!(!objects.by_identity.contains_key(&(8, 1)));
        assert_eq!(objects.by_identity[&(7, 1)].id, objects.own("/srv"), "/srv/vaultx is not under /srv/vault");
        assert_eq!(objects.by_identity[&(9, 1)].flags, JAIL_OBJECT_BELOW);
        // One filesystem mounted under two ruled directories: neither name explains it.
        let mut objects = NamedObjects::of(&rules, exists);
        objects.add_mounts(&[("/srv/vault/a".into(), (9, 1)), ("/srv/b".into(), (9, 1))]);
        let both = objects.by_identity[&(9, 1)];
        assert!(both.id != objects.own("/srv/vault") && both.id != objects.own("/srv"));
        assert_eq!(both.below, 0, "what both grant");
        assert_eq!(unescape_mount_point("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!((pub_a.flags, pub_a.itself), (JAIL_OBJECT_SELF, 1));
    }
}
