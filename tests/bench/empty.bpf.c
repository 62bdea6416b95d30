// SPDX-License-Identifier: GPL-2.0
/*
 * The physical limit of BPF LSM: an empty program on each hook bpflock uses. `make bench`
 * compares bpflock's programs against these: configuration "empty" has the default
 * policy's hooks (locked_down, bpf), "empty_jail" these and the jail's hooks the
 * benchmarked operations cross (compiled with -DJAIL_HOOKS), "empty_locks" these and the
 * hooks of kmodlock, filelesslock, fslock, nslock and usblock (-DLOCK_HOOKS), "empty_seal" those
 * and the seal's (-DLOCK_HOOKS -DSEAL_HOOKS).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/locked_down")
int BPF_PROG(empty_locked_down, enum lockdown_reason what, int ret)
{
	return ret;
}

SEC("lsm/bpf")
int BPF_PROG(empty_bpf, int cmd)
{
	return 0;
}

#define EMPTY(hook, ...)                        \
	SEC("lsm/" #hook)                       \
	int BPF_PROG(empty_##hook, ##__VA_ARGS__) \
	{                                       \
		return 0;                       \
	}

#ifdef LOCK_HOOKS
EMPTY(kernel_module_request)
EMPTY(kernel_read_file)
EMPTY(kernel_load_data)
EMPTY(bprm_check_security)
EMPTY(mmap_file)
EMPTY(file_mprotect)
EMPTY(file_open)
EMPTY(file_permission)
EMPTY(sb_kern_mount)
EMPTY(fs_context_parse_param)
EMPTY(userns_create)
/* usblock's pair: a second program on fslock's file_open and file_permission. */
SEC("lsm/file_open")
int BPF_PROG(empty_usb_file_open)
{
	return 0;
}

SEC("lsm/file_permission")
int BPF_PROG(empty_usb_file_permission)
{
	return 0;
}
#endif

#ifdef SEAL_HOOKS
EMPTY(inode_unlink)
EMPTY(inode_rmdir)
EMPTY(inode_rename)
EMPTY(sb_umount)
EMPTY(move_mount)
EMPTY(sb_mount)
EMPTY(sb_pivotroot)
EMPTY(bpf_map)
EMPTY(bpf_prog)
EMPTY(inode_permission)
EMPTY(task_prctl)
EMPTY(ptrace_access_check)
#endif

#ifdef JAIL_HOOKS
EMPTY(file_open)
EMPTY(mmap_file)
EMPTY(bprm_check_security)
EMPTY(task_alloc)
EMPTY(bprm_creds_from_file)
EMPTY(socket_connect)
EMPTY(socket_bind)
EMPTY(socket_sendmsg)
EMPTY(inode_create)
EMPTY(inode_unlink)
#endif
