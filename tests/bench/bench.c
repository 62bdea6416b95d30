// SPDX-License-Identifier: GPL-2.0
/*
 * Microbenchmarks of the syscalls bpflock's hooks sit on, run in the QEMU guest under
 * `-icount shift=0,sleep=off`: guest time advances 1 ns per guest instruction, so these
 * figures count instructions and hold still whatever the host is doing.
 *
 *   bench CONFIG [OP...]   prints "BENCH CONFIG OP NS_PER_OP" for each operation (or each OP)
 *   bench time LABEL CMD...   prints "BENCH-TIME LABEL NS EXIT_STATUS"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <sys/io.h>
#endif
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PORT 20000

static int map_fd, listen_fd, file_fd, module_fd;
static struct sockaddr_in addr;
static void *anon_page;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int op_open_close(void)
{
	int fd = open("/init", O_RDONLY);

	return fd < 0 ? -1 : close(fd);
}

/* A path every confinement of the comparison refuses (none names it); opened like open_close. */
static int op_open_denied(void)
{
	int fd = open("/bench/denied", O_RDONLY);

	return fd < 0 ? -1 : close(fd);
}

static int op_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return pid < 0 ? -1 : waitpid(pid, NULL, 0) < 0 ? -1 : 0;
}

static int op_execve(void)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/nop", "nop", NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return status == 0 ? 0 : -1;
}

static int listening;

static int op_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));

	if (!ret)
		close(accept(listen_fd, NULL, NULL));
	close(fd);
	return ret;
}

static int op_bpf_lookup(void)
{
	union bpf_attr attr = { 0 };
	unsigned int key = 0, value;

	attr.map_fd = map_fd;
	attr.key = (unsigned long)&key;
	attr.value = (unsigned long)&value;
	syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr));
	return 0; /* its outcome is not the point */
}

/* ioperm(on) asks security_locked_down(LOCKDOWN_IOPORT); off does not. */
#if defined(__x86_64__)
static int op_ioperm(void)
{
	ioperm(0x80, 1, 1);
	ioperm(0x80, 1, 0);
	return 0; /* its outcome is not the point */
}
#endif

/* fslock's file_permission hook on the fast path: one byte written to a tmpfs file (a write
 * that is no tunable and not on a locked root), and read back (reads return at the mask). */
static int write_fd;

static int op_write(void)
{
	char byte = 'x';

	pwrite(write_fd, &byte, 1, 0);
	pread(write_fd, &byte, 1, 0);
	return 0; /* its outcome is not the point */
}

/* filelesslock's mmap_file hook: a file mapped (not executable) and unmapped. */
static int op_mmap_file(void)
{
	munmap(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, file_fd, 0), 4096);
	return 0; /* its outcome is not the point */
}

/* filelesslock's file_mprotect hook: an anonymous page made writable and back. */
static int op_mprotect(void)
{
	mprotect(anon_page, 4096, PROT_READ | PROT_WRITE);
	mprotect(anon_page, 4096, PROT_READ);
	return 0; /* its outcome is not the point */
}

/* kmodlock's hooks on a module load: 4 KiB that are not a module, handed over as a file
 * (kernel_read_file) and from memory (kernel_load_data). The kernel reads them, asks
 * about the missing signature (locked_down), and refuses them as no ELF: the hooks'
 * cost without a real load, whose RCU waits would drown it. */
static char not_a_module[4096];

static int op_init_module(void)
{
	syscall(SYS_finit_module, module_fd, "", 0);
	syscall(SYS_init_module, not_a_module, sizeof(not_a_module), "");
	return 0; /* its outcome is not the point */
}

static void setup(void)
{
	union bpf_attr attr = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
				.max_entries = 1 };
	int one = 1;

	map_fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* A fixed port, the one the confinements' bind and connect rules name (Landlock's are
	 * ports); the connections of an earlier run may still hold it in TIME_WAIT. */
	addr.sin_port = htons(BENCH_PORT);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* The connect case needs it: refused (a jail without a bind rule), connect measures a refusal. */
	listening = !bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) && !listen(listen_fd, 128);
	file_fd = open("/init", O_RDONLY);
	write_fd = open("/tmp/bench-write", O_RDWR | O_CREAT | O_TRUNC, 0600);
	anon_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Read-only: the kernel refuses to load a file open for writing before any hook. */
	module_fd = open("/tmp/not-a-module", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	write(module_fd, not_a_module, sizeof(not_a_module));
	close(module_fd);
	module_fd = open("/tmp/not-a-module", O_RDONLY);
}

static const struct {
	const char *name;
	int (*run)(void);
	int iterations;
} ops[] = {
	{ "open_close", op_open_close, 20000 },
	{ "open_denied", op_open_denied, 20000 },
	{ "fork", op_fork, 300 },
	{ "execve", op_execve, 200 },
	{ "connect", op_connect, 2000 },
	{ "bpf_lookup", op_bpf_lookup, 20000 },
#if defined(__x86_64__)
	{ "ioperm", op_ioperm, 20000 },
#endif
	{ "write_read", op_write, 20000 },
	{ "mmap_file", op_mmap_file, 20000 },
	{ "mprotect", op_mprotect, 20000 },
	{ "init_module", op_init_module, 2000 },
};

static int named(const char *name, int n, char **names)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	/* bench time LABEL CMD...: runs CMD (its output discarded), prints "BENCH-TIME LABEL NS EXIT CPU_NS" (under
	 * icount, guest time while it ran: bpflock bootstrap's full duration). */
	if (argc > 3 && !strcmp(argv[1], "time")) {
		unsigned long long start = now_ns();
		int status = 0;
		pid_t pid = fork();

		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			dup2(null, 2);
			execvp(argv[3], argv + 3);
			_exit(127);
		}
		struct rusage usage;

		wait4(pid, &status, 0, &usage);
		/* And its CPU time (user and system, at the tick's resolution): the rest of the
		 * guest time is waiting, which -icount,sleep=off skips through but counts. */
		printf("BENCH-TIME %s %llu %d %llu\n", argv[2], now_ns() - start, WEXITSTATUS(status),
		       (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000ULL +
			       (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000ULL);
		return 0;
	}
	/* bench mkfiles DIR N: N empty files DIR/f0.. (the enrolled executables of the scaling runs). */
	if (argc == 4 && !strcmp(argv[1], "mkfiles")) {
		char path[256];

		for (int i = 0, n = atoi(argv[3]); i < n; i++) {
			snprintf(path, sizeof(path), "%s/f%d", argv[2], i);
			close(open(path, O_WRONLY | O_CREAT, 0755));
		}
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: bench CONFIG [OP...]\n");
		return 2;
	}
	setup();
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		unsigned long long start;
		int n = ops[i].iterations;

		if (argc > 2 && !named(ops[i].name, argc - 2, argv + 2))
			continue;
		if (ops[i].run == op_connect && !listening) {
			printf("BENCH-ERROR %s connect: no listener (bind or listen refused)\n", argv[1]);
			continue;
		}
		/* What is measured must be what it says: an allowed operation that is refused (a
		 * confinement's rule missing) would measure a refusal. open_denied is refused by
		 * the confinements and allowed without one: its outcome goes to the report. */
		if (ops[i].run == op_open_denied)
			printf("BENCH-OUTCOME %s open_denied %s\n", argv[1], ops[i].run() ? "refused" : "allowed");
		else if (ops[i].run())
			printf("BENCH-ERROR %s %s: refused (%s)\n", argv[1], ops[i].name, strerror(errno));
		for (int w = 0; w < n / 10; w++)
			ops[i].run();
		start = now_ns();
		for (int k = 0; k < n; k++)
			ops[i].run();
		printf("BENCH %s %s %.1f\n", argv[1], ops[i].name, (double)(now_ns() - start) / n);
		fflush(stdout);
	}
	return 0;
}
