// SPDX-License-Identifier: GPL-2.0
/* nslock's operations: creating user namespaces, privileged or not. */
#include "testops.h"
#include <grp.h>
#include <sched.h>

/* userns: unshare(CLONE_NEWUSER) as the caller is. */
static int op_userns(void)
{
	return unshare(CLONE_NEWUSER) < 0 ? errno : 0;
}
TESTOP("userns", op_userns);

/* userns_as UID: drops to UID (no capabilities left), then unshare(CLONE_NEWUSER). */
static int op_userns_as(const char *uid)
{
	uid_t id = strtoul(uid, NULL, 10);

	if (setgroups(0, NULL) < 0 || setgid(id) < 0 || setuid(id) < 0)
		return errno;
	return op_userns();
}
TESTOP_ARG("userns_as", op_userns_as);

/* userns_nocap: uid 0 without CAP_SYS_ADMIN (every other capability kept), then
 * unshare(CLONE_NEWUSER): what nslock's unprivileged check decides is the capability, not the uid. */
static int op_userns_nocap(void)
{
	struct {
		uint32_t version;
		int pid;
	} header = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
	struct {
		uint32_t effective, permitted, inheritable;
	} data[2];

	if (syscall(SYS_capget, &header, data) < 0)
		return errno;
	data[0].effective &= ~(1u << 21); /* CAP_SYS_ADMIN */
	if (syscall(SYS_capset, &header, data) < 0)
		return errno;
	return op_userns();
}
TESTOP("userns_nocap", op_userns_nocap);
