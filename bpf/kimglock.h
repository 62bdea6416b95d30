/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kimglock's stable operation numbers: bit positions in allow_mask/block_mask.
 * They are bpflock's own, not the kernel's enum lockdown_reason values (those shift
 * between kernels; the BPF side maps them with CO-RE). Rust reads these through src/abi.rs;
 * src/protections/kimglock.rs names each (checked against this enum by a unit test).
 */
#ifndef BPFLOCK_KIMGLOCK_H
#define BPFLOCK_KIMGLOCK_H

enum kimglock_op {
	KIMG_UNSIGNED_MODULE = 0,
	KIMG_DEV_MEM,
	KIMG_EFI_TEST,
	KIMG_KEXEC,
	KIMG_HIBERNATION,
	KIMG_PCI_ACCESS,
	KIMG_IOPORT,
	KIMG_MSR,
	KIMG_ACPI_TABLES,
	KIMG_DEVICE_TREE,
	KIMG_PCMCIA_CIS,
	KIMG_TIOCSSERIAL,
	KIMG_UNSAFE_MODULE_PARAMETERS,
	KIMG_MMIOTRACE,
	KIMG_DEBUGFS,
	KIMG_XMON_WR,
	KIMG_BPF_WRITE,
	KIMG_DBG_WRITE_KERNEL,
	KIMG_RTAS_ERROR_INJECTION,
	KIMG_XEN_USER_ACTIONS,
	KIMG_KCORE,
	KIMG_KPROBES,
	KIMG_BPF_READ_KERNEL,
	KIMG_DBG_READ_KERNEL,
	KIMG_PERF,
	KIMG_TRACEFS,
	KIMG_XMON_RW,
	KIMG_XFRM,
	KIMG_BTF_LOAD, /* not a lockdown reason: bpf(BPF_BTF_LOAD) */
	/* A lockdown reason newer than this build: never allowed outside the initial pid ns. */
	KIMG_UNKNOWN = 63,
};

#endif
