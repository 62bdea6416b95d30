// SPDX-License-Identifier: GPL-2.0
/*
 * What the jail's file check is made of, one part at a time, each on lsm/file_open alone
 * (`make bench`, configuration part_*, compared with part_open: an empty program there):
 * where its instructions go (docs/performance.md, "Against Landlock and AppArmor").
 *   -DPART_STORAGE  a task-storage lookup (the jail's role, its path buffer)
 *   -DPART_D_PATH   bpf_d_path of the opened file into a per-task buffer
 *   -DPART_PROBE    two bpf_probe_read_kernel of a dentry's parent (a walk's step, read by helper)
 *   -DPART_CAST     the same two reads through bpf_rdonly_cast (6.2+)
 *   -DPART_HASH     a hash-map lookup of a (role, dev, ino) key (a named object)
 *   -DPART_LPM      PART_D_PATH, then a lookup of (role, kind, path) in an LPM trie of 10
 *                   exact rules like the jail's (filled by the first run)
 * none of them: the empty program.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#ifndef bpf_core_cast /* libbpf 1.3+ */
#define bpf_core_cast(ptr, type) ((type *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))
#endif

struct buf {
	__u32 prefixlen, role, kind; /* the jail's path key (bpf/jail.h jail_path_key) */
	char path[240];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 64);
	__type(key, struct buf);
	__type(value, __u64);
} trie SEC(".maps");

static const char rules[10][20] = { "/init", "/bin/bench", "/bin/nop", "/bench/files/f0", "/bench/files/f1",
				    "/bench/files/f2", "/bench/files/f3", "/bench/files/f4", "/bench/files/f5",
				    "/bench/files/f6" };
static volatile int filled; /* volatile: clang would shrink a flag to one byte, which BTF of .bss cannot describe */

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct buf);
} storage SEC(".maps");

struct object_key {
	__u32 role, dev;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct object_key);
	__type(value, __u64);
} objects SEC(".maps");

SEC("lsm/file_open")
int BPF_PROG(part_file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
#if defined(PART_STORAGE) || defined(PART_D_PATH) || defined(PART_LPM)
	struct buf *b = bpf_task_storage_get(&storage, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!b)
		return 0;
#endif
#ifdef PART_LPM
	if (!filled) {
		__u64 one = 1;

		filled = 1;
		for (int i = 0; i < 10; i++) {
			__builtin_memset(b, 0, sizeof(*b));
			__builtin_memcpy(b->path, rules[i], sizeof(rules[i]));
			b->role = 1;
			/* An exact rule: its bytes and the NUL (role and kind are 8 bytes). */
			for (int j = 0; j < 20; j++)
				if (!rules[i][j]) {
					b->prefixlen = (8 + j + 1) * 8;
					break;
				}
			bpf_map_update_elem(&trie, b, &one, 0);
		}
	}
#endif
#if defined(PART_D_PATH) || defined(PART_LPM)
	bpf_d_path((struct path *)&file->f_path, b->path, sizeof(b->path));
#endif
#ifdef PART_LPM
	b->role = 1;
	b->kind = 0;
	b->prefixlen = (8 + sizeof(b->path)) * 8;
	if (bpf_map_lookup_elem(&trie, b))
		return 0;
#endif
#if defined(PART_PROBE) || defined(PART_CAST)
	struct dentry *d = file->f_path.dentry;
	unsigned long p;

	for (int i = 0; i < 2; i++) {
#ifdef PART_PROBE
		p = (unsigned long)BPF_CORE_READ(d, d_parent);
#else
		p = (unsigned long)bpf_core_cast(d, struct dentry)->d_parent;
#endif
		d = (void *)p;
		if (!d)
			return 0;
	}
	asm volatile("" ::"r"(d));
#endif
#ifdef PART_HASH
	struct object_key k = { .role = 1, .dev = file->f_inode->i_sb->s_dev, .ino = file->f_inode->i_ino };

	if (bpf_map_lookup_elem(&objects, &k))
		return 0;
#endif
	return 0;
}
