// SPDX-License-Identifier: GPL-2.0
/*
 * bpfrestrict: the bpf() syscall per pid namespace and per command.
 *
 * bpf_probe_write_user() is not a bpf() command: the verifier asks
 * security_locked_down(LOCKDOWN_BPF_WRITE_USER) when a program uses it, from the
 * loading task, so bpfrestrict also hooks locked_down for that one reason.
 */
#include "bpflock.bpf.h"
#include "bpfrestrict.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 bpfrestrict_profile = PROFILE_ALLOW;
const volatile __u64 bpfrestrict_block_mask = 0;

/*
 * Arming. The programs attach disarmed, so that bpflock can still pin their links
 * (bpf(BPF_OBJ_PIN)) under `restricted`; bpflock then arms them by writing .bss through
 * the skeleton's memory mapping, which needs no bpf() call. The bpflock process that
 * armed them keeps bpf() until it exits, to finish replacing an older set; it is
 * recognised by thread group id and start time, so a later process reusing its pid
 * is not.
 */
__u32 bpfrestrict_armed;
__u32 bpfrestrict_loader_tgid;
__u64 bpfrestrict_loader_start;

static __always_inline bool is_loader(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 start;

	if (!bpfrestrict_loader_tgid || task->tgid != bpfrestrict_loader_tgid)
		return false;
	start = task->group_leader->start_time;
	/* The first call after arming comes from bpflock itself, which calls at once. */
	if (!bpfrestrict_loader_start)
		bpfrestrict_loader_start = start;
	return bpfrestrict_loader_start == start;
}

static __always_inline int bpfrestrict_decide(__u32 op)
{
	if (!bpfrestrict_armed || is_loader())
		return 0;
	return profile_decide(bpfrestrict_profile, bpfrestrict_block_mask & (1ULL << op), false);
}

/* Only the first argument is read: see kimglock_bpf for why `ret` is not. */
SEC("lsm/bpf")
int BPF_PROG(bpfrestrict_bpf, int cmd)
{
	switch (cmd) {
	case BPF_MAP_CREATE:
		return bpfrestrict_decide(BPFR_MAP_CREATE);
	case BPF_PROG_LOAD:
		return bpfrestrict_decide(BPFR_PROG_LOAD);
	case BPF_BTF_LOAD:
		return bpfrestrict_decide(BPFR_BTF_LOAD);
	default:
		/* Every other command: allowed in the initial pid namespace, never outside. */
		if (!bpfrestrict_armed || is_loader())
			return 0;
		return profile_decide(bpfrestrict_profile, false, false);
	}
}

SEC("lsm/locked_down")
int BPF_PROG(bpfrestrict_locked_down, enum lockdown_reason what, int ret)
{
	if (ret)
		return ret;
	if (!bpf_core_enum_value_exists(enum lockdown_reason, LOCKDOWN_BPF_WRITE_USER) ||
	    what != bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_BPF_WRITE_USER))
		return 0;
	return bpfrestrict_decide(BPFR_BPF_WRITE);
}
