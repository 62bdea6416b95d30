/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reporting decisions (BPF side). Every protection's object declares the same maps;
 * bpflock pins them once under <pin-root>/events/ and every later object reuses them, so
 * one forwarder reads one perf buffer for all protections.
 */
#ifndef BPFLOCK_EVENTS_BPF_H
#define BPFLOCK_EVENTS_BPF_H

#include "events.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} bpflock_events SEC(".maps");

/* Per-CPU: increments never race, so no count is ever lost. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} bpflock_counters SEC(".maps");

struct ratelimit_key {
	__u32 protection;
	__u32 tgid;
};

struct ratelimit_window {
	__u64 start_ns;
	__u64 count;
};

/* Per (protection, process) event budget; LRU so that a flood of processes only evicts. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ratelimit_key);
	__type(value, struct ratelimit_window);
} bpflock_ratelimit SEC(".maps");

/* The event is built here: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpflock_event);
} bpflock_scratch SEC(".maps");

/* Set by bpflock before load (each protection's object has its own copy). */
const volatile __u32 bpflock_events_mode = EVENTS_DENY;
/* A lock in complain mode (lock_verdict): set by bpflock before load; the jail's is per role. */
const volatile bool bpflock_complain = false;
const volatile __u64 bpflock_rate_per_sec = 100; /* events per (protection, process) per second; 0 = unlimited */
/*
 * 0 where lockdown=confidentiality denies BPF programs the helpers that read kernel memory
 * (bpf_probe_read_kernel*): code that calls them is then behind a false constant, so the
 * verifier never visits it, and the program still loads.
 */
const volatile __u32 bpflock_read_kernel = 1;
/* bpflock's pin root, (s_dev, i_ino), for pins.bpf.h: set by bpflock before load; 0 matches nothing. */
const volatile __u32 bpflock_pins_dev = 0;
const volatile __u64 bpflock_pins_ino = 0;

#define ENOENT 2

static __always_inline void count(__u32 index)
{
	__u64 *c = bpf_map_lookup_elem(&bpflock_counters, &index);

	if (c)
		*c += 1;
}

/*
 * The active pid namespace without bpf_probe_read_kernel() (kimglock restricted denies it):
 * pid_ns_for_children is the active namespace or one of its descendants, so its ancestor
 * at the active level is the active namespace.
 */
static __always_inline struct pid_namespace___local *active_pidns(struct task_struct___local *task)
{
	struct nsproxy___local *nsproxy = read_ptr(task->nsproxy);
	struct pid_namespace___local *ns;
	unsigned int level = task->thread_pid->level;

	if (!nsproxy)
		return NULL;
	ns = read_ptr(nsproxy->pid_ns_for_children);
	for (int i = 0; i < 32 && ns && ns->level > level; i++)
		ns = read_ptr(ns->parent);
	return ns;
}

static __always_inline bool over_rate_limit(__u32 protection, __u32 tgid)
{
	struct ratelimit_key key = { .protection = protection, .tgid = tgid };
	struct ratelimit_window *w, fresh = { .start_ns = bpf_ktime_get_boot_ns(), .count = 1 };

	if (!bpflock_rate_per_sec)
		return false;
	w = bpf_map_lookup_elem(&bpflock_ratelimit, &key);
	if (!w || fresh.start_ns - w->start_ns >= 1000000000ULL) {
		bpf_map_update_elem(&bpflock_ratelimit, &key, &fresh, BPF_ANY);
		return false;
	}
	return __sync_fetch_and_add(&w->count, 1) >= bpflock_rate_per_sec;
}

/*
 * Counts a decision and, as the policy asks, reports it. `object` may be NULL. With
 * `map_size` 0 it is a kernel string (a module name), read where lockdown lets BPF read
 * kernel memory and left out where it does not; otherwise it is a string in BPF map memory
 * (a path from bpf_d_path) of `map_size` bytes (a constant, at most BPFLOCK_OBJECT_LEN),
 * copied directly.
 */
static __always_inline void report_object(void *ctx, __u32 protection, __u32 hook, __u32 operation,
					  __u32 decision, const char *object, __u32 map_size)
{
	struct task_struct___local *task = current_task();
	struct task_struct___local *parent;
	struct pid_namespace___local *ns;
	struct bpflock_event *e;
	__u32 zero = 0;
	__u64 uid_gid;
	long ret;

	count(COUNTER_DECISIONS + protection * DECISION_MAX + decision);
	if (bpflock_events_mode == EVENTS_NONE ||
	    (bpflock_events_mode == EVENTS_DENY && decision == DECISION_ALLOW))
		return;
	count(COUNTER_WANTED);
	if (over_rate_limit(protection, task->tgid)) {
		count(COUNTER_SUPPRESSED);
		return;
	}
	e = bpf_map_lookup_elem(&bpflock_scratch, &zero);
	if (!e) {
		count(COUNTER_RING_FULL); /* unreachable: keeps wanted = sum of outcomes */
		return;
	}
	e->boot_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->protection = protection;
	e->hook = hook;
	e->operation = operation;
	e->decision = decision;
	e->pid = task->pid;
	e->tgid = task->tgid;
	parent = read_ptr(task->real_parent);
	e->ppid = parent ? parent->tgid : 0;
	uid_gid = bpf_get_current_uid_gid();
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	ns = active_pidns(task);
	e->pidns_inum = ns ? ns->ns.inum : 0;
	e->pidns_level = task->thread_pid->level;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->object_len = 0;
	e->object[0] = 0;
	if (object && map_size) {
		__builtin_memcpy(e->object, object, map_size);
		/* NUL-terminated within: readers stop at the NUL. */
		e->object_len = map_size;
	} else if (object && bpflock_read_kernel) {
		ret = bpf_probe_read_kernel_str(e->object, sizeof(e->object), object);
		e->object_len = ret > 0 ? ret - 1 : 0;
	}
	ret = bpf_perf_event_output(ctx, &bpflock_events, BPF_F_CURRENT_CPU, e, sizeof(*e));
	if (ret == 0)
		count(COUNTER_OUTPUT);
	else if (ret == -ENOENT)
		count(COUNTER_NO_READER);
	else
		count(COUNTER_RING_FULL);
}

/* A decision with a kernel string, or none, as its object (see report_object). */
static __always_inline void report(void *ctx, __u32 protection, __u32 hook, __u32 operation, __u32 decision,
				   const char *object)
{
	report_object(ctx, protection, hook, operation, decision, object, 0);
}

/*
 * A lock's decision, counted and reported. Under `mode = "complain"` (bpflock_complain) a
 * refusal is reported as would-deny and the operation goes on: the same decisions, nothing
 * refused, for a rollout that observes before it enforces.
 */
static __always_inline int lock_verdict(void *ctx, __u32 protection, __u32 hook, __u32 operation, int ret,
					const char *object)
{
	if (!ret) {
		report(ctx, protection, hook, operation, DECISION_ALLOW, object);
		return 0;
	}
	if (bpflock_complain) {
		report(ctx, protection, hook, operation, DECISION_WOULD_DENY, object);
		return 0;
	}
	report(ctx, protection, hook, operation, DECISION_DENY, object);
	return ret;
}

#endif
