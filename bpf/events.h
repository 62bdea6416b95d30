/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one event format of every protection, and the counters that account for each
 * decision and each event. Rust takes the constants from src/abi.rs (generated from this
 * file) and struct bpflock_event from the skeleton of bpf/shared.bpf.c.
 */
#ifndef BPFLOCK_EVENTS_H
#define BPFLOCK_EVENTS_H

#define BPFLOCK_COMM_LEN 16
#define BPFLOCK_OBJECT_LEN 256

enum bpflock_protection {
	PROT_KIMGLOCK = 0,
	PROT_BPFRESTRICT = 1,
	PROT_KMODLOCK = 2,
	PROT_FILELESSLOCK = 3,
	PROT_JAIL = 4,
	PROT_FSLOCK = 5,
	PROT_NSLOCK = 6,
	PROT_SEAL = 7, /* not a protection of the list: the seal over all of them (bpf/seal.bpf.c) */
	PROT_USBLOCK = 8,
	/* The counters array (COUNTER_MAX) is pinned once and reused across re-applies and
	 * upgrades: its size must not change with each new protection, so room is kept. */
	PROT_MAX = 16,
};

enum bpflock_hook {
	HOOK_LOCKED_DOWN = 0,
	HOOK_BPF = 1,
	HOOK_KERNEL_MODULE_REQUEST = 2,
	HOOK_KERNEL_READ_FILE = 3,
	HOOK_KERNEL_LOAD_DATA = 4,
	HOOK_BPRM_CHECK_SECURITY = 5,
	HOOK_MMAP_FILE = 6,
	HOOK_FILE_MPROTECT = 7,
	HOOK_FILE_OPEN = 8,
	HOOK_INODE_LINK = 9,
	HOOK_PTRACE_ACCESS_CHECK = 10,
	HOOK_PTRACE_TRACEME = 11,
	HOOK_TASK_FIX_SETUID = 12,
	HOOK_BPRM_CREDS_FROM_FILE = 13,
	HOOK_SB_MOUNT = 14,
	HOOK_SB_UMOUNT = 15,
	HOOK_MOVE_MOUNT = 16,
	HOOK_SOCKET_CONNECT = 17,
	HOOK_SOCKET_BIND = 18,
	HOOK_SOCKET_SENDMSG = 19,
	HOOK_INODE_UNLINK = 20,
	HOOK_INODE_RMDIR = 21,
	HOOK_INODE_RENAME = 22,
	HOOK_TASK_ALLOC = 23,
	HOOK_BPF_MAP = 24,
	HOOK_INODE_CREATE = 25,
	HOOK_INODE_MKDIR = 26,
	HOOK_PATH_CHMOD = 27,
	HOOK_PATH_CHOWN = 28,
	HOOK_PATH_TRUNCATE = 29,
	HOOK_PATH_CHROOT = 30,
	HOOK_SB_PIVOTROOT = 31,
	HOOK_USERNS_CREATE = 32,
	HOOK_CAPABLE = 33,
	HOOK_TASK_FIX_SETGID = 34,
	HOOK_INODE_SYMLINK = 35,
	HOOK_INODE_MKNOD = 36,
	HOOK_SOCKET_CREATE = 37,
	HOOK_SOCKET_LISTEN = 38,
	HOOK_TASK_KILL = 39,
	HOOK_FILE_FCNTL = 40,
	HOOK_FILE_IOCTL = 41,
	HOOK_UNIX_STREAM_CONNECT = 42,
	HOOK_UNIX_MAY_SEND = 43,
	HOOK_FILE_PERMISSION = 44,
	HOOK_SB_KERN_MOUNT = 45,
	HOOK_FS_CONTEXT_PARSE_PARAM = 46,
	HOOK_SB_REMOUNT = 47,
	HOOK_INODE_SETATTR = 48,
	HOOK_INODE_SETXATTR = 49,
	HOOK_INODE_REMOVEXATTR = 50,
	HOOK_INODE_SET_ACL = 51,
	HOOK_INODE_REMOVE_ACL = 52,
	HOOK_BPF_PROG = 53,
	HOOK_INODE_PERMISSION = 54,
	HOOK_TASK_PRCTL = 55,
};

/* An operation every protection reports the same way: removing bpflock's pins (pins.bpf.h). */
#define BPFLOCK_OP_PINS 0xfffe

enum bpflock_decision {
	DECISION_DENY = 0,       /* refused */
	DECISION_ALLOW = 1,      /* allowed, reported because events = "all" */
	DECISION_WOULD_DENY = 2, /* complain mode: allowed, would have been refused */
	DECISION_MAX = 4,
};

/* What a protection reports: its `events` setting. */
enum bpflock_events_mode {
	EVENTS_NONE = 0,
	EVENTS_DENY = 1, /* denials and would-denials */
	EVENTS_ALL = 2,  /* every decision */
};

/*
 * Indexes of the per-CPU counter array. For every event the kernel wants to report:
 *   wanted = suppressed + output + no_reader + ring_full
 * and every decision, reported or not, is counted at DECISIONS + protection * DECISION_MAX + decision.
 */
enum bpflock_counter {
	COUNTER_WANTED = 0,
	COUNTER_SUPPRESSED = 1, /* over the per-task rate limit */
	COUNTER_OUTPUT = 2,     /* written to the perf buffer */
	COUNTER_NO_READER = 3,  /* no forwarder had the buffer open */
	COUNTER_RING_FULL = 4,  /* the forwarder's ring was full */
	COUNTER_DECISIONS = 8,
	COUNTER_MAX = COUNTER_DECISIONS + PROT_MAX * DECISION_MAX,
};

struct bpflock_event {
	__u64 boot_ns;   /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
	__u32 protection; /* enum bpflock_protection */
	__u32 hook;       /* enum bpflock_hook */
	__u32 operation;  /* protection-specific: kimglock op, bpf command, ... */
	__u32 decision;   /* enum bpflock_decision */
	__u32 pid;        /* thread id, as seen from the initial pid namespace */
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 pidns_inum; /* the task's active pid namespace */
	__u32 pidns_level;
	__u32 object_len;
	char comm[BPFLOCK_COMM_LEN];
	char object[BPFLOCK_OBJECT_LEN]; /* file path, module name...; empty where none */
};

#endif
