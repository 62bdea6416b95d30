/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a file is, decided by the kernel's objects, not by the name a task uses: walks
 * from a file up through its dentries and mounts, as the kernel's own d_path does (Landlock
 * walks the same way). Include after bpflock.bpf.h (system_init_task, dentry_inode).
 *
 * struct mount is reached from a vfsmount by its offset (container_of), which the verifier
 * does not let a program dereference: fields are read through a read-only cast
 * (bpf_rdonly_cast, 6.2+), or on 6.1 with bpf_probe_read_kernel (which
 * lockdown=confidentiality denies: bpflock checks before loading a program that needs it).
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


/*
 * Through the cast where the kernel has it (6.2+): the verifier turns the cast into nothing
 * and each read into one fault-safe load, where bpf_probe_read_kernel is a helper call per
 * field (~100 instructions: make bench, "parts"). 6.1 reads by helper. (ptr is read into a
 * local first: inside BPF_CORE_READ, its own field accesses would be taken for relocations too.)
 */
#define vfs_read(ptr, type, field)                                                         \
	({                                                                                 \
		unsigned long __v, __p = (unsigned long)(ptr);                             \
		if (bpf_ksym_exists(bpf_rdonly_cast))                                      \
			__v = (unsigned long)bpf_core_cast((void *)__p, type)->field;      \
		else                                                                       \
			__v = (unsigned long)BPF_CORE_READ((type *)__p, field);            \
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

struct vfs_walk {
	unsigned long m, d, mnt_root, goal_m, goal_d;
	int result;
};

/* One step of vfs_reach(): 1 ends the walk with `result` set. */
static long vfs_reach_step(__u32 index, struct vfs_walk *w)
{
	unsigned long parent;

	if (w->d == w->goal_d && w->m == w->goal_m) {
		w->result = VFS_REACHED;
		return 1;
	}
	if (w->d == w->mnt_root) {
		parent = vfs_read(w->m, struct mount___local, mnt_parent);
		if (!parent || parent == w->m) {
			w->result = vfs_top(w->m);
			return 1;
		}
		w->d = vfs_read(w->m, struct mount___local, mnt_mountpoint);
		w->m = parent;
		w->mnt_root = vfs_read(w->m, struct mount___local, mnt.mnt_root);
		return 0;
	}
	parent = vfs_read(w->d, struct dentry___local, d_parent);
	if (!parent || parent == w->d) {
		w->result = VFS_DISCONNECTED;
		return 1;
	}
	w->d = parent;
	return 0;
}

/*
 * Whether the path (mnt, dentry) leads up to (root_mnt, root_dentry), the way a name is
 * built: dentry by dentry to its mount's root, then from the mount's mountpoint in its
 * parent mount. A mount with no parent ends the walk (a detached mount, another
 * namespace's root), and so does a dentry that is its own parent below its mount's root
 * (a file reached through a bind mount of a subdirectory: open_by_handle_at). bpf_loop:
 * the verifier checks one step, not VFS_WALK_MAX copies of it.
 */
static __always_inline int vfs_reach(const void *mnt, const void *dentry, const void *root_mnt,
				     const void *root_dentry)
{
	struct vfs_walk w = {
		.m = vfs_real_mount(mnt),
		.d = (unsigned long)dentry,
		.goal_m = vfs_real_mount(root_mnt),
		.goal_d = (unsigned long)root_dentry,
		.result = VFS_TOO_DEEP,
	};

	w.mnt_root = vfs_read(w.m, struct mount___local, mnt.mnt_root);
	bpf_loop(VFS_WALK_MAX, vfs_reach_step, &w, 0);
	return w.result;
}

/*
 * The system's root directory: pid 1's root (after switch_root, the real root filesystem;
 * kernel threads share it). NULL where it cannot be found.
 */
static __always_inline struct dentry___local *vfs_system_root(void)
{
	struct task_struct___local *init = system_init_task();
	struct fs_struct___local *fs;

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
