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
# The modules the cases use, with everything modules.dep says they need: minix (loaded,
# autoloaded), test_firmware (requests firmware), dummy (loaded from a read-only disk),
# virtio_blk and ext4 (to mount that disk).
wanted="fs/minix/minix lib/test_firmware drivers/net/dummy drivers/block/virtio_blk fs/ext4/ext4"
# Modules on some kernels only, built in or gone on others: virtio_pci (the transport
# virtio_blk needs), crc32c_generic (6.x's crc32c for ext4; a library in 7.x); overlay
# (the overlay cases: since 6.6 its files are backed by files of kernel-internal mounts);
# binfmt_misc, configfs and loop (fslock's cases: built in on some kernels).
optional="drivers/virtio/virtio_pci crypto/crc32c_generic fs/overlayfs/overlay fs/binfmt_misc fs/configfs/configfs drivers/block/loop"
# usblock's: the xHCI controller QEMU plugs devices into, and the drivers of those devices
# (keyboard, storage, network adapter), nothing autoloaded (no udev in the guest).
optional="$optional drivers/usb/host/xhci-pci drivers/hid/usbhid/usbhid drivers/hid/hid-generic drivers/usb/storage/usb-storage drivers/scsi/sd_mod drivers/net/usb/cdc_ether drivers/net/usb/rndis_host drivers/usb/usbip/vhci-hcd"
closure=""
for rel in $wanted $optional; do
    line=$(grep -E "^kernel/$rel\.ko(\.xz|\.zst)?:" "$src/modules.dep" || true)
    if [ -z "$line" ]; then
        case " $optional " in *" $rel "*) continue ;; esac
        echo "mkmodules: $version has no module $rel" >&2; exit 1
    fi
    closure="$closure ${line%%:*} ${line#*:}"
done
for ko in $(echo $closure | tr ' ' '\n' | sort -u); do
    rel=${ko%.xz}; rel=${rel%.zst}
    mkdir -p "$dst/$(dirname "$rel")"
    case "$ko" in
        *.xz) xz -dc "$src/$ko" > "$dst/$rel" ;;
        *.zst) zstd -dqc "$src/$ko" > "$dst/$rel" ;;
        *) cp "$src/$ko" "$dst/$rel" ;;
    esac
done
# A firmware file on the root filesystem, for test_firmware to load.
mkdir -p "$work/lib/firmware"
echo "bpflock test firmware" > "$work/lib/firmware/bpflock-test.bin"
cp "$src"/modules.builtin* "$src"/modules.order "$dst/" 2>/dev/null || true
depmod -b "$work" "$version"
cp "$dst/kernel/fs/minix/minix.ko" "$work/modules/minix.ko"
cp "$dst/kernel/drivers/net/dummy.ko" "$work/modules/dummy.ko"
# A disk for the ro_dev case, attached read-only by the harness: ext2 holding dummy.ko.
rodir=$(mktemp -d)
cp "$dst/kernel/drivers/net/dummy.ko" "$rodir/dummy.ko"
rm -f "${output%.cpio.gz}.rodisk.img"
mke2fs -q -t ext2 -d "$rodir" "${output%.cpio.gz}.rodisk.img" 8M
rm -rf "$rodir"
(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$output"
