// SPDX-License-Identifier: GPL-2.0
/*
 * The seal: what bpflock pinned stays in force until the next boot, whoever asks — root in
 * the initial pid namespace and bpflock itself included (docs/seal.md).
 *
 * Loaded last, once every protection is pinned. bpflock records the ids of every map,
 * program and link it pinned (and the maps those programs use) in the maps below, the
 * inodes of the link pins, then arms the programs through .bss and freezes what it can.
 * Objects are told by what they are (kernel ids, inodes, the pins' superblock), never by a
 * path: a pin reached under another name, or a second mount of the BPF filesystem, is
 * the same object.
 *
 * The loading of kernel code around it (modules, kexec, /dev/mem, BPF programs that could
 * override these hooks) is the other protections' part: a sealed policy must have them
 * (src/seal.rs).
 */
#include "bpflock.bpf.h"
#include "seal.h"
#include "events.bpf.h"
#include "pins.bpf.h"
#include "vfs.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MAY_WRITE 0x2
#define MAY_READ 0x4
#define FMODE_WRITE 0x2
#define PTRACE_MODE_ATTACH 0x2
#define MNT_DETACH 0x2
#define MNT_SHARED 0x1000

/* Set by bpflock, through the memory mapping, once the maps below are filled; then frozen. */
__u32 seal_armed;
/* The pins' superblock, recorded by seal_inode_permission when bpflock reads the pin root
 * before arming: sb_umount needs it to find that filesystem's mounts. */
__u64 seal_pins_sb;
/* The system's mount of the pins (a struct mount: /sys/fs/bpf as bpflock's pin root
 * resolved), recorded by seal_file_open when bpflock opens the pin root before arming. The
 * pins live as long as it stays mounted: the unmount checks keep its mountpoint. */
__u64 seal_pins_mnt;

/* Sealed objects by kernel id. Maps: SEAL_BPFLOCK_WRITES or 0. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SEAL_MAX_OBJECTS);
	__type(key, __u32);
	__type(value, __u32);
} seal_maps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SEAL_MAX_OBJECTS);
	__type(key, __u32);
	__type(value, __u32);
} seal_progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SEAL_MAX_OBJECTS);
	__type(key, __u32);
	__type(value, __u32);
} seal_links SEC(".maps");

/* The inodes of the link pins (on the pins' superblock). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SEAL_MAX_OBJECTS);
	__type(key, __u64);
	__type(value, __u32);
} seal_link_pins SEC(".maps");

struct bpf_map___local {
	__u32 id;
} __local_type;

struct bpf_prog_aux___local {
	__u32 id;
} __local_type;

struct bpf_prog___local {
	struct bpf_prog_aux___local *aux;
} __local_type;

/* link_id sits in an anonymous member of union bpf_attr: matched by name. */
union bpf_attr___local {
	__u32 link_id;
} __local_type;

/* The two layouts of a superblock's list of mounts: a list_head through mnt_instance
 * (up to 6.x), a chain through mnt_next_for_sb (later). */
struct super_block___mounts_list {
	struct list_head s_mounts;
} __local_type;

struct mount___mounts_list {
	struct list_head mnt_instance;
} __local_type;

struct super_block___mounts_chain {
	struct mount___local *s_mounts;
} __local_type;

struct mount___mounts_chain {
	struct mount___local *mnt_next_for_sb;
} __local_type;

/* Every mount on one dentry, in any namespace: struct mountpoint's m_list, through each
 * mount's mnt_mp_list (6.1 to 7.x). */
struct mountpoint___local {
	struct hlist_head m_list;
} __local_type;

struct mount___mp {
	struct mountpoint___local *mnt_mp;
	struct hlist_node mnt_mp_list;
} __local_type;

/* Since 6.17 a mount's propagation flags are its own (T_SHARED = 1 in mnt_t_flags, an
 * anonymous enum of fs/mount.h); before, MNT_SHARED in mnt.mnt_flags. */
struct mount___t_flags {
	int mnt_t_flags;
} __local_type;
#define T_SHARED 0x1

static __always_inline bool seal_mount_shared(unsigned long m)
{
	if (bpf_core_field_exists(struct mount___t_flags, mnt_t_flags))
		return vfs_read(m, struct mount___t_flags, mnt_t_flags) & T_SHARED;
	return vfs_read(m, struct mount___local, mnt.mnt_flags) & MNT_SHARED;
}

static __always_inline int seal_deny(void *ctx, __u32 hook, __u32 op)
{
	report(ctx, PROT_SEAL, hook, op, DECISION_DENY, NULL);
	return -EPERM;
}

static __always_inline bool is_pins_sb(struct super_block___local *sb)
{
	return sb && sb->s_magic == BPF_FS_MAGIC && sb->s_dev == bpflock_pins_dev;
}

/* The bpflock executable's inode (whoever runs it). */
static __always_inline bool is_exe_inode(struct inode___local *inode)
{
	struct super_block___local *sb;

	if (!inode || !bpflock_exe_ino || inode->i_ino != bpflock_exe_ino)
		return false;
	sb = read_ptr(inode->i_sb);
	return sb && sb->s_dev == bpflock_exe_dev;
}

/* Whether a task runs the bpflock executable (the forwarder holds descriptors of its maps). */
static __always_inline bool runs_bpflock(struct task_struct___local *task)
{
	struct mm_struct___local *mm = read_ptr(task->mm);
	struct file___local *exe;

	if (!mm)
		return false;
	exe = read_ptr(mm->exe_file);
	return exe && is_exe_inode(read_ptr(exe->f_inode));
}

/*
 * Whether `dentry` is the mountpoint of the system's mount of the pins or of a mount above
 * it. Removed (rmdir, or a rename over it) from a namespace where nothing is mounted on it,
 * it takes those mounts with it everywhere (detach_mounts: no sb_umount is asked) — as in
 * `unshare -m`, `umount -l /sys`, `rmdir /sys`. A mount made on it through a shared copy
 * propagates beneath the mount there (the kernel tucks it under), which then sits on that
 * new mount's root instead. Beyond the depth followed: taken as holding it (fails closed).
 */
static __always_inline bool seal_holds_anchor(unsigned long dentry)
{
	unsigned long m = seal_pins_mnt;

	if (!m)
		return false;
	for (int i = 0; i < SEAL_MAX_MOUNT_DEPTH; i++) {
		unsigned long parent = vfs_read(m, struct mount___local, mnt_parent);

		if (!parent || parent == m)
			return false;
		if (vfs_read(m, struct mount___local, mnt_mountpoint) == dentry)
			return true;
		m = parent;
	}
	return true;
}

/* ---- the pin tree and the executable ---- */

SEC("lsm/inode_unlink")
int BPF_PROG(seal_inode_unlink, struct inode___local *dir, struct dentry___local *dentry, int ret)
{
	if (ret)
		return ret;
	if (!seal_armed)
		return 0;
	if (under_pin_root(dentry))
		return seal_deny(ctx, HOOK_INODE_UNLINK, SEAL_OP_PINS);
	if (seal_holds_anchor((unsigned long)dentry))
		return seal_deny(ctx, HOOK_INODE_UNLINK, SEAL_OP_UNMOUNT);
	/* A removed executable frees its inode number for the next file (ext4 reuses it
	 * at once), which would then be taken for bpflock. */
	if (is_exe_inode(dentry_inode(dentry)))
		return seal_deny(ctx, HOOK_INODE_UNLINK, SEAL_OP_EXE);
	return 0;
}

SEC("lsm/inode_rmdir")
int BPF_PROG(seal_inode_rmdir, struct inode___local *dir, struct dentry___local *dentry, int ret)
{
	if (ret)
		return ret;
	if (!seal_armed)
		return 0;
	if (under_pin_root(dentry))
		return seal_deny(ctx, HOOK_INODE_RMDIR, SEAL_OP_PINS);
	if (seal_holds_anchor((unsigned long)dentry))
		return seal_deny(ctx, HOOK_INODE_RMDIR, SEAL_OP_UNMOUNT);
	return 0;
}

SEC("lsm/inode_rename")
int BPF_PROG(seal_inode_rename, struct inode___local *old_dir, struct dentry___local *old_dentry,
	     struct inode___local *new_dir, struct dentry___local *new_dentry, int ret)
{
	if (ret)
		return ret;
	if (!seal_armed)
		return 0;
	if (under_pin_root(old_dentry) || under_pin_root(new_dentry))
		return seal_deny(ctx, HOOK_INODE_RENAME, SEAL_OP_PINS);
	if (seal_holds_anchor((unsigned long)new_dentry))
		return seal_deny(ctx, HOOK_INODE_RENAME, SEAL_OP_UNMOUNT);
	if (is_exe_inode(dentry_inode(old_dentry)) || is_exe_inode(dentry_inode(new_dentry)))
		return seal_deny(ctx, HOOK_INODE_RENAME, SEAL_OP_EXE);
	return 0;
}

/* Writing the executable: the bpflock that bpfrestrict and this seal trust is that inode. */
SEC("lsm/file_open")
int BPF_PROG(seal_file_open, struct file___local *file, int ret)
{
	if (ret)
		return ret;
	if (seal_armed && (file->f_mode & FMODE_WRITE) && is_exe_inode(read_ptr(file->f_inode)))
		return seal_deny(ctx, HOOK_FILE_OPEN, SEAL_OP_EXE);
	/* bpflock opening the pin root before arming: the system's mount of the pins. */
	if (!seal_armed && !seal_pins_mnt && is_bpflock_exe() && in_initial_mount_ns()) {
		struct inode___local *inode = read_ptr(file->f_inode);

		if (inode && is_pins_sb(read_ptr(inode->i_sb)))
			seal_pins_mnt = vfs_real_mount(read_ptr(file->f_path.mnt));
	}
	return 0;
}

/* ---- unmounting ---- */

enum seal_walk {
	SEAL_WALK_CLEAR = 0, /* no mount of the pins' filesystem that matters is below */
	SEAL_WALK_ABOVE = 1, /* the unmount would take one with it */
	SEAL_WALK_LIMIT = 2, /* more mounts, or deeper, than the walk follows */
};

struct seal_mounts_walk {
	unsigned long node;      /* list layout: the current list node; chain layout: the current mount */
	unsigned long head;      /* list layout: &sb->s_mounts */
	unsigned long target;    /* the struct mount being unmounted */
	unsigned long system_ns; /* the initial mount namespace (system_nsproxy) */
	unsigned long anchor_mp; /* the mountpoint of the system's mount of the pins */
	unsigned long parent_of; /* mountpoint walk: look for a mount there with this parent */
	bool lazy;               /* MNT_DETACH: the target's whole tree goes */
	int result;
	bool done;
};

/*
 * Whether unmounting w->target lazily takes mount m of the pins' filesystem with it, or
 * propagates to one that matters: m is below the target, and m is in the system's mount
 * namespace, or a mount on the way up from it is shared (an unmount propagates through
 * the peers of each unmounted mount's parent, so a private copy of /sys/fs/bpf under a
 * /sys shared with the system's still reaches the system's). A private copy in a private
 * tree frees nothing (runc unmounts its old root so).
 */
static __always_inline int seal_mount_below(struct seal_mounts_walk *w, unsigned long m)
{
	bool matters = vfs_read(m, struct mount___local, mnt_ns) == w->system_ns;

	for (int i = 0; i < SEAL_MAX_MOUNT_DEPTH; i++) {
		unsigned long parent;

		matters = matters || seal_mount_shared(m);
		parent = vfs_read(m, struct mount___local, mnt_parent);
		if (m == w->target) {
			/* The target's own unmount propagates through its parent's peers. */
			if (parent && parent != m)
				matters = matters || seal_mount_shared(parent);
			return matters ? SEAL_WALK_ABOVE : SEAL_WALK_CLEAR;
		}
		if (!parent || parent == m)
			return SEAL_WALK_CLEAR;
		m = parent;
	}
	return SEAL_WALK_LIMIT;
}

/* A walk ends at its first finding. */
static __always_inline long seal_walk_stops(struct seal_mounts_walk *w)
{
	return w->result != SEAL_WALK_CLEAR;
}

/* One mount of the superblock's list per call (list_head layout). */
static long seal_mounts_list_step(__u32 index, struct seal_mounts_walk *w)
{
	unsigned long m;

	if (!w->node) {
		/* A list_head ring has no NULL: a mount freed under the walk. */
		w->result = SEAL_WALK_LIMIT;
		return 1;
	}
	if (w->node == w->head) {
		w->done = true;
		return 1;
	}
	m = w->node - bpf_core_field_offset(struct mount___mounts_list, mnt_instance);
	w->node = vfs_read(w->node, struct list_head, next);
	w->result = seal_mount_below(w, m);
	return seal_walk_stops(w);
}

/* One mount of the superblock's chain per call (mnt_next_for_sb layout). */
static long seal_mounts_chain_step(__u32 index, struct seal_mounts_walk *w)
{
	unsigned long m = w->node;

	if (!m) {
		w->done = true;
		return 1;
	}
	w->node = vfs_read(m, struct mount___mounts_chain, mnt_next_for_sb);
	w->result = seal_mount_below(w, m);
	return seal_walk_stops(w);
}

static __noinline int seal_mounts_list(struct seal_mounts_walk *w, unsigned long sb)
{
	if (!bpf_core_field_exists(struct super_block___mounts_list, s_mounts))
		return SEAL_WALK_LIMIT;
	w->head = sb + bpf_core_field_offset(struct super_block___mounts_list, s_mounts);
	w->node = vfs_read(sb, struct super_block___mounts_list, s_mounts.next);
	bpf_loop(SEAL_MAX_SB_MOUNTS, seal_mounts_list_step, w, 0);
	return w->done || w->result ? w->result : SEAL_WALK_LIMIT;
}

static __noinline int seal_mounts_chain(struct seal_mounts_walk *w, unsigned long sb)
{
	if (!bpf_core_field_exists(struct super_block___mounts_chain, s_mounts))
		return SEAL_WALK_LIMIT;
	w->node = vfs_read(sb, struct super_block___mounts_chain, s_mounts);
	bpf_loop(SEAL_MAX_SB_MOUNTS, seal_mounts_chain_step, w, 0);
	return w->done || w->result ? w->result : SEAL_WALK_LIMIT;
}

/* Whether `target` is `m` or, for a lazy unmount, one of its ancestors. */
static __always_inline int seal_takes(struct seal_mounts_walk *w, unsigned long m)
{
	for (int i = 0; i < SEAL_MAX_MOUNT_DEPTH; i++) {
		unsigned long parent;

		if (m == w->target)
			return SEAL_WALK_ABOVE;
		if (!w->lazy)
			return SEAL_WALK_CLEAR;
		parent = vfs_read(m, struct mount___local, mnt_parent);
		if (!parent || parent == m)
			return SEAL_WALK_CLEAR;
		m = parent;
	}
	return SEAL_WALK_LIMIT;
}

/*
 * An unmount propagates by mountpoint, not by filesystem: unmounting a mount whose parent
 * is shared unmounts, in each peer and slave of that parent, whatever sits on the same
 * dentry. A copy of /sys made private, a tmpfs mounted on its fs/bpf, the copy then put in
 * /sys's peer group (MOVE_MOUNT_SET_GROUP): unmounting that tmpfs unmounted the system's
 * /sys/fs/bpf. So: no mount on the dentry the pins are mounted on, under a shared parent,
 * goes (one per call; the list holds every namespace's mounts on that dentry).
 */
static long seal_mountpoint_step(__u32 index, struct seal_mounts_walk *w)
{
	unsigned long q, parent;
	int takes;

	if (!w->node) {
		w->done = true;
		return 1;
	}
	/* Unhashed under the walk (hlist_del_init): its NULL next would end the walk early. */
	if (!vfs_read(w->node, struct hlist_node, pprev)) {
		w->result = SEAL_WALK_LIMIT;
		return 1;
	}
	q = w->node - bpf_core_field_offset(struct mount___mp, mnt_mp_list);
	w->node = vfs_read(w->node, struct hlist_node, next);
	parent = vfs_read(q, struct mount___local, mnt_parent);
	if (w->parent_of) {
		if (parent != w->parent_of)
			return 0;
		w->result = SEAL_WALK_ABOVE;
		return 1;
	}
	if (!parent || parent == q || !seal_mount_shared(parent))
		return 0;
	takes = seal_takes(w, q);
	if (takes != SEAL_WALK_CLEAR) {
		w->result = takes;
		return 1;
	}
	return 0;
}

/* The mountpoint (struct mountpoint) the system's mount of the pins sits on. */
static __always_inline unsigned long seal_anchor_mp(void)
{
	return vfs_read(seal_pins_mnt, struct mount___mp, mnt_mp);
}

static __noinline int seal_mountpoint(struct seal_mounts_walk *w)
{
	if (!w->anchor_mp)
		return SEAL_WALK_LIMIT;
	w->done = false;
	w->result = SEAL_WALK_CLEAR;
	w->node = vfs_read(w->anchor_mp, struct mountpoint___local, m_list.first);
	bpf_loop(SEAL_MAX_SB_MOUNTS, seal_mountpoint_step, w, 0);
	return w->done || w->result ? w->result : SEAL_WALK_LIMIT;
}

/*
 * Whether unmounting `target` (a struct mount; with `lazy`, its tree) detaches a mount of
 * the pins that matters, or propagates to one.
 */
static __always_inline int seal_above_pins(unsigned long target, bool lazy)
{
	struct seal_mounts_walk w = { .target = target, .lazy = lazy };
	int walk = SEAL_WALK_CLEAR;
	struct nsproxy___local *nsproxy = system_nsproxy();

	if (!seal_pins_sb || !seal_pins_mnt || !nsproxy)
		return SEAL_WALK_LIMIT;
	w.anchor_mp = seal_anchor_mp();
	w.system_ns = (unsigned long)nsproxy->mnt_ns;
	/* A plain unmount takes no tree: only propagation can reach the pins. */
	if (lazy && bpf_core_field_exists(struct super_block___mounts_list, s_mounts))
		walk = seal_mounts_list(&w, seal_pins_sb);
	else if (lazy)
		walk = seal_mounts_chain(&w, seal_pins_sb);
	if (walk != SEAL_WALK_CLEAR)
		return walk;
	return seal_mountpoint(&w);
}

/*
 * The pins' BPF filesystem is freed, every pin with it, when its last mount goes: refused
 * in every namespace. A mount above it goes without the flag MNT_DETACH only when nothing
 * is mounted below it (the kernel says EBUSY); with it, the whole tree below goes.
 */
SEC("lsm/sb_umount")
int BPF_PROG(seal_sb_umount, struct vfsmount___local *mnt, int flags, int ret)
{
	int walk;

	if (ret)
		return ret;
	if (!seal_armed)
		return 0;
	if (is_pins_sb(read_ptr(mnt->mnt_sb)))
		return seal_deny(ctx, HOOK_SB_UMOUNT, SEAL_OP_UNMOUNT);
	walk = seal_above_pins(vfs_real_mount(mnt), flags & MNT_DETACH);
	if (walk == SEAL_WALK_ABOVE)
		return seal_deny(ctx, HOOK_SB_UMOUNT, SEAL_OP_UNMOUNT);
	if (walk == SEAL_WALK_LIMIT)
		return seal_deny(ctx, HOOK_SB_UMOUNT, SEAL_OP_LIMIT);
	return 0;
}

/* ---- moving mounts ---- */

#define MS_MOVE 8192

/*
 * An unmount is checked before the kernel takes the namespace lock: a mount holding the
 * pins, moved under the unmounted one in between, would go with it. So nothing that holds
 * them moves while sealed, pid 1 included: an initramfs never seals (src/seal.rs), so no
 * switch_root is left to carry /sys, and a switch_root after that (systemd-shutdown's
 * into /run/initramfs, a soft-reboot) would run code from a writable /run as pid 1.
 */

/* A mount made or moved onto the mountpoint of the system's pins mount (or of one above it)
 * through a shared copy: it propagates there, under that mount (seal_holds_anchor). */
static __always_inline bool seal_tucks_under(const struct path___local *path)
{
	unsigned long m = vfs_real_mount(read_ptr(path->mnt));

	return m && seal_mount_shared(m) && seal_holds_anchor((unsigned long)read_ptr(path->dentry));
}

/*
 * MOVE_MOUNT_SET_GROUP puts the target mount (a mount's root, as every move's target can
 * be) in the source's peer group, which the hook cannot tell from a move. A target with a
 * mount on the pins' mountpoint would then propagate that mount's unmount to the system's
 * /sys/fs/bpf — checked at the unmount, but a join made after that check and before the
 * kernel's mount lock would not be seen. Refused up front.
 */
static __always_inline bool seal_joins_group(const struct path___local *to_path)
{
	struct seal_mounts_walk w = {};
	struct vfsmount___local *to = read_ptr(to_path->mnt);

	if (!to || read_ptr(to_path->dentry) != read_ptr(to->mnt_root) || !seal_pins_mnt)
		return false;
	w.parent_of = vfs_real_mount(to);
	w.anchor_mp = seal_anchor_mp();
	return seal_mountpoint(&w) != SEAL_WALK_CLEAR;
}

/* move_mount(2) names the moved mount: refused when it holds a mount of the pins that
 * matters (the seal_above_pins walk), in any namespace. */
SEC("lsm/move_mount")
int BPF_PROG(seal_move_mount, const struct path___local *from_path, const struct path___local *to_path, int ret)
{
	int walk;

	if (ret)
		return ret;
	if (!seal_armed)
		return 0;
	if (seal_tucks_under(to_path) || seal_joins_group(to_path))
		return seal_deny(ctx, HOOK_MOVE_MOUNT, SEAL_OP_MOVE);
	walk = seal_above_pins(vfs_real_mount(read_ptr(from_path->mnt)), true);
	/* Onto (or, MOVE_MOUNT_BENEATH, under) the root of a mount holding the pins: a mount
	 * put beneath /sys carries /sys away when it is unmounted lazily. */
	if (walk == SEAL_WALK_CLEAR) {
		struct vfsmount___local *to = read_ptr(to_path->mnt);

		if (to && read_ptr(to_path->dentry) == read_ptr(to->mnt_root))
			walk = seal_above_pins(vfs_real_mount(to), true);
	}
	if (walk == SEAL_WALK_ABOVE)
		return seal_deny(ctx, HOOK_MOVE_MOUNT, SEAL_OP_MOVE);
	if (walk == SEAL_WALK_LIMIT)
		return seal_deny(ctx, HOOK_MOVE_MOUNT, SEAL_OP_LIMIT);
	return 0;
}

/* mount(2) with MS_MOVE names its source only as a string: in the system's mount namespace,
 * where the pins are, every such move is refused. */
SEC("lsm/sb_mount")
int BPF_PROG(seal_sb_mount, const char *dev_name, const struct path___local *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	if (ret)
		return ret;
	if (!seal_armed)
		return 0;
	if (seal_tucks_under(path))
		return seal_deny(ctx, HOOK_SB_MOUNT, SEAL_OP_MOVE);
	if ((flags & MS_MOVE) && in_system_mount_ns())
		return seal_deny(ctx, HOOK_SB_MOUNT, SEAL_OP_MOVE);
	return 0;
}

/* pivot_root(2) moves the caller's root, which holds the pins in the system's namespace. */
SEC("lsm/sb_pivotroot")
int BPF_PROG(seal_sb_pivotroot, const struct path___local *old_path, const struct path___local *new_path, int ret)
{
	if (ret)
		return ret;
	if (seal_armed && in_system_mount_ns())
		return seal_deny(ctx, HOOK_SB_PIVOTROOT, SEAL_OP_MOVE);
	return 0;
}

/* ---- the objects ---- */

/* A descriptor of a sealed map, for writing (BPF_OBJ_GET, BPF_MAP_GET_FD_BY_ID). Reading
 * stays open: status and the forwarder's counters. */
SEC("lsm/bpf_map")
int BPF_PROG(seal_bpf_map, struct bpf_map___local *map, fmode_t fmode, int ret)
{
	__u32 id, *flags;

	if (ret)
		return ret;
	if (!seal_armed || !(fmode & FMODE_WRITE))
		return 0;
	id = map->id;
	flags = bpf_map_lookup_elem(&seal_maps, &id);
	if (!flags)
		return 0;
	if ((*flags & SEAL_BPFLOCK_WRITES) && is_bpflock_exe())
		return 0;
	return seal_deny(ctx, HOOK_BPF_MAP, SEAL_OP_MAP_WRITE);
}

/* A descriptor of a sealed program: only the bpflock executable's status reads its info. */
SEC("lsm/bpf_prog")
int BPF_PROG(seal_bpf_prog, struct bpf_prog___local *prog, int ret)
{
	__u32 id;

	if (ret)
		return ret;
	if (!seal_armed)
		return 0;
	id = read_ptr(prog->aux)->id;
	if (!bpf_map_lookup_elem(&seal_progs, &id) || is_bpflock_exe())
		return 0;
	return seal_deny(ctx, HOOK_BPF_PROG, SEAL_OP_PROG);
}

/* A sealed link by id. (Its pin: seal_inode_permission. The command's attr is in kernel
 * memory by now: no second read of user memory to race.) */
SEC("lsm/bpf")
int BPF_PROG(seal_bpf, int cmd, union bpf_attr___local *attr)
{
	__u32 id;

	if (!seal_armed || cmd != BPF_LINK_GET_FD_BY_ID)
		return 0;
	id = attr->link_id;
	if (!bpf_map_lookup_elem(&seal_links, &id))
		return 0;
	return seal_deny(ctx, HOOK_BPF, SEAL_OP_LINK);
}

/*
 * BPF_OBJ_GET of a link pin asks permission on its inode (read and write: the kernel has no
 * read-only link descriptor); no hook sees the link it returns. Only bpflock's status gets
 * it, for the program id. Path walks (MAY_EXEC alone) leave at the first test.
 */
SEC("lsm/inode_permission")
int BPF_PROG(seal_inode_permission, struct inode___local *inode, int mask, int ret)
{
	struct super_block___local *sb;
	__u64 ino;

	if (ret)
		return ret;
	if (!(mask & (MAY_READ | MAY_WRITE)))
		return 0;
	sb = read_ptr(inode->i_sb);
	if (!is_pins_sb(sb))
		return 0;
	if (!seal_pins_sb)
		seal_pins_sb = (__u64)sb;
	if (!seal_armed)
		return 0;
	ino = inode->i_ino;
	if (!bpf_map_lookup_elem(&seal_link_pins, &ino))
		return 0;
	if (is_bpflock_exe())
		return 0;
	return seal_deny(ctx, HOOK_INODE_PERMISSION, SEAL_OP_LINK);
}

/* ---- bpflock's processes ---- */

#define PR_SET_MM 35
#define PR_SET_MM_EXE_FILE 13
#define PR_SET_MM_MAP 14

/*
 * prctl(PR_SET_MM, PR_SET_MM_EXE_FILE or PR_SET_MM_MAP with exe_fd): a process names any
 * executable as its own (CRIU's restore), and would be taken for bpflock. Refused to
 * everyone while sealed.
 */
SEC("lsm/task_prctl")
int BPF_PROG(seal_task_prctl, int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
	     unsigned long arg5, int ret)
{
	if (ret)
		return ret;
	if (seal_armed && option == PR_SET_MM && (arg2 == PR_SET_MM_EXE_FILE || arg2 == PR_SET_MM_MAP))
		return seal_deny(ctx, HOOK_TASK_PRCTL, SEAL_OP_EXE);
	return 0;
}

/* Attaching to a bpflock process, its memory (/proc/<pid>/mem, process_vm_writev), its
 * descriptors (pidfd_getfd): all ask PTRACE_MODE_ATTACH. Pid 1 too (tgid is global): it
 * starts bpflock and its forwarder, and code put into it would be the service manager. */
SEC("lsm/ptrace_access_check")
int BPF_PROG(seal_ptrace_access_check, struct task_struct___local *child, unsigned int mode, int ret)
{
	if (ret)
		return ret;
	if (seal_armed && (mode & PTRACE_MODE_ATTACH) && (runs_bpflock(child) || child->tgid == 1))
		return seal_deny(ctx, HOOK_PTRACE_ACCESS_CHECK, SEAL_OP_PTRACE);
	return 0;
}

/* A task traced before it executes bpflock (PTRACE_TRACEME, or attached before the exec)
 * would stay traced through it. */
SEC("lsm/bprm_check_security")
int BPF_PROG(seal_bprm_check_security, struct linux_binprm___local *bprm, int ret)
{
	struct file___local *file;

	if (ret)
		return ret;
	if (!seal_armed || !current_task()->ptrace)
		return 0;
	file = read_ptr(bprm->file);
	if (file && is_exe_inode(read_ptr(file->f_inode)))
		return seal_deny(ctx, HOOK_BPRM_CHECK_SECURITY, SEAL_OP_EXEC_TRACED);
	return 0;
}
