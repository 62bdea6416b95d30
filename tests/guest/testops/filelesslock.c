// SPDX-License-Identifier: GPL-2.0
/* filelesslock's operations: code from files with and without a name. */
#include "testops.h"

static int op_exec_file(void)
{
	return in_child(exec_path, "/bin/nop");
}

static int exec_new_fd(int fd, const char *src)
{
	int ret;

	if (fd < 0 || copy_into(fd, src) < 0)
		return errno;
	ret = in_child(exec_fd, &fd);
	close(fd);
	return ret;
}

static int op_memfd_exec(void)
{
	return exec_new_fd(memfd_create("payload", 0), "/bin/nop");
}

/*
 * A program on a tmpfs made with fsopen/fsmount and never attached (no move_mount): its
 * link count is 1, and no task can reach it by any name.
 */
static int op_detached_exec(void)
{
	int fs = syscall(SYS_fsopen, "tmpfs", 0), mnt, fd, ret;

	if (fs < 0)
		return errno;
	if (syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0) < 0)
		return errno;
	mnt = syscall(SYS_fsmount, fs, 0, 0);
	close(fs);
	if (mnt < 0)
		return errno;
	fd = openat(mnt, "payload", O_CREAT | O_WRONLY, 0755);
	if (fd < 0 || copy_into(fd, "/bin/nop") < 0)
		return errno;
	close(fd);
	fd = openat(mnt, "payload", O_PATH);
	if (fd < 0)
		return errno;
	ret = in_child(exec_fd, &fd);
	close(fd);
	close(mnt);
	return ret;
}

static int op_memfd_script(void)
{
	int fd = memfd_create("script", 0);
	const char script[] = "#!/bin/sh\nexit 0\n";

	if (fd < 0 || write(fd, script, sizeof(script) - 1) < 0)
		return errno;
	return in_child(exec_fd, &fd);
}

static int op_tmpfile_exec(void)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR, 0755);
	int ret;

	if (fd < 0 || copy_into(fd, "/bin/nop") < 0)
		return errno;
	/* Reopen read-only: exec refuses a file open for writing (ETXTBSY). */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int ro = open(path, O_RDONLY);
	close(fd);
	if (ro < 0)
		return errno;
	ret = in_child(exec_fd, &ro);
	close(ro);
	return ret;
}

static int op_deleted_exec(void)
{
	int fd, out = open("/tmp/deleted-nop", O_CREAT | O_TRUNC | O_WRONLY, 0755), ret;

	if (out < 0 || copy_into(out, "/bin/nop") < 0)
		return errno;
	close(out);
	fd = open("/tmp/deleted-nop", O_RDONLY);
	unlink("/tmp/deleted-nop");
	if (fd < 0)
		return errno;
	ret = in_child(exec_fd, &fd);
	close(fd);
	return ret;
}

/* ld.so maps the program itself: no execve of it, only mmap(PROT_EXEC). */
/* The dynamic loader, run as a program (the ld.so cases). */
#if defined(__aarch64__)
#define LDSO "/lib/ld-linux-aarch64.so.1"
#else
#define LDSO "/lib64/ld-linux-x86-64.so.2"
#endif

static void exec_ldso(void *target)
{
	char *const argv[] = { "ld.so", target, NULL };
	int null = open("/dev/null", O_WRONLY);

	/* ld.so explains its refusal on stderr; the exit status says it. */
	dup2(null, 2);
	execve(LDSO, argv, no_env);
}

static int op_ldso_file(void)
{
	return in_child(exec_ldso, "/bin/nop-dyn");
}

static int op_ldso_memfd(void)
{
	int fd = memfd_create("payload", 0), ret;
	char path[64];

	if (fd < 0 || copy_into(fd, "/bin/nop-dyn") < 0)
		return errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = in_child(exec_ldso, path);
	close(fd);
	return ret;
}

static int op_mprotect_memfd(void)
{
	int fd = memfd_create("code", 0);
	void *p;

	if (fd < 0 || ftruncate(fd, 4096))
		return errno;
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return errno;
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC))
		return errno;
	munmap(p, 4096);
	close(fd);
	return 0;
}

static int op_exec_path(const char *path)
{
	return in_child(exec_path, (void *)path);
}

TESTOP("exec_file", op_exec_file);
TESTOP("memfd_exec", op_memfd_exec);
TESTOP("detached_exec", op_detached_exec);
TESTOP("memfd_script", op_memfd_script);
TESTOP("tmpfile_exec", op_tmpfile_exec);
TESTOP("deleted_exec", op_deleted_exec);
TESTOP("ldso_file", op_ldso_file);
TESTOP("ldso_memfd", op_ldso_memfd);
TESTOP("mprotect_memfd", op_mprotect_memfd);
TESTOP_ARG("exec_path", op_exec_path);
