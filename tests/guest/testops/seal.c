// SPDX-License-Identifier: GPL-2.0
/*
 * The seal's attacks: root taking bpflock's objects apart with bpf(2), ptrace and
 * unmounts (tests/guest/cases/seal.sh). Each is what bpftool, gdb or umount would do.
 */
#include "testops.h"
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/ptrace.h>
#include <sys/sysmacros.h>

static int obj_get(const char *path, __u32 flags)
{
	union bpf_attr attr = { .pathname = (uintptr_t)path, .file_flags = flags };

	return sys_bpf(BPF_OBJ_GET, &attr);
}

static int obj_get_closed(const char *path, __u32 flags)
{
	int fd = obj_get(path, flags);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* A:B, two paths of one argument, into a and b. */
static int two_paths(const char *arg, char *a, size_t size, const char **b)
{
	*b = strchr(arg, ':');
	if (!*b || (size_t)(*b - arg) >= size)
		return EINVAL;
	snprintf(a, size, "%.*s", (int)(*b - arg), arg);
	(*b)++;
	return 0;
}

/* A pinned map (or link) for writing, as `bpftool map update pinned PATH` asks it. */
static int op_obj_get_rw(const char *path)
{
	return obj_get_closed(path, 0);
}
TESTOP_ARG("obj_get_rw", op_obj_get_rw);

/* The same, read-only (BPF_F_RDONLY): what status needs. */
static int op_obj_get_ro(const char *path)
{
	return obj_get_closed(path, BPF_F_RDONLY);
}
TESTOP_ARG("obj_get_ro", op_obj_get_ro);

/*
 * MAP:EXE: adds EXE's identity to a pinned nslock `exempt` map (struct nslock_exec_key:
 * the kernel's dev, MAJOR << 20 | MINOR, and the inode): the policy rewritten to allow.
 */
static int op_exempt(const char *arg)
{
	char map[256];
	const char *exe;
	struct { __u32 dev, pad; __u64 ino; } key = { 0 };
	__u8 one = 1;
	union bpf_attr update = { 0 };
	struct stat st;
	int fd, ret;

	if (two_paths(arg, map, sizeof(map), &exe))
		return EINVAL;
	if (stat(exe, &st))
		return errno;
	key.dev = major(st.st_dev) << 20 | minor(st.st_dev);
	key.ino = st.st_ino;
	fd = obj_get(map, 0);
	if (fd < 0)
		return errno;
	update.map_fd = fd;
	update.key = (uintptr_t)&key;
	update.value = (uintptr_t)&one;
	ret = sys_bpf(BPF_MAP_UPDATE_ELEM, &update) ? errno : 0;
	close(fd);
	return ret;
}
TESTOP_ARG("exempt", op_exempt);

/*
 * Every link the kernel has, by id (BPF_LINK_GET_FD_BY_ID), detached (BPF_LINK_DETACH):
 * ok if one was detached; the first refusal to open one (EPERM), else the kernel's answer
 * to the detach (EOPNOTSUPP: it cannot detach LSM links), ENOENT where there is none.
 */
static int op_links_detach(void)
{
	union bpf_attr next = { 0 };
	int result = ENOENT, refused = 0;

	while (!sys_bpf(BPF_LINK_GET_NEXT_ID, &next)) {
		union bpf_attr get = { .link_id = next.next_id }, detach = { 0 };
		int fd;

		next.start_id = next.next_id;
		fd = sys_bpf(BPF_LINK_GET_FD_BY_ID, &get);
		if (fd < 0) {
			refused = refused ? refused : errno;
			continue;
		}
		detach.link_detach.link_fd = fd;
		if (!sys_bpf(BPF_LINK_DETACH, &detach))
			result = 0;
		else if (result)
			result = errno;
		close(fd);
	}
	return refused ? refused : result;
}
TESTOP("links_detach", op_links_detach);

/* Every program by id (BPF_PROG_GET_FD_BY_ID): the first refusal, else ok. */
static int op_progs_get(void)
{
	union bpf_attr next = { 0 };
	int refused = 0;

	while (!sys_bpf(BPF_PROG_GET_NEXT_ID, &next)) {
		union bpf_attr get = { .prog_id = next.next_id };
		int fd;

		next.start_id = next.next_id;
		fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);
		if (fd < 0)
			refused = refused ? refused : errno;
		else
			close(fd);
	}
	return refused;
}
TESTOP("progs_get", op_progs_get);

/* PID: attaching as a debugger does (PTRACE_SEIZE), then letting go. */
static int op_ptrace_attach(const char *pid)
{
	pid_t p = atoi(pid);

	if (ptrace(PTRACE_SEIZE, p, 0, 0))
		return errno;
	ptrace(PTRACE_DETACH, p, 0, 0);
	return 0;
}
TESTOP_ARG("ptrace_attach", op_ptrace_attach);

/* PID: its memory, for writing (/proc/PID/mem). */
static int op_proc_mem(const char *pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%s/mem", pid);
	return open_close(path, O_RDWR);
}
TESTOP_ARG("proc_mem", op_proc_mem);

/* PID: a copy of its descriptor 3 (pidfd_getfd). */
static int op_getfd(const char *pid)
{
	int pidfd = syscall(SYS_pidfd_open, atoi(pid), 0), fd;

	if (pidfd < 0)
		return errno;
	fd = syscall(SYS_pidfd_getfd, pidfd, 3, 0);
	close(pidfd);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}
TESTOP_ARG("getfd", op_getfd);

/* PATH: executes PATH (`PATH status`) under a tracer (PTRACE_TRACEME, as strace starts it). */
static int op_exec_traced(const char *path)
{
	pid_t child = fork();
	int status;

	if (child < 0)
		return errno;
	if (!child) {
		char *const argv[] = { (char *)path, "status", NULL };
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		dup2(devnull, 2);
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		execv(path, argv);
		_exit(100 + errno);
	}
	/* Stopped at the exec (SIGTRAP) where it succeeded: let it run to its end. */
	while (waitpid(child, &status, 0) == child && WIFSTOPPED(status))
		ptrace(PTRACE_CONT, child, 0, WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status));
	if (WIFEXITED(status) && WEXITSTATUS(status) >= 100)
		return WEXITSTATUS(status) - 100;
	return 0;
}
TESTOP_ARG("exec_traced", op_exec_traced);

/* PATH: opened for writing, not truncated. */
static int op_open_write(const char *path)
{
	return open_close(path, O_WRONLY);
}
TESTOP_ARG("open_write", op_open_write);

static int op_umount(const char *path)
{
	return umount2(path, 0) ? errno : 0;
}
TESTOP_ARG("umount", op_umount);

static int op_umount_lazy(const char *path)
{
	return umount2(path, MNT_DETACH) ? errno : 0;
}
TESTOP_ARG("umount_lazy", op_umount_lazy);

/*
 * shared:PATH or private:PATH: unmounts PATH from a new mount namespace whose mounts stay
 * peers of the system's (shared: an unmount propagates to them), or are made private.
 */
static int ns_umount(const char *arg, int flags)
{
	const char *path = strchr(arg, ':');

	if (!path)
		return EINVAL;
	if (unshare(CLONE_NEWNS))
		return errno;
	if (!strncmp(arg, "private:", 8) && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return errno;
	return umount2(path + 1, flags) ? errno : 0;
}

static int op_ns_umount(const char *arg)
{
	return ns_umount(arg, 0);
}
TESTOP_ARG("ns_umount", op_ns_umount);

static int op_ns_umount_lazy(const char *arg)
{
	return ns_umount(arg, MNT_DETACH);
}
TESTOP_ARG("ns_umount_lazy", op_ns_umount_lazy);

/* The names of the programs the kernel has, one line: what is attached, for a failure. */
static int op_progs_list(void)
{
	union bpf_attr next = { 0 };

	while (!sys_bpf(BPF_PROG_GET_NEXT_ID, &next)) {
		union bpf_attr get = { .prog_id = next.next_id }, by_fd = { 0 };
		struct bpf_prog_info info = { 0 };
		int fd;

		next.start_id = next.next_id;
		fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);
		if (fd < 0) {
			printf("%u:%s ", next.next_id, strerrorname_np(errno));
			continue;
		}
		by_fd.info.bpf_fd = fd;
		by_fd.info.info_len = sizeof(info);
		by_fd.info.info = (uintptr_t)&info;
		if (!sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &by_fd))
			printf("%u:%s ", next.next_id, info.name);
		close(fd);
	}
	printf("\n");
	return 0;
}
TESTOP("progs_list", op_progs_list);

/*
 * PARENT:CHILD: from a new mount namespace whose mounts stay peers of the system's, CHILD
 * made private (this namespace's copy only), then PARENT unmounted lazily: the unmount
 * still propagates through PARENT's parent's peers to the system's.
 */
static int op_ns_privchild_umount_lazy(const char *arg)
{
	char parent[256];
	const char *child;

	if (two_paths(arg, parent, sizeof(parent), &child))
		return EINVAL;
	if (unshare(CLONE_NEWNS))
		return errno;
	if (mount(NULL, child, NULL, MS_PRIVATE, NULL))
		return errno;
	return umount2(parent, MNT_DETACH) ? errno : 0;
}
TESTOP_ARG("ns_privchild_umount_lazy", op_ns_privchild_umount_lazy);

/* PATH: names PATH this process's executable (prctl PR_SET_MM_EXE_FILE, CRIU's restore).
 * The kernel itself refuses while the old executable is still mapped (EBUSY). */
static int op_set_exe(const char *path)
{
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0)
		return errno;
	ret = prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, fd, 0, 0) ? errno : 0;
	close(fd);
	return ret;
}
TESTOP_ARG("set_exe", op_set_exe);

/* FROM:TO, as `mount --move FROM TO` does it: mount(2) with MS_MOVE. */
static int op_mount_move(const char *arg)
{
	char from[256];
	const char *to;

	if (two_paths(arg, from, sizeof(from), &to))
		return EINVAL;
	return mount(from, to, NULL, MS_MOVE, NULL) ? errno : 0;
}
TESTOP_ARG("mount_move", op_mount_move);

/* FROM:TO with the new mount API: move_mount(2) with FLAGS. */
static int move_mount_flags(const char *arg, unsigned int flags)
{
	char from[256];
	const char *to;

	if (two_paths(arg, from, sizeof(from), &to))
		return EINVAL;
	return syscall(SYS_move_mount, AT_FDCWD, from, AT_FDCWD, to, flags) ? errno : 0;
}

static int op_move_mount(const char *arg)
{
	return move_mount_flags(arg, 0);
}
TESTOP_ARG("move_mount", op_move_mount);

/* FROM:TO: TO joins FROM's peer group (MOVE_MOUNT_SET_GROUP, 5.15+: CRIU's restore). */
static int op_set_group(const char *arg)
{
	return move_mount_flags(arg, 0x100);
}
TESTOP_ARG("set_group", op_set_group);

/* NEW:OLD, pivot_root(2) in the caller's (the system's) mount namespace. */
static int op_pivot_root(const char *arg)
{
	char new_root[256];
	const char *old;

	if (two_paths(arg, new_root, sizeof(new_root), &old))
		return EINVAL;
	return syscall(SYS_pivot_root, new_root, old) ? errno : 0;
}
TESTOP_ARG("pivot_root", op_pivot_root);

/*
 * UMOUNT:DIR: in a new mount namespace made private, UMOUNT unmounted lazily, then DIR
 * removed there. The kernel detaches whatever other namespaces have mounted on DIR
 * (detach_mounts), without asking sb_umount. The rmdir's errno.
 */
static int op_ns_rmdir(const char *arg)
{
	char umount_path[256];
	const char *dir;

	if (two_paths(arg, umount_path, sizeof(umount_path), &dir))
		return EINVAL;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return errno;
	if (umount2(umount_path, MNT_DETACH))
		return errno;
	return rmdir(dir) ? errno : 0;
}
TESTOP_ARG("ns_rmdir", op_ns_rmdir);

/* FROM:TO, mount --bind FROM TO. */
static int op_bind_mount(const char *arg)
{
	char from[256];
	const char *to;

	if (two_paths(arg, from, sizeof(from), &to))
		return EINVAL;
	return mount(from, to, NULL, MS_BIND, NULL) ? errno : 0;
}
TESTOP_ARG("bind_mount", op_bind_mount);

/*
 * Run as /run/initramfs/shutdown: at poweroff systemd-shutdown, pid 1, switch_roots into
 * /run/initramfs and executes it (tests/boot, scenarios exitrd and sealed). Code from a
 * writable /run running as pid 1 after moving the system's mounts: it says so on the
 * serial console, and powers off as the real one would.
 */
int exitrd_payload(void)
{
	char line[64];
	int fd = open("/dev/ttyS0", O_WRONLY | O_NOCTTY);

	if (fd < 0 && mknod("/payload-tty", S_IFCHR | 0600, makedev(4, 64)) == 0)
		fd = open("/payload-tty", O_WRONLY | O_NOCTTY);
	if (fd >= 0) {
		int n = snprintf(line, sizeof(line), "\nBOOTTEST PAYLOAD pid %d\n", (int)getpid());

		if (write(fd, line, n) != n)
			return 1;
	}
	sync();
	reboot(RB_POWER_OFF);
	return 1;
}
