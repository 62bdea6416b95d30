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
    # usblock's udev rule (where make install put it), naming the initramfs' bpflock: new USB
    # devices are judged by the pinned rules from the initramfs on.
    local rules d
    for d in /etc/udev/rules.d /usr/lib/udev/rules.d /lib/udev/rules.d; do
        [[ -f $d/70-bpflock-usb.rules ]] && rules=$d/70-bpflock-usb.rules && break
    done
    if [[ -n $rules ]]; then
        mkdir -p "$initdir/usr/lib/udev/rules.d"
        sed -e 's|RUN+="[^ ]*/bpflock |RUN+="/usr/sbin/bpflock |' "$rules" > "$initdir/usr/lib/udev/rules.d/70-bpflock-usb.rules"
    fi
    # With usblock in the policy, before udev triggers the devices present (pre-trigger):
    # dracut's pre-mount comes after cryptsetup, and the keyboard the rules allow must work
    # at the LUKS prompt. Without it, pre-mount, once the storage drivers are loaded.
    # (Asked of bpflock, which reads the policy as bootstrap will: however the TOML is written.)
    if [[ -f /etc/bpflock/policy.toml ]] &&
        "$BPFLOCK" check --json /etc/bpflock/policy.toml 2>/dev/null | tr -d ' \n' | grep -q '"enabled":true,"name":"usblock"'; then
        inst_hook pre-trigger 10 "$moddir/bpflock-bootstrap.sh"
    else
        inst_hook pre-mount 10 "$moddir/bpflock-bootstrap.sh"
    fi
}
