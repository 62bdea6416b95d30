#!/bin/bash
# dracut module: run `bpflock bootstrap` in the initramfs, before the real root is used.
# The pins live on the bpffs mounted at /sys/fs/bpf; systemd's switch-root moves /sys
# with its submounts into the real root, so the protections survive it (unmounting that
# bpffs would detach them).

check() {
    require_binaries bpflock || return 1
    return 255 # only when asked for (add_dracutmodules+=" bpflock ")
}

depends() {
    return 0
}

install() {
    inst_binary /usr/sbin/bpflock
    [[ -f /etc/bpflock/policy.toml ]] && inst_simple /etc/bpflock/policy.toml
    inst_hook pre-mount 10 "$moddir/bpflock-bootstrap.sh"
}
