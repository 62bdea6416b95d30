// SPDX-License-Identifier: GPL-2.0
/*
 * The static binary is built on musl (a third the size of static glibc), but links Debian's
 * libelf.a and libz.a, which were compiled against glibc with _FORTIFY_SOURCE. These are
 * the only glibc entry points they reference that musl lacks; a new one fails the link.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Fortified variants: the buffer size checks are the compiler's, not needed to be correct. */
int __vsnprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, va_list ap)
{
	(void)flag;
	(void)slen;
	return vsnprintf(s, n, fmt, ap);
}

int __snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, ...)
{
	va_list ap;
	int ret;

	(void)flag;
	(void)slen;
	va_start(ap, fmt);
	ret = vsnprintf(s, n, fmt, ap);
	va_end(ap);
	return ret;
}

/* off_t is 64-bit on musl: the *64 names are the plain ones. */
off_t lseek64(int fd, off_t offset, int whence)
{
	return lseek(fd, offset, whence);
}

/* The byte is known to be there: strlen-like scan with no bound. */
void *rawmemchr(const void *s, int c)
{
	const unsigned char *p = s;

	while (*p != (unsigned char)c)
		p++;
	return (void *)p;
}

#if defined(__x86_64__)
/*
 * musl's x86_64 memcpy moves the unaligned head and tail of every copy a byte at a time,
 * after a `rep movsq` whose start-up dominates short copies. The forwarder builds each
 * journal entry from ~50 copies of a few bytes: this one moves them in at most four
 * overlapping loads and stores, up to 512 bytes 16 at a time, longer ones with `rep movsb`
 * (fast on every x86-64 since Ivy Bridge). build.rs links it in
 * with --wrap=memcpy: every call to memcpy outside libc comes here; musl's own memmove
 * keeps musl's forward copy, which must stay safe on overlapping buffers.
 */
void *__wrap_memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	typedef unsigned long long __attribute__((may_alias, aligned(1))) u64u;
	typedef unsigned int __attribute__((may_alias, aligned(1))) u32u;

	if (n >= 512) {
		/* Long copies (libbpf's copy of the kernel's BTF): the CPU's fast string move. */
		__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	} else if (n >= 16) {
		size_t i = 0;

		for (; i + 16 <= n; i += 16) {
			*(u64u *)(d + i) = *(const u64u *)(s + i);
			*(u64u *)(d + i + 8) = *(const u64u *)(s + i + 8);
		}
		if (i < n) {
			*(u64u *)(d + n - 16) = *(const u64u *)(s + n - 16);
			*(u64u *)(d + n - 8) = *(const u64u *)(s + n - 8);
		}
	} else if (n >= 8) {
		u64u a = *(const u64u *)s, b = *(const u64u *)(s + n - 8);

		*(u64u *)d = a;
		*(u64u *)(d + n - 8) = b;
	} else if (n >= 4) {
		u32u a = *(const u32u *)s, b = *(const u32u *)(s + n - 4);

		*(u32u *)d = a;
		*(u32u *)(d + n - 4) = b;
	} else if (n) {
		unsigned char a = s[0], b = s[n / 2], c = s[n - 1];

		d[0] = a;
		d[n / 2] = b;
		d[n - 1] = c;
	}
	return dst;
}
#endif
