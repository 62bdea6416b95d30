// SPDX-License-Identifier: GPL-2.0
/* kimglock's operations: what asks the kernel's lockdown. */
#include "testops.h"

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

TESTOP_OPEN("tracefs", "/sys/kernel/tracing/trace", O_RDONLY);
/* A writable debugfs file: opening it asks LOCKDOWN_DEBUGFS even for reading. */
TESTOP_OPEN("debugfs", "/sys/kernel/debug/fault_around_bytes", O_RDONLY);
TESTOP_OPEN("devmem", "/dev/mem", O_RDONLY);
TESTOP_OPEN("kcore", "/proc/kcore", O_RDONLY);
#if defined(__x86_64__)
TESTOP("ioperm", op_ioperm);
#endif
TESTOP("kexec", op_kexec);
