// SPDX-License-Identifier: GPL-2.0
/*
 * `make test-unit`: the memcpy of src/musl_compat.c (every memcpy call of the static musl
 * binary) against a byte loop, for every length up to past its 512-byte switch to
 * `rep movsb` and every alignment of source and destination; the bytes around the
 * destination must stay untouched.
 */
#include <stdio.h>
#include <string.h>

void *__wrap_memcpy(void *restrict dst, const void *restrict src, size_t n);

int main(void)
{
	static unsigned char src[1200], dst[1200];
	int failures = 0;

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 131 + 7);
	for (size_t n = 0; n <= 1100; n++) {
		for (size_t s = 0; s < 16; s++) {
			for (size_t d = 0; d < 16; d++) {
				memset(dst, 0xa5, sizeof(dst));
				if (__wrap_memcpy(dst + d, src + s, n) != dst + d)
					failures++;
				for (size_t i = 0; i < sizeof(dst); i++) {
					unsigned char want = i >= d && i < d + n ? src[s + i - d] : 0xa5;

					if (dst[i] != want) {
						if (failures++ < 5)
							fprintf(stderr, "n=%zu src+%zu dst+%zu: byte %zu wrong\n", n, s, d, i);
						break;
					}
				}
			}
		}
	}
	printf("musl_compat memcpy: %s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
