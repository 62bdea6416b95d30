// SPDX-License-Identifier: GPL-2.0
/*
 * jailops: one attack (or its harmless control) for the jail cases; prints "ok" or the
 * errno name, like testops. Built static.
 *
 *   jailops read PATH | write PATH | append PATH | mmap_exec PATH | exec PATH [ARG...] (EXIT<n>: ran, failed)
 *   jailops thread_read PATH          the open happens in a new thread
 *   jailops link SRC DST | rename SRC DST | unlink PATH | rmdir PATH | symlink TARGET LINK
 *   jailops chmod PATH OCTAL | chown PATH UID | truncate PATH LEN
 *   jailops connect4 IP PORT | connect6 IP PORT | udp4 IP PORT | udp6 IP PORT   (tcp/udp)
 *   jailops bind4 PORT | serve PORT | fetch PORT
 *   jailops setuid UID | ptrace PID | traceme | mount DIR | unix PATH | setxattr PATH NAME VALUE
 *   jailops setgid GID | setgroups | sethostname NAME | kill PID | kill_child
 *   jailops mkfifo PATH | mprotect_exec PATH
 *   jailops fsetown PID|self | fsetown_ex PID | fiosetown PID   (the owner that gets SIGIO)
 *   jailops tty_async fcntl|ioctl     O_ASYNC on a terminal (it names its foreground group the owner)
 *   jailops unix_serve stream|dgram PATH|@NAME (serves until killed) | unix_connect stream|dgram PATH|@NAME
 * Changing what a path means, then reading FILE:
 *   jailops userns | chroot_read DIR FILE | userns_chroot_read DIR FILE
 *   jailops open_tree_read DIR FILE (a detached copy of DIR) | fsmount_read FSTYPE FILE (never attached)
 *   jailops handle_read MOUNT PATH    open_by_handle_at(PATH's handle) through the mount MOUNT
 * Sockets judged by what they are:
 *   jailops udp4_unspec IP PORT | bind4_unspec PORT | listen_any | socket FAMILY TYPE PROTOCOL
 * connect/fetch: a refused connection (ECONNREFUSED) or an unreachable network means the
 * jail let it through; EPERM is the jail.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sched.h>
#include <grp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

static int err(int r) { return r < 0 ? errno : 0; }

/* An AF_UNIX address: a path, or an abstract name written @NAME. */
static socklen_t unix_address(struct sockaddr_un *sa, const char *name)
{
	size_t n = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n >= sizeof(sa->sun_path))
		n = sizeof(sa->sun_path) - 1;
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@')
		sa->sun_path[0] = 0;
	return offsetof(struct sockaddr_un, sun_path) + n + (name[0] != '@');
}

static int unix_type(const char *type) { return strcmp(type, "dgram") ? SOCK_STREAM : SOCK_DGRAM; }

static int open_close(const char *path, int flags)
{
	int fd = open(path, flags, 0600);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void *thread_open(void *path)
{
	return (void *)(long)open_close(path, O_RDONLY);
}

static int sockaddr_of(int family, const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*len = sizeof(*a);
		return inet_pton(AF_INET, ip, &a->sin_addr) == 1 ? 0 : EINVAL;
	}
	struct sockaddr_in6 *a = (void *)ss;

	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	*len = sizeof(*a);
	return inet_pton(AF_INET6, ip, &a->sin6_addr) == 1 ? 0 : EINVAL;
}

static int connect_to(int family, int type, const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, type, 0), r;

	if (fd < 0)
		return errno;
	if ((r = sockaddr_of(family, ip, port, &ss, &len)))
		return r;
	if (type == SOCK_DGRAM)
		r = err(sendto(fd, "x", 1, 0, (void *)&ss, len));
	else
		r = err(connect(fd, (void *)&ss, len));
	close(fd);
	/* Through the jail; nobody listening, or no route in the guest. */
	if (r == ECONNREFUSED || r == ENETUNREACH || r == EHOSTUNREACH || r == EADDRNOTAVAIL)
		r = 0;
	return r;
}

static int serve(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&a, sizeof(a)) || listen(fd, 1))
		return errno;
	if (fork() == 0) {
		/* Lets the caller's $(...) finish: only the parent's "ok" goes there. */
		int null = open("/dev/null", O_RDWR), c;

		dup2(null, 1);
		dup2(null, 2);
		c = accept(fd, NULL, NULL);

		if (c >= 0)
			write(c, "hello\n", 6);
		_exit(0);
	}
	close(fd);
	return 0;
}

static int fetch(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[16] = "";
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (connect(fd, (void *)&a, sizeof(a)))
		return errno;
	if (read(fd, buf, sizeof(buf) - 1) <= 0 || strcmp(buf, "hello\n"))
		return EIO;
	close(fd);
	return 0;
}

/* What the jailed task reads once it has changed what names mean: FILE, relative to dirfd. */
static int read_at(int dirfd, const char *file)
{
	int fd = openat(dirfd, file, O_RDONLY);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int chroot_read(const char *dir, const char *file, int userns)
{
	int status, pipefd[2], r = 0;
	pid_t pid;

	/* In a child: the caller's root stays where it was. */
	pipe(pipefd);
	pid = fork();
	if (pid == 0) {
		r = userns ? err(unshare(CLONE_NEWUSER)) : 0;
		if (!r)
			r = err(chroot(dir));
		if (!r)
			r = err(chdir("/"));
		if (!r)
			r = read_at(AT_FDCWD, file);
		write(pipefd[1], &r, sizeof(r));
		_exit(0);
	}
	read(pipefd[0], &r, sizeof(r));
	waitpid(pid, &status, 0);
	return r;
}

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#define FSCONFIG_CMD_CREATE 6

static int open_tree_read(const char *dir, const char *file)
{
	int tree = syscall(SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE), r;

	if (tree < 0)
		return errno;
	r = read_at(tree, file);
	close(tree);
	return r;
}

static int fsmount_read(const char *fstype, const char *file)
{
	int fs = syscall(SYS_fsopen, fstype, 0), mnt, r;

	if (fs < 0)
		return errno;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return errno;
	mnt = syscall(SYS_fsmount, fs, 0, 0);
	close(fs);
	if (mnt < 0)
		return errno;
	r = read_at(mnt, file);
	close(mnt);
	return r;
}

static int handle_read(const char *mount_dir, const char *path)
{
	struct {
		struct file_handle h;
		unsigned char bytes[128];
	} fh = { .h.handle_bytes = 128 };
	int mount_id, mfd, fd;

	if (name_to_handle_at(AT_FDCWD, path, &fh.h, &mount_id, 0))
		return errno;
	mfd = open(mount_dir, O_RDONLY | O_DIRECTORY);
	if (mfd < 0)
		return errno;
	fd = open_by_handle_at(mfd, &fh.h, O_RDONLY);
	close(mfd);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int family_of(const char *name)
{
	const struct { const char *name; int af; } families[] = {
		{ "inet", AF_INET }, { "inet6", AF_INET6 }, { "unix", AF_UNIX },
		{ "netlink", AF_NETLINK }, { "packet", AF_PACKET }, { "vsock", AF_VSOCK },
	};

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (!strcmp(families[i].name, name))
			return families[i].af;
	return atoi(name);
}

static int type_of(const char *name)
{
	if (!strcmp(name, "stream"))
		return SOCK_STREAM;
	if (!strcmp(name, "dgram"))
		return SOCK_DGRAM;
	if (!strcmp(name, "raw"))
		return SOCK_RAW;
	return atoi(name);
}

static int run(int argc, char **argv)
{
	const char *op = argv[1], *a = argc > 2 ? argv[2] : "", *b = argc > 3 ? argv[3] : "";

	if (!strcmp(op, "read"))
		return open_close(a, O_RDONLY);
	if (!strcmp(op, "write"))
		return open_close(a, O_WRONLY | O_CREAT);
	if (!strcmp(op, "append"))
		return open_close(a, O_WRONLY | O_APPEND);
	if (!strcmp(op, "thread_read")) {
		pthread_t t;
		void *r;

		pthread_create(&t, NULL, thread_open, (void *)a);
		pthread_join(t, &r);
		return (int)(long)r;
	}
	if (!strcmp(op, "mmap_exec")) {
		int fd = open(a, O_RDONLY);
		void *p;

		if (fd < 0)
			return errno;
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		close(fd);
		return p == MAP_FAILED ? errno : 0;
	}
	if (!strcmp(op, "exec")) {
		int status, pipefd[2], r = 0;
		pid_t pid;

		pipe2(pipefd, O_CLOEXEC);
		pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 2);
			execv(a, argv + 2);
			r = errno;
			write(pipefd[1], &r, sizeof(r));
			_exit(127);
		}
		close(pipefd[1]);
		if (read(pipefd[0], &r, sizeof(r)) != sizeof(r))
			r = 0;
		waitpid(pid, &status, 0);
		if (!r && WIFEXITED(status) && WEXITSTATUS(status))
			r = 1000 + WEXITSTATUS(status); /* ran, and failed: EXIT<status> */
		return r;
	}
	if (!strcmp(op, "chmod"))
		return err(chmod(a, strtol(b, NULL, 8)));
	if (!strcmp(op, "chown"))
		return err(chown(a, atoi(b), -1));
	if (!strcmp(op, "truncate"))
		return err(truncate(a, atoi(b)));
	if (!strcmp(op, "setxattr"))
		return err(setxattr(a, b, argv[4], strlen(argv[4]), 0));
	if (!strcmp(op, "link"))
		return err(link(a, b));
	if (!strcmp(op, "rename"))
		return err(rename(a, b));
	if (!strcmp(op, "unlink"))
		return err(unlink(a));
	if (!strcmp(op, "rmdir"))
		return err(rmdir(a));
	if (!strcmp(op, "symlink"))
		return err(symlink(a, b));
	if (!strcmp(op, "connect4"))
		return connect_to(AF_INET, SOCK_STREAM, a, atoi(b));
	if (!strcmp(op, "connect6"))
		return connect_to(AF_INET6, SOCK_STREAM, a, atoi(b));
	if (!strcmp(op, "udp4"))
		return connect_to(AF_INET, SOCK_DGRAM, a, atoi(b));
	if (!strcmp(op, "udp6"))
		return connect_to(AF_INET6, SOCK_DGRAM, a, atoi(b));
	if (!strcmp(op, "bind4")) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(a)) };
		int fd = socket(AF_INET, SOCK_STREAM, 0), r = err(bind(fd, (void *)&sa, sizeof(sa)));

		close(fd);
		return r;
	}
	if (!strcmp(op, "serve"))
		return serve(atoi(a));
	if (!strcmp(op, "fetch"))
		return fetch(atoi(a));
	if (!strcmp(op, "setuid"))
		return err(setuid(atoi(a)));
	if (!strcmp(op, "ptrace")) {
		pid_t pid = atoi(a);

		if (ptrace(PTRACE_SEIZE, pid, 0, 0))
			return errno;
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return 0;
	}
	if (!strcmp(op, "traceme")) {
		int status, pipefd[2], r = 0;
		pid_t pid;

		pipe(pipefd);
		pid = fork();
		if (pid == 0) {
			r = err(ptrace(PTRACE_TRACEME, 0, 0, 0));
			write(pipefd[1], &r, sizeof(r));
			_exit(0);
		}
		read(pipefd[0], &r, sizeof(r));
		waitpid(pid, &status, 0);
		return r;
	}
	if (!strcmp(op, "mount"))
		return err(mount("none", a, "tmpfs", 0, NULL)) ?: err(umount(a));
	if (!strcmp(op, "unix")) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_DGRAM, 0), r;

		strncpy(sa.sun_path, a, sizeof(sa.sun_path) - 1);
		r = err(connect(fd, (void *)&sa, sizeof(sa)));
		close(fd);
		return r == ECONNREFUSED || r == ENOENT ? 0 : r;
	}
	if (!strcmp(op, "setgid"))
		return err(setgid(atoi(a)));
	if (!strcmp(op, "setgroups")) {
		gid_t groups[1] = { 1000 };

		return err(setgroups(1, groups));
	}
	if (!strcmp(op, "sethostname"))
		return err(sethostname(a, strlen(a)));
	if (!strcmp(op, "kill"))
		return err(kill(atoi(a), SIGTERM));
	if (!strcmp(op, "kill_child")) {
		pid_t pid = fork();
		int status, r;

		if (pid == 0) {
			pause();
			_exit(0);
		}
		r = err(kill(pid, SIGKILL));
		waitpid(pid, &status, 0);
		return r;
	}
	if (!strcmp(op, "fsetown") || !strcmp(op, "fsetown_ex") || !strcmp(op, "fiosetown")) {
		pid_t pid = strcmp(a, "self") ? atoi(a) : getpid();
		struct f_owner_ex owner = { F_OWNER_PID, pid };
		int sv[2], r;

		signal(SIGIO, SIG_IGN);
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return errno;
		if (!strcmp(op, "fsetown"))
			r = err(fcntl(sv[0], F_SETOWN, pid));
		else if (!strcmp(op, "fsetown_ex"))
			r = err(fcntl(sv[0], F_SETOWN_EX, &owner));
		else
			r = err(ioctl(sv[0], FIOSETOWN, &pid));
		/* Data arriving on an O_ASYNC socket: the kernel signals its owner. */
		if (!r && !(r = err(fcntl(sv[0], F_SETFL, O_ASYNC))))
			r = write(sv[1], "x", 1) == 1 ? 0 : errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (!strcmp(op, "tty_async")) {
		int master = posix_openpt(O_RDWR | O_NOCTTY), slave, on = 1, r;

		if (master < 0 || grantpt(master) || unlockpt(master))
			return errno;
		slave = open(ptsname(master), O_RDWR | O_NOCTTY);
		if (slave < 0)
			return errno;
		signal(SIGIO, SIG_IGN);
		r = strcmp(a, "ioctl") ? err(fcntl(slave, F_SETFL, O_ASYNC)) : err(ioctl(slave, FIOASYNC, &on));
		close(slave);
		close(master);
		return r;
	}
	if (!strcmp(op, "unix_serve") || !strcmp(op, "unix_connect")) {
		struct sockaddr_un sa;
		socklen_t len = unix_address(&sa, b);
		int type = unix_type(a), fd = socket(AF_UNIX, type, 0), r;

		if (fd < 0)
			return errno;
		if (!strcmp(op, "unix_connect")) {
			r = err(connect(fd, (void *)&sa, len));
			if (!r && type == SOCK_DGRAM)
				r = send(fd, "x", 1, 0) == 1 ? 0 : errno;
			close(fd);
			return r;
		}
		if (bind(fd, (void *)&sa, len) || (type == SOCK_STREAM && listen(fd, 16)))
			return errno;
		printf("ok\n");
		fflush(stdout);
		for (;;) {
			char buf[16];
			int c;

			if (type == SOCK_DGRAM) {
				recv(fd, buf, sizeof(buf), 0);
				continue;
			}
			c = accept(fd, NULL, NULL);
			if (c >= 0)
				close(c);
		}
	}
	if (!strcmp(op, "mkfifo"))
		return err(mkfifo(a, 0600));
	if (!strcmp(op, "mprotect_exec")) {
		int fd = open(a, O_RDONLY);
		void *p;

		if (fd < 0)
			return errno;
		p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (p == MAP_FAILED)
			return errno;
		return err(mprotect(p, 4096, PROT_READ | PROT_EXEC));
	}
	if (!strcmp(op, "userns")) {
		pid_t pid = fork();
		int status;

		/* In a child: the caller stays in its namespace. */
		if (pid == 0)
			_exit(unshare(CLONE_NEWUSER) ? errno : 0);
		waitpid(pid, &status, 0);
		return WEXITSTATUS(status);
	}
	if (!strcmp(op, "chroot_read"))
		return chroot_read(a, b, 0);
	if (!strcmp(op, "userns_chroot_read"))
		return chroot_read(a, b, 1);
	if (!strcmp(op, "open_tree_read"))
		return open_tree_read(a, b);
	if (!strcmp(op, "fsmount_read"))
		return fsmount_read(a, b);
	if (!strcmp(op, "handle_read"))
		return handle_read(a, b);
	if (!strcmp(op, "udp4_unspec")) {
		/* An IPv4 socket reads an AF_UNSPEC address as IPv4: the kernel sends to it. */
		struct sockaddr_in sa = { .sin_family = AF_UNSPEC, .sin_port = htons(atoi(b)) };
		int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

		inet_pton(AF_INET, a, &sa.sin_addr);
		r = err(sendto(fd, "x", 1, 0, (void *)&sa, sizeof(sa)));
		close(fd);
		return r == ECONNREFUSED ? 0 : r;
	}
	if (!strcmp(op, "bind4_unspec")) {
		/* AF_UNSPEC with INADDR_ANY binds an IPv4 socket (compatibility). */
		struct sockaddr_in sa = { .sin_family = AF_UNSPEC, .sin_port = htons(atoi(a)) };
		int fd = socket(AF_INET, SOCK_STREAM, 0), r = err(bind(fd, (void *)&sa, sizeof(sa)));

		close(fd);
		return r;
	}
	if (!strcmp(op, "listen_any")) {
		/* listen() without bind(): the kernel binds an ephemeral port and serves on it. */
		int fd = socket(AF_INET, SOCK_STREAM, 0), r = err(listen(fd, 1));

		close(fd);
		return r;
	}
	if (!strcmp(op, "socket")) {
		int fd = socket(family_of(a), type_of(b), atoi(argv[4]));

		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	}
	fprintf(stderr, "jailops: unknown operation %s\n", op);
	return -1;
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: jailops OP [ARG...]\n");
		return 2;
	}
	r = run(argc, argv);
	if (r < 0)
		return 2;
	if (!r) {
		puts("ok");
		return 0;
	}
	if (r >= 1000)
		printf("EXIT%d\n", r - 1000);
	else
		puts(strerrorname_np(r) ? strerrorname_np(r) : "E?");
	return 1;
}
