/* SPDX-License-Identifier: GPL-2.0 */
/* bpfrestrict's command classes: bit positions in block_mask. Rust: src/abi.rs (generated). */
#ifndef BPFLOCK_BPFRESTRICT_H
#define BPFLOCK_BPFRESTRICT_H

enum bpfrestrict_op {
	BPFR_BPF_WRITE = 0, /* programs using bpf_probe_write_user() */
	BPFR_BTF_LOAD,
	BPFR_MAP_CREATE,
	BPFR_PROG_LOAD,
};

/* The operation of a bpf_probe_write_user() event: bpf() commands are below it. */
#define BPFR_OP_BPF_WRITE 0x10000

#endif
