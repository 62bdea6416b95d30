// SPDX-License-Identifier: GPL-2.0
/*
 * kimglock: kernel image lockdown per pid namespace.
 *
 * The kernel asks security_locked_down(reason) before every operation that could read or
 * modify the running kernel. Reasons are matched by name through CO-RE: their numbers
 * shift between kernels (bpflock (C/Go) hard-coded them).
 */
#include "bpflock.bpf.h"
#include "kimglock.h"
#include "events.bpf.h"
#include "pins.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by bpflock before load; frozen by libbpf, so the verifier prunes unused paths. */
const volatile __u32 kimglock_profile = PROFILE_ALLOW;
const volatile __u64 kimglock_allow_mask = 0;
const volatile __u64 kimglock_block_mask = 0;

#define REASON(kernel_name, op)                                                        \
	if (bpf_core_enum_value_exists(enum lockdown_reason, kernel_name) &&           \
	    what == bpf_core_enum_value(enum lockdown_reason, kernel_name))            \
		return op;

static __always_inline __u32 kimglock_op_of(enum lockdown_reason what)
{
	REASON(LOCKDOWN_MODULE_SIGNATURE, KIMG_UNSIGNED_MODULE)
	REASON(LOCKDOWN_DEV_MEM, KIMG_DEV_MEM)
	REASON(LOCKDOWN_EFI_TEST, KIMG_EFI_TEST)
	REASON(LOCKDOWN_KEXEC, KIMG_KEXEC)
	REASON(LOCKDOWN_HIBERNATION, KIMG_HIBERNATION)
	REASON(LOCKDOWN_PCI_ACCESS, KIMG_PCI_ACCESS)
	REASON(LOCKDOWN_IOPORT, KIMG_IOPORT)
	REASON(LOCKDOWN_MSR, KIMG_MSR)
	REASON(LOCKDOWN_ACPI_TABLES, KIMG_ACPI_TABLES)
	REASON(LOCKDOWN_DEVICE_TREE, KIMG_DEVICE_TREE)
	REASON(LOCKDOWN_PCMCIA_CIS, KIMG_PCMCIA_CIS)
	REASON(LOCKDOWN_TIOCSSERIAL, KIMG_TIOCSSERIAL)
	REASON(LOCKDOWN_MODULE_PARAMETERS, KIMG_UNSAFE_MODULE_PARAMETERS)
	REASON(LOCKDOWN_MMIOTRACE, KIMG_MMIOTRACE)
	REASON(LOCKDOWN_DEBUGFS, KIMG_DEBUGFS)
	REASON(LOCKDOWN_XMON_WR, KIMG_XMON_WR)
	REASON(LOCKDOWN_BPF_WRITE_USER, KIMG_BPF_WRITE)
	REASON(LOCKDOWN_DBG_WRITE_KERNEL, KIMG_DBG_WRITE_KERNEL)
	REASON(LOCKDOWN_RTAS_ERROR_INJECTION, KIMG_RTAS_ERROR_INJECTION)
	REASON(LOCKDOWN_XEN_USER_ACTIONS, KIMG_XEN_USER_ACTIONS)
	REASON(LOCKDOWN_KCORE, KIMG_KCORE)
	REASON(LOCKDOWN_KPROBES, KIMG_KPROBES)
	REASON(LOCKDOWN_BPF_READ_KERNEL, KIMG_BPF_READ_KERNEL)
	REASON(LOCKDOWN_DBG_READ_KERNEL, KIMG_DBG_READ_KERNEL)
	REASON(LOCKDOWN_PERF, KIMG_PERF)
	REASON(LOCKDOWN_TRACEFS, KIMG_TRACEFS)
	REASON(LOCKDOWN_XMON_RW, KIMG_XMON_RW)
	REASON(LOCKDOWN_XFRM_SECRET, KIMG_XFRM)
	return KIMG_UNKNOWN;
}

static __always_inline int kimglock_decide(void *ctx, __u32 hook, __u32 op)
{
	__u64 bit = 1ULL << op;
	int ret = profile_decide(kimglock_profile, kimglock_block_mask & bit,
				 kimglock_allow_mask & bit);

	return lock_verdict(ctx, PROT_KIMGLOCK, hook, op, ret, NULL);
}

SEC("lsm/locked_down")
int BPF_PROG(kimglock_locked_down, enum lockdown_reason what, int ret)
{
	__u32 op = kimglock_op_of(what);

	if (ret)
		return ret;
	/* bpflock's own programs may read kernel memory (kmodlock reads module names), so
	 * that bpflock can re-apply a policy under kimglock restricted. */
	if (op == KIMG_BPF_READ_KERNEL && is_bpflock_exe())
		return 0;
	return kimglock_decide(ctx, HOOK_LOCKED_DOWN, op);
}

/*
 * Loading BTF is the one kimglock operation that is not a lockdown reason.
 * Only the first argument is read: lsm/bpf gained a fourth argument in 6.15, which moved
 * `ret`. No `if (ret) return ret;` here: the BPF trampoline stops at the first LSM program
 * that returns non-zero, so a later one is never called with ret != 0.
 */
SEC("lsm/bpf")
int BPF_PROG(kimglock_bpf, int cmd)
{
	if (cmd != BPF_BTF_LOAD)
		return 0;
	/* bpflock's own objects carry BTF (their subprograms' and callbacks' types), which a
	 * later bootstrap, the seal's above all, loads under kimglock restricted. */
	if (is_bpflock_exe())
		return 0;
	return kimglock_decide(ctx, HOOK_BPF, KIMG_BTF_LOAD);
}

/* bpflock's pins, out of reach of the tasks this lock restricts (pins.bpf.h). */
BPFLOCK_PINS_GUARD(kimglock, PROT_KIMGLOCK, kimglock_profile)
