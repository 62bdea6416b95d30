/* SPDX-License-Identifier: GPL-2.0 */
/* kmodlock's operations: bits of block_mask, and event operations (Rust: src/abi.rs). */
#ifndef BPFLOCK_KMODLOCK_H
#define BPFLOCK_KMODLOCK_H

enum kmodlock_op {
	KMOD_LOAD_MODULE = 0,              /* finit_module, init_module */
	KMOD_AUTOLOAD_MODULE = 1,          /* request_module: the kernel loading on demand */
	KMOD_UNSIGNED_MODULE = 2,          /* LOCKDOWN_MODULE_SIGNATURE */
	KMOD_UNSAFE_MODULE_PARAMETERS = 3, /* LOCKDOWN_MODULE_PARAMETERS */
	KMOD_FIRMWARE = 4,                 /* event only: firmware refused by the origin checks */
};

#endif
