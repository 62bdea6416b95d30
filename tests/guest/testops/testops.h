/* SPDX-License-Identifier: GPL-2.0 */
/*
 * testops: performs one operation a bpflock protection governs and reports the outcome,
 * for the guest test cases. Built static; runs in the initial pid namespace or inside
 * `unshare --pid --fork`.
 *
 *   testops OP [ARG]      prints "ok" (exit 0) or the errno name (exit 1)
 *   testops repeat OP F   repeats OP until file F exists; prints "attempts N ok M"
 *   testops times N OP    performs OP N times; prints "attempts N ok M"
 *
 * Each protection's operations are in testops/<protection>.c, each registered where it is
 * written (TESTOP*: a linker section main.c walks), so adding one touches only its file.
 * Every operation is harmless when allowed: reads, an ioperm() that is undone, a kexec
 * unload with nothing loaded, BPF objects that are closed at once.
 */
#ifndef TESTOPS_H
#define TESTOPS_H

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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

/* An operation: run() or run_arg(ARG), or open and close `path` with `flags`. */
struct testop {
	const char *name;
	int (*run)(void);
	int (*run_arg)(const char *);
	const char *path;
	int flags;
};

#define TESTOP_CAT_(a, b) a##b
#define TESTOP_CAT(a, b) TESTOP_CAT_(a, b)
#define TESTOP_ENTRY static const struct testop TESTOP_CAT(testop_, __LINE__) \
	__attribute__((used, section("testops"), aligned(sizeof(void *))))
/* OP: int fn(void) */
#define TESTOP(name_, fn) TESTOP_ENTRY = { .name = name_, .run = fn }
/* OP ARG: int fn(const char *) */
#define TESTOP_ARG(name_, fn) TESTOP_ENTRY = { .name = name_, .run_arg = fn }
/* OP: open(path, flags) and close */
#define TESTOP_OPEN(name_, path_, flags_) TESTOP_ENTRY = { .name = name_, .path = path_, .flags = flags_ }

/* common.c */
int sys_bpf(int cmd, union bpf_attr *attr);
int open_close(const char *path, int flags);
int in_child(void (*child)(void *), void *arg);
extern char *const nop_argv[];
extern char *const no_env[];
int copy_into(int fd, const char *src);
/* testops run as /run/initramfs/shutdown (seal.c). */
int exitrd_payload(void);
void exec_path(void *path);
void exec_fd(void *fdp);

#endif
