/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Jails: roles that confine enrolled processes and their children. Structures shared by
 * bpf/jail.bpf.c and src/protections/jail/ (which reads the constants through src/abi.rs).
 */
#ifndef BPFLOCK_JAIL_H
#define BPFLOCK_JAIL_H

#define JAIL_MAX_ROLES 64      /* role ids 1..63; 0 = not jailed */
#define JAIL_PATH_MAX 240      /* bytes of a path the rules can match (with its NUL) */
#define JAIL_PORT_RANGES 16    /* port ranges per (role, direction, protocol, CIDR) */
#define JAIL_CGROUP_DEPTH 64   /* cgroup ancestors looked at for enrollment; deeper fails closed */
#define JAIL_ROLE_UNKNOWN 0xffffffff /* cgroup_role(): an enrolled ancestor may be out of reach */

/* Map capacities: `bpflock check` refuses a policy that would overflow one, naming the rule. */
#define JAIL_MAX_PATH_KEYS 65536    /* jail_paths: a rule is 1 key, a directory rule 2 */
#define JAIL_MAX_OBJECTS 65536      /* jail_inodes: files the rules name, mount roots, per role */
#define JAIL_MAX_GUARDED 65536      /* jail_guarded: directories above restricting rules, per role */
#define JAIL_MAX_NET_KEYS 65536     /* jail_net: (role, direction, protocol, CIDR) */
#define JAIL_MAX_EXEC_ENROLL 65536  /* jail_exec_enroll: [[enroll]] exec */
#define JAIL_MAX_CGROUP_ENROLL 4096 /* jail_cgroup_enroll: [[enroll]] cgroup */
#define JAIL_MAX_MOVES 4096         /* jail_moves: (from, to) pairs of roles */

/* File access, as rules grant it (enum jail_access bits). */
#define JAIL_READ 0x1
#define JAIL_WRITE 0x2
#define JAIL_APPEND 0x4
#define JAIL_EXEC 0x8
#define JAIL_ACCESS_ALL 0xf

/* What a role denies outright (struct jail_role.deny bits). */
#define JAIL_DENY_PTRACE 0x1
#define JAIL_DENY_SETUID 0x2
#define JAIL_DENY_MOUNT 0x4
#define JAIL_DENY_MODULE 0x8
#define JAIL_DENY_BPF 0x10
#define JAIL_DENY_LINK 0x20    /* hard links: a link would give a denied file a new name */
#define JAIL_DENY_UNIX 0x40    /* connect/send to AF_UNIX sockets */
#define JAIL_DENY_USERNS 0x80  /* new user namespaces: a task gets every capability in one */
#define JAIL_DENY_CHROOT 0x100 /* chroot(2): a root of its own renames every file */
#define JAIL_DENY_RAW 0x200    /* raw IP sockets: hand-made headers, beside every address rule */
#define JAIL_DENY_SIGNAL 0x400 /* signals to tasks outside the role */
#define JAIL_DENY_INET_OTHER 0x800 /* IP protocols other than TCP and UDP (SCTP, ICMP...): no rule judges them */
#define JAIL_UNIX_BY_FILES 0x1000 /* AF_UNIX peers as files: a pathname socket where the role may write, no abstract ones */

#define JAIL_MODE_ENFORCE 0
#define JAIL_MODE_COMPLAIN 1   /* report would-deny, allow */

struct jail_role {
	__u32 mode;
	__u32 deny;
	__u32 file_default;   /* JAIL_* access granted where no file rule matches */
	__u32 exec_default;   /* 1: exec allowed where no exec rule matches */
	__u32 net_default;    /* 1: connect/bind allowed where no network rule matches */
	__u32 has_file_rules; /* 0: no path work at all for this role */
	__u32 has_exec_rules;
	__u32 has_net_rules;
	__u64 capabilities; /* 1 << CAP_*: what the role's tasks may use of the capabilities they hold */
	__u64 families;     /* 1 << AF_*: socket families the role may create (netlink route always) */
};

/* The state a jailed task carries (task storage, copied to children in task_alloc). Its
 * layout is pinned with the map: bpflock re-applied after an upgrade reuses it, and the
 * tasks jailed before stay jailed. */
struct jail_task {
	__u32 role;
	__u32 flags;
};

/* jail_task.flags: enrolled by this very exec (its own exec check is skipped once). */
#define JAIL_FLAG_ENROLLING 0x1
/* jail_task.flags: this exec's xattr names no role (the next program refuses it). */
#define JAIL_FLAG_BAD_XATTR 0x2

#define JAIL_ROLE_NAME_LEN 32
#define JAIL_XATTR_NAME "user.bpflock.role"


/* Rule kinds in the path trie. */
#define JAIL_RULE_FILE 0
#define JAIL_RULE_EXEC 1

/*
 * Path trie key: longest prefix match over (role, kind, path bytes). A directory rule
 * ("/dir/" followed by two stars) is the prefix "/dir/", an exact path includes its NUL. Compared by name, byte by byte.
 */
struct jail_path_key {
	__u32 prefixlen;
	__u32 role;
	__u32 kind;
	char path[JAIL_PATH_MAX];
};

struct jail_path_rule {
	__u32 access; /* file rules: JAIL_* granted; exec rules: 1 allow, 0 deny */
	__u32 depth;  /* components of the path the rule names: "/" 0, "/srv/vault" 2 */
	/* File rules, for what a file under this name meets first on its way up (jail_object.id, 0: none): */
	__u32 own;    /* what the rule names, if it existed at bootstrap */
	__u32 above;  /* the closest directory above the name that a subtree rule names */
	__u32 exact;  /* 1: an exact rule (a file put at its name since, in its directory, is the one named) */
	/*
	 * An exact rule's own object, if it existed at bootstrap: its identity and what every
	 * rule naming it grants (jail_object.itself). A file that is that object is judged
	 * without the walk up the inodes, whose first step would find just this (make bench:
	 * a hash lookup, ~170 instructions of a jailed open). own_dev 0: none.
	 */
	__u32 own_dev;
	__u32 own_itself;
	__u64 own_ino;
};

/*
 * The files and directories the file rules name, by the kernel's (s_dev, i_ino) at
 * bootstrap (value: struct jail_object). For the hooks that see a dentry but no path
 * (hard link, rename, unlink), the rule of the closest named object above, on the same
 * filesystem, applies. For a path, they tell whether its name is what the file is: the
 * closest named object above a file must be the one its name's rule expects
 * (jail_path_rule.own, or .above where the rule's object did not exist at bootstrap or an
 * exact rule's file was replaced); any other (a bind mount, a renamed ancestor, a second
 * hard link) means the name is not the file's, and that object's rule applies too.
 */
struct jail_inode_key {
	__u32 role;
	__u32 dev;
	__u64 ino;
};

#define JAIL_OBJECT_SELF 0x1  /* an exact rule names it */
#define JAIL_OBJECT_BELOW 0x2 /* a subtree rule names it */

struct jail_object {
	__u32 id;    /* 1.. within the role */
	__u32 flags; /* JAIL_OBJECT_* */
	__u32 itself; /* JAIL_OBJECT_SELF: access to the object itself */
	__u32 below;  /* JAIL_OBJECT_BELOW: access beneath it */
};

/*
 * jail_guarded: the same keys, for what may not be moved, replaced or removed by the role:
 * every directory above a file or directory a restricting file rule names, and the files
 * an exec rule allows with their directories. Renaming /srv would otherwise carry
 * /srv/vault's files out from under the name their rule matches.
 */

/* Moves a jailed task may make: from a role into one that narrows it (value unused). */
struct jail_move_key {
	__u32 from;
	__u32 to;
};

/* Executables that enroll, by the kernel's (s_dev, i_ino). */
struct jail_exec_key {
	__u32 dev;
	__u32 pad;
	__u64 ino;
};

/* Network rules: longest prefix over (role, direction, protocol, IPv6 address). IPv4
 * is stored and looked up as v4-mapped IPv6 (::ffff:a.b.c.d). */
#define JAIL_NET_CONNECT 0 /* connect, and sendmsg with an address */
#define JAIL_NET_BIND 1

struct jail_net_key {
	__u32 prefixlen;
	__u32 role;
	__u8 direction;
	__u8 protocol; /* IPPROTO_TCP, IPPROTO_UDP */
	__u8 pad[2];
	__u8 addr[16];
};

struct jail_port_range {
	__u16 lo;
	__u16 hi;
};

/* The ports allowed at the longest matching CIDR: the union of every rule whose CIDR
 * contains it (bpflock merges them), so the longest match alone answers. */
struct jail_net_rule {
	__u32 count;
	struct jail_port_range ranges[JAIL_PORT_RANGES];
};

/* Event operations (low 16 bits; the role id is in the high 16). */
enum jail_op {
	JAIL_OP_FILE_READ = 0,
	JAIL_OP_FILE_WRITE = 1,
	JAIL_OP_FILE_APPEND = 2,
	JAIL_OP_FILE_EXEC = 3,   /* opened for exec, or mapped executable */
	JAIL_OP_EXEC = 4,        /* execve of a program the role does not run */
	JAIL_OP_PATH_TOO_LONG = 5,
	JAIL_OP_LINK = 6,
	JAIL_OP_PTRACE = 7,
	JAIL_OP_TRACEME = 8,
	JAIL_OP_SETUID = 9,
	JAIL_OP_MOUNT = 10,
	JAIL_OP_MODULE = 11,
	JAIL_OP_BPF = 12,
	JAIL_OP_CONNECT = 13,
	JAIL_OP_BIND = 14,
	JAIL_OP_SENDMSG = 15,
	JAIL_OP_UNIX = 16,
	JAIL_OP_PINS = 17,       /* removing or renaming bpflock's pins */
	JAIL_OP_ENROLL = 18,     /* a jailed task asked to re-enroll: refused */
	JAIL_OP_RENAME = 19,
	JAIL_OP_UNLINK = 20,
	JAIL_OP_SETATTR = 21,    /* chmod, chown, truncate(2) */
	JAIL_OP_CGROUP_TOO_DEEP = 22, /* a cgroup deeper than JAIL_CGROUP_DEPTH under cgroup enrollment */
	JAIL_OP_DISCONNECTED = 23, /* a file whose path does not lead to the task's root */
	JAIL_OP_FOREIGN_ROOT = 24, /* a task whose root is not the system's root (chroot, another rootfs) */
	JAIL_OP_CHROOT = 25,     /* chroot(2), pivot_root(2) */
	JAIL_OP_USERNS = 26,
	JAIL_OP_SOCKET = 27,     /* a socket family, type or protocol the role does not use */
	JAIL_OP_LISTEN = 28,     /* listen() on a port the bind rules do not allow */
	JAIL_OP_SIGNAL = 29,     /* a signal to a task outside the role */
	JAIL_OP_INTERNAL = 30,   /* path_from_root(): a kernel-internal mount (never reported) */
	JAIL_OP_CAPABILITY = 64, /* + the capability's number (CAP_SYS_ADMIN: 64 + 21) */
};

#endif
