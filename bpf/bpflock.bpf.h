/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by every bpflock BPF program (BPF side only). */
#ifndef BPFLOCK_BPF_H
#define BPFLOCK_BPF_H

#include "kernel.bpf.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "profile.h"

#define EPERM 1

/*
 * True when the current task lives in the initial pid namespace.
 *
 * The task's *active* pid namespace is the one its struct pid was allocated in, at
 * thread_pid->level. bpflock (C/Go) looked at nsproxy->pid_ns_for_children (the namespace
 * future children get) or the host network namespace, which lets a container that shares
 * the host network pass. This is a plain BTF pointer walk: no bpf_probe_read_kernel(), so
 * it also works where lockdown=confidentiality denies that helper.
 */
static __always_inline bool in_initial_pidns(void)
{
	struct task_struct___local *task = current_task();

	return task->thread_pid->level == 0;
}

/*
 * The system's init, pid 1 of the initial pid namespace, reached from the current task's
 * pid namespace up to the initial one (its child reaper): BTF loads only (Debian's kernel
 * BTF has no global variables for an init_task ksym). NULL where it cannot be found.
 */
static __always_inline struct task_struct___local *system_init_task(void)
{
	struct nsproxy___local *nsproxy = read_ptr(current_task()->nsproxy);
	struct pid_namespace___local *ns, *parent;

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
	return read_ptr(ns->child_reaper);
}

/*
 * The system's namespaces: the initial ones, which kernel threads keep (init_nsproxy),
 * reached through the idle task that forked pid 1. Not pid 1's own: code run as pid 1
 * could setns(2) it anywhere, and a namespace whose last task left is freed with its
 * mounts. NULL where it cannot be found.
 */
static __always_inline struct nsproxy___local *system_nsproxy(void)
{
	struct task_struct___local *init = system_init_task(), *idle;

	if (!init)
		return NULL;
	idle = read_ptr(init->real_parent);
	if (!idle || idle->pid != 0)
		return NULL;
	return read_ptr(idle->nsproxy);
}

/*
 * The namespaces a task of the system may be in: the initial ones (system_nsproxy), and
 * pid 1's where an unusual init has left them. A check of "the system's namespace" takes
 * both, so it refuses more, never less. False where either cannot be found.
 */
static __always_inline bool system_nsproxies(struct nsproxy___local **initial, struct nsproxy___local **pid1)
{
	struct task_struct___local *init = system_init_task();

	*initial = system_nsproxy();
	*pid1 = init ? read_ptr(init->nsproxy) : NULL;
	return *initial && *pid1;
}

/*
 * The bpflock executable that ran bootstrap, as the kernel names files: (s_dev, i_ino)
 * of mm->exe_file. Set by bpflock before load; 0 matches nothing. What it may do that
 * others may not is each protection's to say (bpfrestrict: read its pinned events;
 * kimglock: load its programs that read kernel memory).
 */
const volatile __u32 bpflock_exe_dev = 0; /* kernel encoding: MAJOR << 20 | MINOR */
const volatile __u64 bpflock_exe_ino = 0;

/* The inode of the current task's executable (mm->exe_file), NULL for a kernel thread. */
static __always_inline struct inode___local *current_exe_inode(void)
{
	struct mm_struct___local *mm = read_ptr(current_task()->mm);
	struct file___local *exe;

	if (!mm)
		return NULL;
	exe = read_ptr(mm->exe_file);
	if (!exe)
		return NULL;
	return read_ptr(exe->f_inode);
}

static __always_inline bool is_bpflock_exe(void)
{
	struct inode___local *inode;

	if (!bpflock_exe_ino || !in_initial_pidns())
		return false;
	inode = current_exe_inode();
	if (!inode)
		return false;
	return inode->i_ino == bpflock_exe_ino && inode->i_sb->s_dev == bpflock_exe_dev;
}

/*
 * A dentry's inode, NULL for a negative dentry. Not a plain load where the dentry is a hook
 * argument: from 6.4 until 7.x the verifier typed dentry->d_inode of a trusted dentry
 * "trusted, never NULL", so it dropped the NULL check as dead code and let the program
 * load through NULL (a kernel oops on the new name of inode_create or inode_rename).
 * Through a read-only cast the pointer is untrusted: checked, and every load from it is
 * fault-safe. Kernels without the cast (6.1) never had that rule.
 */
static __always_inline struct inode___local *dentry_inode(struct dentry___local *dentry)
{
	if (bpf_ksym_exists(bpf_rdonly_cast))
		return read_ptr(bpf_core_cast(dentry, struct dentry___local)->d_inode);
	return read_ptr(dentry->d_inode);
}

/*
 * 0, the LSM's "allowed", in a register of its own. Where the compiler knows a variable is
 * 0 it may return that variable's register instead of a constant, and a verifier that
 * tracks the variable only through a masked 32-bit copy (6.12) cannot prove that register
 * is in the range an LSM hook may return. barrier_var() makes the compiler materialize
 * the constant.
 */
static __always_inline int lsm_allow(void)
{
	int zero = 0;

	barrier_var(zero);
	return zero;
}

/*
 * The common decision of the system-wide locks: restricted denies everyone, baseline
 * denies what the policy blocks and anything outside the initial pid namespace that it
 * does not allow.
 */
static __always_inline int profile_decide(__u32 profile, bool blocked, bool allowed)
{
	if (profile == PROFILE_RESTRICTED)
		return -EPERM;
	if (profile != PROFILE_BASELINE)
		return 0;
	if (blocked)
		return -EPERM;
	if (allowed || in_initial_pidns())
		return 0;
	return -EPERM;
}

#endif
