// SPDX-License-Identifier: GPL-2.0
/*
 * kmodlock: loading kernel modules, per pid namespace, by operation, and by origin.
 *
 * Explicit loads are covered on both paths (busybox insmod tries one, then the other):
 * finit_module() asks kernel_read_file(READING_MODULE), init_module() asks
 * kernel_load_data(LOADING_MODULE). Autoloading asks kernel_module_request() in the
 * context of the task that triggered it. Module signatures and unsafe parameters are
 * lockdown questions. Firmware and kexec images are left alone unless the policy asks for
 * origin checks (rootfs/ro/ro_dev), which then cover modules and firmware, LoadPin-style.
 */
#include "bpflock.bpf.h"
#include "kmodlock.h"
#include "events.bpf.h"
#include "pins.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 kmodlock_profile = PROFILE_ALLOW;
const volatile __u64 kmodlock_block_mask = 0;
/* Origin checks: from the root filesystem (its kernel dev), mounted read-only, on a read-only device. */
const volatile __u32 kmodlock_rootfs = 0;
const volatile __u32 kmodlock_root_dev = 0;
const volatile __u32 kmodlock_ro = 0;
const volatile __u32 kmodlock_ro_dev = 0;

#define SB_RDONLY 1
#define BD_READ_ONLY (1u << 8) /* 6.10+: in __bd_flags */
#define GD_READ_ONLY 1         /* bit of gendisk->state: the device itself is read-only */

/* Before 6.10 the read-only bit was a field of its own. */
struct block_device___old {
	bool bd_read_only;
} __attribute__((preserve_access_index));

static __always_inline bool origin_checks(void)
{
	return kmodlock_rootfs || kmodlock_ro || kmodlock_ro_dev;
}

/* The kernel's bdev_read_only(): the read-only policy of the block device (BLKROSET), or
 * the disk's own read-only state (set_disk_ro(), e.g. a virtio disk with VIRTIO_BLK_F_RO). */
static __always_inline bool bdev_read_only(struct block_device___local *bdev)
{
	struct gendisk___local *disk;

	if (!bdev)
		return false;
	disk = read_ptr(bdev->bd_disk);
	if (disk && (disk->state & (1UL << GD_READ_ONLY)))
		return true;
	if (bpf_core_field_exists(struct block_device___old, bd_read_only))
		return ((struct block_device___old *)bdev)->bd_read_only;
	return bdev->__bd_flags.counter & BD_READ_ONLY;
}

/* Whether `file` (NULL: loaded from memory, origin unknown) passes the origin checks. */
static __always_inline bool origin_ok(struct file___local *file)
{
	struct super_block___local *sb;
	struct inode___local *inode;

	if (!origin_checks())
		return true;
	if (!file)
		return false;
	inode = read_ptr(file->f_inode);
	if (!inode)
		return false;
	sb = read_ptr(inode->i_sb);
	if (!sb)
		return false;
	if (kmodlock_rootfs && sb->s_dev != kmodlock_root_dev)
		return false;
	/*
	 * The filesystem itself, as LoadPin decides: a read-only bind mount (or mount_setattr
	 * MOUNT_ATTR_RDONLY) of a writable filesystem is one `mount` away from writable, and
	 * the same files stay writable through its other mounts.
	 */
	if (kmodlock_ro && !(sb->s_flags & SB_RDONLY))
		return false;
	if (kmodlock_ro_dev && !bdev_read_only(read_ptr(sb->s_bdev)))
		return false;
	return true;
}

static __always_inline int kmodlock_decide(void *ctx, __u32 hook, __u32 op, bool origin_fine,
					   const char *object)
{
	int ret = origin_fine ? profile_decide(kmodlock_profile, kmodlock_block_mask & (1ULL << op), false)
			      : -EPERM;

	return lock_verdict(ctx, PROT_KMODLOCK, hook, op, ret, object);
}

SEC("lsm/kernel_module_request")
int BPF_PROG(kmodlock_kernel_module_request, char *kmod_name, int ret)
{
	if (ret)
		return ret;
	return kmodlock_decide(ctx, HOOK_KERNEL_MODULE_REQUEST, KMOD_AUTOLOAD_MODULE, true, kmod_name);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(kmodlock_kernel_read_file, struct file___local *file, enum kernel_read_file_id id, bool contents, int ret)
{
	if (ret)
		return ret;
	if (id == bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE))
		return kmodlock_decide(ctx, HOOK_KERNEL_READ_FILE, KMOD_LOAD_MODULE, origin_ok(file), NULL);
	if (id == bpf_core_enum_value(enum kernel_read_file_id, READING_FIRMWARE) && origin_checks() &&
	    !origin_ok(file))
		return kmodlock_decide(ctx, HOOK_KERNEL_READ_FILE, KMOD_FIRMWARE, false, NULL);
	return 0;
}

SEC("lsm/kernel_load_data")
int BPF_PROG(kmodlock_kernel_load_data, enum kernel_load_data_id id, bool contents, int ret)
{
	if (ret)
		return ret;
	if (id == bpf_core_enum_value(enum kernel_load_data_id, LOADING_MODULE))
		return kmodlock_decide(ctx, HOOK_KERNEL_LOAD_DATA, KMOD_LOAD_MODULE, origin_ok(NULL), NULL);
	/* Firmware handed over from memory: its origin cannot be checked. */
	if (id == bpf_core_enum_value(enum kernel_load_data_id, LOADING_FIRMWARE) && origin_checks())
		return kmodlock_decide(ctx, HOOK_KERNEL_LOAD_DATA, KMOD_FIRMWARE, false, NULL);
	return 0;
}

SEC("lsm/locked_down")
int BPF_PROG(kmodlock_locked_down, enum lockdown_reason what, int ret)
{
	if (ret)
		return ret;
	if (bpf_core_enum_value_exists(enum lockdown_reason, LOCKDOWN_MODULE_SIGNATURE) &&
	    what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_MODULE_SIGNATURE))
		return kmodlock_decide(ctx, HOOK_LOCKED_DOWN, KMOD_UNSIGNED_MODULE, true, NULL);
	if (bpf_core_enum_value_exists(enum lockdown_reason, LOCKDOWN_MODULE_PARAMETERS) &&
	    what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_MODULE_PARAMETERS))
		return kmodlock_decide(ctx, HOOK_LOCKED_DOWN, KMOD_UNSAFE_MODULE_PARAMETERS, true, NULL);
	return 0;
}

/* bpflock's pins, out of reach of the tasks this lock restricts (pins.bpf.h). */
BPFLOCK_PINS_GUARD(kmodlock, PROT_KMODLOCK, kmodlock_profile)
