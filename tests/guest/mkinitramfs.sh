#!/bin/bash
# Builds the test guest's initramfs: busybox-static, the static bpflock, testops, the
# cases and their policies.
#   mkinitramfs.sh BPFLOCK TESTOPS OUTPUT
set -euo pipefail
bpflock=${1:?usage: mkinitramfs.sh BPFLOCK TESTOPS OUTPUT}
testops=${2:?}
output=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
busybox=/bin/busybox   # from busybox-static
for f in "$bpflock" "$testops" "$busybox"; do
    ldd "$f" 2>&1 | grep -q '=>' && { echo "mkinitramfs: $f is not static" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,cases/policies,proc,sys,dev,tmp,run}
cp "$busybox" "$work/bin/busybox"
cp "$bpflock" "$work/bin/bpflock"
cp "$testops" "$work/bin/testops"
cp "${BPFLOCK_INIT:-$here/init}" "$work/init"
cp "$here/cases.sh" "$work/cases/cases.sh"
cp "$here"/../policies/*.toml "$work/cases/policies/"
chmod 755 "$work/init" "$work/bin/"*
(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$output.tmp"
mv "$output.tmp" "$output"
echo "mkinitramfs: $output"
