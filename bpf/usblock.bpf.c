// SPDX-License-Identifier: GPL-2.0
/*
 * usblock: who may drive the kernel's USB authorization. No LSM hook sees a USB device
 * enumerate; the kernel's own authorization (authorized_default = 0 on each root hub,
 * Documentation/usb/authorization.rst) keeps a new device unconfigured until something
 * writes its `authorized` file. `bpflock usb-authorize` writes those files from the pinned
 * rules; this program keeps everyone else off them: writes to a USB device's or interface's
 * `authorized` and `remove`, a root hub's defaults, usbcore's `authorized_default`
 * parameter, the USB bus' and drivers' bind, unbind, new_id, remove_id, drivers_probe
 * and drivers_autoprobe, and usbip's vhci_hcd `attach`. Under baseline, refused outside
 * the initial pid namespace; under restricted, to everyone but the bpflock executable
 * bootstrap recorded.
 *
 * Files are told by what they are, not by the path used: sysfs' superblock, the dentry
 * chain up to that superblock's root (kernel-owned names: "bus", "usb", "drivers",
 * "module"), and for device attributes the device behind the directory: its kobject's
 * kset is "devices" and its bus is named "usb" (Thunderbolt's `authorized` is on bus
 * "thunderbolt", PCI's `remove` on "pci": left alone). A second sysfs mount, a bind mount
 * or a symlink reaches the same kernfs nodes. Where the device cannot be read (6.1 under
 * lockdown=confidentiality: neither the read-only cast nor bpf_probe_read_kernel), every
 * file with one of these names is refused: fails closed.
 */
#include "bpflock.bpf.h"
#include "usblock.h"
#include "events.bpf.h"
#include "pins.bpf.h"
#include "dname.bpf.h"
#include "vfs.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define SYSFS_MAGIC 0x62656572
#define FMODE_WRITE 0x2
#define MAY_WRITE   0x2

const volatile __u32 usblock_profile = PROFILE_ALLOW;
/* Read by `bpflock usb-authorize` from the pinned config, not by the programs: */
const volatile bool usblock_present_allow = false; /* present = "allow" */
const volatile __u32 usblock_rule_count = 0;

/* The rules, in policy order (bpflock usb-authorize reads them; frozen at bootstrap). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USBLOCK_MAX_RULES);
	__type(key, __u32);
	__type(value, struct usblock_rule);
	__uint(map_flags, BPF_F_RDONLY_PROG);
} usblock_rules SEC(".maps");

/* The USB devices attached at the boot's first bootstrap, by their sysfs directory's inode
 * (kernfs id with its generation: unique for the boot). Frozen. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, USBLOCK_MAX_PRESENT);
	__type(key, __u64);
	__type(value, __u8);
	__uint(map_flags, BPF_F_RDONLY_PROG);
} usblock_present SEC(".maps");

/* sysfs' objects (fs/kernfs, drivers/base): a directory's kernfs node holds its kobject. */
struct kernfs_node___local {
	void *priv;
} __local_type;

struct kobject___local {
	const char *name;
	struct kset___local *kset;
} __local_type;

struct kset___local {
	struct kobject___local kobj;
} __local_type;

struct bus_type___local {
	const char *name;
} __local_type;

struct device___local {
	struct kobject___local kobj;
	const struct bus_type___local *bus;
} __local_type;

/* A kernel string read through a char array type the kernel's BTF has (init_uts_ns'). */
struct new_utsname___local {
	char sysname[65];
} __local_type;

enum usb_answer { USB_NO = 0, USB_YES = 1, USB_UNKNOWN = 2 };

/* Whether kernel objects behind void pointers can be read at all. */
static __always_inline bool can_read_objects(void)
{
	return bpf_ksym_exists(bpf_rdonly_cast) || bpflock_read_kernel;
}

/* Whether the kernel string at `p` is `want` (`size` bytes with its NUL, at most 16). */
static __always_inline int kstr_is(unsigned long p, const char *want, __u32 size)
{
	char buf[16] = {};

	if (!p)
		return USB_UNKNOWN;
	if (bpf_ksym_exists(bpf_rdonly_cast)) {
		struct new_utsname___local *s = bpf_core_cast((void *)p, struct new_utsname___local);

		for (__u32 i = 0; i < size && i < sizeof(buf); i++)
			if (s->sysname[i] != want[i])
				return USB_NO;
		return USB_YES;
	}
	if (!bpflock_read_kernel || bpf_probe_read_kernel_str(buf, sizeof(buf), (void *)p) < 0)
		return USB_UNKNOWN;
	for (__u32 i = 0; i < size && i < sizeof(buf); i++)
		if (buf[i] != want[i])
			return USB_NO;
	return USB_YES;
}

/*
 * Whether the sysfs directory `dir` is a device on the USB bus (a USB device, root hubs
 * included, or one of its interfaces), and its name into `name`. USB_UNKNOWN where it
 * cannot be read.
 */
static __always_inline int usb_device_dir(struct dentry___local *dir, unsigned long *name)
{
	struct inode___local *inode;
	unsigned long kn, kobj, kset, dev, bus;
	int is;

	if (!dir || !can_read_objects())
		return USB_UNKNOWN;
	inode = dentry_inode(dir);
	if (!inode)
		return USB_UNKNOWN;
	kn = (unsigned long)inode->i_private;
	if (!kn)
		return USB_UNKNOWN;
	kobj = vfs_read(kn, struct kernfs_node___local, priv);
	if (!kobj)
		return USB_UNKNOWN;
	kset = vfs_read(kobj, struct kobject___local, kset);
	if (!kset)
		return USB_NO; /* not a device: every struct device is in devices_kset */
	is = kstr_is(vfs_read(kset, struct kset___local, kobj.name), "devices", sizeof("devices"));
	if (is != USB_YES)
		return is;
	dev = kobj - bpf_core_field_offset(struct device___local, kobj);
	bus = vfs_read(dev, struct device___local, bus);
	if (!bus)
		return USB_NO; /* a device on no bus (usb_port among them) */
	*name = vfs_read(kobj, struct kobject___local, name);
	return kstr_is(vfs_read(bus, struct bus_type___local, name), "usb", sizeof("usb"));
}

/* Whether `d` is a directory right below sysfs' root, named `top`. */
#define TOP_DIR(d, root, top) ((d) && read_ptr((d)->d_parent) == (root) && NAMED(d, top))

/*
 * The USB authorization file `file` is, as an enum usblock_op, or -1; `object` gets the
 * device's name or the file's. Not inlined: one copy for both programs.
 */
static __noinline int usb_op_of(struct file___local *file, unsigned long *object)
{
	struct dentry___local *d = read_ptr(file->f_path.dentry), *parent, *up, *root;
	struct inode___local *inode = read_ptr(file->f_inode);
	struct super_block___local *sb;
	int op, is;

	if (!inode || !d)
		return -1;
	sb = read_ptr(inode->i_sb);
	if (!sb || sb->s_magic != SYSFS_MAGIC)
		return -1;
	root = read_ptr(sb->s_root);
	parent = read_ptr(d->d_parent);
	if (!parent || parent == d)
		return -1;
	*object = (unsigned long)d->d_name.name;
	up = read_ptr(parent->d_parent);
	/* /sys/module/usbcore/parameters/authorized_default */
	if (NAMED(d, "authorized_default") && NAMED(parent, "parameters") && up && NAMED(up, "usbcore") &&
	    TOP_DIR(read_ptr(up->d_parent), root, "module"))
		return USBLOCK_PARAM_AUTHORIZED_DEFAULT;
	/* /sys/bus/usb/{drivers_probe,drivers_autoprobe} */
	if (NAMED(d, "drivers_probe") || NAMED(d, "drivers_autoprobe"))
		return NAMED(parent, "usb") && TOP_DIR(up, root, "bus") ? USBLOCK_DRIVERS_PROBE : -1;
	/* /sys/bus/usb/drivers/<driver>/{bind,unbind,new_id,remove_id} */
	if (NAMED(d, "bind") || NAMED(d, "unbind") || NAMED(d, "new_id") || NAMED(d, "remove_id")) {
		struct dentry___local *bus;

		if (!up || !NAMED(up, "drivers"))
			return -1;
		bus = read_ptr(up->d_parent);
		return bus && NAMED(bus, "usb") && TOP_DIR(read_ptr(bus->d_parent), root, "bus") ? USBLOCK_DRIVER : -1;
	}
	/* /sys/devices/platform/vhci_hcd.N/attach: usbip plugs a device made elsewhere (its
	 * descriptors whatever the other end says) into this host's USB. The directory is
	 * the platform device's, named by the vhci_hcd driver. A name kept out of line is no
	 * "vhci_hcd." one (every such name is short): not ours. */
	if (NAMED(d, "attach"))
		return NAMED_PREFIX(parent, "vhci_hcd.") ? USBLOCK_VHCI_ATTACH : -1;
	/* A USB device's or interface's own attributes: decided by the device. */
	if (NAMED(d, "authorized"))
		op = USBLOCK_AUTHORIZED;
	else if (NAMED(d, "authorized_default") || NAMED(d, "interface_authorized_default"))
		op = USBLOCK_AUTHORIZED_DEFAULT;
	else if (NAMED(d, "remove"))
		op = USBLOCK_REMOVE;
	else
		return -1;
	is = usb_device_dir(parent, object);
	return is == USB_NO ? -1 : op; /* USB_UNKNOWN: refused, as USB */
}

static __always_inline int usblock_write(void *ctx, __u32 hook, struct file___local *file)
{
	unsigned long object = 0;
	int op = usb_op_of(file, &object), ret;

	if (op < 0)
		return 0;
	if (usblock_profile == PROFILE_RESTRICTED && is_bpflock_exe())
		ret = 0;
	else
		ret = profile_decide(usblock_profile, false, false);
	return lock_verdict(ctx, PROT_USBLOCK, hook, op, ret, (const char *)object);
}

SEC("lsm/file_open")
int BPF_PROG(usblock_file_open, struct file___local *file, int ret)
{
	if (ret)
		return ret;
	if (!(file->f_mode & FMODE_WRITE))
		return 0;
	return usblock_write(ctx, HOOK_FILE_OPEN, file);
}

/* Each write: through a descriptor opened before bootstrap, or passed from another task. */
SEC("lsm/file_permission")
int BPF_PROG(usblock_file_permission, struct file___local *file, int mask, int ret)
{
	if (ret)
		return ret;
	if (!(mask & MAY_WRITE))
		return 0;
	return usblock_write(ctx, HOOK_FILE_PERMISSION, file);
}

/* bpflock's pins, out of reach of the tasks this lock restricts (pins.bpf.h). */
BPFLOCK_PINS_GUARD(usblock, PROT_USBLOCK, usblock_profile)
