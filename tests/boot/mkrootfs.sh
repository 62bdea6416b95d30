#!/bin/bash
# A Debian root file system for the boot tests: debootstrap minbase with systemd, udev
# and initramfs-tools, cached under target/boot/rootfs-SUITE (built once, ~1-2 min).
#   mkrootfs.sh SUITE
# The mirror is the system's own (as fetch-kernel.sh); nothing here is committed to git.
set -euo pipefail
suite=${1:?usage: mkrootfs.sh SUITE}
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/boot/rootfs-$suite"
if [[ -f "$out.done" ]]; then
    echo "mkrootfs: $suite rootfs cached in $out"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "mkrootfs: debootstrap is missing (make deps)" >&2; exit 1; }
mirror=$("$root/tests/debian-mirror.sh") || { echo "mkrootfs: cannot tell the Debian mirror" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$(dirname "$out")"
echo "mkrootfs: debootstrap $suite from $mirror"
# udev and initramfs-tools: the initramfs path is tested with Debian's own mkinitramfs;
# bpftool: counts the BPF programs loaded in the guest.
debootstrap --variant=minbase --include=systemd-sysv,udev,initramfs-tools,kmod,bpftool \
    "$suite" "$out" "$mirror" >"$out.log" 2>&1 || { tail -20 "$out.log" >&2; exit 1; }
rm -rf "$out"/var/cache/apt/archives/*.deb "$out"/var/lib/apt/lists/*
touch "$out.done"
echo "mkrootfs: $suite rootfs ready in $out ($(du -sh "$out" | cut -f1))"
