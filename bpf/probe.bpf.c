// SPDX-License-Identifier: GPL-2.0
/*
 * The functional probe: the smallest LSM program. If the kernel refuses to load or
 * attach this, it refuses every bpflock protection, whatever /sys/kernel/security/lsm says.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/locked_down")
int BPF_PROG(probe_locked_down, enum lockdown_reason what, int ret)
{
	return ret;
}
