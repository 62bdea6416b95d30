/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usblock's event operations and its pinned rules (Rust: src/abi.rs for the constants, the
 * skeleton for the structs). The programs never read the rules: `bpflock usb-authorize`
 * does, from the frozen pinned maps, so that an edited policy file changes nothing until
 * the next bootstrap.
 */
#ifndef BPFLOCK_USBLOCK_H
#define BPFLOCK_USBLOCK_H

/* What a refused write would have changed. */
enum usblock_op {
	USBLOCK_AUTHORIZED = 0,               /* a USB device's or interface's `authorized` */
	USBLOCK_AUTHORIZED_DEFAULT = 1,       /* a root hub's `authorized_default`, `interface_authorized_default` */
	USBLOCK_PARAM_AUTHORIZED_DEFAULT = 2, /* /sys/module/usbcore/parameters/authorized_default */
	USBLOCK_REMOVE = 3,                   /* a USB device's `remove` (logical disconnect) */
	USBLOCK_DRIVER = 4,                   /* a USB driver's bind, unbind, new_id, remove_id */
	USBLOCK_DRIVERS_PROBE = 5,            /* the USB bus' drivers_probe, drivers_autoprobe */
	USBLOCK_VHCI_ATTACH = 6,              /* usbip's vhci_hcd.N/attach: a device over the network */
};

#define USBLOCK_MAX_RULES 256
#define USBLOCK_MAX_PRESENT 1024
/* Classes a rule may list (an interface matches one of them). */
#define USBLOCK_RULE_CLASSES 16
#define USBLOCK_PORT_LEN 32
#define USBLOCK_SERIAL_LEN 256
#define USBLOCK_AT_LEN 96

/* What a rule matches on: its keys are ANDed. */
enum usblock_match {
	USBLOCK_MATCH_VENDOR = 1,
	USBLOCK_MATCH_PRODUCT = 2,
	USBLOCK_MATCH_SERIAL = 4,
	USBLOCK_MATCH_PORT = 8,
	USBLOCK_MATCH_CLASS = 16,
};

/* An interface class pattern: the fields whose bit is in `mask` (1 class, 2 subclass,
 * 4 protocol) must be equal. */
struct usblock_class {
	__u8 cls;
	__u8 subclass;
	__u8 protocol;
	__u8 mask;
};

struct usblock_rule {
	__u32 match; /* enum usblock_match bits */
	__u16 vendor;
	__u16 product;
	__u32 n_classes;
	struct usblock_class classes[USBLOCK_RULE_CLASSES];
	char port[USBLOCK_PORT_LEN];     /* the device's sysfs name: "1-1.2" */
	char serial[USBLOCK_SERIAL_LEN];
	char at[USBLOCK_AT_LEN];         /* where the policy wrote it: "policy.toml:9:5" */
};

#endif
