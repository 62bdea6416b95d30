// SPDX-License-Identifier: GPL-2.0
/*
 * The physical limit of BPF LSM: an empty program on each hook bpflock uses. `make bench`
 * compares bpflock's programs against these (configuration "empty").
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/locked_down")
int BPF_PROG(empty_locked_down, enum lockdown_reason what, int ret)
{
	return ret;
}

SEC("lsm/bpf")
int BPF_PROG(empty_bpf, int cmd)
{
	return 0;
}
