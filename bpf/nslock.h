/* SPDX-License-Identifier: GPL-2.0 */
/* nslock's event operations (Rust: src/abi.rs) and its capacity. */
#ifndef BPFLOCK_NSLOCK_H
#define BPFLOCK_NSLOCK_H

enum nslock_op {
	NSLOCK_USERNS_CREATE = 0,       /* by the profile: outside the initial pid namespace, or anyone */
	NSLOCK_USERNS_UNPRIVILEGED = 1, /* unprivileged = "deny": by a task without CAP_SYS_ADMIN */
};

/* nslock_exempt: executables still allowed to create user namespaces unprivileged. */
#define NSLOCK_MAX_EXEMPT 256

/* An executable as the kernel names it (mm->exe_file). */
struct nslock_exec_key {
	__u32 dev; /* MAJOR << 20 | MINOR */
	__u32 pad;
	__u64 ino;
};

#endif
