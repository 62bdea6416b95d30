#!/bin/bash
# Builds the test guest's initramfs: busybox-static, the static bpflock, testops, the
# cases and their policies.
#   mkinitramfs.sh BPFLOCK TESTOPS OUTPUT
set -euo pipefail
bpflock=${1:?usage: mkinitramfs.sh BPFLOCK TESTOPS OUTPUT}
testops=${2:?}
output=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BPFLOCK_BUSYBOX:-/bin/busybox}   # busybox-static (the guest's architecture)
for f in "$bpflock" "$testops" "$busybox"; do
    ldd "$f" 2>&1 | grep -q '=>' && { echo "mkinitramfs: $f is not static" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,etc,cases/policies,proc,sys,dev,tmp,run}
echo "root:x:0:0:root:/root:/bin/sh" > "$work/etc/passwd"
echo "root:x:0:" > "$work/etc/group"
cp "$busybox" "$work/bin/busybox"
cp "$bpflock" "$work/bin/bpflock"
cp "$testops" "$work/bin/testops"
cp "${BPFLOCK_INIT:-$here/init}" "$work/init"
cp "$here/lib.sh" "$here"/cases/*.sh "$work/cases/"
cp "$here"/../policies/*.toml "$work/cases/policies/"
chmod 755 "$work/init" "$work/bin/"*

# A real systemd-journald for the audit cases: the host's, with the libraries ldd lists
# (the guest runs it alone: no systemd). Only where the host has it.
copy_libs() {
    { ldd "$1" 2>/dev/null || true; } | { grep -oE '/[^ ]+' || true; } | while read -r lib; do
        [[ -e "$work$lib" ]] && continue
        mkdir -p "$work$(dirname "$lib")"
        cp -L "$lib" "$work$lib"
    done
}
copy_with_libs() {
    mkdir -p "$work$(dirname "$1")"
    cp -L "$1" "$work$1"
    copy_libs "$1"
}

# BPFLOCK_EXTRA="SRC:DEST ...": more files (programs the cases exec, the benchmarks'), with
# the shared libraries of dynamic ones.
for pair in ${BPFLOCK_EXTRA:-}; do
    mkdir -p "$work$(dirname "${pair#*:}")"
    cp "${pair%%:*}" "$work${pair#*:}"
    chmod 755 "$work${pair#*:}"
    copy_libs "${pair%%:*}"
done
# Only for guests of the host's architecture (BPFLOCK_NO_JOURNALD=1 for the others).
if [[ -z ${BPFLOCK_NO_JOURNALD:-} && -x /lib/systemd/systemd-journald && -x /bin/journalctl ]]; then
    copy_with_libs /lib/systemd/systemd-journald
    copy_with_libs /bin/journalctl
    mkdir -p "$work/var/log" "$work/run"
    echo "0123456789abcdef0123456789abcdef" > "$work/etc/machine-id"
fi
(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$output.tmp"
mv "$output.tmp" "$output"
echo "mkinitramfs: $output"
