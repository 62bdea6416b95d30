// SPDX-License-Identifier: GPL-2.0
/* Helpers of every protection's operations. */
#include "testops.h"

int sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* 0 on success, else errno. */
int open_close(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/*
 * Exec tests run in a child: 0 when the program ran and exited 0, the errno of a failed
 * exec, or 1000 + the exit status of a program that ran and failed (ld.so refusing).
 */
int in_child(void (*child)(void *), void *arg)
{
	int status, err = 0, pipefd[2];
	pid_t pid;

	/* The exec's errno comes back through a pipe that a successful exec closes. */
	if (pipe2(pipefd, O_CLOEXEC))
		return errno;
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		child(arg);
		err = errno;
		if (write(pipefd[1], &err, sizeof(err)) < 0)
			_exit(126);
		_exit(126);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &err, sizeof(err)) != sizeof(err))
		err = 0;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (err)
		return err;
	if (!WIFEXITED(status))
		return 1000 + 128;
	return WEXITSTATUS(status) ? 1000 + WEXITSTATUS(status) : 0;
}

char *const nop_argv[] = { "nop", NULL };
char *const no_env[] = { NULL };

/* A file descriptor holding a copy of `src`, made by `make` (memfd, O_TMPFILE...). */
int copy_into(int fd, const char *src)
{
	char buf[65536];
	int in = open(src, O_RDONLY);
	ssize_t n;

	if (in < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			return -1;
	close(in);
	return fd;
}

void exec_path(void *path)
{
	execve(path, nop_argv, no_env);
}

void exec_fd(void *fdp)
{
	syscall(SYS_execveat, *(int *)fdp, "", nop_argv, no_env, AT_EMPTY_PATH);
}
