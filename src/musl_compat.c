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
