/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a file is, decided by the kernel's objects, not by the name a task uses: walks
 * from a file up through its dentries and mounts, as the kernel's own d_path does (Landlock
 * walks the same way). Include after events.bpf.h (bpflock_read_kernel).
 *
 * struct mount is reached from a vfsmount by its offset (container_of), which the verifier
 * does not let a program dereference: fields are read with bpf_probe_read_kernel, or where
 * lockdown=confidentiality denies that, through a read-only cast (bpf_rdonly_cast, 6.2+;
 * bpflock checks the kernel has it before loading a program that may need it).
 */
#ifndef BPFLOCK_VFS_BPF_H
#define BPFLOCK_VFS_BPF_H

#include <bpf/bpf_core_read.h>

/* Steps of a walk (a dentry up, or a mount crossed); a deeper file fails closed. */
#define VFS_WALK_MAX 128

enum vfs_reach {
	VFS_REACHED = 0,      /* the walk met the root it was given */
	VFS_DISCONNECTED = 1, /* it cannot: another tree (detached mount, bind-mount escape, other namespace) */
	VFS_TOO_DEEP = 2,     /* not within VFS_WALK_MAX steps */
	VFS_INTERNAL = 3,     /* a kernel-internal mount: memfd, pipes, overlayfs' own opens of its layers */
};

/* fs/mount.h MNT_NS_INTERNAL: the namespace of the kernel's own mounts (kern_mount, and
 * clone_private_mount: overlayfs' layers, whose files back the overlay's since 6.6). */
#define VFS_MNT_NS_INTERNAL ((unsigned long)-22)


#define vfs_read(ptr, type, field)                                                         \
	({                                                                                 \
		unsigned long __v;                                                         \
		if (bpflock_read_kernel)                                                   \
			__v = (unsigned long)BPF_CORE_READ((type *)(ptr), field);          \
		else                                                                       \
			__v = (unsigned long)bpf_core_cast((void *)(ptr), type)->field;    \
		__v;                                                                       \
	})

/* How a walk ends at a mount with no parent that is not the root it looks for. */
static __always_inline int vfs_top(unsigned long m)
{
	return vfs_read(m, struct mount___local, mnt_ns) == VFS_MNT_NS_INTERNAL ? VFS_INTERNAL : VFS_DISCONNECTED;
}

static __always_inline unsigned long vfs_real_mount(const void *vfsmount)
{
	return (unsigned long)vfsmount - bpf_core_field_offset(struct mount___local, mnt);
}

/*
 * Whether the path (mnt, dentry) leads up to (root_mnt, root_dentry), the way a name is
 * built: dentry by dentry to its mount's root, then from the mount's mountpoint in its
 * parent mount. A mount with no parent ends the walk (a detached mount, another
 * namespace's root), and so does a dentry that is its own parent below its mount's root
 * (a file reached through a bind mount of a subdirectory: open_by_handle_at).
 */
static __always_inline int vfs_reach(const void *mnt, const void *dentry, const void *root_mnt,
				     const void *root_dentry)
{
	unsigned long m = vfs_real_mount(mnt), d = (unsigned long)dentry;
	unsigned long goal_m = vfs_real_mount(root_mnt), goal_d = (unsigned long)root_dentry;
	unsigned long mnt_root = vfs_read(m, struct mount___local, mnt.mnt_root);

	/* Not unrolled: 128 copies of the body in every program that walks. */
#pragma clang loop unroll(disable)
	for (int i = 0; i < VFS_WALK_MAX; i++) {
		unsigned long parent;

		if (d == goal_d && m == goal_m)
			return VFS_REACHED;
		if (d == mnt_root) {
			parent = vfs_read(m, struct mount___local, mnt_parent);
			if (!parent || parent == m)
				return vfs_top(m);
			d = vfs_read(m, struct mount___local, mnt_mountpoint);
			m = parent;
			mnt_root = vfs_read(m, struct mount___local, mnt.mnt_root);
			continue;
		}
		parent = vfs_read(d, struct dentry___local, d_parent);
		if (!parent || parent == d)
			return VFS_DISCONNECTED;
		d = parent;
	}
	return VFS_TOO_DEEP;
}

/*
 * The system's root directory: pid 1's root (after switch_root, the real root filesystem;
 * kernel threads share it). Reached from the current task's pid namespace up to the
 * initial one, whose child reaper is pid 1: BTF loads only (Debian's kernel BTF has no
 * global variables for an init_task ksym). NULL where it cannot be found.
 */
static __always_inline struct dentry___local *vfs_system_root(void)
{
	struct nsproxy___local *nsproxy = read_ptr(current_task()->nsproxy);
	struct pid_namespace___local *ns, *parent;
	struct task_struct___local *init;
	struct fs_struct___local *fs;

	if (!nsproxy)
		return NULL;
	ns = read_ptr(nsproxy->pid_ns_for_children);
	for (int i = 0; i < 33 && ns; i++) {
		parent = read_ptr(ns->parent);
		if (!parent)
			break;
		ns = parent;
	}
	if (!ns || ns->level != 0)
		return NULL;
	init = read_ptr(ns->child_reaper);
	if (!init)
		return NULL;
	fs = read_ptr(init->fs);
	if (!fs)
		return NULL;
	return fs->root.dentry;
}

/*
 * Whether a mount is attached in the current task's mount namespace: its chain of parents
 * ends at the namespace's root. A mount made with fsmount(2) or open_tree(OPEN_TREE_CLONE)
 * and never moved into place, or unmounted lazily while a file on it stays open, has no
 * parent and is not that root: its files have no name the task could reach. Kernel-
 * internal mounts are told apart (VFS_INTERNAL).
 */
static __always_inline int vfs_mount_attached(const void *mnt)
{
	struct task_struct___local *task = current_task();
	struct nsproxy___local *nsproxy = read_ptr(task->nsproxy);
	struct mnt_namespace___local *ns;
	unsigned long m = vfs_real_mount(mnt), root;

	if (!nsproxy)
		return VFS_DISCONNECTED;
	ns = read_ptr(nsproxy->mnt_ns);
	if (!ns)
		return VFS_DISCONNECTED;
	root = (unsigned long)ns->root;
	/* Not unrolled: 128 copies of the body in every program that walks. */
#pragma clang loop unroll(disable)
	for (int i = 0; i < VFS_WALK_MAX; i++) {
		unsigned long parent;

		if (m == root)
			return VFS_REACHED;
		parent = vfs_read(m, struct mount___local, mnt_parent);
		if (!parent || parent == m)
			return vfs_top(m);
		m = parent;
	}
	return VFS_TOO_DEEP;
}

#endif
