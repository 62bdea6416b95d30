/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpflock's pins out of reach of the tasks a lock restricts: a process in a container that
 * sees the host's BPF filesystem (`unshare --pid --fork`, or a container given /sys/fs/bpf)
 * would otherwise remove a protection with `rm -r /sys/fs/bpf/bpflock/<p>` or
 * `umount /sys/fs/bpf` (which frees every pin, and with them the programs).
 *
 * Every lock loads these four programs (BPFLOCK_PINS_GUARD) and refuses, under baseline
 * or restricted, to any task outside the initial pid namespace: unlink, rmdir and rename
 * under bpflock's pin root; unmounting the BPF filesystem that holds it, or anything in the
 * system's mount namespace (a lazy unmount of /sys, or of /, takes /sys/fs/bpf with it). Root in the
 * initial pid namespace is the sealing issue's. Include after events.bpf.h.
 */
#ifndef BPFLOCK_PINS_BPF_H
#define BPFLOCK_PINS_BPF_H

#define BPF_FS_MAGIC 0xcafe4a11
#define PINS_DEPTH 8 /* bpflock/<protection>/maps/<map>: deeper on that filesystem fails closed */

static __always_inline bool under_pin_root(struct dentry___local *dentry)
{
	struct super_block___local *sb;
	struct dentry___local *parent;
	struct inode___local *inode;

	if (!dentry || !bpflock_pins_ino)
		return false;
	sb = read_ptr(dentry->d_sb);
	if (!sb || sb->s_magic != BPF_FS_MAGIC || sb->s_dev != bpflock_pins_dev)
		return false;
	for (int i = 0; i < PINS_DEPTH; i++) {
		inode = dentry_inode(dentry);
		if (inode && inode->i_ino == bpflock_pins_ino)
			return true;
		parent = read_ptr(dentry->d_parent);
		if (!parent || parent == dentry)
			return false;
		dentry = parent;
	}
	return true;
}

/* Whether the current task lives in the initial mount namespace (system_nsproxy): where
 * the seal records the pins' mount. Unknown: no. BTF loads only, so every lock loads under
 * lockdown. */
static __always_inline bool in_initial_mount_ns(void)
{
	struct nsproxy___local *nsproxy = read_ptr(current_task()->nsproxy);
	struct nsproxy___local *system = system_nsproxy();

	return nsproxy && system && nsproxy->mnt_ns == system->mnt_ns;
}

/* Whether the current task lives in the system's mount namespace (system_nsproxies).
 * Unknown: yes. */
static __always_inline bool in_system_mount_ns(void)
{
	struct nsproxy___local *nsproxy = read_ptr(current_task()->nsproxy), *initial, *pid1;

	if (!nsproxy || !system_nsproxies(&initial, &pid1))
		return true;
	return nsproxy->mnt_ns == initial->mnt_ns || nsproxy->mnt_ns == pid1->mnt_ns;
}

/*
 * Any unmount in the system's mount namespace: a lazy unmount of /sys, or of / itself,
 * takes /sys/fs/bpf with it. In a namespace of its own a task unmounts copies, which free
 * nothing; the BPF filesystem itself is refused there too.
 */
static __always_inline bool umount_frees_pins(struct vfsmount___local *mnt)
{
	struct super_block___local *sb = read_ptr(mnt->mnt_sb);

	if (!bpflock_pins_ino)
		return false;
	if (sb && sb->s_magic == BPF_FS_MAGIC && sb->s_dev == bpflock_pins_dev)
		return true;
	return in_system_mount_ns();
}

static __always_inline int pins_guard(void *ctx, __u32 protection, __u32 profile, __u32 hook, bool touches_pins)
{
	if (!touches_pins || profile == PROFILE_ALLOW || in_initial_pidns())
		return 0;
	/* Always enforced: only a lock that enforces carries the guard (skel.rs), and a lock
	 * in complain mode must not leave the others' pins open. */
	report(ctx, protection, hook, BPFLOCK_OP_PINS, DECISION_DENY, NULL);
	return -EPERM;
}

#define BPFLOCK_PINS_GUARD(name, protection, profile)                                                               \
	SEC("lsm/inode_unlink")                                                                                     \
	int BPF_PROG(name##_pins_guard_inode_unlink, struct inode___local *dir, struct dentry___local *dentry, int ret)         \
	{                                                                                                           \
		if (ret)                                                                                            \
			return ret;                                                                                 \
		return pins_guard(ctx, protection, profile, HOOK_INODE_UNLINK, under_pin_root(dentry));           \
	}                                                                                                           \
	SEC("lsm/inode_rmdir")                                                                                      \
	int BPF_PROG(name##_pins_guard_inode_rmdir, struct inode___local *dir, struct dentry___local *dentry, int ret)          \
	{                                                                                                           \
		if (ret)                                                                                            \
			return ret;                                                                                 \
		return pins_guard(ctx, protection, profile, HOOK_INODE_RMDIR, under_pin_root(dentry));            \
	}                                                                                                           \
	SEC("lsm/inode_rename")                                                                                     \
	int BPF_PROG(name##_pins_guard_inode_rename, struct inode___local *old_dir, struct dentry___local *old_dentry,        \
		     struct inode___local *new_dir, struct dentry___local *new_dentry, int ret)                     \
	{                                                                                                           \
		if (ret)                                                                                            \
			return ret;                                                                                 \
		return pins_guard(ctx, protection, profile, HOOK_INODE_RENAME,                                     \
				  under_pin_root(old_dentry) || under_pin_root(new_dentry));                        \
	}                                                                                                           \
	SEC("lsm/sb_umount")                                                                                        \
	int BPF_PROG(name##_pins_guard_sb_umount, struct vfsmount___local *mnt, int flags, int ret)                        \
	{                                                                                                           \
		if (ret)                                                                                            \
			return ret;                                                                                 \
		return pins_guard(ctx, protection, profile, HOOK_SB_UMOUNT, umount_frees_pins(mnt));              \
	}

#endif
