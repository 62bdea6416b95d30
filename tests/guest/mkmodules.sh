#!/bin/bash
# The per-kernel part of a test guest's initramfs: real modules of that kernel (minix, no
# dependencies, signed by Debian; test_firmware), uncompressed, with modules.dep/alias from
# depmod, a copy of minix at /modules/minix.ko, and a firmware file.
#   mkmodules.sh KERNEL_DIR OUTPUT
set -euo pipefail
kdir=${1:?usage: mkmodules.sh KERNEL_DIR OUTPUT}; output=${2:?}
version=$(cat "$kdir/version")
src="$kdir/root/lib/modules/$version"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
dst="$work/lib/modules/$version"
mkdir -p "$work/modules"
# minix: the module the cases load; test_firmware: requests firmware on demand.
for rel in fs/minix/minix lib/test_firmware; do
    mkdir -p "$dst/kernel/$(dirname "$rel")"
    ko=$(ls "$src/kernel/$rel".ko* | head -1)
    case "$ko" in
        *.xz) xz -dc "$ko" > "$dst/kernel/$rel.ko" ;;
        *.zst) zstd -dqc "$ko" > "$dst/kernel/$rel.ko" ;;
        *) cp "$ko" "$dst/kernel/$rel.ko" ;;
    esac
done
# A firmware file on the root filesystem, for test_firmware to load.
mkdir -p "$work/lib/firmware"
echo "bpflock test firmware" > "$work/lib/firmware/bpflock-test.bin"
cp "$src"/modules.builtin* "$src"/modules.order "$dst/" 2>/dev/null || true
depmod -b "$work" "$version"
cp "$dst/kernel/fs/minix/minix.ko" "$work/modules/minix.ko"
(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$output"
