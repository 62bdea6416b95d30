/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A dentry's name compared with a constant, from the dentry's inline name with BTF loads,
 * which lockdown=confidentiality leaves to BPF (fslock, usblock). The names matched are the
 * kernel's own (procfs, sysfs), all short, so kept inline. Include after bpflock.bpf.h.
 */
#ifndef BPFLOCK_DNAME_BPF_H
#define BPFLOCK_DNAME_BPF_H

/* Where a short name is kept in the dentry: d_shortname since 6.14, d_iname before. */
union shortname_store___local {
	unsigned char string[40];
} __local_type;

struct dentry___short {
	struct qstr___local d_name;
	union shortname_store___local d_shortname;
} __local_type;

struct dentry___iname {
	struct qstr___local d_name;
	unsigned char d_iname[32];
} __local_type;

/* The first 32 bytes of a short dentry name (every name matched is shorter:
 * "interface_authorized_default" is the longest, 28). */
struct dname {
	__u64 w[4];
};

/*
 * Reads a dentry's inline name into `n`, false where the name is kept elsewhere (a long
 * name). One function per layout, not inlined: the compiler may not merge the two
 * layouts' field relocations, of which the running kernel has only one.
 */
static __noinline bool dname_read_short(struct dentry___short *d, struct dname *n)
{
	if ((unsigned long)d->d_name.name != (unsigned long)&d->d_shortname)
		return false;
	n->w[0] = *(__u64 *)&d->d_shortname.string[0];
	n->w[1] = *(__u64 *)&d->d_shortname.string[8];
	n->w[2] = *(__u64 *)&d->d_shortname.string[16];
	n->w[3] = *(__u64 *)&d->d_shortname.string[24];
	return true;
}

static __noinline bool dname_read_iname(struct dentry___iname *d, struct dname *n)
{
	if ((unsigned long)d->d_name.name != (unsigned long)&d->d_iname)
		return false;
	n->w[0] = *(__u64 *)&d->d_iname[0];
	n->w[1] = *(__u64 *)&d->d_iname[8];
	n->w[2] = *(__u64 *)&d->d_iname[16];
	n->w[3] = *(__u64 *)&d->d_iname[24];
	return true;
}

/*
 * Whether a dentry is named `want` (len bytes, a constant). A name kept elsewhere (longer
 * than the inline store) is not matched: no name matched here is that long.
 */
static __always_inline bool dname_is(struct dentry___local *d, const char *want, __u32 len)
{
	struct dname n = {};
	bool inline_name;

	if (!d || d->d_name.len != len || len >= sizeof(n))
		return false;
	if (bpf_core_field_exists(struct dentry___short, d_shortname))
		inline_name = dname_read_short((struct dentry___short *)d, &n);
	else
		inline_name = dname_read_iname((struct dentry___iname *)d, &n);
	if (!inline_name)
		return false;
	for (__u32 i = 0; i < len; i++)
		if (((const char *)n.w)[i] != want[i])
			return false;
	return true;
}

/* Whether a dentry's name starts with `want` (len bytes, a constant). */
static __always_inline bool dname_starts(struct dentry___local *d, const char *want, __u32 len)
{
	struct dname n = {};
	bool inline_name;

	if (!d || d->d_name.len < len || len >= sizeof(n))
		return false;
	if (bpf_core_field_exists(struct dentry___short, d_shortname))
		inline_name = dname_read_short((struct dentry___short *)d, &n);
	else
		inline_name = dname_read_iname((struct dentry___iname *)d, &n);
	if (!inline_name)
		return false;
	for (__u32 i = 0; i < len; i++)
		if (((const char *)n.w)[i] != want[i])
			return false;
	return true;
}

#define NAMED(d, literal) dname_is(d, literal, sizeof(literal) - 1)
#define NAMED_PREFIX(d, literal) dname_starts(d, literal, sizeof(literal) - 1)

#endif
