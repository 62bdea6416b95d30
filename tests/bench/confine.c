// SPDX-License-Identifier: GPL-2.0
/*
 * The peers `make bench` compares the jail with, applied to one command:
 *
 *   confine landlock RULES CMD...   a Landlock ruleset from RULES, then exec CMD
 *   confine apparmor PROFILE CMD... exec CMD in the loaded AppArmor profile PROFILE
 *   confine landlock-abi            prints "LANDLOCK-ABI N" (0: no Landlock)
 *
 * RULES, a line each: "r PATH" (read), "rx PATH" (read and execute), "bind PORT",
 * "connect PORT" (TCP). The ruleset handles every file access of the kernel's highest ABI
 * (what is not granted is refused) and, from ABI 4, TCP bind and connect. Raw system
 * calls and the UAPI's values written out: no library, and the host's headers may predate
 * the guest kernel's ABI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The same numbers on every architecture (the generic table), for a libc that predates them. */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#define LANDLOCK_RULE_PATH_BENEATH 1
#define LANDLOCK_RULE_NET_PORT 2

#define FS_EXECUTE (1ULL << 0)
#define FS_READ_FILE (1ULL << 2)
#define FS_ABI1 ((1ULL << 13) - 1) /* execute .. make_sym */
#define FS_REFER (1ULL << 13)      /* ABI 2 */
#define FS_TRUNCATE (1ULL << 14)   /* ABI 3 */
#define FS_IOCTL_DEV (1ULL << 15)  /* ABI 5 */
#define NET_BIND_TCP (1ULL << 0)   /* ABI 4 */
#define NET_CONNECT_TCP (1ULL << 1)

struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
};

struct path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

static int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

static int landlock(const char *rules_path)
{
	int abi = landlock_abi();
	struct ruleset_attr attr = { .handled_access_fs = FS_ABI1 };
	char line[4096], path[4096], what[16];
	FILE *rules;
	int ruleset;

	if (abi < 1) {
		fprintf(stderr, "confine: this kernel has no Landlock\n");
		return -1;
	}
	if (abi >= 2)
		attr.handled_access_fs |= FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= FS_IOCTL_DEV;
	if (abi >= 4)
		attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
	/* ABI 1-3 know only the first field. */
	ruleset = syscall(SYS_landlock_create_ruleset, &attr, abi >= 4 ? sizeof(attr) : sizeof(uint64_t), 0);
	if (ruleset < 0) {
		perror("confine: landlock_create_ruleset");
		return -1;
	}
	rules = fopen(rules_path, "r");
	if (!rules) {
		perror(rules_path);
		return -1;
	}
	while (fgets(line, sizeof(line), rules)) {
		if (sscanf(line, "%15s %4095s", what, path) != 2)
			continue;
		if (!strcmp(what, "bind") || !strcmp(what, "connect")) {
			struct net_port_attr port = {
				.allowed_access = what[0] == 'b' ? NET_BIND_TCP : NET_CONNECT_TCP,
				.port = strtoull(path, NULL, 10),
			};

			if (abi < 4)
				continue; /* no network rules before ABI 4: said in the report */
			if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_NET_PORT, &port, 0)) {
				perror("confine: landlock_add_rule (port)");
				return -1;
			}
		} else {
			struct path_beneath_attr beneath = {
				.allowed_access = FS_READ_FILE | (!strcmp(what, "rx") ? FS_EXECUTE : 0),
				.parent_fd = open(path, O_PATH | O_CLOEXEC),
			};

			if (beneath.parent_fd < 0) {
				perror(path);
				return -1;
			}
			if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0)) {
				perror("confine: landlock_add_rule (path)");
				return -1;
			}
			close(beneath.parent_fd);
		}
	}
	fclose(rules);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_landlock_restrict_self, ruleset, 0)) {
		perror("confine: landlock_restrict_self");
		return -1;
	}
	close(ruleset);
	return 0;
}

/* What aa_change_onexec() does: the next exec enters PROFILE. */
static int apparmor(const char *profile)
{
	char command[512];
	int fd = open("/proc/self/attr/apparmor/exec", O_WRONLY);
	int len = snprintf(command, sizeof(command), "exec %s", profile);

	if (fd < 0)
		fd = open("/proc/self/attr/exec", O_WRONLY);
	if (fd < 0 || write(fd, command, len) != len) {
		perror("confine: AppArmor change_onexec");
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "landlock-abi")) {
		printf("LANDLOCK-ABI %d\n", landlock_abi());
		return 0;
	}
	if (argc < 4 || (strcmp(argv[1], "landlock") && strcmp(argv[1], "apparmor"))) {
		fprintf(stderr, "usage: confine landlock RULES CMD... | apparmor PROFILE CMD... | landlock-abi\n");
		return 2;
	}
	if ((argv[1][0] == 'l' ? landlock(argv[2]) : apparmor(argv[2])) < 0)
		return 1;
	execv(argv[3], argv + 3);
	perror(argv[3]);
	return 127;
}
