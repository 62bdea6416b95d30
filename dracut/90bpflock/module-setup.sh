#!/bin/bash
# dracut module: run `bpflock bootstrap` in the initramfs, before the real root is used.
# The pins live on the bpffs mounted at /sys/fs/bpf; systemd's switch-root moves /sys
# with its submounts into the real root, so the protections survive it (unmounting that
# bpffs would detach them).

# The one rule for dracut and initramfs-tools: included where /etc/default/bpflock says
# BPFLOCK_INITRAMFS=yes (or when asked by name: add_dracutmodules+=" bpflock ").
# Where bpflock is installed (make install sets it); in the initramfs: /usr/sbin/bpflock.
BPFLOCK=/usr/sbin/bpflock

check() {
    require_binaries "$BPFLOCK" || return 1
    local BPFLOCK_INITRAMFS=no
    [[ -r /etc/default/bpflock ]] && . /etc/default/bpflock
    [[ $BPFLOCK_INITRAMFS == yes ]] && return 0
    return 255
}

depends() {
    return 0
}

install() {
    inst_binary "$BPFLOCK" /usr/sbin/bpflock
    [[ -f /etc/bpflock/policy.toml ]] && inst_simple /etc/bpflock/policy.toml
    inst_hook pre-mount 10 "$moddir/bpflock-bootstrap.sh"
}
