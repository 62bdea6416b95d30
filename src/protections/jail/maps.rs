//! The jail's rules as its BPF maps hold them: role ids, role values, the objects rules
//! name (by identity at bootstrap), trie keys of path rules.

use std::collections::BTreeMap;

use libbpf_rs::{MapCore, MapFlags};

use super::{refused, rules, rules::JailPolicy, rules::Role, types};
use crate::{
    abi::{JAIL_OBJECT_BELOW, JAIL_OBJECT_SELF},
    error::Result,
};

/// Ids for this policy's roles: the ids the pinned jail gave the same names, then free ones.
/// Returns (name -> id, ids of pinned roles this policy no longer has).
pub(super) fn assign_ids(
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
            return Err(refused(format!(
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

pub(super) fn role_value(role: &Role) -> types::jail_role {
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
pub(super) const DENY_ALL: types::jail_role = types::jail_role {
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

pub(super) fn update(map: &libbpf_rs::MapMut<'_>, key: &[u8], value: &[u8], what: &str) -> Result<()> {
    map.update(key, value, MapFlags::ANY).map_err(|e| refused(format!("cannot store {what}: {e}")))
}

/// The mount points of bootstrap's mount namespace where a whole filesystem is mounted
/// (mountinfo's root field "/": not a bind mount of a subdirectory), with the identity of
/// that filesystem's root (octal escapes undone).
pub(super) fn mount_roots() -> Vec<(String, (u32, u64))> {
    mount_points()
        .into_iter()
        .filter_map(|point| crate::kernel::file_identity(&point).ok().map(|at| (point, at)))
        .collect()
}

/// Those mount points, from mountinfo alone (nothing is stat'ed: `check` must not wait on
/// a dead network mount).
pub(super) fn mount_points() -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let root = fields.nth(3)?;
            let point = fields.next()?;
            (root == "/").then(|| unescape_mount_point(point))
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash in a mount point as \NNN (octal).
fn unescape_mount_point(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u8::from_str_radix(d, 8).ok());
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
pub(super) struct NamedObjects {
    pub(super) by_identity: BTreeMap<(u32, u64), types::jail_object>,
    by_path: BTreeMap<String, (u32, u64)>,
}

impl NamedObjects {
    pub(super) fn of(rules: &[rules::PathRule], identity: impl Fn(&str) -> Option<(u32, u64)>) -> Self {
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
    /// a subtree rule names: its id and access), unless a subtree rule names the root itself. A root
    /// mounted beneath two such directories gets an id of its own and what both grant: no
    /// name explains it, both rules apply. A bind mount of it elsewhere then still meets
    /// the rules of where it lies.
    pub(super) fn add_mounts(&mut self, mounts: &[(String, (u32, u64))]) {
        // A root a subtree rule names decides for what lies beneath it; one only an exact
        // rule names still lies under the directory it is mounted in (or a bind mount of it
        // elsewhere would escape that directory's rule).
        let subtree_named: std::collections::BTreeSet<(u32, u64)> = self
            .by_identity
            .iter()
            .filter(|(_, object)| object.flags & JAIL_OBJECT_BELOW != 0)
            .map(|(at, _)| *at)
            .collect();
        for (point, root) in mounts {
            if subtree_named.contains(root) {
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
                    object.flags |= JAIL_OBJECT_BELOW;
                })
                .or_insert(types::jail_object {
                    id: dir.id,
                    flags: JAIL_OBJECT_BELOW,
                    itself: rules::ACCESS_ALL,
                    below: dir.below,
                });
        }
    }

    /// What a rule names, if it existed at bootstrap (struct jail_path_rule.own; 0: no): the
    /// tests' shorthand for own_object's id.
    #[cfg(test)]
    fn own(&self, path: &str) -> u32 {
        self.own_object(path).map_or(0, |(_, object)| object.id)
    }

    /// What a rule names, if it existed at bootstrap: its identity and its object (for an
    /// exact rule, struct jail_path_rule.own_dev/own_ino/own_itself).
    pub(super) fn own_object(&self, path: &str) -> Option<((u32, u64), types::jail_object)> {
        let at = self.by_path.get(path)?;
        self.by_identity.get(at).map(|object| (*at, *object))
    }

    /// The closest directory above `path` that a subtree rule names (jail_path_rule.above;
    /// 0: none): what a file under the rule's name meets first where the rule's own object
    /// did not exist at bootstrap.
    pub(super) fn above(&self, path: &str) -> u32 {
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

/// Trie keys of one path rule: a subtree is its "dir/" prefix plus the directory itself.
pub(super) fn path_keys(role: u32, kind: u32, rule: &rules::PathRule) -> Vec<types::jail_path_key> {
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
        // What the program compares an opened file with, for an exact rule (no walk).
        assert_eq!(objects.own_object("/srv/pub/a").map(|(at, o)| (at, o.itself)), Some(((1, 12), 1)));
        assert!(objects.own_object("/srv/new/deep").is_none());
        // One file under two exact names (a hard link named both ways): what both grant.
        let linked = NamedObjects::of(&[rule("/etc/shadow", false, 0), rule("/srv/link", false, 0xf)], |p| match p {
            "/etc/shadow" | "/srv/link" => Some((2, 5)),
            _ => None,
        });
        assert_eq!(linked.own_object("/srv/link").map(|(_, o)| o.itself), Some(0));
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
        // A filesystem whose root only an exact rule names (read), under /srv/vault (deny):
        // what lies on it is still under /srv/vault, by any name.
        let exact_root = [rule("/srv/vault", true, 0), rule("/srv/vault/t", false, 1)];
        let mut objects = NamedObjects::of(&exact_root, |p| match p {
            "/srv/vault" => Some((1, 11)),
            "/srv/vault/t" => Some((6, 1)),
            _ => None,
        });
        objects.add_mounts(&[("/srv/vault/t".into(), (6, 1))]);
        let t = objects.by_identity[&(6, 1)];
        assert_eq!((t.flags, t.itself, t.below), (JAIL_OBJECT_SELF | JAIL_OBJECT_BELOW, 1, 0));
        assert_eq!(objects.own("/srv/vault/t"), t.id, "its exact rule still names it");
        assert_eq!(unescape_mount_point("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!((pub_a.flags, pub_a.itself), (JAIL_OBJECT_SELF, 1));
    }
}
