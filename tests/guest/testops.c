// SPDX-License-Identifier: GPL-2.0
/*
 * testops: performs one operation a bpflock protection governs and reports the outcome,
 * for the guest test cases. Built static; runs in the initial pid namespace or inside
 * `unshare --pid --fork`.
 *
 *   testops OP            prints "ok" (exit 0) or the errno name (exit 1)
 *   testops repeat OP F   repeats OP until file F exists; prints "attempts N ok M"
 *   testops times N OP    performs OP N times; prints "attempts N ok M"
 *
 * Every operation is harmless when allowed: reads, an ioperm() that is undone, a kexec
 * unload with nothing loaded, BPF objects that are closed at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <sys/io.h>
#endif
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* 0 on success, else errno. */
static int open_close(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int op_map_create(void)
{
	union bpf_attr attr = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
				.max_entries = 1 };
	int fd = sys_bpf(BPF_MAP_CREATE, &attr);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Root rewriting a pinned map's first entry with zeros (bpftool map update, by hand). */
static int op_map_zero(const char *path)
{
	union bpf_attr get = { .pathname = (uintptr_t)path };
	struct bpf_map_info info = { 0 };
	union bpf_attr by_fd = { 0 }, update = { 0 };
	static char zeros[1 << 16];
	__u32 key = 0;
	int fd = sys_bpf(BPF_OBJ_GET, &get), ret;

	if (fd < 0)
		return errno;
	by_fd.info.bpf_fd = fd;
	by_fd.info.info_len = sizeof(info);
	by_fd.info.info = (uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &by_fd) || info.value_size > sizeof(zeros)) {
		close(fd);
		return EINVAL;
	}
	update.map_fd = fd;
	update.key = (uintptr_t)&key;
	update.value = (uintptr_t)zeros;
	ret = sys_bpf(BPF_MAP_UPDATE_ELEM, &update) ? errno : 0;
	close(fd);
	return ret;
}

static int load_prog(int type, const struct bpf_insn *insns, int n)
{
	union bpf_attr attr = { 0 };
	int fd;

	attr.prog_type = type;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = n;
	attr.license = (uintptr_t)"GPL";
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int op_prog_load(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 }, /* r0 = 0 */
		{ .code = BPF_JMP | BPF_EXIT },
	};
	return load_prog(BPF_PROG_TYPE_SOCKET_FILTER, insns, 2);
}

/* A kprobe program calling bpf_probe_write_user(0, fp-8, 8): the verifier asks
 * security_locked_down(LOCKDOWN_BPF_WRITE_USER) for the helper; when that is denied
 * the helper is unknown and the load fails with EINVAL. */
static int op_bpf_write(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = 10, .off = -8, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 1, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 2, .src_reg = 10 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 2, .imm = -8 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 3, .imm = 8 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_probe_write_user },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	return load_prog(BPF_PROG_TYPE_KPROBE, insns, sizeof(insns) / sizeof(insns[0]));
}

/* The smallest valid BTF: one 32-bit int named "int". */
static int op_btf_load(void)
{
	struct {
		struct btf_header hdr;
		struct btf_type type;
		uint32_t encoding;
		char strings[5];
	} __attribute__((packed)) blob = {
		.hdr = { .magic = BTF_MAGIC, .version = BTF_VERSION, .hdr_len = sizeof(struct btf_header),
			 .type_off = 0, .type_len = sizeof(struct btf_type) + 4,
			 .str_off = sizeof(struct btf_type) + 4, .str_len = 5 },
		.type = { .name_off = 1, .info = BTF_KIND_INT << 24, .size = 4 },
		.encoding = 32,
		.strings = "\0int",
	};
	union bpf_attr attr = { 0 };
	int fd;

	attr.btf = (uintptr_t)&blob;
	attr.btf_size = sizeof(blob);
	fd = sys_bpf(BPF_BTF_LOAD, &attr);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

#if defined(__x86_64__)
static int op_ioperm(void)
{
	if (ioperm(0x80, 1, 1))
		return errno;
	ioperm(0x80, 1, 0);
	return 0;
}
#endif

static int op_kexec(void)
{
	/* No segments: unloads the (absent) crash-free kexec image. */
	if (syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL))
		return errno;
	return 0;
}

/*
 * Exec tests run in a child: 0 when the program ran and exited 0, the errno of a failed
 * exec, or 1000 + the exit status of a program that ran and failed (ld.so refusing).
 */
static int in_child(void (*child)(void *), void *arg)
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

static char *const nop_argv[] = { "nop", NULL };
static char *const no_env[] = { NULL };

/* A file descriptor holding a copy of `src`, made by `make` (memfd, O_TMPFILE...). */
static int copy_into(int fd, const char *src)
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

static void exec_path(void *path)
{
	execve(path, nop_argv, no_env);
}

static void exec_fd(void *fdp)
{
	syscall(SYS_execveat, *(int *)fdp, "", nop_argv, no_env, AT_EMPTY_PATH);
}

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

/* Module operations take the module file; a module that loads is unloaded at once. */
static char loaded_name[64] = "minix";

static void unload(void)
{
	syscall(SYS_delete_module, loaded_name, O_NONBLOCK);
}

/* "/x/dummy.ko" -> "dummy" */
static void set_module_name(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	snprintf(loaded_name, sizeof(loaded_name), "%.*s", (int)strcspn(base, "."), base);
}

/* finit_module of an open module file, closed after; a module that loads is unloaded. */
static int finit_fd(int fd)
{
	int err = syscall(SYS_finit_module, fd, "", 0) ? errno : 0;

	close(fd);
	if (!err)
		unload();
	return err;
}

static int op_finit_module(const char *path)
{
	int fd = open(path, O_RDONLY);

	set_module_name(path);
	if (fd < 0)
		return errno;
	return finit_fd(fd);
}

/* finit_module of a memfd holding the module: a module that never had a name. */
static int op_finit_module_memfd(const char *path)
{
	int fd = memfd_create("module", 0);

	set_module_name(path);
	if (fd < 0 || copy_into(fd, path) < 0)
		return errno;
	return finit_fd(fd);
}

/* init_module from memory; `unsigned_copy` strips the appended signature first. */
static int load_from_memory(const char *path, int unsigned_copy)
{
	static char buf[8 << 20];
	const char marker[] = "~Module signature appended~\n";
	size_t mlen = sizeof(marker) - 1;
	int fd = open(path, O_RDONLY);
	ssize_t len;

	set_module_name(path);
	if (fd < 0)
		return errno;
	len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len < 0)
		return errno;
	if (unsigned_copy) {
		unsigned char *sig;
		unsigned int sig_len;

		if ((size_t)len < mlen + 12 || memcmp(buf + len - mlen, marker, mlen))
			return ENOMSG; /* not signed: nothing to strip */
		sig = (unsigned char *)buf + len - mlen - 12; /* struct module_signature */
		sig_len = (sig[8] << 24) | (sig[9] << 16) | (sig[10] << 8) | sig[11];
		len -= mlen + 12 + sig_len;
	}
	if (syscall(SYS_init_module, buf, (unsigned long)len, ""))
		return errno;
	unload();
	return 0;
}

/* Mounting a minix filesystem makes the kernel request "fs-minix": an autoload. */
static int op_autoload(const char *unused)
{
	struct stat st;
	int loaded;

	(void)unused;
	mkdir("/tmp/autoload", 0755);
	mount("none", "/tmp/autoload", "minix", MS_RDONLY, NULL);
	loaded = stat("/sys/module/minix", &st) == 0;
	set_module_name("minix");
	unload();
	return loaded ? 0 : ENOPKG;
}

/* kexec_file_load of a file that is no kernel: the kernel reads it (kernel_read_file,
 * READING_KEXEC_IMAGE), then refuses it with ENOEXEC. EPERM would mean the read itself
 * was refused, as bpflock (C/Go)'s kmodlock did for every file type. */
static int op_kexec_file(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return errno;
	if (syscall(SYS_kexec_file_load, fd, -1, 1UL, "", 0x4UL /* KEXEC_FILE_NO_INITRAMFS */)) {
		int err = errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

/* test_firmware loads /lib/firmware/NAME (or firmware_class.path/NAME) when NAME is
 * written to its trigger: kernel_read_file(READING_FIRMWARE) in the writer's context. */
static int op_firmware(const char *name)
{
	int fd = open("/sys/devices/virtual/misc/test_firmware/trigger_request", O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return errno;
	n = write(fd, name, strlen(name));
	close(fd);
	return n < 0 ? errno : 0;
}

static int op_exec_path(const char *path)
{
	return in_child(exec_path, (void *)path);
}

static int op_init_module(const char *path)
{
	return load_from_memory(path, 0);
}

static int op_init_module_unsigned(const char *path)
{
	return load_from_memory(path, 1);
}

static const struct {
	const char *name;
	int (*run)(const char *);
} arg_ops[] = {
	{ "finit_module", op_finit_module },
	{ "finit_module_memfd", op_finit_module_memfd },
	{ "init_module", op_init_module },
	{ "init_module_unsigned", op_init_module_unsigned },
	{ "autoload", op_autoload },
	{ "kexec_file", op_kexec_file },
	{ "firmware", op_firmware },
	{ "map_zero", op_map_zero },
	{ "exec_path", op_exec_path },
};

static const struct {
	const char *name;
	int (*run)(void);
	const char *path;
	int flags;
} ops[] = {
	{ "tracefs", NULL, "/sys/kernel/tracing/trace", O_RDONLY },
	/* A writable debugfs file: opening it asks LOCKDOWN_DEBUGFS even for reading. */
	{ "debugfs", NULL, "/sys/kernel/debug/fault_around_bytes", O_RDONLY },
	{ "devmem", NULL, "/dev/mem", O_RDONLY },
	{ "kcore", NULL, "/proc/kcore", O_RDONLY },
#if defined(__x86_64__)
	{ "ioperm", op_ioperm },
#endif
	{ "kexec", op_kexec },
	{ "map_create", op_map_create },
	{ "prog_load", op_prog_load },
	{ "btf_load", op_btf_load },
	{ "bpf_write", op_bpf_write },
	{ "exec_file", op_exec_file },
	{ "memfd_exec", op_memfd_exec },
	{ "detached_exec", op_detached_exec },
	{ "memfd_script", op_memfd_script },
	{ "tmpfile_exec", op_tmpfile_exec },
	{ "deleted_exec", op_deleted_exec },
	{ "ldso_file", op_ldso_file },
	{ "ldso_memfd", op_ldso_memfd },
	{ "mprotect_memfd", op_mprotect_memfd },
};

static int run_op(const char *name, int *known)
{
	*known = 1;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(ops[i].name, name))
			continue;
		return ops[i].run ? ops[i].run() : open_close(ops[i].path, ops[i].flags);
	}
	*known = 0;
	return EINVAL;
}

int main(int argc, char **argv)
{
	int known, err = 0;

	if (argc == 4 && !strcmp(argv[1], "repeat")) {
		unsigned long attempts = 0, ok = 0;

		while (access(argv[3], F_OK)) {
			attempts++;
			ok += run_op(argv[2], &known) == 0;
			if (!known)
				break;
		}
		printf("attempts %lu ok %lu\n", attempts, ok);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "times")) {
		unsigned long n = strtoul(argv[2], NULL, 10), ok = 0;

		for (unsigned long i = 0; i < n; i++) {
			ok += run_op(argv[3], &known) == 0;
			if (!known)
				return 2;
		}
		printf("attempts %lu ok %lu\n", n, ok);
		return 0;
	}
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: testops OP [ARG] | testops repeat OP STOPFILE | testops times N OP\n");
		return 2;
	}
	if (argc == 3 || (argc == 2 && !strcmp(argv[1], "autoload"))) {
		known = 0;
		for (size_t i = 0; i < sizeof(arg_ops) / sizeof(arg_ops[0]); i++) {
			if (!strcmp(arg_ops[i].name, argv[1])) {
				err = arg_ops[i].run(argv[2]);
				known = 1;
			}
		}
		if (!known) {
			fprintf(stderr, "testops: unknown operation %s\n", argv[1]);
			return 2;
		}
		goto print;
	}
	err = run_op(argv[1], &known);
	if (!known) {
		fprintf(stderr, "testops: unknown operation %s\n", argv[1]);
		return 2;
	}
print:
	if (!err) {
		puts("ok");
		return 0;
	}
	if (err >= 1000)
		printf("EXIT%d\n", err - 1000);
	else
		puts(strerrorname_np(err) ? strerrorname_np(err) : "E?");
	return 1;
}
