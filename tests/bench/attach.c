// SPDX-License-Identifier: GPL-2.0
/* attach OBJ DIR: loads a BPF object, attaches every program, pins the links in DIR. */
#include <bpf/libbpf.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	char path[256];

	if (argc != 3) {
		fprintf(stderr, "usage: attach OBJ DIR\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "attach: cannot load %s\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *link = bpf_program__attach(prog);

		snprintf(path, sizeof(path), "%s/%s", argv[2], bpf_program__name(prog));
		if (!link || bpf_link__pin(link, path)) {
			fprintf(stderr, "attach: cannot attach and pin %s\n", path);
			return 1;
		}
	}
	return 0;
}
