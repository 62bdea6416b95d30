/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fslock's operations: bits of allow_mask/block_mask (Rust: src/abi.rs, named in
 * src/protections/fslock.rs), and the event-only operations of rootfs = "ro".
 */
#ifndef BPFLOCK_FSLOCK_H
#define BPFLOCK_FSLOCK_H

enum fslock_op {
	/* Kernel tunables, written through procfs, sysfs, cgroup v1 or binfmt_misc. */
	FSLOCK_CORE_PATTERN = 0,  /* /proc/sys/kernel/core_pattern */
	FSLOCK_MODPROBE = 1,      /* /proc/sys/kernel/modprobe */
	FSLOCK_UEVENT_HELPER = 2, /* /sys/kernel/uevent_helper, /proc/sys/kernel/hotplug */
	FSLOCK_RELEASE_AGENT = 3, /* cgroup v1 release_agent and notify_on_release */
	FSLOCK_SYSRQ = 4,         /* /proc/sysrq-trigger */
	FSLOCK_BINFMT_MISC = 5,   /* any write to a binfmt_misc filesystem */
	FSLOCK_PROC_SYS = 6,      /* any other write under /proc/sys */
	FSLOCK_SYSFS = 7,         /* any other write to sysfs */
	/* Mounts that hand over the host. */
	FSLOCK_MOUNT_BLOCKDEV = 8, /* a filesystem on a block device */
	FSLOCK_MOUNT_DEBUGFS = 9,
	FSLOCK_MOUNT_TRACEFS = 10,
	FSLOCK_MOUNT_SECURITYFS = 11,
	FSLOCK_MOUNT_BPF = 12,
	FSLOCK_MOUNT_CONFIGFS = 13,
	FSLOCK_MOUNT_CGROUP1 = 14,
	FSLOCK_POWEROFF_CMD = 15,  /* /proc/sys/kernel/poweroff_cmd (run as root at an orderly poweroff) */
	FSLOCK_PROC_SYS_NET = 16,  /* /proc/sys/net of the task's own network namespace (not the host's) */
	FSLOCK_BLOCKDEV = 17,      /* opening a block device: the host's disk, read or written raw */
	FSLOCK_EFIVARFS = 18,      /* mounting or writing efivarfs: the firmware's boot variables */
	/* Event only: rootfs = "ro", refused to everyone. */
	FSLOCK_ROOTFS_WRITE = 32,   /* a write to the root filesystem */
	FSLOCK_ROOTFS_REMOUNT = 33, /* reconfiguring its superblock (mount -o remount, fsconfig) */
	FSLOCK_ROOTFS_DEVICE = 34,  /* opening its block device for writing */
};

/* Block devices under the root filesystem recorded for rootfs = "ro" (partition, disk, dm slaves). */
#define FSLOCK_ROOT_DEVICES 16

#endif
