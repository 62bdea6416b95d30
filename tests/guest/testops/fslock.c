// SPDX-License-Identifier: GPL-2.0
/* fslock's operations: writes to kernel tunables, mounts, remounts, a runc-like container. */
#include "testops.h"
#include <sched.h>


/* "A:B:C" split in place into n fields, the last one the rest; missing ones are "". */
static void fields(char *s, char **out, int n)
{
	for (int i = 0; i < n; i++) {
		out[i] = s ? s : "";
		if (s && i < n - 1 && (s = strchr(s, ':')))
			*s++ = 0;
		else if (i < n - 1)
			s = NULL;
	}
}

/* write PATH:DATA: opens PATH for writing and writes DATA (no newline). */
static int op_write(const char *arg)
{
	char buf[4096], *f[2];
	int fd, err = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	fields(buf, f, 2);
	fd = open(f[0], O_WRONLY);
	if (fd < 0)
		return errno;
	if (write(fd, f[1], strlen(f[1])) < 0)
		err = errno;
	close(fd);
	return err;
}
TESTOP_ARG("write", op_write);

/*
 * write_held PATH:DATA: writes through a descriptor opened before fslock was applied: the
 * descriptor is 3, inherited (`testops write_held ... 3>PATH` after `exec 3>PATH` in a shell
 * started before bootstrap); PATH names it in the message only.
 */
static int op_write_held(const char *arg)
{
	const char *data = strchr(arg, ':');

	data = data ? data + 1 : "";
	if (write(3, data, strlen(data)) < 0)
		return errno;
	return 0;
}
TESTOP_ARG("write_held", op_write_held);

/* mount TYPE:SOURCE:TARGET[:DATA] with mount(2), then detached; DATA "ro" is MS_RDONLY. */
static int op_mount(const char *arg)
{
	char buf[4096], *f[4];
	int ro;

	snprintf(buf, sizeof(buf), "%s", arg);
	fields(buf, f, 4);
	ro = !strcmp(f[3], "ro");
	if (mount(f[1], f[2], f[0], ro ? MS_RDONLY : 0, ro || !*f[3] ? NULL : f[3]) < 0)
		return errno;
	umount2(f[2], MNT_DETACH);
	return 0;
}
TESTOP_ARG("mount", op_mount);

/* fsmount TYPE[:SOURCE[:ro]]: the new mount API, fsopen + fsconfig + fsmount, never attached. */
static int op_fsmount(const char *arg)
{
	char buf[4096], *f[3];
	int fs, mnt, err = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	fields(buf, f, 3);
	fs = syscall(SYS_fsopen, f[0], 0);
	if (fs < 0)
		return errno;
	if (*f[1] && syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", f[1], 0) < 0)
		err = errno;
	if (!err && !strcmp(f[2], "ro") && syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0)
		err = errno;
	if (!err && syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		err = errno;
	if (!err) {
		mnt = syscall(SYS_fsmount, fs, 0, 0);
		if (mnt < 0)
			err = errno;
		else
			close(mnt);
	}
	close(fs);
	return err;
}
TESTOP_ARG("fsmount", op_fsmount);

/* remount PATH: mount(2) MS_REMOUNT read-write of the filesystem at PATH. */
static int op_remount(const char *path)
{
	if (mount(NULL, path, NULL, MS_REMOUNT, NULL) < 0)
		return errno;
	return 0;
}
TESTOP_ARG("remount", op_remount);

/* fspick_rw PATH: fspick + fsconfig("rw") + FSCONFIG_CMD_RECONFIGURE: no mount(2) at all. */
static int op_fspick_rw(const char *path)
{
	int fs = syscall(SYS_fspick, AT_FDCWD, path, FSPICK_CLOEXEC), err = 0;

	if (fs < 0)
		return errno;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "rw", NULL, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
		err = errno;
	close(fs);
	return err;
}
TESTOP_ARG("fspick_rw", op_fspick_rw);


/* open_read PATH: opens PATH read-only. */
static int op_open_read(const char *path)
{
	return open_close(path, O_RDONLY);
}
TESTOP_ARG("open_read", op_open_read);

#define TRY(call)                                     \
	do {                                          \
		if ((call) < 0) {                     \
			perror(#call);                \
			_exit(100);                   \
		}                                     \
	} while (0)

static void copy_program(const char *src, const char *dst)
{
	int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	TRY(fd);
	TRY(copy_into(fd, src));
	close(fd);
}

/*
 * container CMD: runs `sh -c CMD` in a container started the way runc starts one: new
 * mount and pid namespaces, a root of its own (a tmpfs holding busybox and testops) with
 * proc, sysfs and a tmpfs /dev mounted in it, pivot_root into it, the old root detached.
 * Prints "container: started" once inside. The exit status is CMD's.
 */
static int op_container(const char *cmd)
{
	static const char *const dirs[] = { "bin", "proc", "sys", "dev", "tmp", ".old" };
	static const char *const applets[] = { "sh", "cat", "echo", "mount", "ls" };
	char path[256];
	int status;
	pid_t pid;

	if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0)
		return errno;
	pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		TRY(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
		/* pivot_root cannot leave the initramfs' rootfs (it has no parent mount): / becomes
		 * a bind mount on it first, as switch_root does. */
		mkdir("/tmp/ctr-base", 0755);
		TRY(mount("/", "/tmp/ctr-base", NULL, MS_BIND | MS_REC, NULL));
		TRY(chdir("/tmp/ctr-base"));
		TRY(mount(".", "/", NULL, MS_MOVE, NULL));
		TRY(chroot("."));
		TRY(chdir("/"));
		mkdir("/tmp/ctr", 0755);
		TRY(mount("ctr", "/tmp/ctr", "tmpfs", 0, NULL));
		for (unsigned i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
			snprintf(path, sizeof(path), "/tmp/ctr/%s", dirs[i]);
			TRY(mkdir(path, 0755));
		}
		copy_program("/bin/busybox", "/tmp/ctr/bin/busybox");
		copy_program("/proc/self/exe", "/tmp/ctr/bin/testops");
		for (unsigned i = 0; i < sizeof(applets) / sizeof(*applets); i++) {
			snprintf(path, sizeof(path), "/tmp/ctr/bin/%s", applets[i]);
			TRY(symlink("busybox", path));
		}
		TRY(mount("proc", "/tmp/ctr/proc", "proc", 0, NULL));
		TRY(mount("sysfs", "/tmp/ctr/sys", "sysfs", 0, NULL));
		TRY(mount("dev", "/tmp/ctr/dev", "tmpfs", 0, NULL));
		TRY(chdir("/tmp/ctr"));
		TRY(syscall(SYS_pivot_root, ".", ".old"));
		TRY(chdir("/"));
		TRY(umount2("/.old", MNT_DETACH));
		printf("container: started\n");
		fflush(stdout);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return errno;
	if (!WIFEXITED(status))
		return EINTR;
	return WEXITSTATUS(status) ? 1000 + WEXITSTATUS(status) : 0;
}
TESTOP_ARG("container", op_container);

/* chattr PATH: FS_IOC_SETFLAGS on PATH opened read-only (flags unchanged: the ioctl is the write). */
static int op_chattr(const char *path)
{
	int fd = open(path, O_RDONLY), flags = 0, err = 0;

	if (fd < 0)
		return errno;
	if (ioctl(fd, 0x80086601 /* FS_IOC_GETFLAGS */, &flags) < 0 ||
	    ioctl(fd, 0x40086602 /* FS_IOC_SETFLAGS */, &flags) < 0)
		err = errno;
	close(fd);
	return err;
}
TESTOP_ARG("chattr", op_chattr);

/* An ioctl on a block device opened read-only, as blkid (reading) or losetup (changing). */
static int blk_ioctl(const char *path, unsigned long cmd)
{
	unsigned long long size;
	int fd = open(path, O_RDONLY), err = 0;

	if (fd < 0)
		return errno;
	if (ioctl(fd, cmd, &size) < 0)
		err = errno;
	close(fd);
	return err;
}

/* blk_flush DEV: BLKFLSBUF, its cached blocks written back and dropped. */
static int op_blk_flush(const char *path)
{
	return blk_ioctl(path, 0x1261 /* BLKFLSBUF */);
}
TESTOP_ARG("blk_flush", op_blk_flush);

/* blk_size DEV: BLKGETSIZE64. */
static int op_blk_size(const char *path)
{
	return blk_ioctl(path, 0x80081272 /* BLKGETSIZE64 */);
}
TESTOP_ARG("blk_size", op_blk_size);

/* mprotect_held PATH: descriptor 3 (opened for reading and writing before bootstrap) mapped
 * shared read-only, then made writable; PATH names it in the message only. */
static int op_mprotect_held(const char *path)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3, 0);
	int err = 0;

	(void)path;
	if (p == MAP_FAILED)
		return errno;
	if (mprotect(p, 4096, PROT_READ | PROT_WRITE) < 0)
		err = errno;
	munmap(p, 4096);
	return err;
}
TESTOP_ARG("mprotect_held", op_mprotect_held);

/* remount_data TARGET:DATA: mount(2) MS_REMOUNT of TARGET with the filesystem options DATA. */
static int op_remount_data(const char *arg)
{
	char buf[4096], *f[2];

	snprintf(buf, sizeof(buf), "%s", arg);
	fields(buf, f, 2);
	if (mount(NULL, f[0], NULL, MS_REMOUNT, f[1]) < 0)
		return errno;
	return 0;
}
TESTOP_ARG("remount_data", op_remount_data);
