#!/bin/bash
# `make demo`: what bpflock says on this host, then the same policy enforced in a guest.
#   demo.sh GUEST_DIR KERNEL
set -euo pipefail
guest=${1:?usage: demo.sh GUEST_DIR KERNEL}
kernel=${2:?}
bin=target/x86_64-unknown-linux-musl/release/bpflock
echo "== this host: $(uname -r)"
echo "# bpflock probe"
"$bin" probe 2>&1 | sed 's/^/  /' || echo "  (exit $?: bpflock pins nothing on a kernel that cannot enforce)"
echo
echo "== a QEMU guest booting Debian's $kernel kernel ($(cat "$guest/kernel-$kernel/version"))"
qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -no-reboot -display none -monitor none -serial stdio \
    -kernel "$guest/kernel-$kernel/vmlinuz" -initrd "$guest/initramfs-demo.cpio.gz" \
    -append "console=ttyS0 panic=-1 quiet" </dev/null \
    | tr -d '\r' | sed -n '/BPFLOCK-DEMO-BEGIN/,/BPFLOCK-DEMO-END/p' | grep -v 'BPFLOCK-DEMO'
