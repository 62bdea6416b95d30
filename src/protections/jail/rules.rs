//! The jail part of the policy: `[roles.NAME]` and `[[enroll]]`, validated with
//! `FILE:LINE:COL` errors like the rest (docs/jails.md).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    net::IpAddr,
};

use serde::Deserialize;
use toml::Spanned;

use crate::{
    abi,
    error::PolicyError,
    vocabulary::{Checker, RawList},
};

// bpf/jail.h, through crate::abi: one source.
pub const READ: u32 = abi::JAIL_READ;
pub const EXEC: u32 = abi::JAIL_EXEC;
pub const ACCESS_ALL: u32 = abi::JAIL_ACCESS_ALL;
pub const DENY_PTRACE: u32 = abi::JAIL_DENY_PTRACE;
pub const DENY_SETUID: u32 = abi::JAIL_DENY_SETUID;
pub const DENY_MOUNT: u32 = abi::JAIL_DENY_MOUNT;
pub const DENY_MODULE: u32 = abi::JAIL_DENY_MODULE;
pub const DENY_BPF: u32 = abi::JAIL_DENY_BPF;
pub const DENY_LINK: u32 = abi::JAIL_DENY_LINK;
pub const DENY_UNIX: u32 = abi::JAIL_DENY_UNIX;
pub const DENY_USERNS: u32 = abi::JAIL_DENY_USERNS;
pub const DENY_CHROOT: u32 = abi::JAIL_DENY_CHROOT;
pub const DENY_RAW: u32 = abi::JAIL_DENY_RAW;
pub const DENY_SIGNAL: u32 = abi::JAIL_DENY_SIGNAL;
pub const DENY_INET_OTHER: u32 = abi::JAIL_DENY_INET_OTHER;
/// `net.unix = "files"`.
pub const UNIX_BY_FILES: u32 = abi::JAIL_UNIX_BY_FILES;
/// Role ids are 1..JAIL_MAX_ROLES-1 (0: not jailed).
pub const MAX_ROLES: usize = abi::JAIL_MAX_ROLES as usize - 1;
/// Bytes of a path the rules can match, its NUL included.
pub const PATH_MAX: usize = abi::JAIL_PATH_MAX as usize;
pub const PORT_RANGES: usize = abi::JAIL_PORT_RANGES as usize;
pub const NET_CONNECT: u8 = abi::JAIL_NET_CONNECT as u8;
pub const NET_BIND: u8 = abi::JAIL_NET_BIND as u8;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// The kernel's capability names (include/uapi/linux/capability.h), by number.
pub const CAPABILITIES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// What a role's tasks may use of their capabilities where the role does not say: what a
/// service needs to own and serve its files (Docker's default set without net_raw, mknod,
/// sys_chroot and setfcap), and what the categories it allows need.
const DEFAULT_CAPABILITIES: [&str; 14] = [
    "chown",
    "dac_override",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "net_bind_service",
    "ipc_lock",
    "sys_nice",
    "sys_resource",
    "lease",
    "audit_write",
];

/// Socket families by name (include/linux/socket.h AF_*); netlink's route protocol is
/// always allowed (how a program reads its own addresses; changing them needs net_admin).
pub const FAMILIES: [(&str, u32); 12] = [
    ("unix", 1),
    ("inet", 2),
    ("ax25", 3),
    ("ipx", 4),
    ("appletalk", 5),
    ("inet6", 10),
    ("netlink", 16),
    ("packet", 17),
    ("can", 29),
    ("bluetooth", 31),
    ("alg", 38),
    ("vsock", 40),
];

fn capability_bit(name: &str) -> Option<u64> {
    let name = name.to_ascii_lowercase();
    let name = name.strip_prefix("cap_").unwrap_or(&name);
    CAPABILITIES.iter().position(|c| *c == name).map(|i| 1u64 << i)
}

fn family_bit(name: &str) -> Option<u64> {
    FAMILIES.iter().find(|(n, _)| *n == name).map(|(_, af)| 1u64 << af)
}

/// Categories a role denies unless it says `= "allow"`: each one is a way out of any jail.
const CATEGORIES: [(&str, u32); 5] = [
    ("ptrace", DENY_PTRACE),
    ("setuid", DENY_SETUID),
    ("mount", DENY_MOUNT),
    ("module", DENY_MODULE),
    ("bpf", DENY_BPF),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    mode: Option<Spanned<String>>,
    file: Option<RawFile>,
    exec: Option<Spanned<RawExec>>,
    net: Option<RawNet>,
    ptrace: Option<Spanned<String>>,
    setuid: Option<Spanned<String>>,
    mount: Option<Spanned<String>>,
    module: Option<Spanned<String>>,
    bpf: Option<Spanned<String>>,
    /// Default: denied where the role has path rules (a new root or namespace renames files).
    userns: Option<Spanned<String>>,
    chroot: Option<Spanned<String>>,
    /// "role" (only tasks of the same role) or "allow".
    signal: Option<Spanned<String>>,
    capabilities: Option<RawList>,
    /// Roles a task may move from into this one, because this one is at least as strict.
    narrows: Option<RawList>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    default: Option<Spanned<String>>,
    allow: Option<RawList>,
    read_only: Option<RawList>,
    no_exec: Option<RawList>,
    deny: Option<RawList>,
    link: Option<Spanned<String>>,
}

/// `exec = "allow" | "deny"`, or a table with `default`, `allow` and `deny` lists.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawExec {
    Simple(String),
    Rules(RawExecRules),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecRules {
    default: Option<String>,
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNet {
    default: Option<Spanned<String>>,
    connect: Option<RawList>,
    bind: Option<RawList>,
    unix: Option<Spanned<String>>,
    families: Option<RawList>,
    raw: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnroll {
    exec: Option<Spanned<String>>,
    cgroup: Option<Spanned<String>>,
    xattr: Option<Spanned<bool>>,
    role: Option<Spanned<String>>,
}

/// A path rule: an exact path, or a directory and everything under it (`/dir/**`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRule {
    pub path: String,
    pub subtree: bool,
    /// File rules: access granted; exec rules: 1 allow, 0 deny.
    pub access: u32,
}

impl PathRule {
    /// Components of the path the rule names ("/" 0, "/srv/vault" 2).
    pub fn depth(&self) -> u32 {
        self.path.split('/').filter(|c| !c.is_empty()).count() as u32
    }

    /// What the rule guards against being moved, replaced or removed by the role: a rule
    /// that restricts (a file rule granting less than everything, an exec rule allowing a
    /// program) guards every directory above what it names, and an exec rule also the
    /// program itself (renaming another program over it would run that one).
    pub fn guards(&self, exec: bool) -> Vec<String> {
        let restricts = if exec { self.access != 0 } else { self.access != ACCESS_ALL };
        if !restricts {
            return Vec::new();
        }
        let mut out: Vec<String> = Vec::new();
        let mut at = self.path.as_str();
        while at.len() > 1 {
            at = &at[..at.rfind('/').unwrap_or(0)];
            out.push(if at.is_empty() { "/".to_string() } else { at.to_string() });
        }
        if exec {
            out.push(self.path.clone());
        }
        out
    }
}

/// Allowed ports towards (or on) a CIDR; IPv4 as v4-mapped IPv6.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRule {
    pub direction: u8,
    pub protocol: u8,
    pub addr: [u8; 16],
    /// Prefix length in the IPv6 space (an IPv4 /8 is 104).
    pub prefix: u8,
    pub lo: u16,
    pub hi: u16,
    /// Where the rule is written (line, column), for errors found when merging.
    pub at: (usize, usize),
}

/// The bits of address byte `i` that a /`prefix` keeps.
fn prefix_mask(prefix: u8, i: usize) -> u8 {
    match (prefix as usize).saturating_sub(i * 8).min(8) {
        0 => 0,
        keep => 0xffu8 << (8 - keep),
    }
}

impl NetRule {
    /// Whether `inner`'s CIDR lies within this rule's.
    fn contains(&self, inner: &NetRule) -> bool {
        self.prefix <= inner.prefix
            && (0..16)
                .all(|i| self.addr[i] & prefix_mask(self.prefix, i) == inner.addr[i] & prefix_mask(self.prefix, i))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub complain: bool,
    pub deny: u32,
    pub file_default: u32,
    pub exec_default: bool,
    pub net_default: bool,
    pub files: Vec<PathRule>,
    pub execs: Vec<PathRule>,
    pub net: Vec<NetRule>,
    /// 1 << CAP_*: the capabilities the role's tasks may use.
    pub capabilities: u64,
    /// 1 << AF_*: the socket families the role's tasks may create.
    pub families: u64,
}

impl Role {
    /// Whether the role restricts nothing a rule names (files, programs, network, the
    /// categories): it is then given every capability, family and signal too.
    fn restricts_nothing(&self) -> bool {
        self.files.is_empty()
            && self.file_default == ACCESS_ALL
            && self.execs.is_empty()
            && self.exec_default
            && self.net.is_empty()
            && self.net_default
            && self.deny & (DENY_PTRACE | DENY_SETUID | DENY_MOUNT | DENY_MODULE | DENY_BPF | DENY_UNIX) == 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enroll {
    Exec {
        path: String,
        role: String,
        at: String,
    },
    Cgroup {
        path: String,
        role: String,
        at: String,
    },
    /// The role named in the executable's `user.bpflock.role` xattr.
    Xattr {
        at: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JailPolicy {
    pub roles: Vec<Role>,
    pub enroll: Vec<Enroll>,
    /// (from, to): a task jailed in `from` may move into `to` (`to` narrows `from`).
    pub moves: Vec<(String, String)>,
}

impl JailPolicy {
    pub fn enabled(&self) -> bool {
        !self.roles.is_empty()
    }

    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }
}

fn choice<'a>(c: &Checker<'_>, key: &str, v: &Spanned<String>, options: &[&'a str]) -> Result<&'a str, PolicyError> {
    options.iter().copied().find(|o| o == v.get_ref()).ok_or_else(|| {
        c.error(v.span(), format!("{key}: unknown value \"{}\" (expected {})", v.get_ref(), options.join(" or ")))
    })
}

/// Validates a rule path: absolute, normalised, `/**` only as the last component.
fn path_rule(c: &Checker<'_>, key: &str, item: &Spanned<String>, access: u32) -> Result<PathRule, PolicyError> {
    let raw = item.get_ref().as_str();
    let bad = |why: &str| c.error(item.span(), format!("{key}: \"{raw}\": {why}"));
    let (path, subtree) = match raw.strip_suffix("/**") {
        Some("") => ("/", true),
        Some(dir) => (dir, true),
        None => (raw, false),
    };
    if !path.starts_with('/') {
        return Err(bad("must be an absolute path"));
    }
    if path.contains('*') || path.contains('?') || path.contains('[') {
        return Err(bad("the only pattern is a trailing /** (the directory and everything under it)"));
    }
    if path.len() > 1 && path.ends_with('/') {
        return Err(bad("no trailing slash (write /dir/** for a directory and what is under it)"));
    }
    if path.split('/').skip(1).any(|c| c.is_empty() || c == "." || c == "..") && path != "/" {
        return Err(bad("must be normalised (no //, . or .. components): rules match the path the kernel resolves"));
    }
    if path.len() + 2 > PATH_MAX {
        return Err(bad(&format!("longer than the {} bytes a rule can match", PATH_MAX - 2)));
    }
    Ok(PathRule { path: path.to_string(), subtree, access })
}

/// One map the policy fills, and how much of it the policy needs so far.
pub(super) struct Table {
    map: &'static str,
    what: &'static str,
    capacity: u32,
    used: u64,
}

impl Table {
    const fn new(map: &'static str, what: &'static str, capacity: u32) -> Self {
        Self { map, what, capacity, used: 0 }
    }

    /// Counts `n` more entries; false where they do not fit.
    fn charge(&mut self, n: u64) -> bool {
        self.used += n;
        self.used <= u64::from(self.capacity)
    }

    fn overflow(&self, rule: &str) -> String {
        format!(
            "{rule}: the {} table is full here ({} holds {} entries): fewer rules, or fewer roles sharing them",
            self.what, self.map, self.capacity
        )
    }
}

/// The jail's maps a policy fills, with their capacities (bpf/jail.h): `check` refuses a
/// policy that bootstrap could not store, and names the rule where a map overflows.
/// Counts are upper bounds where bootstrap's depend on the files (two names of one inode
/// are one object there).
struct MapTables {
    paths: Table,
    objects: Table,
    guarded: Table,
    net: Table,
    exec_enroll: Table,
    cgroup_enroll: Table,
    /// Mount points (read where check runs, as bootstrap reads them where it runs): a role
    /// records those below its directory rules (`NamedObjects::add_mounts`).
    mounts: Vec<String>,
}

impl MapTables {
    fn new(mounts: Vec<String>) -> Self {
        Self {
            paths: Table::new("jail_paths", "path rule", abi::JAIL_MAX_PATH_KEYS),
            objects: Table::new("jail_inodes", "named file", abi::JAIL_MAX_OBJECTS),
            guarded: Table::new("jail_guarded", "guarded directory", abi::JAIL_MAX_GUARDED),
            net: Table::new("jail_net", "network rule", abi::JAIL_MAX_NET_KEYS),
            exec_enroll: Table::new("jail_exec_enroll", "enrolled executable", abi::JAIL_MAX_EXEC_ENROLL),
            cgroup_enroll: Table::new("jail_cgroup_enroll", "enrolled cgroup", abi::JAIL_MAX_CGROUP_ENROLL),
            mounts,
        }
    }

    /// Charges what one role stores, as the jail's setup stores it (src/protections/jail.rs).
    fn charge_role(
        &mut self,
        c: &Checker<'_>,
        role: &Role,
        written_at: &HashMap<(u32, String, bool), usize>,
        net_keys: &[(usize, usize)],
        role_at: usize,
    ) -> Result<(), PolicyError> {
        let at = |kind: u32, rule: &PathRule| written_at.get(&(kind, rule.path.clone(), rule.subtree)).copied();
        let full = |table: &Table, kind: u32, rule: &PathRule| {
            let offset = at(kind, rule).unwrap_or(role_at);
            let pattern = if rule.subtree && rule.path != "/" { "/**" } else { "" };
            let name = format!("roles.{}: \"{}{pattern}\"", role.name, rule.path);
            c.error(offset..offset, table.overflow(&name))
        };
        // Mount points strictly below one of the role's directory rules (an upper bound of
        // what add_mounts records: it also skips those the rules name themselves).
        let dirs: HashSet<&str> = role.files.iter().filter(|r| r.subtree).map(|r| r.path.as_str()).collect();
        let below = |point: &str| {
            let mut at = point;
            while let Some(i) = at.rfind('/') {
                at = if i == 0 { "/" } else { &at[..i] };
                if dirs.contains(at) {
                    return true;
                }
                if at == "/" {
                    break;
                }
            }
            false
        };
        let mounts = self.mounts.iter().filter(|p| p.as_str() != "/" && below(p)).count();
        if !self.objects.charge(mounts as u64) {
            return Err(c.error(role_at..role_at, self.objects.overflow(&format!("roles.{}", role.name))));
        }
        let mut keys = HashSet::new();
        let mut objects = HashSet::new();
        let mut guarded = HashSet::new();
        for (kind, rules) in [(0u32, &role.files), (1u32, &role.execs)] {
            for rule in rules {
                if !keys.insert((kind, rule.path.as_str(), rule.subtree)) {
                    continue;
                }
                let n = if rule.subtree && rule.path != "/" { 2 } else { 1 };
                if !self.paths.charge(n) {
                    return Err(full(&self.paths, kind, rule));
                }
                if kind == 0 && objects.insert(rule.path.as_str()) && !self.objects.charge(1) {
                    return Err(full(&self.objects, kind, rule));
                }
                let new = rule.guards(kind == 1).into_iter().filter(|g| guarded.insert(g.clone())).count();
                if !self.guarded.charge(new as u64) {
                    return Err(full(&self.guarded, kind, rule));
                }
            }
        }
        for &(line, col) in net_keys {
            if !self.net.charge(1) {
                let message = self.net.overflow(&format!("roles.{}.net", role.name));
                return Err(PolicyError { origin: c.origin.to_string(), line, col, message });
            }
        }
        Ok(())
    }
}

/// "tcp/80", "udp/53", "tcp/8000-8100", "tcp/5432@10.0.0.0/8", "tcp/443@2001:db8::/32".
fn net_rule(c: &Checker<'_>, key: &str, direction: u8, item: &Spanned<String>) -> Result<NetRule, PolicyError> {
    let raw = item.get_ref().as_str();
    let bad = |why: &str| {
        c.error(
            item.span(),
            format!("{key}: \"{raw}\": {why} (expected PROTO/PORT[-PORT][@ADDRESS[/PREFIX]], e.g. tcp/443@10.0.0.0/8)"),
        )
    };
    let (proto, rest) = raw.split_once('/').ok_or_else(|| bad("no protocol"))?;
    let protocol = match proto {
        "tcp" => IPPROTO_TCP,
        "udp" => IPPROTO_UDP,
        _ => return Err(bad("the protocol is tcp or udp")),
    };
    let (ports, cidr) = match rest.split_once('@') {
        Some((p, a)) => (p, Some(a)),
        None => (rest, None),
    };
    let port = |s: &str| s.parse::<u16>().map_err(|_| bad("a port is a number from 0 to 65535"));
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(ports)?, port(ports)?),
    };
    if lo > hi {
        return Err(bad("the range is empty"));
    }
    let (mut addr, prefix) = match cidr {
        None => ([0u8; 16], 0),
        Some(cidr) => {
            let (ip, len) = match cidr.split_once('/') {
                Some((ip, len)) => (ip, Some(len)),
                None => (cidr, None),
            };
            let ip: IpAddr = ip.parse().map_err(|_| bad("not an IP address"))?;
            let (bytes, offset, max) = match ip {
                IpAddr::V4(v4) => (v4.to_ipv6_mapped().octets(), 96u8, 32u8),
                IpAddr::V6(v6) => (v6.octets(), 0, 128),
            };
            let len = match len {
                Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max).ok_or_else(|| bad("bad prefix length"))?,
                None => max,
            };
            (bytes, offset + len)
        }
    };
    // The address is masked to its prefix, as the trie compares it.
    for (i, b) in addr.iter_mut().enumerate() {
        *b &= prefix_mask(prefix, i);
    }
    let at = c.line_col(item.span().start);
    Ok(NetRule { direction, protocol, addr, prefix, lo, hi, at })
}

pub fn parse(
    c: &Checker<'_>,
    roles: Option<&BTreeMap<String, Spanned<RawRole>>>,
    enroll: Option<&Vec<Spanned<RawEnroll>>>,
) -> Result<JailPolicy, PolicyError> {
    let mut policy = JailPolicy::default();
    let has_roles = roles.is_some_and(|r| !r.is_empty());
    let mut tables = MapTables::new(if has_roles { super::maps::mount_points() } else { Vec::new() });
    for (name, raw) in roles.into_iter().flatten() {
        let span = raw.span();
        let raw = raw.get_ref();
        if name.is_empty()
            || name.len() > 31
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(c.error(span, format!("roles.{name}: a role name is 1 to 31 letters, digits, _ or -")));
        }
        let key = |k: &str| format!("roles.{name}.{k}");
        // Where each (kind, path, subtree) is first written: a map it overflows names it.
        let mut written_at: HashMap<(u32, String, bool), usize> = HashMap::new();
        // Where each of the role's network keys (merged rules) is first written.
        let mut net_keys: Vec<(usize, usize)> = Vec::new();
        let mut role = Role {
            name: name.clone(),
            complain: false,
            deny: 0,
            file_default: ACCESS_ALL,
            exec_default: true,
            net_default: true,
            files: Vec::new(),
            execs: Vec::new(),
            net: Vec::new(),
            capabilities: 0,
            families: 0,
        };
        if let Some(m) = &raw.mode {
            role.complain = choice(c, &key("mode"), m, &["enforce", "complain"])? == "complain";
        }
        for ((category, bit), value) in
            CATEGORIES.iter().zip([&raw.ptrace, &raw.setuid, &raw.mount, &raw.module, &raw.bpf])
        {
            let deny = match value {
                Some(v) => choice(c, &key(category), v, &["allow", "deny"])? == "deny",
                None => true,
            };
            if deny {
                role.deny |= bit;
            }
        }
        if let Some(f) = &raw.file {
            if let Some(d) = &f.default {
                role.file_default = match choice(c, &key("file.default"), d, &["allow", "read_only", "deny"])? {
                    "allow" => ACCESS_ALL,
                    "read_only" => READ | EXEC,
                    _ => 0,
                };
            }
            // Each (path, subtree) written, with its access: a second rule for it must agree.
            let mut written: HashMap<(String, bool), u32> = HashMap::new();
            for (k, list, access) in [
                ("file.allow", &f.allow, ACCESS_ALL),
                ("file.read_only", &f.read_only, READ | EXEC),
                ("file.no_exec", &f.no_exec, ACCESS_ALL & !EXEC),
                ("file.deny", &f.deny, 0),
            ] {
                for item in list.iter().flat_map(|l| l.get_ref()) {
                    let rule = path_rule(c, &key(k), item, access)?;
                    match written.get(&(rule.path.clone(), rule.subtree)) {
                        Some(&other) if other != rule.access => {
                            return Err(c.error(
                                item.span(),
                                format!("{}: \"{}\" has another rule in this role", key(k), item.get_ref()),
                            ));
                        }
                        _ => {
                            written.insert((rule.path.clone(), rule.subtree), rule.access);
                        }
                    }
                    written_at.entry((0, rule.path.clone(), rule.subtree)).or_insert(item.span().start);
                    role.files.push(rule);
                }
            }
            // Hard links give a file a second name its rules do not cover: refused where
            // there are file rules, unless asked for.
            let link_default = if role.files.is_empty() && role.file_default == ACCESS_ALL { "allow" } else { "deny" };
            let link = match &f.link {
                Some(l) => choice(c, &key("file.link"), l, &["allow", "deny"])?,
                None => link_default,
            };
            if link == "deny" {
                role.deny |= DENY_LINK;
            }
        }
        if let Some(e) = &raw.exec {
            let span = e.span();
            match e.get_ref() {
                RawExec::Simple(v) => {
                    role.exec_default = match v.as_str() {
                        "allow" => true,
                        "deny" => false,
                        other => {
                            return Err(c.error(
                                span,
                                format!(
                                    "{}: unknown value \"{other}\" (expected allow or deny, or a table)",
                                    key("exec")
                                ),
                            ))
                        }
                    }
                }
                RawExec::Rules(r) => {
                    // With an allow list and no default, what is not listed is denied.
                    role.exec_default = match r.default.as_deref() {
                        Some("allow") => true,
                        Some("deny") => false,
                        None => r.allow.is_none(),
                        Some(other) => {
                            return Err(c.error(
                                span,
                                format!("{}: unknown value \"{other}\" (expected allow or deny)", key("exec.default")),
                            ))
                        }
                    };
                    for (list, allow) in [(&r.allow, 1), (&r.deny, 0)] {
                        for p in list.iter().flatten() {
                            let item = Spanned::new(span.clone(), p.clone());
                            let rule = path_rule(c, &key("exec"), &item, allow)?;
                            written_at.entry((1, rule.path.clone(), rule.subtree)).or_insert(span.start);
                            role.execs.push(rule);
                        }
                    }
                }
            }
        }
        if let Some(n) = &raw.net {
            if let Some(d) = &n.default {
                role.net_default = choice(c, &key("net.default"), d, &["allow", "deny"])? == "allow";
            } else if n.connect.is_some() || n.bind.is_some() {
                role.net_default = false;
            }
            if let Some(u) = &n.unix {
                if choice(c, &key("net.unix"), u, &["allow", "files", "deny"])? == "deny" {
                    role.deny |= DENY_UNIX;
                }
            }
            for (k, list, direction) in [("net.connect", &n.connect, NET_CONNECT), ("net.bind", &n.bind, NET_BIND)] {
                for item in list.iter().flat_map(|l| l.get_ref()) {
                    role.net.push(net_rule(c, &key(k), direction, item)?);
                }
            }
            let merged = merged_port_ranges(&role.net).map_err(|((line, col), msg)| PolicyError {
                origin: c.origin.to_string(),
                line,
                col,
                message: format!("{}: {msg}", key("net")),
            })?;
            net_keys = merged.iter().map(|(rule, _)| rule.at).collect();
        }
        view_and_privilege(c, raw, &mut role, &key)?;
        implicit_file_rules(&mut role);
        tables.charge_role(c, &role, &written_at, &net_keys, span.start)?;
        policy.roles.push(role);
    }
    for (name, raw) in roles.into_iter().flatten() {
        for item in raw.get_ref().narrows.iter().flat_map(|l| l.get_ref()) {
            let key = format!("roles.{name}.narrows");
            if item.get_ref() == name {
                return Err(c.error(item.span(), format!("{key}: a role cannot narrow itself")));
            }
            let from = policy.role(item.get_ref()).ok_or_else(|| {
                let names = policy.roles.iter().map(|r| r.name.as_str());
                let suggestion = crate::vocabulary::did_you_mean(item.get_ref(), names);
                c.error(item.span(), format!("{key}: no role \"{}\"{suggestion}", item.get_ref()))
            })?;
            let to = policy.role(name).expect("parsed above");
            if let Err(why) = at_least_as_strict(to, from) {
                return Err(c.error(
                    item.span(),
                    format!("{key}: \"{name}\" is not at least as strict as \"{}\": {why}", from.name),
                ));
            }
            policy.moves.push((from.name.clone(), name.clone()));
        }
    }
    if policy.roles.len() > MAX_ROLES {
        return Err(c.error(0..0, format!("roles: at most {MAX_ROLES} roles (there are {})", policy.roles.len())));
    }
    for raw in enroll.into_iter().flatten() {
        let span = raw.span();
        let (line, col) = c.line_col(span.start);
        let at = format!("{}:{line}:{col}", c.origin);
        let raw = raw.get_ref();
        let role = raw.role.as_ref();
        let check_role = |role: Option<&Spanned<String>>| -> Result<String, PolicyError> {
            let role = role.ok_or_else(|| c.error(span.clone(), "enroll: `role` is missing".into()))?;
            if policy.role(role.get_ref()).is_none() {
                let known: Vec<_> = policy.roles.iter().map(|r| r.name.as_str()).collect();
                return Err(c.error(
                    role.span(),
                    format!("enroll.role: no role \"{}\" (roles: {})", role.get_ref(), known.join(", ")),
                ));
            }
            Ok(role.get_ref().clone())
        };
        let full = |table: &Table, path: &Spanned<String>| {
            let kind = if table.map == "jail_cgroup_enroll" { "cgroup" } else { "exec" };
            c.error(path.span(), table.overflow(&format!("enroll.{kind}: \"{}\"", path.get_ref())))
        };
        let entry = match (&raw.exec, &raw.cgroup, &raw.xattr) {
            (Some(e), None, None) => {
                if !e.get_ref().starts_with('/') {
                    return Err(c.error(e.span(), "enroll.exec: must be an absolute path".into()));
                }
                if !tables.exec_enroll.charge(1) {
                    return Err(full(&tables.exec_enroll, e));
                }
                Enroll::Exec { path: e.get_ref().clone(), role: check_role(role)?, at }
            }
            (None, Some(g), None) => {
                if !g.get_ref().starts_with("/sys/fs/cgroup") {
                    return Err(c.error(g.span(), "enroll.cgroup: a cgroup v2 directory under /sys/fs/cgroup".into()));
                }
                if !tables.cgroup_enroll.charge(1) {
                    return Err(full(&tables.cgroup_enroll, g));
                }
                Enroll::Cgroup { path: g.get_ref().clone(), role: check_role(role)?, at }
            }
            (None, None, Some(x)) => {
                if let Some(r) = role {
                    return Err(c.error(
                        r.span(),
                        "enroll: with xattr = true the role comes from the file's xattr; no `role` here".into(),
                    ));
                }
                if !*x.get_ref() {
                    continue;
                }
                Enroll::Xattr { at }
            }
            _ => return Err(c.error(span, "enroll: exactly one of exec, cgroup or xattr".into())),
        };
        policy.enroll.push(entry);
    }
    if !policy.enroll.is_empty() && policy.roles.is_empty() {
        return Err(c.error(0..0, "enroll: there are no roles".into()));
    }
    Ok(policy)
}

/// The defaults that depend on the rest of the role, and what overrides them: how the role's
/// tasks may change what they see (user namespaces, chroot), their capabilities, socket
/// families and raw sockets, and whom they may signal.
fn view_and_privilege(
    c: &Checker<'_>,
    raw: &RawRole,
    role: &mut Role,
    key: &dyn Fn(&str) -> String,
) -> Result<(), PolicyError> {
    let unrestricted = role.restricts_nothing();
    let has_names = !role.files.is_empty() || !role.execs.is_empty();
    let allow_deny = |k: &str, v: &Option<Spanned<String>>, default_deny: bool| -> Result<bool, PolicyError> {
        Ok(match v {
            Some(v) => choice(c, &key(k), v, &["allow", "deny"])? == "deny",
            None => default_deny,
        })
    };
    if allow_deny("userns", &raw.userns, has_names)? {
        role.deny |= DENY_USERNS;
    }
    if allow_deny("chroot", &raw.chroot, has_names)? {
        role.deny |= DENY_CHROOT;
    }
    let net = raw.net.as_ref();
    if allow_deny("net.raw", &net.and_then(|n| n.raw.clone()), !unrestricted)? {
        role.deny |= DENY_RAW;
    }
    if !role.net_default {
        role.deny |= DENY_INET_OTHER;
    }
    // AF_UNIX peers judged as the files they are bound at, unless the role says otherwise:
    // a privileged daemon's socket (systemd's, Docker's) acts for whoever may write it.
    let unix = match net.and_then(|n| n.unix.as_ref()) {
        Some(v) => v.get_ref().as_str(),
        None if unrestricted => "allow",
        None => "files",
    };
    if unix != "allow" {
        role.deny |= UNIX_BY_FILES; // under "deny" too: a stricter role has every bit of a laxer one
    }
    let signal = match &raw.signal {
        Some(v) => choice(c, &key("signal"), v, &["role", "allow"])?,
        None if unrestricted => "allow",
        None => "role",
    };
    if signal == "role" {
        role.deny |= DENY_SIGNAL;
    }
    role.families = match net.and_then(|n| n.families.as_ref()) {
        Some(list) => {
            let mut bits = 0;
            for item in list.get_ref() {
                bits |= family_bit(item.get_ref()).ok_or_else(|| {
                    let known: Vec<_> = FAMILIES.iter().map(|(n, _)| *n).collect();
                    c.error(
                        item.span(),
                        format!(
                            "{}: unknown family \"{}\" (known: {})",
                            key("net.families"),
                            item.get_ref(),
                            known.join(", ")
                        ),
                    )
                })?;
            }
            bits
        }
        None if unrestricted => u64::MAX,
        None => {
            let mut bits = family_bit("unix").expect("known");
            if role.net_default || !role.net.is_empty() {
                bits |= family_bit("inet").expect("known") | family_bit("inet6").expect("known");
            }
            bits
        }
    };
    role.capabilities = match &raw.capabilities {
        Some(list) => {
            let mut bits = 0;
            for item in list.get_ref() {
                bits |= capability_bit(item.get_ref()).ok_or_else(|| {
                    c.error(
                        item.span(),
                        format!(
                            "{}: unknown capability \"{}\" (capabilities(7) names, e.g. net_bind_service)",
                            key("capabilities"),
                            item.get_ref()
                        ),
                    )
                })?;
            }
            bits
        }
        None if unrestricted => u64::MAX,
        None => {
            let mut names: Vec<&str> = DEFAULT_CAPABILITIES.to_vec();
            if role.deny & DENY_SETUID != 0 {
                names.retain(|n| *n != "setuid" && *n != "setgid");
            }
            for (bit, needs) in [
                (DENY_PTRACE, &["sys_ptrace"][..]),
                (DENY_MOUNT, &["sys_admin"][..]),
                (DENY_MODULE, &["sys_module"][..]),
                (DENY_BPF, &["bpf", "perfmon", "sys_admin"][..]),
                (DENY_CHROOT, &["sys_chroot"][..]),
                (DENY_RAW, &["net_raw"][..]),
            ] {
                if role.deny & bit == 0 {
                    names.extend_from_slice(needs);
                }
            }
            names.iter().map(|n| capability_bit(n).expect("known capability")).fold(0, |a, b| a | b)
        }
    };
    Ok(())
}

/// Kernel tunables a process writes to own the host (`core_pattern` runs a program as
/// root at the next crash, `uevent_helper` likewise; `sysrq-trigger`): read-only in a role
/// with file rules whose default lets it write, unless a rule of its own names them.
const KERNEL_TUNABLES: [(&str, bool); 3] = [("/proc/sys", true), ("/sys", true), ("/proc/sysrq-trigger", false)];

/// Rules a role with file rules gets without writing them: the kernel tunables read-only,
/// and the programs its exec rules allow read-only (rewritten in place, an allowed name
/// would run anything). A role without file rules restricts no file (docs/jails.md).
fn implicit_file_rules(role: &mut Role) {
    if role.files.is_empty() {
        return;
    }
    let read_only = role.file_default & (READ | EXEC);
    let mut implicit: Vec<PathRule> = Vec::new();
    if role.file_default & !(READ | EXEC) != 0 {
        implicit.extend(KERNEL_TUNABLES.iter().map(|(path, subtree)| PathRule {
            path: path.to_string(),
            subtree: *subtree,
            access: read_only,
        }));
    }
    let files = PathIndex::of(&role.files);
    implicit.extend(role.execs.iter().filter(|r| r.access != 0 && !r.subtree).map(|r| PathRule {
        path: r.path.clone(),
        subtree: false,
        access: files.effective(&r.path, role.file_default) & (READ | EXEC),
    }));
    let mut present: HashSet<(String, bool)> = role.files.iter().map(|r| (r.path.clone(), r.subtree)).collect();
    for rule in implicit {
        if present.insert((rule.path.clone(), rule.subtree)) {
            role.files.push(rule);
        }
    }
}

/// Path rules by the path they name: the rule that decides a path is found by looking up
/// the path and then each directory above it (what the trie does in the kernel), not by
/// comparing every rule (a role of 10 000 rules took seconds).
struct PathIndex<'a> {
    exact: HashMap<&'a str, u32>,
    subtree: HashMap<&'a str, u32>,
}

impl<'a> PathIndex<'a> {
    fn of(rules: &'a [PathRule]) -> Self {
        let mut index = Self { exact: HashMap::new(), subtree: HashMap::new() };
        for r in rules {
            let map = if r.subtree { &mut index.subtree } else { &mut index.exact };
            map.insert(r.path.as_str(), r.access);
        }
        index
    }

    /// The access the closest rule gives `path`: an exact rule for it, else the subtree rule
    /// of the deepest directory above it (or of itself); `fallback` where none.
    fn effective(&self, path: &str, fallback: u32) -> u32 {
        if let Some(&access) = self.exact.get(path).or_else(|| self.subtree.get(path)) {
            return access;
        }
        let mut at = path;
        while let Some(slash) = at.rfind('/') {
            at = &at[..slash];
            let dir = if at.is_empty() { "/" } else { at };
            if let Some(&access) = self.subtree.get(dir) {
                return access;
            }
            if at.is_empty() {
                break;
            }
        }
        // A subtree rule for "/" covers every path.
        self.subtree.get("/").copied().unwrap_or(fallback)
    }
}

/// The access the longest matching rule of `rules` grants on `path` (`fallback` if none),
/// by its definition: what PathIndex must agree with.
#[cfg(test)]
fn effective(rules: &[PathRule], path: &str, fallback: u32) -> u32 {
    rules
        .iter()
        .filter(|r| match r.subtree {
            true => r.path == "/" || path == r.path || path.starts_with(&format!("{}/", r.path)),
            false => path == r.path,
        })
        .max_by_key(|r| (r.path.len(), !r.subtree))
        .map_or(fallback, |r| r.access)
}

/// Whether `b` never allows what `a` refuses: the condition for moving a task from `a`
/// into `b`. Checked where the rules of either role change the answer (their paths), and
/// on the defaults; network rules of `b` must each lie within one of `a`'s.
pub fn at_least_as_strict(b: &Role, a: &Role) -> Result<(), String> {
    if a.deny & !b.deny != 0 {
        return Err("it allows something (ptrace, setuid, mount, module, bpf, link, unix, userns, chroot, raw \
                    sockets, signals or other IP protocols) the other denies"
            .into());
    }
    if b.capabilities & !a.capabilities != 0 {
        return Err("it allows a capability the other does not".into());
    }
    if b.families & !a.families != 0 {
        return Err("it allows a socket family the other does not".into());
    }
    if b.complain && !a.complain {
        return Err("it is in complain mode".into());
    }
    for (kind, ra, rb, da, db) in [
        ("file", &a.files, &b.files, a.file_default, b.file_default),
        ("exec", &a.execs, &b.execs, a.exec_default as u32, b.exec_default as u32),
    ] {
        if db & !da != 0 {
            return Err(format!("its {kind} default grants more"));
        }
        let (index_a, index_b) = (PathIndex::of(ra), PathIndex::of(rb));
        for r in ra.iter().chain(rb) {
            let probe = if r.subtree && r.path != "/" { format!("{}/x", r.path) } else { r.path.clone() };
            for path in [r.path.as_str(), probe.as_str()] {
                if index_b.effective(path, db) & !index_a.effective(path, da) != 0 {
                    return Err(format!("it grants more {kind} access to {path}"));
                }
            }
        }
    }
    if b.net_default && !a.net_default {
        return Err("its network default allows".into());
    }
    if !a.net_default {
        for r in &b.net {
            let inside = a.net.iter().any(|o| {
                o.direction == r.direction && o.protocol == r.protocol && o.lo <= r.lo && r.hi <= o.hi && o.contains(r)
            });
            if !inside {
                let (line, col) = r.at;
                return Err(format!("its network rule at {line}:{col} is not within one of the other's"));
            }
        }
    }
    Ok(())
}

/// Per (direction, protocol, CIDR): the port ranges of every rule whose CIDR contains it,
/// merged. Err names the rule whose CIDR ends up with too many ranges.
pub fn merged_port_ranges(rules: &[NetRule]) -> Result<Vec<(NetRule, Vec<(u16, u16)>)>, ((usize, usize), String)> {
    // The rules by (direction, protocol, prefix, network): the rules containing one are
    // found with one lookup per prefix length in use, not by comparing every pair (a role
    // of 10 000 CIDRs took seconds).
    type Network = (u8, u8, u8, [u8; 16]);
    let network = |r: &NetRule, prefix: u8| -> Network {
        let mut addr = r.addr;
        for (i, byte) in addr.iter_mut().enumerate() {
            *byte &= prefix_mask(prefix, i);
        }
        (r.direction, r.protocol, prefix, addr)
    };
    let mut by_network: HashMap<Network, Vec<(u16, u16)>> = HashMap::new();
    let mut prefixes: HashMap<(u8, u8), BTreeSet<u8>> = HashMap::new();
    for r in rules {
        by_network.entry(network(r, r.prefix)).or_default().push((r.lo, r.hi));
        prefixes.entry((r.direction, r.protocol)).or_default().insert(r.prefix);
    }
    let mut seen = HashSet::new();
    let mut out: Vec<(NetRule, Vec<(u16, u16)>)> = Vec::new();
    for rule in rules {
        // One entry per CIDR as written.
        if !seen.insert((rule.direction, rule.protocol, rule.prefix, rule.addr)) {
            continue;
        }
        let mut ranges: Vec<(u16, u16)> = prefixes[&(rule.direction, rule.protocol)]
            .range(..=rule.prefix)
            .filter_map(|&prefix| by_network.get(&network(rule, prefix)))
            .flatten()
            .copied()
            .collect();
        ranges.sort();
        let mut merged: Vec<(u16, u16)> = Vec::new();
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo as u32 <= last.1 as u32 + 1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        if merged.len() > PORT_RANGES {
            return Err((
                rule.at,
                format!("more than {PORT_RANGES} separate port ranges apply to one address range; merge them"),
            ));
        }
        out.push((rule.clone(), merged));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn parse(text: &str) -> Result<JailPolicy, PolicyError> {
        let p = Policy::parse("t.toml", text).map_err(|e| e.first().clone())?;
        let section = p.section("jail").expect("the jail reads its sections");
        Ok(crate::protection::section::<super::super::JailSection>(section).policy.clone())
    }

    #[test]
    fn a_role_with_rules() {
        let p = parse(
            r#"
[roles.web]
file.deny = ["/etc/shadow", "/root/**"]
file.read_only = ["/etc/**"]
exec.allow = ["/usr/sbin/nginx"]
net.connect = ["tcp/443", "tcp/5432@10.0.0.0/8", "udp/53@::ffff:0:0/96"]
net.bind = ["tcp/8000-8100"]
ptrace = "allow"
[[enroll]]
exec = "/usr/sbin/nginx"
role = "web"
"#,
        )
        .unwrap();
        let r = p.role("web").unwrap();
        assert_eq!(r.files.len(), 7, "its three rules, the kernel tunables and the program it runs");
        assert!(r.files.contains(&PathRule { path: "/root".into(), subtree: true, access: 0 }));
        assert!(!r.exec_default, "an allow list without a default denies the rest");
        assert!(!r.net_default, "network rules without a default deny the rest");
        assert_eq!(r.deny & DENY_PTRACE, 0);
        assert_ne!(r.deny & DENY_SETUID, 0, "unnamed categories are denied");
        assert_ne!(r.deny & DENY_LINK, 0, "hard links are refused where there are file rules");
        let pg = r.net.iter().find(|n| n.lo == 5432).unwrap();
        assert_eq!(pg.prefix, 104);
        assert_eq!(&pg.addr[10..13], &[0xff, 0xff, 10]);
        assert_eq!(p.enroll.len(), 1);
    }

    #[test]
    fn view_and_privilege_defaults_follow_the_rules() {
        let p = parse(
            "[roles.web]\nfile.deny = [\"/etc/shadow\"]\nnet.bind = [\"tcp/80\"]\n\
             [roles.open]\nptrace = \"allow\"\nsetuid = \"allow\"\nmount = \"allow\"\nmodule = \"allow\"\nbpf = \"allow\"\n\
             [roles.tuned]\nfile.deny = [\"/etc/shadow\"]\nchroot = \"allow\"\ncapabilities = [\"CAP_NET_RAW\", \"sys_admin\"]\n\
             net.families = [\"unix\", \"packet\"]\nnet.raw = \"allow\"\nsignal = \"allow\"\n",
        )
        .unwrap();
        let web = p.role("web").unwrap();
        for bit in [DENY_USERNS, DENY_CHROOT, DENY_RAW, DENY_SIGNAL, DENY_INET_OTHER, UNIX_BY_FILES] {
            assert_ne!(web.deny & bit, 0, "web denies {bit:#x}");
        }
        assert_eq!(
            p.role("open").unwrap().deny & UNIX_BY_FILES,
            0,
            "a role that restricts nothing talks to any socket"
        );
        let cap = |n| capability_bit(n).unwrap();
        assert_ne!(web.capabilities & cap("net_bind_service"), 0);
        assert_eq!(web.capabilities & (cap("sys_admin") | cap("setuid") | cap("setgid") | cap("net_raw")), 0);
        assert_eq!(
            web.families,
            family_bit("unix").unwrap() | family_bit("inet").unwrap() | family_bit("inet6").unwrap()
        );
        let open = p.role("open").unwrap();
        assert_eq!((open.capabilities, open.families), (u64::MAX, u64::MAX), "a role that restricts nothing");
        assert_eq!(open.deny & (DENY_USERNS | DENY_CHROOT | DENY_RAW | DENY_SIGNAL), 0);
        let tuned = p.role("tuned").unwrap();
        assert_eq!(tuned.capabilities, cap("net_raw") | cap("sys_admin"));
        assert_eq!(tuned.families, family_bit("unix").unwrap() | family_bit("packet").unwrap());
        assert_eq!(tuned.deny & (DENY_CHROOT | DENY_RAW | DENY_SIGNAL), 0);
        assert_ne!(tuned.deny & DENY_USERNS, 0);
        let e = parse("[roles.r]\ncapabilities = [\"sys_adnim\"]\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 17));
        assert!(e.message.contains("roles.r.capabilities: unknown capability"), "{e}");
        let e = parse("[roles.r]\nnet.families = [\"inet4\"]\n").unwrap_err();
        assert!(e.message.contains("unknown family \"inet4\""), "{e}");
        let e = parse("[roles.web]\nfile.deny = [\"/x\"]\n[roles.b]\nnarrows = [\"web\"]\nfile.deny = [\"/x\"]\ncapabilities = [\"sys_admin\"]\n")
            .unwrap_err();
        assert!(e.message.contains("capability"), "{e}");
    }

    #[test]
    fn tunables_and_allowed_programs_are_read_only_where_there_are_file_rules() {
        let p = parse(
            "[roles.web]\nfile.deny = [\"/etc/shadow\"]\nexec.allow = [\"/usr/sbin/nginx\"]\n\
             [roles.own]\nfile.deny = [\"/x\"]\nfile.allow = [\"/sys/**\"]\n\
             [roles.net]\nnet.default = \"deny\"\n",
        )
        .unwrap();
        let web = p.role("web").unwrap();
        assert_eq!(effective(&web.files, "/proc/sys/kernel/core_pattern", ACCESS_ALL), READ | EXEC);
        assert_eq!(effective(&web.files, "/sys/kernel/uevent_helper", ACCESS_ALL), READ | EXEC);
        assert_eq!(effective(&web.files, "/proc/sysrq-trigger", ACCESS_ALL), READ | EXEC);
        assert_eq!(effective(&web.files, "/usr/sbin/nginx", ACCESS_ALL), READ | EXEC);
        assert_eq!(effective(&p.role("own").unwrap().files, "/sys/x", ACCESS_ALL), ACCESS_ALL, "its own rule stays");
        assert!(p.role("net").unwrap().files.is_empty(), "no file rules: none added");
    }

    #[test]
    fn rules_guard_what_is_above_them() {
        let deny = PathRule { path: "/srv/vault".into(), subtree: true, access: 0 };
        assert_eq!(deny.guards(false), vec!["/srv".to_string(), "/".to_string()]);
        assert_eq!(deny.depth(), 2);
        let allow = PathRule { path: "/srv/pub".into(), subtree: true, access: ACCESS_ALL };
        assert!(allow.guards(false).is_empty(), "an allow rule protects nothing");
        let exec = PathRule { path: "/usr/sbin/nginx".into(), subtree: false, access: 1 };
        assert_eq!(exec.guards(true), vec!["/usr/sbin", "/usr", "/", "/usr/sbin/nginx"]);
        let root = PathRule { path: "/".into(), subtree: true, access: 0 };
        assert_eq!((root.depth(), root.guards(false).len()), (0, 0));
    }

    #[test]
    fn wider_cidr_ports_apply_inside_narrower_ones() {
        let p = parse("[roles.r]\nnet.connect = [\"tcp/443\", \"tcp/5432@10.0.0.0/8\", \"tcp/80-81@10.1.0.0/16\"]\n")
            .unwrap();
        let merged = merged_port_ranges(&p.roles[0].net).unwrap();
        let at = |prefix| merged.iter().find(|(r, _)| r.prefix == prefix).unwrap().1.clone();
        assert_eq!(at(0), vec![(443, 443)]);
        assert_eq!(at(104), vec![(443, 443), (5432, 5432)]);
        assert_eq!(at(112), vec![(80, 81), (443, 443), (5432, 5432)]);
        // Each CIDR once; other directions, protocols and sibling networks stay apart.
        let p = parse(
            "[roles.r]\nnet.connect = [\"tcp/1@10.1.0.0/16\", \"tcp/2@10.1.0.0/16\", \"udp/3@10.0.0.0/8\", \"tcp/4@10.2.0.0/16\", \"tcp/5@::/0\"]\nnet.bind = [\"tcp/6@10.0.0.0/8\"]\n",
        )
        .unwrap();
        let merged = merged_port_ranges(&p.roles[0].net).unwrap();
        let ranges: Vec<(u8, u8, u8, Vec<(u16, u16)>)> =
            merged.iter().map(|(r, ranges)| (r.direction, r.protocol, r.prefix, ranges.clone())).collect();
        assert_eq!(
            ranges,
            [
                (NET_CONNECT, IPPROTO_TCP, 112, vec![(1, 2), (5, 5)]),
                (NET_CONNECT, IPPROTO_UDP, 104, vec![(3, 3)]),
                (NET_CONNECT, IPPROTO_TCP, 112, vec![(4, 5)]),
                (NET_CONNECT, IPPROTO_TCP, 0, vec![(5, 5)]),
                (NET_BIND, IPPROTO_TCP, 104, vec![(6, 6)]),
            ]
        );
    }

    #[test]
    fn errors_point_at_the_rule() {
        let e = parse("[roles.r]\nfile.deny = [\"etc/shadow\"]\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 14));
        assert!(e.message.contains("absolute"), "{e}");
        let e = parse("[roles.r]\nnet.connect = [\"icmp/1\"]\n").unwrap_err();
        assert!(e.message.contains("tcp or udp"), "{e}");
        let e = parse("[roles.r]\n[[enroll]]\nexec = \"/bin/x\"\nrole = \"nope\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (4, 8));
        let e = parse("[roles.r]\nfile.deny = [\"/a/*/b\"]\n").unwrap_err();
        assert!(e.message.contains("trailing /**"), "{e}");
    }

    #[test]
    fn a_role_cannot_narrow_itself() {
        let e = parse("[roles.web]\nnarrows = [\"web\"]\nfile.deny = [\"/x\"]\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 12), "{e}");
        assert!(e.message.contains("a role cannot narrow itself"), "{e}");
        let e = parse("[roles.web]\nfile.deny = [\"/x\"]\n[roles.b]\nnarrows = [\"wbe\"]\n").unwrap_err();
        assert!(e.message.contains("no role \"wbe\" (did you mean `web`?)"), "{e}");
    }

    /// A policy bootstrap could not store is refused by check, at the rule that overflows.
    #[test]
    fn map_capacities_are_checked_with_the_rule_named() {
        let per_key = abi::JAIL_MAX_PATH_KEYS as usize / 2;
        let rules: Vec<String> = (0..=per_key).map(|i| format!("\"/d/{i}/**\"")).collect();
        let e = parse(&format!("[roles.web]\nfile.deny = [\n{}\n]\n", rules.join(",\n"))).unwrap_err();
        assert_eq!(e.line, 3 + per_key, "{e}");
        assert!(e.message.contains(&format!("roles.web: \"/d/{per_key}/**\"")), "{e}");
        assert!(e.message.contains("jail_paths holds 65536 entries"), "{e}");
        // Fewer fit (the role's implicit rules, /proc/sys/** and others, take a few keys).
        let fits = &rules[..per_key - 64];
        parse(&format!("[roles.web]\nfile.deny = [\n{}\n]\n", fits.join(",\n"))).unwrap();

        // Network keys: one per (direction, protocol, CIDR), named at the rule that adds the last.
        let keys = abi::JAIL_MAX_NET_KEYS as usize;
        let nets: Vec<String> =
            (0..=keys).map(|i| format!("\"tcp/1@10.{}.{}.{}/32\"", i >> 16, (i >> 8) & 255, i & 255)).collect();
        let e = parse(&format!("[roles.web]\nnet.connect = [\n{}\n]\n", nets.join(",\n"))).unwrap_err();
        assert_eq!(e.line, 3 + keys, "{e}");
        assert!(e.message.contains("jail_net holds 65536 entries"), "{e}");

        let cgroups = abi::JAIL_MAX_CGROUP_ENROLL as usize;
        let mut text = String::from("[roles.web]\nfile.deny = [\"/x\"]\n");
        for i in 0..=cgroups {
            text += &format!("[[enroll]]\ncgroup = \"/sys/fs/cgroup/c{i}\"\nrole = \"web\"\n");
        }
        let e = parse(&text).unwrap_err();
        assert_eq!((e.line, e.col), (4 + 3 * cgroups, 10), "{e}");
        assert!(e.message.contains(&format!("enroll.cgroup: \"/sys/fs/cgroup/c{cgroups}\"")), "{e}");
        assert!(e.message.contains("jail_cgroup_enroll holds 4096 entries"), "{e}");
    }

    #[test]
    fn narrows_only_a_role_it_is_stricter_than() {
        let ok = parse(
            "[roles.web]\nfile.deny = [\"/etc/shadow\"]\nnet.connect = [\"tcp/443@10.0.0.0/8\"]\n\
             [roles.tight]\nnarrows = [\"web\"]\nfile.deny = [\"/etc/shadow\", \"/etc/passwd\"]\n\
             net.connect = [\"tcp/443@10.1.0.0/16\"]\n",
        )
        .unwrap();
        assert_eq!(ok.moves, vec![("web".to_string(), "tight".to_string())]);
        let e = parse("[roles.web]\nfile.deny = [\"/etc/shadow\"]\n[roles.loose]\nnarrows = [\"web\"]\nfile.deny = [\"/etc/passwd\"]\n")
            .unwrap_err();
        assert!(e.message.contains("more file access to /etc/shadow"), "{e}");
        assert_eq!((e.line, e.col), (4, 12));
        let e = parse("[roles.web]\n[roles.b]\nnarrows = [\"web\"]\nbpf = \"allow\"\n").unwrap_err();
        assert!(e.message.contains("allows something"), "{e}");
        let e = parse(
            "[roles.web]\nnet.connect = [\"tcp/443\"]\n[roles.b]\nnarrows = [\"web\"]\nnet.connect = [\"tcp/22\"]\n",
        )
        .unwrap_err();
        assert!(e.message.contains("network rule"), "{e}");
    }

    #[test]
    fn path_index_decides_as_the_longest_rule() {
        let rule = |path: &str, subtree, access| PathRule { path: path.into(), subtree, access };
        let rules = [
            rule("/", true, 1),
            rule("/srv", true, 2),
            rule("/srv/vault", true, 0),
            rule("/srv/vault", false, 4),
            rule("/srv/vault/open", false, 8),
            rule("/etc/shadow", false, 0),
        ];
        let index = PathIndex::of(&rules);
        for path in [
            "/",
            "/srv",
            "/srv/",
            "/srv/vault",
            "/srv/vaultx",
            "/srv/vault/a",
            "/srv/vault/open",
            "/srv/vault/open/x",
            "/etc",
            "/etc/shadow",
            "/etc/shadow/x",
            "/etc/shadowx",
            "relative",
        ] {
            assert_eq!(index.effective(path, 0xf), effective(&rules, path, 0xf), "{path}");
        }
        assert_eq!(PathIndex::of(&rules[1..]).effective("/usr", 0xf), 0xf);
    }
}
