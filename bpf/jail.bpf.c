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
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define ENOMEM 12
#define PROT_EXEC 0x4
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
#define O_APPEND 02000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
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
	__uint(max_entries, 65536);
	__type(key, struct jail_path_key);
	__type(value, struct jail_path_rule);
} jail_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct jail_inode_key);
	__type(value, __u32);
} jail_inodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct jail_exec_key);
	__type(value, __u32);
} jail_exec_enroll SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} jail_cgroup_enroll SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
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
	__uint(max_entries, 4096);
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
 * CPU would overwrite a per-CPU buffer (preemptible kernels, PREEMPT_RT).
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct jail_path_key);
} jail_path_scratch SEC(".maps");

/* Set by bpflock before load: which enrollment kinds the policy uses. */
const volatile __u32 jail_enroll_exec = 0;
const volatile __u32 jail_enroll_cgroup = 0;

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
 * The longest rule of `kind` matching the file's path, as the task sees it (bpf_d_path:
 * absolute, across mounts, from the task's root). Returns the rule's access, `fallback`
 * where none matches, or -1 when the path is longer than the rules can match (the caller
 * fails closed). The path is left in the scratch key for the event.
 */
static __always_inline long path_rule(struct jail_path_key *key, const struct path___local *path, __u32 role,
				      __u32 kind, __u32 fallback)
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
	return rule ? rule->access : fallback;
}

/* The current task's path buffer; NULL where it cannot be allocated (callers fail closed). */
static __always_inline struct jail_path_key *scratch_key(void)
{
	return bpf_task_storage_get(&jail_path_scratch, (void *)current_task(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
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
	struct jail_path_key *key;
	struct jail_role *r;
	long granted;
	__u32 op, denied;

	if (!t)
		return 0;
	r = role_of(t);
	if (!r)
		return jail_deny(ctx, t, r, hook, JAIL_OP_FILE_READ, NULL);
	if (!r->has_file_rules) {
		granted = r->file_default;
		key = NULL;
	} else {
		key = scratch_key();
		if (!key)
			return jail_deny(ctx, t, r, hook, JAIL_OP_PATH_TOO_LONG, NULL);
		granted = path_rule(key, path, t->role, JAIL_RULE_FILE, r->file_default);
		if (granted < 0)
			return jail_deny(ctx, t, r, hook, JAIL_OP_PATH_TOO_LONG, NULL);
	}
	/* The operation named in the event: what was refused, or what was asked. */
	denied = need & ~(__u32)granted;
	op = file_op(denied ? denied : need);
	if (!denied) {
		if (bpflock_events_mode == EVENTS_ALL)
			jail_allow(ctx, t, hook, op, key ? key->path : NULL);
		return lsm_allow(); /* not `denied`: see lsm_allow() */
	}
	return jail_deny(ctx, t, r, hook, op, key ? key->path : NULL);
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
 * execve: enrollment by executable or cgroup for a task in no jail, then the role's exec
 * rules. A jailed task running an enrolled executable keeps its role (reported).
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(jail_bprm_check, struct linux_binprm___local *bprm, int ret)
{
	struct task_struct___local *task = current_task();
	struct file___local *file = read_ptr(bprm->file);
	struct jail_task *t = jail_of(task);
	struct jail_path_key *key;
	struct jail_role *r;
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
			report(ctx, PROT_JAIL, HOOK_BPRM_CHECK, JAIL_OP_CGROUP_DEPTH, DECISION_DENY, NULL);
			return -EPERM;
		}
		t = enroll(task, role);
		if (!t)
			return -ENOMEM;
	} else if (t->flags & JAIL_FLAG_BAD_XATTR) {
		/* The file's xattr names no role of the policy: refused, the task left as it was. */
		bpf_task_storage_delete(&jail_tasks, (void *)task);
		report(ctx, PROT_JAIL, HOOK_BPRM_CHECK, JAIL_OP_ENROLL, DECISION_DENY, NULL);
		return -EPERM;
	} else if (t->flags & JAIL_FLAG_ENROLLING) {
		/* Enrolled by this exec's xattr (jail_xattr_enroll): it runs what it names. */
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
				report(ctx, PROT_JAIL, HOOK_BPRM_CHECK, JAIL_OP_ENROLL | (t->role << 16), DECISION_DENY, NULL);
			} else {
				t->role = role;
				if (by_exec)
					return 0; /* as for a first enrollment: it runs what the policy names */
			}
		}
	}
	r = role_of(t);
	if (!r)
		return jail_deny(ctx, t, r, HOOK_BPRM_CHECK, JAIL_OP_EXEC, NULL);
	if (!r->has_exec_rules)
		return r->exec_default ? 0 : jail_deny(ctx, t, r, HOOK_BPRM_CHECK, JAIL_OP_EXEC, NULL);
	key = scratch_key();
	if (!key)
		return jail_deny(ctx, t, r, HOOK_BPRM_CHECK, JAIL_OP_PATH_TOO_LONG, NULL);
	allowed = path_rule(key, &file->f_path, t->role, JAIL_RULE_EXEC, r->exec_default);
	if (allowed < 0)
		return jail_deny(ctx, t, r, HOOK_BPRM_CHECK, JAIL_OP_PATH_TOO_LONG, NULL);
	if (allowed)
		return 0;
	return jail_deny(ctx, t, r, HOOK_BPRM_CHECK, JAIL_OP_EXEC, key->path);
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
		report(ctx, PROT_JAIL, HOOK_TASK_ALLOC, JAIL_OP_CGROUP_DEPTH, DECISION_DENY, NULL);
		return -EPERM;
	}
	/* Fail closed: a child of a jailed task that cannot be jailed is not created. */
	if (role && !enroll(task, role))
		return -ENOMEM;
	return lsm_allow();
}

/*
 * The access the file rules grant on a dentry, for hooks without a path: the rule of the
 * file itself or of its closest ancestor directory on the same filesystem (rules are
 * recorded by the identity of what they name at bootstrap).
 */
static __always_inline __u32 inode_access(__u32 role, struct dentry___local *dentry, __u32 fallback)
{
	struct jail_inode_key key = { .role = role };
	struct dentry___local *parent;
	struct inode___local *inode;
	__u32 *access;

	for (int i = 0; i < 32 && dentry; i++) {
		inode = read_ptr(dentry->d_inode);
		if (inode) {
			key.dev = dentry->d_sb->s_dev;
			key.ino = inode->i_ino;
			access = bpf_map_lookup_elem(&jail_inodes, &key);
			if (access)
				return *access;
		}
		parent = read_ptr(dentry->d_parent);
		if (parent == dentry)
			break;
		dentry = parent;
	}
	return fallback;
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
	return dentry_check(ctx, HOOK_INODE_LINK, JAIL_OP_LINK, old_dentry, JAIL_ACCESS_ALL);
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
	return dentry_check(ctx, HOOK_INODE_UNLINK, JAIL_OP_UNLINK, dentry, JAIL_WRITE);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(jail_inode_rmdir, struct inode___local *dir, struct dentry___local *dentry, int ret)
{
	if (ret)
		return ret;
	return pins_check(ctx, HOOK_INODE_RMDIR, dentry);
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

SEC("lsm/kernel_module_request")
int BPF_PROG(jail_module_request, char *kmod_name, int ret)
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
	    map != (void *)&jail_xattr_buf)
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

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

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

/*
 * connect/bind/sendto with an address: AF_UNIX by the role's `unix` setting, IPv4 and IPv6
 * (v4-mapped addresses are IPv4's rules) by the longest matching CIDR's port ranges.
 */
static __always_inline int net_check(void *ctx, __u32 hook, __u32 op, __u8 direction, struct socket___local *sock,
				     void *address, int addrlen)
{
	struct jail_task *t = current_jail();
	struct sockaddr_in6 sa = {};
	struct jail_net_key key = {};
	struct jail_net_rule *rule;
	struct jail_role *r;
	struct sock___local *sk;
	__u16 family, port;
	__u8 protocol;

	if (!t)
		return 0;
	r = role_of(t);
	if (!r)
		return jail_deny(ctx, t, r, hook, op, NULL);
	if (read_sockaddr(address, &sa))
		return jail_deny(ctx, t, r, hook, op, NULL);
	family = sa.sin6_family;
	if (family == AF_UNIX) {
		if (direction == JAIL_NET_BIND || !(r->deny & JAIL_DENY_UNIX))
			return 0;
		return jail_deny(ctx, t, r, hook, JAIL_OP_UNIX, NULL);
	}
	if (family != AF_INET && family != AF_INET6)
		return 0;
	sk = read_ptr(sock->sk);
	if (!sk)
		return 0;
	protocol = sk->sk_protocol;
	key.prefixlen = (sizeof(key.role) + 4 + sizeof(key.addr)) * 8;
	key.role = t->role;
	key.direction = direction;
	key.protocol = protocol;
	port = bpf_ntohs(sa.sin6_port);
	if (family == AF_INET) {
		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], &sa.sin6_flowinfo, 4); /* sin_addr */
	} else {
		if (addrlen < (int)sizeof(sa) - 4)
			return jail_deny(ctx, t, r, hook, op, NULL);
		__builtin_memcpy(key.addr, &sa.sin6_addr, 16);
	}
	/* bind to port 0 asks for an ephemeral port: a client, not a service. */
	if (direction == JAIL_NET_BIND && port == 0)
		return 0;
	if (r->has_net_rules) {
		rule = bpf_map_lookup_elem(&jail_net, &key);
		if (rule && port_allowed(rule, port))
			return 0;
	}
	if (r->net_default)
		return 0;
	return jail_deny(ctx, t, r, hook, op, NULL);
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

/* ---- enrollment by xattr (kernels with bpf_get_file_xattr, 6.8+) ---- */

extern int bpf_get_file_xattr(struct file___local *file, const char *name, struct bpf_dynptr *value_ptr) __ksym __weak;

/*
 * Runs before jail_bprm_check (attached first): a task in no jail executing a file whose
 * user.bpflock.role xattr names a role is enrolled in it. Sleepable: the kernel reads the
 * xattr. Loaded only when the policy asks for it (bpflock refuses where the kernel lacks it).
 */
SEC("lsm.s/bprm_check_security")
int BPF_PROG(jail_xattr_enroll, struct linux_binprm___local *bprm, int ret)
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
	 * A sleepable program cannot write events: jail_bprm_check, next on this hook,
	 * reports and refuses a name the policy does not know (fail closed).
	 */
	t = enroll(task, role ? *role : 0);
	if (!t)
		return -ENOMEM;
	t->flags |= role ? JAIL_FLAG_ENROLLING : JAIL_FLAG_BAD_XATTR;
	return 0;
}
