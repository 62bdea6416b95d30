// SPDX-License-Identifier: GPL-2.0
/*
 * filelesslock: executing code from a file that has no name on any filesystem (a memfd,
 * an unlinked O_TMPFILE, a deleted-but-open file): the usual way to run a payload that
 * never touches the disk.
 *
 * A file has no name when its link count is 0 (memfd_create() clears it; unlink drops it),
 * or when it lives on a mount that is not attached where the task could name it: a tmpfs
 * made with fsopen/fsmount, or a tree cloned with open_tree, and never moved into place
 * (its files keep a link count of 1).
 * Every way such a file can become code is covered: execve/execveat (the script itself, not
 * only its interpreter: bprm_check_security sees each file of the chain), and mappings made
 * executable, which is how `ld.so /proc/self/fd/N` runs a program without execve of it.
 */
#include "bpflock.bpf.h"
#include "filelesslock.h"
#include "events.bpf.h"
#include "vfs.bpf.h"
#include "pins.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PROT_EXEC 0x4

const volatile __u32 filelesslock_profile = PROFILE_ALLOW;

static __always_inline bool is_fileless(struct file___local *file)
{
	struct inode___local *inode;
	int reach;

	if (!file)
		return false;
	inode = read_ptr(file->f_inode);
	if (!inode || inode->i_nlink == 0)
		return true;
	/* Internal mounts: memfds (link count 0 above), and overlayfs' layers behind a mapping. */
	reach = vfs_mount_attached(read_ptr(file->f_path.mnt));
	return reach != VFS_REACHED && reach != VFS_INTERNAL;
}

/* allow: reported, allowed. baseline: denied outside the initial pid namespace. restricted: denied. */
static __always_inline int filelesslock_decide(void *ctx, __u32 hook, __u32 op, struct file___local *file)
{
	int ret;

	if (!is_fileless(file))
		return 0;
	ret = profile_decide(filelesslock_profile, false, false);
	return lock_verdict(ctx, PROT_FILELESSLOCK, hook, op, ret, NULL);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(filelesslock_bprm_check_security, struct linux_binprm___local *bprm, int ret)
{
	if (ret)
		return ret;
	return filelesslock_decide(ctx, HOOK_BPRM_CHECK_SECURITY, FILELESS_EXEC, read_ptr(bprm->file));
}

SEC("lsm/mmap_file")
int BPF_PROG(filelesslock_mmap_file, struct file___local *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret)
		return ret;
	if (!(prot & PROT_EXEC))
		return 0;
	return filelesslock_decide(ctx, HOOK_MMAP_FILE, FILELESS_MMAP_EXEC, file);
}

SEC("lsm/file_mprotect")
int BPF_PROG(filelesslock_file_mprotect, struct vm_area_struct___local *vma, unsigned long reqprot,
	     unsigned long prot, int ret)
{
	if (ret)
		return ret;
	if (!(prot & PROT_EXEC))
		return 0;
	return filelesslock_decide(ctx, HOOK_FILE_MPROTECT, FILELESS_MPROTECT_EXEC, read_ptr(vma->vm_file));
}

/*
 * The kernel reading a file as code: finit_module(2) of a memfd would load a module that
 * never had a name (kmodlock's origin checks only apply where the policy asks for them),
 * kexec_file_load(2) a kernel. Firmware is read by path: not here.
 */
SEC("lsm/kernel_read_file")
int BPF_PROG(filelesslock_kernel_read_file, struct file___local *file, enum kernel_read_file_id id, bool contents,
	     int ret)
{
	if (ret)
		return ret;
	if (id == bpf_core_enum_value(enum kernel_read_file_id, READING_FIRMWARE))
		return 0;
	return filelesslock_decide(ctx, HOOK_KERNEL_READ_FILE, FILELESS_KERNEL_READ, file);
}

/*
 * Code handed to the kernel from memory, with no file at all: init_module(2) of a module
 * read from a memfd (or built in memory), kexec_load(2) of a kernel. Firmware and policy
 * blobs are not code run here.
 */
SEC("lsm/kernel_load_data")
int BPF_PROG(filelesslock_kernel_load_data, enum kernel_load_data_id id, bool contents, int ret)
{
	if (ret)
		return ret;
	if (id != bpf_core_enum_value(enum kernel_load_data_id, LOADING_MODULE) &&
	    id != bpf_core_enum_value(enum kernel_load_data_id, LOADING_KEXEC_IMAGE))
		return 0;
	ret = profile_decide(filelesslock_profile, false, false);
	return lock_verdict(ctx, PROT_FILELESSLOCK, HOOK_KERNEL_LOAD_DATA, FILELESS_KERNEL_LOAD, ret, NULL);
}

/* bpflock's pins, out of reach of the tasks this lock restricts (pins.bpf.h). */
BPFLOCK_PINS_GUARD(filelesslock, PROT_FILELESSLOCK, filelesslock_profile)
