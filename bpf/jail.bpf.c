// SPDX-License-Identifier: GPL-2.0
/*
 * jail: roles that confine enrolled processes and their children (BpfJailer's idea,
 * daemonless: roles and enrollment come from the policy at bootstrap).
 *
 * A task is jailed when it carries a role in task storage. It gets one by running an
 * enrolled executable (matched by the kernel's (device, inode)), by forking or
 * executing inside an enrolled cgroup (or a descendant), from a jailed parent
 * (task_alloc copies the role: threads too), or from `bpflock run --role`. A jailed task
 * never changes role: re-enrolling is refused.
 *
 * The fast path of every hook is one task-storage lookup that finds nothing: a task in
 * no jail pays no path or address work.
 */
#include "bpflock.bpf.h"
#include "jail.h"
#include "events.bpf.h"
#include "vfs.bpf.h"
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define ENOMEM 12
#define PROT_EXEC 0x4
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
#define O_APPEND 02000
#define S_IFMT 0170000
#define S_IFBLK 0060000
#define AF_UNSPEC 0
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_NETLINK 16
#define NETLINK_ROUTE 0
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define SOCK_PACKET 10
#define SOCK_TYPE_MASK 0xf
#define IPPROTO_IP 0
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_RAW 255
#define CAP_OPT_NOAUDIT 0x2
#define F_SETOWN 8
#define F_SETOWN_EX 15
#define F_SETFL 4
#define O_ASYNC 020000
#define S_IFCHR 0020000
#define FIOASYNC 0x5452
#define TIOCSIG 0x40045436
#define FIOSETOWN 0x8901
#define SIOCSPGRP 0x8902
#define CAP_LAST 63
#define BPF_FS_MAGIC 0xcafe4a11

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct jail_task);
} jail_tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, JAIL_MAX_ROLES);
	__type(key, __u32);
	__type(value, struct jail_role);
} jail_roles SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, JAIL_MAX_PATH_KEYS);
	__type(key, struct jail_path_key);
	__type(value, struct jail_path_rule);
} jail_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JAIL_MAX_OBJECTS);
	__type(key, struct jail_inode_key);
	__type(value, struct jail_object);
} jail_inodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JAIL_MAX_GUARDED);
	__type(key, struct jail_inode_key);
	__type(value, __u8);
} jail_guarded SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JAIL_MAX_EXEC_ENROLL);
	__type(key, struct jail_exec_key);
	__type(value, __u32);
} jail_exec_enroll SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JAIL_MAX_CGROUP_ENROLL);
	__type(key, __u64);
	__type(value, __u32);
} jail_cgroup_enroll SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, JAIL_MAX_NET_KEYS);
	__type(key, struct jail_net_key);
	__type(value, struct jail_net_rule);
} jail_net SEC(".maps");

/* Role names by id, for status, the forwarder and `bpflock run` (not read by the programs). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, JAIL_MAX_ROLES);
	__type(key, __u32);
	__type(value, char[32]);
} jail_role_names SEC(".maps");

/* Moves between roles the policy allows (bpflock checked each narrows its source). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JAIL_MAX_MOVES);
	__type(key, struct jail_move_key);
	__type(value, __u8);
} jail_moves SEC(".maps");

/* Role ids by name, for enrollment by xattr. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JAIL_MAX_ROLES);
	__type(key, char[JAIL_ROLE_NAME_LEN]);
	__type(value, __u32);
} jail_role_ids SEC(".maps");

/* The xattr being read, per task: a sleepable program can be preempted mid-read. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, char[JAIL_ROLE_NAME_LEN]);
} jail_xattr_buf SEC(".maps");

/* Refusals per role: [role * 2] denied, [role * 2 + 1] would-deny (complain mode). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, JAIL_MAX_ROLES * 2);
	__type(key, __u32);
	__type(value, __u64);
} jail_role_counters SEC(".maps");

/*
 * A path key is too large for the BPF stack next to an event. Per task, not per CPU: a
 * program can be preempted between bpf_d_path and the lookup, and another task on the same
 * CPU would overwrite a per-CPU buffer (preemptible kernels, PREEMPT_RT). A map of its own,
 * not a field of struct jail_task: that one's layout is pinned (its task-storage lookup,
 * ~120 instructions, is the price: make bench, "parts").
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct jail_path_key);
} jail_path_scratch SEC(".maps");

/*
 * Where a socket's name is built, backwards from the socket up to the root (the task's own
 * storage, as jail_path_scratch). Twice JAIL_NAME_END: a component of up to 255 bytes
 * written at any place before JAIL_NAME_END stays inside, as the verifier checks it.
 */
#define JAIL_NAME_END 255
struct jail_name_buf {
	char bytes[2 * (JAIL_NAME_END + 1)];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct jail_name_buf);
} jail_name_scratch SEC(".maps");

/* Set by bpflock before load: which enrollment kinds the policy uses. */
const volatile __u32 jail_enroll_exec = 0;
const volatile __u32 jail_enroll_cgroup = 0;
/* Not read by the programs: a record, for status, of enrollments bootstrap had to skip
 * (their executable or cgroup was gone). */
const volatile __u32 jail_enroll_skipped = 0;
/* The device of nsfs (kernel encoding), where namespaces' inodes live: pid namespaces by number. */
const volatile __u64 jail_nsfs_dev = 0;

static __always_inline struct jail_task *jail_of(struct task_struct___local *task)
{
	return bpf_task_storage_get(&jail_tasks, (void *)task, 0, 0);
}

static __always_inline struct jail_task *current_jail(void)
{
	return jail_of(current_task());
}

/*
 * The verdict on something a role does not grant: denied, or in complain mode allowed
 * and reported as would-deny. `object` is NULL or a path in jail_path_scratch.
 */
static __always_inline int jail_deny(void *ctx, struct jail_task *t, struct jail_role *r, __u32 hook, __u32 op,
				     const char *object)
{
	bool complain = r && r->mode == JAIL_MODE_COMPLAIN;
	__u32 index = (t->role % JAIL_MAX_ROLES) * 2 + complain;
	__u64 *n = bpf_map_lookup_elem(&jail_role_counters, &index);

	if (n)
		*n += 1;
	report_object(ctx, PROT_JAIL, hook, op | (t->role << 16), complain ? DECISION_WOULD_DENY : DECISION_DENY,
		      object, JAIL_PATH_MAX);
	return complain ? 0 : -EPERM;
}

static __always_inline void jail_allow(void *ctx, struct jail_task *t, __u32 hook, __u32 op, const char *object)
{
	report_object(ctx, PROT_JAIL, hook, op | (t->role << 16), DECISION_ALLOW, object, JAIL_PATH_MAX);
}

/* A role id without a definition (a policy re-applied without it) denies: fail closed. */
static __always_inline struct jail_role *role_of(struct jail_task *t)
{
	__u32 id = t->role;

	return bpf_map_lookup_elem(&jail_roles, &id);
}

/* Denied outright by the role (ptrace, setuid, mount, module, bpf, link, unix). */
static __always_inline int jail_category(void *ctx, __u32 hook, __u32 op, __u32 deny_bit, const char *object)
{
	struct jail_task *t = current_jail();
	struct jail_role *r;

	if (!t)
		return 0;
	r = role_of(t);
	if (r && !(r->deny & deny_bit))
		return 0;
	return jail_deny(ctx, t, r, hook, op, object);
}

/*
 * The closest enrolled cgroup among the current task's cgroup and its ancestors, 0 for none,
 * or JAIL_ROLE_UNKNOWN where the cgroup is deeper than JAIL_CGROUP_DEPTH and none of the
 * ancestors looked at is enrolled: one further up could be, so the caller refuses.
 */
static __always_inline __u32 cgroup_role(void)
{
	struct task_struct___local *task = current_task();
	struct css_set___local *cgroups;
	struct cgroup___local *cgroup;
	int level;

	if (!jail_enroll_cgroup)
		return 0;
	cgroups = read_ptr(task->cgroups);
	if (!cgroups)
		return 0;
	cgroup = read_ptr(cgroups->dfl_cgrp);
	if (!cgroup)
		return 0;
	level = cgroup->level;
	for (int i = 0; i < JAIL_CGROUP_DEPTH; i++) {
		__u64 id;
		__u32 *role;

		if (level - i < 1)
			return 0;
		id = bpf_get_current_ancestor_cgroup_id(level - i);
		role = bpf_map_lookup_elem(&jail_cgroup_enroll, &id);
		if (role)
			return *role;
	}
	return level > JAIL_CGROUP_DEPTH ? JAIL_ROLE_UNKNOWN : 0;
}

static __always_inline __u32 exec_role(struct file___local *file)
{
	struct jail_exec_key key = {};
	struct inode___local *inode;
	__u32 *role;

	if (!jail_enroll_exec || !file)
		return 0;
	inode = read_ptr(file->f_inode);
	if (!inode)
		return 0;
	key.dev = inode->i_sb->s_dev;
	key.ino = inode->i_ino;
	role = bpf_map_lookup_elem(&jail_exec_enroll, &key);
	return role ? *role : 0;
}

static __always_inline struct jail_task *enroll(struct task_struct___local *task, __u32 role)
{
	struct jail_task *t = bpf_task_storage_get(&jail_tasks, (void *)task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (t)
		t->role = role;
	return t;
}

/*
 * Whether the name bpf_d_path gives for `path` is the file's name from the system's root:
 * the task's root is the system's root directory (not a chroot, not another root
 * filesystem; a copy of the mount namespace has the same root directory), and the file's
 * path leads up to it through mounts (not a detached mount, not a bind mount escaped with
 * open_by_handle_at). 0, or the jail_op to refuse with: a name that is not the file's
 * matches no rule truthfully.
 */
static __always_inline __u32 path_from_root(const struct path___local *path)
{
	struct fs_struct___local *fs = read_ptr(current_task()->fs);
	struct dentry___local *system = vfs_system_root();
	struct vfsmount___local *root_mnt;
	struct dentry___local *root;
	int reach;

	if (!fs || !system)
		return JAIL_OP_FOREIGN_ROOT;
	root = read_ptr(fs->root.dentry);
	root_mnt = read_ptr(fs->root.mnt);
	if (!root || !root_mnt || root != system)
		return JAIL_OP_FOREIGN_ROOT;
	reach = vfs_reach(read_ptr(path->mnt), read_ptr(path->dentry), root_mnt, root);
	if (reach == VFS_REACHED)
		return 0;
	if (reach == VFS_INTERNAL)
		return JAIL_OP_INTERNAL;
	return reach == VFS_TOO_DEEP ? JAIL_OP_PATH_TOO_LONG : JAIL_OP_DISCONNECTED;
}

/*
 * The longest rule of `kind` matching the file's path from the task's root (bpf_d_path;
 * the caller made sure with path_from_root() that this is the system's root). Returns the
 * rule's access (with the rest of the rule in *found), `fallback` (and *found left
 * zero: depth 0, no object) where none matches, or -1 when the path is longer than the rules can
 * match (the caller fails closed). The path is left in the scratch key for the event.
 */
static __always_inline long path_rule(struct jail_path_key *key, const struct path___local *path, __u32 role,
				      __u32 kind, __u32 fallback, struct jail_path_rule *found)
{
	struct jail_path_rule *rule;
	long len;

	key->role = role;
	key->kind = kind;
	len = bpf_d_path((void *)path, key->path, sizeof(key->path));
	if (len < 0)
		return -1;
	key->prefixlen = (sizeof(key->role) + sizeof(key->kind) + sizeof(key->path)) * 8;
	rule = bpf_map_lookup_elem(&jail_paths, key);
	if (!rule)
		return fallback;
	*found = *rule;
	return rule->access;
}

/* The current task's path buffer; NULL where it cannot be allocated (callers fail closed). */
static __always_inline struct jail_path_key *scratch_key(void)
{
	return bpf_task_storage_get(&jail_path_scratch, (void *)current_task(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

#define JAIL_INODE_WALK 64 /* directories looked at above a file; deeper fails closed */
#define JAIL_INODE_NONE (-1)
#define JAIL_INODE_TOO_DEEP (-2)

struct inode_walk {
	struct jail_inode_key key;
	struct dentry___local *dentry;
	long access;
	__u32 id;
	unsigned long m, mnt_root; /* inode_rule_path(): the mount the walk is in, and its root */
};

/* Whether (dev, ino) is a named object that decides at this step of the walk (index 0: the file itself). */
static __always_inline bool inode_rule_found(__u32 index, struct inode_walk *w, __u32 dev, __u64 ino)
{
	struct jail_object *object;

	w->key.dev = dev;
	w->key.ino = ino;
	object = bpf_map_lookup_elem(&jail_inodes, &w->key);
	if (!object)
		return false;
	/* Above the file, only what a subtree rule names has a say over it. */
	if (index == 0 && (object->flags & JAIL_OBJECT_SELF)) {
		w->id = object->id;
		w->access = object->itself;
		return true;
	}
	if (object->flags & JAIL_OBJECT_BELOW) {
		w->id = object->id;
		w->access = object->below;
		return true;
	}
	return false;
}

/* One step of inode_rule(): 1 ends the walk with `access` set. */
static long inode_rule_step(__u32 index, struct inode_walk *w)
{
	struct dentry___local *dentry = w->dentry, *parent;
	struct inode___local *inode;

	if (!dentry) {
		w->access = JAIL_INODE_NONE;
		return 1;
	}
	inode = dentry_inode(dentry);
	if (inode && inode_rule_found(index, w, dentry->d_sb->s_dev, inode->i_ino))
		return 1;
	parent = read_ptr(dentry->d_parent);
	if (parent == dentry) {
		w->access = JAIL_INODE_NONE;
		return 1;
	}
	w->dentry = parent;
	return 0;
}

/*
 * The same step for a path reached through a cast or a read (not BTF pointers on 6.1),
 * crossing mounts as a name is built: from a mount's root to its mountpoint in the parent.
 */
static long inode_rule_path_step(__u32 index, struct inode_walk *w)
{
	unsigned long dentry = (unsigned long)w->dentry, inode, sb, parent;

	if (!dentry) {
		w->access = JAIL_INODE_NONE;
		return 1;
	}
	inode = vfs_read(dentry, struct dentry___local, d_inode);
	sb = vfs_read(dentry, struct dentry___local, d_sb);
	if (inode && sb &&
	    inode_rule_found(index, w, vfs_read(sb, struct super_block___local, s_dev),
			     vfs_read(inode, struct inode___local, i_ino)))
		return 1;
	if (dentry == w->mnt_root) {
		parent = vfs_read(w->m, struct mount___local, mnt_parent);
		if (!parent || parent == w->m) {
			w->access = JAIL_INODE_NONE;
			return 1;
		}
		w->dentry = (void *)vfs_read(w->m, struct mount___local, mnt_mountpoint);
		w->m = parent;
		w->mnt_root = vfs_read(parent, struct mount___local, mnt.mnt_root);
		return 0;
	}
	parent = vfs_read(dentry, struct dentry___local, d_parent);
	if (!parent || parent == dentry) {
		w->access = JAIL_INODE_NONE;
		return 1;
	}
	w->dentry = (void *)parent;
	return 0;
}

/*
 * The rule of the closest object above `dentry` (itself included) that a file rule named
 * at bootstrap, on the dentry's own filesystem (rules are recorded by the identity of what
 * they name): its access, and its jail_object.id in *id; JAIL_INODE_NONE where the
 * filesystem's root is reached without one, JAIL_INODE_TOO_DEEP past JAIL_INODE_WALK.
 */
static __always_inline long inode_rule(__u32 role, struct dentry___local *dentry, __u32 *id)
{
	struct inode_walk w = { .key = { .role = role }, .dentry = dentry, .access = JAIL_INODE_TOO_DEEP };

	bpf_loop(JAIL_INODE_WALK, inode_rule_step, &w, 0);
	*id = w.id;
	return w.access;
}

/*
 * inode_rule() of a path read from kernel memory (vfsmount and dentry), walking up through
 * its mounts: where a socket was bound, whatever filesystem holds it (a tmpfs under /run).
 */
static __always_inline long inode_rule_path(__u32 role, unsigned long mnt, unsigned long dentry)
{
	struct inode_walk w = {
		.key = { .role = role },
		.dentry = (void *)dentry,
		.access = JAIL_INODE_TOO_DEEP,
		.m = vfs_real_mount((void *)mnt),
	};

	w.mnt_root = vfs_read(w.m, struct mount___local, mnt.mnt_root);
	bpf_loop(JAIL_INODE_WALK, inode_rule_path_step, &w, 0);
	return w.access;
}

/* The access the file rules grant on a dentry, for hooks without a path (see inode_rule). */
static __always_inline __u32 inode_access(__u32 role, struct dentry___local *dentry, __u32 fallback)
{
	__u32 id = 0;
	long access = inode_rule(role, dentry, &id);

	if (access == JAIL_INODE_NONE)
		return fallback;
	if (access < 0)
		return 0; /* too deep: fails closed */
	return access;
}

/* Whether a role's rules guard this object against being moved, replaced or removed. */
static __always_inline bool guarded(__u32 role, struct dentry___local *dentry)
{
	struct jail_inode_key key = { .role = role };
	struct inode___local *inode;

	if (!dentry)
		return false;
	inode = dentry_inode(dentry);
	if (!inode)
		return false;
	key.dev = dentry->d_sb->s_dev;
	key.ino = inode->i_ino;
	return bpf_map_lookup_elem(&jail_guarded, &key) != NULL;
}

/*
 * Whether the first named object met above a file is the one its name leads through: what
 * the rule names, or, where that did not exist at bootstrap, the closest directory above
 * it that a subtree rule names; for an exact rule also that directory (the named file was
 * replaced in place: logrotate, an editor's atomic save).
 */
static __always_inline bool name_explains(struct jail_path_rule *name, __u32 object_id)
{
	if (object_id == name->own)
		return true;
	return object_id == name->above && (!name->own || name->exact);
}

/*
 * Whether the file is the very object its exact rule named at bootstrap: inode_rule() would
 * stop at the file itself (index 0, the object's own access) with the rule's own id.
 */
static __always_inline bool is_own_object(const struct jail_path_rule *name, const struct path___local *path)
{
	struct dentry___local *dentry = read_ptr(path->dentry);
	struct inode___local *inode;

	if (!name->exact || !name->own_dev || !dentry)
		return false;
	inode = dentry_inode(dentry);
	return inode && inode->i_ino == name->own_ino && dentry->d_sb->s_dev == name->own_dev;
}

static __always_inline bool is_block_device(const struct path___local *path)
{
	struct inode___local *inode = dentry_inode(read_ptr(path->dentry));

	return inode && (inode->i_mode & S_IFMT) == S_IFBLK;
}

static __always_inline __u32 file_op(__u32 access)
{
	if (access & JAIL_EXEC)
		return JAIL_OP_FILE_EXEC;
	if (access & JAIL_WRITE)
		return JAIL_OP_FILE_WRITE;
	if (access & JAIL_APPEND)
		return JAIL_OP_FILE_APPEND;
	return JAIL_OP_FILE_READ;
}

/* File access by path: needed access against what the longest matching rule grants. */
static __always_inline int file_check(void *ctx, __u32 hook, const struct path___local *path, __u32 need)
{
	struct jail_task *t = current_jail();
	struct jail_path_key *key = NULL;
	const char *object = NULL;
	struct jail_role *r;
	long granted;
	__u32 op, denied;

	if (!t)
		return 0;
	r = role_of(t);
	if (!r) {
		op = JAIL_OP_FILE_READ;
		goto deny;
	}
	if (!r->has_file_rules) {
		granted = r->file_default;
	} else {
		struct jail_path_rule name = {};
		__u32 object_id = 0;
		long rule;

		op = path_from_root(path);
		/*
		 * A file on a kernel-internal mount opened: overlayfs opening a layer's file behind
		 * an overlay file whose own open was judged here (6.6+), or a memfd or pipe reopened
		 * through /proc/self/fd. Not a name the task chose; it already holds the object.
		 * Mapped executable or executed, it is refused below (no name to allow it by).
		 */
		if (op == JAIL_OP_INTERNAL && hook == HOOK_FILE_OPEN)
			return 0;
		if (op == JAIL_OP_INTERNAL)
			op = JAIL_OP_DISCONNECTED;
		if (op)
			goto deny;
		op = JAIL_OP_PATH_TOO_LONG;
		key = scratch_key();
		if (!key)
			goto deny;
		granted = path_rule(key, path, t->role, JAIL_RULE_FILE, r->file_default, &name);
		if (granted < 0)
			goto deny;
		object = key->path;
		/*
		 * What the file is: the closest named object above it must be the one its name
		 * leads through. Any other was reached by another name (a bind mount, a renamed
		 * ancestor, a second hard link): its rule applies too. The rule's own object
		 * applies as well: named by two rules (a symlinked directory named both ways), it
		 * gets what both grant.
		 */
		if (is_own_object(&name, path)) {
			granted &= name.own_itself;
		} else {
			rule = inode_rule(t->role, read_ptr(path->dentry), &object_id);
			if (rule == JAIL_INODE_TOO_DEEP)
				goto deny;
			if (rule >= 0 && (object_id == name.own || !name_explains(&name, object_id)))
				granted &= rule;
		}
		/* A block device holds every file of its filesystem, beside every rule: only by a rule of its own. */
		if (name.depth == 0 && is_block_device(path))
			granted = 0;
	}
	/* The operation named in the event: what was refused, or what was asked. */
	denied = need & ~(__u32)granted;
	op = file_op(denied ? denied : need);
	if (!denied) {
		if (bpflock_events_mode == EVENTS_ALL)
			jail_allow(ctx, t, hook, op, object);
		return lsm_allow(); /* not `denied`: see lsm_allow() */
	}
deny:
	/* One exit for every refusal: each call of jail_deny is a copy of the event code. */
	return jail_deny(ctx, t, r, hook, op, object);
}

SEC("lsm/file_open")
int BPF_PROG(jail_file_open, struct file___local *file, int ret)
{
	__u32 need = 0;

	if (ret)
		return ret;
	if (file->f_mode & FMODE_READ)
		need |= JAIL_READ;
	if (file->f_mode & FMODE_WRITE)
		need |= (file->f_flags & O_APPEND) ? JAIL_APPEND : JAIL_WRITE;
	if (file->f_mode & FMODE_EXEC)
		need |= JAIL_EXEC;
	return file_check(ctx, HOOK_FILE_OPEN, &file->f_path, need);
}

/* Executable mappings: how ld.so runs a program without execve of it. */
SEC("lsm/mmap_file")
int BPF_PROG(jail_mmap_file, struct file___local *file, unsigned long reqprot, unsigned long prot, unsigned long flags,
	     int ret)
{
	if (ret)
		return ret;
	if (!file || !(prot & PROT_EXEC))
		return 0;
	return file_check(ctx, HOOK_MMAP_FILE, &file->f_path, JAIL_EXEC);
}

/*
 * A mapping of a file made executable afterwards: mmap without PROT_EXEC, then mprotect.
 * The kernel gives this hook no bpf_d_path (not a sleepable hook): decided by what the file
 * is, the rules of the objects named at bootstrap (a file created later under a name an
 * exec rule denies is judged by its closest named directory).
 */
SEC("lsm/file_mprotect")
int BPF_PROG(jail_file_mprotect, struct vm_area_struct___local *vma, unsigned long reqprot, unsigned long prot,
	     int ret)
{
	struct file___local *file;
	struct jail_task *t;
	struct jail_role *r;
	__u32 op = JAIL_OP_FILE_EXEC, granted;

	if (ret)
		return ret;
	if (!(prot & PROT_EXEC))
		return 0;
	t = current_jail();
	if (!t)
		return 0;
	file = read_ptr(vma->vm_file);
	if (!file)
		return 0;
	r = role_of(t);
	if (!r)
		goto deny;
	/* Not path_from_root(): the mapping's file may be overlayfs' file of a layer (6.6+);
	 * the file was judged by name when it was opened. */
	if (!r->has_file_rules)
		granted = r->file_default;
	else
		granted = inode_access(t->role, read_ptr(file->f_path.dentry), r->file_default);
	if (granted & JAIL_EXEC)
		return 0;
deny:
	return jail_deny(ctx, t, r, HOOK_FILE_MPROTECT, op, NULL);
}

/* ---- enrollment by xattr (kernels with bpf_get_file_xattr, 6.8+) ---- */

extern int bpf_get_file_xattr(struct file___local *file, const char *name, struct bpf_dynptr *value_ptr) __ksym __weak;

/*
 * A task in no jail executing a file whose user.bpflock.role xattr names a role is enrolled
 * in it. Defined before jail_bprm_check_security: programs are attached in the order they
 * are defined, so this one enrolls before that one checks. Sleepable: the kernel reads the
 * xattr. Loaded only when the policy asks for it (bpflock refuses where the kernel lacks it).
 */
SEC("lsm.s/bprm_check_security")
int BPF_PROG(jail_bprm_check_security_xattr, struct linux_binprm___local *bprm, int ret)
{
	struct task_struct___local *task = current_task();
	struct bpf_dynptr value;
	struct jail_task *t;
	__u32 *role;
	char *name;
	int len;

	if (ret)
		return ret;
	if (jail_of(task))
		return 0;
	name = bpf_task_storage_get(&jail_xattr_buf, (void *)task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!name)
		return 0;
	__builtin_memset(name, 0, JAIL_ROLE_NAME_LEN);
	bpf_dynptr_from_mem(name, JAIL_ROLE_NAME_LEN - 1, 0, &value);
	len = bpf_get_file_xattr(bprm->file, JAIL_XATTR_NAME, &value);
	if (len <= 0) {
		bpf_task_storage_delete(&jail_xattr_buf, (void *)task);
		return 0;
	}
	role = bpf_map_lookup_elem(&jail_role_ids, name);
	bpf_task_storage_delete(&jail_xattr_buf, (void *)task);
	/*
	 * A sleepable program cannot write events: jail_bprm_check_security, next on this
	 * hook, reports and refuses a name the policy does not know (fail closed).
	 */
	t = enroll(task, role ? *role : 0);
	if (!t)
		return -ENOMEM;
	t->flags |= role ? JAIL_FLAG_ENROLLING : JAIL_FLAG_BAD_XATTR;
	return 0;
}

/*
 * execve: enrollment by executable or cgroup for a task in no jail, then the role's exec
 * rules. A jailed task running an enrolled executable keeps its role (reported).
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(jail_bprm_check_security, struct linux_binprm___local *bprm, int ret)
{
	struct task_struct___local *task = current_task();
	struct file___local *file = read_ptr(bprm->file);
	struct jail_task *t = jail_of(task);
	struct jail_path_key *key;
	struct jail_role *r;
	struct jail_path_rule rule = {};
	__u32 role;
	long allowed;

	if (ret)
		return ret;
	if (!file)
		return 0;
	if (!t) {
		role = exec_role(file);
		if (role)
			/* The executable the policy enrolls: this exec is what it asks to run. */
			return enroll(task, role) ? 0 : -ENOMEM;
		role = cgroup_role();
		if (!role)
			return lsm_allow(); /* not `role`: see lsm_allow() */
		if (role == JAIL_ROLE_UNKNOWN) {
			report(ctx, PROT_JAIL, HOOK_BPRM_CHECK_SECURITY, JAIL_OP_CGROUP_TOO_DEEP, DECISION_DENY, NULL);
			return -EPERM;
		}
		t = enroll(task, role);
		if (!t)
			return -ENOMEM;
	} else if (t->flags & JAIL_FLAG_BAD_XATTR) {
		/* The file's xattr names no role of the policy: refused, the task left as it was. */
		bpf_task_storage_delete(&jail_tasks, (void *)task);
		report(ctx, PROT_JAIL, HOOK_BPRM_CHECK_SECURITY, JAIL_OP_ENROLL, DECISION_DENY, NULL);
		return -EPERM;
	} else if (t->flags & JAIL_FLAG_ENROLLING) {
		/* Enrolled by this exec's xattr (jail_bprm_check_security_xattr): it runs what it names. */
		t->flags &= ~JAIL_FLAG_ENROLLING;
		return 0;
	} else {
		/* Enrolled again, by executable or cgroup: only into a role that narrows this one. */
		bool by_exec = true;

		role = exec_role(file);
		if (!role) {
			role = cgroup_role();
			by_exec = false;
			/* Already jailed: out of reach of its enrolled cgroups, it keeps its role. */
			if (role == JAIL_ROLE_UNKNOWN)
				role = 0;
		}
		if (role && role != t->role) {
			struct jail_move_key move = { .from = t->role, .to = role };

			if (!bpf_map_lookup_elem(&jail_moves, &move)) {
				report(ctx, PROT_JAIL, HOOK_BPRM_CHECK_SECURITY, JAIL_OP_ENROLL | (t->role << 16), DECISION_DENY, NULL);
			} else {
				t->role = role;
				if (by_exec)
					return 0; /* as for a first enrollment: it runs what the policy names */
			}
		}
	}
	r = role_of(t);
	if (!r)
		return jail_deny(ctx, t, r, HOOK_BPRM_CHECK_SECURITY, JAIL_OP_EXEC, NULL);
	if (!r->has_exec_rules)
		return r->exec_default ? 0 : jail_deny(ctx, t, r, HOOK_BPRM_CHECK_SECURITY, JAIL_OP_EXEC, NULL);
	role = path_from_root(&file->f_path); /* here: the jail_op refusing it, or 0 */
	if (role == JAIL_OP_INTERNAL)
		role = JAIL_OP_DISCONNECTED; /* a memfd: no name an exec rule could allow */
	if (role)
		return jail_deny(ctx, t, r, HOOK_BPRM_CHECK_SECURITY, role, NULL);
	key = scratch_key();
	if (!key)
		return jail_deny(ctx, t, r, HOOK_BPRM_CHECK_SECURITY, JAIL_OP_PATH_TOO_LONG, NULL);
	allowed = path_rule(key, &file->f_path, t->role, JAIL_RULE_EXEC, r->exec_default, &rule);
	if (allowed < 0)
		return jail_deny(ctx, t, r, HOOK_BPRM_CHECK_SECURITY, JAIL_OP_PATH_TOO_LONG, NULL);
	if (allowed)
		return 0;
	return jail_deny(ctx, t, r, HOOK_BPRM_CHECK_SECURITY, JAIL_OP_EXEC, key->path);
}

/* Inheritance: a child (process or thread) of a jailed task is jailed in the same role. */
SEC("lsm/task_alloc")
int BPF_PROG(jail_task_alloc, struct task_struct___local *task, unsigned long clone_flags, int ret)
{
	struct jail_task *parent;
	__u32 role;

	if (ret)
		return ret;
	parent = current_jail();
	role = parent ? parent->role : cgroup_role();
	if (role == JAIL_ROLE_UNKNOWN) {
		report(ctx, PROT_JAIL, HOOK_TASK_ALLOC, JAIL_OP_CGROUP_TOO_DEEP, DECISION_DENY, NULL);
		return -EPERM;
	}
	/* Fail closed: a child of a jailed task that cannot be jailed is not created. */
	if (role && !enroll(task, role))
		return -ENOMEM;
	return lsm_allow();
}

/* A file whose rules do not grant everything may not get another name or lose this one. */
static __always_inline int dentry_check(void *ctx, __u32 hook, __u32 op, struct dentry___local *dentry, __u32 need)
{
	struct jail_task *t = current_jail();
	struct jail_role *r;

	if (!t || !dentry)
		return 0;
	r = role_of(t);
	if (!r)
		return jail_deny(ctx, t, r, hook, op, NULL);
	if (!r->has_file_rules)
		return (need & ~r->file_default) ? jail_deny(ctx, t, r, hook, op, NULL) : 0;
	if (need & ~inode_access(t->role, dentry, r->file_default))
		return jail_deny(ctx, t, r, hook, op, NULL);
	return 0;
}

/* Creating a name where the rules do not grant writing (O_CREAT would create it before file_open refuses it). */
SEC("lsm/inode_create")
int BPF_PROG(jail_inode_create, struct inode___local *dir, struct dentry___local *dentry, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return dentry_check(ctx, HOOK_INODE_CREATE, JAIL_OP_FILE_WRITE, dentry, JAIL_WRITE);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(jail_inode_mkdir, struct inode___local *dir, struct dentry___local *dentry, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return dentry_check(ctx, HOOK_INODE_MKDIR, JAIL_OP_FILE_WRITE, dentry, JAIL_WRITE);
}

/* A symbolic link, a device node or a FIFO is a name too: where the role may not write. */
SEC("lsm/inode_symlink")
int BPF_PROG(jail_inode_symlink, struct inode___local *dir, struct dentry___local *dentry, const char *old_name,
	     int ret)
{
	if (ret)
		return ret;
	return dentry_check(ctx, HOOK_INODE_SYMLINK, JAIL_OP_FILE_WRITE, dentry, JAIL_WRITE);
}

SEC("lsm/inode_mknod")
int BPF_PROG(jail_inode_mknod, struct inode___local *dir, struct dentry___local *dentry, umode_t mode, dev_t dev,
	     int ret)
{
	if (ret)
		return ret;
	return dentry_check(ctx, HOOK_INODE_MKNOD, JAIL_OP_FILE_WRITE, dentry, JAIL_WRITE);
}

/* chmod, chown and truncate(2) by path: changing a file the rules do not let it write.
 * (kuid_t and kgid_t are one-member structs: read as their 32-bit value.) */
SEC("lsm/path_chmod")
int BPF_PROG(jail_path_chmod, const struct path___local *path, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return dentry_check(ctx, HOOK_PATH_CHMOD, JAIL_OP_SETATTR, read_ptr(path->dentry), JAIL_WRITE);
}

SEC("lsm/path_chown")
int BPF_PROG(jail_path_chown, const struct path___local *path, __u32 uid, __u32 gid, int ret)
{
	if (ret)
		return ret;
	return dentry_check(ctx, HOOK_PATH_CHOWN, JAIL_OP_SETATTR, read_ptr(path->dentry), JAIL_WRITE);
}

SEC("lsm/path_truncate")
int BPF_PROG(jail_path_truncate, const struct path___local *path, int ret)
{
	if (ret)
		return ret;
	return dentry_check(ctx, HOOK_PATH_TRUNCATE, JAIL_OP_SETATTR, read_ptr(path->dentry), JAIL_WRITE);
}

SEC("lsm/inode_link")
int BPF_PROG(jail_inode_link, struct dentry___local *old_dentry, struct inode___local *dir,
	     struct dentry___local *new_dentry, int ret)
{
	if (ret)
		return ret;
	ret = jail_category(ctx, HOOK_INODE_LINK, JAIL_OP_LINK, JAIL_DENY_LINK, NULL);
	if (ret)
		return ret;
	ret = dentry_check(ctx, HOOK_INODE_LINK, JAIL_OP_LINK, old_dentry, JAIL_ACCESS_ALL);
	if (ret)
		return ret;
	/* And the new name is created where the role may write, like any other. */
	return dentry_check(ctx, HOOK_INODE_LINK, JAIL_OP_LINK, new_dentry, JAIL_WRITE);
}

/* Moving, replacing or removing what the role's rules guard (see jail_guarded). */
static __always_inline int guard_check(void *ctx, __u32 hook, __u32 op, struct dentry___local *dentry)
{
	struct jail_task *t = current_jail();
	struct jail_role *r;

	if (!t || !guarded(t->role, dentry))
		return 0;
	r = role_of(t);
	return jail_deny(ctx, t, r, hook, op, NULL);
}

/* bpflock's pins are not a jailed task's to remove, whatever its role. */
static __always_inline int pins_check(void *ctx, __u32 hook, struct dentry___local *dentry)
{
	struct super_block___local *sb = read_ptr(dentry->d_sb);
	struct jail_task *t;

	if (!sb || sb->s_magic != BPF_FS_MAGIC)
		return 0;
	t = current_jail();
	if (!t)
		return 0;
	report(ctx, PROT_JAIL, hook, JAIL_OP_PINS | (t->role << 16), DECISION_DENY, NULL);
	return -EPERM;
}

SEC("lsm/inode_unlink")
int BPF_PROG(jail_inode_unlink, struct inode___local *dir, struct dentry___local *dentry, int ret)
{
	if (ret)
		return ret;
	ret = pins_check(ctx, HOOK_INODE_UNLINK, dentry);
	if (ret)
		return ret;
	ret = guard_check(ctx, HOOK_INODE_UNLINK, JAIL_OP_UNLINK, dentry);
	if (ret)
		return ret;
	return dentry_check(ctx, HOOK_INODE_UNLINK, JAIL_OP_UNLINK, dentry, JAIL_WRITE);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(jail_inode_rmdir, struct inode___local *dir, struct dentry___local *dentry, int ret)
{
	if (ret)
		return ret;
	ret = pins_check(ctx, HOOK_INODE_RMDIR, dentry);
	if (ret)
		return ret;
	ret = guard_check(ctx, HOOK_INODE_RMDIR, JAIL_OP_UNLINK, dentry);
	if (ret)
		return ret;
	return dentry_check(ctx, HOOK_INODE_RMDIR, JAIL_OP_UNLINK, dentry, JAIL_WRITE);
}

SEC("lsm/inode_rename")
int BPF_PROG(jail_inode_rename, struct inode___local *old_dir, struct dentry___local *old_dentry,
	     struct inode___local *new_dir, struct dentry___local *new_dentry, int ret)
{
	if (ret)
		return ret;
	ret = pins_check(ctx, HOOK_INODE_RENAME, old_dentry);
	if (ret)
		return ret;
	/* A directory above what a rule names, or a program an exec rule allows, moved or replaced. */
	ret = guard_check(ctx, HOOK_INODE_RENAME, JAIL_OP_RENAME, old_dentry);
	if (ret)
		return ret;
	ret = guard_check(ctx, HOOK_INODE_RENAME, JAIL_OP_RENAME, new_dentry);
	if (ret)
		return ret;
	/* Moving a file away from its rules, or over a file that has some. */
	ret = dentry_check(ctx, HOOK_INODE_RENAME, JAIL_OP_RENAME, old_dentry, JAIL_ACCESS_ALL);
	if (ret)
		return ret;
	return dentry_check(ctx, HOOK_INODE_RENAME, JAIL_OP_RENAME, new_dentry, JAIL_WRITE);
}

/* Tracing other processes (and reading their memory or environment). */
SEC("lsm/ptrace_access_check")
int BPF_PROG(jail_ptrace_access_check, struct task_struct___local *child, unsigned int mode, int ret)
{
	if (ret)
		return ret;
	return jail_category(ctx, HOOK_PTRACE_ACCESS_CHECK, JAIL_OP_PTRACE, JAIL_DENY_PTRACE, NULL);
}

/* PTRACE_TRACEME: a jailed task offering itself, or a jailed parent becoming the tracer. */
SEC("lsm/ptrace_traceme")
int BPF_PROG(jail_ptrace_traceme, struct task_struct___local *parent, int ret)
{
	struct jail_task *t;
	struct jail_role *r;

	if (ret)
		return ret;
	ret = jail_category(ctx, HOOK_PTRACE_TRACEME, JAIL_OP_TRACEME, JAIL_DENY_PTRACE, NULL);
	if (ret)
		return ret;
	t = jail_of(parent);
	if (!t)
		return 0;
	r = role_of(t);
	if (r && !(r->deny & JAIL_DENY_PTRACE))
		return 0;
	return jail_deny(ctx, t, r, HOOK_PTRACE_TRACEME, JAIL_OP_TRACEME, NULL);
}

/* setuid(2) and friends: any change of the real, effective, saved or fs uid. */
SEC("lsm/task_fix_setuid")
int BPF_PROG(jail_task_fix_setuid, struct cred___local *new, const struct cred___local *old, int flags, int ret)
{
	if (ret)
		return ret;
	if (new->uid.val == old->uid.val && new->euid.val == old->euid.val && new->suid.val == old->suid.val &&
	    new->fsuid.val == old->fsuid.val)
		return 0;
	return jail_category(ctx, HOOK_TASK_FIX_SETUID, JAIL_OP_SETUID, JAIL_DENY_SETUID, NULL);
}

/* setgid(2) and friends (setgroups needs CAP_SETGID, which a role denying setuid drops). */
SEC("lsm/task_fix_setgid")
int BPF_PROG(jail_task_fix_setgid, struct cred___local *new, const struct cred___local *old, int flags, int ret)
{
	if (ret)
		return ret;
	if (new->gid.val == old->gid.val && new->egid.val == old->egid.val && new->sgid.val == old->sgid.val &&
	    new->fsgid.val == old->fsgid.val)
		return 0;
	return jail_category(ctx, HOOK_TASK_FIX_SETGID, JAIL_OP_SETUID, JAIL_DENY_SETUID, NULL);
}

/* exec of a set-user-ID or set-group-ID program: the other way to change identity. */
SEC("lsm/bprm_creds_from_file")
int BPF_PROG(jail_bprm_creds_from_file, struct linux_binprm___local *bprm, struct file___local *file, int ret)
{
	const struct cred___local *old = read_ptr(current_task()->cred);
	struct cred___local *new = read_ptr(bprm->cred);

	if (ret)
		return ret;
	if (old && new && new->euid.val == old->euid.val && new->egid.val == old->egid.val)
		return 0;
	return jail_category(ctx, HOOK_BPRM_CREDS_FROM_FILE, JAIL_OP_SETUID, JAIL_DENY_SETUID, NULL);
}

SEC("lsm/sb_mount")
int BPF_PROG(jail_sb_mount, const char *dev_name, const struct path___local *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	if (ret)
		return ret;
	return jail_category(ctx, HOOK_SB_MOUNT, JAIL_OP_MOUNT, JAIL_DENY_MOUNT, NULL);
}

SEC("lsm/sb_umount")
int BPF_PROG(jail_sb_umount, struct vfsmount___local *mnt, int flags, int ret)
{
	if (ret)
		return ret;
	return jail_category(ctx, HOOK_SB_UMOUNT, JAIL_OP_MOUNT, JAIL_DENY_MOUNT, NULL);
}

/* The new mount API attaches with move_mount(2). */
SEC("lsm/move_mount")
int BPF_PROG(jail_move_mount, const struct path___local *from_path, const struct path___local *to_path, int ret)
{
	if (ret)
		return ret;
	return jail_category(ctx, HOOK_MOVE_MOUNT, JAIL_OP_MOUNT, JAIL_DENY_MOUNT, NULL);
}

/* A root of its own: every name the role's rules match would then be another file's. */
SEC("lsm/path_chroot")
int BPF_PROG(jail_path_chroot, const struct path___local *path, int ret)
{
	if (ret)
		return ret;
	return jail_category(ctx, HOOK_PATH_CHROOT, JAIL_OP_CHROOT, JAIL_DENY_CHROOT, NULL);
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(jail_sb_pivotroot, const struct path___local *old_path, const struct path___local *new_path, int ret)
{
	if (ret)
		return ret;
	ret = jail_category(ctx, HOOK_SB_PIVOTROOT, JAIL_OP_MOUNT, JAIL_DENY_MOUNT, NULL);
	if (ret)
		return ret;
	return jail_category(ctx, HOOK_SB_PIVOTROOT, JAIL_OP_CHROOT, JAIL_DENY_CHROOT, NULL);
}

/* In a new user namespace a task holds every capability there: chroot, mounts of its own. */
SEC("lsm/userns_create")
int BPF_PROG(jail_userns_create, const struct cred___local *cred, int ret)
{
	if (ret)
		return ret;
	return jail_category(ctx, HOOK_USERNS_CREATE, JAIL_OP_USERNS, JAIL_DENY_USERNS, NULL);
}

/*
 * The capabilities a jailed task may use, whatever it holds (root in the jail, or any task
 * in a user namespace of its own): the role's set. Only the task's own credentials are
 * judged (not another task's, asked about by the kernel on its behalf). Checks the kernel
 * makes without auditing (a probe for an optional privilege) are refused without an event.
 */
SEC("lsm/capable")
int BPF_PROG(jail_capable, const struct cred___local *cred, void *ns, int cap, unsigned int opts, int ret)
{
	struct task_struct___local *task;
	struct jail_task *t;
	struct jail_role *r;
	bool complain;

	if (ret)
		return ret;
	task = current_task();
	t = jail_of(task);
	if (!t)
		return 0;
	if ((void *)cred != (void *)task->cred)
		return 0;
	r = role_of(t);
	if (r && cap >= 0 && cap <= CAP_LAST && (r->capabilities & (1ULL << cap)))
		return 0;
	if (!(opts & CAP_OPT_NOAUDIT))
		return jail_deny(ctx, t, r, HOOK_CAPABLE, JAIL_OP_CAPABILITY + (cap & CAP_LAST), NULL);
	complain = r && r->mode == JAIL_MODE_COMPLAIN;
	return complain ? 0 : -EPERM;
}

/* Signals: to tasks of the same role only, unless the role allows more. */
SEC("lsm/task_kill")
int BPF_PROG(jail_task_kill, struct task_struct___local *p, void *info, int sig, const struct cred___local *cred,
	     int ret)
{
	struct jail_task *t, *target;
	struct jail_role *r;

	if (ret)
		return ret;
	if (sig == 0)
		return 0; /* asks whether the task exists: no signal */
	t = current_jail();
	if (!t)
		return 0;
	r = role_of(t);
	if (r && !(r->deny & JAIL_DENY_SIGNAL))
		return 0;
	target = jail_of(p);
	if (target && target->role == t->role)
		return 0;
	return jail_deny(ctx, t, r, HOOK_TASK_KILL, JAIL_OP_SIGNAL, NULL);
}

/*
 * Signals by I/O readiness: the owner set with F_SETOWN gets SIGIO or SIGURG (or F_SETSIG's
 * signal) from the kernel, without task_kill. Under `signal = "role"` a jailed task may
 * own its files' signals itself, nobody else: the owner is compared with the caller as its
 * own pid namespace numbers it. F_SETOWN_EX, FIOSETOWN and SIOCSPGRP pass the owner in user
 * memory that another thread can change after this check: refused.
 */
static __always_inline bool is_caller(long pid)
{
	struct bpf_pidns_info ns = {};
	__u64 ids;

	if (pid <= 0)
		return false;
	if (in_initial_pidns()) {
		ids = bpf_get_current_pid_tgid();
	} else {
		struct nsproxy___local *nsproxy = read_ptr(current_task()->nsproxy);
		struct pid_namespace___local *pidns = nsproxy ? read_ptr(nsproxy->pid_ns_for_children) : NULL;

		/* Another namespace than its children's (unshare without fork): no answer, refused. */
		if (!pidns || bpf_get_ns_current_pid_tgid(jail_nsfs_dev, pidns->ns.inum, &ns, sizeof(ns)))
			return false;
		ids = (__u64)ns.tgid << 32 | ns.pid;
	}
	return pid == (long)(ids >> 32) || pid == (long)(__u32)ids;
}

static __always_inline int owner_check(void *ctx, __u32 hook, long owner, bool by_value)
{
	struct jail_task *t = current_jail();
	struct jail_role *r;

	if (!t)
		return 0;
	r = role_of(t);
	if (r && !(r->deny & JAIL_DENY_SIGNAL))
		return 0;
	if (r && by_value && (owner == 0 || is_caller(owner)))
		return 0;
	return jail_deny(ctx, t, r, hook, JAIL_OP_SIGNAL, NULL);
}

/*
 * A terminal makes its foreground process group the owner when O_ASYNC is turned on
 * (__tty_fasync), and a pty master sends its slave's group a signal on TIOCSIG: on a
 * character device, both are signals to whoever the terminal names.
 */
static __always_inline bool is_char_device(struct file___local *file)
{
	struct inode___local *inode = read_ptr(file->f_inode);

	return !inode || (inode->i_mode & S_IFMT) == S_IFCHR;
}

SEC("lsm/file_fcntl")
int BPF_PROG(jail_file_fcntl, struct file___local *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return ret;
	if (cmd == F_SETFL && (arg & O_ASYNC) && is_char_device(file))
		return owner_check(ctx, HOOK_FILE_FCNTL, 0, false);
	if (cmd == F_SETOWN)
		return owner_check(ctx, HOOK_FILE_FCNTL, (int)arg, true);
	if (cmd == F_SETOWN_EX)
		return owner_check(ctx, HOOK_FILE_FCNTL, 0, false);
	return 0;
}

SEC("lsm/file_ioctl")
int BPF_PROG(jail_file_ioctl, struct file___local *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return ret;
	if (cmd == FIOSETOWN || cmd == SIOCSPGRP)
		return owner_check(ctx, HOOK_FILE_IOCTL, 0, false);
	if ((cmd == FIOASYNC || cmd == TIOCSIG) && is_char_device(file))
		return owner_check(ctx, HOOK_FILE_IOCTL, 0, false);
	return 0;
}

/* 32-bit ioctls take their own hook from 6.8 on (loaded where the kernel has it). */
SEC("lsm/file_ioctl_compat")
int BPF_PROG(jail_file_ioctl_compat, struct file___local *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return ret;
	if (cmd == FIOSETOWN || cmd == SIOCSPGRP)
		return owner_check(ctx, HOOK_FILE_IOCTL, 0, false);
	if ((cmd == FIOASYNC || cmd == TIOCSIG) && is_char_device(file))
		return owner_check(ctx, HOOK_FILE_IOCTL, 0, false);
	return 0;
}

SEC("lsm/kernel_module_request")
int BPF_PROG(jail_kernel_module_request, char *kmod_name, int ret)
{
	if (ret)
		return ret;
	return jail_category(ctx, HOOK_KERNEL_MODULE_REQUEST, JAIL_OP_MODULE, JAIL_DENY_MODULE, NULL);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(jail_kernel_read_file, struct file___local *file, enum kernel_read_file_id id, bool contents, int ret)
{
	if (ret)
		return ret;
	if (id != bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE))
		return 0;
	return jail_category(ctx, HOOK_KERNEL_READ_FILE, JAIL_OP_MODULE, JAIL_DENY_MODULE, NULL);
}

SEC("lsm/kernel_load_data")
int BPF_PROG(jail_kernel_load_data, enum kernel_load_data_id id, bool contents, int ret)
{
	if (ret)
		return ret;
	if (id != bpf_core_enum_value(enum kernel_load_data_id, LOADING_MODULE))
		return 0;
	return jail_category(ctx, HOOK_KERNEL_LOAD_DATA, JAIL_OP_MODULE, JAIL_DENY_MODULE, NULL);
}

/* Arguments are not read: see bpfrestrict.bpf.c on lsm/bpf and the 6.15 signature. */
SEC("lsm/bpf")
int BPF_PROG(jail_bpf)
{
	return jail_category(ctx, HOOK_BPF, JAIL_OP_BPF, JAIL_DENY_BPF, NULL);
}

/*
 * A file descriptor for one of the jail's own maps, whatever the role allows: with it, a
 * jailed task could rewrite its role, or the path being checked in another of its threads.
 */
SEC("lsm/bpf_map")
int BPF_PROG(jail_bpf_map, void *map, fmode_t fmode, int ret)
{
	struct jail_task *t;

	if (ret)
		return ret;
	t = current_jail();
	if (!t)
		return 0;
	if (map != (void *)&jail_tasks && map != (void *)&jail_roles && map != (void *)&jail_paths &&
	    map != (void *)&jail_exec_enroll && map != (void *)&jail_cgroup_enroll && map != (void *)&jail_net &&
	    map != (void *)&jail_inodes && map != (void *)&jail_role_counters && map != (void *)&jail_role_names &&
	    map != (void *)&jail_role_ids && map != (void *)&jail_moves && map != (void *)&jail_path_scratch &&
	    map != (void *)&jail_xattr_buf && map != (void *)&jail_guarded)
		return 0;
	report(ctx, PROT_JAIL, HOOK_BPF_MAP, JAIL_OP_BPF | (t->role << 16), DECISION_DENY, NULL);
	return -EPERM;
}

/* ---- network ---- */

static __always_inline bool port_allowed(struct jail_net_rule *rule, __u16 port)
{
	for (int i = 0; i < JAIL_PORT_RANGES; i++) {
		if (i >= rule->count)
			break;
		if (port >= rule->ranges[i].lo && port <= rule->ranges[i].hi)
			return true;
	}
	return false;
}

/*
 * The socket address a task passed, as the kernel holds it (a sockaddr_storage), read as a
 * sockaddr_in6: an IPv4 one has its family and port at the same places, and its address
 * where sin6_flowinfo is. Where lockdown denies bpf_probe_read_kernel, read through a
 * read-only cast (bpflock checks that the kernel has bpf_rdonly_cast).
 */
static __always_inline int read_sockaddr(void *address, struct sockaddr_in6 *sa)
{
	if (!bpflock_read_kernel) {
		struct sockaddr_in6___local *in = bpf_core_cast(address, struct sockaddr_in6___local);

		sa->sin6_family = in->sin6_family;
		sa->sin6_port = in->sin6_port;
		sa->sin6_flowinfo = in->sin6_flowinfo;
		for (int i = 0; i < 4; i++)
			sa->sin6_addr.in6_u.u6_addr32[i] = in->sin6_addr.in6_u.u6_addr32[i];
		return 0;
	}
	return bpf_probe_read_kernel(sa, sizeof(*sa), address);
}

/* The port ranges the role's rules allow at (direction, protocol, address in key). */
static __always_inline bool net_rule_allows(struct jail_role *r, struct jail_net_key *key, __u16 port)
{
	struct jail_net_rule *rule;

	if (!r->has_net_rules)
		return false;
	rule = bpf_map_lookup_elem(&jail_net, key);
	return rule && port_allowed(rule, port);
}

/* The protocol a socket's rules are looked up by: a raw socket's is its own, never TCP's or UDP's. */
static __always_inline __u8 rule_protocol(struct sock___local *sk)
{
	if (sk->sk_type != SOCK_STREAM && sk->sk_type != SOCK_DGRAM)
		return IPPROTO_RAW;
	return sk->sk_protocol;
}

/*
 * connect/bind/sendto with an address, decided by the socket, not by the family the
 * caller wrote in the address: on an IPv4 socket the kernel reads any address (AF_UNSPEC
 * included) as IPv4; on an IPv6 socket an AF_INET address is IPv4 (v4-mapped rules) and
 * AF_UNSPEC means none (a disconnect, or the connected peer). AF_UNIX sockets by the role's
 * `unix` setting. Other families are decided when the socket is made (socket_create).
 */
static __always_inline int net_check(void *ctx, __u32 hook, __u32 op, __u8 direction, struct socket___local *sock,
				     void *address, int addrlen)
{
	struct jail_task *t = current_jail();
	struct sockaddr_in6 sa = {};
	struct jail_net_key key = {};
	struct jail_role *r;
	struct sock___local *sk;
	__u16 family, port;
	bool v4;

	if (!t)
		return 0;
	r = role_of(t);
	if (!r)
		return jail_deny(ctx, t, r, hook, op, NULL);
	sk = read_ptr(sock->sk);
	if (!sk)
		return jail_deny(ctx, t, r, hook, op, NULL);
	family = sk->__sk_common.skc_family;
	if (family == AF_UNIX) {
		if (direction == JAIL_NET_BIND || !(r->deny & JAIL_DENY_UNIX))
			return 0;
		return jail_deny(ctx, t, r, hook, JAIL_OP_UNIX, NULL);
	}
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (read_sockaddr(address, &sa))
		return jail_deny(ctx, t, r, hook, op, NULL);
	if (family == AF_INET) {
		/* connect(AF_UNSPEC) dissolves an association: no address to judge. */
		if (sa.sin6_family == AF_UNSPEC && hook == HOOK_SOCKET_CONNECT)
			return 0;
		v4 = true;
	} else if (sa.sin6_family == AF_INET) {
		v4 = true;
	} else if (sa.sin6_family == AF_INET6) {
		v4 = false;
	} else {
		return 0; /* AF_UNSPEC on IPv6: no address; anything else the kernel refuses */
	}
	key.prefixlen = (sizeof(key.role) + 4 + sizeof(key.addr)) * 8;
	key.role = t->role;
	key.direction = direction;
	key.protocol = rule_protocol(sk);
	port = bpf_ntohs(sa.sin6_port);
	if (v4) {
		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], &sa.sin6_flowinfo, 4); /* sin_addr */
	} else {
		if (addrlen < (int)sizeof(sa) - 4)
			return jail_deny(ctx, t, r, hook, op, NULL);
		__builtin_memcpy(key.addr, &sa.sin6_addr, 16);
	}
	/* bind to port 0 asks for an ephemeral port: a client (listen() is judged again). */
	if (direction == JAIL_NET_BIND && port == 0)
		return 0;
	if (net_rule_allows(r, &key, port) || r->net_default)
		return 0;
	return jail_deny(ctx, t, r, hook, op, NULL);
}

/*
 * A socket's path from the system's root and the first named object on the way (as
 * file_check sees a file's): built from the (mount, dentry) it was bound at, up through
 * mounts, to the system's root directory. Names are read with bpf_probe_read_kernel.
 */
struct peer_walk {
	struct inode_walk object;
	unsigned long d, m, mnt_root, top;
	struct jail_name_buf *buf;
	long pos; /* the name is buf[pos..JAIL_NAME_END) */
	int result;
	__u32 found;
};

#define PEER_TOO_LONG 4

static long peer_walk_step(__u32 index, struct peer_walk *w)
{
	unsigned long inode, sb, parent, name;
	long len;

	if (w->d == w->top) {
		w->result = VFS_REACHED;
		return 1;
	}
	if (!w->found) {
		inode = vfs_read(w->d, struct dentry___local, d_inode);
		sb = vfs_read(w->d, struct dentry___local, d_sb);
		if (inode && sb &&
		    inode_rule_found(index, &w->object, vfs_read(sb, struct super_block___local, s_dev),
				     vfs_read(inode, struct inode___local, i_ino)))
			w->found = 1;
	}
	if (w->d == w->mnt_root) {
		parent = vfs_read(w->m, struct mount___local, mnt_parent);
		if (!parent || parent == w->m) {
			w->result = VFS_DISCONNECTED; /* another tree than the system's */
			return 1;
		}
		w->d = vfs_read(w->m, struct mount___local, mnt_mountpoint);
		w->m = parent;
		w->mnt_root = vfs_read(parent, struct mount___local, mnt.mnt_root);
		return 0;
	}
	len = (__u32)vfs_read(w->d, struct dentry___local, d_name.len);
	name = vfs_read(w->d, struct dentry___local, d_name.name);
	if (len < 1 || len > JAIL_NAME_END || w->pos < len + 1 || !w->buf) {
		w->result = PEER_TOO_LONG;
		return 1;
	}
	w->pos -= len;
	if (bpf_probe_read_kernel(&w->buf->bytes[w->pos & JAIL_NAME_END], len & JAIL_NAME_END, (void *)name)) {
		w->result = PEER_TOO_LONG;
		return 1;
	}
	w->pos -= 1;
	w->buf->bytes[w->pos & JAIL_NAME_END] = '/';
	parent = vfs_read(w->d, struct dentry___local, d_parent);
	if (!parent || parent == w->d) {
		w->result = VFS_DISCONNECTED;
		return 1;
	}
	w->d = parent;
	return 0;
}

/*
 * The access the file rules grant a pathname socket: by its path from the system's root
 * (copies of the system's mount namespace, like systemd's PrivateTmp=, share that root;
 * a socket bound in a container's own root filesystem does not reach it: refused), and by
 * the first named object above it, as file_check. The path is left in *key. -1: refused
 * (another tree, too long, no memory).
 */
static __always_inline long peer_access(struct jail_task *t, struct jail_role *r, struct jail_path_key *key,
					unsigned long mnt, unsigned long dentry)
{
	struct jail_path_rule name = {};
	struct jail_path_rule *rule;
	struct peer_walk w = {
		.object = { .key = { .role = t->role }, .access = JAIL_INODE_NONE },
		.d = dentry,
		.m = vfs_real_mount((void *)mnt),
		.top = (unsigned long)vfs_system_root(),
		.pos = JAIL_NAME_END,
		.result = VFS_TOO_DEEP,
	};
	long len, granted;

	w.buf = bpf_task_storage_get(&jail_name_scratch, (void *)current_task(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!w.buf || !w.top)
		return -1;
	w.mnt_root = vfs_read(w.m, struct mount___local, mnt.mnt_root);
	bpf_loop(VFS_WALK_MAX, peer_walk_step, &w, 0);
	len = JAIL_NAME_END - w.pos;
	if (w.result != VFS_REACHED || len < 1 || len > JAIL_PATH_MAX - 1)
		return -1;
	if (bpf_probe_read_kernel(key->path, len, &w.buf->bytes[w.pos & JAIL_NAME_END]))
		return -1;
	key->path[len] = 0;
	key->role = t->role;
	key->kind = JAIL_RULE_FILE;
	key->prefixlen = (sizeof(key->role) + sizeof(key->kind) + sizeof(key->path)) * 8;
	rule = bpf_map_lookup_elem(&jail_paths, key);
	granted = r->file_default;
	if (rule) {
		name = *rule;
		granted = rule->access;
	}
	if (w.found && (w.object.id == name.own || !name_explains(&name, w.object.id)))
		granted &= w.object.access;
	return granted;
}

/*
 * The AF_UNIX socket a task connects or sends to, under net.unix = "files": a socket bound
 * at a path is a file, and talking to it is writing it (the kernel's own permission check
 * asks for write access): the role's file rules decide, by the socket's path from the
 * system's root and what the socket is, as for a file. Where lockdown denies reading the
 * names (confidentiality), by what it is only: the rules of the objects named at bootstrap
 * above it. An abstract name is no file (any process can take one; containerd's shim
 * listened on one): refused. A socket without a name is a socketpair's peer, or one whose
 * descriptor the task was given.
 */
static __always_inline int unix_peer_check(void *ctx, __u32 hook, struct sock___local *peer)
{
	struct jail_task *t = current_jail();
	struct jail_path_key *key = NULL;
	const char *object = NULL;
	unsigned long dentry, mnt;
	struct jail_role *r;
	long granted;

	if (!t)
		return 0;
	r = role_of(t);
	if (!r || !peer)
		goto deny;
	if (!(r->deny & JAIL_UNIX_BY_FILES))
		return 0;
	dentry = vfs_read(peer, struct unix_sock___local, path.dentry);
	mnt = vfs_read(peer, struct unix_sock___local, path.mnt);
	if (!dentry) {
		if (!vfs_read(peer, struct unix_sock___local, addr))
			return 0;
		goto deny;
	}
	granted = r->file_default;
	if (r->has_file_rules && !mnt) {
		goto deny;
	} else if (r->has_file_rules && bpflock_read_kernel) {
		key = scratch_key();
		if (!key)
			goto deny;
		granted = peer_access(t, r, key, mnt, dentry);
		if (granted >= 0)
			object = key->path;
	} else if (r->has_file_rules) {
		granted = inode_rule_path(t->role, mnt, dentry);
		if (granted == JAIL_INODE_NONE)
			granted = r->file_default;
	}
	if (granted >= 0 && (granted & JAIL_WRITE))
		return 0;
deny:
	return jail_deny(ctx, t, r, hook, JAIL_OP_UNIX, object);
}

SEC("lsm/unix_stream_connect")
int BPF_PROG(jail_unix_stream_connect, struct sock___local *sock, struct sock___local *other,
	     struct sock___local *newsk, int ret)
{
	if (ret)
		return ret;
	return unix_peer_check(ctx, HOOK_UNIX_STREAM_CONNECT, other);
}

/*
 * Datagrams: at connect and at every send (a socket connected before its task was jailed,
 * or given to it, is judged when it sends). Sends to the socket it is connected to that
 * has no path are not: a socketpair's other end is the task's own, and the abstract name
 * the kernel gives it for SO_PASSCRED is no address the task chose.
 */
SEC("lsm/unix_may_send")
int BPF_PROG(jail_unix_may_send, struct socket___local *sock, struct socket___local *other, int ret)
{
	struct sock___local *peer, *sk;

	if (ret)
		return ret;
	peer = read_ptr(other->sk);
	sk = read_ptr(sock->sk);
	if (peer && sk && vfs_read(sk, struct unix_sock___local, peer) == (unsigned long)peer &&
	    !vfs_read(peer, struct unix_sock___local, path.dentry))
		return 0;
	return unix_peer_check(ctx, HOOK_UNIX_MAY_SEND, peer);
}

/*
 * The sockets a role may make: the families it uses (netlink's route protocol always: how
 * programs read their own addresses), no raw IP sockets unless allowed, and under network
 * rules, no IP protocol the rules cannot judge (SCTP's connectx, for one, bypasses
 * socket_connect). Kernel-internal sockets are not the task's.
 */
SEC("lsm/socket_create")
int BPF_PROG(jail_socket_create, int family, int type, int protocol, int kern, int ret)
{
	struct jail_task *t;
	struct jail_role *r;
	int kind = type & SOCK_TYPE_MASK;

	if (ret)
		return ret;
	if (kern)
		return 0;
	t = current_jail();
	if (!t)
		return 0;
	r = role_of(t);
	if (!r)
		return jail_deny(ctx, t, r, HOOK_SOCKET_CREATE, JAIL_OP_SOCKET, NULL);
	if (family == AF_NETLINK && protocol == NETLINK_ROUTE)
		return 0;
	if (family < 0 || family > 63 || !(r->families & (1ULL << family)))
		return jail_deny(ctx, t, r, HOOK_SOCKET_CREATE, JAIL_OP_SOCKET, NULL);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (kind == SOCK_RAW || kind == SOCK_PACKET) {
		if (r->deny & JAIL_DENY_RAW)
			return jail_deny(ctx, t, r, HOOK_SOCKET_CREATE, JAIL_OP_SOCKET, NULL);
		return 0;
	}
	if (!(r->deny & JAIL_DENY_INET_OTHER))
		return 0;
	if ((kind == SOCK_STREAM && (protocol == IPPROTO_IP || protocol == IPPROTO_TCP)) ||
	    (kind == SOCK_DGRAM && (protocol == IPPROTO_IP || protocol == IPPROTO_UDP)))
		return 0;
	return jail_deny(ctx, t, r, HOOK_SOCKET_CREATE, JAIL_OP_SOCKET, NULL);
}

/*
 * listen(): serving, judged by the bind rules on the socket's own address and port. A
 * socket bound to port 0, or never bound (listen() binds it to an ephemeral port), serves
 * on a port no rule names: refused unless the rules allow 0.
 */
SEC("lsm/socket_listen")
int BPF_PROG(jail_socket_listen, struct socket___local *sock, int backlog, int ret)
{
	struct jail_task *t;
	struct jail_role *r;
	struct sock___local *sk;
	struct jail_net_key key = {};
	__u16 family;

	if (ret)
		return ret;
	t = current_jail();
	if (!t)
		return 0;
	r = role_of(t);
	if (!r)
		return jail_deny(ctx, t, r, HOOK_SOCKET_LISTEN, JAIL_OP_LISTEN, NULL);
	if (r->net_default)
		return 0;
	sk = read_ptr(sock->sk);
	if (!sk)
		return jail_deny(ctx, t, r, HOOK_SOCKET_LISTEN, JAIL_OP_LISTEN, NULL);
	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	key.prefixlen = (sizeof(key.role) + 4 + sizeof(key.addr)) * 8;
	key.role = t->role;
	key.direction = JAIL_NET_BIND;
	key.protocol = rule_protocol(sk);
	if (family == AF_INET) {
		__be32 addr = sk->__sk_common.skc_rcv_saddr;

		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], &addr, 4);
	} else {
		struct in6_addr addr = sk->__sk_common.skc_v6_rcv_saddr;

		__builtin_memcpy(key.addr, &addr, 16);
	}
	if (net_rule_allows(r, &key, sk->__sk_common.skc_num))
		return 0;
	return jail_deny(ctx, t, r, HOOK_SOCKET_LISTEN, JAIL_OP_LISTEN, NULL);
}

SEC("lsm/socket_connect")
int BPF_PROG(jail_socket_connect, struct socket___local *sock, struct sockaddr *address, int addrlen, int ret)
{
	if (ret)
		return ret;
	return net_check(ctx, HOOK_SOCKET_CONNECT, JAIL_OP_CONNECT, JAIL_NET_CONNECT, sock, address, addrlen);
}

SEC("lsm/socket_bind")
int BPF_PROG(jail_socket_bind, struct socket___local *sock, struct sockaddr *address, int addrlen, int ret)
{
	if (ret)
		return ret;
	return net_check(ctx, HOOK_SOCKET_BIND, JAIL_OP_BIND, JAIL_NET_BIND, sock, address, addrlen);
}

/* sendto/sendmsg with an address: an unconnected UDP (or AF_UNIX datagram) socket. */
SEC("lsm/socket_sendmsg")
int BPF_PROG(jail_socket_sendmsg, struct socket___local *sock, struct msghdr___local *msg, int size, int ret)
{
	void *name = read_ptr(msg->msg_name);

	if (ret)
		return ret;
	if (!name)
		return 0;
	return net_check(ctx, HOOK_SOCKET_SENDMSG, JAIL_OP_SENDMSG, JAIL_NET_CONNECT, sock, name, msg->msg_namelen);
}
