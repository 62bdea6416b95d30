/* SPDX-License-Identifier: GPL-2.0 */
/* The seal's event operations and capacities (Rust: src/abi.rs). */
#ifndef BPFLOCK_SEAL_H
#define BPFLOCK_SEAL_H

enum seal_op {
	SEAL_OP_PINS = 0,      /* unlinking, removing or renaming under the pin root */
	SEAL_OP_UNMOUNT = 1,   /* unmounting the pins' BPF filesystem, or lazily a mount above it */
	SEAL_OP_MAP_WRITE = 2, /* a writable descriptor of a sealed map */
	SEAL_OP_PROG = 3,      /* a descriptor of a sealed program */
	SEAL_OP_LINK = 4,      /* a descriptor of a sealed link (by id, or through its pin) */
	SEAL_OP_PTRACE = 5,    /* tracing a bpflock process, or its memory (/proc/<pid>/mem) */
	SEAL_OP_EXEC_TRACED = 6, /* executing bpflock under a tracer */
	SEAL_OP_EXE = 7,       /* writing, removing or replacing the bpflock executable, or taking its name (PR_SET_MM) */
	SEAL_OP_LIMIT = 8,     /* a walk beyond its bounds: refused (fails closed) */
	SEAL_OP_MOVE = 9,      /* moving a mount that holds the pins (a lazy unmount could race it) */
};

/* seal_maps value: a map the bpflock executable may still open for writing (the
 * forwarder installs its perf buffers; `bpflock run` enrolls itself in the jail). */
#define SEAL_BPFLOCK_WRITES 1

/* Objects of each kind the seal records: more refuses the seal. */
#define SEAL_MAX_OBJECTS 2048
/* Mounts of the pins' BPF filesystem an unmount is checked against (and mounts on the
 * dentry the pins are mounted on), and the depth of each above it: beyond either, the
 * unmount is refused. */
#define SEAL_MAX_SB_MOUNTS 1024
#define SEAL_MAX_MOUNT_DEPTH 32

#endif
