// SPDX-License-Identifier: GPL-2.0
/*
 * nslock: creating user namespaces. A user namespace gives its creator every capability
 * inside it, and with them the kernel code that only root reached before (filesystems,
 * netfilter, io_uring...): most container escapes of the last years started there.
 *
 * userns_create (Linux 6.1+) is the one namespace hook the kernel has: joining or
 * creating the other kinds (setns, unshare, clone of mount, net, pid...) is not seen by
 * any LSM, and nslock does not pretend otherwise (`bpflock probe`, docs/nslock.md).
 */
#include "bpflock.bpf.h"
#include "nslock.h"
#include "events.bpf.h"
#include "pins.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define CAP_SYS_ADMIN 21

const volatile __u32 nslock_profile = PROFILE_ALLOW;
/* unprivileged = "deny": refused to callers without CAP_SYS_ADMIN in the initial user namespace. */
const volatile bool nslock_unprivileged_deny = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NSLOCK_MAX_EXEMPT);
	__type(key, struct nslock_exec_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_RDONLY_PROG);
} nslock_exempt SEC(".maps");

struct user_namespace___local {
	int level;
} __local_type;

/* The capability sets: a u64 since 6.3, two u32 before (little-endian both: bit 21 is in the first word). */
struct cred___caps64 {
	struct {
		__u64 val;
	} cap_effective;
	struct user_namespace___local *user_ns;
} __local_type;

struct cred___caps32 {
	struct {
		__u32 cap[2];
	} cap_effective;
} __local_type;

static __always_inline bool privileged(struct cred___caps64 *cred)
{
	struct user_namespace___local *ns = read_ptr(cred->user_ns);
	__u64 caps;

	if (!ns || ns->level != 0)
		return false;
	if (bpf_core_field_exists(cred->cap_effective.val))
		caps = cred->cap_effective.val;
	else
		caps = ((struct cred___caps32 *)cred)->cap_effective.cap[0];
	return caps & (1ULL << CAP_SYS_ADMIN);
}

/* The caller's executable is one the policy exempts. */
static __always_inline bool exempt(void)
{
	struct inode___local *inode = current_exe_inode();
	struct nslock_exec_key key = {};

	if (!inode)
		return false;
	key.dev = inode->i_sb->s_dev;
	key.ino = inode->i_ino;
	return bpf_map_lookup_elem(&nslock_exempt, &key) != NULL;
}

SEC("lsm/userns_create")
int BPF_PROG(nslock_userns_create, struct cred___caps64 *cred, int ret)
{
	if (ret)
		return ret;
	ret = profile_decide(nslock_profile, false, false);
	if (ret)
		return lock_verdict(ctx, PROT_NSLOCK, HOOK_USERNS_CREATE, NSLOCK_USERNS_CREATE, ret, NULL);
	if (nslock_unprivileged_deny && !privileged(cred) && !exempt())
		return lock_verdict(ctx, PROT_NSLOCK, HOOK_USERNS_CREATE, NSLOCK_USERNS_UNPRIVILEGED, -EPERM, NULL);
	return lock_verdict(ctx, PROT_NSLOCK, HOOK_USERNS_CREATE, NSLOCK_USERNS_CREATE, 0, NULL);
}

/* bpflock's pins, out of reach of the tasks this lock restricts (pins.bpf.h). */
BPFLOCK_PINS_GUARD(nslock, PROT_NSLOCK, nslock_profile)
