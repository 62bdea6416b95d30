#!/bin/bash
# The per-kernel part of a test guest's initramfs: a real module of that kernel (minix,
# no dependencies, signed by Debian), uncompressed, with modules.dep/alias from depmod,
# and a copy at /modules/minix.ko for the cases.
#   mkmodules.sh KERNEL_DIR OUTPUT
set -euo pipefail
kdir=${1:?usage: mkmodules.sh KERNEL_DIR OUTPUT}; output=${2:?}
version=$(cat "$kdir/version")
src="$kdir/root/lib/modules/$version"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
dst="$work/lib/modules/$version"
mkdir -p "$dst/kernel/fs/minix" "$work/modules"
ko=$(ls "$src"/kernel/fs/minix/minix.ko* | head -1)
case "$ko" in
    *.xz) xz -dc "$ko" > "$dst/kernel/fs/minix/minix.ko" ;;
    *.zst) zstd -dqc "$ko" > "$dst/kernel/fs/minix/minix.ko" ;;
    *) cp "$ko" "$dst/kernel/fs/minix/minix.ko" ;;
esac
cp "$src"/modules.builtin* "$src"/modules.order "$dst/" 2>/dev/null || true
depmod -b "$work" "$version"
cp "$dst/kernel/fs/minix/minix.ko" "$work/modules/minix.ko"
(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$output"
