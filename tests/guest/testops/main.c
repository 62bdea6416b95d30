// SPDX-License-Identifier: GPL-2.0
/* testops' command line (testops.h): finds an operation among those every file registers. */
#include "testops.h"

extern const struct testop __start_testops[], __stop_testops[];

static const struct testop *find(const char *name)
{
	for (const struct testop *op = __start_testops; op < __stop_testops; op++)
		if (!strcmp(op->name, name))
			return op;
	return NULL;
}

/* An operation without an argument. */
static int run_op(const char *name, int *known)
{
	const struct testop *op = find(name);

	*known = op && !op->run_arg;
	if (!*known)
		return EINVAL;
	return op->run ? op->run() : open_close(op->path, op->flags);
}

int main(int argc, char **argv)
{
	int known, err = 0;
	const char *name = strrchr(argv[0], '/');

	if (!strcmp(name ? name + 1 : argv[0], "shutdown"))
		return exitrd_payload();
	if (argc == 4 && !strcmp(argv[1], "repeat")) {
		unsigned long attempts = 0, ok = 0;

		while (access(argv[3], F_OK)) {
			attempts++;
			ok += run_op(argv[2], &known) == 0;
			if (!known)
				break;
		}
		printf("attempts %lu ok %lu\n", attempts, ok);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "times")) {
		unsigned long n = strtoul(argv[2], NULL, 10), ok = 0;

		for (unsigned long i = 0; i < n; i++) {
			ok += run_op(argv[3], &known) == 0;
			if (!known)
				return 2;
		}
		printf("attempts %lu ok %lu\n", n, ok);
		return 0;
	}
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: testops OP [ARG] | testops repeat OP STOPFILE | testops times N OP\n");
		return 2;
	}
	if (argc == 3) {
		const struct testop *op = find(argv[1]);

		if (!op || !op->run_arg) {
			fprintf(stderr, "testops: unknown operation %s\n", argv[1]);
			return 2;
		}
		err = op->run_arg(argv[2]);
		goto print;
	}
	err = run_op(argv[1], &known);
	if (!known) {
		fprintf(stderr, "testops: unknown operation %s\n", argv[1]);
		return 2;
	}
print:
	if (!err) {
		puts("ok");
		return 0;
	}
	if (err >= 1000)
		printf("EXIT%d\n", err - 1000);
	else
		puts(strerrorname_np(err) ? strerrorname_np(err) : "E?");
	return 1;
}

