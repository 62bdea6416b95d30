// SPDX-License-Identifier: GPL-2.0
/* kmodlock's operations: modules, kexec images and firmware, as the kernel reads them. */
#include "testops.h"

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
static int op_autoload_noarg(void)
{
	struct stat st;
	int loaded;

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

static int op_init_module(const char *path)
{
	return load_from_memory(path, 0);
}

static int op_init_module_unsigned(const char *path)
{
	return load_from_memory(path, 1);
}

TESTOP_ARG("finit_module", op_finit_module);
TESTOP_ARG("finit_module_memfd", op_finit_module_memfd);
TESTOP_ARG("init_module", op_init_module);
TESTOP_ARG("init_module_unsigned", op_init_module_unsigned);
TESTOP("autoload", op_autoload_noarg);
TESTOP_ARG("kexec_file", op_kexec_file);
TESTOP_ARG("firmware", op_firmware);
