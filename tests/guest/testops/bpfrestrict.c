// SPDX-License-Identifier: GPL-2.0
/* bpfrestrict's operations: bpf() commands, and a program that writes user memory. */
#include "testops.h"

static int op_map_create(void)
{
	union bpf_attr attr = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
				.max_entries = 1 };
	int fd = sys_bpf(BPF_MAP_CREATE, &attr);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Root rewriting a pinned map's first entry with zeros (bpftool map update, by hand). */
static int op_map_zero(const char *path)
{
	union bpf_attr get = { .pathname = (uintptr_t)path };
	struct bpf_map_info info = { 0 };
	union bpf_attr by_fd = { 0 }, update = { 0 };
	static char zeros[1 << 16];
	__u32 key = 0;
	int fd = sys_bpf(BPF_OBJ_GET, &get), ret;

	if (fd < 0)
		return errno;
	by_fd.info.bpf_fd = fd;
	by_fd.info.info_len = sizeof(info);
	by_fd.info.info = (uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &by_fd) || info.value_size > sizeof(zeros)) {
		close(fd);
		return EINVAL;
	}
	update.map_fd = fd;
	update.key = (uintptr_t)&key;
	update.value = (uintptr_t)zeros;
	ret = sys_bpf(BPF_MAP_UPDATE_ELEM, &update) ? errno : 0;
	close(fd);
	return ret;
}

static int load_prog(int type, const struct bpf_insn *insns, int n)
{
	union bpf_attr attr = { 0 };
	int fd;

	attr.prog_type = type;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = n;
	attr.license = (uintptr_t)"GPL";
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int op_prog_load(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 }, /* r0 = 0 */
		{ .code = BPF_JMP | BPF_EXIT },
	};
	return load_prog(BPF_PROG_TYPE_SOCKET_FILTER, insns, 2);
}

/* A kprobe program calling bpf_probe_write_user(0, fp-8, 8): the verifier asks
 * security_locked_down(LOCKDOWN_BPF_WRITE_USER) for the helper; when that is denied
 * the helper is unknown and the load fails with EINVAL. */
static int op_bpf_write(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = 10, .off = -8, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 1, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 2, .src_reg = 10 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 2, .imm = -8 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 3, .imm = 8 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_probe_write_user },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	return load_prog(BPF_PROG_TYPE_KPROBE, insns, sizeof(insns) / sizeof(insns[0]));
}

/* The smallest valid BTF: one 32-bit int named "int". */
static int op_btf_load(void)
{
	struct {
		struct btf_header hdr;
		struct btf_type type;
		uint32_t encoding;
		char strings[5];
	} __attribute__((packed)) blob = {
		.hdr = { .magic = BTF_MAGIC, .version = BTF_VERSION, .hdr_len = sizeof(struct btf_header),
			 .type_off = 0, .type_len = sizeof(struct btf_type) + 4,
			 .str_off = sizeof(struct btf_type) + 4, .str_len = 5 },
		.type = { .name_off = 1, .info = BTF_KIND_INT << 24, .size = 4 },
		.encoding = 32,
		.strings = "\0int",
	};
	union bpf_attr attr = { 0 };
	int fd;

	attr.btf = (uintptr_t)&blob;
	attr.btf_size = sizeof(blob);
	fd = sys_bpf(BPF_BTF_LOAD, &attr);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

TESTOP("map_create", op_map_create);
TESTOP_ARG("map_zero", op_map_zero);
TESTOP("prog_load", op_prog_load);
TESTOP("btf_load", op_btf_load);
TESTOP("bpf_write", op_bpf_write);
