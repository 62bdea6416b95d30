/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's structures as bpflock reads them: only the fields it uses.
 *
 * libbpf relocates each access by field name against the running kernel's BTF (CO-RE),
 * ignoring the ___local suffix, so these work wherever vmlinux.h's full types would. Why
 * not vmlinux.h's: a type the program names is written into its BTF with every type it
 * reaches, and struct task_struct reaches most of the kernel, ~40 KB in each object.
 * Enums and constants still come from vmlinux.h; they cost nothing.
 */
#ifndef BPFLOCK_KERNEL_BPF_H
#define BPFLOCK_KERNEL_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define __local_type __attribute__((preserve_access_index))

struct pid___local {
	unsigned int level; /* depth of the pid namespace the pid was allocated in */
} __local_type;

struct ns_common___local {
	unsigned int inum;
} __local_type;

struct task_struct___local;

struct pid_namespace___local {
	unsigned int level;
	struct pid_namespace___local *parent;
	struct task_struct___local *child_reaper;
	struct ns_common___local ns;
} __local_type;

struct mount___local;

struct mnt_namespace___local {
	struct mount___local *root;
} __local_type;

struct nsproxy___local {
	struct pid_namespace___local *pid_ns_for_children;
	struct mnt_namespace___local *mnt_ns;
	void *net_ns; /* compared, never read */
} __local_type;

struct gendisk___local {
	unsigned long state;
} __local_type;

struct block_device___local {
	struct gendisk___local *bd_disk;
	atomic_t __bd_flags; /* 6.10+ */
} __local_type;

struct dentry___local;

struct super_block___local {
	dev_t s_dev;
	unsigned long s_flags;
	unsigned long s_magic;
	struct block_device___local *s_bdev;
	struct dentry___local *s_root;
} __local_type;

struct inode___local {
	umode_t i_mode;
	dev_t i_rdev; /* a device file's device */
	unsigned long i_ino;
	unsigned int i_nlink;
	struct super_block___local *i_sb;
	void *i_private; /* sysfs (kernfs): the struct kernfs_node */
} __local_type;

/* A dentry's name (its len sits in an anonymous union with the hash: matched by name). */
struct qstr___local {
	u32 len;
	const unsigned char *name;
} __local_type;

struct dentry___local {
	struct dentry___local *d_parent;
	struct inode___local *d_inode;
	struct super_block___local *d_sb;
	struct qstr___local d_name;
} __local_type;

struct vfsmount___local {
	struct dentry___local *mnt_root;
	struct super_block___local *mnt_sb;
	int mnt_flags;
} __local_type;

/* fs/mount.h: what a vfsmount is embedded in (reached with bpf_core_field_offset). */
struct mount___local {
	struct mount___local *mnt_parent;
	struct dentry___local *mnt_mountpoint;
	struct vfsmount___local mnt;
	struct mnt_namespace___local *mnt_ns;
} __local_type;

struct path___local {
	struct vfsmount___local *mnt;
	struct dentry___local *dentry;
} __local_type;

struct fs_struct___local {
	struct path___local root;
} __local_type;

struct file___local {
	struct path___local f_path;
	struct inode___local *f_inode;
	unsigned int f_flags;
	fmode_t f_mode;
} __local_type;

struct mm_struct___local {
	struct file___local *exe_file;
} __local_type;

struct cred___local {
	kuid_t uid;
	kuid_t suid;
	kuid_t euid;
	kuid_t fsuid;
	kgid_t gid;
	kgid_t sgid;
	kgid_t egid;
	kgid_t fsgid;
} __local_type;

struct cgroup___local {
	int level;
} __local_type;

struct css_set___local {
	struct cgroup___local *dfl_cgrp;
} __local_type;

struct task_struct___local {
	pid_t pid;
	pid_t tgid;
	u64 start_time;
	struct task_struct___local *real_parent;
	struct task_struct___local *group_leader;
	struct pid___local *thread_pid;
	struct nsproxy___local *nsproxy;
	struct mm_struct___local *mm;
	const struct cred___local *cred;
	struct fs_struct___local *fs;
	struct css_set___local *cgroups;
	unsigned int ptrace; /* PT_PTRACED while traced */
} __local_type;

struct linux_binprm___local {
	struct file___local *file;
	struct cred___local *cred;
} __local_type;

struct vm_area_struct___local {
	struct file___local *vm_file;
	unsigned long vm_flags; /* in an anonymous union since 6.3: matched by name */
} __local_type;

struct sock_common___local {
	unsigned short skc_family;
	__be32 skc_rcv_saddr;
	__u16 skc_num; /* the bound local port, host order; 0 where not bound */
	struct in6_addr skc_v6_rcv_saddr;
} __local_type;

struct sock___local {
	struct sock_common___local __sk_common;
	u16 sk_type;
	u16 sk_protocol;
} __local_type;

struct socket___local {
	struct sock___local *sk;
} __local_type;

/* An AF_UNIX socket (include/net/af_unix.h): its sock first, then its address. */
struct unix_sock___local {
	struct sock___local sk;
	void *addr;                /* struct unix_address: NULL where the socket has no name */
	struct path___local path;  /* where a pathname socket is bound; dentry NULL otherwise */
	struct sock___local *peer; /* the socket it is connected to (a socketpair's other end) */
} __local_type;

struct sockaddr_in6___local {
	sa_family_t sin6_family;
	__be16 sin6_port;
	__be32 sin6_flowinfo;
	struct in6_addr sin6_addr;
} __local_type;

struct msghdr___local {
	void *msg_name;
	int msg_namelen;
} __local_type;

/*
 * A kernel pointer read once, for a NULL check and the dereferences after it. Verifiers
 * differ in which fields they type "trusted or NULL" (7.x: dentry->d_inode), and a check
 * proves only the register it was made on: were the field loaded again after the check,
 * that copy would be unchecked. barrier_var() makes the loaded value opaque to the
 * compiler, which can then neither re-load the field nor fold the check away.
 */
#define read_ptr(field)                      \
	({                                   \
		typeof(*(field)) *__ptr = (field); \
		barrier_var(__ptr);          \
		__ptr;                       \
	})

static __always_inline struct task_struct___local *current_task(void)
{
	return (struct task_struct___local *)bpf_get_current_task_btf();
}

#endif
