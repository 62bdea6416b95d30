#!/bin/sh
# dracut pre-mount hook: apply the policy before the real root is mounted; a failure is
# logged and the boot goes on (the systemd unit in the real root tries again).
if ! /usr/sbin/bpflock bootstrap; then
    warn "bpflock: bootstrap failed in the initramfs; protections not applied yet"
fi
