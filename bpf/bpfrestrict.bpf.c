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
#include "events.bpf.h"
#include "pins.bpf.h"

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
	struct task_struct___local *task = current_task();
	__u64 start;

	if (!bpfrestrict_loader_tgid || task->tgid != bpfrestrict_loader_tgid)
		return false;
	start = read_ptr(task->group_leader)->start_time;
	/* The first call after arming comes from bpflock itself, which calls at once. */
	if (!bpfrestrict_loader_start)
		bpfrestrict_loader_start = start;
	return bpfrestrict_loader_start == start;
}

/*
 * The forwarder (`bpflock forward`) must open bpflock's pinned event maps and install its
 * perf buffers even under `restricted`. Only these commands, only from the initial pid
 * namespace, and only from the bpflock executable that bootstrap recorded (is_bpflock_exe):
 * a copy elsewhere, or another program, gets nothing.
 */
static __always_inline bool is_forwarder_command(int cmd)
{
	switch (cmd) {
	case BPF_OBJ_GET:
	case BPF_OBJ_GET_INFO_BY_FD:
	case BPF_MAP_LOOKUP_ELEM:
	case BPF_MAP_UPDATE_ELEM:
		return true;
	default:
		return false;
	}
}

static __always_inline int bpfrestrict_decide(void *ctx, __u32 hook, __u32 cmd, bool blocked)
{
	int ret;

	if (!bpfrestrict_armed || is_loader())
		return 0;
	if (hook == HOOK_BPF && is_forwarder_command(cmd) && is_bpflock_exe())
		return 0;
	ret = profile_decide(bpfrestrict_profile, blocked, false);
	return lock_verdict(ctx, PROT_BPFRESTRICT, hook, cmd, ret, NULL);
}

#define BLOCKED(op) (bpfrestrict_block_mask & (1ULL << (op)))

/* Only the first argument is read: see kimglock_bpf for why `ret` is not. */
SEC("lsm/bpf")
int BPF_PROG(bpfrestrict_bpf, int cmd)
{
	bool blocked;

	switch (cmd) {
	case BPF_MAP_CREATE:
		blocked = BLOCKED(BPFR_MAP_CREATE);
		break;
	case BPF_PROG_LOAD:
		blocked = BLOCKED(BPFR_PROG_LOAD);
		break;
	case BPF_BTF_LOAD:
		blocked = BLOCKED(BPFR_BTF_LOAD);
		break;
	default:
		/* Every other command: allowed in the initial pid namespace, never outside. */
		blocked = false;
	}
	return bpfrestrict_decide(ctx, HOOK_BPF, cmd, blocked);
}

SEC("lsm/locked_down")
int BPF_PROG(bpfrestrict_locked_down, enum lockdown_reason what, int ret)
{
	if (ret)
		return ret;
	if (!bpf_core_enum_value_exists(enum lockdown_reason, LOCKDOWN_BPF_WRITE_USER) ||
	    what != bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_BPF_WRITE_USER))
		return 0;
	/* Reported as operation BPFR_OP_BPF_WRITE: not a bpf() command. */
	return bpfrestrict_decide(ctx, HOOK_LOCKED_DOWN, BPFR_OP_BPF_WRITE, BLOCKED(BPFR_BPF_WRITE));
}

/* bpflock's pins, out of reach of the tasks this lock restricts (pins.bpf.h). */
BPFLOCK_PINS_GUARD(bpfrestrict, PROT_BPFRESTRICT, bpfrestrict_profile)
