// SPDX-License-Identifier: GPL-2.0
/*
 * Never loaded. Compiled like the protections so that the Rust side takes the types every
 * protection shares (struct bpflock_event) from this skeleton's generated types, not from a
 * copy (src/events.rs).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

struct bpflock_event bpflock_event_layout;
