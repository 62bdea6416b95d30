// SPDX-License-Identifier: GPL-2.0
/*
 * fslock: the filesystem ways out of a container. A process that can write a kernel
 * tunable (core_pattern, modprobe, release_agent, binfmt_misc...) has the kernel run its
 * program as root on the host; one that can mount the host's disk or a kernel filesystem
 * (debugfs, bpf...) reads and rewrites the host. And rootfs = "ro": nothing writes the root
 * filesystem, root in the initial pid namespace included.
 *
 * Files are matched by what they are: their filesystem (the superblock's magic) and their
 * chain of dentries up to that filesystem's root, never by the path the task used. A second
 * procfs mounted in a container, or /proc/sys bind-mounted elsewhere, is the same
 * superblock type with the same dentries. Writes are refused when the file is opened for
 * writing and at each write (file_permission: a descriptor opened before bootstrap or
 * passed from the host), and where a shared writable mapping is made.
 */
#include "bpflock.bpf.h"
#include "fslock.h"
#include "events.bpf.h"
#include "pins.bpf.h"
#include "dname.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* include/uapi/linux/magic.h (BPF_FS_MAGIC: pins.bpf.h) */
#define PROC_SUPER_MAGIC   0x9fa0
#define SYSFS_MAGIC        0x62656572
#define CGROUP_SUPER_MAGIC 0x27e0eb
#define BINFMTFS_MAGIC     0x42494e4d
#define DEBUGFS_MAGIC      0x64626720
#define TRACEFS_MAGIC      0x74726163
#define SECURITYFS_MAGIC   0x73636673
#define CONFIGFS_MAGIC     0x62656570
#define EFIVARFS_MAGIC     0xde5e81e4

#define FMODE_WRITE     0x2
#define MAY_WRITE       0x2
#define PROT_WRITE      0x2
#define MAP_SHARED      0x1
#define FS_REQUIRES_DEV 1
#define VM_SHARED       0x8
#define S_IFMT          00170000
#define S_IFBLK         0060000
#define S_IFREG         0100000
#define S_IFDIR         0040000
#define S_IFLNK         0120000

/* Steps from a file up to its filesystem's root (/proc/sys/net/ipv4/conf/all/x is 6). */
#define FSLOCK_DEPTH 16

const volatile __u32 fslock_profile = PROFILE_ALLOW;
const volatile __u64 fslock_allow_mask = 0;
const volatile __u64 fslock_block_mask = 0;
/* rootfs = "ro": the root filesystem's s_dev (0: not asked) and its block devices. */
const volatile __u32 fslock_root_dev = 0;
const volatile __u32 fslock_root_devices[FSLOCK_ROOT_DEVICES] = {};
/* rootfs = "ro" asked where / was the initramfs: recorded for status, nothing locked. */
const volatile bool fslock_rootfs_deferred = false;
/* inode_setattr's dentry is its second argument where the hook takes a mnt_idmap first (6.8+). */
const volatile bool fslock_setattr_idmap = false;

struct fs_parameter___local;

struct file_system_type___local {
	int fs_flags;
} __local_type;

struct fs_context___local {
	struct file_system_type___local *fs_type;
} __local_type;

static __always_inline bool is_root(struct dentry___local *d, struct dentry___local *root)
{
	return d == root || !d || read_ptr(d->d_parent) == d;
}

/* Whether `d` is under /proc/sys/net: the directory right below `top` (/proc/sys) on the way up. */
static __always_inline bool under_sys_net(struct dentry___local *d, struct dentry___local *top)
{
	for (int i = 0; i < FSLOCK_DEPTH; i++) {
		struct dentry___local *up = read_ptr(d->d_parent);

		if (!up || up == d)
			return false;
		if (up == top)
			return NAMED(d, "net");
		d = up;
	}
	return false;
}

/* Whether the current task shares the host's network namespace (system_nsproxies).
 * Unknown: yes. */
static __always_inline bool in_system_net_ns(void)
{
	struct nsproxy___local *nsproxy = read_ptr(current_task()->nsproxy), *initial, *pid1;

	if (!nsproxy || !system_nsproxies(&initial, &pid1))
		return true;
	return nsproxy->net_ns == initial->net_ns || nsproxy->net_ns == pid1->net_ns;
}

/*
 * procfs: /proc/sysrq-trigger, and what is under /proc/sys, found by walking up to the
 * top directory below procfs' root. A file deeper than FSLOCK_DEPTH counts as /proc/sys.
 */
static __always_inline int proc_op(struct dentry___local *d, struct dentry___local *root)
{
	struct dentry___local *parent = read_ptr(d->d_parent), *top = d;

	if (is_root(parent, root))
		return NAMED(d, "sysrq-trigger") ? FSLOCK_SYSRQ : -1;
	for (int i = 0; i < FSLOCK_DEPTH; i++) {
		struct dentry___local *up = read_ptr(top->d_parent);

		if (is_root(up, root)) {
			if (!NAMED(top, "sys"))
				return -1;
			break;
		}
		top = up;
	}
	/* /proc/sys/kernel/<name>: the programs the kernel runs as root */
	if (read_ptr(parent->d_parent) == top && NAMED(parent, "kernel")) {
		if (NAMED(d, "core_pattern"))
			return FSLOCK_CORE_PATTERN;
		if (NAMED(d, "modprobe"))
			return FSLOCK_MODPROBE;
		if (NAMED(d, "hotplug"))
			return FSLOCK_UEVENT_HELPER;
		if (NAMED(d, "poweroff_cmd"))
			return FSLOCK_POWEROFF_CMD;
	}
	/* /proc/sys/net shows the sysctls of the opener's network namespace: its own, unless it
	 * shares the host's. */
	if (!in_system_net_ns() && under_sys_net(d, top))
		return FSLOCK_PROC_SYS_NET;
	return FSLOCK_PROC_SYS;
}

/* The kernel tunable a file is, or -1. Not inlined: one copy in the object for the four
 * programs that write (the dentry names unrolled in each made the object 250 KB). */
static __noinline int tunable_of(struct file___local *file)
{
	struct dentry___local *d = read_ptr(file->f_path.dentry), *parent;
	struct inode___local *inode = read_ptr(file->f_inode);
	struct super_block___local *sb;

	if (!inode || !d)
		return -1;
	sb = read_ptr(inode->i_sb);
	if (!sb)
		return -1;
	switch (sb->s_magic) {
	case PROC_SUPER_MAGIC:
		return proc_op(d, read_ptr(sb->s_root));
	case SYSFS_MAGIC:
		/* /sys/kernel/uevent_helper */
		parent = read_ptr(d->d_parent);
		if (parent && NAMED(d, "uevent_helper") && NAMED(parent, "kernel") &&
		    is_root(read_ptr(parent->d_parent), read_ptr(sb->s_root)))
			return FSLOCK_UEVENT_HELPER;
		return FSLOCK_SYSFS;
	case CGROUP_SUPER_MAGIC: /* cgroup v1 only: cgroup2 has its own magic */
		if (NAMED(d, "release_agent") || NAMED(d, "notify_on_release"))
			return FSLOCK_RELEASE_AGENT;
		return -1;
	case BINFMTFS_MAGIC:
		return FSLOCK_BINFMT_MISC;
	case EFIVARFS_MAGIC:
		return FSLOCK_EFIVARFS;
	}
	return -1;
}

/* A decision counted and reported. Not inlined: a program decides in up to four places,
 * and each copy of the reporting code is ~600 instructions. */
static __noinline int fslock_verdict(void *ctx, __u32 hook, __u32 op, int ret)
{
	return lock_verdict(ctx, PROT_FSLOCK, hook, op, ret, NULL);
}

static __always_inline int fslock_decide(void *ctx, __u32 hook, __u32 op)
{
	__u64 bit = 1ULL << op;

	return fslock_verdict(ctx, hook, op, profile_decide(fslock_profile, fslock_block_mask & bit, fslock_allow_mask & bit));
}

/* rootfs = "ro": refused to everyone. */
static __always_inline int rootfs_refuse(void *ctx, __u32 hook, __u32 op)
{
	return fslock_verdict(ctx, hook, op, -EPERM);
}

static __always_inline bool on_root_fs(struct super_block___local *sb)
{
	return fslock_root_dev && sb && sb->s_dev == fslock_root_dev;
}

static __always_inline bool is_root_device(struct inode___local *inode)
{
	if (!fslock_root_dev || (inode->i_mode & S_IFMT) != S_IFBLK)
		return false;
	for (int i = 0; i < FSLOCK_ROOT_DEVICES; i++)
		if (fslock_root_devices[i] && inode->i_rdev == fslock_root_devices[i])
			return true;
	return false;
}

/* What the filesystem stores: a write to a FIFO, socket or device node on it is not one. */
static __always_inline bool stored(struct inode___local *inode)
{
	__u32 type = inode->i_mode & S_IFMT;

	return type == S_IFREG || type == S_IFDIR || type == S_IFLNK;
}

/* A write to `file`: the root filesystem, its block device, any block device, a tunable. */
static __always_inline int fslock_write(void *ctx, __u32 hook, struct file___local *file)
{
	struct inode___local *inode = read_ptr(file->f_inode);
	int op;

	if (!inode)
		return 0;
	if (stored(inode) && on_root_fs(read_ptr(inode->i_sb)))
		return rootfs_refuse(ctx, hook, FSLOCK_ROOTFS_WRITE);
	if (is_root_device(inode))
		return rootfs_refuse(ctx, hook, FSLOCK_ROOTFS_DEVICE);
	if ((inode->i_mode & S_IFMT) == S_IFBLK)
		return fslock_decide(ctx, hook, FSLOCK_BLOCKDEV);
	op = tunable_of(file);
	if (op < 0)
		return 0;
	return fslock_decide(ctx, hook, op);
}

SEC("lsm/file_open")
int BPF_PROG(fslock_file_open, struct file___local *file, int ret)
{
	struct inode___local *inode;

	if (ret)
		return ret;
	if (file->f_mode & FMODE_WRITE)
		return fslock_write(ctx, HOOK_FILE_OPEN, file);
	/* A block device read raw is the host's disk read (its files, whatever their modes). */
	inode = read_ptr(file->f_inode);
	if (inode && (inode->i_mode & S_IFMT) == S_IFBLK)
		return fslock_decide(ctx, HOOK_FILE_OPEN, FSLOCK_BLOCKDEV);
	return 0;
}

/* Every read and write: a write through a descriptor opened before bootstrap, or elsewhere. */
SEC("lsm/file_permission")
int BPF_PROG(fslock_file_permission, struct file___local *file, int mask, int ret)
{
	if (ret)
		return ret;
	if (!(mask & MAY_WRITE))
		return 0;
	return fslock_write(ctx, HOOK_FILE_PERMISSION, file);
}

SEC("lsm/mmap_file")
int BPF_PROG(fslock_mmap_file, struct file___local *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret)
		return ret;
	if (!file || !(prot & PROT_WRITE) || !(flags & MAP_SHARED))
		return 0;
	return fslock_write(ctx, HOOK_MMAP_FILE, file);
}

/* A shared mapping made writable later (a descriptor with write access from before, taken
 * with pidfd_getfd or SCM_RIGHTS, mapped read-only first). */
SEC("lsm/file_mprotect")
int BPF_PROG(fslock_file_mprotect, struct vm_area_struct___local *vma, unsigned long reqprot, unsigned long prot,
	     int ret)
{
	struct file___local *file;

	if (ret)
		return ret;
	if (!(prot & PROT_WRITE) || !(vma->vm_flags & VM_SHARED))
		return 0;
	file = read_ptr(vma->vm_file);
	if (!file)
		return 0;
	return fslock_write(ctx, HOOK_FILE_MPROTECT, file);
}

/*
 * A new superblock about to be mounted, by mount(2), or by fsconfig(FSCONFIG_CMD_CREATE)
 * before fsmount(2): what it is, whatever name the caller gave its type or source. Also the backstop for block devices a
 * filesystem opened by an option of its own.
 */
SEC("lsm/sb_kern_mount")
int BPF_PROG(fslock_sb_kern_mount, struct super_block___local *sb, int ret)
{
	__u32 op;

	if (ret)
		return ret;
	switch (sb->s_magic) {
	case DEBUGFS_MAGIC:
		op = FSLOCK_MOUNT_DEBUGFS;
		break;
	case TRACEFS_MAGIC:
		op = FSLOCK_MOUNT_TRACEFS;
		break;
	case SECURITYFS_MAGIC:
		op = FSLOCK_MOUNT_SECURITYFS;
		break;
	case BPF_FS_MAGIC:
		op = FSLOCK_MOUNT_BPF;
		break;
	case CONFIGFS_MAGIC:
		op = FSLOCK_MOUNT_CONFIGFS;
		break;
	case EFIVARFS_MAGIC:
		op = FSLOCK_EFIVARFS;
		break;
	case CGROUP_SUPER_MAGIC:
		/* A new v1 hierarchy can carry release_agent= in its mount options: mounting one
		 * needs both operations allowed. */
		ret = fslock_decide(ctx, HOOK_SB_KERN_MOUNT, FSLOCK_MOUNT_CGROUP1);
		if (ret)
			return ret;
		op = FSLOCK_RELEASE_AGENT;
		break;
	default:
		if (!read_ptr(sb->s_bdev))
			return 0;
		op = FSLOCK_MOUNT_BLOCKDEV;
	}
	return fslock_decide(ctx, HOOK_SB_KERN_MOUNT, op);
}

/*
 * Any parameter of a filesystem that needs a block device ("source", from mount(2) or
 * fsconfig(2)): refused before the device is opened and the filesystem read (a journal
 * replayed on the host's disk). Allowing returns 0, "not mine": the stub then returns
 * -ENOPARAM and the filesystem parses the parameter.
 */
SEC("lsm/fs_context_parse_param")
int BPF_PROG(fslock_fs_context_parse_param, struct fs_context___local *fc, struct fs_parameter___local *param,
	     int ret)
{
	struct file_system_type___local *type;

	if (ret)
		return ret;
	type = read_ptr(fc->fs_type);
	if (!type || !(type->fs_flags & FS_REQUIRES_DEV))
		return 0;
	return fslock_decide(ctx, HOOK_FS_CONTEXT_PARSE_PARAM, FSLOCK_MOUNT_BLOCKDEV);
}

/*
 * Reconfiguring a superblock, by mount(2) MS_REMOUNT or by fspick(2) +
 * fsconfig(FSCONFIG_CMD_RECONFIGURE); the hook does not say which options would change.
 * The root under rootfs = "ro": refused to everyone. A cgroup v1 hierarchy: its
 * release_agent is a mount option. A filesystem on a block device: the host's disk.
 */
SEC("lsm/sb_remount")
int BPF_PROG(fslock_sb_remount, struct super_block___local *sb, void *mnt_opts, int ret)
{
	if (ret)
		return ret;
	if (on_root_fs(sb))
		return rootfs_refuse(ctx, HOOK_SB_REMOUNT, FSLOCK_ROOTFS_REMOUNT);
	if (sb->s_magic == CGROUP_SUPER_MAGIC)
		return fslock_decide(ctx, HOOK_SB_REMOUNT, FSLOCK_RELEASE_AGENT);
	if (read_ptr(sb->s_bdev))
		return fslock_decide(ctx, HOOK_SB_REMOUNT, FSLOCK_MOUNT_BLOCKDEV);
	return 0;
}

/* ---- rootfs = "ro": loaded only where the policy asks (fslock_rootfs_*) ---- */

static __always_inline int rootfs_in(void *ctx, __u32 hook, struct inode___local *dir)
{
	if (!dir || !on_root_fs(read_ptr(dir->i_sb)))
		return 0;
	return rootfs_refuse(ctx, hook, FSLOCK_ROOTFS_WRITE);
}

static __always_inline int rootfs_dentry(void *ctx, __u32 hook, struct dentry___local *d)
{
	if (!d || !on_root_fs(read_ptr(d->d_sb)))
		return 0;
	return rootfs_refuse(ctx, hook, FSLOCK_ROOTFS_WRITE);
}

SEC("lsm/inode_create")
int BPF_PROG(fslock_rootfs_inode_create, struct inode___local *dir, struct dentry___local *dentry, umode_t mode,
	     int ret)
{
	if (ret)
		return ret;
	return rootfs_in(ctx, HOOK_INODE_CREATE, dir);
}

SEC("lsm/inode_link")
int BPF_PROG(fslock_rootfs_inode_link, struct dentry___local *old, struct inode___local *dir,
	     struct dentry___local *new, int ret)
{
	if (ret)
		return ret;
	return rootfs_in(ctx, HOOK_INODE_LINK, dir);
}

SEC("lsm/inode_unlink")
int BPF_PROG(fslock_rootfs_inode_unlink, struct inode___local *dir, struct dentry___local *dentry, int ret)
{
	if (ret)
		return ret;
	return rootfs_in(ctx, HOOK_INODE_UNLINK, dir);
}

SEC("lsm/inode_symlink")
int BPF_PROG(fslock_rootfs_inode_symlink, struct inode___local *dir, struct dentry___local *dentry,
	     const char *old_name, int ret)
{
	if (ret)
		return ret;
	return rootfs_in(ctx, HOOK_INODE_SYMLINK, dir);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(fslock_rootfs_inode_mkdir, struct inode___local *dir, struct dentry___local *dentry, umode_t mode,
	     int ret)
{
	if (ret)
		return ret;
	return rootfs_in(ctx, HOOK_INODE_MKDIR, dir);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(fslock_rootfs_inode_rmdir, struct inode___local *dir, struct dentry___local *dentry, int ret)
{
	if (ret)
		return ret;
	return rootfs_in(ctx, HOOK_INODE_RMDIR, dir);
}

SEC("lsm/inode_mknod")
int BPF_PROG(fslock_rootfs_inode_mknod, struct inode___local *dir, struct dentry___local *dentry, umode_t mode,
	     dev_t dev, int ret)
{
	if (ret)
		return ret;
	return rootfs_in(ctx, HOOK_INODE_MKNOD, dir);
}

SEC("lsm/inode_rename")
int BPF_PROG(fslock_rootfs_inode_rename, struct inode___local *old_dir, struct dentry___local *old_dentry,
	     struct inode___local *new_dir, struct dentry___local *new_dentry, int ret)
{
	if (ret)
		return ret;
	ret = rootfs_in(ctx, HOOK_INODE_RENAME, old_dir);
	if (ret)
		return ret;
	return rootfs_in(ctx, HOOK_INODE_RENAME, new_dir);
}

/*
 * chmod, chown, truncate, utimes. The hook took (dentry, attr) until 6.8, (idmap, dentry,
 * attr) since: the dentry is read from the argument the running kernel puts it in (both
 * loads are valid on either kernel; only the one chosen is used). No `if (ret) return
 * ret;`: `ret` moved with the arguments, and the trampoline stops at the first LSM
 * program that returns non-zero, so a later one never sees ret != 0.
 */
SEC("lsm/inode_setattr")
int BPF_PROG(fslock_rootfs_inode_setattr)
{
	/* Both loaded at constant offsets (the verifier refuses a computed one into ctx). */
	__u64 first = ctx[0], second = ctx[1];

	barrier_var(first);
	barrier_var(second);
	return rootfs_dentry(ctx, HOOK_INODE_SETATTR, (void *)(fslock_setattr_idmap ? second : first));
}

/* The xattr and ACL hooks take the dentry second on every kernel (after a user namespace,
 * then a mnt_idmap). */
SEC("lsm/inode_setxattr")
int BPF_PROG(fslock_rootfs_inode_setxattr, void *idmap, struct dentry___local *dentry)
{
	return rootfs_dentry(ctx, HOOK_INODE_SETXATTR, dentry);
}

SEC("lsm/inode_removexattr")
int BPF_PROG(fslock_rootfs_inode_removexattr, void *idmap, struct dentry___local *dentry)
{
	return rootfs_dentry(ctx, HOOK_INODE_REMOVEXATTR, dentry);
}

/* POSIX ACLs have hooks of their own since 6.2 (before, they were xattrs). */
SEC("lsm/inode_set_acl")
int BPF_PROG(fslock_rootfs_inode_set_acl, void *idmap, struct dentry___local *dentry)
{
	return rootfs_dentry(ctx, HOOK_INODE_SET_ACL, dentry);
}

SEC("lsm/inode_remove_acl")
int BPF_PROG(fslock_rootfs_inode_remove_acl, void *idmap, struct dentry___local *dentry)
{
	return rootfs_dentry(ctx, HOOK_INODE_REMOVE_ACL, dentry);
}

/*
 * ioctls on the root filesystem's files: those that only read are allowed, every other is
 * refused. Filesystems write through ioctls on a descriptor opened read-only (chattr,
 * labels, UUIDs, verity, encryption policies, resizing, btrfs subvolumes...), and each
 * kernel adds some: a list of the writes would always lag.
 */
static __always_inline bool read_only_ioctl(unsigned int cmd)
{
	switch (cmd) {
	case 0x5401: /* TCGETS: isatty() */
	case 0x5421: /* FIONBIO */
	case 0x5450: /* FIONCLEX */
	case 0x5451: /* FIOCLEX */
	case 0x5452: /* FIOASYNC */
	case 0x541b: /* FIONREAD */
	case 0x5460: /* FIOQSIZE */
	case 0x1:    /* FIBMAP */
	case 0x2:    /* FIGETBSZ */
	case 0xc020660b: /* FS_IOC_FIEMAP */
	case 0x80086601: /* FS_IOC_GETFLAGS */
	case 0x80046601: /* FS_IOC32_GETFLAGS */
	case 0x80087601: /* FS_IOC_GETVERSION */
	case 0x80047601: /* FS_IOC32_GETVERSION */
	case 0x801c581f: /* FS_IOC_FSGETXATTR */
	case 0x81009431: /* FS_IOC_GETFSLABEL */
	case 0x80111500: /* FS_IOC_GETFSUUID */
	case 0x80811501: /* FS_IOC_GETFSSYSFSPATH */
		return true;
	}
	return false;
}

/*
 * ioctls on the root's block devices that only read (what blkid, lsblk, udev, mdadm --detail
 * ask), and SCSI generic. Others may change what the root filesystem is made of without
 * writing the device: a loop device's backing file (LOOP_CHANGE_FD, LOOP_SET_STATUS), an
 * nbd's socket, partitions (BLKPG), md members; and each kernel adds some.
 */
static __always_inline bool read_only_blk_ioctl(unsigned int cmd)
{
	switch (cmd) {
	case 0x0301: /* HDIO_GETGEO */
	case 0x125e: /* BLKROGET */
	case 0x1260: /* BLKGETSIZE */
	case 0x1263: /* BLKRAGET */
	case 0x1265: /* BLKFRAGET */
	case 0x1267: /* BLKSECTGET */
	case 0x1268: /* BLKSSZGET */
	case 0x1278: /* BLKIOMIN */
	case 0x1279: /* BLKIOOPT */
	case 0x127a: /* BLKALIGNOFF */
	case 0x127b: /* BLKPBSZGET */
	case 0x127c: /* BLKDISCARDZEROES */
	case 0x127e: /* BLKROTATIONAL */
	case 0x80081270: /* BLKBSZGET */
	case 0x80041270: /* BLKBSZGET, 32-bit */
	case 0x80081272: /* BLKGETSIZE64 */
	case 0x80041272: /* BLKGETSIZE64, 32-bit */
	case 0x80081280: /* BLKGETDISKSEQ */
	case 0x80041284: /* BLKGETZONESZ */
	case 0x80041285: /* BLKGETNRZONES */
	case 0xc0101282: /* BLKREPORTZONE */
	case 0x4c03: /* LOOP_GET_STATUS */
	case 0x4c05: /* LOOP_GET_STATUS64 */
	case 0x030d: /* HDIO_GET_IDENTITY: ata_id */
	case 0x5331: /* CDROM_GET_CAPABILITY: libblkid on whole disks */
	case 0x5395: /* CDROM_LAST_WRITTEN: libblkid */
	case 0x800c0910: /* RAID_VERSION: mdadm --detail, udev's md rules */
	case 0x80480911: /* GET_ARRAY_INFO */
	case 0x80140912: /* GET_DISK_INFO */
	case 0x5382: /* SCSI_IOCTL_GET_IDLUN */
	case 0x5386: /* SCSI_IOCTL_GET_BUS_NUMBER */
		return true;
	}
	/* SCSI generic: multipath's path checker, scsi_id and SMART monitors send their commands
	 * through SG_IO. Allowed: a command may write, but the disk's sg and bsg character
	 * devices take the same commands anyway (docs/fslock.md). */
	if ((cmd & 0xff00) == 0x2200)
		return true;
	return read_only_ioctl(cmd);
}

static __always_inline int rootfs_ioctl(void *ctx, __u32 hook, struct file___local *file, unsigned int cmd)
{
	struct inode___local *inode = read_ptr(file->f_inode);

	if (!inode)
		return 0;
	if (is_root_device(inode) && !read_only_blk_ioctl(cmd))
		return rootfs_refuse(ctx, hook, FSLOCK_ROOTFS_DEVICE);
	if (!stored(inode) || !on_root_fs(read_ptr(inode->i_sb)) || read_only_ioctl(cmd))
		return 0;
	return rootfs_refuse(ctx, hook, FSLOCK_ROOTFS_WRITE);
}

SEC("lsm/file_ioctl")
int BPF_PROG(fslock_rootfs_file_ioctl, struct file___local *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return ret;
	return rootfs_ioctl(ctx, HOOK_FILE_IOCTL, file, cmd);
}

/* A 32-bit process's ioctl (6.8+, backported to 6.1.y): its own hook. */
SEC("lsm/file_ioctl_compat")
int BPF_PROG(fslock_rootfs_file_ioctl_compat, struct file___local *file, unsigned int cmd, unsigned long arg,
	     int ret)
{
	if (ret)
		return ret;
	return rootfs_ioctl(ctx, HOOK_FILE_IOCTL, file, cmd);
}

/* file_setattr(2) (6.17+): chattr without an ioctl. */
SEC("lsm/inode_file_setattr")
int BPF_PROG(fslock_rootfs_inode_file_setattr, struct dentry___local *dentry)
{
	return rootfs_dentry(ctx, HOOK_INODE_SETATTR, dentry);
}

/* bpflock's pins, out of reach of the tasks this lock restricts (pins.bpf.h): under
 * rootfs = "ro" too, whatever the profile (removing fslock's pins unlocks the root). */
#define fslock_guard_profile (fslock_root_dev && fslock_profile == PROFILE_ALLOW ? PROFILE_BASELINE : fslock_profile)
BPFLOCK_PINS_GUARD(fslock, PROT_FSLOCK, fslock_guard_profile)
